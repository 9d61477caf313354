//! `capplan forecast`: load and aggregate the input, forecast every series (in parallel, with a
//! progress bar on stderr), apply events and capacity limits, write the outputs and print a
//! summary.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use capplan::export;
use capplan::forecast::{
    self, DemandForecast, ForecastSettings, anomaly::AnomalyConfig, events::EventSet,
};
use capplan::series::SeriesKey;

use super::args::{ForecastArgs, Span, UsageError};
use super::ingest::{load_series, step_seconds};
use super::output::{Bar, elide_middle, out_ext, sidecar, truncate};

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

/// Runs `capplan forecast`.
pub(crate) fn forecast_cmd(args: ForecastArgs) -> Result<()> {
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
    let models = sidecar(&args.out, "models.json");
    let mut outputs = vec![args.out.as_path()];
    if ext != "json" {
        outputs.push(models.as_path());
    }
    super::output::refuse_inputs_as_outputs(args.events.iter(), &outputs)?;
    let ingested = load_series(&args.input, &args.series, &outputs)?;
    let series = &ingested.series;
    let step_s = step_seconds(&series[0])?;
    let mut settings = ForecastSettings::new(args.horizon.steps(step_s));
    settings.backtest_horizon = args.backtest_horizon.as_ref().map(|s| s.steps(step_s));
    settings.windows = args.windows;
    settings.step = args.step.as_ref().map(|s| s.steps(step_s));
    settings.anomalies = anomalies;
    settings.clean_anomalies = args.clean_anomalies;
    settings.current_regime = !args.all_history;

    let mut forecasts = forecast::forecast_all(series, &settings, &Bar::series(), "forecasting")?;

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

    // A limit that matches no series would be ignored unseen.
    let unmatched: Vec<String> = args
        .limit
        .iter()
        .zip(&limits)
        .filter(|(_, l)| !forecasts.iter().any(|f| limit_matches(l, &f.key)))
        .map(|(text, _)| {
            format!(
                "--limit {text} matches none of the {} series: it is ignored; use KEY=VALUE pairs of the series' dimensions (--by)",
                forecasts.len()
            )
        })
        .collect();

    let written = match ext.as_str() {
        "json" => {
            export::write_json(&args.out, &ForecastFile::new(&args, &forecasts, &warnings))
                .context("writing the forecasts")?;
            vec![args.out.clone()]
        }
        _ => {
            export::write_forecasts(&args.out, &forecasts).context("writing the forecasts")?;
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
    let mut out = super::output::stdout();
    print_forecasts(&mut out, &forecasts, &args.horizon)?;
    for w in warnings.iter().chain(&unmatched) {
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

/// Paths and seed of the horizon totals' quantiles in the table.
const TOTAL_PATHS: usize = 500;
const TOTAL_SEED: u64 = 0;

/// The widest series label printed whole; longer ones keep their start and end.
const MAX_LABEL: usize = 72;

/// Quantile `q` (linear interpolation between order statistics) of sorted `v`.
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = q * (v.len() - 1) as f64;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// p10 and p90 of the horizon total: quantiles of each sample path's sum (the sum of per-step
/// quantiles would overstate the spread of a total).
fn total_p10_p90(d: &DemandForecast) -> Option<(f64, f64)> {
    let paths = d.sample_paths(TOTAL_PATHS, TOTAL_SEED).ok()?;
    let mut totals: Vec<f64> = (0..TOTAL_PATHS)
        .map(|i| paths.path(i).iter().sum::<f64>())
        .collect();
    totals.sort_by(f64::total_cmp);
    Some((quantile_sorted(&totals, 0.1), quantile_sorted(&totals, 0.9)))
}

/// The series labels as printed: whole when they fit [`MAX_LABEL`], else elided in the middle;
/// whole after all when eliding would make two labels look alike.
fn labels(f: &[DemandForecast]) -> Vec<String> {
    let full: Vec<String> = f.iter().map(|d| d.key.to_string()).collect();
    let short: Vec<String> = full.iter().map(|l| elide_middle(l, MAX_LABEL)).collect();
    let mut seen = std::collections::BTreeSet::new();
    if short.iter().all(|s| seen.insert(s.as_str())) {
        short
    } else {
        full.iter().map(|l| elide_middle(l, usize::MAX)).collect()
    }
}

fn print_forecasts(
    out: &mut impl Write,
    f: &[DemandForecast],
    horizon: &Span,
) -> std::io::Result<()> {
    let labels = labels(f);
    let lw = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("series".len());
    let units: Vec<String> = f.iter().map(|d| truncate(&d.unit, 16)).collect();
    let uw = units
        .iter()
        .map(|u| u.chars().count())
        .max()
        .unwrap_or(0)
        .max("unit".len());
    writeln!(
        out,
        "{:<lw$} {:<uw$} {:<28} {:>7} {:>11} {:>5} {:>5} {:>14} {:>21} {:>11}",
        "series",
        "unit",
        "model",
        "MASE",
        "cov 80/95",
        "anom",
        "shift",
        format!("p50 sum {}", horizon.text),
        "total p10..p90",
        "saturates"
    )?;
    let mut na_mase = false;
    for ((d, label), unit) in f.iter().zip(&labels).zip(&units) {
        let chosen = d.candidates.iter().find(|c| c.model == d.model);
        let cov = d
            .coverage
            .map(|c| format!("{:.0}/{:.0}", 100.0 * c.coverage80, 100.0 * c.coverage95))
            .unwrap_or_else(|| "uncal.".into());
        let p50_sum = d
            .forecast
            .quantile(0.5)
            .map(|q| q.iter().sum::<f64>())
            .unwrap_or(f64::NAN);
        let total = total_p10_p90(d)
            .map(|(a, b)| format!("{a:.0}..{b:.0}"))
            .unwrap_or_else(|| "-".into());
        let sat = d
            .saturation
            .map(|s| fmt_opt_date(s.p50_first))
            .unwrap_or_else(|| "-".into());
        let mase = match chosen {
            Some(c) if c.mase.is_finite() => format!("{:.3}", c.mase),
            Some(_) => {
                na_mase = true;
                "n/a".into()
            }
            None => "-".into(),
        };
        writeln!(
            out,
            "{:<lw$} {:<uw$} {:<28} {:>7} {:>11} {:>5} {:>5} {:>14.1} {:>21} {:>11}",
            label,
            unit,
            truncate(&d.model, 28),
            mase,
            cov,
            d.anomalies.len(),
            d.level_shifts.len(),
            p50_sum,
            total,
            sat
        )?;
    }
    writeln!(
        out,
        "MASE: backtest mean (seasonal scale; a series that barely changes is scaled by its mean level instead). cov: measured coverage of the calibrated 80 %/95 % intervals, leaving each backtest window out of its own calibration."
    )?;
    writeln!(
        out,
        "p50 sum: the per-step medians added up. total p10..p90: the 10th and 90th percentiles of the horizon total over {TOTAL_PATHS} seeded sample paths."
    )?;
    if na_mase {
        writeln!(out, "MASE n/a: no backtest window could be scored.")?;
    }
    Ok(())
}
