//! Optimizer benchmarks (no harness): prints the median of 5 runs.
//!
//! 1. One pool, 3 years hourly (26,280 h), 200 sample paths, 1y + 3y offers.
//! 2. 1,000 pools of 3 years hourly with one path each.

#[path = "common/pool.rs"]
mod pool;

use std::hint::black_box;
use std::time::Instant;

use capplan::plan::{Demand, PlanOptions, optimize};
use pool::{Rng, T, path, pricing};

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
