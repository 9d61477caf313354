//! The report's evidence: the policy backtest ([`crate::plan::backtest_policy`]) of the
//! recommended strategy on the history before `as_of`. At every quarter start with
//! [`MIN_HISTORY_DAYS`] of history before it and a year of history after it, capplan plans
//! on the history before the date and its purchases are realised on what happened in the
//! year after, beside the 7/30/60-day lookback rules and the hindsight optimum. One call to
//! `backtest_policy`; when the history is too short, a sentence says why there is none.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::RunError;
use super::inputs::Inputs;
use crate::money::{Currency, Money};
use crate::plan::strategy::Strategy;
use crate::plan::{
    Decision, MIN_HISTORY_DAYS, PolicyError, PolicySettings, PolicyStrategy, PolicyTotals,
    PortfolioSettings, backtest_policy,
};
use crate::progress::Progress;
use crate::report::{Evidence, EvidenceRow, EvidenceRule};
use crate::series::UsageSeries;

/// The evaluation window after each decision date.
pub(crate) const WINDOW_HOURS: usize = crate::plan::HOURS_1Y;
/// The window as the report names it.
const WINDOW: &str = "1y";

/// The policy backtest of the strategy `primary` (an index into the plan file's strategies)
/// on the hourly `history` of the pools' series before `start` (the plan's hour 0).
///
/// # Errors
///
/// Forecasting and planning errors of the backtest; a history too short for a decision date
/// is not an error but [`Evidence::Absent`].
pub(crate) fn evidence(
    inp: &Inputs,
    history: &[UsageSeries],
    start: DateTime<Utc>,
    primary: usize,
    progress: &dyn Progress,
) -> Result<Evidence, RunError> {
    let plan = &inp.plan;
    let Some(spec) = plan.strategies.get(primary) else {
        return Ok(Evidence::Absent("the plan file has no strategy.".into()));
    };
    let Strategy::Recommended { risk, ladder } = &spec.kind else {
        return Ok(Evidence::Absent(
            "the plan file has no recommended strategy to backtest.".into(),
        ));
    };
    // The pools' series that reach the plan's start (as the pools are planned on).
    let series: Vec<UsageSeries> = history
        .iter()
        .filter(|s| {
            inp.card
                .pools()
                .iter()
                .any(|p| p.covers_series(&s.key, &s.unit))
                && s.time_at(s.values.len()) >= start
        })
        .cloned()
        .collect();
    let days = series
        .iter()
        .map(|s| s.start)
        .min()
        .map_or(0, |first| (start - first).num_days());
    let settings = PolicySettings {
        hours: WINDOW_HOURS,
        decisions: Vec::new(),
        portfolio: PortfolioSettings {
            risk: *risk,
            paths: plan.forecast.paths,
            seed: plan.forecast.seed,
            cost_of_capital: plan.cost_of_capital,
            ladder: ladder.clone(),
            ..PortfolioSettings::default()
        },
        // Replayed as a strategy so a ladder's tranches are what is realised; with the
        // portfolio's own risk and ladder this plans nothing more.
        strategies: vec![PolicyStrategy {
            name: spec.name.clone(),
            strategy: spec.kind.clone(),
        }],
        list_anchor: None,
    };
    let backtest = match backtest_policy(&inp.card, &inp.inventory, &series, &settings, progress) {
        Ok(b) => b,
        Err(PolicyError::NoDecisionDate { .. }) => {
            return Ok(Evidence::Absent(format!(
                "the history before {} covers {days} days; a backtest needs {MIN_HISTORY_DAYS} days before a decision date (a quarter start) and {WINDOW} of actual usage after it ({} days in all).",
                start.date_naive(),
                MIN_HISTORY_DAYS + 365
            )));
        }
        Err(PolicyError::Forecast(e)) => {
            return Err(RunError::Forecast {
                series: e.series,
                message: e.source.to_string(),
            });
        }
        Err(e) => return Err(RunError::Data(format!("policy backtest: {e}"))),
    };
    let cur = inp.currency;
    let row = |decisions: &[Decision], date| {
        evidence_row(&PolicyTotals::of(decisions), &spec.name, date, cur)
    };
    let mut rows = Vec::new();
    for d in &backtest.decisions {
        let date: chrono::NaiveDate = d.date.parse().map_err(|_| {
            RunError::Data(format!("policy backtest: bad decision date {}", d.date))
        })?;
        rows.push(row(std::slice::from_ref(d), Some(date)));
    }
    Ok(Evidence::Shown {
        strategy: spec.name.clone(),
        window: WINDOW.into(),
        total: row(&backtest.decisions, None),
        decisions: rows,
    })
}

/// The report's row of `t`: the strategy `name` (capplan's plan if it was not replayed)
/// beside the lookback rules, with the margins over them.
fn evidence_row(
    t: &PolicyTotals,
    name: &str,
    date: Option<chrono::NaiveDate>,
    cur: Currency,
) -> EvidenceRow {
    let (cost, captured) = t
        .strategy(name)
        .map_or((t.capplan, t.captured), |s| (s.cost, s.captured));
    let money = |d: Decimal| Money::new(d, cur);
    EvidenceRow {
        date,
        on_demand: money(t.on_demand),
        capplan: money(cost),
        captured,
        hindsight: money(t.hindsight),
        rules: t
            .lookback
            .iter()
            .map(|r| EvidenceRule {
                name: r.name.clone(),
                cost: money(r.cost),
                captured: r.captured,
                margin: money(r.cost.saturating_sub(cost)),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::RealisedPool;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::new("USD").unwrap())
    }

    #[test]
    fn the_row_takes_the_replayed_strategy_and_measures_margins_from_it() {
        let decisions = [Decision {
            date: "2025-04-01".into(),
            pools: vec![RealisedPool {
                pool: "p".into(),
                hours: 1,
                on_demand: usd(10_000),
                capplan: usd(8_000),
                lookback: vec![("lookback 30d".into(), usd(9_000))],
                hindsight: usd(7_000),
                strategies: vec![("recommended".into(), usd(7_500))],
                planned_term_average: None,
                actual_term_average: 0.0,
                rationale: String::new(),
            }],
            spend: Vec::new(),
        }];
        let t = PolicyTotals::of(&decisions);
        let cur = Currency::new("USD").unwrap();
        let r = evidence_row(&t, "recommended", None, cur);
        assert_eq!(r.capplan, usd(7_500));
        // (100 − 75) / (100 − 70)
        assert_eq!(r.captured, Some(Decimal::new(8333, 4)));
        assert_eq!(r.rules[0].margin, usd(1_500));
        assert_eq!(r.rules[0].captured, Some(Decimal::new(3333, 4)));
        // Not replayed: capplan's own plan.
        let r = evidence_row(&t, "other", None, cur);
        assert_eq!(r.capplan, usd(8_000));
        assert_eq!(r.rules[0].margin, usd(1_000));
    }
}
