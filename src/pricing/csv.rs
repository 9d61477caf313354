//! Bulk offers as CSV: `pool,offer_id,kind,term,payment,upfront,recurring_hourly,currency`;
//! bulk per-SKU rates of spend-based offers (Savings Plans, spend CUDs) as CSV:
//! `pool,offer_id,discount` (or `plan_rate,on_demand_rate` instead of `discount`) and one
//! column per match dimension (`service`, `region`, `instance_type`, ...), one row per SKU and
//! offer ([`RateCard::extend_rates_from_csv_str`]). [`RateCard::extend_from_csv`] tells the
//! two apart by their header.
//!
//! The reader is a small RFC 4180 parser (quoted fields, `""` escapes, CRLF, a leading BOM),
//! so the module needs no CSV dependency. Errors name the row (the header is row 1), the
//! physical line and the column.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::error::PricingError;
use super::rate_card::{MatchRule, Offer, OfferFields, Origin, RateCard, SkuRate, check_offer};
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

/// The fixed columns of a per-SKU rates CSV; every other column is a match dimension.
pub const RATE_CSV_COLUMNS: [&str; 5] = [
    "pool",
    "offer_id",
    "discount",
    "plan_rate",
    "on_demand_rate",
];

impl RateCard {
    /// Adds CSV text of either kind: per-SKU rates when the header has a `discount` or
    /// `plan_rate` column ([`RateCard::extend_rates_from_csv_str`]), offers otherwise
    /// ([`RateCard::extend_from_csv_str`]).
    pub fn extend_from_csv(&mut self, text: &str, source_name: &str) -> Result<(), PricingError> {
        let ctx = CsvCtx { name: source_name };
        let first = records(text, &ctx)?;
        let is_rates = first.first().is_some_and(|h| {
            h.fields.iter().any(|f| {
                let f = f.trim().to_ascii_lowercase();
                f == "discount" || f == "plan_rate"
            })
        });
        if is_rates {
            self.extend_rates_from_csv_str(text, source_name)
        } else {
            self.extend_from_csv_str(text, source_name)
        }
    }

    /// Adds per-SKU rates of spend-based offers from CSV text: the bulk form of
    /// `[[pool.rate]]`. Columns: `pool`, `offer_id`, either `discount` (a fraction, 0.28 =
    /// 28 % off) or `plan_rate` and `on_demand_rate` (the discount is `1 − plan / on-demand`,
    /// exact), and at least one match dimension column (any other header name, e.g.
    /// `service`, `region`, `instance_type`; an empty cell does not constrain that
    /// dimension). Rows with the same pool and dimension values form one rate, which must
    /// give a discount for every spend-based offer of the pool, as in TOML. Rates are added
    /// after the card's own (the first match wins, so TOML rates take precedence). The first
    /// problem is returned with its row, line and column; on error the card is unchanged.
    pub fn extend_rates_from_csv_str(
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
                "a header line such as pool,offer_id,discount,service",
                "add the header and one line per SKU and offer".into(),
            ));
        };
        // Fixed columns by name; the rest are dimensions.
        let mut pos = [usize::MAX; 5];
        let mut dims: Vec<(usize, String)> = Vec::new();
        for (i, raw) in header.fields.iter().enumerate() {
            let name = raw.trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err(ctx.err(
                    (1, header.line, i + 1),
                    "(header)",
                    "has an empty column name".into(),
                    "a name per column",
                    "name the column or remove it".into(),
                ));
            }
            let slot = RATE_CSV_COLUMNS.iter().position(|c| *c == name);
            let seen = match slot {
                Some(k) => pos[k] != usize::MAX,
                None => dims.iter().any(|(_, d)| *d == name),
            };
            if seen {
                return Err(ctx.err(
                    (1, header.line, i + 1),
                    raw.trim(),
                    "appears twice".into(),
                    "each column once",
                    "remove the duplicate column".into(),
                ));
            }
            match slot {
                Some(k) => pos[k] = i,
                None => dims.push((i, raw.trim().to_string())),
            }
        }
        let has = |k: usize| pos[k] != usize::MAX;
        let missing = |k: usize, fix: &str| {
            ctx.err(
                (1, header.line, header.fields.len() + 1),
                RATE_CSV_COLUMNS[k],
                "column is missing from the header".into(),
                "pool, offer_id, discount (or plan_rate and on_demand_rate) and match dimensions",
                fix.into(),
            )
        };
        for k in [0, 1] {
            if !has(k) {
                return Err(missing(
                    k,
                    &format!("add a `{}` column", RATE_CSV_COLUMNS[k]),
                ));
            }
        }
        let by_rate = has(3) || has(4);
        if has(2) && by_rate {
            return Err(ctx.err(
                (1, header.line, pos[2] + 1),
                "discount",
                "is given together with plan_rate / on_demand_rate".into(),
                "either a discount column, or plan_rate and on_demand_rate",
                "keep one way of stating the rate".into(),
            ));
        }
        if by_rate {
            for k in [3, 4] {
                if !has(k) {
                    return Err(missing(
                        k,
                        "add both plan_rate and on_demand_rate, or a discount column",
                    ));
                }
            }
        } else if !has(2) {
            return Err(missing(2, "add a `discount` column (0.28 = 28 % off)"));
        }
        if dims.is_empty() {
            return Err(ctx.err(
                (1, header.line, header.fields.len() + 1),
                "(match)",
                "names no match dimension, so every rate would match every series".into(),
                "one column per dimension that identifies a SKU, e.g. service, region, instance_type",
                "add the dimension columns the pool's series have".into(),
            ));
        }
        // (pool index, dimension values) -> (first row, first line, offer -> discount).
        type Key = (usize, Vec<(String, String)>);
        type Group = (Key, usize, usize, BTreeMap<String, (Decimal, usize)>);
        let mut groups: Vec<Group> = Vec::new();
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
            let cell = |i: usize| rec.fields[i].trim();
            let err = |i: usize, name: &str, problem: String, expected: &str, fix: String| {
                ctx.err((row, rec.line, i + 1), name, problem, expected, fix)
            };
            let Some(pool_index) = self.pool_index(cell(pos[0])) else {
                let p = self.unknown_pool_problem(cell(pos[0]), "pool");
                return Err(err(pos[0], "pool", p.problem, p.expected, p.fix));
            };
            let pool = &self.pools()[pool_index];
            let spend = pool.spend_offer_ids();
            let offer = cell(pos[1]);
            if !spend.contains(&offer) {
                let fix = if spend.is_empty() {
                    "per-SKU rates belong to pools with savings_plan_*, gcp_spend_cud or azure_savings_plan offers".into()
                } else {
                    match did_you_mean(offer, spend.iter().copied()) {
                        Some(s) => format!("did you mean \"{s}\"?"),
                        None => format!("use one of {}", quote_list(&spend)),
                    }
                };
                return Err(err(
                    pos[1],
                    "offer_id",
                    format!(
                        "\"{offer}\" is not a spend-based offer of pool \"{}\"",
                        pool.id()
                    ),
                    "the id of one of the pool's Savings Plan / spend CUD offers",
                    fix,
                ));
            }
            let number = |i: usize, name: &str| -> Result<Decimal, PricingError> {
                parse_decimal(cell(i)).map_err(|_| {
                    err(
                        i,
                        name,
                        format!("{:?} is not a decimal number", cell(i)),
                        "a decimal such as 0.28 (no currency symbol, percent sign or thousands separator)",
                        "write the number with digits and a decimal point only".into(),
                    )
                })
            };
            let discount = if by_rate {
                let plan = number(pos[3], "plan_rate")?;
                let od = number(pos[4], "on_demand_rate")?;
                if od <= Decimal::ZERO {
                    return Err(err(
                        pos[4],
                        "on_demand_rate",
                        format!("is {od}"),
                        "an on-demand price > 0",
                        "write the SKU's on-demand price per unit".into(),
                    ));
                }
                if plan < Decimal::ZERO || plan > od {
                    return Err(err(
                        pos[3],
                        "plan_rate",
                        format!("{plan} is not between 0 and the on-demand rate {od}"),
                        "a plan rate ≤ the on-demand rate (a discount)",
                        "check that both rates are per the same unit".into(),
                    ));
                }
                Decimal::ONE - plan / od
            } else {
                number(pos[2], "discount")?
            };
            if discount < Decimal::ZERO || discount >= Decimal::ONE {
                let i = if by_rate { pos[3] } else { pos[2] };
                return Err(err(
                    i,
                    if by_rate { "plan_rate" } else { "discount" },
                    format!("gives a discount of {discount}, not between 0 and 1"),
                    "a fraction of the on-demand price, 0 ≤ discount < 1 (0.28 = 28 % off)",
                    "write the discount as a fraction, e.g. 0.28 for 28 %".into(),
                ));
            }
            let values: Vec<(String, String)> = dims
                .iter()
                .filter(|(i, _)| !cell(*i).is_empty())
                .map(|(i, d)| (d.clone(), cell(*i).to_string()))
                .collect();
            if values.is_empty() {
                return Err(err(
                    dims[0].0,
                    &dims[0].1,
                    "every match dimension is empty, so the rate would match every series".into(),
                    "at least one dimension value per row",
                    "fill in the dimension values of the SKU".into(),
                ));
            }
            let key = (pool_index, values);
            let g = match groups.iter().position(|g| g.0 == key) {
                Some(g) => g,
                None => {
                    groups.push((key, row, rec.line, BTreeMap::new()));
                    groups.len() - 1
                }
            };
            if let Some((_, first)) = groups[g].3.get(offer) {
                return Err(err(
                    pos[1],
                    "offer_id",
                    format!(
                        "gives \"{offer}\" a second rate for the same SKU (first on row {first})"
                    ),
                    "one rate per SKU and offer",
                    "remove one of the rows".into(),
                ));
            }
            groups[g].3.insert(offer.to_string(), (discount, row));
        }
        // Every rate prices every spend-based offer of its pool.
        let mut out = Vec::with_capacity(groups.len());
        for ((pool_index, values), row, line, discounts) in groups {
            let pool = &self.pools()[pool_index];
            let absent: Vec<&str> = pool
                .spend_offer_ids()
                .into_iter()
                .filter(|o| !discounts.contains_key(*o))
                .collect();
            if !absent.is_empty() {
                return Err(ctx.err(
                    (row, line, pos[1] + 1),
                    "offer_id",
                    format!(
                        "the SKU {} of pool \"{}\" has no rate for {}",
                        values
                            .iter()
                            .map(|(d, v)| format!("{d}={v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        pool.id(),
                        quote_list(&absent)
                    ),
                    "a row per spend-based offer of the pool for each SKU (rates differ per term and payment option)",
                    format!("add rows for {}", quote_list(&absent)),
                ));
            }
            let mut rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (d, v) in values {
                rules.insert(d, vec![v]);
            }
            let discounts = discounts.into_iter().map(|(o, (d, _))| (o, d)).collect();
            out.push((
                pool_index,
                SkuRate::new(MatchRule::new(rules), discounts, line),
            ));
        }
        for (i, rate) in out {
            self.pools_mut()[i].push_rate(rate);
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

    const SP_POOL: &str = "[[pool]]\nid = \"sp\"\nmatch = { service = [\"EC2\", \"Lambda\"] }\n\
                           unit = \"USD/hour\"\non_demand_rate = \"1\"\ncurrency = \"USD\"\n\
                           offer = [\n\
                           { id = \"sp-1y\", kind = \"savings_plan_compute\", term = \"1y\", payment = \"no_upfront\", recurring_hourly = \"0.74\" },\n\
                           { id = \"sp-3y\", kind = \"savings_plan_compute\", term = \"3y\", payment = \"no_upfront\", recurring_hourly = \"0.54\" },\n]\n\
                           [[pool.rate]]\nmatch = { service = \"Lambda\", region = \"eu\" }\n\
                           discount = { \"sp-1y\" = \"0.10\", \"sp-3y\" = \"0.15\" }\n";

    fn sp_card() -> RateCard {
        RateCard::from_toml_str(SP_POOL, "rates.toml").unwrap()
    }

    fn key(pairs: &[(&str, &str)]) -> crate::series::SeriesKey {
        crate::series::SeriesKey(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn reads_per_sku_rates_by_discount_or_by_plan_and_on_demand_rate() {
        let mut c = sp_card();
        c.extend_from_csv(
            "pool,offer_id,discount,service,region\n\
             sp,sp-1y,0.12,Lambda,\n\
             sp,sp-3y,0.17,Lambda,\n\
             sp,sp-1y,0.30,EC2,us-east-1\n\
             sp,sp-3y,0.50,EC2,us-east-1\n",
            "rates.csv",
        )
        .unwrap();
        let pool = &c.pools()[0];
        assert_eq!(pool.sku_rates().len(), 3);
        let (y1, y3) = (&pool.offers()[0], &pool.offers()[1]);
        let lambda = key(&[("region", "us-west-2"), ("service", "Lambda")]);
        assert_eq!(
            pool.discount_on(y1, &lambda),
            Decimal::from_str("0.12").unwrap()
        );
        // The card's own rate matches first.
        let lambda_eu = key(&[("region", "eu"), ("service", "Lambda")]);
        assert_eq!(
            pool.discount_on(y3, &lambda_eu),
            Decimal::from_str("0.15").unwrap()
        );
        let ec2 = key(&[("region", "us-east-1"), ("service", "EC2")]);
        assert_eq!(
            pool.discount_on(y3, &ec2),
            Decimal::from_str("0.50").unwrap()
        );
        // Elsewhere the offer's own discount.
        let other = key(&[("region", "eu"), ("service", "EC2")]);
        assert_eq!(
            pool.discount_on(y1, &other),
            Decimal::from_str("0.26").unwrap()
        );

        // Plan and on-demand rate: the discount is exact (1 − 0.0624 / 0.096 = 0.35).
        let mut c = sp_card();
        c.extend_from_csv(
            "instance_type,pool,offer_id,plan_rate,on_demand_rate\n\
             m5.large,sp,sp-1y,0.0624,0.096\n\
             m5.large,sp,sp-3y,0.0432,0.096\n",
            "rates.csv",
        )
        .unwrap();
        let pool = &c.pools()[0];
        let m5 = key(&[("instance_type", "m5.large"), ("service", "EC2")]);
        assert_eq!(
            pool.discount_on(&pool.offers()[0], &m5),
            Decimal::from_str("0.35").unwrap()
        );
        assert_eq!(
            pool.discount_on(&pool.offers()[1], &m5),
            Decimal::from_str("0.55").unwrap()
        );
    }

    fn rate_err(body: &str) -> String {
        let mut c = sp_card();
        let before = c.clone();
        let e = c
            .extend_rates_from_csv_str(body, "rates.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(c, before, "the card is unchanged on error");
        e
    }

    #[test]
    fn bad_rate_rows_name_row_line_column_and_fix() {
        let e = rate_err("pool,offer_id,discount,service\nsp,sp-1y,0.12,Lambda\n");
        assert!(
            e.starts_with("rates.csv: row 2 (line 2), column 2 `offer_id`")
                && e.contains("has no rate for `sp-3y`"),
            "{e}"
        );
        let e = rate_err("pool,offer_id,discount,service\nsp,sp-1yr,0.12,Lambda\n");
        assert!(e.contains("did you mean \"sp-1y\""), "{e}");
        let e = rate_err("pool,offer_id,discount,service\nsp,sp-1y,1.2,Lambda\n");
        assert!(
            e.contains("column 3 `discount`") && e.contains("not between 0 and 1"),
            "{e}"
        );
        let e = rate_err("pool,offer_id,discount,service\nsq,sp-1y,0.1,Lambda\n");
        assert!(e.contains("column 1 `pool`"), "{e}");
        let e = rate_err("pool,offer_id,discount\nsp,sp-1y,0.1\n");
        assert!(e.contains("names no match dimension"), "{e}");
        let e = rate_err("pool,offer_id,discount,service\nsp,sp-1y,0.1,\n");
        assert!(e.contains("every match dimension is empty"), "{e}");
        let e =
            rate_err("pool,offer_id,discount,service\nsp,sp-1y,0.1,Lambda\nsp,sp-1y,0.2,Lambda\n");
        assert!(e.contains("row 3") && e.contains("first on row 2"), "{e}");
        let e = rate_err("pool,offer_id,plan_rate,service\nsp,sp-1y,0.1,Lambda\n");
        assert!(
            e.contains("`on_demand_rate`") && e.contains("missing"),
            "{e}"
        );
        let e =
            rate_err("pool,offer_id,plan_rate,on_demand_rate,service\nsp,sp-1y,0.2,0.1,Lambda\n");
        assert!(
            e.contains("`plan_rate`") && e.contains("not between 0"),
            "{e}"
        );
        let e = rate_err("pool,offer_id,discount,plan_rate,service\n");
        assert!(e.contains("together with plan_rate"), "{e}");
        // A pool without spend-based offers has no per-SKU rates.
        let mut c = RateCard::from_toml_str(
            &format!("{POOLS}offer = [{{ id = \"ri\", kind = \"ri_standard\", term = \"1y\", payment = \"no_upfront\", recurring_hourly = \"0.1\" }}]\n"),
            "rates.toml",
        )
        .unwrap();
        let e = c
            .extend_rates_from_csv_str("pool,offer_id,discount,region\nec2,ri,0.1,r\n", "r.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a spend-based offer") && e.contains("savings_plan_"),
            "{e}"
        );
    }
}
