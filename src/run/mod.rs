//! A plan file run end to end: ingest → forecast → plan → the report's data.
//!
//! [`execute`] runs the steps in order, each in its own module:
//!
//! 1. `inputs`: the rate card, inventory and events files; the bill read once and
//!    aggregated three ways — **pool usage** (hourly consumed quantity by every dimension the
//!    rate card's pools and the budget groups match on: the series the optimizer plans on),
//!    **spend** (daily effective cost by the same dimensions: the spend no planned pool
//!    covers, "other spend", is forecast as cost series) and **display** (the plan file's
//!    `series.by` at `series.granularity`, default daily, for the per-series section); the
//!    planning date, horizon and quarters.
//! 2. `pools`: the pool usage forecast hourly over the horizon (with the plan's events),
//!    and per pool: every strategy turned into purchases on the **base** demand — what would
//!    be bought today ([`crate::plan::strategy`]) — and evaluated on each demand scenario
//!    ([`crate::plan::demand`], [`crate::plan::evaluate_schedule`]).
//! 3. `matrix`: the scenario matrix (every demand scenario × strategy, pools summed).
//! 4. `quarters`: the quarterly plan of the primary strategy (the first `recommended`
//!    strategy, else the first) on the first demand scenario — spend quantiles summed path
//!    by path across pools and other spend, fees, purchases, expirations, budgets — and the
//!    budget groups.
//! 5. `views`: the pools' waterline views, the recommendations with their rationale, the
//!    monthly savings/coverage and the display series' forecasts.
//! 6. `evidence`: the policy backtest of the recommended strategy on the history before
//!    `as_of` (quarterly decisions, each realised on the year after it), when the history
//!    allows.
//!
//! The result is a [`ReportData`]: the report stage only renders it.

mod error;
mod evidence;
mod inputs;
mod matrix;
mod pools;
mod quarters;
mod spend;
mod views;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

pub use error::RunError;

use crate::plan::strategy::Strategy;
use crate::progress::Progress;
use crate::report::{DataQuality, InputFile, ReportData};
use crate::scenario::{self, FiscalQuarter, ScenarioFile, StrategyKind};

/// Options of [`execute`] that do not live in the plan file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the plan file's `as_of`.
    pub as_of: Option<NaiveDate>,
}

/// When the run plans: the data's extent, the planning date and the horizon's grids.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// First hour of the data.
    pub(crate) data_start: DateTime<Utc>,
    /// End of the data (exclusive).
    pub(crate) data_end: DateTime<Utc>,
    /// Planning date.
    pub(crate) as_of: NaiveDate,
    /// Hour 0 of the plan (`as_of` at midnight UTC).
    pub(crate) start: DateTime<Utc>,
    /// Hours planned.
    pub(crate) horizon_hours: usize,
    /// The fiscal quarters of the quarterly plan.
    pub(crate) quarters: Vec<FiscalQuarter>,
    /// Per quarter: the days and hours it covers.
    pub(crate) quarter_ranges: Vec<quarters::QuarterRange>,
    /// The 730-hour months of the horizon (hour ranges).
    pub(crate) months: Vec<(usize, usize)>,
}

impl Frame {
    /// The quarters' hour ranges.
    pub(crate) fn q_hours(&self) -> Vec<(usize, usize)> {
        self.quarter_ranges
            .iter()
            .map(|r| (r.first_hour, r.end_hour))
            .collect()
    }
    /// The periods every schedule is evaluated over: the quarters, then the months.
    pub(crate) fn periods(&self) -> Vec<(usize, usize)> {
        let mut p = self.q_hours();
        p.extend(self.months.iter().copied());
        p
    }
}

/// Runs the plan file `plan` (already validated; paths as written, relative to `base_dir`).
///
/// # Errors
///
/// [`RunError`] naming the file, line or series for bad inputs; forecasting and planning
/// errors with the series or pool.
pub fn execute(
    plan: &ScenarioFile,
    base_dir: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<ReportData, RunError> {
    let inp = inputs::read_inputs(plan, base_dir)?;
    let strategies: Vec<Strategy> = inp.plan.strategies.iter().map(strategy_of).collect();
    pools::check_strategies(&inp, &strategies)?;
    let bill = inputs::read_bill(&inp, progress)?;
    let mut warnings: Vec<String> = inp.card.warnings().iter().map(|w| w.to_string()).collect();
    let frame = inputs::frame(&inp.plan, opts, &bill.usage.series, &mut warnings)?;
    let fsettings = pools::forecast_settings(&inp)?;
    let forecasts =
        pools::forecast_pools(&inp, &bill, &frame, &fsettings, progress, &mut warnings)?;
    let primary_idx = primary_strategy_index(&inp.plan);
    let (runs, skipped) = pools::plan_pools(
        &inp,
        &frame,
        &forecasts,
        &strategies,
        primary_idx,
        progress,
        &mut warnings,
    )?;
    let (spend_pools, spend_skipped) = spend::spend_pools(&inp, &bill, &frame, &runs, primary_idx)?;
    let mut skipped = skipped;
    skipped.extend(spend_skipped);
    warnings.extend(pools::unplanned_purchases(&inp, &strategies, &skipped));
    let evidence =
        evidence::evidence(&inp, &forecasts.history, frame.start, primary_idx, progress)?;
    let spend = inputs::spend_history(&bill, &runs, &inp.card, frame.start)?;
    let other = quarters::other_spend(&spend, &inp, &frame, &fsettings, progress)?;
    let currency = inp.currency;
    let matrix = matrix::matrix(&inp.plan, &runs, currency)?;
    let quarter_rows = quarters::quarter_rows(&inp, &frame, &runs, &other, primary_idx)?;
    let group_rows = quarters::group_rows(&inp, &frame, &runs, &other, primary_idx)?;
    let recommendations = views::recommendations(&inp.card, &runs, frame.start, primary_idx)?;
    let months = views::month_points(&frame, &runs, currency, primary_idx)?;
    let disp_hist = inputs::display_history(&bill, &inp.plan, frame.start)?;
    warnings.extend(views::unmatched_limits(&inp, &disp_hist));
    let (series, anomalies) = views::display_series(
        &disp_hist,
        &inp,
        &fsettings,
        frame.start,
        &forecasts.event_sets,
        progress,
    )?;
    if frame.horizon_hours == 0 {
        warnings.push("empty horizon".into());
    }

    let (plan, display) = (&inp.plan, &inp.display);
    let usage = &bill.usage;
    Ok(ReportData {
        name: plan.name.clone(),
        plan_file: display.source_name.clone(),
        as_of: frame.as_of,
        quarter: frame
            .quarters
            .first()
            .map_or_else(String::new, ToString::to_string),
        horizon: plan.horizon.text.clone(),
        horizon_hours: frame.horizon_hours,
        currency: currency.to_string(),
        cost_of_capital: plan.cost_of_capital,
        fiscal_year_start_month: plan.fiscal_year_start_month,
        rate_card: display.rates.display().to_string(),
        inventory: display.inventory.as_ref().map(|p| p.display().to_string()),
        events: inp.event_names.clone(),
        paths: plan.forecast.paths,
        seed: plan.forecast.seed,
        data_quality: DataQuality {
            files: usage
                .files
                .iter()
                .map(|f| InputFile {
                    path: inputs::shown_path(&f.path, &plan.inputs.paths, &display.inputs.paths),
                    format: format!("{:?}", f.format).to_lowercase(),
                    version: f.version.clone(),
                    rows: f.rows,
                })
                .collect(),
            reconciliation: usage.reconciliation.clone(),
            findings: usage.findings.clone(),
            gaps_filled: usage.series.iter().map(|s| s.gaps_filled).sum(),
            data_start: frame.data_start,
            data_end: frame.data_end,
        },
        series,
        anomalies,
        pools: runs.iter().map(|r| r.view.clone()).collect(),
        skipped_pools: skipped,
        demand_scenarios: plan
            .demand
            .iter()
            .map(|d| (d.name.clone(), views::describe_demand(d)))
            .collect(),
        strategies: plan
            .strategies
            .iter()
            .map(|s| (s.name.clone(), views::describe_strategy(s)))
            .collect(),
        primary: (
            plan.demand
                .first()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            plan.strategies
                .get(primary_idx)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        ),
        matrix,
        quarters: quarter_rows,
        group_budgets: group_rows,
        recommendations,
        months,
        evidence,
        spend_pools,
        warnings,
    })
}

/// The first `recommended` strategy, else the first strategy.
fn primary_strategy_index(plan: &ScenarioFile) -> usize {
    plan.strategies
        .iter()
        .position(|s| matches!(s.kind, StrategyKind::Recommended { .. }))
        .unwrap_or(0)
}

// ---- the plan file's vocabulary → the stages' (until the scenario uses the stages' enums) ----

fn strategy_of(s: &scenario::Strategy) -> Strategy {
    s.kind.clone()
}
