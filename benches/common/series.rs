//! The synthetic hourly series of the forecast benches (`benches/forecast.rs`,
//! `benches/compare.rs`), included with `#[path = "common/series.rs"] mod series;`.
//!
//! Series `i`: SplitMix64 seeded `0x9E3779B97F4A7C15 × (i + 1)`; five parameter draws (level,
//! trend, daily and weekly amplitude, noise), then one draw per point for AR(1) noise. The
//! trend slope is per hour of a 8,760-hour year whatever the length, so `series(i, n)[..8760]`
//! is the same for every `n ≥ 8760` (bit for bit).

use capplan::series::{self, SeriesKey, UsageSeries};
use chrono::{DateTime, TimeZone, Utc};

/// Points of the bench's one year; the trend slope is `(draw − 0.3) · level / TREND_POINTS`.
pub const TREND_POINTS: usize = 8760;

/// Start of every series (the first hour).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// Identifier of series `i` (the value of its `series` key): `s0000`, `s0001`, ...
pub fn id(i: usize) -> String {
    format!("s{i:04}")
}

/// Series `i` with `points` hourly values from [`start`].
pub fn series(i: usize, points: usize) -> UsageSeries {
    // SplitMix64 for deterministic noise.
    let mut state = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let level = 50.0 + 950.0 * next();
    let trend = (next() - 0.3) * level / TREND_POINTS as f64;
    let daily = 0.1 + 0.4 * next();
    let weekly = 0.05 + 0.2 * next();
    let noise = 0.02 + 0.08 * next();
    let mut e = 0.0;
    let values = (0..points)
        .map(|t| {
            let tf = t as f64;
            let u: f64 = next() * 2.0 - 1.0;
            e = 0.7 * e + u;
            let s = 1.0
                + daily * (2.0 * std::f64::consts::PI * tf / 24.0).sin()
                + weekly * (2.0 * std::f64::consts::PI * tf / 168.0).cos();
            ((level + trend * tf) * s * (1.0 + noise * e)).max(0.0)
        })
        .collect();
    UsageSeries {
        key: SeriesKey(vec![("series".into(), id(i))]),
        unit: "Hours".into(),
        granularity: series::Granularity::Hour,
        start: start(),
        values,
        cost: None,
        gaps_filled: 0,
    }
}
