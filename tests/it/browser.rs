//! The committed demo report in headless Chromium: it renders with every section, the page
//! logs nothing to the console (no error, no blocked fetch), no request leaves the file, and
//! a screenshot is captured (`$CARGO_TARGET_TMPDIR/demo-report.png`).
//!
//! Runs when Chromium is found (`chromium` / `chromium-browser` on PATH, or the binary named
//! by `CAPPLAN_CHROMIUM`). `.ci/run` installs Debian's `chromium` and sets
//! `CAPPLAN_BROWSER_TEST=1`, under which a missing browser is a failure, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAPPLAN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CAPPLAN_BROWSER_TEST").is_none(),
            "CAPPLAN_BROWSER_TEST is set but no Chromium was found (install Debian's chromium or set CAPPLAN_CHROMIUM)"
        );
        eprintln!("skipped: no Chromium on PATH (set CAPPLAN_BROWSER_TEST=1 to require it)");
    }
    found
}

fn headless(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

const REPORT: &str = "reports/demo/northwind-FY2027-Q2.html";

#[test]
fn demo_report_renders_offline_without_console_messages() {
    let Some(bin) = browser() else { return };
    let report = Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT);
    assert!(
        report.exists(),
        "{} missing: run `cargo run -- demo`",
        report.display()
    );
    let url = format!("file://{}", report.display());
    let tmp = tempfile::tempdir().unwrap();

    // 1. Rendered DOM, console and network log.
    let netlog = tmp.path().join("net.json");
    let out = headless(&bin, &tmp.path().join("p1"))
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    let dom = String::from_utf8_lossy(&out.stdout);
    for id in [
        "summary",
        "quarterly-plan",
        "scenarios",
        "recommendations",
        "forecasts",
        "anomalies",
        "data-quality",
        "method",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id} not rendered"
        );
    }
    for heading in ["Executive summary", "Quarterly plan", "Scenario matrix"] {
        assert!(dom.contains(heading), "{heading}");
    }
    assert!(dom.matches("<svg").count() >= 8, "charts rendered inline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // No request initiated by the page (its network isolation key is the file:// site)
    // goes anywhere but the file itself. The browser's own background traffic has other keys.
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&netlog).expect("net log written")).unwrap();
    let mut page_requests = Vec::new();
    for e in log["events"].as_array().unwrap() {
        let p = &e["params"];
        if let (Some(u), Some(k)) = (p["url"].as_str(), p["network_isolation_key"].as_str())
            && k.starts_with("file://")
        {
            page_requests.push(u.to_string());
        }
    }
    let leaving: Vec<&String> = page_requests
        .iter()
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:"))
        .collect();
    assert!(leaving.is_empty(), "requests leaving the file: {leaving:?}");

    // 2. Screenshot of the top of the report.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-report.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(&bin, &tmp.path().join("p2"))
        .arg("--window-size=1280,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 50_000, "screenshot is {} bytes", png.len());
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn a_blocked_external_fetch_would_be_caught() {
    // The checks above can fail: a page like the report (same Content-Security-Policy) that
    // tries to load an image from the network logs a console message.
    let Some(bin) = browser() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let report = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT))
        .expect("demo report");
    let bad = report.replacen(
        "<main>",
        "<main><img src=\"http://example.invalid/pixel.png\" alt=\"\">",
        1,
    );
    let page = tmp.path().join("bad.html");
    std::fs::write(&page, bad).unwrap();
    let out = headless(&bin, &tmp.path().join("p"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(":CONSOLE") && l.contains("Content Security Policy")),
        "expected a CSP console message, got: {stderr}"
    );
}
