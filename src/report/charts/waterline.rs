//! "Waterline" chart: demand quantile bands against stacked commitment layers.

use chrono::NaiveDate;
use plotters::prelude::*;

use super::common::*;

/// One commitment layer as a step function: each step's value holds from its date
/// until the next step (0 before the first step). E.g. a 1-year purchase starting
/// 2026-01-01 is `[(2026-01-01, 40.0), (2027-01-01, 0.0)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentLayer {
    /// Legend name, e.g. "existing" or "recommended 3y".
    pub name: String,
    /// The step function: committed capacity from each date on, in the chart's y unit.
    pub steps: Vec<DatedValue>,
}

/// Input for [`waterline_chart`]. Layers are stacked bottom-up in the given order
/// (existing, recommended 3y, recommended 1y).
#[derive(Clone, Debug, PartialEq)]
pub struct WaterlineInput {
    /// Chart title, drawn above the plot.
    pub title: String,
    /// y-axis title without unit, e.g. "Hourly usage".
    pub y_label: String,
    /// What demand and layers measure; sets tick format and the unit in the axis title.
    pub unit: YUnit,
    /// Demand quantiles per day (p05/p95 optional, drawn only when all points have them).
    pub demand: Vec<QuantilePoint>,
    /// Commitment layers, stacked bottom-up in this order.
    pub layers: Vec<CommitmentLayer>,
}

const LAYER_COLORS: [RGBColor; 5] = [C_GREY, C_GREEN, C_ORANGE, C_PURPLE, C_YELLOW];

/// Value of a step function at `d` (steps need not be sorted).
fn step_value(steps: &[DatedValue], d: i32) -> f64 {
    steps
        .iter()
        .filter(|s| day(s.date) <= d)
        .max_by_key(|s| day(s.date))
        .map_or(0.0, |s| s.value)
}

/// Breakpoints of all layers inside [lo, hi], always including lo and hi, sorted.
fn breakpoints(layers: &[CommitmentLayer], lo: i32, hi: i32) -> Vec<i32> {
    let mut b: Vec<i32> = layers
        .iter()
        .flat_map(|l| l.steps.iter().map(|s| day(s.date)))
        .filter(|d| *d > lo && *d < hi)
        .chain([lo, hi])
        .collect();
    b.sort_unstable();
    b.dedup();
    b
}

/// Stacked step polygons: for each layer, the outline between the cumulative sum
/// below it and the cumulative sum including it, over [lo, hi].
pub(crate) fn stacked_step_polygons(
    layers: &[CommitmentLayer],
    lo: i32,
    hi: i32,
) -> Vec<Vec<(i32, f64)>> {
    let bps = breakpoints(layers, lo, hi);
    // cumulative value per segment [bps[k], bps[k+1])
    let segs: Vec<(i32, i32)> = bps.windows(2).map(|w| (w[0], w[1])).collect();
    let mut below = vec![0.0f64; segs.len()];
    let mut out = Vec::with_capacity(layers.len());
    for layer in layers {
        let top: Vec<f64> = segs
            .iter()
            .zip(&below)
            .map(|((a, _), b)| b + step_value(&layer.steps, *a).max(0.0))
            .collect();
        let mut pts = Vec::with_capacity(segs.len() * 4);
        for ((a, b), t) in segs.iter().zip(&top) {
            pts.push((*a, *t));
            pts.push((*b, *t));
        }
        for ((a, b), t) in segs.iter().zip(&below).rev() {
            pts.push((*b, *t));
            pts.push((*a, *t));
        }
        out.push(pts);
        below = top;
    }
    out
}

/// Demand distribution (p10–p90 band, optional p05–p95, p50 line) over stacked
/// commitment step areas.
pub fn waterline_chart(input: &WaterlineInput, canvas: Canvas) -> Result<String, ChartError> {
    check_finite(
        "demand",
        input.demand.iter().flat_map(|q| {
            [
                q.p10,
                q.p50,
                q.p90,
                q.p05.unwrap_or(0.0),
                q.p95.unwrap_or(0.0),
            ]
        }),
    )?;
    check_finite(
        "commitment layers",
        input
            .layers
            .iter()
            .flat_map(|l| l.steps.iter().map(|s| s.value)),
    )?;
    render(canvas, |root| {
        if input.demand.is_empty() {
            return draw_empty(root, &input.title);
        }
        let lo = input.demand.iter().map(|q| day(q.date)).min().unwrap_or(0);
        // the last day is drawn as a full day (step areas end at hi)
        let hi = input.demand.iter().map(|q| day(q.date)).max().unwrap_or(0) + 1;
        let polys = stacked_step_polygons(&input.layers, lo, hi);
        let outer = input
            .demand
            .iter()
            .all(|q| q.p05.is_some() && q.p95.is_some());
        let values = input
            .demand
            .iter()
            .flat_map(|q| {
                [
                    q.p10,
                    q.p90,
                    q.p50,
                    q.p05.unwrap_or(q.p10),
                    q.p95.unwrap_or(q.p90),
                ]
            })
            .chain(polys.iter().flat_map(|p| p.iter().map(|(_, v)| *v)));
        let yr = y_range(values, 0.06);
        let mut entries: Vec<LegendEntry> = input
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    clean(&l.name),
                    Glyph::Fill(LAYER_COLORS[i % LAYER_COLORS.len()], 0.55),
                )
            })
            .collect();
        entries.push(("Demand p50".into(), Glyph::Line(C_BLUE, 2)));
        entries.push(("Demand p10–p90".into(), Glyph::Fill(C_BLUE, 0.25)));
        if outer {
            entries.push(("Demand p05–p95".into(), Glyph::Fill(C_BLUE, 0.12)));
        }
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

        for (i, pts) in polys.into_iter().enumerate() {
            let color = LAYER_COLORS[i % LAYER_COLORS.len()];
            chart.draw_series(std::iter::once(Polygon::new(pts, color.mix(0.55).filled())))?;
        }
        let d = &input.demand;
        if outer {
            let mut pts: Vec<(i32, f64)> = d
                .iter()
                .map(|q| (day(q.date), q.p95.unwrap_or(q.p90)))
                .collect();
            pts.extend(
                d.iter()
                    .rev()
                    .map(|q| (day(q.date), q.p05.unwrap_or(q.p10))),
            );
            chart.draw_series(std::iter::once(Polygon::new(
                pts,
                C_BLUE.mix(0.12).filled(),
            )))?;
        }
        let mut pts: Vec<(i32, f64)> = d.iter().map(|q| (day(q.date), q.p90)).collect();
        pts.extend(d.iter().rev().map(|q| (day(q.date), q.p10)));
        chart.draw_series(std::iter::once(Polygon::new(
            pts,
            C_BLUE.mix(0.25).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            d.iter().map(|q| (day(q.date), q.p50)),
            C_BLUE.stroke_width(2),
        ))?;
        Ok(())
    })
}

/// Build a layer's steps from individual commitments `(start, end_exclusive, amount)`;
/// overlapping commitments add up.
pub fn layer_steps(commitments: &[(NaiveDate, NaiveDate, f64)]) -> Vec<DatedValue> {
    let mut dates: Vec<NaiveDate> = commitments.iter().flat_map(|(s, e, _)| [*s, *e]).collect();
    dates.sort_unstable();
    dates.dedup();
    dates
        .into_iter()
        .map(|d| {
            let v = commitments
                .iter()
                .filter(|(s, e, _)| *s <= d && d < *e)
                .map(|c| c.2)
                .sum();
            DatedValue::new(d, v)
        })
        .collect()
}
