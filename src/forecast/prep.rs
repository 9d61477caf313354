//! Input preparation: gap filling and degenerate-series detection.

use super::{ForecastError, Result};

/// How many values [`fill_gaps`] had to fill, by position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GapReport {
    /// Missing values before the first finite value (filled with it).
    pub leading: usize,
    /// Missing values between two finite values (linearly interpolated).
    pub interior: usize,
    /// Missing values after the last finite value (filled with it).
    pub trailing: usize,
}

impl GapReport {
    /// Total number of filled values.
    pub fn total(&self) -> usize {
        self.leading + self.interior + self.trailing
    }
}

/// Replace every non-finite value (`NaN`, ±∞) so the series can be fed to
/// augurs, which fails on a single `NaN` (`MSTLModel::impute(true)` is a
/// no-op in 0.10.3).
///
/// Interior gaps are linearly interpolated between their finite neighbours;
/// leading and trailing gaps take the nearest finite value.
///
/// # Errors
///
/// [`ForecastError::NoData`] if the series has no finite value.
pub fn fill_gaps(y: &[f64]) -> Result<(Vec<f64>, GapReport)> {
    let first = y
        .iter()
        .position(|v| v.is_finite())
        .ok_or(ForecastError::NoData)?;
    let last = y
        .iter()
        .rposition(|v| v.is_finite())
        .ok_or(ForecastError::NoData)?;
    let mut out = y.to_vec();
    let mut report = GapReport {
        leading: first,
        interior: 0,
        trailing: y.len() - 1 - last,
    };
    out[..first].fill(y[first]);
    out[last + 1..].fill(y[last]);

    let mut prev = first;
    for i in first + 1..=last {
        if !y[i].is_finite() {
            continue;
        }
        let gap = i - prev - 1;
        if gap > 0 {
            report.interior += gap;
            let (a, b) = (y[prev], y[i]);
            let span = (i - prev) as f64;
            for (k, slot) in out[prev + 1..i].iter_mut().enumerate() {
                *slot = a + (b - a) * (k + 1) as f64 / span;
            }
        }
        prev = i;
    }
    Ok((out, report))
}

/// `true` when all values are equal up to a relative tolerance of 1e-12
/// (this includes the all-zero series). Expects finite values.
pub fn is_constant(y: &[f64]) -> bool {
    let (lo, hi) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    hi - lo <= 1e-12 * lo.abs().max(hi.abs())
}

/// Mean absolute value, the scale used before MSTL (augurs computes MSTL in
/// `f32`). Returns 0 for an empty slice.
pub fn mean_abs(y: &[f64]) -> f64 {
    if y.is_empty() {
        0.0
    } else {
        y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn fills_interior_leading_and_trailing() {
        let (v, r) = fill_gaps(&[NAN, NAN, 1.0, NAN, NAN, 4.0, NAN]).unwrap();
        assert_eq!(v, vec![1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        assert_eq!(
            r,
            GapReport {
                leading: 2,
                interior: 2,
                trailing: 1
            }
        );
        assert_eq!(r.total(), 5);
    }

    #[test]
    fn infinities_count_as_gaps() {
        let (v, r) = fill_gaps(&[2.0, f64::INFINITY, 4.0]).unwrap();
        assert_eq!(v, vec![2.0, 3.0, 4.0]);
        assert_eq!(r.interior, 1);
    }

    #[test]
    fn all_missing_is_an_error() {
        assert!(matches!(fill_gaps(&[NAN, NAN]), Err(ForecastError::NoData)));
        assert!(matches!(fill_gaps(&[]), Err(ForecastError::NoData)));
    }

    #[test]
    fn constant_detection() {
        assert!(is_constant(&[0.0, 0.0, 0.0]));
        assert!(is_constant(&[5.0; 10]));
        assert!(!is_constant(&[5.0, 5.0, 5.000_001]));
        assert!(!is_constant(&[0.0, 1e-9]));
        assert_eq!(mean_abs(&[-2.0, 4.0]), 3.0);
    }

    proptest! {
        #[test]
        fn filled_series_is_finite_and_keeps_observed_values(
            raw in prop::collection::vec(prop::option::weighted(0.7, -1e6f64..1e6), 1..200)
        ) {
            let y: Vec<f64> = raw.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            match fill_gaps(&y) {
                Ok((filled, report)) => {
                    prop_assert_eq!(filled.len(), y.len());
                    prop_assert!(filled.iter().all(|v| v.is_finite()));
                    prop_assert_eq!(report.total(), y.iter().filter(|v| !v.is_finite()).count());
                    for (a, b) in y.iter().zip(&filled) {
                        if a.is_finite() {
                            prop_assert_eq!(a, b);
                        }
                    }
                }
                Err(_) => prop_assert!(y.iter().all(|v| !v.is_finite())),
            }
        }
    }
}
