//! Deterministic sample paths that keep autocorrelation.
//!
//! Paths follow a Gaussian copula with AR(1) dependence: a latent
//! `z_1 ~ N(0, 1)`, `z_{k+1} = phi * z_k + sqrt(1 - phi^2) * eps_k`, mapped
//! through `u_k = Phi(z_k)` into the per-step calibrated quantile function.
//! Each step's marginal is therefore the calibrated distribution (up to
//! Monte-Carlo noise) while consecutive steps are correlated like the
//! backtest errors. `phi` is estimated from the normal scores of the
//! backtest errors ([`estimate_phi`]).
//!
//! Over long horizons most of the spread is uncertainty about the level,
//! which does not mean-revert within hours. So the latent variable mixes a
//! per-path persistent level `L ~ N(0, 1)` with the AR(1) part:
//! `z_k = rho_k L + sqrt(1 - rho_k^2) a_k`, where `rho_k^2 = 1 - (w_0 / w_k)^2`
//! is the share of step `k`'s variance beyond the first step's (`w_k` is the
//! p10–p90 width at step `k`, and `rho_k` is made non-decreasing). Marginals
//! are unchanged (`z_k ~ N(0, 1)`); only the dependence across steps is.

use rayon::prelude::*;

use crate::rng::{SplitMix64, Xoshiro256StarStar};

use super::{
    ForecastError, Result,
    conformal::{Calibrator, QuantileForecast},
    stats::{normal_cdf, normal_quantile, quantile_sorted},
};

/// Copula correlation used when no backtest errors are available. Forecast
/// errors of consecutive steps are usually strongly correlated; a high value
/// keeps the spread of multi-step totals honest.
pub const DEFAULT_PHI: f64 = 0.9;

/// Sample path settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathConfig {
    /// Number of paths.
    pub n_paths: usize,
    /// Seed; the same seed gives identical paths.
    pub seed: u64,
}

impl Default for PathConfig {
    fn default() -> Self {
        Self {
            n_paths: 1000,
            seed: 0,
        }
    }
}

/// Sample paths, stored path-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePaths {
    horizon: usize,
    values: Vec<f64>,
    phi: f64,
}

impl SamplePaths {
    /// Number of paths.
    pub fn n_paths(&self) -> usize {
        self.values.len().checked_div(self.horizon).unwrap_or(0)
    }

    /// Horizon of each path.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Copula AR(1) coefficient used.
    pub fn phi(&self) -> f64 {
        self.phi
    }

    /// Path `i`.
    pub fn path(&self, i: usize) -> &[f64] {
        &self.values[i * self.horizon..(i + 1) * self.horizon]
    }

    /// Values of all paths at `step`, sorted ascending.
    pub fn step_values(&self, step: usize) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .values
            .iter()
            .skip(step)
            .step_by(self.horizon)
            .copied()
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// Empirical quantile of the paths at `step` (type 7).
    pub fn step_quantile(&self, step: usize, tau: f64) -> f64 {
        quantile_sorted(&self.step_values(step), tau)
    }
}

/// Quantile levels 0.01, 0.02, ..., 0.99: the grid on which the calibrated
/// quantile function is evaluated for sampling.
pub fn path_levels() -> Vec<f64> {
    (1..100).map(|i| f64::from(i) / 100.0).collect()
}

/// Normal score of `x` within a sorted sample (mid-rank empirical CDF).
fn normal_score(sorted: &[f64], x: f64) -> f64 {
    let below = sorted.partition_point(|&v| v < x);
    let upto = sorted.partition_point(|&v| v <= x);
    let n = sorted.len() as f64;
    let u = ((below + upto) as f64 / 2.0 + 0.5) / (n + 1.0);
    normal_quantile(u)
}

/// Lag-1 correlation of the normal scores of consecutive-step backtest
/// errors (`[window][step]`, scaled as for the calibrator), clamped to
/// [-0.99, 0.99]; [`DEFAULT_PHI`] if there is no pair.
pub fn estimate_phi(errors: &[Vec<f64>], calibrator: &Calibrator) -> f64 {
    let h = calibrator.horizon();
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for row in errors {
        for k in 0..h.min(row.len()).saturating_sub(1) {
            let (a, b) = (row[k], row[k + 1]);
            if a.is_finite() && b.is_finite() {
                let za = normal_score(calibrator.samples(k), a);
                let zb = normal_score(calibrator.samples(k + 1), b);
                sxy += za * zb;
                sxx += za * za;
                syy += zb * zb;
            }
        }
    }
    if sxx > 0.0 && syy > 0.0 {
        (sxy / (sxx * syy).sqrt()).clamp(-0.99, 0.99)
    } else {
        DEFAULT_PHI
    }
}

/// Loading of the persistent level per step: `sqrt(1 - (w_0 / w_k)^2)`,
/// non-decreasing, 0 where the width does not grow.
fn level_loadings(q: &QuantileForecast) -> Vec<f64> {
    let h = q.horizon();
    let width = |k: usize| q.value_at(k, 0.9) - q.value_at(k, 0.1);
    let w0 = if h > 0 { width(0) } else { 0.0 };
    let mut best: f64 = 0.0;
    (0..h)
        .map(|k| {
            let w = width(k);
            if w0 > 0.0 && w > w0 && w.is_finite() {
                best = best.max((1.0 - (w0 / w).powi(2)).sqrt());
            }
            best.min(0.999)
        })
        .collect()
}

/// Draw `cfg.n_paths` paths whose step-`k` marginal follows the quantile
/// function of `quantiles` at step `k` and whose latent AR(1) coefficient is
/// `phi`. Deterministic for a given seed (paths are generated in parallel
/// from per-path seeds derived with SplitMix64).
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] when `phi` is not in (-1, 1).
pub fn sample_paths(
    quantiles: &QuantileForecast,
    phi: f64,
    cfg: &PathConfig,
) -> Result<SamplePaths> {
    if !(phi > -1.0 && phi < 1.0) {
        return Err(ForecastError::InvalidConfig(format!(
            "phi {phi} must be in (-1, 1)"
        )));
    }
    let h = quantiles.horizon();
    let mut seeds = SplitMix64::new(cfg.seed);
    let path_seeds: Vec<u64> = (0..cfg.n_paths).map(|_| seeds.next_u64()).collect();
    let innovation_sd = (1.0 - phi * phi).sqrt();
    let rho = level_loadings(quantiles);
    let rho = &rho;
    let values: Vec<f64> = path_seeds
        .par_iter()
        .flat_map_iter(|&seed| {
            let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
            let level = normal_quantile(rng.next_open01());
            let mut a = 0.0;
            (0..h).map(move |k| {
                let eps = normal_quantile(rng.next_open01());
                a = if k == 0 {
                    eps
                } else {
                    phi * a + innovation_sd * eps
                };
                let r = rho[k];
                let z = r * level + (1.0 - r * r).sqrt() * a;
                quantiles.value_at(k, normal_cdf(z)).max(0.0)
            })
        })
        .collect();
    Ok(SamplePaths {
        horizon: h,
        values,
        phi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::ConformalConfig;

    /// AR(1) error paths with coefficient 0.8 from a fixed generator.
    fn ar_errors(windows: usize, h: usize, phi: f64, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        (0..windows)
            .map(|_| {
                let mut e = normal_quantile(rng.next_open01());
                (0..h)
                    .map(|_| {
                        let out = e;
                        e = phi * e + (1.0 - phi * phi).sqrt() * normal_quantile(rng.next_open01());
                        out
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn phi_is_recovered_from_ar1_errors() {
        let errors = ar_errors(200, 24, 0.8, 1);
        let c = Calibrator::from_scaled_errors(&errors, &ConformalConfig::default()).unwrap();
        let phi = estimate_phi(&errors, &c);
        assert!((phi - 0.8).abs() < 0.05, "phi {phi}");
    }

    #[test]
    fn same_seed_same_paths_and_marginals_match_quantiles() {
        let errors = ar_errors(200, 12, 0.6, 2);
        let c = Calibrator::from_scaled_errors(&errors, &ConformalConfig::default()).unwrap();
        let point = vec![50.0; 12];
        let fine = c.calibrate(&point, 5.0, &path_levels()).unwrap();
        let std = c
            .calibrate(&point, 5.0, &crate::forecast::STANDARD_LEVELS)
            .unwrap();
        let cfg = PathConfig {
            n_paths: 20_000,
            seed: 9,
        };
        let a = sample_paths(&fine, 0.6, &cfg).unwrap();
        let b = sample_paths(&fine, 0.6, &cfg).unwrap();
        assert_eq!(a, b);
        let other = sample_paths(&fine, 0.6, &PathConfig { seed: 10, ..cfg }).unwrap();
        assert_ne!(a, other);
        assert_eq!((a.n_paths(), a.horizon()), (20_000, 12));
        for k in [0, 5, 11] {
            for tau in [0.1, 0.5, 0.9] {
                let want = std.quantile(tau).unwrap()[k];
                let got = a.step_quantile(k, tau);
                // Monte-Carlo sd of these quantiles is about 0.2.
                assert!(
                    (got - want).abs() < 0.6,
                    "step {k} tau {tau}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn paths_keep_autocorrelation() {
        let errors = ar_errors(300, 24, 0.9, 3);
        let c = Calibrator::from_scaled_errors(&errors, &ConformalConfig::default()).unwrap();
        let q = c.calibrate(&[100.0; 24], 1.0, &path_levels()).unwrap();
        let p = sample_paths(
            &q,
            0.9,
            &PathConfig {
                n_paths: 2000,
                seed: 4,
            },
        )
        .unwrap();
        // Sample correlation between steps 10 and 11 across paths.
        let (x, y): (Vec<f64>, Vec<f64>) = (0..p.n_paths())
            .map(|i| (p.path(i)[10], p.path(i)[11]))
            .unzip();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (mx, my) = (mean(&x), mean(&y));
        let cov: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        let r = cov / (vx * vy).sqrt();
        assert!(r > 0.8, "correlation {r}");
        assert!(sample_paths(&q, 1.0, &PathConfig::default()).is_err());
    }

    #[test]
    fn level_uncertainty_persists_along_paths() {
        // Calibrated for 2 steps, extrapolated to 400: widths grow like sqrt(k), so late steps
        // are dominated by a level that must persist (correlation near 1), unlike the
        // AR(1) part which decorrelates within tens of steps at phi 0.5.
        let errors = ar_errors(300, 2, 0.5, 5);
        let c = Calibrator::from_scaled_errors(&errors, &ConformalConfig::default()).unwrap();
        let q = c.calibrate(&[100.0; 400], 1.0, &path_levels()).unwrap();
        let p = sample_paths(
            &q,
            0.5,
            &PathConfig {
                n_paths: 3000,
                seed: 8,
            },
        )
        .unwrap();
        let corr = |i: usize, j: usize| {
            let (x, y): (Vec<f64>, Vec<f64>) = (0..p.n_paths())
                .map(|k| (p.path(k)[i], p.path(k)[j]))
                .unzip();
            let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (mx, my) = (m(&x), m(&y));
            let cov: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
            let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
            cov / (vx * vy).sqrt()
        };
        assert!(corr(300, 399) > 0.9, "late steps {}", corr(300, 399));
        assert!(corr(0, 60) < 0.2, "first step vs step 60 {}", corr(0, 60));
    }
}
