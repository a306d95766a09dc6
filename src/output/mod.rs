//! Files written for people: results, errors, summary, and exports.
//!
//! Every CSV hrport writes is UTF-8 with a byte-order mark (so Excel shows
//! accents) and guarded against formula injection: a cell starting with
//! `= + - @`, TAB or CR gets a leading `'`, which the readers remove again.
//! Secret columns are blanked here, in the one place rows are written.

pub mod sheet;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::Record;
use crate::mapping::Mapping;
use crate::text::guard_cell;

/// The status of a row in the results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Exists,
    Invalid,
    Failed,
    /// Valid, not sent because of `--dry-run`.
    Skipped,
    /// Valid, not sent because the run stopped first.
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Exists => "exists",
            Status::Invalid => "invalid",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Pending => "pending",
        }
    }
    /// Rows a person has to look at: they go to errors.csv.
    pub fn needs_attention(self) -> bool {
        matches!(self, Status::Invalid | Status::Failed | Status::Pending)
    }
}

pub const RESULT_COLUMNS: [&str; 4] = ["hrport_row", "hrport_status", "hrport_id", "hrport_error"];

/// A CSV file for Excel: BOM, CRLF, guarded cells.
pub struct ExcelCsv {
    w: csv::Writer<BufWriter<File>>,
    path: PathBuf,
}

impl ExcelCsv {
    pub fn create(path: &Path) -> Result<ExcelCsv> {
        let err =
            |e: std::io::Error| Error::config(format!("{}: cannot write: {e}", path.display()));
        let mut f = BufWriter::with_capacity(256 * 1024, File::create(path).map_err(err)?);
        f.write_all(b"\xEF\xBB\xBF").map_err(err)?;
        let w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(f);
        Ok(ExcelCsv { w, path: path.to_path_buf() })
    }

    pub fn write<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.w
            .write_record(cells.into_iter().map(|c| guard_cell(c).into_owned().into_bytes()))
            .map_err(|e| self.error(e))
    }

    pub fn finish(mut self) -> Result<()> {
        self.w
            .flush()
            .map_err(|e| Error::config(format!("{}: cannot write: {e}", self.path.display())))
    }

    fn error(&self, e: csv::Error) -> Error {
        Error::config(format!("{}: cannot write: {e}", self.path.display()))
    }
}

/// results.csv and errors.csv, written row by row in input order.
pub struct ResultFiles<'m> {
    mapping: &'m Mapping,
    results: ExcelCsv,
    errors: ExcelCsv,
    cells: Vec<String>,
}

impl<'m> ResultFiles<'m> {
    pub fn create(dir: &Path, mapping: &'m Mapping) -> Result<ResultFiles<'m>> {
        let mut results = ExcelCsv::create(&dir.join("results.csv"))?;
        let mut errors = ExcelCsv::create(&dir.join("errors.csv"))?;
        let header: Vec<&str> = mapping
            .carried
            .iter()
            .map(|&i| mapping.headers[i].as_str())
            .chain(RESULT_COLUMNS)
            .collect();
        results.write(header.iter().copied())?;
        errors.write(header.iter().copied())?;
        Ok(ResultFiles { mapping, results, errors, cells: Vec::new() })
    }

    pub fn write(&mut self, rec: &Record, status: Status, id: &str, error: &str) -> Result<()> {
        self.cells.clear();
        for &i in &self.mapping.carried {
            let v = if self.mapping.secret_columns.contains(&i) {
                ""
            } else {
                rec.fields.get(i).unwrap_or("")
            };
            self.cells.push(v.to_string());
        }
        self.cells.push(rec.row.to_string());
        self.cells.push(status.as_str().to_string());
        self.cells.push(id.to_string());
        self.cells.push(error.to_string());
        self.results.write(self.cells.iter().map(String::as_str))?;
        if status.needs_attention() {
            self.errors.write(self.cells.iter().map(String::as_str))?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.results.finish()?;
        self.errors.finish()
    }
}
