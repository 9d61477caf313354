//! Ladder: the decide-now purchase split into tranches bought at the start of each cadence
//! step (monthly or quarterly) over a period, each with its own full term, so expirations are
//! staggered. Evaluated on the same demand paths as the lump purchase.
//!
//! # What is laddered
//!
//! The *laddered offer* is the pool's long-term offer (the lump's `x3`, bought at hour 0);
//! without one, the short-term offer's first purchase (year 0). Tranche `i` is bought at hour
//! `h_i = i · cadence · 730` (`i = 0..period / cadence`, only tranches starting inside the
//! horizon) and pays its full term, like every purchase of the optimizer. Before a tranche
//! starts, the demand it will cover is served on demand. The remaining purchases (the
//! short-term offer at the start of each year; without a long offer, years ≥ 1) are then
//! re-optimised as the exact best response to the ladder: the slice construction on the
//! residual after the ladder's hourly coverage.
//!
//! # Tranche sizing ([`TrancheSizing`])
//!
//! * [`TrancheSizing::Sequential`] (default): tranche `i` is the optimal level of the laddered
//!   offer for the decide-now problem restricted to hours `≥ h_i`, with the earlier tranches
//!   as existing commitments (the same exact slice construction, same offers and risk). Tranche
//!   0 is therefore the lump's level. Every slice bought beats on-demand on its own hours, so
//!   (Balanced risk) the ladder never costs more than all on-demand. **On one fixed forecast
//!   this rule rarely buys later tranches**: when the horizon ends within the laddered term, a
//!   slice worth buying at `h_i` was already worth buying at hour 0 (same price, at least as
//!   many used hours), so later tranches are zero except for effects of the short-term year
//!   boundaries. Waiting only pays when the forecast changes between tranches — re-run the
//!   plan at each tranche date — or when the horizon extends past the laddered term's expiry.
//! * [`TrancheSizing::EqualSlices`]: the lump level in equal parts (whole units: the
//!   remainder goes to the earliest tranches; continuous: the last tranche takes the rounding
//!   rest, so the parts sum exactly to the lump level). This is the classic ladder; its cost
//!   over the lump is the on-demand price of the slices while they wait (for constant demand
//!   exactly `p · Σ_i q_i · h_i`), and it can cost more than all on-demand when the discount
//!   is thin.
//!
//! # Lump vs ladder
//!
//! When the horizon ends within the laddered term (`T ≤ L`), the lump with level `Σ q_i` and
//! the same short purchases covers at least as much in every hour for the same commitment
//! cost, so the optimal lump's expected cost is ≤ any ladder's. With a longer horizon a later
//! tranche covers hours after the lump has expired, which the decide-now lump cannot buy, and
//! the ladder can be cheaper.
//!
//! Both are schedules of purchases evaluated by the one evaluator,
//! [`evaluate_schedule`](super::evaluate_schedule), on the same paths: expected cost
//! (full-term commitments at effective rates + expected on-demand), savings, coverage,
//! utilisation, the share of paths on which the plan costs more than all on-demand, and
//! savings on the paths at the 10th/50th/90th percentile of residual demand (the ordering of
//! [`PoolPlan::savings_p10`](super::PoolPlan::savings_p10)). Every purchase has the exact
//! finance summary of [`PurchaseFinance`]; commitments fill the residual bottom-up in purchase
//! order (long tranches oldest first, then the short purchases).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::evaluate::PlanOptions;
use super::optimizer::PoolProblem;
use super::schedule::{ScheduleOutcome, ScheduledPurchase};
use super::types::{
    Demand, FinanceParams, HOURS_PER_MONTH, Levels, OfferChoice, PlanError, Pricing,
    PurchaseFinance, TermKind,
};
use crate::money::Money;

/// How often a tranche is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Cadence {
    /// Every month (730 hours).
    #[default]
    Monthly,
    /// Every quarter (3 × 730 hours).
    Quarterly,
}

impl Cadence {
    /// Months between tranches.
    pub fn months(self) -> usize {
        match self {
            Cadence::Monthly => 1,
            Cadence::Quarterly => 3,
        }
    }
}

/// How the tranches are sized. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TrancheSizing {
    /// Tranche i = the optimal level on the residual demand from its start, given the
    /// earlier tranches (exact slice construction restricted to hours ≥ its start).
    #[default]
    Sequential,
    /// The lump level in equal parts.
    EqualSlices,
}

/// Settings of a ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderSettings {
    /// Tranche cadence.
    pub cadence: Cadence,
    /// Period over which tranches are bought, in months; a whole multiple of the cadence.
    /// `period / cadence` tranches, the first at hour 0.
    pub period_months: usize,
    /// Tranche sizing rule.
    pub sizing: TrancheSizing,
}

impl Default for LadderSettings {
    fn default() -> Self {
        LadderSettings {
            cadence: Cadence::Monthly,
            period_months: 12,
            sizing: TrancheSizing::Sequential,
        }
    }
}

/// One tranche of the schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tranche {
    /// 0-based position in the schedule.
    pub index: usize,
    /// Purchase date ([`FinanceParams::start`] + start hour).
    pub start: Option<NaiveDateTime>,
    /// Hour at which its term ends (start + term; may lie past the horizon).
    pub expiry_hour: usize,
    /// Expiry date.
    pub expiry: Option<NaiveDateTime>,
    /// Quantity, upfront, monthly recurring, commitment total, utilisation, risk, cash flow.
    pub purchase: PurchaseFinance,
}

/// Cost and risk figures of a schedule of purchases on the pool's demand paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleFigures {
    /// Full-term commitments at effective rates + expected on-demand cost (rounded).
    pub expected_cost: Money,
    /// All on-demand − expected cost.
    pub expected_savings: Money,
    /// Full-term commitment cost at effective rates (rounded).
    pub commitment_cost: Money,
    /// Expected share of residual unit-hours covered by commitments.
    pub coverage: f64,
    /// Expected share of committed unit-hours (quantity × full term) used.
    pub utilisation: f64,
    /// Share of paths on which the plan costs more than serving everything on demand
    /// ([`ScheduleOutcome::prob_loss`]: path savings rounded to the currency's minor unit
    /// below zero).
    pub prob_below_break_even: f64,
    /// Savings on the path at the 10th percentile of total residual demand.
    pub savings_p10: Money,
    /// Same at the 50th percentile.
    pub savings_p50: Money,
    /// Same at the 90th percentile.
    pub savings_p90: Money,
}

/// One 730-hour month of the ladder's cash flow (all its purchases), from hour 0 until the
/// last term ends. Columns sum exactly to the purchases' commitment totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderMonth {
    /// Month of the horizon, 1-based.
    pub month: usize,
    /// Its first hour.
    pub start_hour: usize,
    /// Its date.
    pub start: Option<NaiveDateTime>,
    /// Cash paid (upfronts of purchases starting in the month + recurring charges).
    pub cash_outlay: Money,
    /// Amortised commitment cost.
    pub amortised_cost: Money,
}

/// A ladder and its comparison with the lump purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderPlan {
    /// Settings used.
    pub settings: LadderSettings,
    /// The laddered offer.
    pub offer: String,
    /// Lump level of the laddered offer that the ladder replaces.
    pub lump_level: f64,
    /// Sum of the tranche quantities.
    pub ladder_level: f64,
    /// Tranches with a positive quantity, in purchase order.
    pub tranches: Vec<Tranche>,
    /// The other purchases, re-optimised against the ladder (short-term offer per year).
    pub other_purchases: Vec<PurchaseFinance>,
    /// Expected cost of all residual demand on demand.
    pub on_demand_cost: Money,
    /// The ladder.
    pub ladder: ScheduleFigures,
    /// The lump purchase (the levels given), by the same evaluation.
    pub lump: ScheduleFigures,
    /// `ladder.expected_cost − lump.expected_cost`: what laddering costs (negative: saves).
    pub premium_over_lump: Money,
    /// Monthly cash flow of the ladder's purchases.
    pub cash_flow: Vec<LadderMonth>,
}

impl ScheduleFigures {
    /// The figures of an evaluated schedule.
    fn of(o: &ScheduleOutcome) -> Self {
        ScheduleFigures {
            expected_cost: o.expected_cost,
            expected_savings: o.expected_savings,
            commitment_cost: o.commitment_cost,
            coverage: o.coverage,
            utilisation: o.utilisation,
            prob_below_break_even: o.prob_loss,
            savings_p10: o.savings_at_demand_rank(0.1),
            savings_p50: o.savings_at_demand_rank(0.5),
            savings_p90: o.savings_at_demand_rank(0.9),
        }
    }
}

/// A purchase of the ladder's schedule and its term kind.
fn buy(offer: &OfferChoice, kind: TermKind, start_hour: usize, quantity: f64) -> Buy {
    (
        ScheduledPurchase {
            offer: offer.clone(),
            start_hour,
            quantity,
        },
        kind,
    )
}

type Buy = (ScheduledPurchase, TermKind);

/// Plans the lump (as [`super::optimize`] does) and ladders it.
pub fn plan_ladder(
    demand: &Demand,
    existing: &[f64],
    pricing: &Pricing,
    opts: &PlanOptions,
    settings: &LadderSettings,
) -> Result<LadderPlan, PlanError> {
    let pb = PoolProblem::new(demand, existing, pricing)?;
    let mut lump = pb.optimal_levels(opts.risk)?;
    if opts.whole_units {
        lump = pb.round_to_units(opts.risk, &lump)?;
    }
    pb.ladder(&lump, settings, opts)
}

fn date(fin: &FinanceParams, hour: usize) -> Option<NaiveDateTime> {
    let h = i64::try_from(hour).ok()?;
    fin.start
        .and_then(|t| t.checked_add_signed(chrono::TimeDelta::try_hours(h)?))
}

impl PoolProblem {
    /// The residual from hour `from` on as demand paths.
    fn residual_from(&self, from: usize) -> Demand {
        Demand {
            hours: self.hours - from,
            paths: (0..self.paths)
                .map(|s| self.residual[s * self.hours + from..(s + 1) * self.hours].to_vec())
                .collect(),
        }
    }

    fn pricing_of(&self, offers: Vec<OfferChoice>) -> Pricing {
        Pricing {
            currency: self.currency,
            on_demand_hourly: self.p,
            offers,
        }
    }

    /// Ladders the purchase of `lump` (normally the optimal levels) under `settings`; the risk
    /// and whole-unit setting of `opts` apply to every re-optimisation. See the
    /// [module docs](self).
    pub fn ladder(
        &self,
        lump: &Levels,
        settings: &LadderSettings,
        opts: &PlanOptions,
    ) -> Result<LadderPlan, PlanError> {
        self.check_levels(lump)?;
        let cad = settings.cadence.months();
        if settings.period_months == 0
            || !settings.period_months.is_multiple_of(cad)
            || settings.period_months > 1200
        {
            return Err(PlanError::InvalidInput(format!(
                "ladder period of {} months: expected a whole multiple of the cadence ({cad} \
                 months), at most 1200",
                settings.period_months
            )));
        }
        let (laddered, laddered_is_long) = match (&self.long, &self.short) {
            (Some(l), _) => (l, true),
            (None, Some(s)) => (s, false),
            (None, None) => {
                return Err(PlanError::InvalidInput(
                    "the pool has no commitment offer to ladder".into(),
                ));
            }
        };
        let lump_level = if laddered_is_long {
            lump.three_year
        } else {
            lump.one_year.first().copied().unwrap_or(0.0)
        };
        let t_n = self.hours;
        let step = cad * HOURS_PER_MONTH;
        let starts: Vec<usize> = (0..settings.period_months / cad)
            .map(|i| i * step)
            .filter(|&h| h < t_n)
            .collect();
        let kind = if laddered_is_long {
            TermKind::Long
        } else {
            TermKind::Short { year: 0 }
        };

        // Tranche quantities.
        let mut qs = Vec::with_capacity(starts.len());
        match settings.sizing {
            TrancheSizing::EqualSlices => {
                let n = starts.len();
                if opts.whole_units {
                    let units = lump_level.round();
                    if !(0.0..=1e15).contains(&units) {
                        return Err(PlanError::BadLevels("lump level too large for whole units"));
                    }
                    let units = units as u64;
                    let (each, rem) = (units / n as u64, units % n as u64);
                    qs.extend((0..n as u64).map(|i| (each + u64::from(i < rem)) as f64));
                } else {
                    let each = lump_level / n as f64;
                    qs.extend(std::iter::repeat_n(each, n - 1));
                    qs.push((lump_level - each * (n - 1) as f64).max(0.0));
                }
            }
            TrancheSizing::Sequential => {
                let offers: Vec<OfferChoice> =
                    self.short.iter().chain(self.long.iter()).cloned().collect();
                let pricing = self.pricing_of(offers);
                let mut cov = vec![0.0; t_n];
                for &h in &starts {
                    let sub = PoolProblem::new(&self.residual_from(h), &cov[h..], &pricing)?;
                    let mut lv = sub.optimal_levels(opts.risk)?;
                    if opts.whole_units {
                        lv = sub.round_to_units(opts.risk, &lv)?;
                    }
                    let q = if sub.long.as_ref().is_some_and(|o| o.id == laddered.id) {
                        lv.three_year
                    } else {
                        lv.one_year.first().copied().unwrap_or(0.0)
                    };
                    let end = h.saturating_add(laddered.term_hours).min(t_n);
                    for c in &mut cov[h..end] {
                        *c += q;
                    }
                    qs.push(q);
                }
            }
        }
        let mut buys: Vec<Buy> = starts
            .iter()
            .zip(&qs)
            .map(|(&h0, &q)| buy(laddered, kind, h0, q))
            .collect();

        // The other purchases: best response of the short-term offer to the ladder.
        if let Some(sh) = &self.short {
            let offset = if laddered_is_long { 0 } else { self.block };
            if offset < t_n {
                let ladder_cov = coverage(&buys, t_n);
                let sub = PoolProblem::new(
                    &self.residual_from(offset),
                    &ladder_cov[offset..],
                    &self.pricing_of(vec![sh.clone()]),
                )?;
                let mut lv = sub.optimal_levels(opts.risk)?;
                if opts.whole_units {
                    lv = sub.round_to_units(opts.risk, &lv)?;
                }
                let per_block = if sub.long.is_some() {
                    vec![lv.three_year]
                } else {
                    lv.one_year
                };
                let first = offset / self.block;
                for (j, q) in per_block.into_iter().enumerate() {
                    let year = first + j;
                    buys.push(buy(sh, TermKind::Short { year }, year * self.block, q));
                }
            }
        }

        // The ladder and the lump, each a schedule on the same paths.
        let fin = &opts.finance;
        let (purchases, kinds): (Vec<ScheduledPurchase>, Vec<TermKind>) = buys.into_iter().unzip();
        let (ladder_out, bought) = self.evaluate_purchases(&purchases, Some(&kinds), fin)?;
        let (lump_purchases, _) = self.schedule_of(lump);
        let (lump_out, _) = self.evaluate_purchases(&lump_purchases, None, fin)?;
        let ladder_fig = ScheduleFigures::of(&ladder_out);
        let lump_fig = ScheduleFigures::of(&lump_out);
        let on_demand_cost = lump_out.on_demand_cost;

        // Finance per purchase (each fills the residual above the earlier purchases).
        let mut tranches = Vec::new();
        let mut other_purchases = Vec::new();
        let n_tranches = starts.len();
        let mut bought = bought.into_iter();
        for (i, b) in purchases.iter().enumerate() {
            if b.quantity <= 0.0 {
                continue;
            }
            let purchase = bought
                .next()
                .ok_or_else(|| PlanError::InvalidInput("a purchase without finance".into()))?;
            if i < n_tranches {
                let end = b.start_hour.saturating_add(b.offer.term_hours);
                tranches.push(Tranche {
                    index: i,
                    start: date(fin, b.start_hour),
                    expiry_hour: end,
                    expiry: date(fin, end),
                    purchase,
                });
            } else {
                other_purchases.push(purchase);
            }
        }

        // Monthly cash flow of the ladder.
        let cur = self.currency;
        let months = purchases
            .iter()
            .filter(|b| b.quantity > 0.0)
            .map(|b| {
                b.start_hour
                    .saturating_add(b.offer.term_hours)
                    .div_ceil(HOURS_PER_MONTH)
            })
            .max()
            .unwrap_or(0);
        let mut cash_flow: Vec<LadderMonth> = (0..months)
            .map(|m| LadderMonth {
                month: m + 1,
                start_hour: m * HOURS_PER_MONTH,
                start: date(fin, m * HOURS_PER_MONTH),
                cash_outlay: Money::zero(cur),
                amortised_cost: Money::zero(cur),
            })
            .collect();
        for p in tranches
            .iter()
            .map(|t| &t.purchase)
            .chain(other_purchases.iter())
        {
            for f in &p.monthly {
                let m = &mut cash_flow[f.start_hour / HOURS_PER_MONTH];
                m.cash_outlay = m.cash_outlay.checked_add(f.cash_outlay)?;
                m.amortised_cost = m.amortised_cost.checked_add(f.amortised_cost)?;
            }
        }

        Ok(LadderPlan {
            settings: settings.clone(),
            offer: laddered.id.clone(),
            lump_level,
            ladder_level: qs.iter().sum(),
            tranches,
            other_purchases,
            on_demand_cost,
            premium_over_lump: ladder_fig
                .expected_cost
                .checked_sub(lump_fig.expected_cost)?,
            ladder: ladder_fig,
            lump: lump_fig,
            cash_flow,
        })
    }
}

/// Hourly coverage of a schedule inside `[0, hours)`, purchases added in order.
fn coverage(buys: &[Buy], hours: usize) -> Vec<f64> {
    let mut cov = vec![0.0; hours];
    for (b, _) in buys {
        let end = b.start_hour.saturating_add(b.offer.term_hours);
        for c in &mut cov[b.start_hour.min(hours)..end.min(hours)] {
            *c += b.quantity;
        }
    }
    cov
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn offer(id: &str, term: usize, rate: &str) -> OfferChoice {
        OfferChoice {
            id: id.into(),
            term_hours: term,
            effective_hourly: d(rate),
            upfront_per_unit: Decimal::ZERO,
            recurring_hourly: d(rate),
        }
    }

    fn pricing(offers: Vec<OfferChoice>) -> Pricing {
        Pricing {
            currency: Currency::USD,
            on_demand_hourly: Decimal::ONE,
            offers,
        }
    }

    fn quarterly(sizing: TrancheSizing) -> LadderSettings {
        LadderSettings {
            cadence: Cadence::Quarterly,
            period_months: 12,
            sizing,
        }
    }

    #[test]
    fn equal_tranches_cost_the_on_demand_premium_of_the_waiting_months() {
        // 12 units all year, one 1y offer at 0.6 (p = 1). Lump: 12 × 8760 × 0.6 = 63,072.
        // Quarterly ladder: 4 × 3 units bought at hours 0, 2190, 4380, 6570; the slices wait
        // on demand for 3 × (0 + 2190 + 4380 + 6570) = 39,420 unit-hours at p = 1.
        let pr = pricing(vec![offer("1y", 8760, "0.6")]);
        let demand = Demand::single(vec![12.0; 8760]);
        let opts = PlanOptions::default();
        let l = plan_ladder(
            &demand,
            &[],
            &pr,
            &opts,
            &quarterly(TrancheSizing::EqualSlices),
        )
        .unwrap();
        assert_eq!(l.lump_level, 12.0);
        assert_eq!(l.ladder_level, 12.0);
        assert_eq!(l.lump.expected_cost.amount(), d("63072.00"));
        assert_eq!(l.ladder.expected_cost.amount(), d("102492.00"));
        assert_eq!(l.premium_over_lump.amount(), d("39420.00"));
        assert_eq!(l.on_demand_cost.amount(), d("105120.00"));
        assert_eq!(l.ladder.expected_savings.amount(), d("2628.00"));
        assert_eq!(l.ladder.commitment_cost.amount(), d("63072.00"));
        assert_eq!(l.ladder.utilisation, 0.625);
        assert_eq!(l.ladder.coverage, 0.625);
        assert_eq!(l.ladder.prob_below_break_even, 0.0);
        assert_eq!(l.tranches.len(), 4);
        let starts: Vec<usize> = l.tranches.iter().map(|t| t.purchase.start_hour).collect();
        assert_eq!(starts, vec![0, 2190, 4380, 6570]);
        let exp: Vec<usize> = l.tranches.iter().map(|t| t.expiry_hour).collect();
        assert_eq!(exp, vec![8760, 10950, 13140, 15330]);
        for (i, t) in l.tranches.iter().enumerate() {
            let f = &t.purchase;
            assert_eq!(f.quantity, 3.0);
            assert_eq!(f.upfront_total.amount(), Decimal::ZERO);
            assert_eq!(f.recurring_monthly.amount(), d("1314.00"));
            assert_eq!(f.commitment_total.amount(), d("15768.00"));
            // Used until the horizon ends: 1, 0.75, 0.5, 0.25 of the term.
            assert_eq!(f.utilisation, 1.0 - 0.25 * i as f64);
            assert_eq!(f.prob_below_break_even, if i < 2 { 0.0 } else { 1.0 });
            assert_eq!(f.layer_from, 3.0 * i as f64);
        }
        // The cash flow runs until the last tranche expires and sums exactly.
        assert_eq!(l.cash_flow.len(), 15330 / 730);
        let total = Money::sum(Currency::USD, l.cash_flow.iter().map(|m| m.cash_outlay)).unwrap();
        assert_eq!(total.amount(), d("63072.00"));
        let amort =
            Money::sum(Currency::USD, l.cash_flow.iter().map(|m| m.amortised_cost)).unwrap();
        assert_eq!(amort, total);
        assert_eq!(l.cash_flow[0].cash_outlay.amount(), d("1314.00"));
        assert_eq!(l.cash_flow[11].cash_outlay.amount(), d("5256.00"));
        assert_eq!(l.cash_flow[20].cash_outlay.amount(), d("1314.00"));

        // The lump figures are the optimizer's own evaluation.
        let plan = crate::plan::optimize(&demand, &[], &pr, &opts).unwrap();
        assert_eq!(plan.expected_cost, l.lump.expected_cost);
        assert_eq!(plan.savings_p50, l.lump.savings_p50);
    }

    #[test]
    fn sequential_sizing_on_constant_demand_is_the_lump() {
        let pr = pricing(vec![offer("1y", 2190, "0.8"), offer("3y", 8760, "0.6")]);
        let demand = Demand::single(vec![7.0; 8760]);
        let l = plan_ladder(
            &demand,
            &[],
            &pr,
            &PlanOptions::default(),
            &LadderSettings::default(),
        )
        .unwrap();
        assert_eq!(l.offer, "3y");
        assert_eq!(l.lump_level, 7.0);
        assert_eq!(l.ladder_level, 7.0);
        assert_eq!(l.tranches.len(), 1);
        assert_eq!(l.tranches[0].purchase.quantity, 7.0);
        assert!(l.other_purchases.is_empty());
        assert_eq!(l.ladder, l.lump);
        assert!(l.premium_over_lump.is_zero());
    }

    #[test]
    fn a_later_tranche_can_beat_the_lump_past_the_term() {
        // 1y offer at 0.6, horizon 15 months (10950 h); demand 0 for 6 months, then 1. The
        // lump (year 0 at hour 0, year 1 at 8760) uses 4380 and 2190 of 8760 hours, both
        // below the 5256 break-even hours: all on demand, 6570. Sequential: the tranche at
        // month 1 (hour 730) would use 5110 h < 5256, the one at month 2 (hour 1460) uses
        // 5840 h: bought; 730 h after its expiry stay on demand. 5256 + 730 = 5986.
        let mut v = vec![0.0; 4380];
        v.extend(vec![1.0; 6570]);
        let pr = pricing(vec![offer("1y", 8760, "0.6")]);
        let l = plan_ladder(
            &Demand::single(v),
            &[],
            &pr,
            &PlanOptions::default(),
            &LadderSettings::default(),
        )
        .unwrap();
        assert_eq!(l.lump.expected_cost.amount(), d("6570.00"));
        assert_eq!(l.ladder.expected_cost.amount(), d("5986.00"));
        assert_eq!(l.premium_over_lump.amount(), d("-584.00"));
        assert_eq!(l.tranches.len(), 1);
        assert_eq!(l.tranches[0].index, 2);
        assert_eq!(l.tranches[0].purchase.start_hour, 1460);
        assert_eq!(l.tranches[0].expiry_hour, 10220);
        assert_eq!(l.tranches[0].purchase.utilisation, 5840.0 / 8760.0);
        assert_eq!(l.tranches[0].purchase.kind, TermKind::Short { year: 0 });
    }

    #[test]
    fn whole_units_split_with_the_remainder_first_and_dates_are_labelled() {
        let pr = pricing(vec![offer("1y", 8760, "0.5")]);
        let opts = PlanOptions {
            whole_units: true,
            finance: FinanceParams {
                start: chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0),
                ..FinanceParams::default()
            },
            ..PlanOptions::default()
        };
        let l = plan_ladder(
            &Demand::single(vec![10.0; 8760]),
            &[],
            &pr,
            &opts,
            &quarterly(TrancheSizing::EqualSlices),
        )
        .unwrap();
        let q: Vec<f64> = l.tranches.iter().map(|t| t.purchase.quantity).collect();
        assert_eq!(q, vec![3.0, 3.0, 2.0, 2.0]);
        let s = l.tranches[1].start.unwrap().to_string();
        assert_eq!(s, "2025-04-02 06:00:00"); // 2190 h = 91 days 6 hours after Jan 1
        assert!(l.tranches[0].expiry.is_some());
    }

    #[test]
    fn bad_settings_are_errors() {
        let pr = pricing(vec![offer("1y", 8760, "0.5")]);
        let dm = Demand::single(vec![1.0; 100]);
        let o = PlanOptions::default();
        for period in [0, 4, 1201 * 3] {
            let s = LadderSettings {
                cadence: Cadence::Quarterly,
                period_months: period,
                sizing: TrancheSizing::EqualSlices,
            };
            assert!(plan_ladder(&dm, &[], &pr, &o, &s).is_err());
        }
        let none = pricing(vec![]);
        assert!(plan_ladder(&dm, &[], &none, &o, &LadderSettings::default()).is_err());
        let pb = PoolProblem::new(&dm, &[], &pr).unwrap();
        let bad = Levels {
            three_year: f64::NAN,
            one_year: vec![],
        };
        assert!(pb.ladder(&bad, &LadderSettings::default(), &o).is_err());
        // A horizon shorter than a month: only the tranche at hour 0, which does not pay.
        let l = plan_ladder(&dm, &[], &pr, &o, &LadderSettings::default()).unwrap();
        assert!(l.tranches.is_empty() && l.cash_flow.is_empty());
        assert_eq!(l.ladder, l.lump);
    }
}
