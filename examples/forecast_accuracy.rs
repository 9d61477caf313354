//! Forecast accuracy on the public series in `../shared/data/series/` (issue 3's acceptance).
//!
//! Series: the 12 NAB AWS CloudWatch files, NAB nyc_taxi, augurs vic_elec, the 4 M4 hourly
//! series and Taylor's half-hourly demand: 19 series, aggregated to the hourly mean with
//! incomplete first and last hours dropped.
//!
//! Protocol (the same for every series):
//! * horizon 168 hours (7 days), or 24 for series shorter than 600 hours (the NAB AWS
//!   series, 4 to 17 days long);
//! * rolling origins: up to 40 windows, step = the largest of 24/12/6/3/2/1 hours that still
//!   gives 40 windows;
//! * window j is scored only with selection and calibration built from windows that ended
//!   before its origin, at least 10 of them (fewer only when the series could not give 4
//!   evaluated windows otherwise; minimum 3);
//! * MASE/RMSSE scale: in-sample seasonal naive with m = 24; sMAPE on M4's 0–200 scale.
//!
//! Run: `CAPPLAN_SHARED_DATA=../shared/data cargo run --example forecast_accuracy`
//! (prints a Markdown table; BENCHMARKS.md holds its output).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use capplan::forecast::{
    BacktestConfig, EvaluationSettings, Granularity, SNAIVE, SeriesEvaluation, evaluate_series,
};
use chrono::NaiveDateTime;
use rayon::prelude::*;

fn parse_ts(s: &str) -> Option<i64> {
    let s = s.trim().trim_matches('"').trim_end_matches('Z').replace('T', " ");
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// `(timestamp, value)` rows of a CSV, keeping rows whose first column is `id` when given.
fn read_rows(path: &Path, ts: usize, val: usize, id: Option<&str>) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            if id.is_some_and(|id| cols.first().map(|c| c.trim_matches('"')) != Some(id)) {
                return None;
            }
            let t = parse_ts(cols.get(ts)?)?;
            Some((t, cols.get(val)?.trim().parse::<f64>().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// Hourly mean on a contiguous grid; incomplete first/last hours dropped; empty hours NaN.
fn hourly_mean_complete(rows: &[(i64, f64)]) -> Vec<f64> {
    let mut ts: Vec<i64> = rows.iter().filter(|r| r.1.is_finite()).map(|r| r.0).collect();
    ts.sort_unstable();
    let mut d: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).filter(|&x| x > 0).collect();
    d.sort_unstable();
    let dt = d.get(d.len() / 2).copied().unwrap_or(3600).clamp(1, 3600);
    let expected = (3600 / dt).max(1) as usize;
    let mut buckets: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for &(t, v) in rows.iter().filter(|r| r.1.is_finite()) {
        let e = buckets.entry(t.div_euclid(3600)).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    while buckets.first_key_value().is_some_and(|(_, b)| b.1 < expected) {
        buckets.pop_first();
    }
    while buckets.last_key_value().is_some_and(|(_, b)| b.1 < expected) {
        buckets.pop_last();
    }
    let (Some((&first, _)), Some((&last, _))) =
        (buckets.first_key_value(), buckets.last_key_value())
    else {
        return Vec::new();
    };
    (first..=last)
        .map(|h| buckets.get(&h).map_or(f64::NAN, |&(s, n)| s / n as f64))
        .collect()
}

fn settings(n: usize) -> EvaluationSettings {
    let horizon = if n < 600 { 24 } else { 168 };
    let (mut step, mut windows) = (1, 0);
    for s in [24, 12, 6, 3, 2, 1] {
        let w = BacktestConfig::new(horizon, 40, s, 24).max_windows(n);
        (step, windows) = (s, w.min(40));
        if w >= 40 {
            break;
        }
    }
    let gap = horizon.div_ceil(step);
    EvaluationSettings {
        horizon,
        windows,
        step,
        min_calibration_windows: 10.min(windows.saturating_sub(gap + 3)).max(3),
    }
}

fn load(root: &Path) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    let mut nab: Vec<PathBuf> = std::fs::read_dir(root.join("nab"))
        .unwrap_or_else(|e| panic!("{}: {e}", root.join("nab").display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|f| f.to_str()).is_some_and(|f| {
                ["ec2_", "rds_", "iio_"].iter().any(|x| f.starts_with(x)) && f.ends_with(".csv")
            })
        })
        .collect();
    nab.sort();
    assert_eq!(nab.len(), 12, "expected the 12 NAB AWS CloudWatch files");
    for p in nab {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        out.push((name, hourly_mean_complete(&read_rows(&p, 0, 1, None))));
    }
    out.push((
        "nyc_taxi".into(),
        hourly_mean_complete(&read_rows(&root.join("nab/nyc_taxi.csv"), 0, 1, None)),
    ));
    out.push((
        "vic_elec".into(),
        hourly_mean_complete(&read_rows(&root.join("augurs/vic_elec.csv"), 0, 1, None)),
    ));
    let m4 = root.join("m4/m4_hourly.csv");
    for id in ["H10", "H50", "H150", "H410"] {
        out.push((
            format!("m4_{id}"),
            hourly_mean_complete(&read_rows(&m4, 1, 2, Some(id))),
        ));
    }
    out.push((
        "taylor".into(),
        hourly_mean_complete(&read_rows(&root.join("m4/taylor_30_min.csv"), 0, 1, None)),
    ));
    out
}

fn main() {
    let root = PathBuf::from(
        std::env::var("CAPPLAN_SHARED_DATA").unwrap_or_else(|_| "../shared/data".into()),
    )
    .join("series");
    let series = load(&root);
    let results: Vec<(String, SeriesEvaluation)> = series
        .par_iter()
        .map(|(name, y)| {
            let e = evaluate_series(y, Granularity::Hourly, &settings(y.len()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.clone(), e)
        })
        .collect();
    println!(
        "| series | n | h | step | windows (evaluated) | auto picks | MASE auto | MASE snaive | MASE ets | MASE mstl_ets | RMSSE auto | sMAPE auto | pinball auto | sCRPS auto | cov80 auto | cov95 auto | Winkler95 auto |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut wins, mut sum_auto, mut sum_sn, mut c80, mut c95) = (0, 0.0, 0.0, 0.0, 0.0);
    for (name, e) in &results {
        let a = e.model("auto").expect("auto row");
        let sn = e.model(SNAIVE).expect("snaive row");
        let mase = |l: &str| e.model(l).map_or(f64::NAN, |m| m.mase);
        let picks: Vec<String> = e
            .picks
            .iter()
            .filter(|p| p.1 > 0)
            .map(|(l, k)| format!("{l}: {k}"))
            .collect();
        println!(
            "| {name} | {} | {} | {} | {} ({}) | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.3} | {:.3} | {:.1} | {:.1} | {:.2} |",
            e.n,
            e.horizon,
            e.step,
            e.windows,
            e.evaluated,
            picks.join("; "),
            a.mase,
            sn.mase,
            mase("ets"),
            mase("mstl_ets"),
            a.rmsse,
            a.smape,
            a.pinball,
            a.scrps,
            100.0 * a.coverage80,
            100.0 * a.coverage95,
            a.winkler95
        );
        if a.mase <= sn.mase {
            wins += 1;
        }
        sum_auto += a.mase;
        sum_sn += sn.mase;
        c80 += a.coverage80;
        c95 += a.coverage95;
    }
    let k = results.len() as f64;
    println!();
    println!(
        "Series: {}. Auto MASE <= seasonal naive on {wins} of {} ({:.0} %). Mean MASE auto {:.3} vs seasonal naive {:.3}: ratio {:.3}. Mean calibrated coverage of auto: {:.1} % (nominal 80) and {:.1} % (nominal 95).",
        results.len(),
        results.len(),
        100.0 * wins as f64 / k,
        sum_auto / k,
        sum_sn / k,
        sum_auto / sum_sn,
        100.0 * c80 / k,
        100.0 * c95 / k
    );
}
