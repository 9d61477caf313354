//! The exact slice optimizer (see the [module docs](super) for the math).

use rust_decimal::prelude::*;

use super::types::{Demand, Levels, OfferChoice, PlanError, Pricing, Risk};
use crate::money::{Currency, Money, Rate};

/// A prepared pool: residual demand, the chosen offer per term and the year structure.
///
/// Build it once with [`PoolProblem::new`], then ask for optimal levels under any risk,
/// round them to whole units, or evaluate any levels ([`PoolProblem::evaluate`]).
#[derive(Debug, Clone)]
pub struct PoolProblem {
    /// Residual demand, path-major: `residual[s * hours + t]`.
    pub(crate) residual: Vec<f64>,
    pub(crate) paths: usize,
    pub(crate) hours: usize,
    /// Length of a year block (the short term; the long term if only a long term exists).
    pub(crate) block: usize,
    pub(crate) blocks: usize,
    /// Number of leading blocks inside the long term's window (0 without a long offer).
    pub(crate) inside: usize,
    pub(crate) long: Option<OfferChoice>,
    pub(crate) short: Option<OfferChoice>,
    pub(crate) currency: Currency,
    pub(crate) p: Decimal,
}

/// Risk-adjusted utilisation of one year block as a step function of the slice level y.
///
/// `v` holds the distinct positive residual values of the block in descending order;
/// for y in `[v[j+1], v[j])` (with `v[len] = 0`) the scaled utilisation is `w[j]`, and for
/// y ≥ `v[0]` it is 0. The true utilisation in hours is `w / scale`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Steps {
    pub(crate) v: Vec<f64>,
    pub(crate) w: Vec<u64>,
}

impl Steps {
    /// Scaled utilisation at slice level `y`: `W(y)` counts what lies strictly above y.
    pub(crate) fn at(&self, y: f64) -> u64 {
        let idx = self.v.partition_point(|&v| v > y);
        if idx == 0 { 0 } else { self.w[idx - 1] }
    }

    /// `∫_c^∞ W(y) dy` (scaled unit-hours).
    pub(crate) fn integral_above(&self, c: f64) -> f64 {
        let mut total = 0.0;
        for j in 0..self.v.len() {
            let hi = self.v[j];
            if hi <= c {
                break;
            }
            let lo = self.v.get(j + 1).copied().unwrap_or(0.0).max(c);
            total += (hi - lo) * self.w[j] as f64;
        }
        total
    }
}

/// Risk-adjusted utilisation of every block plus the common scale `m` (W = m · hours).
#[derive(Debug, Clone)]
pub(crate) struct RiskSteps {
    pub(crate) steps: Vec<Steps>,
    pub(crate) scale: u64,
}

fn to_dec(x: usize) -> Decimal {
    Decimal::from(x as u64)
}

/// Order-statistic index j (1-based) for a lower-tail share `q` of `s` paths: `ceil(q·s)`
/// clamped to `[1, s]`.
fn tail_index(q: f64, s: usize) -> usize {
    let j = (q * s as f64).ceil();
    if j.is_nan() || j < 1.0 {
        1
    } else {
        (j as usize).min(s)
    }
}

impl PoolProblem {
    /// Validates the inputs and prepares `R_{s,t} = max(0, D_{s,t} − E_t)`.
    ///
    /// `existing` is the committed quantity per hour (empty = none). Offers: per term the
    /// lowest effective rate wins (ties: smallest id). One distinct term: it is the *long*
    /// term if it covers the whole horizon (bought once), otherwise the *short* term (bought at
    /// the start of every block of its length). Two terms: the longer must be a whole multiple
    /// of the shorter.
    pub fn new(demand: &Demand, existing: &[f64], pricing: &Pricing) -> Result<Self, PlanError> {
        let hours = demand.hours;
        let paths = demand.paths.len();
        if hours == 0 || paths == 0 {
            return Err(PlanError::EmptyDemand);
        }
        if !existing.is_empty() && existing.len() != hours {
            return Err(PlanError::ExistingLength {
                len: existing.len(),
                expected: hours,
            });
        }
        if let Some((hour, &value)) = existing
            .iter()
            .enumerate()
            .find(|(_, e)| !e.is_finite() || **e < 0.0)
        {
            return Err(PlanError::BadExisting { hour, value });
        }
        let mut residual = Vec::with_capacity(paths * hours);
        for (s, path) in demand.paths.iter().enumerate() {
            if path.len() != hours {
                return Err(PlanError::PathLength {
                    path: s,
                    len: path.len(),
                    expected: hours,
                });
            }
            for (t, &d) in path.iter().enumerate() {
                if !d.is_finite() || d < 0.0 {
                    return Err(PlanError::BadDemand {
                        path: s,
                        hour: t,
                        value: d,
                    });
                }
                let e = existing.get(t).copied().unwrap_or(0.0);
                residual.push((d - e).max(0.0));
            }
        }
        let p = pricing.on_demand_hourly;
        if p <= Decimal::ZERO {
            return Err(PlanError::BadOnDemandPrice(p));
        }
        // Best offer per term.
        let mut best: Vec<&OfferChoice> = Vec::new();
        for o in &pricing.offers {
            if o.term_hours == 0 {
                return Err(PlanError::BadOffer {
                    id: o.id.clone(),
                    reason: "term of 0 hours",
                });
            }
            if o.effective_hourly.is_sign_negative()
                || o.upfront_per_unit.is_sign_negative()
                || o.recurring_hourly.is_sign_negative()
            {
                return Err(PlanError::BadOffer {
                    id: o.id.clone(),
                    reason: "negative price",
                });
            }
            match best.iter_mut().find(|b| b.term_hours == o.term_hours) {
                Some(b) => {
                    if (o.effective_hourly, &o.id) < (b.effective_hourly, &b.id) {
                        *b = o;
                    }
                }
                None => best.push(o),
            }
        }
        best.sort_by_key(|o| o.term_hours);
        let (short, long) = match best.as_slice() {
            [] => (None, None),
            [only] if only.term_hours >= hours => (None, Some((*only).clone())),
            [only] => (Some((*only).clone()), None),
            [s, l] => {
                if l.term_hours % s.term_hours != 0 {
                    return Err(PlanError::UnsupportedTerms {
                        terms: vec![s.term_hours, l.term_hours],
                        reason: "the longer term must be a whole multiple of the shorter",
                    });
                }
                (Some((*s).clone()), Some((*l).clone()))
            }
            more => {
                return Err(PlanError::UnsupportedTerms {
                    terms: more.iter().map(|o| o.term_hours).collect(),
                    reason: "at most two distinct terms per pool",
                });
            }
        };
        let block = match (&short, &long) {
            (Some(s), _) => s.term_hours,
            (None, Some(l)) => l.term_hours,
            (None, None) => hours,
        };
        let blocks = hours.div_ceil(block);
        let inside = long
            .as_ref()
            .map(|l| l.term_hours.min(hours).div_ceil(block))
            .unwrap_or(0);
        Ok(PoolProblem {
            residual,
            paths,
            hours,
            block,
            blocks,
            inside,
            long,
            short,
            currency: pricing.currency,
            p,
        })
    }

    /// Number of year blocks (entries of [`Levels::one_year`] when a short offer exists).
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// The long-term offer used, if any.
    pub fn long_offer(&self) -> Option<&OfferChoice> {
        self.long.as_ref()
    }

    /// The short-term offer used, if any.
    pub fn short_offer(&self) -> Option<&OfferChoice> {
        self.short.as_ref()
    }

    /// Hour range `[from, to)` of block `k`.
    pub(crate) fn block_range(&self, k: usize) -> (usize, usize) {
        let from = k * self.block;
        (from, (from + self.block).min(self.hours))
    }

    /// Commitment covering hour-block `k` under `levels`: long level (inside the long
    /// window) + short level of the block.
    pub(crate) fn coverage_of_block(&self, levels: &Levels, k: usize) -> f64 {
        let long = if k < self.inside {
            levels.three_year
        } else {
            0.0
        };
        long + levels.one_year.get(k).copied().unwrap_or(0.0)
    }

    /// Checks that `levels` fit this pool (shape, finite, ≥ 0).
    pub(crate) fn check_levels(&self, levels: &Levels) -> Result<(), PlanError> {
        let want = if self.short.is_some() { self.blocks } else { 0 };
        if levels.one_year.len() != want {
            return Err(PlanError::BadLevels(
                "one_year needs one entry per year when a short-term offer exists, else none",
            ));
        }
        if self.long.is_none() && levels.three_year != 0.0 {
            return Err(PlanError::BadLevels(
                "three_year must be 0 without a long-term offer",
            ));
        }
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(levels.three_year) || !levels.one_year.iter().all(|&x| ok(x)) {
            return Err(PlanError::BadLevels("levels must be finite and >= 0"));
        }
        Ok(())
    }

    /// Builds the risk-adjusted utilisation step function of every block.
    ///
    /// For each block the positive residual entries of all paths are sorted in descending
    /// order and swept; W after each distinct value is the risk functional of the per-path
    /// counts `u_s(y) = #{t in block: R_{s,t} > y}`: their sum (Balanced, scale S), the
    /// j-th smallest (Quantile, scale 1) or the sum of the j smallest (CVaR, scale j).
    /// The multiset of counts is kept sorted: an increment of a path with count c raises the
    /// last element equal to c, which keeps it sorted, in O(log S).
    pub(crate) fn risk_steps(&self, risk: Risk) -> Result<RiskSteps, PlanError> {
        let s_n = self.paths;
        // (j, scale): j = 0 means Balanced.
        let (j, scale) = match risk {
            Risk::Balanced => (0, s_n as u64),
            Risk::Quantile(q) => {
                if !(0.0..=1.0).contains(&q) {
                    return Err(PlanError::BadRisk(q));
                }
                (tail_index(q, s_n), 1)
            }
            Risk::Cvar(a) => {
                if !(a > 0.0 && a <= 1.0) {
                    return Err(PlanError::BadRisk(a));
                }
                let j = tail_index(a, s_n);
                if j == s_n {
                    (0, s_n as u64)
                } else {
                    (j, j as u64)
                }
            }
        };
        let is_quantile = matches!(risk, Risk::Quantile(_));
        let mut steps = Vec::with_capacity(self.blocks);
        for k in 0..self.blocks {
            let (from, to) = self.block_range(k);
            let mut st = Steps::default();
            if j == 0 {
                // Balanced: only the pooled count matters.
                let mut vals: Vec<f64> = (0..s_n)
                    .flat_map(|s| self.residual[s * self.hours + from..s * self.hours + to].iter())
                    .copied()
                    .filter(|&r| r > 0.0)
                    .collect();
                vals.sort_unstable_by(|a, b| b.total_cmp(a));
                let mut count = 0u64;
                let mut i = 0;
                while i < vals.len() {
                    let v = vals[i];
                    while i < vals.len() && vals[i] == v {
                        count += 1;
                        i += 1;
                    }
                    st.v.push(v);
                    st.w.push(count);
                }
            } else {
                let mut vals: Vec<(f64, u32)> = Vec::new();
                for s in 0..s_n {
                    let row = &self.residual[s * self.hours + from..s * self.hours + to];
                    vals.extend(row.iter().filter(|&&r| r > 0.0).map(|&r| (r, s as u32)));
                }
                vals.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut counts = vec![0u64; s_n];
                let mut sorted = vec![0u64; s_n];
                let mut low_sum = 0u64;
                let mut i = 0;
                while i < vals.len() {
                    let v = vals[i].0;
                    while i < vals.len() && vals[i].0 == v {
                        let s = vals[i].1 as usize;
                        let c = counts[s];
                        let idx = sorted.partition_point(|&x| x <= c) - 1;
                        sorted[idx] += 1;
                        counts[s] += 1;
                        if idx < j {
                            low_sum += 1;
                        }
                        i += 1;
                    }
                    st.v.push(v);
                    st.w.push(if is_quantile { sorted[j - 1] } else { low_sum });
                }
            }
            steps.push(st);
        }
        Ok(RiskSteps { steps, scale })
    }

    /// Scaled thresholds `M = scale · term · r / p` of an offer.
    fn threshold(&self, offer: &OfferChoice, scale: u64) -> Result<Decimal, PlanError> {
        Decimal::from(scale)
            .checked_mul(to_dec(offer.term_hours))
            .and_then(|x| x.checked_mul(offer.effective_hourly))
            .and_then(|x| x.checked_div(self.p))
            .ok_or(PlanError::Overflow("threshold"))
    }

    /// The exact optimal levels under `risk` (continuous quantities).
    ///
    /// Short level of block k: `b_k = sup{y : W_k(y) > M1}` (the d1-quantile for Balanced).
    /// Long level: `a = inf{y : Σ_{k inside} min(M1, W_k(y)) ≤ M3}` (without a short offer
    /// the min is just `W_k`). Then `x3 = a`, `x1_k = max(0, b_k − a)` inside the long window
    /// and `b_k` after it. A slice is bought only when strictly cheaper, so among optima the
    /// smallest commitment is returned.
    pub fn optimal_levels(&self, risk: Risk) -> Result<Levels, PlanError> {
        let rs = self.risk_steps(risk)?;
        self.levels_from_steps(&rs)
    }

    pub(crate) fn levels_from_steps(&self, rs: &RiskSteps) -> Result<Levels, PlanError> {
        let m1 = match &self.short {
            Some(o) => Some(self.threshold(o, rs.scale)?),
            None => None,
        };
        let b: Vec<f64> = match m1 {
            Some(m1) => {
                let th = m1.floor().to_u64().map(|f| f.saturating_add(1));
                rs.steps
                    .iter()
                    .map(|st| match th {
                        None => 0.0,
                        Some(th) => {
                            let j = st.w.partition_point(|&w| w < th);
                            st.v.get(j).copied().unwrap_or(0.0)
                        }
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let a = match &self.long {
            None => 0.0,
            Some(lo) => {
                let m3 = self.threshold(lo, rs.scale)?;
                let inside = &rs.steps[..self.inside];
                // pred(y) = long slice at y is strictly cheaper.
                let pred = |y: f64| -> bool {
                    let mut g = Decimal::ZERO;
                    for st in inside {
                        let w = Decimal::from(st.at(y));
                        g += match m1 {
                            Some(m1) => w.min(m1),
                            None => w,
                        };
                    }
                    g > m3
                };
                if !pred(0.0) {
                    0.0
                } else {
                    let mut a = f64::INFINITY;
                    for st in inside {
                        // v descending: pred false for a prefix of indices.
                        let n_false = st.v.partition_point(|&v| !pred(v));
                        if n_false > 0 {
                            a = a.min(st.v[n_false - 1]);
                        }
                    }
                    if a.is_finite() { a } else { 0.0 }
                }
            }
        };
        let one_year = b
            .iter()
            .enumerate()
            .map(|(k, &bk)| {
                if k < self.inside {
                    (bk - a).max(0.0)
                } else {
                    bk
                }
            })
            .collect();
        Ok(Levels {
            three_year: a,
            one_year,
        })
    }

    /// The risk-adjusted objective of `levels`: full-term commitment cost at effective rates
    /// plus `p · Σ_k ∫_{c_k}^∞ U^ρ_k(y) dy`, where `c_k` is the coverage of block k and `U^ρ`
    /// the risk-adjusted utilisation. For [`Risk::Balanced`] this is the expected cost.
    /// Not rounded.
    pub fn objective(&self, risk: Risk, levels: &Levels) -> Result<Money, PlanError> {
        self.check_levels(levels)?;
        let rs = self.risk_steps(risk)?;
        self.objective_with(&rs, levels)
    }

    fn commitment_cost(&self, levels: &Levels) -> Result<Money, PlanError> {
        let mut total = Money::zero(self.currency);
        if let Some(lo) = &self.long {
            let r = Rate::new(Money::new(lo.effective_hourly, self.currency));
            total = total.checked_add(r.cost_of(levels.three_year * lo.term_hours as f64)?)?;
        }
        if let Some(sh) = &self.short {
            let r = Rate::new(Money::new(sh.effective_hourly, self.currency));
            for &x in &levels.one_year {
                total = total.checked_add(r.cost_of(x * sh.term_hours as f64)?)?;
            }
        }
        Ok(total)
    }

    pub(crate) fn objective_with(
        &self,
        rs: &RiskSteps,
        levels: &Levels,
    ) -> Result<Money, PlanError> {
        let mut over = 0.0;
        for (k, st) in rs.steps.iter().enumerate() {
            over += st.integral_above(self.coverage_of_block(levels, k));
        }
        let od = Rate::new(Money::new(self.p, self.currency)).cost_of(over / rs.scale as f64)?;
        Ok(self.commitment_cost(levels)?.checked_add(od)?)
    }

    /// Whole-unit levels that minimise the risk-adjusted objective, starting from `levels`
    /// (normally the continuous optimum from [`PoolProblem::optimal_levels`]).
    ///
    /// With coverages `c_k = x3 + x1_k` (inside the long window) the objective is
    /// `(r3·L3 − n_in·r1·L1)·x3 + Σ_k g_k(c_k)` with `c_k ≥ x3` and each `g_k` convex
    /// piecewise-linear. Hence `h(x3) = min_{c ≥ x3} (…)` is convex and its integer minimum is
    /// at `⌊a⌋` or `⌈a⌉`; for an integer `x3` each block's integer minimum over `c ≥ x3` is
    /// `max(x3, ⌊b_k⌋)` or `max(x3, ⌈b_k⌉)`, chosen per block independently. Checking these
    /// (2 × 2 per block) against the objective is therefore exact when `levels` is the
    /// continuous optimum. Ties go to the smaller commitment.
    pub fn round_to_units(&self, risk: Risk, levels: &Levels) -> Result<Levels, PlanError> {
        self.check_levels(levels)?;
        let rs = self.risk_steps(risk)?;
        self.round_with(&rs, levels)
    }

    pub(crate) fn round_with(&self, rs: &RiskSteps, levels: &Levels) -> Result<Levels, PlanError> {
        let a = levels.three_year;
        let mut x3_options = vec![a.floor()];
        if a.ceil() != a.floor() {
            x3_options.push(a.ceil());
        }
        let p = Rate::new(Money::new(self.p, self.currency));
        let mut best: Option<(Money, Levels)> = None;
        for x3 in x3_options {
            let mut one_year = Vec::with_capacity(levels.one_year.len());
            for (k, &x1) in levels.one_year.iter().enumerate() {
                let base = if k < self.inside { x3 } else { 0.0 };
                let c = if k < self.inside { a + x1 } else { x1 };
                let mut pick: Option<(Money, f64)> = None;
                for cand in [c.floor(), c.ceil()] {
                    let cov = cand.max(base);
                    let x1 = cov - base;
                    let over = rs.steps[k].integral_above(cov) / rs.scale as f64;
                    let cost = match &self.short {
                        Some(sh) => Rate::new(Money::new(sh.effective_hourly, self.currency))
                            .cost_of(x1 * sh.term_hours as f64)?,
                        None => Money::zero(self.currency),
                    }
                    .checked_add(p.cost_of(over)?)?;
                    if pick
                        .as_ref()
                        .is_none_or(|(m, _)| cost.amount() < m.amount())
                    {
                        pick = Some((cost, x1));
                    }
                }
                one_year.push(pick.map(|(_, x)| x).unwrap_or(0.0));
            }
            let cand = Levels {
                three_year: x3,
                one_year,
            };
            let cost = self.objective_with(rs, &cand)?;
            if best
                .as_ref()
                .is_none_or(|(m, _)| cost.amount() < m.amount())
            {
                best = Some((cost, cand));
            }
        }
        best.map(|(_, l)| l)
            .ok_or(PlanError::BadLevels("no rounding candidate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    pub(crate) fn offer(id: &str, term: usize, rate: &str) -> OfferChoice {
        OfferChoice {
            id: id.into(),
            term_hours: term,
            effective_hourly: rate.parse().unwrap(),
            upfront_per_unit: Decimal::ZERO,
            recurring_hourly: rate.parse().unwrap(),
        }
    }

    fn pricing(offers: Vec<OfferChoice>) -> Pricing {
        Pricing {
            currency: Currency::USD,
            on_demand_hourly: Decimal::ONE,
            offers,
        }
    }

    #[test]
    fn one_offer_is_the_discount_quantile() {
        // 10 hours of demand 1..=10; discount 40 % ⇒ commit where 60 % of hours... i.e.
        // buy slice y iff share of hours with R > y exceeds 0.6 ⇒ 7 hours > y ⇒ y < 4.
        let d = Demand::single((1..=10).map(f64::from).collect());
        let pr = pricing(vec![offer("1y", 10, "0.6")]);
        let pb = PoolProblem::new(&d, &[], &pr).unwrap();
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!(l.three_year, 4.0);
        assert!(l.one_year.is_empty());
    }

    #[test]
    fn no_discount_never_buys_and_zero_demand_buys_nothing() {
        let d = Demand::single(vec![5.0; 20]);
        let pb = PoolProblem::new(
            &d,
            &[],
            &pricing(vec![offer("1y", 10, "1"), offer("3y", 20, "1.2")]),
        )
        .unwrap();
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!(l.three_year, 0.0);
        assert_eq!(l.one_year, vec![0.0, 0.0]);
        let z = Demand::single(vec![0.0; 20]);
        let pb = PoolProblem::new(
            &z,
            &[],
            &pricing(vec![offer("1y", 10, "0.5"), offer("3y", 20, "0.3")]),
        )
        .unwrap();
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!((l.three_year, l.one_year), (0.0, vec![0.0, 0.0]));
    }

    #[test]
    fn three_year_takes_the_base_and_one_year_the_peaks() {
        // Year 0: 10 units, year 1: 4 units, 3y window covers both.
        let mut v = vec![10.0; 10];
        v.extend(vec![4.0; 10]);
        let pr = pricing(vec![offer("1y", 10, "0.7"), offer("3y", 20, "0.5")]);
        let pb = PoolProblem::new(&Demand::single(v), &[], &pr).unwrap();
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!(l.three_year, 4.0);
        assert_eq!(l.one_year, vec![6.0, 0.0]);
    }

    #[test]
    fn best_offer_per_term_and_existing_commitments() {
        let d = Demand::single(vec![3.0; 10]);
        let pr = pricing(vec![offer("b", 10, "0.5"), offer("a", 10, "0.4")]);
        let pb = PoolProblem::new(&d, &[1.0; 10], &pr).unwrap();
        assert_eq!(pb.long_offer().unwrap().id, "a");
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!(l.three_year, 2.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let pr = pricing(vec![offer("x", 10, "0.5")]);
        assert!(PoolProblem::new(&Demand::single(vec![]), &[], &pr).is_err());
        assert!(PoolProblem::new(&Demand::single(vec![f64::NAN]), &[], &pr).is_err());
        assert!(PoolProblem::new(&Demand::single(vec![-1.0]), &[], &pr).is_err());
        assert!(PoolProblem::new(&Demand::single(vec![1.0]), &[1.0, 2.0], &pr).is_err());
        let bad = Demand {
            hours: 2,
            paths: vec![vec![1.0]],
        };
        assert!(PoolProblem::new(&bad, &[], &pr).is_err());
        let three = pricing(vec![
            offer("a", 10, "0.5"),
            offer("b", 20, "0.5"),
            offer("c", 30, "0.5"),
        ]);
        assert!(PoolProblem::new(&Demand::single(vec![1.0; 30]), &[], &three).is_err());
        let odd = pricing(vec![offer("a", 10, "0.5"), offer("b", 25, "0.4")]);
        assert!(PoolProblem::new(&Demand::single(vec![1.0; 25]), &[], &odd).is_err());
        let pb = PoolProblem::new(&Demand::single(vec![1.0; 10]), &[], &pr).unwrap();
        assert!(pb.optimal_levels(Risk::Quantile(1.5)).is_err());
        assert!(pb.optimal_levels(Risk::Cvar(0.0)).is_err());
        let wrong = Levels {
            three_year: 1.0,
            one_year: vec![1.0],
        };
        assert!(pb.objective(Risk::Balanced, &wrong).is_err());
    }

    #[test]
    fn quantile_risk_is_the_order_statistic_of_path_levels() {
        // Only a short offer, 3 paths with constant demand 2, 5, 8: per-path optimal level is
        // its demand; the lower 1/3-quantile (j = 1) plans 2, the median 5.
        let d = Demand {
            hours: 10,
            paths: vec![vec![2.0; 10], vec![5.0; 10], vec![8.0; 10]],
        };
        let pr = pricing(vec![offer("1y", 10, "0.5"), offer("1y-b", 10, "0.6")]);
        let pb = PoolProblem::new(&d, &[], &pr).unwrap();
        // single short term covering whole horizon ⇒ treated as long.
        assert_eq!(
            pb.optimal_levels(Risk::Quantile(0.2)).unwrap().three_year,
            2.0
        );
        assert_eq!(
            pb.optimal_levels(Risk::Quantile(0.5)).unwrap().three_year,
            5.0
        );
        assert_eq!(pb.optimal_levels(Risk::Cvar(0.6)).unwrap().three_year, 2.0);
        assert_eq!(pb.optimal_levels(Risk::Cvar(1.0)).unwrap().three_year, 5.0);
        // Balanced: mean utilisation of slice y in (5, 8] is 10/3 hours < 5 ⇒ 5.
        assert_eq!(pb.optimal_levels(Risk::Balanced).unwrap().three_year, 5.0);
    }

    #[test]
    fn rounding_picks_the_better_neighbour() {
        let d = Demand::single(vec![2.5, 2.5, 2.5, 2.5, 0.0]);
        let pr = pricing(vec![offer("x", 5, "0.5")]);
        let pb = PoolProblem::new(&d, &[], &pr).unwrap();
        let l = pb.optimal_levels(Risk::Balanced).unwrap();
        assert_eq!(l.three_year, 2.5);
        // Unit 3: used 0.5 for 4 hours ⇒ saves 2 − 2.5 < 0 ⇒ 2 units.
        let r = pb.round_to_units(Risk::Balanced, &l).unwrap();
        assert_eq!(r.three_year, 2.0);
    }
}
