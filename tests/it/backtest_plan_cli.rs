//! `capplan backtest-plan` end to end: the JSON's totals (captured share, margin over each
//! lookback rule), the plan file's strategies replayed with `--plan`, the CSV's per-rule
//! columns, bad plan files, and byte-identical repeats.

use std::fmt::Write as _;
use std::path::Path;

use super::common::run_in;

const RATES: &str = r#"
[[pool]]
id = "small"
match = { service = "Compute", instance_type = "s.large" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.10"
currency = "USD"
offer = [
  { id = "small-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.065" },
]

[[pool]]
id = "big"
match = { service = "Compute", instance_type = "b.xlarge" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.40"
currency = "USD"
offer = [ { id = "big-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.26" } ]
"#;

const PLAN: &str = r#"
inputs.paths = ["usage.csv"]
rates = "rates.toml"
as_of = 2026-08-01

[[scenario.strategy]]
name = "nothing"
kind = "none"

[[scenario.strategy]]
name = "same-as-capplan"
kind = "recommended"

[[scenario.strategy]]
name = "careful"
kind = "recommended"
risk = "conservative"

[[scenario.strategy]]
name = "cover-70"
kind = "coverage"
coverage_percent = 70

[[scenario.strategy]]
name = "lb30"
kind = "lookback"
days = 30

[[scenario.strategy]]
name = "list"
kind = "purchases"
purchase = [ { pool = "small", offer = "small-1y", quantity = 10, date = 2026-08-01 } ]
"#;

/// Hourly usage from 2026-06-01 to 2027-08-05 (two months before the decision date and a
/// year after it), in whole instances: `s.large` around 20 with a daily cycle, `b.xlarge` busy
/// in office hours.
fn write_inputs(dir: &Path) {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut csv = String::from("timestamp,service,instance_type,quantity,unit\n");
    for h in 0..430 * 24 {
        let hr = h % 24;
        let ts = (start + chrono::Duration::hours(h)).format("%Y-%m-%dT%H:%M:%SZ");
        let small =
            20.0 + 6.0 * ((hr as f64) / 24.0 * std::f64::consts::TAU).sin() + (h % 7) as f64 * 0.3;
        let big = if (9..18).contains(&hr) { 8.0 } else { 1.0 } + (h % 5) as f64 * 0.2;
        writeln!(csv, "{ts},Compute,s.large,{small:.0},Hours").unwrap();
        writeln!(csv, "{ts},Compute,b.xlarge,{big:.0},Hours").unwrap();
    }
    std::fs::write(dir.join("usage.csv"), csv).unwrap();
    std::fs::write(dir.join("rates.toml"), RATES).unwrap();
    std::fs::write(dir.join("plan.toml"), PLAN).unwrap();
}

fn backtest(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "backtest-plan",
        "usage.csv",
        "--rates",
        "rates.toml",
        "--decision",
        "2026-08-01",
        "--horizon",
        "1y",
        "--paths",
        "20",
    ];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

fn dec(v: &serde_json::Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

#[test]
fn json_has_totals_with_per_rule_margins_and_the_plan_files_strategies() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let run = backtest(
        dir.path(),
        &["--plan", "plan.toml", "--out", "backtest.json"],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Savings captured: capplan"), "{stdout}");
    assert!(
        stdout.contains("rule lookback 30d:") && stdout.contains("capplan's margin over it"),
        "{stdout}"
    );
    assert!(stdout.contains("strategy cover-70:"), "{stdout}");
    let text = std::fs::read_to_string(dir.path().join("backtest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        text.find("\"totals\"").unwrap() < text.find("\"decisions\"").unwrap(),
        "totals come first"
    );
    let t = &v["totals"];
    let (on_demand, capplan, hindsight) = (
        dec(&t["on_demand"]),
        dec(&t["capplan"]),
        dec(&t["hindsight"]),
    );
    assert!(hindsight <= capplan && capplan <= on_demand + 1e-9, "{t}");
    let captured = dec(&t["captured"]);
    let expect = (on_demand - capplan) / (on_demand - hindsight);
    assert!((captured - expect).abs() < 1e-4, "{captured} vs {expect}");
    let rules = t["lookback"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lookback 7d", "lookback 30d", "lookback 60d"]);
    for r in rules {
        let margin = dec(&r["margin"]);
        assert!((margin - (dec(&r["cost"]) - capplan)).abs() < 1e-9, "{r}");
        assert!(r["captured"].is_string(), "{r}");
    }
    let strategies = t["strategies"].as_array().unwrap();
    let names: Vec<&str> = strategies
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "nothing",
            "same-as-capplan",
            "careful",
            "cover-70",
            "lb30",
            "list"
        ]
    );
    let cost = |name: &str| dec(&strategies.iter().find(|r| r["name"] == name).unwrap()["cost"]);
    // Buying nothing is on demand; the recommended strategy with capplan's own risk is
    // capplan; the 30-day lookback strategy is the 30-day rule.
    assert!((cost("nothing") - on_demand).abs() < 1e-9);
    assert!((cost("same-as-capplan") - capplan).abs() < 0.011);
    let lb30 = dec(&rules[1]["cost"]);
    assert!(
        (cost("lb30") - lb30).abs() < 0.011,
        "{} vs {lb30}",
        cost("lb30")
    );
    // The listed purchase (10 units of small-1y at as_of) is bought at the decision date.
    assert!(cost("list") < on_demand, "{}", cost("list"));
    let decisions = v["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["date"], "2026-08-01");
    for p in decisions[0]["pools"].as_array().unwrap() {
        assert_eq!(p["strategies"].as_array().unwrap().len(), 6, "{p}");
    }
}

#[test]
fn csv_has_per_rule_columns_and_repeats_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let mut outs = Vec::new();
    for name in ["a.csv", "b.csv", "a.json", "b.json"] {
        let run = backtest(dir.path(), &["--out", name]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        outs.push(std::fs::read(dir.path().join(name)).unwrap());
    }
    assert_eq!(outs[0], outs[1], "the CSV is deterministic");
    assert_eq!(outs[2], outs[3], "the JSON is deterministic");
    let csv = String::from_utf8(outs[0].clone()).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "decision,pool,on_demand,capplan,lookback_7d,lookback_30d,lookback_60d,margin_lookback_7d,margin_lookback_30d,margin_lookback_60d,hindsight,savings_captured"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn bad_plan_files_are_usage_errors_that_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    std::fs::write(
        dir.path().join("typo.toml"),
        PLAN.replace("kind = \"none\"", "kidn = \"none\""),
    )
    .unwrap();
    let run = backtest(dir.path(), &["--plan", "typo.toml"]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("typo.toml") && err.contains("kidn"), "{err}");

    std::fs::write(
        dir.path().join("pool.toml"),
        PLAN.replace("pool = \"small\"", "pool = \"smal\""),
    )
    .unwrap();
    let run = backtest(dir.path(), &["--plan", "pool.toml"]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("pool.toml") && err.contains("\"smal\"") && err.contains("list"),
        "{err}"
    );

    let run = backtest(dir.path(), &["--plan", "missing.toml"]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("missing.toml"), "{err}");
}
