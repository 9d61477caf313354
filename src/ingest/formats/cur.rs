//! AWS Cost and Usage Report, legacy (`lineItem/...`) and CUR 2.0 (`line_item_...`) column
//! names.

use polars::prelude::*;

use super::{
    Format, Header, Mapping, Source, derived, family_of, normalise_pricing_category, restated_usage,
};
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
    // Rows without a pricing unit (free-tier and some zero-cost rows) would be summed across
    // units under "(none)" (Lambda GB-seconds with requests): their unit is named after their
    // usage type instead, which keeps different units apart.
    let usage_type = text(&["lineItem/UsageType"]);
    let unit = {
        let pricing_unit = text(&["pricing/unit"]).map(|u| {
            when(u.clone().str().strip_chars(lit(NULL)).eq(lit("")))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(u)
        });
        let from_usage_type = usage_type
            .clone()
            .map(|t| concat_str([lit(super::UNIT_FROM_USAGE_TYPE), t], "", false));
        let alts: Vec<Expr> = [pricing_unit, from_usage_type]
            .into_iter()
            .flatten()
            .collect();
        if alts.is_empty() {
            lit(NULL).cast(DataType::String)
        } else {
            coalesce(&alts)
        }
    };
    // CUR 2.0 has one `resource_tags` map column instead of a column per tag: JSON text in CSV
    // exports (`{"user_team":"a"}`), a map (list of key/value structs) in Parquet.
    let tags = h
        .find(&["resource_tags"])
        .map(|c| match h.file.schema.get(c.as_str()) {
            Some(DataType::List(_)) => map_to_json(col(c.as_str())),
            _ => {
                let t = col(c.as_str())
                    .cast(DataType::String)
                    .str()
                    .strip_chars(lit(NULL).cast(DataType::String));
                when(t.clone().eq(lit("")))
                    .then(lit(NULL).cast(DataType::String))
                    .otherwise(t)
            }
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
            ("consumed_unit", Source::Derived(unit)),
            ("list_cost", col_of(&["pricing/publicOnDemandCost"])),
            ("billed_cost", req(&["lineItem/UnblendedCost"])?),
            // Amortised cost needs reservation/savings-plan effective cost per line type; the
            // unblended cost is used and the gap reported by `inspect` (see ARCHITECTURE.md).
            ("effective_cost", req(&["lineItem/UnblendedCost"])?),
            ("currency", col_of(&["lineItem/CurrencyCode"])),
            ("tags", derived(tags)),
            (
                "usage_restated",
                derived(usage_type.map(restated_usage)),
            ),
        ],
        passthrough,
        notes: vec!["AWS CUR: effective cost is taken as the unblended cost (amortised reservation fees are not re-allocated)".into()],
        default_period: None,
        respelled: Vec::new(),
    })
}

/// A Parquet map column (a list of `key`/`value` structs per row) as JSON object text, the
/// canonical form of tags.
fn map_to_json(e: Expr) -> Expr {
    e.map(
        |c: Column| {
            let list = c.list()?;
            let out: StringChunked = list
                .amortized_iter()
                .map(|row| -> PolarsResult<Option<String>> {
                    let Some(row) = row else { return Ok(None) };
                    let fields = row.as_ref().struct_()?.fields_as_series();
                    let (Some(keys), Some(values)) = (fields.first(), fields.get(1)) else {
                        return Ok(None);
                    };
                    let keys = keys.cast(&DataType::String)?;
                    let values = values.cast(&DataType::String)?;
                    let mut obj = serde_json::Map::new();
                    for (k, v) in keys.str()?.iter().zip(values.str()?.iter()) {
                        if let Some(k) = k {
                            obj.insert(
                                k.to_string(),
                                v.map_or(serde_json::Value::Null, |v| v.into()),
                            );
                        }
                    }
                    Ok(Some(serde_json::Value::Object(obj).to_string()))
                })
                .collect::<PolarsResult<_>>()?;
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
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
