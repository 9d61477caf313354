//! Reading an event file: the serde mirror of the TOML (`RawFile`,
//! `RawEvent`, `RawEffect`), date and duration parsing, and the validation
//! that turns it into an [`EventSet`] ([`EventSet::from_toml_str`]), with
//! errors that name the line, the key and the fix.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{TomlSource, line_col};

use super::{Effect, Event, EventAction, EventError, EventKind, EventSet, Filter, Timing};

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
pub(super) fn parse_instant(value: &toml::Value) -> Result<DateTime<Utc>, String> {
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
pub(super) fn parse_duration(text: &str) -> Result<i64, String> {
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
}
