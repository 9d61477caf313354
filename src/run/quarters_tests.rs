use super::*;
use crate::plan::{OfferChoice, Spread};

fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

fn m(s: &str) -> Money {
    Money::new(s.parse().unwrap(), usd())
}

fn day(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

#[test]
fn quarter_range_starts_at_as_of_and_is_clipped_to_the_horizon() {
    // as_of 2027-02-15, a 30-day horizon: the quarter Jan–Mar starts at as_of, its hours
    // end with the horizon.
    let r = QuarterRange::new(day(2027, 1, 1), day(2027, 4, 1), day(2027, 2, 15), 720);
    assert_eq!(
        r,
        QuarterRange {
            first_day: day(2027, 2, 15),
            end_day: day(2027, 4, 1),
            first_hour: 0,
            end_hour: 720,
            truncated: true,
        }
    );
    // Inside a one-year horizon: (14 + 31) days to April 1st, then 91 days of Q2.
    let r = QuarterRange::new(day(2027, 4, 1), day(2027, 7, 1), day(2027, 2, 15), 8760);
    assert_eq!((r.first_hour, r.end_hour), (45 * 24, (45 + 91) * 24));
    assert!(!r.truncated);
    // A quarter past the horizon has no hours.
    let r = QuarterRange::new(day(2027, 7, 1), day(2027, 10, 1), day(2027, 2, 15), 720);
    assert_eq!((r.first_hour, r.end_hour, r.truncated), (720, 720, true));
}

#[test]
fn months_are_730_hours_the_last_clipped() {
    assert_eq!(month_grid(1500), vec![(0, 730), (730, 1460), (1460, 1500)]);
    assert_eq!(month_grid(1460), vec![(0, 730), (730, 1460)]);
    assert!(month_grid(0).is_empty());
}

#[test]
fn quantiles_are_lower_empirical() {
    let v = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&v, 0.1), 1.0);
    assert_eq!(quantile(&v, 0.5), 2.0);
    assert_eq!(quantile(&v, 0.75), 3.0);
    assert_eq!(quantile(&v, 0.9), 4.0);
    assert_eq!(quantile(&[], 0.5), 0.0);
    let ms = [m("1.00"), m("2.00"), m("3.00")];
    assert_eq!(at_money(&ms, 0.5, usd()), m("2.00"));
    assert_eq!(at_money(&[], 0.5, usd()), Money::zero(usd()));
}

#[test]
fn spend_quantiles_add_the_fixed_fees_to_every_path() {
    let (p10, p50, p90) = spend_quantiles(&[10.0, 30.0, 20.0, 40.0], m("5.00"), usd()).unwrap();
    assert_eq!((p10, p50, p90), (m("15.00"), m("25.00"), m("45.00")));
    // Money is rounded half-even to cents; negative totals count as zero.
    let (p10, p50, p90) = spend_quantiles(&[0.125, -9.0], m("0"), usd()).unwrap();
    assert_eq!((p10, p50, p90), (m("0"), m("0"), m("0.12")));
}

fn period(hours_by_path: Vec<f64>) -> PeriodOutcome {
    PeriodOutcome {
        start_hour: 0,
        end_hour: 100,
        demand_mean: 50.0,
        demand: Spread {
            p10: 40.0,
            p50: 50.0,
            p90: 60.0,
        },
        existing_used: 20.0,
        new_used: 10.0,
        on_demand_expected: m("30.00"),
        on_demand: Spread {
            p10: m("20.00"),
            p50: m("30.00"),
            p90: m("40.00"),
        },
        on_demand_without_new: m("45.00"),
        new_amortised: m("7.50"),
        new_cash: m("12.00"),
        new_upfront: m("4.00"),
        units_bought: 1.0,
        units_expiring: 0.0,
        expected_savings: m("7.50"),
        on_demand_hours_by_path: hours_by_path,
    }
}

#[test]
fn on_demand_paths_add_up_path_by_path() {
    let mut totals = vec![1.0, 2.0, 3.0];
    add_on_demand_paths(
        &mut totals,
        &period(vec![10.0, 20.0, 30.0]),
        "0.5".parse().unwrap(),
    );
    assert_eq!(totals, vec![6.0, 12.0, 18.0]);
    // A single-path outcome adds its one path to every total.
    let mut totals = vec![1.0, 2.0];
    add_on_demand_paths(&mut totals, &period(vec![4.0]), "2".parse().unwrap());
    assert_eq!(totals, vec![9.0, 10.0]);
}

#[test]
fn quarter_money_sums_fees_on_demand_and_cash_over_pools() {
    let mut q = QuarterMoney::zero(usd());
    q.add(&period(vec![]), m("100.00")).unwrap();
    q.add(&period(vec![]), m("0.25")).unwrap();
    assert_eq!(
        q,
        QuarterMoney {
            // existing + new amortised: 100 + 7.50 + 0.25 + 7.50
            committed: m("115.25"),
            on_demand: m("60.00"),
            upfront: m("8.00"),
            // new cash − upfront (8 each) + existing fees
            recurring: m("116.25"),
            savings: m("15.00"),
        }
    );
}

#[test]
fn purchases_in_a_quarter_start_inside_it() {
    let offer = OfferChoice {
        id: "m6i-1y".into(),
        term_hours: 8760,
        effective_hourly: "0.1".parse().unwrap(),
        upfront_per_unit: Decimal::ZERO,
        recurring_hourly: "0.1".parse().unwrap(),
    };
    let buy = |start_hour: usize, quantity: f64| ScheduledPurchase {
        offer: offer.clone(),
        start_hour,
        quantity,
    };
    let list = [buy(0, 3.0), buy(100, 2.5), buy(200, 4.0), buy(150, 0.0)];
    assert_eq!(
        purchases_in(&list, 0, 200),
        vec!["3 × m6i-1y".to_string(), "2.50 × m6i-1y".to_string()]
    );
    assert_eq!(
        purchases_in(&list, 200, 300),
        vec!["4 × m6i-1y".to_string()]
    );
}

#[test]
fn a_groups_part_of_a_pool_is_its_share_of_the_pools_spend() {
    assert_eq!(
        pool_part(m("100.00"), 0.25, usd()).unwrap(),
        Some(m("25.00"))
    );
    assert_eq!(
        pool_part(m("10.00"), 1.0 / 3.0, usd()).unwrap(),
        Some(m("3.33"))
    );
    assert_eq!(pool_part(m("100.00"), 0.0, usd()).unwrap(), None);
}

#[test]
fn series_shares_split_the_pools_median_demand_per_quarter() {
    use crate::forecast::forecast_usage;
    use crate::series::Granularity;
    let series = |region: &str, level: f64| UsageSeries {
        key: SeriesKey(vec![("region".into(), region.into())]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start: midnight(day(2026, 1, 1)),
        values: (0..24 * 42)
            .map(|t| level * (1.0 + 0.2 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin()))
            .collect(),
        cost: None,
        gaps_filled: 0,
    };
    let settings = ForecastSettings::new(48);
    let a = forecast_usage(&series("a", 4.0), &settings).unwrap();
    let b = forecast_usage(&series("b", 12.0), &settings).unwrap();
    let q = [(0, 24), (24, 48), (48, 48)];
    let shares = series_shares(&[&a, &b], &q);
    assert_eq!(shares.len(), 2);
    assert_eq!(shares[0].0, a.key);
    let p50 = |f: &DemandForecast, (x, y): (usize, usize)| -> f64 {
        f.forecast.quantile(0.5).unwrap()[x..y].iter().sum()
    };
    for (qi, &r) in q.iter().take(2).enumerate() {
        let want = p50(&a, r) / (p50(&a, r) + p50(&b, r));
        assert!((shares[0].1[qi] - want).abs() < 1e-12);
        assert!((shares[0].1[qi] + shares[1].1[qi] - 1.0).abs() < 1e-12);
        // About a quarter: the levels are 4 and 12.
        assert!((shares[0].1[qi] - 0.25).abs() < 0.05, "{}", shares[0].1[qi]);
    }
    // No demand in the quarter: equal shares.
    assert_eq!((shares[0].1[2], shares[1].1[2]), (0.5, 0.5));
}
