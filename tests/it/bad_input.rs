//! Bad-input corpus: runs every case of `tests/bad_input/cases.toml` against the
//! `capplan` binary and reports all failures at once.
//!
//! Run a single case with `BAD_INPUT_CASE=<name> cargo test --test bad_input`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde::Deserialize;

/// The manifest must keep at least this many cases.
const MIN_CASES: usize = 30;
/// A case that runs longer than this is reported as hung.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);
/// No run may print these on stderr, whatever the case expects.
const ALWAYS_FORBIDDEN: &[&str] = &["panicked", "RUST_BACKTRACE"];
/// How much of stderr/stdout goes into a failure report.
const REPORT_STDERR_CHARS: usize = 3000;
const REPORT_STDOUT_CHARS: usize = 600;
/// Generators implemented in [`generate`].
const GENERATORS: &[&str] = &[
    "long_service_name",
    "service_name_4096",
    "parquet_bad_footer",
    "parquet_huge_footer",
    "empty_dir",
    "dir_without_data",
    "random_bytes_csv",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    args: Vec<String>,
    exit: i32,
    #[serde(default)]
    stderr_contains: Vec<String>,
    #[serde(default)]
    stderr_not_contains: Vec<String>,
    #[serde(default)]
    generate: Option<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("bad_input")
}

fn load_manifest(dir: &Path) -> Manifest {
    let path = dir.join("cases.toml");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

#[test]
fn bad_input_corpus() {
    let dir = corpus_dir();
    let manifest = load_manifest(&dir);
    let manifest_problems = check_manifest(&dir, &manifest);

    let only = std::env::var("BAD_INPUT_CASE").ok();
    let mut ran = 0usize;
    let mut failures = Vec::new();
    for case in &manifest.case {
        if only.as_deref().is_some_and(|name| name != case.name) {
            continue;
        }
        ran += 1;
        if let Err(report) = run_case(&dir, case) {
            failures.push(report);
        }
    }
    if let Some(name) = &only {
        assert!(ran > 0, "BAD_INPUT_CASE={name} matches no case");
    }

    if manifest_problems.is_empty() && failures.is_empty() {
        return;
    }
    let mut msg = String::new();
    if !manifest_problems.is_empty() {
        let _ = writeln!(msg, "\ncases.toml problems:");
        for problem in &manifest_problems {
            let _ = writeln!(msg, "  - {problem}");
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(msg, "\n{} of {ran} case(s) failed:", failures.len());
        for failure in &failures {
            msg.push_str(failure);
        }
    }
    panic!("{msg}");
}

/// Structural checks on the manifest and the corpus directory.
fn check_manifest(dir: &Path, manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let cases = &manifest.case;
    if cases.len() < MIN_CASES {
        problems.push(format!(
            "only {} cases, at least {MIN_CASES} are required",
            cases.len()
        ));
    }

    let mut names = BTreeSet::new();
    for case in cases {
        if !names.insert(case.name.as_str()) {
            problems.push(format!("case name `{}` is used twice", case.name));
        }
        if case.args.is_empty() {
            problems.push(format!("case `{}` has no args", case.name));
        }
        if let Some(generator) = &case.generate
            && !GENERATORS.contains(&generator.as_str())
        {
            problems.push(format!(
                "case `{}` uses unknown generator `{generator}`",
                case.name
            ));
        }
        let expects_missing = case
            .stderr_contains
            .iter()
            .any(|s| s.to_lowercase().contains("no such file"));
        for arg in &case.args {
            let Some(rel) = arg.strip_prefix("{dir}/") else {
                continue;
            };
            let is_glob = rel.contains(['*', '?', '[']);
            if !is_glob && !expects_missing && !dir.join(rel).exists() {
                problems.push(format!(
                    "case `{}` refers to {{dir}}/{rel}, which does not exist",
                    case.name
                ));
            }
        }
    }

    let referenced: BTreeSet<&str> = cases
        .iter()
        .flat_map(|case| case.args.iter())
        .filter_map(|arg| arg.strip_prefix("{dir}/"))
        .collect();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(format!("cannot list {}: {e}", dir.display()));
            return problems;
        }
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "cases.toml")
        .collect();
    files.sort();
    for file in &files {
        let bytes = file.as_bytes();
        let well_named = bytes.len() > 3
            && bytes[0].is_ascii_digit()
            && bytes[1].is_ascii_digit()
            && bytes[2] == b'_';
        if !well_named {
            problems.push(format!(
                "corpus file `{file}` is not named NN_short_name.ext"
            ));
        }
        if !referenced.contains(file.as_str()) {
            problems.push(format!(
                "corpus file `{file}` is not used by any case (orphan)"
            ));
        }
    }
    problems
}

fn expand(arg: &str, dir: &Path, tmp: &Path) -> String {
    arg.replace("{dir}", &dir.to_string_lossy())
        .replace("{tmp}", &tmp.to_string_lossy())
}

/// Runs one case; on failure returns a readable report.
fn run_case(dir: &Path, case: &Case) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| header(case, &[], &format!("tempdir: {e}")))?;
    let args: Vec<String> = case
        .args
        .iter()
        .map(|arg| expand(arg, dir, tmp.path()))
        .collect();
    if let Some(generator) = &case.generate {
        generate(generator, tmp.path()).map_err(|e| header(case, &args, &e))?;
    }

    let mut cmd = Command::cargo_bin("capplan").map_err(|e| header(case, &args, &e.to_string()))?;
    cmd.args(&args)
        .current_dir(tmp.path())
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("NO_COLOR", "1")
        .timeout(CASE_TIMEOUT);
    let output = cmd
        .output()
        .map_err(|e| header(case, &args, &format!("could not run capplan: {e}")))?;

    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr_lower = stderr.to_lowercase();
    let code = output.status.code();
    let mut problems = Vec::new();

    match code {
        Some(code) if code == case.exit => {}
        Some(code) => problems.push(format!("exit code {code}, expected {}", case.exit)),
        None => problems.push(format!(
            "no exit code: killed by a signal or hung past {}s",
            CASE_TIMEOUT.as_secs()
        )),
    }
    for needle in &case.stderr_contains {
        if !stderr_lower.contains(&needle.to_lowercase()) {
            problems.push(format!("stderr does not contain {needle:?}"));
        }
    }
    let forbidden = case
        .stderr_not_contains
        .iter()
        .map(String::as_str)
        .chain(ALWAYS_FORBIDDEN.iter().copied());
    for needle in forbidden {
        if stderr_lower.contains(&needle.to_lowercase()) {
            problems.push(format!("stderr contains forbidden {needle:?}"));
        }
    }
    let failed = code != Some(0);
    if case.exit != 0 && failed && !stderr.lines().any(|line| line.starts_with("error:")) {
        problems.push("no stderr line starts with `error:`".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }

    let code_text = code.map_or_else(|| "none".to_string(), |c| c.to_string());
    let mut report = header(case, &args, &problems.join("\n      - "));
    let _ = writeln!(report, "    actual exit: {code_text}");
    let _ = writeln!(report, "    stderr:");
    for line in truncate(&stderr, REPORT_STDERR_CHARS).lines() {
        let _ = writeln!(report, "      | {line}");
    }
    if !stdout.trim().is_empty() {
        let _ = writeln!(report, "    stdout:");
        for line in truncate(&stdout, REPORT_STDOUT_CHARS).lines() {
            let _ = writeln!(report, "      | {line}");
        }
    }
    Err(report)
}

fn header(case: &Case, args: &[String], problem: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n--- case `{}`", case.name);
    let _ = writeln!(out, "    args: capplan {}", args.join(" "));
    let _ = write!(out, "    expected: exit {}", case.exit);
    if !case.stderr_contains.is_empty() {
        let _ = write!(out, ", stderr containing {:?}", case.stderr_contains);
    }
    if !case.stderr_not_contains.is_empty() {
        let _ = write!(out, ", not containing {:?}", case.stderr_not_contains);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "    problems:\n      - {problem}");
    out
}

fn truncate(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push_str("\n[... truncated ...]");
    }
    out
}

// ---------------------------------------------------------------- generators

const FOCUS_HEADER: &str = "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,\
ChargeCategory,ServiceName,ServiceCategory,RegionId,ConsumedQuantity,ConsumedUnit,ListCost,\
BilledCost,EffectiveCost,ProviderName";

/// A small FOCUS file whose second data row has `service` as its ServiceName.
fn focus_csv_with_service(service: &str) -> String {
    let mut csv = format!("{FOCUS_HEADER}\n");
    for (hour, svc) in [(0u32, "Amazon Elastic Compute Cloud"), (1, service)] {
        let _ = writeln!(
            csv,
            "123456789012,USD,2024-09-18T{hour:02}:00:00Z,2024-09-18T{:02}:00:00Z,Usage,{svc},\
             Compute,us-east-1,1,Hours,0.0416,0.0416,0.0416,AWS",
            hour + 1
        );
    }
    csv
}

/// Writes the inputs of generator `name` into `tmp` (paths listed in cases.toml).
fn generate(name: &str, tmp: &Path) -> Result<(), String> {
    let result = match name {
        "long_service_name" => fs::write(
            tmp.join("long_service_name.csv"),
            focus_csv_with_service(&"x".repeat(5000)),
        ),
        "service_name_4096" => fs::write(
            tmp.join("service_name_4096.csv"),
            focus_csv_with_service(&"s".repeat(4096)),
        ),
        "parquet_bad_footer" => {
            let footer: &[u8] = b"\x19\x1c\x15\xff\xff\xff\x0fnot thrift file metadata";
            let mut bytes = b"PAR1".to_vec();
            bytes.extend_from_slice(&[0xAB; 64]);
            bytes.extend_from_slice(footer);
            let len = u32::try_from(footer.len()).expect("small footer");
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(b"PAR1");
            fs::write(tmp.join("bad_footer.parquet"), bytes)
        }
        "parquet_huge_footer" => {
            let mut bytes = b"PAR1".to_vec();
            bytes.extend_from_slice(&[0u8; 16]);
            bytes.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            bytes.extend_from_slice(b"PAR1");
            fs::write(tmp.join("huge_footer.parquet"), bytes)
        }
        "empty_dir" => fs::create_dir(tmp.join("empty_dir")),
        "dir_without_data" => {
            let docs = tmp.join("docs_only");
            fs::create_dir(&docs)
                .and_then(|()| fs::write(docs.join("README.txt"), "billing exports go here\n"))
                .and_then(|()| fs::write(docs.join("notes.json"), "{\"owner\": \"finops\"}\n"))
        }
        "random_bytes_csv" => {
            // Deterministic LCG so failures are reproducible.
            let mut state: u64 = 0x2545_F491_4F6C_DD1D;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    state.to_be_bytes()[0]
                })
                .collect();
            fs::write(tmp.join("random_bytes.csv"), bytes)
        }
        other => return Err(format!("unknown generator `{other}`")),
    };
    result.map_err(|e| format!("generator `{name}` failed: {e}"))
}
