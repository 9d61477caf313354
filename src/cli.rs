//! Command-line definitions (clap) and the thin runners that call the library and print.
//! Clap types end here: each runner converts its arguments into the library's plain option
//! structs (`to_options`), calls the library, and formats the result.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use capplan::ingest::{
    self, AggregateOptions, Filter, Format, Ingested, InputOptions, Inspection, Measure,
    Reconciliation, TidyColumns,
};
use capplan::money::Currency;
use capplan::series::Granularity;
use capplan::{export, synth};

/// Cloud capacity forecasting and commitment planning from billing exports.
#[derive(Debug, Parser)]
#[command(name = "capplan", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what billing exports contain: format, rows, time span, services, costs, data quality.
    Inspect(InspectArgs),
    /// Aggregate billing exports into regular usage series (with a reconciliation summary).
    Ingest(IngestArgs),
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
pub struct ReportArgs {
    /// The plan file (TOML) describing the run; relative paths in it are relative to its
    /// directory.
    #[arg(long, value_name = "PLAN.toml")]
    pub config: PathBuf,
    /// Plan as of this date (UTC day), overriding the plan file's `as_of`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<chrono::NaiveDate>,
    /// Output directory; `<name>-<FY>-Q<n>.html` and its exports are written there and
    /// `index.html` is updated.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Exit with code 3 when a forecast quarter's median spend exceeds its budget (total or a
    /// group's), after writing the report.
    #[arg(long)]
    pub fail_on_budget: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's plan file.
    #[arg(long, value_name = "PLAN.toml", default_value = "data/demo/plan.toml")]
    pub config: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output Parquet file.
    #[arg(long, default_value = "data/demo/focus.parquet")]
    pub out: PathBuf,
    /// First day of the data (UTC).
    #[arg(long, default_value = "2024-10-01")]
    pub start: chrono::NaiveDate,
    /// Number of months.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Multiplier on the number of business units (1 = the demo; 25 ≈ 5.3 million rows).
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
}

/// Where the input comes from and how strictly it is read.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files (.csv, .csv.gz, .parquet), directories (recursive; hive key=value folders become
    /// dimensions) or quoted globs.
    #[arg(required = true, value_name = "INPUTS")]
    pub inputs: Vec<String>,
    /// Force the input format instead of detecting it from the header.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<Format>,
    /// Keep only rows in this billing currency (others are excluded and counted).
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// Exclude rows with unparseable values (counted) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// Accept rows that are identical in every column (reported instead of an error).
    #[arg(long)]
    pub allow_duplicates: bool,
    /// Tidy format: the timestamp column (default: timestamp, time, date, ...).
    #[arg(long, value_name = "NAME")]
    pub time_col: Option<String>,
    /// Tidy format: the quantity column (default: quantity, value, usage, ...).
    #[arg(long, value_name = "NAME")]
    pub quantity_col: Option<String>,
    /// Tidy format: the unit column (default: unit).
    #[arg(long, value_name = "NAME")]
    pub unit_col: Option<String>,
    /// Tidy format: the cost column (default: cost).
    #[arg(long, value_name = "NAME")]
    pub cost_col: Option<String>,
}

impl InputArgs {
    pub(crate) fn to_options(&self) -> Result<InputOptions, UsageError> {
        let currency = match &self.currency {
            Some(c) => Some(Currency::new(c).map_err(|e| UsageError(format!("--currency: {e}")))?),
            None => None,
        };
        Ok(InputOptions {
            inputs: self.inputs.clone(),
            format: self.input_format,
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
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output as a human table or as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

/// How billing rows become usage series.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    /// Dimensions to group by, comma-separated: service, region, account, sub_account, sku,
    /// family, instance_type, pricing_category, provider, unit, x_* columns, tag:<key>.
    #[arg(long, value_delimiter = ',', default_value = "service")]
    pub by: Vec<String>,
    /// Time bucket of the series (default: the granularity of the data).
    #[arg(long, value_enum)]
    pub granularity: Option<Granularity>,
    /// Keep rows where KEY=VALUE (repeatable; all must match). Others are counted as filtered.
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// What to aggregate.
    #[arg(long, value_enum, default_value = "quantity")]
    pub measure: Measure,
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
            granularity: self.granularity,
            filters,
            measure: self.measure,
        })
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Output file: .parquet or .csv. The reconciliation is written beside it as
    /// <name>.reconciliation.json.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// How far ahead: a number and a unit h, d, w or y (365 days), e.g. 90d, 12w, 3y.
    #[arg(long, default_value = "90d", value_parser = parse_span)]
    pub horizon: Span,
    /// Horizon of the backtest windows that calibrate the intervals (default: the horizon,
    /// at most 30 days hourly, 90 days daily, 13 weeks weekly). Later steps are extrapolated.
    #[arg(long, value_parser = parse_span)]
    pub backtest_horizon: Option<Span>,
    /// Backtest windows (fewer when the history is short).
    #[arg(long, default_value_t = 8)]
    pub windows: usize,
    /// Distance between backtest origins (default: 1 week; 1 step for weekly series).
    #[arg(long, value_parser = parse_span)]
    pub step: Option<Span>,
    /// Known future events (TOML): launches, migrations, decommissions, growth.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Replace flagged historical anomalies by their expected value before fitting.
    #[arg(long)]
    pub clean_anomalies: bool,
    /// Robust z-score above which a remainder value is an anomaly.
    #[arg(long, default_value_t = 6.0)]
    pub anomaly_threshold: f64,
    /// Train on the whole history even after a detected level shift.
    #[arg(long)]
    pub all_history: bool,
    /// Capacity limit, for all series (`500`) or the series matching filters
    /// (`region=eu-west-1:500`); reports when p50 and p90 first exceed it. Repeatable.
    #[arg(long, value_name = "[K=V,...:]LIMIT")]
    pub limit: Vec<String>,
    /// Output: .csv or .parquet (one row per series and step, with p05..p95; the models,
    /// backtests, anomalies and saturation go to <name>.models.json beside it) or .json
    /// (everything).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Forecast horizon of each window (h, d, w, y).
    #[arg(long, default_value = "7d", value_parser = parse_span)]
    pub horizon: Span,
    /// Windows (fewer when the history is short).
    #[arg(long, default_value_t = 40)]
    pub windows: usize,
    /// Distance between window origins (default: 1 day hourly, 1 week daily, 1 step weekly).
    #[arg(long, value_parser = parse_span)]
    pub step: Option<Span>,
    /// Earlier, non-overlapping windows a window needs before it is scored; selection and
    /// calibration only use those.
    #[arg(long, default_value_t = 10)]
    pub min_calibration_windows: usize,
    /// Output: .csv (one row per series and model) or .json.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RiskArg {
    /// Plan against the lower quartile of demand (commit less).
    Conservative,
    /// Minimise expected cost.
    Balanced,
    /// Plan against the upper quartile of demand (commit more).
    Aggressive,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate card (TOML): pools, on-demand rates and commitment offers.
    #[arg(long, value_name = "FILE")]
    pub rates: PathBuf,
    /// Existing commitments (TOML); their expirations are modelled over the horizon.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Planning horizon (h, d, w, y).
    #[arg(long, default_value = "3y", value_parser = parse_span)]
    pub horizon: Span,
    /// Risk setting.
    #[arg(long, value_enum, default_value = "balanced")]
    pub risk: RiskArg,
    /// Explicit risk instead of --risk: plan against the q-quantile of each commitment
    /// slice's utilisation across demand paths (0 < q < 1; 0.25 = conservative).
    #[arg(long, value_name = "Q", conflicts_with = "risk_cvar")]
    pub risk_quantile: Option<f64>,
    /// Explicit risk instead of --risk: plan against the mean of the lowest alpha share of
    /// the slices' utilisation across paths (CVaR; 0 < alpha <= 1, 1 = balanced).
    #[arg(long, value_name = "ALPHA")]
    pub risk_cvar: Option<f64>,
    /// Plan as of this date (UTC midnight): history after it is ignored. Default: the end of
    /// the data.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<chrono::NaiveDate>,
    /// Annual cost of capital for the payment-option choice and NPV, e.g. 0.08.
    #[arg(long, default_value = "0")]
    pub cost_of_capital: rust_decimal::Decimal,
    /// Demand sample paths per series.
    #[arg(long, default_value_t = 200)]
    pub paths: usize,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also lay the long-term purchase out as a ladder of tranches bought every month or
    /// quarter, and compare its cost and risk with the lump purchase.
    #[arg(long, value_enum, value_name = "CADENCE")]
    pub ladder: Option<LadderCadence>,
    /// Months over which the ladder's tranches are bought.
    #[arg(long, default_value_t = 12)]
    pub ladder_months: usize,
    /// Tranche sizes: equal slices of the lump, or each tranche optimal for the demand after
    /// its date given the earlier ones (on one forecast this usually reproduces the lump).
    #[arg(long, value_enum, default_value = "equal")]
    pub ladder_sizing: LadderSizingArg,
    /// Output: .json (everything) or .csv (the recommendation table).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LadderCadence {
    Monthly,
    Quarterly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LadderSizingArg {
    Equal,
    Sequential,
}

#[derive(Debug, Args)]
pub struct BacktestPlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate card (TOML).
    #[arg(long, value_name = "FILE")]
    pub rates: PathBuf,
    /// Existing commitments (TOML).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Evaluation window after each decision (h, d, w, y); the data must cover it.
    #[arg(long, default_value = "1y", value_parser = parse_span)]
    pub horizon: Span,
    /// Decision date (repeatable). Default: every quarter start with 180 days of history
    /// before it and the horizon of data after it.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub decision: Vec<chrono::NaiveDate>,
    /// Risk setting.
    #[arg(long, value_enum, default_value = "balanced")]
    pub risk: RiskArg,
    /// Annual cost of capital.
    #[arg(long, default_value = "0")]
    pub cost_of_capital: rust_decimal::Decimal,
    /// Demand sample paths per series.
    #[arg(long, default_value_t = 200)]
    pub paths: usize,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .json or .csv (one row per decision and pool).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub use capplan::span::Span;

fn parse_span(s: &str) -> Result<Span, String> {
    Span::parse(s)
}

/// A usage error detected after clap parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs a parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect(args) => inspect(args),
        Command::Ingest(args) => ingest_cmd(args),
        Command::Forecast(args) => crate::forecast_cli::forecast_cmd(args),
        Command::Backtest(args) => crate::forecast_cli::backtest_cmd(args),
        Command::Plan(args) => crate::plan_cli::plan_cmd(args),
        Command::BacktestPlan(args) => crate::plan_cli::backtest_plan_cmd(args),
        Command::Report(args) => crate::report_cli::report_cmd(args),
        Command::Demo(args) => crate::report_cli::demo_cmd(args),
        Command::Synth(args) => synth_cmd(args),
    }
}

fn inspect(args: InspectArgs) -> Result<()> {
    let opts = args.input.to_options()?;
    let loaded = ingest::load(&opts)?;
    let inspection = loaded.inspect()?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &inspection)?;
            writeln!(out)?;
        }
        OutputFormat::Table => print_inspection(&mut out, &inspection)?,
    }
    Ok(())
}

fn ingest_cmd(args: IngestArgs) -> Result<()> {
    let opts = args.input.to_options()?;
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("csv" | "parquet")) {
        return Err(UsageError(format!(
            "--out {}: use a .parquet or .csv file name",
            args.out.display()
        ))
        .into());
    }
    let agg = args.series.to_options()?;
    let loaded = ingest::load(&opts)?;
    let ingested = loaded.aggregate(&agg)?;
    export::write_series(&args.out, &ingested.series).with_context(|| "writing the series")?;
    let recon_path = sidecar(&args.out, "reconciliation.json");
    export::write_json(&recon_path, &ReconciliationFile::from(&ingested))
        .with_context(|| "writing the reconciliation")?;
    let mut out = std::io::stdout().lock();
    print_ingested(&mut out, &ingested, &args.out, &recon_path)?;
    Ok(())
}

fn synth_cmd(args: SynthArgs) -> Result<()> {
    let cfg = synth::SynthConfig {
        start: args.start,
        months: args.months,
        seed: args.seed,
        scale: args.scale,
    };
    cfg.validate()
        .map_err(|e| UsageError(format!("capplan synth: {e}")))?;
    let mut rows = 0;
    export::write_atomic(&args.out, |w| {
        rows =
            synth::write_parquet_streaming(&cfg, w).map_err(|e| export::ExportError::Encode {
                path: args.out.clone(),
                message: e.to_string(),
            })?;
        Ok(())
    })
    .with_context(|| "writing the synthetic export")?;
    let truth = synth::truth(&cfg);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Wrote {rows} FOCUS 1.2 rows of {} ({} .. {}) to {}",
        synth::COMPANY_NAME,
        truth.start,
        truth.as_of,
        args.out.display()
    )?;
    Ok(())
}

/// `series.parquet` → `series.<suffix>` in the same directory.
pub(crate) fn sidecar(out: &std::path::Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "series".into());
    out.with_file_name(format!("{stem}.{suffix}"))
}

#[derive(serde::Serialize)]
struct ReconciliationFile<'a> {
    files: &'a [ingest::FileSummary],
    reconciliation: &'a Reconciliation,
    findings: &'a [ingest::Finding],
    series: usize,
}

impl<'a> From<&'a Ingested> for ReconciliationFile<'a> {
    fn from(i: &'a Ingested) -> Self {
        ReconciliationFile {
            files: &i.files,
            reconciliation: &i.reconciliation,
            findings: &i.findings,
            series: i.series.len(),
        }
    }
}

pub(crate) fn print_reconciliation(
    out: &mut impl Write,
    r: &Reconciliation,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Reconciliation (every row used or excluded with a reason):"
    )?;
    writeln!(
        out,
        "  {:<18} {:<8} {:>10} {:>22} {:>22}",
        "reason", "currency", "rows", "billed cost", "effective cost"
    )?;
    for t in &r.by_reason {
        writeln!(
            out,
            "  {:<18} {:<8} {:>10} {:>22} {:>22}",
            t.reason.code(),
            t.currency,
            t.totals.rows,
            t.totals.billed_cost.normalize().to_string(),
            t.totals.effective_cost.normalize().to_string()
        )?;
    }
    for ct in &r.source {
        let (cur, t) = (&ct.currency, &ct.totals);
        writeln!(
            out,
            "  {:<18} {:<8} {:>10} {:>22} {:>22}",
            "= source total",
            cur,
            t.rows,
            t.billed_cost.normalize().to_string(),
            t.effective_cost.normalize().to_string()
        )?;
    }
    writeln!(
        out,
        "  balanced: {}",
        if r.balanced { "yes (exact)" } else { "NO" }
    )?;
    Ok(())
}

pub(crate) fn print_findings(
    out: &mut impl Write,
    findings: &[ingest::Finding],
) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "Data quality: no findings");
    }
    writeln!(out, "Data quality:")?;
    for f in findings {
        let sev = match f.severity {
            ingest::Severity::Info => "info",
            ingest::Severity::Warning => "warn",
        };
        writeln!(out, "  [{sev}] {}", f.message)?;
    }
    Ok(())
}

fn print_inspection(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    for f in &i.files {
        let version = f
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: {}{} ({:?}), {} rows",
            f.path,
            f.format.name(),
            version,
            f.kind,
            f.rows
        )?;
    }
    let span = match (i.start, i.end) {
        (Some(s), Some(e)) => format!(
            "{} .. {}",
            s.format("%Y-%m-%d %H:%M"),
            e.format("%Y-%m-%d %H:%M")
        ),
        _ => "(no timestamps)".into(),
    };
    writeln!(out, "Rows: {}   Time span (UTC): {}", i.rows, span)?;
    writeln!(
        out,
        "Granularity: {}   Gaps: {}",
        i.granularity.map(|g| g.name()).unwrap_or("unknown"),
        i.gaps
    )?;
    for (title, values) in [
        ("Providers", &i.providers),
        ("Currencies", &i.currencies),
        ("Accounts", &i.accounts),
        ("Services", &i.services),
    ] {
        writeln!(out, "{title}:")?;
        for v in values.iter().take(15) {
            writeln!(
                out,
                "  {:<48} {:>10} rows {:>22}",
                truncate(&v.value, 48),
                v.rows,
                v.billed_cost.normalize().to_string()
            )?;
        }
        if values.len() > 15 {
            writeln!(out, "  ... {} more", values.len() - 15)?;
        }
    }
    print_reconciliation(out, &i.reconciliation)?;
    print_findings(out, &i.findings)
}

fn print_ingested(
    out: &mut impl Write,
    i: &Ingested,
    path: &std::path::Path,
    recon: &std::path::Path,
) -> std::io::Result<()> {
    let points: usize = i.series.iter().map(|s| s.values.len()).sum();
    writeln!(
        out,
        "Wrote {} series ({} points) to {}",
        i.series.len(),
        points,
        path.display()
    )?;
    writeln!(out, "Wrote the reconciliation to {}", recon.display())?;
    print_reconciliation(out, &i.reconciliation)?;
    print_findings(out, &i.findings)
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Exit code for an error: 2 when the input or the flags are at fault, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ingest::IngestError>() {
            return if e.is_bad_input() { 2 } else { 1 };
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if cause
            .downcast_ref::<crate::report_cli::OverBudget>()
            .is_some()
        {
            return 3;
        }
    }
    1
}

/// Whether the error is a closed stdout (e.g. `capplan inspect ... | head`), which is success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
