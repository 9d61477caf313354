//! Conformal calibration of forecast quantiles from backtest errors.
//!
//! For each horizon step `k` the calibrator pools the scaled backtest errors
//! `(actual - point) / scale` of step `k` across windows. When fewer than
//! [`ConformalConfig::min_samples`] are available it widens the pool to steps
//! `k - r ..= k + r` until there are enough. A calibrated quantile at level
//! `tau` is `point[k] + scale * q_k(tau)`, where `q_k` is a split-conformal
//! order statistic of the pool ([`CalibrationMode`] says which): tail
//! quantiles are slightly conservative in small samples. Quantiles are then
//! clamped at zero and made non-decreasing across levels (non-crossing).

use super::{
    ForecastError, Result,
    backtest::{BacktestResult, WindowResult},
    check_level,
    models::Interval,
    stats::{quantile_sorted, sorted_finite},
};

/// The quantile levels delivered with every forecast: p05, p10, p25, p50,
/// p75, p90, p95.
pub const STANDARD_LEVELS: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// Standard levels plus p02.5/p97.5, needed to evaluate 95 % coverage.
pub const EVAL_LEVELS: [f64; 9] = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975];

/// Which order statistic of the pooled errors a quantile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CalibrationMode {
    /// Symmetric around the point forecast: quantile `tau` is
    /// `point ± scale * Q(|e|)` at rank `ceil((n + 1) * |2 tau - 1|)`; p50 is
    /// the point. Every tail bound uses the whole sample, so it is the more
    /// robust choice with few backtest windows (best on the hold-out study).
    #[default]
    Symmetric,
    /// Signed-error quantiles: rank `ceil((n + 1) tau)` above the median,
    /// `floor((n + 1) tau)` below it, type-7 median. Captures bias and skew
    /// but each tail only sees its own side of the sample.
    Asymmetric,
}

/// Calibration settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConformalConfig {
    /// Errors wanted per step before neighbouring steps are pooled (40:
    /// enough for the 0.975 rank in asymmetric mode).
    pub min_samples: usize,
    /// Largest pooling radius (steps either side).
    pub max_radius: usize,
    /// Symmetric or asymmetric quantiles.
    pub mode: CalibrationMode,
}

impl Default for ConformalConfig {
    fn default() -> Self {
        Self {
            min_samples: 40,
            max_radius: 24,
            mode: CalibrationMode::Symmetric,
        }
    }
}

/// Per-step pooled error distributions.
#[derive(Debug, Clone)]
pub struct Calibrator {
    pooled: Vec<Vec<f64>>,
    abs_pooled: Vec<Vec<f64>>,
    radius: Vec<usize>,
    windows: usize,
    mode: CalibrationMode,
}

impl Calibrator {
    /// Build from scaled errors laid out `[window][step]` (`NaN` = missing).
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidConfig`] for no windows or ragged rows;
    /// [`ForecastError::NoCalibrationData`] when a step has no finite error
    /// even after pooling.
    pub fn from_scaled_errors(errors: &[Vec<f64>], cfg: &ConformalConfig) -> Result<Self> {
        let h = errors.first().map(Vec::len).unwrap_or(0);
        if h == 0 || errors.iter().any(|e| e.len() != h) {
            return Err(ForecastError::InvalidConfig(
                "calibration needs at least one window of equal-length errors".to_owned(),
            ));
        }
        let counts: Vec<usize> = (0..h)
            .map(|k| errors.iter().filter(|e| e[k].is_finite()).count())
            .collect();
        let mut pooled = Vec::with_capacity(h);
        let mut radius = Vec::with_capacity(h);
        for k in 0..h {
            let mut r = 0;
            loop {
                let (lo, hi) = (k.saturating_sub(r), (k + r).min(h - 1));
                let n: usize = counts[lo..=hi].iter().sum();
                let whole = lo == 0 && hi == h - 1;
                if n >= cfg.min_samples || r >= cfg.max_radius || whole {
                    break;
                }
                r += 1;
            }
            let (lo, hi) = (k.saturating_sub(r), (k + r).min(h - 1));
            let sample = sorted_finite(errors.iter().flat_map(|e| e[lo..=hi].iter().copied()));
            if sample.is_empty() {
                return Err(ForecastError::NoCalibrationData(k));
            }
            pooled.push(sample);
            radius.push(r);
        }
        let abs_pooled = pooled
            .iter()
            .map(|s| sorted_finite(s.iter().map(|e| e.abs())))
            .collect();
        Ok(Self {
            pooled,
            abs_pooled,
            radius,
            windows: errors.len(),
            mode: cfg.mode,
        })
    }

    /// Build from all windows of a backtest.
    ///
    /// # Errors
    ///
    /// As [`Calibrator::from_scaled_errors`].
    pub fn from_backtest(result: &BacktestResult, cfg: &ConformalConfig) -> Result<Self> {
        Self::from_scaled_errors(&result.scaled_errors(), cfg)
    }

    /// Build from a subset of backtest windows.
    ///
    /// # Errors
    ///
    /// As [`Calibrator::from_scaled_errors`].
    pub fn from_windows<'a>(
        windows: impl IntoIterator<Item = &'a WindowResult>,
        cfg: &ConformalConfig,
    ) -> Result<Self> {
        let errors: Vec<Vec<f64>> = windows
            .into_iter()
            .map(WindowResult::scaled_errors)
            .collect();
        Self::from_scaled_errors(&errors, cfg)
    }

    /// Calibrated horizon.
    pub fn horizon(&self) -> usize {
        self.pooled.len()
    }

    /// Number of backtest windows used.
    pub fn windows(&self) -> usize {
        self.windows
    }

    /// The sorted pooled scaled errors for `step`.
    pub fn samples(&self, step: usize) -> &[f64] {
        &self.pooled[step]
    }

    /// Pooling radius used for `step`.
    pub fn radius(&self, step: usize) -> usize {
        self.radius[step]
    }

    /// Conformal quantile of the scaled error at `step` and level `tau`.
    pub fn error_quantile(&self, step: usize, tau: f64) -> f64 {
        if self.mode == CalibrationMode::Symmetric {
            if tau == 0.5 {
                return 0.0;
            }
            let a = &self.abs_pooled[step];
            let n = a.len();
            let rank = (((n + 1) as f64 * (2.0 * tau - 1.0).abs()) - 1e-9).ceil() as usize;
            let q = a[rank.clamp(1, n) - 1];
            return if tau < 0.5 { -q } else { q };
        }
        let s = &self.pooled[step];
        let n = s.len();
        let x = (n + 1) as f64 * tau;
        let rank = if tau < 0.5 {
            (x + 1e-9).floor() as usize
        } else if tau > 0.5 {
            (x - 1e-9).ceil() as usize
        } else {
            return quantile_sorted(s, 0.5);
        };
        s[rank.clamp(1, n) - 1]
    }

    /// Calibrated quantiles of `point` (forecast whose training scale is
    /// `scale`) at `levels`.
    ///
    /// Steps beyond the calibrated horizon `H` (long planning horizons are
    /// longer than any backtest window) are extrapolated: the error quantile
    /// of the last calibrated step grows like `sqrt((k + 1) / H)`, the
    /// spread of a random-walk level error. Those steps are not calibrated
    /// and callers must say so ([`Calibrator::horizon`] tells where it ends).
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidLevel`] for a bad level.
    pub fn calibrate(&self, point: &[f64], scale: f64, levels: &[f64]) -> Result<QuantileForecast> {
        let levels = sorted_levels(levels)?;
        let h = self.horizon();
        let values = levels
            .iter()
            .map(|&tau| {
                let last = self.error_quantile(h - 1, tau);
                point
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        let q = if k < h {
                            self.error_quantile(k, tau)
                        } else {
                            last * ((k + 1) as f64 / h as f64).sqrt()
                        };
                        p + scale * q
                    })
                    .collect()
            })
            .collect();
        Ok(QuantileForecast::new(levels, point.to_vec(), values))
    }
}

/// Validate, sort and de-duplicate quantile levels.
fn sorted_levels(levels: &[f64]) -> Result<Vec<f64>> {
    for &l in levels {
        check_level(l)?;
    }
    let mut v = levels.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.is_empty() {
        return Err(ForecastError::InvalidConfig(
            "no quantile levels".to_owned(),
        ));
    }
    Ok(v)
}

/// Quantile forecast: for each level, one value per horizon step.
/// Non-crossing (non-decreasing in the level) and non-negative.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileForecast {
    /// Quantile levels, ascending.
    pub levels: Vec<f64>,
    /// The model's point forecast (kept for reference; p50 may differ).
    pub point: Vec<f64>,
    /// `values[j][k]`: quantile `levels[j]` at step `k`.
    pub values: Vec<Vec<f64>>,
}

impl QuantileForecast {
    /// Assemble, clamping at zero and removing quantile crossings.
    pub(crate) fn new(levels: Vec<f64>, point: Vec<f64>, mut values: Vec<Vec<f64>>) -> Self {
        for k in 0..point.len() {
            let mut floor = 0.0f64;
            for row in &mut values {
                floor = floor.max(row[k]);
                row[k] = floor;
            }
        }
        Self {
            levels,
            point,
            values,
        }
    }

    /// Uncalibrated quantiles implied by a model's symmetric intervals
    /// (level `L` gives quantiles `(1 - L) / 2` and `(1 + L) / 2`; the point
    /// forecast is the median). Used when a series is too short to backtest.
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidLevel`] for an interval with a bad level.
    pub fn from_intervals(point: &[f64], intervals: &[Interval]) -> Result<Self> {
        // Round so that e.g. (1 - 0.8) / 2 is exactly 0.1 for lookups.
        let round = |x: f64| (x * 1e12).round() / 1e12;
        let mut rows: Vec<(f64, Vec<f64>)> = vec![(0.5, point.to_vec())];
        for i in intervals {
            check_level(i.level)?;
            rows.push((round((1.0 - i.level) / 2.0), i.lower.clone()));
            rows.push((round((1.0 + i.level) / 2.0), i.upper.clone()));
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-12);
        let (levels, values) = rows.into_iter().unzip();
        Ok(Self::new(levels, point.to_vec(), values))
    }

    /// Horizon length.
    pub fn horizon(&self) -> usize {
        self.point.len()
    }

    /// Quantile at level `tau`, if present.
    pub fn quantile(&self, tau: f64) -> Option<&[f64]> {
        self.levels
            .iter()
            .position(|l| (l - tau).abs() < 1e-9)
            .map(|j| self.values[j].as_slice())
    }

    /// Central interval `(lower, upper)` at `level`, if both quantiles exist.
    pub fn interval(&self, level: f64) -> Option<(&[f64], &[f64])> {
        Some((
            self.quantile((1.0 - level) / 2.0)?,
            self.quantile((1.0 + level) / 2.0)?,
        ))
    }

    /// The quantile function at `step`, linearly interpolated between
    /// levels and flat beyond the outermost ones.
    pub fn value_at(&self, step: usize, u: f64) -> f64 {
        let levels = &self.levels;
        let j = levels.partition_point(|&l| l < u);
        if j == 0 {
            return self.values[0][step];
        }
        if j == levels.len() {
            return self.values[j - 1][step];
        }
        let (l0, l1) = (levels[j - 1], levels[j]);
        let (v0, v1) = (self.values[j - 1][step], self.values[j][step]);
        v0 + (v1 - v0) * (u - l0) / (l1 - l0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(min_samples: usize) -> ConformalConfig {
        ConformalConfig {
            min_samples,
            max_radius: 24,
            mode: CalibrationMode::Asymmetric,
        }
    }

    #[test]
    fn conformal_ranks_by_hand() {
        // One step, 19 windows with errors 1..=19 (shuffled order).
        let errors: Vec<Vec<f64>> = (1..=19).rev().map(|e| vec![e as f64]).collect();
        let c = Calibrator::from_scaled_errors(&errors, &cfg(19)).unwrap();
        assert_eq!(c.radius(0), 0);
        // n + 1 = 20: 0.05 -> rank 1, 0.1 -> rank 2, 0.25 -> rank 5,
        // 0.75 -> rank 15, 0.9 -> rank 18, 0.95 -> rank 19; median 10.
        let want = [
            (0.05, 1.0),
            (0.1, 2.0),
            (0.25, 5.0),
            (0.5, 10.0),
            (0.75, 15.0),
            (0.9, 18.0),
            (0.95, 19.0),
        ];
        for (tau, v) in want {
            assert_eq!(c.error_quantile(0, tau), v, "tau {tau}");
        }
        // 0.975 needs rank 20 > n: capped at the maximum.
        assert_eq!(c.error_quantile(0, 0.975), 19.0);
        // Calibrated values: point 100, scale 2.
        let q = c.calibrate(&[100.0], 2.0, &STANDARD_LEVELS).unwrap();
        assert_eq!(q.quantile(0.05).unwrap(), &[102.0]);
        assert_eq!(q.quantile(0.95).unwrap(), &[138.0]);
        assert_eq!(q.interval(0.9).unwrap(), (&[102.0][..], &[138.0][..]));
    }

    #[test]
    fn symmetric_ranks_by_hand() {
        // |errors| 1..=19 with alternating signs.
        let errors: Vec<Vec<f64>> = (1..=19)
            .map(|e| vec![if e % 2 == 0 { -(e as f64) } else { e as f64 }])
            .collect();
        let c = Calibrator::from_scaled_errors(
            &errors,
            &ConformalConfig {
                mode: CalibrationMode::Symmetric,
                ..cfg(19)
            },
        )
        .unwrap();
        // 0.9 central -> rank ceil(20 * 0.9) = 18; 0.5 central -> rank 10.
        assert_eq!(c.error_quantile(0, 0.95), 18.0);
        assert_eq!(c.error_quantile(0, 0.05), -18.0);
        assert_eq!(c.error_quantile(0, 0.25), -10.0);
        assert_eq!(c.error_quantile(0, 0.5), 0.0);
        let q = c.calibrate(&[100.0], 1.0, &STANDARD_LEVELS).unwrap();
        assert_eq!(q.interval(0.9).unwrap(), (&[82.0][..], &[118.0][..]));
        assert_eq!(q.quantile(0.5).unwrap(), &[100.0]);
    }

    #[test]
    fn neighbouring_steps_are_pooled_when_samples_are_few() {
        // 5 windows x 4 steps; step k errors are all equal to k.
        let errors: Vec<Vec<f64>> = (0..5).map(|_| vec![0.0, 1.0, 2.0, 3.0]).collect();
        let c = Calibrator::from_scaled_errors(&errors, &cfg(10)).unwrap();
        assert_eq!((c.radius(0), c.radius(1), c.radius(3)), (1, 1, 1));
        assert_eq!(c.samples(0).len(), 10);
        assert_eq!(c.samples(1).len(), 15);
        assert_eq!(c.samples(1).first(), Some(&0.0));
        assert_eq!(c.samples(1).last(), Some(&2.0));
        // Enough samples: no pooling.
        let c = Calibrator::from_scaled_errors(&errors, &cfg(5)).unwrap();
        assert_eq!(c.radius(2), 0);
        assert!(c.samples(2).iter().all(|&e| e == 2.0));
    }

    #[test]
    fn missing_errors_are_skipped_and_all_missing_is_an_error() {
        let errors = vec![vec![1.0, f64::NAN], vec![3.0, f64::NAN]];
        let c = Calibrator::from_scaled_errors(&errors, &cfg(1)).unwrap();
        assert_eq!(c.samples(0), &[1.0, 3.0]);
        // Step 1 has nothing of its own: pooled with step 0.
        assert_eq!(c.radius(1), 1);
        let none = vec![vec![f64::NAN]];
        assert!(matches!(
            Calibrator::from_scaled_errors(&none, &cfg(1)),
            Err(ForecastError::NoCalibrationData(0))
        ));
    }

    #[test]
    fn calibration_extrapolates_beyond_horizon_and_rejects_bad_levels() {
        // Two windows, two steps: signed errors at step 1 are {-3, 1}; the
        // asymmetric 0.75 quantile uses rank ceil(3 * 0.75) = 3, clamped to 2: 1.
        let c =
            Calibrator::from_scaled_errors(&[vec![0.0, 1.0], vec![0.0, -3.0]], &cfg(1)).unwrap();
        assert_eq!(c.horizon(), 2);
        let q = c.calibrate(&[10.0; 8], 1.0, &[0.75]).unwrap();
        let v = q.quantile(0.75).unwrap();
        assert_eq!(v[1], 11.0);
        // Step k >= H grows like sqrt((k + 1) / H): k = 7 -> 1 * sqrt(4) = 2.
        assert!((v[7] - 12.0).abs() < 1e-12, "{}", v[7]);
        assert!(v[2] > v[1] && v[7] > v[6]);
        assert!(c.calibrate(&[1.0], 1.0, &[1.0]).is_err());
    }

    #[test]
    fn quantiles_from_intervals_and_interpolation() {
        let point = [10.0];
        let intervals = [
            Interval {
                level: 0.8,
                lower: vec![6.0],
                upper: vec![14.0],
            },
            Interval {
                level: 0.5,
                lower: vec![8.0],
                upper: vec![12.0],
            },
        ];
        let q = QuantileForecast::from_intervals(&point, &intervals).unwrap();
        assert_eq!(q.levels, vec![0.1, 0.25, 0.5, 0.75, 0.9]);
        assert_eq!(q.quantile(0.1).unwrap(), &[6.0]);
        assert!((q.value_at(0, 0.375) - 9.0).abs() < 1e-12);
        assert_eq!(q.value_at(0, 0.01), 6.0);
        assert_eq!(q.value_at(0, 0.99), 14.0);
    }

    proptest! {
        #[test]
        fn calibrated_quantiles_are_non_crossing_and_non_negative(
            errors in prop::collection::vec(prop::collection::vec(-50.0f64..50.0, 6), 1..30),
            point in prop::collection::vec(0.0f64..100.0, 1..6),
            scale in 0.01f64..10.0,
            min_samples in 1usize..60,
            symmetric in any::<bool>(),
        ) {
            let mode = if symmetric { CalibrationMode::Symmetric } else { CalibrationMode::Asymmetric };
            let c = Calibrator::from_scaled_errors(&errors, &ConformalConfig { mode, ..cfg(min_samples) }).unwrap();
            let q = c.calibrate(&point, scale, &EVAL_LEVELS).unwrap();
            for k in 0..point.len() {
                let mut prev = 0.0;
                for row in &q.values {
                    prop_assert!(row[k] >= prev);
                    prev = row[k];
                }
            }
        }
    }
}
