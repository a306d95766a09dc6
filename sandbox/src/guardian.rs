//! Guardian (LawLogix I-9) imitation, faithful to `vendor-apis.md` §3 and §6.3.
//!
//! One fixed bearer token (no token endpoint: the real one is not public);
//! `POST`/`PATCH /v1/users` with the documented rules (a PATCH changes only
//! what it is sent); `GET /v1/users` 50 a
//! page by fullName with exact filters and relative links; no DELETE. Choices
//! where the vendor is silent are noted. A plain state machine: no I/O.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};

/// The only token the sandbox accepts.
pub const TOKEN: &str = "sandbox-guardian";

/// Where the sandbox serves Guardian and the token it accepts.
pub const ACCESS: VendorAccess =
    VendorAccess { vendor: "guardian", prefix: "/guardian", credentials: &[("token", TOKEN)] };

/// Demo roles (Guardian calls them permission groups); ids are what rows send.
pub const ROLES: &[(u64, &str)] = &[
    (1, "Administrator"),
    (2, "HR Manager"),
    (3, "Hiring Manager"),
    (4, "Recruiter"),
    (5, "Read Only"),
];

/// Users per page of `GET /v1/users` (documented).
pub const PAGE: usize = 50;

/// String fields and their documented maximum lengths (`vendor-apis.md`
/// §3.2). login is 30: the POST and PATCH pages say 30, the data-model page
/// 80, and the stricter one is the one a create must pass.
const LIMITS: &[(&str, usize)] = &[
    ("firstName", 40),
    ("lastName", 40),
    ("middleName", 25),
    ("title", 80),
    ("emailAddress", 80),
    ("profileId", 30),
    ("workNumber", 20),
    ("homeNumber", 20),
    ("cellNumber", 20),
    ("workExtension", 10),
    ("login", 30),
    ("password", 80),
    ("oauthId", 80),
    ("samlId", 80),
];

/// Every field a POST or PATCH body may hold: the documented ones. Anything
/// else (`id`, `fullName`, a misspelling) is refused rather than dropped, so
/// a client sending a field Guardian does not have finds out.
fn known(field: &str) -> bool {
    LIMITS.iter().any(|(f, _)| *f == field)
        || ["role", "retired", "sendLoginEmail"].contains(&field)
}

/// Fields `GET /v1/users` filters on, exactly and ignoring case (documented).
const FILTERS: &[&str] = &["firstName", "lastName", "middleName", "title", "emailAddress", "login"];

/// The organisation's single sign-on mode: Guardian refuses `oauthId` unless
/// OAuth 2.0 (Google) sign-on is on, and `samlId` unless SAML is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sso {
    #[default]
    None,
    OAuth,
    Saml,
    /// Both switches on.
    Both,
}

/// A user's password as the sandbox got it (the API never shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// Sent by the client.
    Received(String),
    /// None was sent, so Guardian made one up (documented behaviour).
    Generated,
}

/// Counters tests look at.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub requests: u64,
    pub creates: u64,
    pub updates: u64,
    /// Requests refused with 401.
    pub unauthorized: u64,
}

pub struct Sim {
    /// Users as stored: `role` is the role id; the API shows `{id, name}`.
    pub users: BTreeMap<u64, Json>,
    pub passwords: HashMap<u64, Password>,
    /// Users created with `sendLoginEmail: true`, in order.
    pub login_emails: Vec<u64>,
    /// The tenant's SSO setting.
    pub sso: Sso,
    pub token: String,
    pub counters: Counters,
    /// Creates still to answer 502 *after* saving the user, as a gateway
    /// that lost the answer would (tests of settling lost answers).
    pub lose_create_answers: u32,
    /// List answers hold only the fields of the vendor's documented example
    /// (no `login`, no phone numbers), as a real tenant may.
    pub documented_list_fields: bool,
    /// PATCH holds every body to the required flags its page shows
    /// (firstName, lastName, role present), as a strict reading of the
    /// vendor's PATCH page would. Off by default: a PATCH sends only what
    /// changes, and what it sends must still be valid.
    pub patch_requires_required: bool,
    next_id: u64,
}

impl Sim {
    pub fn new(_cfg: &SandboxConfig) -> Sim {
        Sim {
            users: BTreeMap::new(),
            passwords: HashMap::new(),
            login_emails: Vec::new(),
            sso: Sso::None,
            token: TOKEN.to_string(),
            counters: Counters::default(),
            lose_create_answers: 0,
            documented_list_fields: false,
            patch_requires_required: false,
            next_id: 101,
        }
    }

    /// Adds a user directly, as if created in Guardian's web UI (no checks).
    pub fn seed_user(&mut self, mut u: Json) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        u["id"] = json!(id);
        if u.get("retired").is_none() {
            u["retired"] = json!(false);
        }
        u["fullName"] = json!(full_name(&u));
        self.users.insert(id, u);
        id
    }

    pub fn role_name(role: u64) -> Option<&'static str> {
        ROLES.iter().find(|(id, _)| *id == role).map(|(_, n)| *n)
    }

    /// The user whose login is this one, ignoring case.
    pub fn user_by_login(&self, login: &str) -> Option<&Json> {
        self.users
            .values()
            .find(|u| u["login"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(login)))
    }

    /// The user whose e-mail address is this one, ignoring case.
    pub fn user_by_email(&self, email: &str) -> Option<&Json> {
        self.users
            .values()
            .find(|u| u["emailAddress"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(email)))
    }

    /// A user as the API shows it: the role as `{id, name}`, no password.
    fn view(&self, u: &Json) -> Json {
        let mut v = u.clone();
        if let Some(role) = u["role"].as_u64() {
            v["role"] = json!({"id": role, "name": Sim::role_name(role)});
        }
        v["groups"] = json!([]);
        v
    }

    fn api(&mut self, req: &SimRequest, seg: &[&str]) -> SimResponse {
        let m = &req.method;
        match seg {
            ["users"] if m == Method::GET => self.list(req),
            ["users"] if m == Method::POST => self.create(req),
            ["users", id] if m == Method::GET => match self.find(id) {
                Some(u) => SimResponse::json(200, self.view(u)),
                None => not_found(id),
            },
            ["users", id] if m == Method::PATCH => self.update(req, id),
            // No DELETE (or PUT) is documented: users are retired instead.
            ["users"] | ["users", _] => fail(
                405,
                &format!(
                    "{} is not supported on /v1/{}; retire a user with PATCH",
                    m,
                    seg.join("/")
                ),
                &[],
            ),
            _ => fail(404, &format!("no route for {} /v1/{}", m, seg.join("/")), &[]),
        }
    }

    fn find(&self, id: &str) -> Option<&Json> {
        id.parse().ok().and_then(|id: u64| self.users.get(&id))
    }

    /// The documented rules, for a create (`id` None) or an update.
    fn validate(&self, body: &Map<String, Json>, id: Option<u64>) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut err = |f: &str, m: String| errors.push((f.to_string(), m));
        for f in body.keys().filter(|f| !known(f)) {
            err(f, format!("{f} is not a field of a user"));
        }
        // The PATCH page marks the same fields required as the POST page;
        // the sandbox reads that as "cannot be emptied" unless told to
        // require them in every PATCH body.
        let all_required = id.is_none() || self.patch_requires_required;
        for f in ["firstName", "lastName"] {
            if (all_required || body.contains_key(f))
                && body.get(f).and_then(Json::as_str).is_none_or(|s| s.trim().is_empty())
            {
                err(f, format!("{f} is required"));
            }
        }
        match body.get("role") {
            None if !all_required => {}
            None | Some(Json::Null) => err("role", "role is required".into()),
            Some(r) => match r.as_u64() {
                None => err("role", format!("role must be an integer role id, not {r}")),
                Some(r) if Sim::role_name(r).is_none() => {
                    err("role", format!("role {r} is not a role of this organisation"))
                }
                Some(_) => {}
            },
        }
        for (f, max) in LIMITS {
            match body.get(*f) {
                None | Some(Json::Null) => {}
                Some(Json::String(s)) if s.chars().count() > *max => {
                    err(f, format!("{f} must be at most {max} characters"))
                }
                Some(Json::String(_)) => {}
                Some(_) => err(f, format!("{f} must be a string")),
            }
        }
        for f in ["sendLoginEmail", "retired"] {
            if body.get(f).is_some_and(|v| !v.is_boolean()) {
                err(f, format!("{f} must be true or false"));
            }
        }
        if body.get("oauthId").is_some_and(|v| !v.is_null())
            && !matches!(self.sso, Sso::OAuth | Sso::Both)
        {
            err(
                "oauthId",
                "oauthId: OAuth 2.0 single sign-on is not enabled for this organisation".into(),
            );
        }
        if body.get("samlId").is_some_and(|v| !v.is_null())
            && !matches!(self.sso, Sso::Saml | Sso::Both)
        {
            err(
                "samlId",
                "samlId: SAML single sign-on is not enabled for this organisation".into(),
            );
        }
        // Unique logins are assumed (the docs do not say); retired users keep theirs.
        if let Some(login) = body.get("login").and_then(Json::as_str)
            && let Some(other) = self.user_by_login(login)
            && other["id"].as_u64() != id
        {
            err("login", format!("login {login:?} is already taken"));
        }
        // Unique e-mail addresses are assumed as well: Guardian sends each
        // user's login e-mail there.
        if let Some(email) = body.get("emailAddress").and_then(Json::as_str)
            && let Some(other) = self.user_by_email(email)
            && other["id"].as_u64() != id
        {
            err("emailAddress", format!("emailAddress {email:?} is already taken"));
        }
        errors
    }

    fn create(&mut self, req: &SimRequest) -> SimResponse {
        let body = match object(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let errors = self.validate(&body, None);
        if !errors.is_empty() {
            return invalid(&errors);
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut u = Map::new();
        for (f, _) in LIMITS.iter().filter(|(f, _)| *f != "password") {
            u.insert(f.to_string(), body.get(*f).cloned().unwrap_or(Json::Null));
        }
        u.insert("id".into(), json!(id));
        u.insert("role".into(), body["role"].clone());
        // Whether POST accepts `retired` is not documented; the sandbox takes it.
        u.insert("retired".into(), json!(body.get("retired") == Some(&json!(true))));
        let mut u = Json::Object(u);
        u["fullName"] = json!(full_name(&u));
        let password = match body.get("password").and_then(Json::as_str) {
            Some(p) => Password::Received(p.to_string()),
            None => Password::Generated,
        };
        self.passwords.insert(id, password);
        if body.get("sendLoginEmail") == Some(&json!(true)) {
            self.login_emails.push(id);
        }
        self.users.insert(id, u.clone());
        self.counters.creates += 1;
        if self.lose_create_answers > 0 {
            self.lose_create_answers -= 1;
            return fail(502, "Bad Gateway (the sandbox lost this answer on purpose)", &[]);
        }
        // The real success status is not published: 201 with the user.
        SimResponse::json(201, self.view(&u))
    }

    fn update(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let Some(uid) = self.find(id).and_then(|u| u["id"].as_u64()) else {
            return not_found(id);
        };
        let body = match object(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let errors = self.validate(&body, Some(uid));
        if !errors.is_empty() {
            return invalid(&errors);
        }
        if let Some(p) = body.get("password").and_then(Json::as_str) {
            self.passwords.insert(uid, Password::Received(p.to_string()));
        }
        let Some(u) = self.users.get_mut(&uid) else {
            return not_found(id);
        };
        // Only what was sent changes; a password is kept apart and an
        // e-mail instruction is not something a user holds.
        for (k, v) in &body {
            if k != "password" && k != "sendLoginEmail" {
                u[k.as_str()] = v.clone();
            }
        }
        u["fullName"] = json!(full_name(u));
        let u = u.clone();
        self.counters.updates += 1;
        SimResponse::json(200, self.view(&u))
    }

    /// A user as a list answer shows it.
    fn listed(&self, u: &Json) -> Json {
        let mut v = self.view(u);
        if self.documented_list_fields
            && let Some(o) = v.as_object_mut()
        {
            const SHOWN: [&str; 10] = [
                "id",
                "firstName",
                "lastName",
                "fullName",
                "title",
                "emailAddress",
                "profileId",
                "retired",
                "role",
                "groups",
            ];
            o.retain(|k, _| SHOWN.contains(&k.as_str()));
        }
        v
    }

    fn list(&self, req: &SimRequest) -> SimResponse {
        let page = match req.param("page").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(p)) if p >= 1 => p,
            Some(_) => {
                return invalid(&[("page".into(), "page must be a whole number from 1".into())]);
            }
        };
        // Filters on other parameters are ignored (the vendor's behaviour
        // there is not published).
        let filters: Vec<(&str, &str)> = req
            .query
            .iter()
            .filter(|(k, _)| FILTERS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut found: Vec<&Json> = self
            .users
            .values()
            .filter(|u| {
                filters
                    .iter()
                    .all(|(k, want)| u[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(want)))
            })
            .collect();
        found.sort_by(|a, b| {
            let key = |u: &Json| u["fullName"].as_str().unwrap_or("").to_lowercase();
            key(a).cmp(&key(b)).then(a["id"].as_u64().cmp(&b["id"].as_u64()))
        });
        let last = found.len().div_ceil(PAGE).max(1);
        let results: Vec<Json> =
            found.iter().skip((page - 1) * PAGE).take(PAGE).map(|u| self.listed(u)).collect();
        // Relative to the server, as the vendor documents.
        let href = |p: usize| {
            let mut q: Vec<(&str, String)> =
                filters.iter().map(|(k, v)| (*k, v.to_string())).collect();
            q.push(("page", p.to_string()));
            format!("/v1/users?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
        };
        let mut links = vec![
            json!({"rel": "self", "href": href(page)}),
            json!({"rel": "first", "href": href(1)}),
            json!({"rel": "last", "href": href(last)}),
        ];
        if page < last {
            links.push(json!({"rel": "next", "href": href(page + 1)}));
        }
        if page > 1 {
            links.push(json!({"rel": "previous", "href": href((page - 1).min(last))}));
        }
        SimResponse::json(200, json!({"searchResult": results, "links": links}))
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.counters.requests += 1;
        let authorized = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| t == self.token);
        if !authorized {
            self.counters.unauthorized += 1;
            return fail(401, "Unauthorized: missing or invalid bearer token", &[]);
        }
        match req.segments().as_slice() {
            ["v1", rest @ ..] => self.api(req, rest),
            _ => fail(404, &format!("no route for {} {}", req.method, req.path), &[]),
        }
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// "Last, First", as Guardian shows and sorts users.
fn full_name(u: &Json) -> String {
    format!("{}, {}", u["lastName"].as_str().unwrap_or(""), u["firstName"].as_str().unwrap_or(""))
}

fn object(req: &SimRequest) -> Result<Map<String, Json>, SimResponse> {
    match req.json() {
        Ok(Json::Object(b)) => Ok(b),
        Ok(_) => Err(fail(400, "the request body must be a JSON object", &[])),
        Err(_) => Err(fail(400, "the request body is not valid JSON", &[])),
    }
}

/// The error body. Guardian's is not published; this shape is the
/// sandbox's choice: `{"message": "...", "errors": [{"field", "message"}]}`.
fn fail(status: u16, message: &str, errors: &[(String, String)]) -> SimResponse {
    let errors: Vec<Json> = errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect();
    SimResponse::json(status, json!({"message": message, "errors": errors}))
}

/// A refused create or update. The status is not published either: 400.
fn invalid(errors: &[(String, String)]) -> SimResponse {
    fail(400, "The user was not saved", errors)
}

fn not_found(id: &str) -> SimResponse {
    fail(404, &format!("no user with id {id}"), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, query: &[(&str, &str)], body: Json) -> SimRequest {
        req_with(method, path, query, body, Some(TOKEN))
    }

    fn req_with(
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Json,
        token: Option<&str>,
    ) -> SimRequest {
        SimRequest::test_bearer(method, path, query, body, token)
    }

    fn sim() -> Sim {
        Sim::new(&SandboxConfig::default())
    }

    fn messages(r: &SimResponse) -> Vec<String> {
        r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!("{}: {}", e["field"].as_str().unwrap(), e["message"].as_str().unwrap())
            })
            .collect()
    }

    #[test]
    fn creates_with_the_documented_rules_and_generates_a_missing_password() {
        let mut s = sim();
        let r = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"firstName": "Ana", "lastName": "Silva", "role": 2, "login": "asilva", "sendLoginEmail": true}),
        ));
        assert_eq!(r.status, 201);
        let id = r.body["id"].as_u64().unwrap();
        assert_eq!(r.body["role"], json!({"id": 2, "name": "HR Manager"}));
        assert_eq!(r.body["fullName"], "Silva, Ana");
        assert_eq!(r.body["retired"], false);
        assert!(r.body.get("password").is_none(), "passwords are never shown");
        assert_eq!(s.passwords[&id], Password::Generated);
        assert_eq!(s.login_emails, [id]);

        let r = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"firstName": "Bo", "lastName": "Ray", "role": 1, "password": "Pw-1"}),
        ));
        assert_eq!(r.status, 201);
        assert_eq!(s.passwords[&r.body["id"].as_u64().unwrap()], Password::Received("Pw-1".into()));

        let r = s.handle(&req(
            Method::POST,
            "/v1/users",
            &[],
            json!({"lastName": "x".repeat(41), "role": 9, "login": "ASILVA", "middleName": "m".repeat(26),
                   "workExtension": 12345, "oauthId": "g-1", "samlId": "s-1", "sendLoginEmail": "yes"}),
        ));
        assert_eq!(r.status, 400);
        assert_eq!(r.body["message"], "The user was not saved");
        assert_eq!(
            messages(&r),
            [
                "firstName: firstName is required",
                "role: role 9 is not a role of this organisation",
                "lastName: lastName must be at most 40 characters",
                "middleName: middleName must be at most 25 characters",
                "workExtension: workExtension must be a string",
                "sendLoginEmail: sendLoginEmail must be true or false",
                "oauthId: oauthId: OAuth 2.0 single sign-on is not enabled for this organisation",
                "samlId: samlId: SAML single sign-on is not enabled for this organisation",
                "login: login \"ASILVA\" is already taken",
            ]
        );
        let login31 =
            json!({"firstName": "C", "lastName": "D", "role": 1, "login": "l".repeat(31)});
        let r = s.handle(&req(Method::POST, "/v1/users", &[], login31));
        assert_eq!(messages(&r), ["login: login must be at most 30 characters"]);
        assert_eq!(s.counters.creates, 2);
    }

    #[test]
    fn sso_ids_are_accepted_only_in_their_mode() {
        let mut s = sim();
        s.sso = Sso::OAuth;
        let body = json!({"firstName": "A", "lastName": "B", "role": 1, "oauthId": "a@g.example"});
        assert_eq!(s.handle(&req(Method::POST, "/v1/users", &[], body)).status, 201);
        let body = json!({"firstName": "A", "lastName": "C", "role": 1, "samlId": "abc"});
        assert_eq!(s.handle(&req(Method::POST, "/v1/users", &[], body.clone())).status, 400);
        s.sso = Sso::Saml;
        assert_eq!(s.handle(&req(Method::POST, "/v1/users", &[], body)).status, 201);
    }

    #[test]
    fn lists_50_a_page_by_full_name_with_exact_filters_and_relative_links() {
        let mut s = sim();
        for i in 0..120 {
            s.seed_user(json!({"firstName": format!("F{i:03}"), "lastName": if i % 2 == 0 { "Zed" } else { "Abe" },
                               "emailAddress": format!("u{i}@example.com"), "login": format!("user{i}"), "role": 1}));
        }
        let r = s.handle(&req(Method::GET, "/v1/users", &[], Json::Null));
        assert_eq!(r.status, 200);
        let page = r.body["searchResult"].as_array().unwrap();
        assert_eq!(page.len(), 50);
        assert_eq!(page[0]["fullName"], "Abe, F001");
        assert_eq!(page[1]["fullName"], "Abe, F003");
        let rel = |b: &Json, rel: &str| {
            b["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == rel)
                .map(|l| l["href"].clone())
        };
        assert_eq!(rel(&r.body, "next"), Some(json!("/v1/users?page=2")));
        assert_eq!(rel(&r.body, "last"), Some(json!("/v1/users?page=3")));
        assert_eq!(rel(&r.body, "previous"), None);
        let r = s.handle(&req(Method::GET, "/v1/users", &[("page", "3")], Json::Null));
        assert_eq!(r.body["searchResult"].as_array().unwrap().len(), 20);
        assert_eq!(rel(&r.body, "next"), None);
        assert_eq!(rel(&r.body, "previous"), Some(json!("/v1/users?page=2")));

        // Exact, case-insensitive; no partial matches; filters kept in links.
        let r = s.handle(&req(
            Method::GET,
            "/v1/users",
            &[("emailAddress", "U7@EXAMPLE.COM")],
            Json::Null,
        ));
        assert_eq!(r.body["searchResult"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["searchResult"][0]["login"], "user7");
        let r = s.handle(&req(Method::GET, "/v1/users", &[("login", "user")], Json::Null));
        assert_eq!(r.body["searchResult"].as_array().unwrap().len(), 0);
        let r = s.handle(&req(Method::GET, "/v1/users", &[("lastName", "zed")], Json::Null));
        assert_eq!(r.body["searchResult"].as_array().unwrap().len(), 50);
        assert_eq!(rel(&r.body, "next"), Some(json!("/v1/users?lastName=zed&page=2")));
    }

    #[test]
    fn patch_changes_only_what_is_sent_and_retires() {
        let mut s = sim();
        let id = s.seed_user(json!({"firstName": "Ana", "lastName": "Silva", "role": 2,
            "login": "ana", "emailAddress": "ana@example.com", "title": "Clerk"}));
        let path = format!("/v1/users/{id}");
        let before = s.users[&id].clone();
        let r =
            s.handle(&req(Method::PATCH, &path, &[], json!({"title": "HR Director", "role": 3})));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["role"]["name"], "Hiring Manager");
        let mut want = before.clone();
        want["title"] = json!("HR Director");
        want["role"] = json!(3);
        assert_eq!(s.users[&id], want, "nothing else changed");

        let r = s.handle(&req(Method::PATCH, &path, &[], json!({"retired": true})));
        assert_eq!(r.status, 200);
        assert_eq!(s.handle(&req(Method::GET, &path, &[], Json::Null)).body["retired"], true);
        let r = s.handle(&req(Method::PATCH, &path, &[], json!({"retired": false})));
        assert_eq!(r.body["retired"], false);
        let r = s.handle(&req(Method::PATCH, &path, &[], json!({"lastName": "Costa"})));
        assert_eq!(r.body["fullName"], "Costa, Ana", "the full name follows the names");
        assert_eq!(s.counters.updates, 4);
    }

    #[test]
    fn patch_validates_as_documented() {
        let mut s = sim();
        let id = s.seed_user(json!({"firstName": "Ana", "lastName": "Silva", "role": 2,
            "login": "ana", "emailAddress": "ana@example.com"}));
        s.seed_user(json!({"firstName": "Bo", "lastName": "Ray", "role": 2, "login": "bo",
            "emailAddress": "bo@example.com"}));
        let before = s.users[&id].clone();
        let path = format!("/v1/users/{id}");
        let r = s.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"login": "BO", "emailAddress": "Bo@Example.com", "role": 9, "firstName": "",
                   "jobTitle": "x", "cellNumber": "1".repeat(21), "retired": "yes"}),
        ));
        assert_eq!(r.status, 400);
        assert_eq!(
            messages(&r),
            [
                "jobTitle: jobTitle is not a field of a user",
                "firstName: firstName is required",
                "role: role 9 is not a role of this organisation",
                "cellNumber: cellNumber must be at most 20 characters",
                "retired: retired must be true or false",
                "login: login \"BO\" is already taken",
                "emailAddress: emailAddress \"Bo@Example.com\" is already taken",
            ]
        );
        assert_eq!(s.users[&id], before, "a refused PATCH changes nothing");
        // A user's own login and e-mail are not a clash.
        let r = s.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"login": "ANA", "emailAddress": "ANA@example.com"}),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let r = s.handle(&req(Method::PATCH, "/v1/users/999", &[], json!({"title": "x"})));
        assert_eq!((r.status, r.body["message"].clone()), (404, json!("no user with id 999")));

        // The strict reading of the PATCH page: every body names the
        // required fields.
        s.patch_requires_required = true;
        let r = s.handle(&req(Method::PATCH, &path, &[], json!({"retired": true})));
        assert_eq!(
            messages(&r),
            [
                "firstName: firstName is required",
                "lastName: lastName is required",
                "role: role is required"
            ]
        );
        let full = json!({"firstName": "Ana", "lastName": "Silva", "role": 2, "retired": true});
        assert_eq!(s.handle(&req(Method::PATCH, &path, &[], full)).status, 200);
    }

    #[test]
    fn refuses_bad_tokens_and_delete() {
        let mut s = sim();
        let id = s.seed_user(json!({"firstName": "Ana", "lastName": "Silva", "role": 2}));
        for token in [None, Some("wrong")] {
            let r = s.handle(&req_with(Method::GET, "/v1/users", &[], Json::Null, token));
            assert_eq!(r.status, 401);
        }
        assert_eq!(s.counters.unauthorized, 2);
        let r = s.handle(&req(Method::DELETE, &format!("/v1/users/{id}"), &[], Json::Null));
        assert_eq!(r.status, 405);
        assert_eq!(s.users.len(), 1);
    }

    #[test]
    fn a_lost_create_answer_still_saves_the_user() {
        let mut s = sim();
        s.lose_create_answers = 1;
        let body = json!({"firstName": "A", "lastName": "B", "role": 1, "login": "ab"});
        assert_eq!(s.handle(&req(Method::POST, "/v1/users", &[], body.clone())).status, 502);
        assert!(s.user_by_login("ab").is_some());
        assert_eq!(s.handle(&req(Method::POST, "/v1/users", &[], body)).status, 400);
    }
}
