//! Property tests of ingestion invariants on random FOCUS files: every row is accounted for,
//! money reconciles exactly, and the series carry exactly the used quantities.

use std::fmt::Write as _;
use std::str::FromStr;

use capplan::ingest::{self, AggregateOptions, InputOptions, Measure, Reason};
use capplan::series::Granularity;
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
struct Row {
    hour: u32,
    category: &'static str,
    service: &'static str,
    quantity: Option<u32>,
    cost_micros: i64,
}

fn row() -> impl Strategy<Value = Row> {
    (
        0u32..48,
        prop::sample::select(vec!["Usage", "Usage", "Usage", "Tax", "Credit", "Purchase"]),
        prop::sample::select(vec!["Compute", "Database", "Storage"]),
        prop::option::of(0u32..1000),
        -5_000_000i64..50_000_000,
    )
        .prop_map(|(hour, category, service, quantity, cost_micros)| Row {
            hour,
            category,
            service,
            quantity,
            cost_micros,
        })
}

fn write_csv(rows: &[Row], path: &std::path::Path) {
    let mut s = String::from(
        "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,ConsumedQuantity,ConsumedUnit,BilledCost,BillingCurrency,x_Row\n",
    );
    for (i, r) in rows.iter().enumerate() {
        let start =
            chrono::DateTime::from_timestamp(1_704_067_200 + i64::from(r.hour) * 3600, 0).unwrap();
        let end = start + chrono::Duration::hours(1);
        let q = r.quantity.map(|q| format!("{}.5", q)).unwrap_or_default();
        let cost = Decimal::new(r.cost_micros, 6);
        writeln!(
            s,
            "{},{},{},{},{},Hours,{},USD,{}",
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            end.format("%Y-%m-%dT%H:%M:%SZ"),
            r.category,
            r.service,
            q,
            cost,
            i
        )
        .unwrap();
    }
    std::fs::write(path, s).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_row_is_accounted_for_and_money_is_exact(rows in prop::collection::vec(row(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focus.csv");
        write_csv(&rows, &path);
        let loaded = ingest::load(&InputOptions { inputs: vec![path.display().to_string()], ..Default::default() }).unwrap();
        let agg = AggregateOptions { by: vec!["service".into()], granularity: Some(Granularity::Hour), filters: vec![], measure: Measure::Quantity };
        let used_expected: Vec<&Row> = rows.iter().filter(|r| r.category == "Usage" && r.quantity.is_some()).collect();
        match loaded.aggregate(&agg) {
            Ok(out) => {
                let r = &out.reconciliation;
                prop_assert!(r.balanced);
                prop_assert_eq!(r.total_rows(), rows.len() as u64);
                prop_assert_eq!(r.rows(Reason::Used), used_expected.len() as u64);
                prop_assert_eq!(r.rows(Reason::Tax), rows.iter().filter(|r| r.category == "Tax").count() as u64);
                prop_assert_eq!(r.rows(Reason::NoQuantity), rows.iter().filter(|r| r.category == "Usage" && r.quantity.is_none()).count() as u64);
                // Exact money: the source total equals an independent decimal sum.
                let total: Decimal = rows.iter().map(|r| Decimal::new(r.cost_micros, 6)).sum();
                prop_assert_eq!(r.source[0].totals.billed_cost, total);
                let used_cost: Decimal = used_expected.iter().map(|r| Decimal::new(r.cost_micros, 6)).sum();
                let reported: Decimal = r.by_reason.iter().filter(|t| t.reason == Reason::Used).map(|t| t.totals.billed_cost).sum();
                prop_assert_eq!(reported, used_cost);
                // The series carry exactly the used quantities (x.5 values sum exactly in f64).
                let q: f64 = used_expected.iter().map(|r| f64::from(r.quantity.unwrap()) + 0.5).sum();
                let s: f64 = out.series.iter().flat_map(|s| s.values.iter()).sum();
                prop_assert_eq!(q, s);
                let cost: Decimal = out.series.iter().flat_map(|s| s.cost.as_ref().unwrap().iter().map(|m| m.amount())).sum();
                prop_assert_eq!(cost, used_cost);
                // Regular: every series spans the same axis.
                let len = out.series[0].values.len();
                prop_assert!(out.series.iter().all(|s| s.values.len() == len));
            }
            Err(e) => {
                // Only possible when no row is usable.
                prop_assert!(used_expected.is_empty(), "unexpected error {e}");
                prop_assert!(e.to_string().contains("no usable rows"));
            }
        }
    }
}

#[test]
fn hive_partitions_become_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    for (month, hour) in [("2024-01", 0u32), ("2024-02", 1)] {
        let sub = dir.path().join(format!("billing_period={month}"));
        std::fs::create_dir_all(&sub).unwrap();
        let rows = vec![Row {
            hour,
            category: "Usage",
            service: "Compute",
            quantity: Some(2),
            cost_micros: 1_000_000,
        }];
        write_csv(&rows, &sub.join("part-0.csv"));
    }
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let loaded = ingest::load(&InputOptions {
        inputs: vec![dir.path().display().to_string()],
        ..Default::default()
    })
    .unwrap();
    let out = loaded
        .aggregate(&AggregateOptions {
            by: vec!["billing_period".into()],
            granularity: Some(Granularity::Hour),
            filters: vec![],
            measure: Measure::Quantity,
        })
        .unwrap();
    let keys: Vec<String> = out.series.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, ["billing_period=2024-01", "billing_period=2024-02"]);
    assert_eq!(out.files.len(), 2);
    assert_eq!(
        out.reconciliation.source[0].totals.billed_cost,
        Decimal::from_str("2").unwrap()
    );
}
