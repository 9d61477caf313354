//! `capplan report` and `capplan demo`: read the plan file, run it, write the report
//! and its exports, print where they are; exit 3 on an over-budget quarter when asked.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use capplan::progress::Progress;
use capplan::report::{self, ReportData};
use capplan::run::{self, RunOptions};
use capplan::scenario::ScenarioFile;

use super::args::{DemoArgs, ReportArgs, UsageError};
use super::output::{Bar, stdout};

/// A forecast quarter over budget with `--fail-on-budget` (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct OverBudget(pub(crate) String);

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
    let bar = Bar::stages();
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
    // Not `println!`, which panics on a closed stdout.
    let mut out = stdout();
    writeln!(out, "{}", report::summary_sentence(&data))?;
    for p in &written {
        writeln!(out, "wrote {}", p.display())?;
    }
    Ok(data)
}

/// Runs `capplan report`.
pub(crate) fn report_cmd(args: ReportArgs) -> Result<()> {
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

/// Runs `capplan demo`.
pub(crate) fn demo_cmd(args: DemoArgs) -> Result<()> {
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
