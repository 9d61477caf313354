use std::cell::Cell;

use chrono::{Duration, TimeZone};
use rust_decimal::Decimal;

use super::*;
use crate::money::{Currency, Money};
use crate::plan::{HOURS_1Y, HOURS_3Y, PlanError, PortfolioSettings, plan_pool};
use crate::pricing::Inventory;
use crate::series::{Granularity, SeriesKey, UsageSeries};

/// Pool `ec2` (whole units): 1y at 0.6, 3y at 0.4 per unit-hour against 1 on demand.
/// Pool `sp` (a spend unit, fractions allowed): 1y at 0.7 only.
fn card() -> RateCard {
    RateCard::from_toml_str(
        r#"
[[pool]]
id = "ec2"
match = { service = "ec2" }
unit = "instance-hours"
on_demand_rate = "1"
currency = "USD"

[[pool.offer]]
id = "ec2-1y"
kind = "ri_standard"
term = "1y"
payment = "no_upfront"
recurring_hourly = "0.6"

[[pool.offer]]
id = "ec2-3y"
kind = "ri_standard"
term = "3y"
payment = "no_upfront"
recurring_hourly = "0.4"

[[pool]]
id = "sp"
match = { service = "lambda" }
unit = "USD per hour"
on_demand_rate = "1"
currency = "USD"

[[pool.offer]]
id = "sp-1y"
kind = "ri_standard"
term = "1y"
payment = "no_upfront"
recurring_hourly = "0.7"
"#,
        "card.toml",
    )
    .unwrap()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
}

fn choices(card: &RateCard, pool: &str) -> Vec<OfferChoice> {
    card.pool(pool)
        .unwrap()
        .offers()
        .iter()
        .map(|o| offer_choice(card, o.id()).unwrap())
        .collect()
}

fn ctx<'a>(
    card: &'a RateCard,
    pool: &str,
    choices: &'a [OfferChoice],
    demand: &'a Demand,
    existing: &'a [f64],
) -> PoolContext<'a> {
    PoolContext {
        card,
        pool: card.pool(pool).unwrap(),
        choices,
        demand,
        existing,
        start: start(),
        horizon_hours: demand.hours,
    }
}

/// A planner that must not be called.
fn no_planner(_: Risk, _: Option<LadderSettings>) -> Result<PoolResult, StrategyError> {
    panic!("the optimizer is not asked for this strategy")
}

fn bought(d: &Decision) -> Vec<(&str, usize, f64)> {
    d.purchases
        .iter()
        .map(|p| (p.offer.id.as_str(), p.start_hour, p.quantity))
        .collect()
}

#[test]
fn none_buys_nothing_and_asks_no_plan() {
    let card = card();
    let c = choices(&card, "ec2");
    let demand = Demand::single(vec![10.0; 48]);
    let existing = vec![0.0; 48];
    let ctx = ctx(&card, "ec2", &c, &demand, &existing);
    let mut plans = SharedPlans::default();
    let d = decide(&Strategy::None, &ctx, &mut plans, &mut no_planner).unwrap();
    assert_eq!(d, Decision::default());
    assert!(plans.primary.is_none() && plans.baseline.is_none());
}

/// Two 1y terms (the second one 24 hours long); two paths.
fn coverage_demand() -> Demand {
    let n = HOURS_1Y + 24;
    let path = |first: f64, second: f64| -> Vec<f64> {
        (0..n)
            .map(|t| if t < HOURS_1Y { first } else { second })
            .collect()
    };
    Demand {
        hours: n,
        paths: vec![path(10.0, 30.0), path(20.0, 30.0)],
    }
}

#[test]
fn coverage_commits_a_share_of_mean_demand_less_existing_every_term() {
    let card = card();
    let c = choices(&card, "ec2");
    let demand = coverage_demand();
    let existing = vec![2.0; demand.hours];
    let ctx = ctx(&card, "ec2", &c, &demand, &existing);
    let s = Strategy::Coverage {
        percent: Decimal::from(50),
        term: Term::OneYear,
    };
    let d = decide(&s, &ctx, &mut SharedPlans::default(), &mut no_planner).unwrap();
    // Term 1: 50 % of mean(10, 20) = 7.5, less 2 existing = 5.5 → 5 whole units.
    // Term 2: 50 % of 30 = 15, less 2 = 13.
    assert_eq!(
        bought(&d),
        vec![("ec2-1y", 0, 5.0), ("ec2-1y", HOURS_1Y, 13.0)]
    );
    assert_eq!(d.missing_term, None);
}

#[test]
fn coverage_of_a_spend_pool_keeps_fractions_and_never_buys_below_existing() {
    let card = card();
    let c = choices(&card, "sp");
    let demand = coverage_demand();
    let existing: Vec<f64> = (0..demand.hours)
        .map(|t| if t < HOURS_1Y { 2.0 } else { 40.0 })
        .collect();
    let ctx = ctx(&card, "sp", &c, &demand, &existing);
    let s = Strategy::Coverage {
        percent: Decimal::from(50),
        term: Term::OneYear,
    };
    let d = decide(&s, &ctx, &mut SharedPlans::default(), &mut no_planner).unwrap();
    // Term 2: 15 − 40 < 0: nothing.
    assert_eq!(bought(&d), vec![("sp-1y", 0, 5.5)]);
}

#[test]
fn coverage_without_an_offer_of_the_term_buys_nothing_and_says_so() {
    let card = card();
    let c = choices(&card, "sp");
    let demand = coverage_demand();
    let existing = vec![0.0; demand.hours];
    let ctx = ctx(&card, "sp", &c, &demand, &existing);
    let s = Strategy::Coverage {
        percent: Decimal::from(80),
        term: Term::ThreeYears,
    };
    let d = decide(&s, &ctx, &mut SharedPlans::default(), &mut no_planner).unwrap();
    assert!(d.purchases.is_empty());
    assert_eq!(d.missing_term, Some(HOURS_3Y));
}

#[test]
fn cheapest_offer_is_the_lowest_effective_rate_of_the_term() {
    let card = card();
    let mut c = choices(&card, "ec2");
    let mut dearer = c[1].clone();
    dearer.id = "ec2-3y-dear".into();
    dearer.effective_hourly = Decimal::new(5, 1);
    c.insert(0, dearer);
    assert_eq!(cheapest_offer(&c, HOURS_3Y).unwrap().id, "ec2-3y");
    assert_eq!(cheapest_offer(&c, HOURS_1Y).unwrap().id, "ec2-1y");
    assert!(cheapest_offer(&c, 100).is_none());
}

fn listed(pool: &str, offer: &str, days_after_start: i64, quantity: f64) -> ListedPurchase {
    ListedPurchase {
        pool: pool.into(),
        offer: offer.into(),
        quantity,
        date: (start() + Duration::days(days_after_start)).date_naive(),
        line: 40 + days_after_start.unsigned_abs() as usize,
    }
}

#[test]
fn purchase_list_takes_the_pools_own_purchases_at_their_dates() {
    let card = card();
    let c = choices(&card, "ec2");
    let demand = Demand::single(vec![10.0; 24 * 30]);
    let existing = vec![0.0; demand.hours];
    let ctx = ctx(&card, "ec2", &c, &demand, &existing);
    let s = Strategy::Purchases(vec![
        listed("ec2", "ec2-3y", 0, 4.0),
        listed("sp", "sp-1y", 1, 2.5),
        listed("ec2", "ec2-1y", 2, 3.0),
    ]);
    let d = decide(&s, &ctx, &mut SharedPlans::default(), &mut no_planner).unwrap();
    assert_eq!(bought(&d), vec![("ec2-3y", 0, 4.0), ("ec2-1y", 48, 3.0)]);
    assert_eq!(d.purchases[1].offer.effective_hourly, Decimal::new(6, 1));
}

#[test]
fn purchase_list_rejects_another_pools_offer_and_dates_before_the_start() {
    let card = card();
    let pool = card.pool("ec2").unwrap();
    let e = listed_purchases(&card, pool, &[listed("ec2", "sp-1y", 3, 1.0)], start());
    assert_eq!(
        e,
        Err(StrategyError::NotAnOffer {
            offer: "sp-1y".into(),
            pool: "ec2".into(),
            line: 43
        })
    );
    let e = listed_purchases(&card, pool, &[listed("ec2", "nope", 0, 1.0)], start());
    assert!(matches!(e, Err(StrategyError::NotAnOffer { line: 40, .. })));
    let e = listed_purchases(&card, pool, &[listed("ec2", "ec2-1y", -1, 1.0)], start());
    assert_eq!(
        e,
        Err(StrategyError::BeforeStart {
            date: (start() - Duration::days(1)).date_naive(),
            start: start().date_naive(),
            line: 41
        })
    );
}

fn recommendation(offer: &str, level: f64) -> LookbackRecommendation {
    let zero = Money::zero(Currency::new("USD").unwrap());
    LookbackRecommendation {
        offer_id: offer.into(),
        level,
        window_hours: 720,
        replay_on_demand_cost: zero,
        replay_cost: zero,
    }
}

#[test]
fn lookback_rebuys_a_short_term_every_term_and_buys_whole_units() {
    let card = card();
    let ec2 = card.pool("ec2").unwrap();
    let sp = card.pool("sp").unwrap();
    let two_years = 2 * HOURS_1Y + 5;
    let buys = lookback_purchases(&card, &recommendation("ec2-1y", 4.6), ec2, two_years);
    let got: Vec<(usize, f64)> = buys.iter().map(|p| (p.start_hour, p.quantity)).collect();
    assert_eq!(got, vec![(0, 5.0), (HOURS_1Y, 5.0), (2 * HOURS_1Y, 5.0)]);
    // A term as long as the horizon is bought once; spend units keep fractions.
    let buys = lookback_purchases(&card, &recommendation("sp-1y", 4.6), sp, HOURS_1Y);
    let got: Vec<(usize, f64)> = buys.iter().map(|p| (p.start_hour, p.quantity)).collect();
    assert_eq!(got, vec![(0, 4.6)]);
    // A level that rounds to zero, or an unknown offer, buys nothing.
    assert!(lookback_purchases(&card, &recommendation("ec2-1y", 0.4), ec2, HOURS_1Y).is_empty());
    assert!(lookback_purchases(&card, &recommendation("gone", 3.0), ec2, HOURS_1Y).is_empty());
}

#[test]
fn lookback_days_add_the_strategies_windows_to_the_baselines() {
    let s = [
        Strategy::Lookback { days: 30 },
        Strategy::None,
        Strategy::Lookback { days: 14 },
        Strategy::Lookback { days: 14 },
    ];
    assert_eq!(lookback_days(&s), vec![7, 14, 30, 60]);
    assert_eq!(lookback_days(&[]), vec![7, 30, 60]);
}

/// 60 days of steady `ec2` usage (10 units) ending at the start.
fn history() -> Vec<UsageSeries> {
    vec![UsageSeries {
        key: SeriesKey(vec![("service".into(), "ec2".into())]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start: start() - Duration::days(60),
        values: vec![10.0; 24 * 60],
        cost: None,
        gaps_filled: 0,
    }]
}

/// The real optimizer on steady demand of 10 units over three years, counting its calls.
fn planner<'a>(
    card: &'a RateCard,
    demand: &'a Demand,
    history: &'a [UsageSeries],
    calls: &'a Cell<usize>,
) -> impl FnMut(Risk, Option<LadderSettings>) -> Result<PoolResult, PlanError> + 'a {
    move |risk, ladder| {
        calls.set(calls.get() + 1);
        let settings = PortfolioSettings {
            risk,
            paths: 1,
            seed: 1,
            cost_of_capital: Decimal::ZERO,
            lookback_days: vec![7, 30, 60],
            ladder,
            ..PortfolioSettings::default()
        };
        let pool = card.pool("ec2").unwrap();
        let demand = crate::plan::PoolDemand {
            forecast: Some(demand.clone()),
            events: crate::plan::sizing::EventEffect::none(),
            hours: demand.hours,
            series: vec![],
            peers: Default::default(),
        };
        Ok(plan_pool(
            card,
            pool,
            &Inventory::default(),
            demand,
            start(),
            history,
            &settings,
        )?
        .expect("the pool has offers"))
    }
}

impl From<StrategyError> for PlanError {
    fn from(e: StrategyError) -> Self {
        PlanError::InvalidInput(e.to_string())
    }
}

#[test]
fn recommended_buys_the_optimizers_plan_and_lookback_reuses_it() {
    let card = card();
    let c = choices(&card, "ec2");
    let demand = Demand::single(vec![10.0; HOURS_3Y]);
    let existing = vec![0.0; HOURS_3Y];
    let ctx = ctx(&card, "ec2", &c, &demand, &existing);
    let (hist, calls) = (history(), Cell::new(0));
    let mut plan_with = planner(&card, &demand, &hist, &calls);
    let mut plans = SharedPlans::default();
    let rec = Strategy::Recommended {
        risk: Risk::BALANCED,
        ladder: None,
    };
    let d = decide(&rec, &ctx, &mut plans, &mut plan_with).unwrap();
    // Steady demand: everything on the 3y offer (0.4 beats 0.6 and on-demand 1), as much as
    // the plan recommends: the held level (10) less what three years of level uncertainty
    // (eight weeks of history) make uneconomic.
    let planned = plans.primary.as_ref().expect("the plan").plan.three_year;
    assert!((8.0..=10.0).contains(&planned), "{planned}");
    assert_eq!(bought(&d), vec![("ec2-3y", 0, planned)]);
    assert!(plans.primary.is_some() && plans.baseline.is_some());
    let d = decide(
        &Strategy::Lookback { days: 30 },
        &ctx,
        &mut plans,
        &mut plan_with,
    )
    .unwrap();
    // The 30-day replay sees 10 units all the time: the 3y offer fits the horizon, bought once.
    assert_eq!(bought(&d), vec![("ec2-3y", 0, 10.0)]);
    assert_eq!(
        calls.get(),
        1,
        "the lookback replays the recommended plan's baselines"
    );
}

#[test]
fn lookback_alone_asks_one_balanced_plan_and_keeps_it() {
    let card = card();
    let c = choices(&card, "ec2");
    let demand = Demand::single(vec![10.0; HOURS_3Y]);
    let existing = vec![0.0; HOURS_3Y];
    let ctx = ctx(&card, "ec2", &c, &demand, &existing);
    let (hist, calls) = (history(), Cell::new(0));
    let mut inner = planner(&card, &demand, &hist, &calls);
    let mut plan_with = |risk: Risk, ladder: Option<LadderSettings>| {
        assert_eq!(risk, Risk::BALANCED);
        assert_eq!(ladder, None);
        inner(risk, ladder)
    };
    let mut plans = SharedPlans::default();
    for days in [30, 7] {
        let d = decide(
            &Strategy::Lookback { days },
            &ctx,
            &mut plans,
            &mut plan_with,
        )
        .unwrap();
        assert_eq!(bought(&d), vec![("ec2-3y", 0, 10.0)], "{days} days");
    }
    assert_eq!(calls.get(), 1);
    assert!(plans.primary.is_none() && plans.baseline.is_some());
    // A window the plan did not replay buys nothing.
    let d = decide(
        &Strategy::Lookback { days: 90 },
        &ctx,
        &mut plans,
        &mut plan_with,
    )
    .unwrap();
    assert!(d.purchases.is_empty());
}

#[test]
fn a_listed_purchase_of_an_unknown_pool_or_offer_is_refused_up_front() {
    let c = card();
    assert_eq!(check_listed(&c, &[listed("ec2", "ec2-1y", 0, 1.0)]), Ok(()));
    match check_listed(
        &c,
        &[
            listed("ec2", "ec2-1y", 0, 1.0),
            listed("ecc2", "ec2-1y", 3, 1.0),
        ],
    ) {
        Err(StrategyError::UnknownPool {
            pool,
            suggestion,
            known,
            line,
        }) => {
            assert_eq!(pool, "ecc2");
            assert_eq!(suggestion.as_deref(), Some("ec2"));
            assert_eq!(known, ["ec2", "sp"]);
            assert_eq!(line, 43);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check_listed(&c, &[listed("sp", "ec2-1y", 0, 1.0)]),
        Err(StrategyError::NotAnOffer { .. })
    ));
}
