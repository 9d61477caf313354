//! The canonical frame of one file: every canonical column mapped from the file's source
//! columns, parsed (timestamps, exact money, quantities) with each column's checks beside it,
//! the internal column names of the query, and the errors that name a bad value's file, row
//! and column. Also the data's own granularity, read from each file's sample.

use super::error::IngestError;
use super::formats::{self, CANONICAL, Kind, Mapping, Source};
use super::pipeline::{Group, Loaded, first_u32, first_u64};
use super::source::{self, ROW_COL, SourceFile};
use super::{Granularity, Reason};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Scale of the decimal type money is parsed into: exact for every sample we know of
/// (Azure amortised exports write up to 24 significant decimals). Values with more decimals
/// are rounded half-even and counted. Leaves 14 integer digits (10^14) per value and sum.
pub(super) const MONEY_SCALE: usize = 24;
pub(super) const MONEY_DTYPE: DataType = DataType::Decimal(38, MONEY_SCALE);
const MAX_TEXT: u32 = 4096;

pub(super) const FILE_COL: &str = "__file";
/// True for rows that fail a check (cheap: an OR of the checks' masks).
pub(super) const BAD_COL: &str = "__bad";
/// The code of the first failing check (`column:problem`); only computed for error messages.
pub(super) const BAD_CODE_COL: &str = "__bad_code";
pub(super) const HASH_COL: &str = "__hash";
pub(super) const REASON_COL: &str = "__reason";
pub(super) const BUCKET_COL: &str = "__bucket";
pub(super) const PERIOD_COL: &str = "__period";
pub(super) const RAW_PREFIX: &str = "__raw_";
pub(super) const EXCESS_COL: &str = "__excess";
pub(super) const RESPELLED_COL: &str = "__respelled";

/// Timestamp layouts seen in billing exports, tried in this order.
const TIMESTAMP_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
];

/// One file's canonical frame before validation: the scan with every canonical column
/// (plus raw copies of the parsed ones), and the checks that can be run on it. A query
/// validates and hashes only the canonical columns it reads ([`Loaded::frame`]), so polars
/// decodes only the source columns behind them.
pub(super) struct Part {
    pub(super) lf: LazyFrame,
    pub(super) checks: Vec<Check>,
    /// Excess-decimals conditions of money columns read from text, by canonical column.
    pub(super) excess: Vec<(&'static str, Expr)>,
    /// Raw copies present in `lf`, dropped once the checks have used them.
    pub(super) raw: Vec<String>,
    /// Respelling flags present in `lf`, by the canonical column they belong to.
    pub(super) respelled: Vec<(Option<&'static str>, String)>,
}

/// A validation rule: the row is bad with `code` when `cond` holds; it belongs to the
/// canonical column `column` and runs whenever a query reads that column.
pub(super) struct Check {
    pub(super) column: &'static str,
    pub(super) cond: Expr,
    pub(super) code: String,
}

impl Loaded {
    /// In strict mode, turns the first unparseable row into an error with file, row and column.
    pub(super) fn fail_on_bad_rows(
        &self,
        frame: &LazyFrame,
        groups: &[Group],
    ) -> Result<(), IngestError> {
        if self.opts.lenient || !groups.iter().any(|g| g.reason == Reason::Unparseable) {
            return Ok(());
        }
        let df = frame
            .clone()
            .filter(col(BAD_COL))
            .select([col(FILE_COL), col(ROW_COL), col(BAD_CODE_COL)])
            .sort([FILE_COL, ROW_COL], SortMultipleOptions::default())
            .limit(1)
            .collect()
            .map_err(|e| self.engine_error(e))?;
        let file = first_u32(&df, FILE_COL)? as usize;
        let row = first_u64(&df, ROW_COL)?;
        let code = df
            .column(BAD_CODE_COL)?
            .str()?
            .get(0)
            .unwrap_or("")
            .to_string();
        Err(self.bad_value_error(file, row, &code))
    }

    fn bad_value_error(&self, file: usize, row: u64, code: &str) -> IngestError {
        let f = &self.files[file];
        let (canon, problem) = code.split_once(':').unwrap_or((code, "parse"));
        let mapping = formats::mapping(f, &self.opts.tidy).ok();
        let source_col = mapping
            .as_ref()
            .and_then(|m| m.sources.iter().find(|(n, _)| *n == canon))
            .and_then(|(_, s)| match s {
                Source::Column(c) => Some(c.clone()),
                _ => None,
            });
        let column = match (canon, problem) {
            ("charge_end", "before") => source_col
                .clone()
                .unwrap_or_else(|| "ChargePeriodEnd".into()),
            _ => source_col.clone().unwrap_or_else(|| canon.to_string()),
        };
        let value = source_col
            .as_deref()
            .and_then(|c| raw_value(f, row, c))
            .unwrap_or_default();
        let kind = CANONICAL
            .iter()
            .find(|(n, _)| *n == canon)
            .map(|(_, k)| *k)
            .unwrap_or(Kind::Text);
        let lenient =
            "; fix the value or rerun with --lenient to exclude such rows (they are counted)";
        let non_finite = matches!(
            value
                .trim()
                .trim_start_matches(['+', '-'])
                .to_ascii_lowercase()
                .as_str(),
            "nan" | "inf" | "infinity"
        );
        let problem = if non_finite { "finite" } else { problem };
        let (expected, hint) = match (kind, problem) {
            (_, "before") => (
                "a charge period end after its start".to_string(),
                format!("; `{column}` is before the period start{lenient}"),
            ),
            (_, "long") => (
                format!("a value of at most {MAX_TEXT} bytes"),
                format!("; the value is too long ({} bytes){lenient}", value.len()),
            ),
            (_, "negative") => (
                "a non-negative quantity on a usage row".to_string(),
                format!(
                    "; negative usage is only valid on credits, refunds or corrections (ChargeClass=Correction){lenient}"
                ),
            ),
            (_, "finite") => ("a finite number".to_string(), lenient.to_string()),
            (Kind::Timestamp, _) => (
                "a timestamp such as 2024-09-01T00:00:00Z".to_string(),
                lenient.to_string(),
            ),
            (Kind::Money, _) => ("a decimal number".to_string(), lenient.to_string()),
            (Kind::Quantity, _) => ("a number".to_string(), lenient.to_string()),
            (Kind::Text, _) => ("text".to_string(), lenient.to_string()),
        };
        let shown = if value.chars().count() > 80 {
            format!("{}…", value.chars().take(80).collect::<String>())
        } else {
            value
        };
        IngestError::BadValue(Box::new(super::error::BadValue {
            path: f.path.clone(),
            row,
            column,
            expected,
            value: shown,
            hint,
        }))
    }

    /// The granularity of one file's charge periods, from its sample rows: the most common
    /// period length, or for files without an end column the smallest step between times.
    pub(super) fn sample_granularity(&self, f: &SourceFile) -> Option<Granularity> {
        let m = formats::mapping(f, &self.opts.tidy).ok()?;
        if m.default_period.is_some() {
            return Some(Granularity::Day);
        }
        let column_of = |name: &str| match m.sources.iter().find(|(n, _)| *n == name) {
            Some((_, Source::Column(c))) => Some(c.clone()),
            _ => None,
        };
        let micros = |c: &str| -> Option<Vec<Option<i64>>> {
            let dtype = f.schema.get(c)?.clone();
            let e = timestamp_expr(col(c), &dtype, &f.sample_text(c, 50));
            let df = f
                .sample
                .clone()
                .lazy()
                .select([e.cast(DataType::Int64).alias("t")])
                .collect()
                .ok()?;
            Some(df.column("t").ok()?.i64().ok()?.iter().collect())
        };
        let starts = micros(&column_of("charge_start")?)?;
        let seconds = match column_of("charge_end").and_then(|c| micros(&c)) {
            Some(ends) => {
                let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
                for (s, e) in starts.iter().zip(&ends) {
                    if let (Some(s), Some(e)) = (s, e)
                        && e > s
                    {
                        *counts.entry((e - s) / 1_000_000).or_default() += 1;
                    }
                }
                counts
                    .into_iter()
                    .max_by_key(|(p, n)| (*n, -*p))
                    .map(|(p, _)| p)?
            }
            None => {
                let unique: BTreeSet<i64> = starts.into_iter().flatten().collect();
                let v: Vec<i64> = unique.into_iter().collect();
                v.windows(2)
                    .map(|w| (w[1] - w[0]) / 1_000_000)
                    .filter(|d| *d > 0)
                    .min()?
            }
        };
        Granularity::from_period_seconds(seconds)
    }

    /// The granularity to use when the user did not choose one: the coarsest of the files'.
    pub fn detected_granularity(&self) -> Granularity {
        self.files
            .iter()
            .filter_map(|f| self.sample_granularity(f))
            .max()
            .unwrap_or(Granularity::Hour)
    }
}

/// Builds the canonical frame of one file and its checks.
pub(super) fn canonical_frame(
    f: &SourceFile,
    idx: u32,
    m: &Mapping,
    passthrough: &[String],
) -> Result<Part, IngestError> {
    let lf = source::scan(f)?;
    let mut first = vec![
        lit(idx).alias(FILE_COL),
        col(ROW_COL).cast(DataType::UInt64).alias(ROW_COL),
    ];
    let mut checks: Vec<Check> = Vec::new();
    let mut raw = Vec::new();
    for (name, kind) in CANONICAL {
        let src = m
            .sources
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or(Source::Missing);
        let dtype_of = |c: &str| f.schema.get(c).cloned().unwrap_or(DataType::String);
        let (expr, parsed_from) = match (&src, kind) {
            (Source::Column(c), Kind::Timestamp) => (
                timestamp_expr(col(c.as_str()), &dtype_of(c), &f.sample_text(c, 50)),
                Some(c),
            ),
            (Source::Column(c), Kind::Money) => {
                (money_expr(col(c.as_str()), &dtype_of(c)), Some(c))
            }
            (Source::Column(c), Kind::Quantity) => {
                (col(c.as_str()).cast(DataType::Float64), Some(c))
            }
            (Source::Column(c), Kind::Text) => {
                checks.push(Check {
                    column: name,
                    cond: col(*name).str().len_bytes().gt(lit(MAX_TEXT)),
                    code: format!("{name}:long"),
                });
                (col(c.as_str()).cast(DataType::String), None)
            }
            (Source::Derived(e), _) => (e.clone(), None),
            (Source::Missing, Kind::Timestamp) => (lit(NULL).cast(ts_dtype()), None),
            (Source::Missing, Kind::Money) => (lit(NULL).cast(MONEY_DTYPE), None),
            (Source::Missing, Kind::Quantity) => (lit(NULL).cast(DataType::Float64), None),
            (Source::Missing, Kind::Text) => (lit(NULL).cast(DataType::String), None),
        };
        first.push(expr.alias(*name));
        if let Some(c) = parsed_from {
            let r = format!("{RAW_PREFIX}{name}");
            first.push(col(c.as_str()).alias(r.as_str()));
            raw.push(r);
        }
    }
    for p in passthrough {
        match m.passthrough.iter().find(|(n, _)| n == p) {
            Some((_, e)) => first.push(e.clone().alias(p.as_str())),
            None => first.push(lit(NULL).cast(DataType::String).alias(p.as_str())),
        }
    }
    let mut respelled = Vec::with_capacity(m.respelled.len());
    for (i, (canonical, e)) in m.respelled.iter().enumerate() {
        let name = format!("{RESPELLED_COL}{i}");
        first.push(e.clone().alias(name.as_str()));
        respelled.push((*canonical, name));
    }
    let mut lf = lf.select(first);
    if let Some(d) = m.default_period {
        let micros = d.num_microseconds().unwrap_or(86_400_000_000);
        lf = lf.with_column(
            (col("charge_start").cast(DataType::Int64) + lit(micros))
                .cast(ts_dtype())
                .alias("charge_end"),
        );
    }
    // Checks that compare parsed values with their raw text come first, in column order.
    let mut parse_checks = Vec::new();
    for (name, kind) in CANONICAL {
        let parsed_from_column = matches!(
            m.sources.iter().find(|(n, _)| n == name),
            Some((_, Source::Column(_)))
        );
        if !parsed_from_column || *kind == Kind::Text {
            continue;
        }
        let raw_col = col(format!("{RAW_PREFIX}{name}").as_str());
        let parsed = col(*name);
        parse_checks.push(Check {
            column: name,
            cond: raw_col.is_not_null().and(parsed.clone().is_null()),
            code: format!("{name}:parse"),
        });
        if *kind == Kind::Quantity {
            checks.push(Check {
                column: name,
                cond: parsed.clone().is_not_null().and(parsed.is_finite().not()),
                code: format!("{name}:finite"),
            });
        }
    }
    parse_checks.append(&mut checks);
    let mut checks = parse_checks;
    checks.push(Check {
        column: "consumed_quantity",
        cond: col("consumed_quantity")
            .lt(lit(0.0))
            .and(col("charge_category").eq(lit("Usage")).fill_null(lit(true)))
            .and(col("charge_class").is_null())
            // A negative quantity with a negative cost is a refund even when unlabelled
            // (Microsoft's FOCUS exports do this); with a non-negative cost it is an error.
            .and(col("billed_cost").gt_eq(lit(0)).fill_null(lit(true))),
        code: "consumed_quantity:negative".into(),
    });
    checks.push(Check {
        column: "charge_end",
        cond: col("charge_end").lt(col("charge_start")),
        code: "charge_end:before".into(),
    });
    // Money text with more fractional digits than the decimal scale is rounded; count it.
    let excess_re = format!(r"\.[0-9]{{{MONEY_SCALE}}}[0-9]*[1-9]");
    let excess = CANONICAL
        .iter()
        .filter(|(_, k)| *k == Kind::Money)
        .filter_map(
            |(name, _)| match m.sources.iter().find(|(n, _)| n == name) {
                Some((_, Source::Column(c)))
                    if f.schema.get(c.as_str()) == Some(&DataType::String) =>
                {
                    Some((
                        *name,
                        col(format!("{RAW_PREFIX}{name}").as_str())
                            .str()
                            .contains(lit(excess_re.clone()), false)
                            .fill_null(lit(false)),
                    ))
                }
                _ => None,
            },
        )
        .collect();
    Ok(Part {
        lf,
        checks,
        excess,
        raw,
        respelled,
    })
}

/// A 64-bit hash of a whole row: each column hashed with its own seed (vectorised, no row
/// encoding), combined with xor. Equal rows hash equal; a collision between different rows
/// has probability about n²/2⁶⁵ (≈ 10⁻⁶ for 5 million rows).
pub(super) fn row_hash(columns: Vec<Expr>) -> Expr {
    columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| c.hash(0x5eed_0000 + i as u64, 0x9e37_79b9_7f4a_7c15, i as u64, 3))
        .reduce(|a, b| a.xor(b))
        .unwrap_or(lit(0u64))
}

fn ts_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// Parses a timestamp column into UTC microseconds.
pub(super) fn timestamp_expr(e: Expr, dtype: &DataType, sample: &[String]) -> Expr {
    match dtype {
        DataType::Datetime(_, Some(_)) => e.dt().convert_time_zone(TimeZone::UTC).cast(ts_dtype()),
        DataType::Datetime(_, None) => e
            .dt()
            .replace_time_zone(Some(TimeZone::UTC), lit("raise"), NonExistent::Raise)
            .cast(ts_dtype()),
        DataType::Date => e
            .cast(DataType::Datetime(TimeUnit::Microseconds, None))
            .dt()
            .replace_time_zone(Some(TimeZone::UTC), lit("raise"), NonExistent::Raise),
        _ => {
            let text = e
                .cast(DataType::String)
                .str()
                .strip_chars(lit(NULL).cast(DataType::String));
            let matching: Vec<&str> = TIMESTAMP_FORMATS
                .iter()
                .copied()
                .filter(|fmt| sample.iter().any(|s| parse_with(s.trim(), fmt).is_some()))
                .collect();
            let formats: Vec<&str> = if matching.is_empty() {
                TIMESTAMP_FORMATS.to_vec()
            } else {
                matching
            };
            let parsed: Vec<Expr> = formats
                .iter()
                .map(|fmt| {
                    text.clone().str().to_datetime(
                        Some(TimeUnit::Microseconds),
                        Some(TimeZone::UTC),
                        StrptimeOptions {
                            format: Some((*fmt).into()),
                            strict: false,
                            exact: true,
                            cache: true,
                        },
                        lit("raise"),
                    )
                })
                .collect();
            if parsed.len() == 1 {
                parsed.into_iter().next().unwrap_or(lit(NULL))
            } else {
                coalesce(&parsed)
            }
        }
    }
}

fn parse_with(s: &str, fmt: &str) -> Option<NaiveDateTime> {
    if fmt.contains("%z") || fmt.contains("%:z") {
        return DateTime::parse_from_str(s, fmt).ok().map(|d| d.naive_utc());
    }
    if !fmt.contains("%H") {
        return NaiveDate::parse_from_str(s, fmt)
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0));
    }
    NaiveDateTime::parse_from_str(s, fmt).ok()
}

/// Parses money into the exact decimal type. Text goes straight to decimal (never through
/// f64); floating-point Parquet columns go through their shortest decimal representation.
fn money_expr(e: Expr, dtype: &DataType) -> Expr {
    match dtype {
        DataType::Decimal(_, _) => e.cast(MONEY_DTYPE),
        DataType::Float32 | DataType::Float64 => e.cast(DataType::String).cast(MONEY_DTYPE),
        DataType::String => e
            .str()
            .strip_chars(lit(NULL).cast(DataType::String))
            .cast(MONEY_DTYPE),
        _ => e.cast(MONEY_DTYPE),
    }
}

/// Reads one raw cell (row is 1-based) for an error message.
fn raw_value(f: &SourceFile, row: u64, column: &str) -> Option<String> {
    let lf = source::scan(f).ok()?;
    let df = lf
        .filter(col(ROW_COL).cast(DataType::UInt64).eq(lit(row)))
        .select([col(column).cast(DataType::String)])
        .collect()
        .ok()?;
    df.column(column)
        .ok()?
        .str()
        .ok()?
        .get(0)
        .map(str::to_string)
}

/// The first line of a file that is not UTF-8 (1-based), if any.
pub(super) fn first_non_utf8_line(path: &std::path::Path) -> Option<usize> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).ok()?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        n += 1;
        if std::str::from_utf8(&line).is_err() {
            return Some(n);
        }
    }
}
