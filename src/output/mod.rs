//! Files written for people: results, errors, summary, and exports.
//!
//! Every CSV hrport writes is UTF-8 with a byte-order mark (so Excel shows
//! accents) and guarded against formula injection: a cell starting with
//! `= + - @`, TAB or CR gets a leading `'`, which the readers remove again.
//! Secret columns are blanked here, in the one place rows are written.

pub mod sheet;
pub mod summary;
pub mod template;
pub mod workbook;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::{Fields, Record};
use crate::mapping::Mapping;
use crate::text::guard_cell;

/// The status of a row in the results file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    /// An existing record was changed to match the row.
    Updated,
    /// An existing record already matches the row.
    Unchanged,
    Deactivated,
    Reactivated,
    /// `--mode create`: a record with the row's key was there, not changed.
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
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Deactivated => "deactivated",
            Status::Reactivated => "reactivated",
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

pub const RESULT_COLUMNS: [&str; 6] =
    ["hrport_row", "hrport_status", "hrport_action", "hrport_id", "hrport_changes", "hrport_error"];

/// What a row does (or, in a dry run, will do) to the target: the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Deactivate,
    Reactivate,
    /// Nothing: the row is invalid, or the record is left as it is
    /// (`--mode create`).
    #[default]
    None,
}

impl Action {
    /// The status of a row whose action was carried out.
    pub fn done_status(self) -> Status {
        match self {
            Action::Create => Status::Created,
            Action::Update => Status::Updated,
            Action::Deactivate => Status::Deactivated,
            Action::Reactivate => Status::Reactivated,
            Action::Unchanged => Status::Unchanged,
            Action::None => Status::Exists,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Deactivate => "deactivate",
            Action::Reactivate => "reactivate",
            Action::None => "none",
        }
    }
}

/// One input cell a results line points at, for the output workbooks: an
/// error in it (the note is the message) or a change made to it (the note
/// is the value it replaced).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The input column (index into the file's headers).
    pub col: usize,
    pub note: String,
}

/// hrport's own cells of one row of the results files, after the row's
/// number: a new result column is a field here and a cell in `cells`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub status: Status,
    pub action: Action,
    /// The record's id in the target, when there is one.
    pub id: String,
    /// What the row changes (or would change) in the record, field by field.
    pub changes: String,
    /// Why the row needs a person, or empty.
    pub error: String,
    /// The cells `error` names (the CSVs have only the text).
    pub error_cells: Vec<Mark>,
    /// The cells `changes` changes (or, in a dry run, would change).
    pub changed_cells: Vec<Mark>,
}

impl RowResult {
    pub fn new(status: Status, id: &str, error: &str) -> RowResult {
        RowResult {
            status,
            action: Action::None,
            id: id.to_string(),
            changes: String::new(),
            error: error.to_string(),
            error_cells: Vec::new(),
            changed_cells: Vec::new(),
        }
    }

    /// The cells after `hrport_row`, in `RESULT_COLUMNS` order.
    fn cells(&self) -> [&str; 5] {
        [self.status.as_str(), self.action.as_str(), &self.id, &self.changes, &self.error]
    }
}

/// A CSV file for Excel: BOM, CRLF, guarded cells, and quotes only where a
/// cell needs them (as the csv crate's `QuoteStyle::Necessary` writes).
///
/// Rows are assembled straight into the output buffer: a dry run writes
/// every row of the input again, and a `csv::Writer` fed through a
/// `ByteRecord` copied each cell twice and scanned it twice.
pub struct ExcelCsv {
    file: File,
    buf: Vec<u8>,
    delimiter: u8,
    /// Cells in the row being assembled, and where it starts in `buf`.
    cells: usize,
    row_start: usize,
    path: PathBuf,
}

/// The buffer is written out when it holds this much.
const FLUSH_AT: usize = 256 * 1024;

impl ExcelCsv {
    pub fn create(path: &Path) -> Result<ExcelCsv> {
        ExcelCsv::with_delimiter(path, b',')
    }

    /// A CSV separated by `delimiter`: the input's, so that Excel set to a
    /// `;` locale opens the results the way it opened the input.
    pub fn with_delimiter(path: &Path, delimiter: u8) -> Result<ExcelCsv> {
        let file = File::create(path).map_err(|e| Error::output(path, e))?;
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        buf.extend_from_slice(b"\xEF\xBB\xBF");
        let row_start = buf.len();
        Ok(ExcelCsv { file, buf, delimiter, cells: 0, row_start, path: path.to_path_buf() })
    }

    pub fn write<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<()> {
        for c in cells {
            self.field(c);
        }
        self.end_row()
    }

    /// Adds one cell to the current row, guarded against formulas.
    pub fn field(&mut self, cell: &str) {
        if cell.is_empty() {
            return self.delimit(); // most of hrport's own cells, in most rows
        }
        if self.plain(cell) {
            return self.plain_field(cell);
        }
        self.delimit();
        self.buf.push(b'"');
        if crate::text::needs_guard(cell) {
            self.buf.push(b'\'');
        }
        for part in cell.as_bytes().split_inclusive(|&b| b == b'"') {
            self.buf.extend_from_slice(part);
            if part.ends_with(b"\"") {
                self.buf.push(b'"');
            }
        }
        self.buf.push(b'"');
    }

    /// Whether `text`, as one cell, needs no quotes. Without early exit, so
    /// that it runs many bytes at a time.
    pub fn plain(&self, text: &str) -> bool {
        let d = self.delimiter;
        let special = |b: u8| (b == d) | (b == b'"') | (b == b'\r') | (b == b'\n');
        !text.as_bytes().iter().fold(false, |any, &b| any | special(b))
    }

    /// Whether no cell of a row needs quotes. A line cut at this file's
    /// delimiter with no quote or line break in it needs none; other rows
    /// get one look at their whole text, cheaper than one at each cell.
    pub fn plain_cells(&self, fields: &Fields) -> bool {
        match fields.gap() {
            None => self.plain(fields.text()),
            Some(_) if self.is_line(fields) => true,
            Some(_) => fields.iter().all(|cell| self.plain(cell)),
        }
    }

    /// Whether a row's text is a line of this file's: its cells with this
    /// file's delimiter between them, none quoted.
    fn is_line(&self, fields: &Fields) -> bool {
        fields.gap() == Some(self.delimiter) && fields.bare() && !fields.is_empty()
    }

    /// A row's cells that `is_line` cleared: the text goes out in one
    /// piece, broken only where a cell needs the formula guard.
    pub fn plain_line(&mut self, fields: &Fields) {
        debug_assert!(self.is_line(fields));
        let text = fields.text().as_bytes();
        self.delimit();
        self.cells += fields.len().saturating_sub(1);
        let mut from = 0;
        for (start, end) in fields.spans() {
            if start < end && crate::text::guards(text[start]) {
                self.buf.extend_from_slice(&text[from..start]);
                self.buf.push(b'\'');
                from = start;
            }
        }
        self.buf.extend_from_slice(&text[from..]);
    }

    /// `field` for a cell `plain` cleared.
    pub fn plain_field(&mut self, cell: &str) {
        self.delimit();
        if crate::text::needs_guard(cell) {
            self.buf.push(b'\'');
        }
        self.buf.extend_from_slice(cell.as_bytes());
    }

    fn delimit(&mut self) {
        if self.cells > 0 {
            self.buf.push(self.delimiter);
        }
        self.cells += 1;
    }

    pub fn end_row(&mut self) -> Result<()> {
        // A row of one empty cell (or none) would read back as a blank
        // line: `""`, as the csv crate writes it.
        if self.cells <= 1 && self.buf.len() == self.row_start {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.cells = 0;
        self.buf.extend_from_slice(b"\r\n");
        if self.buf.len() >= FLUSH_AT {
            return self.flush_buffer();
        }
        self.row_start = self.buf.len();
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<()> {
        let r = self.file.write_all(&self.buf);
        self.buf.clear();
        self.row_start = 0;
        r.map_err(|e| Error::output(&self.path, e))
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush_buffer()
    }
}

impl Drop for ExcelCsv {
    /// A run that stops on an error still leaves the rows it wrote (as
    /// `csv::Writer` did); `finish` is where a write error is reported.
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.file.write_all(&self.buf);
        }
    }
}

/// The file names of the results files.
pub const RESULTS_CSV: &str = "results.csv";
pub const ERRORS_CSV: &str = "errors.csv";
pub const RESULTS_XLSX: &str = "results.xlsx";
pub const ERRORS_XLSX: &str = "errors.xlsx";

/// Which results files a run writes, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsSpec {
    /// results.csv and errors.csv.
    pub csv: bool,
    /// results.xlsx and errors.xlsx.
    pub xlsx: bool,
    /// The CSVs' delimiter: the input's.
    pub delimiter: u8,
    /// The workbooks' data sheet: the input sheet's name, or "Results".
    pub sheet: String,
}

impl Default for ResultsSpec {
    fn default() -> ResultsSpec {
        ResultsSpec { csv: true, xlsx: false, delimiter: b',', sheet: "Results".into() }
    }
}

impl ResultsSpec {
    /// The results (or, with `errors`, the errors) files written, for the
    /// summary and the console; the CSV first.
    pub fn files(&self, errors: bool) -> Vec<&'static str> {
        let (c, x) = if errors { (ERRORS_CSV, ERRORS_XLSX) } else { (RESULTS_CSV, RESULTS_XLSX) };
        [(self.csv, c), (self.xlsx, x)].into_iter().filter(|(on, _)| *on).map(|(_, f)| f).collect()
    }
}

/// results.csv and errors.csv, and/or results.xlsx and errors.xlsx,
/// written row by row in input order.
pub struct ResultFiles<'m> {
    mapping: &'m Mapping,
    csv: Option<(ExcelCsv, ExcelCsv)>,
    xlsx: Option<Box<(workbook::ResultsBook, workbook::ResultsBook)>>,
}

impl<'m> ResultFiles<'m> {
    pub fn create(dir: &Path, mapping: &'m Mapping, spec: &ResultsSpec) -> Result<ResultFiles<'m>> {
        let csv = if spec.csv {
            let mut results = ExcelCsv::with_delimiter(&dir.join(RESULTS_CSV), spec.delimiter)?;
            let mut errors = ExcelCsv::with_delimiter(&dir.join(ERRORS_CSV), spec.delimiter)?;
            let header: Vec<&str> = mapping
                .carried
                .iter()
                .map(|&i| mapping.headers[i].as_str())
                .chain(RESULT_COLUMNS)
                .collect();
            results.write(header.iter().copied())?;
            errors.write(header.iter().copied())?;
            Some((results, errors))
        } else {
            None
        };
        let xlsx = if spec.xlsx {
            use workbook::{Book, ResultsBook};
            let book = |name: &str, which: Book| {
                ResultsBook::create(&dir.join(name), which, &spec.sheet, mapping, dir)
            };
            Some(Box::new((book(RESULTS_XLSX, Book::Results)?, book(ERRORS_XLSX, Book::Errors)?)))
        } else {
            None
        };
        Ok(ResultFiles { mapping, csv, xlsx })
    }

    pub fn write(&mut self, rec: &Record, result: &RowResult) -> Result<()> {
        let attention = result.status.needs_attention();
        if let Some((results, errors)) = &mut self.csv {
            let mut row = itoa::Buffer::new();
            let [status, action, id, changes, error] = result.cells();
            let cells = [row.format(rec.row), status, action, id, changes, error];
            write_row(results, self.mapping, rec, &cells)?;
            if attention {
                write_row(errors, self.mapping, rec, &cells)?;
            }
        }
        if let Some(books) = &mut self.xlsx {
            let secrets = &self.mapping.secret_columns;
            books.0.write(rec, result, secrets)?;
            if attention {
                books.1.write(rec, result, secrets)?;
            }
        }
        Ok(())
    }

    /// Flushes the CSVs and saves the workbooks, whose Summary sheet gets
    /// the run's counts.
    pub fn finish(
        self,
        counts: &std::collections::BTreeMap<Status, u64>,
        actions: &std::collections::BTreeMap<&'static str, u64>,
    ) -> Result<()> {
        if let Some((results, errors)) = self.csv {
            results.finish()?;
            errors.finish()?;
        }
        if let Some(books) = self.xlsx {
            let (results, errors) = *books;
            results.finish(counts, actions)?;
            errors.finish(counts, actions)?;
        }
        Ok(())
    }
}

/// The input's carried columns (secrets blanked), then hrport's own cells.
fn write_row(f: &mut ExcelCsv, m: &Mapping, rec: &Record, extra: &[&str]) -> Result<()> {
    let plain = f.plain_cells(&rec.fields);
    // `carried` lists input columns in order: as long as the record, it is
    // every column. Then, with no secret to blank and nothing to quote, the
    // cells go out as they come, the common row, without a look-up each;
    // a line of the input in one piece when it was taken whole.
    if plain && m.secret_columns.is_empty() && m.carried.len() == rec.fields.len() {
        if f.is_line(&rec.fields) {
            f.plain_line(&rec.fields);
        } else {
            for cell in rec.fields.iter() {
                f.plain_field(cell);
            }
        }
        for cell in extra {
            f.field(cell);
        }
        return f.end_row();
    }
    for &i in &m.carried {
        let secret = m.secret_columns.contains(&i);
        let cell = if secret { "" } else { rec.fields.get(i).unwrap_or("") };
        if plain { f.plain_field(cell) } else { f.field(cell) }
    }
    for cell in extra {
        f.field(cell);
    }
    f.end_row()
}

/// credentials.csv: passwords hrport generated, the only place they are
/// written. Created with mode 0600 on the first password, each line written
/// before the row is sent (a password must not be lost if the run is
/// killed), and reused for the same row when the run is resumed.
pub struct CredentialsFile {
    path: PathBuf,
    inner: std::sync::Mutex<Option<csv::Writer<File>>>,
    reuse: std::collections::HashMap<u32, crate::secret::Secret>,
}

pub const CREDENTIALS: &str = "credentials.csv";

impl CredentialsFile {
    /// For `dir`; reads passwords an interrupted run already wrote there.
    pub fn new(dir: &Path) -> Result<CredentialsFile> {
        let path = dir.join(CREDENTIALS);
        let mut reuse = std::collections::HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            for rec in csv::Reader::from_reader(body).records().flatten() {
                if let (Some(row), Some(pw)) = (rec.get(0).and_then(|r| r.parse().ok()), rec.get(2))
                {
                    reuse.insert(row, crate::secret::Secret::new(crate::text::unguard_cell(pw)));
                }
            }
        }
        Ok(CredentialsFile { path, inner: std::sync::Mutex::new(None), reuse })
    }

    /// The password an earlier, interrupted run generated for this row.
    pub fn reused(&self, row: u32) -> Option<crate::secret::Secret> {
        self.reuse.get(&row).cloned()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether any password was written (now or by the run resumed).
    pub fn written(&self) -> bool {
        !self.reuse.is_empty() || self.inner.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    pub fn record(&self, row: u32, key: &str, password: &crate::secret::Secret) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| {
            Error::output(&self.path, std::io::Error::other(e.to_string()))
        };
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            let fresh = !self.path.exists();
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&self.path).map_err(|e| err(&e))?;
            if fresh {
                f.write_all(b"\xEF\xBB\xBF").map_err(|e| err(&e))?;
            }
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(f);
            if fresh {
                w.write_record(["hrport_row", "key", "password"]).map_err(|e| err(&e))?;
            }
            *g = Some(w);
        }
        let w = g.as_mut().expect("opened above");
        let row = row.to_string();
        w.write_record([row.as_str(), &guard_cell(key), &guard_cell(password.expose())])
            .map_err(|e| err(&e))?;
        w.flush().map_err(|e| err(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_where_needed_and_guarded_against_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let mut f = ExcelCsv::with_delimiter(&path, b';').unwrap();
        f.write(["plain", "a;b", "say \"hi\"", "two\nlines", "=SUM(A1)", "-\"x\"", "a,b"]).unwrap();
        f.write([""]).unwrap();
        f.write(["", ""]).unwrap();
        f.write(std::iter::empty::<&str>()).unwrap();
        f.plain_field("+1 555");
        f.plain_field("é");
        f.end_row().unwrap();
        f.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "\u{feff}plain;\"a;b\";\"say \"\"hi\"\"\";\"two\nlines\";'=SUM(A1);\"'-\"\"x\"\"\";a,b\r\n\
             \"\"\r\n\
             ;\r\n\
             \"\"\r\n\
             '+1 555;é\r\n"
        );
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|r| r.unwrap().iter().map(crate::text::unguard_cell).map(String::from).collect())
            .collect();
        assert_eq!(
            rows[0],
            ["plain", "a;b", "say \"hi\"", "two\nlines", "=SUM(A1)", "-\"x\"", "a,b"]
        );
        assert_eq!(rows[1], [""]);
        assert_eq!(rows[4], ["+1 555", "é"]);
    }

    #[test]
    fn a_row_is_plain_unless_a_cell_holds_the_delimiter_a_quote_or_a_line_end() {
        let dir = tempfile::tempdir().unwrap();
        let f = ExcelCsv::with_delimiter(&dir.path().join("x.csv"), b'\t').unwrap();
        assert!(f.plain("a,b;c 'd' é"));
        for s in ["a\tb", "\"", "a\r", "\nb"] {
            assert!(!f.plain(s), "{s:?}");
        }
    }
}
