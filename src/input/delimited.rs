//! CSV and other delimited text, in any encoding Excel writes, streamed.
//!
//! The file is never loaded whole: the encoding is decided from the byte-order
//! mark, the `--encoding` flag or a streaming UTF-8 check, and the rows are
//! decoded on the fly. `scan` cuts the text into records (the csv crate's
//! parser reads those with quotes, embedded delimiters and newlines); this
//! module decides how to feed it, numbers the rows the way Excel does, and
//! bounds what a broken file can make it hold.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::{Fields, ReadOptions, Record, Rows};
use crate::error::{Error, Result};
use scan::{ScanError, Scanned, Scanner};

mod scan;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// A block of the file read at once (and `scan`'s buffer to begin with).
const READ_BUFFER: usize = 256 * 1024;
/// The most text one row may hold. Far beyond any real row (and beyond what
/// Excel saves in practice), but it keeps a runaway quote or a file with no
/// line breaks from being gathered into memory whole.
pub const MAX_ROW_BYTES: u64 = 16 << 20;
/// Appended after the text (behind a line break): a quote left open at the
/// end of the file swallows it into its cell, which is how such a quote is
/// found; otherwise it comes out as a last record of its own. A noncharacter,
/// so no spreadsheet ends with it.
const END: &str = "\u{10FFFF}";

pub struct DelimitedFile {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub warnings: Vec<String>,
    encoding: &'static Encoding,
    bom_len: u64,
    delimiter: u8,
    /// Lines end in CRLF (else LF); decides how rows are numbered.
    crlf: bool,
    /// Lines end in a lone CR (old Mac files): read as LF.
    cr_only: bool,
    /// UTF-8 was assumed from the start of the file, not known.
    guessed_utf8: bool,
    /// Non-blank rows up to and including the header (more than one when
    /// title rows stand above it).
    header_skip: usize,
}

/// Parses the `--delimiter` value.
pub fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" => Ok(s.as_bytes()[0]),
        _ => Err(Error::config(format!(
            "--delimiter must be one ASCII character or \"tab\", not {s:?}"
        ))),
    }
}

impl DelimitedFile {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<DelimitedFile> {
        let shown = path.display().to_string();
        let io_err = |e: std::io::Error| Error::input(format!("{shown}: cannot read: {e}"));
        let mut file = File::open(path).map_err(io_err)?;
        let mut head = vec![0u8; 64 * 1024];
        let n = super::read_up_to(&mut file, &mut head).map_err(io_err)?;
        head.truncate(n);
        if head.is_empty() {
            return Err(Error::input(format!("{shown}: the file is empty")));
        }

        let mut warnings = Vec::new();
        let (bom_enc, bom_len) = match Encoding::for_bom(&head) {
            Some((enc, len)) => (Some(enc), len as u64),
            None => (None, 0),
        };
        let (encoding, guessed_utf8) =
            choose_encoding(&shown, &head, n == 64 * 1024, bom_enc, opts.encoding, &mut warnings)?;

        let mut f = DelimitedFile {
            path: path.to_path_buf(),
            headers: Vec::new(),
            warnings,
            encoding,
            bom_len,
            delimiter: b',',
            crlf: false,
            cr_only: false,
            guessed_utf8,
            header_skip: 1,
        };
        let mut sample = Vec::new();
        f.decoded_reader()?
            .take(64 * 1024)
            .read_to_end(&mut sample)
            .map_err(|e| f.decode_error(e))?;
        let sample = String::from_utf8_lossy(&sample);
        f.crlf = sample.find('\n').is_some_and(|i| i > 0 && sample.as_bytes()[i - 1] == b'\r');
        f.cr_only = !sample.contains('\n') && sample.contains('\r');
        f.delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&sample));

        let mut rec = Fields::new();
        let mut rows = f.reader(0)?;
        loop {
            match rows.read(&mut rec)? {
                Some((_, false)) if is_blank(&rec) => continue,
                Some((_, false)) => break,
                Some((_, true)) => {
                    return Err(Error::input(format!(
                        "{shown}: a quote opened in the header row is never closed, so the \
                         whole file reads as one header; close the quote or remove it"
                    )));
                }
                None => return Err(Error::input(format!("{shown}: the file has no header row"))),
            }
        }
        drop(rows);
        if rec.len() > super::MAX_COLUMNS {
            return Err(Error::input(format!(
                "{shown}: the header row has {} columns; hrport reads at most {}",
                crate::text::thousands(rec.len()),
                crate::text::thousands(super::MAX_COLUMNS)
            )));
        }
        f.headers = rec.iter().map(|h| h.trim().to_string()).collect();
        if opts.judge.is_some() {
            f.find_header_row(opts, &shown)?;
        }
        super::name_blank_headers(&mut f.headers);
        Ok(f)
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Looks for the header among the first rows when a title row stands
    /// above it (see `input::pick_header`).
    fn find_header_row(&mut self, opts: &ReadOptions, shown: &str) -> Result<()> {
        let mut top: Vec<(u64, Vec<String>)> = Vec::new();
        {
            let mut rows = self.reader(0)?;
            let mut rec = Fields::new();
            while top.len() < super::HEADER_SEARCH {
                match rows.read(&mut rec)? {
                    Some((_, true)) | None => break,
                    Some(_) if is_blank(&rec) => {}
                    Some((row, false)) => {
                        top.push((row, rec.iter().map(|h| h.trim().to_string()).collect()))
                    }
                }
            }
        }
        let cells: Vec<Vec<String>> = top.iter().map(|(_, c)| c.clone()).collect();
        if let Some(at) = super::pick_header(opts.judge.as_ref(), &cells) {
            let (row, headers) = top.swap_remove(at);
            if headers.len() > super::MAX_COLUMNS {
                return Err(Error::input(format!("{shown}: row {row} has too many columns")));
            }
            self.headers = headers;
            self.header_skip = at + 1;
            self.warnings.push(super::header_row_note(shown, row));
        }
        Ok(())
    }

    pub fn decimal_comma(&self) -> bool {
        matches!(self.delimiter, b';' | b'\t')
    }

    pub fn describe(&self) -> String {
        let d = match self.delimiter {
            b'\t' => "TAB".to_string(),
            c => format!("'{}'", c as char),
        };
        format!("delimited text, {}, delimiter {d}", self.encoding.name())
    }

    pub fn rows(&self) -> Result<DelimitedRows<'_>> {
        let mut rows = self.reader(self.headers.len())?;
        // Skip up to and including the header row, exactly as `open` did.
        let mut rec = Fields::new();
        let mut skipped = 0;
        while let Some(_row) = rows.read(&mut rec)? {
            if !is_blank(&rec) {
                skipped += 1;
                if skipped == self.header_skip {
                    break;
                }
            }
        }
        Ok(rows)
    }

    fn decoded_reader(&self) -> Result<Box<dyn Read + Send>> {
        let mut file = File::open(&self.path)
            .map_err(|e| Error::input(format!("{}: cannot open: {e}", self.path.display())))?;
        if self.encoding == UTF_8 {
            // Already checked to be UTF-8: hand the bytes straight over,
            // past the byte-order mark, without a transcoding copy.
            file.seek(SeekFrom::Start(self.bom_len))
                .map_err(|e| Error::input(format!("{}: {e}", self.path.display())))?;
            return Ok(self.line_ends(Box::new(file)));
        }
        Ok(self.line_ends(Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(self.encoding))
                .bom_override(true)
                .strip_bom(true)
                .build(file),
        )))
    }

    /// A lone CR ends a line in old Mac files; the csv crate would split
    /// rows at it but not count it as a line, so the rows are numbered
    /// wrong. Read as LF, such a file is numbered like any other.
    fn line_ends(&self, rdr: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        if self.cr_only { Box::new(CrToLf(rdr)) } else { rdr }
    }

    /// A reader of the rows from the top; `width`: how many cells each row
    /// is given (0: as many as it has).
    fn reader(&self, width: usize) -> Result<DelimitedRows<'_>> {
        // The last line may lack its line break; give it one, so every
        // record ends the same way, then the end mark (see `END`).
        let tail: &'static [u8] =
            if self.crlf { "\r\n\u{10FFFF}".as_bytes() } else { "\n\u{10FFFF}".as_bytes() };
        let text = Box::new(self.decoded_reader()?.chain(tail));
        let limit = MAX_ROW_BYTES as usize;
        let scanner = Scanner::new(text, self.delimiter, limit, tail);
        Ok(DelimitedRows { file: self, scanner, last_row: 0, width })
    }

    fn decode_error(&self, e: std::io::Error) -> Error {
        Error::input(format!(
            "{}: cannot decode as {}: {e}",
            self.path.display(),
            self.encoding.name()
        ))
    }

    /// What stopped the reading after row `last_row`.
    fn scan_error(&self, e: ScanError, last_row: u64) -> Error {
        let shown = self.path.display();
        match e {
            ScanError::Io(e) => Error::input(format!("{shown}: cannot read: {e}")),
            ScanError::TooLong => Error::input(format!(
                "{shown}: {} is longer than {} MiB, more than any spreadsheet row holds; \
                 is a quote left open?",
                if last_row == 0 {
                    "the header row".to_string()
                } else {
                    format!("row {}", last_row + 1)
                },
                MAX_ROW_BYTES >> 20
            )),
            // UTF-8 so far, but not from here on: a Windows-1252 file with
            // no accent early on, or two files pasted together. Only the
            // first can be read again as Windows-1252 without garbling.
            ScanError::NotUtf8 { byte, line } if self.guessed_utf8 => {
                match self.non_ascii_before(byte) {
                    Some(utf8_line) => mixed_error(&shown.to_string(), utf8_line, line),
                    None => Error::Encoding(format!("{shown} near line {line}")),
                }
            }
            ScanError::NotUtf8 { line, .. } => Error::input(format!(
                "{shown} near line {line}: text is not valid {}",
                self.encoding.name()
            )),
        }
    }
}

impl DelimitedFile {
    /// The line of the first non-ASCII character before byte `end` (all of
    /// which was valid UTF-8), if there is one.
    fn non_ascii_before(&self, end: u64) -> Option<u64> {
        let mut file = File::open(&self.path).ok()?;
        file.seek(SeekFrom::Start(self.bom_len)).ok()?;
        let mut rest = file.take(end);
        let mut buf = vec![0u8; READ_BUFFER];
        let mut line = 1;
        loop {
            let n = rest.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let chunk = &buf[..n];
            if let Some(i) = chunk.iter().position(|&b| b >= 0x80) {
                return Some(line + chunk[..i].iter().filter(|&&b| b == b'\n').count() as u64);
            }
            line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
}

fn mixed_error(shown: &str, utf8_line: u64, bad_line: u64) -> Error {
    Error::input(format!(
        "{shown} mixes two text encodings: line {utf8_line} is UTF-8 but line {bad_line} is not \
         (Windows-1252?), so some accents would come out wrong whichever way it is read; \
         save it again in one encoding (in Excel: Save As, CSV UTF-8), or give --encoding"
    ))
}

/// Turns every CR into LF (see `DelimitedFile::line_ends`).
struct CrToLf(Box<dyn Read + Send>);

impl Read for CrToLf {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

pub struct DelimitedRows<'a> {
    file: &'a DelimitedFile,
    scanner: Scanner,
    /// Excel row number of the last record read.
    last_row: u64,
    width: usize,
}

impl DelimitedRows<'_> {
    /// Reads one record and returns the row number Excel gives it: one more
    /// than the record before, and one more for each empty line between
    /// (line breaks inside a quoted cell stay in the cell's row).
    ///
    /// Returns the row number and whether a quote left open swallowed the
    /// rest of the file into the record's last cell.
    fn read(&mut self, rec: &mut Fields) -> Result<Option<(u64, bool)>> {
        match self.scanner.next(rec) {
            Ok(Scanned::End) => Ok(None),
            Ok(Scanned::Record { empty_lines, unclosed }) => {
                self.last_row += 1 + empty_lines;
                Ok(Some((self.last_row, unclosed)))
            }
            Err(e) => Err(self.file.scan_error(e, self.last_row)),
        }
    }
}

impl Rows for DelimitedRows<'_> {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        while let Some((row, unclosed)) = self.read(&mut rec.fields)? {
            if is_blank(&rec.fields) {
                continue;
            }
            rec.row = u32::try_from(row).unwrap_or(u32::MAX);
            rec.shape_error = fix_width(&mut rec.fields, self.width);
            if unclosed {
                // Its field count means nothing: the rest of the file is in it.
                rec.shape_error = Some(
                    "a quote opened in this row is never closed, so the rest of the file \
                     was read into one cell; close the quote or remove it"
                        .to_string(),
                );
            }
            return Ok(true);
        }
        Ok(false)
    }
}

/// Pads or cuts a ragged row to the header's width and says what was wrong.
/// Extra fields that are empty (a trailing delimiter) are not an error.
fn fix_width(rec: &mut Fields, width: usize) -> Option<String> {
    let n = rec.len();
    if n == width {
        return None;
    }
    if n < width {
        for _ in n..width {
            rec.push_field("");
        }
        return Some(format!(
            "the row has {n} fields but the header has {width} columns; check for a missing delimiter or an unclosed quote"
        ));
    }
    // The first few extra values are shown; a row of a million is counted.
    let mut shown = Vec::new();
    let mut more = 0;
    for f in rec.iter().skip(width).filter(|f| !f.trim().is_empty()) {
        if shown.len() < 5 {
            shown.push(format!("{:?}", crate::text::clip(f, 40)));
        } else {
            more += 1;
        }
    }
    rec.truncate(width);
    if shown.is_empty() {
        return None;
    }
    let more = if more > 0 {
        format!(" and {} more", crate::text::thousands(more))
    } else {
        String::new()
    };
    Some(format!(
        "the row has {n} fields but the header has {width} columns (extra values: {}{more})",
        shown.join(", ")
    ))
}

fn is_blank(rec: &Fields) -> bool {
    // The first letter of any real row disproves it at once.
    rec.iter().all(|cell| cell.trim().is_empty())
}

/// Picks the delimiter that splits the header line into the most columns
/// (quotes respected); ties go to the order , ; TAB |.
fn sniff_delimiter(sample: &str) -> u8 {
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut seen_text = false;
    for b in sample.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => {
                if seen_text && counts.iter().any(|&c| c > 0) {
                    break;
                }
                // A blank or one-column line: keep looking at the next.
                counts = [0; 4];
                seen_text = false;
            }
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                } else if !b.is_ascii_whitespace() {
                    seen_text = true;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    if counts[best] == 0 { b',' } else { CANDIDATES[best] }
}

/// UTF-16 without a byte-order mark: most ASCII text then has a zero byte
/// in every other position.
fn sniff_utf16(head: &[u8]) -> Option<&'static Encoding> {
    let n = head.len().min(4096) & !1;
    if n < 4 {
        return None;
    }
    let pairs = n / 2;
    let even = head[..n].iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = head[1..n].iter().step_by(2).filter(|&&b| b == 0).count();
    if odd * 10 >= pairs * 7 && even * 10 <= pairs {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 7 && odd * 10 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

#[derive(Debug, PartialEq)]
enum Utf8Scan {
    Valid,
    Invalid {
        line: u64,
    },
    /// Not text: `what` was found on `line`.
    Binary {
        what: String,
        line: u64,
    },
    /// Valid UTF-8 accents on one line, bytes that are not UTF-8 on another.
    Mixed {
        utf8_line: u64,
        bad_line: u64,
    },
}

/// Control characters no text file has (tab, line breaks, vertical tab and
/// form feed are text).
fn is_control(b: u8) -> bool {
    matches!(b, 0..=8 | 0x0E..=0x1F | 0x7F)
}

/// Checks the start of a file: text or binary, and UTF-8 or not. It is
/// binary if the header line holds a NUL byte, or if control characters are
/// more than 1 % of it (a stray NUL in a data row only makes that row
/// invalid). `cut` says the sample may end in the middle of a character.
fn check_head(head: &[u8], cut: bool) -> Utf8Scan {
    let line_at = |pos: usize| 1 + head[..pos].iter().filter(|&&b| b == b'\n').count() as u64;
    let first_line = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let nul = head.iter().position(|&b| b == 0);
    let controls = head.iter().filter(|&&b| is_control(b)).count();
    if nul.is_some_and(|p| p < first_line) || (controls >= 8 && controls * 100 > head.len()) {
        let (what, pos) = match nul {
            Some(p) => ("a NUL byte".to_string(), p),
            None => {
                let p = head.iter().position(|&b| is_control(b)).unwrap_or(0);
                (format!("control character 0x{:02X}", head[p]), p)
            }
        };
        return Utf8Scan::Binary { what, line: line_at(pos) };
    }
    let mut first_accent = None;
    let mut first_bad = None;
    let mut pos = 0;
    for chunk in head.utf8_chunks() {
        if first_accent.is_none()
            && let Some(i) = chunk.valid().bytes().position(|b| b >= 0x80)
        {
            first_accent = Some(pos + i);
        }
        pos += chunk.valid().len();
        let bad = chunk.invalid();
        // A character cut at the end of the sample is not a bad byte.
        if first_bad.is_none() && !bad.is_empty() && !(cut && pos + bad.len() == head.len()) {
            first_bad = Some(pos);
        }
        pos += bad.len();
    }
    match (first_accent, first_bad) {
        (_, None) => Utf8Scan::Valid,
        (None, Some(bad)) => Utf8Scan::Invalid { line: line_at(bad) },
        (Some(ok), Some(bad)) => Utf8Scan::Mixed { utf8_line: line_at(ok), bad_line: line_at(bad) },
    }
}

/// The encoding to read a delimited file in: its byte-order mark, else
/// `--encoding`, else UTF-16 by its look, else UTF-8 if the start is valid,
/// else Windows-1252 (with a warning). The flag: UTF-8 was a guess, which a
/// bad byte later in the file may overturn.
fn choose_encoding(
    shown: &str,
    head: &[u8],
    truncated: bool,
    bom_enc: Option<&'static Encoding>,
    given: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> Result<(&'static Encoding, bool)> {
    let mut guessed = false;
    let encoding = match (bom_enc, given) {
        (Some(b), Some(o)) if b != o => {
            warnings.push(format!(
                "{shown} starts with a {} byte-order mark; reading it as {} instead of --encoding {}",
                b.name(),
                b.name(),
                o.name()
            ));
            b
        }
        (Some(b), _) => b,
        (None, Some(o)) => o,
        (None, None) => {
            if let Some(enc) = sniff_utf16(head) {
                warnings.push(format!(
                    "{shown} has no byte-order mark but looks like {}; reading it as such",
                    enc.name()
                ));
                enc
            } else {
                // Only the start is checked here; a bad byte further on
                // stops pass 1 with `Error::Encoding`, and the import
                // starts over as Windows-1252 (nothing was sent yet).
                guessed = true;
                match check_head(head, truncated) {
                    Utf8Scan::Valid => UTF_8,
                    Utf8Scan::Binary { what, line } => {
                        return Err(Error::input(format!(
                            "{shown}: this is not a text file (it contains {what} on line {line}); \
                             give a CSV, .xlsx, .xls or .ods file"
                        )));
                    }
                    Utf8Scan::Mixed { utf8_line, bad_line } => {
                        return Err(mixed_error(shown, utf8_line, bad_line));
                    }
                    Utf8Scan::Invalid { line } => {
                        warnings.push(format!(
                            "{shown} is not valid UTF-8 (first bad byte on line {line}); \
                             reading it as Windows-1252. If accents look wrong in results.csv, \
                             give --encoding"
                        ));
                        WINDOWS_1252
                    }
                }
            }
        }
    };
    Ok((encoding, guessed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_sniffing() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3"), b',');
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc\r\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b|c"), b'|');
        assert_eq!(sniff_delimiter("\"x,y\";b;c"), b';');
        assert_eq!(sniff_delimiter("single"), b',');
        assert_eq!(sniff_delimiter("\n\na;b\n"), b';');
    }

    #[test]
    fn head_check_finds_bad_bytes_but_allows_a_cut_character() {
        let cut = &"é".as_bytes()[..1];
        assert_eq!(check_head(&[b"ab\n".as_slice(), cut].concat(), true), Utf8Scan::Valid);
        assert_eq!(
            check_head(&[b"ab\n".as_slice(), cut].concat(), false),
            Utf8Scan::Invalid { line: 2 }
        );
        assert_eq!(check_head(b"a\nb\ncaf\xe9\n", false), Utf8Scan::Invalid { line: 3 });
    }

    #[test]
    fn head_check_tells_binary_from_a_stray_nul_and_finds_mixed_encodings() {
        let binary = |what: &str, line| Utf8Scan::Binary { what: what.into(), line };
        assert_eq!(check_head(b"\x7fELF\x02\x01\x01\x00", false), binary("a NUL byte", 1));
        assert_eq!(check_head(b"a,b\nc,\0d\ne,f\n", false), Utf8Scan::Valid);
        let junk: Vec<u8> = (0..=255u8).cycle().take(4096).filter(|&b| b != 0).collect();
        assert_eq!(check_head(&junk, false), binary("control character 0x01", 1));
        let mixed = [b"a,b\n".as_slice(), "Chlo\u{e9}\n".as_bytes(), b"Zo\xe9\n"].concat();
        assert_eq!(check_head(&mixed, false), Utf8Scan::Mixed { utf8_line: 2, bad_line: 3 });
    }

    #[test]
    fn ragged_rows() {
        let mut r = Fields::from(vec!["a", "b"]);
        assert!(fix_width(&mut r, 3).unwrap().contains("2 fields but the header has 3"));
        assert_eq!(r.len(), 3);
        let mut r = Fields::from(vec!["a", "b", "", " "]);
        assert_eq!(fix_width(&mut r, 2), None);
        let mut r = Fields::from(vec!["a", "b", "x"]);
        assert!(fix_width(&mut r, 2).unwrap().contains("extra values: \"x\""));
        assert_eq!(r.len(), 2);
        let mut r = Fields::from(vec!["a"; 1002]);
        assert_eq!(
            fix_width(&mut r, 2).unwrap(),
            "the row has 1002 fields but the header has 2 columns (extra values: \
             \"a\", \"a\", \"a\", \"a\", \"a\" and 995 more)"
        );
    }

    #[test]
    fn utf16_without_bom() {
        let le: Vec<u8> = "Name,Email\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(sniff_utf16(&le), Some(UTF_16LE));
        let be: Vec<u8> = "Name,Email\n".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(sniff_utf16(&be), Some(UTF_16BE));
        assert_eq!(sniff_utf16(b"Name,Email\n"), None);
    }
}

#[cfg(test)]
mod row_number_tests {
    use super::*;

    fn rows_of(bytes: &[u8]) -> Vec<(u32, String)> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, bytes).unwrap();
        let f = DelimitedFile::open(&p, &ReadOptions::default()).unwrap();
        let mut rows = f.rows().unwrap();
        let mut rec = Record::default();
        let mut out = Vec::new();
        while rows.next_into(&mut rec).unwrap() {
            out.push((rec.row, rec.fields.get(0).unwrap().to_string()));
        }
        out
    }

    #[test]
    fn row_numbers_are_excels_whatever_the_line_endings() {
        let text = "h1,h2\n\"a\nb\",x\n\n,\nBob,y\n\n\nCy,z";
        let want = vec![(2, "a\nb".to_string()), (5, "Bob".into()), (8, "Cy".into())];
        assert_eq!(rows_of(text.as_bytes()), want);
        assert_eq!(
            rows_of(text.replace('\n', "\r\n").as_bytes()),
            vec![(2, "a\r\nb".to_string()), (5, "Bob".into()), (8, "Cy".into())]
        );
        assert_eq!(rows_of(format!("{text}\n").as_bytes()), want);
        assert_eq!(
            rows_of(format!("\n\n{text}").as_bytes()),
            vec![(4, "a\nb".to_string()), (7, "Bob".into()), (10, "Cy".into())]
        );
        // A quote left open: the row where it opens, in a CRLF file too.
        for nl in ["\n", "\r\n"] {
            let text = ["h1,h2", "a,b", "", "c,\"open", "d,e", ""].join(nl);
            assert_eq!(rows_of(text.as_bytes()), vec![(2, "a".to_string()), (4, "c".into())]);
        }
    }
}
