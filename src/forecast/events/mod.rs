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

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{TomlSource, line_col};

use super::ForecastArrays;
use crate::series::{Selector, SeriesKey};

/// Seconds in the year used by `rate_per_year` (365.25 days).
const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;

/// Tolerance used when comparing quantile levels of donor and target.
const LEVEL_TOLERANCE: f64 = 1e-9;

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

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    event: Vec<Spanned<RawEvent>>,
}

/// One `[[event]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: Spanned<String>,
    kind: Spanned<EventKind>,
    #[serde(rename = "match")]
    match_: Option<Spanned<BTreeMap<String, String>>>,
    from: Option<Spanned<BTreeMap<String, String>>>,
    to: Option<Spanned<BTreeMap<String, String>>>,
    share: Option<Spanned<f64>>,
    start: Spanned<toml::Value>,
    end: Option<Spanned<toml::Value>>,
    ramp: Option<Spanned<String>>,
    effect: Option<Spanned<RawEffect>>,
    #[allow(dead_code)]
    note: Option<String>,
}

/// An `effect = { ... }` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEffect {
    multiply: Option<Spanned<f64>>,
    add: Option<Spanned<f64>>,
    rate_per_year: Option<Spanned<f64>>,
}

/// Builds [`EventError::Invalid`] for one event.
struct Ctx<'a> {
    text: &'a str,
    source_name: &'a str,
    event: String,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: std::ops::Range<usize>,
        field: &'static str,
        problem: impl Into<String>,
        hint: &'static str,
    ) -> EventError {
        EventError::Invalid {
            source_name: self.source_name.to_string(),
            line: line_col(self.text, span.start).0,
            event: self.event.clone(),
            field,
            problem: problem.into(),
            hint,
        }
    }
}

/// Parses a date (`YYYY-MM-DD`, midnight UTC) or datetime (RFC 3339, or
/// without offset = UTC), as a TOML string or a TOML date literal.
fn parse_instant(value: &toml::Value) -> Result<DateTime<Utc>, String> {
    let text = match value {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("is a TOML {}, not a date", other.type_str())),
    };
    if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return Ok(d.and_time(NaiveTime::MIN).and_utc());
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(&text) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&text, fmt) {
            return Ok(dt.and_utc());
        }
    }
    Err(format!("{text:?} is not a date or datetime"))
}

const DATE_HINT: &str = "write a date like \"2026-12-01\" (midnight UTC) or an RFC 3339 datetime like \"2026-12-01T06:00:00Z\"";

/// Parses `<whole number><h|d|w>` into seconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let Some(unit) = t.chars().last() else {
        return Err("is empty".to_string());
    };
    let per = match unit {
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(format!("{text:?} has no unit h, d or w at the end")),
    };
    let digits = &t[..t.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number followed by a unit"));
    }
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(per))
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn filter_from(raw: &Spanned<BTreeMap<String, String>>) -> Filter {
    Filter::new(raw.get_ref().clone())
}

impl EventSet {
    /// Parses and validates an event file. `source_name` is used in error
    /// messages (e.g. the file path).
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<EventSet, EventError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let (line, column) = TomlSource::new(source_name, text, "").position(&e);
            EventError::Syntax {
                source_name: source_name.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut events: Vec<Event> = Vec::with_capacity(raw.event.len());
        for (index, spanned) in raw.event.into_iter().enumerate() {
            let span = spanned.span();
            let event = Self::validate(text, source_name, index, span, spanned.into_inner())?;
            if let Some(first) = events.iter().find(|e| e.name == event.name) {
                return Err(EventError::Invalid {
                    source_name: source_name.to_string(),
                    line: event.line,
                    event: event.name.clone(),
                    field: "name",
                    problem: format!("is also used by the event on line {}", first.line),
                    hint: "give every event its own name",
                });
            }
            events.push(event);
        }
        Ok(EventSet {
            source_name: source_name.to_string(),
            events,
        })
    }

    /// Validates one raw event.
    fn validate(
        text: &str,
        source_name: &str,
        index: usize,
        span: std::ops::Range<usize>,
        raw: RawEvent,
    ) -> Result<Event, EventError> {
        let trimmed = raw.name.get_ref().trim().to_string();
        let ctx = Ctx {
            text,
            source_name,
            event: if trimmed.is_empty() {
                format!("#{}", index + 1)
            } else {
                trimmed.clone()
            },
        };
        if trimmed.is_empty() {
            return Err(ctx.err(
                raw.name.span(),
                "name",
                "is empty",
                "give the event a short unique name",
            ));
        }
        let line = line_col(text, span.start).0;

        let start = parse_instant(raw.start.get_ref())
            .map_err(|p| ctx.err(raw.start.span(), "start", p, DATE_HINT))?;
        let end = match &raw.end {
            None => None,
            Some(e) => Some(
                parse_instant(e.get_ref()).map_err(|p| ctx.err(e.span(), "end", p, DATE_HINT))?,
            ),
        };
        if let (Some(e), Some(end)) = (&raw.end, end)
            && end <= start
        {
            return Err(ctx.err(
                e.span(),
                "end",
                format!("({end}) is not after start ({start})"),
                "set end later than start, or remove end",
            ));
        }
        let ramp_seconds = match &raw.ramp {
            None => 0,
            Some(r) => parse_duration(r.get_ref()).map_err(|p| {
                ctx.err(
                    r.span(),
                    "ramp",
                    p,
                    "write a whole number followed by h, d or w, e.g. \"36h\", \"10d\" or \"4w\"",
                )
            })?,
        };
        let timing = Timing::new(start, ramp_seconds, end).ok_or_else(|| {
            ctx.err(
                raw.start.span(),
                "start",
                "does not give a valid time window",
                "check start, end and ramp",
            )
        })?;
        let kind = *raw.kind.get_ref();

        let action = if kind == EventKind::Migration {
            Self::validate_migration(&ctx, &raw, span)?
        } else {
            Self::validate_effect(&ctx, &raw, kind, span)?
        };
        Ok(Event {
            name: trimmed,
            kind,
            line,
            timing,
            action,
        })
    }

    fn validate_migration(
        ctx: &Ctx<'_>,
        raw: &RawEvent,
        span: std::ops::Range<usize>,
    ) -> Result<EventAction, EventError> {
        if let Some(e) = &raw.effect {
            return Err(ctx.err(
                e.span(),
                "effect",
                "is not allowed for kind = \"migration\"",
                "describe a migration with from, to and share, or change kind",
            ));
        }
        if let Some(m) = &raw.match_ {
            return Err(ctx.err(
                m.span(),
                "match",
                "is not allowed for kind = \"migration\"",
                "put every constraint in both from and to, e.g. from = { instance_family = \"m6i\", \
                 region = \"us-east-1\" }, to = { instance_family = \"c6i\", region = \"us-east-1\" }",
            ));
        }
        let (Some(from), Some(to)) = (&raw.from, &raw.to) else {
            let missing = if raw.from.is_none() { "from" } else { "to" };
            return Err(ctx.err(
                span,
                missing,
                "is missing",
                "a migration needs from = { dimension = \"value\" }, to = { dimension = \"value\" } \
                 and share",
            ));
        };
        for (field, f) in [("from", from), ("to", to)] {
            if f.get_ref().is_empty() {
                return Err(ctx.err(
                    f.span(),
                    field,
                    "is empty",
                    "name at least one dimension, e.g. { instance_family = \"m6i\" }",
                ));
            }
        }
        if from.get_ref() == to.get_ref() {
            return Err(ctx.err(
                to.span(),
                "to",
                "is the same as from, so nothing would move",
                "change a value in to (or from)",
            ));
        }
        if !from.get_ref().keys().eq(to.get_ref().keys()) {
            return Err(ctx.err(
                to.span(),
                "to",
                format!(
                    "constrains dimensions [{}] but from constrains [{}]",
                    to.get_ref().keys().cloned().collect::<Vec<_>>().join(", "),
                    from.get_ref()
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "name the same dimensions in from and to (the target of a series is its key \
                 with from's values replaced by to's)",
            ));
        }
        let Some(share) = &raw.share else {
            return Err(ctx.err(
                span,
                "share",
                "is missing",
                "add share = fraction of the from series' demand that moves, between 0 and 1",
            ));
        };
        let s = *share.get_ref();
        if !s.is_finite() || !(0.0..=1.0).contains(&s) {
            return Err(ctx.err(
                share.span(),
                "share",
                format!("is {s}, outside 0 ..= 1"),
                "give the fraction of demand that moves, e.g. 0.3 for 30 %",
            ));
        }
        Ok(EventAction::Migration {
            from: filter_from(from),
            to: filter_from(to),
            share: s,
        })
    }

    fn validate_effect(
        ctx: &Ctx<'_>,
        raw: &RawEvent,
        kind: EventKind,
        span: std::ops::Range<usize>,
    ) -> Result<EventAction, EventError> {
        for (field, present) in [
            ("from", raw.from.as_ref().map(Spanned::span)),
            ("to", raw.to.as_ref().map(Spanned::span)),
            ("share", raw.share.as_ref().map(Spanned::span)),
        ] {
            if let Some(s) = present {
                return Err(ctx.err(
                    s,
                    field,
                    format!("is only for kind = \"migration\", not {kind:?}"),
                    "remove it, or set kind = \"migration\"",
                ));
            }
        }
        let Some(effect) = &raw.effect else {
            return Err(ctx.err(
                span,
                "effect",
                "is missing",
                "add effect = { multiply = 1.25 } or effect = { add = 40.0 } \
                 (growth also takes effect = { rate_per_year = 0.2 })",
            ));
        };
        let e = effect.get_ref();
        let given: Vec<(&str, &Spanned<f64>)> = [
            ("multiply", &e.multiply),
            ("add", &e.add),
            ("rate_per_year", &e.rate_per_year),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
        .collect();
        let [(name, value)] = given.as_slice() else {
            return Err(ctx.err(
                effect.span(),
                "effect",
                format!("has {} of multiply, add, rate_per_year", given.len()),
                "give exactly one, e.g. effect = { multiply = 1.25 }; use two events to combine",
            ));
        };
        let v = *value.get_ref();
        let field = match *name {
            "multiply" => "effect.multiply",
            "add" => "effect.add",
            _ => "effect.rate_per_year",
        };
        if !v.is_finite() {
            return Err(ctx.err(value.span(), field, "is not finite", "give a number"));
        }
        let effect = match *name {
            "multiply" => {
                if v < 0.0 {
                    return Err(ctx.err(
                        value.span(),
                        field,
                        format!("is {v}, below 0"),
                        "give a factor ≥ 0 (0 removes all demand, 1.25 adds 25 %)",
                    ));
                }
                Effect::Multiply(v)
            }
            "add" => Effect::Add(v),
            _ => {
                if kind != EventKind::Growth {
                    return Err(ctx.err(
                        value.span(),
                        field,
                        format!("is only for kind = \"growth\", not {kind:?}"),
                        "use multiply or add, or set kind = \"growth\"",
                    ));
                }
                if v <= -1.0 {
                    return Err(ctx.err(
                        value.span(),
                        field,
                        format!("is {v}, at or below -1"),
                        "give a yearly rate above -1, e.g. 0.2 for +20 % a year or -0.1 for -10 %",
                    ));
                }
                if let Some(r) = &raw.ramp {
                    return Err(ctx.err(
                        r.span(),
                        "ramp",
                        "cannot be combined with rate_per_year (compound growth is already gradual)",
                        "remove ramp",
                    ));
                }
                Effect::RatePerYear(v)
            }
        };
        Ok(EventAction::Effect {
            filter: raw.match_.as_ref().map(filter_from).unwrap_or_default(),
            effect,
        })
    }

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

    /// Resolves every event against `keys` (the series that will be
    /// forecast). Indexes in the returned plan refer to positions in `keys`.
    pub fn plan(&self, keys: &[SeriesKey]) -> Plan {
        let mut series: Vec<Vec<Adjustment>> = vec![Vec::new(); keys.len()];
        let mut matched = vec![0usize; self.events.len()];
        let mut missing = Vec::new();
        // Order-insensitive lookup of keys; the first of duplicate keys wins.
        let mut index: BTreeMap<Vec<(&str, &str)>, usize> = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            index.entry(normalized(&k.0)).or_insert(i);
        }
        for (i, key) in keys.iter().enumerate() {
            for (e, event) in self.events.iter().enumerate() {
                let timing = event.timing;
                match &event.action {
                    EventAction::Effect { filter, effect } => {
                        if !filter.matches(key) {
                            continue;
                        }
                        matched[e] += 1;
                        series[i].push(match *effect {
                            Effect::Multiply(factor) => Adjustment::Scale {
                                event: e,
                                factor,
                                timing,
                            },
                            Effect::Add(amount) => Adjustment::Add {
                                event: e,
                                amount,
                                timing,
                            },
                            Effect::RatePerYear(rate_per_year) => Adjustment::Compound {
                                event: e,
                                rate_per_year,
                                timing,
                            },
                        });
                    }
                    EventAction::Migration { from, to, share } => {
                        if !from.matches(key) {
                            continue;
                        }
                        let target_key: Vec<(String, String)> = key
                            .0
                            .iter()
                            .map(|(d, v)| (d.clone(), to.dims().get(d).unwrap_or(v).clone()))
                            .collect();
                        match index.get(&normalized(&target_key)) {
                            Some(&j) if j != i => {
                                matched[e] += 1;
                                series[i].push(Adjustment::Outflow {
                                    event: e,
                                    share: *share,
                                    timing,
                                    target: j,
                                });
                                series[j].push(Adjustment::Inflow {
                                    event: e,
                                    share: *share,
                                    timing,
                                    donor: i,
                                });
                            }
                            _ => missing.push(PlanWarning::MissingTarget {
                                event: event.name.clone(),
                                line: event.line,
                                donor: format_key(key),
                                target: format_key(&SeriesKey(target_key)),
                            }),
                        }
                    }
                }
            }
        }
        let unmatched: Vec<usize> = (0..self.events.len())
            .filter(|&e| matched[e] == 0)
            .collect();
        let mut warnings: Vec<PlanWarning> = unmatched
            .iter()
            .map(|&e| PlanWarning::UnmatchedEvent {
                event: self.events[e].name.clone(),
                line: self.events[e].line,
            })
            .collect();
        warnings.extend(missing);
        for (i, adjustments) in series.iter().enumerate() {
            let total: f64 = adjustments
                .iter()
                .map(|a| match a {
                    Adjustment::Outflow { share, .. } => *share,
                    _ => 0.0,
                })
                .sum();
            if total > 1.0 + 1e-12 {
                warnings.push(PlanWarning::SharesExceedOne {
                    series: format_key(&keys[i]),
                    total,
                });
            }
        }
        Plan {
            series,
            event_names: self.events.iter().map(|e| e.name.clone()).collect(),
            unmatched,
            warnings,
        }
    }
}

/// Key pairs sorted, for order-insensitive comparison.
fn normalized(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(d, v)| (d.as_str(), v.as_str()))
        .collect();
    v.sort_unstable();
    v
}

// ---------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------

/// Clamps at 0 but keeps NaN (a missing value stays missing).
fn clamp0(x: f64) -> f64 {
    if x < 0.0 { 0.0 } else { x }
}

/// Checks that a forecast's arrays fit together; returns the horizon.
fn check_shape(series: usize, f: &ForecastArrays) -> Result<usize, ApplyError> {
    let bad = |problem: String| ApplyError::BadShape { series, problem };
    if f.step_seconds <= 0 {
        return Err(bad(format!(
            "step_seconds is {}, not positive",
            f.step_seconds
        )));
    }
    let h = f.point.len();
    if f.quantiles.len() != f.levels.len() {
        return Err(bad(format!(
            "{} quantile rows for {} levels",
            f.quantiles.len(),
            f.levels.len()
        )));
    }
    if let Some((l, row)) = f.quantiles.iter().enumerate().find(|(_, r)| r.len() != h) {
        return Err(bad(format!(
            "quantile row {l} has {} steps, point has {h}",
            row.len()
        )));
    }
    if let Some((p, row)) = f.paths.iter().enumerate().find(|(_, r)| r.len() != h) {
        return Err(bad(format!(
            "sample path {p} has {} steps, point has {h}",
            row.len()
        )));
    }
    if h > 0 {
        let last = i64::try_from(h - 1)
            .ok()
            .and_then(|k| k.checked_mul(f.step_seconds))
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|d| f.start.checked_add_signed(d));
        if last.is_none() {
            return Err(bad("the last step's timestamp is out of range".to_string()));
        }
    }
    Ok(h)
}

/// Timestamp of step `k` (checked by [`check_shape`] beforehand).
fn step_time(f: &ForecastArrays, k: usize) -> DateTime<Utc> {
    let secs = (k as i64).saturating_mul(f.step_seconds);
    chrono::TimeDelta::try_seconds(secs)
        .and_then(|d| f.start.checked_add_signed(d))
        .unwrap_or(f.start)
}

/// Applies `value·factor[k] + add[k]` (clamped at 0) to every array.
fn transform(f: &mut ForecastArrays, k: usize, factor: f64, add: f64) {
    let map = |x: f64| clamp0(x * factor + add);
    for row in f.quantiles.iter_mut().chain(f.paths.iter_mut()) {
        row[k] = map(row[k]);
    }
    f.point[k] = map(f.point[k]);
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

    fn check_series(&self, series: usize) -> Result<(), ApplyError> {
        if series >= self.series.len() {
            return Err(ApplyError::SeriesOutOfRange {
                series,
                planned: self.series.len(),
            });
        }
        Ok(())
    }

    fn event_name(&self, event: usize) -> String {
        self.event_names.get(event).cloned().unwrap_or_default()
    }

    /// Phase 1: applies launch, growth and decommission events to
    /// `forecast` (series `series`): `x·Π factors + Σ amounts`, clamped at 0.
    pub fn apply_local(
        &self,
        series: usize,
        forecast: &mut ForecastArrays,
    ) -> Result<(), ApplyError> {
        self.check_series(series)?;
        let h = check_shape(series, forecast)?;
        let local: Vec<&Adjustment> = self.series[series]
            .iter()
            .filter(|a| !a.is_migration())
            .collect();
        if local.is_empty() {
            return Ok(());
        }
        for k in 0..h {
            let t = step_time(forecast, k);
            let mut factor = 1.0;
            let mut add = 0.0;
            for a in &local {
                match a {
                    Adjustment::Scale {
                        factor: m, timing, ..
                    } => factor *= 1.0 + (m - 1.0) * timing.ramp_at(t),
                    Adjustment::Add { amount, timing, .. } => add += amount * timing.ramp_at(t),
                    Adjustment::Compound {
                        rate_per_year,
                        timing,
                        ..
                    } => factor *= (1.0 + rate_per_year).powf(timing.years_at(t)),
                    Adjustment::Outflow { .. } | Adjustment::Inflow { .. } => {}
                }
            }
            transform(forecast, k, factor, add);
        }
        Ok(())
    }

    /// Total share leaving `series` at `t` (before scaling down to 1).
    fn outflow_share(&self, series: usize, t: DateTime<Utc>) -> f64 {
        self.adjustments(series)
            .iter()
            .map(|a| match a {
                Adjustment::Outflow { share, timing, .. } => share * timing.ramp_at(t),
                _ => 0.0,
            })
            .sum()
    }

    /// Phase 2: applies migrations to `forecast` (series `series`), which
    /// must hold its pre-migration values (after [`Plan::apply_local`]).
    /// `donor(i)` returns the pre-migration forecast of donor series `i`; it
    /// is asked only for series listed in this series' inflows.
    pub fn apply_migrations<'a, F>(
        &self,
        series: usize,
        forecast: &mut ForecastArrays,
        donor: F,
    ) -> Result<(), ApplyError>
    where
        F: Fn(usize) -> Option<&'a ForecastArrays>,
    {
        self.check_series(series)?;
        let h = check_shape(series, forecast)?;
        let inflows: Vec<(usize, f64, Timing, &ForecastArrays)> = self.series[series]
            .iter()
            .filter_map(|a| match a {
                Adjustment::Inflow {
                    event,
                    share,
                    timing,
                    donor: d,
                } => Some((*event, *share, *timing, *d)),
                _ => None,
            })
            .map(|(event, share, timing, d)| {
                let f = donor(d).ok_or_else(|| ApplyError::MissingDonor {
                    event: self.event_name(event),
                    donor: d,
                    target: series,
                })?;
                check_shape(d, f)?;
                check_aligned(forecast, f).map_err(|problem| ApplyError::Misaligned {
                    event: self.event_name(event),
                    donor: d,
                    target: series,
                    problem,
                })?;
                Ok((d, share, timing, f))
            })
            .collect::<Result<_, ApplyError>>()?;
        let has_outflow = self.is_donor(series);
        if inflows.is_empty() && !has_outflow {
            return Ok(());
        }
        for k in 0..h {
            let t = step_time(forecast, k);
            let out = self.outflow_share(series, t);
            let keep = 1.0 - out.min(1.0);
            transform(forecast, k, keep, 0.0);
            for &(d, share, timing, f) in &inflows {
                let donor_out = self.outflow_share(d, t);
                let scale = if donor_out > 1.0 {
                    1.0 / donor_out
                } else {
                    1.0
                };
                let w = share * timing.ramp_at(t) * scale;
                if w == 0.0 {
                    continue;
                }
                for (row, src) in forecast.quantiles.iter_mut().zip(&f.quantiles) {
                    row[k] = clamp0(row[k] + w * src[k]);
                }
                for (row, src) in forecast.paths.iter_mut().zip(&f.paths) {
                    row[k] = clamp0(row[k] + w * src[k]);
                }
                forecast.point[k] = clamp0(forecast.point[k] + w * f.point[k]);
            }
        }
        Ok(())
    }

    /// Applies both phases to every forecast; `forecasts[i]` belongs to
    /// `keys[i]` of [`EventSet::plan`].
    pub fn apply_all(&self, forecasts: &mut [ForecastArrays]) -> Result<(), ApplyError> {
        if forecasts.len() != self.series.len() {
            return Err(ApplyError::CountMismatch {
                planned: self.series.len(),
                given: forecasts.len(),
            });
        }
        for (i, f) in forecasts.iter_mut().enumerate() {
            self.apply_local(i, f)?;
        }
        if !self.has_migrations() {
            return Ok(());
        }
        let pre: Vec<Option<ForecastArrays>> = forecasts
            .iter()
            .enumerate()
            .map(|(i, f)| self.is_donor(i).then(|| f.clone()))
            .collect();
        for (i, f) in forecasts.iter_mut().enumerate() {
            self.apply_migrations(i, f, |d| pre.get(d).and_then(Option::as_ref))?;
        }
        Ok(())
    }
}

/// Describes how `donor` differs from `target`, if it does.
fn check_aligned(target: &ForecastArrays, donor: &ForecastArrays) -> Result<(), String> {
    if target.start != donor.start {
        return Err(format!("start {} vs {}", donor.start, target.start));
    }
    if target.step_seconds != donor.step_seconds {
        return Err(format!(
            "step {} s vs {} s",
            donor.step_seconds, target.step_seconds
        ));
    }
    if target.point.len() != donor.point.len() {
        return Err(format!(
            "horizon {} vs {} steps",
            donor.point.len(),
            target.point.len()
        ));
    }
    let same_levels = target.levels.len() == donor.levels.len()
        && target
            .levels
            .iter()
            .zip(&donor.levels)
            .all(|(a, b)| (a - b).abs() <= LEVEL_TOLERANCE);
    if !same_levels {
        return Err(format!("levels {:?} vs {:?}", donor.levels, target.levels));
    }
    if target.paths.len() != donor.paths.len() {
        return Err(format!(
            "{} vs {} sample paths",
            donor.paths.len(),
            target.paths.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(pairs: &[(&str, &str)]) -> SeriesKey {
        SeriesKey(
            pairs
                .iter()
                .map(|(d, v)| (d.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_instant(&toml::Value::String(text.to_string())).unwrap()
    }

    /// Hourly forecast with one level 0.5 equal to `values` and no paths.
    fn flat(start: &str, values: Vec<f64>) -> ForecastArrays {
        ForecastArrays {
            start: at(start),
            step_seconds: 3600,
            levels: vec![0.5],
            quantiles: vec![values.clone()],
            point: values,
            paths: vec![],
        }
    }

    fn parse(text: &str) -> EventSet {
        EventSet::from_toml_str(text, "events.toml").unwrap()
    }

    fn parse_err(text: &str) -> EventError {
        EventSet::from_toml_str(text, "events.toml").unwrap_err()
    }

    fn line_of(e: &EventError) -> usize {
        match e {
            EventError::Syntax { line, .. } | EventError::Invalid { line, .. } => *line,
        }
    }

    const EXAMPLE: &str = r#"
[[event]]
name = "EU launch"
kind = "launch"
match = { region = "eu-west-1" }
start = "2026-12-01"
ramp = "4w"
effect = { multiply = 1.25 }
end = "2027-06-01"

[[event]]
name = "m6i to c6i"
kind = "migration"
from = { instance_family = "m6i" }
to   = { instance_family = "c6i" }
share = 0.30
start = "2027-01-01"
ramp = "8w"
"#;

    #[test]
    fn parses_the_example() {
        let set = parse(EXAMPLE);
        assert_eq!(set.len(), 2);
        let e = &set.events()[0];
        assert_eq!(e.name, "EU launch");
        assert_eq!(e.kind, EventKind::Launch);
        assert_eq!(e.line, 2);
        assert_eq!(e.timing.start(), at("2026-12-01T00:00:00Z"));
        assert_eq!(e.timing.ramp_seconds(), 4 * 7 * 86_400);
        assert_eq!(e.timing.end(), Some(at("2027-06-01")));
        assert_eq!(
            e.action,
            EventAction::Effect {
                filter: Filter::new(BTreeMap::from([(
                    "region".to_string(),
                    "eu-west-1".to_string()
                )])),
                effect: Effect::Multiply(1.25),
            }
        );
        let m = &set.events()[1];
        assert_eq!(m.line, 11);
        assert!(matches!(m.action, EventAction::Migration { share, .. } if share == 0.30));
    }

    #[test]
    fn ramp_values_at_specific_hours() {
        let t = Timing::new(at("2026-12-01"), 672 * 3600, Some(at("2027-06-01"))).unwrap();
        let h = |hours: i64| at("2026-12-01") + chrono::TimeDelta::hours(hours);
        assert_eq!(t.ramp_at(h(-1)), 0.0);
        assert_eq!(t.ramp_at(h(0)), 0.0);
        assert_eq!(t.ramp_at(h(168)), 0.25);
        assert_eq!(t.ramp_at(h(336)), 0.5);
        assert_eq!(t.ramp_at(h(504)), 0.75);
        assert_eq!(t.ramp_at(h(672)), 1.0);
        assert_eq!(t.ramp_at(h(2000)), 1.0);
        // End is exclusive.
        assert_eq!(t.ramp_at(at("2027-05-31T23:00:00Z")), 1.0);
        assert_eq!(t.ramp_at(at("2027-06-01")), 0.0);
        let step = Timing::new(at("2026-12-01"), 0, None).unwrap();
        assert_eq!(step.ramp_at(h(0)), 1.0);
        assert_eq!(step.ramp_at(h(-1)), 0.0);
        assert!(Timing::new(at("2026-12-01"), 0, Some(at("2026-12-01"))).is_none());
    }

    #[test]
    fn launch_ramp_scales_and_add_adds() {
        let set = parse(
            r#"
[[event]]
name = "launch"
kind = "launch"
start = "2026-12-01"
ramp = "4w"
effect = { multiply = 1.25 }

[[event]]
name = "customer"
kind = "growth"
start = "2026-12-01T00:00:00Z"
ramp = "10h"
effect = { add = 40 }
"#,
        );
        let keys = [key(&[("region", "eu-west-1")])];
        let plan = set.plan(&keys);
        assert!(plan.warnings().is_empty());
        let mut f = vec![flat("2026-12-01", vec![100.0; 700])];
        plan.apply_all(&mut f).unwrap();
        let p = &f[0].point;
        assert_eq!(p[0], 100.0);
        // Hour 5: factor 1 + 0.25·5/672, add 40·0.5 = 20.
        assert!((p[5] - (100.0 * (1.0 + 0.25 * 5.0 / 672.0) + 20.0)).abs() < 1e-9);
        // Hour 168: factor 1.0625, add fully ramped.
        assert!((p[168] - (106.25 + 40.0)).abs() < 1e-9);
        assert!((p[672] - 165.0).abs() < 1e-9);
        assert_eq!(f[0].quantiles[0], f[0].point);
    }

    #[test]
    fn compound_growth_reaches_rate_after_one_year() {
        let set = parse(
            r#"
[[event]]
name = "g"
kind = "growth"
start = 2026-01-01
effect = { rate_per_year = 0.2 }
"#,
        );
        let plan = set.plan(&[key(&[("service", "EC2")])]);
        let mut f = flat("2025-12-31T18:00:00Z", vec![10.0; 1470]);
        f.step_seconds = 6 * 3600;
        let mut fs = vec![f];
        plan.apply_all(&mut fs).unwrap();
        let p = &fs[0].point;
        assert_eq!(p[0], 10.0); // before start
        assert_eq!(p[1], 10.0); // at start: (1.2)^0
        // Step 1 + 1461 is 365.25 days after the start.
        assert!((p[1462] - 12.0).abs() < 1e-9);
    }

    #[test]
    fn decommission_with_end_returns_to_baseline() {
        let set = parse(
            r#"
[[event]]
name = "off"
kind = "decommission"
start = "2026-01-01T02:00:00Z"
end = "2026-01-01T04:00:00Z"
effect = { multiply = 0.0 }
"#,
        );
        let plan = set.plan(&[key(&[])]);
        let mut f = vec![flat("2026-01-01", vec![5.0; 6])];
        plan.apply_all(&mut f).unwrap();
        assert_eq!(f[0].point, vec![5.0, 5.0, 0.0, 0.0, 5.0, 5.0]);
    }

    #[test]
    fn negative_add_clamps_at_zero() {
        let set = parse(
            r#"
[[event]]
name = "shrink"
kind = "decommission"
start = "2026-01-01"
effect = { add = -7.5 }
"#,
        );
        let plan = set.plan(&[key(&[("a", "b")])]);
        let mut f = flat("2026-01-01", vec![5.0, 10.0]);
        f.levels = vec![0.1, 0.9];
        f.quantiles = vec![vec![4.0, 9.0], vec![8.0, 12.0]];
        let mut fs = vec![f];
        plan.apply_all(&mut fs).unwrap();
        assert_eq!(fs[0].quantiles, vec![vec![0.0, 1.5], vec![0.5, 4.5]]);
        assert_eq!(fs[0].point, vec![0.0, 2.5]);
    }

    fn migration_keys() -> Vec<SeriesKey> {
        vec![
            key(&[("instance_family", "m6i"), ("region", "us-east-1")]),
            key(&[("instance_family", "c6i"), ("region", "us-east-1")]),
            key(&[("instance_family", "m6i"), ("region", "eu-west-1")]),
            // Keys are matched regardless of dimension order.
            key(&[("region", "eu-west-1"), ("instance_family", "c6i")]),
        ]
    }

    #[test]
    fn migration_conserves_demand_exactly() {
        let set = parse(EXAMPLE);
        let keys = migration_keys();
        let plan = set.plan(&keys);
        // The EU launch matches; nothing is missing.
        assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
        assert!(plan.is_donor(0) && !plan.is_donor(1) && plan.is_donor(2));
        let start = "2026-12-31T00:00:00Z";
        let h = 24 * 70;
        let mk = |base: f64| {
            flat(
                start,
                (0..h).map(|k| base + (k % 24) as f64).collect::<Vec<_>>(),
            )
        };
        let mut fs: Vec<ForecastArrays> = [100.0, 50.0, 80.0, 10.0].map(mk).to_vec();
        // Apply local events first so conservation is checked on migration only.
        for (i, f) in fs.iter_mut().enumerate() {
            plan.apply_local(i, f).unwrap();
        }
        let before = fs.clone();
        let pre: Vec<ForecastArrays> = fs.clone();
        for (i, f) in fs.iter_mut().enumerate() {
            plan.apply_migrations(i, f, |d| pre.get(d)).unwrap();
        }
        for k in 0..h {
            let sum_before: f64 = before.iter().map(|f| f.point[k]).sum();
            let sum_after: f64 = fs.iter().map(|f| f.point[k]).sum();
            assert!((sum_before - sum_after).abs() < 1e-9, "step {k}");
            // Pairwise conservation too.
            let us = before[0].point[k] + before[1].point[k];
            assert!((us - fs[0].point[k] - fs[1].point[k]).abs() < 1e-9);
        }
        // Before 2027-01-01 (step 24) nothing moves; 8 weeks later 30 % moved.
        assert_eq!(fs[0].point[24], before[0].point[24]);
        let full = 24 + 8 * 7 * 24;
        assert!((fs[0].point[full] - 0.7 * before[0].point[full]).abs() < 1e-9);
        assert!(
            (fs[1].point[full] - before[1].point[full] - 0.3 * before[0].point[full]).abs() < 1e-9
        );
        // Half way through the ramp, 15 % moved.
        let half = 24 + 4 * 7 * 24;
        assert!((fs[2].point[half] - 0.85 * before[2].point[half]).abs() < 1e-9);
    }

    #[test]
    fn overlapping_shares_above_one_are_scaled_and_conserve() {
        let set = parse(
            r#"
[[event]]
name = "to c"
kind = "migration"
from = { f = "a" }
to = { f = "c" }
share = 0.8
start = "2026-01-01"

[[event]]
name = "to d"
kind = "migration"
from = { f = "a" }
to = { f = "d" }
share = 0.6
start = "2026-01-01"
"#,
        );
        let keys = vec![key(&[("f", "a")]), key(&[("f", "c")]), key(&[("f", "d")])];
        let plan = set.plan(&keys);
        assert!(matches!(
            plan.warnings(),
            [PlanWarning::SharesExceedOne { total, .. }] if (*total - 1.4).abs() < 1e-12
        ));
        let mut fs = vec![
            flat("2026-01-01", vec![14.0]),
            flat("2026-01-01", vec![1.0]),
            flat("2026-01-01", vec![2.0]),
        ];
        plan.apply_all(&mut fs).unwrap();
        assert_eq!(fs[0].point[0], 0.0);
        assert!((fs[1].point[0] - 9.0).abs() < 1e-12); // 1 + 14·0.8/1.4
        assert!((fs[2].point[0] - 8.0).abs() < 1e-12); // 2 + 14·0.6/1.4
    }

    #[test]
    fn inflow_uses_matching_quantiles_and_paths() {
        let set = parse(
            r#"
[[event]]
name = "move"
kind = "migration"
from = { region = "x" }
to = { region = "y" }
share = 0.5
start = "2026-01-01"
"#,
        );
        let plan = set.plan(&[key(&[("region", "x")]), key(&[("region", "y")])]);
        let mk = |q: [f64; 3], paths: Vec<Vec<f64>>| ForecastArrays {
            start: at("2026-01-01"),
            step_seconds: 86_400,
            levels: vec![0.1, 0.5, 0.9],
            quantiles: q.iter().map(|v| vec![*v]).collect(),
            point: vec![q[1]],
            paths,
        };
        let mut fs = vec![
            mk([10.0, 20.0, 40.0], vec![vec![12.0], vec![30.0]]),
            mk([1.0, 2.0, 3.0], vec![vec![2.5], vec![1.0]]),
        ];
        plan.apply_all(&mut fs).unwrap();
        let q = |f: &ForecastArrays| f.quantiles.iter().map(|r| r[0]).collect::<Vec<_>>();
        assert_eq!(q(&fs[0]), vec![5.0, 10.0, 20.0]);
        assert_eq!(q(&fs[1]), vec![6.0, 12.0, 23.0]);
        assert_eq!(fs[0].paths, vec![vec![6.0], vec![15.0]]);
        assert_eq!(fs[1].paths, vec![vec![8.5], vec![16.0]]);
        assert_eq!(fs[1].point, vec![12.0]);
    }

    #[test]
    fn missing_target_keeps_demand_and_warns() {
        let set = parse(EXAMPLE);
        let keys = vec![
            key(&[("instance_family", "m6i"), ("region", "ap-south-1")]),
            key(&[("instance_family", "c6i"), ("region", "us-east-1")]),
        ];
        let plan = set.plan(&keys);
        assert_eq!(plan.unmatched_events(), &[0, 1]);
        let w: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("\"EU launch\" (line 2) matches no series"));
        assert!(w[1].contains("\"m6i to c6i\" (line 11) matches no series"));
        assert!(
            w[2].contains("instance_family=c6i,region=ap-south-1"),
            "{}",
            w[2]
        );
        assert!(!plan.is_donor(0));
        let mut fs = vec![
            flat("2027-06-01", vec![3.0; 2]),
            flat("2027-06-01", vec![4.0; 2]),
        ];
        plan.apply_all(&mut fs).unwrap();
        assert_eq!(fs[0].point, vec![3.0; 2]);
        assert_eq!(fs[1].point, vec![4.0; 2]);
    }

    #[test]
    fn filters_match_all_listed_dimensions() {
        let f = Filter::new(BTreeMap::from([
            ("region".to_string(), "eu".to_string()),
            ("service".to_string(), "EC2".to_string()),
        ]));
        assert!(f.matches(&key(&[("service", "EC2"), ("region", "eu"), ("x", "y")])));
        assert!(!f.matches(&key(&[("service", "EC2")])));
        assert!(!f.matches(&key(&[("service", "EC2"), ("region", "us")])));
        assert!(Filter::default().matches(&key(&[])));
        assert_eq!(f.to_string(), "{region = \"eu\", service = \"EC2\"}");
    }

    #[test]
    fn dates_accept_literals_and_offsets() {
        let set = parse(
            r#"
[[event]]
name = "a"
kind = "launch"
start = 2026-12-01T06:00:00+02:00
end = "2026-12-02 00:00:00"
effect = { add = 1 }
"#,
        );
        let t = set.events()[0].timing;
        assert_eq!(t.start(), at("2026-12-01T04:00:00Z"));
        assert_eq!(t.end(), Some(at("2026-12-02")));
    }

    #[test]
    fn errors_name_the_line_and_what_to_do() {
        let cases: &[(&str, usize, &str)] = &[
            // Syntax error.
            (
                "[[event]]\nname = \"a\"\nkind = launch\n",
                3,
                "events.toml:3:",
            ),
            // Unknown key.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1 }\ncolour = \"red\"\n",
                6,
                "unknown field `colour`",
            ),
            // Unknown top-level table.
            ("[[events]]\nname = \"a\"\n", 1, "unknown field `events`"),
            // Unknown kind.
            (
                "[[event]]\nname = \"a\"\nkind = \"expansion\"\n",
                3,
                "unknown variant `expansion`",
            ),
            // Unknown effect key.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { mul = 2 }\n",
                5,
                "unknown field `mul`",
            ),
            // Negative multiply.
            (
                "[[event]]\nname = \"a\"\nkind = \"decommission\"\nstart = \"2026-01-01\"\n\neffect = { multiply = -0.5 }\n",
                6,
                "factor ≥ 0",
            ),
            // Share out of range.
            (
                "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = 1.5\n",
                7,
                "outside 0 ..= 1",
            ),
            (
                "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = -0.1\n",
                7,
                "outside 0 ..= 1",
            ),
            // End before start.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-02-01\"\nend = \"2026-01-01\"\neffect = { add = 1 }\n",
                5,
                "is not after start",
            ),
            // Migration without `to`.
            (
                "\n[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
                2,
                "`to` is missing",
            ),
            // from == to.
            (
                "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"a\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
                5,
                "same as from",
            ),
            // Different dimensions.
            (
                "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { r = \"b\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
                5,
                "name the same dimensions",
            ),
            // rate_per_year outside growth.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { rate_per_year = 0.1 }\n",
                5,
                "only for kind = \"growth\"",
            ),
            // Two effects.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1, multiply = 2 }\n",
                5,
                "give exactly one",
            ),
            // Bad ramp.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\nramp = \"4 weeks\"\neffect = { add = 1 }\n",
                5,
                "e.g. \"36h\"",
            ),
            // Bad date.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"next week\"\neffect = { add = 1 }\n",
                4,
                "\"next week\" is not a date",
            ),
            // Duplicate names.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 1 }\n[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\neffect = { add = 2 }\n",
                6,
                "also used by the event on line 1",
            ),
            // share on a launch.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\nshare = 0.2\neffect = { add = 1 }\n",
                5,
                "only for kind = \"migration\"",
            ),
            // Missing effect.
            (
                "[[event]]\nname = \"a\"\nkind = \"launch\"\nstart = \"2026-01-01\"\n",
                1,
                "`effect` is missing",
            ),
        ];
        for (text, line, needle) in cases {
            let e = parse_err(text);
            let msg = e.to_string();
            assert_eq!(line_of(&e), *line, "{msg}");
            assert!(msg.contains(needle), "{needle:?} not in {msg}");
            assert!(msg.starts_with(&format!("events.toml:{line}")), "{msg}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("36h"), Ok(36 * 3600));
        assert_eq!(parse_duration("10d"), Ok(864_000));
        assert_eq!(parse_duration(" 4w "), Ok(4 * 604_800));
        assert_eq!(parse_duration("0h"), Ok(0));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("1.5d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn apply_reports_misuse() {
        let set = parse(
            "[[event]]\nname = \"m\"\nkind = \"migration\"\nfrom = { f = \"a\" }\nto = { f = \"b\" }\nstart = \"2026-01-01\"\nshare = 0.5\n",
        );
        let plan = set.plan(&[key(&[("f", "a")]), key(&[("f", "b")])]);
        let mut one = vec![flat("2026-01-01", vec![1.0])];
        assert!(matches!(
            plan.apply_all(&mut one),
            Err(ApplyError::CountMismatch {
                planned: 2,
                given: 1
            })
        ));
        let mut fs = vec![
            flat("2026-01-01", vec![1.0, 2.0]),
            flat("2026-01-02", vec![1.0, 2.0]),
        ];
        let err = plan.apply_all(&mut fs).unwrap_err();
        assert!(matches!(err, ApplyError::Misaligned { .. }), "{err}");
        assert!(err.to_string().contains("same start"));
        let mut bad = flat("2026-01-01", vec![1.0, 2.0]);
        bad.quantiles[0].pop();
        assert!(matches!(
            plan.apply_local(0, &mut bad),
            Err(ApplyError::BadShape { series: 0, .. })
        ));
        let mut f = flat("2026-01-01", vec![1.0]);
        assert!(matches!(
            plan.apply_migrations(1, &mut f, |_| None),
            Err(ApplyError::MissingDonor {
                donor: 0,
                target: 1,
                ..
            })
        ));
        assert!(matches!(
            plan.apply_local(7, &mut f),
            Err(ApplyError::SeriesOutOfRange { series: 7, .. })
        ));
    }

    /// One generated event, written as TOML.
    fn arb_event() -> impl Strategy<Value = String> {
        let timing = (
            0i64..96,
            prop::option::of(0i64..48),
            prop::option::of(1i64..96),
        )
            .prop_map(|(start, ramp, end)| {
                let s = at("2026-01-01") + chrono::TimeDelta::hours(start);
                let mut t = format!("start = \"{}\"\n", s.to_rfc3339());
                if let Some(r) = ramp {
                    t += &format!("ramp = \"{r}h\"\n");
                }
                if let Some(e) = end {
                    let e = s + chrono::TimeDelta::hours(e);
                    t += &format!("end = \"{}\"\n", e.to_rfc3339());
                }
                (t, ramp.is_some())
            });
        let filter = prop::sample::select(vec![
            "",
            "match = { f = \"a\" }\n",
            "match = { r = \"x\" }\n",
            "match = { f = \"b\", r = \"y\" }\n",
        ]);
        let migration = prop::sample::select(vec![
            "from = { f = \"a\" }\nto = { f = \"b\" }\n",
            "from = { r = \"x\" }\nto = { r = \"y\" }\n",
            "from = { f = \"b\", r = \"y\" }\nto = { f = \"a\", r = \"x\" }\n",
        ]);
        (
            0usize..5,
            timing,
            filter,
            migration,
            0.0f64..3.0,
            -60.0f64..60.0,
            -0.9f64..2.0,
            0.0f64..=1.0,
        )
            .prop_map(
                |(choice, (t, has_ramp), filter, mig, m, a, g, share)| match choice {
                    0 => format!("kind = \"launch\"\n{filter}{t}effect = {{ multiply = {m:?} }}\n"),
                    1 => {
                        format!("kind = \"decommission\"\n{filter}{t}effect = {{ add = {a:?} }}\n")
                    }
                    2 if !has_ramp => format!(
                        "kind = \"growth\"\n{filter}{t}effect = {{ rate_per_year = {g:?} }}\n"
                    ),
                    2 => format!("kind = \"growth\"\n{filter}{t}effect = {{ multiply = 0.0 }}\n"),
                    _ => format!("kind = \"migration\"\n{mig}{t}share = {share:?}\n"),
                },
            )
    }

    fn arb_forecast() -> impl Strategy<Value = ForecastArrays> {
        (
            prop::collection::vec((0.0f64..100.0, 0.0f64..20.0, 0.0f64..20.0), 60),
            prop::collection::vec(prop::collection::vec(0.0f64..150.0, 60), 3),
        )
            .prop_map(|(steps, paths)| {
                let lo: Vec<f64> = steps.iter().map(|s| s.0).collect();
                let mid: Vec<f64> = steps.iter().map(|s| s.0 + s.1).collect();
                let hi: Vec<f64> = steps.iter().map(|s| s.0 + s.1 + s.2).collect();
                ForecastArrays {
                    start: at("2026-01-01"),
                    step_seconds: 3600,
                    levels: vec![0.1, 0.5, 0.9],
                    quantiles: vec![lo, mid.clone(), hi],
                    point: mid,
                    paths,
                }
            })
    }

    fn all_keys() -> Vec<SeriesKey> {
        vec![
            key(&[("f", "a"), ("r", "x")]),
            key(&[("f", "b"), ("r", "x")]),
            key(&[("f", "a"), ("r", "y")]),
            key(&[("r", "y"), ("f", "b")]),
        ]
    }

    fn file_of(events: &[String]) -> String {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| format!("[[event]]\nname = \"e{i}\"\n{e}\n"))
            .collect()
    }

    proptest! {
        #[test]
        fn valid_events_keep_quantiles_monotone_and_non_negative(
            events in prop::collection::vec(arb_event(), 0..6),
            forecasts in prop::collection::vec(arb_forecast(), 4),
        ) {
            let set = EventSet::from_toml_str(&file_of(&events), "gen.toml").unwrap();
            let plan = set.plan(&all_keys());
            let mut fs = forecasts;
            plan.apply_all(&mut fs).unwrap();
            for f in &fs {
                for k in 0..f.point.len() {
                    for l in 0..f.levels.len() {
                        prop_assert!(f.quantiles[l][k] >= 0.0 && f.quantiles[l][k].is_finite());
                        if l > 0 {
                            prop_assert!(f.quantiles[l][k] >= f.quantiles[l - 1][k]);
                        }
                    }
                    prop_assert!(f.point[k] >= 0.0);
                    prop_assert!(f.paths.iter().all(|p| p[k] >= 0.0));
                }
            }
        }

        #[test]
        fn migrations_alone_conserve_total_demand(
            events in prop::collection::vec(arb_event(), 0..6),
            forecasts in prop::collection::vec(arb_forecast(), 4),
        ) {
            let events: Vec<String> =
                events.into_iter().filter(|e| e.contains("migration")).collect();
            let set = EventSet::from_toml_str(&file_of(&events), "gen.toml").unwrap();
            let plan = set.plan(&all_keys());
            let before = forecasts.clone();
            let mut fs = forecasts;
            plan.apply_all(&mut fs).unwrap();
            for k in 0..60 {
                let total = |v: &[ForecastArrays]| v.iter().map(|f| f.point[k]).sum::<f64>();
                prop_assert!((total(&before) - total(&fs)).abs() < 1e-9);
                for p in 0..3 {
                    let total = |v: &[ForecastArrays]| v.iter().map(|f| f.paths[p][k]).sum::<f64>();
                    prop_assert!((total(&before) - total(&fs)).abs() < 1e-9);
                }
            }
        }
    }
}
