//! The report's charts: plain input structs → self-contained SVG strings (plotters).
//!
//! Rendering uses plotters' SVG backend without any font feature (`ttf`/`ab_glyph` off):
//! text is written as `<text font-family="sans-serif">` and laid out by the viewer; plotters
//! only estimates text extents (0.7 em per byte), so no font file is ever loaded and the
//! output depends only on the input (byte-identical across runs and machines).
//!
//! All input strings go through [`sanitize_label`] (drops XML-invalid control characters,
//! truncates) and are XML-escaped by plotters-svg when written.

mod bars;
mod common;
mod forecast;
mod lines;
mod waterline;

#[cfg(test)]
mod fixtures;

pub use bars::{
    QuarterSpend, QuarterlySpendInput, ScenarioCostInput, ScenarioCosts, quarterly_spend_chart,
    scenario_cost_chart,
};
pub use common::{
    Canvas, ChartError, Currency, DatedValue, QuantilePoint, YUnit, format_compact, format_money,
    sanitize_label,
};
pub use forecast::{ForecastInput, forecast_chart};
pub use lines::{
    CommitmentCurveInput, CoverageInput, CoveragePoint, CumulativeSavingsInput,
    commitment_curve_chart, coverage_utilisation_chart, cumulative_savings_chart, find_break_even,
};
pub use waterline::{CommitmentLayer, WaterlineInput, layer_steps, waterline_chart};

#[cfg(test)]
mod tests;
