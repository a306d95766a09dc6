//! Reading spreadsheets into rows of text, whatever the file format.
//!
//! Every reader hands out the same thing: a header row and then `Record`s of
//! strings numbered as a person sees them in Excel (header = row 1, first data
//! row = row 2), with fully blank rows skipped. Readers know nothing of
//! templates, targets or validation; a row whose shape or cells are wrong is
//! marked, not refused, so one bad row never stops the others.

mod biff;
mod delimited;
mod fields;
mod guard;
mod merges;
mod sheet;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use delimited::parse_delimiter;
pub use fields::Fields;

/// Excel's own limit for the text of one cell. A longer cell cannot have
/// come from a spreadsheet a person edited, and no target takes it.
pub const MAX_CELL_CHARS: usize = 32_767;
/// The most columns a header row may have: Excel has 16,384, and the limit
/// keeps a line of 10 million commas from becoming 10 million columns.
pub const MAX_COLUMNS: usize = 100_000;

/// How the user asked for the file to be read.
#[derive(Debug, Default, Clone)]
pub struct ReadOptions {
    pub sheet: Option<String>,
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub delimiter: Option<u8>,
    /// What the headers should be, when known: then the header row is the
    /// row among the first `HEADER_SEARCH` that names most of them, and a
    /// workbook's sheet is the visible one that has the required columns.
    pub judge: Option<Judge>,
}

/// How many non-blank rows at the top are searched for the header row.
pub const HEADER_SEARCH: usize = 20;

/// Tells a header row from a title row without the reader knowing
/// templates (`mapping` implements it).
pub trait HeaderJudge: Send + Sync {
    /// How many template columns these cells name.
    fn score(&self, cells: &[String]) -> usize;
    /// What required columns these cells lack (empty: none).
    fn lacks(&self, cells: &[String]) -> Vec<String>;
}

#[derive(Clone)]
pub struct Judge(pub std::sync::Arc<dyn HeaderJudge>);

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Judge")
    }
}

/// Which of the first rows (each its cells) is the header: the first that
/// names most template columns, when it names more than the first row.
/// `None` keeps the first row.
pub fn pick_header(judge: Option<&Judge>, rows: &[Vec<String>]) -> Option<usize> {
    let judge = judge?;
    let scores: Vec<usize> = rows.iter().map(|r| judge.0.score(r)).collect();
    let best = scores.iter().copied().max()?;
    let at = scores.iter().position(|&s| s == best)?;
    (at > 0 && best > scores[0]).then_some(at)
}

/// The warning that says which row was taken as the header.
pub fn header_row_note(shown: &str, row: u64) -> String {
    format!(
        "{shown}: row {row} holds the column headers (the rows above it are read as titles \
         and skipped); row numbers in messages are the file's own"
    )
}

/// One data row.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The row number Excel shows for this row.
    pub row: u32,
    /// Exactly as many fields as the header has (padded or cut if the row
    /// was ragged; `shape_error` then says so).
    pub fields: Fields,
    /// Set when the row had the wrong number of fields.
    pub shape_error: Option<String>,
    /// What kind of cell each field came from, when the file says (a
    /// workbook); empty for delimited text. Only the output workbooks read
    /// it, to write each cell back as the kind it was.
    pub kinds: Vec<CellKind>,
}

/// The kind of a workbook cell, kept beside its text so that the output
/// workbooks write an ID typed as text as text, and a date cell as a date.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text, an empty cell, or anything else written back as text.
    #[default]
    Text,
    Number,
    /// A date or date-time cell (its text is ISO 8601).
    Date,
    Bool,
}

/// An opened input file. `rows()` may be called more than once: the import
/// reads the file once to validate and once to send.
pub enum Source {
    Delimited(delimited::DelimitedFile),
    Sheet(sheet::SheetFile),
}

/// Something that fills `Record`s one at a time, reusing their buffers.
pub trait Rows {
    /// Reads the next non-blank row into `rec`; false at the end.
    fn next_into(&mut self, rec: &mut Record) -> Result<bool>;
}

impl Source {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Source> {
        let mut file = File::open(path)
            .map_err(|e| Error::input(format!("{}: cannot open: {e}", path.display())))?;
        let mut magic = [0u8; 8];
        let n = read_up_to(&mut file, &mut magic)
            .map_err(|e| Error::input(format!("{}: cannot read: {e}", path.display())))?;
        let magic = &magic[..n];
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        // The content decides, not the name: an .xlsx saved as .csv by
        // mistake still reads, and a renamed binary is refused clearly.
        let zip = magic.starts_with(b"PK\x03\x04");
        let ole = magic.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
        if zip || ole {
            let source = Source::Sheet(sheet::SheetFile::open(path, opts)?);
            check_headers(&source)?;
            return Ok(source);
        }
        if matches!(ext.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods") && n > 0 {
            return Err(Error::input(format!(
                "{}: not a valid .{ext} workbook (the file does not start like one); \
                 if it is really CSV text, rename it to .csv",
                path.display()
            )));
        }
        if opts.sheet.is_some() {
            return Err(Error::config(format!(
                "{}: --sheet only applies to workbooks (.xlsx, .xls, .ods)",
                path.display()
            )));
        }
        let source = Source::Delimited(delimited::DelimitedFile::open(path, opts)?);
        check_headers(&source)?;
        Ok(source)
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Delimited(d) => &d.path,
            Source::Sheet(s) => &s.path,
        }
    }

    /// The header cells, trimmed.
    pub fn headers(&self) -> &[String] {
        match self {
            Source::Delimited(d) => &d.headers,
            Source::Sheet(s) => &s.headers,
        }
    }

    /// The delimiter of a delimited text file (the output CSVs use it too);
    /// `None` for a workbook.
    pub fn delimiter(&self) -> Option<u8> {
        match self {
            Source::Delimited(d) => Some(d.delimiter()),
            Source::Sheet(_) => None,
        }
    }

    /// The name of the worksheet read; `None` for delimited text.
    pub fn sheet_name(&self) -> Option<&str> {
        match self {
            Source::Delimited(_) => None,
            Source::Sheet(s) => Some(s.sheet()),
        }
    }

    /// Things the reader had to guess, for the user to check.
    pub fn warnings(&self) -> &[String] {
        match self {
            Source::Delimited(d) => &d.warnings,
            Source::Sheet(s) => &s.warnings,
        }
    }

    /// How the file was read, for the summary ("CSV, UTF-8, ','").
    pub fn describe(&self) -> String {
        match self {
            Source::Delimited(d) => d.describe(),
            Source::Sheet(s) => s.describe(),
        }
    }

    /// Whether `18,75` is a number here: the delimiter (`;` or tab) leaves
    /// the comma free for decimals, as in Excel's CSVs in much of Europe.
    pub fn decimal_comma(&self) -> bool {
        match self {
            Source::Delimited(d) => d.decimal_comma(),
            Source::Sheet(_) => false,
        }
    }

    pub fn rows(&self) -> Result<Box<dyn Rows + '_>> {
        let inner: Box<dyn Rows + '_> = match self {
            Source::Delimited(d) => Box::new(d.rows()?),
            Source::Sheet(s) => s.rows()?,
        };
        Ok(Box::new(CheckedRows { inner, headers: self.headers() }))
    }
}

/// A header cell longer than any cell Excel holds means the first row is not
/// a header at all (or the file is not a spreadsheet): nothing can be mapped.
fn check_headers(source: &Source) -> Result<()> {
    for (i, h) in source.headers().iter().enumerate() {
        if h.len() > MAX_CELL_CHARS && h.chars().count() > MAX_CELL_CHARS {
            return Err(Error::input(format!(
                "{}: the header of column {} is {} characters long; a cell holds at most \
                 {} characters (Excel's limit), so row 1 cannot be a header row",
                source.path().display(),
                column_letter(i),
                crate::text::thousands(h.chars().count()),
                crate::text::thousands(MAX_CELL_CHARS)
            )));
        }
    }
    Ok(())
}

/// The checks every reader's rows get, whatever the format: cells no
/// spreadsheet can hold make their row invalid, naming the column.
struct CheckedRows<'a> {
    inner: Box<dyn Rows + 'a>,
    headers: &'a [String],
}

impl Rows for CheckedRows<'_> {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        if !self.inner.next_into(rec)? {
            return Ok(false);
        }
        // One pass over the row's text clears almost every row at once:
        // a NUL, and the first byte of every invisible lead character.
        let all = rec.fields.text().as_bytes();
        let suspect = memchr::memchr3(0, 0xE2, 0xEF, all).is_some();
        if all.len() > MAX_CELL_CHARS || suspect && all.contains(&0) {
            check_cells(rec, self.headers);
        }
        if suspect && rec.fields.iter().any(|c| c.starts_with(INVISIBLE_LEAD)) {
            let mut clean = Fields::with_capacity(rec.fields.text().len(), rec.fields.len());
            for cell in rec.fields.iter() {
                clean.push_field(strip_invisible_lead(cell));
            }
            rec.fields = clean;
        }
        Ok(true)
    }
}

/// Characters a person cannot see that programs put at the start of a
/// cell: a byte-order mark (a file pasted into another, a row exported by
/// a program that writes one per line) and zero-width spaces and joiners.
/// Left in, `\u{feff}E2` would be a second employee E2.
pub const INVISIBLE_LEAD: [char; 5] = ['\u{feff}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}'];

/// A cell without the invisible characters it starts with.
pub fn strip_invisible_lead(cell: &str) -> &str {
    cell.trim_start_matches(INVISIBLE_LEAD)
}

fn check_cells(rec: &mut Record, headers: &[String]) {
    let mut problems = Vec::new();
    for (i, cell) in rec.fields.iter().enumerate() {
        if cell.len() > MAX_CELL_CHARS {
            let n = cell.chars().count();
            if n > MAX_CELL_CHARS {
                let name = headers.get(i).map(String::as_str).unwrap_or("a cell");
                problems.push(format!(
                    "{name}: the cell is {} characters long; a cell holds at most {} (Excel's limit)",
                    crate::text::thousands(n),
                    crate::text::thousands(MAX_CELL_CHARS)
                ));
            }
        }
    }
    if rec.fields.text().contains('\0') {
        // Binary data pasted into a cell: refuse the row, not the file.
        problems.push("a cell holds a NUL character (binary data?)".to_string());
    }
    for p in problems {
        rec.add_problem(p);
    }
}

impl Record {
    /// Adds to what is wrong with the row's shape or cells.
    pub fn add_problem(&mut self, problem: String) {
        self.shape_error = Some(match self.shape_error.take() {
            Some(e) => format!("{e}; {problem}"),
            None => problem,
        });
    }
}

/// A display name for the path in messages.
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Excel's column letters: 0 -> A, 25 -> Z, 26 -> AA.
pub fn column_letter(mut idx: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Names header cells that are blank, so messages can refer to them.
fn name_blank_headers(headers: &mut [String]) {
    for (i, h) in headers.iter_mut().enumerate() {
        if h.starts_with(INVISIBLE_LEAD) {
            *h = strip_invisible_lead(h).trim().to_string();
        }
        if h.is_empty() {
            *h = format!("Column {}", column_letter(i));
        }
    }
}

/// Default output folder: beside the input, named after it and the time.
pub fn default_out_dir(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let parent = input.parent().unwrap_or(Path::new("."));
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let base = parent.join(format!("{stem}.hrport-{stamp}"));
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores a row by how many of its cells are "a" or "b".
    struct Ab;
    impl HeaderJudge for Ab {
        fn score(&self, cells: &[String]) -> usize {
            cells.iter().filter(|c| *c == "a" || *c == "b").count()
        }
        fn lacks(&self, _: &[String]) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn the_header_is_the_first_row_naming_most_columns() {
        let judge = Judge(std::sync::Arc::new(Ab));
        let rows = |r: &[&[&str]]| -> Vec<Vec<String>> {
            r.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect()
        };
        let title = rows(&[&["Staff list"], &["a", "x"], &["a", "b"], &["a", "b"]]);
        assert_eq!(pick_header(Some(&judge), &title), Some(2));
        // Row 1 as good as any: kept.
        assert_eq!(pick_header(Some(&judge), &rows(&[&["a"], &["b"]])), None);
        assert_eq!(pick_header(Some(&judge), &rows(&[&["x"], &["y"]])), None);
        assert_eq!(pick_header(None, &title), None);
        assert_eq!(strip_invisible_lead("\u{feff}\u{200b}E2\u{200b}"), "E2\u{200b}");
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }
}
