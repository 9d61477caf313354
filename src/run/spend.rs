//! Spend-based pools (Savings Plans, spend CUDs, Azure savings plans): their SKUs'
//! on-demand-equivalent spend from the bill (list cost, hourly, committed usage included),
//! the RI plan and the commitments held applied first, and [`plan::spend`] on top →
//! `report::SpendPoolView`.

use chrono::Duration;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::inputs::{Bill, Inputs};
use super::pools::PoolRun;
use super::{Frame, RunError};
use crate::ingest::{AggregateOptions, Measure};
use crate::money::{Currency, Money, Rate};
use crate::plan::spend::{
    NewReservation, SpendFrame, SpendPlan, SpendPoolInput, existing_plans, level_cap,
    plan_spend_pool, reservation_layers, sku_histories,
};
use crate::pricing::Pool;
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
) -> Result<(Vec<SpendPoolView>, Vec<super::pools::Skipped>), RunError> {
    let pools: Vec<&Pool> = inp
        .card
        .pools()
        .iter()
        .filter(|p| p.is_spend_pool())
        .collect();
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
        let Some((skus, hist)) = sku_histories(pool, &history) else {
            skipped.push((
                pool.id().to_owned(),
                "no list (on-demand-equivalent) cost in the bill matches it".to_owned(),
            ));
            continue;
        };
        let len = hist[0].len();
        let hist_start = frame.start - Duration::hours(len as i64);
        let new: Vec<NewReservation> = runs
            .iter()
            .flat_map(|r| {
                r.strategies
                    .get(primary_idx)
                    .into_iter()
                    .flatten()
                    .map(|p| NewReservation {
                        pool_id: r.pool_id.clone(),
                        start_hour: p.start_hour,
                        term_hours: p.offer.term_hours,
                        quantity: p.quantity,
                        effective_hourly: p.offer.effective_hourly.try_into().unwrap_or(0.0),
                    })
            })
            .collect();
        let caps: Vec<(String, f64)> = runs
            .iter()
            .map(|r| {
                (
                    r.pool_id.clone(),
                    level_cap(&r.result.sizing, r.result.existing_units_now),
                )
            })
            .collect();
        let frame_in = SpendFrame {
            start: frame.start,
            hist_start,
            hist_len: len,
            horizon_hours: frame.horizon_hours,
        };
        let input = SpendPoolInput {
            card: &inp.card,
            pool,
            reservations: reservation_layers(
                &inp.card,
                &inp.inventory,
                &skus,
                &frame_in,
                &new,
                &caps,
            ),
            existing: existing_plans(&inp.inventory, pool, &skus, &frame_in),
            skus,
            history: hist,
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
        .or(if plan.options.is_empty() {
            None
        } else {
            Some(0)
        })
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
            persist_total: money(p.persist_total, cur)?,
            chosen: p.chosen,
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
