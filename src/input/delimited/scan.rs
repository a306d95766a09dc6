//! Cuts decoded delimited text into records, one at a time, from a buffer
//! of fixed size; it knows nothing of files or encodings, and counts lines
//! only to say where a record starts.
//!
//! The csv crate's parser (`csv_core`) reads every record that holds a
//! quote or ends at a lone carriage return. Most lines do neither; such a line
//! is one record whose cells lie between its delimiters, so it is taken
//! whole and cut where they are (`Fields::set_line`), several times faster
//! than the parser going byte by byte, which made reading a third of a dry
//! run. Both ways give the same cells: a test compares them on thousands of
//! random files.

use std::io::{self, Read};

use crate::input::Fields;

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

/// How a line ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    Lf,
    CrLf,
    /// A carriage return with no line feed after it: a record's end to the
    /// csv crate, left to its parser.
    LoneCr,
    /// The end of the text.
    None,
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
    /// Line feeds taken so far.
    lines: u64,
    /// The last record ended at a lone carriage return (see
    /// `skip_empty_lines`).
    owes_lf: bool,
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
            buf: vec![0; super::READ_BUFFER],
            start: 0,
            end: 0,
            eof: false,
            base: 0,
            lines: 0,
            owes_lf: false,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
        }
    }

    /// Reads the next record into `rec`.
    pub fn next(&mut self, rec: &mut Fields) -> Result<Scanned, ScanError> {
        let empty_lines = self.skip_empty_lines()?;
        let (byte, line) = (self.base + self.start as u64, self.lines + 1);
        let Some((len, end)) = self.line()? else {
            return Ok(Scanned::End);
        };
        let body = &self.buf[self.start..self.start + len];
        if end == LineEnd::None && len == END_LEN && self.tail.ends_with(body) {
            self.start = self.end;
            return Ok(Scanned::End);
        }
        if end == LineEnd::LoneCr || memchr::memchr(b'"', body).is_some() {
            return Ok(match self.parse(rec, byte, line)? {
                Some(unclosed) => Scanned::Record { empty_lines, unclosed },
                None => Scanned::End,
            });
        }
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(ScanError::NotUtf8 { byte, line });
        };
        rec.set_line(body, self.delimiter);
        let (bytes, breaks) = match end {
            LineEnd::Lf => (1, 1),
            LineEnd::CrLf => (2, 1),
            LineEnd::LoneCr | LineEnd::None => (0, 0),
        };
        self.start += len + bytes;
        self.lines += breaks;
        Ok(Scanned::Record { empty_lines, unclosed: false })
    }

    /// Takes the line breaks (and carriage returns) before a record, as the
    /// parser would; returns how many empty lines they were. The first line
    /// feed after a record the parser ended at a lone carriage return is
    /// that record's own (`\r\r\n`), as the csv crate's reader counted it.
    fn skip_empty_lines(&mut self) -> Result<u64, ScanError> {
        let mut n = 0;
        loop {
            while self.start < self.end && matches!(self.buf[self.start], b'\n' | b'\r') {
                if self.buf[self.start] == b'\n' {
                    self.lines += 1;
                    n += u64::from(!std::mem::replace(&mut self.owes_lf, false));
                }
                self.start += 1;
            }
            if self.start < self.end || !self.fill()? {
                self.owes_lf = false;
                return Ok(n);
            }
        }
    }

    /// The length of the line at `start`, up to its first line feed or
    /// carriage return, once the buffer holds all of it, and how it ends;
    /// `None` at the end of the text.
    fn line(&mut self) -> Result<Option<(usize, LineEnd)>, ScanError> {
        let mut searched = 0;
        loop {
            let rest = &self.buf[self.start + searched..self.end];
            if let Some(i) = memchr::memchr2(b'\n', b'\r', rest) {
                let len = searched + i;
                if len > self.limit {
                    return Err(ScanError::TooLong);
                }
                if self.buf[self.start + len] == b'\n' {
                    return Ok(Some((len, LineEnd::Lf)));
                }
                // A carriage return: the line feed after it may not be read yet.
                if self.start + len + 1 == self.end {
                    self.fill()?;
                }
                let crlf = self.buf.get(self.start + len + 1) == Some(&b'\n')
                    && self.start + len + 1 < self.end;
                return Ok(Some((len, if crlf { LineEnd::CrLf } else { LineEnd::LoneCr })));
            }
            searched = self.end - self.start;
            if searched > self.limit {
                return Err(ScanError::TooLong);
            }
            if !self.fill()? {
                return Ok((searched > 0).then_some((searched, LineEnd::None)));
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
            if taken > self.limit {
                return Err(ScanError::TooLong);
            }
            match res {
                R::InputEmpty => {
                    self.fill()?;
                }
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => break,
                R::End => return Ok(None),
            }
        }
        // A record the parser ended at a carriage return: the line feed
        // after it belongs to the same line break; with none, the next line
        // feed does (see `skip_empty_lines`).
        if self.start > 0 && self.buf[self.start - 1] == b'\r' {
            if self.start == self.end {
                self.fill()?;
            }
            if self.start < self.end && self.buf[self.start] == b'\n' {
                self.start += 1;
                self.lines += 1;
            } else {
                self.owes_lf = true;
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

    /// Hands out at most `step` bytes a read, so that records and line
    /// breaks fall across the buffer's refills.
    struct Trickle {
        text: io::Cursor<Vec<u8>>,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step);
            self.text.read(&mut buf[..n])
        }
    }

    /// Each record's cells, empty lines before it and whether a quote was
    /// left open; then how the text ended.
    type Out = (Vec<(Vec<String>, u64, bool)>, Result<(), String>);

    fn scanned(text: &[u8], tail: &'static [u8], step: usize, limit: usize) -> Out {
        let text = io::Cursor::new([text, tail].concat());
        let mut scanner = Scanner::new(Box::new(Trickle { text, step }), b',', limit, tail);
        let mut rec = Fields::new();
        let mut out = Vec::new();
        loop {
            match scanner.next(&mut rec) {
                Ok(Scanned::Record { empty_lines, unclosed }) => {
                    out.push((rec.iter().map(str::to_string).collect(), empty_lines, unclosed))
                }
                Ok(Scanned::End) => return (out, Ok(())),
                Err(ScanError::TooLong) => return (out, Err("too long".into())),
                Err(ScanError::NotUtf8 { line, .. }) => return (out, Err(format!("line {line}"))),
                Err(ScanError::Io(e)) => return (out, Err(e.to_string())),
            }
        }
    }

    fn parsed(text: &[u8]) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
        r.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    }

    #[test]
    fn every_record_has_the_cells_the_csv_crate_reads() {
        // Random files of the bytes that matter: delimiters, quotes, line
        // breaks of every kind, spaces, an accent, and plain letters, read
        // whole and a few bytes at a time.
        let parts: [&[u8]; 9] =
            [b"a", b"bc", b",", b"\"", b"\n", b"\r", b"\r\n", b" ", "é".as_bytes()];
        let mut rng = fastrand::Rng::with_seed(7);
        for case in 0..4000 {
            let n = rng.usize(0..60);
            let text: Vec<u8> =
                (0..n).flat_map(|_| parts[rng.usize(..parts.len())]).copied().collect();
            let want = parsed(&text);
            let step = if case % 2 == 0 { 1 << 20 } else { rng.usize(1..8) };
            for tail in ["\n\u{10FFFF}".as_bytes(), "\r\n\u{10FFFF}".as_bytes()] {
                let (got, end) = scanned(&text, tail, step, 1 << 20);
                let cells: Vec<Vec<String>> = got.into_iter().map(|(c, _, _)| c).collect();
                assert_eq!((cells, end), (want.clone(), Ok(())), "case {case}: {text:?}");
            }
        }
    }

    #[test]
    fn empty_lines_are_counted_as_the_csv_crate_numbered_them() {
        let lines = |text: &str| -> Vec<u64> {
            let (got, end) = scanned(text.as_bytes(), "\n\u{10FFFF}".as_bytes(), 3, 1 << 20);
            assert_eq!(end, Ok(()));
            got.into_iter().map(|(_, empty, _)| empty).collect()
        };
        assert_eq!(lines("a\n\nb\r\n\r\nc\n"), [0, 1, 1]);
        // A lone carriage return ends a record, not a line; `\r\r\n`
        // (a CRLF file converted twice) is one line break.
        assert_eq!(lines("a\rb\nc\n"), [0, 0, 0]);
        assert_eq!(lines("a\r\r\nb\r\r\nc"), [0, 0, 0]);
        assert_eq!(lines("\"q\r\"\r\r\n\nb"), [0, 1]);
    }

    #[test]
    fn lines_ended_by_carriage_returns_alone_read_one_by_one() {
        // An old Mac file (CR only) that a line feed in a quoted cell kept
        // from being read as one: each record is read at once, not after a
        // search for the next line feed to the end of the file.
        let text = format!("h,\"x\ny\"\r{}", "a,b\r".repeat(50_000));
        let (got, end) = scanned(text.as_bytes(), "\n\u{10FFFF}".as_bytes(), 1 << 20, 1000);
        assert_eq!((got.len(), end), (50_001, Ok(())));
        assert_eq!(got[1].0, ["a", "b"]);
    }

    #[test]
    fn a_row_longer_than_the_limit_is_refused_on_either_path() {
        // A long line; a short line opening a quoted cell that runs long.
        for row in ["x".repeat(3000), format!("\"x\n{}\"", "x".repeat(3000))] {
            let text = format!("a,b\n{row}\nc,d\n");
            let (got, end) = scanned(text.as_bytes(), "\n\u{10FFFF}".as_bytes(), 7, 1000);
            assert_eq!((got.len(), end), (1, Err("too long".to_string())), "{}", &row[..5]);
        }
        let (got, end) = scanned(b"a,\"open\nb\n", "\n\u{10FFFF}".as_bytes(), 2, 1000);
        assert_eq!(got, [(vec!["a".to_string(), "open\nb\n".to_string()], 0, true)]);
        assert_eq!(end, Ok(()));
    }
}
