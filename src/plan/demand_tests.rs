use chrono::{TimeZone, Utc};

use super::*;
use crate::forecast::{ForecastSettings, forecast_usage};
use crate::pricing::RateCard;
use crate::series::{Granularity, SeriesKey, UsageSeries};

const HOURS: usize = 48;

/// One pool over `service = "ec2"`, two series units per pool unit.
fn card() -> RateCard {
    RateCard::from_toml_str(
        r#"
[[pool]]
id = "ec2"
match = { service = "ec2" }
unit = "instance-hours"
usage_per_unit = 2
on_demand_rate = "1"
currency = "USD"

[[pool.offer]]
id = "ec2-1y"
kind = "ri_standard"
term = "1y"
payment = "no_upfront"
recurring_hourly = "0.6"
"#,
        "card.toml",
    )
    .unwrap()
}

/// An hourly series with a daily cycle around `level`.
fn series(service: &str, region: &str, level: f64) -> UsageSeries {
    UsageSeries {
        key: SeriesKey(vec![
            ("region".into(), region.into()),
            ("service".into(), service.into()),
        ]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        values: (0..24 * 42)
            .map(|t| level * (1.0 + 0.2 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin()))
            .collect(),
        cost: None,
        gaps_filled: 0,
    }
}

/// Forecasts of two `ec2` series and one `s3` series the pool does not cover.
fn forecasts() -> Vec<DemandForecast> {
    let settings = ForecastSettings::new(HOURS);
    [
        series("ec2", "us-east-1", 4.0),
        series("ec2", "eu-west-1", 6.0),
        series("s3", "us-east-1", 100.0),
    ]
    .iter()
    .map(|s| forecast_usage(s, &settings).unwrap())
    .collect()
}

fn base_of<'a>(demand: &'a Demand, forecasts: &'a [DemandForecast]) -> BaseDemand<'a> {
    BaseDemand {
        demand,
        forecasts,
        paths: 3,
        seed: 7,
        horizon_hours: HOURS,
    }
}

#[test]
fn forecast_source_is_the_base_demand() {
    let card = card();
    let pool = &card.pools()[0];
    let base = Demand {
        hours: 2,
        paths: vec![vec![1.0, 2.0], vec![3.0, 4.0]],
    };
    let d = scenario_demand(pool, DemandSource::Forecast, None, &base_of(&base, &[])).unwrap();
    assert_eq!(d, base);
}

#[test]
fn multiplier_scales_every_path_and_hour() {
    let card = card();
    let pool = &card.pools()[0];
    let base = Demand {
        hours: 2,
        paths: vec![vec![1.0, 2.0], vec![3.0, 4.0]],
    };
    let d = scenario_demand(
        pool,
        DemandSource::Multiplier(1.5),
        None,
        &base_of(&base, &[]),
    )
    .unwrap();
    assert_eq!(d.hours, 2);
    assert_eq!(d.paths, vec![vec![1.5, 3.0], vec![4.5, 6.0]]);
}

#[test]
fn quantile_is_one_path_of_the_pools_series_in_pool_units() {
    let card = card();
    let pool = &card.pools()[0];
    let f = forecasts();
    let base = Demand::single(vec![0.0; HOURS]);
    let d = scenario_demand(pool, DemandSource::Quantile(0.9), None, &base_of(&base, &f)).unwrap();
    assert_eq!(d.paths.len(), 1);
    assert_eq!(d.hours, HOURS);
    let (a, b) = (
        f[0].forecast.quantile(0.9).unwrap(),
        f[1].forecast.quantile(0.9).unwrap(),
    );
    for t in 0..HOURS {
        // The s3 series is not the pool's; 2 series units make one pool unit.
        let want = a[t].max(0.0) / 2.0 + b[t].max(0.0) / 2.0;
        assert!((d.paths[0][t] - want).abs() < 1e-9, "hour {t}");
    }
    assert!(d.paths[0].iter().all(|v| *v > 2.0 && *v < 10.0));
}

#[test]
fn extra_events_change_the_demand_a_scenario_starts_from() {
    let card = card();
    let pool = &card.pools()[0];
    let f = forecasts();
    let set = EventSet::from_toml_str(
        r#"
[[event]]
name = "double ec2"
kind = "launch"
match = { service = "ec2" }
start = "2025-01-01"
effect = { multiply = 2.0 }
"#,
        "extra.toml",
    )
    .unwrap();
    let (with, warnings) = with_events(&f, &[set]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let base_q = quantile_trajectory(pool, &f, 0.5, HOURS);
    let base = Demand::single(base_q.clone());
    let b = base_of(&base, &f);
    // Quantile of the forecasts with the extra events: every ec2 series doubled.
    let d = scenario_demand(pool, DemandSource::Quantile(0.5), Some(&with), &b).unwrap();
    for (t, (x, y)) in d.paths[0].iter().zip(&base_q).enumerate() {
        assert!((x - 2.0 * y).abs() < 1e-9, "hour {t}");
    }
    // The distribution with the extra events: paths drawn from them (same paths, seed).
    let d = scenario_demand(pool, DemandSource::Forecast, Some(&with), &b).unwrap();
    let (drawn, _) = pool_demand(pool, &with, 3, 7).unwrap().unwrap();
    assert_eq!(d, drawn);
    let (plain, _) = pool_demand(pool, &f, 3, 7).unwrap().unwrap();
    assert!(d.paths[0].iter().sum::<f64>() > 1.5 * plain.paths[0].iter().sum::<f64>());
    // A multiplier applies on top of the events.
    let m = scenario_demand(pool, DemandSource::Multiplier(0.5), Some(&with), &b).unwrap();
    for (p, q) in m.paths.iter().zip(&drawn.paths) {
        for (x, y) in p.iter().zip(q) {
            assert_eq!(*x, 0.5 * y);
        }
    }
}

#[test]
fn extra_events_matching_no_pool_series_fall_back_to_the_base_demand() {
    let card = card();
    let pool = &card.pools()[0];
    let f: Vec<DemandForecast> = forecasts().into_iter().skip(2).collect();
    let base = Demand::single(vec![1.0; HOURS]);
    let d = scenario_demand(pool, DemandSource::Forecast, Some(&f), &base_of(&base, &f)).unwrap();
    assert_eq!(d, base);
}
