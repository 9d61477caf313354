//! End-to-end tests of `capplan forecast` and `capplan backtest` on the bundled demo data.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/focus.parquet")
}

fn capplan() -> Command {
    Command::cargo_bin("capplan").unwrap()
}

fn forecast(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    capplan()
        .arg("forecast")
        .arg(demo())
        .args(["--by", "service", "--filter", "region=eu-west-1"])
        .args(["--granularity", "day", "--horizon", "60d"])
        .args(extra)
        .arg("--out")
        .arg(dir.join(out))
        .output()
        .unwrap()
}

#[test]
fn forecast_json_is_complete_and_byte_identical_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let a = forecast(dir.path(), "a.json", &["--limit", "service=AWS Lambda:1"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = forecast(dir.path(), "b.json", &["--limit", "service=AWS Lambda:1"]);
    assert!(b.status.success());
    let (ja, jb) = (
        std::fs::read(dir.path().join("a.json")).unwrap(),
        std::fs::read(dir.path().join("b.json")).unwrap(),
    );
    assert_eq!(ja, jb, "same inputs must give byte-identical forecasts");
    let v: serde_json::Value = serde_json::from_slice(&ja).unwrap();
    let fs = v["forecasts"].as_array().unwrap();
    assert_eq!(fs.len(), 2, "eu-west-1 has EC2 and Lambda");
    for f in fs {
        assert_eq!(f["forecast"]["point"].as_array().unwrap().len(), 60);
        assert_eq!(f["forecast"]["quantiles"].as_array().unwrap().len(), 7);
        assert!(f["model"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(f["reason"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(f["coverage"]["coverage80"].as_f64().is_some());
        assert!(!f["candidates"].as_array().unwrap().is_empty());
    }
    let lambda = fs.iter().find(|f| f["key"][0][1] == "AWS Lambda").unwrap();
    assert_eq!(lambda["saturation"]["limit"], 1.0);
    assert!(lambda["saturation"]["p50_first"].is_string());
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert!(stdout.contains("cov 80/95"), "{stdout}");
}

#[test]
fn forecast_csv_has_quantile_columns_and_a_models_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let out = forecast(dir.path(), "f.csv", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "service,unit,timestamp,model,point,p05,p10,p25,p50,p75,p90,p95"
    );
    assert_eq!(text.lines().count(), 1 + 2 * 60);
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("2026-10-01T00:00:00Z")
    );
    let models: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("f.models.json")).unwrap()).unwrap();
    assert!(models["forecasts"][0].get("forecast").is_none());
    assert!(models["forecasts"][0]["anomalies"].is_array());
}

#[test]
fn forecast_reads_series_written_by_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series.csv");
    capplan()
        .arg("ingest")
        .arg(demo())
        .args(["--by", "service", "--filter", "region=eu-west-1"])
        .args(["--granularity", "day", "--out"])
        .arg(&series)
        .assert()
        .success();
    let out = dir.path().join("f.json");
    capplan()
        .arg("forecast")
        .arg(&series)
        .args(["--by", "service", "--horizon", "2w", "--out"])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    assert_eq!(v["forecasts"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["forecasts"][0]["forecast"]["point"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
}

#[test]
fn events_are_applied_and_bad_event_files_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("events.toml");
    std::fs::write(
        &good,
        "[[event]]\nname = \"Lambda rewrite\"\nkind = \"decommission\"\nmatch = { service = \"AWS Lambda\" }\nstart = \"2026-11-01\"\neffect = { multiply = 0.0 }\n\n[[event]]\nname = \"nothing\"\nkind = \"launch\"\nmatch = { service = \"Nope\" }\nstart = \"2026-11-01\"\neffect = { add = 1.0 }\n",
    )
    .unwrap();
    let out = forecast(dir.path(), "f.json", &["--events", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning"));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("f.json")).unwrap()).unwrap();
    let lambda = v["forecasts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"][0][1] == "AWS Lambda")
        .unwrap();
    let point = lambda["forecast"]["point"].as_array().unwrap();
    assert!(
        point[0].as_f64().unwrap() > 0.0,
        "October is before the event"
    );
    assert_eq!(
        point[40].as_f64().unwrap(),
        0.0,
        "November is decommissioned"
    );
    assert_eq!(lambda["events"][0], "Lambda rewrite");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { family = \"a\" }\nto = { family = \"b\" }\nshare = 1.5\nstart = \"2026-11-01\"\n",
    )
    .unwrap();
    forecast(dir.path(), "x.json", &["--events", bad.to_str().unwrap()]);
    capplan()
        .arg("forecast")
        .arg(demo())
        .args(["--events", bad.to_str().unwrap(), "--out"])
        .arg(dir.path().join("x.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:6").and(predicate::str::contains("share")));
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, msg) in [
        (vec!["--horizon", "90x"], "unknown unit"),
        (vec!["--horizon", "0d"], "positive"),
        (vec!["--limit", "region=eu-west-1:-5"], "positive number"),
        (vec!["--granularity", "month"], "--granularity day"),
    ] {
        capplan()
            .arg("forecast")
            .arg(demo())
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("f.txt").with_extension("csv"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    capplan()
        .arg("forecast")
        .arg(demo())
        .arg("--out")
        .arg(dir.path().join("f.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".csv, .parquet, .json"));
}

#[test]
fn backtest_reports_every_model_and_auto() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt.csv");
    let run = capplan()
        .arg("backtest")
        .arg(demo())
        .args(["--by", "service", "--filter", "region=eu-west-1"])
        .args([
            "--granularity",
            "day",
            "--horizon",
            "14d",
            "--windows",
            "20",
        ])
        .args(["--step", "7d", "--min-calibration-windows", "5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("Overall (2 series)"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("series,model,baseline,windows,mase,rmsse,smape,pinball,scrps,coverage80,coverage95,winkler95"));
    for model in ["auto", "snaive", "ets", "mstl_ets"] {
        assert_eq!(
            text.lines()
                .filter(|l| l.split(',').nth(1) == Some(model))
                .count(),
            2,
            "{model} rows"
        );
    }
}
