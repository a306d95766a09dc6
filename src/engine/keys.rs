//! The keys of every row (Employee ID, e-mail, username): which rows repeat
//! an earlier row's key, and which row a reference to another person means.
//!
//! Keys are compared ignoring case. To keep memory small on big files, a key
//! is kept as a 96-bit hash (the top of XXH3-128) packed with its row's
//! sequence number into one `u128`, 16 bytes a key, and each column's list
//! is sorted once at the end. Two different keys sharing a 96-bit hash is far
//! less likely than a disk error (about 10^-17 for a million rows), so equal
//! hashes are treated as equal keys.

use xxhash_rust::xxh3::xxh3_128;

use crate::input::Record;
use crate::mapping::{Mapping, Problem, find_field};
use crate::targets::TargetInfo;

/// Most key columns a target may declare.
pub const MAX_KEYS: usize = 4;

/// Which template fields are keys; hashing only, so it can run in parallel.
#[derive(Clone)]
pub struct Keys {
    fields: Vec<(usize, String)>,
}

impl Keys {
    pub fn new(info: &TargetInfo, m: &Mapping) -> Keys {
        let fields: Vec<(usize, String)> = info
            .template
            .unique
            .iter()
            .filter_map(|c| find_field(info.template.fields, c))
            .filter(|&f| m.column_of(f).is_some())
            .map(|f| (f, m.label(f).to_string()))
            .collect();
        assert!(fields.len() <= MAX_KEYS, "{}: too many unique columns", info.template.name);
        Keys { fields }
    }

    /// A row's key hashes in the upper 96 bits, one per key column; 0 where
    /// the row has no key.
    pub fn hashes(&self, rec: &Record, m: &Mapping) -> [u128; MAX_KEYS] {
        let mut out = [0u128; MAX_KEYS];
        for (slot, (field, _)) in out.iter_mut().zip(&self.fields) {
            let key = m.raw(rec, *field);
            if !key.is_empty() {
                *slot = hash(key) << 32;
            }
        }
        out
    }
}

pub struct KeyIndex {
    keys: Keys,
    /// Per key column: hash << 32 | sequence number.
    columns: Vec<Vec<u128>>,
    /// Excel row number by sequence number.
    rows: Vec<u32>,
}

impl KeyIndex {
    pub fn new(keys: Keys) -> KeyIndex {
        let columns = keys.fields.iter().map(|_| Vec::new()).collect();
        KeyIndex { keys, columns, rows: Vec::new() }
    }

    /// The hash a reference to a person is looked up with.
    pub fn reference(text: &str) -> u128 {
        hash(text) << 32
    }

    pub fn push(&mut self, seq: u32, row: u32, hashes: &[u128; MAX_KEYS]) {
        self.rows.push(row);
        debug_assert_eq!(self.rows.len(), seq as usize + 1);
        for (col, h) in self.columns.iter_mut().zip(hashes) {
            if *h != 0 {
                col.push(h | seq as u128);
            }
        }
    }

    /// Sorts the keys; returns (seq, row, problem) for every row that
    /// repeats an earlier one.
    pub fn finish(&mut self) -> Vec<(u32, u32, Problem)> {
        // Sorting by hash, then sequence, puts the first use of a key at the
        // head of its group.
        // One column after another: each takes a few milliseconds, and at
        // once they would hold a second copy of each.
        let mut spare = Vec::new();
        for col in &mut self.columns {
            sort_keys(col, &mut spare);
        }
        let mut out = Vec::new();
        for (col, (_, label)) in self.columns.iter().zip(&self.keys.fields) {
            for group in col.chunk_by(|a, b| a >> 32 == b >> 32) {
                let first = self.rows[(group[0] as u32) as usize];
                for later in &group[1..] {
                    let seq = *later as u32;
                    let problem = Problem::new(
                        label,
                        format!("same as row {first} (must be unique in the file)"),
                    );
                    out.push((seq, self.rows[seq as usize], problem));
                }
            }
        }
        out
    }

    /// The first row (sequence number and Excel row) whose key, in any key
    /// column, has this reference hash. Call after `finish`.
    pub fn find(&self, reference: u128) -> Option<(u32, u32)> {
        let want = reference >> 32;
        self.columns.iter().find_map(|col| {
            let i = col.partition_point(|e| e >> 32 < want);
            col.get(i).filter(|e| *e >> 32 == want).map(|e| {
                let seq = *e as u32;
                (seq, self.rows[seq as usize])
            })
        })
    }
}

/// Sorts a column's entries (hash, then sequence number). The hashes are
/// uniform, so one counting pass on their top bits spreads the entries into
/// buckets of a few each, already in order between buckets; sorting each
/// bucket then finishes the job in about linear time, several times faster
/// than comparing 16-byte entries all the way down on a big file. Memory: a
/// second copy of one column at a time (`spare`, reused for the next).
fn sort_keys(col: &mut Vec<u128>, spare: &mut Vec<u128>) {
    const BITS: u32 = 16;
    if col.len() < 1 << 12 {
        col.sort_unstable();
        return;
    }
    // Bit 127 is always set (see `hash`); the 16 bits below it lead.
    let bucket = |e: u128| ((e >> (127 - BITS)) as usize) & ((1 << BITS) - 1);
    let mut starts = vec![0u32; (1 << BITS) + 1];
    for &e in col.iter() {
        starts[bucket(e) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    spare.clear();
    spare.resize(col.len(), 0);
    for &e in col.iter() {
        let b = bucket(e);
        spare[next[b] as usize] = e;
        next[b] += 1;
    }
    for w in starts.windows(2) {
        spare[w[0] as usize..w[1] as usize].sort_unstable();
    }
    std::mem::swap(col, spare);
}

/// 96 bits of hash of the lower-cased key, never 0.
fn hash(key: &str) -> u128 {
    let h = if !key.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        // Already lower case (most e-mail addresses, ids and usernames).
        xxh3_128(key.as_bytes())
    } else if key.is_ascii() && key.len() <= 128 {
        // Other ASCII keys, lower-cased on the stack without allocating.
        let mut buf = [0u8; 128];
        let lower = &mut buf[..key.len()];
        lower.copy_from_slice(key.as_bytes());
        lower.make_ascii_lowercase();
        xxh3_128(lower)
    } else {
        xxh3_128(key.to_lowercase().as_bytes())
    };
    (h >> 32) | (1 << 95)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_hash_then_row_whatever_the_size() {
        for n in [0, 10, 5000, 70_000] {
            // Real key entries, with every seventh key repeated by a later row.
            let mut col: Vec<u128> = (0..n as u32)
                .map(|seq| (hash(&format!("e{}", seq - seq % 7 * (seq % 2))) << 32) | seq as u128)
                .collect();
            let mut want = col.clone();
            want.sort_unstable();
            sort_keys(&mut col, &mut Vec::new());
            assert_eq!(col, want, "{n} entries");
        }
    }

    #[test]
    fn keys_ignore_case() {
        assert_eq!(hash("Ana@Example.com"), hash("ana@example.com"));
        assert_ne!(hash("ana@example.com"), hash("ana@example.org"));
        assert_eq!(hash("ÉLODIE"), hash("élodie"));
        assert_eq!(hash(&"X".repeat(300)), hash(&"x".repeat(300)));
        assert!(hash("") >> 96 == 0 && hash("a") != 0);
    }
}
