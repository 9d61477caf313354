//! Per-commitment usage: the grouped query keyed by the commitment discount columns, summed
//! exactly into used and unused amortised cost, purchases, quantities and utilisation
//! ([`CommitmentUsage`]).

use super::error::IngestError;
use super::pipeline::{Dim, Group, Loaded, Scope};
use super::{CommitmentUsage, Commitments, Finding, Granularity, Measure, Reason, Severity};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

impl Loaded {
    /// Per-commitment used and unused amortised cost, purchases and quantities: one grouped
    /// query (the same as `inspect`'s, keyed by the commitment columns), summed exactly.
    /// Rows without a `CommitmentDiscountId` do not belong to a commitment and are skipped;
    /// rows in another currency than the chosen one are left out.
    pub fn commitments(&self) -> Result<Commitments, IngestError> {
        let dims = [
            "commitment_id",
            "commitment_status",
            "charge_category",
            "commitment_type",
            "commitment_category",
            "commitment_unit",
        ]
        .map(|c| Dim::canonical(c, c));
        let (mut groups, dup, mut findings) = self.run(
            &dims,
            Scope::Query(&["commitment_quantity"]),
            Granularity::Month,
            Measure::EffectiveCost,
            &[],
        )?;
        self.check_duplicates(dup, &mut findings)?;
        let (currency, reconciliation, mut more) = self.account(&mut groups)?;
        findings.append(&mut more);
        let mut by_id: BTreeMap<String, CommitmentUsage> = BTreeMap::new();
        let add_q = |slot: &mut Option<Decimal>, g: &Group| {
            if g.commitment_quantity_rows > 0 {
                *slot = Some(slot.unwrap_or_default() + g.commitment_quantity);
            }
        };
        for g in &groups {
            if matches!(
                g.reason,
                Reason::OtherCurrency | Reason::NoCurrency | Reason::Unparseable
            ) {
                continue;
            }
            let Some(id) = g.dims[0].clone() else {
                continue;
            };
            let c = by_id.entry(id.clone()).or_insert_with(|| CommitmentUsage {
                commitment_id: id,
                commitment_type: None,
                category: None,
                units: Vec::new(),
                used_rows: 0,
                used_cost: Decimal::ZERO,
                unused_rows: 0,
                unused_cost: Decimal::ZERO,
                purchase_rows: 0,
                purchase_billed_cost: Decimal::ZERO,
                other_rows: 0,
                other_effective_cost: Decimal::ZERO,
                used_quantity: None,
                unused_quantity: None,
                purchased_quantity: None,
            });
            let status = g.dims[1].as_deref();
            let category = g.dims[2].as_deref();
            match (category, status) {
                (Some("Purchase"), _) => {
                    c.purchase_rows += g.rows;
                    c.purchase_billed_cost += g.totals.billed_cost;
                    add_q(&mut c.purchased_quantity, g);
                }
                (Some("Usage"), Some("Used")) => {
                    c.used_rows += g.rows;
                    c.used_cost += g.totals.effective_cost;
                    add_q(&mut c.used_quantity, g);
                }
                (Some("Usage"), Some("Unused")) => {
                    c.unused_rows += g.rows;
                    c.unused_cost += g.totals.effective_cost;
                    add_q(&mut c.unused_quantity, g);
                }
                _ => {
                    c.other_rows += g.rows;
                    c.other_effective_cost += g.totals.effective_cost;
                }
            }
            // Smallest value wins so the result does not depend on group order.
            let keep_min = |slot: &mut Option<String>, v: &Option<String>| {
                if let Some(v) = v
                    && slot.as_ref().is_none_or(|s| v < s)
                {
                    *slot = Some(v.clone());
                }
            };
            keep_min(&mut c.commitment_type, &g.dims[3]);
            keep_min(&mut c.category, &g.dims[4]);
            if let Some(u) = &g.dims[5]
                && !c.units.contains(u)
            {
                c.units.push(u.clone());
                c.units.sort();
            }
        }
        let mixed = by_id.values().filter(|c| c.units.len() > 1).count();
        if mixed > 0 {
            findings.push(Finding {
                code: "commitment_mixed_units".into(),
                severity: Severity::Warning,
                count: mixed as u64,
                message: format!(
                    "{mixed} commitments have rows in more than one CommitmentDiscountUnit; their utilisation by quantity is not computed"
                ),
            });
        }
        Ok(Commitments {
            currency,
            commitments: by_id.into_values().collect(),
            reconciliation,
            findings,
        })
    }
}
