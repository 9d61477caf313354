//! Runner of `capplan plan`: read the rate card and inventory, aggregate hourly usage by the
//! dimensions the pools match on, forecast the covered series over the horizon (in parallel),
//! plan every pool, print the recommendation table and the baselines, write JSON or CSV.

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{TimeZone, Utc};
use rayon::prelude::*;
use serde::Serialize;

use capplan::export;
use capplan::forecast::{self, DemandForecast, ForecastSettings};
use capplan::ingest::{self, AggregateOptions, Granularity, Measure, UsageSeries};
use capplan::plan::{Portfolio, PortfolioSettings, Risk, plan_portfolio};
use capplan::pricing::{Inventory, RateCard};

use crate::cli::{PlanArgs, RiskArg, UsageError, truncate};
use crate::forecast_cli::{out_ext, progress};

fn read(path: &std::path::Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

pub fn plan_cmd(args: PlanArgs) -> Result<()> {
    let ext = out_ext(&args.out, &["json", "csv"])?;
    let card = RateCard::from_toml_str(
        &read(&args.rates, "rate card")?,
        &args.rates.display().to_string(),
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let inventory = match &args.inventory {
        Some(p) => {
            let inv = Inventory::from_toml_str(&read(p, "inventory")?, &p.display().to_string())
                .map_err(|e| UsageError(e.to_string()))?;
            inv.validate(&card).map_err(|e| UsageError(e.to_string()))?;
            inv
        }
        None => Inventory::default(),
    };
    if args.paths == 0 {
        return Err(UsageError("--paths must be at least 1".into()).into());
    }
    // Group by every dimension a pool matches on.
    let mut by: Vec<String> = card
        .pools()
        .iter()
        .flat_map(|p| p.match_rule().rules().keys().cloned())
        .collect();
    by.sort();
    by.dedup();
    let opts = args.input.to_options()?;
    let loaded = ingest::load(&opts)?;
    let ingested = loaded.aggregate(&AggregateOptions {
        by,
        granularity: Some(Granularity::Hour),
        filters: Vec::new(),
        measure: Measure::Quantity,
    })?;
    let mut series: Vec<UsageSeries> = ingested
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
    if series.is_empty() {
        return Err(UsageError(format!(
            "no usage series matches a pool of {}: check the pools' `match` dimensions and `series_unit`",
            args.rates.display()
        ))
        .into());
    }
    if let Some(date) = args.as_of {
        let cut = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
        for s in &mut series {
            let keep = (cut - s.start).num_hours().clamp(0, s.values.len() as i64) as usize;
            s.values.truncate(keep);
            if let Some(c) = s.cost.as_mut() {
                c.truncate(keep);
            }
        }
        series.retain(|s| !s.values.is_empty());
        let ends_early = series.iter().any(|s| s.time_at(s.values.len()) < cut);
        if series.is_empty() || ends_early {
            return Err(UsageError(format!(
                "--as-of {date}: the data must reach that date (it ends earlier or starts later)"
            ))
            .into());
        }
    }
    let settings = ForecastSettings::new(args.horizon.steps(3600));
    let pb = progress(series.len(), "forecasting");
    let forecasts: Vec<Result<DemandForecast>> = series
        .par_iter()
        .map(|s| {
            let r = forecast::forecast_usage(s, &settings)
                .with_context(|| format!("forecasting series {}", s.key));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let forecasts = forecasts.into_iter().collect::<Result<Vec<_>>>()?;
    let risk = match args.risk {
        RiskArg::Conservative => Risk::CONSERVATIVE,
        RiskArg::Balanced => Risk::BALANCED,
        RiskArg::Aggressive => Risk::AGGRESSIVE,
    };
    let psettings = PortfolioSettings {
        risk,
        paths: args.paths,
        seed: args.seed,
        cost_of_capital: args.cost_of_capital,
        ..PortfolioSettings::default()
    };
    let portfolio = plan_portfolio(&card, &inventory, &forecasts, &series, &psettings)?;

    let rows = table_rows(&portfolio);
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
        }
        let file = File {
            as_of: forecasts[0].forecast.start.to_rfc3339(),
            horizon: &args.horizon.text,
            risk: risk_name(args.risk),
            rate_card: args.rates.display().to_string(),
            inventory: args.inventory.as_ref().map(|p| p.display().to_string()),
            rate_card_warnings: card.warnings().iter().map(|w| w.message.clone()).collect(),
            portfolio: &portfolio,
        };
        export::write_json(&args.out, &file).context("writing the plan")?;
    } else {
        export::write_csv_table(&args.out, &HEADER, &rows).context("writing the plan")?;
    }
    let mut out = std::io::stdout().lock();
    print_plan(&mut out, &portfolio, &rows)?;
    writeln!(out, "Wrote {}", args.out.display())?;
    Ok(())
}

fn risk_name(r: RiskArg) -> &'static str {
    match r {
        RiskArg::Conservative => "conservative",
        RiskArg::Balanced => "balanced",
        RiskArg::Aggressive => "aggressive",
    }
}

const HEADER: [&str; 14] = [
    "pool",
    "offer",
    "term",
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
    "npv",
];

fn table_rows(p: &Portfolio) -> Vec<Vec<String>> {
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
            rows.push(vec![
                r.pool.clone(),
                b.offer_id.clone(),
                format!("{}h", b.term_hours),
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
                b.npv.amount().to_string(),
            ]);
        }
    }
    rows
}

fn print_plan(out: &mut impl Write, p: &Portfolio, rows: &[Vec<String>]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:<34} {:>6} {:>10} {:>8} {:>12} {:>10} {:>8} {:>6} {:>6}",
        "pool", "offer", "term", "start", "qty", "upfront", "monthly", "savings", "b/e mo", "util"
    )?;
    for r in rows {
        let pct = r[9]
            .parse::<f64>()
            .map(|v| format!("{:.1}%", 100.0 * v))
            .unwrap_or_else(|_| "-".into());
        writeln!(
            out,
            "{:<24} {:<34} {:>6} {:>10} {:>8} {:>12} {:>10} {:>8} {:>6} {:>5.0}%",
            truncate(&r[0], 24),
            truncate(&r[1], 34),
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            pct,
            if r[10].is_empty() { "-" } else { &r[10] },
            100.0 * r[11].parse::<f64>().unwrap_or(f64::NAN)
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
    Ok(())
}
