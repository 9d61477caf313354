//! `capplan plan` end to end on a small generated tidy usage file and rate card.

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const RATES: &str = r#"
[[pool]]
id = "small"
match = { service = "Compute", region = "r1", instance_type = "s.large" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.10"
currency = "USD"
offer = [
  { id = "small-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.065" },
  { id = "small-3y", kind = "ri_standard", term = "3y", payment = "all_upfront", upfront = "1051.2" },
]

[[pool]]
id = "big"
match = { service = "Compute", region = "r1", instance_type = "b.xlarge" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.40"
currency = "USD"
offer = [ { id = "big-1y", kind = "ri_standard", term = "1y", payment = "all_upfront", upfront = "2277.6" } ]

[[pool]]
id = "unused"
match = { service = "Nothing" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"
offer = [ { id = "unused-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.5" } ]
"#;

/// 63 days of hourly usage: `s.large` steady around 20 with a daily cycle, `b.xlarge` spiky.
fn write_usage(path: &Path) {
    let mut csv = String::from("timestamp,service,region,instance_type,quantity,unit\n");
    for h in 0..63 * 24 {
        let (d, hr) = (h / 24, h % 24);
        let ts = format!(
            "2026-{:02}-{:02}T{:02}:00:00Z",
            7 + (d / 31),
            1 + d % 31,
            hr
        );
        let small =
            20.0 + 6.0 * ((hr as f64) / 24.0 * std::f64::consts::TAU).sin() + (h % 7) as f64 * 0.3;
        let big = if (9..18).contains(&hr) { 8.0 } else { 1.0 } + (h % 5) as f64 * 0.2;
        writeln!(csv, "{ts},Compute,r1,s.large,{small:.3},Hours").unwrap();
        writeln!(csv, "{ts},Compute,r1,b.xlarge,{big:.3},Hours").unwrap();
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn plan_recommends_commitments_and_beats_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.csv");
    write_usage(&usage);
    let rates = dir.path().join("rates.toml");
    std::fs::write(&rates, RATES).unwrap();
    let out = dir.path().join("plan.json");
    let run = Command::cargo_bin("capplan")
        .unwrap()
        .arg("plan")
        .arg(&usage)
        .arg("--rates")
        .arg(&rates)
        .args([
            "--horizon",
            "3y",
            "--paths",
            "50",
            "--ladder",
            "quarterly",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("skipped unused"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let pools = v["portfolio"]["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    let money = |x: &serde_json::Value| -> f64 {
        x["amount"].as_str().map_or_else(
            || x.as_str().unwrap().parse().unwrap(),
            |s| s.parse().unwrap(),
        )
    };
    for p in pools {
        let plan = &p["plan"];
        let cost = money(&plan["expected_cost"]);
        for b in p["baselines"].as_array().unwrap() {
            // capplan buys whole units; the lookback rule may keep a fraction: allow one
            // unit-hour of on-demand price per hour of slack.
            let slack = if p["pool"] == "big" { 0.40 } else { 0.10 } * 3.0 * 8760.0;
            assert!(
                cost <= money(&b["expected_cost"]) + slack,
                "{}: capplan {cost} vs {} {}",
                p["pool"],
                b["name"],
                money(&b["expected_cost"])
            );
        }
        let on_demand = money(&plan["on_demand_cost"]);
        assert!(cost <= on_demand);
    }
    // The steady pool gets a commitment near its base load (≈ 14 or more units of 20 ± 6).
    let small = pools.iter().find(|p| p["pool"] == "small").unwrap();
    let bought: f64 = small["plan"]["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["quantity"].as_f64().unwrap())
        .sum();
    assert!((12.0..=26.0).contains(&bought), "small bought {bought}");
    assert!(small["plan"]["purchases"][0]["break_even_month"].is_number());
    // The ladder: four quarterly tranches of the lump that together equal it, costing at
    // least the lump (the lump is optimal for the decide-now problem on the same paths).
    let ladder = &small["ladder"];
    let tranches = ladder["tranches"]
        .as_array()
        .unwrap_or_else(|| panic!("no ladder: {small}"));
    assert!(!tranches.is_empty() && tranches.len() <= 4, "{ladder}");
    let sum: f64 = tranches
        .iter()
        .map(|t| t["purchase"]["quantity"].as_f64().unwrap())
        .sum();
    assert!((sum - ladder["lump_level"].as_f64().unwrap()).abs() < 1e-9);
    assert!(money(&ladder["premium_over_lump"]) >= 0.0);
    assert!(stdout.contains("Ladder instead of the lump"), "{stdout}");
    // Cash flow by month and by quarter: both views sum exactly to the commitments bought.
    for p in pools {
        let committed: f64 = p["plan"]["purchases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| money(&b["commitment_total"]))
            .sum();
        for key in ["monthly_cash_flow", "quarterly_cash_flow"] {
            for view in ["cash_outlay", "amortised_cost"] {
                let total: f64 = p[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| money(&f[view]))
                    .sum();
                assert!(
                    (total - committed).abs() < 1e-6,
                    "{key} {view}: {total} vs {committed}"
                );
            }
        }
        let q = p["quarterly_cash_flow"].as_array().unwrap().len();
        let m = p["monthly_cash_flow"].as_array().unwrap().len();
        assert_eq!(q, m.div_ceil(3));
    }

    // CSV output: one row per purchase.
    let csv = dir.path().join("plan.csv");
    Command::cargo_bin("capplan")
        .unwrap()
        .arg("plan")
        .arg(&usage)
        .arg("--rates")
        .arg(&rates)
        .args(["--horizon", "1y", "--paths", "50", "--out"])
        .arg(&csv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("pool,offer,term,payment,start,quantity,upfront,monthly"),
        "{text}"
    );
    assert!(text.lines().count() >= 2);
}

#[test]
fn bad_rate_cards_are_usage_errors_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.csv");
    write_usage(&usage);
    let rates = dir.path().join("rates.toml");
    std::fs::write(
        &rates,
        RATES.replace("recurring_hourly = \"0.065\"", "recurring_hourly = \"-1\""),
    )
    .unwrap();
    Command::cargo_bin("capplan")
        .unwrap()
        .arg("plan")
        .arg(&usage)
        .arg("--rates")
        .arg(&rates)
        .arg("--out")
        .arg(dir.path().join("p.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rates.toml").and(predicate::str::contains("line")));
}

#[test]
fn lower_risk_quantiles_commit_less() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.csv");
    write_usage(&usage);
    let rates = dir.path().join("rates.toml");
    std::fs::write(&rates, RATES).unwrap();
    let bought = |extra: &[&str]| -> (f64, Vec<u8>) {
        let out = dir.path().join("p.json");
        let run = Command::cargo_bin("capplan")
            .unwrap()
            .arg("plan")
            .arg(&usage)
            .arg("--rates")
            .arg(&rates)
            .args(["--horizon", "1y", "--paths", "40"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let q = v["portfolio"]["pools"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["plan"]["purchases"].as_array().unwrap().clone())
            .map(|b| b["quantity"].as_f64().unwrap())
            .sum();
        (q, bytes)
    };
    let (low, _) = bought(&["--risk-quantile", "0.05"]);
    let (mid, first) = bought(&[]);
    let (high, _) = bought(&["--risk", "aggressive"]);
    let (_, again) = bought(&[]);
    assert_eq!(first, again, "same inputs must give a byte-identical plan");
    assert!(low <= mid && mid <= high, "{low} {mid} {high}");
    Command::cargo_bin("capplan")
        .unwrap()
        .arg("plan")
        .arg(&usage)
        .arg("--rates")
        .arg(&rates)
        .args(["--risk-quantile", "1.5", "--out"])
        .arg(dir.path().join("x.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("between 0 and 1"));
}

/// `capplan plan <bill> --rates <rates>`, the rest of the arguments to add.
fn plan_with(bill: &Path, rates: &Path) -> Command {
    let mut c = Command::cargo_bin("capplan").unwrap();
    c.arg("plan").arg(bill).arg("--rates").arg(rates);
    c
}

const SPEND_RATES: &str = r#"
[[pool]]
id = "vm"
match = { service = "Compute" }
unit = "instance-hours"
series_unit = "Hours"
on_demand_rate = "0.5"
currency = "USD"
offer = [ { id = "vm-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.30" } ]

[[pool]]
id = "sp"
match = { service = ["Compute", "Functions"] }
unit = "USD/hour on-demand equivalent"
series_unit = "USD"
on_demand_rate = "1"
currency = "USD"
offer = [
  { id = "sp-1y", kind = "savings_plan_compute", term = "1y", payment = "no_upfront", recurring_hourly = "0.72" },
  { id = "sp-3y", kind = "savings_plan_compute", term = "3y", payment = "no_upfront", recurring_hourly = "0.52" },
]
[[pool.rate]]
match = { service = "Functions" }
discount = { "sp-1y" = "0.12", "sp-3y" = "0.17" }
"#;

/// 10 weeks of hourly FOCUS rows: Compute (instance-hours at 0.5, 20–30 running) and
/// Functions (spend only, 2–6 USD/h).
fn write_focus(path: &Path) {
    let mut csv = String::from(
        "BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ConsumedQuantity,ConsumedUnit,BilledCost,EffectiveCost,ListCost,ServiceName\n",
    );
    let t0 = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for h in 0..70 * 24 {
        let s = (t0 + chrono::Duration::hours(h)).format("%Y-%m-%dT%H:%M:%SZ");
        let e = (t0 + chrono::Duration::hours(h + 1)).format("%Y-%m-%dT%H:%M:%SZ");
        let hr = h % 24;
        let vms = 20 + (hr % 11);
        let vm_cost = vms as f64 * 0.5;
        writeln!(
            csv,
            "USD,Usage,{s},{e},{vms},Hours,{vm_cost:.2},{vm_cost:.2},{vm_cost:.2},Compute"
        )
        .unwrap();
        let f = 2.0 + (hr as f64 / 6.0).floor();
        writeln!(
            csv,
            "USD,Usage,{s},{e},{},Requests,{f:.2},{f:.2},{f:.2},Functions",
            1000 * (f as i64)
        )
        .unwrap();
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn plan_sizes_savings_plans_after_the_reservations() {
    let dir = tempfile::tempdir().unwrap();
    let bill = dir.path().join("focus.csv");
    write_focus(&bill);
    let rates = dir.path().join("rates.toml");
    std::fs::write(&rates, SPEND_RATES).unwrap();
    let out = dir.path().join("plan.json");
    let curve = dir.path().join("curve.csv");
    let run = plan_with(&bill, &rates)
        .args([
            "--horizon",
            "1y",
            "--paths",
            "8",
            "--sp-commit",
            "3",
            "--sp-target-coverage",
            "0.5",
            "--sp-curve",
        ])
        .arg(&curve)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Spend-based pool sp (2 SKUs"), "{stdout}");
    assert!(stdout.contains("<- recommended"), "{stdout}");
    assert!(stdout.contains("what-if coverage 50.0%"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let plan = &v["spend_pools"][0]["plan"];
    let k = plan["chosen"].as_u64().expect("a term is recommended") as usize;
    let opt = &plan["options"][k];
    // The 1y term on a 1y horizon; discounts 12 % (Functions) to 28 % (Compute).
    assert_eq!(opt["offer_id"], "sp-1y");
    let lo = opt["discount_range"][0].as_f64().unwrap();
    assert!((lo - 0.12).abs() < 1e-9, "{lo}");
    let c = opt["sweep"]["optimum"]["commitment"].as_f64().unwrap();
    assert!(c > 0.0);
    // The reservations come first: the plan never commits more than the spend they leave
    // (Compute at most 30 × 0.5 = 15/h minus the RIs, Functions at most 5/h), at plan rates.
    assert!(c < 0.88 * 20.0, "{c}");
    let what = &v["spend_pools"][0]["what_if"];
    let cov = what[1]["point"]["coverage"].as_f64().unwrap();
    assert!((cov - 0.5).abs() < 1e-6, "{cov}");
    // The recommendation table has the spend pool's row; the curve file has the optimum.
    let text = std::fs::read_to_string(&curve).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("sp,sp-1y,") && l.ends_with(",optimum")),
        "{text}"
    );
    assert!(text.contains("lookback 30d"));

    // Targets outside (0, 1] are usage errors (exit 2) before anything is read.
    plan_with(&bill, &rates)
        .args(["--sp-target-utilisation", "1.5", "--out"])
        .arg(dir.path().join("x.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("share in (0, 1]"));
}

#[test]
fn commitments_lists_the_bills_commitments_with_utilisation_and_coverage() {
    let bill = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/focus.parquet");
    let run = Command::cargo_bin("capplan")
        .unwrap()
        .arg("commitments")
        .arg(&bill)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let list = v["commitments"]["commitments"].as_array().unwrap();
    // The demo holds 3 RIs and 2 Savings Plans (data/demo/inventory.toml).
    assert_eq!(list.len(), 5);
    let plans = list.iter().filter(|c| c["category"] == "Spend").count();
    assert_eq!(plans, 2);
    let cov = v["coverage"].as_f64().unwrap();
    assert!(cov > 0.05 && cov < 0.6, "{cov}");
    // The table says where end dates come from.
    Command::cargo_bin("capplan")
        .unwrap()
        .arg("commitments")
        .arg(&bill)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("5 commitments").and(predicate::str::contains("Coverage: ")),
        );
}

#[test]
fn size_flexible_pools_plan_a_family_in_normalized_units() {
    // m5.large (4 NU) steady at 10, m5.xlarge (8 NU) steady at 5: 80 NU per hour in all.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,service,region,instance_type,quantity,unit\n");
    for h in 0..63 * 24 {
        let ts = (chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::hours(h))
        .format("%Y-%m-%dT%H:%M:%SZ");
        writeln!(csv, "{ts},EC2,r1,m5.large,10,Hours").unwrap();
        writeln!(csv, "{ts},EC2,r1,m5.xlarge,5,Hours").unwrap();
    }
    let usage = dir.path().join("usage.csv");
    std::fs::write(&usage, csv).unwrap();
    let rates = dir.path().join("rates.toml");
    std::fs::write(
        &rates,
        r#"
[[pool]]
id = "m5-r1"
match = { service = "EC2", region = "r1", instance_type = ["m5.large", "m5.xlarge"] }
unit = "normalized unit-hours"
series_unit = "Hours"
size_flexible = true
on_demand_rate = "0.024"
currency = "USD"
offer = [ { id = "m5-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.015" } ]
"#,
    )
    .unwrap();
    let out = dir.path().join("plan.json");
    let run = plan_with(&usage, &rates)
        .args(["--horizon", "1y", "--paths", "20", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let pool = &v["portfolio"]["pools"][0];
    assert_eq!(pool["series"].as_array().unwrap().len(), 2);
    let bought: f64 = pool["plan"]["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["quantity"].as_f64().unwrap())
        .sum();
    // Steady demand of 80 normalized units: the RI covers it in normalized units (not the
    // 15 instances, which would be the sum of raw instance-hours).
    assert!((bought - 80.0).abs() <= 1.0, "{bought}");
}
