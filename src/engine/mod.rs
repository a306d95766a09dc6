//! The import pipeline: validate every row, then send the valid ones.
//!
//! Pass 1 reads the whole file once, maps and checks every row, finds rows
//! that repeat an earlier row's key, and matches rows against the records the
//! target already holds; nothing is sent, so every invalid row is known before
//! the first request. Pass 2 reads the file again, hands valid rows to
//! `--concurrency` workers, and writes each row's outcome to the results files
//! in input order as soon as all earlier rows are done. Only verdicts that are
//! not "send" are kept between passes, so a streamed CSV keeps memory flat
//! apart from the duplicate-key index.

mod dups;
pub mod progress;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::input::{Record, Source};
use rayon::prelude::*;

use crate::mapping::{Mapping, Problem, Value, join_problems, recycle};
use crate::output::{ResultFiles, Status};
use crate::targets::{Existing, Outcome, Session, TargetInfo};
use crate::transport::Api;

/// What a run works with.
pub struct Context<'a> {
    pub source: &'a Source,
    pub mapping: &'a Mapping,
    pub info: &'static TargetInfo,
    pub session: &'a dyn Session,
}

/// Pass 1's decision about a row that is not simply "send it".
#[derive(Debug, Clone)]
pub enum Verdict {
    Invalid { row: u32, message: String },
    Exists(Existing),
}

#[derive(Debug, Default)]
pub struct Validation {
    /// Data rows in the file (blank rows are not rows).
    pub rows: u64,
    /// By row sequence number (0 = first data row); absent means "send".
    pub verdicts: HashMap<u32, Verdict>,
    pub invalid: u64,
    pub exists: u64,
    /// Existing records whose follow-up steps are missing.
    pub incomplete: u64,
}

impl Validation {
    /// Rows pass 2 will send (new rows and incomplete existing ones).
    pub fn to_send(&self) -> u64 {
        self.rows - self.invalid - (self.exists - self.incomplete)
    }

    /// The first `n` invalid rows, for the console.
    pub fn examples(&self, n: usize) -> Vec<(u32, String)> {
        let mut v: Vec<(u32, &String)> = self
            .verdicts
            .values()
            .filter_map(|v| match v {
                Verdict::Invalid { row, message } => Some((*row, message)),
                _ => None,
            })
            .collect();
        v.sort_unstable_by_key(|(r, _)| *r);
        v.into_iter().take(n).map(|(r, m)| (r, m.clone())).collect()
    }
}

/// Pass 1: every row mapped and checked, nothing sent.
///
/// With `draft` (a dry run), each row's verdict is also written at once. A
/// verdict can only change after its row was read when a later row repeats
/// its key; if none does, the draft is the final result and is returned as
/// a `Report`, sparing a second read of the file. Otherwise `None`, and
/// `send` writes the files again.
pub fn validate(
    ctx: &Context,
    draft: Option<ResultFiles<'_>>,
) -> Result<(Validation, Option<Report>)> {
    let keys = dups::Keys::new(ctx.info, ctx.mapping);
    let mut dups = dups::DupIndex::new(keys.clone());
    let mut v = Validation::default();
    let mut rows = ctx.source.rows()?;
    let nfields = ctx.mapping.fields.len();
    // Rows are read in batches on this thread and checked in parallel;
    // verdicts are recorded in order. A dry run's draft is written by its
    // own thread, batch by batch, while the next batch is read.
    let (report, draft_ok) = std::thread::scope(|s| -> Result<(Report, bool)> {
        let (to_writer, from_reader) = mpsc::sync_channel::<Batch>(2);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<Record>>();
        let writer = draft.map(|mut out| {
            s.spawn(move || -> Result<Report> {
                let mut report = Report::default();
                for batch in from_reader {
                    for (rec, (status, id, error)) in batch.records.iter().zip(&batch.statuses) {
                        out.write(rec, *status, id, error)?;
                        *report.counts.entry(*status).or_default() += 1;
                    }
                    let _ = recycle_tx.send(batch.records);
                }
                out.finish()?;
                Ok(report)
            })
        });
        let mut checks: Vec<Check> = Vec::new();
        let mut seq: u32 = 0;
        let mut spare_records: Vec<Record> = Vec::new();
        loop {
            let mut records =
                recycle_rx.try_recv().unwrap_or_else(|_| std::mem::take(&mut spare_records));
            let mut n = 0;
            while n < BATCH {
                if records.len() == n {
                    records.push(Record::default());
                }
                if !rows.next_into(&mut records[n])? {
                    break;
                }
                n += 1;
            }
            records.truncate(n);
            records
                .par_iter()
                .map_init(
                    || Vec::with_capacity(nfields),
                    |spare, rec| check_row(ctx, &keys, rec, spare),
                )
                .collect_into_vec(&mut checks);
            let mut statuses = Vec::with_capacity(if writer.is_some() { n } else { 0 });
            for (rec, check) in records.iter().zip(checks.drain(..)) {
                dups.push(seq, rec.row, &check.hashes);
                if !check.problems.is_empty() {
                    let message = join_problems(&check.problems);
                    v.verdicts.insert(seq, Verdict::Invalid { row: rec.row, message });
                } else if let Some(ex) = check.existing {
                    v.verdicts.insert(seq, Verdict::Exists(ex));
                }
                if writer.is_some() {
                    let (status, id, error) = row_status(v.verdicts.get(&seq));
                    statuses.push((status, id.to_string(), error.to_string()));
                }
                seq = seq.checked_add(1).ok_or_else(|| Error::input("more than 4 billion rows"))?;
            }
            let last = n < BATCH;
            if writer.is_some() {
                if to_writer.send(Batch { records, statuses }).is_err() {
                    break; // the writer failed; its error is reported below
                }
            } else {
                spare_records = records;
            }
            if last {
                break;
            }
        }
        v.rows = seq as u64;
        drop(to_writer);
        match writer {
            Some(w) => {
                let report =
                    w.join().unwrap_or_else(|_| Err(Error::input("the results writer crashed")))?;
                Ok((report, true))
            }
            None => Ok((Report::default(), false)),
        }
    })?;
    let repeats = dups.finish();
    let report = (draft_ok && repeats.is_empty()).then_some(report);
    for (seq, row, problem) in repeats {
        let message = problem.to_string();
        match v.verdicts.get_mut(&seq) {
            Some(Verdict::Invalid { message: m, .. }) => {
                m.push_str("; ");
                m.push_str(&message);
            }
            _ => {
                v.verdicts.insert(seq, Verdict::Invalid { row, message });
            }
        }
    }
    for verdict in v.verdicts.values() {
        match verdict {
            Verdict::Invalid { .. } => v.invalid += 1,
            Verdict::Exists(ex) => {
                v.exists += 1;
                v.incomplete += ex.incomplete as u64;
            }
        }
    }
    Ok((v, report))
}

const BATCH: usize = 2048;

/// Rows and their statuses on their way to a dry run's writer thread.
struct Batch {
    records: Vec<Record>,
    statuses: Vec<(Status, String, String)>,
}

/// What pass 1 learns about one row, apart from its order.
struct Check {
    problems: Vec<Problem>,
    existing: Option<Existing>,
    hashes: [u128; dups::MAX_KEYS],
}

/// Maps and checks one row; pure, so rows are checked in parallel.
fn check_row(
    ctx: &Context,
    keys: &dups::Keys,
    rec: &Record,
    spare: &mut Vec<Value<'static>>,
) -> Check {
    let mut problems = Vec::new();
    let mut values = recycle(std::mem::take(spare));
    ctx.mapping.map_row(rec, ctx.session.refs(), &mut values, &mut problems);
    ctx.session.check(&values, ctx.mapping, &mut problems);
    let mut existing = None;
    if problems.is_empty() {
        match ctx.session.existing(&values, ctx.mapping) {
            Ok(e) => existing = e,
            Err(p) => problems.push(p),
        }
    }
    *spare = recycle(values);
    Check { problems, existing, hashes: keys.hashes(rec, ctx.mapping) }
}

/// What a row that is not sent gets in the results file.
fn row_status(verdict: Option<&Verdict>) -> (Status, &str, &str) {
    match verdict {
        Some(Verdict::Invalid { message, .. }) => (Status::Invalid, "", message.as_str()),
        Some(Verdict::Exists(ex)) => (Status::Exists, ex.id.as_str(), ""),
        None => (Status::Skipped, "", ""),
    }
}

pub struct SendSettings {
    pub concurrency: usize,
    /// Rows in a row that may fail because the target is unavailable
    /// before the run stops.
    pub max_errors: u32,
    pub dry_run: bool,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub counts: BTreeMap<Status, u64>,
    /// Existing records whose missing follow-up steps were done.
    pub completed: u64,
    /// Why the run stopped early, and a hint.
    pub aborted: Option<(String, Option<String>)>,
}

struct Done {
    seq: u32,
    rec: Record,
    status: Status,
    id: String,
    error: String,
    completed: bool,
}

/// How far the writer has got, so the reader never runs more than
/// `WINDOW` rows ahead of it (bounded memory even when one row is slow).
struct Window {
    written: Mutex<u32>,
    moved: Condvar,
}

const WINDOW: u32 = 4096;

impl Window {
    fn wait_until_near(&self, seq: u32) {
        let mut w = self.written.lock().unwrap_or_else(|e| e.into_inner());
        while seq >= w.saturating_add(WINDOW) {
            w = self.moved.wait(w).unwrap_or_else(|e| e.into_inner());
        }
    }
    fn advance(&self, to: u32) {
        *self.written.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.moved.notify_all();
    }
}

/// Pass 2: writes every row's outcome, sending the valid rows unless this is
/// a dry run. `api` is `None` only for dry runs.
pub fn send(
    ctx: &Context,
    validation: &Validation,
    api: Option<&Api>,
    out: ResultFiles<'_>,
    settings: &SendSettings,
    stop: &Arc<AtomicBool>,
) -> Result<Report> {
    let api = match api {
        Some(api) if !settings.dry_run => api,
        _ => return write_without_sending(ctx, validation, out, settings),
    };
    let concurrency = settings.concurrency.max(1);
    let window = Window { written: Mutex::new(0), moved: Condvar::new() };
    let abort: OnceLock<(String, Option<String>)> = OnceLock::new();
    let unavailable_streak = AtomicU32::new(0);
    let bar = progress::bar(validation.rows, settings.progress);

    let (job_tx, job_rx) =
        mpsc::sync_channel::<(u32, Record, Option<Existing>)>(concurrency.max(1) * 4);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    std::thread::scope(|s| -> Result<Report> {
        for _ in 0..concurrency {
            let done_tx = done_tx.clone();
            let (job_rx, abort, streak) = (&job_rx, &abort, &unavailable_streak);
            s.spawn(move || {
                loop {
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, rec, existing)) = job else { break };
                    let done = if stop.load(Ordering::Relaxed) {
                        not_sent(seq, rec, abort)
                    } else {
                        let d =
                            work(ctx, api, seq, rec, existing.as_ref(), settings, streak, abort);
                        if abort.get().is_some() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        d
                    };
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }

        let writer = {
            let (window, bar) = (&window, &bar);
            s.spawn(move || -> Result<Report> {
                let mut out = out;
                let mut report = Report::default();
                let mut waiting: BTreeMap<u32, Done> = BTreeMap::new();
                let mut next = 0u32;
                let mut failure = None;
                for d in done_rx {
                    waiting.insert(d.seq, d);
                    while let Some(d) = waiting.remove(&next) {
                        if failure.is_none()
                            && let Err(e) = out.write(&d.rec, d.status, &d.id, &d.error)
                        {
                            stop.store(true, Ordering::Relaxed);
                            failure = Some(e);
                        }
                        *report.counts.entry(d.status).or_default() += 1;
                        report.completed += d.completed as u64;
                        bar.inc(1);
                        next += 1;
                        // After a write failure, let the reader run freely
                        // so the run can wind down.
                        window.advance(if failure.is_some() { u32::MAX - WINDOW } else { next });
                    }
                }
                if let Some(e) = failure {
                    return Err(e);
                }
                out.finish()?;
                Ok(report)
            })
        };

        // The reader: this thread.
        let read = (|| -> Result<()> {
            let mut rows = ctx.source.rows()?;
            let mut seq = 0u32;
            loop {
                let mut rec = Record::default();
                if !rows.next_into(&mut rec)? {
                    break;
                }
                window.wait_until_near(seq);
                let done = |status, id: &str, error: &str| Done {
                    seq,
                    rec: rec.clone(),
                    status,
                    id: id.to_string(),
                    error: error.to_string(),
                    completed: false,
                };
                let d = match validation.verdicts.get(&seq) {
                    Some(Verdict::Invalid { message, .. }) => {
                        Some(done(Status::Invalid, "", message))
                    }
                    Some(Verdict::Exists(ex)) if !ex.incomplete => {
                        Some(done(Status::Exists, &ex.id, ""))
                    }
                    _ if stop.load(Ordering::Relaxed) => Some(not_sent(seq, rec.clone(), &abort)),
                    Some(Verdict::Exists(ex)) => {
                        job_tx.send((seq, rec, Some(ex.clone()))).ok();
                        None
                    }
                    None => {
                        job_tx.send((seq, rec, None)).ok();
                        None
                    }
                };
                if let Some(d) = d {
                    done_tx.send(d).ok();
                }
                seq += 1;
            }
            if seq as u64 != validation.rows {
                return Err(changed(ctx, validation, seq));
            }
            Ok(())
        })();
        if let Err(e) = &read {
            stop.store(true, Ordering::Relaxed);
            let _ = abort.set((e.to_string(), None));
        }
        drop(job_tx);
        drop(done_tx);
        let mut report =
            writer.join().unwrap_or_else(|_| Err(Error::input("the results writer crashed")))?;
        bar.finish_and_clear();
        report.aborted = abort.get().cloned();
        Ok(report)
    })
}

/// A dry run: every row's verdict written in order, on this thread.
fn write_without_sending(
    ctx: &Context,
    validation: &Validation,
    mut out: ResultFiles<'_>,
    settings: &SendSettings,
) -> Result<Report> {
    let bar = progress::bar(validation.rows, settings.progress);
    let mut report = Report::default();
    let mut rows = ctx.source.rows()?;
    let mut rec = Record::default();
    let mut seq = 0u32;
    while rows.next_into(&mut rec)? {
        let (status, id, error) = row_status(validation.verdicts.get(&seq));
        out.write(&rec, status, id, error)?;
        *report.counts.entry(status).or_default() += 1;
        bar.inc(1);
        seq += 1;
    }
    if seq as u64 != validation.rows {
        return Err(changed(ctx, validation, seq));
    }
    out.finish()?;
    bar.finish_and_clear();
    Ok(report)
}

fn changed(ctx: &Context, validation: &Validation, now: u32) -> Error {
    Error::input(format!(
        "{}: the file changed while it was being imported ({} rows at first, {now} now)",
        ctx.source.path().display(),
        validation.rows
    ))
}

fn not_sent(seq: u32, rec: Record, abort: &OnceLock<(String, Option<String>)>) -> Done {
    let why = abort.get().map(|(m, _)| m.as_str()).unwrap_or("the run was stopped");
    Done {
        seq,
        rec,
        status: Status::Pending,
        id: String::new(),
        error: format!("not sent: {why}"),
        completed: false,
    }
}

/// One row through the target: map it again (pass 1 kept only verdicts),
/// then provision it.
#[allow(clippy::too_many_arguments)]
fn work(
    ctx: &Context,
    api: &Api,
    seq: u32,
    rec: Record,
    existing: Option<&Existing>,
    settings: &SendSettings,
    streak: &AtomicU32,
    abort: &OnceLock<(String, Option<String>)>,
) -> Done {
    let mut values = Vec::with_capacity(ctx.mapping.fields.len());
    let mut problems: Vec<Problem> = Vec::new();
    ctx.mapping.map_row(&rec, ctx.session.refs(), &mut values, &mut problems);
    let (status, id, error, completed) = if !problems.is_empty() {
        (Status::Invalid, String::new(), join_problems(&problems), false)
    } else {
        match ctx.session.provision(api, &values, existing) {
            Outcome::Created { id } => {
                streak.store(0, Ordering::Relaxed);
                (Status::Created, id, String::new(), false)
            }
            Outcome::Completed { id } => {
                streak.store(0, Ordering::Relaxed);
                (Status::Exists, id, String::new(), true)
            }
            Outcome::Failed { id, message, unavailable } => {
                if unavailable {
                    let n = streak.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= settings.max_errors {
                        let _ = abort.set((
                            format!("the target failed {n} rows in a row ({message})"),
                            Some("check that the target is up, then import errors.csv".into()),
                        ));
                    }
                } else {
                    streak.store(0, Ordering::Relaxed);
                }
                (Status::Failed, id.unwrap_or_default(), message, false)
            }
            Outcome::Aborted { id, message, hint } => {
                let _ = abort.set((message.clone(), hint));
                let first = abort.get().map(|(m, _)| m.clone()).unwrap_or(message);
                match id {
                    Some(id) => {
                        (Status::Failed, id, format!("stopped before finishing: {first}"), false)
                    }
                    None => (Status::Pending, String::new(), format!("not sent: {first}"), false),
                }
            }
        }
    };
    drop(values);
    Done { seq, rec, status, id, error, completed }
}
