//! A plan for a whole rate card: per pool, the demand paths of the series it covers (from
//! their forecasts), the existing commitments from the inventory, the offers with their payment
//! option chosen by present value, the optimal purchase and the baselines beside it (all
//! on-demand and the providers' 7/30/60-day lookback replay).

use rust_decimal::Decimal;
use serde::Serialize;

use super::sizing::{
    EventEffect, PeerSignal, SizingHistory, SizingInput, SizingNote, SizingSettings, decide_levels,
    peer_signals, pool_event_effect,
};
use super::{
    Demand, FinanceParams, LadderPlan, LadderSettings, Levels, LookbackRecommendation, OfferChoice,
    PlanError, PlanOptions, PoolPlan, PoolProblem, Pricing, Risk, lookback_replay, optimize,
};
use crate::forecast::{DemandForecast, long_run_paths};
use crate::money::Money;
use crate::pricing::{Inventory, PaymentChoice, Pool, RateCard};
use crate::series::UsageSeries;

/// Settings of [`plan_portfolio`].
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioSettings {
    /// Risk setting of the optimizer.
    pub risk: Risk,
    /// Sample paths drawn per forecast.
    pub paths: usize,
    /// Seed of the paths (the same for every series, so series of one pool move together).
    pub seed: u64,
    /// Annual cost of capital for the payment-option choice and NPV.
    pub cost_of_capital: Decimal,
    /// Lookback windows of the providers' rule, in days.
    pub lookback_days: Vec<usize>,
    /// Also lay out the long-term purchase as a ladder of tranches.
    pub ladder: Option<LadderSettings>,
    /// The rules that bound the optimizer's levels by the history's evidence.
    pub sizing: SizingSettings,
}

impl Default for PortfolioSettings {
    fn default() -> Self {
        Self {
            risk: Risk::Balanced,
            paths: 200,
            seed: 0,
            cost_of_capital: Decimal::ZERO,
            lookback_days: vec![7, 30, 60],
            ladder: None,
            sizing: SizingSettings::default(),
        }
    }
}

/// A baseline evaluated on the same forecast as the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// `all on-demand`, `lookback 30d`, ...
    pub name: String,
    /// Expected total cost over the horizon (commitments for their full terms + on-demand).
    pub expected_cost: Money,
    /// Expected savings against all on-demand.
    pub expected_savings: Money,
    /// What the rule would buy (lookback rules only).
    pub recommendation: Option<LookbackRecommendation>,
}

/// The plan of one pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolResult {
    /// Pool id.
    pub pool: String,
    /// Pool unit.
    pub unit: String,
    /// The series whose demand the pool covers (`dim=value,...`).
    pub series: Vec<String>,
    /// Payment option chosen per kind and term, with the comparison.
    pub payment_choices: Vec<PaymentChoice>,
    /// Existing commitments over the horizon, units in the first hour.
    pub existing_units_now: f64,
    /// The optimal plan.
    pub plan: PoolPlan,
    /// Baselines on the same forecast.
    pub baselines: Vec<Baseline>,
    /// The purchase as a ladder of tranches, against the lump (when asked and something is
    /// bought).
    pub ladder: Option<LadderPlan>,
    /// How the plan was sized: the evidence, the bounds and the comparison with the lookback
    /// rule, with the rationale in words.
    pub sizing: SizingNote,
    /// Commitment cash flow by month of the plan (cash and amortised views).
    pub monthly_cash_flow: Vec<PeriodFlow>,
    /// The same by quarter of the plan.
    pub quarterly_cash_flow: Vec<PeriodFlow>,
}

/// Commitment cash flow of a pool's purchases in one period of the plan (month or quarter
/// from the plan's start): sums of the purchases' exact monthly flows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodFlow {
    /// Period number, 1-based from the plan's start.
    pub period: usize,
    /// Start of the period.
    pub start: Option<chrono::NaiveDateTime>,
    /// Cash view: upfront fees when paid plus recurring fees.
    pub cash_outlay: Money,
    /// Amortised view: commitment cost spread over the terms.
    pub amortised_cost: Money,
    /// On-demand value of the expected usage the commitments cover.
    pub expected_usage_value: Money,
}

/// Monthly (`months_per_period = 1`) or quarterly (3) sums of every purchase's monthly flows.
pub fn cash_flow(
    plan: &PoolPlan,
    currency: crate::money::Currency,
    months_per_period: usize,
) -> Vec<PeriodFlow> {
    let mut out: Vec<PeriodFlow> = Vec::new();
    let period_hours = 730 * months_per_period.max(1);
    for p in &plan.purchases {
        for m in &p.monthly {
            let i = m.start_hour / period_hours;
            while out.len() <= i {
                let k = out.len();
                out.push(PeriodFlow {
                    period: k + 1,
                    start: None,
                    cash_outlay: Money::zero(currency),
                    amortised_cost: Money::zero(currency),
                    expected_usage_value: Money::zero(currency),
                });
            }
            let f = &mut out[i];
            if f.start.is_none() && m.start_hour % period_hours == 0 {
                f.start = m.start;
            }
            let add = |a: Money, b: Money| a.checked_add(b).unwrap_or(a);
            f.cash_outlay = add(f.cash_outlay, m.cash_outlay);
            f.amortised_cost = add(f.amortised_cost, m.amortised_cost);
            f.expected_usage_value = add(f.expected_usage_value, m.expected_usage_value);
        }
    }
    out
}

/// Pools the plan could not cover, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// Pool id.
    pub pool: String,
    /// Why.
    pub reason: String,
}

/// A plan for every pool of a rate card.
#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    /// Pools planned, in rate-card order.
    pub pools: Vec<PoolResult>,
    /// Pools skipped, in rate-card order.
    pub skipped: Vec<Skipped>,
}

/// The usage series a pool covers.
pub(crate) fn series_in_pool<'a>(
    pool: &'a Pool,
    series: &'a [UsageSeries],
) -> impl Iterator<Item = &'a UsageSeries> {
    series
        .iter()
        .filter(|s| pool.covers_series(&s.key, &s.unit))
}

/// The offers of a pool after the payment choice: the chosen offer of every kind and term.
pub(crate) fn offer_choices(
    card: &RateCard,
    pool: &Pool,
    cost_of_capital: Decimal,
) -> Result<(Vec<OfferChoice>, Vec<PaymentChoice>), PlanError> {
    let choices = card
        .best_payment_options(pool.id(), cost_of_capital)
        .map_err(|e| PlanError::InvalidInput(e.to_string()))?;
    let offers = choices
        .iter()
        .filter_map(|c| card.offer(&c.chosen))
        .map(|o| OfferChoice {
            id: o.id().to_owned(),
            term_hours: o.term_hours() as usize,
            effective_hourly: o.effective_hourly(),
            upfront_per_unit: o.upfront(),
            recurring_hourly: o.recurring_hourly(),
        })
        .collect();
    Ok((offers, choices))
}

/// Plan every pool of `card`: demand from the forecasts of the series each pool covers (hourly
/// forecasts sharing one start), existing commitments from `inventory`, baselines from the
/// hourly `history` of the same series (the lookback rule replays its last days).
///
/// # Errors
///
/// [`PlanError`] for inconsistent inputs (forecasts on different grids, non-hourly forecasts,
/// a series two pools cover).
pub fn plan_portfolio(
    card: &RateCard,
    inventory: &Inventory,
    forecasts: &[DemandForecast],
    history: &[UsageSeries],
    settings: &PortfolioSettings,
) -> Result<Portfolio, PlanError> {
    let Some(first) = forecasts.first() else {
        return Err(PlanError::InvalidInput("no forecasts to plan on".into()));
    };
    let start = first.forecast.start;
    let hours = first.forecast.horizon();
    if forecasts.iter().any(|f| {
        f.forecast.start != start
            || f.forecast.step_seconds != 3600
            || f.forecast.horizon() != hours
    }) {
        return Err(PlanError::InvalidInput(
            "planning needs hourly forecasts that share one start and horizon".into(),
        ));
    }
    card.check_disjoint(forecasts.iter().map(|f| (&f.key, f.unit.as_str())))
        .map_err(|e| PlanError::InvalidInput(e.to_string()))?;
    plan_each(card, inventory, history, start, settings, |pool, peers| {
        let Some((demand, series)) = pool_demand(pool, forecasts, settings.paths, settings.seed)?
        else {
            return Ok(Err(format!(
                "no usage series matches it (unit {}); spend-based pools need a cost series",
                pool.series_unit().unwrap_or("any")
            )));
        };
        Ok(Ok(PoolDemand {
            forecast: Some(demand),
            events: pool_event_effect(pool, forecasts),
            hours,
            series,
            peers,
        }))
    })
}

/// Plan every pool of `card` in card order on the demand `demand_of` gives it (with the pool's
/// peer signal from `history`), or skip it for the reason it gives.
fn plan_each(
    card: &RateCard,
    inventory: &Inventory,
    history: &[UsageSeries],
    start: chrono::DateTime<chrono::Utc>,
    settings: &PortfolioSettings,
    mut demand_of: impl FnMut(&Pool, PeerSignal) -> Result<Result<PoolDemand, String>, PlanError>,
) -> Result<Portfolio, PlanError> {
    let mut pools = Vec::new();
    let mut skipped = Vec::new();
    let mut peers = card_peer_signals(card, history).into_iter();
    for pool in card.pools() {
        let peers = peers.next().unwrap_or_default();
        let demand = match demand_of(pool, peers)? {
            Ok(d) => d,
            Err(reason) => {
                skipped.push(Skipped {
                    pool: pool.id().to_owned(),
                    reason,
                });
                continue;
            }
        };
        match plan_pool(card, pool, inventory, demand, start, history, settings)? {
            Ok(r) => pools.push(r),
            Err(s) => skipped.push(s),
        }
    }
    Ok(Portfolio { pools, skipped })
}

/// Plan every pool of `card` from the hourly `history` alone (series ending at `start`):
/// decisions on the long-run level model of each pool's history, no hourly forecasts and no
/// events. What the policy backtest decides with at each past date.
///
/// # Errors
///
/// [`PlanError`] for inconsistent inputs.
pub fn plan_portfolio_from_history(
    card: &RateCard,
    inventory: &Inventory,
    history: &[UsageSeries],
    start: chrono::DateTime<chrono::Utc>,
    hours: usize,
    settings: &PortfolioSettings,
) -> Result<Portfolio, PlanError> {
    card.check_disjoint(history.iter().map(|s| (&s.key, s.unit.as_str())))
        .map_err(|e| PlanError::InvalidInput(e.to_string()))?;
    plan_each(card, inventory, history, start, settings, |pool, peers| {
        let series: Vec<String> = series_in_pool(pool, history)
            .map(|s| s.key.to_string())
            .collect();
        if series.is_empty() {
            return Ok(Err(format!(
                "no usage series matches it (unit {})",
                pool.series_unit().unwrap_or("any")
            )));
        }
        Ok(Ok(PoolDemand {
            forecast: None,
            events: EventEffect::none(),
            hours,
            series,
            peers,
        }))
    })
}

/// The peer signal of every pool of `card`, in card order, from the hourly `history`.
pub fn card_peer_signals(card: &RateCard, history: &[UsageSeries]) -> Vec<PeerSignal> {
    let histories: Vec<Vec<f64>> = card
        .pools()
        .iter()
        .map(|p| pool_history(p, history))
        .collect();
    peer_signals(card, &histories)
}

/// The demand a pool is planned on.
#[derive(Debug, Clone)]
pub struct PoolDemand {
    /// Sample paths of the hourly forecasts (events applied), when there are forecasts: the
    /// decision falls back to them when the history is too short for the long-run model.
    pub forecast: Option<Demand>,
    /// How known events change the pool's demand (applied to the long-run paths).
    pub events: EventEffect,
    /// Hours planned.
    pub hours: usize,
    /// The series the pool covers (`dim=value,...`).
    pub series: Vec<String>,
    /// What the pool's peers show ([`super::sizing::peer_signals`]).
    pub peers: PeerSignal,
}

/// The demand paths of `pool`: the sum, in pool units, of the sample paths of the forecasts
/// it covers (the same seed for every series, so the series of one pool move together), and
/// the names of those series. `None` when no forecast matches.
///
/// # Errors
///
/// [`PlanError::InvalidInput`] when paths cannot be drawn.
pub fn pool_demand(
    pool: &Pool,
    forecasts: &[DemandForecast],
    n_paths: usize,
    seed: u64,
) -> Result<Option<(Demand, Vec<String>)>, PlanError> {
    let matched: Vec<&DemandForecast> = forecasts
        .iter()
        .filter(|f| pool.covers_series(&f.key, &f.unit))
        .collect();
    let Some(first) = matched.first() else {
        return Ok(None);
    };
    let hours = first.forecast.horizon();
    let mut paths = vec![vec![0.0; hours]; n_paths];
    for f in &matched {
        let p = f
            .sample_paths(n_paths, seed)
            .map_err(|e| PlanError::InvalidInput(e.to_string()))?;
        for (i, path) in paths.iter_mut().enumerate() {
            for (t, v) in path.iter_mut().enumerate() {
                *v += pool.to_pool_units_of(&f.key, p.path(i)[t]);
            }
        }
    }
    Ok(Some((
        Demand { hours, paths },
        matched.iter().map(|f| f.key.to_string()).collect(),
    )))
}

/// The hourly history of the series `pool` covers, in pool units, aligned to end at `start`.
pub fn pool_history(pool: &Pool, history: &[UsageSeries]) -> Vec<f64> {
    let mut hist: Vec<f64> = Vec::new();
    for s in history
        .iter()
        .filter(|s| pool.covers_series(&s.key, &s.unit))
    {
        if hist.len() < s.values.len() {
            let mut longer = vec![0.0; s.values.len() - hist.len()];
            longer.extend(hist);
            hist = longer;
        }
        let off = hist.len() - s.values.len();
        for (i, v) in s.values.iter().enumerate() {
            hist[off + i] += pool.to_pool_units_of(&s.key, *v);
        }
    }
    hist
}

/// Plans one pool starting at `start`. The decision is made on the long-run level model of
/// the pool's hourly `history` (series ending at `start`), with the known events' effect,
/// or, when the history is shorter than the model needs, on the forecast paths; the
/// optimizer's levels on those paths are then bounded by the sizing rules
/// ([`super::sizing`]) and compared with the lookback rule. The plan's figures, the
/// baselines (the lookback rules replay the history) and the ladder are evaluated on the
/// same paths. `Ok(Err(_))` when the pool cannot be planned (no offers, or neither history
/// nor forecast to decide on).
///
/// # Errors
///
/// [`PlanError`] for inconsistent inputs.
pub fn plan_pool(
    card: &RateCard,
    pool: &Pool,
    inventory: &Inventory,
    demand: PoolDemand,
    start: chrono::DateTime<chrono::Utc>,
    history: &[UsageSeries],
    settings: &PortfolioSettings,
) -> Result<Result<PoolResult, Skipped>, PlanError> {
    let hours = demand.hours;
    let series = demand.series;
    let hist = pool_history(pool, history);
    let existing = inventory.coverage(pool.id(), start, hours);
    let hist_start = start - chrono::Duration::hours(hist.len() as i64);
    let hist_existing = inventory.coverage(pool.id(), hist_start, hist.len());
    let hist_residual: Vec<f64> = hist
        .iter()
        .zip(&hist_existing)
        .map(|(d, e)| (d - e).max(0.0))
        .collect();

    let (offers, payment_choices) = offer_choices(card, pool, settings.cost_of_capital)?;
    if offers.is_empty() {
        return Ok(Err(Skipped {
            pool: pool.id().to_owned(),
            reason: "the pool has no offers".into(),
        }));
    }
    let long_run = long_run_paths(
        &hist,
        hours,
        settings.paths,
        settings.seed,
        &settings.sizing.long_run,
    );
    let (decision, evidence, basis) = match (long_run, demand.forecast) {
        (Some(l), _) => {
            let mut paths = l.paths;
            demand.events.apply(&mut paths);
            let basis = if demand.events.is_none() {
                "the long-run level model of the pool's history"
            } else {
                "the long-run level model of the pool's history, with the known events"
            };
            (Demand { hours, paths }, Some(l.evidence), basis)
        }
        (None, Some(f)) => (
            f,
            None,
            "the hourly forecast (the history is too short for the long-run level model)",
        ),
        (None, None) => {
            return Ok(Err(Skipped {
                pool: pool.id().to_owned(),
                reason: format!(
                    "its history has fewer than {} complete weeks of demand to decide on",
                    settings.sizing.long_run.min_weeks.max(2)
                ),
            }));
        }
    };
    let pricing = Pricing {
        currency: pool.currency(),
        on_demand_hourly: pool.on_demand_rate(),
        offers,
    };
    let finance = FinanceParams {
        annual_cost_of_capital: settings.cost_of_capital,
        start: Some(start.naive_utc()),
    };
    let opts = PlanOptions {
        risk: settings.risk,
        whole_units: pool.whole_units(),
        finance: finance.clone(),
    };
    let optimal = optimize(&decision, &existing, &pricing, &opts)?;
    let problem = PoolProblem::new(&decision, &existing, &pricing)?;
    // The rule chooses among the offers the optimizer uses (the cheapest of each term), so
    // both are judged on the same menu.
    // Terms longer than the horizon are left out of the rule's menu: their full-term cost
    // would be charged against only the horizon's usage (the optimizer weighs that itself).
    let menu: Vec<OfferChoice> = [problem.long_offer(), problem.short_offer()]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let fitting: Vec<OfferChoice> = menu
        .iter()
        .filter(|o| o.term_hours <= hours)
        .cloned()
        .collect();
    let used_offers = if fitting.is_empty() { menu } else { fitting };
    let mut recommendations = Vec::new();
    if !hist_residual.is_empty() {
        let mut days_list = settings.lookback_days.clone();
        if !days_list.contains(&settings.sizing.compare_lookback_days) {
            days_list.push(settings.sizing.compare_lookback_days);
        }
        for days in days_list {
            let rec = lookback_replay(
                &hist_residual,
                days,
                &used_offers,
                pricing.currency,
                pricing.on_demand_hourly,
            )?;
            recommendations.push((days, rec));
        }
    }
    let compare = recommendations
        .iter()
        .find(|(d, _)| *d == settings.sizing.compare_lookback_days)
        .and_then(|(_, r)| r.as_ref());
    // The world in which recent demand persists: the last four weeks repeated.
    let recent_weeks = hist.len().min(4 * 168);
    let recent = (recent_weeks >= 168).then(|| {
        let tail = &hist[hist.len() - recent_weeks..];
        Demand::single((0..hours).map(|t| tail[t % recent_weeks]).collect())
    });
    let recent_problem = match &recent {
        Some(d) => Some(PoolProblem::new(d, &existing, &pricing)?),
        None => None,
    };
    let optimal_levels = Levels {
        three_year: optimal.three_year,
        one_year: optimal.one_year.clone(),
    };
    let (levels, sizing) = decide_levels(
        &SizingInput {
            problem: &problem,
            pricing: &pricing,
            risk: settings.risk,
            optimal: &optimal_levels,
            whole_units: pool.whole_units(),
            history: SizingHistory {
                demand: &hist,
                existing: &existing,
            },
            evidence: evidence.as_ref(),
            basis,
            events: &demand.events,
            peers: &demand.peers,
            lookback: compare,
            recent: recent_problem.as_ref(),
        },
        &settings.sizing,
    )?;
    let plan = problem.evaluate(settings.risk, &levels, &finance)?;
    let mut baselines = vec![Baseline {
        name: "all on-demand".into(),
        expected_cost: plan.on_demand_cost,
        expected_savings: Money::zero(pool.currency()),
        recommendation: None,
    }];
    for (days, rec) in recommendations {
        if !settings.lookback_days.contains(&days) {
            continue;
        }
        if let Some(rec) = rec {
            let levels = problem.levels_for_lookback(&rec, true)?;
            let eval = problem.evaluate(Risk::Balanced, &levels, &finance)?;
            baselines.push(Baseline {
                name: format!("lookback {days}d"),
                expected_cost: eval.expected_cost,
                expected_savings: eval.expected_savings,
                recommendation: Some(rec),
            });
        }
    }
    let ladder = match &settings.ladder {
        // The ladder spreads the long-term purchase (or, without a long-term offer, the
        // first short-term one); nothing to spread when that level is zero.
        Some(l)
            if plan.three_year > 0.0
                || (problem.long_offer().is_none() && !plan.purchases.is_empty()) =>
        {
            let lump = Levels {
                three_year: plan.three_year,
                one_year: plan.one_year.clone(),
            };
            Some(problem.ladder(&lump, l, &opts)?)
        }
        _ => None,
    };
    Ok(Ok(PoolResult {
        pool: pool.id().to_owned(),
        unit: pool.unit().to_owned(),
        series,
        payment_choices,
        existing_units_now: existing.first().copied().unwrap_or(0.0),
        monthly_cash_flow: cash_flow(&plan, pool.currency(), 1),
        quarterly_cash_flow: cash_flow(&plan, pool.currency(), 3),
        plan,
        baselines,
        ladder,
        sizing,
    }))
}
