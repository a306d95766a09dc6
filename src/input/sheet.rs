//! Workbooks (.xlsx, .xls, .ods) through calamine, one sheet at a time.
//!
//! Every cell-to-text rule lives in `cell_text`: date cells become ISO dates,
//! whole numbers lose their `.0`, text keeps its leading zeros. Numbers are
//! never guessed to be dates here; only a date column's parser may read an
//! Excel serial number as a date (calamine's `as_datetime` would turn any
//! number into one). Workbooks are read whole: calamine has no streaming
//! reader for every format, and a 100,000-row sheet fits in memory easily.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use calamine::{Data, Ods, Range, Reader, Sheets, Xls, Xlsb, Xlsx, open_workbook};

use super::{ReadOptions, Record, Rows};
use crate::error::{Error, Result};

pub struct SheetFile {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub warnings: Vec<String>,
    sheet: String,
    kind: &'static str,
    range: Range<Data>,
    /// Excel row number of the header row.
    header_row: u32,
}

impl SheetFile {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<SheetFile> {
        let shown = path.display().to_string();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::input(format!("{shown}: cannot read this {what} workbook: {e}"))
        };
        let mut magic = [0u8; 4];
        {
            let mut f = std::fs::File::open(path)
                .map_err(|e| Error::input(format!("{shown}: cannot open: {e}")))?;
            super::read_up_to(&mut f, &mut magic)
                .map_err(|e| Error::input(format!("{shown}: cannot read: {e}")))?;
        }
        let (mut book, kind): (Sheets<_>, &'static str) = if magic == [0xD0, 0xCF, 0x11, 0xE0] {
            (Sheets::Xls(open_workbook::<Xls<_>, _>(path).map_err(|e| bad(".xls", &e))?), "xls")
        } else {
            match ext.as_str() {
                "ods" => (
                    Sheets::Ods(open_workbook::<Ods<_>, _>(path).map_err(|e| bad(".ods", &e))?),
                    "ods",
                ),
                "xlsb" => (
                    Sheets::Xlsb(open_workbook::<Xlsb<_>, _>(path).map_err(|e| bad(".xlsb", &e))?),
                    "xlsb",
                ),
                "xlsx" | "xlsm" => (
                    Sheets::Xlsx(open_workbook::<Xlsx<_>, _>(path).map_err(|e| bad(".xlsx", &e))?),
                    "xlsx",
                ),
                // A zip under another name: try the zip-based formats in turn.
                _ => match open_workbook::<Xlsx<_>, _>(path) {
                    Ok(b) => (Sheets::Xlsx(b), "xlsx"),
                    Err(e) => match open_workbook::<Ods<_>, _>(path) {
                        Ok(b) => (Sheets::Ods(b), "ods"),
                        Err(_) => return Err(bad(".xlsx", &e)),
                    },
                },
            }
        };

        let names = book.sheet_names();
        let sheet = match &opts.sheet {
            Some(want) => names
                .iter()
                .find(|n| n.as_str() == want)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
                .cloned()
                .ok_or_else(|| {
                    Error::config(format!(
                        "{shown} has no sheet named {want:?}; its sheets are: {}",
                        names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                    ))
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| Error::input(format!("{shown}: the workbook has no sheets")))?,
        };
        let range = book
            .worksheet_range(&sheet)
            .map_err(|e| Error::input(format!("{shown}: cannot read sheet {sheet:?}: {e}")))?;

        let mut f = SheetFile {
            path: path.to_path_buf(),
            headers: Vec::new(),
            warnings: Vec::new(),
            sheet,
            kind,
            header_row: 1,
            range,
        };
        let start_row = f.range.start().map(|(r, _)| r).unwrap_or(0);
        let mut buf = String::new();
        let header = f.range.rows().enumerate().find(|(_, cells)| !blank(cells));
        let Some((idx, cells)) = header else {
            return Err(Error::input(format!(
                "{shown}: sheet {:?} is empty (no header row)",
                f.sheet
            )));
        };
        f.header_row = start_row + idx as u32 + 1;
        f.headers = cells
            .iter()
            .map(|c| {
                cell_text(c, &mut buf);
                buf.trim().to_string()
            })
            .collect();
        // Columns right of the last header that hold nothing are not columns.
        while f.headers.last().is_some_and(|h| h.is_empty()) {
            f.headers.pop();
        }
        super::name_blank_headers(&mut f.headers);
        if f.headers.is_empty() {
            return Err(Error::input(format!("{shown}: sheet {:?} has no header row", f.sheet)));
        }
        Ok(f)
    }

    pub fn describe(&self) -> String {
        format!("{} workbook, sheet {:?}", self.kind, self.sheet)
    }

    pub fn rows(&self) -> SheetRows<'_> {
        let start_row = self.range.start().map(|(r, _)| r).unwrap_or(0);
        // Index within the range of the header row (header_row is 1-based).
        let first = (self.header_row - 1 - start_row) as usize;
        let mut rows = self.range.rows();
        // Skip up to and including the header row.
        if first > 0 {
            rows.nth(first - 1);
        }
        rows.next();
        SheetRows { file: self, rows, next: first + 1, start_row, buf: String::new() }
    }
}

fn blank(cells: &[Data]) -> bool {
    cells.iter().all(|c| match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    })
}

pub struct SheetRows<'a> {
    file: &'a SheetFile,
    rows: calamine::Rows<'a, Data>,
    /// Index, within the range, of the next row `rows` yields.
    next: usize,
    start_row: u32,
    buf: String,
}

impl Rows for SheetRows<'_> {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        let width = self.file.headers.len();
        for cells in self.rows.by_ref() {
            let idx = self.next;
            self.next += 1;
            if blank(cells) {
                continue;
            }
            rec.fields.clear();
            let mut extra = Vec::new();
            for (i, c) in cells.iter().enumerate() {
                cell_text(c, &mut self.buf);
                if i < width {
                    rec.fields.push_field(&self.buf);
                } else if !self.buf.trim().is_empty() {
                    extra.push(format!(
                        "{}{}={:?}",
                        super::column_letter(i),
                        self.start_row as usize + idx + 1,
                        crate::text::clip(&self.buf, 40)
                    ));
                }
            }
            for _ in cells.len()..width {
                rec.fields.push_field("");
            }
            rec.row = self.start_row + idx as u32 + 1;
            rec.shape_error = (!extra.is_empty()).then(|| {
                format!("cells outside the header's columns hold values: {}", extra.join(", "))
            });
            return Ok(true);
        }
        Ok(false)
    }
}

/// The text a person sees in the cell, by the rules in the module comment.
pub fn cell_text(cell: &Data, out: &mut String) {
    out.clear();
    match cell {
        Data::Empty => {}
        Data::String(s) => out.push_str(s),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => format_float(*f, out),
        Data::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(dt) => {
            if dt.is_duration() {
                let secs = (dt.as_f64() * 86_400.0).round() as i64;
                let _ = write!(out, "{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
            } else {
                let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
                if dt.as_f64() < 1.0 {
                    let _ = write!(out, "{h:02}:{mi:02}:{s:02}");
                } else if (h, mi, s) == (0, 0, 0) {
                    let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
                } else {
                    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
                }
            }
        }
        Data::DateTimeIso(s) => out.push_str(s.strip_suffix("T00:00:00").unwrap_or(s)),
        Data::DurationIso(s) => out.push_str(s),
        Data::Error(e) => {
            let _ = write!(out, "{e}");
        }
    }
}

/// Whole numbers without `.0`; others with at most 15 significant digits,
/// which is what Excel itself shows (so 7.0000000000000009 reads as 7).
fn format_float(f: f64, out: &mut String) {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{}", f as i64);
        return;
    }
    let s = format!("{:.*e}", 14, f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let v: f64 = format!("{mant}e{exp}").parse().unwrap_or(f);
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    fn text(d: Data) -> String {
        let mut s = String::new();
        cell_text(&d, &mut s);
        s
    }

    #[test]
    fn cells_read_as_a_person_sees_them() {
        assert_eq!(text(Data::Float(42.0)), "42");
        assert_eq!(text(Data::Float(18.5)), "18.5");
        assert_eq!(text(Data::Float(7.000_000_000_000_001)), "7");
        assert_eq!(text(Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(text(Data::Int(123)), "123");
        assert_eq!(text(Data::String("000123".into())), "000123");
        let d = ExcelDateTime::new(45943.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(Data::DateTime(d)), "2025-10-13");
        let dt = ExcelDateTime::new(45943.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(Data::DateTime(dt)), "2025-10-13T12:00:00");
        assert_eq!(text(Data::DateTimeIso("2024-02-29T00:00:00".into())), "2024-02-29");
        assert_eq!(text(Data::Bool(true)), "TRUE");
    }
}
