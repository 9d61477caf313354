//! Rolling-origin evaluation of one series: every candidate, the baselines and automatic
//! selection, scored on windows that selection and calibration have not seen.
//!
//! This is what `capplan backtest` runs per series and what the accuracy table in
//! BENCHMARKS.md is made of.

use serde::Serialize;

use super::{
    ForecastError, Granularity, Result,
    backtest::{BacktestConfig, BacktestResult, backtest_all},
    holdout::{HoldoutConfig, HoldoutRow, eligible_before, holdout_evaluation_among},
    models::{AutoEts, Model, MstlEts, SeasonalNaive, candidate_models},
    prep::fill_gaps,
};

/// Settings of [`evaluate_series`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationSettings {
    /// Forecast horizon of each window, in steps.
    pub horizon: usize,
    /// Windows wanted (fewer when the history is short).
    pub windows: usize,
    /// Distance between window origins, in steps.
    pub step: usize,
    /// Earlier, non-overlapping windows a window needs before it is evaluated (selection and
    /// calibration only ever use those).
    pub min_calibration_windows: usize,
}

/// Scores of one model (or `auto`) on the evaluated windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEvaluation {
    /// Model label, `auto` for automatic selection.
    pub model: String,
    /// Whether this is a baseline (seasonal naive, ETS, MSTL+ETS alone).
    pub baseline: bool,
    /// Windows evaluated.
    pub windows: usize,
    /// Mean MASE (seasonal scale).
    pub mase: f64,
    /// Mean RMSSE (seasonal scale).
    pub rmsse: f64,
    /// Mean sMAPE, M4 convention (0–200).
    pub smape: f64,
    /// Mean scaled pinball loss over p05..p95 (calibrated).
    pub pinball: f64,
    /// Mean scaled CRPS approximation (calibrated quantiles).
    pub scrps: f64,
    /// Coverage of the calibrated 80 % interval.
    pub coverage80: f64,
    /// Coverage of the calibrated 95 % interval.
    pub coverage95: f64,
    /// Mean scaled Winkler score of the calibrated 95 % interval.
    pub winkler95: f64,
    /// Coverage of the model's own (uncalibrated) 80 % interval.
    pub raw_coverage80: f64,
    /// Coverage of the model's own (uncalibrated) 95 % interval.
    pub raw_coverage95: f64,
}

impl ModelEvaluation {
    fn from_row(r: &HoldoutRow, baseline: bool) -> Self {
        Self {
            model: r.label.clone(),
            baseline,
            windows: r.windows,
            mase: r.mase,
            rmsse: r.rmsse,
            smape: r.smape,
            pinball: r.pinball,
            scrps: r.cal_scrps,
            coverage80: r.cal_cov80,
            coverage95: r.cal_cov95,
            winkler95: r.cal_winkler95,
            raw_coverage80: r.raw_cov80,
            raw_coverage95: r.raw_cov95,
        }
    }
}

/// Evaluation of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesEvaluation {
    /// Points in the series.
    pub n: usize,
    /// Horizon per window.
    pub horizon: usize,
    /// Windows backtested.
    pub windows: usize,
    /// Step between origins.
    pub step: usize,
    /// Windows evaluated (the rest only feed selection and calibration).
    pub evaluated: usize,
    /// Candidates first, then the baselines, then `auto`.
    pub models: Vec<ModelEvaluation>,
    /// How often `auto` picked each candidate.
    pub picks: Vec<(String, usize)>,
}

impl SeriesEvaluation {
    /// The row of a model label (`auto`, `snaive`, ...).
    pub fn model(&self, label: &str) -> Option<&ModelEvaluation> {
        self.models.iter().find(|m| m.model == label)
    }
}

/// How [`evaluate_series`] would window a series of `n` points, computed without fitting
/// anything (the CLI checks its flags with it before a long run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    /// Windows that fit in the series.
    pub windows: usize,
    /// The most earlier non-overlapping windows any window has (what
    /// `min_calibration_windows` can be at most for one window to be scored).
    pub max_calibration: usize,
    /// Windows with at least `min_calibration_windows` earlier non-overlapping windows: the
    /// ones that will be scored.
    pub scored: usize,
}

/// The [`WindowPlan`] of [`evaluate_series`] for `n` points with these settings.
pub fn window_plan(
    n: usize,
    granularity: Granularity,
    settings: &EvaluationSettings,
) -> WindowPlan {
    let none = WindowPlan {
        windows: 0,
        max_calibration: 0,
        scored: 0,
    };
    if settings.horizon == 0 || settings.step == 0 || settings.windows == 0 {
        return none;
    }
    let cfg = BacktestConfig::new(
        settings.horizon,
        settings.windows,
        settings.step,
        granularity.mase_season(),
    );
    let Some(origins) = cfg.fitted_to(n).and_then(|c| c.origins(n).ok()) else {
        return none;
    };
    let earlier: Vec<usize> = (0..origins.len())
        .map(|j| eligible_before(&origins, j, settings.horizon).len())
        .collect();
    let needed = settings.min_calibration_windows.max(1);
    WindowPlan {
        windows: origins.len(),
        max_calibration: earlier.iter().copied().max().unwrap_or(0),
        scored: earlier.iter().filter(|&&e| e >= needed).count(),
    }
}

/// Label of the seasonal naive baseline.
pub const SNAIVE: &str = "snaive";

/// Backtest the candidates and the baselines on rolling origins, then score every model
/// and automatic selection on windows unseen by selection and calibration.
///
/// # Errors
///
/// [`ForecastError::NotEnoughHistory`] / [`ForecastError::InvalidConfig`] when not even one
/// window can be evaluated, and model errors that no fallback absorbed.
pub fn evaluate_series(
    y: &[f64],
    granularity: Granularity,
    settings: &EvaluationSettings,
) -> Result<SeriesEvaluation> {
    if settings.horizon == 0 || settings.step == 0 || settings.windows == 0 {
        return Err(ForecastError::InvalidConfig(
            "horizon, step and windows must be positive".to_owned(),
        ));
    }
    fill_gaps(y)?;
    let season = granularity.mase_season();
    let cfg = BacktestConfig::new(settings.horizon, settings.windows, settings.step, season);
    let cfg = cfg
        .fitted_to(y.len())
        .ok_or(ForecastError::NotEnoughHistory {
            needed: cfg.min_train + settings.horizon,
            have: y.len(),
        })?;
    let mut models = candidate_models(granularity);
    let n_candidates = models.len();
    let baselines: Vec<Box<dyn Model>> = vec![
        Box::new(SeasonalNaive::new(granularity)),
        Box::new(AutoEts),
        Box::new(MstlEts::new(granularity)),
    ];
    let labels: Vec<String> = models.iter().map(|m| m.label()).collect();
    models.extend(
        baselines
            .into_iter()
            .filter(|b| !labels.contains(&b.label())),
    );
    let results: Vec<BacktestResult> = backtest_all(y, &models, &cfg)?;
    let refs: Vec<&BacktestResult> = results.iter().collect();
    let among: Vec<usize> = (0..n_candidates).collect();
    let hcfg = HoldoutConfig {
        min_calibration_windows: settings.min_calibration_windows,
        ..HoldoutConfig::default()
    };
    let report = holdout_evaluation_among(&refs, &among, &hcfg)?;
    let rows = report
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| ModelEvaluation::from_row(r, i >= n_candidates && r.label != "auto"))
        .collect();
    Ok(SeriesEvaluation {
        n: y.len(),
        horizon: cfg.horizon,
        windows: cfg.windows,
        step: cfg.step,
        evaluated: report.eval_windows,
        models: rows,
        picks: report.picks.into_iter().take(n_candidates).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let tf = t as f64;
                50.0 + 10.0 * (2.0 * std::f64::consts::PI * tf / 24.0).sin()
                    + ((t * 2_654_435_761) % 101) as f64 / 10.0
            })
            .collect()
    }

    #[test]
    fn evaluation_has_candidates_baselines_and_auto() {
        let e = evaluate_series(
            &series(24 * 30),
            Granularity::Hour,
            &EvaluationSettings {
                horizon: 24,
                windows: 20,
                step: 24,
                min_calibration_windows: 5,
            },
        )
        .unwrap();
        assert_eq!(e.windows, 20);
        // Window j needs 5 earlier windows ending before its origin: j >= 5.
        assert_eq!(e.evaluated, 15);
        let auto = e.model("auto").unwrap();
        assert_eq!(auto.windows, 15);
        assert!(e.model(SNAIVE).unwrap().baseline);
        assert!(e.model("ets").unwrap().baseline);
        assert!(!auto.baseline);
        assert_eq!(e.picks.iter().map(|p| p.1).sum::<usize>(), 15);
        for m in &e.models {
            assert!(m.mase.is_finite() && m.mase > 0.0, "{m:?}");
            assert!((0.0..=1.0).contains(&m.coverage80), "{m:?}");
            assert!(m.coverage80 <= m.coverage95 + 1e-12, "{m:?}");
            assert!((0.0..=200.0).contains(&m.smape), "{m:?}");
        }
    }

    #[test]
    fn too_short_is_an_error() {
        let s = EvaluationSettings {
            horizon: 168,
            windows: 10,
            step: 24,
            min_calibration_windows: 5,
        };
        assert!(evaluate_series(&series(100), Granularity::Hour, &s).is_err());
        assert_eq!(window_plan(100, Granularity::Hour, &s).scored, 0);
    }

    #[test]
    fn window_plan_predicts_the_scored_windows() {
        let y = series(24 * 12);
        for (horizon, step, min_calibration_windows) in [
            (24, 24, 2),
            (24, 12, 3),
            (48, 24, 1),
            (24, 24, 20),
            (12, 6, 4),
        ] {
            let s = EvaluationSettings {
                horizon,
                windows: 8,
                step,
                min_calibration_windows,
            };
            let plan = window_plan(y.len(), Granularity::Hour, &s);
            match evaluate_series(&y, Granularity::Hour, &s) {
                Ok(e) => {
                    assert_eq!(plan.scored, e.evaluated, "{s:?}");
                    assert_eq!(plan.windows, e.windows, "{s:?}");
                }
                Err(_) => assert_eq!(plan.scored, 0, "{s:?}"),
            }
        }
    }
}
