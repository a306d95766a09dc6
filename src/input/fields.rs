//! One row's cells as text: the cells in one string, and where each ends.
//! Every reader fills one per row and everything after reads it; it knows
//! nothing of files, formats or templates.
//!
//! It stands where `csv::StringRecord` stood, with its methods, for one
//! reason: a delimited line without quotes is taken whole, one copy, and
//! its cells are the text between its delimiters (`set_line`), where a
//! `StringRecord` can only be built cell by cell, which cost as much as
//! parsing the line. Such a row keeps its delimiters between the cells
//! (`gap`), which also lets it be written out again in one piece.

use std::fmt;

#[derive(Clone, Default)]
pub struct Fields {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
    /// The byte between cells, if any.
    gap: Option<u8>,
    /// No cell holds a quote, a line break or the gap byte (known for a
    /// line only).
    bare: bool,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Room for `bytes` of text in `fields` cells.
    pub fn with_capacity(bytes: usize, fields: usize) -> Fields {
        let (text, ends) = (String::with_capacity(bytes), Vec::with_capacity(fields));
        Fields { text, ends, gap: None, bare: false }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] + usize::from(self.gap.is_some()) };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { fields: self, front: 0, back: self.len() }
    }

    /// Where each cell lies in `text`: its start and end.
    pub fn spans(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let gap = usize::from(self.gap.is_some());
        let mut start = 0;
        self.ends.iter().map(move |&end| (std::mem::replace(&mut start, end + gap), end))
    }

    /// Every cell's text, back to back or with `gap` between them.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte between cells in `text`, if there is one: the delimiter of
    /// a line `set_line` took.
    pub fn gap(&self) -> Option<u8> {
        self.gap
    }

    /// Whether no cell holds a quote, a line break or the gap byte, as far
    /// as is known (false unless the cells came from a line `set_line`
    /// took): then `text` is that line.
    pub fn bare(&self) -> bool {
        self.bare
    }

    pub fn push_field(&mut self, cell: &str) {
        if let (true, Some(gap)) = (self.bare, self.gap) {
            // Still a line of the file only if the cell could be one's.
            let special = |b: u8| matches!(b, b'"' | b'\r' | b'\n') || b == gap;
            self.bare = !cell.bytes().any(special);
        }
        if let (Some(gap), false) = (self.gap, self.ends.is_empty()) {
            self.text.push(char::from(gap));
        }
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.gap = None;
        self.bare = false;
    }

    /// Keeps the first `n` cells.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.ends.truncate(n);
            self.text.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    /// The cells of one line of delimited text that holds no quote and no
    /// line break: the line is copied once, and its cells end at each ASCII
    /// `delimiter`.
    pub fn set_line(&mut self, line: &str, delimiter: u8) {
        debug_assert!(delimiter.is_ascii());
        debug_assert!(memchr::memchr3(b'"', b'\r', b'\n', line.as_bytes()).is_none());
        self.clear();
        self.gap = Some(delimiter);
        self.bare = true;
        self.text.push_str(line);
        split(line.as_bytes(), delimiter, &mut self.ends);
        self.ends.push(line.len());
    }

    /// The cells as a parser that unquotes them hands them over: their text
    /// back to back and where each ends.
    pub fn set_parsed(&mut self, text: &str, ends: &[usize]) {
        debug_assert!(ends.windows(2).all(|w| w[0] <= w[1]) && ends.last() <= Some(&text.len()));
        self.clear();
        self.text.push_str(text);
        self.ends.extend_from_slice(ends);
    }
}

/// Pushes the position of every `delimiter` in `bytes`, eight bytes at a
/// time: a row has a delimiter every few bytes, too often for a search
/// that starts over after each one to pay.
fn split(bytes: &[u8], delimiter: u8, ends: &mut Vec<usize>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let splat = u64::from_ne_bytes([delimiter; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes")) ^ splat;
        // The top bit of each byte that was the delimiter (now zero), and
        // of no other: the exact form, with no carry between bytes.
        let mut hits = !(((w & LOW7) + LOW7) | w | LOW7);
        while hits != 0 {
            ends.push(at + hits.trailing_zeros() as usize / 8);
            hits &= hits - 1;
        }
        at += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == delimiter {
            ends.push(at + i);
        }
    }
}

pub struct Iter<'a> {
    fields: &'a Fields,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.fields.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.fields.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Fields {
    type Item = &'a str;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> From<Vec<S>> for Fields {
    fn from(cells: Vec<S>) -> Fields {
        cells.iter().map(AsRef::as_ref).collect()
    }
}

impl<'s> FromIterator<&'s str> for Fields {
    fn from_iter<I: IntoIterator<Item = &'s str>>(cells: I) -> Fields {
        let mut f = Fields::new();
        for c in cells {
            f.push_field(c);
        }
        f
    }
}

impl std::ops::Index<usize> for Fields {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i).expect("a cell of the row")
    }
}

/// Equal when the cells are, however they are held.
impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Fields {}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_at_every_delimiter_wherever_it_falls() {
        // Lines of every length around the eight-byte words, with the
        // delimiter at every place, twice in a row, first and last.
        for len in 0..40 {
            for mask in [0u64, 1, 0b11, 1 << 7, 1 << 8, 0x8000_0001, u64::MAX, 0x5555_5555_5555] {
                let line: String =
                    (0..len).map(|i| if mask >> (i % 64) & 1 == 1 { ';' } else { 'x' }).collect();
                let mut f = Fields::new();
                f.set_line(&line, b';');
                let want: Vec<&str> = line.split(';').collect();
                assert_eq!(f.iter().collect::<Vec<_>>(), want, "{line:?}");
                assert_eq!((f.text(), f.gap()), (line.as_str(), Some(b';')));
            }
        }
        let mut f = Fields::new();
        f.set_line("é;Zoë;;\u{10FFFF}", b';');
        assert_eq!(f.iter().collect::<Vec<_>>(), ["é", "Zoë", "", "\u{10FFFF}"]);
    }

    #[test]
    fn cells_behave_as_a_string_record_did() {
        let mut f = Fields::from(vec!["a", "", "ccc"]);
        assert_eq!((f.len(), f.get(1), f.get(2), f.get(3)), (3, Some(""), Some("ccc"), None));
        assert_eq!(f.iter().rev().collect::<Vec<_>>(), ["ccc", "", "a"]);
        assert_eq!((f.text(), f.gap()), ("accc", None));
        f.truncate(1);
        f.push_field("d");
        assert_eq!(f, Fields::from(vec!["a", "d"]));
        // A line's row keeps its delimiters, and grows and shrinks the same.
        f.set_line("a;b;c", b';');
        assert_eq!(f.spans().collect::<Vec<_>>(), [(0, 1), (2, 3), (4, 5)]);
        f.truncate(2);
        f.push_field("");
        f.push_field("e");
        assert_eq!(f, Fields::from(vec!["a", "b", "", "e"]));
        assert_eq!((f.text(), f.bare()), ("a;b;;e", true));
        f.push_field("f\ng");
        assert_eq!((f.get(4), f.bare()), (Some("f\ng"), false));
        f.set_line("a;b", b';');
        f.push_field("c;d");
        assert_eq!((f.get(2), f.bare()), (Some("c;d"), false), "a cell holding the delimiter");
        f.set_parsed("x\"y,z", &[3, 5]);
        assert_eq!(format!("{f:?}"), r#"["x\"y", ",z"]"#);
        f.clear();
        assert!(f.is_empty() && f.get(0).is_none());
    }
}
