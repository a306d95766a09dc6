//! results.xlsx and errors.xlsx: the input's columns with their cell kinds
//! kept, then hrport's own columns; cells an error names filled red with
//! the message in a note, cells an update changed filled green with the
//! value before in a note; a "Summary" sheet after the data sheet.
//!
//! The data sheet is the first sheet and holds the input's header row as
//! it was, so errors.xlsx imports again as it is (the `hrport_` columns are
//! ignored by the import). Rows are streamed to a temporary file as they
//! come (rust_xlsxwriter's constant memory mode); only the notes, one per
//! marked cell, stay in memory until the end. Nothing is ever written as a
//! formula: text that looks like one stays a text cell. It decides nothing
//! about rows: it writes what `ResultFiles` hands it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Note, Workbook, Worksheet, XlsxError};

use super::{Mark, RESULT_COLUMNS, RowResult, Status};
use crate::error::{Error, Result};
use crate::input::{CellKind, Record};
use crate::mapping::Mapping;
use crate::mapping::field::Kind;

/// Excel's own "Bad" and "Good" cell-style fills.
const ERROR_FILL: u32 = 0xFFC7CE;
const CHANGED_FILL: u32 = 0xC6EFCE;
/// The widest a column is made, in characters.
const MAX_WIDTH: usize = 60;
/// Excel's limits: rows and columns of a sheet, UTF-16 units of a cell.
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLUMNS: usize = 16_384;
const MAX_CELL: usize = 32_767;
/// A note longer than this is cut (Excel's limit is about a cell's).
const MAX_NOTE: usize = 4_000;

/// The kinds of cell written, each with a plain, an error and a changed style.
#[derive(Clone, Copy)]
enum Style {
    Text = 0,
    Number,
    Date,
    DateTime,
    Bool,
}

/// One cell's value as it goes into the sheet.
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Date(ExcelDateTime, Style),
    Bool(bool),
}

/// How a cell is marked.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    None = 0,
    Error,
    Changed,
}

/// Which workbook this is: errors.xlsx has no changed cells to mark (its
/// rows changed nothing) and says how to import it again.
#[derive(Clone, Copy, PartialEq)]
pub enum Book {
    Results,
    Errors,
}

pub struct ResultsBook {
    book: Workbook,
    sheet: Worksheet,
    path: PathBuf,
    which: Book,
    sheet_name: String,
    /// The next row to write (0 is the header).
    row: u32,
    /// Rows that did not fit in the sheet (Excel's row limit).
    overflow: u64,
    /// [style][fill]
    formats: Vec<[Format; 3]>,
    /// Per output column: the input column, and the template kind it feeds.
    columns: Vec<(usize, Option<Kind>)>,
    /// Per input column, its output column (`None`: not carried).
    position: Vec<Option<u16>>,
    /// The longest text per output column so far, in characters.
    widths: Vec<usize>,
}

fn xerr(path: &Path) -> impl Fn(XlsxError) -> Error + '_ {
    move |e| Error::output(path, std::io::Error::other(e.to_string()))
}

impl ResultsBook {
    /// Starts the workbook at `path`, its data sheet named `sheet_name`;
    /// `tempdir` holds the streamed rows until `finish`.
    pub fn create(
        path: &Path,
        which: Book,
        sheet_name: &str,
        mapping: &Mapping,
        tempdir: &Path,
    ) -> Result<ResultsBook> {
        let err = xerr(path);
        let mut book = Workbook::new();
        book.set_tempdir(tempdir).map_err(&err)?;
        let mut sheet = book.new_worksheet_with_constant_memory().map_err(&err)?;
        // A name Excel refuses (an .ods sheet may have one) gets the default.
        let sheet_name = if sheet.set_name(sheet_name).is_ok() { sheet_name } else { "People" };
        sheet.set_name(sheet_name).map_err(&err)?;
        if mapping.carried.len() + RESULT_COLUMNS.len() > MAX_COLUMNS {
            return Err(Error::config(format!(
                "{}: the input has {} columns, more than a workbook holds ({}); \
                 use --output-format csv",
                path.display(),
                crate::text::thousands(mapping.carried.len()),
                crate::text::thousands(MAX_COLUMNS - RESULT_COLUMNS.len())
            )));
        }
        let mut kinds: Vec<Option<Kind>> = vec![None; mapping.headers.len()];
        for (fi, f) in mapping.fields.iter().enumerate() {
            if let Some(c) = mapping.column_of(fi) {
                kinds[c] = Some(f.kind);
            }
        }
        let columns: Vec<(usize, Option<Kind>)> =
            mapping.carried.iter().map(|&c| (c, kinds[c])).collect();
        let mut position = vec![None; mapping.headers.len()];
        for (o, &(c, _)) in columns.iter().enumerate() {
            position[c] = Some(o as u16);
        }
        let header: Vec<&str> = mapping
            .carried
            .iter()
            .map(|&c| mapping.headers[c].as_str())
            .chain(RESULT_COLUMNS)
            .collect();
        let bold = Format::new().set_bold();
        for (c, h) in header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(&err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(&err)?;
        // The filter's arrow takes about three characters of the header.
        let widths = header.iter().map(|h| h.chars().count() + 3).collect();
        Ok(ResultsBook {
            book,
            sheet,
            path: path.to_path_buf(),
            which,
            sheet_name: sheet_name.to_string(),
            row: 1,
            overflow: 0,
            formats: styles(),
            columns,
            position,
            widths,
        })
    }

    /// One row: the input's cells (secrets blanked), then hrport's.
    pub fn write(&mut self, rec: &Record, result: &RowResult, secrets: &[usize]) -> Result<()> {
        if self.row >= MAX_ROWS {
            self.overflow += 1;
            return Ok(());
        }
        let mut fills: BTreeMap<u16, (Fill, String)> = BTreeMap::new();
        for m in &result.error_cells {
            if let Some(Some(o)) = self.position.get(m.col) {
                fills.insert(*o, (Fill::Error, m.note.clone()));
            }
        }
        if self.which == Book::Results {
            for m in &result.changed_cells {
                if let Some(Some(o)) = self.position.get(m.col) {
                    fills.entry(*o).or_insert((Fill::Changed, changed_note(m, result.status)));
                }
            }
        }
        for o in 0..self.columns.len() {
            let (c, kind) = self.columns[o];
            let text = if secrets.contains(&c) { "" } else { rec.fields.get(c).unwrap_or("") };
            let known = rec.kinds.get(c).copied();
            let fill = fills.remove(&(o as u16));
            self.put(o as u16, typed(text, known, kind), fill)?;
        }
        self.write_own(rec.row, result)?;
        self.row += 1;
        Ok(())
    }

    /// hrport_row as a number, then the rest as text; the error cell of a
    /// row that needs a person is filled red.
    fn write_own(&mut self, row: u32, result: &RowResult) -> Result<()> {
        let first = self.columns.len() as u16;
        self.put(first, Cell::Number(row as f64), None)?;
        let [status, action, id, changes, error] = result.cells();
        for (i, text) in [status, action, id, changes, error].into_iter().enumerate() {
            let col = first + 1 + i as u16;
            let red = i == 4 && !text.is_empty() && result.status.needs_attention();
            self.put(col, Cell::Text(text), red.then(|| (Fill::Error, String::new())))?;
        }
        Ok(())
    }

    fn put(&mut self, col: u16, cell: Cell, fill: Option<(Fill, String)>) -> Result<()> {
        let err = xerr(&self.path);
        let (row, s) = (self.row, &mut self.sheet);
        let (fill, note) = fill.unwrap_or((Fill::None, String::new()));
        let f = |style: Style| &self.formats[style as usize][fill as usize];
        let shown = match cell {
            Cell::Text("") => {
                if fill != Fill::None {
                    s.write_blank(row, col, f(Style::Text)).map_err(&err)?;
                }
                0
            }
            Cell::Text(t) => {
                let t = clip_utf16(t, MAX_CELL);
                s.write_string_with_format(row, col, t, f(Style::Text)).map_err(&err)?;
                t.lines().map(|l| l.chars().count()).max().unwrap_or(0)
            }
            Cell::Number(n) => {
                s.write_number_with_format(row, col, n, f(Style::Number)).map_err(&err)?;
                n.to_string().len()
            }
            Cell::Date(d, style) => {
                s.write_datetime_with_format(row, col, &d, f(style)).map_err(&err)?;
                if matches!(style, Style::Date) { 10 } else { 19 }
            }
            Cell::Bool(b) => {
                s.write_boolean_with_format(row, col, b, f(Style::Bool)).map_err(&err)?;
                5
            }
        };
        if !note.is_empty() {
            s.insert_note(row, col, &note_for(clip_utf16(&note, MAX_NOTE))).map_err(&err)?;
        }
        if let Some(w) = self.widths.get_mut(col as usize) {
            *w = (*w).max(shown + 1);
        }
        Ok(())
    }

    /// Widths, the filter over the rows written, the Summary sheet; saves.
    pub fn finish(
        mut self,
        counts: &BTreeMap<Status, u64>,
        actions: &BTreeMap<&'static str, u64>,
    ) -> Result<()> {
        let err = xerr(&self.path);
        for (c, w) in self.widths.iter().enumerate() {
            let w = (*w).clamp(6, MAX_WIDTH);
            self.sheet.set_column_width(c as u16, w as f64).map_err(&err)?;
        }
        let last_col = (self.widths.len() as u16).saturating_sub(1);
        self.sheet.autofilter(0, 0, self.row.saturating_sub(1), last_col).map_err(&err)?;
        let summary = summary_sheet(self.which, &self.sheet_name, counts, actions, self.overflow)
            .map_err(&err)?;
        self.book.push_worksheet(self.sheet);
        self.book.push_worksheet(summary);
        self.book.save(&self.path).map_err(&err)
    }
}

/// A changed cell's note: the record's value before this run (or, in a dry
/// run, the value a real run replaces).
fn changed_note(m: &Mark, status: Status) -> String {
    let old = if m.note.is_empty() { "(empty)".to_string() } else { format!("{:?}", m.note) };
    if status == Status::Skipped {
        format!("A real run changes this; the record has {old} now")
    } else {
        format!("Changed by this run; it was {old}")
    }
}

/// `t` cut to at most `max` UTF-16 units (how Excel counts a cell's text).
fn clip_utf16(t: &str, max: usize) -> &str {
    if t.len() <= max {
        return t; // UTF-8 bytes are never fewer than UTF-16 units
    }
    let mut units = 0;
    for (i, c) in t.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &t[..i];
        }
    }
    t
}

/// A note sized to its text, without an author line (the text is all).
fn note_for(text: &str) -> Note {
    let lines: usize = text.lines().map(|l| l.chars().count() / 40 + 1).sum();
    Note::new(text)
        .add_author_prefix(false)
        .set_author("hrport")
        .set_width(300)
        .set_height((lines as u32 * 16 + 12).min(400))
}

/// A cell's value for the sheet: the kind the input cell had (a workbook
/// says), else, for delimited text, a date or number only in a column the
/// template reads as one, and only when the text says so unambiguously
/// (ISO date; a plain decimal without leading zeros). Everything else is
/// text, so an ID "000732" never becomes the number 732.
fn typed<'a>(text: &'a str, known: Option<CellKind>, kind: Option<Kind>) -> Cell<'a> {
    if text.is_empty() {
        return Cell::Text(text);
    }
    let want = match known {
        Some(k) => k,
        None => match kind {
            Some(Kind::Date | Kind::PastDate) => CellKind::Date,
            Some(Kind::Number { .. }) if plain_decimal(text) => CellKind::Number,
            _ => CellKind::Text,
        },
    };
    match want {
        CellKind::Number => text.parse().map(Cell::Number).unwrap_or(Cell::Text(text)),
        CellKind::Date => date_cell(text).unwrap_or(Cell::Text(text)),
        CellKind::Bool => match text {
            "TRUE" => Cell::Bool(true),
            "FALSE" => Cell::Bool(false),
            _ => Cell::Text(text),
        },
        CellKind::Text => Cell::Text(text),
    }
}

/// `-12`, `18.5`, `0.25`: no sign but minus, no leading zero, no exponent.
fn plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let all = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all(int) && all(frac) && (int == "0" || !int.starts_with('0')) && digits.len() <= 15
}

/// An ISO date or date-time (as the readers write date cells).
fn date_cell(text: &str) -> Option<Cell<'static>> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let x = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()?;
        return Some(Cell::Date(x, Style::Date));
    }
    let t = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()?;
    let x = ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
        .ok()?
        .and_hms(t.hour() as u16, t.minute() as u8, t.second())
        .ok()?;
    Some(Cell::Date(x, Style::DateTime))
}

/// [style][fill] formats. Text cells are formatted as text (`@`), so that
/// an ID typed into one in Excel keeps its leading zeros too.
fn styles() -> Vec<[Format; 3]> {
    let base = [
        Format::new().set_num_format("@"),
        Format::new(),
        Format::new().set_num_format("yyyy-mm-dd"),
        Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        Format::new(),
    ];
    debug_assert_eq!(Style::Bool as usize, base.len() - 1);
    base.into_iter()
        .map(|f| {
            [
                f.clone(),
                f.clone().set_background_color(ERROR_FILL),
                f.set_background_color(CHANGED_FILL),
            ]
        })
        .collect()
}

/// The Summary sheet: the run's counts, and what the marks mean.
fn summary_sheet(
    which: Book,
    data_sheet: &str,
    counts: &BTreeMap<Status, u64>,
    actions: &BTreeMap<&'static str, u64>,
    overflow: u64,
) -> std::result::Result<Worksheet, XlsxError> {
    let mut s = Worksheet::new();
    let name =
        if data_sheet.eq_ignore_ascii_case("Summary") { "hrport Summary" } else { "Summary" };
    s.set_name(name)?;
    let bold = Format::new().set_bold();
    s.write_string_with_format(0, 0, "Status", &bold)?;
    s.write_string_with_format(0, 1, "Rows", &bold)?;
    let mut r = 1;
    let count = |st: Status| counts.get(&st).copied().unwrap_or(0);
    for st in super::summary::ORDER {
        if count(st) > 0 || matches!(st, Status::Invalid | Status::Failed) {
            s.write_string(r, 0, st.as_str())?;
            s.write_number(r, 1, count(st) as f64)?;
            r += 1;
        }
    }
    s.write_string_with_format(r, 0, "total", &bold)?;
    s.write_number_with_format(r, 1, counts.values().sum::<u64>() as f64, &bold)?;
    r += 2;
    s.write_string_with_format(r, 0, "Action", &bold)?;
    s.write_string_with_format(r, 1, "Rows", &bold)?;
    for (a, n) in actions.iter().filter(|(_, n)| **n > 0) {
        r += 1;
        s.write_string(r, 0, *a)?;
        s.write_number(r, 1, *n as f64)?;
    }
    r += 2;
    let red = Format::new().set_background_color(ERROR_FILL);
    let green = Format::new().set_background_color(CHANGED_FILL);
    s.write_string_with_format(r, 0, "red", &red)?;
    s.write_string(r, 1, "a cell with an error: its note says what is wrong")?;
    if which == Book::Results {
        r += 1;
        s.write_string_with_format(r, 0, "green", &green)?;
        s.write_string(
            r,
            1,
            "a cell this run changed in the record: its note has the value before",
        )?;
    } else {
        r += 1;
        s.write_string(
            r,
            1,
            "Fix the red cells on the first sheet, save, and import this file again as it is: \
             hrport reads the first sheet and ignores the hrport_ columns",
        )?;
    }
    if overflow > 0 {
        r += 2;
        let csv = if which == Book::Results { "results.csv" } else { "errors.csv" };
        s.write_string(
            r,
            0,
            format!(
                "{} more rows did not fit on the first sheet (a sheet holds {} rows): \
                 they are in {csv} (--output-format both)",
                crate::text::thousands(overflow as usize),
                crate::text::thousands(MAX_ROWS as usize)
            ),
        )?;
    }
    s.set_column_width(0, 14)?;
    s.set_column_width(1, 90)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_text_unless_the_input_or_the_column_says_otherwise() {
        let num = Some(Kind::Number { min: None });
        assert!(matches!(typed("000732", None, num), Cell::Text("000732")));
        assert!(matches!(typed("1e2", None, num), Cell::Text(_)));
        assert!(matches!(typed("18.5", None, num), Cell::Number(n) if n == 18.5));
        assert!(matches!(typed("18.5", None, Some(Kind::Text)), Cell::Text(_)));
        assert!(matches!(typed("732", Some(CellKind::Text), num), Cell::Text(_)));
        assert!(matches!(typed("732", Some(CellKind::Number), None), Cell::Number(_)));
        assert!(matches!(typed("2025-05-05", None, Some(Kind::Date)), Cell::Date(_, Style::Date)));
        assert!(matches!(typed("5/5/2025", None, Some(Kind::Date)), Cell::Text(_)));
        assert!(matches!(
            typed("2025-05-05T08:30:00", Some(CellKind::Date), None),
            Cell::Date(_, Style::DateTime)
        ));
        assert!(matches!(typed("TRUE", Some(CellKind::Bool), None), Cell::Bool(true)));
        assert!(matches!(typed("yes", None, Some(Kind::Bool)), Cell::Text("yes")));
        assert!(plain_decimal("-0.25") && !plain_decimal("+1") && !plain_decimal("01"));
    }

    #[test]
    fn text_longer_than_a_cell_is_cut_to_excels_limit() {
        let long = "é".repeat(MAX_CELL + 5);
        assert_eq!(clip_utf16(&long, MAX_CELL).chars().count(), MAX_CELL);
        let emoji = "😀".repeat(10); // two UTF-16 units each
        assert_eq!(clip_utf16(&emoji, 5).chars().count(), 2);
        assert_eq!(clip_utf16("short", 5), "short");
    }
}
