//! The stage boundary: a regular usage series and its key, shared by ingest (which makes
//! them), forecast and plan (which read them). No polars here.
//!
//! - [`UsageSeries`], [`SeriesKey`] and [`Granularity`] (the one time bucket of every stage;
//!   the forecast stage adds its seasonal periods to it in `forecast`);
//! - [`Selector`], the one rule "these dimensions have these values" that selects series (event
//!   filters, rate-card pools);
//! - [`cut_before`], a history truncated at a time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::money::Money;

/// Time bucket of the output series.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One bucket per hour.
    Hour,
    /// One bucket per UTC day.
    Day,
    /// One bucket per week (weeks start on Monday, UTC).
    Week,
    /// One bucket per calendar month (UTC).
    Month,
}

impl Granularity {
    /// Nominal length in seconds (months as 30 days; used for comparisons only).
    pub fn nominal_seconds(&self) -> i64 {
        match self {
            Granularity::Hour => 3_600,
            Granularity::Day => 86_400,
            Granularity::Week => 7 * 86_400,
            Granularity::Month => 30 * 86_400,
        }
    }

    /// The next bucket start after `t` (which must be a bucket start).
    pub fn next(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Granularity::Hour => t + chrono::Duration::hours(1),
            Granularity::Day => t + chrono::Duration::days(1),
            Granularity::Week => t + chrono::Duration::weeks(1),
            Granularity::Month => t.checked_add_months(chrono::Months::new(1)).unwrap_or(t),
        }
    }

    /// Name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The finest granularity whose nominal length is at least `seconds`.
    pub fn from_period_seconds(seconds: i64) -> Option<Granularity> {
        [
            Granularity::Hour,
            Granularity::Day,
            Granularity::Week,
            Granularity::Month,
        ]
        .into_iter()
        .find(|g| seconds <= g.nominal_seconds() + g.nominal_seconds() / 10)
    }
}

/// An ordered dimension → value map identifying a series. Missing values are `(none)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SeriesKey(pub Vec<(String, String)>);

impl std::fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// A regular, gap-filled, UTC usage series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageSeries {
    /// Which series: its dimension values.
    pub key: SeriesKey,
    /// Unit of `values` (the consumed unit, or the currency code for cost measures).
    pub unit: String,
    /// Bucket length.
    pub granularity: Granularity,
    /// Start of the first bucket.
    pub start: DateTime<Utc>,
    /// One value per bucket.
    pub values: Vec<f64>,
    /// Effective cost per bucket, exact.
    pub cost: Option<Vec<Money>>,
    /// Buckets that had no rows and were filled with zero.
    pub gaps_filled: usize,
}

impl UsageSeries {
    /// Start of bucket `i`.
    pub fn time_at(&self, i: usize) -> DateTime<Utc> {
        let mut t = self.start;
        if self.granularity == Granularity::Month {
            for _ in 0..i {
                t = self.granularity.next(t);
            }
            t
        } else {
            t + chrono::Duration::seconds(self.granularity.nominal_seconds() * i as i64)
        }
    }
}

/// Which series a rule selects, by dimension: every listed dimension must be present in the
/// series key with one of its accepted values (one value is the common case). Dimensions of the
/// key that the selector does not list are ignored; an empty selector selects every series.
/// When a key repeats a dimension, its first value counts.
///
/// The one dimension matcher of capplan: event filters (`forecast::events::Filter`) and
/// rate-card pools (`pricing::MatchRule`) match through it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Selector(BTreeMap<String, Vec<String>>);

impl Selector {
    /// A selector from `dimension → accepted values`.
    pub fn new(dims: BTreeMap<String, Vec<String>>) -> Self {
        Selector(dims)
    }

    /// A selector that accepts exactly one value per dimension.
    pub fn exact<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (String, String)>,
    {
        Selector(pairs.into_iter().map(|(d, v)| (d, vec![v])).collect())
    }

    /// The dimension → accepted values map, ordered by dimension.
    pub fn dims(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// True when the selector lists no dimension (it selects every series).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the series with this key is selected.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.matches_dims(key.0.iter().map(|(d, v)| (d.as_str(), v.as_str())))
    }

    /// Whether a series with these `(dimension, value)` pairs is selected (the pairs of a
    /// [`SeriesKey`], or any other source of them).
    pub fn matches_dims<'a, I>(&self, dims: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        if self.0.is_empty() {
            return true;
        }
        let dims: Vec<(&str, &str)> = dims.into_iter().collect();
        self.0.iter().all(|(dim, accepted)| {
            dims.iter()
                .find(|(d, _)| d == dim)
                .is_some_and(|(_, v)| accepted.iter().any(|a| a == v))
        })
    }
}

/// The history of each series strictly before `cut`; series that end earlier keep all they
/// have, and series left with no value are dropped.
pub fn cut_before(series: &[UsageSeries], cut: DateTime<Utc>) -> Vec<UsageSeries> {
    let mut out = series.to_vec();
    for s in &mut out {
        let mut keep = 0;
        while keep < s.values.len() && s.time_at(keep) < cut {
            keep += 1;
        }
        s.values.truncate(keep);
        if let Some(c) = s.cost.as_mut() {
            c.truncate(keep);
        }
    }
    out.retain(|s| !s.values.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::money::{Currency, Money};

    fn key(pairs: &[(&str, &str)]) -> SeriesKey {
        SeriesKey(
            pairs
                .iter()
                .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn selector(pairs: &[(&str, &[&str])]) -> Selector {
        Selector::new(
            pairs
                .iter()
                .map(|(d, vs)| {
                    (
                        (*d).to_owned(),
                        vs.iter().map(|v| (*v).to_owned()).collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn selector_requires_every_listed_dimension() {
        let s = selector(&[("region", &["eu"]), ("service", &["EC2"])]);
        assert!(s.matches(&key(&[("service", "EC2"), ("region", "eu"), ("x", "y")])));
        assert!(!s.matches(&key(&[("service", "EC2")])));
        assert!(!s.matches(&key(&[("service", "EC2"), ("region", "us")])));
        assert!(!s.matches(&key(&[])));
    }

    #[test]
    fn selector_accepts_any_listed_value() {
        let s = selector(&[("region", &["eu", "us"])]);
        assert!(s.matches(&key(&[("region", "eu")])));
        assert!(s.matches(&key(&[("region", "us")])));
        assert!(!s.matches(&key(&[("region", "ap")])));
        assert!(s.matches_dims([("region", "us"), ("service", "x")]));
    }

    #[test]
    fn empty_selector_selects_everything() {
        assert!(Selector::default().is_empty());
        assert!(Selector::default().matches(&key(&[])));
        assert!(Selector::default().matches(&key(&[("a", "b")])));
    }

    #[test]
    fn selector_uses_the_first_value_of_a_repeated_dimension() {
        let s = Selector::exact([("region".to_owned(), "eu".to_owned())]);
        assert_eq!(s.dims()["region"], vec!["eu".to_owned()]);
        assert!(s.matches(&key(&[("region", "eu"), ("region", "us")])));
        assert!(!s.matches(&key(&[("region", "us"), ("region", "eu")])));
    }

    #[test]
    fn cut_before_keeps_history_strictly_before_the_cut() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let series = |k: &str, n: usize, cost: bool| UsageSeries {
            key: key(&[("s", k)]),
            unit: "Hours".into(),
            granularity: Granularity::Hour,
            start,
            values: (0..n).map(|i| i as f64).collect(),
            cost: cost.then(|| {
                (0..n)
                    .map(|i| Money::new(rust_decimal::Decimal::from(i), Currency::USD))
                    .collect()
            }),
            gaps_filled: 0,
        };
        let all = vec![series("long", 10, true), series("short", 2, false)];
        let cut = start + chrono::Duration::hours(4);
        let out = cut_before(&all, cut);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].values, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(out[0].cost.as_ref().map(Vec::len), Some(4));
        assert_eq!(out[1].values, vec![0.0, 1.0]);
        // Nothing before the first bucket: the series is dropped.
        assert!(cut_before(&all, start).is_empty());
    }
}
