//! Executive summary: the one-sentence recommendation (also the page's `capplan:summary` meta
//! and the directory index's text) and the headline tiles.

use std::fmt::Write as _;

use super::{Page, dec_pct, escape, money0};
use crate::money::Money;
use crate::report::ReportData;

/// The `#summary` section: the summary sentence, the headline tiles and the run's warnings.
pub(super) fn section(p: &mut Page, d: &ReportData, summary: &str) {
    let cur = &d.currency;
    p.raw("<section id=\"summary\"><h2>Executive summary</h2>");
    let _ = write!(p.out, "<p class=\"lead\">{}</p>", escape(summary));
    if let Some(s) = super::evidence::evidence_sentence(d) {
        let _ = write!(p.out, "<p>{}</p>", escape(&s));
    }
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
