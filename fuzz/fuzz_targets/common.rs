//! What the fuzz targets share: one scratch folder for the whole run, and
//! reading a file the way an import does (open, then every row, twice).
//! Each target uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hrport::error::Result;
use hrport::input::{ReadOptions, Record, Source};

/// Writes `data` to `name` in the run's scratch folder.
pub fn write(name: &str, data: &[u8]) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("scratch folder"));
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write the input");
    path
}

/// Opens the file and reads every row twice (an import's two passes),
/// checking what every reader promises: rows as wide as the header, in
/// increasing Excel row numbers from 2.
pub fn read_all(path: &Path, opts: &ReadOptions) -> Result<()> {
    let source = Source::open(path, opts)?;
    let width = source.headers().len();
    let mut counts = [0u64; 2];
    for count in &mut counts {
        let mut rows = source.rows()?;
        let mut rec = Record::default();
        let mut last = 1;
        while rows.next_into(&mut rec)? {
            assert_eq!(rec.fields.len(), width, "row {} is not as wide as the header", rec.row);
            assert!(rec.row > last || rec.row == u32::MAX, "row {} after row {last}", rec.row);
            last = rec.row;
            *count += 1;
        }
    }
    assert_eq!(counts[0], counts[1], "both passes read the same rows");
    Ok(())
}
