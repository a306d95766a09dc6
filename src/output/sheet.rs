//! Export files: the template's columns as .csv or .xlsx.
//!
//! In .xlsx, text stays text (leading zeros survive), dates are real date
//! cells and numbers are numbers; nothing is ever written as a formula. The
//! import reads either file back unchanged, so export, edit, import is a
//! round trip.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

use super::ExcelCsv;
use crate::error::{Error, Result};
use crate::mapping::ID_COLUMN;
use crate::mapping::field::{FieldSpec, Kind};

// One of these exists per export, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum ExportFile {
    Csv(ExcelCsv),
    Xlsx {
        book: Workbook,
        sheet: Worksheet,
        path: PathBuf,
        row: u32,
        date: Format,
        fields: &'static [FieldSpec],
    },
}

impl ExportFile {
    pub fn create(path: &Path, fields: &'static [FieldSpec]) -> Result<ExportFile> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        // The record's own id first: an import of the file names exactly
        // that record with it.
        let header = std::iter::once(ID_COLUMN).chain(fields.iter().map(|f| f.column));
        match ext.as_str() {
            "csv" => {
                let mut c = ExcelCsv::create(path)?;
                c.write(header)?;
                Ok(ExportFile::Csv(c))
            }
            "xlsx" => {
                let mut sheet = Worksheet::new();
                let bold = Format::new().set_bold();
                let xerr = |e: rust_xlsxwriter::XlsxError| {
                    Error::config(format!("{}: {e}", path.display()))
                };
                sheet.set_name("People").map_err(xerr)?;
                for (c, h) in header.enumerate() {
                    sheet.write_string_with_format(0, c as u16, h, &bold).map_err(xerr)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xerr)?;
                Ok(ExportFile::Xlsx {
                    book: Workbook::new(),
                    sheet,
                    path: path.to_path_buf(),
                    row: 1,
                    date: Format::new().set_num_format("yyyy-mm-dd"),
                    fields,
                })
            }
            _ => Err(Error::config(format!(
                "{}: the export file must end in .csv or .xlsx",
                path.display()
            ))),
        }
    }

    pub fn write(&mut self, id: &str, cells: &[String]) -> Result<()> {
        match self {
            ExportFile::Csv(c) => {
                c.write(std::iter::once(id).chain(cells.iter().map(String::as_str)))
            }
            ExportFile::Xlsx { sheet, path, row, date, fields, .. } => {
                let xerr = |e: rust_xlsxwriter::XlsxError| {
                    Error::config(format!("{}: {e}", path.display()))
                };
                // Ids are text, whatever they look like.
                sheet.write_string(*row, 0, id).map_err(xerr)?;
                for (c, (v, f)) in cells.iter().zip(fields.iter()).enumerate() {
                    let col = c as u16 + 1;
                    if v.is_empty() {
                        continue;
                    }
                    match f.kind {
                        Kind::Date | Kind::PastDate => {
                            if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                                let dt = ExcelDateTime::from_ymd(
                                    d.year() as u16,
                                    d.month() as u8,
                                    d.day() as u8,
                                )
                                .map_err(xerr)?;
                                sheet
                                    .write_datetime_with_format(*row, col, &dt, date)
                                    .map_err(xerr)?;
                                continue;
                            }
                        }
                        Kind::Number { .. } => {
                            if let Ok(n) = v.parse::<f64>() {
                                sheet.write_number(*row, col, n).map_err(xerr)?;
                                continue;
                            }
                        }
                        _ => {}
                    }
                    sheet.write_string(*row, col, v).map_err(xerr)?;
                }
                *row += 1;
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        match self {
            ExportFile::Csv(c) => c.finish(),
            ExportFile::Xlsx { mut book, mut sheet, path, .. } => {
                sheet.autofit();
                book.push_worksheet(sheet);
                book.save(&path).map_err(|e| Error::output(&path, std::io::Error::other(e)))
            }
        }
    }
}
