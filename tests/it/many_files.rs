//! Many small files (issue 13, hostile inputs 2): a folder of one-row exports is read in time
//! linear in the number of files, and reads exactly like one file holding the same rows: the
//! same series, reconciliation and findings, the duplicate check across files, and errors that
//! name the file and row at fault.

use std::fmt::Write as _;
use std::path::Path;

use capplan::ingest::{self, AggregateOptions, Ingested, InputOptions, Measure};
use capplan::series::Granularity;

const HEADER: &str = "BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,CommitmentDiscountId,CommitmentDiscountStatus,ConsumedQuantity,ConsumedUnit,BilledCost,EffectiveCost,ListCost,PricingCategory,ProviderName,RegionId,ServiceName,SkuId,Tags,x_Team";

/// Data row `i` of the corpus: hourly usage of two services and two teams, quantities and
/// costs with varying decimals; row 200 repeats row 10 exactly (a duplicate across files).
fn row(i: usize) -> String {
    let i = if i == 200 { 10 } else { i };
    let h = i % 48;
    let day = 1 + h / 24;
    let (service, sku, unit) = if i % 3 == 0 {
        ("Amazon Simple Storage Service", "SKU2", "GB-Mo")
    } else {
        ("Amazon Elastic Compute Cloud", "SKU1", "Hours")
    };
    let team = if i % 2 == 0 { "web" } else { "data" };
    let quantity = format!("{}.{:03}", 1 + i % 5, (i * 37) % 1000);
    let cost = format!("0.{:06}", 100_000 + i * 1_234);
    format!(
        "111,USD,Usage,,2024-01-{day:02}T{:02}:00:00Z,2024-01-{day:02}T{:02}:59:59Z,,,{quantity},{unit},{cost},{cost},{cost},Standard,AWS,us-east-1,{service},{sku},,{team}",
        h % 24,
        h % 24
    )
}

fn write(path: &Path, rows: impl IntoIterator<Item = String>) {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        writeln!(text, "{r}").unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn aggregate(inputs: &[&Path], by: &[&str], measure: Measure) -> Result<Ingested, String> {
    let opts = InputOptions {
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        allow_duplicates: true,
        ..Default::default()
    };
    ingest::load(&opts)
        .and_then(|l| {
            l.aggregate(&AggregateOptions {
                by: by.iter().map(|s| s.to_string()).collect(),
                granularity: Some(Granularity::Hour),
                filters: vec![],
                measure,
            })
        })
        .map_err(|e| e.to_string())
}

const FILES: usize = 300;

#[test]
fn three_hundred_one_row_files_read_like_one_file_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let many = dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..FILES {
        write(&many.join(format!("part-{i:04}.csv")), [row(i)]);
    }
    let one = dir.path().join("one.csv");
    write(&one, (0..FILES).map(row));
    for (by, measure) in [
        (&["service", "x_Team"][..], Measure::Quantity),
        (&["sku"][..], Measure::EffectiveCost),
    ] {
        let a = aggregate(&[&many], by, measure).unwrap();
        let b = aggregate(&[&one], by, measure).unwrap();
        assert_eq!(a.series, b.series, "series by {by:?}");
        assert_eq!(
            a.reconciliation, b.reconciliation,
            "reconciliation by {by:?}"
        );
        assert!(a.reconciliation.balanced);
        let codes = |o: &Ingested| -> Vec<(String, u64)> {
            let mut v: Vec<_> = o
                .findings
                .iter()
                .map(|f| (f.code.clone(), f.count))
                .collect();
            v.sort();
            v
        };
        assert_eq!(codes(&a), codes(&b), "findings by {by:?}");
        // The duplicate of row 10 in file 200 is found across files, as within one file.
        assert!(
            codes(&a)
                .iter()
                .any(|(c, n)| c.contains("duplicate") && *n == 1),
            "{:?}",
            a.findings
        );
        assert_eq!(a.files.len(), FILES);
        assert!(a.files.iter().all(|f| f.rows == 1));
        assert_eq!(b.files[0].rows, FILES as u64);
    }
}

#[test]
fn a_bad_value_in_file_250_of_300_names_that_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        let rows = if i == 249 {
            vec![row(i), row(i + 1), row(i + 2)]
        } else {
            vec![row(i)]
        };
        write(&dir.path().join(format!("part-{i:04}.csv")), rows);
    }
    // Row 2 of file #250 has a quantity that is not a number.
    let bad = dir.path().join("part-0249.csv");
    let text = std::fs::read_to_string(&bad).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let q = row(250).split(',').nth(8).unwrap().to_string();
    lines[2] = lines[2].replacen(&format!(",{q},"), ",12x,", 1);
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let err = aggregate(&[dir.path()], &["service"], Measure::Quantity).unwrap_err();
    assert!(err.contains("part-0249.csv"), "{err}");
    assert!(err.contains("row 2"), "{err}");
    assert!(err.contains("ConsumedQuantity"), "{err}");
    assert!(err.contains("12x"), "{err}");
}
