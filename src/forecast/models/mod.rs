//! The model trait (augurs-core style: fit → fitted → predict), the
//! forecast and fit-report types, and the candidate lists.
//!
//! The models live in the sibling files: [`AutoEts`] and [`MstlEts`] in
//! `ets.rs`, [`SeasonalNaive`] and [`SeasonalMean`] in `seasonal.rs`,
//! [`MstlFlat`] in `flat.rs`, [`Ensemble`] in `ensemble.rs`; the fitted
//! state they share is in `fitted.rs`.
//!
//! Every model:
//! * fills gaps itself ([`fill_gaps`](super::fill_gaps)) and records how many
//!   values it filled;
//! * short-circuits constant and all-zero series to a constant forecast;
//! * falls back to a simpler method when the history is too short, stating
//!   the reason in [`FitInfo::fallback`];
//! * returns forecasts in original units, clamped at zero.

mod ensemble;
mod ets;
mod fitted;
mod flat;
mod seasonal;
#[cfg(test)]
mod tests;

use std::{error::Error as StdError, fmt};

use augurs::Forecast;

use super::{ForecastError, Granularity, ModelKind, Result, prep::GapReport};

pub(crate) use ensemble::combine_steps;
pub use ensemble::{Combine, Ensemble};
pub use ets::{AutoEts, ETS_SPEC, MstlEts};
pub use flat::MstlFlat;
pub use seasonal::{SeasonChoice, SeasonalMean, SeasonalNaive};

/// A prediction interval at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Nominal coverage, in (0, 1).
    pub level: f64,
    /// Lower bound per horizon step.
    pub lower: Vec<f64>,
    /// Upper bound per horizon step.
    pub upper: Vec<f64>,
}

/// Point forecast plus, if requested, the model's own (parametric) interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelForecast {
    /// Point forecast per horizon step.
    pub point: Vec<f64>,
    /// The model's interval at the requested level.
    pub interval: Option<Interval>,
}

impl ModelForecast {
    /// Build from an augurs forecast computed on data divided by `scale`:
    /// unscale, then clamp at zero.
    fn from_augurs(f: Forecast, scale: f64) -> Self {
        let unscale = |v: Vec<f64>| v.into_iter().map(|x| (x * scale).max(0.0)).collect();
        Self {
            point: unscale(f.point),
            interval: f.intervals.map(|i| Interval {
                level: i.level,
                lower: unscale(i.lower),
                upper: unscale(i.upper),
            }),
        }
    }
}

/// What was actually fitted, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FitInfo {
    /// The model that was asked for.
    pub requested: ModelKind,
    /// The method actually fitted, e.g. `MSTL(24,168)+ETS(AAdN)`.
    pub method: String,
    /// Why a fallback method was used instead of the requested one.
    pub fallback: Option<String>,
    /// Other facts worth reporting (dropped periods, ...).
    pub notes: Vec<String>,
    /// Values filled before fitting.
    pub gaps: GapReport,
    /// Length of the training series.
    pub n: usize,
}

/// An unfitted forecasting model.
pub trait Model: Send + Sync + fmt::Debug {
    /// Which model family this is.
    fn kind(&self) -> ModelKind;

    /// Short label for reports; distinguishes parameterised variants of the
    /// same kind (defaults to the kind's name).
    fn label(&self) -> String {
        self.kind().name().to_owned()
    }

    /// The ensemble behind this model, if it is one (lets the backtest
    /// combine the members' backtests instead of refitting them).
    fn as_ensemble(&self) -> Option<&Ensemble> {
        None
    }

    /// Fit to a regular series (`NaN` marks missing values).
    ///
    /// # Errors
    ///
    /// [`ForecastError::NoData`] when the series has no finite value; model
    /// failures are turned into fallbacks rather than errors.
    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedModel>>;
}

/// A fitted forecasting model.
pub trait FittedModel: Send + Sync + fmt::Debug {
    /// What was fitted.
    fn info(&self) -> &FitInfo;

    /// In-sample one-step-ahead fitted values in original units (`NaN`
    /// where undefined, e.g. the first season of a seasonal naive model).
    fn fitted(&self) -> &[f64];

    /// Forecast `horizon` steps, with the model's interval at `level`.
    ///
    /// # Errors
    ///
    /// [`ForecastError::InvalidLevel`] for a level outside (0, 1), or
    /// [`ForecastError::Model`] if augurs fails.
    fn predict(&self, horizon: usize, level: Option<f64>) -> Result<ModelForecast>;

    /// Point forecast plus the model's intervals at each of `levels`.
    ///
    /// # Errors
    ///
    /// As [`FittedModel::predict`].
    fn predict_levels(&self, horizon: usize, levels: &[f64]) -> Result<(Vec<f64>, Vec<Interval>)> {
        let point = self.predict(horizon, None)?.point;
        let intervals = levels
            .iter()
            .map(|&l| {
                self.predict(horizon, Some(l))?.interval.ok_or_else(|| {
                    ForecastError::InvalidConfig(format!("no interval at level {l}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((point, intervals))
    }
}

/// The prototype's original three candidates (seasonal naive, ETS,
/// MSTL+ETS), simplest first.
pub fn legacy_candidate_models(granularity: Granularity) -> Vec<Box<dyn Model>> {
    vec![
        Box::new(SeasonalNaive::new(granularity)),
        Box::new(AutoEts),
        Box::new(MstlEts::new(granularity)),
    ]
}

/// The default candidates for a granularity ([`candidate_models_with`]
/// without a period cap):
///
/// 1. `smean(d7,med)`: median of the last 7 values at the same hour of day;
/// 2. `median(snaive+smean(d7,med)+mstl_ets+ets+mstl_flat)`: the step-wise
///    median of five models;
/// 3. `median(snaive+ets+mstl_ets)`: step-wise median of seasonal naive,
///    ETS and MSTL+ETS.
///
/// Selection ties (within the tolerance) go to the simpler kind, so
/// `smean(d7,med)` beats the ensembles, and then to the earlier candidate,
/// so the five-model median beats the three-model one.
///
/// Chosen on the 19-series acceptance study (NOTES.md section 8) together
/// with [`SelectionConfig::default`](super::SelectionConfig).
pub fn candidate_models(granularity: Granularity) -> Vec<Box<dyn Model>> {
    candidate_models_with(granularity, None)
}

/// The default candidates with seasonal periods capped at `max_period`
/// (the engine refits the chosen candidate with the validated cap).
pub fn candidate_models_with(
    granularity: Granularity,
    max_period: Option<usize>,
) -> Vec<Box<dyn Model>> {
    let snaive = || -> Box<dyn Model> {
        Box::new(SeasonalNaive {
            granularity,
            max_period,
        })
    };
    let daily_median = || -> Box<dyn Model> {
        Box::new(SeasonalMean {
            granularity,
            max_period,
            season: SeasonChoice::Shortest,
            cycles: DAILY_MEDIAN_CYCLES,
            robust: true,
            level: false,
        })
    };
    let mstl = || -> Box<dyn Model> {
        Box::new(MstlEts {
            granularity,
            max_period,
        })
    };
    vec![
        daily_median(),
        Box::new(Ensemble::new(
            vec![
                snaive(),
                daily_median(),
                mstl(),
                Box::new(AutoEts),
                Box::new(MstlFlat {
                    granularity,
                    max_period,
                    window: granularity.mase_season(),
                }),
            ],
            Combine::Median,
        )),
        Box::new(Ensemble::new(
            vec![snaive(), Box::new(AutoEts), mstl()],
            Combine::Median,
        )),
    ]
}

/// Cycles of the shortest period averaged by the default seasonal-median
/// candidate (7 days for hourly data).
pub(crate) const DAILY_MEDIAN_CYCLES: usize = 7;

/// Any error an augurs fit can return.
type AnyError = Box<dyn StdError + Send + Sync + 'static>;
