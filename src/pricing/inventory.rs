//! Existing commitments (Reserved Instances, Savings Plans, CUDs) and what they cover.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::{Spanned, Value};

use super::error::PricingError;
use super::rate_card::{Origin, RateCard};
use super::source::{Problem, Src};
use super::types::{OfferKind, Payment};
use crate::diagnostic::{Diagnostic, Place};
use crate::money::quantity_to_decimal;

const SECONDS_PER_HOUR: i64 = 3_600;

/// Longest accepted commitment term (10 years, leap days included).
const MAX_TERM_DAYS: i64 = 3_653;

/// One existing commitment, in pool units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Commitment {
    id: String,
    name: Option<String>,
    pool: String,
    kind: OfferKind,
    payment: Option<Payment>,
    quantity: f64,
    #[serde(with = "rust_decimal::serde::str")]
    hourly_rate: Decimal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    #[serde(skip)]
    origin: Origin,
    #[serde(skip)]
    pool_at: Place,
}

impl Commitment {
    /// Unique id (e.g. the provider's ARN).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Optional display name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Id of the rate-card pool it covers.
    pub fn pool(&self) -> &str {
        &self.pool
    }
    /// Kind of commitment.
    pub fn kind(&self) -> OfferKind {
        self.kind
    }
    /// Payment option, if known (informational).
    pub fn payment(&self) -> Option<Payment> {
        self.payment
    }
    /// Committed pool units per hour (≥ 0).
    pub fn quantity(&self) -> f64 {
        self.quantity
    }
    /// Amortised cost per unit-hour (upfront share + recurring fee).
    pub fn hourly_rate(&self) -> Decimal {
        self.hourly_rate
    }
    /// Start of the term (inclusive, UTC).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }
    /// End of the term (exclusive, UTC).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
    /// Source name and line of the `[[commitment]]` table.
    pub fn defined_at(&self) -> (&str, usize) {
        (&self.origin.file, self.origin.line)
    }
    /// Whether the commitment is in force at `t`.
    pub fn is_active_at(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
    /// Cost per hour of the whole commitment: quantity (as a decimal with
    /// [`crate::money::QUANTITY_DP`] places) × hourly rate.
    pub fn hourly_cost(&self) -> Decimal {
        quantity_to_decimal(self.quantity)
            .ok()
            .and_then(|q| q.checked_mul(self.hourly_rate))
            .unwrap_or(Decimal::MAX)
    }
    /// Seconds of overlap with `[from, to)` (clamped to the term), as (first, last) instants
    /// in Unix seconds; `None` if they do not overlap.
    fn overlap(&self, from: i64, to: i64) -> Option<(i64, i64)> {
        let s = self.start.timestamp().max(from);
        let e = self.end.timestamp().min(to);
        (s < e).then_some((s, e))
    }
}

/// The existing commitments, validated, in file order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Inventory {
    commitments: Vec<Commitment>,
    #[serde(skip)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    #[serde(default)]
    commitment: Vec<Spanned<RawCommitment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommitment {
    id: Spanned<Value>,
    name: Option<Spanned<Value>>,
    pool: Spanned<Value>,
    kind: Spanned<Value>,
    payment: Option<Spanned<Value>>,
    quantity: Spanned<Value>,
    hourly_rate: Spanned<Value>,
    start: Spanned<Value>,
    end: Spanned<Value>,
}

const KIND_NAMES: [&str; 8] = [
    "ri_standard",
    "ri_convertible",
    "savings_plan_compute",
    "savings_plan_instance",
    "gcp_resource_cud",
    "gcp_spend_cud",
    "azure_reservation",
    "azure_savings_plan",
];
const PAYMENT_NAMES: [&str; 3] = ["no_upfront", "partial_upfront", "all_upfront"];

impl Inventory {
    /// Parses and validates an inventory file (see the module documentation for the schema).
    ///
    /// Errors (with line, column and field): malformed TOML, unknown or missing keys,
    /// duplicate ids, a negative or non-finite quantity, a negative rate, an unparseable date
    /// or a local time without offset, `end` not after `start`, or amounts so large that the
    /// cost of a term would overflow a decimal. Pool ids are checked against a rate card by
    /// [`Inventory::validate`].
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Inventory, PricingError> {
        let src = Src::new(source_name, text);
        let raw: RawInventory = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let mut commitments: Vec<Commitment> = Vec::with_capacity(raw.commitment.len());
        let mut total = Decimal::ZERO;
        for rc in raw.commitment {
            let span = rc.span();
            let rc = rc.into_inner();
            let id = src.string(&rc.id, "commitment.id")?;
            let field = |name: &str| format!("commitment[{id}].{name}");
            if let Some(prev) = commitments.iter().find(|c| c.id == id) {
                return Err(src.invalid(
                    rc.id.span(),
                    Problem {
                        field: &field("id"),
                        problem: format!(
                            "\"{id}\" is used twice (first at line {})",
                            prev.origin.line
                        ),
                        expected: "a unique commitment id",
                        fix: "remove the duplicate or give it its own id".into(),
                    },
                ));
            }
            let start = src.instant(&rc.start, &field("start"))?;
            let end = src.instant(&rc.end, &field("end"))?;
            if end <= start {
                return Err(src.invalid(
                    rc.end.span(),
                    Problem {
                        field: &field("end"),
                        problem: format!(
                            "{} is not after start {}",
                            end.to_rfc3339(),
                            start.to_rfc3339()
                        ),
                        expected: "an end (exclusive) later than the start",
                        fix: "swap or correct the dates; a 1-year term starting 2025-01-01 \
                              ends 2026-01-01"
                            .into(),
                    },
                ));
            }
            if end - start > chrono::TimeDelta::days(MAX_TERM_DAYS) {
                return Err(src.invalid(
                    rc.end.span(),
                    Problem {
                        field: &field("end"),
                        problem: format!(
                            "makes a term of {} days, longer than 10 years",
                            (end - start).num_days()
                        ),
                        expected: "a commitment term of at most 10 years (3,653 days)",
                        fix: "check the years of `start` and `end`".into(),
                    },
                ));
            }
            let pool_at = src.place_of(rc.pool.span().start);
            let c = Commitment {
                name: rc
                    .name
                    .as_ref()
                    .map(|v| src.string(v, &field("name")))
                    .transpose()?,
                pool: src.string(&rc.pool, &field("pool"))?,
                kind: src.choice(&rc.kind, &field("kind"), OfferKind::parse, &KIND_NAMES)?,
                payment: rc
                    .payment
                    .as_ref()
                    .map(|v| src.choice(v, &field("payment"), Payment::parse, &PAYMENT_NAMES))
                    .transpose()?,
                quantity: src.quantity(&rc.quantity, &field("quantity"))?,
                hourly_rate: src.amount(&rc.hourly_rate, &field("hourly_rate"), false)?,
                start,
                end,
                origin: Origin {
                    file: source_name.to_string(),
                    line: src.line_of(span.start),
                },
                pool_at,
                id: id.clone(),
            };
            // Guard: the cost of every full term, summed, must fit in a decimal, so that
            // `cost_over` (bounded by it) can never overflow.
            let hours =
                Decimal::from((c.end - c.start).num_seconds()) / Decimal::from(SECONDS_PER_HOUR);
            let term_cost = quantity_to_decimal(c.quantity)
                .ok()
                .and_then(|q| q.checked_mul(c.hourly_rate))
                .and_then(|x| x.checked_mul(hours))
                .and_then(|x| total.checked_add(x));
            match term_cost {
                Some(t) => total = t,
                None => {
                    return Err(src.invalid(
                        rc.quantity.span(),
                        Problem {
                            field: &field("quantity"),
                            problem: "× hourly_rate × term is too large to compute".into(),
                            expected: "realistic quantities and rates",
                            fix: "check the units of quantity and hourly_rate".into(),
                        },
                    ));
                }
            }
            commitments.push(c);
        }
        Ok(Inventory {
            commitments,
            source: source_name.to_string(),
        })
    }

    /// The commitments, in file order.
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    /// The commitments of one pool, in file order.
    pub fn for_pool<'a>(&'a self, pool: &'a str) -> impl Iterator<Item = &'a Commitment> + 'a {
        self.commitments.iter().filter(move |c| c.pool == pool)
    }

    /// Checks every commitment's pool against the rate card. Returns the first unknown pool
    /// as an error naming the file, line and field (with a "did you mean").
    pub fn validate(&self, card: &RateCard) -> Result<(), PricingError> {
        for c in &self.commitments {
            if card.pool(&c.pool).is_none() {
                let field = format!("commitment[{}].pool", c.id);
                let p = card.unknown_pool_problem(&c.pool, &field);
                return Err(PricingError::Invalid(Box::new(Diagnostic {
                    file: self.source.clone(),
                    place: c.pool_at,
                    key: field.clone(),
                    problem: p.problem,
                    expected: p.expected.to_string(),
                    fix: p.fix,
                })));
            }
        }
        Ok(())
    }

    /// Committed units of `pool` in each of `hours` consecutive hours from `start`, so that
    /// expirations (and later starts) inside the window are modelled. A commitment that covers
    /// only part of an hour counts in proportion (to the second).
    pub fn coverage(&self, pool: &str, start: DateTime<Utc>, hours: usize) -> Vec<f64> {
        let mut out = vec![0.0; hours];
        let (from, to) = window(start, hours);
        for c in self.for_pool(pool) {
            let Some((s, e)) = c.overlap(from, to) else {
                continue;
            };
            let first = usize::try_from((s - from) / SECONDS_PER_HOUR).unwrap_or(0);
            let last = usize::try_from((e - from + SECONDS_PER_HOUR - 1) / SECONDS_PER_HOUR)
                .unwrap_or(hours)
                .min(hours);
            for (i, slot) in out.iter_mut().enumerate().take(last).skip(first) {
                let h0 = from + i as i64 * SECONDS_PER_HOUR;
                let covered = e.min(h0 + SECONDS_PER_HOUR) - s.max(h0);
                if covered == SECONDS_PER_HOUR {
                    *slot += c.quantity;
                } else if covered > 0 {
                    *slot += c.quantity * covered as f64 / SECONDS_PER_HOUR as f64;
                }
            }
        }
        out
    }

    /// Committed (amortised) cost of `pool` over `hours` hours from `start`: for each
    /// commitment, quantity × hourly_rate × hours of overlap, summed exactly in decimal.
    /// Not rounded (book it with [`crate::money::Money::round`]). Exact when the overlaps are
    /// multiples of 36 seconds (always, for hour-aligned terms); otherwise the hours fraction
    /// is rounded at 28 significant digits. Cannot overflow: the inventory rejects terms
    /// whose total cost would not fit.
    pub fn cost_over(&self, pool: &str, start: DateTime<Utc>, hours: usize) -> Decimal {
        let (from, to) = window(start, hours);
        let mut total = Decimal::ZERO;
        for c in self.for_pool(pool) {
            let Some((s, e)) = c.overlap(from, to) else {
                continue;
            };
            let hours = Decimal::from(e - s) / Decimal::from(SECONDS_PER_HOUR);
            let cost = quantity_to_decimal(c.quantity)
                .ok()
                .and_then(|q| q.checked_mul(c.hourly_rate))
                .and_then(|x| x.checked_mul(hours));
            // Unreachable fallback: from_toml_str bounds the total of all terms.
            total = cost
                .and_then(|x| total.checked_add(x))
                .unwrap_or(Decimal::MAX);
        }
        total
    }
}

/// The window `[start, start + hours h)` in Unix seconds (saturating).
fn window(start: DateTime<Utc>, hours: usize) -> (i64, i64) {
    let from = start.timestamp();
    let len = i64::try_from(hours)
        .unwrap_or(i64::MAX)
        .saturating_mul(SECONDS_PER_HOUR);
    (from, from.saturating_add(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        crate::pricing::source::parse_instant(s).unwrap()
    }

    const INV: &str = r#"
[[commitment]]
id = "ri-a"
pool = "p"
kind = "ri_standard"
payment = "all_upfront"
quantity = 16
hourly_rate = "0.0826"
start = 2025-01-01
end = "2025-01-02T00:00:00Z"

[[commitment]]
id = "ri-b"
name = "half an hour late"
pool = "p"
kind = "ri_standard"
quantity = 2.5
hourly_rate = 0.1
start = 2025-01-01T00:30:00Z
end = 2025-01-03T00:00:00+00:00

[[commitment]]
id = "sp"
pool = "sp"
kind = "savings_plan_compute"
quantity = 12.5
hourly_rate = "0.72"
start = 2025-01-01
end = 2026-01-01
"#;

    fn inv() -> Inventory {
        Inventory::from_toml_str(INV, "inventory.toml").unwrap()
    }

    #[test]
    fn coverage_models_partial_hours_and_expiry() {
        let i = inv();
        let cov = i.coverage("p", t("2024-12-31T23:00:00Z"), 4);
        assert_eq!(cov, vec![0.0, 16.0 + 1.25, 18.5, 18.5]);
        // ri-a expires at the end of 2025-01-01: hour 24 onwards only ri-b.
        let cov = i.coverage("p", t("2025-01-01T22:00:00Z"), 4);
        assert_eq!(cov, vec![18.5, 18.5, 2.5, 2.5]);
        let cov = i.coverage("p", t("2025-01-02T23:00:00Z"), 3);
        assert_eq!(cov, vec![2.5, 0.0, 0.0]);
        assert_eq!(i.coverage("nope", t("2025-01-01"), 2), vec![0.0, 0.0]);
        assert!(i.coverage("p", t("2025-01-01"), 0).is_empty());
        assert_eq!(i.for_pool("p").count(), 2);
        assert!(i.commitments()[0].is_active_at(t("2025-01-01T23:59:59Z")));
        assert!(!i.commitments()[0].is_active_at(t("2025-01-02")));
    }

    #[test]
    fn cost_over_is_exact() {
        let i = inv();
        // ri-a: 16 × 0.0826 × 24 = 31.7184; ri-b: 2.5 × 0.1 × 47.5 = 11.875
        assert_eq!(i.cost_over("p", t("2024-12-01"), 24 * 60), d("43.5934"));
        // First two hours of 2025: ri-a 2 h, ri-b 1.5 h
        assert_eq!(
            i.cost_over("p", t("2025-01-01"), 2),
            d("16") * d("0.0826") * d("2") + d("2.5") * d("0.1") * d("1.5")
        );
        // A 1-year SP at 12.5 × 0.72 = 9 USD/h over 8,760 h.
        assert_eq!(i.cost_over("sp", t("2025-01-01"), 9000), d("78840"));
        assert_eq!(i.commitments()[2].hourly_cost(), d("9"));
        assert_eq!(i.cost_over("p", t("2030-01-01"), 10), Decimal::ZERO);
    }

    fn err(text: &str) -> String {
        Inventory::from_toml_str(text, "inv.toml")
            .unwrap_err()
            .to_string()
    }

    const ONE: &str = "[[commitment]]\nid = \"a\"\npool = \"p\"\nkind = \"ri_standard\"\n\
                       quantity = 1\nhourly_rate = \"0.1\"\nstart = 2025-01-01\nend = 2026-01-01\n";

    #[test]
    fn bad_inventories_name_line_and_field() {
        let e = err(&ONE.replace("end = 2026-01-01", "end = 2024-01-01"));
        assert!(
            e.contains("line 8") && e.contains("`commitment[a].end`") && e.contains("not after"),
            "{e}"
        );
        let e = err(&ONE.replace("quantity = 1", "quantity = -1"));
        assert!(
            e.contains("line 5") && e.contains("quantity") && e.contains("out of range"),
            "{e}"
        );
        let e = err(&ONE.replace("quantity = 1", "quantity = nan"));
        assert!(e.contains("line 5"), "{e}");
        let e = err(&ONE.replace("2025-01-01", "2025-01-01T00:00:00"));
        assert!(e.contains("line 7") && e.contains("offset"), "{e}");
        let e = err(&ONE.replace("2025-01-01", "\"Jan 1\""));
        assert!(e.contains("line 7") && e.contains("start"), "{e}");
        let e = err(&ONE.replace("\"0.1\"", "\"-0.1\""));
        assert!(e.contains("line 6") && e.contains("negative"), "{e}");
        let e = err(&ONE.replace("ri_standard", "reserved"));
        assert!(e.contains("line 4") && e.contains("kind"), "{e}");
        let e = err(&format!("{ONE}{ONE}"));
        assert!(
            e.contains("line 10") && e.contains("used twice (first at line 1)"),
            "{e}"
        );
        let e = err(&format!("{ONE}term = \"1y\"\n"));
        assert!(
            e.contains("line 9") && e.contains("`term`: unknown key"),
            "{e}"
        );
        let e = err(&ONE.replace("pool = \"p\"\n", ""));
        assert!(e.contains("`pool`") && e.contains("missing"), "{e}");
        let e = err(&ONE.replace("2026-01-01", "2036-01-03"));
        assert!(
            e.contains("line 8") && e.contains("longer than 10 years"),
            "{e}"
        );
        // 1,000 absurd commitments whose total cost would not fit in a decimal.
        let huge = ONE
            .replace("quantity = 1", "quantity = 1e12")
            .replace("\"0.1\"", "999999999")
            .replace("2026-01-01", "2035-01-01");
        let many: String = (0..1000)
            .map(|i| huge.replace("id = \"a\"", &format!("id = \"a{i}\"")))
            .collect();
        let e = err(&many);
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn validate_against_rate_card() {
        let card = RateCard::from_toml_str(
            "[[pool]]\nid = \"pool-a\"\nmatch = { r = \"x\" }\nunit = \"h\"\n\
             on_demand_rate = 1\ncurrency = \"USD\"\n",
            "rates.toml",
        )
        .unwrap();
        let i = Inventory::from_toml_str(&ONE.replace("\"p\"", "\"pool-b\""), "inv.toml").unwrap();
        let e = i.validate(&card).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "inv.toml: line 3, column 8: `commitment[a].pool`: \"pool-b\" is not a pool"
            ),
            "{e}"
        );
        assert!(e.contains("did you mean \"pool-a\""), "{e}");
        let ok = Inventory::from_toml_str(&ONE.replace("\"p\"", "\"pool-a\""), "inv.toml").unwrap();
        assert!(ok.validate(&card).is_ok());
        assert!(
            Inventory::from_toml_str("", "empty.toml")
                .unwrap()
                .commitments()
                .is_empty()
        );
    }
}
