//! Reading typed values out of spanned TOML, with errors that point at the line.
//!
//! Every scalar field of the raw file structs is a `Spanned<toml::Value>`, so type errors get
//! capplan's own messages and positions, and decimal numbers are parsed from their *source
//! text* (`on_demand_rate = 0.192` is read as exactly 0.192, never through `f64`).

use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use toml::{Spanned, Value};

use super::error::PricingError;
use crate::diagnostic::{Place, TomlSource, did_you_mean};
use crate::money::{Currency, parse_decimal};

/// Where the pricing inputs' schema is documented, for fixes.
const REFERENCE: &str = "the schema in the pricing module documentation";

/// The pricing inputs' value readers over the one spanned-TOML context
/// ([`TomlSource`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Src<'a> {
    /// The text, its name and where its schema is documented.
    pub ctx: TomlSource<'a>,
}

/// What to say about an invalid value.
pub(crate) struct Problem<'a> {
    pub field: &'a str,
    pub problem: String,
    pub expected: &'a str,
    pub fix: String,
}

impl<'a> Src<'a> {
    /// Readers over `text`, a TOML file shown to the user as `name`.
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        Src {
            ctx: TomlSource::new(name, text, REFERENCE),
        }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.ctx.line(offset)
    }

    /// The place (line and column) of a byte offset.
    pub(crate) fn place_of(&self, offset: usize) -> Place {
        self.ctx.place(offset)
    }

    /// An [`PricingError::Invalid`] at `span`.
    pub(crate) fn invalid(&self, span: Range<usize>, p: Problem<'_>) -> PricingError {
        PricingError::Invalid(Box::new(
            self.ctx.at(span, p.field, p.problem, p.expected, p.fix),
        ))
    }

    /// Converts a parse/shape error of the `toml` crate into a located diagnostic
    /// ([`TomlSource::toml_error`]).
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> PricingError {
        PricingError::Toml(Box::new(self.ctx.toml_error(e).1))
    }

    /// A non-empty string.
    pub(crate) fn string(&self, v: &Spanned<Value>, field: &str) -> Result<String, PricingError> {
        match v.get_ref() {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::String(_) => Err(self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: "is empty".into(),
                    expected: "a non-empty string",
                    fix: format!("give `{field}` a value"),
                },
            )),
            other => Err(self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("is a {}, not a string", other.type_str()),
                    expected: "a quoted string",
                    fix: format!("write `{field} = \"...\"`"),
                },
            )),
        }
    }

    /// An exact decimal, written either as a string (`"0.192"`) or as a bare TOML number
    /// (`0.192`, `2628`, `1_000`); bare numbers are read from their source text, never through
    /// `f64`.
    pub(crate) fn decimal(&self, v: &Spanned<Value>, field: &str) -> Result<Decimal, PricingError> {
        let text = match v.get_ref() {
            Value::String(s) => s.clone(),
            Value::Integer(_) | Value::Float(_) => self
                .ctx
                .text
                .get(v.span())
                .unwrap_or_default()
                .replace('_', ""),
            other => {
                return Err(self.invalid(
                    v.span(),
                    Problem {
                        field,
                        problem: format!("is a {}, not a number", other.type_str()),
                        expected: "a decimal number such as 0.192 or \"0.192\"",
                        fix: format!("write `{field} = \"0.192\"` (a decimal, per unit)"),
                    },
                ));
            }
        };
        parse_decimal(&text).map_err(|_| {
            self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{text:?} is not a finite decimal number"),
                    expected: "a decimal number such as 0.192 (at most 28 significant digits)",
                    fix: "write the amount with digits and a decimal point only".into(),
                },
            )
        })
    }

    /// A decimal `≥ 0` (or `> 0` when `positive`) and at most [`MAX_AMOUNT`].
    pub(crate) fn amount(
        &self,
        v: &Spanned<Value>,
        field: &str,
        positive: bool,
    ) -> Result<Decimal, PricingError> {
        let d = self.decimal(v, field)?;
        let bad = if positive {
            d <= Decimal::ZERO
        } else {
            d < Decimal::ZERO
        };
        if bad {
            let expected = if positive {
                "a number > 0"
            } else {
                "a number ≥ 0"
            };
            return Err(self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("is {} ({d})", if d.is_zero() { "zero" } else { "negative" }),
                    expected,
                    fix: format!(
                        "prices and factors are positive amounts per unit; correct `{field}`"
                    ),
                },
            ));
        }
        if d > MAX_AMOUNT {
            return Err(self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{d} is implausibly large"),
                    expected: "at most 1,000,000,000 per unit",
                    fix: "check the unit of the value (per unit-hour, not per year)".into(),
                },
            ));
        }
        Ok(d)
    }

    /// A currency code.
    pub(crate) fn currency(
        &self,
        v: &Spanned<Value>,
        field: &str,
    ) -> Result<Currency, PricingError> {
        let s = self.string(v, field)?;
        Currency::new(&s).map_err(|_| {
            self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{s:?} is not a currency code"),
                    expected: "a three-letter ISO 4217 code such as \"USD\"",
                    fix: "write the billing currency's code".into(),
                },
            )
        })
    }

    /// A finite `f64` ≥ 0 and at most [`MAX_QUANTITY`] (TOML integer or float).
    pub(crate) fn quantity(&self, v: &Spanned<Value>, field: &str) -> Result<f64, PricingError> {
        let q = match v.get_ref() {
            Value::Integer(i) => *i as f64,
            Value::Float(f) => *f,
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
                self.invalid(
                    v.span(),
                    Problem {
                        field,
                        problem: format!("{s:?} is not a number"),
                        expected: "a number of pool units ≥ 0, such as 16 or 8.5",
                        fix: format!("write `{field} = 16`"),
                    },
                )
            })?,
            other => {
                return Err(self.invalid(
                    v.span(),
                    Problem {
                        field,
                        problem: format!("is a {}, not a number", other.type_str()),
                        expected: "a number of pool units ≥ 0, such as 16 or 8.5",
                        fix: format!("write `{field} = 16`"),
                    },
                ));
            }
        };
        if !q.is_finite() || !(0.0..=MAX_QUANTITY).contains(&q) {
            return Err(self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{q} is out of range"),
                    expected: "a finite number of pool units between 0 and 1e12",
                    fix: format!("correct `{field}`"),
                },
            ));
        }
        Ok(q)
    }

    /// A UTC instant: a TOML date (`2025-01-01`, midnight UTC), a TOML offset date-time, or a
    /// string holding either. Local date-times without an offset are rejected (ambiguous).
    pub(crate) fn instant(
        &self,
        v: &Spanned<Value>,
        field: &str,
    ) -> Result<DateTime<Utc>, PricingError> {
        let text = match v.get_ref() {
            Value::String(s) => s.trim().to_string(),
            Value::Datetime(d) => d.to_string(),
            other => {
                return Err(self.invalid(
                    v.span(),
                    Problem {
                        field,
                        problem: format!("is a {}, not a date", other.type_str()),
                        expected: "a date such as 2025-01-01 or an RFC 3339 time such as \
                                   2025-01-01T00:00:00Z",
                        fix: format!("write `{field} = 2025-01-01`"),
                    },
                ));
            }
        };
        parse_instant(&text).ok_or_else(|| {
            self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{text:?} is not a date or an RFC 3339 time with offset"),
                    expected: "a date such as 2025-01-01 (midnight UTC) or 2025-01-01T00:00:00Z",
                    fix: "use YYYY-MM-DD, or add `Z` or an offset such as +01:00 to the time"
                        .into(),
                },
            )
        })
    }

    /// A value out of a closed vocabulary, parsed by `parse`.
    pub(crate) fn choice<T>(
        &self,
        v: &Spanned<Value>,
        field: &str,
        parse: impl Fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Result<T, PricingError> {
        let s = self.string(v, field)?;
        parse(&s).ok_or_else(|| {
            let hint = did_you_mean(&s.to_ascii_lowercase(), names.iter().copied())
                .map(|n| format!("did you mean \"{n}\"?"))
                .unwrap_or_else(|| format!("use one of the listed values for `{field}`"));
            let expected = quote_list(names);
            self.invalid(
                v.span(),
                Problem {
                    field,
                    problem: format!("{s:?} is not a known value"),
                    expected: &format!("one of {expected}"),
                    fix: hint,
                },
            )
        })
    }
}

/// Upper bound on prices and factors per unit: keeps every derived amount far from the
/// decimal range, so later arithmetic cannot overflow.
pub(crate) const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Upper bound on commitment quantities.
pub(crate) const MAX_QUANTITY: f64 = 1e12;

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time with `Z` or an offset.
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn quote_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct One {
        v: Spanned<Value>,
    }

    fn value(text: &str) -> (String, Spanned<Value>) {
        let t = text.to_string();
        let one: One = toml::from_str(&t).unwrap();
        (t, one.v)
    }

    #[test]
    fn decimals_come_from_source_text() {
        for (src, want) in [
            ("v = 0.192", "0.192"),
            ("v = \"0.192\"", "0.192"),
            ("v = 2_628", "2628"),
            ("v = 1e-3", "0.001"),
            (
                "v = 0.1000000000000000055511151231257827",
                "0.1000000000000000055511151231",
            ),
        ] {
            let (t, v) = value(src);
            let got = Src::new("t", &t).decimal(&v, "v");
            if src.contains("0.1000") {
                // more digits than a decimal holds: rejected rather than rounded silently
                assert!(got.is_err(), "{src}");
            } else {
                assert_eq!(got.unwrap().to_string(), want, "{src}");
            }
        }
        let (t, v) = value("v = nan");
        assert!(Src::new("t", &t).decimal(&v, "v").is_err());
        let (t, v) = value("v = true");
        let e = Src::new("t", &t).decimal(&v, "v").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("boolean"), "{e}");
    }

    #[test]
    fn instants_accept_dates_and_rfc3339() {
        for src in [
            "v = 2025-01-01",
            "v = \"2025-01-01\"",
            "v = 2025-01-01T00:00:00Z",
            "v = 2025-01-01T01:00:00+01:00",
        ] {
            let (t, v) = value(src);
            assert_eq!(
                Src::new("t", &t).instant(&v, "v").unwrap().to_rfc3339(),
                "2025-01-01T00:00:00+00:00",
                "{src}"
            );
        }
        let (t, v) = value("v = 2025-01-01T00:00:00");
        assert!(Src::new("t", &t).instant(&v, "v").is_err());
    }
}
