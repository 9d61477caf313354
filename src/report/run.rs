//! The whole planning run of a plan file: ingest → forecast → plan → the report's data.
//!
//! [`run`] reads the bill once and aggregates it three ways:
//!
//! 1. **Pool usage**: hourly consumed quantity by every dimension the rate card's pools (and
//!    the budget groups) match on — the series the optimizer plans on, forecast hourly over
//!    the whole horizon (as `capplan plan`).
//! 2. **Spend**: daily effective cost by the same dimensions. Series that a planned pool
//!    covers are priced from the plan (on-demand rate × expected on-demand hours + commitment
//!    fees); the others ("other spend": storage, serverless, instance types without a pool,
//!    pools that could not be planned) are forecast as cost series.
//! 3. **Display**: the plan file's `series.by` at `series.granularity` (default: daily), for the
//!    per-series forecasts, backtest accuracy, anomalies and capacity limits.
//!
//! Every strategy's purchases are decided on the **base** demand (the forecast distribution
//! with the plan's events) — what would be bought today — and then evaluated on each demand
//! scenario with [`crate::plan::evaluate_schedule`]. The quarterly plan is the first
//! `recommended` strategy (else the first strategy) on the first demand scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::forecast::{
    self, DemandForecast, ForecastSettings, anomaly::AnomalyConfig, events::EventSet,
};
use crate::ingest::{
    self, AggregateOptions, Filter, Finding, InputOptions, Measure, Reconciliation,
};
use crate::money::{Currency, Money, Rate};
use crate::plan::{
    self, Cadence, Demand, FinanceParams, LadderSettings, OfferChoice, PoolResult,
    PortfolioSettings, ScheduleOutcome, ScheduledPurchase, evaluate_schedule,
};
use crate::pricing::{Inventory, Pool, RateCard, Term};
use crate::scenario::{self, DemandSource, FiscalQuarter, ScenarioFile, StrategyKind};
use crate::series::{Granularity, UsageSeries};

use super::ReportError;
use crate::progress::Progress;

/// Options of [`run`] that do not live in the plan file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the plan file's `as_of`.
    pub as_of: Option<NaiveDate>,
}

/// One input file as read.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// Path as written in the plan file (relative paths stay relative).
    pub path: String,
    /// Detected or forced format.
    pub format: String,
    /// FOCUS version, when FOCUS.
    pub version: Option<String>,
    /// Rows read.
    pub rows: u64,
}

/// Data quality of the bill: row accounting and findings.
#[derive(Debug, Clone, Serialize)]
pub struct DataQuality {
    /// Files read.
    pub files: Vec<InputFile>,
    /// Every row used or excluded with a reason; balanced to the source.
    pub reconciliation: Reconciliation,
    /// Findings (respelled values, refunds, ...).
    pub findings: Vec<Finding>,
    /// Empty buckets filled with zero in the pool usage series.
    pub gaps_filled: usize,
    /// First and last hour of the data.
    pub data_start: DateTime<Utc>,
    /// End of the data (exclusive).
    pub data_end: DateTime<Utc>,
}

/// The forecast of one display series, thinned for the report.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesForecast {
    /// `dim=value,...`.
    pub key: String,
    /// Unit of the values.
    pub unit: String,
    /// Effective cost of the series over the 90 days before `as_of` (ranks the series).
    pub recent_spend: Money,
    /// History (last 365 days at most), daily values.
    pub history: Vec<(NaiveDate, f64)>,
    /// Forecast per day: (date, p10, p50, p90).
    pub forecast: Vec<(NaiveDate, f64, f64, f64)>,
    /// Model chosen.
    pub model: String,
    /// Backtest MASE of the chosen model (lower is better; < 1 beats seasonal naive).
    pub mase: Option<f64>,
    /// Measured coverage of the 80 % and 95 % intervals.
    pub coverage80: Option<f64>,
    /// Measured coverage of the 95 % interval.
    pub coverage95: Option<f64>,
    /// Anomalies found in the history.
    pub anomalies: usize,
    /// Capacity limit and when p50/p90 first exceed it.
    pub limit: Option<f64>,
    /// First date the median exceeds the limit.
    pub saturation_p50: Option<NaiveDate>,
    /// First date the 90th percentile exceeds the limit.
    pub saturation_p90: Option<NaiveDate>,
    /// Notes of the forecaster.
    pub notes: Vec<String>,
}

/// One anomaly of a display series.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyRow {
    /// Series.
    pub series: String,
    /// Start of the anomaly.
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// Peak robust z-score.
    pub peak_z: f64,
    /// Signed size at the peak, in the series' unit.
    pub size: f64,
    /// `spike` or `dip`.
    pub direction: String,
}

/// One cell of the scenario matrix.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    /// Demand scenario.
    pub demand: String,
    /// Strategy.
    pub strategy: String,
    /// Existing commitments' fees in the horizon + new commitments (full terms) + expected
    /// on-demand, over the planned pools.
    pub total_cost: Money,
    /// Savings against buying nothing new under the same demand.
    pub savings: Money,
    /// Savings ÷ the cost of buying nothing new (without existing fees).
    pub esr: Option<Decimal>,
    /// Share of the residual demand (after existing commitments) the new purchases cover.
    pub coverage: f64,
    /// Share of the new commitments' unit-hours used.
    pub utilisation: f64,
    /// Upfront cash of the new purchases.
    pub upfront: Money,
    /// NPV of the new purchases' cash view.
    pub npv: Money,
    /// Month (1-based) when the cumulative savings turn positive, over all pools.
    pub break_even_month: Option<usize>,
    /// 10th percentile over demand paths of the portfolio's savings (pools summed path by
    /// path: every pool's paths come from the same seeds).
    pub savings_p10: Money,
    /// 90th percentile of the portfolio's savings.
    pub savings_p90: Money,
    /// Share of demand paths on which the portfolio costs more than buying nothing new.
    pub prob_loss: f64,
}

/// One quarter of the finance plan.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterRow {
    /// `FY2027-Q2`.
    pub quarter: String,
    /// First day covered (the quarter's first day, or `as_of`).
    pub start: NaiveDate,
    /// First day after the quarter.
    pub end: NaiveDate,
    /// Total usage spend forecast: p10, p50, p90 and mean.
    pub spend_p10: Money,
    /// Median.
    pub spend_p50: Money,
    /// 90th percentile.
    pub spend_p90: Money,
    /// Mean.
    pub spend_expected: Money,
    /// Commitment fees (amortised): existing + new.
    pub committed: Money,
    /// Expected on-demand spend (planned pools + other spend).
    pub on_demand: Money,
    /// Other spend (series no planned pool covers), expected.
    pub other_spend: Money,
    /// Upfront cash of purchases in the quarter.
    pub upfront: Money,
    /// Recurring commitment fees paid in the quarter (new purchases; existing at their
    /// amortised rate).
    pub recurring: Money,
    /// New purchases in the quarter: `units × offer` texts.
    pub purchases: Vec<String>,
    /// Commitments expiring in the quarter.
    pub expirations: Vec<String>,
    /// Expected savings of the new purchases in the quarter.
    pub expected_savings: Money,
    /// Forecast usage of each planned pool in the quarter.
    pub usage: Vec<PoolUsage>,
    /// Budget of the quarter.
    pub budget: Option<Money>,
    /// Budget − p50 spend (negative: over).
    pub variance: Option<Money>,
    /// p50 over budget.
    pub over_budget: bool,
    /// p90 over budget (a risk, not yet a forecast overrun).
    pub p90_over_budget: bool,
}

/// Forecast usage of one pool in one quarter, in unit-hours (spread over demand paths).
#[derive(Debug, Clone, Serialize)]
pub struct PoolUsage {
    /// Pool id.
    pub pool: String,
    /// Pool unit.
    pub unit: String,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Expected unit-hours covered by existing commitments.
    pub existing_covered: f64,
    /// Expected unit-hours covered by the new purchases.
    pub new_covered: f64,
}

/// One group's spend against its budget in one quarter.
#[derive(Debug, Clone, Serialize)]
pub struct GroupQuarterRow {
    /// Group name.
    pub group: String,
    /// Quarter label.
    pub quarter: String,
    /// Expected spend of the group's series.
    pub expected_spend: Money,
    /// Budget.
    pub budget: Option<Money>,
    /// Budget − expected spend.
    pub variance: Option<Money>,
    /// Expected spend over budget.
    pub over_budget: bool,
}

/// One purchase recommended by the primary strategy.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Pool id.
    pub pool: String,
    /// Offer id.
    pub offer: String,
    /// `3y`, `1y`.
    pub term: String,
    /// Units.
    pub quantity: f64,
    /// Unit of the pool.
    pub unit: String,
    /// Purchase date.
    pub date: NaiveDate,
    /// Upfront payment.
    pub upfront: Money,
    /// Recurring fee per 730-hour month.
    pub recurring_monthly: Money,
    /// Full-term commitment cost.
    pub commitment_cost: Money,
    /// Expected savings over the term.
    pub expected_savings: Money,
    /// Expected utilisation.
    pub utilisation: f64,
    /// Break-even month.
    pub break_even_month: Option<usize>,
    /// NPV.
    pub npv: Money,
    /// Why: the pool's figures in one sentence.
    pub rationale: String,
}

/// What the waterline chart of one pool needs.
#[derive(Debug, Clone, Serialize)]
pub struct PoolView {
    /// Pool id.
    pub pool: String,
    /// Pool description.
    pub description: String,
    /// Unit.
    pub unit: String,
    /// Series the pool covers.
    pub series: Vec<String>,
    /// Demand per day (average units per hour): (date, p10, p50, p90).
    pub demand: Vec<(NaiveDate, f64, f64, f64)>,
    /// Existing commitments per day (average units).
    pub existing: Vec<(NaiveDate, f64)>,
    /// Recommended long-term units per day.
    pub recommended_long: Vec<(NaiveDate, f64)>,
    /// Recommended short-term units per day.
    pub recommended_short: Vec<(NaiveDate, f64)>,
    /// Expected cost of all on-demand (after existing commitments) over the horizon.
    pub on_demand_cost: Money,
    /// Expected cost with the recommendation.
    pub recommended_cost: Money,
    /// Baselines on the same forecast (name, expected cost).
    pub baselines: Vec<(String, Money)>,
}

/// Monthly figures of the primary strategy on base demand.
#[derive(Debug, Clone, Serialize)]
pub struct MonthPoint {
    /// First day of the 730-hour month.
    pub date: NaiveDate,
    /// Cumulative net savings (usage value − cash) at the month's end.
    pub cumulative_net: Money,
    /// Coverage of demand by all commitments (existing + new), %.
    pub coverage_pct: f64,
    /// Utilisation of the new commitments, %.
    pub utilisation_pct: f64,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// Run name (file names).
    pub name: String,
    /// Plan file as given.
    pub plan_file: String,
    /// Planning date.
    pub as_of: NaiveDate,
    /// The report's quarter (the fiscal quarter containing `as_of`).
    pub quarter: String,
    /// Horizon as written.
    pub horizon: String,
    /// Hours planned.
    pub horizon_hours: usize,
    /// Currency of every amount.
    pub currency: String,
    /// Annual cost of capital.
    pub cost_of_capital: Decimal,
    /// First month of the fiscal year.
    pub fiscal_year_start_month: u32,
    /// Rate card and inventory paths as written.
    pub rate_card: String,
    /// Inventory file.
    pub inventory: Option<String>,
    /// Events files applied to the base demand.
    pub events: Vec<String>,
    /// Forecast settings: paths and seed.
    pub paths: usize,
    /// Seed.
    pub seed: u64,
    /// Data quality.
    pub data_quality: DataQuality,
    /// Display series forecasts, by recent spend (largest first).
    pub series: Vec<SeriesForecast>,
    /// Anomalies of the display series, largest |z| first.
    pub anomalies: Vec<AnomalyRow>,
    /// Planned pools.
    pub pools: Vec<PoolView>,
    /// Pools not planned, with the reason.
    pub skipped_pools: Vec<(String, String)>,
    /// Demand scenarios (rows), with a description.
    pub demand_scenarios: Vec<(String, String)>,
    /// Strategies (columns), with a description.
    pub strategies: Vec<(String, String)>,
    /// The primary strategy and demand scenario.
    pub primary: (String, String),
    /// Scenario matrix, demand-major.
    pub matrix: Vec<MatrixCell>,
    /// Quarterly plan.
    pub quarters: Vec<QuarterRow>,
    /// Budget groups per quarter.
    pub group_budgets: Vec<GroupQuarterRow>,
    /// Recommended purchases (primary strategy).
    pub recommendations: Vec<Recommendation>,
    /// Monthly figures of the primary strategy on base demand.
    pub months: Vec<MonthPoint>,
    /// Warnings of the run (unmatched events, quarters beyond the horizon, ...).
    pub warnings: Vec<String>,
}

// The plan file carries the stages' own types: these two are identities now.
fn input_format(f: ingest::Format) -> ingest::Format {
    f
}

fn granularity(g: Granularity) -> Granularity {
    g
}

fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|e| ReportError::Read {
        path: path.display().to_string(),
        source: e,
    })
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
}

fn dims(key: &crate::series::SeriesKey) -> impl Iterator<Item = (&str, &str)> {
    key.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn key_matches(filter: &BTreeMap<String, String>, key: &crate::series::SeriesKey) -> bool {
    filter
        .iter()
        .all(|(k, v)| key.0.iter().any(|(kk, vv)| kk == k && vv == v))
}

/// History strictly before `cut` (series that end earlier keep all they have).
fn cut_before(series: &[UsageSeries], cut: DateTime<Utc>) -> Vec<UsageSeries> {
    let mut out = series.to_vec();
    for s in &mut out {
        let mut keep = 0;
        while keep < s.values.len() && s.time_at(keep) < cut {
            keep += 1;
        }
        s.values.truncate(keep);
        if let Some(c) = s.cost.as_mut() {
            c.truncate(keep);
        }
    }
    out.retain(|s| !s.values.is_empty());
    out
}

/// Forecasts every series in parallel (deterministic: each forecast depends only on its
/// series), reporting progress per series.
fn forecast_many(
    series: &[UsageSeries],
    settings: &ForecastSettings,
    progress: &dyn Progress,
    what: &str,
) -> Result<Vec<DemandForecast>, ReportError> {
    progress.start(what, series.len());
    series
        .par_iter()
        .map(|s| {
            let r = forecast::forecast_usage(s, settings).map_err(|e| ReportError::Forecast {
                series: s.key.to_string(),
                message: e.to_string(),
            });
            progress.inc();
            r
        })
        .collect()
}

fn money_of(amount: f64, cur: Currency) -> Result<Money, ReportError> {
    Ok(Rate::new(Money::new(Decimal::ONE, cur))
        .cost_of(amount.max(0.0))?
        .round())
}

fn sum_money(items: impl IntoIterator<Item = Money>, cur: Currency) -> Result<Money, ReportError> {
    let mut acc = Money::zero(cur);
    for m in items {
        acc = acc.checked_add(m)?;
    }
    Ok(acc)
}

/// Lower empirical quantile of sorted amounts (zero when empty).
fn at_money(sorted: &[Money], q: f64, cur: Currency) -> Money {
    let n = sorted.len();
    if n == 0 {
        return Money::zero(cur);
    }
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// Lower empirical quantile.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// A strategy turned into purchases for one pool.
struct PoolPurchases {
    purchases: Vec<ScheduledPurchase>,
}

/// Everything computed for one planned pool.
struct PoolRun {
    pool_id: String,
    currency: Currency,
    result: PoolResult,
    view: PoolView,
    /// Per strategy: purchases (same order as the plan file's strategies).
    strategies: Vec<PoolPurchases>,
    /// Per demand scenario, per strategy: the outcome.
    outcomes: Vec<Vec<ScheduleOutcome>>,
    /// Existing commitments' fees per quarter and over the horizon.
    existing_fees_quarters: Vec<Money>,
    existing_fees_horizon: Money,
    /// Series keys of the pool with their share of the pool's p50 demand per quarter.
    series_shares: Vec<(crate::series::SeriesKey, Vec<f64>)>,
}

fn offer_choice(card: &RateCard, id: &str) -> Option<OfferChoice> {
    card.offer(id).map(|o| OfferChoice {
        id: o.id().to_owned(),
        term_hours: o.term_hours() as usize,
        effective_hourly: o.effective_hourly(),
        upfront_per_unit: o.upfront(),
        recurring_hourly: o.recurring_hourly(),
    })
}

// The plan file carries the plan stage's own types: these two are identities now.
fn risk_of(r: plan::Risk) -> plan::Risk {
    r
}

fn ladder_of(l: &LadderSettings) -> LadderSettings {
    l.clone()
}

fn describe_demand(d: &scenario::DemandScenario) -> String {
    let base = match d.source {
        DemandSource::Forecast => "the forecast distribution".to_string(),
        DemandSource::Quantile(q) => format!("the p{:02.0} forecast trajectory", q * 100.0),
        DemandSource::Multiplier(m) => format!("the forecast distribution × {m}"),
    };
    if d.events.is_empty() {
        base
    } else {
        format!("{base} with {} extra event file(s)", d.events.len())
    }
}

fn describe_strategy(s: &scenario::Strategy) -> String {
    match &s.kind {
        StrategyKind::None => "buy nothing; existing commitments run off".into(),
        StrategyKind::Recommended { risk, ladder } => {
            let r = match *risk {
                r if r == plan::Risk::CONSERVATIVE => "conservative".to_string(),
                r if r == plan::Risk::AGGRESSIVE => "aggressive".to_string(),
                plan::Risk::Balanced => "balanced".to_string(),
                plan::Risk::Quantile(q) => format!("utilisation quantile {q}"),
                plan::Risk::Cvar(a) => format!("CVaR {a}"),
            };
            match ladder {
                Some(l) => format!(
                    "capplan's optimizer ({r}), long-term purchase laddered {} over {} months",
                    match l.cadence {
                        Cadence::Monthly => "monthly",
                        Cadence::Quarterly => "quarterly",
                    },
                    l.period_months
                ),
                None => format!("capplan's optimizer ({r})"),
            }
        }
        StrategyKind::Coverage { percent, term } => format!(
            "commit {percent} % of mean forecast demand with {} terms",
            match term {
                Term::OneYear => "1-year (renewed yearly)",
                Term::ThreeYears => "3-year",
            }
        ),
        StrategyKind::Purchases(p) => format!("{} listed purchase(s)", p.len()),
        StrategyKind::Lookback { days } => {
            format!("the providers' rule: replay the last {days} days and buy the best level")
        }
    }
}

/// Runs the plan file `plan` (already validated; paths as written, relative to `base_dir`).
///
/// # Errors
///
/// [`ReportError`] naming the file, line or series for bad inputs; forecasting and planning
/// errors with the series or pool.
pub fn run(
    plan: &ScenarioFile,
    base_dir: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<ReportData, ReportError> {
    let display = plan.clone();
    let plan = plan.clone().resolve_paths(base_dir);
    let file = plan.source_name.clone();

    // ---------------- pricing ----------------
    let card = RateCard::from_toml_str(
        &read_text(&plan.rates)?,
        &display.rates.display().to_string(),
    )?;
    let inventory = match &plan.inventory {
        Some(p) => {
            let inv = Inventory::from_toml_str(
                &read_text(p)?,
                &display
                    .inventory
                    .as_ref()
                    .map_or(String::new(), |d| d.display().to_string()),
            )?;
            inv.validate(&card)?;
            inv
        }
        None => Inventory::default(),
    };
    let currency = Currency::new(&plan.budget.currency).map_err(|e| ReportError::Input {
        file: file.clone(),
        line: 0,
        message: format!("budget.currency: {e}"),
    })?;
    for pool in card.pools() {
        if pool.currency() != currency {
            return Err(ReportError::Input {
                file: display.rates.display().to_string(),
                line: pool.defined_at().1,
                message: format!(
                    "pool {} is priced in {}, the plan's budget currency is {}; use one currency",
                    pool.id(),
                    pool.currency(),
                    currency
                ),
            });
        }
    }
    let mut event_sets: Vec<EventSet> = Vec::new();
    let mut event_names = Vec::new();
    if let (Some(p), Some(d)) = (&plan.events, &display.events) {
        event_sets.push(EventSet::from_toml_str(
            &read_text(p)?,
            &d.display().to_string(),
        )?);
        event_names.push(d.display().to_string());
    }

    // ---------------- ingest ----------------
    progress.start("reading the bill", 1);
    let input = InputOptions {
        inputs: plan.inputs.paths.clone(),
        format: plan.inputs.format.map(input_format),
        currency: match &plan.inputs.currency {
            Some(c) => Some(Currency::new(c).map_err(|e| ReportError::Input {
                file: file.clone(),
                line: 0,
                message: format!("inputs.currency: {e}"),
            })?),
            None => None,
        },
        lenient: plan.inputs.lenient,
        allow_duplicates: plan.inputs.allow_duplicates,
        tidy: ingest::TidyColumns {
            time: plan.inputs.tidy.time.clone(),
            quantity: plan.inputs.tidy.quantity.clone(),
            unit: plan.inputs.tidy.unit.clone(),
            cost: plan.inputs.tidy.cost.clone(),
        },
    };
    let loaded = ingest::load(&input)?;
    let filters: Vec<Filter> = plan
        .series
        .filter
        .iter()
        .map(|(k, v)| Filter {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    let mut pool_dims: BTreeSet<String> = card
        .pools()
        .iter()
        .flat_map(|p| p.match_rule().rules().keys().cloned())
        .collect();
    for g in &plan.budget.groups {
        pool_dims.extend(g.filter.keys().cloned());
    }
    let pool_dims: Vec<String> = pool_dims.into_iter().collect();
    let usage = loaded.aggregate(&AggregateOptions {
        by: pool_dims.clone(),
        granularity: Some(Granularity::Hour),
        filters: filters.clone(),
        measure: Measure::Quantity,
    })?;
    progress.inc();
    let data_start = usage
        .series
        .iter()
        .map(|s| s.start)
        .min()
        .ok_or_else(|| ReportError::Data("the bill has no usage rows".into()))?;
    let data_end = usage
        .series
        .iter()
        .map(|s| s.time_at(s.values.len()))
        .max()
        .unwrap_or(data_start);
    let as_of = match opts.as_of.or(plan.as_of) {
        Some(d) => d,
        None => {
            let d = data_end.date_naive();
            if midnight(d) < data_end {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            }
        }
    };
    let start = midnight(as_of);
    if start <= data_start + Duration::days(28) {
        return Err(ReportError::Data(format!(
            "as_of {as_of} leaves less than 4 weeks of history (the data starts {}); choose a later as_of",
            data_start.date_naive()
        )));
    }
    let mut warnings: Vec<String> = Vec::new();
    if start > data_end + Duration::days(1) {
        return Err(ReportError::Data(format!(
            "as_of {as_of} is after the end of the data ({}); the plan would start from a gap. Choose as_of ≤ {}",
            data_end.date_naive(),
            data_end.date_naive()
        )));
    }
    let horizon_hours = plan.horizon.steps(3600);
    let horizon_end = start + Duration::hours(horizon_hours as i64);

    let quarters: Vec<FiscalQuarter> = plan.planned_quarters(as_of);
    let mut quarter_ranges: Vec<(NaiveDate, NaiveDate, usize, usize)> = Vec::new();
    for q in &quarters {
        let (a, b) = q
            .bounds(plan.fiscal_year_start_month)
            .ok_or_else(|| ReportError::Data(format!("quarter {q} is out of range")))?;
        let a = a.max(as_of);
        let ha = (midnight(a) - start).num_hours().max(0) as usize;
        let hb = (midnight(b) - start).num_hours().max(0) as usize;
        if hb > horizon_hours {
            warnings.push(format!(
                "{q} ends after the horizon ({}); its figures cover only the part inside it",
                plan.horizon
            ));
        }
        quarter_ranges.push((a, b, ha.min(horizon_hours), hb.min(horizon_hours)));
    }
    let q_hours: Vec<(usize, usize)> = quarter_ranges.iter().map(|r| (r.2, r.3)).collect();

    // ---------------- forecasts ----------------
    let mut fsettings = ForecastSettings::new(horizon_hours);
    fsettings.windows = plan.forecast.windows;
    fsettings.backtest_horizon = plan
        .forecast
        .backtest_horizon
        .as_ref()
        .map(|s| s.steps(3600));
    fsettings.step = plan.forecast.step.as_ref().map(|s| s.steps(3600));
    fsettings.anomalies =
        AnomalyConfig::new(plan.forecast.anomaly_threshold).map_err(|e| ReportError::Input {
            file: file.clone(),
            line: 0,
            message: format!("forecast.anomaly_threshold: {e}"),
        })?;
    fsettings.clean_anomalies = plan.forecast.clean_anomalies;
    fsettings.current_regime = !plan.forecast.all_history;

    let history = cut_before(&usage.series, start);
    let pool_series: Vec<UsageSeries> = history
        .iter()
        .filter(|s| card.pools().iter().any(|p| p.covers(dims(&s.key), &s.unit)))
        .filter(|s| s.time_at(s.values.len()) >= start)
        .cloned()
        .collect();
    let mut base_forecasts =
        forecast_many(&pool_series, &fsettings, progress, "forecasting pool usage")?;
    for ev in &event_sets {
        for w in forecast::apply_events(ev, &mut base_forecasts)
            .map_err(|e| ReportError::Events(format!("applying {}: {e}", ev.source_name())))?
        {
            warnings.push(w.to_string());
        }
    }

    // ---------------- pools ----------------
    let n_paths = plan.forecast.paths;
    let seed = plan.forecast.seed;
    let coc = plan.cost_of_capital;
    let finance = FinanceParams {
        annual_cost_of_capital: coc,
        start: Some(start.naive_utc()),
    };
    let mut lookback_days: Vec<usize> = vec![7, 30, 60];
    for s in &plan.strategies {
        if let StrategyKind::Lookback { days } = s.kind {
            lookback_days.push(days as usize);
        }
    }
    lookback_days.sort_unstable();
    lookback_days.dedup();
    // Demand scenarios with extra events: their forecasts.
    let mut scenario_forecasts: Vec<Option<Vec<DemandForecast>>> = Vec::new();
    for (d, dd) in plan.demand.iter().zip(&display.demand) {
        if d.events.is_empty() {
            scenario_forecasts.push(None);
            continue;
        }
        let mut f = base_forecasts.clone();
        for (p, shown) in d.events.iter().zip(&dd.events) {
            let set = EventSet::from_toml_str(&read_text(p)?, &shown.display().to_string())?;
            for w in forecast::apply_events(&set, &mut f)
                .map_err(|e| ReportError::Events(format!("applying {}: {e}", shown.display())))?
            {
                warnings.push(format!("demand scenario {}: {w}", d.name));
            }
        }
        scenario_forecasts.push(Some(f));
    }
    // Month grid of the horizon (730-hour months, as the cash views).
    let months: Vec<(usize, usize)> = (0..horizon_hours.div_ceil(plan::HOURS_PER_MONTH))
        .map(|m| {
            (
                m * plan::HOURS_PER_MONTH,
                ((m + 1) * plan::HOURS_PER_MONTH).min(horizon_hours),
            )
        })
        .collect();
    let n_q = q_hours.len();
    let mut periods = q_hours.clone();
    periods.extend(months.iter().copied());

    let planned_pools: Vec<&Pool> = card.pools().iter().collect();
    progress.start("planning pools", planned_pools.len());
    let mut runs: Vec<PoolRun> = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    for pool in planned_pools {
        let Some((base, series_names)) = plan::pool_demand(pool, &base_forecasts, n_paths, seed)?
        else {
            skipped.push((
                pool.id().to_owned(),
                format!(
                    "no usage series in {} matches it; spend-based pools (Savings Plans) need a cost series and are not planned yet — their existing commitments stay in the spend forecast",
                    pool.series_unit().unwrap_or("the pool's unit")
                ),
            ));
            progress.inc();
            continue;
        };
        let existing = inventory.coverage(pool.id(), start, horizon_hours);
        let whole_units =
            !pool.unit().contains('$') && !pool.unit().to_ascii_uppercase().contains("USD");
        // Strategies → purchases, decided on base demand.
        let mut strategies = Vec::new();
        let mut primary_result: Option<PoolResult> = None;
        let mut baseline_result: Option<PoolResult> = None;
        let (choices, _) = plan::offer_choices(&card, pool, coc)?;
        if choices.is_empty() {
            skipped.push((pool.id().to_owned(), "the pool has no offers".into()));
            progress.inc();
            continue;
        }
        // The optimizer's plan of this pool on the base demand under one risk setting
        // (baselines and lookback recommendations included).
        let plan_with =
            |risk: plan::Risk, ladder: Option<LadderSettings>| -> Result<PoolResult, ReportError> {
                let settings = PortfolioSettings {
                    risk,
                    paths: n_paths,
                    seed,
                    cost_of_capital: coc,
                    lookback_days: lookback_days.clone(),
                    ladder,
                };
                plan::plan_pool(
                    &card,
                    pool,
                    &inventory,
                    base.clone(),
                    series_names.clone(),
                    start,
                    &history,
                    &settings,
                )?
                .map_err(|sk| ReportError::Data(sk.reason))
            };
        for s in &plan.strategies {
            let purchases = match &s.kind {
                StrategyKind::None => Vec::new(),
                StrategyKind::Recommended { risk, ladder } => {
                    let r = plan_with(risk_of(*risk), ladder.as_ref().map(ladder_of))?;
                    let buys: Vec<&plan::PurchaseFinance> = match &r.ladder {
                        Some(l) => l
                            .tranches
                            .iter()
                            .map(|t| &t.purchase)
                            .chain(l.other_purchases.iter())
                            .collect(),
                        None => r.plan.purchases.iter().collect(),
                    };
                    let out = buys
                        .into_iter()
                        .filter(|b| b.quantity > 0.0)
                        .map(|b| {
                            Ok(ScheduledPurchase {
                                offer: offer_choice(&card, &b.offer_id).ok_or_else(|| {
                                    ReportError::Data(format!("offer {} vanished", b.offer_id))
                                })?,
                                start_hour: b.start_hour,
                                quantity: b.quantity,
                            })
                        })
                        .collect::<Result<Vec<_>, ReportError>>()?;
                    if primary_result.is_none() {
                        primary_result = Some(r.clone());
                    }
                    if baseline_result.is_none() {
                        baseline_result = Some(r);
                    }
                    out
                }
                StrategyKind::Coverage { percent, term } => {
                    let term_h = match term {
                        Term::OneYear => plan::HOURS_1Y,
                        Term::ThreeYears => plan::HOURS_3Y,
                    };
                    let Some(offer) = choices
                        .iter()
                        .filter(|o| o.term_hours == term_h)
                        .min_by(|a, b| a.effective_hourly.cmp(&b.effective_hourly))
                    else {
                        warnings.push(format!(
                            "strategy {}: pool {} has no {} offer; nothing bought there",
                            s.name,
                            pool.id(),
                            if term_h == plan::HOURS_1Y { "1y" } else { "3y" }
                        ));
                        strategies.push(PoolPurchases {
                            purchases: Vec::new(),
                        });
                        continue;
                    };
                    let share = percent
                        .checked_div(Decimal::from(100))
                        .and_then(|d| d.to_string().parse::<f64>().ok())
                        .unwrap_or(0.0);
                    let mut out = Vec::new();
                    let mut h0 = 0;
                    while h0 < horizon_hours {
                        let h1 = (h0 + term_h).min(horizon_hours);
                        let mean_d = base
                            .paths
                            .iter()
                            .map(|p| p[h0..h1].iter().sum::<f64>())
                            .sum::<f64>()
                            / (base.paths.len() * (h1 - h0)) as f64;
                        let mean_e = existing[h0..h1].iter().sum::<f64>() / (h1 - h0) as f64;
                        let mut q = (share * mean_d - mean_e).max(0.0);
                        if whole_units {
                            q = q.floor();
                        }
                        if q > 0.0 {
                            out.push(ScheduledPurchase {
                                offer: offer.clone(),
                                start_hour: h0,
                                quantity: q,
                            });
                        }
                        h0 += term_h;
                    }
                    out
                }
                StrategyKind::Purchases(list) => {
                    let mut out = Vec::new();
                    for p in list.iter().filter(|p| p.pool == pool.id()) {
                        let offer = offer_choice(&card, &p.offer)
                            .filter(|_| {
                                card.offer(&p.offer).is_some_and(|o| o.pool() == pool.id())
                            })
                            .ok_or_else(|| ReportError::Input {
                                file: file.clone(),
                                line: p.line,
                                message: format!(
                                    "offer {:?} is not an offer of pool {:?} in {}; use one of the pool's offer ids",
                                    p.offer,
                                    p.pool,
                                    display.rates.display()
                                ),
                            })?;
                        let h = (midnight(p.date) - start).num_hours();
                        if h < 0 {
                            return Err(ReportError::Input {
                                file: file.clone(),
                                line: p.line,
                                message: format!(
                                    "purchase date {} is before as_of {as_of}; list commitments already bought in the inventory",
                                    p.date
                                ),
                            });
                        }
                        out.push(ScheduledPurchase {
                            offer,
                            start_hour: h as usize,
                            quantity: p.quantity as f64,
                        });
                    }
                    out
                }
                StrategyKind::Lookback { days } => {
                    let r = match &baseline_result {
                        Some(r) => r.clone(),
                        None => {
                            let r = plan_with(plan::Risk::BALANCED, None)?;
                            baseline_result = Some(r.clone());
                            r
                        }
                    };
                    let name = format!("lookback {days}d");
                    let mut out = Vec::new();
                    if let Some(rec) = r
                        .baselines
                        .iter()
                        .find(|b| b.name == name)
                        .and_then(|b| b.recommendation.as_ref())
                        && let Some(offer) = offer_choice(&card, &rec.offer_id)
                    {
                        let mut q = rec.level;
                        if whole_units {
                            q = q.round();
                        }
                        if q > 0.0 {
                            // A long-term offer once; a short-term offer re-bought every
                            // term (the rule applied steadily).
                            let step = offer.term_hours.max(1);
                            let mut h0 = 0;
                            while h0 < horizon_hours {
                                out.push(ScheduledPurchase {
                                    offer: offer.clone(),
                                    start_hour: h0,
                                    quantity: q,
                                });
                                if step >= horizon_hours {
                                    break;
                                }
                                h0 += step;
                            }
                        }
                    }
                    out
                }
            };
            strategies.push(PoolPurchases { purchases });
        }
        let primary_idx = primary_strategy_index(&plan);
        let result = match primary_result.or(baseline_result) {
            Some(r) => r,
            None => plan_with(plan::Risk::BALANCED, None)?,
        };

        // Evaluate every strategy on every demand scenario.
        let mut outcomes = Vec::new();
        for (di, d) in plan.demand.iter().enumerate() {
            let source_forecasts = scenario_forecasts[di].as_ref();
            let demand = match (d.source, source_forecasts) {
                (DemandSource::Forecast, None) => base.clone(),
                (DemandSource::Forecast, Some(f)) => {
                    plan::pool_demand(pool, f, n_paths, seed)?.map_or_else(|| base.clone(), |x| x.0)
                }
                (DemandSource::Multiplier(m), f) => {
                    let mut dm = match f {
                        None => base.clone(),
                        Some(f) => plan::pool_demand(pool, f, n_paths, seed)?
                            .map_or_else(|| base.clone(), |x| x.0),
                    };
                    for p in &mut dm.paths {
                        for v in p.iter_mut() {
                            *v *= m;
                        }
                    }
                    dm
                }
                (DemandSource::Quantile(q), f) => {
                    let fs = f.unwrap_or(&base_forecasts);
                    let mut v = vec![0.0; horizon_hours];
                    for fc in fs.iter().filter(|fc| pool.covers(dims(&fc.key), &fc.unit)) {
                        if let Some(qs) = fc.forecast.quantile(q) {
                            for (t, x) in v.iter_mut().enumerate() {
                                *x += pool.to_pool_units(qs[t].max(0.0));
                            }
                        }
                    }
                    Demand::single(v)
                }
            };
            let mut row = Vec::new();
            for sp in &strategies {
                row.push(evaluate_schedule(
                    &demand,
                    &existing,
                    pool.on_demand_rate(),
                    pool.currency(),
                    &sp.purchases,
                    &periods,
                    &finance,
                )?);
            }
            outcomes.push(row);
        }

        // Existing fees per quarter and over the horizon.
        let mut existing_fees_quarters = Vec::new();
        for &(a, b) in &q_hours {
            existing_fees_quarters.push(
                Money::new(
                    inventory.cost_over(pool.id(), start + Duration::hours(a as i64), b - a),
                    pool.currency(),
                )
                .round(),
            );
        }
        let existing_fees_horizon = Money::new(
            inventory.cost_over(pool.id(), start, horizon_hours),
            pool.currency(),
        )
        .round();

        // Series shares of the pool's p50 demand per quarter (for budget groups).
        let mut series_shares = Vec::new();
        let matched: Vec<&DemandForecast> = base_forecasts
            .iter()
            .filter(|f| pool.covers(dims(&f.key), &f.unit))
            .collect();
        let totals: Vec<f64> = q_hours
            .iter()
            .map(|&(a, b)| {
                matched
                    .iter()
                    .map(|f| {
                        f.forecast
                            .quantile(0.5)
                            .map_or(0.0, |q| q[a..b].iter().sum())
                    })
                    .sum()
            })
            .collect();
        for f in &matched {
            let shares = q_hours
                .iter()
                .zip(&totals)
                .map(|(&(a, b), &tot)| {
                    let x: f64 = f
                        .forecast
                        .quantile(0.5)
                        .map_or(0.0, |q| q[a..b].iter().sum());
                    if tot > 0.0 {
                        x / tot
                    } else {
                        1.0 / matched.len() as f64
                    }
                })
                .collect();
            series_shares.push((f.key.clone(), shares));
        }

        // Waterline view (base demand, primary strategy).
        let prim = &strategies[primary_idx].purchases;
        let days = horizon_hours / 24;
        let mut demand_days = Vec::with_capacity(days);
        let mut exist_days = Vec::with_capacity(days);
        let mut long_days = Vec::with_capacity(days);
        let mut short_days = Vec::with_capacity(days);
        for dday in 0..days {
            let (a, b) = (dday * 24, dday * 24 + 24);
            let mut means: Vec<f64> = base
                .paths
                .iter()
                .map(|p| p[a..b].iter().sum::<f64>() / 24.0)
                .collect();
            means.sort_by(f64::total_cmp);
            let date = (start + Duration::hours(a as i64)).date_naive();
            demand_days.push((
                date,
                quantile(&means, 0.1),
                quantile(&means, 0.5),
                quantile(&means, 0.9),
            ));
            exist_days.push((date, existing[a..b].iter().sum::<f64>() / 24.0));
            let layer = |long: bool| -> f64 {
                prim.iter()
                    .filter(|p| (p.offer.term_hours > plan::HOURS_1Y) == long)
                    .map(|p| {
                        let active = (p.start_hour + p.offer.term_hours)
                            .min(b)
                            .saturating_sub(p.start_hour.max(a));
                        p.quantity * active as f64 / 24.0
                    })
                    .sum()
            };
            long_days.push((date, layer(true)));
            short_days.push((date, layer(false)));
        }
        let base_prim = &outcomes[0][primary_idx];
        let view = PoolView {
            pool: pool.id().to_owned(),
            description: pool.description().to_owned(),
            unit: pool.unit().to_owned(),
            series: series_names.clone(),
            demand: demand_days,
            existing: exist_days,
            recommended_long: long_days,
            recommended_short: short_days,
            on_demand_cost: base_prim.on_demand_cost,
            recommended_cost: base_prim.expected_cost,
            baselines: result
                .baselines
                .iter()
                .map(|b| (b.name.clone(), b.expected_cost))
                .collect(),
        };
        runs.push(PoolRun {
            pool_id: pool.id().to_owned(),
            currency: pool.currency(),
            result,
            view,
            strategies,
            outcomes,
            existing_fees_quarters,
            existing_fees_horizon,
            series_shares,
        });
        progress.inc();
    }
    if runs.is_empty() {
        return Err(ReportError::Data(format!(
            "no usage series matches a pool of {}: check the pools' `match` dimensions and `series_unit`",
            display.rates.display()
        )));
    }
    let planned_ids: Vec<&str> = runs.iter().map(|r| r.pool_id.as_str()).collect();
    let planned_rules: Vec<&Pool> = card
        .pools()
        .iter()
        .filter(|p| planned_ids.contains(&p.id()))
        .collect();

    // ---------------- other spend ----------------
    let spend = loaded.aggregate(&AggregateOptions {
        by: pool_dims.clone(),
        granularity: Some(Granularity::Day),
        filters: filters.clone(),
        measure: Measure::EffectiveCost,
    })?;
    let spend_hist = cut_before(&spend.series, start);
    let other: Vec<UsageSeries> = spend_hist
        .iter()
        .filter(|s| {
            !planned_rules
                .iter()
                .any(|p| p.match_rule().matches(dims(&s.key)))
        })
        .filter(|s| s.time_at(s.values.len()) >= start && s.values.iter().any(|v| *v != 0.0))
        .cloned()
        .collect();
    let horizon_days = horizon_hours.div_ceil(24);
    let mut osettings = fsettings.clone();
    osettings.horizon = horizon_days;
    osettings.backtest_horizon = None;
    osettings.step = None;
    let other_forecasts = forecast_many(&other, &osettings, progress, "forecasting other spend")?;
    // Per quarter: per-path sums of other spend (paths aligned by seed).
    let mut other_q_paths = vec![vec![0.0; n_paths]; n_q];
    let mut other_q_by_series: Vec<(crate::series::SeriesKey, Vec<f64>)> = Vec::new();
    for f in &other_forecasts {
        let paths = f
            .sample_paths(n_paths, seed)
            .map_err(|e| ReportError::Forecast {
                series: f.key.to_string(),
                message: e.to_string(),
            })?;
        let mut means = vec![0.0; n_q];
        for (qi, &(a, b)) in q_hours.iter().enumerate() {
            let (da, db) = (a / 24, b.div_ceil(24).min(horizon_days));
            for (s, total) in other_q_paths[qi].iter_mut().enumerate() {
                let x: f64 = paths.path(s)[da..db].iter().map(|v| v.max(0.0)).sum();
                *total += x;
                means[qi] += x / n_paths as f64;
            }
        }
        other_q_by_series.push((f.key.clone(), means));
    }

    // ---------------- scenario matrix ----------------
    let primary_idx = primary_strategy_index(&plan);
    let mut matrix = Vec::new();
    for (di, d) in plan.demand.iter().enumerate() {
        for (si, s) in plan.strategies.iter().enumerate() {
            let outs: Vec<&ScheduleOutcome> = runs.iter().map(|r| &r.outcomes[di][si]).collect();
            let existing_fees = sum_money(runs.iter().map(|r| r.existing_fees_horizon), currency)?;
            let expected = sum_money(outs.iter().map(|o| o.expected_cost), currency)?;
            let nothing = sum_money(outs.iter().map(|o| o.on_demand_cost), currency)?;
            let savings = nothing.checked_sub(expected)?;
            let committed_hours: f64 = runs
                .iter()
                .map(|r| {
                    r.strategies[si]
                        .purchases
                        .iter()
                        .map(|p| p.quantity * p.offer.term_hours as f64)
                        .sum::<f64>()
                })
                .sum();
            let used: f64 = runs
                .iter()
                .zip(&outs)
                .map(|(r, o)| {
                    o.utilisation
                        * r.strategies[si]
                            .purchases
                            .iter()
                            .map(|p| p.quantity * p.offer.term_hours as f64)
                            .sum::<f64>()
                })
                .sum();
            let residual_value: f64 = outs
                .iter()
                .map(|o| {
                    o.on_demand_cost
                        .amount()
                        .to_string()
                        .parse::<f64>()
                        .unwrap_or(0.0)
                })
                .sum();
            let covered_value: f64 = outs
                .iter()
                .map(|o| {
                    o.coverage
                        * o.on_demand_cost
                            .amount()
                            .to_string()
                            .parse::<f64>()
                            .unwrap_or(0.0)
                })
                .sum();
            // Cumulative net savings over all pools per month → break-even.
            let n_m = outs
                .iter()
                .map(|o| o.cumulative_net.len())
                .max()
                .unwrap_or(0);
            let mut break_even = None;
            let mut any_paid = false;
            for m in 0..n_m {
                let mut cum = Money::zero(currency);
                for o in &outs {
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
            if !any_paid && committed_hours > 0.0 {
                break_even = Some(1);
            }
            // Portfolio savings per path: pools summed path by path (a single-path demand
            // scenario contributes its one path to every portfolio path).
            let n_paths_cell = outs
                .iter()
                .map(|o| o.savings_by_path.len())
                .max()
                .unwrap_or(0);
            let mut portfolio = Vec::with_capacity(n_paths_cell);
            for s in 0..n_paths_cell {
                let mut acc = Money::zero(currency);
                for o in &outs {
                    if let Some(v) = o.savings_by_path.get(s).or(o.savings_by_path.last()) {
                        acc = acc.checked_add(*v)?;
                    }
                }
                portfolio.push(acc);
            }
            portfolio.sort_by_key(|m| m.amount());
            matrix.push(MatrixCell {
                demand: d.name.clone(),
                strategy: s.name.clone(),
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
                break_even_month: break_even,
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
            });
        }
    }

    // ---------------- quarterly plan (primary strategy, first demand scenario) ----------------
    let mut quarter_rows = Vec::new();
    for (qi, q) in quarters.iter().enumerate() {
        let (qa, qb, ha, hb) = quarter_ranges[qi];
        let mut path_totals = other_q_paths[qi].clone();
        let mut fixed = Money::zero(currency);
        let mut on_demand = Money::zero(currency);
        let mut committed = Money::zero(currency);
        let mut upfront = Money::zero(currency);
        let mut recurring = Money::zero(currency);
        let mut savings = Money::zero(currency);
        let mut purchases = Vec::new();
        let mut usage = Vec::new();
        for r in &runs {
            let o = &r.outcomes[0][primary_idx].periods[qi];
            let p = card
                .pool(&r.pool_id)
                .map(Pool::on_demand_rate)
                .unwrap_or_default();
            // Base demand has one path per sample path of the other spend (same seed), so
            // the paths add up scenario by scenario.
            let rate = p.to_string().parse::<f64>().unwrap_or(0.0);
            for (s, total) in path_totals.iter_mut().enumerate() {
                let h = o
                    .on_demand_hours_by_path
                    .get(s)
                    .or(o.on_demand_hours_by_path.last())
                    .copied()
                    .unwrap_or(0.0);
                *total += h * rate;
            }
            let fees = r.existing_fees_quarters[qi].checked_add(o.new_amortised)?;
            fixed = fixed.checked_add(fees)?;
            committed = committed.checked_add(fees)?;
            on_demand = on_demand.checked_add(o.on_demand_expected)?;
            upfront = upfront.checked_add(o.new_upfront)?;
            recurring = recurring
                .checked_add(o.new_cash.checked_sub(o.new_upfront)?)?
                .checked_add(r.existing_fees_quarters[qi])?;
            savings = savings.checked_add(o.expected_savings)?;
            for pu in &r.strategies[primary_idx].purchases {
                if (ha..hb).contains(&pu.start_hour) && pu.quantity > 0.0 {
                    purchases.push(format!("{} × {}", fmt_units(pu.quantity), pu.offer.id));
                }
            }
            usage.push(PoolUsage {
                pool: r.pool_id.clone(),
                unit: r.view.unit.clone(),
                p10: o.demand.p10,
                p50: o.demand.p50,
                p90: o.demand.p90,
                existing_covered: o.existing_used,
                new_covered: o.new_used,
            });
        }
        let other_mean: f64 = other_q_by_series.iter().map(|(_, m)| m[qi]).sum();
        let other_money = money_of(other_mean, currency)?;
        on_demand = on_demand.checked_add(other_money)?;
        let fixed_f = fixed.amount().to_string().parse::<f64>().unwrap_or(0.0);
        let mut totals: Vec<f64> = path_totals.iter().map(|x| x + fixed_f).collect();
        totals.sort_by(f64::total_cmp);
        let expected = committed.checked_add(on_demand)?;
        let mut expirations: Vec<String> = inventory
            .commitments()
            .iter()
            // A commitment expires in the quarter holding its last hour (`end` is exclusive).
            .filter(|c| {
                let e = c.end();
                e > midnight(qa) && e <= midnight(qb)
            })
            .map(|c| {
                format!(
                    "{} × {} (existing, last day {})",
                    fmt_units(c.quantity()),
                    c.name().unwrap_or(c.id()),
                    (c.end() - Duration::seconds(1)).date_naive()
                )
            })
            .collect();
        for r in &runs {
            for pu in &r.strategies[primary_idx].purchases {
                let end = pu.start_hour + pu.offer.term_hours;
                if end > ha && end <= hb {
                    expirations.push(format!(
                        "{} × {} (new)",
                        fmt_units(pu.quantity),
                        pu.offer.id
                    ));
                }
            }
        }
        let budget = plan.budget.total.get(q).map(|b| Money::new(*b, currency));
        let p50 = money_of(quantile(&totals, 0.5), currency)?;
        let p90 = money_of(quantile(&totals, 0.9), currency)?;
        quarter_rows.push(QuarterRow {
            quarter: q.to_string(),
            start: qa,
            end: qb,
            spend_p10: money_of(quantile(&totals, 0.1), currency)?,
            spend_p50: p50,
            spend_p90: p90,
            spend_expected: expected,
            committed,
            on_demand,
            other_spend: other_money,
            upfront,
            recurring,
            purchases,
            expirations,
            expected_savings: savings,
            usage,
            variance: match budget {
                Some(b) => Some(b.checked_sub(p50)?),
                None => None,
            },
            over_budget: budget.is_some_and(|b| p50.amount() > b.amount()),
            p90_over_budget: budget.is_some_and(|b| p90.amount() > b.amount()),
            budget,
        });
    }

    // Budget groups: expected spend of matching series.
    let mut group_rows = Vec::new();
    for g in &plan.budget.groups {
        for (qi, q) in quarters.iter().enumerate() {
            let mut spend = 0.0;
            for (k, means) in &other_q_by_series {
                if key_matches(&g.filter, k) {
                    spend += means[qi];
                }
            }
            let mut pools_part = Money::zero(currency);
            for r in &runs {
                let o = &r.outcomes[0][primary_idx].periods[qi];
                let total = r.existing_fees_quarters[qi]
                    .checked_add(o.new_amortised)?
                    .checked_add(o.on_demand_expected)?;
                let share: f64 = r
                    .series_shares
                    .iter()
                    .filter(|(k, _)| key_matches(&g.filter, k))
                    .map(|(_, s)| s[qi])
                    .sum();
                if share > 0.0 {
                    let part = total.amount().to_string().parse::<f64>().unwrap_or(0.0) * share;
                    pools_part = pools_part.checked_add(money_of(part, currency)?)?;
                }
            }
            let expected = money_of(spend, currency)?.checked_add(pools_part)?;
            let budget = g.quarters.get(q).map(|b| Money::new(*b, currency));
            group_rows.push(GroupQuarterRow {
                group: g.name.clone(),
                quarter: q.to_string(),
                expected_spend: expected,
                variance: match budget {
                    Some(b) => Some(b.checked_sub(expected)?),
                    None => None,
                },
                over_budget: budget.is_some_and(|b| expected.amount() > b.amount()),
                budget,
            });
        }
    }

    // ---------------- recommendations (primary strategy) ----------------
    let mut recommendations = Vec::new();
    for r in &runs {
        let o = &r.outcomes[0][primary_idx];
        let pool = card.pool(&r.pool_id).expect("planned pool is in the card");
        let baseline30 = r
            .view
            .baselines
            .iter()
            .find(|(n, _)| n == "lookback 30d")
            .map(|(_, c)| *c);
        for pu in &r.strategies[primary_idx].purchases {
            let fin = r
                .result
                .plan
                .purchases
                .iter()
                .chain(r.result.ladder.iter().flat_map(|l| {
                    l.tranches
                        .iter()
                        .map(|t| &t.purchase)
                        .chain(l.other_purchases.iter())
                }))
                .find(|f| f.offer_id == pu.offer.id && f.start_hour == pu.start_hour);
            let date = (start + Duration::hours(pu.start_hour as i64)).date_naive();
            let term = if pu.offer.term_hours >= plan::HOURS_3Y {
                "3y"
            } else {
                "1y"
            };
            let upfront = Rate::new(Money::new(pu.offer.upfront_per_unit, r.currency))
                .cost_of(pu.quantity)?
                .round();
            let recurring_monthly = Rate::new(Money::new(pu.offer.recurring_hourly, r.currency))
                .cost_of(pu.quantity * plan::HOURS_PER_MONTH as f64)?
                .round();
            let commitment_cost = Rate::new(Money::new(pu.offer.effective_hourly, r.currency))
                .cost_of(pu.quantity * pu.offer.term_hours as f64)?
                .round();
            let (expected_savings, utilisation, be, npv) = match fin {
                Some(f) => (f.expected_savings, f.utilisation, f.break_even_month, f.npv),
                None => (o.expected_savings, o.utilisation, o.break_even_month, o.npv),
            };
            let mut rationale = format!(
                "{} {} is {} % cheaper than on-demand ({} vs {} per unit-hour); expected use {:.0} % of the committed hours, break-even in month {}",
                term,
                pu.offer.id,
                discount_pct(pu.offer.effective_hourly, pool.on_demand_rate()),
                pu.offer.effective_hourly.normalize(),
                pool.on_demand_rate().normalize(),
                utilisation * 100.0,
                be.map_or("—".to_string(), |m| m.to_string()),
            );
            if let Some(b30) = baseline30 {
                rationale.push_str(&format!(
                    "; expected pool cost {} {} against {} for the 30-day lookback rule",
                    super::fmt_amount(o.expected_cost.amount()),
                    r.currency,
                    super::fmt_amount(b30.amount())
                ));
            }
            recommendations.push(Recommendation {
                pool: r.pool_id.clone(),
                offer: pu.offer.id.clone(),
                term: term.into(),
                quantity: pu.quantity,
                unit: pool.unit().to_owned(),
                date,
                upfront,
                recurring_monthly,
                commitment_cost,
                expected_savings,
                utilisation,
                break_even_month: be,
                npv,
                rationale,
            });
        }
    }

    // Monthly figures of the primary strategy (cumulative savings, coverage).
    let mut month_points = Vec::new();
    for (mi, &(a, b)) in months.iter().enumerate() {
        let mut cum = Money::zero(currency);
        let (mut dem, mut exist, mut new_used, mut committed) = (0.0, 0.0, 0.0, 0.0);
        for r in &runs {
            let o = &r.outcomes[0][primary_idx];
            let v = o
                .cumulative_net
                .get(mi)
                .or(o.cumulative_net.last())
                .copied()
                .unwrap_or(Money::zero(currency));
            cum = cum.checked_add(v)?;
            let p = &o.periods[n_q + mi];
            dem += p.demand_mean;
            exist += p.existing_used;
            new_used += p.new_used;
            for pu in &r.strategies[primary_idx].purchases {
                let active = (pu.start_hour + pu.offer.term_hours)
                    .min(b)
                    .saturating_sub(pu.start_hour.max(a));
                committed += pu.quantity * active as f64;
            }
        }
        month_points.push(MonthPoint {
            date: (start + Duration::hours(a as i64)).date_naive(),
            cumulative_net: cum,
            coverage_pct: if dem > 0.0 {
                100.0 * (exist + new_used) / dem
            } else {
                0.0
            },
            utilisation_pct: if committed > 0.0 {
                100.0 * new_used / committed
            } else {
                0.0
            },
        });
    }

    // ---------------- display series ----------------
    let disp = loaded.aggregate(&AggregateOptions {
        by: plan.series.by.clone(),
        granularity: Some(
            plan.series
                .granularity
                .map_or(Granularity::Day, granularity),
        ),
        filters: filters.clone(),
        measure: Measure::Quantity,
    })?;
    let disp_hist = cut_before(&disp.series, start);
    let disp_hist: Vec<UsageSeries> = disp_hist
        .into_iter()
        .filter(|s| s.time_at(s.values.len()) >= start)
        .collect();
    let step_s = disp_hist
        .first()
        .map_or(86_400, |s| s.granularity.nominal_seconds());
    let mut dsettings = fsettings.clone();
    dsettings.horizon = plan.horizon.steps(step_s);
    dsettings.backtest_horizon = plan
        .forecast
        .backtest_horizon
        .as_ref()
        .map(|s| s.steps(step_s));
    dsettings.step = plan.forecast.step.as_ref().map(|s| s.steps(step_s));
    let mut disp_forecasts = forecast_many(&disp_hist, &dsettings, progress, "forecasting series")?;
    for ev in &event_sets {
        forecast::apply_events(ev, &mut disp_forecasts)
            .map_err(|e| ReportError::Events(format!("applying {}: {e}", ev.source_name())))?;
    }
    let mut series_out = Vec::new();
    let mut anomalies = Vec::new();
    for (f, h) in disp_forecasts.iter_mut().zip(&disp_hist) {
        let mut limit = None;
        for l in &plan.limits {
            if key_matches(&l.filter, &f.key) {
                limit = Some(l.value);
            }
        }
        if let Some(l) = limit {
            f.set_limit(l).map_err(|e| ReportError::Forecast {
                series: f.key.to_string(),
                message: e.to_string(),
            })?;
        }
        let recent_from = start - Duration::days(90);
        let recent: Vec<Money> = h
            .cost
            .iter()
            .flatten()
            .enumerate()
            .filter(|(i, _)| h.time_at(*i) >= recent_from)
            .map(|(_, m)| *m)
            .collect();
        let recent_spend = sum_money(recent, currency).unwrap_or(Money::zero(currency));
        let daily = |values: &[f64], t0: DateTime<Utc>, step: i64| -> Vec<(NaiveDate, f64)> {
            let mut out: Vec<(NaiveDate, f64)> = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let d = (t0 + Duration::seconds(step * i as i64)).date_naive();
                match out.last_mut() {
                    Some((ld, lv)) if *ld == d => *lv += v,
                    _ => out.push((d, *v)),
                }
            }
            out
        };
        let hist_from = h
            .values
            .len()
            .saturating_sub((365 * 86_400 / step_s) as usize);
        let history = daily(&h.values[hist_from..], h.time_at(hist_from), step_s);
        let fa = &f.forecast;
        let q = |l: f64| fa.quantile(l).map(<[f64]>::to_vec).unwrap_or_default();
        let (q10, q50, q90) = (q(0.1), q(0.5), q(0.9));
        let d10 = daily(&q10, fa.start, step_s);
        let d50 = daily(&q50, fa.start, step_s);
        let d90 = daily(&q90, fa.start, step_s);
        let forecast_days: Vec<(NaiveDate, f64, f64, f64)> = d50
            .iter()
            .zip(&d10)
            .zip(&d90)
            .map(|((m, lo), hi)| (m.0, lo.1, m.1, hi.1))
            .collect();
        let best = f.candidates.iter().find(|c| c.model == f.model);
        for a in &f.anomalies {
            anomalies.push(AnomalyRow {
                series: f.key.to_string(),
                start: a.start,
                end: a.end,
                peak_z: a.peak_z,
                size: a.size,
                direction: a.direction.to_string(),
            });
        }
        series_out.push(SeriesForecast {
            key: f.key.to_string(),
            unit: f.unit.clone(),
            recent_spend,
            history,
            forecast: forecast_days,
            model: f.model.clone(),
            mase: best.map(|c| c.mase).filter(|m| m.is_finite()),
            coverage80: f.coverage.map(|c| c.coverage80),
            coverage95: f.coverage.map(|c| c.coverage95),
            anomalies: f.anomalies.len(),
            limit,
            saturation_p50: f
                .saturation
                .as_ref()
                .and_then(|s| s.p50_first)
                .map(|t| t.date_naive()),
            saturation_p90: f
                .saturation
                .as_ref()
                .and_then(|s| s.p90_first)
                .map(|t| t.date_naive()),
            notes: f.notes.clone(),
        });
    }
    series_out.sort_by(|a, b| {
        b.recent_spend
            .amount()
            .cmp(&a.recent_spend.amount())
            .then(a.key.cmp(&b.key))
    });
    anomalies.sort_by(|a, b| {
        b.peak_z
            .abs()
            .total_cmp(&a.peak_z.abs())
            .then(a.series.cmp(&b.series))
            .then(a.start.cmp(&b.start))
    });
    if horizon_end <= start {
        warnings.push("empty horizon".into());
    }

    let quarter_label = quarters
        .first()
        .map_or_else(String::new, ToString::to_string);
    Ok(ReportData {
        name: plan.name.clone(),
        plan_file: display.source_name.clone(),
        as_of,
        quarter: quarter_label,
        horizon: plan.horizon.text.clone(),
        horizon_hours,
        currency: currency.to_string(),
        cost_of_capital: coc,
        fiscal_year_start_month: plan.fiscal_year_start_month,
        rate_card: display.rates.display().to_string(),
        inventory: display.inventory.as_ref().map(|p| p.display().to_string()),
        events: event_names,
        paths: n_paths,
        seed,
        data_quality: DataQuality {
            files: usage
                .files
                .iter()
                .map(|f| InputFile {
                    path: shown_path(&f.path, &plan.inputs.paths, &display.inputs.paths),
                    format: format!("{:?}", f.format).to_lowercase(),
                    version: f.version.clone(),
                    rows: f.rows,
                })
                .collect(),
            reconciliation: usage.reconciliation.clone(),
            findings: usage.findings.clone(),
            gaps_filled: usage.series.iter().map(|s| s.gaps_filled).sum(),
            data_start,
            data_end,
        },
        series: series_out,
        anomalies,
        pools: runs.iter().map(|r| r.view.clone()).collect(),
        skipped_pools: skipped,
        demand_scenarios: plan
            .demand
            .iter()
            .map(|d| (d.name.clone(), describe_demand(d)))
            .collect(),
        strategies: plan
            .strategies
            .iter()
            .map(|s| (s.name.clone(), describe_strategy(s)))
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
        months: month_points,
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

/// A file path as the user wrote it: the resolved input prefix replaced by the written one.
fn shown_path(path: &str, resolved: &[String], written: &[String]) -> String {
    for (r, w) in resolved.iter().zip(written) {
        if path == r {
            return w.clone();
        }
        if let Some(rest) = path.strip_prefix(r.as_str()) {
            return format!("{w}{rest}");
        }
        if let Some(dir) = Path::new(r).parent()
            && let Some(rest) = path.strip_prefix(&*dir.to_string_lossy())
            && let Some(wdir) = Path::new(w).parent()
        {
            let rest = rest.trim_start_matches('/');
            return if wdir.as_os_str().is_empty() {
                rest.to_string()
            } else {
                format!("{}/{rest}", wdir.display())
            };
        }
    }
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned())
}

fn discount_pct(effective: Decimal, on_demand: Decimal) -> String {
    if on_demand.is_zero() {
        return "0".into();
    }
    ((Decimal::ONE - effective / on_demand) * Decimal::from(100))
        .round_dp(1)
        .normalize()
        .to_string()
}

/// Units as text: whole numbers without decimals.
pub fn fmt_units(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.2}")
    }
}
