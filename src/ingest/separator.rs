//! Field separators of delimited text exports. Billing exports are comma-separated, but real
//! files reach users in other shapes: Athena/Glue (Hive) text tables separate fields with
//! `\x01`, spreadsheets in many European locales save CSV with `;` (and decimal commas),
//! database and BI tools write tab- or `|`-separated text. The separator is decided per file
//! from its header (and first data lines) before the reader parses it; nothing here parses
//! values.

use super::formats::Format;

/// Hive's default field separator (`\x01`, shown as `^A` by `cat -A`).
pub(crate) const HIVE: u8 = 0x01;

/// The separators tried, in order of preference: comma first, so a file whose header splits
/// into a known format at commas is read as it always was.
pub(crate) const CANDIDATES: [u8; 5] = [b',', b';', b'\t', b'|', HIVE];

/// How many data records after the header are compared with it.
const SHAPE_RECORDS: usize = 50;

/// The separator for messages.
pub(crate) fn name(separator: u8) -> &'static str {
    match separator {
        b',' => "`,` (comma)",
        b';' => "`;` (semicolon)",
        b'\t' => "tab",
        b'|' => "`|` (pipe)",
        HIVE => "`\\x01` (Hive's default field separator, ^A)",
        _ => "an unknown separator",
    }
}

/// The quote character of files with this separator: Hive text tables do not quote (a `"` is
/// an ordinary character there); every other export quotes with `"`.
pub(crate) fn quote_char(separator: u8) -> Option<u8> {
    (separator != HIVE).then_some(b'"')
}

/// Splits `text` into records of raw fields (quote-aware when the separator quotes; quotes are
/// kept), at most `max` records; blank lines are skipped and a trailing `\r` is dropped.
pub(crate) fn records(text: &[u8], separator: u8, max: usize) -> Vec<Vec<&[u8]>> {
    let quote = quote_char(separator);
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut i = 0;
    fn finish<'a>(fields: &mut Vec<&'a [u8]>, out: &mut Vec<Vec<&'a [u8]>>) {
        let blank = fields.len() == 1 && fields[0].iter().all(u8::is_ascii_whitespace);
        let record = std::mem::take(fields);
        if !blank {
            out.push(record);
        }
    }
    while i < text.len() && out.len() < max {
        let b = text[i];
        if Some(b) == quote {
            in_quotes = !in_quotes;
        } else if !in_quotes && b == separator {
            fields.push(&text[start..i]);
            start = i + 1;
        } else if !in_quotes && b == b'\n' {
            let end = if i > start && text[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            fields.push(&text[start..end]);
            finish(&mut fields, &mut out);
            start = i + 1;
        }
        i += 1;
    }
    if out.len() < max && start < text.len() {
        let end = text.len() - usize::from(text.ends_with(b"\r"));
        fields.push(&text[start..end]);
        finish(&mut fields, &mut out);
    }
    out
}

/// A header field as a column name: surrounding quotes removed, doubled quotes undone.
fn column_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => s.into_owned(),
    }
}

/// How a separator splits the start of a file.
struct Shape {
    separator: u8,
    /// Fields of the header.
    fields: usize,
    /// Whether the header has at least two fields and every sampled data record as many.
    consistent: bool,
    format: Option<Format>,
}

fn shape(text: &[u8], separator: u8) -> Shape {
    let recs = records(text, separator, SHAPE_RECORDS + 1);
    let fields = recs.first().map_or(0, Vec::len);
    let names: Vec<String> = recs
        .first()
        .map(|r| r.iter().map(|f| column_name(f)).collect())
        .unwrap_or_default();
    Shape {
        separator,
        fields,
        consistent: fields >= 2 && recs.iter().skip(1).all(|r| r.len() == fields),
        format: Format::detect(&names),
    }
}

/// The field separator of a delimited text file from its first lines (`text`, without a
/// byte-order mark):
///
/// 1. comma when its header splits at commas into a recognised format's columns (the files
///    capplan has always read are read as before);
/// 2. else the separator that splits the header into a recognised format's columns — for a
///    tidy table, whose column names are generic, only if the data lines split into as many
///    fields — the one giving the most columns when several do;
/// 3. else (an unknown header, e.g. a tidy table with `--time-col`) the separator that splits
///    the header and every sampled data line into the same number (at least two) of fields:
///    comma if it does, else the one giving the most;
/// 4. else comma (the reader's and [`diagnose`](super::source::diagnose_csv)'s messages then
///    say what is wrong).
pub(crate) fn detect(text: &[u8]) -> u8 {
    let shapes: Vec<Shape> = CANDIDATES.iter().map(|s| shape(text, *s)).collect();
    if shapes[0].format.is_some() {
        return b',';
    }
    let most = |ok: &dyn Fn(&Shape) -> bool| {
        shapes
            .iter()
            .filter(|s| ok(s))
            .max_by_key(|s| (s.fields, std::cmp::Reverse(s.separator == b',')))
            .map(|s| s.separator)
    };
    let by_format = most(&|s: &Shape| match s.format {
        Some(Format::Tidy) => s.consistent,
        Some(_) => true,
        None => false,
    });
    if let Some(s) = by_format {
        return s;
    }
    if shapes[0].consistent {
        return b',';
    }
    most(&|s: &Shape| s.consistent).unwrap_or(b',')
}

/// When `separator` leaves the header (the first record of `text`) in one field but another
/// candidate splits it into several: that candidate and its field count.
pub(crate) fn seems_to_use(text: &[u8], separator: u8) -> Option<(u8, usize)> {
    if records(text, separator, 1).first().map(Vec::len) != Some(1) {
        return None;
    }
    CANDIDATES
        .iter()
        .filter(|c| **c != separator)
        .map(|c| (*c, records(text, *c, 1).first().map_or(0, Vec::len)))
        .filter(|(_, n)| *n >= 2)
        .max_by_key(|(_, n)| *n)
}

/// A number written with a decimal comma (`1,5`, `-0,25`, `1.234,56`), as spreadsheets in many
/// European locales save CSV. `1,500` is ambiguous (a thousands separator reads the same);
/// either way capplan does not guess, the message names both.
pub(crate) fn looks_like_decimal_comma(value: &str) -> bool {
    let v = value.trim();
    let v = v.strip_prefix(['+', '-']).unwrap_or(v);
    let Some((int, frac)) = v.rsplit_once(',') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(frac) {
        return false;
    }
    // The integer part: plain digits, or groups of three separated by `.` (1.234.567).
    let mut groups = int.split('.');
    let first = groups.next().unwrap_or("");
    digits(first)
        && (int == first || (first.len() <= 3 && groups.all(|g| g.len() == 3 && digits(g))))
}

/// What a [`looks_like_decimal_comma`] value means if its comma is a decimal comma
/// (`1.234,56` → `1234.56`), for messages.
pub(crate) fn decimal_comma_reading(value: &str) -> String {
    value.trim().replace('.', "").replace(',', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str, sep: u8) -> Vec<usize> {
        records(text.as_bytes(), sep, usize::MAX)
            .iter()
            .map(Vec::len)
            .collect()
    }

    #[test]
    fn splits_records_quote_aware_except_for_hive() {
        assert_eq!(count("a,b\n\"x,y\",2\r\n\n3,4", b','), vec![2, 2, 2]);
        assert_eq!(count("a;b\n\"1;2\";3\n", b';'), vec![2, 2]);
        // Hive text does not quote: a `"` is data.
        assert_eq!(count("a\x01b\n\"x\x01y\n", HIVE), vec![2, 2]);
        let header = &records(b"\"Billed\"\"Cost\";b\r\n1;2\n", b';', 1)[0];
        let names: Vec<String> = header.iter().map(|f| column_name(f)).collect();
        assert_eq!(names, ["Billed\"Cost", "b"]);
    }

    #[test]
    fn detects_the_separator_from_the_header_and_data_lines() {
        let cur2 = b"identity_line_item_id\x01line_item_usage_start_date\x01line_item_unblended_cost\nx\x012024-01-01 00:00:00\x010,5\n";
        assert_eq!(detect(cur2), HIVE);
        let focus = b"BilledCost\tChargePeriodStart\tx\n1\t2024-01-01\ta,b\n";
        assert_eq!(detect(focus), b'\t');
        assert_eq!(detect(b"BilledCost|ChargePeriodStart\n1|2\n"), b'|');
        // Comma stays first when its header is a known format.
        assert_eq!(detect(b"timestamp,value\n2024-01-01,1;2\n"), b',');
        // A tidy header at `;` needs data lines of the same shape.
        assert_eq!(detect(b"date;value\n2024-01-01;1,5\n"), b';');
        assert_eq!(detect(b"date;value\n2024-01-01;1;5\n"), b',');
        // Unknown headers: the consistent split.
        assert_eq!(detect(b"when\thow_much\n2024\t1\n"), b'\t');
        assert_eq!(detect(b"a,b\n1,2\n"), b',');
        assert_eq!(detect(b"just one column\n1\n"), b',');
    }

    #[test]
    fn says_what_a_one_field_header_seems_to_use() {
        assert_eq!(seems_to_use(b"a\x01b\x01c\n", b','), Some((HIVE, 3)));
        assert_eq!(seems_to_use(b"a;b\n", b','), Some((b';', 2)));
        assert_eq!(seems_to_use(b"a,b\n", b','), None);
        assert_eq!(seems_to_use(b"abc\n", b','), None);
    }

    #[test]
    fn recognises_decimal_commas() {
        for v in ["1,5", "-0,25", " 1.234,56 ", "+12,0", "1,500"] {
            assert!(looks_like_decimal_comma(v), "{v}");
        }
        assert_eq!(decimal_comma_reading(" -1.234,56"), "-1234.56");
        for v in [
            "1.5",
            "1,5,6",
            "abc",
            ",5",
            "1,",
            "12.34.5,6",
            "1.2345,6",
            "$1,5",
        ] {
            assert!(!looks_like_decimal_comma(v), "{v}");
        }
    }
}
