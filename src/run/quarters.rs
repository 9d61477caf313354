//! The quarterly plan and the budget groups, and the arithmetic behind them: quarter ranges
//! on the horizon's hours, the month grid, spend quantiles summed path by path across pools
//! and other spend, and each series' share of its pool for the budget groups.
//!
//! The quarterly plan is the primary strategy on the first demand scenario.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::inputs::{Inputs, key_matches, midnight};
use super::pools::{PoolRun, forecast_many};
use super::{Frame, RunError};
use crate::forecast::{DemandForecast, ForecastSettings};
use crate::money::{Currency, Money, Rate};
use crate::plan::{self, PeriodOutcome, ScheduledPurchase};
use crate::pricing::{Inventory, Pool};
use crate::progress::Progress;
use crate::report::{GroupQuarterRow, PoolUsage, QuarterRow, fmt_units};
use crate::series::{SeriesKey, UsageSeries};

/// The days and hours of the horizon a quarter covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuarterRange {
    /// First day covered (the quarter's first day, or `as_of`).
    pub(crate) first_day: NaiveDate,
    /// First day after the quarter.
    pub(crate) end_day: NaiveDate,
    /// First hour of the horizon in the quarter.
    pub(crate) first_hour: usize,
    /// First hour after it (clipped to the horizon).
    pub(crate) end_hour: usize,
    /// The quarter ends after the horizon.
    pub(crate) truncated: bool,
}

impl QuarterRange {
    /// The quarter `[a, b)` seen from `as_of` (hour 0) over `horizon_hours`.
    pub(crate) fn new(a: NaiveDate, b: NaiveDate, as_of: NaiveDate, horizon_hours: usize) -> Self {
        let start = midnight(as_of);
        let a = a.max(as_of);
        let ha = (midnight(a) - start).num_hours().max(0) as usize;
        let hb = (midnight(b) - start).num_hours().max(0) as usize;
        QuarterRange {
            first_day: a,
            end_day: b,
            first_hour: ha.min(horizon_hours),
            end_hour: hb.min(horizon_hours),
            truncated: hb > horizon_hours,
        }
    }
}

/// The 730-hour months of a horizon (as the cash views), the last one clipped.
pub(crate) fn month_grid(horizon_hours: usize) -> Vec<(usize, usize)> {
    (0..horizon_hours.div_ceil(plan::HOURS_PER_MONTH))
        .map(|m| {
            (
                m * plan::HOURS_PER_MONTH,
                ((m + 1) * plan::HOURS_PER_MONTH).min(horizon_hours),
            )
        })
        .collect()
}

/// An `f64` amount (negative as zero) as money, rounded half-even.
pub(crate) fn money_of(amount: f64, cur: Currency) -> Result<Money, RunError> {
    Ok(Rate::new(Money::new(Decimal::ONE, cur))
        .cost_of(amount.max(0.0))?
        .round())
}

/// The sum of `items` (zero when empty).
pub(crate) fn sum_money(
    items: impl IntoIterator<Item = Money>,
    cur: Currency,
) -> Result<Money, RunError> {
    let mut acc = Money::zero(cur);
    for m in items {
        acc = acc.checked_add(m)?;
    }
    Ok(acc)
}

/// An amount as `f64` (for path sums and shares; zero when it does not parse).
pub(crate) fn to_f64(m: Money) -> f64 {
    m.amount().to_string().parse::<f64>().unwrap_or(0.0)
}

/// Lower empirical quantile of sorted amounts (zero when empty).
pub(crate) fn at_money(sorted: &[Money], q: f64, cur: Currency) -> Money {
    let n = sorted.len();
    if n == 0 {
        return Money::zero(cur);
    }
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// Lower empirical quantile of sorted values (zero when empty).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// Each matched series' share of the pool's p50 demand per quarter (equal shares when the
/// pool's p50 demand in a quarter is zero).
pub(crate) fn series_shares(
    matched: &[&DemandForecast],
    q_hours: &[(usize, usize)],
) -> Vec<(SeriesKey, Vec<f64>)> {
    let p50 = |f: &DemandForecast, a: usize, b: usize| -> f64 {
        f.forecast
            .quantile(0.5)
            .map_or(0.0, |q| q[a..b].iter().sum())
    };
    let totals: Vec<f64> = q_hours
        .iter()
        .map(|&(a, b)| matched.iter().map(|f| p50(f, a, b)).sum())
        .collect();
    matched
        .iter()
        .map(|f| {
            let shares = q_hours
                .iter()
                .zip(&totals)
                .map(|(&(a, b), &tot)| {
                    if tot > 0.0 {
                        p50(f, a, b) / tot
                    } else {
                        1.0 / matched.len() as f64
                    }
                })
                .collect();
            (f.key.clone(), shares)
        })
        .collect()
}

/// Other spend (the series no planned pool covers) per quarter.
pub(crate) struct OtherSpend {
    /// Per quarter, per sample path: the other spend summed over series.
    pub(crate) q_paths: Vec<Vec<f64>>,
    /// Per series: its mean spend per quarter.
    pub(crate) by_series: Vec<(SeriesKey, Vec<f64>)>,
}

/// Forecasts the other spend daily over the horizon and sums its sample paths per quarter
/// (paths aligned with the pools' by the seed).
pub(crate) fn other_spend(
    other: &[UsageSeries],
    inp: &Inputs,
    frame: &Frame,
    fsettings: &ForecastSettings,
    progress: &dyn Progress,
) -> Result<OtherSpend, RunError> {
    let (n_paths, seed) = (inp.plan.forecast.paths, inp.plan.forecast.seed);
    let horizon_days = frame.horizon_hours.div_ceil(24);
    let mut osettings = fsettings.clone();
    osettings.horizon = horizon_days;
    osettings.backtest_horizon = None;
    osettings.step = None;
    let forecasts = forecast_many(other, &osettings, progress, "forecasting other spend")?;
    let q_hours = frame.q_hours();
    let mut q_paths = vec![vec![0.0; n_paths]; q_hours.len()];
    let mut by_series = Vec::new();
    for f in &forecasts {
        let paths = f
            .sample_paths(n_paths, seed)
            .map_err(|e| RunError::Forecast {
                series: f.key.to_string(),
                message: e.to_string(),
            })?;
        let mut means = vec![0.0; q_hours.len()];
        for (qi, &(a, b)) in q_hours.iter().enumerate() {
            let (da, db) = (a / 24, b.div_ceil(24).min(horizon_days));
            for (s, total) in q_paths[qi].iter_mut().enumerate() {
                let x: f64 = paths.path(s)[da..db].iter().map(|v| v.max(0.0)).sum();
                *total += x;
                means[qi] += x / n_paths as f64;
            }
        }
        by_series.push((f.key.clone(), means));
    }
    Ok(OtherSpend { q_paths, by_series })
}

/// Spend of one quarter: p10, p50, p90 of the per-path totals (variable spend of each path
/// plus the fixed fees, as money).
pub(crate) fn spend_quantiles(
    path_totals: &[f64],
    fixed: Money,
    cur: Currency,
) -> Result<(Money, Money, Money), RunError> {
    let fixed_f = to_f64(fixed);
    let mut totals: Vec<f64> = path_totals.iter().map(|x| x + fixed_f).collect();
    totals.sort_by(f64::total_cmp);
    Ok((
        money_of(quantile(&totals, 0.1), cur)?,
        money_of(quantile(&totals, 0.5), cur)?,
        money_of(quantile(&totals, 0.9), cur)?,
    ))
}

/// Adds the on-demand spend of a pool's paths to `totals`: on-demand hours × rate, path by
/// path (a single-path outcome adds its one path to every total).
pub(crate) fn add_on_demand_paths(totals: &mut [f64], period: &PeriodOutcome, rate: Decimal) {
    let rate = rate.to_string().parse::<f64>().unwrap_or(0.0);
    for (s, total) in totals.iter_mut().enumerate() {
        let h = period
            .on_demand_hours_by_path
            .get(s)
            .or(period.on_demand_hours_by_path.last())
            .copied()
            .unwrap_or(0.0);
        *total += h * rate;
    }
}

/// The money of one quarter summed over the pools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QuarterMoney {
    /// Commitment fees (amortised): existing + new.
    pub(crate) committed: Money,
    /// Expected on-demand spend of the pools.
    pub(crate) on_demand: Money,
    /// Upfront cash of new purchases.
    pub(crate) upfront: Money,
    /// Recurring fees: new purchases' cash besides upfront, plus existing fees.
    pub(crate) recurring: Money,
    /// Expected savings of the new purchases.
    pub(crate) savings: Money,
}

impl QuarterMoney {
    /// Nothing yet.
    pub(crate) fn zero(cur: Currency) -> Self {
        let z = Money::zero(cur);
        QuarterMoney {
            committed: z,
            on_demand: z,
            upfront: z,
            recurring: z,
            savings: z,
        }
    }
    /// Adds one pool's quarter: its period outcome and the existing commitments' fees.
    pub(crate) fn add(&mut self, o: &PeriodOutcome, existing_fees: Money) -> Result<(), RunError> {
        let fees = existing_fees.checked_add(o.new_amortised)?;
        self.committed = self.committed.checked_add(fees)?;
        self.on_demand = self.on_demand.checked_add(o.on_demand_expected)?;
        self.upfront = self.upfront.checked_add(o.new_upfront)?;
        self.recurring = self
            .recurring
            .checked_add(o.new_cash.checked_sub(o.new_upfront)?)?
            .checked_add(existing_fees)?;
        self.savings = self.savings.checked_add(o.expected_savings)?;
        Ok(())
    }
}

/// `units × offer` of the purchases starting in `[ha, hb)`.
pub(crate) fn purchases_in(purchases: &[ScheduledPurchase], ha: usize, hb: usize) -> Vec<String> {
    purchases
        .iter()
        .filter(|pu| (ha..hb).contains(&pu.start_hour) && pu.quantity > 0.0)
        .map(|pu| format!("{} × {}", fmt_units(pu.quantity), pu.offer.id))
        .collect()
}

/// Commitments expiring in the quarter `[qa, qb)` (existing, then new purchases whose term
/// ends in `(ha, hb]`): a commitment expires in the quarter holding its last hour.
fn expirations(
    inventory: &Inventory,
    runs: &[PoolRun],
    primary_idx: usize,
    (qa, qb): (DateTime<Utc>, DateTime<Utc>),
    (ha, hb): (usize, usize),
) -> Vec<String> {
    let mut out: Vec<String> = inventory
        .commitments()
        .iter()
        .filter(|c| c.end() > qa && c.end() <= qb)
        .map(|c| {
            format!(
                "{} × {} (existing, last day {})",
                fmt_units(c.quantity()),
                c.name().unwrap_or(c.id()),
                (c.end() - Duration::seconds(1)).date_naive()
            )
        })
        .collect();
    for r in runs {
        for pu in &r.strategies[primary_idx] {
            let end = pu.start_hour + pu.offer.term_hours;
            if end > ha && end <= hb {
                out.push(format!(
                    "{} × {} (new)",
                    fmt_units(pu.quantity),
                    pu.offer.id
                ));
            }
        }
    }
    out
}

/// The quarterly plan: the primary strategy on the first demand scenario.
pub(crate) fn quarter_rows(
    inp: &Inputs,
    frame: &Frame,
    runs: &[PoolRun],
    other: &OtherSpend,
    primary_idx: usize,
) -> Result<Vec<QuarterRow>, RunError> {
    let currency = inp.currency;
    let mut rows = Vec::new();
    for (qi, q) in frame.quarters.iter().enumerate() {
        let r = frame.quarter_ranges[qi];
        let (ha, hb) = (r.first_hour, r.end_hour);
        let mut path_totals = other.q_paths[qi].clone();
        let mut m = QuarterMoney::zero(currency);
        let mut purchases = Vec::new();
        let mut usage = Vec::new();
        for run in runs {
            let o = &run.outcomes[0][primary_idx].periods[qi];
            let rate = inp
                .card
                .pool(&run.pool_id)
                .map(Pool::on_demand_rate)
                .unwrap_or_default();
            // Base demand has one path per sample path of the other spend (same seed), so
            // the paths add up scenario by scenario.
            add_on_demand_paths(&mut path_totals, o, rate);
            m.add(o, run.existing_fees_quarters[qi])?;
            purchases.extend(purchases_in(&run.strategies[primary_idx], ha, hb));
            usage.push(PoolUsage {
                pool: run.pool_id.clone(),
                unit: run.view.unit.clone(),
                p10: o.demand.p10,
                p50: o.demand.p50,
                p90: o.demand.p90,
                existing_covered: o.existing_used,
                new_covered: o.new_used,
            });
        }
        let other_mean: f64 = other.by_series.iter().map(|(_, m)| m[qi]).sum();
        let other_money = money_of(other_mean, currency)?;
        let on_demand = m.on_demand.checked_add(other_money)?;
        let (p10, p50, p90) = spend_quantiles(&path_totals, m.committed, currency)?;
        let budget = inp
            .plan
            .budget
            .total
            .get(q)
            .map(|b| Money::new(*b, currency));
        rows.push(QuarterRow {
            quarter: q.to_string(),
            start: r.first_day,
            end: r.end_day,
            spend_p10: p10,
            spend_p50: p50,
            spend_p90: p90,
            spend_expected: m.committed.checked_add(on_demand)?,
            committed: m.committed,
            on_demand,
            other_spend: other_money,
            upfront: m.upfront,
            recurring: m.recurring,
            purchases,
            expirations: expirations(
                &inp.inventory,
                runs,
                primary_idx,
                (midnight(r.first_day), midnight(r.end_day)),
                (ha, hb),
            ),
            expected_savings: m.savings,
            usage,
            variance: match budget {
                Some(b) => Some(b.checked_sub(p50)?),
                None => None,
            },
            over_budget: budget.is_some_and(|b| p50.amount() > b.amount()),
            p90_over_budget: budget.is_some_and(|b| p90.amount() > b.amount()),
            budget,
        });
    }
    Ok(rows)
}

/// A pool's quarter attributed to a group: the pool's expected spend (fees + on-demand)
/// times the group's share of the pool's series (`None` when the share is zero).
pub(crate) fn pool_part(
    total: Money,
    share: f64,
    cur: Currency,
) -> Result<Option<Money>, RunError> {
    if share > 0.0 {
        Ok(Some(money_of(to_f64(total) * share, cur)?))
    } else {
        Ok(None)
    }
}

/// Budget groups: per group and quarter, the expected spend of the matching series (other
/// spend, plus each pool's spend by its series' shares) against the group's budget.
pub(crate) fn group_rows(
    inp: &Inputs,
    frame: &Frame,
    runs: &[PoolRun],
    other: &OtherSpend,
    primary_idx: usize,
) -> Result<Vec<GroupQuarterRow>, RunError> {
    let currency = inp.currency;
    let mut rows = Vec::new();
    for g in &inp.plan.budget.groups {
        for (qi, q) in frame.quarters.iter().enumerate() {
            let mut spend = 0.0;
            for (k, means) in &other.by_series {
                if key_matches(&g.filter, k) {
                    spend += means[qi];
                }
            }
            let mut pools_part = Money::zero(currency);
            for r in runs {
                let o = &r.outcomes[0][primary_idx].periods[qi];
                let total = r.existing_fees_quarters[qi]
                    .checked_add(o.new_amortised)?
                    .checked_add(o.on_demand_expected)?;
                let share: f64 = r
                    .series_shares
                    .iter()
                    .filter(|(k, _)| key_matches(&g.filter, k))
                    .map(|(_, s)| s[qi])
                    .sum();
                if let Some(part) = pool_part(total, share, currency)? {
                    pools_part = pools_part.checked_add(part)?;
                }
            }
            let expected = money_of(spend, currency)?.checked_add(pools_part)?;
            let budget = g.quarters.get(q).map(|b| Money::new(*b, currency));
            rows.push(GroupQuarterRow {
                group: g.name.clone(),
                quarter: q.to_string(),
                expected_spend: expected,
                variance: match budget {
                    Some(b) => Some(b.checked_sub(expected)?),
                    None => None,
                },
                over_budget: budget.is_some_and(|b| expected.amount() > b.amount()),
                budget,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
#[path = "quarters_tests.rs"]
mod tests;
