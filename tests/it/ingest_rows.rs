//! Row semantics of real export structures (issue 13, "silent wrong results"): rows that
//! restate other rows' usage, rows without a currency or unit, CUR 2.0 tag maps, unparseable
//! cost under `--lenient`, quantities below 9 decimals, typed Parquet outputs and missing
//! BilledCost. Fixtures are synthesised from the formats' documentation in
//! `tests/fixtures/ingest_rows/`.

use std::path::PathBuf;

use capplan::ingest::{self, AggregateOptions, Ingested, InputOptions, Measure, Reason};
use capplan::series::Granularity;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ingest_rows")
        .join(name)
        .display()
        .to_string()
}

fn opts(names: &[&str]) -> InputOptions {
    InputOptions {
        inputs: names.iter().map(|n| fixture(n)).collect(),
        ..Default::default()
    }
}

fn aggregate(input: &InputOptions, by: &[&str], measure: Measure) -> Ingested {
    ingest::load(input)
        .unwrap()
        .aggregate(&AggregateOptions {
            by: by.iter().map(|s| s.to_string()).collect(),
            granularity: Some(Granularity::Hour),
            filters: vec![],
            measure,
        })
        .unwrap()
}

fn finding<'a>(out: &'a Ingested, code: &str) -> Option<&'a ingest::Finding> {
    out.findings.iter().find(|f| f.code == code)
}

fn series_values(out: &Ingested, key: &str) -> Vec<f64> {
    out.series
        .iter()
        .find(|s| s.key.0.iter().any(|(_, v)| v == key))
        .unwrap_or_else(|| panic!("no series {key}: {:?}", out.series))
        .values
        .clone()
}

#[test]
fn cur_ebs_optimized_hours_are_not_counted_as_instance_hours() {
    let out = aggregate(
        &opts(&["cur_ebs_optimized.csv"]),
        &["instance_type"],
        Measure::Quantity,
    );
    // One m4.4xlarge ran two full hours; one c5.xlarge half an hour, then a full hour.
    assert_eq!(series_values(&out, "m4.4xlarge"), vec![1.0, 1.0]);
    assert_eq!(series_values(&out, "c5.xlarge"), vec![0.5, 1.0]);
    assert_eq!(out.reconciliation.rows(Reason::RestatedUsage), 4);
    assert_eq!(out.reconciliation.rows(Reason::Used), 4);
    let f = finding(&out, "restated_usage").expect("a restated_usage finding");
    assert_eq!(f.count, 4);
    assert!(f.message.contains("EBSOptimized"), "{}", f.message);
    // Cost measures keep every row (the restating rows cost 0 here).
    let cost = aggregate(
        &opts(&["cur_ebs_optimized.csv"]),
        &["instance_type"],
        Measure::BilledCost,
    );
    assert_eq!(cost.reconciliation.rows(Reason::RestatedUsage), 0);
    assert_eq!(cost.reconciliation.rows(Reason::Used), 8);
}

#[test]
fn focus_ebs_optimized_rows_from_aws_are_not_counted_as_hours() {
    for name in ["focus_ebs_optimized.csv", "focus_x_usage_type.csv"] {
        let out = aggregate(&opts(&[name]), &["service"], Measure::Quantity);
        assert_eq!(
            series_values(&out, "Amazon Elastic Compute Cloud"),
            vec![1.0, 1.0],
            "{name}"
        );
        assert_eq!(out.reconciliation.rows(Reason::RestatedUsage), 2, "{name}");
        assert!(finding(&out, "restated_usage").is_some(), "{name}");
    }
}

#[test]
fn quantities_below_nine_decimals_are_kept() {
    let out = aggregate(
        &opts(&["focus_tiny_quantity.csv"]),
        &["service"],
        Measure::Quantity,
    );
    let v = series_values(&out, "Amazon Simple Notification Service");
    let expected = [5.03e-8, 1.25e-12, 123_456.123_456_789 + 5.03e-8];
    assert_eq!(v.len(), 3);
    for (got, want) in v.iter().zip(expected) {
        assert!(
            ((got - want) / want).abs() < 1e-12,
            "got {got:e}, want {want:e}"
        );
    }
}

#[test]
fn parquet_series_store_timestamps_and_costs_typed_and_read_back_exactly() {
    let out = aggregate(
        &opts(&["focus_tiny_quantity.csv"]),
        &["service"],
        Measure::Quantity,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    capplan::export::write_series(&path, &out.series).unwrap();
    // The Parquet schema (read through polars, as a reader of the file would).
    use polars::prelude::*;
    let df = LazyFrame::scan_parquet(
        PlRefPath::try_from_path(&path).unwrap(),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert!(
        matches!(
            df.column("timestamp").unwrap().dtype(),
            DataType::Datetime(TimeUnit::Microseconds, Some(tz)) if tz.as_str() == "UTC"
        ),
        "{:?}",
        df.schema()
    );
    assert!(
        matches!(
            df.column("effective_cost").unwrap().dtype(),
            DataType::Decimal(_, _)
        ),
        "{:?}",
        df.schema()
    );
    // Read back as tidy input: the same values and the exact costs.
    let back = aggregate(
        &InputOptions {
            inputs: vec![path.display().to_string()],
            ..Default::default()
        },
        &["service"],
        Measure::EffectiveCost,
    );
    let cost: Vec<String> = back.series[0]
        .cost
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.amount().normalize().to_string())
        .collect();
    assert_eq!(cost, vec!["0.0000000252", "0.0000000001", "1"]);
}

#[test]
fn rows_without_a_currency_are_excluded_with_a_reason() {
    for currency in [None, Some("JPY")] {
        let input = InputOptions {
            currency: currency.map(|c| c.parse().unwrap()),
            ..opts(&["focus_missing_currency.csv"])
        };
        let out = aggregate(&input, &["service"], Measure::Quantity);
        assert_eq!(
            series_values(&out, "Compute"),
            vec![2.0, 2.0],
            "{currency:?}"
        );
        assert_eq!(
            out.reconciliation.rows(Reason::NoCurrency),
            2,
            "{currency:?}"
        );
        assert_eq!(out.reconciliation.rows(Reason::Used), 2, "{currency:?}");
        assert_eq!(finding(&out, "no_currency").map(|f| f.count), Some(2));
    }
}

#[test]
fn a_file_without_currency_is_labelled_with_a_finding() {
    let out = aggregate(
        &opts(&["tidy_cost_no_currency.csv"]),
        &["service"],
        Measure::EffectiveCost,
    );
    let f = finding(&out, "currency_assumed").expect("a currency_assumed finding");
    assert_eq!(f.count, 2);
    assert!(f.message.contains("USD"), "{}", f.message);
    // With --currency the label is the user's, still said.
    let input = InputOptions {
        currency: Some("EUR".parse().unwrap()),
        ..opts(&["tidy_cost_no_currency.csv"])
    };
    let out = aggregate(&input, &["service"], Measure::EffectiveCost);
    let f = finding(&out, "currency_assumed").expect("a currency_assumed finding");
    assert!(f.message.contains("EUR") && f.message.contains("--currency"));
    assert_eq!(
        out.series[0].cost.as_ref().unwrap()[1].currency().code(),
        "EUR"
    );
}

#[test]
fn cur_rows_without_pricing_unit_are_kept_apart_by_usage_type() {
    let out = aggregate(
        &opts(&["cur_no_pricing_unit.csv"]),
        &["service"],
        Measure::Quantity,
    );
    let mut units: Vec<(&str, Vec<f64>)> = out
        .series
        .iter()
        .map(|s| (s.unit.as_str(), s.values.clone()))
        .collect();
    units.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        units,
        vec![
            ("Requests", vec![0.0, 1_000_000.0]),
            ("usage type USE1-Lambda-GB-Second", vec![4000.0, 6000.0]),
            ("usage type USE1-Request", vec![25.0, 35.0]),
        ]
    );
    assert!(out.series.iter().all(|s| s.unit != "(none)"));
    assert_eq!(
        finding(&out, "unit_from_usage_type").map(|f| f.count),
        Some(4)
    );
}

#[test]
fn cur2_resource_tags_feed_tag_dimensions() {
    let out = aggregate(
        &opts(&["cur2_resource_tags.csv"]),
        &["tag:team"],
        Measure::Quantity,
    );
    assert_eq!(series_values(&out, "search"), vec![1.0, 1.0]);
    assert_eq!(series_values(&out, "ads"), vec![1.0, 0.0]);
    assert_eq!(series_values(&out, "(none)"), vec![0.0, 1.0]);
    assert!(finding(&out, "unknown_tag_key").is_none());
    // A key no row has: a warning, not a silent "(none)" series.
    let out = aggregate(
        &opts(&["cur2_resource_tags.csv"]),
        &["tag:tema"],
        Measure::Quantity,
    );
    let f = finding(&out, "unknown_tag_key").expect("an unknown_tag_key finding");
    assert!(f.message.contains("tema"), "{}", f.message);
}

#[test]
fn lenient_unparseable_cost_is_unknown_not_balanced() {
    let input = InputOptions {
        lenient: true,
        ..opts(&["focus_lenient_cost.csv"])
    };
    let out = aggregate(&input, &["service"], Measure::Quantity);
    let r = &out.reconciliation;
    assert!(!r.balanced, "{r:?}");
    assert_eq!(r.rows(Reason::Unparseable), 2);
    let billed = r
        .unknown
        .iter()
        .find(|u| u.column == "billed_cost")
        .unwrap();
    assert_eq!(billed.rows, 2);
    assert_eq!(billed.source_column, "BilledCost");
    assert_eq!(
        billed.first.iter().map(|(_, row)| *row).collect::<Vec<_>>(),
        vec![2, 4]
    );
    let effective = r
        .unknown
        .iter()
        .find(|u| u.column == "effective_cost")
        .unwrap();
    assert_eq!(effective.rows, 1);
    assert_eq!(effective.first[0].1, 2);
}

#[test]
fn lenient_reconciliation_prints_unknown_rows() {
    let o = assert_cmd::Command::cargo_bin("capplan")
        .unwrap()
        .args(["inspect", &fixture("focus_lenient_cost.csv"), "--lenient"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(!stdout.contains("balanced: yes"), "{stdout}");
    assert!(stdout.contains("balanced: NO"), "{stdout}");
    assert!(stdout.contains("row 2, "), "{stdout}");
}

#[test]
fn empty_or_null_billed_cost_is_a_finding() {
    let out = aggregate(
        &opts(&["focus_null_billed_cost.csv"]),
        &["service"],
        Measure::Quantity,
    );
    assert_eq!(
        finding(&out, "billed_cost_missing").map(|f| f.count),
        Some(2)
    );
}

#[test]
fn no_quantity_column_is_named_as_such() {
    let err = ingest::load(&opts(&["azure_localised_quantity.csv"]))
        .unwrap()
        .aggregate(&AggregateOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no quantity column recognised"), "{err}");
    assert!(
        err.contains("`Quantity`") && err.contains("Verbrauchte Menge"),
        "{err}"
    );
    assert!(
        !err.contains("--currency") && !err.contains("--filter"),
        "{err}"
    );
}

#[test]
fn cur2_resource_tags_map_in_parquet_feeds_tag_dimensions() {
    use polars::prelude::*;
    // CUR 2.0 Parquet: resource_tags is a map, i.e. a list of key/value structs per row.
    let tags = |pairs: &[(&str, &str)]| -> Series {
        let keys = Series::new("key".into(), pairs.iter().map(|p| p.0).collect::<Vec<_>>());
        let values = Series::new(
            "value".into(),
            pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        StructChunked::from_series("".into(), pairs.len(), [keys, values].iter())
            .unwrap()
            .into_series()
    };
    let rows = [
        tags(&[("user_team", "search"), ("user_env", "prod")]),
        tags(&[("user_team", "ads")]),
        tags(&[("user_team", "search")]),
    ];
    let list: ListChunked = rows.into_iter().map(Some).collect::<ListChunked>();
    let mut df = df!(
        "line_item_line_item_type" => ["Usage", "Usage", "Usage"],
        "line_item_usage_start_date" => ["2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", "2024-05-01T01:00:00Z"],
        "line_item_usage_end_date" => ["2024-05-01T01:00:00Z", "2024-05-01T01:00:00Z", "2024-05-01T02:00:00Z"],
        "line_item_usage_amount" => [1.0, 1.0, 1.0],
        "line_item_currency_code" => ["USD", "USD", "USD"],
        "line_item_unblended_cost" => ["0.0104", "0.0208", "0.0104"],
        "pricing_unit" => ["Hrs", "Hrs", "Hrs"],
    )
    .unwrap();
    df.with_column(list.with_name("resource_tags".into()).into_column())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cur2.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let out = aggregate(
        &InputOptions {
            inputs: vec![path.display().to_string()],
            ..Default::default()
        },
        &["tag:team"],
        Measure::Quantity,
    );
    assert_eq!(series_values(&out, "search"), vec![1.0, 1.0]);
    assert_eq!(series_values(&out, "ads"), vec![1.0, 0.0]);
}
