//! Billing formats and their mapping onto the canonical usage frame.
//!
//! Each format is a table: for every canonical column, which source column(s) feed it (the
//! first one present wins, matched case-insensitively) or which expression derives it. Value
//! parsing (timestamps, decimals, numbers) is generic and lives in `pipeline`, so a bad value
//! is always reported with the *source* column's name.

use std::collections::HashMap;

use polars::prelude::*;
use serde::Serialize;

use super::error::{IngestError, did_you_mean};
use super::source::{SourceFile, list_columns};

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

/// The FOCUS version a header conforms to (by the newest columns it has).
pub fn focus_version(columns: &[String]) -> &'static str {
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    if [
        "InvoiceId",
        "BillingAccountType",
        "SubAccountType",
        "PricingCurrency",
    ]
    .iter()
    .any(|c| has(c))
    {
        "1.2"
    } else if [
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
        "CommitmentDiscountQuantity",
        "CapacityReservationId",
    ]
    .iter()
    .any(|c| has(c))
    {
        "1.1"
    } else {
        "1.0"
    }
}

/// How a canonical column's values are parsed from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timestamp,
    Money,
    Quantity,
    Text,
}

/// The canonical columns, in frame order. See ARCHITECTURE.md for their meaning.
pub const CANONICAL: &[(&str, Kind)] = &[
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
];

/// Short names a user types for `--by` / `--filter`, and the canonical column each means.
pub const DIMENSION_ALIASES: &[(&str, &str)] = &[
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
pub enum Source {
    /// A source column (actual name in the file).
    Column(String),
    /// A derived expression over source columns, already of the canonical type (Text only).
    Derived(Expr),
    /// Not available in this format/file.
    Missing,
}

/// The mapping of one file onto the canonical frame.
pub struct Mapping {
    pub sources: Vec<(&'static str, Source)>,
    /// Source columns kept as extra dimensions (FOCUS `x_` columns, tag columns, hive keys),
    /// as (output name, expression).
    pub passthrough: Vec<(String, Expr)>,
    /// Non-fatal observations about the header (reported as data-quality findings).
    pub notes: Vec<String>,
    /// Charge period length to assume when the file has no end column.
    pub default_period: Option<chrono::Duration>,
    /// Per enumeration: true for rows whose value was respelled (case, FOCUS 1.0 names),
    /// keyed by the canonical column it feeds (None: a column no canonical one reads, such
    /// as FOCUS `ChargeFrequency`, only checked by `inspect`).
    pub respelled: Vec<(Option<&'static str>, Expr)>,
}

/// Column lookup by case-insensitive name.
struct Header<'a> {
    file: &'a SourceFile,
    by_lower: HashMap<String, String>,
}

impl<'a> Header<'a> {
    fn new(file: &'a SourceFile) -> Self {
        let by_lower = file
            .columns()
            .into_iter()
            .map(|c| (c.to_ascii_lowercase(), c))
            .collect();
        Header { file, by_lower }
    }

    fn find(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.by_lower.get(&n.to_ascii_lowercase()).cloned())
    }

    fn col(&self, names: &[&str]) -> Source {
        self.find(names)
            .map(Source::Column)
            .unwrap_or(Source::Missing)
    }

    fn text(&self, names: &[&str]) -> Option<Expr> {
        self.find(names).map(|c| col(c).cast(DataType::String))
    }

    fn require(&self, names: &[&str], format: Format) -> Result<Source, IngestError> {
        match self.find(names) {
            Some(c) => Ok(Source::Column(c)),
            None => Err(self.missing(names[0], format)),
        }
    }

    fn missing(&self, column: &str, format: Format) -> IngestError {
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

/// Options that only the tidy format needs.
#[derive(Debug, Clone, Default)]
pub struct TidyColumns {
    pub time: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub cost: Option<String>,
}

/// Conventional names of a tidy table's timestamp column, in order of preference.
const TIDY_TIME: &[&str] = &[
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
const TIDY_QUANTITY: &[&str] = &[
    "quantity",
    "value",
    "usage",
    "consumed_quantity",
    "usage_quantity",
    "count",
    "amount",
];

fn first_named<'a>(columns: &'a [String], names: &[&str]) -> Option<&'a String> {
    names
        .iter()
        .find_map(|n| columns.iter().find(|c| c.eq_ignore_ascii_case(n)))
}

/// Builds the mapping of one file for its format.
pub fn mapping(file: &SourceFile, tidy: &TidyColumns) -> Result<Mapping, IngestError> {
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
fn normalise_pricing_category(e: Expr) -> Expr {
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
fn normalise_enum(e: Expr, values: &'static [&'static str]) -> Expr {
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
fn family_of(instance_type: Expr) -> Expr {
    coalesce(&[
        instance_type
            .clone()
            .str()
            .extract(lit(r"^(.*)\.[^.]+$"), 1),
        instance_type,
    ])
}

fn derived(e: Option<Expr>) -> Source {
    e.map(Source::Derived).unwrap_or(Source::Missing)
}

/// The 57 FOCUS 1.2 columns, in the specification's order.
pub const FOCUS_1_2_COLUMNS: [&str; 57] = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// Columns of FOCUS 1.0-preview and 0.5 that real exports still carry.
const LEGACY_FOCUS_COLUMNS: &[&str] = &[
    "Provider",
    "Publisher",
    "InvoiceIssuer",
    "UsageQuantity",
    "UsageUnit",
    "AmortizedCost",
];

fn focus(h: &Header) -> Result<Mapping, IngestError> {
    let f = Format::Focus;
    let instance_type = {
        let mut alts = Vec::new();
        if let Some(c) = h.find(&["SkuPriceDetails"]) {
            alts.push(
                col(c)
                    .cast(DataType::String)
                    .str()
                    .json_path_match(lit("$.InstanceType")),
            );
        }
        if let Some(c) = h.find(&["x_InstanceType", "x_instance_type"]) {
            alts.push(col(c).cast(DataType::String));
        }
        (!alts.is_empty()).then(|| coalesce(&alts))
    };
    let enums: [(&str, Option<&'static str>, &'static [&'static str]); 5] = [
        (
            "ChargeCategory",
            Some("charge_category"),
            &["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
        ),
        ("ChargeClass", Some("charge_class"), &["Correction"]),
        (
            "CommitmentDiscountStatus",
            Some("commitment_status"),
            &["Used", "Unused"],
        ),
        (
            "ChargeFrequency",
            None,
            &["One-Time", "Recurring", "Usage-Based"],
        ),
        (
            "CommitmentDiscountCategory",
            Some("commitment_category"),
            &["Spend", "Usage"],
        ),
    ];
    let mut respelled: Vec<(Option<&'static str>, Expr)> = enums
        .iter()
        .filter_map(|(c, canonical, values)| {
            h.text(&[c]).map(|e| {
                (
                    *canonical,
                    e.clone()
                        .neq(normalise_enum(e, values))
                        .fill_null(lit(false)),
                )
            })
        })
        .collect();
    if let Some(p) = h.text(&["PricingCategory"]) {
        respelled.push((
            Some("pricing_category"),
            p.clone()
                .neq(normalise_pricing_category(p))
                .fill_null(lit(false)),
        ));
    }
    let mut notes = Vec::new();
    let mut passthrough = Vec::new();
    for c in h.file.columns() {
        if c.starts_with("x_") {
            passthrough.push((c.clone(), col(c).cast(DataType::String)));
        } else if !FOCUS_1_2_COLUMNS
            .iter()
            .chain(LEGACY_FOCUS_COLUMNS)
            .any(|f| f.eq_ignore_ascii_case(&c))
        {
            notes.push(format!(
                "column `{c}` is not a FOCUS column and lacks the `x_` prefix custom columns must have; kept as passthrough dimension `{c}`"
            ));
            passthrough.push((c.clone(), col(c).cast(DataType::String)));
        }
    }
    Ok(Mapping {
        sources: vec![
            ("charge_start", h.require(&["ChargePeriodStart"], f)?),
            ("charge_end", h.require(&["ChargePeriodEnd"], f)?),
            ("provider", h.col(&["ProviderName", "Provider"])),
            ("billing_account", h.col(&["BillingAccountId"])),
            ("sub_account", h.col(&["SubAccountId"])),
            ("service", h.col(&["ServiceName"])),
            ("service_category", h.col(&["ServiceCategory"])),
            ("region", h.col(&["RegionId", "Region", "RegionName"])),
            ("sku", h.col(&["SkuId"])),
            ("instance_type", derived(instance_type.clone())),
            ("family", derived(instance_type.map(family_of))),
            ("resource_id", h.col(&["ResourceId"])),
            (
                "pricing_category",
                derived(h.text(&["PricingCategory"]).map(normalise_pricing_category)),
            ),
            (
                "charge_category",
                derived(h.text(&["ChargeCategory"]).map(|e| {
                    normalise_enum(e, &["Usage", "Purchase", "Tax", "Credit", "Adjustment"])
                })),
            ),
            (
                "charge_class",
                derived(
                    h.text(&["ChargeClass"])
                        .map(|e| normalise_enum(e, &["Correction"])),
                ),
            ),
            ("commitment_id", h.col(&["CommitmentDiscountId"])),
            ("commitment_type", h.col(&["CommitmentDiscountType"])),
            (
                "commitment_category",
                h.col(&["CommitmentDiscountCategory"]),
            ),
            (
                "commitment_status",
                derived(
                    h.text(&["CommitmentDiscountStatus"])
                        .map(|e| normalise_enum(e, &["Used", "Unused"])),
                ),
            ),
            (
                "commitment_quantity",
                h.col(&["CommitmentDiscountQuantity"]),
            ),
            ("commitment_unit", h.col(&["CommitmentDiscountUnit"])),
            (
                "consumed_quantity",
                h.col(&["ConsumedQuantity", "UsageQuantity"]),
            ),
            ("consumed_unit", h.col(&["ConsumedUnit", "UsageUnit"])),
            ("list_cost", h.col(&["ListCost"])),
            ("billed_cost", h.require(&["BilledCost"], f)?),
            ("effective_cost", h.col(&["EffectiveCost", "AmortizedCost"])),
            ("currency", h.col(&["BillingCurrency"])),
            ("tags", h.col(&["Tags"])),
        ],
        passthrough,
        notes,
        default_period: None,
        respelled,
    })
}

/// CUR 2.0 renames `lineItem/UsageStartDate` to `line_item_usage_start_date`.
fn cur2_name(legacy: &str) -> String {
    let mut out = String::new();
    for (i, ch) in legacy.chars().enumerate() {
        if ch == '/' {
            out.push('_');
        } else if ch.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn cur(h: &Header) -> Result<Mapping, IngestError> {
    let f = Format::Cur;
    // Each name is tried in legacy and CUR 2.0 spelling.
    let names = |legacy: &[&str]| -> Vec<String> {
        legacy
            .iter()
            .flat_map(|n| [n.to_string(), cur2_name(n)])
            .collect()
    };
    let find = |legacy: &[&str]| {
        let all = names(legacy);
        h.find(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let col_of = |legacy: &[&str]| find(legacy).map(Source::Column).unwrap_or(Source::Missing);
    let req = |legacy: &[&str]| {
        find(legacy)
            .map(Source::Column)
            .ok_or_else(|| h.missing(legacy[0], f))
    };
    let text = |legacy: &[&str]| find(legacy).map(|c| col(c).cast(DataType::String));

    let line_type = text(&["lineItem/LineItemType"]);
    let term = text(&["pricing/term"]);
    let instance_type = text(&["product/instanceType"]);
    let is_type = |values: &[&str]| -> Expr {
        match &line_type {
            Some(t) => t
                .clone()
                .is_in(lit(Series::new("".into(), values)).implode(false), false),
            None => lit(false),
        }
    };
    let pricing_category = {
        let base = term
            .clone()
            .map(normalise_pricing_category)
            .unwrap_or(lit(NULL).cast(DataType::String));
        when(is_type(&["DiscountedUsage", "SavingsPlanCoveredUsage"]))
            .then(lit("Committed"))
            .otherwise(base)
    };
    let charge_category = line_type.clone().map(|t| {
        when(is_type(&[
            "Usage",
            "DiscountedUsage",
            "SavingsPlanCoveredUsage",
        ]))
        .then(lit("Usage"))
        .when(is_type(&["Tax"]))
        .then(lit("Tax"))
        .when(is_type(&[
            "Credit",
            "Refund",
            "BundledDiscount",
            "Discount",
            "EdpDiscount",
            "PrivateRateDiscount",
        ]))
        .then(lit("Credit"))
        .when(is_type(&[
            "Fee",
            "RIFee",
            "SavingsPlanRecurringFee",
            "SavingsPlanUpfrontFee",
        ]))
        .then(lit("Purchase"))
        .when(t.is_null())
        .then(lit(NULL).cast(DataType::String))
        .otherwise(lit("Adjustment"))
    });
    let commitment_id = {
        let alts: Vec<Expr> = [
            text(&["reservation/ReservationARN"]),
            text(&["savingsPlan/SavingsPlanARN"]),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!alts.is_empty()).then(|| coalesce(&alts))
    };
    let commitment_type = line_type.as_ref().map(|_| {
        when(is_type(&["DiscountedUsage", "RIFee"]))
            .then(lit("Reserved Instance"))
            .when(is_type(&[
                "SavingsPlanCoveredUsage",
                "SavingsPlanRecurringFee",
                "SavingsPlanUpfrontFee",
            ]))
            .then(lit("Savings Plan"))
            .otherwise(lit(NULL).cast(DataType::String))
    });
    let commitment_status = line_type.as_ref().map(|_| {
        when(is_type(&["DiscountedUsage", "SavingsPlanCoveredUsage"]))
            .then(lit("Used"))
            .otherwise(lit(NULL).cast(DataType::String))
    });
    let mut passthrough = Vec::new();
    for c in h.file.columns() {
        let key = c
            .strip_prefix("resourceTags/")
            .or_else(|| c.strip_prefix("resource_tags_"));
        if let Some(k) = key {
            let k = k
                .strip_prefix("user:")
                .or_else(|| k.strip_prefix("user_"))
                .unwrap_or(k);
            passthrough.push((format!("tag:{k}"), col(c.as_str()).cast(DataType::String)));
        }
    }
    Ok(Mapping {
        sources: vec![
            ("charge_start", req(&["lineItem/UsageStartDate"])?),
            ("charge_end", req(&["lineItem/UsageEndDate"])?),
            ("provider", Source::Derived(lit("AWS"))),
            ("billing_account", col_of(&["bill/PayerAccountId"])),
            ("sub_account", col_of(&["lineItem/UsageAccountId"])),
            ("service", derived(text(&["product/ProductName"]).or_else(|| text(&["lineItem/ProductCode"])))),
            ("service_category", col_of(&["product/productFamily"])),
            ("region", col_of(&["product/regionCode", "product/region"])),
            ("sku", col_of(&["product/sku"])),
            ("instance_type", derived(instance_type.clone())),
            ("family", derived(instance_type.map(family_of))),
            ("resource_id", col_of(&["lineItem/ResourceId"])),
            ("pricing_category", Source::Derived(pricing_category)),
            ("charge_category", derived(charge_category)),
            ("charge_class", Source::Missing),
            ("commitment_id", derived(commitment_id)),
            ("commitment_type", derived(commitment_type)),
            ("commitment_category", Source::Missing),
            ("commitment_status", derived(commitment_status)),
            ("consumed_quantity", col_of(&["lineItem/UsageAmount"])),
            ("consumed_unit", col_of(&["pricing/unit"])),
            ("list_cost", col_of(&["pricing/publicOnDemandCost"])),
            ("billed_cost", req(&["lineItem/UnblendedCost"])?),
            // Amortised cost needs reservation/savings-plan effective cost per line type; the
            // unblended cost is used and the gap reported by `inspect` (see ARCHITECTURE.md).
            ("effective_cost", req(&["lineItem/UnblendedCost"])?),
            ("currency", col_of(&["lineItem/CurrencyCode"])),
            ("tags", Source::Missing),
        ],
        passthrough,
        notes: vec!["AWS CUR: effective cost is taken as the unblended cost (amortised reservation fees are not re-allocated)".into()],
        default_period: None,
        respelled: Vec::new(),
    })
}

fn azure(h: &Header) -> Result<Mapping, IngestError> {
    let f = Format::Azure;
    let charge_type = h.text(&["ChargeType"]);
    let pricing_model = h.text(&["PricingModel"]);
    let is_in = |e: &Option<Expr>, values: &[&str]| -> Expr {
        match e {
            Some(t) => t.clone().str().to_lowercase().is_in(
                lit(Series::new(
                    "".into(),
                    values
                        .iter()
                        .map(|v| v.to_ascii_lowercase())
                        .collect::<Vec<_>>(),
                ))
                .implode(false),
                false,
            ),
            None => lit(false),
        }
    };
    let charge_category = charge_type.as_ref().map(|t| {
        when(is_in(
            &charge_type,
            &["Usage", "UnusedReservation", "UnusedSavingsPlan"],
        ))
        .then(lit("Usage"))
        .when(is_in(&charge_type, &["Purchase", "Refund"]))
        .then(lit("Purchase"))
        .when(is_in(&charge_type, &["Tax"]))
        .then(lit("Tax"))
        .when(is_in(&charge_type, &["Credit"]))
        .then(lit("Credit"))
        .when(t.clone().is_null())
        .then(lit("Usage"))
        .otherwise(lit("Adjustment"))
    });
    let pricing_category = pricing_model.clone().map(|p| {
        when(is_in(
            &pricing_model,
            &["Reservation", "SavingsPlan", "Savings Plan"],
        ))
        .then(lit("Committed"))
        .when(is_in(&pricing_model, &["Spot"]))
        .then(lit("Dynamic"))
        .when(is_in(&pricing_model, &["OnDemand", "On Demand"]))
        .then(lit("Standard"))
        .when(p.is_null())
        .then(lit(NULL).cast(DataType::String))
        .otherwise(lit("Other"))
    });
    let commitment_status = Some(
        when(is_in(
            &charge_type,
            &["UnusedReservation", "UnusedSavingsPlan"],
        ))
        .then(lit("Unused"))
        .when(is_in(&pricing_model, &["Reservation", "SavingsPlan"]))
        .then(lit("Used"))
        .otherwise(lit(NULL).cast(DataType::String)),
    );
    let commitment_type = Some(
        when(is_in(&pricing_model, &["Reservation"]))
            .then(lit("Reservation"))
            .when(is_in(&pricing_model, &["SavingsPlan"]))
            .then(lit("Savings Plan"))
            .otherwise(lit(NULL).cast(DataType::String)),
    );
    let instance_type = {
        let mut alts = Vec::new();
        if let Some(c) = h.find(&["AdditionalInfo"]) {
            alts.push(
                col(c)
                    .cast(DataType::String)
                    .str()
                    .json_path_match(lit("$.ServiceType")),
            );
        }
        (!alts.is_empty()).then(|| coalesce(&alts))
    };
    // Azure writes tags without the enclosing braces: `"a": "b","c": "d"`.
    let tags = h.text(&["Tags"]).map(|t| {
        let trimmed = t
            .clone()
            .str()
            .strip_chars(lit(NULL).cast(DataType::String));
        when(trimmed.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .when(trimmed.clone().str().starts_with(lit("{")))
            .then(trimmed.clone())
            .otherwise(concat_str([lit("{"), trimmed, lit("}")], "", false))
    });
    let commitment_id = {
        let alts: Vec<Expr> = [
            h.text(&["ReservationId"]),
            h.text(&["benefitId", "BenefitId"]),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!alts.is_empty()).then(|| coalesce(&alts))
    };
    let cost = h.require(&["CostInBillingCurrency", "Cost", "PreTaxCost"], f)?;
    Ok(Mapping {
        sources: vec![
            ("charge_start", h.require(&["Date", "UsageDateTime"], f)?),
            ("charge_end", Source::Missing),
            ("provider", Source::Derived(lit("Microsoft"))),
            ("billing_account", h.col(&["BillingAccountId"])),
            ("sub_account", h.col(&["SubscriptionId", "SubscriptionGuid"])),
            ("service", h.col(&["MeterCategory", "ConsumedService"])),
            ("service_category", h.col(&["ServiceFamily"])),
            ("region", h.col(&["ResourceLocation", "MeterRegion"])),
            ("sku", h.col(&["MeterId", "PartNumber"])),
            ("instance_type", derived(instance_type)),
            ("family", h.col(&["MeterSubCategory"])),
            ("resource_id", h.col(&["ResourceId", "InstanceId"])),
            ("pricing_category", derived(pricing_category)),
            ("charge_category", derived(charge_category)),
            ("charge_class", Source::Missing),
            ("commitment_id", derived(commitment_id)),
            ("commitment_type", derived(commitment_type)),
            ("commitment_category", Source::Missing),
            ("commitment_status", derived(commitment_status)),
            ("consumed_quantity", h.col(&["Quantity", "UsageQuantity"])),
            ("consumed_unit", h.col(&["UnitOfMeasure"])),
            ("list_cost", Source::Missing),
            ("billed_cost", cost.clone()),
            ("effective_cost", cost),
            ("currency", h.col(&["BillingCurrencyCode", "BillingCurrency", "Currency"])),
            ("tags", derived(tags)),
        ],
        passthrough: Vec::new(),
        notes: vec![
            "Azure: actual and amortised exports share a header; the cost column is used as both billed and effective cost".into(),
        ],
        default_period: Some(chrono::Duration::days(1)),
        respelled: Vec::new(),
    })
}

fn oci(h: &Header) -> Result<Mapping, IngestError> {
    let f = Format::Oci;
    let correction = h.text(&["lineItem/isCorrection"]).map(|c| {
        when(c.str().to_lowercase().eq(lit("true")))
            .then(lit("Correction"))
            .otherwise(lit(NULL).cast(DataType::String))
    });
    let mut passthrough = Vec::new();
    for c in h.file.columns() {
        if let Some(k) = c.strip_prefix("tags/") {
            passthrough.push((format!("tag:{k}"), col(c.as_str()).cast(DataType::String)));
        }
    }
    Ok(Mapping {
        sources: vec![
            ("charge_start", h.require(&["lineItem/intervalUsageStart"], f)?),
            ("charge_end", h.require(&["lineItem/intervalUsageEnd"], f)?),
            ("provider", Source::Derived(lit("OCI"))),
            ("billing_account", h.col(&["lineItem/tenantId"])),
            ("sub_account", h.col(&["product/compartmentName", "product/compartmentId"])),
            ("service", h.col(&["product/service"])),
            ("service_category", Source::Missing),
            ("region", h.col(&["product/region"])),
            ("sku", h.col(&["cost/productSku"])),
            ("instance_type", h.col(&["product/Description"])),
            ("family", h.col(&["product/Description"])),
            ("resource_id", h.col(&["product/resourceId"])),
            ("pricing_category", Source::Derived(lit("Standard"))),
            ("charge_category", Source::Derived(lit("Usage"))),
            ("charge_class", derived(correction)),
            ("commitment_id", Source::Missing),
            ("commitment_type", Source::Missing),
            ("commitment_category", Source::Missing),
            ("commitment_status", Source::Missing),
            ("consumed_quantity", h.col(&["usage/billedQuantity"])),
            ("consumed_unit", h.col(&["cost/skuUnitDescription"])),
            ("list_cost", Source::Missing),
            ("billed_cost", h.require(&["cost/myCost"], f)?),
            ("effective_cost", h.require(&["cost/myCost"], f)?),
            ("currency", h.col(&["cost/currencyCode"])),
            ("tags", Source::Missing),
        ],
        passthrough,
        notes: vec!["OCI: the cost report has no commitment columns; every row is treated as Standard-priced usage".into()],
        default_period: None,
        respelled: Vec::new(),
    })
}

fn tidy_mapping(h: &Header, t: &TidyColumns) -> Result<Mapping, IngestError> {
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

    #[test]
    fn cur2_names() {
        assert_eq!(
            cur2_name("lineItem/UsageStartDate"),
            "line_item_usage_start_date"
        );
        assert_eq!(cur2_name("bill/PayerAccountId"), "bill_payer_account_id");
        assert_eq!(cur2_name("product/instanceType"), "product_instance_type");
    }

    #[test]
    fn focus_versions() {
        assert_eq!(focus_version(&cols(&["ChargePeriodStart"])), "1.0");
        assert_eq!(focus_version(&cols(&["SkuPriceDetails"])), "1.1");
        assert_eq!(
            focus_version(&cols(&["SkuPriceDetails", "InvoiceId"])),
            "1.2"
        );
    }
}
