//! `capplan synth`: write the deterministic synthetic FOCUS export of the demo company.

use std::io::Write;

use anyhow::{Context, Result};

use capplan::{export, synth};

use super::args::{SynthArgs, UsageError};

/// Runs `capplan synth`.
pub(crate) fn synth_cmd(args: SynthArgs) -> Result<()> {
    let cfg = synth::SynthConfig {
        start: args.start,
        months: args.months,
        seed: args.seed,
        scale: args.scale,
    };
    cfg.validate()
        .map_err(|e| UsageError(format!("capplan synth: {e}")))?;
    let mut rows = 0;
    export::write_atomic(&args.out, |w| {
        rows =
            synth::write_parquet_streaming(&cfg, w).map_err(|e| export::ExportError::Encode {
                path: args.out.clone(),
                message: e.to_string(),
            })?;
        Ok(())
    })
    .with_context(|| "writing the synthetic export")?;
    let truth = synth::truth(&cfg);
    let mut out = super::output::stdout();
    writeln!(
        out,
        "Wrote {rows} FOCUS 1.2 rows of {} ({} .. {}) to {}",
        synth::COMPANY_NAME,
        truth.start,
        truth.as_of,
        args.out.display()
    )?;
    Ok(())
}
