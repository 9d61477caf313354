//! The report stage: a plan file's run ([`crate::run::execute`]) rendered into what finance
//! teams and architects open — the scenario matrix, the quarterly finance plan,
//! recommendations, per-series forecasts, charts — as one self-contained HTML file plus CSV,
//! JSON and XLSX exports. It renders only: it never reads a bill or computes a figure.
//!
//! * [`data`]: [`ReportData`] and its named rows (what the run produces).
//! * [`charts`]: plain inputs → deterministic SVG (plotters, no fonts loaded).
//! * `html`: [`ReportData`] → one HTML file (inline CSS and SVG, no script, no URL; every
//!   input-derived string escaped).
//! * `tables`: the tables as CSV and JSON; `xlsx`: the finance workbook.
//! * [`write_report`]: every file of a run written atomically into a directory, plus the
//!   directory's `index.html`.

pub mod charts;
pub mod data;
mod html;
mod install;
mod tables;
mod xlsx;

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

pub use data::{
    AnomalyRow, DataQuality, Evidence, EvidenceRow, EvidenceRule, GroupQuarterRow, InputFile,
    MatrixCell, MonthPoint, PoolUsage, PoolView, QuarterRow, Recommendation, ReportData,
    SeriesForecast, SpendOptionRow, SpendPoolView, SpendPortfolioRow, fmt_units,
};
pub use html::{escape, render_html, render_index, summary_sentence};
pub use tables::Table;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An amount overflowed.
    #[error(transparent)]
    Money(#[from] crate::money::MoneyError),
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(#[from] charts::ChartError),
    /// Another run is writing a report into the same directory.
    #[error(
        "another capplan run is writing a report into {dir} ({holder}); wait for it to finish \
         or choose another output directory"
    )]
    Busy {
        /// The directory.
        dir: String,
        /// What the lock file says of its holder (`pid N`).
        holder: String,
    },
    /// A file could not be written.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
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

/// The names of the files a report of `data` writes into its directory (`index.html` last).
pub fn report_files(data: &ReportData) -> Vec<String> {
    let stem = report_stem(data);
    let mut out = Vec::new();
    for table in tables::tables(data) {
        for ext in ["csv", "json"] {
            out.push(format!("{stem}.{}.{ext}", table.name));
        }
    }
    out.push(format!("{stem}.xlsx"));
    out.push(format!("{stem}.html"));
    out.push("index.html".to_owned());
    out
}

/// Writes the report of `data` into `dir` (created if missing): `<name>-<quarter>.html`, the
/// tables as `<name>-<quarter>.<table>.csv` / `.json`, the workbook `<name>-<quarter>.xlsx`,
/// and `index.html` listing every report in `dir` ([`report_files`]). Every file is rendered
/// first; then, under a lock on `dir`, they are written into a staging directory and swapped
/// in as a whole (see the `install` module), so a killed or failed run leaves either the old
/// files or the new ones, never a mix, and left-overs of killed runs are removed. Returns the
/// paths written, in order.
///
/// # Errors
///
/// [`ReportError::Busy`] when another run writes into `dir`; [`ReportError::Write`] when a
/// file cannot be written; chart errors.
pub fn write_report(data: &ReportData, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let stem = report_stem(data);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for table in tables::tables(data) {
        for (ext, bytes) in [("csv", table.to_csv()), ("json", table.to_json())] {
            files.push((format!("{stem}.{}.{ext}", table.name), bytes));
        }
    }
    files.push((format!("{stem}.xlsx"), xlsx::workbook(data)?));
    files.push((format!("{stem}.html"), render_html(data)?.into_bytes()));
    install::Destination::lock(dir)?.install(&files, render_index)
}
