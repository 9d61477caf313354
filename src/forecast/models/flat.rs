//! [`MstlFlat`]: MSTL decomposition with a flat (windowed-mean) trend.

use std::borrow::Cow;

use augurs::{
    Fit, Forecast, Predict,
    mstl::{FittedTrendModel, MSTLModel, TrendModel},
};

use super::{
    AnyError, FittedModel, Granularity, Model, ModelKind, Result,
    fitted::{Fitted, Inner},
    seasonal::{NoSeason, SeasonalStart, seasonal_start},
};
use crate::forecast::{prep::mean_abs, stats::normal_quantile};

/// MSTL decomposition with a flat trend: the trend + remainder is forecast
/// by the mean of its last `window` values (no ETS, so it is cheap and
/// never extrapolates a slope). Falls back to naive when no period is usable.
#[derive(Debug, Clone, Copy)]
pub struct MstlFlat {
    /// Granularity used to choose the seasonal periods.
    pub granularity: Granularity,
    /// Drop periods longer than this as well.
    pub max_period: Option<usize>,
    /// Points of the deseasonalised series averaged for the level (24).
    pub window: usize,
}

impl MstlFlat {
    /// MSTL with the granularity's periods and a 24-point flat level.
    pub fn new(granularity: Granularity) -> Self {
        Self {
            granularity,
            max_period: None,
            window: granularity.mase_season(),
        }
    }
}

impl Model for MstlFlat {
    fn kind(&self) -> ModelKind {
        ModelKind::MstlFlat
    }

    fn label(&self) -> String {
        match self.max_period {
            Some(p) => format!("mstl_flat(<={p})"),
            None => "mstl_flat".to_owned(),
        }
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedModel>> {
        let (prepared, usable, notes) = match seasonal_start(
            ModelKind::MstlFlat,
            y,
            self.granularity,
            self.max_period,
            NoSeason::Naive,
        )? {
            SeasonalStart::Done(f) => return Ok(f),
            SeasonalStart::Fit {
                prepared,
                usable,
                notes,
            } => (prepared, usable, notes),
        };
        let v = &prepared.values;
        let scale = mean_abs(v);
        let ys: Vec<f64> = v.iter().map(|x| x / scale).collect();
        let mstl = MSTLModel::new(
            usable.clone(),
            FlatTrend {
                window: self.window.max(1),
            },
        );
        match mstl.fit(&ys) {
            Ok(model) => {
                let fitted = model
                    .predict_in_sample(None)
                    .map(|f| f.point.into_iter().map(|x| x * scale).collect())
                    .unwrap_or_else(|_| vec![f64::NAN; v.len()]);
                let names: Vec<String> = usable.iter().map(|p| p.to_string()).collect();
                Ok(Box::new(Fitted {
                    info: prepared.info(
                        format!("MSTL({})+flat({})", names.join(","), self.window),
                        None,
                        notes,
                    ),
                    fitted,
                    inner: Inner::Mstl { model, scale },
                }))
            }
            Err(e) => {
                let reason = format!("MSTL failed ({e}); using naive");
                Ok(Box::new(prepared.fit_repeat(1, Some(reason), notes)))
            }
        }
    }
}

/// Flat trend for MSTL: the mean of the last `window` deseasonalised values.
#[derive(Debug, Clone, Copy)]
struct FlatTrend {
    window: usize,
}

impl TrendModel for FlatTrend {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("Flat")
    }

    fn fit(
        &self,
        y: &[f64],
    ) -> std::result::Result<Box<dyn FittedTrendModel + Sync + Send>, AnyError> {
        let n = y.len();
        let w = self.window.min(n).max(1);
        let level = y[n - w..].iter().sum::<f64>() / w as f64;
        // One-step in-sample: mean of the previous `w` values.
        let mut fitted = vec![f64::NAN; n];
        let mut sum = 0.0;
        for t in 0..n {
            if t >= w {
                fitted[t] = sum / w as f64;
                sum -= y[t - w];
            }
            sum += y[t];
        }
        let d: Vec<f64> = y
            .iter()
            .zip(&fitted)
            .filter(|(_, f)| f.is_finite())
            .map(|(a, f)| a - f)
            .collect();
        let sigma = if d.is_empty() {
            0.0
        } else {
            (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt()
        };
        Ok(Box::new(FlatTrendFitted {
            level,
            fitted,
            sigma,
            window: w,
        }))
    }
}

#[derive(Debug)]
struct FlatTrendFitted {
    level: f64,
    fitted: Vec<f64>,
    sigma: f64,
    window: usize,
}

impl FittedTrendModel for FlatTrendFitted {
    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        forecast: &mut Forecast,
    ) -> std::result::Result<(), AnyError> {
        forecast.point = vec![self.level; horizon];
        if let Some(l) = level {
            let z = normal_quantile(0.5 + l / 2.0);
            // Level uncertainty grows slowly with the horizon (random-walk
            // level on the scale of the averaging window).
            let half: Vec<f64> = (1..=horizon)
                .map(|h| z * self.sigma * (1.0 + h as f64 / self.window as f64).sqrt())
                .collect();
            forecast.intervals = Some(augurs::ForecastIntervals {
                level: l,
                lower: half.iter().map(|d| self.level - d).collect(),
                upper: half.iter().map(|d| self.level + d).collect(),
            });
        }
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        forecast: &mut Forecast,
    ) -> std::result::Result<(), AnyError> {
        forecast.point = self.fitted.clone();
        if let Some(l) = level {
            let z = normal_quantile(0.5 + l / 2.0);
            forecast.intervals = Some(augurs::ForecastIntervals {
                level: l,
                lower: self.fitted.iter().map(|f| f - z * self.sigma).collect(),
                upper: self.fitted.iter().map(|f| f + z * self.sigma).collect(),
            });
        }
        Ok(())
    }

    fn training_data_size(&self) -> Option<usize> {
        Some(self.fitted.len())
    }
}
