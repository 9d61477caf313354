//! AWS Cost and Usage Report, legacy (`lineItem/...`) and CUR 2.0 (`line_item_...`) column
//! names.

use polars::prelude::*;

use super::{Format, Header, Mapping, Source, derived, family_of, normalise_pricing_category};
use crate::ingest::error::IngestError;

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

pub(super) fn cur(h: &Header) -> Result<Mapping, IngestError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cur2_names() {
        assert_eq!(
            cur2_name("lineItem/UsageStartDate"),
            "line_item_usage_start_date"
        );
        assert_eq!(cur2_name("bill/PayerAccountId"), "bill_payer_account_id");
        assert_eq!(cur2_name("product/instanceType"), "product_instance_type");
    }
}
