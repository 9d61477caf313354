//! `capplan inspect`: what is in the inputs (formats, columns, time range, services,
//! accounts, currencies, gaps, reconciliation), from one grouped query over every canonical
//! column.

use super::canonical::PERIOD_COL;
use super::error::IngestError;
use super::pipeline::{Dim, Group, Loaded, Scope, micros_to_utc, truncate_micros};
use super::{Finding, Granularity, Inspection, Measure, Reason, Severity, ValueCount};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

impl Loaded {
    /// `capplan inspect`: what is in the inputs.
    pub fn inspect(&self) -> Result<Inspection, IngestError> {
        let dims = vec![
            Dim::canonical("provider", "provider"),
            Dim::canonical("service", "service"),
            Dim::canonical("account", "billing_account"),
            // Period seconds is computed inside `run`; exposed as a dimension.
            Dim {
                name: "period".into(),
                expr: col(PERIOD_COL).cast(DataType::String),
                canonical: None,
            },
        ];
        // `inspect` validates every canonical column, not only the ones it groups by.
        let (mut groups, dup, mut findings) = self.run(
            &dims,
            Scope::Everything,
            Granularity::Hour,
            Measure::Quantity,
            &[],
        )?;
        self.check_duplicates(dup, &mut findings)?;
        let (_, reconciliation, mut more) = self.account(&mut groups)?;
        findings.append(&mut more);
        let rows = self.file_rows(&groups);
        let usage: Vec<&Group> = groups
            .iter()
            .filter(|g| {
                matches!(
                    g.reason,
                    Reason::Used
                        | Reason::NoQuantity
                        | Reason::UnusedCommitment
                        | Reason::RestatedUsage
                )
            })
            .collect();
        // Most common charge period among usage rows.
        let mut periods: BTreeMap<i64, u64> = BTreeMap::new();
        for g in &usage {
            if let Some(p) = g.dims[3].as_deref().and_then(|p| p.parse::<f64>().ok()) {
                *periods.entry(p as i64).or_default() += g.rows;
            }
        }
        // Without charge period ends (a tidy table has only timestamps) the periods are
        // unknown: the granularity comes from the spacing of the files' sampled timestamps,
        // as `ingest` decides it.
        let granularity = periods
            .iter()
            .max_by_key(|(p, n)| (**n, -**p))
            .and_then(|(p, _)| Granularity::from_period_seconds(*p))
            .or_else(|| {
                (0..self.files.len())
                    .filter_map(|i| self.sample_granularity(i))
                    .max()
            });
        let buckets: BTreeSet<i64> = usage.iter().filter_map(|g| g.bucket).collect();
        let start = usage
            .iter()
            .filter_map(|g| g.bucket)
            .min()
            .map(micros_to_utc);
        // The span of usage: purchases and taxes can carry whole terms or months. Rows
        // without a period end (tidy tables) end one bucket after their timestamp's bucket.
        let bucket_end = |b: i64| {
            let g = granularity.unwrap_or(Granularity::Hour);
            g.next(micros_to_utc(truncate_micros(b, g)))
                .timestamp_micros()
        };
        let end = usage
            .iter()
            .filter_map(|g| g.max_end.or(g.bucket.map(bucket_end)))
            .max()
            .map(micros_to_utc);
        let assumed_end: u64 = usage
            .iter()
            .filter(|g| g.max_end.is_none() && g.bucket.is_some())
            .map(|g| g.rows)
            .sum();
        if assumed_end > 0
            && let Some(end) = end
        {
            findings.push(Finding {
                code: "period_end_assumed".into(),
                severity: Severity::Info,
                count: assumed_end,
                message: format!(
                    "{assumed_end} usage rows have no charge period end (a timestamp only); each is taken to last one {} bucket, so the span ends at {}",
                    granularity.unwrap_or(Granularity::Hour).name(),
                    end.format("%Y-%m-%d %H:%M")
                ),
            });
        }
        let gaps = match (granularity, buckets.first(), buckets.last()) {
            (Some(g), Some(first), Some(last)) => {
                let truncated: BTreeSet<i64> =
                    buckets.iter().map(|b| truncate_micros(*b, g)).collect();
                let mut t = micros_to_utc(truncate_micros(*first, g));
                let stop = micros_to_utc(*last);
                let mut missing = 0u64;
                while t <= stop {
                    if !truncated.contains(&t.timestamp_micros()) {
                        missing += 1;
                    }
                    t = g.next(t);
                }
                missing
            }
            _ => 0,
        };
        if gaps > 0 {
            findings.push(Finding {
                code: "gaps".into(),
                severity: Severity::Info,
                count: gaps,
                message: format!(
                    "{gaps} {} buckets between the first and last usage row have no usage at all",
                    granularity.map(|g| g.name()).unwrap_or("")
                ),
            });
        }
        let count_by =
            |idx: Option<usize>, use_currency: bool| -> Result<Vec<ValueCount>, IngestError> {
                let mut m: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
                for g in &groups {
                    let v = if use_currency {
                        g.currency.clone()
                    } else {
                        idx.and_then(|i| g.dims[i].clone())
                    }
                    .unwrap_or_else(|| "(none)".into());
                    let e = m.entry(v).or_default();
                    e.0 += g.rows;
                    e.1 = e.1.checked_add(g.totals.billed_cost).ok_or_else(|| {
                        IngestError::SumOverflow {
                            place: format!("the inputs ({} files)", self.files.len()),
                            column: "billed_cost".into(),
                        }
                    })?;
                }
                let mut v: Vec<ValueCount> = m
                    .into_iter()
                    .map(|(value, (rows, billed_cost))| ValueCount {
                        value,
                        rows,
                        billed_cost,
                    })
                    .collect();
                v.sort_by(|a, b| {
                    b.billed_cost
                        .cmp(&a.billed_cost)
                        .then(a.value.cmp(&b.value))
                });
                Ok(v)
            };
        Ok(Inspection {
            files: self.summaries(&rows),
            rows: reconciliation.total_rows(),
            start,
            end,
            granularity,
            providers: count_by(Some(0), false)?,
            services: count_by(Some(1), false)?,
            accounts: count_by(Some(2), false)?,
            currencies: count_by(None, true)?,
            gaps,
            reconciliation,
            findings,
        })
    }
}
