//! Pass 2's scheduling: the valid rows go to the workers (`worker`), and
//! every row's outcome goes to the sink (`sink`), which writes the results
//! files in input order.
//!
//! Two ways, same results. Streaming (no row refers to another row of the
//! file): the file is read again, rows go to the workers as they come, and a
//! reorder buffer writes outcomes as soon as all earlier rows are done; the
//! reader never runs more than `WINDOW` rows ahead, so memory stays flat.
//! By levels (some rows refer to rows of the file, a manager for instance):
//! rows are sent in dependency order, the ones referring to no row first,
//! each level only after the previous one finished (so managers exist when
//! their reports are created); the deeper rows wait in memory, and the
//! results are written in a last read of the file.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};

use super::journal::{Journal, Replay};
use super::sink::{Done, Report, Sink};
use super::worker::{Job, Run};
use super::{Context, Link, Match, Validation, Verdict, changed, known, progress};
use crate::error::{Error, Result};
use crate::input::Record;
use crate::output::Action;
use crate::output::{CredentialsFile, ResultFiles, Status};
use crate::transport::Api;

pub struct SendSettings {
    pub concurrency: usize,
    /// Rows in a row that may fail because the target is unavailable
    /// before the run stops.
    pub max_errors: u32,
    pub dry_run: bool,
    pub progress: bool,
}

/// What a run keeps besides the results: the journal (for `--resume`), the
/// interrupted run's record when resuming, and generated passwords.
pub struct Bookkeeping<'a> {
    pub journal: Option<&'a Journal>,
    /// Empty for a fresh run.
    pub replay: &'a Replay,
    pub credentials: Option<&'a CredentialsFile>,
    pub password_length: usize,
    pub password_classes: String,
    /// Set when the run aborts: requests in flight stop retrying. (Ctrl-C
    /// only stops new rows, so the rows in flight finish.)
    pub halt: Option<&'a AtomicBool>,
}

/// A row waiting for its level: (seq, record, the record it matches, resumed).
type Deferred = (u32, Record, Option<Match>, bool);

/// Pass 2: writes every row's outcome, sending the valid rows unless this is
/// a dry run. `api` is `None` only for dry runs.
pub fn send(
    ctx: &Context,
    validation: &Validation,
    api: Option<&Api>,
    out: ResultFiles<'_>,
    settings: &SendSettings,
    books: &Bookkeeping,
    stop: &Arc<AtomicBool>,
) -> Result<Report> {
    let api = match api {
        Some(api) if !settings.dry_run => api,
        _ => return write_without_sending(ctx, validation, out, settings),
    };
    let run =
        Run { ctx, api, settings, books, stop, abort: OnceLock::new(), streak: AtomicU32::new(0) };
    let bar = progress::bar(validation.rows, settings.progress);
    let mut report = if validation.levels.is_empty() {
        streaming(&run, validation, Sink::new(out, bar))?
    } else {
        by_levels(&run, validation, Sink::new(out, bar).ticked_by_hand())?
    };
    report.aborted = run.abort.get().cloned();
    Ok(report)
}

/// The people a row refers to, by the target's ids; `Err` names a row of
/// the file that was to be created first but was not.
fn people(
    validation: &Validation,
    seq: u32,
    outcomes: &HashMap<u32, Done>,
) -> std::result::Result<Vec<(usize, String)>, (usize, u32)> {
    let mut out = Vec::new();
    for (field, link) in validation.links.get(&seq).into_iter().flatten() {
        match link {
            Link::Existing(id) => out.push((*field, id.clone())),
            Link::Row { seq: t, row } => match outcomes.get(t) {
                Some(d)
                    if matches!(
                        d.line.status,
                        Status::Created | Status::Updated | Status::Exists
                    ) && !d.line.id.is_empty() =>
                {
                    out.push((*field, d.line.id.clone()))
                }
                _ => return Err((*field, *row)),
            },
        }
    }
    Ok(out)
}

/// How the first read of pass 2 treats a row.
enum Plan {
    /// Its outcome is already known (invalid, exists and complete, or
    /// finished by the run being resumed).
    Known(Done),
    Send {
        matched: Option<Match>,
        resumed: bool,
    },
}

fn plan(validation: &Validation, replay: &Replay, seq: u32) -> Plan {
    if let Some((status, id, error)) = replay.done.get(&seq) {
        let action = replay.sent_as.get(&seq).copied().unwrap_or_default();
        return Plan::Known(Done::new(seq, *status, id, error).action(action));
    }
    let resumed = replay.in_flight.contains(&seq);
    match validation.verdicts.get(&seq) {
        // Sent by the interrupted run, and now nothing is left to do: that
        // run did it (created the record, or applied the changes).
        Some(Verdict::Matched(m)) if !m.sends() && resumed => {
            let action = replay.sent_as.get(&seq).copied().unwrap_or(Action::Create);
            Plan::Known(Done::new(seq, action.done_status(), &m.existing.id, "").action(action))
        }
        Some(Verdict::Matched(m)) if m.sends() => {
            let created = replay.sent_as.get(&seq).is_none_or(|a| *a == Action::Create);
            let m = Match { finishing: resumed && created, ..m.clone() };
            Plan::Send { matched: Some(m), resumed }
        }
        Some(v) => Plan::Known(known(Some(v), seq, false)),
        None => Plan::Send { matched: None, resumed },
    }
}

/// How far the writer has got, so the reader never runs more than
/// `WINDOW` rows ahead of it (bounded memory even when one row is slow).
struct Window {
    written: Mutex<u32>,
    moved: Condvar,
}

const WINDOW: u32 = 4096;

impl Window {
    fn is_near(&self, seq: u32) -> bool {
        seq < self.written.lock().unwrap_or_else(|e| e.into_inner()).saturating_add(WINDOW)
    }
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

/// Batches waiting for a worker.
fn queue_size(run: &Run) -> usize {
    run.settings.concurrency.max(1) * 2
}

/// Groups jobs into batches of the target's size (1 for most targets) on
/// the reader's side, so a batch does not depend on which worker is free.
struct Batcher<'a> {
    tx: &'a mpsc::SyncSender<Vec<Job>>,
    limit: usize,
    open: Vec<Job>,
}

impl<'a> Batcher<'a> {
    fn new(run: &Run, tx: &'a mpsc::SyncSender<Vec<Job>>) -> Batcher<'a> {
        Batcher { tx, limit: run.ctx.session.batch_limit().max(1), open: Vec::new() }
    }
    fn push(&mut self, job: Job) {
        self.open.push(job);
        if self.open.len() >= self.limit {
            self.flush();
        }
    }
    /// Sends the open batch, however small.
    fn flush(&mut self) {
        if !self.open.is_empty() {
            let _ = self.tx.send(std::mem::take(&mut self.open));
        }
    }
}

/// Workers: take jobs until the channel closes, send back each outcome with
/// its record.
fn spawn_workers<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    run: &'s Run<'s>,
    jobs: &'s Mutex<mpsc::Receiver<Vec<Job>>>,
    done_tx: &mpsc::Sender<(Done, Record)>,
) {
    for _ in 0..run.settings.concurrency.max(1) {
        let done_tx = done_tx.clone();
        s.spawn(move || {
            loop {
                let batch = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok(batch) = batch else { break };
                let dones = run.work(&batch);
                for (d, job) in dones.into_iter().zip(batch) {
                    if done_tx.send((d, job.rec)).is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// The writer of a streaming run: outcomes into the sink as they come; a
/// write failure stops the run and lets the reader run freely so it winds
/// down.
fn write_as_they_come(
    run: &Run,
    window: &Window,
    mut sink: Sink<'_>,
    done_rx: mpsc::Receiver<(Done, Record)>,
) -> Result<Report> {
    for (d, rec) in done_rx {
        let written = sink.put(d, rec);
        if sink.failed() {
            run.stop.store(true, Ordering::Relaxed);
            window.advance(u32::MAX - WINDOW);
        } else {
            window.advance(written);
        }
    }
    sink.finish()
}

fn streaming(run: &Run, validation: &Validation, sink: Sink<'_>) -> Result<Report> {
    let ctx = run.ctx;
    let window = Window { written: Mutex::new(0), moved: Condvar::new() };
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(queue_size(run));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(Done, Record)>();
    std::thread::scope(|s| -> Result<Report> {
        spawn_workers(s, run, &job_rx, &done_tx);
        let window = &window;
        let writer = s.spawn(move || write_as_they_come(run, window, sink, done_rx));

        // The reader: this thread.
        let mut batcher = Batcher::new(run, &job_tx);
        let mut read = || -> Result<()> {
            let mut rows = ctx.source.rows()?;
            let no_outcomes = HashMap::new();
            let mut seq = 0u32;
            loop {
                let mut rec = Record::default();
                if !rows.next_into(&mut rec)? {
                    break;
                }
                if !window.is_near(seq) {
                    // The writer may be waiting for rows in the open batch.
                    batcher.flush();
                    window.wait_until_near(seq);
                }
                match plan(validation, run.books.replay, seq) {
                    Plan::Known(d) => {
                        done_tx.send((d, rec)).ok();
                    }
                    Plan::Send { .. } if run.stopped() => {
                        done_tx.send((run.not_sent(seq), rec)).ok();
                    }
                    Plan::Send { matched, resumed } => {
                        // Without levels every reference is to the tenant.
                        let people = people(validation, seq, &no_outcomes).unwrap_or_default();
                        batcher.push(Job { seq, rec, matched, people, resumed });
                    }
                }
                seq += 1;
            }
            if seq as u64 != validation.rows {
                return Err(changed(ctx, validation, seq));
            }
            Ok(())
        };
        let read = read();
        batcher.flush();
        drop(batcher);
        if let Err(e) = &read {
            run.abort(e.to_string(), None);
        }
        drop(job_tx);
        drop(done_tx);
        writer.join().unwrap_or_else(|_| Err(Error::input("the results writer crashed")))
    })
}

fn by_levels(run: &Run, validation: &Validation, mut sink: Sink<'_>) -> Result<Report> {
    let ctx = run.ctx;
    // Rows the interrupted run finished are known managers too.
    let mut outcomes: HashMap<u32, Done> = run
        .books
        .replay
        .done
        .iter()
        .map(|(&seq, (status, id, error))| (seq, Done::new(seq, *status, id, error)))
        .collect();
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(queue_size(run));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(Done, Record)>();
    std::thread::scope(|s| -> Result<()> {
        spawn_workers(s, run, &job_rx, &done_tx);
        let collect = |n: usize, outcomes: &mut HashMap<u32, Done>| {
            for _ in 0..n {
                let Ok((d, _rec)) = done_rx.recv() else { break };
                sink.tick(d.line.status);
                outcomes.insert(d.seq, d);
            }
        };
        // Level 0 goes out during the read; deeper rows wait, by level.
        let mut deferred: BTreeMap<u32, Vec<Deferred>> = BTreeMap::new();
        let mut sent = 0usize;
        let mut batcher = Batcher::new(run, &job_tx);
        let read = (|| -> Result<()> {
            let mut rows = ctx.source.rows()?;
            let mut seq = 0u32;
            loop {
                let mut rec = Record::default();
                if !rows.next_into(&mut rec)? {
                    break;
                }
                match plan(validation, run.books.replay, seq) {
                    Plan::Known(d) => sink.tick(d.line.status),
                    Plan::Send { matched, resumed } => match validation.levels.get(&seq) {
                        Some(&level) if level > 0 => {
                            deferred.entry(level).or_default().push((seq, rec, matched, resumed))
                        }
                        _ => {
                            let people =
                                people(validation, seq, &HashMap::new()).unwrap_or_default();
                            batcher.push(Job { seq, rec, matched, people, resumed });
                            sent += 1;
                        }
                    },
                }
                seq += 1;
            }
            if seq as u64 != validation.rows {
                return Err(changed(ctx, validation, seq));
            }
            Ok(())
        })();
        batcher.flush();
        collect(sent, &mut outcomes);
        if let Err(e) = read {
            drop(batcher);
            drop(job_tx); // let the workers end before the scope does
            return Err(e);
        }
        for (_, rows) in deferred {
            let mut n = 0;
            for (seq, rec, matched, resumed) in rows {
                match people(validation, seq, &outcomes) {
                    Ok(people) => {
                        batcher.push(Job { seq, rec, matched, people, resumed });
                        n += 1;
                    }
                    Err((field, row)) => {
                        let d = not_sent_for(run, seq, field, row);
                        sink.tick(d.line.status);
                        outcomes.insert(seq, d);
                    }
                }
            }
            batcher.flush();
            collect(n, &mut outcomes);
        }
        drop(batcher);
        drop(job_tx);
        Ok(())
    })?;

    // The results, in input order.
    let mut rows = ctx.source.rows()?;
    let mut rec = Record::default();
    let mut seq = 0u32;
    while rows.next_into(&mut rec)? {
        let d = match plan(validation, run.books.replay, seq) {
            Plan::Known(d) => d,
            Plan::Send { .. } => outcomes.remove(&seq).unwrap_or_else(|| run.not_sent(seq)),
        };
        sink.put_next(&d, &rec);
        seq += 1;
    }
    sink.finish()
}

/// A row not sent because `row`, whom its `field` refers to, was not
/// created: failed, or pending when the run was stopped.
fn not_sent_for(run: &Run, seq: u32, field: usize, row: u32) -> Done {
    let why = match run.abort.get() {
        Some((m, _)) if run.stopped() => format!("not sent: {m}"),
        _ => format!(
            "{}: row {row}, whom this row refers to, was not created, so this row was not sent",
            run.ctx.mapping.label(field)
        ),
    };
    let status = if run.stopped() { Status::Pending } else { Status::Failed };
    Done::new(seq, status, "", &why)
}

/// A dry run: every row's verdict written in order, on this thread.
fn write_without_sending(
    ctx: &Context,
    validation: &Validation,
    out: ResultFiles<'_>,
    settings: &SendSettings,
) -> Result<Report> {
    let mut sink = Sink::new(out, progress::bar(validation.rows, settings.progress));
    let mut rows = ctx.source.rows()?;
    let mut rec = Record::default();
    let mut seq = 0u32;
    while rows.next_into(&mut rec)? {
        sink.put_next(&known(validation.verdicts.get(&seq), seq, true), &rec);
        seq += 1;
    }
    if seq as u64 != validation.rows {
        return Err(changed(ctx, validation, seq));
    }
    sink.finish()
}
