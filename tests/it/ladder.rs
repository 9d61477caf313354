//! Properties of the ladder (`capplan::plan::ladder`) on random pools: it never beats the
//! optimal lump when the horizon ends within the laddered term, the sequential rule never costs
//! more than all on-demand, tranches sum to the lump level on constant demand, the lump
//! figures are the optimizer's, the cash flow sums exactly, and everything is deterministic.

use capplan::money::{Currency, Money};
use capplan::plan::{
    Cadence, Demand, LadderSettings, OfferChoice, PlanOptions, Pricing, TrancheSizing, optimize,
    plan_ladder,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

const T: usize = 8760;

fn offer(id: &str, term: usize, rate_pct: u32) -> OfferChoice {
    let rate = Decimal::new(i64::from(rate_pct), 2);
    OfferChoice {
        id: id.into(),
        term_hours: term,
        effective_hourly: rate,
        upfront_per_unit: Decimal::new(i64::from(rate_pct) * 7, 0),
        recurring_hourly: rate - Decimal::new(i64::from(rate_pct) * 7, 0) / Decimal::from(term),
    }
}

fn pricing(long_pct: u32, short_pct: Option<u32>) -> Pricing {
    let mut offers = vec![offer("long", T, long_pct)];
    if let Some(s) = short_pct {
        offers.push(offer("short", T / 4, s));
    }
    Pricing {
        currency: Currency::USD,
        on_demand_hourly: Decimal::ONE,
        offers,
    }
}

/// Paths: a per-month level plus a daily wave, per path.
fn paths(levels: &[Vec<u32>], wave: u32) -> Demand {
    let paths = levels
        .iter()
        .map(|lv| {
            (0..T)
                .map(|t| {
                    let m = (t / 730).min(11);
                    f64::from(lv[m]) + f64::from(wave) * ((t % 24) as f64 / 24.0)
                })
                .collect()
        })
        .collect();
    Demand { hours: T, paths }
}

fn settings(quarterly: bool, period_idx: usize, equal: bool) -> LadderSettings {
    LadderSettings {
        cadence: if quarterly {
            Cadence::Quarterly
        } else {
            Cadence::Monthly
        },
        period_months: [3, 6, 12][period_idx],
        sizing: if equal {
            TrancheSizing::EqualSlices
        } else {
            TrancheSizing::Sequential
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ladder_is_between_the_lump_and_all_on_demand(
        levels in prop::collection::vec(prop::collection::vec(0u32..20, 12), 1..4),
        wave in 0u32..6,
        long_pct in 30u32..95,
        short in prop::option::of(30u32..99),
        quarterly in any::<bool>(),
        period_idx in 0usize..3,
        equal in any::<bool>(),
        whole_units in any::<bool>(),
    ) {
        let demand = paths(&levels, wave);
        let pr = pricing(long_pct, short);
        let opts = PlanOptions { whole_units, ..PlanOptions::default() };
        let st = settings(quarterly, period_idx, equal);
        let lump = optimize(&demand, &[], &pr, &opts).unwrap();
        let l = plan_ladder(&demand, &[], &pr, &opts, &st).unwrap();
        // Same evaluation of the lump as the optimizer's.
        prop_assert_eq!(l.lump.expected_cost, lump.expected_cost);
        prop_assert_eq!(l.on_demand_cost, lump.on_demand_cost);
        prop_assert_eq!(l.lump.savings_p10, lump.savings_p10);
        prop_assert_eq!(l.lump.savings_p90, lump.savings_p90);
        // The horizon ends within the long term: the optimal lump is never beaten.
        prop_assert!(l.ladder.expected_cost.amount() >= lump.expected_cost.amount(),
            "ladder {} < lump {}", l.ladder.expected_cost, lump.expected_cost);
        prop_assert_eq!(l.premium_over_lump,
            l.ladder.expected_cost.checked_sub(l.lump.expected_cost).unwrap());
        if !equal {
            // Every sequential slice beats on demand on its own hours.
            prop_assert!(l.ladder.expected_cost.amount() <= l.on_demand_cost.amount());
            // Tranche 0 is the lump's level.
            let first = l.tranches.first().filter(|t| t.index == 0)
                .map_or(0.0, |t| t.purchase.quantity);
            prop_assert_eq!(first, lump.three_year);
        } else if whole_units {
            prop_assert_eq!(l.ladder_level, l.lump_level);
        } else {
            prop_assert!((l.ladder_level - l.lump_level).abs() <= 1e-9 * (1.0 + l.lump_level));
        }
        // The cash flow sums exactly to the commitments bought.
        let bought = Money::sum(Currency::USD, l.tranches.iter().map(|t| t.purchase.commitment_total)
            .chain(l.other_purchases.iter().map(|p| p.commitment_total))).unwrap();
        let cash = Money::sum(Currency::USD, l.cash_flow.iter().map(|m| m.cash_outlay)).unwrap();
        let amort = Money::sum(Currency::USD, l.cash_flow.iter().map(|m| m.amortised_cost)).unwrap();
        prop_assert_eq!(cash, bought);
        prop_assert_eq!(amort, bought);
        // Deterministic.
        prop_assert_eq!(plan_ladder(&demand, &[], &pr, &opts, &st).unwrap(), l);
    }

    #[test]
    fn constant_demand_tranches_sum_to_the_lump(
        level in 1u32..40,
        long_pct in 30u32..95,
        quarterly in any::<bool>(),
        period_idx in 0usize..3,
        equal in any::<bool>(),
    ) {
        let demand = Demand::single(vec![f64::from(level); T]);
        let pr = pricing(long_pct, None);
        let st = settings(quarterly, period_idx, equal);
        let opts = PlanOptions::default();
        let l = plan_ladder(&demand, &[], &pr, &opts, &st).unwrap();
        prop_assert_eq!(l.lump_level, f64::from(level));
        let sum: f64 = l.tranches.iter().map(|t| t.purchase.quantity).sum();
        prop_assert!((sum - l.lump_level).abs() <= 1e-9 * l.lump_level);
        if equal {
            // Premium = on-demand price of each slice while it waits: p · Σ q_i · h_i.
            let waited: f64 = l.tranches.iter()
                .map(|t| t.purchase.quantity * t.purchase.start_hour as f64).sum();
            let premium = l.premium_over_lump.amount();
            let want = Decimal::try_from(waited).unwrap();
            prop_assert!((premium - want).abs() <= Decimal::new(1, 2),
                "premium {premium} vs {want}");
        } else {
            prop_assert!(l.premium_over_lump.is_zero());
            prop_assert_eq!(l.tranches.len(), 1);
        }
    }
}
