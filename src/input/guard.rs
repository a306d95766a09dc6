//! Defences around the third-party workbook parsers (zip, calamine).
//!
//! `check_zip` reads only a workbook's zip directory and refuses one that
//! would inflate beyond sane limits, before a byte is inflated; `check_ods`
//! does the same for cells an .ods repeats. `contain` turns a parser's panic
//! on a damaged file into an error, keeping the panic message off stderr.

use std::cell::Cell;
use std::fs::File;
use std::io::BufReader;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::error::{Error, Result};

/// The most a workbook may inflate to, all parts together. A 1,000,000-row
/// sheet is about 200 MiB of XML; this is five times that.
pub const MAX_UNPACKED: u64 = 1 << 30;
/// A part bigger than this must not be compressed more than `MAX_RATIO`:1.
/// Real sheet XML compresses 5–20:1; a zip bomb, 1,000:1.
pub const BIG_PART: u64 = 64 << 20;
pub const MAX_RATIO: u64 = 100;

/// Refuses a zip (.xlsx, .ods) whose directory says it would inflate past
/// the limits above. The zip crate stops reading a part at the size its
/// directory declares, so the declared sizes can be trusted.
pub fn check_zip(path: &Path, shown: &str, what: &str) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::input(format!("{shown}: cannot open: {e}")))?;
    let zip = contain(|| zip::ZipArchive::new(BufReader::new(file)))
        .map_err(|p| Error::input(format!("{shown}: cannot read this {what} workbook: {p}")))?
        .map_err(|e| Error::input(format!("{shown}: cannot read this {what} workbook: {e}")))?;
    let refuse = |what_inflates: String| {
        Error::input(format!(
            "{shown}: refused as a possible zip bomb: {what_inflates}; hrport reads no workbook \
             that inflates to more than {} in all, nor a part over {} compressed more than {}:1 \
             (nothing was inflated)",
            size(MAX_UNPACKED),
            size(BIG_PART),
            MAX_RATIO
        ))
    };
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let Ok(part) = zip.by_index_data(i) else {
            continue;
        };
        let (inflated, packed) = (part.size(), part.compressed_size());
        if inflated > BIG_PART && inflated > packed.saturating_mul(MAX_RATIO) {
            let name = String::from_utf8_lossy(part.name_raw());
            return Err(refuse(format!(
                "its part {:?} would inflate to {} from {} ({}:1)",
                crate::text::clip(&name, 60),
                size(inflated),
                size(packed),
                crate::text::thousands((inflated / packed.max(1)) as usize)
            )));
        }
        total = total.saturating_add(inflated);
    }
    if total > MAX_UNPACKED {
        return Err(refuse(format!("its parts would inflate to {} in all", size(total))));
    }
    Ok(())
}

/// The most cells calamine may build for an .ods (all its sheets are loaded
/// whole): a 100,000-row, 30-column sheet needs 6,000,000 (see
/// `ods_cells`). About 1 GiB of memory at the limit.
pub const MAX_ODS_CELLS: u64 = 20_000_000;

/// Refuses an .ods whose repeated rows and columns would make calamine build
/// more than `MAX_ODS_CELLS` cells: two kilobytes of XML can ask for 96
/// million (12 GB). Reads content.xml as calamine does, without building
/// anything. A file calamine cannot read is left for it to report.
pub fn check_ods(path: &Path, shown: &str) -> Result<()> {
    let Ok(file) = File::open(path) else { return Ok(()) };
    let Ok(Ok(mut zip)) = contain(|| zip::ZipArchive::new(BufReader::new(file))) else {
        return Ok(());
    };
    let Ok(content) = zip.by_name("content.xml") else { return Ok(()) };
    let cells = contain(|| ods_cells(BufReader::new(content))).unwrap_or(0);
    if cells > MAX_ODS_CELLS {
        return Err(Error::input(format!(
            "{shown}: refused: its repeated rows and columns would expand to {} cells in memory; \
             hrport reads .ods files of at most {} cells (save a sheet that big as .xlsx, which \
             is streamed)",
            crate::text::thousands(cells as usize),
            crate::text::thousands(MAX_ODS_CELLS as usize)
        )));
    }
    Ok(())
}

/// How many cells calamine's ODS reader builds for content.xml: each row as
/// written, its repeated cells expanded (empty ones too, unless last in the
/// row), then each sheet's box of rows (repeats expanded) by columns.
/// Counts only; stops at the first XML error (calamine stops there too).
fn ods_cells(xml: impl std::io::BufRead) -> u64 {
    use quick_xml::events::Event;
    const MAX_ROWS: u64 = 1_048_576;
    const MAX_COLUMNS: u64 = 16_384;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.expand_empty_elements = true;
    let repeats = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> Option<u64> {
        match e.try_get_attribute(name) {
            Ok(Some(a)) => a.value.trim().parse().ok(),
            Ok(None) => Some(1),
            Err(_) => None,
        }
    };
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    // The sheet being read: rows so far, and its box.
    let (mut rows, mut first_full, mut last_full, mut widest) = (0u64, None, 0u64, 0u64);
    // The row being read.
    let (mut in_row, mut row_repeats, mut width, mut pending, mut full_to) = (false, 0, 0, 0, 0);
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "table:table" => (rows, first_full, last_full, widest) = (0, None, 0, 0),
                "table:table-row" => {
                    let Some(n) = repeats(&e, "table:number-rows-repeated") else { break };
                    row_repeats = n.min(MAX_ROWS.saturating_sub(rows));
                    rows += row_repeats;
                    (in_row, width, pending, full_to) = (true, 0, 0, 0);
                }
                "table:table-cell" | "table:covered-table-cell" if in_row => {
                    let Some(n) = repeats(&e, "table:number-columns-repeated") else { break };
                    // Empty cells wait; the next cell, empty or not, adds them.
                    width += pending.min(MAX_COLUMNS - width);
                    let n = n.min(MAX_COLUMNS - width);
                    let full = ["office:value-type", "calcext:value-type", "table:formula"]
                        .iter()
                        .any(|a| matches!(e.try_get_attribute(a), Ok(Some(_))));
                    if full {
                        width += n;
                        full_to = width;
                        pending = 0;
                    } else {
                        pending = n;
                    }
                }
                _ => {}
            },
            Ok(Event::End(e)) => match e.name().as_ref() {
                "table:table-row" if in_row => {
                    in_row = false;
                    total = total.saturating_add(width);
                    if full_to > 0 {
                        first_full.get_or_insert(rows - row_repeats);
                        last_full = rows;
                        widest = widest.max(full_to);
                    }
                }
                "table:table" => {
                    if let Some(first) = first_full {
                        total = total.saturating_add((last_full - first).saturating_mul(widest));
                    }
                    first_full = None;
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    total
}

/// Bytes for people: "1.0 GiB", "64 MiB", "3.2 KiB".
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    let (v, unit) = match bytes {
        0..1024 => return format!("{bytes} bytes"),
        1024..0x10_0000 => (b / 1024.0, "KiB"),
        0x10_0000..0x4000_0000 => (b / 1048576.0, "MiB"),
        _ => (b / 1073741824.0, "GiB"),
    };
    if v.fract() == 0.0 { format!("{v:.0} {unit}") } else { format!("{v:.1} {unit}") }
}

thread_local! {
    /// Set while this thread runs parser code under `contain`.
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Runs parser code, turning a panic into `Err` with its message. Parsers
/// of binary formats may panic on input nobody tested them with; that is a
/// damaged file to report, not a crash. The panic hook stays quiet for such
/// panics only: one anywhere else is still reported as the bug it is.
pub fn contain<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let next = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                next(info);
            }
        }));
    });
    let was = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    result.map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        // One line, however the parser wrote it ("assertion failed\n left: 3").
        let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("the file is damaged (the reader failed: {})", crate::text::clip(&msg, 200))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(size(10), "10 bytes");
        assert_eq!(size(3 * 1024 + 200), "3.2 KiB");
        assert_eq!(size(BIG_PART), "64 MiB");
        assert_eq!(size(MAX_UNPACKED), "1 GiB");
        assert_eq!(size(5 << 29), "2.5 GiB");
    }

    #[test]
    fn ods_cells_as_calamine_builds_them() {
        let sheet = |rows: &str| {
            let xml = format!(
                "<office:document-content><table:table table:name=\"S\">{rows}</table:table>\
                 </office:document-content>"
            );
            ods_cells(xml.as_bytes())
        };
        let cell = |n: u32| {
            format!(
                "<table:table-cell office:value-type=\"string\" \
                 table:number-columns-repeated=\"{n}\"><text:p>x</text:p></table:table-cell>"
            )
        };
        let empty = |n: u32| format!("<table:table-cell table:number-columns-repeated=\"{n}\"/>");
        // Two rows of 3 cells: 6 as read, then a 2 x 3 box.
        let row = format!("<table:table-row>{}</table:table-row>", cell(3));
        assert_eq!(sheet(&row.repeat(2)), 12);
        // Trailing empty cells are not built, empty ones before a value are.
        let row =
            format!("<table:table-row>{}{}{}</table:table-row>", cell(1), empty(5), empty(1000));
        assert_eq!(sheet(&row), 6 + 1);
        // Repeated rows expand in the box only.
        let row = format!(
            "<table:table-row table:number-rows-repeated=\"6000\">{}</table:table-row>",
            cell(16_000)
        );
        assert_eq!(sheet(&row), 16_000 + 6000 * 16_000);
        // Repeated empty rows at the end cost nothing.
        let tail = format!(
            "<table:table-row table:number-rows-repeated=\"1048000\">{}</table:table-row>",
            empty(1024)
        );
        assert_eq!(sheet(&format!("<table:table-row>{}</table:table-row>{tail}", cell(2))), 4);
    }

    #[test]
    fn a_panic_is_contained_and_the_thread_goes_on() {
        let r: std::result::Result<(), String> = contain(|| panic!("index out of bounds"));
        assert_eq!(r.unwrap_err(), "the file is damaged (the reader failed: index out of bounds)");
        assert_eq!(contain(|| 7), Ok(7));
        let r: std::result::Result<(), String> = contain(|| panic!("assertion failed\n  left: 3"));
        assert_eq!(
            r.unwrap_err(),
            "the file is damaged (the reader failed: assertion failed left: 3)"
        );
        assert!(!CONTAINED.with(Cell::get));
    }
}
