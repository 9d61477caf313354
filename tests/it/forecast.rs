//! Forecasting through the public API: robustness cases the issue names (gaps and leading NaN,
//! constant, all-zero, very short, very large magnitudes), events end to end, and properties
//! (quantiles monotone and non-negative; same seed, same paths).

use capplan::forecast::{self, DemandForecast, ForecastSettings, events::EventSet, forecast_usage};
use capplan::series::{self, SeriesKey, UsageSeries};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn usage(key: &[(&str, &str)], values: Vec<f64>) -> UsageSeries {
    UsageSeries {
        key: SeriesKey(
            key.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        unit: "Hours".into(),
        granularity: series::Granularity::Hour,
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        values,
        cost: None,
        gaps_filled: 0,
    }
}

fn seasonal(n: usize, level: f64, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|t| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let tf = t as f64;
            level
                * (1.0
                    + 0.3 * (2.0 * std::f64::consts::PI * tf / 24.0).sin()
                    + 0.1 * (2.0 * std::f64::consts::PI * tf / 168.0).cos()
                    + 0.1 * u)
        })
        .collect()
}

fn check_quantiles(f: &DemandForecast) {
    let a = &f.forecast;
    assert_eq!(a.levels, vec![0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]);
    for k in 0..a.horizon() {
        let mut prev = 0.0;
        for q in &a.quantiles {
            assert!(q[k].is_finite() && q[k] >= 0.0, "step {k}: {}", q[k]);
            assert!(q[k] >= prev - 1e-9, "crossing at step {k}");
            prev = q[k];
        }
        assert!(a.point[k] >= 0.0);
    }
}

#[test]
fn gaps_and_leading_nan_are_filled_and_counted() {
    let mut y = seasonal(24 * 30, 100.0, 1);
    for v in y.iter_mut().take(5) {
        *v = f64::NAN;
    }
    y[300] = f64::NAN;
    y[301] = f64::INFINITY;
    let f = forecast_usage(&usage(&[("s", "a")], y), &ForecastSettings::new(48)).unwrap();
    assert_eq!(f.gaps_filled, 7);
    assert!(
        f.notes.iter().any(|n| n.contains("7 non-finite")),
        "{:?}",
        f.notes
    );
    check_quantiles(&f);
}

#[test]
fn constant_and_all_zero_series_forecast_flat() {
    for level in [0.0, 42.0] {
        let f = forecast_usage(
            &usage(&[("s", "c")], vec![level; 24 * 20]),
            &ForecastSettings::new(24),
        )
        .unwrap();
        check_quantiles(&f);
        assert!(f.forecast.point.iter().all(|&p| (p - level).abs() < 1e-9));
        assert!(f.anomalies.is_empty());
    }
}

#[test]
fn very_short_series_falls_back_with_a_reason() {
    let f = forecast_usage(
        &usage(&[("s", "short")], seasonal(30, 10.0, 2)),
        &ForecastSettings::new(24),
    )
    .unwrap();
    check_quantiles(&f);
    assert_eq!(f.calibrated_steps, 0);
    assert!(f.coverage.is_none());
    assert!(f.reason.contains("too short"), "{}", f.reason);
    assert_eq!(f.dropped_periods, vec![24, 168]);
}

#[test]
fn very_large_magnitudes_survive_f32_mstl() {
    let small = forecast_usage(
        &usage(&[("s", "x")], seasonal(24 * 40, 1.0, 3)),
        &ForecastSettings::new(48),
    )
    .unwrap();
    let big = forecast_usage(
        &usage(
            &[("s", "x")],
            seasonal(24 * 40, 1.0, 3).iter().map(|v| v * 1e12).collect(),
        ),
        &ForecastSettings::new(48),
    )
    .unwrap();
    check_quantiles(&big);
    assert_eq!(small.model, big.model);
    for (a, b) in small.forecast.point.iter().zip(&big.forecast.point) {
        assert!(
            (a * 1e12 - b).abs() <= 1e-3 * b.abs().max(1e12),
            "{a} vs {b}"
        );
    }
}

#[test]
fn long_horizons_are_extrapolated_and_say_so() {
    let f = forecast_usage(
        &usage(&[("s", "a")], seasonal(24 * 60, 50.0, 4)),
        &ForecastSettings::new(24 * 120),
    )
    .unwrap();
    check_quantiles(&f);
    assert_eq!(f.calibrated_steps, 24 * 30);
    let p10 = f.forecast.quantile(0.1).unwrap();
    let p90 = f.forecast.quantile(0.9).unwrap();
    let width = |k: usize| p90[k] - p10[k];
    assert!(width(24 * 120 - 1) > width(24 * 30 - 1));
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("calibrated for the first 720"))
    );
}

#[test]
fn anomalies_are_flagged_and_cleaned() {
    let mut y = seasonal(24 * 28, 100.0, 5);
    for v in &mut y[400..404] {
        *v += 400.0;
    }
    let mut s = ForecastSettings::new(24);
    let f = forecast_usage(&usage(&[("s", "a")], y.clone()), &s).unwrap();
    assert_eq!(f.anomalies.len(), 1, "{:?}", f.anomalies);
    let a = f
        .anomalies
        .iter()
        .find(|a| a.direction == "spike")
        .unwrap_or_else(|| panic!("the spike is flagged: {:?}", f.anomalies));
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert!(
        a.start >= t0 + chrono::Duration::hours(398) && a.end <= t0 + chrono::Duration::hours(405),
        "{:?}",
        f.anomalies
    );
    assert!(!f.anomalies_cleaned);
    s.clean_anomalies = true;
    let c = forecast_usage(&usage(&[("s", "a")], y), &s).unwrap();
    assert!(c.anomalies_cleaned);
}

#[test]
fn level_shift_is_found_and_model_trains_on_the_current_regime() {
    let mut y = seasonal(24 * 84, 100.0, 6);
    for v in &mut y[24 * 42..] {
        *v *= 1.6;
    }
    let f = forecast_usage(&usage(&[("s", "a")], y), &ForecastSettings::new(24)).unwrap();
    assert_eq!(f.level_shifts.len(), 1, "{:?}", f.level_shifts);
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let shift = f.level_shifts[0].at;
    assert!(
        (shift - (t0 + chrono::Duration::days(42))).num_days().abs() <= 1,
        "{shift}"
    );
    assert_eq!(f.trained_from, shift);
}

#[test]
fn events_and_saturation_end_to_end() {
    let events = EventSet::from_toml_str(
        r#"
[[event]]
name = "EU launch"
kind = "launch"
match = { region = "eu" }
start = "2026-02-01"
effect = { multiply = 2.0 }

[[event]]
name = "move"
kind = "migration"
from = { family = "m6i" }
to = { family = "c6i" }
share = 0.5
start = "2026-02-01"
"#,
        "events.toml",
    )
    .unwrap();
    let settings = ForecastSettings::new(48);
    let keys = [
        [("region", "eu"), ("family", "m6i")],
        [("region", "eu"), ("family", "c6i")],
        [("region", "us"), ("family", "m6i")],
        [("region", "us"), ("family", "c6i")],
    ];
    let mut fs: Vec<DemandForecast> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            forecast_usage(&usage(k, seasonal(24 * 31, 10.0, 10 + i as u64)), &settings).unwrap()
        })
        .collect();
    let before: Vec<Vec<f64>> = fs.iter().map(|f| f.forecast.point.clone()).collect();
    let warnings = forecast::apply_events(&events, &mut fs).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // History ends 2026-02-01 00:00: the first step is already inside both events.
    let k = 0;
    assert!((fs[0].forecast.point[k] - 2.0 * before[0][k] * 0.5).abs() < 1e-9);
    assert!(
        (fs[1].forecast.point[k] - (2.0 * before[1][k] + 2.0 * before[0][k] * 0.5)).abs() < 1e-9
    );
    assert!((fs[2].forecast.point[k] - before[2][k] * 0.5).abs() < 1e-9);
    assert_eq!(fs[0].events, vec!["EU launch", "move"]);
    for f in &fs {
        check_quantiles(f);
    }
    // Paths follow the adjusted quantiles.
    let p = fs[1].sample_paths(2000, 7).unwrap();
    let q50 = fs[1].forecast.quantile(0.5).unwrap()[k];
    let m = p.step_quantile(k, 0.5);
    assert!((m - q50).abs() < 0.05 * q50, "{m} vs {q50}");
    // Saturation.
    let mut f = fs[1].clone();
    f.set_limit(1e-3).unwrap();
    assert_eq!(f.saturation.unwrap().p50_first, Some(f.forecast.start));
    assert!(f.set_limit(-1.0).is_err());
}

#[test]
fn monthly_series_are_refused_with_advice() {
    let mut s = usage(&[("s", "m")], vec![1.0; 36]);
    s.granularity = series::Granularity::Month;
    let err = forecast_usage(&s, &ForecastSettings::new(3)).unwrap_err();
    assert!(err.to_string().contains("--granularity day"), "{err}");
}

#[test]
fn daily_series_use_weekly_period() {
    let mut s = usage(
        &[("s", "d")],
        (0..200).map(|t| 10.0 + (t % 7) as f64).collect(),
    );
    s.granularity = series::Granularity::Day;
    let f = forecast_usage(&s, &ForecastSettings::new(14)).unwrap();
    assert_eq!(f.granularity, series::Granularity::Day);
    assert_eq!(f.periods, vec![7]);
    assert_eq!(f.forecast.step_seconds, 86_400);
    check_quantiles(&f);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn quantiles_monotone_non_negative_and_paths_deterministic(
        n in 60usize..500,
        level in prop_oneof![Just(0.0), 0.001f64..10.0, 10.0f64..1e9],
        seed in any::<u64>(),
        zeros in 0usize..40,
        nan_at in prop::option::of(0usize..60),
        horizon in 1usize..60,
    ) {
        let mut y = seasonal(n, level, seed);
        for v in y.iter_mut().take(zeros) {
            *v = 0.0;
        }
        if let Some(i) = nan_at {
            y[i] = f64::NAN;
        }
        let f = forecast_usage(&usage(&[("s", "p")], y), &ForecastSettings::new(horizon)).unwrap();
        check_quantiles(&f);
        let a = f.sample_paths(50, seed).unwrap();
        let b = f.sample_paths(50, seed).unwrap();
        prop_assert_eq!(&a, &b);
        for i in 0..a.n_paths() {
            prop_assert!(a.path(i).iter().all(|v| v.is_finite() && *v >= 0.0));
        }
    }
}
