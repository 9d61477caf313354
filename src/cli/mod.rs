//! The binary's command line (the library never sees clap): `args` holds every clap
//! definition and the conversions into the library's option structs, `output` what the
//! commands share on the output side (file names, printers, the progress bar), and one module
//! per command group runs the library and prints. This module dispatches and chooses the exit
//! code. Imports go one way: `mod.rs` → commands → `args`/`output` (→ `args`).

mod args;
mod backtest;
mod forecast;
mod ingest;
mod inspect;
mod output;
mod plan;
mod report;
mod synth;

use anyhow::Result;

pub(crate) use args::Cli;
use args::{Command, UsageError};
use capplan::ingest::IngestError;

/// Runs a parsed command.
pub(crate) fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect(args) => inspect::inspect_cmd(args),
        Command::Ingest(args) => ingest::ingest_cmd(args),
        Command::Commitments(args) => inspect::commitments_cmd(args),
        Command::Forecast(args) => forecast::forecast_cmd(args),
        Command::Backtest(args) => backtest::backtest_cmd(args),
        Command::Plan(args) => plan::plan_cmd(args),
        Command::BacktestPlan(args) => plan::backtest_plan_cmd(args),
        Command::Report(args) => report::report_cmd(args),
        Command::Demo(args) => report::demo_cmd(args),
        Command::Synth(args) => synth::synth_cmd(args),
    }
}

/// Exit code for an error: 2 when the input or the flags are at fault, 1 otherwise.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<IngestError>() {
            return if e.is_bad_input() { 2 } else { 1 };
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if cause.downcast_ref::<report::OverBudget>().is_some() {
            return 3;
        }
    }
    1
}

/// Whether the error is a closed stdout (e.g. `capplan inspect ... | head`), which is success.
/// JSON written straight to stdout fails with a `serde_json::Error` wrapping the I/O error.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}
