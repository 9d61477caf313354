//! Benchmark companies built from real public multi-year series: the example data of Prophet
//! (<https://github.com/facebook/prophet>, `examples/`, MIT licence, commit
//! `181f4479878bea9234973e0fdfd46403657fed34`), read at run time from
//! `$CAPPLAN_BENCH_DATA/prophet/<file>` and never committed.
//!
//! | company | file | window | what it is |
//! |---|---|---|---|
//! | `wiki-manning` | `example_wp_log_peyton_manning.csv` | 2014-01-01 .. 2016-01-01 | daily log page views of Peyton Manning's Wikipedia page: NFL-season seasonality, spikes, slow decline |
//! | `wiki-r` | `example_wp_log_R.csv` | 2013-10-01 .. 2016-01-01 | daily log page views of the R language's page: growth, weekly cycle, academic-year seasonality |
//! | `pedestrians` | `example_pedestrians_covid.csv` | 2018-07-01 .. 2021-07-01 | daily pedestrian counts in Melbourne: the COVID-19 collapse of March 2020 and a partial recovery |
//!
//! Mapping (deterministic): page views are `exp(y)`; missing days are interpolated linearly
//! between their neighbours; the daily level is scaled so its median over the window is a
//! plausible instance count (web tier), and a second pool (cache / database tier) follows it
//! at a quarter plus a fixed base; each day is spread over its hours with a diurnal shape
//! (mean 1) and 3 % seeded noise, then rounded to whole instances.
//!
//! Fetch (once, outside the repository):
//!
//! ```sh
//! git clone https://github.com/facebook/prophet /tmp/prophet   # or any bare copy
//! mkdir -p /work/extdata/prophet
//! for f in example_wp_log_peyton_manning.csv example_wp_log_R.csv example_pedestrians_covid.csv; do
//!   git -C /tmp/prophet show 181f4479878bea9234973e0fdfd46403657fed34:examples/$f > /work/extdata/prophet/$f
//! done
//! CAPPLAN_BENCH_DATA=/work/extdata cargo run --example decision_quality
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;

use crate::model::{Company, When, date, day, hourly, noise, pool_id, rate_card};

/// The Prophet files the real companies read.
pub const FILES: [&str; 3] = [
    "example_wp_log_peyton_manning.csv",
    "example_wp_log_R.csv",
    "example_pedestrians_covid.csv",
];

/// A daily series from a Prophet example file (`ds,y`, possibly quoted, unsorted), sorted by
/// date. `exp_of_log`: the file holds logs (page views).
fn load_daily(path: &Path, exp_of_log: bool) -> anyhow::Result<Vec<(NaiveDate, f64)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(',').map(|p| p.trim().trim_matches('"'));
        let (Some(ds), Some(y)) = (parts.next(), parts.next()) else {
            bail!("{}:{}: expected `ds,y`", path.display(), n + 1);
        };
        let d = NaiveDate::parse_from_str(ds.get(..10).unwrap_or(ds), "%Y-%m-%d")
            .with_context(|| format!("{}:{}: date {ds:?}", path.display(), n + 1))?;
        let v: f64 = y
            .parse()
            .with_context(|| format!("{}:{}: value {y:?}", path.display(), n + 1))?;
        out.push((d, if exp_of_log { v.exp() } else { v }));
    }
    out.sort_by_key(|p| p.0);
    out.dedup_by_key(|p| p.0);
    Ok(out)
}

/// One value per day of `[from, to)`, missing days interpolated linearly between the nearest
/// days with data.
fn window(points: &[(NaiveDate, f64)], from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<f64>> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        bail!("no data");
    };
    if first.0 > from || last.0 < to.pred_opt().unwrap_or(to) {
        bail!(
            "the data ({} .. {}) does not cover {from} .. {to}",
            first.0,
            last.0
        );
    }
    let mut out = Vec::new();
    let mut k = 0;
    let mut d = from;
    while d < to {
        while k + 1 < points.len() && points[k + 1].0 <= d {
            k += 1;
        }
        let a = points[k];
        let v = match points.get(k + 1) {
            Some(b) if a.0 < d => {
                let f = (d - a.0).num_days() as f64 / (b.0 - a.0).num_days() as f64;
                a.1 + f * (b.1 - a.1)
            }
            _ => a.1,
        };
        out.push(v);
        d = d.succ_opt().unwrap_or(to);
    }
    Ok(out)
}

/// Median of a non-empty slice.
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(1.0)
}

/// Diurnal shape of user traffic (mean 1): low at night, peak in the evening of the region.
fn diurnal(w: &When, peak_hour: f64, amp: f64) -> f64 {
    1.0 + amp * (2.0 * std::f64::consts::PI * (w.hour as f64 - peak_hour) / 24.0).cos()
}

/// One real company: which file, which window, and how its daily level becomes two pools.
struct Spec {
    name: &'static str,
    shape: &'static str,
    /// Index into [`FILES`].
    file: usize,
    /// The file holds logs (page views).
    exp_of_log: bool,
    /// The window `[from, to)` as `(y, m, d)`.
    from: (i32, u32, u32),
    to: (i32, u32, u32),
    /// The web tier and the cache tier: region, instance type, on-demand USD/h.
    web: (&'static str, &'static str, &'static str),
    cache: (&'static str, &'static str, &'static str),
    /// Median instances of the web tier.
    web_median: f64,
    /// Local hour of the diurnal peak.
    peak_hour: f64,
    /// Decision dates (empty: the default quarter starts).
    decisions: &'static [(i32, u32, u32)],
    seed: u64,
}

const SPECS: [Spec; 3] = [
    Spec {
        name: "wiki-manning",
        shape: "real: page views, seasonal + spikes",
        file: 0,
        exp_of_log: true,
        from: (2014, 1, 1),
        to: (2016, 1, 1),
        web: ("us-east-1", "m6i.large", "0.096"),
        cache: ("us-east-1", "r6i.large", "0.126"),
        web_median: 40.0,
        peak_hour: 1.0,
        decisions: &[],
        seed: 201,
    },
    Spec {
        name: "wiki-r",
        shape: "real: page views, growth + weekly",
        file: 1,
        exp_of_log: true,
        from: (2013, 10, 1),
        to: (2016, 1, 1),
        web: ("eu-west-1", "c6i.large", "0.096"),
        cache: ("eu-west-1", "r6i.large", "0.141"),
        web_median: 30.0,
        peak_hour: 14.0,
        decisions: &[(2014, 7, 1), (2014, 10, 1), (2015, 1, 1)],
        seed: 202,
    },
    Spec {
        name: "pedestrians",
        shape: "real: foot traffic, COVID collapse",
        file: 2,
        exp_of_log: false,
        from: (2018, 7, 1),
        to: (2021, 7, 1),
        web: ("ap-southeast-2", "m6i.large", "0.12"),
        cache: ("ap-southeast-2", "c6i.xlarge", "0.222"),
        web_median: 50.0,
        peak_hour: 4.0,
        decisions: &[(2019, 10, 1), (2020, 1, 1), (2020, 4, 1)],
        seed: 203,
    },
];

/// The company of `spec` from the daily series of its file under `root/prophet/`: a web tier
/// whose median is `web_median` instances and a cache tier at `4 + level / 4`.
fn from_spec(spec: &Spec, root: &Path) -> anyhow::Result<Company> {
    let file = FILES[spec.file];
    let path: PathBuf = root.join("prophet").join(file);
    let pts = load_daily(&path, spec.exp_of_log)?;
    let (fy, fm, fd) = spec.from;
    let (ty, tm, td) = spec.to;
    let daily = window(&pts, date(fy, fm, fd), date(ty, tm, td)).context(file)?;
    let scale = spec.web_median / median(&daily);
    let level: Vec<f64> = daily.iter().map(|v| v * scale).collect();
    let days = level.len();
    let (peak_hour, seed) = (spec.peak_hour, spec.seed);
    let lw = level.clone();
    let web_fn = move |w: &When| {
        lw[w.i as usize / 24] * diurnal(w, peak_hour, 0.35) * (1.0 + 0.03 * noise(seed, w.i))
    };
    let cache_fn = move |w: &When| {
        (4.0 + level[w.i as usize / 24] / 4.0)
            * diurnal(w, peak_hour, 0.15)
            * (1.0 + 0.03 * noise(seed + 1, w.i))
    };
    let (web, cache) = (spec.web, spec.cache);
    let card = rate_card(&[web, cache])?;
    debug_assert_ne!(pool_id(web.0, web.1), pool_id(cache.0, cache.1));
    let start = day(fy, fm, fd);
    Ok(Company {
        name: spec.name.into(),
        shape: spec.shape.into(),
        source: format!("real: prophet/{file}"),
        card,
        series: vec![
            hourly(web.0, web.1, start, days, &web_fn),
            hourly(cache.0, cache.1, start, days, &cache_fn),
        ],
        decisions: spec
            .decisions
            .iter()
            .map(|&(y, m, d)| date(y, m, d))
            .collect(),
    })
}

/// The real companies from `root/prophet/`.
///
/// # Errors
///
/// A file that is missing or unreadable, or does not cover its window.
pub fn all(root: &Path) -> anyhow::Result<Vec<Company>> {
    SPECS.iter().map(|s| from_spec(s, root)).collect()
}
