//! Realised outcome of a plan: apply the purchases a plan (and the baselines) made at a past
//! decision date to what actually happened after it. This is the step of the policy backtest
//! (`capplan backtest-plan`): savings captured = realised savings ÷ hindsight savings.

use serde::Serialize;

use super::portfolio::{offer_choices, series_in_pool};
use super::{
    Demand, FinanceParams, Levels, PlanError, PlanOptions, PoolProblem, Portfolio, Pricing, Risk,
    optimize,
};
use crate::money::Money;
use crate::pricing::{Inventory, RateCard};
use crate::series::UsageSeries;

/// What one pool's purchases cost on the actual demand after the decision date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealisedPool {
    /// Pool id.
    pub pool: String,
    /// Hours evaluated.
    pub hours: usize,
    /// Everything on demand.
    pub on_demand: Money,
    /// capplan's purchases + on-demand for the rest.
    pub capplan: Money,
    /// The lookback rules' purchases (name, cost).
    pub lookback: Vec<(String, Money)>,
    /// The hindsight optimum (the optimizer run on the actual demand).
    pub hindsight: Money,
}

impl RealisedPool {
    /// Realised savings of capplan ÷ hindsight savings (`None` when hindsight saves nothing).
    pub fn savings_captured(&self) -> Option<f64> {
        let h = (self.on_demand.amount() - self.hindsight.amount())
            .to_string()
            .parse::<f64>()
            .ok()?;
        let c = (self.on_demand.amount() - self.capplan.amount())
            .to_string()
            .parse::<f64>()
            .ok()?;
        (h > 0.0).then(|| c / h)
    }
}

/// Apply `portfolio` (planned at `start` over `hours`) to the actual usage `actuals` (hourly
/// series covering `[start, start + hours)`).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] when the actual series do not cover the window, or the pool's
/// offers cannot be read.
pub fn realised(
    card: &RateCard,
    inventory: &Inventory,
    portfolio: &Portfolio,
    actuals: &[UsageSeries],
    start: chrono::DateTime<chrono::Utc>,
    hours: usize,
    finance: &FinanceParams,
) -> Result<Vec<RealisedPool>, PlanError> {
    let mut out = Vec::new();
    for r in &portfolio.pools {
        let Some(pool) = card.pool(&r.pool) else {
            return Err(PlanError::InvalidInput(format!(
                "pool {} is not in the rate card",
                r.pool
            )));
        };
        let mut demand = vec![0.0; hours];
        for s in series_in_pool(pool, actuals) {
            let off = (start - s.start).num_hours();
            if off < 0 || off as usize + hours > s.values.len() {
                return Err(PlanError::InvalidInput(format!(
                    "series {} does not cover the {hours} hours after {start}",
                    s.key
                )));
            }
            for (t, d) in demand.iter_mut().enumerate() {
                *d += pool.to_pool_units(s.values[off as usize + t]);
            }
        }
        let existing = inventory.coverage(pool.id(), start, hours);
        let (offers, _) = offer_choices(card, pool, finance.annual_cost_of_capital)?;
        let pricing = Pricing {
            currency: pool.currency(),
            on_demand_hourly: pool.on_demand_rate(),
            offers,
        };
        let actual = Demand::single(demand);
        let problem = PoolProblem::new(&actual, &existing, &pricing)?;
        let levels = Levels {
            three_year: r.plan.three_year,
            one_year: r.plan.one_year.clone(),
        };
        let mine = problem.evaluate(Risk::Balanced, &levels, finance)?;
        let mut lookback = Vec::new();
        for b in &r.baselines {
            if let Some(rec) = &b.recommendation {
                let l = problem.levels_for_lookback(rec, true)?;
                let e = problem.evaluate(Risk::Balanced, &l, finance)?;
                lookback.push((b.name.clone(), e.expected_cost));
            }
        }
        let whole_units = r.plan.purchases.iter().all(|p| p.quantity.fract() == 0.0);
        let best = optimize(
            &actual,
            &existing,
            &pricing,
            &PlanOptions {
                risk: Risk::Balanced,
                whole_units,
                finance: finance.clone(),
            },
        )?;
        out.push(RealisedPool {
            pool: r.pool.clone(),
            hours,
            on_demand: mine.on_demand_cost,
            capplan: mine.expected_cost,
            lookback,
            hindsight: best.expected_cost,
        });
    }
    Ok(out)
}
