use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::forecast::LevelModel;
use crate::money::Currency;
use crate::plan::{Demand, OfferChoice};

fn offer(id: &str, term: usize, rate: &str) -> OfferChoice {
    OfferChoice {
        id: id.into(),
        term_hours: term,
        effective_hourly: rate.parse().unwrap(),
        upfront_per_unit: Decimal::ZERO,
        recurring_hourly: rate.parse().unwrap(),
    }
}

fn pricing() -> Pricing {
    Pricing {
        currency: Currency::USD,
        on_demand_hourly: Decimal::ONE,
        offers: vec![offer("1y", 8760, "0.6"), offer("3y", 3 * 8760, "0.4")],
    }
}

fn evidence(downside: f64, ratio: f64) -> LevelEvidence {
    LevelEvidence {
        model: LevelModel::Flat,
        weeks: 20,
        level: 10.0,
        dip: None,
        weekly_slope: 0.0,
        origins: 10,
        horizon_weeks: 10,
        bias_correction: 0.0,
        downside_error: downside,
        upside_error: 0.0,
        sigma_week: 0.01,
        projected_ratio: ratio,
        term_average: [9.0, 10.0, 11.0],
        scores: vec![],
    }
}

#[test]
fn the_held_level_ignores_short_spikes() {
    // 28 days at 10 with a 2-day spike to 100 in the last week.
    let mut h = vec![10.0; 28 * 24];
    for v in h.iter_mut().rev().take(48) {
        *v = 100.0;
    }
    // Break-even share 40 %: a level reached in 2 of 14 days is not held.
    assert_eq!(held_level(&h, 14, 0.4), 10.0);
    // A level reached in most hours of the last two weeks is.
    for v in h.iter_mut().rev().take(10 * 24) {
        *v = 30.0;
    }
    assert_eq!(held_level(&h, 14, 0.4), 30.0);
}

#[test]
fn the_floor_is_the_lowest_recent_week() {
    let mut h = vec![20.0; 28 * 24];
    for v in h.iter_mut().skip(7 * 24).take(7 * 24) {
        *v = 12.0;
    }
    assert_eq!(floor_level(&h, 28, 0.5), 12.0);
    // Shorter histories use what there is.
    assert_eq!(floor_level(&[5.0; 30], 28, 0.5), 5.0);
    assert_eq!(floor_level(&[], 28, 0.5), 0.0);
}

#[test]
fn trust_halves_at_the_trust_error() {
    let s = SizingSettings::default();
    assert!((trust(Some(&evidence(0.0, 1.0)), &s) - 1.0).abs() < 1e-12);
    assert!((trust(Some(&evidence(0.25, 1.0)), &s) - 0.5).abs() < 1e-12);
    assert!(trust(Some(&evidence(1.0, 1.0)), &s) < 0.1);
}

#[test]
fn the_break_even_share_is_the_deepest_discount() {
    assert!((break_even(&pricing()) - 0.4).abs() < 1e-12);
}

#[test]
fn events_scale_paths_and_bounds() {
    let e = EventEffect::from_factors(vec![1.0, 2.0, 0.5]);
    assert_eq!((e.rise(), e.fall()), (2.0, 0.5));
    let mut p = vec![vec![10.0; 5]];
    e.apply(&mut p);
    assert_eq!(p[0], vec![10.0, 20.0, 5.0, 5.0, 5.0]);
    assert!(EventEffect::none().is_none());
    assert_eq!(EventEffect::from_factors(vec![f64::NAN]).at(0), 1.0);
}

fn problem(level: f64, hours: usize) -> PoolProblem {
    let d = Demand::single(vec![level; hours]);
    PoolProblem::new(&d, &vec![0.0; hours], &pricing()).unwrap()
}

#[test]
fn a_decline_lowers_the_floor_and_a_poor_forecast_shrinks_toward_it() {
    let hist = vec![10.0; 28 * 24];
    let pb = problem(30.0, 8760);
    let optimal = pb.optimal_levels(Risk::Balanced).unwrap();
    let s = SizingSettings::default();
    // The optimum (30) is capped at the held level (10).
    let b = Bounds::new(
        &hist,
        0.4,
        Some(&evidence(0.0, 1.0)),
        &EventEffect::none(),
        &PeerSignal::default(),
        &s,
    );
    let l = b.apply(&pb, &[0.0; 8760], &optimal, true);
    assert_eq!(first_year_units(&pb, &l), 10.0);
    // A projected halving halves the floor; a downside error of 25 % keeps half above it.
    let b = Bounds::new(
        &hist,
        0.4,
        Some(&evidence(0.25, 0.5)),
        &EventEffect::none(),
        &PeerSignal::default(),
        &s,
    );
    assert_eq!(b.floor, 5.0);
    let l = b.apply(&pb, &[0.0; 8760], &optimal, false);
    assert!((first_year_units(&pb, &l) - 7.5).abs() < 1e-9);
}

#[test]
fn the_lookback_rule_is_recommended_when_cheaper_on_the_paths() {
    let hist = vec![10.0; 60 * 24];
    let pb = problem(10.0, 8760);
    let pr = pricing();
    // A deliberately poor "optimum": nothing.
    let optimal = Levels {
        three_year: 0.0,
        one_year: vec![0.0],
    };
    let rec = LookbackRecommendation {
        offer_id: "1y".into(),
        level: 10.0,
        window_hours: 720,
        replay_on_demand_cost: Money::zero(Currency::USD),
        replay_cost: Money::zero(Currency::USD),
    };
    let input = SizingInput {
        problem: &pb,
        pricing: &pr,
        risk: Risk::Balanced,
        optimal: &optimal,
        whole_units: true,
        history: SizingHistory {
            demand: &hist,
            existing: &[0.0; 8760],
        },
        evidence: Some(&evidence(0.0, 1.0)),
        basis: "test paths",
        events: &EventEffect::none(),
        peers: &PeerSignal::default(),
        lookback: Some(&rec),
        recent: None,
    };
    let (levels, note) = decide_levels(&input, &SizingSettings::default()).unwrap();
    assert!(note.adopted_lookback);
    assert_eq!(first_year_units(&pb, &levels), 10.0);
    assert!(
        note.rationale.contains("lookback rule"),
        "{}",
        note.rationale
    );
    assert!(note.lookback_gap.unwrap().amount() < Decimal::ZERO);
}

proptest! {
    /// Whatever the paths suggest, new commitments plus existing ones never exceed the level
    /// the history has held for the rule's minimum time (lifted only by announced events).
    #[test]
    fn never_above_the_held_level(
        hist in proptest::collection::vec(0.0f64..50.0, 24..(40 * 24)),
        future in 0.0f64..200.0,
        existing in 0.0f64..20.0,
        downside in 0.0f64..1.0,
        ratio in 0.2f64..3.0,
        whole in any::<bool>(),
    ) {
        let hours = 8760 + 24;
        let pb = {
            let d = Demand::single(vec![future; hours]);
            PoolProblem::new(&d, &vec![existing; hours], &pricing()).unwrap()
        };
        let optimal = pb.optimal_levels(Risk::Balanced).unwrap();
        let s = SizingSettings::default();
        let ev = evidence(downside, ratio);
        let b = Bounds::new(&hist, 0.4, Some(&ev), &EventEffect::none(), &PeerSignal::default(), &s);
        let l = b.apply(&pb, &vec![existing; hours], &optimal, whole);
        let held = held_level(&hist, s.min_hold_days, 0.4);
        for k in 0..pb.blocks() {
            let new = pb.coverage_of_block(&l, k);
            prop_assert!(new >= 0.0);
            prop_assert!(new <= (held - existing).max(0.0) + 1e-9, "block {k}: {new} > {held} - {existing}");
        }
    }

    /// Without a lookback rule to adopt, the recommendation keeps at least the floor's share
    /// of the optimum: never below min(optimum, floor) less existing commitments.
    #[test]
    fn never_below_the_floor_of_the_optimum(
        level in 1.0f64..50.0,
        future in 0.0f64..100.0,
        downside in 0.0f64..1.0,
    ) {
        let hours = 8760;
        let hist = vec![level; 30 * 24];
        let pb = problem(future, hours);
        let optimal = pb.optimal_levels(Risk::Balanced).unwrap();
        let s = SizingSettings::default();
        let b = Bounds::new(&hist, 0.4, Some(&evidence(downside, 1.0)), &EventEffect::none(), &PeerSignal::default(), &s);
        let l = b.apply(&pb, &vec![0.0; hours], &optimal, false);
        let want = first_year_units(&pb, &optimal).min(b.floor);
        prop_assert!(first_year_units(&pb, &l) >= want - 1e-9);
    }
}

const PEER_CARD: &str = r#"
[[pool]]
id = "old-a"
match = { region = "a", type = "old" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"
offer = [ { id = "old-a-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.6" } ]

[[pool]]
id = "old-b"
match = { region = "b", type = "old" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"
offer = [ { id = "old-b-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.6" } ]

[[pool]]
id = "old-c"
match = { region = "c", type = "old" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"
offer = [ { id = "old-c-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.6" } ]

[[pool]]
id = "new-a"
match = { region = "a", type = "new" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"
offer = [ { id = "new-a-1y", kind = "ri_standard", term = "1y", payment = "no_upfront", recurring_hourly = "0.6" } ]
"#;

#[test]
fn a_migration_under_way_elsewhere_is_evidence_for_the_pool() {
    let card = crate::pricing::RateCard::from_toml_str(PEER_CARD, "rates.toml").unwrap();
    let weeks = 30 * 168;
    let steady = vec![10.0; weeks];
    // Region a moved from the old type to the new one ten weeks ago.
    let gone: Vec<f64> = (0..weeks)
        .map(|t| if t < 20 * 168 { 10.0 } else { 0.5 })
        .collect();
    let arrived: Vec<f64> = (0..weeks)
        .map(|t| if t < 20 * 168 { 0.0 } else { 10.0 })
        .collect();
    let signals = peer_signals(
        &card,
        &[gone.clone(), steady.clone(), steady.clone(), arrived],
    );
    // old-b and old-c: one of their two peers of the same type elsewhere fell by 95 %.
    for i in [1, 2] {
        assert_eq!(signals[i].dimension.as_deref(), Some("region"));
        assert_eq!(signals[i].fallen.len(), 1);
        assert_eq!(signals[i].fallen[0].0, "old-a");
        assert!((signals[i].fallen[0].1 - 0.95).abs() < 1e-12);
        assert!((signals[i].share() - 0.475).abs() < 1e-12);
    }
    // The fallen pool itself and the rising new type carry no signal (old-a's only
    // same-region peer rose, and its same-type peers are steady).
    assert!(signals[0].fallen.is_empty());
    assert!(signals[3].fallen.is_empty());
    // The signal scales the floor and the trust by what the peers kept.
    let hist = vec![10.0; 28 * 24];
    let s = SizingSettings::default();
    let ev = evidence(0.0, 1.0);
    let b = Bounds::new(&hist, 0.4, Some(&ev), &EventEffect::none(), &signals[1], &s);
    assert!((b.floor - 5.25).abs() < 1e-9, "{}", b.floor);
    assert!((b.trust - 0.525).abs() < 1e-12);

    // A migration under way: region a's old type is half gone. It counts by its fall.
    let halfway: Vec<f64> = (0..weeks)
        .map(|t| {
            if t < 24 * 168 {
                10.0
            } else {
                10.0 - 5.0 * (t - 24 * 168 + 1) as f64 / (6 * 168) as f64
            }
        })
        .collect();
    let under_way = peer_signals(
        &card,
        &[halfway, steady.clone(), steady.clone(), steady.clone()],
    );
    let f = under_way[1].fallen.first().map(|p| p.1).unwrap_or(0.0);
    assert!(f > 0.3 && f < 0.5, "{under_way:?}");
    assert!((under_way[1].share() - f / 2.0).abs() < 1e-12);
    // The new type in region a, steady since it arrived, is where old-a went: no signal.
    let settled: Vec<f64> = (0..weeks)
        .map(|t| if t < 10 * 168 { 0.0 } else { 10.0 })
        .collect();
    let after = peer_signals(
        &card,
        &[gone.clone(), steady.clone(), steady.clone(), settled],
    );
    assert!(after[3].fallen.is_empty(), "{after:?}");
    // A peer 20 % down is noise, not a migration.
    let dip: Vec<f64> = (0..weeks)
        .map(|t| if t < 26 * 168 { 10.0 } else { 8.0 })
        .collect();
    let noise = peer_signals(
        &card,
        &[dip, steady.clone(), steady.clone(), steady.clone()],
    );
    assert!(noise.iter().all(|s| s.fallen.is_empty()), "{noise:?}");

    // A drop every pool shares (a season ending) is no migration: no signal.
    let season: Vec<f64> = (0..weeks)
        .map(|t| if t < 24 * 168 { 40.0 } else { 8.0 })
        .collect();
    let shared = peer_signals(
        &card,
        &[season.clone(), season.clone(), season.clone(), season],
    );
    assert!(shared.iter().all(|s| s.fallen.is_empty()), "{shared:?}");

    // A peer back at its base after a high season (4 weeks at 20× in the half year) has not
    // fallen: its usual level is the base.
    let high_season: Vec<f64> = (0..weeks)
        .map(|t| {
            if (12 * 168..16 * 168).contains(&t) {
                200.0
            } else {
                10.0
            }
        })
        .collect();
    let after_season = peer_signals(
        &card,
        &[high_season, steady.clone(), steady.clone(), steady],
    );
    assert!(
        after_season.iter().all(|s| s.fallen.is_empty()),
        "{after_season:?}"
    );
}
