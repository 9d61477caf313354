//! The plan file: one TOML file describing a whole planning run, so a scheduler can repeat it.
//!
//! [`ScenarioFile::from_toml_str`] parses and validates the text (no I/O: the caller reads
//! the file); [`ScenarioFile::resolve_paths`] makes relative paths relative to the plan
//! file's directory. Every setting except `inputs.paths` and `rates` has a default, listed
//! on [`ScenarioFile::defaults`]. Unknown keys are errors naming their line and the valid
//! keys; every error names the file, line, column and key, says what was expected and
//! what to do ([`ScenarioError`]).
//!
//! The model is typed with the stages' own vocabulary — [`crate::ingest::Format`],
//! [`crate::series::Granularity`], [`crate::plan::Risk`], [`crate::plan::LadderSettings`],
//! [`crate::pricing::Term`] — so the run uses the values as they are. This file holds the
//! validated model and its defaults; `raw.rs` the serde mirror of the text (every value
//! with its span), `validate.rs` (and `validate/strategies.rs`) the checks that turn one
//! into the other, `fiscal.rs` the fiscal quarters, `error.rs` [`ScenarioError`], whose
//! [`Diagnostic`](crate::diagnostic::Diagnostic)s come from the shared
//! [`crate::diagnostic`] room.
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
mod raw;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::ingest::Format;
use crate::plan::Risk;
use crate::series::Granularity;
pub use crate::span::Span;
pub use error::ScenarioError;
pub use fiscal::{FiscalQuarter, fiscal_quarter, planned_quarters, quarter_bounds};

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
    pub forecast: ForecastOptions,
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
    pub format: Option<Format>,
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

/// The plan file's `[forecast]` table: the `forecast` command's flags and `plan`'s
/// `--paths`/`--seed`. Not [`crate::forecast::ForecastSettings`], which the run derives from it
/// per series: these lengths are calendar spans, turned into steps once the data's
/// granularity is known, and the sample paths are the plan stage's.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastOptions {
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

/// How a demand scenario's demand is derived from the forecast (the plan stage's own type;
/// a plan file's quantile is one of [`QUANTILE_LEVELS`]).
pub use crate::plan::demand::DemandSource;

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

/// What a strategy buys: the plan stage's own type ([`crate::plan::strategy::Strategy`]).
pub use crate::plan::strategy::Strategy as StrategyKind;

/// One purchase of a custom strategy: the plan stage's own type
/// ([`crate::plan::strategy::ListedPurchase`]). Pool and offer ids are checked against the rate
/// card by the run; `line` names the purchase in that error.
pub use crate::plan::strategy::ListedPurchase as Purchase;

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
            forecast: ForecastOptions {
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
        validate::parse(text, source_name)
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
                risk: Risk::BALANCED,
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

impl FromStr for ScenarioFile {
    type Err = ScenarioError;

    /// [`ScenarioFile::from_toml_str`] with the source name `<plan>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScenarioFile::from_toml_str(s, "<plan>")
    }
}

#[cfg(test)]
mod tests;
