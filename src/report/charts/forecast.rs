//! History + forecast chart with quantile bands.

use chrono::NaiveDate;
use plotters::prelude::*;

use super::common::*;

/// Input for [`forecast_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// Series name shown in the legend, e.g. "EC2 m5 (eu-west-1)".
    pub series_name: String,
    /// y-axis title without unit, e.g. "Daily spend".
    pub y_label: String,
    /// What the y values measure; sets tick format and the unit in the axis title.
    pub unit: YUnit,
    /// Observed values, drawn as a line up to the forecast start.
    pub history: Vec<DatedValue>,
    /// Forecast quantiles per day, drawn as the median line and its bands.
    pub forecast: Vec<QuantilePoint>,
    /// Where the vertical "forecast start" line is drawn (usually the as-of date + 1).
    pub forecast_start: NaiveDate,
}

/// History line, forecast p50 line, p10–p90 band, optional p05–p95 band and a
/// vertical line at the forecast start.
pub fn forecast_chart(input: &ForecastInput, canvas: Canvas) -> Result<String, ChartError> {
    check_finite("history", input.history.iter().map(|p| p.value))?;
    check_finite(
        "forecast",
        input.forecast.iter().flat_map(|q| {
            [
                q.p10,
                q.p50,
                q.p90,
                q.p05.unwrap_or(0.0),
                q.p95.unwrap_or(0.0),
            ]
        }),
    )?;
    render(canvas, |root| {
        if input.history.is_empty() && input.forecast.is_empty() {
            return draw_empty(root, &input.title);
        }
        let days = input
            .history
            .iter()
            .map(|p| day(p.date))
            .chain(input.forecast.iter().map(|q| day(q.date)))
            .chain(std::iter::once(day(input.forecast_start)));
        let (lo, hi) = days.fold((i32::MAX, i32::MIN), |(a, b), d| (a.min(d), b.max(d)));
        let hi = hi.max(lo + 1);
        let outer = !input.forecast.is_empty()
            && input
                .forecast
                .iter()
                .all(|q| q.p05.is_some() && q.p95.is_some());
        let values = input
            .history
            .iter()
            .map(|p| p.value)
            .chain(input.forecast.iter().flat_map(|q| {
                [
                    q.p10,
                    q.p50,
                    q.p90,
                    q.p05.unwrap_or(q.p10),
                    q.p95.unwrap_or(q.p90),
                ]
            }));
        let yr = y_range(values, 0.10);
        let mut entries: Vec<LegendEntry> = Vec::new();
        if !input.history.is_empty() {
            entries.push((
                format!("{} (history)", clean(&input.series_name)),
                Glyph::Line(C_DARK, 2),
            ));
        }
        if !input.forecast.is_empty() {
            entries.push(("Forecast p50".into(), Glyph::Line(C_BLUE, 3)));
            entries.push(("p10–p90".into(), Glyph::Fill(C_SKY, 0.40)));
        }
        if outer {
            entries.push(("p05–p95".into(), Glyph::Fill(C_SKY, 0.18)));
        }
        entries.push(("Forecast start".into(), Glyph::Dashed(C_VERMILION)));
        let area = with_legend(root, &entries)?;
        let unit = input.unit.clone();
        let tick = move |v: f64| unit.tick(v);
        let mut chart = date_chart(
            &area,
            &input.title,
            lo..hi,
            yr,
            &input.unit.axis_title(&input.y_label),
            &tick,
        )?;

        let fc = &input.forecast;
        if outer {
            let mut pts: Vec<(i32, f64)> = fc
                .iter()
                .map(|q| (day(q.date), q.p95.unwrap_or(q.p90)))
                .collect();
            pts.extend(
                fc.iter()
                    .rev()
                    .map(|q| (day(q.date), q.p05.unwrap_or(q.p10))),
            );
            chart.draw_series(std::iter::once(Polygon::new(pts, C_SKY.mix(0.18).filled())))?;
        }
        if !fc.is_empty() {
            let mut pts: Vec<(i32, f64)> = fc.iter().map(|q| (day(q.date), q.p90)).collect();
            pts.extend(fc.iter().rev().map(|q| (day(q.date), q.p10)));
            chart.draw_series(std::iter::once(Polygon::new(pts, C_SKY.mix(0.40).filled())))?;
        }
        if !input.history.is_empty() {
            chart.draw_series(LineSeries::new(
                input.history.iter().map(|p| (day(p.date), p.value)),
                C_DARK.stroke_width(2),
            ))?;
        }
        if !fc.is_empty() {
            chart.draw_series(LineSeries::new(
                fc.iter().map(|q| (day(q.date), q.p50)),
                C_BLUE.stroke_width(3),
            ))?;
        }
        vertical_marker(
            &mut chart,
            day(input.forecast_start),
            C_VERMILION,
            Some(format!(
                "Forecast from {}",
                input.forecast_start.format("%Y-%m-%d")
            )),
        )?;
        Ok(())
    })
}
