//! Spans of time as written on the command line and in plan files: `90d`, `12w`, `720h`, `3y`.

use std::fmt;

/// The longest span accepted, in years of 365 days: beyond any commitment term (3 years) and
/// beyond what an hourly forecast can be asked for without exhausting memory (100 years of
/// hourly sample paths need gigabytes before any check could run).
pub const MAX_YEARS: i64 = 10;

/// A span of time: a whole number and a unit `h`, `d`, `w` or `y` (365 days), positive and at
/// most [`MAX_YEARS`] years — the same rule as `capplan`'s `--horizon`, `--backtest-horizon`,
/// `--step`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Length in seconds.
    pub seconds: i64,
    /// The text as written (trimmed), e.g. `3y`, for reports.
    pub text: String,
}

impl Span {
    /// Parses `<number><unit>`; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Span, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: i64 = num
            .parse()
            .map_err(|_| format!("`{s}`: expected a number and a unit, e.g. 90d, 12w, 720h, 3y"))?;
        let unit_s = match unit.trim() {
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "y" => 365 * 86_400,
            other => {
                return Err(format!(
                    "`{s}`: unknown unit `{other}`; use h (hours), d (days), w (weeks) or y (years of 365 days)"
                ));
            }
        };
        if n <= 0 {
            return Err(format!("`{s}`: must be positive"));
        }
        if n > MAX_YEARS * 365 * 86_400 / unit_s {
            return Err(format!(
                "`{s}`: must be at most {MAX_YEARS} years (commitment terms are 1 or 3 years; an hourly forecast over `{t}` would need {} values per sample path)",
                n.saturating_mul(unit_s) / 3600
            ));
        }
        Ok(Span {
            seconds: n * unit_s,
            text: t.to_owned(),
        })
    }

    /// Whole steps of `step_seconds` covering the span (at least one).
    pub fn steps(&self, step_seconds: i64) -> usize {
        ((self.seconds + step_seconds - 1) / step_seconds).max(1) as usize
    }

    /// Whole days covering the span (at least one).
    pub fn days(&self) -> i64 {
        ((self.seconds + 86_399) / 86_400).max(1)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a span looks like, for error messages.
pub(crate) const SPAN_EXPECTED: &str =
    "a whole number and a unit h, d, w or y (365 days), e.g. \"90d\", \"12w\", \"3y\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_cli() {
        assert_eq!(Span::parse("90d").unwrap().seconds, 90 * 86_400);
        assert_eq!(Span::parse(" 3y ").unwrap().text, "3y");
        assert_eq!(Span::parse("3y").unwrap().days(), 1095);
        assert_eq!(Span::parse("36h").unwrap().days(), 2);
        assert_eq!(Span::parse("2w").unwrap().seconds, 14 * 86_400);
        assert_eq!(Span::parse("10y").unwrap().days(), 3650);
        assert!(
            Span::parse("100y")
                .unwrap_err()
                .contains("at most 10 years")
        );
        for bad in [
            "", "d", "0d", "-1d", "3m", "1.5y", "11y", "100y", "3651d", "3 years",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }
}
