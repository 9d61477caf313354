//! The pieces every benchmark company is made of: [`Company`], the rate card written as TOML
//! ([`rate_card`]), hourly pool series built from a demand shape ([`PoolDef`], [`hourly`]) and
//! the deterministic noise they use ([`hash01`], [`noise`]).
//!
//! Every random-looking number is a pure function of a seed and an hour index (SplitMix64
//! finaliser), so a series does not depend on the order it is built in.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use rust_decimal::Decimal;

use capplan::series::{Granularity, SeriesKey, UsageSeries};

/// One benchmark company: its rate card, its hourly demand per pool and its decision dates.
pub struct Company {
    /// Short name (`--company` selects it).
    pub name: String,
    /// The demand shape, in a few words (the table's `shape` column).
    pub shape: String,
    /// `synthetic`, or where the real series comes from.
    pub source: String,
    /// The rate card (TOML, parsed by `RateCard::from_toml_str`).
    pub card: String,
    /// Hourly instance counts, one series per pool.
    pub series: Vec<UsageSeries>,
    /// Decision dates (empty: every quarter start the backtest can serve).
    pub decisions: Vec<NaiveDate>,
}

/// The service every benchmark series belongs to.
pub const SERVICE: &str = "Compute";

/// Discounts off on-demand, in percent: standard RIs, 1 year (no / partial / all upfront) and
/// 3 years (the same). Within the 34–60 % range.
pub const DISCOUNTS: [(&str, &str, u32); 6] = [
    ("1y", "no_upfront", 34),
    ("1y", "partial_upfront", 36),
    ("1y", "all_upfront", 37),
    ("3y", "no_upfront", 53),
    ("3y", "partial_upfront", 57),
    ("3y", "all_upfront", 60),
];

/// Discounts of the Compute-Savings-Plan-style spend pool `--spend` adds (percent, same
/// terms and payments as [`DISCOUNTS`]): shallower than the RIs', as on AWS.
pub const SP_DISCOUNTS: [(&str, &str, u32); 6] = [
    ("1y", "no_upfront", 26),
    ("1y", "partial_upfront", 28),
    ("1y", "all_upfront", 29),
    ("3y", "no_upfront", 46),
    ("3y", "partial_upfront", 49),
    ("3y", "all_upfront", 51),
];

/// A spend-based pool over every series of [`SERVICE`] (any region, any type), in
/// on-demand-equivalent USD per hour, with the [`SP_DISCOUNTS`] offers.
pub fn spend_pool() -> String {
    let mut out = format!(
        "[[pool]]\nid = \"compute-sp\"\nmatch = {{ service = \"{SERVICE}\" }}\nunit = \"USD/hour on-demand equivalent\"\nseries_unit = \"USD\"\non_demand_rate = \"1\"\ncurrency = \"USD\"\noffer = [\n"
    );
    for (term, payment, pct) in SP_DISCOUNTS {
        let eff = Decimal::from(100 - pct) / Decimal::from(100);
        let (upfront, recurring) = fees(eff, term, payment);
        out.push_str(&format!(
            "  {{ id = \"compute-sp-{term}-{payment}\", kind = \"savings_plan_compute\", term = \"{term}\", payment = \"{payment}\", upfront = \"{upfront}\", recurring_hourly = \"{recurring}\" }},\n"
        ));
    }
    out.push_str("]\n\n");
    out
}

/// Upfront and hourly fee of an offer whose effective hourly rate is `eff`: all upfront
/// pays it for the whole term upfront; partial upfront pays half hourly (4 decimals) and the
/// rest upfront.
fn fees(eff: Decimal, term: &str, payment: &str) -> (Decimal, Decimal) {
    let hours = Decimal::from(if term == "1y" { 8760 } else { 3 * 8760 });
    match payment {
        "no_upfront" => (Decimal::ZERO, eff),
        "all_upfront" => (eff * hours, Decimal::ZERO),
        _ => {
            let r = (eff / Decimal::from(2)).round_dp(4);
            ((eff - r) * hours, r)
        }
    }
}

/// Pool id of `(region, instance type)`.
pub fn pool_id(region: &str, itype: &str) -> String {
    format!("{region}-{itype}")
}

/// A rate card with one pool per `(region, instance type, on-demand USD/h)`, matched on the
/// series' `region` and `instance_type`, in instance-hours, with the [`DISCOUNTS`] offers.
///
/// Effective hourly rate = on-demand × (1 − discount) to 4 decimals; all upfront pays it for
/// the whole term upfront; partial upfront pays half hourly (4 decimals) and the rest upfront.
pub fn rate_card(pools: &[(&str, &str, &str)]) -> anyhow::Result<String> {
    let mut out = String::new();
    for &(region, itype, od) in pools {
        let id = pool_id(region, itype);
        let rate: Decimal = od.parse()?;
        out.push_str(&format!(
            "[[pool]]\nid = \"{id}\"\nmatch = {{ service = \"{SERVICE}\", region = \"{region}\", instance_type = \"{itype}\" }}\nunit = \"instance-hours\"\nseries_unit = \"Hours\"\non_demand_rate = \"{od}\"\ncurrency = \"USD\"\noffer = [\n"
        ));
        for (term, payment, pct) in DISCOUNTS {
            let eff = (rate * Decimal::from(100 - pct) / Decimal::from(100)).round_dp(4);
            let (upfront, recurring) = fees(eff, term, payment);
            out.push_str(&format!(
                "  {{ id = \"{id}-ri-{term}-{payment}\", kind = \"ri_standard\", term = \"{term}\", payment = \"{payment}\", upfront = \"{upfront}\", recurring_hourly = \"{recurring}\" }},\n"
            ));
        }
        out.push_str("]\n\n");
    }
    Ok(out)
}

/// UTC midnight of a date.
pub fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A calendar date (the benchmark's own constants; invalid dates are a programming error
/// caught the first time the example runs).
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Uniform in `[0, 1)` from a seed and an index (SplitMix64 finaliser of `seed ⊕ index`).
pub fn hash01(seed: u64, i: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Roughly standard normal noise (sum of four uniforms, rescaled) from a seed and an index.
pub fn noise(seed: u64, i: u64) -> f64 {
    let s: f64 = (0..4)
        .map(|k| hash01(seed ^ ((k + 1) * 0x5851_F42D), i))
        .sum();
    (s - 2.0) * 3f64.sqrt()
}

/// Where an hour is: days since the series start, the day of the year (0-based), the hour of
/// the day and the day of the week (0 = Monday).
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// Days since the series start (fractional).
    pub d: f64,
    /// Day of the year, 0-based.
    pub doy: u32,
    /// Hour of the day.
    pub hour: u32,
    /// Day of the week, 0 = Monday.
    pub weekday: u32,
    /// The hour's index in the series.
    pub i: u64,
}

/// A business diurnal and weekly cycle with mean about 1: `amp` is the day/night swing.
pub fn cycle(w: &When, amp: f64) -> f64 {
    let h = w.hour as f64;
    let day = (std::f64::consts::PI * (h - 3.0) / 24.0).sin().powi(2); // peak at 15:00 UTC
    let week = if w.weekday >= 5 { 0.85 } else { 1.06 };
    (1.0 - amp / 2.0 + amp * day) * week
}

/// One pool of a synthetic company: the instance type, region and on-demand rate, and its
/// demand (instances) per hour.
pub struct PoolDef {
    /// Region.
    pub region: &'static str,
    /// Instance type.
    pub itype: &'static str,
    /// On-demand USD per instance-hour.
    pub od: &'static str,
    /// Instances in the hour (before rounding; negative is clamped to 0).
    pub demand: Box<dyn Fn(&When) -> f64>,
}

impl PoolDef {
    /// A pool from its demand function.
    pub fn new(
        region: &'static str,
        itype: &'static str,
        od: &'static str,
        demand: impl Fn(&When) -> f64 + 'static,
    ) -> Self {
        PoolDef {
            region,
            itype,
            od,
            demand: Box::new(demand),
        }
    }
}

/// The hourly instance-hours series of `(region, itype)` from `start` for `days` days: the
/// value at each hour is `demand(hour)` rounded to whole instances, at least 0.
pub fn hourly(
    region: &str,
    itype: &str,
    start: DateTime<Utc>,
    days: usize,
    demand: &dyn Fn(&When) -> f64,
) -> UsageSeries {
    let values = (0..days * 24)
        .map(|i| {
            let t = start + chrono::Duration::hours(i as i64);
            let w = When {
                d: i as f64 / 24.0,
                doy: t.ordinal0(),
                hour: t.hour(),
                weekday: t.weekday().num_days_from_monday(),
                i: i as u64,
            };
            demand(&w).max(0.0).round()
        })
        .collect();
    UsageSeries {
        key: SeriesKey(vec![
            ("service".into(), SERVICE.into()),
            ("region".into(), region.into()),
            ("instance_type".into(), itype.into()),
        ]),
        unit: "Hours".into(),
        granularity: Granularity::Hour,
        start,
        values,
        cost: None,
        gaps_filled: 0,
    }
}

/// A company from its pool definitions, all series starting at `start` for `days` days.
pub fn company(
    name: &str,
    shape: &str,
    start: DateTime<Utc>,
    days: usize,
    pools: Vec<PoolDef>,
    decisions: Vec<NaiveDate>,
) -> anyhow::Result<Company> {
    let spec: Vec<(&str, &str, &str)> = pools.iter().map(|p| (p.region, p.itype, p.od)).collect();
    let card = rate_card(&spec)?;
    let series = pools
        .iter()
        .map(|p| hourly(p.region, p.itype, start, days, &*p.demand))
        .collect();
    Ok(Company {
        name: name.into(),
        shape: shape.into(),
        source: "synthetic".into(),
        card,
        series,
        decisions,
    })
}

/// A smooth step from 0 (before `from`) to 1 (after `to`), linear in between; a sudden switch
/// when `from == to`. Arguments in days since the start.
pub fn ramp(d: f64, from: f64, to: f64) -> f64 {
    if d < from {
        0.0
    } else if d >= to {
        1.0
    } else {
        (d - from) / (to - from)
    }
}

/// Days from `start` to the date `y-m-d`.
pub fn days_to(start: DateTime<Utc>, y: i32, m: u32, d: u32) -> f64 {
    (day(y, m, d) - start).num_hours() as f64 / 24.0
}
