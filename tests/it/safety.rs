//! Planning and output safety (issue 13, hostile 6 and 7): pools that overlap, purchases of
//! unknown pools, offers dearer than on demand and limits that match nothing are visible;
//! a report run replaces its directory as a whole, under a lock, cleaning what killed runs
//! left; no command writes over one of its inputs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

/// 63 days of hourly usage of two series: `Compute/r1/s.large` (steady, ≈ 20) and
/// `Compute/r2/s.large` (office hours).
fn write_usage(path: &Path) {
    let mut csv = String::from("timestamp,service,region,instance_type,quantity,unit,cost\n");
    for h in 0..63 * 24 {
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() + chrono::Duration::days(h / 24);
        let hr = h % 24;
        let ts = format!("{day}T{hr:02}:00:00Z");
        let steady =
            20.0 + 5.0 * ((hr as f64) / 24.0 * std::f64::consts::TAU).sin() + (h % 7) as f64 * 0.25;
        let office = if (9..18).contains(&hr) { 9.0 } else { 2.0 } + (h % 5) as f64 * 0.2;
        writeln!(
            csv,
            "{ts},Compute,r1,s.large,{steady:.3},Hours,{:.4}",
            steady * 0.1
        )
        .unwrap();
        writeln!(
            csv,
            "{ts},Compute,r2,s.large,{office:.3},Hours,{:.4}",
            office * 0.1
        )
        .unwrap();
    }
    std::fs::write(path, csv).unwrap();
}

fn pool(id: &str, matcher: &str, recurring: &str) -> String {
    format!(
        r#"
[[pool]]
id = "{id}"
match = {matcher}
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.10"
currency = "USD"
offer = [
  {{ id = "{id}-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "{recurring}" }},
]
"#
    )
}

/// Two disjoint pools, one per region.
fn good_rates() -> String {
    pool(
        "compute-r1",
        r#"{ service = "Compute", region = "r1" }"#,
        "0.065",
    ) + &pool(
        "compute-r2",
        r#"{ service = "Compute", region = "r2" }"#,
        "0.065",
    )
}

/// A plan file over `usage.csv` and `rates.toml`; `extra` is appended (strategies, limits).
fn plan(budget: &str, extra: &str) -> String {
    format!(
        r#"
name = "safe"
horizon = "1y"
rates = "rates.toml"
fiscal_year_start_month = 4
quarters = 1

[inputs]
paths = ["usage.csv"]

[series]
by = ["service", "region"]
granularity = "day"

[forecast]
windows = 3
paths = 20
seed = 3

[budget]
total = {{ "FY2027-Q2" = "{budget}" }}

[[scenario.demand]]
name = "base"

[[scenario.strategy]]
name = "recommended"
kind = "recommended"
{extra}"#
    )
}

fn setup(rates: &str, plan_text: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write_usage(&tmp.path().join("usage.csv"));
    std::fs::write(tmp.path().join("rates.toml"), rates).unwrap();
    std::fs::write(tmp.path().join("plan.toml"), plan_text).unwrap();
    tmp
}

fn capplan(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("capplan").unwrap();
    c.current_dir(dir);
    c
}

fn report(dir: &Path, out: &str) -> assert_cmd::assert::Assert {
    capplan(dir)
        .args(["report", "--config", "plan.toml", "--out", out])
        .assert()
}

/// Every entry of `dir` (name → length and hash of the bytes; directories as empty), sorted.
fn files(dir: &Path) -> Vec<(String, (usize, u64))> {
    use std::hash::{Hash, Hasher};
    let mut v: Vec<(String, (usize, u64))> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let bytes = if e.file_type().unwrap().is_dir() {
                Vec::new()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            (
                e.file_name().into_string().unwrap(),
                (bytes.len(), h.finish()),
            )
        })
        .collect();
    v.sort();
    v
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_iter().map(|(n, _)| n).collect()
}

// ---- hostile 6: planning -----------------------------------------------------------------

#[test]
fn two_pools_matching_one_series_are_an_error_naming_both() {
    // `compute-all` covers both regions, `compute-r1` one of them: r1's demand would be
    // planned (and bought for) twice.
    let rates = pool("compute-all", r#"{ service = "Compute" }"#, "0.065")
        + &pool(
            "compute-r1",
            r#"{ service = "Compute", region = "r1" }"#,
            "0.065",
        );
    let tmp = setup(&rates, &plan("100000", ""));
    let dir = tmp.path();
    report(dir, "out")
        .code(2)
        .stderr(predicate::str::contains("\"compute-all\""))
        .stderr(predicate::str::contains("\"compute-r1\""))
        .stderr(predicate::str::contains("region=r1"))
        .stderr(predicate::str::contains("planned and bought twice"));
    assert!(!dir.join("out/safe-FY2027-Q2.html").exists());
    // `capplan plan` refuses the same card.
    capplan(dir)
        .args([
            "plan",
            "usage.csv",
            "--rates",
            "rates.toml",
            "--horizon",
            "1y",
            "--paths",
            "10",
            "--out",
            "plan.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"compute-all\""))
        .stderr(predicate::str::contains("\"compute-r1\""))
        .stderr(predicate::str::contains("region=r1"));
}

#[test]
fn a_purchase_of_an_unknown_pool_is_an_error_with_a_suggestion() {
    let extra = r#"
[[scenario.strategy]]
name = "finance"
kind = "purchases"
purchase = [
  { pool = "compute-r2", offer = "compute-r2-1y", quantity = 2, date = 2026-08-10 },
  { pool = "compute-r", offer = "compute-r1-1y", quantity = 12, date = 2026-08-10 },
]
"#;
    let tmp = setup(&good_rates(), &plan("100000", extra));
    let dir = tmp.path();
    let text = std::fs::read_to_string(dir.join("plan.toml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("pool = \"compute-r\","))
        .unwrap()
        + 1;
    report(dir, "out")
        .code(2)
        .stderr(predicate::str::contains(format!("line {line}")))
        .stderr(predicate::str::contains("pool \"compute-r\""))
        .stderr(predicate::str::contains("did you mean \"compute-r1\"?"));
}

#[test]
fn a_dear_offer_and_a_limit_matching_nothing_are_visible_warnings() {
    // r2's only offer costs 0.12/h against 0.10 on demand; the limit names a region the
    // data does not have.
    let rates = pool(
        "compute-r1",
        r#"{ service = "Compute", region = "r1" }"#,
        "0.065",
    ) + &pool(
        "compute-r2",
        r#"{ service = "Compute", region = "r2" }"#,
        "0.12",
    );
    let extra = r#"
[[limit]]
match = { region = "r9" }
value = 100
"#;
    let tmp = setup(&rates, &plan("100000", extra));
    let dir = tmp.path();
    let run = report(dir, "out").success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    for needle in [
        "offer `compute-r2-1y`",
        "is not below the on-demand rate",
        "limit 100 on {region=r9} matches none",
    ] {
        assert!(
            stderr.contains("warning: ") && stderr.contains(needle),
            "{needle}: {stderr}"
        );
    }
    let html = std::fs::read_to_string(dir.join("out/safe-FY2027-Q2.html")).unwrap();
    assert!(
        html.contains("offer `compute-r2-1y`"),
        "offer warning in the report"
    );
    assert!(
        html.contains("matches none of the report"),
        "limit warning in the report"
    );
    // `capplan forecast --limit` that matches nothing warns too.
    capplan(dir)
        .args([
            "forecast",
            "usage.csv",
            "--by",
            "region",
            "--horizon",
            "14d",
            "--limit",
            "region=r9:100",
            "--out",
            "f.csv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning: --limit region=r9:100 matches none",
        ));
}

// ---- hostile 7: output safety --------------------------------------------------------------

#[test]
fn a_report_run_replaces_the_directory_as_a_whole_and_cleans_leftovers() {
    let tmp = setup(&good_rates(), &plan("100000", ""));
    let dir = tmp.path();
    report(dir, "out").success();
    let first = files(&dir.join("out"));
    assert!(first.iter().any(|(n, _)| n == "index.html"));
    assert!(
        !first.iter().any(|(n, _)| n.starts_with('.')),
        "no lock or temporary file stays: {:?}",
        names(&dir.join("out"))
    );
    // What killed runs leave: a staging directory beside it, a temporary file inside (old).
    std::fs::create_dir(dir.join(".out.capplan-stage-4242")).unwrap();
    std::fs::write(
        dir.join(".out.capplan-stage-4242/safe-FY2027-Q2.html"),
        "half",
    )
    .unwrap();
    let tmp_file = dir.join("out/.capplan-AbC123.tmp");
    std::fs::write(&tmp_file, "partial").unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&tmp_file)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    // Another report already in the directory stays and is listed in the index.
    std::fs::write(
        dir.join("out/older-FY2026-Q4.html"),
        "<html><meta name=\"capplan:as-of\" content=\"2026-01-01\"></html>",
    )
    .unwrap();
    report(dir, "out").success();
    let second = files(&dir.join("out"));
    let parent: Vec<String> = names(dir);
    assert!(
        !parent.iter().any(|n| n.contains("capplan")),
        "left-overs beside the directory: {parent:?}"
    );
    assert!(!tmp_file.exists(), "stale temporary file removed");
    let index = std::fs::read_to_string(dir.join("out/index.html")).unwrap();
    assert!(index.contains("older-FY2026-Q4.html") && index.contains("safe-FY2027-Q2.html"));
    let mut expected: Vec<String> = first.iter().map(|(n, _)| n.clone()).collect();
    expected.push("older-FY2026-Q4.html".into());
    expected.sort();
    assert_eq!(
        second.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        expected
    );
    for (n, b) in &first {
        if n != "index.html" {
            assert_eq!(
                second.iter().find(|(m, _)| m == n).map(|x| &x.1),
                Some(b),
                "{n}"
            );
        }
    }
}

#[test]
fn a_run_that_dies_while_writing_leaves_the_old_report_whole() {
    // A file-size limit makes the run die (SIGXFSZ, like `kill -9` or a full disk) while it
    // writes the first large file of the second report: the directory must still hold
    // exactly the first report.
    let tmp = setup(&good_rates(), &plan("100000", ""));
    let dir = tmp.path();
    report(dir, "out").success();
    let before = files(&dir.join("out"));
    let largest = before.iter().map(|(_, b)| b.0).max().unwrap();
    let smallest = before.iter().map(|(_, b)| b.0).min().unwrap();
    assert!(
        largest > 4 * 4096 && smallest < 4096,
        "{largest} {smallest}"
    );
    // A different budget changes every file's content.
    std::fs::write(dir.join("plan.toml"), plan("20000", "")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("capplan");
    let status = std::process::Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        // `ulimit -f` counts 512-byte blocks in POSIX sh (1024 in bash): 8 blocks = 4 KiB or
        // 8 KiB, above the small tables and below the largest file either way.
        .arg(format!(
            "ulimit -f 8 && exec '{}' report --config plan.toml --out out",
            bin.display()
        ))
        .status()
        .unwrap();
    assert!(!status.success(), "the run must die on the file-size limit");
    // The dead run's lock file may stay (the lock itself died with the run).
    let mut now = files(&dir.join("out"));
    now.retain(|(n, _)| n != ".capplan.lock");
    assert_eq!(now, before, "the directory holds the old report, whole");
    // The next run cleans what the dead one left and installs the new report.
    report(dir, "out").success();
    let after = files(&dir.join("out"));
    assert_ne!(after, before);
    assert!(!dir.join("out/.capplan.lock").exists());
    assert_eq!(
        after.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        before.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );
    let parent = names(dir);
    assert!(
        !parent.iter().any(|n| n.contains("capplan")),
        "left-overs: {parent:?}"
    );
}

#[test]
fn a_second_run_into_a_locked_directory_gets_a_clear_error() {
    let tmp = setup(&good_rates(), &plan("100000", ""));
    let dir = tmp.path();
    report(dir, "out").success();
    let before = files(&dir.join("out"));
    // A lock held by a running process (this test stands in for a running report).
    std::fs::write(
        dir.join("out/.capplan.lock"),
        format!("pid {}\n", std::process::id()),
    )
    .unwrap();
    std::fs::write(dir.join("plan.toml"), plan("20000", "")).unwrap();
    report(dir, "out")
        .failure()
        .stderr(predicate::str::contains(
            "another capplan run is writing a report into out",
        ));
    let mut now = files(&dir.join("out"));
    now.retain(|(n, _)| n != ".capplan.lock");
    assert_eq!(now, before, "nothing was written");
    // A lock whose process is gone (a run killed by `kill -9`) is taken over.
    std::fs::write(dir.join("out/.capplan.lock"), "pid 4000000000\n").unwrap();
    report(dir, "out").success();
    assert!(!dir.join("out/.capplan.lock").exists());
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let tmp = setup(&good_rates(), &plan("100000", ""));
    let dir = tmp.path();
    let original = std::fs::read(dir.join("usage.csv")).unwrap();
    capplan(dir)
        .args(["ingest", "usage.csv", "--out", "./usage.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is the input"))
        .stderr(predicate::str::contains("would destroy the input"));
    // Through a directory input and a symbolic link, too.
    std::fs::create_dir(dir.join("bills")).unwrap();
    std::fs::copy(dir.join("usage.csv"), dir.join("bills/usage.csv")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("bills/usage.csv", dir.join("alias.csv")).unwrap();
    #[cfg(unix)]
    capplan(dir)
        .args(["ingest", "bills", "--out", "alias.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would destroy the input"));
    capplan(dir)
        .args([
            "forecast",
            "usage.csv",
            "--horizon",
            "7d",
            "--out",
            "usage.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would destroy the input"));
    capplan(dir)
        .args([
            "plan",
            "bills",
            "--rates",
            "rates.toml",
            "--out",
            "bills/usage.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would destroy the input"));
    assert_eq!(std::fs::read(dir.join("usage.csv")).unwrap(), original);
    assert_eq!(
        std::fs::read(dir.join("bills/usage.csv")).unwrap(),
        original
    );
    // A report whose output directory holds an input under an output's name is refused.
    std::fs::create_dir(dir.join("out")).unwrap();
    let clash: PathBuf = dir.join("out/safe-FY2027-Q2.series.csv");
    std::fs::copy(dir.join("usage.csv"), &clash).unwrap();
    let text = plan("100000", "").replace(
        "paths = [\"usage.csv\"]",
        "paths = [\"out/safe-FY2027-Q2.series.csv\"]",
    );
    std::fs::write(dir.join("plan.toml"), text).unwrap();
    report(dir, "out")
        .code(2)
        .stderr(predicate::str::contains("would destroy the input"));
    assert_eq!(std::fs::read(&clash).unwrap(), original);
}

// ---- the forecast table --------------------------------------------------------------------

/// 35 days of hourly usage of two series whose labels agree on their first 60 characters:
/// `eu-west-1` with a daily cycle, `us-east-1` constant at 5 with rounding noise of 1e-9 for
/// four weeks, then 5.5 in office hours (a backtest trained on the flat part meets a change
/// a billion times its noise).
fn write_long_names(path: &Path) {
    let svc = "Amazon Elastic Compute Cloud - Compute Instances (Linux; shared tenancy)";
    let mut csv = String::from("timestamp,service,region,quantity,unit,cost\n");
    for h in 0..35 * 24 {
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Duration::days(h / 24);
        let hr = h % 24;
        let ts = format!("{day}T{hr:02}:00:00Z");
        let cyc = 30.0 + 8.0 * ((hr as f64) / 24.0 * std::f64::consts::TAU).sin();
        let flat = if h >= 28 * 24 && (9..18).contains(&hr) {
            "5.5"
        } else if h % 3 == 0 {
            "5.000000001"
        } else {
            "5"
        };
        writeln!(csv, "{ts},{svc},eu-west-1,{cyc:.3},Hours,{:.4}", cyc * 0.1).unwrap();
        writeln!(csv, "{ts},{svc},us-east-1,{flat},Hours,0.5").unwrap();
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn the_forecast_table_shows_units_whole_labels_sane_mase_and_path_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_long_names(&dir.join("usage.csv"));
    let run = capplan(dir)
        .args([
            "forecast",
            "usage.csv",
            "--by",
            "service,region",
            "--horizon",
            "14d",
            "--out",
            "f.csv",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines[0];
    assert!(header.contains(" unit "), "{header}");
    assert!(header.contains("total p10..p90"), "{header}");
    assert!(!header.contains("p10..p90 sum"), "{header}");
    assert!(stdout.contains("over 500 seeded sample paths"), "{stdout}");
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("service="))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    // The labels are longer than the widest printed whole: elided in the middle, they keep
    // their start and their distinguishing end, so the rows do not look alike.
    for region in ["region=eu-west-1", "region=us-east-1"] {
        assert!(
            rows.iter().any(|r| r.starts_with("service=Amazon Elastic")
                && r.contains('…')
                && r.contains(&format!("shared tenancy),{region} "))),
            "{region}: {stdout}"
        );
    }
    for r in &rows {
        assert!(r.contains(" Hours "), "unit column: {r}");
    }
    // The near-constant series' MASE is a number of ordinary size.
    let flat = rows.iter().find(|r| r.contains("us-east-1")).unwrap();
    let big: Vec<f64> = flat
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .filter(|v| *v > 1e6)
        .collect();
    assert!(big.is_empty(), "{flat}");
    assert!(!flat.contains("e9") && !flat.contains("e+"), "{flat}");
}

#[test]
fn a_level_shift_note_names_the_shift_the_forecast_records() {
    use capplan::forecast::{ForecastSettings, forecast_usage};
    use capplan::series::{Granularity, SeriesKey, UsageSeries};
    use chrono::TimeZone;
    // 60 days hourly; the level doubles 10 days before the end (240 hours: a regime shorter
    // than the 336 hours the model needs, so training starts before the shift).
    let n = 60 * 24;
    let values: Vec<f64> = (0..n)
        .map(|t| {
            let level = if t >= n - 240 { 40.0 } else { 20.0 };
            level + 3.0 * ((t as f64) / 24.0 * std::f64::consts::TAU).sin()
        })
        .collect();
    let s = UsageSeries {
        key: SeriesKey(vec![("service".into(), "Compute".into())]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        values,
        cost: None,
        gaps_filled: 0,
    };
    let f = forecast_usage(&s, &ForecastSettings::new(48)).unwrap();
    let last = f.level_shifts.last().expect("the shift is found");
    let shown = last.at.format("%Y-%m-%d %H:%M").to_string();
    let notes: Vec<&String> = f
        .notes
        .iter()
        .filter(|n| n.contains("level shift"))
        .collect();
    assert!(!notes.is_empty(), "{:?}", f.notes);
    for note in notes {
        assert!(
            note.contains(&format!("level shift at {shown}"))
                || note.contains(&format!("level shift, at {shown}")),
            "note {note:?} must name the shift at {shown}"
        );
    }
}
