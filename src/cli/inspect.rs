//! `capplan inspect`: what billing exports contain, as a table or JSON.

use std::io::Write;

use anyhow::Result;

use capplan::ingest::{self, Inspection};

use super::args::{CommitmentsArgs, InspectArgs, OutputFormat};
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

/// Runs `capplan commitments`: every commitment the bill names, with its used and unused
/// amortised cost, utilisation and purchases, and the bill's coverage (list cost of usage
/// billed at committed prices ÷ list cost of all usage).
pub(crate) fn commitments_cmd(args: CommitmentsArgs) -> Result<()> {
    let opts = args.input.to_options()?;
    let loaded = ingest::load(&opts)?;
    let c = loaded.commitments()?;
    let by_category = loaded.aggregate(&ingest::AggregateOptions {
        by: vec!["pricing_category".into()],
        granularity: None,
        filters: Vec::new(),
        measure: ingest::Measure::ListCost,
    })?;
    let (mut committed, mut all) = (0.0, 0.0);
    for s in &by_category.series {
        let v: f64 = s.values.iter().sum();
        all += v;
        if s.key.0.iter().any(|(_, v)| v == "Committed") {
            committed += v;
        }
    }
    let coverage = (all > 0.0).then(|| committed / all);
    let mut out = super::output::stdout();
    match args.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct File<'a> {
                commitments: &'a ingest::Commitments,
                /// List cost of usage at committed prices ÷ list cost of all usage.
                coverage: Option<f64>,
            }
            serde_json::to_writer_pretty(
                &mut out,
                &File {
                    commitments: &c,
                    coverage,
                },
            )?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<44} {:<16} {:<8} {:>14} {:>14} {:>7} {:>14}",
                "commitment", "type", "category", "used", "unused", "util", "purchased"
            )?;
            for u in &c.commitments {
                writeln!(
                    out,
                    "{:<44} {:<16} {:<8} {:>14} {:>14} {:>7} {:>14}",
                    truncate(&terminal_safe(&u.commitment_id), 44),
                    truncate(
                        &terminal_safe(u.commitment_type.as_deref().unwrap_or("-")),
                        16
                    ),
                    truncate(&terminal_safe(u.category.as_deref().unwrap_or("-")), 8),
                    u.used_cost.round_dp(2),
                    u.unused_cost.round_dp(2),
                    u.utilisation().map_or("-".into(), |x| format!(
                        "{:.1}%",
                        (x * rust_decimal::Decimal::from(100)).round_dp(1)
                    )),
                    u.purchase_billed_cost.round_dp(2)
                )?;
            }
            if c.commitments.is_empty() {
                writeln!(out, "(the bill names no commitment)")?;
            }
            writeln!(
                out,
                "{} commitments, amounts in {} (amortised; purchases as billed). Coverage: {} of the usage's list cost was billed at committed prices.",
                c.commitments.len(),
                c.currency,
                coverage.map_or("-".into(), |x| format!("{:.1} %", 100.0 * x))
            )?;
            writeln!(
                out,
                "End dates: FOCUS bills do not carry them; give them in an inventory file (see data/demo/inventory.toml) for planning."
            )?;
            print_reconciliation(&mut out, &c.reconciliation)?;
            print_findings(&mut out, &c.findings)?;
        }
    }
    Ok(())
}
