//! Errors of the ingestion stage. Every variant that concerns a file names it; every variant
//! about a value names the row and the column; messages end with what to do about it.

use std::path::PathBuf;

/// Why ingestion failed. `is_bad_input` tells the CLI whether this is the user's input
/// (exit code 2) or a runtime failure (exit code 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },

    #[error("no input files: {pattern} matched no .csv, .csv.gz or .parquet file")]
    NoInputFiles { pattern: String },

    #[error("{}: the file is empty (0 bytes); export it again", path.display())]
    EmptyFile { path: PathBuf },

    #[error("{}: the file has a header but no data rows", path.display())]
    NoDataRows { path: PathBuf },

    #[error("{}: the file is not valid UTF-8 (first bad byte on line {line}); re-export it as UTF-8 or convert it, e.g. `iconv -f latin1 -t utf-8`", path.display())]
    NotUtf8 { path: PathBuf, line: usize },

    #[error("{}: could not detect the format from the header (columns: {found}); known formats are FOCUS, AWS CUR (legacy and 2.0), Azure cost details, OCI cost reports; for a plain usage table pass `--input-format tidy` with `--time-col` and `--quantity-col`", path.display())]
    UnknownFormat { path: PathBuf, found: String },

    #[error(transparent)]
    MissingColumn(Box<MissingColumn>),

    #[error(transparent)]
    BadValue(Box<BadValue>),

    #[error("{}: could not read the file as CSV: {message}", path.display())]
    Csv { path: PathBuf, message: String },

    #[error("{}: could not read the file as Parquet: {message}", path.display())]
    Parquet { path: PathBuf, message: String },

    #[error("{}: could not decompress the gzip file: {message}", path.display())]
    Gzip { path: PathBuf, message: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "mixed currencies in the input ({currencies}); choose one with `--currency CODE` (rows in other currencies are then excluded and counted)"
    )]
    MixedCurrencies { currencies: String },

    #[error("no usable rows: {summary}")]
    NoUsableRows { summary: String },

    #[error(
        "{count} duplicate row(s) (identical in every column to an earlier row; first: {first}); if the export really repeats rows pass `--allow-duplicates`, otherwise check that no file or month was loaded twice"
    )]
    Duplicates { count: u64, first: String },

    #[error("unknown dimension `{name}` for --by/--filter; {hint}")]
    UnknownDimension { name: String, hint: String },

    #[error(
        "invalid --filter {text:?}: expected KEY=VALUE, e.g. --filter \"service=Amazon Elastic Compute Cloud\""
    )]
    BadFilter { text: String },

    #[error("--granularity {requested} is finer than the data: {} has {found} charge periods; use --granularity {found} or coarser", path.display())]
    GranularityTooFine {
        path: PathBuf,
        requested: String,
        found: String,
    },

    #[error("{option}: {message}")]
    BadOption { option: String, message: String },

    #[error("internal error in the query engine: {0}")]
    Engine(String),

    #[error("reconciliation failed: {0}")]
    Reconciliation(String),
}

/// A required column is absent (boxed in [`IngestError`] to keep results small).
#[derive(Debug, thiserror::Error)]
#[error("{}: missing required column `{column}` for format {format}; found columns: {found}{hint}", path.display())]
pub struct MissingColumn {
    pub path: PathBuf,
    pub column: String,
    pub format: String,
    pub found: String,
    pub hint: String,
}

/// A value that cannot be used, with where it is and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{}: row {row}, column `{column}`: expected {expected}, found {value:?}{hint}", path.display())]
pub struct BadValue {
    pub path: PathBuf,
    /// 1-based data row (the header is not counted).
    pub row: u64,
    pub column: String,
    pub expected: String,
    pub value: String,
    pub hint: String,
}

impl IngestError {
    /// True when the user's input or flags are at fault (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            IngestError::Engine(_) | IngestError::Reconciliation(_)
        )
    }
}

impl From<polars::prelude::PolarsError> for IngestError {
    fn from(e: polars::prelude::PolarsError) -> Self {
        IngestError::Engine(e.to_string())
    }
}

/// The "did you mean" policy of every input reader (see [`crate::diagnostic::did_you_mean`]).
pub(crate) use crate::diagnostic::did_you_mean;
