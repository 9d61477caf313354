//! Dates, spans and sizes (issue 13: items 2 and 3, hostile inputs 1, 2 and 8): two-digit
//! years, implausible years, per-series spans, exact money sums that cannot wrap, bounded
//! spans and timestamp formats decided from every row. Inputs are synthesised here (FOCUS
//! 1.2 columns as the specification names them, and tidy panels).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use capplan::ingest::{self, AggregateOptions, Finding, InputOptions, Measure};
use capplan::series::Granularity;
use rust_decimal::Decimal;

const FOCUS_HEADER: &str = "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ChargeClass,ServiceName,ServiceCategory,RegionId,ResourceId,SkuId,ConsumedQuantity,ConsumedUnit,ListCost,BilledCost,EffectiveCost,ProviderName,SubAccountId";

/// One FOCUS usage row: start, end, service, quantity, cost (as text, written as is).
fn focus_row(start: &str, end: &str, service: &str, qty: &str, cost: &str) -> String {
    format!(
        "123456789012,USD,{start},{end},Usage,,{service},Compute,us-east-1,r-1,SKU1,{qty},Hours,{cost},{cost},{cost},AWS,210987654321"
    )
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut text = String::new();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn focus_file(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let mut lines = vec![FOCUS_HEADER.to_string()];
    lines.extend(rows.iter().cloned());
    write(dir, name, &lines)
}

fn opts(paths: &[&Path]) -> InputOptions {
    InputOptions {
        inputs: paths.iter().map(|p| p.display().to_string()).collect(),
        ..Default::default()
    }
}

fn finding<'a>(findings: &'a [Finding], code: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.code == code)
}

fn hour(day: u32, h: u32) -> String {
    format!("2024-09-{day:02}T{h:02}:00:00Z")
}

// ------------------------------------------------------------------ item 2: M/D/YY

/// The FOCUS specification's SaaS examples write `4/1/25`: read as 2025 with a finding, not
/// year 0025.
#[test]
fn two_digit_years_are_20yy_with_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (1..=5)
        .map(|d| {
            focus_row(
                &format!("4/{d}/25"),
                &format!("4/{}/25", d + 1),
                "Saas",
                "1",
                "2.5",
            )
        })
        .collect();
    let p = focus_file(dir.path(), "saas.csv", &rows);
    let loaded = ingest::load(&opts(&[&p])).unwrap();
    let i = loaded.inspect().unwrap();
    assert_eq!(
        i.start.unwrap().to_rfc3339(),
        "2025-04-01T00:00:00+00:00",
        "{:?}",
        i.start
    );
    assert_eq!(i.end.unwrap().to_rfc3339(), "2025-04-06T00:00:00+00:00");
    let f = finding(&i.findings, "two_digit_year").expect("a two_digit_year finding");
    assert_eq!(f.count, 5);
    assert!(f.message.contains("20YY"), "{}", f.message);
    // The same input as series: five daily buckets of 2025.
    let ing = loaded
        .aggregate(&AggregateOptions {
            by: vec!["service".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ing.series.len(), 1);
    assert_eq!(ing.series[0].values, vec![1.0; 5]);
    assert!(finding(&ing.findings, "two_digit_year").is_some());
}

/// A mistyped year (`0024-…`) in a 4-row file is an error naming the row, not 17.5 million
/// hourly points.
#[test]
fn implausible_year_is_an_error_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        focus_row(&hour(18, 0), &hour(18, 1), "EC2", "1", "1"),
        focus_row(&hour(18, 1), &hour(18, 2), "EC2", "1", "1"),
        focus_row(
            "0024-09-18T02:00:00Z",
            "0024-09-18T03:00:00Z",
            "EC2",
            "1",
            "1",
        ),
        focus_row(&hour(18, 3), &hour(18, 4), "EC2", "1", "1"),
    ];
    let p = focus_file(dir.path(), "typo.csv", &rows);
    let loaded = ingest::load(&opts(&[&p])).unwrap();
    for err in [
        loaded.inspect().unwrap_err().to_string(),
        loaded
            .aggregate(&AggregateOptions::default())
            .unwrap_err()
            .to_string(),
    ] {
        for want in [
            "typo.csv",
            "row 3",
            "ChargePeriodStart",
            "0024-09-18",
            "2000",
        ] {
            assert!(err.contains(want), "{want:?} missing from: {err}");
        }
    }
    // --lenient: the row is excluded and counted, and a finding names it.
    let mut o = opts(&[&p]);
    o.lenient = true;
    let ing = ingest::load(&o)
        .unwrap()
        .aggregate(&AggregateOptions::default())
        .unwrap();
    assert_eq!(ing.series[0].values.len(), 4, "18 Sep 00:00..03:00");
    assert_eq!(ing.series[0].gaps_filled, 1);
    let f = finding(&ing.findings, "implausible_dates").expect("implausible_dates finding");
    assert_eq!(f.count, 1);
    assert!(
        f.message.contains("row 3") && f.message.contains("0024"),
        "{}",
        f.message
    );
}

/// Two rows spanning years 0001 to 9999: an error before anything is allocated.
#[test]
fn span_of_millennia_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        focus_row(
            "0001-01-01T00:00:00Z",
            "0001-01-01T01:00:00Z",
            "EC2",
            "1",
            "1",
        ),
        focus_row(
            "9999-12-31T22:00:00Z",
            "9999-12-31T23:00:00Z",
            "EC2",
            "1",
            "1",
        ),
    ];
    let p = focus_file(dir.path(), "wide.csv", &rows);
    // (Not `unwrap_err`: on failure it would print millions of points.)
    let result = ingest::load(&opts(&[&p]))
        .unwrap()
        .aggregate(&AggregateOptions::default());
    let err = match result {
        Ok(ing) => panic!("accepted: {} points", ing.series[0].values.len()),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("row 1") && err.contains("0001-01-01"), "{err}");
}

// ------------------------------------------------------------------ hostile 8: formats from all rows

/// A valid `+05:30` timestamp after the sample's first rows is read, not an error.
#[test]
fn offset_timestamp_after_the_sample_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (0..60)
        .map(|i| {
            focus_row(
                &hour(1 + i / 24, i % 24),
                &hour(1 + i / 24, i % 24 + 1).replace("T24", "T23"),
                "EC2",
                "1",
                "1",
            )
        })
        .collect();
    // Row 61: 2024-09-03T17:30:00+05:30 is 12:00 UTC.
    rows.push(focus_row(
        "2024-09-03T17:30:00+05:30",
        "2024-09-03T18:30:00+05:30",
        "EC2",
        "7",
        "1",
    ));
    let p = focus_file(dir.path(), "offset.csv", &rows);
    let ing = ingest::load(&opts(&[&p]))
        .unwrap()
        .aggregate(&AggregateOptions {
            granularity: Some(Granularity::Hour),
            ..Default::default()
        })
        .unwrap();
    let s = &ing.series[0];
    let at = s
        .values
        .iter()
        .enumerate()
        .find(|(_, v)| **v == 7.0)
        .map(|(i, _)| s.time_at(i).to_rfc3339());
    assert_eq!(at.as_deref(), Some("2024-09-03T12:00:00+00:00"));
}

fn slash_rows(days: &[(u32, u32)], day_first: bool) -> Vec<String> {
    days.iter()
        .enumerate()
        .map(|(i, (d, m))| {
            let (a, b) = if day_first { (*d, *m) } else { (*m, *d) };
            let s = format!("{a:02}/{b:02}/2024");
            // Daily rows: end = next day (same month in these tests).
            let (a2, b2) = if day_first { (d + 1, *m) } else { (*m, d + 1) };
            let e = format!("{a2:02}/{b2:02}/2024");
            focus_row(&s, &e, "EC2", &(i + 1).to_string(), "1")
        })
        .collect()
}

/// dd/mm dates whose first 250 rows all have days ≤ 12 are still read day-first when a later
/// row shows it (13/01/2024 cannot be month-first).
#[test]
fn day_first_dates_are_decided_from_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut days: Vec<(u32, u32)> = Vec::new();
    for _ in 0..25 {
        for d in 1..=10 {
            days.push((d, 1));
        }
    }
    days.push((13, 1));
    let p = focus_file(dir.path(), "ddmm.csv", &slash_rows(&days, true));
    let loaded = ingest::load(&opts(&[&p])).unwrap();
    let i = loaded.inspect().unwrap();
    assert_eq!(i.start.unwrap().to_rfc3339(), "2024-01-01T00:00:00+00:00");
    assert_eq!(i.end.unwrap().to_rfc3339(), "2024-01-14T00:00:00+00:00");
    assert!(finding(&i.findings, "ambiguous_date_order").is_none());
    let f = finding(&i.findings, "date_order").expect("the decision is reported");
    assert!(
        f.message.contains("day-first") && f.message.contains("13/01/2024"),
        "{}",
        f.message
    );
}

/// When every day is ≤ 12 the order cannot be decided: month-first is assumed and said.
#[test]
fn undecidable_date_order_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let days: Vec<(u32, u32)> = (1..=5).map(|d| (d, 2)).collect();
    let p = focus_file(dir.path(), "ambiguous.csv", &slash_rows(&days, false));
    let i = ingest::load(&opts(&[&p])).unwrap().inspect().unwrap();
    let f = finding(&i.findings, "ambiguous_date_order").expect("ambiguity finding");
    assert!(
        f.message.contains("month-first") && f.message.contains("ambiguous.csv"),
        "{}",
        f.message
    );
    assert_eq!(i.start.unwrap().to_rfc3339(), "2024-02-01T00:00:00+00:00");
}

// ------------------------------------------------------------------ item 3: per-series spans

/// A tidy panel of three metrics with different spans: each series covers its own data, no
/// years of zeros.
#[test]
fn tidy_series_keep_their_own_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec!["timestamp,metric,value".to_string()];
    for (metric, year) in [("a", 2020), ("b", 2022), ("c", 2024)] {
        for d in 1..=10 {
            lines.push(format!("{year}-03-{d:02},{metric},{d}"));
        }
    }
    // a gap inside b's span: 2022-03-11 missing, 03-12 present
    lines.push("2022-03-12,b,12".into());
    let p = write(dir.path(), "panel.csv", &lines);
    let ing = ingest::load(&opts(&[&p]))
        .unwrap()
        .aggregate(&AggregateOptions {
            by: vec!["metric".into()],
            ..Default::default()
        })
        .unwrap();
    let lens: Vec<(String, usize, usize, String)> = ing
        .series
        .iter()
        .map(|s| {
            (
                s.key.to_string(),
                s.values.len(),
                s.gaps_filled,
                s.start.date_naive().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lens,
        vec![
            ("metric=a".to_string(), 10, 0, "2020-03-01".to_string()),
            ("metric=b".to_string(), 12, 1, "2022-03-01".to_string()),
            ("metric=c".to_string(), 10, 0, "2024-03-01".to_string()),
        ]
    );
    let f = finding(&ing.findings, "gaps_filled").expect("fills reported");
    assert_eq!(f.count, 1);
    assert!(f.message.contains("metric=b"), "{}", f.message);
}

/// Two bills years apart: each series spans its own bill; within a bill a service that stops
/// is zero to the end of the bill's periods (its usage there is known to be zero), and the
/// fills are reported per series.
#[test]
fn bill_series_span_their_bill() {
    let dir = tempfile::tempdir().unwrap();
    let old: Vec<String> = (0..6)
        .flat_map(|h| {
            let mut v = vec![focus_row(
                &format!("2018-05-01T{h:02}:00:00Z"),
                &format!("2018-05-01T{:02}:00:00Z", h + 1),
                "EC2",
                "1",
                "1",
            )];
            if h < 2 {
                v.push(focus_row(
                    &format!("2018-05-01T{h:02}:00:00Z"),
                    &format!("2018-05-01T{:02}:00:00Z", h + 1),
                    "S3",
                    "5",
                    "1",
                ));
            }
            v
        })
        .collect();
    let new: Vec<String> = (0..4)
        .map(|h| focus_row(&hour(1, h), &hour(1, h + 1), "EC2", "2", "1"))
        .collect();
    let a = focus_file(dir.path(), "a2018.csv", &old);
    let b = focus_file(dir.path(), "b2024.csv", &new);
    let ing = ingest::load(&opts(&[&a, &b]))
        .unwrap()
        .aggregate(&AggregateOptions {
            by: vec!["service".into()],
            granularity: Some(Granularity::Hour),
            ..Default::default()
        })
        .unwrap();
    let total: usize = ing.series.iter().map(|s| s.values.len()).sum();
    // EC2: its two bills (6 + 4 hours) joined by the years between them would be ~55,000
    // points; S3: 6 hours of the 2018 bill (4 of them zero).
    let s3 = ing
        .series
        .iter()
        .find(|s| s.key.to_string() == "service=S3")
        .unwrap();
    assert_eq!(s3.values, vec![5.0, 5.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(s3.gaps_filled, 4);
    assert!(total < 1000, "{total} points");
    let ec2 = ing
        .series
        .iter()
        .find(|s| s.key.to_string() == "service=EC2")
        .unwrap();
    assert_eq!(ec2.values, vec![2.0; 4], "EC2 spans its latest bill");
    let f = finding(&ing.findings, "earlier_bills_left_out").expect("earlier bill reported");
    assert_eq!(f.count, 6);
    assert!(f.message.contains("service=EC2"), "{}", f.message);
    let f = finding(&ing.findings, "gaps_filled").expect("fills reported");
    assert!(f.message.contains("service=S3"), "{}", f.message);
}

// ------------------------------------------------------------------ hostile 1: money sums

/// Two rows of 99999999999999.5 USD in one hour sum to 199999999999999 exactly (the sum used
/// to wrap to a negative number while the reconciliation said balanced).
#[test]
fn money_sums_do_not_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        focus_row(&hour(18, 0), &hour(18, 1), "EC2", "1", "99999999999999.5"),
        focus_row(&hour(18, 0), &hour(18, 1), "EC2", "2", "99999999999999.5"),
    ];
    let p = focus_file(dir.path(), "big.csv", &rows);
    let ing = ingest::load(&opts(&[&p]))
        .unwrap()
        .aggregate(&AggregateOptions {
            measure: Measure::BilledCost,
            ..Default::default()
        })
        .unwrap();
    let want: Decimal = "199999999999999".parse().unwrap();
    assert_eq!(ing.reconciliation.source[0].totals.billed_cost, want);
    assert!(ing.reconciliation.balanced);
    assert_eq!(ing.series[0].cost.as_ref().unwrap()[0].amount(), want);
    assert_eq!(ing.series[0].values[0], 199999999999999.0);
}

/// An IDR bill whose total reaches 10^18: 20,000 rows of 5·10^13, summed exactly.
#[test]
fn bill_totals_of_1e18_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(FOCUS_HEADER);
    text.push('\n');
    for i in 0..20_000u32 {
        let h = i % 24;
        let row = focus_row(
            &hour(1 + (i / 24) % 28, h),
            &hour(1 + (i / 24) % 28, h + 1).replace("T24", "T23"),
            "EC2",
            &i.to_string(),
            "50000000000000.25",
        )
        .replace(",USD,", ",IDR,");
        writeln!(text, "{row}").unwrap();
    }
    let p = dir.path().join("idr.csv");
    std::fs::write(&p, text).unwrap();
    let i = ingest::load(&opts(&[&p])).unwrap().inspect().unwrap();
    let want: Decimal = "1000000000000005000".parse().unwrap();
    assert_eq!(i.reconciliation.source[0].totals.billed_cost, want);
    assert_eq!(i.currencies[0].billed_cost, want);
}

/// A value with more than 14 integer digits gets a message that says so (not "expected a
/// decimal number"); one with more than 28 significant digits is read with a finding.
#[test]
fn money_beyond_the_decimal_type_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![focus_row(
        &hour(18, 0),
        &hour(18, 1),
        "EC2",
        "1",
        "1234567890123456.5",
    )];
    let p = focus_file(dir.path(), "huge.csv", &rows);
    let err = ingest::load(&opts(&[&p]))
        .unwrap()
        .inspect()
        .unwrap_err()
        .to_string();
    assert!(!err.contains("expected a decimal number"), "{err}");
    assert!(
        err.contains("integer digits") && err.contains("row 1") && err.contains("Cost`"),
        "{err}"
    );

    let rows = vec![focus_row(
        &hour(18, 0),
        &hour(18, 1),
        "EC2",
        "1",
        "12345678901234.123456789012345678",
    )];
    let p = focus_file(dir.path(), "digits.csv", &rows);
    let i = ingest::load(&opts(&[&p])).unwrap().inspect().unwrap();
    let f = finding(&i.findings, "digits_dropped").expect("digits_dropped finding");
    assert!(f.message.contains("28"), "{}", f.message);
    assert_eq!(
        i.reconciliation.source[0].totals.billed_cost,
        "12345678901234.123456789012346".parse::<Decimal>().unwrap()
    );
}

// ------------------------------------------------------------------ hostile 2: horizons

#[test]
fn horizon_of_a_century_is_refused() {
    let text = "inputs.paths = [\"x.csv\"]\nrates = \"r.toml\"\nhorizon = \"100y\"\n";
    let err = capplan::scenario::ScenarioFile::from_toml_str(text, "plan.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("horizon") && err.contains("100y"), "{err}");
}

/// Sample paths over the horizon are bounded too: 10,000 paths over 10 years would be 876
/// million hourly values per pool.
#[test]
fn paths_times_horizon_is_bounded() {
    let text = "inputs.paths = [\"x.csv\"]\nrates = \"r.toml\"\nhorizon = \"10y\"\n[forecast]\npaths = 10000\n";
    let err = capplan::scenario::ScenarioFile::from_toml_str(text, "plan.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("forecast.paths") && err.contains("876000000"),
        "{err}"
    );
    let ok = "inputs.paths = [\"x.csv\"]\nrates = \"r.toml\"\nhorizon = \"3y\"\n[forecast]\npaths = 1000\n";
    capplan::scenario::ScenarioFile::from_toml_str(ok, "plan.toml").unwrap();
}
