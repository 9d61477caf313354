//! The static company model of *Northwind Analytics*: the provider and its regions, services,
//! instance types and on-demand prices, the demand profiles (daily, weekly, yearly and holiday
//! seasonality), the member accounts of each business unit and the workloads that consume.

use crate::rng::SplitMix64;
use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
use rust_decimal::Decimal;
use std::f64::consts::TAU;

pub(super) const PROVIDER: &str = "AWS";
pub(super) const PUBLISHER: &str = "Amazon Web Services, Inc.";
pub(super) const CURRENCY: &str = "USD";
pub(super) const BILLING_ACCOUNT_TYPE: &str = "Management Account";
pub(super) const SUB_ACCOUNT_TYPE: &str = "Member Account";

pub(super) struct RegionDef {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    /// Prefix of AWS usage types (`USE1-BoxUsage:...`).
    pub(super) usage_prefix: &'static str,
    /// Offset of local business time from UTC, hours (DST ignored).
    pub(super) utc_offset: i64,
    /// Availability zone used for single-AZ databases.
    pub(super) db_zone: &'static str,
}

pub(super) const USE1: usize = 0;
pub(super) const EUW1: usize = 1;

pub(super) const REGIONS: [RegionDef; 2] = [
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
pub(super) enum Svc {
    Ec2,
    Rds,
    Lambda,
    S3,
    DataTransfer,
    SavingsPlans,
}

impl Svc {
    pub(super) const ALL: [Svc; 6] = [
        Svc::Ec2,
        Svc::Rds,
        Svc::Lambda,
        Svc::S3,
        Svc::DataTransfer,
        Svc::SavingsPlans,
    ];

    pub(super) fn index(self) -> usize {
        match self {
            Svc::Ec2 => 0,
            Svc::Rds => 1,
            Svc::Lambda => 2,
            Svc::S3 => 3,
            Svc::DataTransfer => 4,
            Svc::SavingsPlans => 5,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Svc::Ec2 => "Amazon Elastic Compute Cloud",
            Svc::Rds => "Amazon Relational Database Service",
            Svc::Lambda => "AWS Lambda",
            Svc::S3 => "Amazon Simple Storage Service",
            Svc::DataTransfer => "AWS Data Transfer",
            Svc::SavingsPlans => "Savings Plans for AWS Compute usage",
        }
    }

    pub(super) fn category(self) -> &'static str {
        match self {
            Svc::Ec2 | Svc::Lambda | Svc::SavingsPlans => "Compute",
            Svc::Rds => "Databases",
            Svc::S3 => "Storage",
            Svc::DataTransfer => "Networking",
        }
    }

    pub(super) fn subcategory(self) -> &'static str {
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
pub(super) struct Lit(pub(super) i64, pub(super) u32);

impl Lit {
    pub(super) fn dec(self) -> Decimal {
        Decimal::new(self.0, self.1)
    }
}

pub(super) struct InstanceDef {
    pub(super) name: &'static str,
    pub(super) family: &'static str,
    pub(super) svc: Svc,
    /// Capacity in xlarge-equivalents (what demand is measured in).
    pub(super) size: f64,
    pub(super) vcpu: u32,
    pub(super) memory_gib: u32,
    /// On-demand USD per hour in us-east-1 and eu-west-1.
    pub(super) on_demand: [Lit; 2],
}

const M6I_LARGE: usize = 0;
pub(super) const M6I_XLARGE: usize = 1;
const M6I_2XLARGE: usize = 2;
const C6I_XLARGE: usize = 3;
const C6I_2XLARGE: usize = 4;
const C6I_4XLARGE: usize = 5;
pub(super) const DB_R6G_XLARGE: usize = 6;
const DB_R6G_2XLARGE: usize = 7;

pub(super) const INSTANCES: [InstanceDef; 8] = [
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
pub(super) const LAMBDA_GB_SECOND: Lit = Lit(166_667, 10);
/// S3 Standard storage, 0.023 USD per GB-month expressed per GB-hour (0.023 / 730).
pub(super) const S3_GB_HOUR: Lit = Lit(315_068, 10);
/// Data transfer out to the internet per GB.
pub(super) const DT_OUT_GB: Lit = Lit(9, 2);
/// Sales tax on each service's monthly billed cost.
pub(super) const TAX_RATE: Lit = Lit(625, 4);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Profile {
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
    pub(super) const ALL: [Profile; 5] = [
        Profile::Web,
        Profile::Batch,
        Profile::Steady,
        Profile::Serverless,
        Profile::Storage,
    ];

    pub(super) fn index(self) -> usize {
        match self {
            Profile::Web => 0,
            Profile::Batch => 1,
            Profile::Steady => 2,
            Profile::Serverless => 3,
            Profile::Storage => 4,
        }
    }

    pub(super) fn daily_noise_only(self) -> bool {
        matches!(self, Profile::Steady | Profile::Storage)
    }

    /// Seasonal multiplier at local time `t` (hour of day, weekday, day of year, holidays).
    pub(super) fn season(self, t: NaiveDateTime) -> f64 {
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
pub(super) enum Acct {
    Prod,
    Staging,
    Data,
}

impl Acct {
    pub(super) fn index(self) -> usize {
        match self {
            Acct::Prod => 0,
            Acct::Staging => 1,
            Acct::Data => 2,
        }
    }

    pub(super) fn env(self) -> &'static str {
        match self {
            Acct::Prod => "prod",
            Acct::Staging => "staging",
            Acct::Data => "data",
        }
    }
}

/// What a workload consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Product {
    /// Instance-hours of an instance type (index into [`INSTANCES`]).
    Instance(usize),
    LambdaGbSeconds,
    S3Storage,
    DataTransferOut,
}

pub(super) struct WorkloadDef {
    pub(super) app: &'static str,
    pub(super) team: &'static str,
    pub(super) region: usize,
    pub(super) acct: Acct,
    pub(super) profile: Profile,
    pub(super) product: Product,
    /// For instance workloads that take part in the migration: the new instance type.
    pub(super) migrate_to: Option<usize>,
    /// Demand at the start in xlarge-equivalents (instances), GB-seconds/h, GB or GB/h.
    pub(super) base: f64,
    /// Compound annual growth rate.
    pub(super) growth: f64,
    /// Stationary standard deviation of the log-scale AR(1) noise.
    pub(super) noise: f64,
    /// Minimum quantity of the primary lane (running instances never drop to zero).
    pub(super) min: f64,
    /// Whether the extra business units of `scale` > 1 get their own copy (shared data
    /// platform resources exist once).
    pub(super) replicate: bool,
}

pub(super) const WORKLOADS: [WorkloadDef; 14] = [
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
pub(super) const AR_PHI: f64 = 0.9;

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

/// Member account id of `unit` (0 = the demo company, 1.. = extra business units).
pub(super) fn account_id(unit: u32, acct: Acct) -> String {
    const BASE: [&str; 3] = ["731904826153", "659281047362", "318475620947"];
    if unit == 0 {
        BASE[acct.index()].to_string()
    } else {
        let s = u64::from(unit) * 3 + acct.index() as u64;
        format!(
            "{:012}",
            100_000_000_000 + SplitMix64::new(s).next_u64() % 900_000_000_000
        )
    }
}

pub(super) fn account_name(unit: u32, acct: Acct) -> String {
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
