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
mod tables;
mod xlsx;

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

pub use data::{
    AnomalyRow, DataQuality, GroupQuarterRow, InputFile, MatrixCell, MonthPoint, PoolUsage,
    PoolView, QuarterRow, Recommendation, ReportData, SeriesForecast, fmt_units,
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
