//! `capplan plan` and `capplan backtest-plan`: read the rate card and inventory, aggregate
//! hourly usage by the dimensions the pools match on, then either forecast the covered series
//! over the horizon and plan every pool (printing the recommendation table and the baselines,
//! writing JSON or CSV), or run the library's policy backtest ([`backtest_policy`]) and print
//! its realised costs.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use capplan::export;
use capplan::forecast::{ForecastSettings, forecast_all};
use capplan::ingest::{self, AggregateOptions, Measure};
use capplan::money::{Money, Rate};
use capplan::plan::spend::{
    Ask, SpendFrame, SpendPlan, SpendPoolInput, WhatIf, existing_plans, plan_spend_pool,
    reservation_layers, ri_plan_of, sku_histories, what_if,
};
use capplan::plan::strategy::{Strategy, StrategyError, check_listed};
use capplan::plan::{
    LOOKBACK_30D, LadderSettings, MIN_HISTORY_DAYS, PolicyBacktest, PolicyError, PolicySettings,
    PolicyStrategy, Portfolio, PortfolioSettings, Risk, backtest_policy, history_before,
    plan_portfolio,
};
use capplan::pricing::{Inventory, RateCard};
use capplan::progress::Progress as _;
use capplan::scenario::ScenarioFile;
use capplan::series::{Granularity, UsageSeries, cut_before};

use super::args::{BacktestPlanArgs, InputArgs, PlanArgs, UsageError};
use super::output::{Bar, out_ext, refuse_inputs_as_outputs, truncate};

fn read(path: &std::path::Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

/// The rate card, the inventory and the hourly usage series the pools cover.
struct Inputs {
    card: RateCard,
    inventory: Inventory,
    series: Vec<UsageSeries>,
    /// Hourly list (on-demand-equivalent) cost by the same dimensions, when the card has a
    /// spend-based pool.
    list: Vec<UsageSeries>,
}

fn load_inputs(
    input: &InputArgs,
    rates: &std::path::Path,
    inventory: Option<&std::path::Path>,
    outputs: &[&std::path::Path],
) -> Result<Inputs> {
    let named = input
        .inputs
        .iter()
        .map(std::path::PathBuf::from)
        .chain(std::iter::once(rates.to_path_buf()))
        .chain(inventory.map(std::path::Path::to_path_buf));
    refuse_inputs_as_outputs(named, outputs)?;
    let card = RateCard::from_toml_in_dir(
        &read(rates, "rate card")?,
        &rates.display().to_string(),
        rates.parent().unwrap_or(std::path::Path::new("")),
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let inventory = match inventory {
        Some(p) => {
            let inv = Inventory::from_toml_str(&read(p, "inventory")?, &p.display().to_string())
                .map_err(|e| UsageError(e.to_string()))?;
            inv.validate(&card).map_err(|e| UsageError(e.to_string()))?;
            inv
        }
        None => Inventory::default(),
    };
    // Group by every dimension a pool matches on.
    let mut by: Vec<String> = card
        .pools()
        .iter()
        .flat_map(|p| p.match_rule().rules().keys().cloned())
        .collect();
    by.sort();
    by.dedup();
    let opts = input.to_options()?;
    let loaded = ingest::load(&opts)?;
    let by_list = by.clone();
    let ingested = loaded.aggregate(&AggregateOptions {
        by,
        granularity: Some(Granularity::Hour),
        filters: Vec::new(),
        measure: Measure::Quantity,
    })?;
    refuse_inputs_as_outputs(ingested.files.iter().map(|f| &f.path), outputs)?;
    let list = if card.pools().iter().any(|p| p.is_spend_pool()) {
        loaded
            .aggregate(&AggregateOptions {
                by: by_list,
                granularity: Some(Granularity::Hour),
                filters: Vec::new(),
                measure: Measure::ListCost,
            })?
            .series
    } else {
        Vec::new()
    };
    let series: Vec<UsageSeries> = ingested
        .series
        .into_iter()
        .filter(|s| {
            card.pools().iter().any(|p| {
                p.covers(
                    s.key.0.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    &s.unit,
                )
            })
        })
        .collect();
    card.check_disjoint(series.iter().map(|s| (&s.key, s.unit.as_str())))
        .map_err(|e| UsageError(e.to_string()))?;
    for w in card.warnings() {
        eprintln!("warning: {w}");
    }
    if series.is_empty() {
        return Err(UsageError(format!(
            "no usage series matches a pool of {}: check the pools' `match` dimensions and `series_unit`",
            rates.display()
        ))
        .into());
    }
    Ok(Inputs {
        card,
        inventory,
        series,
        list,
    })
}

/// Runs `capplan plan`.
pub(crate) fn plan_cmd(args: PlanArgs) -> Result<()> {
    let ext = out_ext(&args.out, &["json", "csv"])?;
    if args.paths == 0 {
        return Err(UsageError("--paths must be at least 1".into()).into());
    }
    let mut asks = Vec::new();
    if let Some(c) = args.sp_commit {
        asks.push(Ask::Commit(c));
    }
    if let Some(v) = args.sp_target_coverage {
        asks.push(Ask::Coverage(v));
    }
    if let Some(v) = args.sp_target_utilisation {
        asks.push(Ask::Utilisation(v));
    }
    for a in &asks {
        match *a {
            Ask::Commit(c) if !(c.is_finite() && c >= 0.0) => {
                return Err(
                    UsageError(format!("--sp-commit {c}: use an amount per hour >= 0")).into(),
                );
            }
            Ask::Coverage(v) | Ask::Utilisation(v) if !(v > 0.0 && v <= 1.0) => {
                return Err(UsageError(format!(
                    "--sp-target-coverage/--sp-target-utilisation {v}: use a share in (0, 1], e.g. 0.8"
                ))
                .into());
            }
            _ => {}
        }
    }
    let mut outputs = vec![args.out.as_path()];
    outputs.extend(args.sp_curve.as_deref());
    let Inputs {
        card,
        inventory,
        series,
        list,
    } = load_inputs(
        &args.input,
        &args.rates,
        args.inventory.as_deref(),
        &outputs,
    )?;
    let series = match args.as_of {
        Some(date) => history_before(&series, date).map_err(|e| policy_error(e, "--as-of", ""))?,
        None => series,
    };
    let forecasts = forecast_all(
        &series,
        &ForecastSettings::new(args.horizon.steps(3600)),
        &Bar::series(),
        "forecasting",
    )?;
    let risk = match (args.risk_quantile, args.risk_cvar) {
        (Some(q), _) if q > 0.0 && q < 1.0 => Risk::Quantile(q),
        (Some(q), _) => {
            return Err(
                UsageError(format!("--risk-quantile {q}: use a value between 0 and 1")).into(),
            );
        }
        (None, Some(a)) if a > 0.0 && a <= 1.0 => Risk::Cvar(a),
        (None, Some(a)) => {
            return Err(UsageError(format!("--risk-cvar {a}: use a value in (0, 1]")).into());
        }
        (None, None) => args.risk.into(),
    };
    let ladder = args.ladder.map(|c| LadderSettings {
        cadence: c.into(),
        period_months: args.ladder_months,
        sizing: args.ladder_sizing.into(),
    });
    let psettings = PortfolioSettings {
        risk,
        paths: args.paths,
        seed: args.seed,
        cost_of_capital: args.cost_of_capital,
        ladder,
        ..PortfolioSettings::default()
    };
    let portfolio = plan_portfolio(&card, &inventory, &forecasts, &series, &psettings)?;
    let start = forecasts[0].forecast.start;
    let spend = spend_pools(&card, &inventory, &list, start, &portfolio, &args, &asks)?;
    let portfolio = Portfolio {
        skipped: portfolio
            .skipped
            .into_iter()
            .filter(|s| !spend.iter().any(|p| p.plan.pool_id == s.pool))
            .collect(),
        ..portfolio
    };

    let mut rows = table_rows(&card, &portfolio);
    rows.extend(spend_rows(&card, &spend, start));
    if let Some(path) = &args.sp_curve {
        export::write_csv_table(path, &CURVE_HEADER, &curve_rows(&spend))
            .context("writing the Savings Plan curves")?;
    }
    if ext == "json" {
        #[derive(Serialize)]
        struct File<'a> {
            as_of: String,
            horizon: &'a str,
            risk: &'a str,
            rate_card: String,
            inventory: Option<String>,
            rate_card_warnings: Vec<String>,
            portfolio: &'a Portfolio,
            spend_pools: &'a [SpendReport],
        }
        let risk_label = match risk {
            Risk::Quantile(q) if args.risk_quantile.is_some() => format!("quantile {q}"),
            Risk::Cvar(a) => format!("cvar {a}"),
            _ => args.risk.name().to_owned(),
        };
        let file = File {
            as_of: forecasts[0].forecast.start.to_rfc3339(),
            horizon: &args.horizon.text,
            risk: &risk_label,
            rate_card: args.rates.display().to_string(),
            inventory: args.inventory.as_ref().map(|p| p.display().to_string()),
            rate_card_warnings: card.warnings().iter().map(|w| w.message.clone()).collect(),
            portfolio: &portfolio,
            spend_pools: &spend,
        };
        export::write_json(&args.out, &file).context("writing the plan")?;
    } else {
        export::write_csv_table(&args.out, &HEADER, &rows).context("writing the plan")?;
    }
    let mut out = super::output::stdout();
    print_plan(&mut out, &portfolio, &rows)?;
    print_spend(&mut out, &spend)?;
    writeln!(out, "Wrote {}", args.out.display())?;
    if let Some(path) = &args.sp_curve {
        writeln!(out, "Wrote {}", path.display())?;
    }
    Ok(())
}

const HEADER: [&str; 16] = [
    "pool",
    "offer",
    "term",
    "payment",
    "start",
    "quantity",
    "upfront",
    "monthly",
    "effective_hourly",
    "expected_savings",
    "savings_pct",
    "break_even_month",
    "utilisation",
    "prob_below_break_even",
    "pool_coverage",
    "npv",
];

/// A spend-based pool's plan and the answers to the user's what-ifs.
#[derive(Serialize)]
struct SpendReport {
    plan: SpendPlan,
    what_if: Vec<WhatIf>,
}

/// Plans every spend-based pool on the list cost before `start`, after the portfolio's
/// reservations and the inventory.
fn spend_pools(
    card: &RateCard,
    inventory: &Inventory,
    list: &[UsageSeries],
    start: chrono::DateTime<chrono::Utc>,
    portfolio: &Portfolio,
    args: &PlanArgs,
    asks: &[Ask],
) -> Result<Vec<SpendReport>> {
    let history = cut_before(list, start);
    let (new, caps) = ri_plan_of(portfolio);
    let horizon_hours = args.horizon.steps(3600);
    let mut out = Vec::new();
    for pool in card.pools().iter().filter(|p| p.is_spend_pool()) {
        let Some((skus, hist)) = sku_histories(pool, &history) else {
            continue;
        };
        let len = hist[0].len();
        let frame = SpendFrame {
            start,
            hist_start: start - chrono::Duration::hours(len as i64),
            hist_len: len,
            horizon_hours,
        };
        let input = SpendPoolInput {
            card,
            pool,
            reservations: reservation_layers(card, inventory, &skus, &frame, &new, &caps),
            existing: existing_plans(inventory, pool, &skus, &frame),
            skus,
            history: hist,
            horizon_hours,
            paths: args.paths,
            seed: args.seed,
            cost_of_capital: args.cost_of_capital,
        };
        let plan = plan_spend_pool(&input)?;
        let what_if = what_if(&input, &plan, asks)?;
        out.push(SpendReport { plan, what_if });
    }
    Ok(out)
}

/// The recommended term of each spend pool as a row of the recommendation table: quantity
/// in the pool's unit (on-demand-equivalent money per hour, commitment ÷ the offer's rate),
/// fees exact from the offer.
fn spend_rows(
    card: &RateCard,
    spend: &[SpendReport],
    start: chrono::DateTime<chrono::Utc>,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for s in spend {
        let Some(o) = s.plan.chosen.map(|k| &s.plan.options[k]) else {
            continue;
        };
        let Some(offer) = card.offer(&o.offer_id) else {
            continue;
        };
        let c = o.sweep.optimum.commitment;
        let r_ref = 1.0 - o.discount;
        let qty = (c / r_ref * 1e6).round() / 1e6;
        let per_unit = |d: rust_decimal::Decimal, mult: i64| {
            Rate::new(Money::new(
                d * rust_decimal::Decimal::from(mult),
                offer.currency(),
            ))
            .cost_of(qty)
            .map(|m| m.round().amount().to_string())
            .unwrap_or_default()
        };
        let savings = Rate::new(Money::new(rust_decimal::Decimal::ONE, offer.currency()))
            .cost_of(o.sweep.optimum.savings)
            .map(|m| m.round().amount().to_string())
            .unwrap_or_default();
        rows.push(vec![
            s.plan.pool_id.clone(),
            o.offer_id.clone(),
            offer.term().to_string(),
            offer.payment().to_string(),
            start.format("%Y-%m-%d").to_string(),
            format!("{qty}"),
            per_unit(offer.upfront(), 1),
            per_unit(offer.recurring_hourly(), 730),
            offer.effective_hourly().to_string(),
            savings,
            if s.plan.demand > 0.0 {
                format!("{:.4}", o.sweep.optimum.savings / s.plan.demand)
            } else {
                String::new()
            },
            String::new(),
            format!("{:.4}", o.sweep.optimum.utilisation),
            String::new(),
            format!("{:.4}", o.sweep.optimum.coverage),
            String::new(),
        ]);
    }
    rows
}

const CURVE_HEADER: [&str; 8] = [
    "pool",
    "offer",
    "commitment_per_hour",
    "expected_cost",
    "expected_savings",
    "coverage",
    "utilisation",
    "marked",
];

fn curve_rows(spend: &[SpendReport]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for s in spend {
        for o in &s.plan.options {
            for p in &o.sweep.curve {
                let marked = if *p == o.sweep.optimum { "optimum" } else { "" };
                rows.push(vec![
                    s.plan.pool_id.clone(),
                    o.offer_id.clone(),
                    format!("{:.6}", p.commitment),
                    format!("{:.2}", p.cost),
                    format!("{:.2}", p.savings),
                    format!("{:.6}", p.coverage),
                    format!("{:.6}", p.utilisation),
                    marked.to_owned(),
                ]);
            }
            if let Some(l) = &o.lookback {
                rows.push(vec![
                    s.plan.pool_id.clone(),
                    o.offer_id.clone(),
                    format!("{:.6}", l.commitment),
                    format!("{:.2}", l.cost),
                    format!("{:.2}", l.savings),
                    format!("{:.6}", l.coverage),
                    format!("{:.6}", l.utilisation),
                    "lookback 30d".to_owned(),
                ]);
            }
        }
    }
    rows
}

fn print_spend(out: &mut impl Write, spend: &[SpendReport]) -> std::io::Result<()> {
    for s in spend {
        let p = &s.plan;
        writeln!(out)?;
        writeln!(
            out,
            "Spend-based pool {} ({} SKUs, {} paths; reservations and {:.3}/h of plans held apply first):",
            p.pool_id,
            p.skus.len(),
            p.paths,
            p.existing_now
        )?;
        writeln!(
            out,
            "{:<30} {:>4} {:>9} {:>12} {:>14} {:>6} {:>6} {:>12} {:>14} {:>6}",
            "offer",
            "term",
            "discount",
            "commit/h",
            "savings",
            "cov",
            "util",
            "lookback/h",
            "its savings",
            "util"
        )?;
        for (i, o) in p.options.iter().enumerate() {
            let lb = o.lookback.as_ref();
            writeln!(
                out,
                "{:<30} {:>4} {:>4.0}-{:<3.0}% {:>12.3} {:>14.2} {:>5.1}% {:>5.1}% {:>12} {:>14} {:>6}{}",
                truncate(&o.offer_id, 30),
                if o.term_hours >= 26280 { "3y" } else { "1y" },
                100.0 * o.discount_range.0,
                100.0 * o.discount_range.1,
                o.sweep.optimum.commitment,
                o.sweep.optimum.savings,
                100.0 * o.sweep.optimum.coverage,
                100.0 * o.sweep.optimum.utilisation,
                lb.map_or("-".into(), |l| format!("{:.3}", l.commitment)),
                lb.map_or("-".into(), |l| format!("{:.2}", l.savings)),
                lb.map_or("-".into(), |l| format!("{:.1}%", 100.0 * l.utilisation)),
                if p.chosen == Some(i) {
                    "  <- recommended"
                } else {
                    ""
                }
            )?;
        }
        if p.chosen.is_none() {
            writeln!(out, "(no commitment saves money: buy none)")?;
        }
        for r in &p.portfolios {
            writeln!(
                out,
                "  portfolio {:<52} plan {:>10.3}/h  RI fees {:>12.2}  plan fees {:>12.2}  on demand {:>12.2}  total {:>12.2}  if recent demand persists {:>12.2}{}",
                r.name,
                r.commitment,
                r.ri_fees,
                r.plan_fees,
                r.on_demand,
                r.total,
                r.persist_total,
                if r.chosen { "  <- recommended" } else { "" }
            )?;
        }
        for w in &s.what_if {
            let ask = match w.ask {
                Ask::Commit(c) => format!("commit {c}/h"),
                Ask::Coverage(v) => format!("coverage {:.1}%", 100.0 * v),
                Ask::Utilisation(v) => format!("utilisation {:.1}%", 100.0 * v),
            };
            match &w.point {
                Some(pt) => writeln!(
                    out,
                    "  what-if {ask} ({}): commit {:.3}/h, expected savings {:.2}, coverage {:.1}%, utilisation {:.1}%",
                    w.offer_id,
                    pt.commitment,
                    pt.savings,
                    100.0 * pt.coverage,
                    100.0 * pt.utilisation
                )?,
                None => writeln!(
                    out,
                    "  what-if {ask} ({}): not reachable with this plan",
                    w.offer_id
                )?,
            }
        }
    }
    Ok(())
}

fn table_rows(card: &RateCard, p: &Portfolio) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in &p.pools {
        for b in &r.plan.purchases {
            let start = r
                .plan
                .purchases
                .first()
                .and(b.monthly.first())
                .and_then(|m| m.start)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let (term, payment) = card
                .offer(&b.offer_id)
                .map(|o| (o.term().to_string(), o.payment().to_string()))
                .unwrap_or_else(|| (format!("{}h", b.term_hours), String::new()));
            rows.push(vec![
                r.pool.clone(),
                b.offer_id.clone(),
                term,
                payment,
                start,
                format!("{}", b.quantity),
                b.upfront_total.amount().to_string(),
                b.recurring_monthly.amount().to_string(),
                b.effective_hourly.amount().to_string(),
                b.expected_savings.amount().to_string(),
                b.savings_pct.map(|d| d.to_string()).unwrap_or_default(),
                b.break_even_month
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                format!("{:.4}", b.utilisation),
                format!("{:.4}", b.prob_below_break_even),
                format!("{:.4}", r.plan.coverage),
                b.npv.amount().to_string(),
            ]);
        }
    }
    rows
}

fn print_plan(out: &mut impl Write, p: &Portfolio, rows: &[Vec<String>]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:<30} {:>4} {:<15} {:>10} {:>7} {:>12} {:>10} {:>8} {:>6} {:>5} {:>5}",
        "pool",
        "offer",
        "term",
        "payment",
        "start",
        "qty",
        "upfront",
        "monthly",
        "savings",
        "b/e mo",
        "util",
        "cov"
    )?;
    for r in rows {
        let pct = r[10]
            .parse::<f64>()
            .map(|v| format!("{:.1}%", 100.0 * v))
            .unwrap_or_else(|_| "-".into());
        writeln!(
            out,
            "{:<24} {:<30} {:>4} {:<15} {:>10} {:>7} {:>12} {:>10} {:>8} {:>6} {:>4.0}% {:>4.0}%",
            truncate(&r[0], 24),
            truncate(&r[1], 30),
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            pct,
            if r[11].is_empty() { "-" } else { &r[11] },
            100.0 * r[12].parse::<f64>().unwrap_or(f64::NAN),
            100.0 * r[14].parse::<f64>().unwrap_or(f64::NAN)
        )?;
    }
    if rows.is_empty() {
        writeln!(out, "(no purchase recommended)")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Expected cost over the horizon (commitments for their full terms + on-demand), per pool:"
    )?;
    writeln!(
        out,
        "{:<24} {:>16} {:>16} {:>16} {:>16} {:>16} {:>9}",
        "pool",
        "capplan",
        "all on-demand",
        "lookback 7d",
        "lookback 30d",
        "lookback 60d",
        "coverage"
    )?;
    for r in &p.pools {
        let base = |name: &str| {
            r.baselines
                .iter()
                .find(|b| b.name == name)
                .map(|b| b.expected_cost.amount().round_dp(2).to_string())
                .unwrap_or_else(|| "-".into())
        };
        writeln!(
            out,
            "{:<24} {:>16} {:>16} {:>16} {:>16} {:>16} {:>8.1}%",
            truncate(&r.pool, 24),
            r.plan.expected_cost.amount().round_dp(2).to_string(),
            base("all on-demand"),
            base("lookback 7d"),
            base("lookback 30d"),
            base("lookback 60d"),
            100.0 * r.plan.coverage
        )?;
    }
    for s in &p.skipped {
        writeln!(out, "skipped {}: {}", s.pool, s.reason)?;
    }
    let ladders: Vec<_> = p
        .pools
        .iter()
        .filter_map(|r| r.ladder.as_ref().map(|l| (r, l)))
        .collect();
    if !ladders.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Ladder instead of the lump (tranche schedule; cost and risk against the lump):"
        )?;
        for (r, l) in ladders {
            let sched: Vec<String> = l
                .tranches
                .iter()
                .map(|t| {
                    format!(
                        "{} x{}",
                        t.start
                            .map(|d| d.format("%Y-%m").to_string())
                            .unwrap_or_default(),
                        t.purchase.quantity
                    )
                })
                .collect();
            writeln!(
                out,
                "  {}: {} [{}]; expected cost {} vs lump {} (premium {}); P(below break-even) {:.0}% vs {:.0}%",
                r.pool,
                l.offer,
                sched.join(", "),
                l.ladder.expected_cost.amount().round_dp(2),
                l.lump.expected_cost.amount().round_dp(2),
                l.premium_over_lump.amount().round_dp(2),
                100.0 * l.ladder.prob_below_break_even,
                100.0 * l.lump.prob_below_break_even
            )?;
        }
    }
    Ok(())
}

/// The strategies of the plan file `path` for `--plan`, checked against `card`, and its
/// `as_of` (what listed purchases' dates count from).
fn plan_strategies(
    path: &std::path::Path,
    card: &RateCard,
) -> Result<(Vec<PolicyStrategy>, Option<chrono::NaiveDate>)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "--plan {}: {e}. Pass an existing TOML plan file (see data/demo/plan.toml)",
            path.display()
        ))
    })?;
    let plan = ScenarioFile::from_toml_str(&text, &path.display().to_string())
        .map_err(|e| UsageError(e.to_string()))?;
    for s in &plan.strategies {
        if let Strategy::Purchases(list) = &s.kind {
            check_listed(card, list).map_err(|e| {
                let line = match &e {
                    StrategyError::NotAnOffer { line, .. }
                    | StrategyError::UnknownPool { line, .. }
                    | StrategyError::BeforeStart { line, .. } => *line,
                    StrategyError::OfferVanished(_) => s.line,
                };
                UsageError(format!(
                    "{}:{line}: strategy {:?}: {e} (the rate card passed with --rates)",
                    path.display(),
                    s.name
                ))
            })?;
        }
    }
    let strategies = plan
        .strategies
        .iter()
        .map(|s| PolicyStrategy {
            name: s.name.clone(),
            strategy: s.kind.clone(),
        })
        .collect();
    Ok((strategies, plan.as_of))
}

/// `lookback 30d` → `lookback_30d` (a CSV column).
fn column(name: &str) -> String {
    name.replace(' ', "_")
}

fn pct(c: Option<rust_decimal::Decimal>) -> String {
    c.map_or_else(
        || "-".to_owned(),
        |c| format!("{}%", (c * rust_decimal::Decimal::ONE_HUNDRED).round_dp(2)),
    )
}

/// Runs `capplan backtest-plan` (the policy backtest, [`backtest_policy`]).
pub(crate) fn backtest_plan_cmd(args: BacktestPlanArgs) -> Result<()> {
    let ext = match &args.out {
        Some(p) => Some(out_ext(p, &["json", "csv"])?),
        None => None,
    };
    let outputs: Vec<&std::path::Path> = args.out.as_deref().into_iter().collect();
    if let Some(p) = &args.plan {
        refuse_inputs_as_outputs(std::iter::once(p.clone()), &outputs)?;
    }
    let Inputs {
        card,
        inventory,
        series,
        ..
    } = load_inputs(
        &args.input,
        &args.rates,
        args.inventory.as_deref(),
        &outputs,
    )?;
    let (strategies, list_anchor) = match &args.plan {
        Some(p) => plan_strategies(p, &card)?,
        None => (Vec::new(), None),
    };
    let settings = PolicySettings {
        hours: args.horizon.steps(3600),
        decisions: args.decision.clone(),
        portfolio: PortfolioSettings {
            risk: args.risk.into(),
            paths: args.paths,
            seed: args.seed,
            cost_of_capital: args.cost_of_capital,
            ..PortfolioSettings::default()
        },
        strategies,
        list_anchor,
    };
    let bar = Bar::series();
    let result = backtest_policy(&card, &inventory, &series, &settings, &bar);
    bar.finish();
    let backtest = result.map_err(|e| policy_error(e, "--decision", &args.horizon.text))?;
    let PolicyBacktest { totals, decisions } = &backtest;
    let rules: Vec<&str> = totals.lookback.iter().map(|r| r.name.as_str()).collect();
    let strats: Vec<&str> = totals.strategies.iter().map(|r| r.name.as_str()).collect();
    let mut rows = Vec::new();
    let mut out = super::output::stdout();
    writeln!(
        out,
        "Realised cost over {} after each decision date (purchases applied to what actually happened):",
        args.horizon.text
    )?;
    writeln!(
        out,
        "{:<11} {:<24} {:>14} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "decision",
        "pool",
        "on-demand",
        "capplan",
        "lookback 30d",
        "hindsight",
        "captured",
        "vs 30d"
    )?;
    for d in decisions {
        for p in &d.pools {
            let lb30 = p.lookback_cost(LOOKBACK_30D).map(|m| m.amount());
            let captured = p.savings_captured();
            writeln!(
                out,
                "{:<11} {:<24} {:>14} {:>14} {:>14} {:>14} {:>10} {:>10}",
                d.date,
                truncate(&p.pool, 24),
                p.on_demand.amount().round_dp(2).to_string(),
                p.capplan.amount().round_dp(2).to_string(),
                lb30.map(|v| v.round_dp(2).to_string())
                    .unwrap_or_else(|| "-".into()),
                p.hindsight.amount().round_dp(2).to_string(),
                captured
                    .map(|c| format!("{:.1}%", 100.0 * c))
                    .unwrap_or_else(|| "-".into()),
                lb30.map(|v| (v - p.capplan.amount()).round_dp(2).to_string())
                    .unwrap_or_else(|| "-".into())
            )?;
            let mut row = vec![
                d.date.clone(),
                p.pool.clone(),
                p.on_demand.amount().to_string(),
                p.capplan.amount().to_string(),
            ];
            // A rule the pool did not plan is on demand there, as in the totals.
            let rule_cost = |n: &str| {
                p.lookback_cost(n)
                    .map_or(p.on_demand.amount(), |m| m.amount())
            };
            row.extend(rules.iter().map(|n| rule_cost(n).to_string()));
            row.extend(
                rules
                    .iter()
                    .map(|n| (rule_cost(n) - p.capplan.amount()).to_string()),
            );
            row.push(p.hindsight.amount().to_string());
            row.push(captured.map(|c| format!("{c:.6}")).unwrap_or_default());
            row.extend(strats.iter().map(|n| {
                p.strategies
                    .iter()
                    .find(|(s, _)| s == n)
                    .map(|(_, m)| m.amount().to_string())
                    .unwrap_or_default()
            }));
            rows.push(row);
        }
    }
    let t = totals;
    writeln!(
        out,
        "Total: on-demand {}, capplan {} (saves {}), hindsight {} (saves {}). Savings captured: capplan {}.",
        t.on_demand.round_dp(2),
        t.capplan.round_dp(2),
        (t.on_demand - t.capplan).round_dp(2),
        t.hindsight.round_dp(2),
        (t.on_demand - t.hindsight).round_dp(2),
        pct(t.captured),
    )?;
    for (what, list) in [("rule", &t.lookback), ("strategy", &t.strategies)] {
        for r in list {
            writeln!(
                out,
                "  {what} {}: cost {} (saves {}), captured {}; capplan's margin over it {}",
                r.name,
                r.cost.round_dp(2),
                r.savings.round_dp(2),
                pct(r.captured),
                r.margin.round_dp(2)
            )?;
        }
    }
    print_spend_backtest(&mut out, &backtest)?;
    if let (Some(path), Some(ext)) = (&args.out, ext) {
        if ext == "json" {
            export::write_json(path, &backtest).context("writing the policy backtest")?;
        } else {
            let mut header: Vec<String> = ["decision", "pool", "on_demand", "capplan"]
                .map(String::from)
                .to_vec();
            header.extend(rules.iter().map(|n| column(n)));
            header.extend(rules.iter().map(|n| format!("margin_{}", column(n))));
            header.push("hindsight".into());
            header.push("savings_captured".into());
            header.extend(strats.iter().map(|n| format!("strategy:{n}")));
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            export::write_csv_table(path, &header, &rows).context("writing the policy backtest")?;
        }
        writeln!(out, "Wrote {}", path.display())?;
    }
    Ok(())
}

/// Spend-based pools in the policy backtest: per decision and in total, the realised cost
/// of the RI plan alone, the plan alone, both, the portfolio chosen at the date and the RI plan
/// with the 30-day Savings Plan recommendation, against the hindsight best.
fn print_spend_backtest(out: &mut impl Write, b: &PolicyBacktest) -> std::io::Result<()> {
    let rows: Vec<(&str, &capplan::plan::spend::SpendRealised)> = b
        .decisions
        .iter()
        .flat_map(|d| d.spend.iter().map(move |s| (d.date.as_str(), s)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Spend-based pools (the reservation pools' usage in money; RIs apply first):"
    )?;
    writeln!(
        out,
        "{:<10} {:<12} {:<26} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14}",
        "decision",
        "pool",
        "chosen",
        "on demand",
        "RI only",
        "plan only",
        "RI + plan",
        "chosen",
        "RI + SP 30d",
        "hindsight"
    )?;
    let mut sum = [rust_decimal::Decimal::ZERO; 7];
    for (date, s) in &rows {
        let lb = s.lookback.map_or(s.ri_only, |m| m);
        let vals = [
            s.on_demand,
            s.ri_only,
            s.plan_only,
            s.ri_plus_plan,
            s.chosen_cost,
            lb,
            s.hindsight,
        ];
        for (acc, v) in sum.iter_mut().zip(vals) {
            *acc += v.amount();
        }
        writeln!(
            out,
            "{:<10} {:<12} {:<26} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14}",
            date,
            truncate(&s.pool, 12),
            truncate(&format!("{} {:.2}/h", s.chosen, s.commitment), 26),
            vals[0].amount(),
            vals[1].amount(),
            vals[2].amount(),
            vals[3].amount(),
            vals[4].amount(),
            vals[5].amount(),
            vals[6].amount()
        )?;
    }
    let captured = |v: rust_decimal::Decimal| {
        let best = sum[0] - sum[6];
        if best > rust_decimal::Decimal::ZERO {
            format!(
                "{:.1} %",
                ((sum[0] - v) / best * rust_decimal::Decimal::from(100)).round_dp(1)
            )
        } else {
            "-".into()
        }
    };
    writeln!(
        out,
        "Total: on demand {}; RI only {} (captured {}); plan only {} ({}); RI + plan {} ({}); chosen portfolio {} ({}), {} vs RI only; RI + 30-day SP rule {} ({}); hindsight {}.",
        sum[0],
        sum[1],
        captured(sum[1]),
        sum[2],
        captured(sum[2]),
        sum[3],
        captured(sum[3]),
        sum[4],
        captured(sum[4]),
        sum[1] - sum[4],
        sum[5],
        captured(sum[5]),
        sum[6]
    )?;
    Ok(())
}

/// The CLI's message for a policy error: the date errors are usage errors naming `flag`
/// (`horizon` is the `--horizon` text); forecasting and planning errors keep their chain.
fn policy_error(e: PolicyError, flag: &str, horizon: &str) -> anyhow::Error {
    match e {
        PolicyError::NoDecisionDate { .. } => UsageError(format!(
            "no decision date has {MIN_HISTORY_DAYS} days of history before it and {horizon} of data after it; pass --decision or a shorter --horizon"
        ))
        .into(),
        PolicyError::NoHistory { date } => UsageError(format!(
            "{flag} {date}: the data must reach that date (it ends earlier or starts later)"
        ))
        .into(),
        PolicyError::NoActuals { date, .. } => UsageError(format!(
            "{flag} {date}: the data ends before {date} + {horizon}"
        ))
        .into(),
        PolicyError::Forecast(e) => e.into(),
        PolicyError::Plan(e) => e.into(),
        PolicyError::Strategy(e) => UsageError(format!("--plan: {e}")).into(),
    }
}
