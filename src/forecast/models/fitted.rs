//! The fitted state shared by the single models: the gap-filled training
//! series ([`Prepared`]) with its constant, ETS and (seasonal) naive fits,
//! and the [`Fitted`] model that forecasts from it.

use std::fmt;

use augurs::{Predict, ets::FittedAutoETS, mstl::FittedMSTLModel};

use super::{FitInfo, FittedModel, Interval, ModelForecast, ets::fit_ets};
use crate::forecast::{
    ForecastError, ModelKind, Result, check_level,
    prep::{GapReport, fill_gaps, is_constant},
    stats::normal_quantile,
};

/// A gap-filled training series and the model it is being prepared for.
pub(super) struct Prepared {
    requested: ModelKind,
    pub(super) values: Vec<f64>,
    pub(super) gaps: GapReport,
}

impl Prepared {
    pub(super) fn new(requested: ModelKind, y: &[f64]) -> Result<Self> {
        let (values, gaps) = fill_gaps(y)?;
        Ok(Self {
            requested,
            values,
            gaps,
        })
    }

    pub(super) fn info(
        &self,
        method: String,
        fallback: Option<String>,
        notes: Vec<String>,
    ) -> FitInfo {
        FitInfo {
            requested: self.requested,
            method,
            fallback,
            notes,
            gaps: self.gaps,
            n: self.values.len(),
        }
    }

    /// A constant forecast if the series is constant (or all zero).
    pub(super) fn constant(&self) -> Option<Fitted> {
        if !is_constant(&self.values) {
            return None;
        }
        let c = self.values[0].max(0.0);
        let what = if c == 0.0 { "all-zero" } else { "constant" };
        Some(Fitted {
            info: self.info(
                "constant".to_owned(),
                Some(format!(
                    "{what} series: forecasting {c} with zero-width intervals"
                )),
                Vec::new(),
            ),
            fitted: vec![c; self.values.len()],
            inner: Inner::Repeat {
                pattern: vec![c],
                sigma: 0.0,
            },
        })
    }

    /// Non-seasonal AutoETS, or naive if augurs cannot fit it.
    pub(super) fn fit_ets_or_naive(&self, fallback: Option<String>, notes: Vec<String>) -> Fitted {
        match fit_ets(&self.values) {
            Ok((model, scale, spec, fitted)) => Fitted {
                info: self.info(format!("ETS({spec})"), fallback, notes),
                fitted,
                inner: Inner::Ets { model, scale },
            },
            Err(e) => {
                let reason = match fallback {
                    Some(earlier) => format!("{earlier}; ETS failed ({e}); using naive"),
                    None => format!("ETS failed ({e}); using naive"),
                };
                self.fit_repeat(1, Some(reason), notes)
            }
        }
    }

    /// Repeat the last `period` values (naive when `period == 1`).
    pub(super) fn fit_repeat(
        &self,
        period: usize,
        fallback: Option<String>,
        notes: Vec<String>,
    ) -> Fitted {
        let v = &self.values;
        let n = v.len();
        let period = period.clamp(1, n);
        let diffs: Vec<f64> = v.windows(period + 1).map(|w| w[period] - w[0]).collect();
        let sigma = if diffs.is_empty() {
            0.0
        } else {
            (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt()
        };
        let mut fitted = vec![f64::NAN; period.min(n)];
        fitted.extend_from_slice(&v[..n - period]);
        let method = if period == 1 {
            "naive".to_owned()
        } else {
            format!("snaive({period})")
        };
        Fitted {
            info: self.info(method, fallback, notes),
            fitted,
            inner: Inner::Repeat {
                pattern: v[n - period..].to_vec(),
                sigma,
            },
        }
    }
}

/// The fitted state shared by all models.
#[derive(Debug)]
pub(super) struct Fitted {
    pub(super) info: FitInfo,
    pub(super) fitted: Vec<f64>,
    pub(super) inner: Inner,
}

#[derive(Debug)]
pub(super) enum Inner {
    /// augurs MSTL fitted on `y / scale`.
    Mstl { model: FittedMSTLModel, scale: f64 },
    /// augurs AutoETS fitted on `y / scale`.
    Ets { model: FittedAutoETS, scale: f64 },
    /// Repeat `pattern` cyclically; `sigma` is the RMS of the in-sample
    /// `pattern.len()`-lag differences.
    Repeat { pattern: Vec<f64>, sigma: f64 },
    /// Repeat `pattern` cyclically with a constant-width interval of
    /// standard deviation `sigma` (seasonal mean).
    Flat { pattern: Vec<f64>, sigma: f64 },
}

impl FittedModel for Fitted {
    fn info(&self) -> &FitInfo {
        &self.info
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    fn predict(&self, horizon: usize, level: Option<f64>) -> Result<ModelForecast> {
        if let Some(l) = level {
            check_level(l)?;
        }
        let model_err = |e: &dyn fmt::Display| ForecastError::Model {
            model: self.info.requested,
            message: e.to_string(),
        };
        match &self.inner {
            Inner::Mstl { model, scale } => {
                let f = model.predict(horizon, level).map_err(|e| model_err(&e))?;
                Ok(ModelForecast::from_augurs(f, *scale))
            }
            Inner::Ets { model, scale } => {
                let f = model.predict(horizon, level).map_err(|e| model_err(&e))?;
                Ok(ModelForecast::from_augurs(f, *scale))
            }
            Inner::Repeat { pattern, sigma } => {
                Ok(repeat_forecast(pattern, *sigma, horizon, level))
            }
            Inner::Flat { pattern, sigma } => {
                let mut f = repeat_forecast(pattern, *sigma, horizon, level);
                if let (Some(i), Some(l)) = (f.interval.as_mut(), level) {
                    let z = normal_quantile(0.5 + l / 2.0);
                    for ((lo, hi), p) in i.lower.iter_mut().zip(i.upper.iter_mut()).zip(&f.point) {
                        *lo = (p - z * sigma).max(0.0);
                        *hi = p + z * sigma;
                    }
                }
                Ok(f)
            }
        }
    }
}

/// Seasonal-naive forecast with the textbook interval
/// `sigma * sqrt(floor((h - 1) / m) + 1)`.
fn repeat_forecast(
    pattern: &[f64],
    sigma: f64,
    horizon: usize,
    level: Option<f64>,
) -> ModelForecast {
    let m = pattern.len();
    let point: Vec<f64> = (0..horizon).map(|h| pattern[h % m].max(0.0)).collect();
    let interval = level.map(|l| {
        let z = normal_quantile(0.5 + l / 2.0);
        let (lower, upper) = point
            .iter()
            .enumerate()
            .map(|(h, &p)| {
                let half = z * sigma * ((h / m + 1) as f64).sqrt();
                ((p - half).max(0.0), p + half)
            })
            .unzip();
        Interval {
            level: l,
            lower,
            upper,
        }
    });
    ModelForecast { point, interval }
}
