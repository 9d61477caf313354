//! Forecasting benchmark: N hourly series of one year (8,760 points, default N = 1,000),
//! 30-day (720-step) horizon.
//!
//! Three workloads run on the same generated series, in this order, each over all series in
//! parallel (rayon, all cores):
//! * `snaive` — seasonal naive fit + predict: the floor (reading the data and the loop);
//! * `mstl_ets` — one MSTL(24,168)+AutoETS fit + 720-step predict per series: the
//!   statsforecast-comparable workload (no backtest, no selection);
//! * `engine` — capplan's full `forecast_usage`: anomaly scan and level shifts, 8-window
//!   rolling-origin backtest of every candidate, selection, refit, conformal calibration
//!   (what `capplan forecast` does per series).
//!
//! It prints wall time, series per second and the ratio to `snaive` measured in the same
//! run. Series are synthetic (level, trend, daily and weekly cycles, AR(1) noise, varied per
//! series) and deterministic (`benches/common/series.rs`, shared with `benches/compare.rs`).
//!
//! Run: `cargo bench --bench forecast` (options after `--`: `--series N`, `--runs N` (median
//! over runs, default 1), `--only snaive,mstl_ets,engine`).

#[path = "common/series.rs"]
mod series;

use std::time::Instant;

use capplan::forecast::{self, ForecastSettings, Model, MstlEts, SeasonalNaive};
use capplan::series::{Granularity, UsageSeries};
use rayon::prelude::*;

const N_POINTS: usize = series::TREND_POINTS;
const HORIZON: usize = 720;

fn fit_predict(model: &dyn Model, y: &[f64]) -> f64 {
    let fitted = model.fit(y).expect("fit");
    let (point, _) = fitted
        .predict_levels(HORIZON, &[0.8, 0.95])
        .expect("predict");
    point.iter().sum()
}

fn time<F: Fn(&UsageSeries) -> f64 + Sync>(all: &[UsageSeries], runs: usize, f: F) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let check: f64 = all.par_iter().map(&f).sum();
            assert!(check.is_finite());
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = opt("--series").map_or(1000, |v| v.parse().expect("--series N"));
    let runs: usize = opt("--runs").map_or(1, |v| v.parse().expect("--runs N"));
    let only = opt("--only").unwrap_or_else(|| "snaive,mstl_ets,engine".into());
    let all: Vec<UsageSeries> = (0..n).map(|i| series::series(i, N_POINTS)).collect();
    println!(
        "{n} hourly series x {N_POINTS} points, horizon {HORIZON}, {} threads, median of {runs} run(s)",
        rayon::current_num_threads()
    );
    let mut base = None;
    let report = |name: &str, secs: f64, base: Option<f64>| {
        println!(
            "{name:<9} {secs:>9.2} s  {:>9.2} series/s{}",
            n as f64 / secs,
            base.map(|b| format!("  ({:.0}x snaive's time)", secs / b))
                .unwrap_or_default()
        );
    };
    if only.contains("snaive") {
        let m = SeasonalNaive::new(Granularity::Hour);
        let t = time(&all, runs, |s| fit_predict(&m, &s.values));
        report("snaive", t, None);
        base = Some(t);
    }
    if only.contains("mstl_ets") {
        let m = MstlEts::new(Granularity::Hour);
        let t = time(&all, runs, |s| fit_predict(&m, &s.values));
        report("mstl_ets", t, base);
    }
    if only.contains("engine") {
        let settings = ForecastSettings::new(HORIZON);
        let t = time(&all, runs, |s| {
            let f = forecast::forecast_usage(s, &settings).expect("forecast");
            f.forecast.point.iter().sum()
        });
        report("engine", t, base);
    }
}
