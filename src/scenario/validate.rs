//! Validation of the plan file: from the spanned `raw` mirror to the model,
//! with a [`Diagnostic`](crate::diagnostic::Diagnostic) naming the line, column and key of
//! the first problem. The strategies' section is in [`strategies`]; the value readers
//! (numbers, dates, choices, ...) are at the end of this file.

mod strategies;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use toml::Spanned;

use super::raw::{RawBudget, RawDemand, RawFile, RawForecast, RawInputs, RawLimit, RawSeries, S};
use super::{
    Budgets, CapacityLimit, DEFAULT_CURRENCY, DEFAULT_HORIZON, DEFAULT_NAME, DEFAULT_QUARTERS,
    DemandScenario, DemandSource, FiscalQuarter, ForecastOptions, GroupBudget, Inputs, Match,
    QUANTILE_LEVELS, ScenarioError, ScenarioFile, SeriesSettings, Span, TidyColumns,
    default_demand, default_strategies,
};
use crate::diagnostic::{TomlErrorKind, TomlSource, did_you_mean};
use crate::ingest::Format;
use crate::series::Granularity;

/// The most sample-path values (paths × horizon hours) a plan file may ask for per pool:
/// 100 million f64 (800 MB), far above the defaults (3 years × 200 paths = 5.3 million).
const MAX_PATH_VALUES: u64 = 100_000_000;

/// Parses and validates a plan file (see [`ScenarioFile::from_toml_str`]).
pub(super) fn parse(text: &str, source_name: &str) -> Result<ScenarioFile, ScenarioError> {
    let src = TomlSource::new(source_name, text, REFERENCE);
    let raw: RawFile = toml::from_str(text).map_err(|e| match src.toml_error(&e) {
        (TomlErrorKind::UnknownKey, d) => ScenarioError::UnknownKey(Box::new(d)),
        (TomlErrorKind::MissingKey | TomlErrorKind::Syntax, d) => {
            ScenarioError::Syntax(Box::new(d))
        }
    })?;
    Ctx { src }.validate(raw)
}

/// Where the plan file's schema is documented, for fixes.
const REFERENCE: &str = "the plan file reference";

/// Validates the raw file, building diagnostics at the spans of the values.
struct Ctx<'a> {
    src: TomlSource<'a>,
}

const DATE_EXPECTED: &str = "a date like 2026-10-01 (TOML date) or \"2026-10-01\"";
const DECIMAL_EXPECTED: &str = "a decimal number like \"0.08\" (string, integer or float)";

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
        fix: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid(Box::new(self.src.at(span, key, problem, expected, fix)))
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.src.line(span.start)
    }

    fn validate(&self, raw: RawFile) -> Result<ScenarioFile, ScenarioError> {
        let name = match raw.name {
            None => DEFAULT_NAME.to_string(),
            Some(n) => {
                let v = n.get_ref().trim();
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    || v.starts_with('.')
                {
                    return Err(self.err(
                        n.span(),
                        "name",
                        format!("{:?} cannot be used in a file name", n.get_ref()),
                        "letters, digits, `.`, `_` and `-`, not starting with `.`",
                        "rename the run, e.g. name = \"northwind-quarterly\"",
                    ));
                }
                v.to_string()
            }
        };
        let as_of = raw
            .as_of
            .as_ref()
            .map(|v| self.date(v, "as_of"))
            .transpose()?;
        let horizon = match &raw.horizon {
            None => Span::parse(DEFAULT_HORIZON).expect("valid default"),
            Some(h) => self.span(h, "horizon")?,
        };
        let inputs = self.inputs(raw.inputs)?;
        let rates = match raw.rates {
            Some(r) => self.path(&r, "rates")?,
            None => {
                return Err(self.err(
                    0..0,
                    "rates",
                    "is missing",
                    "the path of the rate card, e.g. rates = \"rates.toml\"",
                    "add `rates = \"...\"` before the first [table] (a relative path is relative to this file)",
                ));
            }
        };
        let events = raw
            .events
            .as_ref()
            .map(|p| self.path(p, "events"))
            .transpose()?;
        let inventory = raw
            .inventory
            .as_ref()
            .map(|p| self.path(p, "inventory"))
            .transpose()?;
        let cost_of_capital = match &raw.cost_of_capital {
            None => Decimal::ZERO,
            Some(v) => {
                let d = self.decimal(v, "cost_of_capital")?;
                if d < Decimal::ZERO || d > Decimal::ONE {
                    return Err(self.err(
                        v.span(),
                        "cost_of_capital",
                        format!("is {d}"),
                        "an annual rate from 0 to 1, e.g. \"0.08\" for 8 %",
                        "write the rate as a fraction, not a percentage",
                    ));
                }
                d
            }
        };
        let fiscal_year_start_month = match &raw.fiscal_year_start_month {
            None => 1,
            Some(m) => {
                self.int_in(m, "fiscal_year_start_month", 1, 12, "1 = January, 7 = July")? as u32
            }
        };
        let quarters = match &raw.quarters {
            None => DEFAULT_QUARTERS,
            Some(q) => self.int_in(
                q,
                "quarters",
                1,
                40,
                "the number of fiscal quarters to plan",
            )? as u32,
        };
        let series = self.series(raw.series)?;
        let paths_span = raw
            .forecast
            .as_ref()
            .and_then(|f| f.get_ref().paths.as_ref().map(|p| p.span()));
        let forecast = self.forecast(raw.forecast)?;
        // What the horizon costs: one value per hour and sample path, per pool.
        let values = (horizon.seconds / 3600) as u64 * forecast.paths as u64;
        if values > MAX_PATH_VALUES {
            let span = paths_span
                .or_else(|| raw.horizon.as_ref().map(|h| h.span()))
                .unwrap_or(0..0);
            return Err(self.err(
                span,
                "forecast.paths",
                format!(
                    "{} sample paths over a horizon of {horizon} are {values} hourly values per pool",
                    forecast.paths
                ),
                format!("at most {MAX_PATH_VALUES} values (paths × horizon hours)"),
                "use fewer paths (the default is enough for quantiles) or a shorter horizon",
            ));
        }
        let budget = self.budget(raw.budget)?;
        let limits = raw
            .limit
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, l)| self.limit(i, l))
            .collect::<Result<Vec<_>, _>>()?;
        let (demand, strategies) = match raw.scenario {
            None => (default_demand(), default_strategies()),
            Some(s) => {
                let s = s.into_inner();
                let demand = match s.demand {
                    None => default_demand(),
                    Some(list) => self.demands(list)?,
                };
                let strategies = match s.strategy {
                    None => default_strategies(),
                    Some(list) => self.strategies(list, as_of)?,
                };
                (demand, strategies)
            }
        };
        Ok(ScenarioFile {
            source_name: self.src.name.to_string(),
            name,
            inputs,
            series,
            as_of,
            horizon,
            forecast,
            events,
            rates,
            inventory,
            cost_of_capital,
            fiscal_year_start_month,
            quarters,
            budget,
            limits,
            demand,
            strategies,
        })
    }

    fn inputs(&self, raw: S<RawInputs>) -> Result<Inputs, ScenarioError> {
        let missing = |span: Range<usize>| {
            self.err(
                span,
                "inputs.paths",
                "is missing or empty",
                "a list of billing export files, directories or globs",
                "add [inputs] with paths = [\"exports/*.parquet\"] (relative to this file)",
            )
        };
        let Some(raw) = raw else {
            return Err(missing(0..0));
        };
        let span = raw.span();
        let raw = raw.into_inner();
        let Some(paths) = raw.paths else {
            return Err(missing(span));
        };
        if paths.get_ref().is_empty() {
            return Err(missing(paths.span()));
        }
        let paths = paths
            .into_inner()
            .iter()
            .map(|p| Ok(self.path(p, "inputs.paths")?.to_string_lossy().into_owned()))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        let format = raw
            .format
            .as_ref()
            .map(|f| {
                self.one_of(
                    f,
                    "inputs.format",
                    &[
                        ("focus", Format::Focus),
                        ("cur", Format::Cur),
                        ("azure", Format::Azure),
                        ("oci", Format::Oci),
                        ("tidy", Format::Tidy),
                    ],
                    "remove the key to detect the format from the header",
                )
            })
            .transpose()?;
        let currency = raw
            .currency
            .as_ref()
            .map(|c| self.currency(c, "inputs.currency"))
            .transpose()?;
        let tidy = match raw.tidy {
            None => TidyColumns::default(),
            Some(t) => {
                let col = |v: &S<String>, key: &str| -> Result<Option<String>, ScenarioError> {
                    v.as_ref()
                        .map(|s| self.non_empty(s, &format!("inputs.tidy.{key}")))
                        .transpose()
                };
                TidyColumns {
                    time: col(&t.time, "time")?,
                    quantity: col(&t.quantity, "quantity")?,
                    unit: col(&t.unit, "unit")?,
                    cost: col(&t.cost, "cost")?,
                }
            }
        };
        Ok(Inputs {
            paths,
            format,
            currency,
            lenient: raw.lenient.unwrap_or(false),
            allow_duplicates: raw.allow_duplicates.unwrap_or(false),
            tidy,
        })
    }

    fn series(&self, raw: S<RawSeries>) -> Result<SeriesSettings, ScenarioError> {
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(ScenarioFile::defaults(Vec::new(), PathBuf::new()).series);
        };
        let by = match raw.by {
            None => vec!["service".to_string()],
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.err(
                        list.span(),
                        "series.by",
                        "is empty",
                        "dimension names: service, region, account, sub_account, sku, family, instance_type, pricing_category, provider, unit, x_* columns, tag:<key>",
                        "list at least one dimension, or remove the key for [\"service\"]",
                    ));
                }
                let mut seen = BTreeSet::new();
                let mut out = Vec::new();
                for d in list.get_ref() {
                    let v = self.non_empty(d, "series.by")?;
                    if !seen.insert(v.clone()) {
                        return Err(self.err(
                            d.span(),
                            "series.by",
                            format!("lists {v:?} twice"),
                            "each dimension once",
                            "remove the repeated dimension",
                        ));
                    }
                    out.push(v);
                }
                out
            }
        };
        let granularity = raw
            .granularity
            .as_ref()
            .map(|g| {
                self.one_of(
                    g,
                    "series.granularity",
                    &[
                        ("hour", Granularity::Hour),
                        ("day", Granularity::Day),
                        ("week", Granularity::Week),
                        ("month", Granularity::Month),
                    ],
                    "remove the key to use the data's own granularity",
                )
            })
            .transpose()?;
        let filter = match &raw.filter {
            None => Match::new(),
            Some(f) => self.filter(f, "series.filter")?,
        };
        Ok(SeriesSettings {
            by,
            granularity,
            filter,
        })
    }

    fn forecast(&self, raw: S<RawForecast>) -> Result<ForecastOptions, ScenarioError> {
        let d = ScenarioFile::defaults(Vec::new(), PathBuf::new()).forecast;
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(d);
        };
        let windows = match &raw.windows {
            None => d.windows,
            Some(w) => self.int_in(w, "forecast.windows", 1, 1000, "backtest windows")? as usize,
        };
        let anomaly_threshold = match &raw.anomaly_threshold {
            None => d.anomaly_threshold,
            Some(v) => {
                let x = self.number(v, "forecast.anomaly_threshold")?;
                if !(x.is_finite() && x > 0.0) {
                    return Err(self.err(
                        v.span(),
                        "forecast.anomaly_threshold",
                        format!("is {x}"),
                        "a positive robust z-score, e.g. 6",
                        "remove the key for the default (6)",
                    ));
                }
                x
            }
        };
        let paths = match &raw.paths {
            None => d.paths,
            Some(p) => {
                self.int_in(p, "forecast.paths", 1, 100_000, "demand sample paths")? as usize
            }
        };
        let seed = match &raw.seed {
            None => d.seed,
            Some(s) => self.int_in(s, "forecast.seed", 0, i64::MAX, "a seed")? as u64,
        };
        Ok(ForecastOptions {
            windows,
            backtest_horizon: raw
                .backtest_horizon
                .as_ref()
                .map(|s| self.span(s, "forecast.backtest_horizon"))
                .transpose()?,
            step: raw
                .step
                .as_ref()
                .map(|s| self.span(s, "forecast.step"))
                .transpose()?,
            anomaly_threshold,
            clean_anomalies: raw.clean_anomalies.unwrap_or(d.clean_anomalies),
            all_history: raw.all_history.unwrap_or(d.all_history),
            paths,
            seed,
        })
    }

    fn budget(&self, raw: S<RawBudget>) -> Result<Budgets, ScenarioError> {
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return Ok(ScenarioFile::defaults(Vec::new(), PathBuf::new()).budget);
        };
        let currency = match &raw.currency {
            None => DEFAULT_CURRENCY.to_string(),
            Some(c) => self.currency(c, "budget.currency")?,
        };
        let total = match &raw.total {
            None => BTreeMap::new(),
            Some(t) => self.amounts(t, "budget.total")?,
        };
        let mut groups: Vec<GroupBudget> = Vec::new();
        for (i, g) in raw.group.unwrap_or_default().into_iter().enumerate() {
            let span = g.span();
            let g = g.into_inner();
            let key = |k: &str| format!("budget.group[{}].{k}", i + 1);
            let name = match &g.name {
                Some(n) => self.non_empty(n, &key("name"))?,
                None => {
                    return Err(self.err(
                        span,
                        key("name"),
                        "is missing",
                        "a label for the group, e.g. name = \"EC2\"",
                        "add a name to this [[budget.group]]",
                    ));
                }
            };
            if let Some(first) = groups.iter().find(|o| o.name == name) {
                return Err(self.err(
                    span,
                    key("name"),
                    format!("{name:?} is also the group on line {}", first.line),
                    "a name used once",
                    "give every budget group its own name",
                ));
            }
            let filter = match &g.match_ {
                Some(m) if !m.get_ref().is_empty() => self.filter(m, &key("match"))?,
                other => {
                    return Err(self.err(
                        other.as_ref().map_or(span, Spanned::span),
                        key("match"),
                        "is missing or empty",
                        "a dimension filter, e.g. match = { service = \"Amazon Elastic Compute Cloud\" }",
                        "say which series the group's budget covers (`budget.total` covers everything)",
                    ));
                }
            };
            let quarters = match &g.quarters {
                None => BTreeMap::new(),
                Some(q) => self.amounts(q, &key("quarters"))?,
            };
            groups.push(GroupBudget {
                name,
                filter,
                quarters,
                line: self.line(&span),
            });
        }
        Ok(Budgets {
            currency,
            total,
            groups,
        })
    }

    fn amounts(
        &self,
        raw: &BTreeMap<String, Spanned<toml::Value>>,
        key: &str,
    ) -> Result<BTreeMap<FiscalQuarter, Decimal>, ScenarioError> {
        let mut out = BTreeMap::new();
        for (label, v) in raw {
            let k = format!("{key}.\"{label}\"");
            let q: FiscalQuarter = label.parse().map_err(|_| {
                self.err(
                    v.span(),
                    k.clone(),
                    format!("{label:?} is not a fiscal quarter label"),
                    "FY<year>-Q<1-4>, e.g. \"FY2027-Q1\" (the fiscal year is named after the calendar year it ends in)",
                    "write the quarter as \"FY2027-Q1\" (quoted, since it contains `-`)",
                )
            })?;
            if out.contains_key(&q) {
                return Err(self.err(
                    v.span(),
                    k,
                    format!("{q} is given twice (labels are case-insensitive)"),
                    "each quarter once",
                    "remove one of the two amounts",
                ));
            }
            let amount = self.decimal(v, &k)?;
            if amount < Decimal::ZERO {
                return Err(self.err(
                    v.span(),
                    k,
                    format!("is {amount}"),
                    "an amount of zero or more",
                    "write the budget as a positive amount",
                ));
            }
            out.insert(q, amount);
        }
        Ok(out)
    }

    fn limit(&self, index: usize, raw: Spanned<RawLimit>) -> Result<CapacityLimit, ScenarioError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = |k: &str| format!("limit[{}].{k}", index + 1);
        let filter = match &raw.match_ {
            None => Match::new(),
            Some(m) => self.filter(m, &key("match"))?,
        };
        let Some(v) = &raw.value else {
            return Err(self.err(
                span,
                key("value"),
                "is missing",
                "the capacity limit in the series' unit, e.g. value = 400",
                "add value = <limit> to this [[limit]]",
            ));
        };
        let value = self.number(v, &key("value"))?;
        if !(value.is_finite() && value > 0.0) {
            return Err(self.err(
                v.span(),
                key("value"),
                format!("is {value}"),
                "a positive number",
                "write the limit in the unit of the series it applies to",
            ));
        }
        Ok(CapacityLimit {
            filter,
            value,
            line: self.line(&span),
        })
    }

    fn demands(&self, list: Vec<Spanned<RawDemand>>) -> Result<Vec<DemandScenario>, ScenarioError> {
        let mut out: Vec<DemandScenario> = Vec::new();
        for (i, d) in list.into_iter().enumerate() {
            let span = d.span();
            let d = d.into_inner();
            let key = |k: &str| format!("scenario.demand[{}].{k}", i + 1);
            let name = self.entry_name(&d.name, span.clone(), &key("name"), "demand")?;
            if let Some(first) = out.iter().find(|o| o.name == name) {
                return Err(self.duplicate(span, &key("name"), &name, first.line));
            }
            let source = match (&d.quantile, &d.multiplier) {
                (Some(q), Some(_)) => {
                    return Err(self.err(
                        q.span(),
                        key("quantile"),
                        "is given together with `multiplier`",
                        "one of `quantile` or `multiplier`, or neither for the forecast as is",
                        "split them into two demand scenarios",
                    ));
                }
                (Some(q), None) => DemandSource::Quantile(self.quantile(q, &key("quantile"))?),
                (None, Some(m)) => {
                    let x = self.number(m, &key("multiplier"))?;
                    if !(x.is_finite() && x > 0.0 && x <= 100.0) {
                        return Err(self.err(
                            m.span(),
                            key("multiplier"),
                            format!("is {x}"),
                            "a positive factor on the forecast demand, e.g. 1.2 for +20 % (at most 100)",
                            "write growth as a factor: 0.8 = 20 % less, 1.5 = 50 % more",
                        ));
                    }
                    DemandSource::Multiplier(x)
                }
                (None, None) => DemandSource::Forecast,
            };
            let events = match &d.events {
                None => Vec::new(),
                Some(list) => list
                    .get_ref()
                    .iter()
                    .map(|p| self.path(p, &key("events")))
                    .collect::<Result<_, _>>()?,
            };
            out.push(DemandScenario {
                name,
                source,
                events,
                line: self.line(&span),
            });
        }
        if out.is_empty() {
            return Ok(default_demand());
        }
        Ok(out)
    }

    // ----- value readers -----

    fn entry_name(
        &self,
        raw: &S<String>,
        span: Range<usize>,
        key: &str,
        what: &str,
    ) -> Result<String, ScenarioError> {
        match raw {
            Some(n) => self.non_empty(n, key),
            None => Err(self.err(
                span,
                key,
                "is missing",
                format!("a label for the {what} scenario, e.g. name = \"upside\""),
                "add a name; it labels the row or column of the scenario matrix",
            )),
        }
    }

    fn duplicate(&self, span: Range<usize>, key: &str, name: &str, line: usize) -> ScenarioError {
        self.err(
            span,
            key,
            format!("{name:?} is also used on line {line}"),
            "a name used once",
            "give every entry its own name",
        )
    }

    fn non_empty(&self, v: &Spanned<String>, key: &str) -> Result<String, ScenarioError> {
        let t = v.get_ref().trim();
        if t.is_empty() {
            return Err(self.err(
                v.span(),
                key,
                "is empty",
                "a non-empty text",
                "fill in the value or remove the key",
            ));
        }
        Ok(t.to_string())
    }

    fn path(&self, v: &Spanned<String>, key: &str) -> Result<PathBuf, ScenarioError> {
        let t = v.get_ref();
        if t.trim().is_empty() || t.trim() != t {
            return Err(self.err(
                v.span(),
                key,
                format!("{t:?} is not a usable path"),
                "a file path or glob without leading or trailing spaces",
                "write the path relative to this plan file, or absolute",
            ));
        }
        Ok(PathBuf::from(t))
    }

    fn currency(&self, v: &Spanned<String>, key: &str) -> Result<String, ScenarioError> {
        let t = v.get_ref().trim();
        if t.len() != 3 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(self.err(
                v.span(),
                key,
                format!("{:?} is not a currency code", v.get_ref()),
                "an ISO 4217 code such as \"USD\" or \"EUR\"",
                "write the three-letter code of the billing currency",
            ));
        }
        Ok(t.to_ascii_uppercase())
    }

    fn filter(&self, v: &Spanned<Match>, key: &str) -> Result<Match, ScenarioError> {
        for (k, val) in v.get_ref() {
            if k.trim().is_empty() || val.trim().is_empty() {
                return Err(self.err(
                    v.span(),
                    key,
                    format!("has an empty dimension or value ({k:?} = {val:?})"),
                    "{ dimension = \"value\", ... }, e.g. { region = \"eu-west-1\" }",
                    "fill in or remove the empty entry",
                ));
            }
        }
        Ok(v.get_ref().clone())
    }

    fn one_of<T: Copy>(
        &self,
        v: &Spanned<String>,
        key: &str,
        options: &[(&str, T)],
        fix: &str,
    ) -> Result<T, ScenarioError> {
        let t = v.get_ref().trim().to_ascii_lowercase();
        if let Some((_, x)) = options.iter().find(|(n, _)| *n == t) {
            return Ok(*x);
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
        let fix = match did_you_mean(&t, options.iter().map(|(n, _)| *n)) {
            Some(n) => format!("did you mean {n:?}? ({fix})"),
            None => fix.to_string(),
        };
        Err(self.err(
            v.span(),
            key,
            format!("{:?} is not one of the choices", v.get_ref()),
            format!("one of {}", names.join(", ")),
            fix,
        ))
    }

    fn int_in(
        &self,
        v: &Spanned<i64>,
        key: &str,
        lo: i64,
        hi: i64,
        what: &str,
    ) -> Result<i64, ScenarioError> {
        let x = *v.get_ref();
        if x < lo || x > hi {
            let expected = if hi == i64::MAX {
                format!("a whole number of at least {lo} ({what})")
            } else {
                format!("a whole number from {lo} to {hi} ({what})")
            };
            return Err(self.err(
                v.span(),
                key,
                format!("is {x}"),
                expected,
                "correct the value, or remove the key for its default",
            ));
        }
        Ok(x)
    }

    fn number(&self, v: &Spanned<toml::Value>, key: &str) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) => Ok(*f),
            other => Err(self.err(
                v.span(),
                key,
                format!("is a TOML {}", other.type_str()),
                "a number",
                "write the number without quotes",
            )),
        }
    }

    fn decimal(&self, v: &Spanned<toml::Value>, key: &str) -> Result<Decimal, ScenarioError> {
        let parsed = match v.get_ref() {
            toml::Value::String(s) => Decimal::from_str_exact(s.trim()).ok(),
            toml::Value::Integer(i) => Some(Decimal::from(*i)),
            // The shortest text that round-trips the float: what the user wrote for
            // ordinary amounts (e.g. 0.08, 1250000.5).
            toml::Value::Float(f) if f.is_finite() => Decimal::from_str_exact(&f.to_string())
                .ok()
                .or_else(|| Decimal::from_scientific(&format!("{f:e}")).ok()),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.err(
                v.span(),
                key,
                format!("{} is not a decimal number", v.get_ref()),
                DECIMAL_EXPECTED,
                "write the amount as a quoted decimal, e.g. \"1250000.00\"",
            )
        })
    }

    fn quantile(&self, v: &Spanned<toml::Value>, key: &str) -> Result<f64, ScenarioError> {
        let x = match v.get_ref() {
            toml::Value::String(s) => {
                let t = s.trim().to_ascii_lowercase();
                t.strip_prefix('p')
                    .filter(|d| {
                        !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|d| d.parse::<u32>().ok())
                    .map(|p| f64::from(p) / 100.0)
            }
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        match x {
            Some(x) if QUANTILE_LEVELS.iter().any(|l| (l - x).abs() < 1e-9) => Ok(QUANTILE_LEVELS
                .into_iter()
                .find(|l| (l - x).abs() < 1e-9)
                .unwrap_or(x)),
            _ => Err(self.err(
                v.span(),
                key,
                format!("{} is not a forecast quantile", v.get_ref()),
                "one of \"p05\", \"p10\", \"p25\", \"p50\", \"p75\", \"p90\", \"p95\" (or 0.05 ... 0.95)",
                "use a level the forecast carries, or `multiplier` for other shifts",
            )),
        }
    }

    fn date(&self, v: &Spanned<toml::Value>, key: &str) -> Result<NaiveDate, ScenarioError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => Some(s.trim().to_string()),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                Some(d.to_string())
            }
            _ => None,
        };
        text.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    key,
                    format!("{} is not a date", v.get_ref()),
                    DATE_EXPECTED,
                    "write the day only (dates are UTC days)",
                )
            })
    }

    fn span(&self, v: &Spanned<String>, key: &str) -> Result<Span, ScenarioError> {
        Span::parse(v.get_ref()).map_err(|problem| {
            self.err(
                v.span(),
                key,
                problem,
                crate::span::SPAN_EXPECTED,
                "write e.g. \"90d\" or \"3y\"",
            )
        })
    }
}
