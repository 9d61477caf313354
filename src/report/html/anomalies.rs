//! Anomalies and saturation: the largest anomalies of the history and when each capacity
//! limit of the plan file is first exceeded.

use std::fmt::Write as _;

use super::{Page, Row, escape, n, t};
use crate::report::{ReportData, SeriesForecast};

/// The `#anomalies` section.
pub(super) fn section(p: &mut Page, d: &ReportData) {
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
    let limited: Vec<&SeriesForecast> = d.series.iter().filter(|s| s.limit.is_some()).collect();
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
}
