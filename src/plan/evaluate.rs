//! Levels evaluated: the optimizer's entry points ([`optimize`], [`hindsight`]) and
//! [`PoolProblem::evaluate`], which turns levels into their schedule of purchases (the long
//! offer at hour 0, the short offer at the start of each year) and evaluates it with the one
//! evaluator, [`evaluate_schedule`](super::evaluate_schedule), on the pool's residual demand.

use super::optimizer::{PoolProblem, RiskSteps};
use super::schedule::{self, Paths, ScheduleOutcome, ScheduledPurchase};
use super::types::{
    Demand, FinanceParams, Levels, PlanError, PoolPlan, Pricing, PurchaseFinance, Risk, TermKind,
};

/// Options of [`optimize`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanOptions {
    /// Risk setting.
    pub risk: Risk,
    /// Round levels to whole units (RI-style pools) with [`PoolProblem::round_to_units`].
    pub whole_units: bool,
    /// Finance parameters.
    pub finance: FinanceParams,
}

/// Plans one pool: optimal (optionally whole-unit) levels under `opts.risk`, evaluated.
pub fn optimize(
    demand: &Demand,
    existing: &[f64],
    pricing: &Pricing,
    opts: &PlanOptions,
) -> Result<PoolPlan, PlanError> {
    let pb = PoolProblem::new(demand, existing, pricing)?;
    let rs = pb.risk_steps(opts.risk)?;
    let mut levels = pb.levels_from_steps(&rs)?;
    if opts.whole_units {
        levels = pb.round_with(&rs, &levels)?;
    }
    pb.evaluate_with(&rs, opts.risk, &levels, &opts.finance)
}

/// The hindsight optimum: the optimizer run on the realised residual future as one path
/// (Balanced risk). *Savings captured* = realised savings of a plan ÷ this plan's savings.
pub fn hindsight(
    actuals: &[f64],
    existing: &[f64],
    pricing: &Pricing,
    whole_units: bool,
    finance: &FinanceParams,
) -> Result<PoolPlan, PlanError> {
    let opts = PlanOptions {
        risk: Risk::Balanced,
        whole_units,
        finance: finance.clone(),
    };
    optimize(&Demand::single(actuals.to_vec()), existing, pricing, &opts)
}

impl PoolProblem {
    /// Evaluates any `levels`: expected and on-demand cost, coverage, path percentiles and
    /// the finance summary of each purchase. `risk` only selects which risk-adjusted
    /// objective is reported in [`PoolPlan::risk_objective`].
    pub fn evaluate(
        &self,
        risk: Risk,
        levels: &Levels,
        finance: &FinanceParams,
    ) -> Result<PoolPlan, PlanError> {
        let rs = self.risk_steps(risk)?;
        self.evaluate_with(&rs, risk, levels, finance)
    }

    pub(crate) fn evaluate_with(
        &self,
        rs: &RiskSteps,
        risk: Risk,
        levels: &Levels,
        finance: &FinanceParams,
    ) -> Result<PoolPlan, PlanError> {
        self.check_levels(levels)?;
        let (purchases, kinds) = self.schedule_of(levels);
        let (o, bought) = self.evaluate_purchases(&purchases, Some(&kinds), finance)?;
        Ok(PoolPlan {
            risk,
            three_year: levels.three_year,
            one_year: levels.one_year.clone(),
            long_offer: self.long.as_ref().map(|o| o.id.clone()),
            short_offer: self.short.as_ref().map(|o| o.id.clone()),
            expected_cost: o.expected_cost,
            on_demand_cost: o.on_demand_cost,
            expected_savings: o.expected_savings,
            risk_objective: self.objective_with(rs, levels)?,
            coverage: o.coverage,
            savings_p10: o.savings_at_demand_rank(0.1),
            savings_p50: o.savings_at_demand_rank(0.5),
            savings_p90: o.savings_at_demand_rank(0.9),
            purchases: bought,
        })
    }

    /// The purchases of `levels` with a positive quantity: the long offer at hour 0, then
    /// the short offer at the start of each year, with their term kinds.
    pub(crate) fn schedule_of(&self, levels: &Levels) -> (Vec<ScheduledPurchase>, Vec<TermKind>) {
        let mut purchases = Vec::new();
        let mut kinds = Vec::new();
        if let Some(lo) = &self.long
            && levels.three_year > 0.0
        {
            purchases.push(ScheduledPurchase {
                offer: lo.clone(),
                start_hour: 0,
                quantity: levels.three_year,
            });
            kinds.push(TermKind::Long);
        }
        if let Some(sh) = &self.short {
            for (k, &x) in levels.one_year.iter().enumerate() {
                if x > 0.0 {
                    purchases.push(ScheduledPurchase {
                        offer: sh.clone(),
                        start_hour: self.block_range(k).0,
                        quantity: x,
                    });
                    kinds.push(TermKind::Short { year: k });
                }
            }
        }
        (purchases, kinds)
    }

    /// Evaluates `purchases` on this pool's residual demand (no periods); with `kinds`, also
    /// the finance summary of each purchase with a positive quantity.
    pub(crate) fn evaluate_purchases(
        &self,
        purchases: &[ScheduledPurchase],
        kinds: Option<&[TermKind]>,
        finance: &FinanceParams,
    ) -> Result<(ScheduleOutcome, Vec<PurchaseFinance>), PlanError> {
        let paths = Paths::Residual {
            residual: &self.residual,
            paths: self.paths,
            hours: self.hours,
        };
        schedule::evaluate(paths, self.p, self.currency, purchases, &[], finance, kinds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::plan::{MonthlyFlow, OfferChoice};
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn finance_of_a_fully_used_one_year_purchase() {
        // 1 unit always used, 1y all-upfront-ish: upfront 100 + 0.01/h; p = 0.05/h.
        let pricing = Pricing {
            currency: Currency::USD,
            on_demand_hourly: d("0.05"),
            offers: vec![OfferChoice {
                id: "1y".into(),
                term_hours: 8760,
                effective_hourly: d("100") / d("8760") + d("0.01"),
                upfront_per_unit: d("100"),
                recurring_hourly: d("0.01"),
            }],
        };
        let plan = optimize(
            &Demand::single(vec![1.0; 8760]),
            &[],
            &pricing,
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.three_year, 1.0);
        let f = &plan.purchases[0];
        assert_eq!(f.upfront_total.amount(), d("100"));
        assert_eq!(f.recurring_monthly.amount(), d("7.30"));
        assert_eq!(f.commitment_total.amount(), d("187.60"));
        assert_eq!(f.expected_usage_value.amount(), d("438.00"));
        assert_eq!(f.expected_savings.amount(), d("250.40"));
        assert_eq!(f.monthly.len(), 12);
        let sum = |g: fn(&MonthlyFlow) -> Money| {
            Money::sum(Currency::USD, f.monthly.iter().map(g)).unwrap()
        };
        assert_eq!(sum(|m| m.cash_outlay), f.commitment_total);
        assert_eq!(sum(|m| m.amortised_cost), f.commitment_total);
        assert_eq!(sum(|m| m.expected_usage_value), f.expected_usage_value);
        // Month 1: 36.50 − 107.30 < 0; month 3: 109.5 − 121.9 < 0; month 4: 146 − 129.2 ≥ 0.
        assert_eq!(f.break_even_month, Some(4));
        assert!((f.utilisation - 1.0).abs() < 1e-12);
        assert_eq!(f.prob_below_break_even, 0.0);
        assert_eq!(plan.coverage, 1.0);
        assert_eq!(f.esr, Some(d("0.571689")));
        assert!(f.npv.amount() > Decimal::ZERO && f.npv.amount() < d("250.40"));
        assert_eq!(plan.expected_savings.amount(), d("250.40"));
    }

    #[test]
    fn zero_levels_have_no_purchases() {
        let pricing = Pricing {
            currency: Currency::USD,
            on_demand_hourly: d("1"),
            offers: vec![],
        };
        let plan = optimize(
            &Demand::single(vec![2.0; 10]),
            &[],
            &pricing,
            &PlanOptions::default(),
        )
        .unwrap();
        assert!(plan.purchases.is_empty());
        assert_eq!(plan.expected_cost, plan.on_demand_cost);
        assert_eq!(plan.on_demand_cost.amount(), d("20"));
    }
}
