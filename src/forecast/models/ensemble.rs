//! Forecast combinations: [`Ensemble`] combines its members step by step
//! ([`Combine`]: mean or median).

use super::{
    FitInfo, FittedModel, Interval, Model, ModelForecast, Result, fitted::Prepared,
    seasonal::mean_or_median,
};
use crate::forecast::{ForecastError, ModelKind};

/// How an [`Ensemble`] combines its members' forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Arithmetic mean of the members (points and interval bounds).
    Mean,
    /// Median of the members (points and interval bounds).
    Median,
}

impl Combine {
    /// Combine one value per member.
    pub fn apply(self, values: &mut [f64]) -> f64 {
        mean_or_median(values, self == Combine::Median)
    }
}

/// Forecast combination: fits every member and combines their point
/// forecasts and interval bounds step by step (mean or median). The
/// interval is only a diagnostic; the engine calibrates the combination's
/// own backtest errors.
#[derive(Debug)]
pub struct Ensemble {
    /// The models combined.
    pub members: Vec<Box<dyn Model>>,
    /// Mean or median.
    pub combine: Combine,
}

impl Ensemble {
    /// Combine `members` with `combine`.
    pub fn new(members: Vec<Box<dyn Model>>, combine: Combine) -> Self {
        Self { members, combine }
    }

    /// The label an ensemble of members labelled `labels` gets.
    pub fn label_of(labels: &[String], combine: Combine) -> String {
        format!(
            "{}({})",
            match combine {
                Combine::Mean => "mean",
                Combine::Median => "median",
            },
            labels.join("+")
        )
    }
}

impl Model for Ensemble {
    fn kind(&self) -> ModelKind {
        ModelKind::Ensemble
    }

    fn as_ensemble(&self) -> Option<&Ensemble> {
        Some(self)
    }

    fn label(&self) -> String {
        let labels: Vec<String> = self.members.iter().map(|m| m.label()).collect();
        Self::label_of(&labels, self.combine)
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedModel>> {
        if self.members.is_empty() {
            return Err(ForecastError::InvalidConfig(
                "an ensemble needs at least one member".to_owned(),
            ));
        }
        let prepared = Prepared::new(ModelKind::Ensemble, y)?;
        if let Some(constant) = prepared.constant() {
            return Ok(Box::new(constant));
        }
        let Prepared { values, gaps, .. } = prepared;
        let members = self
            .members
            .iter()
            .map(|m| m.fit(y))
            .collect::<Result<Vec<_>>>()?;
        let n = values.len();
        let mut buf = Vec::with_capacity(members.len());
        let fitted: Vec<f64> = (0..n)
            .map(|t| {
                buf.clear();
                buf.extend(
                    members
                        .iter()
                        .map(|m| m.fitted()[t])
                        .filter(|v| v.is_finite()),
                );
                if buf.is_empty() {
                    f64::NAN
                } else {
                    self.combine.apply(&mut buf)
                }
            })
            .collect();
        let methods: Vec<String> = members.iter().map(|m| m.info().method.clone()).collect();
        let fallbacks: Vec<String> = members
            .iter()
            .filter_map(|m| {
                m.info()
                    .fallback
                    .as_ref()
                    .map(|f| format!("{}: {f}", m.info().requested))
            })
            .collect();
        let info = FitInfo {
            requested: ModelKind::Ensemble,
            method: Self::label_of(&methods, self.combine),
            fallback: None,
            notes: fallbacks,
            gaps,
            n,
        };
        Ok(Box::new(FittedEnsemble {
            info,
            fitted,
            members,
            combine: self.combine,
        }))
    }
}

#[derive(Debug)]
struct FittedEnsemble {
    info: FitInfo,
    fitted: Vec<f64>,
    members: Vec<Box<dyn FittedModel>>,
    combine: Combine,
}

/// Combine equal-length vectors step by step.
pub(crate) fn combine_steps(parts: &[&[f64]], combine: Combine) -> Vec<f64> {
    let h = parts.first().map_or(0, |p| p.len());
    let mut buf = Vec::with_capacity(parts.len());
    (0..h)
        .map(|k| {
            buf.clear();
            buf.extend(parts.iter().map(|p| p[k]));
            combine.apply(&mut buf)
        })
        .collect()
}

impl FittedModel for FittedEnsemble {
    fn info(&self) -> &FitInfo {
        &self.info
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    fn predict(&self, horizon: usize, level: Option<f64>) -> Result<ModelForecast> {
        let fs = self
            .members
            .iter()
            .map(|m| m.predict(horizon, level))
            .collect::<Result<Vec<_>>>()?;
        let points: Vec<&[f64]> = fs.iter().map(|f| f.point.as_slice()).collect();
        let point = combine_steps(&points, self.combine);
        let interval = match level {
            Some(l) => {
                let ints: Vec<&Interval> = fs
                    .iter()
                    .map(|f| {
                        f.interval.as_ref().ok_or_else(|| {
                            ForecastError::InvalidConfig(format!("no interval at level {l}"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let lo: Vec<&[f64]> = ints.iter().map(|i| i.lower.as_slice()).collect();
                let hi: Vec<&[f64]> = ints.iter().map(|i| i.upper.as_slice()).collect();
                let lower = combine_steps(&lo, self.combine)
                    .into_iter()
                    .zip(&point)
                    .map(|(a, p)| a.min(*p))
                    .collect();
                let upper = combine_steps(&hi, self.combine)
                    .into_iter()
                    .zip(&point)
                    .map(|(a, p)| a.max(*p))
                    .collect();
                Some(Interval {
                    level: l,
                    lower,
                    upper,
                })
            }
            None => None,
        };
        Ok(ModelForecast { point, interval })
    }
}
