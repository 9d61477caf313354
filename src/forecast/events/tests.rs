//! Unit tests of the event file: parsing and its errors, matching, applying
//! (including migrations and the properties that hold for generated files).

use super::parse::{parse_duration, parse_instant};
use super::*;
use crate::forecast::ForecastArrays;
use proptest::prelude::*;

fn key(pairs: &[(&str, &str)]) -> SeriesKey {
    SeriesKey(
        pairs
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect(),
    )
}

fn at(text: &str) -> DateTime<Utc> {
    parse_instant(&toml::Value::String(text.to_string())).unwrap()
}

/// Hourly forecast with one level 0.5 equal to `values` and no paths.
fn flat(start: &str, values: Vec<f64>) -> ForecastArrays {
    ForecastArrays {
        start: at(start),
        step_seconds: 3600,
        levels: vec![0.5],
        quantiles: vec![values.clone()],
        point: values,
        paths: vec![],
    }
}

fn parse(text: &str) -> EventSet {
    EventSet::from_toml_str(text, "events.toml").unwrap()
}

fn parse_err(text: &str) -> EventError {
    EventSet::from_toml_str(text, "events.toml").unwrap_err()
}

fn line_of(e: &EventError) -> usize {
    match e {
        EventError::Syntax { line, .. } | EventError::Invalid { line, .. } => *line,
    }
}

const EXAMPLE: &str = r#"
[[event]]
name = "EU launch"
kind = "launch"
match = { region = "eu-west-1" }
start = "2026-12-01"
ramp = "4w"
effect = { multiply = 1.25 }
end = "2027-06-01"

[[event]]
name = "m6i to c6i"
kind = "migration"
from = { instance_family = "m6i" }
to   = { instance_family = "c6i" }
share = 0.30
start = "2027-01-01"
ramp = "8w"
"#;

#[test]
fn parses_the_example() {
    let set = parse(EXAMPLE);
    assert_eq!(set.len(), 2);
    let e = &set.events()[0];
    assert_eq!(e.name, "EU launch");
    assert_eq!(e.kind, EventKind::Launch);
    assert_eq!(e.line, 2);
    assert_eq!(e.timing.start(), at("2026-12-01T00:00:00Z"));
    assert_eq!(e.timing.ramp_seconds(), 4 * 7 * 86_400);
    assert_eq!(e.timing.end(), Some(at("2027-06-01")));
    assert_eq!(
        e.action,
        EventAction::Effect {
            filter: Filter::new(BTreeMap::from([(
                "region".to_string(),
                "eu-west-1".to_string()
            )])),
            effect: Effect::Multiply(1.25),
        }
    );
    let m = &set.events()[1];
    assert_eq!(m.line, 11);
    assert!(matches!(m.action, EventAction::Migration { share, .. } if share == 0.30));
}

#[test]
fn ramp_values_at_specific_hours() {
    let t = Timing::new(at("2026-12-01"), 672 * 3600, Some(at("2027-06-01"))).unwrap();
    let h = |hours: i64| at("2026-12-01") + chrono::TimeDelta::hours(hours);
    assert_eq!(t.ramp_at(h(-1)), 0.0);
    assert_eq!(t.ramp_at(h(0)), 0.0);
    assert_eq!(t.ramp_at(h(168)), 0.25);
    assert_eq!(t.ramp_at(h(336)), 0.5);
    assert_eq!(t.ramp_at(h(504)), 0.75);
    assert_eq!(t.ramp_at(h(672)), 1.0);
    assert_eq!(t.ramp_at(h(2000)), 1.0);
    // End is exclusive.
    assert_eq!(t.ramp_at(at("2027-05-31T23:00:00Z")), 1.0);
    assert_eq!(t.ramp_at(at("2027-06-01")), 0.0);
    let step = Timing::new(at("2026-12-01"), 0, None).unwrap();
    assert_eq!(step.ramp_at(h(0)), 1.0);
    assert_eq!(step.ramp_at(h(-1)), 0.0);
    assert!(Timing::new(at("2026-12-01"), 0, Some(at("2026-12-01"))).is_none());
}

#[test]
fn launch_ramp_scales_and_add_adds() {
    let set = parse(
        r#"
[[event]]
name = "launch"
kind = "launch"
start = "2026-12-01"
ramp = "4w"
effect = { multiply = 1.25 }

[[event]]
name = "customer"
kind = "growth"
start = "2026-12-01T00:00:00Z"
ramp = "10h"
effect = { add = 40 }
"#,
    );
    let keys = [key(&[("region", "eu-west-1")])];
    let plan = set.plan(&keys);
    assert!(plan.warnings().is_empty());
    let mut f = vec![flat("2026-12-01", vec![100.0; 700])];
    plan.apply_all(&mut f).unwrap();
    let p = &f[0].point;
    assert_eq!(p[0], 100.0);
    // Hour 5: factor 1 + 0.25·5/672, add 40·0.5 = 20.
    assert!((p[5] - (100.0 * (1.0 + 0.25 * 5.0 / 672.0) + 20.0)).abs() < 1e-9);
    // Hour 168: factor 1.0625, add fully ramped.
    assert!((p[168] - (106.25 + 40.0)).abs() < 1e-9);
    assert!((p[672] - 165.0).abs() < 1e-9);
    assert_eq!(f[0].quantiles[0], f[0].point);
}

#[test]
fn compound_growth_reaches_rate_after_one_year() {
    let set = parse(
        r#"
[[event]]
name = "g"
kind = "growth"
start = 2026-01-01
effect = { rate_per_year = 0.2 }
"#,
    );
    let plan = set.plan(&[key(&[("service", "EC2")])]);
    let mut f = flat("2025-12-31T18:00:00Z", vec![10.0; 1470]);
    f.step_seconds = 6 * 3600;
    let mut fs = vec![f];
    plan.apply_all(&mut fs).unwrap();
    let p = &fs[0].point;
    assert_eq!(p[0], 10.0); // before start
    assert_eq!(p[1], 10.0); // at start: (1.2)^0
    // Step 1 + 1461 is 365.25 days after the start.
    assert!((p[1462] - 12.0).abs() < 1e-9);
}

#[test]
fn decommission_with_end_returns_to_baseline() {
    let set = parse(
        r#"
[[event]]
name = "off"
kind = "decommission"
start = "2026-01-01T02:00:00Z"
end = "2026-01-01T04:00:00Z"
effect = { multiply = 0.0 }
"#,
    );
    let plan = set.plan(&[key(&[])]);
    let mut f = vec![flat("2026-01-01", vec![5.0; 6])];
    plan.apply_all(&mut f).unwrap();
    assert_eq!(f[0].point, vec![5.0, 5.0, 0.0, 0.0, 5.0, 5.0]);
}

#[test]
fn negative_add_clamps_at_zero() {
    let set = parse(
        r#"
[[event]]
name = "shrink"
kind = "decommission"
start = "2026-01-01"
effect = { add = -7.5 }
"#,
    );
    let plan = set.plan(&[key(&[("a", "b")])]);
    let mut f = flat("2026-01-01", vec![5.0, 10.0]);
    f.levels = vec![0.1, 0.9];
    f.quantiles = vec![vec![4.0, 9.0], vec![8.0, 12.0]];
    let mut fs = vec![f];
    plan.apply_all(&mut fs).unwrap();
    assert_eq!(fs[0].quantiles, vec![vec![0.0, 1.5], vec![0.5, 4.5]]);
    assert_eq!(fs[0].point, vec![0.0, 2.5]);
}

fn migration_keys() -> Vec<SeriesKey> {
    vec![
        key(&[("instance_family", "m6i"), ("region", "us-east-1")]),
        key(&[("instance_family", "c6i"), ("region", "us-east-1")]),
        key(&[("instance_family", "m6i"), ("region", "eu-west-1")]),
        // Keys are matched regardless of dimension order.
        key(&[("region", "eu-west-1"), ("instance_family", "c6i")]),
    ]
}

#[test]
fn migration_conserves_demand_exactly() {
    let set = parse(EXAMPLE);
    let keys = migration_keys();
    let plan = set.plan(&keys);
    // The EU launch matches; nothing is missing.
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
    assert!(plan.is_donor(0) && !plan.is_donor(1) && plan.is_donor(2));
    let start = "2026-12-31T00:00:00Z";
    let h = 24 * 70;
    let mk = |base: f64| {
        flat(
            start,
            (0..h).map(|k| base + (k % 24) as f64).collect::<Vec<_>>(),
        )
    };
    let mut fs: Vec<ForecastArrays> = [100.0, 50.0, 80.0, 10.0].map(mk).to_vec();
    // Apply local events first so conservation is checked on migration only.
    for (i, f) in fs.iter_mut().enumerate() {
        plan.apply_local(i, f).unwrap();
    }
    let before = fs.clone();
    let pre: Vec<ForecastArrays> = fs.clone();
    for (i, f) in fs.iter_mut().enumerate() {
        plan.apply_migrations(i, f, |d| pre.get(d)).unwrap();
    }
    for k in 0..h {
        let sum_before: f64 = before.iter().map(|f| f.point[k]).sum();
        let sum_after: f64 = fs.iter().map(|f| f.point[k]).sum();
        assert!((sum_before - sum_after).abs() < 1e-9, "step {k}");
        // Pairwise conservation too.
        let us = before[0].point[k] + before[1].point[k];
        assert!((us - fs[0].point[k] - fs[1].point[k]).abs() < 1e-9);
    }
    // Before 2027-01-01 (step 24) nothing moves; 8 weeks later 30 % moved.
    assert_eq!(fs[0].point[24], before[0].point[24]);
    let full = 24 + 8 * 7 * 24;
    assert!((fs[0].point[full] - 0.7 * before[0].point[full]).abs() < 1e-9);
    assert!((fs[1].point[full] - before[1].point[full] - 0.3 * before[0].point[full]).abs() < 1e-9);
    // Half way through the ramp, 15 % moved.
    let half = 24 + 4 * 7 * 24;
    assert!((fs[2].point[half] - 0.85 * before[2].point[half]).abs() < 1e-9);
}

#[test]
fn overlapping_shares_above_one_are_scaled_and_conserve() {
    let set = parse(
        r#"
[[event]]
name = "to c"
kind = "migration"
from = { f = "a" }
to = { f = "c" }
share = 0.8
start = "2026-01-01"

[[event]]
name = "to d"
kind = "migration"
from = { f = "a" }
to = { f = "d" }
share = 0.6
start = "2026-01-01"
"#,
    );
    let keys = vec![key(&[("f", "a")]), key(&[("f", "c")]), key(&[("f", "d")])];
    let plan = set.plan(&keys);
    assert!(matches!(
        plan.warnings(),
        [PlanWarning::SharesExceedOne { total, .. }] if (*total - 1.4).abs() < 1e-12
    ));
    let mut fs = vec![
        flat("2026-01-01", vec![14.0]),
        flat("2026-01-01", vec![1.0]),
        flat("2026-01-01", vec![2.0]),
    ];
    plan.apply_all(&mut fs).unwrap();
    assert_eq!(fs[0].point[0], 0.0);
    assert!((fs[1].point[0] - 9.0).abs() < 1e-12); // 1 + 14·0.8/1.4
    assert!((fs[2].point[0] - 8.0).abs() < 1e-12); // 2 + 14·0.6/1.4
}

#[test]
fn inflow_uses_matching_quantiles_and_paths() {
    let set = parse(
        r#"
[[event]]
name = "move"
kind = "migration"
from = { region = "x" }
to = { region = "y" }
share = 0.5
start = "2026-01-01"
"#,
    );
    let plan = set.plan(&[key(&[("region", "x")]), key(&[("region", "y")])]);
    let mk = |q: [f64; 3], paths: Vec<Vec<f64>>| ForecastArrays {
        start: at("2026-01-01"),
        step_seconds: 86_400,
        levels: vec![0.1, 0.5, 0.9],
        quantiles: q.iter().map(|v| vec![*v]).collect(),
        point: vec![q[1]],
        paths,
    };
    let mut fs = vec![
        mk([10.0, 20.0, 40.0], vec![vec![12.0], vec![30.0]]),
        mk([1.0, 2.0, 3.0], vec![vec![2.5], vec![1.0]]),
    ];
    plan.apply_all(&mut fs).unwrap();
    let q = |f: &ForecastArrays| f.quantiles.iter().map(|r| r[0]).collect::<Vec<_>>();
    assert_eq!(q(&fs[0]), vec![5.0, 10.0, 20.0]);
    assert_eq!(q(&fs[1]), vec![6.0, 12.0, 23.0]);
    assert_eq!(fs[0].paths, vec![vec![6.0], vec![15.0]]);
    assert_eq!(fs[1].paths, vec![vec![8.5], vec![16.0]]);
    assert_eq!(fs[1].point, vec![12.0]);
}

#[test]
fn missing_target_keeps_demand_and_warns() {
    let set = parse(EXAMPLE);
    let keys = vec![
        key(&[("instance_family", "m6i"), ("region", "ap-south-1")]),
        key(&[("instance_family", "c6i"), ("region", "us-east-1")]),
    ];
    let plan = set.plan(&keys);
    assert_eq!(plan.unmatched_events(), &[0, 1]);
    let w: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].contains("\"EU launch\" (line 2) matches no series"));
    assert!(w[1].contains("\"m6i to c6i\" (line 11) matches no series"));
    assert!(
        w[2].contains("instance_family=c6i,region=ap-south-1"),
        "{}",
        w[2]
    );
    assert!(!plan.is_donor(0));
    let mut fs = vec![
        flat("2027-06-01", vec![3.0; 2]),
        flat("2027-06-01", vec![4.0; 2]),
    ];
    plan.apply_all(&mut fs).unwrap();
    assert_eq!(fs[0].point, vec![3.0; 2]);
    assert_eq!(fs[1].point, vec![4.0; 2]);
}

#[test]
fn filters_match_all_listed_dimensions() {
    let f = Filter::new(BTreeMap::from([
        ("region".to_string(), "eu".to_string()),
        ("service".to_string(), "EC2".to_string()),
    ]));
    assert!(f.matches(&key(&[("service", "EC2"), ("region", "eu"), ("x", "y")])));
    assert!(!f.matches(&key(&[("service", "EC2")])));
    assert!(!f.matches(&key(&[("service", "EC2"), ("region", "us")])));
    assert!(Filter::default().matches(&key(&[])));
    assert_eq!(f.to_string(), "{region = \"eu\", service = \"EC2\"}");
}

#[test]
fn dates_accept_literals_and_offsets() {
    let set = parse(
        r#"
[[event]]
name = "a"
kind = "launch"
start = 2026-12-01T06:00:00+02:00
end = "2026-12-02 00:00:00"
effect = { add = 1 }
"#,
    );
    let t = set.events()[0].timing;
    assert_eq!(t.start(), at("2026-12-01T04:00:00Z"));
    assert_eq!(t.end(), Some(at("2026-12-02")));
}

#[test]
fn errors_name_the_line_and_what_to_do() {
    let cases: &[(&str, usize, &str)] = &[
        // Syntax error.
        (
            "[[event]]\nname = \"a\"\nkind = launch\n",
            3,
            "events.toml:3:",
        ),
        // Unknown key.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1 }\ncolour = \"red\"\n",
            6,
            "unknown field `colour`",
        ),
        // Unknown top-level table.
        ("[[events]]\nname = \"a\"\n", 1, "unknown field `events`"),
        // Unknown kind.
        (
            "[[event]]\nname = \"a\"\nkind = \"expansion\"\n",
            3,
            "unknown variant `expansion`",
        ),
        // Unknown effect key.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { mul = 2 }\n",
            5,
            "unknown field `mul`",
        ),
        // Negative multiply.
        (
            "[[event]]\nname = \"a\"\nkind = \"decommission\"\nstart = \"2026-01-01\"\n\neffect = { multiply = -0.5 }\n",
            6,
            "factor ≥ 0",
        ),
        // Share out of range.
        (
            "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = 1.5\n",
            7,
            "outside 0 ..= 1",
        ),
        (
            "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = -0.1\n",
            7,
            "outside 0 ..= 1",
        ),
        // End before start.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-02-01\"\nend = \"2026-01-01\"\neffect = { add = 1 }\n",
            5,
            "is not after start",
        ),
        // Migration without `to`.
        (
            "\n[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
            2,
            "`to` is missing",
        ),
        // from == to.
        (
            "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"a\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
            5,
            "same as from",
        ),
        // Different dimensions.
        (
            "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { r = \"b\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
            5,
            "name the same dimensions",
        ),
        // rate_per_year outside growth.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { rate_per_year = 0.1 }\n",
            5,
            "only for kind = \"growth\"",
        ),
        // Two effects.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1, multiply = 2 }\n",
            5,
            "give exactly one",
        ),
        // Bad ramp.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\nramp = \"4 weeks\"\neffect = { add = 1 }\n",
            5,
            "e.g. \"36h\"",
        ),
        // Bad date.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"next week\"\neffect = { add = 1 }\n",
            4,
            "\"next week\" is not a date",
        ),
        // Duplicate names.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1 }\n[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 2 }\n",
            6,
            "also used by the event on line 1",
        ),
        // share on a launch.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\nshare = 0.2\neffect = { add = 1 }\n",
            5,
            "only for kind = \"migration\"",
        ),
        // Missing effect.
        (
            "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\n",
            1,
            "`effect` is missing",
        ),
    ];
    for (text, line, needle) in cases {
        let e = parse_err(text);
        let msg = e.to_string();
        assert_eq!(line_of(&e), *line, "{msg}");
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
        assert!(msg.starts_with(&format!("events.toml:{line}")), "{msg}");
    }
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("36h"), Ok(36 * 3600));
    assert_eq!(parse_duration("10d"), Ok(864_000));
    assert_eq!(parse_duration(" 4w "), Ok(4 * 604_800));
    assert_eq!(parse_duration("0h"), Ok(0));
    assert!(parse_duration("h").is_err());
    assert!(parse_duration("-1d").is_err());
    assert!(parse_duration("1.5d").is_err());
    assert!(parse_duration("").is_err());
    assert!(parse_duration("99999999999999999999w").is_err());
}

#[test]
fn apply_reports_misuse() {
    let set = parse(
        "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
    );
    let plan = set.plan(&[key(&[("f", "a")]), key(&[("f", "b")])]);
    let mut one = vec![flat("2026-01-01", vec![1.0])];
    assert!(matches!(
        plan.apply_all(&mut one),
        Err(ApplyError::CountMismatch {
            planned: 2,
            given: 1
        })
    ));
    let mut fs = vec![
        flat("2026-01-01", vec![1.0, 2.0]),
        flat("2026-01-02", vec![1.0, 2.0]),
    ];
    let err = plan.apply_all(&mut fs).unwrap_err();
    assert!(matches!(err, ApplyError::Misaligned { .. }), "{err}");
    assert!(err.to_string().contains("same start"));
    let mut bad = flat("2026-01-01", vec![1.0, 2.0]);
    bad.quantiles[0].pop();
    assert!(matches!(
        plan.apply_local(0, &mut bad),
        Err(ApplyError::BadShape { series: 0, .. })
    ));
    let mut f = flat("2026-01-01", vec![1.0]);
    assert!(matches!(
        plan.apply_migrations(1, &mut f, |_| None),
        Err(ApplyError::MissingDonor {
            donor: 0,
            target: 1,
            ..
        })
    ));
    assert!(matches!(
        plan.apply_local(7, &mut f),
        Err(ApplyError::SeriesOutOfRange { series: 7, .. })
    ));
}

/// One generated event, written as TOML.
fn arb_event() -> impl Strategy<Value = String> {
    let timing = (
        0i64..96,
        prop::option::of(0i64..48),
        prop::option::of(1i64..96),
    )
        .prop_map(|(start, ramp, end)| {
            let s = at("2026-01-01") + chrono::TimeDelta::hours(start);
            let mut t = format!("start = \"{}\"\n", s.to_rfc3339());
            if let Some(r) = ramp {
                t += &format!("ramp = \"{r}h\"\n");
            }
            if let Some(e) = end {
                let e = s + chrono::TimeDelta::hours(e);
                t += &format!("end = \"{}\"\n", e.to_rfc3339());
            }
            (t, ramp.is_some())
        });
    let filter = prop::sample::select(vec![
        "",
        "match = { f = \"a\" }\n",
        "match = { r = \"x\" }\n",
        "match = { f = \"b\", r = \"y\" }\n",
    ]);
    let migration = prop::sample::select(vec![
        "from = { f = \"a\" }\nto = { f = \"b\" }\n",
        "from = { r = \"x\" }\nto = { r = \"y\" }\n",
        "from = { f = \"b\", r = \"y\" }\nto = { f = \"a\", r = \"x\" }\n",
    ]);
    (
        0usize..5,
        timing,
        filter,
        migration,
        0.0f64..3.0,
        -60.0f64..60.0,
        -0.9f64..2.0,
        0.0f64..=1.0,
    )
        .prop_map(
            |(choice, (t, has_ramp), filter, mig, m, a, g, share)| match choice {
                0 => format!("kind = \"launch\"\n{filter}{t}effect = {{ multiply = {m:?} }}\n"),
                1 => {
                    format!("kind = \"decommission\"\n{filter}{t}effect = {{ add = {a:?} }}\n")
                }
                2 if !has_ramp => {
                    format!("kind = \"growth\"\n{filter}{t}effect = {{ rate_per_year = {g:?} }}\n")
                }
                2 => format!("kind = \"growth\"\n{filter}{t}effect = {{ multiply = 0.0 }}\n"),
                _ => format!("kind = \"migration\"\n{mig}{t}share = {share:?}\n"),
            },
        )
}

fn arb_forecast() -> impl Strategy<Value = ForecastArrays> {
    (
        prop::collection::vec((0.0f64..100.0, 0.0f64..20.0, 0.0f64..20.0), 60),
        prop::collection::vec(prop::collection::vec(0.0f64..150.0, 60), 3),
    )
        .prop_map(|(steps, paths)| {
            let lo: Vec<f64> = steps.iter().map(|s| s.0).collect();
            let mid: Vec<f64> = steps.iter().map(|s| s.0 + s.1).collect();
            let hi: Vec<f64> = steps.iter().map(|s| s.0 + s.1 + s.2).collect();
            ForecastArrays {
                start: at("2026-01-01"),
                step_seconds: 3600,
                levels: vec![0.1, 0.5, 0.9],
                quantiles: vec![lo, mid.clone(), hi],
                point: mid,
                paths,
            }
        })
}

fn all_keys() -> Vec<SeriesKey> {
    vec![
        key(&[("f", "a"), ("r", "x")]),
        key(&[("f", "b"), ("r", "x")]),
        key(&[("f", "a"), ("r", "y")]),
        key(&[("r", "y"), ("f", "b")]),
    ]
}

fn file_of(events: &[String]) -> String {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| format!("[[event]]\nname = \"e{i}\"\n{e}\n"))
        .collect()
}

proptest! {
    #[test]
    fn valid_events_keep_quantiles_monotone_and_non_negative(
        events in prop::collection::vec(arb_event(), 0..6),
        forecasts in prop::collection::vec(arb_forecast(), 4),
    ) {
        let set = EventSet::from_toml_str(&file_of(&events), "gen.toml").unwrap();
        let plan = set.plan(&all_keys());
        let mut fs = forecasts;
        plan.apply_all(&mut fs).unwrap();
        for f in &fs {
            for k in 0..f.point.len() {
                for l in 0..f.levels.len() {
                    prop_assert!(f.quantiles[l][k] >= 0.0 && f.quantiles[l][k].is_finite());
                    if l > 0 {
                        prop_assert!(f.quantiles[l][k] >= f.quantiles[l - 1][k]);
                    }
                }
                prop_assert!(f.point[k] >= 0.0);
                prop_assert!(f.paths.iter().all(|p| p[k] >= 0.0));
            }
        }
    }

    #[test]
    fn migrations_alone_conserve_total_demand(
        events in prop::collection::vec(arb_event(), 0..6),
        forecasts in prop::collection::vec(arb_forecast(), 4),
    ) {
        let events: Vec<String> =
            events.into_iter().filter(|e| e.contains("migration")).collect();
        let set = EventSet::from_toml_str(&file_of(&events), "gen.toml").unwrap();
        let plan = set.plan(&all_keys());
        let before = forecasts.clone();
        let mut fs = forecasts;
        plan.apply_all(&mut fs).unwrap();
        for k in 0..60 {
            let total = |v: &[ForecastArrays]| v.iter().map(|f| f.point[k]).sum::<f64>();
            prop_assert!((total(&before) - total(&fs)).abs() < 1e-9);
            for p in 0..3 {
                let total = |v: &[ForecastArrays]| v.iter().map(|f| f.paths[p][k]).sum::<f64>();
                prop_assert!((total(&before) - total(&fs)).abs() < 1e-9);
            }
        }
    }
}
