//! Forecasting engine: models, rolling-origin backtest, metrics, conformal
//! calibration, model selection and deterministic sample paths.
//!
//! The pipeline for one series ([`forecast_series`]) is:
//!
//! 1. fill gaps ([`fill_gaps`]) and detect constant / all-zero series;
//! 2. backtest every candidate model ([`MstlEts`], [`SeasonalNaive`],
//!    [`AutoEts`]) on rolling origins ([`backtest`]);
//! 3. pick the model with the lowest mean MASE ([`select_model`]);
//! 4. refit it on the full history, forecast, and replace its parametric
//!    intervals by conformal quantiles built from its backtest errors
//!    ([`Calibrator`]);
//! 5. draw seeded sample paths whose marginals follow those quantiles
//!    ([`sample_paths`]).
//!
//! Plain Rust, no I/O: the caller passes a regular grid of values with `NaN`
//! for missing points. All outputs are in the series' original units and are
//! clamped at zero (usage is never negative).

pub mod anomaly;
mod backtest;
mod batch;
mod conformal;
mod demand;
mod engine;
mod evaluate;
pub mod events;
mod holdout;
pub mod longrun;
mod metrics;
mod models;
mod paths;
mod prep;

pub mod saturation;
mod select;
mod stats;

use std::fmt;

use crate::series::Granularity;

pub use backtest::{
    BacktestConfig, BacktestResult, Scores, WindowResult, backtest, backtest_all, combine_backtests,
};
pub use batch::{SeriesError, evaluate_all, forecast_all};
pub use conformal::{
    CalibrationMode, Calibrator, ConformalConfig, EVAL_LEVELS, QuantileForecast, STANDARD_LEVELS,
};
pub use demand::{
    AnomalyRecord, CandidateScore, Decomposition, DemandForecast, ForecastArrays, ForecastSettings,
    MeasuredCoverage, ShiftRecord, apply_events, check_granularity, decompose, forecast_usage,
};
pub use engine::{EngineConfig, SeriesForecast, forecast_series};
pub use evaluate::{
    EvaluationSettings, ModelEvaluation, SNAIVE, SeriesEvaluation, WindowPlan, evaluate_series,
    window_plan,
};
pub use holdout::{
    HoldoutConfig, HoldoutReport, HoldoutRow, HoldoutWindow, holdout_evaluation,
    holdout_evaluation_among, holdout_evaluation_refs,
};
pub use longrun::{LevelEvidence, LevelModel, LongRunForecast, LongRunSettings, long_run_paths};
pub use metrics::{Scale, coverage, mase, pinball, rmsse, scaled_crps, smape, winkler};
pub use models::{
    AutoEts, Combine, ETS_SPEC, Ensemble, FitInfo, FittedModel, Interval, Model, ModelForecast,
    MstlEts, MstlFlat, SeasonChoice, SeasonalMean, SeasonalNaive, candidate_models,
    candidate_models_with, legacy_candidate_models,
};
pub use paths::{DEFAULT_PHI, PathConfig, SamplePaths, estimate_phi, path_levels, sample_paths};
pub use prep::{GapReport, fill_gaps, is_constant, mean_abs};
pub use select::{
    ModelScore, Selection, SelectionConfig, SelectionMetric, choose_index, choose_with,
    select_model, selection_score,
};
pub use stats::{normal_cdf, normal_quantile, quantile_sorted};

/// Errors produced by the forecasting engine.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// The series is empty or has no finite value at all.
    #[error("series has no finite values")]
    NoData,
    /// An interval or quantile level was outside the open interval (0, 1).
    #[error("level {0} must be strictly between 0 and 1")]
    InvalidLevel(f64),
    /// A configuration value was unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The series is too short for the requested backtest.
    #[error("backtest needs at least {needed} points, series has {have}")]
    NotEnoughHistory {
        /// Points required (minimum training length plus horizon).
        needed: usize,
        /// Points available.
        have: usize,
    },
    /// An augurs model failed to fit or predict and no fallback applied.
    #[error("{model}: {message}")]
    Model {
        /// The model that failed.
        model: ModelKind,
        /// The underlying error, rendered.
        message: String,
    },
    /// Conformal calibration had no finite error for some horizon step.
    #[error("no calibration errors available for horizon step {0}")]
    NoCalibrationData(usize),
}

/// Convenience alias for results of this module.
pub type Result<T> = std::result::Result<T, ForecastError>;

/// The model families the engine can select from.
///
/// Ordered by complexity: ties in model selection go to the simpler model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Seasonal naive: repeat the last full season.
    SeasonalNaive,
    /// Seasonal mean of the last few cycles ([`SeasonalMean`]).
    SeasonalMean,
    /// Non-seasonal AutoETS (spec [`ETS_SPEC`], additive error).
    AutoEts,
    /// augurs MSTL decomposition with a flat (last-day mean) trend ([`MstlFlat`]).
    MstlFlat,
    /// augurs MSTL decomposition with an AutoETS trend model.
    MstlEts,
    /// Combination of other models ([`Ensemble`]).
    Ensemble,
}

impl ModelKind {
    /// All model kinds, simplest first.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::SeasonalNaive,
        ModelKind::SeasonalMean,
        ModelKind::AutoEts,
        ModelKind::MstlFlat,
        ModelKind::MstlEts,
        ModelKind::Ensemble,
    ];

    /// Short stable name, suitable for reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SeasonalNaive => "snaive",
            ModelKind::AutoEts => "ets",
            ModelKind::MstlEts => "mstl_ets",
            ModelKind::SeasonalMean => "smean",
            ModelKind::MstlFlat => "mstl_flat",
            ModelKind::Ensemble => "ensemble",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Seasonal periods chosen for a history length, and those dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    /// Periods with at least two full cycles in the history, ascending.
    pub usable: Vec<usize>,
    /// Domain periods dropped because the history has fewer than two cycles.
    pub dropped: Vec<usize>,
}

/// The forecast stage's reading of a series' [`Granularity`]: its seasonal periods and MASE
/// season. Hour: periods 24 and 168, plus 8766 (one year) once there are two years of history.
/// Day: period 7, plus 365 once there are two years of history. Week: period 52. Month: period
/// 12 (monthly series are refused by [`forecast_usage`] and [`check_granularity`]; the periods
/// are defined so the models stay total).
impl Granularity {
    /// Hours in an average (Julian) year.
    pub const HOURS_PER_YEAR: usize = 8766;

    /// Domain seasonal periods for a history of `n` points, ascending,
    /// before the "two full cycles" rule is applied.
    pub fn domain_periods(self, n: usize) -> Vec<usize> {
        match self {
            Granularity::Hour => {
                let mut p = vec![24, 168];
                if n >= 2 * Self::HOURS_PER_YEAR {
                    p.push(Self::HOURS_PER_YEAR);
                }
                p
            }
            Granularity::Day => {
                let mut p = vec![7];
                if n >= 2 * 365 {
                    p.push(365);
                }
                p
            }
            Granularity::Week => vec![52],
            Granularity::Month => vec![12],
        }
    }

    /// Split the domain periods into usable ones (`2 * p <= n`, the bound
    /// `stlrs` enforces) and dropped ones.
    pub fn periods(self, n: usize) -> Periods {
        let (usable, dropped) = self
            .domain_periods(n)
            .into_iter()
            .partition(|&p| 2 * p <= n);
        Periods { usable, dropped }
    }

    /// Season used for the MASE/RMSSE scale (M4 convention: the shortest
    /// domain period, 24 for hourly and 7 for daily data; 1 for weekly and monthly data).
    pub fn mase_season(self) -> usize {
        match self {
            Granularity::Hour => 24,
            Granularity::Day => 7,
            Granularity::Week | Granularity::Month => 1,
        }
    }
}

/// Check that `level` lies strictly between 0 and 1.
pub(crate) fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(ForecastError::InvalidLevel(level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_periods_follow_history_length() {
        let one_year = Granularity::Hour.periods(8760);
        assert_eq!(one_year.usable, vec![24, 168]);
        assert!(one_year.dropped.is_empty());

        let two_years = Granularity::Hour.periods(2 * 8766);
        assert_eq!(two_years.usable, vec![24, 168, 8766]);

        let two_weeks = Granularity::Hour.periods(335);
        assert_eq!(two_weeks.usable, vec![24]);
        assert_eq!(two_weeks.dropped, vec![168]);

        let one_day = Granularity::Hour.periods(30);
        assert!(one_day.usable.is_empty());
        assert_eq!(one_day.dropped, vec![24, 168]);
    }

    #[test]
    fn daily_periods_follow_history_length() {
        assert_eq!(Granularity::Day.periods(100).usable, vec![7]);
        assert_eq!(Granularity::Day.periods(730).usable, vec![7, 365]);
        assert_eq!(Granularity::Day.periods(729).usable, vec![7]);
        assert_eq!(Granularity::Day.periods(13).dropped, vec![7]);
    }

    #[test]
    fn weekly_and_monthly_periods_and_mase_seasons() {
        assert_eq!(Granularity::Week.periods(104).usable, vec![52]);
        assert_eq!(Granularity::Month.periods(24).usable, vec![12]);
        assert_eq!(Granularity::Hour.mase_season(), 24);
        assert_eq!(Granularity::Day.mase_season(), 7);
        assert_eq!(Granularity::Week.mase_season(), 1);
        assert_eq!(Granularity::Month.mase_season(), 1);
    }

    #[test]
    fn monthly_series_are_refused() {
        assert_eq!(
            check_granularity(Granularity::Day).unwrap(),
            Granularity::Day
        );
        let e = check_granularity(Granularity::Month).unwrap_err();
        assert!(
            e.to_string().contains("monthly series cannot be forecast"),
            "{e}"
        );
    }

    #[test]
    fn level_validation() {
        assert!(check_level(0.95).is_ok());
        assert!(check_level(0.0).is_err());
        assert!(check_level(1.0).is_err());
        assert!(check_level(f64::NAN).is_err());
    }
}
