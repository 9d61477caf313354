//! The report's data: everything a report shows, as plain named rows. The run
//! ([`crate::run::execute`]) fills it; the report stage only renders it (HTML, tables,
//! workbook) and never reads a bill or computes a figure.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ingest::{Finding, Reconciliation};
use crate::money::Money;

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

/// One decision date of the policy backtest (or the total over them): what the purchases
/// made then cost on what actually happened in the window after it.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRow {
    /// The decision date; `None` on the total row.
    pub date: Option<NaiveDate>,
    /// Everything on demand.
    pub on_demand: Money,
    /// The recommended strategy's purchases + on demand for the rest.
    pub capplan: Money,
    /// Its savings ÷ the hindsight optimum's savings, to 4 places.
    pub captured: Option<Decimal>,
    /// The hindsight optimum (the optimizer run on the actual demand).
    pub hindsight: Money,
    /// Per lookback rule (7, 30, 60 days): its cost, its share of the hindsight savings and
    /// capplan's margin over it (rule − capplan; positive = capplan cheaper).
    pub rules: Vec<EvidenceRule>,
}

/// One term of a spend-based plan (Savings Plan, spend CUD) at its optimum.
#[derive(Debug, Clone, Serialize)]
pub struct SpendOptionRow {
    /// The offer (payment option chosen by present value).
    pub offer: String,
    /// `1y` / `3y`.
    pub term: String,
    /// Hours it was evaluated on.
    pub hours: usize,
    /// Lowest and highest discount over the pool's SKUs, 0..1.
    pub discount_low: f64,
    /// Highest discount.
    pub discount_high: f64,
    /// The optimum: commitment per hour at plan rates (rounded to 0.001).
    pub commitment: Decimal,
    /// Expected savings over `hours` against buying nothing.
    pub savings: Money,
    /// Coverage and utilisation at the optimum, 0..1.
    pub coverage: f64,
    /// Utilisation at the optimum.
    pub utilisation: f64,
    /// The providers' lookback recommendation (commitment, expected savings on the same
    /// paths, coverage, utilisation).
    pub lookback: Option<(Decimal, Money, f64, f64)>,
    /// Whether this is the recommended term.
    pub chosen: bool,
}

/// A portfolio of reservations and a spend-based plan on the pool's paths.
#[derive(Debug, Clone, Serialize)]
pub struct SpendPortfolioRow {
    /// "RI only", "plan only", "RI + plan", "50 % of the RI plan + plan".
    pub name: String,
    /// The plan's commitment per hour.
    pub commitment: Decimal,
    /// Fees of the new reservations.
    pub ri_fees: Money,
    /// Fees of the new plan.
    pub plan_fees: Money,
    /// On-demand spend left.
    pub on_demand: Money,
    /// Total.
    pub total: Money,
    /// Total if the last four weeks' demand persists.
    pub persist_total: Money,
    /// Whether it is the recommended portfolio (least maximum regret over the two).
    pub chosen: bool,
}

/// A spend-based pool planned in money.
#[derive(Debug, Clone, Serialize)]
pub struct SpendPoolView {
    /// Pool id.
    pub pool: String,
    /// The SKUs (rate keys) it covers.
    pub skus: Vec<String>,
    /// Paths the decision was made on.
    pub paths: usize,
    /// SKUs planned on their last four weeks repeated.
    pub repeated: Vec<String>,
    /// Commitment per hour of the plans held at the start.
    pub existing_now: Decimal,
    /// Expected on-demand-equivalent spend over the chosen term before any commitment.
    pub demand: Money,
    /// One row per term.
    pub options: Vec<SpendOptionRow>,
    /// The chosen term's curve: (commitment per hour, expected savings, coverage,
    /// utilisation).
    pub curve: Vec<(f64, f64, f64, f64)>,
    /// Portfolios, cheapest first.
    pub portfolios: Vec<SpendPortfolioRow>,
}

/// A lookback rule beside the recommended strategy in one [`EvidenceRow`].
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRule {
    /// `lookback 30d`.
    pub name: String,
    /// Its realised cost.
    pub cost: Money,
    /// Its savings ÷ the hindsight optimum's savings, to 4 places.
    pub captured: Option<Decimal>,
    /// Its cost − the recommended strategy's cost.
    pub margin: Money,
}

/// The policy backtest of the recommended strategy, or why the report has none.
#[derive(Debug, Clone, Serialize)]
pub enum Evidence {
    /// The backtest ran.
    Shown {
        /// The strategy replayed (the primary `recommended` strategy).
        strategy: String,
        /// The evaluation window after each decision date (`1y`).
        window: String,
        /// Per decision date, in date order.
        decisions: Vec<EvidenceRow>,
        /// Summed over the decision dates.
        total: EvidenceRow,
    },
    /// Why there is no backtest (a sentence).
    Absent(String),
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
    /// The policy backtest of the recommended strategy on the history.
    pub evidence: Evidence,
    /// Spend-based pools (Savings Plans, spend CUDs) planned in money.
    pub spend_pools: Vec<SpendPoolView>,
    /// Warnings of the run (unmatched events, quarters beyond the horizon, ...).
    pub warnings: Vec<String>,
}

/// Units as text: whole numbers without decimals.
pub fn fmt_units(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.2}")
    }
}
