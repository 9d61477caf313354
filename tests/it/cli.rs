//! End-to-end tests of the `capplan` binary on small fixtures written for these tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn capplan() -> Command {
    Command::cargo_bin("capplan").unwrap()
}

fn inspect_json(args: &[&str]) -> serde_json::Value {
    let out = capplan()
        .arg("inspect")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn reason_rows(v: &serde_json::Value, reason: &str) -> u64 {
    v["reconciliation"]["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"] == reason)
        .map(|r| r["rows"].as_u64().unwrap())
        .sum()
}

#[test]
fn inspect_accounts_for_every_row() {
    let f = fixture("small_focus.csv");
    let v = inspect_json(&[f.to_str().unwrap()]);
    assert_eq!(v["rows"], 11);
    assert_eq!(v["files"][0]["rows"], 11);
    assert_eq!(v["files"][0]["format"], "focus");
    assert_eq!(v["granularity"], "hour");
    assert_eq!(reason_rows(&v, "used"), 7);
    assert_eq!(reason_rows(&v, "tax"), 1);
    assert_eq!(reason_rows(&v, "credit"), 1);
    assert_eq!(reason_rows(&v, "purchase"), 1);
    assert_eq!(reason_rows(&v, "unused_commitment"), 1);
    let source = &v["reconciliation"]["source"][0];
    assert_eq!(source["currency"], "USD");
    assert_eq!(source["rows"], 11);
    assert_eq!(source["billed_cost"], "91.186");
    assert_eq!(v["reconciliation"]["balanced"], true);
}

#[test]
fn rows_are_counted_per_file() {
    let a = fixture("small_focus.csv");
    let b = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input/09_usd_only.csv");
    let v = inspect_json(&[b.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(v["files"][0]["rows"], 4);
    assert_eq!(v["files"][1]["rows"], 11);
    assert_eq!(v["rows"], 15);
}

#[test]
fn inspect_table_is_human_readable() {
    capplan()
        .arg("inspect")
        .arg(fixture("small_focus.csv"))
        .assert()
        .success()
        .stdout(predicate::str::contains("FOCUS 1.0"))
        .stdout(predicate::str::contains("Amazon Elastic Compute Cloud"))
        .stdout(predicate::str::contains("balanced: yes (exact)"));
}

fn ingest(args: &[&str], out: &Path) -> std::process::Output {
    capplan()
        .arg("ingest")
        .arg(fixture("small_focus.csv"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn ingest_matches_golden_series() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("series.csv");
    let o = ingest(&["--by", "service,region", "--granularity", "hour"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = std::fs::read_to_string(&out).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/small_focus_service_region_hour.csv");
    if std::env::var_os("CAPPLAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden)
        .expect("golden file (set CAPPLAN_UPDATE_GOLDEN=1 to create)");
    assert_eq!(got, want);
    let recon: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("series.reconciliation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(recon["series"], 3);
    let gaps = recon["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "gaps_filled")
        .unwrap();
    assert_eq!(gaps["count"], 10);
}

/// `--by unit` makes the unit a dimension; the table still has one `unit` column (it used to
/// fail with "column with name 'unit' has more than one occurrence"), for CSV and Parquet.
#[test]
fn ingest_by_unit_writes_one_unit_column() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "parquet"] {
        let out = dir.path().join(format!("by_unit.{ext}"));
        let o = ingest(&["--by", "service,unit"], &out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let text = std::fs::read_to_string(dir.path().join("by_unit.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(
        header.iter().filter(|c| **c == "unit").count(),
        1,
        "{header:?}"
    );
    assert_eq!(header[..2], ["service", "unit"]);
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) != Some(""))
    );
}

#[test]
fn ingest_is_deterministic_for_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "parquet"] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        assert!(ingest(&["--by", "service,region,sku"], &a).status.success());
        assert!(ingest(&["--by", "service,region,sku"], &b).status.success());
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext} differs between runs"
        );
    }
}

#[test]
fn filter_counts_filtered_rows_and_tags_group() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let o = ingest(
        &[
            "--by",
            "tag:team",
            "--filter",
            "region=us-east-1",
            "--granularity",
            "day",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    // us-east-1 usage: web 3+3+3 = 9 Hours, data 100 GB-Mo; eu-west-1 is filtered out.
    assert!(text.contains("web,Hours,2024-01-01T00:00:00Z,9"), "{text}");
    assert!(
        text.contains("data,GB-Mo,2024-01-01T00:00:00Z,100"),
        "{text}"
    );
    assert!(!text.contains("1.5"));
    let recon: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("s.reconciliation.json")).unwrap(),
    )
    .unwrap();
    let filtered: u64 = recon["reconciliation"]["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"] == "filtered")
        .map(|r| r["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(filtered, 1);
}

#[test]
fn passthrough_x_columns_are_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    assert!(
        ingest(
            &[
                "--by",
                "x_Team",
                "--granularity",
                "day",
                "--measure",
                "billed-cost"
            ],
            &out
        )
        .status
        .success()
    );
    let text = std::fs::read_to_string(&out).unwrap();
    // billed cost of used rows: web 0.384+0+0.576+0.768-0.192 = 1.536; data 0.3+2.3 = 2.6
    assert!(
        text.contains("web,USD,2024-01-01T00:00:00Z,1.536"),
        "{text}"
    );
    assert!(text.contains("data,USD,2024-01-01T00:00:00Z,2.6"), "{text}");
}

#[test]
fn series_file_reads_back_as_tidy_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    assert!(ingest(&["--by", "service"], &out).status.success());
    let v = inspect_json(&[out.to_str().unwrap()]);
    assert_eq!(v["files"][0]["format"], "tidy");
    assert_eq!(v["reconciliation"]["balanced"], true);
}

#[test]
fn unknown_dimension_suggests_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = ingest(&["--by", "regoin"], &dir.path().join("s.csv"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown dimension `regoin`") && err.contains("did you mean `region`"),
        "{err}"
    );
}

#[test]
fn out_extension_is_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let o = ingest(&[], &dir.path().join("s.xlsx"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(".parquet or .csv"));
}

#[test]
fn help_and_version_exit_zero() {
    capplan()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("inspect"));
    capplan().arg("--version").assert().success();
    capplan().assert().code(2);
}
