//! Writing results: atomic file writes and the tabular exports of series and summaries.
//!
//! Every file capplan writes goes through [`write_atomic`]: a temporary file in the target
//! directory, flushed, then renamed over the target, so a killed run never leaves a
//! half-written file.
//!
//! The public entry points take plain Rust values and a path ([`write_series`],
//! [`write_forecasts`], [`write_csv_table`], [`write_json`]); the polars frames behind the long
//! tables (Parquet or CSV, chosen by the extension) stay inside the crate.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::forecast::DemandForecast;
use crate::series::UsageSeries;

/// Errors while writing outputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Creating, writing or renaming the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The extension names no format capplan writes.
    #[error("{}: unsupported output extension; use .parquet, .csv or .json", path.display())]
    UnsupportedExtension {
        /// The file asked for.
        path: PathBuf,
    },
    /// Encoding the content (JSON, CSV, Parquet) failed.
    #[error("{}: {message}", path.display())]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
}

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// then persisted over `path`.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<(), ExportError>
where
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError>,
{
    let io = |source: std::io::Error| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let tmp = tempfile::Builder::new()
        .prefix(".capplan-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    // Temporary files are created private (0600); outputs get ordinary file permissions.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    {
        let mut w = BufWriter::new(tmp.as_file());
        write(&mut w)?;
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes any serialisable value as pretty JSON with a trailing newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExportError> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(|e| ExportError::Encode {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        w.write_all(b"\n").map_err(|e| ExportError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// The long (tidy) table of series: one row per series and bucket. Dimension columns come
/// first in `--by` order, then `unit`, `timestamp` (UTC), `value`, `effective_cost` (exact
/// decimal text). `capplan` reads this file back as tidy input.
pub(crate) fn series_frame(series: &[UsageSeries]) -> Result<DataFrame, PolarsError> {
    let dims: Vec<String> = series
        .first()
        .map(|s| s.key.0.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    // Series usually share their time axis: format it once per (start, granularity).
    let mut axes: Vec<(
        chrono::DateTime<chrono::Utc>,
        crate::series::Granularity,
        Vec<String>,
    )> = Vec::new();
    for s in series {
        let n = s.values.len();
        let at = match axes
            .iter()
            .position(|(t, g, _)| *t == s.start && *g == s.granularity)
        {
            Some(i) => i,
            None => {
                axes.push((s.start, s.granularity, Vec::new()));
                axes.len() - 1
            }
        };
        let axis = &mut axes[at].2;
        for i in axis.len()..n {
            axis.push(timestamp_text(s.time_at(i)));
        }
    }
    let axis_of = |s: &UsageSeries| -> &[String] {
        axes.iter()
            .find(|(t, g, _)| *t == s.start && *g == s.granularity)
            .map(|(_, _, a)| &a[..s.values.len()])
            .unwrap_or(&[])
    };
    let repeat = |f: &dyn Fn(&UsageSeries) -> &str| -> StringChunked {
        StringChunked::from_iter_values(
            "".into(),
            series
                .iter()
                .flat_map(|s| std::iter::repeat_n(f(s), s.values.len())),
        )
    };
    let mut cols: Vec<Column> = Vec::with_capacity(dims.len() + 4);
    for (d, name) in dims.iter().enumerate() {
        let ca = repeat(&|s: &UsageSeries| s.key.0.get(d).map_or("", |(_, v)| v.as_str()));
        cols.push(ca.with_name(name.as_str().into()).into_column());
    }
    // `--by unit` already made the unit a dimension column: one column per name.
    if !dims.iter().any(|d| d == "unit") {
        cols.push(
            repeat(&|s: &UsageSeries| s.unit.as_str())
                .with_name("unit".into())
                .into_column(),
        );
    }
    let ts = StringChunked::from_iter_values(
        "timestamp".into(),
        series
            .iter()
            .flat_map(|s| axis_of(s).iter().map(String::as_str)),
    );
    cols.push(ts.into_column());
    let value: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .collect();
    cols.push(Column::new("value".into(), value));
    let cost: StringChunked = series
        .iter()
        .flat_map(|s| {
            (0..s.values.len()).map(move |i| {
                s.cost
                    .as_ref()
                    .map(|c| c[i].amount().normalize().to_string())
            })
        })
        .collect();
    cols.push(cost.with_name("effective_cost".into()).into_column());
    DataFrame::new_infer_height(cols)
}

/// `2024-09-01T00:00:00Z`: the UTC timestamp text of every export.
fn timestamp_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The long table of forecasts: one row per series and future step. Dimension columns first,
/// then `unit`, `timestamp` (UTC), `model`, `point` and one column per quantile level
/// (`p05` .. `p95`).
pub(crate) fn forecast_frame(forecasts: &[DemandForecast]) -> Result<DataFrame, PolarsError> {
    let dims: Vec<String> = forecasts
        .first()
        .map(|f| f.key.0.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let levels: Vec<f64> = forecasts
        .first()
        .map(|f| f.forecast.levels.clone())
        .unwrap_or_default();
    let n: usize = forecasts.iter().map(|f| f.forecast.horizon()).sum();
    let mut dim_vals: Vec<Vec<String>> = vec![Vec::with_capacity(n); dims.len()];
    let (mut unit, mut ts, mut model, mut point) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut qs: Vec<Vec<f64>> = vec![Vec::with_capacity(n); levels.len()];
    for f in forecasts {
        let a = &f.forecast;
        for k in 0..a.horizon() {
            for (d, (_, v)) in f.key.0.iter().enumerate() {
                dim_vals[d].push(v.clone());
            }
            unit.push(f.unit.clone());
            ts.push(timestamp_text(a.time_at(k)));
            model.push(f.model.clone());
            point.push(a.point[k]);
            for (li, q) in qs.iter_mut().enumerate() {
                q.push(a.quantiles[li][k]);
            }
        }
    }
    let mut cols: Vec<Column> = dims
        .iter()
        .zip(dim_vals)
        .map(|(d, v)| Column::new(d.as_str().into(), v))
        .collect();
    if !dims.iter().any(|d| d == "unit") {
        cols.push(Column::new("unit".into(), unit));
    }
    cols.push(Column::new("timestamp".into(), ts));
    cols.push(Column::new("model".into(), model));
    cols.push(Column::new("point".into(), point));
    for (l, q) in levels.iter().zip(qs) {
        cols.push(Column::new(level_name(*l).into(), q));
    }
    DataFrame::new_infer_height(cols)
}

/// `0.05` → `p05`, `0.975` → `p97.5`.
pub(crate) fn level_name(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("p{:02}", pct.round() as i64)
    } else {
        format!("p{pct}")
    }
}

/// Writes series as `.parquet` or `.csv` (by extension).
pub fn write_series(path: &Path, series: &[UsageSeries]) -> Result<(), ExportError> {
    write_frame(path, series_frame(series))
}

/// Writes forecasts as `.parquet` or `.csv` (by extension).
pub fn write_forecasts(path: &Path, forecasts: &[DemandForecast]) -> Result<(), ExportError> {
    write_frame(path, forecast_frame(forecasts))
}

/// Writes a small CSV table (header plus text cells, quoted where needed).
pub fn write_csv_table(
    path: &Path,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), ExportError> {
    let mut text = header
        .iter()
        .map(|h| csv_field(h, false))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for r in rows {
        // The cells mix names from input with numbers; numbers are never altered.
        text.push_str(
            &r.iter()
                .map(|c| csv_field(c, true))
                .collect::<Vec<_>>()
                .join(","),
        );
        text.push('\n');
    }
    write_atomic(path, |w| {
        w.write_all(text.as_bytes()).map_err(|e| ExportError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// The characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
/// return, hide one behind them): OWASP's list for CSV injection.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Neutralises text that came from input (a name, a key, a dimension value) against CSV
/// formula injection, as OWASP recommends: a value starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so spreadsheets show it as text instead of evaluating
/// it. A plain decimal number (`-123.45`, `+1e3`) is returned unchanged: a spreadsheet reads
/// it as the number it is, nothing more. Every other value is returned unchanged too.
///
/// This is the one rule every CSV capplan writes applies (the report's tables, `ingest` and
/// `forecast` outputs, small CSV tables); the JSON outputs keep the exact value.
pub fn formula_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA_TRIGGERS) && !is_plain_number(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// `[+-]digits[.digits][e[+-]digits]` (or `.digits`): a number, not a formula.
fn is_plain_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// One CSV field (RFC 4180). `input_text` marks text that came from input: it goes through
/// [`formula_safe`], and a value that was neutralised is always quoted. Any field is quoted
/// when it contains a comma, a quote or a line break.
pub fn csv_field(value: &str, input_text: bool) -> String {
    let safe = if input_text {
        formula_safe(value)
    } else {
        std::borrow::Cow::Borrowed(value)
    };
    let neutralised = matches!(safe, std::borrow::Cow::Owned(_));
    if neutralised || safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe.into_owned()
    }
}

/// A copy of `df` with the text of every string column except `timestamp` (dimension values,
/// units, model names) through [`formula_safe`], or `None` when no value needed it.
fn formula_safe_frame(df: &DataFrame) -> Result<Option<DataFrame>, PolarsError> {
    let mut changed = false;
    let mut cols = Vec::with_capacity(df.width());
    for c in df.columns() {
        if c.dtype() != &DataType::String || c.name().as_str() == "timestamp" {
            cols.push(c.clone());
            continue;
        }
        let ca = c.str()?;
        if !ca
            .iter()
            .flatten()
            .any(|v| matches!(formula_safe(v), std::borrow::Cow::Owned(_)))
        {
            cols.push(c.clone());
            continue;
        }
        changed = true;
        let safe: StringChunked = ca
            .iter()
            .map(|v| v.map(|v| formula_safe(v).into_owned()))
            .collect();
        cols.push(safe.with_name(c.name().clone()).into_column());
    }
    if changed {
        DataFrame::new(df.height(), cols).map(Some)
    } else {
        Ok(None)
    }
}

fn write_frame(path: &Path, df: Result<DataFrame, PolarsError>) -> Result<(), ExportError> {
    let enc = |e: PolarsError| ExportError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let df = df.map_err(enc)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => {
            // Text from input is neutralised against formula injection; a file that has such
            // a value quotes every text field (a normal file stays as it always was).
            let (mut df, quote) = match formula_safe_frame(&df).map_err(enc)? {
                Some(safe) => (safe, QuoteStyle::NonNumeric),
                None => (df, QuoteStyle::Necessary),
            };
            write_atomic(path, |w| {
                CsvWriter::new(w)
                    .include_header(true)
                    .with_quote_style(quote)
                    .finish(&mut df)
                    .map_err(enc)
            })
        }
        Some("parquet") => {
            let mut df = typed_for_parquet(df).map_err(enc)?;
            write_atomic(path, |w| {
                ParquetWriter::new(w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .finish(&mut df)
                    .map(|_| ())
                    .map_err(enc)
            })
        }
        _ => Err(ExportError::UnsupportedExtension {
            path: path.to_path_buf(),
        }),
    }
}

/// The long tables' typed columns for Parquet, which stores types (CSV stays text): the UTC
/// `timestamp` text becomes `Datetime(µs, UTC)`, and the exact decimal text of `effective_cost`
/// becomes `Decimal(38, s)` with `s` the most decimals any value has, so every amount is stored
/// exactly (an amount that would not fit in 38 digits is an error, never rounded).
fn typed_for_parquet(mut df: DataFrame) -> PolarsResult<DataFrame> {
    if let Ok(ts) = df.column("timestamp")
        && ts.dtype() == &DataType::String
    {
        let nulls = ts.null_count();
        df = df
            .lazy()
            .with_column(col("timestamp").str().to_datetime(
                Some(TimeUnit::Microseconds),
                Some(TimeZone::UTC),
                StrptimeOptions {
                    format: Some("%Y-%m-%dT%H:%M:%SZ".into()),
                    strict: true,
                    exact: true,
                    cache: true,
                },
                lit("raise"),
            ))
            .collect()?;
        if df.column("timestamp")?.null_count() != nulls {
            polars_bail!(ComputeError: "a timestamp of the table is not UTC text such as 2024-09-01T00:00:00Z");
        }
    }
    if let Ok(cost) = df.column("effective_cost")
        && cost.dtype() == &DataType::String
    {
        let text = cost.str()?.clone();
        let (mut int_digits, mut scale) = (1usize, 0usize);
        for v in text.iter().flatten() {
            let digits = v.trim_start_matches(['-', '+']);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            int_digits = int_digits.max(int.len());
            scale = scale.max(frac.len());
        }
        if int_digits + scale > 38 {
            polars_bail!(ComputeError: "an effective cost needs {} digits; a Parquet decimal holds 38", int_digits + scale);
        }
        let typed = text
            .into_series()
            .strict_cast(&DataType::Decimal(38, scale))?
            .into_column();
        df.with_column(typed.with_name("effective_cost".into()))?;
    }
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, |w| {
            w.write_all(b"one").map_err(|e| ExportError::Io {
                path: p.clone(),
                source: e,
            })
        })
        .unwrap();
        write_atomic(&p, |w| {
            w.write_all(b"two").map_err(|e| ExportError::Io {
                path: p.clone(),
                source: e,
            })
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn formula_text_is_neutralised_and_numbers_are_not() {
        for evil in [
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(1)",
            "\t=1",
            "\r=1",
            "-",
            "+",
        ] {
            assert_eq!(formula_safe(evil), format!("'{evil}"), "{evil:?}");
        }
        for plain in [
            "-123.45",
            "+5",
            "-0.5e-3",
            "-.5",
            "12",
            "Amazon EC2",
            "",
            "a=b",
            "'x",
        ] {
            assert_eq!(formula_safe(plain), plain, "{plain:?}");
        }
        assert_eq!(csv_field("=1+1", true), "\"'=1+1\"");
        assert_eq!(csv_field("=1+1", false), "=1+1");
        assert_eq!(csv_field("-123.45", true), "-123.45");
        assert_eq!(csv_field("a,b", true), "\"a,b\"");
    }

    #[test]
    fn csv_tables_neutralise_input_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let rows = vec![vec!["=HYPERLINK(\"x\")".to_string(), "-12.50".to_string()]];
        write_csv_table(&p, &["pool", "npv"], &rows).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "pool,npv\n\"'=HYPERLINK(\"\"x\"\")\",-12.50\n"
        );
    }

    #[test]
    fn series_csv_neutralises_dimension_values_and_parquet_keeps_them() {
        use crate::money::{Currency, Money};
        use crate::series::{Granularity, SeriesKey};
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let usd: Currency = "USD".parse().unwrap();
        let mk = |name: &str| UsageSeries {
            key: SeriesKey(vec![("service".into(), name.into())]),
            unit: "Hours".into(),
            granularity: Granularity::Hour,
            start,
            values: vec![1.0, 2.0],
            cost: Some(vec![
                Money::new("-1.5".parse().unwrap(), usd),
                Money::new("2".parse().unwrap(), usd),
            ]),
            gaps_filled: 0,
        };
        let dir = tempfile::tempdir().unwrap();
        // A normal file is written exactly as before.
        let p = dir.path().join("ok.csv");
        write_series(&p, &[mk("EC2")]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "service,unit,timestamp,value,effective_cost\n\
             EC2,Hours,2026-01-01T00:00:00Z,1.0,-1.5\n\
             EC2,Hours,2026-01-01T01:00:00Z,2.0,2\n"
        );
        let p = dir.path().join("evil.csv");
        write_series(&p, &[mk("=HYPERLINK(\"x\")")]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let first = text.lines().nth(1).unwrap();
        assert!(
            first.starts_with("\"'=HYPERLINK(\"\"x\"\")\",\"Hours\",\"2026-01-01T00:00:00Z\",1.0,"),
            "{text}"
        );
        assert!(!text.contains(",=HYPERLINK"), "{text}");
        // Parquet is not read by spreadsheets as formulas: it keeps the exact value.
        let df = series_frame(&[mk("=HYPERLINK(\"x\")")]).unwrap();
        assert_eq!(
            df.column("service").unwrap().str().unwrap().get(0),
            Some("=HYPERLINK(\"x\")")
        );
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old").unwrap();
        let r = write_atomic(&p, |_| {
            Err(ExportError::UnsupportedExtension { path: p.clone() })
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
