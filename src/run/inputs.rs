//! The run's inputs: the rate card, inventory and events files, the bill read once and its
//! three aggregations (pool usage, spend, display), and the planning frame (`as_of`, the
//! horizon, the quarters).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::{Frame, RunError, RunOptions, quarters};
use crate::forecast::events::EventSet;
use crate::ingest::{self, AggregateOptions, Filter, Ingested, InputOptions, Loaded, Measure};
use crate::money::Currency;
use crate::pricing::{Inventory, Pool, RateCard};
use crate::progress::Progress;
use crate::scenario::ScenarioFile;
use crate::series::{Granularity, Selector, SeriesKey, UsageSeries, cut_before};

/// The plan file and the files it names, read and checked.
pub(crate) struct Inputs {
    /// The plan file with its paths as written.
    pub(crate) display: ScenarioFile,
    /// The plan file with its paths resolved against its directory.
    pub(crate) plan: ScenarioFile,
    /// The plan file's name (for messages).
    pub(crate) file: String,
    /// The rate card.
    pub(crate) card: RateCard,
    /// Existing commitments (empty without an inventory file).
    pub(crate) inventory: Inventory,
    /// The budget currency, shared by every pool.
    pub(crate) currency: Currency,
    /// The plan's events (applied to the base demand).
    pub(crate) event_sets: Vec<EventSet>,
    /// Their files as written.
    pub(crate) event_names: Vec<String>,
}

/// The bill, read once, and its hourly usage by the pools' dimensions.
pub(crate) struct Bill {
    pub(crate) loaded: Loaded,
    pub(crate) filters: Vec<Filter>,
    pub(crate) pool_dims: Vec<String>,
    /// Hourly consumed quantity by every dimension the pools and budget groups match on.
    pub(crate) usage: Ingested,
}

pub(crate) fn read_text(path: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(path).map_err(|e| RunError::Read {
        path: path.display().to_string(),
        source: e,
    })
}

pub(crate) fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// Whether a series key matches every `dimension = value` of a plan file's filter.
pub(crate) fn key_matches(filter: &BTreeMap<String, String>, key: &SeriesKey) -> bool {
    Selector::exact(filter.iter().map(|(k, v)| (k.clone(), v.clone()))).matches(key)
}

/// The rate card, inventory and events of `plan`, checked against the budget currency.
pub(crate) fn read_inputs(plan: &ScenarioFile, base_dir: &Path) -> Result<Inputs, RunError> {
    let display = plan.clone();
    let plan = plan.clone().resolve_paths(base_dir);
    let file = plan.source_name.clone();
    let card = RateCard::from_toml_in_dir(
        &read_text(&plan.rates)?,
        &display.rates.display().to_string(),
        plan.rates.parent().unwrap_or(Path::new("")),
    )?;
    let inventory = match &plan.inventory {
        Some(p) => {
            let inv = Inventory::from_toml_str(
                &read_text(p)?,
                &display
                    .inventory
                    .as_ref()
                    .map_or(String::new(), |d| d.display().to_string()),
            )?;
            inv.validate(&card)?;
            inv
        }
        None => Inventory::default(),
    };
    let currency = Currency::new(&plan.budget.currency).map_err(|e| RunError::Input {
        file: file.clone(),
        line: 0,
        message: format!("budget.currency: {e}"),
    })?;
    for pool in card.pools() {
        if pool.currency() != currency {
            return Err(RunError::Input {
                file: display.rates.display().to_string(),
                line: pool.defined_at().1,
                message: format!(
                    "pool {} is priced in {}, the plan's budget currency is {}; use one currency",
                    pool.id(),
                    pool.currency(),
                    currency
                ),
            });
        }
    }
    let mut event_sets: Vec<EventSet> = Vec::new();
    let mut event_names = Vec::new();
    if let (Some(p), Some(d)) = (&plan.events, &display.events) {
        event_sets.push(EventSet::from_toml_str(
            &read_text(p)?,
            &d.display().to_string(),
        )?);
        event_names.push(d.display().to_string());
    }
    Ok(Inputs {
        display,
        plan,
        file,
        card,
        inventory,
        currency,
        event_sets,
        event_names,
    })
}

/// Reads the bill once and aggregates the pool usage (aggregation 1: hourly quantity by the
/// pools' and budget groups' dimensions).
pub(crate) fn read_bill(inp: &Inputs, progress: &dyn Progress) -> Result<Bill, RunError> {
    let plan = &inp.plan;
    progress.start("reading the bill", 1);
    let input = InputOptions {
        inputs: plan.inputs.paths.clone(),
        format: plan.inputs.format,
        currency: match &plan.inputs.currency {
            Some(c) => Some(Currency::new(c).map_err(|e| RunError::Input {
                file: inp.file.clone(),
                line: 0,
                message: format!("inputs.currency: {e}"),
            })?),
            None => None,
        },
        lenient: plan.inputs.lenient,
        allow_duplicates: plan.inputs.allow_duplicates,
        tidy: ingest::TidyColumns {
            time: plan.inputs.tidy.time.clone(),
            quantity: plan.inputs.tidy.quantity.clone(),
            unit: plan.inputs.tidy.unit.clone(),
            cost: plan.inputs.tidy.cost.clone(),
        },
    };
    let loaded = ingest::load(&input)?;
    let filters: Vec<Filter> = plan
        .series
        .filter
        .iter()
        .map(|(k, v)| Filter {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    let mut pool_dims: BTreeSet<String> = inp
        .card
        .pools()
        .iter()
        .flat_map(|p| p.match_rule().rules().keys().cloned())
        .collect();
    for g in &plan.budget.groups {
        pool_dims.extend(g.filter.keys().cloned());
    }
    let pool_dims: Vec<String> = pool_dims.into_iter().collect();
    let usage = loaded.aggregate(&AggregateOptions {
        by: pool_dims.clone(),
        granularity: Some(Granularity::Hour),
        filters: filters.clone(),
        measure: Measure::Quantity,
    })?;
    progress.inc();
    Ok(Bill {
        loaded,
        filters,
        pool_dims,
        usage,
    })
}

/// The planning frame: the data's extent, `as_of` (the option, the plan file's, else the day
/// after the data ends), the horizon, the quarters and months. Quarters that end after the
/// horizon add a warning.
pub(crate) fn frame(
    plan: &ScenarioFile,
    opts: &RunOptions,
    usage: &[UsageSeries],
    warnings: &mut Vec<String>,
) -> Result<Frame, RunError> {
    let data_start = usage
        .iter()
        .map(|s| s.start)
        .min()
        .ok_or_else(|| RunError::Data("the bill has no usage rows".into()))?;
    let data_end = usage
        .iter()
        .map(|s| s.time_at(s.values.len()))
        .max()
        .unwrap_or(data_start);
    let as_of = match opts.as_of.or(plan.as_of) {
        Some(d) => d,
        None => {
            let d = data_end.date_naive();
            if midnight(d) < data_end {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            }
        }
    };
    let start = midnight(as_of);
    if start <= data_start + Duration::days(28) {
        return Err(RunError::Data(format!(
            "as_of {as_of} leaves less than 4 weeks of history (the data starts {}); choose a later as_of",
            data_start.date_naive()
        )));
    }
    if start > data_end + Duration::days(1) {
        return Err(RunError::Data(format!(
            "as_of {as_of} is after the end of the data ({}); the plan would start from a gap. Choose as_of ≤ {}",
            data_end.date_naive(),
            data_end.date_naive()
        )));
    }
    let horizon_hours = plan.horizon.steps(3600);
    let quarters = plan.planned_quarters(as_of);
    let mut quarter_ranges = Vec::new();
    for q in &quarters {
        let (a, b) = q
            .bounds(plan.fiscal_year_start_month)
            .ok_or_else(|| RunError::Data(format!("quarter {q} is out of range")))?;
        let r = quarters::QuarterRange::new(a, b, as_of, horizon_hours);
        if r.truncated {
            warnings.push(format!(
                "{q} ends after the horizon ({}); its figures cover only the part inside it",
                plan.horizon
            ));
        }
        quarter_ranges.push(r);
    }
    Ok(Frame {
        data_start,
        data_end,
        as_of,
        start,
        horizon_hours,
        quarters,
        quarter_ranges,
        months: quarters::month_grid(horizon_hours),
    })
}

/// The pool usage history before the plan starts, of the series some pool covers that reach
/// the start.
pub(crate) fn pool_history(
    bill: &Bill,
    card: &RateCard,
    start: DateTime<Utc>,
) -> (Vec<UsageSeries>, Vec<UsageSeries>) {
    let history = cut_before(&bill.usage.series, start);
    let pool_series: Vec<UsageSeries> = history
        .iter()
        .filter(|s| {
            card.pools()
                .iter()
                .any(|p| p.covers_series(&s.key, &s.unit))
        })
        .filter(|s| s.time_at(s.values.len()) >= start)
        .cloned()
        .collect();
    (history, pool_series)
}

/// Aggregation 2: daily effective cost by the pools' dimensions, history before `start`, of
/// the series no planned pool covers that reach the start and spent something ("other
/// spend").
pub(crate) fn spend_history(
    bill: &Bill,
    runs: &[super::pools::PoolRun],
    card: &RateCard,
    start: DateTime<Utc>,
) -> Result<Vec<UsageSeries>, RunError> {
    let planned_ids: Vec<&str> = runs.iter().map(|r| r.pool_id.as_str()).collect();
    let planned_rules: Vec<&Pool> = card
        .pools()
        .iter()
        .filter(|p| planned_ids.contains(&p.id()))
        .collect();
    let spend = bill.loaded.aggregate(&AggregateOptions {
        by: bill.pool_dims.clone(),
        granularity: Some(Granularity::Day),
        filters: bill.filters.clone(),
        measure: Measure::EffectiveCost,
    })?;
    let spend_hist = cut_before(&spend.series, start);
    Ok(spend_hist
        .iter()
        .filter(|s| {
            !planned_rules
                .iter()
                .any(|p| p.match_rule().selector().matches(&s.key))
        })
        .filter(|s| s.time_at(s.values.len()) >= start && s.values.iter().any(|v| *v != 0.0))
        .cloned()
        .collect())
}

/// Aggregation 3: the plan file's display series (`series.by` at `series.granularity`,
/// default daily), history before `start`, of the series that reach the start.
pub(crate) fn display_history(
    bill: &Bill,
    plan: &ScenarioFile,
    start: DateTime<Utc>,
) -> Result<Vec<UsageSeries>, RunError> {
    let disp = bill.loaded.aggregate(&AggregateOptions {
        by: plan.series.by.clone(),
        granularity: Some(plan.series.granularity.unwrap_or(Granularity::Day)),
        filters: bill.filters.clone(),
        measure: Measure::Quantity,
    })?;
    Ok(cut_before(&disp.series, start)
        .into_iter()
        .filter(|s| s.time_at(s.values.len()) >= start)
        .collect())
}

/// A file path as the user wrote it: the resolved input prefix replaced by the written one.
pub(crate) fn shown_path(path: &str, resolved: &[String], written: &[String]) -> String {
    for (r, w) in resolved.iter().zip(written) {
        if path == r {
            return w.clone();
        }
        if let Some(rest) = path.strip_prefix(r.as_str()) {
            return format!("{w}{rest}");
        }
        if let Some(dir) = Path::new(r).parent()
            && let Some(rest) = path.strip_prefix(&*dir.to_string_lossy())
            && let Some(wdir) = Path::new(w).parent()
        {
            let rest = rest.trim_start_matches('/');
            return if wdir.as_os_str().is_empty() {
                rest.to_string()
            } else {
                format!("{}/{rest}", wdir.display())
            };
        }
    }
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned())
}
