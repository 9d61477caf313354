//! Tests on the public billing samples in `../shared/data` (see its README).
//!
//! They run when `CAPPLAN_SHARED_DATA` points at that folder (CI sets it) and then *fail* when
//! a file is missing. Each sample must parse, and capplan's reconciliation totals must equal an
//! independent decimal sum of the source cost column computed here with the `csv` crate.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use assert_cmd::Command;
use rust_decimal::Decimal;

use crate::common::{shared, shared_file};

/// Parses a cost cell the way an accountant would: blank and NULL are nothing, scientific
/// notation is allowed. Independent of capplan's code.
fn cell_decimal(s: &str) -> Option<Decimal> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return None;
    }
    if t.contains(['e', 'E']) {
        Some(Decimal::from_scientific(t).unwrap_or_else(|e| panic!("bad number {t:?}: {e}")))
    } else {
        Some(Decimal::from_str(t).unwrap_or_else(|e| panic!("bad number {t:?}: {e}")))
    }
}

/// Sum of `cost_col` per value of `currency_col`, and the row count.
fn independent_totals(
    path: &std::path::Path,
    cost_col: &str,
    currency_col: Option<&str>,
) -> (BTreeMap<String, Decimal>, u64) {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let ci = headers
        .iter()
        .position(|h| h == cost_col)
        .unwrap_or_else(|| panic!("{cost_col} not in {}", path.display()));
    let ki = currency_col.map(|c| headers.iter().position(|h| h == c).unwrap());
    let mut totals = BTreeMap::new();
    let mut rows = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        rows += 1;
        let cur = match ki {
            Some(k) => {
                let c = rec.get(k).unwrap_or("").trim();
                if c.is_empty() || c.eq_ignore_ascii_case("null") {
                    "(none)".to_string()
                } else {
                    c.to_string()
                }
            }
            None => "(none)".to_string(),
        };
        let e = totals.entry(cur).or_insert(Decimal::ZERO);
        if let Some(d) = cell_decimal(rec.get(ci).unwrap_or("")) {
            *e += d;
        }
    }
    (totals, rows)
}

fn inspect_json(path: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("capplan")
        .unwrap()
        .arg("inspect")
        .arg(path)
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inspect {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn capplan_billed_totals(v: &serde_json::Value) -> (BTreeMap<String, Decimal>, u64) {
    let mut totals = BTreeMap::new();
    let mut rows = 0;
    for entry in v["reconciliation"]["source"].as_array().unwrap() {
        let cur = entry["currency"].as_str().unwrap().to_string();
        let billed = Decimal::from_str(entry["billed_cost"].as_str().unwrap()).unwrap();
        rows += entry["rows"].as_u64().unwrap();
        totals.insert(cur, billed);
    }
    assert_eq!(
        v["reconciliation"]["balanced"],
        serde_json::Value::Bool(true)
    );
    // Used + every exclusion reason = source, per currency, recomputed here from the JSON.
    let mut by_reason: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut reason_rows = 0;
    for r in v["reconciliation"]["by_reason"].as_array().unwrap() {
        *by_reason
            .entry(r["currency"].as_str().unwrap().to_string())
            .or_default() += Decimal::from_str(r["billed_cost"].as_str().unwrap()).unwrap();
        reason_rows += r["rows"].as_u64().unwrap();
    }
    assert_eq!(by_reason, totals, "reasons do not add up to the source");
    assert_eq!(reason_rows, rows);
    (totals, rows)
}

struct Case {
    file: &'static str,
    cost: &'static str,
    currency: Option<&'static str>,
    format: &'static str,
}

const CASES: &[Case] = &[
    Case {
        file: "billing/focus/focus_sample.csv",
        cost: "BilledCost",
        currency: Some("BillingCurrency"),
        format: "focus",
    },
    Case {
        file: "billing/native/aws_cur_legacy_sample.csv",
        cost: "lineItem/UnblendedCost",
        currency: Some("lineItem/CurrencyCode"),
        format: "cur",
    },
    Case {
        file: "billing/native/azure_ea_sample.csv",
        cost: "CostInBillingCurrency",
        currency: Some("BillingCurrencyCode"),
        format: "azure",
    },
    Case {
        file: "billing/native/oci_cost_sample.csv",
        cost: "cost/myCost",
        currency: Some("cost/currencyCode"),
        format: "oci",
    },
    Case {
        file: "billing/native/EA_ActualCost_Small.csv",
        cost: "Cost",
        currency: Some("BillingCurrency"),
        format: "azure",
    },
    Case {
        file: "billing/native/EA_AmortizedCost_Small.csv",
        cost: "Cost",
        currency: Some("BillingCurrency"),
        format: "azure",
    },
];

#[test]
fn every_billing_sample_reconciles_to_an_independent_sum() {
    let Some(dir) = shared() else {
        eprintln!("CAPPLAN_SHARED_DATA not set: real-data tests not run");
        return;
    };
    for case in CASES {
        let path = shared_file(&dir, case.file);
        let v = inspect_json(&path, &[]);
        assert_eq!(v["files"][0]["format"], case.format, "{}", case.file);
        let (ours, rows) = capplan_billed_totals(&v);
        let (theirs, their_rows) = independent_totals(&path, case.cost, case.currency);
        assert_eq!(rows, their_rows, "{}: row count", case.file);
        assert_eq!(ours, theirs, "{}: billed totals per currency", case.file);
    }
}

#[test]
fn every_focus_spec_example_parses_and_reconciles() {
    let Some(dir) = shared() else { return };
    let root = dir.join("billing/focus-spec-examples");
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in [
        "commitment_discount_scenarios",
        "commitment_discount_flexibility",
    ] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "csv") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 11,
        "expected the 11 spec examples, found {}",
        files.len()
    );
    for path in files {
        // Two spec examples have an impossible timestamp (`2023-02-01T30:00:00Z`, data row 3
        // and 4): strict mode must name it; lenient mode must count it and still reconcile.
        let bad_row = if path.ends_with("commitment_discount_purchase_scenario_2.csv") {
            Some("row 3")
        } else if path.ends_with("commitment_discount_purchase_scenario_3.csv") {
            Some("row 4")
        } else {
            None
        };
        let defective = bad_row.is_some();
        if let Some(row) = bad_row {
            let out = Command::cargo_bin("capplan")
                .unwrap()
                .arg("inspect")
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(row)
                    && err.contains("`ChargePeriodEnd`")
                    && err.contains("T30:00:00Z"),
                "{err}"
            );
        }
        let flags: &[&str] = if defective {
            &["--allow-duplicates", "--lenient"]
        } else {
            &["--allow-duplicates"]
        };
        let v = inspect_json(&path, flags);
        if defective {
            let unparseable = v["reconciliation"]["by_reason"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["reason"] == "unparseable")
                .expect("unparseable rows counted");
            assert_eq!(unparseable["rows"], 1);
        }
        assert_eq!(v["files"][0]["format"], "focus", "{}", path.display());
        let (ours, _) = capplan_billed_totals(&v);
        let (theirs, _) = independent_totals(&path, "BilledCost", None);
        let ours_sum: Decimal = ours.values().copied().sum();
        let theirs_sum: Decimal = theirs.values().copied().sum();
        assert_eq!(ours_sum, theirs_sum, "{}", path.display());
    }
}

#[test]
fn focus_sample_defects_are_reported_not_fatal() {
    let Some(dir) = shared() else { return };
    let path = shared_file(&dir, "billing/focus/focus_sample.csv");
    let v = inspect_json(&path, &[]);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for expected in [
        "effective_cost_zero",
        "null_strings",
        "timestamp_without_zone",
        "respelled_values",
        "format_note",
    ] {
        assert!(
            codes.contains(&expected),
            "missing finding {expected}: {codes:?}"
        );
    }
    assert_eq!(v["files"][0]["version"], "1.0");
    assert_eq!(v["rows"], 1000);
}

#[test]
fn every_sample_ingests_to_series() {
    let Some(dir) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (case, granularity) in CASES
        .iter()
        .zip(["hour", "hour", "day", "hour", "day", "day"])
    {
        let path = shared_file(&dir, case.file);
        let out = tmp.path().join("s.csv");
        let o = Command::cargo_bin("capplan")
            .unwrap()
            .arg("ingest")
            .arg(&path)
            .args([
                "--by",
                "service,region",
                "--granularity",
                granularity,
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ingest {}: {}",
            case.file,
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.lines().count() > 1, "{}: no series rows", case.file);
        let recon: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("s.reconciliation.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(recon["reconciliation"]["balanced"], true);
    }
}
