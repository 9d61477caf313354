//! `capplan ingest`: billing exports → usage series and their reconciliation; also the input
//! loading the forecasting commands share (`load_series`).

use std::io::Write;

use anyhow::{Context, Result};

use capplan::export;
use capplan::forecast;
use capplan::ingest::{self, Ingested, Reconciliation};
use capplan::series::UsageSeries;

use super::args::{IngestArgs, InputArgs, SeriesArgs, UsageError};
use super::output::{print_findings, print_reconciliation, refuse_inputs_as_outputs, sidecar};

/// Runs `capplan ingest`.
pub(crate) fn ingest_cmd(args: IngestArgs) -> Result<()> {
    let opts = args.input.to_options()?;
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("csv" | "parquet")) {
        return Err(UsageError(format!(
            "--out {}: use a .parquet or .csv file name",
            args.out.display()
        ))
        .into());
    }
    let agg = args.series.to_options()?;
    let recon_path = sidecar(&args.out, "reconciliation.json");
    let outputs = [args.out.as_path(), recon_path.as_path()];
    refuse_inputs_as_outputs(&args.input.inputs, &outputs)?;
    let loaded = ingest::load(&opts)?;
    let ingested = loaded.aggregate(&agg)?;
    refuse_inputs_as_outputs(ingested.files.iter().map(|f| &f.path), &outputs)?;
    export::write_series(&args.out, &ingested.series).with_context(|| "writing the series")?;
    export::write_json(&recon_path, &ReconciliationFile::from(&ingested))
        .with_context(|| "writing the reconciliation")?;
    let mut out = super::output::stdout();
    print_ingested(&mut out, &ingested, &args.out, &recon_path)?;
    Ok(())
}

/// Loads the input and aggregates it into series (printing nothing), after checking that none
/// of the command's `outputs` is one of the inputs.
pub(crate) fn load_series(
    input: &InputArgs,
    series: &SeriesArgs,
    outputs: &[&std::path::Path],
) -> Result<ingest::Ingested> {
    let opts = input.to_options()?;
    let agg = series.to_options()?;
    refuse_inputs_as_outputs(&input.inputs, outputs)?;
    let loaded = ingest::load(&opts)?;
    let ingested = loaded.aggregate(&agg)?;
    refuse_inputs_as_outputs(ingested.files.iter().map(|f| &f.path), outputs)?;
    if ingested.series.is_empty() {
        return Err(UsageError(
            "no usage series: every row was excluded (see `capplan inspect` for the reasons)"
                .to_owned(),
        )
        .into());
    }
    Ok(ingested)
}

/// Seconds per step of `s` (hourly, daily or weekly: the granularities the forecaster takes).
pub(crate) fn step_seconds(s: &UsageSeries) -> Result<i64> {
    Ok(forecast::check_granularity(s.granularity)
        .map_err(|e| UsageError(e.to_string()))?
        .nominal_seconds())
}

#[derive(serde::Serialize)]
struct ReconciliationFile<'a> {
    files: &'a [ingest::FileSummary],
    reconciliation: &'a Reconciliation,
    findings: &'a [ingest::Finding],
    series: usize,
}

impl<'a> From<&'a Ingested> for ReconciliationFile<'a> {
    fn from(i: &'a Ingested) -> Self {
        ReconciliationFile {
            files: &i.files,
            reconciliation: &i.reconciliation,
            findings: &i.findings,
            series: i.series.len(),
        }
    }
}

fn print_ingested(
    out: &mut impl Write,
    i: &Ingested,
    path: &std::path::Path,
    recon: &std::path::Path,
) -> std::io::Result<()> {
    let points: usize = i.series.iter().map(|s| s.values.len()).sum();
    writeln!(
        out,
        "Wrote {} series ({} points) to {}",
        i.series.len(),
        points,
        path.display()
    )?;
    writeln!(out, "Wrote the reconciliation to {}", recon.display())?;
    print_reconciliation(out, &i.reconciliation)?;
    print_findings(out, &i.findings)
}
