//! Baselines the plan is shown beside: the providers' lookback replay.
//! (All on-demand is [`PoolPlan::on_demand_cost`](super::PoolPlan); the hindsight optimum is
//! [`hindsight`](super::hindsight).)

use rust_decimal::Decimal;

use super::optimizer::PoolProblem;
use super::types::{Demand, Levels, LookbackRecommendation, OfferChoice, PlanError, Pricing, Risk};
use crate::money::{Currency, Money, Rate};

/// The providers' rule (AWS/Azure/GCP recommendations): replay the last `days` × 24 hours of
/// `history` (hourly usage not already covered by commitments) and, for each offer, take the
/// level that would have minimised `r·x·h + p·Σ_t (H_t − x)⁺` over those `h` hours — the
/// discount-quantile of the window, no forecast. Returns the offer whose replay saved most
/// (ties: smaller id); `None` when there are no offers. Usually `days` is 7, 30 or 60; a
/// shorter history is replayed whole (see `window_hours`).
pub fn lookback_replay(
    history: &[f64],
    days: usize,
    offers: &[OfferChoice],
    currency: Currency,
    on_demand_hourly: Decimal,
) -> Result<Option<LookbackRecommendation>, PlanError> {
    if days == 0 || history.is_empty() {
        return Err(PlanError::BadLookback);
    }
    let h = (days * 24).min(history.len());
    let window = &history[history.len() - h..];
    let p = Rate::new(Money::new(on_demand_hourly, currency));
    let mut best: Option<(Money, LookbackRecommendation)> = None;
    for o in offers {
        // The window replayed as a one-term problem: the offer covers exactly these hours.
        let replay_offer = OfferChoice {
            term_hours: h,
            ..o.clone()
        };
        let pricing = Pricing {
            currency,
            on_demand_hourly,
            offers: vec![replay_offer],
        };
        let pb = PoolProblem::new(&Demand::single(window.to_vec()), &[], &pricing)?;
        let level = pb.optimal_levels(Risk::Balanced)?.three_year;
        let od: f64 = window.iter().sum();
        let over: f64 = window.iter().map(|&r| (r - level).max(0.0)).sum();
        let commit =
            Rate::new(Money::new(o.effective_hourly, currency)).cost_of(level * h as f64)?;
        let cost = commit.checked_add(p.cost_of(over)?)?;
        let od_cost = p.cost_of(od)?;
        let saved = od_cost.checked_sub(cost)?;
        let rec = LookbackRecommendation {
            offer_id: o.id.clone(),
            level,
            window_hours: h,
            replay_on_demand_cost: od_cost.round(),
            replay_cost: cost.round(),
        };
        let better = match &best {
            None => true,
            Some((m, r)) => {
                saved.amount() > m.amount() || (saved.amount() == m.amount() && o.id < r.offer_id)
            }
        };
        if better {
            best = Some((saved, rec));
        }
    }
    Ok(best.map(|(_, r)| r))
}

impl PoolProblem {
    /// Levels that apply a lookback recommendation to this pool: the level on the long offer
    /// if the recommendation is for it, else on the short offer in year 0 only, or in every
    /// year when `repeat_each_year` (a steady re-purchase of the same level).
    pub fn levels_for_lookback(
        &self,
        rec: &LookbackRecommendation,
        repeat_each_year: bool,
    ) -> Result<Levels, PlanError> {
        let mut levels = Levels {
            three_year: 0.0,
            one_year: if self.short.is_some() {
                vec![0.0; self.blocks]
            } else {
                Vec::new()
            },
        };
        if self.long.as_ref().is_some_and(|o| o.id == rec.offer_id) {
            levels.three_year = rec.level;
        } else if self.short.as_ref().is_some_and(|o| o.id == rec.offer_id) {
            for (k, x) in levels.one_year.iter_mut().enumerate() {
                if k == 0 || repeat_each_year {
                    *x = rec.level;
                }
            }
        } else {
            return Err(PlanError::BadLevels(
                "the recommendation's offer is not an offer this pool uses",
            ));
        }
        self.check_levels(&levels)?;
        Ok(levels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, term: usize, rate: &str) -> OfferChoice {
        OfferChoice {
            id: id.into(),
            term_hours: term,
            effective_hourly: rate.parse().unwrap(),
            upfront_per_unit: Decimal::ZERO,
            recurring_hourly: rate.parse().unwrap(),
        }
    }

    #[test]
    fn lookback_takes_the_quantile_of_the_window_only() {
        // Old history is high, the last 7 days are 1..=168 ⇒ only the window counts.
        let mut hist = vec![1000.0; 500];
        hist.extend((1..=168).map(f64::from));
        let offers = [offer("1y", 8760, "0.5"), offer("3y", 26280, "0.4")];
        let rec = lookback_replay(&hist, 7, &offers, Currency::USD, Decimal::ONE)
            .unwrap()
            .unwrap();
        assert_eq!(rec.window_hours, 168);
        assert_eq!(rec.offer_id, "3y");
        // Buy y iff #{H > y} > 0.4·168 = 67.2 ⇒ 68 hours above ⇒ y < 101.
        assert_eq!(rec.level, 101.0);
        assert!(rec.replay_cost.amount() < rec.replay_on_demand_cost.amount());
        assert!(lookback_replay(&[], 7, &offers, Currency::USD, Decimal::ONE).is_err());
        assert!(
            lookback_replay(&hist, 7, &[], Currency::USD, Decimal::ONE)
                .unwrap()
                .is_none()
        );
    }
}
