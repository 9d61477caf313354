//! Billing formats and their mapping onto the canonical usage frame.
//!
//! Each format is a table: for every canonical column, which source column(s) feed it (the
//! first one present wins, matched case-insensitively) or which expression derives it: one
//! file per format (`focus`, `cur`, `azure`, `oci`, `tidy`); this module holds what they share
//! (the canonical columns, the header lookup, the respelling of enumerations). Value parsing
//! (timestamps, decimals, numbers) is generic and lives in `canonical`, so a bad value is always
//! reported with the *source* column's name.

mod azure;
mod cur;
mod focus;
mod oci;
mod tidy;

use std::collections::HashMap;

use polars::prelude::*;
use serde::Serialize;

use super::error::{IngestError, did_you_mean};
use super::source::{SourceFile, list_columns};
use azure::azure;
use cur::cur;
use focus::focus;
pub(crate) use focus::{FOCUS_1_2_COLUMNS, focus_version};
use oci::oci;
pub use tidy::TidyColumns;
use tidy::{TIDY_QUANTITY, TIDY_TIME, first_named, tidy_mapping};

/// A billing export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// FinOps FOCUS 1.0, 1.1 or 1.2.
    Focus,
    /// AWS Cost and Usage Report, legacy (`lineItem/...`) or CUR 2.0 (`line_item_...`).
    Cur,
    /// Azure EA / MCA cost details (actual or amortised).
    Azure,
    /// Oracle Cloud Infrastructure cost report.
    Oci,
    /// A tidy usage table: a timestamp, dimensions, a quantity, optional unit and cost.
    Tidy,
}

impl Format {
    /// Detects the format from a header. Tidy is never detected from names alone unless the
    /// header has an obvious timestamp and quantity column.
    pub fn detect(columns: &[String]) -> Option<Format> {
        let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
        if has("ChargePeriodStart") && (has("BilledCost") || has("EffectiveCost")) {
            Some(Format::Focus)
        } else if has("lineItem/UsageStartDate") || has("line_item_usage_start_date") {
            Some(Format::Cur)
        } else if has("lineItem/intervalUsageStart") {
            Some(Format::Oci)
        } else if (has("Date") || has("UsageDateTime"))
            && (has("MeterCategory") || has("CostInBillingCurrency") || has("PreTaxCost"))
        {
            Some(Format::Azure)
        } else if first_named(columns, TIDY_TIME).is_some()
            && first_named(columns, TIDY_QUANTITY).is_some()
        {
            Some(Format::Tidy)
        } else if has("ChargePeriodStart") || has("BilledCost") {
            // Looks like FOCUS but lacks a cost column: map it as FOCUS so the
            // missing-column error names what is missing.
            Some(Format::Focus)
        } else {
            None
        }
    }

    /// Human name used in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Focus => "FOCUS",
            Format::Cur => "AWS CUR",
            Format::Azure => "Azure cost details",
            Format::Oci => "OCI cost report",
            Format::Tidy => "tidy usage",
        }
    }
}

/// How a canonical column's values are parsed from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Timestamp,
    Money,
    Quantity,
    Text,
}

/// The canonical columns, in frame order. See ARCHITECTURE.md for their meaning.
pub(crate) const CANONICAL: &[(&str, Kind)] = &[
    ("charge_start", Kind::Timestamp),
    ("charge_end", Kind::Timestamp),
    ("provider", Kind::Text),
    ("billing_account", Kind::Text),
    ("sub_account", Kind::Text),
    ("service", Kind::Text),
    ("service_category", Kind::Text),
    ("region", Kind::Text),
    ("sku", Kind::Text),
    ("instance_type", Kind::Text),
    ("family", Kind::Text),
    ("resource_id", Kind::Text),
    ("pricing_category", Kind::Text),
    ("charge_category", Kind::Text),
    ("charge_class", Kind::Text),
    ("commitment_id", Kind::Text),
    ("commitment_type", Kind::Text),
    ("commitment_category", Kind::Text),
    ("commitment_status", Kind::Text),
    // Exact decimal (FOCUS CommitmentDiscountQuantity is a Decimal), parsed like money.
    ("commitment_quantity", Kind::Money),
    ("commitment_unit", Kind::Text),
    ("consumed_quantity", Kind::Quantity),
    ("consumed_unit", Kind::Text),
    ("list_cost", Kind::Money),
    ("billed_cost", Kind::Money),
    ("effective_cost", Kind::Money),
    ("currency", Kind::Text),
    ("tags", Kind::Text),
    // The usage type of a row that restates another row's usage (AWS `EBSOptimized:<type>`
    // hours repeat the instance's own `BoxUsage` hours); null for every other row.
    ("usage_restated", Kind::Text),
];

/// Short names a user types for `--by` / `--filter`, and the canonical column each means.
pub(crate) const DIMENSION_ALIASES: &[(&str, &str)] = &[
    ("provider", "provider"),
    ("account", "billing_account"),
    ("billing_account", "billing_account"),
    ("sub_account", "sub_account"),
    ("subaccount", "sub_account"),
    ("subscription", "sub_account"),
    ("service", "service"),
    ("service_category", "service_category"),
    ("category", "service_category"),
    ("region", "region"),
    ("sku", "sku"),
    ("instance_type", "instance_type"),
    ("family", "family"),
    ("resource", "resource_id"),
    ("resource_id", "resource_id"),
    ("pricing_category", "pricing_category"),
    ("charge_category", "charge_category"),
    ("commitment_id", "commitment_id"),
    ("commitment_type", "commitment_type"),
    ("commitment_status", "commitment_status"),
    ("unit", "consumed_unit"),
    ("currency", "currency"),
];

/// Where a canonical column comes from in one file.
#[derive(Clone)]
pub(crate) enum Source {
    /// A source column (actual name in the file).
    Column(String),
    /// A derived expression over source columns, already of the canonical type (Text only).
    Derived(Expr),
    /// Not available in this format/file.
    Missing,
}

/// The mapping of one file onto the canonical frame.
pub(crate) struct Mapping {
    pub(crate) sources: Vec<(&'static str, Source)>,
    /// Source columns kept as extra dimensions (FOCUS `x_` columns, tag columns, hive keys),
    /// as (output name, expression).
    pub(crate) passthrough: Vec<(String, Expr)>,
    /// Non-fatal observations about the header (reported as data-quality findings).
    pub(crate) notes: Vec<String>,
    /// Charge period length to assume when the file has no end column.
    pub(crate) default_period: Option<chrono::Duration>,
    /// Per enumeration: true for rows whose value was respelled (case, FOCUS 1.0 names),
    /// keyed by the canonical column it feeds (None: a column no canonical one reads, such
    /// as FOCUS `ChargeFrequency`, only checked by `inspect`).
    pub(crate) respelled: Vec<(Option<&'static str>, Expr)>,
}

/// Column lookup by case-insensitive name.
pub(super) struct Header<'a> {
    pub(super) file: &'a SourceFile,
    by_lower: HashMap<String, String>,
}

impl<'a> Header<'a> {
    pub(super) fn new(file: &'a SourceFile) -> Self {
        let by_lower = file
            .columns()
            .into_iter()
            .map(|c| (c.to_ascii_lowercase(), c))
            .collect();
        Header { file, by_lower }
    }

    pub(super) fn find(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.by_lower.get(&n.to_ascii_lowercase()).cloned())
    }

    pub(super) fn col(&self, names: &[&str]) -> Source {
        self.find(names)
            .map(Source::Column)
            .unwrap_or(Source::Missing)
    }

    pub(super) fn text(&self, names: &[&str]) -> Option<Expr> {
        self.find(names).map(|c| col(c).cast(DataType::String))
    }

    pub(super) fn require(&self, names: &[&str], format: Format) -> Result<Source, IngestError> {
        match self.find(names) {
            Some(c) => Ok(Source::Column(c)),
            None => Err(self.missing(names[0], format)),
        }
    }

    pub(super) fn missing(&self, column: &str, format: Format) -> IngestError {
        let columns = self.file.columns();
        let hint = did_you_mean(column, columns.iter().map(String::as_str))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        IngestError::MissingColumn(Box::new(super::error::MissingColumn {
            path: self.file.path.clone(),
            column: column.to_string(),
            format: format.name().to_string(),
            found: list_columns(&columns),
            hint,
        }))
    }
}

/// Builds the mapping of one file for its format.
pub(crate) fn mapping(file: &SourceFile, tidy: &TidyColumns) -> Result<Mapping, IngestError> {
    let h = Header::new(file);
    let mut m = match file.format {
        Format::Focus => focus(&h)?,
        Format::Cur => cur(&h)?,
        Format::Azure => azure(&h)?,
        Format::Oci => oci(&h)?,
        Format::Tidy => tidy_mapping(&h, tidy)?,
    };
    for (k, v) in &file.hive {
        m.passthrough.push((k.clone(), lit(v.clone())));
    }
    Ok(m)
}

/// Maps spellings that differ between FOCUS versions and providers onto the FOCUS 1.2 values.
pub(super) fn normalise_pricing_category(e: Expr) -> Expr {
    respell(e, |v| {
        const CANON: [&str; 4] = ["Standard", "Committed", "Dynamic", "Other"];
        if CANON.contains(&v) {
            return None;
        }
        let l = v.to_lowercase();
        Some(match l.as_str() {
            "standard" | "on-demand" | "ondemand" | "on demand" => "Standard",
            "committed" | "commitment-based" | "commitment based" | "reserved" => "Committed",
            "dynamic" | "spot" => "Dynamic",
            _ => "Other",
        })
    })
}

/// Title-cases the FOCUS enumerations that exports spell inconsistently (`Usage-based`).
pub(super) fn normalise_enum(e: Expr, values: &'static [&'static str]) -> Expr {
    respell(e, move |v| {
        if values.contains(&v) {
            return None;
        }
        values.iter().find(|c| c.eq_ignore_ascii_case(v)).copied()
    })
}

/// Rewrites the values of a text column with `to` (None keeps the value). A chunk whose
/// values are all kept — the normal case — is passed through without copying, so the cost
/// is one comparison per row instead of lower-casing and rebuilding every string.
fn respell<F>(e: Expr, to: F) -> Expr
where
    F: Fn(&str) -> Option<&'static str> + Send + Sync + 'static,
{
    e.cast(DataType::String).map(
        move |c: Column| {
            let ca = c.str()?;
            if ca.iter().all(|v| v.is_none_or(|s| to(s).is_none())) {
                return Ok(c);
            }
            let out: StringChunked = ca.iter().map(|v| v.map(|s| to(s).unwrap_or(s))).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Instance family from an instance type: `m6i.xlarge` → `m6i`, `db.r6g.large` → `db.r6g`,
/// anything without a size suffix stays as it is.
pub(super) fn family_of(instance_type: Expr) -> Expr {
    coalesce(&[
        instance_type
            .clone()
            .str()
            .extract(lit(r"^(.*)\.[^.]+$"), 1),
        instance_type,
    ])
}

/// The column names each format reads consumed quantities from (for messages; the mappings
/// themselves are in the format files).
pub(crate) fn quantity_columns(format: Format) -> &'static [&'static str] {
    match format {
        Format::Focus => &["ConsumedQuantity", "UsageQuantity"],
        Format::Cur => &["lineItem/UsageAmount", "line_item_usage_amount"],
        Format::Azure => &["Quantity", "UsageQuantity"],
        Format::Oci => &["usage/billedQuantity"],
        Format::Tidy => tidy::TIDY_QUANTITY,
    }
}

/// Prefix of the unit of CUR rows without a pricing unit: `usage type USE1-Lambda-GB-Second`.
pub(crate) const UNIT_FROM_USAGE_TYPE: &str = "usage type ";

/// AWS usage types that restate the hours of an instance's own running time rather than
/// measure usage of their own: `EBSOptimized:<type>` (with or without a region prefix such as
/// `USE1-`) is written, at cost 0 for current instance types, for every `BoxUsage:<type>` hour.
pub(super) const RESTATED_USAGE_TYPE: &str = r"(^|-)EBSOptimized:";

/// The restating usage type of a row (its text) or null, from a usage type column.
pub(super) fn restated_usage(usage_type: Expr) -> Expr {
    when(
        usage_type
            .clone()
            .str()
            .contains(lit(RESTATED_USAGE_TYPE), false)
            .fill_null(lit(false)),
    )
    .then(usage_type)
    .otherwise(lit(NULL).cast(DataType::String))
}

pub(super) fn derived(e: Option<Expr>) -> Source {
    e.map(Source::Derived).unwrap_or(Source::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_formats_from_headers() {
        assert_eq!(
            Format::detect(&cols(&["ChargePeriodStart", "BilledCost"])),
            Some(Format::Focus)
        );
        assert_eq!(
            Format::detect(&cols(&["lineItem/UsageStartDate", "x"])),
            Some(Format::Cur)
        );
        assert_eq!(
            Format::detect(&cols(&["line_item_usage_start_date"])),
            Some(Format::Cur)
        );
        assert_eq!(
            Format::detect(&cols(&["lineItem/intervalUsageStart"])),
            Some(Format::Oci)
        );
        assert_eq!(
            Format::detect(&cols(&["Date", "MeterCategory", "Cost"])),
            Some(Format::Azure)
        );
        assert_eq!(
            Format::detect(&cols(&["date", "costInBillingCurrency"])),
            Some(Format::Azure)
        );
        assert_eq!(
            Format::detect(&cols(&["timestamp", "host", "value"])),
            Some(Format::Tidy)
        );
        assert_eq!(Format::detect(&cols(&["a", "b"])), None);
    }
}
