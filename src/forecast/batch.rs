//! Many series at once: forecast (or backtest) every series in parallel (rayon), reporting one
//! progress step per series. Each result depends only on its series, so the output is
//! deterministic; the first failure in series order names its series.

use rayon::prelude::*;

use super::{
    DemandForecast, EvaluationSettings, ForecastError, ForecastSettings, Granularity,
    SeriesEvaluation, evaluate_series, forecast_usage,
};
use crate::progress::Progress;
use crate::series::UsageSeries;

/// One series of a batch failed: what was being done, the series and the engine's error.
#[derive(Debug, thiserror::Error)]
#[error("{action} series {series}")]
pub struct SeriesError {
    /// What the batch was doing (`forecasting`, `backtesting`).
    pub action: &'static str,
    /// The series' key, rendered.
    pub series: String,
    /// The engine's error.
    #[source]
    pub source: ForecastError,
}

/// Runs `f` over every series in parallel as one progress stage `what`; returns the results in
/// series order or the first failure in series order.
fn run_all<T: Send>(
    series: &[UsageSeries],
    progress: &dyn Progress,
    what: &str,
    action: &'static str,
    f: impl Fn(&UsageSeries) -> Result<T, ForecastError> + Sync,
) -> Result<Vec<T>, SeriesError> {
    progress.start(what, series.len());
    let results: Vec<Result<T, SeriesError>> = series
        .par_iter()
        .map(|s| {
            let r = f(s).map_err(|source| SeriesError {
                action,
                series: s.key.to_string(),
                source,
            });
            progress.inc();
            r
        })
        .collect();
    progress.finish();
    results.into_iter().collect()
}

/// Forecasts every series with [`forecast_usage`] in parallel, as one progress stage named
/// `what` (one step per series).
///
/// # Errors
///
/// The first series (in input order) whose forecast failed, with the engine's error as source
/// (`forecasting series <key>: <error>`).
pub fn forecast_all(
    series: &[UsageSeries],
    settings: &ForecastSettings,
    progress: &dyn Progress,
    what: &str,
) -> Result<Vec<DemandForecast>, SeriesError> {
    run_all(series, progress, what, "forecasting", |s| {
        forecast_usage(s, settings)
    })
}

/// Backtests every series with [`evaluate_series`] (all at `granularity`) in parallel, as one
/// progress stage named `what` (one step per series).
///
/// # Errors
///
/// The first series (in input order) whose evaluation failed
/// (`backtesting series <key>: <error>`).
pub fn evaluate_all(
    series: &[UsageSeries],
    granularity: Granularity,
    settings: &EvaluationSettings,
    progress: &dyn Progress,
    what: &str,
) -> Result<Vec<SeriesEvaluation>, SeriesError> {
    run_all(series, progress, what, "backtesting", |s| {
        evaluate_series(&s.values, granularity, settings)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::series::{self, SeriesKey};

    #[derive(Default)]
    struct Count {
        started: AtomicUsize,
        steps: AtomicUsize,
        finished: AtomicUsize,
    }

    impl Progress for Count {
        fn start(&self, _: &str, total: usize) {
            self.started.store(total, Ordering::SeqCst);
        }
        fn inc(&self) {
            self.steps.fetch_add(1, Ordering::SeqCst);
        }
        fn finish(&self) {
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn daily(name: &str, values: Vec<f64>) -> UsageSeries {
        UsageSeries {
            key: SeriesKey(vec![("service".into(), name.into())]),
            unit: "h".into(),
            granularity: series::Granularity::Day,
            start: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            values,
            cost: None,
            gaps_filled: 0,
        }
    }

    fn weekly_pattern(n: usize, level: f64) -> Vec<f64> {
        (0..n)
            .map(|i| level + if i % 7 < 5 { 10.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn forecast_all_keeps_order_and_counts_steps() {
        let series = vec![
            daily("a", weekly_pattern(120, 100.0)),
            daily("b", weekly_pattern(120, 50.0)),
            daily("c", weekly_pattern(120, 10.0)),
        ];
        let progress = Count::default();
        let out = forecast_all(&series, &ForecastSettings::new(14), &progress, "x").unwrap();
        assert_eq!(out.len(), 3);
        for (f, s) in out.iter().zip(&series) {
            assert_eq!(f.key, s.key);
        }
        assert_eq!(progress.started.load(Ordering::SeqCst), 3);
        assert_eq!(progress.steps.load(Ordering::SeqCst), 3);
        assert_eq!(progress.finished.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn forecast_all_names_the_first_failing_series() {
        let series = vec![
            daily("good", weekly_pattern(120, 100.0)),
            daily("empty-1", vec![f64::NAN; 30]),
            daily("empty-2", vec![f64::NAN; 30]),
        ];
        let err =
            forecast_all(&series, &ForecastSettings::new(14), &Count::default(), "x").unwrap_err();
        assert_eq!(err.series, "service=empty-1");
        assert!(
            err.to_string()
                .starts_with("forecasting series service=empty-1")
        );
    }
}
