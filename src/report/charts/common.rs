//! Shared pieces: input types, errors, text sanitising, number/date formatting,
//! palette and the SVG render wrapper.

use std::fmt;
use std::ops::Range;

use chrono::{Datelike, Duration, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Pixel size of a chart. Output uses this as width/height and viewBox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Canvas {
    /// 900×420: fits an A4/Letter page width in print at a readable scale.
    fn default() -> Self {
        Canvas {
            width: 900,
            height: 420,
        }
    }
}

/// A currency for axis ticks (`symbol`, e.g. "$") and axis titles (`code`, e.g. "USD").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency {
    /// Prefix of tick labels, e.g. "$".
    pub symbol: String,
    /// ISO 4217 code shown in axis titles, e.g. "USD".
    pub code: String,
}

impl Currency {
    /// A currency from its tick symbol and its ISO code.
    pub fn new(symbol: impl Into<String>, code: impl Into<String>) -> Self {
        Currency {
            symbol: symbol.into(),
            code: code.into(),
        }
    }
}

/// What the y values of a time-series chart measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YUnit {
    /// Money: ticks like `$1.2M`, axis title gets `(USD)`.
    Money(Currency),
    /// A usage quantity such as "vCPU-hours": ticks like `1.2k`, axis title gets `(vCPU-hours)`.
    Quantity(String),
}

/// One value on one day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DatedValue {
    /// The day.
    pub date: NaiveDate,
    /// The value on that day, in the chart's y unit.
    pub value: f64,
}

impl DatedValue {
    /// The value `value` on `date`.
    pub fn new(date: NaiveDate, value: f64) -> Self {
        DatedValue { date, value }
    }
}

/// Quantiles of a forecast distribution on one day. `p05`/`p95` are optional
/// (the outer, lighter band is drawn only when every point has both).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantilePoint {
    /// The day.
    pub date: NaiveDate,
    /// 5th percentile, in the chart's y unit (lower edge of the outer band).
    pub p05: Option<f64>,
    /// 10th percentile (lower edge of the inner band).
    pub p10: f64,
    /// Median, drawn as the forecast line.
    pub p50: f64,
    /// 90th percentile (upper edge of the inner band).
    pub p90: f64,
    /// 95th percentile (upper edge of the outer band).
    pub p95: Option<f64>,
}

/// Errors from chart rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartError {
    /// Input is unusable (non-finite value, mismatched lengths, ...).
    InvalidInput(String),
    /// plotters failed to draw (should not happen with the in-memory SVG backend).
    Draw(String),
}

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartError::InvalidInput(m) => write!(f, "invalid chart input: {m}"),
            ChartError::Draw(m) => write!(f, "chart drawing failed: {m}"),
        }
    }
}

impl std::error::Error for ChartError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

pub(crate) type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;

// ---------------------------------------------------------------- palette
// Okabe–Ito colour-blind-safe palette.
pub(crate) const C_BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(crate) const C_SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
pub(crate) const C_ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub(crate) const C_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub(crate) const C_VERMILION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
pub(crate) const C_PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub(crate) const C_YELLOW: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
pub(crate) const C_GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);
pub(crate) const C_DARK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const PALETTE: [RGBColor; 7] = [
    C_BLUE,
    C_ORANGE,
    C_GREEN,
    C_PURPLE,
    C_SKY,
    C_VERMILION,
    C_YELLOW,
];

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const TITLE_SIZE: u32 = 24;
pub(crate) const DESC_SIZE: u32 = 17;
pub(crate) const TICK_SIZE: u32 = 15;
pub(crate) const LEGEND_SIZE: u32 = 15;

// ---------------------------------------------------------------- text

/// Maximum characters kept from any input string (longer ones end in "…").
pub(crate) const MAX_LABEL_CHARS: usize = 60;

/// Make untrusted text safe for the plotters SVG backend *and* valid XML.
///
/// plotters-svg already escapes `< > & " '` in text and attributes; what it does
/// not do is drop characters XML 1.0 forbids (C0 controls other than tab/newline,
/// U+FFFE/U+FFFF), which would make the document unparsable. Those (and all other
/// control characters, including newlines, which SVG `<text>` cannot lay out) become
/// spaces; whitespace runs collapse; the result is truncated to `max_chars`.
pub fn sanitize_label(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut last_space = true;
    for c in s.chars() {
        let c = if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let trimmed = out.trim_end();
    let count = trimmed.chars().count();
    if count > max_chars {
        let keep: String = trimmed.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", keep.trim_end())
    } else {
        trimmed.to_string()
    }
}

pub(crate) fn clean(s: &str) -> String {
    sanitize_label(s, MAX_LABEL_CHARS)
}

// ---------------------------------------------------------------- numbers

/// Compact number: 950, 1.2k, 34k, 1.5M, 2B. Deterministic (fixed-precision formatting).
pub fn format_compact(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    let (scaled, suffix) = if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    let digits = if scaled >= 100.0 || (suffix.is_empty() && scaled >= 10.0) {
        format!("{scaled:.0}")
    } else if scaled >= 10.0 || suffix.is_empty() && scaled >= 1.0 {
        trim_zero(format!("{scaled:.1}"))
    } else {
        trim_zero(format!("{scaled:.2}"))
    };
    if digits == "0" {
        return "0".to_string();
    }
    format!("{sign}{digits}{suffix}")
}

fn trim_zero(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `-$1.2k` style money tick.
pub fn format_money(v: f64, symbol: &str) -> String {
    let c = format_compact(v);
    match c.strip_prefix('-') {
        Some(rest) => format!("-{symbol}{rest}"),
        None => format!("{symbol}{c}"),
    }
}

impl YUnit {
    pub(crate) fn tick(&self, v: f64) -> String {
        match self {
            YUnit::Money(c) => format_money(v, &clean(&c.symbol)),
            YUnit::Quantity(_) => format_compact(v),
        }
    }
    pub(crate) fn axis_title(&self, label: &str) -> String {
        let unit = match self {
            YUnit::Money(c) => clean(&c.code),
            YUnit::Quantity(u) => clean(u),
        };
        let label = clean(label);
        if unit.is_empty() {
            label
        } else {
            format!("{label} ({unit})")
        }
    }
}

pub(crate) fn check_finite(
    what: &str,
    values: impl IntoIterator<Item = f64>,
) -> Result<(), ChartError> {
    if values.into_iter().all(f64::is_finite) {
        Ok(())
    } else {
        Err(ChartError::InvalidInput(format!(
            "{what} contains a non-finite value"
        )))
    }
}

/// y range covering `values` and zero, with `headroom` (fraction) added on top for the legend.
pub(crate) fn y_range(values: impl IntoIterator<Item = f64>, headroom: f64) -> Range<f64> {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let span = hi - lo;
    let lo = if lo < 0.0 { lo - span * 0.05 } else { lo };
    lo..hi + span * headroom
}

// ---------------------------------------------------------------- dates

/// Dates are plotted as day numbers (days since 0001-01-01, CE), keeping plotters'
/// `chrono`/`datetime` features off; ticks are computed and formatted here.
pub(crate) fn day(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

pub(crate) fn from_day(n: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MIN)
}

/// Tick positions and label format for a day range [lo, hi].
pub(crate) struct DateTicks {
    pub days: Vec<i32>,
    pub fmt: &'static str,
}

pub(crate) fn date_ticks(lo: i32, hi: i32) -> DateTicks {
    let span = hi - lo;
    let start = from_day(lo);
    if span <= 75 {
        // weekly ticks on Mondays, stride so that at most ~10 labels
        let stride_weeks = ((span / 7) / 10 + 1) as i64;
        let offset = (7 - start.weekday().num_days_from_monday() as i64) % 7;
        let mut d = start + Duration::days(offset);
        let mut days = Vec::new();
        while day(d) <= hi {
            days.push(day(d));
            d += Duration::days(7 * stride_weeks);
        }
        if days.is_empty() {
            days.push(lo);
        }
        return DateTicks {
            days,
            fmt: "%d %b %Y",
        };
    }
    let months = span as f64 / 30.44;
    let stride = [1u32, 2, 3, 6, 12, 24]
        .into_iter()
        .find(|s| months / *s as f64 <= 9.0)
        .unwrap_or(48);
    let mut y = start.year();
    let mut m = start.month0();
    // first month start >= lo that is aligned to the stride (Jan-based)
    let mut days = Vec::new();
    while let Some(d) = NaiveDate::from_ymd_opt(y, m + 1, 1) {
        if day(d) > hi {
            break;
        }
        if day(d) >= lo && (y as i64 * 12 + m as i64) % stride as i64 == 0 {
            days.push(day(d));
        }
        m += 1;
        if m == 12 {
            m = 0;
            y += 1;
        }
    }
    if days.is_empty() {
        days.push(lo);
    }
    DateTicks {
        days,
        fmt: if stride >= 12 { "%Y" } else { "%b %Y" },
    }
}

pub(crate) fn format_day(n: i32, fmt: &str) -> String {
    from_day(n).format(fmt).to_string()
}

// ---------------------------------------------------------------- rendering

/// Render into a fresh SVG string. The closure draws on a white root area.
pub(crate) fn render(
    canvas: Canvas,
    draw: impl FnOnce(&Root<'_>) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    if canvas.width < 200 || canvas.height < 150 {
        return Err(ChartError::InvalidInput(format!(
            "canvas {}x{} is too small (min 200x150)",
            canvas.width, canvas.height
        )));
    }
    let mut buf = String::new();
    {
        let root =
            SVGBackend::with_string(&mut buf, (canvas.width, canvas.height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// Placeholder drawn when a chart has no data: title plus a centred note.
pub(crate) fn draw_empty(root: &Root<'_>, title: &str) -> Result<(), ChartError> {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        clean(title),
        (w as i32 / 2, 14),
        (FONT, TITLE_SIZE)
            .into_font()
            .color(&C_DARK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    root.draw(&Text::new(
        "No data for this chart".to_string(),
        (w as i32 / 2, h as i32 / 2),
        (FONT, DESC_SIZE)
            .into_font()
            .color(&C_GREY)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

pub(crate) type DateCoord = Cartesian2d<
    plotters::coord::combinators::WithKeyPoints<plotters::coord::types::RangedCoordi32>,
    plotters::coord::types::RangedCoordf64,
>;
pub(crate) type DateChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, DateCoord>;

/// Chart with a date x axis (day numbers, see [`day`]) and a value y axis, mesh drawn.
pub(crate) fn date_chart<'a, 'b>(
    root: &'a Root<'b>,
    title: &str,
    x: Range<i32>,
    y: Range<f64>,
    y_title: &str,
    tick: &dyn Fn(f64) -> String,
) -> Result<DateChart<'a, 'b>, ChartError> {
    let ticks = date_ticks(x.start, x.end);
    let mut chart = ChartBuilder::on(root)
        .caption(clean(title), (FONT, TITLE_SIZE).into_font().color(&C_DARK))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(52)
        .y_label_area_size(86)
        .build_cartesian_2d(x.with_key_points(ticks.days.clone()), y)?;
    let fmt = ticks.fmt;
    let xf = move |d: &i32| format_day(*d, fmt);
    let yf = |v: &f64| tick(*v);
    chart
        .configure_mesh()
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_desc("Date")
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

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Glyph {
    /// Filled box with the given opacity.
    Fill(RGBColor, f64),
    /// Solid line of the given width.
    Line(RGBColor, u32),
    /// Dashed line.
    Dashed(RGBColor),
    /// Box outline (over-budget highlight).
    Outline(RGBColor),
    /// Filled dot.
    Dot(RGBColor),
}

pub(crate) type LegendEntry = (String, Glyph);

const LEGEND_ROW_H: i32 = 24;
const LEGEND_LEFT: i32 = 98;
const LEGEND_MAX_CHARS: usize = 40;

/// Rows of (x offset, entry index), wrapping at `width` px. Width of text is estimated
/// (0.6 em per char); the viewer's real font may differ slightly, the gap absorbs it.
fn legend_layout(entries: &[LegendEntry], width: i32) -> Vec<Vec<(i32, usize)>> {
    let em = LEGEND_SIZE as f64 / 1.24;
    let mut rows: Vec<Vec<(i32, usize)>> = vec![Vec::new()];
    let mut x = 0;
    for (i, (label, _)) in entries.iter().enumerate() {
        let w = 26 + (label.chars().count() as f64 * em * 0.6).ceil() as i32 + 22;
        if x > 0 && x + w > width {
            rows.push(Vec::new());
            x = 0;
        }
        rows.last_mut().expect("at least one row").push((x, i));
        x += w;
    }
    rows
}

/// Draw `entries` as a legend strip along the bottom of `root` and return the area above
/// it for the chart. Keeping the legend outside the plot means it never hides data.
pub(crate) fn with_legend<'b>(
    root: &Root<'b>,
    entries: &[LegendEntry],
) -> Result<Root<'b>, ChartError> {
    let entries: Vec<LegendEntry> = entries
        .iter()
        .map(|(l, g)| (sanitize_label(l, LEGEND_MAX_CHARS), *g))
        .collect();
    let (w, h) = root.dim_in_pixel();
    let rows = legend_layout(&entries, w as i32 - LEGEND_LEFT - 20);
    let legend_h = rows.len() as i32 * LEGEND_ROW_H + 10;
    let (chart_area, legend_area) = root.split_vertically(h as i32 - legend_h);
    let style = (FONT, LEGEND_SIZE)
        .into_font()
        .color(&C_DARK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y = r as i32 * LEGEND_ROW_H + LEGEND_ROW_H / 2;
        for (dx, i) in row {
            let x = LEGEND_LEFT + dx;
            let (label, glyph) = &entries[*i];
            match *glyph {
                Glyph::Fill(c, a) => {
                    legend_area.draw(&Rectangle::new(
                        [(x, y - 7), (x + 18, y + 7)],
                        c.mix(a).filled(),
                    ))?;
                    legend_area.draw(&Rectangle::new(
                        [(x, y - 7), (x + 18, y + 7)],
                        c.mix(0.9).stroke_width(1),
                    ))?;
                }
                Glyph::Line(c, width) => legend_area.draw(&PathElement::new(
                    vec![(x, y), (x + 18, y)],
                    c.stroke_width(width),
                ))?,
                Glyph::Dashed(c) => {
                    legend_area.draw(&PathElement::new(
                        vec![(x, y), (x + 7, y)],
                        c.stroke_width(2),
                    ))?;
                    legend_area.draw(&PathElement::new(
                        vec![(x + 11, y), (x + 18, y)],
                        c.stroke_width(2),
                    ))?;
                }
                Glyph::Outline(c) => legend_area.draw(&Rectangle::new(
                    [(x + 1, y - 6), (x + 17, y + 6)],
                    c.stroke_width(3),
                ))?,
                Glyph::Dot(c) => legend_area.draw(&Circle::new((x + 9, y), 6, c.filled()))?,
            }
            legend_area.draw(&Text::new(label.clone(), (x + 26, y), style.clone()))?;
        }
    }
    Ok(chart_area)
}

/// A vertical line across the plotting area at day `x`, with an optional label at the top.
pub(crate) fn vertical_marker(
    chart: &mut DateChart<'_, '_>,
    x: i32,
    color: RGBColor,
    label: Option<String>,
) -> Result<(), ChartError> {
    let y = chart.y_range();
    chart.draw_series(DashedLineSeries::new(
        vec![(x, y.start), (x, y.end)],
        6,
        4,
        color.stroke_width(2),
    ))?;
    if let Some(text) = label {
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, y.end))
                + Text::new(
                    text,
                    (6, 6),
                    (FONT, TICK_SIZE)
                        .into_font()
                        .color(&color)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                ),
        ))?;
    }
    Ok(())
}
