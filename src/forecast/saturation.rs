//! Time to saturation: when a forecast first exceeds a capacity limit.

use chrono::{DateTime, TimeDelta, Utc};

use super::ForecastArrays;

/// An invalid saturation query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SaturationError {
    /// The limit is not a positive finite number.
    #[error(
        "capacity limit {0} is not a positive finite number; give the capacity in the series' units, e.g. 1000"
    )]
    Limit(f64),
    /// The step is not positive.
    #[error("step of {0} seconds is not positive; use 3600 for hourly or 86400 for daily data")]
    Step(i64),
    /// A timestamp is outside the representable range.
    #[error(
        "step {step} of a series starting {start} is out of the representable date range; check start and step_seconds"
    )]
    TimeOutOfRange {
        /// Start of the series.
        start: DateTime<Utc>,
        /// The step that overflowed.
        step: usize,
    },
    /// The forecast has no quantiles around the requested level.
    #[error(
        "the forecast has no quantile level {level} (levels {levels:?}); forecast with levels that \
         include or surround {level}"
    )]
    LevelNotCovered {
        /// The level asked for.
        level: f64,
        /// The forecast's levels.
        levels: Vec<f64>,
    },
    /// The forecast's quantile rows do not match its levels.
    #[error("the forecast has {rows} quantile rows for {levels} levels; fix the forecast")]
    BadShape {
        /// Rows.
        rows: usize,
        /// Levels.
        levels: usize,
    },
}

/// When the median and the 90th percentile first exceed a limit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Saturation {
    /// The capacity limit.
    pub limit: f64,
    /// First time the median forecast exceeds the limit (`None` = not
    /// within the horizon).
    pub p50_first: Option<DateTime<Utc>>,
    /// First time the 90th percentile exceeds the limit (comes no later
    /// than `p50_first` when quantiles are ordered).
    pub p90_first: Option<DateTime<Utc>>,
}

fn check_limit(limit: f64) -> Result<(), SaturationError> {
    if !limit.is_finite() || limit <= 0.0 {
        return Err(SaturationError::Limit(limit));
    }
    Ok(())
}

/// First step whose value is strictly above `limit`, with its timestamp
/// `start + step·step_seconds`; `Ok(None)` when no value is. Non-finite
/// values never count as above.
pub fn time_to_saturation(
    start: DateTime<Utc>,
    step_seconds: i64,
    quantile: &[f64],
    limit: f64,
) -> Result<Option<(usize, DateTime<Utc>)>, SaturationError> {
    check_limit(limit)?;
    if step_seconds <= 0 {
        return Err(SaturationError::Step(step_seconds));
    }
    let Some(step) = quantile.iter().position(|v| v.is_finite() && *v > limit) else {
        return Ok(None);
    };
    let at = i64::try_from(step)
        .ok()
        .and_then(|k| k.checked_mul(step_seconds))
        .and_then(TimeDelta::try_seconds)
        .and_then(|d| start.checked_add_signed(d))
        .ok_or(SaturationError::TimeOutOfRange { start, step })?;
    Ok(Some((step, at)))
}

/// The forecast's values at quantile `level`: the row with that level
/// (within 1e-9), or linear interpolation between the surrounding levels.
pub fn quantile_at_level(
    forecast: &ForecastArrays,
    level: f64,
) -> Result<Vec<f64>, SaturationError> {
    let levels = &forecast.levels;
    if forecast.quantiles.len() != levels.len() {
        return Err(SaturationError::BadShape {
            rows: forecast.quantiles.len(),
            levels: levels.len(),
        });
    }
    let not_covered = || SaturationError::LevelNotCovered {
        level,
        levels: levels.clone(),
    };
    if let Some(i) = levels.iter().position(|l| (l - level).abs() <= 1e-9) {
        return Ok(forecast.quantiles[i].clone());
    }
    let hi = levels
        .iter()
        .position(|l| *l > level)
        .ok_or_else(not_covered)?;
    if hi == 0 {
        return Err(not_covered());
    }
    let lo = hi - 1;
    let w = (level - levels[lo]) / (levels[hi] - levels[lo]);
    if !w.is_finite() {
        return Err(not_covered());
    }
    Ok(forecast.quantiles[lo]
        .iter()
        .zip(&forecast.quantiles[hi])
        .map(|(a, b)| a + w * (b - a))
        .collect())
}

impl Saturation {
    /// When the forecast's 50th and 90th percentiles first exceed `limit`
    /// (levels that are not in the forecast are interpolated between the
    /// surrounding ones).
    pub fn from_forecast(forecast: &ForecastArrays, limit: f64) -> Result<Self, SaturationError> {
        check_limit(limit)?;
        let first = |level: f64| -> Result<Option<DateTime<Utc>>, SaturationError> {
            let q = quantile_at_level(forecast, level)?;
            Ok(
                time_to_saturation(forecast.start, forecast.step_seconds, &q, limit)?
                    .map(|(_, t)| t),
            )
        };
        Ok(Self {
            limit,
            p50_first: first(0.5)?,
            p90_first: first(0.9)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn first_step_above_the_limit() {
        let q = [1.0, 5.0, 10.0, 10.5, 30.0, 2.0];
        let r = time_to_saturation(t0(), 3600, &q, 10.0).unwrap();
        assert_eq!(r, Some((3, t0() + TimeDelta::hours(3))));
        let r = time_to_saturation(t0(), 86_400, &q, 0.5).unwrap();
        assert_eq!(r, Some((0, t0())));
        assert_eq!(time_to_saturation(t0(), 86_400, &q, 30.0).unwrap(), None);
        let r = time_to_saturation(t0(), 86_400, &[f64::NAN, 40.0], 30.0).unwrap();
        assert_eq!(r, Some((1, t0() + TimeDelta::days(1))));
        assert_eq!(time_to_saturation(t0(), 3600, &[], 1.0).unwrap(), None);
    }

    #[test]
    fn invalid_inputs_are_errors() {
        for limit in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = time_to_saturation(t0(), 3600, &[1.0], limit).unwrap_err();
            assert!(e.to_string().contains("positive finite"), "{e}");
        }
        assert_eq!(
            time_to_saturation(t0(), 0, &[1.0], 1.0),
            Err(SaturationError::Step(0))
        );
        assert!(matches!(
            time_to_saturation(t0(), i64::MAX, &[0.0, 2.0], 1.0),
            Err(SaturationError::TimeOutOfRange { step: 1, .. })
        ));
    }

    fn forecast() -> ForecastArrays {
        ForecastArrays {
            start: t0(),
            step_seconds: 86_400,
            levels: vec![0.1, 0.5, 0.8, 1.0],
            quantiles: vec![
                vec![1.0, 2.0, 3.0, 4.0],
                vec![2.0, 4.0, 6.0, 8.0],
                vec![3.0, 6.0, 9.0, 12.0],
                vec![5.0, 10.0, 15.0, 20.0],
            ],
            point: vec![2.0, 4.0, 6.0, 8.0],
            paths: vec![],
        }
    }

    #[test]
    fn saturation_from_forecast() {
        let s = Saturation::from_forecast(&forecast(), 7.0).unwrap();
        assert_eq!(s.limit, 7.0);
        // p50 exceeds 7 at step 3.
        assert_eq!(s.p50_first, Some(t0() + TimeDelta::days(3)));
        // p90 = halfway between 0.8 and 1.0: [4, 8, 12, 16] → step 1.
        assert_eq!(s.p90_first, Some(t0() + TimeDelta::days(1)));
        let s = Saturation::from_forecast(&forecast(), 100.0).unwrap();
        assert_eq!((s.p50_first, s.p90_first), (None, None));
    }

    #[test]
    fn levels_must_cover_the_request() {
        let mut f = forecast();
        f.levels = vec![0.1, 0.5, 0.7, 0.8];
        let e = Saturation::from_forecast(&f, 7.0).unwrap_err();
        assert!(matches!(e, SaturationError::LevelNotCovered { level, .. } if level == 0.9));
        assert_eq!(
            quantile_at_level(&forecast(), 0.5).unwrap(),
            forecast().quantiles[1]
        );
        assert!(quantile_at_level(&forecast(), 0.05).is_err());
        let mut bad = forecast();
        bad.levels.pop();
        assert!(matches!(
            quantile_at_level(&bad, 0.5),
            Err(SaturationError::BadShape { rows: 4, levels: 3 })
        ));
    }
}
