//! Rows that repeat an earlier row's key (Employee ID, e-mail, username).
//!
//! Keys are compared ignoring case. To keep memory small on big files, each
//! key is stored as a 96-bit hash (two SipHash runs) with its row, 20 bytes a
//! key; the lists are sorted once at the end. Two different keys sharing a
//! 96-bit hash is far less likely than a disk error (about 10^-18 for a
//! million rows), so equal hashes are treated as equal keys.

use std::hash::{DefaultHasher, Hasher};

use crate::input::Record;
use crate::mapping::{Mapping, Problem, find_field};
use crate::targets::TargetInfo;

struct Entry {
    hash: [u32; 3],
    seq: u32,
    row: u32,
}

struct Column {
    field: usize,
    label: String,
    entries: Vec<Entry>,
}

pub struct DupIndex {
    columns: Vec<Column>,
}

impl DupIndex {
    pub fn new(info: &TargetInfo, m: &Mapping) -> DupIndex {
        let columns = info
            .unique
            .iter()
            .filter_map(|c| find_field(info.fields, c))
            .filter(|&f| m.column_of(f).is_some())
            .map(|field| Column { field, label: m.label(field).to_string(), entries: Vec::new() })
            .collect();
        DupIndex { columns }
    }

    pub fn add(&mut self, seq: u32, row: u32, rec: &Record, m: &Mapping) {
        for c in &mut self.columns {
            let key = m.raw(rec, c.field);
            if !key.is_empty() {
                c.entries.push(Entry { hash: hash(key), seq, row });
            }
        }
    }

    /// (seq, row, problem) for every row that repeats an earlier one.
    pub fn finish(self) -> Vec<(u32, u32, Problem)> {
        let mut out = Vec::new();
        for mut c in self.columns {
            c.entries.sort_unstable_by(|a, b| a.hash.cmp(&b.hash).then(a.seq.cmp(&b.seq)));
            for group in c.entries.chunk_by(|a, b| a.hash == b.hash) {
                let first = &group[0];
                for later in &group[1..] {
                    out.push((
                        later.seq,
                        later.row,
                        Problem::new(
                            &c.label,
                            format!("same as row {} (must be unique in the file)", first.row),
                        ),
                    ));
                }
            }
        }
        out
    }
}

fn hash(key: &str) -> [u32; 3] {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    b.write_u8(0x5a);
    for ch in key.chars().flat_map(char::to_lowercase) {
        a.write_u32(ch as u32);
        b.write_u32(ch as u32);
    }
    let (x, y) = (a.finish(), b.finish());
    [x as u32, (x >> 32) as u32, y as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case() {
        assert_eq!(hash("Ana@Example.com"), hash("ana@example.com"));
        assert_ne!(hash("ana@example.com"), hash("ana@example.org"));
        assert_eq!(hash("ÉLODIE"), hash("élodie"));
    }
}
