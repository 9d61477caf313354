//! Data quality and reconciliation: the input files, rows and costs per reason, findings,
//! filled gaps and the pools that were not planned.

use std::fmt::Write as _;

use super::{Page, Row, escape, n, t};
use crate::report::{ReportData, fmt_amount};

/// The `#data-quality` section.
pub(super) fn section(p: &mut Page, d: &ReportData) {
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
    if !dq.reconciliation.unknown.is_empty() {
        p.raw("<p class=\"bad\">Not balanced: cost values that could not be read are not in the totals.</p><ul class=\"tight\">");
        for u in &dq.reconciliation.unknown {
            let rows: Vec<String> = u
                .first
                .iter()
                .map(|(file, row)| format!("{file} row {row}"))
                .collect();
            let _ = write!(
                p.out,
                "<li>{}: {} row(s) with an unreadable <code>{}</code> value ({}{})</li>",
                escape(&u.column),
                u.rows,
                escape(&u.source_column),
                escape(&rows.join(", ")),
                if u.rows as usize > u.first.len() {
                    ", …"
                } else {
                    ""
                }
            );
        }
        p.raw("</ul>");
    }
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
}
