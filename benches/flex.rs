//! Flexible-commitment benchmarks (no harness): medians of 3 runs, against an LP solver
//! (good_lp + microlp, the tests' dev-dependency) measured in the same run.
//!
//! 1. One year hourly (8,760 h) × 300 SKUs × 20 paths, three plan types (an EC2-Instance-
//!    style plan on one family's SKUs, a Compute-style plan on every SKU, a Database-style
//!    plan on a third of them): the exact sweep of each plan type, and the three planned in
//!    the providers' order (each swept on what the earlier ones leave, then the bill
//!    replayed).
//!    Then the exact joint optimum of the three (`optimize_joint`, one run: its time is
//!    dominated by the cutting planes it needs).
//! 2. The same problems as LPs on growing sizes (hours × SKUs × paths), until one solve
//!    takes longer than `--lp-cap` seconds (default 600): one plan type against the sweep,
//!    three against the joint optimizer; the largest size the LP finished, and the ratio.
//!
//! `cargo bench --bench flex [-- --lp-cap 600 --skip-lp]`

// The benches' SplitMix64 (only `Rng` is used here).
#[allow(dead_code)]
#[path = "common/pool.rs"]
mod pool;

use std::hint::black_box;
use std::time::Instant;

use capplan::plan::flex::{
    Instrument, RANK_COMPUTE_PLAN, RANK_INSTANCE_PLAN, SpendPaths, optimize_joint, plan_in_order,
    refine_in_order, sweep,
};
use good_lp::{Expression, ProblemVariables, Solution, SolverModel, microlp, variable};
use pool::Rng;

/// Spend with a daily and weekly cycle per SKU, a level per path, noise and idle hours.
fn spend(rng: &mut Rng, skus: usize, hours: usize, paths: usize) -> SpendPaths {
    let level: Vec<f64> = (0..skus).map(|_| 0.2 + 5.0 * rng.unit()).collect();
    let mut v = Vec::with_capacity(skus * hours * paths);
    for _ in 0..paths {
        let scale = 0.8 + 0.4 * rng.unit();
        for t in 0..hours {
            let cycle = 1.0
                + 0.3 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()
                + if (t / 24) % 7 >= 5 { -0.2 } else { 0.0 };
            for l in &level {
                let x = l * scale * cycle * (0.7 + 0.6 * rng.unit());
                v.push(if rng.unit() < 0.05 { 0.0 } else { x.max(0.0) });
            }
        }
    }
    SpendPaths::new(skus, hours, paths, v).expect("valid spend")
}

fn plan_types(rng: &mut Rng, skus: usize) -> Vec<Instrument> {
    let base: Vec<f64> = (0..skus).map(|_| 0.55 + 0.25 * rng.unit()).collect();
    vec![
        Instrument {
            id: "ec2-instance".into(),
            rank: RANK_INSTANCE_PLAN,
            ratio: (0..skus)
                .map(|j| (j < skus / 10).then(|| base[j] - 0.1))
                .collect(),
            fee: 1.0,
        },
        Instrument {
            id: "compute".into(),
            rank: RANK_COMPUTE_PLAN,
            ratio: base.iter().map(|r| Some(*r)).collect(),
            fee: 1.0,
        },
        Instrument {
            id: "database".into(),
            rank: RANK_COMPUTE_PLAN,
            ratio: (0..skus)
                .map(|j| (j % 3 == 0).then(|| base[j] + 0.05))
                .collect(),
            fee: 1.0,
        },
    ]
}

fn median(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// The joint LP (as `tests/it/flex_verify.rs`; one plan type is the special case): its
/// optimal cost and solve time.
fn lp(d: &SpendPaths, insts: &[Instrument]) -> (f64, f64) {
    let t0 = Instant::now();
    let w = 1.0 / d.paths() as f64;
    let mut vars = ProblemVariables::new();
    let c: Vec<_> = insts
        .iter()
        .map(|_| vars.add(variable().min(0.0)))
        .collect();
    let mut obj = Expression::from(0.0);
    for (i, ck) in insts.iter().zip(&c) {
        obj += i.fee * d.hours() as f64 * *ck;
    }
    // Per hour: per instrument its (ratio, x) terms, per SKU its x terms.
    let mut cap_rows = Vec::new();
    let mut sku_rows = Vec::new();
    let mut xs = Vec::new();
    for s in 0..d.paths() {
        for t in 0..d.hours() {
            let u = d.hour(s, t);
            let mut caps: Vec<Vec<(f64, good_lp::Variable)>> = vec![Vec::new(); insts.len()];
            for (j, uj) in u.iter().enumerate() {
                let mut row = Vec::new();
                for (k, inst) in insts.iter().enumerate() {
                    if let Some(r) = inst.ratio[j]
                        && *uj > 0.0
                    {
                        let x = vars.add(variable().min(0.0).max(*uj));
                        obj -= w * x;
                        caps[k].push((r, x));
                        row.push(x);
                        xs.push(x);
                    }
                }
                if row.len() > 1 {
                    sku_rows.push((row, *uj));
                }
            }
            cap_rows.push(caps);
        }
    }
    let mut model = vars.minimise(obj).using(microlp);
    for caps in &cap_rows {
        for (k, row) in caps.iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            let mut e = Expression::from(0.0);
            for (r, x) in row {
                e += *r * *x;
            }
            model = model.with(e.leq(c[k]));
        }
    }
    for (row, uj) in &sku_rows {
        let mut e = Expression::from(0.0);
        for x in row {
            e += *x;
        }
        model = model.with(e.leq(*uj));
    }
    let sol = model.solve().expect("LP solves");
    let cost = insts
        .iter()
        .zip(&c)
        .map(|(i, ck)| i.fee * d.hours() as f64 * sol.value(*ck))
        .sum::<f64>()
        + d.expected_total()
        - xs.iter().map(|x| sol.value(*x)).sum::<f64>() * w;
    (cost, t0.elapsed().as_secs_f64())
}

/// Grows the problem until the LP takes longer than `cap` seconds; at each size the LP and
/// `ours` (median of 3), their ratio and gap. Returns the largest size the LP finished.
fn ladder(
    what: &str,
    sizes: &[(usize, usize, usize)],
    cap: f64,
    pick: impl Fn(Vec<Instrument>) -> Vec<Instrument>,
    ours: impl Fn(&SpendPaths, &[Instrument]) -> f64,
) {
    let mut last = None;
    for &(h, k, p) in sizes {
        let mut rng = Rng(7);
        let d = spend(&mut rng, k, h, p);
        let insts = pick(plan_types(&mut rng, k));
        let (lp_cost, lp_s) = lp(&d, &insts);
        let t = median(3, || {
            black_box(ours(&d, &insts));
        });
        let cost = ours(&d, &insts);
        let gap = (cost - lp_cost).abs() / lp_cost.abs().max(1.0);
        println!(
            "{what}: LP {h} h x {k} SKUs x {p} paths: LP {lp_s:.2} s, ours {t:.4} s ({:.0}x), relative gap {gap:.1e}",
            lp_s / t
        );
        last = Some((format!("{h}x{k}x{p}"), lp_s, t, gap));
        if lp_s > cap {
            break;
        }
    }
    if let Some((size, lp_s, t, gap)) = last {
        println!(
            "{what}: largest LP solved {size}: LP {lp_s:.1} s, ours {t:.4} s, {:.0}x faster, gap {gap:.1e}",
            lp_s / t
        );
    }
}

/// The LP ladder's sizes (hours, SKUs, paths).
const LADDER: &[(usize, usize, usize)] = &[
    (24, 10, 2),
    (168, 10, 2),
    (168, 30, 4),
    (720, 30, 4),
    (720, 100, 4),
    (2190, 100, 8),
    (8760, 100, 8),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lp_cap: f64 = args
        .iter()
        .position(|a| a == "--lp-cap")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(600.0);
    let skip_lp = args.iter().any(|a| a == "--skip-lp");
    let mut rng = Rng(42);

    let (h, k, p) = (8760, 300, 20);
    let d = spend(&mut rng, k, h, p);
    let types = plan_types(&mut rng, k);
    for inst in &types {
        let m = median(3, || {
            black_box(sweep(&d, inst).unwrap());
        });
        println!(
            "sweep {:>12}: {h} h x {k} SKUs x {p} paths: median {m:.2} s",
            inst.id
        );
    }
    let m = median(3, || {
        black_box(plan_in_order(&d, &types).unwrap());
    });
    println!("three plan types in the providers' order (sweeps + replay): median {m:.2} s");
    let t0 = Instant::now();
    let j = optimize_joint(&d, &types).unwrap();
    let (_, in_order) = plan_in_order(&d, &types).unwrap();
    println!(
        "three plan types, exact joint optimum: {:.2} s ({} cutting planes, certified gap {:.1e}); optimum {:.2}, its commitments billed in the providers' order {:.2}, the order plan's bill {:.2}",
        t0.elapsed().as_secs_f64(),
        j.iterations,
        j.gap(),
        j.cost,
        j.bill.cost,
        in_order.cost
    );
    // Coordinate descent on the bill: every step replays it, so it is timed on a tenth of
    // the hours.
    let small = spend(&mut rng, k, h / 10, p);
    let (_, bill0) = plan_in_order(&small, &types).unwrap();
    let mut order: Vec<usize> = (0..types.len()).collect();
    order.sort_by_key(|&m| types[m].rank);
    let mut c0 = vec![0.0; types.len()];
    for (line, &m) in bill0.lines.iter().zip(&order) {
        c0[m] = line.commitment;
    }
    let t0 = Instant::now();
    let (_, refined) = refine_in_order(&small, &types, &c0, 8).unwrap();
    println!(
        "refine_in_order, {} h x {k} SKUs x {p} paths, three plan types: {:.1} s, bill {:.2} -> {:.2} ({:+.3} %)",
        h / 10,
        t0.elapsed().as_secs_f64(),
        bill0.cost,
        refined,
        100.0 * (refined - bill0.cost) / bill0.cost
    );

    if skip_lp {
        return;
    }
    // LP baselines on growing sizes: one plan type (the compute plan) against the sweep,
    // then the three plan types against the exact joint optimizer.
    ladder(
        "one plan type (sweep)",
        LADDER,
        lp_cap,
        |mut t| vec![t.swap_remove(1)],
        |d, i| sweep(d, &i[0]).unwrap().optimum.cost,
    );
    ladder(
        "three plan types (joint)",
        LADDER,
        lp_cap,
        |t| t,
        |d, i| optimize_joint(d, i).unwrap().cost,
    );
}
