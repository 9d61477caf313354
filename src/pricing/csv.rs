//! Bulk offers as CSV: `pool,offer_id,kind,term,payment,upfront,recurring_hourly,currency`.
//!
//! The reader is a small RFC 4180 parser (quoted fields, `""` escapes, CRLF, a leading BOM),
//! so the module needs no CSV dependency. Errors name the row (the header is row 1), the
//! physical line and the column.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::error::PricingError;
use super::rate_card::{Offer, OfferFields, Origin, RateCard, check_offer};
use super::source::{MAX_AMOUNT, quote_list};
use super::types::{OfferKind, Payment, Term};
use crate::diagnostic::{Diagnostic, Place, did_you_mean};
use crate::money::{Currency, parse_decimal};

/// The CSV columns, in the documented order (any order is accepted).
pub const CSV_COLUMNS: [&str; 8] = [
    "pool",
    "offer_id",
    "kind",
    "term",
    "payment",
    "upfront",
    "recurring_hourly",
    "currency",
];

/// One parsed record: its fields and the line where it starts.
struct Record {
    line: usize,
    fields: Vec<String>,
}

struct CsvCtx<'a> {
    name: &'a str,
}

impl CsvCtx<'_> {
    /// An error at `(row, line, column)`.
    fn err(
        &self,
        (row, line, column): (usize, usize, usize),
        field: &str,
        problem: String,
        expected: &str,
        fix: String,
    ) -> PricingError {
        PricingError::Csv(Box::new(Diagnostic {
            file: self.name.to_string(),
            place: Place::Csv { row, line, column },
            key: field.to_string(),
            problem,
            expected: expected.to_string(),
            fix,
        }))
    }
}

/// Splits CSV text into records. Errors on an unterminated quote or a stray quote.
fn records(text: &str, ctx: &CsvCtx<'_>) -> Result<Vec<Record>, PricingError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut record_line = 1;
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
            }
            '"' => {
                return Err(ctx.err(
                    (out.len() + 1, record_line, fields.len() + 1),
                    "(quoting)",
                    "has a quote inside an unquoted field".into(),
                    "fields either fully quoted (\"a,b\") or without quotes",
                    "quote the whole field and double inner quotes (\"\")".into(),
                ));
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
                out.push(Record {
                    line: record_line,
                    fields: std::mem::take(&mut fields),
                });
                line += 1;
                record_line = line;
            }
            _ if quoted_field => {
                return Err(ctx.err(
                    (out.len() + 1, record_line, fields.len() + 1),
                    "(quoting)",
                    format!("has text ({c:?}) after a closing quote"),
                    "a comma or the end of the line after a quoted field",
                    "quote the whole field and double inner quotes (\"\")".into(),
                ));
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(ctx.err(
            (out.len() + 1, record_line, fields.len() + 1),
            "(quoting)",
            "has a quote that is never closed".into(),
            "a closing quote before the end of the file",
            "close the quoted field".into(),
        ));
    }
    if !field.is_empty() || !fields.is_empty() || quoted_field {
        fields.push(field);
        out.push(Record {
            line: record_line,
            fields,
        });
    }
    Ok(out)
}

fn is_blank(r: &Record) -> bool {
    r.fields.iter().all(|f| f.trim().is_empty())
}

impl RateCard {
    /// Adds bulk offers from CSV text to pools already defined in the card. The header must
    /// name the columns of [`CSV_COLUMNS`] (any order, case-insensitive); `upfront` and
    /// `recurring_hourly` may be empty (0) and `currency` may be empty (the pool's). Blank
    /// lines are skipped. The same checks as for TOML offers apply; the first problem is
    /// returned with its row, line and column, and on error the card is unchanged.
    /// Warnings are recomputed for the whole card.
    pub fn extend_from_csv_str(
        &mut self,
        text: &str,
        source_name: &str,
    ) -> Result<(), PricingError> {
        let ctx = CsvCtx { name: source_name };
        let recs = records(text, &ctx)?;
        let Some(header) = recs.first() else {
            return Err(ctx.err(
                (1, 1, 1),
                "(header)",
                "the file is empty".into(),
                &format!("a header line: {}", CSV_COLUMNS.join(",")),
                "add the header and one line per offer".into(),
            ));
        };
        // Column positions, by name.
        let mut pos = [usize::MAX; 8];
        for (i, raw) in header.fields.iter().enumerate() {
            let name = raw.trim().to_ascii_lowercase();
            let Some(k) = CSV_COLUMNS.iter().position(|c| *c == name) else {
                let hint = did_you_mean(&name, CSV_COLUMNS)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| "remove the column".into());
                return Err(ctx.err(
                    (1, header.line, i + 1),
                    raw.trim(),
                    "is not a known column".into(),
                    &format!("the columns {}", quote_list(&CSV_COLUMNS)),
                    hint,
                ));
            };
            if pos[k] != usize::MAX {
                return Err(ctx.err(
                    (1, header.line, i + 1),
                    CSV_COLUMNS[k],
                    format!("appears twice (first as column {})", pos[k] + 1),
                    "each column once",
                    "remove the duplicate column".into(),
                ));
            }
            pos[k] = i;
        }
        if let Some(k) = pos.iter().position(|p| *p == usize::MAX) {
            return Err(ctx.err(
                (1, header.line, header.fields.len() + 1),
                CSV_COLUMNS[k],
                "column is missing from the header".into(),
                &format!("the header {}", CSV_COLUMNS.join(",")),
                format!("add a `{}` column", CSV_COLUMNS[k]),
            ));
        }
        let mut ids: BTreeSet<String> = self.offers().map(|o| o.id().to_string()).collect();
        let mut added: Vec<(usize, Offer)> = Vec::new();
        for (r, rec) in recs.iter().enumerate().skip(1) {
            if is_blank(rec) {
                continue;
            }
            let row = r + 1;
            if rec.fields.len() != header.fields.len() {
                return Err(ctx.err(
                    (row, rec.line, rec.fields.len().min(header.fields.len()) + 1),
                    "(row)",
                    format!(
                        "has {} fields but the header has {}",
                        rec.fields.len(),
                        header.fields.len()
                    ),
                    "one field per header column",
                    "check for missing or extra commas; quote fields that contain commas".into(),
                ));
            }
            let cell = |k: usize| rec.fields[pos[k]].trim();
            let err = |k: usize, problem: String, expected: &str, fix: String| {
                ctx.err(
                    (row, rec.line, pos[k] + 1),
                    CSV_COLUMNS[k],
                    problem,
                    expected,
                    fix,
                )
            };
            let pool_id = cell(0);
            let Some(pool_index) = self.pool_index(pool_id) else {
                let p = self.unknown_pool_problem(pool_id, "pool");
                return Err(err(0, p.problem, p.expected, p.fix));
            };
            let id = cell(1).to_string();
            if id.is_empty() {
                return Err(err(
                    1,
                    "is empty".into(),
                    "a unique offer id",
                    "give every offer an id".into(),
                ));
            }
            if ids.contains(&id) {
                return Err(err(
                    1,
                    format!("\"{id}\" is already used by another offer"),
                    "offer ids unique across the rate card",
                    "rename the offer".into(),
                ));
            }
            let choice = |k: usize, names: &[&str]| {
                err(
                    k,
                    format!("{:?} is not a known value", cell(k)),
                    &format!("one of {}", quote_list(names)),
                    did_you_mean(&cell(k).to_ascii_lowercase(), names.iter().copied())
                        .map(|s| format!("did you mean \"{s}\"?"))
                        .unwrap_or_else(|| "use one of the listed values".into()),
                )
            };
            let kinds: Vec<&str> = OfferKind::ALL.iter().map(|k| k.as_str()).collect();
            let kind = OfferKind::parse(cell(2)).ok_or_else(|| choice(2, &kinds))?;
            let term = Term::parse(cell(3)).ok_or_else(|| choice(3, &["1y", "3y"]))?;
            let payments: Vec<&str> = Payment::ALL.iter().map(|p| p.as_str()).collect();
            let payment = Payment::parse(cell(4)).ok_or_else(|| choice(4, &payments))?;
            let amount = |k: usize| -> Result<Decimal, PricingError> {
                if cell(k).is_empty() {
                    return Ok(Decimal::ZERO);
                }
                let d = parse_decimal(cell(k)).map_err(|_| {
                    err(
                        k,
                        format!("{:?} is not a decimal number", cell(k)),
                        "a decimal such as 0.0826 (no currency symbol or thousands separator)",
                        "write the amount with digits and a decimal point only".into(),
                    )
                })?;
                if d.is_sign_negative() && !d.is_zero() {
                    return Err(err(
                        k,
                        format!("is negative ({d})"),
                        "a price ≥ 0",
                        "prices are positive amounts per unit".into(),
                    ));
                }
                if d > MAX_AMOUNT {
                    return Err(err(
                        k,
                        format!("{d} is implausibly large"),
                        "at most 1,000,000,000 per unit",
                        "check the unit (per unit-hour, per unit upfront)".into(),
                    ));
                }
                Ok(d)
            };
            let currency = if cell(7).is_empty() {
                None
            } else {
                Some(Currency::new(cell(7)).map_err(|_| {
                    err(
                        7,
                        format!("{:?} is not a currency code", cell(7)),
                        "a three-letter ISO 4217 code such as USD, or empty for the pool's",
                        "write the currency code".into(),
                    )
                })?)
            };
            let fields = OfferFields {
                id: id.clone(),
                kind,
                term,
                payment,
                upfront: amount(5)?,
                recurring_hourly: amount(6)?,
                currency,
            };
            let pool = &self.pools()[pool_index];
            if let Err(c) = check_offer(&fields, pool) {
                let k = match c.field {
                    "currency" => 7,
                    "upfront" => 5,
                    _ => 6,
                };
                return Err(err(k, c.problem, c.expected, c.fix));
            }
            ids.insert(id);
            let origin = Origin {
                file: source_name.to_string(),
                line: rec.line,
            };
            added.push((pool_index, Offer::build(fields, pool, origin)));
        }
        for (i, offer) in added {
            self.pools_mut()[i].push_offer(offer);
        }
        let w = self.compute_warnings();
        self.set_warnings(w);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    const POOLS: &str = "[[pool]]\nid = \"ec2\"\nmatch = { region = \"r\" }\nunit = \"h\"\n\
                         on_demand_rate = \"0.192\"\ncurrency = \"USD\"\n";

    fn card() -> RateCard {
        RateCard::from_toml_str(POOLS, "rates.toml").unwrap()
    }

    const HEADER: &str = "pool,offer_id,kind,term,payment,upfront,recurring_hourly,currency\n";

    #[test]
    fn reads_offers_with_quotes_crlf_and_blank_lines() {
        let mut c = card();
        let text = format!(
            "\u{feff}{HEADER}ec2,a,ri_standard,1y,no_upfront,,0.1210,USD\r\n\r\n\
             \"ec2\",\"b \"\"x\"\"\",ri_standard,3y,all_upfront,1752,0,\n\
             ec2,c,ri_convertible,3y,Partial Upfront,1000,0.05,usd"
        );
        c.extend_from_csv_str(&text, "offers.csv").unwrap();
        let ids: Vec<&str> = c.offers().map(|o| o.id()).collect();
        assert_eq!(ids, ["a", "b \"x\"", "c"]);
        let b = c.offer("b \"x\"").unwrap();
        assert_eq!(
            b.effective_hourly(),
            Decimal::from_str("0.0666666666666666666666666667").unwrap()
        );
        assert_eq!(b.defined_at(), ("offers.csv", 4));
        assert_eq!(c.offer("c").unwrap().payment(), Payment::PartialUpfront);
        // The "no offers" warning of the TOML pool is gone.
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    fn csv_err(body: &str) -> String {
        let mut c = card();
        let before = c.clone();
        let e = c
            .extend_from_csv_str(&format!("{HEADER}{body}"), "offers.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(c, before, "the card must be unchanged on error");
        e
    }

    #[test]
    fn errors_name_row_and_column() {
        let ok = "ec2,a,ri_standard,1y,no_upfront,,0.12,USD\n";
        let e = csv_err(&format!("{ok}ec2,b,ri_standard,1y,no_upfront,,-0.12,USD\n"));
        assert!(
            e.starts_with("offers.csv: row 3 (line 3), column 7 `recurring_hourly`: is negative"),
            "{e}"
        );
        let e = csv_err(&format!("{ok}ec2,b,ri_standard,2y,no_upfront,,0.12,USD\n"));
        assert!(e.contains("row 3") && e.contains("column 4 `term`"), "{e}");
        let e = csv_err(&format!("{ok}ec2,a,ri_standard,1y,no_upfront,,0.12,USD\n"));
        assert!(
            e.contains("row 3") && e.contains("`offer_id`") && e.contains("already used"),
            "{e}"
        );
        let e = csv_err("ecc,a,ri_standard,1y,no_upfront,,0.12,USD\n");
        assert!(
            e.contains("row 2") && e.contains("column 1 `pool`") && e.contains("\"ec2\""),
            "{e}"
        );
        let e = csv_err("ec2,a,ri_standard,1y,no_upfront,5,0.12,USD\n");
        assert!(
            e.contains("column 6 `upfront`") && e.contains("no_upfront"),
            "{e}"
        );
        let e = csv_err("ec2,a,ri_standard,1y,no_upfront,,0.12,EUR\n");
        assert!(
            e.contains("column 8 `currency`") && e.contains("EUR differs"),
            "{e}"
        );
        let e = csv_err("ec2,a,ri_standard,1y,no_upfront,,$0.12,USD\n");
        assert!(e.contains("column 7") && e.contains("not a decimal"), "{e}");
        let e = csv_err("ec2,a,ri_standard,1y,no_upfront,0.12,USD\n");
        assert!(
            e.contains("row 2") && e.contains("has 7 fields but the header has 8"),
            "{e}"
        );
        let e = csv_err("ec2,\"a,ri_standard,1y,no_upfront,,0.12,USD\n");
        assert!(e.contains("row 2") && e.contains("never closed"), "{e}");
        let e = csv_err("ec2,a\"b,ri_standard,1y,no_upfront,,0.12,USD\n");
        assert!(e.contains("row 2") && e.contains("column 2"), "{e}");
    }

    #[test]
    fn header_errors() {
        let mut c = card();
        let e = c
            .extend_from_csv_str("pool,offer,kind\n", "o.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1") && e.contains("column 2 `offer`") && e.contains("offer_id"),
            "{e}"
        );
        let e = c
            .extend_from_csv_str(
                "pool,offer_id,kind,term,payment,upfront,recurring_hourly\n",
                "o.csv",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("`currency`: column is missing"), "{e}");
        let e = c.extend_from_csv_str("", "o.csv").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = c
            .extend_from_csv_str(&HEADER.replace("currency", "pool"), "o.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 8 `pool`: appears twice"), "{e}");
    }
}
