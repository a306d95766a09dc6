//! intelliHR imitation, faithful to `vendor-apis.md` §2 and §6.2.
//!
//! A static API key plus a `Tenant` header (compared ignoring case);
//! `page`/`limit` paging (limit 1..100, 10 by default, out of range is 400)
//! with `meta.pagination` and absolute `links`; `filters[field][eq]=`;
//! errors `{name, message, code, errors}`. `POST /people` with an optional
//! `userAccount`, `POST /users` whose `person` search must match exactly one
//! person without an account; usernames unique; accounts disabled unless
//! asked; `PATCH /people/{id}` and `PATCH /users/{id}` (isEnabled, username)
//! change only what is sent; no DELETE. Ids are UUIDs. Unknowns (the default page size, the
//! status of a duplicate username) follow §6.2's suggestions.

use std::any::Any;

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};

pub const API_KEY: &str = "sandbox-intellihr";
pub const TENANT: &str = "sandbox";

/// Where the sandbox serves intelliHR and the key and tenant it accepts.
pub const ACCESS: VendorAccess = VendorAccess {
    vendor: "intellihr",
    prefix: "/intellihr",
    credentials: &[("api_key", API_KEY), ("tenant", TENANT)],
};

const GROUPS: &[&str] = &["Staff Member", "Manager", "Payroll Officer", "System Administrator"];
const GENDERS: &[&str] = &["Female", "Male", "Non-binary", "Other", "Undisclosed"];

pub struct Sim {
    pub people: Vec<Json>,
    pub users: Vec<Json>,
    groups: Vec<Json>,
    /// Bodies of the POST requests received, by path, for tests to check
    /// against the vendor's schemas.
    pub received: Vec<(String, Json)>,
    /// Bodies of the PATCH requests received, by path, in order.
    pub patched: Vec<(String, Json)>,
    next: u64,
    pub requests: u64,
}

impl Sim {
    pub fn new(_cfg: &SandboxConfig) -> Sim {
        let mut s = Sim {
            people: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            received: Vec::new(),
            patched: Vec::new(),
            next: 1,
            requests: 0,
        };
        for name in GROUPS {
            let id = s.uuid();
            s.groups.push(json!({"id": id, "name": name, "isEnabled": true}));
        }
        s
    }

    fn uuid(&mut self) -> String {
        self.next += 1;
        format!("8a5f3ea6-ea6b-4425-8a87-{:012x}", self.next)
    }

    /// Every permission group's name, in the order the API lists them.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().filter_map(|g| g["name"].as_str().map(str::to_string)).collect()
    }

    pub fn group_id(&self, name: &str) -> Option<String> {
        self.groups
            .iter()
            .find(|g| g["name"] == name)
            .and_then(|g| g["id"].as_str())
            .map(str::to_string)
    }

    /// Adds a person directly, as if created in the web app.
    pub fn seed_person(&mut self, mut p: Json) -> String {
        let id = self.uuid();
        let n = self.people.len() + 1;
        p["id"] = json!(id);
        p["autoIncrementIntellihrId"] = json!(n);
        self.people.push(p);
        id
    }

    /// Gives a person an account directly.
    pub fn seed_user(&mut self, person: &str, username: &str) -> String {
        let id = self.uuid();
        let user = self.user_object(&id, username, false, person, &[]);
        self.users.push(user);
        id
    }

    /// The account of a person, if any.
    pub fn user_of(&self, person: &str) -> Option<&Json> {
        self.users.iter().find(|u| u["person"]["id"] == person)
    }

    fn user_object(
        &self,
        id: &str,
        username: &str,
        enabled: bool,
        person: &str,
        groups: &[String],
    ) -> Json {
        let p = self.people.iter().find(|p| p["id"] == person).cloned().unwrap_or(Json::Null);
        let groups: Vec<Json> = groups
            .iter()
            .filter_map(|g| self.groups.iter().find(|x| x["id"] == g.as_str()))
            .map(|g| json!({"id": g["id"], "permissionGroup": g}))
            .collect();
        json!({
            "id": id, "username": username, "isEnabled": enabled,
            "createdAt": "2026-11-22T00:00:00+00:00", "updatedAt": "2026-11-22T00:00:00+00:00",
            "userPermissionGroups": groups,
            "person": {
                "id": person, "displayName": p["displayName"], "employeeNumber": p["employeeNumber"],
                "autoIncrementIntellihrId": p["autoIncrementIntellihrId"],
                "link": format!("https://api.intellihr.io/v1/people/{person}")
            }
        })
    }

    fn authorized(&self, req: &SimRequest) -> bool {
        req.header("authorization") == Some(&format!("Bearer {API_KEY}"))
            && req.header("tenant").is_some_and(|t| t.eq_ignore_ascii_case(TENANT))
    }

    /// Checks a `permissionGroups` value: an array of existing group ids.
    fn groups_in(&self, v: Option<&Json>) -> Result<Vec<String>, SimResponse> {
        match v {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(a)) => a
                .iter()
                .map(|g| match g.as_str() {
                    Some(id) if self.groups.iter().any(|x| x["id"] == id) => Ok(id.to_string()),
                    _ => Err(error(
                        400,
                        "permissionGroups",
                        &format!("permission group {g} does not exist"),
                    )),
                })
                .collect(),
            Some(_) => {
                Err(error(400, "permissionGroups", "must be an array of permission group ids"))
            }
        }
    }

    fn username_taken(&self, name: &str) -> bool {
        self.users
            .iter()
            .any(|u| u["username"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    fn create_person(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return error(400, "body", "the request body must be a JSON object"),
            Err(e) => return e,
        };
        self.received.push(("/v1/people".into(), Json::Object(body.clone())));
        let Some(last) =
            body.get("lastName").and_then(Json::as_str).filter(|s| !s.trim().is_empty())
        else {
            return error(400, "lastName", "lastName is required");
        };
        let gender = match body.get("gender").and_then(Json::as_str) {
            None => "Other",
            Some(g) => {
                match GENDERS.iter().find(|x| x.to_lowercase().starts_with(&g.to_lowercase())) {
                    Some(x) => x,
                    None => {
                        return error(
                            400,
                            "gender",
                            &format!("gender {g:?} matches none of {}", GENDERS.join(", ")),
                        );
                    }
                }
            }
        };
        let account = match body.get("userAccount") {
            None | Some(Json::Null) => None,
            Some(Json::Object(a)) => {
                let Some(username) =
                    a.get("username").and_then(Json::as_str).filter(|u| !u.is_empty())
                else {
                    return error(400, "userAccount.username", "userAccount.username is required");
                };
                if self.username_taken(username) {
                    return error(
                        400,
                        "userAccount.username",
                        &format!("the username {username:?} is already taken"),
                    );
                }
                let groups = match self.groups_in(a.get("permissionGroups")) {
                    Ok(g) => g,
                    Err(e) => return e,
                };
                Some((
                    username.to_string(),
                    a.get("isEnabled").and_then(Json::as_bool).unwrap_or(false),
                    groups,
                ))
            }
            Some(_) => return error(400, "userAccount", "userAccount must be an object or null"),
        };
        let mut p = Map::new();
        for f in [
            "title",
            "firstName",
            "middleName",
            "preferredName",
            "dateOfBirth",
            "employeeNumber",
            "primaryEmailAddress",
            "primaryPhoneNumber",
        ] {
            p.insert(f.into(), body.get(f).cloned().unwrap_or(Json::Null));
        }
        p.insert("lastName".into(), json!(last));
        p.insert("gender".into(), json!(gender));
        // A person shows every e-mail and phone as a list, the primary
        // entry also on its own.
        let entry = |key: &str, v: Option<&Json>| match v.and_then(Json::as_str) {
            Some(x) if !x.is_empty() => json!([{key: x, "isPrimary": true, "isPersonal": false}]),
            _ => json!([]),
        };
        p.insert("emailAddresses".into(), entry("email", body.get("primaryEmailAddress")));
        p.insert("phoneNumbers".into(), entry("number", body.get("primaryPhoneNumber")));
        let first = body.get("firstName").and_then(Json::as_str).unwrap_or("");
        p.insert("displayName".into(), json!(format!("{first} {last}").trim()));
        let id = self.seed_person(Json::Object(p));
        if let Some((username, enabled, groups)) = account {
            let uid = self.uuid();
            let user = self.user_object(&uid, &username, enabled, &id, &groups);
            self.users.push(user);
        }
        let person = self.people.last().cloned().unwrap_or(Json::Null);
        created(person)
    }

    fn create_user(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return error(400, "body", "the request body must be a JSON object"),
            Err(e) => return e,
        };
        self.received.push(("/v1/users".into(), Json::Object(body.clone())));
        let Some(username) = body.get("username").and_then(Json::as_str).filter(|u| !u.is_empty())
        else {
            return error(400, "username", "username is required");
        };
        let Some(Json::Object(search)) = body.get("person") else {
            return error(400, "person", "person is required");
        };
        let matches: Vec<&Json> = self
            .people
            .iter()
            .filter(|p| {
                search.iter().all(|(k, v)| match k.as_str() {
                    "name" => p["displayName"].as_str().zip(v.as_str()).is_some_and(|(a, b)| {
                        let mut x: Vec<String> =
                            a.to_lowercase().split_whitespace().map(str::to_string).collect();
                        let mut y: Vec<String> =
                            b.to_lowercase().split_whitespace().map(str::to_string).collect();
                        x.sort();
                        y.sort();
                        x == y
                    }),
                    "autoIncrementIntellihrId" => text(&p[k]) == text(v),
                    _ => text(&p[k]).eq_ignore_ascii_case(&text(v)),
                })
            })
            .collect();
        let person = match matches.as_slice() {
            [one] => one["id"].as_str().unwrap_or_default().to_string(),
            many => {
                return error(
                    400,
                    "person",
                    &format!(
                        "the person search matched {} people; it must match exactly one",
                        many.len()
                    ),
                );
            }
        };
        if self.user_of(&person).is_some() {
            return error(400, "person", "this person already has a user account");
        }
        if self.username_taken(username) {
            return error(400, "username", &format!("the username {username:?} is already taken"));
        }
        let groups = match self.groups_in(body.get("permissionGroups")) {
            Ok(g) => g,
            Err(e) => return e,
        };
        let enabled = body.get("isEnabled").and_then(Json::as_bool).unwrap_or(false);
        let id = self.uuid();
        let user = self.user_object(&id, username, enabled, &person, &groups);
        self.users.push(user.clone());
        created(user)
    }

    /// `PATCH /people/{id}` (`people_update_request`): the fields sent
    /// change, nothing else. `emailAddresses` and `phoneNumbers` replace the
    /// whole list and must keep one primary entry; e-mails are lower-cased.
    fn patch_person(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return error(400, "body", "the request body must be a JSON object"),
            Err(e) => return e,
        };
        self.patched.push((format!("/v1/people/{id}"), Json::Object(body.clone())));
        let Some(at) = self.people.iter().position(|p| p["id"] == id) else {
            return error(404, "id", "no such person");
        };
        const FIELDS: [&str; 16] = [
            "title",
            "firstName",
            "middleName",
            "lastName",
            "preferredName",
            "dateOfBirth",
            "gender",
            "employeeNumber",
            "emergencyContact",
            "emailAddresses",
            "phoneNumbers",
            "addresses",
            "customFields",
            "medicalConditions",
            "workRight",
            "workRightExpiryDate",
        ];
        if let Some(k) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return error(400, k, &format!("{k} is not a field of a person update"));
        }
        let mut changes = body.clone();
        if let Some(last) = body.get("lastName")
            && last.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return error(400, "lastName", "lastName cannot be empty");
        }
        if let Some(g) = body.get("gender") {
            let Some(found) = g.as_str().and_then(|g| {
                GENDERS.iter().find(|x| x.to_lowercase().starts_with(&g.to_lowercase()))
            }) else {
                return error(
                    400,
                    "gender",
                    &format!("gender {g} matches none of {}", GENDERS.join(", ")),
                );
            };
            changes.insert("gender".into(), json!(found));
        }
        for (list, key, primary) in [
            ("emailAddresses", "email", "primaryEmailAddress"),
            ("phoneNumbers", "number", "primaryPhoneNumber"),
        ] {
            let Some(v) = body.get(list) else { continue };
            let Some(entries) = v.as_array() else {
                return error(400, list, &format!("{list} must be an array"));
            };
            let mut stored = Vec::new();
            for e in entries {
                let Some(value) = e.get(key).and_then(Json::as_str).filter(|x| !x.is_empty())
                else {
                    return error(400, list, &format!("every entry of {list} needs its {key}"));
                };
                let value = if key == "email" { value.to_lowercase() } else { value.to_string() };
                let mut e = e.clone();
                e[key] = json!(value);
                stored.push(e);
            }
            let Some(first) = stored.iter().find(|e| e["isPrimary"] == true) else {
                return error(400, list, &format!("a person must have a primary entry in {list}"));
            };
            changes.insert(primary.into(), first[key].clone());
            changes.insert(list.into(), Json::Array(stored));
        }
        let person = &mut self.people[at];
        for (k, v) in changes {
            person[&k] = v;
        }
        let first = person["firstName"].as_str().unwrap_or("").to_string();
        let last = person["lastName"].as_str().unwrap_or("").to_string();
        person["displayName"] = json!(format!("{first} {last}").trim());
        let person = person.clone();
        // A user shows a summary of its person: keep it current.
        for u in self.users.iter_mut().filter(|u| u["person"]["id"] == id) {
            u["person"]["displayName"] = person["displayName"].clone();
            u["person"]["employeeNumber"] = person["employeeNumber"].clone();
        }
        SimResponse::json(
            200,
            json!({"data": person, "meta": {"requestId": "00000000-0000-4000-8000-000000000000"}}),
        )
    }

    fn patch_user(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return error(400, "body", "the request body must be a JSON object"),
            Err(e) => return e,
        };
        self.patched.push((format!("/v1/users/{id}"), Json::Object(body.clone())));
        if let Some(k) = body.keys().find(|k| !matches!(k.as_str(), "isEnabled" | "username")) {
            return error(400, k, "only isEnabled and username can be changed here");
        }
        if body.get("isEnabled").is_some_and(|v| !v.is_boolean()) {
            return error(400, "isEnabled", "isEnabled must be true or false");
        }
        if body.get("username").is_some_and(|v| v.as_str().is_none_or(str::is_empty)) {
            return error(400, "username", "username must be a non-empty string");
        }
        if let Some(u) = body.get("username").and_then(Json::as_str)
            && self.users.iter().any(|x| {
                x["id"] != id && x["username"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(u))
            })
        {
            return error(400, "username", &format!("the username {u:?} is already taken"));
        }
        let Some(user) = self.users.iter_mut().find(|u| u["id"] == id) else {
            return error(404, "id", "no such user");
        };
        for (k, v) in body {
            user[&k] = v;
        }
        SimResponse::json(
            200,
            json!({"data": user, "meta": {"requestId": "00000000-0000-4000-8000-000000000000"}}),
        )
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.requests += 1;
        if !self.authorized(req) {
            return SimResponse::json(
                401,
                json!({"name": "Unauthorized", "message": "A valid API key and Tenant header are required", "code": 401, "errors": {}}),
            );
        }
        let seg = req.segments();
        let m = &req.method;
        match seg.as_slice() {
            ["v1", "people"] if m == Method::GET => listing(req, self.people.clone()),
            ["v1", "people"] if m == Method::POST => self.create_person(req),
            ["v1", "people", id] if m == Method::GET => {
                match self.people.iter().find(|p| p["id"] == *id) {
                    Some(p) => SimResponse::json(
                        200,
                        json!({"data": p, "meta": {"requestId": "00000000-0000-4000-8000-000000000000"}}),
                    ),
                    None => error(404, "id", "no such person"),
                }
            }
            ["v1", "people", id] if m == Method::PATCH => self.patch_person(req, id),
            ["v1", "users"] if m == Method::GET => listing(req, self.users.clone()),
            ["v1", "users", id] if m == Method::GET => {
                match self.users.iter().find(|u| u["id"] == *id) {
                    Some(u) => SimResponse::json(
                        200,
                        json!({"data": u, "meta": {"requestId": "00000000-0000-4000-8000-000000000000"}}),
                    ),
                    None => error(404, "id", "no such user"),
                }
            }
            ["v1", "users"] if m == Method::POST => self.create_user(req),
            ["v1", "users", id] if m == Method::PATCH => self.patch_user(req, id),
            ["v1", "users", _] if m == Method::DELETE => {
                error(405, "method", "users cannot be deleted; disable them instead")
            }
            ["v1", "permission-groups"] if m == Method::GET => listing(req, self.groups.clone()),
            _ => error(404, "path", &format!("no route for {} {}", req.method, req.path)),
        }
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn error(code: u16, field: &str, message: &str) -> SimResponse {
    let name = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        _ => "Error",
    };
    SimResponse::json(
        code,
        json!({"name": name, "message": message, "code": code, "errors": {field: [message]}}),
    )
}

fn created(data: Json) -> SimResponse {
    SimResponse::json(
        201,
        json!({"data": data, "meta": {"requestId": "00000000-0000-4000-8000-000000000000"}}),
    )
}

/// A list answer: `filters[f][eq]=`, then `page`/`limit` with pagination
/// metadata and absolute links.
fn listing(req: &SimRequest, mut items: Vec<Json>) -> SimResponse {
    let page = match req.param("page").map(str::parse::<u64>) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        _ => return error(400, "page", "page must be a whole number of at least 1"),
    };
    let limit = match req.param("limit").map(str::parse::<u64>) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => return error(400, "limit", "limit must be between 1 and 100"),
    };
    for (k, v) in &req.query {
        let Some(field) = k.strip_prefix("filters[").and_then(|r| r.strip_suffix("][eq]")) else {
            continue;
        };
        items.retain(|i| {
            let have =
                i.pointer(&format!("/{}", field.replace('.', "/"))).map(text).unwrap_or_default();
            have.eq_ignore_ascii_case(v)
        });
    }
    let total = items.len() as u64;
    let pages = total.div_ceil(limit).max(1);
    let data: Vec<Json> =
        items.into_iter().skip(((page - 1) * limit) as usize).take(limit as usize).collect();
    let host = req.header("host").unwrap_or("127.0.0.1");
    let base = format!("http://{host}/intellihr{}", req.path);
    let link = |p: u64| json!(format!("{base}?limit={limit}&page={p}"));
    let mut links = Map::new();
    links.insert("self".into(), link(page));
    links.insert("first".into(), link(1));
    if page > 1 {
        links.insert("prev".into(), link(page - 1));
    }
    if page < pages {
        links.insert("next".into(), link(page + 1));
    }
    links.insert("last".into(), link(pages));
    SimResponse::json(
        200,
        json!({
            "data": data,
            "meta": {
                "requestId": "00000000-0000-4000-8000-000000000000",
                "pagination": {"per_page": limit, "total": total, "count": data.len(), "total_pages": pages, "current_page": page}
            },
            "links": links
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, query: &[(&str, &str)], body: Json) -> SimRequest {
        let bearer = format!("Bearer {API_KEY}");
        let headers = [("authorization", bearer.as_str()), ("tenant", "SANDBOX")];
        SimRequest::test(method, path, query, &headers, body)
    }

    #[test]
    fn person_with_account_then_rules_for_users() {
        let mut s = Sim::new(&SandboxConfig::default());
        let staff = s.group_id("Staff Member").unwrap();
        let r = s.handle(&req(Method::POST, "/v1/people", &[], json!({
            "firstName": "Ana", "lastName": "Silva", "gender": "f", "primaryEmailAddress": "ana@example.com",
            "userAccount": {"username": "asilva", "permissionGroups": [staff]}
        })));
        assert_eq!(r.status, 201);
        assert_eq!(r.body["data"]["gender"], "Female");
        let ana = r.body["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(s.user_of(&ana).unwrap()["isEnabled"], false, "disabled by default");
        // A second account for Ana, or a taken username: refused.
        let again = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"username": "other", "person": {"id": ana}}),
        ));
        assert_eq!(again.status, 400);
        let bob = s.seed_person(
            json!({"firstName": "Bob", "lastName": "Stone", "displayName": "Bob Stone"}),
        );
        let taken = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"username": "ASILVA", "person": {"id": bob}}),
        ));
        assert_eq!(taken.status, 400);
        assert!(taken.body["message"].as_str().unwrap().contains("already taken"));
        let by_name = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"username": "bstone", "person": {"name": "stone bob"}}),
        ));
        assert_eq!(by_name.status, 201, "{}", by_name.body);
        let none = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"username": "x", "person": {"name": "Nobody"}}),
        ));
        assert!(none.body["message"].as_str().unwrap().contains("matched 0 people"));
        assert_eq!(
            s.handle(&req(
                Method::DELETE,
                &format!("/v1/users/{}", s.users[0]["id"].as_str().unwrap()),
                &[],
                Json::Null
            ))
            .status,
            405
        );
    }

    #[test]
    fn patch_person_changes_only_what_is_sent() {
        let mut s = Sim::new(&SandboxConfig::default());
        let r = s.handle(&req(
            Method::POST,
            "/v1/people",
            &[],
            json!({
                "firstName": "Ana", "lastName": "Silva", "employeeNumber": "E1",
                "primaryEmailAddress": "ana@example.com", "primaryPhoneNumber": "+61 400 000 001",
                "userAccount": {"username": "asilva"}
            }),
        ));
        let ana = r.body["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            r.body["data"]["emailAddresses"],
            json!([{"email": "ana@example.com", "isPrimary": true, "isPersonal": false}])
        );
        let before = s.people[0].clone();
        let path = format!("/v1/people/{ana}");
        let r = s.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"firstName": "Anna", "gender": "non", "emailAddresses": [
                {"email": "Anna.Silva@Example.com", "isPrimary": true, "isPersonal": false},
                {"email": "ana@home.example", "isPrimary": false, "isPersonal": true}]}),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let mut want = before;
        want["firstName"] = json!("Anna");
        want["displayName"] = json!("Anna Silva");
        want["gender"] = json!("Non-binary");
        want["primaryEmailAddress"] = json!("anna.silva@example.com");
        want["emailAddresses"] = json!([
            {"email": "anna.silva@example.com", "isPrimary": true, "isPersonal": false},
            {"email": "ana@home.example", "isPrimary": false, "isPersonal": true}]);
        assert_eq!(s.people[0], want, "e-mails lower-cased, nothing else changed");
        assert_eq!(s.user_of(&ana).unwrap()["person"]["displayName"], "Anna Silva");

        for (body, message) in [
            (
                json!({"primaryEmailAddress": "x@example.com"}),
                "primaryEmailAddress is not a field of a person update",
            ),
            (json!({"lastName": ""}), "lastName cannot be empty"),
            (
                json!({"gender": "q"}),
                "gender \"q\" matches none of Female, Male, Non-binary, Other, Undisclosed",
            ),
            (
                json!({"phoneNumbers": [{"number": "1", "isPrimary": false}]}),
                "a person must have a primary entry in phoneNumbers",
            ),
        ] {
            let r = s.handle(&req(Method::PATCH, &path, &[], body));
            assert_eq!((r.status, r.body["message"].as_str().unwrap()), (400, message));
        }
        assert_eq!(s.people[0], want, "a refused PATCH changes nothing");
        let r = s.handle(&req(Method::PATCH, "/v1/people/nobody", &[], json!({"title": "Dr"})));
        assert_eq!(r.status, 404);
    }

    #[test]
    fn patch_user_takes_only_is_enabled_and_a_free_username() {
        let mut s = Sim::new(&SandboxConfig::default());
        let ana = s.seed_person(json!({"lastName": "Silva", "displayName": "Ana Silva"}));
        let bob = s.seed_person(json!({"lastName": "Stone", "displayName": "Bob Stone"}));
        let user = s.seed_user(&ana, "asilva");
        s.seed_user(&bob, "bstone");
        let path = format!("/v1/users/{user}");
        let r = s.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"isEnabled": true, "username": "ana.silva"}),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.body["data"]["isEnabled"].clone(), r.body["data"]["username"].clone()),
            (json!(true), json!("ana.silva"))
        );
        for (body, message) in [
            (json!({"permissionGroups": []}), "only isEnabled and username can be changed here"),
            (json!({"username": "BSTONE"}), "the username \"BSTONE\" is already taken"),
            (json!({"isEnabled": "yes"}), "isEnabled must be true or false"),
            (json!({"username": ""}), "username must be a non-empty string"),
        ] {
            let r = s.handle(&req(Method::PATCH, &path, &[], body));
            assert_eq!((r.status, r.body["message"].as_str().unwrap()), (400, message));
        }
        let r = s.handle(&req(Method::GET, &path, &[], Json::Null));
        assert_eq!(r.body["data"]["username"], "ana.silva", "refused PATCHes changed nothing");
        assert_eq!(r.body["data"]["isEnabled"], true);
        let r = s.handle(&req(Method::PATCH, "/v1/users/nobody", &[], json!({"isEnabled": false})));
        assert_eq!(r.status, 404);
    }

    #[test]
    fn paging_and_filters() {
        let mut s = Sim::new(&SandboxConfig::default());
        for i in 0..25 {
            s.seed_person(json!({"lastName": format!("P{i}"), "employeeNumber": format!("E{i}")}));
        }
        let r = s.handle(&req(Method::GET, "/v1/people", &[("page", "3")], Json::Null));
        assert_eq!(r.body["meta"]["pagination"]["total_pages"], 3);
        assert_eq!(r.body["data"].as_array().unwrap().len(), 5);
        assert!(r.body["links"].get("next").is_none() && r.body["links"].get("prev").is_some());
        assert_eq!(
            s.handle(&req(Method::GET, "/v1/people", &[("limit", "101")], Json::Null)).status,
            400
        );
        let r = s.handle(&req(
            Method::GET,
            "/v1/people",
            &[("filters[employeeNumber][eq]", "e7")],
            Json::Null,
        ));
        assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
        let mut bad = req(Method::GET, "/v1/people", &[], Json::Null);
        bad.headers.remove("tenant");
        assert_eq!(s.handle(&bad).status, 401);
    }
}
