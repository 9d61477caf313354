//! Each series' own span and its zero-filling: a series is regular (one value per bucket)
//! only between its own first and last bucket, never over the whole input's time axis.
//!
//! - A bill's rows are known for its billing periods: inside them, a bucket without a usage
//!   row is usage that was zero. Bill files whose spans touch or overlap (within
//!   [`BILL_GAP_DAYS`]) are one bill; a series from a bill spans the bill (a service that stops
//!   is zero to the bill's end), and bills years apart are never joined by zeros.
//! - A tidy panel's series (metrics) start and end with their own data.
//!
//! Fills are counted per series ([`fills_finding`]) and the points a run would allocate are
//! bounded before anything is allocated ([`MAX_POINTS`]).

use super::Reason;
use super::error::IngestError;
use super::formats::Format;
use super::pipeline::{Dim, Group, Loaded, micros_to_utc};
use super::{AggregateOptions, Finding, Granularity, Measure, SeriesKey, Severity, UsageSeries};
use crate::money::{Currency, Money};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, HashMap};

/// Bill files whose spans are at most this far apart are one bill (monthly files of one
/// export, a month missing in a folder of months).
pub(super) const BILL_GAP_DAYS: i64 = 31;

/// The most points (series × buckets) one aggregation allocates: about 1.6 GB of values and
/// exact costs. Beyond it the error suggests a coarser granularity or fewer dimensions.
pub(super) const MAX_POINTS: u64 = 50_000_000;

/// The span `[first, last]` (bucket starts, µs) of the bill each bill file belongs to;
/// `None` for tidy files and files without usage rows.
pub(super) type BillSpans = Vec<Option<(i64, i64)>>;

impl Loaded {
    /// Each bill file's bill span: its own usage buckets (every usage row, used or not: the
    /// billing periods are what bounds zero usage), joined with the other bill files' spans
    /// that overlap or lie within [`BILL_GAP_DAYS`].
    pub(super) fn bill_spans(&self, groups: &[Group]) -> BillSpans {
        let mut own: Vec<Option<(i64, i64)>> = vec![None; self.files.len()];
        for g in groups {
            let usage = matches!(
                g.reason,
                Reason::Used
                    | Reason::NoQuantity
                    | Reason::UnusedCommitment
                    | Reason::Filtered
                    | Reason::OtherCurrency
            );
            let file = g.file as usize;
            if !usage || self.files[file].format == Format::Tidy {
                continue;
            }
            if let Some(b) = g.bucket {
                let e = own[file].get_or_insert((b, b));
                e.0 = e.0.min(b);
                e.1 = e.1.max(b);
            }
        }
        // Join touching spans, in order of start.
        let mut order: Vec<usize> = (0..own.len()).filter(|i| own[*i].is_some()).collect();
        order.sort_by_key(|i| own[*i]);
        let gap = BILL_GAP_DAYS * 86_400_000_000;
        let mut bills: Vec<((i64, i64), Vec<usize>)> = Vec::new();
        for i in order {
            let Some((a, b)) = own[i] else { continue };
            match bills.last_mut() {
                Some(((_, end), members)) if a <= end.saturating_add(gap) => {
                    *end = (*end).max(b);
                    members.push(i);
                }
                _ => bills.push(((a, b), vec![i])),
            }
        }
        let mut out = vec![None; own.len()];
        for (span, members) in bills {
            for i in members {
                out[i] = Some(span);
            }
        }
        out
    }

    /// The regular series of the used groups, each over its own span, zero-filled inside it;
    /// what it left out goes to `extra`.
    pub(super) fn build_series(
        &self,
        groups: &[Group],
        dims: &[Dim],
        opts: &AggregateOptions,
        (granularity, currency): (Granularity, Currency),
        extra: &mut Vec<Finding>,
    ) -> Result<Vec<UsageSeries>, IngestError> {
        let bills = self.bill_spans(groups);
        let used = groups.iter().filter(|g| g.reason == Reason::Used);
        // Per series: exact measure and cost per bucket (sparse) and its span.
        struct Acc {
            buckets: BTreeMap<i64, (Decimal, Decimal)>,
            /// Buckets of tidy rows.
            span: Option<(i64, i64)>,
            /// Spans of the bills the rows come from.
            bills: std::collections::BTreeSet<(i64, i64)>,
            file: u32,
        }
        let widen = |span: &mut Option<(i64, i64)>, (a, b): (i64, i64)| {
            let e = span.get_or_insert((a, b));
            e.0 = e.0.min(a);
            e.1 = e.1.max(b);
        };
        let overflow = |file: u32, canonical: &str| IngestError::SumOverflow {
            place: self.files[file as usize].path.display().to_string(),
            column: self.source_column(file as usize, canonical),
        };
        let measure_column = match opts.measure {
            Measure::Quantity => "consumed_quantity",
            Measure::BilledCost => "billed_cost",
            Measure::EffectiveCost => "effective_cost",
            Measure::ListCost => "list_cost",
        };
        // Groups are looked up by their borrowed values; a series key is built once per series.
        let mut slot: HashMap<(&[Option<String>], Option<&str>), usize> = HashMap::new();
        let mut accs: Vec<((SeriesKey, String), Acc)> = Vec::new();
        for g in used {
            let Some(b) = g.bucket else { continue };
            let unit_value = match opts.measure {
                Measure::Quantity => g.unit.as_deref(),
                _ => None,
            };
            let at = *slot.entry((&g.dims, unit_value)).or_insert_with(|| {
                let key = SeriesKey(
                    dims.iter()
                        .zip(&g.dims)
                        .map(|(Dim { name, .. }, v)| {
                            (name.clone(), v.clone().unwrap_or_else(|| "(none)".into()))
                        })
                        .collect(),
                );
                let unit = match opts.measure {
                    Measure::Quantity => g.unit.clone().unwrap_or_else(|| "(none)".into()),
                    _ => currency.code().to_string(),
                };
                accs.push((
                    (key, unit),
                    Acc {
                        buckets: BTreeMap::new(),
                        span: None,
                        bills: Default::default(),
                        file: g.file,
                    },
                ));
                accs.len() - 1
            });
            let acc = &mut accs[at].1;
            let e = acc
                .buckets
                .entry(b)
                .or_insert((Decimal::ZERO, Decimal::ZERO));
            e.0 =
                e.0.checked_add(g.measured)
                    .ok_or_else(|| overflow(g.file, measure_column))?;
            e.1 =
                e.1.checked_add(g.series_cost)
                    .ok_or_else(|| overflow(g.file, "effective_cost"))?;
            match bills.get(g.file as usize).copied().flatten() {
                Some(bill) => {
                    acc.bills.insert(bill);
                }
                None => widen(&mut acc.span, (b, b)),
            }
        }
        // Distinct group values can name the same series (a value and a missing one both read
        // "(none)"): merge them, in key order.
        let mut merged: BTreeMap<(SeriesKey, String), Acc> = BTreeMap::new();
        for (key, acc) in accs {
            match merged.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(acc);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let e = o.get_mut();
                    for (b, (m, c)) in acc.buckets {
                        let slot = e.buckets.entry(b).or_insert((Decimal::ZERO, Decimal::ZERO));
                        slot.0 = slot
                            .0
                            .checked_add(m)
                            .ok_or_else(|| overflow(acc.file, measure_column))?;
                        slot.1 = slot
                            .1
                            .checked_add(c)
                            .ok_or_else(|| overflow(acc.file, "effective_cost"))?;
                    }
                    if let Some(s) = acc.span {
                        widen(&mut e.span, s);
                    }
                    e.bills.extend(acc.bills);
                }
            }
        }
        // A series from bills years apart is not joined by zeros: it spans its latest bill;
        // what earlier bills held is left out and reported.
        let mut left_out: Vec<String> = Vec::new();
        let mut left_out_buckets = 0u64;
        for ((key, unit), acc) in merged.iter_mut() {
            if let Some(&latest) = acc.bills.iter().next_back() {
                widen(&mut acc.span, latest);
                let from = acc.span.map_or(latest.0, |s| s.0);
                let earlier: Vec<i64> = acc.buckets.range(..from).map(|(b, _)| *b).collect();
                if !earlier.is_empty() {
                    left_out_buckets += earlier.len() as u64;
                    left_out.push(format!(
                        "{key} ({unit}): {} buckets from {} to {}",
                        earlier.len(),
                        micros_to_utc(earlier[0]).format("%Y-%m-%d %H:%M"),
                        micros_to_utc(earlier[earlier.len() - 1]).format("%Y-%m-%d %H:%M")
                    ));
                    for b in earlier {
                        acc.buckets.remove(&b);
                    }
                }
            }
        }
        if !left_out.is_empty() {
            extra.push(Finding {
                code: "earlier_bills_left_out".into(),
                severity: Severity::Warning,
                count: left_out_buckets,
                message: format!(
                    "{left_out_buckets} buckets of {} series come from bills that end more than {BILL_GAP_DAYS} days before the series' latest bill; the time between is unknown (not zero usage), so each series spans its latest bill only and leaves them out: {}{}",
                    left_out.len(),
                    left_out.iter().take(10).cloned().collect::<Vec<_>>().join("; "),
                    if left_out.len() > 10 { "; …" } else { "" }
                ),
            });
        }
        // Bound the allocation before making it.
        let mut total = 0u64;
        let mut widest: Option<(u64, &SeriesKey, (i64, i64))> = None;
        for ((key, _), acc) in &merged {
            let Some(span) = acc.span else { continue };
            let n = buckets_between(span, granularity);
            total = total.saturating_add(n);
            if widest.is_none_or(|(w, _, _)| n > w) {
                widest = Some((n, key, span));
            }
        }
        if total > MAX_POINTS
            && let Some((n, key, (a, b))) = widest
        {
            return Err(IngestError::TooManyPoints {
                what: format!("{} series of {} buckets", merged.len(), granularity.name()),
                points: total,
                limit: MAX_POINTS,
                fix: format!(
                    "the longest, {key}, spans {n} buckets from {} to {}; use a coarser --granularity, fewer --by dimensions or a --filter",
                    micros_to_utc(a).format("%Y-%m-%d %H:%M"),
                    micros_to_utc(b).format("%Y-%m-%d %H:%M")
                ),
            });
        }
        let mut out = Vec::with_capacity(merged.len());
        for ((key, unit), acc) in merged {
            let Some((first, last)) = acc.span else {
                continue;
            };
            let n = buckets_between((first, last), granularity) as usize;
            let mut values = Vec::with_capacity(n);
            let mut cost = Vec::with_capacity(n);
            let mut gaps = 0usize;
            let mut t = micros_to_utc(first);
            let stop = micros_to_utc(last);
            while t <= stop {
                match acc.buckets.get(&t.timestamp_micros()) {
                    Some((m, c)) => {
                        values.push(m.to_f64().unwrap_or(0.0));
                        cost.push(Money::new(c.normalize(), currency));
                    }
                    None => {
                        values.push(0.0);
                        cost.push(Money::new(Decimal::ZERO, currency));
                        gaps += 1;
                    }
                }
                t = granularity.next(t);
            }
            out.push(UsageSeries {
                key,
                unit,
                granularity,
                start: micros_to_utc(first),
                values,
                cost: Some(cost),
                gaps_filled: gaps,
            });
        }
        Ok(out)
    }
}

/// Buckets from `first` to `last` inclusive (both bucket starts), without allocating.
pub(super) fn buckets_between((first, last): (i64, i64), g: Granularity) -> u64 {
    if last < first {
        return 0;
    }
    match g {
        Granularity::Month => {
            use chrono::Datelike as _;
            let (a, b) = (micros_to_utc(first), micros_to_utc(last));
            let months =
                (b.year() as i64 - a.year() as i64) * 12 + b.month() as i64 - a.month() as i64;
            months.max(0) as u64 + 1
        }
        _ => ((last - first) / (g.nominal_seconds() * 1_000_000)) as u64 + 1,
    }
}

/// The zero-filled buckets, per series: one finding naming the series with fills (most
/// first, at most ten named).
pub(super) fn fills_finding(series: &[UsageSeries], g: Granularity) -> Option<Finding> {
    let total: usize = series.iter().map(|s| s.gaps_filled).sum();
    if total == 0 {
        return None;
    }
    let mut filled: Vec<&UsageSeries> = series.iter().filter(|s| s.gaps_filled > 0).collect();
    filled.sort_by(|a, b| b.gaps_filled.cmp(&a.gaps_filled).then(a.key.cmp(&b.key)));
    let named: Vec<String> = filled
        .iter()
        .take(10)
        .map(|s| {
            format!(
                "{} ({}): {} of {}",
                if s.key.0.is_empty() {
                    "(all)".to_string()
                } else {
                    s.key.to_string()
                },
                s.unit,
                s.gaps_filled,
                s.values.len()
            )
        })
        .collect();
    Some(Finding {
        code: "gaps_filled".into(),
        severity: Severity::Info,
        count: total as u64,
        message: format!(
            "{total} empty {} buckets inside the series' own spans were filled with 0 ({} of {} series): {}{}",
            g.name(),
            filled.len(),
            series.len(),
            named.join("; "),
            if filled.len() > 10 { "; …" } else { "" }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_buckets_without_allocating() {
        let h = 3_600_000_000i64;
        assert_eq!(buckets_between((0, 0), Granularity::Hour), 1);
        assert_eq!(buckets_between((0, 23 * h), Granularity::Hour), 24);
        assert_eq!(buckets_between((5, 0), Granularity::Hour), 0);
        let jan = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let mar_next = chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(buckets_between((jan, mar_next), Granularity::Month), 15);
    }
}
