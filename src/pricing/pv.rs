//! Present value of an offer's cash flows, and the choice of payment option.
//!
//! Cash-flow convention (per unit of the pool):
//!
//! * the upfront fee is paid at t = 0;
//! * the recurring fee is paid **monthly in arrears**: at the end of each of the term's 12 × years
//!   months, [`HOURS_PER_MONTH`] (730) × `recurring_hourly`;
//! * cash flows are discounted at the monthly rate equivalent to the annual cost of capital
//!   `r`: month m is divided by (1 + r)^(m/12).
//!
//! At r = 0 the present value equals the nominal total `upfront + recurring × term_hours`
//! exactly (730 × 12 = 8,760). All arithmetic is decimal; the twelfth root is computed by
//! Newton's method in decimal, deterministic to 28 significant digits.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::error::PricingError;
use super::rate_card::Offer;
use super::types::{HOURS_PER_MONTH, OfferKind, Payment, Term};

/// Lowest accepted annual cost of capital (−99 %).
pub const MIN_COST_OF_CAPITAL: Decimal = Decimal::from_parts(99, 0, 0, true, 2);
/// Highest accepted annual cost of capital (1,000 %).
pub const MAX_COST_OF_CAPITAL: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// Checks that an annual cost of capital is within
/// [`MIN_COST_OF_CAPITAL`]..=[`MAX_COST_OF_CAPITAL`].
pub fn check_cost_of_capital(r: Decimal) -> Result<(), PricingError> {
    if r < MIN_COST_OF_CAPITAL || r > MAX_COST_OF_CAPITAL {
        Err(PricingError::CostOfCapital { value: r })
    } else {
        Ok(())
    }
}

/// The monthly growth factor (1 + r)^(1/12) for an annual rate r (already range-checked).
pub(crate) fn monthly_factor(annual: Decimal) -> Decimal {
    let a = Decimal::ONE + annual;
    if annual.is_zero() {
        return Decimal::ONE;
    }
    // Newton on f(x) = x^12 − a from x0 = 1 + r/12, which is ≥ a^(1/12) by Bernoulli's
    // inequality: the iteration decreases monotonically to the root.
    let twelve = Decimal::from(12);
    let mut x = Decimal::ONE + annual / twelve;
    for _ in 0..200 {
        let x11 = pow(x, 11);
        let fx = x11 * x - a;
        let step = fx / (twelve * x11);
        let next = x - step;
        if step.is_zero() || next >= x {
            break;
        }
        x = next;
    }
    x
}

fn pow(x: Decimal, n: u32) -> Decimal {
    let mut out = Decimal::ONE;
    for _ in 0..n {
        out *= x;
    }
    out
}

/// Present value at t = 0 of `upfront` now plus `monthly` paid at the end of each of
/// `months` months, at annual cost of capital `annual` (range-checked by the caller).
pub(crate) fn present_value(
    upfront: Decimal,
    monthly: Decimal,
    months: u32,
    annual: Decimal,
) -> Decimal {
    if monthly.is_zero() {
        return upfront;
    }
    if annual.is_zero() {
        return upfront + monthly * Decimal::from(months);
    }
    let v = Decimal::ONE / monthly_factor(annual);
    let mut discount = Decimal::ONE;
    let mut sum = Decimal::ZERO;
    for _ in 0..months {
        discount *= v;
        sum += discount;
    }
    upfront + monthly * sum
}

impl Offer {
    /// Present value per unit of the offer's cash flows at the annual cost of capital
    /// `cost_of_capital_annual` (0.08 = 8 %/year): upfront at t = 0, then 730 ×
    /// `recurring_hourly` at the end of each month of the term, month m discounted by
    /// (1 + r)^(m/12). Errors if the rate is outside −0.99..=10.
    pub fn present_value_per_unit(
        &self,
        cost_of_capital_annual: Decimal,
    ) -> Result<Decimal, PricingError> {
        check_cost_of_capital(cost_of_capital_annual)?;
        Ok(present_value(
            self.upfront(),
            self.recurring_hourly() * Decimal::from(HOURS_PER_MONTH),
            self.term().months(),
            cost_of_capital_annual,
        ))
    }
}

/// One payment option in a [`PaymentChoice`], with the figures that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentCandidate {
    /// The offer's id.
    pub offer: String,
    /// Its payment option.
    pub payment: Payment,
    /// Upfront fee per unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub upfront: Decimal,
    /// Recurring fee per unit-hour.
    #[serde(with = "rust_decimal::serde::str")]
    pub recurring_hourly: Decimal,
    /// Nominal cost per unit over the term (`upfront + recurring × term_hours`).
    #[serde(with = "rust_decimal::serde::str")]
    pub nominal_per_unit: Decimal,
    /// Nominal effective hourly rate per unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub effective_hourly: Decimal,
    /// Present value per unit at the cost of capital.
    #[serde(with = "rust_decimal::serde::str")]
    pub pv_per_unit: Decimal,
    /// Present value per unit-hour (`pv_per_unit / term_hours`): the rate the optimizer
    /// should use for this option.
    #[serde(with = "rust_decimal::serde::str")]
    pub pv_per_unit_hour: Decimal,
}

/// The cheapest payment option (by present value) of one pool, kind and term, with every
/// option compared, cheapest first, so a report can show why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentChoice {
    /// The pool.
    pub pool: String,
    /// The offer kind (kinds are compared separately: they differ in flexibility).
    pub kind: OfferKind,
    /// The term.
    pub term: Term,
    /// The annual cost of capital used.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_of_capital: Decimal,
    /// Id of the chosen offer (the first candidate).
    pub chosen: String,
    /// Every offer of this pool, kind and term: lowest PV first; ties go to the option with
    /// less upfront, then to the smaller offer id.
    pub candidates: Vec<PaymentCandidate>,
}

impl PaymentChoice {
    /// The chosen candidate.
    pub fn chosen_candidate(&self) -> Option<&PaymentCandidate> {
        self.candidates.first()
    }
}

/// Groups `offers` by (kind, term) and picks, in each group, the payment option with the
/// lowest present value per unit-hour at `cost_of_capital`. Offers of one group share a term,
/// so comparing PV per unit is comparing PV per unit-hour. Groups come out ordered by kind,
/// then term.
pub fn choose_payment_options<'a, I: IntoIterator<Item = &'a Offer>>(
    pool: &str,
    offers: I,
    cost_of_capital: Decimal,
) -> Result<Vec<PaymentChoice>, PricingError> {
    check_cost_of_capital(cost_of_capital)?;
    let mut groups: BTreeMap<(OfferKind, Term), Vec<&Offer>> = BTreeMap::new();
    for o in offers {
        groups.entry((o.kind(), o.term())).or_default().push(o);
    }
    let mut out = Vec::with_capacity(groups.len());
    for ((kind, term), group) in groups {
        let mut candidates = Vec::with_capacity(group.len());
        for o in group {
            let pv = o.present_value_per_unit(cost_of_capital)?;
            candidates.push(PaymentCandidate {
                offer: o.id().to_string(),
                payment: o.payment(),
                upfront: o.upfront(),
                recurring_hourly: o.recurring_hourly(),
                nominal_per_unit: o.total_per_unit(),
                effective_hourly: o.effective_hourly(),
                pv_per_unit: pv,
                pv_per_unit_hour: pv / Decimal::from(term.hours()),
            });
        }
        candidates.sort_by(|a, b| {
            a.pv_per_unit
                .cmp(&b.pv_per_unit)
                .then(a.upfront.cmp(&b.upfront))
                .then(a.offer.cmp(&b.offer))
        });
        let chosen = candidates
            .first()
            .map(|c| c.offer.clone())
            .unwrap_or_default();
        out.push(PaymentChoice {
            pool: pool.to_string(),
            kind,
            term,
            cost_of_capital,
            chosen,
            candidates,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn monthly_factor_is_the_twelfth_root() {
        for r in ["0.1", "0.05", "0.0001", "-0.5", "10", "-0.99"] {
            let a = Decimal::ONE + d(r);
            let g = monthly_factor(d(r));
            let back = pow(g, 12);
            assert!((back - a).abs() < d("1e-24"), "{r}: {back} vs {a}");
        }
        assert_eq!(monthly_factor(Decimal::ZERO), Decimal::ONE);
        // 10 %/yr ≈ 0.797 %/month
        let g = monthly_factor(d("0.1"));
        assert_eq!(g.round_dp(8), d("1.00797414"));
    }

    #[test]
    fn present_value_hand_computed() {
        // 12 payments of 100 at 0 %: nominal.
        assert_eq!(
            present_value(d("5"), d("100"), 12, Decimal::ZERO),
            d("1205")
        );
        // A single year of payments at 12.68250301 %/yr (= 1 %/month): annuity factor
        // (1 − 1.01^−12)/0.01 = 11.25507747.
        let r = pow(d("1.01"), 12) - Decimal::ONE;
        let pv = present_value(Decimal::ZERO, d("100"), 12, r);
        assert_eq!(pv.round_dp(6), d("1125.507747"));
        // Upfront only: unaffected by the rate.
        assert_eq!(
            present_value(d("2628"), Decimal::ZERO, 36, d("0.1")),
            d("2628")
        );
    }

    #[test]
    fn cost_of_capital_range() {
        assert!(check_cost_of_capital(d("0.08")).is_ok());
        assert!(check_cost_of_capital(d("-0.99")).is_ok());
        assert!(check_cost_of_capital(d("-1")).is_err());
        assert!(check_cost_of_capital(d("8")).is_ok());
        let e = check_cost_of_capital(d("12")).unwrap_err().to_string();
        assert!(e.contains("fraction"), "{e}");
    }

    fn offer(term: &str, payment: &str, upfront: &str, recurring: &str) -> Offer {
        let text = format!(
            "[[pool]]\nid = \"p\"\nmatch = {{ r = \"x\" }}\nunit = \"h\"\n\
             on_demand_rate = \"1000\"\ncurrency = \"USD\"\n\
             [[pool.offer]]\nid = \"o\"\nkind = \"ri_standard\"\nterm = \"{term}\"\n\
             payment = \"{payment}\"\nupfront = \"{upfront}\"\nrecurring_hourly = \"{recurring}\"\n"
        );
        let card = crate::pricing::RateCard::from_toml_str(&text, "t.toml").unwrap();
        card.offer("o").unwrap().clone()
    }

    #[test]
    fn offer_present_values_hand_computed() {
        // 3y all upfront, 2,628 per unit: 0.1/h, PV = 2,628 at any rate.
        let au = offer("3y", "all_upfront", "2628", "0");
        assert_eq!(au.effective_hourly(), d("0.1"));
        assert_eq!(au.present_value_per_unit(d("0.1")).unwrap(), d("2628"));
        // 1y no upfront, 0.1/h: 12 × 73 = 876 nominal; at 10 %/yr
        // 73 × Σ_{m=1..12} 1.1^(−m/12) = 832.2356115411403769264683474...
        let no = offer("1y", "no_upfront", "0", "0.1");
        assert_eq!(no.present_value_per_unit(Decimal::ZERO).unwrap(), d("876"));
        let pv = no.present_value_per_unit(d("0.1")).unwrap();
        assert_eq!(pv.round_dp(20), d("832.23561154114037692647"));
        assert!(pv < no.total_per_unit());
        // 3y partial: 1,000 + 36 × 36.5 at 10 % = 2,138.30573314098125934983...
        let pu = offer("3y", "partial_upfront", "1000", "0.05");
        assert_eq!(pu.present_value_per_unit(Decimal::ZERO).unwrap(), d("2314"));
        let pv = pu.present_value_per_unit(d("0.1")).unwrap();
        assert_eq!(pv.round_dp(20), d("2138.30573314098125934984"));
        assert!(pu.present_value_per_unit(d("11")).is_err());
    }

    fn cents() -> impl Strategy<Value = Decimal> {
        (0i64..100_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    fn hourly() -> impl Strategy<Value = Decimal> {
        (1i64..10_000_000).prop_map(|c| Decimal::new(c, 6))
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pv_is_non_increasing_in_the_cost_of_capital(
            three in any::<bool>(),
            partial in any::<bool>(),
            upfront in cents(),
            recurring in hourly(),
            bp1 in -5000i64..50_000,
            bp2 in -5000i64..50_000,
        ) {
            let term = if three { "3y" } else { "1y" };
            let (payment, upfront) = if partial && !upfront.is_zero() {
                ("partial_upfront", upfront)
            } else {
                ("no_upfront", Decimal::ZERO)
            };
            let o = offer(term, payment, &upfront.to_string(), &recurring.to_string());
            let (lo, hi) = (bp1.min(bp2), bp1.max(bp2));
            let pv_lo = o.present_value_per_unit(Decimal::new(lo, 4)).unwrap();
            let pv_hi = o.present_value_per_unit(Decimal::new(hi, 4)).unwrap();
            prop_assert!(pv_hi <= pv_lo, "r {lo} → {pv_lo}, r {hi} → {pv_hi}");
            if lo < hi {
                prop_assert!(pv_hi < pv_lo);
            }
            // PV at 0 is the nominal total; any positive rate is strictly below it.
            prop_assert_eq!(o.present_value_per_unit(Decimal::ZERO).unwrap(), o.total_per_unit());
            if hi > 0 {
                prop_assert!(pv_hi < o.total_per_unit());
            }
        }

        #[test]
        fn effective_hourly_times_term_hours_is_the_total(
            three in any::<bool>(),
            payment in 0usize..3,
            upfront in cents(),
            recurring in hourly(),
            amortised_ten_thousandths in 1i64..100_000,
        ) {
            let term = if three { Term::ThreeYears } else { Term::OneYear };
            let (payment, upfront, recurring) = match payment {
                0 => ("no_upfront", Decimal::ZERO, recurring),
                1 if !upfront.is_zero() => ("partial_upfront", upfront, recurring),
                _ => ("all_upfront", upfront.max(Decimal::ONE), Decimal::ZERO),
            };
            let o = offer(term.as_str(), payment, &upfront.to_string(), &recurring.to_string());
            let h = Decimal::from(o.term_hours());
            let total = upfront + recurring * h;
            prop_assert_eq!(o.total_per_unit(), total);
            // Rounded to the total's own scale, the product gives the total back exactly
            // (the quotient is correct to 28 significant digits).
            prop_assert_eq!((o.effective_hourly() * h).round_dp(total.scale()), total);
            // And with no rounding at all when the upfront is an amortised 4-decimal hourly
            // rate × the term hours, as providers publish it.
            let amortised = Decimal::new(amortised_ten_thousandths, 4) * h;
            let o = offer(term.as_str(), "all_upfront", &amortised.to_string(), "0");
            prop_assert_eq!(o.effective_hourly() * h, amortised);
            prop_assert_eq!(o.effective_hourly(), Decimal::new(amortised_ten_thousandths, 4));
        }
    }
}
