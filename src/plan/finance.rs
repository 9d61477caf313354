//! Evaluation of levels: expected cost, risk figures and the exact finance summary.

use rust_decimal::prelude::*;

use super::optimizer::{PoolProblem, RiskSteps};
use super::types::{
    Demand, FinanceParams, HOURS_PER_MONTH, Levels, MonthlyFlow, OfferChoice, PlanError, PoolPlan,
    Pricing, PurchaseFinance, Risk, TermKind,
};
use crate::money::{Money, Rate, quantity_to_decimal};

/// Options of [`optimize`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanOptions {
    /// Risk setting.
    pub risk: Risk,
    /// Round levels to whole units (RI-style pools) with [`PoolProblem::round_to_units`].
    pub whole_units: bool,
    /// Finance parameters.
    pub finance: FinanceParams,
}

/// Plans one pool: optimal (optionally whole-unit) levels under `opts.risk`, evaluated.
pub fn optimize(
    demand: &Demand,
    existing: &[f64],
    pricing: &Pricing,
    opts: &PlanOptions,
) -> Result<PoolPlan, PlanError> {
    let pb = PoolProblem::new(demand, existing, pricing)?;
    let rs = pb.risk_steps(opts.risk)?;
    let mut levels = pb.levels_from_steps(&rs)?;
    if opts.whole_units {
        levels = pb.round_with(&rs, &levels)?;
    }
    pb.evaluate_with(&rs, opts.risk, &levels, &opts.finance)
}

/// The hindsight optimum: the optimizer run on the realised residual future as one path
/// (Balanced risk). *Savings captured* = realised savings of a plan ÷ this plan's savings.
pub fn hindsight(
    actuals: &[f64],
    existing: &[f64],
    pricing: &Pricing,
    whole_units: bool,
    finance: &FinanceParams,
) -> Result<PoolPlan, PlanError> {
    let opts = PlanOptions {
        risk: Risk::Balanced,
        whole_units,
        finance: finance.clone(),
    };
    optimize(&Demand::single(actuals.to_vec()), existing, pricing, &opts)
}

fn ratio(num: Money, den: Money) -> Option<Decimal> {
    if den.is_zero() {
        return None;
    }
    num.amount()
        .checked_div(den.amount())
        .map(|r| r.round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven))
}

/// One purchase as a layer `[lo, lo + w)` of the residual over hours `[h0, h1)`; with `base`
/// the layer's floor moves per hour (`base[t]`, absolute hours) instead of staying at `lo`.
pub(crate) struct Layer<'a> {
    pub(crate) offer: &'a OfferChoice,
    pub(crate) kind: TermKind,
    pub(crate) lo: f64,
    pub(crate) w: f64,
    pub(crate) h0: usize,
    pub(crate) h1: usize,
    pub(crate) base: Option<&'a [f64]>,
}

impl PoolProblem {
    /// Evaluates any `levels`: expected and on-demand cost, coverage, path percentiles and
    /// the finance summary of each purchase. `risk` only selects which risk-adjusted
    /// objective is reported in [`PoolPlan::risk_objective`].
    pub fn evaluate(
        &self,
        risk: Risk,
        levels: &Levels,
        finance: &FinanceParams,
    ) -> Result<PoolPlan, PlanError> {
        let rs = self.risk_steps(risk)?;
        self.evaluate_with(&rs, risk, levels, finance)
    }

    pub(crate) fn evaluate_with(
        &self,
        rs: &RiskSteps,
        risk: Risk,
        levels: &Levels,
        finance: &FinanceParams,
    ) -> Result<PoolPlan, PlanError> {
        self.check_levels(levels)?;
        let cur = self.currency;
        let p = Rate::new(Money::new(self.p, cur));
        let s_n = self.paths;
        let cov: Vec<f64> = (0..self.blocks)
            .map(|k| self.coverage_of_block(levels, k))
            .collect();
        let mut od = vec![0.0; s_n];
        let mut over = vec![0.0; s_n];
        for s in 0..s_n {
            let row = &self.residual[s * self.hours..(s + 1) * self.hours];
            for (k, &c) in cov.iter().enumerate() {
                let (from, to) = self.block_range(k);
                for &r in &row[from..to] {
                    od[s] += r;
                    over[s] += (r - c).max(0.0);
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / s_n as f64;
        let commit = self.commitment_total(levels)?;
        let expected_cost = commit.checked_add(p.cost_of(mean(&over))?)?.round();
        let on_demand_cost = p.cost_of(mean(&od))?.round();
        let expected_savings = on_demand_cost.checked_sub(expected_cost)?;
        let total_od = mean(&od);
        let coverage = if total_od > 0.0 {
            (total_od - mean(&over)) / total_od
        } else {
            0.0
        };
        let mut order: Vec<usize> = (0..s_n).collect();
        order.sort_by(|&a, &b| od[a].total_cmp(&od[b]).then(a.cmp(&b)));
        let path_savings = |q: f64| -> Result<Money, PlanError> {
            let s = order[(q * (s_n - 1) as f64).round() as usize];
            let cost = commit.checked_add(p.cost_of(over[s])?)?;
            Ok(p.cost_of(od[s])?.checked_sub(cost)?.round())
        };
        let mut purchases = Vec::new();
        for layer in self.layers(levels) {
            purchases.push(self.purchase_finance(&layer, finance)?);
        }
        Ok(PoolPlan {
            risk,
            three_year: levels.three_year,
            one_year: levels.one_year.clone(),
            long_offer: self.long.as_ref().map(|o| o.id.clone()),
            short_offer: self.short.as_ref().map(|o| o.id.clone()),
            expected_cost,
            on_demand_cost,
            expected_savings,
            risk_objective: self.objective_with(rs, levels)?,
            coverage,
            savings_p10: path_savings(0.1)?,
            savings_p50: path_savings(0.5)?,
            savings_p90: path_savings(0.9)?,
            purchases,
        })
    }

    /// Full-term commitment cost at effective rates (not rounded).
    fn commitment_total(&self, levels: &Levels) -> Result<Money, PlanError> {
        let mut total = Money::zero(self.currency);
        for l in self.layers(levels) {
            let o = l.offer;
            let r = Rate::new(Money::new(o.effective_hourly, self.currency));
            total = total.checked_add(r.cost_of(l.w * o.term_hours as f64)?)?;
        }
        Ok(total)
    }

    fn layers(&self, levels: &Levels) -> Vec<Layer<'_>> {
        let mut out = Vec::new();
        if let Some(lo) = &self.long
            && levels.three_year > 0.0
        {
            out.push(Layer {
                offer: lo,
                kind: TermKind::Long,
                lo: 0.0,
                w: levels.three_year,
                h0: 0,
                h1: lo.term_hours.min(self.hours),
                base: None,
            });
        }
        if let Some(sh) = &self.short {
            for (k, &x) in levels.one_year.iter().enumerate() {
                if x > 0.0 {
                    let (h0, h1) = self.block_range(k);
                    out.push(Layer {
                        offer: sh,
                        kind: TermKind::Short { year: k },
                        lo: if k < self.inside {
                            levels.three_year
                        } else {
                            0.0
                        },
                        w: x,
                        h0,
                        h1,
                        base: None,
                    });
                }
            }
        }
        out
    }

    pub(crate) fn purchase_finance(
        &self,
        l: &Layer<'_>,
        fin: &FinanceParams,
    ) -> Result<PurchaseFinance, PlanError> {
        let cur = self.currency;
        let o = l.offer;
        let term = o.term_hours;
        let s_n = self.paths;
        let p = Rate::new(Money::new(self.p, cur));
        let months = term.div_ceil(HOURS_PER_MONTH);
        let hour_w: Vec<Decimal> = (0..months)
            .map(|m| Decimal::from((term - m * HOURS_PER_MONTH).min(HOURS_PER_MONTH) as u64))
            .collect();
        // Usage per path and per month (mean over paths).
        let mut used = vec![0.0; s_n];
        let mut used_month = vec![0.0; months];
        let mut window_od = 0.0;
        for (s, u) in used.iter_mut().enumerate() {
            let row = &self.residual[s * self.hours..(s + 1) * self.hours];
            for (m, um) in used_month.iter_mut().enumerate() {
                let from = l.h0 + m * HOURS_PER_MONTH;
                let to = (from + HOURS_PER_MONTH).min(l.h1);
                if from >= to {
                    break;
                }
                let mut acc = 0.0;
                for (i, &r) in row[from..to].iter().enumerate() {
                    let lo = l.base.map_or(l.lo, |b| b[from + i]);
                    acc += (r - lo).clamp(0.0, l.w);
                    window_od += r;
                }
                *u += acc;
                *um += acc / s_n as f64;
            }
        }
        window_od /= s_n as f64;
        let committed = l.w * term as f64;
        let mean_used = used.iter().sum::<f64>() / s_n as f64;
        let break_even_share = (o.effective_hourly / self.p).to_f64().unwrap_or(1.0);
        let below = used
            .iter()
            .filter(|&&u| u < break_even_share * committed)
            .count();

        let upfront_total = Rate::new(Money::new(o.upfront_per_unit, cur))
            .cost_of(l.w)?
            .round();
        let recurring = Rate::new(Money::new(o.recurring_hourly, cur));
        let recurring_total = recurring.cost_of(committed)?.round();
        let recurring_monthly = recurring.cost_of(l.w * HOURS_PER_MONTH as f64)?.round();
        let commitment_total = upfront_total.checked_add(recurring_total)?;
        let expected_usage_value = p.cost_of(mean_used)?.round();
        let expected_savings = expected_usage_value.checked_sub(commitment_total)?;
        let window_value = p.cost_of(window_od)?.round();

        let rec_parts = recurring_total.allocate(&hour_w)?;
        let amort_parts = commitment_total.allocate(&hour_w)?;
        let usage_w: Vec<Decimal> = used_month
            .iter()
            .map(|&u| quantity_to_decimal(u))
            .collect::<Result<_, _>>()?;
        let usage_parts = if usage_w.iter().any(|w| !w.is_zero()) {
            expected_usage_value.allocate(&usage_w)?
        } else {
            vec![Money::zero(cur); months]
        };

        let monthly_rate = fin
            .annual_cost_of_capital
            .checked_div(Decimal::from(12))
            .ok_or(PlanError::Overflow("monthly rate"))?;
        let factor = Decimal::ONE
            .checked_add(monthly_rate)
            .ok_or(PlanError::Overflow("discount factor"))?;
        if factor <= Decimal::ZERO {
            return Err(PlanError::Overflow("discount factor <= 0"));
        }
        let mut npv = -upfront_total.amount();
        let mut disc = Decimal::ONE;
        let mut cum = Decimal::ZERO;
        let mut break_even_month = None;
        let mut monthly = Vec::with_capacity(months);
        for m in 0..months {
            let cash = if m == 0 {
                rec_parts[m].checked_add(upfront_total)?
            } else {
                rec_parts[m]
            };
            cum += usage_parts[m].amount() - cash.amount();
            if break_even_month.is_none() && cum >= Decimal::ZERO {
                break_even_month = Some(m + 1);
            }
            disc = disc
                .checked_div(factor)
                .ok_or(PlanError::Overflow("discounting"))?;
            let net = usage_parts[m].amount() - rec_parts[m].amount();
            npv = net
                .checked_mul(disc)
                .and_then(|x| x.checked_add(npv))
                .ok_or(PlanError::Overflow("npv"))?;
            let start_hour = l.h0 + m * HOURS_PER_MONTH;
            monthly.push(MonthlyFlow {
                month: m + 1,
                start_hour,
                start: fin.start.and_then(|t| {
                    t.checked_add_signed(chrono::TimeDelta::hours(start_hour as i64))
                }),
                cash_outlay: cash,
                amortised_cost: amort_parts[m],
                expected_usage_value: usage_parts[m],
            });
        }
        Ok(PurchaseFinance {
            offer_id: o.id.clone(),
            kind: l.kind,
            start_hour: l.h0,
            term_hours: term,
            quantity: l.w,
            layer_from: l.lo,
            upfront_total,
            recurring_monthly,
            effective_hourly: Money::new(o.effective_hourly, cur),
            commitment_total,
            expected_usage_value,
            expected_savings,
            savings_pct: ratio(expected_savings, window_value),
            esr: ratio(expected_savings, expected_usage_value),
            roi: ratio(expected_savings, commitment_total),
            break_even_month,
            npv: Money::new(npv, cur).round(),
            utilisation: if committed > 0.0 {
                mean_used / committed
            } else {
                0.0
            },
            prob_below_break_even: below as f64 / s_n as f64,
            monthly,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn finance_of_a_fully_used_one_year_purchase() {
        // 1 unit always used, 1y all-upfront-ish: upfront 100 + 0.01/h; p = 0.05/h.
        let pricing = Pricing {
            currency: Currency::USD,
            on_demand_hourly: d("0.05"),
            offers: vec![OfferChoice {
                id: "1y".into(),
                term_hours: 8760,
                effective_hourly: d("100") / d("8760") + d("0.01"),
                upfront_per_unit: d("100"),
                recurring_hourly: d("0.01"),
            }],
        };
        let plan = optimize(
            &Demand::single(vec![1.0; 8760]),
            &[],
            &pricing,
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.three_year, 1.0);
        let f = &plan.purchases[0];
        assert_eq!(f.upfront_total.amount(), d("100"));
        assert_eq!(f.recurring_monthly.amount(), d("7.30"));
        assert_eq!(f.commitment_total.amount(), d("187.60"));
        assert_eq!(f.expected_usage_value.amount(), d("438.00"));
        assert_eq!(f.expected_savings.amount(), d("250.40"));
        assert_eq!(f.monthly.len(), 12);
        let sum = |g: fn(&MonthlyFlow) -> Money| {
            Money::sum(Currency::USD, f.monthly.iter().map(g)).unwrap()
        };
        assert_eq!(sum(|m| m.cash_outlay), f.commitment_total);
        assert_eq!(sum(|m| m.amortised_cost), f.commitment_total);
        assert_eq!(sum(|m| m.expected_usage_value), f.expected_usage_value);
        // Month 1: 36.50 − 107.30 < 0; month 3: 109.5 − 121.9 < 0; month 4: 146 − 129.2 ≥ 0.
        assert_eq!(f.break_even_month, Some(4));
        assert!((f.utilisation - 1.0).abs() < 1e-12);
        assert_eq!(f.prob_below_break_even, 0.0);
        assert_eq!(plan.coverage, 1.0);
        assert_eq!(f.esr, Some(d("0.571689")));
        assert!(f.npv.amount() > Decimal::ZERO && f.npv.amount() < d("250.40"));
        assert_eq!(plan.expected_savings.amount(), d("250.40"));
    }

    #[test]
    fn zero_levels_have_no_purchases() {
        let pricing = Pricing {
            currency: Currency::USD,
            on_demand_hourly: d("1"),
            offers: vec![],
        };
        let plan = optimize(
            &Demand::single(vec![2.0; 10]),
            &[],
            &pricing,
            &PlanOptions::default(),
        )
        .unwrap();
        assert!(plan.purchases.is_empty());
        assert_eq!(plan.expected_cost, plan.on_demand_cost);
        assert_eq!(plan.on_demand_cost.amount(), d("20"));
    }
}
