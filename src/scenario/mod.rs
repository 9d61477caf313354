//! The plan file: one TOML file describing a whole planning run, so a scheduler can repeat it.
//!
//! [`ScenarioFile::from_toml_str`] parses and validates the text (no I/O: the caller reads
//! the file); [`ScenarioFile::resolve_paths`] makes relative paths relative to the plan
//! file's directory. Every setting except `inputs.paths` and `rates` has a default, listed
//! on [`ScenarioFile::defaults`]. Unknown keys are errors naming their line and the valid
//! keys; every error names the file, line, column and key, says what was expected and
//! what to do ([`ScenarioError`]).
//!
//! The schema mirrors the flags of `capplan forecast` and `capplan plan`:
//!
//! ```toml
//! name = "northwind"                 # report file names: <name>-<FY>-Q<n>.html
//! as_of = 2026-10-01                 # --as-of (TOML date or "YYYY-MM-DD")
//! horizon = "3y"                     # --horizon
//! events = "events.toml"             # --events
//! rates = "rates.toml"               # --rates (required)
//! inventory = "inventory.toml"       # --inventory
//! cost_of_capital = "0.08"           # --cost-of-capital (string, integer or float)
//! fiscal_year_start_month = 7
//! quarters = 4
//!
//! [inputs]                           # positional INPUTS and the input flags
//! paths = ["focus.parquet"]          # files, directories or globs (required)
//! format = "focus"                   # --input-format
//! currency = "USD"                   # --currency
//! lenient = false                    # --lenient
//! allow_duplicates = false           # --allow-duplicates
//! tidy = { time = "ts", quantity = "qty", unit = "unit", cost = "cost" }  # --*-col
//!
//! [series]
//! by = ["service", "region"]         # --by
//! granularity = "day"                # --granularity
//! filter = { provider = "AWS" }      # --filter K=V (all must match)
//!
//! [forecast]                         # --windows, --backtest-horizon, --step, ...
//! windows = 8
//! backtest_horizon = "30d"
//! step = "1w"
//! anomaly_threshold = 6.0
//! clean_anomalies = false
//! all_history = false
//! paths = 200
//! seed = 0
//!
//! [budget]
//! currency = "USD"
//! total = { "FY2027-Q2" = "180000" }
//! [[budget.group]]
//! name = "EC2"
//! match = { service = "Amazon Elastic Compute Cloud" }
//! quarters = { "FY2027-Q2" = "120000" }
//!
//! [[limit]]                          # --limit [K=V,...:]LIMIT
//! match = { region = "eu-west-1" }
//! value = 400
//!
//! [[scenario.demand]]
//! name = "upside"
//! quantile = "p90"                   # or multiplier = 1.2; neither = the forecast as is
//! events = ["upside.toml"]
//!
//! [[scenario.strategy]]
//! name = "recommended"
//! kind = "recommended"               # none | recommended | coverage | purchases | lookback
//! risk = "balanced"                  # or risk_quantile = 0.25 / risk_cvar = 0.5
//! ladder = "quarterly"
//! ```

mod error;
pub mod fiscal;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

pub use crate::span::Span;
pub use error::{Diagnostic, ScenarioError};
pub use fiscal::{FiscalQuarter, fiscal_quarter, planned_quarters, quarter_bounds};

use crate::text::{edit_distance, line_col};

/// Dimension filter: keep series (or rows) whose dimension KEY equals VALUE, for every entry.
/// Empty = everything. Maps onto `capplan::ingest::Filter::new`.
pub type Match = BTreeMap<String, String>;

/// A validated plan file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFile {
    /// The source name given to [`ScenarioFile::from_toml_str`] (usually the path).
    pub source_name: String,
    /// Name of the run; used in report file names, so only `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Where the billing data comes from.
    pub inputs: Inputs,
    /// How rows become series.
    pub series: SeriesSettings,
    /// Plan as of this date (UTC midnight; history after it is ignored). `None`: the end of
    /// the data, as `capplan plan`.
    pub as_of: Option<NaiveDate>,
    /// Planning horizon.
    pub horizon: Span,
    /// Forecast settings.
    pub forecast: ForecastSettings,
    /// Known future events (TOML) applied to every demand scenario.
    pub events: Option<PathBuf>,
    /// Rate card (TOML).
    pub rates: PathBuf,
    /// Existing commitments (TOML).
    pub inventory: Option<PathBuf>,
    /// Annual cost of capital (0 ≤ r ≤ 1), e.g. 0.08.
    pub cost_of_capital: Decimal,
    /// First month of the fiscal year, 1–12 (see [`fiscal`] for the labelling rule).
    pub fiscal_year_start_month: u32,
    /// Fiscal quarters in the quarterly plan, starting with the one containing `as_of`.
    pub quarters: u32,
    /// Budgets per fiscal quarter.
    pub budget: Budgets,
    /// Capacity limits (saturation dates are reported where p50/p90 exceed them).
    pub limits: Vec<CapacityLimit>,
    /// Demand scenarios (rows of the scenario matrix).
    pub demand: Vec<DemandScenario>,
    /// Commitment strategies (columns of the scenario matrix).
    pub strategies: Vec<Strategy>,
}

/// Where the billing data comes from (`capplan::ingest::InputOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Files, directories or globs, as written (made absolute by
    /// [`ScenarioFile::resolve_paths`]).
    pub paths: Vec<String>,
    /// Forced input format; `None` detects it from the header.
    pub format: Option<InputFormat>,
    /// Keep only rows in this billing currency (ISO 4217 code).
    pub currency: Option<String>,
    /// Exclude unparseable rows (counted) instead of stopping.
    pub lenient: bool,
    /// Accept rows identical in every column.
    pub allow_duplicates: bool,
    /// Column names of a tidy usage table.
    pub tidy: TidyColumns,
}

/// Column names of a tidy usage table (`None`: capplan's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TidyColumns {
    /// Timestamp column.
    pub time: Option<String>,
    /// Quantity column.
    pub quantity: Option<String>,
    /// Unit column.
    pub unit: Option<String>,
    /// Cost column.
    pub cost: Option<String>,
}

/// Input format (`capplan::ingest::Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// FinOps FOCUS 1.0–1.2.
    Focus,
    /// AWS CUR legacy or 2.0.
    Cur,
    /// Azure EA / MCA cost details.
    Azure,
    /// OCI cost report.
    Oci,
    /// Tidy usage table.
    Tidy,
}

/// Series grouping (`capplan::ingest::AggregateOptions`, quantity measure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesSettings {
    /// Dimensions to group by.
    pub by: Vec<String>,
    /// Time bucket; `None`: the data's own granularity.
    pub granularity: Option<Granularity>,
    /// Row filter (all entries must match).
    pub filter: Match,
}

/// Time bucket of the series (`capplan::series::Granularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Hourly.
    Hour,
    /// Daily.
    Day,
    /// Weekly.
    Week,
    /// Monthly.
    Month,
}

/// Forecast settings (the `forecast` command's flags and `plan`'s `--paths`/`--seed`).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSettings {
    /// Backtest windows.
    pub windows: usize,
    /// Horizon of the backtest windows; `None`: capplan's default.
    pub backtest_horizon: Option<Span>,
    /// Distance between backtest origins; `None`: capplan's default.
    pub step: Option<Span>,
    /// Robust z-score above which a remainder value is an anomaly.
    pub anomaly_threshold: f64,
    /// Replace anomalies before fitting.
    pub clean_anomalies: bool,
    /// Train on the whole history even after a level shift.
    pub all_history: bool,
    /// Demand sample paths per series.
    pub paths: usize,
    /// Seed of the sample paths.
    pub seed: u64,
}

/// Budgets per fiscal quarter, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budgets {
    /// Currency of every amount (ISO 4217).
    pub currency: String,
    /// Budget of the whole run's spend per quarter.
    pub total: BTreeMap<FiscalQuarter, Decimal>,
    /// Budgets of the spend of matching series per quarter.
    pub groups: Vec<GroupBudget>,
}

/// The budget of one group of series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBudget {
    /// Label in the report (unique).
    pub name: String,
    /// Which series the group contains.
    pub filter: Match,
    /// Amount per quarter.
    pub quarters: BTreeMap<FiscalQuarter, Decimal>,
    /// Line of the `[[budget.group]]` entry.
    pub line: usize,
}

/// A capacity limit on the series matching a filter (`--limit [K=V,...:]LIMIT`).
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityLimit {
    /// Which series; empty = every series.
    pub filter: Match,
    /// The limit, in the series' unit (positive).
    pub value: f64,
    /// Line of the `[[limit]]` entry.
    pub line: usize,
}

/// One demand scenario: what demand the strategies are evaluated against.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandScenario {
    /// Label (unique among demand scenarios).
    pub name: String,
    /// How demand is derived from the forecast.
    pub source: DemandSource,
    /// Extra event files applied after the plan's `events`.
    pub events: Vec<PathBuf>,
    /// Line of the entry.
    pub line: usize,
}

/// How a demand scenario's demand is derived from the forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemandSource {
    /// The forecast distribution itself (the sample paths).
    Forecast,
    /// One quantile trajectory of the forecast; one of [`QUANTILE_LEVELS`].
    Quantile(f64),
    /// The forecast distribution scaled by a factor (> 0), e.g. 1.2 = 20 % more demand.
    Multiplier(f64),
}

/// Quantile levels a demand scenario may use: the calibrated levels every forecast carries
/// (`capplan::forecast::conformal::STANDARD_LEVELS`).
pub const QUANTILE_LEVELS: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// One commitment strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// Label (unique among strategies).
    pub name: String,
    /// What it buys.
    pub kind: StrategyKind,
    /// Line of the entry.
    pub line: usize,
}

/// What a strategy buys.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyKind {
    /// Nothing: existing commitments run off, the rest is on demand.
    None,
    /// capplan's optimizer (`capplan plan`).
    Recommended {
        /// Risk setting.
        risk: Risk,
        /// Lay the long-term purchase out as a ladder.
        ladder: Option<Ladder>,
    },
    /// Commit a fixed share of each pool's mean forecast demand over the horizon.
    Coverage {
        /// Share in percent, 0 < p ≤ 100.
        percent: Decimal,
        /// Term of the commitments bought.
        term: Term,
    },
    /// A given list of purchases.
    Purchases(Vec<Purchase>),
    /// The providers' lookback rule over the last `days` days of history.
    Lookback {
        /// Days of history replayed (1–365).
        days: u32,
    },
}

/// Risk setting of the optimizer (`--risk`, `--risk-quantile`, `--risk-cvar`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Risk {
    /// Lower quartile of utilisation.
    Conservative,
    /// Expected cost.
    Balanced,
    /// Upper quartile of utilisation.
    Aggressive,
    /// An explicit quantile, 0 < q < 1.
    Quantile(f64),
    /// CVaR at alpha, 0 < alpha ≤ 1.
    Cvar(f64),
}

/// Ladder of the long-term purchase (`--ladder`, `--ladder-months`, `--ladder-sizing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// How often a tranche is bought.
    pub cadence: LadderCadence,
    /// Months over which the tranches are bought (1–36).
    pub months: u32,
    /// How tranches are sized.
    pub sizing: LadderSizing,
}

/// Ladder cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LadderCadence {
    /// One tranche a month.
    Monthly,
    /// One tranche a quarter.
    Quarterly,
}

/// Ladder tranche sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LadderSizing {
    /// Equal slices of the lump.
    Equal,
    /// Each tranche optimal given the earlier ones.
    Sequential,
}

/// Commitment term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// One year (8,760 hours).
    OneYear,
    /// Three years (26,280 hours).
    ThreeYears,
}

/// One purchase of a custom strategy. Pool and offer ids are checked against the rate card
/// by the caller (this module does not read it); use `line` in that error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    /// Pool id of the rate card.
    pub pool: String,
    /// Offer id of that pool.
    pub offer: String,
    /// Whole units of the pool's unit.
    pub quantity: u64,
    /// Purchase date (UTC midnight); on or after `as_of` when that is set.
    pub date: NaiveDate,
    /// Line of the purchase.
    pub line: usize,
}

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

/// Default of `name`.
pub const DEFAULT_NAME: &str = "plan";
/// Default of `horizon` (as `capplan plan`).
pub const DEFAULT_HORIZON: &str = "3y";
/// Default of `quarters`.
pub const DEFAULT_QUARTERS: u32 = 4;
/// Default of `budget.currency`.
pub const DEFAULT_CURRENCY: &str = "USD";

impl ScenarioFile {
    /// The plan file with every optional setting at its default. These are the defaults:
    ///
    /// | key | default | meaning / CLI equivalent |
    /// |---|---|---|
    /// | `name` | `"plan"` | report file names `<name>-FY<year>-Q<n>.*` |
    /// | `as_of` | none: the end of the data | `--as-of` |
    /// | `horizon` | `"3y"` | `plan --horizon` |
    /// | `events` | none | `--events` |
    /// | `rates` | **required** | `--rates` |
    /// | `inventory` | none (no existing commitments) | `--inventory` |
    /// | `cost_of_capital` | `0` | `--cost-of-capital` |
    /// | `fiscal_year_start_month` | `1` (calendar year) | |
    /// | `quarters` | `4` | quarters in the quarterly plan (1–40) |
    /// | `inputs.paths` | **required** (non-empty) | positional inputs |
    /// | `inputs.format` | none: detected | `--input-format` |
    /// | `inputs.currency` | none: every currency (mixed is an error in ingest) | `--currency` |
    /// | `inputs.lenient` | `false` | `--lenient` |
    /// | `inputs.allow_duplicates` | `false` | `--allow-duplicates` |
    /// | `inputs.tidy.{time,quantity,unit,cost}` | none: capplan's column guesses | `--time-col` ... |
    /// | `series.by` | `["service"]` | `--by` |
    /// | `series.granularity` | none: the data's own | `--granularity` |
    /// | `series.filter` | `{}` (every row) | `--filter` |
    /// | `forecast.windows` | `8` | `--windows` |
    /// | `forecast.backtest_horizon` | none: capplan's default | `--backtest-horizon` |
    /// | `forecast.step` | none: capplan's default | `--step` |
    /// | `forecast.anomaly_threshold` | `6.0` | `--anomaly-threshold` |
    /// | `forecast.clean_anomalies` | `false` | `--clean-anomalies` |
    /// | `forecast.all_history` | `false` | `--all-history` |
    /// | `forecast.paths` | `200` | `--paths` |
    /// | `forecast.seed` | `0` | `--seed` |
    /// | `budget.currency` | `"USD"` | |
    /// | `budget.total` | `{}` (no budget) | |
    /// | `[[budget.group]]` | none | `name`, `match` required; `quarters` default `{}` |
    /// | `[[limit]]` | none | `value` required; `match` default `{}` = every series |
    /// | `[[scenario.demand]]` | `base` (forecast), `upside` (`p90`), `downside` (`p10`) | `name` required; `events` default `[]` |
    /// | `[[scenario.strategy]]` | `on-demand` (none), `recommended` (balanced), `lookback-30d` | `name`, `kind` required |
    /// | strategy `risk` | `"balanced"` | `--risk` (`risk_quantile`, `risk_cvar` instead) |
    /// | strategy `ladder` | none (lump purchase) | `--ladder`; `ladder_months` `12`, `ladder_sizing` `"equal"` |
    /// | strategy `term` | `"1y"` | kind `coverage` |
    /// | strategy `days` | `30` | kind `lookback` |
    ///
    /// `inputs` and `rates` are the two required settings, hence the arguments.
    pub fn defaults(inputs: Vec<String>, rates: PathBuf) -> ScenarioFile {
        ScenarioFile {
            source_name: String::new(),
            name: DEFAULT_NAME.to_string(),
            inputs: Inputs {
                paths: inputs,
                format: None,
                currency: None,
                lenient: false,
                allow_duplicates: false,
                tidy: TidyColumns::default(),
            },
            series: SeriesSettings {
                by: vec!["service".to_string()],
                granularity: None,
                filter: Match::new(),
            },
            as_of: None,
            horizon: Span::parse(DEFAULT_HORIZON).expect("valid default"),
            forecast: ForecastSettings {
                windows: 8,
                backtest_horizon: None,
                step: None,
                anomaly_threshold: 6.0,
                clean_anomalies: false,
                all_history: false,
                paths: 200,
                seed: 0,
            },
            events: None,
            rates,
            inventory: None,
            cost_of_capital: Decimal::ZERO,
            fiscal_year_start_month: 1,
            quarters: DEFAULT_QUARTERS,
            budget: Budgets {
                currency: DEFAULT_CURRENCY.to_string(),
                total: BTreeMap::new(),
                groups: Vec::new(),
            },
            limits: Vec::new(),
            demand: default_demand(),
            strategies: default_strategies(),
        }
    }

    /// Parses and validates a plan file. `source_name` (usually the path) names the file in
    /// errors. Paths stay as written; see [`ScenarioFile::resolve_paths`].
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<ScenarioFile, ScenarioError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(text, source_name, &e))?;
        Ctx {
            text,
            file: source_name,
        }
        .validate(raw)
    }

    /// Makes every relative path (inputs, including globs, `events`, `rates`, `inventory`,
    /// demand scenario `events`) relative to `base_dir`, normally the plan file's directory
    /// (`Path::parent` of its path; an empty parent means the current directory). Absolute
    /// paths are kept.
    pub fn resolve_paths(mut self, base_dir: &Path) -> ScenarioFile {
        let join = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            }
        };
        self.inputs.paths = self
            .inputs
            .paths
            .iter()
            .map(|p| join(Path::new(p)).to_string_lossy().into_owned())
            .collect();
        self.events = self.events.as_deref().map(join);
        self.rates = join(&self.rates);
        self.inventory = self.inventory.as_deref().map(join);
        for d in &mut self.demand {
            d.events = d.events.iter().map(|p| join(p)).collect();
        }
        self
    }

    /// The fiscal quarters of the quarterly plan for a run as of `as_of` (the file's
    /// `as_of`, or the end of the data when it has none).
    pub fn planned_quarters(&self, as_of: NaiveDate) -> Vec<FiscalQuarter> {
        planned_quarters(as_of, self.fiscal_year_start_month, self.quarters)
    }

    /// Every (demand scenario, strategy) pair of the scenario matrix, demand-major, in file
    /// order.
    pub fn matrix(&self) -> impl Iterator<Item = (&DemandScenario, &Strategy)> {
        self.demand
            .iter()
            .flat_map(move |d| self.strategies.iter().map(move |s| (d, s)))
    }
}

fn default_demand() -> Vec<DemandScenario> {
    [
        ("base", DemandSource::Forecast),
        ("upside", DemandSource::Quantile(0.9)),
        ("downside", DemandSource::Quantile(0.1)),
    ]
    .into_iter()
    .map(|(name, source)| DemandScenario {
        name: name.to_string(),
        source,
        events: Vec::new(),
        line: 0,
    })
    .collect()
}

fn default_strategies() -> Vec<Strategy> {
    [
        ("on-demand", StrategyKind::None),
        (
            "recommended",
            StrategyKind::Recommended {
                risk: Risk::Balanced,
                ladder: None,
            },
        ),
        ("lookback-30d", StrategyKind::Lookback { days: 30 }),
    ]
    .into_iter()
    .map(|(name, kind)| Strategy {
        name: name.to_string(),
        kind,
        line: 0,
    })
    .collect()
}

// ---------------------------------------------------------------------------
// Raw (as written) schema
// ---------------------------------------------------------------------------

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: S<String>,
    as_of: S<toml::Value>,
    horizon: S<String>,
    events: S<String>,
    rates: S<String>,
    inventory: S<String>,
    cost_of_capital: S<toml::Value>,
    fiscal_year_start_month: S<i64>,
    quarters: S<i64>,
    inputs: S<RawInputs>,
    series: S<RawSeries>,
    forecast: S<RawForecast>,
    budget: S<RawBudget>,
    limit: Option<Vec<Spanned<RawLimit>>>,
    scenario: S<RawScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInputs {
    paths: S<Vec<Spanned<String>>>,
    format: S<String>,
    currency: S<String>,
    lenient: Option<bool>,
    allow_duplicates: Option<bool>,
    tidy: Option<RawTidy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTidy {
    time: S<String>,
    quantity: S<String>,
    unit: S<String>,
    cost: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    by: S<Vec<Spanned<String>>>,
    granularity: S<String>,
    filter: S<Match>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForecast {
    windows: S<i64>,
    backtest_horizon: S<String>,
    step: S<String>,
    anomaly_threshold: S<toml::Value>,
    clean_anomalies: Option<bool>,
    all_history: Option<bool>,
    paths: S<i64>,
    seed: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    currency: S<String>,
    total: Option<BTreeMap<String, Spanned<toml::Value>>>,
    group: Option<Vec<Spanned<RawGroupBudget>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupBudget {
    name: S<String>,
    #[serde(rename = "match")]
    match_: S<Match>,
    quarters: Option<BTreeMap<String, Spanned<toml::Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    #[serde(rename = "match")]
    match_: S<Match>,
    value: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    demand: Option<Vec<Spanned<RawDemand>>>,
    strategy: Option<Vec<Spanned<RawStrategy>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemand {
    name: S<String>,
    quantile: S<toml::Value>,
    multiplier: S<toml::Value>,
    events: S<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrategy {
    name: S<String>,
    kind: S<String>,
    risk: S<String>,
    risk_quantile: S<toml::Value>,
    risk_cvar: S<toml::Value>,
    ladder: S<String>,
    ladder_months: S<i64>,
    ladder_sizing: S<String>,
    coverage_percent: S<toml::Value>,
    term: S<String>,
    purchase: Option<Vec<Spanned<RawPurchase>>>,
    days: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurchase {
    pool: S<String>,
    offer: S<String>,
    quantity: S<i64>,
    date: S<toml::Value>,
}

// ---------------------------------------------------------------------------
// TOML errors
// ---------------------------------------------------------------------------

/// Turns a TOML/serde error into [`ScenarioError::UnknownKey`] or [`ScenarioError::Syntax`].
fn toml_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
    let offset = e.span().map_or(0, |s| s.start);
    let (line, column) = line_col(text, offset);
    let message = e.message().trim().to_string();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, tail)) = rest.split_once('`')
    {
        let expected = tail
            .trim_start_matches(',')
            .trim()
            .trim_start_matches("expected one of ")
            .trim_start_matches("expected ")
            .to_string();
        let valid: Vec<&str> = expected
            .split(", ")
            .map(|k| k.trim_matches('`'))
            .filter(|k| !k.is_empty())
            .collect();
        let closest = valid
            .iter()
            .map(|k| (edit_distance(key, k), *k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 3))
            .min();
        let fix = match closest {
            Some((_, k)) => format!("did you mean `{k}`? Correct the key or remove it"),
            None => "remove the key, or move it to the table where it belongs (see the plan file reference)".to_string(),
        };
        let table = table_at(text, offset);
        let problem = if table.is_empty() {
            "unknown key".to_string()
        } else {
            format!("unknown key in [{table}]")
        };
        return ScenarioError::UnknownKey(Box::new(Diagnostic {
            file: file.to_string(),
            line,
            column,
            key: key.to_string(),
            problem,
            expected: format!("one of {expected}"),
            fix,
        }));
    }
    let fix = if message.contains("invalid type") {
        "write the value with the TOML type the key takes (see the plan file reference)"
    } else if message.contains("duplicate key") {
        "keep one of the two definitions"
    } else {
        "correct the TOML syntax at that position"
    };
    ScenarioError::Syntax(Box::new(Diagnostic {
        file: file.to_string(),
        line,
        column,
        key: key_at(text, offset),
        problem: message,
        expected: String::new(),
        fix: fix.to_string(),
    }))
}

/// The bare key written at the start of the line containing `offset`, if any.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((k, _)) if !k.trim_start().starts_with('[') && !k.contains('#') => {
            k.trim().trim_matches('"').to_string()
        }
        _ => String::new(),
    }
}

/// The `[table]` or `[[array]]` header above `offset`, without brackets ("" = top level).
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            let l = l.split('#').next().unwrap_or(l).trim();
            l.trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
}

const DATE_EXPECTED: &str = "a date like 2026-10-01 (TOML date) or \"2026-10-01\"";
const DECIMAL_EXPECTED: &str = "a decimal number like \"0.08\" (string, integer or float)";

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
        fix: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError::Invalid(Box::new(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            key: key.into(),
            problem: problem.into(),
            expected: expected.into(),
            fix: fix.into(),
        }))
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }

    fn validate(&self, raw: RawFile) -> Result<ScenarioFile, ScenarioError> {
        let name = match raw.name {
            None => DEFAULT_NAME.to_string(),
            Some(n) => {
                let v = n.get_ref().trim();
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    || v.starts_with('.')
                {
                    return Err(self.err(
                        n.span(),
                        "name",
                        format!("{:?} cannot be used in a file name", n.get_ref()),
                        "letters, digits, `.`, `_` and `-`, not starting with `.`",
                        "rename the run, e.g. name = \"northwind-quarterly\"",
                    ));
                }
                v.to_string()
            }
        };
        let as_of = raw
            .as_of
            .as_ref()
            .map(|v| self.date(v, "as_of"))
            .transpose()?;
        let horizon = match &raw.horizon {
            None => Span::parse(DEFAULT_HORIZON).expect("valid default"),
            Some(h) => self.span(h, "horizon")?,
        };
        let inputs = self.inputs(raw.inputs)?;
        let rates = match raw.rates {
            Some(r) => self.path(&r, "rates")?,
            None => {
                return Err(self.err(
                    0..0,
                    "rates",
                    "is missing",
                    "the path of the rate card, e.g. rates = \"rates.toml\"",
                    "add `rates = \"...\"` before the first [table] (a relative path is relative to this file)",
                ));
            }
        };
        let events = raw
            .events
            .as_ref()
            .map(|p| self.path(p, "events"))
            .transpose()?;
        let inventory = raw
            .inventory
            .as_ref()
            .map(|p| self.path(p, "inventory"))
            .transpose()?;
        let cost_of_capital = match &raw.cost_of_capital {
            None => Decimal::ZERO,
            Some(v) => {
                let d = self.decimal(v, "cost_of_capital")?;
                if d < Decimal::ZERO || d > Decimal::ONE {
                    return Err(self.err(
                        v.span(),
                        "cost_of_capital",
                        format!("is {d}"),
                        "an annual rate from 0 to 1, e.g. \"0.08\" for 8 %",
                        "write the rate as a fraction, not a percentage",
                    ));
                }
                d
            }
        };
        let fiscal_year_start_month = match &raw.fiscal_year_start_month {
            None => 1,
            Some(m) => {
                self.int_in(m, "fiscal_year_start_month", 1, 12, "1 = January, 7 = July")? as u32
            }
        };
        let quarters = match &raw.quarters {
            None => DEFAULT_QUARTERS,
            Some(q) => self.int_in(
                q,
                "quarters",
                1,
                40,
                "the number of fiscal quarters to plan",
            )? as u32,
        };
        let series = self.series(raw.series)?;
        let forecast = self.forecast(raw.forecast)?;
        let budget = self.budget(raw.budget)?;
        let limits = raw
            .limit
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, l)| self.limit(i, l))
            .collect::<Result<Vec<_>, _>>()?;
        let (demand, strategies) = match raw.scenario {
            None => (default_demand(), default_strategies()),
            Some(s) => {
                let s = s.into_inner();
                let demand = match s.demand {
                    None => default_demand(),
                    Some(list) => self.demands(list)?,
                };
                let strategies = match s.strategy {
                    None => default_strategies(),
                    Some(list) => self.strategies(list, as_of)?,
                };
                (demand, strategies)
            }
        };
        Ok(ScenarioFile {
            source_name: self.file.to_string(),
            name,
            inputs,
            series,
            as_of,
            horizon,
            forecast,
            events,
            rates,
            inventory,
            cost_of_capital,
            fiscal_year_start_month,
            quarters,
            budget,
            limits,
            demand,
            strategies,
        })
    }

    fn inputs(&self, raw: S<RawInputs>) -> Result<Inputs, ScenarioError> {
        let missing = |span: Range<usize>| {
            self.err(
                span,
                "inputs.paths",
                "is missing or empty",
                "a list of billing export files, directories or globs",
                "add [inputs] with paths = [\"exports/*.parquet\"] (relative to this file)",
            )
        };
        let Some(raw) = raw else {
            return Err(missing(0..0));
        };
        let span = raw.span();
        let raw = raw.into_inner();
        let Some(paths) = raw.paths else {
            return Err(missing(span));
        };
        if paths.get_ref().is_empty() {
            return Err(missing(paths.span()));
        }
        let paths = paths
            .into_inner()
            .iter()
            .map(|p| Ok(self.path(p, "inputs.paths")?.to_string_lossy().into_owned()))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        let format = raw
            .format
            .as_ref()
            .map(|f| {
                self.one_of(
                    f,
                    "inputs.format",
                    &[
                        ("focus", InputFormat::Focus),
                        ("cur", InputFormat::Cur),
                        ("azure", InputFormat::Azure),
                        ("oci", InputFormat::Oci),
                        ("tidy", InputFormat::Tidy),
                    ],
                    "remove the key to detect the format from the header",
                )
            })
            .transpose()?;
        let currency = raw
            .currency
            .as_ref()
            .map(|c| self.currency(c, "inputs.currency"))
            .transpose()?;
        let tidy = match raw.tidy {
            None => TidyColumns::default(),
            Some(t) => {
                let col = |v: &S<String>, key: &str| -> Result<Option<String>, ScenarioError> {
                    v.as_ref()
                        .map(|s| self.non_empty(s, &format!("inputs.tidy.{key}")))
                        .transpose()
                };
                TidyColumns {
                    time: col(&t.time, "time")?,
                    quantity: col(&t.quantity, "quantity")?,
                    unit: col(&t.unit, "unit")?,
                    cost: col(&t.cost, "cost")?,
                }
            }
        };
        Ok(Inputs {
            paths,
            format,
            currency,
            lenient: raw.lenient.unwrap_or(false),
            allow_duplicates: raw.allow_duplicates.unwrap_or(false),
            tidy,
        })
    }

    fn series(&self, raw: S<RawSeries>) -> Result<SeriesSettings, ScenarioError> {
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(ScenarioFile::defaults(Vec::new(), PathBuf::new()).series);
        };
        let by = match raw.by {
            None => vec!["service".to_string()],
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.err(
                        list.span(),
                        "series.by",
                        "is empty",
                        "dimension names: service, region, account, sub_account, sku, family, instance_type, pricing_category, provider, unit, x_* columns, tag:<key>",
                        "list at least one dimension, or remove the key for [\"service\"]",
                    ));
                }
                let mut seen = BTreeSet::new();
                let mut out = Vec::new();
                for d in list.get_ref() {
                    let v = self.non_empty(d, "series.by")?;
                    if !seen.insert(v.clone()) {
                        return Err(self.err(
                            d.span(),
                            "series.by",
                            format!("lists {v:?} twice"),
                            "each dimension once",
                            "remove the repeated dimension",
                        ));
                    }
                    out.push(v);
                }
                out
            }
        };
        let granularity = raw
            .granularity
            .as_ref()
            .map(|g| {
                self.one_of(
                    g,
                    "series.granularity",
                    &[
                        ("hour", Granularity::Hour),
                        ("day", Granularity::Day),
                        ("week", Granularity::Week),
                        ("month", Granularity::Month),
                    ],
                    "remove the key to use the data's own granularity",
                )
            })
            .transpose()?;
        let filter = match &raw.filter {
            None => Match::new(),
            Some(f) => self.filter(f, "series.filter")?,
        };
        Ok(SeriesSettings {
            by,
            granularity,
            filter,
        })
    }

    fn forecast(&self, raw: S<RawForecast>) -> Result<ForecastSettings, ScenarioError> {
        let d = ScenarioFile::defaults(Vec::new(), PathBuf::new()).forecast;
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(d);
        };
        let windows = match &raw.windows {
            None => d.windows,
            Some(w) => self.int_in(w, "forecast.windows", 1, 1000, "backtest windows")? as usize,
        };
        let anomaly_threshold = match &raw.anomaly_threshold {
            None => d.anomaly_threshold,
            Some(v) => {
                let x = self.number(v, "forecast.anomaly_threshold")?;
                if !(x.is_finite() && x > 0.0) {
                    return Err(self.err(
                        v.span(),
                        "forecast.anomaly_threshold",
                        format!("is {x}"),
                        "a positive robust z-score, e.g. 6",
                        "remove the key for the default (6)",
                    ));
                }
                x
            }
        };
        let paths = match &raw.paths {
            None => d.paths,
            Some(p) => {
                self.int_in(p, "forecast.paths", 1, 100_000, "demand sample paths")? as usize
            }
        };
        let seed = match &raw.seed {
            None => d.seed,
            Some(s) => self.int_in(s, "forecast.seed", 0, i64::MAX, "a seed")? as u64,
        };
        Ok(ForecastSettings {
            windows,
            backtest_horizon: raw
                .backtest_horizon
                .as_ref()
                .map(|s| self.span(s, "forecast.backtest_horizon"))
                .transpose()?,
            step: raw
                .step
                .as_ref()
                .map(|s| self.span(s, "forecast.step"))
                .transpose()?,
            anomaly_threshold,
            clean_anomalies: raw.clean_anomalies.unwrap_or(d.clean_anomalies),
            all_history: raw.all_history.unwrap_or(d.all_history),
            paths,
            seed,
        })
    }

    fn budget(&self, raw: S<RawBudget>) -> Result<Budgets, ScenarioError> {
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(ScenarioFile::defaults(Vec::new(), PathBuf::new()).budget);
        };
        let currency = match &raw.currency {
            None => DEFAULT_CURRENCY.to_string(),
            Some(c) => self.currency(c, "budget.currency")?,
        };
        let total = match &raw.total {
            None => BTreeMap::new(),
            Some(t) => self.amounts(t, "budget.total")?,
        };
        let mut groups: Vec<GroupBudget> = Vec::new();
        for (i, g) in raw.group.unwrap_or_default().into_iter().enumerate() {
            let span = g.span();
            let g = g.into_inner();
            let key = |k: &str| format!("budget.group[{}].{k}", i + 1);
            let name = match &g.name {
                Some(n) => self.non_empty(n, &key("name"))?,
                None => {
                    return Err(self.err(
                        span,
                        key("name"),
                        "is missing",
                        "a label for the group, e.g. name = \"EC2\"",
                        "add a name to this [[budget.group]]",
                    ));
                }
            };
            if let Some(first) = groups.iter().find(|o| o.name == name) {
                return Err(self.err(
                    span,
                    key("name"),
                    format!("{name:?} is also the group on line {}", first.line),
                    "a name used once",
                    "give every budget group its own name",
                ));
            }
            let filter = match &g.match_ {
                Some(m) if !m.get_ref().is_empty() => self.filter(m, &key("match"))?,
                other => {
                    return Err(self.err(
                        other.as_ref().map_or(span, Spanned::span),
                        key("match"),
                        "is missing or empty",
                        "a dimension filter, e.g. match = { service = \"Amazon Elastic Compute Cloud\" }",
                        "say which series the group's budget covers (`budget.total` covers everything)",
                    ));
                }
            };
            let quarters = match &g.quarters {
                None => BTreeMap::new(),
                Some(q) => self.amounts(q, &key("quarters"))?,
            };
            groups.push(GroupBudget {
                name,
                filter,
                quarters,
                line: self.line(&span),
            });
        }
        Ok(Budgets {
            currency,
            total,
            groups,
        })
    }

    fn amounts(
        &self,
        raw: &BTreeMap<String, Spanned<toml::Value>>,
        key: &str,
    ) -> Result<BTreeMap<FiscalQuarter, Decimal>, ScenarioError> {
        let mut out = BTreeMap::new();
        for (label, v) in raw {
            let k = format!("{key}.\"{label}\"");
            let q: FiscalQuarter = label.parse().map_err(|_| {
                self.err(
                    v.span(),
                    k.clone(),
                    format!("{label:?} is not a fiscal quarter label"),
                    "FY<year>-Q<1-4>, e.g. \"FY2027-Q1\" (the fiscal year is named after the calendar year it ends in)",
                    "write the quarter as \"FY2027-Q1\" (quoted, since it contains `-`)",
                )
            })?;
            if out.contains_key(&q) {
                return Err(self.err(
                    v.span(),
                    k,
                    format!("{q} is given twice (labels are case-insensitive)"),
                    "each quarter once",
                    "remove one of the two amounts",
                ));
            }
            let amount = self.decimal(v, &k)?;
            if amount < Decimal::ZERO {
                return Err(self.err(
                    v.span(),
                    k,
                    format!("is {amount}"),
                    "an amount of zero or more",
                    "write the budget as a positive amount",
                ));
            }
            out.insert(q, amount);
        }
        Ok(out)
    }

    fn limit(&self, index: usize, raw: Spanned<RawLimit>) -> Result<CapacityLimit, ScenarioError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = |k: &str| format!("limit[{}].{k}", index + 1);
        let filter = match &raw.match_ {
            None => Match::new(),
            Some(m) => self.filter(m, &key("match"))?,
        };
        let Some(v) = &raw.value else {
            return Err(self.err(
                span,
                key("value"),
                "is missing",
                "the capacity limit in the series' unit, e.g. value = 400",
                "add value = <limit> to this [[limit]]",
            ));
        };
        let value = self.number(v, &key("value"))?;
        if !(value.is_finite() && value > 0.0) {
            return Err(self.err(
                v.span(),
                key("value"),
                format!("is {value}"),
                "a positive number",
                "write the limit in the unit of the series it applies to",
            ));
        }
        Ok(CapacityLimit {
            filter,
            value,
            line: self.line(&span),
        })
    }

    fn demands(&self, list: Vec<Spanned<RawDemand>>) -> Result<Vec<DemandScenario>, ScenarioError> {
        let mut out: Vec<DemandScenario> = Vec::new();
        for (i, d) in list.into_iter().enumerate() {
            let span = d.span();
            let d = d.into_inner();
            let key = |k: &str| format!("scenario.demand[{}].{k}", i + 1);
            let name = self.entry_name(&d.name, span.clone(), &key("name"), "demand")?;
            if let Some(first) = out.iter().find(|o| o.name == name) {
                return Err(self.duplicate(span, &key("name"), &name, first.line));
            }
            let source = match (&d.quantile, &d.multiplier) {
                (Some(q), Some(_)) => {
                    return Err(self.err(
                        q.span(),
                        key("quantile"),
                        "is given together with `multiplier`",
                        "one of `quantile` or `multiplier`, or neither for the forecast as is",
                        "split them into two demand scenarios",
                    ));
                }
                (Some(q), None) => DemandSource::Quantile(self.quantile(q, &key("quantile"))?),
                (None, Some(m)) => {
                    let x = self.number(m, &key("multiplier"))?;
                    if !(x.is_finite() && x > 0.0 && x <= 100.0) {
                        return Err(self.err(
                            m.span(),
                            key("multiplier"),
                            format!("is {x}"),
                            "a positive factor on the forecast demand, e.g. 1.2 for +20 % (at most 100)",
                            "write growth as a factor: 0.8 = 20 % less, 1.5 = 50 % more",
                        ));
                    }
                    DemandSource::Multiplier(x)
                }
                (None, None) => DemandSource::Forecast,
            };
            let events = match &d.events {
                None => Vec::new(),
                Some(list) => list
                    .get_ref()
                    .iter()
                    .map(|p| self.path(p, &key("events")))
                    .collect::<Result<_, _>>()?,
            };
            out.push(DemandScenario {
                name,
                source,
                events,
                line: self.line(&span),
            });
        }
        if out.is_empty() {
            return Ok(default_demand());
        }
        Ok(out)
    }

    fn strategies(
        &self,
        list: Vec<Spanned<RawStrategy>>,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<Strategy>, ScenarioError> {
        let mut out: Vec<Strategy> = Vec::new();
        for (i, s) in list.into_iter().enumerate() {
            let span = s.span();
            let s = s.into_inner();
            let key = |k: &str| format!("scenario.strategy[{}].{k}", i + 1);
            let name = self.entry_name(&s.name, span.clone(), &key("name"), "strategy")?;
            if let Some(first) = out.iter().find(|o| o.name == name) {
                return Err(self.duplicate(span, &key("name"), &name, first.line));
            }
            #[derive(Clone, Copy, PartialEq)]
            enum K {
                None,
                Recommended,
                Coverage,
                Purchases,
                Lookback,
            }
            let Some(kind_raw) = &s.kind else {
                return Err(self.err(
                    span,
                    key("kind"),
                    "is missing",
                    "one of \"none\", \"recommended\", \"coverage\", \"purchases\", \"lookback\"",
                    "add kind = \"recommended\" (or another kind) to this strategy",
                ));
            };
            let kind = self.one_of(
                kind_raw,
                &key("kind"),
                &[
                    ("none", K::None),
                    ("recommended", K::Recommended),
                    ("coverage", K::Coverage),
                    ("purchases", K::Purchases),
                    ("lookback", K::Lookback),
                ],
                "choose the kind of strategy",
            )?;
            // Keys that only apply to one kind.
            let applies: [(&str, Option<Range<usize>>, K, &str); 9] = [
                (
                    "risk",
                    s.risk.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "risk_quantile",
                    s.risk_quantile.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "risk_cvar",
                    s.risk_cvar.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder",
                    s.ladder.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder_months",
                    s.ladder_months.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder_sizing",
                    s.ladder_sizing.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "coverage_percent",
                    s.coverage_percent.as_ref().map(Spanned::span),
                    K::Coverage,
                    "coverage",
                ),
                (
                    "term",
                    s.term.as_ref().map(Spanned::span),
                    K::Coverage,
                    "coverage",
                ),
                (
                    "days",
                    s.days.as_ref().map(Spanned::span),
                    K::Lookback,
                    "lookback",
                ),
            ];
            for (k, sp, only, only_name) in applies {
                if let Some(sp) = sp
                    && kind != only
                {
                    return Err(self.err(
                        sp,
                        key(k),
                        format!("does not apply to kind = {:?}", kind_raw.get_ref().trim()),
                        format!("`{k}` only with kind = \"{only_name}\""),
                        "remove the key or change the kind",
                    ));
                }
            }
            if let Some(p) = &s.purchase
                && kind != K::Purchases
            {
                let sp = p.first().map_or(span.clone(), Spanned::span);
                return Err(self.err(
                    sp,
                    key("purchase"),
                    format!("does not apply to kind = {:?}", kind_raw.get_ref().trim()),
                    "`purchase` only with kind = \"purchases\"",
                    "remove the purchases or change the kind",
                ));
            }
            let kind = match kind {
                K::None => StrategyKind::None,
                K::Recommended => StrategyKind::Recommended {
                    risk: self.risk(&s, &key)?,
                    ladder: self.ladder(&s, &key)?,
                },
                K::Coverage => {
                    let Some(p) = &s.coverage_percent else {
                        return Err(self.err(
                            span,
                            key("coverage_percent"),
                            "is missing",
                            "the share of each pool's mean forecast demand to commit, in percent, e.g. coverage_percent = 70",
                            "add coverage_percent to this strategy",
                        ));
                    };
                    let percent = self.decimal(p, &key("coverage_percent"))?;
                    if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                        return Err(self.err(
                            p.span(),
                            key("coverage_percent"),
                            format!("is {percent}"),
                            "a percentage above 0 and at most 100",
                            "write 70 for 70 % (use kind = \"none\" for no commitments)",
                        ));
                    }
                    let term = match &s.term {
                        None => Term::OneYear,
                        Some(t) => self.one_of(
                            t,
                            &key("term"),
                            &[("1y", Term::OneYear), ("3y", Term::ThreeYears)],
                            "remove the key for one year",
                        )?,
                    };
                    StrategyKind::Coverage { percent, term }
                }
                K::Purchases => {
                    let list = s.purchase.unwrap_or_default();
                    if list.is_empty() {
                        return Err(self.err(
                            span,
                            key("purchase"),
                            "is missing or empty",
                            "[[scenario.strategy.purchase]] entries with pool, offer, quantity and date",
                            "list the purchases, or use kind = \"none\"",
                        ));
                    }
                    let purchases = list
                        .into_iter()
                        .enumerate()
                        .map(|(j, p)| {
                            self.purchase(p, &key(&format!("purchase[{}]", j + 1)), as_of)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    StrategyKind::Purchases(purchases)
                }
                K::Lookback => StrategyKind::Lookback {
                    days: match &s.days {
                        None => 30,
                        Some(d) => self.int_in(
                            d,
                            &key("days"),
                            1,
                            365,
                            "days of history, usually 7, 30 or 60",
                        )? as u32,
                    },
                },
            };
            out.push(Strategy {
                name,
                kind,
                line: self.line(&span),
            });
        }
        if out.is_empty() {
            return Ok(default_strategies());
        }
        Ok(out)
    }

    fn risk(&self, s: &RawStrategy, key: &dyn Fn(&str) -> String) -> Result<Risk, ScenarioError> {
        let given: Vec<(&str, Range<usize>)> = [
            ("risk", s.risk.as_ref().map(Spanned::span)),
            ("risk_quantile", s.risk_quantile.as_ref().map(Spanned::span)),
            ("risk_cvar", s.risk_cvar.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, sp)| sp.map(|sp| (k, sp)))
        .collect();
        if given.len() > 1 {
            return Err(self.err(
                given[1].1.clone(),
                key(given[1].0),
                format!("is given together with `{}`", given[0].0),
                "one of `risk`, `risk_quantile`, `risk_cvar`",
                "keep one risk setting",
            ));
        }
        if let Some(r) = &s.risk {
            return self.one_of(
                r,
                &key("risk"),
                &[
                    ("conservative", Risk::Conservative),
                    ("balanced", Risk::Balanced),
                    ("aggressive", Risk::Aggressive),
                ],
                "remove the key for balanced",
            );
        }
        if let Some(q) = &s.risk_quantile {
            let x = self.number(q, &key("risk_quantile"))?;
            if !(x > 0.0 && x < 1.0) {
                return Err(self.err(
                    q.span(),
                    key("risk_quantile"),
                    format!("is {x}"),
                    "a quantile strictly between 0 and 1 (0.25 = conservative)",
                    "write the quantile as a fraction",
                ));
            }
            return Ok(Risk::Quantile(x));
        }
        if let Some(a) = &s.risk_cvar {
            let x = self.number(a, &key("risk_cvar"))?;
            if !(x > 0.0 && x <= 1.0) {
                return Err(self.err(
                    a.span(),
                    key("risk_cvar"),
                    format!("is {x}"),
                    "a CVaR level above 0 and at most 1 (1 = balanced)",
                    "write alpha as a fraction",
                ));
            }
            return Ok(Risk::Cvar(x));
        }
        Ok(Risk::Balanced)
    }

    fn ladder(
        &self,
        s: &RawStrategy,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Option<Ladder>, ScenarioError> {
        let Some(c) = &s.ladder else {
            for (k, sp) in [
                ("ladder_months", s.ladder_months.as_ref().map(Spanned::span)),
                ("ladder_sizing", s.ladder_sizing.as_ref().map(Spanned::span)),
            ] {
                if let Some(sp) = sp {
                    return Err(self.err(
                        sp,
                        key(k),
                        "is given without `ladder`",
                        "ladder = \"monthly\" or \"quarterly\" beside it",
                        "add `ladder` or remove this key",
                    ));
                }
            }
            return Ok(None);
        };
        let cadence = self.one_of(
            c,
            &key("ladder"),
            &[
                ("monthly", LadderCadence::Monthly),
                ("quarterly", LadderCadence::Quarterly),
            ],
            "remove the key for a single lump purchase",
        )?;
        let months = match &s.ladder_months {
            None => 12,
            Some(m) => self.int_in(
                m,
                &key("ladder_months"),
                1,
                36,
                "months over which tranches are bought",
            )? as u32,
        };
        let sizing = match &s.ladder_sizing {
            None => LadderSizing::Equal,
            Some(z) => self.one_of(
                z,
                &key("ladder_sizing"),
                &[
                    ("equal", LadderSizing::Equal),
                    ("sequential", LadderSizing::Sequential),
                ],
                "remove the key for equal tranches",
            )?,
        };
        Ok(Some(Ladder {
            cadence,
            months,
            sizing,
        }))
    }

    fn purchase(
        &self,
        raw: Spanned<RawPurchase>,
        key: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<Purchase, ScenarioError> {
        let span = raw.span();
        let p = raw.into_inner();
        let k = |f: &str| format!("{key}.{f}");
        let required = |f: &str, example: &str| {
            self.err(
                span.clone(),
                k(f),
                "is missing",
                example.to_string(),
                "every purchase needs pool, offer, quantity and date",
            )
        };
        let pool = match &p.pool {
            Some(v) => self.non_empty(v, &k("pool"))?,
            None => return Err(required("pool", "a pool id of the rate card")),
        };
        let offer = match &p.offer {
            Some(v) => self.non_empty(v, &k("offer"))?,
            None => return Err(required("offer", "an offer id of that pool")),
        };
        let quantity = match &p.quantity {
            Some(v) => {
                self.int_in(v, &k("quantity"), 1, i64::MAX, "whole units of the pool")? as u64
            }
            None => return Err(required("quantity", "whole units, e.g. quantity = 10")),
        };
        let date = match &p.date {
            Some(v) => {
                let d = self.date(v, &k("date"))?;
                if let Some(a) = as_of
                    && d < a
                {
                    return Err(self.err(
                        v.span(),
                        k("date"),
                        format!("{d} is before as_of ({a})"),
                        "a date on or after as_of",
                        "list commitments already bought in the inventory file instead",
                    ));
                }
                d
            }
            None => return Err(required("date", DATE_EXPECTED)),
        };
        Ok(Purchase {
            pool,
            offer,
            quantity,
            date,
            line: self.line(&span),
        })
    }

    // ----- value helpers -----

    fn entry_name(
        &self,
        raw: &S<String>,
        span: Range<usize>,
        key: &str,
        what: &str,
    ) -> Result<String, ScenarioError> {
        match raw {
            Some(n) => self.non_empty(n, key),
            None => Err(self.err(
                span,
                key,
                "is missing",
                format!("a label for the {what} scenario, e.g. name = \"upside\""),
                "add a name; it labels the row or column of the scenario matrix",
            )),
        }
    }

    fn duplicate(&self, span: Range<usize>, key: &str, name: &str, line: usize) -> ScenarioError {
        self.err(
            span,
            key,
            format!("{name:?} is also used on line {line}"),
            "a name used once",
            "give every entry its own name",
        )
    }

    fn non_empty(&self, v: &Spanned<String>, key: &str) -> Result<String, ScenarioError> {
        let t = v.get_ref().trim();
        if t.is_empty() {
            return Err(self.err(
                v.span(),
                key,
                "is empty",
                "a non-empty text",
                "fill in the value or remove the key",
            ));
        }
        Ok(t.to_string())
    }

    fn path(&self, v: &Spanned<String>, key: &str) -> Result<PathBuf, ScenarioError> {
        let t = v.get_ref();
        if t.trim().is_empty() || t.trim() != t {
            return Err(self.err(
                v.span(),
                key,
                format!("{t:?} is not a usable path"),
                "a file path or glob without leading or trailing spaces",
                "write the path relative to this plan file, or absolute",
            ));
        }
        Ok(PathBuf::from(t))
    }

    fn currency(&self, v: &Spanned<String>, key: &str) -> Result<String, ScenarioError> {
        let t = v.get_ref().trim();
        if t.len() != 3 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(self.err(
                v.span(),
                key,
                format!("{:?} is not a currency code", v.get_ref()),
                "an ISO 4217 code such as \"USD\" or \"EUR\"",
                "write the three-letter code of the billing currency",
            ));
        }
        Ok(t.to_ascii_uppercase())
    }

    fn filter(&self, v: &Spanned<Match>, key: &str) -> Result<Match, ScenarioError> {
        for (k, val) in v.get_ref() {
            if k.trim().is_empty() || val.trim().is_empty() {
                return Err(self.err(
                    v.span(),
                    key,
                    format!("has an empty dimension or value ({k:?} = {val:?})"),
                    "{ dimension = \"value\", ... }, e.g. { region = \"eu-west-1\" }",
                    "fill in or remove the empty entry",
                ));
            }
        }
        Ok(v.get_ref().clone())
    }

    fn one_of<T: Copy>(
        &self,
        v: &Spanned<String>,
        key: &str,
        options: &[(&str, T)],
        fix: &str,
    ) -> Result<T, ScenarioError> {
        let t = v.get_ref().trim().to_ascii_lowercase();
        if let Some((_, x)) = options.iter().find(|(n, _)| *n == t) {
            return Ok(*x);
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
        let closest = options
            .iter()
            .map(|(n, _)| (edit_distance(&t, n), *n))
            .filter(|(d, _)| *d <= 2)
            .min();
        let fix = match closest {
            Some((_, n)) => format!("did you mean {n:?}? ({fix})"),
            None => fix.to_string(),
        };
        Err(self.err(
            v.span(),
            key,
            format!("{:?} is not one of the choices", v.get_ref()),
            format!("one of {}", names.join(", ")),
            fix,
        ))
    }

    fn int_in(
        &self,
        v: &Spanned<i64>,
        key: &str,
        lo: i64,
        hi: i64,
        what: &str,
    ) -> Result<i64, ScenarioError> {
        let x = *v.get_ref();
        if x < lo || x > hi {
            let expected = if hi == i64::MAX {
                format!("a whole number of at least {lo} ({what})")
            } else {
                format!("a whole number from {lo} to {hi} ({what})")
            };
            return Err(self.err(
                v.span(),
                key,
                format!("is {x}"),
                expected,
                "correct the value, or remove the key for its default",
            ));
        }
        Ok(x)
    }

    fn number(&self, v: &Spanned<toml::Value>, key: &str) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) => Ok(*f),
            other => Err(self.err(
                v.span(),
                key,
                format!("is a TOML {}", other.type_str()),
                "a number",
                "write the number without quotes",
            )),
        }
    }

    fn decimal(&self, v: &Spanned<toml::Value>, key: &str) -> Result<Decimal, ScenarioError> {
        let parsed = match v.get_ref() {
            toml::Value::String(s) => Decimal::from_str_exact(s.trim()).ok(),
            toml::Value::Integer(i) => Some(Decimal::from(*i)),
            // The shortest text that round-trips the float: what the user wrote for
            // ordinary amounts (e.g. 0.08, 1250000.5).
            toml::Value::Float(f) if f.is_finite() => Decimal::from_str_exact(&f.to_string())
                .ok()
                .or_else(|| Decimal::from_scientific(&format!("{f:e}")).ok()),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.err(
                v.span(),
                key,
                format!("{} is not a decimal number", v.get_ref()),
                DECIMAL_EXPECTED,
                "write the amount as a quoted decimal, e.g. \"1250000.00\"",
            )
        })
    }

    fn quantile(&self, v: &Spanned<toml::Value>, key: &str) -> Result<f64, ScenarioError> {
        let x = match v.get_ref() {
            toml::Value::String(s) => {
                let t = s.trim().to_ascii_lowercase();
                t.strip_prefix('p')
                    .filter(|d| {
                        !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|d| d.parse::<u32>().ok())
                    .map(|p| f64::from(p) / 100.0)
            }
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        match x {
            Some(x) if QUANTILE_LEVELS.iter().any(|l| (l - x).abs() < 1e-9) => Ok(QUANTILE_LEVELS
                .into_iter()
                .find(|l| (l - x).abs() < 1e-9)
                .unwrap_or(x)),
            _ => Err(self.err(
                v.span(),
                key,
                format!("{} is not a forecast quantile", v.get_ref()),
                "one of \"p05\", \"p10\", \"p25\", \"p50\", \"p75\", \"p90\", \"p95\" (or 0.05 ... 0.95)",
                "use a level the forecast carries, or `multiplier` for other shifts",
            )),
        }
    }

    fn date(&self, v: &Spanned<toml::Value>, key: &str) -> Result<NaiveDate, ScenarioError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => Some(s.trim().to_string()),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                Some(d.to_string())
            }
            _ => None,
        };
        text.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    key,
                    format!("{} is not a date", v.get_ref()),
                    DATE_EXPECTED,
                    "write the day only (dates are UTC days)",
                )
            })
    }

    fn span(&self, v: &Spanned<String>, key: &str) -> Result<Span, ScenarioError> {
        Span::parse(v.get_ref()).map_err(|problem| {
            self.err(
                v.span(),
                key,
                problem,
                crate::span::SPAN_EXPECTED,
                "write e.g. \"90d\" or \"3y\"",
            )
        })
    }
}

impl FromStr for ScenarioFile {
    type Err = ScenarioError;

    /// [`ScenarioFile::from_toml_str`] with the source name `<plan>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScenarioFile::from_toml_str(s, "<plan>")
    }
}

#[cfg(test)]
mod tests;
