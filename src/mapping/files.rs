//! Cells that name a file (`Kind::File`): a photo beside the spreadsheet.
//!
//! A relative name is looked for in the spreadsheet's folder, not wherever
//! hrport was started, and the file's bytes travel in the mapped `Value`, so
//! targets never touch the filesystem. This module only reads; what the
//! content must be (an image of a given kind, a size limit) is the target's
//! call.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file a cell may name. Files travel inside JSON bodies, so far
/// smaller ones are what any vendor takes; this only keeps a wrong cell
/// (a disk image, a video) from being read into memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A file a cell names, read.
#[derive(Clone, PartialEq)]
pub struct FileCell<'a> {
    /// The cell as written, which messages quote.
    pub name: Cow<'a, str>,
    /// The whole content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FileCell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The content is no use in a debug line, and may be megabytes.
        write!(f, "FileCell({:?}, {} bytes)", self.name, self.bytes.len())
    }
}

/// Where a cell's file is: relative names beside the spreadsheet (`folder`),
/// or in the current directory when no folder is known.
pub fn locate(folder: Option<&Path>, cell: &str) -> PathBuf {
    let given = Path::new(cell);
    match folder {
        Some(dir) if given.is_relative() => dir.join(given),
        _ => given.to_path_buf(),
    }
}

/// Reads the file `cell` names. `what` says what it should be, with its
/// article ("an image file"), for the message about a folder.
pub fn read<'a>(folder: Option<&Path>, cell: &'a str, what: &str) -> Result<FileCell<'a>, String> {
    let path = locate(folder, cell);
    let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{cell:?} does not exist (looked for {})", path.display())
        }
        _ => format!("{cell:?} cannot be read: {e}"),
    })?;
    if meta.is_dir() {
        return Err(format!("{cell:?} is a folder, not {what}"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(cell, meta.len()));
    }
    // At most the limit, even if the file grew since (or is a device that
    // never ends, such as /dev/zero, whose size says 0).
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{cell:?} cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(cell, bytes.len() as u64));
    }
    Ok(FileCell { name: Cow::Borrowed(cell), bytes })
}

fn too_big(cell: &str, size: u64) -> String {
    format!(
        "{cell:?} is over {} MiB; hrport reads files of up to {} MiB",
        size / (1024 * 1024),
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_are_read_beside_the_spreadsheet() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(dir.path().join("photos/a.png"), b"PNG bytes").unwrap();
        let f = read(Some(dir.path()), "photos/a.png", "an image file").unwrap();
        assert_eq!((f.name.as_ref(), f.bytes.as_slice()), ("photos/a.png", &b"PNG bytes"[..]));

        // An absolute name is taken as it is, whatever the folder.
        let abs = dir.path().join("photos/a.png");
        let f = read(Some(Path::new("/nowhere")), abs.to_str().unwrap(), "an image file");
        assert_eq!(f.unwrap().bytes, b"PNG bytes");
    }

    #[test]
    fn a_missing_file_or_a_folder_is_a_problem_naming_the_cell() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("folder.png")).unwrap();
        assert_eq!(
            read(Some(dir.path()), "missing.png", "an image file").unwrap_err(),
            format!(
                "\"missing.png\" does not exist (looked for {})",
                dir.path().join("missing.png").display()
            )
        );
        assert_eq!(
            read(Some(dir.path()), "folder.png", "an image file").unwrap_err(),
            "\"folder.png\" is a folder, not an image file"
        );
    }

    #[test]
    fn without_a_folder_names_are_relative_to_the_current_directory() {
        assert_eq!(locate(None, "a.png"), PathBuf::from("a.png"));
        assert_eq!(locate(Some(Path::new("/in")), "a.png"), PathBuf::from("/in/a.png"));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_file_that_never_ends_is_cut_off_at_the_limit() {
        assert_eq!(
            read(None, "/dev/zero", "an image file").unwrap_err(),
            "\"/dev/zero\" is over 64 MiB; hrport reads files of up to 64 MiB"
        );
    }
}
