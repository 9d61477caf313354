//! The generator's setup: one priced lane per workload, business unit and instance type (or
//! product) with its on-demand and covered-row templates, the runtime state and row templates
//! of each commitment (usage, unused and purchase rows), and the monthly tax and credit
//! templates.

use rust_decimal::Decimal;

use super::company::{
    AR_PHI, Acct, DT_OUT_GB, INSTANCES, LAMBDA_GB_SECOND, Product, REGIONS, S3_GB_HOUR,
    SUB_ACCOUNT_TYPE, Svc, TAX_RATE, WORKLOADS, WorkloadDef, account_id, account_name,
};
use super::generator::{CommitRuntime, Generator, Lane, WorkloadState};
use super::sink::{
    Interner, S_AZ, S_CD_CATEGORY, S_CD_ID, S_CD_NAME, S_CD_STATUS, S_CD_TYPE, S_CD_UNIT,
    S_CHARGE_CATEGORY, S_CHARGE_DESCRIPTION, S_CHARGE_FREQUENCY, S_CONSUMED_UNIT,
    S_PRICING_CATEGORY, S_PRICING_UNIT, S_REGION_ID, S_REGION_NAME, S_RESOURCE_ID, S_RESOURCE_NAME,
    S_RESOURCE_TYPE, S_SERVICE_CATEGORY, S_SERVICE_NAME, S_SERVICE_SUBCATEGORY, S_SKU_ID,
    S_SKU_METER, S_SKU_PRICE_DETAILS, S_SKU_PRICE_ID, S_SUB_ACCOUNT_ID, S_SUB_ACCOUNT_NAME,
    S_SUB_ACCOUNT_TYPE, S_TAGS, S_X_OPERATION, S_X_USAGE_TYPE, Tb,
};
use super::timeline::{CommitDef, CommitKind};
use super::{MONEY_SCALE, Rng, mix, sku_code, uuid_like};

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

impl Generator<'_> {
    pub(super) fn build_workloads(&mut self) {
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

    pub(super) fn build_commitments(&mut self) {
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

    pub(super) fn build_month_templates(&mut self) {
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
