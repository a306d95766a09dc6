//! What the target holds, as `export` writes it: every record's id, state
//! and cells, read once before the rows are checked, so each row can be
//! compared with the record it matches (see `diff`).
//!
//! Memory: one entry per record with its cells joined into one string
//! (documented as the per-record index; the bench measures it). It sends
//! nothing itself: the session's `export` pages through the records.

use std::collections::HashMap;

use crate::targets::{ExportError, Exported, Session};
use crate::transport::{Api, ApiError};

/// Between two cells: a character no export writes.
const SEP: char = '\u{1f}';

/// One record as the target holds it.
#[derive(Debug)]
pub struct Snapshot {
    pub active: bool,
    cells: Box<str>,
}

impl Snapshot {
    /// The record's cell of template field `field`, as export writes it.
    pub fn cell(&self, field: usize) -> &str {
        self.cells.split(SEP).nth(field).unwrap_or("")
    }

    /// Every cell, split once (a row's diff reads many of them).
    pub fn cells(&self) -> Vec<&str> {
        self.cells.split(SEP).collect()
    }

    /// Bytes this entry keeps (its id aside).
    pub fn size(&self) -> usize {
        std::mem::size_of::<Snapshot>() + self.cells.len()
    }
}

#[derive(Debug, Default)]
pub struct Tenant {
    records: HashMap<Box<str>, Snapshot>,
}

impl Tenant {
    /// Every record the target holds, active or not.
    pub fn load(session: &dyn Session, api: &Api) -> Result<Tenant, ApiError> {
        let mut t = Tenant::default();
        let r = session.export(api, true, &mut |e| {
            t.insert(e);
            Ok(())
        });
        match r {
            Ok(()) => Ok(t),
            Err(ExportError::Api(e)) => Err(e),
            // `insert` cannot fail.
            Err(ExportError::Output(e)) => Err(ApiError::Unavailable(e.to_string())),
        }
    }

    pub fn insert(&mut self, e: Exported) {
        let cells: String =
            e.cells.iter().map(|c| c.replace(SEP, " ")).collect::<Vec<_>>().join(&SEP.to_string());
        self.records.insert(e.id.into(), Snapshot { active: e.active, cells: cells.into() });
    }

    pub fn get(&self, id: &str) -> Option<&Snapshot> {
        self.records.get(id)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Snapshot)> {
        self.records.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Average bytes kept per record, ids included (for the bench).
    pub fn bytes_per_record(&self) -> usize {
        let total: usize = self.records.iter().map(|(k, v)| k.len() + v.size()).sum();
        total / self.records.len().max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_come_back_as_written() {
        let mut t = Tenant::default();
        let cells = vec!["E1".to_string(), String::new(), "a\u{1f}b".to_string(), "x".to_string()];
        t.insert(Exported { id: "7".into(), active: false, cells });
        let s = t.get("7").unwrap();
        assert_eq!(
            (s.cell(0), s.cell(1), s.cell(2), s.cell(3), s.cell(9)),
            ("E1", "", "a b", "x", "")
        );
        assert!(!s.active);
        assert!(t.get("8").is_none());
    }
}
