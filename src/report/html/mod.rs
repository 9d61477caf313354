//! The HTML report: one self-contained file — inline CSS and SVG, no script, no external URL —
//! that prints cleanly to PDF. Every string that came from input data (series keys, tags,
//! pool and offer ids, file names, descriptions) goes through [`escape`]; chart labels are
//! escaped by the SVG writer.
//!
//! This module holds the page skeleton (head, header, navigation), the CSS, the
//! Content-Security-Policy, escaping, number formatting and the table/figure writer; each
//! section of the page is rendered by its own submodule, in page order: [`summary`],
//! [`quarterly`], [`scenarios`], [`recommendations`], [`spend`], [`evidence`], [`forecasts`], [`anomalies`],
//! [`quality`], [`method`]. [`index`] renders a report directory's `index.html`.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::charts;
use super::{ReportData, ReportError, fmt_amount};
use crate::money::Money;

mod anomalies;
mod evidence;
mod forecasts;
mod index;
mod method;
mod quality;
mod quarterly;
mod recommendations;
mod scenarios;
mod spend;
mod summary;

pub use index::render_index;
pub use summary::summary_sentence;

/// Unicode bidirectional formatting characters: embeddings and overrides (U+202A–U+202E),
/// isolates (U+2066–U+2069) and the marks U+200E, U+200F and U+061C. In a name from input they
/// reorder the rest of the sentence around it (`U+202E` shows "50" as "05").
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Escapes text for HTML element content and quoted attribute values. Control characters
/// (other than tab and newline) and bidirectional formatting characters become U+FFFD, so a
/// name from input can neither break the markup nor reorder the text around it; ordinary text
/// is unchanged.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            // Bidi controls would reverse or reorder the sentence the text sits in.
            c if is_bidi_control(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A chart's SVG with the bidi controls and control characters (other than line breaks and
/// tabs) of its labels replaced by U+FFFD: the SVG writer escapes markup, not these, and a
/// label from input must not reorder the text around it. A chart without them is unchanged.
fn svg_text_safe(svg: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| (c.is_control() && !matches!(c, '\n' | '\t' | '\r')) || is_bidi_control(c);
    if svg.contains(bad) {
        std::borrow::Cow::Owned(svg.replace(bad, "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(svg)
    }
}

fn money(m: Money) -> String {
    fmt_amount(m.amount())
}

/// Whole currency units for headline figures: `1,234,568`.
fn money0(m: Money) -> String {
    let s = fmt_amount(m.amount().round_dp(0));
    s.trim_end_matches(".00").to_string()
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "—".into()
    }
}

fn dec_pct(d: Option<Decimal>) -> String {
    d.map_or("—".into(), |x| {
        let mut v = (x * Decimal::from(100)).round_dp(1);
        v.rescale(1);
        format!("{v} %")
    })
}

fn to_f64(m: Money) -> f64 {
    m.amount().to_string().parse().unwrap_or(0.0)
}

fn symbol(code: &str) -> &'static str {
    match code {
        "USD" | "CAD" | "AUD" | "NZD" | "SGD" | "HKD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" | "CNY" => "¥",
        "INR" => "₹",
        _ => "",
    }
}

/// Nothing may be fetched: the report is self-contained by construction and the browser
/// enforces it (a blocked fetch would show as a console error).
const CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">";

const CSS: &str = r#"
:root { --ink:#1d2330; --muted:#5b6576; --line:#d8dde6; --accent:#0072b2; --bad:#b3261e; --good:#1b7f3b; --bg:#f6f8fb; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; font-size: 14px; line-height: 1.45; }
header { background: var(--ink); color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d1dd; }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); background: var(--bg); }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1200px; }
section { margin-top: 28px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--ink); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.lead { font-size: 16px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 170px; background: var(--bg); }
.tile .k { color: var(--muted); font-size: 12px; }
.tile .v { font-size: 19px; font-weight: 600; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; vertical-align: top; }
th { background: var(--bg); text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.over td { background: #fdecea; }
tr.primary td { background: #eaf3fb; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--good); }
.muted { color: var(--muted); }
figure { margin: 10px 0 18px; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; }
code { font-size: 12px; }
ul.tight li { margin: 2px 0; }
@media print {
  nav { display: none; }
  header { background: #fff; color: var(--ink); border-bottom: 2px solid var(--ink); }
  header p { color: var(--muted); }
  section { break-inside: auto; }
  figure, table { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"#;

/// A table row: an optional CSS class and (html, numeric) cells.
type Row<'a> = (Option<&'a str>, Vec<(String, bool)>);

struct Page {
    out: String,
}

impl Page {
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A table: header cells and rows of (html, numeric) cells; an optional row class.
    fn table(&mut self, head: &[&str], rows: &[Row<'_>]) {
        self.raw("<table><thead><tr>");
        for h in head {
            let _ = write!(self.out, "<th>{}</th>", escape(h));
        }
        self.raw("</tr></thead><tbody>");
        for (class, r) in rows {
            match class {
                Some(c) => {
                    let _ = write!(self.out, "<tr class=\"{c}\">");
                }
                None => self.raw("<tr>"),
            }
            for (cell, numeric) in r {
                if *numeric {
                    let _ = write!(self.out, "<td class=\"n\">{cell}</td>");
                } else {
                    let _ = write!(self.out, "<td>{cell}</td>");
                }
            }
            self.raw("</tr>");
        }
        self.raw("</tbody></table>");
    }

    fn figure(&mut self, svg: Result<String, charts::ChartError>, caption: &str) {
        match svg {
            Ok(svg) => {
                self.raw("<figure>");
                self.raw(&svg_text_safe(&svg));
                let _ = write!(
                    self.out,
                    "<figcaption>{}</figcaption></figure>",
                    escape(caption)
                );
            }
            Err(e) => {
                let _ = write!(
                    self.out,
                    "<p class=\"muted\">Chart not drawn: {}</p>",
                    escape(&e.to_string())
                );
            }
        }
    }
}

fn n(s: String) -> (String, bool) {
    (s, true)
}

fn t(s: &str) -> (String, bool) {
    (escape(s), false)
}

/// A text cell of escaped lines, `—` when empty.
fn lines(items: &[String]) -> (String, bool) {
    if items.is_empty() {
        return ("—".into(), false);
    }
    let escaped: Vec<String> = items.iter().map(|x| escape(x)).collect();
    (escaped.join("<br>"), false)
}

/// Renders the report.
///
/// # Errors
///
/// Never for valid data; charts that cannot be drawn are replaced by a note.
pub fn render_html(d: &ReportData) -> Result<String, ReportError> {
    let cur = &d.currency;
    let ccy = charts::Currency::new(symbol(cur), cur.as_str());
    let mut p = Page { out: String::new() };
    let title = format!("Commitment plan {} — {}", d.name, d.quarter);
    let summary = summary_sentence(d);
    p.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    p.raw(CSP);
    p.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        p.out,
        "<meta name=\"capplan:summary\" content=\"{}\"><meta name=\"capplan:as-of\" content=\"{}\">",
        escape(&summary),
        d.as_of
    );
    let _ = write!(
        p.out,
        "<title>{}</title><style>{CSS}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        p.out,
        "<header><h1>{}</h1><p>As of {} · horizon {} · {} · plan file <code>{}</code> · generated by capplan {}</p></header>",
        escape(&title),
        d.as_of,
        escape(&d.horizon),
        escape(cur),
        escape(&d.plan_file),
        env!("CARGO_PKG_VERSION")
    );
    let nav = "<nav><a href=\"#summary\">Summary</a><a href=\"#quarterly-plan\">Quarterly plan</a><a href=\"#scenarios\">Scenarios</a><a href=\"#recommendations\">Recommendations</a>{}<a href=\"#evidence\">Evidence</a><a href=\"#forecasts\">Forecasts</a><a href=\"#anomalies\">Anomalies &amp; saturation</a><a href=\"#data-quality\">Data quality</a><a href=\"#method\">Method</a></nav><main>";
    let sp_link = if d.spend_pools.is_empty() {
        ""
    } else {
        "<a href=\"#savings-plans\">Savings Plans</a>"
    };
    p.raw(&nav.replace("{}", sp_link));

    summary::section(&mut p, d, &summary);
    quarterly::section(&mut p, d, &ccy);
    scenarios::section(&mut p, d, &ccy);
    recommendations::section(&mut p, d, &ccy);
    spend::section(&mut p, d, &ccy);
    evidence::section(&mut p, d);
    forecasts::section(&mut p, d);
    anomalies::section(&mut p, d);
    quality::section(&mut p, d);
    method::section(&mut p, d);
    p.raw("</main></body></html>\n");
    Ok(p.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>\u{1}"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;\u{FFFD}"
        );
    }

    #[test]
    fn escape_replaces_bidi_controls_and_escapes() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{1b}', '\u{85}',
        ] {
            assert_eq!(
                escape(&format!("pool{c}05 USD")),
                "pool\u{FFFD}05 USD",
                "{c:?}"
            );
        }
        assert_eq!(escape("\u{1b}[31mred"), "\u{FFFD}[31mred");
        assert_eq!(
            svg_text_safe("<text>\nsvc \u{202E}05\u{1b}</text>"),
            "<text>\nsvc \u{FFFD}05\u{FFFD}</text>"
        );
        let plain = "<svg>\n<text x=\"1\">EC2 — 東京\t</text></svg>";
        assert!(matches!(svg_text_safe(plain), std::borrow::Cow::Borrowed(s) if s == plain));
        // Ordinary text, including right-to-left scripts and emoji, is untouched.
        for ok in [
            "Amazon EC2 — eu-west-1",
            "שירות",
            "خدمة",
            "東京",
            "a\tb\nc",
            "€ 5 👍",
        ] {
            assert_eq!(escape(ok), ok);
        }
    }

    #[test]
    fn amounts_are_grouped_and_rounded_half_even() {
        assert_eq!(fmt_amount("1234567.891".parse().unwrap()), "1,234,567.89");
        assert_eq!(fmt_amount("0.125".parse().unwrap()), "0.12");
        assert_eq!(fmt_amount("-1000".parse().unwrap()), "−1,000.00");
        assert_eq!(fmt_amount("999.995".parse().unwrap()), "1,000.00");
    }
}
