//! Cuts decoded delimited text into records, one at a time, from a buffer
//! of fixed size; it knows nothing of files, encodings or row numbers.
//!
//! The csv crate's parser (`csv_core`) reads every record that holds a
//! quote or a stray carriage return. Most lines hold neither; such a line
//! is one record whose cells lie between its delimiters, so it is taken
//! whole and cut where they are (`Fields::set_line`), several times faster
//! than the parser going byte by byte, which made reading a third of a dry
//! run. Both ways give the same cells: a test compares them on thousands of
//! random files.

use std::io::{self, Read};

use crate::input::Fields;

/// A block of text read at once.
const BLOCK: usize = 256 * 1024;
/// The bytes of the end mark, the tail after its line break.
const END_LEN: usize = super::END.len();

/// What the text holds after the last record read.
pub enum Scanned {
    /// No more records.
    End,
    /// A record. `empty_lines`: the empty lines skipped before it.
    /// `unclosed`: a quote in it was never closed, so its last cell holds
    /// the rest of the text.
    Record { empty_lines: u64, unclosed: bool },
}

pub enum ScanError {
    Io(io::Error),
    /// A record grew past the limit before it ended.
    TooLong,
    /// The record starting at this byte of the text, on this line, is not
    /// UTF-8.
    NotUtf8 {
        byte: u64,
        line: u64,
    },
}

pub struct Scanner {
    inner: Box<dyn Read + Send>,
    delimiter: u8,
    /// The longest record taken, in bytes of text.
    limit: usize,
    /// What hrport appends to the text: a line break and an end mark (see
    /// `delimited::END`).
    tail: &'static [u8],
    buf: Vec<u8>,
    /// `buf[start..end]` is read and not yet taken.
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes of text before `buf[0]`.
    base: u64,
    /// Line breaks taken so far.
    lines: u64,
    parser: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Scanner {
    pub fn new(
        inner: Box<dyn Read + Send>,
        delimiter: u8,
        limit: usize,
        tail: &'static [u8],
    ) -> Scanner {
        Scanner {
            inner,
            delimiter,
            limit,
            tail,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            base: 0,
            lines: 0,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
        }
    }

    /// Reads the next record into `rec`.
    pub fn next(&mut self, rec: &mut Fields) -> Result<Scanned, ScanError> {
        let empty_lines = self.skip_empty_lines()?;
        let (byte, line) = (self.base + self.start as u64, self.lines + 1);
        let Some(len) = self.line_len()? else {
            return Ok(Scanned::End);
        };
        let text = &self.buf[self.start..self.start + len];
        let body = text.strip_suffix(b"\r").unwrap_or(text);
        let ends_line = self.start + len < self.end;
        if !ends_line && self.tail.ends_with(text) && text.len() == END_LEN {
            self.start = self.end;
            return Ok(Scanned::End);
        }
        if memchr::memchr2(b'"', b'\r', body).is_some() {
            return Ok(match self.parse(rec, byte, line)? {
                Some(unclosed) => Scanned::Record { empty_lines, unclosed },
                None => Scanned::End,
            });
        }
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(ScanError::NotUtf8 { byte, line });
        };
        rec.set_line(body, self.delimiter);
        self.start += len + usize::from(ends_line);
        self.lines += u64::from(ends_line);
        Ok(Scanned::Record { empty_lines, unclosed: false })
    }

    /// Takes the line breaks (and carriage returns) before a record, as the
    /// parser would; returns how many lines they ended.
    fn skip_empty_lines(&mut self) -> Result<u64, ScanError> {
        let mut n = 0;
        loop {
            while self.start < self.end && matches!(self.buf[self.start], b'\n' | b'\r') {
                n += u64::from(self.buf[self.start] == b'\n');
                self.start += 1;
            }
            if self.start < self.end || !self.fill()? {
                self.lines += n;
                return Ok(n);
            }
        }
    }

    /// The length of the line at `start`, without its line break, once the
    /// buffer holds all of it; `None` at the end of the text.
    fn line_len(&mut self) -> Result<Option<usize>, ScanError> {
        let mut searched = 0;
        loop {
            let rest = &self.buf[self.start + searched..self.end];
            if let Some(i) = memchr::memchr(b'\n', rest) {
                return Ok(Some(searched + i));
            }
            searched = self.end - self.start;
            if searched > self.limit {
                return Err(ScanError::TooLong);
            }
            if !self.fill()? {
                return Ok((searched > 0).then_some(searched));
            }
        }
    }

    /// Moves what is left to the front of the buffer, growing it if it is
    /// full, and reads more; false at the end of the text.
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ScanError::Io(e)),
            }
        };
        self.end += n;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Reads one record, starting at this byte and line, with the csv
    /// crate's parser; returns whether a quote was left open (what hrport
    /// appended to the text is then cut from the last cell), `None` if the
    /// text ended first.
    fn parse(&mut self, rec: &mut Fields, byte: u64, line: u64) -> Result<Option<bool>, ScanError> {
        use csv_core::ReadRecordResult as R;
        let (mut nout, mut nend, mut taken) = (0, 0, 0);
        loop {
            let input = &self.buf[self.start..self.end];
            let (res, i, o, e) =
                self.parser.read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            self.lines += memchr::memchr_iter(b'\n', &input[..i]).count() as u64;
            self.start += i;
            (nout, nend, taken) = (nout + o, nend + e, taken + i);
            match res {
                R::InputEmpty => {
                    if taken > self.limit {
                        return Err(ScanError::TooLong);
                    }
                    self.fill()?;
                }
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => break,
                R::End => return Ok(None),
            }
        }
        // A record the parser ended at a carriage return: the line feed
        // after it belongs to the same line break.
        if self.start > 0 && self.buf[self.start - 1] == b'\r' {
            if self.start == self.end {
                self.fill()?;
            }
            if self.start < self.end && self.buf[self.start] == b'\n' {
                self.start += 1;
                self.lines += 1;
            }
        }
        let mut out = &self.out[..nout];
        let unclosed = out.ends_with(self.tail);
        if unclosed {
            out = &out[..out.len() - self.tail.len()];
            if let Some(last) = self.ends[..nend].last_mut() {
                *last = out.len();
            }
        }
        let Ok(text) = std::str::from_utf8(out) else {
            return Err(ScanError::NotUtf8 { byte, line });
        };
        rec.set_parsed(text, &self.ends[..nend]);
        Ok(Some(unclosed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &[u8], tail: &'static [u8]) -> Vec<Vec<String>> {
        let text = Box::new(io::Cursor::new([text, tail].concat()));
        let mut scanner = Scanner::new(text, b',', 1 << 20, tail);
        let mut rec = Fields::new();
        let mut out = Vec::new();
        while let Ok(Scanned::Record { .. }) = scanner.next(&mut rec) {
            out.push(rec.iter().map(str::to_string).collect());
        }
        out
    }

    fn parsed(text: &[u8]) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
        r.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    }

    #[test]
    fn every_record_has_the_cells_the_csv_crate_reads() {
        // Random files of the bytes that matter: delimiters, quotes, line
        // breaks of every kind, spaces, an accent, and plain letters.
        let parts: [&[u8]; 9] =
            [b"a", b"bc", b",", b"\"", b"\n", b"\r", b"\r\n", b" ", "é".as_bytes()];
        let mut rng = fastrand::Rng::with_seed(7);
        for case in 0..4000 {
            let n = rng.usize(0..60);
            let text: Vec<u8> =
                (0..n).flat_map(|_| parts[rng.usize(..parts.len())]).copied().collect();
            let want = parsed(&text);
            for tail in ["\n\u{10FFFF}".as_bytes(), "\r\n\u{10FFFF}".as_bytes()] {
                let got = scanned(&text, tail);
                assert_eq!(got, want, "case {case}: {:?}", String::from_utf8_lossy(&text));
            }
        }
    }
}
