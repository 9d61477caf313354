//! Deterministic demo inputs (no randomness) for samples and tests.

use chrono::{Datelike, Duration, NaiveDate};

use super::*;

/// Untrusted-looking text used by the hostile-input tests.
pub(super) const HOSTILE: &str = "<script>alert(\"x\")</script> & 'q' \u{1}";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid demo date")
}

fn name(hostile: bool, s: &str) -> String {
    if hostile {
        format!("{s} {HOSTILE}")
    } else {
        s.to_string()
    }
}

fn usd() -> Currency {
    Currency::new("$", "USD")
}

/// Smooth weekly-seasonal, growing daily series.
fn base(t: i64) -> f64 {
    let weekly = match (t % 7) as i32 {
        5 | 6 => -18.0,
        _ => 4.0,
    };
    220.0 + 0.35 * t as f64 + weekly + 10.0 * ((t as f64) / 9.0).sin()
}

pub(super) fn forecast_input(hostile: bool) -> ForecastInput {
    let start = d(2025, 7, 1);
    let asof = d(2026, 3, 31);
    let hist_days = (asof - start).num_days();
    let history = (0..=hist_days)
        .map(|t| DatedValue::new(start + Duration::days(t), base(t)))
        .collect();
    let forecast = (1..=120)
        .map(|h| {
            let t = hist_days + h;
            let p50 = base(t);
            let w = 6.0 + 0.35 * h as f64;
            QuantilePoint {
                date: asof + Duration::days(h),
                p05: Some(p50 - 1.6 * w),
                p10: p50 - w,
                p50,
                p90: p50 + w,
                p95: Some(p50 + 1.6 * w),
            }
        })
        .collect();
    ForecastInput {
        title: name(hostile, "Daily spend: EC2 m5 (eu-west-1)"),
        series_name: name(hostile, "EC2 m5 eu-west-1"),
        y_label: "Daily spend".into(),
        unit: YUnit::Money(usd()),
        history,
        forecast,
        forecast_start: asof + Duration::days(1),
    }
}

pub(super) fn waterline_input(hostile: bool) -> WaterlineInput {
    let start = d(2026, 4, 1);
    let demand = (0..365)
        .map(|t| {
            let p50 = 120.0 + 0.08 * t as f64 + if t % 7 >= 5 { -15.0 } else { 5.0 };
            let w = 8.0 + 0.06 * t as f64;
            QuantilePoint {
                date: start + Duration::days(t),
                p05: Some(p50 - 1.6 * w),
                p10: p50 - w,
                p50,
                p90: p50 + w,
                p95: Some(p50 + 1.6 * w),
            }
        })
        .collect();
    WaterlineInput {
        title: name(hostile, "Waterline: m5 family, normalised units"),
        y_label: "Hourly usage".into(),
        unit: YUnit::Quantity("normalised units".into()),
        demand,
        layers: vec![
            CommitmentLayer {
                name: name(hostile, "Existing commitments"),
                steps: layer_steps(&[
                    (d(2024, 1, 1), d(2026, 9, 1), 40.0),
                    (d(2025, 5, 1), d(2028, 5, 1), 30.0),
                ]),
            },
            CommitmentLayer {
                name: "Recommended 3y".into(),
                steps: layer_steps(&[(d(2026, 4, 1), d(2029, 4, 1), 25.0)]),
            },
            CommitmentLayer {
                name: "Recommended 1y".into(),
                steps: layer_steps(&[
                    (d(2026, 4, 1), d(2027, 4, 1), 10.0),
                    (d(2026, 9, 1), d(2027, 9, 1), 35.0),
                ]),
            },
        ],
    }
}

pub(super) fn scenario_input(hostile: bool) -> ScenarioCostInput {
    ScenarioCostInput {
        title: name(
            hostile,
            "Total cost by demand scenario and strategy (3-year horizon)",
        ),
        currency: usd(),
        strategies: vec![
            "On-demand only".into(),
            name(hostile, "capplan recommendation"),
            "Fixed 80% coverage".into(),
            "Lookback rule".into(),
        ],
        scenarios: vec![
            ScenarioCosts {
                scenario: "Downside (p10)".into(),
                total_cost: vec![1_850_000.0, 1_420_000.0, 1_530_000.0, 1_480_000.0],
            },
            ScenarioCosts {
                scenario: name(hostile, "Base (p50)"),
                total_cost: vec![2_300_000.0, 1_690_000.0, 1_760_000.0, 1_740_000.0],
            },
            ScenarioCosts {
                scenario: "Upside (p90)".into(),
                total_cost: vec![2_900_000.0, 2_150_000.0, 2_120_000.0, 2_230_000.0],
            },
        ],
    }
}

pub(super) fn savings_input(hostile: bool) -> CumulativeSavingsInput {
    let start = d(2026, 4, 1);
    let points: Vec<DatedValue> = (0..36)
        .map(|m| {
            let date = start
                .checked_add_months(chrono::Months::new(m))
                .expect("valid month");
            // upfront of $180k, then ~$14.5k/month savings
            DatedValue::new(
                date,
                -180_000.0 + 14_500.0 * (m as f64 + 1.0) - 40.0 * (m * m) as f64,
            )
        })
        .collect();
    let break_even = find_break_even(&points);
    CumulativeSavingsInput {
        title: name(hostile, "Cumulative savings vs on-demand"),
        currency: usd(),
        series_name: name(hostile, "capplan recommendation (base)"),
        points,
        break_even,
    }
}

pub(super) fn quarterly_input(hostile: bool) -> QuarterlySpendInput {
    let q = |label: &str, c: f64, o: f64, b: Option<f64>| QuarterSpend {
        label: label.into(),
        committed: c,
        on_demand: o,
        budget: b,
    };
    QuarterlySpendInput {
        title: name(hostile, "Quarterly spend vs budget (forecast p50)"),
        currency: usd(),
        quarters: vec![
            q("FY2027 Q1", 310_000.0, 140_000.0, Some(480_000.0)),
            q(
                &name(hostile, "FY2027 Q2"),
                330_000.0,
                165_000.0,
                Some(480_000.0),
            ),
            q("FY2027 Q3", 335_000.0, 150_000.0, Some(500_000.0)),
            q("FY2027 Q4", 340_000.0, 190_000.0, Some(500_000.0)),
            q("FY2028 Q1", 350_000.0, 150_000.0, None),
        ],
    }
}

pub(super) fn coverage_input(hostile: bool) -> CoverageInput {
    let start = d(2026, 4, 1);
    let points = (0..365)
        .map(|t| {
            let date = start + Duration::days(t);
            let step = if date.month() >= 9 || date.year() > 2026 {
                8.0
            } else {
                0.0
            };
            CoveragePoint {
                date,
                coverage_pct: 68.0 + step - 0.02 * t as f64 + if t % 7 >= 5 { 6.0 } else { 0.0 },
                utilisation_pct: 99.0 - if t % 7 >= 5 { 4.0 } else { 0.5 } - 0.004 * t as f64,
            }
        })
        .collect();
    CoverageInput {
        title: name(hostile, "Commitment coverage and utilisation"),
        points,
        target_coverage_pct: Some(80.0),
    }
}

/// Render all six demo charts: `(file stem, svg)`.
pub(super) fn all_charts(
    hostile: bool,
    canvas: Canvas,
) -> Result<Vec<(&'static str, String)>, ChartError> {
    Ok(vec![
        (
            "forecast",
            forecast_chart(&forecast_input(hostile), canvas)?,
        ),
        (
            "waterline",
            waterline_chart(&waterline_input(hostile), canvas)?,
        ),
        (
            "scenario_cost",
            scenario_cost_chart(&scenario_input(hostile), canvas)?,
        ),
        (
            "cumulative_savings",
            cumulative_savings_chart(&savings_input(hostile), canvas)?,
        ),
        (
            "quarterly_spend",
            quarterly_spend_chart(&quarterly_input(hostile), canvas)?,
        ),
        (
            "coverage_utilisation",
            coverage_utilisation_chart(&coverage_input(hostile), canvas)?,
        ),
    ])
}
