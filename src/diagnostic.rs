//! Input diagnostics, shared by every reader of a file the user writes (the plan file, the
//! rate card and inventory, the events file).
//!
//! - [`Diagnostic`]: one problem, naming the file, the [`Place`] (line and column, or CSV row),
//!   the key, what is wrong, what was expected and what to do. Every input error of the
//!   plan file and of the pricing inputs is one of these, so they all read the same:
//!   `file: line L, column C: `key`: problem; expected X. Fix: Y`.
//! - `did_you_mean`: the one "did you mean" policy (case-insensitive edit distance).
//! - `line_col`: 1-based line and column of a byte offset.
//! - `TomlSource`: the one spanned-TOML context: turns a span into a place, builds
//!   diagnostics at a span, and turns a `toml::de::Error` into a [`Diagnostic`]
//!   (`TomlSource::toml_error`, the one such conversion).
//!
//! Ground floor: imports no stage.

use std::fmt;
use std::ops::Range;

/// Where in an input file a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A position in a text file such as TOML (1-based line and column, in characters).
    Text {
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
    },
    /// A cell of a CSV file.
    Csv {
        /// 1-based record number, the header being row 1.
        row: usize,
        /// 1-based physical line where the record starts.
        line: usize,
        /// 1-based column number.
        column: usize,
    },
}

impl Place {
    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        match self {
            Place::Text { line, .. } | Place::Csv { line, .. } => *line,
        }
    }

    /// The 1-based column of the problem.
    pub fn column(&self) -> usize {
        match self {
            Place::Text { column, .. } | Place::Csv { column, .. } => *column,
        }
    }
}

/// One problem in an input file: where, which key, what is wrong, what was expected, what to
/// do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Source name given by the caller (usually the path).
    pub file: String,
    /// Position of the problem.
    pub place: Place,
    /// The key or CSV column concerned: a dotted key path such as
    /// `scenario.strategy[2].coverage_percent` or `pool[2].offer[1].upfront`; for an unknown
    /// key the key as written; empty when a syntax error is not on a `key = value` line.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What a valid value looks like (for an unknown key: the valid keys there); may be empty.
    pub expected: String,
    /// What to do; may be empty.
    pub fix: String,
}

impl Diagnostic {
    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        self.place.line()
    }

    /// The 1-based column of the problem.
    pub fn column(&self) -> usize {
        self.place.column()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Text { line, column } => {
                write!(f, "{}: line {line}, column {column}: ", self.file)?;
                if !self.key.is_empty() {
                    write!(f, "`{}`: ", self.key)?;
                }
            }
            Place::Csv { row, line, column } => write!(
                f,
                "{}: row {row} (line {line}), column {column} `{}`: ",
                self.file, self.key
            )?,
        }
        f.write_str(&self.problem)?;
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`. Offsets past the end
/// or inside a character are clamped.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word`, for "did you mean" hints: the one policy of every input
/// reader. Case is ignored; a candidate qualifies when its edit distance (in characters) is
/// at most a third of the word's length, and at least 2; the closest wins, ties going to the
/// earlier candidate.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (lower.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What kind of problem a `toml::de::Error` reports (see [`TomlSource::toml_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TomlErrorKind {
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// Not TOML, or a value of the wrong TOML type.
    Syntax,
}

/// The one spanned-TOML context: the text of one TOML input, its name, and where its schema
/// is documented; turns spans into places and parse errors into [`Diagnostic`]s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TomlSource<'a> {
    /// Source name (usually the path), as given by the caller.
    pub(crate) name: &'a str,
    /// The whole text.
    pub(crate) text: &'a str,
    /// Where the schema is documented, for fixes ("see ..."), e.g. `the plan file reference`.
    pub(crate) reference: &'a str,
}

impl<'a> TomlSource<'a> {
    /// A context for `text` named `name`, whose schema is documented in `reference`.
    pub(crate) fn new(name: &'a str, text: &'a str, reference: &'a str) -> Self {
        TomlSource {
            name,
            text,
            reference,
        }
    }

    /// The place of byte `offset`.
    pub(crate) fn place(&self, offset: usize) -> Place {
        let (line, column) = line_col(self.text, offset);
        Place::Text { line, column }
    }

    /// The 1-based line of byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }

    /// A diagnostic at the start of `span`.
    pub(crate) fn at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
        fix: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.name.to_string(),
            place: self.place(span.start),
            key: key.into(),
            problem: problem.into(),
            expected: expected.into(),
            fix: fix.into(),
        }
    }

    /// 1-based line and column of a parse error (1, 1 when it has no position).
    pub(crate) fn position(&self, e: &toml::de::Error) -> (usize, usize) {
        e.span().map_or((1, 1), |s| line_col(self.text, s.start))
    }

    /// Turns a parse or shape error of the `toml` crate into a located diagnostic, naming the
    /// key: an unknown key gets the table it is in, the valid keys and the closest one; a
    /// missing key the table it is missing from; any other error the key of its line and a
    /// fix for its kind.
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> (TomlErrorKind, Diagnostic) {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().to_string();
        let in_table = |what: &str| match table_at(self.text, offset) {
            t if t.is_empty() => what.to_string(),
            t => format!("{what} in {t}"),
        };
        if let Some(rest) = message.strip_prefix("unknown field `")
            && let Some((key, tail)) = rest.split_once('`')
        {
            let valid: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let expected = if valid.is_empty() {
                "no keys here".to_string()
            } else {
                let list: Vec<String> = valid.iter().map(|k| format!("`{k}`")).collect();
                format!("one of {}", list.join(", "))
            };
            let fix = match did_you_mean(key, valid.iter().copied()) {
                Some(k) => format!("did you mean `{k}`? Correct the key or remove it"),
                None => format!(
                    "remove the key, or move it to the table where it belongs (see {})",
                    self.reference
                ),
            };
            return (
                TomlErrorKind::UnknownKey,
                self.at(offset..offset, key, in_table("unknown key"), expected, fix),
            );
        }
        if let Some(rest) = message.strip_prefix("missing field `")
            && let Some((key, _)) = rest.split_once('`')
        {
            return (
                TomlErrorKind::MissingKey,
                self.at(
                    offset..offset,
                    key,
                    in_table("required key is missing from the table starting here"),
                    format!("a `{key} = ...` line in the table"),
                    format!("add `{key}` (see {})", self.reference),
                ),
            );
        }
        let fix = if message.contains("invalid type") {
            format!(
                "write the value with the TOML type the key takes (see {})",
                self.reference
            )
        } else if message.contains("duplicate key") {
            "keep one of the two definitions".to_string()
        } else {
            "correct the TOML syntax at that position".to_string()
        };
        (
            TomlErrorKind::Syntax,
            self.at(
                offset..offset,
                key_at(self.text, offset),
                message,
                String::new(),
                fix,
            ),
        )
    }
}

/// The bare key written at the start of the line containing `offset`, if any.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((k, _)) if !k.trim_start().starts_with('[') && !k.contains('#') => {
            k.trim().trim_matches('"').to_string()
        }
        _ => String::new(),
    }
}

/// The `[table]` or `[[array]]` header (as written, brackets included) of the table
/// containing `offset`: the header on its line or the last one above ("" = top level).
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    text[..line_end]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            let l = l.split('#').next().unwrap_or(l).trim();
            let depth = if l.starts_with("[[") { 2 } else { 1 };
            let name = l.trim_start_matches('[').trim_end_matches(']').trim();
            format!("{}{name}{}", "[".repeat(depth), "]".repeat(depth))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_positions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(line_col("a = 1\nbé = 2\n", 9), (2, 3));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn line_col_counts_lines_and_characters() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        // after "bé" (3 bytes) → column 3
        assert_eq!(line_col(t, 9), (2, 3));
        // inside the two-byte character: clamped back
        assert_eq!(line_col(t, 8), (2, 2));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn did_you_mean_finds_close_names() {
        assert_eq!(
            did_you_mean("recuring_hourly", ["upfront", "recurring_hourly"]),
            Some("recurring_hourly")
        );
        assert_eq!(did_you_mean("zzz", ["upfront"]), None);
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("BiledCost", ["BilledCost", "ListCost"]),
            Some("BilledCost")
        );
        assert_eq!(
            did_you_mean("servce", ["service", "region"]),
            Some("service")
        );
        assert_eq!(did_you_mean("zzzzzz", ["service", "region"]), None);
    }

    #[test]
    fn did_you_mean_ignores_case_and_prefers_the_earlier_candidate() {
        assert_eq!(did_you_mean("Windos", ["windows"]), Some("windows"));
        assert_eq!(did_you_mean("ab", ["ac", "ad"]), Some("ac"));
    }

    #[test]
    fn diagnostics_read_well() {
        let d = Diagnostic {
            file: "rates.toml".into(),
            place: Place::Text {
                line: 7,
                column: 11,
            },
            key: "pool[1].offer[2].upfront".into(),
            problem: "is negative (-5)".into(),
            expected: "a price ≥ 0".into(),
            fix: "write the upfront fee as a positive amount".into(),
        };
        assert_eq!(
            d.to_string(),
            "rates.toml: line 7, column 11: `pool[1].offer[2].upfront`: is negative (-5); \
             expected a price ≥ 0. Fix: write the upfront fee as a positive amount"
        );
        assert_eq!((d.line(), d.column()), (7, 11));
        let d = Diagnostic {
            place: Place::Csv {
                row: 3,
                line: 4,
                column: 2,
            },
            key: "term".into(),
            expected: String::new(),
            fix: String::new(),
            ..d
        };
        assert_eq!(
            d.to_string(),
            "rates.toml: row 3 (line 4), column 2 `term`: is negative (-5)"
        );
    }

    #[test]
    fn toml_errors_name_the_key_the_table_and_the_fix() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            windows: Option<i64>,
            seed: i64,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct F {
            forecast: T,
        }
        let parse = |text: &str| {
            let e = toml::from_str::<F>(text).unwrap_err();
            TomlSource::new("f.toml", text, "the docs").toml_error(&e)
        };
        let (kind, d) = parse("[forecast]\nseed = 1\nwindos = 9\n");
        assert_eq!(kind, TomlErrorKind::UnknownKey);
        assert_eq!(
            d.to_string(),
            "f.toml: line 3, column 1: `windos`: unknown key in [forecast]; expected one of \
             `windows`, `seed`. Fix: did you mean `windows`? Correct the key or remove it"
        );
        let (kind, d) = parse("[forecast]\nwindows = 1\n");
        assert_eq!(kind, TomlErrorKind::MissingKey);
        assert_eq!(d.key, "seed");
        let (kind, d) = parse("[forecast]\nseed = \"1\"\n");
        assert_eq!(kind, TomlErrorKind::Syntax);
        assert_eq!((d.key.as_str(), d.line()), ("seed", 2));
        assert!(d.fix.contains("see the docs"), "{d}");
    }
}
