//! SecurityTrax imitation, faithful to `vendor-apis.md` §5 and §6.5 where
//! facts exist, and plain about where they do not.
//!
//! Faithful: the `X-SecurityTrax-IntegratorKey` header (case-sensitive), the
//! token from `POST /{profile}/user/v1/authenticate` that expires after 10
//! minutes (then 401), JSON:API media type and documents, and the `filter=`
//! grammar (`= != < > <= >= ~ !~`, `%` wildcards, AND/OR, parentheses). Not
//! documented by the vendor, so the sandbox's own choice: the users resource
//! at `/user/v1/users` and its attribute names, `page[number]`/`page[size]`
//! paging, JSON:API error objects, and 422 for invalid users.

use std::any::Any;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};

pub const INTEGRATOR_KEY: &str = "sandbox-integrator";
pub const PROFILE: &str = "sandbox";
pub const USERNAME: &str = "api";
pub const PASSWORD: &str = "sandbox";

/// Where the sandbox serves SecurityTrax (the profile is part of the base
/// URL, as on a real server) and what it accepts.
pub const ACCESS: VendorAccess = VendorAccess {
    vendor: "securitytrax",
    // "/securitytrax/" + PROFILE; a unit test holds them together.
    prefix: "/securitytrax/sandbox",
    credentials: &[
        ("integrator_key", INTEGRATOR_KEY),
        ("username", USERNAME),
        ("password", PASSWORD),
    ],
};

/// The values of `employee_directory_access`.
const DIRECTORY_ACCESS: &[&str] = &["None", "All", "Shared Locations", "Hierarchy"];
const JSONAPI: &str = "application/vnd.api+json";
/// Every attribute a user has (the sandbox's guess, matching hrport's
/// defaults; `password` is write-only and never stored with the user).
const ATTRIBUTES: &[&str] = &[
    "fname",
    "lname",
    "username",
    "email",
    "payroll_identifier",
    "phone",
    "title",
    "title_designation",
    "hire_date",
    "start_date",
    "last_day",
    "transfer_date",
    "employee_directory_access",
    "can_sms_users",
    "active",
    "can_login",
    "generate_random_password",
    "notification_email",
    "force_password_change",
];
/// The attributes that are true or false.
const BOOLEANS: &[&str] =
    &["can_sms_users", "active", "can_login", "generate_random_password", "force_password_change"];

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub logins: u64,
    pub failed_logins: u64,
    pub requests: u64,
    pub expired: u64,
}

pub struct Sim {
    /// Users by id, as JSON:API resource objects (no password inside).
    pub users: Vec<Json>,
    pub passwords: HashMap<String, String>,
    /// Documents received by `POST .../users`, for tests.
    pub received: Vec<Json>,
    /// (user id, document) of every `PATCH .../users/{id}`, for tests.
    pub patches: Vec<(String, Json)>,
    tokens: HashMap<String, Instant>,
    token_ttl: Duration,
    next: u64,
    pub counters: Counters,
}

impl Sim {
    pub fn new(cfg: &SandboxConfig) -> Sim {
        let mut s = Sim {
            users: Vec::new(),
            passwords: HashMap::new(),
            received: Vec::new(),
            patches: Vec::new(),
            tokens: HashMap::new(),
            // Documented: 10 minutes. A shorter sandbox setting wins, so
            // tests can watch tokens run out.
            token_ttl: cfg.token_ttl.min(Duration::from_secs(600)),
            next: 1,
            counters: Counters::default(),
        };
        s.seed_user(
            json!({"fname": "API", "lname": "User", "username": "api", "active": true}),
            None,
        );
        s.seed_user(
            json!({"fname": "Maria", "lname": "Garcia", "username": "mgarcia", "email": "maria.garcia@example.com",
                   "payroll_identifier": "P-0001", "title": "Sales Manager", "active": true}),
            None,
        );
        s
    }

    /// Adds a user directly; returns its id.
    pub fn seed_user(&mut self, attributes: Json, reports_to: Option<&str>) -> String {
        let id = self.next.to_string();
        self.next += 1;
        let mut u =
            json!({"type": "users", "id": id, "attributes": attributes, "relationships": {}});
        if let Some(m) = reports_to {
            u["relationships"]["reports_to"] = json!({"data": {"type": "users", "id": m}});
        }
        self.users.push(u);
        id
    }

    pub fn by_username(&self, name: &str) -> Option<&Json> {
        self.users.iter().find(|u| {
            u["attributes"]["username"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The id of a user's related user (`reports_to`, `recruited_by`).
    pub fn related(&self, user: &Json, relationship: &str) -> Option<String> {
        user["relationships"][relationship]["data"]["id"].as_str().map(str::to_string)
    }

    fn authenticate(&mut self, req: &SimRequest) -> SimResponse {
        let body = req.json().unwrap_or(Json::Null);
        let ok = body["username"] == USERNAME && body["password"] == PASSWORD;
        if !ok {
            self.counters.failed_logins += 1;
            return error(401, "Unauthorized", "invalid username or password", None);
        }
        self.counters.logins += 1;
        let token: String = std::iter::repeat_with(fastrand::alphanumeric).take(40).collect();
        self.tokens.insert(token.clone(), req.now + self.token_ttl);
        SimResponse::json(200, json!({ "token": token }))
    }

    fn token_ok(&mut self, req: &SimRequest) -> bool {
        let Some(t) = req.header("authorization").and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        match self.tokens.get(t) {
            Some(exp) if *exp > req.now => true,
            Some(_) => {
                self.counters.expired += 1;
                false
            }
            None => false,
        }
    }

    fn create(&mut self, req: &SimRequest) -> SimResponse {
        let doc = match req.json() {
            Ok(d) => d,
            Err(e) => return e,
        };
        self.received.push(doc.clone());
        let data = &doc["data"];
        if data["type"] != "users" {
            return error(409, "Conflict", "data.type must be \"users\"", Some("/data/type"));
        }
        let Some(attrs) = data["attributes"].as_object() else {
            return error(
                422,
                "Unprocessable Entity",
                "data.attributes is required",
                Some("/data/attributes"),
            );
        };
        let mut attrs = attrs.clone();
        for f in ["fname", "lname", "username"] {
            if !attrs.contains_key(f) {
                return invalid(f, &format!("{f} is required"));
            }
        }
        if let Err(e) = self.check_attributes(&attrs, None) {
            return e;
        }
        if attrs.get("generate_random_password") == Some(&Json::Bool(true)) {
            if attrs.get("notification_email").is_none() {
                return invalid(
                    "notification_email",
                    "a generated password needs a notification email",
                );
            }
            attrs.insert("force_password_change".into(), Json::Bool(true));
        }
        let mut relationships = match self.check_relationships(data, None) {
            Ok(r) => r,
            Err(e) => return e,
        };
        relationships.retain(|_, r| !r.is_null());
        let password = attrs.remove("password").and_then(|p| p.as_str().map(str::to_string));
        attrs.entry("active").or_insert(Json::Bool(true));
        let id = self.next.to_string();
        self.next += 1;
        if let Some(p) = password {
            self.passwords.insert(id.clone(), p);
        }
        let user =
            json!({"type": "users", "id": id, "attributes": attrs, "relationships": relationships});
        self.users.push(user.clone());
        SimResponse::json(201, json!({ "data": user }))
    }

    /// Checks attribute values as create and PATCH both do: required names
    /// not blank, e-mails, dates, the directory access choice, booleans, and
    /// username, e-mail and payroll identifier unique among the other users
    /// (`except`: the user being changed).
    fn check_attributes(
        &self,
        attrs: &Map<String, Json>,
        except: Option<&str>,
    ) -> Result<(), SimResponse> {
        for f in ["fname", "lname", "username"] {
            if let Some(v) = attrs.get(f)
                && v.as_str().is_none_or(|s| s.trim().is_empty())
            {
                return Err(invalid(f, &format!("{f} is required")));
            }
        }
        for (f, what) in [
            ("username", "username"),
            ("email", "email"),
            ("payroll_identifier", "payroll identifier"),
        ] {
            let Some(v) = attrs.get(f).and_then(Json::as_str) else { continue };
            let taken = self.users.iter().any(|u| {
                Some(u["id"].as_str().unwrap_or_default()) != except
                    && u["attributes"][f].as_str().is_some_and(|x| x.eq_ignore_ascii_case(v))
            });
            if taken {
                return Err(invalid(f, &format!("the {what} {v:?} is already taken")));
            }
        }
        for f in ["email", "notification_email"] {
            if let Some(e) = attrs.get(f).and_then(Json::as_str)
                && (!e.contains('@') || e.contains(' '))
            {
                return Err(invalid(f, &format!("{e:?} is not a valid e-mail address")));
            }
        }
        if let Some(a) = attrs.get("employee_directory_access")
            && !a.as_str().is_some_and(|a| DIRECTORY_ACCESS.contains(&a))
        {
            return Err(invalid(
                "employee_directory_access",
                &format!("must be one of {}", DIRECTORY_ACCESS.join(", ")),
            ));
        }
        for f in ["hire_date", "start_date", "last_day", "transfer_date"] {
            if let Some(d) = attrs.get(f)
                && d.as_str()
                    .is_none_or(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
            {
                return Err(invalid(f, "must be a date YYYY-MM-DD"));
            }
        }
        for f in BOOLEANS {
            if let Some(b) = attrs.get(*f)
                && !b.is_boolean()
            {
                return Err(invalid(f, "must be true or false"));
            }
        }
        Ok(())
    }

    /// The relationships of a document, each to a user that exists (and,
    /// when changing `except`, not to that user itself); `data: null`
    /// removes one.
    fn check_relationships(
        &self,
        data: &Json,
        except: Option<&str>,
    ) -> Result<Map<String, Json>, SimResponse> {
        let mut relationships = Map::new();
        let Some(rels) = data["relationships"].as_object() else { return Ok(relationships) };
        for (name, rel) in rels {
            let pointer = format!("/data/relationships/{name}");
            if !matches!(name.as_str(), "reports_to" | "recruited_by") {
                return Err(error(
                    422,
                    "Unprocessable Entity",
                    &format!("{name}: unknown relationship"),
                    Some(&pointer),
                ));
            }
            if rel["data"].is_null() && rel.get("data").is_some() {
                relationships.insert(name.clone(), Json::Null);
                continue;
            }
            let id = rel["data"]["id"].as_str().unwrap_or_default();
            if rel["data"]["type"] != "users" || !self.users.iter().any(|u| u["id"] == id) {
                return Err(error(
                    422,
                    "Unprocessable Entity",
                    &format!("{name}: no user {id}"),
                    Some(&pointer),
                ));
            }
            if Some(id) == except {
                return Err(error(
                    422,
                    "Unprocessable Entity",
                    &format!("{name}: a user cannot relate to themselves"),
                    Some(&pointer),
                ));
            }
            relationships.insert(name.clone(), rel.clone());
        }
        Ok(relationships)
    }

    /// JSON:API update (`PATCH /users/{id}`): only the attributes and
    /// relationships the document gives change. The sandbox's choice where
    /// the vendor says nothing: an unknown attribute is 422, and a password
    /// (or a generated one) cannot be set this way, since it is not state
    /// a PATCH can read back.
    fn patch(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let doc = match req.json() {
            Ok(d) => d,
            Err(e) => return e,
        };
        self.patches.push((id.to_string(), doc.clone()));
        let Some(at) = self.users.iter().position(|u| u["id"] == id) else {
            return error(404, "Not Found", &format!("no user {id}"), None);
        };
        let data = &doc["data"];
        // JSON:API: the type and id must be those of the URL (409).
        if data["type"] != "users" {
            return error(409, "Conflict", "data.type must be \"users\"", Some("/data/type"));
        }
        if data["id"].as_str() != Some(id) {
            return error(
                409,
                "Conflict",
                &format!("data.id must be {id:?}, the user of the URL"),
                Some("/data/id"),
            );
        }
        let attrs = match data.get("attributes") {
            None => Map::new(),
            Some(Json::Object(a)) => a.clone(),
            Some(_) => {
                return error(
                    400,
                    "Bad Request",
                    "data.attributes must be an object",
                    Some("/data/attributes"),
                );
            }
        };
        for k in attrs.keys() {
            if ["password", "generate_random_password"].contains(&k.as_str()) {
                return invalid(k, &format!("{k} cannot be changed on an existing user"));
            }
            if !ATTRIBUTES.contains(&k.as_str()) {
                return invalid(k, &format!("{k} is not an attribute of users"));
            }
        }
        if let Err(e) = self.check_attributes(&attrs, Some(id)) {
            return e;
        }
        let relationships = match self.check_relationships(data, Some(id)) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let u = &mut self.users[at];
        for (k, v) in attrs {
            u["attributes"][k] = v;
        }
        for (k, v) in relationships {
            match (v.is_null(), u["relationships"].as_object_mut()) {
                (true, Some(r)) => {
                    r.remove(&k);
                }
                _ => u["relationships"][k] = v,
            }
        }
        SimResponse::json(200, json!({ "data": u }))
    }

    fn list(&self, req: &SimRequest) -> SimResponse {
        let mut users: Vec<&Json> = self.users.iter().collect();
        if let Some(f) = req.param("filter") {
            match Filter::parse(f) {
                Ok(filter) => users.retain(|u| filter.matches(&u["attributes"])),
                Err(e) => return error(400, "Bad Request", &format!("filter: {e}"), None),
            }
        }
        let number =
            req.param("page[number]").and_then(|n| n.parse::<usize>().ok()).unwrap_or(1).max(1);
        let size = match req.param("page[size]").map(str::parse::<usize>) {
            None => 25,
            Some(Ok(s)) if (1..=100).contains(&s) => s,
            _ => return error(400, "Bad Request", "page[size] must be between 1 and 100", None),
        };
        let total = users.len();
        let page: Vec<Json> =
            users.into_iter().skip((number - 1) * size).take(size).cloned().collect();
        let mut links =
            json!({"self": format!("{}?page[number]={number}&page[size]={size}", req.path)});
        if number * size < total {
            links["next"] =
                json!(format!("{}?page[number]={}&page[size]={size}", req.path, number + 1));
        }
        SimResponse::json(200, json!({"data": page, "links": links, "meta": {"total": total}}))
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.counters.requests += 1;
        if req.header("x-securitytrax-integratorkey") != Some(INTEGRATOR_KEY) {
            return error(
                401,
                "Unauthorized",
                "missing or invalid X-SecurityTrax-IntegratorKey",
                None,
            );
        }
        let seg = req.segments();
        let Some((&profile, rest)) = seg.split_first() else {
            return error(404, "Not Found", "no route", None);
        };
        if profile != PROFILE {
            return error(404, "Not Found", &format!("no profile {profile:?}"), None);
        }
        let m = &req.method;
        if rest == ["user", "v1", "authenticate"] && m == Method::POST {
            return self.authenticate(req);
        }
        if !self.token_ok(req) {
            return error(401, "Unauthorized", "missing, invalid or expired token", None);
        }
        if matches!(*m, Method::POST | Method::PATCH)
            && !req.header("content-type").is_some_and(|c| c.starts_with(JSONAPI))
        {
            return error(415, "Unsupported Media Type", "send application/vnd.api+json", None);
        }
        match rest {
            ["user", "v1", "users"] if m == Method::GET => self.list(req),
            ["user", "v1", "users"] if m == Method::POST => self.create(req),
            ["user", "v1", "users", id] if m == Method::GET => {
                match self.users.iter().find(|u| u["id"] == *id) {
                    Some(u) => SimResponse::json(200, json!({ "data": u })),
                    None => error(404, "Not Found", &format!("no user {id}"), None),
                }
            }
            ["user", "v1", "users", id] if m == Method::PATCH => self.patch(req, id),
            ["user", "v1", "users", _] if m == Method::DELETE => error(
                405,
                "Method Not Allowed",
                "users are never deleted: set active to false",
                None,
            ),
            _ => {
                error(404, "Not Found", &format!("no route for {} {}", req.method, req.path), None)
            }
        }
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

fn error(status: u16, title: &str, detail: &str, pointer: Option<&str>) -> SimResponse {
    let mut e = json!({"status": status.to_string(), "title": title, "detail": detail});
    if let Some(p) = pointer {
        e["source"] = json!({ "pointer": p });
    }
    SimResponse::json(status, json!({ "errors": [e] }))
}

fn invalid(attribute: &str, detail: &str) -> SimResponse {
    error(422, "Unprocessable Entity", detail, Some(&format!("/data/attributes/{attribute}")))
}

/// SecurityTrax's `filter=` expressions.
#[derive(Debug, PartialEq)]
enum Filter {
    Compare { field: String, op: String, value: String },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    fn parse(s: &str) -> Result<Filter, String> {
        let tokens = tokenize(s)?;
        let mut p = Parser { tokens, pos: 0 };
        let f = p.or()?;
        if p.pos != p.tokens.len() {
            return Err(format!("unexpected {:?}", p.tokens[p.pos]));
        }
        Ok(f)
    }

    fn matches(&self, attrs: &Json) -> bool {
        match self {
            Filter::And(a, b) => a.matches(attrs) && b.matches(attrs),
            Filter::Or(a, b) => a.matches(attrs) || b.matches(attrs),
            Filter::Compare { field, op, value } => {
                let have = match &attrs[field] {
                    Json::String(s) => s.clone(),
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                let ord = match (have.parse::<f64>(), value.parse::<f64>()) {
                    (Ok(a), Ok(b)) => a.partial_cmp(&b),
                    _ => Some(have.to_lowercase().cmp(&value.to_lowercase())),
                };
                match op.as_str() {
                    "=" => have.eq_ignore_ascii_case(value),
                    "!=" => !have.eq_ignore_ascii_case(value),
                    "<" => ord.is_some_and(|o| o.is_lt()),
                    ">" => ord.is_some_and(|o| o.is_gt()),
                    "<=" => ord.is_some_and(|o| o.is_le()),
                    ">=" => ord.is_some_and(|o| o.is_ge()),
                    "~" => like(&have, value),
                    "!~" => !like(&have, value),
                    _ => false,
                }
            }
        }
    }
}

/// `%` matches any run of characters; ignores case.
fn like(have: &str, pattern: &str) -> bool {
    let have = have.to_lowercase();
    let parts: Vec<String> = pattern.to_lowercase().split('%').map(str::to_string).collect();
    if parts.len() == 1 {
        return have == parts[0];
    }
    let mut rest = have.as_str();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p.as_str()) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p.as_str());
        } else {
            let Some(at) = rest.find(p.as_str()) else { return false };
            rest = &rest[at + p.len()..];
        }
    }
    true
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Word(String),
    Quoted(String),
    Op(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err("unclosed quote".into()),
                        Some('\'') if c.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Quoted(v));
            }
            '=' | '<' | '>' | '!' | '~' => {
                let two: String = c[i..(i + 2).min(c.len())].iter().collect();
                let op = if ["!=", "<=", ">=", "!~"].contains(&two.as_str()) {
                    two
                } else {
                    c[i].to_string()
                };
                if op == "!" {
                    return Err("lone !".into());
                }
                i += op.chars().count();
                out.push(Tok::Op(op));
            }
            _ => {
                let start = i;
                while i < c.len() && !" \t()='<>!~".contains(c[i]) {
                    i += 1;
                }
                out.push(Tok::Word(c[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn keyword(&mut self, k: &str) -> bool {
        if let Some(Tok::Word(w)) = self.tokens.get(self.pos)
            && w.eq_ignore_ascii_case(k)
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut f = self.and()?;
        while self.keyword("OR") {
            f = Filter::Or(Box::new(f), Box::new(self.and()?));
        }
        Ok(f)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut f = self.term()?;
        while self.keyword("AND") {
            f = Filter::And(Box::new(f), Box::new(self.term()?));
        }
        Ok(f)
    }

    fn term(&mut self) -> Result<Filter, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let f = self.or()?;
                if self.tokens.get(self.pos) != Some(&Tok::Close) {
                    return Err("missing )".into());
                }
                self.pos += 1;
                Ok(f)
            }
            Some(Tok::Word(field)) => {
                self.pos += 1;
                let Some(Tok::Op(op)) = self.tokens.get(self.pos).cloned() else {
                    return Err(format!("expected an operator after {field}"));
                };
                self.pos += 1;
                let value = match self.tokens.get(self.pos).cloned() {
                    Some(Tok::Quoted(v)) | Some(Tok::Word(v)) => v,
                    other => return Err(format!("expected a value, got {other:?}")),
                };
                self.pos += 1;
                Ok(Filter::Compare { field, op, value })
            }
            other => Err(format!("expected a condition, got {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_grammar() {
        let a = json!({"username": "o'brien", "created_at": "2020-01-15", "age": 40, "record_type": "lead"});
        for (f, want) in [
            ("username = 'O''Brien'", true),
            ("record_type = 'lead'", true),
            ("(created_at >= '2020-01-01' AND created_at <= '2020-01-31')", true),
            ("age > 39 AND (record_type != 'lead' OR username ~ 'o%n')", true),
            ("username !~ '%bri%'", false),
            ("age < 10 OR record_type = 'customer'", false),
        ] {
            assert_eq!(Filter::parse(f).unwrap().matches(&a), want, "{f}");
        }
        assert!(Filter::parse("username = 'x").is_err());
        assert!(Filter::parse("(a = 1").is_err());
    }

    fn req(method: Method, path: &str, body: Json, token: Option<&str>) -> SimRequest {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers =
            vec![("x-securitytrax-integratorkey", INTEGRATOR_KEY), ("content-type", JSONAPI)];
        headers.extend(bearer.as_deref().map(|b| ("authorization", b)));
        SimRequest::test(method, path, &[], &headers, body)
    }

    #[test]
    fn tokens_expire_and_users_follow_the_rules() {
        let mut s = Sim::new(&SandboxConfig {
            token_ttl: Duration::from_millis(50),
            ..SandboxConfig::default()
        });
        let r = s.handle(&req(
            Method::POST,
            "/sandbox/user/v1/authenticate",
            json!({"username": "api", "password": "sandbox"}),
            None,
        ));
        let t = r.body["token"].as_str().unwrap().to_string();
        let doc = json!({"data": {"type": "users", "attributes": {"fname": "A", "lname": "B", "username": "ab", "generate_random_password": true}}});
        let r = s.handle(&req(Method::POST, "/sandbox/user/v1/users", doc, Some(&t)));
        assert_eq!(r.status, 422, "a generated password needs a notification e-mail");
        let doc = json!({"data": {"type": "users", "attributes": {"fname": "A", "lname": "B", "username": "ab"},
                                 "relationships": {"reports_to": {"data": {"type": "users", "id": "2"}}}}});
        let r = s.handle(&req(Method::POST, "/sandbox/user/v1/users", doc, Some(&t)));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(s.related(s.by_username("ab").unwrap(), "reports_to").as_deref(), Some("2"));
        let mut wrong_type = req(Method::POST, "/sandbox/user/v1/users", json!({}), Some(&t));
        wrong_type.headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(s.handle(&wrong_type).status, 415);
        assert_eq!(
            s.handle(&req(Method::DELETE, "/sandbox/user/v1/users/3", Json::Null, Some(&t))).status,
            405
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.handle(&req(Method::GET, "/sandbox/user/v1/users", Json::Null, Some(&t))).status,
            401
        );
        let mut no_key = req(Method::GET, "/sandbox/user/v1/users", Json::Null, Some(&t));
        no_key
            .headers
            .insert("x-securitytrax-integratorkey", "SANDBOX-INTEGRATOR".parse().unwrap());
        assert_eq!(s.handle(&no_key).status, 401, "the key is case-sensitive");
    }

    fn signed_in() -> (Sim, String) {
        let mut s = Sim::new(&SandboxConfig::default());
        let r = s.handle(&req(
            Method::POST,
            "/sandbox/user/v1/authenticate",
            json!({"username": "api", "password": "sandbox"}),
            None,
        ));
        let t = r.body["token"].as_str().unwrap().to_string();
        (s, t)
    }

    fn patch_user(s: &mut Sim, t: &str, id: &str, data: Json) -> SimResponse {
        let path = format!("/sandbox/user/v1/users/{id}");
        s.handle(&req(Method::PATCH, &path, json!({ "data": data }), Some(t)))
    }

    #[test]
    fn patch_changes_only_the_given_attributes_and_relationships() {
        let (mut s, t) = signed_in();
        let before = s.by_username("mgarcia").unwrap().clone();
        let r = patch_user(
            &mut s,
            &t,
            "2",
            json!({"type": "users", "id": "2",
                   "attributes": {"title": "Regional Manager", "can_login": false},
                   "relationships": {"reports_to": {"data": {"type": "users", "id": "1"}}}}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["attributes"]["title"], "Regional Manager");
        let after = s.by_username("mgarcia").unwrap().clone();
        let mut want = before["attributes"].clone();
        want["title"] = json!("Regional Manager");
        want["can_login"] = json!(false);
        assert_eq!(after["attributes"], want, "nothing else changed");
        assert_eq!(s.related(&after, "reports_to").as_deref(), Some("1"));
        // `data: null` removes a relationship.
        let r = patch_user(
            &mut s,
            &t,
            "2",
            json!({"type": "users", "id": "2", "relationships": {"reports_to": {"data": null}}}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(s.related(s.by_username("mgarcia").unwrap(), "reports_to"), None);
        // The same values again are no conflict with the user itself.
        let r = patch_user(
            &mut s,
            &t,
            "2",
            json!({"type": "users", "id": "2", "attributes": {"username": "MGarcia", "email": "maria.garcia@example.com", "payroll_identifier": "P-0001"}}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }

    #[test]
    fn patch_refuses_what_the_vendor_would_and_changes_nothing() {
        let (mut s, t) = signed_in();
        let before = s.users.clone();
        let user = |attributes: Json| json!({"type": "users", "id": "2", "attributes": attributes});
        for (data, status, pointer, detail) in [
            (
                user(json!({"username": "API"})),
                422,
                "/data/attributes/username",
                "the username \"API\" is already taken",
            ),
            (
                user(json!({"email": "x"})),
                422,
                "/data/attributes/email",
                "\"x\" is not a valid e-mail address",
            ),
            (
                user(json!({"nickname": "M"})),
                422,
                "/data/attributes/nickname",
                "nickname is not an attribute of users",
            ),
            (
                user(json!({"password": "p-1"})),
                422,
                "/data/attributes/password",
                "password cannot be changed on an existing user",
            ),
            (
                user(json!({"hire_date": "2026-02-30"})),
                422,
                "/data/attributes/hire_date",
                "must be a date YYYY-MM-DD",
            ),
            (
                user(json!({"active": "no"})),
                422,
                "/data/attributes/active",
                "must be true or false",
            ),
            (
                user(json!({"employee_directory_access": "Everyone"})),
                422,
                "/data/attributes/employee_directory_access",
                "must be one of None, All, Shared Locations, Hierarchy",
            ),
            (user(json!({"lname": " "})), 422, "/data/attributes/lname", "lname is required"),
            (user(json!("x")), 400, "/data/attributes", "data.attributes must be an object"),
            (
                json!({"type": "users", "id": "1", "attributes": {}}),
                409,
                "/data/id",
                "data.id must be \"2\", the user of the URL",
            ),
            (
                json!({"type": "people", "id": "2"}),
                409,
                "/data/type",
                "data.type must be \"users\"",
            ),
            (
                json!({"type": "users", "id": "2", "relationships": {"reports_to": {"data": {"type": "users", "id": "2"}}}}),
                422,
                "/data/relationships/reports_to",
                "reports_to: a user cannot relate to themselves",
            ),
            (
                json!({"type": "users", "id": "2", "relationships": {"recruited_by": {"data": {"type": "users", "id": "99"}}}}),
                422,
                "/data/relationships/recruited_by",
                "recruited_by: no user 99",
            ),
        ] {
            let r = patch_user(&mut s, &t, "2", data.clone());
            assert_eq!(r.status, status, "{data}: {}", r.body);
            let e = &r.body["errors"][0];
            assert_eq!(e["status"], status.to_string(), "{data}");
            assert_eq!(e["source"]["pointer"], pointer, "{data}");
            assert_eq!(e["detail"], detail, "{data}");
        }
        assert_eq!(s.users, before, "nothing changed");
    }

    #[test]
    fn patch_of_an_unknown_user_or_to_a_taken_key_is_refused() {
        let (mut s, t) = signed_in();
        let before = s.users.clone();
        let user = |attributes: Json| json!({"type": "users", "id": "2", "attributes": attributes});
        let r = patch_user(
            &mut s,
            &t,
            "99",
            json!({"type": "users", "id": "99", "attributes": {"title": "X"}}),
        );
        assert_eq!(r.status, 404);
        assert_eq!(r.body["errors"][0]["detail"], "no user 99");
        assert_eq!(s.users, before, "nothing changed");
        // Payroll identifiers and e-mails are unique among users too.
        let doc = json!({"data": {"type": "users", "attributes": {"fname": "A", "lname": "B", "username": "ab", "email": "ab@example.com", "payroll_identifier": "P-9"}}});
        assert_eq!(
            s.handle(&req(Method::POST, "/sandbox/user/v1/users", doc, Some(&t))).status,
            201
        );
        for attributes in [json!({"payroll_identifier": "p-9"}), json!({"email": "AB@example.com"})]
        {
            assert_eq!(
                patch_user(&mut s, &t, "2", user(attributes.clone())).status,
                422,
                "{attributes}"
            );
        }
    }
}
