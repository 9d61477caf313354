//! Forecasting on the public usage series in `../shared/data/series/` (see its README).
//!
//! They run when `CAPPLAN_SHARED_DATA` points at that folder (CI sets it) and then *fail* when
//! a file is missing.

use capplan::forecast::{SNAIVE, decompose, evaluate_series};
use capplan::series::Granularity;
use rayon::prelude::*;

use crate::common::public_series::{load, settings};
use crate::common::{shared, shared_file};

/// R's `mstl(msts(vic_elec, c(24, 168)))` from augurs' test data: our f64 decomposition with
/// R's STL settings must match every component within 0.5 (5e-5 of the mean demand, about
/// 1e-3 of each component's standard deviation).
#[test]
fn vic_elec_decomposition_matches_r() {
    let Some(dir) = shared() else { return };
    let y: Vec<f64> = std::fs::read_to_string(shared_file(&dir, "series/augurs/vic_elec.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().trim().parse().unwrap())
        .collect();
    let r: Vec<[f64; 5]> =
        std::fs::read_to_string(shared_file(&dir, "series/augurs/vic_elec_results.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.trim().parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3], v[4]]
            })
            .collect();
    assert_eq!(y.len(), r.len());
    let d = decompose(&y, &[24, 168]).unwrap();
    let max_diff = |ours: &[f64], col: usize| {
        ours.iter()
            .zip(&r)
            .map(|(a, row)| (a - row[col]).abs())
            .fold(0.0, f64::max)
    };
    for (i, yi) in y.iter().enumerate() {
        assert!((yi - r[i][0]).abs() < 1e-6);
    }
    let diffs = [
        ("trend", max_diff(&d.trend, 1)),
        ("seasonal24", max_diff(&d.seasonal[0], 2)),
        ("seasonal168", max_diff(&d.seasonal[1], 3)),
        ("remainder", max_diff(&d.remainder, 4)),
    ];
    for (name, diff) in diffs {
        assert!(diff <= 0.5, "{name}: max |ours - R| = {diff}");
    }
}

/// The acceptance on 19 public series: auto MASE <= seasonal naive on >= 80 % of the
/// series and <= 0.9 x in aggregate; calibrated 80 % / 95 % coverage within 5 points.
#[test]
fn accuracy_targets_on_public_series() {
    let Some(dir) = shared() else { return };
    let root = dir.join("series");
    for rel in [
        "nab/nyc_taxi.csv",
        "augurs/vic_elec.csv",
        "m4/m4_hourly.csv",
        "m4/taylor_30_min.csv",
    ] {
        shared_file(&root, rel);
    }
    let series = load(&root);
    assert_eq!(series.len(), 19);
    let evals: Vec<_> = series
        .par_iter()
        .map(|(name, y)| {
            let e = evaluate_series(y, Granularity::Hour, &settings(y.len()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let a = e.model("auto").unwrap();
            let s = e.model(SNAIVE).unwrap();
            (a.mase, s.mase, a.coverage80, a.coverage95)
        })
        .collect();
    let k = evals.len() as f64;
    let wins = evals.iter().filter(|e| e.0 <= e.1).count();
    let ratio = evals.iter().map(|e| e.0).sum::<f64>() / evals.iter().map(|e| e.1).sum::<f64>();
    let c80 = evals.iter().map(|e| e.2).sum::<f64>() / k;
    let c95 = evals.iter().map(|e| e.3).sum::<f64>() / k;
    assert!(
        wins * 5 >= evals.len() * 4,
        "auto <= snaive on only {wins} of {}",
        evals.len()
    );
    assert!(ratio <= 0.9, "MASE ratio {ratio}");
    assert!((c80 - 0.80).abs() <= 0.05, "80 % coverage {c80}");
    assert!((c95 - 0.95).abs() <= 0.05, "95 % coverage {c95}");
}
