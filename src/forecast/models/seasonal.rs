//! The seasonal models: [`SeasonalNaive`] and [`SeasonalMean`], and the
//! common start of every seasonal model's fit ([`seasonal_start`]: usable
//! periods and the fallback when none fits).

use super::{
    FittedModel, Granularity, Model, ModelKind, Result,
    fitted::{Fitted, Inner, Prepared},
};
use crate::forecast::Periods;

/// Seasonal naive with the longest usable period; falls back to naive
/// (last value) when no period has two full cycles.
#[derive(Debug, Clone, Copy)]
pub struct SeasonalNaive {
    /// Granularity used to choose the period.
    pub granularity: Granularity,
    /// Drop periods longer than this as well.
    pub max_period: Option<usize>,
}

impl SeasonalNaive {
    /// Seasonal naive with the granularity's longest usable period.
    pub fn new(granularity: Granularity) -> Self {
        Self {
            granularity,
            max_period: None,
        }
    }
}

/// Usable periods for `n` points, minus those above `max_period`, with a
/// note for every dropped period.
fn usable_periods(
    granularity: Granularity,
    n: usize,
    max_period: Option<usize>,
) -> (Periods, Vec<String>) {
    let mut periods = granularity.periods(n);
    let mut notes = Vec::new();
    if !periods.dropped.is_empty() {
        notes.push(format!(
            "periods {:?} dropped: fewer than two cycles in {n} points",
            periods.dropped
        ));
    }
    if let Some(cap) = max_period {
        let (keep, capped): (Vec<usize>, Vec<usize>) =
            periods.usable.iter().partition(|&&p| p <= cap);
        if !capped.is_empty() {
            notes.push(format!(
                "periods {capped:?} dropped: longer than the validated maximum {cap}"
            ));
            periods.dropped.extend(capped);
            periods.usable = keep;
        }
    }
    (periods, notes)
}

/// What a seasonal model falls back to when no seasonal period fits the history.
#[derive(Clone, Copy)]
pub(super) enum NoSeason {
    /// Non-seasonal ETS (naive when even ETS cannot fit).
    Ets,
    /// Naive (repeat the last value).
    Naive,
}

/// The common start of every seasonal model's fit: fill gaps, short-circuit constant series,
/// and pick the usable periods or fit the stated fallback.
pub(super) enum SeasonalStart {
    /// The series was constant or no period fits: the forecast is already fitted.
    Done(Box<dyn FittedModel>),
    /// Fit the seasonal model with these usable periods (ascending, non-empty).
    Fit {
        prepared: Prepared,
        usable: Vec<usize>,
        notes: Vec<String>,
    },
}

pub(super) fn seasonal_start(
    kind: ModelKind,
    y: &[f64],
    granularity: Granularity,
    max_period: Option<usize>,
    fallback: NoSeason,
) -> Result<SeasonalStart> {
    let prepared = Prepared::new(kind, y)?;
    if let Some(constant) = prepared.constant() {
        return Ok(SeasonalStart::Done(Box::new(constant)));
    }
    let (periods, notes) = usable_periods(granularity, prepared.values.len(), max_period);
    if periods.usable.is_empty() {
        let using = match fallback {
            NoSeason::Ets => "non-seasonal ETS",
            NoSeason::Naive => "naive",
        };
        let reason = format!(
            "history of {} points is shorter than two seasons of {}; using {using}",
            prepared.values.len(),
            periods.dropped[0]
        );
        let fitted = match fallback {
            NoSeason::Ets => prepared.fit_ets_or_naive(Some(reason), notes),
            NoSeason::Naive => prepared.fit_repeat(1, Some(reason), notes),
        };
        return Ok(SeasonalStart::Done(Box::new(fitted)));
    }
    Ok(SeasonalStart::Fit {
        prepared,
        usable: periods.usable,
        notes,
    })
}

impl Model for SeasonalNaive {
    fn kind(&self) -> ModelKind {
        ModelKind::SeasonalNaive
    }

    fn label(&self) -> String {
        match self.max_period {
            Some(p) => format!("snaive{p}"),
            None => "snaive".to_owned(),
        }
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedModel>> {
        match seasonal_start(
            ModelKind::SeasonalNaive,
            y,
            self.granularity,
            self.max_period,
            NoSeason::Naive,
        )? {
            SeasonalStart::Done(f) => Ok(f),
            SeasonalStart::Fit {
                prepared,
                usable,
                notes,
            } => {
                let m = usable[usable.len() - 1];
                Ok(Box::new(prepared.fit_repeat(m, None, notes)))
            }
        }
    }
}

/// Which of the usable periods a [`SeasonalMean`] averages over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonChoice {
    /// The shortest usable period (24 for hourly data).
    Shortest,
    /// The longest usable period (168 for hourly data with two weeks).
    Longest,
}

/// Seasonal mean: the forecast for each position of the season is the mean
/// (or median, `robust`) of the last `cycles` values at that position.
///
/// With `level` the profile is shifted so that its last shortest-period
/// (24 h) mean equals the mean of the last 24 observations ("level-adjusted
/// to the last day"). Falls back to naive when no period has two cycles.
/// Much less noisy than seasonal naive on spiky cloud metrics.
#[derive(Debug, Clone, Copy)]
pub struct SeasonalMean {
    /// Granularity used to choose the period.
    pub granularity: Granularity,
    /// Drop periods longer than this as well.
    pub max_period: Option<usize>,
    /// Period to average over.
    pub season: SeasonChoice,
    /// Number of past cycles averaged (fewer when the history is shorter).
    pub cycles: usize,
    /// Median instead of mean.
    pub robust: bool,
    /// Level-adjust to the mean of the last shortest period.
    pub level: bool,
}

impl SeasonalMean {
    /// Seasonal mean of the last `cycles` cycles of the chosen period.
    pub fn new(granularity: Granularity, season: SeasonChoice, cycles: usize) -> Self {
        Self {
            granularity,
            max_period: None,
            season,
            cycles,
            robust: false,
            level: false,
        }
    }
}

pub(super) fn mean_or_median(v: &mut [f64], robust: bool) -> f64 {
    if robust {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

impl Model for SeasonalMean {
    fn kind(&self) -> ModelKind {
        ModelKind::SeasonalMean
    }

    fn label(&self) -> String {
        format!(
            "smean({}{}{}{})",
            match self.season {
                SeasonChoice::Shortest => "d",
                SeasonChoice::Longest => "w",
            },
            self.cycles,
            if self.robust { ",med" } else { "" },
            if self.level { ",lvl" } else { "" }
        )
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedModel>> {
        let (prepared, usable, notes) = match seasonal_start(
            ModelKind::SeasonalMean,
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
        let p = match self.season {
            SeasonChoice::Shortest => usable[0],
            SeasonChoice::Longest => usable[usable.len() - 1],
        };
        let v = &prepared.values;
        let n = v.len();
        let k = self.cycles.clamp(1, n / p);
        let mut buf = Vec::with_capacity(k);
        let mut pattern: Vec<f64> = (0..p)
            .map(|j| {
                buf.clear();
                buf.extend((1..=k).map(|c| v[n - c * p + j]));
                mean_or_median(&mut buf, self.robust)
            })
            .collect();
        let short = usable[0].min(p);
        if self.level {
            let last = v[n - short..].iter().sum::<f64>() / short as f64;
            let prof = pattern[p - short..].iter().sum::<f64>() / short as f64;
            pattern.iter_mut().for_each(|x| *x += last - prof);
        }
        // In-sample fitted values: the same rule on the history before t
        // (without level adjustment), NaN for the first cycle.
        let fitted: Vec<f64> = (0..n)
            .map(|t| {
                let kk = (t / p).min(k);
                if kk == 0 {
                    return f64::NAN;
                }
                buf.clear();
                buf.extend((1..=kk).map(|c| v[t - c * p]));
                mean_or_median(&mut buf, self.robust)
            })
            .collect();
        let resid: Vec<f64> = v
            .iter()
            .zip(&fitted)
            .filter(|(_, f)| f.is_finite())
            .map(|(a, f)| a - f)
            .collect();
        let sigma = if resid.is_empty() {
            0.0
        } else {
            (resid.iter().map(|d| d * d).sum::<f64>() / resid.len() as f64).sqrt()
        };
        Ok(Box::new(Fitted {
            info: prepared.info(
                format!(
                    "smean({p}x{k}{}{})",
                    if self.robust { ",median" } else { "" },
                    if self.level { ",level" } else { "" }
                ),
                None,
                notes,
            ),
            fitted,
            inner: Inner::Flat { pattern, sigma },
        }))
    }
}
