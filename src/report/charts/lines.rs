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

/// Input for [`commitment_curve_chart`]: expected savings at each hourly commitment of a
/// spend-based plan, with the recommendation and the providers' lookback rule marked.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentCurveInput {
    /// Chart title.
    pub title: String,
    /// Currency (ticks and axis titles).
    pub currency: Currency,
    /// `(commitment per hour, expected savings)`, sorted by commitment.
    pub points: Vec<(f64, f64)>,
    /// The optimum commitment and its savings.
    pub chosen: Option<(f64, f64)>,
    /// The lookback rule's commitment and its savings on the same paths.
    pub lookback: Option<(f64, f64)>,
    /// Legend name of the lookback marker, e.g. "30-day lookback".
    pub lookback_name: String,
}

/// Savings against buying nothing as a function of the hourly commitment (a convex curve's
/// mirror image: it rises to the optimum and falls once commitment goes unused).
pub fn commitment_curve_chart(
    input: &CommitmentCurveInput,
    canvas: Canvas,
) -> Result<String, ChartError> {
    check_finite(
        "commitment curve",
        input
            .points
            .iter()
            .chain(input.chosen.iter())
            .chain(input.lookback.iter())
            .flat_map(|(a, b)| [*a, *b]),
    )?;
    render(canvas, |root| {
        if input.points.len() < 2 {
            return draw_empty(root, &input.title);
        }
        let x_hi = input
            .points
            .iter()
            .map(|p| p.0)
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let yr = y_range(
            input.points.iter().map(|p| p.1).chain(std::iter::once(0.0)),
            0.1,
        );
        let mut entries: Vec<LegendEntry> =
            vec![("Expected savings".to_string(), Glyph::Line(C_GREEN, 3))];
        if input.chosen.is_some() {
            entries.push(("Optimum".to_string(), Glyph::Dot(C_BLUE)));
        }
        if input.lookback.is_some() {
            entries.push((clean(&input.lookback_name), Glyph::Dot(C_VERMILION)));
        }
        let area = with_legend(root, &entries)?;
        let symbol = clean(&input.currency.symbol);
        let code = clean(&input.currency.code);
        let mut chart = ChartBuilder::on(&area)
            .caption(
                clean(&input.title),
                (FONT, TITLE_SIZE).into_font().color(&C_DARK),
            )
            .margin(12)
            .margin_right(28)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..x_hi, yr)?;
        let xf = |v: &f64| format_money(*v, &symbol);
        let yf = |v: &f64| format_money(*v, &symbol);
        chart
            .configure_mesh()
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .x_desc(format!("Commitment per hour at plan rates ({code})"))
            .y_desc(format!("Expected savings ({code})"))
            .label_style((FONT, TICK_SIZE).into_font().color(&C_DARK))
            .axis_desc_style((FONT, DESC_SIZE).into_font().color(&C_DARK))
            .bold_line_style(C_GREY.mix(0.25))
            .light_line_style(TRANSPARENT)
            .axis_style(C_DARK.mix(0.8))
            .x_labels(8)
            .y_labels(7)
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (x_hi, 0.0)],
            C_DARK.mix(0.7).stroke_width(1),
        )))?;
        chart.draw_series(LineSeries::new(
            input.points.iter().copied(),
            C_GREEN.stroke_width(3),
        ))?;
        for (p, c, label) in [
            (input.chosen, C_BLUE, "Optimum"),
            (input.lookback, C_VERMILION, input.lookback_name.as_str()),
        ] {
            if let Some((x, y)) = p {
                chart.draw_series(std::iter::once(Circle::new((x, y), 7, c.filled())))?;
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, y))
                        + Text::new(
                            format!("{} {}/h", clean(label), format_money(x, &symbol)),
                            (10, 8),
                            (FONT, TICK_SIZE)
                                .into_font()
                                .color(&c)
                                .pos(Pos::new(HPos::Left, VPos::Top)),
                        ),
                ))?;
            }
        }
        Ok(())
    })
}
