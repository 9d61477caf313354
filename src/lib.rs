//! capplan: cloud capacity forecasting and commitment planning from billing exports.
//!
//! The data flows one way — `ingest` → `forecast` → `plan` → `report` — and each stage is a
//! module with a plain Rust interface; `run` drives them all for a plan file and produces the
//! report's data. See `ARCHITECTURE.md` for the map and the invariants.

#![warn(missing_docs, unreachable_pub)]

pub mod diagnostic;
pub mod export;
pub mod forecast;
pub mod ingest;
pub mod money;
pub mod plan;
pub mod pricing;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod series;
pub mod span;
pub mod synth;
