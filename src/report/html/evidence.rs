//! Evidence: the policy backtest of the recommended strategy — at past decision dates, what
//! its purchases (planned on the history before the date) cost on what actually happened,
//! beside the providers' lookback rules and the hindsight optimum.

use std::fmt::Write as _;

use super::{Page, Row, dec_pct, escape, money, money0, n, t};
use crate::money::Money;
use crate::report::{Evidence, EvidenceRow, ReportData};

/// The `#evidence` section.
pub(super) fn section(p: &mut Page, d: &ReportData) {
    p.raw("<section id=\"evidence\"><h2>Evidence: policy backtest</h2>");
    match &d.evidence {
        Evidence::Absent(why) => {
            let _ = write!(
                p.out,
                "<p>No policy backtest in this report: {}</p>",
                escape(why)
            );
        }
        Evidence::Shown {
            strategy,
            window,
            decisions,
            total,
        } => {
            let _ = write!(
                p.out,
                "<p>At each past decision date below, capplan planned the <b>{}</b> strategy on the history before the date only, and its purchases were applied to the usage that actually followed over {}. The lookback rules replay the last 7, 30 or 60 days before the date, as the providers' recommenders do; the hindsight optimum is the optimizer run on the actual usage — the most any purchase could have saved. Captured = savings ÷ the hindsight optimum's savings; margin = the rule's cost − the strategy's cost (positive: the strategy was cheaper). Amounts in {}.</p>",
                escape(strategy),
                escape(window),
                escape(&d.currency)
            );
            let names: Vec<&str> = total.rules.iter().map(|r| r.name.as_str()).collect();
            let mut head: Vec<String> =
                ["Decision", "On demand", "Strategy", "Captured", "Hindsight"]
                    .map(String::from)
                    .to_vec();
            for name in &names {
                head.push(format!("{name} captured"));
                head.push(format!("Margin over {name}"));
            }
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            let mut rows: Vec<Row<'_>> = decisions.iter().map(|r| (None, cells(r))).collect();
            rows.push((Some("primary"), cells(total)));
            p.table(&head, &rows);
            if let Some(s) = evidence_sentence(d) {
                let _ = write!(p.out, "<p>{}</p>", escape(&s));
            }
        }
    }
    p.raw("</section>");
}

fn cells(r: &EvidenceRow) -> Vec<(String, bool)> {
    let mut c = vec![
        t(&r.date.map_or_else(|| "Total".to_owned(), |d| d.to_string())),
        n(money(r.on_demand)),
        n(money(r.capplan)),
        n(dec_pct(r.captured)),
        n(money(r.hindsight)),
    ];
    for rule in &r.rules {
        c.push(n(dec_pct(rule.captured)));
        c.push(n(money(rule.margin)));
    }
    c
}

/// The backtest in one sentence (the executive summary's), when there is one.
pub(super) fn evidence_sentence(d: &ReportData) -> Option<String> {
    let Evidence::Shown {
        strategy,
        window,
        decisions,
        total,
    } = &d.evidence
    else {
        return None;
    };
    let first = decisions.first().and_then(|r| r.date)?;
    let last = decisions.last().and_then(|r| r.date)?;
    let mut s = format!(
        "Backtest: planned at {} past quarter start{} ({first} to {last}) and measured on the following {window} of actual usage, the {strategy} strategy captured {} of the hindsight savings",
        decisions.len(),
        if decisions.len() == 1 { "" } else { "s" },
        dec_pct(total.captured),
    );
    let rules: Vec<String> = total
        .rules
        .iter()
        .map(|r| {
            format!(
                "{} {} ({} {} {})",
                r.name,
                dec_pct(r.captured),
                if r.margin.amount().is_sign_negative() {
                    "costing"
                } else {
                    "saving"
                },
                money0(Money::new(r.margin.amount().abs(), r.margin.currency())),
                d.currency
            )
        })
        .collect();
    if !rules.is_empty() {
        let _ = write!(s, ", against {}", rules.join(", "));
    }
    s.push('.');
    Some(s)
}
