use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::common::{date_ticks, day, format_day};
use super::*;

/// Parsed view of an SVG document: element names and concatenated text content.
struct Parsed {
    elements: Vec<String>,
    text: String,
}

/// Parse with quick-xml (end-name checking is on by default) and require one
/// balanced root `<svg>` element.
fn parse(svg: &str) -> Parsed {
    let mut reader = Reader::from_str(svg);
    let mut elements = Vec::new();
    let mut text = String::new();
    let mut depth = 0i32;
    let mut roots = 0;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("invalid XML: {e}"))
        {
            Event::Start(e) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
                elements.push(e.name().as_ref().to_string());
                for a in e.attributes() {
                    a.expect("well-formed attribute");
                }
            }
            Event::Empty(e) => {
                assert!(depth > 0, "element outside root");
                elements.push(e.name().as_ref().to_string());
                for a in e.attributes() {
                    a.expect("well-formed attribute");
                }
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().expect("valid char ref") {
                    text.push(c);
                } else {
                    let name = r.xml10_content();
                    text.push_str(resolve_predefined_entity(&name).expect("predefined entity"));
                }
            }
            Event::Eof => break,
            Event::CData(_) | Event::PI(_) | Event::DocType(_) => panic!("unexpected construct"),
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced tags");
    assert_eq!(roots, 1, "exactly one root element");
    assert_eq!(elements.first().map(String::as_str), Some("svg"));
    Parsed { elements, text }
}

/// No character XML 1.0 forbids.
fn xml_chars_ok(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    })
}

fn check_safe(svg: &str) {
    assert!(xml_chars_ok(svg), "XML-invalid character in output");
    let lower = svg.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "raw <script in output");
    assert!(!lower.contains("href"), "href in output");
    assert!(!lower.contains("url("), "url() in output");
    // the only URL is the SVG namespace
    let without_ns = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http:") && !without_ns.contains("https:"));
    assert!(!without_ns.contains("//"), "protocol-relative URL");
    let parsed = parse(svg);
    for el in &parsed.elements {
        assert!(
            [
                "svg", "rect", "line", "polyline", "polygon", "circle", "text"
            ]
            .contains(&el.as_str()),
            "unexpected element <{el}>"
        );
    }
}

#[test]
fn all_charts_parse_and_are_safe() {
    for hostile in [false, true] {
        for (name, svg) in fixtures::all_charts(hostile, Canvas::default()).unwrap() {
            check_safe(&svg);
            assert!(
                svg.starts_with("<svg width=\"900\" height=\"420\""),
                "{name}"
            );
        }
    }
}

#[test]
fn byte_identical_across_calls() {
    let a = fixtures::all_charts(true, Canvas::default()).unwrap();
    let b = fixtures::all_charts(true, Canvas::default()).unwrap();
    assert_eq!(a, b);
    // and across threads (no thread-local or global state in rendering)
    let c = std::thread::spawn(|| fixtures::all_charts(true, Canvas::default()).unwrap())
        .join()
        .unwrap();
    assert_eq!(a, c);
}

#[test]
fn hostile_labels_are_escaped_text() {
    for (name, svg) in fixtures::all_charts(true, Canvas::default()).unwrap() {
        assert!(
            svg.contains("&lt;script&gt;"),
            "{name}: escaped tag missing"
        );
        let parsed = parse(&svg);
        assert!(!parsed.elements.iter().any(|e| e == "script"), "{name}");
        // the hostile label comes back verbatim as text, minus the control char (→ space)
        assert!(
            parsed.text.contains("<script>alert(\"x\")</script> & 'q'")
                || parsed.text.contains("<script>al"), // truncated long labels
            "{name}: hostile text not rendered as text"
        );
    }
    let mut input = fixtures::scenario_input(false);
    input.strategies[0] = "<script>\"x\" & 'q'".into();
    input.scenarios[0].scenario = "</text><script>".into();
    let svg = scenario_cost_chart(&input, Canvas::default()).unwrap();
    check_safe(&svg);
    assert!(svg.contains("&lt;script&gt;&quot;x&quot; &amp; &apos;q&apos;"));
    assert!(svg.contains("&lt;/text&gt;&lt;script&gt;"));
    let text = parse(&svg).text;
    assert!(text.contains("<script>\"x\" & 'q'") && text.contains("</text><script>"));
}

#[test]
fn sanitize_drops_control_chars_and_truncates() {
    assert_eq!(
        sanitize_label("a\u{0}b\nc\u{FFFF}d\u{1b}[31m", 60),
        "a b c d [31m"
    );
    assert_eq!(sanitize_label("  x   y  ", 60), "x y");
    assert_eq!(sanitize_label("abcdefghij", 5), "abcd…");
    assert_eq!(sanitize_label("ééééé", 5), "ééééé");
}

#[test]
fn currency_symbol_and_code_are_escaped() {
    let mut input = fixtures::quarterly_input(false);
    input.currency = Currency::new("<b>&", "\"EUR\"");
    let svg = quarterly_spend_chart(&input, Canvas::default()).unwrap();
    check_safe(&svg);
    assert!(svg.contains("&lt;b&gt;&amp;"));
    assert!(parse(&svg).text.contains("Spend (\"EUR\")"));
}

#[test]
fn number_formatting() {
    assert_eq!(format_compact(0.0), "0");
    assert_eq!(format_compact(-0.0001), "0");
    assert_eq!(format_compact(7.0), "7");
    assert_eq!(format_compact(7.34), "7.3");
    assert_eq!(format_compact(950.0), "950");
    assert_eq!(format_compact(1_200.0), "1.2k");
    assert_eq!(format_compact(34_000.0), "34k");
    assert_eq!(format_compact(1_500_000.0), "1.5M");
    assert_eq!(format_compact(2_000_000_000.0), "2B");
    assert_eq!(format_money(-1_250.0, "$"), "-$1.25k");
    assert_eq!(format_money(2_300_000.0, "€"), "€2.3M");
}

#[test]
fn date_ticks_are_month_starts_or_mondays() {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    let t = date_ticks(day(d(2025, 7, 1)), day(d(2026, 7, 29)));
    assert!(
        t.days.len() <= 10 && t.days.len() >= 4,
        "{:?}",
        t.days.len()
    );
    for x in &t.days {
        assert!(format_day(*x, "%d") == "01");
    }
    assert_eq!(format_day(t.days[0], t.fmt), "Jul 2025");
    let t = date_ticks(day(d(2026, 4, 1)), day(d(2026, 4, 30)));
    assert!(!t.days.is_empty());
    for x in &t.days {
        assert_eq!(format_day(*x, "%a"), "Mon");
    }
    let t = date_ticks(day(d(2020, 1, 1)), day(d(2030, 1, 1)));
    assert_eq!(t.fmt, "%Y");
    assert!(t.days.len() <= 10);
}

#[test]
fn stacked_steps_follow_layers() {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    let layers = vec![
        CommitmentLayer {
            name: "a".into(),
            steps: layer_steps(&[(d(2026, 1, 1), d(2026, 1, 11), 10.0)]),
        },
        CommitmentLayer {
            name: "b".into(),
            steps: layer_steps(&[(d(2026, 1, 6), d(2026, 2, 1), 5.0)]),
        },
    ];
    let (lo, hi) = (day(d(2026, 1, 1)), day(d(2026, 1, 21)));
    let polys = waterline::stacked_step_polygons(&layers, lo, hi);
    assert_eq!(polys.len(), 2);
    // layer b's top over [Jan 6, Jan 11) is 15 (stacked on a), afterwards 5
    let b = &polys[1];
    assert!(b.contains(&(day(d(2026, 1, 6)), 15.0)));
    assert!(b.contains(&(day(d(2026, 1, 11)), 5.0)));
    assert!(b.contains(&(hi, 5.0)));
    // overlapping commitments add up
    let s = layer_steps(&[
        (d(2026, 1, 1), d(2026, 3, 1), 1.0),
        (d(2026, 2, 1), d(2026, 4, 1), 2.0),
    ]);
    let vals: Vec<f64> = s.iter().map(|p| p.value).collect();
    assert_eq!(vals, vec![1.0, 3.0, 2.0, 0.0]);
}

#[test]
fn break_even_detection() {
    let d = |m| NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
    let pts = vec![
        DatedValue::new(d(1), -10.0),
        DatedValue::new(d(2), -1.0),
        DatedValue::new(d(3), 0.0),
        DatedValue::new(d(4), 5.0),
    ];
    assert_eq!(find_break_even(&pts), Some(d(3)));
    assert_eq!(find_break_even(&pts[2..]), None);
    let svg = cumulative_savings_chart(&fixtures::savings_input(false), Canvas::default()).unwrap();
    assert!(parse(&svg).text.contains("Break-even 2027-"));
}

#[test]
fn over_budget_quarters_are_flagged() {
    let input = fixtures::quarterly_input(false);
    let over: Vec<bool> = input
        .quarters
        .iter()
        .map(QuarterSpend::over_budget)
        .collect();
    assert_eq!(over, vec![false, true, false, true, false]);
    let text = parse(&quarterly_spend_chart(&input, Canvas::default()).unwrap()).text;
    assert_eq!(text.matches("over)").count(), 2, "{text}");
    assert!(text.contains("Over budget") && text.contains("Budget"));
}

#[test]
fn empty_inputs_render_placeholder() {
    let mut f = fixtures::forecast_input(false);
    f.history.clear();
    f.forecast.clear();
    let svg = forecast_chart(&f, Canvas::default()).unwrap();
    check_safe(&svg);
    assert!(parse(&svg).text.contains("No data"));
    let mut s = fixtures::scenario_input(false);
    s.scenarios.clear();
    assert!(
        parse(&scenario_cost_chart(&s, Canvas::default()).unwrap())
            .text
            .contains("No data")
    );
}

#[test]
fn invalid_inputs_are_errors_not_panics() {
    let mut f = fixtures::forecast_input(false);
    f.history[3].value = f64::NAN;
    assert!(matches!(
        forecast_chart(&f, Canvas::default()),
        Err(ChartError::InvalidInput(_))
    ));
    let mut s = fixtures::scenario_input(false);
    s.scenarios[0].total_cost.pop();
    assert!(matches!(
        scenario_cost_chart(&s, Canvas::default()),
        Err(ChartError::InvalidInput(_))
    ));
    let tiny = Canvas {
        width: 10,
        height: 10,
    };
    assert!(coverage_utilisation_chart(&fixtures::coverage_input(false), tiny).is_err());
}

#[test]
fn single_point_and_flat_series_do_not_panic() {
    let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let c = CoverageInput {
        title: "one".into(),
        points: vec![CoveragePoint {
            date: d,
            coverage_pct: 0.0,
            utilisation_pct: 0.0,
        }],
        target_coverage_pct: None,
    };
    check_safe(&coverage_utilisation_chart(&c, Canvas::default()).unwrap());
    let s = CumulativeSavingsInput {
        title: "flat".into(),
        currency: Currency::new("$", "USD"),
        series_name: "x".into(),
        points: vec![
            DatedValue::new(d, 0.0),
            DatedValue::new(d.succ_opt().unwrap(), 0.0),
        ],
        break_even: Some(d),
    };
    check_safe(&cumulative_savings_chart(&s, Canvas::default()).unwrap());
}

#[test]
fn canvas_size_is_respected() {
    let svg = waterline_chart(
        &fixtures::waterline_input(false),
        Canvas {
            width: 1200,
            height: 500,
        },
    )
    .unwrap();
    assert!(svg.starts_with("<svg width=\"1200\" height=\"500\" viewBox=\"0 0 1200 500\""));
}
