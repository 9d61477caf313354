//! Plain input and output types of the optimizer.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money, MoneyError};

/// Hours in one 1-year term (365 × 24).
pub const HOURS_1Y: usize = 8760;
/// Hours in one 3-year term.
pub const HOURS_3Y: usize = 3 * HOURS_1Y;
/// Hours in one month of the cash-flow views (8760 / 12), as AWS Cost Explorer uses.
pub const HOURS_PER_MONTH: usize = 730;

/// Demand for one pool over the planning horizon.
///
/// `paths` holds S sample paths of `hours` values each (units in use per hour, finite and ≥ 0).
/// A single path is a deterministic plan (history or a point forecast); several paths are
/// equally likely scenarios drawn from the forecast distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// Number of hours T in the planning horizon (hour 0 = purchase time).
    pub hours: usize,
    /// S sample paths × T hours.
    pub paths: Vec<Vec<f64>>,
}

impl Demand {
    /// A deterministic demand: one path.
    pub fn single(values: Vec<f64>) -> Self {
        Demand {
            hours: values.len(),
            paths: vec![values],
        }
    }
}

/// One commitment offer, after the payment option has been chosen by present value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferChoice {
    /// Identifier shown in the plan (e.g. `"m5.large/3y/partial"`).
    pub id: String,
    /// Term in hours: 8760 (1y) or 26280 (3y); other lengths are accepted as long as the
    /// longer term is a whole multiple of the shorter one (used by tests with short "years").
    pub term_hours: usize,
    /// Effective cost per unit-hour (upfront amortised + recurring, PV-adjusted by the
    /// caller): the rate `r` the optimizer minimises with.
    #[serde(with = "rust_decimal::serde::str")]
    pub effective_hourly: Decimal,
    /// Upfront payment per unit, paid at purchase (cash view).
    #[serde(with = "rust_decimal::serde::str")]
    pub upfront_per_unit: Decimal,
    /// Recurring charge per unit-hour over the whole term (cash view).
    #[serde(with = "rust_decimal::serde::str")]
    pub recurring_hourly: Decimal,
}

/// Prices of one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// Currency of every price.
    pub currency: Currency,
    /// On-demand price `p` per unit-hour; must be > 0.
    #[serde(with = "rust_decimal::serde::str")]
    pub on_demand_hourly: Decimal,
    /// Offers. Per term only the one with the lowest effective rate is used (ties: smallest
    /// id). At most two distinct terms.
    pub offers: Vec<OfferChoice>,
}

/// How uncertainty in demand is weighed. See the [module docs](super) for what is optimised.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum Risk {
    /// Minimise expected cost over the sample paths.
    #[default]
    Balanced,
    /// Value each demand slice by the lower `q`-quantile (over paths) of the hours it is
    /// used; `q` in `[0, 1]`. Smaller `q` is more conservative.
    Quantile(f64),
    /// Value each demand slice by the mean used hours of the `alpha` share of paths that use
    /// it least (lower-tail CVaR); `alpha` in `(0, 1]`, `Cvar(1.0)` = `Balanced`.
    Cvar(f64),
}

impl Risk {
    /// Preset "conservative": plan against the 25th-percentile utilisation of each slice.
    pub const CONSERVATIVE: Risk = Risk::Quantile(0.25);
    /// Preset "balanced": expected cost.
    pub const BALANCED: Risk = Risk::Balanced;
    /// Preset "aggressive": plan against the 75th-percentile utilisation of each slice.
    pub const AGGRESSIVE: Risk = Risk::Quantile(0.75);
}

/// Commitment levels of a plan (units, i.e. the same unit as demand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Levels {
    /// Quantity of the long-term (3y) offer bought at hour 0; 0 when there is no such offer.
    pub three_year: f64,
    /// Quantity of the short-term (1y) offer bought at the start of each year (block) k;
    /// one entry per year when a short-term offer exists, otherwise empty.
    pub one_year: Vec<f64>,
}

/// Which offer a purchase uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TermKind {
    /// The longer term (3y), bought once at hour 0.
    Long,
    /// The shorter term (1y), bought at the start of year `k`.
    Short {
        /// Year (block) index.
        year: usize,
    },
}

/// Parameters of the finance summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinanceParams {
    /// Annual cost of capital used for NPV, as a fraction (0.08 = 8 %); nominal annual rate
    /// compounded monthly (monthly discount rate = rate / 12).
    #[serde(with = "rust_decimal::serde::str")]
    pub annual_cost_of_capital: Decimal,
    /// Timestamp of hour 0, used only to label monthly cash flows.
    pub start: Option<chrono::NaiveDateTime>,
}

impl Default for FinanceParams {
    fn default() -> Self {
        FinanceParams {
            annual_cost_of_capital: Decimal::new(8, 2),
            start: None,
        }
    }
}

/// One month (730 h) of a purchase's term in both views. Money is rounded to minor units and
/// each column sums exactly to the purchase's total (via [`Money::allocate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyFlow {
    /// Month of the term, 1-based.
    pub month: usize,
    /// Absolute hour of the horizon at which the month starts.
    pub start_hour: usize,
    /// Timestamp of the month start when [`FinanceParams::start`] is given.
    pub start: Option<chrono::NaiveDateTime>,
    /// Cash view: what is paid in the month (upfront in month 1, recurring every month).
    pub cash_outlay: Money,
    /// Amortised view: the term's total commitment cost spread by hours.
    pub amortised_cost: Money,
    /// On-demand value of the expected usage the purchase covers in the month.
    pub expected_usage_value: Money,
}

/// Exact finance summary of one purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseFinance {
    /// Offer bought.
    pub offer_id: String,
    /// Long or short term and when.
    pub kind: TermKind,
    /// Hour of the horizon at which the purchase is made.
    pub start_hour: usize,
    /// Term length in hours.
    pub term_hours: usize,
    /// Units bought.
    pub quantity: f64,
    /// Demand slice it covers: `[layer_from, layer_from + quantity)`.
    pub layer_from: f64,
    /// Upfront total, paid at purchase.
    pub upfront_total: Money,
    /// Recurring charge per 730-hour month.
    pub recurring_monthly: Money,
    /// Effective rate per unit-hour (the optimizer's `r`).
    pub effective_hourly: Money,
    /// Total cash paid over the term: upfront + recurring × term.
    pub commitment_total: Money,
    /// On-demand value of the expected usage covered over the term (inside the horizon).
    pub expected_usage_value: Money,
    /// `expected_usage_value − commitment_total`.
    pub expected_savings: Money,
    /// Savings ÷ on-demand cost of the pool's expected residual demand during the
    /// purchase's hours inside the horizon: the share of the pool bill it cuts.
    pub savings_pct: Option<Decimal>,
    /// Effective savings rate: savings ÷ on-demand-equivalent cost of the covered usage.
    pub esr: Option<Decimal>,
    /// Return on investment: savings ÷ commitment total.
    pub roi: Option<Decimal>,
    /// First month (1-based) whose cumulative cash-view savings are ≥ 0; `None` if never
    /// within the term.
    pub break_even_month: Option<usize>,
    /// Net present value of (covered usage value − cash paid) at the cost of capital.
    pub npv: Money,
    /// Expected share of the committed unit-hours (quantity × term) that are used; usage
    /// after the horizon counts as zero.
    pub utilisation: f64,
    /// Share of paths whose utilisation of this purchase ends below 1 − discount.
    pub prob_below_break_even: f64,
    /// Monthly cash flow.
    pub monthly: Vec<MonthlyFlow>,
}

/// Result of planning one pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolPlan {
    /// Risk setting the levels were optimised for.
    pub risk: Risk,
    /// Level of the long-term (3y) offer (units).
    pub three_year: f64,
    /// Level of the short-term (1y) offer per year (units).
    pub one_year: Vec<f64>,
    /// Long-term offer used, if any.
    pub long_offer: Option<String>,
    /// Short-term offer used, if any.
    pub short_offer: Option<String>,
    /// Expected cost: full-term commitment cost (at effective rates, including any part of a
    /// term past the horizon) + expected on-demand cost of uncovered residual demand.
    pub expected_cost: Money,
    /// Expected cost of serving all residual demand on demand.
    pub on_demand_cost: Money,
    /// `on_demand_cost − expected_cost`.
    pub expected_savings: Money,
    /// The risk-adjusted objective the optimizer minimised (equals `expected_cost` before
    /// rounding for [`Risk::Balanced`]).
    pub risk_objective: Money,
    /// Expected share of residual demand (unit-hours) covered by commitments.
    pub coverage: f64,
    /// Savings on the paths at the 10th/50th/90th percentile of total residual demand.
    pub savings_p10: Money,
    /// See `savings_p10`.
    pub savings_p50: Money,
    /// See `savings_p10`.
    pub savings_p90: Money,
    /// Finance summary per purchase with a positive quantity.
    pub purchases: Vec<PurchaseFinance>,
}

/// What the lookback-replay baseline recommends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookbackRecommendation {
    /// Offer evaluated.
    pub offer_id: String,
    /// Recommended commitment level (units).
    pub level: f64,
    /// Hours actually replayed (shorter than requested when the history is short).
    pub window_hours: usize,
    /// Cost of the replayed window all on demand.
    pub replay_on_demand_cost: Money,
    /// Cost of the replayed window with the recommended level (commitment at the effective
    /// rate for the replayed hours only).
    pub replay_cost: Money,
}

/// Errors of the plan module. Bad input never panics; it ends here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Inputs that do not fit together (forecasts on different grids, a rate card the
    /// pricing module rejects, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// No hours or no paths.
    #[error("demand is empty: need at least one path of at least one hour")]
    EmptyDemand,
    /// A path whose length differs from `hours`.
    #[error("demand path {path} has {len} hours, expected {expected}")]
    PathLength {
        /// Path index.
        path: usize,
        /// Its length.
        len: usize,
        /// `Demand::hours`.
        expected: usize,
    },
    /// A demand value that is NaN, infinite or negative.
    #[error("demand path {path} hour {hour} is {value}: expected a finite value >= 0")]
    BadDemand {
        /// Path index.
        path: usize,
        /// Hour index.
        hour: usize,
        /// The value.
        value: f64,
    },
    /// Existing commitments of the wrong length.
    #[error("existing commitments have {len} hours, expected 0 (none) or {expected}")]
    ExistingLength {
        /// Its length.
        len: usize,
        /// `Demand::hours`.
        expected: usize,
    },
    /// An existing-commitment value that is NaN, infinite or negative.
    #[error("existing commitment at hour {hour} is {value}: expected a finite value >= 0")]
    BadExisting {
        /// Hour index.
        hour: usize,
        /// The value.
        value: f64,
    },
    /// On-demand price not > 0.
    #[error("on-demand price {0} must be > 0")]
    BadOnDemandPrice(Decimal),
    /// An offer with a zero term or a negative price.
    #[error("offer {id:?} is invalid: {reason}")]
    BadOffer {
        /// Offer id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Terms that the two-term slice construction cannot combine.
    #[error("unsupported offer terms {terms:?}: {reason}")]
    UnsupportedTerms {
        /// Distinct terms found.
        terms: Vec<usize>,
        /// What is wrong.
        reason: &'static str,
    },
    /// A risk parameter out of range.
    #[error("risk parameter {0} out of range (quantile in [0,1], CVaR alpha in (0,1])")]
    BadRisk(f64),
    /// Levels that do not fit the problem.
    #[error("levels do not fit this pool: {0}")]
    BadLevels(&'static str),
    /// Lookback window of zero days or an empty history.
    #[error("lookback needs at least one day and a non-empty history")]
    BadLookback,
    /// A number too large for exact decimal arithmetic.
    #[error("decimal overflow while computing {0}")]
    Overflow(&'static str),
    /// Money arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}
