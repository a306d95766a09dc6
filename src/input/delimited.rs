//! CSV and other delimited text, in any encoding Excel writes, streamed.
//!
//! The file is never loaded whole: the encoding is decided from the byte-order
//! mark, the `--encoding` flag or a streaming UTF-8 check, and the rows are
//! decoded on the fly. The csv crate does the parsing (quotes, embedded
//! delimiters and newlines); this module only decides how to feed it and how
//! to number its rows the way Excel does.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::{ReadOptions, Record, Rows};
use crate::error::{Error, Result};

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
const READ_BUFFER: usize = 256 * 1024;

pub struct DelimitedFile {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub warnings: Vec<String>,
    encoding: &'static Encoding,
    bom_len: u64,
    delimiter: u8,
    /// Lines end in CRLF (else LF); decides how rows are numbered.
    crlf: bool,
    /// UTF-8 was assumed from the start of the file, not known.
    guessed_utf8: bool,
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
        let mut guessed_utf8 = false;
        let (bom_enc, bom_len) = match Encoding::for_bom(&head) {
            Some((enc, len)) => (Some(enc), len as u64),
            None => (None, 0),
        };
        let encoding = match (bom_enc, opts.encoding) {
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
                if let Some(enc) = sniff_utf16(&head) {
                    warnings.push(format!(
                        "{shown} has no byte-order mark but looks like {}; reading it as such",
                        enc.name()
                    ));
                    enc
                } else {
                    // Only the start is checked here; a bad byte further on
                    // stops pass 1 with `Error::Encoding`, and the import
                    // starts over as Windows-1252 (nothing was sent yet).
                    guessed_utf8 = true;
                    match check_head(&head, n == 64 * 1024) {
                        Utf8Scan::Valid => UTF_8,
                        Utf8Scan::Nul { line } => {
                            return Err(Error::input(format!(
                                "{shown}: this is not a text file (it contains a NUL byte on line {line}); \
                                 give a CSV, .xlsx, .xls or .ods file"
                            )));
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

        let mut f = DelimitedFile {
            path: path.to_path_buf(),
            headers: Vec::new(),
            warnings,
            encoding,
            bom_len,
            delimiter: b',',
            crlf: false,
            guessed_utf8,
        };
        let mut sample = Vec::new();
        f.decoded_reader()?
            .take(64 * 1024)
            .read_to_end(&mut sample)
            .map_err(|e| f.decode_error(e))?;
        let sample = String::from_utf8_lossy(&sample);
        f.crlf = sample.find('\n').is_some_and(|i| i > 0 && sample.as_bytes()[i - 1] == b'\r');
        f.delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&sample));

        let mut rdr = f.csv_reader()?;
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) if is_blank(&rec) => continue,
                Ok(true) => break,
                Ok(false) => {
                    return Err(Error::input(format!("{shown}: the file has no header row")));
                }
                Err(e) => return Err(f.csv_error(e)),
            }
        }
        f.headers = rec.iter().map(|h| h.trim().to_string()).collect();
        super::name_blank_headers(&mut f.headers);
        Ok(f)
    }

    pub fn describe(&self) -> String {
        let d = match self.delimiter {
            b'\t' => "TAB".to_string(),
            c => format!("'{}'", c as char),
        };
        format!("delimited text, {}, delimiter {d}", self.encoding.name())
    }

    pub fn rows(&self) -> Result<DelimitedRows<'_>> {
        let mut rows = DelimitedRows {
            file: self,
            rdr: self.csv_reader()?,
            last_row: 0,
            width: self.headers.len(),
        };
        // Skip up to and including the header row, exactly as `open` did.
        let mut rec = csv::StringRecord::new();
        while let Some(_row) = rows.read(&mut rec)? {
            if !is_blank(&rec) {
                break;
            }
        }
        Ok(rows)
    }

    fn decoded_reader(&self) -> Result<Box<dyn Read + Send>> {
        let mut file = File::open(&self.path)
            .map_err(|e| Error::input(format!("{}: cannot open: {e}", self.path.display())))?;
        if self.encoding == UTF_8 {
            // Already checked to be UTF-8: hand the bytes straight to csv,
            // past the byte-order mark, without a transcoding copy.
            file.seek(SeekFrom::Start(self.bom_len))
                .map_err(|e| Error::input(format!("{}: {e}", self.path.display())))?;
            return Ok(Box::new(file));
        }
        Ok(Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(self.encoding))
                .bom_override(true)
                .strip_bom(true)
                .build(file),
        ))
    }

    fn csv_reader(&self) -> Result<csv::Reader<Box<dyn Read + Send>>> {
        let mut rdr = self.decoded_reader()?;
        if !self.crlf {
            // An LF file's last line may lack its newline; give it one, so
            // every record ends the same way (see `DelimitedRows::read`).
            rdr = Box::new(rdr.chain(&b"\n"[..]));
        }
        Ok(csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .buffer_capacity(READ_BUFFER)
            .from_reader(rdr))
    }

    fn decode_error(&self, e: std::io::Error) -> Error {
        Error::input(format!(
            "{}: cannot decode as {}: {e}",
            self.path.display(),
            self.encoding.name()
        ))
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        let at = e.position().map(|p| format!(" near line {}", p.line())).unwrap_or_default();
        if self.guessed_utf8 && matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
            return Error::Encoding(format!("{}{at}", self.path.display()));
        }
        let what = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => format!("text is not valid {}", self.encoding.name()),
            _ => e.to_string(),
        };
        Error::input(format!("{}{at}: {what}", self.path.display()))
    }
}

pub struct DelimitedRows<'a> {
    file: &'a DelimitedFile,
    rdr: csv::Reader<Box<dyn Read + Send>>,
    /// Excel row number of the last record read.
    last_row: u64,
    width: usize,
}

impl DelimitedRows<'_> {
    /// Reads one record and returns the row number Excel gives it.
    ///
    /// The parser skips empty lines, which Excel shows as rows, and its
    /// per-record line numbers lag on CRLF files, where a terminator's `\n`
    /// is consumed with the next record. So the row number comes from the
    /// newlines each read consumes: one ends a line (this record's own in an
    /// LF file, the previous record's in a CRLF file), those inside quotes
    /// belong to the record, and the rest were empty lines.
    fn read(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>> {
        let before = self.rdr.position().line();
        match self.rdr.read_record(rec) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(self.file.csv_error(e)),
        }
        let consumed = self.rdr.position().line().saturating_sub(before);
        let terminator = u64::from(!self.file.crlf || self.last_row > 0);
        let empty_lines = consumed.saturating_sub(count_newlines(rec) + terminator);
        self.last_row += 1 + empty_lines;
        Ok(Some(self.last_row))
    }
}

impl Rows for DelimitedRows<'_> {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        while let Some(row) = self.read(&mut rec.fields)? {
            if is_blank(&rec.fields) {
                continue;
            }
            rec.row = u32::try_from(row).unwrap_or(u32::MAX);
            rec.shape_error = fix_width(&mut rec.fields, self.width);
            if rec.fields.as_slice().contains('\0') {
                // Binary data pasted into a cell: refuse the row, not the file.
                let nul = "a cell holds a NUL character (binary data?)".to_string();
                rec.shape_error = Some(match rec.shape_error.take() {
                    Some(e) => format!("{e}; {nul}"),
                    None => nul,
                });
            }
            return Ok(true);
        }
        Ok(false)
    }
}

/// Pads or cuts a ragged row to the header's width and says what was wrong.
/// Extra fields that are empty (a trailing delimiter) are not an error.
fn fix_width(rec: &mut csv::StringRecord, width: usize) -> Option<String> {
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
    let extra: Vec<String> = rec
        .iter()
        .skip(width)
        .filter(|f| !f.trim().is_empty())
        .map(|f| format!("{:?}", super::super::text::clip(f, 40)))
        .collect();
    rec.truncate(width);
    if extra.is_empty() {
        None
    } else {
        Some(format!(
            "the row has {n} fields but the header has {width} columns (extra values: {})",
            extra.join(", ")
        ))
    }
}

fn is_blank(rec: &csv::StringRecord) -> bool {
    // The fields back to back: blank if nothing but whitespace, which the
    // first letter of any real row disproves at once.
    rec.as_slice().trim().is_empty()
}

fn count_newlines(rec: &csv::StringRecord) -> u64 {
    let s = rec.as_slice();
    // Most records hold no newline: one fast search says so.
    if !s.contains('\n') {
        return 0;
    }
    s.bytes().filter(|&b| b == b'\n').count() as u64
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

enum Utf8Scan {
    Valid,
    Invalid { line: u64 },
    Nul { line: u64 },
}

/// Checks the start of a file: UTF-8 or not, and no NUL bytes (which no
/// text file has). `cut` says the sample may end in the middle of a
/// character.
fn check_head(head: &[u8], cut: bool) -> Utf8Scan {
    let line_at = |pos: usize| 1 + head[..pos].iter().filter(|&&b| b == b'\n').count() as u64;
    if let Some(pos) = head.iter().position(|&b| b == 0) {
        return Utf8Scan::Nul { line: line_at(pos) };
    }
    match std::str::from_utf8(head) {
        Ok(_) => Utf8Scan::Valid,
        Err(e) if cut && e.error_len().is_none() => Utf8Scan::Valid,
        Err(e) => Utf8Scan::Invalid { line: line_at(e.valid_up_to()) },
    }
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
        assert!(matches!(check_head(&[b"ab\n".as_slice(), cut].concat(), true), Utf8Scan::Valid));
        assert!(matches!(
            check_head(&[b"ab\n".as_slice(), cut].concat(), false),
            Utf8Scan::Invalid { line: 2 }
        ));
        assert!(matches!(check_head(b"a\nb\ncaf\xe9\n", false), Utf8Scan::Invalid { line: 3 }));
        assert!(matches!(check_head(b"a\n\0", false), Utf8Scan::Nul { line: 2 }));
    }

    #[test]
    fn ragged_rows() {
        let mut r = csv::StringRecord::from(vec!["a", "b"]);
        assert!(fix_width(&mut r, 3).unwrap().contains("2 fields but the header has 3"));
        assert_eq!(r.len(), 3);
        let mut r = csv::StringRecord::from(vec!["a", "b", "", " "]);
        assert_eq!(fix_width(&mut r, 2), None);
        let mut r = csv::StringRecord::from(vec!["a", "b", "x"]);
        assert!(fix_width(&mut r, 2).unwrap().contains("extra values: \"x\""));
        assert_eq!(r.len(), 2);
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
    }
}
