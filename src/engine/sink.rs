//! The one place a row's outcome is recorded: the results and errors files
//! in input order, the counts per status, and the progress bar.
//!
//! Every path of an import feeds it (a dry run's draft, streaming, sending
//! by levels, rows a resumed run already finished), so a new status or a
//! new result column is one change here and in `output::RowResult`. It does
//! not decide outcomes and does not talk to the target.

use std::collections::BTreeMap;

use indicatif::ProgressBar;

use super::Match;
use crate::error::{Error, Result};
use crate::input::Record;
use crate::output::{Action, Mark, ResultFiles, RowResult, Status};

/// One row's outcome, on its way to the sink.
#[derive(Debug, Clone)]
pub struct Done {
    /// The row's sequence number (0 = first data row).
    pub seq: u32,
    pub line: RowResult,
    /// An existing record whose missing follow-up steps were done now.
    pub completed: bool,
    /// Failed for want of an answer: a resume tries the row again.
    pub retry: bool,
}

impl Done {
    pub fn new(seq: u32, status: Status, id: &str, error: &str) -> Done {
        Done { seq, line: RowResult::new(status, id, error), completed: false, retry: false }
    }

    /// A matched row's line: its record, action and changes.
    pub fn planned(seq: u32, status: Status, m: &Match) -> Done {
        Done::new(seq, status, &m.existing.id, "").action(m.action).changes(m)
    }

    /// The plan's changes on the line, and the cells they change unless
    /// the row failed (then nothing was changed).
    pub fn changes(mut self, m: &Match) -> Done {
        self.line.changes = m.changes.clone();
        if !self.line.status.needs_attention() {
            self.line.changed_cells = m.changed_cells.clone();
        }
        self
    }

    /// An invalid row's line, with the cells its problems name.
    pub fn invalid(seq: u32, message: &str, cells: &[Mark]) -> Done {
        let mut d = Done::new(seq, Status::Invalid, "", message);
        d.line.error_cells = cells.to_vec();
        d
    }

    pub fn action(mut self, action: Action) -> Done {
        self.line.action = action;
        self
    }
}

/// What the sink counted.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: BTreeMap<Status, u64>,
    /// Rows per action: the plan, in a dry run.
    pub actions: BTreeMap<&'static str, u64>,
    /// Existing records whose missing follow-up steps were done.
    pub completed: u64,
    /// Why the run stopped early, and a hint.
    pub aborted: Option<(String, Option<String>)>,
    /// The first rows the target refused or failed: (Excel row, message).
    pub failed: Vec<(u32, String)>,
    /// Rows needing a person, by kind of error (`error_kind`).
    pub errors: BTreeMap<String, u64>,
}

/// How many failed rows the console shows.
pub const FAILED_SHOWN: usize = 10;

/// The kind of a row's error, for summary.json: `invalid: <column>` (the
/// column the first problem names, `row` for the row as a whole), `failed:
/// refused` (the target said no) or `failed: unavailable` (no answer;
/// `--resume` sends it again), `pending`. `None` for a row without one.
pub fn error_kind(status: Status, error: &str, retry: bool) -> Option<String> {
    match status {
        Status::Invalid => {
            let first = error.split("; ").next().unwrap_or("");
            let end = [first.find(": "), first.find(" is ")].into_iter().flatten().min();
            let column = end.map(|e| &first[..e]).filter(|c| !c.contains('"') && c.len() <= 60);
            Some(format!("invalid: {}", column.unwrap_or("row")))
        }
        Status::Failed if retry => Some("failed: unavailable".into()),
        Status::Failed => Some("failed: refused".into()),
        Status::Pending => Some("pending".into()),
        _ => None,
    }
}

impl Report {
    pub fn count(&self, s: Status) -> u64 {
        self.counts.get(&s).copied().unwrap_or(0)
    }
}

pub struct Sink<'m> {
    files: ResultFiles<'m>,
    /// Outcomes that came in before an earlier row's: the reorder buffer.
    waiting: BTreeMap<u32, (Done, Record)>,
    /// The next row to write.
    next: u32,
    report: Report,
    bar: ProgressBar,
    /// Whether writing a row moves the bar; sending by levels moves it as
    /// outcomes come in and writes them all at the end.
    tick_on_write: bool,
    /// The first write error; later rows are still counted so the run can
    /// wind down, and `finish` returns it.
    failure: Option<Error>,
    /// Created, updated, failed so far, as the bar shows them (rows ticked,
    /// which may be ahead of rows written).
    shown: std::cell::Cell<[u64; 3]>,
    /// Whether the bar was hidden from the start (it then stays so).
    hidden: bool,
}

impl<'m> Sink<'m> {
    pub fn new(files: ResultFiles<'m>, bar: ProgressBar) -> Sink<'m> {
        let hidden = bar.is_hidden();
        Sink {
            files,
            waiting: BTreeMap::new(),
            next: 0,
            report: Report::default(),
            bar,
            tick_on_write: true,
            failure: None,
            shown: std::cell::Cell::new([0; 3]),
            hidden,
        }
    }

    /// A sink whose bar moves only through `tick`.
    pub fn ticked_by_hand(mut self) -> Sink<'m> {
        self.tick_on_write = false;
        self
    }

    /// Records an outcome that may arrive before earlier rows' outcomes;
    /// rows are written as soon as every earlier row is in. Returns how
    /// many rows are written so far.
    pub fn put(&mut self, d: Done, rec: Record) -> u32 {
        self.waiting.insert(d.seq, (d, rec));
        while let Some((d, rec)) = self.waiting.remove(&self.next) {
            self.record(&d, &rec);
        }
        self.next
    }

    /// Records the outcome of the next row in input order.
    pub fn put_next(&mut self, d: &Done, rec: &Record) {
        debug_assert!(d.seq == self.next && self.waiting.is_empty(), "rows out of order");
        self.record(d, rec);
    }

    fn record(&mut self, d: &Done, rec: &Record) {
        if self.failure.is_none()
            && let Err(e) = self.files.write(rec, &d.line)
        {
            self.failure = Some(e);
        }
        *self.report.counts.entry(d.line.status).or_default() += 1;
        *self.report.actions.entry(d.line.action.as_str()).or_default() += 1;
        self.report.completed += d.completed as u64;
        if let Some(kind) = error_kind(d.line.status, &d.line.error, d.retry) {
            *self.report.errors.entry(kind).or_default() += 1;
        }
        if d.line.status == Status::Failed && self.report.failed.len() < FAILED_SHOWN {
            self.report.failed.push((rec.row, d.line.error.clone()));
        }
        if self.tick_on_write {
            self.tick(d.line.status);
        }
        self.next += 1;
    }

    /// Moves the bar by one row whose outcome is `status` (known, perhaps
    /// not written yet).
    pub fn tick(&self, status: Status) {
        // A hidden bar (a dry run's draft, `-q`, no terminal) stays hidden,
        // and asking it to move reads the clock: not once a row for nothing.
        if self.hidden {
            return;
        }
        let mut shown = self.shown.get();
        match status {
            Status::Created => shown[0] += 1,
            Status::Updated | Status::Deactivated | Status::Reactivated => shown[1] += 1,
            Status::Failed => shown[2] += 1,
            _ => {}
        }
        self.shown.set(shown);
        self.bar.set_message(super::progress::counts_text(shown[0], shown[1], shown[2]));
        self.bar.inc(1);
    }

    /// Whether a file could not be written: the run should stop taking rows.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Rows written (or counted after a write failure) so far.
    pub fn rows(&self) -> u32 {
        self.next
    }

    /// Flushes the files and returns the counts, or the first write error.
    pub fn finish(self) -> Result<Report> {
        self.bar.finish_and_clear();
        if let Some(e) = self.failure {
            return Err(e);
        }
        self.files.finish(&self.report.counts, &self.report.actions)?;
        Ok(self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_errors_kind_is_its_first_column_or_why_the_target_failed_it() {
        let k = |s, e, r| error_kind(s, e, r);
        assert_eq!(
            k(Status::Invalid, "Email: \"x@\" is not valid; Region: no", false).as_deref(),
            Some("invalid: Email")
        );
        assert_eq!(
            k(Status::Invalid, "Last Name is required", false).as_deref(),
            Some("invalid: Last Name")
        );
        assert_eq!(
            k(Status::Invalid, "\"a\" matches two records: 4 and 5", false).as_deref(),
            Some("invalid: row")
        );
        assert_eq!(
            k(Status::Failed, "create: taken (HTTP 422)", false).as_deref(),
            Some("failed: refused")
        );
        assert_eq!(
            k(Status::Failed, "create: timed out", true).as_deref(),
            Some("failed: unavailable")
        );
        assert_eq!(k(Status::Pending, "not sent", false).as_deref(), Some("pending"));
        assert_eq!(k(Status::Created, "", false), None);
    }
}
