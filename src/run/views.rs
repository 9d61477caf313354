//! What the report shows besides the matrix and the quarters: each pool's waterline view,
//! the recommended purchases with their rationale, the monthly savings and coverage, the
//! display series' forecasts and anomalies, and the descriptions of the demand scenarios and
//! strategies.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::inputs::{Inputs, key_matches};
use super::pools::{PoolRun, forecast_many};
use super::quarters::{quantile, sum_money};
use super::{Frame, RunError};
use crate::forecast::{self, DemandForecast, ForecastSettings, events::EventSet};
use crate::money::{Currency, Money, Rate};
use crate::plan::strategy::PoolContext;
use crate::plan::{self, PoolResult, ScheduleOutcome, ScheduledPurchase};
use crate::pricing::RateCard;
use crate::pricing::Term;
use crate::progress::Progress;
use crate::report::{AnomalyRow, MonthPoint, PoolView, Recommendation, SeriesForecast, fmt_amount};
use crate::scenario::{self, DemandSource, StrategyKind};
use crate::series::UsageSeries;

/// The waterline view of one pool: base demand per day (p10/p50/p90 of the paths' daily
/// means), existing commitments, the primary strategy's long- and short-term layers, and the
/// costs of the primary strategy and the baselines on the base demand.
pub(crate) fn pool_view(
    ctx: &PoolContext<'_>,
    prim: &[ScheduledPurchase],
    base_prim: &ScheduleOutcome,
    result: &PoolResult,
    series: Vec<String>,
) -> PoolView {
    let days = ctx.horizon_hours / 24;
    let mut demand_days = Vec::with_capacity(days);
    let mut exist_days = Vec::with_capacity(days);
    let mut long_days = Vec::with_capacity(days);
    let mut short_days = Vec::with_capacity(days);
    for dday in 0..days {
        let (a, b) = (dday * 24, dday * 24 + 24);
        let mut means: Vec<f64> = ctx
            .demand
            .paths
            .iter()
            .map(|p| p[a..b].iter().sum::<f64>() / 24.0)
            .collect();
        means.sort_by(f64::total_cmp);
        let date = (ctx.start + Duration::hours(a as i64)).date_naive();
        demand_days.push((
            date,
            quantile(&means, 0.1),
            quantile(&means, 0.5),
            quantile(&means, 0.9),
        ));
        exist_days.push((date, ctx.existing[a..b].iter().sum::<f64>() / 24.0));
        let layer = |long: bool| -> f64 {
            prim.iter()
                .filter(|p| (p.offer.term_hours > plan::HOURS_1Y) == long)
                .map(|p| {
                    let active = (p.start_hour + p.offer.term_hours)
                        .min(b)
                        .saturating_sub(p.start_hour.max(a));
                    p.quantity * active as f64 / 24.0
                })
                .sum()
        };
        long_days.push((date, layer(true)));
        short_days.push((date, layer(false)));
    }
    PoolView {
        pool: ctx.pool.id().to_owned(),
        description: ctx.pool.description().to_owned(),
        unit: ctx.pool.unit().to_owned(),
        series,
        demand: demand_days,
        existing: exist_days,
        recommended_long: long_days,
        recommended_short: short_days,
        on_demand_cost: base_prim.on_demand_cost,
        recommended_cost: base_prim.expected_cost,
        baselines: result
            .baselines
            .iter()
            .map(|b| (b.name.clone(), b.expected_cost))
            .collect(),
    }
}

/// `(1 − effective ÷ on-demand) × 100`, one decimal.
fn discount_pct(effective: Decimal, on_demand: Decimal) -> String {
    if on_demand.is_zero() {
        return "0".into();
    }
    ((Decimal::ONE - effective / on_demand) * Decimal::from(100))
        .round_dp(1)
        .normalize()
        .to_string()
}

/// The primary strategy's purchases on base demand, with their money and rationale.
pub(crate) fn recommendations(
    card: &RateCard,
    runs: &[PoolRun],
    start: DateTime<Utc>,
    primary_idx: usize,
) -> Result<Vec<Recommendation>, RunError> {
    let mut out = Vec::new();
    for r in runs {
        for pu in &r.strategies[primary_idx] {
            out.push(recommendation(card, r, pu, start, primary_idx)?);
        }
    }
    Ok(out)
}

fn recommendation(
    card: &RateCard,
    r: &PoolRun,
    pu: &ScheduledPurchase,
    start: DateTime<Utc>,
    primary_idx: usize,
) -> Result<Recommendation, RunError> {
    let o = &r.outcomes[0][primary_idx];
    let pool = card.pool(&r.pool_id).expect("planned pool is in the card");
    let baseline30 = r
        .view
        .baselines
        .iter()
        .find(|(n, _)| n == "lookback 30d")
        .map(|(_, c)| *c);
    let fin = r
        .result
        .plan
        .purchases
        .iter()
        .chain(r.result.ladder.iter().flat_map(|l| {
            l.tranches
                .iter()
                .map(|t| &t.purchase)
                .chain(l.other_purchases.iter())
        }))
        .find(|f| f.offer_id == pu.offer.id && f.start_hour == pu.start_hour);
    let term = if pu.offer.term_hours >= plan::HOURS_3Y {
        "3y"
    } else {
        "1y"
    };
    let rate = |per_unit: Decimal, qty: f64| -> Result<Money, RunError> {
        Ok(Rate::new(Money::new(per_unit, r.currency))
            .cost_of(qty)?
            .round())
    };
    let (expected_savings, utilisation, be, npv) = match fin {
        Some(f) => (f.expected_savings, f.utilisation, f.break_even_month, f.npv),
        None => (o.expected_savings, o.utilisation, o.break_even_month, o.npv),
    };
    let mut rationale = format!(
        "{} {} is {} % cheaper than on-demand ({} vs {} per unit-hour); expected use {:.0} % of the committed hours, break-even in month {}",
        term,
        pu.offer.id,
        discount_pct(pu.offer.effective_hourly, pool.on_demand_rate()),
        pu.offer.effective_hourly.normalize(),
        pool.on_demand_rate().normalize(),
        utilisation * 100.0,
        be.map_or("—".to_string(), |m| m.to_string()),
    );
    if let Some(b30) = baseline30 {
        rationale.push_str(&format!(
            "; expected pool cost {} {} against {} for the 30-day lookback rule",
            fmt_amount(o.expected_cost.amount()),
            r.currency,
            fmt_amount(b30.amount())
        ));
    }
    if fin.is_some() {
        // A purchase of the optimizer's plan: how it was sized, from which evidence.
        rationale.push_str(". Sizing: ");
        rationale.push_str(&r.result.sizing.rationale);
    }
    Ok(Recommendation {
        pool: r.pool_id.clone(),
        offer: pu.offer.id.clone(),
        term: term.into(),
        quantity: pu.quantity,
        unit: pool.unit().to_owned(),
        date: (start + Duration::hours(pu.start_hour as i64)).date_naive(),
        upfront: rate(pu.offer.upfront_per_unit, pu.quantity)?,
        recurring_monthly: rate(
            pu.offer.recurring_hourly,
            pu.quantity * plan::HOURS_PER_MONTH as f64,
        )?,
        commitment_cost: rate(
            pu.offer.effective_hourly,
            pu.quantity * pu.offer.term_hours as f64,
        )?,
        expected_savings,
        utilisation,
        break_even_month: be,
        npv,
        rationale,
    })
}

/// Monthly figures of the primary strategy on base demand: cumulative net savings over the
/// pools, coverage of demand by all commitments, utilisation of the new ones.
pub(crate) fn month_points(
    frame: &Frame,
    runs: &[PoolRun],
    currency: Currency,
    primary_idx: usize,
) -> Result<Vec<MonthPoint>, RunError> {
    let n_q = frame.quarter_ranges.len();
    let mut points = Vec::new();
    for (mi, &(a, b)) in frame.months.iter().enumerate() {
        let mut cum = Money::zero(currency);
        let (mut dem, mut exist, mut new_used, mut committed) = (0.0, 0.0, 0.0, 0.0);
        for r in runs {
            let o = &r.outcomes[0][primary_idx];
            let v = o
                .cumulative_net
                .get(mi)
                .or(o.cumulative_net.last())
                .copied()
                .unwrap_or(Money::zero(currency));
            cum = cum.checked_add(v)?;
            let p = &o.periods[n_q + mi];
            dem += p.demand_mean;
            exist += p.existing_used;
            new_used += p.new_used;
            for pu in &r.strategies[primary_idx] {
                let active = (pu.start_hour + pu.offer.term_hours)
                    .min(b)
                    .saturating_sub(pu.start_hour.max(a));
                committed += pu.quantity * active as f64;
            }
        }
        points.push(MonthPoint {
            date: (frame.start + Duration::hours(a as i64)).date_naive(),
            cumulative_net: cum,
            coverage_pct: if dem > 0.0 {
                100.0 * (exist + new_used) / dem
            } else {
                0.0
            },
            utilisation_pct: if committed > 0.0 {
                100.0 * new_used / committed
            } else {
                0.0
            },
        });
    }
    Ok(points)
}

/// Values summed per calendar day (UTC).
fn daily(values: &[f64], t0: DateTime<Utc>, step: i64) -> Vec<(NaiveDate, f64)> {
    let mut out: Vec<(NaiveDate, f64)> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let d = (t0 + Duration::seconds(step * i as i64)).date_naive();
        match out.last_mut() {
            Some((ld, lv)) if *ld == d => *lv += v,
            _ => out.push((d, *v)),
        }
    }
    out
}

/// Warnings for the plan file's capacity limits that match none of the display series (the
/// plan file's `series.by`): they would otherwise be ignored unseen.
pub(crate) fn unmatched_limits(inp: &Inputs, disp_hist: &[UsageSeries]) -> Vec<String> {
    let plan = &inp.plan;
    plan.limits
        .iter()
        .filter(|l| !disp_hist.iter().any(|s| key_matches(&l.filter, &s.key)))
        .map(|l| {
            let m: Vec<String> = l.filter.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{}: line {}: limit {} on {{{}}} matches none of the report's series (series.by = [{}]): it is ignored; match on dimensions of `series.by` and values present in the data",
                inp.file,
                l.line,
                l.value,
                m.join(", "),
                plan.series.by.join(", ")
            )
        })
        .collect()
}

/// The display series forecast (with the plan's events and capacity limits), largest recent
/// spend first, and their anomalies, largest |z| first.
pub(crate) fn display_series(
    disp_hist: &[UsageSeries],
    inp: &Inputs,
    fsettings: &ForecastSettings,
    start: DateTime<Utc>,
    event_sets: &[EventSet],
    progress: &dyn Progress,
) -> Result<(Vec<SeriesForecast>, Vec<AnomalyRow>), RunError> {
    let plan = &inp.plan;
    let step_s = disp_hist
        .first()
        .map_or(86_400, |s| s.granularity.nominal_seconds());
    let mut dsettings = fsettings.clone();
    dsettings.horizon = plan.horizon.steps(step_s);
    dsettings.backtest_horizon = plan
        .forecast
        .backtest_horizon
        .as_ref()
        .map(|s| s.steps(step_s));
    dsettings.step = plan.forecast.step.as_ref().map(|s| s.steps(step_s));
    let mut forecasts = forecast_many(disp_hist, &dsettings, progress, "forecasting series")?;
    for ev in event_sets {
        forecast::apply_events(ev, &mut forecasts)
            .map_err(|e| RunError::Events(format!("applying {}: {e}", ev.source_name())))?;
    }
    let mut series_out = Vec::new();
    let mut anomalies = Vec::new();
    for (f, h) in forecasts.iter_mut().zip(disp_hist) {
        let mut limit = None;
        for l in &plan.limits {
            if key_matches(&l.filter, &f.key) {
                limit = Some(l.value);
            }
        }
        if let Some(l) = limit {
            f.set_limit(l).map_err(|e| RunError::Forecast {
                series: f.key.to_string(),
                message: e.to_string(),
            })?;
        }
        for a in &f.anomalies {
            anomalies.push(AnomalyRow {
                series: f.key.to_string(),
                start: a.start,
                end: a.end,
                peak_z: a.peak_z,
                size: a.size,
                direction: a.direction.to_string(),
            });
        }
        series_out.push(series_forecast(f, h, limit, start, inp.currency, step_s));
    }
    series_out.sort_by(|a, b| {
        b.recent_spend
            .amount()
            .cmp(&a.recent_spend.amount())
            .then(a.key.cmp(&b.key))
    });
    anomalies.sort_by(|a, b| {
        b.peak_z
            .abs()
            .total_cmp(&a.peak_z.abs())
            .then(a.series.cmp(&b.series))
            .then(a.start.cmp(&b.start))
    });
    Ok((series_out, anomalies))
}

/// One display series thinned for the report: spend over the 90 days before `start`, a
/// year of daily history, the daily p10/p50/p90 forecast, model, accuracy, saturation.
fn series_forecast(
    f: &DemandForecast,
    h: &UsageSeries,
    limit: Option<f64>,
    start: DateTime<Utc>,
    currency: Currency,
    step: i64,
) -> SeriesForecast {
    let recent_from = start - Duration::days(90);
    let recent: Vec<Money> = h
        .cost
        .iter()
        .flatten()
        .enumerate()
        .filter(|(i, _)| h.time_at(*i) >= recent_from)
        .map(|(_, m)| *m)
        .collect();
    let recent_spend = sum_money(recent, currency).unwrap_or(Money::zero(currency));
    let hist_from = h
        .values
        .len()
        .saturating_sub((365 * 86_400 / step) as usize);
    let history = daily(&h.values[hist_from..], h.time_at(hist_from), step);
    let fa = &f.forecast;
    let q = |l: f64| fa.quantile(l).map(<[f64]>::to_vec).unwrap_or_default();
    let (q10, q50, q90) = (q(0.1), q(0.5), q(0.9));
    let d10 = daily(&q10, fa.start, step);
    let d50 = daily(&q50, fa.start, step);
    let d90 = daily(&q90, fa.start, step);
    let forecast_days: Vec<(NaiveDate, f64, f64, f64)> = d50
        .iter()
        .zip(&d10)
        .zip(&d90)
        .map(|((m, lo), hi)| (m.0, lo.1, m.1, hi.1))
        .collect();
    let best = f.candidates.iter().find(|c| c.model == f.model);
    SeriesForecast {
        key: f.key.to_string(),
        unit: f.unit.clone(),
        recent_spend,
        history,
        forecast: forecast_days,
        model: f.model.clone(),
        mase: best.map(|c| c.mase).filter(|m| m.is_finite()),
        coverage80: f.coverage.map(|c| c.coverage80),
        coverage95: f.coverage.map(|c| c.coverage95),
        anomalies: f.anomalies.len(),
        limit,
        saturation_p50: f
            .saturation
            .as_ref()
            .and_then(|s| s.p50_first)
            .map(|t| t.date_naive()),
        saturation_p90: f
            .saturation
            .as_ref()
            .and_then(|s| s.p90_first)
            .map(|t| t.date_naive()),
        notes: f.notes.clone(),
    }
}

/// A demand scenario in words.
pub(crate) fn describe_demand(d: &scenario::DemandScenario) -> String {
    let base = match d.source {
        DemandSource::Forecast => "the forecast distribution".to_string(),
        DemandSource::Quantile(q) => format!("the p{:02.0} forecast trajectory", q * 100.0),
        DemandSource::Multiplier(m) => format!("the forecast distribution × {m}"),
    };
    if d.events.is_empty() {
        base
    } else {
        format!("{base} with {} extra event file(s)", d.events.len())
    }
}

/// A strategy in words.
pub(crate) fn describe_strategy(s: &scenario::Strategy) -> String {
    match &s.kind {
        StrategyKind::None => "buy nothing; existing commitments run off".into(),
        StrategyKind::Recommended { risk, ladder } => {
            let r = match *risk {
                r if r == plan::Risk::CONSERVATIVE => "conservative".to_string(),
                r if r == plan::Risk::AGGRESSIVE => "aggressive".to_string(),
                plan::Risk::Balanced => "balanced".to_string(),
                plan::Risk::Quantile(q) => format!("utilisation quantile {q}"),
                plan::Risk::Cvar(a) => format!("CVaR {a}"),
            };
            match ladder {
                Some(l) => format!(
                    "capplan's optimizer ({r}), long-term purchase laddered {} over {} months",
                    match l.cadence {
                        plan::Cadence::Monthly => "monthly",
                        plan::Cadence::Quarterly => "quarterly",
                    },
                    l.period_months
                ),
                None => format!("capplan's optimizer ({r})"),
            }
        }
        StrategyKind::Coverage { percent, term } => format!(
            "commit {percent} % of mean forecast demand with {} terms",
            match term {
                Term::OneYear => "1-year (renewed yearly)",
                Term::ThreeYears => "3-year",
            }
        ),
        StrategyKind::Purchases(p) => format!("{} listed purchase(s)", p.len()),
        StrategyKind::Lookback { days } => {
            format!("the providers' rule: replay the last {days} days and buy the best level")
        }
    }
}
