//! The report's tables as plain rows, written as CSV (RFC 4180) and JSON (an array of
//! objects; money as exact decimal strings, ratios and quantities as numbers).

use rust_decimal::Decimal;

use super::data::{Evidence, ReportData, fmt_units};
use crate::export;
use crate::money::Money;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// An exact amount.
    Money(Decimal),
    /// A number.
    Num(f64),
    /// A whole number.
    Int(i64),
    /// Yes / no.
    Bool(bool),
    /// Missing.
    Empty,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Money(d) => d.to_string(),
            Cell::Num(x) => fmt_num(*x),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(s) => serde_json::Value::String(s.clone()),
            Cell::Money(d) => serde_json::Value::String(d.to_string()),
            Cell::Num(x) => serde_json::Number::from_f64(round6(*x))
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Cell::Int(i) => serde_json::Value::from(*i),
            Cell::Bool(b) => serde_json::Value::Bool(*b),
            Cell::Empty => serde_json::Value::Null,
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Numbers in tables: six decimals at most, no trailing zeros (stable across platforms).
fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let s = format!("{:.6}", round6(x));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A named table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File-name part, e.g. `quarterly_plan`.
    pub name: &'static str,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// CSV with a header; fields quoted when they contain a comma, quote or line break.
    /// Text cells (names, keys, dimension values from input) are neutralised against formula
    /// injection by [`export::csv_field`] (a leading `'` on `=`, `+`, `-`, `@`, tab or CR, and
    /// quoted); numbers, money and booleans are written as they are. JSON keeps every value.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::new();
        let line = |cells: Vec<String>, out: &mut String| {
            out.push_str(&cells.join(","));
            out.push('\n');
        };
        line(
            self.columns
                .iter()
                .map(|c| export::csv_field(c, false))
                .collect(),
            &mut out,
        );
        for r in &self.rows {
            line(
                r.iter()
                    .map(|c| export::csv_field(&c.text(), matches!(c, Cell::Text(_))))
                    .collect(),
                &mut out,
            );
        }
        out.into_bytes()
    }

    /// A JSON array of objects keyed by column, pretty-printed with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut m = serde_json::Map::new();
                for (c, v) in self.columns.iter().zip(r) {
                    m.insert((*c).to_string(), v.json());
                }
                serde_json::Value::Object(m)
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s.into_bytes()
    }
}

fn m(x: Money) -> Cell {
    Cell::Money(x.amount())
}

fn om(x: Option<Money>) -> Cell {
    x.map_or(Cell::Empty, m)
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn on(x: Option<usize>) -> Cell {
    x.map_or(Cell::Empty, |v| Cell::Int(v as i64))
}

/// The policy backtest of the recommended strategy: one row per decision date and a `total`
/// row (no rows when the report has no backtest).
fn policy_backtest(d: &ReportData) -> Table {
    let mut rows = Vec::new();
    if let Evidence::Shown {
        decisions, total, ..
    } = &d.evidence
    {
        for r in decisions.iter().chain(std::iter::once(total)) {
            let mut row = vec![
                t(r.date.map_or_else(|| "total".to_owned(), |d| d.to_string())),
                m(r.on_demand),
                m(r.capplan),
                r.captured.map_or(Cell::Empty, Cell::Money),
                m(r.hindsight),
            ];
            // The baselines' windows (the columns below); the report imports no plan type.
            for days in [7, 30, 60] {
                let rule = r
                    .rules
                    .iter()
                    .find(|x| x.name == format!("lookback {days}d"));
                row.push(om(rule.map(|x| x.cost)));
                row.push(
                    rule.and_then(|x| x.captured)
                        .map_or(Cell::Empty, Cell::Money),
                );
                row.push(om(rule.map(|x| x.margin)));
            }
            rows.push(row);
        }
    }
    Table {
        name: "policy_backtest",
        columns: vec![
            "decision",
            "on_demand",
            "strategy_cost",
            "captured",
            "hindsight",
            "lookback_7d",
            "captured_7d",
            "margin_7d",
            "lookback_30d",
            "captured_30d",
            "margin_30d",
            "lookback_60d",
            "captured_60d",
            "margin_60d",
        ],
        rows,
    }
}

/// Spend-based plans: one row per pool and term (the optimum and the 30-day lookback), and
/// the recommended term's curve.
fn savings_plans(d: &ReportData) -> [Table; 2] {
    let mut rows = Vec::new();
    let mut curve = Vec::new();
    for s in &d.spend_pools {
        for o in &s.options {
            let lb = o.lookback.as_ref();
            rows.push(vec![
                t(&s.pool),
                t(&o.offer),
                t(&o.term),
                Cell::Int(o.hours as i64),
                Cell::Num(o.discount_low),
                Cell::Num(o.discount_high),
                Cell::Money(o.commitment),
                m(o.savings),
                Cell::Num(o.coverage),
                Cell::Num(o.utilisation),
                lb.map_or(Cell::Empty, |l| Cell::Money(l.0)),
                om(lb.map(|l| l.1)),
                lb.map_or(Cell::Empty, |l| Cell::Num(l.2)),
                lb.map_or(Cell::Empty, |l| Cell::Num(l.3)),
                Cell::Bool(o.chosen),
            ]);
        }
        for c in &s.curve {
            curve.push(vec![
                t(&s.pool),
                Cell::Num(c.0),
                Cell::Num(c.1),
                Cell::Num(c.2),
                Cell::Num(c.3),
            ]);
        }
    }
    [
        Table {
            name: "savings_plans",
            columns: vec![
                "pool",
                "offer",
                "term",
                "hours",
                "discount_low",
                "discount_high",
                "commitment_per_hour",
                "expected_savings",
                "coverage",
                "utilisation",
                "lookback_30d_commitment",
                "lookback_30d_savings",
                "lookback_30d_coverage",
                "lookback_30d_utilisation",
                "recommended",
            ],
            rows,
        },
        Table {
            name: "savings_plan_curve",
            columns: vec![
                "pool",
                "commitment_per_hour",
                "expected_savings",
                "coverage",
                "utilisation",
            ],
            rows: curve,
        },
    ]
}

/// Every table of a report, in report order.
pub(super) fn tables(d: &ReportData) -> Vec<Table> {
    let mut out = Vec::new();
    out.push(Table {
        name: "quarterly_plan",
        columns: vec![
            "quarter",
            "start",
            "end",
            "spend_p10",
            "spend_p50",
            "spend_p90",
            "spend_expected",
            "committed",
            "on_demand",
            "other_spend",
            "upfront",
            "recurring",
            "expected_savings",
            "budget",
            "variance",
            "over_budget",
            "p90_over_budget",
            "purchases",
            "expirations",
        ],
        rows: d
            .quarters
            .iter()
            .map(|q| {
                vec![
                    t(&q.quarter),
                    t(q.start.to_string()),
                    t(q.end.to_string()),
                    m(q.spend_p10),
                    m(q.spend_p50),
                    m(q.spend_p90),
                    m(q.spend_expected),
                    m(q.committed),
                    m(q.on_demand),
                    m(q.other_spend),
                    m(q.upfront),
                    m(q.recurring),
                    m(q.expected_savings),
                    om(q.budget),
                    om(q.variance),
                    Cell::Bool(q.over_budget),
                    Cell::Bool(q.p90_over_budget),
                    t(q.purchases.join("; ")),
                    t(q.expirations.join("; ")),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "quarterly_usage",
        columns: vec![
            "quarter",
            "pool",
            "unit",
            "usage_p10",
            "usage_p50",
            "usage_p90",
            "existing_covered",
            "new_covered",
        ],
        rows: d
            .quarters
            .iter()
            .flat_map(|q| {
                q.usage.iter().map(move |u| {
                    vec![
                        t(&q.quarter),
                        t(&u.pool),
                        t(&u.unit),
                        Cell::Num(u.p10),
                        Cell::Num(u.p50),
                        Cell::Num(u.p90),
                        Cell::Num(u.existing_covered),
                        Cell::Num(u.new_covered),
                    ]
                })
            })
            .collect(),
    });
    out.push(Table {
        name: "budget_groups",
        columns: vec![
            "group",
            "quarter",
            "expected_spend",
            "budget",
            "variance",
            "over_budget",
        ],
        rows: d
            .group_budgets
            .iter()
            .map(|g| {
                vec![
                    t(&g.group),
                    t(&g.quarter),
                    m(g.expected_spend),
                    om(g.budget),
                    om(g.variance),
                    Cell::Bool(g.over_budget),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "scenario_matrix",
        columns: vec![
            "demand",
            "strategy",
            "total_cost",
            "savings",
            "esr",
            "coverage",
            "utilisation",
            "upfront",
            "npv",
            "break_even_month",
            "savings_p10",
            "savings_p90",
            "prob_loss",
        ],
        rows: d
            .matrix
            .iter()
            .map(|c| {
                vec![
                    t(&c.demand),
                    t(&c.strategy),
                    m(c.total_cost),
                    m(c.savings),
                    c.esr.map_or(Cell::Empty, Cell::Money),
                    Cell::Num(c.coverage),
                    Cell::Num(c.utilisation),
                    m(c.upfront),
                    m(c.npv),
                    on(c.break_even_month),
                    m(c.savings_p10),
                    m(c.savings_p90),
                    Cell::Num(c.prob_loss),
                ]
            })
            .collect(),
    });
    if !d.spend_pools.is_empty() {
        out.extend(savings_plans(d));
    }
    out.push(policy_backtest(d));
    out.push(Table {
        name: "recommendations",
        columns: vec![
            "pool",
            "offer",
            "term",
            "quantity",
            "unit",
            "date",
            "upfront",
            "recurring_monthly",
            "commitment_cost",
            "expected_savings",
            "utilisation",
            "break_even_month",
            "npv",
            "rationale",
        ],
        rows: d
            .recommendations
            .iter()
            .map(|r| {
                vec![
                    t(&r.pool),
                    t(&r.offer),
                    t(&r.term),
                    t(fmt_units(r.quantity)),
                    t(&r.unit),
                    t(r.date.to_string()),
                    m(r.upfront),
                    m(r.recurring_monthly),
                    m(r.commitment_cost),
                    m(r.expected_savings),
                    Cell::Num(r.utilisation),
                    on(r.break_even_month),
                    m(r.npv),
                    t(&r.rationale),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "pools",
        columns: vec![
            "pool",
            "unit",
            "series",
            "on_demand_cost",
            "recommended_cost",
            "lookback_7d",
            "lookback_30d",
            "lookback_60d",
        ],
        rows: d
            .pools
            .iter()
            .map(|p| {
                let b = |n: &str| om(p.baselines.iter().find(|(k, _)| k == n).map(|(_, c)| *c));
                vec![
                    t(&p.pool),
                    t(&p.unit),
                    t(p.series.join("; ")),
                    m(p.on_demand_cost),
                    m(p.recommended_cost),
                    b("lookback 7d"),
                    b("lookback 30d"),
                    b("lookback 60d"),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "series",
        columns: vec![
            "series",
            "unit",
            "recent_spend_90d",
            "model",
            "mase",
            "coverage80",
            "coverage95",
            "anomalies",
            "limit",
            "saturation_p50",
            "saturation_p90",
        ],
        rows: d
            .series
            .iter()
            .map(|s| {
                vec![
                    t(&s.key),
                    t(&s.unit),
                    m(s.recent_spend),
                    t(&s.model),
                    s.mase.map_or(Cell::Empty, Cell::Num),
                    s.coverage80.map_or(Cell::Empty, Cell::Num),
                    s.coverage95.map_or(Cell::Empty, Cell::Num),
                    Cell::Int(s.anomalies as i64),
                    s.limit.map_or(Cell::Empty, Cell::Num),
                    s.saturation_p50.map_or(Cell::Empty, |x| t(x.to_string())),
                    s.saturation_p90.map_or(Cell::Empty, |x| t(x.to_string())),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "anomalies",
        columns: vec!["series", "start", "end", "peak_z", "size", "direction"],
        rows: d
            .anomalies
            .iter()
            .map(|a| {
                vec![
                    t(&a.series),
                    t(a.start.to_rfc3339()),
                    t(a.end.to_rfc3339()),
                    Cell::Num(a.peak_z),
                    Cell::Num(a.size),
                    t(&a.direction),
                ]
            })
            .collect(),
    });
    out.push(Table {
        name: "reconciliation",
        columns: vec![
            "reason",
            "currency",
            "rows",
            "billed_cost",
            "effective_cost",
            "list_cost",
        ],
        rows: d
            .data_quality
            .reconciliation
            .by_reason
            .iter()
            .map(|r| {
                vec![
                    t(r.reason.code()),
                    t(&r.currency),
                    Cell::Int(r.totals.rows as i64),
                    Cell::Money(r.totals.billed_cost),
                    Cell::Money(r.totals.effective_cost),
                    Cell::Money(r.totals.list_cost),
                ]
            })
            .collect(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_json_keeps_money_exact() {
        let tb = Table {
            name: "x",
            columns: vec!["a", "b", "c"],
            rows: vec![vec![
                Cell::Text("x,\"y\"\n<script>".into()),
                Cell::Money("0.10".parse().unwrap()),
                Cell::Num(1.0 / 3.0),
            ]],
        };
        let csv = String::from_utf8(tb.to_csv()).unwrap();
        assert_eq!(csv, "a,b,c\n\"x,\"\"y\"\"\n<script>\",0.10,0.333333\n");
        let json: serde_json::Value = serde_json::from_slice(&tb.to_json()).unwrap();
        assert_eq!(json[0]["b"], "0.10");
        assert_eq!(json[0]["a"], "x,\"y\"\n<script>");
        assert_eq!(fmt_num(-0.0000001), "0");
        assert_eq!(fmt_num(2.5), "2.5");
    }

    #[test]
    fn csv_neutralises_formula_text_but_not_numbers() {
        let evil = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "-2+3",
            "\t=1",
            "\r=1",
        ];
        let tb = Table {
            name: "x",
            columns: vec!["name", "money", "num", "date"],
            rows: evil
                .iter()
                .map(|e| {
                    vec![
                        Cell::Text((*e).into()),
                        Cell::Money("-123.45".parse().unwrap()),
                        Cell::Num(-2.5),
                        Cell::Text("-42".into()),
                    ]
                })
                .collect(),
        };
        let csv = String::from_utf8(tb.to_csv()).unwrap();
        let lines: Vec<&str> = csv.split_inclusive('\n').collect();
        assert_eq!(lines[0], "name,money,num,date\n");
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-123.45,-2.5,-42\n"
        );
        assert_eq!(lines[2], "\"'+cmd|' /C calc'!A0\",-123.45,-2.5,-42\n");
        assert_eq!(lines[3], "\"'@SUM(1)\",-123.45,-2.5,-42\n");
        assert_eq!(lines[4], "\"'-2+3\",-123.45,-2.5,-42\n");
        assert_eq!(lines[5], "\"'\t=1\",-123.45,-2.5,-42\n");
        assert_eq!(lines[6], "\"'\r=1\",-123.45,-2.5,-42\n");
        // JSON keeps the exact value.
        let json: serde_json::Value = serde_json::from_slice(&tb.to_json()).unwrap();
        for (i, e) in evil.iter().enumerate() {
            assert_eq!(json[i]["name"], *e);
        }
    }
}
