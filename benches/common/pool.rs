//! The optimizer bench instances (`benches/optimizer.rs`, `benches/compare.rs`), included with
//! `#[path = "common/pool.rs"] mod pool;`: SplitMix64 demand paths of 3 years hourly and the
//! 1y + 3y partial-upfront pricing.

use capplan::money::Currency;
use capplan::plan::{OfferChoice, Pricing};
use rust_decimal::Decimal;

/// Hours of every path: 3 years.
pub const T: usize = 26_280;

/// SplitMix64 (seed 42 in the benches).
pub struct Rng(pub u64);

impl Rng {
    /// The next value in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One demand path of `T` hours around `level` (daily cycle, weekend dip, growth, noise);
/// draws `1 + T` values from `rng`.
pub fn path(rng: &mut Rng, level: f64) -> Vec<f64> {
    let growth = 0.3 * (rng.unit() - 0.3);
    (0..T)
        .map(|h| {
            let day = (h % 24) as f64 / 24.0 * std::f64::consts::TAU;
            let week = if (h / 24) % 7 >= 5 { 0.8 } else { 1.0 };
            let v = level
                * (1.0 + growth * h as f64 / T as f64)
                * week
                * (1.0 + 0.3 * day.sin())
                * (1.0 + 0.1 * (rng.unit() - 0.5));
            v.max(0.0)
        })
        .collect()
}

/// On demand 0.096 per unit-hour; 1y partial upfront (effective 0.0602) and 3y partial upfront
/// (effective 0.0412).
pub fn pricing() -> Pricing {
    let offer = |id: &str, term: usize, rate: &str, upfront: &str, rec: &str| OfferChoice {
        id: id.into(),
        term_hours: term,
        effective_hourly: rate.parse().unwrap(),
        upfront_per_unit: upfront.parse().unwrap(),
        recurring_hourly: rec.parse().unwrap(),
    };
    Pricing {
        currency: Currency::USD,
        on_demand_hourly: Decimal::new(96, 3),
        offers: vec![
            offer("1y-partial", 8760, "0.0602", "263", "0.0302"),
            offer("3y-partial", 26280, "0.0412", "541", "0.0206"),
        ],
    }
}
