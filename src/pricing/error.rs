//! Errors and warnings of the pricing inputs. Input errors carry a
//! [`Diagnostic`] pointing at a file, a line and a key.

use std::fmt;

use rust_decimal::Decimal;

use crate::diagnostic::Diagnostic;

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
    /// Two pools of the rate card cover the same usage series: its demand would be planned
    /// (and bought for) twice.
    #[error("{0}")]
    OverlappingPools(Box<PoolOverlap>),
    /// A computation exceeded the range of a decimal (about 7.9e28).
    #[error("arithmetic overflow while computing {what}: the amounts are too large")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
}

/// Two pools that cover the same series ([`PricingError::OverlappingPools`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}: pools \"{first}\" (line {first_line}) and \"{second}\" (line {second_line}) both \
     match the usage series {series} (unit {unit}): its demand would be planned and bought \
     twice; narrow one pool's `match` (or set `series_unit`) so that every series belongs to \
     one pool"
)]
pub struct PoolOverlap {
    /// The rate card's source name.
    pub file: String,
    /// The series both pools match.
    pub series: String,
    /// Its unit.
    pub unit: String,
    /// The first pool (file order).
    pub first: String,
    /// Its line.
    pub first_line: usize,
    /// The second pool.
    pub second: String,
    /// Its line.
    pub second_line: usize,
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
