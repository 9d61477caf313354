//! Flexible commitments: spend-based plans (AWS Compute / EC2 Instance / Database Savings
//! Plans, Azure savings plans, GCP flexible CUDs) and size-flexible reservations, in money.
//!
//! # Model
//!
//! Demand is **on-demand-equivalent spend** `u[s,t,j] ≥ 0` per demand path `s`, hour `t` and
//! SKU (rate key) `j` ([`SpendPaths`]; usage already covered by existing commitments is demand
//! too). An [`Instrument`] commits `C` per hour *at plan rates* and covers SKU `j` at the rate
//! ratio `r_j = plan rate / on-demand rate ∈ (0, 1]` (`1 − discount`), or not at all. One
//! dollar of commitment per hour costs `fee` per hour (1 when the commitment is amortised
//! over hours it is evaluated on; more when the term runs past the horizon or payments are
//! discounted to present value).
//!
//! A size-flexible reservation is the same object: `N` normalized units of a family at a rate
//! `p` per unit-hour is `C = N·p`, covering each size `j` of the family at
//! `r_j = p·nf_j / od_j` (`nf_j` the size's normalization factor, [`normalization_factor`]).
//! A per-type RI is an instrument with one eligible SKU.
//!
//! # One plan type: exact
//!
//! In hour `(s, t)` a commitment `C` covers at most `X(C) = max Σ x_j` subject to
//! `Σ r_j x_j ≤ C`, `0 ≤ x_j ≤ u_j`: a fractional knapsack whose optimum fills SKUs in
//! increasing `r_j` (highest discount first) — exactly the providers' rule, so the bill and
//! the optimum coincide. The expected cost over the horizon,
//!
//! ```text
//! F(C) = fee·W·C + Σ_{s,t} w_s (U[s,t] − X_{s,t}(C))          (W = Σ w_s over hours)
//! ```
//!
//! is convex and piecewise linear in `C` with breakpoints `B[s,t,m] = Σ_{i≤m} r_i u[s,t,i]`.
//! Its right derivative is `fee·W − Σ_{unsaturated (s,t)} w_s / r_{m(s,t)}` (`m` the SKU being
//! filled). [`sweep`] sorts the breakpoints once and walks them: the minimiser is the first
//! point where the right derivative is `≥ 0` (the smallest commitment among optima), and the
//! whole savings-versus-commitment curve (cost, savings, coverage, utilisation) falls out of
//! the same walk. O(N log N) for N non-zero (hour, SKU) cells. With one uniform discount `d`
//! this is the `d`-quantile rule of the RI slices; sizing at the `(1 − d)`-quantile, or
//! searching only the hours' cover-everything amounts, misses it (see the tests).
//!
//! # Several instruments
//!
//! [`replay`] applies commitments the way the providers bill them: by [`Instrument::rank`]
//! (reservations first; AWS: EC2 Instance Savings Plans before Compute Savings Plans; Azure:
//! reservations before savings plans), each commitment spent on its eligible usage with the
//! highest discount first. [`plan_in_order`] sizes instruments in that order, each one by the
//! exact sweep on the demand the earlier ones leave: exact for each instrument given the ones
//! before it, and the bill [`replay`] reports is the one the provider will produce. It is
//! *not* the joint optimum in general (an earlier, narrower instrument is sized without
//! knowing that a later, broader one could take over part of its demand). [`refine_in_order`]
//! then lowers the bill itself by coordinate descent. Measured against the joint LP (a lower
//! bound no bill can reach: the LP allocates optimally, the providers do not) on 182 random
//! instances of two or three plan types (`tests/it/flex_verify.rs`): in order, mean gap
//! 5.6 %, median 1.1 %; refined, mean 1.07 %, median 0, max 17 % — below the LP's own
//! commitments billed in the providers' order (mean 1.28 %). Exact for one plan type and for
//! instruments with disjoint SKUs; not proven optimal for overlapping ones.
//!
//! [`optimize_joint`] solves the joint problem (the allocation-free optimum, a lower bound on
//! every bill) exactly, with a certified gap, and replays its commitments in the providers'
//! order (see `joint.rs`).

use rayon::slice::ParallelSliceMut;
use serde::{Deserialize, Serialize};

mod joint;

pub use joint::{
    JOINT_MAX_ITERATIONS, JOINT_TOLERANCE, JointOptimum, optimize_joint, optimize_joint_within,
};

/// Errors of flexible-commitment planning.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FlexError {
    /// Dimensions that do not fit together.
    #[error("{0}")]
    Shape(String),
    /// A spend value that is negative, NaN or infinite.
    #[error(
        "spend at path {path}, hour {hour}, SKU {sku} is {value}: expected a finite value >= 0"
    )]
    BadSpend {
        /// Path index.
        path: usize,
        /// Hour index.
        hour: usize,
        /// SKU index.
        sku: usize,
        /// The value.
        value: f64,
    },
    /// A rate ratio outside (0, 1] or a fee that is not finite and > 0.
    #[error("instrument {id:?}: {what}")]
    BadInstrument {
        /// Instrument id.
        id: String,
        /// What is wrong.
        what: String,
    },
}

/// On-demand-equivalent spend per path, hour and SKU (dense, `[path][hour][sku]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SpendPaths {
    skus: usize,
    hours: usize,
    paths: usize,
    spend: Vec<f64>,
}

impl SpendPaths {
    /// Checks and wraps `spend` (`paths × hours × skus` values, path-major then hour).
    pub fn new(
        skus: usize,
        hours: usize,
        paths: usize,
        spend: Vec<f64>,
    ) -> Result<SpendPaths, FlexError> {
        if skus == 0 || hours == 0 || paths == 0 {
            return Err(FlexError::Shape(format!(
                "spend needs at least one SKU, hour and path (got {skus} SKUs, {hours} hours, {paths} paths)"
            )));
        }
        if spend.len() != skus * hours * paths {
            return Err(FlexError::Shape(format!(
                "spend has {} values, expected {paths} paths × {hours} hours × {skus} SKUs = {}",
                spend.len(),
                skus * hours * paths
            )));
        }
        if let Some(i) = spend.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(FlexError::BadSpend {
                path: i / (hours * skus),
                hour: (i / skus) % hours,
                sku: i % skus,
                value: spend[i],
            });
        }
        Ok(SpendPaths {
            skus,
            hours,
            paths,
            spend,
        })
    }

    /// Number of SKUs.
    pub fn skus(&self) -> usize {
        self.skus
    }
    /// Number of hours.
    pub fn hours(&self) -> usize {
        self.hours
    }
    /// Number of paths.
    pub fn paths(&self) -> usize {
        self.paths
    }
    /// The spend of one hour of one path, per SKU.
    pub fn hour(&self, path: usize, hour: usize) -> &[f64] {
        let o = (path * self.hours + hour) * self.skus;
        &self.spend[o..o + self.skus]
    }
    /// Expected on-demand spend over the horizon (mean over paths of the sum over hours
    /// and SKUs).
    pub fn expected_total(&self) -> f64 {
        self.spend.iter().sum::<f64>() / self.paths as f64
    }
    /// Per path and hour, the spend left after `covered` (same layout), floored at zero.
    fn minus(&self, covered: &[f64]) -> SpendPaths {
        SpendPaths {
            spend: self
                .spend
                .iter()
                .zip(covered)
                .map(|(u, c)| (u - c).max(0.0))
                .collect(),
            ..*self
        }
    }
}

/// A commitment instrument in money: what one dollar per hour at plan rates covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Its id (an offer id, a plan type, ...).
    pub id: String,
    /// Application order on the bill: lower ranks apply first ([`RANK_RESERVATION`],
    /// [`RANK_INSTANCE_PLAN`], [`RANK_COMPUTE_PLAN`]).
    pub rank: u8,
    /// Per SKU, plan rate / on-demand rate in (0, 1]; `None` where the instrument does not
    /// apply.
    pub ratio: Vec<Option<f64>>,
    /// Cost of one unit of commitment (one dollar per hour at plan rates) per evaluated hour.
    pub fee: f64,
}

/// Reservations (RIs, Azure reservations, resource CUDs) apply first.
pub const RANK_RESERVATION: u8 = 0;
/// AWS EC2 Instance Savings Plans apply after reservations, before Compute Savings Plans.
pub const RANK_INSTANCE_PLAN: u8 = 1;
/// Compute-style plans (AWS Compute and Database Savings Plans, Azure savings plans, GCP
/// flexible CUDs) apply last.
pub const RANK_COMPUTE_PLAN: u8 = 2;

impl Instrument {
    /// Checks ratios (finite, in (0, 1]), the SKU count and the fee.
    pub fn check(&self, skus: usize) -> Result<(), FlexError> {
        let bad = |what: String| FlexError::BadInstrument {
            id: self.id.clone(),
            what,
        };
        if self.ratio.len() != skus {
            return Err(bad(format!(
                "has ratios for {} SKUs, the demand has {skus}",
                self.ratio.len()
            )));
        }
        if let Some((j, r)) = self.ratio.iter().enumerate().find_map(|(j, r)| {
            r.filter(|r| !(r.is_finite() && *r > 0.0 && *r <= 1.0))
                .map(|r| (j, r))
        }) {
            return Err(bad(format!(
                "SKU {j} has rate ratio {r}: expected plan rate / on-demand rate in (0, 1]"
            )));
        }
        if !(self.fee.is_finite() && self.fee > 0.0) {
            return Err(bad(format!("fee {} must be finite and > 0", self.fee)));
        }
        Ok(())
    }

    /// Eligible SKUs in application order: increasing ratio (highest discount first), ties
    /// by SKU index.
    fn order(&self) -> Vec<(usize, f64)> {
        let mut o: Vec<(usize, f64)> = self
            .ratio
            .iter()
            .enumerate()
            .filter_map(|(j, r)| r.map(|r| (j, r)))
            .collect();
        o.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        o
    }
}

pub use crate::pricing::normalization_factor;

/// One point of a savings-versus-commitment curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Commitment per hour at plan rates.
    pub commitment: f64,
    /// Expected cost over the horizon: commitment fees plus what stays on demand.
    pub cost: f64,
    /// Expected savings against buying nothing.
    pub savings: f64,
    /// Share of on-demand-equivalent spend the commitment covers (0..1).
    pub coverage: f64,
    /// Share of the commitment that is used (0..1; 1 at zero commitment).
    pub utilisation: f64,
}

/// The exact sweep of one instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The instrument swept.
    pub instrument: String,
    /// The optimum (the smallest minimiser of the expected cost).
    pub optimum: CurvePoint,
    /// Expected on-demand cost with nothing bought.
    pub on_demand: f64,
    /// Number of breakpoints (non-zero eligible cells).
    pub breakpoints: usize,
    /// The curve at evenly spaced commitments from 0 to past the point where every hour is
    /// saturated (or twice the optimum), the optimum included.
    pub curve: Vec<CurvePoint>,
}

/// Per-path-hour breakpoints of one instrument: events `(C, Δ slope of covered spend)` and,
/// per hour, where it saturates.
struct Breakpoints {
    events: Vec<(f64, f64)>,
    ends: Vec<f64>,
    /// Σ w / r of the first eligible SKU over hours with eligible spend (initial slope of X).
    x_slope: f64,
    /// Σ w over hours with eligible spend (initial slope of used commitment).
    n_slope: f64,
    /// Σ w·U over every SKU (on-demand cost of everything).
    total: f64,
    /// Σ w over paths and hours (W = the hours: the paths' weights sum to 1).
    weight: f64,
}

fn breakpoints(d: &SpendPaths, inst: &Instrument) -> Breakpoints {
    use rayon::prelude::*;
    let order = inst.order();
    let w = 1.0 / d.paths as f64;
    // One partial per path, built in parallel and merged in path order (deterministic).
    let parts: Vec<Breakpoints> = (0..d.paths)
        .into_par_iter()
        .map(|p| {
            let mut b = Breakpoints {
                events: Vec::new(),
                ends: Vec::new(),
                x_slope: 0.0,
                n_slope: 0.0,
                total: 0.0,
                weight: 0.0,
            };
            for t in 0..d.hours {
                let u = d.hour(p, t);
                b.total += w * u.iter().sum::<f64>();
                let mut cum = 0.0;
                let mut last: Option<f64> = None;
                for &(j, r) in &order {
                    if u[j] <= 0.0 {
                        continue;
                    }
                    match last {
                        None => {
                            b.x_slope += w / r;
                            b.n_slope += w;
                        }
                        Some(prev) if prev != r => b.events.push((cum, w / r - w / prev)),
                        Some(_) => {}
                    }
                    cum += r * u[j];
                    last = Some(r);
                }
                if let Some(r) = last {
                    b.events.push((cum, -w / r));
                    b.ends.push(cum);
                }
            }
            b
        })
        .collect();
    let mut b = Breakpoints {
        events: Vec::with_capacity(parts.iter().map(|p| p.events.len()).sum()),
        ends: Vec::with_capacity(parts.iter().map(|p| p.ends.len()).sum()),
        x_slope: 0.0,
        n_slope: 0.0,
        total: 0.0,
        weight: d.hours as f64,
    };
    for p in parts {
        b.events.extend(p.events);
        b.ends.extend(p.ends);
        b.x_slope += p.x_slope;
        b.n_slope += p.n_slope;
        b.total += p.total;
    }
    b
}

/// Covered on-demand spend of one hour at commitment `c` (fractional knapsack, highest
/// discount first) and the commitment used.
fn cover_hour(u: &[f64], order: &[(usize, f64)], c: f64) -> (f64, f64) {
    let (mut left, mut covered) = (c, 0.0);
    for &(j, r) in order {
        if left <= 0.0 {
            break;
        }
        if u[j] <= 0.0 {
            continue;
        }
        let x = u[j].min(left / r);
        covered += x;
        left -= x * r;
    }
    (covered, c - left.max(0.0))
}

/// The expected cost, savings, coverage and utilisation of commitment `c` (direct
/// evaluation, O(cells)).
pub fn evaluate(d: &SpendPaths, inst: &Instrument, c: f64) -> CurvePoint {
    let order = inst.order();
    let w = 1.0 / d.paths as f64;
    let (mut covered, mut used, mut total) = (0.0, 0.0, 0.0);
    for p in 0..d.paths {
        for t in 0..d.hours {
            let u = d.hour(p, t);
            total += w * u.iter().sum::<f64>();
            let (x, k) = cover_hour(u, &order, c);
            covered += w * x;
            used += w * k;
        }
    }
    let hours = d.hours as f64;
    point(
        c,
        inst.fee * hours * c + total - covered,
        total,
        covered,
        used,
        hours,
    )
}

fn point(c: f64, cost: f64, total: f64, covered: f64, used: f64, weight: f64) -> CurvePoint {
    CurvePoint {
        commitment: c,
        cost,
        savings: total - cost,
        coverage: if total > 0.0 { covered / total } else { 0.0 },
        utilisation: if c > 0.0 {
            (used / (weight * c)).min(1.0)
        } else {
            1.0
        },
    }
}

/// Points on the curve: how many evenly spaced commitments [`sweep`] reports.
pub const CURVE_POINTS: usize = 60;

/// The exact optimum of one instrument and its savings-versus-commitment curve.
pub fn sweep(d: &SpendPaths, inst: &Instrument) -> Result<Sweep, FlexError> {
    inst.check(d.skus)?;
    let mut b = breakpoints(d, inst);
    // A total order (position, then slope change) so the walk's sums are the same whatever
    // the sort's algorithm: the result is deterministic; sorted in parallel.
    b.events
        .par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let fee_w = inst.fee * b.weight;
    let mut ends = b.ends.clone();
    ends.par_sort_unstable_by(f64::total_cmp);
    // The optimum: the first point whose right derivative fee·W − Σ w/r is ≥ 0.
    let (mut c, mut xs, mut i) = (0.0_f64, b.x_slope, 0);
    while fee_w - xs < 0.0 {
        let Some(&(next, _)) = b.events.get(i) else {
            break;
        };
        c = next;
        while let Some(&(at, dx)) = b.events.get(i) {
            if at > c {
                break;
            }
            xs += dx;
            i += 1;
        }
    }
    let opt = c;
    let opt_point = evaluate(d, inst, opt);
    // The curve: a second walk over the same events, tracking covered spend and used
    // commitment, read off at evenly spaced commitments.
    let top = ends.last().copied().unwrap_or(0.0);
    let hi = top.max(2.0 * opt);
    let step = 1.0 / d.paths as f64;
    let mut curve = Vec::with_capacity(CURVE_POINTS + 2);
    let (mut c, mut x, mut used) = (0.0_f64, 0.0_f64, 0.0_f64);
    let (mut xs, mut ns) = (b.x_slope, b.n_slope);
    let (mut i, mut ei) = (0, 0);
    for k in 0..=CURVE_POINTS {
        let g = hi * k as f64 / CURVE_POINTS as f64;
        loop {
            let next = b.events.get(i).map_or(f64::INFINITY, |e| e.0);
            let next_end = ends.get(ei).copied().unwrap_or(f64::INFINITY);
            let to = next.min(next_end).min(g);
            x += xs * (to - c);
            used += ns * (to - c);
            c = to;
            if c >= g {
                break;
            }
            while let Some(&(at, dx)) = b.events.get(i) {
                if at > c {
                    break;
                }
                xs += dx;
                i += 1;
            }
            while ends.get(ei).is_some_and(|e| *e <= c) {
                ns -= step;
                ei += 1;
            }
        }
        if g != opt {
            curve.push(point(
                g,
                fee_w * g + b.total - x,
                b.total,
                x,
                used,
                b.weight,
            ));
        }
        if hi <= 0.0 {
            break;
        }
    }
    curve.push(opt_point);
    curve.sort_by(|a, b| a.commitment.total_cmp(&b.commitment));
    Ok(Sweep {
        instrument: inst.id.clone(),
        optimum: opt_point,
        on_demand: b.total,
        breakpoints: b.events.len(),
        curve,
    })
}

/// What a user asks a commitment to achieve instead of the minimum expected cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// Cover this share (0..1) of the on-demand-equivalent spend.
    Coverage(f64),
    /// Keep this share (0..1) of the commitment used.
    Utilisation(f64),
}

/// The commitment meeting `target`: the smallest one reaching the coverage, or the largest
/// one keeping the utilisation (both monotone in the commitment), to a relative 1e-9 by
/// bisection on the exact evaluation. `None` when the target cannot be met (a coverage above
/// what the instrument can cover).
pub fn size_to(
    d: &SpendPaths,
    inst: &Instrument,
    target: Target,
) -> Result<Option<f64>, FlexError> {
    inst.check(d.skus)?;
    let b = breakpoints(d, inst);
    let top = b.ends.iter().copied().fold(0.0, f64::max);
    if top <= 0.0 {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0.0, top);
    let meets = |c: f64| {
        let p = evaluate(d, inst, c);
        match target {
            Target::Coverage(v) => p.coverage >= v,
            Target::Utilisation(v) => p.utilisation >= v,
        }
    };
    match target {
        Target::Coverage(v) => {
            if !meets(top) {
                return Ok(None);
            }
            if v <= 0.0 {
                return Ok(Some(0.0));
            }
        }
        Target::Utilisation(_) => {
            if meets(top) {
                return Ok(Some(top));
            }
        }
    }
    while hi - lo > 1e-9 * top {
        let mid = 0.5 * (lo + hi);
        let ok = meets(mid);
        match (target, ok) {
            (Target::Coverage(_), true) | (Target::Utilisation(_), false) => hi = mid,
            _ => lo = mid,
        }
    }
    Ok(Some(match target {
        Target::Coverage(_) => hi,
        Target::Utilisation(_) => lo,
    }))
}

/// One commitment's share of a replayed bill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayLine {
    /// Instrument id.
    pub instrument: String,
    /// Commitment per hour.
    pub commitment: f64,
    /// Expected fees over the horizon.
    pub fees: f64,
    /// Expected on-demand-equivalent spend it covered.
    pub covered: f64,
    /// Share of the commitment used (0..1).
    pub utilisation: f64,
}

/// A bill replayed in the providers' order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// Expected total: fees plus on-demand spend left.
    pub cost: f64,
    /// Expected on-demand cost with nothing bought.
    pub on_demand: f64,
    /// Expected on-demand spend left after every commitment.
    pub left_on_demand: f64,
    /// Per commitment, in application order.
    pub lines: Vec<ReplayLine>,
}

/// The expected bill of `commitments` (instrument, commitment per hour) applied in the
/// providers' order: by rank (stable: commitments of one rank in the order given), each
/// spent on its eligible usage with the highest discount first.
pub fn replay(d: &SpendPaths, commitments: &[(&Instrument, f64)]) -> Result<Replay, FlexError> {
    let (covered, lines) = replay_cells(d, commitments)?;
    let left = d.expected_total() - covered.iter().sum::<f64>() / d.paths as f64;
    let fees: f64 = lines.iter().map(|l| l.fees).sum();
    Ok(Replay {
        cost: fees + left,
        on_demand: d.expected_total(),
        left_on_demand: left,
        lines,
    })
}

/// The replay's covered spend per cell and its lines.
fn replay_cells(
    d: &SpendPaths,
    commitments: &[(&Instrument, f64)],
) -> Result<(Vec<f64>, Vec<ReplayLine>), FlexError> {
    let mut idx: Vec<usize> = (0..commitments.len()).collect();
    idx.sort_by_key(|&k| commitments[k].0.rank);
    let mut covered = vec![0.0; d.spend.len()];
    let w = 1.0 / d.paths as f64;
    let hw = d.hours as f64;
    let mut lines = Vec::with_capacity(idx.len());
    for k in idx {
        let (inst, c) = commitments[k];
        inst.check(d.skus)?;
        if !(c.is_finite() && c >= 0.0) {
            return Err(FlexError::BadInstrument {
                id: inst.id.clone(),
                what: format!("commitment {c} must be finite and >= 0"),
            });
        }
        let order = inst.order();
        let (mut cov, mut used) = (0.0, 0.0);
        for p in 0..d.paths {
            for t in 0..d.hours {
                let o = (p * d.hours + t) * d.skus;
                let mut left = c;
                for &(j, r) in &order {
                    if left <= 0.0 {
                        break;
                    }
                    let free = d.spend[o + j] - covered[o + j];
                    if free <= 0.0 {
                        continue;
                    }
                    let x = free.min(left / r);
                    covered[o + j] += x;
                    cov += w * x;
                    left -= x * r;
                }
                used += w * (c - left.max(0.0));
            }
        }
        lines.push(ReplayLine {
            instrument: inst.id.clone(),
            commitment: c,
            fees: inst.fee * hw * c,
            covered: cov,
            utilisation: if c > 0.0 {
                (used / (hw * c)).min(1.0)
            } else {
                1.0
            },
        });
    }
    Ok((covered, lines))
}

/// Instruments sized in the providers' application order, each by the exact [`sweep`] on
/// the spend the earlier ones leave (see the module docs for what this is and is not).
/// Returns each instrument's sweep (in the order given) and the replayed bill.
pub fn plan_in_order(
    d: &SpendPaths,
    instruments: &[Instrument],
) -> Result<(Vec<Sweep>, Replay), FlexError> {
    let mut idx: Vec<usize> = (0..instruments.len()).collect();
    idx.sort_by_key(|&k| instruments[k].rank);
    let mut left = d.clone();
    let mut sweeps: Vec<Option<Sweep>> = vec![None; instruments.len()];
    for k in idx {
        let s = sweep(&left, &instruments[k])?;
        let (cov, _) = replay_cells(&left, &[(&instruments[k], s.optimum.commitment)])?;
        left = left.minus(&cov);
        sweeps[k] = Some(s);
    }
    let sweeps: Vec<Sweep> = sweeps
        .into_iter()
        .map(|s| s.expect("every instrument swept"))
        .collect();
    let chosen: Vec<(&Instrument, f64)> = instruments
        .iter()
        .zip(&sweeps)
        .map(|(i, s)| (i, s.optimum.commitment))
        .collect();
    let bill = replay(d, &chosen)?;
    Ok((sweeps, bill))
}

/// The most commitment `inst` could ever use in one hour of `d` (its eligible spend at plan
/// rates, at the busiest hour): past it a commitment only adds fees.
fn most_usable(d: &SpendPaths, inst: &Instrument) -> f64 {
    let mut top = 0.0_f64;
    for p in 0..d.paths {
        for t in 0..d.hours {
            let b: f64 = inst
                .ratio
                .iter()
                .zip(d.hour(p, t))
                .filter_map(|(r, u)| r.map(|r| r * u))
                .sum();
            top = top.max(b);
        }
    }
    top
}

/// Golden-section steps per coordinate in [`refine_in_order`] (the bracket shrinks to
/// 0.618^48 ≈ 1e-10 of its width).
const GOLDEN_STEPS: usize = 48;

/// The expected bill of `c` (one commitment per instrument) in the providers' order.
fn bill(d: &SpendPaths, insts: &[Instrument], c: &[f64]) -> Result<f64, FlexError> {
    let pairs: Vec<(&Instrument, f64)> = insts.iter().zip(c.iter().copied()).collect();
    Ok(replay(d, &pairs)?.cost)
}

/// Improves commitments `start` (one per instrument) on the bill the providers will produce
/// ([`replay`]): cyclic coordinate descent, each coordinate minimised by golden section over
/// `[0, the most it could ever use]`, a move kept only when it lowers the bill, until a round
/// gains less than 1e-9 relative or `rounds` are done. The bill never rises, but this is a
/// local method: its result is not proven optimal (the tests measure its gap to the joint
/// LP). Each step replays the whole bill, so it costs `rounds × instruments × 48` replays.
pub fn refine_in_order(
    d: &SpendPaths,
    insts: &[Instrument],
    start: &[f64],
    rounds: usize,
) -> Result<(Vec<f64>, f64), FlexError> {
    let mut c = start.to_vec();
    let mut best = bill(d, insts, &c)?;
    let tops: Vec<f64> = insts.iter().map(|inst| most_usable(d, inst)).collect();
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..rounds {
        let before = best;
        for k in 0..insts.len() {
            let (mut lo, mut hi) = (0.0, tops[k].max(c[k]));
            if hi <= 0.0 {
                continue;
            }
            let mut trial = c.clone();
            let mut f = |x: f64| -> Result<f64, FlexError> {
                trial[k] = x;
                bill(d, insts, &trial)
            };
            let (mut x1, mut x2) = (hi - phi * (hi - lo), lo + phi * (hi - lo));
            let (mut f1, mut f2) = (f(x1)?, f(x2)?);
            for _ in 0..GOLDEN_STEPS {
                if f1 <= f2 {
                    hi = x2;
                    (x2, f2) = (x1, f1);
                    x1 = hi - phi * (hi - lo);
                    f1 = f(x1)?;
                } else {
                    lo = x1;
                    (x1, f1) = (x2, f2);
                    x2 = lo + phi * (hi - lo);
                    f2 = f(x2)?;
                }
            }
            let (x, fx) = if f1 <= f2 { (x1, f1) } else { (x2, f2) };
            let f0 = f(0.0)?;
            let (x, fx) = if f0 < fx { (0.0, f0) } else { (x, fx) };
            if fx < best - 1e-12 * best.abs().max(1.0) {
                c[k] = x;
                best = fx;
            }
        }
        if before - best <= 1e-9 * before.abs().max(1.0) {
            break;
        }
    }
    Ok((c, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: &str, rank: u8, ratio: Vec<Option<f64>>) -> Instrument {
        Instrument {
            id: id.into(),
            rank,
            ratio,
            fee: 1.0,
        }
    }

    #[test]
    fn normalization_factors_follow_aws_table() {
        assert_eq!(normalization_factor("m6i.large"), Some(4.0));
        assert_eq!(normalization_factor("xlarge"), Some(8.0));
        assert_eq!(normalization_factor("c6i.2xlarge"), Some(16.0));
        assert_eq!(normalization_factor("r5.12xlarge"), Some(96.0));
        assert_eq!(normalization_factor("t3.nano"), Some(0.25));
        assert_eq!(normalization_factor("m5.metal"), None);
    }

    #[test]
    fn uniform_discount_optimum_is_the_discount_quantile() {
        // One SKU, discount 0.3, hourly spend 1..=10: the optimum covers the 0.3-quantile
        // slice rule: commit where 30 % of hours would be left unsaturated... i.e. buy the
        // level y with P(spend > y) > 1 − d = 0.7 → y = 3 (hours with 4..10 are 7 of 10).
        let d = SpendPaths::new(1, 10, 1, (1..=10).map(f64::from).collect()).unwrap();
        let i = inst("sp", 2, vec![Some(0.7)]);
        let s = sweep(&d, &i).unwrap();
        // Commitment at plan rates = 0.7 × the covered on-demand level.
        assert!((s.optimum.commitment - 0.7 * 3.0).abs() < 1e-12, "{s:?}");
        // The (1 − d)-quantile (level 7) costs more.
        let at7 = evaluate(&d, &i, 0.7 * 7.0);
        assert!(at7.cost > s.optimum.cost + 1.0);
    }

    #[test]
    fn sweep_equals_brute_force_on_a_fine_grid() {
        let mut spend = Vec::new();
        let mut z: u64 = 7;
        for _ in 0..(3 * 40 * 4) {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            spend.push(((z >> 33) % 100) as f64 / 10.0);
        }
        let d = SpendPaths::new(4, 40, 3, spend).unwrap();
        let i = inst("sp", 2, vec![Some(0.6), Some(0.75), None, Some(0.9)]);
        let s = sweep(&d, &i).unwrap();
        let best = (0..=4000)
            .map(|k| evaluate(&d, &i, k as f64 * 0.01).cost)
            .fold(f64::INFINITY, f64::min);
        assert!(
            s.optimum.cost <= best + 1e-9,
            "{} vs {best}",
            s.optimum.cost
        );
        // Curve points agree with direct evaluation.
        for p in &s.curve {
            let e = evaluate(&d, &i, p.commitment);
            assert!(
                (p.cost - e.cost).abs() < 1e-7 * e.cost.max(1.0),
                "{p:?} {e:?}"
            );
            assert!((p.utilisation - e.utilisation).abs() < 1e-9, "{p:?} {e:?}");
            assert!((p.coverage - e.coverage).abs() < 1e-9, "{p:?} {e:?}");
        }
        assert!(
            s.curve
                .windows(2)
                .all(|w| w[0].commitment <= w[1].commitment)
        );
        assert!(s.curve.contains(&s.optimum));
    }

    #[test]
    fn replay_applies_reservations_then_instance_then_compute_plans() {
        // AWS, one hour, hand computed. SKUs: a (od 10), b (od 6), c (od 4).
        // RI on a: 5 of a at ratio 0.4 → C = 2.0. EC2 Instance SP on {a, b}: a 0.5, b 0.6,
        // C = 3.0. Compute SP on all: a 0.7, b 0.72, c 0.8, C = 4.0.
        // RI: covers 5 of a (fee 2). Left a 5, b 6, c 4.
        // Instance SP (highest discount first: a 0.5): a 5 → uses 2.5; b: 0.5 left / 0.6 →
        // 0.8333 of b. Left a 0, b 5.1667, c 4.
        // Compute SP: b first (0.72): 5.1667 × 0.72 = 3.72; c with 0.28 left / 0.8 = 0.35.
        // Left c 3.65. Cost = 2 + 3 + 4 + 3.65 = 12.65.
        let d = SpendPaths::new(3, 1, 1, vec![10.0, 6.0, 4.0]).unwrap();
        let ri = inst("ri-a", RANK_RESERVATION, vec![Some(0.4), None, None]);
        let isp = inst(
            "ec2-sp",
            RANK_INSTANCE_PLAN,
            vec![Some(0.5), Some(0.6), None],
        );
        let csp = inst(
            "compute-sp",
            RANK_COMPUTE_PLAN,
            vec![Some(0.7), Some(0.72), Some(0.8)],
        );
        // Given out of order on purpose.
        let r = replay(&d, &[(&csp, 4.0), (&isp, 3.0), (&ri, 2.0)]).unwrap();
        assert!((r.cost - 12.65).abs() < 1e-9, "{r:?}");
        assert_eq!(
            r.lines
                .iter()
                .map(|l| l.instrument.as_str())
                .collect::<Vec<_>>(),
            ["ri-a", "ec2-sp", "compute-sp"]
        );
        assert!((r.lines[1].covered - (5.0 + 0.5 / 0.6)).abs() < 1e-9);
        assert!((r.lines[2].utilisation - 1.0).abs() < 1e-12);
    }

    #[test]
    fn replay_azure_reservation_then_savings_plan() {
        // Azure, two hours: VM meter v (od 8 then 2), App Service meter s (od 3 both hours).
        // Reservation on v: C = 2.4 at ratio 0.6 covers 4 of v. Savings plan: v 0.65,
        // s 0.85, C = 2.0, highest discount first (v).
        // Hour 1: reservation covers 4 of v (left 4); plan: v 4 × 0.65 = 2.6 > 2 → covers
        // 2 / 0.65 = 3.0769; left v 0.9231, s 3. Cost 2.4 + 2 + 0.9231 + 3 = 8.3231.
        // Hour 2: reservation covers v 2 (uses 1.2 of 2.4); plan: s 2 / 0.85 = 2.3529 of 3;
        // left s 0.6471. Cost 2.4 + 2 + 0.6471 = 5.0471.
        let d = SpendPaths::new(2, 2, 1, vec![8.0, 3.0, 2.0, 3.0]).unwrap();
        let res = inst("reservation-v", RANK_RESERVATION, vec![Some(0.6), None]);
        let sp = inst("azure-sp", RANK_COMPUTE_PLAN, vec![Some(0.65), Some(0.85)]);
        let r = replay(&d, &[(&sp, 2.0), (&res, 2.4)]).unwrap();
        let expect = 2.4 + 2.0 + (4.0 - 2.0 / 0.65) + 3.0 + 2.4 + 2.0 + (3.0 - 2.0 / 0.85);
        assert!((r.cost - expect).abs() < 1e-9, "{} vs {expect}", r.cost);
        assert!((r.lines[0].utilisation - (2.4 + 1.2) / 4.8).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(SpendPaths::new(1, 1, 1, vec![-1.0]).is_err());
        assert!(SpendPaths::new(1, 2, 1, vec![1.0]).is_err());
        let d = SpendPaths::new(1, 1, 1, vec![1.0]).unwrap();
        assert!(sweep(&d, &inst("x", 2, vec![Some(1.5)])).is_err());
        assert!(sweep(&d, &inst("x", 2, vec![None, None])).is_err());
    }

    #[test]
    fn size_to_targets() {
        let d = SpendPaths::new(1, 10, 1, (1..=10).map(f64::from).collect()).unwrap();
        let i = inst("sp", 2, vec![Some(0.5)]);
        // Full coverage needs level 10 → C = 5.
        let c = size_to(&d, &i, Target::Coverage(1.0)).unwrap().unwrap();
        assert!((c - 5.0).abs() < 1e-6);
        // 100 % utilisation: level 1 → C = 0.5.
        let u = size_to(&d, &i, Target::Utilisation(1.0)).unwrap().unwrap();
        assert!((u - 0.5).abs() < 1e-6, "{u}");
        assert_eq!(
            size_to(&d, &inst("n", 2, vec![None]), Target::Coverage(0.5)).unwrap(),
            None
        );
    }
}
