//! Known future events (launches, migrations, decommissions, growth) read
//! from a TOML file and applied to forecasts.
//!
//! # File format
//!
//! ```toml
//! [[event]]
//! name = "EU launch"
//! kind = "launch"                  # launch | migration | decommission | growth
//! match = { region = "eu-west-1" } # absent or {} = every series
//! start = "2026-12-01"             # date (00:00 UTC) or RFC 3339 datetime
//! ramp = "4w"                      # optional: <whole number><h|d|w>; absent = step change
//! effect = { multiply = 1.25 }     # or { add = 40.0 } or (growth only) { rate_per_year = 0.2 }
//! end = "2027-06-01"               # optional, exclusive: no effect from this instant on
//! note = "free text"               # optional, ignored
//!
//! [[event]]
//! name = "m6i to c6i"
//! kind = "migration"
//! from = { instance_family = "m6i" }
//! to   = { instance_family = "c6i" }
//! share = 0.30                     # 0 ..= 1
//! start = "2027-01-01"
//! ramp = "8w"
//! ```
//!
//! # Semantics
//!
//! * Step `k` of a forecast is stamped `t = start + k·step_seconds`; every
//!   event is evaluated at that instant.
//! * The ramp `r(t)` is 0 before `start`, grows linearly to 1 over `ramp`
//!   (`r(start) = 0`, `r(start + ramp) = 1`), is 1 without a ramp from `start`
//!   on, and is 0 again from `end` on (`end` is exclusive; the effect stops,
//!   the series returns to its baseline).
//! * `multiply = m` scales by `1 + (m − 1)·r(t)`; `add = a` adds `a·r(t)`
//!   (units of the series per step); `rate_per_year = g` scales by
//!   `(1 + g)^(years since start)` (a year is 365.25 days) while active.
//! * Local events (everything but migrations) combine in a fixed order that
//!   does not depend on the file order: `x·Π factors + Σ amounts`, clamped at 0.
//! * Migrations move demand between series. The target of a `from` series is
//!   the series whose key equals the donor's key with the `from` filter's
//!   values replaced by the `to` filter's (so `from` and `to` must constrain
//!   the same dimensions): with series keyed by family and region, `m6i` in
//!   `us-east-1` moves to `c6i` in `us-east-1`. The donor keeps
//!   `pre·(1 − share·r(t))`, the target gains `share·r(t)·pre_donor`, where
//!   `pre` are values after local events and before any migration.
//!   Migrations therefore do not chain (A→B and B→C in one file does not move
//!   A's demand to C). When the shares leaving one series add up to more than
//!   1 at some step they are scaled down to sum to 1, so demand is conserved
//!   exactly. A donor whose target series does not exist keeps its demand
//!   (and a [`PlanWarning::MissingTarget`] is reported).
//! * Quantiles: factors are non-negative and amounts are the same for every
//!   level, so order is kept; clamping at 0 keeps it too. For inflows the
//!   target's quantile at level `q` gains the donor's quantile at level `q`
//!   (scaled). That is exact only if donor and target are perfectly
//!   correlated (quantiles of a sum are not sums of quantiles) — an
//!   approximation that widens the target's interval at most by the donor's
//!   share. Sample paths are combined path by path (`paths[i]` of the donor
//!   goes to `paths[i]` of the target), which is exact when paths are aligned
//!   by index.
//!
//! # Two-phase use
//!
//! [`EventSet::plan`] resolves every event against the list of series keys
//! once. [`Plan::apply_all`] then applies local events to every forecast and
//! resolves migrations from snapshots of the pre-migration forecasts. For
//! streaming use call [`Plan::apply_local`] on each series, keep the
//! pre-migration forecasts of the series for which [`Plan::is_donor`] is
//! true, and call [`Plan::apply_migrations`].
//!
//! # Where the code is
//!
//! This file holds the types and their accessors; `parse` reads and
//! validates the file ([`EventSet::from_toml_str`]), `matching` resolves
//! events against series keys ([`EventSet::plan`]), `apply` applies a
//! [`Plan`] to forecasts, and `tests` holds the unit tests of all three.

mod apply;
mod matching;
mod parse;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::series::{Selector, SeriesKey};

/// Seconds in the year used by `rate_per_year` (365.25 days).
const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;

/// An error reading or validating an event file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    /// The text is not valid TOML, or does not have the expected shape
    /// (unknown key, wrong type, unknown kind, missing field).
    #[error(
        "{source_name}:{line}:{column}: {message}; fix the event file at that position \
         (each [[event]] takes name, kind, start and, depending on kind, match/effect or \
         from/to/share, plus optional ramp, end and note)"
    )]
    Syntax {
        /// Name of the file (as given by the caller).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the TOML reader reported.
        message: String,
    },
    /// The TOML is well formed but an event's value is not allowed.
    #[error("{source_name}:{line}: event {event:?}: `{field}` {problem}; {hint}")]
    Invalid {
        /// Name of the file (as given by the caller).
        source_name: String,
        /// 1-based line of the offending value.
        line: usize,
        /// Name of the event (or `#n` when it has none).
        event: String,
        /// The offending key (e.g. `share`, `effect.multiply`).
        field: &'static str,
        /// What is wrong.
        problem: String,
        /// What to do about it.
        hint: &'static str,
    },
}

/// An error applying a [`Plan`] to forecasts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// The number of forecasts differs from the number of keys planned for.
    #[error(
        "the plan was made for {planned} series but {given} forecasts were given; \
         plan and apply with the same series, in the same order"
    )]
    CountMismatch {
        /// Series in the plan.
        planned: usize,
        /// Forecasts given.
        given: usize,
    },
    /// A series index is outside the plan.
    #[error(
        "series #{series} is not in the plan ({planned} series); use indexes of the key list given to EventSet::plan"
    )]
    SeriesOutOfRange {
        /// The index asked for.
        series: usize,
        /// Series in the plan.
        planned: usize,
    },
    /// A forecast's arrays do not fit together.
    #[error("forecast of series #{series}: {problem}; fix the forecast before applying events")]
    BadShape {
        /// Series index.
        series: usize,
        /// What is wrong.
        problem: String,
    },
    /// A migration's donor forecast was not supplied.
    #[error(
        "migration {event:?}: the pre-migration forecast of donor series #{donor} was not supplied \
         for target series #{target}; supply every donor the plan lists (Plan::is_donor)"
    )]
    MissingDonor {
        /// Event name.
        event: String,
        /// Donor series index.
        donor: usize,
        /// Target series index.
        target: usize,
    },
    /// Donor and target forecasts are on different grids.
    #[error(
        "migration {event:?}: donor series #{donor} and target series #{target} differ: {problem}; \
         forecast migration donors and targets with the same start, step, horizon, quantile \
         levels and number of sample paths"
    )]
    Misaligned {
        /// Event name.
        event: String,
        /// Donor series index.
        donor: usize,
        /// Target series index.
        target: usize,
        /// What differs.
        problem: String,
    },
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// New demand (a region, product or customer going live).
    Launch,
    /// Demand moving from one set of series to another.
    Migration,
    /// Demand going away.
    Decommission,
    /// A change in growth (step, ramp or compound rate).
    Growth,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Launch => "launch",
            Self::Migration => "migration",
            Self::Decommission => "decommission",
            Self::Growth => "growth",
        })
    }
}

/// Dimension → value constraints; a series matches when every listed
/// dimension is present in its key with exactly that value. An empty filter
/// matches every series.
/// It matches through [`Selector`], capplan's one dimension matcher.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Filter {
    dims: BTreeMap<String, String>,
    selector: Selector,
}

impl Filter {
    /// A filter from dimension → value pairs.
    pub fn new(dims: BTreeMap<String, String>) -> Self {
        let selector = Selector::exact(dims.clone());
        Self { dims, selector }
    }

    /// The filter as a [`Selector`].
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// The constraints, ordered by dimension name.
    pub fn dims(&self) -> &BTreeMap<String, String> {
        &self.dims
    }

    /// True when the filter matches every series.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty()
    }

    /// True when every constraint holds for `key` (a dimension missing from
    /// the key is no match; when a key repeats a dimension its first value
    /// counts).
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.selector.matches(key)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (d, v)) in self.dims.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d} = {v:?}")?;
        }
        f.write_str("}")
    }
}

/// Formats a key as `dim=value,dim=value` (in key order) for messages.
pub fn format_key(key: &SeriesKey) -> String {
    key.0
        .iter()
        .map(|(d, v)| format!("{d}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The effect of a launch, growth or decommission event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Scale by this factor (≥ 0) once fully ramped.
    Multiply(f64),
    /// Add this amount per step (may be negative) once fully ramped.
    Add(f64),
    /// Compound growth at this yearly rate (> −1) from the start.
    RatePerYear(f64),
}

/// When an event acts: start, linear ramp and optional (exclusive) end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    start: DateTime<Utc>,
    ramp_seconds: i64,
    end: Option<DateTime<Utc>>,
}

impl Timing {
    /// A timing; `None` when `ramp_seconds < 0` or `end <= start`.
    pub fn new(
        start: DateTime<Utc>,
        ramp_seconds: i64,
        end: Option<DateTime<Utc>>,
    ) -> Option<Self> {
        if ramp_seconds < 0 || end.is_some_and(|e| e <= start) {
            return None;
        }
        Some(Self {
            start,
            ramp_seconds,
            end,
        })
    }

    /// First instant of the event.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Length of the linear ramp in seconds (0 = step change).
    pub fn ramp_seconds(&self) -> i64 {
        self.ramp_seconds
    }

    /// First instant without effect, if any.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.end
    }

    /// True when the event acts at `t` (`start <= t < end`).
    pub fn is_active(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// Fraction of the full effect at `t`, in `[0, 1]`.
    pub fn ramp_at(&self, t: DateTime<Utc>) -> f64 {
        if !self.is_active(t) {
            return 0.0;
        }
        if self.ramp_seconds == 0 {
            return 1.0;
        }
        let elapsed = (t - self.start).num_seconds() as f64;
        (elapsed / self.ramp_seconds as f64).clamp(0.0, 1.0)
    }

    /// Years elapsed since the start at `t` (0 when inactive).
    fn years_at(&self, t: DateTime<Utc>) -> f64 {
        if !self.is_active(t) {
            return 0.0;
        }
        (t - self.start).num_seconds() as f64 / SECONDS_PER_YEAR
    }
}

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum EventAction {
    /// Launch, growth or decommission: `effect` on every series matching
    /// `filter`.
    Effect {
        /// Series affected.
        filter: Filter,
        /// What happens to them.
        effect: Effect,
    },
    /// Move `share` of the demand of series matching `from` to the
    /// corresponding `to` series.
    Migration {
        /// Donor constraints.
        from: Filter,
        /// Replacement values for the target (same dimensions as `from`).
        to: Filter,
        /// Fraction moved once fully ramped, `0 ..= 1`.
        share: f64,
    },
}

/// One validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Name, unique within the file.
    pub name: String,
    /// Kind as written.
    pub kind: EventKind,
    /// 1-based line of the event in its file.
    pub line: usize,
    /// When it acts.
    pub timing: Timing,
    /// What it does.
    pub action: EventAction,
}

/// A validated list of events, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventSet {
    source_name: String,
    events: Vec<Event>,
}

/// One change a plan makes to one series. `event` indexes
/// [`EventSet::events`]; `donor`/`target` index the key list given to
/// [`EventSet::plan`].
#[derive(Debug, Clone, PartialEq)]
pub enum Adjustment {
    /// Multiply by `1 + (factor − 1)·r(t)`.
    Scale {
        /// Event index.
        event: usize,
        /// Full factor.
        factor: f64,
        /// When.
        timing: Timing,
    },
    /// Add `amount·r(t)`.
    Add {
        /// Event index.
        event: usize,
        /// Full amount per step.
        amount: f64,
        /// When.
        timing: Timing,
    },
    /// Multiply by `(1 + rate_per_year)^(years since start)` while active.
    Compound {
        /// Event index.
        event: usize,
        /// Yearly rate.
        rate_per_year: f64,
        /// When.
        timing: Timing,
    },
    /// This series gives `share·r(t)` of its pre-migration demand to `target`.
    Outflow {
        /// Event index.
        event: usize,
        /// Full share.
        share: f64,
        /// When.
        timing: Timing,
        /// Receiving series.
        target: usize,
    },
    /// This series receives `share·r(t)` of `donor`'s pre-migration demand.
    Inflow {
        /// Event index.
        event: usize,
        /// Full share.
        share: f64,
        /// When.
        timing: Timing,
        /// Giving series.
        donor: usize,
    },
}

impl Adjustment {
    /// Index of the event this adjustment comes from.
    pub fn event(&self) -> usize {
        match self {
            Self::Scale { event, .. }
            | Self::Add { event, .. }
            | Self::Compound { event, .. }
            | Self::Outflow { event, .. }
            | Self::Inflow { event, .. } => *event,
        }
    }

    /// True for migration adjustments (resolved in the second phase).
    pub fn is_migration(&self) -> bool {
        matches!(self, Self::Outflow { .. } | Self::Inflow { .. })
    }
}

/// Something the user should know about a plan; none of these stops it.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanWarning {
    /// The event applies to no series (filter typo, or series not present).
    UnmatchedEvent {
        /// Event name.
        event: String,
        /// Line in the event file.
        line: usize,
    },
    /// A donor's target series does not exist, so its demand stays put.
    MissingTarget {
        /// Event name.
        event: String,
        /// Line in the event file.
        line: usize,
        /// Donor key (`dim=value,...`).
        donor: String,
        /// Expected target key.
        target: String,
    },
    /// Migrations out of one series add up to more than 1; they are scaled
    /// down whenever they overlap so that at most all demand moves.
    SharesExceedOne {
        /// Series key.
        series: String,
        /// Sum of the shares.
        total: f64,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnmatchedEvent { event, line } => write!(
                f,
                "event {event:?} (line {line}) matches no series; check its match/from \
                 dimensions and values against the series keys"
            ),
            Self::MissingTarget {
                event,
                line,
                donor,
                target,
            } => write!(
                f,
                "migration {event:?} (line {line}): series {donor} has no target series {target}, \
                 so its demand is not moved; add the target series or narrow `from`"
            ),
            Self::SharesExceedOne { series, total } => write!(
                f,
                "migrations out of series {series} add up to share {total}; where they overlap \
                 they are scaled down so that at most all of its demand moves"
            ),
        }
    }
}

/// Events resolved against a list of series keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    series: Vec<Vec<Adjustment>>,
    event_names: Vec<String>,
    unmatched: Vec<usize>,
    warnings: Vec<PlanWarning>,
}

impl EventSet {
    /// The events, in file order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Name of the file the events came from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when the file has no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Plan {
    /// Number of series planned for.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when planned for no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adjustments for series `series` (empty when out of range), ordered by
    /// the series index that produced them (the series itself, or a donor
    /// for inflows), then by event index.
    pub fn adjustments(&self, series: usize) -> &[Adjustment] {
        self.series.get(series).map_or(&[], Vec::as_slice)
    }

    /// Indexes (into [`EventSet::events`]) of events that matched no series.
    pub fn unmatched_events(&self) -> &[usize] {
        &self.unmatched
    }

    /// Warnings for the user, in a fixed order: unmatched events (file
    /// order), missing migration targets, shares adding up to more than 1.
    pub fn warnings(&self) -> &[PlanWarning] {
        &self.warnings
    }

    /// True when series `series` gives demand to another series, i.e. its
    /// pre-migration forecast must be kept for [`Plan::apply_migrations`].
    pub fn is_donor(&self, series: usize) -> bool {
        self.adjustments(series)
            .iter()
            .any(|a| matches!(a, Adjustment::Outflow { .. }))
    }

    /// True when any series has a migration adjustment.
    pub fn has_migrations(&self) -> bool {
        self.series.iter().flatten().any(Adjustment::is_migration)
    }
}

#[cfg(test)]
mod tests;
