//! Fuzz target: a header row and cells, mapped for every target.
//!
//! The input is text: an optional mapping profile (TOML) ending in a line
//! `===`, then a line of extra date formats, the header line, and rows, with
//! cells separated by tabs. For each target in `TARGETS`: `Mapping::resolve`,
//! then `map_row` and the offline session's checks on every row, against
//! no reference tables and against made-up ones (names, ids, duplicates).
#![no_main]

use std::collections::HashMap;

use hrport::input::Record;
use hrport::mapping::field::Kind;
use hrport::mapping::profile::Profile;
use hrport::mapping::{Mapping, RefEntry, RefTable, RefTables};
use hrport::targets::{Options, TARGETS};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (profile, table) = match text.split_once("\n===\n") {
        Some((toml, rest)) => {
            let path = common::write("profile.toml", toml.as_bytes());
            match Profile::load(&path) {
                Ok(p) => (p, rest),
                Err(_) => return,
            }
        }
        None => (Profile::default(), &*text),
    };
    let mut lines = table.split('\n');
    let formats: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split('\t')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    let headers: Vec<String> = lines.next().unwrap_or("").split('\t').map(String::from).collect();
    let rows: Vec<&str> = lines.collect();

    for target in TARGETS {
        let info = target.info();
        let Ok(mapping) = Mapping::resolve(&info.template, "fuzz.csv", &headers, &profile, formats.clone())
        else {
            continue;
        };
        let Ok(options) = Options::resolve(info, &profile.options) else {
            continue;
        };
        let session = target.offline(&options);
        let refs = made_up_refs(&mapping);
        for (i, line) in rows.iter().enumerate() {
            // What every reader hands out: exactly as many cells as headers.
            let mut cells: Vec<&str> = line.split('\t').collect();
            cells.resize(headers.len(), "");
            let rec = Record {
                row: i as u32 + 2,
                fields: hrport::input::Fields::from(cells),
                shape_error: None,
                kinds: Vec::new(),
            };
            for refs in [session.refs(), &refs] {
                let mut values = Vec::new();
                let mut problems = Vec::new();
                mapping.map_row(&rec, refs, &mut values, &mut problems);
                assert_eq!(values.len(), mapping.fields.len());
                session.check(&values, &mapping, &mut problems);
                if problems.is_empty() {
                    let _ = session.existing(&values, &mapping);
                }
                for p in &problems {
                    assert!(!p.to_string().is_empty());
                }
            }
        }
    }
});

/// Reference tables for every reference column of the template, with a
/// name given twice (so "give the id instead" is reachable).
fn made_up_refs(mapping: &Mapping) -> RefTables {
    let mut tables = HashMap::new();
    for f in mapping.fields {
        if let Kind::Reference(what) | Kind::References(what) = f.kind {
            let entries = [("1", "EMEA"), ("2", "Guard"), ("3", "Guard"), ("4", "NA-East")]
                .map(|(id, name)| RefEntry { id: id.into(), name: name.into() });
            tables.insert(what, RefTable::new(what, entries.to_vec()));
        }
    }
    RefTables(tables)
}
