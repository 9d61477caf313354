//! Optimizer benchmarks (no harness): prints the median of 5 runs.
//!
//! 1. One pool, 3 years hourly (26,280 h), 200 sample paths, 1y + 3y offers.
//! 2. 1,000 pools of 3 years hourly with one path each.

use std::hint::black_box;
use std::time::Instant;

use capplan::money::Currency;
use capplan::plan::{Demand, OfferChoice, PlanOptions, Pricing, optimize};
use rust_decimal::Decimal;

const T: usize = 26_280;

struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn path(rng: &mut Rng, level: f64) -> Vec<f64> {
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

fn pricing() -> Pricing {
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

fn median(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[2]
}

fn main() {
    let pr = pricing();
    let opts = PlanOptions::default();
    let mut rng = Rng(42);
    let many = Demand {
        hours: T,
        paths: (0..200).map(|_| path(&mut rng, 120.0)).collect(),
    };
    let m = median(|| {
        black_box(optimize(&many, &[], &pr, &opts).unwrap());
    });
    println!(
        "one pool, {T} h x 200 paths, 1y+3y: median {:.1} ms",
        m * 1e3
    );
    let whole = PlanOptions {
        whole_units: true,
        ..PlanOptions::default()
    };
    let m = median(|| {
        black_box(optimize(&many, &[], &pr, &whole).unwrap());
    });
    println!("  same, whole units: median {:.1} ms", m * 1e3);

    let pools: Vec<Demand> = (0..1000)
        .map(|i| Demand::single(path(&mut rng, 5.0 + (i % 50) as f64)))
        .collect();
    let m = median(|| {
        for d in &pools {
            black_box(optimize(d, &[], &pr, &opts).unwrap());
        }
    });
    println!(
        "1000 pools x {T} h x 1 path, 1y+3y: median {:.1} ms ({:.2} ms/pool)",
        m * 1e3,
        m
    );
}
