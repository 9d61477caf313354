//! Quarterly plan: spend quantiles against budget per quarter, purchases and expirations,
//! forecast usage by pool, budget groups and the quarterly spend chart.

use std::fmt::Write as _;

use chrono::Duration;

use super::{Page, Row, escape, lines, money, n, t, to_f64};
use crate::report::ReportData;
use crate::report::charts::{self, Canvas, QuarterSpend, QuarterlySpendInput};

/// The `#quarterly-plan` section.
pub(super) fn section(p: &mut Page, d: &ReportData, ccy: &charts::Currency) {
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
}
