//! Oracle Cloud Infrastructure cost reports.

use polars::prelude::*;

use super::{Format, Header, Mapping, Source, derived};
use crate::ingest::error::IngestError;

pub(super) fn oci(h: &Header) -> Result<Mapping, IngestError> {
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
