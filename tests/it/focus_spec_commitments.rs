//! Golden cases from the FOCUS specification's commitment discount examples
//! (`billing/focus-spec-examples/` in the shared data: the spec's CSV examples, CC-BY-4.0).
//!
//! Gated like `tests/it/shared_data.rs`: they run when `CAPPLAN_SHARED_DATA` points at the shared
//! data folder and then *fail* when a file is missing.
//!
//! The expected numbers are the ones the specification's text states for each example (its
//! appendix "Commitment Discounts" for `commitment_discount_scenarios`, and the appendix pages
//! "100% / 0% utilization with(out) commitment discount flexibility" for
//! `commitment_discount_flexibility`); they are written here by hand, not computed from the CSVs.
//!
//! Where the spec's CSVs cannot be read as they are, the test says so and checks what can be
//! checked:
//! * `commitment_discount_purchase_scenario_2.csv` and `_3.csv` contain the timestamp
//!   `2023-02-01T30:00:00Z` (hour 30) in `ChargePeriodEnd`; capplan refuses the file, naming
//!   the row and column. Their stated figures (recurring $1.00 / $0.50 per charge period) are
//!   therefore not tested through capplan.
//! * The `commitment_discount_flexibility` CSVs have a blank line after every row. capplan reads
//!   each blank line as a row of nulls, and the blank rows are identical to each other, so the
//!   files load only with `allow_duplicates`. In `..._with_2_resources.csv` the two VM_MEDIUM
//!   usage rows are also identical in every column (same ResourceId), though the spec describes
//!   two resources; both rows are kept and counted.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use capplan::ingest::{self, CommitmentUsage, Commitments, IngestError, InputOptions};
use rust_decimal::Decimal;

use crate::common::{shared, shared_file};

const ID: &str = "<my-commitment-discount-id>";

fn example(dir: &Path, rel: &str) -> PathBuf {
    shared_file(dir, &format!("billing/focus-spec-examples/{rel}"))
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn read(path: &Path, allow_duplicates: bool) -> Result<Commitments, IngestError> {
    let opts = InputOptions {
        inputs: vec![path.display().to_string()],
        allow_duplicates,
        ..Default::default()
    };
    ingest::load(&opts)?.commitments()
}

/// The one commitment of an example file (every example has exactly one).
fn only(c: &Commitments) -> &CommitmentUsage {
    assert_eq!(
        c.commitments.len(),
        1,
        "expected one commitment: {:#?}",
        c.commitments
    );
    let u = &c.commitments[0];
    assert_eq!(u.commitment_id, ID);
    u
}

/// Source totals of the whole file (all rows, on or off the commitment): billed, effective.
fn file_totals(c: &Commitments) -> (Decimal, Decimal) {
    assert!(c.reconciliation.balanced);
    c.reconciliation
        .source
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(b, e), t| {
            (b + t.totals.billed_cost, e + t.totals.effective_cost)
        })
}

/// Checks used/unused amortised cost and both utilisations exactly.
fn assert_usage(
    u: &CommitmentUsage,
    used: &str,
    unused: &str,
    utilisation: &str,
    by_quantity: &str,
) {
    assert_eq!(u.used_cost, d(used), "used amortised cost: {u:#?}");
    assert_eq!(u.unused_cost, d(unused), "unused amortised cost: {u:#?}");
    assert_eq!(
        u.amortised_cost(),
        d(used) + d(unused),
        "amortised cost: {u:#?}"
    );
    assert_eq!(u.utilisation(), Some(d(utilisation)), "utilisation: {u:#?}");
    assert_eq!(
        u.utilisation_by_quantity(),
        Some(d(by_quantity)),
        "utilisation by quantity: {u:#?}"
    );
    assert_eq!(u.other_rows, 0, "{u:#?}");
}

// --- Usage rows: a one-year spend commitment of $1.00 per hour, one hourly charge period ---

/// Scenario #1: an eligible resource runs for $1.00 — 100% utilisation.
#[test]
fn usage_scenario_1_full_utilisation() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_scenarios/commitment_discount_usage_scenario_1.csv",
        ),
        false,
    )
    .unwrap();
    let u = only(&c);
    assert_usage(u, "1.00", "0", "1", "1");
    assert_eq!((u.used_rows, u.unused_rows, u.purchase_rows), (1, 0, 0));
    assert_eq!(u.used_quantity, Some(d("1.00")));
    assert_eq!(u.units, vec!["USD".to_string()]);
}

/// Scenario #2: no eligible resource runs — 0% utilisation, the $1.00 is unused.
#[test]
fn usage_scenario_2_zero_utilisation() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_scenarios/commitment_discount_usage_scenario_2.csv",
        ),
        false,
    )
    .unwrap();
    let u = only(&c);
    assert_usage(u, "0", "1.00", "0", "0");
    assert_eq!((u.used_rows, u.unused_rows), (0, 1));
    assert_eq!(u.unused_quantity, Some(d("1.00")));
}

/// Scenario #3: an eligible resource runs for $0.75 — 75% utilisation, $0.25 unused.
#[test]
fn usage_scenario_3_partial_utilisation() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_scenarios/commitment_discount_usage_scenario_3.csv",
        ),
        false,
    )
    .unwrap();
    let u = only(&c);
    assert_usage(u, "0.75", "0.25", "0.75", "0.75");
    assert_eq!((u.used_rows, u.unused_rows), (1, 1));
    assert_eq!(u.used_quantity, Some(d("0.75")));
    assert_eq!(u.unused_quantity, Some(d("0.25")));
}

/// Scenario #4: the resource costs $1.50 — $1.00 amortised from the commitment (100%
/// utilisation) and $0.50 charged on demand, which is not the commitment's.
#[test]
fn usage_scenario_4_full_utilisation_plus_overage() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_scenarios/commitment_discount_usage_scenario_4.csv",
        ),
        false,
    )
    .unwrap();
    let u = only(&c);
    assert_usage(u, "1.00", "0", "1", "1");
    assert_eq!(u.used_rows, 1);
    let (billed, _) = file_totals(&c);
    assert_eq!(billed, d("0.50"), "the on-demand overage is billed $0.50");
}

// --- Purchase rows: the same commitment bought upfront, recurring or hybrid ---

/// Scenario #1 (upfront): billed once for $8,760.00 with no effective cost of its own; no
/// usage rows, so the bill alone gives no utilisation.
#[test]
fn purchase_scenario_1_upfront() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_scenarios/commitment_discount_purchase_scenario_1.csv",
        ),
        false,
    )
    .unwrap();
    let u = only(&c);
    assert_eq!(u.purchase_rows, 1);
    assert_eq!(u.purchase_billed_cost, d("8760.00"));
    assert_eq!(u.purchased_quantity, Some(d("8760.00")));
    assert_eq!((u.used_rows, u.unused_rows, u.other_rows), (0, 0, 0));
    assert_eq!(u.amortised_cost(), Decimal::ZERO);
    assert_eq!(u.utilisation(), None);
    assert_eq!(u.utilisation_by_quantity(), None);
    assert_eq!(file_totals(&c), (d("8760.00"), Decimal::ZERO));
}

/// Scenarios #2 (recurring) and #3 (hybrid): the spec's CSVs have `ChargePeriodEnd` =
/// `2023-02-01T30:00:00Z`, which is not a time of day. capplan must refuse them with the file,
/// row and column (it must not guess a value).
#[test]
fn purchase_scenarios_2_and_3_have_an_invalid_timestamp() {
    let Some(dir) = shared() else { return };
    for (file, row) in [
        (
            "commitment_discount_scenarios/commitment_discount_purchase_scenario_2.csv",
            3,
        ),
        (
            "commitment_discount_scenarios/commitment_discount_purchase_scenario_3.csv",
            4,
        ),
    ] {
        let path = example(&dir, file);
        match read(&path, false) {
            Err(IngestError::BadValue(b)) => {
                assert_eq!(b.path, path);
                assert_eq!(b.row, row, "{file}");
                assert_eq!(b.column, "ChargePeriodEnd", "{file}");
                assert_eq!(b.value, "2023-02-01T30:00:00Z", "{file}");
            }
            other => panic!("{file}: expected a bad-value error, got {other:?}"),
        }
    }
}

// --- Commitment discount flexibility (TinyCloud catalog, one hourly charge period) ---

/// 100% utilisation without flexibility: a VM_LARGE commitment ($1.50 billed) covers one
/// VM_LARGE for the hour ($1.50 effective cost).
#[test]
fn flexibility_full_utilisation_without_flexibility() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_flexibility/one_hundred_percent_utilization_without_commitment_discount_flexibility.csv",
        ),
        true,
    )
    .unwrap();
    let u = only(&c);
    assert_eq!(u.purchase_billed_cost, d("1.50"));
    assert_usage(u, "1.50", "0", "1", "1");
    assert_eq!(u.used_quantity, u.purchased_quantity);
    assert_eq!(file_totals(&c), (d("1.50"), d("1.50")));
}

/// 0% utilisation without flexibility: the VM_LARGE commitment ($1.50 billed) is unused
/// ($1.50 effective cost); the VM_MEDIUM runs on demand for $2.00 billed and effective.
#[test]
fn flexibility_zero_utilisation_without_flexibility() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_flexibility/zero_percent_utilization_without_commitment_discount_flexibility.csv",
        ),
        true,
    )
    .unwrap();
    let u = only(&c);
    assert_eq!(u.purchase_billed_cost, d("1.50"));
    assert_usage(u, "0", "1.50", "0", "0");
    assert_eq!(
        file_totals(&c),
        (d("1.50") + d("2.00"), d("1.50") + d("2.00"))
    );
}

/// 100% utilisation with flexibility, 1 resource: the VM_SMALL commitment ($0.50 billed) is
/// fully used on a VM_LARGE ($0.50 effective cost); the rest of the VM_LARGE is $2.25 on
/// demand, billed and effective.
#[test]
fn flexibility_full_utilisation_one_resource() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_flexibility/one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv",
        ),
        true,
    )
    .unwrap();
    let u = only(&c);
    assert_eq!(u.purchase_billed_cost, d("0.50"));
    assert_usage(u, "0.50", "0", "1", "1");
    assert_eq!(u.used_quantity, u.purchased_quantity);
    assert_eq!(u.units, vec!["Normalized Hour".to_string()]);
    assert_eq!(
        file_totals(&c),
        (d("0.50") + d("2.25"), d("0.50") + d("2.25"))
    );
}

/// 100% utilisation with flexibility, 2 resources: the VM_XLARGE commitment ($2.00 billed)
/// covers two VM_MEDIUMs, $2.00 effective cost in total; the normalized hours used equal those
/// bought.
#[test]
fn flexibility_full_utilisation_two_resources() {
    let Some(dir) = shared() else { return };
    let c = read(
        &example(
            &dir,
            "commitment_discount_flexibility/one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv",
        ),
        true,
    )
    .unwrap();
    let u = only(&c);
    assert_eq!(u.purchase_billed_cost, d("2.00"));
    assert_eq!(u.used_rows, 2, "one used row per VM_MEDIUM");
    assert_usage(u, "2.00", "0", "1", "1");
    assert_eq!(u.used_quantity, u.purchased_quantity);
    assert_eq!(file_totals(&c), (d("2.00"), d("2.00")));
}
