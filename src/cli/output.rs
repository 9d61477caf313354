//! What the commands share on the output side: output file names (`out_ext`, sidecars), the
//! reconciliation and data-quality printers, and `Bar`, the one indicatif implementation of
//! the library's [`Progress`] (a bar on stderr when it is a terminal, nothing otherwise).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use capplan::ingest::{self, Reconciliation};
use capplan::progress::Progress;

use super::args::UsageError;

/// The extension of `--out` `path` (lower case) if it is one of `allowed`.
pub(crate) fn out_ext(path: &Path, allowed: &[&str]) -> Result<String, UsageError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if allowed.contains(&ext.as_str()) {
        Ok(ext)
    } else {
        Err(UsageError(format!(
            "--out {}: use a file name ending in .{}",
            path.display(),
            allowed.join(", .")
        )))
    }
}

/// `series.parquet` → `series.<suffix>` in the same directory.
pub(crate) fn sidecar(out: &std::path::Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "series".into());
    out.with_file_name(format!("{stem}.{suffix}"))
}

/// Prints the reconciliation table (every row used or excluded with a reason).
pub(crate) fn print_reconciliation(
    out: &mut impl Write,
    r: &Reconciliation,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Reconciliation (every row used or excluded with a reason):"
    )?;
    writeln!(
        out,
        "  {:<18} {:<8} {:>10} {:>22} {:>22}",
        "reason", "currency", "rows", "billed cost", "effective cost"
    )?;
    for t in &r.by_reason {
        writeln!(
            out,
            "  {:<18} {:<8} {:>10} {:>22} {:>22}",
            t.reason.code(),
            terminal_safe(&t.currency),
            t.totals.rows,
            t.totals.billed_cost.normalize().to_string(),
            t.totals.effective_cost.normalize().to_string()
        )?;
    }
    for ct in &r.source {
        let (cur, t) = (&ct.currency, &ct.totals);
        writeln!(
            out,
            "  {:<18} {:<8} {:>10} {:>22} {:>22}",
            "= source total",
            terminal_safe(cur),
            t.rows,
            t.billed_cost.normalize().to_string(),
            t.effective_cost.normalize().to_string()
        )?;
    }
    if r.unknown.is_empty() {
        writeln!(
            out,
            "  balanced: {}",
            if r.balanced { "yes (exact)" } else { "NO" }
        )?;
    } else {
        writeln!(
            out,
            "  balanced: NO (unknown: cost values that could not be read are not in the totals)"
        )?;
    }
    for u in &r.unknown {
        let rows: Vec<String> = u
            .first
            .iter()
            .map(|(file, row)| format!("{} row {row}", terminal_safe(file)))
            .collect();
        writeln!(
            out,
            "  unknown {}: {} row(s) with an unreadable `{}` value ({}{})",
            u.column,
            u.rows,
            terminal_safe(&u.source_column),
            rows.join(", "),
            if u.rows as usize > u.first.len() {
                ", …"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// Prints the data-quality findings.
pub(crate) fn print_findings(
    out: &mut impl Write,
    findings: &[ingest::Finding],
) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "Data quality: no findings");
    }
    writeln!(out, "Data quality:")?;
    for f in findings {
        let sev = match f.severity {
            ingest::Severity::Info => "info",
            ingest::Severity::Warning => "warn",
        };
        writeln!(out, "  [{sev}] {}", terminal_safe(&f.message))?;
    }
    Ok(())
}

/// Text from input made safe for a terminal: control characters (ESC, CR, newline, C1 codes,
/// …) and bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
/// U+061C) are shown as a visible escape such as `\u{1b}`, so a name can neither send the
/// terminal an escape sequence nor reorder or overwrite the line it is printed on. Ordinary
/// text is returned unchanged.
pub(crate) fn terminal_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{200E}'
                    | '\u{200F}'
                    | '\u{061C}'
            )
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` made [`terminal_safe`] and cut to `n` characters (the last one `…`).
pub(crate) fn truncate(s: &str, n: usize) -> String {
    let s = terminal_safe(s);
    if s.chars().count() <= n {
        s.into_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// `s` made terminal-safe and, when longer than `n` characters, elided in the middle with `…`
/// so that both its start and its distinguishing end stay visible.
pub(crate) fn elide_middle(s: &str, n: usize) -> String {
    let s = terminal_safe(s);
    let len = s.chars().count();
    if len <= n || n < 5 {
        return s.into_owned();
    }
    let tail = (n - 1) / 2;
    let head = n - 1 - tail;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[len - tail..]);
    out
}

/// A bar per progress stage on stderr when stderr is a terminal; nothing otherwise.
pub(crate) struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    template: &'static str,
}

impl Bar {
    /// Bars counting series (`forecast`, `backtest`, `plan`, `backtest-plan`).
    pub(crate) fn series() -> Bar {
        Bar::new("{msg} [{bar:30}] {pos}/{len} series, {elapsed} (eta {eta})")
    }

    /// Bars of the stages of a plan-file run (`report`, `demo`).
    pub(crate) fn stages() -> Bar {
        Bar::new("{msg:28} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
    }

    fn new(template: &'static str) -> Bar {
        Bar {
            bar: Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
            template,
        }
    }
}

impl Progress for Bar {
    fn start(&self, what: &str, total: usize) {
        if !self.enabled {
            return;
        }
        let mut g = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = g.take() {
            b.finish_and_clear();
        }
        let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(self.template) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_message(what.to_owned());
        *g = Some(b);
    }

    fn inc(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

/// Refuses outputs that are one of the command's inputs, compared after resolving relative
/// paths and links (`capplan ingest x.csv --out x.csv` would destroy the export it reads).
/// Outputs that do not exist yet cannot be inputs; inputs that cannot be resolved (globs)
/// are skipped here and checked again against the files actually read.
pub(crate) fn refuse_inputs_as_outputs<I, P>(inputs: I, outputs: &[&Path]) -> Result<(), UsageError>
where
    I: IntoIterator<Item = P>,
    P: AsRef<Path>,
{
    let outs: Vec<(PathBuf, &Path)> = outputs
        .iter()
        .filter_map(|o| std::fs::canonicalize(o).ok().map(|c| (c, *o)))
        .collect();
    if outs.is_empty() {
        return Ok(());
    }
    for input in inputs {
        let input = input.as_ref();
        let Ok(c) = std::fs::canonicalize(input) else {
            continue;
        };
        if let Some((_, o)) = outs.iter().find(|(oc, _)| *oc == c) {
            return Err(UsageError(format!(
                "the output {} is the input {}: writing it would destroy the input; choose another output path",
                o.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Standard output for a command's results. A closed pipe (`capplan inspect ... | head -1`)
/// is not an error: what is left to print is discarded, the command still finishes its work
/// (the files it writes are written) and exits 0.
pub(crate) struct Stdout {
    inner: std::io::StdoutLock<'static>,
    closed: bool,
}

/// The command's standard output (see [`Stdout`]).
pub(crate) fn stdout() -> Stdout {
    Stdout {
        inner: std::io::stdout().lock(),
        closed: false,
    }
}

impl Stdout {
    fn closed_pipe<T>(&mut self, r: std::io::Result<T>, or: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(or)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.closed_pipe(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.closed_pipe(r, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_shows_controls_and_bidi_as_escapes() {
        assert_eq!(
            terminal_safe("\u{1b}[31mred\u{1b}[0m"),
            "\\u{1b}[31mred\\u{1b}[0m"
        );
        assert_eq!(terminal_safe("a\rb\nc\u{7}"), "a\\u{d}b\\u{a}c\\u{7}");
        assert_eq!(terminal_safe("pool\u{202E}05"), "pool\\u{202e}05");
        assert_eq!(
            terminal_safe("\u{2066}x\u{2069}\u{200E}\u{200F}\u{9b}"),
            "\\u{2066}x\\u{2069}\\u{200e}\\u{200f}\\u{9b}"
        );
        for ok in ["Amazon EC2", "東京 — €5", "שירות", ""] {
            assert!(matches!(terminal_safe(ok), Cow::Borrowed(s) if s == ok));
        }
        assert_eq!(truncate("ab\u{1b}cdef", 6), "ab\\u{…");
        assert_eq!(truncate("abc", 6), "abc");
    }
}
