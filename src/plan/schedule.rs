//! Any schedule of purchases evaluated on demand paths: what it costs over the horizon, how
//! the cost spreads over calendar periods (months, fiscal quarters), the spread of savings
//! over paths, NPV and break-even. This is the step behind the scenario matrix and the
//! quarterly plan, where strategies other than the optimizer's (a fixed coverage, a purchase
//! list, the lookback rule) and demand other than the one planned on are compared.
//!
//! # Definitions (per pool, hours `t = 0..T`, paths `s = 1..S`)
//!
//! * demand `D_{s,t}`, existing coverage `E_t`, residual `R_{s,t} = max(0, D − E)`;
//! * new coverage `c_t = Σ q_i` over purchases active at `t` (`h_i ≤ t < h_i + term_i`);
//! * on-demand hours `O_{s,t} = max(0, R − c)`; used new-commitment hours `R − O`.
//! * A purchase costs its **full term** at its effective rate (as in the optimizer), also
//!   when the term ends after the horizon; usage after the horizon counts as zero.
//! * `expected_cost` = new commitments + `p · mean_s Σ_t O`; `on_demand_cost` = `p · mean_s
//!   Σ_t R` (nothing new bought); savings = the difference; per-path savings give the
//!   p10/p50/p90 and the probability of a loss.
//! * Per period `[a, b)`: demand and on-demand spend (mean and p10/p50/p90 over paths of the
//!   period's sum), the new commitments' amortised cost (effective rate × active hours in the
//!   period), their cash (upfront in the period of purchase + recurring per active hour) and
//!   the expected savings (`p` × used hours − amortised cost).
//! * Cash view by 730-hour months from hour 0 to the end of the last term: NPV =
//!   `Σ_m (usage value_m − recurring_m)·v^(m+1) − Σ_m upfront_m·v^m` with `v = 1/(1 + r/12)`;
//!   break-even month = first month where the cumulative usage value reaches the cumulative
//!   cash paid.
//!
//! * Per purchase (when asked, see [`PoolProblem::evaluate`](super::PoolProblem::evaluate)
//!   and the [ladder](super::ladder)): purchases fill the residual bottom-up in their order;
//!   purchase `i` uses `min(q_i, max(0, R − F_i))` at hour `t`, where `F_i` is the coverage of
//!   the purchases before it active at `t`. Its exact finance summary ([`PurchaseFinance`]):
//!   upfront, recurring, commitment total (cash), usage value, savings, ESR, ROI, utilisation
//!   of its full term, the share of paths below break-even, and its monthly cash, amortised
//!   and usage-value flows from its purchase (allocated so they sum to its totals), with NPV
//!   and break-even counted from its own purchase month.
//!
//! This is the one evaluator of purchases on demand paths: the optimizer's levels
//! ([`PoolProblem::evaluate`](super::PoolProblem::evaluate)) and the ladder's figures are
//! schedules evaluated here.
//!
//! Money is exact: hour sums are converted once per figure with [`Rate::cost_of`] and
//! rounded half-even at the end.

use rust_decimal::prelude::*;
use serde::Serialize;

use super::types::{
    Demand, FinanceParams, HOURS_PER_MONTH, MonthlyFlow, OfferChoice, PlanError, PurchaseFinance,
    TermKind,
};
use crate::money::{Currency, Money, Rate, quantity_to_decimal};

/// One purchase of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledPurchase {
    /// The offer bought (its term and rates).
    pub offer: OfferChoice,
    /// Hour of the purchase (0 = the plan's start).
    pub start_hour: usize,
    /// Units bought (≥ 0).
    pub quantity: f64,
}

impl ScheduledPurchase {
    fn end(&self) -> usize {
        self.start_hour.saturating_add(self.offer.term_hours)
    }
}

/// Quantiles over paths of one figure (p10, p50, p90; the lower empirical quantiles).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread<T> {
    /// 10th percentile.
    pub p10: T,
    /// Median.
    pub p50: T,
    /// 90th percentile.
    pub p90: T,
}

/// One calendar period of a schedule's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodOutcome {
    /// First hour (inclusive).
    pub start_hour: usize,
    /// Last hour (exclusive), clipped to the horizon.
    pub end_hour: usize,
    /// Mean demand in unit-hours summed over the period.
    pub demand_mean: f64,
    /// Spread over paths of the period's demand (unit-hours).
    pub demand: Spread<f64>,
    /// Mean unit-hours covered by existing commitments.
    pub existing_used: f64,
    /// Mean unit-hours covered by the new purchases.
    pub new_used: f64,
    /// Expected on-demand spend.
    pub on_demand_expected: Money,
    /// Spread over paths of the on-demand spend.
    pub on_demand: Spread<Money>,
    /// On-demand spend if nothing new were bought (expected).
    pub on_demand_without_new: Money,
    /// Amortised cost of the new purchases active in the period.
    pub new_amortised: Money,
    /// Cash paid for the new purchases in the period (upfront + recurring).
    pub new_cash: Money,
    /// Upfront fees paid in the period.
    pub new_upfront: Money,
    /// Units of new purchases whose term starts in the period.
    pub units_bought: f64,
    /// Units of new purchases whose term ends in the period.
    pub units_expiring: f64,
    /// Expected savings of the new purchases in the period (on-demand value of the hours
    /// they cover − their amortised cost).
    pub expected_savings: Money,
    /// On-demand unit-hours of each path in the period (paths in input order), for sums
    /// across pools that keep the paths aligned.
    #[serde(skip)]
    pub on_demand_hours_by_path: Vec<f64>,
}

/// A schedule evaluated on demand paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleOutcome {
    /// Expected cost with nothing new bought (the residual after existing commitments on
    /// demand).
    pub on_demand_cost: Money,
    /// New commitments (full terms) + expected on-demand.
    pub expected_cost: Money,
    /// `on_demand_cost − expected_cost`.
    pub expected_savings: Money,
    /// Full-term cost of the new purchases.
    pub commitment_cost: Money,
    /// Upfront fees of the new purchases.
    pub upfront: Money,
    /// Share of the expected residual demand covered by the new purchases.
    pub coverage: f64,
    /// Share of the new purchases' committed unit-hours (full terms) that is used.
    pub utilisation: f64,
    /// Spread of the savings over paths.
    pub savings: Spread<Money>,
    /// Share of paths on which the schedule costs more than buying nothing.
    pub prob_loss: f64,
    /// Savings of each path, in input order (for sums across pools that keep paths aligned).
    #[serde(skip)]
    pub savings_by_path: Vec<Money>,
    /// Residual unit-hours (demand after existing commitments) of each path over the
    /// horizon, in input order: the ranking of [`ScheduleOutcome::savings_at_demand_rank`].
    #[serde(skip)]
    pub residual_hours_by_path: Vec<f64>,
    /// Net present value of the cash view (usage value − cash) at the cost of capital.
    pub npv: Money,
    /// First month (1-based, 730-hour months) in which the cumulative usage value reaches
    /// the cumulative cash paid; `None` when nothing is bought or it never does.
    pub break_even_month: Option<usize>,
    /// Cumulative expected net savings (usage value − cash) at the end of each month.
    pub cumulative_net: Vec<Money>,
    /// The requested periods, in order.
    pub periods: Vec<PeriodOutcome>,
}

impl ScheduleOutcome {
    /// Savings on the path ranked `q` (in `[0, 1]`) by residual demand: paths sorted by
    /// [`ScheduleOutcome::residual_hours_by_path`] (ties: input order), the one at position
    /// `round(q · (S − 1))`. This is how [`PoolPlan::savings_p10`](super::PoolPlan::savings_p10)
    /// and the ladder's figures read "the p10 path"; [`ScheduleOutcome::savings`] holds the
    /// quantiles of the savings themselves instead.
    pub fn savings_at_demand_rank(&self, q: f64) -> Money {
        let r = &self.residual_hours_by_path;
        let mut order: Vec<usize> = (0..r.len()).collect();
        order.sort_by(|&a, &b| r[a].total_cmp(&r[b]).then(a.cmp(&b)));
        let i = (q.clamp(0.0, 1.0) * (order.len() - 1) as f64).round() as usize;
        self.savings_by_path[order[i]]
    }
}

/// Demand as the evaluator reads it: demand paths with the existing coverage (the public
/// entry point), or a prepared pool's residual, path-major (the optimizer's adapters).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Paths<'a> {
    /// Demand paths and the existing coverage per hour (validated by the caller).
    Demand {
        demand: &'a Demand,
        existing: &'a [f64],
    },
    /// Residual demand `residual[s * hours + t]`, finite and ≥ 0 (existing coverage 0).
    Residual {
        residual: &'a [f64],
        paths: usize,
        hours: usize,
    },
}

impl<'a> Paths<'a> {
    fn hours(&self) -> usize {
        match self {
            Paths::Demand { demand, .. } => demand.hours,
            Paths::Residual { hours, .. } => *hours,
        }
    }

    fn paths(&self) -> usize {
        match self {
            Paths::Demand { demand, .. } => demand.paths.len(),
            Paths::Residual { paths, .. } => *paths,
        }
    }

    /// Demand and residual of path `s`; `buf` holds the residual when it is computed.
    fn row<'b>(&self, s: usize, buf: &'b mut Vec<f64>) -> (&'b [f64], &'b [f64])
    where
        'a: 'b,
    {
        match *self {
            Paths::Demand { demand, existing } => {
                let path = &demand.paths[s];
                buf.clear();
                buf.extend(path.iter().zip(existing).map(|(&d, &e)| (d - e).max(0.0)));
                (path.as_slice(), buf.as_slice())
            }
            Paths::Residual {
                residual, hours, ..
            } => {
                let row = &residual[s * hours..(s + 1) * hours];
                (row, row)
            }
        }
    }
}

/// Lower empirical quantile of sorted values.
fn at<T: Copy>(sorted: &[T], q: f64) -> T {
    let n = sorted.len();
    let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    sorted[i]
}

fn spread_f64(mut v: Vec<f64>) -> Spread<f64> {
    v.sort_by(f64::total_cmp);
    Spread {
        p10: at(&v, 0.1),
        p50: at(&v, 0.5),
        p90: at(&v, 0.9),
    }
}

/// Evaluates `purchases` on `demand` after the `existing` coverage (one value per hour) at the
/// on-demand rate `on_demand_hourly`, with figures per period of `periods` (hour ranges,
/// clipped to the horizon).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] for empty or ragged demand, non-finite or negative values, a
/// coverage vector of the wrong length, a negative quantity; [`PlanError::Overflow`] /
/// money errors when an amount does not fit.
pub fn evaluate_schedule(
    demand: &Demand,
    existing: &[f64],
    on_demand_hourly: Decimal,
    currency: Currency,
    purchases: &[ScheduledPurchase],
    periods: &[(usize, usize)],
    finance: &FinanceParams,
) -> Result<ScheduleOutcome, PlanError> {
    let t_n = demand.hours;
    let s_n = demand.paths.len();
    if t_n == 0 || s_n == 0 {
        return Err(PlanError::InvalidInput("no demand to evaluate".into()));
    }
    if existing.len() != t_n {
        return Err(PlanError::InvalidInput(format!(
            "existing coverage has {} hours, demand {t_n}",
            existing.len()
        )));
    }
    for path in &demand.paths {
        if path.len() != t_n || path.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(PlanError::InvalidInput(
                "demand paths must have one finite, non-negative value per hour".into(),
            ));
        }
    }
    let paths = Paths::Demand { demand, existing };
    let (outcome, _) = evaluate(
        paths,
        on_demand_hourly,
        currency,
        purchases,
        periods,
        finance,
        None,
    )?;
    Ok(outcome)
}

/// [`evaluate_schedule`] on validated paths; with `kinds` (one per purchase) also the finance
/// summary of every purchase with a positive quantity, in purchase order.
pub(crate) fn evaluate(
    paths: Paths<'_>,
    on_demand_hourly: Decimal,
    currency: Currency,
    purchases: &[ScheduledPurchase],
    periods: &[(usize, usize)],
    finance: &FinanceParams,
    kinds: Option<&[TermKind]>,
) -> Result<(ScheduleOutcome, Vec<PurchaseFinance>), PlanError> {
    let t_n = paths.hours();
    let s_n = paths.paths();
    if t_n == 0 || s_n == 0 {
        return Err(PlanError::InvalidInput("no demand to evaluate".into()));
    }
    if purchases
        .iter()
        .any(|b| !b.quantity.is_finite() || b.quantity < 0.0 || b.offer.term_hours == 0)
    {
        return Err(PlanError::InvalidInput(
            "purchases need a finite quantity ≥ 0 and a positive term".into(),
        ));
    }
    let p = Rate::new(Money::new(on_demand_hourly, currency));
    let mut cov = vec![0.0; t_n];
    for b in purchases {
        for c in &mut cov[b.start_hour.min(t_n)..b.end().min(t_n)] {
            *c += b.quantity;
        }
    }
    let n_p = periods.len();
    let mut period_of = vec![usize::MAX; t_n];
    for (i, &(a, b)) in periods.iter().enumerate() {
        for slot in &mut period_of[a.min(t_n)..b.min(t_n)] {
            if *slot == usize::MAX {
                *slot = i;
            }
        }
    }
    // Per path: totals; per path and period: demand, residual, on-demand.
    let mut res_tot = vec![0.0; s_n];
    let mut over_tot = vec![0.0; s_n];
    let mut dem_p = vec![0.0; s_n * n_p];
    let mut res_p = vec![0.0; s_n * n_p];
    let mut over_p = vec![0.0; s_n * n_p];
    let mut exist_p = vec![0.0; n_p];
    let months = purchases
        .iter()
        .map(ScheduledPurchase::end)
        .max()
        .unwrap_or(0)
        .max(t_n)
        .div_ceil(HOURS_PER_MONTH);
    let mut used_month = vec![0.0; months];
    let mut buf = Vec::new();
    for s in 0..s_n {
        let (path, res) = paths.row(s, &mut buf);
        for t in 0..t_n {
            let d = path[t];
            let r = res[t];
            let o = (r - cov[t]).max(0.0);
            res_tot[s] += r;
            over_tot[s] += o;
            used_month[t / HOURS_PER_MONTH] += (r - o) / s_n as f64;
            let k = period_of[t];
            if k != usize::MAX {
                dem_p[s * n_p + k] += d;
                res_p[s * n_p + k] += r;
                over_p[s * n_p + k] += o;
                exist_p[k] += (d - r) / s_n as f64;
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;

    // Commitment cost, full terms.
    let mut commitment = Money::zero(currency);
    let mut upfront = Money::zero(currency);
    let mut committed_hours = 0.0;
    for b in purchases.iter().filter(|b| b.quantity > 0.0) {
        let r = Rate::new(Money::new(b.offer.effective_hourly, currency));
        commitment = commitment.checked_add(r.cost_of(b.quantity * b.offer.term_hours as f64)?)?;
        upfront = upfront.checked_add(
            Rate::new(Money::new(b.offer.upfront_per_unit, currency)).cost_of(b.quantity)?,
        )?;
        committed_hours += b.quantity * b.offer.term_hours as f64;
    }
    let m_res = mean(&res_tot);
    let m_over = mean(&over_tot);
    let on_demand_cost = p.cost_of(m_res)?.round();
    let expected_cost = commitment.checked_add(p.cost_of(m_over)?)?.round();
    let mut path_savings = Vec::with_capacity(s_n);
    let mut losses = 0usize;
    for s in 0..s_n {
        let saving = p
            .cost_of(res_tot[s])?
            .checked_sub(commitment.checked_add(p.cost_of(over_tot[s])?)?)?
            .round();
        if saving.amount() < Decimal::ZERO {
            losses += 1;
        }
        path_savings.push(saving);
    }
    let savings_by_path = path_savings.clone();
    path_savings.sort_by_key(|m| m.amount());

    // Periods.
    let mut out_periods = Vec::with_capacity(n_p);
    for (k, &(a, b)) in periods.iter().enumerate() {
        let (a, b) = (a.min(t_n), b.min(t_n));
        let col = |v: &[f64]| -> Vec<f64> { (0..s_n).map(|s| v[s * n_p + k]).collect() };
        let dem = col(&dem_p);
        let over = col(&over_p);
        let res = col(&res_p);
        let new_used = mean(&res) - mean(&over);
        let mut od_paths: Vec<Money> = over
            .iter()
            .map(|&o| p.cost_of(o).map(Money::round))
            .collect::<Result<_, _>>()?;
        od_paths.sort_by_key(|m| m.amount());
        let mut amort = Money::zero(currency);
        let mut cash = Money::zero(currency);
        let mut up = Money::zero(currency);
        let (mut bought, mut expiring) = (0.0, 0.0);
        for pu in purchases.iter().filter(|pu| pu.quantity > 0.0) {
            let active = pu.end().min(b).saturating_sub(pu.start_hour.max(a)) as f64;
            if active > 0.0 {
                amort = amort.checked_add(
                    Rate::new(Money::new(pu.offer.effective_hourly, currency))
                        .cost_of(pu.quantity * active)?,
                )?;
                cash = cash.checked_add(
                    Rate::new(Money::new(pu.offer.recurring_hourly, currency))
                        .cost_of(pu.quantity * active)?,
                )?;
            }
            if (a..b).contains(&pu.start_hour) {
                let u = Rate::new(Money::new(pu.offer.upfront_per_unit, currency))
                    .cost_of(pu.quantity)?;
                up = up.checked_add(u)?;
                cash = cash.checked_add(u)?;
                bought += pu.quantity;
            }
            if (a + 1..=b).contains(&pu.end()) {
                expiring += pu.quantity;
            }
        }
        let used_value = p.cost_of(new_used)?;
        out_periods.push(PeriodOutcome {
            start_hour: a,
            end_hour: b,
            demand_mean: mean(&dem),
            demand: spread_f64(dem),
            existing_used: exist_p[k],
            new_used,
            on_demand_expected: p.cost_of(mean(&over))?.round(),
            on_demand: Spread {
                p10: at(&od_paths, 0.1),
                p50: at(&od_paths, 0.5),
                p90: at(&od_paths, 0.9),
            },
            on_demand_without_new: p.cost_of(mean(&res))?.round(),
            new_amortised: amort.round(),
            new_cash: cash.round(),
            new_upfront: up.round(),
            units_bought: bought,
            units_expiring: expiring,
            expected_savings: used_value.checked_sub(amort)?.round(),
            on_demand_hours_by_path: over,
        });
    }

    // Cash view by month: NPV and break-even.
    let monthly_rate = finance
        .annual_cost_of_capital
        .checked_div(Decimal::from(12))
        .ok_or(PlanError::Overflow("monthly rate"))?;
    let factor = Decimal::ONE
        .checked_add(monthly_rate)
        .filter(|f| *f > Decimal::ZERO)
        .ok_or(PlanError::Overflow("discount factor"))?;
    let mut npv = Decimal::ZERO;
    let mut disc = Decimal::ONE;
    let mut cum = Money::zero(currency);
    let mut cumulative_net = Vec::with_capacity(months);
    let mut break_even_month = None;
    let mut paid_anything = false;
    for (m, used) in used_month.iter().enumerate() {
        let (a, b) = (m * HOURS_PER_MONTH, (m + 1) * HOURS_PER_MONTH);
        let mut up = Money::zero(currency);
        let mut rec = Money::zero(currency);
        for pu in purchases.iter().filter(|pu| pu.quantity > 0.0) {
            let active = pu.end().min(b).saturating_sub(pu.start_hour.max(a)) as f64;
            if active > 0.0 {
                rec = rec.checked_add(
                    Rate::new(Money::new(pu.offer.recurring_hourly, currency))
                        .cost_of(pu.quantity * active)?,
                )?;
            }
            if (a..b).contains(&pu.start_hour) {
                up = up.checked_add(
                    Rate::new(Money::new(pu.offer.upfront_per_unit, currency))
                        .cost_of(pu.quantity)?,
                )?;
            }
        }
        let value = p.cost_of(*used)?;
        if !up.is_zero() || !rec.is_zero() {
            paid_anything = true;
        }
        npv = up
            .amount()
            .checked_mul(disc)
            .and_then(|x| npv.checked_sub(x))
            .ok_or(PlanError::Overflow("npv"))?;
        disc = disc
            .checked_div(factor)
            .ok_or(PlanError::Overflow("discounting"))?;
        npv = (value.amount() - rec.amount())
            .checked_mul(disc)
            .and_then(|x| npv.checked_add(x))
            .ok_or(PlanError::Overflow("npv"))?;
        cum = cum.checked_add(value)?.checked_sub(up)?.checked_sub(rec)?;
        if paid_anything && break_even_month.is_none() && cum.amount() >= Decimal::ZERO {
            break_even_month = Some(m + 1);
        }
        cumulative_net.push(cum.round());
    }

    let bought = match kinds {
        Some(kinds) => {
            purchase_finances(paths, on_demand_hourly, currency, purchases, kinds, finance)?
        }
        None => Vec::new(),
    };
    let outcome = ScheduleOutcome {
        on_demand_cost,
        expected_savings: on_demand_cost.checked_sub(expected_cost)?,
        expected_cost,
        commitment_cost: commitment.round(),
        upfront: upfront.round(),
        coverage: if m_res > 0.0 {
            (m_res - m_over) / m_res
        } else {
            0.0
        },
        utilisation: if committed_hours > 0.0 {
            (m_res - m_over) / committed_hours
        } else {
            0.0
        },
        savings: Spread {
            p10: at(&path_savings, 0.1),
            p50: at(&path_savings, 0.5),
            p90: at(&path_savings, 0.9),
        },
        prob_loss: losses as f64 / s_n as f64,
        savings_by_path,
        residual_hours_by_path: res_tot,
        npv: Money::new(npv, currency).round(),
        break_even_month,
        cumulative_net,
        periods: out_periods,
    };
    Ok((outcome, bought))
}

fn ratio(num: Money, den: Money) -> Option<Decimal> {
    if den.is_zero() {
        return None;
    }
    num.amount()
        .checked_div(den.amount())
        .map(|r| r.round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven))
}

/// The finance summary of every purchase with a positive quantity, in purchase order: each
/// fills the residual above the purchases before it (bottom-up in purchase order).
fn purchase_finances(
    paths: Paths<'_>,
    on_demand_hourly: Decimal,
    currency: Currency,
    purchases: &[ScheduledPurchase],
    kinds: &[TermKind],
    fin: &FinanceParams,
) -> Result<Vec<PurchaseFinance>, PlanError> {
    if kinds.len() != purchases.len() {
        return Err(PlanError::InvalidInput(
            "one term kind per purchase is needed".into(),
        ));
    }
    let t_n = paths.hours();
    let mut floor = vec![0.0; t_n];
    let mut out = Vec::new();
    for (b, &kind) in purchases.iter().zip(kinds) {
        let (h0, h1) = (b.start_hour.min(t_n), b.end().min(t_n));
        if b.quantity > 0.0 {
            out.push(purchase_finance(
                paths,
                on_demand_hourly,
                currency,
                b,
                kind,
                &floor,
                fin,
            )?);
        }
        for f in &mut floor[h0..h1] {
            *f += b.quantity;
        }
    }
    Ok(out)
}

/// One purchase as the layer `[floor_t, floor_t + q)` of the residual over its hours inside
/// the horizon.
fn purchase_finance(
    paths: Paths<'_>,
    on_demand_hourly: Decimal,
    cur: Currency,
    b: &ScheduledPurchase,
    kind: TermKind,
    floor: &[f64],
    fin: &FinanceParams,
) -> Result<PurchaseFinance, PlanError> {
    let o = &b.offer;
    let term = o.term_hours;
    let t_n = paths.hours();
    let s_n = paths.paths();
    let (h0, h1, w) = (b.start_hour, b.end().min(t_n), b.quantity);
    let p = Rate::new(Money::new(on_demand_hourly, cur));
    let months = term.div_ceil(HOURS_PER_MONTH);
    let hour_w: Vec<Decimal> = (0..months)
        .map(|m| Decimal::from((term - m * HOURS_PER_MONTH).min(HOURS_PER_MONTH) as u64))
        .collect();
    // Usage per path and per month (mean over paths).
    let mut used = vec![0.0; s_n];
    let mut used_month = vec![0.0; months];
    let mut window_od = 0.0;
    let mut buf = Vec::new();
    for (s, u) in used.iter_mut().enumerate() {
        let (_, row) = paths.row(s, &mut buf);
        for (m, um) in used_month.iter_mut().enumerate() {
            let from = h0 + m * HOURS_PER_MONTH;
            let to = (from + HOURS_PER_MONTH).min(h1);
            if from >= to {
                break;
            }
            let mut acc = 0.0;
            for (i, &r) in row[from..to].iter().enumerate() {
                acc += (r - floor[from + i]).clamp(0.0, w);
                window_od += r;
            }
            *u += acc;
            *um += acc / s_n as f64;
        }
    }
    window_od /= s_n as f64;
    let committed = w * term as f64;
    let mean_used = used.iter().sum::<f64>() / s_n as f64;
    let break_even_share = (o.effective_hourly / on_demand_hourly)
        .to_f64()
        .unwrap_or(1.0);
    let below = used
        .iter()
        .filter(|&&u| u < break_even_share * committed)
        .count();

    let upfront_total = Rate::new(Money::new(o.upfront_per_unit, cur))
        .cost_of(w)?
        .round();
    let recurring = Rate::new(Money::new(o.recurring_hourly, cur));
    let recurring_total = recurring.cost_of(committed)?.round();
    let recurring_monthly = recurring.cost_of(w * HOURS_PER_MONTH as f64)?.round();
    let commitment_total = upfront_total.checked_add(recurring_total)?;
    let expected_usage_value = p.cost_of(mean_used)?.round();
    let expected_savings = expected_usage_value.checked_sub(commitment_total)?;
    let window_value = p.cost_of(window_od)?.round();

    let rec_parts = recurring_total.allocate(&hour_w)?;
    let amort_parts = commitment_total.allocate(&hour_w)?;
    let usage_w: Vec<Decimal> = used_month
        .iter()
        .map(|&u| quantity_to_decimal(u))
        .collect::<Result<_, _>>()?;
    let usage_parts = if usage_w.iter().any(|w| !w.is_zero()) {
        expected_usage_value.allocate(&usage_w)?
    } else {
        vec![Money::zero(cur); months]
    };

    let monthly_rate = fin
        .annual_cost_of_capital
        .checked_div(Decimal::from(12))
        .ok_or(PlanError::Overflow("monthly rate"))?;
    let factor = Decimal::ONE
        .checked_add(monthly_rate)
        .ok_or(PlanError::Overflow("discount factor"))?;
    if factor <= Decimal::ZERO {
        return Err(PlanError::Overflow("discount factor <= 0"));
    }
    let mut npv = -upfront_total.amount();
    let mut disc = Decimal::ONE;
    let mut cum = Decimal::ZERO;
    let mut break_even_month = None;
    let mut monthly = Vec::with_capacity(months);
    for m in 0..months {
        let cash = if m == 0 {
            rec_parts[m].checked_add(upfront_total)?
        } else {
            rec_parts[m]
        };
        cum += usage_parts[m].amount() - cash.amount();
        if break_even_month.is_none() && cum >= Decimal::ZERO {
            break_even_month = Some(m + 1);
        }
        disc = disc
            .checked_div(factor)
            .ok_or(PlanError::Overflow("discounting"))?;
        let net = usage_parts[m].amount() - rec_parts[m].amount();
        npv = net
            .checked_mul(disc)
            .and_then(|x| x.checked_add(npv))
            .ok_or(PlanError::Overflow("npv"))?;
        let start_hour = h0 + m * HOURS_PER_MONTH;
        monthly.push(MonthlyFlow {
            month: m + 1,
            start_hour,
            start: fin
                .start
                .and_then(|t| t.checked_add_signed(chrono::TimeDelta::hours(start_hour as i64))),
            cash_outlay: cash,
            amortised_cost: amort_parts[m],
            expected_usage_value: usage_parts[m],
        });
    }
    Ok(PurchaseFinance {
        offer_id: o.id.clone(),
        kind,
        start_hour: h0,
        term_hours: term,
        quantity: w,
        layer_from: floor.get(h0).copied().unwrap_or(0.0),
        upfront_total,
        recurring_monthly,
        effective_hourly: Money::new(o.effective_hourly, cur),
        commitment_total,
        expected_usage_value,
        expected_savings,
        savings_pct: ratio(expected_savings, window_value),
        esr: ratio(expected_savings, expected_usage_value),
        roi: ratio(expected_savings, commitment_total),
        break_even_month,
        npv: Money::new(npv, cur).round(),
        utilisation: if committed > 0.0 {
            mean_used / committed
        } else {
            0.0
        },
        prob_below_break_even: below as f64 / s_n as f64,
        monthly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(term: usize, eff: &str, up: &str, rec: &str) -> OfferChoice {
        OfferChoice {
            id: format!("o{term}"),
            term_hours: term,
            effective_hourly: eff.parse().unwrap(),
            upfront_per_unit: up.parse().unwrap(),
            recurring_hourly: rec.parse().unwrap(),
        }
    }

    fn usd() -> Currency {
        Currency::new("USD").unwrap()
    }

    fn fin(r: &str) -> FinanceParams {
        FinanceParams {
            annual_cost_of_capital: r.parse().unwrap(),
            start: None,
        }
    }

    #[test]
    fn constant_demand_fully_covered_by_hand() {
        // 10 units for 1,460 hours (2 months), 4 units existing, 6 bought at 0.5 vs 1.0.
        let d = Demand::single(vec![10.0; 1460]);
        let buy = ScheduledPurchase {
            offer: offer(1460, "0.5", "0", "0.5"),
            start_hour: 0,
            quantity: 6.0,
        };
        let o = evaluate_schedule(
            &d,
            &[4.0; 1460],
            Decimal::ONE,
            usd(),
            &[buy],
            &[(0, 730), (730, 1460)],
            &fin("0"),
        )
        .unwrap();
        assert_eq!(o.on_demand_cost.amount(), Decimal::from(8760));
        assert_eq!(o.commitment_cost.amount(), Decimal::from(4380));
        assert_eq!(o.expected_cost.amount(), Decimal::from(4380));
        assert_eq!(o.expected_savings.amount(), Decimal::from(4380));
        assert_eq!((o.coverage, o.utilisation), (1.0, 1.0));
        assert_eq!(o.prob_loss, 0.0);
        assert_eq!(o.break_even_month, Some(1));
        assert_eq!(o.npv.amount(), Decimal::from(4380));
        let q = &o.periods[1];
        assert_eq!((q.existing_used, q.new_used), (2920.0, 4380.0));
        assert_eq!(q.on_demand_expected.amount(), Decimal::ZERO);
        assert_eq!(q.new_amortised.amount(), Decimal::from(2190));
        assert_eq!(q.expected_savings.amount(), Decimal::from(2190));
        assert_eq!(q.units_expiring, 6.0);
        assert_eq!(o.periods[0].units_bought, 6.0);
    }

    #[test]
    fn unused_commitment_loses_and_upfront_is_cash_in_its_period() {
        let d = Demand {
            hours: 730,
            paths: vec![vec![0.0; 730], vec![2.0; 730]],
        };
        let buy = ScheduledPurchase {
            offer: offer(730, "0.6", "438", "0"),
            start_hour: 0,
            quantity: 1.0,
        };
        let o = evaluate_schedule(
            &d,
            &[0.0; 730],
            Decimal::ONE,
            usd(),
            &[buy],
            &[(0, 730)],
            &fin("0.12"),
        )
        .unwrap();
        assert_eq!(o.prob_loss, 0.5);
        assert_eq!(o.savings.p10.amount(), Decimal::from(-438));
        assert_eq!(o.savings.p90.amount(), Decimal::new(292, 0));
        assert_eq!(o.periods[0].new_upfront.amount(), Decimal::from(438));
        assert_eq!(o.periods[0].new_cash.amount(), Decimal::from(438));
        // Usage value 365 at month end, discounted by 1.01; upfront 438 now.
        let npv = Decimal::from(365) / Decimal::new(101, 2) - Decimal::from(438);
        assert_eq!(o.npv.amount(), npv.round_dp(2));
        assert_eq!(o.break_even_month, None);
    }

    #[test]
    fn nothing_bought_is_on_demand_and_bad_inputs_are_errors() {
        let d = Demand::single(vec![3.0; 100]);
        let o = evaluate_schedule(
            &d,
            &[1.0; 100],
            "0.1".parse().unwrap(),
            usd(),
            &[],
            &[(0, 50), (50, 200)],
            &fin("0"),
        )
        .unwrap();
        assert_eq!(o.expected_cost, o.on_demand_cost);
        assert_eq!(o.on_demand_cost.amount(), Decimal::from(20));
        assert_eq!(o.break_even_month, None);
        assert_eq!(o.periods[1].end_hour, 100);
        assert!(
            evaluate_schedule(&d, &[1.0; 99], Decimal::ONE, usd(), &[], &[], &fin("0")).is_err()
        );
        let bad = Demand::single(vec![f64::NAN; 100]);
        assert!(
            evaluate_schedule(&bad, &[0.0; 100], Decimal::ONE, usd(), &[], &[], &fin("0")).is_err()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Savings are exactly on-demand − expected; shares stay in [0, 1]; quantiles are
        /// ordered; buying nothing costs exactly the on-demand cost; the periods of a
        /// partition add up to the whole (within the cent rounding of each period).
        #[test]
        fn schedule_invariants(
            t_n in 24usize..300,
            paths in proptest::collection::vec(proptest::collection::vec(0.0f64..20.0, 300), 1..4),
            existing in 0.0f64..8.0,
            p_cents in 5u32..300,
            buys in proptest::collection::vec((12usize..400, 0usize..300, 0u32..12, 1u32..100, 0u32..100), 0..4),
            cut in 1usize..23,
        ) {
            let demand = Demand { hours: t_n, paths: paths.iter().map(|p| p[..t_n].to_vec()).collect() };
            let p = Decimal::new(i64::from(p_cents), 2);
            let purchases: Vec<ScheduledPurchase> = buys
                .iter()
                .map(|&(term, start, q, eff_pct, up_pct)| {
                    let eff = p * Decimal::new(i64::from(eff_pct), 2);
                    let up = eff * Decimal::from(term as u64) * Decimal::new(i64::from(up_pct), 2);
                    ScheduledPurchase {
                        offer: OfferChoice {
                            id: format!("o{term}"),
                            term_hours: term,
                            effective_hourly: eff,
                            upfront_per_unit: up.round_dp(4),
                            recurring_hourly: (eff - up / Decimal::from(term as u64)).round_dp(6),
                        },
                        start_hour: start % t_n,
                        quantity: f64::from(q),
                    }
                })
                .collect();
            let a = t_n * cut / 24;
            let periods = [(0, a), (a, t_n)];
            let o = evaluate_schedule(&demand, &vec![existing; t_n], p, usd(), &purchases, &periods, &fin("0.05")).unwrap();
            proptest::prop_assert_eq!(o.expected_savings, o.on_demand_cost.checked_sub(o.expected_cost).unwrap());
            proptest::prop_assert!((0.0..=1.0 + 1e-9).contains(&o.coverage));
            proptest::prop_assert!((0.0..=1.0 + 1e-9).contains(&o.utilisation));
            proptest::prop_assert!(o.savings.p10.amount() <= o.savings.p50.amount());
            proptest::prop_assert!(o.savings.p50.amount() <= o.savings.p90.amount());
            proptest::prop_assert!((0.0..=1.0).contains(&o.prob_loss));
            let split: Decimal = o.periods.iter().map(|q| q.on_demand_without_new.amount()).sum();
            proptest::prop_assert!((split - o.on_demand_cost.amount()).abs() <= Decimal::new(2, 2));
            for q in &o.periods {
                proptest::prop_assert!(q.on_demand.p10.amount() <= q.on_demand.p90.amount());
                proptest::prop_assert!(q.on_demand_expected.amount() <= q.on_demand_without_new.amount());
            }
            let none = evaluate_schedule(&demand, &vec![existing; t_n], p, usd(), &[], &periods, &fin("0.05")).unwrap();
            proptest::prop_assert_eq!(none.expected_cost, none.on_demand_cost);
            proptest::prop_assert_eq!(none.on_demand_cost, o.on_demand_cost);
        }
    }
}
