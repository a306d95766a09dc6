//! TrackTik's `/batch/file` (vendor-apis.md §1.9): many operations in one
//! request with `onFailure: CONTINUE`, each operation's answer handed back
//! to the step it stands for.
//!
//! What the vendor leaves unknown is a profile option whose default is the
//! sandbox's choice: the path (`batch_path`), the key of the operations
//! array (`batch_operations_key`) and of the answer's results
//! (`batch_results_key`, one result per operation, in order, each with the
//! operation's HTTP `status` and its record in `data` or its error in
//! `message`/`errors`). It only builds operations and reads answers; which
//! steps a row needs, and what to do with a step the batch did not settle,
//! is the session's.

use std::sync::{Mutex, OnceLock};

use serde_json::{Value as Json, json};

use super::API;
use crate::targets::Options;
use crate::transport::errors::generic_message;
use crate::transport::{Api, ApiError, Request};

/// How a batch answered one operation.
#[derive(Debug)]
pub(super) enum Answer {
    /// Applied; the record it answered with.
    Done(Json),
    /// Refused by the vendor, alone: the row fails with this.
    Failed(ApiError),
    /// Not applied (the endpoint or the batch was refused as a whole):
    /// send it singly.
    NotSent,
    /// No answer: it may or may not have been applied, so look before
    /// sending it again.
    Unknown,
    /// The run must stop.
    Abort(ApiError),
}

/// The batch settings and what happened to batches in this run.
pub(super) struct Batcher {
    /// Operations per call; 1 or less: no batches.
    size: usize,
    path: String,
    ops_key: String,
    results_key: String,
    /// Role assignments ride in batches as CREATE on `user-roles`.
    pub roles: bool,
    /// Why the tenant refused the endpoint: from then on, one request per
    /// step (said once, in the run's notes).
    refused: OnceLock<String>,
    /// (calls answered, operations in them).
    sent: Mutex<(usize, usize)>,
}

impl Batcher {
    pub fn new(options: &Options) -> Batcher {
        let path = options.string("batch_path");
        Batcher {
            size: options.int("batch_size").max(0) as usize,
            path: if path.starts_with('/') { path } else { format!("/{path}") },
            ops_key: options.string("batch_operations_key"),
            results_key: options.string("batch_results_key"),
            roles: options.bool("batch_roles"),
            refused: OnceLock::new(),
            sent: Mutex::new((0, 0)),
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether steps go in batches now.
    pub fn on(&self) -> bool {
        self.size > 1 && self.refused.get().is_none()
    }

    /// Sends `ops` in calls of at most `size` operations; one answer per
    /// operation, in order.
    pub fn run(&self, api: &Api, ops: Vec<Json>) -> Vec<Answer> {
        let mut out = Vec::with_capacity(ops.len());
        let mut ops = ops.into_iter().peekable();
        while ops.peek().is_some() {
            let chunk: Vec<Json> = ops.by_ref().take(self.size.max(1)).collect();
            if !self.on() {
                out.extend(chunk.iter().map(|_| Answer::NotSent));
                continue;
            }
            out.extend(self.call(api, chunk));
        }
        out
    }

    /// One `/batch/file` call.
    fn call(&self, api: &Api, chunk: Vec<Json>) -> Vec<Answer> {
        let n = chunk.len();
        let mut body = serde_json::Map::new();
        body.insert("onFailure".into(), json!("CONTINUE"));
        body.insert(self.ops_key.clone(), Json::Array(chunk));
        let req = Request::post(format!("{API}{}", self.path), Json::Object(body));
        let every = |a: &dyn Fn() -> Answer| (0..n).map(|_| a()).collect::<Vec<_>>();
        match api.send(&req) {
            Ok(r) => {
                let mut s = self.sent.lock().unwrap_or_else(|e| e.into_inner());
                s.0 += 1;
                s.1 += n;
                drop(s);
                self.read(&r.body, n)
            }
            // The tenant does not offer the endpoint (or not to this
            // account): nothing was applied; one request per step from now.
            Err(ApiError::Status { status: status @ 403..=405, message }) => {
                let _ = self.refused.set(format!("{message} (HTTP {status})"));
                every(&|| Answer::NotSent)
            }
            // Refused whole (too large, malformed): nothing was applied.
            Err(ApiError::Status { .. }) => every(&|| Answer::NotSent),
            Err(ApiError::Unavailable(_)) => every(&|| Answer::Unknown),
            Err(e @ ApiError::Abort { .. }) => every(&|| Answer::Abort(e.clone())),
        }
    }

    /// The answer's results, by position (or by `index` where given); an
    /// operation the answer leaves out may have been applied.
    fn read(&self, body: &Json, n: usize) -> Vec<Answer> {
        let mut out: Vec<Answer> = (0..n).map(|_| Answer::Unknown).collect();
        let results = body.get(&self.results_key).and_then(Json::as_array);
        for (k, res) in results.into_iter().flatten().enumerate() {
            let i = res.get("index").and_then(Json::as_u64).map_or(k, |i| i as usize);
            if i >= n {
                continue;
            }
            let status = res.get("status").and_then(Json::as_u64).unwrap_or(0) as u16;
            out[i] = match status {
                200..=299 => Answer::Done(res.get("data").cloned().unwrap_or(Json::Null)),
                // Skipped or rolled back: not applied.
                0 => Answer::NotSent,
                // As for a single request: the server failed, and may have
                // applied it (TrackTik answers some unique clashes 500).
                500..=599 => Answer::Unknown,
                _ => Answer::Failed(ApiError::Status { status, message: generic_message(res) }),
            };
        }
        out
    }

    /// For the run's end: how many calls carried how many operations, and
    /// whether the tenant refused the endpoint.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let (calls, ops) = *self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if calls > 0 {
            notes.push(format!(
                "{ops} operations went in {calls} {} request{}",
                self.path,
                if calls == 1 { "" } else { "s" }
            ));
        }
        if let Some(why) = self.refused.get() {
            notes.push(format!(
                "TrackTik refused {API}{}: {why}; hrport sent one request per step instead \
                 (set batch_size = 1 in the profile's [options] to skip the attempt)",
                self.path
            ));
        }
        notes
    }
}

/// `CREATE` of a record of `resource`.
pub(super) fn create(resource: &str, data: Json) -> Json {
    json!({"action": "CREATE", "resource": resource, "data": data})
}

/// `UPDATE` of record `id` of `resource`.
pub(super) fn update(resource: &str, id: &str, data: Json) -> Json {
    json!({"action": "UPDATE", "resource": resource, "lookup": {"id": crate::targets::id_json(id)}, "data": data})
}

/// `EXECUTE` of an employee's action.
pub(super) fn execute(id: &str, action: &str, data: Json) -> Json {
    json!({
        "action": "EXECUTE", "resource": "employees", "actionName": action,
        "lookup": {"id": crate::targets::id_json(id)}, "data": data
    })
}
