//! Demand forecasts of usage series: the module's entry point for the rest of capplan.
//!
//! [`forecast_usage`] takes one [`UsageSeries`] (the stage boundary) and returns a
//! [`DemandForecast`]: quantiles p05..p95 per future step, the model chosen and why, its
//! backtest scores, the measured coverage of its calibrated intervals, historical anomalies and
//! level shifts, and what is needed to draw seeded sample paths later
//! ([`DemandForecast::sample_paths`]). Known future events are applied afterwards, across
//! series, by [`apply_events`]; capacity limits by [`DemandForecast::set_limit`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    ForecastError, Granularity, Result,
    anomaly::{self, AnomalyConfig, ShiftConfig},
    backtest::{BacktestResult, Scores, WindowResult},
    conformal::{Calibrator, ConformalConfig, EVAL_LEVELS, QuantileForecast},
    engine::{EngineConfig, forecast_series},
    events::{ApplyError, EventSet, PlanWarning},
    metrics,
    paths::{PathConfig, SamplePaths, sample_paths},
    prep::fill_gaps,
    saturation::Saturation,
    select::selection_score,
};
use crate::series::{SeriesKey, UsageSeries};

/// A probabilistic forecast on a regular time grid. Step `k` is stamped
/// `start + k * step_seconds`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastArrays {
    /// Timestamp of the first forecast step.
    pub start: DateTime<Utc>,
    /// Seconds between steps (3600 hourly, 86400 daily, 604800 weekly).
    pub step_seconds: i64,
    /// Quantile levels, ascending (e.g. 0.05 ..= 0.95).
    pub levels: Vec<f64>,
    /// `quantiles[level_index][step]`.
    pub quantiles: Vec<Vec<f64>>,
    /// Point forecast per step.
    pub point: Vec<f64>,
    /// Optional sample paths, `paths[i][step]`; empty when there are none.
    #[serde(skip)]
    pub paths: Vec<Vec<f64>>,
}

impl ForecastArrays {
    fn from_quantiles(start: DateTime<Utc>, step_seconds: i64, q: &QuantileForecast) -> Self {
        Self {
            start,
            step_seconds,
            levels: q.levels.clone(),
            quantiles: q.values.clone(),
            point: q.point.clone(),
            paths: Vec::new(),
        }
    }

    fn to_quantiles(&self) -> QuantileForecast {
        QuantileForecast::new(
            self.levels.clone(),
            self.point.clone(),
            self.quantiles.clone(),
        )
    }

    /// Forecast horizon in steps.
    pub fn horizon(&self) -> usize {
        self.point.len()
    }

    /// Timestamp of step `k`.
    pub fn time_at(&self, k: usize) -> DateTime<Utc> {
        self.start + chrono::Duration::seconds(self.step_seconds * k as i64)
    }

    /// The quantile series at `level`, if that level is present.
    pub fn quantile(&self, level: f64) -> Option<&[f64]> {
        self.levels
            .iter()
            .position(|l| (l - level).abs() < 1e-9)
            .map(|i| self.quantiles[i].as_slice())
    }
}

/// Settings of [`forecast_usage`]. Every field has a documented default ([`Default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSettings {
    /// Forecast horizon in steps of the series.
    pub horizon: usize,
    /// Backtest (and calibration) horizon; `None`: the horizon, capped at 30 days hourly,
    /// 90 days daily or 13 weeks weekly. Steps beyond it get extrapolated intervals.
    pub backtest_horizon: Option<usize>,
    /// Backtest windows wanted (fewer when the history is short). Default 8.
    pub windows: usize,
    /// Distance between backtest origins in steps; `None`: one week hourly or daily,
    /// one step weekly.
    pub step: Option<usize>,
    /// Anomaly threshold (robust z-score of the decomposition remainder). Default 6.
    pub anomalies: AnomalyConfig,
    /// Replace flagged anomalies by their expected value before fitting. Default off.
    pub clean_anomalies: bool,
    /// Level-shift detection settings.
    pub shifts: ShiftConfig,
    /// Train on the history after the last level shift. Default on.
    pub current_regime: bool,
}

impl ForecastSettings {
    /// Defaults for a horizon of `horizon` steps.
    pub fn new(horizon: usize) -> Self {
        Self {
            horizon,
            backtest_horizon: None,
            windows: 8,
            step: None,
            anomalies: AnomalyConfig::default(),
            clean_anomalies: false,
            shifts: ShiftConfig::default(),
            current_regime: true,
        }
    }
}

/// A historical anomaly, with times instead of indices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRecord {
    /// First anomalous bucket.
    pub start: DateTime<Utc>,
    /// Last anomalous bucket (inclusive).
    pub end: DateTime<Utc>,
    /// Bucket with the largest robust z-score.
    pub peak: DateTime<Utc>,
    /// Robust z-score at the peak (signed).
    pub peak_z: f64,
    /// Sum of the decomposition remainder over the run, in the series' unit (signed).
    pub size: f64,
    /// `spike` or `dip`.
    pub direction: &'static str,
}

/// A level shift (changepoint) in the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftRecord {
    /// First bucket of the new regime.
    pub at: DateTime<Utc>,
    /// Mean level before.
    pub before_mean: f64,
    /// Mean level after.
    pub after_mean: f64,
    /// `after / before - 1`.
    pub relative_change: f64,
}

/// Backtest scores of one candidate model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateScore {
    /// Candidate label, e.g. `median(snaive+ets+mstl_ets)`.
    pub model: String,
    /// Selection score (median MASE over windows by default).
    pub selection_score: f64,
    /// Mean MASE over windows.
    pub mase: f64,
    /// Mean RMSSE.
    pub rmsse: f64,
    /// Mean sMAPE (M4 convention, 0–200).
    pub smape: f64,
    /// Windows scored.
    pub windows: usize,
}

/// Out-of-sample coverage of the calibrated intervals, measured on the backtest windows by
/// leaving each window out of its own calibration (cross-conformal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeasuredCoverage {
    /// Share of actuals inside p10–p90 (nominal 0.80).
    pub coverage80: f64,
    /// Share of actuals inside p02.5–p97.5 (nominal 0.95).
    pub coverage95: f64,
    /// Windows measured.
    pub windows: usize,
}

/// The forecast of one usage series.
#[derive(Debug, Clone, Serialize)]
pub struct DemandForecast {
    /// The series.
    pub key: SeriesKey,
    /// Unit of the values.
    pub unit: String,
    /// Granularity of history and forecast.
    #[serde(serialize_with = "ser_granularity")]
    pub granularity: Granularity,
    /// First bucket of the history.
    pub history_start: DateTime<Utc>,
    /// Buckets of history.
    pub history_len: usize,
    /// First bucket the model was trained on (after a level shift, the current regime).
    pub trained_from: DateTime<Utc>,
    /// Quantiles p05..p95 and the point forecast.
    pub forecast: ForecastArrays,
    /// Label of the chosen model.
    pub model: String,
    /// What was fitted, e.g. `MSTL(24,168)+ETS(AAN)`.
    pub method: String,
    /// Why this model.
    pub reason: String,
    /// Why a fallback was used, if one was.
    pub fallback: Option<String>,
    /// Other facts (dropped periods, gaps, ...).
    pub notes: Vec<String>,
    /// Seasonal periods used by the final fit's family.
    pub periods: Vec<usize>,
    /// Domain periods dropped because the history is too short.
    pub dropped_periods: Vec<usize>,
    /// Periods a periodogram finds in the history (augurs): advice only. The model uses the
    /// domain periods, because detection is unreliable (e.g. 23 instead of 24 on M4 hourly);
    /// a mismatch is worth a look.
    pub detected_periods: Vec<u32>,
    /// Steps whose quantiles are calibrated on backtest errors (0: none); later steps are
    /// extrapolated.
    pub calibrated_steps: usize,
    /// Backtest scores of every candidate (empty when the series was too short).
    pub candidates: Vec<CandidateScore>,
    /// Measured coverage of the calibrated intervals.
    pub coverage: Option<MeasuredCoverage>,
    /// Historical anomalies.
    pub anomalies: Vec<AnomalyRecord>,
    /// Whether anomalies were replaced before fitting.
    pub anomalies_cleaned: bool,
    /// Level shifts in the history.
    pub level_shifts: Vec<ShiftRecord>,
    /// Buckets filled before fitting (non-finite values; the zero-filled gaps of the series
    /// are counted in [`UsageSeries::gaps_filled`]).
    pub gaps_filled: usize,
    /// Names of the events applied.
    pub events: Vec<String>,
    /// Capacity limit and when p50/p90 first exceed it.
    pub saturation: Option<Saturation>,
    /// Copula AR(1) coefficient of the sample paths.
    pub phi: f64,
    /// Quantiles on the fine grid 0.01..0.99 that sample paths follow.
    #[serde(skip)]
    path_grid: ForecastArrays,
    /// The forecast before any events were applied (`None` until [`apply_events`] runs).
    #[serde(skip)]
    before_events: Option<ForecastArrays>,
}

fn ser_granularity<S: serde::Serializer>(
    g: &Granularity,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(g.name())
}

impl DemandForecast {
    /// Draw `n_paths` seeded sample paths over the whole horizon. Each step's marginal follows
    /// the forecast's quantile function; consecutive steps are correlated like the backtest
    /// errors, and the level uncertainty that grows with the horizon persists along a path.
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidConfig`] for an unusable `phi` (never for a forecast built here).
    pub fn sample_paths(&self, n_paths: usize, seed: u64) -> Result<SamplePaths> {
        sample_paths(
            &self.path_grid.to_quantiles(),
            self.phi,
            &PathConfig { n_paths, seed },
        )
    }

    /// Per forecast step, the point forecast with events ÷ the one before them (1 where no event
    /// applies or the median before is zero); empty when no events were applied.
    pub fn event_effect(&self) -> Vec<f64> {
        let Some(before) = &self.before_events else {
            return Vec::new();
        };
        self.forecast
            .point
            .iter()
            .zip(&before.point)
            .map(|(a, b)| if *b > 0.0 { (a / b).max(0.0) } else { 1.0 })
            .collect()
    }

    /// Record a capacity limit and when p50 and p90 first exceed it.
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidConfig`] for a limit that is not finite and positive.
    pub fn set_limit(&mut self, limit: f64) -> Result<()> {
        let s = Saturation::from_forecast(&self.forecast, limit)
            .map_err(|e| ForecastError::InvalidConfig(e.to_string()))?;
        self.saturation = Some(s);
        Ok(())
    }
}

/// `g` if series of that granularity can be forecast.
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] for monthly series (too few points per year to fit
/// seasonality; aggregate by day instead).
pub fn check_granularity(g: Granularity) -> Result<Granularity> {
    match g {
        Granularity::Hour | Granularity::Day | Granularity::Week => Ok(g),
        Granularity::Month => Err(ForecastError::InvalidConfig(
            "monthly series cannot be forecast (too few points per season); use --granularity day or week".to_owned(),
        )),
    }
}

fn step_seconds(g: Granularity) -> i64 {
    g.nominal_seconds()
}

/// Default cap of the backtest horizon.
fn backtest_cap(g: Granularity) -> usize {
    match g {
        Granularity::Hour => 30 * 24,
        Granularity::Day => 90,
        Granularity::Week => 13,
        Granularity::Month => 3,
    }
}

/// Default distance between backtest origins.
fn default_step(g: Granularity) -> usize {
    match g {
        Granularity::Hour => 168,
        Granularity::Day => 7,
        Granularity::Week | Granularity::Month => 1,
    }
}

/// Additive decomposition of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// Periods, in the order of `seasonal`.
    pub periods: Vec<usize>,
    /// Trend.
    pub trend: Vec<f64>,
    /// One seasonal component per period.
    pub seasonal: Vec<Vec<f64>>,
    /// Remainder.
    pub remainder: Vec<f64>,
}

/// MSTL decomposition in f64 with R's `mstl()` STL settings (seasonal degree 0, jumps 1, two
/// inner loops, no robustness iterations). Matches R's `forecast::mstl` on `vic_elec` to 0.5
/// units (5e-5 of the mean).
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] when there is no period or a period is longer than half
/// the series, or the series contains a non-finite value.
pub fn decompose(y: &[f64], periods: &[usize]) -> Result<Decomposition> {
    decompose_with(y, periods, false)
}

/// Robust MSTL decomposition for anomaly detection: STL's robustness weights (15 outer
/// loops) keep a spike out of the seasonal components of the neighbouring cycles, so it
/// shows up in the remainder of its own buckets only.
///
/// # Errors
///
/// As [`decompose`].
pub(crate) fn decompose_robust(y: &[f64], periods: &[usize]) -> Result<Decomposition> {
    decompose_with(y, periods, true)
}

fn decompose_with(y: &[f64], periods: &[usize], robust: bool) -> Result<Decomposition> {
    use augurs::mstl::stlrs;
    if periods.is_empty() || periods.iter().any(|&p| p < 2 || 2 * p > y.len()) {
        return Err(ForecastError::InvalidConfig(format!(
            "decomposition needs periods between 2 and half the series length ({}), got {periods:?}",
            y.len()
        )));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(ForecastError::InvalidConfig(
            "decomposition needs finite values; fill gaps first".to_owned(),
        ));
    }
    let mut stl = stlrs::params();
    stl.seasonal_degree(0)
        .seasonal_jump(1)
        .trend_degree(1)
        .trend_jump(1)
        .low_pass_degree(1)
        .inner_loops(if robust { 1 } else { 2 })
        .outer_loops(if robust { 15 } else { 0 })
        .robust(robust);
    let mut params = stlrs::MstlParams::new();
    params.stl_params(stl);
    let fit = params
        .fit(y, periods)
        .map_err(|e| ForecastError::InvalidConfig(format!("MSTL decomposition failed: {e}")))?;
    Ok(Decomposition {
        periods: periods.to_vec(),
        trend: fit.trend().to_vec(),
        seasonal: fit.seasonal().iter().map(|s| s.to_vec()).collect(),
        remainder: fit.remainder().to_vec(),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Median absolute deviation from the median.
fn mad(x: &[f64]) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let m = median(&mut v);
    let mut d: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    median(&mut d)
}

/// The remainder divided by the MAD of its block (`block` buckets, e.g. two weeks hourly), so
/// that a robust z-score is judged against the local noise level: usage that grows or changes
/// regime changes its noise too, and one global scale would flag every hour of the noisier
/// period. A block's scale is floored at a quarter of the global MAD; with no spread beyond
/// round-off (global MAD ≤ 1e-9 × the median |value|) the remainder is returned unchanged.
fn locally_scaled(rem: &[f64], values: &[f64], block: usize) -> Vec<f64> {
    let global = mad(rem);
    let mut abs: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    let floor = 1e-9 * median(&mut abs);
    if global.is_nan() || global <= floor || global <= 0.0 {
        return rem.to_vec();
    }
    rem.chunks(block.max(1))
        .flat_map(|c| {
            let s = mad(c).max(0.25 * global);
            c.iter().map(move |r| r / s)
        })
        .collect()
}

/// Leave-one-window-out coverage of calibrated p10–p90 and p02.5–p97.5 on a backtest.
fn measured_coverage(bt: &BacktestResult, cfg: &ConformalConfig) -> Option<MeasuredCoverage> {
    let w = bt.windows.len();
    if w < 3 {
        return None;
    }
    let (mut c80, mut c95, mut n) = (0.0, 0.0, 0usize);
    for j in 0..w {
        let others = bt
            .windows
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != j)
            .map(|(_, x)| x);
        let Ok(cal) = Calibrator::from_windows(others, cfg) else {
            continue;
        };
        let win = &bt.windows[j];
        let Ok(q) = cal.calibrate(&win.point, win.scale.mae, &EVAL_LEVELS) else {
            continue;
        };
        let (Some((l80, u80)), Some((l95, u95))) = (q.interval(0.8), q.interval(0.95)) else {
            continue;
        };
        let (a, b) = (
            metrics::coverage(&win.actual, l80, u80),
            metrics::coverage(&win.actual, l95, u95),
        );
        if a.is_finite() && b.is_finite() {
            c80 += a;
            c95 += b;
            n += 1;
        }
    }
    (n > 0).then(|| MeasuredCoverage {
        coverage80: c80 / n as f64,
        coverage95: c95 / n as f64,
        windows: n,
    })
}

fn score_row(bt: &BacktestResult, selection_score: f64) -> CandidateScore {
    let s: Scores = bt.scores();
    CandidateScore {
        model: bt.label.clone(),
        selection_score,
        mase: s.mase,
        rmsse: s.rmsse,
        smape: s.smape,
        windows: s.windows,
    }
}

/// Forecast one usage series.
///
/// Steps: fill non-finite values; decompose (MSTL, domain periods) and flag anomalies on the
/// remainder, replacing them when asked; detect level shifts and, when asked, train on the
/// current regime only; backtest the candidates on rolling origins, select, refit, calibrate
/// (steps beyond the backtest horizon are extrapolated); measure coverage.
///
/// # Errors
///
/// As [`forecast_series`], plus [`ForecastError::InvalidConfig`] for monthly series.
pub fn forecast_usage(series: &UsageSeries, settings: &ForecastSettings) -> Result<DemandForecast> {
    let granularity = check_granularity(series.granularity)?;
    let step_s = step_seconds(granularity);
    let n = series.values.len();
    let at = |i: usize| series.start + chrono::Duration::seconds(step_s * i as i64);
    let (filled, gaps) = fill_gaps(&series.values)?;
    let mut notes = Vec::new();

    // Anomalies on the MSTL remainder of the whole history.
    let periods = granularity.periods(n);
    let mut values = filled.clone();
    let mut anomalies = Vec::new();
    let mut cleaned = false;
    if periods.usable.is_empty() {
        notes.push(format!(
            "anomaly detection skipped: {n} points are fewer than two cycles of {:?}",
            periods.dropped
        ));
    } else {
        let d = decompose_robust(&filled, &periods.usable)?;
        let block = match granularity {
            Granularity::Hour => 14 * 24,
            Granularity::Day => 56,
            Granularity::Week => 26,
            Granularity::Month => 6,
        };
        let local = locally_scaled(&d.remainder, &filled, block);
        let mut found = anomaly::detect_anomalies(&filled, &local, &settings.anomalies);
        for a in &mut found {
            a.size = d.remainder[a.start_index..=a.end_index].iter().sum();
        }
        if settings.clean_anomalies && !found.is_empty() {
            values = anomaly::clean_anomalies(&filled, &d.remainder, &found);
            cleaned = true;
        }
        anomalies = found
            .iter()
            .map(|a| AnomalyRecord {
                start: at(a.start_index),
                end: at(a.end_index),
                peak: at(a.peak_index),
                peak_z: a.peak_z,
                size: a.size,
                direction: match a.direction {
                    anomaly::Direction::Spike => "spike",
                    anomaly::Direction::Dip => "dip",
                },
            })
            .collect();
    }

    // Level shifts on (cleaned) values; season = one day (hourly) or one week (daily).
    let shift_season = match granularity {
        Granularity::Hour => 24,
        Granularity::Day => 7,
        Granularity::Week => 4,
        Granularity::Month => 3,
    };
    let longest = periods.usable.last().copied().unwrap_or(shift_season);
    let shift_cfg = settings
        .shifts
        .with_min_history_points(Some((2 * longest).max(settings.horizon.min(n / 2))));
    let shifts = anomaly::detect_level_shifts(&values, shift_season, &shift_cfg);
    let level_shifts: Vec<ShiftRecord> = shifts
        .iter()
        .map(|s| ShiftRecord {
            at: at(s.index),
            before_mean: s.before_mean,
            after_mean: s.after_mean,
            relative_change: s.relative_change,
        })
        .collect();
    let from = if settings.current_regime {
        anomaly::current_regime_start(&values, shift_season, &shift_cfg)
    } else {
        0
    };
    if from == 0 && settings.current_regime && !shifts.is_empty() {
        notes.push(format!(
            "level shift(s) found but the whole history is kept: the current regime is shorter than the {} buckets the model needs",
            (2 * longest).max(settings.horizon.min(n / 2))
        ));
    }
    // The note names the shift as `level_shifts` records it; when the last shift leaves too
    // short a regime, training starts earlier and the note says both dates.
    match shifts.last().map(|s| s.index) {
        _ if from == 0 => {}
        Some(last) if last == from => notes.push(format!(
            "trained on the current regime: {} of {n} buckets, after the level shift at {}",
            n - from,
            at(from).format("%Y-%m-%d %H:%M")
        )),
        Some(last) => notes.push(format!(
            "trained on the last {} of {n} buckets, from {}: the last level shift, at {}, leaves fewer than the {} buckets the model needs",
            n - from,
            at(from).format("%Y-%m-%d %H:%M"),
            at(last).format("%Y-%m-%d %H:%M"),
            (2 * longest).max(settings.horizon.min(n / 2))
        )),
        None => notes.push(format!(
            "trained on the last {} of {n} buckets, from {}",
            n - from,
            at(from).format("%Y-%m-%d %H:%M")
        )),
    }
    let train = &values[from..];
    let detected_periods = if values.len() >= 8 {
        use augurs::seasons::Detector;
        augurs::seasons::PeriodogramDetector::default().detect(&values)
    } else {
        Vec::new()
    };

    let bt_h = settings
        .backtest_horizon
        .unwrap_or_else(|| settings.horizon.min(backtest_cap(granularity)))
        .max(1);
    let mut cfg = EngineConfig::new(granularity, settings.horizon);
    cfg.backtest_horizon = Some(bt_h);
    cfg.windows = settings.windows;
    cfg.step = settings.step.unwrap_or_else(|| default_step(granularity));
    cfg.paths = None;
    let f = forecast_series(train, &cfg)?;

    let start = at(n);
    let mut candidates = Vec::new();
    let mut coverage = None;
    let mut calibrated_steps = 0;
    if let Some(sel) = &f.selection {
        candidates = f
            .backtests
            .iter()
            .map(|bt| {
                let windows: Vec<&WindowResult> = bt.windows.iter().collect();
                score_row(bt, selection_score(&windows, &cfg.selection))
            })
            .collect();
        if let Some(bt) = f.backtests.get(sel.chosen_index) {
            coverage = measured_coverage(bt, &cfg.conformal);
            calibrated_steps = bt.horizon.min(settings.horizon);
        }
    }
    if f.calibrated && calibrated_steps < settings.horizon {
        notes.push(format!(
            "intervals are calibrated for the first {calibrated_steps} steps; later steps widen like sqrt(step) from there"
        ));
    }
    if gaps.total() > 0 {
        notes.push(format!(
            "{} non-finite values filled before fitting",
            gaps.total()
        ));
    }
    notes.extend(f.info.notes.iter().cloned());
    let forecast = ForecastArrays::from_quantiles(start, step_s, &f.quantiles);
    let path_grid = ForecastArrays::from_quantiles(start, step_s, &f.path_quantiles);
    Ok(DemandForecast {
        key: series.key.clone(),
        unit: series.unit.clone(),
        granularity,
        history_start: series.start,
        history_len: n,
        trained_from: at(from),
        forecast,
        model: f
            .selection
            .as_ref()
            .map(|s| s.chosen_label.clone())
            .unwrap_or_else(|| f.chosen.to_string()),
        method: f.info.method.clone(),
        reason: f.reason.clone(),
        fallback: f.info.fallback.clone(),
        notes,
        periods: granularity.periods(train.len()).usable,
        dropped_periods: periods.dropped,
        detected_periods,
        calibrated_steps,
        candidates,
        coverage,
        anomalies,
        anomalies_cleaned: cleaned,
        level_shifts,
        gaps_filled: gaps.total(),
        events: Vec::new(),
        saturation: None,
        phi: f.phi,
        path_grid,
        before_events: None,
    })
}

/// Apply known future events to a set of forecasts (all on the same time grid).
///
/// Returns the warnings (events matching no series, migrations without a target, ...).
///
/// # Errors
///
/// [`ApplyError`] when forecasts are not aligned.
pub fn apply_events(
    events: &EventSet,
    forecasts: &mut [DemandForecast],
) -> std::result::Result<Vec<PlanWarning>, ApplyError> {
    let keys: Vec<SeriesKey> = forecasts.iter().map(|f| f.key.clone()).collect();
    let plan = events.plan(&keys);
    let mut main: Vec<ForecastArrays> = forecasts.iter().map(|f| f.forecast.clone()).collect();
    let mut grid: Vec<ForecastArrays> = forecasts.iter().map(|f| f.path_grid.clone()).collect();
    plan.apply_all(&mut main)?;
    plan.apply_all(&mut grid)?;
    for (i, ((f, m), g)) in forecasts.iter_mut().zip(main).zip(grid).enumerate() {
        if f.before_events.is_none() {
            f.before_events = Some(f.forecast.clone());
        }
        f.forecast = m;
        f.path_grid = g;
        let mut names: Vec<String> = plan
            .adjustments(i)
            .iter()
            .map(|a| events.events()[a.event()].name.clone())
            .collect();
        names.dedup();
        f.events = names;
    }
    Ok(plan.warnings().to_vec())
}
