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
//! comes from seeded in-module PRNGs (SplitMix64 seeding xoshiro256**, Box-Muller normals),
//! each resource has its own stream, no clock is read and no hash-map order reaches the
//! output. Quantities are rounded to whole units before any money is computed, and money is
//! exact decimal arithmetic; the only floating-point step is the demand curve (`exp`, `cos`),
//! which is bit-identical for the same binary on the same platform.
//!
//! # Memory
//!
//! [`generate`] holds the whole frame: about 0.6 KB per row (string columns are views into one
//! shared dictionary buffer, constant columns are scalar columns). For very large scales use
//! [`write_parquet_streaming`], which generates and writes one billing month at a time.

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::io::Write;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Weekday};
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    AnyValue, ChunkTake, Column, DataFrame, DataType, Float64Chunked, IdxCa, IdxSize, Int64Chunked,
    Int128Chunked, IntoColumn, IntoSeries, NewChunkedArray, ParquetCompression, ParquetWriter,
    PlSmallStr, PolarsError, Scalar, Series, StringChunked, TimeUnit, TimeZone,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

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
    /// Building the frame or writing Parquet failed (including I/O errors of the writer).
    #[error("building or writing the synthetic export failed: {0}")]
    Polars(#[from] PolarsError),
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

/// Generates the export. The same config gives an identical frame, bit for bit.
pub fn generate(cfg: &SynthConfig) -> Result<DataFrame, SynthError> {
    let plan = Plan::new(cfg)?;
    let mut generator = Generator::new(&plan);
    generator.run(|_, _| Ok(()))?;
    let Generator {
        mut sink, interner, ..
    } = generator;
    build_frame(&mut sink, &interner)
}

/// Rows per Parquet row group written by [`write_parquet`].
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Writes a frame as Parquet (zstd, row groups of [`ROW_GROUP_ROWS`]) to `w`.
///
/// The frame is written in slices so scalar (constant) columns are only materialised one row
/// group at a time. Atomic replacement of the target file is the caller's job.
pub fn write_parquet<W: Write>(df: &mut DataFrame, w: W) -> Result<(), SynthError> {
    let mut writer = parquet_writer(w).batched(df.schema())?;
    write_row_groups(&mut writer, df)?;
    writer.finish()?;
    Ok(())
}

/// Generates the export one billing month at a time and writes it to `w` as Parquet, never
/// holding more than one month of rows. Returns the number of rows written.
///
/// The rows are the same, in the same order, as [`generate`] followed by [`write_parquet`];
/// only the row-group boundaries differ (one or more row groups per month), so the bytes
/// differ from that path but are themselves deterministic.
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
// Pseudo-random numbers
// ---------------------------------------------------------------------------------------------

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes a seed and a stream tag into an independent stream seed.
fn mix(seed: u64, tag: u64) -> u64 {
    let mut s = seed ^ tag.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut s)
}

/// xoshiro256** seeded through SplitMix64.
#[derive(Debug, Clone)]
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
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
    let mut state = fnv1a(text);
    let mut out = String::with_capacity(16);
    let mut bits = splitmix64(&mut state);
    for i in 0..16 {
        if i == 12 {
            bits = splitmix64(&mut state);
        }
        out.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    out
}

/// A UUID-shaped id derived from `text`.
fn uuid_like(text: &str) -> String {
    let mut state = fnv1a(text);
    let a = splitmix64(&mut state);
    let b = splitmix64(&mut state);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        (b >> 48) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}

// ---------------------------------------------------------------------------------------------
// Static company model
// ---------------------------------------------------------------------------------------------

const PROVIDER: &str = "AWS";
const PUBLISHER: &str = "Amazon Web Services, Inc.";
const CURRENCY: &str = "USD";
const BILLING_ACCOUNT_TYPE: &str = "Management Account";
const SUB_ACCOUNT_TYPE: &str = "Member Account";

struct RegionDef {
    id: &'static str,
    name: &'static str,
    /// Prefix of AWS usage types (`USE1-BoxUsage:...`).
    usage_prefix: &'static str,
    /// Offset of local business time from UTC, hours (DST ignored).
    utc_offset: i64,
    /// Availability zone used for single-AZ databases.
    db_zone: &'static str,
}

const USE1: usize = 0;
const EUW1: usize = 1;

const REGIONS: [RegionDef; 2] = [
    RegionDef {
        id: "us-east-1",
        name: "US East (N. Virginia)",
        usage_prefix: "USE1",
        utc_offset: -5,
        db_zone: "us-east-1a",
    },
    RegionDef {
        id: "eu-west-1",
        name: "Europe (Ireland)",
        usage_prefix: "EU",
        utc_offset: 0,
        db_zone: "eu-west-1b",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Svc {
    Ec2,
    Rds,
    Lambda,
    S3,
    DataTransfer,
    SavingsPlans,
}

impl Svc {
    const ALL: [Svc; 6] = [
        Svc::Ec2,
        Svc::Rds,
        Svc::Lambda,
        Svc::S3,
        Svc::DataTransfer,
        Svc::SavingsPlans,
    ];

    fn index(self) -> usize {
        match self {
            Svc::Ec2 => 0,
            Svc::Rds => 1,
            Svc::Lambda => 2,
            Svc::S3 => 3,
            Svc::DataTransfer => 4,
            Svc::SavingsPlans => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Svc::Ec2 => "Amazon Elastic Compute Cloud",
            Svc::Rds => "Amazon Relational Database Service",
            Svc::Lambda => "AWS Lambda",
            Svc::S3 => "Amazon Simple Storage Service",
            Svc::DataTransfer => "AWS Data Transfer",
            Svc::SavingsPlans => "Savings Plans for AWS Compute usage",
        }
    }

    fn category(self) -> &'static str {
        match self {
            Svc::Ec2 | Svc::Lambda | Svc::SavingsPlans => "Compute",
            Svc::Rds => "Databases",
            Svc::S3 => "Storage",
            Svc::DataTransfer => "Networking",
        }
    }

    fn subcategory(self) -> &'static str {
        match self {
            Svc::Ec2 => "Virtual Machines",
            Svc::Rds => "Relational Databases",
            Svc::Lambda => "Serverless Compute",
            Svc::S3 => "Object Storage",
            Svc::DataTransfer => "Other (Networking)",
            Svc::SavingsPlans => "Other (Compute)",
        }
    }
}

/// A decimal literal as (mantissa, scale).
#[derive(Clone, Copy)]
struct Lit(i64, u32);

impl Lit {
    fn dec(self) -> Decimal {
        Decimal::new(self.0, self.1)
    }
}

struct InstanceDef {
    name: &'static str,
    family: &'static str,
    svc: Svc,
    /// Capacity in xlarge-equivalents (what demand is measured in).
    size: f64,
    vcpu: u32,
    memory_gib: u32,
    /// On-demand USD per hour in us-east-1 and eu-west-1.
    on_demand: [Lit; 2],
}

const M6I_LARGE: usize = 0;
const M6I_XLARGE: usize = 1;
const M6I_2XLARGE: usize = 2;
const C6I_XLARGE: usize = 3;
const C6I_2XLARGE: usize = 4;
const C6I_4XLARGE: usize = 5;
const DB_R6G_XLARGE: usize = 6;
const DB_R6G_2XLARGE: usize = 7;

const INSTANCES: [InstanceDef; 8] = [
    InstanceDef {
        name: "m6i.large",
        family: "m6i",
        svc: Svc::Ec2,
        size: 0.5,
        vcpu: 2,
        memory_gib: 8,
        on_demand: [Lit(96, 3), Lit(107, 3)],
    },
    InstanceDef {
        name: "m6i.xlarge",
        family: "m6i",
        svc: Svc::Ec2,
        size: 1.0,
        vcpu: 4,
        memory_gib: 16,
        on_demand: [Lit(192, 3), Lit(214, 3)],
    },
    InstanceDef {
        name: "m6i.2xlarge",
        family: "m6i",
        svc: Svc::Ec2,
        size: 2.0,
        vcpu: 8,
        memory_gib: 32,
        on_demand: [Lit(384, 3), Lit(428, 3)],
    },
    InstanceDef {
        name: "c6i.xlarge",
        family: "c6i",
        svc: Svc::Ec2,
        size: 1.0,
        vcpu: 4,
        memory_gib: 8,
        on_demand: [Lit(170, 3), Lit(192, 3)],
    },
    InstanceDef {
        name: "c6i.2xlarge",
        family: "c6i",
        svc: Svc::Ec2,
        size: 2.0,
        vcpu: 8,
        memory_gib: 16,
        on_demand: [Lit(340, 3), Lit(384, 3)],
    },
    InstanceDef {
        name: "c6i.4xlarge",
        family: "c6i",
        svc: Svc::Ec2,
        size: 4.0,
        vcpu: 16,
        memory_gib: 32,
        on_demand: [Lit(680, 3), Lit(768, 3)],
    },
    InstanceDef {
        name: "db.r6g.xlarge",
        family: "db.r6g",
        svc: Svc::Rds,
        size: 1.0,
        vcpu: 4,
        memory_gib: 32,
        on_demand: [Lit(450, 3), Lit(496, 3)],
    },
    InstanceDef {
        name: "db.r6g.2xlarge",
        family: "db.r6g",
        svc: Svc::Rds,
        size: 2.0,
        vcpu: 8,
        memory_gib: 64,
        on_demand: [Lit(899, 3), Lit(991, 3)],
    },
];

/// Lambda duration price per GB-second (x86, first tier), both regions.
const LAMBDA_GB_SECOND: Lit = Lit(166_667, 10);
/// S3 Standard storage, 0.023 USD per GB-month expressed per GB-hour (0.023 / 730).
const S3_GB_HOUR: Lit = Lit(315_068, 10);
/// Data transfer out to the internet per GB.
const DT_OUT_GB: Lit = Lit(9, 2);
/// Sales tax on each service's monthly billed cost.
const TAX_RATE: Lit = Lit(625, 4);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Business-hours peak, lower on weekends.
    Web,
    /// Nightly batch peak, flat week.
    Batch,
    /// Databases: flat, noise changes once a day.
    Steady,
    /// Strong daily cycle, low weekends.
    Serverless,
    /// Storage: smooth growth, noise once a day.
    Storage,
}

impl Profile {
    const ALL: [Profile; 5] = [
        Profile::Web,
        Profile::Batch,
        Profile::Steady,
        Profile::Serverless,
        Profile::Storage,
    ];

    fn index(self) -> usize {
        match self {
            Profile::Web => 0,
            Profile::Batch => 1,
            Profile::Steady => 2,
            Profile::Serverless => 3,
            Profile::Storage => 4,
        }
    }

    fn daily_noise_only(self) -> bool {
        matches!(self, Profile::Steady | Profile::Storage)
    }

    /// Seasonal multiplier at local time `t` (hour of day, weekday, day of year, holidays).
    fn season(self, t: NaiveDateTime) -> f64 {
        let hour = f64::from(t.hour());
        let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
        let doy = f64::from(t.ordinal());
        let holiday = matches!((t.month(), t.day()), (12, 24..=26) | (12, 31) | (1, 1));
        let daily = |amp: f64, peak: f64| 1.0 + amp * (TAU * (hour - peak) / 24.0).cos();
        let yearly = |amp: f64| 1.0 + amp * (TAU * (doy - 345.0) / 365.25).cos();
        match self {
            Profile::Web => {
                daily(0.28, 15.0)
                    * if weekend { 0.78 } else { 1.0 }
                    * yearly(0.08)
                    * if holiday { 0.85 } else { 1.0 }
            }
            Profile::Batch => daily(0.35, 2.0) * if weekend { 1.05 } else { 1.0 } * yearly(0.04),
            Profile::Steady | Profile::Storage => 1.0,
            Profile::Serverless => {
                daily(0.6, 13.0)
                    * if weekend { 0.65 } else { 1.0 }
                    * yearly(0.12)
                    * if holiday { 0.8 } else { 1.0 }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acct {
    Prod,
    Staging,
    Data,
}

impl Acct {
    fn index(self) -> usize {
        match self {
            Acct::Prod => 0,
            Acct::Staging => 1,
            Acct::Data => 2,
        }
    }

    fn env(self) -> &'static str {
        match self {
            Acct::Prod => "prod",
            Acct::Staging => "staging",
            Acct::Data => "data",
        }
    }
}

/// What a workload consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    /// Instance-hours of an instance type (index into [`INSTANCES`]).
    Instance(usize),
    LambdaGbSeconds,
    S3Storage,
    DataTransferOut,
}

struct WorkloadDef {
    app: &'static str,
    team: &'static str,
    region: usize,
    acct: Acct,
    profile: Profile,
    product: Product,
    /// For instance workloads that take part in the migration: the new instance type.
    migrate_to: Option<usize>,
    /// Demand at the start in xlarge-equivalents (instances), GB-seconds/h, GB or GB/h.
    base: f64,
    /// Compound annual growth rate.
    growth: f64,
    /// Stationary standard deviation of the log-scale AR(1) noise.
    noise: f64,
    /// Minimum quantity of the primary lane (running instances never drop to zero).
    min: f64,
    /// Whether the extra business units of `scale` > 1 get their own copy (shared data
    /// platform resources exist once).
    replicate: bool,
}

const WORKLOADS: [WorkloadDef; 14] = [
    WorkloadDef {
        app: "checkout-api",
        team: "checkout",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(M6I_XLARGE),
        migrate_to: Some(C6I_XLARGE),
        base: 30.0,
        growth: 0.25,
        noise: 0.05,
        min: 4.0,
        replicate: true,
    },
    WorkloadDef {
        app: "search-api",
        team: "search",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(M6I_2XLARGE),
        migrate_to: Some(C6I_2XLARGE),
        base: 24.0,
        growth: 0.22,
        noise: 0.05,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "web-staging",
        team: "platform",
        region: USE1,
        acct: Acct::Staging,
        profile: Profile::Web,
        product: Product::Instance(M6I_LARGE),
        migrate_to: None,
        base: 4.0,
        growth: 0.15,
        noise: 0.08,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "api-gateway",
        team: "platform",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(C6I_XLARGE),
        migrate_to: None,
        base: 16.0,
        growth: 0.28,
        noise: 0.05,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "etl-batch",
        team: "data",
        region: USE1,
        acct: Acct::Data,
        profile: Profile::Batch,
        product: Product::Instance(C6I_4XLARGE),
        migrate_to: None,
        base: 24.0,
        growth: 0.30,
        noise: 0.06,
        min: 1.0,
        replicate: true,
    },
    WorkloadDef {
        app: "checkout-api-eu",
        team: "checkout",
        region: EUW1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(M6I_XLARGE),
        migrate_to: Some(C6I_XLARGE),
        base: 14.0,
        growth: 0.25,
        noise: 0.05,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "search-api-eu",
        team: "search",
        region: EUW1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(M6I_2XLARGE),
        migrate_to: Some(C6I_2XLARGE),
        base: 8.0,
        growth: 0.22,
        noise: 0.05,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "api-gateway-eu",
        team: "platform",
        region: EUW1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::Instance(C6I_XLARGE),
        migrate_to: None,
        base: 8.0,
        growth: 0.28,
        noise: 0.05,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "orders-db",
        team: "checkout",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Steady,
        product: Product::Instance(DB_R6G_XLARGE),
        migrate_to: None,
        base: 4.4,
        growth: 0.08,
        noise: 0.01,
        min: 2.0,
        replicate: true,
    },
    WorkloadDef {
        app: "analytics-db",
        team: "data",
        region: USE1,
        acct: Acct::Data,
        profile: Profile::Steady,
        product: Product::Instance(DB_R6G_2XLARGE),
        migrate_to: None,
        base: 4.2,
        growth: 0.10,
        noise: 0.01,
        min: 1.0,
        replicate: false,
    },
    WorkloadDef {
        app: "events-ingest",
        team: "platform",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Serverless,
        product: Product::LambdaGbSeconds,
        migrate_to: None,
        base: 360_000.0,
        growth: 0.35,
        noise: 0.08,
        min: 0.0,
        replicate: true,
    },
    WorkloadDef {
        app: "events-ingest-eu",
        team: "platform",
        region: EUW1,
        acct: Acct::Prod,
        profile: Profile::Serverless,
        product: Product::LambdaGbSeconds,
        migrate_to: None,
        base: 120_000.0,
        growth: 0.35,
        noise: 0.08,
        min: 0.0,
        replicate: true,
    },
    WorkloadDef {
        app: "datalake",
        team: "data",
        region: USE1,
        acct: Acct::Data,
        profile: Profile::Storage,
        product: Product::S3Storage,
        migrate_to: None,
        base: 150_000.0,
        growth: 0.345,
        noise: 0.003,
        min: 0.0,
        replicate: false,
    },
    WorkloadDef {
        app: "public-alb",
        team: "platform",
        region: USE1,
        acct: Acct::Prod,
        profile: Profile::Web,
        product: Product::DataTransferOut,
        migrate_to: None,
        base: 30.0,
        growth: 0.20,
        noise: 0.07,
        min: 0.01,
        replicate: false,
    },
];

/// Hourly AR(1) coefficient of the demand noise (daily for steady profiles).
const AR_PHI: f64 = 0.9;

// ---------------------------------------------------------------------------------------------
// Plan: every date and decision derived from the config
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upfront {
    All,
    Partial,
    No,
}

impl Upfront {
    fn label(self) -> &'static str {
        match self {
            Upfront::All => "All Upfront",
            Upfront::Partial => "Partial Upfront",
            Upfront::No => "No Upfront",
        }
    }

    /// Fraction of the amortised rate paid upfront.
    fn upfront_fraction(self) -> Decimal {
        match self {
            Upfront::All => Decimal::ONE,
            Upfront::Partial => Decimal::new(5, 1),
            Upfront::No => Decimal::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitKind {
    /// Covers exactly one instance type in one region (no size flexibility).
    Ri { instance: usize, region: usize },
    /// Compute Savings Plan: discount on EC2 (any region) and on Lambda.
    Sp {
        ec2_discount: Lit,
        lambda_discount: Lit,
    },
}

impl std::fmt::Debug for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.dec())
    }
}

impl PartialEq for Lit {
    fn eq(&self, other: &Self) -> bool {
        self.dec() == other.dec()
    }
}

impl Eq for Lit {}

#[derive(Debug, Clone)]
struct CommitDef {
    id: String,
    name: String,
    kind: CommitKind,
    payment: Upfront,
    term_years: u32,
    start: NaiveDateTime,
    end: NaiveDateTime,
    /// Instances (RI) or USD per hour (SP).
    qty: Decimal,
    /// Amortised USD per unit of `qty` per hour (RI: per instance-hour; SP: 1).
    eff_rate: Decimal,
    /// AWS offering code used in `SkuPriceId`.
    offer_code: &'static str,
}

impl CommitDef {
    fn svc(&self) -> Svc {
        match self.kind {
            CommitKind::Ri { instance, .. } => INSTANCES[instance].svc,
            CommitKind::Sp { .. } => Svc::SavingsPlans,
        }
    }

    fn term_hours(&self) -> i64 {
        (self.end - self.start).num_hours()
    }

    fn hourly_rate(&self) -> Decimal {
        self.qty * self.eff_rate
    }

    fn is_ri(&self) -> bool {
        matches!(self.kind, CommitKind::Ri { .. })
    }

    fn unit(&self) -> &'static str {
        if self.is_ri() { "Hours" } else { "USD" }
    }

    fn pool(&self) -> String {
        match self.kind {
            CommitKind::Ri { instance, region } => {
                let prefix = if INSTANCES[instance].svc == Svc::Rds {
                    "rds"
                } else {
                    "ec2"
                };
                format!(
                    "{prefix}/{}/{}",
                    REGIONS[region].id, INSTANCES[instance].name
                )
            }
            CommitKind::Sp { .. } => "compute-sp/global".to_string(),
        }
    }

    fn active(&self, t: NaiveDateTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// An anomaly before placement: where in the window (fraction) and for how long.
struct AnomalySpec {
    at: f64,
    hours: i64,
    svc: Svc,
    region: usize,
    family: Option<&'static str>,
    factor: f64,
    description: &'static str,
}

const ANOMALIES: [AnomalySpec; 4] = [
    AnomalySpec {
        at: 0.21,
        hours: 8,
        svc: Svc::Ec2,
        region: USE1,
        family: Some("c6i"),
        factor: 2.2,
        description: "runaway batch job doubles c6i capacity in us-east-1",
    },
    AnomalySpec {
        at: 0.44,
        hours: 12,
        svc: Svc::Ec2,
        region: EUW1,
        family: None,
        factor: 0.4,
        description: "regional incident: eu-west-1 traffic failed over, fleets scaled in",
    },
    AnomalySpec {
        at: 0.63,
        hours: 20,
        svc: Svc::Lambda,
        region: USE1,
        family: None,
        factor: 3.5,
        description: "Lambda retry storm after a bad deploy in us-east-1",
    },
    AnomalySpec {
        at: 0.86,
        hours: 24,
        svc: Svc::Ec2,
        region: USE1,
        family: Some("m6i"),
        factor: 1.7,
        description: "load test on the m6i fleets in us-east-1",
    },
];

/// A placed anomaly (hour indices into the window).
#[derive(Debug, Clone)]
struct AnomalyDef {
    start: i64,
    end: i64,
    svc: Svc,
    region: usize,
    family: Option<&'static str>,
    factor: f64,
    description: &'static str,
}

#[derive(Debug, Clone)]
struct CreditDef {
    /// Index of the calendar month (0 = month of the start) the credit is billed in.
    month: u32,
    svc: Svc,
    amount: Decimal,
    description: &'static str,
}

#[derive(Debug, Clone)]
struct Plan {
    start: NaiveDateTime,
    end: NaiveDateTime,
    hours: i64,
    scale: u32,
    seed: u64,
    /// In allocation order: RIs by start, then Savings Plans by start.
    commits: Vec<CommitDef>,
    anomalies: Vec<AnomalyDef>,
    launch_hour: i64,
    launch_region: usize,
    launch_uplift: f64,
    migration_start: i64,
    migration_end: i64,
    migration_share: f64,
    migration_efficiency: f64,
    credits: Vec<CreditDef>,
    /// Hour index of the corrected usage.
    correction_hour: Option<i64>,
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d)
}

fn add_months(d: NaiveDate, months: i64) -> NaiveDate {
    let m = Months::new(months.unsigned_abs().min(u64::from(u32::MAX)) as u32);
    let r = if months >= 0 {
        d.checked_add_months(m)
    } else {
        d.checked_sub_months(m)
    };
    // Validated configs keep every date far from chrono's limits; saturate otherwise.
    r.unwrap_or(if months >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

const HOUR_MICROS: i64 = 3_600_000_000;

impl Plan {
    fn new(cfg: &SynthConfig) -> Result<Plan, SynthError> {
        cfg.validate()?;
        Ok(Plan::build(cfg))
    }

    /// Builds the plan of an already range-checked (or clamped) config.
    fn build(cfg: &SynthConfig) -> Plan {
        let start_date = cfg.start;
        let end_date = add_months(start_date, i64::from(cfg.months));
        let start = midnight(start_date);
        let end = midnight(end_date);
        let hours = (end - start).num_hours();
        let base = first_of_month(start_date);
        let at = |months: i64| midnight(add_months(base, months));
        let scale = Decimal::from(cfg.scale);
        let prod = account_id(0, Acct::Prod);

        // One reserved instance: (name, instance, region, payment, term years, start, end,
        // quantity per business unit, amortised hourly rate per instance, offer code).
        type RiSpec = (
            &'static str,
            usize,
            usize,
            Upfront,
            u32,
            NaiveDateTime,
            NaiveDateTime,
            i64,
            Decimal,
            &'static str,
        );
        let ri = |(
            name,
            instance,
            region,
            payment,
            years,
            start,
            end,
            qty,
            eff_rate,
            offer_code,
        ): RiSpec| {
            let id = if INSTANCES[instance].svc == Svc::Rds {
                format!(
                    "arn:aws:rds:{}:{prod}:ri:{}",
                    REGIONS[region].id,
                    name.to_ascii_lowercase()
                )
            } else {
                format!(
                    "arn:aws:ec2:{}:{prod}:reserved-instances/{}",
                    REGIONS[region].id,
                    uuid_like(name)
                )
            };
            CommitDef {
                id,
                name: name.to_string(),
                kind: CommitKind::Ri { instance, region },
                payment,
                term_years: years,
                start,
                end,
                qty: Decimal::from(qty) * scale,
                eff_rate,
                offer_code,
            }
        };

        // RI on m6i.xlarge us-east-1, 3y partial upfront, expiring two months after the
        // data ends (within the first quarter after it).
        let ri_b_end = midnight(add_months(first_of_month(end_date), 2));
        let ri_b_start = midnight(add_months(ri_b_end.date(), -36));

        let ri_specs: [RiSpec; 3] = [
            (
                "ri-m6i-xlarge-use1-3y-partial",
                M6I_XLARGE,
                USE1,
                Upfront::Partial,
                3,
                ri_b_start,
                ri_b_end,
                16,
                Decimal::new(826, 4),
                "38NPMPTW36",
            ),
            (
                "ri-m6i-xlarge-use1-1y-allupfront",
                M6I_XLARGE,
                USE1,
                Upfront::All,
                1,
                at(-8),
                at(4),
                8,
                Decimal::new(1210, 4),
                "6QCMYABX3D",
            ),
            (
                "ri-db-r6g-xlarge-use1-1y-allupfront",
                DB_R6G_XLARGE,
                USE1,
                Upfront::All,
                1,
                at(5),
                at(17),
                4,
                Decimal::new(2840, 4),
                "HU7G6KETJZ",
            ),
        ];
        let mut commits: Vec<CommitDef> = ri_specs.into_iter().map(ri).collect();
        let sp = |name: &str| {
            format!(
                "arn:aws:savingsplans::{prod}:savingsplan/{}",
                uuid_like(name)
            )
        };
        commits.push(CommitDef {
            id: sp("sp-compute-1y-noupfront-2025"),
            name: "sp-compute-1y-noupfront-2025".to_string(),
            kind: CommitKind::Sp {
                ec2_discount: Lit(26, 2),
                lambda_discount: Lit(15, 2),
            },
            payment: Upfront::No,
            term_years: 1,
            start: at(3),
            end: at(15),
            qty: Decimal::from(6) * scale,
            eff_rate: Decimal::ONE,
            offer_code: "CSP1YNU",
        });
        commits.push(CommitDef {
            id: sp("sp-compute-1y-partialupfront-2026"),
            name: "sp-compute-1y-partialupfront-2026".to_string(),
            kind: CommitKind::Sp {
                ec2_discount: Lit(28, 2),
                lambda_discount: Lit(17, 2),
            },
            payment: Upfront::Partial,
            term_years: 1,
            start: at(15),
            end: at(27),
            qty: Decimal::from(9) * scale,
            eff_rate: Decimal::ONE,
            offer_code: "CSP1YPU",
        });
        // Keep only commitments overlapping the window; order RIs then SPs, each by start.
        commits.retain(|c| c.start < end && c.end > start);
        commits.sort_by(|a, b| (!a.is_ri(), a.start, &a.id).cmp(&(!b.is_ri(), b.start, &b.id)));

        let hour_of = |t: NaiveDateTime| (t - start).num_hours();

        // Anomalies at fixed fractions of the window with seeded jitter of +-3 days.
        let mut rng = Rng::new(mix(cfg.seed, 0xA11_0A11));
        let mut anomalies = Vec::new();
        for a in &ANOMALIES {
            let jitter = rng.below(145) as i64 - 72;
            let hour_of_day = rng.below(24) as i64;
            if hours < 24 * 7 {
                continue;
            }
            let day = ((a.at * hours as f64) as i64 + jitter) / 24;
            let first = (day * 24 + hour_of_day).clamp(0, (hours - a.hours).max(0));
            anomalies.push(AnomalyDef {
                start: first,
                end: (first + a.hours).min(hours),
                svc: a.svc,
                region: a.region,
                family: a.family,
                factor: a.factor,
                description: a.description,
            });
        }
        anomalies.sort_by_key(|a| a.start);

        let launch = at(14) + TimeDelta::days(8);
        let migration_start = at(18);
        let migration_end = migration_start + TimeDelta::weeks(8);

        let last_month = cfg.months.saturating_sub(1);
        let credits = vec![
            CreditDef {
                month: 2.min(last_month),
                svc: Svc::Ec2,
                amount: Decimal::new(-250, 0) * scale,
                description: "AWS Promotional Credit",
            },
            CreditDef {
                month: 11.min(last_month),
                svc: Svc::Rds,
                amount: Decimal::new(-8437, 2) * scale,
                description: "Service Level Agreement credit for Amazon RDS",
            },
        ];

        // The corrected hour: day 10, 13:00 UTC of month min(6, months - 2); its correction is
        // billed in the following calendar month, which must still be inside the window.
        let correction_hour = if cfg.months >= 2 {
            let m = i64::from(6.min(cfg.months - 2));
            let month_start = at(m).max(start);
            let t = month_start + TimeDelta::days(9) + TimeDelta::hours(13);
            let next_month = midnight(add_months(first_of_month(t.date()), 1));
            (t >= start && next_month < end).then(|| hour_of(t))
        } else {
            None
        };

        Plan {
            start,
            end,
            hours,
            scale: cfg.scale,
            seed: cfg.seed,
            commits,
            anomalies,
            launch_hour: hour_of(launch),
            launch_region: EUW1,
            launch_uplift: 0.25,
            migration_start: hour_of(migration_start),
            migration_end: hour_of(migration_end),
            migration_share: 0.6,
            migration_efficiency: 0.9,
            credits,
            correction_hour,
        }
    }

    fn time(&self, hour: i64) -> NaiveDateTime {
        self.start + TimeDelta::hours(hour)
    }

    /// Fraction of the migrating load already moved at `hour` (linear ramp).
    fn migrated(&self, hour: i64) -> f64 {
        if hour < self.migration_start {
            0.0
        } else if hour >= self.migration_end {
            self.migration_share
        } else {
            self.migration_share * (hour - self.migration_start) as f64
                / (self.migration_end - self.migration_start) as f64
        }
    }

    fn truth(&self) -> SynthTruth {
        let mut commitments: Vec<SynthCommitment> = self
            .commits
            .iter()
            .map(|c| SynthCommitment {
                id: c.id.clone(),
                kind: if c.is_ri() {
                    "Reserved Instance"
                } else {
                    "Savings Plan"
                }
                .to_string(),
                category: if c.is_ri() { "Usage" } else { "Spend" }.to_string(),
                pool: c.pool(),
                quantity: c.qty.to_f64().unwrap_or(f64::NAN),
                hourly_rate: c.hourly_rate(),
                start: c.start,
                end: c.end,
                payment: c.payment.label().to_string(),
                name: c.name.clone(),
            })
            .collect();
        commitments.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let correction = self.correction_hour.map(|h| {
            let t = self.time(h);
            SynthCorrection {
                charge_period_start: t,
                billing_period_start: midnight(add_months(first_of_month(t.date()), 1)),
                service: Svc::Ec2.name().to_string(),
            }
        });
        SynthTruth {
            start: self.start.date(),
            as_of: self.end.date(),
            billing_account_id: BILLING_ACCOUNT_ID.to_string(),
            currency: CURRENCY.to_string(),
            commitments,
            anomalies: self
                .anomalies
                .iter()
                .map(|a| SynthAnomaly {
                    start: self.time(a.start),
                    end: self.time(a.end),
                    service: a.svc.name().to_string(),
                    region: REGIONS[a.region].id.to_string(),
                    family: a.family.map(str::to_string),
                    factor: a.factor,
                    description: a.description.to_string(),
                })
                .collect(),
            launch: SynthLaunch {
                at: self.time(self.launch_hour),
                region: REGIONS[self.launch_region].id.to_string(),
                uplift: self.launch_uplift,
            },
            migration: SynthMigration {
                start: self.time(self.migration_start),
                end: self.time(self.migration_end),
                from_family: "m6i".to_string(),
                to_family: "c6i".to_string(),
                share: self.migration_share,
                efficiency: self.migration_efficiency,
            },
            correction,
            credit_rows: self.credits.len(),
            tax_rate: TAX_RATE.dec(),
        }
    }
}

/// Member account id of `unit` (0 = the demo company, 1.. = extra business units).
fn account_id(unit: u32, acct: Acct) -> String {
    const BASE: [&str; 3] = ["731904826153", "659281047362", "318475620947"];
    if unit == 0 {
        BASE[acct.index()].to_string()
    } else {
        let mut s = u64::from(unit) * 3 + acct.index() as u64;
        format!(
            "{:012}",
            100_000_000_000 + splitmix64(&mut s) % 900_000_000_000
        )
    }
}

fn account_name(unit: u32, acct: Acct) -> String {
    let env = match acct {
        Acct::Prod => "Production",
        Acct::Staging => "Staging",
        Acct::Data => "Data Platform",
    };
    if unit == 0 {
        format!("Northwind {env}")
    } else {
        format!("Northwind BU{unit:02} {env}")
    }
}

// ---------------------------------------------------------------------------------------------
// Columnar row sink
// ---------------------------------------------------------------------------------------------

/// Variable string columns, in frame order (constant columns are not stored per row).
const S_AZ: usize = 0;
const S_CHARGE_CATEGORY: usize = 1;
const S_CHARGE_CLASS: usize = 2;
const S_CHARGE_DESCRIPTION: usize = 3;
const S_CHARGE_FREQUENCY: usize = 4;
const S_CD_CATEGORY: usize = 5;
const S_CD_ID: usize = 6;
const S_CD_NAME: usize = 7;
const S_CD_STATUS: usize = 8;
const S_CD_TYPE: usize = 9;
const S_CD_UNIT: usize = 10;
const S_CONSUMED_UNIT: usize = 11;
const S_INVOICE_ID: usize = 12;
const S_PRICING_CATEGORY: usize = 13;
const S_PRICING_UNIT: usize = 14;
const S_REGION_ID: usize = 15;
const S_REGION_NAME: usize = 16;
const S_RESOURCE_ID: usize = 17;
const S_RESOURCE_NAME: usize = 18;
const S_RESOURCE_TYPE: usize = 19;
const S_SERVICE_CATEGORY: usize = 20;
const S_SERVICE_NAME: usize = 21;
const S_SERVICE_SUBCATEGORY: usize = 22;
const S_SKU_ID: usize = 23;
const S_SKU_METER: usize = 24;
const S_SKU_PRICE_DETAILS: usize = 25;
const S_SKU_PRICE_ID: usize = 26;
const S_SUB_ACCOUNT_ID: usize = 27;
const S_SUB_ACCOUNT_NAME: usize = 28;
const S_SUB_ACCOUNT_TYPE: usize = 29;
const S_TAGS: usize = 30;
const S_X_OPERATION: usize = 31;
const S_X_USAGE_TYPE: usize = 32;
const NSTR: usize = 33;

const D_BILLED: usize = 0;
const D_EFFECTIVE: usize = 1;
const D_LIST: usize = 2;
const D_LIST_UNIT: usize = 3;

const Q_CD: usize = 0;
const Q_CONSUMED: usize = 1;
const Q_PRICING: usize = 2;

const T_BP_END: usize = 0;
const T_BP_START: usize = 1;
const T_CP_END: usize = 2;
const T_CP_START: usize = 3;

#[derive(Clone, Copy)]
enum Col {
    Str(usize),
    Const(&'static str),
    Null,
    Dec(usize),
    Qty(usize),
    Time(usize),
}

const COLUMNS: [(&str, Col); 59] = [
    ("AvailabilityZone", Col::Str(S_AZ)),
    ("BilledCost", Col::Dec(D_BILLED)),
    ("BillingAccountId", Col::Const(BILLING_ACCOUNT_ID)),
    ("BillingAccountName", Col::Const(COMPANY_NAME)),
    ("BillingAccountType", Col::Const(BILLING_ACCOUNT_TYPE)),
    ("BillingCurrency", Col::Const(CURRENCY)),
    ("BillingPeriodEnd", Col::Time(T_BP_END)),
    ("BillingPeriodStart", Col::Time(T_BP_START)),
    ("CapacityReservationId", Col::Null),
    ("CapacityReservationStatus", Col::Null),
    ("ChargeCategory", Col::Str(S_CHARGE_CATEGORY)),
    ("ChargeClass", Col::Str(S_CHARGE_CLASS)),
    ("ChargeDescription", Col::Str(S_CHARGE_DESCRIPTION)),
    ("ChargeFrequency", Col::Str(S_CHARGE_FREQUENCY)),
    ("ChargePeriodEnd", Col::Time(T_CP_END)),
    ("ChargePeriodStart", Col::Time(T_CP_START)),
    ("CommitmentDiscountCategory", Col::Str(S_CD_CATEGORY)),
    ("CommitmentDiscountId", Col::Str(S_CD_ID)),
    ("CommitmentDiscountName", Col::Str(S_CD_NAME)),
    ("CommitmentDiscountQuantity", Col::Qty(Q_CD)),
    ("CommitmentDiscountStatus", Col::Str(S_CD_STATUS)),
    ("CommitmentDiscountType", Col::Str(S_CD_TYPE)),
    ("CommitmentDiscountUnit", Col::Str(S_CD_UNIT)),
    ("ConsumedQuantity", Col::Qty(Q_CONSUMED)),
    ("ConsumedUnit", Col::Str(S_CONSUMED_UNIT)),
    ("ContractedCost", Col::Dec(D_LIST)),
    ("ContractedUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("EffectiveCost", Col::Dec(D_EFFECTIVE)),
    ("InvoiceId", Col::Str(S_INVOICE_ID)),
    ("InvoiceIssuerName", Col::Const(PUBLISHER)),
    ("ListCost", Col::Dec(D_LIST)),
    ("ListUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingCategory", Col::Str(S_PRICING_CATEGORY)),
    ("PricingCurrency", Col::Const(CURRENCY)),
    ("PricingCurrencyContractedUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingCurrencyEffectiveCost", Col::Dec(D_EFFECTIVE)),
    ("PricingCurrencyListUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingQuantity", Col::Qty(Q_PRICING)),
    ("PricingUnit", Col::Str(S_PRICING_UNIT)),
    ("ProviderName", Col::Const(PROVIDER)),
    ("PublisherName", Col::Const(PUBLISHER)),
    ("RegionId", Col::Str(S_REGION_ID)),
    ("RegionName", Col::Str(S_REGION_NAME)),
    ("ResourceId", Col::Str(S_RESOURCE_ID)),
    ("ResourceName", Col::Str(S_RESOURCE_NAME)),
    ("ResourceType", Col::Str(S_RESOURCE_TYPE)),
    ("ServiceCategory", Col::Str(S_SERVICE_CATEGORY)),
    ("ServiceName", Col::Str(S_SERVICE_NAME)),
    ("ServiceSubcategory", Col::Str(S_SERVICE_SUBCATEGORY)),
    ("SkuId", Col::Str(S_SKU_ID)),
    ("SkuMeter", Col::Str(S_SKU_METER)),
    ("SkuPriceDetails", Col::Str(S_SKU_PRICE_DETAILS)),
    ("SkuPriceId", Col::Str(S_SKU_PRICE_ID)),
    ("SubAccountId", Col::Str(S_SUB_ACCOUNT_ID)),
    ("SubAccountName", Col::Str(S_SUB_ACCOUNT_NAME)),
    ("SubAccountType", Col::Str(S_SUB_ACCOUNT_TYPE)),
    ("Tags", Col::Str(S_TAGS)),
    ("x_Operation", Col::Str(S_X_OPERATION)),
    ("x_UsageType", Col::Str(S_X_USAGE_TYPE)),
];

/// Id of a null string.
const NULL: u32 = u32::MAX;
/// Sentinel of a null decimal in the sink.
const NULL_DEC: i128 = i128::MIN;

/// String-column values of a row, as interned ids.
type Template = [u32; NSTR];

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
}

/// Builds a [`Template`] by column.
struct Tb<'a> {
    t: Template,
    interner: &'a mut Interner,
}

impl<'a> Tb<'a> {
    fn new(interner: &'a mut Interner) -> Self {
        Tb {
            t: [NULL; NSTR],
            interner,
        }
    }

    fn from(t: Template, interner: &'a mut Interner) -> Self {
        Tb { t, interner }
    }

    fn set(mut self, col: usize, value: &str) -> Self {
        self.t[col] = self.interner.id(value);
        self
    }

    fn clear(mut self, col: usize) -> Self {
        self.t[col] = NULL;
        self
    }

    fn done(self) -> Template {
        self.t
    }
}

/// Numeric values of one row.
struct Vals {
    billed: Decimal,
    effective: Decimal,
    list: Decimal,
    list_unit: Option<Decimal>,
    cd_qty: Option<f64>,
    consumed: Option<f64>,
    pricing: Option<f64>,
    billing_period: (i64, i64),
    charge_period: (i64, i64),
}

fn dec_raw(d: Decimal) -> i128 {
    let mut r = d.round_dp(MONEY_SCALE);
    r.rescale(MONEY_SCALE);
    r.mantissa()
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

#[derive(Default)]
struct Sink {
    strs: Vec<Vec<u32>>,
    decs: [Vec<i128>; 4],
    qtys: [Vec<f64>; 3],
    times: [Vec<i64>; 4],
}

impl Sink {
    fn new() -> Self {
        Sink {
            strs: vec![Vec::new(); NSTR],
            ..Sink::default()
        }
    }

    fn len(&self) -> usize {
        self.times[T_CP_START].len()
    }

    fn clear(&mut self) {
        self.strs.iter_mut().for_each(Vec::clear);
        self.decs.iter_mut().for_each(Vec::clear);
        self.qtys.iter_mut().for_each(Vec::clear);
        self.times.iter_mut().for_each(Vec::clear);
    }

    fn push(&mut self, t: &Template, invoice: u32, v: &Vals) {
        for (col, id) in self.strs.iter_mut().zip(t.iter()) {
            col.push(*id);
        }
        if let Some(last) = self.strs[S_INVOICE_ID].last_mut() {
            *last = invoice;
        }
        self.decs[D_BILLED].push(dec_raw(v.billed));
        self.decs[D_EFFECTIVE].push(dec_raw(v.effective));
        self.decs[D_LIST].push(dec_raw(v.list));
        self.decs[D_LIST_UNIT].push(v.list_unit.map_or(NULL_DEC, dec_raw));
        self.qtys[Q_CD].push(v.cd_qty.unwrap_or(f64::NAN));
        self.qtys[Q_CONSUMED].push(v.consumed.unwrap_or(f64::NAN));
        self.qtys[Q_PRICING].push(v.pricing.unwrap_or(f64::NAN));
        self.times[T_BP_START].push(v.billing_period.0);
        self.times[T_BP_END].push(v.billing_period.1);
        self.times[T_CP_START].push(v.charge_period.0);
        self.times[T_CP_END].push(v.charge_period.1);
    }
}

/// Turns the sink's columns into the frame, emptying the sink's vectors column by column.
fn build_frame(sink: &mut Sink, interner: &Interner) -> Result<DataFrame, SynthError> {
    let height = sink.len();
    if IdxSize::try_from(height).is_err() || interner.values.len() >= NULL as usize {
        return Err(SynthError::TooManyRows {
            rows: height as u64,
        });
    }
    let dict = StringChunked::from_iter_values(
        PlSmallStr::EMPTY,
        interner.values.iter().map(String::as_str),
    );
    let mut decs: [Option<Series>; 4] = [None, None, None, None];
    for (i, raw) in sink.decs.iter_mut().enumerate() {
        let raw = std::mem::take(raw);
        let ca = if raw.contains(&NULL_DEC) {
            Int128Chunked::from_iter_options(
                PlSmallStr::EMPTY,
                raw.into_iter().map(|v| (v != NULL_DEC).then_some(v)),
            )
        } else {
            Int128Chunked::from_vec(PlSmallStr::EMPTY, raw)
        };
        decs[i] = Some(
            ca.into_decimal(MONEY_PRECISION, MONEY_SCALE as usize)?
                .into_series(),
        );
    }
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (name, col) in COLUMNS {
        let name = PlSmallStr::from_static(name);
        let column = match col {
            Col::Str(i) => {
                let ids = std::mem::take(&mut sink.strs[i]);
                let idx = IdxCa::from_iter_options(
                    PlSmallStr::EMPTY,
                    ids.into_iter().map(|v| (v != NULL).then_some(v as IdxSize)),
                );
                dict.take(&idx)?.with_name(name).into_column()
            }
            Col::Const(value) => Column::new_scalar(
                name,
                Scalar::new(
                    DataType::String,
                    AnyValue::StringOwned(PlSmallStr::from_static(value)),
                ),
                height,
            ),
            Col::Null => Column::full_null(name, height, &DataType::String),
            Col::Dec(i) => match &decs[i] {
                Some(s) => s.clone().with_name(name).into_column(),
                None => {
                    return Err(SynthError::Polars(PolarsError::ComputeError(
                        "decimal column missing".into(),
                    )));
                }
            },
            Col::Qty(i) => {
                let raw = std::mem::take(&mut sink.qtys[i]);
                Float64Chunked::from_iter_options(
                    name,
                    raw.into_iter().map(|v| (!v.is_nan()).then_some(v)),
                )
                .into_column()
            }
            Col::Time(i) => {
                let raw = std::mem::take(&mut sink.times[i]);
                Int64Chunked::from_vec(name, raw)
                    .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                    .into_column()
            }
        };
        columns.push(column);
    }
    Ok(DataFrame::new(height, columns)?)
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

/// One priced stream of usage: a workload on one instance type (or product).
struct Lane {
    unit: u32,
    region: usize,
    svc: Svc,
    /// Instance type, for instance lanes.
    instance: Option<usize>,
    /// On-demand unit price.
    price: Decimal,
    /// Decimal places of the quantity (0 = whole units).
    qty_dp: u32,
    od: Template,
    /// Per commitment (plan order): covered-row template, if the commitment applies.
    covered: Vec<Option<Template>>,
}

struct WorkloadState {
    workload: usize,
    rng: Rng,
    ar: f64,
    innovation_sd: f64,
    base: f64,
    growth_ln: f64,
    /// Lane of the workload's own instance type or product.
    primary: usize,
    /// For migrating workloads, the lane of the new instance type.
    secondary: Option<usize>,
}

#[derive(Clone, Copy)]
struct Seg {
    commit: usize,
    qty: Decimal,
    effective: Decimal,
}

struct CommitRuntime {
    /// Lanes the commitment can cover, in application order, with the commitment's rate for
    /// each (RI: amortised rate per unit; SP: discounted unit price).
    lanes: Vec<(usize, Decimal)>,
    unused: Template,
    purchase_once: Template,
    purchase_recurring: Template,
    /// On-demand unit price of the covered type (RI) or 1 (SP), for Unused rows' list cost.
    unused_list_unit: Decimal,
}

struct PendingCorrection {
    lane: usize,
    qty: Decimal,
    hour: i64,
}

struct Generator<'p> {
    plan: &'p Plan,
    interner: Interner,
    sink: Sink,
    lanes: Vec<Lane>,
    workloads: Vec<WorkloadState>,
    commits: Vec<CommitRuntime>,
    tax: [Template; 6],
    credit: Vec<Template>,
}

fn tags_json(unit: u32, w: &WorkloadDef) -> String {
    if unit == 0 {
        format!(
            r#"{{"app":"{}","env":"{}","team":"{}"}}"#,
            w.app,
            w.acct.env(),
            w.team
        )
    } else {
        format!(
            r#"{{"app":"{}","bu":"bu{unit:02}","env":"{}","team":"{}"}}"#,
            w.app,
            w.acct.env(),
            w.team
        )
    }
}

fn instance_details(instance: usize) -> String {
    let i = &INSTANCES[instance];
    if i.svc == Svc::Rds {
        format!(
            r#"{{"InstanceType":"{}","InstanceFamily":"{}","DatabaseEngine":"MySQL","DeploymentOption":"Single-AZ","vCPU":{},"MemoryGiB":{}}}"#,
            i.name, i.family, i.vcpu, i.memory_gib
        )
    } else {
        format!(
            r#"{{"InstanceType":"{}","InstanceFamily":"{}","OperatingSystem":"Linux","Tenancy":"Shared","vCPU":{},"MemoryGiB":{}}}"#,
            i.name, i.family, i.vcpu, i.memory_gib
        )
    }
}

fn product_sku(product: Product, region: usize) -> String {
    let key = match product {
        Product::Instance(i) => INSTANCES[i].name,
        Product::LambdaGbSeconds => "lambda-gb-second",
        Product::S3Storage => "s3-standard-storage",
        Product::DataTransferOut => "data-transfer-out",
    };
    sku_code(&format!("{key}@{}", REGIONS[region].id))
}

impl<'p> Generator<'p> {
    fn new(plan: &'p Plan) -> Self {
        let mut g = Generator {
            plan,
            interner: Interner::default(),
            sink: Sink::new(),
            lanes: Vec::new(),
            workloads: Vec::new(),
            commits: Vec::new(),
            tax: [[NULL; NSTR]; 6],
            credit: Vec::new(),
        };
        g.build_workloads();
        g.build_commitments();
        g.build_month_templates();
        g
    }

    fn build_workloads(&mut self) {
        let plan = self.plan;
        let mut unit_rng = Rng::new(mix(plan.seed, 0x0B5_0B5));
        for unit in 0..plan.scale {
            let unit_factor = if unit == 0 {
                1.0
            } else {
                0.6 + 0.8 * unit_rng.uniform()
            };
            for (wi, w) in WORKLOADS.iter().enumerate() {
                if unit > 0 && !w.replicate {
                    continue;
                }
                let mut rng = Rng::new(mix(plan.seed, (u64::from(unit) << 16) | wi as u64));
                let ar = w.noise * rng.normal();
                let primary = self.add_lane(unit, wi, w.product);
                let secondary = w
                    .migrate_to
                    .map(|to| self.add_lane(unit, wi, Product::Instance(to)));
                self.workloads.push(WorkloadState {
                    workload: wi,
                    rng,
                    ar,
                    innovation_sd: w.noise * (1.0 - AR_PHI * AR_PHI).sqrt(),
                    base: w.base * unit_factor,
                    growth_ln: (1.0 + w.growth).ln(),
                    primary,
                    secondary,
                });
            }
        }
    }

    fn add_lane(&mut self, unit: u32, wi: usize, product: Product) -> usize {
        let w = &WORKLOADS[wi];
        let region = &REGIONS[w.region];
        let acct_id = account_id(unit, w.acct);
        let app = if unit == 0 {
            w.app.to_string()
        } else {
            format!("bu{unit:02}-{}", w.app)
        };
        let sku = product_sku(product, w.region);
        let (svc, instance, price, qty_dp) = match product {
            Product::Instance(i) => (
                INSTANCES[i].svc,
                Some(i),
                INSTANCES[i].on_demand[w.region].dec(),
                0,
            ),
            Product::LambdaGbSeconds => (Svc::Lambda, None, LAMBDA_GB_SECOND.dec(), 0),
            Product::S3Storage => (Svc::S3, None, S3_GB_HOUR.dec(), 0),
            Product::DataTransferOut => (Svc::DataTransfer, None, DT_OUT_GB.dec(), 2),
        };
        let price_text = price.normalize().to_string();
        let (resource_id, resource_type, unit_name, meter, details, usage_type, operation, desc) =
            match product {
                Product::Instance(i) if INSTANCES[i].svc == Svc::Rds => (
                    format!("arn:aws:rds:{}:{acct_id}:db:{app}", region.id),
                    "DB Instance",
                    "Hours",
                    "Database Instance",
                    instance_details(i),
                    format!(
                        "{}-InstanceUsage:{}",
                        region.usage_prefix, INSTANCES[i].name
                    ),
                    Some("CreateDBInstance:0002"),
                    format!(
                        "${price_text} per RDS {} Single-AZ instance hour (or partial hour) running MySQL",
                        INSTANCES[i].name
                    ),
                ),
                Product::Instance(i) => (
                    format!(
                        "arn:aws:autoscaling:{}:{acct_id}:autoScalingGroup:{}:autoScalingGroupName/{app}",
                        region.id,
                        uuid_like(&format!("{acct_id}/{app}"))
                    ),
                    "Auto Scaling Group",
                    "Hours",
                    "Instance Usage",
                    instance_details(i),
                    format!("{}-BoxUsage:{}", region.usage_prefix, INSTANCES[i].name),
                    Some("RunInstances"),
                    format!(
                        "${price_text} per On Demand Linux {} Instance Hour",
                        INSTANCES[i].name
                    ),
                ),
                Product::LambdaGbSeconds => (
                    format!("arn:aws:lambda:{}:{acct_id}:function:{app}", region.id),
                    "Function",
                    "GB-Seconds",
                    "Compute Duration",
                    r#"{"Architecture":"x86_64","Group":"AWS-Lambda-Duration"}"#.to_string(),
                    format!("{}-Lambda-GB-Second", region.usage_prefix),
                    Some("Invoke"),
                    format!("AWS Lambda - Total Compute - {}", region.name),
                ),
                Product::S3Storage => (
                    format!("arn:aws:s3:::northwind-{app}"),
                    "Bucket",
                    "GB-Hours",
                    "Storage",
                    r#"{"StorageClass":"Standard","VolumeType":"Standard"}"#.to_string(),
                    format!("{}-TimedStorage-ByteHrs", region.usage_prefix),
                    Some("StandardStorage"),
                    "$0.023 per GB - first 50 TB / month of storage used".to_string(),
                ),
                Product::DataTransferOut => (
                    format!(
                        "arn:aws:elasticloadbalancing:{}:{acct_id}:loadbalancer/app/{app}/{}",
                        region.id,
                        &sku_code(&format!("{acct_id}/{app}")).to_ascii_lowercase()
                    ),
                    "Load Balancer",
                    "GB",
                    "Data Transfer Out",
                    format!(
                        r#"{{"FromLocation":"{}","ToLocation":"External","TransferType":"AWS Outbound"}}"#,
                        region.id
                    ),
                    format!("{}-DataTransfer-Out-Bytes", region.usage_prefix),
                    None,
                    format!(
                        "${price_text} per GB - first 10 TB / month data transfer out beyond the global free tier"
                    ),
                ),
            };
        let it = &mut self.interner;
        let mut tb = Tb::new(it)
            .set(S_CHARGE_CATEGORY, "Usage")
            .set(S_CHARGE_FREQUENCY, "Usage-Based")
            .set(S_CONSUMED_UNIT, unit_name)
            .set(S_PRICING_UNIT, unit_name)
            .set(S_REGION_ID, region.id)
            .set(S_REGION_NAME, region.name)
            .set(S_RESOURCE_ID, &resource_id)
            .set(S_RESOURCE_NAME, &app)
            .set(S_RESOURCE_TYPE, resource_type)
            .set(S_SERVICE_CATEGORY, svc.category())
            .set(S_SERVICE_NAME, svc.name())
            .set(S_SERVICE_SUBCATEGORY, svc.subcategory())
            .set(S_SKU_ID, &sku)
            .set(S_SKU_METER, meter)
            .set(S_SKU_PRICE_DETAILS, &details)
            .set(S_SUB_ACCOUNT_ID, &acct_id)
            .set(S_SUB_ACCOUNT_NAME, &account_name(unit, w.acct))
            .set(S_SUB_ACCOUNT_TYPE, SUB_ACCOUNT_TYPE)
            .set(S_TAGS, &tags_json(unit, w))
            .set(S_X_USAGE_TYPE, &usage_type);
        if let Some(op) = operation {
            tb = tb.set(S_X_OPERATION, op);
        }
        if svc == Svc::Rds {
            tb = tb.set(S_AZ, region.db_zone);
        }
        let base = tb.done();
        let od = Tb::from(base, &mut self.interner)
            .set(S_CHARGE_DESCRIPTION, &desc)
            .set(S_PRICING_CATEGORY, "Standard")
            .set(S_SKU_PRICE_ID, &format!("{sku}.JRTCKXETXF.6YS6EN2CT7"))
            .done();

        let mut covered = Vec::with_capacity(self.plan.commits.len());
        for c in &self.plan.commits {
            let applies = match (c.kind, product) {
                (
                    CommitKind::Ri {
                        instance: ri,
                        region: rr,
                    },
                    Product::Instance(i),
                ) => ri == i && rr == w.region,
                (CommitKind::Sp { .. }, Product::Instance(i)) => INSTANCES[i].svc == Svc::Ec2,
                (CommitKind::Sp { .. }, Product::LambdaGbSeconds) => true,
                _ => false,
            };
            if !applies {
                covered.push(None);
                continue;
            }
            let what = match instance {
                Some(i) => format!("{} Linux/UNIX", INSTANCES[i].name),
                None => "Lambda duration".to_string(),
            };
            let (description, price_id) = if c.is_ri() {
                (
                    format!(
                        "USD 0.0 hourly fee per {what} (reserved, {} {})",
                        if c.term_years == 1 { "1yr" } else { "3yr" },
                        c.payment.label()
                    ),
                    format!("{sku}.{}", c.offer_code),
                )
            } else {
                (
                    format!(
                        "Compute Savings Plan covered usage: {what} in {}",
                        region.name
                    ),
                    format!("{sku}.{}", c.offer_code),
                )
            };
            let t = commitment_fields(Tb::from(base, &mut self.interner), c)
                .set(S_CD_STATUS, "Used")
                .set(S_CHARGE_DESCRIPTION, &description)
                .set(S_PRICING_CATEGORY, "Committed")
                .set(S_SKU_PRICE_ID, &price_id)
                .done();
            covered.push(Some(t));
        }
        self.lanes.push(Lane {
            unit,
            region: w.region,
            svc,
            instance,
            price,
            qty_dp,
            od,
            covered,
        });
        self.lanes.len() - 1
    }

    fn build_commitments(&mut self) {
        let plan = self.plan;
        let prod_id = account_id(0, Acct::Prod);
        let prod_name = account_name(0, Acct::Prod);
        for (ci, c) in plan.commits.iter().enumerate() {
            let svc = c.svc();
            let term = if c.term_years == 1 { "1yr" } else { "3yr" };
            let mut lanes: Vec<(usize, Decimal)> = Vec::new();
            match c.kind {
                CommitKind::Ri { .. } => {
                    for (li, lane) in self.lanes.iter().enumerate() {
                        if lane.covered[ci].is_some() {
                            lanes.push((li, c.eff_rate));
                        }
                    }
                }
                CommitKind::Sp {
                    ec2_discount,
                    lambda_discount,
                } => {
                    // Highest discount first: EC2 lanes, then Lambda lanes.
                    for pass in [Svc::Ec2, Svc::Lambda] {
                        let discount = if pass == Svc::Ec2 {
                            ec2_discount.dec()
                        } else {
                            lambda_discount.dec()
                        };
                        for (li, lane) in self.lanes.iter().enumerate() {
                            if lane.svc == pass && lane.covered[ci].is_some() {
                                let rate =
                                    (lane.price * (Decimal::ONE - discount)).round_dp(MONEY_SCALE);
                                lanes.push((li, rate));
                            }
                        }
                    }
                }
            }
            let (region, details, sku, meter, resource_type, usage_type, what, list_unit) = match c
                .kind
            {
                CommitKind::Ri { instance, region } => {
                    let i = &INSTANCES[instance];
                    let r = &REGIONS[region];
                    let details = instance_details(instance);
                    let details = format!(
                        r#"{},"Term":"{term}","PaymentOption":"{}","OfferingClass":"standard"}}"#,
                        &details[..details.len() - 1],
                        c.payment.label()
                    );
                    (
                        Some(r),
                        details,
                        product_sku(Product::Instance(instance), region),
                        "Reservation",
                        "Reserved Instance",
                        format!("{}-HeavyUsage:{}", r.usage_prefix, i.name),
                        format!(
                            "{} {} in {}",
                            i.name,
                            if i.svc == Svc::Rds {
                                "MySQL"
                            } else {
                                "Linux/UNIX"
                            },
                            r.name
                        ),
                        i.on_demand[region].dec(),
                    )
                }
                CommitKind::Sp { .. } => (
                    None,
                    format!(
                        r#"{{"PlanType":"Compute","Term":"{term}","PaymentOption":"{}"}}"#,
                        c.payment.label()
                    ),
                    sku_code(&format!("compute-savings-plan-{term}")),
                    "Savings Plan",
                    "Savings Plan",
                    format!("ComputeSP:{term}{}", c.payment.label().replace(' ', "")),
                    "Compute Savings Plan".to_string(),
                    Decimal::ONE,
                ),
            };
            let mut base = Tb::new(&mut self.interner)
                .set(S_CHARGE_FREQUENCY, "Usage-Based")
                .set(S_RESOURCE_ID, &c.id)
                .set(S_RESOURCE_NAME, &c.name)
                .set(S_RESOURCE_TYPE, resource_type)
                .set(S_SERVICE_CATEGORY, svc.category())
                .set(S_SERVICE_NAME, svc.name())
                .set(S_SERVICE_SUBCATEGORY, svc.subcategory())
                .set(S_SKU_ID, &sku)
                .set(S_SKU_METER, meter)
                .set(S_SKU_PRICE_DETAILS, &details)
                .set(S_SKU_PRICE_ID, &format!("{sku}.{}", c.offer_code))
                .set(S_SUB_ACCOUNT_ID, &prod_id)
                .set(S_SUB_ACCOUNT_NAME, &prod_name)
                .set(S_SUB_ACCOUNT_TYPE, SUB_ACCOUNT_TYPE)
                .set(S_X_USAGE_TYPE, &usage_type);
            if let Some(r) = region {
                base = base.set(S_REGION_ID, r.id).set(S_REGION_NAME, r.name);
            }
            if c.is_ri() && svc == Svc::Ec2 {
                base = base.set(S_X_OPERATION, "RunInstances");
            }
            let base = commitment_fields(base, c).done();
            let unused = Tb::from(base, &mut self.interner)
                .set(S_CHARGE_CATEGORY, "Usage")
                .set(S_CD_STATUS, "Unused")
                .set(S_PRICING_CATEGORY, "Committed")
                .set(S_PRICING_UNIT, c.unit())
                .set(
                    S_CHARGE_DESCRIPTION,
                    &if c.is_ri() {
                        format!("Unused Reservation: {what} ({term} {})", c.payment.label())
                    } else {
                        format!(
                            "Unused Savings Plan commitment: {what} {term} {}",
                            c.payment.label()
                        )
                    },
                )
                .done();
            let purchase = |interner: &mut Interner, kind: &str, freq: &str| {
                Tb::from(base, interner)
                    .set(S_CHARGE_CATEGORY, "Purchase")
                    .set(S_CHARGE_FREQUENCY, freq)
                    .set(S_PRICING_CATEGORY, "Standard")
                    .set(S_PRICING_UNIT, c.unit())
                    .clear(S_CD_STATUS)
                    .set(
                        S_CHARGE_DESCRIPTION,
                        format!(
                            "{kind} fee: {what}, {term} {} {}",
                            c.payment.label(),
                            if c.is_ri() { "Reserved Instance" } else { "" }
                        )
                        .trim_end(),
                    )
                    .done()
            };
            let purchase_once = purchase(&mut self.interner, "Upfront", "One-Time");
            let purchase_recurring = purchase(&mut self.interner, "Recurring", "Recurring");
            self.commits.push(CommitRuntime {
                lanes,
                unused,
                purchase_once,
                purchase_recurring,
                unused_list_unit: list_unit,
            });
        }
    }

    fn build_month_templates(&mut self) {
        let rate_pct = (TAX_RATE.dec() * Decimal::ONE_HUNDRED).normalize();
        for svc in Svc::ALL {
            self.tax[svc.index()] = Tb::new(&mut self.interner)
                .set(S_CHARGE_CATEGORY, "Tax")
                .set(S_CHARGE_FREQUENCY, "Recurring")
                .set(
                    S_CHARGE_DESCRIPTION,
                    &format!("Sales tax ({rate_pct}%) on {}", svc.name()),
                )
                .set(S_SERVICE_CATEGORY, svc.category())
                .set(S_SERVICE_NAME, svc.name())
                .set(S_SERVICE_SUBCATEGORY, svc.subcategory())
                .done();
        }
        let prod_id = account_id(0, Acct::Prod);
        let prod_name = account_name(0, Acct::Prod);
        for credit in &self.plan.credits {
            let t = Tb::new(&mut self.interner)
                .set(S_CHARGE_CATEGORY, "Credit")
                .set(S_CHARGE_FREQUENCY, "One-Time")
                .set(S_CHARGE_DESCRIPTION, credit.description)
                .set(S_SERVICE_CATEGORY, credit.svc.category())
                .set(S_SERVICE_NAME, credit.svc.name())
                .set(S_SERVICE_SUBCATEGORY, credit.svc.subcategory())
                .set(S_SUB_ACCOUNT_ID, &prod_id)
                .set(S_SUB_ACCOUNT_NAME, &prod_name)
                .set(S_SUB_ACCOUNT_TYPE, SUB_ACCOUNT_TYPE)
                .done();
            self.credit.push(t);
        }
    }

    /// Runs the whole window; `on_month` is called after each billing month's rows (hourly
    /// rows, then purchases, credits, the correction and taxes) are in the sink.
    fn run<F>(&mut self, mut on_month: F) -> Result<(), SynthError>
    where
        F: FnMut(&mut Sink, &Interner) -> Result<(), SynthError>,
    {
        let plan = self.plan;
        let n_lanes = self.lanes.len();
        let mut qty = vec![Decimal::ZERO; n_lanes];
        let mut rem = vec![Decimal::ZERO; n_lanes];
        let mut segs: Vec<Vec<Seg>> = vec![Vec::new(); n_lanes];
        let mut unused: Vec<Option<Decimal>> = vec![None; plan.commits.len()];
        let mut billed = [Decimal::ZERO; 6];
        let mut pending: Option<PendingCorrection> = None;
        let mut month_first = first_of_month(plan.start.date());
        let mut month_index = 0u32;
        let mut invoice = self.invoice_id(month_first);
        let mut season = [[0.0f64; 2]; 5];

        for hour in 0..plan.hours {
            let ts = plan.time(hour);
            if first_of_month(ts.date()) != month_first {
                self.flush_month(month_first, month_index, invoice, &mut billed, &mut pending);
                self.check_size()?;
                on_month(&mut self.sink, &self.interner)?;
                month_first = first_of_month(ts.date());
                month_index += 1;
                invoice = self.invoice_id(month_first);
            }
            let t0 = micros(ts);
            let period = (t0, t0 + HOUR_MICROS);
            let billing_period = (
                micros(midnight(month_first)),
                micros(midnight(add_months(month_first, 1))),
            );

            for p in Profile::ALL {
                for (r, region) in REGIONS.iter().enumerate() {
                    season[p.index()][r] = p.season(ts + TimeDelta::hours(region.utc_offset));
                }
            }
            self.demand(hour, &season, &mut qty);

            // Allocate commitments: RIs first (oldest first), then Savings Plans.
            for l in 0..n_lanes {
                rem[l] = qty[l];
                segs[l].clear();
            }
            for (ci, c) in plan.commits.iter().enumerate() {
                unused[ci] = None;
                if !c.active(ts) {
                    continue;
                }
                let mut left = c.qty;
                for &(l, rate) in &self.commits[ci].lanes {
                    if left.is_zero() {
                        break;
                    }
                    if rem[l].is_zero() {
                        continue;
                    }
                    if c.is_ri() {
                        let take = rem[l].min(left);
                        rem[l] -= take;
                        left -= take;
                        segs[l].push(Seg {
                            commit: ci,
                            qty: take,
                            effective: take * rate,
                        });
                    } else {
                        let need = rem[l] * rate;
                        if need <= left {
                            segs[l].push(Seg {
                                commit: ci,
                                qty: rem[l],
                                effective: need,
                            });
                            left -= need;
                            rem[l] = Decimal::ZERO;
                        } else {
                            let part = (left / rate)
                                .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero);
                            if part.is_zero() {
                                break;
                            }
                            segs[l].push(Seg {
                                commit: ci,
                                qty: part,
                                effective: left,
                            });
                            rem[l] -= part;
                            left = Decimal::ZERO;
                        }
                    }
                }
                if !left.is_zero() {
                    unused[ci] = Some(left);
                }
            }

            // Emit usage rows lane by lane: covered parts, then the on-demand rest.
            for l in 0..n_lanes {
                let lane = &self.lanes[l];
                let price = lane.price;
                for seg in &segs[l] {
                    let c = &plan.commits[seg.commit];
                    let Some(t) = lane.covered[seg.commit].as_ref() else {
                        continue;
                    };
                    let q = f64_of(seg.qty);
                    self.sink.push(
                        t,
                        invoice,
                        &Vals {
                            billed: Decimal::ZERO,
                            effective: seg.effective,
                            list: seg.qty * price,
                            list_unit: Some(price),
                            cd_qty: Some(if c.is_ri() { q } else { f64_of(seg.effective) }),
                            consumed: Some(q),
                            pricing: Some(q),
                            billing_period,
                            charge_period: period,
                        },
                    );
                }
                if rem[l] > Decimal::ZERO {
                    let q = f64_of(rem[l]);
                    let cost = rem[l] * price;
                    billed[lane.svc.index()] += cost;
                    self.sink.push(
                        &lane.od,
                        invoice,
                        &Vals {
                            billed: cost,
                            effective: cost,
                            list: cost,
                            list_unit: Some(price),
                            cd_qty: None,
                            consumed: Some(q),
                            pricing: Some(q),
                            billing_period,
                            charge_period: period,
                        },
                    );
                }
            }
            for (ci, left) in unused.iter().enumerate() {
                let Some(left) = *left else { continue };
                let c = &plan.commits[ci];
                let rt = &self.commits[ci];
                let effective = left * c.eff_rate;
                let q = f64_of(left);
                self.sink.push(
                    &rt.unused,
                    invoice,
                    &Vals {
                        billed: Decimal::ZERO,
                        effective,
                        list: left * rt.unused_list_unit,
                        list_unit: Some(rt.unused_list_unit),
                        cd_qty: Some(q),
                        consumed: None,
                        pricing: Some(q),
                        billing_period,
                        charge_period: period,
                    },
                );
            }

            if plan.correction_hour == Some(hour) {
                pending = self.pick_correction(hour, &rem);
            }
        }
        self.flush_month(month_first, month_index, invoice, &mut billed, &mut pending);
        self.check_size()?;
        on_month(&mut self.sink, &self.interner)
    }

    fn check_size(&self) -> Result<(), SynthError> {
        let rows = self.sink.len();
        if IdxSize::try_from(rows).is_err() || rows >= (u32::MAX as usize) {
            return Err(SynthError::TooManyRows { rows: rows as u64 });
        }
        Ok(())
    }

    fn invoice_id(&mut self, month_first: NaiveDate) -> u32 {
        self.interner.id(&format!(
            "EUS{:04}{:02}-{:07}",
            month_first.year(),
            month_first.month(),
            fnv1a(&format!("{}{}", month_first, self.plan.scale)) % 10_000_000
        ))
    }

    /// Quantity of every lane in hour `hour`.
    fn demand(&mut self, hour: i64, season: &[[f64; 2]; 5], qty: &mut [Decimal]) {
        let plan = self.plan;
        let years = hour as f64 / 8766.0;
        let new_day = hour == 0 || plan.time(hour).hour() == 0;
        let migrated = plan.migrated(hour);
        for ws in &mut self.workloads {
            let w = &WORKLOADS[ws.workload];
            if !w.profile.daily_noise_only() || new_day {
                ws.ar = AR_PHI * ws.ar + ws.innovation_sd * ws.rng.normal();
            }
            let mut d = ws.base
                * (ws.growth_ln * years).exp()
                * season[w.profile.index()][w.region]
                * ws.ar.exp();
            let launch_svc = match w.product {
                Product::Instance(i) => INSTANCES[i].svc == Svc::Ec2,
                Product::LambdaGbSeconds => true,
                Product::S3Storage | Product::DataTransferOut => false,
            };
            if launch_svc && w.region == plan.launch_region && hour >= plan.launch_hour {
                d *= 1.0 + plan.launch_uplift;
            }
            let (primary, secondary) = match ws.secondary {
                Some(s) => (
                    (ws.primary, d * (1.0 - migrated)),
                    Some((s, d * migrated * plan.migration_efficiency)),
                ),
                None => ((ws.primary, d), None),
            };
            for (k, (lane_idx, amount)) in std::iter::once(primary).chain(secondary).enumerate() {
                let lane = &self.lanes[lane_idx];
                let mut amount = amount;
                for a in &plan.anomalies {
                    if hour >= a.start
                        && hour < a.end
                        && a.svc == lane.svc
                        && a.region == lane.region
                        && a.family
                            .is_none_or(|f| lane.instance.is_some_and(|i| INSTANCES[i].family == f))
                    {
                        amount *= a.factor;
                    }
                }
                let units = match lane.instance {
                    Some(i) => amount / INSTANCES[i].size,
                    None => amount,
                };
                let min = if k == 0 { w.min } else { 0.0 };
                let scale = 10f64.powi(lane.qty_dp as i32);
                let raw = (units * scale).round().max(min * scale);
                qty[lane_idx] = Decimal::new(raw as i64, lane.qty_dp);
            }
        }
    }

    /// The on-demand usage refunded by the correction: the first unit-0 EC2 lane that has
    /// on-demand quantity in the corrected hour.
    fn pick_correction(&self, hour: i64, rem: &[Decimal]) -> Option<PendingCorrection> {
        self.lanes
            .iter()
            .enumerate()
            .find(|(l, lane)| lane.unit == 0 && lane.svc == Svc::Ec2 && rem[*l] > Decimal::ZERO)
            .map(|(l, _)| PendingCorrection {
                lane: l,
                qty: rem[l],
                hour,
            })
    }

    /// Month-level rows of the calendar month starting `month_first`.
    fn flush_month(
        &mut self,
        month_first: NaiveDate,
        month_index: u32,
        invoice: u32,
        billed: &mut [Decimal; 6],
        pending: &mut Option<PendingCorrection>,
    ) {
        let plan = self.plan;
        let ms = midnight(month_first);
        let me = midnight(add_months(month_first, 1));
        let ws = ms.max(plan.start);
        let we = me.min(plan.end);
        let billing_period = (micros(ms), micros(me));

        for (ci, c) in plan.commits.iter().enumerate() {
            let frac = c.payment.upfront_fraction();
            let rt = &self.commits[ci];
            // (template, amount, pricing quantity, unit price, charge period)
            let mut purchases = Vec::with_capacity(2);
            if frac > Decimal::ZERO && c.start >= ws && c.start < we {
                let hours = Decimal::from(c.term_hours());
                let amount = c.qty * c.eff_rate * frac * hours;
                let (pricing, unit_price) = if c.is_ri() {
                    (c.qty * hours, c.eff_rate * frac)
                } else {
                    (amount, Decimal::ONE)
                };
                purchases.push((
                    &rt.purchase_once,
                    amount,
                    pricing,
                    unit_price,
                    (c.start, c.end),
                ));
            }
            let from = ws.max(c.start);
            let to = we.min(c.end);
            if frac < Decimal::ONE && from < to {
                let hours = Decimal::from((to - from).num_hours());
                let rate = c.eff_rate * (Decimal::ONE - frac);
                let amount = c.qty * rate * hours;
                let (pricing, unit_price) = if c.is_ri() {
                    (c.qty * hours, rate)
                } else {
                    (amount, Decimal::ONE)
                };
                purchases.push((
                    &rt.purchase_recurring,
                    amount,
                    pricing,
                    unit_price,
                    (from, to),
                ));
            }
            for (template, amount, pricing, unit_price, (from, to)) in purchases {
                billed[c.svc().index()] += amount;
                self.sink.push(
                    template,
                    invoice,
                    &Vals {
                        billed: amount,
                        effective: Decimal::ZERO,
                        list: amount,
                        list_unit: Some(unit_price),
                        cd_qty: Some(f64_of(pricing)),
                        consumed: None,
                        pricing: Some(f64_of(pricing)),
                        billing_period,
                        charge_period: (micros(from), micros(to)),
                    },
                );
            }
        }

        for (k, credit) in plan.credits.iter().enumerate() {
            if credit.month == month_index {
                self.sink.push(
                    &self.credit[k],
                    invoice,
                    &Vals {
                        billed: credit.amount,
                        effective: credit.amount,
                        list: credit.amount,
                        list_unit: None,
                        cd_qty: None,
                        consumed: None,
                        pricing: None,
                        billing_period,
                        charge_period: (micros(ws), micros(we)),
                    },
                );
            }
        }

        if let Some(p) = pending.as_ref() {
            let t = plan.time(p.hour);
            if first_of_month(t.date()) < month_first {
                let lane = &self.lanes[p.lane];
                let template = Tb::from(lane.od, &mut self.interner)
                    .set(S_CHARGE_CLASS, "Correction")
                    .set(
                        S_CHARGE_DESCRIPTION,
                        "Correction: refund of on-demand instance hours billed in error",
                    )
                    .done();
                let cost = -(p.qty * lane.price);
                let q = -f64_of(p.qty);
                billed[lane.svc.index()] += cost;
                self.sink.push(
                    &template,
                    invoice,
                    &Vals {
                        billed: cost,
                        effective: cost,
                        list: cost,
                        list_unit: Some(lane.price),
                        cd_qty: None,
                        consumed: Some(q),
                        pricing: Some(q),
                        billing_period,
                        charge_period: (micros(t), micros(t) + HOUR_MICROS),
                    },
                );
                *pending = None;
            }
        }

        let rate = TAX_RATE.dec();
        for svc in Svc::ALL {
            let base = billed[svc.index()];
            if base > Decimal::ZERO {
                let tax = (base * rate).round_dp(2);
                self.sink.push(
                    &self.tax[svc.index()],
                    invoice,
                    &Vals {
                        billed: tax,
                        effective: tax,
                        list: tax,
                        list_unit: None,
                        cd_qty: None,
                        consumed: None,
                        pricing: None,
                        billing_period,
                        charge_period: (micros(ws), micros(we)),
                    },
                );
            }
        }
        *billed = [Decimal::ZERO; 6];
    }
}

/// Sets the commitment-discount columns common to every row of commitment `c`.
fn commitment_fields<'a>(tb: Tb<'a>, c: &CommitDef) -> Tb<'a> {
    tb.set(S_CD_CATEGORY, if c.is_ri() { "Usage" } else { "Spend" })
        .set(S_CD_ID, &c.id)
        .set(S_CD_NAME, &c.name)
        .set(
            S_CD_TYPE,
            if c.is_ri() {
                "Reserved Instance"
            } else {
                "Savings Plan"
            },
        )
        .set(S_CD_UNIT, c.unit())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use polars::prelude::{ParquetReader, SerReader};

    use super::*;

    fn cfg(months: u32, scale: u32) -> SynthConfig {
        SynthConfig {
            months,
            scale,
            ..SynthConfig::default()
        }
    }

    fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
        df.column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn times(df: &DataFrame, name: &str) -> Vec<i64> {
        let ca = df
            .column(name)
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .clone();
        assert_eq!(ca.null_count(), 0, "{name} has nulls");
        ca.into_no_null_iter().collect()
    }

    fn decs(df: &DataFrame, name: &str) -> Vec<Option<Decimal>> {
        let ca = df.column(name).unwrap().decimal().unwrap();
        let scale = ca.scale() as u32;
        ca.physical()
            .iter()
            .map(|v| v.map(|m| Decimal::from_i128_with_scale(m, scale)))
            .collect()
    }

    fn floats(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
        df.column(name).unwrap().f64().unwrap().iter().collect()
    }

    fn parquet_bytes(df: &DataFrame) -> Vec<u8> {
        let mut out = Vec::new();
        write_parquet(&mut df.clone(), &mut out).unwrap();
        out
    }

    #[test]
    fn same_config_gives_identical_frame_and_bytes() {
        let c = cfg(2, 1);
        let a = generate(&c).unwrap();
        let b = generate(&c).unwrap();
        assert!(a.equals_missing(&b));
        let (pa, pb) = (parquet_bytes(&a), parquet_bytes(&b));
        assert!(!pa.is_empty());
        assert_eq!(pa, pb);

        let other = generate(&SynthConfig { seed: 7, ..c }).unwrap();
        assert!(!a.equals_missing(&other), "the seed must matter");
    }

    #[test]
    fn parquet_round_trip_preserves_the_frame() {
        let df = generate(&cfg(2, 2)).unwrap();
        let bytes = parquet_bytes(&df);
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert_eq!(back.schema(), df.schema());
        assert!(back.equals_missing(&df));
    }

    #[test]
    fn streaming_writer_produces_the_same_rows() {
        let c = cfg(3, 2);
        let df = generate(&c).unwrap();
        let mut a = Vec::new();
        let rows = write_parquet_streaming(&c, &mut a).unwrap();
        let mut b = Vec::new();
        write_parquet_streaming(&c, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(rows, df.height() as u64);
        let back = ParquetReader::new(std::io::Cursor::new(a))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df));
    }

    #[test]
    fn schema_has_the_focus_columns_in_order_with_their_types() {
        let df = generate(&cfg(1, 1)).unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names.len(), 57 + CUSTOM_COLUMNS.len());
        assert_eq!(&names[..57], &FOCUS_COLUMNS.map(str::to_string)[..]);
        assert!(names[57..].iter().all(|n| n.starts_with("x_")));
        let money = DataType::Decimal(MONEY_PRECISION, MONEY_SCALE as usize);
        let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
        for (name, dtype) in df.schema().iter() {
            let expected = match name.as_str() {
                "BilledCost"
                | "EffectiveCost"
                | "ListCost"
                | "ContractedCost"
                | "ListUnitPrice"
                | "ContractedUnitPrice"
                | "PricingCurrencyContractedUnitPrice"
                | "PricingCurrencyEffectiveCost"
                | "PricingCurrencyListUnitPrice" => &money,
                "ConsumedQuantity" | "PricingQuantity" | "CommitmentDiscountQuantity" => {
                    &DataType::Float64
                }
                "BillingPeriodStart" | "BillingPeriodEnd" | "ChargePeriodStart"
                | "ChargePeriodEnd" => &utc,
                _ => &DataType::String,
            };
            assert_eq!(dtype, expected, "column {name}");
        }
    }

    /// Checks every row-level invariant of one generated frame.
    fn check_invariants(c: &SynthConfig) {
        let df = generate(c).unwrap();
        let t = truth(c);
        let n = df.height();
        let cps = times(&df, "ChargePeriodStart");
        let cpe = times(&df, "ChargePeriodEnd");
        let bps = times(&df, "BillingPeriodStart");
        let bpe = times(&df, "BillingPeriodEnd");
        let category = strs(&df, "ChargeCategory");
        let class = strs(&df, "ChargeClass");
        let pricing_category = strs(&df, "PricingCategory");
        let status = strs(&df, "CommitmentDiscountStatus");
        let cd_id = strs(&df, "CommitmentDiscountId");
        let service = strs(&df, "ServiceName");
        let details = strs(&df, "SkuPriceDetails");
        let tags = strs(&df, "Tags");
        let consumed = floats(&df, "ConsumedQuantity");
        let pricing_qty = floats(&df, "PricingQuantity");
        let billed = decs(&df, "BilledCost");
        let effective = decs(&df, "EffectiveCost");
        let list = decs(&df, "ListCost");
        let start = micros(midnight(t.start));
        let end = micros(midnight(t.as_of));

        let mut covered: BTreeMap<(&str, i64), f64> = BTreeMap::new();
        let mut commit_cost: BTreeMap<(&str, i64), Decimal> = BTreeMap::new();
        let mut corrections = 0;
        for i in 0..n {
            assert!(
                cpe[i] > cps[i],
                "row {i}: ChargePeriodEnd <= ChargePeriodStart"
            );
            assert!(
                bpe[i] > bps[i],
                "row {i}: BillingPeriodEnd <= BillingPeriodStart"
            );
            assert!(billed[i].is_some() && effective[i].is_some() && list[i].is_some());
            let cat = category[i].as_deref().unwrap();
            let b = billed[i].unwrap();
            let e = effective[i].unwrap();
            if cat == "Usage" && class[i].is_none() {
                assert_eq!(cpe[i] - cps[i], HOUR_MICROS, "row {i}: usage is hourly");
                assert_eq!(cps[i] % HOUR_MICROS, 0, "row {i}: on the hour");
                assert!(
                    cps[i] >= start && cpe[i] <= end,
                    "row {i}: inside the window"
                );
                assert!(
                    bps[i] <= cps[i] && cpe[i] <= bpe[i],
                    "row {i}: in its billing month"
                );
                assert!(
                    tags[i]
                        .as_deref()
                        .is_none_or(|s| s.starts_with('{') && s.ends_with('}'))
                );
            }
            match status[i].as_deref() {
                Some("Used") => {
                    assert_eq!(pricing_category[i].as_deref(), Some("Committed"), "row {i}");
                    assert!(b.is_zero(), "row {i}: covered usage is not billed");
                    let id = cd_id[i].as_deref().unwrap();
                    *covered.entry((id, cps[i])).or_default() += consumed[i].unwrap();
                    *commit_cost.entry((id, cps[i])).or_default() += e;
                }
                Some("Unused") => {
                    assert_eq!(consumed[i], None, "row {i}: Unused has no consumption");
                    assert_eq!(pricing_category[i].as_deref(), Some("Committed"), "row {i}");
                    assert!(b.is_zero() && e > Decimal::ZERO, "row {i}");
                    let id = cd_id[i].as_deref().unwrap();
                    *commit_cost.entry((id, cps[i])).or_default() += e;
                }
                Some(other) => panic!("unexpected status {other}"),
                None => {}
            }
            match cat {
                "Purchase" => {
                    assert!(b > Decimal::ZERO && e.is_zero(), "row {i}: purchase");
                    assert!(cd_id[i].is_some() && status[i].is_none());
                }
                "Tax" => {
                    assert!(pricing_qty[i].is_none() && pricing_category[i].is_none());
                    assert_eq!(b, e);
                }
                "Credit" => assert!(b < Decimal::ZERO && e < Decimal::ZERO),
                "Usage" => {
                    let svc = service[i].as_deref().unwrap();
                    if (svc == Svc::Ec2.name() || svc == Svc::Rds.name()) && status[i].is_none() {
                        let d = details[i].as_deref().unwrap();
                        assert!(d.contains("\"InstanceType\":\""), "row {i}: {d}");
                    }
                }
                other => panic!("unexpected ChargeCategory {other}"),
            }
            if class[i].as_deref() == Some("Correction") {
                corrections += 1;
                assert!(consumed[i].unwrap() < 0.0 && b < Decimal::ZERO);
                assert!(bps[i] > cps[i], "a correction is billed in a later month");
                let expected = t.correction.as_ref().unwrap();
                assert_eq!(cps[i], micros(expected.charge_period_start));
                assert_eq!(bps[i], micros(expected.billing_period_start));
            }
        }
        assert_eq!(corrections, usize::from(t.correction.is_some()));

        for c in &t.commitments {
            let first = micros(c.start).max(start);
            let last = micros(c.end).min(end);
            let mut hour = first;
            while hour < last {
                if c.kind == "Reserved Instance" {
                    let used = covered.get(&(c.id.as_str(), hour)).copied().unwrap_or(0.0);
                    assert!(used <= c.quantity, "{} over-covered at {hour}", c.name);
                }
                let cost = commit_cost.get(&(c.id.as_str(), hour)).copied();
                assert_eq!(cost, Some(c.hourly_rate), "{} at {hour}", c.name);
                hour += HOUR_MICROS;
            }
            // No commitment rows outside the term.
            assert!(
                commit_cost
                    .keys()
                    .filter(|(id, _)| *id == c.id)
                    .all(|(_, h)| *h >= micros(c.start) && *h < micros(c.end))
            );
        }
    }

    #[test]
    fn invariants_hold_over_commitment_changes() {
        // Oct 2024 - Feb 2025: two RIs, the 1y RI expires on 2025-02-01, the first SP starts
        // on 2025-01-01; scale 2 exercises shared commitments across business units.
        check_invariants(&cfg(5, 2));
    }

    #[test]
    fn invariants_hold_at_a_mid_month_start() {
        let c = SynthConfig {
            start: NaiveDate::from_ymd_opt(2025, 11, 17).unwrap(),
            months: 3,
            seed: 3,
            scale: 1,
        };
        check_invariants(&c);
    }

    #[test]
    fn demo_truth_matches_the_story() {
        let t = truth(&SynthConfig::default());
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(t.start, d(2024, 10, 1));
        assert_eq!(t.as_of, d(2026, 10, 1));
        let as_of = midnight(t.as_of);
        let quarter_after = midnight(d(2027, 1, 1));
        assert!(
            t.commitments
                .iter()
                .any(|c| c.end > as_of && c.end <= quarter_after),
            "a commitment must expire within the quarter after the data"
        );
        assert!(
            t.commitments
                .iter()
                .any(|c| c.end > midnight(t.start) && c.end < as_of),
            "a commitment must expire inside the window"
        );
        assert!(
            t.commitments
                .iter()
                .any(|c| c.kind == "Reserved Instance" && c.category == "Usage")
        );
        assert!(
            t.commitments
                .iter()
                .any(|c| c.kind == "Savings Plan" && c.category == "Spend")
        );
        assert!((3..=5).contains(&t.anomalies.len()));
        assert!(
            t.anomalies
                .iter()
                .all(|a| a.start >= midnight(t.start) && a.end <= as_of)
        );
        assert_eq!(t.launch.at.date(), d(2025, 12, 9));
        assert_eq!(t.migration.start.date(), d(2026, 4, 1));
        assert_eq!(t.migration.end.date(), d(2026, 5, 27));
    }

    #[test]
    fn expiring_commitment_is_in_the_data_until_the_end() {
        let c = cfg(2, 1);
        let t = truth(&c);
        let df = generate(&c).unwrap();
        let as_of = midnight(t.as_of);
        let expiring: Vec<&SynthCommitment> = t
            .commitments
            .iter()
            .filter(|x| x.end > as_of && x.end <= midnight(add_months(t.as_of, 3)))
            .collect();
        assert!(!expiring.is_empty());
        let ids = strs(&df, "CommitmentDiscountId");
        let cps = times(&df, "ChargePeriodStart");
        let last_hour = micros(as_of) - HOUR_MICROS;
        for x in expiring {
            assert!(
                ids.iter()
                    .zip(&cps)
                    .any(|(id, t)| id.as_deref() == Some(x.id.as_str()) && *t == last_hour),
                "{} has rows in the last hour",
                x.name
            );
        }
    }

    #[test]
    fn rows_grow_with_scale() {
        let one = generate(&cfg(1, 1)).unwrap().height();
        let four = generate(&cfg(1, 4)).unwrap().height();
        assert!(four > 3 * one && four < 4 * one, "{one} -> {four}");
    }

    #[test]
    fn invalid_configs_are_rejected() {
        for bad in [cfg(0, 1), cfg(1, 0), cfg(MAX_MONTHS + 1, 1)] {
            assert!(matches!(generate(&bad), Err(SynthError::InvalidConfig(_))));
        }
        // truth() never panics, it clamps.
        assert_eq!(truth(&cfg(0, 0)).as_of, add_months(DEMO_START, 1));
    }

    #[test]
    fn prng_is_stable() {
        // Guards against accidental changes of the generator (the demo file depends on it).
        let mut r = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        let mean = (0..20_000).map(|_| r.normal()).sum::<f64>() / 20_000.0;
        assert!(mean.abs() < 0.05);
        assert_eq!(sku_code("x").len(), 16);
    }
}
