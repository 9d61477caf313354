//! Scenario matrix: every strategy under every demand scenario, and the total cost chart.

use std::fmt::Write as _;

use super::{Page, Row, dec_pct, escape, money, n, pct, t, to_f64};
use crate::report::ReportData;
use crate::report::charts::{self, Canvas, ScenarioCostInput, ScenarioCosts};

/// The `#scenarios` section.
pub(super) fn section(p: &mut Page, d: &ReportData, ccy: &charts::Currency) {
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
}
