//! Input resolution (files, directories, globs, hive partitions), file kinds, headers and
//! format detection. Nothing here parses values: it only decides *what* each file is.
//!
//! Everything a reader would trip over is caught here with a message that says what the file
//! is and what to do: non-regular files (FIFOs, devices), symlink loops (each file is read
//! once), JSON and Excel files, zip archives (one CSV inside is extracted and read), UTF-16
//! and CR-only text, header-only files (skipped and counted when other files have data) and
//! Parquet files whose footer points past their data (checked before polars reads them).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;

use super::error::IngestError;
use super::formats::Format;
use super::separator;
use super::{Finding, Severity};

/// How a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Plain CSV text.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// A zip archive holding one CSV (how AWS delivers legacy CUR).
    CsvZip,
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
    /// The null markers (`NULL`, `\N`) seen as whole fields in the first rows (read as
    /// missing).
    pub(crate) null_markers_seen: Vec<&'static str>,
    /// The field separator of a text file (detected from its first lines, see
    /// [`separator::detect`]); `,` for Parquet.
    pub(crate) separator: u8,
    /// For a zip archive: the CSV extracted from it (deleted when the last clone is dropped).
    pub(crate) extracted: Option<Arc<tempfile::TempPath>>,
}

impl SourceFile {
    /// The file the readers open: the extracted CSV for a zip archive, else [`Self::path`]
    /// (which messages name).
    pub(crate) fn read_path(&self) -> &Path {
        match &self.extracted {
            Some(t) => t,
            None => &self.path,
        }
    }

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

/// Hive's null marker, read as missing in `\x01`-separated (Hive text) files.
pub(crate) const HIVE_NULL: &str = "\\N";

/// The null markers of a file with this separator.
pub(crate) fn null_markers(separator: u8) -> Vec<&'static str> {
    let mut all = NULL_MARKERS.to_vec();
    if separator == separator::HIVE {
        all.push(HIVE_NULL);
    }
    all
}

fn null_values(separator: u8) -> Option<NullValues> {
    Some(NullValues::AllColumns(
        null_markers(separator)
            .into_iter()
            .map(PlSmallStr::from)
            .collect(),
    ))
}

const SAMPLE_ROWS: usize = 200;

/// The inputs' files with data, and what resolving them noticed.
pub(crate) struct Resolved {
    pub(crate) files: Vec<SourceFile>,
    /// Header-only files skipped, links not followed, files reached twice.
    pub(crate) findings: Vec<Finding>,
}

/// Resolves the user's inputs into files, reads their headers and detects formats. Each file
/// is read once, however many links or inputs lead to it. A file with a header but no data
/// rows (an empty month) is skipped and counted when another file has data; when none has,
/// that is the error.
pub(crate) fn resolve(inputs: &[String], forced: Option<Format>) -> Result<Resolved, IngestError> {
    let mut walk = Walk::default();
    let mut files = Vec::new();
    let mut header_only = Vec::new();
    let mut twice = Vec::new();
    let mut seen = BTreeSet::new();
    for input in inputs {
        for (path, hive) in expand(input, &mut walk)? {
            let canonical = std::fs::canonicalize(&path).map_err(|e| IngestError::Io {
                path: path.clone(),
                source: e,
            })?;
            if !seen.insert(canonical) {
                twice.push(path);
                continue;
            }
            match open(&path, hive, forced)? {
                Opened::Data(f) => files.push(*f),
                Opened::HeaderOnly => header_only.push(path),
            }
        }
    }
    if files.is_empty() {
        match header_only.as_slice() {
            [] => {}
            [one] => return Err(IngestError::NoDataRows { path: one.clone() }),
            all => {
                return Err(IngestError::NoDataInAnyFile {
                    count: all.len(),
                    names: name_list(all),
                });
            }
        }
    }
    let mut findings = Vec::new();
    let mut note = |code: &str, severity, list: &[PathBuf], what: &str| {
        if !list.is_empty() {
            findings.push(Finding {
                code: code.into(),
                severity,
                count: list.len() as u64,
                message: format!("{} {what}: {}", list.len(), name_list(list)),
            });
        }
    };
    note(
        "empty_files",
        Severity::Warning,
        &header_only,
        "empty file(s) (a header but no data rows, e.g. a month without usage) skipped",
    );
    note(
        "links_not_followed",
        Severity::Info,
        &walk.not_followed,
        "folder(s) not read again because they lead to a folder already read (a symlink loop, a second link or the same folder given twice)",
    );
    note(
        "read_once",
        Severity::Info,
        &twice,
        "input path(s) lead to a file already read (through a link or given twice) and were read once",
    );
    // One finding per separator other than comma, naming its files.
    for sep in separator::CANDIDATES.into_iter().filter(|s| *s != b',') {
        let list: Vec<PathBuf> = files
            .iter()
            .filter(|f| f.separator == sep && f.kind != FileKind::Parquet)
            .map(|f| f.path.clone())
            .collect();
        note(
            "separator",
            Severity::Info,
            &list,
            &format!(
                "file(s) read with {} as field separator (detected from the header and first lines)",
                separator::name(sep)
            ),
        );
    }
    Ok(Resolved { files, findings })
}

/// Paths for a message: the first 10 and a count of the rest.
fn name_list(paths: &[PathBuf]) -> String {
    let mut names: Vec<String> = paths
        .iter()
        .take(10)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 10 {
        names.push(format!("and {} more", paths.len() - 10));
    }
    names.join(", ")
}

/// A file found for an input, with its hive `key=value` partition values.
type Found = (PathBuf, Vec<(String, String)>);

/// What walking directories has seen: folders read (canonical paths) and links not followed.
#[derive(Default)]
struct Walk {
    dirs: BTreeSet<PathBuf>,
    /// The canonical path of the folder being walked.
    current: Option<PathBuf>,
    not_followed: Vec<PathBuf>,
}

fn expand(input: &str, state: &mut Walk) -> Result<Vec<Found>, IngestError> {
    let is_glob = input.contains(['*', '?', '[']);
    if is_glob {
        let paths = glob::glob(input).map_err(|e| IngestError::BadOption {
            option: "input".into(),
            message: format!("invalid glob {input:?}: {e}"),
        })?;
        let mut files = Vec::new();
        for p in paths.filter_map(Result::ok) {
            if !is_data_file(&p) {
                continue;
            }
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => files.push(p),
                Ok(m) if !m.is_dir() => return Err(not_regular(&p, &m)),
                _ => {}
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(IngestError::NoInputFiles {
                pattern: input.to_string(),
            });
        }
        return Ok(files.into_iter().map(|p| (p, Vec::new())).collect());
    }
    let path = PathBuf::from(input);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(IngestError::NotFound {
                path: input.to_string(),
            });
        }
        Err(e) => return Err(IngestError::Io { path, source: e }),
    };
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(&path, &mut files, state)?;
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
    if meta.is_file() {
        return Ok(vec![(path, Vec::new())]);
    }
    Err(not_regular(&path, &meta))
}

/// The error for a path that exists but is neither a regular file nor a directory.
fn not_regular(path: &Path, meta: &std::fs::Metadata) -> IngestError {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            "a named pipe (FIFO)"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a special file"
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = meta;
        "a special file"
    };
    IngestError::NotRegularFile {
        path: path.into(),
        what,
    }
}

/// Walks a directory depth-first in name order. A link to a folder that contains the one
/// being walked (a symlink loop) or to a folder already read (by canonical path) is not
/// followed, so every file is read once and a loop ends at once.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, state: &mut Walk) -> Result<(), IngestError> {
    let io = |e| IngestError::Io {
        path: dir.into(),
        source: e,
    };
    let canonical = std::fs::canonicalize(dir).map_err(io)?;
    let is_loop = state
        .current
        .as_ref()
        .is_some_and(|c| c.starts_with(&canonical));
    if is_loop || !state.dirs.insert(canonical.clone()) {
        state.not_followed.push(dir.to_path_buf());
        return Ok(());
    }
    let parent = state.current.replace(canonical);
    let walked = walk_entries(dir, out, state);
    state.current = parent;
    walked
}

fn walk_entries(dir: &Path, out: &mut Vec<PathBuf>, state: &mut Walk) -> Result<(), IngestError> {
    let io = |e| IngestError::Io {
        path: dir.into(),
        source: e,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue; // hidden files, _SUCCESS markers, Spark metadata
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, out, state)?,
            Ok(m) if is_data_file(&p) && !m.is_file() => return Err(not_regular(&p, &m)),
            Ok(_) if is_data_file(&p) => out.push(p),
            Ok(_) => {}
            // A broken link or a link loop named like a data file is an error, not a skip.
            Err(e) if is_data_file(&p) => return Err(IngestError::Io { path: p, source: e }),
            Err(_) => {}
        }
    }
    Ok(())
}

fn is_data_file(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".csv")
        || name.ends_with(".csv.gz")
        || name.ends_with(".csv.zip")
        || name.ends_with(".parquet")
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

/// How many bytes are read to decide what a file is.
const SNIFF_BYTES: usize = 512;

fn sniff_kind(path: &Path) -> Result<FileKind, IngestError> {
    let mut f = File::open(path).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    let mut magic = [0u8; SNIFF_BYTES];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    if n == 0 {
        return Err(IngestError::EmptyFile { path: path.into() });
    }
    let head = &magic[..n];
    let extension = |exts: &[&str]| {
        path.extension()
            .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
    };
    if extension(&["json", "jsonl", "ndjson"]) || looks_like_json(head) {
        return Err(unsupported(
            path,
            "JSON",
            "export the billing data as CSV or Parquet (FOCUS, AWS CUR, Azure cost details and OCI cost reports are all delivered as CSV or Parquet)",
        ));
    }
    if extension(&["xlsx", "xlsm", "xls"]) || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(excel(path));
    }
    Ok(match head {
        [b'P', b'A', b'R', b'1', ..] => FileKind::Parquet,
        [0x1f, 0x8b, ..] => FileKind::CsvGz,
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => FileKind::CsvZip,
        _ if extension(&["parquet"]) => FileKind::Parquet,
        _ if extension(&["zip"]) => FileKind::CsvZip,
        _ => FileKind::Csv,
    })
}

/// JSON text: a `{`, or a `[` opening an array of values, as the first character.
fn looks_like_json(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let mut chars = text.iter().filter(|b| !b.is_ascii_whitespace());
    match chars.next() {
        Some(b'{') => true,
        Some(b'[') => matches!(chars.next(), Some(b'{' | b'[' | b']' | b'"')),
        _ => false,
    }
}

fn unsupported(path: &Path, what: &'static str, fix: &str) -> IngestError {
    IngestError::UnsupportedFormat {
        path: path.into(),
        what,
        fix: fix.to_string(),
    }
}

fn excel(path: &Path) -> IngestError {
    unsupported(
        path,
        "an Excel workbook",
        "save the sheet as CSV (File > Save As > CSV UTF-8) or export the bill as CSV",
    )
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

/// What opening a file found.
enum Opened {
    Data(Box<SourceFile>),
    /// A header (of a known format) and no data rows.
    HeaderOnly,
}

fn open(
    path: &Path,
    hive: Vec<(String, String)>,
    forced: Option<Format>,
) -> Result<Opened, IngestError> {
    let kind = sniff_kind(path)?;
    let extracted = match kind {
        FileKind::CsvZip => Some(Arc::new(extract_zip(path)?)),
        _ => None,
    };
    let read_path: &Path = extracted.as_deref().map_or(path, |t| t);
    let head = match kind {
        FileKind::Parquet => {
            let (schema, sample) = parquet_head(path)?;
            Head {
                schema,
                sample,
                null_markers_seen: Vec::new(),
                separator: b',',
                header: Vec::new(),
            }
        }
        FileKind::Csv | FileKind::CsvGz | FileKind::CsvZip => csv_head(path, kind, read_path)?,
    };
    let Head {
        schema,
        sample,
        null_markers_seen,
        separator,
        header,
    } = head;
    let columns: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let detected = forced.or_else(|| Format::detect(&columns));
    if sample.height() == 0 {
        // An empty month of a known export is skipped (and counted) by `resolve`; a file
        // whose one line is no known header is not taken for one.
        return match detected {
            Some(_) => Ok(Opened::HeaderOnly),
            None => Err(IngestError::NoDataRows { path: path.into() }),
        };
    }
    let format = detected.ok_or_else(|| IngestError::UnknownFormat {
        path: path.into(),
        found: list_columns(&columns),
        layout: header_layout(&header, separator, columns.len()),
    })?;
    Ok(Opened::Data(Box::new(SourceFile {
        path: path.into(),
        kind,
        schema,
        hive,
        sample,
        format,
        null_markers_seen,
        separator,
        extracted,
    })))
}

/// What the header of a file with an unknown format looks like, for the error: the separator
/// it was split at when that is not comma, or the separator it seems to use when commas leave
/// it in one field.
fn header_layout(header: &[u8], sep: u8, fields: usize) -> String {
    if sep != b',' {
        return format!(
            " (read with {} as field separator: the header and the first lines split into {fields} fields at it)",
            separator::name(sep)
        );
    }
    match separator::seems_to_use(header, sep) {
        Some((other, n)) => format!(
            "; the header has 1 field at commas; the file seems to use {} as separator (the header splits into {n} fields at it), but its data lines do not split into {n} fields each",
            separator::name(other)
        ),
        None => String::new(),
    }
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

/// Extracts the one CSV of a zip archive into a temporary file (deleted with the last
/// [`SourceFile`] clone). Directories and macOS metadata (`__MACOSX/`, `._*`) are ignored.
fn extract_zip(path: &Path) -> Result<tempfile::TempPath, IngestError> {
    let shown = shell_quote(&path.display().to_string());
    let zerr = |message: String| IngestError::Zip {
        path: path.into(),
        message,
    };
    let file = File::open(path).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    let mut archive = ::zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        zerr(format!(
            "could not read the zip archive ({e}); it may be cut short: download it again, or unzip it (`unzip {shown}`) and pass the CSV"
        ))
    })?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()).unwrap_or_default())
        .collect();
    if names
        .iter()
        .any(|n| n == "[Content_Types].xml" || n.starts_with("xl/"))
    {
        return Err(excel(path));
    }
    let members: Vec<(usize, &String)> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            let base = n.rsplit('/').next().unwrap_or(n);
            !n.ends_with('/') && !n.starts_with("__MACOSX/") && !base.starts_with("._")
        })
        .collect();
    let csvs: Vec<&(usize, &String)> = members
        .iter()
        .filter(|(_, n)| n.to_ascii_lowercase().ends_with(".csv"))
        .collect();
    let listed = |list: &mut dyn Iterator<Item = &String>| {
        let all: Vec<&String> = list.collect();
        let mut shown: Vec<String> = all.iter().take(10).map(|n| n.to_string()).collect();
        if all.len() > 10 {
            shown.push(format!("and {} more", all.len() - 10));
        }
        shown.join(", ")
    };
    let index = match csvs.as_slice() {
        [(i, _)] => *i,
        [] => {
            return Err(zerr(format!(
                "the zip archive holds no .csv file (it holds: {}); capplan reads a zip with one CSV inside: unzip it (`unzip {shown}`) and pass the billing export itself",
                if members.is_empty() {
                    "nothing".to_string()
                } else {
                    listed(&mut members.iter().map(|(_, n)| *n))
                }
            )));
        }
        many => {
            return Err(zerr(format!(
                "the zip archive holds {} CSV files ({}); capplan reads a zip with one CSV inside: unzip it into a folder (`unzip {shown} -d exports`) and pass the folder",
                many.len(),
                listed(&mut many.iter().map(|(_, n)| *n))
            )));
        }
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".capplan-unzipped-")
        .suffix(".csv")
        .tempfile()
        .map_err(|e| IngestError::Io {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let member = &names[index];
    let copied = archive
        .by_index(index)
        .map_err(|e| e.to_string())
        .and_then(|mut entry| std::io::copy(&mut entry, &mut tmp).map_err(|e| e.to_string()));
    if let Err(e) = copied {
        return Err(zerr(format!(
            "could not extract {member:?} from the zip archive ({e}); it may be corrupt or cut short: download it again, or unzip it (`unzip {shown}`) and pass the CSV"
        )));
    }
    Ok(tmp.into_temp_path())
}

/// A path quoted for a POSIX shell command in a message.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The exact command that converts a file with `filter` (a stdin-to-stdout command) into a
/// plain CSV beside it, named `<stem>.<tag>.csv`.
fn convert_command(path: &Path, kind: FileKind, filter: &str, tag: &str) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem_len = [".csv.gz", ".csv.zip", ".csv", ".gz", ".zip", ".txt"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map_or(name.len(), |ext| name.len() - ext.len());
    let out = path.with_file_name(format!("{}.{tag}.csv", &name[..stem_len]));
    let src = shell_quote(&path.display().to_string());
    let out = shell_quote(&out.display().to_string());
    match kind {
        FileKind::CsvGz => format!("gunzip -c {src} | {filter} > {out}"),
        FileKind::CsvZip => format!("unzip -p {src} | {filter} > {out}"),
        _ => format!("{filter} < {src} > {out}"),
    }
}

/// Text a CSV reader would misread: UTF-16/UTF-32 (with or without a byte-order mark) and
/// lines ended by a lone carriage return. `head` is the first bytes of the (decompressed) file.
fn check_text(path: &Path, kind: FileKind, head: &[u8]) -> Result<(), IngestError> {
    let wide = |encoding: &str, iconv: &str| IngestError::WrongEncoding {
        path: path.into(),
        encoding: encoding.to_string(),
        command: convert_command(path, kind, &format!("iconv -f {iconv} -t UTF-8"), "utf8"),
    };
    if head.starts_with(&[0xFF, 0xFE, 0, 0]) {
        return Err(wide(
            "UTF-32 (little-endian, byte-order mark FF FE 00 00)",
            "UTF-32",
        ));
    }
    if head.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Err(wide(
            "UTF-32 (big-endian, byte-order mark 00 00 FE FF)",
            "UTF-32",
        ));
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Err(wide(
            "UTF-16 (little-endian, byte-order mark FF FE)",
            "UTF-16",
        ));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Err(wide("UTF-16 (big-endian, byte-order mark FE FF)", "UTF-16"));
    }
    // UTF-16 without a byte-order mark: ASCII text with a zero byte beside every character.
    let probe = &head[..head.len().min(512) & !1];
    if probe.len() >= 8 {
        let zeros_at = |parity: usize| {
            probe
                .iter()
                .skip(parity)
                .step_by(2)
                .filter(|b| **b == 0)
                .count()
        };
        let half = probe.len() / 2;
        let (even, odd) = (zeros_at(0), zeros_at(1));
        if odd * 10 >= half * 9 && even * 10 < half {
            return Err(wide(
                "UTF-16 (little-endian, no byte-order mark)",
                "UTF-16LE",
            ));
        }
        if even * 10 >= half * 9 && odd * 10 < half {
            return Err(wide("UTF-16 (big-endian, no byte-order mark)", "UTF-16BE"));
        }
    }
    // Lines ended by CR alone (classic Mac OS, old Excel for Mac): the whole file is one line.
    if !head.contains(&b'\n')
        && let Some(cr) = head.iter().position(|b| *b == b'\r')
        && head[cr..].iter().any(|b| !b.is_ascii_whitespace())
    {
        return Err(IngestError::CrLineEndings {
            path: path.into(),
            command: convert_command(path, kind, r"tr '\r' '\n'", "lf"),
        });
    }
    Ok(())
}

fn parquet_head(path: &Path) -> Result<(Schema, DataFrame), IngestError> {
    let perr = |e: PolarsError| IngestError::Parquet {
        path: path.into(),
        message: e.to_string(),
    };
    check_parquet_layout(path)?;
    let pl_path = PlRefPath::try_from_path(path).map_err(perr)?;
    let read = catch_quietly(|| -> PolarsResult<(SchemaRef, DataFrame)> {
        let mut lf = LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default())?;
        let schema = lf.collect_schema()?;
        let sample = lf.limit(SAMPLE_ROWS as IdxSize).collect()?;
        Ok((schema, sample))
    })
    .map_err(|_| corrupt_parquet(path, "its data could not be decoded"))?;
    let (schema, sample) = read.map_err(perr)?;
    Ok((schema.as_ref().clone(), sample))
}

/// The error for a Parquet file whose bytes contradict its own footer.
pub(crate) fn corrupt_parquet(path: &Path, detail: &str) -> IngestError {
    IngestError::Parquet {
        path: path.into(),
        message: format!(
            "the file is corrupt: {detail}; it was probably cut short or damaged while being written, copied or downloaded: export or copy it again"
        ),
    }
}

/// Checks that every column chunk the footer lists lies inside the file's data, before a
/// reader trusts the offsets (a file cut mid-data with its footer re-appended makes polars
/// read out of bounds).
fn check_parquet_layout(path: &Path) -> Result<(), IngestError> {
    let io = |e| IngestError::Io {
        path: path.into(),
        source: e,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut tail = [0u8; 8];
    if len < 12 {
        return Err(corrupt_parquet(path, &format!("it has only {len} bytes")));
    }
    {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::End(-8)).map_err(io)?;
        file.read_exact(&mut tail).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
    }
    if &tail[4..] != b"PAR1" {
        return Err(corrupt_parquet(
            path,
            "it does not end with the Parquet magic bytes `PAR1` (its footer is missing)",
        ));
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    let Some(data_end) = len.checked_sub(8 + footer).filter(|e| *e >= 4) else {
        return Err(corrupt_parquet(
            path,
            &format!("its footer claims {footer} bytes but the file has {len}"),
        ));
    };
    let metadata = catch_quietly(|| ParquetReader::new(file).get_metadata().cloned())
        .map_err(|_| corrupt_parquet(path, "its footer could not be decoded"))?
        .map_err(|e| IngestError::Parquet {
            path: path.into(),
            message: clean_polars_message(&e),
        })?;
    for (g, group) in metadata.row_groups.iter().enumerate() {
        for chunk in group.parquet_columns() {
            let r = chunk.byte_range();
            if r.start < 4 || r.end < r.start || r.end > data_end {
                return Err(corrupt_parquet(
                    path,
                    &format!(
                        "its footer places column `{}` of row group {} at bytes {}..{}, but the data ends at byte {data_end}",
                        chunk.descriptor().path_in_schema.join("."),
                        g + 1,
                        r.start,
                        r.end
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Panics silenced by [`catch_quietly`] while non-zero.
static QUIET_PANICS: AtomicUsize = AtomicUsize::new(0);
static QUIET_HOOK: std::sync::Once = std::sync::Once::new();

/// Runs `f` (a read by the query engine) and turns a panic inside it into `Err` with the
/// panic's message, without the panic hook printing it: a damaged file is an input error,
/// not a crash. The hook installed once delegates to the previous one outside these calls.
/// Panics that abort (polars' debug-build precondition checks) cannot be caught; the
/// checks before the read ([`check_parquet_layout`]) exist so that none is reached.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET_PANICS.load(Ordering::SeqCst) == 0 {
                previous(info);
            }
        }));
    });
    QUIET_PANICS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET_PANICS.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string())
    })
}

/// What reading the start of a file found.
struct Head {
    schema: Schema,
    sample: DataFrame,
    null_markers_seen: Vec<&'static str>,
    separator: u8,
    /// The header line of a text file (for messages about its layout).
    header: Vec<u8>,
}

/// Reads the first lines itself (to give precise encoding, gzip and empty-file errors),
/// detects the field separator from them, then lets polars parse a sample with every column
/// as String. `path` is the file as named, `read_path` the file read (the extracted CSV of a
/// zip archive).
fn csv_head(path: &Path, kind: FileKind, read_path: &Path) -> Result<Head, IngestError> {
    let file = File::open(read_path).map_err(|e| IngestError::Io {
        path: path.into(),
        source: e,
    })?;
    let mut reader: Box<dyn Read> = match kind {
        FileKind::CsvGz => Box::new(flate2::read::GzDecoder::new(file)),
        _ => Box::new(file),
    };
    let read_error = |e: std::io::Error| match kind {
        FileKind::CsvGz => IngestError::Gzip {
            path: path.into(),
            message: e.to_string(),
        },
        _ => IngestError::Io {
            path: path.into(),
            source: e,
        },
    };
    let mut prefix = Vec::with_capacity(64 * 1024);
    Read::by_ref(&mut reader)
        .take(64 * 1024)
        .read_to_end(&mut prefix)
        .map_err(read_error)?;
    check_text(path, kind, &prefix)?;
    let reader = std::io::Cursor::new(prefix).chain(reader);
    let mut head = Vec::with_capacity(64 * 1024);
    let mut buffered = BufReader::new(reader);
    let mut lines = 0usize;
    let mut non_empty = 0usize;
    loop {
        let mut line = Vec::new();
        let n = buffered.read_until(b'\n', &mut line).map_err(read_error)?;
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
    let sep = separator::detect(bom_free);
    let cerr = |e: PolarsError| IngestError::Csv {
        path: path.into(),
        message: diagnose_csv(read_path, kind, sep).unwrap_or_else(|| clean_polars_message(&e)),
    };
    let header_line = bom_free
        .split_inclusive(|b| *b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(bom_free);
    // A header alone: only its names are parsed (the caller decides what an empty file means).
    let text_to_parse: &[u8] = if non_empty < 2 { header_line } else { bom_free };
    let cursor = std::io::Cursor::new(text_to_parse.to_vec());
    let sample = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(
            CsvParseOptions::default()
                .with_separator(sep)
                .with_quote_char(separator::quote_char(sep))
                .with_null_values(null_values(sep))
                .with_truncate_ragged_lines(false),
        )
        .into_reader_with_file_handle(cursor)
        .finish()
        .map_err(cerr)?;
    let schema = sample.schema().as_ref().clone();
    // Markers seen as whole (unquoted) fields of the data lines read as the sample.
    let markers = null_markers(sep);
    let mut null_seen: Vec<&'static str> = Vec::new();
    for record in separator::records(bom_free, sep, usize::MAX).iter().skip(1) {
        for field in record {
            if let Some(&m) = markers.iter().find(|m| m.as_bytes() == *field)
                && !null_seen.contains(&m)
            {
                null_seen.push(m);
            }
        }
    }
    Ok(Head {
        schema,
        sample,
        null_markers_seen: null_seen,
        separator: sep,
        header: header_line.to_vec(),
    })
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
    let pl_path = PlRefPath::try_from_path(file.read_path()).map_err(|e| IngestError::Io {
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
        FileKind::Csv | FileKind::CsvGz | FileKind::CsvZip => {
            let schema: Schema = file
                .schema
                .iter_names()
                .map(|n| Field::new(n.clone(), DataType::String))
                .collect();
            LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_separator(file.separator)
                .with_quote_char(separator::quote_char(file.separator))
                .with_schema(Some(Arc::new(schema)))
                .with_null_values(null_values(file.separator))
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

/// Explains a delimited text file the reader rejected: the first record whose field count
/// differs from the header's, or a quoted field left open at the end of the file. Reads the
/// file itself (quote-aware), so it only runs on the error path. When `sep` leaves the header
/// in one field and another separator splits it into records of unequal length, the message
/// says so and names the first such record.
pub(crate) fn diagnose_csv(path: &Path, kind: FileKind, sep: u8) -> Option<String> {
    let file = File::open(path).ok()?;
    let reader: Box<dyn Read> = match kind {
        FileKind::CsvGz => Box::new(flate2::read::GzDecoder::new(file)),
        _ => Box::new(file),
    };
    let mut bytes = Vec::new();
    BufReader::new(reader).read_to_end(&mut bytes).ok()?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    if let Some((other, n)) = separator::seems_to_use(bytes, sep)
        && let Some(there) = diagnose_text(bytes, other)
    {
        return Some(format!(
            "the header has 1 field at {}; the file seems to use {} as separator (the header splits into {n} fields at it): {there}",
            separator::name(sep),
            separator::name(other)
        ));
    }
    diagnose_text(bytes, sep)
}

/// [`diagnose_csv`] on the file's text at one separator.
fn diagnose_text(bytes: &[u8], sep: u8) -> Option<String> {
    let quote = separator::quote_char(sep);
    let shown = match sep {
        b',' => "comma".to_string(),
        _ => separator::name(sep).to_string(),
    };
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
            _ if Some(b) == quote => {
                if in_quotes && bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = !in_quotes;
                    if in_quotes {
                        quote_line = line;
                    }
                }
            }
            _ if b == sep && !in_quotes => fields += 1,
            b'\n' => {
                line += 1;
                if !in_quotes {
                    let blank = i == 0 || bytes[i - 1] == b'\n';
                    if !blank {
                        match header_fields {
                            None => header_fields = Some(fields),
                            Some(h) if h != fields => {
                                return Some(format!(
                                    "row {record} (line {record_line}) has {fields} fields but the header has {h}; check for an unquoted {shown} or a missing value"
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
            "row {record} (line {record_line}) has {fields} fields but the header has {h}; check for an unquoted {shown} or a missing value"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wide_encodings_and_cr_line_ends_with_a_command() {
        let p = Path::new("dir/it's.csv.gz");
        let text = b"a,b\r1,2\r3,4\r";
        let e = check_text(p, FileKind::CsvGz, text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("carriage return alone"), "{e}");
        assert!(
            e.contains(r"`gunzip -c 'dir/it'\''s.csv.gz' | tr '\r' '\n' > 'dir/it'\''s.lf.csv'`"),
            "{e}"
        );
        // CRLF and a header ending in a lone CR without data are not CR-only files.
        assert!(check_text(p, FileKind::Csv, b"a,b\r\n1,2\r\n").is_ok());
        assert!(check_text(p, FileKind::Csv, b"a,b\r").is_ok());
        let le: Vec<u8> = "a,b\n1,2\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "a,b\n1,2\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let plain = Path::new("x.csv");
        let e = check_text(plain, FileKind::Csv, &le)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("UTF-16 (little-endian, no byte-order mark)"),
            "{e}"
        );
        assert!(
            e.contains("`iconv -f UTF-16LE -t UTF-8 < x.csv > x.utf8.csv`"),
            "{e}"
        );
        let e = check_text(plain, FileKind::Csv, &be)
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-16BE"), "{e}");
        let bom = [&[0xFF, 0xFE][..], &le].concat();
        let e = check_text(plain, FileKind::CsvZip, &bom)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`unzip -p x.csv | iconv -f UTF-16 -t UTF-8 > x.utf8.csv`"),
            "{e}"
        );
        // UTF-8 with accents or a BOM is fine.
        assert!(check_text(plain, FileKind::Csv, "\u{feff}a,é\n1,2\n".as_bytes()).is_ok());
    }

    #[test]
    fn recognises_json_text() {
        assert!(looks_like_json(b"  {\"a\": 1}"));
        assert!(looks_like_json(b"\xef\xbb\xbf[\n  {\"a\": 1}]"));
        assert!(looks_like_json(b"[]"));
        assert!(!looks_like_json(b"[a],b\n1,2\n"));
        assert!(!looks_like_json(b"BilledCost,ServiceName\n"));
    }

    #[test]
    fn catches_a_panic_quietly_and_keeps_its_message() {
        let r: Result<(), String> = catch_quietly(|| panic!("range end index 9 out of range"));
        assert_eq!(r.unwrap_err(), "range end index 9 out of range");
        assert_eq!(catch_quietly(|| 7).unwrap(), 7);
    }

    fn diagnose(text: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, text).unwrap();
        diagnose_csv(&p, FileKind::Csv, b',')
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
