//! The lazy query: per-file canonical frames, row classification, one grouped aggregation
//! (sharing its scan with the duplicate check) and conversion into plain Rust types.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use polars::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::error::{IngestError, did_you_mean};
use super::formats::{self, CANONICAL, DIMENSION_ALIASES, Format, Kind, Mapping, Source};
use super::source::{self, ROW_COL, SourceFile};
use super::{
    AggregateOptions, CommitmentUsage, Commitments, CurrencyTotals, FileSummary, Filter, Finding,
    Granularity, Ingested, InputOptions, Inspection, Measure, Reason, ReasonTotals, Reconciliation,
    SeriesKey, Severity, Totals, UsageSeries, ValueCount,
};
use crate::money::{Currency, Money, decimal_from_scaled};

/// Scale of the decimal type money is parsed into: exact for every sample we know of
/// (Azure amortised exports write up to 24 significant decimals). Values with more decimals
/// are rounded half-even and counted. Leaves 14 integer digits (10^14) per value and sum.
pub(crate) const MONEY_SCALE: usize = 24;
const MONEY_DTYPE: DataType = DataType::Decimal(38, MONEY_SCALE);
const MAX_TEXT: u32 = 4096;
/// Polars' streaming engine: inputs are processed in morsels, not loaded whole.
const ENGINE: Engine = Engine::Streaming;
/// Fixed-point type quantities are summed in (9 decimals, see [`crate::money::QUANTITY_DP`]).
const QUANTITY_DTYPE: DataType = DataType::Decimal(38, crate::money::QUANTITY_DP as usize);

const FILE_COL: &str = "__file";
/// True for rows that fail a check (cheap: an OR of the checks' masks).
const BAD_COL: &str = "__bad";
/// The code of the first failing check (`column:problem`); only computed for error messages.
const BAD_CODE_COL: &str = "__bad_code";
const HASH_COL: &str = "__hash";
const REASON_COL: &str = "__reason";
const BUCKET_COL: &str = "__bucket";
const PERIOD_COL: &str = "__period";
const RAW_PREFIX: &str = "__raw_";
const EXCESS_COL: &str = "__excess";
const RESPELLED_COL: &str = "__respelled";

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

/// Inputs read, mapped and validated, ready to be summarised.
pub struct Loaded {
    files: Vec<SourceFile>,
    notes: Vec<Vec<String>>,
    parts: Vec<Part>,
    passthrough: Vec<String>,
    opts: InputOptions,
}

/// One file's canonical frame before validation: the scan with every canonical column
/// (plus raw copies of the parsed ones), and the checks that can be run on it. A query
/// validates and hashes only the canonical columns it reads ([`Loaded::frame`]), so polars
/// decodes only the source columns behind them.
struct Part {
    lf: LazyFrame,
    checks: Vec<Check>,
    /// Excess-decimals conditions of money columns read from text, by canonical column.
    excess: Vec<(&'static str, Expr)>,
    /// Raw copies present in `lf`, dropped once the checks have used them.
    raw: Vec<String>,
    /// Respelling flags present in `lf`, by the canonical column they belong to.
    respelled: Vec<(Option<&'static str>, String)>,
}

/// A validation rule: the row is bad with `code` when `cond` holds; it belongs to the
/// canonical column `column` and runs whenever a query reads that column.
struct Check {
    column: &'static str,
    cond: Expr,
    code: String,
}

/// Canonical columns every grouped query reads: the time, the row classification, the
/// quantities and the three costs the reconciliation adds up.
const BASE_COLUMNS: &[&str] = &[
    "charge_start",
    "charge_end",
    "charge_category",
    "charge_class",
    "pricing_category",
    "commitment_status",
    "consumed_quantity",
    "consumed_unit",
    "list_cost",
    "billed_cost",
    "effective_cost",
    "currency",
];

/// A grouping dimension: its output name, its expression over the canonical frame and the
/// canonical column it reads (none for passthrough columns and computed keys).
struct Dim {
    name: String,
    expr: Expr,
    canonical: Option<&'static str>,
}

impl Dim {
    fn canonical(name: &str, column: &'static str) -> Dim {
        Dim {
            name: name.to_string(),
            expr: col(column),
            canonical: Some(column),
        }
    }
}

/// Which canonical columns a query validates.
#[derive(Clone, Copy)]
enum Scope {
    /// The columns it reads: [`BASE_COLUMNS`], its dimensions and filters, and these.
    Query(&'static [&'static str]),
    /// All of them (`inspect`).
    Everything,
}

/// Canonical columns one query reads (see [`Scope`]).
type Needed = BTreeSet<&'static str>;

/// Rows identical in every source column.
struct Duplicates {
    count: u64,
    example: String,
}

/// One row of the grouped query, converted out of polars.
struct Group {
    reason: Reason,
    currency: Option<String>,
    bucket: Option<i64>,
    dims: Vec<Option<String>>,
    unit: Option<String>,
    rows: u64,
    /// Sum of the measure (quantity or cost column), exact.
    measured: Decimal,
    totals: Totals,
    series_cost: Decimal,
    repaired_rows: u64,
    repaired_amount: Decimal,
    spanning: u64,
    excess_decimals: u64,
    unlabelled_refunds: u64,
    respelled: u64,
    /// Sum of the commitment discount quantity (exact) and how many rows carried one.
    commitment_quantity: Decimal,
    commitment_quantity_rows: u64,
    /// Latest charge period end (µs since the epoch).
    max_end: Option<i64>,
    /// Index of the input file the rows come from.
    file: u32,
}

impl Loaded {
    pub(super) fn new(opts: &InputOptions) -> Result<Self, IngestError> {
        let files = source::resolve(&opts.inputs, opts.format)?;
        let mut mappings = Vec::with_capacity(files.len());
        for f in &files {
            mappings.push(formats::mapping(f, &opts.tidy)?);
        }
        let passthrough: Vec<String> = mappings
            .iter()
            .flat_map(|m| m.passthrough.iter().map(|(n, _)| n.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut parts = Vec::with_capacity(files.len());
        for (i, (f, m)) in files.iter().zip(&mappings).enumerate() {
            parts.push(canonical_frame(f, i as u32, m, &passthrough)?);
        }
        let notes = mappings.into_iter().map(|m| m.notes).collect();
        Ok(Loaded {
            files,
            notes,
            parts,
            passthrough,
            opts: opts.clone(),
        })
    }

    /// The validated canonical frame of every file for a query that reads `needed`: the
    /// checks of those columns (in their fixed order) give `__bad`, money text with too
    /// many decimals gives `__excess`, and `__hash` hashes the needed columns plus the
    /// resource id (the first stage of the duplicate check, see [`Loaded::duplicates`]).
    fn frame(&self, needed: &Needed, everything: bool) -> Result<LazyFrame, IngestError> {
        let hashed: Vec<Expr> = CANONICAL
            .iter()
            .filter(|(n, _)| needed.contains(n) || *n == "resource_id")
            .map(|(n, _)| col(*n))
            .collect();
        let mut frames = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            let null_text = || lit(NULL).cast(DataType::String);
            let mut chain = when(lit(false))
                .then(null_text())
                .when(lit(false))
                .then(null_text());
            let mut any = lit(false);
            for c in p.checks.iter().filter(|c| needed.contains(c.column)) {
                let cond = c.cond.clone().fill_null(lit(false));
                any = any.or(cond.clone());
                chain = chain.when(cond).then(lit(c.code.clone()));
            }
            let excess = p
                .excess
                .iter()
                .filter(|(n, _)| needed.contains(n))
                .map(|(_, e)| e.clone())
                .reduce(|a, b| a.or(b))
                .unwrap_or(lit(false));
            let respelled = p
                .respelled
                .iter()
                .filter(|(c, _)| c.map_or(everything, |c| needed.contains(c)))
                .map(|(_, name)| col(name.as_str()))
                .reduce(|a, b| a.or(b))
                .unwrap_or(lit(false));
            let lf = p.lf.clone().with_columns([
                respelled.alias(RESPELLED_COL),
                any.alias(BAD_COL),
                chain.otherwise(null_text()).alias(BAD_CODE_COL),
                excess.alias(EXCESS_COL),
                row_hash(hashed.clone()).alias(HASH_COL),
            ]);
            let helpers: Vec<String> = p
                .raw
                .iter()
                .cloned()
                .chain(p.respelled.iter().map(|(_, n)| n.clone()))
                .collect();
            frames.push(if helpers.is_empty() {
                lf
            } else {
                lf.drop(by_name(helpers, true, false))
            });
        }
        Ok(concat(
            frames,
            UnionArgs {
                parallel: true,
                rechunk: false,
                ..Default::default()
            },
        )?)
    }

    /// Resolves a user-typed dimension to an expression over the canonical frame.
    fn dimension(&self, name: &str) -> Result<Dim, IngestError> {
        let lower = name.to_ascii_lowercase();
        if let Some((_, canon)) = DIMENSION_ALIASES.iter().find(|(a, _)| *a == lower) {
            return Ok(Dim::canonical(&lower, canon));
        }
        if let Some((canon, _)) = CANONICAL
            .iter()
            .find(|(c, k)| *c == lower && *k == Kind::Text && lower != "tags")
        {
            return Ok(Dim::canonical(&lower, canon));
        }
        if let Some(p) = self
            .passthrough
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))
        {
            return Ok(Dim {
                name: p.clone(),
                expr: col(p.as_str()),
                canonical: None,
            });
        }
        if let Some(key) = name.strip_prefix("tag:") {
            let path = format!("$['{}']", key.replace('\'', "\\'"));
            return Ok(Dim {
                name: name.to_string(),
                expr: col("tags").str().json_path_match(lit(path)),
                canonical: Some("tags"),
            });
        }
        let mut candidates: Vec<&str> = DIMENSION_ALIASES.iter().map(|(a, _)| *a).collect();
        candidates.extend(self.passthrough.iter().map(String::as_str));
        let hint = match did_you_mean(name, candidates.iter().copied()) {
            Some(c) => format!("did you mean `{c}`? "),
            None => String::new(),
        };
        let mut names: Vec<&str> = DIMENSION_ALIASES.iter().map(|(a, _)| *a).collect();
        names.dedup();
        Err(IngestError::UnknownDimension {
            name: name.to_string(),
            hint: format!(
                "{hint}known dimensions: {}{}; tags as tag:<key>",
                names.join(", "),
                if self.passthrough.is_empty() {
                    String::new()
                } else {
                    format!(", {}", self.passthrough.join(", "))
                }
            ),
        })
    }

    fn filter_expr(&self, filters: &[Filter]) -> Result<Expr, IngestError> {
        let mut e = lit(true);
        for f in filters {
            let d = self.dimension(&f.key)?;
            e = e.and(d.expr.eq(lit(f.value.clone())).fill_null(lit(false)));
        }
        Ok(e)
    }

    /// The row's reason before currency selection (which happens after grouping).
    fn reason_expr(&self, measure: Measure, filters: &[Filter]) -> Result<Expr, IngestError> {
        let cat = col("charge_category");
        let measured = match measure {
            Measure::Quantity => col("consumed_quantity").is_not_null(),
            Measure::BilledCost => col("billed_cost").is_not_null(),
            Measure::EffectiveCost => col("effective_cost").is_not_null(),
            Measure::ListCost => col("list_cost").is_not_null(),
        };
        let unused = col("commitment_status")
            .eq(lit("Unused"))
            .fill_null(lit(false));
        let unused = if measure == Measure::Quantity {
            unused
        } else {
            lit(false)
        };
        Ok(when(col(BAD_COL))
            .then(reason_code(Reason::Unparseable))
            .when(cat.clone().eq(lit("Tax")).fill_null(lit(false)))
            .then(reason_code(Reason::Tax))
            .when(cat.clone().eq(lit("Credit")).fill_null(lit(false)))
            .then(reason_code(Reason::Credit))
            .when(cat.clone().eq(lit("Purchase")).fill_null(lit(false)))
            .then(reason_code(Reason::Purchase))
            .when(cat.eq(lit("Adjustment")).fill_null(lit(false)))
            .then(reason_code(Reason::Adjustment))
            .when(unused)
            .then(reason_code(Reason::UnusedCommitment))
            .when(self.filter_expr(filters)?.not())
            .then(reason_code(Reason::Filtered))
            .when(measured.not())
            .then(reason_code(Reason::NoQuantity))
            .otherwise(reason_code(Reason::Used)))
    }

    /// Runs the grouped query (and the duplicate check on the same scan), fails on the
    /// first bad row unless lenient, and converts the groups.
    fn run(
        &self,
        dims: &[Dim],
        scope: Scope,
        granularity: Granularity,
        measure: Measure,
        filters: &[Filter],
    ) -> Result<(Vec<Group>, Option<Duplicates>), IngestError> {
        // Cost measures are summed exactly and converted to f64 once per bucket.
        // Every measure is summed as a fixed-point decimal: integer sums do not depend on the
        // order the engine adds rows in, so the series are identical run after run (f64 sums
        // are not). Quantities keep 9 decimals; costs are exact.
        let measured = match measure {
            Measure::Quantity => col("consumed_quantity").cast(QUANTITY_DTYPE),
            Measure::BilledCost => col("billed_cost"),
            Measure::EffectiveCost => col("effective_cost"),
            Measure::ListCost => col("list_cost"),
        };
        // Known defect of some FOCUS exports (focus_sample.csv): EffectiveCost 0 on
        // Standard-priced usage that was billed. The series use the billed cost there; the
        // reconciliation keeps the column as read. Files without an effective cost use billed.
        let repair = col("effective_cost")
            .eq(lit(0))
            .and(col("billed_cost").neq(lit(0)))
            .and(col("pricing_category").eq(lit("Standard")))
            .and(col("charge_category").eq(lit("Usage")))
            .fill_null(lit(false));
        let series_cost = when(repair.clone())
            .then(col("billed_cost"))
            .otherwise(coalesce(&[col("effective_cost"), col("billed_cost")]));
        let bucket = col("charge_start")
            .dt()
            .truncate(lit(super::every(granularity)));
        let period = (col("charge_end") - col("charge_start"))
            .dt()
            .total_seconds(false);
        // The file is a key too, so rows per file come from this one scan.
        let mut keys = vec![
            col(REASON_COL),
            col("currency"),
            col(BUCKET_COL),
            col("consumed_unit"),
            col(FILE_COL),
        ];
        let with = vec![
            self.reason_expr(measure, filters)?.alias(REASON_COL),
            bucket.alias(BUCKET_COL),
            period.alias(PERIOD_COL),
        ];
        let mut dim_cols = Vec::with_capacity(dims.len());
        for (i, d) in dims.iter().enumerate() {
            let name = format!("__dim{i}");
            dim_cols.push(d.expr.clone().alias(name.as_str()));
            keys.push(col(name.as_str()));
        }
        let mut needed: Needed = match scope {
            Scope::Query(extra) => BASE_COLUMNS.iter().chain(extra).copied().collect(),
            Scope::Everything => CANONICAL.iter().map(|(n, _)| *n).collect(),
        };
        needed.extend(dims.iter().filter_map(|d| d.canonical));
        for f in filters {
            needed.extend(self.dimension(&f.key)?.canonical);
        }
        let frame = self.frame(&needed, matches!(scope, Scope::Everything))?;
        // Commitment quantities are only read by the queries that need them.
        let quantities = if needed.contains("commitment_quantity") {
            vec![
                col("commitment_quantity")
                    .sum()
                    .alias("commitment_quantity"),
                col("commitment_quantity")
                    .count()
                    .alias("commitment_quantity_rows"),
            ]
        } else {
            Vec::new()
        };
        let mut aggs = vec![
            len().alias("rows"),
            measured.sum().alias("measured"),
            col("billed_cost").sum().alias("billed"),
            col("effective_cost").sum().alias("effective"),
            col("list_cost").sum().alias("list"),
            series_cost.sum().alias("series_cost"),
            repair
                .clone()
                .cast(DataType::UInt64)
                .sum()
                .alias("repaired_rows"),
            when(repair)
                .then(col("billed_cost"))
                .otherwise(lit(0).cast(MONEY_DTYPE))
                .sum()
                .alias("repaired_amount"),
            col(PERIOD_COL)
                .gt(lit(granularity.nominal_seconds()))
                .cast(DataType::UInt64)
                .sum()
                .alias("spanning"),
            col(EXCESS_COL).cast(DataType::UInt64).sum().alias("excess"),
            col("consumed_quantity")
                .lt(lit(0.0))
                .and(col("charge_class").is_null())
                .fill_null(lit(false))
                .cast(DataType::UInt64)
                .sum()
                .alias("unlabelled_refunds"),
            col(RESPELLED_COL)
                .cast(DataType::UInt64)
                .sum()
                .alias("respelled"),
            col("charge_end")
                .cast(DataType::Int64)
                .max()
                .alias("max_end"),
        ];
        aggs.extend(quantities);
        let grouped = frame
            .clone()
            .with_columns(with)
            .with_columns(dim_cols)
            .group_by(keys)
            .agg(aggs);
        // The first stage of the duplicate check shares the grouped query's scan: the hash
        // of each row's needed columns (8 bytes a row), sorted below.
        let hashes = frame.clone().select([col(HASH_COL)]);
        let opt = frame.get_current_optimizations();
        let mut out = LazyFrame::collect_all_with_engine(
            vec![grouped.logical_plan, hashes.logical_plan],
            ENGINE,
            opt,
        )
        .map_err(|e| self.engine_error(e))?;
        let hash_df = out.pop().unwrap_or_default();
        let df = out.pop().unwrap_or_default();
        drop(out);
        let groups = self.groups(&df, dims.len())?;
        drop(df);
        self.fail_on_bad_rows(&frame, &groups)?;
        let candidates = repeated_hashes(&hash_df)?;
        drop(hash_df);
        let duplicates = if candidates.is_empty() {
            None
        } else {
            self.duplicates(&frame, candidates)?
        };
        Ok((groups, duplicates))
    }

    /// Second stage of the duplicate check, only for rows whose needed columns hash like
    /// another row's: those rows are read again with every source column, and rows
    /// identical in all of them are duplicates. Exact up to 64-bit hash collisions of whole
    /// rows (about n²/2⁶⁵ for n candidate rows).
    fn duplicates(
        &self,
        frame: &LazyFrame,
        candidates: Vec<u64>,
    ) -> Result<Option<Duplicates>, IngestError> {
        let set = Series::new("".into(), candidates);
        let rows = frame
            .clone()
            .filter(col(HASH_COL).is_in(lit(set).implode(false), false))
            .select([col(FILE_COL), col(ROW_COL), col(HASH_COL)])
            .collect_with_engine(ENGINE)
            .map_err(|e| self.engine_error(e))?
            .unwrap_single();
        let file = rows.column(FILE_COL)?.cast(&DataType::UInt32)?;
        let file = file.u32()?;
        let row = rows.column(ROW_COL)?.cast(&DataType::UInt64)?;
        let row = row.u64()?;
        let key = rows.column(HASH_COL)?.cast(&DataType::UInt64)?;
        let key = key.u64()?;
        // (file, row) → key hash of each candidate, per file.
        let mut by_file: BTreeMap<u32, BTreeMap<u64, u64>> = BTreeMap::new();
        for ((f, r), k) in file.iter().zip(row.iter()).zip(key.iter()) {
            if let (Some(f), Some(r), Some(k)) = (f, r, k) {
                by_file.entry(f).or_default().insert(r, k);
            }
        }
        // (key hash, whole-row hash) → positions, in file then row order.
        let mut same: BTreeMap<(u64, u64), Vec<(u32, u64)>> = BTreeMap::new();
        for (f, wanted) in &by_file {
            let src = &self.files[*f as usize];
            let raw: Vec<Expr> = src.schema.iter_names().map(|n| col(n.clone())).collect();
            let list = Series::new("".into(), wanted.keys().copied().collect::<Vec<u64>>());
            let df = source::scan(src)?
                .filter(
                    col(ROW_COL)
                        .cast(DataType::UInt64)
                        .is_in(lit(list).implode(false), false),
                )
                .select([
                    col(ROW_COL).cast(DataType::UInt64),
                    row_hash(raw).alias(HASH_COL),
                ])
                .collect_with_engine(ENGINE)
                .map_err(|e| self.engine_error(e))?
                .unwrap_single();
            let r = df.column(ROW_COL)?.u64()?.clone();
            let h = df.column(HASH_COL)?.cast(&DataType::UInt64)?;
            for (r, h) in r.iter().zip(h.u64()?.iter()) {
                if let (Some(r), Some(h)) = (r, h)
                    && let Some(k) = wanted.get(&r)
                {
                    same.entry((*k, h)).or_default().push((*f, r));
                }
            }
        }
        let mut sets: Vec<Vec<(u32, u64)>> = same.into_values().filter(|v| v.len() > 1).collect();
        if sets.is_empty() {
            return Ok(None);
        }
        for v in &mut sets {
            v.sort_unstable();
        }
        sets.sort_unstable();
        let count = sets.iter().map(|v| v.len() as u64 - 1).sum();
        let first = &sets[0];
        let name = |f: u32| self.files[f as usize].path.display().to_string();
        let ((f1, r1), (f2, r2)) = (first[0], first[first.len() - 1]);
        let example = if f1 == f2 {
            format!("{} rows {r1} and {r2}", name(f1))
        } else {
            format!("{} row {r1} and {} row {r2}", name(f1), name(f2))
        };
        Ok(Some(Duplicates { count, example }))
    }

    /// Duplicates are an error unless allowed, then a finding.
    fn check_duplicates(
        &self,
        d: Option<Duplicates>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), IngestError> {
        let Some(d) = d else { return Ok(()) };
        if !self.opts.allow_duplicates {
            return Err(IngestError::Duplicates {
                count: d.count,
                first: d.example,
            });
        }
        findings.push(Finding {
            code: "duplicate_rows".into(),
            severity: Severity::Warning,
            count: d.count,
            message: format!(
                "{} rows repeat an earlier row exactly (e.g. {}); kept because of --allow-duplicates",
                d.count, d.example
            ),
        });
        Ok(())
    }

    /// Maps polars errors raised while reading a file to a file-specific message.
    fn engine_error(&self, e: PolarsError) -> IngestError {
        let msg = source::clean_polars_message(&e);
        let lower = msg.to_ascii_lowercase();
        if lower.contains("utf-8") || lower.contains("utf8") {
            for f in &self.files {
                if let Some(line) = first_non_utf8_line(&f.path) {
                    return IngestError::NotUtf8 {
                        path: f.path.clone(),
                        line,
                    };
                }
            }
        }
        // Find the file at fault: a CSV with a structural problem, else the only file.
        for f in &self.files {
            if matches!(f.kind, source::FileKind::Csv | source::FileKind::CsvGz)
                && let Some(diagnosis) = source::diagnose_csv(&f.path, f.kind)
            {
                return IngestError::Csv {
                    path: f.path.clone(),
                    message: diagnosis,
                };
            }
        }
        if let [f] = self.files.as_slice() {
            return match f.kind {
                source::FileKind::Parquet => IngestError::Parquet {
                    path: f.path.clone(),
                    message: msg,
                },
                source::FileKind::CsvGz
                    if lower.contains("gzip") || lower.contains("decompress") =>
                {
                    IngestError::Gzip {
                        path: f.path.clone(),
                        message: msg,
                    }
                }
                _ => IngestError::Csv {
                    path: f.path.clone(),
                    message: msg,
                },
            };
        }
        IngestError::Engine(format!("while reading {} files: {msg}", self.files.len()))
    }

    fn groups(&self, df: &DataFrame, ndims: usize) -> Result<Vec<Group>, IngestError> {
        let reason = df.column(REASON_COL)?.cast(&DataType::UInt32)?;
        let reason = reason.u32()?.clone();
        let currency = df.column("currency")?.str()?.clone();
        let bucket = df.column(BUCKET_COL)?.cast(&DataType::Int64)?;
        let bucket = bucket.i64()?.clone();
        let unit = df.column("consumed_unit")?.str()?.clone();
        let file = df.column(FILE_COL)?.cast(&DataType::UInt32)?;
        let file = file.u32()?.clone();
        let dims: Vec<StringChunked> = (0..ndims)
            .map(|i| {
                Ok(df
                    .column(&format!("__dim{i}"))?
                    .cast(&DataType::String)?
                    .str()?
                    .clone())
            })
            .collect::<Result<_, IngestError>>()?;
        let rows = df.column("rows")?.cast(&DataType::UInt64)?;
        let rows = rows.u64()?.clone();
        let dec = |name: &str| -> Result<Vec<Decimal>, IngestError> { decimals(df, name) };
        let billed = dec("billed")?;
        let effective = dec("effective")?;
        let list = dec("list")?;
        let series_cost = dec("series_cost")?;
        let measured = dec("measured")?;
        let repaired_amount = dec("repaired_amount")?;
        let u64col = |name: &str| -> Result<Vec<u64>, IngestError> {
            let c = df.column(name)?.cast(&DataType::UInt64)?;
            Ok(c.u64()?.iter().map(|v| v.unwrap_or(0)).collect())
        };
        let repaired_rows = u64col("repaired_rows")?;
        let spanning = u64col("spanning")?;
        let excess = u64col("excess")?;
        let refunds = u64col("unlabelled_refunds")?;
        let respelled = u64col("respelled")?;
        let (commitment_quantity, commitment_quantity_rows) =
            if df.get_column_index("commitment_quantity").is_some() {
                (
                    dec("commitment_quantity")?,
                    u64col("commitment_quantity_rows")?,
                )
            } else {
                (vec![Decimal::ZERO; df.height()], vec![0; df.height()])
            };
        let max_end = df.column("max_end")?.cast(&DataType::Int64)?;
        let max_end = max_end.i64()?.clone();
        let mut out = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let code = reason.get(i).unwrap_or(0) as usize;
            out.push(Group {
                reason: *Reason::ALL
                    .get(code)
                    .ok_or_else(|| IngestError::Engine(format!("unknown reason {code}")))?,
                currency: currency.get(i).map(str::to_string),
                bucket: bucket.get(i),
                dims: dims.iter().map(|d| d.get(i).map(str::to_string)).collect(),
                unit: unit.get(i).map(str::to_string),
                file: file.get(i).unwrap_or(0),
                rows: rows.get(i).unwrap_or(0),
                measured: measured[i],
                totals: Totals {
                    rows: rows.get(i).unwrap_or(0),
                    billed_cost: billed[i],
                    effective_cost: effective[i],
                    list_cost: list[i],
                },
                series_cost: series_cost[i],
                repaired_rows: repaired_rows[i],
                repaired_amount: repaired_amount[i],
                spanning: spanning[i],
                excess_decimals: excess[i],
                unlabelled_refunds: refunds[i],
                respelled: respelled[i],
                commitment_quantity: commitment_quantity[i],
                commitment_quantity_rows: commitment_quantity_rows[i],
                max_end: max_end.get(i),
            });
        }
        Ok(out)
    }

    /// Applies the currency choice, then builds the reconciliation and general findings.
    fn account(
        &self,
        groups: &mut [Group],
    ) -> Result<(Currency, Reconciliation, Vec<Finding>), IngestError> {
        let currencies: BTreeSet<String> =
            groups.iter().filter_map(|g| g.currency.clone()).collect();
        let chosen = match &self.opts.currency {
            Some(c) => *c,
            None => match currencies.len() {
                0 => Currency::USD,
                1 => {
                    let code = currencies
                        .iter()
                        .next()
                        .map(String::as_str)
                        .unwrap_or("USD");
                    Currency::new(code).map_err(|_| IngestError::BadOption {
                        option: "currency".into(),
                        message: format!(
                            "the billing currency {code:?} is not a three-letter code"
                        ),
                    })?
                }
                _ => {
                    return Err(IngestError::MixedCurrencies {
                        currencies: currencies.iter().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            },
        };
        if self.opts.currency.is_some()
            && !currencies
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case(chosen.code()))
        {
            return Err(IngestError::NoUsableRows {
                summary: format!(
                    "no row is billed in {chosen} (the input has {}); check --currency",
                    if currencies.is_empty() {
                        "no currency column".to_string()
                    } else {
                        currencies.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            });
        }
        for g in groups.iter_mut() {
            if let Some(c) = &g.currency
                && !c.trim().eq_ignore_ascii_case(chosen.code())
            {
                g.reason = Reason::OtherCurrency;
            }
        }
        let mut source: BTreeMap<String, Totals> = BTreeMap::new();
        let mut by_reason: BTreeMap<(Reason, String), Totals> = BTreeMap::new();
        {
            // Summed under borrowed keys first: one entry per (reason, currency), not per group.
            let mut sums: BTreeMap<(Reason, &str), Totals> = BTreeMap::new();
            for g in groups.iter() {
                let cur = g.currency.as_deref().unwrap_or("(none)");
                sums.entry((g.reason, cur)).or_default().add(&g.totals);
            }
            for ((reason, cur), t) in sums {
                source.entry(cur.to_string()).or_default().add(&t);
                by_reason.insert((reason, cur.to_string()), t);
            }
        }
        // The check: groups re-added must equal the per-currency source totals.
        let mut check: BTreeMap<String, Totals> = BTreeMap::new();
        for ((_, cur), t) in &by_reason {
            check.entry(cur.clone()).or_default().add(t);
        }
        let balanced = check == source;
        if !balanced {
            return Err(IngestError::Reconciliation(
                "used + excluded rows do not add up to the source totals".into(),
            ));
        }
        let reconciliation = Reconciliation {
            source: source
                .into_iter()
                .map(|(currency, totals)| CurrencyTotals { currency, totals })
                .collect(),
            by_reason: by_reason
                .into_iter()
                .map(|((reason, currency), totals)| ReasonTotals {
                    reason,
                    currency,
                    totals,
                })
                .collect(),
            balanced,
        };
        let mut findings = Vec::new();
        for (i, notes) in self.notes.iter().enumerate() {
            for n in notes {
                findings.push(Finding {
                    code: "format_note".into(),
                    severity: Severity::Info,
                    count: 0,
                    message: format!("{}: {n}", self.files[i].path.display()),
                });
            }
        }
        let sum = |f: fn(&Group) -> u64| groups.iter().map(f).sum::<u64>();
        let repaired_amount: Decimal = groups.iter().map(|g| g.repaired_amount).sum();
        let counted = [
            (
                "effective_cost_zero",
                Severity::Warning,
                sum(|g| g.repaired_rows),
                format!(
                    "Standard-priced usage rows have EffectiveCost 0 but BilledCost > 0 (a known export defect); their billed cost ({} {chosen}) is used as effective cost in the series; the reconciliation keeps EffectiveCost as read",
                    repaired_amount.normalize()
                ),
            ),
            (
                "excess_decimals",
                Severity::Warning,
                sum(|g| g.excess_decimals),
                format!("cost values have more than {MONEY_SCALE} decimal places and were rounded half-even at the {MONEY_SCALE}th"),
            ),
            (
                "unlabelled_refunds",
                Severity::Info,
                sum(|g| g.unlabelled_refunds),
                "rows have a negative quantity and a negative cost without ChargeClass=Correction; treated as refunds (they reduce usage in their bucket)".to_string(),
            ),
            (
                "respelled_values",
                Severity::Info,
                sum(|g| g.respelled),
                "rows spell FOCUS enumeration values differently from the specification (case such as Usage-based, or FOCUS 1.0 names such as On-Demand); normalised to the FOCUS 1.2 values".to_string(),
            ),
            (
                "unparseable_rows",
                Severity::Warning,
                reconciliation.rows(Reason::Unparseable),
                "rows had values that could not be parsed and were excluded (--lenient)".to_string(),
            ),
        ];
        for (code, severity, count, what) in counted {
            if count > 0 {
                findings.push(Finding {
                    code: code.into(),
                    severity,
                    count,
                    message: format!("{count} {what}"),
                });
            }
        }
        self.text_findings(&mut findings);
        Ok((chosen, reconciliation, findings))
    }

    /// Findings that only need the headers and samples.
    fn text_findings(&self, findings: &mut Vec<Finding>) {
        for f in &self.files {
            if f.null_markers_seen {
                findings.push(Finding {
                    code: "null_strings".into(),
                    severity: Severity::Info,
                    count: 0,
                    message: format!(
                        "{}: literal `NULL` text is read as a missing value",
                        f.path.display()
                    ),
                });
            }
            if f.kind == source::FileKind::Parquet {
                continue;
            }
            for src in ["ChargePeriodStart", "lineItem/UsageStartDate"] {
                let s = f.sample_text(src, 5);
                if s.iter().any(|v| !v.contains('T') && v.len() >= 16) {
                    findings.push(Finding {
                        code: "timestamp_without_zone".into(),
                        severity: Severity::Info,
                        count: 0,
                        message: format!(
                            "{}: `{src}` values such as {:?} have no `T`/`Z`; read as UTC",
                            f.path.display(),
                            s[0]
                        ),
                    });
                }
            }
        }
    }

    /// Rows per input file, from the grouped query.
    fn file_rows(&self, groups: &[Group]) -> Vec<u64> {
        let mut out = vec![0u64; self.files.len()];
        for g in groups {
            out[g.file as usize] += g.rows;
        }
        out
    }

    fn summaries(&self, rows: &[u64]) -> Vec<FileSummary> {
        self.files
            .iter()
            .zip(rows)
            .map(|(f, r)| FileSummary {
                path: f.path.display().to_string(),
                kind: f.kind,
                format: f.format,
                version: (f.format == Format::Focus)
                    .then(|| formats::focus_version(&f.columns()).to_string()),
                rows: *r,
            })
            .collect()
    }

    /// In strict mode, turns the first unparseable row into an error with file, row and column.
    fn fail_on_bad_rows(&self, frame: &LazyFrame, groups: &[Group]) -> Result<(), IngestError> {
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
        let (mut groups, dup) = self.run(
            &dims,
            Scope::Everything,
            Granularity::Hour,
            Measure::Quantity,
            &[],
        )?;
        let mut findings = Vec::new();
        self.check_duplicates(dup, &mut findings)?;
        let (_, reconciliation, mut more) = self.account(&mut groups)?;
        findings.append(&mut more);
        let rows = self.file_rows(&groups);
        let usage: Vec<&Group> = groups
            .iter()
            .filter(|g| {
                matches!(
                    g.reason,
                    Reason::Used | Reason::NoQuantity | Reason::UnusedCommitment
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
        let granularity = periods
            .iter()
            .max_by_key(|(p, n)| (**n, -**p))
            .and_then(|(p, _)| Granularity::from_period_seconds(*p));
        let buckets: BTreeSet<i64> = usage.iter().filter_map(|g| g.bucket).collect();
        let start = usage
            .iter()
            .filter_map(|g| g.bucket)
            .min()
            .map(micros_to_utc);
        // The span of usage: purchases and taxes can carry whole terms or months.
        let end = usage
            .iter()
            .filter_map(|g| g.max_end)
            .max()
            .map(micros_to_utc);
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
        let count_by = |idx: Option<usize>, use_currency: bool| -> Vec<ValueCount> {
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
                e.1 += g.totals.billed_cost;
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
            v
        };
        Ok(Inspection {
            files: self.summaries(&rows),
            rows: reconciliation.total_rows(),
            start,
            end,
            granularity,
            providers: count_by(Some(0), false),
            services: count_by(Some(1), false),
            accounts: count_by(Some(2), false),
            currencies: count_by(None, true),
            gaps,
            reconciliation,
            findings,
        })
    }

    /// Per-commitment used and unused amortised cost, purchases and quantities: one grouped
    /// query (the same as `inspect`'s, keyed by the commitment columns), summed exactly.
    /// Rows without a `CommitmentDiscountId` do not belong to a commitment and are skipped;
    /// rows in another currency than the chosen one are left out.
    pub fn commitments(&self) -> Result<Commitments, IngestError> {
        let dims = [
            "commitment_id",
            "commitment_status",
            "charge_category",
            "commitment_type",
            "commitment_category",
            "commitment_unit",
        ]
        .map(|c| Dim::canonical(c, c));
        let (mut groups, dup) = self.run(
            &dims,
            Scope::Query(&["commitment_quantity"]),
            Granularity::Month,
            Measure::EffectiveCost,
            &[],
        )?;
        let mut findings = Vec::new();
        self.check_duplicates(dup, &mut findings)?;
        let (currency, reconciliation, mut more) = self.account(&mut groups)?;
        findings.append(&mut more);
        let mut by_id: BTreeMap<String, CommitmentUsage> = BTreeMap::new();
        let add_q = |slot: &mut Option<Decimal>, g: &Group| {
            if g.commitment_quantity_rows > 0 {
                *slot = Some(slot.unwrap_or_default() + g.commitment_quantity);
            }
        };
        for g in &groups {
            if matches!(g.reason, Reason::OtherCurrency | Reason::Unparseable) {
                continue;
            }
            let Some(id) = g.dims[0].clone() else {
                continue;
            };
            let c = by_id.entry(id.clone()).or_insert_with(|| CommitmentUsage {
                commitment_id: id,
                commitment_type: None,
                category: None,
                units: Vec::new(),
                used_rows: 0,
                used_cost: Decimal::ZERO,
                unused_rows: 0,
                unused_cost: Decimal::ZERO,
                purchase_rows: 0,
                purchase_billed_cost: Decimal::ZERO,
                other_rows: 0,
                other_effective_cost: Decimal::ZERO,
                used_quantity: None,
                unused_quantity: None,
                purchased_quantity: None,
            });
            let status = g.dims[1].as_deref();
            let category = g.dims[2].as_deref();
            match (category, status) {
                (Some("Purchase"), _) => {
                    c.purchase_rows += g.rows;
                    c.purchase_billed_cost += g.totals.billed_cost;
                    add_q(&mut c.purchased_quantity, g);
                }
                (Some("Usage"), Some("Used")) => {
                    c.used_rows += g.rows;
                    c.used_cost += g.totals.effective_cost;
                    add_q(&mut c.used_quantity, g);
                }
                (Some("Usage"), Some("Unused")) => {
                    c.unused_rows += g.rows;
                    c.unused_cost += g.totals.effective_cost;
                    add_q(&mut c.unused_quantity, g);
                }
                _ => {
                    c.other_rows += g.rows;
                    c.other_effective_cost += g.totals.effective_cost;
                }
            }
            // Smallest value wins so the result does not depend on group order.
            let keep_min = |slot: &mut Option<String>, v: &Option<String>| {
                if let Some(v) = v
                    && slot.as_ref().is_none_or(|s| v < s)
                {
                    *slot = Some(v.clone());
                }
            };
            keep_min(&mut c.commitment_type, &g.dims[3]);
            keep_min(&mut c.category, &g.dims[4]);
            if let Some(u) = &g.dims[5]
                && !c.units.contains(u)
            {
                c.units.push(u.clone());
                c.units.sort();
            }
        }
        let mixed = by_id.values().filter(|c| c.units.len() > 1).count();
        if mixed > 0 {
            findings.push(Finding {
                code: "commitment_mixed_units".into(),
                severity: Severity::Warning,
                count: mixed as u64,
                message: format!(
                    "{mixed} commitments have rows in more than one CommitmentDiscountUnit; their utilisation by quantity is not computed"
                ),
            });
        }
        Ok(Commitments {
            currency,
            commitments: by_id.into_values().collect(),
            reconciliation,
            findings,
        })
    }

    /// `capplan ingest`: regular series by the requested dimensions.
    pub fn aggregate(&self, opts: &AggregateOptions) -> Result<Ingested, IngestError> {
        let mut dims = Vec::with_capacity(opts.by.len());
        for name in &opts.by {
            dims.push(self.dimension(name)?);
        }
        let granularity = opts
            .granularity
            .unwrap_or_else(|| self.detected_granularity());
        if let Some(requested) = opts.granularity {
            for f in &self.files {
                if let Some(found) = self.sample_granularity(f).filter(|g| *g > requested) {
                    return Err(IngestError::GranularityTooFine {
                        path: f.path.clone(),
                        requested: requested.name().into(),
                        found: found.name().into(),
                    });
                }
            }
        }
        // Validate filters before scanning.
        self.filter_expr(&opts.filters).map(drop)?;
        let (mut groups, dup) = self.run(
            &dims,
            Scope::Query(&[]),
            granularity,
            opts.measure,
            &opts.filters,
        )?;
        let mut findings = Vec::new();
        self.check_duplicates(dup, &mut findings)?;
        let (currency, reconciliation, mut more) = self.account(&mut groups)?;
        findings.append(&mut more);
        let used: Vec<&Group> = groups.iter().filter(|g| g.reason == Reason::Used).collect();
        let used_rows: u64 = used.iter().map(|g| g.rows).sum();
        if used_rows == 0 {
            let mut parts: Vec<String> = reconciliation
                .by_reason
                .iter()
                .map(|r| format!("{} {} rows", r.totals.rows, r.reason.code()))
                .collect();
            parts.dedup();
            return Err(IngestError::NoUsableRows {
                summary: format!(
                    "of {} rows read: {}; check --currency, --filter and --measure",
                    reconciliation.total_rows(),
                    parts.join(", ")
                ),
            });
        }
        let spanning: u64 = used.iter().map(|g| g.spanning).sum();
        if spanning > 0 {
            findings.push(Finding {
                code: "rows_span_buckets".into(),
                severity: Severity::Info,
                count: spanning,
                message: format!(
                    "{spanning} used rows have a charge period longer than one {}; each is attributed to the bucket of its start",
                    granularity.name()
                ),
            });
        }
        let series = build_series(&used, &dims, opts, granularity, currency)?;
        let gaps: usize = series.iter().map(|s| s.gaps_filled).sum();
        if gaps > 0 {
            findings.push(Finding {
                code: "gaps_filled".into(),
                severity: Severity::Info,
                count: gaps as u64,
                message: format!(
                    "{gaps} empty {} buckets across {} series were filled with 0",
                    granularity.name(),
                    series.len()
                ),
            });
        }
        let rows = self.file_rows(&groups);
        Ok(Ingested {
            series,
            reconciliation,
            findings,
            files: self.summaries(&rows),
        })
    }

    /// The granularity of one file's charge periods, from its sample rows: the most common
    /// period length, or for files without an end column the smallest step between times.
    fn sample_granularity(&self, f: &SourceFile) -> Option<Granularity> {
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

fn build_series(
    used: &[&Group],
    dims: &[Dim],
    opts: &AggregateOptions,
    granularity: Granularity,
    currency: Currency,
) -> Result<Vec<UsageSeries>, IngestError> {
    let first = used.iter().filter_map(|g| g.bucket).min();
    let last = used.iter().filter_map(|g| g.bucket).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    // The shared time axis.
    let mut axis = Vec::new();
    let mut t = micros_to_utc(first);
    let stop = micros_to_utc(last);
    while t <= stop {
        axis.push(t.timestamp_micros());
        t = granularity.next(t);
    }
    let index: BTreeMap<i64, usize> = axis.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    // (exact measure sums, effective cost, seen) per bucket
    type Acc = (Vec<Decimal>, Vec<Decimal>, Vec<bool>);
    // Groups are looked up by their borrowed values; a series key is built once per series.
    let mut slot: std::collections::HashMap<(&[Option<String>], Option<&str>), usize> =
        std::collections::HashMap::new();
    let mut accs: Vec<((SeriesKey, String), Acc)> = Vec::new();
    let n = axis.len();
    for g in used {
        let Some(b) = g.bucket else { continue };
        let Some(&i) = index.get(&b) else { continue };
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
                (
                    vec![Decimal::ZERO; n],
                    vec![Decimal::ZERO; n],
                    vec![false; n],
                ),
            ));
            accs.len() - 1
        });
        let e = &mut accs[at].1;
        e.0[i] += g.measured;
        e.1[i] += g.series_cost;
        e.2[i] = true;
    }
    // Distinct group values can name the same series (a value and a missing one both read
    // "(none)"): merge them, in key order.
    let mut acc: BTreeMap<(SeriesKey, String), Acc> = BTreeMap::new();
    for (key, (m, c, seen)) in accs {
        match acc.entry(key) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert((m, c, seen));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                for i in 0..n {
                    e.0[i] += m[i];
                    e.1[i] += c[i];
                    e.2[i] |= seen[i];
                }
            }
        }
    }
    Ok(acc
        .into_iter()
        .map(|((key, unit), (measured, cost, seen))| UsageSeries {
            key,
            unit,
            granularity,
            start: micros_to_utc(first),
            values: measured.iter().map(|d| d.to_f64().unwrap_or(0.0)).collect(),
            cost: Some(
                cost.into_iter()
                    .map(|c| Money::new(c.normalize(), currency))
                    .collect(),
            ),
            gaps_filled: seen.iter().filter(|s| !**s).count(),
        })
        .collect())
}

/// Builds the canonical frame of one file and its checks.
fn canonical_frame(
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
fn row_hash(columns: Vec<Expr>) -> Expr {
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
fn timestamp_expr(e: Expr, dtype: &DataType, sample: &[String]) -> Expr {
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

fn decimals(df: &DataFrame, name: &str) -> Result<Vec<Decimal>, IngestError> {
    let c = df.column(name)?;
    let ca = c
        .decimal()
        .map_err(|e| IngestError::Engine(format!("{name}: expected a decimal column: {e}")))?;
    let scale = ca.scale() as u32;
    ca.physical()
        .iter()
        .map(|v| match v {
            Some(v) => decimal_from_scaled(v, scale)
                .map_err(|e| IngestError::Reconciliation(format!("{name}: {e}"))),
            None => Ok(Decimal::ZERO),
        })
        .collect()
}

/// A row's reason as it travels through the query: its index in [`Reason::ALL`] (integer
/// keys group faster than text).
fn reason_code(r: Reason) -> Expr {
    lit(Reason::ALL.iter().position(|x| *x == r).unwrap_or(0) as u32)
}

/// Hash values that occur more than once in the `__hash` column, ascending.
fn repeated_hashes(df: &DataFrame) -> Result<Vec<u64>, IngestError> {
    let c = df.column(HASH_COL)?.cast(&DataType::UInt64)?;
    let mut all: Vec<u64> = c.u64()?.into_no_null_iter().collect();
    drop(c);
    all.sort_unstable();
    let mut out: Vec<u64> = all
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    out.dedup();
    Ok(out)
}

fn first_u64(df: &DataFrame, name: &str) -> Result<u64, IngestError> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.get(0).unwrap_or(0))
}

fn first_u32(df: &DataFrame, name: &str) -> Result<u32, IngestError> {
    Ok(first_u64(df, name)? as u32)
}

fn micros_to_utc(m: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(m).unwrap_or_default()
}

fn truncate_micros(m: i64, g: Granularity) -> i64 {
    let t = micros_to_utc(m);
    let d = t.date_naive();
    let start = match g {
        Granularity::Hour => return m - m.rem_euclid(3_600_000_000),
        Granularity::Day => d,
        Granularity::Week => {
            d - chrono::Duration::days(chrono::Datelike::weekday(&d).num_days_from_monday() as i64)
        }
        Granularity::Month => d.with_day0(0).unwrap_or(d),
    };
    start
        .and_hms_opt(0, 0, 0)
        .map(|n| n.and_utc().timestamp_micros())
        .unwrap_or(m)
}

use chrono::Datelike as _;

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
fn first_non_utf8_line(path: &std::path::Path) -> Option<usize> {
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
