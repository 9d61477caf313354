//! Spend-based pools (Savings Plans, spend CUDs, Azure savings plans): their SKUs'
//! on-demand-equivalent spend from the bill (list cost, hourly, committed usage included),
//! the RI plan and the commitments held applied first, and [`plan::spend`] on top →
//! `report::SpendPoolView`.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::inputs::{Bill, Inputs};
use super::pools::PoolRun;
use super::{Frame, RunError};
use crate::ingest::{AggregateOptions, Measure};
use crate::money::{Currency, Money, Rate};
use crate::plan::spend::{ExistingPlan, ReservationLayer, SpendPlan, SpendPoolInput, plan_spend_pool};
use crate::pricing::{Pool, Term};
use crate::report::{SpendOptionRow, SpendPoolView, SpendPortfolioRow};
use crate::series::{Granularity, cut_before};

/// Plans every spend-based pool of the card on the bill's hourly list cost. Pools whose
/// SKUs have no spend are returned as skipped with the reason.
pub(crate) fn spend_pools(
    inp: &Inputs,
    bill: &Bill,
    frame: &Frame,
    runs: &[PoolRun],
    primary_idx: usize,
) -> Result<(Vec<SpendPoolView>, Vec<(String, String)>), RunError> {
    let pools: Vec<&Pool> = inp.card.pools().iter().filter(|p| p.is_spend_pool()).collect();
    if pools.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let list = bill.loaded.aggregate(&AggregateOptions {
        by: bill.pool_dims.clone(),
        granularity: Some(Granularity::Hour),
        filters: bill.filters.clone(),
        measure: Measure::ListCost,
    })?;
    let history = cut_before(&list.series, frame.start);
    let (mut views, mut skipped) = (Vec::new(), Vec::new());
    for pool in pools {
        let series: Vec<_> = history
            .iter()
            .filter(|s| pool.match_rule().selector().matches(&s.key))
            .filter(|s| s.values.iter().any(|v| *v > 0.0))
            .collect();
        if series.is_empty() {
            skipped.push((
                pool.id().to_owned(),
                "no list (on-demand-equivalent) cost in the bill matches it".to_owned(),
            ));
            continue;
        }
        // Align every SKU's history to end at the start (leading zeros where it began later).
        let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
        let hist_start = frame.start - Duration::hours(len as i64);
        let hist: Vec<Vec<f64>> = series
            .iter()
            .map(|s| {
                let mut v = vec![0.0; len - s.values.len()];
                v.extend(&s.values);
                v
            })
            .collect();
        let skus: Vec<_> = series.iter().map(|s| s.key.clone()).collect();
        let reservations = reservations(inp, runs, primary_idx, &skus, frame, hist_start, len);
        let existing = existing_plans(inp, pool, &skus, frame, hist_start, len);
        let input = SpendPoolInput {
            card: &inp.card,
            pool,
            skus,
            history: hist,
            reservations,
            existing,
            horizon_hours: frame.horizon_hours,
            paths: inp.plan.forecast.paths,
            seed: inp.plan.forecast.seed,
            cost_of_capital: inp.plan.cost_of_capital,
        };
        let plan = plan_spend_pool(&input)?;
        views.push(view(&plan, pool.currency())?);
    }
    Ok((views, skipped))
}

/// Every reservation pool's coverage of the spend pool's SKUs: existing reservations and the
/// primary strategy's purchases, in on-demand-equivalent money per hour.
fn reservations(
    inp: &Inputs,
    runs: &[PoolRun],
    primary_idx: usize,
    skus: &[crate::series::SeriesKey],
    frame: &Frame,
    hist_start: DateTime<Utc>,
    hist_len: usize,
) -> Vec<ReservationLayer> {
    let hours = frame.horizon_hours;
    let mut out = Vec::new();
    for pool in inp.card.pools().iter().filter(|p| !p.is_spend_pool()) {
        let covered: Vec<usize> = skus
            .iter()
            .enumerate()
            .filter(|(_, k)| pool.match_rule().selector().matches(k))
            .map(|(j, _)| j)
            .collect();
        if covered.is_empty() {
            continue;
        }
        let od: f64 = pool.on_demand_rate().try_into().unwrap_or(0.0);
        let existing: Vec<f64> = inp
            .inventory
            .coverage(pool.id(), frame.start, hours)
            .into_iter()
            .map(|u| u * od)
            .collect();
        let history: Vec<f64> = inp
            .inventory
            .coverage(pool.id(), hist_start, hist_len)
            .into_iter()
            .map(|u| u * od)
            .collect();
        let mut new = vec![0.0; hours];
        let mut new_fees = 0.0;
        if let Some(run) = runs.iter().find(|r| r.pool_id == pool.id())
            && let Some(purchases) = run.strategies.get(primary_idx)
        {
            for p in purchases {
                let end = p.start_hour.saturating_add(p.offer.term_hours).min(hours);
                for slot in new.iter_mut().take(end).skip(p.start_hour) {
                    *slot += p.quantity * od;
                }
                let rate: f64 = p.offer.effective_hourly.try_into().unwrap_or(0.0);
                new_fees += p.quantity * rate * p.offer.term_hours as f64;
            }
        }
        out.push(ReservationLayer {
            pool_id: pool.id().to_owned(),
            skus: covered,
            existing,
            new,
            new_fees,
            history,
        });
    }
    out
}

/// The plans the spend pool holds, each with its per-SKU rates (the card's offer of the same
/// kind, payment and term when there is one, else its own rate on every SKU).
fn existing_plans(
    inp: &Inputs,
    pool: &Pool,
    skus: &[crate::series::SeriesKey],
    frame: &Frame,
    hist_start: DateTime<Utc>,
    hist_len: usize,
) -> Vec<ExistingPlan> {
    inp.inventory
        .for_pool(pool.id())
        .map(|c| {
            let days = (c.end() - c.start()).num_days();
            let term = if days > 400 { Term::ThreeYears } else { Term::OneYear };
            let offer = pool.offers().iter().find(|o| {
                o.kind() == c.kind() && Some(o.payment()) == c.payment() && o.term() == term
            });
            let own: f64 = c.hourly_rate().try_into().unwrap_or(1.0);
            let ratio = skus
                .iter()
                .map(|k| {
                    let r = match offer {
                        Some(o) => 1.0 - f64::try_from(pool.discount_on(o, k)).unwrap_or(0.0),
                        None => own,
                    };
                    Some(r.clamp(f64::MIN_POSITIVE, 1.0))
                })
                .collect();
            let per_hour = c.quantity() * own;
            let profile = |from: DateTime<Utc>, n: usize| -> Vec<f64> {
                (0..n)
                    .map(|h| {
                        if c.is_active_at(from + Duration::hours(h as i64)) {
                            per_hour
                        } else {
                            0.0
                        }
                    })
                    .collect()
            };
            ExistingPlan {
                id: c.id().to_owned(),
                ratio,
                horizon: profile(frame.start, frame.horizon_hours),
                history: profile(hist_start, hist_len),
            }
        })
        .collect()
}

/// Money of an expected amount (f64 money from the paths) through the one rate rule.
fn money(v: f64, cur: Currency) -> Result<Money, RunError> {
    Ok(Rate::new(Money::new(Decimal::ONE, cur))
        .cost_of(v)
        .map_err(|e| RunError::Data(e.to_string()))?
        .round())
}

/// A commitment per hour as AWS accepts it (0.001 increments), half-even.
fn per_hour(v: f64) -> Decimal {
    Decimal::from_f64(v)
        .unwrap_or_default()
        .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

fn view(plan: &SpendPlan, cur: Currency) -> Result<SpendPoolView, RunError> {
    let mut options = Vec::new();
    for (i, o) in plan.options.iter().enumerate() {
        options.push(SpendOptionRow {
            offer: o.offer_id.clone(),
            term: if o.term_hours >= 3 * 8760 { "3y" } else { "1y" }.to_owned(),
            hours: o.hours,
            discount_low: o.discount_range.0,
            discount_high: o.discount_range.1,
            commitment: per_hour(o.sweep.optimum.commitment),
            savings: money(o.sweep.optimum.savings, cur)?,
            coverage: o.sweep.optimum.coverage,
            utilisation: o.sweep.optimum.utilisation,
            lookback: match &o.lookback {
                Some(l) => Some((
                    per_hour(l.commitment),
                    money(l.savings, cur)?,
                    l.coverage,
                    l.utilisation,
                )),
                None => None,
            },
            chosen: plan.chosen == Some(i),
        });
    }
    let curve = plan
        .chosen
        .or(if plan.options.is_empty() { None } else { Some(0) })
        .map(|k| {
            plan.options[k]
                .sweep
                .curve
                .iter()
                .map(|p| (p.commitment, p.savings, p.coverage, p.utilisation))
                .collect()
        })
        .unwrap_or_default();
    let mut portfolios = Vec::new();
    for p in &plan.portfolios {
        portfolios.push(SpendPortfolioRow {
            name: p.name.clone(),
            commitment: per_hour(p.commitment),
            ri_fees: money(p.ri_fees, cur)?,
            plan_fees: money(p.plan_fees, cur)?,
            on_demand: money(p.on_demand, cur)?,
            total: money(p.total, cur)?,
        });
    }
    Ok(SpendPoolView {
        pool: plan.pool_id.clone(),
        skus: plan.skus.iter().map(|k| short_key(k)).collect(),
        paths: plan.paths,
        repeated: plan.repeated.iter().map(|k| short_key(k)).collect(),
        existing_now: per_hour(plan.existing_now),
        demand: money(plan.demand, cur)?,
        options,
        curve,
        portfolios,
    })
}

/// `instance_type=m6i.large,region=us-east-1,service=EC2` → `EC2 us-east-1 m6i.large`
/// (values only, service first, `(none)` left out).
fn short_key(k: &str) -> String {
    let mut parts: Vec<(&str, &str)> = k
        .split(',')
        .filter_map(|p| p.split_once('='))
        .filter(|(_, v)| *v != "(none)")
        .collect();
    parts.sort_by_key(|(d, _)| match *d {
        "service" => 0,
        "region" => 1,
        _ => 2,
    });
    parts.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" ")
}
