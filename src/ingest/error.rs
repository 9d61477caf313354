//! Errors of the ingestion stage. Every variant that concerns a file names it; every variant
//! about a value names the row and the column; messages end with what to do about it.

use std::path::PathBuf;

/// Why ingestion failed. `is_bad_input` tells the CLI whether this is the user's input
/// (exit code 2) or a runtime failure (exit code 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The `--input` argument is neither a file, a directory nor a glob that matched.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The argument as the user gave it.
        path: String,
    },

    /// The path exists but is not a regular file or a directory (a FIFO, a device, a socket).
    #[error("{}: not a regular file but {what}; capplan reads each input more than once (header, sample, data), so it needs a regular file: save the data to a file first and pass that", path.display())]
    NotRegularFile {
        /// The path as given or found.
        path: PathBuf,
        /// What it is instead, e.g. `a named pipe (FIFO)`.
        what: &'static str,
    },

    /// A file in a format capplan does not read (JSON, an Excel workbook).
    #[error("{}: {what} is not a supported input format; capplan reads CSV (.csv, .csv.gz, .csv.zip) and Parquet: {fix}", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// What the file is, e.g. `JSON`.
        what: &'static str,
        /// What to do instead.
        fix: String,
    },

    /// A zip archive that is unreadable or does not hold exactly one CSV.
    #[error("{}: {message}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What is wrong and what to do, including the `unzip` command.
        message: String,
    },

    /// Text in an encoding other than UTF-8 that a CSV reader would misread (UTF-16, UTF-32).
    #[error("{}: the file is {encoding} text, not UTF-8; convert it and read the converted file instead: `{command}`", path.display())]
    WrongEncoding {
        /// The file.
        path: PathBuf,
        /// The encoding recognised, with how (byte-order mark or zero bytes).
        encoding: String,
        /// The exact shell command that converts it.
        command: String,
    },

    /// Lines ended by a lone carriage return (classic Mac OS), which the CSV reader reads as
    /// one line.
    #[error("{}: the lines end in a carriage return alone (CR, classic Mac OS line endings), which capplan does not read; convert them to LF and read the converted file instead: `{command}`", path.display())]
    CrLineEndings {
        /// The file.
        path: PathBuf,
        /// The exact shell command that converts it.
        command: String,
    },

    /// Every input file has a header but no data rows.
    #[error(
        "all {count} input files have a header but no data rows ({names}); there is nothing to read: check that the exports cover the months you meant"
    )]
    NoDataInAnyFile {
        /// How many files.
        count: usize,
        /// Their names, listed for the message.
        names: String,
    },

    #[error("no input files: {pattern} matched no .csv, .csv.gz, .csv.zip or .parquet file")]
    /// A glob or a directory held no readable data file.
    NoInputFiles {
        /// The glob, or `directory <path>` for a directory that was walked.
        pattern: String,
    },

    #[error("{}: the file is empty (0 bytes); export it again", path.display())]
    /// An input file has zero bytes.
    EmptyFile {
        /// The empty file.
        path: PathBuf,
    },

    #[error("{}: the file has a header but no data rows", path.display())]
    /// An input file has a header but not a single data row.
    NoDataRows {
        /// The file without rows.
        path: PathBuf,
    },

    #[error("{}: the file is not valid UTF-8 (first bad byte on line {line}); re-export it as UTF-8 or convert it, e.g. `iconv -f latin1 -t utf-8`", path.display())]
    /// A CSV file contains bytes that are not UTF-8.
    NotUtf8 {
        /// The file with the bad byte.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
    },

    #[error("{}: could not detect the format from the header (columns: {found}){layout}; known formats are FOCUS, AWS CUR (legacy and 2.0), Azure cost details, OCI cost reports; for a plain usage table pass `--input-format tidy` with `--time-col` and `--quantity-col`", path.display())]
    /// The header matches none of the known billing-export formats.
    UnknownFormat {
        /// The file whose header was read.
        path: PathBuf,
        /// The header's column names, listed for the message.
        found: String,
        /// How the header was split into columns, when that is worth saying (a separator
        /// other than comma, or one the header seems to use), else empty.
        layout: String,
    },

    /// A column the detected format requires is absent.
    #[error(transparent)]
    MissingColumn(Box<MissingColumn>),

    /// A cell could not be parsed as its column's type.
    #[error(transparent)]
    BadValue(Box<BadValue>),

    #[error("{}: could not read the file as CSV: {message}", path.display())]
    /// The CSV reader rejected the file.
    Csv {
        /// The file being read.
        path: PathBuf,
        /// The reader's own explanation.
        message: String,
    },

    #[error("{}: could not read the file as Parquet: {message}", path.display())]
    /// The Parquet reader rejected the file.
    Parquet {
        /// The file being read.
        path: PathBuf,
        /// The reader's own explanation.
        message: String,
    },

    #[error("{}: could not decompress the gzip file: {message}", path.display())]
    /// A `.csv.gz` file is not a valid gzip stream.
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// The decompressor's own explanation.
        message: String,
    },

    /// Opening or reading a file or directory failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being accessed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    #[error(
        "mixed currencies in the input ({currencies}); choose one with `--currency CODE` (rows in other currencies are then excluded and counted)"
    )]
    /// The rows are billed in more than one currency and no `--currency` was chosen.
    MixedCurrencies {
        /// The currency codes found, comma-separated.
        currencies: String,
    },

    #[error(
        "{}: no quantity column recognised for format {format} (looked for {looked_for}); found columns: {found}; rename the usage-quantity column to one of those names",
        path.display()
    )]
    /// The quantity measure was asked for, but no input file has a column the format reads
    /// quantities from (e.g. a localised Azure header), so every row lacks a quantity.
    NoQuantityColumn {
        /// The (first) file without a quantity column.
        path: PathBuf,
        /// Its format's name.
        format: String,
        /// The column names the format reads quantities from.
        looked_for: String,
        /// The columns the file does have, listed for the message.
        found: String,
    },

    #[error("no usable rows: {summary}")]
    /// Every row was excluded (by currency, filter or measure), so there is nothing to forecast.
    NoUsableRows {
        /// How many rows were read and why they were excluded, with what to check.
        summary: String,
    },

    #[error(
        "{count} duplicate row(s) (identical in every column to an earlier row; first: {first}); if the export really repeats rows pass `--allow-duplicates`, otherwise check that no file or month was loaded twice"
    )]
    /// Rows identical in every column to an earlier row, without `--allow-duplicates`.
    Duplicates {
        /// Number of repeated rows (the first occurrence is not counted).
        count: u64,
        /// One duplicated row, rendered for the message.
        first: String,
    },

    #[error("unknown dimension `{name}` for --by/--filter; {hint}")]
    /// A `--by` or `--filter` key is not a known dimension or passthrough column.
    UnknownDimension {
        /// The key as given.
        name: String,
        /// A did-you-mean suggestion (if any) and the list of known dimensions.
        hint: String,
    },

    #[error(
        "invalid --filter {text:?}: expected KEY=VALUE, e.g. --filter \"service=Amazon Elastic Compute Cloud\""
    )]
    /// A `--filter` argument is not of the form `KEY=VALUE`.
    BadFilter {
        /// The argument as given.
        text: String,
    },

    #[error("--granularity {requested} is finer than the data: {} has {found} charge periods; use --granularity {found} or coarser", path.display())]
    /// `--granularity` asks for shorter periods than a file's charge periods.
    GranularityTooFine {
        /// The first file whose periods are too coarse.
        path: PathBuf,
        /// The granularity asked for (e.g. `hourly`).
        requested: String,
        /// The granularity the file's sample rows have.
        found: String,
    },

    #[error("{option}: {message}")]
    /// An option's value is unusable (a bad glob, a currency that is not a three-letter code).
    BadOption {
        /// The option or setting at fault, without dashes (e.g. `input`, `currency`).
        option: String,
        /// What is wrong with it.
        message: String,
    },

    /// The query engine (polars) failed on input it should accept: a bug, exit code 1.
    #[error("internal error in the query engine: {0}")]
    Engine(String),

    /// A sum of money exceeds what an exact decimal can hold.
    #[error(
        "{place}: the sum of `{column}` exceeds the largest exact decimal (28 significant digits, about 7.9e28); check the values for a misplaced decimal point or a wrong unit"
    )]
    SumOverflow {
        /// The file (or `the inputs` for totals across files).
        place: String,
        /// The column as the file names it.
        column: String,
    },

    /// Series would need more points than capplan allocates for one run.
    #[error("{what}: {points} points would be needed (at most {limit} are allocated); {fix}")]
    TooManyPoints {
        /// Which series or span.
        what: String,
        /// Points needed.
        points: u64,
        /// The bound.
        limit: u64,
        /// What to do about it.
        fix: String,
    },

    /// Used and excluded rows do not add up to the source totals: a bug, exit code 1.
    #[error("reconciliation failed: {0}")]
    Reconciliation(String),
}

/// A required column is absent (boxed in [`IngestError`] to keep results small).
#[derive(Debug, thiserror::Error)]
#[error("{}: missing required column `{column}` for format {format}; found columns: {found}{hint}", path.display())]
pub struct MissingColumn {
    /// The file lacking the column.
    pub path: PathBuf,
    /// The required column's name in that format.
    pub column: String,
    /// The detected (or forced) format's name.
    pub format: String,
    /// The columns the file does have, listed for the message.
    pub found: String,
    /// `; did you mean ...?` when a column is close, otherwise empty.
    pub hint: String,
}

/// A value that cannot be used, with where it is and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{}: row {row}, column `{column}`: expected {expected}, found {value:?}{hint}", path.display())]
pub struct BadValue {
    /// The file holding the value.
    pub path: PathBuf,
    /// 1-based data row (the header is not counted).
    pub row: u64,
    /// The column's name as it appears in the file.
    pub column: String,
    /// What the column should hold (e.g. `a decimal number`).
    pub expected: String,
    /// The offending cell, cut to 80 characters.
    pub value: String,
    /// What to do about it, appended to the message and starting with `; `.
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
