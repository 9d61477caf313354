//! Forecast accuracy metrics.
//!
//! All functions skip pairs whose actual (or forecast) is not finite, so a
//! gap in the evaluation period is ignored rather than compared with an
//! interpolated value. They return `NaN` when no pair is left.

/// Which in-sample differences a [`Scale`] was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleBasis {
    /// Differences at the seasonal lag `m` (the MASE definition).
    Seasonal(usize),
    /// Lag-1 differences: the seasonal differences were all zero or the
    /// history was shorter than `m + 1`.
    Lag1,
    /// Mean absolute value: the series never changes.
    MeanAbs,
    /// 1.0: the series is all zero, so scaled metrics are raw errors.
    Unit,
}

/// Mean absolute differences below this share of a series' mean absolute value are rounding
/// noise, not change (see [`Scale::from_training`]).
pub(crate) const NEGLIGIBLE_CHANGE: f64 = 1e-6;

/// In-sample scale that makes errors comparable across series: the mean
/// absolute (for MASE) and mean squared (for RMSSE) error of the seasonal
/// naive forecast on the training data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Mean absolute seasonal difference (MASE denominator).
    pub mae: f64,
    /// Mean squared seasonal difference (RMSSE denominator).
    pub mse: f64,
    /// What the scale was computed from.
    pub basis: ScaleBasis,
}

impl Scale {
    /// Scale from a training series with season `m`.
    ///
    /// Falls back, in order, to lag-1 differences, the mean absolute value
    /// and finally 1.0, so the result is always positive and finite (a
    /// constant series would otherwise give 0/0). Differences whose mean is
    /// negligible against the series' level (a millionth of its mean
    /// absolute value: rounding noise on a constant series) count as none, so
    /// a near-constant series is scaled by its level instead of by its noise
    /// (which made MASE values of 1e9).
    pub fn from_training(train: &[f64], m: usize) -> Self {
        let level = {
            let (s, n) = train
                .iter()
                .filter(|v| v.is_finite())
                .fold((0.0, 0usize), |(s, n), v| (s + v.abs(), n + 1));
            if n == 0 { 0.0 } else { s / n as f64 }
        };
        let floor = NEGLIGIBLE_CHANGE * level;
        let diffs = |lag: usize| -> Option<(f64, f64)> {
            if lag == 0 || train.len() <= lag {
                return None;
            }
            let d: Vec<f64> = train
                .windows(lag + 1)
                .map(|w| w[lag] - w[0])
                .filter(|d| d.is_finite())
                .collect();
            if d.is_empty() {
                return None;
            }
            let n = d.len() as f64;
            let mae = d.iter().map(|x| x.abs()).sum::<f64>() / n;
            let mse = d.iter().map(|x| x * x).sum::<f64>() / n;
            (mae > floor && mae > 0.0).then_some((mae, mse))
        };
        if let Some((mae, mse)) = diffs(m) {
            return Self {
                mae,
                mse,
                basis: ScaleBasis::Seasonal(m),
            };
        }
        if let Some((mae, mse)) = diffs(1) {
            return Self {
                mae,
                mse,
                basis: ScaleBasis::Lag1,
            };
        }
        let finite: Vec<f64> = train.iter().copied().filter(|v| v.is_finite()).collect();
        let mae = finite.iter().map(|v| v.abs()).sum::<f64>() / finite.len().max(1) as f64;
        if mae > 0.0 {
            let mse = finite.iter().map(|v| v * v).sum::<f64>() / finite.len() as f64;
            Self {
                mae,
                mse,
                basis: ScaleBasis::MeanAbs,
            }
        } else {
            Self {
                mae: 1.0,
                mse: 1.0,
                basis: ScaleBasis::Unit,
            }
        }
    }
}

/// Mean of `f(actual, forecast)` over finite pairs.
fn mean_over<'a>(
    pairs: impl Iterator<Item = (&'a f64, &'a f64)>,
    f: impl Fn(f64, f64) -> f64,
) -> f64 {
    let (sum, n) = pairs
        .filter(|(a, p)| a.is_finite() && p.is_finite())
        .fold((0.0, 0usize), |(s, n), (&a, &p)| (s + f(a, p), n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Mean absolute scaled error: `mean|a - f| / scale_mae`.
pub fn mase(actual: &[f64], forecast: &[f64], scale_mae: f64) -> f64 {
    mean_over(actual.iter().zip(forecast), |a, f| (a - f).abs()) / scale_mae
}

/// Root mean squared scaled error: `sqrt(mean (a - f)^2 / scale_mse)`.
pub fn rmsse(actual: &[f64], forecast: &[f64], scale_mse: f64) -> f64 {
    (mean_over(actual.iter().zip(forecast), |a, f| (a - f) * (a - f)) / scale_mse).sqrt()
}

/// Symmetric MAPE in the M4 convention, in [0, 200]:
/// `200 * mean(|a - f| / (|a| + |f|))`, with 0/0 counted as 0.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_over(actual.iter().zip(forecast), |a, f| {
        let denom = a.abs() + f.abs();
        if denom == 0.0 {
            0.0
        } else {
            200.0 * (a - f).abs() / denom
        }
    })
}

/// Mean pinball (quantile) loss of quantile forecast `q` at level `tau`:
/// `tau * (a - q)` when `a >= q`, else `(1 - tau) * (q - a)`.
pub fn pinball(actual: &[f64], q: &[f64], tau: f64) -> f64 {
    mean_over(actual.iter().zip(q), |a, q| {
        if a >= q {
            tau * (a - q)
        } else {
            (1.0 - tau) * (q - a)
        }
    })
}

/// Scaled CRPS approximation: twice the average pinball loss over the
/// quantile levels given in `quantiles` (`(tau, forecast)` pairs), divided
/// by the MASE scale. With a single level 0.5 it equals the MASE.
pub fn scaled_crps(actual: &[f64], quantiles: &[(f64, &[f64])], scale_mae: f64) -> f64 {
    if quantiles.is_empty() {
        return f64::NAN;
    }
    let total: f64 = quantiles
        .iter()
        .map(|(tau, q)| pinball(actual, q, *tau))
        .sum();
    2.0 * total / quantiles.len() as f64 / scale_mae
}

/// Share of actuals inside `[lower, upper]` (bounds inclusive).
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let (hit, n) = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(a, _)| a.is_finite())
        .fold((0usize, 0usize), |(h, n), (&a, (&l, &u))| {
            (h + usize::from(l <= a && a <= u), n + 1)
        });
    if n == 0 {
        f64::NAN
    } else {
        hit as f64 / n as f64
    }
}

/// Mean Winkler (interval) score at nominal `level`: the interval width plus
/// `2 / alpha` times the distance by which the actual falls outside it,
/// where `alpha = 1 - level`. Lower is better.
pub fn winkler(actual: &[f64], lower: &[f64], upper: &[f64], level: f64) -> f64 {
    let alpha = 1.0 - level;
    let (sum, n) = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(a, _)| a.is_finite())
        .fold((0.0, 0usize), |(s, n), (&a, (&l, &u))| {
            let penalty = if a < l {
                2.0 / alpha * (l - a)
            } else if a > u {
                2.0 / alpha * (a - u)
            } else {
                0.0
            };
            (s + (u - l) + penalty, n + 1)
        });
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn scale_uses_seasonal_differences() {
        // Lag-2 differences of [1, 2, 4, 3, 5] are 3, 1, 1.
        let s = Scale::from_training(&[1.0, 2.0, 4.0, 3.0, 5.0], 2);
        assert_eq!(s.basis, ScaleBasis::Seasonal(2));
        assert!(close(s.mae, 5.0 / 3.0));
        assert!(close(s.mse, 11.0 / 3.0));
    }

    #[test]
    fn scale_fallbacks() {
        // Perfectly periodic: seasonal diffs are zero, lag-1 diffs are 1.
        let s = Scale::from_training(&[1.0, 2.0, 1.0, 2.0], 2);
        assert_eq!(s.basis, ScaleBasis::Lag1);
        assert!(close(s.mae, 1.0));
        // Too short for the season: lag 1.
        assert_eq!(
            Scale::from_training(&[1.0, 3.0], 24).basis,
            ScaleBasis::Lag1
        );
        // Constant: mean absolute value.
        let s = Scale::from_training(&[4.0, 4.0, 4.0], 1);
        assert_eq!((s.basis, s.mae, s.mse), (ScaleBasis::MeanAbs, 4.0, 16.0));
        // All zero: unit.
        assert_eq!(Scale::from_training(&[0.0; 5], 2).basis, ScaleBasis::Unit);
    }

    #[test]
    fn rounding_noise_is_not_a_scale() {
        // 5 instance-hours with 1e-9 of rounding noise: scaled by the level, not the noise.
        let train: Vec<f64> = (0..48)
            .map(|i| 5.0 + if i % 3 == 0 { 1e-9 } else { 0.0 })
            .collect();
        let s = Scale::from_training(&train, 24);
        assert_eq!(s.basis, ScaleBasis::MeanAbs);
        assert!(mase(&[5.5, 5.0], &[5.0, 5.0], s.mae) < 1.0);
        // A real change of a thousandth of the level is still a change.
        let moving: Vec<f64> = (0..48).map(|i| 5.0 + 0.005 * (i % 2) as f64).collect();
        assert_eq!(Scale::from_training(&moving, 24).basis, ScaleBasis::Lag1);
    }

    #[test]
    fn mase_and_rmsse_by_hand() {
        let a = [10.0, 12.0, 8.0];
        let f = [11.0, 10.0, 8.0];
        // |e| = 1, 2, 0 -> mean 1; e^2 = 1, 4, 0 -> mean 5/3.
        assert!(close(mase(&a, &f, 2.0), 0.5));
        assert!(close(rmsse(&a, &f, 5.0 / 3.0), 1.0));
        // Missing actuals are skipped.
        assert!(close(mase(&[10.0, f64::NAN], &[12.0, 0.0], 1.0), 2.0));
        assert!(mase(&[f64::NAN], &[1.0], 1.0).is_nan());
    }

    #[test]
    fn smape_by_hand() {
        // 200*|100-110|/210 = 9.5238..., 200*0/0 -> 0, 200*|0-5|/5 = 200.
        let v = smape(&[100.0, 0.0, 0.0], &[110.0, 0.0, 5.0]);
        assert!(close(v, (200.0 * 10.0 / 210.0 + 0.0 + 200.0) / 3.0));
    }

    #[test]
    fn pinball_by_hand() {
        // tau 0.9: a=10,q=8 -> 0.9*2=1.8; a=10,q=13 -> 0.1*3=0.3.
        assert!(close(
            pinball(&[10.0, 10.0], &[8.0, 13.0], 0.9),
            (1.8 + 0.3) / 2.0
        ));
        // tau 0.5 pinball is half the absolute error.
        assert!(close(pinball(&[3.0], &[1.0], 0.5), 1.0));
    }

    #[test]
    fn crps_by_hand() {
        let a = [10.0];
        let q10 = [8.0];
        let q50 = [9.0];
        let q90 = [13.0];
        // pinball: 0.1*2 = 0.2, 0.5*1 = 0.5, 0.1*3 = 0.3 -> mean 1/3, x2 = 2/3, /scale 2 = 1/3.
        let v = scaled_crps(&a, &[(0.1, &q10), (0.5, &q50), (0.9, &q90)], 2.0);
        assert!(close(v, 1.0 / 3.0));
        // Median only: equals MASE.
        assert!(close(
            scaled_crps(&a, &[(0.5, &q50)], 2.0),
            mase(&a, &q50, 2.0)
        ));
    }

    #[test]
    fn coverage_and_winkler_by_hand() {
        let a = [5.0, 10.0, 0.0, f64::NAN];
        let l = [4.0, 4.0, 1.0, 0.0];
        let u = [6.0, 8.0, 3.0, 0.0];
        assert!(close(coverage(&a, &l, &u), 1.0 / 3.0));
        // level 0.8 -> 2/alpha = 10. Scores: 2; 4 + 10*2 = 24; 2 + 10*1 = 12.
        assert!(close(winkler(&a, &l, &u, 0.8), (2.0 + 24.0 + 12.0) / 3.0));
    }

    proptest! {
        #[test]
        fn metric_ranges(
            pairs in prop::collection::vec((0.0f64..1e4, 0.0f64..1e4, 0.0f64..1e3), 1..50),
            tau in 0.01f64..0.99,
        ) {
            let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let f: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let lo: Vec<f64> = pairs.iter().map(|p| p.1 - p.2).collect();
            let hi: Vec<f64> = pairs.iter().map(|p| p.1 + p.2).collect();
            let s = smape(&a, &f);
            prop_assert!((0.0..=200.0).contains(&s));
            prop_assert!(pinball(&a, &f, tau) >= 0.0);
            let c = coverage(&a, &lo, &hi);
            prop_assert!((0.0..=1.0).contains(&c));
            prop_assert!(winkler(&a, &lo, &hi, 0.9) >= 0.0);
            prop_assert!(mase(&a, &f, 1.0) >= 0.0);
        }
    }
}
