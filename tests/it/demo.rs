//! The committed demo export: regenerating it reproduces it byte for byte, and ingestion
//! sees in it what the generator put there.

use std::path::Path;

use assert_cmd::Command;
use capplan::forecast::{ForecastSettings, forecast_usage};
use capplan::ingest::{self, AggregateOptions, Filter, InputOptions, Measure, Reason};
use capplan::series::Granularity;
use capplan::synth;

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/focus.parquet")
}

#[test]
fn regenerating_the_demo_reproduces_the_committed_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("focus.parquet");
    Command::cargo_bin("capplan")
        .unwrap()
        .args(["synth", "--out"])
        .arg(&out)
        .assert()
        .success();
    let fresh = std::fs::read(&out).unwrap();
    let committed = std::fs::read(demo()).unwrap();
    assert!(
        fresh == committed,
        "data/demo/focus.parquet is stale: run `capplan synth` and commit it"
    );
    assert!(
        committed.len() < 10_000_000,
        "demo export must stay under 10 MB"
    );
}

#[test]
fn demo_ingests_with_every_row_accounted_for() {
    let loaded = ingest::load(&InputOptions {
        inputs: vec![demo().display().to_string()],
        ..Default::default()
    })
    .unwrap();
    let inspection = loaded.inspect().unwrap();
    let truth = synth::truth(&synth::SynthConfig::default());
    let r = &inspection.reconciliation;
    assert!(r.balanced);
    assert_eq!(inspection.files[0].version.as_deref(), Some("1.2"));
    assert_eq!(inspection.granularity, Some(Granularity::Hour));
    assert_eq!(inspection.gaps, 0);
    assert_eq!(r.rows(Reason::Unparseable), 0);
    assert_eq!(r.rows(Reason::Credit), truth.credit_rows as u64);
    assert!(
        r.rows(Reason::Tax) > 0
            && r.rows(Reason::Purchase) > 0
            && r.rows(Reason::UnusedCommitment) > 0
    );
    assert_eq!(inspection.start.unwrap().date_naive(), truth.start);
    assert!(
        inspection
            .findings
            .iter()
            .all(|f| f.code != "unparseable_rows")
    );
}

#[test]
fn demo_shows_the_migration_between_families() {
    let loaded = ingest::load(&InputOptions {
        inputs: vec![demo().display().to_string()],
        ..Default::default()
    })
    .unwrap();
    let agg = AggregateOptions {
        by: vec!["family".into()],
        granularity: Some(Granularity::Month),
        filters: vec![Filter {
            key: "service".into(),
            value: "Amazon Elastic Compute Cloud".into(),
        }],
        measure: Measure::Quantity,
    };
    let out = loaded.aggregate(&agg).unwrap();
    let series = |family: &str| {
        out.series
            .iter()
            .find(|s| s.key.0[0].1 == family)
            .unwrap_or_else(|| panic!("{family}"))
    };
    let (m6i, c6i) = (series("m6i"), series("c6i"));
    assert_eq!(m6i.values.len(), 24);
    // Migration ramps m6i → c6i from 2026-04 to 2026-05 (months 18-19 of the data).
    let share = |i: usize| c6i.values[i] / (c6i.values[i] + m6i.values[i]);
    assert!(
        share(22) > share(16) + 0.15,
        "c6i share before {:.2} after {:.2}",
        share(16),
        share(22)
    );
    assert!(out.reconciliation.rows(Reason::Filtered) > 0);
}

#[test]
fn demo_anomalies_are_the_strongest_flags_of_their_series() {
    let loaded = ingest::load(&InputOptions {
        inputs: vec![demo().display().to_string()],
        ..Default::default()
    })
    .unwrap();
    let agg = AggregateOptions {
        by: vec!["service".into(), "region".into(), "family".into()],
        granularity: Some(Granularity::Hour),
        filters: Vec::new(),
        measure: Measure::Quantity,
    };
    let out = loaded.aggregate(&agg).unwrap();
    let truth = synth::truth(&synth::SynthConfig::default());
    assert!(!truth.anomalies.is_empty());
    // A short backtest keeps this fast; anomaly detection does not depend on it.
    let mut settings = ForecastSettings::new(24);
    settings.windows = 2;
    for a in &truth.anomalies {
        let affected: Vec<_> = out
            .series
            .iter()
            .filter(|s| {
                let dim = |k: &str| {
                    s.key
                        .0
                        .iter()
                        .find(|(kk, _)| kk == k)
                        .map(|(_, v)| v.as_str())
                };
                dim("service") == Some(a.service.as_str())
                    && dim("region") == Some(a.region.as_str())
                    && a.family.as_deref().is_none_or(|f| dim("family") == Some(f))
            })
            .collect();
        assert!(!affected.is_empty(), "{a:?}");
        // The anomaly must be flagged in at least one affected series, as its strongest flag.
        let found = affected.iter().any(|s| {
            let f = forecast_usage(s, &settings).unwrap();
            f.anomalies
                .iter()
                .max_by(|x, y| x.peak_z.abs().total_cmp(&y.peak_z.abs()))
                .is_some_and(|top| {
                    top.start.naive_utc() < a.end
                        && top.end.naive_utc() >= a.start
                        && (top.peak_z > 0.0) == (a.factor > 1.0)
                })
        });
        assert!(found, "injected anomaly not the top flag: {a:?}");
    }
}
