//! Reading input files and what capplan says about them (issue 13, "misleading or blocking
//! errors" and hostile inputs 3 and 9): zipped CSV, JSON, header-only files in a folder,
//! Parquet files cut short, FIFOs and devices, CR-only line endings, UTF-16, a closed stdout,
//! symlink loops, the span `inspect` shows for tidy tables and the advice of `backtest` on a
//! short history. Every input is written here, in the formats' documented structure.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Output;

use crate::common::{run_in as run, stderr_of as stderr};

/// A failed run: exit 2, one `error:` line naming `file`, and no panic text.
fn bad_input(o: &Output, file: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(file), "{err}");
    for forbidden in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!err.contains(forbidden), "{err}");
    }
    err
}

fn inspect_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["inspect", "--format", "json"];
    all.extend_from_slice(args);
    let o = run(dir, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn finding<'a>(v: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}

const FOCUS_HEADER: &str = "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,\
ChargeCategory,ServiceName,ServiceCategory,RegionId,ConsumedQuantity,ConsumedUnit,ListCost,\
BilledCost,EffectiveCost,ProviderName";

/// A FOCUS export of `hours` hourly EC2 rows starting at `day` (YYYY-MM-DD), LF line ends.
fn focus_csv(day: &str, hours: u32) -> String {
    let mut csv = format!("{FOCUS_HEADER}\n");
    for h in 0..hours {
        let (d0, h0) = (h / 24, h % 24);
        let (d1, h1) = ((h + 1) / 24, (h + 1) % 24);
        let date = |d: u32| {
            let base: u32 = day[8..].parse().unwrap();
            format!("{}{:02}", &day[..8], base + d)
        };
        let _ = writeln!(
            csv,
            "123456789012,USD,{}T{h0:02}:00:00Z,{}T{h1:02}:00:00Z,Usage,Amazon Elastic Compute Cloud,\
             Compute,us-east-1,2,Hours,0.0832,0.0832,0.0832,AWS",
            date(d0),
            date(d1)
        );
    }
    csv
}

fn rows(v: &serde_json::Value) -> u64 {
    v["rows"].as_u64().unwrap()
}

// ------------------------------------------------------------------ 1. zip and JSON

fn write_zip(path: &Path, members: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn zipped_csv_reads_like_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = focus_csv("2024-09-01", 30);
    fs::write(dir.path().join("export.csv"), &csv).unwrap();
    // How AWS delivers legacy CUR: one CSV in a zip (a folder entry and macOS metadata too).
    write_zip(
        &dir.path().join("export-1.csv.zip"),
        &[
            ("__MACOSX/._export-1.csv", b"\x00\x05\x16\x07"),
            ("export-1.csv", csv.as_bytes()),
        ],
    );
    let plain = inspect_json(dir.path(), &["export.csv"]);
    let zipped = inspect_json(dir.path(), &["export-1.csv.zip"]);
    assert_eq!(zipped["files"][0]["kind"], "csv_zip");
    for key in ["rows", "start", "end", "granularity", "reconciliation"] {
        assert_eq!(plain[key], zipped[key], "{key}");
    }
    assert_eq!(rows(&zipped), 30);

    // In a folder the zip is found like any export.
    let folder = dir.path().join("cur");
    fs::create_dir(&folder).unwrap();
    fs::rename(
        dir.path().join("export-1.csv.zip"),
        folder.join("export-1.csv.zip"),
    )
    .unwrap();
    assert_eq!(rows(&inspect_json(dir.path(), &["cur"])), 30);

    // A zip that does not hold exactly one CSV says what it holds and how to unzip it.
    write_zip(
        &dir.path().join("two.csv.zip"),
        &[("a.csv", csv.as_bytes()), ("b.csv", csv.as_bytes())],
    );
    let err = bad_input(&run(dir.path(), &["inspect", "two.csv.zip"]), "two.csv.zip");
    assert!(err.contains("2 CSV files (a.csv, b.csv)"), "{err}");
    assert!(err.contains("`unzip two.csv.zip -d exports`"), "{err}");
    // An Excel workbook is a zip too: named by its extension or by what the zip holds.
    for name in ["bill.xlsx", "bill.zip"] {
        write_zip(
            &dir.path().join(name),
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("xl/workbook.xml", b"<workbook/>"),
            ],
        );
        let err = bad_input(&run(dir.path(), &["inspect", name]), name);
        assert!(
            err.contains("an Excel workbook is not a supported input format"),
            "{err}"
        );
        assert!(err.contains("save the sheet as CSV"), "{err}");
        assert!(!err.contains("not valid UTF-8"), "{err}");
    }
}

#[test]
fn json_is_named_as_an_unsupported_format() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("costs.json"),
        "[{\"BilledCost\": 1.5, \"ServiceName\": \"EC2\"}]\n",
    )
    .unwrap();
    // JSON lines under a .csv name are recognised by content.
    fs::write(
        dir.path().join("misnamed.csv"),
        "{\"BilledCost\": 1.5}\n{\"BilledCost\": 2}\n",
    )
    .unwrap();
    for file in ["costs.json", "misnamed.csv"] {
        let err = bad_input(&run(dir.path(), &["inspect", file]), file);
        assert!(
            err.contains("JSON is not a supported input format"),
            "{err}"
        );
        assert!(err.contains("CSV or Parquet"), "{err}");
        assert!(
            !err.contains("fields") && !err.contains("no data rows"),
            "{err}"
        );
    }
}

// ------------------------------------------------------------------ 2. empty months

#[test]
fn header_only_file_in_a_folder_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    for (month, body) in [
        ("2024-09", focus_csv("2024-09-01", 24)),
        ("2024-10", format!("{FOCUS_HEADER}\n")),
        ("2024-11", focus_csv("2024-11-01", 24)),
    ] {
        let d = root.join(format!("month={month}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("focus.csv"), body).unwrap();
    }
    let v = inspect_json(dir.path(), &["exports"]);
    assert_eq!(rows(&v), 48);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    let f = finding(&v, "empty_files").expect("an empty_files finding");
    assert_eq!(f["count"], 1);
    assert!(
        f["message"].as_str().unwrap().contains("month=2024-10"),
        "{f}"
    );
    // `ingest` reads the folder too.
    let o = run(
        dir.path(),
        &["ingest", "exports", "--out", "series.csv", "--by", "month"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("1 empty file(s)"), "{stdout}");

    // A folder of only empty files is an error that names them.
    let empty = dir.path().join("empty");
    for month in ["2024-09", "2024-10"] {
        let d = empty.join(format!("month={month}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("focus.csv"), format!("{FOCUS_HEADER}\n")).unwrap();
    }
    let err = bad_input(&run(dir.path(), &["inspect", "empty"]), "month=2024-09");
    assert!(
        err.contains("all 2 input files have a header but no data rows"),
        "{err}"
    );
    // One header-only file alone is still the plain error.
    let one = empty.join("month=2024-09").join("focus.csv");
    let err = bad_input(
        &run(dir.path(), &["inspect", one.to_str().unwrap()]),
        "focus.csv",
    );
    assert!(err.contains("header but no data rows"), "{err}");
}

// ------------------------------------------------------------------ 3. Parquet cut short

fn demo_parquet() -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/focus.parquet")).unwrap()
}

/// The first `keep` bytes of a Parquet file with its footer (metadata, length, magic)
/// re-appended: what an interrupted copy "repaired" by a careless tool looks like.
fn cut_with_footer(bytes: &[u8], keep: usize) -> Vec<u8> {
    let n = bytes.len();
    assert_eq!(&bytes[n - 4..], b"PAR1");
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let mut out = bytes[..keep].to_vec();
    out.extend_from_slice(&bytes[n - 8 - footer..]);
    out
}

#[test]
fn parquet_cut_mid_data_with_its_footer_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = demo_parquet();
    for (name, keep) in [
        ("cut_early.parquet", 1000),
        ("cut_half.parquet", bytes.len() / 2),
    ] {
        fs::write(dir.path().join(name), cut_with_footer(&bytes, keep)).unwrap();
        let o = run(dir.path(), &["inspect", name]);
        let err = bad_input(&o, name);
        assert!(err.contains("the file is corrupt"), "{err}");
        assert!(err.contains("export or copy it again"), "{err}");
        assert_eq!(err.lines().count(), 1, "only the error line: {err}");
    }
}

// ------------------------------------------------------------------ 4. hostile 9 messages

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_not_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe.csv"))
        .status()
        .unwrap();
    assert!(status.success());
    let err = bad_input(&run(dir.path(), &["inspect", "pipe.csv"]), "pipe.csv");
    assert!(
        err.contains("not a regular file but a named pipe (FIFO)"),
        "{err}"
    );
    assert!(!err.contains("no such file"), "{err}");
    if Path::new("/dev/zero").exists() {
        let err = bad_input(&run(dir.path(), &["inspect", "/dev/zero"]), "/dev/zero");
        assert!(
            err.contains("not a regular file but a character device"),
            "{err}"
        );
    }
    // In a folder too (a FIFO is never opened: it would block).
    let folder = dir.path().join("exports");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("a.csv"), focus_csv("2024-09-01", 2)).unwrap();
    fs::rename(dir.path().join("pipe.csv"), folder.join("pipe.csv")).unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "exports"]), "pipe.csv");
    assert!(err.contains("named pipe"), "{err}");
}

/// The command between the last pair of backticks of a message.
fn backticked(err: &str) -> String {
    let end = err.rfind('`').unwrap();
    let start = err[..end].rfind('`').unwrap();
    err[start + 1..end].to_string()
}

fn sh(dir: &Path, command: &str) {
    let status = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "{command}");
}

#[test]
fn cr_only_line_endings_are_named_with_the_conversion_command() {
    let dir = tempfile::tempdir().unwrap();
    let csv = focus_csv("2024-09-01", 5).replace('\n', "\r");
    fs::write(dir.path().join("mac.csv"), csv).unwrap();
    let err = bad_input(&run(dir.path(), &["inspect", "mac.csv"]), "mac.csv");
    assert!(err.contains("carriage return alone"), "{err}");
    assert!(!err.contains("no data rows"), "{err}");
    let command = backticked(&err);
    assert_eq!(command, r"tr '\r' '\n' < mac.csv > mac.lf.csv");
    if cfg!(unix) {
        sh(dir.path(), &command);
        assert_eq!(rows(&inspect_json(dir.path(), &["mac.lf.csv"])), 5);
    }
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom
        .then_some(0xFEFFu16)
        .into_iter()
        .chain(text.encode_utf16());
    for u in units {
        out.extend_from_slice(&if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

#[test]
fn utf16_is_named_with_the_exact_iconv_command() {
    let dir = tempfile::tempdir().unwrap();
    let csv = focus_csv("2024-09-01", 3);
    let iconv = std::process::Command::new("iconv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for (name, be, bom, encoding) in [
        (
            "le.csv",
            false,
            true,
            "UTF-16 (little-endian, byte-order mark FF FE)",
        ),
        (
            "be.csv",
            true,
            true,
            "UTF-16 (big-endian, byte-order mark FE FF)",
        ),
        (
            "nobom.csv",
            false,
            false,
            "UTF-16 (little-endian, no byte-order mark)",
        ),
    ] {
        fs::write(dir.path().join(name), utf16(&csv, be, bom)).unwrap();
        let err = bad_input(&run(dir.path(), &["inspect", name]), name);
        assert!(err.contains(encoding), "{err}");
        assert!(!err.contains("latin1"), "{err}");
        let command = backticked(&err);
        assert!(command.starts_with("iconv -f UTF-16"), "{command}");
        if iconv && cfg!(unix) {
            sh(dir.path(), &command);
            let converted = name.replace(".csv", ".utf8.csv");
            assert!(command.ends_with(&converted), "{command}");
            assert_eq!(rows(&inspect_json(dir.path(), &[&converted])), 3);
        }
    }
}

#[test]
fn closed_stdout_is_success_without_a_message() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("focus.csv"), focus_csv("2024-09-01", 48)).unwrap();
    for args in [
        &["inspect", "--format", "json", "focus.csv"][..],
        &["inspect", "focus.csv"],
        &["ingest", "focus.csv", "--out", "series.csv"],
    ] {
        // The reading end is closed before capplan starts: its first write gets EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("capplan"))
            .current_dir(dir.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // The command still did its work.
    assert!(dir.path().join("series.csv").is_file());
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("a.csv"), focus_csv("2024-09-01", 10)).unwrap();
    // A link to the folder itself, one to its parent (which holds it), one file linked twice.
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();
    std::os::unix::fs::symlink("..", root.join("up")).unwrap();
    std::os::unix::fs::symlink("a.csv", root.join("same.csv")).unwrap();
    let v = inspect_json(dir.path(), &["exports"]);
    assert_eq!(rows(&v), 10);
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    let f = finding(&v, "links_not_followed").expect("links_not_followed");
    assert_eq!(f["count"], 2, "{f}");
    let f = finding(&v, "read_once").expect("read_once");
    assert!(f["message"].as_str().unwrap().contains("same.csv"), "{f}");
}

// ------------------------------------------------------------------ 5. tidy span

#[test]
fn inspect_shows_the_span_of_tidy_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut daily = String::from("date,service,quantity\n");
    for d in 0..10 {
        let _ = writeln!(daily, "2024-09-{:02},compute,{}", d + 1, 100 + d);
    }
    fs::write(dir.path().join("daily.csv"), daily).unwrap();
    let tidy = ["--input-format", "tidy", "--time-col", "date"];
    let mut args = vec!["daily.csv"];
    args.extend_from_slice(&tidy);
    let v = inspect_json(dir.path(), &args);
    assert_eq!(v["start"], "2024-09-01T00:00:00Z");
    assert_eq!(v["end"], "2024-09-11T00:00:00Z");
    assert_eq!(v["granularity"], "day");
    let f = finding(&v, "period_end_assumed").expect("period_end_assumed");
    assert_eq!(f["count"], 10);
    let mut table = vec!["inspect"];
    table.extend_from_slice(&args);
    let o = run(dir.path(), &table);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Time span (UTC): 2024-09-01 00:00 .. 2024-09-11 00:00"),
        "{out}"
    );
    assert!(!out.contains("no timestamps"), "{out}");
}

// ------------------------------------------------------------------ 6. backtest advice

#[test]
fn backtest_advice_on_a_short_history_names_flags_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("date,service,quantity\n");
    for d in 0..54u32 {
        let day =
            chrono::NaiveDate::from_ymd_opt(2024, 9, 1).unwrap() + chrono::Days::new(d.into());
        let weekly = [0.0, 4.0, 6.0, 5.0, 3.0, -8.0, -10.0][(d % 7) as usize];
        let _ = writeln!(
            csv,
            "{day},compute,{:.1}",
            100.0 + weekly + 0.3 * f64::from(d)
        );
    }
    fs::write(dir.path().join("d54.csv"), csv).unwrap();
    let base = [
        "backtest",
        "d54.csv",
        "--input-format",
        "tidy",
        "--time-col",
        "date",
    ];
    let err = bad_input(&run(dir.path(), &base), "service=compute");
    assert!(err.contains("no window can be scored"), "{err}");
    // Every suggestion is `flags` (N windows scored); each must work and score N windows.
    let suggestions: Vec<(String, usize)> = err
        .split('`')
        .skip(1)
        .step_by(2)
        .zip(err.split('`').skip(2).step_by(2))
        .map(|(flags, after)| {
            let n = after
                .trim_start_matches(" (")
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (flags.to_string(), n)
        })
        .collect();
    let flags: Vec<&str> = suggestions.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(flags, ["--step 1d", "--min-calibration-windows 4"], "{err}");
    for (flags, scored) in &suggestions {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(flags.split_whitespace());
        let o = run(dir.path(), &args);
        assert!(o.status.success(), "{flags}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let auto = out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("auto"))
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(
            auto.split_whitespace().nth(2),
            Some(scored.to_string().as_str()),
            "{flags}: {auto}"
        );
    }
}
