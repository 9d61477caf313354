//! Rate cards (pools of usage, their on-demand rate and the commitment offers that cover
//! them) and the inventory of existing commitments.
//!
//! Everything here is exact decimal money ([`rust_decimal::Decimal`], see [`crate::money`]);
//! usage quantities are `f64`. Parsing works on text (`&str` plus a source name used in
//! messages): reading files is the caller's job. Output order is always file order; there is
//! no hash-map iteration anywhere.
//!
//! # Rate card (TOML)
//!
//! ```toml
//! [[pool]]
//! id = "ec2-use1-m6i.xlarge"                  # unique
//! description = "EC2 m6i.xlarge, us-east-1"   # optional
//! # Which usage series the pool covers: every listed dimension must be equal (an array
//! # means "any of these values").
//! match = { service = "Amazon Elastic Compute Cloud", region = "us-east-1", instance_type = "m6i.xlarge" }
//! unit = "instance-hours"                     # the unit of commitments and prices
//! series_unit = "Hours"                       # optional: the series must have this unit
//! usage_per_unit = 1                          # optional (default 1): series units per pool unit
//! on_demand_rate = "0.192"                    # per pool unit-hour, > 0
//! currency = "USD"
//!
//! [[pool.offer]]
//! id = "ec2-use1-m6i.xlarge-ri-3y-all"        # unique across the card
//! kind = "ri_standard"     # ri_standard | ri_convertible | savings_plan_compute |
//!                          # savings_plan_instance | gcp_resource_cud | gcp_spend_cud |
//!                          # azure_reservation | azure_savings_plan
//! term = "3y"              # "1y" | "3y"
//! payment = "all_upfront"  # no_upfront | partial_upfront | all_upfront
//! upfront = "2018.3"       # per unit, optional (default 0)
//! recurring_hourly = "0"   # per unit-hour, optional (default 0)
//! currency = "USD"         # optional, must equal the pool's
//!
//! [[offer]]                # offers may also be top-level, naming their pool
//! pool = "ec2-use1-m6i.xlarge"
//! id = "ec2-use1-m6i.xlarge-ri-1y-no"
//! kind = "ri_standard"
//! term = "1y"
//! payment = "no_upfront"
//! recurring_hourly = "0.1267"
//! ```
//!
//! Prices may be written as strings (`"0.192"`) or bare numbers (`0.192`); bare numbers are
//! read from their source text, never through `f64`. Errors: unknown keys, missing keys,
//! wrong types, negative prices, a non-positive on-demand rate or `usage_per_unit`, an empty
//! `match`, duplicate pool or offer ids, an offer naming an unknown pool, an offer currency
//! different from the pool's, `all_upfront` with a recurring fee, `no_upfront` with an
//! upfront fee, `partial_upfront` without both, and a free offer; each is a
//! [`crate::diagnostic::Diagnostic`] naming the file, line and key. Warnings
//! ([`RateCard::warnings`]): an offer whose effective hourly rate is not below on-demand, a
//! pool without offers.
//!
//! # Bulk offers (CSV)
//!
//! ```text
//! pool,offer_id,kind,term,payment,upfront,recurring_hourly,currency
//! ec2-use1-m6i.xlarge,m6i-1y-partial,ri_standard,1y,partial_upfront,530.16,0.0605,USD
//! ```
//!
//! Added to pools defined in TOML with [`RateCard::extend_from_csv_str`]; errors name the row
//! (header = row 1), line and column.
//!
//! # Derived figures
//!
//! * [`Offer::term_hours`]: 1y = 8,760 h, 3y = 26,280 h (365-day years, leap days ignored —
//!   the providers' amortisation convention, see [`types::HOURS_PER_YEAR`]).
//! * [`Offer::effective_hourly`] = upfront / term_hours + recurring_hourly;
//!   [`Offer::discount`] = 1 − effective / on-demand; [`Offer::total_per_unit`] = upfront +
//!   recurring × term_hours (exact; multiply quantities by this).
//! * [`Offer::present_value_per_unit`]: upfront at t = 0, 730 × recurring at the end of each
//!   month, discounted at (1 + r)^(m/12) (see [`pv`]).
//! * [`RateCard::best_payment_options`]: per (kind, term) of a pool, the payment option with
//!   the lowest PV per unit-hour, with the comparison.
//!
//! # Inventory (TOML)
//!
//! ```toml
//! [[commitment]]
//! id = "arn:aws:ec2:us-east-1:731904826153:reserved-instances/6f495371-..."   # unique
//! name = "ri-m6i-xlarge-use1-3y-partial"   # optional
//! pool = "ec2-use1-m6i.xlarge"             # a rate-card pool (checked by `validate`)
//! kind = "ri_standard"
//! payment = "partial_upfront"              # optional, informational
//! quantity = 16                            # pool units, ≥ 0
//! hourly_rate = "0.0826"                   # amortised cost per unit-hour
//! start = 2023-12-01                       # date (midnight UTC) or RFC 3339 with offset
//! end = 2026-12-01                         # exclusive, after start
//! ```

pub mod csv;
pub mod error;
pub mod inventory;
pub mod pv;
pub mod rate_card;
mod source;
pub mod types;

pub use csv::CSV_COLUMNS;
pub use error::{PoolOverlap, PricingError, Warning};
pub use inventory::{Commitment, Inventory};
pub use pv::{
    MAX_COST_OF_CAPITAL, MIN_COST_OF_CAPITAL, PaymentCandidate, PaymentChoice,
    choose_payment_options,
};
pub use rate_card::{MatchRule, Offer, Pool, RateCard, SkuRate, normalization_factor};
pub use types::{HOURS_PER_MONTH, HOURS_PER_YEAR, OfferKind, Payment, Term};
