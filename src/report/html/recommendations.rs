//! Recommendations: the primary strategy's purchases, the pools against the lookback rule,
//! the waterline charts of the largest pools, cumulative savings and coverage/utilisation.

use std::fmt::Write as _;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::{Page, Row, escape, money, n, pct, t, to_f64};
use crate::report::charts::{
    self, Canvas, CommitmentLayer, CoverageInput, CoveragePoint, CumulativeSavingsInput,
    DatedValue, QuantilePoint, WaterlineInput, YUnit,
};
use crate::report::{PoolView, ReportData, fmt_units};

/// The `#recommendations` section.
pub(super) fn section(p: &mut Page, d: &ReportData, ccy: &charts::Currency) {
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
    let mut by_cost: Vec<&PoolView> = d.pools.iter().collect();
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
