//! The Rust side of `benches/compare/run.sh` (capplan against Python peers on the same inputs):
//! one binary with subcommands, run as `cargo bench --bench compare -- <subcommand> ...` or as
//! the built binary. File formats: `benches/compare/peers/series_from_capplan.md` and
//! `benches/compare/peers/optimizer_problem.md`.
//!
//! * `series --series N --points P --out F.parquet|.csv` — the series of `benches/forecast.rs`
//!   (`benches/common/series.rs`) in the long format `unique_id, ds, y`.
//! * `forecast SERIES OUT.csv [--engine mstl_ets|full] [--horizon 720]` — per series, fit on
//!   all but the last `horizon` points and predict `horizon` steps with a 95 % interval, in
//!   parallel (rayon); writes `unique_id,ds,yhat,lo95,hi95` and prints one JSON line
//!   `{"seconds": fit + predict of all series, "series": N, ...}`. `mstl_ets` (default):
//!   `MstlEts` fit + `predict_levels(h, &[0.95])`, as the bench's `mstl_ets` workload; `full`:
//!   `forecast_usage` with `ForecastSettings::new(h)` (backtest, selection, conformal
//!   intervals), whose quantiles stop at p05/p95, so its `lo95/hi95` columns hold the
//!   p05–p95 (90 %) interval, stated as `"interval": "p05-p95"` in the JSON line.
//! * `opt-export --paths S --pools N --out P.json` — the instances of `benches/optimizer.rs`
//!   (`benches/common/pool.rs`): N = 1: one pool of S paths; N > 1: N pools of S paths (the
//!   bench: S = 1), drawn after the bench's 200-path pool. Demand goes to `P.bin` (f64le).
//! * `opt-solve P.json LEVELS.json` — `PoolProblem::new` + `optimal_levels(Risk::Balanced)`
//!   per pool (fractional levels), one pool after another as the bench does; writes the levels
//!   and prints `{"seconds": solve of all pools, "pools": N, ...}`.
//!
//! Times exclude reading and writing files. Without a subcommand (as `cargo test --benches`
//! runs it) it prints the usage and exits successfully.

#[path = "common/pool.rs"]
mod pool;
#[path = "common/series.rs"]
mod series;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail, ensure};
use capplan::forecast::{ForecastSettings, Model, MstlEts, forecast_usage};
use capplan::money::Currency;
use capplan::plan::{Demand, Levels, OfferChoice, PoolProblem, Pricing, Risk};
use capplan::series::{Granularity, SeriesKey, UsageSeries};
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use polars::prelude::{
    Column, CsvWriter, DataFrame, DataType, Float64Chunked, Int64Chunked, IntoColumn,
    LazyCsvReader, LazyFileListReader, LazyFrame, NewChunkedArray, ParquetCompression,
    ParquetWriter, PlRefPath, ScanArgsParquet, SerWriter, SortMultipleOptions, StringChunked,
    TimeUnit, col,
};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const HOUR_US: i64 = 3_600_000_000;
const PROBLEM_FORMAT: &str = "capplan-compare-optimizer/1";

#[derive(Parser)]
#[command(
    name = "compare",
    about = "Rust side of benches/compare/run.sh: series and optimizer problem export, capplan's forecast and optimizer runs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Export the forecast bench's series (unique_id, ds, y) as Parquet (or CSV by extension).
    Series {
        /// Number of series (s0000, s0001, ...).
        #[arg(long, default_value_t = 1000)]
        series: usize,
        /// Hourly points per series (8,760 training + 720 held out by default).
        #[arg(long, default_value_t = 9480)]
        points: usize,
        /// Output file (.parquet or .csv).
        #[arg(long)]
        out: PathBuf,
    },
    /// Forecast the held-out tail of every series; prints {"seconds": ..., "series": N}.
    Forecast {
        /// Series file (long: unique_id, ds, y; Parquet or CSV).
        series: PathBuf,
        /// Forecasts CSV (unique_id,ds,yhat,lo95,hi95).
        out: PathBuf,
        /// `mstl_ets`: MSTL(24,168)+AutoETS fit and predict; `full`: capplan's forecast_usage.
        #[arg(long, value_enum, default_value_t = Engine::MstlEts)]
        engine: Engine,
        /// Held-out points per series = forecast steps.
        #[arg(long, default_value_t = 720)]
        horizon: usize,
    },
    /// Write the optimizer bench's problem (JSON + raw f64le demand next to it).
    OptExport {
        /// Sample paths per pool.
        #[arg(long, default_value_t = 200)]
        paths: usize,
        /// Pools: 1 = the bench's single pool (level 120); N > 1 = its many-pool case.
        #[arg(long, default_value_t = 1)]
        pools: usize,
        /// Problem JSON; demand goes to the same name with extension .bin.
        #[arg(long)]
        out: PathBuf,
    },
    /// Solve every pool of a problem file (Risk::Balanced); prints {"seconds": ..., "pools": N}.
    OptSolve {
        /// Problem JSON (optimizer_problem.md).
        problem: PathBuf,
        /// Levels JSON to write ({"pools":[{"id","three_year","one_year"}]}).
        levels: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// MSTL(24,168)+AutoETS, the model's own 95 % interval.
    #[value(name = "mstl_ets", alias = "mstl-ets")]
    MstlEts,
    /// capplan's full engine (forecast_usage).
    Full,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::MstlEts => "mstl_ets",
            Engine::Full => "full",
        }
    }
}

fn main() -> Result<()> {
    // `cargo bench` appends `--bench`; `cargo test --benches` runs the binary without a
    // subcommand (or with `--list` under nextest): nothing to do then.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    if args.len() < 2 || args.iter().any(|a| a == "--list") {
        eprintln!("{}", Cli::command().render_help());
        return Ok(());
    }
    match Cli::parse_from(args).cmd {
        Cmd::Series {
            series,
            points,
            out,
        } => export_series(series, points, &out),
        Cmd::Forecast {
            series,
            out,
            engine,
            horizon,
        } => run_forecast(&series, &out, engine, horizon),
        Cmd::OptExport { paths, pools, out } => export_problem(paths, pools, &out),
        Cmd::OptSolve { problem, levels } => solve_problem(&problem, &levels),
    }
}

// ------------------------------------------------------------------------------ files

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "pq"))
}

/// Writes `path` through `<path>.partial` and a rename, so an interrupted run leaves no file
/// that `run.sh` would take for a finished one.
fn write_atomic(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let mut w = BufWriter::new(
        File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
    );
    f(&mut w)?;
    w.into_inner()
        .map_err(|e| anyhow!("writing {}: {}", tmp.display(), e.error()))?
        .sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename to {}", path.display()))
}

fn iso(us: i64) -> Result<String> {
    let t = DateTime::<Utc>::from_timestamp_micros(us).ok_or_else(|| anyhow!("bad time {us}"))?;
    Ok(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

// ------------------------------------------------------------------------------ series

fn export_series(n: usize, points: usize, out: &Path) -> Result<()> {
    ensure!(
        n > 0 && points > 0,
        "--series and --points must be positive"
    );
    let t = Instant::now();
    let values: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| series::series(i, points).values)
        .collect();
    let ids: Vec<String> = (0..n).map(series::id).collect();
    let t0 = series::start().timestamp_micros();
    let uid = StringChunked::from_iter_values(
        "unique_id".into(),
        ids.iter()
            .flat_map(|id| std::iter::repeat_n(id.as_str(), points)),
    );
    let ds: Vec<i64> = (0..n)
        .flat_map(|_| (0..points as i64).map(move |k| t0 + k * HOUR_US))
        .collect();
    let ds = Int64Chunked::from_vec("ds".into(), ds)
        .into_datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC));
    let y = Float64Chunked::from_vec("y".into(), values.into_iter().flatten().collect());
    let mut df =
        DataFrame::new_infer_height(vec![uid.into_column(), ds.into_column(), y.into_column()])?;
    write_atomic(out, |w| {
        if is_parquet(out) {
            ParquetWriter::new(w)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(&mut df)?;
        } else {
            CsvWriter::new(w)
                .include_header(true)
                .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
                .finish(&mut df)?;
        }
        Ok(())
    })?;
    eprintln!(
        "wrote {} ({n} series x {points} points) in {:.2}s",
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One series of a long file.
struct Loaded {
    id: String,
    /// Microseconds since the epoch (UTC), hourly.
    ds: Vec<i64>,
    y: Vec<f64>,
}

fn micros(c: &Column) -> Result<Vec<i64>> {
    match c.dtype() {
        DataType::Datetime(unit, _) => {
            let unit = *unit;
            c.datetime()?
                .physical()
                .iter()
                .map(|v| {
                    let v = v.ok_or_else(|| anyhow!("null ds"))?;
                    Ok(match unit {
                        TimeUnit::Nanoseconds => v.div_euclid(1000),
                        TimeUnit::Microseconds => v,
                        TimeUnit::Milliseconds => v * 1000,
                    })
                })
                .collect()
        }
        DataType::String => c
            .str()?
            .iter()
            .map(|v| {
                let v = v.ok_or_else(|| anyhow!("null ds"))?;
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.timestamp_micros())
                    .or_else(|_| {
                        NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
                            .map(|t| t.and_utc().timestamp_micros())
                    })
                    .with_context(|| format!("cannot parse ds {v:?}"))
            })
            .collect(),
        other => bail!("ds has type {other}, expected a datetime"),
    }
}

/// Splits a frame into series; `None` when it is not sorted by (unique_id, ds).
fn split(df: &DataFrame) -> Result<Option<Vec<Loaded>>> {
    let ids = df.column("unique_id")?.str()?;
    let ds = micros(df.column("ds")?)?;
    let y = df.column("y")?.f64()?;
    let mut out: Vec<Loaded> = Vec::new();
    for (k, (id, y)) in ids.iter().zip(y.iter()).enumerate() {
        let id = id.ok_or_else(|| anyhow!("null unique_id at row {k}"))?;
        let y = y.unwrap_or(f64::NAN);
        match out.last_mut() {
            Some(s) if s.id == id => {
                if ds[k] <= *s.ds.last().unwrap() {
                    return Ok(None);
                }
                s.ds.push(ds[k]);
                s.y.push(y);
            }
            Some(s) if s.id.as_str() > id => return Ok(None),
            _ => out.push(Loaded {
                id: id.to_string(),
                ds: vec![ds[k]],
                y: vec![y],
            }),
        }
    }
    Ok(Some(out))
}

fn read_series(path: &Path) -> Result<Vec<Loaded>> {
    let pl = PlRefPath::try_from_path(path)?;
    let lf = if is_parquet(path) {
        LazyFrame::scan_parquet(pl, ScanArgsParquet::default())?
    } else {
        LazyCsvReader::new(pl)
            .with_has_header(true)
            .with_try_parse_dates(true)
            .finish()?
    };
    let df = lf
        .select([
            col("unique_id").cast(DataType::String),
            col("ds"),
            col("y").cast(DataType::Float64),
        ])
        .collect()
        .with_context(|| format!("reading {}", path.display()))?;
    let all = match split(&df)? {
        Some(all) => all,
        None => split(&df.sort(
            ["unique_id", "ds"],
            SortMultipleOptions::default().with_maintain_order(true),
        )?)?
        .ok_or_else(|| anyhow!("duplicate (unique_id, ds) rows"))?,
    };
    for s in &all {
        if let Some(w) = s.ds.windows(2).find(|w| w[1] - w[0] != HOUR_US) {
            bail!(
                "series {}: not hourly without gaps ({} then {})",
                s.id,
                iso(w[0])?,
                iso(w[1])?
            );
        }
    }
    Ok(all)
}

// ------------------------------------------------------------------------------ forecast

struct Prediction {
    point: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// The quantiles used as the interval, e.g. `p2.5-p97.5`.
    interval: &'static str,
}

fn predict_mstl_ets(model: &MstlEts, train: &[f64], h: usize) -> Result<Prediction> {
    let fitted = model.fit(train)?;
    let (point, mut intervals) = fitted.predict_levels(h, &[0.95])?;
    let iv = intervals.pop().ok_or_else(|| anyhow!("no interval"))?;
    Ok(Prediction {
        point,
        lo: iv.lower,
        hi: iv.upper,
        interval: "p2.5-p97.5",
    })
}

fn predict_full(s: &Loaded, train: &[f64], h: usize) -> Result<Prediction> {
    let us = UsageSeries {
        key: SeriesKey(vec![("series".into(), s.id.clone())]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start: DateTime::<Utc>::from_timestamp_micros(s.ds[0])
            .ok_or_else(|| anyhow!("bad time"))?,
        values: train.to_vec(),
        cost: None,
        gaps_filled: 0,
    };
    let f = forecast_usage(&us, &ForecastSettings::new(h))?.forecast;
    ensure!(f.horizon() == h, "{} steps instead of {h}", f.horizon());
    ensure!(
        f.start.timestamp_micros() == s.ds[train.len()],
        "forecast starts at {}",
        f.start
    );
    // The engine's quantiles are p05..p95 (STANDARD_LEVELS); use p2.5/p97.5 if it ever has them.
    let (lo, hi, interval) = match (f.quantile(0.025), f.quantile(0.975)) {
        (Some(lo), Some(hi)) => (lo, hi, "p2.5-p97.5"),
        _ => (
            f.quantile(0.05).ok_or_else(|| anyhow!("no p05"))?,
            f.quantile(0.95).ok_or_else(|| anyhow!("no p95"))?,
            "p05-p95",
        ),
    };
    Ok(Prediction {
        lo: lo.to_vec(),
        hi: hi.to_vec(),
        point: f.point,
        interval,
    })
}

fn run_forecast(path: &Path, out: &Path, engine: Engine, h: usize) -> Result<()> {
    ensure!(h > 0, "--horizon must be positive");
    let t = Instant::now();
    let all = read_series(path)?;
    ensure!(!all.is_empty(), "{}: no series", path.display());
    if let Some(s) = all.iter().find(|s| s.y.len() <= h) {
        bail!(
            "series {} has {} points, not more than {h}",
            s.id,
            s.y.len()
        );
    }
    let seconds_read = t.elapsed().as_secs_f64();

    let model = MstlEts::new(Granularity::Hour);
    let t = Instant::now();
    let predictions: Vec<Prediction> = all
        .par_iter()
        .map(|s| {
            let train = &s.y[..s.y.len() - h];
            match engine {
                Engine::MstlEts => predict_mstl_ets(&model, train, h),
                Engine::Full => predict_full(s, train, h),
            }
            .with_context(|| format!("series {}", s.id))
        })
        .collect::<Result<_>>()?;
    let seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    write_atomic(out, |w| {
        writeln!(w, "unique_id,ds,yhat,lo95,hi95")?;
        for (s, p) in all.iter().zip(&predictions) {
            let ds = &s.ds[s.ds.len() - h..];
            for (k, &t) in ds.iter().enumerate() {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    s.id,
                    iso(t)?,
                    p.point[k],
                    p.lo[k],
                    p.hi[k]
                )?;
            }
        }
        Ok(())
    })?;
    let seconds_write = t.elapsed().as_secs_f64();
    let mut intervals: Vec<&str> = predictions.iter().map(|p| p.interval).collect();
    intervals.dedup();
    println!(
        "{}",
        json!({
            "seconds": seconds,
            "series": all.len(),
            "engine": engine.name(),
            "horizon": h,
            "interval": intervals.join(","),
            "threads": rayon::current_num_threads(),
            "seconds_read": seconds_read,
            "seconds_write": seconds_write,
        })
    );
    Ok(())
}

// ------------------------------------------------------------------------------ optimizer

fn export_problem(paths: usize, pools: usize, out: &Path) -> Result<()> {
    ensure!(
        paths > 0 && pools > 0,
        "--paths and --pools must be positive"
    );
    let bin = out.with_extension("bin");
    let bin_name = bin
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("bad output name {}", out.display()))?
        .to_string();
    let pr = pool::pricing();
    let offers: Vec<Value> = pr
        .offers
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "term_hours": o.term_hours,
                "effective_hourly": o.effective_hourly.to_string(),
                "upfront_per_unit": o.upfront_per_unit.to_string(),
                "recurring_hourly": o.recurring_hourly.to_string(),
            })
        })
        .collect();
    let mut rng = pool::Rng(42);
    if pools > 1 {
        // benches/optimizer.rs draws its many pools after its 200-path pool (1 + T draws each).
        for _ in 0..200 * (1 + pool::T) {
            rng.unit();
        }
    }
    let mut entries = Vec::with_capacity(pools);
    write_atomic(&bin, |w| {
        let mut offset = 0;
        for i in 0..pools {
            let level = if pools == 1 {
                120.0
            } else {
                5.0 + (i % 50) as f64
            };
            for _ in 0..paths {
                for v in pool::path(&mut rng, level) {
                    w.write_all(&v.to_le_bytes())?;
                }
            }
            entries.push(json!({
                "id": format!("pool-{i}"),
                "hours": pool::T,
                "paths": paths,
                "currency": pr.currency.code(),
                "on_demand_hourly": pr.on_demand_hourly.to_string(),
                "offers": offers,
                "demand_f64le": {"file": bin_name, "offset": offset},
            }));
            offset += paths * pool::T;
        }
        Ok(())
    })?;
    let doc = json!({"format": PROBLEM_FORMAT, "pools": entries});
    write_atomic(out, |w| Ok(serde_json::to_writer(w, &doc)?))?;
    eprintln!(
        "wrote {} and {} ({pools} pool(s) x {paths} path(s) x {} h)",
        out.display(),
        bin.display(),
        pool::T
    );
    Ok(())
}

struct Problem {
    id: String,
    demand: Demand,
    existing: Vec<f64>,
    pricing: Pricing,
}

fn decimal(v: &Value, what: &str) -> Result<Decimal> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => bail!("{what}: expected a number or a decimal string"),
    };
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| anyhow!("{what}: {text:?}: {e}"))
}

/// Reads `count` f64 values of an inline list or of `{"file", "offset"}` (raw f64le).
fn vector(
    spec: &Value,
    base: &Path,
    count: usize,
    files: &mut HashMap<PathBuf, File>,
) -> Result<Vec<f64>> {
    match spec {
        Value::Array(list) => {
            let v: Vec<f64> = list
                .iter()
                .flat_map(|x| match x {
                    Value::Array(inner) => inner.clone(),
                    other => vec![other.clone()],
                })
                .map(|x| x.as_f64().ok_or_else(|| anyhow!("not a number: {x}")))
                .collect::<Result<_>>()?;
            ensure!(v.len() == count, "{} values, expected {count}", v.len());
            Ok(v)
        }
        Value::Object(o) => {
            let name = o
                .get("file")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("no \"file\""))?;
            let offset = o.get("offset").and_then(Value::as_u64).unwrap_or(0);
            let path = base.join(name);
            let f = match files.entry(path.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    File::open(&path).with_context(|| format!("cannot open {}", path.display()))?,
                ),
            };
            f.seek(SeekFrom::Start(offset * 8))?;
            let mut bytes = vec![0u8; count * 8];
            f.read_exact(&mut bytes).with_context(|| {
                format!(
                    "{}: fewer than {count} values at offset {offset}",
                    path.display()
                )
            })?;
            Ok(bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect())
        }
        _ => bail!("expected a list or {{\"file\", \"offset\"}}"),
    }
}

fn parse_pool(
    i: usize,
    p: &Value,
    base: &Path,
    files: &mut HashMap<PathBuf, File>,
) -> Result<Problem> {
    let id = match p.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => i.to_string(),
    };
    let hours = p
        .get("hours")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("no \"hours\""))? as usize;
    let spec = p
        .get("demand")
        .or_else(|| p.get("demand_f64le"))
        .ok_or_else(|| anyhow!("no \"demand\" or \"demand_f64le\""))?;
    let paths = match spec {
        Value::Array(list) if list.first().is_some_and(Value::is_array) => list.len(),
        _ => p.get("paths").and_then(Value::as_u64).unwrap_or(1) as usize,
    };
    let flat = vector(spec, base, paths * hours, files).context("demand")?;
    let demand = Demand {
        hours,
        paths: flat.chunks_exact(hours).map(<[f64]>::to_vec).collect(),
    };
    let existing = match p.get("existing").or_else(|| p.get("existing_f64le")) {
        Some(spec) => vector(spec, base, hours, files).context("existing")?,
        None => Vec::new(),
    };
    let offers = p
        .get("offers")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("no \"offers\""))?
        .iter()
        .map(|o| {
            let opt = |k: &str| o.get(k).map_or(Ok(Decimal::ZERO), |v| decimal(v, k));
            Ok(OfferChoice {
                id: match o.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => bail!("offer without \"id\""),
                },
                term_hours: o
                    .get("term_hours")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| anyhow!("offer without \"term_hours\""))?
                    as usize,
                effective_hourly: decimal(
                    o.get("effective_hourly")
                        .ok_or_else(|| anyhow!("offer without \"effective_hourly\""))?,
                    "effective_hourly",
                )?,
                upfront_per_unit: opt("upfront_per_unit")?,
                recurring_hourly: opt("recurring_hourly")?,
            })
        })
        .collect::<Result<_>>()?;
    let currency = match p.get("currency").and_then(Value::as_str) {
        Some(c) => Currency::new(c)?,
        None => Currency::USD,
    };
    let pricing = Pricing {
        currency,
        on_demand_hourly: decimal(
            p.get("on_demand_hourly")
                .ok_or_else(|| anyhow!("no \"on_demand_hourly\""))?,
            "on_demand_hourly",
        )?,
        offers,
    };
    Ok(Problem {
        id,
        demand,
        existing,
        pricing,
    })
}

fn solve_problem(path: &Path, levels_out: &Path) -> Result<()> {
    let t = Instant::now();
    let doc: Value = serde_json::from_reader(BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    ))
    .with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let listed = doc.get("pools").and_then(Value::as_array);
    let raw: Vec<&Value> = match listed {
        Some(list) => list.iter().collect(),
        None => vec![&doc],
    };
    let mut files = HashMap::new();
    let problems: Vec<Problem> = raw
        .iter()
        .enumerate()
        .map(|(i, p)| parse_pool(i, p, base, &mut files).with_context(|| format!("pool {i}")))
        .collect::<Result<_>>()?;
    drop(files);
    let seconds_read = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let levels: Vec<Levels> = problems
        .iter()
        .map(|p| {
            PoolProblem::new(&p.demand, &p.existing, &p.pricing)
                .and_then(|pb| pb.optimal_levels(Risk::Balanced))
                .map_err(|e| anyhow!("pool {}: {e}", p.id))
        })
        .collect::<Result<_>>()?;
    let seconds = t.elapsed().as_secs_f64();

    let doc = json!({
        "pools": problems.iter().zip(&levels).map(|(p, l)| json!({
            "id": p.id,
            "three_year": l.three_year,
            "one_year": l.one_year,
        })).collect::<Vec<_>>(),
    });
    write_atomic(levels_out, |w| Ok(serde_json::to_writer(w, &doc)?))?;
    println!(
        "{}",
        json!({
            "seconds": seconds,
            "pools": problems.len(),
            "paths": problems.iter().map(|p| p.demand.paths.len()).sum::<usize>(),
            "risk": "balanced",
            "seconds_read": seconds_read,
        })
    );
    Ok(())
}
