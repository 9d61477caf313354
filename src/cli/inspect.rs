//! `capplan inspect`: what billing exports contain, as a table or JSON.

use std::io::Write;

use anyhow::Result;

use capplan::ingest::{self, Inspection};

use super::args::{InspectArgs, OutputFormat};
use super::output::{print_findings, print_reconciliation, terminal_safe, truncate};

/// Runs `capplan inspect`.
pub(crate) fn inspect_cmd(args: InspectArgs) -> Result<()> {
    let opts = args.input.to_options()?;
    let loaded = ingest::load(&opts)?;
    let inspection = loaded.inspect()?;
    let mut out = super::output::stdout();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &inspection)?;
            writeln!(out)?;
        }
        OutputFormat::Table => print_inspection(&mut out, &inspection)?,
    }
    Ok(())
}

fn print_inspection(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    for f in &i.files {
        let version = f
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: {}{} ({:?}), {} rows",
            terminal_safe(&f.path),
            f.format.name(),
            terminal_safe(&version),
            f.kind,
            f.rows
        )?;
    }
    let span = match (i.start, i.end) {
        (Some(s), Some(e)) => format!(
            "{} .. {}",
            s.format("%Y-%m-%d %H:%M"),
            e.format("%Y-%m-%d %H:%M")
        ),
        _ => "(no timestamps)".into(),
    };
    writeln!(out, "Rows: {}   Time span (UTC): {}", i.rows, span)?;
    writeln!(
        out,
        "Granularity: {}   Gaps: {}",
        i.granularity.map(|g| g.name()).unwrap_or("unknown"),
        i.gaps
    )?;
    for (title, values) in [
        ("Providers", &i.providers),
        ("Currencies", &i.currencies),
        ("Accounts", &i.accounts),
        ("Services", &i.services),
    ] {
        writeln!(out, "{title}:")?;
        for v in values.iter().take(15) {
            writeln!(
                out,
                "  {:<48} {:>10} rows {:>22}",
                truncate(&v.value, 48),
                v.rows,
                v.billed_cost.normalize().to_string()
            )?;
        }
        if values.len() > 15 {
            writeln!(out, "  ... {} more", values.len() - 15)?;
        }
    }
    print_reconciliation(out, &i.reconciliation)?;
    print_findings(out, &i.findings)
}
