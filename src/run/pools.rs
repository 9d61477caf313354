//! The pools: their usage forecast over the horizon (with the plan's events and each demand
//! scenario's extra events), and per pool the strategies decided on the base demand and
//! evaluated on every demand scenario.

use chrono::Duration;

use super::inputs::{self, Inputs, read_text};
use super::{Frame, RunError, views};
use crate::forecast::{
    self, DemandForecast, ForecastSettings, anomaly::AnomalyConfig, events::EventSet,
};
use crate::money::{Currency, Money};
use crate::plan::demand::{self, BaseDemand};
use crate::plan::strategy::{self, Decision, PoolContext, SharedPlans, Strategy, StrategyError};
use crate::plan::{
    self, FinanceParams, LadderSettings, PoolResult, PortfolioSettings, ScheduleOutcome,
    ScheduledPurchase, evaluate_schedule,
};
use crate::pricing::Pool;
use crate::progress::Progress;
use crate::report::PoolView;
use crate::series::{SeriesKey, UsageSeries};

/// The forecasts the pools are planned on.
pub(crate) struct Forecasts {
    /// The pool usage history before the plan starts (every series).
    pub(crate) history: Vec<UsageSeries>,
    /// Forecasts of the series some pool covers, with the plan's events.
    pub(crate) base: Vec<DemandForecast>,
    /// Per demand scenario: the forecasts with its extra events, if it has any.
    pub(crate) scenarios: Vec<Option<Vec<DemandForecast>>>,
    /// The plan's events (the display series get them too).
    pub(crate) event_sets: Vec<EventSet>,
}

/// A pool not planned: its id and the reason.
pub(crate) type Skipped = (String, String);

/// Everything computed for one planned pool.
pub(crate) struct PoolRun {
    pub(crate) pool_id: String,
    pub(crate) currency: Currency,
    pub(crate) result: PoolResult,
    pub(crate) view: PoolView,
    /// Per strategy: purchases (same order as the plan file's strategies).
    pub(crate) strategies: Vec<Vec<ScheduledPurchase>>,
    /// Per demand scenario, per strategy: the outcome.
    pub(crate) outcomes: Vec<Vec<ScheduleOutcome>>,
    /// Existing commitments' fees per quarter.
    pub(crate) existing_fees_quarters: Vec<Money>,
    /// Existing commitments' fees over the horizon.
    pub(crate) existing_fees_horizon: Money,
    /// Series keys of the pool with their share of the pool's p50 demand per quarter.
    pub(crate) series_shares: Vec<(SeriesKey, Vec<f64>)>,
}

/// The forecast settings of the plan file at hourly steps over the horizon.
pub(crate) fn forecast_settings(inp: &Inputs) -> Result<ForecastSettings, RunError> {
    let plan = &inp.plan;
    let mut fsettings = ForecastSettings::new(plan.horizon.steps(3600));
    fsettings.windows = plan.forecast.windows;
    fsettings.backtest_horizon = plan
        .forecast
        .backtest_horizon
        .as_ref()
        .map(|s| s.steps(3600));
    fsettings.step = plan.forecast.step.as_ref().map(|s| s.steps(3600));
    fsettings.anomalies =
        AnomalyConfig::new(plan.forecast.anomaly_threshold).map_err(|e| RunError::Input {
            file: inp.file.clone(),
            line: 0,
            message: format!("forecast.anomaly_threshold: {e}"),
        })?;
    fsettings.clean_anomalies = plan.forecast.clean_anomalies;
    fsettings.current_regime = !plan.forecast.all_history;
    Ok(fsettings)
}

/// Forecasts every series in parallel (deterministic: each forecast depends only on its
/// series), reporting progress per series.
pub(crate) fn forecast_many(
    series: &[UsageSeries],
    settings: &ForecastSettings,
    progress: &dyn Progress,
    what: &str,
) -> Result<Vec<DemandForecast>, RunError> {
    forecast::forecast_all(series, settings, progress, what).map_err(|e| RunError::Forecast {
        series: e.series,
        message: e.source.to_string(),
    })
}

/// The pool usage forecasts: base (with the plan's events) and per demand scenario with
/// extra events.
pub(crate) fn forecast_pools(
    inp: &Inputs,
    bill: &inputs::Bill,
    frame: &Frame,
    fsettings: &ForecastSettings,
    progress: &dyn Progress,
    warnings: &mut Vec<String>,
) -> Result<Forecasts, RunError> {
    let (history, pool_series) = inputs::pool_history(bill, &inp.card, frame.start);
    inp.card
        .check_disjoint(pool_series.iter().map(|s| (&s.key, s.unit.as_str())))?;
    let mut base = forecast_many(&pool_series, fsettings, progress, "forecasting pool usage")?;
    for ev in &inp.event_sets {
        let (f, w) = demand::with_events(&base, std::slice::from_ref(ev))?;
        base = f;
        warnings.extend(w);
    }
    let mut scenarios = Vec::new();
    for (d, dd) in inp.plan.demand.iter().zip(&inp.display.demand) {
        if d.events.is_empty() {
            scenarios.push(None);
            continue;
        }
        let mut f = base.clone();
        for (p, shown) in d.events.iter().zip(&dd.events) {
            let set = EventSet::from_toml_str(&read_text(p)?, &shown.display().to_string())?;
            let (g, w) = demand::with_events(&f, std::slice::from_ref(&set))?;
            f = g;
            warnings.extend(w.iter().map(|w| format!("demand scenario {}: {w}", d.name)));
        }
        scenarios.push(Some(f));
    }
    Ok(Forecasts {
        history,
        base,
        scenarios,
        event_sets: inp.event_sets.clone(),
    })
}

/// Checks every listed purchase of every strategy against the rate card (its pool and its
/// offer), before anything is forecast.
pub(crate) fn check_strategies(inp: &Inputs, strategies: &[Strategy]) -> Result<(), RunError> {
    for s in strategies {
        if let Strategy::Purchases(list) = s {
            strategy::check_listed(&inp.card, list).map_err(|e| strategy_error(e, inp))?;
        }
    }
    Ok(())
}

/// Warnings for the listed purchases of pools that are not planned: they are in no figure.
pub(crate) fn unplanned_purchases(
    inp: &Inputs,
    strategies: &[Strategy],
    skipped: &[Skipped],
) -> Vec<String> {
    let mut out = Vec::new();
    for (s, spec) in strategies.iter().zip(&inp.plan.strategies) {
        let Strategy::Purchases(list) = s else {
            continue;
        };
        for (pool, reason) in skipped {
            let n = list.iter().filter(|p| &p.pool == pool).count();
            if n > 0 {
                out.push(format!(
                    "strategy {}: {n} listed purchase(s) of pool {pool} are in no figure: the pool is not planned ({reason})",
                    spec.name
                ));
            }
        }
    }
    out
}

/// Plans every pool of the card; pools without usage or offers are skipped with the reason.
pub(crate) fn plan_pools(
    inp: &Inputs,
    frame: &Frame,
    forecasts: &Forecasts,
    strategies: &[Strategy],
    primary_idx: usize,
    progress: &dyn Progress,
    warnings: &mut Vec<String>,
) -> Result<(Vec<PoolRun>, Vec<Skipped>), RunError> {
    // Spend-based pools are planned in money afterwards (`run::spend`), on top of these.
    let planned_pools: Vec<&Pool> = inp
        .card
        .pools()
        .iter()
        .filter(|p| !p.is_spend_pool())
        .collect();
    progress.start("planning pools", planned_pools.len());
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    let peers = plan::card_peer_signals(&inp.card, &forecasts.history);
    let peers: Vec<_> = inp
        .card
        .pools()
        .iter()
        .zip(peers)
        .filter(|(p, _)| !p.is_spend_pool())
        .map(|(_, s)| s)
        .collect();
    for (pool, peers) in planned_pools.into_iter().zip(&peers) {
        match plan_one(
            inp,
            frame,
            forecasts,
            strategies,
            primary_idx,
            (pool, peers),
            warnings,
        )? {
            Ok(r) => runs.push(r),
            Err(reason) => skipped.push((pool.id().to_owned(), reason)),
        }
        progress.inc();
    }
    if runs.is_empty() {
        return Err(RunError::Data(format!(
            "no usage series matches a pool of {}: check the pools' `match` dimensions and `series_unit`",
            inp.display.rates.display()
        )));
    }
    Ok((runs, skipped))
}

/// A strategy error or an error of the optimizer's plan.
enum DecideError {
    Strategy(StrategyError),
    Run(RunError),
}

impl From<StrategyError> for DecideError {
    fn from(e: StrategyError) -> Self {
        DecideError::Strategy(e)
    }
}

/// A strategy error as the run reports it: listed purchases name the plan file's line.
fn strategy_error(e: StrategyError, inp: &Inputs) -> RunError {
    match e {
        StrategyError::NotAnOffer { offer, pool, line } => RunError::Input {
            file: inp.file.clone(),
            line,
            message: format!(
                "offer {offer:?} is not an offer of pool {pool:?} in {}; use one of the pool's offer ids",
                inp.display.rates.display()
            ),
        },
        StrategyError::UnknownPool {
            pool,
            suggestion,
            known,
            line,
        } => RunError::Input {
            file: inp.file.clone(),
            line,
            message: format!(
                "pool {pool:?} of a listed purchase is not in {}; {}",
                inp.display.rates.display(),
                match suggestion {
                    Some(s) => format!("did you mean {s:?}?"),
                    None if known.is_empty() => "the rate card has no pools".to_owned(),
                    None => format!("use one of its pool ids: {}", known.join(", ")),
                }
            ),
        },
        StrategyError::BeforeStart { date, start, line } => RunError::Input {
            file: inp.file.clone(),
            line,
            message: format!(
                "purchase date {date} is before as_of {start}; list commitments already bought in the inventory"
            ),
        },
        StrategyError::OfferVanished(id) => RunError::Data(format!("offer {id} vanished")),
    }
}

/// Plans one pool: `Err(reason)` when it is skipped.
fn plan_one(
    inp: &Inputs,
    frame: &Frame,
    forecasts: &Forecasts,
    strategies: &[Strategy],
    primary_idx: usize,
    (pool, peers): (&Pool, &plan::sizing::PeerSignal),
    warnings: &mut Vec<String>,
) -> Result<Result<PoolRun, String>, RunError> {
    let plan = &inp.plan;
    let (n_paths, seed, coc) = (
        plan.forecast.paths,
        plan.forecast.seed,
        plan.cost_of_capital,
    );
    let (start, horizon_hours) = (frame.start, frame.horizon_hours);
    let Some((base, series_names)) = plan::pool_demand(pool, &forecasts.base, n_paths, seed)?
    else {
        return Ok(Err(format!(
            "no usage series in {} matches it",
            pool.series_unit().unwrap_or("the pool's unit")
        )));
    };
    let existing = inp.inventory.coverage(pool.id(), start, horizon_hours);
    let (choices, _) = plan::offer_choices(&inp.card, pool, coc)?;
    if choices.is_empty() {
        return Ok(Err("the pool has no offers".into()));
    }
    let lookback_days = strategy::lookback_days(strategies);
    let events = plan::sizing::pool_event_effect(pool, &forecasts.base);
    // The optimizer's plan of this pool on the base demand under one risk setting
    // (baselines and lookback recommendations included).
    let mut plan_with =
        |risk: plan::Risk, ladder: Option<LadderSettings>| -> Result<PoolResult, DecideError> {
            let settings = PortfolioSettings {
                risk,
                paths: n_paths,
                seed,
                cost_of_capital: coc,
                lookback_days: lookback_days.clone(),
                ladder,
                ..PortfolioSettings::default()
            };
            let demand = plan::PoolDemand {
                forecast: Some(base.clone()),
                events: events.clone(),
                hours: horizon_hours,
                series: series_names.clone(),
                peers: peers.clone(),
            };
            plan::plan_pool(
                &inp.card,
                pool,
                &inp.inventory,
                demand,
                start,
                &forecasts.history,
                &settings,
            )
            .map_err(|e| DecideError::Run(e.into()))?
            .map_err(|sk| DecideError::Run(RunError::Data(sk.reason)))
        };
    let ctx = PoolContext {
        card: &inp.card,
        pool,
        choices: &choices,
        demand: &base,
        existing: &existing,
        start,
        horizon_hours,
    };
    let undecide = |e: DecideError| match e {
        DecideError::Strategy(e) => strategy_error(e, inp),
        DecideError::Run(e) => e,
    };
    let mut plans = SharedPlans::default();
    let mut purchases = Vec::new();
    for (s, spec) in strategies.iter().zip(&plan.strategies) {
        let Decision {
            purchases: p,
            missing_term,
        } = strategy::decide(s, &ctx, &mut plans, &mut plan_with).map_err(undecide)?;
        if let Some(term_h) = missing_term {
            warnings.push(format!(
                "strategy {}: pool {} has no {} offer; nothing bought there",
                spec.name,
                pool.id(),
                if term_h == plan::HOURS_1Y { "1y" } else { "3y" }
            ));
        }
        purchases.push(p);
    }
    let result = match plans.primary.or(plans.baseline) {
        Some(r) => r,
        None => plan_with(plan::Risk::BALANCED, None).map_err(undecide)?,
    };
    let base_demand = BaseDemand {
        demand: &base,
        forecasts: &forecasts.base,
        paths: n_paths,
        seed,
        horizon_hours,
    };
    let outcomes = evaluate(
        inp,
        frame,
        forecasts,
        pool,
        &base_demand,
        &existing,
        &purchases,
    )?;
    let q_hours = frame.q_hours();
    let existing_fees_quarters = q_hours
        .iter()
        .map(|&(a, b)| {
            Money::new(
                inp.inventory
                    .cost_over(pool.id(), start + Duration::hours(a as i64), b - a),
                pool.currency(),
            )
            .round()
        })
        .collect();
    let existing_fees_horizon = Money::new(
        inp.inventory.cost_over(pool.id(), start, horizon_hours),
        pool.currency(),
    )
    .round();
    let matched: Vec<&DemandForecast> = forecasts
        .base
        .iter()
        .filter(|f| pool.covers_series(&f.key, &f.unit))
        .collect();
    let series_shares = super::quarters::series_shares(&matched, &q_hours);
    let view = views::pool_view(
        &ctx,
        &purchases[primary_idx],
        &outcomes[0][primary_idx],
        &result,
        series_names,
    );
    Ok(Ok(PoolRun {
        pool_id: pool.id().to_owned(),
        currency: pool.currency(),
        result,
        view,
        strategies: purchases,
        outcomes,
        existing_fees_quarters,
        existing_fees_horizon,
        series_shares,
    }))
}

/// Every strategy's purchases evaluated on every demand scenario of the pool.
fn evaluate(
    inp: &Inputs,
    frame: &Frame,
    forecasts: &Forecasts,
    pool: &Pool,
    base: &BaseDemand<'_>,
    existing: &[f64],
    purchases: &[Vec<ScheduledPurchase>],
) -> Result<Vec<Vec<ScheduleOutcome>>, RunError> {
    let finance = FinanceParams {
        annual_cost_of_capital: inp.plan.cost_of_capital,
        start: Some(frame.start.naive_utc()),
    };
    let periods = frame.periods();
    let mut outcomes = Vec::new();
    for (di, d) in inp.plan.demand.iter().enumerate() {
        let demand =
            demand::scenario_demand(pool, d.source, forecasts.scenarios[di].as_deref(), base)?;
        let mut row = Vec::new();
        for sp in purchases {
            row.push(evaluate_schedule(
                &demand,
                existing,
                pool.on_demand_rate(),
                pool.currency(),
                sp,
                &periods,
                &finance,
            )?);
        }
        outcomes.push(row);
    }
    Ok(outcomes)
}
