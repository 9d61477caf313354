//! The scenario matrix: every demand scenario × strategy, the planned pools summed (money
//! exactly, distributions path by path: every pool's paths come from the same seeds).

use rust_decimal::Decimal;

use super::RunError;
use super::pools::PoolRun;
use super::quarters::{at_money, sum_money, to_f64};
use crate::money::{Currency, Money};
use crate::plan::ScheduleOutcome;
use crate::report::MatrixCell;
use crate::scenario::ScenarioFile;

/// The matrix, demand-major.
pub(crate) fn matrix(
    plan: &ScenarioFile,
    runs: &[PoolRun],
    currency: Currency,
) -> Result<Vec<MatrixCell>, RunError> {
    let existing_fees = sum_money(runs.iter().map(|r| r.existing_fees_horizon), currency)?;
    let mut matrix = Vec::new();
    for (di, d) in plan.demand.iter().enumerate() {
        for (si, s) in plan.strategies.iter().enumerate() {
            let outs: Vec<&ScheduleOutcome> = runs.iter().map(|r| &r.outcomes[di][si]).collect();
            let committed: Vec<f64> = runs
                .iter()
                .map(|r| {
                    r.strategies[si]
                        .iter()
                        .map(|p| p.quantity * p.offer.term_hours as f64)
                        .sum::<f64>()
                })
                .collect();
            let mut c = cell(&outs, &committed, existing_fees, currency)?;
            c.demand = d.name.clone();
            c.strategy = s.name.clone();
            matrix.push(c);
        }
    }
    Ok(matrix)
}

/// One cell from the pools' outcomes and their committed unit-hours (full terms);
/// `existing_fees` are the existing commitments' fees over the horizon. Names are left empty.
pub(crate) fn cell(
    outs: &[&ScheduleOutcome],
    committed: &[f64],
    existing_fees: Money,
    currency: Currency,
) -> Result<MatrixCell, RunError> {
    let expected = sum_money(outs.iter().map(|o| o.expected_cost), currency)?;
    let nothing = sum_money(outs.iter().map(|o| o.on_demand_cost), currency)?;
    let savings = nothing.checked_sub(expected)?;
    let committed_hours: f64 = committed.iter().sum();
    let used: f64 = committed
        .iter()
        .zip(outs)
        .map(|(c, o)| o.utilisation * c)
        .sum();
    let residual_value: f64 = outs.iter().map(|o| to_f64(o.on_demand_cost)).sum();
    let covered_value: f64 = outs
        .iter()
        .map(|o| o.coverage * to_f64(o.on_demand_cost))
        .sum();
    let portfolio = portfolio_savings(outs, currency)?;
    Ok(MatrixCell {
        demand: String::new(),
        strategy: String::new(),
        total_cost: expected.checked_add(existing_fees)?,
        savings,
        esr: if nothing.is_zero() {
            None
        } else {
            savings
                .amount()
                .checked_div(nothing.amount())
                .map(|x| x.round_dp(4))
        },
        coverage: if residual_value > 0.0 {
            covered_value / residual_value
        } else {
            0.0
        },
        utilisation: if committed_hours > 0.0 {
            used / committed_hours
        } else {
            0.0
        },
        upfront: sum_money(outs.iter().map(|o| o.upfront), currency)?,
        npv: sum_money(outs.iter().map(|o| o.npv), currency)?,
        break_even_month: break_even(outs, committed_hours > 0.0, currency)?,
        savings_p10: at_money(&portfolio, 0.1, currency),
        savings_p90: at_money(&portfolio, 0.9, currency),
        prob_loss: if portfolio.is_empty() {
            0.0
        } else {
            portfolio
                .iter()
                .filter(|m| m.amount() < Decimal::ZERO)
                .count() as f64
                / portfolio.len() as f64
        },
    })
}

/// The month (1-based) when the cumulative net savings summed over the pools turn
/// non-negative after having been negative; month 1 when they never are negative but
/// something was bought.
pub(crate) fn break_even(
    outs: &[&ScheduleOutcome],
    bought: bool,
    currency: Currency,
) -> Result<Option<usize>, RunError> {
    let n_m = outs
        .iter()
        .map(|o| o.cumulative_net.len())
        .max()
        .unwrap_or(0);
    let mut break_even = None;
    let mut any_paid = false;
    for m in 0..n_m {
        let mut cum = Money::zero(currency);
        for o in outs {
            let v = o
                .cumulative_net
                .get(m)
                .or(o.cumulative_net.last())
                .copied()
                .unwrap_or(Money::zero(currency));
            cum = cum.checked_add(v)?;
        }
        if cum.amount() < Decimal::ZERO {
            any_paid = true;
        }
        if break_even.is_none() && any_paid && cum.amount() >= Decimal::ZERO {
            break_even = Some(m + 1);
        }
    }
    if !any_paid && bought {
        break_even = Some(1);
    }
    Ok(break_even)
}

/// The portfolio's savings per path, sorted: pools summed path by path (a single-path
/// demand scenario contributes its one path to every portfolio path).
pub(crate) fn portfolio_savings(
    outs: &[&ScheduleOutcome],
    currency: Currency,
) -> Result<Vec<Money>, RunError> {
    let n = outs
        .iter()
        .map(|o| o.savings_by_path.len())
        .max()
        .unwrap_or(0);
    let mut portfolio = Vec::with_capacity(n);
    for s in 0..n {
        let mut acc = Money::zero(currency);
        for o in outs {
            if let Some(v) = o.savings_by_path.get(s).or(o.savings_by_path.last()) {
                acc = acc.checked_add(*v)?;
            }
        }
        portfolio.push(acc);
    }
    portfolio.sort_by_key(|m| m.amount());
    Ok(portfolio)
}
