//! The plan file as written: a serde mirror of the schema in which every value keeps its
//! span, so the validator (`validate`) can name the line of any problem. Unknown
//! keys are refused here (`deny_unknown_fields`).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::Match;

/// An optional value with its position in the text.
pub(super) type S<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) name: S<String>,
    pub(super) as_of: S<toml::Value>,
    pub(super) horizon: S<String>,
    pub(super) events: S<String>,
    pub(super) rates: S<String>,
    pub(super) inventory: S<String>,
    pub(super) cost_of_capital: S<toml::Value>,
    pub(super) fiscal_year_start_month: S<i64>,
    pub(super) quarters: S<i64>,
    pub(super) inputs: S<RawInputs>,
    pub(super) series: S<RawSeries>,
    pub(super) forecast: S<RawForecast>,
    pub(super) budget: S<RawBudget>,
    pub(super) limit: Option<Vec<Spanned<RawLimit>>>,
    pub(super) scenario: S<RawScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInputs {
    pub(super) paths: S<Vec<Spanned<String>>>,
    pub(super) format: S<String>,
    pub(super) currency: S<String>,
    pub(super) lenient: Option<bool>,
    pub(super) allow_duplicates: Option<bool>,
    pub(super) tidy: Option<RawTidy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTidy {
    pub(super) time: S<String>,
    pub(super) quantity: S<String>,
    pub(super) unit: S<String>,
    pub(super) cost: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeries {
    pub(super) by: S<Vec<Spanned<String>>>,
    pub(super) granularity: S<String>,
    pub(super) filter: S<Match>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForecast {
    pub(super) windows: S<i64>,
    pub(super) backtest_horizon: S<String>,
    pub(super) step: S<String>,
    pub(super) anomaly_threshold: S<toml::Value>,
    pub(super) clean_anomalies: Option<bool>,
    pub(super) all_history: Option<bool>,
    pub(super) paths: S<i64>,
    pub(super) seed: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    pub(super) currency: S<String>,
    pub(super) total: Option<BTreeMap<String, Spanned<toml::Value>>>,
    pub(super) group: Option<Vec<Spanned<RawGroupBudget>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroupBudget {
    pub(super) name: S<String>,
    #[serde(rename = "match")]
    pub(super) match_: S<Match>,
    pub(super) quarters: Option<BTreeMap<String, Spanned<toml::Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    #[serde(rename = "match")]
    pub(super) match_: S<Match>,
    pub(super) value: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) demand: Option<Vec<Spanned<RawDemand>>>,
    pub(super) strategy: Option<Vec<Spanned<RawStrategy>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDemand {
    pub(super) name: S<String>,
    pub(super) quantile: S<toml::Value>,
    pub(super) multiplier: S<toml::Value>,
    pub(super) events: S<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStrategy {
    pub(super) name: S<String>,
    pub(super) kind: S<String>,
    pub(super) risk: S<String>,
    pub(super) risk_quantile: S<toml::Value>,
    pub(super) risk_cvar: S<toml::Value>,
    pub(super) ladder: S<String>,
    pub(super) ladder_months: S<i64>,
    pub(super) ladder_sizing: S<String>,
    pub(super) coverage_percent: S<toml::Value>,
    pub(super) term: S<String>,
    pub(super) purchase: Option<Vec<Spanned<RawPurchase>>>,
    pub(super) days: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPurchase {
    pub(super) pool: S<String>,
    pub(super) offer: S<String>,
    pub(super) quantity: S<i64>,
    pub(super) date: S<toml::Value>,
}
