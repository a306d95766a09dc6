//! Workbooks (.xlsx, .xls, .ods) through calamine, one sheet at a time.
//!
//! Every cell-to-text rule lives in `cell_text`: date cells become ISO dates,
//! whole numbers lose their `.0`, text keeps its leading zeros. Numbers are
//! never guessed to be dates here; only a date column's parser may read an
//! Excel serial number as a date (calamine's `as_datetime` would turn any
//! number into one).
//!
//! .xlsx sheets are streamed: a thread owns the open workbook (its shared
//! strings are read once) and streams the sheet's cells for each pass, in
//! batches of rows, so memory stays flat and parsing overlaps the checking.
//! .xls and .ods are loaded whole, as calamine only reads them that way.
//! Every calamine call runs under `guard::contain`; zips pass
//! `guard::check_zip` first, and .xls files `biff::check_xls`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use calamine::{Data, DataRef, Ods, Range, Reader, Sheets, Xls, Xlsb, Xlsx, open_workbook};

use super::guard::{self, contain};
use super::{CellKind, ReadOptions, Record, Rows};
use crate::error::{Error, Result};

/// How calamine reads a workbook file.
type Buffered = std::io::BufReader<std::fs::File>;

pub struct SheetFile {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub warnings: Vec<String>,
    sheet: String,
    kind: &'static str,
    body: Body,
}

enum Body {
    /// .xls, .ods, .xlsb: the whole used range, and the header's Excel row.
    /// `uncached`: formula cells without a saved value, in row order.
    Whole { range: Range<Data>, header_row: u32, uncached: Vec<(u32, u32)> },
    /// .xlsx: each pass asks the streaming thread for a new stream of rows.
    Stream { passes: Mutex<mpsc::Sender<mpsc::SyncSender<Chunk>>> },
}

/// What the streaming thread sends for one pass. The end of the sheet is
/// said, never inferred: a thread that died mid-sheet must not look like
/// a short sheet (its rows would be quietly missing).
enum Chunk {
    Rows(Vec<Record>),
    End,
    Failed(String),
}

const CHUNK: usize = 512;

fn sheet_error(shown: &str, names: &[String], want: &str) -> String {
    format!(
        "{shown} has no sheet named {want:?}; its sheets are: {}",
        names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
    )
}

/// The sheet to read: `--sheet` (exact, then ignoring case) or the first.
fn pick_sheet(
    shown: &str,
    names: &[String],
    want: Option<&str>,
) -> std::result::Result<String, Error> {
    match want {
        Some(want) => names
            .iter()
            .find(|n| n.as_str() == want)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
            .cloned()
            .ok_or_else(|| Error::config(sheet_error(shown, names, want))),
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::input(format!("{shown}: the workbook has no sheets"))),
    }
}

/// A sheet's first non-blank rows: each its 0-based row and its cells'
/// columns and text. Enough to choose the sheet and its header row.
type Top = Vec<(u32, Vec<(u32, String)>)>;

fn texts(top: &Top) -> Vec<Vec<String>> {
    top.iter().map(|(_, cells)| cells.iter().map(|(_, t)| t.clone()).collect()).collect()
}

/// The header row of a sheet (an index into `top`): see `input::pick_header`.
fn header_of(opts: &ReadOptions, top: &Top) -> usize {
    super::pick_header(opts.judge.as_ref(), &texts(top)).unwrap_or(0)
}

/// Which sheet to read, its first rows, and what to tell the person.
/// `--sheet` names one (hidden or not); else hidden sheets are skipped, and
/// when the first visible sheet lacks the required columns and exactly one
/// other has them, that one is read. `peek` reads a sheet's first rows.
fn choose_sheet(
    shown: &str,
    metas: &[calamine::Sheet],
    opts: &ReadOptions,
    peek: &mut dyn FnMut(&str) -> Result<Top>,
) -> Result<(String, Top, Vec<String>)> {
    let names: Vec<String> = metas.iter().map(|m| m.name.clone()).collect();
    if opts.sheet.is_some() {
        let sheet = pick_sheet(shown, &names, opts.sheet.as_deref())?;
        let top = peek(&sheet)?;
        return Ok((sheet, top, Vec::new()));
    }
    let hidden = |m: &calamine::Sheet| m.visible != calamine::SheetVisible::Visible;
    let mut visible: Vec<&str> =
        metas.iter().filter(|m| !hidden(m)).map(|m| m.name.as_str()).collect();
    if visible.is_empty() {
        visible = names.iter().map(String::as_str).collect();
    }
    let first =
        pick_sheet(shown, &visible.iter().map(|v| v.to_string()).collect::<Vec<_>>(), None)?;
    let mut notes = Vec::new();
    let skipped: Vec<String> = metas
        .iter()
        .take_while(|m| m.name != first)
        .filter(|m| hidden(m))
        .map(|m| format!("{:?}", m.name))
        .collect();
    if !skipped.is_empty() {
        notes.push(format!(
            "{shown}: hidden sheet{} {} {} skipped; reading {first:?} (give --sheet to read a \
             hidden one)",
            if skipped.len() == 1 { "" } else { "s" },
            crate::text::and_list(&skipped),
            if skipped.len() == 1 { "is" } else { "are" }
        ));
    }
    let top = peek(&first)?;
    let Some(judge) = opts.judge.as_ref().filter(|_| visible.len() > 1) else {
        return Ok((first, top, notes));
    };
    let lacks = |top: &Top| -> Vec<String> {
        top.get(header_of(opts, top)).map_or_else(
            || vec!["a header row".to_string()],
            |(_, cells)| judge.0.lacks(&cells.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()),
        )
    };
    let first_lacks = lacks(&top);
    if first_lacks.is_empty() {
        return Ok((first, top, notes));
    }
    let mut verdicts = vec![(first.clone(), first_lacks.clone())];
    let mut matching = Vec::new();
    for name in visible.iter().filter(|n| **n != first) {
        let other = peek(name)?;
        let l = lacks(&other);
        if l.is_empty() {
            matching.push((name.to_string(), other));
        }
        verdicts.push((name.to_string(), l));
    }
    if let [(name, _)] = matching.as_slice() {
        notes.push(format!(
            "{shown}: sheet {first:?} lacks the required columns ({}); reading sheet {name:?}, \
             which has them",
            crate::text::and_list(&first_lacks)
        ));
        let (name, top) = matching.remove(0);
        return Ok((name, top, notes));
    }
    Err(Error::input(sheets_error(shown, metas, &verdicts, matching.len())))
}

/// No one sheet has the required columns (or several do): each sheet and
/// whether it matches, for the person to give `--sheet`.
fn sheets_error(
    shown: &str,
    metas: &[calamine::Sheet],
    verdicts: &[(String, Vec<String>)],
    matching: usize,
) -> String {
    let list: Vec<String> = metas
        .iter()
        .map(|m| match verdicts.iter().find(|(n, _)| *n == m.name) {
            Some((_, lacks)) if lacks.is_empty() => format!("{:?} has them", m.name),
            Some((_, lacks)) => {
                format!("{:?} lacks {}", m.name, crate::text::and_list(lacks))
            }
            None => format!("{:?} is hidden (not checked)", m.name),
        })
        .collect();
    let why = if matching == 0 {
        "no sheet has the required columns"
    } else {
        "several sheets have the required columns"
    };
    format!("{shown}: {why}; give --sheet NAME. Its sheets: {}", list.join("; "))
}

/// Opens a workbook with calamine, any failure (a panic too) an input error.
fn open_book<R>(path: &Path, shown: &str, what: &str) -> Result<R>
where
    R: Reader<Buffered>,
    R::Error: std::fmt::Display,
{
    let bad = |e: &dyn std::fmt::Display| {
        Error::input(format!("{shown}: cannot read this {what} workbook: {e}"))
    };
    contain(|| open_workbook::<R, _>(path)).map_err(|p| bad(&p))?.map_err(|e| bad(&e))
}

impl SheetFile {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<SheetFile> {
        let shown = path.display().to_string();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let mut magic = [0u8; 4];
        {
            let mut f = std::fs::File::open(path)
                .map_err(|e| Error::input(format!("{shown}: cannot open: {e}")))?;
            super::read_up_to(&mut f, &mut magic)
                .map_err(|e| Error::input(format!("{shown}: cannot read: {e}")))?;
        }
        let ole = magic == [0xD0, 0xCF, 0x11, 0xE0];
        let zip_kind = match ext.as_str() {
            "ods" => "ods",
            "xlsb" => "xlsb",
            _ => "xlsx",
        };
        if ole {
            super::biff::check_xls(path, &shown)?;
        } else {
            // Before calamine inflates anything.
            guard::check_zip(path, &shown, &format!(".{zip_kind}"))?;
            if zip_kind == "ods" || ext != "xlsx" {
                guard::check_ods(path, &shown)?;
            }
        }
        if !ole && zip_kind == "xlsx" {
            match open_book::<Xlsx<_>>(path, &shown, ".xlsx") {
                Ok(book) => return SheetFile::stream(path, book, opts),
                // A zip under another name may be an .ods.
                Err(e) if ext != "xlsx" && ext != "xlsm" => {
                    if let Ok(b) = open_book::<Ods<_>>(path, &shown, ".ods") {
                        return SheetFile::whole(path, Sheets::Ods(b), "ods", opts);
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        let (book, kind): (Sheets<_>, &'static str) = if ole {
            (Sheets::Xls(open_book::<Xls<_>>(path, &shown, ".xls")?), "xls")
        } else if zip_kind == "ods" {
            (Sheets::Ods(open_book::<Ods<_>>(path, &shown, ".ods")?), "ods")
        } else {
            (Sheets::Xlsb(open_book::<Xlsb<_>>(path, &shown, ".xlsb")?), "xlsb")
        };
        SheetFile::whole(path, book, kind, opts)
    }

    fn whole(
        path: &Path,
        mut book: Sheets<std::io::BufReader<std::fs::File>>,
        kind: &'static str,
        opts: &ReadOptions,
    ) -> Result<SheetFile> {
        let shown = path.display().to_string();
        let metas = book.sheets_metadata().to_vec();
        let mut ranges: std::collections::HashMap<String, Range<Data>> = Default::default();
        let mut peek = |name: &str| -> Result<Top> {
            let cannot = |e: &dyn std::fmt::Display| {
                Error::input(format!("{shown}: cannot read sheet {name:?}: {e}"))
            };
            let range = contain(|| book.worksheet_range(name))
                .map_err(|p| cannot(&p))?
                .map_err(|e| cannot(&e))?;
            let top = top_of_range(&range);
            ranges.insert(name.to_string(), range);
            Ok(top)
        };
        let (sheet, top, mut warnings) = choose_sheet(&shown, &metas, opts, &mut peek)?;
        let mut range = ranges.remove(&sheet).unwrap_or_default();
        if top.is_empty() {
            return Err(Error::input(format!("{shown}: sheet {sheet:?} is empty (no header row)")));
        }
        let at = header_of(opts, &top);
        // calamine lists merged regions of .xls sheets only (not .ods, .xlsb).
        if let Sheets::Xls(x) = &book
            && let Ok(merges) = x.merge_cells_by_sheet_name(&sheet)
        {
            check_merges(&shown, &sheet, merges.len())?;
            fill_merges(&mut range, &merges, top[at].0);
        }
        // A sheet whose formulas cannot be read is read for its values, as before.
        let uncached = match contain(|| book.worksheet_formula(&sheet)) {
            Ok(Ok(formulas)) => uncached_cells(&range, &formulas),
            _ => Vec::new(),
        };
        let start_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let header_row = top[at].0.saturating_add(1);
        if at > 0 {
            warnings.push(super::header_row_note(&shown, header_row.into()));
        }
        let mut buf = String::new();
        let cells = range.rows().nth((top[at].0 - start_row) as usize).unwrap_or(&[]);
        let mut headers: Vec<String> = cells
            .iter()
            .map(|c| {
                cell_text(c, &mut buf);
                buf.trim().to_string()
            })
            .collect();
        finish_headers(&mut headers);
        Ok(SheetFile {
            path: path.to_path_buf(),
            headers,
            warnings,
            sheet,
            kind,
            body: Body::Whole { range, header_row, uncached },
        })
    }

    fn stream(
        path: &Path,
        book: Xlsx<std::io::BufReader<std::fs::File>>,
        opts: &ReadOptions,
    ) -> Result<SheetFile> {
        let shown = path.display().to_string();
        let mut book = book;
        let metas = book.sheets_metadata().to_vec();
        let mut peek = |name: &str| peek_xlsx(&mut book, name, &shown);
        let (sheet, top, mut warnings) = choose_sheet(&shown, &metas, opts, &mut peek)?;
        let at = header_of(opts, &top);
        let header_at = top.get(at).map(|(r, _)| *r);
        if at > 0
            && let Some(r) = header_at
        {
            warnings.push(super::header_row_note(&shown, u64::from(r) + 1));
        }
        // Merged regions are listed after the cells: found first, by a scan
        // of the sheet (see `merges`), else by calamine's full parse.
        let merges = match contain(|| super::merges::scan(path, &sheet)).ok().flatten() {
            Some(m) => m,
            None => contain(|| book.merge_cells_by_sheet_name(&sheet))
                .map_err(|p| Error::input(format!("{shown}: cannot read sheet {sheet:?}: {p}")))?
                .map_err(|e| Error::input(format!("{shown}: cannot read sheet {sheet:?}: {e}")))?,
        };
        check_merges(&shown, &sheet, merges.len())?;
        let (header_tx, header_rx) = mpsc::channel::<std::result::Result<Header, String>>();
        let (pass_tx, pass_rx) = mpsc::channel::<mpsc::SyncSender<Chunk>>();
        let (thread_sheet, thread_shown) = (sheet.clone(), shown.clone());
        std::thread::Builder::new()
            .name("hrport-xlsx".into())
            .spawn(move || {
                streamer(
                    book,
                    &thread_sheet,
                    &thread_shown,
                    (header_at, merges),
                    header_tx,
                    pass_rx,
                )
            })
            .map_err(|e| Error::input(format!("{shown}: cannot start the reader: {e}")))?;
        let header = header_rx
            .recv()
            .map_err(|_| Error::input(format!("{shown}: the reader stopped")))?
            .map_err(Error::input)?;
        Ok(SheetFile {
            path: path.to_path_buf(),
            headers: header.headers,
            warnings,
            sheet,
            kind: "xlsx",
            body: Body::Stream { passes: Mutex::new(pass_tx) },
        })
    }

    pub fn describe(&self) -> String {
        format!("{} workbook, sheet {:?}", self.kind, self.sheet)
    }

    /// The name of the sheet read.
    pub fn sheet(&self) -> &str {
        &self.sheet
    }

    pub fn rows(&self) -> Result<Box<dyn Rows + '_>> {
        match &self.body {
            Body::Whole { range, header_row, uncached } => {
                let start_row = range.start().map(|(r, _)| r).unwrap_or(0);
                // Index within the range of the header row (header_row is 1-based).
                let first = header_row.saturating_sub(1).saturating_sub(start_row) as usize;
                let mut rows = range.rows();
                // Skip up to and including the header row.
                if first > 0 {
                    rows.nth(first - 1);
                }
                rows.next();
                Ok(Box::new(WholeRows {
                    width: self.headers.len(),
                    rows,
                    next: first + 1,
                    start_row,
                    start_col: range.start().map_or(0, |(_, c)| c),
                    names: &self.headers,
                    uncached,
                    buf: String::new(),
                }))
            }
            Body::Stream { passes } => {
                let (tx, rx) = mpsc::sync_channel::<Chunk>(4);
                passes.lock().unwrap_or_else(|e| e.into_inner()).send(tx).map_err(|_| {
                    Error::input(format!("{}: the reader stopped", self.path.display()))
                })?;
                Ok(Box::new(StreamRows {
                    rx,
                    chunk: Vec::new().into_iter(),
                    shown: self.path.display().to_string(),
                    ended: false,
                }))
            }
        }
    }
}

/// Drops trailing blank header cells and names blank ones in between.
fn finish_headers(headers: &mut Vec<String>) {
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    super::name_blank_headers(headers);
}

/// The first non-blank rows of a streamed sheet (see `Top`); a sheet
/// read out of order is left for the streamer to refuse.
fn peek_xlsx(book: &mut Xlsx<Buffered>, name: &str, shown: &str) -> Result<Top> {
    let cannot = |e: &dyn std::fmt::Display| {
        Error::input(format!("{shown}: cannot read sheet {name:?}: {e}"))
    };
    contain(|| -> Result<Top> {
        let mut reader = book.worksheet_cells_reader(name).map_err(|e| cannot(&e))?;
        let mut top: Top = Vec::new();
        let mut buf = String::new();
        while let Some(cell) = reader.next_cell().map_err(|e| cannot(&e))? {
            let (r, c) = cell.get_position();
            cell_text_ref(cell.get_value(), &mut buf);
            if buf.trim().is_empty() {
                continue;
            }
            let full = top.len() == super::HEADER_SEARCH;
            match top.last_mut() {
                Some((row, cells)) if *row == r => cells.push((c, buf.trim().to_string())),
                _ if full => break,
                _ => top.push((r, vec![(c, buf.trim().to_string())])),
            }
        }
        Ok(top)
    })
    .map_err(|p| cannot(&p))?
}

/// More merged regions than any sheet a person made has: refused, as each
/// row is checked against the regions covering it.
const MAX_MERGES: usize = 100_000;

fn check_merges(shown: &str, sheet: &str, n: usize) -> Result<()> {
    if n > MAX_MERGES {
        return Err(Error::input(format!(
            "{shown}: sheet {sheet:?} has {} merged regions; hrport reads at most {}: \
             unmerge the cells (Home > Merge & Center) and save the file again",
            crate::text::thousands(n),
            crate::text::thousands(MAX_MERGES)
        )));
    }
    Ok(())
}

/// Copies each merged region's value (its top-left cell) into the other
/// cells it covers, below the header row `header`. Only cells inside the
/// loaded range are filled: a region reaching beyond it grows nothing.
fn fill_merges(range: &mut Range<Data>, merges: &[calamine::Dimensions], header: u32) {
    for m in merges.iter().filter(|m| m.start.0 > header) {
        let value = match range.get_value(m.start) {
            Some(v) if !matches!(v, Data::Empty) => v.clone(),
            _ => continue,
        };
        let end_row = m.end.0.min(range.end().map_or(0, |e| e.0));
        let end_col = m.end.1.min(range.end().map_or(0, |e| e.1));
        for r in m.start.0..=end_row {
            for c in m.start.1..=end_col {
                if matches!(range.get_value((r, c)), Some(Data::Empty)) {
                    range.set_value((r, c), value.clone());
                }
            }
        }
    }
}

/// Cells holding a formula but no saved value (absolute positions, in
/// row order): `values` has nothing (or empty text) where `formulas` has one.
fn uncached_cells(values: &Range<Data>, formulas: &Range<String>) -> Vec<(u32, u32)> {
    let (r0, c0) = formulas.start().unwrap_or((0, 0));
    let mut out: Vec<(u32, u32)> = formulas
        .used_cells()
        .filter(|(_, _, f)| !f.is_empty())
        .map(|(r, c, _)| (r0 + r as u32, c0 + c as u32))
        .filter(|&pos| match values.get_value(pos) {
            None | Some(Data::Empty) => true,
            Some(Data::String(s)) => s.is_empty(),
            _ => false,
        })
        .collect();
    out.sort_unstable();
    out
}

/// The first non-blank rows of a loaded sheet (see `Top`).
fn top_of_range(range: &Range<Data>) -> Top {
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let mut buf = String::new();
    range
        .rows()
        .enumerate()
        .filter(|(_, cells)| !blank(cells))
        .take(super::HEADER_SEARCH)
        .map(|(i, cells)| {
            let texts = cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    cell_text(cell, &mut buf);
                    (start_col + c as u32, buf.trim().to_string())
                })
                .collect();
            (start_row + i as u32, texts)
        })
        .collect()
}

fn blank(cells: &[Data]) -> bool {
    cells.iter().all(|c| match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    })
}

struct WholeRows<'a> {
    width: usize,
    rows: calamine::Rows<'a, Data>,
    /// Index, within the range, of the next row `rows` yields.
    next: usize,
    start_row: u32,
    start_col: u32,
    /// The header names, for messages.
    names: &'a [String],
    uncached: &'a [(u32, u32)],
    buf: String,
}

impl Rows for WholeRows<'_> {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        let width = self.width;
        for cells in self.rows.by_ref() {
            let idx = self.next;
            self.next += 1;
            if blank(cells) {
                continue;
            }
            rec.fields.clear();
            rec.kinds.clear();
            let mut extra = Vec::new();
            for (i, c) in cells.iter().enumerate() {
                cell_text(c, &mut self.buf);
                if i < width {
                    rec.fields.push_field(&self.buf);
                    rec.kinds.push(cell_kind(c));
                } else if !self.buf.trim().is_empty() {
                    extra.push(outside(i, self.start_row as usize + idx + 1, &self.buf));
                }
            }
            for _ in cells.len()..width {
                rec.fields.push_field("");
                rec.kinds.push(CellKind::Text);
            }
            rec.row = self.start_row.saturating_add(idx as u32).saturating_add(1);
            rec.shape_error = outside_error(&extra);
            if !self.uncached.is_empty() {
                let r = rec.row - 1;
                let from = self.uncached.partition_point(|&(ur, _)| ur < r);
                for &(_, c) in self.uncached[from..].iter().take_while(|(ur, _)| *ur == r) {
                    let name =
                        c.checked_sub(self.start_col).and_then(|i| self.names.get(i as usize));
                    let at = format!("{}{}", super::column_letter(c as usize), rec.row);
                    rec.add_problem(match name {
                        Some(n) => format!("{n}: {UNCACHED} (cell {at})"),
                        None => format!("cell {at}: {UNCACHED}"),
                    });
                }
            }
            return Ok(true);
        }
        Ok(false)
    }
}

fn outside(col: usize, row: usize, text: &str) -> String {
    format!("{}{row}={:?}", super::column_letter(col), crate::text::clip(text, 40))
}

fn outside_error(extra: &[String]) -> Option<String> {
    (!extra.is_empty()).then(|| {
        format!(
            "cells outside the header's columns hold values: {}",
            crate::text::capped_list(extra, 5)
        )
    })
}

/// The header of a streamed sheet.
struct Header {
    headers: Vec<String>,
}

struct StreamRows {
    rx: mpsc::Receiver<Chunk>,
    chunk: std::vec::IntoIter<Record>,
    shown: String,
    ended: bool,
}

impl Rows for StreamRows {
    fn next_into(&mut self, rec: &mut Record) -> Result<bool> {
        loop {
            if let Some(r) = self.chunk.next() {
                *rec = r;
                return Ok(true);
            }
            if self.ended {
                return Ok(false);
            }
            match self.rx.recv() {
                Ok(Chunk::Rows(rows)) => self.chunk = rows.into_iter(),
                Ok(Chunk::End) => self.ended = true,
                Ok(Chunk::Failed(e)) => return Err(Error::input(e)),
                Err(_) => {
                    return Err(Error::input(format!(
                        "{}: the reader stopped before the end of the sheet",
                        self.shown
                    )));
                }
            }
        }
    }
}

/// The streaming thread: reads the header once, then streams the sheet's
/// rows once per pass it is asked for, until the file is dropped. A panic
/// in calamine ends the thread with an error to whoever waits for it.
fn streamer(
    book: Xlsx<std::io::BufReader<std::fs::File>>,
    sheet: &str,
    shown: &str,
    at: (Option<u32>, Vec<calamine::Dimensions>),
    header_tx: mpsc::Sender<std::result::Result<Header, String>>,
    passes: mpsc::Receiver<mpsc::SyncSender<Chunk>>,
) {
    let mut current = None;
    let run = contain(|| stream_sheet(book, sheet, shown, at, &header_tx, passes, &mut current));
    if let Err(panic) = run {
        let msg = format!("{shown}: cannot read this .xlsx workbook: {panic}");
        match current {
            Some(out) => {
                let _ = out.send(Chunk::Failed(msg));
            }
            None => {
                let _ = header_tx.send(Err(msg));
            }
        }
    }
}

/// `streamer`'s work; `current` holds the pass being streamed, so that a
/// panic can be reported to it.
fn stream_sheet(
    mut book: Xlsx<std::io::BufReader<std::fs::File>>,
    sheet: &str,
    shown: &str,
    (header_at, merges): (Option<u32>, Vec<calamine::Dimensions>),
    header_tx: &mpsc::Sender<std::result::Result<Header, String>>,
    passes: mpsc::Receiver<mpsc::SyncSender<Chunk>>,
    current: &mut Option<mpsc::SyncSender<Chunk>>,
) {
    let cannot = |e: &dyn std::fmt::Display| format!("{shown}: cannot read sheet {sheet:?}: {e}");
    // The header: the row chosen when the file was opened, else the first
    // row with a non-blank cell.
    let mut cells: Vec<(u32, String)> = Vec::new();
    let mut header_row: Option<u32> = None;
    let mut buf = String::new();
    {
        let mut reader = match book.worksheet_cells_reader(sheet) {
            Ok(r) => r,
            Err(e) => {
                let _ = header_tx.send(Err(cannot(&e)));
                return;
            }
        };
        let mut order = Order::default();
        loop {
            match reader.next_cell() {
                Ok(Some(cell)) => {
                    let (r, c) = cell.get_position();
                    if let Err(e) = order.check(r, c) {
                        let _ = header_tx.send(Err(cannot(&e)));
                        return;
                    }
                    if header_row.is_some_and(|h| r > h) || header_at.is_some_and(|h| r > h) {
                        break;
                    }
                    if header_at.is_some_and(|h| r < h) {
                        continue;
                    }
                    cell_text_ref(cell.get_value(), &mut buf);
                    if buf.trim().is_empty() {
                        continue;
                    }
                    header_row = Some(r);
                    cells.push((c, buf.trim().to_string()));
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = header_tx.send(Err(cannot(&e)));
                    return;
                }
            }
        }
    }
    let Some(header_row) = header_row else {
        let _ = header_tx.send(Err(format!("{shown}: sheet {sheet:?} is empty (no header row)")));
        return;
    };
    let first_col = cells.iter().map(|(c, _)| *c).min().unwrap_or(0);
    let last_col = cells.iter().map(|(c, _)| *c).max().unwrap_or(0);
    let span = (last_col - first_col) as usize + 1;
    if span > super::MAX_COLUMNS {
        let _ = header_tx.send(Err(format!(
            "{shown}: the header row of sheet {sheet:?} spans {} columns; hrport reads at most {}",
            crate::text::thousands(span),
            crate::text::thousands(super::MAX_COLUMNS)
        )));
        return;
    }
    let mut headers = vec![String::new(); span];
    for (c, h) in cells {
        headers[(c - first_col) as usize] = h;
    }
    finish_headers(&mut headers);
    let width = headers.len();
    let headers_copy = headers.clone();
    if header_tx.send(Ok(Header { headers })).is_err() {
        return;
    }

    for out in passes {
        let out = &*current.insert(out);
        let mut reader = match book.worksheet_cells_reader(sheet) {
            Ok(r) => r,
            Err(e) => {
                let _ = out.send(Chunk::Failed(cannot(&e)));
                continue;
            }
        };
        // A new builder each pass: an abandoned pass may leave half a row.
        let mut row = RowBuilder::new(width, first_col);
        row.names.clone_from(&headers_copy);
        row.pending = merges.iter().filter(|m| m.start.0 > header_row).copied().collect();
        row.pending.sort_by_key(|m| std::cmp::Reverse(m.start.0));
        if let Err(e) = stream_pass(&mut reader, header_row, &mut row, out) {
            let _ = out.send(Chunk::Failed(cannot(&e)));
        }
    }
}

/// One pass over a sheet's rows below the header, sent in chunks. An
/// abandoned pass (the receiver gone) ends quietly; a damaged sheet is the
/// error returned.
fn stream_pass(
    reader: &mut calamine::XlsxCellReader<'_, Buffered>,
    header_row: u32,
    row: &mut RowBuilder,
    out: &mpsc::SyncSender<Chunk>,
) -> std::result::Result<(), String> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut order = Order::default();
    let mut buf = String::new();
    while let Some(cell) = reader.next_cell_with_formula_metadata().map_err(|e| e.to_string())? {
        let (r, c) = cell.pos;
        order.check(r, c)?;
        if r <= header_row {
            continue;
        }
        if row.row != Some(r) {
            if let Some(rec) = row.take() {
                chunk.push(rec);
            }
            if chunk.len() >= CHUNK
                && out
                    .send(Chunk::Rows(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                    .is_err()
            {
                return Ok(()); // the pass was abandoned
            }
            row.start_row(r);
        }
        // openpyxl, pandas and others write formulas with an empty value.
        let empty = match &cell.value {
            DataRef::Empty => true,
            DataRef::String(s) => s.is_empty(),
            DataRef::SharedString(s) => s.is_empty(),
            _ => false,
        };
        if empty && cell.formula.is_some() {
            row.uncached(c);
        }
        let kind = cell_text_ref(&cell.value, &mut buf);
        row.put(c, &buf, kind);
    }
    if let Some(rec) = row.take() {
        chunk.push(rec);
    }
    if !chunk.is_empty() {
        let _ = out.send(Chunk::Rows(chunk));
    }
    let _ = out.send(Chunk::End);
    Ok(())
}

/// Where the last streamed cell was. Excel writes rows, and cells within a
/// row, in order; a sheet that goes back is damaged, and reading it as it
/// streams would join a cell given twice into one ("AnaBob") or number two
/// rows alike, so it is refused instead.
#[derive(Default)]
struct Order {
    last: Option<(u32, u32)>,
}

impl Order {
    fn check(&mut self, row: u32, col: u32) -> std::result::Result<(), String> {
        if let Some((r, c)) = self.last
            && (row < r || (row == r && col <= c))
        {
            let at =
                |r: u32, c: u32| format!("{}{}", super::column_letter(c as usize), r as u64 + 1);
            return Err(format!(
                "the file is damaged (cell {} comes after cell {}; Excel writes them in order); \
                 open it in Excel and save it again",
                at(row, col),
                at(r, c)
            ));
        }
        self.last = Some((row, col));
        Ok(())
    }
}

/// Collects one row's cells as they stream past.
struct RowBuilder {
    row: Option<u32>,
    width: usize,
    first_col: u32,
    cells: Vec<String>,
    kinds: Vec<CellKind>,
    extra: Vec<String>,
    any: bool,
    /// The header names, for messages.
    names: Vec<String>,
    /// Merged regions below the header not reached yet, the first last.
    pending: Vec<calamine::Dimensions>,
    /// Merged regions covering the current row, each with its value once
    /// the stream has passed its top-left cell: filled into every cell of
    /// the row it covers. Rows the file does not list at all (a merge the
    /// only thing in them) stay out: they are blank to every other reader.
    merges: Vec<(calamine::Dimensions, Option<String>)>,
    /// Columns of this row holding a formula Excel never calculated.
    uncached: Vec<u32>,
}

/// What a formula cell without a saved value makes of its row.
pub const UNCACHED: &str =
    "formula without a saved value: open and save the file in Excel, or paste values";

impl RowBuilder {
    fn new(width: usize, first_col: u32) -> RowBuilder {
        RowBuilder {
            row: None,
            width,
            first_col,
            cells: vec![String::new(); width],
            kinds: vec![CellKind::Text; width],
            extra: Vec::new(),
            any: false,
            names: Vec::new(),
            pending: Vec::new(),
            merges: Vec::new(),
            uncached: Vec::new(),
        }
    }

    fn uncached(&mut self, col: u32) {
        self.any = true;
        self.uncached.push(col);
    }

    /// Sets the row the next cells are in; the merged regions covering it
    /// become active, those above it are dropped.
    fn start_row(&mut self, r: u32) {
        self.row = Some(r);
        while self.pending.last().is_some_and(|m| m.start.0 <= r) {
            if let Some(m) = self.pending.pop() {
                self.merges.push((m, None));
            }
        }
        if !self.merges.is_empty() {
            self.merges.retain(|(m, _)| m.end.0 >= r);
        }
    }

    fn put(&mut self, col: u32, text: &str, kind: CellKind) {
        if text.trim().is_empty() {
            return;
        }
        if let Some(r) = self.row {
            for (m, v) in &mut self.merges {
                if m.start == (r, col) {
                    *v = Some(text.to_string());
                }
            }
        }
        self.any = true;
        let i = col.checked_sub(self.first_col).map(|i| i as usize).filter(|&i| i < self.width);
        match i {
            Some(i) => {
                self.cells[i].push_str(text);
                self.kinds[i] = kind;
            }
            None => {
                self.extra.push(outside(col as usize, self.row.unwrap_or(0) as usize + 1, text))
            }
        }
    }

    /// Copies the value of each merged region covering this row into the
    /// row's cells it covers.
    fn fill_merged(&mut self) {
        let Some(r) = self.row else { return };
        for (m, v) in &self.merges {
            let Some(v) = v else { continue };
            if r < m.start.0 || r > m.end.0 {
                continue;
            }
            for c in m.start.1..=m.end.1 {
                let i = c.checked_sub(self.first_col).map(|i| i as usize);
                if let Some(cell) = i.and_then(|i| self.cells.get_mut(i))
                    && cell.is_empty()
                {
                    cell.push_str(v);
                    self.any = true;
                }
            }
        }
    }

    /// The row collected so far, unless it was blank; resets for the next.
    fn take(&mut self) -> Option<Record> {
        if !self.merges.is_empty() {
            self.fill_merged();
        }
        let any = std::mem::replace(&mut self.any, false);
        let rec = any.then(|| {
            let mut fields =
                super::Fields::with_capacity(self.cells.iter().map(String::len).sum(), self.width);
            for c in &self.cells {
                fields.push_field(c);
            }
            let mut rec = Record {
                row: self.row.unwrap_or(0).saturating_add(1),
                fields,
                shape_error: outside_error(&self.extra),
                kinds: self.kinds.clone(),
            };
            for &c in &self.uncached {
                let i = c.checked_sub(self.first_col).map(|i| i as usize);
                let name = i.and_then(|i| self.names.get(i)).cloned();
                let at = format!("{}{}", super::column_letter(c as usize), rec.row);
                rec.add_problem(match name {
                    Some(n) => format!("{n}: {UNCACHED} (cell {at})"),
                    None => format!("cell {at}: {UNCACHED}"),
                });
            }
            rec
        });
        for c in &mut self.cells {
            c.clear();
        }
        self.kinds.fill(CellKind::Text);
        self.extra.clear();
        self.uncached.clear();
        rec
    }
}

/// `cell_text` for a streamed cell; returns its kind.
fn cell_text_ref(cell: &DataRef<'_>, out: &mut String) -> CellKind {
    let owned = match cell {
        DataRef::SharedString(s) => {
            out.clear();
            out.push_str(s);
            return CellKind::Text;
        }
        DataRef::String(s) => {
            out.clear();
            out.push_str(s);
            return CellKind::Text;
        }
        DataRef::Empty => Data::Empty,
        DataRef::Int(i) => Data::Int(*i),
        DataRef::Float(f) => Data::Float(*f),
        DataRef::Bool(b) => Data::Bool(*b),
        DataRef::DateTime(d) => Data::DateTime(*d),
        DataRef::DateTimeIso(s) => Data::DateTimeIso(s.clone()),
        DataRef::DurationIso(s) => Data::DurationIso(s.clone()),
        DataRef::Error(e) => Data::Error(e.clone()),
    };
    cell_text(&owned, out);
    cell_kind(&owned)
}

/// The kind the output workbooks write a cell back as: a time of day or a
/// duration goes back as its text (no HR column holds one).
fn cell_kind(cell: &Data) -> CellKind {
    match cell {
        Data::Int(_) | Data::Float(_) => CellKind::Number,
        Data::Bool(_) => CellKind::Bool,
        Data::DateTime(dt) if !dt.is_duration() && dt.as_f64() >= 1.0 => CellKind::Date,
        Data::DateTimeIso(s) if s.len() >= 10 => CellKind::Date,
        _ => CellKind::Text,
    }
}

/// The text a person sees in the cell, by the rules in the module comment.
pub fn cell_text(cell: &Data, out: &mut String) {
    out.clear();
    match cell {
        Data::Empty => {}
        Data::String(s) => out.push_str(s),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => format_float(*f, out),
        Data::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(dt) => {
            if dt.is_duration() {
                let secs = (dt.as_f64() * 86_400.0).round() as i64;
                let _ = write!(out, "{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
            } else {
                let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
                if dt.as_f64() < 1.0 {
                    let _ = write!(out, "{h:02}:{mi:02}:{s:02}");
                } else if (h, mi, s) == (0, 0, 0) {
                    let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
                } else {
                    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
                }
            }
        }
        Data::DateTimeIso(s) => out.push_str(s.strip_suffix("T00:00:00").unwrap_or(s)),
        Data::DurationIso(s) => out.push_str(s),
        Data::Error(e) => {
            let _ = write!(out, "{e}");
        }
    }
}

/// Whole numbers without `.0`; others with at most 15 significant digits,
/// which is what Excel itself shows (so 7.0000000000000009 reads as 7).
fn format_float(f: f64, out: &mut String) {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{}", f as i64);
        return;
    }
    let s = format!("{:.*e}", 14, f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let v: f64 = format!("{mant}e{exp}").parse().unwrap_or(f);
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    fn text(d: Data) -> String {
        let mut s = String::new();
        cell_text(&d, &mut s);
        s
    }

    #[test]
    fn merged_regions_fill_the_cells_they_cover_below_the_header() {
        let mut range: Range<Data> = Range::new((0, 0), (3, 2));
        range.set_value((0, 0), Data::String("title".into()));
        range.set_value((1, 1), Data::String("EMEA".into()));
        range.set_value((2, 2), Data::String("own".into()));
        let m = |a: (u32, u32), b: (u32, u32)| calamine::Dimensions::new(a, b);
        // The title merge is above the header (row 0): left alone. The one
        // below covers rows 1-3, columns 1-2, but keeps cells of their own;
        // one reaching far beyond the range grows nothing.
        fill_merges(&mut range, &[m((0, 0), (0, 2)), m((1, 1), (3, 2)), m((3, 0), (900, 900))], 0);
        let at = |r, c| text(range.get_value((r, c)).cloned().unwrap_or(Data::Empty));
        assert_eq!(
            (at(0, 1), at(1, 2), at(2, 1), at(2, 2), at(3, 2)),
            ("".into(), "EMEA".into(), "EMEA".into(), "own".into(), "EMEA".into())
        );
        assert_eq!(range.end(), Some((3, 2)));
    }

    #[test]
    fn formulas_without_a_value_are_found() {
        let mut values: Range<Data> = Range::new((1, 0), (2, 1));
        values.set_value((1, 0), Data::Float(4.0));
        values.set_value((2, 1), Data::String(String::new()));
        let mut formulas: Range<String> = Range::new((1, 0), (3, 1));
        formulas.set_value((1, 0), "2+2".into());
        formulas.set_value((2, 1), "LOWER(A2)".into());
        formulas.set_value((3, 0), "NOW()".into());
        assert_eq!(uncached_cells(&values, &formulas), [(2, 1), (3, 0)]);
    }

    #[test]
    fn cells_read_as_a_person_sees_them() {
        assert_eq!(text(Data::Float(42.0)), "42");
        assert_eq!(text(Data::Float(18.5)), "18.5");
        assert_eq!(text(Data::Float(7.000_000_000_000_001)), "7");
        assert_eq!(text(Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(text(Data::Int(123)), "123");
        assert_eq!(text(Data::String("000123".into())), "000123");
        let d = ExcelDateTime::new(45943.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(Data::DateTime(d)), "2025-10-13");
        let dt = ExcelDateTime::new(45943.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(Data::DateTime(dt)), "2025-10-13T12:00:00");
        assert_eq!(text(Data::DateTimeIso("2024-02-29T00:00:00".into())), "2024-02-29");
        assert_eq!(text(Data::Bool(true)), "TRUE");
    }
}
