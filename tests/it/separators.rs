//! Field separators of real exports (issue 13, found on a real public CUR 2.0 text export of
//! Athena/Glue, which separates fields with Hive's `\x01`): `\x01`, tab, `;` and `|` files are
//! read like the comma-separated file with the same rows, an info finding names the file and
//! its separator, errors keep their row and column, decimal commas are named and not guessed,
//! and a header that splits at no known format says what it seems to use. Every input is
//! written here, in the formats' documented column names.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Output;
use std::str::FromStr;

use crate::common::{run_in as run, stderr_of as stderr};
use rust_decimal::Decimal;

const HIVE: char = '\x01';

fn inspect_json(dir: &Path, file: &str) -> serde_json::Value {
    let o = run(dir, &["inspect", "--format", "json", file]);
    assert!(o.status.success(), "{file}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A failed run: exit 2, one `error:` line naming `file`, and no panic text.
fn bad_input(o: &Output, file: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(file), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn finding<'a>(v: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}

/// What must not depend on the separator: rows, span, breakdowns and the reconciliation.
fn content(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    let o = v.as_object_mut().unwrap();
    o.remove("files");
    o.remove("findings");
    v
}

/// A table (header and rows; `None` is a missing value) as delimited text. Comma, `;`, tab
/// and `|` files quote a field holding the separator, a quote or a line end (RFC 4180); Hive
/// text does not quote and writes a missing value as `\N`, as Athena/Glue text tables do.
fn delimited(header: &[&str], rows: &[Vec<Option<String>>], sep: char) -> String {
    let field = |v: &Option<String>| -> String {
        match v {
            None if sep == HIVE => "\\N".to_string(),
            None => String::new(),
            Some(s) if sep == HIVE => {
                assert!(!s.contains([HIVE, '\n']));
                s.clone()
            }
            Some(s) if s.contains([sep, '"', '\n']) => format!("\"{}\"", s.replace('"', "\"\"")),
            Some(s) => s.clone(),
        }
    };
    let mut out = header.join(&sep.to_string());
    out.push('\n');
    for r in rows {
        assert_eq!(r.len(), header.len());
        let line: Vec<String> = r.iter().map(field).collect();
        out.push_str(&line.join(&sep.to_string()));
        out.push('\n');
    }
    out
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn write_zip(path: &Path, name: &str, bytes: &[u8]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, options).unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap();
}

fn sum(rows: &[Vec<Option<String>>], column: usize) -> Decimal {
    rows.iter()
        .filter_map(|r| r[column].as_deref())
        .map(|v| Decimal::from_str(v).unwrap())
        .sum()
}

fn billed_total(v: &serde_json::Value) -> Decimal {
    let source = v["reconciliation"]["source"].as_array().unwrap();
    assert_eq!(source.len(), 1, "{source:?}");
    Decimal::from_str(source[0]["billed_cost"].as_str().unwrap()).unwrap()
}

// ------------------------------------------------------------------ CUR 2.0 as Hive text

/// CUR 2.0 column names as an Athena/Glue text table of a CUR writes them (a subset).
const CUR2: &[&str] = &[
    "identity_line_item_id",
    "identity_time_interval",
    "bill_billing_entity",
    "bill_bill_type",
    "bill_payer_account_id",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_blended_cost",
    "line_item_line_item_description",
    "product_product_name",
    "product_instance_type",
    "product_region",
    "pricing_term",
    "pricing_unit",
    "reservation_reservation_a_r_n",
    "resource_tags_user_team",
    "year",
    "month",
];

/// `hours` hours of two EC2 instances and S3 storage in CUR 2.0 columns. Descriptions hold
/// commas and quotes (which Hive text does not quote); the reservation ARN is missing.
fn cur2_rows(hours: u32) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    for h in 0..hours {
        let start = format!("2024-03-{:02} {:02}:00:00", 1 + h / 24, h % 24);
        let end = format!("2024-03-{:02} {:02}:00:00", 1 + (h + 1) / 24, (h + 1) % 24);
        let interval = format!(
            "{}/{}",
            start.replace(' ', "T") + "Z",
            end.replace(' ', "T") + "Z"
        );
        let line = |n: u32,
                    code: &str,
                    usage_type: &str,
                    resource: &str,
                    amount: &str,
                    rate: &str,
                    cost: &str,
                    description: &str,
                    instance: &str,
                    unit: &str| {
            let s = |v: &str| Some(v.to_string());
            vec![
                s(&format!("li{h:04}{n}")),
                s(&interval),
                s("AWS"),
                s("Anniversary"),
                s("111122223333"),
                s("2024-03-01 00:00:00"),
                s("2024-04-01 00:00:00"),
                s("444455556666"),
                s("Usage"),
                s(&start),
                s(&end),
                s(code),
                s(usage_type),
                s(if code == "AmazonEC2" {
                    "RunInstances"
                } else {
                    "StandardStorage"
                }),
                s("us-east-1a"),
                s(resource),
                s(amount),
                s("USD"),
                s(rate),
                s(cost),
                s(cost),
                s(description),
                s(if code == "AmazonEC2" {
                    "Amazon Elastic Compute Cloud"
                } else {
                    "Amazon Simple Storage Service"
                }),
                s(instance),
                s("us-east-1"),
                s("OnDemand"),
                s(unit),
                None,
                if n == 0 { s("web, \"blue\"") } else { None },
                s("2024"),
                s("3"),
            ]
        };
        rows.push(line(
            0,
            "AmazonEC2",
            "BoxUsage:m5.large",
            "i-0a1b2c3d4e5f60001",
            "1.0",
            "0.0960000000",
            "0.096",
            "$0.096 per On Demand Linux m5.large Instance Hour, \"EBS only\"",
            "m5.large",
            "Hrs",
        ));
        rows.push(line(
            1,
            "AmazonEC2",
            "BoxUsage:c5.xlarge",
            "i-0a1b2c3d4e5f60002",
            "1.0",
            "0.1700000000",
            "0.17",
            "$0.17 per On Demand Linux c5.xlarge Instance Hour",
            "c5.xlarge",
            "Hrs",
        ));
        rows.push(line(
            2,
            "AmazonS3",
            "TimedStorage-ByteHrs",
            "example-bucket",
            &format!("0.{:03}1389", 100 + h),
            "0.0230000000",
            &format!("0.00{:03}3194", 230 + h),
            "$0.023 per GB - first 50 TB / month of storage used",
            "",
            "GB-Mo",
        ));
    }
    rows
}

#[test]
fn cur2_hive_text_reads_like_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let rows = cur2_rows(30);
    let cost = CUR2
        .iter()
        .position(|c| *c == "line_item_unblended_cost")
        .unwrap();
    fs::write(dir.path().join("cur.csv"), delimited(CUR2, &rows, ',')).unwrap();
    // Athena/Glue output: gzipped, no `.csv` in the name, `\x01` between fields.
    let hive = delimited(CUR2, &rows, HIVE);
    fs::write(dir.path().join("cur2-part0.gz"), gzip(&hive)).unwrap();
    fs::write(dir.path().join("cur2-part0.txt"), &hive).unwrap();
    let csv = inspect_json(dir.path(), "cur.csv");
    assert_eq!(csv["rows"].as_u64(), Some(rows.len() as u64));
    assert_eq!(billed_total(&csv), sum(&rows, cost));
    assert!(finding(&csv, "separator").is_none(), "{csv:#}");
    for name in ["cur2-part0.gz", "cur2-part0.txt"] {
        let v = inspect_json(dir.path(), name);
        assert_eq!(content(&v), content(&csv), "{name}");
        assert_eq!(v["reconciliation"]["balanced"], true);
        let f = finding(&v, "separator").expect("a separator finding");
        assert_eq!(f["severity"], "info");
        let m = f["message"].as_str().unwrap();
        assert!(m.contains(name) && m.contains(r"`\x01` (Hive"), "{m}");
        // Hive's `\N` is a missing value, said once.
        let f = finding(&v, "null_strings").expect("a null_strings finding");
        assert!(f["message"].as_str().unwrap().contains(r"`\N`"), "{f}");
    }
    // The series, by the tag whose value holds a comma and quotes, are the CSV's.
    for name in ["cur.csv", "cur2-part0.gz"] {
        let out = format!("{name}.series.csv");
        let o = run(
            dir.path(),
            &["ingest", name, "--out", &out, "--by", "service,tag:team"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = fs::read_to_string(dir.path().join("cur.csv.series.csv")).unwrap();
    let b = fs::read_to_string(dir.path().join("cur2-part0.gz.series.csv")).unwrap();
    assert!(a.contains("\"web, \"\"blue\"\"\""), "{a}");
    assert_eq!(a, b);
}

#[test]
fn hive_text_errors_keep_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cost = CUR2
        .iter()
        .position(|c| *c == "line_item_unblended_cost")
        .unwrap();
    // A bad amount on row 4.
    let mut rows = cur2_rows(2);
    rows[3][cost] = Some("0.17 USD".into());
    fs::write(dir.path().join("bad.txt"), delimited(CUR2, &rows, HIVE)).unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "bad.txt"]), "bad.txt");
    assert!(
        err.contains("row 4, column `line_item_unblended_cost`") && err.contains("\"0.17 USD\""),
        "{err}"
    );
    // A description holding the separator itself (unescaped) on row 5.
    let description = CUR2
        .iter()
        .position(|c| *c == "line_item_line_item_description")
        .unwrap();
    let mut rows = cur2_rows(3);
    rows[4][description] = Some(format!("per hour{HIVE}Linux"));
    let mut text = String::new();
    text.push_str(&CUR2.join(&HIVE.to_string()));
    text.push('\n');
    for r in &rows {
        let line: Vec<&str> = r.iter().map(|v| v.as_deref().unwrap_or("\\N")).collect();
        text.push_str(&line.join(&HIVE.to_string()));
        text.push('\n');
    }
    fs::write(dir.path().join("ragged.txt"), &text).unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "ragged.txt"]), "ragged.txt");
    assert!(
        err.contains(&format!(
            "row 5 (line 6) has {} fields but the header has {}",
            CUR2.len() + 1,
            CUR2.len()
        )) && err.contains(r"unquoted `\x01`"),
        "{err}"
    );
    // Duplicate rows are found in Hive text as in CSV.
    let mut rows = cur2_rows(2);
    rows.push(rows[1].clone());
    fs::write(dir.path().join("dup.txt"), delimited(CUR2, &rows, HIVE)).unwrap();
    let err = stderr(&run(dir.path(), &["inspect", "dup.txt"]));
    assert!(
        err.contains("duplicate") && err.contains("rows 2 and 7"),
        "{err}"
    );
}

// ------------------------------------------------------------------ FOCUS, tab and pipe

const FOCUS: &[&str] = &[
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SubAccountId",
];

fn focus_rows(days: u32) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    for d in 0..days {
        for (i, (service, category, unit, qty, cost)) in [
            ("Virtual Machines", "Compute", "Hours", "48", "9.216"),
            ("Storage", "Storage", "GB-Month", "3.3333", "0.06667"),
        ]
        .into_iter()
        .enumerate()
        {
            let cost = format!("{cost}{d}");
            let s = |v: &str| Some(v.to_string());
            rows.push(vec![
                s(&cost),
                s("ba-001"),
                s("EUR"),
                s("2024-05-01T00:00:00Z"),
                s("2024-06-01T00:00:00Z"),
                s("Usage"),
                None,
                s("D2s v3, \"Linux\" | pay as you go; West Europe"),
                s(&format!("2024-05-{:02}T00:00:00Z", d + 1)),
                s(&format!("2024-05-{:02}T00:00:00Z", d + 2)),
                s(qty),
                s(unit),
                s(&cost),
                s(&cost),
                s(&cost),
                s(qty),
                s(unit),
                s("Microsoft"),
                s("Microsoft"),
                s("Microsoft"),
                s("westeurope"),
                s(&format!("/subscriptions/s1/resource{i}")),
                s(category),
                s(service),
                s(&format!("sku-{i}")),
                s("sub-1"),
            ]);
        }
    }
    rows
}

#[test]
fn focus_tab_and_pipe_read_like_the_csv_plain_and_zipped() {
    let dir = tempfile::tempdir().unwrap();
    let rows = focus_rows(10);
    fs::write(dir.path().join("focus.csv"), delimited(FOCUS, &rows, ',')).unwrap();
    let csv = inspect_json(dir.path(), "focus.csv");
    assert_eq!(csv["rows"].as_u64(), Some(rows.len() as u64));
    assert_eq!(billed_total(&csv), sum(&rows, 0));
    let tsv = delimited(FOCUS, &rows, '\t');
    fs::write(dir.path().join("focus.tsv"), &tsv).unwrap();
    write_zip(
        &dir.path().join("focus-tab.csv.zip"),
        "focus.csv",
        tsv.as_bytes(),
    );
    fs::write(
        dir.path().join("focus-pipe.csv"),
        delimited(FOCUS, &rows, '|'),
    )
    .unwrap();
    for (name, shown) in [
        ("focus.tsv", "tab"),
        ("focus-tab.csv.zip", "tab"),
        ("focus-pipe.csv", "`|` (pipe)"),
    ] {
        let v = inspect_json(dir.path(), name);
        assert_eq!(content(&v), content(&csv), "{name}");
        let f = finding(&v, "separator").expect("a separator finding");
        let m = f["message"].as_str().unwrap();
        assert!(m.contains(name) && m.contains(shown), "{m}");
    }
    // Several files with one separator: one finding naming both.
    // (the same rows twice: duplicates allowed)
    let both = run(
        dir.path(),
        &[
            "inspect",
            "--format",
            "json",
            "--allow-duplicates",
            "focus.tsv",
            "focus-tab.csv.zip",
        ],
    );
    assert!(both.status.success(), "{}", stderr(&both));
    let both: serde_json::Value = serde_json::from_slice(&both.stdout).unwrap();
    let f = finding(&both, "separator").unwrap();
    assert_eq!(f["count"], 2, "{f}");
}

// ------------------------------------------------------------------ `;`: tidy, decimal commas

#[test]
fn semicolon_tidy_reads_like_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let header = ["timestamp", "host", "value"];
    let rows: Vec<Vec<Option<String>>> = (0..48)
        .map(|h| {
            vec![
                Some(format!("2024-09-{:02}T{:02}:00:00Z", 1 + h / 24, h % 24)),
                Some(["web-1", "db;primary"][h as usize % 2].to_string()),
                Some(format!("{}.25", 10 + h % 7)),
            ]
        })
        .collect();
    fs::write(dir.path().join("usage.csv"), delimited(&header, &rows, ',')).unwrap();
    fs::write(
        dir.path().join("usage-sc.csv"),
        delimited(&header, &rows, ';'),
    )
    .unwrap();
    let csv = inspect_json(dir.path(), "usage.csv");
    let sc = inspect_json(dir.path(), "usage-sc.csv");
    assert_eq!(csv["rows"].as_u64(), Some(48));
    assert_eq!(content(&sc), content(&csv));
    let m = finding(&sc, "separator").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        m.contains("usage-sc.csv") && m.contains("`;` (semicolon)"),
        "{m}"
    );
    for name in ["usage.csv", "usage-sc.csv"] {
        let out = format!("{name}.series.csv");
        let o = run(dir.path(), &["ingest", name, "--out", &out, "--by", "host"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = fs::read_to_string(dir.path().join("usage.csv.series.csv")).unwrap();
    let b = fs::read_to_string(dir.path().join("usage-sc.csv.series.csv")).unwrap();
    assert!(a.contains("db;primary"), "{a}");
    assert_eq!(a, b);
}

#[test]
fn decimal_commas_are_named_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    // A tidy table re-saved by a German Excel: `;` between fields, `,` as decimal point.
    fs::write(
        dir.path().join("usage-de.csv"),
        "timestamp;host;value\n2024-09-01T00:00:00Z;web-1;12\n2024-09-01T01:00:00Z;web-1;12,5\n",
    )
    .unwrap();
    let err = bad_input(
        &run(dir.path(), &["inspect", "usage-de.csv"]),
        "usage-de.csv",
    );
    assert!(err.contains("row 2, column `value`"), "{err}");
    assert!(err.contains("decimal comma (`12,5` for 12.5)"), "{err}");
    assert!(err.contains("`.` as decimal separator"), "{err}");
    // Money too, with a thousands separator: FOCUS `BilledCost` of `1.234,56`.
    let mut rows = focus_rows(2);
    rows[1][0] = Some("1.234,56".into());
    fs::write(
        dir.path().join("focus-de.csv"),
        delimited(FOCUS, &rows, ';'),
    )
    .unwrap();
    let err = bad_input(
        &run(dir.path(), &["inspect", "focus-de.csv"]),
        "focus-de.csv",
    );
    assert!(
        err.contains("row 2, column `BilledCost`")
            && err.contains("(`1.234,56` for 1234.56)")
            && err.contains("with `;` between fields"),
        "{err}"
    );
    // Not guessed under --lenient either: the row is excluded and counted.
    let o = run(
        dir.path(),
        &["inspect", "--format", "json", "--lenient", "usage-de.csv"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reasons = v["reconciliation"]["by_reason"].as_array().unwrap();
    let rows_of = |reason: &str| {
        reasons
            .iter()
            .find(|r| r["reason"] == reason)
            .and_then(|r| r["rows"].as_u64())
    };
    assert_eq!(rows_of("used"), Some(1), "{v:#}");
    assert_eq!(rows_of("unparseable"), Some(1), "{v:#}");
}

// ------------------------------------------------------------------ headers of no known format

#[test]
fn a_header_of_no_known_format_says_what_it_seems_to_use() {
    let dir = tempfile::tempdir().unwrap();
    // `\x01` with unknown names and rows of unequal length, one holding a comma: the old
    // message blamed "an unquoted comma".
    fs::write(
        dir.path().join("odd.txt"),
        "alpha\x01beta\x01gamma\n1,5\x012\x013\n4\x015\n",
    )
    .unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "odd.txt"]), "odd.txt");
    assert!(
        err.contains(r"the header has 1 field at `,` (comma); the file seems to use `\x01` (Hive")
            && err.contains("row 2 (line 3) has 2 fields but the header has 3"),
        "{err}"
    );
    assert!(!err.contains("unquoted comma"), "{err}");
    // Without a comma in the data the reader takes the whole line as one column.
    fs::write(
        dir.path().join("odd2.txt"),
        "alpha\x01beta\x01gamma\n1\x012\x013\n4\x015\n",
    )
    .unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "odd2.txt"]), "odd2.txt");
    assert!(
        err.contains(r"the file seems to use `\x01` (Hive") && err.contains("splits into 3 fields"),
        "{err}"
    );
    // A consistent `;` table of no known format: its columns, split at `;`, are listed.
    fs::write(
        dir.path().join("plain.csv"),
        "when;machine;hours\n2024-09-01;a;1\n2024-09-02;a;2\n",
    )
    .unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "plain.csv"]), "plain.csv");
    assert!(
        err.contains("columns: when, machine, hours")
            && err.contains("read with `;` (semicolon) as field separator"),
        "{err}"
    );
    // ... and with the columns named, it is read.
    let o = run(
        dir.path(),
        &[
            "inspect",
            "--format",
            "json",
            "--input-format",
            "tidy",
            "--time-col",
            "when",
            "--quantity-col",
            "hours",
            "plain.csv",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"].as_u64(), Some(2));
}
