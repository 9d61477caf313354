//! The duplicate check: rows identical in every source column. Its first stage shares the
//! grouped query's scan (a hash of each row's read columns, see [`Loaded::frame`]); only rows
//! whose hash repeats are read again with every source column and compared by a whole-row hash,
//! across files too.

use super::canonical::{FILE_COL, HASH_COL, row_hash};
use super::error::IngestError;
use super::pipeline::{ENGINE, Loaded};
use super::source::{self, ROW_COL};
use super::{Finding, Severity};
use polars::prelude::*;
use std::collections::BTreeMap;

/// Rows identical in every source column.
pub(super) struct Duplicates {
    pub(super) count: u64,
    pub(super) example: String,
}

impl Loaded {
    /// Second stage of the duplicate check, only for rows whose needed columns hash like
    /// another row's: those rows are read again with every source column, and rows
    /// identical in all of them are duplicates. Exact up to 64-bit hash collisions of whole
    /// rows (about n²/2⁶⁵ for n candidate rows).
    pub(super) fn duplicates(
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
    pub(super) fn check_duplicates(
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
}

/// Hash values that occur more than once in the `__hash` column, ascending.
pub(super) fn repeated_hashes(df: &DataFrame) -> Result<Vec<u64>, IngestError> {
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
