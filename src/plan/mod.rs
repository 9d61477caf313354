//! The optimizer: how much of each commitment offer to buy for one pool.
//!
//! # What is optimised
//!
//! One pool, hours `t = 0..T`, S equally likely demand paths, residual demand
//! `R_{s,t} = max(0, D_{s,t} − E_t)` after existing commitments `E`, on-demand price `p`.
//! Per term only the offer with the lowest effective rate is used: a *long* term `L3` (3y),
//! bought once at hour 0 at level `x3`, and a *short* term `L1` (1y), bought at the start of
//! each year (block) `k` at level `x1_k` — all decided now ("decide-now" program). Hour `t` of
//! year `k` is covered by `c_k = x3·[t < L3] + x1_k`. A purchase always pays its **full
//! term**, also when the horizon ends earlier (a 3y bought for a 2y horizon pays 3 years;
//! a 1y bought for a partial last year pays the whole year); usage after the horizon counts
//! as zero.
//!
//! Think in horizontal slices of demand: the slice at level `y` is used in `u_{s,k}(y) =
//! #{t ∈ year k : R_{s,t} > y}` hours of path s. A risk setting turns these per-path hours
//! into one *risk-adjusted utilisation* `U^ρ_k(y)`:
//!
//! * [`Risk::Balanced`]: `U_k(y) = mean_s u_{s,k}(y)`. The optimum is the exact minimum of
//!   the **expected cost** `r3·L3·x3 + Σ_k r1·L1·x1_k + p·mean_s Σ_t (R_{s,t} − c_{k(t)})⁺`
//!   (verified against an LP solver and brute force in `tests/verify.rs`).
//! * [`Risk::Quantile(q)`](Risk::Quantile): `U^q_k(y)` = the `⌈q·S⌉`-th smallest of the
//!   `u_{s,k}(y)` (lower empirical q-quantile over paths): a slice is bought only if it pays
//!   off even on the path that uses it at the q-quantile. With one long or one short offer
//!   this is exactly the `⌈q·S⌉`-th smallest of the per-path optimal levels.
//! * [`Risk::Cvar(α)`](Risk::Cvar): `U^α_k(y)` = mean of the `⌈α·S⌉` smallest `u_{s,k}(y)`
//!   (lower-tail CVaR of the slice's used hours); `Cvar(1)` = Balanced.
//!
//! Each `U^ρ_k` is non-increasing in `y` (an order statistic or tail mean of non-increasing
//! functions), and what is minimised is the *risk-adjusted cost*
//! `r3·L3·x3 + Σ_k r1·L1·x1_k + p·Σ_k ∫_{c_k}^∞ U^ρ_k(y) dy` (reported as
//! [`PoolPlan::risk_objective`]; for Balanced it is the expected cost). Per slice the cheapest
//! choice is `min(r3·L3 [if long], Σ_k min(r1·L1, p·U_k(y)))` over the years inside the long
//! term; monotonicity makes the long choice an interval `[0, a)` and each year's short choice
//! `[a, b_k)`, with `b_k = sup{y : p·U_k(y) > r1·L1}` (for Balanced the `d1`-quantile of year
//! k's residual pooled over paths and hours). So `x3 = a`, `x1_k = max(0, b_k − a)`.
//! Comparisons are exact (decimal thresholds against integer counts); a slice is bought only
//! when strictly cheaper, so among optima the smallest commitment wins and an offer with
//! discount ≤ 0 is never bought. Cost: one sort per year, O(T·S log(T·S)).
//!
//! Presets: [`Risk::CONSERVATIVE`] = `Quantile(0.25)`, [`Risk::BALANCED`],
//! [`Risk::AGGRESSIVE`] = `Quantile(0.75)`.
//!
//! Whole units: [`PoolProblem::round_to_units`] (exact integer optimum of the same
//! objective, see its docs).
//!
//! Ladders (the purchase split into monthly or quarterly tranches with staggered
//! expirations, compared with the lump): see [`ladder`].
//!
//! Evaluation: every set of purchases on demand paths — the optimizer's levels
//! ([`PoolProblem::evaluate`]), the ladder and the lump it is compared with, any strategy's
//! purchases — is a schedule evaluated by the one evaluator, [`evaluate_schedule`].
//!
//! Money: quantities are `f64`; every amount is produced by [`crate::money::Rate::cost_of`]
//! and booked with [`crate::money::Money::round`] (half-even); monthly parts come from
//! [`crate::money::Money::allocate`] so they sum exactly to the totals.

mod baseline;
pub mod demand;
mod evaluate;
pub mod flex;
pub mod ladder;
mod optimizer;
mod policy;
mod portfolio;
mod schedule;
pub mod sizing;
pub mod spend;
pub mod strategy;
mod types;

pub use baseline::lookback_replay;
pub use evaluate::{PlanOptions, hindsight, optimize};
pub use ladder::{
    Cadence, LadderMonth, LadderPlan, LadderSettings, ScheduleFigures, Tranche, TrancheSizing,
    plan_ladder,
};
pub use optimizer::PoolProblem;
pub use policy::{
    Decision, LOOKBACK_30D, MIN_HISTORY_DAYS, PolicyBacktest, PolicyError, PolicySettings,
    PolicyStrategy, PolicyTotals, RealisedPool, RuleTotals, backtest_policy, history_before,
    realised,
};
pub(crate) use portfolio::offer_choices;
pub use portfolio::{
    Baseline, PeriodFlow, PoolDemand, PoolResult, Portfolio, PortfolioSettings, Skipped,
    card_peer_signals, cash_flow, plan_pool, plan_portfolio, plan_portfolio_from_history,
    pool_demand, pool_history,
};
pub use schedule::{PeriodOutcome, ScheduleOutcome, ScheduledPurchase, Spread, evaluate_schedule};
pub use types::*;
