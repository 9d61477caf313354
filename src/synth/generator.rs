//! The hour-by-hour run: demand of every workload (growth, seasonality, AR(1) noise, the
//! launch, the migration, anomalies), its allocation to commitments and on-demand, unused
//! commitment rows, and at each month end the purchase, credit, correction and tax rows.

use chrono::{Datelike, NaiveDate, TimeDelta, Timelike};
use polars::prelude::IdxSize;
use rust_decimal::Decimal;

use super::company::{AR_PHI, INSTANCES, Product, Profile, REGIONS, Svc, TAX_RATE, WORKLOADS};
use super::sink::{
    Interner, NSTR, NULL, S_CHARGE_CLASS, S_CHARGE_DESCRIPTION, Sink, Tb, Template, Vals, f64_of,
};
use super::timeline::{HOUR_MICROS, Plan, add_months, first_of_month, micros, midnight};
use super::{Rng, SynthError, fnv1a};

/// One priced stream of usage: a workload on one instance type (or product).
pub(super) struct Lane {
    pub(super) unit: u32,
    pub(super) region: usize,
    pub(super) svc: Svc,
    /// Instance type, for instance lanes.
    pub(super) instance: Option<usize>,
    /// On-demand unit price.
    pub(super) price: Decimal,
    /// Decimal places of the quantity (0 = whole units).
    pub(super) qty_dp: u32,
    pub(super) od: Template,
    /// Per commitment (plan order): covered-row template, if the commitment applies.
    pub(super) covered: Vec<Option<Template>>,
}

pub(super) struct WorkloadState {
    pub(super) workload: usize,
    pub(super) rng: Rng,
    pub(super) ar: f64,
    pub(super) innovation_sd: f64,
    pub(super) base: f64,
    pub(super) growth_ln: f64,
    /// Lane of the workload's own instance type or product.
    pub(super) primary: usize,
    /// For migrating workloads, the lane of the new instance type.
    pub(super) secondary: Option<usize>,
}

#[derive(Clone, Copy)]
struct Seg {
    commit: usize,
    pub(super) qty: Decimal,
    pub(super) effective: Decimal,
}

pub(super) struct CommitRuntime {
    /// Lanes the commitment can cover, in application order, with the commitment's rate for
    /// each (RI: amortised rate per unit; SP: discounted unit price).
    pub(super) lanes: Vec<(usize, Decimal)>,
    pub(super) unused: Template,
    pub(super) purchase_once: Template,
    pub(super) purchase_recurring: Template,
    /// On-demand unit price of the covered type (RI) or 1 (SP), for Unused rows' list cost.
    pub(super) unused_list_unit: Decimal,
}

struct PendingCorrection {
    pub(super) lane: usize,
    pub(super) qty: Decimal,
    pub(super) hour: i64,
}

pub(super) struct Generator<'p> {
    pub(super) plan: &'p Plan,
    pub(super) interner: Interner,
    pub(super) sink: Sink,
    pub(super) lanes: Vec<Lane>,
    pub(super) workloads: Vec<WorkloadState>,
    pub(super) commits: Vec<CommitRuntime>,
    pub(super) tax: [Template; 6],
    pub(super) credit: Vec<Template>,
}

impl<'p> Generator<'p> {
    pub(super) fn new(plan: &'p Plan) -> Self {
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

    /// Runs the whole window; `on_month` is called after each billing month's rows (hourly
    /// rows, then purchases, credits, the correction and taxes) are in the sink.
    pub(super) fn run<F>(&mut self, mut on_month: F) -> Result<(), SynthError>
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
