//! A check of an .xls file before calamine loads it, for what calamine would
//! turn into unbounded memory: a sector chain that loops (read with no length
//! bound, or a length the file cannot hold), and sheet sizes taken from the
//! file (it reserves the DIMENSIONS record's rows × columns, and allocates the
//! box around every cell). It follows calamine's own reading of the format.

use crate::error::{Error, Result};

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE_OR_SPECIAL: u32 = 0xFFFF_FFFA;
const DIF_SECTOR: u32 = 0xFFFF_FFFC;
/// An .xls sheet has at most 65,536 rows and 256 columns.
const MAX_ROWS: i64 = 65_536;
const MAX_COLS: i64 = 256;

/// Refuses an .xls (OLE compound file) that calamine would read into
/// unbounded memory. Anything else wrong is left for calamine to report.
pub fn check_xls(path: &std::path::Path, shown: &str) -> Result<()> {
    let data =
        std::fs::read(path).map_err(|e| Error::input(format!("{shown}: cannot read: {e}")))?;
    check(&data).map_err(|why| {
        Error::input(format!("{shown}: cannot read this .xls workbook: it is damaged ({why})"))
    })
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The file's sectors as calamine addresses them.
struct Sectors<'a> {
    data: &'a [u8],
    size: usize,
    maxid: u32,
}

impl Sectors<'_> {
    /// Sector `id`, cut short at the end of the data; None where calamine
    /// stops with an error.
    fn get(&self, id: u32) -> Option<&[u8]> {
        if id > self.maxid {
            return None;
        }
        let start = (id as usize).checked_mul(self.size)?;
        let end = start.checked_add(self.size)?.min(self.data.len());
        Some(self.data.get(start..end).unwrap_or(&[]))
    }

    /// What calamine's `get_chain` reads: the chain from `start` until its
    /// end, a bad sector, or `len` bytes. Err if it loops and `len` would
    /// let it grow past anything the file holds.
    fn chain(&self, start: u32, fats: &[u32], len: usize) -> std::result::Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0usize;
        while id != END_OF_CHAIN {
            let Some(sector) = self.get(id) else { break };
            let take = sector.len().min(len - out.len());
            out.extend_from_slice(&sector[..take]);
            if out.len() >= len {
                break;
            }
            let Some(&next) = fats.get(id as usize) else { break };
            id = next;
            steps += 1;
            if steps > fats.len() {
                return Err("a chain of its sectors loops".into());
            }
        }
        Ok(out)
    }
}

fn check(data: &[u8]) -> std::result::Result<(), String> {
    // The header, as calamine reads it; where calamine would stop with an
    // error of its own, so does this check (Ok: calamine reports it).
    if data.len() < 512 || !data.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Ok(());
    }
    let size = match u16_at(data, 30) {
        Some(9) => 512,
        Some(12) => 4096,
        _ => return Ok(()),
    };
    let file_len = data.len();
    let body = data.get(size..).unwrap_or(&[]);
    let sectors = Sectors { data: body, size, maxid: (file_len / size) as u32 };
    let field = |at| u32_at(data, at).unwrap_or(0);
    let (dir_start, mini_fat_start, mini_fat_len, difat_start) =
        (field(48), field(60), field(64) as usize, field(68));

    let mut difat: Vec<u32> = u32s(&data[76..512]).collect();
    let mut id = difat_start;
    let mut hops = 0usize;
    while id < FREE_OR_SPECIAL {
        hops += 1;
        if hops > sectors.maxid as usize + 1 {
            return Ok(());
        }
        let Some(sector) = sectors.get(id) else { return Ok(()) };
        difat.extend(u32s(sector));
        let Some(next) = difat.pop() else { return Ok(()) };
        id = next;
    }
    let mut fats = Vec::new();
    for id in difat.into_iter().filter(|&id| id < DIF_SECTOR) {
        let Some(sector) = sectors.get(id) else { return Ok(()) };
        fats.extend(u32s(sector));
    }

    // The directory is read with no length bound: a loop never ends.
    let dirs = sectors.chain(dir_start, &fats, usize::MAX)?;
    let entries: Vec<(String, u32, u64)> = dirs
        .chunks_exact(128)
        .map(|e| {
            let units: Vec<u16> =
                e[..64].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            let name = String::from_utf16_lossy(&units);
            let name = name.split('\0').next().unwrap_or("").to_string();
            let start = u32_at(e, 116).unwrap_or(0);
            let len = if size == 512 {
                u64::from(u32_at(e, 120).unwrap_or(0))
            } else {
                u64::from_le_bytes(e[120..128].try_into().unwrap_or([0; 8]))
            };
            (name, start, len)
        })
        .collect();
    let Some(root) = entries.first() else { return Ok(()) };
    // Every other length bounds a chain; none can be longer than the file.
    let too_long = |len: u64| len > file_len as u64;
    if let Some((name, _, len)) = entries.iter().find(|(_, _, len)| too_long(*len)) {
        return Err(format!(
            "its part {:?} claims {} bytes, more than the whole file",
            crate::text::clip(name, 40),
            crate::text::thousands(*len as usize)
        ));
    }
    if too_long((mini_fat_len as u64).saturating_mul(size as u64)) {
        return Err("its small-sector table claims more bytes than the whole file".into());
    }

    // The workbook stream, as calamine finds and reads it.
    let find = |want: &str| entries.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(want));
    let Some(&(_, start, len)) = find("Workbook").or_else(|| find("Book")) else {
        return Ok(());
    };
    let len = len as usize;
    let stream = if len < 4096 {
        if mini_fat_len == 0 {
            return Ok(());
        }
        let mini_stream = sectors.chain(root.1, &fats, root.2 as usize)?;
        let mini_fats: Vec<u32> =
            u32s(&sectors.chain(mini_fat_start, &fats, mini_fat_len * size)?).collect();
        let minis =
            Sectors { data: &mini_stream, size: 64, maxid: sectors.maxid.saturating_mul(8) };
        minis.chain(start, &mini_fats, len)?
    } else {
        sectors.chain(start, &fats, len)?
    };
    check_sheets(&stream)
}

/// BIFF records as calamine's `RecordIter` yields them: type and data, with
/// the CONTINUE records after one skipped. Stops where calamine would fail.
fn records(mut stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let typ = u16_at(stream, 0)?;
        let len = u16_at(stream, 2)? as usize;
        let data = stream.get(4..4 + len)?;
        stream = &stream[4 + len..];
        while stream.len() > 4 && u16_at(stream, 0) == Some(0x003C) {
            let len = u16_at(stream, 2)? as usize;
            stream = stream.get(4 + len..)?;
        }
        Some((typ, data))
    })
}

/// Each sheet's declared size, and the box around its cells.
fn check_sheets(stream: &[u8]) -> std::result::Result<(), String> {
    let mut starts = Vec::new();
    for (typ, data) in records(stream) {
        match typ {
            0x0085 => starts.extend(u32_at(data, 0)),
            0x000A => break,
            _ => {}
        }
    }
    for (n, &pos) in starts.iter().enumerate() {
        let Some(sheet) = stream.get(pos as usize..) else { continue };
        let mut depth = 0usize;
        let mut seen_bof = false;
        for (typ, data) in records(sheet) {
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                0x0200 => {
                    if let Some((rows, cols)) = dimensions(data)
                        && (rows < 1 || cols < 1 || rows * cols > MAX_ROWS * MAX_COLS)
                    {
                        let count = |v: i64| crate::text::thousands(v.max(0) as usize);
                        return Err(format!(
                            "sheet {} declares {} rows by {} columns; an .xls sheet has at most \
                             65,536 by 256",
                            n + 1,
                            count(rows),
                            count(cols)
                        ));
                    }
                }
                // Cells, each with its column at byte 2; a MulRk's last at the end.
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 | 0x00BD => {
                    let last = if typ == 0x00BD { data.len().saturating_sub(2) } else { 2 };
                    for col in [u16_at(data, 2), u16_at(data, last)].into_iter().flatten() {
                        if i64::from(col) >= MAX_COLS {
                            return Err(format!(
                                "sheet {} has a cell in column {}; an .xls sheet has 256",
                                n + 1,
                                crate::text::thousands(usize::from(col) + 1)
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Rows and columns a DIMENSIONS record makes calamine reserve, computed
/// as calamine does (where it would wrap around, this is below 1).
fn dimensions(r: &[u8]) -> Option<(i64, i64)> {
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (
            u32::from(u16_at(r, 0)?),
            u32::from(u16_at(r, 2)?),
            u32::from(u16_at(r, 4)?),
            u32::from(u16_at(r, 6)?),
        ),
        14 | 16 => {
            (u32_at(r, 0)?, u32_at(r, 4)?, u32::from(u16_at(r, 8)?), u32::from(u16_at(r, 10)?))
        }
        _ => return None,
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) =
        if rl >= 1 && cl >= 1 { ((rf, cf), (rl - 1, cl - 1)) } else { ((rf, cf), (rf, cf)) };
    Some((i64::from(end.0) - i64::from(start.0) + 1, i64::from(end.1) - i64::from(start.1) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_as_calamine_reserves_them() {
        let d14 = |rf: u32, rl: u32, cf: u16, cl: u16| {
            let mut v = Vec::new();
            v.extend(rf.to_le_bytes());
            v.extend(rl.to_le_bytes());
            v.extend(cf.to_le_bytes());
            v.extend(cl.to_le_bytes());
            v.extend([0, 0]);
            dimensions(&v).unwrap()
        };
        assert_eq!(d14(0, 3, 0, 9), (3, 9));
        assert_eq!(d14(0, 0xFFFF_FFFE, 0, 0xFFFF), (0xFFFF_FFFE, 0xFFFF));
        assert_eq!(d14(5, 2, 0, 3), (-3, 3), "calamine would wrap around");
        assert_eq!(d14(0, 1, 4, 3), (1, 3), "a first column past the last counts from 0");
        assert_eq!(d14(0, 1, 3, 3), (1, 0), "calamine would wrap around (or panic)");
        assert_eq!(dimensions(&[0; 12]), None);
    }

    #[test]
    fn a_looping_chain_with_no_bound_is_refused() {
        let data = vec![0u8; 2048];
        let s = Sectors { data: &data, size: 512, maxid: 4 };
        assert!(s.chain(0, &[1, 0], usize::MAX).is_err());
        assert_eq!(s.chain(0, &[1, 0], 1500).unwrap().len(), 1500, "bounded: calamine stops");
        assert_eq!(s.chain(0, &[1, END_OF_CHAIN], usize::MAX).unwrap().len(), 1024);
    }
}
