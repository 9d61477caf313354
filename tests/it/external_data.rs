//! Tests on real public exports that are not in `../shared/data` and that a developer fetches
//! by hand (README, "Real exports beyond ../shared"). They run when `CAPPLAN_EXTERNAL_DATA`
//! points at that folder and then *fail* when a file is missing; CI cannot fetch them (no
//! network), so CI does not set it.
//!
//! `wa-labs/`: the AWS Well-Architected Labs "Cost and Usage Analysis" workshop CUR, October to
//! December 2018, one real account, as Athena Parquet (CUR 2.0 style `line_item_*` columns;
//! repository awslabs/aws-well-architected-labs, `static/Cost/200_4_Cost_and_Usage_Analysis/
//! Code/*2018-WorkshopCUR-00001.snappy.parquet`, Apache-2.0 and MIT-0).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use polars::prelude::*;

/// The folder of hand-fetched exports, if the developer set it (it must then exist).
fn external() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CAPPLAN_EXTERNAL_DATA")?);
    assert!(
        dir.is_dir(),
        "CAPPLAN_EXTERNAL_DATA={} is not a directory",
        dir.display()
    );
    Some(dir)
}

const WA_MONTHS: [&str; 3] = [
    "wa-labs/Oct2018-WorkshopCUR-00001.snappy.parquet",
    "wa-labs/Nov2018-WorkshopCUR-00001.snappy.parquet",
    "wa-labs/Dec2018-WorkshopCUR-00001.snappy.parquet",
];

fn wa_files(dir: &Path) -> Vec<PathBuf> {
    WA_MONTHS
        .iter()
        .map(|rel| {
            let p = dir.join(rel);
            assert!(
                p.is_file(),
                "external data file missing: {} (CAPPLAN_EXTERNAL_DATA is set, so this is a failure)",
                p.display()
            );
            p
        })
        .collect()
}

/// Instance-hours of one EC2 instance type computed independently of capplan: the sum of
/// `line_item_usage_amount` over the instance's own running time (`BoxUsage:<type>` usage
/// types, any region prefix), in hours.
fn box_usage_hours(files: &[PathBuf], instance_type: &str) -> f64 {
    let mut total = 0.0;
    for f in files {
        let df = LazyFrame::scan_parquet(
            PlRefPath::try_from_path(f).unwrap(),
            ScanArgsParquet::default(),
        )
        .unwrap()
        .filter(
            col("line_item_usage_type")
                .str()
                .ends_with(lit(format!("BoxUsage:{instance_type}")))
                .and(col("pricing_unit").eq(lit("Hrs"))),
        )
        .select([col("line_item_usage_amount").sum()])
        .collect()
        .unwrap();
        total += df
            .column("line_item_usage_amount")
            .unwrap()
            .f64()
            .unwrap()
            .get(0)
            .unwrap_or(0.0);
    }
    total
}

/// The real CUR writes an `EBSOptimized:<type>` row (cost 0, unit Hrs, same instance type) for
/// most `BoxUsage:<type>` hours; capplan's instance-hour series must count each hour once.
/// Before issue 13 the c5.large series summed 15,102 h for 7,384 running hours.
#[test]
fn wa_labs_workshop_cur_counts_instance_hours_once() {
    let Some(dir) = external() else { return };
    let files = wa_files(&dir);
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("ec2.csv");
    let o = Command::cargo_bin("capplan")
        .unwrap()
        .arg("ingest")
        .args(&files)
        .args([
            "--by",
            "instance_type",
            "--filter",
            "service=Amazon Elastic Compute Cloud",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (ty, unit, value) = (at("instance_type"), at("unit"), at("value"));
    let mut hours = std::collections::BTreeMap::<String, f64>::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[unit] == "Hrs" && !rec[ty].is_empty() {
            *hours.entry(rec[ty].to_string()).or_default() += rec[value].parse::<f64>().unwrap();
        }
    }
    for t in ["c5.large", "m5.large", "m4.xlarge", "t2.large"] {
        let want = box_usage_hours(&files, t);
        let got = hours.get(t).copied().unwrap_or(0.0);
        assert!(
            (got - want).abs() < 1e-6 * want.max(1.0),
            "{t}: capplan {got} instance-hours, BoxUsage rows {want}"
        );
    }
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        format!("{stdout}{stderr}").contains("restated_usage"),
        "the excluded EBSOptimized rows are reported: {stdout}{stderr}"
    );
}
