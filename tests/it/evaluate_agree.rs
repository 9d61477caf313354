//! The three ways `plan` evaluates purchases on demand paths agree: the optimizer's
//! `PoolProblem::evaluate` (levels → `PoolPlan`), the ladder's figures (`LadderPlan::lump` and
//! `LadderPlan::ladder`) and `evaluate_schedule` (any list of purchases), given the same
//! purchases, on small cases computed by hand and on the demo company's pools (its rate card,
//! inventory and hourly usage, as `capplan report` plans them).
//!
//! Two figures are defined differently on purpose and are compared as defined:
//! `PoolPlan::savings_p10/p50/p90` (and the ladder's) are the savings *of the path ranked* at
//! that percentile of residual demand (nearest rank), while `ScheduleOutcome::savings` holds
//! the lower empirical quantiles of the savings themselves. Both are checked here against
//! `ScheduleOutcome::savings_by_path`.

use std::path::Path;

use capplan::ingest::{self, AggregateOptions, InputOptions, Measure};
use capplan::money::{Currency, Money, Rate};
use capplan::plan::{
    self, Cadence, Demand, FinanceParams, LadderPlan, LadderSettings, Levels, OfferChoice,
    PlanOptions, PoolPlan, PoolProblem, Pricing, PurchaseFinance, Risk, ScheduleFigures,
    ScheduleOutcome, ScheduledPurchase, TrancheSizing, evaluate_schedule,
};
use capplan::pricing::{Inventory, RateCard};
use capplan::series::Granularity;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn usd(s: &str) -> Money {
    Money::new(d(s), Currency::USD)
}

/// Residual unit-hours of each path (the ranking behind the path-percentile savings).
fn residual_by_path(demand: &Demand, existing: &[f64]) -> Vec<f64> {
    demand
        .paths
        .iter()
        .map(|p| {
            let mut acc = 0.0;
            for (t, &v) in p.iter().enumerate() {
                acc += (v - existing.get(t).copied().unwrap_or(0.0)).max(0.0);
            }
            acc
        })
        .collect()
}

/// Savings of the path at rank `round(q · (S − 1))` by residual demand (ties: path order).
fn savings_at_rank(o: &ScheduleOutcome, residual: &[f64], q: f64) -> Money {
    let mut order: Vec<usize> = (0..residual.len()).collect();
    order.sort_by(|&a, &b| residual[a].total_cmp(&residual[b]).then(a.cmp(&b)));
    o.savings_by_path[order[(q * (residual.len() - 1) as f64).round() as usize]]
}

/// Months of the horizon as periods, for the cash-flow comparison.
fn months(hours: usize) -> Vec<(usize, usize)> {
    (0..hours.div_ceil(730))
        .map(|m| (m * 730, (m + 1) * 730))
        .collect()
}

fn schedule_of(purchases: &[&PurchaseFinance], offers: &[OfferChoice]) -> Vec<ScheduledPurchase> {
    purchases
        .iter()
        .map(|p| ScheduledPurchase {
            offer: offers.iter().find(|o| o.id == p.offer_id).unwrap().clone(),
            start_hour: p.start_hour,
            quantity: p.quantity,
        })
        .collect()
}

struct Case<'a> {
    name: &'a str,
    demand: &'a Demand,
    existing: &'a [f64],
    pricing: &'a Pricing,
    finance: &'a FinanceParams,
}

impl Case<'_> {
    fn evaluate(&self, purchases: &[ScheduledPurchase]) -> ScheduleOutcome {
        let existing = if self.existing.is_empty() {
            vec![0.0; self.demand.hours]
        } else {
            self.existing.to_vec()
        };
        evaluate_schedule(
            self.demand,
            &existing,
            self.pricing.on_demand_hourly,
            self.pricing.currency,
            purchases,
            &months(self.demand.hours),
            self.finance,
        )
        .unwrap()
    }

    fn residual(&self) -> Vec<f64> {
        residual_by_path(self.demand, self.existing)
    }

    /// `PoolProblem::evaluate` against `evaluate_schedule` on the plan's purchases; returns
    /// the schedule's outcome.
    fn check_plan(&self, plan: &PoolPlan) -> ScheduleOutcome {
        let n = self.name;
        let buys: Vec<&PurchaseFinance> = plan.purchases.iter().collect();
        let o = self.evaluate(&schedule_of(&buys, &self.pricing.offers));
        assert_eq!(plan.expected_cost, o.expected_cost, "{n}: expected cost");
        assert_eq!(plan.on_demand_cost, o.on_demand_cost, "{n}: on-demand cost");
        assert_eq!(plan.expected_savings, o.expected_savings, "{n}: savings");
        assert_eq!(plan.coverage, o.coverage, "{n}: coverage");
        let res = self.residual();
        assert_eq!(plan.savings_p10, savings_at_rank(&o, &res, 0.1), "{n}: p10");
        assert_eq!(plan.savings_p50, savings_at_rank(&o, &res, 0.5), "{n}: p50");
        assert_eq!(plan.savings_p90, savings_at_rank(&o, &res, 0.9), "{n}: p90");
        self.check_purchases(&buys, &o);
        o
    }

    /// The per-purchase finance (layers filled bottom-up in purchase order) adds up to the
    /// schedule's figures: used hours, commitment and cash per month.
    fn check_purchases(&self, buys: &[&PurchaseFinance], o: &ScheduleOutcome) {
        let n = self.name;
        let committed: f64 = buys.iter().map(|b| b.quantity * b.term_hours as f64).sum();
        let used: f64 = buys
            .iter()
            .map(|b| b.utilisation * b.quantity * b.term_hours as f64)
            .sum();
        let tol = 1e-9 * committed.max(1.0);
        assert!(
            (used - o.utilisation * committed).abs() <= tol,
            "{n}: used hours {used} vs {}",
            o.utilisation * committed
        );
        let cur = self.pricing.currency;
        // Money is rounded per purchase there and once per schedule here.
        let cent = Decimal::new(1, 2) * Decimal::from(2 * buys.len() as u64 + 1);
        let upfront = Money::sum(cur, buys.iter().map(|b| b.upfront_total)).unwrap();
        assert!(
            (upfront.amount() - o.upfront.amount()).abs() <= cent,
            "{n}: upfront {upfront} vs {}",
            o.upfront
        );
        for b in buys {
            let cash = Money::sum(cur, b.monthly.iter().map(|m| m.cash_outlay)).unwrap();
            let amort = Money::sum(cur, b.monthly.iter().map(|m| m.amortised_cost)).unwrap();
            assert_eq!(cash, b.commitment_total, "{n}: {} cash", b.offer_id);
            assert_eq!(amort, b.commitment_total, "{n}: {} amortised", b.offer_id);
        }
        // Cash by month of the horizon: the purchases' monthly parts (allocated to the cent)
        // against the schedule's months (rounded per month): within two cents per purchase.
        for (m, q) in o.periods.iter().enumerate() {
            let mut cash = Decimal::ZERO;
            let mut amort = Decimal::ZERO;
            for b in buys {
                for f in b.monthly.iter().filter(|f| f.start_hour / 730 == m) {
                    cash += f.cash_outlay.amount();
                    amort += f.amortised_cost.amount();
                }
            }
            assert!(
                (cash - q.new_cash.amount()).abs() <= cent,
                "{n}: month {m} cash {cash} vs {}",
                q.new_cash.amount()
            );
            if buys
                .iter()
                .all(|b| b.commitment_total == self.commitment_at_effective(b))
            {
                assert!(
                    (amort - q.new_amortised.amount()).abs() <= cent,
                    "{n}: month {m} amortised {amort} vs {}",
                    q.new_amortised.amount()
                );
            }
        }
    }

    /// Full-term cost of a purchase at its effective rate (equals the cash total when the
    /// effective rate is not PV-adjusted).
    fn commitment_at_effective(&self, b: &PurchaseFinance) -> Money {
        Rate::new(b.effective_hourly)
            .cost_of(b.quantity * b.term_hours as f64)
            .unwrap()
            .round()
    }

    fn check_figures(&self, what: &str, f: &ScheduleFigures, buys: &[&PurchaseFinance]) {
        let n = self.name;
        let o = self.evaluate(&schedule_of(buys, &self.pricing.offers));
        assert_eq!(
            f.expected_cost, o.expected_cost,
            "{n} {what}: expected cost"
        );
        assert_eq!(
            f.expected_savings, o.expected_savings,
            "{n} {what}: savings"
        );
        assert_eq!(
            f.commitment_cost, o.commitment_cost,
            "{n} {what}: commitment"
        );
        assert_eq!(f.coverage, o.coverage, "{n} {what}: coverage");
        assert_eq!(f.utilisation, o.utilisation, "{n} {what}: utilisation");
        assert_eq!(
            f.prob_below_break_even, o.prob_loss,
            "{n} {what}: probability of a loss"
        );
        let res = self.residual();
        assert_eq!(f.savings_p10, savings_at_rank(&o, &res, 0.1), "{n} {what}");
        assert_eq!(f.savings_p50, savings_at_rank(&o, &res, 0.5), "{n} {what}");
        assert_eq!(f.savings_p90, savings_at_rank(&o, &res, 0.9), "{n} {what}");
        self.check_purchases(buys, &o);
    }

    /// The ladder's lump figures are the plan's; both of its figures are the schedule's; its
    /// monthly cash flow is the sum of its purchases'.
    fn check_ladder(&self, plan: &PoolPlan, l: &LadderPlan) {
        let n = self.name;
        assert_eq!(l.lump.expected_cost, plan.expected_cost, "{n}: lump cost");
        assert_eq!(l.lump.expected_savings, plan.expected_savings, "{n}");
        assert_eq!(l.lump.coverage, plan.coverage, "{n}: lump coverage");
        assert_eq!(l.lump.savings_p10, plan.savings_p10, "{n}");
        assert_eq!(l.lump.savings_p50, plan.savings_p50, "{n}");
        assert_eq!(l.lump.savings_p90, plan.savings_p90, "{n}");
        assert_eq!(l.on_demand_cost, plan.on_demand_cost, "{n}");
        let lump: Vec<&PurchaseFinance> = plan.purchases.iter().collect();
        self.check_figures("lump", &l.lump, &lump);
        let ladder: Vec<&PurchaseFinance> = l
            .tranches
            .iter()
            .map(|t| &t.purchase)
            .chain(l.other_purchases.iter())
            .collect();
        self.check_figures("ladder", &l.ladder, &ladder);
        let cur = self.pricing.currency;
        for (m, month) in l.cash_flow.iter().enumerate() {
            let mut cash = Money::zero(cur);
            let mut amort = Money::zero(cur);
            for f in ladder.iter().flat_map(|b| &b.monthly) {
                if f.start_hour / 730 == m {
                    cash = cash.checked_add(f.cash_outlay).unwrap();
                    amort = amort.checked_add(f.amortised_cost).unwrap();
                }
            }
            assert_eq!(month.cash_outlay, cash, "{n}: ladder month {m}");
            assert_eq!(month.amortised_cost, amort, "{n}: ladder month {m}");
        }
    }
}

fn ladders() -> [LadderSettings; 2] {
    [
        LadderSettings {
            cadence: Cadence::Quarterly,
            period_months: 12,
            sizing: TrancheSizing::EqualSlices,
        },
        LadderSettings {
            cadence: Cadence::Monthly,
            period_months: 6,
            sizing: TrancheSizing::Sequential,
        },
    ]
}

/// Two paths (residual 8 and 4 units after 2 existing), a 2,920-hour horizon, a long offer
/// of 2,920 h at 0.50 (730 upfront + 0.25/h) and a short one of 1,460 h at 0.60 against an
/// on-demand price of 1. Levels: 4 long units, 2 short units in each block.
#[test]
fn the_three_agree_by_hand() {
    let demand = Demand {
        hours: 2920,
        paths: vec![vec![10.0; 2920], vec![6.0; 2920]],
    };
    let existing = vec![2.0; 2920];
    let pricing = Pricing {
        currency: Currency::USD,
        on_demand_hourly: Decimal::ONE,
        offers: vec![
            OfferChoice {
                id: "long".into(),
                term_hours: 2920,
                effective_hourly: d("0.5"),
                upfront_per_unit: d("730"),
                recurring_hourly: d("0.25"),
            },
            OfferChoice {
                id: "short".into(),
                term_hours: 1460,
                effective_hourly: d("0.6"),
                upfront_per_unit: Decimal::ZERO,
                recurring_hourly: d("0.6"),
            },
        ],
    };
    let finance = FinanceParams {
        annual_cost_of_capital: Decimal::ZERO,
        start: None,
    };
    let case = Case {
        name: "by hand",
        demand: &demand,
        existing: &existing,
        pricing: &pricing,
        finance: &finance,
    };
    let pb = PoolProblem::new(&demand, &existing, &pricing).unwrap();
    let levels = Levels {
        three_year: 4.0,
        one_year: vec![2.0, 2.0],
    };
    let plan = pb.evaluate(Risk::Balanced, &levels, &finance).unwrap();
    // Commitments: 4 × 2920 × 0.5 + 2 × (2 × 1460 × 0.6) = 5840 + 3504 = 9344. Coverage 6:
    // path 1 leaves 2 × 2920 on demand, path 2 nothing. On demand: (23360 + 11680) / 2.
    assert_eq!(plan.on_demand_cost, usd("17520.00"));
    assert_eq!(plan.expected_cost, usd("12264.00"));
    assert_eq!(plan.expected_savings, usd("5256.00"));
    assert_eq!(plan.coverage, 14600.0 / 17520.0);
    // Path savings: 23360 − 15184 = 8176 (more demand), 11680 − 9344 = 2336.
    assert_eq!(plan.savings_p10, usd("2336.00"));
    assert_eq!(plan.savings_p50, usd("8176.00")); // rank round(0.5) = 1
    assert_eq!(plan.savings_p90, usd("8176.00"));
    let o = case.check_plan(&plan);
    assert_eq!(o.commitment_cost, usd("9344.00"));
    assert_eq!(o.upfront, usd("2920.00"));
    assert_eq!(o.utilisation, 14600.0 / 17520.0);
    assert_eq!(o.prob_loss, 0.0);
    // Lower empirical quantiles of the savings: the median is the smaller of two.
    assert_eq!(
        (o.savings.p10, o.savings.p50, o.savings.p90),
        (usd("2336.00"), usd("2336.00"), usd("8176.00"))
    );
    // Month 1 cash: 4 × 730 upfront + 730 h × (4 × 0.25 + 2 × 0.6) = 2920 + 1606.
    assert_eq!(o.periods[0].new_cash, usd("4526.00"));
    let long = &plan.purchases[0];
    assert_eq!(long.commitment_total, usd("5840.00"));
    assert_eq!(long.utilisation, 1.0);
    let short = &plan.purchases[1];
    assert_eq!((short.layer_from, short.quantity), (4.0, 2.0));
    assert_eq!(short.utilisation, 0.5); // used on the path with 8 units only

    let opts = PlanOptions {
        risk: Risk::Balanced,
        whole_units: true,
        finance: finance.clone(),
    };
    for settings in ladders() {
        let l = pb.ladder(&levels, &settings, &opts).unwrap();
        case.check_ladder(&plan, &l);
    }
    let optimal = plan::optimize(&demand, &existing, &pricing, &opts).unwrap();
    case.check_plan(&optimal);
}

/// A loss on one path: 3 units bought for 1,460 h at 0.75 on paths of 0 and 4 units.
#[test]
fn the_three_agree_on_a_losing_path() {
    let demand = Demand {
        hours: 1460,
        paths: vec![vec![0.0; 1460], vec![4.0; 1460], vec![2.5; 1460]],
    };
    let pricing = Pricing {
        currency: Currency::USD,
        on_demand_hourly: Decimal::ONE,
        offers: vec![OfferChoice {
            id: "only".into(),
            term_hours: 1460,
            effective_hourly: d("0.75"),
            upfront_per_unit: d("365"),
            recurring_hourly: d("0.5"),
        }],
    };
    let finance = FinanceParams::default();
    let case = Case {
        name: "losing path",
        demand: &demand,
        existing: &[],
        pricing: &pricing,
        finance: &finance,
    };
    let pb = PoolProblem::new(&demand, &[], &pricing).unwrap();
    let levels = Levels {
        three_year: 3.0,
        one_year: vec![],
    };
    let plan = pb.evaluate(Risk::Balanced, &levels, &finance).unwrap();
    // 3 × 1460 × 0.75 = 3285; on demand 0, 4 × 1460, 2.5 × 1460 → mean 3163.33.
    assert_eq!(plan.on_demand_cost, usd("3163.33"));
    // Uncovered: 0, 1460, 0 → mean 486.67.
    assert_eq!(plan.expected_cost, usd("3771.67"));
    // Savings by path: −3285, 5840 − 3285 − 1460 = 1095, 3650 − 3285 = 365.
    assert_eq!(plan.savings_p10, usd("-3285.00"));
    assert_eq!(plan.savings_p50, usd("365.00"));
    assert_eq!(plan.savings_p90, usd("1095.00"));
    let o = case.check_plan(&plan);
    assert_eq!(o.prob_loss, 1.0 / 3.0);
    let opts = PlanOptions {
        finance: finance.clone(),
        ..PlanOptions::default()
    };
    for settings in ladders() {
        let l = pb.ladder(&levels, &settings, &opts).unwrap();
        case.check_ladder(&plan, &l);
    }
}

fn demo_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

/// The offers of a pool after the payment choice (as the portfolio plans them).
fn offers(card: &RateCard, pool: &str, coc: Decimal) -> Vec<OfferChoice> {
    card.best_payment_options(pool, coc)
        .unwrap()
        .iter()
        .filter_map(|c| card.offer(&c.chosen))
        .map(|o| OfferChoice {
            id: o.id().to_owned(),
            term_hours: o.term_hours() as usize,
            effective_hourly: o.effective_hourly(),
            upfront_per_unit: o.upfront(),
            recurring_hourly: o.recurring_hourly(),
        })
        .collect()
}

/// Every demo pool: demand paths from its hourly history (shifted and scaled copies over the
/// demo's three-year horizon), the inventory's coverage from the demo's `as_of`, the rate
/// card's offers at the plan file's 8 % cost of capital. The optimal plan, a conservative one
/// and a half-sized one, each with two ladders, agree with `evaluate_schedule`.
#[test]
fn the_three_agree_on_the_demo_pools() {
    let dir = demo_dir();
    let card = RateCard::from_toml_str(
        &std::fs::read_to_string(dir.join("rates.toml")).unwrap(),
        "rates.toml",
    )
    .unwrap();
    let inventory = Inventory::from_toml_str(
        &std::fs::read_to_string(dir.join("inventory.toml")).unwrap(),
        "inventory.toml",
    )
    .unwrap();
    let loaded = ingest::load(&InputOptions {
        inputs: vec![dir.join("focus.parquet").display().to_string()],
        ..Default::default()
    })
    .unwrap();
    let mut by: Vec<String> = card
        .pools()
        .iter()
        .flat_map(|p| p.match_rule().rules().keys().cloned())
        .collect();
    by.sort();
    by.dedup();
    let usage = loaded
        .aggregate(&AggregateOptions {
            by,
            granularity: Some(Granularity::Hour),
            filters: Vec::new(),
            measure: Measure::Quantity,
        })
        .unwrap();
    let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    let hours = 3 * 8760;
    let coc = d("0.08");
    let finance = FinanceParams {
        annual_cost_of_capital: coc,
        start: Some(start.naive_utc()),
    };
    let mut checked = 0;
    for pool in card.pools() {
        let hist = plan::pool_history(pool, &usage.series);
        let offers = offers(&card, pool.id(), coc);
        if hist.is_empty() || offers.is_empty() {
            continue;
        }
        let paths = (0..5)
            .map(|s| {
                let off = s * 1013 % hist.len();
                let f = 0.9 + 0.05 * s as f64;
                (0..hours)
                    .map(|t| hist[(off + t) % hist.len()] * f)
                    .collect()
            })
            .collect();
        let demand = Demand { hours, paths };
        let existing = inventory.coverage(pool.id(), start, hours);
        let pricing = Pricing {
            currency: pool.currency(),
            on_demand_hourly: pool.on_demand_rate(),
            offers,
        };
        let case = Case {
            name: pool.id(),
            demand: &demand,
            existing: &existing,
            pricing: &pricing,
            finance: &finance,
        };
        let whole_units =
            !pool.unit().contains('$') && !pool.unit().to_ascii_uppercase().contains("USD");
        let pb = PoolProblem::new(&demand, &existing, &pricing).unwrap();
        for risk in [Risk::Balanced, Risk::CONSERVATIVE] {
            let opts = PlanOptions {
                risk,
                whole_units,
                finance: finance.clone(),
            };
            let plan = plan::optimize(&demand, &existing, &pricing, &opts).unwrap();
            case.check_plan(&plan);
            let half = Levels {
                three_year: (plan.three_year / 2.0).floor(),
                one_year: plan.one_year.iter().map(|x| (x / 2.0).ceil()).collect(),
            };
            let half_plan = pb.evaluate(risk, &half, &finance).unwrap();
            case.check_plan(&half_plan);
            let levels = Levels {
                three_year: plan.three_year,
                one_year: plan.one_year.clone(),
            };
            if plan.purchases.is_empty() {
                continue;
            }
            for settings in ladders() {
                let l = pb.ladder(&levels, &settings, &opts).unwrap();
                case.check_ladder(&plan, &l);
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} demo pools planned");
}
