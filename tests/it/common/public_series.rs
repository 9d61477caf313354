//! The public usage series of `../shared/data/series/` and the acceptance protocol of the
//! forecasting issue, shared by `examples/forecast_accuracy.rs` and `tests/it/shared_series.rs`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use capplan::forecast::{BacktestConfig, EvaluationSettings};
use chrono::NaiveDateTime;

fn parse_ts(s: &str) -> Option<i64> {
    let s = s
        .trim()
        .trim_matches('"')
        .trim_end_matches('Z')
        .replace('T', " ");
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// `(timestamp, value)` rows of a CSV, keeping rows whose first column is `id` when given.
pub fn read_rows(path: &Path, ts: usize, val: usize, id: Option<&str>) -> Vec<(i64, f64)> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
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
pub fn hourly_mean_complete(rows: &[(i64, f64)]) -> Vec<f64> {
    let mut ts: Vec<i64> = rows
        .iter()
        .filter(|r| r.1.is_finite())
        .map(|r| r.0)
        .collect();
    ts.sort_unstable();
    let mut d: Vec<i64> = ts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&x| x > 0)
        .collect();
    d.sort_unstable();
    let dt = d.get(d.len() / 2).copied().unwrap_or(3600).clamp(1, 3600);
    let expected = (3600 / dt).max(1) as usize;
    let mut buckets: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for &(t, v) in rows.iter().filter(|r| r.1.is_finite()) {
        let e = buckets.entry(t.div_euclid(3600)).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    while buckets
        .first_key_value()
        .is_some_and(|(_, b)| b.1 < expected)
    {
        buckets.pop_first();
    }
    while buckets
        .last_key_value()
        .is_some_and(|(_, b)| b.1 < expected)
    {
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

/// The protocol: horizon 168 (24 below 600 hours), up to 40 windows with the largest step of
/// 24/12/6/3/2/1 that gives 40, at least 10 earlier windows before a window is scored.
pub fn settings(n: usize) -> EvaluationSettings {
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

/// The 19 series, hourly means (incomplete first/last hours dropped), with names.
pub fn load(root: &Path) -> Vec<(String, Vec<f64>)> {
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
