//! `capplan report` end to end on a small tidy bill whose names are hostile: escaping, exports,
//! determinism, atomic writes, the index, `--fail-on-budget` and plan-file errors.

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

/// A service name and a tag value an attacker could put in a bill.
const EVIL: &str = r#"<script>alert("x")</script> & 'Co' <img src=x onerror=alert(1)>"#;
const EVIL_REGION: &str = "eu-\"west\"&<b>1</b>";

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

fn write_inputs(dir: &Path, budget: &str) {
    // 70 days of hourly usage: one steady, one business-hours series; cost = 0.1 × quantity.
    let mut csv = String::from("timestamp,service,region,instance_type,quantity,unit,cost\n");
    for h in 0..70 * 24 {
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() + chrono::Duration::days(h / 24);
        let hr = h % 24;
        let steady =
            20.0 + 5.0 * ((hr as f64) / 24.0 * std::f64::consts::TAU).sin() + (h % 7) as f64 * 0.25;
        let office = if (9..18).contains(&hr) { 9.0 } else { 2.0 } + (h % 5) as f64 * 0.2;
        let q = |x: f64| format!("{x:.3}");
        let ts = format!("{day}T{hr:02}:00:00Z");
        let field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        writeln!(
            csv,
            "{ts},{},{},m.large,{},Hours,{:.4}",
            field(EVIL),
            field(EVIL_REGION),
            q(steady),
            steady * 0.1
        )
        .unwrap();
        writeln!(
            csv,
            "{ts},Storage,{},none,{},GB-Hours,{:.4}",
            field(EVIL_REGION),
            q(office),
            office * 0.02
        )
        .unwrap();
    }
    std::fs::write(dir.join("usage.csv"), csv).unwrap();
    let rates = format!(
        r#"
[[pool]]
id = "evil-pool"
description = {desc}
match = {{ service = {svc}, region = {reg}, instance_type = "m.large" }}
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.10"
currency = "USD"
offer = [
  {{ id = "evil-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.065" }},
  {{ id = "evil-3y", kind = "ri_standard", term = "3y", payment = "all_upfront", upfront = "1051.2" }},
]
"#,
        desc = toml_str(&format!("pool of {EVIL}")),
        svc = toml_str(EVIL),
        reg = toml_str(EVIL_REGION),
    );
    std::fs::write(dir.join("rates.toml"), rates).unwrap();
    let plan = format!(
        r#"
name = "hostile"
horizon = "1y"
rates = "rates.toml"
fiscal_year_start_month = 4
quarters = 2

[inputs]
paths = ["usage.csv"]

[series]
by = ["service", "region"]
granularity = "day"

[forecast]
windows = 3
paths = 40
seed = 7

[budget]
total = {{ "FY2027-Q2" = "{budget}", "FY2027-Q3" = "{budget}" }}

[[budget.group]]
name = {group}
match = {{ service = {svc} }}
quarters = {{ "FY2027-Q2" = "{budget}" }}

[[limit]]
match = {{ service = {svc} }}
value = 400

[[scenario.demand]]
name = "base"

[[scenario.demand]]
name = {dname}
multiplier = 1.3

[[scenario.strategy]]
name = "none"
kind = "none"

[[scenario.strategy]]
name = "recommended"
kind = "recommended"

[[scenario.strategy]]
name = "cover-50"
kind = "coverage"
coverage_percent = 50

[[scenario.strategy]]
name = "lookback"
kind = "lookback"
days = 14
"#,
        group = toml_str(&format!("team {EVIL}")),
        svc = toml_str(EVIL),
        dname = toml_str("up <i>&amp;</i> \"more\""),
    );
    std::fs::write(dir.join("plan.toml"), plan).unwrap();
}

fn report(dir: &Path, out: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args(["report", "--config", "plan.toml", "--out", out])
        .assert()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_names_render_as_text_and_reruns_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_inputs(dir, "1000000");
    report(dir, "a")
        .success()
        .stdout(predicate::str::contains("wrote a/hostile-FY2027-Q2.html"));
    report(dir, "b").success();
    let a = files(&dir.join("a"));
    let b = files(&dir.join("b"));
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "hostile-FY2027-Q2.html",
        "hostile-FY2027-Q2.xlsx",
        "hostile-FY2027-Q2.quarterly_plan.csv",
        "hostile-FY2027-Q2.quarterly_plan.json",
        "hostile-FY2027-Q2.scenario_matrix.csv",
        "hostile-FY2027-Q2.recommendations.json",
        "hostile-FY2027-Q2.budget_groups.csv",
        "index.html",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
    assert_eq!(a, b, "same inputs must give byte-identical files");

    let html = String::from_utf8(
        a.iter()
            .find(|(n, _)| n.ends_with("Q2.html"))
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    // No markup from the data survives: the report has no script, no img and no event
    // handler anywhere, and the hostile strings appear escaped.
    for bad in ["<script", "<img", "<b>1</b>", "<i>&amp;</i>"] {
        assert!(!html.contains(bad), "{bad} found unescaped");
    }
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"));
    assert!(html.contains("eu-&quot;west&quot;&amp;&lt;b&gt;1&lt;/b&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("up &lt;i&gt;&amp;amp;&lt;/i&gt; &quot;more&quot;"));
    // Nothing to fetch: no src/href to a URL, no CSS url() (the SVG namespace is not a fetch).
    for fetch in ["src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    for section in [
        "id=\"summary\"",
        "id=\"quarterly-plan\"",
        "id=\"scenarios\"",
        "id=\"recommendations\"",
        "id=\"forecasts\"",
        "id=\"anomalies\"",
        "id=\"data-quality\"",
        "id=\"method\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(html.matches("<svg").count() >= 5);

    // CSV: the hostile text is one quoted field, read back intact.
    let csv = &a
        .iter()
        .find(|(n, _)| n.ends_with("budget_groups.csv"))
        .unwrap()
        .1;
    let mut rd = csv::Reader::from_reader(csv.as_slice());
    let row = rd.records().next().unwrap().unwrap();
    assert_eq!(&row[0], format!("team {EVIL}"));
    // JSON: money as exact strings.
    let json: serde_json::Value = serde_json::from_slice(
        &a.iter()
            .find(|(n, _)| n.ends_with("scenario_matrix.json"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 8, "2 demand × 4 strategies");
    let total = json[0]["total_cost"].as_str().unwrap();
    assert!(total.parse::<rust_decimal::Decimal>().is_ok(), "{total}");
    // The index lists the report and escapes its summary.
    let index =
        String::from_utf8(a.iter().find(|(n, _)| n == "index.html").unwrap().1.clone()).unwrap();
    assert!(index.contains("href=\"hostile-FY2027-Q2.html\""));
    assert!(!index.contains("<script"));
}

#[test]
fn recommended_beats_buying_nothing_on_steady_demand() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_inputs(dir, "1000000");
    report(dir, "out").success();
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("out/hostile-FY2027-Q2.scenario_matrix.json")).unwrap(),
    )
    .unwrap();
    let cell = |d: &str, s: &str| -> rust_decimal::Decimal {
        json.as_array()
            .unwrap()
            .iter()
            .find(|c| c["demand"] == d && c["strategy"] == s)
            .unwrap()["total_cost"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // The steady series (≈ 20 units) is worth committing; the optimizer's choice costs less
    // than nothing, and the higher-demand scenario costs more for every strategy.
    assert!(cell("base", "recommended") < cell("base", "none"));
    for s in ["none", "recommended", "cover-50", "lookback"] {
        assert!(cell("up <i>&amp;</i> \"more\"", s) > cell("base", s), "{s}");
    }
    let quarters: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("out/hostile-FY2027-Q2.quarterly_plan.json")).unwrap(),
    )
    .unwrap();
    let q = &quarters[0];
    let dec = |k: &str| -> rust_decimal::Decimal { q[k].as_str().unwrap().parse().unwrap() };
    assert!(dec("spend_p10") <= dec("spend_p50") && dec("spend_p50") <= dec("spend_p90"));
    assert_eq!(q["quarter"], "FY2027-Q2");
    assert_eq!(
        q["start"], "2026-08-10",
        "the quarter starts at as_of (end of data)"
    );
}

#[test]
fn fail_on_budget_exits_3_after_writing_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_inputs(dir, "10");
    Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args([
            "report",
            "--config",
            "plan.toml",
            "--out",
            "r",
            "--fail-on-budget",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("over budget"))
        .stderr(predicate::str::contains("FY2027-Q2"));
    assert!(dir.join("r/hostile-FY2027-Q2.html").exists());
    // Without the flag the same run succeeds.
    report(dir, "r").success();
}

#[test]
fn plan_file_errors_name_the_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_inputs(dir, "1000");
    let text = std::fs::read_to_string(dir.join("plan.toml")).unwrap();
    std::fs::write(
        dir.join("plan.toml"),
        text.replace("quarters = 2", "quartres = 2"),
    )
    .unwrap();
    report(dir, "r")
        .code(2)
        .stderr(predicate::str::contains("plan.toml: line 6"))
        .stderr(predicate::str::contains("quartres"));
    // A purchase of an offer the pool does not have names the plan file's line.
    std::fs::write(
        dir.join("plan.toml"),
        format!(
            "{text}\n[[scenario.strategy]]\nname = \"custom\"\nkind = \"purchases\"\npurchase = [ {{ pool = \"evil-pool\", offer = \"nope\", quantity = 3, date = 2026-09-01 }} ]\n"
        ),
    )
    .unwrap();
    report(dir, "r")
        .code(2)
        .stderr(predicate::str::contains("\"nope\" is not an offer of pool"));
    // A missing plan file.
    Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args(["report", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}
