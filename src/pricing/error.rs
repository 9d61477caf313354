//! Errors and warnings of the pricing inputs, each pointing at a file, a line and a field.

pub(crate) use crate::text::{edit_distance, line_col};
use std::fmt;

use rust_decimal::Decimal;

/// Where in an input file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A position in a TOML file (1-based line and column, in characters).
    Toml {
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
    },
    /// A cell of a CSV file.
    Csv {
        /// 1-based record number, the header being row 1.
        row: usize,
        /// 1-based physical line where the record starts.
        line: usize,
        /// 1-based column number.
        column: usize,
    },
}

impl Place {
    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        match self {
            Place::Toml { line, .. } | Place::Csv { line, .. } => *line,
        }
    }
}

/// A problem in an input file: what is wrong, where, what was expected and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The source name given by the caller (usually the file path).
    pub file: String,
    /// Position of the problem.
    pub place: Place,
    /// The key or CSV column concerned (a dotted path such as `pool[2].offer[1].upfront`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What a valid value looks like.
    pub expected: String,
    /// What the user can do about it.
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Toml { line, column } if self.field.is_empty() => write!(
                f,
                "{}: line {line}, column {column}: {}",
                self.file, self.problem
            )?,
            Place::Toml { line, column } => write!(
                f,
                "{}: line {line}, column {column}: `{}`: {}",
                self.file, self.field, self.problem
            )?,
            Place::Csv { row, line, column } => write!(
                f,
                "{}: row {row} (line {line}), column {column} `{}`: {}",
                self.file, self.field, self.problem
            )?,
        }
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Errors of the pricing module. Input problems carry a [`Diagnostic`] naming file, line and
/// field; calculation problems name the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The TOML text is malformed or has the wrong shape (unknown key, wrong type, missing
    /// key), as reported by the TOML parser.
    #[error("{0}")]
    Toml(Box<Diagnostic>),
    /// A TOML value is well-formed but invalid (negative price, duplicate id, ...).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A CSV cell or header is invalid.
    #[error("{0}")]
    Csv(Box<Diagnostic>),
    /// The annual cost of capital given to a present-value computation is out of range.
    #[error(
        "cost of capital {value} is out of range: expected an annual rate between -0.99 and 10 \
         (0.08 means 8 % a year); pass the rate as a fraction, not a percentage"
    )]
    CostOfCapital {
        /// The rejected rate.
        value: Decimal,
    },
    /// A pool id that the rate card does not define.
    #[error(
        "pool \"{pool}\" is not in the rate card; expected one of: {}",
        if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
    )]
    UnknownPool {
        /// The requested id.
        pool: String,
        /// The card's pool ids, in file order.
        known: Vec<String>,
    },
    /// A computation exceeded the range of a decimal (about 7.9e28).
    #[error("arithmetic overflow while computing {what}: the amounts are too large")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
}

impl PricingError {
    /// The diagnostic of an input error, if this is one.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            PricingError::Toml(d) | PricingError::Invalid(d) | PricingError::Csv(d) => Some(d),
            _ => None,
        }
    }
}

/// Something suspicious but not fatal in a rate card (for example an offer that costs more
/// than on-demand). Collected in [`crate::pricing::RateCard::warnings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The source name.
    pub file: String,
    /// 1-based line (CSV: the physical line of the row).
    pub line: usize,
    /// The pool concerned.
    pub pool: String,
    /// The offer concerned, if any.
    pub offer: Option<String>,
    /// What is suspicious and what it means for the plan.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}: pool `{}`", self.file, self.line, self.pool)?;
        if let Some(o) = &self.offer {
            write!(f, ", offer `{o}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The closest candidate to `word` (edit distance ≤ 1/3 of its length, at least 2), for
/// "did you mean" hints.
pub(crate) fn did_you_mean<'a, I: IntoIterator<Item = &'a str>>(
    word: &str,
    candidates: I,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        // after "bé" (3 bytes) → column 3
        assert_eq!(line_col(t, 9), (2, 3));
        // inside the two-byte character: clamped back
        assert_eq!(line_col(t, 8), (2, 2));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn did_you_mean_finds_close_names() {
        assert_eq!(
            did_you_mean("recuring_hourly", ["upfront", "recurring_hourly"]),
            Some("recurring_hourly")
        );
        assert_eq!(did_you_mean("zzz", ["upfront"]), None);
    }

    #[test]
    fn diagnostics_read_well() {
        let d = Diagnostic {
            file: "rates.toml".into(),
            place: Place::Toml {
                line: 7,
                column: 11,
            },
            field: "pool[1].offer[2].upfront".into(),
            problem: "is negative (-5)".into(),
            expected: "a price ≥ 0".into(),
            fix: "write the upfront fee as a positive amount".into(),
        };
        assert_eq!(
            d.to_string(),
            "rates.toml: line 7, column 11: `pool[1].offer[2].upfront`: is negative (-5); \
             expected a price ≥ 0. Fix: write the upfront fee as a positive amount"
        );
    }
}
