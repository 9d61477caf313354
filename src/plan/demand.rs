//! A demand scenario of one pool: how its [`Demand`] is derived from the forecasts.
//!
//! The **base** demand is the sample paths of the forecast distribution (with the plan's
//! events) summed over the series a pool covers ([`super::pool_demand`]). A demand scenario
//! takes it as is ([`DemandSource::Forecast`]), scales every path
//! ([`DemandSource::Multiplier`]), or replaces the distribution by one quantile trajectory
//! ([`DemandSource::Quantile`], a single path); extra events ([`with_events`]) change the
//! forecasts it starts from.

use super::{Demand, PlanError, pool_demand};
use crate::forecast::{self, DemandForecast, events::EventSet};
use crate::pricing::Pool;

/// How a demand scenario's demand is derived from the forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemandSource {
    /// The forecast distribution itself (the sample paths).
    Forecast,
    /// One quantile trajectory of the forecast (a level the forecasts carry, e.g. 0.9).
    Quantile(f64),
    /// The forecast distribution scaled by a factor (> 0), e.g. 1.2 = 20 % more demand.
    Multiplier(f64),
}

/// What every demand scenario of a pool starts from.
#[derive(Debug, Clone, Copy)]
pub struct BaseDemand<'a> {
    /// The pool's base demand (sample paths, pool units per hour).
    pub demand: &'a Demand,
    /// The forecasts the base demand was drawn from (every series, not only the pool's).
    pub forecasts: &'a [DemandForecast],
    /// Sample paths per pool.
    pub paths: usize,
    /// Seed of the sample paths (the same for every pool, so pools move together).
    pub seed: u64,
    /// Hours planned.
    pub horizon_hours: usize,
}

/// Why extra events could not be applied.
#[derive(Debug, Clone, thiserror::Error)]
#[error("applying {file}: {message}")]
pub struct EventsError {
    /// The events file, as named in its set.
    pub file: String,
    /// Why.
    pub message: String,
}

/// The demand of `pool` under a demand scenario: `source` applied to the base demand, or to
/// the demand drawn (same paths and seed) from `with_events` — the forecasts with the
/// scenario's extra events — when given.
///
/// # Errors
///
/// [`PlanError`] when the sample paths cannot be drawn.
pub fn scenario_demand(
    pool: &Pool,
    source: DemandSource,
    with_events: Option<&[DemandForecast]>,
    base: &BaseDemand<'_>,
) -> Result<Demand, PlanError> {
    let drawn = |f: Option<&[DemandForecast]>| -> Result<Demand, PlanError> {
        Ok(match f {
            None => base.demand.clone(),
            Some(f) => pool_demand(pool, f, base.paths, base.seed)?
                .map_or_else(|| base.demand.clone(), |x| x.0),
        })
    };
    Ok(match source {
        DemandSource::Forecast => drawn(with_events)?,
        DemandSource::Multiplier(m) => {
            let mut dm = drawn(with_events)?;
            for p in &mut dm.paths {
                for v in p.iter_mut() {
                    *v *= m;
                }
            }
            dm
        }
        DemandSource::Quantile(q) => Demand::single(quantile_trajectory(
            pool,
            with_events.unwrap_or(base.forecasts),
            q,
            base.horizon_hours,
        )),
    })
}

/// The `q` trajectory of the pool's series summed in pool units (negative quantiles count
/// as zero); series without that level add nothing.
pub fn quantile_trajectory(
    pool: &Pool,
    forecasts: &[DemandForecast],
    q: f64,
    horizon_hours: usize,
) -> Vec<f64> {
    let mut v = vec![0.0; horizon_hours];
    for fc in forecasts
        .iter()
        .filter(|fc| pool.covers_series(&fc.key, &fc.unit))
    {
        if let Some(qs) = fc.forecast.quantile(q) {
            for (t, x) in v.iter_mut().enumerate() {
                *x += pool.to_pool_units_of(&fc.key, qs[t].max(0.0));
            }
        }
    }
    v
}

/// `base` with every set of `sets` applied in order; the warnings as text.
///
/// # Errors
///
/// [`EventsError`] naming the set that could not be applied.
pub fn with_events(
    base: &[DemandForecast],
    sets: &[EventSet],
) -> Result<(Vec<DemandForecast>, Vec<String>), EventsError> {
    let mut f = base.to_vec();
    let mut warnings = Vec::new();
    for set in sets {
        let w = forecast::apply_events(set, &mut f).map_err(|e| EventsError {
            file: set.source_name().to_owned(),
            message: e.to_string(),
        })?;
        warnings.extend(w.iter().map(ToString::to_string));
    }
    Ok((f, warnings))
}

#[cfg(test)]
#[path = "demand_tests.rs"]
mod tests;
