//! Deterministic generator of a synthetic but realistic FOCUS 1.2 billing export.
//!
//! The export belongs to a fictional company, *Northwind Analytics*: one AWS billing
//! (management) account, three member accounts (production, staging, data platform), all
//! charges in USD. It is used to build the committed demo dataset and, with
//! [`SynthConfig::scale`] > 1, multi-million-row inputs for ingestion benchmarks.
//!
//! # What is in the data
//!
//! Hourly usage rows (`ChargePeriodStart` on the hour, end one hour later) for
//! [`SynthConfig::months`] calendar months from [`SynthConfig::start`]:
//!
//! * **Amazon EC2** fleets (rows are aggregated per Auto Scaling group and instance type, so the
//!   quantity is the number of instance-hours in that hour): families `m6i` and `c6i` in
//!   `us-east-1` and `eu-west-1`. Demand has daily (business hours), weekly (weekends lower),
//!   yearly (December peak) and holiday seasonality, ~20-30 %/yr compound growth and AR(1)
//!   noise, a product **launch** in `eu-west-1` (+25 % step about 14 months in) and a
//!   **migration** that moves 60 % of the `m6i` load to `c6i` over 8 weeks from about 18
//!   months in (the groups then run both types, so new rows appear).
//! * **Amazon RDS** instance-hours (steady, slow growth), **AWS Lambda** GB-seconds (strong
//!   daily seasonality), **Amazon S3** storage (GB-hours) and **data transfer** out (GB).
//! * A few short **anomalies** (spikes and a dip), listed in [`SynthTruth::anomalies`].
//! * **Commitments** the FOCUS way: Reserved Instances (`CommitmentDiscountCategory` =
//!   `Usage`) and Compute Savings Plans (`Spend`) with `Used` rows (`PricingCategory` =
//!   `Committed`, `BilledCost` 0, amortised `EffectiveCost`), hourly `Unused` rows (null
//!   `ConsumedQuantity`) and `Purchase` rows (one-time upfront fees and monthly recurring
//!   fees, `EffectiveCost` 0). One commitment expired inside the window and one expires within
//!   the quarter after the data ends.
//! * Monthly `Tax` rows per service, two `Credit` rows and one `Correction` (a refund, in the
//!   next billing period, of one earlier hour of on-demand EC2 usage).
//!
//! # Columns and types
//!
//! The 57 FOCUS 1.2 columns in [`FOCUS_COLUMNS`] order, then [`CUSTOM_COLUMNS`]. Date/time
//! columns are `Datetime(Microseconds, "UTC")`; cost and unit-price columns are
//! `Decimal(38, 10)` (computed with [`rust_decimal`], rounded half-to-even to 10 places);
//! `ConsumedQuantity`, `PricingQuantity` and `CommitmentDiscountQuantity` are `Float64`;
//! everything else is `String`. `Tags` and `SkuPriceDetails` hold JSON objects; for EC2 and
//! RDS rows `SkuPriceDetails` contains `"InstanceType"` and `"InstanceFamily"`.
//!
//! There are no negotiated discounts, so `ContractedCost` equals `ListCost` and
//! `ContractedUnitPrice` equals `ListUnitPrice`; the `PricingCurrency*` columns repeat the
//! billing-currency values (everything is USD).
//!
//! # Determinism
//!
//! The same [`SynthConfig`] gives the same frame and the same Parquet bytes: all randomness
//! comes from seeded generators of [`crate::rng`] (SplitMix64 seeding xoshiro256**) with this
//! module's own mapping to uniform, bounded and Box-Muller normal draws (`Rng`); each
//! resource has its own stream, no clock is read and no hash-map order reaches the
//! output. Quantities are rounded to whole units before any money is computed, and money is
//! exact decimal arithmetic; the only floating-point step is the demand curve (`exp`, `cos`),
//! which is bit-identical for the same binary on the same platform.
//!
//! # Memory
//!
//! [`generate`] holds the whole frame: about 0.6 KB per row (string columns are views into one
//! shared dictionary buffer, constant columns are scalar columns). For very large scales use
//! [`write_parquet_streaming`], which generates and writes one billing month at a time.
//!
//! # Modules
//!
//! This file holds the public API, the pseudo-random numbers and the stable ids derived from
//! names. The rest, in the order the data is made:
//!
//! * `company` — the static company model: regions, services, instance types and prices,
//!   demand profiles, accounts and workloads;
//! * `timeline` — the `Plan`: every date and decision derived from the
//!   config (commitments, anomalies, the launch, the migration, credits, the correction) and
//!   the [`SynthTruth`] it implies;
//! * `templates` — the generator's setup: one priced lane per workload and instance type,
//!   the commitments' runtime state and the row templates of each;
//! * `generator` — the hour-by-hour run: demand, commitment coverage, and the month's
//!   purchase, credit, correction and tax rows;
//! * `sink` — the columnar row sink (interned strings, templates) and the frame it builds.

use std::f64::consts::TAU;
use std::io::Write;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    CsvWriter, DataFrame, ParquetCompression, ParquetWriter, PolarsError, SerWriter,
};
use rust_decimal::Decimal;

use crate::rng::{SplitMix64, Xoshiro256StarStar};
use generator::Generator;
use sink::build_frame;
use timeline::Plan;

mod company;
mod generator;
mod sink;
mod templates;
#[cfg(test)]
mod tests;
mod timeline;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// The 57 FOCUS 1.2 columns, in the order they appear in the generated frame.
pub const FOCUS_COLUMNS: [&str; 57] = crate::ingest::formats::FOCUS_1_2_COLUMNS;

/// Provider-specific columns appended after the FOCUS columns (AWS exports carry the same).
pub const CUSTOM_COLUMNS: [&str; 2] = ["x_Operation", "x_UsageType"];

/// Precision of the decimal money columns.
pub const MONEY_PRECISION: usize = 38;
/// Scale (decimal places) of the decimal money columns.
pub const MONEY_SCALE: u32 = 10;

/// Name of the fictional company (also the billing account name).
pub const COMPANY_NAME: &str = "Northwind Analytics";
/// Billing (management) account id of the fictional company.
pub const BILLING_ACCOUNT_ID: &str = "482910374615";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// First day of the data (UTC midnight). Demo default 2024-10-01.
    pub start: NaiveDate,
    /// Number of calendar months of hourly data. Demo default 24.
    pub months: u32,
    /// Seed of all pseudo-random choices. Demo default 42.
    pub seed: u64,
    /// Multiplier on the number of resources (and sub-accounts) per hour; 1 is the demo size.
    /// Commitment sizes scale with it so coverage stays realistic.
    pub scale: u32,
}

const DEMO_START: NaiveDate = match NaiveDate::from_ymd_opt(2024, 10, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

impl SynthConfig {
    /// Checks the ranges [`generate`] accepts: months 1..=[`MAX_MONTHS`], scale
    /// 1..=[`MAX_SCALE`], a start between the years 1971 and 9000.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.months == 0 || self.months > MAX_MONTHS {
            return Err(SynthError::InvalidConfig(format!(
                "months must be between 1 and {MAX_MONTHS}, got {}",
                self.months
            )));
        }
        if self.scale == 0 || self.scale > MAX_SCALE {
            return Err(SynthError::InvalidConfig(format!(
                "scale must be between 1 and {MAX_SCALE}, got {}",
                self.scale
            )));
        }
        if !(1971..=9000).contains(&self.start.year()) {
            return Err(SynthError::InvalidConfig(format!(
                "start must be a date between the years 1971 and 9000, got {}",
                self.start
            )));
        }
        Ok(())
    }
}

impl Default for SynthConfig {
    /// The demo dataset: 24 months from 2024-10-01, seed 42, scale 1.
    fn default() -> Self {
        SynthConfig {
            start: DEMO_START,
            months: 24,
            seed: 42,
            scale: 1,
        }
    }
}

/// Largest accepted [`SynthConfig::months`].
pub const MAX_MONTHS: u32 = 240;
/// Largest accepted [`SynthConfig::scale`].
pub const MAX_SCALE: u32 = 2000;

/// Why generating or writing the synthetic export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// The configuration is out of range.
    #[error("invalid synthetic data config: {0}")]
    InvalidConfig(String),
    /// The export would have more rows than the dataframe index type can address.
    #[error(
        "the synthetic export would have {rows} rows, more than the supported maximum; lower `scale` or `months`"
    )]
    TooManyRows {
        /// Rows generated before giving up.
        rows: u64,
    },
    /// Building the frame or writing Parquet or CSV failed (including I/O errors of the
    /// writer): polars' message.
    #[error("building or writing the synthetic export failed: {0}")]
    Polars(String),
}

impl From<PolarsError> for SynthError {
    fn from(e: PolarsError) -> Self {
        SynthError::Polars(e.to_string())
    }
}

/// A commitment discount that exists in the generated data.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthCommitment {
    /// `CommitmentDiscountId` (an ARN).
    pub id: String,
    /// `CommitmentDiscountType`: `"Reserved Instance"` or `"Savings Plan"`.
    pub kind: String,
    /// `CommitmentDiscountCategory`: `"Usage"` (RI) or `"Spend"` (Savings Plan).
    pub category: String,
    /// What it covers: `"ec2/<region>/<instance type>"` or `"rds/<region>/<instance type>"`
    /// for RIs (no size flexibility: only that instance type in that region),
    /// `"compute-sp/global"` for the Compute Savings Plans (EC2 in any region, then Lambda).
    pub pool: String,
    /// Instances for an RI; committed USD per hour for a Savings Plan.
    pub quantity: f64,
    /// Amortised cost of the whole commitment per hour (upfront share + recurring fee), in
    /// USD. In every hour of the term the `EffectiveCost` of its Used and Unused rows sums to
    /// exactly this.
    pub hourly_rate: Decimal,
    /// Start of the term (inclusive, UTC).
    pub start: NaiveDateTime,
    /// End of the term (exclusive, UTC).
    pub end: NaiveDateTime,
    /// Payment option: `"All Upfront"`, `"Partial Upfront"` or `"No Upfront"`.
    pub payment: String,
    /// `CommitmentDiscountName`.
    pub name: String,
}

/// A short demand anomaly injected into the data.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthAnomaly {
    /// First affected hour (inclusive, UTC).
    pub start: NaiveDateTime,
    /// End of the anomaly (exclusive, UTC).
    pub end: NaiveDateTime,
    /// `ServiceName` of the affected usage.
    pub service: String,
    /// `RegionId` of the affected usage.
    pub region: String,
    /// Affected instance family, or `None` for every family of the service in the region.
    pub family: Option<String>,
    /// Multiplier applied to demand (> 1 spike, < 1 dip).
    pub factor: f64,
    /// What happened, in words.
    pub description: String,
}

/// The product launch: a step up of compute and Lambda demand in one region.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthLaunch {
    /// First hour with the extra demand (UTC).
    pub at: NaiveDateTime,
    /// `RegionId` of the launch.
    pub region: String,
    /// Relative uplift of demand (0.25 = +25 %).
    pub uplift: f64,
}

/// The instance-family migration.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthMigration {
    /// Start of the linear ramp (UTC).
    pub start: NaiveDateTime,
    /// End of the ramp (UTC); from here on `share` of the load runs on `to_family`.
    pub end: NaiveDateTime,
    /// Family the load leaves.
    pub from_family: String,
    /// Family the load moves to.
    pub to_family: String,
    /// Fraction of the migrating groups' load that moves (the rest stays).
    pub share: f64,
    /// The new family needs this much capacity per unit of old capacity.
    pub efficiency: f64,
}

/// The single `ChargeClass = Correction` row.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthCorrection {
    /// The corrected hour (`ChargePeriodStart` of both the original and the correction row).
    pub charge_period_start: NaiveDateTime,
    /// `BillingPeriodStart` of the correction row (the month after the corrected hour).
    pub billing_period_start: NaiveDateTime,
    /// `ServiceName` of the corrected usage.
    pub service: String,
}

/// The ground truth the export was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthTruth {
    /// First hour of data (UTC midnight of [`SynthConfig::start`]).
    pub start: NaiveDate,
    /// End of the data: the first day after the last month (exclusive bound).
    pub as_of: NaiveDate,
    /// Billing account id (constant in every row).
    pub billing_account_id: String,
    /// Billing currency (constant in every row).
    pub currency: String,
    /// Commitments whose term overlaps the data window, ordered by start.
    pub commitments: Vec<SynthCommitment>,
    /// Injected anomalies, in time order. Empty when the window is shorter than a week.
    pub anomalies: Vec<SynthAnomaly>,
    /// The product launch (may lie after `as_of` for short windows).
    pub launch: SynthLaunch,
    /// The m6i to c6i migration (may lie after `as_of` for short windows).
    pub migration: SynthMigration,
    /// The correction row, if the window has at least two months.
    pub correction: Option<SynthCorrection>,
    /// Number of `Credit` rows in the data.
    pub credit_rows: usize,
    /// Sales-tax rate applied to each service's monthly billed cost.
    pub tax_rate: Decimal,
}

/// A generated export held in memory (see [`generate`]): write it as Parquet or CSV.
pub struct SynthExport {
    df: DataFrame,
}

impl SynthExport {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.df.height()
    }

    /// Writes the export as Parquet (zstd, row groups of [`ROW_GROUP_ROWS`]) to `w`, the bytes
    /// of the crate-internal `write_parquet`. Atomic replacement of the target file is the
    /// caller's job.
    ///
    /// # Errors
    ///
    /// [`SynthError::Polars`] when encoding or writing fails.
    pub fn write_parquet<W: Write>(&mut self, w: W) -> Result<(), SynthError> {
        write_parquet(&mut self.df, w)
    }

    /// Writes the export as CSV with a header row to `w`; date/time columns as
    /// `2024-10-01T00:00:00Z`, decimals at their full scale. Atomic replacement of the target
    /// file is the caller's job.
    ///
    /// # Errors
    ///
    /// [`SynthError::Polars`] when encoding or writing fails.
    pub fn write_csv<W: Write>(&mut self, w: W) -> Result<(), SynthError> {
        CsvWriter::new(w)
            .include_header(true)
            .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
            .finish(&mut self.df)?;
        Ok(())
    }
}

/// Generates the export in memory. The same config gives an identical frame, bit for bit.
///
/// # Errors
///
/// [`SynthError::InvalidConfig`] for a config [`SynthConfig::validate`] rejects,
/// [`SynthError::TooManyRows`] when the frame cannot be indexed, [`SynthError::Polars`] when
/// building it fails.
pub fn generate(cfg: &SynthConfig) -> Result<SynthExport, SynthError> {
    Ok(SynthExport {
        df: generate_frame(cfg)?,
    })
}

/// The frame of [`generate`].
pub(crate) fn generate_frame(cfg: &SynthConfig) -> Result<DataFrame, SynthError> {
    let plan = Plan::new(cfg)?;
    let mut generator = Generator::new(&plan);
    generator.run(|_, _| Ok(()))?;
    let Generator {
        mut sink, interner, ..
    } = generator;
    build_frame(&mut sink, &interner)
}

/// Rows per Parquet row group written by [`SynthExport::write_parquet`].
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Writes a frame as Parquet (zstd, row groups of [`ROW_GROUP_ROWS`]) to `w`.
///
/// The frame is written in slices so scalar (constant) columns are only materialised one row
/// group at a time. Atomic replacement of the target file is the caller's job.
pub(crate) fn write_parquet<W: Write>(df: &mut DataFrame, w: W) -> Result<(), SynthError> {
    let mut writer = parquet_writer(w).batched(df.schema())?;
    write_row_groups(&mut writer, df)?;
    writer.finish()?;
    Ok(())
}

/// Generates the export one billing month at a time and writes it to `w` as Parquet, never
/// holding more than one month of rows. Returns the number of rows written.
///
/// The rows are the same, in the same order, as [`generate`] followed by
/// [`SynthExport::write_parquet`]; only the row-group boundaries differ (one or more row
/// groups per month), so the bytes differ from that path but are themselves deterministic.
pub fn write_parquet_streaming<W: Write>(cfg: &SynthConfig, w: W) -> Result<u64, SynthError> {
    let plan = Plan::new(cfg)?;
    let mut generator = Generator::new(&plan);
    let mut writer: Option<BatchedWriter<W>> = None;
    let mut out = Some(w);
    let mut rows = 0u64;
    generator.run(|sink, interner| {
        let df = build_frame(sink, interner)?;
        sink.clear();
        rows += df.height() as u64;
        if writer.is_none()
            && let Some(w) = out.take()
        {
            writer = Some(parquet_writer(w).batched(df.schema())?);
        }
        if let Some(writer) = writer.as_mut() {
            write_row_groups(writer, &df)?;
        }
        Ok(())
    })?;
    if let Some(writer) = writer {
        writer.finish()?;
    }
    Ok(rows)
}

/// The ground truth of the export `cfg` generates (computed without generating it).
///
/// Out-of-range configs (which [`generate`] rejects) are clamped instead: `months` to
/// `1..=MAX_MONTHS`, `scale` to `1..=MAX_SCALE`, `start` to the years 1971..=9000.
pub fn truth(cfg: &SynthConfig) -> SynthTruth {
    let lo = NaiveDate::from_ymd_opt(1971, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(9000, 12, 31).unwrap_or(NaiveDate::MAX);
    let clamped = SynthConfig {
        start: cfg.start.clamp(lo, hi),
        months: cfg.months.clamp(1, MAX_MONTHS),
        seed: cfg.seed,
        scale: cfg.scale.clamp(1, MAX_SCALE),
    };
    Plan::build(&clamped).truth()
}

/// Writes `df` in slices of at most [`ROW_GROUP_ROWS`] rows, one row group each.
fn write_row_groups<W: Write>(
    writer: &mut BatchedWriter<W>,
    df: &DataFrame,
) -> Result<(), SynthError> {
    let height = df.height();
    let mut offset = 0usize;
    while offset < height {
        let len = ROW_GROUP_ROWS.min(height - offset);
        let mut part = df.slice(offset as i64, len);
        part.align_chunks_par();
        writer.write_batch(&part)?;
        offset += len;
    }
    Ok(())
}

fn parquet_writer<W: Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(true)
}

// ---------------------------------------------------------------------------------------------
// Pseudo-random numbers and stable ids
// ---------------------------------------------------------------------------------------------

/// Mixes a seed and a stream tag into an independent stream seed.
fn mix(seed: u64, tag: u64) -> u64 {
    SplitMix64::new(seed ^ tag.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// xoshiro256** seeded through SplitMix64 (the ground floor's [`Xoshiro256StarStar`]), with
/// the draws the generator needs. Their mapping from bits to numbers is this module's own
/// (`crate::rng`'s `next_open01` and `next_below` map differently) and must not change: the
/// committed demo file depends on every draw.
///
/// The former in-module copy also replaced an all-zero seeded state by `[1, 0, 0, 0]`; that
/// state cannot occur (SplitMix64's output is a bijection of its state and the four states
/// differ, so at most one of the four words is zero), so the streams are the same for every
/// seed (`tests::rng_matches_the_former_in_module_generator`).
#[derive(Debug, Clone)]
struct Rng(Xoshiro256StarStar);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(Xoshiro256StarStar::seed_from_u64(seed))
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Standard normal (Box-Muller, one value per call).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
}

/// FNV-1a, for stable ids derived from names (never used for iteration order).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// A 16-character upper-case SKU code derived from `text`.
fn sku_code(text: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut state = SplitMix64::new(fnv1a(text));
    let mut out = String::with_capacity(16);
    let mut bits = state.next_u64();
    for i in 0..16 {
        if i == 12 {
            bits = state.next_u64();
        }
        out.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    out
}

/// A UUID-shaped id derived from `text`.
fn uuid_like(text: &str) -> String {
    let mut state = SplitMix64::new(fnv1a(text));
    let a = state.next_u64();
    let b = state.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        (b >> 48) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}
