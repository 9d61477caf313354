//! The fiscal calendar: fiscal years, quarters and their labels.
//!
//! # The labelling rule
//!
//! A fiscal year starts on the first day of month `s` (`fiscal_year_start_month`, 1–12) and
//! lasts twelve calendar months. **It is named after the calendar year in which it ends**
//! (the US federal, Microsoft and most retail convention):
//!
//! * `s = 1`: the fiscal year is the calendar year (FY2027 = 2027-01-01 .. 2027-12-31).
//! * `s > 1`: FY*Y* runs from the first day of month `s` of year *Y* − 1 to the last day
//!   of month `s − 1` of year *Y*. With `s = 7`, FY2027 = 2026-07-01 .. 2027-06-30; with
//!   `s = 2`, FY2027 = 2026-02-01 .. 2027-01-31.
//!
//! For a date in calendar year `y`, month `m`: fiscal year = `y + 1` if `s > 1 && m >= s`,
//! else `y`; quarter = `((m − s) mod 12) / 3 + 1` (integer division), so Q1 is the three
//! months starting at month `s`. The label is `FY<fiscal year>-Q<quarter>`, e.g.
//! `FY2027-Q1` (four-digit year, no spaces; parsing is case-insensitive).
//!
//! Quarter bounds are half-open dates: `start` is the quarter's first day, `end` the first day
//! of the next quarter (exclusive), both at UTC midnight when used as instants.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// Fiscal year and quarter (1–4) of `date` for a fiscal year starting in
/// `fiscal_start_month` (see the module documentation for the rule).
///
/// # Panics
///
/// If `fiscal_start_month` is not in 1..=12 ([`crate::scenario::ScenarioFile`] guarantees it).
pub fn fiscal_quarter(date: NaiveDate, fiscal_start_month: u32) -> (i32, u32) {
    assert!(
        (1..=12).contains(&fiscal_start_month),
        "fiscal start month must be 1..=12, got {fiscal_start_month}"
    );
    let (y, m) = (date.year(), date.month());
    let fiscal_year = if fiscal_start_month > 1 && m >= fiscal_start_month {
        y + 1
    } else {
        y
    };
    let quarter = (m + 12 - fiscal_start_month) % 12 / 3 + 1;
    (fiscal_year, quarter)
}

/// First day (inclusive) and first day of the next quarter (exclusive) of quarter `quarter`
/// (1–4) of fiscal year `fiscal_year`. `None` when the quarter is not 1–4 or the dates are
/// outside chrono's range.
///
/// # Panics
///
/// If `fiscal_start_month` is not in 1..=12.
pub fn quarter_bounds(
    fiscal_year: i32,
    quarter: u32,
    fiscal_start_month: u32,
) -> Option<(NaiveDate, NaiveDate)> {
    assert!(
        (1..=12).contains(&fiscal_start_month),
        "fiscal start month must be 1..=12, got {fiscal_start_month}"
    );
    if !(1..=4).contains(&quarter) {
        return None;
    }
    let first_year = if fiscal_start_month == 1 {
        fiscal_year
    } else {
        fiscal_year.checked_sub(1)?
    };
    // Months counted from year 0, month 0 = January.
    let start_index = i64::from(first_year) * 12
        + i64::from(fiscal_start_month - 1)
        + i64::from(3 * (quarter - 1));
    let from_index = |i: i64| -> Option<NaiveDate> {
        let year = i32::try_from(i.div_euclid(12)).ok()?;
        let month = u32::try_from(i.rem_euclid(12)).ok()? + 1;
        NaiveDate::from_ymd_opt(year, month, 1)
    };
    Some((from_index(start_index)?, from_index(start_index + 3)?))
}

/// One fiscal quarter, e.g. `FY2027-Q1`. Its dates depend on the fiscal start month, which is
/// not part of the value: pass it to [`FiscalQuarter::of`] and [`FiscalQuarter::bounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiscalQuarter {
    /// Fiscal year: the calendar year in which the fiscal year ends.
    pub year: i32,
    /// Quarter, 1–4.
    pub quarter: u32,
}

impl FiscalQuarter {
    /// The fiscal quarter containing `date`.
    ///
    /// # Panics
    ///
    /// If `fiscal_start_month` is not in 1..=12.
    pub fn of(date: NaiveDate, fiscal_start_month: u32) -> FiscalQuarter {
        let (year, quarter) = fiscal_quarter(date, fiscal_start_month);
        FiscalQuarter { year, quarter }
    }

    /// `(first day, first day of the next quarter)`; see [`quarter_bounds`].
    ///
    /// # Panics
    ///
    /// If `fiscal_start_month` is not in 1..=12.
    pub fn bounds(self, fiscal_start_month: u32) -> Option<(NaiveDate, NaiveDate)> {
        quarter_bounds(self.year, self.quarter, fiscal_start_month)
    }

    /// The following quarter (`FY2027-Q4` → `FY2028-Q1`).
    pub fn next(self) -> FiscalQuarter {
        if self.quarter >= 4 {
            FiscalQuarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            FiscalQuarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }
}

impl fmt::Display for FiscalQuarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{:04}-Q{}", self.year, self.quarter)
    }
}

/// Why a quarter label did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a fiscal quarter label like \"FY2027-Q1\"")]
pub struct QuarterLabelError(pub String);

impl FromStr for FiscalQuarter {
    type Err = QuarterLabelError;

    /// Parses `FY<4-digit year>-Q<1-4>` (case-insensitive, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || QuarterLabelError(s.to_string());
        let t = s.trim().to_ascii_uppercase();
        let rest = t.strip_prefix("FY").ok_or_else(bad)?;
        let (year, quarter) = rest.split_once("-Q").ok_or_else(bad)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if quarter.len() != 1 || !matches!(quarter.as_bytes()[0], b'1'..=b'4') {
            return Err(bad());
        }
        Ok(FiscalQuarter {
            year: year.parse().map_err(|_| bad())?,
            quarter: quarter.parse().map_err(|_| bad())?,
        })
    }
}

/// The `n` fiscal quarters of a quarterly plan made on `as_of`: the quarter containing
/// `as_of` (part actuals, part forecast unless `as_of` is its first day) and the `n − 1`
/// following ones.
///
/// # Panics
///
/// If `fiscal_start_month` is not in 1..=12.
pub fn planned_quarters(as_of: NaiveDate, fiscal_start_month: u32, n: u32) -> Vec<FiscalQuarter> {
    let mut q = FiscalQuarter::of(as_of, fiscal_start_month);
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(q);
        q = q.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn label(date: &str, start: u32) -> String {
        FiscalQuarter::of(d(date), start).to_string()
    }

    #[test]
    fn calendar_fiscal_year() {
        assert_eq!(fiscal_quarter(d("2027-01-01"), 1), (2027, 1));
        assert_eq!(fiscal_quarter(d("2027-03-31"), 1), (2027, 1));
        assert_eq!(fiscal_quarter(d("2027-04-01"), 1), (2027, 2));
        assert_eq!(fiscal_quarter(d("2027-12-31"), 1), (2027, 4));
        assert_eq!(
            quarter_bounds(2027, 4, 1),
            Some((d("2027-10-01"), d("2028-01-01")))
        );
    }

    #[test]
    fn fiscal_year_starting_in_february() {
        // FY2027 = 2026-02-01 .. 2027-01-31 (named after the year it ends in).
        assert_eq!(label("2026-01-31", 2), "FY2026-Q4");
        assert_eq!(label("2026-02-01", 2), "FY2027-Q1");
        assert_eq!(label("2026-04-30", 2), "FY2027-Q1");
        assert_eq!(label("2026-05-01", 2), "FY2027-Q2");
        assert_eq!(label("2026-08-01", 2), "FY2027-Q3");
        assert_eq!(label("2026-11-01", 2), "FY2027-Q4");
        assert_eq!(label("2027-01-31", 2), "FY2027-Q4");
        assert_eq!(label("2027-02-01", 2), "FY2028-Q1");
        assert_eq!(
            quarter_bounds(2027, 1, 2),
            Some((d("2026-02-01"), d("2026-05-01")))
        );
        assert_eq!(
            quarter_bounds(2027, 4, 2),
            Some((d("2026-11-01"), d("2027-02-01")))
        );
    }

    #[test]
    fn fiscal_year_starting_in_july() {
        // FY2027 = 2026-07-01 .. 2027-06-30.
        assert_eq!(label("2026-06-30", 7), "FY2026-Q4");
        assert_eq!(label("2026-07-01", 7), "FY2027-Q1");
        assert_eq!(label("2026-09-30", 7), "FY2027-Q1");
        assert_eq!(label("2026-10-01", 7), "FY2027-Q2");
        assert_eq!(label("2026-12-31", 7), "FY2027-Q2");
        assert_eq!(label("2027-01-01", 7), "FY2027-Q3");
        assert_eq!(label("2027-04-01", 7), "FY2027-Q4");
        assert_eq!(label("2027-06-30", 7), "FY2027-Q4");
        assert_eq!(
            quarter_bounds(2027, 1, 7),
            Some((d("2026-07-01"), d("2026-10-01")))
        );
        assert_eq!(
            quarter_bounds(2027, 3, 7),
            Some((d("2027-01-01"), d("2027-04-01")))
        );
        assert_eq!(
            quarter_bounds(2027, 4, 7),
            Some((d("2027-04-01"), d("2027-07-01")))
        );
    }

    #[test]
    fn december_start_wraps() {
        // FY2027 = 2026-12-01 .. 2027-11-30; Q1 = Dec, Jan, Feb.
        assert_eq!(label("2026-12-01", 12), "FY2027-Q1");
        assert_eq!(label("2027-02-28", 12), "FY2027-Q1");
        assert_eq!(label("2027-11-30", 12), "FY2027-Q4");
        assert_eq!(
            quarter_bounds(2027, 1, 12),
            Some((d("2026-12-01"), d("2027-03-01")))
        );
    }

    #[test]
    fn bad_quarter_has_no_bounds() {
        assert_eq!(quarter_bounds(2027, 0, 1), None);
        assert_eq!(quarter_bounds(2027, 5, 1), None);
    }

    #[test]
    fn labels_round_trip_and_reject_garbage() {
        let q: FiscalQuarter = " fy2027-q3 ".parse().unwrap();
        assert_eq!(
            q,
            FiscalQuarter {
                year: 2027,
                quarter: 3
            }
        );
        assert_eq!(q.to_string(), "FY2027-Q3");
        for bad in [
            "",
            "2027-Q1",
            "FY27-Q1",
            "FY2027Q1",
            "FY2027-Q5",
            "FY2027-Q0",
            "FY2027-Q",
            "FY2027-Q12",
            "FY+027-Q1",
        ] {
            assert!(bad.parse::<FiscalQuarter>().is_err(), "{bad}");
        }
    }

    #[test]
    fn planned_quarters_start_with_the_current_one() {
        let qs = planned_quarters(d("2026-10-01"), 7, 4);
        let labels: Vec<String> = qs.iter().map(ToString::to_string).collect();
        assert_eq!(labels, ["FY2027-Q2", "FY2027-Q3", "FY2027-Q4", "FY2028-Q1"]);
        assert!(planned_quarters(d("2026-10-01"), 7, 0).is_empty());
    }

    proptest! {
        #[test]
        fn every_date_lies_in_its_quarter(days in 0i64..80_000, start in 1u32..=12) {
            let date = d("1970-01-01") + chrono::Duration::days(days);
            let q = FiscalQuarter::of(date, start);
            let (lo, hi) = q.bounds(start).unwrap();
            prop_assert!(lo <= date && date < hi, "{date} not in {q} = {lo}..{hi}");
            // Quarters tile the calendar: the next quarter starts where this one ends.
            prop_assert_eq!(q.next().bounds(start).unwrap().0, hi);
            // The first day of Q1 is the first day of the start month.
            let (q1, _) = quarter_bounds(q.year, 1, start).unwrap();
            prop_assert_eq!((q1.month(), q1.day()), (start, 1));
            // The fiscal year ends in calendar year `year`.
            let (_, end) = quarter_bounds(q.year, 4, start).unwrap();
            prop_assert_eq!(end.pred_opt().unwrap().year(), q.year);
            prop_assert_eq!(q.to_string().parse::<FiscalQuarter>().unwrap(), q);
        }
    }
}
