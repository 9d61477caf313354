//! Bar charts: scenario × strategy cost, quarterly spend against budget.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::common::*;

type BarCoord = Cartesian2d<
    plotters::coord::combinators::WithKeyPoints<plotters::coord::types::RangedCoordi32>,
    plotters::coord::types::RangedCoordf64,
>;

/// Width of one category in x units. x is integer (plotters only formats custom key
/// points on integer axes), so positions inside a category are thousandths.
const U: f64 = 1000.0;

fn px(v: f64) -> i32 {
    (v * U).round() as i32
}

/// Chart with one category per unit interval on x ([i, i+1)), labels at the centres.
fn category_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    categories: &[String],
    x_title: &str,
    y: std::ops::Range<f64>,
    y_title: &str,
    symbol: &str,
) -> Result<ChartContext<'a, SVGBackend<'b>, BarCoord>, ChartError> {
    let n = px(categories.len().max(1) as f64);
    let centres: Vec<i32> = (0..categories.len()).map(|i| px(i as f64 + 0.5)).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(clean(title), (FONT, TITLE_SIZE).into_font().color(&C_DARK))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(52)
        .y_label_area_size(86)
        .build_cartesian_2d((0..n).with_key_points(centres), y)?;
    let xf = |v: &i32| {
        let i = (*v as f64 / U - 0.5).round();
        if i >= 0.0 && (i as usize) < categories.len() {
            sanitize_label(&categories[i as usize], 22)
        } else {
            String::new()
        }
    };
    let yf = |v: &f64| format_money(*v, symbol);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_desc(x_title)
        .y_desc(y_title)
        .label_style((FONT, TICK_SIZE).into_font().color(&C_DARK))
        .axis_desc_style((FONT, DESC_SIZE).into_font().color(&C_DARK))
        .bold_line_style(C_GREY.mix(0.25))
        .light_line_style(TRANSPARENT)
        .axis_style(C_DARK.mix(0.8))
        .y_labels(7)
        .draw()?;
    Ok(chart)
}

/// Input for [`scenario_cost_chart`]: one group of bars per scenario, one bar per strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioCostInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// Currency of the costs (tick symbol and axis-title code).
    pub currency: Currency,
    /// Strategy names (legend), e.g. "On-demand only", "capplan recommendation".
    pub strategies: Vec<String>,
    /// One group of bars per demand scenario, in display order.
    pub scenarios: Vec<ScenarioCosts>,
}

/// The bars of one demand scenario in [`scenario_cost_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioCosts {
    /// Scenario name (x-axis category), e.g. "Base", "Upside".
    pub scenario: String,
    /// Total cost over the horizon per strategy, same order/length as `strategies`.
    pub total_cost: Vec<f64>,
}

/// Grouped bars: total cost per demand scenario (groups) × strategy (colours).
pub fn scenario_cost_chart(
    input: &ScenarioCostInput,
    canvas: Canvas,
) -> Result<String, ChartError> {
    let k = input.strategies.len();
    for s in &input.scenarios {
        if s.total_cost.len() != k {
            return Err(ChartError::InvalidInput(format!(
                "scenario {:?} has {} costs for {} strategies",
                clean(&s.scenario),
                s.total_cost.len(),
                k
            )));
        }
        check_finite("scenario costs", s.total_cost.iter().copied())?;
    }
    render(canvas, |root| {
        if input.scenarios.is_empty() || k == 0 {
            return draw_empty(root, &input.title);
        }
        let names: Vec<String> = input.scenarios.iter().map(|s| s.scenario.clone()).collect();
        let yr = y_range(
            input
                .scenarios
                .iter()
                .flat_map(|s| s.total_cost.iter().copied()),
            0.10,
        );
        let entries: Vec<LegendEntry> = input
            .strategies
            .iter()
            .enumerate()
            .map(|(j, s)| (clean(s), Glyph::Fill(PALETTE[j % PALETTE.len()], 1.0)))
            .collect();
        let area = with_legend(root, &entries)?;
        let symbol = clean(&input.currency.symbol);
        let mut chart = category_chart(
            &area,
            &input.title,
            &names,
            "Demand scenario",
            yr,
            &format!("Total cost over horizon ({})", clean(&input.currency.code)),
            &symbol,
        )?;
        let bw = 0.8 / k as f64;
        let show_values = input.scenarios.len() * k <= 16;
        for j in 0..k {
            let color = PALETTE[j % PALETTE.len()];
            let bars = input.scenarios.iter().enumerate().map(|(i, s)| {
                let x0 = i as f64 + 0.1 + j as f64 * bw;
                Rectangle::new(
                    [(px(x0), 0.0), (px(x0 + bw * 0.92), s.total_cost[j])],
                    color.filled(),
                )
            });
            chart.draw_series(bars)?;
            if show_values {
                let sym = symbol.clone();
                chart.draw_series(input.scenarios.iter().enumerate().map(|(i, s)| {
                    let xc = i as f64 + 0.1 + j as f64 * bw + bw * 0.46;
                    let v = s.total_cost[j];
                    EmptyElement::at((px(xc), v.max(0.0)))
                        + Text::new(
                            format_money(v, &sym),
                            (0, -4),
                            (FONT, 13)
                                .into_font()
                                .color(&C_DARK)
                                .pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )
                }))?;
            }
        }
        Ok(())
    })
}

/// One fiscal quarter for [`quarterly_spend_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuarterSpend {
    /// e.g. "FY2027 Q1".
    pub label: String,
    /// Commitment fees of the quarter (amortised, existing + new), in currency units.
    pub committed: f64,
    /// Expected on-demand spend of the quarter, in currency units.
    pub on_demand: f64,
    /// The quarter's budget, drawn as a marker; `None` when no budget is set.
    pub budget: Option<f64>,
}

impl QuarterSpend {
    /// Over budget when committed + on-demand exceeds the budget (strictly).
    pub fn over_budget(&self) -> bool {
        self.budget
            .is_some_and(|b| self.committed + self.on_demand > b)
    }
}

/// Input for [`quarterly_spend_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuarterlySpendInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// Currency of the amounts (tick symbol and axis-title code).
    pub currency: Currency,
    /// The quarters, in display order (one stacked bar each).
    pub quarters: Vec<QuarterSpend>,
}

/// Stacked bars (committed below, on-demand above) per quarter, a budget marker per
/// quarter and over-budget quarters outlined and annotated.
pub fn quarterly_spend_chart(
    input: &QuarterlySpendInput,
    canvas: Canvas,
) -> Result<String, ChartError> {
    check_finite(
        "quarterly spend",
        input
            .quarters
            .iter()
            .flat_map(|q| [q.committed, q.on_demand, q.budget.unwrap_or(0.0)]),
    )?;
    render(canvas, |root| {
        let qs = &input.quarters;
        if qs.is_empty() {
            return draw_empty(root, &input.title);
        }
        let names: Vec<String> = qs.iter().map(|q| q.label.clone()).collect();
        let yr = y_range(
            qs.iter().flat_map(|q| {
                [
                    q.committed + q.on_demand,
                    q.committed,
                    q.budget.unwrap_or(0.0),
                ]
            }),
            0.10,
        );
        let mut entries: Vec<LegendEntry> = vec![
            ("Committed".into(), Glyph::Fill(C_BLUE, 1.0)),
            ("On-demand".into(), Glyph::Fill(C_ORANGE, 1.0)),
        ];
        if qs.iter().any(|q| q.budget.is_some()) {
            entries.push(("Budget".into(), Glyph::Line(C_DARK, 3)));
        }
        if qs.iter().any(QuarterSpend::over_budget) {
            entries.push(("Over budget".into(), Glyph::Outline(C_VERMILION)));
        }
        let area = with_legend(root, &entries)?;
        let symbol = clean(&input.currency.symbol);
        let mut chart = category_chart(
            &area,
            &input.title,
            &names,
            "Fiscal quarter",
            yr,
            &format!("Spend ({})", clean(&input.currency.code)),
            &symbol,
        )?;
        let (l, r) = (0.2, 0.8);
        chart.draw_series(qs.iter().enumerate().map(|(i, q)| {
            let x = i as f64;
            Rectangle::new(
                [(px(x + l), 0.0), (px(x + r), q.committed)],
                C_BLUE.filled(),
            )
        }))?;
        chart.draw_series(qs.iter().enumerate().map(|(i, q)| {
            let x = i as f64;
            Rectangle::new(
                [
                    (px(x + l), q.committed),
                    (px(x + r), q.committed + q.on_demand),
                ],
                C_ORANGE.filled(),
            )
        }))?;
        if qs.iter().any(|q| q.budget.is_some()) {
            chart.draw_series(qs.iter().enumerate().filter_map(|(i, q)| {
                let b = q.budget?;
                let x = i as f64;
                Some(PathElement::new(
                    vec![(px(x + 0.08), b), (px(x + 0.92), b)],
                    C_DARK.stroke_width(3),
                ))
            }))?;
        }
        if qs.iter().any(QuarterSpend::over_budget) {
            chart.draw_series(qs.iter().enumerate().filter(|(_, q)| q.over_budget()).map(
                |(i, q)| {
                    let x = i as f64;
                    Rectangle::new(
                        [(px(x + l), 0.0), (px(x + r), q.committed + q.on_demand)],
                        C_VERMILION.stroke_width(3),
                    )
                },
            ))?;
        }
        let sym = symbol.clone();
        chart.draw_series(qs.iter().enumerate().map(|(i, q)| {
            let total = q.committed + q.on_demand;
            let (text, color) = match q.budget {
                Some(b) if q.over_budget() && b > 0.0 => (
                    format!(
                        "{} (+{:.0}% over)",
                        format_money(total, &sym),
                        (total / b - 1.0) * 100.0
                    ),
                    C_VERMILION,
                ),
                Some(_) if q.over_budget() => {
                    (format!("{} (over)", format_money(total, &sym)), C_VERMILION)
                }
                _ => (format_money(total, &sym), C_DARK),
            };
            let top = q.budget.map_or(total, |b| b.max(total)).max(0.0);
            EmptyElement::at((px(i as f64 + 0.5), top))
                + Text::new(
                    text,
                    (0, -5),
                    (FONT, 13)
                        .into_font()
                        .color(&color)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
        }))?;
        Ok(())
    })
}
