//! Accounting for every row: the currency choice, the reconciliation of used and excluded rows
//! against the per-currency source totals, the findings counted by the grouped query and the
//! per-file summaries.

use super::canonical::MONEY_SCALE;
use super::error::IngestError;
use super::formats::{self, Format};
use super::pipeline::{Group, Loaded};
use super::source;
use super::source::ROW_COL;
use super::{
    CurrencyTotals, FileSummary, Finding, Reason, ReasonTotals, Reconciliation, Severity, Totals,
    UnknownAmounts,
};
use crate::money::Currency;
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

impl Loaded {
    /// Applies the currency choice, then builds the reconciliation and general findings.
    pub(super) fn account(
        &self,
        groups: &mut [Group],
    ) -> Result<(Currency, Reconciliation, Vec<Finding>), IngestError> {
        let currencies: BTreeSet<String> =
            groups.iter().filter_map(|g| g.currency.clone()).collect();
        let chosen = match &self.opts.currency {
            Some(c) => *c,
            None => match currencies.len() {
                0 => Currency::USD,
                1 => {
                    let code = currencies
                        .iter()
                        .next()
                        .map(String::as_str)
                        .unwrap_or("USD");
                    Currency::new(code).map_err(|_| IngestError::BadOption {
                        option: "currency".into(),
                        message: format!(
                            "the billing currency {code:?} is not a three-letter code"
                        ),
                    })?
                }
                _ => {
                    return Err(IngestError::MixedCurrencies {
                        currencies: currencies.iter().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            },
        };
        // No row names a currency (no currency column, or an empty one): every amount is read
        // as the chosen currency, and the finding below says so.
        // (Only when there are amounts to label: a usage table without costs needs no currency.)
        let has_amounts = groups.iter().any(|g| {
            !(g.totals.billed_cost.is_zero()
                && g.totals.effective_cost.is_zero()
                && g.totals.list_cost.is_zero())
        });
        let assumed_rows: u64 = if currencies.is_empty() && has_amounts {
            groups.iter().map(|g| g.rows).sum()
        } else {
            0
        };
        if self.opts.currency.is_some()
            && !currencies.is_empty()
            && !currencies
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case(chosen.code()))
        {
            return Err(IngestError::NoUsableRows {
                summary: format!(
                    "no row is billed in {chosen} (the input has {}); check --currency",
                    currencies.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        for g in groups.iter_mut() {
            match &g.currency {
                Some(c) if !c.trim().eq_ignore_ascii_case(chosen.code()) => {
                    g.reason = Reason::OtherCurrency;
                }
                // Other rows name their currency, this one does not: which currency its
                // amounts are in is unknown, so it is not counted as the chosen one.
                None if !currencies.is_empty() && g.reason != Reason::Unparseable => {
                    g.reason = Reason::NoCurrency;
                }
                _ => {}
            }
        }
        let mut source: BTreeMap<String, Totals> = BTreeMap::new();
        let mut by_reason: BTreeMap<(Reason, String), Totals> = BTreeMap::new();
        {
            // Summed under borrowed keys first: one entry per (reason, currency), not per group.
            let mut sums: BTreeMap<(Reason, &str), Totals> = BTreeMap::new();
            for g in groups.iter() {
                let cur = g.currency.as_deref().unwrap_or("(none)");
                sums.entry((g.reason, cur))
                    .or_default()
                    .add(&g.totals)
                    .map_err(|c| self.overflow(Some(g.file as usize), c))?;
            }
            for ((reason, cur), t) in sums {
                source
                    .entry(cur.to_string())
                    .or_default()
                    .add(&t)
                    .map_err(|c| self.overflow(None, c))?;
                by_reason.insert((reason, cur.to_string()), t);
            }
        }
        // The check: groups re-added must equal the per-currency source totals.
        let mut check: BTreeMap<String, Totals> = BTreeMap::new();
        for ((_, cur), t) in &by_reason {
            check
                .entry(cur.clone())
                .or_default()
                .add(t)
                .map_err(|c| self.overflow(None, c))?;
        }
        if check != source {
            return Err(IngestError::Reconciliation(
                "used + excluded rows do not add up to the source totals".into(),
            ));
        }
        // With --lenient, unreadable cost values are left out of the source totals: the
        // reconciliation says by which rows the totals are unknown instead of "balanced".
        let unknown = if by_reason.keys().any(|(r, _)| *r == Reason::Unparseable) {
            self.unknown_amounts()?
        } else {
            Vec::new()
        };
        let balanced = unknown.is_empty();
        let reconciliation = Reconciliation {
            source: source
                .into_iter()
                .map(|(currency, totals)| CurrencyTotals { currency, totals })
                .collect(),
            by_reason: by_reason
                .into_iter()
                .map(|((reason, currency), totals)| ReasonTotals {
                    reason,
                    currency,
                    totals,
                })
                .collect(),
            balanced,
            unknown,
        };
        let mut findings = Vec::new();
        for (i, notes) in self.notes.iter().enumerate() {
            for n in notes {
                findings.push(Finding {
                    code: "format_note".into(),
                    severity: Severity::Info,
                    count: 0,
                    message: format!("{}: {n}", self.files[i].path.display()),
                });
            }
        }
        findings.extend(self.input_findings.iter().cloned());
        for p in &self.parts {
            findings.extend(p.findings.iter().cloned());
        }
        // Sums beyond rust_decimal's 28 significant digits, by file and column.
        let mut dropped: BTreeMap<(u32, &str), u64> = BTreeMap::new();
        for g in groups.iter() {
            for c in &g.digits_dropped {
                *dropped.entry((g.file, c)).or_default() += 1;
            }
        }
        if !dropped.is_empty() {
            let count: u64 = dropped.values().sum();
            let places: Vec<String> = dropped
                .keys()
                .take(5)
                .map(|(f, c)| {
                    format!(
                        "{} `{}`",
                        self.files[*f as usize].path.display(),
                        self.source_column(*f as usize, c)
                    )
                })
                .collect();
            findings.push(Finding {
                code: "digits_dropped".into(),
                severity: Severity::Warning,
                count,
                message: format!(
                    "{count} exact sums have more than 28 significant digits (the precision of the decimals capplan computes with) and were rounded half-even to 28: {}{}",
                    places.join(", "),
                    if dropped.len() > 5 { ", …" } else { "" }
                ),
            });
        }
        let sum = |f: fn(&Group) -> u64| groups.iter().map(f).sum::<u64>();
        let repaired_amount: Decimal = groups.iter().map(|g| g.repaired_amount).sum();
        let counted = [
            (
                "effective_cost_zero",
                Severity::Warning,
                sum(|g| g.repaired_rows),
                format!(
                    "Standard-priced usage rows have EffectiveCost 0 but BilledCost > 0 (a known export defect); their billed cost ({} {chosen}) is used as effective cost in the series; the reconciliation keeps EffectiveCost as read",
                    repaired_amount.normalize()
                ),
            ),
            (
                "excess_decimals",
                Severity::Warning,
                sum(|g| g.excess_decimals),
                format!("cost values have more than {MONEY_SCALE} decimal places and were rounded half-even at the {MONEY_SCALE}th"),
            ),
            (
                "two_digit_year",
                Severity::Warning,
                sum(|g| g.two_digit_years),
                "rows have dates with a two-digit year (such as 4/1/25); read as 20YY (4/1/25 is 2025-04-01)".to_string(),
            ),
            (
                "unlabelled_refunds",
                Severity::Info,
                sum(|g| g.unlabelled_refunds),
                "rows have a negative quantity and a negative cost without ChargeClass=Correction; treated as refunds (they reduce usage in their bucket)".to_string(),
            ),
            (
                "respelled_values",
                Severity::Info,
                sum(|g| g.respelled),
                "rows spell FOCUS enumeration values differently from the specification (case such as Usage-based, or FOCUS 1.0 names such as On-Demand); normalised to the FOCUS 1.2 values".to_string(),
            ),
            (
                "billed_cost_missing",
                Severity::Warning,
                sum(|g| g.billed_missing),
                "rows have no billed cost (the cost column is empty or null, e.g. FOCUS BilledCost); counted as 0 in every sum".to_string(),
            ),
            (
                "restated_usage",
                Severity::Info,
                reconciliation.rows(Reason::RestatedUsage),
                "rows restate usage another row already counts (AWS `EBSOptimized:<type>` hours repeat the instance's own `BoxUsage` hours); excluded from quantity series as `restated_usage` (their cost stays in cost measures)".to_string(),
            ),
            (
                "no_currency",
                Severity::Warning,
                reconciliation.rows(Reason::NoCurrency),
                format!("rows have no billing currency while other rows name one; excluded as `no_currency` rather than counted as {chosen}"),
            ),
            (
                "currency_assumed",
                Severity::Warning,
                assumed_rows,
                format!(
                    "rows name no billing currency (no currency column, or it is empty); their amounts are read as {chosen} ({})",
                    if self.opts.currency.is_some() { "from --currency" } else { "the default; pass --currency to say which" }
                ),
            ),
            (
                "unparseable_rows",
                Severity::Warning,
                reconciliation.rows(Reason::Unparseable),
                "rows had values that could not be parsed and were excluded (--lenient)".to_string(),
            ),
        ];
        for (code, severity, count, what) in counted {
            if count > 0 {
                findings.push(Finding {
                    code: code.into(),
                    severity,
                    count,
                    message: format!("{count} {what}"),
                });
            }
        }
        self.text_findings(&mut findings);
        Ok((chosen, reconciliation, findings))
    }

    /// Cost values that could not be parsed, per canonical cost column: how many rows and the
    /// first few (file, row). Only runs when a query found unparseable rows (`--lenient`).
    fn unknown_amounts(&self) -> Result<Vec<UnknownAmounts>, IngestError> {
        let mut out: Vec<UnknownAmounts> = Vec::new();
        for column in ["billed_cost", "effective_cost", "list_cost"] {
            let code = format!("{column}:parse");
            let mut rows = 0u64;
            let mut first: Vec<(String, u64)> = Vec::new();
            let mut source_column = None;
            for (i, p) in self.parts.iter().enumerate() {
                let Some(check) = p.checks.iter().find(|c| c.code == code) else {
                    continue;
                };
                let df =
                    p.lf.clone()
                        .filter(check.cond.clone().fill_null(lit(false)))
                        .select([col(ROW_COL)])
                        .sort([ROW_COL], SortMultipleOptions::default())
                        .collect()
                        .map_err(|e| self.engine_error(e))?;
                if df.height() == 0 {
                    continue;
                }
                rows += df.height() as u64;
                let f = &self.files[i];
                let at = df.column(ROW_COL)?.cast(&DataType::UInt64)?;
                for r in at.u64()?.iter().flatten() {
                    if first.len() >= UnknownAmounts::SHOWN {
                        break;
                    }
                    first.push((f.path.display().to_string(), r));
                }
                if source_column.is_none() {
                    source_column = formats::mapping(f, &self.opts.tidy).ok().and_then(|m| {
                        m.sources.into_iter().find_map(|(n, s)| match s {
                            formats::Source::Column(c) if n == column => Some(c),
                            _ => None,
                        })
                    });
                }
            }
            if rows > 0 {
                out.push(UnknownAmounts {
                    column: column.to_string(),
                    source_column: source_column.unwrap_or_else(|| column.to_string()),
                    rows,
                    first,
                });
            }
        }
        Ok(out)
    }

    /// A sum that overflowed: in one file (`Some`) or across the inputs.
    fn overflow(&self, file: Option<usize>, canonical: &str) -> IngestError {
        match file {
            Some(i) => IngestError::SumOverflow {
                place: self.files[i].path.display().to_string(),
                column: self.source_column(i, canonical),
            },
            None => IngestError::SumOverflow {
                place: format!("the inputs ({} files)", self.files.len()),
                column: canonical.to_string(),
            },
        }
    }

    /// Findings that only need the headers and samples.
    fn text_findings(&self, findings: &mut Vec<Finding>) {
        for f in &self.files {
            if !f.null_markers_seen.is_empty() {
                let mut shown: Vec<&str> = Vec::new();
                for m in &f.null_markers_seen {
                    let m = match *m {
                        source::HIVE_NULL => "`\\N` (Hive's null marker)",
                        _ => "`NULL`",
                    };
                    if !shown.contains(&m) {
                        shown.push(m);
                    }
                }
                findings.push(Finding {
                    code: "null_strings".into(),
                    severity: Severity::Info,
                    count: 0,
                    message: format!(
                        "{}: literal {} text is read as a missing value",
                        f.path.display(),
                        shown.join(" and ")
                    ),
                });
            }
            if f.kind == source::FileKind::Parquet {
                continue;
            }
            for src in ["ChargePeriodStart", "lineItem/UsageStartDate"] {
                let s = f.sample_text(src, 5);
                if s.iter().any(|v| !v.contains('T') && v.len() >= 16) {
                    findings.push(Finding {
                        code: "timestamp_without_zone".into(),
                        severity: Severity::Info,
                        count: 0,
                        message: format!(
                            "{}: `{src}` values such as {:?} have no `T`/`Z`; read as UTC",
                            f.path.display(),
                            s[0]
                        ),
                    });
                }
            }
        }
    }

    /// Rows per input file, from the grouped query.
    pub(super) fn file_rows(&self, groups: &[Group]) -> Vec<u64> {
        let mut out = vec![0u64; self.files.len()];
        for g in groups {
            out[g.file as usize] += g.rows;
        }
        out
    }

    pub(super) fn summaries(&self, rows: &[u64]) -> Vec<FileSummary> {
        self.files
            .iter()
            .zip(rows)
            .map(|(f, r)| FileSummary {
                path: f.path.display().to_string(),
                kind: f.kind,
                format: f.format,
                version: (f.format == Format::Focus)
                    .then(|| formats::focus_version(&f.columns()).to_string()),
                rows: *r,
            })
            .collect()
    }
}
