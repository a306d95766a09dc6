//! Defences around the third-party workbook parsers (zip, calamine).
//!
//! `check_zip` reads only a workbook's zip directory and refuses one that
//! would inflate beyond sane limits, before a byte is inflated. `contain`
//! turns a parser's panic on a damaged file into an error, keeping the panic
//! message off stderr.

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
    fn a_panic_is_contained_and_the_thread_goes_on() {
        let r: std::result::Result<(), String> = contain(|| panic!("index out of bounds"));
        assert_eq!(r.unwrap_err(), "the file is damaged (the reader failed: index out of bounds)");
        assert_eq!(contain(|| 7), Ok(7));
        assert!(!CONTAINED.with(Cell::get));
    }
}
