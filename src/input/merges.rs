//! The merged regions of an .xlsx sheet, found without parsing its cells.
//!
//! A sheet lists its `<mergeCell ref="A1:B2"/>` elements after every cell,
//! so calamine's own look-up parses the whole sheet's XML once more before
//! the rows can be streamed (about half the time of reading a big sheet).
//! Here the sheet is only inflated and searched for the end of its cells;
//! what follows (a few kilobytes) is parsed as XML. Cell text never holds a
//! raw `<`, so no value can fool the search.
//!
//! It only reads: `None` whenever the workbook's parts are not where the
//! format puts them, and the caller falls back to calamine.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use calamine::Dimensions;
use quick_xml::events::Event;

/// The merged regions of sheet `name`, or `None` to ask calamine instead.
pub fn scan(path: &Path, name: &str) -> Option<Vec<Dimensions>> {
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path).ok()?)).ok()?;
    let part = sheet_part(&mut zip, name)?;
    let tail = after_cells(zip.by_name(&part).ok()?)?;
    merge_refs(&tail)
}

/// The zip entry of sheet `name`: its relationship id in xl/workbook.xml,
/// then that relationship's target in xl/_rels/workbook.xml.rels.
fn sheet_part<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<String> {
    let book = read_part(zip, "xl/workbook.xml")?;
    let rid = find_attr(&book, "sheet", ("name", name), "id")?;
    let rels = read_part(zip, "xl/_rels/workbook.xml.rels")?;
    let target = find_attr(&rels, "Relationship", ("Id", &rid), "Target")?;
    Some(match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("xl/{target}"),
    })
}

fn read_part<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, part: &str) -> Option<String> {
    let mut s = String::new();
    // Both parts are small; a huge one is no workbook this reader knows.
    zip.by_name(part).ok()?.take(16 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The attribute `want` (by local name) of the first `element` whose
/// attribute `key` (by local name) equals `value`.
fn find_attr(xml: &str, element: &str, (key, value): (&str, &str), want: &str) -> Option<String> {
    let mut r = quick_xml::Reader::from_str(xml);
    loop {
        match r.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                let (mut matched, mut found) = (false, None);
                for a in e.attributes().flatten() {
                    let v = a.normalized_value(quick_xml::XmlVersion::default()).ok()?.into_owned();
                    if a.key.local_name().as_ref() == key && v == value {
                        matched = true;
                    } else if a.key.local_name().as_ref() == want {
                        found = Some(v);
                    }
                }
                if matched {
                    return found;
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// What follows the sheet's cells: everything after `</sheetData>` (or a
/// `<sheetData/>` without cells), read to the end of the part.
fn after_cells(mut part: impl Read) -> Option<Vec<u8>> {
    let finder = memchr::memmem::Finder::new(b"sheetData");
    let mut buf = vec![0u8; 1 << 16];
    // The last bytes of the previous chunk, so a tag cut in two is found.
    let mut window: Vec<u8> = Vec::with_capacity(buf.len() + 64);
    loop {
        let n = part.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        window.extend_from_slice(&buf[..n]);
        let mut from = 0;
        while let Some(at) = finder.find(&window[from..]).map(|i| i + from) {
            let end = at + b"sheetData".len();
            let before = &window[at.saturating_sub(8)..at];
            let closing =
                before.ends_with(b"</") || (before.ends_with(b":") && closing_prefixed(before));
            let self_closing = window[end..].starts_with(b"/>");
            if (closing && window[end..].starts_with(b">")) || self_closing {
                let mut tail = window[end..].to_vec();
                part.take(64 << 20).read_to_end(&mut tail).ok()?;
                return Some(tail);
            }
            if end + 2 > window.len() {
                break; // the rest of the tag is in the next chunk
            }
            from = end;
        }
        let keep = window.len().min(32);
        window.drain(..window.len() - keep);
    }
}

/// `</x:` before a prefixed `sheetData`.
fn closing_prefixed(before: &[u8]) -> bool {
    let Some(lt) = before.iter().rposition(|&b| b == b'<') else { return false };
    before.get(lt + 1) == Some(&b'/')
}

/// Every `mergeCell` element's `ref` in the XML after the cells (it starts
/// mid-element, so parsing errors are skipped, not fatal).
fn merge_refs(tail: &[u8]) -> Option<Vec<Dimensions>> {
    let mut r = quick_xml::Reader::from_reader(tail);
    r.config_mut().check_end_names = false;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "mergeCell" => {
                let a = e.attributes().flatten().find(|a| a.key.local_name().as_ref() == "ref")?;
                out.push(region(a.value.as_ref())?);
            }
            Ok(Event::Eof) => return Some(out),
            Ok(_) | Err(_) => {}
        }
        buf.clear();
    }
}

/// `B2:D4` (or one cell, `B2`) as zero-based (row, column) corners.
fn region(r: &str) -> Option<Dimensions> {
    let (a, b) = r.split_once(':').unwrap_or((r, r));
    Some(Dimensions::new(cell(a)?, cell(b)?))
}

fn cell(s: &str) -> Option<(u32, u32)> {
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let col = letters.bytes().try_fold(0u32, |n, b| {
        n.checked_mul(26)?.checked_add(u32::from(b.to_ascii_uppercase() - b'A' + 1))
    })?;
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(cell("A1"), Some((0, 0)));
        assert_eq!(cell("AB12"), Some((11, 27)));
        assert_eq!(cell("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell("A0"), None);
        assert_eq!(cell("12"), None);
        assert_eq!(region("B2"), Some(Dimensions::new((1, 1), (1, 1))));
    }

    /// The scan finds what calamine's full parse finds, on every sheet of a
    /// workbook with a name to escape and a sheet without merges.
    #[test]
    fn the_scan_finds_what_calamine_finds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let fmt = rust_xlsxwriter::Format::new();
        let s = book.add_worksheet().set_name("R&D <team>").unwrap();
        for r in 0..3000u32 {
            s.write_string(r, 0, format!("row {r} <mergeCell ref=\"A1:B2\"/> sheetData")).unwrap();
        }
        s.merge_range(3001, 0, 3003, 2, "merged", &fmt).unwrap();
        s.merge_range(3005, 1, 3005, 3, "wide", &fmt).unwrap();
        let plain = book.add_worksheet().set_name("Plain").unwrap();
        plain.write_string(0, 0, "x").unwrap();
        book.add_worksheet().set_name("Empty").unwrap();
        book.save(&path).unwrap();
        let mut cal: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        for name in ["R&D <team>", "Plain", "Empty"] {
            let mut want = cal.merge_cells_by_sheet_name(name).unwrap();
            let mut got = scan(&path, name).unwrap_or_else(|| panic!("{name}: no scan"));
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(scan(&path, "R&D <team>").unwrap().len(), 2);
        assert_eq!(scan(&path, "Missing"), None);
    }
}
