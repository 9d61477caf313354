//! A spend-based pool (Savings Plans, spend CUDs, Azure savings plans) planned in money with
//! [`flex`](super::flex): its SKUs' on-demand-equivalent spend, the reservations that apply
//! first, the existing plans, every term's exact optimum and curve, the providers' lookback
//! recommendation, and the RI-only / plan-only / RI + plan portfolios on the same paths.
//!
//! Decision paths: per SKU the long-run level model of [`crate::forecast::longrun`] on the
//! SKU's hourly history (the same seed for every SKU, so a path's level shock is shared: one
//! business drives them), or, when a SKU's history is too short for it, its last four weeks
//! repeated. Each term is evaluated over its own term from the plan's start (capped at the
//! horizon, the fee scaled so a commitment still pays its whole term) and the terms are
//! compared by expected savings per hour. Existing commitments' fees are sunk: they are in
//! no portfolio's cost, but their coverage is applied (reservations first, then existing
//! plans) before anything new.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::flex::{
    self, CurvePoint, FlexError, Instrument, RANK_COMPUTE_PLAN, RANK_INSTANCE_PLAN,
    RANK_RESERVATION, SpendPaths, Sweep,
};
use super::types::PlanError;
use crate::forecast::longrun::{LongRunSettings, long_run_paths};
use crate::money::Money;
use chrono::{DateTime, Duration, Utc};

use crate::pricing::{Inventory, OfferKind, Pool, RateCard, Term};
use crate::series::{SeriesKey, UsageSeries};

/// Paths the spend decision is made on (at most; the plan file's count when smaller): the
/// sweep's cost is linear in paths × hours × SKUs, and 32 paths put the expected cost's
/// sampling error well below the differences between terms.
pub const MAX_SPEND_PATHS: usize = 32;

/// Days of the providers' lookback recommendation the plan is compared with.
pub const SPEND_LOOKBACK_DAYS: usize = 30;

/// Reservations that cover some of the pool's SKUs before any plan applies (an RI pool).
#[derive(Debug, Clone, PartialEq)]
pub struct ReservationLayer {
    /// The RI pool.
    pub pool_id: String,
    /// Indices of the SKUs it covers.
    pub skus: Vec<usize>,
    /// Capacity in on-demand-equivalent money per hour of the horizon from existing
    /// reservations.
    pub existing: Vec<f64>,
    /// The same from the reservations the RI plan buys.
    pub new: Vec<f64>,
    /// Nominal fees of the new reservations (their whole terms).
    pub new_fees: f64,
    /// Capacity per history hour (existing reservations then), for the lookback.
    pub history: Vec<f64>,
    /// The most total demand (existing + new reservations + the plan's share), in
    /// on-demand-equivalent money per hour, that the RI pool's level evidence supports
    /// ([`level_cap`]); `None` without a sizing note.
    pub level_cap: Option<f64>,
}

/// The total demand (units per hour) the RI sizing's **level** evidence supports: its held
/// level, floor and trust without the peers' scaling. A spend-based plan survives a type
/// migration, so the peers' signal (the same type falling elsewhere) does not bound it; a
/// falling or uncertain level bounds reservations and plan alike, so a plan never commits
/// past what the evidence let the reservations commit had the type been safe.
pub fn level_cap(note: &super::sizing::SizingNote, existing_now: f64) -> f64 {
    let keep = (1.0 - note.peers.share()).max(1e-9);
    let floor = note.floor_level / keep;
    let trust = (note.trust / keep).min(1.0);
    let wanted = existing_now + note.optimizer_units.max(note.chosen_units);
    let bound = if wanted > floor {
        floor + trust * (wanted - floor)
    } else {
        wanted
    };
    bound
        .min(note.held_level)
        .max(existing_now + note.chosen_units)
}

/// A plan the pool already holds: its commitment at plan rates per hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingPlan {
    /// Its id.
    pub id: String,
    /// Per SKU, plan rate / on-demand rate.
    pub ratio: Vec<Option<f64>>,
    /// Commitment per horizon hour (0 outside its term).
    pub horizon: Vec<f64>,
    /// Commitment per history hour.
    pub history: Vec<f64>,
}

/// A reservation the RI plan buys, as the spend pool needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReservation {
    /// Its RI pool.
    pub pool_id: String,
    /// Hour of the horizon it starts.
    pub start_hour: usize,
    /// Term in hours.
    pub term_hours: usize,
    /// Units.
    pub quantity: f64,
    /// Effective rate per unit-hour.
    pub effective_hourly: f64,
}

/// A portfolio's RI purchases as the spend pools need them, and each RI pool's
/// [`level_cap`] (pool id → units).
pub fn ri_plan_of(portfolio: &super::Portfolio) -> (Vec<NewReservation>, Vec<(String, f64)>) {
    let new = portfolio
        .pools
        .iter()
        .flat_map(|r| {
            r.plan.purchases.iter().map(|b| NewReservation {
                pool_id: r.pool.clone(),
                start_hour: b.start_hour,
                term_hours: b.term_hours,
                quantity: b.quantity,
                effective_hourly: b.effective_hourly.amount().try_into().unwrap_or(0.0),
            })
        })
        .collect();
    let caps = portfolio
        .pools
        .iter()
        .map(|r| (r.pool.clone(), level_cap(&r.sizing, r.existing_units_now)))
        .collect();
    (new, caps)
}

/// Where the spend pool's history and horizon sit in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendFrame {
    /// The plan's start (first horizon hour).
    pub start: DateTime<Utc>,
    /// First history hour.
    pub hist_start: DateTime<Utc>,
    /// History hours.
    pub hist_len: usize,
    /// Horizon hours.
    pub horizon_hours: usize,
}

/// Every reservation pool's coverage of the spend pool's SKUs (those its match selects):
/// existing reservations and `new` ones, in on-demand-equivalent money per hour (units × the
/// pool's on-demand rate), with each pool's [`level_cap`] (`caps`: pool id → units).
pub fn reservation_layers(
    card: &RateCard,
    inventory: &Inventory,
    skus: &[SeriesKey],
    frame: &SpendFrame,
    new: &[NewReservation],
    caps: &[(String, f64)],
) -> Vec<ReservationLayer> {
    let hours = frame.horizon_hours;
    let mut out = Vec::new();
    for pool in card.pools().iter().filter(|p| !p.is_spend_pool()) {
        let covered: Vec<usize> = skus
            .iter()
            .enumerate()
            .filter(|(_, k)| pool.match_rule().selector().matches(k))
            .map(|(j, _)| j)
            .collect();
        if covered.is_empty() {
            continue;
        }
        let od: f64 = pool.on_demand_rate().try_into().unwrap_or(0.0);
        let scale = |v: Vec<f64>| v.into_iter().map(|u| u * od).collect::<Vec<f64>>();
        let existing = scale(inventory.coverage(pool.id(), frame.start, hours));
        let history = scale(inventory.coverage(pool.id(), frame.hist_start, frame.hist_len));
        let mut cap = vec![0.0; hours];
        let mut new_fees = 0.0;
        for p in new.iter().filter(|p| p.pool_id == pool.id()) {
            let end = p.start_hour.saturating_add(p.term_hours).min(hours);
            for slot in cap.iter_mut().take(end).skip(p.start_hour) {
                *slot += p.quantity * od;
            }
            new_fees += p.quantity * p.effective_hourly * p.term_hours as f64;
        }
        out.push(ReservationLayer {
            pool_id: pool.id().to_owned(),
            skus: covered,
            existing,
            new: cap,
            new_fees,
            history,
            level_cap: caps
                .iter()
                .find(|(id, _)| id == pool.id())
                .map(|(_, units)| units * od),
        });
    }
    out
}

/// The plans the spend pool holds (its inventory), each with its per-SKU rates: the card's
/// offer of the same kind, payment and term when there is one, else its own rate on every
/// SKU.
pub fn existing_plans(
    inventory: &Inventory,
    pool: &Pool,
    skus: &[SeriesKey],
    frame: &SpendFrame,
) -> Vec<ExistingPlan> {
    inventory
        .for_pool(pool.id())
        .map(|c| {
            let days = (c.end() - c.start()).num_days();
            let term = if days > 400 {
                Term::ThreeYears
            } else {
                Term::OneYear
            };
            let offer = pool.offers().iter().find(|o| {
                o.kind() == c.kind() && Some(o.payment()) == c.payment() && o.term() == term
            });
            let own: f64 = c.hourly_rate().try_into().unwrap_or(1.0);
            let ratio = skus
                .iter()
                .map(|k| {
                    let r = match offer {
                        Some(o) => 1.0 - pool.discount_on(o, k).to_f64().unwrap_or(0.0),
                        None => own,
                    };
                    Some(r.clamp(f64::MIN_POSITIVE, 1.0))
                })
                .collect();
            let per_hour = c.quantity() * own;
            let profile = |from: DateTime<Utc>, n: usize| -> Vec<f64> {
                (0..n)
                    .map(|h| {
                        if c.is_active_at(from + Duration::hours(h as i64)) {
                            per_hour
                        } else {
                            0.0
                        }
                    })
                    .collect()
            };
            ExistingPlan {
                id: c.id().to_owned(),
                ratio,
                horizon: profile(frame.start, frame.horizon_hours),
                history: profile(frame.hist_start, frame.hist_len),
            }
        })
        .collect()
}

/// The spend pool's SKUs: the hourly list-cost series (history before the plan's start)
/// its match selects that spent something, aligned to end together (leading zeros where a
/// SKU began later). `None` when there are none.
pub fn sku_histories(
    pool: &Pool,
    list_history: &[UsageSeries],
) -> Option<(Vec<SeriesKey>, Vec<Vec<f64>>)> {
    let series: Vec<&UsageSeries> = list_history
        .iter()
        .filter(|s| pool.match_rule().selector().matches(&s.key))
        .filter(|s| s.values.iter().any(|v| *v > 0.0))
        .collect();
    if series.is_empty() {
        return None;
    }
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let hist = series
        .iter()
        .map(|s| {
            let mut v = vec![0.0; len - s.values.len()];
            v.extend(&s.values);
            v
        })
        .collect();
    Some((series.iter().map(|s| s.key.clone()).collect(), hist))
}

/// What [`plan_spend_pool`] needs.
#[derive(Debug, Clone)]
pub struct SpendPoolInput<'a> {
    /// The rate card (offers, per-SKU rates, payment choice).
    pub card: &'a RateCard,
    /// The spend pool.
    pub pool: &'a Pool,
    /// Its SKUs (rate keys): the series it matches.
    pub skus: Vec<SeriesKey>,
    /// Per SKU, hourly on-demand-equivalent spend before the plan's start (equal lengths,
    /// ending at the start).
    pub history: Vec<Vec<f64>>,
    /// Reservations applied first.
    pub reservations: Vec<ReservationLayer>,
    /// Plans held.
    pub existing: Vec<ExistingPlan>,
    /// Hours planned.
    pub horizon_hours: usize,
    /// Paths (capped at [`MAX_SPEND_PATHS`]).
    pub paths: usize,
    /// Seed of the paths.
    pub seed: u64,
    /// Cost of capital (payment option per term by present value).
    pub cost_of_capital: Decimal,
}

/// One term's optimum (the payment option chosen by present value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendOption {
    /// The offer.
    pub offer_id: String,
    /// Offer kind (`savings_plan_compute`, ...).
    pub kind: String,
    /// Term in hours.
    pub term_hours: usize,
    /// Hours it is evaluated on (its term, capped at the horizon).
    pub hours: usize,
    /// Its reference discount (the offer's own) and the range over the SKUs.
    pub discount: f64,
    /// Lowest and highest discount over the pool's SKUs.
    pub discount_range: (f64, f64),
    /// The exact sweep: optimum and curve (on the spend the reservations and existing plans
    /// leave, with the RI plan bought).
    pub sweep: Sweep,
    /// Expected savings per evaluated hour at the optimum (how terms are compared).
    pub savings_per_hour: f64,
    /// The providers' lookback recommendation for this offer, evaluated on the same paths.
    pub lookback: Option<CurvePoint>,
}

/// A portfolio on the pool's paths over the chosen term.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendPortfolio {
    /// "RI only", "plan only", "RI + plan".
    pub name: String,
    /// Share of the new reservations bought (1 = the RI plan, 0 = none).
    pub ri_share: f64,
    /// The plan's commitment per hour (exact optimum given these reservations).
    pub commitment: f64,
    /// Expected fees of the new reservations.
    pub ri_fees: f64,
    /// Expected fees of the new plan.
    pub plan_fees: f64,
    /// Expected on-demand spend left.
    pub on_demand: f64,
    /// Total = the three above (expected, on the decision paths).
    pub total: f64,
    /// The same in the world where the last four weeks persist.
    pub persist_total: f64,
    /// Its maximum regret over the two worlds.
    pub regret: f64,
    /// Whether this is the portfolio recommended (least maximum regret).
    pub chosen: bool,
}

/// The plan of a spend pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendPlan {
    /// Pool id.
    pub pool_id: String,
    /// The SKUs (rate keys) in order.
    pub skus: Vec<String>,
    /// Paths used.
    pub paths: usize,
    /// SKUs planned on their last four weeks repeated (history too short for the level model).
    pub repeated: Vec<String>,
    /// One per term.
    pub options: Vec<SpendOption>,
    /// Index of the recommended option in `options`, `None` when no commitment saves money.
    pub chosen: Option<usize>,
    /// Commitment per hour of the plans held, at the start.
    pub existing_now: f64,
    /// Expected on-demand-equivalent spend over the chosen option's hours, before any
    /// commitment.
    pub demand: f64,
    /// The chosen portfolio first, then RI only, plan only and RI + plan (see
    /// `portfolios`).
    pub portfolios: Vec<SpendPortfolio>,
    /// The instrument of each option (same order), for what-if evaluations.
    #[serde(skip)]
    pub instruments: Vec<Instrument>,
}

/// What a user asks of a spend pool's recommended term instead of the optimum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Ask {
    /// Evaluate this commitment per hour.
    Commit(f64),
    /// The smallest commitment covering this share of the eligible spend.
    Coverage(f64),
    /// The largest commitment keeping this share of it used.
    Utilisation(f64),
}

/// The answer to an [`Ask`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    /// The question.
    pub ask: Ask,
    /// The offer it was answered on (the recommended term, else the first).
    pub offer_id: String,
    /// The figures at the commitment; `None` when a target cannot be met.
    pub point: Option<CurvePoint>,
}

/// Answers `asks` on the recommended option's paths (rebuilt as [`plan_spend_pool`] built
/// them: same seed, same paths).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] for a commitment that is negative or not finite, a target
/// outside (0, 1], or inputs [`plan_spend_pool`] would refuse.
pub fn what_if(
    inp: &SpendPoolInput<'_>,
    plan: &SpendPlan,
    asks: &[Ask],
) -> Result<Vec<WhatIf>, PlanError> {
    let Some(k) = plan.chosen.or((!plan.options.is_empty()).then_some(0)) else {
        return Ok(Vec::new());
    };
    for a in asks {
        let ok = match *a {
            Ask::Commit(c) => c.is_finite() && c >= 0.0,
            Ask::Coverage(v) | Ask::Utilisation(v) => v > 0.0 && v <= 1.0,
        };
        if !ok {
            return Err(PlanError::InvalidInput(format!(
                "{a:?}: a commitment must be finite and >= 0, a target share in (0, 1]"
            )));
        }
    }
    let (per_sku, _) = sku_paths(inp, plan.paths);
    let full = leftover(inp, &per_sku, plan.paths, inp.horizon_hours, 1.0)?;
    let d = truncate(&full, plan.options[k].hours)?;
    let inst = &plan.instruments[k];
    asks.iter()
        .map(|a| {
            let c = match *a {
                Ask::Commit(c) => Some(c),
                Ask::Coverage(v) => {
                    flex::size_to(&d, inst, flex::Target::Coverage(v)).map_err(flex_err)?
                }
                Ask::Utilisation(v) => {
                    flex::size_to(&d, inst, flex::Target::Utilisation(v)).map_err(flex_err)?
                }
            };
            Ok(WhatIf {
                ask: *a,
                offer_id: plan.options[k].offer_id.clone(),
                point: c.map(|c| flex::evaluate(&d, inst, c)),
            })
        })
        .collect()
}

fn flex_err(e: FlexError) -> PlanError {
    PlanError::InvalidInput(e.to_string())
}

fn rank_of(kind: OfferKind) -> u8 {
    match kind {
        OfferKind::SavingsPlanInstance => RANK_INSTANCE_PLAN,
        k if k.is_spend_based() => RANK_COMPUTE_PLAN,
        _ => RANK_RESERVATION,
    }
}

/// Per-SKU decision paths (`paths × hours` each) and the SKUs that were repeated.
fn sku_paths(inp: &SpendPoolInput<'_>, paths: usize) -> (Vec<Vec<Vec<f64>>>, Vec<String>) {
    let settings = LongRunSettings::default();
    let mut repeated = Vec::new();
    let out = inp
        .history
        .iter()
        .zip(&inp.skus)
        .map(
            |(h, key)| match long_run_paths(h, inp.horizon_hours, paths, inp.seed, &settings) {
                Some(f) => f.paths,
                None => {
                    repeated.push(key.to_string());
                    let tail = &h[h.len().saturating_sub(4 * 168)..];
                    let one: Vec<f64> = (0..inp.horizon_hours)
                        .map(|t| {
                            if tail.is_empty() {
                                0.0
                            } else {
                                tail[t % tail.len()]
                            }
                        })
                        .collect();
                    vec![one; paths]
                }
            },
        )
        .collect();
    (out, repeated)
}

/// Dense `[path][hour][sku]` spend over `hours`, minus reservations (existing, plus `share`
/// of the new ones) and existing plans, applied in the providers' order.
fn leftover(
    inp: &SpendPoolInput<'_>,
    per_sku: &[Vec<Vec<f64>>],
    paths: usize,
    hours: usize,
    share: f64,
) -> Result<SpendPaths, PlanError> {
    let n = inp.skus.len();
    let mut v = vec![0.0; paths * hours * n];
    for p in 0..paths {
        for t in 0..hours {
            let o = (p * hours + t) * n;
            for (j, sku) in per_sku.iter().enumerate() {
                v[o + j] = sku[p][t];
            }
            // Reservations first: each RI pool's capacity over its SKUs, in SKU order.
            for r in &inp.reservations {
                let mut cap = r.existing[t] + share * r.new[t];
                for &j in &r.skus {
                    let x = v[o + j].min(cap);
                    v[o + j] -= x;
                    cap -= x;
                }
            }
            // Then the plans held, highest discount first.
            for e in &inp.existing {
                apply_plan(&mut v[o..o + n], &e.ratio, e.horizon[t]);
            }
        }
    }
    SpendPaths::new(n, hours, paths, v).map_err(flex_err)
}

/// One hour of a plan with commitment `c` on `u` (highest discount first).
fn apply_plan(u: &mut [f64], ratio: &[Option<f64>], c: f64) {
    let mut order: Vec<(usize, f64)> = ratio
        .iter()
        .enumerate()
        .filter_map(|(j, r)| r.map(|r| (j, r)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut left = c;
    for (j, r) in order {
        if left <= 0.0 {
            break;
        }
        let x = u[j].min(left / r);
        u[j] -= x;
        left -= x * r;
    }
}

/// The lookback world: the last [`SPEND_LOOKBACK_DAYS`] days of history after the
/// reservations and plans held then, as one path.
fn lookback_spend(inp: &SpendPoolInput<'_>) -> Option<SpendPaths> {
    let n = inp.skus.len();
    let len = inp.history.first()?.len();
    let hours = (SPEND_LOOKBACK_DAYS * 24).min(len);
    if hours == 0 {
        return None;
    }
    let from = len - hours;
    let mut v = vec![0.0; hours * n];
    for t in 0..hours {
        let o = t * n;
        for j in 0..n {
            v[o + j] = inp.history[j][from + t];
        }
        for r in &inp.reservations {
            // The reservations held then and the RI plan's (as if bought): the rule sizes
            // the plan on what the reservations leave, as a provider's recommender does
            // once the reservations exist.
            let mut cap = r.history.get(from + t).copied().unwrap_or(0.0)
                + r.new.first().copied().unwrap_or(0.0);
            for &j in &r.skus {
                let x = v[o + j].min(cap);
                v[o + j] -= x;
                cap -= x;
            }
        }
        for e in &inp.existing {
            apply_plan(
                &mut v[o..o + n],
                &e.ratio,
                e.history.get(from + t).copied().unwrap_or(0.0),
            );
        }
    }
    SpendPaths::new(n, hours, 1, v).ok()
}

/// Plans a spend pool: per term (payment option by present value) the exact optimum of the
/// plan on the spend the RI plan and the commitments held leave, the providers' lookback
/// recommendation, and the portfolios (RI only, plan only, RI + plan, and the best share of
/// the RI plan when the plan takes over part of the reservations' work).
///
/// # Errors
///
/// [`PlanError::InvalidInput`] for inconsistent inputs (lengths, ratios).
pub fn plan_spend_pool(inp: &SpendPoolInput<'_>) -> Result<SpendPlan, PlanError> {
    let n = inp.skus.len();
    if n == 0 || inp.history.len() != n || inp.horizon_hours == 0 {
        return Err(PlanError::InvalidInput(format!(
            "spend pool {}: {n} SKUs, {} histories, {} horizon hours",
            inp.pool.id(),
            inp.history.len(),
            inp.horizon_hours
        )));
    }
    let paths = inp.paths.clamp(1, MAX_SPEND_PATHS);
    let (per_sku, repeated) = sku_paths(inp, paths);
    let (choices, _) = super::offer_choices(inp.card, inp.pool, inp.cost_of_capital)?;
    let lookback = lookback_spend(inp);
    let mut options = Vec::new();
    let mut instruments = Vec::new();
    let full = leftover(inp, &per_sku, paths, inp.horizon_hours, 1.0)?;
    for c in &choices {
        let Some(offer) = inp.card.offer(&c.id) else {
            continue;
        };
        let r_ref = 1.0 - offer.discount().to_f64().unwrap_or(0.0);
        let ratio: Vec<Option<f64>> = inp
            .skus
            .iter()
            .map(|k| {
                let d = inp.pool.discount_on(offer, k).to_f64().unwrap_or(0.0);
                Some((1.0 - d).clamp(f64::MIN_POSITIVE, 1.0))
            })
            .collect();
        let discounts: Vec<f64> = ratio.iter().flatten().map(|r| 1.0 - r).collect();
        let hours = c.term_hours.min(inp.horizon_hours);
        // PV-adjusted rate relative to the nominal plan rate, and the whole term paid.
        let pv = c.effective_hourly.to_f64().unwrap_or(r_ref) / r_ref.max(f64::MIN_POSITIVE);
        let inst = Instrument {
            id: c.id.clone(),
            rank: rank_of(offer.kind()),
            ratio,
            fee: pv * c.term_hours as f64 / hours as f64,
        };
        let d = truncate(&full, hours)?;
        let sweep = flex::sweep(&d, &inst).map_err(flex_err)?;
        let lb = lookback
            .as_ref()
            .map(|l| flex::sweep(l, &inst).map_err(flex_err))
            .transpose()?
            .map(|s| flex::evaluate(&d, &inst, s.optimum.commitment));
        options.push(SpendOption {
            offer_id: c.id.clone(),
            kind: offer.kind().as_str().to_owned(),
            term_hours: c.term_hours,
            hours,
            discount: 1.0 - r_ref,
            discount_range: (
                discounts.iter().copied().fold(f64::INFINITY, f64::min),
                discounts.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            savings_per_hour: sweep.optimum.savings / hours as f64,
            sweep,
            lookback: lb,
        });
        instruments.push(inst);
    }
    let chosen = options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.sweep.optimum.commitment > 0.0 && o.savings_per_hour > 0.0)
        .max_by(|a, b| {
            a.1.savings_per_hour
                .total_cmp(&b.1.savings_per_hour)
                .then(b.0.cmp(&a.0))
        })
        .map(|(i, _)| i);
    let existing_now = inp
        .existing
        .iter()
        .map(|e| e.horizon.first().copied().unwrap_or(0.0))
        .sum();
    let (portfolios, demand) = match chosen.or(if options.is_empty() { None } else { Some(0) }) {
        Some(k) => {
            let hours = options[k].hours;
            portfolios(inp, &per_sku, paths, hours, &instruments[k])?
        }
        None => (Vec::new(), 0.0),
    };
    Ok(SpendPlan {
        pool_id: inp.pool.id().to_owned(),
        skus: inp.skus.iter().map(ToString::to_string).collect(),
        paths,
        repeated,
        options,
        chosen,
        existing_now,
        demand,
        portfolios,
        instruments,
    })
}

fn truncate(d: &SpendPaths, hours: usize) -> Result<SpendPaths, PlanError> {
    if d.hours() == hours {
        return Ok(d.clone());
    }
    let mut v = Vec::with_capacity(d.paths() * hours * d.skus());
    for p in 0..d.paths() {
        for t in 0..hours {
            v.extend_from_slice(d.hour(p, t));
        }
    }
    SpendPaths::new(d.skus(), hours, d.paths(), v).map_err(flex_err)
}

/// Shares of the RI plan tried with the plan on top (the plan's optimum is exact for each).
const RI_SHARES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// The most a plan may commit per hour (plan rates) on top of `share` of the RI plan: per
/// RI pool, its [`level_cap`] less the reservations held and bought, at the plan's mean rate
/// on the pool's SKUs; per SKU no RI pool covers, its floor (the lowest of the last four
/// weekly means) at its rate. Pools without a sizing note add no bound of their own (their
/// SKUs count by their floor).
fn commitment_cap(inp: &SpendPoolInput<'_>, inst: &Instrument, share: f64) -> f64 {
    let absorbed = absorbed_share(&inp.history);
    let mut cap = 0.0;
    let mut in_layer = vec![false; inp.skus.len()];
    for r in &inp.reservations {
        let ratios: Vec<f64> = r.skus.iter().filter_map(|&j| inst.ratio[j]).collect();
        for &j in &r.skus {
            in_layer[j] = r.level_cap.is_some();
        }
        let (Some(free), false) = (r.level_cap, ratios.is_empty()) else {
            continue;
        };
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let existing = r.existing.first().copied().unwrap_or(0.0);
        let planned = existing + r.new.first().copied().unwrap_or(0.0);
        // Past the RI plan only as far as the fall elsewhere was absorbed by growth in the
        // plan's scope (a migration the plan survives), not where demand vanished.
        let level = planned + absorbed * (free - planned).max(0.0);
        let held = existing + share * r.new.first().copied().unwrap_or(0.0);
        cap += mean * (level - held).max(0.0);
    }
    for (j, h) in inp.history.iter().enumerate() {
        if in_layer[j] {
            continue;
        }
        let Some(r) = inst.ratio[j] else { continue };
        let weeks = crate::forecast::longrun::weekly_means(h);
        let floor = weeks
            .iter()
            .rev()
            .take(4)
            .copied()
            .fold(f64::INFINITY, f64::min);
        if floor.is_finite() {
            cap += r * floor;
        }
    }
    // The plans held use part of it.
    let held_plans: f64 = inp
        .existing
        .iter()
        .map(|e| e.horizon.first().copied().unwrap_or(0.0))
        .sum();
    (cap - held_plans).max(0.0)
}

/// How much of the spend that fell in some SKUs (last four weeks against weeks 13–26
/// before) reappeared as growth in others: 1 when nothing fell or the growth covers the fall
/// (a migration inside the plan's scope), 0 when nothing grew (demand vanished).
fn absorbed_share(history: &[Vec<f64>]) -> f64 {
    let (mut fell, mut grew) = (0.0, 0.0);
    for h in history {
        let w = crate::forecast::longrun::weekly_means(h);
        if w.len() < 26 {
            continue;
        }
        let recent = w[w.len() - 4..].iter().sum::<f64>() / 4.0;
        let before = w[w.len() - 26..w.len() - 12].iter().sum::<f64>() / 14.0;
        let d = recent - before;
        if d < 0.0 {
            fell -= d;
        } else {
            grew += d;
        }
    }
    if fell <= 0.0 {
        1.0
    } else {
        (grew / fell).min(1.0)
    }
}

/// The "recent demand persists" world: per SKU, its last four weeks repeated over `hours`
/// (one path).
fn persist_world(inp: &SpendPoolInput<'_>, hours: usize) -> Vec<Vec<Vec<f64>>> {
    inp.history
        .iter()
        .map(|h| {
            let tail = &h[h.len().saturating_sub(4 * 168)..];
            vec![
                (0..hours)
                    .map(|t| {
                        if tail.is_empty() {
                            0.0
                        } else {
                            tail[t % tail.len()]
                        }
                    })
                    .collect(),
            ]
        })
        .collect()
}

/// The portfolios over `hours` of the chosen option, and the demand before any commitment.
///
/// Candidates: the RI plan alone; for each share of the RI plan in [`RI_SHARES`], the plan's
/// exact optimum on the spend that share leaves, sized on the decision paths and, when it
/// differs, on the "last four weeks persist" world. Each is costed in both worlds and the
/// one with the least maximum regret (its cost − the best candidate's, in each world) is
/// chosen: the plan replaces or tops up reservations only where that is right in both the
/// forecast and the recent-demand world, the same test the RI sizing applies against the
/// lookback rule. Rows: the chosen portfolio first, then RI only, plan only and RI + plan.
fn portfolios(
    inp: &SpendPoolInput<'_>,
    per_sku: &[Vec<Vec<f64>>],
    paths: usize,
    hours: usize,
    inst: &Instrument,
) -> Result<(Vec<SpendPortfolio>, f64), PlanError> {
    let gross = {
        let none = SpendPoolInput {
            reservations: Vec::new(),
            existing: Vec::new(),
            ..inp.clone()
        };
        leftover(&none, per_sku, paths, hours, 0.0)?.expected_total()
    };
    let ri_fees: f64 = inp.reservations.iter().map(|r| r.new_fees).sum();
    let hw = hours as f64;
    let persist = persist_world(inp, hours);
    let mut worlds = Vec::new();
    for share in RI_SHARES {
        worlds.push((
            share,
            leftover(inp, per_sku, paths, hours, share)?,
            leftover(inp, &persist, 1, hours, share)?,
        ));
    }
    let name_of = |share: f64| match share {
        0.0 => "plan only".to_owned(),
        1.0 => "RI + plan".to_owned(),
        s => format!("{:.0} % of the RI plan + plan", 100.0 * s),
    };
    // (name, share index, commitment)
    let mut cands: Vec<(String, usize, f64)> = vec![("RI only".into(), RI_SHARES.len() - 1, 0.0)];
    for (i, (share, d, dp)) in worlds.iter().enumerate() {
        let cap = commitment_cap(inp, inst, *share);
        let c = flex::sweep(d, inst)
            .map_err(flex_err)?
            .optimum
            .commitment
            .min(cap);
        let cp = flex::sweep(dp, inst)
            .map_err(flex_err)?
            .optimum
            .commitment
            .min(cap);
        cands.push((name_of(*share), i, c));
        if (cp - c).abs() > 1e-9 * c.max(1.0) {
            cands.push((
                format!("{} (sized on the last 4 weeks)", name_of(*share)),
                i,
                cp,
            ));
        }
    }
    let mut rows: Vec<SpendPortfolio> = cands
        .iter()
        .map(|(name, i, c)| {
            let (share, d, dp) = &worlds[*i];
            let on_paths = flex::evaluate(d, inst, *c).cost;
            let persist = flex::evaluate(dp, inst, *c).cost;
            SpendPortfolio {
                name: name.clone(),
                ri_share: *share,
                commitment: *c,
                ri_fees: share * ri_fees,
                plan_fees: inst.fee * hw * c,
                on_demand: on_paths - inst.fee * hw * c,
                total: share * ri_fees + on_paths,
                persist_total: share * ri_fees + persist,
                regret: 0.0,
                chosen: false,
            }
        })
        .collect();
    let best = rows.iter().map(|r| r.total).fold(f64::INFINITY, f64::min);
    let best_p = rows
        .iter()
        .map(|r| r.persist_total)
        .fold(f64::INFINITY, f64::min);
    for r in &mut rows {
        r.regret = (r.total - best).max(r.persist_total - best_p);
    }
    let k = (0..rows.len())
        .min_by(|&a, &b| {
            rows[a]
                .regret
                .total_cmp(&rows[b].regret)
                .then(rows[a].total.total_cmp(&rows[b].total))
                .then(a.cmp(&b))
        })
        .unwrap_or(0);
    rows[k].chosen = true;
    let mut keep: Vec<SpendPortfolio> = vec![rows[k].clone()];
    for name in ["RI only", "plan only", "RI + plan"] {
        if let Some(r) = rows.iter().find(|r| r.name == name && !r.chosen) {
            keep.push(r.clone());
        }
    }
    Ok((keep, gross))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = r#"
[[pool]]
id = "sp"
match = { service = ["EC2", "Lambda"] }
unit = "USD/hour"
on_demand_rate = "1"
currency = "USD"
offer = [
  { id = "sp-1y", kind = "savings_plan_compute", term = "1y", payment = "no_upfront", recurring_hourly = "0.74" },
  { id = "sp-3y", kind = "savings_plan_compute", term = "3y", payment = "no_upfront", recurring_hourly = "0.54" },
]
[[pool.rate]]
match = { service = "Lambda" }
discount = { "sp-1y" = "0.12", "sp-3y" = "0.17" }
"#;

    fn key(s: &str) -> SeriesKey {
        SeriesKey(vec![("service".into(), s.into())])
    }

    #[test]
    fn steady_spend_is_committed_and_reservations_come_first() {
        let card = RateCard::from_toml_str(CARD, "r.toml").unwrap();
        let pool = &card.pools()[0];
        let weeks = 12 * 168;
        let ec2: Vec<f64> = (0..weeks).map(|t| 10.0 + (t % 24) as f64 * 0.1).collect();
        let lambda: Vec<f64> = (0..weeks).map(|t| 4.0 + (t % 7) as f64 * 0.2).collect();
        let horizon = 2 * 8760;
        let ri = ReservationLayer {
            pool_id: "ri".into(),
            skus: vec![0],
            existing: vec![0.0; horizon],
            new: vec![6.0; horizon],
            new_fees: 6.0 * 0.6 * 8760.0,
            history: vec![0.0; weeks],
            level_cap: None,
        };
        let input = SpendPoolInput {
            card: &card,
            pool,
            skus: vec![key("EC2"), key("Lambda")],
            history: vec![ec2, lambda],
            reservations: vec![ri],
            existing: Vec::new(),
            horizon_hours: horizon,
            paths: 8,
            seed: 1,
            cost_of_capital: Decimal::ZERO,
        };
        let plan = plan_spend_pool(&input).unwrap();
        assert_eq!(plan.options.len(), 2);
        let k = plan.chosen.expect("steady spend is worth committing");
        let o = &plan.options[k];
        assert!(o.sweep.optimum.commitment > 0.0 && o.sweep.optimum.savings > 0.0);
        // The 1y option is evaluated on one year, the 3y on the two-year horizon with its
        // fee scaled by 3/2.
        assert_eq!(plan.options[0].hours, 8760);
        assert_eq!(plan.options[1].hours, horizon);
        assert!((plan.options[1].discount_range.0 - 0.17).abs() < 1e-12);
        // Portfolios: RI + plan is never worse than RI only (the plan may be zero), and the
        // rows are sorted by total.
        let by = |n: &str| plan.portfolios.iter().find(|p| p.name == n).unwrap();
        assert!(by("RI + plan").total <= by("RI only").total + 1e-6);
        // The chosen portfolio comes first and has the least maximum regret.
        assert!(plan.portfolios[0].chosen);
        assert_eq!(plan.portfolios.iter().filter(|p| p.chosen).count(), 1);
        assert!(
            plan.portfolios
                .iter()
                .all(|p| plan.portfolios[0].regret <= p.regret + 1e-9)
        );
        // The lookback recommendation exists (12 weeks of history) and is evaluated.
        assert!(o.lookback.is_some());
    }
}

// ----- policy backtest ------------------------------------------------------------------

/// A spend pool's decision at a past date, realised on what happened after it: the RI plan
/// alone, the plan alone, both, the portfolio chosen at the date, the RI plan with the
/// providers' 30-day Savings Plan recommendation on top, and the hindsight best.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRealised {
    /// The spend pool.
    pub pool: String,
    /// The term chosen at the date (`None`: no commitment saved money).
    pub offer: Option<String>,
    /// The portfolio chosen at the date (the cheapest on the decision paths).
    pub chosen: String,
    /// Its commitment per hour.
    pub commitment: f64,
    /// Realised: nothing new bought (commitments held still apply).
    pub on_demand: Money,
    /// Realised: the RI plan, no new plan.
    pub ri_only: Money,
    /// Realised: no new reservations, the plan's optimum without them.
    pub plan_only: Money,
    /// Realised: the RI plan and the plan on top (its optimum within the level caps).
    pub ri_plus_plan: Money,
    /// Realised: the chosen portfolio.
    pub chosen_cost: Money,
    /// Realised: the RI plan and the 30-day lookback commitment on top.
    pub lookback: Option<Money>,
    /// The hindsight best: for each share of the RI plan, the exact plan optimum on the
    /// actual spend; the cheapest.
    pub hindsight: Money,
}

/// Unit series covered by a reservation pool that the spend pool also selects, as
/// on-demand-equivalent spend (units × the reservation pool's on-demand rate): the SKUs of a
/// spend pool when the data is usage, not a bill (the policy backtest's series).
fn unit_spend(
    card: &RateCard,
    spend_pool: &Pool,
    series: &[UsageSeries],
) -> Vec<(SeriesKey, DateTime<Utc>, Vec<f64>)> {
    let mut out = Vec::new();
    for s in series {
        if !spend_pool.match_rule().selector().matches(&s.key) {
            continue;
        }
        let Some(pool) = card
            .pools()
            .iter()
            .find(|p| !p.is_spend_pool() && p.covers_series(&s.key, &s.unit))
        else {
            continue;
        };
        let od: f64 = pool.on_demand_rate().try_into().unwrap_or(0.0);
        out.push((
            s.key.clone(),
            s.start,
            s.values
                .iter()
                .map(|v| pool.to_pool_units_of(&s.key, *v) * od)
                .collect(),
        ));
    }
    out
}

/// Realises a spend pool's decision at `start` (made on `history`, the RI plan `new`
/// bought) on the `actuals` of the `hours` after it. `None` when the pool selects none of the
/// reservation pools' series.
#[allow(clippy::too_many_arguments)]
pub fn realise_spend_decision(
    card: &RateCard,
    inventory: &Inventory,
    spend_pool: &Pool,
    history: &[UsageSeries],
    actuals: &[UsageSeries],
    start: DateTime<Utc>,
    hours: usize,
    (new, caps): (&[NewReservation], &[(String, f64)]),
    paths: usize,
    seed: u64,
    cost_of_capital: Decimal,
) -> Result<Option<SpendRealised>, PlanError> {
    let hist = unit_spend(card, spend_pool, history);
    if hist.is_empty() || hours == 0 {
        return Ok(None);
    }
    let len = hist.iter().map(|h| h.2.len()).max().unwrap_or(0);
    let skus: Vec<SeriesKey> = hist.iter().map(|h| h.0.clone()).collect();
    let history_v: Vec<Vec<f64>> = hist
        .iter()
        .map(|h| {
            let mut v = vec![0.0; len - h.2.len()];
            v.extend(&h.2);
            v
        })
        .collect();
    let frame = SpendFrame {
        start,
        hist_start: start - Duration::hours(len as i64),
        hist_len: len,
        horizon_hours: hours,
    };
    let input = SpendPoolInput {
        card,
        pool: spend_pool,
        reservations: reservation_layers(card, inventory, &skus, &frame, new, caps),
        existing: existing_plans(inventory, spend_pool, &skus, &frame),
        skus: skus.clone(),
        history: history_v,
        horizon_hours: hours,
        paths,
        seed,
        cost_of_capital,
    };
    let plan = plan_spend_pool(&input)?;
    // The actual spend of the window, one path.
    let act = unit_spend(card, spend_pool, actuals);
    let mut actual = vec![0.0; hours * skus.len()];
    for (j, key) in skus.iter().enumerate() {
        let Some((_, s0, v)) = act.iter().find(|a| &a.0 == key) else {
            continue;
        };
        let off = (start - *s0).num_hours();
        if off < 0 || off as usize + hours > v.len() {
            return Err(PlanError::InvalidInput(format!(
                "series {key} does not cover the {hours} hours after {start}"
            )));
        }
        for t in 0..hours {
            actual[t * skus.len() + j] = v[off as usize + t];
        }
    }
    let per_sku: Vec<Vec<Vec<f64>>> = (0..skus.len())
        .map(|j| vec![(0..hours).map(|t| actual[t * skus.len() + j]).collect()])
        .collect();
    let k = plan.chosen.or((!plan.options.is_empty()).then_some(0));
    let ri_fees: f64 = input.reservations.iter().map(|r| r.new_fees).sum();
    let cur = spend_pool.currency();
    let money = |v: f64| -> Result<Money, PlanError> {
        Ok(crate::money::Rate::new(Money::new(Decimal::ONE, cur))
            .cost_of(v.max(0.0))?
            .round())
    };
    // Realised cost of (share of the RI plan, commitment) on the actual spend.
    let realise = |share: f64, c: f64| -> Result<f64, PlanError> {
        let d = leftover(&input, &per_sku, 1, hours, share)?;
        let plan_cost = match k {
            Some(k) if c > 0.0 => {
                let inst = &plan.instruments[k];
                flex::evaluate(&d, inst, c).cost
            }
            _ => d.expected_total(),
        };
        Ok(share * ri_fees + plan_cost)
    };
    // RI + plan as recommended (bounded by the level caps), not the raw optimum.
    let optimum = plan
        .portfolios
        .iter()
        .find(|p| p.ri_share == 1.0 && p.name.starts_with("RI + plan"))
        .map_or(0.0, |p| p.commitment);
    let plan_only_c = plan
        .portfolios
        .iter()
        .find(|p| p.ri_share == 0.0)
        .map_or(0.0, |p| p.commitment);
    let (chosen_name, chosen_share, chosen_c) = plan
        .portfolios
        .first()
        .map_or(("RI only".to_owned(), 1.0, 0.0), |p| {
            (p.name.clone(), p.ri_share, p.commitment)
        });
    let mut hindsight = f64::INFINITY;
    if let Some(k) = k {
        for share in RI_SHARES {
            let d = leftover(&input, &per_sku, 1, hours, share)?;
            let s = flex::sweep(&d, &plan.instruments[k]).map_err(flex_err)?;
            hindsight = hindsight.min(share * ri_fees + s.optimum.cost);
        }
    }
    let ri_only = realise(1.0, 0.0)?;
    Ok(Some(SpendRealised {
        pool: spend_pool.id().to_owned(),
        offer: plan.chosen.map(|k| plan.options[k].offer_id.clone()),
        chosen: chosen_name,
        commitment: chosen_c,
        on_demand: money(realise(0.0, 0.0)?)?,
        ri_only: money(ri_only)?,
        plan_only: money(realise(0.0, plan_only_c)?)?,
        ri_plus_plan: money(realise(1.0, optimum)?)?,
        chosen_cost: money(realise(chosen_share, chosen_c)?)?,
        lookback: match k.and_then(|k| plan.options[k].lookback.as_ref()) {
            Some(l) => Some(money(realise(1.0, l.commitment)?)?),
            None => None,
        },
        hindsight: money(hindsight.min(ri_only))?,
    }))
}
