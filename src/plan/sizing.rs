//! Robust sizing: commit only to demand the evidence supports.
//!
//! The optimizer's levels are exact for the demand paths it is given; the paths are a model.
//! These rules bound its levels by what the history itself shows, so that a model error costs
//! on-demand prices for a while rather than three years of unused commitments:
//!
//! 1. **Held level** (the cap). A unit of commitment pays off when demand reaches it in at
//!    least a break-even share `u` of the hours (`u` = effective rate ÷ on-demand rate of the
//!    deepest discount offered). The held level is the highest level demand reached in that
//!    share of the hours of the last `min_hold_days` days, or of the last `2 × min_hold_days`
//!    (the `1 − u` quantile of each window): a level held for the rule's minimum time, never
//!    one only spikes reached. Known events that raise demand (a launch, a migration into the
//!    pool) lift it by their largest rise. New commitments in a year are capped at the held
//!    level minus the most that existing commitments cover in that year.
//! 2. **Floor.** The lowest break-even level of each of the last `floor_days / 7` weeks,
//!    scaled down by the long-run projection when it declines and by events that lower demand:
//!    the demand that has persisted through every recent week.
//! 3. **Trust.** Units between the floor and the (capped) optimum are kept in proportion
//!    `1 / (1 + (e / trust_error)²)`, `e` the long-run model's downside error (how far the
//!    term average fell short of its projection in the backtests): a forecast that has been
//!    wrong by 25 % keeps half of them.
//! 4. **Peers.** Pools that differ in exactly one match dimension (the same type in other
//!    regions) are the pool's peers; when some have fallen (last 4 weeks at least 30 % below
//!    their usual level, the median week of the half year before) while this pool has neither
//!    grown nor fallen with them, floor and trust are scaled by one minus the peers' mean fall ([`PeerSignal`]):
//!    a migration under way or done elsewhere is evidence for this pool.
//! 5. **The provider's rule in two worlds.** The 30-day lookback recommendation, bounded by
//!    the same rules, is evaluated beside the bounded optimum on the same paths (risk
//!    objective) and on the last four weeks of demand repeated over the horizon (the world in
//!    which recent demand simply persists). Each candidate's regret in a world is how much
//!    more it costs there than the other; the candidate whose larger regret is smaller is
//!    recommended (ties keep the optimum). The model's paths decide where the model is
//!    confident enough to beat persistence; the rule wins where the model's edge on its own
//!    paths is smaller than what it gives up if nothing changes.
//!
//! [`SizingNote`] records every figure and the sentence the recommendation's rationale shows.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{Levels, LookbackRecommendation, PlanError, PoolProblem, Pricing, Risk};
use crate::forecast::{DemandForecast, LevelEvidence, LongRunSettings, quantile_sorted};
use crate::money::Money;
use crate::pricing::Pool;

/// Settings of the sizing rules.
#[derive(Debug, Clone, PartialEq)]
pub struct SizingSettings {
    /// Days a level must have held (at the break-even share of hours) to be committed to.
    pub min_hold_days: usize,
    /// Days whose weekly minimum is the floor.
    pub floor_days: usize,
    /// Downside error (log) at which half of the units above the floor are kept.
    pub trust_error: f64,
    /// The lookback window of the provider's rule the plan is compared with, in days.
    pub compare_lookback_days: usize,
    /// The long-run level model.
    pub long_run: LongRunSettings,
}

impl Default for SizingSettings {
    fn default() -> Self {
        Self {
            min_hold_days: 14,
            floor_days: 28,
            trust_error: 0.25,
            compare_lookback_days: 30,
            long_run: LongRunSettings::default(),
        }
    }
}

/// How known future events change a pool's demand: per forecast hour, demand with the events
/// ÷ demand without them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventEffect {
    factors: Vec<f64>,
}

impl EventEffect {
    /// No events.
    pub fn none() -> Self {
        Self::default()
    }

    /// From per-hour factors (each finite and ≥ 0; others are read as 1).
    pub fn from_factors(factors: Vec<f64>) -> Self {
        Self {
            factors: factors
                .into_iter()
                .map(|f| if f.is_finite() && f >= 0.0 { f } else { 1.0 })
                .collect(),
        }
    }

    /// Whether any hour is changed.
    pub fn is_none(&self) -> bool {
        self.factors.iter().all(|f| (f - 1.0).abs() < 1e-9)
    }

    /// The factor at hour `t` (the last known factor after the forecast's horizon).
    pub fn at(&self, t: usize) -> f64 {
        match self.factors.get(t) {
            Some(f) => *f,
            None => self.factors.last().copied().unwrap_or(1.0),
        }
    }

    /// The largest rise (≥ 1).
    pub fn rise(&self) -> f64 {
        self.factors.iter().copied().fold(1.0, f64::max)
    }

    /// The factor at the end of the forecast, at most 1: how far events lower demand for good.
    pub fn fall(&self) -> f64 {
        self.factors.last().copied().unwrap_or(1.0).min(1.0)
    }

    /// `paths` scaled hour by hour.
    pub fn apply(&self, paths: &mut [Vec<f64>]) {
        if self.is_none() {
            return;
        }
        for p in paths {
            for (t, v) in p.iter_mut().enumerate() {
                *v *= self.at(t);
            }
        }
    }
}

/// The event effect on `pool`: its series' point forecasts with events ÷ before events,
/// summed over the series it covers.
pub fn pool_event_effect(pool: &Pool, forecasts: &[DemandForecast]) -> EventEffect {
    let mut with: Vec<f64> = Vec::new();
    let mut without: Vec<f64> = Vec::new();
    let mut any = false;
    for f in forecasts
        .iter()
        .filter(|f| pool.covers_series(&f.key, &f.unit))
    {
        let effect = f.event_effect();
        let point = &f.forecast.point;
        if with.len() < point.len() {
            with.resize(point.len(), 0.0);
            without.resize(point.len(), 0.0);
        }
        for (t, v) in point.iter().enumerate() {
            let factor = effect.get(t).copied().unwrap_or(1.0);
            any |= (factor - 1.0).abs() > 1e-9;
            with[t] += v.max(0.0);
            without[t] += if factor > 0.0 {
                v.max(0.0) / factor
            } else {
                0.0
            };
        }
    }
    if !any {
        return EventEffect::none();
    }
    EventEffect::from_factors(
        with.iter()
            .zip(&without)
            .map(|(a, b)| if *b > 0.0 { a / b } else { 1.0 })
            .collect(),
    )
}

/// Evidence from a pool's peers: pools that differ from it in exactly one match dimension
/// (the same instance type in other regions, say). When peers along a dimension have fallen
/// (their last 4 weeks at least [`PEER_FALL`] below their usual level: the median week of the
/// half year before, which a high season or a burst does not move) while this pool has
/// neither grown (its last 4 weeks at most 30 % above its lowest 4 weeks of the half year: the
/// destination of a migration grows as its peers fall) nor fallen with them (its last 4 weeks
/// at least 60 % of its usual level), the pool is likely next (a migration away from a type, region by
/// region, done or under way): its floor and trust are scaled by one minus the peers' mean
/// fall (a peer that did not fall counts as 0). A drop the pool shares (the end of a season, a
/// spike passing) is no evidence of a migration.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PeerSignal {
    /// The dimension the peers differ in (`None`: no peer fell).
    pub dimension: Option<String>,
    /// Peers along that dimension with demand in the last half year.
    pub peers: usize,
    /// Those that fell, by pool id, with their fall (1 − last 4 weeks ÷ usual level).
    pub fallen: Vec<(String, f64)>,
}

/// How far a peer's last 4 weeks must be below its usual level to count as fallen.
pub const PEER_FALL: f64 = 0.3;

impl PeerSignal {
    /// The peers' mean fall (0 without peers): what the floor and trust lose.
    pub fn share(&self) -> f64 {
        if self.peers == 0 {
            0.0
        } else {
            self.fallen.iter().map(|(_, f)| f).sum::<f64>() / self.peers as f64
        }
    }
}

/// The last 4 weeks' mean demand, the level held before them (the highest level the half year
/// kept for 4 weeks running: the highest rolling 4-week minimum of the weekly means, so a
/// one-week burst does not count) and the lowest 4-week mean of the last 26 weeks; and the
/// mean of the first 4 of those weeks (where the half year started).
fn recent_levels(hist: &[f64]) -> Option<PeerLevels> {
    let w = crate::forecast::longrun::weekly_means(hist);
    if w.len() < 8 {
        return None;
    }
    let tail = &w[w.len().saturating_sub(26)..];
    let mean4 = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let min4 = |s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min);
    let n = tail.len();
    Some(PeerLevels {
        recent: mean4(&tail[n - 4..]),
        held: tail[..n - 4].windows(4).map(min4).fold(0.0, f64::max),
        trough: tail.windows(4).map(mean4).fold(f64::INFINITY, f64::min),
        start: mean4(&tail[..4]),
    })
}

/// What [`recent_levels`] measures of one pool's last half year.
#[derive(Debug, Clone, Copy)]
struct PeerLevels {
    recent: f64,
    held: f64,
    trough: f64,
    start: f64,
}

impl PeerLevels {
    /// How far the last 4 weeks are below the level held before them, when that is at least
    /// [`PEER_FALL`] and the pool is not simply back where the half year started (a season or
    /// a burst that passed).
    fn fall(&self) -> Option<f64> {
        if self.held <= 0.0 || self.recent >= (1.0 - PEER_FALL) * self.start {
            return None;
        }
        Some((1.0 - self.recent / self.held).clamp(0.0, 1.0)).filter(|f| *f >= PEER_FALL)
    }

    /// Neither grown in the half year (the destination of a migration grows as its peers
    /// fall) nor fallen itself.
    fn steady(&self) -> bool {
        self.recent <= 1.3 * self.trough && self.fall().is_none()
    }
}

/// The peer signal of every pool of `card` (in card order) from the pools' hourly histories
/// (`histories[i]` of `card.pools()[i]`).
pub fn peer_signals(card: &crate::pricing::RateCard, histories: &[Vec<f64>]) -> Vec<PeerSignal> {
    let pools = card.pools();
    let levels: Vec<Option<PeerLevels>> = histories.iter().map(|h| recent_levels(h)).collect();
    let fall = |j: usize| levels[j].and_then(|l| l.fall());
    let mut out = Vec::with_capacity(pools.len());
    for (i, p) in pools.iter().enumerate() {
        let mut best = PeerSignal::default();
        // Only a pool that has neither dropped with its peers nor grown in the half year (the
        // destination of a migration grows as its peers fall) carries their signal.
        let steady = levels[i].is_some_and(|l| l.steady());
        let rules = p.match_rule().rules();
        if steady {
            for dim in rules.keys() {
                let mut peers = 0;
                let mut down = Vec::new();
                for (j, q) in pools.iter().enumerate() {
                    let qr = q.match_rule().rules();
                    let same_elsewhere = j != i
                        && q.series_unit() == p.series_unit()
                        && qr.len() == rules.len()
                        && qr.get(dim).is_some_and(|v| Some(v) != rules.get(dim))
                        && rules.iter().all(|(k, v)| k == dim || qr.get(k) == Some(v));
                    if !same_elsewhere || !levels[j].is_some_and(|l| l.held > 0.0) {
                        continue;
                    }
                    peers += 1;
                    if let Some(f) = fall(j) {
                        down.push((q.id().to_owned(), f));
                    }
                }
                let cand = PeerSignal {
                    dimension: Some(dim.clone()),
                    peers,
                    fallen: down,
                };
                if !cand.fallen.is_empty() && cand.share() > best.share() {
                    best = cand;
                }
            }
        }
        out.push(best);
    }
    out
}

/// What the sizing rules found and chose for one pool (units per hour, new commitments in
/// the first year unless stated).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizingNote {
    /// What the decision's demand paths came from.
    pub basis: String,
    /// The long-run model's evidence, when the history allowed one.
    pub evidence: Option<LevelEvidence>,
    /// Break-even share of hours of the deepest discount.
    pub break_even: f64,
    /// The held level (total demand) the cap is derived from.
    pub held_level: f64,
    /// The floor (total demand).
    pub floor_level: f64,
    /// Share of the units above the floor kept.
    pub trust: f64,
    /// Largest rise and lasting fall of demand from known events.
    pub event_rise: f64,
    /// See `event_rise`.
    pub event_fall: f64,
    /// What the pool's peers show.
    pub peers: PeerSignal,
    /// New units the optimizer chose on the paths, first year.
    pub optimizer_units: f64,
    /// New units recommended, first year.
    pub chosen_units: f64,
    /// New units of the lookback rule after the same bounds, first year.
    pub lookback_units: Option<f64>,
    /// Risk objective of the lookback rule − the recommendation's, on the same paths
    /// (positive: the recommendation is cheaper).
    pub lookback_gap: Option<Money>,
    /// Cost of the lookback rule − the recommendation's if the last four weeks' demand
    /// persisted (positive: the recommendation is cheaper there too).
    pub recent_gap: Option<Money>,
    /// Whether the lookback rule's levels were recommended (its larger regret, on the paths
    /// or if recent demand persists, is the smaller).
    pub adopted_lookback: bool,
    /// The rationale in words.
    pub rationale: String,
}

/// The history a decision is sized from: hourly total demand and existing coverage, ending
/// where the plan starts.
#[derive(Debug, Clone, Copy)]
pub struct SizingHistory<'a> {
    /// Hourly demand of the pool (units).
    pub demand: &'a [f64],
    /// Existing commitments over the plan's horizon, per hour (units).
    pub existing: &'a [f64],
}

/// The level reached in at least `share` of the last `hours` hours of `demand`.
fn reached(demand: &[f64], hours: usize, share: f64) -> f64 {
    let n = demand.len().min(hours);
    if n == 0 {
        return 0.0;
    }
    let mut v: Vec<f64> = demand[demand.len() - n..]
        .iter()
        .map(|x| if x.is_finite() { x.max(0.0) } else { 0.0 })
        .collect();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, (1.0 - share).clamp(0.0, 1.0))
}

/// The held level: the higher of the levels reached in the break-even share of the last
/// `days` and `2 × days` days.
pub fn held_level(demand: &[f64], days: usize, share: f64) -> f64 {
    reached(demand, days * 24, share).max(reached(demand, 2 * days * 24, share))
}

/// The floor: the lowest of the levels reached in the break-even share of each of the last
/// `days / 7` weeks (of the whole history when shorter).
pub fn floor_level(demand: &[f64], days: usize, share: f64) -> f64 {
    let weeks = (days / 7).max(1);
    let mut floor = f64::INFINITY;
    let mut end = demand.len();
    for _ in 0..weeks {
        if end == 0 {
            break;
        }
        let from = end.saturating_sub(168);
        floor = floor.min(reached(&demand[from..end], 168, share));
        end = from;
    }
    if floor.is_finite() { floor } else { 0.0 }
}

/// Break-even share of the deepest discount of `pricing` (1 when nothing is offered).
pub fn break_even(pricing: &Pricing) -> f64 {
    let od = f64_of(pricing.on_demand_hourly);
    if od <= 0.0 {
        return 1.0;
    }
    pricing
        .offers
        .iter()
        .map(|o| f64_of(o.effective_hourly) / od)
        .fold(1.0, f64::min)
        .clamp(0.0, 1.0)
}

fn f64_of(d: rust_decimal::Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// Trust in the units above the floor, from the long-run model's downside error.
pub fn trust(evidence: Option<&LevelEvidence>, settings: &SizingSettings) -> f64 {
    let e = evidence.map_or(settings.trust_error, |e| e.downside_error);
    1.0 / (1.0 + (e / settings.trust_error.max(1e-9)).powi(2))
}

/// The bounds the rules put on new commitments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Cap on total demand committed (existing + new).
    pub held: f64,
    /// Floor of total demand.
    pub floor: f64,
    /// Share of units above the floor kept.
    pub trust: f64,
}

impl Bounds {
    /// The rules' bounds from the history, evidence and events.
    pub fn new(
        history: &[f64],
        share: f64,
        evidence: Option<&LevelEvidence>,
        events: &EventEffect,
        peers: &PeerSignal,
        settings: &SizingSettings,
    ) -> Self {
        let held = held_level(history, settings.min_hold_days, share) * events.rise();
        let decline = evidence.map_or(1.0, |e| e.projected_ratio.min(1.0));
        let keep = 1.0 - peers.share();
        let floor =
            floor_level(history, settings.floor_days, share) * decline * events.fall() * keep;
        Self {
            held,
            floor: floor.min(held),
            trust: trust(evidence, settings) * keep,
        }
    }

    /// `levels` bounded: per year, the new units capped at the held level less the most
    /// existing commitments cover that year, and the units above the floor shrunk by trust.
    /// Whole units round to the nearest unit within the cap.
    pub fn apply(
        &self,
        problem: &PoolProblem,
        existing: &[f64],
        levels: &Levels,
        whole_units: bool,
    ) -> Levels {
        let blocks = problem.blocks().max(1);
        let mut totals = Vec::with_capacity(blocks);
        for k in 0..blocks {
            let (from, to) = problem.block_range(k);
            let covered = existing
                .get(from..to.min(existing.len()))
                .unwrap_or(&[])
                .iter()
                .copied()
                .fold(0.0, f64::max);
            let cap = (self.held - covered).max(0.0);
            let floor = (self.floor - covered).max(0.0);
            let chosen = problem.coverage_of_block(levels, k).min(cap);
            let floor = floor.min(chosen);
            let mut x = floor + self.trust * (chosen - floor);
            if whole_units {
                x = x.round().min(cap.floor()).max(0.0);
            }
            totals.push(x);
        }
        let long_blocks = (0..blocks)
            .filter(|&k| problem.coverage_of_block(&long_only(levels), k) > 0.0)
            .collect::<Vec<_>>();
        let three_year = if levels.three_year > 0.0 {
            long_blocks
                .iter()
                .map(|&k| totals[k])
                .fold(levels.three_year, f64::min)
        } else {
            0.0
        };
        let one_year = if levels.one_year.is_empty() {
            Vec::new()
        } else {
            (0..levels.one_year.len())
                .map(|k| {
                    let long = if long_blocks.contains(&k) {
                        three_year
                    } else {
                        0.0
                    };
                    (totals.get(k).copied().unwrap_or(0.0) - long).max(0.0)
                })
                .collect()
        };
        Levels {
            three_year,
            one_year,
        }
    }
}

fn long_only(levels: &Levels) -> Levels {
    Levels {
        three_year: levels.three_year,
        one_year: vec![0.0; levels.one_year.len()],
    }
}

/// New units of `levels` in the first year.
pub fn first_year_units(problem: &PoolProblem, levels: &Levels) -> f64 {
    problem.coverage_of_block(levels, 0)
}

/// The sizing decision of one pool.
pub struct SizingInput<'a> {
    /// The problem on the decision's demand paths.
    pub problem: &'a PoolProblem,
    /// Its pricing.
    pub pricing: &'a Pricing,
    /// The risk setting.
    pub risk: Risk,
    /// The optimizer's levels on the paths.
    pub optimal: &'a Levels,
    /// Whole-unit pool.
    pub whole_units: bool,
    /// History and existing coverage.
    pub history: SizingHistory<'a>,
    /// The long-run evidence.
    pub evidence: Option<&'a LevelEvidence>,
    /// What the paths came from.
    pub basis: &'a str,
    /// Known events.
    pub events: &'a EventEffect,
    /// What the pool's peers show.
    pub peers: &'a PeerSignal,
    /// The lookback rule's recommendation to compare with.
    pub lookback: Option<&'a LookbackRecommendation>,
    /// The problem on the last four weeks of demand repeated over the horizon: the world in
    /// which recent demand persists.
    pub recent: Option<&'a PoolProblem>,
}

/// The recommended levels and why.
///
/// # Errors
///
/// [`PlanError`] when levels cannot be evaluated on the problem.
pub fn decide_levels(
    input: &SizingInput<'_>,
    settings: &SizingSettings,
) -> Result<(Levels, SizingNote), PlanError> {
    let pb = input.problem;
    let share = break_even(input.pricing);
    let bounds = Bounds::new(
        input.history.demand,
        share,
        input.evidence,
        input.events,
        input.peers,
        settings,
    );
    let existing = input.history.existing;
    let mut levels = bounds.apply(pb, existing, input.optimal, input.whole_units);
    let objective = pb.objective(input.risk, &levels)?;
    let mut lookback_units = None;
    let mut lookback_gap = None;
    let mut recent_gap = None;
    let mut adopted = false;
    if let Some(rec) = input.lookback {
        let l = pb.levels_for_lookback(rec, true)?;
        let l = bounds.apply(pb, existing, &l, input.whole_units);
        let o = pb.objective(input.risk, &l)?;
        lookback_units = Some(first_year_units(pb, &l));
        lookback_gap = o.checked_sub(objective).ok();
        // Regret of each candidate in each world: on the paths, and if recent demand
        // simply persists. The one whose larger regret is smaller is recommended.
        let (mut ours_regret, mut rule_regret) = (
            (objective.amount() - o.amount()).max(Decimal::ZERO),
            (o.amount() - objective.amount()).max(Decimal::ZERO),
        );
        if let Some(recent) = input.recent {
            let a = recent.objective(Risk::Balanced, &levels)?.amount();
            let b = recent.objective(Risk::Balanced, &l)?.amount();
            recent_gap = Some(Money::new(b - a, objective.currency()));
            ours_regret = ours_regret.max((a - b).max(Decimal::ZERO));
            rule_regret = rule_regret.max((b - a).max(Decimal::ZERO));
        }
        if rule_regret < ours_regret {
            adopted = true;
            levels = l;
        }
    }
    let optimizer_units = first_year_units(pb, input.optimal);
    let chosen_units = first_year_units(pb, &levels);
    let mut note = SizingNote {
        basis: input.basis.to_owned(),
        evidence: input.evidence.cloned(),
        break_even: share,
        held_level: bounds.held,
        floor_level: bounds.floor,
        trust: bounds.trust,
        event_rise: input.events.rise(),
        event_fall: input.events.fall(),
        peers: input.peers.clone(),
        optimizer_units,
        chosen_units,
        lookback_units,
        lookback_gap,
        recent_gap,
        adopted_lookback: adopted,
        rationale: String::new(),
    };
    note.rationale = rationale(&note, settings);
    Ok((levels, note))
}

fn fmt_units(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The rationale sentence of a sizing decision.
pub fn rationale(n: &SizingNote, settings: &SizingSettings) -> String {
    let mut s = String::new();
    match &n.evidence {
        Some(e) => s.push_str(&format!(
            "Long-run level {} /h ({} model over {} weeks; projected term average {:.0} % of it, \
             p10–p90 {}–{} /h; backtested downside error {:.0} % over {} origins). ",
            fmt_units(e.level),
            e.model.name(),
            e.weeks,
            e.projected_ratio * 100.0,
            fmt_units(e.term_average[0]),
            fmt_units(e.term_average[2]),
            e.downside_error * 100.0,
            e.origins
        )),
        None => s.push_str(&format!("Decided on {}. ", n.basis)),
    }
    if let Some(d) = n.evidence.as_ref().and_then(|e| e.dip) {
        s.push_str(&format!(
            "The last week ({} /h) was a dip the same week a year earlier also had, so the level \
             is the four weeks before it. ",
            fmt_units(d)
        ));
    }
    let lifted = if n.event_rise > 1.0 + 1e-9 {
        format!(
            " in the history, {} /h with the events' rise",
            fmt_units(n.held_level)
        )
    } else {
        String::new()
    };
    s.push_str(&format!(
        "Held ≥ {} days at the break-even share ({:.0} % of hours): {} /h{lifted}; floor of the last {} weeks: {} /h; \
         {:.0} % of the units above the floor kept. ",
        settings.min_hold_days,
        n.break_even * 100.0,
        fmt_units(n.held_level / n.event_rise.max(1.0)),
        (settings.floor_days / 7).max(1),
        fmt_units(n.floor_level),
        n.trust * 100.0
    ));
    if n.event_rise > 1.0 + 1e-9 || n.event_fall < 1.0 - 1e-9 {
        s.push_str(&format!(
            "Known events: up to ×{:.2}, ending at ×{:.2}. ",
            n.event_rise, n.event_fall
        ));
    }
    if let (Some(dim), false) = (&n.peers.dimension, n.peers.fallen.is_empty()) {
        s.push_str(&format!(
            "{} of {} pools with another {dim} have fallen ({}): floor and trust scaled by {:.0} %. ",
            n.peers.fallen.len(),
            n.peers.peers,
            n.peers
                .fallen
                .iter()
                .map(|(id, f)| format!("{id} by {:.0} %", f * 100.0))
                .collect::<Vec<_>>()
                .join(", "),
            (1.0 - n.peers.share()) * 100.0
        ));
    }
    s.push_str(&format!(
        "Optimum on the paths {} new units, recommended {}",
        fmt_units(n.optimizer_units),
        fmt_units(n.chosen_units)
    ));
    if let (Some(u), Some(g)) = (n.lookback_units, &n.lookback_gap) {
        let signed = |m: &Money| {
            let r = m.round();
            if r.amount() >= Decimal::ZERO {
                format!("{r} cheaper")
            } else {
                format!("{} dearer", Money::new(-r.amount(), r.currency()))
            }
        };
        let recent = n
            .recent_gap
            .as_ref()
            .map(|r| format!(" and {} if recent demand persists", signed(r)))
            .unwrap_or_default();
        s.push_str(&format!(
            "; against the {}-day lookback rule ({} units) the optimum is {} on the paths{recent}, so {} recommended.",
            settings.compare_lookback_days,
            fmt_units(u),
            signed(g),
            if n.adopted_lookback {
                "the rule's units are"
            } else {
                "it is"
            }
        ));
    } else {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests;
