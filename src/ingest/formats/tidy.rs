//! A tidy usage table: a timestamp, dimensions, a quantity, an optional unit and cost; the
//! columns are found by conventional names unless the options name them.

use polars::prelude::*;

use super::{CANONICAL, DIMENSION_ALIASES, Format, Header, Kind, Mapping, Source};
use crate::ingest::error::IngestError;

/// Options that only the tidy format needs.
#[derive(Debug, Clone, Default)]
pub struct TidyColumns {
    /// The timestamp column (default: the first of `timestamp`, `time`, `datetime`, ...).
    pub time: Option<String>,
    /// The quantity column (default: the first of `quantity`, `value`, `usage`, ...).
    pub quantity: Option<String>,
    /// The unit column, if any.
    pub unit: Option<String>,
    /// The cost column, if any.
    pub cost: Option<String>,
}

/// Conventional names of a tidy table's timestamp column, in order of preference.
pub(super) const TIDY_TIME: &[&str] = &[
    "timestamp",
    "time",
    "datetime",
    "date",
    "ts",
    "period_start",
    "start",
    "hour",
];
/// Conventional names of a tidy table's quantity column, in order of preference.
pub(super) const TIDY_QUANTITY: &[&str] = &[
    "quantity",
    "value",
    "usage",
    "consumed_quantity",
    "usage_quantity",
    "count",
    "amount",
];

pub(super) fn first_named<'a>(columns: &'a [String], names: &[&str]) -> Option<&'a String> {
    names
        .iter()
        .find_map(|n| columns.iter().find(|c| c.eq_ignore_ascii_case(n)))
}

pub(super) fn tidy_mapping(h: &Header, t: &TidyColumns) -> Result<Mapping, IngestError> {
    let f = Format::Tidy;
    let columns = h.file.columns();
    // A column the user named must exist; otherwise the first conventional name present.
    let pick = |given: &Option<String>, auto: &[&str]| -> Result<Option<String>, IngestError> {
        match given {
            Some(name) => h
                .find(&[name.as_str()])
                .map(Some)
                .ok_or_else(|| h.missing(name, f)),
            None => Ok(h.find(auto)),
        }
    };
    let time = pick(&t.time, TIDY_TIME)?.ok_or_else(|| h.missing("timestamp", f))?;
    let quantity = pick(&t.quantity, TIDY_QUANTITY)?.ok_or_else(|| h.missing("quantity", f))?;
    let unit = pick(&t.unit, &["unit", "units", "consumed_unit"])?;
    let cost = pick(&t.cost, &["cost", "effective_cost", "billed_cost"])?;
    let currency = h.find(&["currency", "billing_currency"]);
    let used: Vec<String> = [
        Some(&time),
        Some(&quantity),
        unit.as_ref(),
        cost.as_ref(),
        currency.as_ref(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    // Columns named like a canonical dimension feed it; every other column is a passthrough
    // dimension (prefixed `x_` if its name collides with a canonical column).
    let canonical_dims: Vec<String> = columns
        .iter()
        .filter(|c| !used.contains(c))
        .filter(|c| {
            CANONICAL
                .iter()
                .any(|(n, k)| *k == Kind::Text && n.eq_ignore_ascii_case(c))
        })
        .cloned()
        .collect();
    let passthrough = columns
        .iter()
        .filter(|c| !used.contains(c) && !canonical_dims.contains(c))
        .map(|c| {
            let clash = CANONICAL.iter().any(|(n, _)| n.eq_ignore_ascii_case(c))
                || DIMENSION_ALIASES
                    .iter()
                    .any(|(a, _)| a.eq_ignore_ascii_case(c));
            let name = if clash { format!("x_{c}") } else { c.clone() };
            (name, col(c.as_str()).cast(DataType::String))
        })
        .collect();
    let text_of = |name: &str| -> Source {
        match canonical_dims.iter().find(|c| c.eq_ignore_ascii_case(name)) {
            Some(c) => Source::Column(c.clone()),
            None => Source::Missing,
        }
    };
    let cost_src = cost.map(Source::Column).unwrap_or(Source::Missing);
    Ok(Mapping {
        sources: vec![
            ("charge_start", Source::Column(time)),
            ("charge_end", Source::Missing),
            ("provider", text_of("provider")),
            ("billing_account", text_of("billing_account")),
            ("sub_account", text_of("sub_account")),
            ("service", text_of("service")),
            ("service_category", text_of("service_category")),
            ("region", text_of("region")),
            ("sku", text_of("sku")),
            ("instance_type", text_of("instance_type")),
            ("family", text_of("family")),
            ("resource_id", text_of("resource_id")),
            ("pricing_category", Source::Derived(lit("Standard"))),
            ("charge_category", Source::Derived(lit("Usage"))),
            ("charge_class", Source::Missing),
            ("commitment_id", Source::Missing),
            ("commitment_type", Source::Missing),
            ("commitment_category", Source::Missing),
            ("commitment_status", Source::Missing),
            ("consumed_quantity", Source::Column(quantity)),
            (
                "consumed_unit",
                unit.map(Source::Column).unwrap_or(Source::Missing),
            ),
            ("list_cost", Source::Missing),
            ("billed_cost", cost_src.clone()),
            ("effective_cost", cost_src),
            (
                "currency",
                currency.map(Source::Column).unwrap_or(Source::Missing),
            ),
            ("tags", Source::Missing),
        ],
        passthrough,
        notes: Vec::new(),
        default_period: None,
        respelled: Vec::new(),
    })
}
