//! FOCUS 1.0, 1.1 and 1.2 (FinOps Open Cost and Usage Specification): the columns map one to
//! one; FOCUS 1.0 names (`On-Demand`) and inconsistent casing of the enumerations are respelled
//! to the 1.2 values.

use polars::prelude::*;

use super::{
    Format, Header, Mapping, derived, family_of, normalise_enum, normalise_pricing_category,
    restated_usage,
};
use crate::ingest::error::IngestError;

/// The FOCUS version a header conforms to (by the newest columns it has).
pub(crate) fn focus_version(columns: &[String]) -> &'static str {
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

/// The 57 FOCUS 1.2 columns, in the specification's order.
pub(crate) const FOCUS_1_2_COLUMNS: [&str; 57] = [
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

/// AWS's description of an EBS-optimized line item (the price list writes "$0.00 for 175 Mbps
/// per t3a.small instance-hour (or partial hour)"; older types "... EBS-optimized ...").
const EBS_OPTIMIZED_DESCRIPTION: &str = r"(?i)(\bMbps per \S+ instance-hour|\bEBS[- ]optimized\b)";

/// Columns of FOCUS 1.0-preview and 0.5 that real exports still carry.
const LEGACY_FOCUS_COLUMNS: &[&str] = &[
    "Provider",
    "Publisher",
    "InvoiceIssuer",
    "UsageQuantity",
    "UsageUnit",
    "AmortizedCost",
];

pub(super) fn focus(h: &Header) -> Result<Mapping, IngestError> {
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
    // AWS's FOCUS exports carry the CUR's `EBSOptimized:<type>` rows (Hours, cost 0, the
    // instance's own hours again): by `x_UsageType` when the export has it, otherwise by the
    // price list's description of them ("$0.00 for 175 Mbps per t3a.small instance-hour").
    let usage_restated = {
        let mut alts = Vec::new();
        if let Some(u) = h.text(&["x_UsageType", "x_usage_type"]) {
            alts.push(restated_usage(u));
        }
        if let Some(d) = h.text(&["ChargeDescription"]) {
            alts.push(
                when(
                    d.clone()
                        .str()
                        .contains(lit(EBS_OPTIMIZED_DESCRIPTION), false)
                        .fill_null(lit(false)),
                )
                .then(d)
                .otherwise(lit(NULL).cast(DataType::String)),
            );
        }
        (!alts.is_empty()).then(|| coalesce(&alts))
    };
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
            ("usage_restated", derived(usage_restated)),
        ],
        passthrough,
        notes,
        default_period: None,
        respelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
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
