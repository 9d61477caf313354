//! The plan of one config: every date and decision derived from [`SynthConfig`] before a row
//! is generated — the window, the commitments (Reserved Instances and Savings Plans, their
//! terms and payments), the placed anomalies, the launch, the migration, the credits and the
//! corrected hour — and the [`SynthTruth`] it implies.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::company::{
    Acct, CURRENCY, DB_R6G_XLARGE, EUW1, INSTANCES, Lit, M6I_XLARGE, REGIONS, Svc, TAX_RATE, USE1,
    account_id,
};
use super::{
    BILLING_ACCOUNT_ID, Rng, SynthAnomaly, SynthCommitment, SynthConfig, SynthCorrection,
    SynthError, SynthLaunch, SynthMigration, SynthTruth, mix, uuid_like,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upfront {
    All,
    Partial,
    No,
}

impl Upfront {
    pub(super) fn label(self) -> &'static str {
        match self {
            Upfront::All => "All Upfront",
            Upfront::Partial => "Partial Upfront",
            Upfront::No => "No Upfront",
        }
    }

    /// Fraction of the amortised rate paid upfront.
    pub(super) fn upfront_fraction(self) -> Decimal {
        match self {
            Upfront::All => Decimal::ONE,
            Upfront::Partial => Decimal::new(5, 1),
            Upfront::No => Decimal::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommitKind {
    /// Covers exactly one instance type in one region (no size flexibility).
    Ri { instance: usize, region: usize },
    /// Compute Savings Plan: discount on EC2 (any region) and on Lambda.
    Sp {
        ec2_discount: Lit,
        lambda_discount: Lit,
    },
}

#[derive(Debug, Clone)]
pub(super) struct CommitDef {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: CommitKind,
    pub(super) payment: Upfront,
    pub(super) term_years: u32,
    pub(super) start: NaiveDateTime,
    pub(super) end: NaiveDateTime,
    /// Instances (RI) or USD per hour (SP).
    pub(super) qty: Decimal,
    /// Amortised USD per unit of `qty` per hour (RI: per instance-hour; SP: 1).
    pub(super) eff_rate: Decimal,
    /// AWS offering code used in `SkuPriceId`.
    pub(super) offer_code: &'static str,
}

impl CommitDef {
    pub(super) fn svc(&self) -> Svc {
        match self.kind {
            CommitKind::Ri { instance, .. } => INSTANCES[instance].svc,
            CommitKind::Sp { .. } => Svc::SavingsPlans,
        }
    }

    pub(super) fn term_hours(&self) -> i64 {
        (self.end - self.start).num_hours()
    }

    pub(super) fn hourly_rate(&self) -> Decimal {
        self.qty * self.eff_rate
    }

    pub(super) fn is_ri(&self) -> bool {
        matches!(self.kind, CommitKind::Ri { .. })
    }

    pub(super) fn unit(&self) -> &'static str {
        if self.is_ri() { "Hours" } else { "USD" }
    }

    pub(super) fn pool(&self) -> String {
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

    pub(super) fn active(&self, t: NaiveDateTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// An anomaly before placement: where in the window (fraction) and for how long.
struct AnomalySpec {
    pub(super) at: f64,
    pub(super) hours: i64,
    pub(super) svc: Svc,
    pub(super) region: usize,
    pub(super) family: Option<&'static str>,
    pub(super) factor: f64,
    pub(super) description: &'static str,
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
pub(super) struct AnomalyDef {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) svc: Svc,
    pub(super) region: usize,
    pub(super) family: Option<&'static str>,
    pub(super) factor: f64,
    pub(super) description: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct CreditDef {
    /// Index of the calendar month (0 = month of the start) the credit is billed in.
    pub(super) month: u32,
    pub(super) svc: Svc,
    pub(super) amount: Decimal,
    pub(super) description: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) start: NaiveDateTime,
    pub(super) end: NaiveDateTime,
    pub(super) hours: i64,
    pub(super) scale: u32,
    pub(super) seed: u64,
    /// In allocation order: RIs by start, then Savings Plans by start.
    pub(super) commits: Vec<CommitDef>,
    pub(super) anomalies: Vec<AnomalyDef>,
    pub(super) launch_hour: i64,
    pub(super) launch_region: usize,
    pub(super) launch_uplift: f64,
    migration_start: i64,
    migration_end: i64,
    migration_share: f64,
    pub(super) migration_efficiency: f64,
    pub(super) credits: Vec<CreditDef>,
    /// Hour index of the corrected usage.
    pub(super) correction_hour: Option<i64>,
}

pub(super) fn first_of_month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d)
}

pub(super) fn add_months(d: NaiveDate, months: i64) -> NaiveDate {
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

pub(super) fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

pub(super) fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

pub(super) const HOUR_MICROS: i64 = 3_600_000_000;

impl Plan {
    pub(super) fn new(cfg: &SynthConfig) -> Result<Plan, SynthError> {
        cfg.validate()?;
        Ok(Plan::build(cfg))
    }

    /// Builds the plan of an already range-checked (or clamped) config.
    pub(super) fn build(cfg: &SynthConfig) -> Plan {
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

    pub(super) fn time(&self, hour: i64) -> NaiveDateTime {
        self.start + TimeDelta::hours(hour)
    }

    /// Fraction of the migrating load already moved at `hour` (linear ramp).
    pub(super) fn migrated(&self, hour: i64) -> f64 {
        if hour < self.migration_start {
            0.0
        } else if hour >= self.migration_end {
            self.migration_share
        } else {
            self.migration_share * (hour - self.migration_start) as f64
                / (self.migration_end - self.migration_start) as f64
        }
    }

    pub(super) fn truth(&self) -> SynthTruth {
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
