//! The policy backtest (`capplan backtest-plan`), the product's own check of its advice: at
//! past decision dates, forecast from the history before the date ([`backtest_policy`]), plan,
//! and apply the purchases a plan (and the baselines) made to what actually happened after it
//! ([`realised`]). Savings captured = realised savings ÷ hindsight savings.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::portfolio::{offer_choices, series_in_pool};
use super::{
    Demand, FinanceParams, Levels, PlanError, PlanOptions, PoolProblem, Portfolio, Pricing, Risk,
    optimize,
};
use super::{PortfolioSettings, plan_portfolio_from_history};
use crate::forecast::SeriesError;
use crate::money::Money;
use crate::pricing::{Inventory, RateCard};
use crate::progress::Progress;
use crate::series::UsageSeries;

/// What one pool's purchases cost on the actual demand after the decision date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealisedPool {
    /// Pool id.
    pub pool: String,
    /// Hours evaluated.
    pub hours: usize,
    /// Everything on demand.
    pub on_demand: Money,
    /// capplan's purchases + on-demand for the rest.
    pub capplan: Money,
    /// The lookback rules' purchases (name, cost).
    pub lookback: Vec<(String, Money)>,
    /// The hindsight optimum (the optimizer run on the actual demand).
    pub hindsight: Money,
}

impl RealisedPool {
    /// Realised savings of capplan ÷ hindsight savings (`None` when hindsight saves nothing).
    pub fn savings_captured(&self) -> Option<f64> {
        let h = (self.on_demand.amount() - self.hindsight.amount())
            .to_string()
            .parse::<f64>()
            .ok()?;
        let c = (self.on_demand.amount() - self.capplan.amount())
            .to_string()
            .parse::<f64>()
            .ok()?;
        (h > 0.0).then(|| c / h)
    }

    /// The realised cost of the lookback baseline `name` (e.g. `lookback 30d`), if planned.
    pub fn lookback_cost(&self, name: &str) -> Option<Money> {
        self.lookback
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| *m)
    }
}

/// Apply `portfolio` (planned at `start` over `hours`) to the actual usage `actuals` (hourly
/// series covering `[start, start + hours)`).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] when the actual series do not cover the window, or the pool's
/// offers cannot be read.
pub fn realised(
    card: &RateCard,
    inventory: &Inventory,
    portfolio: &Portfolio,
    actuals: &[UsageSeries],
    start: chrono::DateTime<chrono::Utc>,
    hours: usize,
    finance: &FinanceParams,
) -> Result<Vec<RealisedPool>, PlanError> {
    let mut out = Vec::new();
    for r in &portfolio.pools {
        let Some(pool) = card.pool(&r.pool) else {
            return Err(PlanError::InvalidInput(format!(
                "pool {} is not in the rate card",
                r.pool
            )));
        };
        let mut demand = vec![0.0; hours];
        for s in series_in_pool(pool, actuals) {
            let off = (start - s.start).num_hours();
            if off < 0 || off as usize + hours > s.values.len() {
                return Err(PlanError::InvalidInput(format!(
                    "series {} does not cover the {hours} hours after {start}",
                    s.key
                )));
            }
            for (t, d) in demand.iter_mut().enumerate() {
                *d += pool.to_pool_units(s.values[off as usize + t]);
            }
        }
        let existing = inventory.coverage(pool.id(), start, hours);
        let (offers, _) = offer_choices(card, pool, finance.annual_cost_of_capital)?;
        let pricing = Pricing {
            currency: pool.currency(),
            on_demand_hourly: pool.on_demand_rate(),
            offers,
        };
        let actual = Demand::single(demand);
        let problem = PoolProblem::new(&actual, &existing, &pricing)?;
        let levels = Levels {
            three_year: r.plan.three_year,
            one_year: r.plan.one_year.clone(),
        };
        let mine = problem.evaluate(Risk::Balanced, &levels, finance)?;
        let mut lookback = Vec::new();
        for b in &r.baselines {
            if let Some(rec) = &b.recommendation {
                let l = problem.levels_for_lookback(rec, true)?;
                let e = problem.evaluate(Risk::Balanced, &l, finance)?;
                lookback.push((b.name.clone(), e.expected_cost));
            }
        }
        let whole_units = r.plan.purchases.iter().all(|p| p.quantity.fract() == 0.0);
        let best = optimize(
            &actual,
            &existing,
            &pricing,
            &PlanOptions {
                risk: Risk::Balanced,
                whole_units,
                finance: finance.clone(),
            },
        )?;
        out.push(RealisedPool {
            pool: r.pool.clone(),
            hours,
            on_demand: mine.on_demand_cost,
            capplan: mine.expected_cost,
            lookback,
            hindsight: best.expected_cost,
        });
    }
    Ok(out)
}

/// Days of history a default decision date needs before it.
pub const MIN_HISTORY_DAYS: i64 = 180;

/// The lookback rule the policy backtest compares with.
pub const LOOKBACK_30D: &str = "lookback 30d";

/// How a policy backtest decides and evaluates.
#[derive(Debug, Clone, Default)]
pub struct PolicySettings {
    /// Evaluation window after each decision, in hours (the data must cover it).
    pub hours: usize,
    /// Decision dates (UTC midnight). Empty: every quarter start with [`MIN_HISTORY_DAYS`] of
    /// history before it and `hours` of data after it.
    pub decisions: Vec<NaiveDate>,
    /// How each decision plans; its cost of capital also discounts the realised figures.
    pub portfolio: PortfolioSettings,
}

/// One decision date and what its purchases cost on what actually happened after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The decision date (`YYYY-MM-DD`).
    pub date: String,
    /// The realised costs per planned pool.
    pub pools: Vec<RealisedPool>,
}

/// Realised costs summed over every decision and pool (amounts in the pools' currencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PolicyTotals {
    /// Everything on demand.
    pub on_demand: Decimal,
    /// capplan's purchases.
    pub capplan: Decimal,
    /// The 30-day lookback rule (on demand where it was not planned).
    pub lookback_30d: Decimal,
    /// The hindsight optimum.
    pub hindsight: Decimal,
}

impl PolicyTotals {
    /// Savings of capplan ÷ savings of the hindsight optimum, to 4 places (`None` when
    /// hindsight saves nothing).
    pub fn savings_captured(&self) -> Option<Decimal> {
        let best = self.on_demand - self.hindsight;
        (best > Decimal::ZERO).then(|| ((self.on_demand - self.capplan) / best).round_dp(4))
    }
}

/// The result of [`backtest_policy`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyBacktest {
    /// Per decision date, in the order decided.
    pub decisions: Vec<Decision>,
    /// Sums over all decisions and pools.
    pub totals: PolicyTotals,
}

/// Errors of [`backtest_policy`] and [`history_before`].
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// No default decision date has enough history before it and data after it.
    #[error(
        "no decision date has {MIN_HISTORY_DAYS} days of history before it and {hours} hours of data after it"
    )]
    NoDecisionDate {
        /// The evaluation window, in hours.
        hours: usize,
    },
    /// The data does not reach the date (it ends earlier or starts later).
    #[error("{date}: the data must reach that date (it ends earlier or starts later)")]
    NoHistory {
        /// The date.
        date: NaiveDate,
    },
    /// The data ends before the decision date plus the evaluation window.
    #[error("{date}: the data ends before {date} + {hours} hours")]
    NoActuals {
        /// The decision date.
        date: NaiveDate,
        /// The evaluation window, in hours.
        hours: usize,
    },
    /// Forecasting a series failed.
    #[error(transparent)]
    Forecast(#[from] SeriesError),
    /// Planning or evaluating failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// The hourly series cut at `date` (UTC midnight; the history strictly before it).
///
/// # Errors
///
/// [`PolicyError::NoHistory`] when no series has data before the date or one ends before it.
pub fn history_before(
    series: &[UsageSeries],
    date: NaiveDate,
) -> Result<Vec<UsageSeries>, PolicyError> {
    let cut = midnight(date);
    let mut out: Vec<UsageSeries> = series.to_vec();
    for s in &mut out {
        let keep = (cut - s.start).num_hours().clamp(0, s.values.len() as i64) as usize;
        s.values.truncate(keep);
        if let Some(c) = s.cost.as_mut() {
            c.truncate(keep);
        }
    }
    out.retain(|s| !s.values.is_empty());
    if out.is_empty() || out.iter().any(|s| s.time_at(s.values.len()) < cut) {
        return Err(PolicyError::NoHistory { date });
    }
    Ok(out)
}

/// Quarter starts with [`MIN_HISTORY_DAYS`] of history before them and `hours` of data after.
fn default_dates(series: &[UsageSeries], hours: usize) -> Vec<NaiveDate> {
    let (Some(start), Some(end)) = (
        series.iter().map(|s| s.start).min(),
        series.iter().map(|s| s.time_at(s.values.len())).max(),
    ) else {
        return Vec::new();
    };
    let mut d = NaiveDate::from_ymd_opt(start.year(), 1, 1).expect("valid");
    let mut v = Vec::new();
    while midnight(d) + chrono::Duration::hours(hours as i64) <= end {
        if midnight(d) - start >= chrono::Duration::days(MIN_HISTORY_DAYS) {
            v.push(d);
        }
        d = d
            .checked_add_months(chrono::Months::new(3))
            .expect("in range");
    }
    v
}

/// What capplan decides at `date` from the `history` before it: the portfolio its purchases
/// are realised from (decided on the long-run level model of each pool's history; no hourly
/// forecasts, no events: only what was known then).
fn decide(
    card: &RateCard,
    inventory: &Inventory,
    history: &[UsageSeries],
    date: NaiveDate,
    settings: &PolicySettings,
    _progress: &dyn Progress,
) -> Result<Portfolio, PolicyError> {
    Ok(plan_portfolio_from_history(
        card,
        inventory,
        history,
        midnight(date),
        settings.hours,
        &settings.portfolio,
    )?)
}

/// The policy backtest: at each decision date, plan the portfolio with `settings.portfolio`
/// from the hourly `series` before the date (the long-run level model of each pool's
/// history, as [`plan_portfolio_from_history`]; one progress step per date), and apply its purchases (and the baselines', and the hindsight
/// optimum's) to the actual usage of the `settings.hours` after the date.
///
/// # Errors
///
/// [`PolicyError::NoDecisionDate`] when `settings.decisions` is empty and no default date
/// fits; [`PolicyError::NoHistory`] / [`PolicyError::NoActuals`] when the data does not reach
/// a decision date or its evaluation window (checked date by date, in order); forecasting and
/// planning errors.
pub fn backtest_policy(
    card: &RateCard,
    inventory: &Inventory,
    series: &[UsageSeries],
    settings: &PolicySettings,
    progress: &dyn Progress,
) -> Result<PolicyBacktest, PolicyError> {
    let hours = settings.hours;
    let dates = if settings.decisions.is_empty() {
        default_dates(series, hours)
    } else {
        settings.decisions.clone()
    };
    if dates.is_empty() {
        return Err(PolicyError::NoDecisionDate { hours });
    }
    let end = series.iter().map(|s| s.time_at(s.values.len())).max();
    let mut decisions = Vec::new();
    progress.start("deciding at past dates", dates.len());
    for &date in &dates {
        let history = history_before(series, date)?;
        let t0 = midnight(date);
        if end.is_none_or(|end| t0 + chrono::Duration::hours(hours as i64) > end) {
            return Err(PolicyError::NoActuals { date, hours });
        }
        let portfolio = decide(card, inventory, &history, date, settings, progress)?;
        let finance = FinanceParams {
            annual_cost_of_capital: settings.portfolio.cost_of_capital,
            start: Some(t0.naive_utc()),
        };
        let pools = realised(card, inventory, &portfolio, series, t0, hours, &finance)?;
        decisions.push(Decision {
            date: date.to_string(),
            pools,
        });
        progress.inc();
    }
    progress.finish();
    let mut totals = PolicyTotals::default();
    for p in decisions.iter().flat_map(|d| &d.pools) {
        totals.on_demand += p.on_demand.amount();
        totals.capplan += p.capplan.amount();
        totals.lookback_30d += p
            .lookback_cost(LOOKBACK_30D)
            .map_or(p.on_demand.amount(), |m| m.amount());
        totals.hindsight += p.hindsight.amount();
    }
    Ok(PolicyBacktest { decisions, totals })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::progress::NoProgress;
    use crate::series::{Granularity, SeriesKey};

    const CARD: &str = r#"
[[pool]]
id = "small"
match = { service = "Compute" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.10"
currency = "USD"
offer = [ { id = "small-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.065" } ]
"#;

    /// 24 days of hourly usage from 2026-03-01: a base of 10 with a daily cycle.
    fn usage() -> Vec<UsageSeries> {
        let values = (0..24 * 24)
            .map(|h| {
                10.0 + if (9..18).contains(&(h % 24)) {
                    4.0
                } else {
                    0.0
                }
            })
            .collect();
        vec![UsageSeries {
            key: SeriesKey(vec![("service".into(), "Compute".into())]),
            unit: "Hours".into(),
            granularity: Granularity::Hour,
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            values,
            cost: None,
            gaps_filled: 0,
        }]
    }

    fn settings(decisions: Vec<NaiveDate>) -> PolicySettings {
        PolicySettings {
            hours: 7 * 24,
            decisions,
            portfolio: PortfolioSettings {
                paths: 20,
                ..PortfolioSettings::default()
            },
        }
    }

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn history_before_keeps_the_hours_before_the_date() {
        let cut = history_before(&usage(), date(15)).unwrap();
        assert_eq!(cut[0].values.len(), 14 * 24);
        assert!(matches!(
            history_before(&usage(), date(1)),
            Err(PolicyError::NoHistory { .. })
        ));
        let late = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        assert!(matches!(
            history_before(&usage(), late),
            Err(PolicyError::NoHistory { .. })
        ));
    }

    #[test]
    fn dates_the_data_cannot_serve_are_errors() {
        let card = RateCard::from_toml_str(CARD, "rates.toml").unwrap();
        let inv = Inventory::default();
        let err = backtest_policy(&card, &inv, &usage(), &settings(vec![]), &NoProgress);
        assert!(matches!(
            err,
            Err(PolicyError::NoDecisionDate { hours: 168 })
        ));
        let err = backtest_policy(
            &card,
            &inv,
            &usage(),
            &settings(vec![date(20)]),
            &NoProgress,
        );
        assert!(matches!(err, Err(PolicyError::NoActuals { .. })));
    }

    #[test]
    fn a_decision_is_realised_on_the_actual_week() {
        let card = RateCard::from_toml_str(CARD, "rates.toml").unwrap();
        let series = usage();
        let r = backtest_policy(
            &card,
            &Inventory::default(),
            &series,
            &settings(vec![date(15)]),
            &NoProgress,
        )
        .unwrap();
        assert_eq!(r.decisions.len(), 1);
        assert_eq!(r.decisions[0].date, "2026-03-15");
        let pools = &r.decisions[0].pools;
        assert_eq!(pools.len(), 1);
        let p = &pools[0];
        assert_eq!((p.pool.as_str(), p.hours), ("small", 168));
        // Everything on demand: 7 days of (24 h x 10 + 9 h x 4) = 1,932 unit-hours at 0.10.
        assert_eq!(p.on_demand.amount(), Decimal::new(1932, 1));
        assert!(p.hindsight.amount() <= p.on_demand.amount());
        assert!(p.hindsight.amount() <= p.capplan.amount());
        let t = r.totals;
        assert_eq!(t.on_demand, p.on_demand.amount());
        assert_eq!(t.capplan, p.capplan.amount());
        assert_eq!(t.hindsight, p.hindsight.amount());
        assert_eq!(
            t.lookback_30d,
            p.lookback_cost(LOOKBACK_30D)
                .map_or(p.on_demand.amount(), |m| m.amount())
        );
    }
}
