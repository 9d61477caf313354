//! The stage boundary: a regular usage series and its key, shared by ingest (which makes
//! them), forecast and plan (which read them). No polars here.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::money::Money;

/// Time bucket of the output series.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Hour,
    Day,
    Week,
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
    pub key: SeriesKey,
    /// Unit of `values` (the consumed unit, or the currency code for cost measures).
    pub unit: String,
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
