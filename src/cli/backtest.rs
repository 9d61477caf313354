//! `capplan backtest`: rolling-origin backtest of the forecasting models over every series (in
//! parallel, with a progress bar on stderr); prints the scores and writes CSV or JSON.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use capplan::export;
use capplan::forecast::{self, EvaluationSettings, SNAIVE, SeriesEvaluation};

use capplan::series::{Granularity, UsageSeries};

use super::args::{BacktestArgs, UsageError};
use super::ingest::{load_series, step_seconds};
use super::output::{Bar, out_ext, truncate};

/// Runs `capplan backtest`.
pub(crate) fn backtest_cmd(args: BacktestArgs) -> Result<()> {
    let ext = match &args.out {
        Some(p) => Some(out_ext(p, &["csv", "json"])?),
        None => None,
    };
    let outputs: Vec<&std::path::Path> = args.out.as_deref().into_iter().collect();
    let ingested = load_series(&args.input, &args.series, &outputs)?;
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
    check_windows(&args, series, granularity, &settings, step_s)?;
    let evals = forecast::evaluate_all(
        series,
        granularity,
        &settings,
        &Bar::series(),
        "backtesting",
    )?;
    let keys: Vec<String> = series.iter().map(|s| s.key.to_string()).collect();
    let summary = summarise(&evals);

    let mut out = super::output::stdout();
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

/// Refuses settings under which no window of the shortest series could be scored, before
/// the models run, and names the flags that would work (each checked with the same window
/// arithmetic as the backtest itself).
fn check_windows(
    args: &BacktestArgs,
    series: &[UsageSeries],
    granularity: Granularity,
    settings: &EvaluationSettings,
    step_s: i64,
) -> Result<(), UsageError> {
    let Some(shortest) = series.iter().min_by_key(|s| s.values.len()) else {
        return Ok(());
    };
    let n = shortest.values.len();
    let plan = forecast::window_plan(n, granularity, settings);
    if plan.scored > 0 {
        return Ok(());
    }
    let (unit, unit_s) = match step_s {
        s if s % 604_800 == 0 => ("w", 604_800),
        s if s % 86_400 == 0 => ("d", 86_400),
        _ => ("h", 3_600),
    };
    let span = |steps: usize| format!("{}{unit}", steps as i64 * step_s / unit_s);
    let scored = |p: forecast::WindowPlan| {
        format!(
            "{} window{} scored",
            p.scored,
            if p.scored == 1 { "" } else { "s" }
        )
    };
    let mut fixes = Vec::new();
    let fix = |flags: String, s: EvaluationSettings| {
        let p = forecast::window_plan(n, granularity, &s);
        (p.scored > 0).then(|| format!("`{flags}` ({})", scored(p)))
    };
    if settings.step > 1 {
        let s = EvaluationSettings {
            step: 1,
            ..settings.clone()
        };
        fixes.extend(fix(format!("--step {}", span(1)), s));
    }
    if plan.max_calibration >= 1 {
        let s = EvaluationSettings {
            min_calibration_windows: plan.max_calibration,
            ..settings.clone()
        };
        fixes.extend(fix(
            format!("--min-calibration-windows {}", plan.max_calibration),
            s,
        ));
    }
    if fixes.is_empty() {
        // Shorter horizons at the finest step, keeping the calibration asked for.
        for h in (1..settings.horizon).rev() {
            let s = EvaluationSettings {
                horizon: h,
                step: 1,
                ..settings.clone()
            };
            if forecast::window_plan(n, granularity, &s).scored > 0 {
                fixes.extend(fix(format!("--horizon {} --step {}", span(h), span(1)), s));
                break;
            }
        }
    }
    let step_text = args
        .step
        .as_ref()
        .map_or_else(|| span(settings.step), |s| s.text.clone());
    let situation = if plan.windows == 0 {
        format!(
            "not one window of --horizon {} fits in it",
            args.horizon.text
        )
    } else {
        format!(
            "with --horizon {} and --step {step_text}, {} window{} and none has {} earlier non-overlapping window{} (the most is {}), as --min-calibration-windows {} asks",
            args.horizon.text,
            plan.windows,
            if plan.windows == 1 { " fits" } else { "s fit" },
            settings.min_calibration_windows,
            if settings.min_calibration_windows == 1 {
                ""
            } else {
                "s"
            },
            plan.max_calibration,
            settings.min_calibration_windows
        )
    };
    let advice = match fixes.as_slice() {
        [] => "the series is too short to backtest; collect a longer history".to_string(),
        [one] => format!("this works: {one}"),
        many => format!("either of these works: {}", many.join(" or ")),
    };
    Err(UsageError(format!(
        "series {} has {n} points at {} granularity: {situation}, so no window can be scored; {advice}",
        shortest.key,
        shortest.granularity.name()
    )))
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
