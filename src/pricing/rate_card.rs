//! The rate card: pools of interchangeable usage, their on-demand rate and the commitment
//! offers that can cover them.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use toml::{Spanned, Value};

use super::error::{PoolOverlap, PricingError, Warning};
use super::pv::{PaymentChoice, choose_payment_options};
use super::source::{Problem, Src, quote_list};
use super::types::{OfferKind, Payment, Term};
use crate::diagnostic::did_you_mean;
use crate::money::{Currency, Money, Rate};
use crate::series::{Selector, SeriesKey};

/// Which usage series a pool covers: every listed dimension must be present in the series
/// key with one of the listed values (a single value is the common case). A [`Selector`]
/// that the rate card never leaves empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MatchRule(Selector);

impl MatchRule {
    /// A rule from `dimension → accepted values`.
    pub fn new(rules: BTreeMap<String, Vec<String>>) -> Self {
        MatchRule(Selector::new(rules))
    }

    /// The dimension → accepted values map, ordered by dimension.
    pub fn rules(&self) -> &BTreeMap<String, Vec<String>> {
        self.0.dims()
    }

    /// The rule as a [`Selector`].
    pub fn selector(&self) -> &Selector {
        &self.0
    }

    /// Whether a series with these `(dimension, value)` pairs is covered: every dimension of
    /// the rule is present with an accepted value. Extra series dimensions are ignored.
    pub fn matches<'a, I>(&self, dims: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.0.matches_dims(dims)
    }
}

/// The normalization factor of an instance size (AWS's table: nano 0.25, micro 0.5,
/// small 1, medium 2, large 4, xlarge 8, then ×2 per step: 2xlarge 16, 4xlarge 32, …;
/// sizes between steps such as `3xlarge` or `12xlarge` scale linearly, `metal` is not
/// normalised). `size` may be a whole type: `m6i.2xlarge` → 16.
pub fn normalization_factor(size: &str) -> Option<f64> {
    let s = size.rsplit('.').next().unwrap_or(size);
    Some(match s {
        "nano" => 0.25,
        "micro" => 0.5,
        "small" => 1.0,
        "medium" => 2.0,
        "large" => 4.0,
        "xlarge" => 8.0,
        _ => {
            let n: f64 = s.strip_suffix("xlarge")?.parse().ok()?;
            if !(n.is_finite() && n >= 1.0) {
                return None;
            }
            8.0 * n
        }
    })
}

/// A set of usage that commitments can cover interchangeably, with its on-demand price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    id: String,
    description: String,
    #[serde(rename = "match")]
    match_rule: MatchRule,
    unit: String,
    series_unit: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    usage_per_unit: Decimal,
    /// Regional RI / reservation with instance size flexibility: the pool's unit is a
    /// normalized unit-hour, each series counts its hours × its size's normalization factor.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    size_flexible: bool,
    /// Normalization factors that replace or extend AWS's table in a size-flexible pool:
    /// an instance type (`m5.metal`) or a size (`metal`) → factor.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    normalization: BTreeMap<String, Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    on_demand_rate: Decimal,
    currency: Currency,
    offers: Vec<Offer>,
    /// Per-SKU discounts of the spend-based offers (`[[pool.rate]]`), first match wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rates: Vec<SkuRate>,
    #[serde(skip)]
    origin: Origin,
}

/// The discounts of a spend-based pool's offers on the SKUs (series) one `match` selects:
/// a `[[pool.rate]]` table. SKUs that no rate matches get each offer's own discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkuRate {
    #[serde(rename = "match")]
    match_rule: MatchRule,
    /// Offer id → discount against on-demand (0.28 = 28 % off), one per spend-based offer.
    discounts: BTreeMap<String, Decimal>,
    #[serde(skip)]
    line: usize,
}

impl SkuRate {
    pub(crate) fn new(
        match_rule: MatchRule,
        discounts: BTreeMap<String, Decimal>,
        line: usize,
    ) -> SkuRate {
        SkuRate {
            match_rule,
            discounts,
            line,
        }
    }
    /// Which SKUs (series) the rate applies to.
    pub fn match_rule(&self) -> &MatchRule {
        &self.match_rule
    }
    /// Offer id → discount.
    pub fn discounts(&self) -> &BTreeMap<String, Decimal> {
        &self.discounts
    }
    /// Line of the `[[pool.rate]]` table.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// Where an item was defined (for messages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Origin {
    pub file: String,
    pub line: usize,
}

impl Pool {
    /// Unique id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Free-text description (may be empty).
    pub fn description(&self) -> &str {
        &self.description
    }
    /// Which series the pool covers.
    pub fn match_rule(&self) -> &MatchRule {
        &self.match_rule
    }
    /// The unit commitments and on-demand rate are expressed in (e.g. "instance-hours").
    pub fn unit(&self) -> &str {
        &self.unit
    }
    /// Whether commitments of the pool are bought in whole units: every unit except spend
    /// units (a unit containing `$` or `USD`, as Savings Plans' dollars per hour), which are
    /// bought in fractions. The one whole-unit rule of the optimizer and of every strategy.
    pub fn whole_units(&self) -> bool {
        !self.unit.contains('$') && !self.unit.to_ascii_uppercase().contains("USD")
    }
    /// The unit a matching series must have (e.g. "Hours"), if the card says.
    pub fn series_unit(&self) -> Option<&str> {
        self.series_unit.as_deref()
    }
    /// How many units of the series make one pool unit (default 1).
    pub fn usage_per_unit(&self) -> Decimal {
        self.usage_per_unit
    }
    /// On-demand price per pool unit-hour.
    pub fn on_demand_rate(&self) -> Decimal {
        self.on_demand_rate
    }
    /// The on-demand price as a [`Rate`].
    pub fn on_demand(&self) -> Rate {
        Rate::new(Money::new(self.on_demand_rate, self.currency))
    }
    /// Currency of every price in the pool.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The pool's offers, in file order (TOML first, then CSV rows).
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }
    pub(crate) fn push_offer(&mut self, offer: Offer) {
        self.offers.push(offer);
    }
    pub(crate) fn push_rate(&mut self, rate: SkuRate) {
        self.rates.push(rate);
    }
    /// Ids of the pool's spend-based offers (those a per-SKU rate prices), in file order.
    pub(crate) fn spend_offer_ids(&self) -> Vec<&str> {
        self.offers
            .iter()
            .filter(|o| o.kind().is_spend_based())
            .map(|o| o.id())
            .collect()
    }
    /// Whether the pool is planned in money: every offer is spend-based (Savings Plans,
    /// spend CUDs, Azure savings plans) and the pool has at least one.
    pub fn is_spend_pool(&self) -> bool {
        !self.offers.is_empty() && self.offers.iter().all(|o| o.kind().is_spend_based())
    }
    /// The per-SKU rate tables, in file order.
    pub fn sku_rates(&self) -> &[SkuRate] {
        &self.rates
    }
    /// The discount of `offer` on the SKU (series) with this key: the first `[[pool.rate]]`
    /// whose match selects the key, else the offer's own [`Offer::discount`].
    pub fn discount_on(&self, offer: &Offer, key: &SeriesKey) -> Decimal {
        self.rates
            .iter()
            .find(|r| r.match_rule.selector().matches(key))
            .and_then(|r| r.discounts.get(offer.id()).copied())
            .unwrap_or_else(|| offer.discount())
    }
    /// Source name and line where the pool was defined.
    pub fn defined_at(&self) -> (&str, usize) {
        (&self.origin.file, self.origin.line)
    }
    /// Whether the pool covers a series with these dimensions and unit (the unit is checked
    /// only if the card gives `series_unit`).
    pub fn covers<'a, I>(&self, dims: I, series_unit: &str) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.series_unit.as_deref().is_none_or(|u| u == series_unit)
            && self.match_rule.matches(dims)
    }
    /// Whether the pool covers the series with this key and unit ([`Pool::covers`]); a
    /// size-flexible pool covers only series whose `instance_type` has a normalization factor
    /// (`metal` and unknown sizes are left to on-demand, see [`normalization_factor`]).
    pub fn covers_series(&self, key: &SeriesKey, series_unit: &str) -> bool {
        self.series_unit.as_deref().is_none_or(|u| u == series_unit)
            && self.match_rule.selector().matches(key)
            && (!self.size_flexible || self.size_factor(key).is_some())
    }
    /// Whether the pool is size-flexible (normalized units).
    pub fn size_flexible(&self) -> bool {
        self.size_flexible
    }
    /// The normalization factor of the series' instance size in a size-flexible pool (1 in
    /// any other pool); `None` when the size has none.
    pub fn size_factor(&self, key: &SeriesKey) -> Option<f64> {
        if !self.size_flexible {
            return Some(1.0);
        }
        let t = &key.0.iter().find(|(k, _)| k == "instance_type")?.1;
        let size = t.rsplit('.').next().unwrap_or(t);
        match self
            .normalization
            .get(t.as_str())
            .or_else(|| self.normalization.get(size))
        {
            Some(f) => f.to_f64(),
            None => normalization_factor(t),
        }
    }
    /// The pool's own normalization factors (instance type or size → factor), which take
    /// precedence over AWS's table.
    pub fn normalization(&self) -> &BTreeMap<String, Decimal> {
        &self.normalization
    }
    /// Usage of the series with this key in pool units: [`Pool::to_pool_units`] times the
    /// size's normalization factor in a size-flexible pool.
    pub fn to_pool_units_of(&self, key: &SeriesKey, usage: f64) -> f64 {
        self.to_pool_units(usage) * self.size_factor(key).unwrap_or(0.0)
    }
    /// Converts a usage quantity in the series' unit to pool units (divides by
    /// [`Pool::usage_per_unit`]). Usage stays `f64`; money is never computed here.
    pub fn to_pool_units(&self, usage: f64) -> f64 {
        let factor: f64 = self.usage_per_unit.try_into().unwrap_or(1.0);
        usage / factor
    }
}

/// One purchasable commitment offer of a pool, per pool unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    id: String,
    pool: String,
    kind: OfferKind,
    term: Term,
    payment: Payment,
    #[serde(with = "rust_decimal::serde::str")]
    upfront: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    recurring_hourly: Decimal,
    currency: Currency,
    #[serde(skip)]
    on_demand_rate: Decimal,
    #[serde(skip)]
    origin: Origin,
}

impl Offer {
    /// Unique id (across the rate card).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Id of the pool it covers.
    pub fn pool(&self) -> &str {
        &self.pool
    }
    /// Kind of commitment.
    pub fn kind(&self) -> OfferKind {
        self.kind
    }
    /// Term.
    pub fn term(&self) -> Term {
        self.term
    }
    /// Payment option.
    pub fn payment(&self) -> Payment {
        self.payment
    }
    /// One-time fee per unit, paid at purchase.
    pub fn upfront(&self) -> Decimal {
        self.upfront
    }
    /// Recurring fee per unit-hour (billed monthly, 730 hours a month).
    pub fn recurring_hourly(&self) -> Decimal {
        self.recurring_hourly
    }
    /// Currency (always the pool's).
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The pool's on-demand rate per unit-hour (what the discount is measured against).
    pub fn on_demand_rate(&self) -> Decimal {
        self.on_demand_rate
    }
    /// Source name and line where the offer was defined (CSV: the row's line).
    pub fn defined_at(&self) -> (&str, usize) {
        (&self.origin.file, self.origin.line)
    }
    /// Hours of the term by the providers' convention: 1y = 8,760, 3y = 26,280 (365-day
    /// years, leap days ignored; see [`Term::hours`]).
    pub fn term_hours(&self) -> u32 {
        self.term.hours()
    }
    /// Nominal cost of one unit over the whole term: `upfront + recurring × term_hours`,
    /// exact. This is the figure to multiply by quantities; [`Offer::effective_hourly`] is
    /// this divided by the term hours.
    pub fn total_per_unit(&self) -> Decimal {
        self.upfront + self.recurring_hourly * Decimal::from(self.term_hours())
    }
    /// Amortised hourly rate per unit: `upfront / term_hours + recurring_hourly`.
    ///
    /// Exact whenever the quotient terminates within 28 significant digits (for example
    /// 2,628 / 26,280 = 0.1, and every upfront that is a 4-decimal hourly rate × the term
    /// hours, which is how providers publish them). Otherwise the 28th significant digit is
    /// rounded half-even, and `effective_hourly × term_hours` rounded to the scale of
    /// [`Offer::total_per_unit`] gives back that total exactly.
    pub fn effective_hourly(&self) -> Decimal {
        self.total_per_unit() / Decimal::from(self.term_hours())
    }
    /// Discount against on-demand: `1 − effective_hourly / on_demand_rate` (0.4 = 40 %
    /// cheaper). Negative if the offer costs more than on-demand (the card warns).
    ///
    /// Saturates at `Decimal::MIN` in the absurd case of an offer more than ~10^28 times the
    /// on-demand rate, instead of overflowing.
    pub fn discount(&self) -> Decimal {
        self.effective_hourly()
            .checked_div(self.on_demand_rate)
            .and_then(|ratio| Decimal::ONE.checked_sub(ratio))
            .unwrap_or(Decimal::MIN)
    }
}

/// Pools and their commitment offers, validated. Build it with
/// [`RateCard::from_toml_str`], then optionally add bulk offers with
/// [`RateCard::extend_from_csv_str`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RateCard {
    pools: Vec<Pool>,
    #[serde(skip)]
    warnings: Vec<Warning>,
}

// ----- raw file shapes --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    /// Bulk CSV files (offers or per-SKU rates), relative to the card's directory.
    csv: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pool: Vec<Spanned<RawPool>>,
    #[serde(default)]
    offer: Vec<Spanned<RawOffer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    id: Spanned<Value>,
    description: Option<Spanned<Value>>,
    #[serde(rename = "match")]
    match_rule: Spanned<BTreeMap<String, Spanned<Value>>>,
    unit: Spanned<Value>,
    series_unit: Option<Spanned<Value>>,
    usage_per_unit: Option<Spanned<Value>>,
    size_flexible: Option<Spanned<bool>>,
    normalization: Option<Spanned<BTreeMap<String, Spanned<Value>>>>,
    on_demand_rate: Spanned<Value>,
    currency: Spanned<Value>,
    #[serde(default)]
    offer: Vec<Spanned<RawOffer>>,
    #[serde(default)]
    rate: Vec<Spanned<RawRate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    #[serde(rename = "match")]
    match_rule: Spanned<BTreeMap<String, Spanned<Value>>>,
    discount: Spanned<BTreeMap<String, Spanned<Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffer {
    id: Spanned<Value>,
    pool: Option<Spanned<Value>>,
    kind: Spanned<Value>,
    term: Spanned<Value>,
    payment: Spanned<Value>,
    upfront: Option<Spanned<Value>>,
    recurring_hourly: Option<Spanned<Value>>,
    currency: Option<Spanned<Value>>,
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
const TERM_NAMES: [&str; 2] = ["1y", "3y"];
const PAYMENT_NAMES: [&str; 3] = ["no_upfront", "partial_upfront", "all_upfront"];

/// The fields of an offer once parsed, before the cross-field checks.
pub(crate) struct OfferFields {
    pub id: String,
    pub kind: OfferKind,
    pub term: Term,
    pub payment: Payment,
    pub upfront: Decimal,
    pub recurring_hourly: Decimal,
    pub currency: Option<Currency>,
}

/// Why an offer's fields contradict each other (see [`check_offer`]).
pub(crate) struct OfferConflict {
    /// Which field to point at: "upfront" or "recurring_hourly" (or "currency").
    pub field: &'static str,
    pub problem: String,
    pub expected: &'static str,
    pub fix: String,
}

/// Cross-field checks shared by the TOML and CSV readers.
pub(crate) fn check_offer(f: &OfferFields, pool: &Pool) -> Result<(), OfferConflict> {
    if let Some(c) = f.currency
        && c != pool.currency
    {
        return Err(OfferConflict {
            field: "currency",
            problem: format!(
                "{c} differs from pool `{}`'s currency {}",
                pool.id, pool.currency
            ),
            expected: "the pool's currency",
            fix: format!(
                "convert the prices to {} or put the offer in a pool priced in {c}",
                pool.currency
            ),
        });
    }
    match f.payment {
        Payment::AllUpfront if !f.recurring_hourly.is_zero() => Err(OfferConflict {
            field: "recurring_hourly",
            problem: format!(
                "is {} but the payment option is all_upfront",
                f.recurring_hourly
            ),
            expected: "recurring_hourly = 0 for all_upfront",
            fix: "use payment = \"partial_upfront\", or fold the recurring fee into `upfront`"
                .into(),
        }),
        Payment::NoUpfront if !f.upfront.is_zero() => Err(OfferConflict {
            field: "upfront",
            problem: format!("is {} but the payment option is no_upfront", f.upfront),
            expected: "upfront = 0 for no_upfront",
            fix: "use payment = \"partial_upfront\", or remove the upfront fee".into(),
        }),
        Payment::PartialUpfront if f.upfront.is_zero() || f.recurring_hourly.is_zero() => {
            Err(OfferConflict {
                field: if f.upfront.is_zero() {
                    "upfront"
                } else {
                    "recurring_hourly"
                },
                problem: "is zero but the payment option is partial_upfront".into(),
                expected: "both upfront > 0 and recurring_hourly > 0 for partial_upfront",
                fix: "use no_upfront or all_upfront, or give both fees".into(),
            })
        }
        _ if f.upfront.is_zero() && f.recurring_hourly.is_zero() => Err(OfferConflict {
            field: "upfront",
            problem: "and recurring_hourly are both zero: the offer would be free".into(),
            expected: "a positive upfront fee or recurring fee",
            fix: "give the offer's prices per pool unit".into(),
        }),
        _ => Ok(()),
    }
}

/// A warning if the offer is not cheaper than on-demand.
pub(crate) fn price_warning(offer: &Offer) -> Option<Warning> {
    let eff = offer.effective_hourly();
    (eff >= offer.on_demand_rate).then(|| Warning {
        file: offer.origin.file.clone(),
        line: offer.origin.line,
        pool: offer.pool.clone(),
        offer: Some(offer.id.clone()),
        message: format!(
            "effective hourly rate {} is not below the on-demand rate {} (discount {}): the \
             optimizer will never buy it; check the prices' units (per unit-hour) and term",
            eff.round_dp(6).normalize(),
            offer.on_demand_rate.normalize(),
            offer.discount().round_dp(4).normalize()
        ),
    })
}

impl Offer {
    pub(crate) fn build(f: OfferFields, pool: &Pool, origin: Origin) -> Offer {
        Offer {
            id: f.id,
            pool: pool.id.clone(),
            kind: f.kind,
            term: f.term,
            payment: f.payment,
            upfront: f.upfront,
            recurring_hourly: f.recurring_hourly,
            currency: pool.currency,
            on_demand_rate: pool.on_demand_rate,
            origin,
        }
    }
}

impl RateCard {
    /// Parses and validates a TOML rate card. `source_name` (usually the path) is used in
    /// messages. See the module documentation for the schema.
    ///
    /// Errors (with line, column and field): malformed TOML, unknown or missing keys, wrong
    /// types, negative or implausible prices, duplicate pool or offer ids, unknown pool
    /// references, a currency that differs from the pool's, fees that contradict the payment
    /// option. Offers that are not cheaper than on-demand, and pools without offers, are
    /// [`RateCard::warnings`], not errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<RateCard, PricingError> {
        let (card, csv) = RateCard::parse_toml(text, source_name)?;
        if let Some((_, span)) = csv {
            let src = Src::new(source_name, text);
            return Err(src.invalid(
                span,
                Problem {
                    field: "csv",
                    problem: "names CSV files, which are read relative to the card's file".into(),
                    expected: "a rate card read with its directory (RateCard::from_toml_in_dir)",
                    fix: "load the card with RateCard::from_toml_in_dir".into(),
                },
            ));
        }
        Ok(card)
    }

    /// The rate card in `text` (named `display` in messages) and the bulk CSV files its
    /// top-level `csv = ["offers.csv", "savings-plan-rates.csv"]` lists, read relative to
    /// `base_dir` (the card's directory): offers or per-SKU rates, told apart by their
    /// header ([`RateCard::extend_from_csv`]).
    ///
    /// # Errors
    ///
    /// As [`RateCard::from_toml_str`] and [`RateCard::extend_from_csv`]; a CSV file that
    /// cannot be read is an error at the `csv` line.
    pub fn from_toml_in_dir(
        text: &str,
        display: &str,
        base_dir: &std::path::Path,
    ) -> Result<RateCard, PricingError> {
        let (mut card, csv) = RateCard::parse_toml(text, display)?;
        let Some((files, span)) = csv else {
            return Ok(card);
        };
        let src = Src::new(display, text);
        let shown = std::path::Path::new(display)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        for f in files {
            let text = std::fs::read_to_string(base_dir.join(&f)).map_err(|e| {
                src.invalid(
                    span.clone(),
                    Problem {
                        field: "csv",
                        problem: format!("names {f:?}, which cannot be read: {e}"),
                        expected: "CSV files relative to the rate card's directory",
                        fix: "check the file name and that it sits next to the rate card".into(),
                    },
                )
            })?;
            card.extend_from_csv(&text, &shown.join(&f).display().to_string())?;
        }
        Ok(card)
    }

    /// The card and its `csv` list (with its span) when it has one.
    #[allow(clippy::type_complexity)]
    fn parse_toml(
        text: &str,
        source_name: &str,
    ) -> Result<(RateCard, Option<(Vec<String>, std::ops::Range<usize>)>), PricingError> {
        let src = Src::new(source_name, text);
        let raw: RawCard = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let csv = raw.csv.and_then(|c| {
            let span = c.span();
            let files = c.into_inner();
            (!files.is_empty()).then_some((files, span))
        });
        let mut card = RateCard::default();
        let mut offer_ids: BTreeMap<String, usize> = BTreeMap::new();
        // Pools first, so top-level [[offer]] tables may refer to any pool.
        let mut nested: Vec<(usize, Spanned<RawOffer>)> = Vec::new();
        let mut rates: Vec<(usize, Spanned<RawRate>)> = Vec::new();
        for raw_pool in raw.pool {
            let span = raw_pool.span();
            let rp = raw_pool.into_inner();
            let pool = parse_pool(&src, &rp, span.start)?;
            if let Some(prev) = card.pools.iter().find(|p| p.id == pool.id) {
                return Err(src.invalid(
                    rp.id.span(),
                    Problem {
                        field: "pool.id",
                        problem: format!(
                            "\"{}\" is used twice (first at line {})",
                            pool.id, prev.origin.line
                        ),
                        expected: "a unique pool id",
                        fix: "rename one of the pools or merge them".into(),
                    },
                ));
            }
            let index = card.pools.len();
            nested.extend(rp.offer.into_iter().map(|o| (index, o)));
            rates.extend(rp.rate.into_iter().map(|r| (index, r)));
            card.pools.push(pool);
        }
        for (index, raw_offer) in nested {
            card.add_toml_offer(&src, raw_offer, Some(index), &mut offer_ids)?;
        }
        for raw_offer in raw.offer {
            card.add_toml_offer(&src, raw_offer, None, &mut offer_ids)?;
        }
        // Rates last: they name the pool's offers, wherever those were defined.
        for (index, raw_rate) in rates {
            let rate = parse_rate(&src, &card.pools[index], raw_rate)?;
            card.pools[index].rates.push(rate);
        }
        card.warnings = card.compute_warnings();
        Ok((card, csv))
    }

    fn add_toml_offer(
        &mut self,
        src: &Src<'_>,
        raw: Spanned<RawOffer>,
        parent: Option<usize>,
        ids: &mut BTreeMap<String, usize>,
    ) -> Result<(), PricingError> {
        let span = raw.span();
        let ro = raw.into_inner();
        let id = src.string(&ro.id, "offer.id")?;
        let field = |name: &str| format!("offer[{id}].{name}");
        let pool_index = match (parent, &ro.pool) {
            (Some(i), None) => i,
            (Some(i), Some(v)) => {
                let named = src.string(v, &field("pool"))?;
                if named != self.pools[i].id {
                    return Err(src.invalid(
                        v.span(),
                        Problem {
                            field: &field("pool"),
                            problem: format!(
                                "names pool \"{named}\" but the offer is inside pool \"{}\"",
                                self.pools[i].id
                            ),
                            expected: "no `pool` key in [[pool.offer]] (or the enclosing pool's id)",
                            fix: "remove the `pool` key, or move the offer to a top-level [[offer]]"
                                .into(),
                        },
                    ));
                }
                i
            }
            (None, Some(v)) => {
                let named = src.string(v, &field("pool"))?;
                self.pool_index(&named).ok_or_else(|| {
                    src.invalid(v.span(), self.unknown_pool_problem(&named, &field("pool")))
                })?
            }
            (None, None) => {
                return Err(src.invalid(
                    span.clone(),
                    Problem {
                        field: &field("pool"),
                        problem: "is missing from a top-level [[offer]]".into(),
                        expected: "the id of the pool the offer covers",
                        fix: "add `pool = \"<pool id>\"` or nest the offer as [[pool.offer]]"
                            .into(),
                    },
                ));
            }
        };
        if let Some(line) = ids.get(&id) {
            return Err(src.invalid(
                ro.id.span(),
                Problem {
                    field: &field("id"),
                    problem: format!("\"{id}\" is used twice (first at line {line})"),
                    expected: "offer ids unique across the rate card",
                    fix: "rename one of the offers".into(),
                },
            ));
        }
        let amount = |v: &Option<Spanned<Value>>, name: &str| -> Result<Decimal, PricingError> {
            v.as_ref()
                .map_or(Ok(Decimal::ZERO), |v| src.amount(v, &field(name), false))
        };
        let fields = OfferFields {
            kind: src.choice(&ro.kind, &field("kind"), OfferKind::parse, &KIND_NAMES)?,
            term: src.choice(&ro.term, &field("term"), Term::parse, &TERM_NAMES)?,
            payment: src.choice(
                &ro.payment,
                &field("payment"),
                Payment::parse,
                &PAYMENT_NAMES,
            )?,
            upfront: amount(&ro.upfront, "upfront")?,
            recurring_hourly: amount(&ro.recurring_hourly, "recurring_hourly")?,
            currency: ro
                .currency
                .as_ref()
                .map(|v| src.currency(v, &field("currency")))
                .transpose()?,
            id: id.clone(),
        };
        let pool = &self.pools[pool_index];
        if let Err(c) = check_offer(&fields, pool) {
            let at = match c.field {
                "currency" => ro.currency.as_ref().map(Spanned::span),
                "upfront" => ro.upfront.as_ref().map(Spanned::span),
                _ => ro.recurring_hourly.as_ref().map(Spanned::span),
            }
            .unwrap_or_else(|| ro.payment.span());
            return Err(src.invalid(
                at,
                Problem {
                    field: &field(c.field),
                    problem: c.problem,
                    expected: c.expected,
                    fix: c.fix,
                },
            ));
        }
        let line = src.line_of(span.start);
        ids.insert(id, line);
        let origin = Origin {
            file: src.ctx.name.to_string(),
            line,
        };
        let offer = Offer::build(fields, pool, origin);
        self.pools[pool_index].offers.push(offer);
        Ok(())
    }

    pub(crate) fn pool_index(&self, id: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.id == id)
    }

    pub(crate) fn unknown_pool_problem<'a>(&self, named: &str, field: &'a str) -> Problem<'a> {
        let ids: Vec<&str> = self.pools.iter().map(|p| p.id.as_str()).collect();
        let fix = match did_you_mean(named, ids.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "define the pool in the rate card or correct the id".into(),
        };
        Problem {
            field,
            problem: format!("\"{named}\" is not a pool of the rate card"),
            expected: if ids.is_empty() {
                "a pool id (the rate card has no pools)"
            } else {
                "the id of a [[pool]] in the rate card"
            },
            fix: if ids.is_empty() {
                fix
            } else {
                format!("{fix} Known pools: {}", quote_list(&ids))
            },
        }
    }

    pub(crate) fn pools_mut(&mut self) -> &mut Vec<Pool> {
        &mut self.pools
    }

    pub(crate) fn compute_warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for p in &self.pools {
            if p.offers.is_empty() {
                out.push(Warning {
                    file: p.origin.file.clone(),
                    line: p.origin.line,
                    pool: p.id.clone(),
                    offer: None,
                    message: "has no offers: its usage can only be bought on demand".into(),
                });
            }
            out.extend(p.offers.iter().filter_map(price_warning));
        }
        out
    }

    pub(crate) fn set_warnings(&mut self, w: Vec<Warning>) {
        self.warnings = w;
    }

    /// The pools, in file order.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// The pool with this id.
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// The offer with this id (ids are unique across the card).
    pub fn offer(&self, id: &str) -> Option<&Offer> {
        self.offers().find(|o| o.id == id)
    }

    /// Every offer, pool by pool in file order.
    pub fn offers(&self) -> impl Iterator<Item = &Offer> {
        self.pools.iter().flat_map(|p| p.offers.iter())
    }

    /// The pools that cover a series with these dimensions and unit, in file order. A series
    /// can be covered by several pools (an instance-type pool and a spend-based Savings Plan
    /// pool, for example); the planner decides the order in which they apply.
    pub fn pools_for<'a, I>(&self, dims: I, series_unit: &str) -> Vec<&Pool>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let dims: Vec<(&str, &str)> = dims.into_iter().collect();
        self.pools
            .iter()
            .filter(|p| p.covers(dims.iter().copied(), series_unit))
            .collect()
    }

    /// Checks that no series is covered by two pools: the planner sums every pool's series
    /// into that pool's demand, so a series two pools match would be planned (and bought for)
    /// twice. `series` are the `(key, unit)` of the usage series to plan.
    ///
    /// # Errors
    ///
    /// [`PricingError::OverlappingPools`] naming the first such series and its first two pools.
    pub fn check_disjoint<'a>(
        &self,
        series: impl IntoIterator<Item = (&'a SeriesKey, &'a str)>,
    ) -> Result<(), PricingError> {
        for (key, unit) in series {
            let mut matching = self.pools.iter().filter(|p| p.covers_series(key, unit));
            if let (Some(a), Some(b)) = (matching.next(), matching.next()) {
                return Err(PricingError::OverlappingPools(Box::new(PoolOverlap {
                    file: a.origin.file.clone(),
                    series: key.to_string(),
                    unit: unit.to_owned(),
                    first: a.id.clone(),
                    first_line: a.origin.line,
                    second: b.id.clone(),
                    second_line: b.origin.line,
                })));
            }
        }
        Ok(())
    }

    /// Non-fatal findings: offers not cheaper than on-demand, pools without offers. In file
    /// order, TOML before CSV.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// For each (kind, term) of `pool`'s offers, the payment option with the lowest present
    /// value per unit-hour at `cost_of_capital` (annual, 0.08 = 8 %), ties going to less
    /// upfront, with the full comparison. Errors on an unknown pool or an out-of-range rate.
    pub fn best_payment_options(
        &self,
        pool: &str,
        cost_of_capital: Decimal,
    ) -> Result<Vec<PaymentChoice>, PricingError> {
        let p = self.pool(pool).ok_or_else(|| PricingError::UnknownPool {
            pool: pool.to_string(),
            known: self.pools.iter().map(|p| p.id.clone()).collect(),
        })?;
        choose_payment_options(&p.id, &p.offers, cost_of_capital)
    }
}

fn parse_pool(src: &Src<'_>, rp: &RawPool, start: usize) -> Result<Pool, PricingError> {
    let id = src.string(&rp.id, "pool.id")?;
    let field = |name: &str| format!("pool[{id}].{name}");
    let description = rp
        .description
        .as_ref()
        .map(|v| src.string(v, &field("description")))
        .transpose()?
        .unwrap_or_default();
    let match_rule = parse_match(src, &rp.match_rule, &field("match"))?;
    let series_unit = rp
        .series_unit
        .as_ref()
        .map(|v| src.string(v, &field("series_unit")))
        .transpose()?;
    let usage_per_unit = rp
        .usage_per_unit
        .as_ref()
        .map(|v| src.amount(v, &field("usage_per_unit"), true))
        .transpose()?
        .unwrap_or(Decimal::ONE);
    let size_flexible = rp.size_flexible.as_ref().is_some_and(|b| *b.get_ref());
    let mut normalization = BTreeMap::new();
    if let Some(table) = &rp.normalization {
        if !size_flexible {
            return Err(src.invalid(
                table.span(),
                Problem {
                    field: &field("normalization"),
                    problem: "is given in a pool that is not size-flexible".into(),
                    expected: "normalization factors only with size_flexible = true",
                    fix: "add size_flexible = true to the pool or remove the table".into(),
                },
            ));
        }
        for (size, v) in table.get_ref() {
            let f = field(&format!("normalization.{size}"));
            if size.is_empty() {
                return Err(src.invalid(
                    v.span(),
                    Problem {
                        field: &f,
                        problem: "names an empty size".into(),
                        expected: "an instance type (\"m5.metal\") or a size (\"metal\")",
                        fix: "write the size as it appears in the usage's instance_type".into(),
                    },
                ));
            }
            normalization.insert(size.clone(), src.amount(v, &f, true)?);
        }
    }
    Ok(Pool {
        normalization,
        unit: src.string(&rp.unit, &field("unit"))?,
        series_unit,
        usage_per_unit,
        size_flexible,
        on_demand_rate: src.amount(&rp.on_demand_rate, &field("on_demand_rate"), true)?,
        currency: src.currency(&rp.currency, &field("currency"))?,
        description,
        match_rule,
        offers: Vec::new(),
        rates: Vec::new(),
        origin: Origin {
            file: src.ctx.name.to_string(),
            line: src.line_of(start),
        },
        id,
    })
}

/// One `[[pool.rate]]`: a match and a discount per spend-based offer of the pool.
fn parse_rate(src: &Src<'_>, pool: &Pool, raw: Spanned<RawRate>) -> Result<SkuRate, PricingError> {
    let span = raw.span();
    let rr = raw.into_inner();
    let field = |name: &str| format!("pool[{}].rate.{name}", pool.id);
    let spend: Vec<&str> = pool
        .offers
        .iter()
        .filter(|o| o.kind().is_spend_based())
        .map(|o| o.id())
        .collect();
    if spend.is_empty() {
        return Err(src.invalid(
            span,
            Problem {
                field: &field("match"),
                problem: format!(
                    "pool \"{}\" has no spend-based offer, so a per-SKU rate has nothing to price",
                    pool.id
                ),
                expected: "[[pool.rate]] only in pools with savings_plan_*, gcp_spend_cud or azure_savings_plan offers",
                fix: "remove the [[pool.rate]] table or move it to the Savings Plan pool".into(),
            },
        ));
    }
    let match_rule = parse_match(src, &rr.match_rule, &field("match"))?;
    let mut discounts = BTreeMap::new();
    for (offer, v) in rr.discount.get_ref() {
        let f = field(&format!("discount.{offer}"));
        if !spend.contains(&offer.as_str()) {
            let fix = match did_you_mean(offer, spend.iter().copied()) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => format!("use one of {}", quote_list(&spend)),
            };
            return Err(src.invalid(
                v.span(),
                Problem {
                    field: &f,
                    problem: format!(
                        "\"{offer}\" is not a spend-based offer of pool \"{}\"",
                        pool.id
                    ),
                    expected: "the id of one of the pool's Savings Plan / spend CUD offers",
                    fix,
                },
            ));
        }
        let d = src.decimal(v, &f)?;
        if d < Decimal::ZERO || d >= Decimal::ONE {
            return Err(src.invalid(
                v.span(),
                Problem {
                    field: &f,
                    problem: format!("{d} is not a discount between 0 and 1"),
                    expected: "a fraction of the on-demand price, 0 ≤ discount < 1 (0.28 = 28 % off)",
                    fix: "write the discount as a fraction, e.g. \"0.28\" for 28 %".into(),
                },
            ));
        }
        discounts.insert(offer.clone(), d);
    }
    let missing: Vec<&str> = spend
        .iter()
        .copied()
        .filter(|o| !discounts.contains_key(*o))
        .collect();
    if !missing.is_empty() {
        return Err(src.invalid(
            rr.discount.span(),
            Problem {
                field: &field("discount"),
                problem: format!("gives no discount for {}", quote_list(&missing)),
                expected: "a discount for every spend-based offer of the pool (its rates differ per term and payment option)",
                fix: format!(
                    "add {} to the discount table",
                    missing
                        .iter()
                        .map(|m| format!("\"{m}\" = \"0.20\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        ));
    }
    Ok(SkuRate {
        match_rule,
        discounts,
        line: src.line_of(span.start),
    })
}

fn parse_match(
    src: &Src<'_>,
    raw: &Spanned<BTreeMap<String, Spanned<Value>>>,
    field: &str,
) -> Result<MatchRule, PricingError> {
    if raw.get_ref().is_empty() {
        return Err(src.invalid(
            raw.span(),
            Problem {
                field,
                problem: "lists no dimension, so it would match every series".into(),
                expected: "a table such as { service = \"Amazon Elastic Compute Cloud\", \
                           region = \"us-east-1\" }",
                fix: "list the dimensions that identify the pool's usage".into(),
            },
        ));
    }
    let mut rules = BTreeMap::new();
    for (dim, v) in raw.get_ref() {
        let f = format!("{field}.{dim}");
        let values: Vec<String> = match v.get_ref() {
            Value::Array(items) if !items.is_empty() => {
                let mut out = BTreeSet::new();
                for item in items {
                    match item {
                        Value::String(s) if !s.is_empty() => {
                            out.insert(s.clone());
                        }
                        _ => return Err(match_value_error(src, v, &f)),
                    }
                }
                out.into_iter().collect()
            }
            Value::String(s) if !s.is_empty() => vec![s.clone()],
            _ => return Err(match_value_error(src, v, &f)),
        };
        rules.insert(dim.clone(), values);
    }
    Ok(MatchRule::new(rules))
}

fn match_value_error(src: &Src<'_>, v: &Spanned<Value>, field: &str) -> PricingError {
    src.invalid(
        v.span(),
        Problem {
            field,
            problem: format!("is a {} and not a dimension value", v.get_ref().type_str()),
            expected: "a non-empty string, or a non-empty array of strings (any of them matches)",
            fix: "write the value exactly as it appears in the usage series, e.g. \"us-east-1\""
                .into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    const CARD: &str = r#"
[[pool]]
id = "ec2-m6i-use1"
description = "m6i in us-east-1"
match = { service = "Amazon Elastic Compute Cloud", region = "us-east-1", family = "m6i" }
unit = "normalized unit-hours"
on_demand_rate = "0.25"
currency = "USD"

[[pool.offer]]
id = "m6i-3y-all"
kind = "ri_standard"
term = "3y"
payment = "all_upfront"
upfront = "2628"

[[pool.offer]]
id = "m6i-1y-no"
kind = "ri_standard"
term = "1y"
payment = "no_upfront"
recurring_hourly = 0.16

[[pool.offer]]
id = "m6i-1y-partial"
kind = "ri_standard"
term = "1y"
payment = "partial_upfront"
upfront = 700.8
recurring_hourly = "0.08"

[[pool]]
id = "sp"
match = { service = ["Amazon Elastic Compute Cloud", "AWS Lambda"] }
unit = "USD/hour on-demand equivalent"
on_demand_rate = 1
currency = "usd"

[[offer]]
pool = "sp"
id = "sp-1y-no"
kind = "savings_plan_compute"
term = "1y"
payment = "no_upfront"
recurring_hourly = "1.2"
"#;

    fn card() -> RateCard {
        RateCard::from_toml_str(CARD, "rates.toml").unwrap()
    }

    #[test]
    fn parses_pools_offers_and_derived_rates() {
        let c = card();
        assert_eq!(c.pools().len(), 2);
        let o = c.offer("m6i-3y-all").unwrap();
        assert_eq!(o.term_hours(), 26_280);
        assert_eq!(o.effective_hourly(), d("0.1"));
        assert_eq!(o.discount(), d("0.6"));
        assert_eq!(o.total_per_unit(), d("2628"));
        let no = c.offer("m6i-1y-no").unwrap();
        assert_eq!(no.effective_hourly(), d("0.16"));
        assert_eq!(no.discount(), d("0.36"));
        // 700.8 / 8760 = 0.08, + 0.08
        let partial = c.offer("m6i-1y-partial").unwrap();
        assert_eq!(partial.effective_hourly(), d("0.16"));
        assert_eq!(partial.total_per_unit(), d("1401.6"));
        let sp = c.offer("sp-1y-no").unwrap();
        assert_eq!(sp.pool(), "sp");
        assert_eq!(sp.currency(), Currency::USD);
        assert_eq!(c.pool("sp").unwrap().offers().len(), 1);
        assert_eq!(
            c.pool("ec2-m6i-use1").unwrap().defined_at(),
            ("rates.toml", 2)
        );
        assert_eq!(o.defined_at().1, 10);
    }

    #[test]
    fn warns_about_offers_dearer_than_on_demand() {
        let c = card();
        assert_eq!(c.warnings().len(), 1, "{:?}", c.warnings());
        let w = &c.warnings()[0];
        assert_eq!(w.offer.as_deref(), Some("sp-1y-no"));
        assert!(w.to_string().contains("line 39"), "{w}");
        assert!(w.message.contains("not below the on-demand"));
    }

    #[test]
    fn a_series_two_pools_cover_is_an_error_naming_both() {
        let c = card();
        let key = |pairs: &[(&str, &str)]| {
            SeriesKey(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let lambda = key(&[("service", "AWS Lambda"), ("region", "eu-west-1")]);
        assert_eq!(c.check_disjoint([(&lambda, "x")]), Ok(()));
        let ec2 = key(&[
            ("family", "m6i"),
            ("region", "us-east-1"),
            ("service", "Amazon Elastic Compute Cloud"),
        ]);
        let e = c
            .check_disjoint([(&lambda, "x"), (&ec2, "Hours")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"ec2-m6i-use1\"") && e.contains("\"sp\"") && e.contains("family=m6i"),
            "{e}"
        );
    }

    #[test]
    fn matching_requires_all_dimensions() {
        let c = card();
        let ec2 = [
            ("service", "Amazon Elastic Compute Cloud"),
            ("region", "us-east-1"),
            ("family", "m6i"),
            ("account", "x"),
        ];
        let ids: Vec<&str> = c.pools_for(ec2, "Hours").iter().map(|p| p.id()).collect();
        assert_eq!(ids, ["ec2-m6i-use1", "sp"]);
        let lambda = [("service", "AWS Lambda"), ("region", "eu-west-1")];
        let ids: Vec<&str> = c.pools_for(lambda, "x").iter().map(|p| p.id()).collect();
        assert_eq!(ids, ["sp"]);
        assert!(c.pools_for([("region", "us-east-1")], "Hours").is_empty());
    }

    #[test]
    fn best_payment_option_by_present_value() {
        let c = card();
        let choices = c
            .best_payment_options("ec2-m6i-use1", Decimal::ZERO)
            .unwrap();
        // (ri_standard, 1y) and (ri_standard, 3y)
        assert_eq!(choices.len(), 2);
        let one = &choices[0];
        assert_eq!(one.term, Term::OneYear);
        // Equal nominal cost at 0 %: tie goes to less upfront.
        assert_eq!(one.chosen, "m6i-1y-no");
        assert_eq!(one.candidates[0].pv_per_unit, d("1401.6"));
        assert_eq!(one.candidates[1].pv_per_unit, d("1401.6"));
        // At 10 % deferring payment is worth it: still no upfront, now strictly cheaper.
        let choices = c.best_payment_options("ec2-m6i-use1", d("0.1")).unwrap();
        let one = &choices[0];
        assert_eq!(one.chosen, "m6i-1y-no");
        assert!(one.candidates[0].pv_per_unit < one.candidates[1].pv_per_unit);
        assert!(one.candidates[0].pv_per_unit_hour < d("0.16"));
        assert!(matches!(
            c.best_payment_options("nope", d("0.1")),
            Err(PricingError::UnknownPool { .. })
        ));
        assert!(c.best_payment_options("sp", d("-2")).is_err());
    }

    fn err(text: &str) -> String {
        RateCard::from_toml_str(text, "bad.toml")
            .unwrap_err()
            .to_string()
    }

    const POOL: &str = "[[pool]]\nid = \"p\"\nmatch = { region = \"r\" }\nunit = \"h\"\n\
                        on_demand_rate = \"1\"\ncurrency = \"USD\"\n";

    #[test]
    fn unknown_keys_are_errors_with_line() {
        let e = err(&format!("{POOL}colour = \"blue\"\n"));
        assert!(
            e.starts_with("bad.toml: line 7, column 1: `colour`: unknown key"),
            "{e}"
        );
        assert!(e.contains("`on_demand_rate`"), "{e}");
        let e = err(&format!(
            "{POOL}[[pool.offer]]\nid = \"o\"\nkind = \"ri_standard\"\nterm = \"1y\"\n\
             payment = \"no_upfront\"\nrecuring_hourly = \"0.5\"\n"
        ));
        assert!(e.contains("line 12"), "{e}");
        assert!(e.contains("did you mean `recurring_hourly`"), "{e}");
    }

    #[test]
    fn missing_keys_and_bad_values_name_the_field() {
        let e = err(
            "[[pool]]\nid = \"p\"\nmatch = { region = \"r\" }\nunit = \"h\"\ncurrency = \"USD\"\n",
        );
        assert!(
            e.contains("`on_demand_rate`") && e.contains("missing"),
            "{e}"
        );
        let e = err(&POOL.replace("\"1\"", "\"-0.1\""));
        assert!(
            e.contains("line 5") && e.contains("on_demand_rate") && e.contains("negative"),
            "{e}"
        );
        let e = err(&POOL.replace("\"1\"", "\"abc\""));
        assert!(
            e.contains("line 5") && e.contains("not a finite decimal"),
            "{e}"
        );
        let e = err(&POOL.replace("{ region = \"r\" }", "{}"));
        assert!(e.contains("line 3") && e.contains("match"), "{e}");
        let e = err(&POOL.replace("\"USD\"", "\"US\""));
        assert!(e.contains("line 6") && e.contains("currency code"), "{e}");
        let e = err("[[pool]\n");
        assert!(e.starts_with("bad.toml: line 1"), "{e}");
    }

    fn offer(body: &str) -> String {
        err(&format!("{POOL}\n[[pool.offer]]\nid = \"o\"\n{body}"))
    }

    #[test]
    fn offer_validation() {
        let e =
            offer("kind = \"ri\"\nterm = \"1y\"\npayment = \"no_upfront\"\nrecurring_hourly = 1\n");
        assert!(
            e.contains("line 10") && e.contains("`offer[o].kind`") && e.contains("ri_standard"),
            "{e}"
        );
        let e = offer(
            "kind = \"ri_standard\"\nterm = \"2y\"\npayment = \"no_upfront\"\nrecurring_hourly = 1\n",
        );
        assert!(
            e.contains("line 11") && e.contains("`offer[o].term`"),
            "{e}"
        );
        let e = offer(
            "kind = \"ri_standard\"\nterm = \"1y\"\npayment = \"all_upfront\"\nupfront = 100\nrecurring_hourly = \"0.01\"\n",
        );
        assert!(e.contains("line 14") && e.contains("all_upfront"), "{e}");
        let e = offer(
            "kind = \"ri_standard\"\nterm = \"1y\"\npayment = \"no_upfront\"\nupfront = 100\nrecurring_hourly = \"0.01\"\n",
        );
        assert!(
            e.contains("line 13") && e.contains("`offer[o].upfront`"),
            "{e}"
        );
        let e = offer(
            "kind = \"ri_standard\"\nterm = \"1y\"\npayment = \"no_upfront\"\nrecurring_hourly = -0.01\n",
        );
        assert!(e.contains("line 13") && e.contains("negative"), "{e}");
        let e = offer(
            "kind = \"ri_standard\"\nterm = \"1y\"\npayment = \"no_upfront\"\nrecurring_hourly = 0.5\ncurrency = \"EUR\"\n",
        );
        assert!(e.contains("line 14") && e.contains("EUR differs"), "{e}");
        let e = offer("kind = \"ri_standard\"\nterm = \"1y\"\npayment = \"all_upfront\"\n");
        assert!(e.contains("free"), "{e}");
    }

    #[test]
    fn duplicate_ids_and_unknown_pools() {
        let e = err(&format!("{POOL}{POOL}"));
        assert!(
            e.contains("line 8") && e.contains("used twice (first at line 1)"),
            "{e}"
        );
        let o = "[[offer]]\npool = \"p\"\nid = \"o\"\nkind = \"ri_standard\"\nterm = \"1y\"\n\
                 payment = \"no_upfront\"\nrecurring_hourly = 0.5\n";
        let e = err(&format!("{POOL}{o}{o}"));
        assert!(
            e.contains("line 16") && e.contains("used twice (first at line 7)"),
            "{e}"
        );
        let e = err(&format!(
            "{POOL}{}",
            o.replace("pool = \"p\"", "pool = \"q\"")
        ));
        assert!(
            e.contains("line 8") && e.contains("not a pool") && e.contains("`p`"),
            "{e}"
        );
        let e = err(&format!("{POOL}{}", o.replace("pool = \"p\"\n", "")));
        assert!(e.contains("line 7") && e.contains("top-level"), "{e}");
    }

    #[test]
    fn absurd_prices_warn_instead_of_overflowing() {
        let text = format!(
            "{}\n[[pool.offer]]\nid = \"o\"\nkind = \"ri_standard\"\nterm = \"1y\"\n\
             payment = \"no_upfront\"\nrecurring_hourly = 1000000000\n",
            POOL.replace("\"1\"", "\"0.0000000000000000000000000001\"")
        );
        let c = RateCard::from_toml_str(&text, "x.toml").unwrap();
        assert_eq!(c.offer("o").unwrap().discount(), Decimal::MIN);
        assert_eq!(c.warnings().len(), 1);
    }

    #[test]
    fn pool_without_offers_is_a_warning() {
        let c = RateCard::from_toml_str(POOL, "p.toml").unwrap();
        assert_eq!(c.warnings().len(), 1);
        assert!(c.warnings()[0].message.contains("no offers"));
        assert_eq!(c.pools()[0].to_pool_units(3.0), 3.0);
        assert_eq!(
            c.pools()[0].on_demand().cost_of(2.0).unwrap().amount(),
            d("2")
        );
    }

    const SP: &str = "[[pool]]\nid = \"sp\"\nmatch = { service = [\"EC2\", \"Lambda\"] }\n\
                      unit = \"USD/hour\"\non_demand_rate = \"1\"\ncurrency = \"USD\"\n\
                      offer = [\n\
                      { id = \"sp-1y\", kind = \"savings_plan_compute\", term = \"1y\", payment = \"no_upfront\", recurring_hourly = \"0.74\" },\n\
                      { id = \"sp-3y\", kind = \"savings_plan_compute\", term = \"3y\", payment = \"no_upfront\", recurring_hourly = \"0.54\" },\n]\n";

    #[test]
    fn per_sku_rates_of_a_spend_pool() {
        let text = format!(
            "{SP}[[pool.rate]]\nmatch = {{ service = \"Lambda\" }}\n\
             discount = {{ \"sp-1y\" = \"0.12\", \"sp-3y\" = \"0.17\" }}\n"
        );
        let card = RateCard::from_toml_str(&text, "r.toml").unwrap();
        let pool = &card.pools()[0];
        assert!(pool.is_spend_pool());
        let lambda = SeriesKey(vec![("service".into(), "Lambda".into())]);
        let ec2 = SeriesKey(vec![("service".into(), "EC2".into())]);
        let o1 = &pool.offers()[0];
        assert_eq!(pool.discount_on(o1, &lambda), Decimal::new(12, 2));
        assert_eq!(pool.discount_on(o1, &ec2), Decimal::new(26, 2));
        assert_eq!(pool.sku_rates()[0].line(), 11);
    }

    #[test]
    fn per_sku_rate_errors_name_line_field_and_fix() {
        let e = err(&format!(
            "{SP}[[pool.rate]]\nmatch = {{ service = \"Lambda\" }}\ndiscount = {{ \"sp-1z\" = \"0.12\", \"sp-3y\" = \"0.17\" }}\n"
        ));
        assert!(
            e.contains("line 13") && e.contains("sp-1z") && e.contains("did you mean \"sp-1y\""),
            "{e}"
        );
        let e = err(&format!(
            "{SP}[[pool.rate]]\nmatch = {{ service = \"Lambda\" }}\ndiscount = {{ \"sp-1y\" = \"0.12\" }}\n"
        ));
        assert!(e.contains("gives no discount for `sp-3y`"), "{e}");
        let e = err(&format!(
            "{SP}[[pool.rate]]\nmatch = {{ service = \"Lambda\" }}\ndiscount = {{ \"sp-1y\" = \"1.2\", \"sp-3y\" = \"0.17\" }}\n"
        ));
        assert!(e.contains("not a discount between 0 and 1"), "{e}");
        let e = err(&format!(
            "{POOL}offer = [{{ id = \"ri\", kind = \"ri_standard\", term = \"1y\", payment = \"no_upfront\", recurring_hourly = \"0.5\" }}]\n\
             [[pool.rate]]\nmatch = {{ region = \"r\" }}\ndiscount = {{ \"ri\" = \"0.1\" }}\n"
        ));
        assert!(e.contains("no spend-based offer"), "{e}");
    }

    #[test]
    fn size_flexible_pools_count_normalized_units() {
        let text = "[[pool]]\nid = \"m5\"\nmatch = { region = \"r\", family = \"m5\" }\n\
                    unit = \"normalized unit-hours\"\nsize_flexible = true\n\
                    on_demand_rate = \"0.024\"\ncurrency = \"USD\"\n";
        let card = RateCard::from_toml_str(text, "r.toml").unwrap();
        let pool = &card.pools()[0];
        assert!(pool.size_flexible());
        let key = |t: &str| {
            SeriesKey(vec![
                ("family".into(), "m5".into()),
                ("instance_type".into(), t.into()),
                ("region".into(), "r".into()),
            ])
        };
        assert_eq!(pool.to_pool_units_of(&key("m5.large"), 3.0), 12.0);
        assert_eq!(pool.to_pool_units_of(&key("m5.2xlarge"), 1.0), 16.0);
        assert!(pool.covers_series(&key("m5.xlarge"), "Hours"));
        // A size without a factor is not covered (left to on-demand), never counted as 0.
        assert!(!pool.covers_series(&key("m5.metal"), "Hours"));
        // Not size-flexible: one unit per hour whatever the size.
        let plain =
            RateCard::from_toml_str(&text.replace("size_flexible = true\n", ""), "r.toml").unwrap();
        assert_eq!(
            plain.pools()[0].to_pool_units_of(&key("m5.2xlarge"), 1.0),
            1.0
        );
        // The card's own factors: a size (metal, which AWS's table leaves out) and an
        // instance type (overriding the table's 16 for m5.2xlarge), exact type first.
        let own = text.to_string()
            + "normalization = { metal = \"192\", \"m5.2xlarge\" = \"15.5\", \"2xlarge\" = \"3\" }\n";
        let card = RateCard::from_toml_str(&own, "r.toml").unwrap();
        let pool = &card.pools()[0];
        assert_eq!(pool.to_pool_units_of(&key("m5.metal"), 1.0), 192.0);
        assert!(pool.covers_series(&key("m5.metal"), "Hours"));
        assert_eq!(pool.to_pool_units_of(&key("m5.2xlarge"), 2.0), 31.0);
        assert_eq!(pool.to_pool_units_of(&key("m5.large"), 1.0), 4.0);
        // Errors: a factor that is not positive, a table outside a size-flexible pool.
        let e = RateCard::from_toml_str(
            &(text.to_string() + "normalization = { metal = \"0\" }\n"),
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("pool[m5].normalization.metal") && e.contains("zero"),
            "{e}"
        );
        let e = RateCard::from_toml_str(
            &(text.replace("size_flexible = true\n", "") + "normalization = { metal = \"192\" }\n"),
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("not size-flexible") && e.contains("size_flexible = true"),
            "{e}"
        );
    }

    #[test]
    fn csv_files_listed_by_the_card_are_read_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("offers.csv"),
            "pool,offer_id,kind,term,payment,upfront,recurring_hourly,currency\n\
             sp,sp-3y,savings_plan_compute,3y,no_upfront,,0.54,USD\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sp-rates.csv"),
            "pool,offer_id,discount,service\nsp,sp-1y,0.12,Lambda\nsp,sp-3y,0.17,Lambda\n",
        )
        .unwrap();
        let text = "csv = [\"offers.csv\", \"sp-rates.csv\"]\n[[pool]]\nid = \"sp\"\n\
                    match = { service = [\"EC2\", \"Lambda\"] }\nunit = \"USD/hour\"\n\
                    on_demand_rate = \"1\"\ncurrency = \"USD\"\noffer = [{ id = \"sp-1y\", \
                    kind = \"savings_plan_compute\", term = \"1y\", payment = \"no_upfront\", \
                    recurring_hourly = \"0.74\" }]\n";
        let card = RateCard::from_toml_in_dir(text, "cards/rates.toml", dir.path()).unwrap();
        let pool = &card.pools()[0];
        assert_eq!(pool.offers().len(), 2);
        let lambda = SeriesKey(vec![("service".into(), "Lambda".into())]);
        let ec2 = SeriesKey(vec![("service".into(), "EC2".into())]);
        assert_eq!(pool.discount_on(&pool.offers()[1], &lambda), d("0.17"));
        assert_eq!(pool.discount_on(&pool.offers()[1], &ec2), d("0.46"));
        // Without a directory the list is refused, and a missing file names the csv line.
        let e = RateCard::from_toml_str(text, "rates.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("csv") && e.contains("from_toml_in_dir"), "{e}");
        let e = RateCard::from_toml_in_dir(
            &text.replace("sp-rates.csv", "nope.csv"),
            "rates.toml",
            dir.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("rates.toml: line 1") && e.contains("nope.csv"),
            "{e}"
        );
        // An error inside a CSV names that file, row and column.
        std::fs::write(
            dir.path().join("sp-rates.csv"),
            "pool,offer_id,discount,service\nsp,sp-1y,0.12,Lambda\nsp,sp-3y,28%,Lambda\n",
        )
        .unwrap();
        let e = RateCard::from_toml_in_dir(text, "cards/rates.toml", dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cards/sp-rates.csv: row 3 (line 3), column 3 `discount`"),
            "{e}"
        );
    }
}
