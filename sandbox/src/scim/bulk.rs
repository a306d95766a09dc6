//! Bulk (RFC 7644 §3.7): many operations in one request, each run through
//! the same code as its endpoint, with `bulkId:` references resolved to the
//! ids of resources created earlier in the request. Operations wait for the
//! ones they reference, so a forward reference works; a circle of
//! references is refused with 409 (which §3.7.2 allows) rather than broken.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use super::schema::get_ci;
use super::{Kind, ScimError, Sim, SimRequest, SimResponse, scim};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const MARK: &str = "bulkId:";

/// What became of one operation's bulkId.
enum Resolved {
    Created(String),
    Failed,
}

impl Sim {
    pub(super) fn bulk(&mut self, req: &SimRequest) -> Result<SimResponse, ScimError> {
        if !self.bulk_supported {
            return Err(ScimError::not_implemented("bulk operations are not supported"));
        }
        if req.body.len() > self.bulk_max_payload {
            return Err(ScimError::new(
                413,
                None,
                format!(
                    "the request has {} bytes; maxPayloadSize is {}",
                    req.body.len(),
                    self.bulk_max_payload
                ),
            ));
        }
        let body = Self::body(req)?;
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax("a bulk body is a BulkRequest object"));
        };
        let listed = get_ci(obj, "schemas").and_then(Json::as_array).is_some_and(|s| {
            s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST)))
        });
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "a bulk body's \"schemas\" must be [\"{BULK_REQUEST}\"]"
            )));
        }
        let Some(ops) = get_ci(obj, "Operations").and_then(Json::as_array) else {
            return Err(ScimError::invalid_syntax("a bulk body needs \"Operations\""));
        };
        if ops.len() > self.bulk_max_operations {
            return Err(ScimError::new(
                413,
                None,
                format!(
                    "the request has {} operations; maxOperations is {}",
                    ops.len(),
                    self.bulk_max_operations
                ),
            ));
        }
        let fail_on_errors = match get_ci(obj, "failOnErrors") {
            None | Some(Json::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n as usize),
                _ => {
                    return Err(ScimError::invalid_value("failOnErrors must be an integer from 1"));
                }
            },
        };
        let results = self.run_bulk(ops, fail_on_errors);
        Ok(scim(200, json!({"schemas": [BULK_RESPONSE], "Operations": results})))
    }

    /// Runs the operations in request order, each as soon as the bulkIds it
    /// references are resolved; answers them in request order. With
    /// `failOnErrors`, stops after that many failures and answers only the
    /// operations that ran.
    fn run_bulk(&mut self, ops: &[Json], fail_on_errors: Option<usize>) -> Vec<Json> {
        let bulk_id = |op: &Json| {
            op.as_object()
                .and_then(|o| get_ci(o, "bulkId"))
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        let mut declared: HashMap<String, usize> = HashMap::new();
        for (n, op) in ops.iter().enumerate() {
            if let Some(b) = bulk_id(op) {
                declared.entry(b).or_insert(n);
            }
        }
        let refs: Vec<Vec<String>> = ops.iter().map(|op| references(op, &mut Vec::new())).collect();
        let mut resolved: HashMap<String, Resolved> = HashMap::new();
        let mut results: Vec<Option<Json>> = vec![None; ops.len()];
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        let mut errors = 0;
        let stopped = |errors: usize| fail_on_errors.is_some_and(|f| errors >= f);
        while !pending.is_empty() && !stopped(errors) {
            let mut waiting = Vec::new();
            let mut progressed = false;
            for &n in &pending {
                if stopped(errors) {
                    break;
                }
                let op = &ops[n];
                let own = bulk_id(op);
                let unusable = refs[n].iter().find(|r| {
                    declared.get(*r).is_none_or(|&d| d == n)
                        || matches!(resolved.get(*r), Some(Resolved::Failed))
                });
                let result = if let Some(r) = unusable {
                    let why = match declared.get(r) {
                        None => format!("no operation has bulkId {r}"),
                        Some(&d) if d == n => format!("the operation refers to its own bulkId {r}"),
                        Some(_) => format!("the operation with bulkId {r} failed"),
                    };
                    Err(ScimError::new(409, None, why))
                } else if refs[n]
                    .iter()
                    .all(|r| matches!(resolved.get(r), Some(Resolved::Created(_))))
                {
                    self.bulk_one(op, &resolved)
                } else {
                    waiting.push(n);
                    continue;
                };
                progressed = true;
                let target = self.target_location(op, &resolved);
                let (json, created) = describe(op, result, target);
                if created.is_none() {
                    errors += 1;
                }
                if let Some(b) = own.filter(|b| declared.get(b) == Some(&n)) {
                    resolved.insert(b, created.map_or(Resolved::Failed, Resolved::Created));
                }
                results[n] = Some(json);
            }
            pending = waiting;
            if !progressed {
                // What is left waits on itself: a circle of references.
                for &n in &pending {
                    if stopped(errors) {
                        break;
                    }
                    let e = ScimError::new(409, None, "circular bulkId references");
                    results[n] = Some(describe(&ops[n], Err(e), None).0);
                    errors += 1;
                }
                break;
            }
        }
        results.into_iter().flatten().collect()
    }

    /// One operation. Answers (status, location, version) or an error.
    fn bulk_one(
        &mut self,
        op: &Json,
        resolved: &HashMap<String, Resolved>,
    ) -> Result<Outcome, ScimError> {
        let Some(o) = op.as_object() else {
            return Err(ScimError::invalid_syntax("an operation is a JSON object"));
        };
        let method = get_ci(o, "method")
            .and_then(Json::as_str)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        let Some(path) = get_ci(o, "path").and_then(Json::as_str) else {
            return Err(ScimError::invalid_syntax("an operation needs a \"path\""));
        };
        let path = substitute(&Json::String(path.into()), resolved);
        let path = path.as_str().unwrap_or_default();
        let data = get_ci(o, "data").map(|d| substitute(d, resolved));
        let version = get_ci(o, "version").and_then(Json::as_str).filter(|_| self.etag_supported);
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let kind = segs.first().and_then(|s| Kind::from_endpoint(s));
        let Some(kind) = kind else {
            return Err(ScimError::invalid_path(format!("{path}: not /Users or /Groups")));
        };
        let need_data = || {
            data.clone()
                .ok_or_else(|| ScimError::invalid_syntax(format!("{method} needs \"data\"")))
        };
        let i = match (method.as_str(), segs.as_slice()) {
            ("POST", [_]) => {
                if get_ci(o, "bulkId").and_then(Json::as_str).is_none() {
                    return Err(ScimError::invalid_value("a POST operation needs a \"bulkId\""));
                }
                let i = self.create(kind, &need_data()?)?;
                return Ok(self.outcome(kind, i, 201));
            }
            ("PUT", [_, id]) => self.replace(kind, id, &need_data()?, version)?,
            ("PATCH", [_, id]) => self.patch(kind, id, &need_data()?, version)?,
            ("DELETE", [_, id]) => {
                self.delete(kind, id, version)?;
                return Ok(Outcome {
                    status: 204,
                    id: id.to_string(),
                    location: self.location(kind, id),
                    version: None,
                });
            }
            ("POST" | "PUT" | "PATCH" | "DELETE", _) => {
                return Err(ScimError::invalid_path(format!("{method} {path}: no such endpoint")));
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "\"method\" must be POST, PUT, PATCH or DELETE, not {method:?}"
                )));
            }
        };
        Ok(self.outcome(kind, i, 200))
    }

    /// Where a PUT, PATCH or DELETE operation points (`/Users/{id}`), with
    /// its bulkIds resolved.
    fn target_location(&self, op: &Json, resolved: &HashMap<String, Resolved>) -> Option<String> {
        let path = op.as_object().and_then(|o| get_ci(o, "path"))?;
        let path = substitute(path, resolved);
        let segs: Vec<&str> = path.as_str()?.split('/').filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            [ep, id] if !id.starts_with(MARK) => Some(self.location(Kind::from_endpoint(ep)?, id)),
            _ => None,
        }
    }

    fn outcome(&self, kind: Kind, i: usize, status: u16) -> Outcome {
        let id = self.stores[kind.idx()].items[i].id.clone();
        let version =
            self.etag_supported.then(|| self.version(kind, i, &self.memberships(&[kind])));
        Outcome { status, location: self.location(kind, &id), id, version }
    }
}

struct Outcome {
    status: u16,
    id: String,
    location: String,
    version: Option<String>,
}

/// The BulkResponse entry for an operation, and the id it created or
/// touched if it succeeded.
/// A failed PUT, PATCH or DELETE still names the resource it aimed at, as
/// in RFC 7644 §3.7.3's example; `target` is that location.
fn describe(
    op: &Json,
    result: Result<Outcome, ScimError>,
    target: Option<String>,
) -> (Json, Option<String>) {
    let empty = Map::new();
    let o = op.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    let method = get_ci(o, "method").and_then(Json::as_str).unwrap_or_default();
    out.insert("method".into(), json!(method));
    if let Some(b) = get_ci(o, "bulkId") {
        out.insert("bulkId".into(), b.clone());
    }
    match result {
        Ok(done) => {
            out.insert("location".into(), json!(done.location));
            if let Some(v) = done.version {
                out.insert("version".into(), json!(v));
            }
            out.insert("status".into(), json!(done.status.to_string()));
            (Json::Object(out), Some(done.id))
        }
        Err(e) => {
            if let Some(t) = target {
                out.insert("location".into(), json!(t));
            }
            out.insert("status".into(), json!(e.status.to_string()));
            out.insert("response".into(), e.body());
            (Json::Object(out), None)
        }
    }
}

/// The bulkIds an operation refers to (in `path` and `data`).
fn references(op: &Json, found: &mut Vec<String>) -> Vec<String> {
    if let Some(o) = op.as_object() {
        for key in ["path", "data"] {
            if let Some(v) = get_ci(o, key) {
                collect(v, found);
            }
        }
    }
    std::mem::take(found)
}

fn collect(v: &Json, found: &mut Vec<String>) {
    match v {
        Json::String(s) => {
            for id in marks(s) {
                if !found.contains(&id) {
                    found.push(id);
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|x| collect(x, found)),
        Json::Object(o) => o.values().for_each(|x| collect(x, found)),
        _ => {}
    }
}

/// The ids after each `bulkId:` in a string (up to `/`, `?`, `#`, `,`,
/// quotes or white space, so `.../Users/bulkId:qwerty` works too).
fn marks(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find(MARK) {
        let tail = &rest[at + MARK.len()..];
        let end =
            tail.find(|c: char| "/?#,\"'".contains(c) || c.is_whitespace()).unwrap_or(tail.len());
        if end > 0 {
            out.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    out
}

/// Replaces every `bulkId:xyz` with the id created for it.
fn substitute(v: &Json, resolved: &HashMap<String, Resolved>) -> Json {
    match v {
        Json::String(s) if s.contains(MARK) => {
            let mut out = s.clone();
            for id in marks(s) {
                if let Some(Resolved::Created(real)) = resolved.get(&id) {
                    out = out.replacen(&format!("{MARK}{id}"), real, 1);
                }
            }
            Json::String(out)
        }
        Json::Array(a) => Json::Array(a.iter().map(|x| substitute(x, resolved)).collect()),
        Json::Object(o) => {
            Json::Object(o.iter().map(|(k, x)| (k.clone(), substitute(x, resolved))).collect())
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_ids_are_found_and_replaced_inside_strings() {
        assert_eq!(marks("bulkId:qwerty"), ["qwerty"]);
        assert_eq!(marks("https://x/v2/Users/bulkId:a1?x"), ["a1"]);
        assert_eq!(marks("bulkId: and bulkId:b"), ["b"]);
        let resolved = HashMap::from([("q".to_string(), Resolved::Created("42".into()))]);
        let data =
            json!({"members": [{"value": "bulkId:q", "$ref": "/v2/Users/bulkId:q"}], "n": 1});
        assert_eq!(
            substitute(&data, &resolved),
            json!({"members": [{"value": "42", "$ref": "/v2/Users/42"}], "n": 1})
        );
        let op = json!({"method": "PATCH", "path": "/Groups/bulkId:g", "data": data});
        assert_eq!(references(&op, &mut Vec::new()), ["g", "q"]);
    }
}
