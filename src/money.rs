//! Exact money: amounts are [`rust_decimal::Decimal`], never `f64`.
//!
//! # Rounding policy
//!
//! There is exactly one rounding policy in capplan: amounts that are *presented or booked*
//! (report cells, cash-flow lines, invoice-like totals) are rounded to the currency's minor
//! unit (cents for USD/EUR, 0 decimals for JPY, ...) with **banker's rounding** (half to even),
//! through [`Money::round`]. Intermediate values keep full precision. When a total is split
//! into parts (months of a term, tranches of a ladder) use [`Money::allocate`], whose rounded
//! parts always sum exactly to the rounded total.
//!
//! Usage quantities are `f64`; the only place where a quantity meets a price is
//! [`Rate::cost_of`], which converts the quantity to a decimal with [`QUANTITY_DP`] decimal
//! places first so the product is exact decimal arithmetic.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

/// Decimal places kept when a floating-point usage quantity is turned into a decimal.
pub const QUANTITY_DP: u32 = 9;

/// Errors from money arithmetic and parsing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// Currency of the left-hand operand.
        left: Currency,
        /// Currency of the right-hand operand.
        right: Currency,
    },
    /// The result does not fit in a decimal (about 7.9e28).
    #[error("amount overflow while computing {op}")]
    Overflow {
        /// The operation that overflowed (e.g. `addition`).
        op: &'static str,
    },
    /// A currency code that is not three ASCII letters.
    #[error("invalid currency code {code:?}: expected three letters such as USD")]
    InvalidCurrency {
        /// The code as given.
        code: String,
    },
    /// A decimal amount that could not be parsed.
    #[error("invalid amount {text:?}: expected a decimal number such as 12.34")]
    InvalidAmount {
        /// The text as given.
        text: String,
    },
    /// `allocate` was given no weights or weights that sum to zero.
    #[error("cannot allocate with weights that are empty or sum to zero")]
    BadWeights,
    /// A quantity that is NaN or infinite.
    #[error("quantity {0} is not finite")]
    NonFiniteQuantity(f64),
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a code, accepting lower case and surrounding blanks.
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        let trimmed = code.trim();
        let bytes = trimmed.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(MoneyError::InvalidCurrency {
                code: code.to_string(),
            });
        }
        let mut out = [0u8; 3];
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = b.to_ascii_uppercase();
        }
        Ok(Currency(out))
    }

    /// The code as text.
    pub fn code(&self) -> &str {
        // Invariant: constructed from ASCII letters only.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Decimal places of the currency's minor unit (ISO 4217).
    pub fn minor_units(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount in one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount in `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parses a decimal amount from text without passing through `f64`.
    /// Accepts scientific notation (`5.6E-05`) as billing exports use it.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        parse_decimal(text).map(|d| Money::new(d, currency))
    }

    /// The exact amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Checked addition; errors on currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.amount
            .checked_add(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow { op: "addition" })
    }

    /// Checked subtraction; errors on currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow { op: "subtraction" })
    }

    /// Multiplies by an exact decimal factor.
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(factor)
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow {
                op: "multiplication",
            })
    }

    /// Sums amounts that must all be in `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Rounds to the currency's minor unit, half to even: the project's one rounding policy.
    pub fn round(self) -> Money {
        Money::new(
            self.amount.round_dp_with_strategy(
                self.currency.minor_units(),
                RoundingStrategy::MidpointNearestEven,
            ),
            self.currency,
        )
    }

    /// Splits the amount, rounded to minor units, into parts proportional to `weights` whose
    /// sum is exactly the rounded amount (largest-remainder method; ties go to earlier parts).
    pub fn allocate(self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        let total_w = weights
            .iter()
            .try_fold(Decimal::ZERO, |a, w| a.checked_add(*w))
            .ok_or(MoneyError::Overflow {
                op: "allocation weights",
            })?;
        if weights.is_empty() || total_w.is_zero() || weights.iter().any(|w| w.is_sign_negative()) {
            return Err(MoneyError::BadWeights);
        }
        let dp = self.currency.minor_units();
        let unit = Decimal::new(1, dp);
        let total = self.round().amount;
        let negative = total.is_sign_negative();
        let abs_total = total.abs();
        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        let mut allocated = Decimal::ZERO;
        for (i, w) in weights.iter().enumerate() {
            let exact = abs_total
                .checked_mul(*w)
                .and_then(|x| x.checked_div(total_w))
                .ok_or(MoneyError::Overflow { op: "allocation" })?;
            let floor = exact.round_dp_with_strategy(dp, RoundingStrategy::ToZero);
            remainders.push((exact - floor, i));
            allocated += floor;
            parts.push(floor);
        }
        let mut leftover = abs_total - allocated;
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders.iter().cycle() {
            if leftover <= Decimal::ZERO {
                break;
            }
            parts[*i] += unit;
            leftover -= unit;
        }
        Ok(parts
            .into_iter()
            .map(|p| Money::new(if negative { -p } else { p }, self.currency))
            .collect())
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount.normalize(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

/// A price per unit of usage (per unit-hour, per GB-month, ...).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Rate {
    /// Money per one unit.
    pub per_unit: Money,
}

impl Rate {
    /// A rate of `per_unit` per one unit.
    pub fn new(per_unit: Money) -> Self {
        Rate { per_unit }
    }

    /// The cost of `quantity` units: the one place where an `f64` quantity meets money.
    /// The quantity is converted to a decimal with [`QUANTITY_DP`] places (half-even), then
    /// multiplied exactly. The result is *not* rounded; call [`Money::round`] to book it.
    pub fn cost_of(&self, quantity: f64) -> Result<Money, MoneyError> {
        let q = quantity_to_decimal(quantity)?;
        self.per_unit.checked_mul(q)
    }
}

/// Converts a usage quantity to a decimal with [`QUANTITY_DP`] places, half to even.
pub fn quantity_to_decimal(quantity: f64) -> Result<Decimal, MoneyError> {
    if !quantity.is_finite() {
        return Err(MoneyError::NonFiniteQuantity(quantity));
    }
    Decimal::from_f64_retain(quantity)
        .map(|d| d.round_dp_with_strategy(QUANTITY_DP, RoundingStrategy::MidpointNearestEven))
        .ok_or(MoneyError::Overflow {
            op: "quantity conversion",
        })
}

/// Parses a decimal from text exactly, accepting scientific notation and a leading `+`.
pub fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let bad = || MoneyError::InvalidAmount {
        text: text.to_string(),
    };
    if t.is_empty() {
        return Err(bad());
    }
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).map_err(|_| bad())
    } else {
        Decimal::from_str_exact(t).map_err(|_| bad())
    }
}

/// Builds a decimal from a scaled integer (as columnar engines store decimals), stripping
/// trailing zeros first so that wide-scale values still fit rust_decimal's 96-bit mantissa.
/// A value with more than 28 significant digits is rounded half-even to fit (rust_decimal's
/// precision); a value whose integer part does not fit is an overflow.
pub fn decimal_from_scaled(mut value: i128, mut scale: u32) -> Result<Decimal, MoneyError> {
    // Fast path (most sums fit 96 bits): rust_decimal strips the trailing zeros with 32-bit
    // limb arithmetic, much cheaper than 128-bit divisions.
    if scale <= 28
        && let Ok(d) = Decimal::try_from_i128_with_scale(value, scale)
    {
        return Ok(d.normalize());
    }
    while scale > 0 && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    loop {
        if scale <= 28
            && let Ok(d) = Decimal::try_from_i128_with_scale(value, scale)
        {
            return Ok(d);
        }
        if scale == 0 {
            return Err(MoneyError::Overflow {
                op: "decimal conversion",
            });
        }
        // Drop one digit, half to even.
        let q = value / 10;
        let r = (value % 10).abs();
        let round_up = r > 5 || (r == 5 && q % 2 != 0);
        value = if round_up { q + value.signum() } else { q };
        scale -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    #[test]
    fn parses_without_f64() {
        assert_eq!(usd("0.1").checked_add(usd("0.2")).unwrap(), usd("0.3"));
        assert_eq!(
            usd("5.64902E-05").amount(),
            Decimal::from_str("0.0000564902").unwrap()
        );
        assert_eq!(
            usd("2.323760000E-9").amount(),
            Decimal::from_str("0.000000002323760000").unwrap()
        );
        assert_eq!(usd("+3").amount(), Decimal::from(3));
        assert!(Money::parse("abc", Currency::USD).is_err());
        assert!(Money::parse("", Currency::USD).is_err());
        assert!(Money::parse("NaN", Currency::USD).is_err());
    }

    #[test]
    fn rounding_is_half_even_to_minor_units() {
        assert_eq!(usd("0.125").round(), usd("0.12"));
        assert_eq!(usd("0.135").round(), usd("0.14"));
        assert_eq!(usd("-0.125").round(), usd("-0.12"));
        let jpy = Currency::new("jpy").unwrap();
        assert_eq!(
            Money::parse("2.5", jpy).unwrap().round().amount(),
            Decimal::from(2)
        );
    }

    #[test]
    fn currency_mismatch_is_an_error() {
        let eur = Money::parse("1", Currency::new("EUR").unwrap()).unwrap();
        assert!(matches!(
            usd("1").checked_add(eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(Currency::new("US").is_err());
        assert!(Currency::new("U$D").is_err());
    }

    #[test]
    fn allocate_splits_a_cent_fairly() {
        let parts = usd("100").allocate(&[Decimal::ONE; 3]).unwrap();
        let amounts: Vec<_> = parts.iter().map(|m| m.amount().to_string()).collect();
        assert_eq!(amounts, ["33.34", "33.33", "33.33"]);
        let parts = usd("-0.05")
            .allocate(&[Decimal::ONE, Decimal::ONE])
            .unwrap();
        assert_eq!(Money::sum(Currency::USD, parts).unwrap(), usd("-0.05"));
        assert!(usd("1").allocate(&[]).is_err());
        assert!(usd("1").allocate(&[Decimal::ZERO]).is_err());
    }

    #[test]
    fn rate_cost_of_is_exact() {
        let r = Rate::new(usd("0.192"));
        assert_eq!(r.cost_of(730.0).unwrap(), usd("140.16"));
        assert_eq!(r.cost_of(0.1).unwrap(), usd("0.0192"));
        assert!(r.cost_of(f64::NAN).is_err());
    }

    #[test]
    fn scaled_conversion_strips_zeros() {
        // 12.5 stored at scale 18
        let v = 125 * 10i128.pow(17);
        assert_eq!(
            decimal_from_scaled(v, 18).unwrap(),
            Decimal::from_str("12.5").unwrap()
        );
        assert_eq!(
            decimal_from_scaled(-3, 2).unwrap(),
            Decimal::from_str("-0.03").unwrap()
        );
    }

    proptest! {
        #[test]
        fn allocation_sums_exactly(cents in -10_000_000i64..10_000_000, ws in proptest::collection::vec(0u32..1000, 1..40)) {
            prop_assume!(ws.iter().any(|w| *w > 0));
            let total = Money::new(Decimal::new(cents, 2), Currency::USD);
            let weights: Vec<Decimal> = ws.iter().map(|w| Decimal::from(*w)).collect();
            let parts = total.allocate(&weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(Money::sum(Currency::USD, parts.clone()).unwrap(), total);
            for (p, w) in parts.iter().zip(&weights) {
                if w.is_zero() { prop_assert!(p.is_zero()); }
                let exact = total.amount() * *w / weights.iter().sum::<Decimal>();
                prop_assert!((p.amount() - exact).abs() < Decimal::new(1, 2));
            }
        }

        #[test]
        fn parse_round_trips_decimal_text(units in -1_000_000_000i64..1_000_000_000, scale in 0u32..12) {
            let d = Decimal::new(units, scale);
            prop_assert_eq!(parse_decimal(&d.to_string()).unwrap(), d);
        }
    }
}
