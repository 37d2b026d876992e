//! Spreadsheets (`format=xlsx`) of incidents, claims and counts: the rows
//! of their CSV written as typed cells (numbers, booleans, dates and times
//! as the times are shown, text) under a bold, frozen header, by
//! `rust_xlsxwriter` in its constant-memory mode (rows go to a temporary
//! file as they come; only the finished, compressed file is held).

use rust_xlsxwriter::{Format, Workbook};

use crate::error::{ApiError, ApiResult};

/// Rows a spreadsheet holds at most; beyond, the CSV export streams any number.
pub const MAX_ROWS: u32 = 100_000;

pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("writing the spreadsheet: {e}"))
}

/// A one-sheet workbook filled from CSV, a chunk at a time.
pub struct Sheet {
    workbook: Workbook,
    /// The next row to write.
    row: u32,
    bold: Format,
    datetime: Format,
    date: Format,
}

impl Sheet {
    pub fn new(name: &str) -> ApiResult<Self> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name(name).map_err(err)?;
        sheet.set_freeze_panes(1, 0).map_err(err)?;
        Ok(Sheet {
            workbook,
            row: 0,
            bold: Format::new().set_bold(),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        })
    }

    /// Dates the file (its properties) at `t` instead of now: identical
    /// answers are then identical bytes, with one ETag.
    pub fn dated(mut self, t: chrono::DateTime<chrono::Utc>) -> Self {
        let properties = rust_xlsxwriter::DocProperties::new().set_creation_datetime(&t);
        self.workbook.set_properties(&properties);
        self
    }

    /// Rows written so far, the header included.
    pub fn rows(&self) -> u32 {
        self.row
    }

    /// Writes the records of `csv` (the first one the header when
    /// `header`): each cell typed by what it holds.
    pub fn add_csv(&mut self, csv: &[u8], header: bool) -> ApiResult<()> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(csv);
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(err)?;
            if self.row > MAX_ROWS {
                return Err(ApiError::bad_query(
                    "format",
                    format!("a spreadsheet holds at most {MAX_ROWS} rows; format=csv streams any number"),
                ));
            }
            let is_header = header && i == 0 && self.row == 0;
            let row = self.row;
            let (bold, datetime, date) = (self.bold.clone(), self.datetime.clone(), self.date.clone());
            let sheet = self.workbook.worksheet_from_index(0).map_err(err)?;
            for (col, cell) in record.iter().enumerate() {
                let col = u16::try_from(col).map_err(err)?;
                if is_header {
                    sheet.write_string_with_format(row, col, cell, &bold).map_err(err)?;
                    continue;
                }
                let cell = crate::domain::spreadsheet::restore(cell);
                match typed(cell) {
                    Typed::Empty => {}
                    Typed::Bool(b) => {
                        sheet.write_boolean(row, col, b).map_err(err)?;
                    }
                    Typed::Number(n) => {
                        sheet.write_number(row, col, n).map_err(err)?;
                    }
                    Typed::DateTime(t) => {
                        sheet.write_datetime_with_format(row, col, t, &datetime).map_err(err)?;
                    }
                    Typed::Date(d) => {
                        sheet.write_datetime_with_format(row, col, d, &date).map_err(err)?;
                    }
                    Typed::Text => {
                        sheet.write_string(row, col, fit(cell).as_ref()).map_err(err)?;
                    }
                }
            }
            self.row += 1;
        }
        Ok(())
    }

    /// The finished file.
    pub fn finish(mut self) -> ApiResult<Vec<u8>> {
        self.workbook.save_to_buffer().map_err(err)
    }
}

/// Characters a cell holds at most (Excel's limit).
pub const MAX_CELL: usize = 32_767;

/// Text cut to what a cell holds, marked with `…` where it was cut (the
/// CSV and NDJSON exports keep it whole).
fn fit(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= MAX_CELL {
        return s.into();
    }
    let mut cut: String = s.chars().take(MAX_CELL - 1).collect();
    cut.push('…');
    cut.into()
}

enum Typed {
    Empty,
    Bool(bool),
    Number(f64),
    DateTime(chrono::NaiveDateTime),
    Date(chrono::NaiveDate),
    Text,
}

/// What a CSV cell holds. Numbers are plain decimals (no leading zeros, so
/// that codes stay text); times are shown as they read (their local time,
/// in the offset they are written with).
fn typed(s: &str) -> Typed {
    if s.is_empty() {
        return Typed::Empty;
    }
    match s {
        "true" => return Typed::Bool(true),
        "false" => return Typed::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.')
        && !(digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0."));
    if plain {
        if let Ok(n) = s.parse::<f64>() {
            return Typed::Number(n);
        }
    }
    if s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T') {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Typed::DateTime(t.naive_local());
        }
    }
    if s.len() == 10 {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Typed::Date(d);
        }
    }
    Typed::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_by_what_they_hold() {
        assert!(matches!(typed("12"), Typed::Number(n) if n == 12.0));
        assert!(matches!(typed("-45.5"), Typed::Number(n) if n == -45.5));
        assert!(matches!(typed("0123"), Typed::Text), "a code with a leading zero stays text");
        assert!(matches!(typed("true"), Typed::Bool(true)));
        assert!(matches!(typed("2025-07-14"), Typed::Date(_)));
        match typed("2025-07-14T02:00:00+04:00") {
            Typed::DateTime(t) => assert_eq!(t.to_string(), "2025-07-14 02:00:00", "as shown, in its offset"),
            _ => panic!("not a time"),
        }
        assert!(matches!(typed("0195a1b2-0000-7000-8000-000000000000"), Typed::Text));
        assert!(matches!(typed(""), Typed::Empty));
    }

    #[test]
    fn text_longer_than_a_cell_is_cut_and_marked() {
        let long = "x".repeat(MAX_CELL + 10);
        assert_eq!(fit(&long).chars().count(), MAX_CELL);
        assert!(fit(&long).ends_with('…'));
        let mut sheet = Sheet::new("incidents").unwrap();
        let csv = format!("claims\n{long}\n");
        sheet.add_csv(csv.as_bytes(), true).unwrap();
        assert_eq!(&sheet.finish().unwrap()[..2], b"PK");
    }

    #[test]
    fn a_workbook_from_csv_is_a_zip_with_a_sheet() {
        let mut sheet = Sheet::new("incidents").unwrap();
        sheet.add_csv(b"id,occurred_at,killed\na,2025-07-14T02:00:00+04:00,3\n", true).unwrap();
        assert_eq!(sheet.rows(), 2);
        let bytes = sheet.finish().unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
