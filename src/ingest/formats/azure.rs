//! Azure EA / MCA cost details, actual or amortised.

use polars::prelude::*;

use super::{Format, Header, Mapping, Source, derived};
use crate::ingest::error::IngestError;

pub(super) fn azure(h: &Header) -> Result<Mapping, IngestError> {
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
