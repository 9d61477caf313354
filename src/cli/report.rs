//! `capplan report` and `capplan demo`: read the plan file, run it, write the report
//! and its exports, print where they are; exit 3 on an over-budget quarter when asked.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use capplan::progress::Progress;
use capplan::report::{self, ReportData};
use capplan::run::{self, RunOptions};
use capplan::scenario::ScenarioFile;

use super::args::{DemoArgs, ReportArgs, UsageError};
use super::output::{Bar, refuse_inputs_as_outputs, stdout};

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

/// Every file a run of `plan` reads: the plan file, the rate card, the inventory, the events
/// files and the bill's files (directories walked, globs expanded).
fn plan_inputs(config: &Path, plan: &ScenarioFile, base: &Path) -> Vec<PathBuf> {
    let p = plan.clone().resolve_paths(base);
    let mut out = vec![config.to_path_buf(), p.rates.clone()];
    out.extend(p.inventory.clone());
    out.extend(p.events.clone());
    out.extend(p.demand.iter().flat_map(|d| d.events.iter().cloned()));
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() && depth < 16 => walk(&e.path(), out, depth + 1),
                Ok(_) => out.push(e.path()),
                Err(_) => {}
            }
        }
    }
    for i in &p.inputs.paths {
        let path = Path::new(i);
        if path.is_dir() {
            walk(path, &mut out, 0);
        } else if path.exists() {
            out.push(path.to_path_buf());
        } else if let Ok(paths) = glob::glob(i) {
            out.extend(paths.flatten());
        }
    }
    out
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
    let outputs: Vec<PathBuf> = report::report_files(&data)
        .iter()
        .map(|n| out.join(n))
        .collect();
    let outputs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    refuse_inputs_as_outputs(plan_inputs(config, &plan, base), &outputs)?;
    let written = report::write_report(&data, out)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
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
