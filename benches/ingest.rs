//! Ingestion benchmark: a generated FOCUS 1.2 export of ≥ 5 million rows, as Parquet and as
//! CSV, aggregated to hourly consumed quantity by (service, region, sku).
//!
//! For each file it measures, alternately and in separate child processes (so peak memory is
//! per run): capplan's full path (`ingest::load` + `aggregate`: validation, reconciliation,
//! duplicate check, gap filling) and plain polars doing only the group-by on the same file —
//! the floor for capplan's overhead, measured in the same run. It prints medians, rows/s,
//! the capplan/polars ratio and peak RSS.
//!
//! Run: `cargo bench --bench ingest` (options after `--`: `--scale N` (default 25),
//! `--months N` (default 24), `--runs N` (default 5)).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use capplan::ingest::{self, AggregateOptions, InputOptions, Measure};
use capplan::series::Granularity;
use capplan::synth::{self, SynthConfig};
use polars::prelude::*;

const CHILD_ENV: &str = "CAPPLAN_BENCH_CHILD";

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn run_capplan(path: &Path) -> usize {
    let opts = InputOptions {
        inputs: vec![path.display().to_string()],
        ..Default::default()
    };
    let loaded = ingest::load(&opts).expect("load");
    let agg = AggregateOptions {
        by: vec!["service".into(), "region".into(), "sku".into()],
        granularity: Some(Granularity::Hour),
        filters: Vec::new(),
        measure: Measure::Quantity,
    };
    let out = loaded.aggregate(&agg).expect("aggregate");
    out.series.len()
}

fn run_polars(path: &Path) -> usize {
    let pl_path = PlRefPath::try_from_path(path).expect("path");
    let lf = if path.extension().is_some_and(|e| e == "parquet") {
        LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).expect("scan")
    } else {
        LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_try_parse_dates(true)
            .finish()
            .expect("scan")
    };
    let df = lf
        .filter(col("ChargeCategory").eq(lit("Usage")))
        .group_by([
            col("ServiceName"),
            col("RegionId"),
            col("SkuId"),
            col("ChargePeriodStart")
                .dt()
                .truncate(lit("1h"))
                .alias("hour"),
        ])
        .agg([col("ConsumedQuantity").sum()])
        .collect()
        .expect("collect");
    df.height()
}

fn child(variant: &str, path: &Path) {
    let t = Instant::now();
    let n = match variant {
        "capplan" => run_capplan(path),
        "polars" => run_polars(path),
        other => panic!("unknown variant {other}"),
    };
    let secs = t.elapsed().as_secs_f64();
    println!("{secs} {} {n}", peak_rss_kb());
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn arg(args: &[String], name: &str, default: u32) -> u32 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (variant, path) = spec.split_once(':').expect("variant:path");
        child(variant, Path::new(path));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // cargo test --benches asks benches to list tests
    }
    let scale = arg(&args, "--scale", 25);
    let months = arg(&args, "--months", 24);
    let runs = arg(&args, "--runs", 5);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = SynthConfig {
        scale,
        months,
        ..SynthConfig::default()
    };
    let t = Instant::now();
    let mut export = synth::generate(&cfg).expect("generate");
    let rows = export.rows();
    eprintln!("generated {rows} rows in {:.1}s", t.elapsed().as_secs_f64());
    let parquet = dir.path().join("focus.parquet");
    export
        .write_parquet(std::fs::File::create(&parquet).expect("create"))
        .expect("parquet");
    let csv = dir.path().join("focus.csv");
    export
        .write_csv(std::fs::File::create(&csv).expect("create"))
        .expect("csv");
    drop(export);
    let size = |p: &PathBuf| {
        std::fs::metadata(p)
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    };
    println!(
        "FOCUS export: {rows} rows; Parquet {:.0} MB, CSV {:.0} MB; {runs} runs each, alternating",
        size(&parquet),
        size(&csv)
    );
    println!(
        "{:<8} {:<8} {:>10} {:>14} {:>12} {:>16}",
        "file", "engine", "median s", "rows/s", "peak MB", "capplan/polars"
    );
    let exe = std::env::current_exe().expect("exe");
    for (label, path) in [("parquet", &parquet), ("csv", &csv)] {
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut peaks: [u64; 2] = [0, 0];
        for _ in 0..runs {
            for (i, variant) in ["capplan", "polars"].iter().enumerate() {
                let out = Command::new(&exe)
                    .env(CHILD_ENV, format!("{variant}:{}", path.display()))
                    .output()
                    .expect("child");
                assert!(
                    out.status.success(),
                    "{variant} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8_lossy(&out.stdout);
                let mut parts = text.split_whitespace();
                let secs: f64 = parts.next().and_then(|v| v.parse().ok()).expect("secs");
                let peak: u64 = parts.next().and_then(|v| v.parse().ok()).expect("peak");
                times[i].push(secs);
                peaks[i] = peaks[i].max(peak);
            }
        }
        let m0 = median(&mut times[0]);
        let m1 = median(&mut times[1]);
        println!(
            "{label:<8} {:<8} {m0:>10.3} {:>14.0} {:>12.0} {:>16.2}",
            "capplan",
            rows as f64 / m0,
            peaks[0] as f64 / 1024.0,
            m0 / m1
        );
        println!(
            "{label:<8} {:<8} {m1:>10.3} {:>14.0} {:>12.0} {:>16}",
            "polars",
            rows as f64 / m1,
            peaks[1] as f64 / 1024.0,
            "1.00"
        );
    }
}
