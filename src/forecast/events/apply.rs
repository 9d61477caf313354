//! Applying a [`Plan`] to forecasts: local events per series
//! ([`Plan::apply_local`]), migrations between series
//! ([`Plan::apply_migrations`]) or both ([`Plan::apply_all`]), with the
//! shape and alignment checks that report misuse as [`ApplyError`].

use chrono::{DateTime, Utc};

use super::{Adjustment, ApplyError, Plan, Timing};
use crate::forecast::ForecastArrays;

/// Tolerance used when comparing quantile levels of donor and target.
const LEVEL_TOLERANCE: f64 = 1e-9;

/// Clamps at 0 but keeps NaN (a missing value stays missing).
fn clamp0(x: f64) -> f64 {
    if x < 0.0 { 0.0 } else { x }
}

/// Checks that a forecast's arrays fit together; returns the horizon.
fn check_shape(series: usize, f: &ForecastArrays) -> Result<usize, ApplyError> {
    let bad = |problem: String| ApplyError::BadShape { series, problem };
    if f.step_seconds <= 0 {
        return Err(bad(format!(
            "step_seconds is {}, not positive",
            f.step_seconds
        )));
    }
    let h = f.point.len();
    if f.quantiles.len() != f.levels.len() {
        return Err(bad(format!(
            "{} quantile rows for {} levels",
            f.quantiles.len(),
            f.levels.len()
        )));
    }
    if let Some((l, row)) = f.quantiles.iter().enumerate().find(|(_, r)| r.len() != h) {
        return Err(bad(format!(
            "quantile row {l} has {} steps, point has {h}",
            row.len()
        )));
    }
    if let Some((p, row)) = f.paths.iter().enumerate().find(|(_, r)| r.len() != h) {
        return Err(bad(format!(
            "sample path {p} has {} steps, point has {h}",
            row.len()
        )));
    }
    if h > 0 {
        let last = i64::try_from(h - 1)
            .ok()
            .and_then(|k| k.checked_mul(f.step_seconds))
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|d| f.start.checked_add_signed(d));
        if last.is_none() {
            return Err(bad("the last step's timestamp is out of range".to_string()));
        }
    }
    Ok(h)
}

/// Timestamp of step `k` (checked by [`check_shape`] beforehand).
fn step_time(f: &ForecastArrays, k: usize) -> DateTime<Utc> {
    let secs = (k as i64).saturating_mul(f.step_seconds);
    chrono::TimeDelta::try_seconds(secs)
        .and_then(|d| f.start.checked_add_signed(d))
        .unwrap_or(f.start)
}

/// Applies `value·factor[k] + add[k]` (clamped at 0) to every array.
fn transform(f: &mut ForecastArrays, k: usize, factor: f64, add: f64) {
    let map = |x: f64| clamp0(x * factor + add);
    for row in f.quantiles.iter_mut().chain(f.paths.iter_mut()) {
        row[k] = map(row[k]);
    }
    f.point[k] = map(f.point[k]);
}

impl Plan {
    fn check_series(&self, series: usize) -> Result<(), ApplyError> {
        if series >= self.series.len() {
            return Err(ApplyError::SeriesOutOfRange {
                series,
                planned: self.series.len(),
            });
        }
        Ok(())
    }

    fn event_name(&self, event: usize) -> String {
        self.event_names.get(event).cloned().unwrap_or_default()
    }

    /// Phase 1: applies launch, growth and decommission events to
    /// `forecast` (series `series`): `x·Π factors + Σ amounts`, clamped at 0.
    pub fn apply_local(
        &self,
        series: usize,
        forecast: &mut ForecastArrays,
    ) -> Result<(), ApplyError> {
        self.check_series(series)?;
        let h = check_shape(series, forecast)?;
        let local: Vec<&Adjustment> = self.series[series]
            .iter()
            .filter(|a| !a.is_migration())
            .collect();
        if local.is_empty() {
            return Ok(());
        }
        for k in 0..h {
            let t = step_time(forecast, k);
            let mut factor = 1.0;
            let mut add = 0.0;
            for a in &local {
                match a {
                    Adjustment::Scale {
                        factor: m, timing, ..
                    } => factor *= 1.0 + (m - 1.0) * timing.ramp_at(t),
                    Adjustment::Add { amount, timing, .. } => add += amount * timing.ramp_at(t),
                    Adjustment::Compound {
                        rate_per_year,
                        timing,
                        ..
                    } => factor *= (1.0 + rate_per_year).powf(timing.years_at(t)),
                    Adjustment::Outflow { .. } | Adjustment::Inflow { .. } => {}
                }
            }
            transform(forecast, k, factor, add);
        }
        Ok(())
    }

    /// Total share leaving `series` at `t` (before scaling down to 1).
    fn outflow_share(&self, series: usize, t: DateTime<Utc>) -> f64 {
        self.adjustments(series)
            .iter()
            .map(|a| match a {
                Adjustment::Outflow { share, timing, .. } => share * timing.ramp_at(t),
                _ => 0.0,
            })
            .sum()
    }

    /// Phase 2: applies migrations to `forecast` (series `series`), which
    /// must hold its pre-migration values (after [`Plan::apply_local`]).
    /// `donor(i)` returns the pre-migration forecast of donor series `i`; it
    /// is asked only for series listed in this series' inflows.
    pub fn apply_migrations<'a, F>(
        &self,
        series: usize,
        forecast: &mut ForecastArrays,
        donor: F,
    ) -> Result<(), ApplyError>
    where
        F: Fn(usize) -> Option<&'a ForecastArrays>,
    {
        self.check_series(series)?;
        let h = check_shape(series, forecast)?;
        let inflows: Vec<(usize, f64, Timing, &ForecastArrays)> = self.series[series]
            .iter()
            .filter_map(|a| match a {
                Adjustment::Inflow {
                    event,
                    share,
                    timing,
                    donor: d,
                } => Some((*event, *share, *timing, *d)),
                _ => None,
            })
            .map(|(event, share, timing, d)| {
                let f = donor(d).ok_or_else(|| ApplyError::MissingDonor {
                    event: self.event_name(event),
                    donor: d,
                    target: series,
                })?;
                check_shape(d, f)?;
                check_aligned(forecast, f).map_err(|problem| ApplyError::Misaligned {
                    event: self.event_name(event),
                    donor: d,
                    target: series,
                    problem,
                })?;
                Ok((d, share, timing, f))
            })
            .collect::<Result<_, ApplyError>>()?;
        let has_outflow = self.is_donor(series);
        if inflows.is_empty() && !has_outflow {
            return Ok(());
        }
        for k in 0..h {
            let t = step_time(forecast, k);
            let out = self.outflow_share(series, t);
            let keep = 1.0 - out.min(1.0);
            transform(forecast, k, keep, 0.0);
            for &(d, share, timing, f) in &inflows {
                let donor_out = self.outflow_share(d, t);
                let scale = if donor_out > 1.0 {
                    1.0 / donor_out
                } else {
                    1.0
                };
                let w = share * timing.ramp_at(t) * scale;
                if w == 0.0 {
                    continue;
                }
                for (row, src) in forecast.quantiles.iter_mut().zip(&f.quantiles) {
                    row[k] = clamp0(row[k] + w * src[k]);
                }
                for (row, src) in forecast.paths.iter_mut().zip(&f.paths) {
                    row[k] = clamp0(row[k] + w * src[k]);
                }
                forecast.point[k] = clamp0(forecast.point[k] + w * f.point[k]);
            }
        }
        Ok(())
    }

    /// Applies both phases to every forecast; `forecasts[i]` belongs to
    /// `keys[i]` of [`EventSet::plan`](super::EventSet::plan).
    pub fn apply_all(&self, forecasts: &mut [ForecastArrays]) -> Result<(), ApplyError> {
        if forecasts.len() != self.series.len() {
            return Err(ApplyError::CountMismatch {
                planned: self.series.len(),
                given: forecasts.len(),
            });
        }
        for (i, f) in forecasts.iter_mut().enumerate() {
            self.apply_local(i, f)?;
        }
        if !self.has_migrations() {
            return Ok(());
        }
        let pre: Vec<Option<ForecastArrays>> = forecasts
            .iter()
            .enumerate()
            .map(|(i, f)| self.is_donor(i).then(|| f.clone()))
            .collect();
        for (i, f) in forecasts.iter_mut().enumerate() {
            self.apply_migrations(i, f, |d| pre.get(d).and_then(Option::as_ref))?;
        }
        Ok(())
    }
}

/// Describes how `donor` differs from `target`, if it does.
fn check_aligned(target: &ForecastArrays, donor: &ForecastArrays) -> Result<(), String> {
    if target.start != donor.start {
        return Err(format!("start {} vs {}", donor.start, target.start));
    }
    if target.step_seconds != donor.step_seconds {
        return Err(format!(
            "step {} s vs {} s",
            donor.step_seconds, target.step_seconds
        ));
    }
    if target.point.len() != donor.point.len() {
        return Err(format!(
            "horizon {} vs {} steps",
            donor.point.len(),
            target.point.len()
        ));
    }
    let same_levels = target.levels.len() == donor.levels.len()
        && target
            .levels
            .iter()
            .zip(&donor.levels)
            .all(|(a, b)| (a - b).abs() <= LEVEL_TOLERANCE);
    if !same_levels {
        return Err(format!("levels {:?} vs {:?}", donor.levels, target.levels));
    }
    if target.paths.len() != donor.paths.len() {
        return Err(format!(
            "{} vs {} sample paths",
            donor.paths.len(),
            target.paths.len()
        ));
    }
    Ok(())
}
