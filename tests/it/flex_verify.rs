//! Verification of the flexible-commitment planner (`plan::flex`): the exact sweep of one plan
//! type against a general LP solver (good_lp + microlp) and brute force, and the
//! provider-order plan of several instruments against the joint LP (a lower bound on any
//! plan).

use capplan::plan::flex::{
    Instrument, RANK_COMPUTE_PLAN, RANK_INSTANCE_PLAN, RANK_RESERVATION, SpendPaths, evaluate,
    optimize_joint, optimize_joint_within, plan_in_order, refine_in_order, replay, sweep,
};
use good_lp::{Expression, ProblemVariables, Solution, SolverModel, microlp, variable};

use super::common::Rng;

/// Random spend: SKUs with different levels, a daily-ish cycle, zeros and bursts.
fn spend(rng: &mut Rng, skus: usize, hours: usize, paths: usize) -> SpendPaths {
    let levels: Vec<f64> = (0..skus).map(|_| 0.5 + 9.5 * rng.unit()).collect();
    let mut v = Vec::with_capacity(skus * hours * paths);
    for _ in 0..paths {
        let scale = 0.7 + 0.6 * rng.unit();
        for t in 0..hours {
            for lvl in &levels {
                let x = if rng.below(8) == 0 {
                    0.0
                } else {
                    lvl * scale * (1.0 + 0.4 * (t as f64 * 0.9).sin()) * (0.6 + 0.8 * rng.unit())
                        + if rng.below(12) == 0 {
                            5.0 * rng.unit()
                        } else {
                            0.0
                        }
                };
                v.push(x.max(0.0));
            }
        }
    }
    SpendPaths::new(skus, hours, paths, v).unwrap()
}

fn instrument(rng: &mut Rng, id: &str, rank: u8, skus: usize, eligible: f64) -> Instrument {
    let mut ratio: Vec<Option<f64>> = (0..skus)
        .map(|_| (rng.unit() < eligible).then(|| 0.3 + 0.65 * rng.unit()))
        .collect();
    if ratio.iter().all(Option::is_none) {
        ratio[rng.below(skus as u64) as usize] = Some(0.3 + 0.65 * rng.unit());
    }
    Instrument {
        id: id.into(),
        rank,
        ratio,
        fee: if rng.below(3) == 0 {
            1.0 + 0.3 * rng.unit()
        } else {
            1.0
        },
    }
}

/// The joint LP: commitments C_k ≥ 0 and allocations x[k,s,t,j] ≥ 0 with
/// Σ_k x ≤ u[s,t,j] and Σ_j r_kj x[k,s,t,j] ≤ C_k; minimise Σ_k fee_k·W·C_k + E[Σ (U − Σ x)].
fn lp(d: &SpendPaths, insts: &[Instrument]) -> f64 {
    lp_with(d, insts).0
}

/// The joint LP's cost and commitments.
fn lp_with(d: &SpendPaths, insts: &[Instrument]) -> (f64, Vec<f64>) {
    lp_within(d, insts, &vec![(0.0, f64::INFINITY); insts.len()])
}

/// The joint LP with each commitment within `bounds` (held commitments fixed).
fn lp_within(d: &SpendPaths, insts: &[Instrument], bounds: &[(f64, f64)]) -> (f64, Vec<f64>) {
    let w = 1.0 / d.paths() as f64;
    let big_w = d.hours() as f64; // the paths' weights sum to 1 per hour
    let mut vars = ProblemVariables::new();
    let c: Vec<_> = bounds
        .iter()
        .map(|&(lo, hi)| {
            if hi.is_finite() {
                vars.add(variable().min(lo).max(hi))
            } else {
                vars.add(variable().min(lo))
            }
        })
        .collect();
    let mut obj = Expression::from(0.0);
    for (k, i) in insts.iter().enumerate() {
        obj += i.fee * big_w * c[k];
    }
    // x per (k, s, t, j) for eligible, non-zero cells.
    let mut cells = Vec::new();
    for s in 0..d.paths() {
        for t in 0..d.hours() {
            let u = d.hour(s, t);
            for (k, i) in insts.iter().enumerate() {
                for (j, r) in i.ratio.iter().enumerate() {
                    if let Some(r) = r
                        && u[j] > 0.0
                    {
                        let v = vars.add(variable().min(0.0).max(u[j]));
                        cells.push((k, s, t, j, *r, v));
                    }
                }
            }
        }
    }
    for cell in &cells {
        obj -= w * cell.5;
    }
    let mut model = vars.minimise(obj).using(microlp);
    for s in 0..d.paths() {
        for t in 0..d.hours() {
            let u = d.hour(s, t);
            for (j, uj) in u.iter().enumerate() {
                let mut e = Expression::from(0.0);
                let mut any = false;
                for cell in cells.iter().filter(|x| x.1 == s && x.2 == t && x.3 == j) {
                    e += cell.5;
                    any = true;
                }
                if any {
                    model = model.with(e.leq(*uj));
                }
            }
            for (k, ck) in c.iter().enumerate() {
                let mut e = Expression::from(0.0);
                let mut any = false;
                for cell in cells.iter().filter(|x| x.0 == k && x.1 == s && x.2 == t) {
                    e += cell.4 * cell.5;
                    any = true;
                }
                if any {
                    model = model.with(e.leq(*ck));
                }
            }
        }
    }
    let sol = model.solve().expect("LP solves");
    let cs: Vec<f64> = c.iter().map(|&v| sol.value(v)).collect();
    let xs: f64 = cells.iter().map(|cell| sol.value(cell.5)).sum::<f64>() * w;
    let cost = insts
        .iter()
        .zip(&cs)
        .map(|(i, ck)| i.fee * big_w * ck)
        .sum::<f64>()
        + d.expected_total()
        - xs;
    (cost, cs)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn one_plan_type_sweep_equals_the_lp_on_200_instances() {
    let mut rng = Rng(2026);
    let mut worst = 0.0_f64;
    for n in 0..200 {
        let skus = 1 + rng.below(6) as usize;
        let hours = 3 + rng.below(22) as usize;
        let paths = 1 + rng.below(3) as usize;
        let d = spend(&mut rng, skus, hours, paths);
        let i = instrument(&mut rng, "sp", RANK_COMPUTE_PLAN, skus, 0.8);
        let s = sweep(&d, &i).unwrap();
        let opt = lp(&d, std::slice::from_ref(&i));
        let gap = rel(s.optimum.cost, opt);
        worst = worst.max(gap);
        assert!(
            gap <= 1e-6,
            "instance {n}: sweep {} vs LP {opt} (gap {gap:e})",
            s.optimum.cost
        );
        // The reported optimum is what the bill replay charges for it.
        let r = replay(&d, &[(&i, s.optimum.commitment)]).unwrap();
        assert!(rel(r.cost, s.optimum.cost) <= 1e-9);
    }
    eprintln!("one plan type: worst relative gap to the LP over 200 instances {worst:e}");
}

#[test]
fn sweep_is_never_beaten_by_brute_force_on_tiny_instances() {
    let mut rng = Rng(7);
    for _ in 0..50 {
        let skus = 1 + rng.below(3) as usize;
        let (hours, paths) = (1 + rng.below(5) as usize, 1 + rng.below(2) as usize);
        let d = spend(&mut rng, skus, hours, paths);
        let i = instrument(&mut rng, "sp", RANK_COMPUTE_PLAN, skus, 0.9);
        let s = sweep(&d, &i).unwrap();
        let top = s.curve.last().unwrap().commitment;
        for k in 0..=2000 {
            let e = evaluate(&d, &i, top * k as f64 / 2000.0);
            assert!(
                s.optimum.cost <= e.cost + 1e-9,
                "{:?} beaten by {e:?}",
                s.optimum
            );
        }
    }
}

#[test]
fn cover_everything_candidates_miss_the_optimum_when_discounts_differ() {
    // Two SKUs, one deep (ratio 0.4) and one shallow (0.9), constant spend 10 and 10.
    // The optimum covers only the deep SKU (C = 4); the hours' cover-everything amount
    // (C = 13) costs more, and so does nothing.
    let d = SpendPaths::new(2, 4, 1, vec![10.0; 8]).unwrap();
    let i = Instrument {
        id: "sp".into(),
        rank: RANK_COMPUTE_PLAN,
        ratio: vec![Some(0.4), Some(0.9)],
        fee: 1.0,
    };
    let s = sweep(&d, &i).unwrap();
    assert!(
        (s.optimum.commitment - 13.0).abs() < 1e-9,
        "{:?}",
        s.optimum
    );
    // With fee 1 the shallow SKU still saves 10 % per covered dollar, so here everything
    // is covered; make the shallow SKU not worth it by a fee above 1 / 0.9 (a 3-year term
    // priced on a shorter horizon, say).
    let dear = Instrument { fee: 1.15, ..i };
    let s = sweep(&d, &dear).unwrap();
    assert!((s.optimum.commitment - 4.0).abs() < 1e-9, "{:?}", s.optimum);
    let all = evaluate(&d, &dear, 13.0);
    assert!(
        all.cost > s.optimum.cost + 1.0,
        "{all:?} vs {:?}",
        s.optimum
    );
}

#[test]
fn instruments_in_provider_order_against_the_joint_lp() {
    let mut rng = Rng(15);
    let (mut gaps, mut disjoint_checked) = (Vec::new(), 0);
    let mut lp_replay_gaps = Vec::new();
    let mut refined_gaps = Vec::new();
    for n in 0..200 {
        let skus = 2 + rng.below(4) as usize;
        let hours = 3 + rng.below(12) as usize;
        let paths = 1 + rng.below(2) as usize;
        let d = spend(&mut rng, skus, hours, paths);
        let k = 2 + rng.below(2) as usize;
        let disjoint = rng.below(4) == 0;
        let mut insts: Vec<Instrument> = (0..k)
            .map(|m| {
                let rank = [RANK_RESERVATION, RANK_INSTANCE_PLAN, RANK_COMPUTE_PLAN][m % 3];
                instrument(&mut rng, &format!("i{m}"), rank, skus, 0.7)
            })
            .collect();
        if disjoint {
            // Each SKU eligible for one instrument at most: the problem separates and the
            // order plan is the joint optimum.
            for j in 0..skus {
                let keep = j % k;
                for (m, i) in insts.iter_mut().enumerate() {
                    if m != keep {
                        i.ratio[j] = None;
                    }
                }
            }
            if insts.iter().any(|i| i.ratio.iter().all(Option::is_none)) {
                continue;
            }
        }
        let (_, bill) = plan_in_order(&d, &insts).unwrap();
        let (bound, lp_c) = lp_with(&d, &insts);
        let at_lp: Vec<(&Instrument, f64)> =
            insts.iter().zip(lp_c.iter().map(|c| c.max(0.0))).collect();
        let lp_billed = replay(&d, &at_lp).unwrap().cost;
        lp_replay_gaps.push((lp_billed - bound) / bound.max(1.0));
        let start: Vec<f64> = bill.lines.iter().map(|l| l.commitment).collect();
        // `bill.lines` are in application order; map back to the instruments' order.
        let mut order: Vec<usize> = (0..insts.len()).collect();
        order.sort_by_key(|&m| insts[m].rank);
        let mut c0 = vec![0.0; insts.len()];
        for (line, &m) in start.iter().zip(&order) {
            c0[m] = *line;
        }
        let (_, refined) = refine_in_order(&d, &insts, &c0, 8).unwrap();
        assert!(refined <= bill.cost + 1e-9 * bill.cost.abs().max(1.0));
        assert!(refined >= bound - 1e-6 * bound.abs().max(1.0));
        refined_gaps.push((refined - bound) / bound.max(1.0));
        let gap = (bill.cost - bound) / bound.max(1.0);
        assert!(
            gap >= -1e-6,
            "instance {n}: the order plan's bill {} is below the LP bound {bound}",
            bill.cost
        );
        if disjoint {
            assert!(gap <= 1e-6, "instance {n}: separable, yet gap {gap:e}");
            disjoint_checked += 1;
        }
        // Never worse than buying nothing.
        assert!(bill.cost <= d.expected_total() + 1e-9);
        gaps.push(gap);
    }
    gaps.sort_by(f64::total_cmp);
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    eprintln!(
        "order plan vs joint LP over {} instances ({disjoint_checked} separable): mean gap {:.4} %, median {:.4} %, max {:.4} %",
        gaps.len(),
        100.0 * mean,
        100.0 * gaps[gaps.len() / 2],
        100.0 * gaps[gaps.len() - 1]
    );
    refined_gaps.sort_by(f64::total_cmp);
    eprintln!(
        "refined in the providers' order (coordinate descent on the bill): mean gap {:.4} %, median {:.4} %, max {:.4} %",
        100.0 * refined_gaps.iter().sum::<f64>() / refined_gaps.len() as f64,
        100.0 * refined_gaps[refined_gaps.len() / 2],
        100.0 * refined_gaps[refined_gaps.len() - 1]
    );
    lp_replay_gaps.sort_by(f64::total_cmp);
    eprintln!(
        "the LP's commitments billed in the providers' order: mean gap {:.4} %, median {:.4} %",
        100.0 * lp_replay_gaps.iter().sum::<f64>() / lp_replay_gaps.len() as f64,
        100.0 * lp_replay_gaps[lp_replay_gaps.len() / 2]
    );
    assert!(disjoint_checked >= 20);
}

/// The exact joint optimizer against the LP solver: 240 random instances of two to four
/// plan types (reservations, instance and compute plans; 1y fees and 3y-on-a-shorter-horizon
/// fees), SKUs with different discounts, one to three paths, a third of them with a
/// commitment already held (fixed in both) and a fifth with a cap on a purchase.
#[test]
fn joint_optimizer_equals_the_lp_on_240_instances() {
    let mut rng = Rng(1515);
    let (mut worst, mut iters, mut held_n, mut capped_n) = (0.0_f64, Vec::new(), 0, 0);
    for n in 0..240 {
        let skus = 2 + rng.below(4) as usize;
        let hours = 3 + rng.below(14) as usize;
        let paths = 1 + rng.below(3) as usize;
        let d = spend(&mut rng, skus, hours, paths);
        let k = 2 + rng.below(3) as usize;
        let insts: Vec<Instrument> = (0..k)
            .map(|m| {
                let rank = [RANK_RESERVATION, RANK_INSTANCE_PLAN, RANK_COMPUTE_PLAN][m % 3];
                let eligible = [0.4, 0.7, 1.0][m % 3];
                instrument(&mut rng, &format!("i{m}"), rank, skus, eligible)
            })
            .collect();
        let mut bounds = vec![(0.0, f64::INFINITY); k];
        if rng.below(3) == 0 {
            let m = rng.below(k as u64) as usize;
            let held = 3.0 * rng.unit();
            bounds[m] = (held, held);
            held_n += 1;
        }
        if rng.below(5) == 0 {
            let m = rng.below(k as u64) as usize;
            if bounds[m].0 == 0.0 {
                bounds[m] = (0.0, 2.0 * rng.unit());
                capped_n += 1;
            }
        }
        let j = optimize_joint_within(&d, &insts, &bounds).unwrap();
        let (opt, _) = lp_within(&d, &insts, &bounds);
        let gap = rel(j.cost, opt);
        worst = worst.max(gap);
        assert!(
            gap <= 1e-6,
            "instance {n}: joint {} vs LP {opt} (gap {gap:e}, certified {:e}, {} iterations)",
            j.cost,
            j.gap(),
            j.iterations
        );
        assert!(j.gap() <= 1e-9, "instance {n}: not converged {j:?}");
        for (c, (lo, hi)) in j.commitments.iter().zip(&bounds) {
            assert!(
                *c >= *lo - 1e-12 && *c <= *hi + 1e-12,
                "{c} outside ({lo}, {hi})"
            );
        }
        // The providers' bill of the same commitments can only be higher.
        assert!(j.bill.cost >= j.cost - 1e-9 * j.cost.abs().max(1.0));
        iters.push(j.iterations);
    }
    iters.sort_unstable();
    eprintln!(
        "joint optimizer vs LP over 240 instances ({held_n} with a held commitment, {capped_n} capped): worst relative gap {worst:e}; cutting-plane iterations median {}, max {}",
        iters[iters.len() / 2],
        iters[iters.len() - 1]
    );
    assert!(held_n >= 40 && capped_n >= 20);
}

/// Brute force on tiny instances: no point of a grid over two commitments beats the joint
/// optimum's allocation-free cost.
#[test]
fn joint_optimum_is_never_beaten_on_a_grid() {
    let mut rng = Rng(99);
    for _ in 0..20 {
        let skus = 2 + rng.below(2) as usize;
        let hours = 2 + rng.below(4) as usize;
        let d = spend(&mut rng, skus, hours, 1);
        let insts = [
            instrument(&mut rng, "ri", RANK_RESERVATION, skus, 0.5),
            instrument(&mut rng, "sp", RANK_COMPUTE_PLAN, skus, 1.0),
        ];
        let j = optimize_joint(&d, &insts).unwrap();
        for a in 0..=30 {
            for b in 0..=30 {
                let bounds = [
                    (a as f64 * 0.4, a as f64 * 0.4),
                    (b as f64 * 0.6, b as f64 * 0.6),
                ];
                let at = optimize_joint_within(&d, &insts, &bounds).unwrap();
                assert!(
                    at.cost >= j.cost - 1e-9,
                    "{bounds:?}: {} < {}",
                    at.cost,
                    j.cost
                );
            }
        }
    }
}

/// A daily bill hides the intra-day troughs: a plan sized on daily means commits more than
/// one sized on the hours, and costs more on the hours it is billed on. Measured on the demo
/// bill's EC2 and Lambda list cost (the 8 weeks before 2026-10-01, Compute-Savings-Plan-like
/// discounts: 28 % on EC2, 16 % on Lambda).
#[test]
fn sizing_on_daily_means_over_commits() {
    use capplan::ingest::{self, AggregateOptions, InputOptions, Measure};
    use capplan::series::Granularity;
    let bill = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/focus.parquet");
    let loaded = ingest::load(&InputOptions {
        inputs: vec![bill.display().to_string()],
        ..InputOptions::default()
    })
    .unwrap();
    let agg = loaded
        .aggregate(&AggregateOptions {
            by: vec!["service".into(), "region".into(), "instance_type".into()],
            granularity: Some(Granularity::Hour),
            filters: Vec::new(),
            measure: Measure::ListCost,
        })
        .unwrap();
    let skus: Vec<_> = agg
        .series
        .iter()
        .filter(|s| {
            s.key
                .0
                .iter()
                .any(|(_, v)| v == "Amazon Elastic Compute Cloud" || v == "AWS Lambda")
        })
        .collect();
    let hours = 8 * 7 * 24;
    let hourly: Vec<f64> = (0..hours)
        .flat_map(|t| {
            skus.iter()
                .map(move |s| s.values[s.values.len() - hours + t])
        })
        .collect();
    // The same spend as a daily bill shows it: each day's mean in each of its hours.
    let mut daily = hourly.clone();
    for day in 0..hours / 24 {
        for j in 0..skus.len() {
            let mean = (0..24)
                .map(|h| hourly[(day * 24 + h) * skus.len() + j])
                .sum::<f64>()
                / 24.0;
            for h in 0..24 {
                daily[(day * 24 + h) * skus.len() + j] = mean;
            }
        }
    }
    let inst = Instrument {
        id: "compute".into(),
        rank: RANK_COMPUTE_PLAN,
        ratio: skus
            .iter()
            .map(|s| {
                let lambda = s.key.0.iter().any(|(_, v)| v == "AWS Lambda");
                Some(if lambda { 0.84 } else { 0.72 })
            })
            .collect(),
        fee: 1.0,
    };
    let h = SpendPaths::new(skus.len(), hours, 1, hourly).unwrap();
    let d = SpendPaths::new(skus.len(), hours, 1, daily).unwrap();
    let on_hours = sweep(&h, &inst).unwrap().optimum;
    let on_days = sweep(&d, &inst).unwrap().optimum;
    let billed = evaluate(&h, &inst, on_days.commitment);
    eprintln!(
        "daily sizing: commits {:.3}/h against {:.3}/h on the hours (+{:.1} %); billed on the hours it saves {:.2} instead of {:.2} (−{:.1} %)",
        on_days.commitment,
        on_hours.commitment,
        100.0 * (on_days.commitment / on_hours.commitment - 1.0),
        billed.savings,
        on_hours.savings,
        100.0 * (1.0 - billed.savings / on_hours.savings)
    );
    assert!(on_days.commitment > on_hours.commitment);
    assert!(billed.cost > on_hours.cost);
}
