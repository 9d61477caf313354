//! Honest out-of-sample evaluation of selection and calibration.
//!
//! Given backtests of several models on the same origins, each evaluation
//! window `j` is treated as unseen: selection and calibration may only use
//! windows whose whole forecast period ended before `origin_j`
//! (`origin_i + h <= origin_j`). That mimics production, where the
//! calibrator is built from the past and applied to the next forecast.

use super::{
    ForecastError, ModelKind, Result,
    backtest::{BacktestResult, WindowResult, mean_finite},
    conformal::{Calibrator, ConformalConfig, EVAL_LEVELS, QuantileForecast},
    metrics,
    select::{SelectionConfig, choose_with, selection_score},
};

/// Hold-out evaluation settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutConfig {
    /// Windows needed before a window can be evaluated.
    pub min_calibration_windows: usize,
    /// Calibration settings.
    pub conformal: ConformalConfig,
    /// Selection settings (for the `auto` row).
    pub selection: SelectionConfig,
}

impl Default for HoldoutConfig {
    fn default() -> Self {
        Self {
            min_calibration_windows: 10,
            conformal: ConformalConfig::default(),
            selection: SelectionConfig::default(),
        }
    }
}

/// Out-of-sample scores of one model (or of automatic selection), averaged
/// over evaluation windows.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutRow {
    /// Model name, or `auto` for per-window automatic selection.
    pub label: String,
    /// Evaluation windows.
    pub windows: usize,
    /// Mean MASE.
    pub mase: f64,
    /// Mean RMSSE.
    pub rmsse: f64,
    /// Mean sMAPE (M4 convention, 0–200).
    pub smape: f64,
    /// Mean pinball loss of the calibrated p05..p95, averaged over the levels and divided by
    /// the MASE scale.
    pub pinball: f64,
    /// Coverage of the model's own 80 % interval.
    pub raw_cov80: f64,
    /// Coverage of the model's own 95 % interval.
    pub raw_cov95: f64,
    /// Coverage of the calibrated 80 % interval (p10–p90).
    pub cal_cov80: f64,
    /// Coverage of the calibrated 95 % interval (p02.5–p97.5).
    pub cal_cov95: f64,
    /// Scaled Winkler score of the raw 95 % interval.
    pub raw_winkler95: f64,
    /// Scaled Winkler score of the calibrated 95 % interval.
    pub cal_winkler95: f64,
    /// Scaled CRPS of the raw quantiles (p05..p95 from the raw intervals).
    pub raw_scrps: f64,
    /// Scaled CRPS of the calibrated quantiles p05..p95.
    pub cal_scrps: f64,
}

/// One evaluation window of [`holdout_evaluation`].
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutWindow {
    /// Index of the window in the backtests.
    pub index: usize,
    /// Its origin.
    pub origin: usize,
    /// Indices of the windows selection and calibration could use.
    pub eligible: Vec<usize>,
    /// Index of the model `auto` picked.
    pub picked: usize,
    /// Per model (input order): MASE, calibrated 80 % and 95 % coverage.
    pub scores: Vec<(f64, f64, f64)>,
}

/// Result of [`holdout_evaluation`].
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutReport {
    /// One row per model, then the `auto` row.
    pub rows: Vec<HoldoutRow>,
    /// How often each model (by label) was picked by `auto`.
    pub picks: Vec<(String, usize)>,
    /// Per evaluation window, for re-running selection variants offline.
    pub per_window: Vec<HoldoutWindow>,
    /// Number of evaluation windows.
    pub eval_windows: usize,
    /// Calibration windows available to the first and last evaluation window.
    pub calibration_windows: (usize, usize),
}

impl HoldoutReport {
    /// The row labelled `label`.
    pub fn row(&self, label: &str) -> Option<&HoldoutRow> {
        self.rows.iter().find(|r| r.label == label)
    }
}

/// Per-window scores of one model.
#[derive(Debug, Clone, Copy)]
struct WindowScores {
    mase: f64,
    rmsse: f64,
    smape: f64,
    pinball: f64,
    raw80: f64,
    raw95: f64,
    cal80: f64,
    cal95: f64,
    raw_w95: f64,
    cal_w95: f64,
    raw_crps: f64,
    cal_crps: f64,
}

fn score_window(w: &WindowResult, q: &QuantileForecast) -> WindowScores {
    let cal = |level: f64| {
        q.interval(level)
            .expect("EVAL_LEVELS contain the 80 % and 95 % bounds")
    };
    let (l80, u80) = cal(0.8);
    let (l95, u95) = cal(0.95);
    let std: Vec<(f64, &[f64])> = super::STANDARD_LEVELS
        .iter()
        .map(|&t| {
            (
                t,
                q.quantile(t)
                    .expect("EVAL_LEVELS contain the standard levels"),
            )
        })
        .collect();
    let pinball = std
        .iter()
        .map(|&(tau, qv)| metrics::pinball(&w.actual, qv, tau))
        .sum::<f64>()
        / std.len() as f64
        / w.scale.mae;
    WindowScores {
        mase: w.mase(),
        rmsse: metrics::rmsse(&w.actual, &w.point, w.scale.mse),
        smape: metrics::smape(&w.actual, &w.point),
        pinball,
        raw80: w.raw_coverage(0.8),
        raw95: w.raw_coverage(0.95),
        cal80: metrics::coverage(&w.actual, l80, u80),
        cal95: metrics::coverage(&w.actual, l95, u95),
        raw_w95: w.raw_winkler(0.95),
        cal_w95: metrics::winkler(&w.actual, l95, u95, 0.95) / w.scale.mae,
        raw_crps: w.raw_scrps(),
        cal_crps: metrics::scaled_crps(&w.actual, &std, w.scale.mae),
    }
}

fn summarise(label: String, scores: &[WindowScores]) -> HoldoutRow {
    let m = |f: fn(&WindowScores) -> f64| mean_finite(scores.iter().map(f));
    HoldoutRow {
        label,
        windows: scores.len(),
        mase: m(|s| s.mase),
        rmsse: m(|s| s.rmsse),
        smape: m(|s| s.smape),
        pinball: m(|s| s.pinball),
        raw_cov80: m(|s| s.raw80),
        raw_cov95: m(|s| s.raw95),
        cal_cov80: m(|s| s.cal80),
        cal_cov95: m(|s| s.cal95),
        raw_winkler95: m(|s| s.raw_w95),
        cal_winkler95: m(|s| s.cal_w95),
        raw_scrps: m(|s| s.raw_crps),
        cal_scrps: m(|s| s.cal_crps),
    }
}

/// Evaluate every model, and automatic selection, on windows that neither
/// selection nor calibration has seen.
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] when the backtests do not share origins
/// or no window has enough earlier windows; calibration errors otherwise.
pub fn holdout_evaluation(
    results: &[BacktestResult],
    cfg: &HoldoutConfig,
) -> Result<HoldoutReport> {
    let refs: Vec<&BacktestResult> = results.iter().collect();
    holdout_evaluation_refs(&refs, cfg)
}

/// [`holdout_evaluation`] on borrowed backtests (e.g. a subset of
/// candidates).
///
/// # Errors
///
/// As [`holdout_evaluation`].
pub fn holdout_evaluation_refs(
    results: &[&BacktestResult],
    cfg: &HoldoutConfig,
) -> Result<HoldoutReport> {
    let all: Vec<usize> = (0..results.len()).collect();
    holdout_evaluation_among(results, &all, cfg)
}

/// [`holdout_evaluation_refs`] where `auto` selects only among the models at indices
/// `among` (e.g. the production candidates), while every model gets its own row (e.g. the
/// baselines).
///
/// # Errors
///
/// As [`holdout_evaluation`], and [`ForecastError::InvalidConfig`] for an empty or
/// out-of-range `among`.
pub fn holdout_evaluation_among(
    results: &[&BacktestResult],
    among: &[usize],
    cfg: &HoldoutConfig,
) -> Result<HoldoutReport> {
    if among.is_empty() || among.iter().any(|&i| i >= results.len()) {
        return Err(ForecastError::InvalidConfig(
            "auto must choose among at least one of the backtested models".to_owned(),
        ));
    }
    let first = results
        .first()
        .ok_or_else(|| ForecastError::InvalidConfig("no backtest results".to_owned()))?;
    let origins: Vec<usize> = first.windows.iter().map(|w| w.origin).collect();
    if results.iter().any(|r| {
        r.horizon != first.horizon
            || !r
                .windows
                .iter()
                .map(|w| w.origin)
                .eq(origins.iter().copied())
    }) {
        return Err(ForecastError::InvalidConfig(
            "backtests must share origins and horizon".to_owned(),
        ));
    }
    let h = first.horizon;
    let mut per_model: Vec<Vec<WindowScores>> = vec![Vec::new(); results.len()];
    let mut auto = Vec::new();
    let mut picks: Vec<(String, usize)> = results.iter().map(|r| (r.label.clone(), 0)).collect();
    let mut per_window = Vec::new();
    let mut cal_range = (usize::MAX, 0);
    for (j, &origin) in origins.iter().enumerate() {
        let eligible = eligible_before(&origins, j, h);
        if eligible.len() < cfg.min_calibration_windows.max(1) {
            continue;
        }
        cal_range = (
            cal_range.0.min(eligible.len()),
            cal_range.1.max(eligible.len()),
        );
        let mut window_scores = Vec::with_capacity(results.len());
        for (m, r) in results.iter().enumerate() {
            let calibrator =
                Calibrator::from_windows(eligible.iter().map(|&i| &r.windows[i]), &cfg.conformal)?;
            let w = &r.windows[j];
            let q = calibrator.calibrate(&w.point, w.scale.mae, &EVAL_LEVELS)?;
            let s = score_window(w, &q);
            per_model[m].push(s);
            window_scores.push(s);
        }
        let past: Vec<(ModelKind, String, f64)> = among
            .iter()
            .map(|&m| {
                let r = results[m];
                let ws: Vec<&WindowResult> = eligible.iter().map(|&i| &r.windows[i]).collect();
                (
                    r.kind,
                    r.label.clone(),
                    selection_score(&ws, &cfg.selection),
                )
            })
            .collect();
        if let Some((k, _)) = choose_with(&past, &cfg.selection) {
            let m = among[k];
            picks[m].1 += 1;
            auto.push(window_scores[m]);
            per_window.push(HoldoutWindow {
                index: j,
                origin,
                eligible: eligible.clone(),
                picked: m,
                scores: window_scores
                    .iter()
                    .map(|s| (s.mase, s.cal80, s.cal95))
                    .collect(),
            });
        }
    }
    if auto.is_empty() {
        return Err(ForecastError::InvalidConfig(format!(
            "no window has {} earlier non-overlapping windows; add windows or reduce the step",
            cfg.min_calibration_windows
        )));
    }
    let mut rows: Vec<HoldoutRow> = results
        .iter()
        .zip(&per_model)
        .map(|(r, s)| summarise(r.label.clone(), s))
        .collect();
    rows.push(summarise("auto".to_owned(), &auto));
    Ok(HoldoutReport {
        rows,
        picks,
        per_window,
        eval_windows: auto.len(),
        calibration_windows: cal_range,
    })
}

/// The windows before window `j` whose horizon ends by `j`'s origin: the only ones its
/// selection and calibration may use.
pub(crate) fn eligible_before(origins: &[usize], j: usize, horizon: usize) -> Vec<usize> {
    (0..j)
        .filter(|&i| origins[i] + horizon <= origins[j])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{BacktestConfig, Granularity, backtest_all, candidate_models};
    use crate::rng::Xoshiro256StarStar;

    /// Daily-seasonal series with heavy-tailed AR(1) noise.
    fn noisy_series(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        let mut e = 0.0;
        (0..n)
            .map(|t| {
                let u = rng.next_open01();
                let shock = crate::forecast::normal_quantile(u)
                    * if rng.next_open01() < 0.1 { 3.0 } else { 1.0 };
                e = 0.7 * e + shock;
                100.0 + 20.0 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin() + 3.0 * e
            })
            .collect()
    }

    #[test]
    fn holdout_uses_only_past_windows_and_calibrates() {
        let y = noisy_series(24 * 40, 5);
        let cfg = BacktestConfig::new(24, 30, 12, 24);
        let results = backtest_all(&y, &candidate_models(Granularity::Hour), &cfg).unwrap();
        let report = holdout_evaluation(&results, &HoldoutConfig::default()).unwrap();
        // Window j needs 10 windows ending before its origin: with h = 24 and
        // step 12 that is windows 0..=j-2, so j >= 11 -> 19 evaluation windows.
        assert_eq!(report.eval_windows, 19);
        assert_eq!(report.calibration_windows, (10, 28));
        assert_eq!(report.picks.iter().map(|p| p.1).sum::<usize>(), 19);
        let auto = report.row("auto").unwrap();
        assert!(
            auto.cal_cov95 > 0.8,
            "calibrated 95% coverage {}",
            auto.cal_cov95
        );
        assert!(auto.cal_cov80 <= auto.cal_cov95);
    }

    #[test]
    fn holdout_rejects_too_few_windows() {
        let y = noisy_series(24 * 10, 6);
        let cfg = BacktestConfig::new(24, 3, 24, 24);
        let results = backtest_all(&y, &candidate_models(Granularity::Hour), &cfg).unwrap();
        assert!(holdout_evaluation(&results, &HoldoutConfig::default()).is_err());
    }
}
