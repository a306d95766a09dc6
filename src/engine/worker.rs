//! One row's trip through the target, as a worker does it: map the row
//! again, generate a password the target needs, journal the send, let the
//! session provision it, and turn the answer into the row's outcome (while
//! keeping the circuit breaker and the abort reason).
//!
//! It does not schedule rows, order outcomes or write files: that is
//! `send` (scheduling) and `sink` (results).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::send::{Bookkeeping, SendSettings};
use super::sink::Done;
use super::{Context, Match, diff};
use crate::error::{Error, Result};
use crate::input::Record;
use crate::mapping::field::Kind;
use crate::mapping::{Problem, join_problems};
use crate::output::{Action, Status};
use crate::targets::{Change, Outcome, RowInput};
use crate::transport::Api;

/// One row for a worker.
pub(super) struct Job {
    pub seq: u32,
    pub rec: Record,
    /// The record the row matches, and the plan for it.
    pub matched: Option<Match>,
    pub people: Vec<(usize, String)>,
    /// An interrupted run sent this row without recording an outcome: if it
    /// turns out to exist now, this run created it.
    pub resumed: bool,
}

impl Job {
    /// What a matched row does. A record the interrupted run created, whose
    /// missing steps are all this row still needs, is being created.
    fn action(&self, m: &Match) -> Action {
        let finishing = self.resumed && m.finishing && m.activate.is_none();
        if finishing && m.action == Action::Update { Action::Create } else { m.action }
    }
}

/// State every worker of a run shares.
pub(super) struct Run<'a> {
    pub ctx: &'a Context<'a>,
    pub api: &'a Api,
    pub settings: &'a SendSettings,
    pub books: &'a Bookkeeping<'a>,
    pub stop: &'a AtomicBool,
    pub abort: OnceLock<(String, Option<String>)>,
    /// Rows in a row that failed because the target was unavailable.
    pub streak: AtomicU32,
}

impl Run<'_> {
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn abort(&self, message: String, hint: Option<String>) {
        let _ = self.abort.set((message, hint));
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.books.halt {
            h.store(true, Ordering::Relaxed);
        }
    }

    pub fn not_sent(&self, seq: u32) -> Done {
        let why = self.abort.get().map(|(m, _)| m.as_str()).unwrap_or("the run was stopped");
        Done::new(seq, Status::Pending, "", &format!("not sent: {why}"))
    }

    /// Runs rows through the target: maps them again (pass 1 kept only
    /// verdicts), then provisions them, together when the target sends
    /// several rows in one request (SCIM /Bulk), else one by one.
    pub fn work(&self, jobs: &[Job]) -> Vec<Done> {
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
            if job.matched.is_some() {
                ctx.mapping.map_values(&job.rec, ctx.session.refs(), &mut v, &mut problems);
            } else {
                ctx.mapping.map_row(&job.rec, ctx.session.refs(), &mut v, &mut problems);
            }
            if problems.is_empty() {
                ready.push(i);
            } else {
                // Only if the file changed between the passes.
                let cells = super::error_marks(ctx.mapping, &problems);
                out[i] = Some(Done::invalid(job.seq, &join_problems(&problems), &cells));
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
            if jobs[i].matched.is_some() {
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
                let action = jobs[i].matched.as_ref().map_or(Action::Create, |m| jobs[i].action(m));
                if let Err(e) = j.sending(jobs[i].seq, jobs[i].rec.row, action) {
                    self.abort(e.to_string(), None);
                    return jobs.iter().map(|j| self.not_sent(j.seq)).collect();
                }
            }
        }
        let input = |i: usize| RowInput {
            row: jobs[i].rec.row,
            values: &values[i],
            existing: jobs[i].matched.as_ref().map(|m| &m.existing),
            people: &jobs[i].people,
        };
        // Rows that change a record go one by one; creates (and, with
        // `--mode create`, the missing steps of records found) as a batch.
        let (changing, creating): (Vec<usize>, Vec<usize>) = ready
            .iter()
            .partition(|&&i| jobs[i].matched.as_ref().is_some_and(|m| m.action != Action::None));
        self.change_rows(jobs, &changing, &input, &mut out);
        let inputs: Vec<RowInput> = creating.iter().map(|&i| input(i)).collect();
        // Rows an interrupted run sent without an outcome: its requests may
        // still land, so the target settles them as possibly applied.
        let resumed: Vec<bool> = creating.iter().map(|&i| jobs[i].resumed).collect();
        let outcomes = match inputs.len() {
            0 => Vec::new(),
            _ if resumed.contains(&true) => {
                ctx.session.provision_resumed(self.api, &inputs, &resumed)
            }
            1 => vec![ctx.session.provision(self.api, &inputs[0])],
            _ => ctx.session.provision_batch(self.api, &inputs),
        };
        for (&i, outcome) in creating.iter().zip(outcomes) {
            // Finished now, though the interrupted run may have started it.
            let outcome = match outcome {
                Outcome::Completed { id } if jobs[i].resumed => Outcome::Created { id },
                o => o,
            };
            let d = self.settle(jobs[i].seq, outcome);
            out[i] = Some(match &jobs[i].matched {
                Some(m) => d.changes(m),
                None => d.action(Action::Create),
            });
        }
        let dones: Vec<Done> = out
            .into_iter()
            .zip(jobs)
            .map(|(d, j)| d.unwrap_or_else(|| self.not_sent(j.seq)))
            .collect();
        self.journal_done(&dones, jobs);
        dones
    }

    /// Carries out the matched rows' plans: together when the target sends
    /// such steps in bulk, else one by one.
    fn change_rows<'a>(
        &self,
        jobs: &'a [Job],
        changing: &[usize],
        input: &dyn Fn(usize) -> RowInput<'a>,
        out: &mut [Option<Done>],
    ) {
        let ctx = self.ctx;
        // A row whose fields someone else changed meanwhile is settled here
        // and sent in no batch.
        let changing: Vec<usize> = changing
            .iter()
            .copied()
            .filter(|&i| {
                let m = jobs[i].matched.as_ref().expect("partitioned on it");
                let moved = (!m.changed.is_empty()).then(|| self.meanwhile(m)).flatten();
                match moved {
                    Some(outcome) => {
                        out[i] = Some(self.changed(&jobs[i], m, outcome));
                        false
                    }
                    None => true,
                }
            })
            .collect();
        let plans: Vec<Change> = changing
            .iter()
            .map(|&i| {
                let m = jobs[i].matched.as_ref().expect("partitioned on it");
                Change {
                    row: input(i),
                    id: &m.existing.id,
                    activate: m.activate,
                    changed: &m.changed,
                    incomplete: m.existing.incomplete,
                }
            })
            .collect();
        let together =
            if plans.len() > 1 { ctx.session.change_batch(self.api, &plans) } else { None };
        match together {
            Some(outcomes) => {
                for (&i, outcome) in changing.iter().zip(outcomes) {
                    let m = jobs[i].matched.as_ref().expect("partitioned on it");
                    out[i] = Some(self.changed(&jobs[i], m, outcome));
                }
            }
            None => {
                for (&i, plan) in changing.iter().zip(&plans) {
                    let m = jobs[i].matched.as_ref().expect("partitioned on it");
                    out[i] = Some(self.change(&jobs[i], m, &plan.row));
                }
            }
        }
    }

    /// Each finished row's outcome in the journal (a row not sent because
    /// the run stopped stays unfinished, for a resume to send).
    fn journal_done(&self, dones: &[Done], jobs: &[Job]) {
        let Some(j) = self.books.journal else { return };
        for (d, job) in dones.iter().zip(jobs) {
            let l = &d.line;
            if l.status != Status::Pending
                && let Err(e) = j.done(d.seq, job.rec.row, l.status, &l.id, &l.error, d.retry)
            {
                self.abort(e.to_string(), None);
            }
        }
    }

    /// Carries out a matched row's plan: the lifecycle switch, then the
    /// changed fields, then any missing follow-up step. Stops at the first
    /// step that fails; the row's line says which.
    fn change(&self, job: &Job, m: &Match, row: &RowInput) -> Done {
        let (s, api, id) = (self.ctx.session, self.api, &m.existing.id);
        let ok = |o: &Outcome| matches!(o, Outcome::Updated { .. });
        let outcome = 'steps: {
            // A returner is let back in before their fields change; a leaver's
            // fields change (a last day, say) before access ends.
            if m.activate == Some(true) {
                let o = s.set_active(api, id, true, row);
                if !ok(&o) {
                    break 'steps o;
                }
            }
            if !m.changed.is_empty() {
                let o = s.update(api, id, row, &m.changed);
                if !ok(&o) {
                    break 'steps o;
                }
            }
            if m.activate == Some(false) {
                break 'steps s.set_active(api, id, false, row);
            }
            if m.existing.incomplete {
                break 'steps match s.provision(api, row) {
                    Outcome::Completed { id } => Outcome::Updated { id },
                    o => o,
                };
            }
            Outcome::Updated { id: id.clone() }
        };
        self.changed(job, m, outcome)
    }

    /// A matched row's line, from the outcome of its plan.
    fn changed(&self, job: &Job, m: &Match, outcome: Outcome) -> Done {
        let mut d = self.settle(job.seq, outcome);
        // A record the interrupted run created, whose missing steps are all
        // this row still needed: this import created it.
        let action = job.action(m);
        if d.line.status == Status::Updated {
            d.line.status = action.done_status();
        }
        d.line.action = action;
        d.changes(m)
    }

    /// Reads the record again before changing it: a field this row changes
    /// that someone else changed since the tenant was loaded fails the row
    /// (nothing sent) instead of being overwritten blindly. `None`: go on.
    fn meanwhile(&self, m: &Match) -> Option<Outcome> {
        let (ctx, id) = (self.ctx, &m.existing.id);
        let now = match ctx.session.current(self.api, id) {
            Ok(Some(now)) => now,
            Ok(None) => return None,
            Err(e) => return Some(Outcome::failed(Some(id.clone()), "read the record again", e)),
        };
        let moved: Vec<String> = m
            .loaded
            .iter()
            .filter_map(|c| {
                let cell = now.get(c.field)?.as_deref()?;
                let kind = ctx.mapping.fields[c.field].kind;
                let is = |v: &str| match kind {
                    // A person cell may come back as the target's id.
                    Kind::Person => {
                        diff::same(kind, cell, v) || ctx.session.person(v).as_deref() == Some(cell)
                    }
                    _ => diff::same(kind, cell, v),
                };
                (!is(&c.old) && !is(&c.new)).then(|| {
                    format!("{} is now {cell:?} (was {:?})", ctx.mapping.label(c.field), c.old)
                })
            })
            .collect();
        if moved.is_empty() {
            return None;
        }
        Some(Outcome::Failed {
            id: Some(id.clone()),
            message: format!(
                "changed in the target since this run read it: {}; not overwritten. Check the \
                 row against the target (export again), then import again to apply it",
                moved.join("; ")
            ),
            unavailable: false,
        })
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
                Done::new(seq, Status::Created, &id, "")
            }
            Outcome::Updated { id } => {
                self.streak.store(0, Ordering::Relaxed);
                Done::new(seq, Status::Updated, &id, "")
            }
            Outcome::Completed { id } => {
                self.streak.store(0, Ordering::Relaxed);
                Done { completed: true, ..Done::new(seq, Status::Exists, &id, "") }
            }
            Outcome::Failed { id, message, unavailable } => {
                if unavailable {
                    let n = self.streak.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= self.settings.max_errors {
                        self.abort(
                            format!(
                                "the target failed {} in a row ({message})",
                                crate::text::count(n, "row")
                            ),
                            Some(if crate::transport::retry::throttled_out(&message) {
                                "the target kept saying too many requests were sent: resume \
                                 with a lower --rate; rows that failed for want of an answer \
                                 are sent again"
                                    .into()
                            } else {
                                "check that the target is up, then resume: rows that failed \
                                 for want of an answer are sent again"
                                    .into()
                            }),
                        );
                    }
                } else {
                    self.streak.store(0, Ordering::Relaxed);
                }
                Done {
                    retry: unavailable,
                    ..Done::new(seq, Status::Failed, &id.unwrap_or_default(), &message)
                }
            }
            Outcome::Aborted { id, message, hint } => {
                self.abort(message, hint);
                let first = self.abort.get().map(|(m, _)| m.clone()).unwrap_or_default();
                match id {
                    Some(id) => Done {
                        retry: true,
                        ..Done::new(
                            seq,
                            Status::Failed,
                            &id,
                            &format!("stopped before finishing: {first}"),
                        )
                    },
                    None => Done::new(seq, Status::Pending, "", &format!("not sent: {first}")),
                }
            }
        }
    }
}
