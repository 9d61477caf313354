//! End-to-end forecast of one series: backtest, select, calibrate, sample.

use super::{
    ForecastError, Granularity, ModelKind, Result,
    backtest::{BacktestConfig, BacktestResult, backtest_all},
    conformal::{Calibrator, ConformalConfig, QuantileForecast, STANDARD_LEVELS},
    metrics::Scale,
    models::{AutoEts, FitInfo, Interval, Model, SeasonalNaive, candidate_models_with},
    paths::{DEFAULT_PHI, PathConfig, SamplePaths, estimate_phi, path_levels, sample_paths},
    prep::fill_gaps,
    select::{Selection, SelectionConfig, select_model},
};

/// Settings for [`forecast_series`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Sampling granularity (chooses periods and the MASE season).
    pub granularity: Granularity,
    /// Forecast horizon in steps.
    pub horizon: usize,
    /// Backtest (calibration) horizon; `None`: the forecast horizon. Forecast steps beyond
    /// it get extrapolated intervals ([`Calibrator::calibrate`]).
    pub backtest_horizon: Option<usize>,
    /// Backtest windows wanted (reduced to what the history allows).
    pub windows: usize,
    /// Distance between backtest origins.
    pub step: usize,
    /// Calibration settings.
    pub conformal: ConformalConfig,
    /// Selection settings.
    pub selection: SelectionConfig,
    /// Sample path settings, or `None` for no paths.
    pub paths: Option<PathConfig>,
}

impl EngineConfig {
    /// Defaults: 20 windows one season apart (24 h or 7 days), default
    /// calibration and selection, 1000 paths with seed 0.
    pub fn new(granularity: Granularity, horizon: usize) -> Self {
        Self {
            granularity,
            horizon,
            backtest_horizon: None,
            windows: 20,
            step: granularity.mase_season(),
            conformal: ConformalConfig::default(),
            selection: SelectionConfig::default(),
            paths: Some(PathConfig::default()),
        }
    }
}

/// Everything the engine produced for one series.
#[derive(Debug, Clone)]
pub struct SeriesForecast {
    /// The model used for the forecast.
    pub chosen: ModelKind,
    /// Backtest scores and the selection reason (`None` when the series was
    /// too short to backtest).
    pub selection: Option<Selection>,
    /// Why `chosen` was used.
    pub reason: String,
    /// What was fitted on the full history.
    pub info: FitInfo,
    /// Point forecast (clamped at zero).
    pub point: Vec<f64>,
    /// The model's own 95 % interval, for reference.
    pub raw95: Option<Interval>,
    /// p05..p95 (calibrated when `calibrated`, else from raw intervals).
    pub quantiles: QuantileForecast,
    /// Whether `quantiles` are conformally calibrated.
    pub calibrated: bool,
    /// The backtests behind the selection and calibration.
    pub backtests: Vec<BacktestResult>,
    /// Quantiles on the fine grid [`path_levels`] that sample paths follow.
    pub path_quantiles: QuantileForecast,
    /// Copula AR(1) coefficient for sample paths.
    pub phi: f64,
    /// Sample paths, if requested.
    pub paths: Option<SamplePaths>,
}

/// Fewest windows accepted before giving up homogeneous training lengths.
const MIN_HOMOGENEOUS_WINDOWS: usize = 5;

/// Backtest settings for a series of `n` points, or `None` if no window
/// fits.
///
/// The first origin is placed so that every window can use the same
/// seasonal periods as the final fit (`min_train = 2 *` longest usable
/// period): otherwise early windows silently drop the weekly season and the
/// selection compares different models than the one finally fitted. When
/// that leaves fewer than [`MIN_HOMOGENEOUS_WINDOWS`] windows, the minimum
/// falls back to two shortest seasons.
fn backtest_config(cfg: &EngineConfig, n: usize) -> Option<BacktestConfig> {
    let season = cfg.granularity.mase_season();
    let h = cfg.backtest_horizon.unwrap_or(cfg.horizon);
    let base = BacktestConfig::new(h, cfg.windows, cfg.step, season);
    let longest = cfg
        .granularity
        .periods(n.saturating_sub(h))
        .usable
        .last()
        .copied();
    let homogeneous = longest.and_then(|p| {
        let bt = BacktestConfig {
            min_train: base.min_train.max(2 * p),
            ..base.clone()
        };
        bt.fitted_to(n)
            .filter(|b| b.windows >= cfg.windows.min(MIN_HOMOGENEOUS_WINDOWS))
    });
    homogeneous.or_else(|| base.fitted_to(n))
}

/// Forecast one series: backtest all candidates, select by MASE, refit the
/// winner on the full history, calibrate its quantiles on its backtest
/// errors and draw sample paths.
///
/// A series too short for even one backtest window gets seasonal naive (or
/// ETS when no season fits) with uncalibrated quantiles and `phi =`
/// [`DEFAULT_PHI`]; the reason says so. The final fit never uses a seasonal
/// period longer than the longest one the first backtest window could use.
///
/// # Errors
///
/// [`ForecastError::NoData`] for a series without finite values,
/// [`ForecastError::InvalidConfig`] for a zero horizon, and model or
/// calibration errors that no fallback absorbed.
pub fn forecast_series(y: &[f64], cfg: &EngineConfig) -> Result<SeriesForecast> {
    if cfg.horizon == 0 || cfg.backtest_horizon == Some(0) {
        return Err(ForecastError::InvalidConfig(
            "horizon must be positive".to_owned(),
        ));
    }
    let (filled, _) = fill_gaps(y)?;
    let season = cfg.granularity.mase_season();
    let bt = backtest_config(cfg, y.len());

    // Longest period every backtest window could use; the final fit may not
    // add a longer one that was never validated.
    let validated_period = match &bt {
        Some(bt) => {
            let first_origin = bt.origins(y.len())?[0];
            Some(
                cfg.granularity
                    .periods(first_origin)
                    .usable
                    .last()
                    .copied()
                    .unwrap_or(1),
            )
        }
        None => None,
    };
    let (chosen, selection, reason, backtests, calibration) = match bt {
        Some(bt) => {
            let backtests = backtest_all(y, &candidate_models_with(cfg.granularity, None), &bt)?;
            let selection = select_model(&backtests, &cfg.selection)?;
            let chosen = selection.chosen;
            let result = &backtests[selection.chosen_index];
            let calibrator = Calibrator::from_backtest(result, &cfg.conformal)?;
            let phi = estimate_phi(&result.scaled_errors(), &calibrator);
            let reason = selection.reason.clone();
            (
                chosen,
                Some(selection),
                reason,
                backtests,
                Some((calibrator, phi)),
            )
        }
        None => {
            let usable = !cfg.granularity.periods(filled.len()).usable.is_empty();
            let chosen = if usable {
                ModelKind::SeasonalNaive
            } else {
                ModelKind::AutoEts
            };
            let reason = format!(
                "history of {} points is too short to backtest a horizon of {}; using {chosen} with uncalibrated quantiles",
                y.len(),
                cfg.backtest_horizon.unwrap_or(cfg.horizon)
            );
            (chosen, None, reason, Vec::new(), None)
        }
    };

    // The final model: the chosen candidate, capped at the validated period.
    let final_model: Box<dyn Model> = match &selection {
        Some(sel) => {
            candidate_models_with(cfg.granularity, validated_period).swap_remove(sel.chosen_index)
        }
        None if chosen == ModelKind::SeasonalNaive => Box::new(SeasonalNaive {
            granularity: cfg.granularity,
            max_period: validated_period,
        }),
        None => Box::new(AutoEts),
    };
    let fitted = final_model.fit(y)?;
    let (point, intervals) = fitted.predict_levels(cfg.horizon, &BacktestConfig::DEFAULT_LEVELS)?;
    let raw95 = intervals
        .iter()
        .find(|i| (i.level - 0.95).abs() < 1e-9)
        .cloned();
    let scale = Scale::from_training(&filled, season).mae;

    let (quantiles, path_quantiles, phi) = match &calibration {
        Some((calibrator, phi)) => (
            calibrator.calibrate(&point, scale, &STANDARD_LEVELS)?,
            calibrator.calibrate(&point, scale, &path_levels())?,
            *phi,
        ),
        None => {
            let q = QuantileForecast::from_intervals(&point, &intervals)?;
            let at = |levels: &[f64]| {
                let values = levels
                    .iter()
                    .map(|&tau| (0..point.len()).map(|k| q.value_at(k, tau)).collect())
                    .collect();
                QuantileForecast::new(levels.to_vec(), point.clone(), values)
            };
            (at(&STANDARD_LEVELS), q, DEFAULT_PHI)
        }
    };
    let paths = cfg
        .paths
        .as_ref()
        .map(|p| sample_paths(&path_quantiles, phi, p))
        .transpose()?;

    Ok(SeriesForecast {
        chosen,
        selection,
        reason,
        info: fitted.info().clone(),
        point,
        raw95,
        quantiles,
        calibrated: calibration.is_some(),
        backtests,
        path_quantiles,
        phi,
        paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let tf = t as f64;
                40.0 + 0.01 * tf
                    + 8.0 * (2.0 * std::f64::consts::PI * tf / 24.0).sin()
                    + ((t * 2_654_435_761) % 97) as f64 / 20.0
            })
            .collect()
    }

    #[test]
    fn end_to_end_forecast_is_calibrated_and_deterministic() {
        let y = series(24 * 30);
        let mut cfg = EngineConfig::new(Granularity::Hour, 48);
        cfg.windows = 10;
        cfg.paths = Some(PathConfig {
            n_paths: 200,
            seed: 3,
        });
        let a = forecast_series(&y, &cfg).unwrap();
        assert!(a.calibrated);
        // 720 points: homogeneous backtest starts at 2 * 168 = 336 training points.
        assert!(a.backtests[0].windows.iter().all(|w| w.origin >= 336));
        assert_eq!(a.backtests.len(), 3);
        assert_eq!(a.point.len(), 48);
        assert_eq!(a.quantiles.levels, STANDARD_LEVELS.to_vec());
        let sel = a.selection.as_ref().unwrap();
        assert_eq!(sel.scores.len(), 3);
        assert!(!a.reason.is_empty());
        let paths = a.paths.as_ref().unwrap();
        assert_eq!((paths.n_paths(), paths.horizon()), (200, 48));
        let b = forecast_series(&y, &cfg).unwrap();
        assert_eq!(a.paths, b.paths);
        assert_eq!(a.quantiles, b.quantiles);
    }

    #[test]
    fn final_fit_keeps_to_backtested_periods() {
        // 340 points: the final fit alone could use 168 (2 * 168 <= 340),
        // but no backtest window can, so it must not.
        let y = series(340);
        let mut cfg = EngineConfig::new(Granularity::Hour, 24);
        cfg.paths = None;
        let f = forecast_series(&y, &cfg).unwrap();
        assert!(!f.info.method.contains("168"), "{}", f.info.method);
    }

    #[test]
    fn short_series_gets_uncalibrated_fallback() {
        let y = series(60);
        let a = forecast_series(&y, &EngineConfig::new(Granularity::Hour, 48)).unwrap();
        assert!(!a.calibrated);
        assert!(a.reason.contains("too short to backtest"), "{}", a.reason);
        assert_eq!(a.chosen, ModelKind::SeasonalNaive);
        assert!(a.quantiles.quantile(0.05).is_some());
        assert_eq!(a.paths.as_ref().unwrap().phi(), DEFAULT_PHI);
    }

    #[test]
    fn all_zero_series_forecasts_zero() {
        let a = forecast_series(
            &vec![0.0; 24 * 20],
            &EngineConfig::new(Granularity::Hour, 24),
        )
        .unwrap();
        assert!(a.point.iter().all(|&v| v == 0.0));
        assert!(a.quantiles.values.iter().flatten().all(|&v| v == 0.0));
        assert!(a.info.fallback.as_deref().unwrap().contains("all-zero"));
    }
}
