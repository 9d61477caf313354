//! The finance workbook: the quarterly plan, the budget groups, the recommendations, the
//! scenario matrix and the policy backtest as sheets (rust_xlsxwriter). Amounts are numeric cells with a currency
//! format (spreadsheets store doubles; the exact amounts are in the CSV and JSON exports);
//! text is always written as text, never as a formula. The document's creation date is the
//! run's `as_of`, so the file is byte-identical for the same inputs.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::ReportError;
use super::data::ReportData;
use super::tables::{Cell, tables};

fn xerr(e: rust_xlsxwriter::XlsxError) -> ReportError {
    ReportError::Write {
        path: "workbook".into(),
        message: e.to_string(),
    }
}

/// Excel's limit on a cell's text.
const MAX_CELL: usize = 32_000;

/// The workbook as bytes.
pub(super) fn workbook(d: &ReportData) -> Result<Vec<u8>, ReportError> {
    use chrono::Datelike;
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        u16::try_from(d.as_of.year()).unwrap_or(2000),
        d.as_of.month() as u8,
        d.as_of.day() as u8,
    )
    .map_err(xerr)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("capplan plan {} {}", d.name, d.quarter))
            .set_author("capplan")
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let pct = Format::new().set_num_format("0.0%");
    let wanted = [
        ("quarterly_plan", "Quarterly plan"),
        ("budget_groups", "Budget groups"),
        ("recommendations", "Recommendations"),
        ("scenario_matrix", "Scenario matrix"),
        ("policy_backtest", "Policy backtest"),
    ];
    let all = tables(d);
    for (name, title) in wanted {
        let Some(t) = all.iter().find(|t| t.name == name) else {
            continue;
        };
        let ws = wb.add_worksheet();
        ws.set_name(title).map_err(xerr)?;
        for (c, col) in t.columns.iter().enumerate() {
            let c = c as u16;
            ws.write_string_with_format(0, c, *col, &bold)
                .map_err(xerr)?;
            ws.set_column_width(c, (col.len() as f64 + 2.0).max(12.0))
                .map_err(xerr)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                let col = t.columns[c as usize];
                match cell {
                    Cell::Text(s) => {
                        let s: String = s.chars().take(MAX_CELL).collect();
                        ws.write_string(r, c, s).map_err(xerr)?;
                    }
                    Cell::Money(m) => {
                        let v = m.to_string().parse::<f64>().unwrap_or(0.0);
                        if col == "esr" || col.starts_with("captured") {
                            ws.write_number_with_format(r, c, v, &pct).map_err(xerr)?;
                        } else {
                            ws.write_number_with_format(r, c, v, &money).map_err(xerr)?;
                        }
                    }
                    Cell::Num(x) if x.is_finite() => {
                        if matches!(col, "coverage" | "utilisation" | "prob_loss") {
                            ws.write_number_with_format(r, c, *x, &pct).map_err(xerr)?;
                        } else {
                            ws.write_number(r, c, *x).map_err(xerr)?;
                        }
                    }
                    Cell::Int(i) => {
                        ws.write_number(r, c, *i as f64).map_err(xerr)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b).map_err(xerr)?;
                    }
                    Cell::Num(_) | Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(xerr)?;
    }
    wb.save_to_buffer().map_err(xerr)
}
