//! Forecasts and backtest accuracy: one row per series and the history/forecast charts of the
//! first series.

use super::{Page, Row, money, n, pct, t};
use crate::report::ReportData;
use crate::report::charts::{self, Canvas, DatedValue, ForecastInput, QuantilePoint, YUnit};

/// The `#forecasts` section.
pub(super) fn section(p: &mut Page, d: &ReportData) {
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
}
