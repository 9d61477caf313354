//! Rolling-origin backtest: refit each model at each origin and keep the
//! out-of-sample forecasts, errors and raw intervals.

use rayon::prelude::*;

use super::{
    ForecastError, ModelKind, Result, check_level,
    conformal::STANDARD_LEVELS,
    metrics::{self, Scale},
    models::{Combine, FitInfo, Interval, Model, combine_steps},
    prep::fill_gaps,
};

/// Rolling-origin backtest settings.
///
/// Window `i` (0-based, oldest first) trains on `y[..origin_i]` and is
/// scored on `y[origin_i..origin_i + horizon]`, with
/// `origin_i = n - horizon - (windows - 1 - i) * step`.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    /// Forecast horizon `h` in steps.
    pub horizon: usize,
    /// Number of origins `w`.
    pub windows: usize,
    /// Distance `s` between consecutive origins.
    pub step: usize,
    /// Season `m` of the MASE/RMSSE scale.
    pub season: usize,
    /// Shortest training series allowed for the first origin.
    pub min_train: usize,
    /// Levels at which the models' own intervals are recorded.
    pub levels: Vec<f64>,
}

impl BacktestConfig {
    /// Raw interval levels recorded by default: enough for 80 % and 95 %
    /// coverage and for the quantiles of [`STANDARD_LEVELS`].
    pub const DEFAULT_LEVELS: [f64; 4] = [0.5, 0.8, 0.9, 0.95];

    /// Settings with the default levels and `min_train = 2 * season`.
    pub fn new(horizon: usize, windows: usize, step: usize, season: usize) -> Self {
        Self {
            horizon,
            windows,
            step,
            season,
            min_train: 2 * season.max(1),
            levels: Self::DEFAULT_LEVELS.to_vec(),
        }
    }

    /// How many windows fit in a series of `n` points.
    pub fn max_windows(&self, n: usize) -> usize {
        if self.step == 0 || n < self.min_train + self.horizon {
            0
        } else {
            (n - self.horizon - self.min_train) / self.step + 1
        }
    }

    /// A copy with `windows` reduced to what fits in `n` points, or `None`
    /// when not even one window fits.
    pub fn fitted_to(&self, n: usize) -> Option<Self> {
        let w = self.windows.min(self.max_windows(n));
        (w > 0).then(|| Self {
            windows: w,
            ..self.clone()
        })
    }

    /// Training lengths (origins) of all windows, oldest first.
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidConfig`] for a zero horizon, window count or
    /// step, or a bad level; [`ForecastError::NotEnoughHistory`] when the
    /// windows do not fit.
    pub fn origins(&self, n: usize) -> Result<Vec<usize>> {
        if self.horizon == 0 || self.windows == 0 || self.step == 0 {
            return Err(ForecastError::InvalidConfig(
                "horizon, windows and step must be positive".to_owned(),
            ));
        }
        for &l in &self.levels {
            check_level(l)?;
        }
        let needed = self.min_train.max(1) + self.horizon + (self.windows - 1) * self.step;
        if n < needed {
            return Err(ForecastError::NotEnoughHistory { needed, have: n });
        }
        let last = n - self.horizon;
        Ok((0..self.windows)
            .map(|i| last - (self.windows - 1 - i) * self.step)
            .collect())
    }
}

/// One backtest window.
#[derive(Debug, Clone)]
pub struct WindowResult {
    /// Training length; the forecast starts at this index.
    pub origin: usize,
    /// Actual values (`NaN` where the series has a gap).
    pub actual: Vec<f64>,
    /// Point forecast.
    pub point: Vec<f64>,
    /// The model's own intervals at [`BacktestConfig::levels`].
    pub intervals: Vec<Interval>,
    /// MASE/RMSSE scale of the training data.
    pub scale: Scale,
    /// What was fitted at this origin.
    pub info: FitInfo,
}

impl WindowResult {
    /// The raw interval at `level`, if it was recorded.
    pub fn interval(&self, level: f64) -> Option<&Interval> {
        self.intervals
            .iter()
            .find(|i| (i.level - level).abs() < 1e-9)
    }

    /// The raw quantile forecast at `tau` implied by the symmetric raw
    /// intervals (the point forecast for `tau = 0.5`).
    pub fn raw_quantile(&self, tau: f64) -> Option<&[f64]> {
        if (tau - 0.5).abs() < 1e-9 {
            return Some(&self.point);
        }
        let interval = self.interval((2.0 * tau - 1.0).abs())?;
        Some(if tau < 0.5 {
            &interval.lower
        } else {
            &interval.upper
        })
    }

    /// Forecast errors `(actual - point) / scale.mae` per step (`NaN` at gaps).
    pub fn scaled_errors(&self) -> Vec<f64> {
        self.actual
            .iter()
            .zip(&self.point)
            .map(|(a, p)| (a - p) / self.scale.mae)
            .collect()
    }

    /// MASE of this window.
    pub fn mase(&self) -> f64 {
        metrics::mase(&self.actual, &self.point, self.scale.mae)
    }

    /// Scaled CRPS of the raw intervals over [`STANDARD_LEVELS`] (`NaN` if a
    /// level was not recorded).
    pub fn raw_scrps(&self) -> f64 {
        let qs: Option<Vec<(f64, &[f64])>> = STANDARD_LEVELS
            .iter()
            .map(|&t| self.raw_quantile(t).map(|q| (t, q)))
            .collect();
        qs.map_or(f64::NAN, |qs| {
            metrics::scaled_crps(&self.actual, &qs, self.scale.mae)
        })
    }

    /// Raw coverage at `level` (`NaN` if not recorded).
    pub fn raw_coverage(&self, level: f64) -> f64 {
        self.interval(level).map_or(f64::NAN, |i| {
            metrics::coverage(&self.actual, &i.lower, &i.upper)
        })
    }

    /// Raw Winkler score at `level`, divided by the MASE scale.
    pub fn raw_winkler(&self, level: f64) -> f64 {
        self.interval(level).map_or(f64::NAN, |i| {
            metrics::winkler(&self.actual, &i.lower, &i.upper, level) / self.scale.mae
        })
    }
}

/// Backtest of one model.
#[derive(Debug, Clone)]
pub struct BacktestResult {
    /// The model backtested.
    pub kind: ModelKind,
    /// The model's label ([`Model::label`]); unique among candidates.
    pub label: String,
    /// Forecast horizon.
    pub horizon: usize,
    /// Windows, oldest origin first.
    pub windows: Vec<WindowResult>,
}

/// Accuracy summary of a backtest: means over windows of per-window scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Windows scored.
    pub windows: usize,
    /// Mean MASE.
    pub mase: f64,
    /// Mean RMSSE.
    pub rmsse: f64,
    /// Mean sMAPE (0–200).
    pub smape: f64,
    /// Mean scaled CRPS of the raw intervals.
    pub scrps: f64,
    /// Raw interval coverage at 80 %.
    pub coverage80: f64,
    /// Raw interval coverage at 95 %.
    pub coverage95: f64,
    /// Mean scaled Winkler score of the raw 95 % interval.
    pub winkler95: f64,
}

/// Mean of the finite values, `NaN` if none.
pub(crate) fn mean_finite(values: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

impl BacktestResult {
    /// Summary scores over all windows.
    pub fn scores(&self) -> Scores {
        let w = &self.windows;
        Scores {
            windows: w.len(),
            mase: mean_finite(w.iter().map(WindowResult::mase)),
            rmsse: mean_finite(
                w.iter()
                    .map(|x| metrics::rmsse(&x.actual, &x.point, x.scale.mse)),
            ),
            smape: mean_finite(w.iter().map(|x| metrics::smape(&x.actual, &x.point))),
            scrps: mean_finite(w.iter().map(WindowResult::raw_scrps)),
            coverage80: mean_finite(w.iter().map(|x| x.raw_coverage(0.8))),
            coverage95: mean_finite(w.iter().map(|x| x.raw_coverage(0.95))),
            winkler95: mean_finite(w.iter().map(|x| x.raw_winkler(0.95))),
        }
    }

    /// Scaled errors, `[window][step]`.
    pub fn scaled_errors(&self) -> Vec<Vec<f64>> {
        self.windows
            .iter()
            .map(WindowResult::scaled_errors)
            .collect()
    }

    /// Mean absolute scaled error per horizon step, across windows.
    pub fn step_mase(&self) -> Vec<f64> {
        (0..self.horizon)
            .map(|k| {
                mean_finite(
                    self.windows
                        .iter()
                        .map(|w| (w.actual[k] - w.point[k]).abs() / w.scale.mae),
                )
            })
            .collect()
    }
}

/// Backtest one model. Windows are fitted in parallel (rayon); results are
/// in origin order and deterministic.
///
/// # Errors
///
/// Configuration errors from [`BacktestConfig::origins`], or a model error
/// that no fallback absorbed.
pub fn backtest(y: &[f64], model: &dyn Model, cfg: &BacktestConfig) -> Result<BacktestResult> {
    let origins = cfg.origins(y.len())?;
    let windows = origins
        .par_iter()
        .map(|&origin| {
            let train = &y[..origin];
            let fitted = model.fit(train)?;
            let (point, intervals) = fitted.predict_levels(cfg.horizon, &cfg.levels)?;
            let (filled, _) = fill_gaps(train)?;
            Ok(WindowResult {
                origin,
                actual: y[origin..origin + cfg.horizon].to_vec(),
                point,
                intervals,
                scale: Scale::from_training(&filled, cfg.season),
                info: fitted.info().clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(BacktestResult {
        kind: model.kind(),
        label: model.label(),
        horizon: cfg.horizon,
        windows,
    })
}

/// Backtest several models on the same origins.
///
/// Ensembles ([`Model::as_ensemble`]) are not refitted: every distinct
/// member (by label) is backtested once, even when it is shared by several
/// ensembles or is a candidate itself, and each ensemble's backtest is
/// [`combine_backtests`] of its members' (identical to refitting it).
///
/// # Errors
///
/// As [`backtest`].
pub fn backtest_all(
    y: &[f64],
    models: &[Box<dyn Model>],
    cfg: &BacktestConfig,
) -> Result<Vec<BacktestResult>> {
    // Distinct plain models to backtest: candidates and ensemble members.
    let mut plain: Vec<&dyn Model> = Vec::new();
    for m in models {
        let members: Vec<&dyn Model> = match m.as_ensemble() {
            Some(e) if e.members.iter().all(|x| x.as_ensemble().is_none()) => {
                e.members.iter().map(|x| x.as_ref()).collect()
            }
            _ => vec![m.as_ref()],
        };
        for x in members {
            if !plain.iter().any(|p| p.label() == x.label()) {
                plain.push(x);
            }
        }
    }
    let direct: Vec<BacktestResult> = plain
        .par_iter()
        .map(|m| backtest(y, *m, cfg))
        .collect::<Result<Vec<_>>>()?;
    let find = |l: &str| direct.iter().find(|r| r.label == l);
    models
        .iter()
        .map(|m| match find(&m.label()) {
            Some(r) if m.as_ensemble().is_none() || r.kind == ModelKind::Ensemble => Ok(r.clone()),
            _ => {
                let e = m
                    .as_ensemble()
                    .expect("non-ensembles are backtested directly");
                let parts: Vec<&BacktestResult> = e
                    .members
                    .iter()
                    .map(|x| find(&x.label()).expect("member was backtested"))
                    .collect();
                combine_backtests(&parts, e.combine)
            }
        })
        .collect()
}

/// The backtest of an [`Ensemble`](super::Ensemble) of already backtested
/// models, without refitting: each window combines the members' point
/// forecasts and raw interval bounds step by step, exactly as
/// `Ensemble::fit(..).predict(..)` would (all members are deterministic).
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] when `parts` is empty or the parts do
/// not share origins, horizon and interval levels.
pub fn combine_backtests(parts: &[&BacktestResult], combine: Combine) -> Result<BacktestResult> {
    let first = parts
        .first()
        .ok_or_else(|| ForecastError::InvalidConfig("nothing to combine".to_owned()))?;
    let mismatch = parts.iter().any(|p| {
        p.horizon != first.horizon
            || p.windows.len() != first.windows.len()
            || p.windows.iter().zip(&first.windows).any(|(a, b)| {
                a.origin != b.origin
                    || a.intervals.len() != b.intervals.len()
                    || a.intervals
                        .iter()
                        .zip(&b.intervals)
                        .any(|(x, y)| (x.level - y.level).abs() > 1e-12)
            })
    });
    if mismatch {
        return Err(ForecastError::InvalidConfig(
            "combined backtests must share origins, horizon and levels".to_owned(),
        ));
    }
    let labels: Vec<String> = parts.iter().map(|p| p.label.clone()).collect();
    let windows = (0..first.windows.len())
        .map(|i| {
            let ws: Vec<&WindowResult> = parts.iter().map(|p| &p.windows[i]).collect();
            let points: Vec<&[f64]> = ws.iter().map(|w| w.point.as_slice()).collect();
            let point = combine_steps(&points, combine);
            let intervals = (0..ws[0].intervals.len())
                .map(|l| {
                    let lo: Vec<&[f64]> =
                        ws.iter().map(|w| w.intervals[l].lower.as_slice()).collect();
                    let hi: Vec<&[f64]> =
                        ws.iter().map(|w| w.intervals[l].upper.as_slice()).collect();
                    Interval {
                        level: ws[0].intervals[l].level,
                        lower: combine_steps(&lo, combine)
                            .into_iter()
                            .zip(&point)
                            .map(|(a, p)| a.min(*p))
                            .collect(),
                        upper: combine_steps(&hi, combine)
                            .into_iter()
                            .zip(&point)
                            .map(|(a, p)| a.max(*p))
                            .collect(),
                    }
                })
                .collect();
            let methods: Vec<String> = ws.iter().map(|w| w.info.method.clone()).collect();
            let mut info = ws[0].info.clone();
            info.requested = ModelKind::Ensemble;
            info.method = super::Ensemble::label_of(&methods, combine);
            info.fallback = None;
            info.notes = ws
                .iter()
                .filter_map(|w| {
                    w.info
                        .fallback
                        .as_ref()
                        .map(|f| format!("{}: {f}", w.info.requested))
                })
                .collect();
            WindowResult {
                origin: ws[0].origin,
                actual: ws[0].actual.clone(),
                point,
                intervals,
                scale: ws[0].scale,
                info,
            }
        })
        .collect();
    Ok(BacktestResult {
        kind: ModelKind::Ensemble,
        label: super::Ensemble::label_of(&labels, combine),
        horizon: first.horizon,
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{Granularity, SeasonalNaive};

    #[test]
    fn origins_are_evenly_spaced_and_end_at_n_minus_h() {
        let cfg = BacktestConfig::new(10, 3, 5, 4);
        assert_eq!(cfg.origins(100).unwrap(), vec![80, 85, 90]);
        assert_eq!(cfg.max_windows(100), (100 - 10 - 8) / 5 + 1);
        assert!(matches!(
            BacktestConfig::new(10, 30, 5, 4).origins(100),
            Err(ForecastError::NotEnoughHistory { .. })
        ));
        assert_eq!(
            BacktestConfig::new(10, 30, 5, 4)
                .fitted_to(100)
                .unwrap()
                .windows,
            17
        );
        assert!(BacktestConfig::new(10, 1, 5, 4).fitted_to(12).is_none());
    }

    #[test]
    fn seasonal_naive_backtest_on_periodic_series_is_exact() {
        let y: Vec<f64> = (0..24 * 20).map(|t| 10.0 + (t % 24) as f64).collect();
        let cfg = BacktestConfig::new(24, 4, 24, 24);
        let model = SeasonalNaive::new(Granularity::Hour);
        let r = backtest(&y, &model, &cfg).unwrap();
        assert_eq!(r.windows.len(), 4);
        let s = r.scores();
        assert_eq!(s.mase, 0.0);
        assert_eq!(s.smape, 0.0);
        assert_eq!(s.coverage95, 1.0);
        assert!(r.scaled_errors().iter().flatten().all(|&e| e == 0.0));
    }

    #[test]
    fn combined_backtest_equals_refitted_ensemble() {
        use crate::forecast::{AutoEts, Combine, Ensemble, SeasonChoice, SeasonalMean};
        let y: Vec<f64> = (0..24 * 20)
            .map(|t| 50.0 + 10.0 * ((t % 24) as f64 / 3.0).sin() + ((t * 7919) % 11) as f64)
            .collect();
        let cfg = BacktestConfig::new(24, 3, 24, 24);
        let members = || -> Vec<Box<dyn Model>> {
            vec![
                Box::new(SeasonalNaive::new(Granularity::Hour)),
                Box::new(SeasonalMean::new(
                    Granularity::Hour,
                    SeasonChoice::Shortest,
                    3,
                )),
                Box::new(AutoEts),
            ]
        };
        for combine in [Combine::Mean, Combine::Median] {
            let ens = Ensemble::new(members(), combine);
            let direct = backtest(&y, &ens, &cfg).unwrap();
            let mut models = members();
            models.push(Box::new(Ensemble::new(members(), combine)));
            let all = backtest_all(&y, &models, &cfg).unwrap();
            let combined = &all[3];
            assert_eq!(combined.label, direct.label);
            assert_eq!(combined.kind, ModelKind::Ensemble);
            for (a, b) in combined.windows.iter().zip(&direct.windows) {
                assert_eq!(a.origin, b.origin);
                for (p, q) in a.point.iter().zip(&b.point) {
                    assert!((p - q).abs() < 1e-9, "{p} vs {q}");
                }
                for (ia, ib) in a.intervals.iter().zip(&b.intervals) {
                    for (p, q) in ia.upper.iter().zip(&ib.upper) {
                        assert!((p - q).abs() < 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn errors_per_step_are_collected_out_of_sample() {
        // Linear trend: naive-type forecasts lag by k steps at horizon step k.
        let y: Vec<f64> = (0..200).map(|t| t as f64).collect();
        let cfg = BacktestConfig::new(5, 3, 7, 1);
        let model = SeasonalNaive::new(Granularity::Hour);
        let r = backtest(&y, &model, &cfg).unwrap();
        // With 181..195 training points period 168 is dropped and 24 is used.
        for w in &r.windows {
            assert_eq!(w.actual, y[w.origin..w.origin + 5].to_vec());
        }
        let steps = r.step_mase();
        assert_eq!(steps.len(), 5);
        // period 24 snaive on a unit trend: every error is 24, scale (m=1) is 1.
        assert!(steps.iter().all(|&s| (s - 24.0).abs() < 1e-9));
        assert_eq!(
            r.windows[0].raw_quantile(0.5).unwrap(),
            r.windows[0].point.as_slice()
        );
        assert!(r.windows[0].raw_quantile(0.05).is_some());
        assert!(r.windows[0].raw_quantile(0.3).is_none());
    }
}
