//! The synthetic benchmark companies: hourly instance counts per (region × instance type) pool,
//! built from a demand shape, a business diurnal/weekly cycle and seeded noise.
//!
//! Nine companies of two years (2024-01-01 to 2026-01-01, decided at the default quarter
//! starts 2024-07-01, 2024-10-01 and 2025-01-01) and a SaaS company of three years (decided
//! 2024-01-01, 2024-07-01 and 2025-01-01):
//!
//! | company | shape |
//! |---|---|
//! | `steady-growth` | +30–45 %/year, smooth |
//! | `from-zero` | nothing for 2 and 7 months, then growth |
//! | `decline` | −35 to −42 %/year |
//! | `migration` | m5 → m7i, region by region: gradual in us-east-1 (Apr–Oct 2024), sudden in eu-west-1 (2024-11-15) and in ap-southeast-1 (2025-04-01, after every decision) |
//! | `seasonal` | yearly seasonality (winter peak ×1.6, summer peak ×1.4) |
//! | `batch` | bursty batch jobs on a small base, nightly and weekly batches |
//! | `high-season` | a yearly high season at 10–100× the base (tax filing; holiday shopping) |
//! | `launch` | a launch step (×10 on 2024-10-15; EU launch 2025-02-01, after the decisions) |
//! | `collapse` | a sudden drop (2025-03-10 to 17 %; a second pool to 10 % on 2024-09-01) |
//! | `saas` | 11 pools in 4 regions over 3 years: steady growth, an m5 → m6i migration (gradual, sudden, and sudden after a decision), pools that ramped up 1–3 months before a decision date |

use std::f64::consts::PI;

use crate::model::{
    Company, PoolDef, When, company, cycle, date, day, days_to, hash01, noise, ramp,
};

/// Start of the two-year companies.
fn start2() -> chrono::DateTime<chrono::Utc> {
    day(2024, 1, 1)
}

/// Days of the two-year companies (2024 is a leap year: 2024-01-01 to 2026-01-01).
const DAYS2: usize = 731;

/// Multiplicative noise `1 + sd × N(0, 1)` of pool `seed` at the hour.
fn jitter(seed: u64, w: &When, sd: f64) -> f64 {
    1.0 + sd * noise(seed, w.i)
}

/// Every synthetic company, in table order.
pub fn all() -> anyhow::Result<Vec<Company>> {
    Ok(vec![
        steady_growth()?,
        from_zero()?,
        decline()?,
        migration()?,
        seasonal()?,
        batch()?,
        high_season()?,
        launch()?,
        collapse()?,
        saas()?,
    ])
}

fn steady_growth() -> anyhow::Result<Company> {
    company(
        "steady-growth",
        "steady growth",
        start2(),
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "m6i.large", "0.096", |w| {
                40.0 * (1.0 + 0.45 * w.d / 365.0) * cycle(w, 0.5) * jitter(11, w, 0.05)
            }),
            PoolDef::new("eu-west-1", "m6i.xlarge", "0.214", |w| {
                12.0 * (1.0 + 0.30 * w.d / 365.0) * cycle(w, 0.3) * jitter(12, w, 0.05)
            }),
        ],
        vec![],
    )
}

fn from_zero() -> anyhow::Result<Company> {
    company(
        "from-zero",
        "growth from zero",
        start2(),
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "c6i.large", "0.085", |w| {
                let g = ((w.d - 60.0).max(0.0) / 670.0).powf(1.3);
                120.0 * g * cycle(w, 0.4) * jitter(21, w, 0.06)
            }),
            PoolDef::new("us-west-2", "c6i.xlarge", "0.17", |w| {
                30.0 * ramp(w.d, 200.0, 731.0) * cycle(w, 0.3) * jitter(22, w, 0.06)
            }),
        ],
        vec![],
    )
}

fn decline() -> anyhow::Result<Company> {
    company(
        "decline",
        "decline",
        start2(),
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "m5.large", "0.096", |w| {
                80.0 * (-0.55 * w.d / 365.0).exp() * cycle(w, 0.4) * jitter(31, w, 0.05)
            }),
            PoolDef::new("ap-southeast-1", "m5.xlarge", "0.24", |w| {
                25.0 * (1.0 - 0.35 * w.d / 365.0) * cycle(w, 0.3) * jitter(32, w, 0.05)
            }),
        ],
        vec![],
    )
}

fn migration() -> anyhow::Result<Company> {
    let s = start2();
    // (region, total instances at the start, new-type share from, to (days)).
    let regions: [(&'static str, f64, f64, f64); 3] = [
        (
            "us-east-1",
            60.0,
            days_to(s, 2024, 4, 1),
            days_to(s, 2024, 10, 1),
        ),
        (
            "eu-west-1",
            30.0,
            days_to(s, 2024, 11, 15),
            days_to(s, 2024, 11, 15),
        ),
        (
            "ap-southeast-1",
            20.0,
            days_to(s, 2025, 4, 1),
            days_to(s, 2025, 4, 1),
        ),
    ];
    let mut pools = Vec::new();
    for (k, (region, base, from, to)) in regions.into_iter().enumerate() {
        let seed = 40 + 2 * k as u64;
        let total = move |w: &When| base * (1.0 + 0.15 * w.d / 365.0) * cycle(w, 0.4);
        pools.push(PoolDef::new(region, "m5.xlarge", "0.192", move |w| {
            total(w) * (1.0 - ramp(w.d, from, to)) * jitter(seed, w, 0.05)
        }));
        pools.push(PoolDef::new(region, "m7i.xlarge", "0.2016", move |w| {
            total(w) * ramp(w.d, from, to) * jitter(seed + 1, w, 0.05)
        }));
    }
    company(
        "migration",
        "type migration m5 → m7i by region",
        s,
        DAYS2,
        pools,
        vec![],
    )
}

fn seasonal() -> anyhow::Result<Company> {
    company(
        "seasonal",
        "yearly seasonality",
        start2(),
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "m6i.large", "0.096", |w| {
                let season = (2.0 * PI * (w.doy as f64 - 345.0) / 365.0).cos();
                50.0 * (1.0 + 0.1 * w.d / 365.0)
                    * (1.3 + 0.3 * season)
                    * cycle(w, 0.5)
                    * jitter(51, w, 0.05)
            }),
            PoolDef::new("eu-west-1", "r6i.large", "0.141", |w| {
                let season = (2.0 * PI * (w.doy as f64 - 80.0) / 365.0).sin();
                20.0 * (1.0 + 0.4 * season) * cycle(w, 0.3) * jitter(52, w, 0.05)
            }),
        ],
        vec![],
    )
}

/// Instances added at hour `i` by jobs started in the last `len` hours with probability `p`
/// per hour, each of 20 + `size` × U(0, 1) instances.
fn jobs(seed: u64, i: u64, p: f64, len: u64, size: f64) -> f64 {
    (0..len.min(i + 1))
        .map(|k| {
            let h = i - k;
            if hash01(seed, h) < p {
                20.0 + size * hash01(seed + 1, h)
            } else {
                0.0
            }
        })
        .sum()
}

fn batch() -> anyhow::Result<Company> {
    company(
        "batch",
        "spiky batch demand",
        start2(),
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "c6i.4xlarge", "0.68", |w| {
                let nightly = if (2..6).contains(&w.hour) { 15.0 } else { 0.0 };
                4.0 * jitter(61, w, 0.1) + nightly + jobs(62, w.i, 0.02, 8, 60.0)
            }),
            PoolDef::new("us-west-2", "c6i.2xlarge", "0.34", |w| {
                let weekly = if w.weekday == 6 && (8..18).contains(&w.hour) {
                    30.0
                } else {
                    0.0
                };
                10.0 * cycle(w, 0.4) * jitter(63, w, 0.08) + weekly + jobs(64, w.i, 0.01, 5, 40.0)
            }),
        ],
        vec![],
    )
}

fn high_season() -> anyhow::Result<Company> {
    company(
        "high-season",
        "yearly high season 10–100× base",
        start2(),
        DAYS2,
        vec![
            // Tax filing: 20 March – 15 April, rising from 10× to 40× the base with the
            // deadline days (14–15 April) at 100×.
            PoolDef::new("us-east-1", "m6i.large", "0.096", |w| {
                let base = 8.0 * cycle(w, 0.3) * jitter(71, w, 0.05);
                let doy = w.doy as f64;
                let (a, b) = (79.0, 105.0); // 20 March .. 15 April (2024 shifts by one day)
                let mult = if (a..=b).contains(&doy) {
                    if doy >= b - 1.0 {
                        100.0
                    } else {
                        10.0 + 30.0 * (doy - a) / (b - a)
                    }
                } else {
                    1.0
                };
                let spike = if mult > 1.0 { cycle(w, 0.9) } else { 1.0 };
                base * mult * spike
            }),
            // Holiday shopping: Black Friday week to Christmas at 10–20×.
            PoolDef::new("eu-west-1", "m6i.large", "0.107", |w| {
                let base = 5.0 * cycle(w, 0.4) * jitter(72, w, 0.05);
                let doy = w.doy as f64;
                let mult = if (328.0..360.0).contains(&doy) {
                    10.0 + 10.0 * hash01(73, w.i / 24)
                } else {
                    1.0
                };
                base * mult
            }),
        ],
        vec![],
    )
}

fn launch() -> anyhow::Result<Company> {
    let s = start2();
    let go = days_to(s, 2024, 10, 15);
    let eu = days_to(s, 2025, 2, 1);
    company(
        "launch",
        "launch step",
        s,
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "m6i.xlarge", "0.192", move |w| {
                let level = if w.d < go {
                    6.0
                } else {
                    60.0 * (1.0 + 0.2 * (w.d - go) / 365.0)
                };
                level * cycle(w, 0.4) * jitter(81, w, 0.05)
            }),
            PoolDef::new("eu-west-1", "m6i.xlarge", "0.214", move |w| {
                let level = if w.d < eu { 2.0 } else { 25.0 };
                level * cycle(w, 0.4) * jitter(82, w, 0.05)
            }),
        ],
        vec![],
    )
}

fn collapse() -> anyhow::Result<Company> {
    let s = start2();
    let churn = days_to(s, 2025, 3, 10);
    let stop = days_to(s, 2024, 9, 1);
    company(
        "collapse",
        "sudden drop",
        s,
        DAYS2,
        vec![
            PoolDef::new("us-east-1", "m5.2xlarge", "0.384", move |w| {
                let level = if w.d < churn {
                    70.0 * (1.0 + 0.05 * w.d / 365.0)
                } else {
                    12.0
                };
                level * cycle(w, 0.3) * jitter(91, w, 0.04)
            }),
            PoolDef::new("us-east-1", "c5.xlarge", "0.17", move |w| {
                let level = if w.d < stop { 30.0 } else { 3.0 };
                level * cycle(w, 0.3) * jitter(92, w, 0.05)
            }),
        ],
        vec![],
    )
}

/// The SaaS company: 11 pools, 3 years, decided 2024-01-01, 2024-07-01 and 2025-01-01.
fn saas() -> anyhow::Result<Company> {
    let s = day(2023, 1, 1);
    let t = move |y, m, d| days_to(s, y, m, d);
    // Growth of the whole product: +35 %/year.
    let g = |w: &When| 1.0 + 0.35 * w.d / 365.0;
    // m5 → m6i shares: us-east-1 gradual over 2023-09..2024-03; us-west-2 sudden on
    // 2024-09-15; eu-west-1 sudden on 2025-03-01 (two months after the last decision).
    let (ue_a, ue_b) = (t(2023, 9, 1), t(2024, 3, 1));
    let uw = t(2024, 9, 15);
    let eu = t(2025, 3, 1);
    // Ramps that end 1–3 months before a decision: ap-southeast-1 c6i from 2024-04-01 to
    // 2024-05-01 (2 months before 2024-07-01), m6i from 2024-10-15 to 2024-11-20 (6 weeks
    // before 2025-01-01); us-east-1 r6i doubles from 2023-10-01 to 2023-11-01 (2 months before
    // 2024-01-01).
    let (ap_c_a, ap_c_b) = (t(2024, 4, 1), t(2024, 5, 1));
    let (ap_m_a, ap_m_b) = (t(2024, 10, 15), t(2024, 11, 20));
    let (ue_r_a, ue_r_b) = (t(2023, 10, 1), t(2023, 11, 1));
    let pools = vec![
        PoolDef::new("us-east-1", "m5.xlarge", "0.192", move |w| {
            80.0 * g(w) * (1.0 - ramp(w.d, ue_a, ue_b)) * cycle(w, 0.5) * jitter(101, w, 0.04)
        }),
        PoolDef::new("us-east-1", "m6i.xlarge", "0.192", move |w| {
            80.0 * g(w) * ramp(w.d, ue_a, ue_b) * cycle(w, 0.5) * jitter(102, w, 0.04)
        }),
        PoolDef::new("us-east-1", "c6i.2xlarge", "0.34", move |w| {
            25.0 * g(w) * cycle(w, 0.6) * jitter(103, w, 0.06)
        }),
        PoolDef::new("us-east-1", "r6i.large", "0.126", move |w| {
            12.0 * (1.0 + ramp(w.d, ue_r_a, ue_r_b)) * g(w) * cycle(w, 0.2) * jitter(104, w, 0.03)
        }),
        PoolDef::new("us-west-2", "m5.xlarge", "0.192", move |w| {
            30.0 * g(w) * (1.0 - ramp(w.d, uw, uw)) * cycle(w, 0.5) * jitter(105, w, 0.05)
        }),
        PoolDef::new("us-west-2", "m6i.xlarge", "0.192", move |w| {
            30.0 * g(w) * ramp(w.d, uw, uw) * cycle(w, 0.5) * jitter(106, w, 0.05)
        }),
        PoolDef::new("us-west-2", "c6i.2xlarge", "0.34", move |w| {
            10.0 * g(w) * cycle(w, 0.6) * jitter(107, w, 0.08)
        }),
        PoolDef::new("eu-west-1", "m5.xlarge", "0.214", move |w| {
            35.0 * g(w) * (1.0 - ramp(w.d, eu, eu)) * cycle(w, 0.5) * jitter(108, w, 0.05)
        }),
        PoolDef::new("eu-west-1", "m6i.xlarge", "0.214", move |w| {
            35.0 * g(w) * ramp(w.d, eu, eu) * cycle(w, 0.5) * jitter(109, w, 0.05)
        }),
        PoolDef::new("ap-southeast-1", "m6i.xlarge", "0.24", move |w| {
            18.0 * ramp(w.d, ap_m_a, ap_m_b) * g(w) * cycle(w, 0.5) * jitter(110, w, 0.05)
        }),
        PoolDef::new("ap-southeast-1", "c6i.2xlarge", "0.392", move |w| {
            14.0 * ramp(w.d, ap_c_a, ap_c_b) * g(w) * cycle(w, 0.6) * jitter(111, w, 0.06)
        }),
    ];
    company(
        "saas",
        "SaaS: 11 region × type pools, migration, ramps",
        s,
        1096,
        pools,
        vec![date(2024, 1, 1), date(2024, 7, 1), date(2025, 1, 1)],
    )
}
