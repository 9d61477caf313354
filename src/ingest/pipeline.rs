//! The lazy query: [`Loaded`] (the inputs with one canonical frame per file), the validated
//! frame a query reads, grouping dimensions and filters, the row classification, one grouped
//! aggregation (sharing its scan with the duplicate check) and its conversion into plain Rust
//! types, and `capplan ingest`'s series ([`Loaded::aggregate`]).
//!
//! Around it: `canonical` (the per-file frame, parsing and checks), `duplicates`, `reconcile`
//! (currency choice and reconciliation), `inspect` and `commitments` (the other two queries).

use super::canonical::{
    BAD_CODE_COL, BAD_COL, BUCKET_COL, EXCESS_COL, FILE_COL, HASH_COL, MONEY_DTYPE, MONEY_SCALE,
    PERIOD_COL, Part, RAW_PREFIX, REASON_COL, RESPELLED_COL, TWO_DIGIT_YEAR_COL, canonical_frame,
    first_non_utf8_line, row_hash,
};

/// True for rows whose BilledCost column is empty or null (counted as 0 in the sums).
const BILLED_MISSING_COL: &str = "__billed_missing";
use super::duplicates::{Duplicates, repeated_hashes};
use super::error::{IngestError, did_you_mean};
use super::formats::{self, CANONICAL, DIMENSION_ALIASES, Kind};
use super::source::{self, SourceFile};
use super::{
    AggregateOptions, Filter, Finding, Granularity, Ingested, InputOptions, Measure, Reason,
    Severity, Totals,
};
use chrono::Datelike as _;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// Polars' streaming engine: inputs are processed in morsels, not loaded whole.
pub(super) const ENGINE: Engine = Engine::Streaming;
/// Fixed-point type quantities are summed in (9 decimals, see [`crate::money::QUANTITY_DP`]).
const QUANTITY_DTYPE: DataType = DataType::Decimal(38, crate::money::QUANTITY_DP as usize);
/// Fixed-point type of what a quantity has below its 9th decimal (|x| < 5e-10), summed apart
/// so that no row is rounded to 9 decimals (a 5.03e-8 SNS quantity stays 5.03e-8): 27
/// decimals, 11 integer digits for the sum.
const QUANTITY_REST_DTYPE: DataType = DataType::Decimal(38, 27);

/// Number of input files above which small files are read into memory together, and how
/// many are read at a time (see [`Loaded::materialize_small`]).
const MANY_FILES: usize = 32;
/// Largest file (bytes on disk) read into memory with the others when there are many.
const SMALL_FILE_BYTES: u64 = 1 << 20;
/// Most bytes on disk of small files read into memory in all; files beyond stay scans.
const SMALL_FILES_TOTAL_BYTES: u64 = 512 << 20;

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

/// What the grouped query returns: its groups, the duplicate check's result and findings
/// about rows it excluded.
pub(super) type Grouped = (Vec<Group>, Option<Duplicates>, Vec<Finding>);

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
    /// Rows whose timestamps have a two-digit year (read as 20YY).
    pub(super) two_digit_years: u64,
    /// Canonical columns whose exact sums here have more than 28 significant digits and were
    /// rounded half-even to 28 (rust_decimal's precision).
    pub(super) digits_dropped: Vec<&'static str>,
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
                p.two_digit_year.clone().alias(TWO_DIGIT_YEAR_COL),
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
        let frames = self.materialize_small(frames)?;
        Ok(concat(
            frames,
            UnionArgs {
                parallel: true,
                rechunk: false,
                ..Default::default()
            },
        )?)
    }

    /// Many files make one streaming plan with a scan per file, whose cost grows with the
    /// square of their number (10,000 one-row files did not finish in 20 minutes). Above
    /// [`MANY_FILES`] inputs, the validated frames of small files (at most
    /// [`SMALL_FILE_BYTES`] on disk each, [`SMALL_FILES_TOTAL_BYTES`] in all) are read
    /// [`MANY_FILES`] at a time and kept in memory as one frame, so the query has one
    /// in-memory source for all of them plus one scan per large file: linear in the number
    /// of files. Rows keep their file index and row number, so errors and findings still
    /// name the file and row.
    fn materialize_small(&self, frames: Vec<LazyFrame>) -> Result<Vec<LazyFrame>, IngestError> {
        if frames.len() <= MANY_FILES {
            return Ok(frames);
        }
        let mut budget = SMALL_FILES_TOTAL_BYTES;
        let mut small = Vec::new();
        let mut kept = Vec::new();
        for (f, lf) in self.files.iter().zip(frames) {
            let size = std::fs::metadata(f.read_path()).map_or(u64::MAX, |m| m.len());
            if size <= SMALL_FILE_BYTES && size <= budget {
                budget -= size;
                small.push(lf);
            } else {
                kept.push(lf);
            }
        }
        if small.len() <= 1 {
            kept.extend(small);
            return Ok(kept);
        }
        let mut read: Option<DataFrame> = None;
        let mut small = small.into_iter().peekable();
        while small.peek().is_some() {
            let chunk: Vec<LazyFrame> = small.by_ref().take(MANY_FILES).collect();
            let df = source::catch_quietly(|| {
                concat(
                    chunk,
                    UnionArgs {
                        parallel: true,
                        rechunk: false,
                        ..Default::default()
                    },
                )?
                .collect_with_engine(ENGINE)
            })
            .map_err(|panic| self.engine_panic(&panic))?
            .map_err(|e| self.engine_error(e))?
            .unwrap_single();
            match read.as_mut() {
                None => read = Some(df),
                Some(all) => {
                    all.vstack_mut_owned(df)?;
                }
            }
        }
        if let Some(mut all) = read {
            all.rechunk_mut();
            kept.insert(0, all.lazy());
        }
        Ok(kept)
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
    ) -> Result<Grouped, IngestError> {
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
        let measured_dtype = match measure {
            Measure::Quantity => QUANTITY_DTYPE,
            _ => MONEY_DTYPE,
        };
        let mut aggs = vec![len().alias("rows")];
        aggs.extend(exact_sum(measured, measured_dtype, "measured"));
        aggs.extend(exact_sum(col("billed_cost"), MONEY_DTYPE, "billed"));
        aggs.extend(exact_sum(col("effective_cost"), MONEY_DTYPE, "effective"));
        aggs.extend(exact_sum(col("list_cost"), MONEY_DTYPE, "list"));
        aggs.extend(exact_sum(series_cost, MONEY_DTYPE, "series_cost"));
        aggs.extend(exact_sum(
            when(repair.clone())
                .then(col("billed_cost"))
                .otherwise(lit(0).cast(MONEY_DTYPE)),
            MONEY_DTYPE,
            "repaired_amount",
        ));
        // Commitment quantities are only read by the queries that need them.
        if needed.contains("commitment_quantity") {
            aggs.extend(exact_sum(
                col("commitment_quantity"),
                MONEY_DTYPE,
                "commitment_quantity",
            ));
            aggs.push(
                col("commitment_quantity")
                    .count()
                    .alias("commitment_quantity_rows"),
            );
        }
        aggs.extend([
            repair
                .clone()
                .cast(DataType::UInt64)
                .sum()
                .alias("repaired_rows"),
            col(PERIOD_COL)
                .gt(lit(granularity.nominal_seconds()))
                .cast(DataType::UInt64)
                .sum()
                .alias("spanning"),
            col(EXCESS_COL).cast(DataType::UInt64).sum().alias("excess"),
            col(TWO_DIGIT_YEAR_COL)
                .cast(DataType::UInt64)
                .sum()
                .alias("two_digit_years"),
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
        ]);
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
        let findings = self.fail_on_bad_rows(&frame, &groups)?;
        let candidates = repeated_hashes(&hash_df)?;
        drop(hash_df);
        let duplicates = if candidates.is_empty() {
            None
        } else {
            self.duplicates(&frame, candidates)?
        };
        Ok((groups, duplicates, findings))
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
            ) && let Some(diagnosis) = source::diagnose_csv(f.read_path(), f.kind, f.separator)
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

    /// The exact sums of one [`exact_sum`] pair per group, and which of them were rounded to
    /// 28 significant digits; an overflow names the group's file and the source column.
    fn sums(
        &self,
        df: &DataFrame,
        name: &str,
        canonical: &str,
        file: &UInt32Chunked,
    ) -> Result<(Vec<Decimal>, Vec<bool>), IngestError> {
        let (frac, scale) = scaled(df, name)?;
        let whole_name = format!("{name}{WHOLE_SUFFIX}");
        let whole = match df.get_column_index(&whole_name) {
            Some(_) => scaled(df, &whole_name)?.0,
            None => vec![0; frac.len()],
        };
        let mut values = Vec::with_capacity(frac.len());
        let mut rounded = Vec::with_capacity(frac.len());
        for (i, (w, f)) in whole.into_iter().zip(frac).enumerate() {
            let Some((d, r)) = join_sum(w, f, scale) else {
                let idx = file.get(i).unwrap_or(0) as usize;
                return Err(IngestError::SumOverflow {
                    place: self.files[idx].path.display().to_string(),
                    column: self.source_column(idx, canonical),
                });
            };
            values.push(d);
            rounded.push(r);
        }
        Ok((values, rounded))
    }

    /// The name file `idx` gives the canonical column (the canonical name when it is derived).
    pub(super) fn source_column(&self, idx: usize, canonical: &str) -> String {
        formats::mapping(&self.files[idx], &self.opts.tidy)
            .ok()
            .and_then(|m| {
                m.sources.iter().find_map(|(n, s)| match s {
                    formats::Source::Column(c) if *n == canonical => Some(c.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| canonical.to_string())
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
        let mut dropped: Vec<Vec<&'static str>> = vec![Vec::new(); df.height()];
        let mut dec = |name: &'static str, canonical: &'static str| {
            let (values, rounded) = self.sums(df, name, canonical, &file)?;
            for (i, r) in rounded.into_iter().enumerate() {
                if r {
                    dropped[i].push(canonical);
                }
            }
            Ok::<_, IngestError>(values)
        };
        let billed = dec("billed", "billed_cost")?;
        let effective = dec("effective", "effective_cost")?;
        let list = dec("list", "list_cost")?;
        let series_cost = dec("series_cost", "effective_cost")?;
        let mut measured = dec("measured", "consumed_quantity")?;
        if df.get_column_index("measured_rest").is_some() {
            for (m, rest) in measured
                .iter_mut()
                .zip(dec("measured_rest", "consumed_quantity")?)
            {
                if !rest.is_zero() {
                    // rust_decimal keeps 28 significant digits: a sum too large for all 27
                    // decimals is rounded, never wrong.
                    *m = m.checked_add(rest).unwrap_or(*m);
                }
            }
        }
        let repaired_amount = dec("repaired_amount", "billed_cost")?;
        let u64col = |name: &str| -> Result<Vec<u64>, IngestError> {
            let c = df.column(name)?.cast(&DataType::UInt64)?;
            Ok(c.u64()?.iter().map(|v| v.unwrap_or(0)).collect())
        };
        let repaired_rows = u64col("repaired_rows")?;
        let spanning = u64col("spanning")?;
        let excess = u64col("excess")?;
        let two_digit_years = u64col("two_digit_years")?;
        let refunds = u64col("unlabelled_refunds")?;
        let respelled = u64col("respelled")?;
        let billed_missing = u64col("billed_missing")?;
        let (commitment_quantity, commitment_quantity_rows) =
            if df.get_column_index("commitment_quantity").is_some() {
                (
                    dec("commitment_quantity", "commitment_quantity")?,
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
                two_digit_years: two_digit_years[i],
                digits_dropped: std::mem::take(&mut dropped[i]),
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
            for (i, f) in self.files.iter().enumerate() {
                if let Some(found) = self.sample_granularity(i).filter(|g| *g > requested) {
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
        let (mut groups, dup, mut findings) = self.run(
            &dims,
            Scope::Query(&[]),
            granularity,
            opts.measure,
            &opts.filters,
        )?;
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
        let series =
            self.build_series(&groups, &dims, opts, (granularity, currency), &mut findings)?;
        findings.extend(super::spans::fills_finding(&series, granularity));
        let rows = self.file_rows(&groups);
        Ok(Ingested {
            series,
            reconciliation,
            findings,
            files: self.summaries(&rows),
        })
    }
}

/// Suffix of the whole-unit half of an [`exact_sum`].
const WHOLE_SUFFIX: &str = "__whole";

/// The exact sum of a fixed-point column in two halves that cannot wrap: whole units summed
/// in `Decimal(38, 0)` (each value has at most 14 integer digits, so 10^24 rows fit) and the
/// fractions (each below 1) in the column's own type. [`Loaded::sums`] joins them.
fn exact_sum(e: Expr, dtype: DataType, name: &str) -> Vec<Expr> {
    if dtype != MONEY_DTYPE {
        // Quantities (9 decimals) leave 29 integer digits to their sums.
        return vec![e.sum().alias(name)];
    }
    // Whole units through Int64 (the cast rounds; a value's at most 14 integer digits fit).
    // Clamped to ±(10^14 − 1) so that it fits the money type again: 99999999999999.5 rounds
    // to 10^14, which `Decimal(38, 24)` cannot hold (the difference would be null).
    let max = 10i64.pow(38 - MONEY_SCALE as u32) - 1;
    let rounded = e.clone().cast(DataType::Int64);
    let whole = when(rounded.clone().gt(lit(max)))
        .then(lit(max))
        .when(rounded.clone().lt(lit(-max)))
        .then(lit(-max))
        .otherwise(rounded);
    vec![
        (e - whole.clone().cast(dtype.clone()))
            .cast(dtype)
            .sum()
            .alias(name),
        whole
            .cast(DataType::Decimal(38, 0))
            .sum()
            .alias(format!("{name}{WHOLE_SUFFIX}").as_str()),
    ]
}

/// The scaled integers of a decimal column (0 for nulls) and its scale.
fn scaled(df: &DataFrame, name: &str) -> Result<(Vec<i128>, u32), IngestError> {
    let c = df.column(name)?;
    let ca = c
        .decimal()
        .map_err(|e| IngestError::Engine(format!("{name}: expected a decimal column: {e}")))?;
    let scale = ca.scale() as u32;
    Ok((
        ca.physical().iter().map(|v| v.unwrap_or(0)).collect(),
        scale,
    ))
}

/// `v / 10^d` rounded half to even, and whether anything was dropped.
fn drop_digits(v: i128, d: u32) -> (i128, bool) {
    if d == 0 {
        return (v, false);
    }
    let Some(div) = 10i128.checked_pow(d) else {
        return (0, v != 0);
    };
    let (q, r) = (v / div, v % div);
    if r == 0 {
        return (q, false);
    }
    let twice = r.unsigned_abs() * 2;
    let half_up = twice > div as u128 || (twice == div as u128 && q % 2 != 0);
    (if half_up { q + v.signum() } else { q }, true)
}

/// `whole + frac / 10^scale` as a `Decimal`, exact when it has at most 28 significant digits
/// (and fits 96 bits), otherwise rounded half to even to fit (`true`); `None` when even the
/// whole part does not fit.
pub(super) fn join_sum(whole: i128, frac: i128, scale: u32) -> Option<(Decimal, bool)> {
    let unit = 10i128.checked_pow(scale)?;
    let whole = whole.checked_add(frac / unit)?;
    // Strip the fraction's trailing zeros: no digit is lost.
    let (mut exact, mut s0) = (frac % unit, scale);
    while s0 > 0 && exact % 10 == 0 {
        exact /= 10;
        s0 -= 1;
    }
    // The most decimals that fit, each candidate rounded once from the exact fraction.
    for s in (0..=s0).rev() {
        let (f, lost) = drop_digits(exact, s0 - s);
        let m = 10i128
            .checked_pow(s)
            .and_then(|p| whole.checked_mul(p))
            .and_then(|w| w.checked_add(f));
        if let Some(m) = m
            && let Ok(d) = Decimal::try_from_i128_with_scale(m, s)
        {
            return Some((d.normalize(), lost));
        }
    }
    None
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
    use rust_decimal::prelude::ToPrimitive;

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

#[cfg(test)]
mod sum_tests {
    use super::*;

    fn sum_of(values: &[&str]) -> (Decimal, bool) {
        let s = Series::new(
            "v".into(),
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        );
        let df = DataFrame::new(values.len(), vec![s.into()]).unwrap();
        let out = df
            .clone()
            .lazy()
            .select(exact_sum(col("v").cast(MONEY_DTYPE), MONEY_DTYPE, "s"))
            .collect()
            .unwrap();
        let (f, scale) = scaled(&out, "s").unwrap();
        let (w, _) = scaled(&out, &format!("s{WHOLE_SUFFIX}")).unwrap();
        join_sum(w[0], f[0], scale).unwrap()
    }

    #[test]
    fn sums_do_not_wrap_and_stay_exact() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            sum_of(&["99999999999999.5", "99999999999999.5"]),
            (d("199999999999999"), false)
        );
        assert_eq!(
            sum_of(&["-0.25", "1.5", "-99999999999999.75"]),
            (d("-99999999999998.5"), false)
        );
        // 20 rows of 9·10^13: 1.8·10^15, beyond one value's 14 integer digits.
        assert_eq!(
            sum_of(&["90000000000000.01"; 20]),
            (d("1800000000000000.2"), false)
        );
        // 32 significant digits: rounded half to even to what a Decimal holds.
        assert_eq!(
            sum_of(&["12345678901234.123456789012345678"]),
            (d("12345678901234.123456789012346"), true)
        );
    }

    #[test]
    fn join_sum_rounds_once_half_to_even() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        // 1e20 + 0.5 (scale 24): 22 digits, exact.
        assert_eq!(
            join_sum(100_000_000_000_000_000_000, 5 * 10i128.pow(23), 24),
            Some((d("100000000000000000000.5"), false))
        );
        // whole 10^28 + 0.25: 29 integer digits + 2 decimals do not fit; rounded to 10^28.
        let w = 10i128.pow(28);
        assert_eq!(
            join_sum(w, 25 * 10i128.pow(22), 24),
            Some((d("10000000000000000000000000000"), true))
        );
        // Beyond 96 bits even without decimals: overflow.
        assert_eq!(join_sum(10i128.pow(30), 0, 24), None);
        // A fraction sum of whole units carries into the whole part.
        assert_eq!(join_sum(1, 3 * 10i128.pow(24), 24), Some((d("4"), false)));
        assert_eq!(drop_digits(25, 1), (2, true));
        assert_eq!(drop_digits(35, 1), (4, true));
        assert_eq!(drop_digits(-35, 1), (-4, true));
        assert_eq!(drop_digits(251, 2), (3, true));
    }
}

#[cfg(test)]
mod many_files_tests {
    use super::*;
    use crate::ingest::source::ROW_COL;

    /// 300 one-row files make a plan without a scan per file (a scan per file made the
    /// streaming engine's cost grow with the square of the number of files).
    #[test]
    fn many_small_files_are_not_one_scan_each() {
        let dir = tempfile::tempdir().unwrap();
        let header = "BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ConsumedQuantity,ConsumedUnit,BilledCost,EffectiveCost,ListCost,ServiceName";
        for i in 0..300 {
            let text = format!(
                "{header}\nUSD,Usage,2024-01-01T{:02}:00:00Z,2024-01-01T{:02}:59:59Z,{i},Hours,1.5,1.5,1.5,EC2\n",
                i % 24,
                i % 24
            );
            std::fs::write(dir.path().join(format!("f{i:03}.csv")), text).unwrap();
        }
        let loaded = Loaded::new(&InputOptions {
            inputs: vec![dir.path().display().to_string()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(loaded.files.len(), 300);
        let needed: Needed = BASE_COLUMNS.iter().copied().collect();
        let plan = loaded
            .frame(&needed, false)
            .unwrap()
            .explain(false)
            .unwrap();
        let scans = plan.matches(".csv").count();
        assert!(scans <= 1, "{scans} file scans in the plan");
        // Every row is still there, with its file index and row number.
        let df = loaded
            .frame(&needed, false)
            .unwrap()
            .select([
                col(FILE_COL).cast(DataType::UInt32),
                col(ROW_COL).cast(DataType::UInt64),
            ])
            .sort([FILE_COL], SortMultipleOptions::default())
            .collect()
            .unwrap();
        assert_eq!(df.height(), 300);
        let files: Vec<u32> = df
            .column(FILE_COL)
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(files, (0..300).collect::<Vec<u32>>());
        let rows = df.column(ROW_COL).unwrap().u64().unwrap();
        assert!(rows.into_no_null_iter().all(|r| r == 1));
    }
}
