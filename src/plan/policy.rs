//! The policy backtest (`capplan backtest-plan`), the product's own check of its advice: at
//! past decision dates, forecast from the history before the date ([`backtest_policy`]), plan,
//! and apply the purchases a plan (and the baselines) made to what actually happened after it
//! ([`realised`]). Savings captured = realised savings ÷ hindsight savings.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::portfolio::{offer_choices, series_in_pool};
use super::strategy::{self, PoolContext, SharedPlans, Strategy, StrategyError};
use super::{
    Demand, FinanceParams, LadderSettings, Levels, PlanError, PlanOptions, PoolProblem, PoolResult,
    Portfolio, Pricing, Risk, ScheduledPurchase, evaluate_schedule, optimize,
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
    /// The replayed strategies of [`PolicySettings::strategies`] (name, cost), in their order.
    pub strategies: Vec<(String, Money)>,
    /// The decision's forecast of the term-average demand (units per hour over the evaluated
    /// hours): 10th, 50th and 90th percentile of its sample paths' means (`None` when the
    /// decision had no long-run level model).
    pub planned_term_average: Option<[f64; 3]>,
    /// The demand's actual average over the evaluated hours (units per hour).
    pub actual_term_average: f64,
    /// Why the decision bought what it bought (the sizing rationale).
    pub rationale: String,
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
        let demand = actual_demand(pool, actuals, start, hours)?;
        out.push(realise_pool(
            card,
            inventory,
            pool,
            Some(r),
            demand,
            start,
            finance,
        )?);
    }
    // A pool the decision could not plan (no history yet) bought nothing; where its series
    // cover the window and it had demand, it is realised so that nothing is left out of the
    // totals (every policy is on demand there; the hindsight optimum may buy).
    for s in &portfolio.skipped {
        let Some(pool) = card.pool(&s.pool) else {
            continue;
        };
        let Ok(demand) = actual_demand(pool, actuals, start, hours) else {
            continue;
        };
        if demand.iter().any(|d| *d > 0.0) {
            let mut r = realise_pool(card, inventory, pool, None, demand, start, finance)?;
            r.rationale = format!("Not planned at the decision date: {}.", s.reason);
            out.push(r);
        }
    }
    Ok(out)
}

/// One pool realised on its actual `demand` from `start`: the decision `r`'s levels and
/// lookback recommendations (nothing bought without a decision), and the hindsight optimum.
fn realise_pool(
    card: &RateCard,
    inventory: &Inventory,
    pool: &crate::pricing::Pool,
    r: Option<&PoolResult>,
    demand: Vec<f64>,
    start: chrono::DateTime<chrono::Utc>,
    finance: &FinanceParams,
) -> Result<RealisedPool, PlanError> {
    let hours = demand.len();
    let existing = inventory.coverage(pool.id(), start, hours);
    let (offers, _) = offer_choices(card, pool, finance.annual_cost_of_capital)?;
    let pricing = Pricing {
        currency: pool.currency(),
        on_demand_hourly: pool.on_demand_rate(),
        offers,
    };
    let actual_term_average = if demand.is_empty() {
        0.0
    } else {
        demand.iter().sum::<f64>() / demand.len() as f64
    };
    let actual = Demand::single(demand);
    let problem = PoolProblem::new(&actual, &existing, &pricing)?;
    let whole_units = r.is_none_or(|r| r.plan.purchases.iter().all(|p| p.quantity.fract() == 0.0));
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
    let levels = match r {
        Some(r) => Levels {
            three_year: r.plan.three_year,
            one_year: r.plan.one_year.clone(),
        },
        None => Levels {
            three_year: 0.0,
            one_year: vec![0.0; best.one_year.len()],
        },
    };
    let mine = problem.evaluate(Risk::Balanced, &levels, finance)?;
    let mut lookback = Vec::new();
    for b in r.map_or(&[][..], |r| r.baselines.as_slice()) {
        if let Some(rec) = &b.recommendation {
            let l = problem.levels_for_lookback(rec, true)?;
            let e = problem.evaluate(Risk::Balanced, &l, finance)?;
            lookback.push((b.name.clone(), e.expected_cost));
        }
    }
    Ok(RealisedPool {
        pool: pool.id().to_owned(),
        hours,
        on_demand: mine.on_demand_cost,
        capplan: mine.expected_cost,
        lookback,
        hindsight: best.expected_cost,
        strategies: Vec::new(),
        planned_term_average: r.and_then(|r| r.sizing.evidence.as_ref().map(|e| e.term_average)),
        actual_term_average,
        rationale: r.map_or_else(String::new, |r| r.sizing.rationale.clone()),
    })
}

/// The actual demand of `pool` (pool units per hour) over `[start, start + hours)`.
fn actual_demand(
    pool: &crate::pricing::Pool,
    actuals: &[UsageSeries],
    start: DateTime<Utc>,
    hours: usize,
) -> Result<Vec<f64>, PlanError> {
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
            *d += pool.to_pool_units_of(&s.key, s.values[off as usize + t]);
        }
    }
    Ok(demand)
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
    /// Strategies replayed at each decision beside capplan's plan (a plan file's
    /// `[[scenario.strategy]]`), see [`replay_strategies`].
    pub strategies: Vec<PolicyStrategy>,
    /// The date a listed purchase's date counts from (a plan file's `as_of`): replayed at a
    /// decision date, each purchase is bought as long after that date. `None`: the list's
    /// earliest date.
    pub list_anchor: Option<NaiveDate>,
}

/// A named strategy the policy backtest replays.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyStrategy {
    /// Its name (a plan file's strategy name).
    pub name: String,
    /// What it buys.
    pub strategy: Strategy,
}

/// One decision date and what its purchases cost on what actually happened after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The decision date (`YYYY-MM-DD`).
    pub date: String,
    /// The realised costs per planned pool.
    pub pools: Vec<RealisedPool>,
    /// Spend-based pools (Savings Plans) decided at the date on top of the RI plan and
    /// realised on the spend that followed (the reservation pools' usage in money).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spend: Vec<super::spend::SpendRealised>,
}

/// One alternative's realised cost summed over every decision and pool: a lookback rule or a
/// replayed strategy, beside capplan's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTotals {
    /// `lookback 30d`, or the strategy's name.
    pub name: String,
    /// Its realised cost (on demand in a pool where a rule was not planned).
    pub cost: Decimal,
    /// Everything on demand − `cost`.
    pub savings: Decimal,
    /// `savings` ÷ the hindsight optimum's savings, to 4 places (`None` when hindsight saves
    /// nothing).
    pub captured: Option<Decimal>,
    /// `cost` − capplan's cost: what capplan saved over it (positive = capplan better).
    pub margin: Decimal,
}

/// Realised costs summed over every decision and pool (amounts in the pools' currencies).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PolicyTotals {
    /// Everything on demand.
    pub on_demand: Decimal,
    /// capplan's purchases.
    pub capplan: Decimal,
    /// Savings of capplan ÷ savings of the hindsight optimum, to 4 places (see
    /// [`PolicyTotals::savings_captured`]).
    pub captured: Option<Decimal>,
    /// The hindsight optimum.
    pub hindsight: Decimal,
    /// Every lookback rule, in the order first met (7, 30, 60 days).
    pub lookback: Vec<RuleTotals>,
    /// Every replayed strategy, in [`PolicySettings::strategies`] order.
    pub strategies: Vec<RuleTotals>,
}

/// `(on_demand − cost) ÷ (on_demand − hindsight)` to 4 places; `None` when hindsight saves
/// nothing.
fn captured(on_demand: Decimal, cost: Decimal, hindsight: Decimal) -> Option<Decimal> {
    let best = on_demand.checked_sub(hindsight)?;
    if best <= Decimal::ZERO {
        return None;
    }
    on_demand
        .checked_sub(cost)?
        .checked_div(best)
        .map(|c| c.round_dp(4))
}

impl PolicyTotals {
    /// Sums `decisions`: a lookback rule a pool did not plan counts as on demand there.
    pub fn of(decisions: &[Decision]) -> PolicyTotals {
        let pools: Vec<&RealisedPool> = decisions.iter().flat_map(|d| &d.pools).collect();
        let sum = |f: &dyn Fn(&RealisedPool) -> Decimal| {
            pools
                .iter()
                .fold(Decimal::ZERO, |a, p| a.saturating_add(f(p)))
        };
        let on_demand = sum(&|p| p.on_demand.amount());
        let capplan = sum(&|p| p.capplan.amount());
        let hindsight = sum(&|p| p.hindsight.amount());
        let rules = |get: &dyn Fn(&RealisedPool) -> &[(String, Money)]| -> Vec<RuleTotals> {
            let mut names: Vec<&String> = Vec::new();
            for (n, _) in pools.iter().flat_map(|p| get(p)) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            names
                .into_iter()
                .map(|name| {
                    let cost = sum(&|p| {
                        get(p)
                            .iter()
                            .find(|(n, _)| n == name)
                            .map_or(p.on_demand.amount(), |(_, m)| m.amount())
                    });
                    RuleTotals {
                        name: name.clone(),
                        cost,
                        savings: on_demand.saturating_sub(cost),
                        captured: captured(on_demand, cost, hindsight),
                        margin: cost.saturating_sub(capplan),
                    }
                })
                .collect()
        };
        PolicyTotals {
            on_demand,
            capplan,
            captured: captured(on_demand, capplan, hindsight),
            hindsight,
            lookback: rules(&|p| p.lookback.as_slice()),
            strategies: rules(&|p| p.strategies.as_slice()),
        }
    }

    /// Savings of capplan ÷ savings of the hindsight optimum, to 4 places (`None` when
    /// hindsight saves nothing).
    pub fn savings_captured(&self) -> Option<Decimal> {
        captured(self.on_demand, self.capplan, self.hindsight)
    }

    /// The totals of the lookback rule `name` (e.g. [`LOOKBACK_30D`]).
    pub fn rule(&self, name: &str) -> Option<&RuleTotals> {
        self.lookback.iter().find(|r| r.name == name)
    }

    /// The totals of the replayed strategy `name`.
    pub fn strategy(&self, name: &str) -> Option<&RuleTotals> {
        self.strategies.iter().find(|r| r.name == name)
    }
}

/// The result of [`backtest_policy`] (serialised as `{"totals": …, "decisions": […]}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyBacktest {
    /// Sums over all decisions and pools.
    pub totals: PolicyTotals,
    /// Per decision date, in the order decided.
    pub decisions: Vec<Decision>,
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
    /// A replayed strategy could not be decided (a listed purchase the card lacks).
    #[error(transparent)]
    Strategy(#[from] StrategyError),
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
    let settings = &with_strategy_lookbacks(settings);
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
        let mut pools = realised(card, inventory, &portfolio, series, t0, hours, &finance)?;
        if !settings.strategies.is_empty() {
            let bought = replay_strategies(
                card, inventory, &history, date, settings, &portfolio, progress,
            )?;
            let names: Vec<&str> = settings
                .strategies
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            realise_strategies(
                card,
                inventory,
                &mut pools,
                (&names, &bought),
                series,
                t0,
                &finance,
            )?;
        }
        let (new, caps) = super::spend::ri_plan_of(&portfolio);
        let mut spend = Vec::new();
        for sp in card.pools().iter().filter(|p| p.is_spend_pool()) {
            if let Some(r) = super::spend::realise_spend_decision(
                card,
                inventory,
                sp,
                &history,
                series,
                t0,
                hours,
                (&new, &caps),
                settings.portfolio.paths,
                settings.portfolio.seed,
                settings.portfolio.cost_of_capital,
            )? {
                spend.push(r);
            }
        }
        decisions.push(Decision {
            date: date.to_string(),
            pools,
            spend,
        });
        progress.inc();
    }
    progress.finish();
    Ok(PolicyBacktest {
        totals: PolicyTotals::of(&decisions),
        decisions,
    })
}

/// `settings` with every lookback window its strategies replay among the baselines.
fn with_strategy_lookbacks(settings: &PolicySettings) -> PolicySettings {
    let kinds: Vec<Strategy> = settings
        .strategies
        .iter()
        .map(|s| s.strategy.clone())
        .collect();
    let mut out = settings.clone();
    let mut days = settings.portfolio.lookback_days.clone();
    days.extend(strategy::lookback_days(&kinds));
    days.sort_unstable();
    days.dedup();
    out.portfolio.lookback_days = days;
    out
}

/// What every strategy of `settings` buys at `date`, per pool of `portfolio` (the plan
/// [`decide`] made there), in pool then strategy order: each is decided by
/// [`strategy::decide`] on that plan. A `recommended` strategy with the portfolio's own risk
/// and ladder takes its plan; another risk or ladder is decided again ([`decide`] with that
/// setting, once per setting and date). `lookback` strategies buy what the portfolio's
/// baselines recommend. `coverage` strategies take the plan's expected demand: its mean
/// residual (the plan's all-on-demand cost ÷ the on-demand rate) plus the existing
/// commitments, hour by hour. Listed purchases are moved to the decision date (see
/// [`PolicySettings::list_anchor`]); purchases after the evaluation window are left out.
#[allow(clippy::too_many_arguments)]
fn replay_strategies(
    card: &RateCard,
    inventory: &Inventory,
    history: &[UsageSeries],
    date: NaiveDate,
    settings: &PolicySettings,
    portfolio: &Portfolio,
    progress: &dyn Progress,
) -> Result<Vec<Vec<Vec<ScheduledPurchase>>>, PolicyError> {
    let (hours, t0) = (settings.hours, midnight(date));
    let strategies: Vec<Strategy> = settings
        .strategies
        .iter()
        .map(|s| moved_to(&s.strategy, date, settings.list_anchor))
        .collect();
    let mut others: Vec<(Risk, Option<LadderSettings>, Portfolio)> = Vec::new();
    let mut out = Vec::new();
    for r in &portfolio.pools {
        let pool = card
            .pool(&r.pool)
            .ok_or_else(|| PlanError::InvalidInput(format!("pool {} vanished", r.pool)))?;
        let (choices, _) = offer_choices(card, pool, settings.portfolio.cost_of_capital)?;
        let existing = inventory.coverage(pool.id(), t0, hours);
        let demand = expected_demand(r, pool.on_demand_rate(), &existing);
        let ctx = PoolContext {
            card,
            pool,
            choices: &choices,
            demand: &demand,
            existing: &existing,
            start: t0,
            horizon_hours: hours,
        };
        let mut plan_with =
            |risk: Risk, ladder: Option<LadderSettings>| -> Result<PoolResult, PolicyError> {
                if risk == settings.portfolio.risk && ladder == settings.portfolio.ladder {
                    return Ok(r.clone());
                }
                let i = match others
                    .iter()
                    .position(|(k, l, _)| *k == risk && *l == ladder)
                {
                    Some(i) => i,
                    None => {
                        let mut s = settings.clone();
                        s.portfolio.risk = risk;
                        s.portfolio.ladder = ladder.clone();
                        let p = decide(card, inventory, history, date, &s, progress)?;
                        others.push((risk, ladder, p));
                        others.len() - 1
                    }
                };
                others[i]
                    .2
                    .pools
                    .iter()
                    .find(|q| q.pool == r.pool)
                    .cloned()
                    .ok_or_else(|| {
                        PolicyError::Plan(PlanError::InvalidInput(format!(
                            "pool {} is not planned under risk {risk:?}",
                            r.pool
                        )))
                    })
            };
        let mut plans = SharedPlans {
            primary: None,
            baseline: Some(r.clone()),
        };
        let mut per_pool = Vec::new();
        for s in &strategies {
            let d = strategy::decide::<PolicyError>(s, &ctx, &mut plans, &mut plan_with)?;
            per_pool.push(
                d.purchases
                    .into_iter()
                    .filter(|p| p.start_hour < hours)
                    .collect(),
            );
        }
        out.push(per_pool);
    }
    Ok(out)
}

/// The plan's expected demand as one path: the mean residual demand of the plan (its
/// all-on-demand cost ÷ the on-demand rate ÷ the hours) on top of the existing commitments.
fn expected_demand(r: &PoolResult, on_demand_hourly: Decimal, existing: &[f64]) -> Demand {
    let hours = existing.len().max(1);
    let mean = r
        .plan
        .on_demand_cost
        .amount()
        .checked_div(on_demand_hourly)
        .and_then(|u| u.checked_div(Decimal::from(hours)))
        .and_then(|u| u.to_string().parse::<f64>().ok())
        .filter(|u| u.is_finite() && *u >= 0.0)
        .unwrap_or(0.0);
    Demand::single(existing.iter().map(|e| mean + e).collect())
}

/// `strategy` with its listed purchases moved from `anchor` (default: the list's earliest
/// date) to `date`; other strategies as they are.
fn moved_to(strategy: &Strategy, date: NaiveDate, anchor: Option<NaiveDate>) -> Strategy {
    let Strategy::Purchases(list) = strategy else {
        return strategy.clone();
    };
    let Some(anchor) = anchor.or_else(|| list.iter().map(|p| p.date).min()) else {
        return strategy.clone();
    };
    let shift = date - anchor;
    Strategy::Purchases(
        list.iter()
            .filter_map(|p| {
                let mut p = p.clone();
                p.date = p.date.checked_add_signed(shift)?;
                Some(p)
            })
            .collect(),
    )
}

/// Realises the strategies' purchases (their names and `bought[pool][strategy]`, as
/// [`replay_strategies`] returns them) on the actual usage after `start`, into each pool's
/// `strategies`.
fn realise_strategies(
    card: &RateCard,
    inventory: &Inventory,
    pools: &mut [RealisedPool],
    (names, bought): (&[&str], &[Vec<Vec<ScheduledPurchase>>]),
    actuals: &[UsageSeries],
    start: DateTime<Utc>,
    finance: &FinanceParams,
) -> Result<(), PolicyError> {
    for (p, bought) in pools.iter_mut().zip(bought) {
        let pool = card
            .pool(&p.pool)
            .ok_or_else(|| PlanError::InvalidInput(format!("pool {} vanished", p.pool)))?;
        let actual = Demand::single(actual_demand(pool, actuals, start, p.hours)?);
        let existing = inventory.coverage(pool.id(), start, p.hours);
        p.strategies = Vec::new();
        for (name, purchases) in names.iter().zip(bought) {
            let o = evaluate_schedule(
                &actual,
                &existing,
                pool.on_demand_rate(),
                pool.currency(),
                purchases,
                &[],
                finance,
            )?;
            p.strategies.push(((*name).to_owned(), o.expected_cost));
        }
    }
    Ok(())
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
            ..PolicySettings::default()
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
        let t = &r.totals;
        assert_eq!(t.on_demand, p.on_demand.amount());
        assert_eq!(t.capplan, p.capplan.amount());
        assert_eq!(t.hindsight, p.hindsight.amount());
        let lb30 = p
            .lookback_cost(LOOKBACK_30D)
            .map_or(p.on_demand.amount(), |m| m.amount());
        let rule = t.rule(LOOKBACK_30D).expect("the 30-day rule is planned");
        assert_eq!(rule.cost, lb30);
        assert_eq!(rule.margin, lb30 - t.capplan);
        assert_eq!(rule.savings, t.on_demand - lb30);
        assert_eq!(t.captured, t.savings_captured());
        let names: Vec<&str> = t.lookback.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["lookback 7d", "lookback 30d", "lookback 60d"]);
        assert!(t.strategies.is_empty());
    }

    #[test]
    fn strategies_are_replayed_on_the_plan_and_realised_on_the_actuals() {
        use crate::plan::strategy::ListedPurchase;
        let card = RateCard::from_toml_str(CARD, "rates.toml").unwrap();
        let mut s = settings(vec![date(15)]);
        let strategy = |name: &str, strategy| PolicyStrategy {
            name: name.into(),
            strategy,
        };
        s.strategies = vec![
            strategy("none", Strategy::None),
            strategy(
                "recommended",
                Strategy::Recommended {
                    risk: Risk::Balanced,
                    ladder: None,
                },
            ),
            strategy(
                "careful",
                Strategy::Recommended {
                    risk: Risk::CONSERVATIVE,
                    ladder: None,
                },
            ),
            strategy(
                "cover",
                Strategy::Coverage {
                    percent: Decimal::from(50),
                    term: crate::pricing::Term::OneYear,
                },
            ),
            strategy("lb30", Strategy::Lookback { days: 30 }),
            // Listed for as_of 2026-03-01 + 1 day: bought one day after the decision date.
            strategy(
                "list",
                Strategy::Purchases(vec![ListedPurchase {
                    pool: "small".into(),
                    offer: "small-1y".into(),
                    quantity: 5.0,
                    date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    line: 1,
                }]),
            ),
        ];
        s.list_anchor = NaiveDate::from_ymd_opt(2026, 3, 1);
        let r = backtest_policy(&card, &Inventory::default(), &usage(), &s, &NoProgress).unwrap();
        let again =
            backtest_policy(&card, &Inventory::default(), &usage(), &s, &NoProgress).unwrap();
        assert_eq!(r, again, "deterministic");
        let p = &r.decisions[0].pools[0];
        let cost = |name: &str| {
            p.strategies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, m)| m.amount())
                .unwrap()
        };
        let names: Vec<&str> = p.strategies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["none", "recommended", "careful", "cover", "lb30", "list"]
        );
        assert_eq!(cost("none"), p.on_demand.amount());
        assert_eq!(cost("recommended"), p.capplan.amount());
        assert_eq!(
            cost("lb30"),
            p.lookback_cost(LOOKBACK_30D).unwrap().amount()
        );
        for n in ["careful", "cover", "list"] {
            assert!(cost(n) >= p.hindsight.amount(), "{n}");
        }
        // 5 units bought at hour 24: the 1y term is paid in full (8,760 h x 0.065 x 5), the
        // first day and the demand above 5 units are on demand.
        assert!(cost("list") > Decimal::new(2847, 0), "{}", cost("list"));
        let t = &r.totals;
        assert_eq!(t.strategies.len(), 6);
        let rec = t.strategy("recommended").unwrap();
        assert_eq!((rec.cost, rec.margin), (t.capplan, Decimal::ZERO));
        assert_eq!(rec.captured, t.captured);
    }

    fn money(cents: i64) -> Money {
        Money::new(
            Decimal::new(cents, 2),
            crate::money::Currency::new("USD").unwrap(),
        )
    }

    fn pool(on_demand: i64, capplan: i64, hindsight: i64, rules: &[(&str, i64)]) -> RealisedPool {
        RealisedPool {
            pool: "p".into(),
            hours: 1,
            on_demand: money(on_demand),
            capplan: money(capplan),
            lookback: rules
                .iter()
                .map(|(n, c)| ((*n).into(), money(*c)))
                .collect(),
            hindsight: money(hindsight),
            strategies: vec![("cover".into(), money(capplan + 100))],
            planned_term_average: None,
            actual_term_average: 0.0,
            rationale: String::new(),
        }
    }

    #[test]
    fn totals_sum_rules_per_name_and_count_missing_rules_as_on_demand() {
        let decisions = vec![
            Decision {
                date: "2026-01-01".into(),
                pools: vec![pool(10_000, 8_000, 7_000, &[("lookback 30d", 9_000)])],
                spend: Vec::new(),
            },
            Decision {
                date: "2026-04-01".into(),
                pools: vec![pool(
                    20_000,
                    15_000,
                    14_000,
                    &[("lookback 7d", 19_000), ("lookback 30d", 16_000)],
                )],
                spend: Vec::new(),
            },
        ];
        let t = PolicyTotals::of(&decisions);
        assert_eq!(t.on_demand, Decimal::new(30_000, 2));
        assert_eq!(t.capplan, Decimal::new(23_000, 2));
        assert_eq!(t.hindsight, Decimal::new(21_000, 2));
        // 70 / 90 = 0.7778
        assert_eq!(t.captured, Some(Decimal::new(7778, 4)));
        let names: Vec<&str> = t.lookback.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["lookback 30d", "lookback 7d"]);
        let lb30 = t.rule("lookback 30d").unwrap();
        assert_eq!(lb30.cost, Decimal::new(25_000, 2));
        assert_eq!(lb30.margin, Decimal::new(2_000, 2));
        assert_eq!(lb30.captured, Some(Decimal::new(5556, 4)));
        // The 7-day rule was not planned at the first date: on demand there.
        let lb7 = t.rule("lookback 7d").unwrap();
        assert_eq!(lb7.cost, Decimal::new(29_000, 2));
        assert_eq!(lb7.margin, Decimal::new(6_000, 2));
        let cover = t.strategy("cover").unwrap();
        assert_eq!(cover.cost, Decimal::new(23_200, 2));
        assert_eq!(cover.margin, Decimal::new(200, 2));
        let none = PolicyTotals::of(&[]);
        assert_eq!(none.captured, None);
        assert!(none.lookback.is_empty());
    }
}
