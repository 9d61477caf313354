//! Runner of `capplan report` and `capplan demo`: read the plan file, run it, write the report
//! and its exports, print where they are; exit 3 on an over-budget quarter when asked.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use capplan::progress::Progress;
use capplan::report::{self, ReportData};
use capplan::run::{self, RunOptions};
use capplan::scenario::ScenarioFile;

use crate::cli::{DemoArgs, ReportArgs, UsageError};

/// A forecast quarter over budget with `--fail-on-budget` (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OverBudget(pub String);

/// A bar per stage on stderr when it is a terminal; nothing otherwise.
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Progress for Bar {
    fn start(&self, what: &str, total: usize) {
        if !self.enabled {
            return;
        }
        let mut g = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = g.take() {
            b.finish_and_clear();
        }
        let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_message(what.to_owned());
        *g = Some(b);
    }

    fn inc(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(1);
        }
    }
}

impl Bar {
    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

fn load_plan(path: &Path) -> Result<ScenarioFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "reading the plan file {}: {e}. Pass an existing TOML plan file with --config (see data/demo/plan.toml)",
            path.display()
        ))
    })?;
    ScenarioFile::from_toml_str(&text, &path.display().to_string())
        .map_err(|e| UsageError(e.to_string()).into())
}

fn run_and_write(
    config: &Path,
    as_of: Option<chrono::NaiveDate>,
    out: &Path,
) -> Result<ReportData> {
    let plan = load_plan(config)?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let bar = Bar {
        bar: Mutex::new(None),
        enabled: std::io::stderr().is_terminal(),
    };
    let data = run::execute(&plan, base, &RunOptions { as_of }, &bar).map_err(|e| {
        bar.finish();
        if e.is_input_error() {
            anyhow::Error::new(UsageError(e.to_string()))
        } else {
            anyhow::Error::new(e)
        }
    })?;
    bar.finish();
    let written = report::write_report(&data, out)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    println!("{}", report::summary_sentence(&data));
    for p in &written {
        println!("wrote {}", p.display());
    }
    Ok(data)
}

pub fn report_cmd(args: ReportArgs) -> Result<()> {
    let data = run_and_write(&args.config, args.as_of, &args.out)?;
    if args.fail_on_budget {
        let mut over: Vec<String> = data
            .quarters
            .iter()
            .filter(|q| q.over_budget)
            .map(|q| {
                format!(
                    "{}: p50 {} > budget {}",
                    q.quarter,
                    q.spend_p50,
                    q.budget.map_or(String::new(), |b| b.to_string())
                )
            })
            .collect();
        over.extend(
            data.group_budgets
                .iter()
                .filter(|g| g.over_budget)
                .map(|g| {
                    format!(
                        "{} {}: expected {} > budget {}",
                        g.group,
                        g.quarter,
                        g.expected_spend,
                        g.budget.map_or(String::new(), |b| b.to_string())
                    )
                }),
        );
        if !over.is_empty() {
            return Err(OverBudget(format!(
                "forecast over budget (the report was written): {}",
                over.join("; ")
            ))
            .into());
        }
    }
    Ok(())
}

pub fn demo_cmd(args: DemoArgs) -> Result<()> {
    if !args.config.exists() {
        return Err(UsageError(format!(
            "{} not found: run `capplan demo` from the repository root (or pass --config)",
            args.config.display()
        ))
        .into());
    }
    run_and_write(&args.config, None, &args.out)?;
    Ok(())
}
