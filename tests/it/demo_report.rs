//! The committed demo report (`reports/demo/`, written by `capplan demo`) is reproduced byte
//! for byte by regenerating it: the HTML, every CSV/JSON table (the golden files of the demo
//! run), the workbook and the index.

use std::path::Path;

use assert_cmd::Command;

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn regenerating_the_demo_report_reproduces_the_committed_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = root.join("reports/demo");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(root)
        .args(["demo", "--out"])
        .arg(&out)
        .assert()
        .success();
    let produced = listing(&out);
    assert!(produced.len() >= 18, "{produced:?}");
    assert_eq!(
        produced,
        listing(&committed),
        "reports/demo must hold exactly what `capplan demo` writes (regenerate it with `cargo run -- demo`)"
    );
    for name in &produced {
        let a = std::fs::read(out.join(name)).unwrap();
        let b = std::fs::read(committed.join(name)).unwrap();
        if a != b {
            let diff_at = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            let lo = diff_at.saturating_sub(80);
            panic!(
                "{name} differs at byte {diff_at}:\n  regenerated: {}\n  committed:   {}\nIf the change is intended, regenerate with `cargo run -- demo` and commit.",
                String::from_utf8_lossy(&a[lo..(diff_at + 80).min(a.len())]),
                String::from_utf8_lossy(&b[lo..(diff_at + 80).min(b.len())]),
            );
        }
    }
}
