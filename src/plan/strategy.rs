//! A commitment strategy turned into purchases for one pool.
//!
//! A [`Strategy`] is what a plan file's `[[strategy]]` asks for: buy nothing, follow the
//! optimizer (a risk setting, optionally laddered), commit a share of the mean forecast
//! demand, buy a given list, or apply the providers' lookback rule steadily. [`decide`] turns
//! one into [`ScheduledPurchase`]s on a pool's **base** demand — what would be bought today —
//! so that every strategy can then be evaluated on every demand scenario with
//! [`super::evaluate_schedule`].
//!
//! The optimizer's plans are expensive and shared between strategies: [`decide`] asks the
//! caller for them through a callback and keeps the ones later strategies reuse in
//! [`SharedPlans`]. Quantities follow [`Pool::whole_units`].

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use super::{
    Demand, LadderSettings, LookbackRecommendation, OfferChoice, PoolResult, PurchaseFinance, Risk,
    ScheduledPurchase,
};
use crate::pricing::{Pool, RateCard, Term};

/// The lookback windows (days) every pool's baselines replay, besides the strategies' own.
pub const BASELINE_LOOKBACK_DAYS: [usize; 3] = [7, 30, 60];

/// What a strategy buys.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Nothing: existing commitments run off, the rest is on demand.
    None,
    /// The optimizer's plan under a risk setting, its long-term purchase optionally laid out
    /// as a ladder.
    Recommended {
        /// Risk setting of the optimizer.
        risk: Risk,
        /// The ladder, if any.
        ladder: Option<LadderSettings>,
    },
    /// A fixed share of the mean forecast demand (after existing commitments), bought with
    /// the cheapest offer of one term and re-bought every term over the horizon.
    Coverage {
        /// Share in percent, 0 < p ≤ 100.
        percent: Decimal,
        /// Term of the offers bought.
        term: Term,
    },
    /// A given list of purchases (of every pool: each pool takes its own).
    Purchases(Vec<ListedPurchase>),
    /// The providers' lookback rule over the last `days` days of history, applied steadily.
    Lookback {
        /// Days of history replayed.
        days: usize,
    },
}

/// One purchase of a [`Strategy::Purchases`] list (a plan file's `[[scenario.strategy.purchase]]`:
/// pool and offer ids are checked against the rate card by [`listed_purchases`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPurchase {
    /// Pool id of the rate card.
    pub pool: String,
    /// Offer id of that pool.
    pub offer: String,
    /// Units of the pool's unit.
    pub quantity: f64,
    /// Purchase date (UTC midnight).
    pub date: NaiveDate,
    /// Line of the purchase in its file (for messages).
    pub line: usize,
}

/// Why a strategy's purchases could not be decided.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    /// A listed purchase names an offer that is not one of its pool's.
    #[error("offer {offer:?} is not an offer of pool {pool:?}")]
    NotAnOffer {
        /// The offer id as listed.
        offer: String,
        /// The pool id as listed.
        pool: String,
        /// Line of the purchase.
        line: usize,
    },
    /// A listed purchase names a pool the rate card does not have.
    #[error("pool {pool:?} is not in the rate card")]
    UnknownPool {
        /// The pool id as listed.
        pool: String,
        /// The closest pool id of the card, if one is close.
        suggestion: Option<String>,
        /// The card's pool ids, in file order.
        known: Vec<String>,
        /// Line of the purchase.
        line: usize,
    },
    /// A listed purchase is dated before the start of the plan.
    #[error("purchase date {date} is before the start of the plan {start}")]
    BeforeStart {
        /// The purchase date.
        date: NaiveDate,
        /// The first day of the plan.
        start: NaiveDate,
        /// Line of the purchase.
        line: usize,
    },
    /// The optimizer bought an offer the rate card does not have.
    #[error("offer {0} vanished")]
    OfferVanished(String),
}

/// What a strategy is decided on: one pool and its base demand.
#[derive(Debug, Clone, Copy)]
pub struct PoolContext<'a> {
    /// The rate card.
    pub card: &'a RateCard,
    /// The pool.
    pub pool: &'a Pool,
    /// The pool's offers after the payment choice (as the optimizer sees them).
    pub choices: &'a [OfferChoice],
    /// Base demand of the pool, pool units per hour.
    pub demand: &'a Demand,
    /// Units covered by existing commitments per hour of the horizon.
    pub existing: &'a [f64],
    /// Hour 0 of the plan.
    pub start: DateTime<Utc>,
    /// Hours planned.
    pub horizon_hours: usize,
}

/// The optimizer's plans of one pool that strategies share.
#[derive(Debug, Clone, Default)]
pub struct SharedPlans {
    /// The plan of the first `Recommended` strategy.
    pub primary: Option<PoolResult>,
    /// The plan whose baselines `Lookback` strategies replay: the first plan made.
    pub baseline: Option<PoolResult>,
}

/// A strategy decided for one pool.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// The purchases, in start order per offer.
    pub purchases: Vec<ScheduledPurchase>,
    /// A `Coverage` strategy whose term the pool has no offer of (nothing bought): the term
    /// in hours.
    pub missing_term: Option<usize>,
}

/// The purchases of `strategy` for the pool of `ctx`. `plan_with(risk, ladder)` is the
/// optimizer's plan of the pool on the base demand; the plans later strategies reuse are kept
/// in `plans`.
///
/// # Errors
///
/// A [`StrategyError`] for an invalid purchase list; the errors of `plan_with`.
pub fn decide<E: From<StrategyError>>(
    strategy: &Strategy,
    ctx: &PoolContext<'_>,
    plans: &mut SharedPlans,
    plan_with: &mut dyn FnMut(Risk, Option<LadderSettings>) -> Result<PoolResult, E>,
) -> Result<Decision, E> {
    let purchases = match strategy {
        Strategy::None => Vec::new(),
        Strategy::Recommended { risk, ladder } => {
            let r = plan_with(*risk, ladder.clone())?;
            let out = recommended_purchases(ctx.card, &r)?;
            if plans.primary.is_none() {
                plans.primary = Some(r.clone());
            }
            if plans.baseline.is_none() {
                plans.baseline = Some(r);
            }
            out
        }
        Strategy::Coverage { percent, term } => {
            let term_hours = term.hours() as usize;
            let Some(offer) = cheapest_offer(ctx.choices, term_hours) else {
                return Ok(Decision {
                    purchases: Vec::new(),
                    missing_term: Some(term_hours),
                });
            };
            coverage_purchases(offer, *percent, ctx)
        }
        Strategy::Purchases(list) => listed_purchases(ctx.card, ctx.pool, list, ctx.start)?,
        Strategy::Lookback { days } => {
            if plans.baseline.is_none() {
                plans.baseline = Some(plan_with(Risk::BALANCED, None)?);
            }
            let r = plans.baseline.as_ref().expect("set above");
            let rec = r
                .baselines
                .iter()
                .find(|b| b.name == format!("lookback {days}d"))
                .and_then(|b| b.recommendation.as_ref());
            match rec {
                Some(rec) => lookback_purchases(ctx.card, rec, ctx.pool, ctx.horizon_hours),
                None => Vec::new(),
            }
        }
    };
    Ok(Decision {
        purchases,
        missing_term: None,
    })
}

/// The lookback windows to replay for `strategies`: the baselines' 7, 30 and 60 days and
/// every `Lookback` strategy's, sorted, without repeats.
pub fn lookback_days(strategies: &[Strategy]) -> Vec<usize> {
    let mut days: Vec<usize> = BASELINE_LOOKBACK_DAYS.to_vec();
    days.extend(strategies.iter().filter_map(|s| match s {
        Strategy::Lookback { days } => Some(*days),
        _ => None,
    }));
    days.sort_unstable();
    days.dedup();
    days
}

/// The offer `id` of the card as the optimizer sees it (its effective rate and cash view).
pub fn offer_choice(card: &RateCard, id: &str) -> Option<OfferChoice> {
    card.offer(id).map(|o| OfferChoice {
        id: o.id().to_owned(),
        term_hours: o.term_hours() as usize,
        effective_hourly: o.effective_hourly(),
        upfront_per_unit: o.upfront(),
        recurring_hourly: o.recurring_hourly(),
    })
}

/// The purchases of an optimizer's plan: the ladder's tranches and other purchases when
/// laddered, else the plan's purchases; empty levels left out.
///
/// # Errors
///
/// [`StrategyError::OfferVanished`] when the plan names an offer the card lacks.
pub fn recommended_purchases(
    card: &RateCard,
    result: &PoolResult,
) -> Result<Vec<ScheduledPurchase>, StrategyError> {
    let buys: Vec<&PurchaseFinance> = match &result.ladder {
        Some(l) => l
            .tranches
            .iter()
            .map(|t| &t.purchase)
            .chain(l.other_purchases.iter())
            .collect(),
        None => result.plan.purchases.iter().collect(),
    };
    buys.into_iter()
        .filter(|b| b.quantity > 0.0)
        .map(|b| {
            Ok(ScheduledPurchase {
                offer: offer_choice(card, &b.offer_id)
                    .ok_or_else(|| StrategyError::OfferVanished(b.offer_id.clone()))?,
                start_hour: b.start_hour,
                quantity: b.quantity,
            })
        })
        .collect()
}

/// The offer of `term_hours` with the lowest effective rate (the first of equals).
pub fn cheapest_offer(choices: &[OfferChoice], term_hours: usize) -> Option<&OfferChoice> {
    choices
        .iter()
        .filter(|o| o.term_hours == term_hours)
        .min_by(|a, b| a.effective_hourly.cmp(&b.effective_hourly))
}

/// A coverage strategy with `offer`: at the start of every term (re-bought until the horizon
/// ends) `percent` % of the term's mean demand (over paths and hours) minus the mean units of
/// existing commitments, at least zero; whole units rounded down when the pool buys whole
/// units.
pub fn coverage_purchases(
    offer: &OfferChoice,
    percent: Decimal,
    ctx: &PoolContext<'_>,
) -> Vec<ScheduledPurchase> {
    let share = percent
        .checked_div(Decimal::from(100))
        .and_then(|d| d.to_string().parse::<f64>().ok())
        .unwrap_or(0.0);
    let (horizon, term_h) = (ctx.horizon_hours, offer.term_hours.max(1));
    let mut out = Vec::new();
    let mut h0 = 0;
    while h0 < horizon {
        let h1 = (h0 + term_h).min(horizon);
        let mean_d = ctx
            .demand
            .paths
            .iter()
            .map(|p| p[h0..h1].iter().sum::<f64>())
            .sum::<f64>()
            / (ctx.demand.paths.len() * (h1 - h0)) as f64;
        let mean_e = ctx.existing[h0..h1].iter().sum::<f64>() / (h1 - h0) as f64;
        let mut q = (share * mean_d - mean_e).max(0.0);
        if ctx.pool.whole_units() {
            q = q.floor();
        }
        if q > 0.0 {
            out.push(ScheduledPurchase {
                offer: offer.clone(),
                start_hour: h0,
                quantity: q,
            });
        }
        h0 += term_h;
    }
    out
}

/// Checks every purchase of `list` against the card before any pool is planned: its pool must
/// be one of the card's and its offer one of that pool's (a purchase of a pool the card lacks
/// would otherwise belong to no pool and be dropped unseen).
///
/// # Errors
///
/// [`StrategyError::UnknownPool`] (with the closest pool id, if any) or
/// [`StrategyError::NotAnOffer`] for the first purchase in list order that fails.
pub fn check_listed(card: &RateCard, list: &[ListedPurchase]) -> Result<(), StrategyError> {
    for p in list {
        if card.pool(&p.pool).is_none() {
            let known: Vec<String> = card.pools().iter().map(|q| q.id().to_owned()).collect();
            return Err(StrategyError::UnknownPool {
                pool: p.pool.clone(),
                suggestion: crate::diagnostic::did_you_mean(
                    &p.pool,
                    known.iter().map(String::as_str),
                )
                .map(str::to_owned),
                known,
                line: p.line,
            });
        }
        if card.offer(&p.offer).is_none_or(|o| o.pool() != p.pool) {
            return Err(StrategyError::NotAnOffer {
                offer: p.offer.clone(),
                pool: p.pool.clone(),
                line: p.line,
            });
        }
    }
    Ok(())
}

/// The purchases of `list` that belong to `pool`, each at the hour of its date.
///
/// # Errors
///
/// [`StrategyError::NotAnOffer`] for an offer that is not the pool's,
/// [`StrategyError::BeforeStart`] for a date before `start`.
pub fn listed_purchases(
    card: &RateCard,
    pool: &Pool,
    list: &[ListedPurchase],
    start: DateTime<Utc>,
) -> Result<Vec<ScheduledPurchase>, StrategyError> {
    let mut out = Vec::new();
    for p in list.iter().filter(|p| p.pool == pool.id()) {
        let offer = offer_choice(card, &p.offer)
            .filter(|_| card.offer(&p.offer).is_some_and(|o| o.pool() == pool.id()))
            .ok_or_else(|| StrategyError::NotAnOffer {
                offer: p.offer.clone(),
                pool: p.pool.clone(),
                line: p.line,
            })?;
        let midnight = Utc.from_utc_datetime(&p.date.and_hms_opt(0, 0, 0).expect("midnight"));
        let h = (midnight - start).num_hours();
        if h < 0 {
            return Err(StrategyError::BeforeStart {
                date: p.date,
                start: start.date_naive(),
                line: p.line,
            });
        }
        out.push(ScheduledPurchase {
            offer,
            start_hour: h as usize,
            quantity: p.quantity,
        });
    }
    Ok(out)
}

/// The lookback rule applied steadily: the level the rule recommends (rounded to whole
/// units when the pool buys whole units) bought at hour 0 and, for an offer shorter than the
/// horizon, again at the start of every term.
pub fn lookback_purchases(
    card: &RateCard,
    rec: &LookbackRecommendation,
    pool: &Pool,
    horizon_hours: usize,
) -> Vec<ScheduledPurchase> {
    let Some(offer) = offer_choice(card, &rec.offer_id) else {
        return Vec::new();
    };
    let mut q = rec.level;
    if pool.whole_units() {
        q = q.round();
    }
    let mut out = Vec::new();
    if q <= 0.0 {
        return out;
    }
    let step = offer.term_hours.max(1);
    let mut h0 = 0;
    while h0 < horizon_hours {
        out.push(ScheduledPurchase {
            offer: offer.clone(),
            start_hour: h0,
            quantity: q,
        });
        if step >= horizon_hours {
            break;
        }
        h0 += step;
    }
    out
}

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;
