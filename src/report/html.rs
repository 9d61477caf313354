//! The HTML report: one self-contained file — inline CSS and SVG, no script, no external URL —
//! that prints cleanly to PDF. Every string that came from input data (series keys, tags,
//! pool and offer ids, file names, descriptions) goes through [`escape`]; chart labels are
//! escaped by the SVG writer.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::charts::{
    self, Canvas, CommitmentLayer, CoverageInput, CoveragePoint, CumulativeSavingsInput,
    DatedValue, ForecastInput, QuantilePoint, QuarterSpend, QuarterlySpendInput, ScenarioCostInput,
    ScenarioCosts, WaterlineInput, YUnit,
};
use super::run::{ReportData, fmt_units};
use super::{ReportError, fmt_amount};
use crate::money::Money;

/// Escapes text for HTML element content and quoted attribute values.
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
            c => out.push(c),
        }
    }
    out
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
        format!("{} %", (x * Decimal::from(100)).round_dp(1).normalize())
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
                self.raw(&svg);
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

/// Daily points → steps of a commitment layer (a point where the value changes).
fn steps(days: &[(NaiveDate, f64)]) -> Vec<DatedValue> {
    let mut out: Vec<DatedValue> = Vec::new();
    let mut last: Option<f64> = None;
    for &(d, v) in days {
        if last.is_none_or(|l| (l - v).abs() > 1e-9) {
            out.push(DatedValue::new(d, v));
            last = Some(v);
        }
    }
    if let Some(&(d, _)) = days.last() {
        out.push(DatedValue::new(d + Duration::days(1), 0.0));
    }
    out
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
    p.raw("<nav><a href=\"#summary\">Summary</a><a href=\"#quarterly-plan\">Quarterly plan</a><a href=\"#scenarios\">Scenarios</a><a href=\"#recommendations\">Recommendations</a><a href=\"#forecasts\">Forecasts</a><a href=\"#anomalies\">Anomalies &amp; saturation</a><a href=\"#data-quality\">Data quality</a><a href=\"#method\">Method</a></nav><main>");

    // ---------------- summary ----------------
    p.raw("<section id=\"summary\"><h2>Executive summary</h2>");
    let _ = write!(p.out, "<p class=\"lead\">{}</p>", escape(&summary));
    let prim = d
        .matrix
        .iter()
        .find(|c| c.demand == d.primary.0 && c.strategy == d.primary.1);
    p.raw("<div class=\"tiles\">");
    let mut tile = |k: &str, v: String| {
        let _ = write!(
            p.out,
            "<div class=\"tile\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
            escape(k),
            v
        );
    };
    let upfront_now: Money = now_upfront(d);
    tile(&format!("Upfront now ({cur})"), money0(upfront_now));
    if let Some(c) = prim {
        tile(
            &format!("Expected savings, {} ({cur})", d.horizon),
            money0(c.savings),
        );
        tile("Effective savings rate", dec_pct(c.esr));
        tile(
            "Break-even",
            c.break_even_month
                .map_or("—".into(), |m| format!("month {m}")),
        );
        tile(
            &format!("Savings p10 – p90 ({cur})"),
            format!("{} – {}", money0(c.savings_p10), money0(c.savings_p90)),
        );
    }
    if let Some(q) = d.quarters.first() {
        tile(
            &format!("{} spend p50 ({cur})", q.quarter),
            money0(q.spend_p50),
        );
    }
    let over = d.quarters.iter().filter(|q| q.over_budget).count()
        + d.group_budgets.iter().filter(|g| g.over_budget).count();
    tile(
        "Over-budget quarters",
        if over > 0 {
            format!("<span class=\"bad\">{over}</span>")
        } else {
            "0".into()
        },
    );
    p.raw("</div>");
    if !d.warnings.is_empty() {
        p.raw("<p class=\"muted\">Warnings:</p><ul class=\"tight\">");
        for w in &d.warnings {
            let _ = write!(p.out, "<li>{}</li>", escape(w));
        }
        p.raw("</ul>");
    }
    p.raw("</section>");

    // ---------------- quarterly plan ----------------
    p.raw("<section id=\"quarterly-plan\"><h2>Quarterly plan</h2>");
    let _ = write!(
        p.out,
        "<p>Strategy <b>{}</b> on demand scenario <b>{}</b>; fiscal years start in month {}. Spend is usage spend (effective cost of usage; taxes, credits and purchases excluded, see data quality). p10/p50/p90 are quantiles over {} demand paths.</p>",
        escape(&d.primary.1),
        escape(&d.primary.0),
        d.fiscal_year_start_month,
        d.paths
    );
    let rows: Vec<Row<'_>> = d
        .quarters
        .iter()
        .map(|q| {
            (
                q.over_budget.then_some("over"),
                vec![
                    t(&q.quarter),
                    t(&format!("{} – {}", q.start, q.end - Duration::days(1))),
                    n(money(q.spend_p10)),
                    n(money(q.spend_p50)),
                    n(money(q.spend_p90)),
                    n(money(q.committed)),
                    n(money(q.on_demand)),
                    n(money(q.upfront)),
                    n(money(q.recurring)),
                    n(money(q.expected_savings)),
                    n(q.budget.map_or("—".into(), money)),
                    n(q.variance.map_or("—".into(), |v| {
                        if v.amount().is_sign_negative() {
                            format!("<span class=\"bad\">{}</span>", money(v))
                        } else {
                            money(v)
                        }
                    })),
                    (
                        if q.over_budget {
                            "<span class=\"bad\">over budget</span>".into()
                        } else if q.p90_over_budget {
                            "p90 over budget".into()
                        } else if q.budget.is_some() {
                            "within".into()
                        } else {
                            "—".into()
                        },
                        false,
                    ),
                ],
            )
        })
        .collect();
    p.table(
        &[
            "Quarter",
            "Dates",
            "Spend p10",
            "Spend p50",
            "Spend p90",
            "Committed",
            "On-demand",
            "Upfront cash",
            "Recurring fees",
            "Expected savings",
            "Budget",
            "Budget − p50",
            "Status",
        ],
        &rows,
    );
    let rows: Vec<Row<'_>> = d
        .quarters
        .iter()
        .map(|q| {
            (
                None,
                vec![t(&q.quarter), lines(&q.purchases), lines(&q.expirations)],
            )
        })
        .collect();
    p.raw("<h3>Purchases and expirations</h3>");
    p.table(&["Quarter", "Purchases", "Expirations"], &rows);
    p.raw("<h3>Forecast usage by pool</h3><p>Unit-hours per quarter (p10 / p50 / p90 over the demand paths) and the expected hours covered by existing and new commitments.</p>");
    let mut rows: Vec<Row<'_>> = Vec::new();
    for q in &d.quarters {
        for u in &q.usage {
            rows.push((
                None,
                vec![
                    t(&q.quarter),
                    t(&u.pool),
                    n(format!("{:.0}", u.p10)),
                    n(format!("{:.0}", u.p50)),
                    n(format!("{:.0}", u.p90)),
                    n(format!("{:.0}", u.existing_covered)),
                    n(format!("{:.0}", u.new_covered)),
                ],
            ));
        }
    }
    p.table(
        &[
            "Quarter",
            "Pool",
            "Usage p10",
            "Usage p50",
            "Usage p90",
            "Existing covers",
            "New covers",
        ],
        &rows,
    );
    if !d.group_budgets.is_empty() {
        p.raw("<h3>Budget groups</h3>");
        let rows: Vec<Row<'_>> = d
            .group_budgets
            .iter()
            .map(|g| {
                (
                    g.over_budget.then_some("over"),
                    vec![
                        t(&g.group),
                        t(&g.quarter),
                        n(money(g.expected_spend)),
                        n(g.budget.map_or("—".into(), money)),
                        n(g.variance.map_or("—".into(), money)),
                        (
                            if g.over_budget {
                                "<span class=\"bad\">over budget</span>".into()
                            } else {
                                "within".into()
                            },
                            false,
                        ),
                    ],
                )
            })
            .collect();
        p.table(
            &[
                "Group",
                "Quarter",
                "Expected spend",
                "Budget",
                "Budget − expected",
                "Status",
            ],
            &rows,
        );
    }
    let qs = QuarterlySpendInput {
        title: "Quarterly spend: committed and on-demand against budget".into(),
        currency: ccy.clone(),
        quarters: d
            .quarters
            .iter()
            .map(|q| QuarterSpend {
                label: q.quarter.clone(),
                committed: to_f64(q.committed),
                on_demand: to_f64(q.on_demand),
                budget: q.budget.map(to_f64),
            })
            .collect(),
    };
    p.figure(
        charts::quarterly_spend_chart(&qs, Canvas::default()),
        "Expected spend per quarter; the marker is the budget.",
    );
    p.raw("</section>");

    // ---------------- scenarios ----------------
    p.raw("<section id=\"scenarios\"><h2>Scenario matrix</h2><p>Every strategy's purchases are decided on the base forecast (what would be bought today) and evaluated under each demand scenario. Totals cover the planned pools over the horizon: existing commitments' fees, new commitments for their full terms and expected on-demand spend. Savings are against buying nothing new under the same demand; savings p10/p90 and P(loss) are over the demand paths of the whole portfolio (quantile scenarios have one path).</p>");
    p.raw("<ul class=\"tight\">");
    for (name, desc) in &d.demand_scenarios {
        let _ = write!(
            p.out,
            "<li>Demand <b>{}</b>: {}</li>",
            escape(name),
            escape(desc)
        );
    }
    for (name, desc) in &d.strategies {
        let _ = write!(
            p.out,
            "<li>Strategy <b>{}</b>: {}</li>",
            escape(name),
            escape(desc)
        );
    }
    p.raw("</ul>");
    let rows: Vec<Row<'_>> = d
        .matrix
        .iter()
        .map(|c| {
            (
                (c.demand == d.primary.0 && c.strategy == d.primary.1).then_some("primary"),
                vec![
                    t(&c.demand),
                    t(&c.strategy),
                    n(money(c.total_cost)),
                    n(money(c.savings)),
                    n(dec_pct(c.esr)),
                    n(pct(c.coverage)),
                    n(pct(c.utilisation)),
                    n(money(c.upfront)),
                    n(money(c.npv)),
                    n(c.break_even_month.map_or("—".into(), |m| m.to_string())),
                    n(money(c.savings_p10)),
                    n(money(c.savings_p90)),
                    n(pct(c.prob_loss)),
                ],
            )
        })
        .collect();
    p.table(
        &[
            "Demand",
            "Strategy",
            "Total cost",
            "Savings",
            "ESR",
            "Coverage",
            "Utilisation",
            "Upfront",
            "NPV",
            "Break-even month",
            "Savings p10",
            "Savings p90",
            "P(loss)",
        ],
        &rows,
    );
    let sc = ScenarioCostInput {
        title: "Total cost over the horizon by demand scenario and strategy".into(),
        currency: ccy.clone(),
        strategies: d.strategies.iter().map(|s| s.0.clone()).collect(),
        scenarios: d
            .demand_scenarios
            .iter()
            .map(|(name, _)| ScenarioCosts {
                scenario: name.clone(),
                total_cost: d
                    .strategies
                    .iter()
                    .map(|(s, _)| {
                        d.matrix
                            .iter()
                            .find(|c| &c.demand == name && &c.strategy == s)
                            .map_or(0.0, |c| to_f64(c.total_cost))
                    })
                    .collect(),
            })
            .collect(),
    };
    p.figure(
        charts::scenario_cost_chart(&sc, Canvas::default()),
        "Lower is better; compare strategies within a demand scenario.",
    );
    p.raw("</section>");

    // ---------------- recommendations ----------------
    p.raw("<section id=\"recommendations\"><h2>Recommendations</h2>");
    let _ = write!(
        p.out,
        "<p>Purchases of strategy <b>{}</b>, sized on {} demand paths at a cost of capital of {} % a year. Utilisation and savings are expected values on the base forecast; break-even is the month in which the usage value of a purchase reaches its cash paid.</p>",
        escape(&d.primary.1),
        d.paths,
        (d.cost_of_capital * Decimal::from(100)).normalize()
    );
    if d.recommendations.is_empty() {
        p.raw("<p><b>Buy nothing.</b> No commitment is expected to pay for itself on the forecast.</p>");
    } else {
        let rows: Vec<Row<'_>> = d
            .recommendations
            .iter()
            .map(|r| {
                (
                    None,
                    vec![
                        t(&r.pool),
                        t(&r.offer),
                        n(fmt_units(r.quantity)),
                        t(&r.date.to_string()),
                        n(money(r.upfront)),
                        n(money(r.recurring_monthly)),
                        n(money(r.commitment_cost)),
                        n(money(r.expected_savings)),
                        n(pct(r.utilisation)),
                        n(r.break_even_month.map_or("—".into(), |m| m.to_string())),
                        n(money(r.npv)),
                        t(&r.rationale),
                    ],
                )
            })
            .collect();
        p.table(
            &[
                "Pool",
                "Offer",
                "Units",
                "Date",
                "Upfront",
                "Monthly fee",
                "Term cost",
                "Expected savings",
                "Utilisation",
                "Break-even month",
                "NPV",
                "Rationale",
            ],
            &rows,
        );
    }
    p.raw("<h3>Pools against the providers' lookback rule</h3>");
    let rows: Vec<Row<'_>> = d
        .pools
        .iter()
        .map(|pv| {
            let b = |name: &str| {
                pv.baselines
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("—".into(), |(_, c)| money(*c))
            };
            (
                None,
                vec![
                    t(&pv.pool),
                    n(money(pv.on_demand_cost)),
                    n(money(pv.recommended_cost)),
                    n(b("lookback 7d")),
                    n(b("lookback 30d")),
                    n(b("lookback 60d")),
                ],
            )
        })
        .collect();
    p.table(
        &[
            "Pool",
            "Nothing new (expected)",
            "Recommended (expected)",
            "Lookback 7d",
            "Lookback 30d",
            "Lookback 60d",
        ],
        &rows,
    );
    let mut by_cost: Vec<&super::run::PoolView> = d.pools.iter().collect();
    by_cost.sort_by(|a, b| {
        b.on_demand_cost
            .amount()
            .cmp(&a.on_demand_cost.amount())
            .then(a.pool.cmp(&b.pool))
    });
    for pv in by_cost.iter().take(3) {
        let w = WaterlineInput {
            title: format!("Waterline: {}", pv.pool),
            y_label: "Average units per hour".into(),
            unit: YUnit::Quantity(pv.unit.clone()),
            demand: pv
                .demand
                .iter()
                .map(|&(date, p10, p50, p90)| QuantilePoint {
                    date,
                    p05: None,
                    p10,
                    p50,
                    p90,
                    p95: None,
                })
                .collect(),
            layers: vec![
                CommitmentLayer {
                    name: "existing".into(),
                    steps: steps(&pv.existing),
                },
                CommitmentLayer {
                    name: "recommended 3y".into(),
                    steps: steps(&pv.recommended_long),
                },
                CommitmentLayer {
                    name: "recommended 1y".into(),
                    steps: steps(&pv.recommended_short),
                },
            ],
        };
        p.figure(
            charts::waterline_chart(&w, Canvas::default()),
            &format!(
                "{}: daily demand p10–p90 band and median against the stacked commitment layers.",
                pv.description
            ),
        );
    }
    let points: Vec<DatedValue> = d
        .months
        .iter()
        .map(|m| DatedValue::new(m.date + Duration::days(30), to_f64(m.cumulative_net)))
        .collect();
    let cs = CumulativeSavingsInput {
        title: "Cumulative net savings of the recommendation (cash view)".into(),
        currency: ccy.clone(),
        series_name: format!("{} on {}", d.primary.1, d.primary.0),
        break_even: charts::find_break_even(&points),
        points,
    };
    p.figure(
        charts::cumulative_savings_chart(&cs, Canvas::default()),
        "Usage value of the new commitments minus their cash, accumulated by month.",
    );
    let cov = CoverageInput {
        title: "Coverage of demand by all commitments and utilisation of new ones".into(),
        points: d
            .months
            .iter()
            .map(|m| CoveragePoint {
                date: m.date,
                coverage_pct: m.coverage_pct,
                utilisation_pct: m.utilisation_pct,
            })
            .collect(),
        target_coverage_pct: None,
    };
    p.figure(
        charts::coverage_utilisation_chart(&cov, Canvas::default()),
        "Monthly, expected values on the base demand.",
    );
    p.raw("</section>");

    // ---------------- forecasts ----------------
    p.raw("<section id=\"forecasts\"><h2>Forecasts and backtest accuracy</h2><p>MASE below 1 beats the seasonal naive forecast on the backtest windows; coverage is the measured share of actuals inside the 80 % and 95 % intervals (nominal 80 % / 95 %).</p>");
    let rows: Vec<Row<'_>> = d
        .series
        .iter()
        .map(|s| {
            (
                None,
                vec![
                    t(&s.key),
                    t(&s.unit),
                    n(money(s.recent_spend)),
                    t(&s.model),
                    n(s.mase.map_or("—".into(), |m| format!("{m:.3}"))),
                    n(s.coverage80.map_or("—".into(), pct)),
                    n(s.coverage95.map_or("—".into(), pct)),
                    n(s.anomalies.to_string()),
                ],
            )
        })
        .collect();
    p.table(
        &[
            "Series",
            "Unit",
            "Spend, last 90 days",
            "Model",
            "MASE",
            "Coverage 80",
            "Coverage 95",
            "Anomalies",
        ],
        &rows,
    );
    for s in d.series.iter().take(4) {
        let hist_from = s.history.len().saturating_sub(180);
        let f = ForecastInput {
            title: format!("{} — history and forecast", s.key),
            series_name: s.key.clone(),
            y_label: "Per day".into(),
            unit: YUnit::Quantity(s.unit.clone()),
            history: s.history[hist_from..]
                .iter()
                .map(|&(d, v)| DatedValue::new(d, v))
                .collect(),
            forecast: s
                .forecast
                .iter()
                .take(366)
                .map(|&(date, p10, p50, p90)| QuantilePoint {
                    date,
                    p05: None,
                    p10,
                    p50,
                    p90,
                    p95: None,
                })
                .collect(),
            forecast_start: d.as_of,
        };
        p.figure(
            charts::forecast_chart(&f, Canvas::default()),
            &format!(
                "{}: last 180 days and the first year of the forecast, p10–p90 band.",
                s.key
            ),
        );
    }
    p.raw("</section>");

    // ---------------- anomalies & saturation ----------------
    p.raw("<section id=\"anomalies\"><h2>Anomalies and saturation</h2>");
    if d.anomalies.is_empty() {
        p.raw("<p>No anomalies above the threshold.</p>");
    } else {
        let _ = write!(
            p.out,
            "<p>{} anomalies in the history (largest first; all in the anomalies export).</p>",
            d.anomalies.len()
        );
        let rows: Vec<Row<'_>> = d
            .anomalies
            .iter()
            .take(25)
            .map(|a| {
                (
                    None,
                    vec![
                        t(&a.series),
                        t(&a.start.format("%Y-%m-%d %H:%M").to_string()),
                        t(&a.end.format("%Y-%m-%d %H:%M").to_string()),
                        n(format!("{:.1}", a.peak_z)),
                        n(format!("{:.1}", a.size)),
                        t(&a.direction),
                    ],
                )
            })
            .collect();
        p.table(
            &["Series", "Start", "End", "Peak z", "Size", "Direction"],
            &rows,
        );
    }
    let limited: Vec<&super::run::SeriesForecast> =
        d.series.iter().filter(|s| s.limit.is_some()).collect();
    if limited.is_empty() {
        p.raw("<p>No capacity limits in the plan file.</p>");
    } else {
        let rows: Vec<Row<'_>> = limited
            .iter()
            .map(|s| {
                (
                    s.saturation_p50.is_some().then_some("over"),
                    vec![
                        t(&s.key),
                        n(format!(
                            "{} {}",
                            s.limit.map_or(String::new(), |l| format!("{l}")),
                            escape(&s.unit)
                        )),
                        t(&s.saturation_p90
                            .map_or("not within the horizon".into(), |x| x.to_string())),
                        t(&s.saturation_p50
                            .map_or("not within the horizon".into(), |x| x.to_string())),
                    ],
                )
            })
            .collect();
        p.table(
            &[
                "Series",
                "Limit (per period)",
                "p90 first exceeds",
                "p50 first exceeds",
            ],
            &rows,
        );
    }
    p.raw("</section>");

    // ---------------- data quality ----------------
    let dq = &d.data_quality;
    p.raw("<section id=\"data-quality\"><h2>Data quality and reconciliation</h2>");
    let _ = write!(
        p.out,
        "<p>Data from {} to {} ({} rows). Every row is used or excluded with a reason; the groups add up exactly to the source totals: <b>{}</b>.</p>",
        dq.data_start.date_naive(),
        dq.data_end.date_naive(),
        dq.reconciliation.total_rows(),
        if dq.reconciliation.balanced {
            "<span class=\"good\">balanced</span>"
        } else {
            "<span class=\"bad\">NOT balanced</span>"
        }
    );
    let rows: Vec<Row<'_>> = dq
        .files
        .iter()
        .map(|f| {
            (
                None,
                vec![
                    t(&f.path),
                    t(&format!(
                        "{}{}",
                        f.format,
                        f.version
                            .as_ref()
                            .map_or(String::new(), |v| format!(" {v}"))
                    )),
                    n(f.rows.to_string()),
                ],
            )
        })
        .collect();
    p.table(&["File", "Format", "Rows"], &rows);
    let rows: Vec<Row<'_>> = dq
        .reconciliation
        .by_reason
        .iter()
        .map(|r| {
            (
                None,
                vec![
                    t(r.reason.code()),
                    t(&r.currency),
                    n(r.totals.rows.to_string()),
                    n(fmt_amount(r.totals.billed_cost)),
                    n(fmt_amount(r.totals.effective_cost)),
                ],
            )
        })
        .collect();
    p.table(
        &[
            "Reason",
            "Currency",
            "Rows",
            "Billed cost",
            "Effective cost",
        ],
        &rows,
    );
    if !dq.findings.is_empty() {
        p.raw("<h3>Findings</h3><ul class=\"tight\">");
        for f in &dq.findings {
            let _ = write!(
                p.out,
                "<li>{} ({}): {}</li>",
                escape(&f.code),
                f.count,
                escape(&f.message)
            );
        }
        p.raw("</ul>");
    }
    let _ = write!(
        p.out,
        "<p>{} empty hours were filled with zero in the pool usage series.</p>",
        dq.gaps_filled
    );
    if !d.skipped_pools.is_empty() {
        p.raw("<h3>Pools not planned</h3><ul class=\"tight\">");
        for (pool, why) in &d.skipped_pools {
            let _ = write!(p.out, "<li><b>{}</b>: {}</li>", escape(pool), escape(why));
        }
        p.raw("</ul>");
    }
    p.raw("</section>");

    // ---------------- method ----------------
    p.raw("<section id=\"method\"><h2>Method and assumptions</h2><ul>");
    let items = [
        format!(
            "Inputs: rate card <code>{}</code>{}{}; plan file <code>{}</code>.",
            escape(&d.rate_card),
            d.inventory
                .as_ref()
                .map_or(String::new(), |i| format!(", inventory <code>{}</code>", escape(i))),
            if d.events.is_empty() {
                String::new()
            } else {
                format!(
                    ", events {}",
                    d.events
                        .iter()
                        .map(|e| format!("<code>{}</code>", escape(e)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            escape(&d.plan_file)
        ),
        "Forecasts: robust MSTL decomposition with daily/weekly/yearly seasonality, candidate models (seasonal naive, AutoETS, MSTL+AutoETS, seasonal medians, median ensembles) chosen by rolling-origin backtest MASE; prediction intervals calibrated on out-of-sample backtest errors (conformal), with their measured coverage reported. Known events are applied to the forecast distribution.".into(),
        format!(
            "Demand paths: {} sample paths per pool (seed {}), drawn from the calibrated quantiles with short-term autocorrelation and a persistent level, so quarter and multi-year totals keep their uncertainty.",
            d.paths, d.seed
        ),
        "Optimizer: per pool, the exact minimum of the risk-adjusted cost over horizontal slices of demand — a 3-year layer bought now and 1-year layers at each year start — with existing commitments and their expirations; whole units; every purchase pays its full term. Payment options are compared by present value at the cost of capital.".into(),
        "Money is exact decimal arithmetic, rounded half-even to cents; totals reconcile to the bill. Spreadsheet cells are numbers (doubles); the CSV and JSON exports carry the exact amounts.".into(),
        "The lookback rule replays the last N days of usage after existing commitments and buys the level that would have been cheapest over them — what the providers' recommenders do.".into(),
        "Not modelled: spend-based Savings Plans / CUD pools (their existing commitments stay in the spend forecast), size flexibility across instance sizes, price changes, and demand changes not announced as events.".into(),
        format!(
            "Reproducible: the same inputs and as-of date ({}) give byte-identical files; nothing depends on the clock.",
            d.as_of
        ),
    ];
    for i in items {
        let _ = write!(p.out, "<li>{i}</li>");
    }
    p.raw("</ul></section></main></body></html>\n");
    Ok(p.out)
}

/// Upfront cash of the purchases dated `as_of`.
fn now_upfront(d: &ReportData) -> Money {
    let cur = crate::money::Currency::new(&d.currency).expect("validated currency");
    d.recommendations
        .iter()
        .filter(|r| r.date == d.as_of)
        .fold(Money::zero(cur), |acc, r| {
            acc.checked_add(r.upfront).unwrap_or(acc)
        })
}

/// The recommendation in one sentence, with the key numbers.
pub fn summary_sentence(d: &ReportData) -> String {
    let cur = &d.currency;
    let now: Vec<_> = d
        .recommendations
        .iter()
        .filter(|r| r.date == d.as_of)
        .collect();
    let later = d.recommendations.len() - now.len();
    let pools: std::collections::BTreeSet<&str> = now.iter().map(|r| r.pool.as_str()).collect();
    let prim = d
        .matrix
        .iter()
        .find(|c| c.demand == d.primary.0 && c.strategy == d.primary.1);
    let mut s = if now.is_empty() {
        "Buy no new commitments now".to_string()
    } else {
        format!(
            "Buy {} commitment{} now across {} pool{} ({} {} upfront)",
            now.len(),
            if now.len() == 1 { "" } else { "s" },
            pools.len(),
            if pools.len() == 1 { "" } else { "s" },
            money0(now_upfront(d)),
            cur
        )
    };
    if later > 0 {
        let _ = write!(s, " and {later} later");
    }
    if let Some(c) = prim {
        let _ = write!(
            s,
            ": expected savings {} {} over {} ({} of the cost of buying nothing new; p10 {}, p90 {})",
            money0(c.savings),
            cur,
            d.horizon,
            dec_pct(c.esr),
            money0(c.savings_p10),
            money0(c.savings_p90)
        );
        if let Some(m) = c.break_even_month {
            let _ = write!(s, ", break-even in month {m}");
        }
    }
    s.push('.');
    if let Some(q) = d.quarters.first() {
        let _ = write!(
            s,
            " {} spend is forecast at {} {} (p10 {}, p90 {})",
            q.quarter,
            money0(q.spend_p50),
            cur,
            money0(q.spend_p10),
            money0(q.spend_p90)
        );
        match q.budget {
            Some(b) if q.over_budget => {
                let _ = write!(s, ", over its budget of {}", money0(b));
            }
            Some(b) => {
                let _ = write!(s, ", within its budget of {}", money0(b));
            }
            None => {}
        }
        s.push('.');
    }
    let over: Vec<&str> = d
        .quarters
        .iter()
        .filter(|q| q.over_budget)
        .map(|q| q.quarter.as_str())
        .collect();
    if !over.is_empty() {
        let _ = write!(s, " Over budget: {}.", over.join(", "));
    }
    s
}

/// `index.html` of a report directory: every `*.html` report there (newest name first) with
/// its summary.
///
/// # Errors
///
/// [`ReportError::Write`] when the directory cannot be listed.
pub fn render_index(dir: &Path) -> Result<String, ReportError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| ReportError::Write {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".html") && n != "index.html" && !n.starts_with('.'))
        .collect();
    names.sort();
    names.reverse();
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(CSP);
    out.push_str("<title>capplan reports</title><style>");
    out.push_str(CSS);
    out.push_str("</style></head><body><header><h1>capplan reports</h1><p>Regenerated by every run of <code>capplan report</code> into this directory.</p></header><main><table><thead><tr><th>Report</th><th>As of</th><th>Summary</th></tr></thead><tbody>");
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        let meta = |key: &str| -> String {
            let pat = format!("<meta name=\"{key}\" content=\"");
            text.find(&pat)
                .and_then(|i| {
                    let rest = &text[i + pat.len()..];
                    rest.find('"').map(|j| rest[..j].to_string())
                })
                .unwrap_or_default()
        };
        // The meta content is already escaped by the report writer; re-escaping would show
        // entities, so only its known-safe form is copied (no raw `<`, `>` or `"` inside).
        let summary = meta("capplan:summary");
        let as_of = meta("capplan:as-of");
        let safe = |s: String| {
            if s.contains(['<', '>', '"']) {
                escape(&s)
            } else {
                s
            }
        };
        let _ = write!(
            out,
            "<tr><td><a href=\"{0}\">{0}</a></td><td>{1}</td><td>{2}</td></tr>",
            escape(&name),
            safe(as_of),
            safe(summary)
        );
    }
    out.push_str("</tbody></table></main></body></html>\n");
    Ok(out)
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
    fn amounts_are_grouped_and_rounded_half_even() {
        assert_eq!(fmt_amount("1234567.891".parse().unwrap()), "1,234,567.89");
        assert_eq!(fmt_amount("0.125".parse().unwrap()), "0.12");
        assert_eq!(fmt_amount("-1000".parse().unwrap()), "−1,000.00");
        assert_eq!(fmt_amount("999.995".parse().unwrap()), "1,000.00");
    }
}
