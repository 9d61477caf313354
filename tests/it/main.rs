//! capplan's integration tests, built as ONE test binary (as ripgrep does): polars and the rest
//! of the dependency tree are linked once for all of them instead of once per test file.
//!
//! Each module is what used to be its own `tests/<name>.rs` binary; a test's full name gains the
//! module as a prefix (`cargo test --test it cli::` runs the CLI tests, `cargo test --test it
//! demo_report` the byte-identical demo report). Add new integration tests as a module here, not
//! as a new `tests/*.rs` file (which Cargo would build and link as a separate binary).
//!
//! Data stays where it was and is found through `CARGO_MANIFEST_DIR`: `tests/fixtures/`,
//! `tests/golden/`, `tests/bad_input/`. Proptest keeps its regression seeds in
//! `tests/proptest-regressions/<module>.txt` (its default `SourceParallel` persistence next to
//! the folder holding this `main.rs`).

mod backtest_plan_cli;
mod bad_input;
mod browser;
mod cli;
mod cli_forecast;
mod common;
mod demo;
mod demo_report;
mod evaluate_agree;
mod external_data;
mod flex_verify;
mod focus_spec_commitments;
mod forecast;
mod ingest_props;
mod ingest_rows;
mod inputs;
mod ladder;
mod many_files;
mod plan_cli;
mod plan_verify;
mod pricing_demo;
mod report;
mod safety;
mod separators;
mod shared_data;
mod shared_series;
mod time;
