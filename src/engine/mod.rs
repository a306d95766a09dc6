//! The import pipeline: validate every row, then send the valid ones.
//!
//! Pass 1 (`validate`) reads the whole file once, maps and checks every row
//! in parallel batches, finds rows that repeat an earlier row's key, matches
//! rows against the records the target already holds, and resolves
//! references to other people (in the file or the tenant); nothing is sent,
//! so every invalid row is known before the first request. Pass 2 (`send`)
//! hands the valid rows to `--concurrency` workers, managers before the
//! people who report to them, and writes each row's outcome to the results
//! files in input order. Only verdicts that are not "send" are kept between
//! passes, so a streamed CSV keeps memory flat apart from the key index.

pub mod diff;
pub mod journal;
mod keys;
mod links;
mod plan;
pub mod progress;
pub mod resume;
mod send;
mod sink;
pub mod sync;
pub mod tenant;
mod worker;

use std::collections::HashMap;
use std::sync::mpsc;

use rayon::prelude::*;

use crate::cli::Mode;
use crate::error::{Error, Result};
use crate::input::{Record, Source};
use crate::mapping::field::Kind;
use crate::mapping::{Mapping, Problem, Value, join_problems, recycle};
use crate::output::{Action, Mark, ResultFiles, Status};
use crate::targets::{Session, TargetInfo};

pub use plan::Match;
pub use tenant::Tenant;

pub use send::{Bookkeeping, SendSettings, send};
pub use sink::{Done, Report, Sink};

/// What a run works with.
pub struct Context<'a> {
    pub source: &'a Source,
    pub mapping: &'a Mapping,
    pub info: &'static TargetInfo,
    pub session: &'a dyn Session,
    /// What the target holds (none for a dry run without a target).
    pub tenant: Option<&'a Tenant>,
    pub mode: Mode,
}

/// Pass 1's decision about a row that is not simply "send it".
#[derive(Debug, Clone)]
pub enum Verdict {
    Invalid {
        row: u32,
        message: String,
        /// The cells the message names, for the output workbooks.
        cells: Vec<Mark>,
    },
    /// The row matches a record the target holds; the plan for it.
    Matched(Match),
}

/// Whom a person-reference cell of a row means.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Another row of this file, created in this run (sequence number and
    /// Excel row).
    Row { seq: u32, row: u32 },
    /// A record the target holds already, by its id.
    Existing(String),
}

#[derive(Debug, Default)]
pub struct Validation {
    /// Data rows in the file (blank rows are not rows).
    pub rows: u64,
    /// By row sequence number (0 = first data row); absent means "send".
    pub verdicts: HashMap<u32, Verdict>,
    pub invalid: u64,
    /// Rows that match a record the target holds.
    pub matched: u64,
    /// Of those, the rows pass 2 sends (changes, lifecycle, missing steps).
    pub matched_sent: u64,
    /// Person references of rows that have them: (field, whom).
    pub links: HashMap<u32, Vec<(usize, Link)>>,
    /// Send order of rows that refer to other rows (absent: level 0).
    pub levels: HashMap<u32, u32>,
    /// Fields whose profile constant rows contradict: (rows, the first few).
    pub overridden: std::collections::BTreeMap<usize, (u64, Vec<u32>)>,
}

impl Validation {
    /// Keeps what pass 2 needs of a checked row: its verdict unless it is
    /// simply "send", its person references, the constants it contradicts.
    /// Returns the verdict, if the row has one.
    fn note(
        &mut self,
        mapping: &Mapping,
        seq: u32,
        row: u32,
        check: Check,
        refs: &mut Vec<(u32, u32, Vec<PersonRef>)>,
    ) -> Option<&Verdict> {
        let verdict = if !check.problems.is_empty() {
            let message = join_problems(&check.problems);
            let cells = error_marks(mapping, &check.problems);
            Some(Verdict::Invalid { row, message, cells })
        } else {
            check.matched.map(|m| Verdict::Matched(*m))
        };
        if !check.refs.is_empty() {
            refs.push((seq, row, check.refs));
        }
        for f in check.overridden {
            let (n, rows) = self.overridden.entry(f).or_default();
            *n += 1;
            if rows.len() < 5 {
                rows.push(row);
            }
        }
        // Most rows have none: no look-up in the map for them.
        let verdict = verdict?;
        Some(self.verdicts.entry(seq).insert_entry(verdict).into_mut())
    }

    /// The counts, from the verdicts once every row is known.
    fn count(&mut self) {
        for verdict in self.verdicts.values() {
            match verdict {
                Verdict::Invalid { .. } => self.invalid += 1,
                Verdict::Matched(m) => {
                    self.matched += 1;
                    self.matched_sent += m.sends() as u64;
                }
            }
        }
    }

    /// Rows pass 2 will send (new rows and matched rows with work to do).
    pub fn to_send(&self) -> u64 {
        self.rows - self.invalid - (self.matched - self.matched_sent)
    }

    /// The first `n` rows that change a record, with their changes.
    pub fn first_changes(&self, n: usize) -> Vec<(u32, &'static str, String)> {
        let mut v: Vec<(u32, &'static str, String)> = self
            .verdicts
            .values()
            .filter_map(|v| match v {
                Verdict::Matched(m) if m.sends() || !m.changes.is_empty() => {
                    Some((m.row, m.action.as_str(), m.changes.clone()))
                }
                _ => None,
            })
            .collect();
        v.sort_unstable_by_key(|(r, _, _)| *r);
        v.truncate(n);
        v
    }

    /// The first `n` invalid rows, for the console.
    pub fn examples(&self, n: usize) -> Vec<(u32, String)> {
        let mut v: Vec<(u32, &String)> = self
            .verdicts
            .values()
            .filter_map(|v| match v {
                Verdict::Invalid { row, message, .. } => Some((*row, message)),
                _ => None,
            })
            .collect();
        v.sort_unstable_by_key(|(r, _)| *r);
        v.into_iter().take(n).map(|(r, m)| (r, m.clone())).collect()
    }

    fn add_problem(&mut self, mapping: &Mapping, seq: u32, row: u32, problem: &Problem) {
        let message = problem.to_string();
        let more = error_marks(mapping, std::slice::from_ref(problem));
        match self.verdicts.get_mut(&seq) {
            Some(Verdict::Invalid { message: m, cells, .. }) => {
                m.push_str("; ");
                m.push_str(&message);
                add_marks(cells, more);
            }
            _ => {
                self.verdicts.insert(seq, Verdict::Invalid { row, message, cells: more });
            }
        }
    }

    fn is_invalid(&self, seq: u32) -> bool {
        matches!(self.verdicts.get(&seq), Some(Verdict::Invalid { .. }))
    }
}

/// The cells a row's problems name, one mark per cell (a cell named by
/// several problems gets their messages on separate lines). Problems of the
/// whole row, or of a column the file lacks, name no cell.
pub(crate) fn error_marks(mapping: &Mapping, problems: &[Problem]) -> Vec<Mark> {
    let mut marks = Vec::new();
    let found = problems
        .iter()
        .filter_map(|p| Some(Mark { col: mapping.column_named(&p.column)?, note: p.to_string() }));
    add_marks(&mut marks, found);
    marks
}

fn add_marks(marks: &mut Vec<Mark>, more: impl IntoIterator<Item = Mark>) {
    for mark in more {
        match marks.iter_mut().find(|m| m.col == mark.col) {
            Some(m) => {
                m.note.push('\n');
                m.note.push_str(&mark.note);
            }
            None => marks.push(mark),
        }
    }
}

const BATCH: usize = 2048;

/// Rows and their checks on their way to a dry run's writer thread, and
/// back to the reader, emptied, for reuse.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    checks: Vec<Check>,
}

/// A reference from a row to another person, as pass 1 finds it.
struct PersonRef {
    field: usize,
    /// `KeyIndex::reference` of the text.
    hash: u128,
    text: String,
    /// The target's id for this person, if the tenant has them.
    tenant: Option<String>,
}

/// What pass 1 learns about one row, apart from its order.
struct Check {
    problems: Vec<Problem>,
    /// Boxed: most rows match nothing, and a `Check` is moved twice a row.
    matched: Option<Box<Match>>,
    hashes: [u128; keys::MAX_KEYS],
    refs: Vec<PersonRef>,
    /// Fields whose profile constant the row's own cell contradicts.
    overridden: Vec<usize>,
}

/// Maps and checks one row; pure, so rows are checked in parallel.
fn check_row(
    ctx: &Context,
    keys: &keys::Keys,
    person_fields: &[usize],
    rec: &Record,
    spare: &mut Vec<Value<'static>>,
) -> Check {
    let mut problems = Vec::new();
    let mut values = recycle(std::mem::take(spare));
    ctx.mapping.map_values(rec, ctx.session.refs(), &mut values, &mut problems);
    ctx.session.check(&values, ctx.mapping, &mut problems);
    if let Some(c) = ctx.mapping.status_column
        && let Some(cell) = rec.fields.get(c).map(str::trim).filter(|c| !c.is_empty())
        && plan::status_word(cell).is_none()
    {
        problems.push(Problem::new(
            ctx.mapping.headers[c].clone(),
            format!("{cell:?} is not Active or Inactive (nor Terminated, Retired, Disabled)"),
        ));
    }
    let mut matched = None;
    if problems.is_empty() {
        let found = ctx.session.existing(&values, ctx.mapping);
        match found.and_then(|e| plan::plan(ctx, rec, &values, e)) {
            Ok(m) => matched = m.map(Box::new),
            Err(p) => problems.push(p),
        }
    }
    // What a new record needs is asked only of rows that create one.
    if matched.is_none() {
        problems.extend(ctx.mapping.missing(rec, &values));
    }
    let refs = person_fields
        .iter()
        .filter_map(|&f| {
            let text = values[f].text()?;
            Some(PersonRef {
                field: f,
                hash: keys::KeyIndex::reference(text),
                text: text.to_string(),
                tenant: ctx.session.person(text),
            })
        })
        .collect();
    *spare = recycle(values);
    let overridden = ctx.mapping.overridden(rec);
    Check { problems, matched, hashes: keys.hashes(rec, ctx.mapping), refs, overridden }
}

/// What a row that is not sent gets in the results file: in a dry run, the
/// plan (`skipped` with the action it will take); otherwise its verdict.
fn known(verdict: Option<&Verdict>, seq: u32, dry_run: bool) -> Done {
    match verdict {
        Some(Verdict::Invalid { message, cells, .. }) => Done::invalid(seq, message, cells),
        Some(Verdict::Matched(m)) => {
            let status = match m.action {
                _ if dry_run => Status::Skipped,
                Action::None => Status::Exists,
                _ => Status::Unchanged,
            };
            Done::planned(seq, status, m)
        }
        None => Done::new(seq, Status::Skipped, "", "").action(Action::Create),
    }
}

fn changed(ctx: &Context, validation: &Validation, now: u32) -> Error {
    Error::input(format!(
        "{}: the file changed while it was being imported ({} at first, {now} now)",
        ctx.source.path().display(),
        crate::text::count(validation.rows, "row")
    ))
}

/// What pass 1 keeps of the rows checked so far, in file order.
struct Recorded {
    v: Validation,
    index: keys::KeyIndex,
    refs: Vec<(u32, u32, Vec<PersonRef>)>,
    /// The next row's sequence number.
    seq: u32,
}

impl Recorded {
    /// Records a batch's checks in the key index and the validation; with
    /// `draft`, returns each row's status for the results file.
    fn batch(
        &mut self,
        ctx: &Context,
        records: &[Record],
        checks: &mut Vec<Check>,
        draft: bool,
    ) -> Result<Vec<Done>> {
        let mut dones = Vec::with_capacity(if draft { records.len() } else { 0 });
        for (rec, check) in records.iter().zip(checks.drain(..)) {
            let seq = self.seq;
            self.index.push(seq, rec.row, &check.hashes);
            let verdict = self.v.note(ctx.mapping, seq, rec.row, check, &mut self.refs);
            if draft {
                dones.push(known(verdict, seq, true));
            }
            self.seq =
                seq.checked_add(1).ok_or_else(|| Error::input("more than 4 billion rows"))?;
        }
        Ok(dones)
    }
}

/// A dry run's draft results: each batch recorded (in order, on this
/// thread, so that the reader goes on reading) and written; each batch
/// goes back to the reader for reuse. Returns the report and the record.
fn write_draft(
    ctx: &Context,
    out: ResultFiles<'_>,
    batches: mpsc::Receiver<Batch>,
    recycle: mpsc::Sender<Batch>,
    mut recorded: Recorded,
) -> Result<(Report, Recorded)> {
    let mut sink = Sink::new(out, indicatif::ProgressBar::hidden());
    for mut batch in batches {
        let dones = recorded.batch(ctx, &batch.records, &mut batch.checks, true)?;
        for (rec, d) in batch.records.iter().zip(&dones) {
            sink.put_next(d, rec);
        }
        if sink.failed() {
            break; // the reader stops when its next batch is refused
        }
        let _ = recycle.send(batch);
    }
    Ok((sink.finish()?, recorded))
}

/// Reads up to `BATCH` rows into `records`, reusing the records it holds;
/// returns how many it read (fewer at the end of the file).
fn fill_batch(
    rows: &mut dyn crate::input::Rows,
    records: &mut Vec<Record>,
    nfields: usize,
) -> Result<usize> {
    let mut n = 0;
    while n < BATCH {
        if records.len() == n {
            // Room for a typical row, so a new record does not grow its
            // buffers step by step.
            let fields = crate::input::Fields::with_capacity(256, nfields);
            records.push(Record { fields, ..Record::default() });
        }
        if !rows.next_into(&mut records[n])? {
            break;
        }
        n += 1;
    }
    records.truncate(n);
    Ok(n)
}

/// Pass 1: every row mapped and checked, nothing sent.
///
/// With `draft` (a dry run), each row's verdict is also written at once. A
/// verdict can only change after its row was read when a later row repeats
/// its key or a reference cannot be followed; if neither happens, the draft
/// is the final result and is returned as a `Report`, sparing a second read
/// of the file. Otherwise `None`, and `send` writes the files again.
pub fn validate(
    ctx: &Context,
    draft: Option<ResultFiles<'_>>,
) -> Result<(Validation, Option<Report>)> {
    let keys = keys::Keys::new(ctx.info, ctx.mapping);
    let index = keys::KeyIndex::new(keys.clone());
    let recorded = Recorded { v: Validation::default(), index, refs: Vec::new(), seq: 0 };
    let (report, recorded) = std::thread::scope(|s| -> Result<(Option<Report>, Recorded)> {
        let (to_writer, from_reader) = mpsc::sync_channel::<Batch>(2);
        let (recycle_tx, recycle) = mpsc::channel::<Batch>();
        let mut keeper = match draft {
            Some(out) => Keeper::Writer {
                writer: s.spawn(move || write_draft(ctx, out, from_reader, recycle_tx, recorded)),
                to_writer,
                recycle,
                made: 0,
            },
            None => Keeper::Here { recorded: Box::new(recorded), spare: Batch::default() },
        };
        read_and_check(ctx, &keys, &mut keeper)?;
        match keeper {
            Keeper::Writer { writer, to_writer, .. } => {
                drop(to_writer);
                let (report, recorded) = writer
                    .join()
                    .unwrap_or_else(|_| Err(Error::input("the results writer crashed")))?;
                Ok((Some(report), recorded))
            }
            Keeper::Here { recorded, .. } => Ok((None, *recorded)),
        }
    })?;

    let Recorded { mut v, mut index, refs, seq } = recorded;
    v.rows = seq as u64;
    let repeats = index.finish();
    let mut late_changes = !repeats.is_empty();
    for (seq, row, problem) in &repeats {
        v.add_problem(ctx.mapping, *seq, *row, problem);
    }
    late_changes |= resolve_links(ctx, &index, refs, &mut v);
    v.count();
    Ok((v, report.filter(|_| !late_changes)))
}

/// Who records pass 1's batches: a dry run's draft writer, which gives the
/// record back when it is done, or the reading thread.
enum Keeper<'s> {
    Writer {
        writer: std::thread::ScopedJoinHandle<'s, Result<(Report, Recorded)>>,
        to_writer: mpsc::SyncSender<Batch>,
        /// Batches the writer is done with.
        recycle: mpsc::Receiver<Batch>,
        /// Batches made so far.
        made: usize,
    },
    Here {
        /// Boxed: the larger variant by far, and made once a run.
        recorded: Box<Recorded>,
        spare: Batch,
    },
}

impl Keeper<'_> {
    /// An empty batch to read into: the writer's batches come back to be
    /// filled again, and no more are made than can be on their way at once
    /// (two queued, one being written), so that records keep their buffers
    /// instead of growing new ones. `None` if the writer stopped.
    fn batch(&mut self) -> Option<Batch> {
        match self {
            Keeper::Here { spare, .. } => Some(std::mem::take(spare)),
            Keeper::Writer { recycle, made, .. } if *made < 4 => {
                Some(recycle.try_recv().unwrap_or_else(|_| {
                    *made += 1;
                    Batch::default()
                }))
            }
            Keeper::Writer { recycle, .. } => recycle.recv().ok(),
        }
    }

    /// Hands a checked batch on; false if the writer stopped.
    fn checked(&mut self, ctx: &Context, mut batch: Batch) -> Result<bool> {
        match self {
            Keeper::Writer { to_writer, .. } => Ok(to_writer.send(batch).is_ok()),
            Keeper::Here { recorded, spare } => {
                recorded.batch(ctx, &batch.records, &mut batch.checks, false)?;
                *spare = batch;
                Ok(true)
            }
        }
    }
}

/// Reads the rows in batches on this thread and checks each batch in
/// parallel; the keeper records them, in order. A writer that stopped
/// stops the reading: its error is reported when it is joined.
fn read_and_check(ctx: &Context, keys: &keys::Keys, keeper: &mut Keeper) -> Result<()> {
    let person_fields: Vec<usize> = (0..ctx.mapping.fields.len())
        .filter(|&f| ctx.mapping.fields[f].kind == Kind::Person && ctx.mapping.is_bound(f))
        .collect();
    let nfields = ctx.mapping.fields.len();
    let mut rows = ctx.source.rows()?;
    loop {
        let Some(mut batch) = keeper.batch() else {
            return Ok(());
        };
        let n = fill_batch(rows.as_mut(), &mut batch.records, nfields)?;
        batch
            .records
            .par_iter()
            .map_init(
                || Vec::with_capacity(nfields),
                |spare, rec| check_row(ctx, keys, &person_fields, rec, spare),
            )
            .collect_into_vec(&mut batch.checks);
        if !keeper.checked(ctx, batch)? || n < BATCH {
            return Ok(());
        }
    }
}

/// A person cell naming no one in the file or the tenant.
fn nobody(ctx: &Context, field: usize, text: &str) -> Problem {
    let t = &ctx.info.template;
    // The vendor's own name ("SecurityTrax"), not the --target value.
    let vendor = t.title.split(' ').next().unwrap_or(t.name);
    let keys: Vec<String> = t.unique.iter().map(|u| u.to_string()).collect();
    Problem::new(
        ctx.mapping.label(field),
        format!(
            "{text:?} is nobody in this file or in {vendor} (give the {} of someone in either)",
            crate::text::and_list(&keys).replace(" and ", " or ")
        ),
    )
}

/// Follows every person reference to a row of the file or a record of the
/// tenant, refuses references to nobody and circles of references, and
/// orders the rows so that everyone is sent after the people they refer to.
/// Returns whether any verdict changed.
fn resolve_links(
    ctx: &Context,
    index: &keys::KeyIndex,
    refs: Vec<(u32, u32, Vec<PersonRef>)>,
    v: &mut Validation,
) -> bool {
    let mut changed = false;
    let mut deps: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut first_label: HashMap<(u32, u32), usize> = HashMap::new();
    let mut rows: HashMap<u32, u32> = HashMap::new();
    for (seq, row, prefs) in refs {
        rows.insert(seq, row);
        let mut links = Vec::new();
        for r in prefs {
            let link = match index.find(r.hash) {
                // The row itself or another row of the file: settled below,
                // once every row's verdict is known.
                Some((target, target_row)) => match v.verdicts.get(&target) {
                    Some(Verdict::Matched(m)) => Link::Existing(m.existing.id.clone()),
                    _ => {
                        deps.entry(seq).or_default().push(target);
                        first_label.entry((seq, target)).or_insert(r.field);
                        rows.insert(target, target_row);
                        Link::Row { seq: target, row: target_row }
                    }
                },
                None => match r.tenant {
                    Some(id) => Link::Existing(id),
                    None => {
                        let p = nobody(ctx, r.field, &r.text);
                        v.add_problem(ctx.mapping, seq, row, &p);
                        changed = true;
                        continue;
                    }
                },
            };
            links.push((r.field, link));
        }
        if !links.is_empty() {
            v.links.insert(seq, links);
        }
    }
    if deps.is_empty() {
        return changed;
    }
    let invalid: std::collections::HashSet<u32> =
        deps.values().flatten().chain(deps.keys()).copied().filter(|&s| v.is_invalid(s)).collect();
    let analysis = links::analyse(&deps, &|s| invalid.contains(&s));
    let label = |seq: u32, target: u32| {
        first_label
            .get(&(seq, target))
            .map(|&f| ctx.mapping.label(f).to_string())
            .unwrap_or_default()
    };
    for cycle in &analysis.cycles {
        let names: Vec<String> = cycle.iter().map(|s| rows[s].to_string()).collect();
        for &seq in cycle {
            let next = deps[&seq].iter().copied().find(|t| cycle.contains(t)).unwrap_or(seq);
            let message = if cycle.len() == 1 {
                "refers to this same row".to_string()
            } else {
                format!("rows {} refer to each other in a circle", crate::text::and_list(&names))
            };
            let p = Problem::new(label(seq, next), message);
            v.add_problem(ctx.mapping, seq, rows[&seq], &p);
            changed = true;
        }
    }
    let mut blocked: Vec<(&u32, &u32)> = analysis.blocked.iter().collect();
    blocked.sort();
    for (&seq, &target) in blocked {
        let p = Problem::new(
            label(seq, target),
            format!("row {}, whom this row refers to, cannot be imported", rows[&target]),
        );
        v.add_problem(ctx.mapping, seq, rows[&seq], &p);
        changed = true;
    }
    v.levels = analysis.levels;
    changed
}
