//! Every clap definition of the command line, and the conversions of the arguments into the
//! library's plain option structs (`to_options`, `From`). The library's own enums are mirrored
//! here (`FormatArg`, `GranularityArg`, `MeasureArg`) so clap stays out of the library; the
//! mirrors carry the same names and docs, so `--help` and the accepted values are unchanged.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use capplan::ingest::{AggregateOptions, Filter, Format, InputOptions, Measure, TidyColumns};
use capplan::money::Currency;
use capplan::plan::{Cadence, Risk, TrancheSizing};
use capplan::series::Granularity;
pub(crate) use capplan::span::Span;

/// Cloud capacity forecasting and commitment planning from billing exports.
#[derive(Debug, Parser)]
#[command(name = "capplan", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what billing exports contain: format, rows, time span, services, costs, data quality.
    Inspect(InspectArgs),
    /// Aggregate billing exports into regular usage series (with a reconciliation summary).
    Ingest(IngestArgs),
    /// List the commitments (RIs, Savings Plans, CUDs) a FOCUS bill names: used and unused
    /// amortised cost, utilisation, purchases, and the bill's commitment coverage.
    Commitments(CommitmentsArgs),
    /// Forecast usage series with calibrated quantiles, anomalies, events and saturation.
    Forecast(ForecastArgs),
    /// Rolling-origin backtest of the forecasting models: MASE, RMSSE, sMAPE, pinball, CRPS,
    /// coverage and Winkler score per series and overall.
    Backtest(BacktestArgs),
    /// Recommend commitments (reserved vs on-demand) per pool of a rate card from the forecast
    /// distribution, with finance figures and the baselines beside them.
    Plan(PlanArgs),
    /// Policy backtest: at past decision dates, forecast from the data before the date, plan,
    /// and apply the purchases to what actually happened; compare with all on-demand, the
    /// 30-day lookback rule and the hindsight optimum.
    BacktestPlan(BacktestPlanArgs),
    /// Run a plan file end to end (ingest → forecast → plan → scenarios) and write the
    /// self-contained HTML report, its CSV/JSON/XLSX exports and the directory's index.html.
    Report(ReportArgs),
    /// Run the bundled demo (data/demo/plan.toml) and write its report under reports/demo/.
    Demo(DemoArgs),
    /// Generate the deterministic synthetic FOCUS 1.2 export of the demo company.
    Synth(SynthArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The plan file (TOML) describing the run; relative paths in it are relative to its
    /// directory.
    #[arg(long, value_name = "PLAN.toml")]
    pub(crate) config: PathBuf,
    /// Plan as of this date (UTC day), overriding the plan file's `as_of`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) as_of: Option<chrono::NaiveDate>,
    /// Output directory; `<name>-<FY>-Q<n>.html` and its exports are written there and
    /// `index.html` is updated.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub(crate) out: PathBuf,
    /// Exit with code 3 when a forecast quarter's median spend exceeds its budget (total or a
    /// group's), after writing the report.
    #[arg(long)]
    pub(crate) fail_on_budget: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The demo's plan file.
    #[arg(long, value_name = "PLAN.toml", default_value = "data/demo/plan.toml")]
    pub(crate) config: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Output Parquet file.
    #[arg(long, default_value = "data/demo/focus.parquet")]
    pub(crate) out: PathBuf,
    /// First day of the data (UTC).
    #[arg(long, default_value = "2024-10-01")]
    pub(crate) start: chrono::NaiveDate,
    /// Number of months.
    #[arg(long, default_value_t = 24)]
    pub(crate) months: u32,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Multiplier on the number of business units (1 = the demo; 25 ≈ 5.3 million rows).
    #[arg(long, default_value_t = 1)]
    pub(crate) scale: u32,
}

/// Where the input comes from and how strictly it is read.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// Files (.csv, .csv.gz, .csv.zip, .parquet), directories (recursive; hive key=value
    /// folders become dimensions) or quoted globs.
    #[arg(required = true, value_name = "INPUTS")]
    pub(crate) inputs: Vec<String>,
    /// Force the input format instead of detecting it from the header.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) input_format: Option<FormatArg>,
    /// Keep only rows in this billing currency (others are excluded and counted).
    #[arg(long, value_name = "CODE")]
    pub(crate) currency: Option<String>,
    /// Exclude rows with unparseable values (counted) instead of stopping at the first.
    #[arg(long)]
    pub(crate) lenient: bool,
    /// Accept rows that are identical in every column (reported instead of an error).
    #[arg(long)]
    pub(crate) allow_duplicates: bool,
    /// Tidy format: the timestamp column (default: timestamp, time, date, ...).
    #[arg(long, value_name = "NAME")]
    pub(crate) time_col: Option<String>,
    /// Tidy format: the quantity column (default: quantity, value, usage, ...).
    #[arg(long, value_name = "NAME")]
    pub(crate) quantity_col: Option<String>,
    /// Tidy format: the unit column (default: unit).
    #[arg(long, value_name = "NAME")]
    pub(crate) unit_col: Option<String>,
    /// Tidy format: the cost column (default: cost).
    #[arg(long, value_name = "NAME")]
    pub(crate) cost_col: Option<String>,
}

impl InputArgs {
    pub(crate) fn to_options(&self) -> Result<InputOptions, UsageError> {
        let currency = match &self.currency {
            Some(c) => Some(Currency::new(c).map_err(|e| UsageError(format!("--currency: {e}")))?),
            None => None,
        };
        Ok(InputOptions {
            inputs: self.inputs.clone(),
            format: self.input_format.map(Format::from),
            currency,
            lenient: self.lenient,
            allow_duplicates: self.allow_duplicates,
            tidy: TidyColumns {
                time: self.time_col.clone(),
                quantity: self.quantity_col.clone(),
                unit: self.unit_col.clone(),
                cost: self.cost_col.clone(),
            },
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CommitmentsArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output as a human table or as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output as a human table or as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: OutputFormat,
}

/// How billing rows become usage series.
#[derive(Debug, Args)]
pub(crate) struct SeriesArgs {
    /// Dimensions to group by, comma-separated: service, region, account, sub_account, sku,
    /// family, instance_type, pricing_category, provider, unit, x_* columns, tag:<key>.
    #[arg(long, value_delimiter = ',', default_value = "service")]
    pub(crate) by: Vec<String>,
    /// Time bucket of the series (default: the granularity of the data).
    #[arg(long, value_enum)]
    pub(crate) granularity: Option<GranularityArg>,
    /// Keep rows where KEY=VALUE (repeatable; all must match). Others are counted as filtered.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) filter: Vec<String>,
    /// What to aggregate.
    #[arg(long, value_enum, default_value = "quantity")]
    pub(crate) measure: MeasureArg,
}

impl SeriesArgs {
    pub(crate) fn to_options(&self) -> Result<AggregateOptions> {
        let filters = self
            .filter
            .iter()
            .map(|f| f.parse::<Filter>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AggregateOptions {
            by: self.by.clone(),
            granularity: self.granularity.map(Granularity::from),
            filters,
            measure: self.measure.into(),
        })
    }
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) series: SeriesArgs,
    /// Output file: .parquet or .csv. The reconciliation is written beside it as
    /// <name>.reconciliation.json.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ForecastArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) series: SeriesArgs,
    /// How far ahead: a number and a unit h, d, w or y (365 days), e.g. 90d, 12w, 3y.
    #[arg(long, default_value = "90d", value_parser = parse_span)]
    pub(crate) horizon: Span,
    /// Horizon of the backtest windows that calibrate the intervals (default: the horizon,
    /// at most 30 days hourly, 90 days daily, 13 weeks weekly). Later steps are extrapolated.
    #[arg(long, value_parser = parse_span)]
    pub(crate) backtest_horizon: Option<Span>,
    /// Backtest windows (fewer when the history is short).
    #[arg(long, default_value_t = 8)]
    pub(crate) windows: usize,
    /// Distance between backtest origins (default: 1 week; 1 step for weekly series).
    #[arg(long, value_parser = parse_span)]
    pub(crate) step: Option<Span>,
    /// Known future events (TOML): launches, migrations, decommissions, growth.
    #[arg(long, value_name = "FILE")]
    pub(crate) events: Option<PathBuf>,
    /// Replace flagged historical anomalies by their expected value before fitting.
    #[arg(long)]
    pub(crate) clean_anomalies: bool,
    /// Robust z-score above which a remainder value is an anomaly.
    #[arg(long, default_value_t = 6.0)]
    pub(crate) anomaly_threshold: f64,
    /// Train on the whole history even after a detected level shift.
    #[arg(long)]
    pub(crate) all_history: bool,
    /// Capacity limit, for all series (`500`) or the series matching filters
    /// (`region=eu-west-1:500`); reports when p50 and p90 first exceed it. Repeatable.
    #[arg(long, value_name = "[K=V,...:]LIMIT")]
    pub(crate) limit: Vec<String>,
    /// Output: .csv or .parquet (one row per series and step, with p05..p95; the models,
    /// backtests, anomalies and saturation go to <name>.models.json beside it) or .json
    /// (everything).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BacktestArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) series: SeriesArgs,
    /// Forecast horizon of each window (h, d, w, y).
    #[arg(long, default_value = "7d", value_parser = parse_span)]
    pub(crate) horizon: Span,
    /// Windows (fewer when the history is short).
    #[arg(long, default_value_t = 40)]
    pub(crate) windows: usize,
    /// Distance between window origins (default: 1 day hourly, 1 week daily, 1 step weekly).
    #[arg(long, value_parser = parse_span)]
    pub(crate) step: Option<Span>,
    /// Earlier, non-overlapping windows a window needs before it is scored; selection and
    /// calibration only use those.
    #[arg(long, default_value_t = 10)]
    pub(crate) min_calibration_windows: usize,
    /// Output: .csv (one row per series and model) or .json.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RiskArg {
    /// Plan against the lower quartile of demand (commit less).
    Conservative,
    /// Minimise expected cost.
    Balanced,
    /// Plan against the upper quartile of demand (commit more).
    Aggressive,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Rate card (TOML): pools, on-demand rates and commitment offers.
    #[arg(long, value_name = "FILE")]
    pub(crate) rates: PathBuf,
    /// Existing commitments (TOML); their expirations are modelled over the horizon.
    #[arg(long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,
    /// Planning horizon (h, d, w, y).
    #[arg(long, default_value = "3y", value_parser = parse_span)]
    pub(crate) horizon: Span,
    /// Risk setting.
    #[arg(long, value_enum, default_value = "balanced")]
    pub(crate) risk: RiskArg,
    /// Explicit risk instead of --risk: plan against the q-quantile of each commitment
    /// slice's utilisation across demand paths (0 < q < 1; 0.25 = conservative).
    #[arg(long, value_name = "Q", conflicts_with = "risk_cvar")]
    pub(crate) risk_quantile: Option<f64>,
    /// Explicit risk instead of --risk: plan against the mean of the lowest alpha share of
    /// the slices' utilisation across paths (CVaR; 0 < alpha <= 1, 1 = balanced).
    #[arg(long, value_name = "ALPHA")]
    pub(crate) risk_cvar: Option<f64>,
    /// Plan as of this date (UTC midnight): history after it is ignored. Default: the end of
    /// the data.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) as_of: Option<chrono::NaiveDate>,
    /// Annual cost of capital for the payment-option choice and NPV, e.g. 0.08.
    #[arg(long, default_value = "0")]
    pub(crate) cost_of_capital: rust_decimal::Decimal,
    /// Demand sample paths per series.
    #[arg(long, default_value_t = 200)]
    pub(crate) paths: usize,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Also lay the long-term purchase out as a ladder of tranches bought every month or
    /// quarter, and compare its cost and risk with the lump purchase.
    #[arg(long, value_enum, value_name = "CADENCE")]
    pub(crate) ladder: Option<LadderCadence>,
    /// Months over which the ladder's tranches are bought.
    #[arg(long, default_value_t = 12)]
    pub(crate) ladder_months: usize,
    /// Tranche sizes: equal slices of the lump, or each tranche optimal for the demand after
    /// its date given the earlier ones (on one forecast this usually reproduces the lump).
    #[arg(long, value_enum, default_value = "equal")]
    pub(crate) ladder_sizing: LadderSizingArg,
    /// Spend-based pools (Savings Plans, spend CUDs): also evaluate this commitment per hour
    /// at plan rates (what-if), on the recommended term.
    #[arg(long, value_name = "PER_HOUR")]
    pub(crate) sp_commit: Option<f64>,
    /// Spend-based pools: also size the commitment to cover this share (0..1) of the
    /// eligible spend.
    #[arg(long, value_name = "SHARE")]
    pub(crate) sp_target_coverage: Option<f64>,
    /// Spend-based pools: also size the commitment to keep this share (0..1) of it used.
    #[arg(long, value_name = "SHARE")]
    pub(crate) sp_target_utilisation: Option<f64>,
    /// Spend-based pools: write the savings-versus-commitment curve of every term here (CSV).
    #[arg(long, value_name = "FILE")]
    pub(crate) sp_curve: Option<PathBuf>,
    /// Output: .json (everything) or .csv (the recommendation table).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LadderCadence {
    Monthly,
    Quarterly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LadderSizingArg {
    Equal,
    Sequential,
}

#[derive(Debug, Args)]
pub(crate) struct BacktestPlanArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Rate card (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) rates: PathBuf,
    /// Existing commitments (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,
    /// Evaluation window after each decision (h, d, w, y); the data must cover it.
    #[arg(long, default_value = "1y", value_parser = parse_span)]
    pub(crate) horizon: Span,
    /// Decision date (repeatable). Default: every quarter start with 180 days of history
    /// before it and the horizon of data after it.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) decision: Vec<chrono::NaiveDate>,
    /// Risk setting.
    #[arg(long, value_enum, default_value = "balanced")]
    pub(crate) risk: RiskArg,
    /// Annual cost of capital.
    #[arg(long, default_value = "0")]
    pub(crate) cost_of_capital: rust_decimal::Decimal,
    /// Demand sample paths per series.
    #[arg(long, default_value_t = 200)]
    pub(crate) paths: usize,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Also replay the strategies of this plan file (`[[scenario.strategy]]`) at each decision
    /// date and realise them on what actually happened.
    #[arg(long, value_name = "PLAN.toml")]
    pub(crate) plan: Option<PathBuf>,
    /// Output: .json (`{"totals": …, "decisions": […]}`) or .csv (one row per decision and
    /// pool).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

fn parse_span(s: &str) -> Result<Span, String> {
    Span::parse(s)
}

/// A usage error detected after clap parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// `--input-format`: [`Format`] as clap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// FinOps FOCUS 1.0, 1.1 or 1.2.
    Focus,
    /// AWS Cost and Usage Report, legacy (`lineItem/...`) or CUR 2.0 (`line_item_...`).
    Cur,
    /// Azure EA / MCA cost details (actual or amortised).
    Azure,
    /// Oracle Cloud Infrastructure cost report.
    Oci,
    /// A tidy usage table: a timestamp, dimensions, a quantity, optional unit and cost.
    Tidy,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Focus => Format::Focus,
            FormatArg::Cur => Format::Cur,
            FormatArg::Azure => Format::Azure,
            FormatArg::Oci => Format::Oci,
            FormatArg::Tidy => Format::Tidy,
        }
    }
}

/// `--granularity`: [`Granularity`] as clap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GranularityArg {
    Hour,
    Day,
    Week,
    Month,
}

impl From<GranularityArg> for Granularity {
    fn from(g: GranularityArg) -> Self {
        match g {
            GranularityArg::Hour => Granularity::Hour,
            GranularityArg::Day => Granularity::Day,
            GranularityArg::Week => Granularity::Week,
            GranularityArg::Month => Granularity::Month,
        }
    }
}

/// `--measure`: [`Measure`] as clap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MeasureArg {
    /// Consumed quantity (instance-hours, GB-months, requests, ...).
    Quantity,
    /// Billed cost.
    BilledCost,
    /// Effective (amortised) cost.
    EffectiveCost,
    /// List (on-demand) cost.
    ListCost,
}

impl From<MeasureArg> for Measure {
    fn from(m: MeasureArg) -> Self {
        match m {
            MeasureArg::Quantity => Measure::Quantity,
            MeasureArg::BilledCost => Measure::BilledCost,
            MeasureArg::EffectiveCost => Measure::EffectiveCost,
            MeasureArg::ListCost => Measure::ListCost,
        }
    }
}

impl From<RiskArg> for Risk {
    fn from(r: RiskArg) -> Self {
        match r {
            RiskArg::Conservative => Risk::CONSERVATIVE,
            RiskArg::Balanced => Risk::BALANCED,
            RiskArg::Aggressive => Risk::AGGRESSIVE,
        }
    }
}

impl RiskArg {
    /// The name as typed on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            RiskArg::Conservative => "conservative",
            RiskArg::Balanced => "balanced",
            RiskArg::Aggressive => "aggressive",
        }
    }
}

impl From<LadderCadence> for Cadence {
    fn from(c: LadderCadence) -> Self {
        match c {
            LadderCadence::Monthly => Cadence::Monthly,
            LadderCadence::Quarterly => Cadence::Quarterly,
        }
    }
}

impl From<LadderSizingArg> for TrancheSizing {
    fn from(s: LadderSizingArg) -> Self {
        match s {
            LadderSizingArg::Equal => TrancheSizing::EqualSlices,
            LadderSizingArg::Sequential => TrancheSizing::Sequential,
        }
    }
}
