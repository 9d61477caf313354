//! A spend-based pool (Savings Plans, spend CUDs, Azure savings plans) planned in money with
//! [`flex`](super::flex): its SKUs' on-demand-equivalent spend, the reservations that apply
//! first, the existing plans, every term's exact optimum and curve, the providers' lookback
//! recommendation, and the RI-only / plan-only / RI + plan portfolios on the same paths.
//!
//! Decision paths: per SKU the long-run level model of [`crate::forecast::longrun`] on the
//! SKU's hourly history (the same seed for every SKU, so a path's level shock is shared: one
//! business drives them), or, when a SKU's history is too short for it, its last four weeks
//! repeated. Each term is evaluated over its own term from the plan's start (capped at the
//! horizon, the fee scaled so a commitment still pays its whole term) and the terms are
//! compared by expected savings per hour. Existing commitments' fees are sunk: they are in
//! no portfolio's cost, but their coverage is applied (reservations first, then existing
//! plans) before anything new.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::flex::{
    self, CurvePoint, FlexError, Instrument, RANK_COMPUTE_PLAN, RANK_INSTANCE_PLAN,
    RANK_RESERVATION, SpendPaths, Sweep,
};
use super::types::PlanError;
use crate::forecast::longrun::{LongRunSettings, long_run_paths};
use crate::pricing::{OfferKind, Pool, RateCard};
use crate::series::SeriesKey;

/// Paths the spend decision is made on (at most; the plan file's count when smaller): the
/// sweep's cost is linear in paths × hours × SKUs, and 32 paths put the expected cost's
/// sampling error well below the differences between terms.
pub const MAX_SPEND_PATHS: usize = 32;

/// Days of the providers' lookback recommendation the plan is compared with.
pub const SPEND_LOOKBACK_DAYS: usize = 30;

/// Reservations that cover some of the pool's SKUs before any plan applies (an RI pool).
#[derive(Debug, Clone, PartialEq)]
pub struct ReservationLayer {
    /// The RI pool.
    pub pool_id: String,
    /// Indices of the SKUs it covers.
    pub skus: Vec<usize>,
    /// Capacity in on-demand-equivalent money per hour of the horizon from existing
    /// reservations.
    pub existing: Vec<f64>,
    /// The same from the reservations the RI plan buys.
    pub new: Vec<f64>,
    /// Nominal fees of the new reservations (their whole terms).
    pub new_fees: f64,
    /// Capacity per history hour (existing reservations then), for the lookback.
    pub history: Vec<f64>,
}

/// A plan the pool already holds: its commitment at plan rates per hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingPlan {
    /// Its id.
    pub id: String,
    /// Per SKU, plan rate / on-demand rate.
    pub ratio: Vec<Option<f64>>,
    /// Commitment per horizon hour (0 outside its term).
    pub horizon: Vec<f64>,
    /// Commitment per history hour.
    pub history: Vec<f64>,
}

/// What [`plan_spend_pool`] needs.
#[derive(Debug, Clone)]
pub struct SpendPoolInput<'a> {
    /// The rate card (offers, per-SKU rates, payment choice).
    pub card: &'a RateCard,
    /// The spend pool.
    pub pool: &'a Pool,
    /// Its SKUs (rate keys): the series it matches.
    pub skus: Vec<SeriesKey>,
    /// Per SKU, hourly on-demand-equivalent spend before the plan's start (equal lengths,
    /// ending at the start).
    pub history: Vec<Vec<f64>>,
    /// Reservations applied first.
    pub reservations: Vec<ReservationLayer>,
    /// Plans held.
    pub existing: Vec<ExistingPlan>,
    /// Hours planned.
    pub horizon_hours: usize,
    /// Paths (capped at [`MAX_SPEND_PATHS`]).
    pub paths: usize,
    /// Seed of the paths.
    pub seed: u64,
    /// Cost of capital (payment option per term by present value).
    pub cost_of_capital: Decimal,
}

/// One term's optimum (the payment option chosen by present value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendOption {
    /// The offer.
    pub offer_id: String,
    /// Offer kind (`savings_plan_compute`, ...).
    pub kind: String,
    /// Term in hours.
    pub term_hours: usize,
    /// Hours it is evaluated on (its term, capped at the horizon).
    pub hours: usize,
    /// Its reference discount (the offer's own) and the range over the SKUs.
    pub discount: f64,
    /// Lowest and highest discount over the pool's SKUs.
    pub discount_range: (f64, f64),
    /// The exact sweep: optimum and curve (on the spend the reservations and existing plans
    /// leave, with the RI plan bought).
    pub sweep: Sweep,
    /// Expected savings per evaluated hour at the optimum (how terms are compared).
    pub savings_per_hour: f64,
    /// The providers' lookback recommendation for this offer, evaluated on the same paths.
    pub lookback: Option<CurvePoint>,
}

/// A portfolio on the pool's paths over the chosen term.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendPortfolio {
    /// "RI only", "plan only", "RI + plan".
    pub name: String,
    /// Share of the new reservations bought (1 = the RI plan, 0 = none).
    pub ri_share: f64,
    /// The plan's commitment per hour (exact optimum given these reservations).
    pub commitment: f64,
    /// Expected fees of the new reservations.
    pub ri_fees: f64,
    /// Expected fees of the new plan.
    pub plan_fees: f64,
    /// Expected on-demand spend left.
    pub on_demand: f64,
    /// Total = the three above.
    pub total: f64,
}

/// The plan of a spend pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendPlan {
    /// Pool id.
    pub pool_id: String,
    /// The SKUs (rate keys) in order.
    pub skus: Vec<String>,
    /// Paths used.
    pub paths: usize,
    /// SKUs planned on their last four weeks repeated (history too short for the level model).
    pub repeated: Vec<String>,
    /// One per term.
    pub options: Vec<SpendOption>,
    /// Index of the recommended option in `options`, `None` when no commitment saves money.
    pub chosen: Option<usize>,
    /// Commitment per hour of the plans held, at the start.
    pub existing_now: f64,
    /// Expected on-demand-equivalent spend over the chosen option's hours, before any
    /// commitment.
    pub demand: f64,
    /// RI only, plan only, RI + plan and the best share of the RI plan with the plan
    /// (sorted by total).
    pub portfolios: Vec<SpendPortfolio>,
}

fn flex_err(e: FlexError) -> PlanError {
    PlanError::InvalidInput(e.to_string())
}

fn rank_of(kind: OfferKind) -> u8 {
    match kind {
        OfferKind::SavingsPlanInstance => RANK_INSTANCE_PLAN,
        k if k.is_spend_based() => RANK_COMPUTE_PLAN,
        _ => RANK_RESERVATION,
    }
}

/// Per-SKU decision paths (`paths × hours` each) and the SKUs that were repeated.
fn sku_paths(inp: &SpendPoolInput<'_>, paths: usize) -> (Vec<Vec<Vec<f64>>>, Vec<String>) {
    let settings = LongRunSettings::default();
    let mut repeated = Vec::new();
    let out = inp
        .history
        .iter()
        .zip(&inp.skus)
        .map(|(h, key)| {
            match long_run_paths(h, inp.horizon_hours, paths, inp.seed, &settings) {
                Some(f) => f.paths,
                None => {
                    repeated.push(key.to_string());
                    let tail = &h[h.len().saturating_sub(4 * 168)..];
                    let one: Vec<f64> = (0..inp.horizon_hours)
                        .map(|t| if tail.is_empty() { 0.0 } else { tail[t % tail.len()] })
                        .collect();
                    vec![one; paths]
                }
            }
        })
        .collect();
    (out, repeated)
}

/// Dense `[path][hour][sku]` spend over `hours`, minus reservations (existing, plus `share`
/// of the new ones) and existing plans, applied in the providers' order.
fn leftover(
    inp: &SpendPoolInput<'_>,
    per_sku: &[Vec<Vec<f64>>],
    paths: usize,
    hours: usize,
    share: f64,
) -> Result<SpendPaths, PlanError> {
    let n = inp.skus.len();
    let mut v = vec![0.0; paths * hours * n];
    for p in 0..paths {
        for t in 0..hours {
            let o = (p * hours + t) * n;
            for (j, sku) in per_sku.iter().enumerate() {
                v[o + j] = sku[p][t];
            }
            // Reservations first: each RI pool's capacity over its SKUs, in SKU order.
            for r in &inp.reservations {
                let mut cap = r.existing[t] + share * r.new[t];
                for &j in &r.skus {
                    let x = v[o + j].min(cap);
                    v[o + j] -= x;
                    cap -= x;
                }
            }
            // Then the plans held, highest discount first.
            for e in &inp.existing {
                apply_plan(&mut v[o..o + n], &e.ratio, e.horizon[t]);
            }
        }
    }
    SpendPaths::new(n, hours, paths, v).map_err(flex_err)
}

/// One hour of a plan with commitment `c` on `u` (highest discount first).
fn apply_plan(u: &mut [f64], ratio: &[Option<f64>], c: f64) {
    let mut order: Vec<(usize, f64)> = ratio
        .iter()
        .enumerate()
        .filter_map(|(j, r)| r.map(|r| (j, r)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut left = c;
    for (j, r) in order {
        if left <= 0.0 {
            break;
        }
        let x = u[j].min(left / r);
        u[j] -= x;
        left -= x * r;
    }
}

/// The lookback world: the last [`SPEND_LOOKBACK_DAYS`] days of history after the
/// reservations and plans held then, as one path.
fn lookback_spend(inp: &SpendPoolInput<'_>) -> Option<SpendPaths> {
    let n = inp.skus.len();
    let len = inp.history.first()?.len();
    let hours = (SPEND_LOOKBACK_DAYS * 24).min(len);
    if hours == 0 {
        return None;
    }
    let from = len - hours;
    let mut v = vec![0.0; hours * n];
    for t in 0..hours {
        let o = t * n;
        for j in 0..n {
            v[o + j] = inp.history[j][from + t];
        }
        for r in &inp.reservations {
            let mut cap = r.history.get(from + t).copied().unwrap_or(0.0);
            for &j in &r.skus {
                let x = v[o + j].min(cap);
                v[o + j] -= x;
                cap -= x;
            }
        }
        for e in &inp.existing {
            apply_plan(&mut v[o..o + n], &e.ratio, e.history.get(from + t).copied().unwrap_or(0.0));
        }
    }
    SpendPaths::new(n, hours, 1, v).ok()
}

/// Plans a spend pool: per term (payment option by present value) the exact optimum of the
/// plan on the spend the RI plan and the commitments held leave, the providers' lookback
/// recommendation, and the portfolios (RI only, plan only, RI + plan, and the best share of
/// the RI plan when the plan takes over part of the reservations' work).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] for inconsistent inputs (lengths, ratios).
pub fn plan_spend_pool(inp: &SpendPoolInput<'_>) -> Result<SpendPlan, PlanError> {
    let n = inp.skus.len();
    if n == 0 || inp.history.len() != n || inp.horizon_hours == 0 {
        return Err(PlanError::InvalidInput(format!(
            "spend pool {}: {n} SKUs, {} histories, {} horizon hours",
            inp.pool.id(),
            inp.history.len(),
            inp.horizon_hours
        )));
    }
    let paths = inp.paths.clamp(1, MAX_SPEND_PATHS);
    let (per_sku, repeated) = sku_paths(inp, paths);
    let (choices, _) = super::offer_choices(inp.card, inp.pool, inp.cost_of_capital)?;
    let lookback = lookback_spend(inp);
    let mut options = Vec::new();
    let mut instruments = Vec::new();
    let full = leftover(inp, &per_sku, paths, inp.horizon_hours, 1.0)?;
    for c in &choices {
        let Some(offer) = inp.card.offer(&c.id) else {
            continue;
        };
        let r_ref = 1.0 - offer.discount().to_f64().unwrap_or(0.0);
        let ratio: Vec<Option<f64>> = inp
            .skus
            .iter()
            .map(|k| {
                let d = inp.pool.discount_on(offer, k).to_f64().unwrap_or(0.0);
                Some((1.0 - d).clamp(f64::MIN_POSITIVE, 1.0))
            })
            .collect();
        let discounts: Vec<f64> = ratio.iter().flatten().map(|r| 1.0 - r).collect();
        let hours = c.term_hours.min(inp.horizon_hours);
        // PV-adjusted rate relative to the nominal plan rate, and the whole term paid.
        let pv = c.effective_hourly.to_f64().unwrap_or(r_ref) / r_ref.max(f64::MIN_POSITIVE);
        let inst = Instrument {
            id: c.id.clone(),
            rank: rank_of(offer.kind()),
            ratio,
            fee: pv * c.term_hours as f64 / hours as f64,
        };
        let d = truncate(&full, hours)?;
        let sweep = flex::sweep(&d, &inst).map_err(flex_err)?;
        let lb = lookback
            .as_ref()
            .map(|l| flex::sweep(l, &inst).map_err(flex_err))
            .transpose()?
            .map(|s| flex::evaluate(&d, &inst, s.optimum.commitment));
        options.push(SpendOption {
            offer_id: c.id.clone(),
            kind: offer.kind().as_str().to_owned(),
            term_hours: c.term_hours,
            hours,
            discount: 1.0 - r_ref,
            discount_range: (
                discounts.iter().copied().fold(f64::INFINITY, f64::min),
                discounts.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            savings_per_hour: sweep.optimum.savings / hours as f64,
            sweep,
            lookback: lb,
        });
        instruments.push(inst);
    }
    let chosen = options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.sweep.optimum.commitment > 0.0 && o.savings_per_hour > 0.0)
        .max_by(|a, b| {
            a.1.savings_per_hour
                .total_cmp(&b.1.savings_per_hour)
                .then(b.0.cmp(&a.0))
        })
        .map(|(i, _)| i);
    let existing_now = inp
        .existing
        .iter()
        .map(|e| e.horizon.first().copied().unwrap_or(0.0))
        .sum();
    let (portfolios, demand) = match chosen.or(if options.is_empty() { None } else { Some(0) }) {
        Some(k) => {
            let hours = options[k].hours;
            portfolios(inp, &per_sku, paths, hours, &instruments[k])?
        }
        None => (Vec::new(), 0.0),
    };
    Ok(SpendPlan {
        pool_id: inp.pool.id().to_owned(),
        skus: inp.skus.iter().map(ToString::to_string).collect(),
        paths,
        repeated,
        options,
        chosen,
        existing_now,
        demand,
        portfolios,
    })
}

fn truncate(d: &SpendPaths, hours: usize) -> Result<SpendPaths, PlanError> {
    if d.hours() == hours {
        return Ok(d.clone());
    }
    let mut v = Vec::with_capacity(d.paths() * hours * d.skus());
    for p in 0..d.paths() {
        for t in 0..hours {
            v.extend_from_slice(d.hour(p, t));
        }
    }
    SpendPaths::new(d.skus(), hours, d.paths(), v).map_err(flex_err)
}

/// Shares of the RI plan tried with the plan on top (the plan's optimum is exact for each).
const RI_SHARES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// RI only, plan only, RI + plan, and the best share of the RI plan with the plan, over
/// `hours` of the chosen option; and the demand before any commitment.
fn portfolios(
    inp: &SpendPoolInput<'_>,
    per_sku: &[Vec<Vec<f64>>],
    paths: usize,
    hours: usize,
    inst: &Instrument,
) -> Result<(Vec<SpendPortfolio>, f64), PlanError> {
    let gross = {
        let none = SpendPoolInput {
            reservations: Vec::new(),
            existing: Vec::new(),
            ..inp.clone()
        };
        leftover(&none, per_sku, paths, hours, 0.0)?.expected_total()
    };
    let ri_fees: f64 = inp.reservations.iter().map(|r| r.new_fees).sum();
    let hw = hours as f64;
    let mut rows = Vec::new();
    let mut best: Option<SpendPortfolio> = None;
    for share in RI_SHARES {
        let d = leftover(inp, per_sku, paths, hours, share)?;
        let s = flex::sweep(&d, inst).map_err(flex_err)?;
        let c = s.optimum.commitment;
        let row = |name: &str, c: f64, left: f64| SpendPortfolio {
            name: name.to_owned(),
            ri_share: share,
            commitment: c,
            ri_fees: share * ri_fees,
            plan_fees: inst.fee * hw * c,
            on_demand: left,
            total: share * ri_fees + inst.fee * hw * c + left,
        };
        let left_at_c = s.optimum.cost - inst.fee * hw * c;
        let mixed = row("RI + plan", c, left_at_c);
        if share == 0.0 {
            rows.push(row("plan only", c, left_at_c));
        }
        if share == 1.0 {
            rows.push(row("RI only", 0.0, d.expected_total()));
            rows.push(mixed.clone());
        }
        if best.as_ref().is_none_or(|b| mixed.total < b.total) {
            best = Some(mixed);
        }
    }
    if let Some(mut b) = best
        && b.ri_share > 0.0
        && b.ri_share < 1.0
    {
        b.name = format!("{:.0} % of the RI plan + plan", 100.0 * b.ri_share);
        rows.push(b);
    }
    rows.sort_by(|a, b| a.total.total_cmp(&b.total));
    Ok((rows, gross))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = r#"
[[pool]]
id = "sp"
match = { service = ["EC2", "Lambda"] }
unit = "USD/hour"
on_demand_rate = "1"
currency = "USD"
offer = [
  { id = "sp-1y", kind = "savings_plan_compute", term = "1y", payment = "no_upfront", recurring_hourly = "0.74" },
  { id = "sp-3y", kind = "savings_plan_compute", term = "3y", payment = "no_upfront", recurring_hourly = "0.54" },
]
[[pool.rate]]
match = { service = "Lambda" }
discount = { "sp-1y" = "0.12", "sp-3y" = "0.17" }
"#;

    fn key(s: &str) -> SeriesKey {
        SeriesKey(vec![("service".into(), s.into())])
    }

    #[test]
    fn steady_spend_is_committed_and_reservations_come_first() {
        let card = RateCard::from_toml_str(CARD, "r.toml").unwrap();
        let pool = &card.pools()[0];
        let weeks = 12 * 168;
        let ec2: Vec<f64> = (0..weeks).map(|t| 10.0 + (t % 24) as f64 * 0.1).collect();
        let lambda: Vec<f64> = (0..weeks).map(|t| 4.0 + (t % 7) as f64 * 0.2).collect();
        let horizon = 2 * 8760;
        let ri = ReservationLayer {
            pool_id: "ri".into(),
            skus: vec![0],
            existing: vec![0.0; horizon],
            new: vec![6.0; horizon],
            new_fees: 6.0 * 0.6 * 8760.0,
            history: vec![0.0; weeks],
        };
        let input = SpendPoolInput {
            card: &card,
            pool,
            skus: vec![key("EC2"), key("Lambda")],
            history: vec![ec2, lambda],
            reservations: vec![ri],
            existing: Vec::new(),
            horizon_hours: horizon,
            paths: 8,
            seed: 1,
            cost_of_capital: Decimal::ZERO,
        };
        let plan = plan_spend_pool(&input).unwrap();
        assert_eq!(plan.options.len(), 2);
        let k = plan.chosen.expect("steady spend is worth committing");
        let o = &plan.options[k];
        assert!(o.sweep.optimum.commitment > 0.0 && o.sweep.optimum.savings > 0.0);
        // The 1y option is evaluated on one year, the 3y on the two-year horizon with its
        // fee scaled by 3/2.
        assert_eq!(plan.options[0].hours, 8760);
        assert_eq!(plan.options[1].hours, horizon);
        assert!((plan.options[1].discount_range.0 - 0.17).abs() < 1e-12);
        // Portfolios: RI + plan is never worse than RI only (the plan may be zero), and the
        // rows are sorted by total.
        let by = |n: &str| plan.portfolios.iter().find(|p| p.name == n).unwrap();
        assert!(by("RI + plan").total <= by("RI only").total + 1e-6);
        assert!(plan.portfolios.windows(2).all(|w| w[0].total <= w[1].total));
        // The lookback recommendation exists (12 weeks of history) and is evaluated.
        assert!(o.lookback.is_some());
    }
}
