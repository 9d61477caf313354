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

use std::path::PathBuf;

use capplan::forecast::{SNAIVE, SeriesEvaluation, evaluate_series};
use capplan::series::Granularity;
use rayon::prelude::*;

#[path = "../tests/it/common/public_series.rs"]
mod public_series;
use public_series::{load, settings};

fn main() {
    let root = PathBuf::from(
        std::env::var("CAPPLAN_SHARED_DATA").unwrap_or_else(|_| "../shared/data".into()),
    )
    .join("series");
    let series = load(&root);
    let results: Vec<(String, SeriesEvaluation)> = series
        .par_iter()
        .map(|(name, y)| {
            let e = evaluate_series(y, Granularity::Hour, &settings(y.len()))
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
