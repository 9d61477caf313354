//! The report stage: a plan file's whole run turned into what finance teams and architects
//! open — the scenario matrix, the quarterly finance plan, recommendations, per-series
//! forecasts, charts — as one self-contained HTML file plus CSV, JSON and XLSX exports.
//!
//! * [`run`] (module `run`): plan file → [`ReportData`] (ingest → forecast → plan →
//!   evaluation of every demand scenario × strategy).
//! * [`charts`]: plain inputs → deterministic SVG (plotters, no fonts loaded).
//! * `html`: [`ReportData`] → one HTML file (inline CSS and SVG, no script, no URL; every
//!   input-derived string escaped).
//! * `tables`: the tables as CSV and JSON; `xlsx`: the finance workbook.
//! * [`write_report`]: every file of a run written atomically into a directory, plus the
//!   directory's `index.html`.

pub mod charts;
mod html;
mod run;
mod tables;
mod xlsx;

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

pub use html::{escape, render_html, render_index, summary_sentence};
pub use run::{
    AnomalyRow, DataQuality, GroupQuarterRow, InputFile, MatrixCell, MonthPoint, PoolUsage,
    PoolView, QuarterRow, Recommendation, ReportData, RunOptions, SeriesForecast, fmt_units, run,
};
pub use tables::Table;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The plan file is invalid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bill could not be read.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// The rate card or inventory is invalid.
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
    /// An events file is invalid.
    #[error(transparent)]
    EventFile(#[from] crate::forecast::events::EventError),
    /// Events could not be applied.
    #[error("{0}")]
    Events(String),
    /// A value of the plan file that only the run can check (an unknown offer, a date).
    #[error("{file}: line {line}: {message}")]
    Input {
        /// The file.
        file: String,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// The data does not support the run (no usage, `as_of` outside the data).
    #[error("{0}")]
    Data(String),
    /// A series could not be forecast.
    #[error("forecasting {series}: {message}")]
    Forecast {
        /// The series.
        series: String,
        /// Why.
        message: String,
    },
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// An amount overflowed.
    #[error(transparent)]
    Money(#[from] crate::money::MoneyError),
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(#[from] charts::ChartError),
    /// A file could not be written.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

impl ReportError {
    /// Bad input (the plan file, its inputs or the data) rather than a failure of capplan.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            ReportError::Write { .. } | ReportError::Chart(_) | ReportError::Money(_)
        )
    }
}

/// `1234567.891` → `1,234,567.89` (half-even to cents, as every amount).
pub(crate) fn fmt_amount(d: Decimal) -> String {
    let r = d.round_dp(2);
    let neg = r.is_sign_negative() && !r.is_zero();
    let s = format!("{:.2}", r.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac}", if neg { "−" } else { "" })
}

/// The files one report consists of, relative to the output directory.
pub fn report_stem(data: &ReportData) -> String {
    format!("{}-{}", data.name, data.quarter)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::export::write_atomic(path, |w| {
        w.write_all(bytes)
            .map_err(|source| crate::export::ExportError::Io {
                path: path.to_path_buf(),
                source,
            })
    })
    .map_err(|e| ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Writes the report of `data` into `dir` (created if missing): `<name>-<quarter>.html`, the
/// tables as `<name>-<quarter>.<table>.csv` / `.json`, the workbook `<name>-<quarter>.xlsx`,
/// and `index.html` listing every report in `dir`. Each file is written to a temporary file in
/// `dir` and renamed into place, so a killed run never leaves a half-written file. Returns the
/// paths written, in order.
///
/// # Errors
///
/// [`ReportError::Write`] when a file cannot be written; chart errors.
pub fn write_report(data: &ReportData, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::Write {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let stem = report_stem(data);
    let mut written = Vec::new();
    for table in tables::tables(data) {
        for (ext, bytes) in [("csv", table.to_csv()), ("json", table.to_json())] {
            let p = dir.join(format!("{stem}.{}.{ext}", table.name));
            write(&p, &bytes)?;
            written.push(p);
        }
    }
    let p = dir.join(format!("{stem}.xlsx"));
    write(&p, &xlsx::workbook(data)?)?;
    written.push(p);
    let p = dir.join(format!("{stem}.html"));
    write(&p, render_html(data)?.as_bytes())?;
    written.push(p);
    let p = dir.join("index.html");
    write(&p, render_index(dir)?.as_bytes())?;
    written.push(p);
    Ok(written)
}
