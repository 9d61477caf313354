//! Method and assumptions: the inputs, the models, the optimizer and what is not modelled.

use std::fmt::Write as _;

use super::{Page, escape};
use crate::report::ReportData;

/// The `#method` section.
pub(super) fn section(p: &mut Page, d: &ReportData) {
    p.raw("<section id=\"method\"><h2>Method and assumptions</h2><ul>");
    let items = [
        format!(
            "Inputs: rate card <code>{}</code>{}{}; plan file <code>{}</code>.",
            escape(&d.rate_card),
            d.inventory
                .as_ref()
                .map_or(String::new(), |i| format!(", inventory <code>{}</code>", escape(i))),
            if d.events.is_empty() {
                String::new()
            } else {
                format!(
                    ", events {}",
                    d.events
                        .iter()
                        .map(|e| format!("<code>{}</code>", escape(e)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            escape(&d.plan_file)
        ),
        "Forecasts: robust MSTL decomposition with daily/weekly/yearly seasonality, candidate models (seasonal naive, AutoETS, MSTL+AutoETS, seasonal medians, median ensembles) chosen by rolling-origin backtest MASE; prediction intervals calibrated on out-of-sample backtest errors (conformal), with their measured coverage reported. Known events are applied to the forecast distribution.".into(),
        format!(
            "Demand paths: {} sample paths per pool (seed {}), drawn from the calibrated quantiles with short-term autocorrelation and a persistent level, so quarter and multi-year totals keep their uncertainty.",
            d.paths, d.seed
        ),
        "Optimizer: per pool, the exact minimum of the risk-adjusted cost over horizontal slices of demand — a 3-year layer bought now and 1-year layers at each year start — with existing commitments and their expirations; whole units; every purchase pays its full term. Payment options are compared by present value at the cost of capital.".into(),
        "Money is exact decimal arithmetic, rounded half-even to cents; totals reconcile to the bill. Spreadsheet cells are numbers (doubles); the CSV and JSON exports carry the exact amounts.".into(),
        "The lookback rule replays the last N days of usage after existing commitments and buys the level that would have been cheapest over them — what the providers' recommenders do.".into(),
        if d.spend_pools.is_empty() {
            "Size flexibility: a pool with size_flexible = true counts each instance size in normalized units (AWS's factors). Spend-based pools (Savings Plans, spend CUDs) are planned when the rate card has one. Not modelled: price changes, and demand changes not announced as events.".into()
        } else {
            "Spend-based plans: per SKU the hourly list (on-demand-equivalent) cost, committed usage included, on long-run level paths; reservations and plans held apply first (the providers' order), then each term's exact optimum by a breakpoint sweep (verified against an LP). Size flexibility: a pool with size_flexible = true counts each instance size in normalized units (AWS's factors). Not modelled: the plan inside the quarterly plan and scenario matrix, several plan types jointly (they are sized in the providers' order), price changes, and demand changes not announced as events.".into()
        },
        format!(
            "Reproducible: the same inputs and as-of date ({}) give byte-identical files; nothing depends on the clock.",
            d.as_of
        ),
    ];
    for i in items {
        let _ = write!(p.out, "<li>{i}</li>");
    }
    p.raw("</ul></section>");
}
