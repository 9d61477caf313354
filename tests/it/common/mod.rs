//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod public_series;

use std::path::{Path, PathBuf};

/// The folder `CAPPLAN_SHARED_DATA` points at, or `None` when the real-data tests are off.
/// When it is set it must exist: a wrong path is a failure, not a skip.
pub fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CAPPLAN_SHARED_DATA")?);
    assert!(
        dir.is_dir(),
        "CAPPLAN_SHARED_DATA={} is not a directory",
        dir.display()
    );
    Some(dir)
}

/// `dir/rel`, which must exist (CAPPLAN_SHARED_DATA is set, so a missing file fails).
pub fn shared_file(dir: &Path, rel: &str) -> PathBuf {
    let p = dir.join(rel);
    assert!(
        p.is_file(),
        "shared data file missing: {} (CAPPLAN_SHARED_DATA is set, so this is a failure)",
        p.display()
    );
    p
}

/// Runs the `capplan` binary in `dir` with `args`, without backtraces or colours.
pub fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("capplan")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A run's standard error as text.
pub fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// SplitMix64: deterministic test instances without a dependency.
pub struct Rng(pub u64);

impl Rng {
    /// The next raw value.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// The next value in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// The next value in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
