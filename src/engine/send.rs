//! Pass 2: the valid rows go to the workers; every row's outcome goes to the
//! results files, in input order.
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
use super::{Context, Link, Validation, Verdict, changed, progress, row_status};
use crate::error::{Error, Result};
use crate::input::Record;
use crate::mapping::{Problem, join_problems};
use crate::output::{CredentialsFile, ResultFiles, Status};
use crate::targets::{Existing, Outcome, RowInput};
use crate::transport::Api;

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

/// One row for a worker.
struct Job {
    seq: u32,
    rec: Record,
    existing: Option<Existing>,
    people: Vec<(usize, String)>,
    /// An interrupted run sent this row without recording an outcome: if it
    /// turns out to exist now, this run created it.
    resumed: bool,
}

/// A row waiting for its level: (seq, record, existing, resumed).
type Deferred = (u32, Record, Option<Existing>, bool);

/// One row's outcome.
#[derive(Clone)]
struct Done {
    seq: u32,
    status: Status,
    id: String,
    error: String,
    completed: bool,
    /// Failed for want of an answer: a resume tries the row again.
    retry: bool,
}

/// State every worker of a run shares.
struct Run<'a> {
    ctx: &'a Context<'a>,
    api: &'a Api,
    settings: &'a SendSettings,
    books: &'a Bookkeeping<'a>,
    stop: &'a AtomicBool,
    abort: OnceLock<(String, Option<String>)>,
    /// Rows in a row that failed because the target was unavailable.
    streak: AtomicU32,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn abort(&self, message: String, hint: Option<String>) {
        let _ = self.abort.set((message, hint));
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.books.halt {
            h.store(true, Ordering::Relaxed);
        }
    }

    fn not_sent(&self, seq: u32) -> Done {
        let why = self.abort.get().map(|(m, _)| m.as_str()).unwrap_or("the run was stopped");
        done(seq, Status::Pending, "", &format!("not sent: {why}"))
    }

    /// Runs rows through the target: maps them again (pass 1 kept only
    /// verdicts), then provisions them, together when the target sends
    /// several rows in one request (SCIM /Bulk), else one by one.
    fn work(&self, jobs: &[Job]) -> Vec<Done> {
        if self.stopped() {
            return jobs.iter().map(|j| self.not_sent(j.seq)).collect();
        }
        let ctx = self.ctx;
        let mut out: Vec<Option<Done>> = vec![None; jobs.len()];
        let mut values: Vec<Vec<crate::mapping::Value>> = Vec::with_capacity(jobs.len());
        let mut ready: Vec<usize> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            let mut v = Vec::with_capacity(ctx.mapping.fields.len());
            let mut problems: Vec<Problem> = Vec::new();
            ctx.mapping.map_row(&job.rec, ctx.session.refs(), &mut v, &mut problems);
            if problems.is_empty() {
                ready.push(i);
            } else {
                // Only if the file changed between the passes.
                out[i] = Some(done(job.seq, Status::Invalid, "", &join_problems(&problems)));
            }
            values.push(v);
        }
        // A password the target needs and the row lacks: generated (or the
        // one an interrupted run generated), written to credentials.csv
        // before anything is sent, so it is never lost.
        for &i in &ready {
            // A person the target already has keeps the password they have:
            // one generated now would be sent nowhere, and handing it over
            // from credentials.csv would lock them out.
            if jobs[i].existing.is_some() {
                continue;
            }
            let Some(field) = ctx.session.needs_password(&values[i]) else { continue };
            match self.password_for(&jobs[i], &values[i]) {
                Ok(pw) => values[i][field] = crate::mapping::Value::Secret(pw),
                Err(e) => {
                    self.abort(e.to_string(), None);
                    return jobs.iter().map(|j| self.not_sent(j.seq)).collect();
                }
            }
        }
        if let Some(j) = self.books.journal {
            for &i in &ready {
                if let Err(e) = j.sending(jobs[i].seq, jobs[i].rec.row) {
                    self.abort(e.to_string(), None);
                    return jobs.iter().map(|j| self.not_sent(j.seq)).collect();
                }
            }
        }
        let inputs: Vec<RowInput> = ready
            .iter()
            .map(|&i| RowInput {
                row: jobs[i].rec.row,
                values: &values[i],
                existing: jobs[i].existing.as_ref(),
                people: &jobs[i].people,
            })
            .collect();
        let outcomes = if inputs.len() == 1 {
            vec![ctx.session.provision(self.api, &inputs[0])]
        } else {
            ctx.session.provision_batch(self.api, &inputs)
        };
        for (&i, outcome) in ready.iter().zip(outcomes) {
            // Finished now, though the interrupted run may have started it.
            let outcome = match outcome {
                Outcome::Completed { id } if jobs[i].resumed => Outcome::Created { id },
                o => o,
            };
            out[i] = Some(self.settle(jobs[i].seq, outcome));
        }
        let dones: Vec<Done> = out
            .into_iter()
            .zip(jobs)
            .map(|(d, j)| d.unwrap_or_else(|| self.not_sent(j.seq)))
            .collect();
        if let Some(j) = self.books.journal {
            for (d, job) in dones.iter().zip(jobs) {
                // A row not sent because the run stopped stays unfinished.
                if d.status != Status::Pending
                    && let Err(e) = j.done(d.seq, job.rec.row, d.status, &d.id, &d.error, d.retry)
                {
                    self.abort(e.to_string(), None);
                }
            }
        }
        dones
    }

    fn password_for(
        &self,
        job: &Job,
        values: &[crate::mapping::Value],
    ) -> Result<crate::secret::Secret> {
        let books = self.books;
        let Some(file) = books.credentials else {
            return Err(Error::config("no credentials file to keep a generated password in"));
        };
        let pw = match file.reused(job.rec.row) {
            Some(pw) => pw,
            None => {
                let pw = crate::secret::generate_password(
                    books.password_length,
                    &books.password_classes,
                )
                .map_err(Error::config)?;
                let info = self.ctx.info;
                let key = info
                    .template
                    .unique
                    .iter()
                    .filter_map(|c| crate::mapping::find_field(info.template.fields, c))
                    .find_map(|f| values[f].text())
                    .unwrap_or("");
                file.record(job.rec.row, key, &pw)?;
                pw
            }
        };
        Ok(pw)
    }

    /// A row's outcome as a results line; keeps the circuit breaker and the
    /// abort reason up to date.
    fn settle(&self, seq: u32, outcome: Outcome) -> Done {
        match outcome {
            Outcome::Created { id } => {
                self.streak.store(0, Ordering::Relaxed);
                done(seq, Status::Created, &id, "")
            }
            Outcome::Updated { id } => {
                self.streak.store(0, Ordering::Relaxed);
                done(seq, Status::Updated, &id, "")
            }
            Outcome::Completed { id } => {
                self.streak.store(0, Ordering::Relaxed);
                Done { completed: true, ..done(seq, Status::Exists, &id, "") }
            }
            Outcome::Failed { id, message, unavailable } => {
                if unavailable {
                    let n = self.streak.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= self.settings.max_errors {
                        self.abort(
                            format!("the target failed {n} rows in a row ({message})"),
                            Some(
                                "check that the target is up, then resume: rows that failed \
                                 for want of an answer are sent again"
                                    .into(),
                            ),
                        );
                    }
                } else {
                    self.streak.store(0, Ordering::Relaxed);
                }
                Done {
                    retry: unavailable,
                    ..done(seq, Status::Failed, &id.unwrap_or_default(), &message)
                }
            }
            Outcome::Aborted { id, message, hint } => {
                self.abort(message, hint);
                let first = self.abort.get().map(|(m, _)| m.clone()).unwrap_or_default();
                match id {
                    Some(id) => Done {
                        retry: true,
                        ..done(
                            seq,
                            Status::Failed,
                            &id,
                            &format!("stopped before finishing: {first}"),
                        )
                    },
                    None => done(seq, Status::Pending, "", &format!("not sent: {first}")),
                }
            }
        }
    }
}

fn done(seq: u32, status: Status, id: &str, error: &str) -> Done {
    Done {
        seq,
        status,
        id: id.to_string(),
        error: error.to_string(),
        completed: false,
        retry: false,
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
    books: &Bookkeeping,
    stop: &Arc<AtomicBool>,
) -> Result<Report> {
    let api = match api {
        Some(api) if !settings.dry_run => api,
        _ => return write_without_sending(ctx, validation, out, settings),
    };
    let run =
        Run { ctx, api, settings, books, stop, abort: OnceLock::new(), streak: AtomicU32::new(0) };
    let mut report = if validation.levels.is_empty() {
        streaming(&run, validation, out)?
    } else {
        by_levels(&run, validation, out)?
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
                    if matches!(d.status, Status::Created | Status::Updated | Status::Exists)
                        && !d.id.is_empty() =>
                {
                    out.push((*field, d.id.clone()))
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
    Known(Status, String, String),
    Send {
        existing: Option<Existing>,
        resumed: bool,
    },
}

fn plan(validation: &Validation, replay: &Replay, seq: u32) -> Plan {
    if let Some((status, id, error)) = replay.done.get(&seq) {
        return Plan::Known(*status, id.clone(), error.clone());
    }
    let resumed = replay.in_flight.contains(&seq);
    match validation.verdicts.get(&seq) {
        Some(v @ Verdict::Invalid { .. }) => {
            let (s, id, e) = row_status(Some(v));
            Plan::Known(s, id.to_string(), e.to_string())
        }
        // Sent by the interrupted run and found now: that run created it.
        Some(Verdict::Exists(ex)) if !ex.incomplete && resumed => {
            Plan::Known(Status::Created, ex.id.clone(), String::new())
        }
        Some(Verdict::Exists(ex)) if !ex.incomplete => {
            Plan::Known(Status::Exists, ex.id.clone(), String::new())
        }
        Some(Verdict::Exists(ex)) => Plan::Send { existing: Some(ex.clone()), resumed },
        None => Plan::Send { existing: None, resumed },
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

fn streaming(run: &Run, validation: &Validation, out: ResultFiles<'_>) -> Result<Report> {
    let ctx = run.ctx;
    let window = Window { written: Mutex::new(0), moved: Condvar::new() };
    let bar = progress::bar(validation.rows, run.settings.progress);
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(queue_size(run));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(Done, Record)>();
    std::thread::scope(|s| -> Result<Report> {
        spawn_workers(s, run, &job_rx, &done_tx);
        let writer = {
            let (window, bar) = (&window, &bar);
            s.spawn(move || -> Result<Report> {
                let mut out = out;
                let mut report = Report::default();
                let mut waiting: BTreeMap<u32, (Done, Record)> = BTreeMap::new();
                let mut next = 0u32;
                let mut failure = None;
                for (d, rec) in done_rx {
                    waiting.insert(d.seq, (d, rec));
                    while let Some((d, rec)) = waiting.remove(&next) {
                        if failure.is_none()
                            && let Err(e) = out.write(&rec, d.status, &d.id, &d.error)
                        {
                            run.stop.store(true, Ordering::Relaxed);
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
                    Plan::Known(status, id, error) => {
                        done_tx.send((done(seq, status, &id, &error), rec)).ok();
                    }
                    Plan::Send { .. } if run.stopped() => {
                        done_tx.send((run.not_sent(seq), rec)).ok();
                    }
                    Plan::Send { existing, resumed } => {
                        // Without levels every reference is to the tenant.
                        let people = people(validation, seq, &no_outcomes).unwrap_or_default();
                        batcher.push(Job { seq, rec, existing, people, resumed });
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
        let report =
            writer.join().unwrap_or_else(|_| Err(Error::input("the results writer crashed")))?;
        bar.finish_and_clear();
        Ok(report)
    })
}

fn by_levels(run: &Run, validation: &Validation, mut out: ResultFiles<'_>) -> Result<Report> {
    let ctx = run.ctx;
    let bar = progress::bar(validation.to_send(), run.settings.progress);
    // Rows the interrupted run finished are known managers too.
    let mut outcomes: HashMap<u32, Done> = run
        .books
        .replay
        .done
        .iter()
        .map(|(&seq, (status, id, error))| (seq, done(seq, *status, id, error)))
        .collect();
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(queue_size(run));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(Done, Record)>();
    std::thread::scope(|s| -> Result<()> {
        spawn_workers(s, run, &job_rx, &done_tx);
        let collect = |n: usize, outcomes: &mut HashMap<u32, Done>| {
            for _ in 0..n {
                let Ok((d, _rec)) = done_rx.recv() else { break };
                bar.inc(1);
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
                if let Plan::Send { existing, resumed } = plan(validation, run.books.replay, seq) {
                    match validation.levels.get(&seq) {
                        Some(&level) if level > 0 => {
                            deferred.entry(level).or_default().push((seq, rec, existing, resumed))
                        }
                        _ => {
                            let people =
                                people(validation, seq, &HashMap::new()).unwrap_or_default();
                            batcher.push(Job { seq, rec, existing, people, resumed });
                            sent += 1;
                        }
                    }
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
            for (seq, rec, existing, resumed) in rows {
                match people(validation, seq, &outcomes) {
                    Ok(people) => {
                        batcher.push(Job { seq, rec, existing, people, resumed });
                        n += 1;
                    }
                    Err((field, row)) => {
                        let why = match run.abort.get() {
                            Some((m, _)) if run.stopped() => format!("not sent: {m}"),
                            _ => format!(
                                "{}: row {row}, whom this row refers to, was not created, so this row was not sent",
                                ctx.mapping.label(field)
                            ),
                        };
                        let status = if run.stopped() { Status::Pending } else { Status::Failed };
                        outcomes.insert(seq, done(seq, status, "", &why));
                        bar.inc(1);
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
    bar.finish_and_clear();

    // The results, in input order.
    let mut report = Report::default();
    let mut rows = ctx.source.rows()?;
    let mut rec = Record::default();
    let mut seq = 0u32;
    while rows.next_into(&mut rec)? {
        let d = match plan(validation, run.books.replay, seq) {
            Plan::Known(status, id, error) => done(seq, status, &id, &error),
            Plan::Send { .. } => outcomes.remove(&seq).unwrap_or_else(|| run.not_sent(seq)),
        };
        out.write(&rec, d.status, &d.id, &d.error)?;
        *report.counts.entry(d.status).or_default() += 1;
        report.completed += d.completed as u64;
        seq += 1;
    }
    out.finish()?;
    Ok(report)
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
