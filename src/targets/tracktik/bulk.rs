//! Which steps of which TrackTik rows ride in `/batch/file` calls, and the
//! single requests for what a batch did not settle.
//!
//! New employees go first, 50 creates a call; their follow-ups (the role,
//! as a CREATE on `user-roles`, and the force-password-change action) need
//! the new ids, which a CONTINUE batch has no documented way to refer to, so
//! they go in the next calls, together with those of employees an earlier
//! run left unfinished. A batch whose answer was lost is settled by looking
//! its rows up together (`customId:in`, `email:in`, `user:in`), adopting
//! what it applied and sending the rest once more in a batch; what is still
//! unsettled then goes one request each, looked up first. The steps of a
//! batch the tenant refused as a whole go one request each.
//!
//! Matched rows (updates, terminations, unfinished employees) go in waves:
//! each wave carries the next step of every row still going, so a row's
//! steps keep the engine's order (fields, region, role, terminate, the
//! missing follow-ups) and a row stops at its first failed step, as it
//! would one request at a time. It sends nothing itself but through `Api`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;

use serde_json::{Value as Json, json};

use super::batch::{self, Answer};
use super::{API, EMAIL, EMPLOYEE_ID, FIELDS, FORCE_PASSWORD_CHANGE, REGION, ROLE, Tt, UPDATABLE};
use crate::mapping::Value;
use crate::targets::{Change, Outcome, RowInput, Session, id_json, id_text, payload};
use crate::transport::{Api, ApiError, Request};

/// A step of a row that a batch carries: the row, the step's name (as
/// messages say it) and its operation.
type Step = (usize, &'static str, serde_json::Value);

impl Tt {
    /// Creates the rows without a record and finishes every row's
    /// follow-ups, in batches; one outcome per row, in order. A `resumed`
    /// row's create is settled as one whose answer was lost (an interrupted
    /// run's request may still land), and a refusal of its follow-ups is
    /// checked alone.
    pub(super) fn provision_bulk(
        &self,
        api: &Api,
        rows: &[RowInput],
        resumed: &[bool],
    ) -> Vec<Outcome> {
        let mut ids: Vec<Option<String>> =
            rows.iter().map(|r| r.existing.map(|e| e.id.clone())).collect();
        let mut failed: Vec<Option<Outcome>> = rows.iter().map(|_| None).collect();
        let (new, mut lost): (Vec<usize>, Vec<usize>) =
            (0..rows.len()).filter(|&i| rows[i].existing.is_none()).partition(|&i| !resumed[i]);
        let ops = new
            .iter()
            .map(|&i| batch::create("employees", payload(FIELDS, rows[i].values, &self.refs)))
            .collect();
        for (&i, answer) in new.iter().zip(self.batch.run(api, ops)) {
            if let Answer::Unknown = answer {
                lost.push(i);
                continue;
            }
            match self.created(api, rows[i].values, answer) {
                Ok(id) => ids[i] = Some(id),
                Err(o) => failed[i] = Some(o),
            }
        }
        for (i, settled) in self.settle_lost(api, rows, &lost) {
            match settled {
                Ok(id) => ids[i] = Some(id),
                Err(o) => failed[i] = Some(o),
            }
        }
        let steps = self.follow_ups_bulk(api, rows, &ids, resumed);
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                if let Some(o) = failed[i].take() {
                    return o;
                }
                let id = ids[i].clone().unwrap_or_default();
                match (&steps[i], r.existing) {
                    (Ok(()), None) => Outcome::Created { id },
                    (Ok(()), Some(_)) => Outcome::Completed { id },
                    (Err((step, e)), None) => unfinished(id, step, e.clone()),
                    (Err((step, e)), Some(_)) => Outcome::failed(Some(id), step, e.clone()),
                }
            })
            .collect()
    }

    /// The id a batch's answer to a create gives, or the row's outcome; a
    /// create the batch did not settle is sent singly (after a look-up when
    /// it may have been applied).
    fn created(&self, api: &Api, values: &[Value], answer: Answer) -> Result<String, Outcome> {
        match answer {
            Answer::Done(data) => data.get("id").and_then(id_text).ok_or(Outcome::Failed {
                id: None,
                message: "create employee: the batch answer gives no id".into(),
                unavailable: false,
            }),
            Answer::Failed(e) | Answer::Abort(e) => {
                Err(Outcome::failed(None, "create employee", e))
            }
            Answer::NotSent => self.create_one(api, values, false),
            Answer::Unknown => self.create_one(api, values, true),
        }
    }

    /// Creates a batch may have applied without an answer: looked up
    /// together (one request per 50 keys) and the ones found adopted; the
    /// rest go in one more batch, and what that leaves unsettled goes one
    /// request each, looked up first.
    fn settle_lost(
        &self,
        api: &Api,
        rows: &[RowInput],
        lost: &[usize],
    ) -> Vec<(usize, Result<String, Outcome>)> {
        let mut out = Vec::new();
        if lost.is_empty() {
            return out;
        }
        let found = match self.find_many(api, rows, lost) {
            Ok(found) => found,
            // Each row looks itself up instead.
            Err(_) => {
                return lost
                    .iter()
                    .map(|&i| (i, self.create_one(api, rows[i].values, true)))
                    .collect();
            }
        };
        let mut again = Vec::new();
        for &i in lost {
            match found.get(&i) {
                Some(id) => {
                    api.stats().recovered.fetch_add(1, Ordering::Relaxed);
                    out.push((i, Ok(id.clone())));
                }
                // A key the look-up cannot carry: looked up alone.
                None if !keyed(rows[i].values) => {
                    out.push((i, self.create_one(api, rows[i].values, true)));
                }
                None => again.push(i),
            }
        }
        let ops = again
            .iter()
            .map(|&i| batch::create("employees", payload(FIELDS, rows[i].values, &self.refs)))
            .collect();
        for (&i, answer) in again.iter().zip(self.batch.run(api, ops)) {
            let settled = match answer {
                // The lost batch may have been applied meanwhile (it may
                // have waited its turn on the server): look again, alone.
                Answer::Failed(_) => self.create_one(api, rows[i].values, true),
                a => self.created(api, rows[i].values, a),
            };
            out.push((i, settled));
        }
        out
    }

    /// The employees (not terminated) that these rows' Employee ID, else
    /// Email, find: `customId:in=` and `email:in=` look-ups of 50 keys.
    fn find_many(
        &self,
        api: &Api,
        rows: &[RowInput],
        idx: &[usize],
    ) -> Result<HashMap<usize, String>, ApiError> {
        let mut found: HashMap<usize, String> = HashMap::new();
        for (key, field) in [(EMPLOYEE_ID, "customId"), (EMAIL, "email")] {
            let want: Vec<(usize, &str)> = idx
                .iter()
                .filter(|i| !found.contains_key(i))
                .filter_map(|&i| Some((i, rows[i].values[key].text()?)))
                .filter(|(_, k)| !k.contains(','))
                .collect();
            let filter = format!("{field}:in");
            for chunk in want.chunks(50) {
                let list: Vec<&str> = chunk.iter().map(|(_, k)| *k).collect();
                let q = [
                    (filter.as_str(), list.join(",")),
                    ("fields", "id,customId,email,status".to_string()),
                    ("limit", "1000".to_string()),
                ];
                let body = api.get(&format!("{API}/employees"), &q)?;
                for e in body.get("data").and_then(Json::as_array).into_iter().flatten() {
                    let status =
                        e.get("status").and_then(Json::as_str).unwrap_or("").to_ascii_uppercase();
                    let (Some(id), Some(have)) =
                        (e.get("id").and_then(id_text), e.get(field).and_then(id_text))
                    else {
                        continue;
                    };
                    if self.terminated.contains(&status) {
                        continue;
                    }
                    // Checked here: a server that ignored the filter must
                    // not make a row adopt someone else's record.
                    for (i, _) in chunk.iter().filter(|(_, k)| k.eq_ignore_ascii_case(&have)) {
                        found.insert(*i, id.clone());
                    }
                }
            }
        }
        Ok(found)
    }

    /// Every row's missing follow-ups (the role, the password change) for
    /// the rows with an id; `Err` names the first step that failed.
    fn follow_ups_bulk(
        &self,
        api: &Api,
        rows: &[RowInput],
        ids: &[Option<String>],
        resumed: &[bool],
    ) -> Vec<Result<(), (&'static str, ApiError)>> {
        let mut done: Vec<Result<(), (&'static str, ApiError)>> =
            rows.iter().map(|_| Ok(())).collect();
        let mut steps: Vec<Step> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let Some(id) = &ids[i] else { continue };
            if let Some(role) = self.ref_id("role", &r.values[ROLE])
                && !self.has_role.contains(id)
            {
                if self.batch.roles {
                    let ur = json!({"user": id_json(id), "role": id_json(&role)});
                    steps.push((i, "assign role", batch::create("user-roles", ur)));
                } else if let Err(e) = self.assign_role(api, id, &role) {
                    done[i] = Err(("assign role", e));
                    continue;
                }
            }
            if r.values[FORCE_PASSWORD_CHANGE] == Value::Bool(true) {
                let op = batch::execute(id, "force-password-change", json!({}));
                steps.push((i, "force password change", op));
            }
        }
        let mut singly: Vec<usize> = Vec::new();
        for attempt in 0..2 {
            let ops = steps.iter().map(|(_, _, op)| op.clone()).collect();
            let mut again: Vec<Step> = Vec::new();
            for (step, answer) in steps.into_iter().zip(self.batch.run(api, ops)) {
                let i = step.0;
                match answer {
                    Answer::Done(_) => {}
                    // Sent again after a lost batch (or an interrupted
                    // run), which may have been applied meanwhile: settled
                    // alone.
                    Answer::Failed(_) if attempt == 1 || resumed[i] => singly.push(i),
                    Answer::Failed(e) | Answer::Abort(e) => {
                        if done[i].is_ok() {
                            done[i] = Err((step.1, e));
                        }
                    }
                    Answer::NotSent => singly.push(i),
                    Answer::Unknown => again.push(step),
                }
            }
            steps = Vec::new();
            if again.is_empty() {
                break;
            }
            if attempt == 1 {
                singly.extend(again.iter().map(|s| s.0));
                break;
            }
            // Roles the lost batch may have assigned, read back together;
            // a password change may simply go twice.
            match self.roles_held(api, &again, ids) {
                Ok(held) => {
                    steps = again
                        .into_iter()
                        .filter(|s| !(s.1 == "assign role" && held.contains(&s.0)))
                        .collect();
                }
                Err(_) => singly.extend(again.iter().map(|s| s.0)),
            }
        }
        singly.sort_unstable();
        singly.dedup();
        for i in singly {
            // Both steps settle a lost answer themselves: a role already
            // held is read back, and a password change may go twice.
            if done[i].is_ok()
                && let Some(id) = &ids[i]
            {
                done[i] = self.follow_up(api, rows[i].values, id);
            }
        }
        done
    }
}

impl Tt {
    /// The rows whose role step is done already: the employee holds the
    /// very role the step assigns (`user:in=` look-ups of 50 ids).
    fn roles_held(
        &self,
        api: &Api,
        steps: &[Step],
        ids: &[Option<String>],
    ) -> Result<HashSet<usize>, ApiError> {
        let wanted: Vec<(usize, String, String)> = steps
            .iter()
            .filter(|s| s.1 == "assign role")
            .filter_map(|s| {
                let role = s.2.pointer("/data/role").and_then(id_text)?;
                Some((s.0, ids[s.0].clone()?, role))
            })
            .collect();
        let mut held = HashSet::new();
        for chunk in wanted.chunks(50) {
            let users: Vec<&str> = chunk.iter().map(|(_, u, _)| u.as_str()).collect();
            let q = [("user:in", users.join(",")), ("limit", "1000".to_string())];
            let body = api.get(&format!("{API}/user-roles"), &q)?;
            for ur in body.get("data").and_then(Json::as_array).into_iter().flatten() {
                let (user, role) =
                    (ur.get("user").and_then(id_text), ur.get("role").and_then(id_text));
                for (i, u, r) in chunk {
                    if user.as_deref() == Some(u.as_str()) && role.as_deref() == Some(r.as_str()) {
                        held.insert(*i);
                    }
                }
            }
        }
        Ok(held)
    }
}

/// Whether a look-up of many rows can carry this row's keys.
fn keyed(values: &[Value]) -> bool {
    [EMPLOYEE_ID, EMAIL].iter().any(|&k| values[k].text().is_some_and(|t| !t.contains(',')))
}

/// A row whose employee was created but whose step `step` failed: kept
/// with its id, so importing it again finishes it instead of creating it.
pub(super) fn unfinished(id: String, step: &str, e: ApiError) -> Outcome {
    match Outcome::failed(Some(id), step, e) {
        Outcome::Failed { id, message, unavailable } => Outcome::Failed {
            message: format!(
                "{message}; employee {} was created: import this row again to finish it",
                id.as_deref().unwrap_or("?")
            ),
            id,
            unavailable,
        },
        other => other,
    }
}

/// One step of a matched row's plan, in the order the engine takes them.
enum Kind {
    /// The changed employee fields, as an update's body.
    Fields(Json),
    Region(String),
    Role(String),
    Terminate(Json),
    /// The missing follow-ups; `role`: the role is one of them (not when a
    /// Role step of the same plan sets it).
    FollowUps {
        role: bool,
    },
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Fields(_) => "update employee",
            Kind::Region(_) => "move to region",
            Kind::Role(_) => "change role",
            Kind::Terminate(_) => "terminate employee",
            Kind::FollowUps { .. } => "finish employee",
        }
    }
}

/// A matched row's steps still to do, the ones done, and its outcome once
/// known.
struct Plan {
    steps: VecDeque<Kind>,
    done: Vec<&'static str>,
    outcome: Option<Outcome>,
}

/// How one wave's operations of a row went.
enum Wave {
    Ok,
    Failed(&'static str, ApiError),
    Unsettled,
}

impl Tt {
    /// Matched rows' plans in waves: each wave carries the next step of
    /// every row still going, in batches, so a row's steps keep their
    /// order and a row stops at its first failed step.
    pub(super) fn change_bulk(&self, api: &Api, rows: &[Change]) -> Vec<Outcome> {
        let mut plans: Vec<Plan> = rows.iter().map(|c| self.plan(api, c)).collect();
        loop {
            let mut ops: Vec<Json> = Vec::new();
            let mut owner: Vec<(usize, &'static str)> = Vec::new();
            let mut wave: Vec<usize> = Vec::new();
            for (i, p) in plans.iter_mut().enumerate() {
                let Some(step) = p.steps.front().filter(|_| p.outcome.is_none()) else {
                    continue;
                };
                match self.step_ops(&rows[i], step) {
                    Some(list) => {
                        wave.push(i);
                        for (name, op) in list {
                            ops.push(op);
                            owner.push((i, name));
                        }
                    }
                    // A step that cannot ride in a batch: it and the rest.
                    None => p.outcome = Some(self.rest_singly(api, &rows[i], p, false)),
                }
            }
            if wave.is_empty() {
                break;
            }
            let mut went: Vec<Wave> = rows.iter().map(|_| Wave::Ok).collect();
            for ((i, name), answer) in owner.into_iter().zip(self.batch.run(api, ops)) {
                match answer {
                    Answer::Done(_) => {}
                    Answer::Failed(e) | Answer::Abort(e) => {
                        if !matches!(went[i], Wave::Failed(..)) {
                            went[i] = Wave::Failed(name, e);
                        }
                    }
                    Answer::NotSent | Answer::Unknown => {
                        if matches!(went[i], Wave::Ok) {
                            went[i] = Wave::Unsettled;
                        }
                    }
                }
            }
            for i in wave {
                let p = &mut plans[i];
                match std::mem::replace(&mut went[i], Wave::Ok) {
                    Wave::Ok => {
                        let step = p.steps.pop_front().expect("in the wave");
                        p.done.push(step.name());
                    }
                    Wave::Failed(name, e) => {
                        p.outcome = Some(failed_after(rows[i].id, name, e, &p.done));
                    }
                    Wave::Unsettled => p.outcome = Some(self.rest_singly(api, &rows[i], p, true)),
                }
            }
        }
        plans
            .into_iter()
            .zip(rows)
            .map(|(p, c)| p.outcome.unwrap_or_else(|| Outcome::Updated { id: c.id.to_string() }))
            .collect()
    }

    /// A matched row's steps, or its outcome when it cannot go (a value
    /// TrackTik does not know, a reactivation its API does not offer).
    fn plan(&self, api: &Api, c: &Change) -> Plan {
        let mut p = Plan { steps: VecDeque::new(), done: Vec::new(), outcome: None };
        let values = c.row.values;
        let fail = |message: String| {
            Some(Outcome::Failed { id: Some(c.id.to_string()), message, unavailable: false })
        };
        if c.activate == Some(true) {
            match self.set_active(api, c.id, true, &c.row) {
                Outcome::Updated { .. } => {}
                o => p.outcome = Some(o),
            }
            if p.outcome.is_some() {
                return p;
            }
        }
        if let Some(&f) = c.changed.iter().find(|f| !UPDATABLE.contains(f)) {
            p.outcome =
                fail(format!("{} cannot be changed through TrackTik's API", FIELDS[f].column));
            return p;
        }
        let mut fields = vec![Value::Empty; FIELDS.len()];
        for &f in c.changed.iter().filter(|&&f| f != REGION && f != ROLE) {
            fields[f] = values[f].clone();
        }
        let body = payload(FIELDS, &fields, &self.refs);
        if body.as_object().is_some_and(|o| !o.is_empty()) {
            if let Err(e) = &self.update_method {
                p.outcome = fail(e.clone());
                return p;
            }
            p.steps.push_back(Kind::Fields(body));
        }
        if c.changed.contains(&REGION) {
            match self.ref_id("region", &values[REGION]) {
                Some(r) => p.steps.push_back(Kind::Region(r)),
                None => p.outcome = fail("Region: not a region of this TrackTik".into()),
            }
        }
        if c.changed.contains(&ROLE) && p.outcome.is_none() {
            match self.ref_id("role", &values[ROLE]) {
                Some(r) => p.steps.push_back(Kind::Role(r)),
                None => p.outcome = fail("Role: not a role of this TrackTik".into()),
            }
        }
        if c.activate == Some(false) && p.outcome.is_none() {
            match self.termination(values) {
                Ok(b) => p.steps.push_back(Kind::Terminate(b)),
                Err(m) => p.outcome = fail(m),
            }
        }
        // As the engine does: a termination ends the row's steps.
        if c.incomplete && c.activate != Some(false) {
            p.steps.push_back(Kind::FollowUps { role: !c.changed.contains(&ROLE) });
        }
        p
    }

    /// A step's operations (none: nothing to do); `None` when it goes as
    /// single requests.
    fn step_ops(&self, c: &Change, step: &Kind) -> Option<Vec<(&'static str, Json)>> {
        let id = c.id;
        let name = step.name();
        Some(match step {
            Kind::Fields(body) => vec![(name, batch::update("employees", id, body.clone()))],
            Kind::Region(r) => {
                let op = batch::execute(id, "move-to-region", json!({"region": id_json(r)}));
                vec![(name, op)]
            }
            Kind::Role(r) if self.batch.roles => match self.user_role.get(id) {
                Some((_, current)) if current == r => Vec::new(),
                Some((ur, _)) => {
                    vec![(name, batch::update("user-roles", ur, json!({"role": id_json(r)})))]
                }
                None if !self.has_role.contains(id) => {
                    let ur = json!({"user": id_json(id), "role": id_json(r)});
                    vec![(name, batch::create("user-roles", ur))]
                }
                None => return None,
            },
            Kind::Role(_) => return None,
            Kind::Terminate(body) => vec![(name, batch::execute(id, "terminate", body.clone()))],
            Kind::FollowUps { role } => {
                let mut ops = Vec::new();
                if let Some(r) = self.ref_id("role", &c.row.values[ROLE])
                    && *role
                    && !self.has_role.contains(id)
                {
                    if !self.batch.roles {
                        return None;
                    }
                    let ur = json!({"user": id_json(id), "role": id_json(&r)});
                    ops.push(("assign role", batch::create("user-roles", ur)));
                }
                if c.row.values[FORCE_PASSWORD_CHANGE] == Value::Bool(true) {
                    let op = batch::execute(id, "force-password-change", json!({}));
                    ops.push(("force password change", op));
                }
                ops
            }
        })
    }

    /// The plan's remaining steps, one request each; `maybe_sent`: the
    /// first may have been applied by a batch whose answer was lost.
    fn rest_singly(&self, api: &Api, c: &Change, p: &mut Plan, maybe_sent: bool) -> Outcome {
        let mut maybe_sent = maybe_sent;
        while let Some(step) = p.steps.pop_front() {
            if let Err((name, e)) = self.single(api, c, &step, maybe_sent) {
                return failed_after(c.id, name, e, &p.done);
            }
            p.done.push(step.name());
            maybe_sent = false;
        }
        Outcome::Updated { id: c.id.to_string() }
    }

    /// One step as its own request(s).
    fn single(
        &self,
        api: &Api,
        c: &Change,
        step: &Kind,
        maybe_sent: bool,
    ) -> Result<(), (&'static str, ApiError)> {
        let id = c.id;
        let name = step.name();
        match step {
            Kind::Fields(body) => {
                let method = self
                    .update_method
                    .clone()
                    .map_err(|m| (name, ApiError::Status { status: 400, message: m }))?;
                let path = format!("{API}/employees/{id}");
                // Absolute values: sending them twice is harmless.
                let req = Request { method, ..Request::patch(path, body.clone()) }.repeatable();
                api.send(&req).map(|_| ()).map_err(|e| (name, e))
            }
            Kind::Region(r) => {
                let req = Request::post(
                    format!("{API}/employees/{id}/actions/move-to-region"),
                    json!({"region": id_json(r)}),
                )
                .repeatable();
                api.send(&req).map(|_| ()).map_err(|e| (name, e))
            }
            Kind::Role(r) => self.change_role(api, id, r).map_err(|e| (name, e)),
            Kind::Terminate(body) => {
                self.send_terminate(api, id, body.clone(), maybe_sent).map_err(|e| (name, e))
            }
            Kind::FollowUps { .. } => self.follow_up(api, c.row.values, id),
        }
    }
}

/// A step that failed after others of the row were done: says which were,
/// since the record is partly changed and importing the row again
/// finishes it.
fn failed_after(id: &str, step: &str, e: ApiError, done: &[&str]) -> Outcome {
    match Outcome::failed(Some(id.to_string()), step, e) {
        Outcome::Failed { id, message, unavailable } if !done.is_empty() => Outcome::Failed {
            id,
            message: format!("{message}; already done: {}", done.join(", ")),
            unavailable,
        },
        other => other,
    }
}
