//! TrackTik's `/batch/file` (vendor-apis.md §1.9, §6.1): several operations
//! in one request, each run as its own request would be.
//!
//! Documented: `onFailure` ABORT | CONTINUE | ROLLBACK and operations
//! `{action: CREATE|UPDATE|EXECUTE, resource, actionName, lookup: {id},
//! data}`; the recommended sizes (50, 20 with ROLLBACK) are not enforced,
//! and a large batch may time out without an answer body. Unknown, so the
//! sandbox's choice (and hrport's defaults): the path `/rest/v1/batch/file`,
//! the array's key `operations`, resources `employees` and `user-roles`
//! (the doc's `resource` field names a resource), and the answer
//! `{meta, data: [result per operation, in order]}` where a result is
//! `{index, action, resource, status, success, data}` or, when it failed,
//! `{..., message, errors}`. The HTTP status of a batch that ran is 200,
//! whatever its operations' statuses. It must not hold rules of its own
//! about employees: each operation goes through the same handler a single
//! request does.

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

use super::{Counters, Sim, validation};
use crate::{SimRequest, SimResponse};

/// What a ROLLBACK restores: every record an operation may change.
struct Snapshot {
    employees: std::collections::BTreeMap<u64, Json>,
    addresses: std::collections::BTreeMap<u64, Json>,
    profiles: std::collections::BTreeMap<u64, Json>,
    user_roles: Vec<Json>,
    terminations: Vec<Json>,
    force_password_change: std::collections::HashSet<u64>,
    passwords: std::collections::HashMap<u64, String>,
    next_id: u64,
    counters: Counters,
}

#[derive(Clone, Copy, PartialEq)]
enum OnFailure {
    Abort,
    Continue,
    Rollback,
}

impl Sim {
    /// `POST /rest/v1/batch/file`.
    pub(super) fn batch(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        let on_failure = match body.get("onFailure").and_then(Json::as_str) {
            Some("ABORT") => OnFailure::Abort,
            Some("CONTINUE") => OnFailure::Continue,
            Some("ROLLBACK") => OnFailure::Rollback,
            _ => return validation("onFailure", "onFailure must be ABORT, CONTINUE or ROLLBACK"),
        };
        let Some(ops) = body.get("operations").and_then(Json::as_array).filter(|o| !o.is_empty())
        else {
            return validation("operations", "operations must be a non-empty array");
        };
        // The vendor's risk: a batch that runs too long is cut off by the
        // gateway, its answer lost. The operations run until then stay done.
        let cut = self.batch_timeout_above.filter(|&n| ops.len() > n);
        let run = &ops[..cut.unwrap_or(ops.len())];
        let snapshot = (on_failure == OnFailure::Rollback).then(|| self.snapshot());
        let mut results: Vec<Json> = Vec::with_capacity(ops.len());
        let mut failed_at = None;
        for (i, op) in run.iter().enumerate() {
            if failed_at.is_some() {
                results.push(json!({
                    "index": i, "status": null, "success": false, "skipped": true,
                    "message": "not run: an earlier operation failed"
                }));
                continue;
            }
            let r = self.operation(req, op);
            let ok = (200..300).contains(&r.status);
            results.push(result(i, op, r));
            if !ok && on_failure != OnFailure::Continue {
                failed_at = Some(i);
            }
        }
        if let (Some(k), Some(s)) = (failed_at, snapshot) {
            self.restore(s);
            for r in results.iter_mut().take(k) {
                r["success"] = json!(false);
                r["rolledBack"] = json!(true);
                r["message"] = json!(format!("rolled back: operation {k} failed"));
            }
        }
        if cut.is_some() {
            // 504 from the gateway, no body.
            return SimResponse::json(504, Json::Null);
        }
        SimResponse::json(
            200,
            json!({"meta": super::meta("batch", results.len(), results.len(), results.len(), 0), "data": results}),
        )
    }

    /// One operation, as the single request it stands for.
    fn operation(&mut self, req: &SimRequest, op: &Json) -> SimResponse {
        let action = op.get("action").and_then(Json::as_str).unwrap_or("");
        let resource = op.get("resource").and_then(Json::as_str).unwrap_or("");
        let lookup = op.pointer("/lookup/id").and_then(super::id_of);
        let data = op.get("data").cloned().unwrap_or_else(|| json!({}));
        if !matches!(resource, "employees" | "user-roles") {
            return validation("resource", &format!("unknown resource {resource:?}"));
        }
        let (method, path) = match (action, lookup) {
            ("CREATE", _) => (Method::POST, format!("/{resource}")),
            ("UPDATE", Some(id)) => (Method::PATCH, format!("/{resource}/{id}")),
            ("EXECUTE", Some(id)) if resource == "employees" => {
                let Some(name) = op.get("actionName").and_then(Json::as_str) else {
                    return validation("actionName", "EXECUTE needs an actionName");
                };
                (Method::POST, format!("/{resource}/{id}/actions/{name}"))
            }
            ("EXECUTE", Some(_)) => {
                return validation("action", &format!("{resource} have no actions"));
            }
            ("UPDATE" | "EXECUTE", None) => {
                return validation("lookup", "UPDATE and EXECUTE need lookup.id");
            }
            _ => return validation("action", "action must be CREATE, UPDATE or EXECUTE"),
        };
        let mut headers = req.headers.clone();
        headers.insert("content-type", "application/json".parse().expect("a valid header"));
        let sub = SimRequest {
            method,
            path: format!("/rest/v1{path}"),
            query: Vec::new(),
            headers,
            body: data.to_string().into(),
            now: req.now,
        };
        // The test settings that refuse a call refuse it in a batch too.
        let refused = self.refuse.iter().find(|(m, p, _)| *m == sub.method && *p == path);
        if let Some((_, _, status)) = refused {
            return SimResponse::error(*status, "refused by the sandbox's test settings");
        }
        let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.api(&sub, &seg)
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            employees: self.employees.clone(),
            addresses: self.addresses.clone(),
            profiles: self.profiles.clone(),
            user_roles: self.user_roles.clone(),
            terminations: self.terminations.clone(),
            force_password_change: self.force_password_change.clone(),
            passwords: self.passwords.clone(),
            next_id: self.next_id,
            counters: self.counters.clone(),
        }
    }

    fn restore(&mut self, s: Snapshot) {
        let requests = self.counters.requests;
        self.employees = s.employees;
        self.addresses = s.addresses;
        self.profiles = s.profiles;
        self.user_roles = s.user_roles;
        self.terminations = s.terminations;
        self.force_password_change = s.force_password_change;
        self.passwords = s.passwords;
        self.next_id = s.next_id;
        self.counters = Counters { requests, ..s.counters };
    }
}

/// One operation's result: its answer's status, and its record or its error.
fn result(index: usize, op: &Json, r: SimResponse) -> Json {
    let mut out = Map::new();
    out.insert("index".into(), json!(index));
    out.insert("action".into(), op.get("action").cloned().unwrap_or(Json::Null));
    out.insert("resource".into(), op.get("resource").cloned().unwrap_or(Json::Null));
    out.insert("status".into(), json!(r.status));
    let ok = (200..300).contains(&r.status);
    out.insert("success".into(), json!(ok));
    if ok {
        out.insert("data".into(), r.body.get("data").cloned().unwrap_or(Json::Null));
    } else {
        out.insert("message".into(), r.body.get("message").cloned().unwrap_or(Json::Null));
        if let Some(e) = r.body.get("errors") {
            out.insert("errors".into(), e.clone());
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SandboxConfig, VendorSim};

    fn signed_in() -> (Sim, String) {
        let mut sim = Sim::new(&SandboxConfig::default());
        let r = sim.handle(&SimRequest::test_bearer(
            Method::POST,
            "/rest/oauth2/access_token",
            &[],
            json!({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox", "username": "api", "password": "sandbox"}),
            None,
        ));
        let token = r.body["access_token"].as_str().unwrap().to_string();
        (sim, token)
    }

    fn batch(sim: &mut Sim, token: &str, on_failure: &str, ops: Vec<Json>) -> SimResponse {
        sim.handle(&SimRequest::test_bearer(
            Method::POST,
            "/rest/v1/batch/file",
            &[],
            json!({"onFailure": on_failure, "operations": ops}),
            Some(token),
        ))
    }

    fn hire(name: &str, email: &str) -> Json {
        json!({"action": "CREATE", "resource": "employees", "data": {"firstName": name, "lastName": "X", "email": email, "region": 4}})
    }

    #[test]
    fn continue_runs_every_operation_and_answers_each() {
        let (mut sim, t) = signed_in();
        let r = batch(
            &mut sim,
            &t,
            "CONTINUE",
            vec![
                hire("Ana", "ana@example.com"),
                hire("Bob", "ana@example.com"),
                hire("Cy", "cy@example.com"),
            ],
        );
        assert_eq!(r.status, 200);
        let res = r.body["data"].as_array().unwrap();
        assert_eq!(res.len(), 3);
        assert_eq!(res[0]["status"], 201);
        assert_eq!(res[1]["status"], 400);
        assert_eq!(res[1]["errors"]["email"][0], "The email has already been taken.");
        assert_eq!(res[2]["status"], 201);
        let ana = res[0]["data"]["id"].as_u64().unwrap();
        assert_eq!(sim.employees.len(), 2);
        // Follow-ups by id: the role (user-roles) and an action.
        let role = sim.role_id("Guard").unwrap();
        let r = batch(
            &mut sim,
            &t,
            "CONTINUE",
            vec![
                json!({"action": "CREATE", "resource": "user-roles", "data": {"user": ana, "role": role}}),
                json!({"action": "EXECUTE", "resource": "employees", "actionName": "force-password-change", "lookup": {"id": ana}, "data": {}}),
                json!({"action": "UPDATE", "resource": "employees", "lookup": {"id": ana}, "data": {"jobTitle": "Guard"}}),
                json!({"action": "EXECUTE", "resource": "employees", "lookup": {"id": ana}}),
            ],
        );
        let res = r.body["data"].as_array().unwrap();
        let statuses: Vec<&Json> = res.iter().map(|r| &r["status"]).collect();
        assert_eq!(statuses, [&json!(201), &json!(200), &json!(200), &json!(400)]);
        assert_eq!(sim.role_of(ana), Some(role));
        assert!(sim.force_password_change.contains(&ana));
        assert_eq!(sim.employees[&ana]["jobTitle"], "Guard");
    }

    #[test]
    fn abort_stops_and_rollback_undoes() {
        let (mut sim, t) = signed_in();
        let ops =
            vec![hire("Ana", "ana@example.com"), hire("Bob", "bad"), hire("Cy", "cy@example.com")];
        let r = batch(&mut sim, &t, "ABORT", ops.clone());
        let res = r.body["data"].as_array().unwrap();
        assert_eq!(res[0]["status"], 201);
        assert_eq!(res[1]["status"], 400);
        assert_eq!(res[2]["skipped"], true);
        assert_eq!(sim.employees.len(), 1);

        let (mut sim, t) = signed_in();
        let r = batch(&mut sim, &t, "ROLLBACK", ops);
        let res = r.body["data"].as_array().unwrap();
        assert_eq!(res[0]["rolledBack"], true);
        assert_eq!(res[0]["success"], false);
        assert!(sim.employees.is_empty());
        assert_eq!(sim.counters.creates, 0);
        assert_eq!(sim.counters.requests, 2, "the sign-in and the batch");

        let r = batch(&mut sim, &t, "SOMETIMES", vec![hire("Ana", "ana@example.com")]);
        assert_eq!(r.status, 400);
    }

    #[test]
    fn a_batch_above_the_limit_runs_that_many_and_answers_504_without_a_body() {
        let (mut sim, t) = signed_in();
        sim.batch_timeout_above = Some(2);
        let ops = (0..5).map(|i| hire("P", &format!("p{i}@example.com"))).collect();
        let r = batch(&mut sim, &t, "CONTINUE", ops);
        assert_eq!(r.status, 504);
        assert!(r.body.is_null());
        assert_eq!(sim.employees.len(), 2);
    }
}
