//! Ingestion: billing exports and usage tables → validated, reconciled, regular usage series.
//!
//! ```text
//! inputs ─► source::resolve (files, kinds, headers, format) ─► formats::mapping (per file)
//!        ─► canonical: one lazy scan per file → canonical frame with its checks
//!        ─► pipeline: reason per row, one grouped query (+ duplicates: the duplicate check,
//!           sharing the scan) ─► reconcile (currency, reconciliation) ─► Rust types below
//! ```
//!
//! The queries: [`Loaded::aggregate`] (series, in `pipeline`), [`Loaded::inspect`] (`inspect`)
//! and [`Loaded::commitments`] (`commitments`).
//!
//! Polars types never leave this module: `source` and `formats` are crate-private, and callers
//! get [`UsageSeries`], [`Reconciliation`], [`Inspection`] and [`Finding`]s.

mod canonical;
mod commitments;
mod duplicates;
pub mod error;
pub(crate) mod formats;
mod inspect;
mod pipeline;
mod reconcile;
mod separator;
pub(crate) mod source;
mod spans;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

pub use error::IngestError;
pub use formats::{Format, TidyColumns};
pub use pipeline::Loaded;
pub use source::FileKind;

use crate::money::Currency;
use crate::series::{Granularity, SeriesKey, UsageSeries};

/// What to read and how strictly.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// Files, directories (searched recursively, hive `key=value` folders become dimensions)
    /// or globs.
    pub inputs: Vec<String>,
    /// Force a format instead of detecting it from the header.
    pub format: Option<Format>,
    /// Keep only this currency; rows in others are excluded and counted.
    pub currency: Option<Currency>,
    /// Turn unparseable values into counted exclusions instead of errors.
    pub lenient: bool,
    /// Accept rows that are identical in every column (reported, not fatal).
    pub allow_duplicates: bool,
    /// Column names for the tidy format.
    pub tidy: TidyColumns,
}

/// Polars duration string used to truncate timestamps to a granularity's buckets.
pub(crate) fn every(g: Granularity) -> &'static str {
    match g {
        Granularity::Hour => "1h",
        Granularity::Day => "1d",
        Granularity::Week => "1w",
        Granularity::Month => "1mo",
    }
}

/// Which quantity the series aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Consumed quantity (instance-hours, GB-months, requests, ...).
    #[default]
    Quantity,
    /// Billed cost.
    BilledCost,
    /// Effective (amortised) cost.
    EffectiveCost,
    /// List (on-demand) cost.
    ListCost,
}

/// `KEY=VALUE`: keep rows whose dimension KEY equals VALUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The dimension (as for `--by`).
    pub key: String,
    /// The value rows must have.
    pub value: String,
}

impl std::str::FromStr for Filter {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(Filter {
                key: k.trim().to_string(),
                value: v.to_string(),
            }),
            _ => Err(IngestError::BadFilter {
                text: s.to_string(),
            }),
        }
    }
}

/// How to aggregate rows into series.
#[derive(Debug, Clone)]
pub struct AggregateOptions {
    /// Dimensions (short names, canonical names, passthrough columns or `tag:<key>`).
    pub by: Vec<String>,
    /// `None`: the granularity of the data (the coarsest of the input files').
    pub granularity: Option<Granularity>,
    /// Keep only rows matching every filter (the others are counted as `filtered`).
    pub filters: Vec<Filter>,
    /// The quantity the series sum.
    pub measure: Measure,
}

impl Default for AggregateOptions {
    fn default() -> Self {
        AggregateOptions {
            by: vec!["service".into()],
            granularity: None,
            filters: Vec::new(),
            measure: Measure::Quantity,
        }
    }
}

/// Why a row did or did not feed the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Fed the series.
    Used,
    /// A value could not be parsed (only with `--lenient`; otherwise an error).
    Unparseable,
    /// Billed in another currency than the chosen one.
    OtherCurrency,
    /// A tax row.
    Tax,
    /// A credit row.
    Credit,
    /// A purchase (e.g. an upfront commitment payment).
    Purchase,
    /// An adjustment row.
    Adjustment,
    /// The unused part of a commitment (quantity measure only).
    UnusedCommitment,
    /// A row that restates usage another row already counts (AWS `EBSOptimized:<type>` hours
    /// repeat the instance's `BoxUsage` hours; quantity measure only).
    RestatedUsage,
    /// A row without a billing currency in an input whose other rows have one: its amounts
    /// cannot be attributed to the chosen currency.
    NoCurrency,
    /// Left out by a `--filter`.
    Filtered,
    /// Usage without a quantity.
    NoQuantity,
}

impl Reason {
    /// Every reason, in the order rows are classified (first match wins after `Used`).
    pub const ALL: [Reason; 12] = [
        Reason::Used,
        Reason::Unparseable,
        Reason::OtherCurrency,
        Reason::NoCurrency,
        Reason::Tax,
        Reason::Credit,
        Reason::Purchase,
        Reason::Adjustment,
        Reason::UnusedCommitment,
        Reason::RestatedUsage,
        Reason::Filtered,
        Reason::NoQuantity,
    ];

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Used => "used",
            Reason::Unparseable => "unparseable",
            Reason::OtherCurrency => "other_currency",
            Reason::Tax => "tax",
            Reason::Credit => "credit",
            Reason::Purchase => "purchase",
            Reason::Adjustment => "adjustment",
            Reason::UnusedCommitment => "unused_commitment",
            Reason::RestatedUsage => "restated_usage",
            Reason::NoCurrency => "no_currency",
            Reason::Filtered => "filtered",
            Reason::NoQuantity => "no_quantity",
        }
    }
}

/// Row count and cost totals of one group of rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Rows.
    pub rows: u64,
    /// Sum of the billed cost, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub billed_cost: Decimal,
    /// Sum of the effective (amortised) cost, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub effective_cost: Decimal,
    /// Sum of the list (on-demand) cost, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub list_cost: Decimal,
}

impl Totals {
    /// Adds `o`; on overflow names the cost column that overflowed (nothing is changed).
    pub(crate) fn add(&mut self, o: &Totals) -> Result<(), &'static str> {
        let billed = self
            .billed_cost
            .checked_add(o.billed_cost)
            .ok_or("billed_cost")?;
        let effective = self
            .effective_cost
            .checked_add(o.effective_cost)
            .ok_or("effective_cost")?;
        let list = self.list_cost.checked_add(o.list_cost).ok_or("list_cost")?;
        self.rows += o.rows;
        (self.billed_cost, self.effective_cost, self.list_cost) = (billed, effective, list);
        Ok(())
    }
}

/// Totals of all rows in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    /// Billing currency as written in the source (`(none)` when absent).
    pub currency: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Totals of one reason in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonTotals {
    /// The reason.
    pub reason: Reason,
    /// Billing currency as written in the source (`(none)` when absent).
    pub currency: String,
    /// Totals of the rows with this reason and currency.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Every input row accounted for: used or excluded with a reason, per currency, with the
/// check that the groups add up to the source totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// All rows read, per currency.
    pub source: Vec<CurrencyTotals>,
    /// Rows per reason and currency, sorted.
    pub by_reason: Vec<ReasonTotals>,
    /// True when used + excluded equals the source exactly, for rows and every cost column,
    /// and no amount is unknown.
    pub balanced: bool,
    /// Cost values that could not be read (only with `--lenient`): the source totals above
    /// leave them out, so they are unknown by these amounts. Empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<UnknownAmounts>,
}

/// Cost values of one column that could not be parsed (`--lenient`), with where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownAmounts {
    /// The canonical cost column (`billed_cost`, `effective_cost`, `list_cost`).
    pub column: String,
    /// The source column it is read from, as the file names it.
    pub source_column: String,
    /// How many rows have an unreadable value in it.
    pub rows: u64,
    /// The first such rows: file and 1-based data row (at most [`UnknownAmounts::SHOWN`]).
    pub first: Vec<(String, u64)>,
}

impl UnknownAmounts {
    /// How many rows [`UnknownAmounts::first`] lists at most.
    pub const SHOWN: usize = 5;
}

impl Reconciliation {
    /// Totals of all rows with `reason`, all currencies together (rows only meaningful).
    pub fn rows(&self, reason: Reason) -> u64 {
        self.by_reason
            .iter()
            .filter(|r| r.reason == reason)
            .map(|r| r.totals.rows)
            .sum()
    }

    /// All rows read.
    pub fn total_rows(&self) -> u64 {
        self.source.iter().map(|c| c.totals.rows).sum()
    }
}

/// How serious a data-quality finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; capplan handled it.
    Info,
    /// Worth checking: the data may be wrong or incomplete.
    Warning,
}

/// A data-quality observation: what was found, how often, and what capplan did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable snake_case code (e.g. `gaps_filled`).
    pub code: String,
    /// How serious it is.
    pub severity: Severity,
    /// How many rows or buckets (0 when it is not a count).
    pub count: u64,
    /// What was found and what capplan did.
    pub message: String,
}

/// One input file as read.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// The file's path as resolved.
    pub path: String,
    /// How it is stored.
    pub kind: FileKind,
    /// Its billing format.
    pub format: Format,
    /// FOCUS version for FOCUS files.
    pub version: Option<String>,
    /// Rows read.
    pub rows: u64,
}

/// The result of `ingest`: series plus the accounting of every row.
#[derive(Debug, Clone, Serialize)]
pub struct Ingested {
    /// The series, sorted by key.
    pub series: Vec<UsageSeries>,
    /// Every row accounted for.
    pub reconciliation: Reconciliation,
    /// Data-quality findings.
    pub findings: Vec<Finding>,
    /// The files read.
    pub files: Vec<FileSummary>,
}

/// A count and cost of rows sharing one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueCount {
    /// The value.
    pub value: String,
    /// Rows with it.
    pub rows: u64,
    /// Their billed cost, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub billed_cost: Decimal,
}

/// The result of `inspect`.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The files read.
    pub files: Vec<FileSummary>,
    /// Rows read.
    pub rows: u64,
    /// Earliest charge period start.
    pub start: Option<DateTime<Utc>>,
    /// Latest charge period end (exclusive).
    pub end: Option<DateTime<Utc>>,
    /// Granularity of the charge periods of usage rows (most common period).
    pub granularity: Option<Granularity>,
    /// Rows and billed cost per provider.
    pub providers: Vec<ValueCount>,
    /// Rows and billed cost per service.
    pub services: Vec<ValueCount>,
    /// Rows and billed cost per billing account.
    pub accounts: Vec<ValueCount>,
    /// Rows and billed cost per billing currency.
    pub currencies: Vec<ValueCount>,
    /// Buckets of `granularity` between start and end that have no usage row at all.
    pub gaps: u64,
    /// Every row accounted for.
    pub reconciliation: Reconciliation,
    /// Data-quality findings.
    pub findings: Vec<Finding>,
}

/// One commitment discount as the bill shows it: FOCUS rows grouped by
/// `CommitmentDiscountId`, every amount an exact sum of the source values.
///
/// Amortised (effective) cost of `Usage` rows is split by `CommitmentDiscountStatus`:
/// `Used` rows carry the part of the commitment consumed by resources, `Unused` rows the part
/// that was wasted. Purchases (`ChargeCategory` = `Purchase`) carry the billed payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitmentUsage {
    /// `CommitmentDiscountId`.
    pub commitment_id: String,
    /// `CommitmentDiscountType` (provider-specific, e.g. "Savings Plan"), if any row has one.
    pub commitment_type: Option<String>,
    /// `CommitmentDiscountCategory`: `Spend` or `Usage`, if any row has one.
    pub category: Option<String>,
    /// `CommitmentDiscountUnit` values seen on this commitment's rows, sorted.
    pub units: Vec<String>,
    /// Usage rows with status `Used`, and their effective cost.
    pub used_rows: u64,
    /// Effective cost of the `Used` rows.
    #[serde(with = "rust_decimal::serde::str")]
    pub used_cost: Decimal,
    /// Usage rows with status `Unused`, and their effective cost.
    pub unused_rows: u64,
    /// Effective cost of the `Unused` rows.
    #[serde(with = "rust_decimal::serde::str")]
    pub unused_cost: Decimal,
    /// Purchase rows and their billed cost (what was paid, not amortised).
    pub purchase_rows: u64,
    /// Billed cost of the purchase rows.
    #[serde(with = "rust_decimal::serde::str")]
    pub purchase_billed_cost: Decimal,
    /// Rows naming the commitment that are neither of the above (tax, credit, adjustment,
    /// usage without a status), and their effective cost.
    pub other_rows: u64,
    /// Effective cost of the other rows.
    #[serde(with = "rust_decimal::serde::str")]
    pub other_effective_cost: Decimal,
    /// Sums of `CommitmentDiscountQuantity` on used, unused and purchase rows (`None` when no
    /// such row carries a quantity).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub used_quantity: Option<Decimal>,
    /// Sum of `CommitmentDiscountQuantity` on unused rows.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub unused_quantity: Option<Decimal>,
    /// Sum of `CommitmentDiscountQuantity` on purchase rows.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub purchased_quantity: Option<Decimal>,
}

impl CommitmentUsage {
    /// Amortised cost of the commitment over the rows read: used + unused effective cost.
    pub fn amortised_cost(&self) -> Decimal {
        self.used_cost + self.unused_cost
    }

    /// Utilisation by cost, used ÷ (used + unused), in 0..=1; `None` without used or unused
    /// rows or when both sum to zero. Exact for terminating quotients, otherwise rounded to
    /// rust_decimal's 28 significant digits.
    pub fn utilisation(&self) -> Option<Decimal> {
        self.used_cost.checked_div(self.amortised_cost())
    }

    /// Utilisation by `CommitmentDiscountQuantity`, used ÷ (used + unused); `None` when the
    /// rows carry no quantity, when the quantities are in more than one unit, or when the sum
    /// is zero.
    pub fn utilisation_by_quantity(&self) -> Option<Decimal> {
        if self.units.len() > 1 || (self.used_quantity.is_none() && self.unused_quantity.is_none())
        {
            return None;
        }
        let used = self.used_quantity.unwrap_or_default();
        used.checked_div(used + self.unused_quantity.unwrap_or_default())
    }
}

/// Per-commitment figures of a FOCUS bill ([`Loaded::commitments`]).
#[derive(Debug, Clone, Serialize)]
pub struct Commitments {
    /// The billing currency all amounts are in (rows in other currencies are left out and
    /// counted in the reconciliation).
    pub currency: Currency,
    /// Sorted by commitment id.
    pub commitments: Vec<CommitmentUsage>,
    /// Every row accounted for.
    pub reconciliation: Reconciliation,
    /// Data-quality findings.
    pub findings: Vec<Finding>,
}

/// Reads the inputs, validates them and prepares the canonical frame.
pub fn load(opts: &InputOptions) -> Result<Loaded, IngestError> {
    Loaded::new(opts)
}
