//! The lazy query: [`Loaded`] (the inputs with one canonical frame per file), the validated
//! frame a query reads, grouping dimensions and filters, the row classification, one grouped
//! aggregation (sharing its scan with the duplicate check) and its conversion into plain Rust
//! types, and `capplan ingest`'s series ([`Loaded::aggregate`]).
//!
//! Around it: `canonical` (the per-file frame, parsing and checks), `duplicates`, `reconcile`
//! (currency choice and reconciliation), `inspect` and `commitments` (the other two queries).

use super::canonical::{
    BAD_CODE_COL, BAD_COL, BUCKET_COL, EXCESS_COL, FILE_COL, HASH_COL, MONEY_DTYPE, PERIOD_COL,
    Part, RAW_PREFIX, REASON_COL, RESPELLED_COL, canonical_frame, first_non_utf8_line, row_hash,
};

/// True for rows whose BilledCost column is empty or null (counted as 0 in the sums).
const BILLED_MISSING_COL: &str = "__billed_missing";
use super::duplicates::{Duplicates, repeated_hashes};
use super::error::{IngestError, did_you_mean};
use super::formats::{self, CANONICAL, DIMENSION_ALIASES, Kind};
use super::source::{self, SourceFile};
use super::{
    AggregateOptions, Filter, Finding, Granularity, Ingested, InputOptions, Measure, Reason,
    SeriesKey, Severity, Totals, UsageSeries,
};
use crate::money::{Currency, Money, decimal_from_scaled};
use chrono::Datelike as _;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, BTreeSet};

/// Polars' streaming engine: inputs are processed in morsels, not loaded whole.
pub(super) const ENGINE: Engine = Engine::Streaming;
/// Fixed-point type quantities are summed in (9 decimals, see [`crate::money::QUANTITY_DP`]).
const QUANTITY_DTYPE: DataType = DataType::Decimal(38, crate::money::QUANTITY_DP as usize);
/// Fixed-point type of what a quantity has below its 9th decimal (|x| < 5e-10), summed apart
/// so that no row is rounded to 9 decimals (a 5.03e-8 SNS quantity stays 5.03e-8): 27
/// decimals, 11 integer digits for the sum.
const QUANTITY_REST_DTYPE: DataType = DataType::Decimal(38, 27);

/// Inputs read, mapped and validated, ready to be summarised.
pub struct Loaded {
    pub(super) files: Vec<SourceFile>,
    pub(super) notes: Vec<Vec<String>>,
    pub(super) parts: Vec<Part>,
    pub(super) passthrough: Vec<String>,
    pub(super) opts: InputOptions,
    /// What resolving the inputs noticed (empty files skipped, links not followed).
    pub(super) input_findings: Vec<Finding>,
}

/// Canonical columns every grouped query reads: the time, the row classification, the
/// quantities and the three costs the reconciliation adds up.
pub(super) const BASE_COLUMNS: &[&str] = &[
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
    "usage_restated",
];

/// A grouping dimension: its output name, its expression over the canonical frame and the
/// canonical column it reads (none for passthrough columns and computed keys).
pub(super) struct Dim {
    pub(super) name: String,
    pub(super) expr: Expr,
    pub(super) canonical: Option<&'static str>,
}

impl Dim {
    pub(super) fn canonical(name: &str, column: &'static str) -> Dim {
        Dim {
            name: name.to_string(),
            expr: col(column),
            canonical: Some(column),
        }
    }
}

/// Which canonical columns a query validates.
#[derive(Clone, Copy)]
pub(super) enum Scope {
    /// The columns it reads: [`BASE_COLUMNS`], its dimensions and filters, and these.
    Query(&'static [&'static str]),
    /// All of them (`inspect`).
    Everything,
}

/// Canonical columns one query reads (see [`Scope`]).
pub(super) type Needed = BTreeSet<&'static str>;

/// One row of the grouped query, converted out of polars.
pub(super) struct Group {
    pub(super) reason: Reason,
    pub(super) currency: Option<String>,
    pub(super) bucket: Option<i64>,
    pub(super) dims: Vec<Option<String>>,
    pub(super) unit: Option<String>,
    pub(super) rows: u64,
    /// Sum of the measure (quantity or cost column), exact.
    pub(super) measured: Decimal,
    pub(super) totals: Totals,
    pub(super) series_cost: Decimal,
    pub(super) repaired_rows: u64,
    pub(super) repaired_amount: Decimal,
    pub(super) spanning: u64,
    pub(super) excess_decimals: u64,
    pub(super) unlabelled_refunds: u64,
    pub(super) respelled: u64,
    /// Rows without a BilledCost value (empty or null in a file that has the column).
    pub(super) billed_missing: u64,
    /// Sum of the commitment discount quantity (exact) and how many rows carried one.
    pub(super) commitment_quantity: Decimal,
    pub(super) commitment_quantity_rows: u64,
    /// Latest charge period end (µs since the epoch).
    pub(super) max_end: Option<i64>,
    /// Index of the input file the rows come from.
    pub(super) file: u32,
}

impl Loaded {
    pub(super) fn new(opts: &InputOptions) -> Result<Self, IngestError> {
        let source::Resolved {
            files,
            findings: input_findings,
        } = source::resolve(&opts.inputs, opts.format)?;
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
            input_findings,
        })
    }

    /// The validated canonical frame of every file for a query that reads `needed`: the
    /// checks of those columns (in their fixed order) give `__bad`, money text with too
    /// many decimals gives `__excess`, and `__hash` hashes the needed columns plus the
    /// resource id (the first stage of the duplicate check, see [`Loaded::duplicates`]).
    pub(super) fn frame(
        &self,
        needed: &Needed,
        everything: bool,
    ) -> Result<LazyFrame, IngestError> {
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
            // BilledCost absent on a row of a file that has the column (empty or null): the
            // sums count it as 0, and a finding says how often.
            let raw_billed = format!("{RAW_PREFIX}billed_cost");
            let billed_missing = if p.raw.contains(&raw_billed) {
                col(raw_billed.as_str()).is_null()
            } else {
                lit(false)
            };
            let lf = p.lf.clone().with_columns([
                billed_missing.alias(BILLED_MISSING_COL),
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
    pub(super) fn dimension(&self, name: &str) -> Result<Dim, IngestError> {
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
            // User tags are spelled `team`, `user:team` (CUR) or `user_team` (CUR 2.0); the
            // exact key wins.
            let lookups: Vec<Expr> = [
                key.to_string(),
                format!("user:{key}"),
                format!("user_{key}"),
            ]
            .iter()
            .map(|k| {
                let path = format!("$['{}']", k.replace('\'', "\\'"));
                col("tags").str().json_path_match(lit(path))
            })
            .collect();
            return Ok(Dim {
                name: name.to_string(),
                expr: coalesce(&lookups),
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
        let restated = col("usage_restated").is_not_null();
        let (unused, restated) = if measure == Measure::Quantity {
            (unused, restated)
        } else {
            (lit(false), lit(false))
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
            .when(restated)
            .then(reason_code(Reason::RestatedUsage))
            .when(self.filter_expr(filters)?.not())
            .then(reason_code(Reason::Filtered))
            .when(measured.not())
            .then(reason_code(Reason::NoQuantity))
            .otherwise(reason_code(Reason::Used)))
    }

    /// Runs the grouped query (and the duplicate check on the same scan), fails on the
    /// first bad row unless lenient, and converts the groups.
    pub(super) fn run(
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
        let quantity = col("consumed_quantity");
        // The part of each quantity below the 9th decimal: x − round(x, 9), exact for a
        // quantity written with at most 9 decimals (0), summed at 27 decimals.
        let quantity_rest = (quantity.clone()
            - quantity
                .clone()
                .cast(QUANTITY_DTYPE)
                .cast(DataType::Float64))
        .cast(QUANTITY_REST_DTYPE);
        let measured = match measure {
            Measure::Quantity => quantity.cast(QUANTITY_DTYPE),
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
            col(BILLED_MISSING_COL)
                .and(col(REASON_COL).neq(reason_code(Reason::Unparseable)))
                .cast(DataType::UInt64)
                .sum()
                .alias("billed_missing"),
            col("charge_end")
                .cast(DataType::Int64)
                .max()
                .alias("max_end"),
        ];
        aggs.extend(quantities);
        if measure == Measure::Quantity {
            aggs.push(quantity_rest.sum().alias("measured_rest"));
        }
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
        let mut out = source::catch_quietly(|| {
            LazyFrame::collect_all_with_engine(
                vec![grouped.logical_plan, hashes.logical_plan],
                ENGINE,
                opt,
            )
        })
        .map_err(|panic| self.engine_panic(&panic))?
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

    /// A panic of the query engine while reading: with one Parquet input that file is
    /// damaged in a way its layout check could not see; otherwise an internal error.
    pub(super) fn engine_panic(&self, panic: &str) -> IngestError {
        let parquet: Vec<&SourceFile> = self
            .files
            .iter()
            .filter(|f| f.kind == source::FileKind::Parquet)
            .collect();
        match parquet.as_slice() {
            [f] => source::corrupt_parquet(&f.path, "its data could not be decoded"),
            _ => IngestError::Engine(format!("the query engine failed while reading: {panic}")),
        }
    }

    /// Maps polars errors raised while reading a file to a file-specific message.
    pub(super) fn engine_error(&self, e: PolarsError) -> IngestError {
        let msg = source::clean_polars_message(&e);
        let lower = msg.to_ascii_lowercase();
        if lower.contains("utf-8") || lower.contains("utf8") {
            for f in &self.files {
                if let Some(line) = first_non_utf8_line(f.read_path()) {
                    return IngestError::NotUtf8 {
                        path: f.path.clone(),
                        line,
                    };
                }
            }
        }
        // Find the file at fault: a CSV with a structural problem, else the only file.
        for f in &self.files {
            if matches!(
                f.kind,
                source::FileKind::Csv | source::FileKind::CsvGz | source::FileKind::CsvZip
            ) && let Some(diagnosis) = source::diagnose_csv(f.read_path(), f.kind)
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

    pub(super) fn groups(&self, df: &DataFrame, ndims: usize) -> Result<Vec<Group>, IngestError> {
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
        let mut measured = dec("measured")?;
        if df.get_column_index("measured_rest").is_some() {
            for (m, rest) in measured.iter_mut().zip(dec("measured_rest")?) {
                if !rest.is_zero() {
                    // rust_decimal keeps 28 significant digits: a sum too large for all 27
                    // decimals is rounded, never wrong.
                    *m = m.checked_add(rest).unwrap_or(*m);
                }
            }
        }
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
        let billed_missing = u64col("billed_missing")?;
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
                billed_missing: billed_missing[i],
                commitment_quantity: commitment_quantity[i],
                commitment_quantity_rows: commitment_quantity_rows[i],
                max_end: max_end.get(i),
            });
        }
        Ok(out)
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
        // Files none of whose columns the format reads quantities from: every row of theirs
        // is `no_quantity`; said plainly (an error when nothing else is left).
        let mut without_quantity = Vec::new();
        if opts.measure == Measure::Quantity {
            for (i, f) in self.files.iter().enumerate() {
                let has = formats::mapping(f, &self.opts.tidy).is_ok_and(|m| {
                    m.sources.iter().any(|(n, s)| {
                        *n == "consumed_quantity" && !matches!(s, formats::Source::Missing)
                    })
                });
                if !has {
                    without_quantity.push(i);
                }
            }
        }
        if used_rows == 0
            && let Some(&i) = without_quantity.first()
            && without_quantity.len() == self.files.len()
        {
            let f = &self.files[i];
            return Err(IngestError::NoQuantityColumn {
                path: f.path.clone(),
                format: f.format.name().to_string(),
                looked_for: formats::quantity_columns(f.format)
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                found: source::list_columns(&f.columns()),
            });
        }
        for &i in &without_quantity {
            let f = &self.files[i];
            findings.push(Finding {
                code: "no_quantity_column".into(),
                severity: Severity::Warning,
                count: 0,
                message: format!(
                    "{}: no quantity column recognised for format {} (looked for {}); its rows are excluded as `no_quantity`",
                    f.path.display(),
                    f.format.name(),
                    formats::quantity_columns(f.format).join(", ")
                ),
            });
        }
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
        for (i, d) in dims.iter().enumerate() {
            if d.name.starts_with("tag:") && used.iter().all(|g| g.dims[i].is_none()) {
                findings.push(Finding {
                    code: "unknown_tag_key".into(),
                    severity: Severity::Warning,
                    count: used_rows,
                    message: format!(
                        "no used row has the tag `{}`: every series has {} = (none); check the tag key's spelling (CUR `user:` and CUR 2.0 `user_` prefixes are tried)",
                        &d.name["tag:".len()..],
                        d.name
                    ),
                });
            }
        }
        if opts.measure == Measure::Quantity {
            let rows_where = |f: &dyn Fn(&Group) -> bool| -> u64 {
                used.iter().filter(|g| f(g)).map(|g| g.rows).sum()
            };
            let from_usage_type = rows_where(&|g| {
                g.unit
                    .as_deref()
                    .is_some_and(|u| u.starts_with(formats::UNIT_FROM_USAGE_TYPE))
            });
            if from_usage_type > 0 {
                findings.push(Finding {
                    code: "unit_from_usage_type".into(),
                    severity: Severity::Warning,
                    count: from_usage_type,
                    message: format!(
                        "{from_usage_type} used AWS CUR rows have no pricing unit; their unit is named after their usage type (`{}<usage type>`) so that quantities in different units are not summed together",
                        formats::UNIT_FROM_USAGE_TYPE
                    ),
                });
            }
            let without_unit = rows_where(&|g| g.unit.is_none());
            if without_unit > 0 {
                findings.push(Finding {
                    code: "quantity_without_unit".into(),
                    severity: Severity::Warning,
                    count: without_unit,
                    message: format!(
                        "{without_unit} used rows have a quantity but no unit; they are summed under unit \"(none)\" per series and may mix units (filter or group them by sku or service to keep them apart)"
                    ),
                });
            }
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

pub(super) fn decimals(df: &DataFrame, name: &str) -> Result<Vec<Decimal>, IngestError> {
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

pub(super) fn first_u64(df: &DataFrame, name: &str) -> Result<u64, IngestError> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.get(0).unwrap_or(0))
}

pub(super) fn first_u32(df: &DataFrame, name: &str) -> Result<u32, IngestError> {
    Ok(first_u64(df, name)? as u32)
}

pub(super) fn micros_to_utc(m: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(m).unwrap_or_default()
}

pub(super) fn truncate_micros(m: i64, g: Granularity) -> i64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantity_rest_on_a_large_sum_is_rounded_never_overflows() {
        // 1e15 (bytes) summed at 9 dp plus a rest of 3e-10 at 27 dp: more digits than
        // rust_decimal holds, so the rest is rounded off; adding such sums stays safe.
        let hi = Decimal::from_i128_with_scale(1_000_000_000_000_000 * 1_000_000_000, 9);
        let rest = Decimal::from_i128_with_scale(300_000_000_000_000_000, 27);
        let m = hi.checked_add(rest).expect("rounded, not overflowed");
        let mut total = Decimal::ZERO;
        for _ in 0..1000 {
            total += m;
        }
        assert_eq!(total.to_f64(), Some(1e18));
        // A small quantity keeps its rest exactly.
        let small = Decimal::from_i128_with_scale(50, 9)
            .checked_add(Decimal::from_i128_with_scale(300_000_000_000_000_000, 27))
            .unwrap();
        assert_eq!(small.normalize().to_string(), "0.0000000503");
    }
}
