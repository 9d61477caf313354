//! Input resolution (files, directories, globs, hive partitions), file kinds, headers and
//! format detection. Nothing here parses values: it only decides *what* each file is.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::error::IngestError;
use super::formats::Format;

/// How a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Plain CSV text.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// Apache Parquet.
    Parquet,
}

/// One resolved input file with its header and detected format.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) kind: FileKind,
    /// Column names and their storage types (all String for CSV).
    pub(crate) schema: Schema,
    /// `key=value` directory names between the input root and the file.
    pub(crate) hive: Vec<(String, String)>,
    /// The first rows, as read with the full schema, for sampling value formats.
    pub(crate) sample: DataFrame,
    pub(crate) format: Format,
    /// Whether literal `NULL` text was seen in the first rows (read as missing).
    pub(crate) null_markers_seen: bool,
}

impl SourceFile {
    /// Column names in file order.
    pub(crate) fn columns(&self) -> Vec<String> {
        self.schema.iter_names().map(|n| n.to_string()).collect()
    }

    /// The first non-null sample values of a column, as text.
    pub(crate) fn sample_text(&self, column: &str, max: usize) -> Vec<String> {
        let Ok(c) = self.sample.column(column) else {
            return Vec::new();
        };
        let Ok(s) = c.cast(&DataType::String) else {
            return Vec::new();
        };
        let Ok(ca) = s.str() else { return Vec::new() };
        ca.iter().flatten().take(max).map(str::to_string).collect()
    }
}

/// Values that mean "no value" in billing exports.
pub(crate) const NULL_MARKERS: [&str; 2] = ["NULL", "null"];

const SAMPLE_ROWS: usize = 200;

/// Resolves the user's inputs into files, reads their headers and detects formats.
pub(crate) fn resolve(
    inputs: &[String],
    forced: Option<Format>,
) -> Result<Vec<SourceFile>, IngestError> {
    let mut out = Vec::new();
    for input in inputs {
        for (path, hive) in expand(input)? {
            out.push(open(&path, hive, forced)?);
        }
    }
    Ok(out)
}

/// A file found for an input, with its hive `key=value` partition values.
type Found = (PathBuf, Vec<(String, String)>);

fn expand(input: &str) -> Result<Vec<Found>, IngestError> {
    let is_glob = input.contains(['*', '?', '[']);
    if is_glob {
        let paths = glob::glob(input).map_err(|e| IngestError::BadOption {
            option: "input".into(),
            message: format!("invalid glob {input:?}: {e}"),
        })?;
        let mut files: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file() && is_data_file(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(IngestError::NoInputFiles {
                pattern: input.to_string(),
            });
        }
        return Ok(files.into_iter().map(|p| (p, Vec::new())).collect());
    }
    let path = PathBuf::from(input);
    if path.is_dir() {
        let mut files = Vec::new();
        walk(&path, &mut files)?;
        files.sort();
        if files.is_empty() {
            return Err(IngestError::NoInputFiles {
                pattern: format!("directory {input}"),
            });
        }
        return Ok(files
            .into_iter()
            .map(|p| {
                let hive = hive_parts(&path, &p);
                (p, hive)
            })
            .collect());
    }
    if path.is_file() {
        return Ok(vec![(path, Vec::new())]);
    }
    Err(IngestError::NotFound {
        path: input.to_string(),
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let entries = std::fs::read_dir(dir).map_err(|e| IngestError::Io {
        path: dir.into(),
        source: e,
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| IngestError::Io {
            path: dir.into(),
            source: e,
        })?;
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue; // hidden files, _SUCCESS markers, Spark metadata
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_data_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn is_data_file(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".csv") || name.ends_with(".csv.gz") || name.ends_with(".parquet")
}

fn hive_parts(root: &Path, file: &Path) -> Vec<(String, String)> {
    let Ok(rel) = file.strip_prefix(root) else {
        return Vec::new();
    };
    rel.parent()
        .into_iter()
        .flat_map(|p| p.components())
        .filter_map(|c| {
            let s = c.as_os_str().to_string_lossy();
            let (k, v) = s.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn sniff_kind(path: &Path) -> Result<FileKind, IngestError> {
    let mut f = File::open(path).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    if n == 0 {
        return Err(IngestError::EmptyFile { path: path.into() });
    }
    Ok(match &magic[..n.min(4)] {
        [b'P', b'A', b'R', b'1'] => FileKind::Parquet,
        [0x1f, 0x8b, ..] => FileKind::CsvGz,
        _ if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet")) =>
        {
            FileKind::Parquet
        }
        _ => FileKind::Csv,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn open(
    path: &Path,
    hive: Vec<(String, String)>,
    forced: Option<Format>,
) -> Result<SourceFile, IngestError> {
    let kind = sniff_kind(path)?;
    let (schema, sample, null_markers_seen) = match kind {
        FileKind::Parquet => {
            let (s, d) = parquet_head(path)?;
            (s, d, false)
        }
        FileKind::Csv | FileKind::CsvGz => csv_head(path, kind)?,
    };
    let columns: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let format = match forced {
        Some(f) => f,
        None => Format::detect(&columns).ok_or_else(|| IngestError::UnknownFormat {
            path: path.into(),
            found: list_columns(&columns),
        })?,
    };
    Ok(SourceFile {
        path: path.into(),
        kind,
        schema,
        hive,
        sample,
        format,
        null_markers_seen,
    })
}

/// Column names for messages: all of them when few, else the first 12 and a count.
pub(crate) fn list_columns(columns: &[String]) -> String {
    if columns.len() <= 12 {
        columns.join(", ")
    } else {
        format!(
            "{}, ... ({} columns)",
            columns[..12].join(", "),
            columns.len()
        )
    }
}

fn parquet_head(path: &Path) -> Result<(Schema, DataFrame), IngestError> {
    let perr = |e: PolarsError| IngestError::Parquet {
        path: path.into(),
        message: e.to_string(),
    };
    let pl_path = PlRefPath::try_from_path(path).map_err(perr)?;
    let mut lf = LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(perr)?;
    let schema = lf.collect_schema().map_err(perr)?;
    let sample = lf.limit(SAMPLE_ROWS as IdxSize).collect().map_err(perr)?;
    if sample.height() == 0 {
        return Err(IngestError::NoDataRows { path: path.into() });
    }
    Ok((schema.as_ref().clone(), sample))
}

/// Reads the first lines itself (to give precise UTF-8, gzip and empty-file errors), then lets
/// polars parse a sample with every column as String.
fn csv_head(path: &Path, kind: FileKind) -> Result<(Schema, DataFrame, bool), IngestError> {
    let file = File::open(path).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    let reader: Box<dyn Read> = match kind {
        FileKind::CsvGz => Box::new(flate2::read::GzDecoder::new(file)),
        _ => Box::new(file),
    };
    let mut head = Vec::with_capacity(64 * 1024);
    let mut buffered = BufReader::new(reader);
    let mut lines = 0usize;
    let mut non_empty = 0usize;
    loop {
        let mut line = Vec::new();
        let n = buffered
            .read_until(b'\n', &mut line)
            .map_err(|e| match kind {
                FileKind::CsvGz => IngestError::Gzip {
                    path: path.into(),
                    message: e.to_string(),
                },
                _ => IngestError::Io {
                    path: path.into(),
                    source: e,
                },
            })?;
        if n == 0 {
            break;
        }
        lines += 1;
        if std::str::from_utf8(&line).is_err() {
            return Err(IngestError::NotUtf8 {
                path: path.into(),
                line: lines,
            });
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            non_empty += 1;
        }
        head.extend_from_slice(&line);
        if lines > SAMPLE_ROWS + 1 || head.len() > 8 * 1024 * 1024 {
            break;
        }
    }
    let bom_free = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    if bom_free.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::EmptyFile { path: path.into() });
    }
    if non_empty < 2 {
        return Err(IngestError::NoDataRows { path: path.into() });
    }
    let cerr = |e: PolarsError| IngestError::Csv {
        path: path.into(),
        message: diagnose_csv(path, kind).unwrap_or_else(|| clean_polars_message(&e)),
    };
    let cursor = std::io::Cursor::new(bom_free.to_vec());
    let sample = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(
            CsvParseOptions::default()
                .with_null_values(Some(NullValues::AllColumns(
                    NULL_MARKERS.iter().map(|s| PlSmallStr::from(*s)).collect(),
                )))
                .with_truncate_ragged_lines(false),
        )
        .into_reader_with_file_handle(cursor)
        .finish()
        .map_err(cerr)?;
    let schema = sample.schema().as_ref().clone();
    let text = String::from_utf8_lossy(bom_free);
    let null_seen = NULL_MARKERS.iter().any(|m| {
        text.contains(&format!(",{m},"))
            || text.contains(&format!(",{m}\n"))
            || text.contains(&format!("\n{m},"))
    });
    Ok((schema, sample, null_seen))
}

/// Polars messages carry hints meant for Python users; keep the first paragraph.
pub(crate) fn clean_polars_message(e: &PolarsError) -> String {
    let s = e.to_string();
    let first = s.split("\n\n").next().unwrap_or(&s);
    first.replace('\n', " ").trim().to_string()
}

/// Scans one file lazily with every CSV column as String (values are parsed by the format
/// mapping, where failures can be reported with row and column) and a 1-based row index.
pub(crate) fn scan(file: &SourceFile) -> Result<LazyFrame, IngestError> {
    let pl_path = PlRefPath::try_from_path(&file.path).map_err(|e| IngestError::Io {
        path: file.path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let row_index = Some(RowIndex {
        name: ROW_COL.into(),
        offset: 1,
    });
    match file.kind {
        FileKind::Parquet => {
            let args = ScanArgsParquet {
                row_index,
                ..Default::default()
            };
            LazyFrame::scan_parquet(pl_path, args).map_err(|e| IngestError::Parquet {
                path: file.path.clone(),
                message: clean_polars_message(&e),
            })
        }
        FileKind::Csv | FileKind::CsvGz => {
            let schema: Schema = file
                .schema
                .iter_names()
                .map(|n| Field::new(n.clone(), DataType::String))
                .collect();
            LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_schema(Some(Arc::new(schema)))
                .with_null_values(Some(NullValues::AllColumns(
                    NULL_MARKERS.iter().map(|s| PlSmallStr::from(*s)).collect(),
                )))
                .with_row_index(row_index)
                .finish()
                .map_err(|e| IngestError::Csv {
                    path: file.path.clone(),
                    message: clean_polars_message(&e),
                })
        }
    }
}

/// Name of the 1-based row index column added to every scan.
pub(crate) const ROW_COL: &str = "__row";

/// Explains a CSV the reader rejected: the first record whose field count differs from the
/// header's, or a quoted field left open at the end of the file. Reads the file itself
/// (quote-aware), so it only runs on the error path.
pub(crate) fn diagnose_csv(path: &Path, kind: FileKind) -> Option<String> {
    let file = File::open(path).ok()?;
    let reader: Box<dyn Read> = match kind {
        FileKind::CsvGz => Box::new(flate2::read::GzDecoder::new(file)),
        _ => Box::new(file),
    };
    let mut bytes = Vec::new();
    BufReader::new(reader).read_to_end(&mut bytes).ok()?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut in_quotes = false;
    let mut fields = 1usize;
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut record = 0usize; // 0 = header
    let mut header_fields = None;
    let mut quote_line = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                if in_quotes && bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = !in_quotes;
                    if in_quotes {
                        quote_line = line;
                    }
                }
            }
            b',' if !in_quotes => fields += 1,
            b'\n' => {
                line += 1;
                if !in_quotes {
                    let blank = i == 0 || bytes[i - 1] == b'\n';
                    if !blank {
                        match header_fields {
                            None => header_fields = Some(fields),
                            Some(h) if h != fields => {
                                return Some(format!(
                                    "row {record} (line {record_line}) has {fields} fields but the header has {h}; check for an unquoted comma or a missing value"
                                ));
                            }
                            Some(_) => {}
                        }
                        record += 1;
                    }
                    fields = 1;
                    record_line = line;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if in_quotes {
        return Some(format!(
            "a quoted field opened on line {quote_line} is never closed; check for a stray `\"`"
        ));
    }
    if let Some(h) = header_fields
        && fields != h
        && bytes.last().is_some_and(|b| *b != b'\n')
    {
        return Some(format!(
            "row {record} (line {record_line}) has {fields} fields but the header has {h}; check for an unquoted comma or a missing value"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnose(text: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, text).unwrap();
        diagnose_csv(&p, FileKind::Csv)
    }

    #[test]
    fn finds_ragged_rows_and_open_quotes() {
        assert_eq!(diagnose("a,b\n1,2\n3,4\n"), None);
        let m = diagnose("a,b\n1,2\n3,4,5\n").unwrap();
        assert!(
            m.starts_with("row 2 (line 3) has 3 fields but the header has 2"),
            "{m}"
        );
        let m = diagnose("a,b\n\"x\ny\",2\n3\n").unwrap();
        assert!(m.starts_with("row 2 (line 4) has 1 fields"), "{m}");
        let m = diagnose("a,b\n1,\"open\n2,3\n").unwrap();
        assert!(m.contains("opened on line 2 is never closed"), "{m}");
        assert_eq!(diagnose("a,b\n\"q,\"\"x\"\"\",2\n"), None);
    }
}
