//! Decision quality on a benchmark of companies (issue 14, item 1): a development benchmark,
//! not part of `cargo test`.
//!
//! Every company (synthetic ones from [`companies`], real-series ones from [`real_series`])
//! has a rate card built in code and two or three years of hourly demand per pool. Each is
//! scored with the policy backtest `capplan::plan::backtest_policy`: at each decision date
//! capplan forecasts from the history before it, plans (1-year window, `--paths` sample paths,
//! balanced risk), and its purchases, the providers' 7/30/60-day lookback rules' and the
//! hindsight optimum's are applied to the year that actually followed.
//!
//! Printed (Markdown, deterministic): one table with, per company and overall, the share of
//! the hindsight savings each policy captured — `(on-demand − cost) / (on-demand − hindsight)`,
//! a lookback rule that was not planned for a pool counting as on demand — and capplan's
//! margin over the 30-day lookback rule (positive: capplan saved more), in USD and as a share
//! of the company's on-demand cost; then per company the pool-decisions where capplan did
//! worst against the 30-day rule. Timings go to stderr.
//!
//! Run:
//!
//! ```sh
//! CAPPLAN_BENCH_DATA=/work/extdata cargo run --example decision_quality
//! ```
//!
//! `CAPPLAN_BENCH_DATA` is the folder holding `prophet/<file>.csv` (see [`real_series`] for
//! the files and how to fetch them); unset, only the synthetic companies run (the output says
//! so and names the missing files). Flags: `--company NAME` runs one company, `--out FILE.json`
//! writes every company's pool-decision figures, `--paths N` sets the forecast sample paths
//! per decision (default 100).

mod companies;
mod model;
mod real_series;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use capplan::plan::{PolicySettings, PortfolioSettings, RealisedPool, backtest_policy};
use capplan::pricing::{Inventory, RateCard};
use capplan::progress::NoProgress;

use model::Company;

/// The lookback rules the table compares, as `backtest_policy` names them.
const RULES: [&str; 3] = ["lookback 7d", "lookback 30d", "lookback 60d"];

/// Pool-decisions listed per company in the "worst against the 30-day rule" list.
const WORST: usize = 3;

#[derive(Parser)]
#[command(about = "Decision quality of capplan's commitment plans on benchmark companies")]
struct Args {
    /// Run only this company.
    #[arg(long)]
    company: Option<String>,
    /// Write per-company and per-pool-decision figures as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Forecast sample paths per decision.
    #[arg(long, default_value_t = 100)]
    paths: usize,
    /// Add a Compute-Savings-Plan-style spend pool over every pool to each company's rate
    /// card and report the flexible portfolio (RI plan + plan) against the RI plan alone.
    #[arg(long)]
    spend: bool,
}

/// The spend pool's realised costs summed over a company's decisions.
#[derive(Debug, Default, Serialize)]
struct SpendTotals {
    on_demand: Decimal,
    ri_only: Decimal,
    plan_only: Decimal,
    ri_plus_plan: Decimal,
    chosen: Decimal,
    lookback: Decimal,
    hindsight: Decimal,
    /// The portfolio chosen at each decision.
    choices: Vec<String>,
}

/// One pool at one decision date, realised.
#[derive(Debug, Serialize)]
struct PoolDecision {
    date: String,
    pool: String,
    on_demand: Decimal,
    capplan: Decimal,
    /// `lookback 7d`, `lookback 30d`, `lookback 60d` (on demand when the rule was not planned).
    lookback: Vec<(String, Decimal)>,
    hindsight: Decimal,
    /// Share of the hindsight savings capplan captured (`None`: hindsight saves nothing).
    captured: Option<f64>,
    /// The decision's 10th, 50th and 90th percentile of the term-average demand (units/h).
    planned_term_average: Option<[f64; 3]>,
    /// The actual term-average demand (units/h).
    actual_term_average: f64,
    /// Whether the actual fell inside the 10–90 % interval (`None`: no level model).
    term_average_inside: Option<bool>,
    /// The decision's sizing rationale.
    rationale: String,
}

impl PoolDecision {
    fn rule(&self, name: &str) -> Decimal {
        self.lookback
            .iter()
            .find(|(n, _)| n == name)
            .map_or(self.on_demand, |(_, c)| *c)
    }
}

/// Sums over pool-decisions.
#[derive(Debug, Default, Clone, Serialize)]
struct Totals {
    pool_decisions: usize,
    on_demand: Decimal,
    capplan: Decimal,
    /// In [`RULES`] order.
    lookback: [Decimal; 3],
    hindsight: Decimal,
}

impl Totals {
    fn add(&mut self, p: &PoolDecision) {
        self.pool_decisions += 1;
        self.on_demand += p.on_demand;
        self.capplan += p.capplan;
        for (k, r) in RULES.iter().enumerate() {
            self.lookback[k] += p.rule(r);
        }
        self.hindsight += p.hindsight;
    }

    fn merge(&mut self, o: &Totals) {
        self.pool_decisions += o.pool_decisions;
        self.on_demand += o.on_demand;
        self.capplan += o.capplan;
        for k in 0..RULES.len() {
            self.lookback[k] += o.lookback[k];
        }
        self.hindsight += o.hindsight;
    }

    /// Share of the hindsight savings a policy costing `cost` captured.
    fn captured(&self, cost: Decimal) -> Option<f64> {
        let best = self.on_demand - self.hindsight;
        (best > Decimal::ZERO).then(|| ((self.on_demand - cost) / best).to_f64().unwrap_or(0.0))
    }

    /// capplan's margin over the 30-day rule (positive: capplan cost less).
    fn margin_30d(&self) -> Decimal {
        self.lookback[1] - self.capplan
    }
}

/// One company's result.
#[derive(Debug, Serialize)]
struct CompanyResult {
    name: String,
    shape: String,
    source: String,
    pools: usize,
    decisions: Vec<String>,
    totals: Totals,
    pool_decisions: Vec<PoolDecision>,
    /// With `--spend`: the flexible portfolio's realised costs.
    spend: Option<SpendTotals>,
    /// Wall-clock seconds of the backtest (not printed in the table: it varies).
    seconds: f64,
}

/// Whether the actual term-average demand of a pool-decision fell inside the decision's
/// 10–90 % interval of it (`None`: the decision had no long-run level model).
fn term_average_inside(pool: &RealisedPool) -> Option<bool> {
    let [low, _, high] = pool.planned_term_average?;
    let a = pool.actual_term_average;
    Some(a >= low - 1e-9 && a <= high + 1e-9)
}

fn run(c: &Company, paths: usize, spend: bool) -> anyhow::Result<CompanyResult> {
    let text = if spend {
        format!("{}{}", c.card, model::spend_pool())
    } else {
        c.card.clone()
    };
    let card = RateCard::from_toml_str(&text, &format!("{}.toml", c.name))
        .with_context(|| format!("{}: rate card", c.name))?;
    let settings = PolicySettings {
        hours: 365 * 24,
        decisions: c.decisions.clone(),
        portfolio: PortfolioSettings {
            paths,
            ..PortfolioSettings::default()
        },
        ..PolicySettings::default()
    };
    let t = Instant::now();
    let r = backtest_policy(
        &card,
        &Inventory::default(),
        &c.series,
        &settings,
        &NoProgress,
    )
    .with_context(|| format!("{}: policy backtest", c.name))?;
    let seconds = t.elapsed().as_secs_f64();
    let mut totals = Totals::default();
    let mut rows = Vec::new();
    for d in &r.decisions {
        for p in &d.pools {
            let row = PoolDecision {
                date: d.date.clone(),
                pool: p.pool.clone(),
                on_demand: p.on_demand.amount(),
                capplan: p.capplan.amount(),
                lookback: RULES
                    .iter()
                    .map(|n| {
                        let cost = p.lookback_cost(n).unwrap_or(p.on_demand);
                        (n.to_string(), cost.amount())
                    })
                    .collect(),
                hindsight: p.hindsight.amount(),
                captured: p.savings_captured(),
                planned_term_average: p.planned_term_average,
                actual_term_average: p.actual_term_average,
                term_average_inside: term_average_inside(p),
                rationale: p.rationale.clone(),
            };
            totals.add(&row);
            rows.push(row);
        }
    }
    let spend = spend.then(|| {
        let mut t = SpendTotals::default();
        for d in &r.decisions {
            for s in &d.spend {
                t.on_demand += s.on_demand.amount();
                t.ri_only += s.ri_only.amount();
                t.plan_only += s.plan_only.amount();
                t.ri_plus_plan += s.ri_plus_plan.amount();
                t.chosen += s.chosen_cost.amount();
                t.lookback += s.lookback.unwrap_or(s.ri_only).amount();
                t.hindsight += s.hindsight.amount();
                t.choices
                    .push(format!("{} {}: {:.2}/h", d.date, s.chosen, s.commitment));
            }
        }
        t
    });
    Ok(CompanyResult {
        spend,
        name: c.name.clone(),
        shape: c.shape.clone(),
        source: c.source.clone(),
        pools: c.series.len(),
        decisions: r.decisions.iter().map(|d| d.date.clone()).collect(),
        totals,
        pool_decisions: rows,
        seconds,
    })
}

/// `1234567.891` → `1,234,568`.
fn money(v: Decimal) -> String {
    let r = v.round().abs().to_string();
    let mut out = String::new();
    for (i, ch) in r.chars().enumerate() {
        if i > 0 && (r.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if v.round() < Decimal::ZERO {
        format!("−{out}")
    } else {
        out
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1} %", 100.0 * v))
}

fn coverage(inside: usize, of: usize) -> String {
    if of == 0 {
        return "no level model".into();
    }
    format!("{inside}/{of} ({:.0} %)", 100.0 * inside as f64 / of as f64)
}

fn row(name: &str, shape: &str, size: &str, t: &Totals) -> String {
    let margin = t.margin_30d();
    let share = if t.on_demand > Decimal::ZERO {
        (margin / t.on_demand).to_f64()
    } else {
        None
    };
    format!(
        "| {name} | {shape} | {size} | {} | {} | {} | {} | {} | {} | {} |",
        money(t.on_demand),
        pct(t.captured(t.capplan)),
        pct(t.captured(t.lookback[0])),
        pct(t.captured(t.lookback[1])),
        pct(t.captured(t.lookback[2])),
        money(margin),
        share.map_or("—".into(), |s| format!("{:+.2} %", 100.0 * s)),
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut all = companies::all()?;
    match std::env::var_os("CAPPLAN_BENCH_DATA") {
        Some(root) => all.extend(real_series::all(Path::new(&root))?),
        None => {
            println!(
                "CAPPLAN_BENCH_DATA is not set: synthetic companies only; the real-series \
                 companies need $CAPPLAN_BENCH_DATA/prophet/{{{}}} (see BENCHMARKS.md).\n",
                real_series::FILES.join(", ")
            );
        }
    }
    if let Some(name) = &args.company {
        all.retain(|c| &c.name == name);
        if all.is_empty() {
            let names: Vec<String> = companies::all()?.into_iter().map(|c| c.name).collect();
            bail!(
                "no company {name:?} (synthetic: {}; real: wiki-manning, wiki-r, pedestrians with CAPPLAN_BENCH_DATA)",
                names.join(", ")
            );
        }
    }
    let started = Instant::now();
    let mut results = Vec::new();
    for c in &all {
        let r = run(c, args.paths, args.spend)?;
        eprintln!(
            "{}: {} pools × {} decisions, {:.1} s",
            r.name,
            r.pools,
            r.decisions.len(),
            r.seconds
        );
        results.push(r);
    }
    eprintln!(
        "{} companies in {:.1} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );

    println!(
        "Policy backtest, 1-year window, {} sample paths, balanced risk; captured = share of the \
         hindsight savings; capplan − 30d > 0: capplan saved more than the 30-day lookback rule. \
         All amounts USD.\n",
        args.paths
    );
    println!(
        "| company | shape | pools × decisions | on-demand | capplan | 7d | 30d | 60d | capplan − 30d | % of on-demand |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut overall = Totals::default();
    for r in &results {
        let size = format!("{} × {}", r.pools, r.decisions.len());
        let name = if r.source == "synthetic" {
            r.name.clone()
        } else {
            format!("{} (real)", r.name)
        };
        println!("{}", row(&name, &r.shape, &size, &r.totals));
        overall.merge(&r.totals);
    }
    let size = format!("{} pool-decisions", overall.pool_decisions);
    println!("{}", row("**overall**", "", &size, &overall));

    println!("\nWorst pool-decisions against the 30-day lookback rule (capplan − 30d < 0):\n");
    for r in &results {
        let mut worst: Vec<&PoolDecision> = r
            .pool_decisions
            .iter()
            .filter(|p| p.rule(RULES[1]) < p.capplan)
            .collect();
        worst.sort_by(|a, b| {
            (a.rule(RULES[1]) - a.capplan)
                .cmp(&(b.rule(RULES[1]) - b.capplan))
                .then_with(|| (&a.date, &a.pool).cmp(&(&b.date, &b.pool)))
        });
        if worst.is_empty() {
            println!("- {}: none", r.name);
            continue;
        }
        let items: Vec<String> = worst
            .iter()
            .take(WORST)
            .map(|p| {
                format!(
                    "{} {} {} (capplan {}, 30d {}, hindsight {}, on-demand {})",
                    p.date,
                    p.pool,
                    money(p.rule(RULES[1]) - p.capplan),
                    money(p.capplan),
                    money(p.rule(RULES[1])),
                    money(p.hindsight),
                    money(p.on_demand)
                )
            })
            .collect();
        println!("- {}: {}", r.name, items.join("; "));
    }
    println!(
        "\nCoverage of the term-average demand (actual 1-year average inside the decision's \
         10–90 % interval; nominal 80 %):\n"
    );
    let mut all_in = (0usize, 0usize);
    for r in &results {
        let checked: Vec<bool> = r
            .pool_decisions
            .iter()
            .filter_map(|p| p.term_average_inside)
            .collect();
        let inside = checked.iter().filter(|b| **b).count();
        all_in.0 += inside;
        all_in.1 += checked.len();
        println!("- {}: {}", r.name, coverage(inside, checked.len()));
    }
    println!("- **overall**: {}", coverage(all_in.0, all_in.1));

    if args.spend {
        println!(
            "\nFlexible commitments (`--spend`): a Compute-Savings-Plan-style pool over every pool \
             (discounts 26–51 %), decided at each date on top of the RI plan; realised costs of \
             the companies' usage in money over the windows. chosen − RI only < 0: the flexible \
             portfolio saved more than the RI plan alone.\n"
        );
        println!(
            "| company | on-demand | RI only | plan only | RI + plan | chosen portfolio | RI + 30-day SP rule | hindsight | chosen − RI only |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut sum = [Decimal::ZERO; 7];
        for r in &results {
            let Some(t) = &r.spend else { continue };
            let v = [
                t.on_demand,
                t.ri_only,
                t.plan_only,
                t.ri_plus_plan,
                t.chosen,
                t.lookback,
                t.hindsight,
            ];
            for (a, x) in sum.iter_mut().zip(v) {
                *a += x;
            }
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                money(v[0]),
                money(v[1]),
                money(v[2]),
                money(v[3]),
                money(v[4]),
                money(v[5]),
                money(v[6]),
                money(v[4] - v[1])
            );
        }
        println!(
            "| **overall** | {} | {} | {} | {} | {} | {} | {} | {} |",
            money(sum[0]),
            money(sum[1]),
            money(sum[2]),
            money(sum[3]),
            money(sum[4]),
            money(sum[5]),
            money(sum[6]),
            money(sum[4] - sum[1])
        );
        for r in &results {
            if let Some(t) = &r.spend {
                println!("- {}: {}", r.name, t.choices.join("; "));
            }
        }
    }
    if let Some(out) = &args.out {
        let json = serde_json::to_string_pretty(&results)?;
        std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
