//! Line charts: cumulative savings with break-even, coverage and utilisation.

use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::common::*;

/// Input for [`cumulative_savings_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct CumulativeSavingsInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// Currency of the savings (tick symbol and axis-title code).
    pub currency: Currency,
    /// Legend name of the line, e.g. "capplan recommendation (base)".
    pub series_name: String,
    /// Cumulative savings versus on-demand (negative while upfront costs dominate).
    pub points: Vec<DatedValue>,
    /// Break-even date to mark (from the planner; see [`find_break_even`]).
    pub break_even: Option<NaiveDate>,
}

/// First date at which cumulative savings reach ≥ 0 after having been negative
/// (points sorted by date). `None` if never negative or never recovers.
pub fn find_break_even(points: &[DatedValue]) -> Option<NaiveDate> {
    let mut was_negative = false;
    for p in points {
        if p.value < 0.0 {
            was_negative = true;
        } else if was_negative {
            return Some(p.date);
        }
    }
    None
}

/// Cumulative savings line, zero line, and the break-even point marked.
pub fn cumulative_savings_chart(
    input: &CumulativeSavingsInput,
    canvas: Canvas,
) -> Result<String, ChartError> {
    check_finite("cumulative savings", input.points.iter().map(|p| p.value))?;
    render(canvas, |root| {
        if input.points.is_empty() {
            return draw_empty(root, &input.title);
        }
        let lo = input.points.iter().map(|p| day(p.date)).min().unwrap_or(0);
        let hi = input
            .points
            .iter()
            .map(|p| day(p.date))
            .max()
            .unwrap_or(0)
            .max(lo + 1);
        let yr = y_range(input.points.iter().map(|p| p.value), 0.08);
        let mut entries: Vec<LegendEntry> =
            vec![(clean(&input.series_name), Glyph::Line(C_GREEN, 3))];
        let be_visible = input.break_even.filter(|be| (lo..=hi).contains(&day(*be)));
        if let Some(be) = be_visible {
            entries.push((
                format!("Break-even {}", be.format("%Y-%m-%d")),
                Glyph::Dot(C_VERMILION),
            ));
        }
        let area = with_legend(root, &entries)?;
        let symbol = clean(&input.currency.symbol);
        let tick = |v: f64| format_money(v, &symbol);
        let mut chart = date_chart(
            &area,
            &input.title,
            lo..hi,
            yr,
            &format!("Cumulative savings ({})", clean(&input.currency.code)),
            &tick,
        )?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(lo, 0.0), (hi, 0.0)],
            C_DARK.mix(0.7).stroke_width(1),
        )))?;
        chart.draw_series(LineSeries::new(
            input.points.iter().map(|p| (day(p.date), p.value)),
            C_GREEN.stroke_width(3),
        ))?;
        if let Some(be) = be_visible {
            let x = day(be);
            {
                vertical_marker(&mut chart, x, C_VERMILION, None)?;
                chart.draw_series(std::iter::once(Circle::new(
                    (x, 0.0),
                    7,
                    C_VERMILION.filled(),
                )))?;
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, 0.0))
                        + Text::new(
                            format!("Break-even {}", be.format("%Y-%m-%d")),
                            (10, 8),
                            (FONT, TICK_SIZE)
                                .into_font()
                                .color(&C_VERMILION)
                                .pos(Pos::new(HPos::Left, VPos::Top)),
                        ),
                ))?;
            }
        }
        Ok(())
    })
}

/// One day of [`coverage_utilisation_chart`], both in percent (0–100, may exceed 100).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoveragePoint {
    /// The day.
    pub date: NaiveDate,
    /// Share of eligible usage covered by commitments, %.
    pub coverage_pct: f64,
    /// Share of committed capacity actually used, %.
    pub utilisation_pct: f64,
}

/// Input for [`coverage_utilisation_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// Coverage and utilisation per day, sorted by date.
    pub points: Vec<CoveragePoint>,
    /// Optional target coverage drawn as a dashed line, %.
    pub target_coverage_pct: Option<f64>,
}

/// Coverage and utilisation lines in percent.
pub fn coverage_utilisation_chart(
    input: &CoverageInput,
    canvas: Canvas,
) -> Result<String, ChartError> {
    check_finite(
        "coverage",
        input
            .points
            .iter()
            .flat_map(|p| [p.coverage_pct, p.utilisation_pct])
            .chain(input.target_coverage_pct),
    )?;
    render(canvas, |root| {
        if input.points.is_empty() {
            return draw_empty(root, &input.title);
        }
        let lo = input.points.iter().map(|p| day(p.date)).min().unwrap_or(0);
        let hi = input
            .points
            .iter()
            .map(|p| day(p.date))
            .max()
            .unwrap_or(0)
            .max(lo + 1);
        let max = input
            .points
            .iter()
            .flat_map(|p| [p.coverage_pct, p.utilisation_pct])
            .chain(input.target_coverage_pct)
            .fold(100.0f64, f64::max);
        let min = input
            .points
            .iter()
            .flat_map(|p| [p.coverage_pct, p.utilisation_pct])
            .fold(0.0f64, f64::min);
        let tick = |v: f64| format!("{v:.0}%");
        let mut entries: Vec<LegendEntry> = vec![
            ("Coverage".into(), Glyph::Line(C_BLUE, 3)),
            ("Utilisation".into(), Glyph::Line(C_GREEN, 3)),
        ];
        if let Some(t) = input.target_coverage_pct {
            entries.push((format!("Target coverage {t:.0}%"), Glyph::Dashed(C_GREY)));
        }
        let area = with_legend(root, &entries)?;
        let mut chart = date_chart(
            &area,
            &input.title,
            lo..hi,
            min..max * 1.05,
            "Percent",
            &tick,
        )?;
        chart.draw_series(LineSeries::new(
            input.points.iter().map(|p| (day(p.date), p.coverage_pct)),
            C_BLUE.stroke_width(3),
        ))?;
        chart.draw_series(LineSeries::new(
            input
                .points
                .iter()
                .map(|p| (day(p.date), p.utilisation_pct)),
            C_GREEN.stroke_width(3),
        ))?;
        if let Some(t) = input.target_coverage_pct {
            chart.draw_series(DashedLineSeries::new(
                vec![(lo, t), (hi, t)],
                8,
                5,
                C_GREY.stroke_width(2),
            ))?;
        }
        Ok(())
    })
}
