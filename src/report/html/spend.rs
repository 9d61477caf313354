//! Savings Plans and spend commitments: per spend-based pool the recommended commitment per
//! hour, each term's exact optimum beside the providers' 30-day lookback recommendation, the
//! savings-versus-commitment curve, and the RI / plan portfolios on the same paths.

use std::fmt::Write as _;

use super::{Page, Row, escape, money, n, pct, t};
use crate::report::charts::{self, Canvas, CommitmentCurveInput};
use crate::report::{ReportData, SpendPoolView};

/// The `#savings-plans` section (absent when the rate card has no spend-based pool).
pub(super) fn section(p: &mut Page, d: &ReportData, ccy: &charts::Currency) {
    if d.spend_pools.is_empty() {
        return;
    }
    p.raw("<section id=\"savings-plans\"><h2>Savings Plans and spend commitments</h2>");
    let _ = write!(
        p.out,
        "<p>A spend-based plan commits an amount per hour at plan rates and covers the eligible on-demand-equivalent spend of many SKUs, each at its own discount, highest discount first. Reservations (the RI plan above and those held) and the plans already held apply first; the commitment below is the exact minimum of the expected cost of what they leave, over each term, on {} demand paths of the SKUs' hourly list cost. The 30-day lookback is what the providers' recommenders would buy from the last 30 days; it is evaluated on the same paths. The quarterly plan and the scenario matrix above count reservations only: the plan recommended here is not yet in their figures. Amounts in {}.</p>",
        d.spend_pools.first().map_or(0, |s| s.paths),
        escape(&d.currency)
    );
    for s in &d.spend_pools {
        pool(p, d, s, ccy);
    }
    p.raw("</section>");
}

fn pool(p: &mut Page, d: &ReportData, s: &SpendPoolView, ccy: &charts::Currency) {
    let _ = write!(p.out, "<h3>{}</h3>", escape(&s.pool));
    let chosen = s.options.iter().find(|o| o.chosen);
    let pick = s.portfolios.iter().find(|r| r.chosen);
    let sentence = match (chosen, pick) {
        (Some(o), Some(r)) if r.commitment > rust_decimal::Decimal::ZERO => format!(
            "Recommended: {} — commit {} {}/h with {} ({}), expected total {} on the paths and {} if recent demand persists. On the paths alone, the optimum of this term on top of the whole RI plan would be {} {}/h (expected savings {}, coverage {}, utilisation {}).{}",
            r.name,
            r.commitment,
            d.currency,
            o.offer,
            o.term,
            money(r.total),
            money(r.persist_total),
            o.commitment,
            d.currency,
            money(o.savings),
            pct(o.coverage),
            pct(o.utilisation),
            lookback_clause(o, &d.currency)
        ),
        (Some(o), Some(r)) => format!(
            "Recommended: {} — no new plan. On the paths alone the optimum of {} ({}) on top of the whole RI plan would be {} {}/h (expected savings {}), but it is not right both on the paths and if recent demand persists, or the level evidence does not support it.{}",
            r.name,
            o.offer,
            o.term,
            o.commitment,
            d.currency,
            money(o.savings),
            lookback_clause(o, &d.currency)
        ),
        _ => "No commitment saves money on the spend the reservations and the plans held leave: buy none.".to_owned(),
    };
    let _ = write!(
        p.out,
        "<p>{} Plans held commit {} {}/h at the start. SKUs (rate keys): {}.</p>",
        escape(&sentence),
        s.existing_now,
        escape(&d.currency),
        escape(&s.skus.join("; "))
    );
    if !s.repeated.is_empty() {
        let _ = write!(
            p.out,
            "<p class=\"muted\">Planned on their last four weeks repeated (history too short for the level model): {}.</p>",
            escape(&s.repeated.join("; "))
        );
    }
    let head = [
        "Offer",
        "Term",
        "Discounts",
        "Commitment /h",
        "Expected savings",
        "Coverage",
        "Utilisation",
        "30-day lookback /h",
        "Its savings",
        "Its utilisation",
    ];
    let rows: Vec<Row<'_>> = s
        .options
        .iter()
        .map(|o| {
            let lb = o.lookback.as_ref();
            (
                o.chosen.then_some("primary"),
                vec![
                    t(&o.offer),
                    t(&o.term),
                    n(format!(
                        "{:.0}–{:.0} %",
                        100.0 * o.discount_low,
                        100.0 * o.discount_high
                    )),
                    n(o.commitment.to_string()),
                    n(money(o.savings)),
                    n(pct(o.coverage)),
                    n(pct(o.utilisation)),
                    n(lb.map_or("—".into(), |l| l.0.to_string())),
                    n(lb.map_or("—".into(), |l| money(l.1))),
                    n(lb.map_or("—".into(), |l| pct(l.3))),
                ],
            )
        })
        .collect();
    p.table(&head, &rows);
    let chosen_pt = chosen.map(|o| {
        let c = f(o.commitment);
        (c, nearest(&s.curve, c))
    });
    let lookback_pt = chosen
        .and_then(|o| o.lookback.as_ref())
        .map(|l| (f(l.0), f(l.1.amount())));
    let input = CommitmentCurveInput {
        title: format!("{}: savings by hourly commitment", s.pool),
        currency: ccy.clone(),
        points: s.curve.iter().map(|c| (c.0, c.1)).collect(),
        chosen: chosen_pt,
        lookback: lookback_pt,
        lookback_name: "30-day lookback".into(),
    };
    p.figure(
        charts::commitment_curve_chart(&input, Canvas::default()),
        "Expected savings of the recommended term's plan at each commitment per hour, on top of the whole RI plan and the plans held. Past the optimum, added commitment goes unused in more and more hours.",
    );
    if !s.portfolios.is_empty() {
        p.raw("<p>Reservations and the plan together over the recommended term (new fees only; commitments held are sunk and apply first in every row), expected on the paths and if the last four weeks' demand persists. The recommended portfolio (first row) has the least maximum regret over the two: the plan replaces or tops up reservations only where that is right in both.</p>");
        let rows: Vec<Row<'_>> = s
            .portfolios
            .iter()
            .map(|r| {
                (
                    r.chosen.then_some("primary"),
                    vec![
                        t(&if r.chosen {
                            format!("{} (recommended)", r.name)
                        } else {
                            r.name.clone()
                        }),
                        n(r.commitment.to_string()),
                        n(money(r.ri_fees)),
                        n(money(r.plan_fees)),
                        n(money(r.on_demand)),
                        n(money(r.total)),
                        n(money(r.persist_total)),
                    ],
                )
            })
            .collect();
        p.table(
            &[
                "Portfolio",
                "Plan /h",
                "New RI fees",
                "Plan fees",
                "On demand",
                "Total",
                "Total if recent demand persists",
            ],
            &rows,
        );
    }
}

fn lookback_clause(o: &crate::report::SpendOptionRow, currency: &str) -> String {
    match &o.lookback {
        Some((c, sv, _, _)) => format!(
            " The 30-day lookback would commit {c} {currency}/h and save {} on the same paths.",
            money(*sv)
        ),
        None => String::new(),
    }
}

fn f(d: rust_decimal::Decimal) -> f64 {
    d.try_into().unwrap_or(0.0)
}

/// The curve's savings at the point nearest `c` (the optimum is one of its points).
fn nearest(curve: &[(f64, f64, f64, f64)], c: f64) -> f64 {
    curve
        .iter()
        .min_by(|a, b| (a.0 - c).abs().total_cmp(&(b.0 - c).abs()))
        .map_or(0.0, |p| p.1)
}
