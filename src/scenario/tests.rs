//! Tests of the plan file parser (fiscal and span helpers are tested in their modules).

use super::*;
use crate::plan::LadderSettings;
use crate::pricing::Term;
use std::collections::BTreeSet;

use crate::plan::{Cadence, TrancheSizing};

const MINIMAL: &str = "rates = \"rates.toml\"\n[inputs]\npaths = [\"focus.parquet\"]\n";

fn parse(text: &str) -> Result<ScenarioFile, ScenarioError> {
    ScenarioFile::from_toml_str(text, "plan.toml")
}

/// The error of `text`, checking the file name and the line.
fn err_at(text: &str, line: usize) -> ScenarioError {
    let e = parse(text).expect_err("should be rejected");
    assert_eq!(e.file(), "plan.toml", "{e}");
    assert_eq!(e.line(), line, "{e}");
    e
}

fn minimal_with(extra_top: &str, extra_tables: &str) -> String {
    format!("{extra_top}\n{MINIMAL}{extra_tables}")
}

#[test]
fn minimal_file_gets_every_default() {
    let f = parse(MINIMAL).unwrap();
    let mut expected =
        ScenarioFile::defaults(vec!["focus.parquet".into()], PathBuf::from("rates.toml"));
    expected.source_name = "plan.toml".into();
    assert_eq!(f, expected);
    // The documented table, spelt out.
    assert_eq!(f.name, "plan");
    assert_eq!(f.as_of, None);
    assert_eq!(f.horizon.text, "3y");
    assert_eq!(f.horizon.seconds, 3 * 365 * 86_400);
    assert_eq!((f.events.clone(), f.inventory.clone()), (None, None));
    assert_eq!(f.cost_of_capital, Decimal::ZERO);
    assert_eq!((f.fiscal_year_start_month, f.quarters), (1, 4));
    assert_eq!(f.inputs.format, None);
    assert_eq!(f.inputs.currency, None);
    assert!(!f.inputs.lenient && !f.inputs.allow_duplicates);
    assert_eq!(f.inputs.tidy, TidyColumns::default());
    assert_eq!(f.series.by, ["service"]);
    assert_eq!(f.series.granularity, None);
    assert!(f.series.filter.is_empty());
    let fc = &f.forecast;
    assert_eq!((fc.windows, fc.paths, fc.seed), (8, 200, 0));
    assert_eq!((fc.backtest_horizon.clone(), fc.step.clone()), (None, None));
    assert_eq!(fc.anomaly_threshold, 6.0);
    assert!(!fc.clean_anomalies && !fc.all_history);
    assert_eq!(f.budget.currency, "USD");
    assert!(f.budget.total.is_empty() && f.budget.groups.is_empty());
    assert!(f.limits.is_empty());
    let demand: Vec<(&str, DemandSource)> = f
        .demand
        .iter()
        .map(|d| (d.name.as_str(), d.source))
        .collect();
    assert_eq!(
        demand,
        [
            ("base", DemandSource::Forecast),
            ("upside", DemandSource::Quantile(0.9)),
            ("downside", DemandSource::Quantile(0.1)),
        ]
    );
    let strategies: Vec<(&str, &StrategyKind)> = f
        .strategies
        .iter()
        .map(|s| (s.name.as_str(), &s.kind))
        .collect();
    assert_eq!(
        strategies,
        [
            ("on-demand", &StrategyKind::None),
            (
                "recommended",
                &StrategyKind::Recommended {
                    risk: Risk::Balanced,
                    ladder: None
                }
            ),
            ("lookback-30d", &StrategyKind::Lookback { days: 30 }),
        ]
    );
    assert_eq!(f.matrix().count(), 9);
}

#[test]
fn empty_tables_and_lists_also_mean_defaults() {
    let text = format!(
        "{MINIMAL}[series]\n[forecast]\n[budget]\n[scenario]\ndemand = []\nstrategy = []\n"
    );
    let f = parse(&text).unwrap();
    let mut expected =
        ScenarioFile::defaults(vec!["focus.parquet".into()], PathBuf::from("rates.toml"));
    expected.source_name = "plan.toml".into();
    assert_eq!(f, expected);
}

#[test]
fn demo_plan_parses() {
    let text = include_str!("../../data/demo/plan.toml");
    let f = ScenarioFile::from_toml_str(text, "data/demo/plan.toml").unwrap();
    assert_eq!(f.name, "northwind");
    assert_eq!(f.as_of, NaiveDate::from_ymd_opt(2026, 10, 1));
    assert_eq!(f.cost_of_capital, Decimal::new(8, 2));
    assert_eq!(f.fiscal_year_start_month, 7);
    assert_eq!(f.series.by, ["service", "region"]);
    assert_eq!(f.series.granularity, Some(Granularity::Day));
    assert_eq!(f.inputs.format, Some(Format::Focus));
    assert!(f.forecast.clean_anomalies);
    assert_eq!(f.forecast.seed, 42);

    let quarters = f.planned_quarters(f.as_of.unwrap());
    let labels: Vec<String> = quarters.iter().map(ToString::to_string).collect();
    assert_eq!(labels, ["FY2027-Q2", "FY2027-Q3", "FY2027-Q4", "FY2028-Q1"]);
    // Every budget is for a planned quarter.
    let planned: BTreeSet<FiscalQuarter> = quarters.into_iter().collect();
    assert!(f.budget.total.keys().all(|q| planned.contains(q)));
    assert_eq!(f.budget.total.len(), 4);
    assert_eq!(f.budget.groups.len(), 2);
    assert_eq!(f.budget.groups[0].name, "EC2");
    assert_eq!(
        f.budget.groups[0].quarters[&"FY2027-Q2".parse().unwrap()],
        Decimal::from(55_000)
    );
    assert_eq!(f.limits.len(), 1);
    assert_eq!(f.limits[0].value, 1800.0);

    assert_eq!(f.demand.len(), 4);
    assert_eq!(f.demand[1].source, DemandSource::Quantile(0.9));
    assert_eq!(f.demand[3].source, DemandSource::Multiplier(1.2));
    assert_eq!(f.strategies.len(), 6);
    assert_eq!(f.matrix().count(), 24);
    assert_eq!(
        f.strategies[2].kind,
        StrategyKind::Recommended {
            risk: Risk::CONSERVATIVE,
            ladder: Some(LadderSettings {
                cadence: Cadence::Quarterly,
                period_months: 12,
                sizing: TrancheSizing::EqualSlices
            })
        }
    );
    assert_eq!(
        f.strategies[3].kind,
        StrategyKind::Coverage {
            percent: Decimal::from(70),
            term: Term::OneYear
        }
    );
    let StrategyKind::Purchases(p) = &f.strategies[4].kind else {
        panic!("purchases expected");
    };
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].pool, "ec2-use1-c6i.xlarge");
    assert_eq!(p[0].quantity, 12.0);
    assert_eq!(p[1].date, NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
    let line = text
        .lines()
        .position(|l| l.contains("ec2-euw1-c6i.xlarge-ri-3y"))
        .unwrap()
        + 1;
    assert_eq!(p[1].line, line);

    // Relative to the plan file's directory.
    let r = f.resolve_paths(Path::new("data/demo"));
    assert_eq!(r.inputs.paths, ["data/demo/focus.parquet"]);
    assert_eq!(r.rates, Path::new("data/demo/rates.toml"));
    assert_eq!(
        r.inventory.as_deref(),
        Some(Path::new("data/demo/inventory.toml"))
    );
    assert_eq!(
        r.events.as_deref(),
        Some(Path::new("data/demo/plan-events.toml"))
    );
    assert_eq!(
        r.demand[1].events,
        [PathBuf::from("data/demo/upside-events.toml")]
    );
}

#[test]
fn resolve_paths_keeps_absolute_paths_and_globs() {
    let text = "rates = \"/etc/capplan/rates.toml\"\n[inputs]\npaths = [\"exports/2024-*/*.parquet\", \"/data/x.csv\"]\n";
    let f = parse(text).unwrap().resolve_paths(Path::new("/plans"));
    assert_eq!(
        f.inputs.paths,
        ["/plans/exports/2024-*/*.parquet", "/data/x.csv"]
    );
    assert_eq!(f.rates, Path::new("/etc/capplan/rates.toml"));
}

#[test]
fn unknown_keys_name_their_line_and_the_closest_key() {
    // Top level.
    let e = err_at(&minimal_with("horizn = \"90d\"", ""), 1);
    let ScenarioError::UnknownKey(d) = &e else {
        panic!("{e}");
    };
    assert_eq!(d.key, "horizn");
    assert_eq!(d.problem, "unknown key");
    assert!(d.fix.contains("`horizon`"), "{e}");
    // In a table.
    let e = err_at(
        &format!("{MINIMAL}[forecast]\nwindows = 8\nwindos = 9\n"),
        6,
    );
    let ScenarioError::UnknownKey(d) = &e else {
        panic!("{e}");
    };
    assert_eq!(d.key, "windos");
    assert!(d.expected.contains("anomaly_threshold"), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "plan.toml: line 6, column 1: `windos`: unknown key in [forecast]; expected {}. Fix: did you mean `windows`? Correct the key or remove it",
            d.expected
        )
    );
    // In an array of tables.
    let text = format!(
        "{MINIMAL}[[scenario.strategy]]\nname = \"x\"\nkind = \"none\"\ncolour = \"red\"\n"
    );
    let e = err_at(&text, 7);
    assert_eq!(e.key(), "colour");
    // In an inline table of an inline array.
    let text = format!(
        "{MINIMAL}[[scenario.strategy]]\nname = \"x\"\nkind = \"purchases\"\npurchase = [\n  {{ pool = \"p\", offer = \"o\", quantity = 1, date = 2027-01-01 }},\n  {{ pool = \"p\", offr = \"o\", quantity = 1, date = 2027-01-01 }},\n]\n"
    );
    let e = err_at(&text, 9);
    assert_eq!(e.key(), "offr");
    // A misplaced key: `rates` after a table header belongs to that table.
    let e = err_at("[inputs]\npaths = [\"a\"]\nrates = \"r.toml\"\n", 3);
    assert_eq!(e.key(), "rates");
    assert!(e.to_string().contains("in [inputs]"), "{e}");
}

#[test]
fn wrong_toml_types_name_the_key() {
    let e = err_at(&format!("{MINIMAL}[forecast]\nwindows = \"8\"\n"), 5);
    let ScenarioError::Syntax(d) = &e else {
        panic!("{e}");
    };
    assert_eq!(d.key, "windows");
    assert!(d.fix.contains("TOML type"), "{e}");
}

#[test]
fn toml_syntax_errors_have_a_position() {
    let e = err_at(&format!("{MINIMAL}name = \"x\n"), 4);
    assert!(matches!(e, ScenarioError::Syntax(_)), "{e}");
}

#[test]
fn required_settings() {
    let e = err_at("[inputs]\npaths = [\"a\"]\n", 1);
    assert_eq!(e.key(), "rates");
    assert!(e.to_string().contains("Fix: add `rates"), "{e}");
    let e = err_at("rates = \"r.toml\"\n", 1);
    assert_eq!(e.key(), "inputs.paths");
    let e = err_at("rates = \"r.toml\"\n[inputs]\npaths = []\n", 3);
    assert_eq!(e.key(), "inputs.paths");
}

/// Each case: extra top-level lines, extra tables, expected line, key, text in the message.
#[test]
fn invalid_values_are_explained() {
    let cases: &[(&str, &str, usize, &str, &str)] = &[
        (
            "fiscal_year_start_month = 13",
            "",
            1,
            "fiscal_year_start_month",
            "from 1 to 12",
        ),
        ("quarters = 0", "", 1, "quarters", "from 1 to 40"),
        ("horizon = \"3m\"", "", 1, "horizon", "unit h, d, w or y"),
        ("as_of = \"01/10/2026\"", "", 1, "as_of", "2026-10-01"),
        ("as_of = 2026-10-01T00:00:00Z", "", 1, "as_of", "a date"),
        (
            "cost_of_capital = 8",
            "",
            1,
            "cost_of_capital",
            "from 0 to 1",
        ),
        (
            "cost_of_capital = \"eight\"",
            "",
            1,
            "cost_of_capital",
            "decimal",
        ),
        ("name = \"../x\"", "", 1, "name", "file name"),
        (
            "",
            "[inputs.tidy]\ntime = \"\"",
            0,
            "inputs.tidy.time",
            "non-empty",
        ),
        (
            "",
            "[series]\ngranularity = \"dai\"",
            0,
            "series.granularity",
            "\"day\"",
        ),
        (
            "",
            "[series]\nby = [\"service\", \"service\"]",
            0,
            "series.by",
            "twice",
        ),
        (
            "",
            "[forecast]\nanomaly_threshold = -1",
            0,
            "forecast.anomaly_threshold",
            "positive",
        ),
        ("", "[forecast]\npaths = 0", 0, "forecast.paths", "from 1"),
        ("", "[forecast]\nstep = \"1x\"", 0, "forecast.step", "unit"),
        (
            "",
            "[budget]\ncurrency = \"dollars\"",
            0,
            "budget.currency",
            "ISO 4217",
        ),
        (
            "",
            "[budget]\ntotal = { \"2027-Q1\" = \"1\" }",
            0,
            "budget.total.\"2027-Q1\"",
            "FY2027-Q1",
        ),
        (
            "",
            "[budget]\ntotal = { \"FY2027-Q1\" = \"-5\" }",
            0,
            "budget.total.\"FY2027-Q1\"",
            "zero or more",
        ),
        (
            "",
            "[budget]\ntotal = { \"FY2027-Q1\" = \"1\", \"fy2027-q1\" = \"2\" }",
            0,
            "budget.total.\"fy2027-q1\"",
            "twice",
        ),
        (
            "",
            "[[budget.group]]\nname = \"EC2\"",
            0,
            "budget.group[1].match",
            "filter",
        ),
        (
            "",
            "[[budget.group]]\nname = \"A\"\nmatch = { a = \"b\" }\n[[budget.group]]\nname = \"A\"\nmatch = { a = \"c\" }",
            0,
            "budget.group[2].name",
            "line 5",
        ),
        (
            "",
            "[[limit]]\nmatch = { region = \"x\" }",
            0,
            "limit[1].value",
            "missing",
        ),
        ("", "[[limit]]\nvalue = 0", 0, "limit[1].value", "positive"),
        (
            "",
            "[[scenario.demand]]\nname = \"u\"\nquantile = \"p42\"",
            0,
            "scenario.demand[1].quantile",
            "p90",
        ),
        (
            "",
            "[[scenario.demand]]\nname = \"u\"\nquantile = \"p90\"\nmultiplier = 1.2",
            0,
            "scenario.demand[1].quantile",
            "one of `quantile` or `multiplier`",
        ),
        (
            "",
            "[[scenario.demand]]\nname = \"u\"\nmultiplier = 0",
            0,
            "scenario.demand[1].multiplier",
            "positive factor",
        ),
        (
            "",
            "[[scenario.demand]]\nquantile = 0.9",
            0,
            "scenario.demand[1].name",
            "missing",
        ),
        (
            "",
            "[[scenario.demand]]\nname = \"a\"\n[[scenario.demand]]\nname = \"a\"",
            0,
            "scenario.demand[2].name",
            "line 5",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"",
            0,
            "scenario.strategy[1].kind",
            "missing",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"recomended\"",
            0,
            "scenario.strategy[1].kind",
            "did you mean \"recommended\"",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"none\"\ndays = 30",
            0,
            "scenario.strategy[1].days",
            "only with kind = \"lookback\"",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"recommended\"\nrisk = \"balanced\"\nrisk_cvar = 0.5",
            0,
            "scenario.strategy[1].risk_cvar",
            "together with `risk`",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"recommended\"\nrisk_quantile = 1.5",
            0,
            "scenario.strategy[1].risk_quantile",
            "between 0 and 1",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"recommended\"\nladder_months = 6",
            0,
            "scenario.strategy[1].ladder_months",
            "without `ladder`",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"coverage\"",
            0,
            "scenario.strategy[1].coverage_percent",
            "missing",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"coverage\"\ncoverage_percent = 170",
            0,
            "scenario.strategy[1].coverage_percent",
            "at most 100",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"coverage\"\ncoverage_percent = 50\nterm = \"2y\"",
            0,
            "scenario.strategy[1].term",
            "\"3y\"",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"purchases\"",
            0,
            "scenario.strategy[1].purchase",
            "missing",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"lookback\"\ndays = 0",
            0,
            "scenario.strategy[1].days",
            "from 1 to 365",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"purchases\"\n[[scenario.strategy.purchase]]\npool = \"p\"\noffer = \"o\"\nquantity = 0\ndate = 2027-01-01",
            0,
            "scenario.strategy[1].purchase[1].quantity",
            "at least 1",
        ),
        (
            "",
            "[[scenario.strategy]]\nname = \"s\"\nkind = \"purchases\"\n[[scenario.strategy.purchase]]\npool = \"p\"\noffer = \"o\"\nquantity = 1",
            0,
            "scenario.strategy[1].purchase[1].date",
            "missing",
        ),
    ];
    for (top, tables, _, key, needle) in cases {
        let text = minimal_with(top, &format!("{tables}\n"));
        let e = parse(&text).expect_err(&format!("{key} should be rejected"));
        assert_eq!(e.key(), *key, "{e}");
        let msg = e.to_string();
        assert!(msg.contains(needle), "{key}: {msg:?} lacks {needle:?}");
        assert!(msg.starts_with("plan.toml: line "), "{msg}");
        assert!(
            msg.contains("; expected ") && msg.contains(". Fix: "),
            "{msg}"
        );
        // The line is the line of the offending key (or of its entry).
        let line = e.line();
        let written = text.lines().nth(line - 1).unwrap_or("");
        let last = key.rsplit('.').next().unwrap().trim_matches('"');
        let last = last.split('[').next().unwrap();
        assert!(
            written.contains(last) || written.starts_with("[["),
            "{key}: line {line} is {written:?}"
        );
    }
}

#[test]
fn purchases_before_as_of_are_refused() {
    let text = minimal_with(
        "as_of = 2026-10-01",
        "[[scenario.strategy]]\nname = \"s\"\nkind = \"purchases\"\npurchase = [{ pool = \"p\", offer = \"o\", quantity = 1, date = \"2026-09-30\" }]\n",
    );
    let e = err_at(&text, 8);
    assert!(e.to_string().contains("before as_of"), "{e}");
    assert!(e.to_string().contains("inventory"), "{e}");
}

#[test]
fn values_accept_their_documented_spellings() {
    let text = minimal_with(
        "as_of = \"2026-10-01\"\ncost_of_capital = 0.075",
        "[budget]\ntotal = { \"fy2027-q1\" = 1250000.5, \"FY2027-Q2\" = 7 }\n\
         [[scenario.demand]]\nname = \"q\"\nquantile = 0.25\n\
         [[scenario.demand]]\nname = \"p5\"\nquantile = \"P05\"\n\
         [[scenario.strategy]]\nname = \"r\"\nkind = \"Recommended\"\nrisk_cvar = 1\n\
         [[scenario.strategy]]\nname = \"c\"\nkind = \"coverage\"\ncoverage_percent = \"62.5\"\nterm = \"3y\"\n",
    );
    let f = parse(&text).unwrap();
    assert_eq!(f.as_of, NaiveDate::from_ymd_opt(2026, 10, 1));
    assert_eq!(f.cost_of_capital, Decimal::new(75, 3));
    let q1: FiscalQuarter = "FY2027-Q1".parse().unwrap();
    assert_eq!(f.budget.total[&q1], Decimal::new(12_500_005, 1));
    assert_eq!(f.demand[0].source, DemandSource::Quantile(0.25));
    assert_eq!(f.demand[1].source, DemandSource::Quantile(0.05));
    assert_eq!(
        f.strategies[0].kind,
        StrategyKind::Recommended {
            risk: Risk::Cvar(1.0),
            ladder: None
        }
    );
    assert_eq!(
        f.strategies[1].kind,
        StrategyKind::Coverage {
            percent: Decimal::new(625, 1),
            term: Term::ThreeYears
        }
    );
    // Only demand scenarios given: strategies keep their defaults.
    let f = parse(&format!("{MINIMAL}[[scenario.demand]]\nname = \"only\"\n")).unwrap();
    assert_eq!(f.demand.len(), 1);
    assert_eq!(f.strategies.len(), 3);
}

#[test]
fn from_str_uses_a_placeholder_name() {
    let e = "rates = 1".parse::<ScenarioFile>().unwrap_err();
    assert_eq!(e.file(), "<plan>");
}
