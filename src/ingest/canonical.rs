//! The canonical frame of one file: every canonical column mapped from the file's source
//! columns, parsed (timestamps, exact money, quantities) with each column's checks beside it,
//! the internal column names of the query, and the errors that name a bad value's file, row
//! and column. Also the data's own granularity, read from each file's sample.

use super::error::IngestError;
use super::formats::{self, CANONICAL, Kind, Mapping, Source};
use super::pipeline::{Group, Loaded, first_u32, first_u64};
use super::source::{self, ROW_COL, SourceFile};
use super::{Finding, Granularity, Reason, Severity};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Scale of the decimal type money is parsed into: exact for every sample we know of
/// (Azure amortised exports write up to 24 significant decimals). Values with more decimals
/// are rounded half-even and counted. Leaves 14 integer digits (10^14) per value and sum.
pub(super) const MONEY_SCALE: usize = 24;
pub(super) const MONEY_DTYPE: DataType = DataType::Decimal(38, MONEY_SCALE);
/// Integer digits one money value may have (38 − [`MONEY_SCALE`]).
const MAX_INTEGER_DIGITS: usize = 38 - MONEY_SCALE;

/// Integer digits of a plain decimal number (`-123.45` → 3), 0 when `s` is not one.
fn integer_digits(s: &str) -> usize {
    let t = s.trim().trim_start_matches(['+', '-']);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return 0;
    }
    int.trim_start_matches('0').len()
}
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
pub(super) const TWO_DIGIT_YEAR_COL: &str = "__two_digit_year";
pub(super) const RESPELLED_COL: &str = "__respelled";

/// ISO-like timestamp layouts seen in billing exports. Every value is tried against all of
/// them (per value, not per file: a file may switch from `Z` to `+05:30` at any row; the
/// layouts cannot read one text two ways).
const ISO_FORMATS: &[&str] = &[
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
];

/// Times of day that may follow a slash date (`4/1/2025 13:00`).
const SLASH_TIMES: &[&str] = &["", " %H:%M:%S", " %H:%M"];

/// A slash date (`4/1/2025`, `01/04/25 00:00`): two fields of one or two digits and a year
/// of four or two digits. Whether the first field is the month or the day is decided per
/// file from every row ([`date_order`]).
const SLASH_RE: &str = r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:\D|$)";

/// A slash date with a two-digit year; the year is read as 20YY (and counted).
const TWO_DIGIT_YEAR_RE: &str = r"^(\d{1,2}/\d{1,2}/)(\d{2})(\D|$)";

/// Earliest plausible charge period: cloud billing exports start well after 2000.
const PLAUSIBLE_FROM_YEAR: i32 = 2000;
/// Years after the current one that a charge period may still reach (3-year commitments
/// bought today end within it).
const PLAUSIBLE_YEARS_AHEAD: i32 = 10;

/// The plausible charge period times, `[from, until)` in µs since the epoch: from
/// 2000-01-01 to the end of the current year + 10. A time outside is a mistyped year
/// (`0024` for `2024`) or a misread date, and would stretch a series over centuries.
pub(super) fn plausible_micros() -> (i64, i64, i32) {
    use chrono::Datelike as _;
    let last_year = chrono::Utc::now().year() + PLAUSIBLE_YEARS_AHEAD;
    let micros = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_micros())
            .unwrap_or(0)
    };
    (
        micros(PLAUSIBLE_FROM_YEAR),
        micros(last_year + 1),
        last_year,
    )
}

/// How a file writes its slash dates, decided from every row ([`date_order`]).
#[derive(Debug, Clone)]
pub(super) struct DateOrder {
    /// `dd/mm/yyyy` rather than `mm/dd/yyyy`.
    pub(super) day_first: bool,
    /// The first value that decides it: (source column, row, value); `None` when every value
    /// has both fields ≤ 12, so the order is assumed (month-first) and reported.
    pub(super) evidence: Option<(String, u64, String)>,
}

/// The two leading fields of a slash date, if `s` is one.
fn slash_fields(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().splitn(3, '/');
    let a = it.next()?;
    let b = it.next()?;
    let rest = it.next()?;
    let short = |t: &str| (1..=2).contains(&t.len()) && t.bytes().all(|c| c.is_ascii_digit());
    let year_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if !short(a) || !short(b) || !(year_digits == 2 || year_digits == 4) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Decides whether the file's slash dates are day-first or month-first from every row of its
/// text timestamp columns: the first value with a field above 12 decides (the file is scanned
/// on the streaming engine up to that row; a file that never decides is read once, and
/// month-first is assumed and reported). `None` when the sample has no slash date.
pub(super) fn date_order(
    f: &SourceFile,
    columns: &[String],
) -> Result<Option<DateOrder>, IngestError> {
    let text_columns: Vec<&String> = columns
        .iter()
        .filter(|c| f.schema.get(c.as_str()) == Some(&DataType::String))
        .collect();
    let has_slash = text_columns.iter().any(|c| {
        f.sample_text(c, usize::MAX)
            .iter()
            .any(|v| slash_fields(v).is_some())
    });
    if !has_slash {
        return Ok(None);
    }
    let decide = |a: u32, b: u32| -> Option<bool> {
        if a > 12 {
            Some(true)
        } else if b > 12 {
            Some(false)
        } else {
            None
        }
    };
    // The whole file, stopping at the first deciding row.
    let mut lf = source::scan(f)?;
    let mut deciding = lit(false);
    let mut selected = vec![col(ROW_COL).cast(DataType::UInt64)];
    for c in &text_columns {
        let t = col(c.as_str())
            .cast(DataType::String)
            .str()
            .strip_chars(lit(NULL).cast(DataType::String));
        let field = |i: usize| {
            t.clone()
                .str()
                .extract(lit(SLASH_RE), i)
                .cast(DataType::UInt32)
                .gt(lit(12u32))
                .fill_null(lit(false))
        };
        deciding = deciding.or(field(1).or(field(2)));
        selected.push(t.clone().alias(c.as_str()));
    }
    lf = lf.filter(deciding).select(selected).limit(1);
    let df = lf
        .collect_with_engine(super::pipeline::ENGINE)
        .map_err(|e| IngestError::Csv {
            path: f.path.clone(),
            message: source::clean_polars_message(&e),
        })?
        .unwrap_single();
    if df.height() > 0 {
        let row = first_u64(&df, ROW_COL)?;
        for c in &text_columns {
            let v = df.column(c.as_str())?.str()?.get(0).map(str::to_string);
            if let Some(v) = v
                && let Some((a, b)) = slash_fields(&v)
                && let Some(day_first) = decide(a, b)
            {
                return Ok(Some(DateOrder {
                    day_first,
                    evidence: Some(((*c).clone(), row, v)),
                }));
            }
        }
    }
    Ok(Some(DateOrder {
        day_first: false,
        evidence: None,
    }))
}

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
    /// Whether the file's slash dates are day-first (`None`: it has none).
    pub(super) day_first: Option<bool>,
    /// True for rows whose timestamps have a two-digit year (read as 20YY); over raw columns.
    pub(super) two_digit_year: Expr,
    /// What was decided about the file's values before reading it (date order).
    pub(super) findings: Vec<Finding>,
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
    /// In lenient mode, rows outside the plausible years (excluded as unparseable) become a
    /// finding that names the first of them.
    pub(super) fn fail_on_bad_rows(
        &self,
        frame: &LazyFrame,
        groups: &[Group],
    ) -> Result<Vec<Finding>, IngestError> {
        if !groups.iter().any(|g| g.reason == Reason::Unparseable) {
            return Ok(Vec::new());
        }
        if self.opts.lenient {
            return self.implausible_finding(frame);
        }
        let df = frame
            .clone()
            .filter(col(BAD_COL))
            .select([col(FILE_COL), col(ROW_COL), col(BAD_CODE_COL)])
            .sort([FILE_COL, ROW_COL], SortMultipleOptions::default())
            .limit(1)
            .collect()
            .map_err(|e| self.engine_error(e))?;
        let (file, row, code) = first_bad_row(&df)?;
        Err(self.bad_value_error(file, row, &code))
    }

    fn implausible_finding(&self, frame: &LazyFrame) -> Result<Vec<Finding>, IngestError> {
        let df = frame
            .clone()
            .filter(
                col(BAD_CODE_COL)
                    .str()
                    .ends_with(lit(":implausible"))
                    .fill_null(lit(false)),
            )
            .select([col(FILE_COL), col(ROW_COL), col(BAD_CODE_COL)])
            .sort([FILE_COL, ROW_COL], SortMultipleOptions::default())
            .collect()
            .map_err(|e| self.engine_error(e))?;
        if df.height() == 0 {
            return Ok(Vec::new());
        }
        let (file, row, code) = first_bad_row(&df)?;
        let (_, _, last_year) = plausible_micros();
        let first = match self.bad_value_error(file, row, &code) {
            IngestError::BadValue(b) => format!(
                "{}: row {}, column `{}`: {:?}",
                b.path.display(),
                b.row,
                b.column,
                b.value
            ),
            other => other.to_string(),
        };
        Ok(vec![Finding {
            code: "implausible_dates".into(),
            severity: Severity::Warning,
            count: df.height() as u64,
            message: format!(
                "{} rows have charge periods outside {PLAUSIBLE_FROM_YEAR}–{last_year} (a mistyped year or a misread date) and were excluded (--lenient); first: {first}",
                df.height()
            ),
        }])
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
            (_, "implausible") => {
                let (_, _, last_year) = plausible_micros();
                (
                    format!("a date between {PLAUSIBLE_FROM_YEAR}-01-01 and {last_year}-12-31"),
                    format!(
                        "; a year outside the years of cloud billing is usually a typo (0024 for 2024) or a misread date, and would stretch the series over centuries{lenient}"
                    ),
                )
            }
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
            (Kind::Money, _) if integer_digits(&value) > MAX_INTEGER_DIGITS => (
                format!(
                    "an amount of at most {MAX_INTEGER_DIGITS} integer digits (below 10^{MAX_INTEGER_DIGITS}; money is read exactly with {MONEY_SCALE} decimals, which leaves {MAX_INTEGER_DIGITS} integer digits per value — sums are not limited)"
                ),
                format!(
                    "; the value has {} integer digits, more than any single bill line of a real export: check for a misplaced decimal point or a wrong unit{lenient}",
                    integer_digits(&value)
                ),
            ),
            (Kind::Money | Kind::Quantity, _)
                if super::separator::looks_like_decimal_comma(&value) =>
            {
                (
                    "a number with `.` as decimal point".to_string(),
                    format!(
                        "; the value looks like a number written with a decimal comma (`{}` for {}) or a thousands separator, as spreadsheets in many European locales save CSV{}; capplan does not guess which: save the file again with `.` as decimal separator and no thousands separator (LibreOffice: Save As > Text CSV, with the column type set to English (USA); Excel: File > Options > Advanced > untick \"Use system separators\", set the decimal separator to `.`) and rerun{lenient}",
                        value.trim(),
                        super::separator::decimal_comma_reading(&value),
                        if f.separator == b';' {
                            " with `;` between fields"
                        } else {
                            ""
                        }
                    ),
                )
            }
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
    pub(super) fn sample_granularity(&self, i: usize) -> Option<Granularity> {
        let f = &self.files[i];
        let day_first = self.parts[i].day_first;
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
            let e = timestamp_expr(col(c), &dtype, day_first);
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
        (0..self.files.len())
            .filter_map(|i| self.sample_granularity(i))
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
    let timestamp_columns: Vec<String> = CANONICAL
        .iter()
        .filter(|(_, k)| *k == Kind::Timestamp)
        .filter_map(
            |(name, _)| match m.sources.iter().find(|(n, _)| n == name) {
                Some((_, Source::Column(c))) => Some(c.clone()),
                _ => None,
            },
        )
        .collect();
    let order = date_order(f, &timestamp_columns)?;
    let day_first = order.as_ref().map(|o| o.day_first);
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
                timestamp_expr(col(c.as_str()), &dtype_of(c), day_first),
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
    // A time outside the plausible billing years is an error (a row of 0024 would make a
    // series of 17.5 million hours); checked before anything is allocated.
    let (from, until, _) = plausible_micros();
    for name in ["charge_start", "charge_end"] {
        let t = col(name).cast(DataType::Int64);
        checks.push(Check {
            column: name,
            cond: t.clone().lt(lit(from)).or(t.gt_eq(lit(until))),
            code: format!("{name}:implausible"),
        });
    }
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
    let two_digit_year = match day_first {
        Some(_) => ["charge_start", "charge_end"]
            .iter()
            .filter(|n| raw.iter().any(|r| *r == format!("{RAW_PREFIX}{n}")))
            .map(|n| {
                col(format!("{RAW_PREFIX}{n}").as_str())
                    .cast(DataType::String)
                    .str()
                    .strip_chars(lit(NULL).cast(DataType::String))
                    .str()
                    .contains(lit(TWO_DIGIT_YEAR_RE), false)
                    .fill_null(lit(false))
            })
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false)),
        None => lit(false),
    };
    let mut findings = Vec::new();
    if let Some(o) = &order {
        let (read, other) = if o.day_first {
            ("day-first (dd/mm/yyyy)", "month-first")
        } else {
            ("month-first (mm/dd/yyyy)", "day-first")
        };
        findings.push(match &o.evidence {
            Some((column, row, value)) => Finding {
                code: "date_order".into(),
                severity: Severity::Info,
                count: 0,
                message: format!(
                    "{}: slash dates are read {read}: `{column}` row {row} has {value:?}, which cannot be {other}",
                    f.path.display()
                ),
            },
            None => Finding {
                code: "ambiguous_date_order".into(),
                severity: Severity::Warning,
                count: 0,
                message: format!(
                    "{}: no slash date in `{}` has a field above 12, so dd/mm and mm/dd cannot be told apart; read month-first (mm/dd/yyyy, as AWS, Azure and the FOCUS examples write them); if the export is day-first, convert its dates to ISO 8601 (yyyy-mm-dd)",
                    f.path.display(),
                    timestamp_columns.join("`, `")
                ),
            },
        });
    }
    Ok(Part {
        lf,
        checks,
        excess,
        raw,
        respelled,
        day_first,
        two_digit_year,
        findings,
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

/// Parses a timestamp column into UTC microseconds. Text is read per value: every ISO
/// layout, and slash dates in the file's order (`day_first`, decided by [`date_order`]; `None`
/// when the file has no slash dates) with two-digit years read as 20YY.
pub(super) fn timestamp_expr(e: Expr, dtype: &DataType, day_first: Option<bool>) -> Expr {
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
            let parse = |t: &Expr, fmt: String| {
                t.clone().str().to_datetime(
                    Some(TimeUnit::Microseconds),
                    Some(TimeZone::UTC),
                    StrptimeOptions {
                        format: Some(fmt.into()),
                        strict: false,
                        exact: true,
                        cache: true,
                    },
                    lit("raise"),
                )
            };
            let mut parsed: Vec<Expr> = ISO_FORMATS
                .iter()
                .map(|fmt| parse(&text, (*fmt).to_string()))
                .collect();
            if let Some(day_first) = day_first {
                let four_digits = text.clone().str().replace(
                    lit(TWO_DIGIT_YEAR_RE),
                    lit("${1}20${2}${3}"),
                    false,
                );
                let date = if day_first { "%d/%m/%Y" } else { "%m/%d/%Y" };
                parsed.extend(
                    SLASH_TIMES
                        .iter()
                        .map(|t| parse(&four_digits, format!("{date}{t}"))),
                );
            }
            coalesce(&parsed)
        }
    }
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

/// The file, row and check code of the first row of a frame of `FILE_COL, ROW_COL,
/// BAD_CODE_COL` (sorted by file and row).
fn first_bad_row(df: &DataFrame) -> Result<(usize, u64, String), IngestError> {
    let file = first_u32(df, FILE_COL)? as usize;
    let row = first_u64(df, ROW_COL)?;
    let code = df
        .column(BAD_CODE_COL)?
        .str()?
        .get(0)
        .unwrap_or("")
        .to_string();
    Ok((file, row, code))
}
