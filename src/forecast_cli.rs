//! Runners of `capplan forecast` and `capplan backtest`: load and aggregate the input, run the
//! forecasting library over all series in parallel (rayon) with a progress bar on stderr
//! (hidden when stderr is not a terminal), write the outputs and print a summary.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use capplan::export;
use capplan::forecast::{
    self, DemandForecast, EvaluationSettings, ForecastSettings, SNAIVE, SeriesEvaluation,
    anomaly::AnomalyConfig, events::EventSet,
};
use capplan::ingest;
use capplan::series::{SeriesKey, UsageSeries};

use crate::cli::{BacktestArgs, ForecastArgs, Span, UsageError, sidecar, truncate};

pub(crate) fn progress(n: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} series, {elapsed} (eta {eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_owned());
    pb
}

pub(crate) fn out_ext(path: &Path, allowed: &[&str]) -> Result<String, UsageError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if allowed.contains(&ext.as_str()) {
        Ok(ext)
    } else {
        Err(UsageError(format!(
            "--out {}: use a file name ending in .{}",
            path.display(),
            allowed.join(", .")
        )))
    }
}

/// Loads the input and aggregates it into series (printing nothing).
fn load_series(
    input: &crate::cli::InputArgs,
    series: &crate::cli::SeriesArgs,
) -> Result<ingest::Ingested> {
    let opts = input.to_options()?;
    let agg = series.to_options()?;
    let loaded = ingest::load(&opts)?;
    let ingested = loaded.aggregate(&agg)?;
    if ingested.series.is_empty() {
        return Err(UsageError(
            "no usage series: every row was excluded (see `capplan inspect` for the reasons)"
                .to_owned(),
        )
        .into());
    }
    Ok(ingested)
}

fn step_seconds(s: &UsageSeries) -> Result<i64> {
    Ok(forecast::check_granularity(s.granularity)
        .map_err(|e| UsageError(e.to_string()))?
        .nominal_seconds())
}

/// Forecasts every series in parallel with a progress bar; the first failure names its series.
pub(crate) fn forecast_all(
    series: &[UsageSeries],
    settings: &ForecastSettings,
    what: &str,
) -> Result<Vec<DemandForecast>> {
    let pb = progress(series.len(), what);
    let forecasts: Vec<Result<DemandForecast>> = series
        .par_iter()
        .map(|s| {
            let r = forecast::forecast_usage(s, settings)
                .with_context(|| format!("forecasting series {}", s.key));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    forecasts.into_iter().collect()
}

/// A `--limit` value: optional `K=V,...:` selector and a positive number.
struct Limit {
    filters: Vec<(String, String)>,
    value: f64,
}

fn parse_limit(s: &str) -> Result<Limit, UsageError> {
    let (sel, num) = match s.rsplit_once(':') {
        Some((sel, num)) => (Some(sel), num),
        None => (None, s),
    };
    let value: f64 = num.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0).ok_or_else(|| {
        UsageError(format!(
            "--limit {s}: expected a positive number, optionally after KEY=VALUE[,KEY=VALUE]: (e.g. region=eu-west-1:500)"
        ))
    })?;
    let mut filters = Vec::new();
    if let Some(sel) = sel {
        for part in sel.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--limit {s}: `{part}` is not KEY=VALUE")))?;
            filters.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok(Limit { filters, value })
}

fn limit_matches(l: &Limit, key: &SeriesKey) -> bool {
    l.filters
        .iter()
        .all(|(k, v)| key.0.iter().any(|(kk, vv)| kk == k && vv == v))
}

pub fn forecast_cmd(args: ForecastArgs) -> Result<()> {
    let ext = out_ext(&args.out, &["csv", "parquet", "json"])?;
    let limits = args
        .limit
        .iter()
        .map(|l| parse_limit(l))
        .collect::<Result<Vec<_>, _>>()?;
    let events = match &args.events {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the events file {}", p.display()))?;
            Some(
                EventSet::from_toml_str(&text, &p.display().to_string())
                    .map_err(|e| UsageError(e.to_string()))?,
            )
        }
        None => None,
    };
    let anomalies = AnomalyConfig::new(args.anomaly_threshold)
        .map_err(|e| UsageError(format!("--anomaly-threshold: {e}")))?;
    let ingested = load_series(&args.input, &args.series)?;
    let series = &ingested.series;
    let step_s = step_seconds(&series[0])?;
    let mut settings = ForecastSettings::new(args.horizon.steps(step_s));
    settings.backtest_horizon = args.backtest_horizon.as_ref().map(|s| s.steps(step_s));
    settings.windows = args.windows;
    settings.step = args.step.as_ref().map(|s| s.steps(step_s));
    settings.anomalies = anomalies;
    settings.clean_anomalies = args.clean_anomalies;
    settings.current_regime = !args.all_history;

    let mut forecasts = forecast_all(series, &settings, "forecasting")?;

    let mut warnings = Vec::new();
    if let Some(ev) = &events {
        warnings = forecast::apply_events(ev, &mut forecasts)
            .map_err(|e| anyhow::anyhow!("applying events: {e}"))?
            .iter()
            .map(|w| w.to_string())
            .collect();
    }
    for f in &mut forecasts {
        // The last matching --limit wins, so a general limit can be refined per series.
        if let Some(l) = limits.iter().rev().find(|l| limit_matches(l, &f.key)) {
            f.set_limit(l.value)?;
        }
    }

    let written = match ext.as_str() {
        "json" => {
            export::write_json(&args.out, &ForecastFile::new(&args, &forecasts, &warnings))
                .context("writing the forecasts")?;
            vec![args.out.clone()]
        }
        _ => {
            export::write_forecasts(&args.out, &forecasts).context("writing the forecasts")?;
            let models = sidecar(&args.out, "models.json");
            let mut summary =
                serde_json::to_value(ForecastFile::new(&args, &forecasts, &warnings))?;
            if let Some(list) = summary.get_mut("forecasts").and_then(|v| v.as_array_mut()) {
                for f in list {
                    if let Some(o) = f.as_object_mut() {
                        o.remove("forecast");
                    }
                }
            }
            export::write_json(&models, &summary).context("writing the model summary")?;
            vec![args.out.clone(), models]
        }
    };
    let mut out = std::io::stdout().lock();
    print_forecasts(&mut out, &forecasts, &args.horizon)?;
    for w in &warnings {
        writeln!(out, "warning: {w}")?;
    }
    for p in written {
        writeln!(out, "Wrote {}", p.display())?;
    }
    Ok(())
}

#[derive(Serialize)]
struct ForecastFile<'a> {
    horizon: &'a str,
    quantile_levels: &'a [f64],
    events_file: Option<String>,
    event_warnings: &'a [String],
    forecasts: &'a [DemandForecast],
}

impl<'a> ForecastFile<'a> {
    fn new(args: &'a ForecastArgs, f: &'a [DemandForecast], warnings: &'a [String]) -> Self {
        ForecastFile {
            horizon: &args.horizon.text,
            quantile_levels: f
                .first()
                .map(|x| x.forecast.levels.as_slice())
                .unwrap_or(&[]),
            events_file: args.events.as_ref().map(|p| p.display().to_string()),
            event_warnings: warnings,
            forecasts: f,
        }
    }
}

fn fmt_opt_date(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

fn print_forecasts(
    out: &mut impl Write,
    f: &[DemandForecast],
    horizon: &Span,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<40} {:<28} {:>7} {:>11} {:>5} {:>5} {:>14} {:>14} {:>11}",
        "series",
        "model",
        "MASE",
        "cov 80/95",
        "anom",
        "shift",
        format!("p50 sum {}", horizon.text),
        "p10..p90 sum",
        "saturates"
    )?;
    for d in f {
        let chosen = d.candidates.iter().find(|c| c.model == d.model);
        let cov = d
            .coverage
            .map(|c| format!("{:.0}/{:.0}", 100.0 * c.coverage80, 100.0 * c.coverage95))
            .unwrap_or_else(|| "uncal.".into());
        let sum = |l: f64| {
            d.forecast
                .quantile(l)
                .map(|q| q.iter().sum::<f64>())
                .unwrap_or(f64::NAN)
        };
        let sat = d
            .saturation
            .map(|s| fmt_opt_date(s.p50_first))
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<40} {:<28} {:>7} {:>11} {:>5} {:>5} {:>14.1} {:>14} {:>11}",
            truncate(&d.key.to_string(), 40),
            truncate(&d.model, 28),
            chosen
                .map(|c| format!("{:.3}", c.mase))
                .unwrap_or_else(|| "-".into()),
            cov,
            d.anomalies.len(),
            d.level_shifts.len(),
            sum(0.5),
            format!("{:.0}..{:.0}", sum(0.1), sum(0.9)),
            sat
        )?;
    }
    writeln!(
        out,
        "MASE: backtest mean (seasonal scale). cov: measured coverage of the calibrated 80 %/95 % intervals, leaving each backtest window out of its own calibration."
    )?;
    Ok(())
}

pub fn backtest_cmd(args: BacktestArgs) -> Result<()> {
    let ext = match &args.out {
        Some(p) => Some(out_ext(p, &["csv", "json"])?),
        None => None,
    };
    let ingested = load_series(&args.input, &args.series)?;
    let series = &ingested.series;
    let step_s = step_seconds(&series[0])?;
    let granularity = forecast::check_granularity(series[0].granularity)?;
    let default_step = granularity.mase_season();
    let settings = EvaluationSettings {
        horizon: args.horizon.steps(step_s),
        windows: args.windows,
        step: args.step.as_ref().map_or(default_step, |s| s.steps(step_s)),
        min_calibration_windows: args.min_calibration_windows,
    };
    let pb = progress(series.len(), "backtesting");
    let results: Vec<Result<SeriesEvaluation>> = series
        .par_iter()
        .map(|s| {
            let r = forecast::evaluate_series(&s.values, granularity, &settings)
                .with_context(|| format!("backtesting series {}", s.key));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let evals = results.into_iter().collect::<Result<Vec<_>>>()?;
    let keys: Vec<String> = series.iter().map(|s| s.key.to_string()).collect();
    let summary = summarise(&evals);

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<36} {:<54} {:>4} {:>7} {:>7} {:>7} {:>8} {:>8} {:>6} {:>6} {:>9}",
        "series",
        "model",
        "win",
        "MASE",
        "RMSSE",
        "sMAPE",
        "pinball",
        "sCRPS",
        "cov80",
        "cov95",
        "Winkler95"
    )?;
    let mut rows = Vec::new();
    for (key, e) in keys.iter().zip(&evals) {
        for m in &e.models {
            writeln!(
                out,
                "{:<36} {:<54} {:>4} {:>7.3} {:>7.3} {:>7.2} {:>8.3} {:>8.3} {:>6.1} {:>6.1} {:>9.2}",
                truncate(key, 36),
                truncate(
                    &format!("{}{}", m.model, if m.baseline { " (baseline)" } else { "" }),
                    54
                ),
                m.windows,
                m.mase,
                m.rmsse,
                m.smape,
                m.pinball,
                m.scrps,
                100.0 * m.coverage80,
                100.0 * m.coverage95,
                m.winkler95
            )?;
            rows.push(vec![
                key.clone(),
                m.model.clone(),
                m.baseline.to_string(),
                m.windows.to_string(),
                fmt6(m.mase),
                fmt6(m.rmsse),
                fmt6(m.smape),
                fmt6(m.pinball),
                fmt6(m.scrps),
                fmt6(m.coverage80),
                fmt6(m.coverage95),
                fmt6(m.winkler95),
                fmt6(m.raw_coverage80),
                fmt6(m.raw_coverage95),
            ]);
        }
    }
    writeln!(
        out,
        "Overall ({} series): auto MASE {:.3} vs seasonal naive {:.3} (ratio {:.3}); auto <= seasonal naive on {} of {}; calibrated coverage {:.1} % / {:.1} % (nominal 80 / 95).",
        evals.len(),
        summary.auto_mase,
        summary.snaive_mase,
        summary.ratio,
        summary.auto_wins,
        evals.len(),
        100.0 * summary.coverage80,
        100.0 * summary.coverage95
    )?;
    writeln!(
        out,
        "Scores are means over windows that selection and calibration did not see; MASE/RMSSE use the in-sample seasonal naive scale; sMAPE is on M4's 0-200 scale; pinball and Winkler are divided by the MASE scale."
    )?;
    if let (Some(path), Some(ext)) = (&args.out, ext) {
        if ext == "json" {
            #[derive(Serialize)]
            struct Entry<'a> {
                series: &'a str,
                evaluation: &'a SeriesEvaluation,
            }
            #[derive(Serialize)]
            struct File<'a> {
                summary: &'a Summary,
                series: Vec<Entry<'a>>,
            }
            let file = File {
                summary: &summary,
                series: keys
                    .iter()
                    .zip(&evals)
                    .map(|(k, e)| Entry {
                        series: k,
                        evaluation: e,
                    })
                    .collect(),
            };
            export::write_json(path, &file).context("writing the backtest")?;
        } else {
            export::write_csv_table(
                path,
                &[
                    "series",
                    "model",
                    "baseline",
                    "windows",
                    "mase",
                    "rmsse",
                    "smape",
                    "pinball",
                    "scrps",
                    "coverage80",
                    "coverage95",
                    "winkler95",
                    "raw_coverage80",
                    "raw_coverage95",
                ],
                &rows,
            )
            .context("writing the backtest")?;
        }
        writeln!(out, "Wrote {}", path.display())?;
    }
    Ok(())
}

fn fmt6(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        String::new()
    }
}

#[derive(Debug, Serialize)]
struct Summary {
    series: usize,
    auto_mase: f64,
    snaive_mase: f64,
    ratio: f64,
    auto_wins: usize,
    coverage80: f64,
    coverage95: f64,
}

fn summarise(evals: &[SeriesEvaluation]) -> Summary {
    let k = evals.len().max(1) as f64;
    let (mut a, mut s, mut wins, mut c80, mut c95) = (0.0, 0.0, 0, 0.0, 0.0);
    for e in evals {
        let (Some(auto), Some(sn)) = (e.model("auto"), e.model(SNAIVE)) else {
            continue;
        };
        a += auto.mase;
        s += sn.mase;
        c80 += auto.coverage80;
        c95 += auto.coverage95;
        if auto.mase <= sn.mase {
            wins += 1;
        }
    }
    Summary {
        series: evals.len(),
        auto_mase: a / k,
        snaive_mase: s / k,
        ratio: a / s,
        auto_wins: wins,
        coverage80: c80 / k,
        coverage95: c95 / k,
    }
}
