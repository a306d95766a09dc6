//! Trackops imitation, faithful to `vendor-apis.md` §4 and §6.4.
//!
//! What is published is reproduced: HTTP Basic as `{user}/token` with the
//! company API token, only active Full Access employees allowed, the staff
//! filters, and employees created at a *company* location with a role made
//! for employees. What is not published (paging, status codes, the error body,
//! duplicate e-mails, every other field) is this module's choice, marked [U],
//! and mostly held in public fields so tests can imitate another server.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};

use axum::http::Method;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};

/// The API employee's username (hrport sends `api/token`).
pub const USERNAME: &str = "api";
/// The company API token.
pub const API_TOKEN: &str = "sandbox-trackops";

/// Where the sandbox serves Trackops and the API user and token it accepts.
pub const ACCESS: VendorAccess = VendorAccess {
    vendor: "trackops",
    prefix: "/trackops",
    credentials: &[("username", USERNAME), ("api_token", API_TOKEN)],
};
/// An active employee with Limited Access: the API refuses them.
pub const LIMITED_USERNAME: &str = "limited";
/// A client contact: the API refuses them.
pub const CONTACT_USERNAME: &str = "contact";

pub const FULL_ACCESS: &str = "Full Access";
pub const ACCESS_LEVELS: &[&str] = &["Disabled", "Limited Access", FULL_ACCESS];

/// [U] The fields an update may change: those a create stores.
const UPDATABLE: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "access_level",
    "client_id",
    "role_id",
    "tags",
    "work_preferences",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LocationKind {
    /// One of the company's own offices: employees belong to one.
    Company,
    /// A client's location: for client contacts, never for employees.
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RoleKind {
    Employee,
    ClientContact,
    Vendor,
}

/// Demo locations (id, name, kind). Trackops has no endpoint listing them,
/// so hrport users name them in a profile; the docs list these ids.
pub const LOCATIONS: &[(u64, &str, LocationKind)] = &[
    (1, "Acme Insurance - Claims", LocationKind::Client),
    (2, "Globex Legal - Chicago", LocationKind::Client),
    (3, "Head Office", LocationKind::Company),
    (4, "Denver Field Office", LocationKind::Company),
    (5, "Tampa Field Office", LocationKind::Company),
];

/// Demo roles (id, name, who they are for).
pub const ROLES: &[(u64, &str, RoleKind)] = &[
    (6, "Client Manager", RoleKind::ClientContact),
    (7, "Investigator", RoleKind::Employee),
    (8, "Case Manager", RoleKind::Employee),
    (9, "Administrator", RoleKind::Employee),
    (10, "Subcontractor", RoleKind::Vendor),
];

/// Who a username is.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiUser {
    /// A staff member, by id: allowed when their access level is Full Access.
    Staff(u64),
    ClientContact,
}

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub requests: u64,
    pub creates: u64,
    /// Updates applied (PATCH or PUT /api/v1/staff/{id}).
    pub updates: u64,
    /// Requests refused with 401 or 403.
    pub refused: u64,
}

pub struct Sim {
    /// Every staff member (employees and vendors) as the API shows them.
    pub staff: BTreeMap<u64, Json>,
    pub users: Vec<(String, ApiUser)>,
    pub api_token: String,
    /// "API access has to be activated first": 403 when off.
    pub api_enabled: bool,
    /// Decoded photos received with creates, by staff id.
    pub photos: HashMap<u64, Vec<u8>>,
    /// Staff ids a login invitation was sent to.
    pub invitations: Vec<u64>,
    /// [U] paging: `page` (from 1) and `per_page` (default 25, at most 100).
    pub page_param: String,
    pub per_page_param: String,
    pub default_per_page: usize,
    pub max_per_page: usize,
    /// [U] the body field holding the photo (base64 or a data URI).
    pub photo_field: String,
    /// Creates to apply and then answer 500, as if the answer were lost
    /// (tests of the look-up that settles a lost create).
    pub fail_after_create: u32,
    pub counters: Counters,
    next_id: u64,
}

impl Sim {
    pub fn new(_cfg: &SandboxConfig) -> Sim {
        let mut s = Sim {
            staff: BTreeMap::new(),
            users: Vec::new(),
            api_token: API_TOKEN.into(),
            api_enabled: true,
            photos: HashMap::new(),
            invitations: Vec::new(),
            page_param: "page".into(),
            per_page_param: "per_page".into(),
            default_per_page: 25,
            max_per_page: 100,
            photo_field: "photo".into(),
            fail_after_create: 0,
            counters: Counters::default(),
            next_id: 100,
        };
        let at = "2026-01-05T09:00:00Z";
        let api = s.seed_staff(json!({
            "first_name": "API", "last_name": "User", "email": "api@sandbox.example",
            "access_level": FULL_ACCESS, "client_id": 3, "role_id": 9,
            "created_at": at, "updated_at": at
        }));
        let limited = s.seed_staff(json!({
            "first_name": "Lee", "last_name": "Limited", "email": "lee.limited@sandbox.example",
            "access_level": "Limited Access", "client_id": 4, "role_id": 7,
            "created_at": at, "updated_at": at
        }));
        s.seed_staff(json!({
            "first_name": "Vic", "last_name": "Vendor", "email": "vic@vendor.example",
            "is_vendor": true, "access_level": "Disabled", "client_id": null, "role_id": 10,
            "created_at": at, "updated_at": at
        }));
        s.users = vec![
            (USERNAME.into(), ApiUser::Staff(api)),
            (LIMITED_USERNAME.into(), ApiUser::Staff(limited)),
            (CONTACT_USERNAME.into(), ApiUser::ClientContact),
        ];
        s.next_id = 200;
        s
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Adds a staff member directly, as if created in the web app; missing
    /// fields get the defaults a create gives them.
    pub fn seed_staff(&mut self, fields: Json) -> u64 {
        let id = self.id();
        let now = timestamp(Utc::now());
        let mut e = json!({
            "id": id, "first_name": "", "last_name": "", "email": null, "phone": null,
            "title": null, "access_level": "Disabled", "is_vendor": false, "client_id": null,
            "role_id": null, "tags": [], "work_preferences": [],
            "created_at": now, "updated_at": now
        });
        if let Json::Object(m) = fields {
            for (k, v) in m {
                e[k] = v;
            }
        }
        e["id"] = json!(id);
        self.staff.insert(id, e);
        id
    }

    /// Employees only (vendors left out), in id order.
    pub fn employees(&self) -> Vec<&Json> {
        self.staff.values().filter(|e| e["is_vendor"] != json!(true)).collect()
    }

    pub fn by_email(&self, email: &str) -> Option<&Json> {
        self.staff
            .values()
            .find(|e| e["email"].as_str().is_some_and(|m| m.eq_ignore_ascii_case(email)))
    }

    /// HTTP Basic `{username}/token:{api_token}`; only an active Full Access
    /// employee may use the API. Codes [U]: 401 for wrong credentials, 403
    /// for a user who is not permitted or a company without API access.
    fn authenticate(&self, req: &SimRequest) -> Result<(), SimResponse> {
        let unauthorized = || SimResponse::error(401, "Invalid username or API token");
        let decoded = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                SimResponse::error(
                    401,
                    "Authentication required: HTTP Basic with {username}/token and the API token",
                )
            })?;
        let (user, token) = decoded.split_once(':').ok_or_else(unauthorized)?;
        let user = user.strip_suffix("/token").ok_or_else(|| {
            SimResponse::error(401, "The username must be given as {username}/token")
        })?;
        if token != self.api_token {
            return Err(unauthorized());
        }
        if !self.api_enabled {
            return Err(SimResponse::error(403, "API access is not activated for this company"));
        }
        match self.users.iter().find(|(u, _)| u == user).map(|(_, who)| who) {
            None => Err(unauthorized()),
            Some(ApiUser::ClientContact) => {
                Err(SimResponse::error(403, "Client contacts may not use the API"))
            }
            Some(ApiUser::Staff(id)) => {
                let level = self.staff.get(id).and_then(|e| e["access_level"].as_str());
                if level == Some(FULL_ACCESS) {
                    Ok(())
                } else {
                    Err(SimResponse::error(
                        403,
                        &format!(
                            "Only active Full Access employees may use the API ({user} has {})",
                            level.unwrap_or("no access")
                        ),
                    ))
                }
            }
        }
    }

    fn api(&mut self, req: &SimRequest, seg: &[&str]) -> SimResponse {
        let m = &req.method;
        match seg {
            ["staff"] if m == Method::GET => self.list(req),
            ["staff", "employees"] if m == Method::POST => self.create_employee(req),
            ["staff", id] if m == Method::PATCH || m == Method::PUT => {
                self.update_employee(req, id)
            }
            ["staff", id] if m == Method::GET => {
                match id.parse::<u64>().ok().and_then(|id| self.staff.get(&id)) {
                    Some(e) => SimResponse::json(200, e.clone()),
                    None => SimResponse::error(404, "Staff member not found"),
                }
            }
            _ => SimResponse::error(
                404,
                &format!("no route for {} /api/v1/{}", req.method, seg.join("/")),
            ),
        }
    }

    /// `GET /api/v1/staff`: the §4.2 filters, then [U] paging, answered as a
    /// bare JSON array in id order.
    fn list(&self, req: &SimRequest) -> SimResponse {
        let int = |name: &str| -> Result<Option<u64>, SimResponse> {
            req.param(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        SimResponse::error(400, &format!("{name} must be an integer, not {v:?}"))
                    })
                })
                .transpose()
        };
        let boolean = |name: &str| -> Result<Option<bool>, SimResponse> {
            req.param(name)
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(SimResponse::error(
                        400,
                        &format!("{name} must be true or false, not {v:?}"),
                    )),
                })
                .transpose()
        };
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, SimResponse> {
            req.param(name)
                .map(|v| {
                    parse_time(v).ok_or_else(|| {
                        SimResponse::error(
                            400,
                            &format!("{name} must be a UTC timestamp like 2026-01-31T17:00:00Z"),
                        )
                    })
                })
                .transpose()
        };
        let parsed = (|| {
            Ok::<_, SimResponse>((
                int("id")?,
                int("role")?,
                boolean("is_vendor")?,
                [time("created_from")?, time("created_to")?],
                [time("updated_from")?, time("updated_to")?],
                boolean("expand_field_values")?.unwrap_or(false),
                int(&self.page_param)?.unwrap_or(1).max(1) as usize,
                int(&self.per_page_param)?
                    .map(|n| (n as usize).clamp(1, self.max_per_page))
                    .unwrap_or(self.default_per_page),
            ))
        })();
        let (id, role, is_vendor, created, updated, expand, page, per_page) = match parsed {
            Ok(p) => p,
            Err(e) => return e,
        };
        let same_text = |e: &Json, field: &str| {
            req.param(field).is_none_or(|want| {
                e[field].as_str().is_some_and(|have| have.eq_ignore_ascii_case(want.trim()))
            })
        };
        let within = |e: &Json, field: &str, range: &[Option<DateTime<Utc>>; 2]| {
            let t = e[field].as_str().and_then(parse_time);
            range[0].is_none_or(|from| t.is_some_and(|t| t >= from))
                && range[1].is_none_or(|to| t.is_some_and(|t| t <= to))
        };
        let page: Vec<Json> = self
            .staff
            .values()
            .filter(|e| id.is_none_or(|id| e["id"] == json!(id)))
            .filter(|e| role.is_none_or(|r| e["role_id"] == json!(r)))
            .filter(|e| is_vendor.is_none_or(|v| e["is_vendor"] == json!(v)))
            .filter(|e| ["email", "first_name", "last_name"].iter().all(|f| same_text(e, f)))
            .filter(|e| within(e, "created_at", &created) && within(e, "updated_at", &updated))
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|e| {
                let mut e = e.clone();
                if expand {
                    // The sandbox has no custom fields.
                    e["field_values"] = json!({});
                }
                e
            })
            .collect();
        SimResponse::json(200, Json::Array(page))
    }

    /// The checks a create and an update share, on the fields `body` holds.
    /// `updating` is the staff member an update changes: then a field left
    /// out keeps its value (so nothing is required), and its own e-mail is
    /// no duplicate. Published: client_id a company location, role_id a
    /// role available for employees; the rest is [U].
    fn check_fields(&self, body: &Map<String, Json>, updating: Option<u64>) -> Map<String, Json> {
        let mut errors = Map::new();
        let mut err = |f: &str, m: &str| {
            errors.insert(f.to_string(), json!([m]));
        };
        let required = updating.is_none();
        match body.get("client_id") {
            None if !required => {}
            None | Some(Json::Null) => err("client_id", "is required"),
            Some(v) => match v.as_u64().and_then(|id| LOCATIONS.iter().find(|l| l.0 == id)) {
                None if !v.is_u64() => err("client_id", "must be an integer"),
                None => err("client_id", &format!("no location with id {v}")),
                Some((id, name, LocationKind::Client)) => err(
                    "client_id",
                    &format!(
                        "location {id} ({name}) is a client location; employees belong to a company location"
                    ),
                ),
                Some(_) => {}
            },
        }
        match body.get("role_id") {
            None if !required => {}
            None | Some(Json::Null) => err("role_id", "is required"),
            Some(v) => match v.as_u64().and_then(|id| ROLES.iter().find(|r| r.0 == id)) {
                None if !v.is_u64() => err("role_id", "must be an integer"),
                None => err("role_id", &format!("no role with id {v}")),
                Some((id, name, kind)) if *kind != RoleKind::Employee => {
                    err("role_id", &format!("role {id} ({name}) is not available for employees"))
                }
                Some(_) => {}
            },
        }
        // [U] from here on: names and rules are the sandbox's guesses.
        for f in ["first_name", "last_name"] {
            if (required || body.contains_key(f))
                && body.get(f).and_then(Json::as_str).is_none_or(|s| s.trim().is_empty())
            {
                err(f, "is required");
            }
        }
        for f in ["first_name", "last_name", "email", "phone", "title", "access_level"] {
            if body.get(f).is_some_and(|v| !v.is_string() && !v.is_null()) {
                err(f, "must be a string");
            }
        }
        if let Some(m) = body.get("email").and_then(Json::as_str).filter(|m| !m.is_empty()) {
            if !looks_like_email(m) {
                err("email", "is not a valid email address");
            } else if self
                .by_email(m)
                .is_some_and(|e| updating.is_none_or(|id| e["id"] != json!(id)))
            {
                err("email", "has already been taken");
            }
        }
        if let Some(level) = body.get("access_level").and_then(Json::as_str)
            && !ACCESS_LEVELS.contains(&level)
        {
            err("access_level", &format!("must be one of {}", ACCESS_LEVELS.join(", ")));
        }
        for f in ["tags", "work_preferences"] {
            if let Some(v) = body.get(f)
                && !v.as_array().is_some_and(|a| a.iter().all(Json::is_string))
            {
                err(f, "must be an array of strings");
            }
        }
        errors
    }

    /// [U] `PATCH` (or `PUT`) `/api/v1/staff/{id}`: Trackops publishes no
    /// update. The sandbox's choice: the body holds only the fields to
    /// change, under the create's names, checked as a create checks them;
    /// what it leaves out keeps its value. A field a staff member does not
    /// hold (or a create-only instruction: photo, send_login_invitation) is
    /// refused rather than ignored, so a wrong name cannot pass for a change.
    fn update_employee(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let Some(id) = id.parse::<u64>().ok().filter(|id| self.staff.contains_key(id)) else {
            return SimResponse::error(404, "Staff member not found");
        };
        if self.staff[&id]["is_vendor"] == json!(true) {
            return SimResponse::error(
                422,
                &format!("staff member {id} is a vendor; this endpoint updates employees"),
            );
        }
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        let mut errors = self.check_fields(&body, Some(id));
        for k in body.keys().filter(|k| !UPDATABLE.contains(&k.as_str())) {
            errors.insert(k.clone(), json!(["is not a field an update can change"]));
        }
        if !errors.is_empty() {
            return SimResponse::json(
                422,
                json!({"message": "Validation failed", "errors": Json::Object(errors)}),
            );
        }
        let e = self.staff.get_mut(&id).expect("checked above");
        for (k, v) in body {
            e[k] = v;
        }
        e["updated_at"] = json!(timestamp(Utc::now()));
        self.counters.updates += 1;
        SimResponse::json(200, e.clone())
    }

    fn create_employee(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        let mut errors = self.check_fields(&body, None);
        let mut err = |f: &str, m: &str| {
            errors.insert(f.to_string(), json!([m]));
        };
        let email = body.get("email").and_then(Json::as_str).filter(|m| !m.is_empty());
        let level = body.get("access_level").and_then(Json::as_str).unwrap_or("Disabled");
        let invite = match body.get("send_login_invitation") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => {
                err("send_login_invitation", "must be true or false");
                false
            }
        };
        if invite && !email.is_some_and(looks_like_email) {
            // Published (web app): the invitation needs a valid email.
            err("send_login_invitation", "needs a valid email");
        } else if invite && level == "Disabled" {
            err("send_login_invitation", "a Disabled employee cannot log in");
        }
        let photo = match body.get(&self.photo_field) {
            None | Some(Json::Null) => None,
            Some(v) => match v.as_str().map(decode_photo) {
                Some(Ok(bytes)) => Some(bytes),
                Some(Err(m)) => {
                    err(&self.photo_field, m);
                    None
                }
                None => {
                    err(&self.photo_field, "must be a base64 string");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return SimResponse::json(
                422,
                json!({"message": "Validation failed", "errors": Json::Object(errors)}),
            );
        }

        let mut fields = Map::new();
        for f in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "client_id",
            "role_id",
            "tags",
            "work_preferences",
        ] {
            if let Some(v) = body.get(f) {
                fields.insert(f.into(), v.clone());
            }
        }
        fields.insert("access_level".into(), json!(level));
        // Unknown body fields are ignored [U], as most JSON APIs do.
        let id = self.seed_staff(Json::Object(fields));
        if let Some(p) = photo {
            self.photos.insert(id, p);
        }
        if invite {
            self.invitations.push(id);
        }
        self.counters.creates += 1;
        if self.fail_after_create > 0 {
            self.fail_after_create -= 1;
            return SimResponse::error(500, "Internal Server Error");
        }
        SimResponse::json(201, self.staff[&id].clone())
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.counters.requests += 1;
        let seg = req.segments();
        match seg.as_slice() {
            ["api", "v1", rest @ ..] => {
                if let Err(refused) = self.authenticate(req) {
                    self.counters.refused += 1;
                    return refused;
                }
                self.api(req, rest)
            }
            _ => SimResponse::error(404, &format!("no route for {} {}", req.method, req.path)),
        }
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A UTC timestamp: RFC 3339, `YYYY-MM-DD HH:MM:SS` or a bare date.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn looks_like_email(m: &str) -> bool {
    match m.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !m.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A photo sent as base64 or a `data:` URI, checked to be a JPEG, GIF or
/// PNG by its first bytes (the sandbox's rule; Trackops publishes none).
fn decode_photo(s: &str) -> Result<Vec<u8>, &'static str> {
    let b64 = match s.strip_prefix("data:") {
        Some(rest) => {
            rest.split_once(";base64,").map(|(_, b)| b).ok_or("is not a base64 data URI")?
        }
        None => s,
    };
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "is not valid base64")?;
    let image = bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
        || bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    if image { Ok(bytes) } else { Err("is not a JPEG, GIF or PNG image") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req_as(
        user: &str,
        token: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Json,
    ) -> SimRequest {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        let basic = format!("Basic {basic}");
        let headers = [("content-type", "application/json"), ("authorization", basic.as_str())];
        SimRequest::test(method, path, query, &headers, body)
    }

    fn req(method: Method, path: &str, query: &[(&str, &str)], body: Json) -> SimRequest {
        req_as("api/token", API_TOKEN, method, path, query, body)
    }

    fn list(sim: &mut Sim, query: &[(&str, &str)]) -> Vec<Json> {
        let r = sim.handle(&req(Method::GET, "/api/v1/staff", query, Json::Null));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.as_array().unwrap().clone()
    }

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];

    #[test]
    fn only_full_access_employees_with_the_token_get_in() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let status = |sim: &mut Sim, user: &str, token: &str| {
            sim.handle(&req_as(user, token, Method::GET, "/api/v1/staff", &[], Json::Null)).status
        };
        assert_eq!(status(&mut sim, "api/token", API_TOKEN), 200);
        assert_eq!(status(&mut sim, "api/token", "wrong"), 401);
        assert_eq!(status(&mut sim, "api", API_TOKEN), 401, "the /token suffix is required");
        assert_eq!(status(&mut sim, "nobody/token", API_TOKEN), 401);
        assert_eq!(status(&mut sim, "limited/token", API_TOKEN), 403);
        assert_eq!(status(&mut sim, "contact/token", API_TOKEN), 403);
        let r = sim.handle(&req_as(
            "limited/token",
            API_TOKEN,
            Method::GET,
            "/api/v1/staff",
            &[],
            Json::Null,
        ));
        assert!(r.body["message"].as_str().unwrap().contains("Limited Access"), "{}", r.body);
        let mut no_header = req(Method::GET, "/api/v1/staff", &[], Json::Null);
        no_header.headers.remove("authorization");
        assert_eq!(sim.handle(&no_header).status, 401);
        sim.api_enabled = false;
        assert_eq!(status(&mut sim, "api/token", API_TOKEN), 403);
        assert_eq!(sim.counters.refused, 8);
    }

    #[test]
    fn employees_need_a_company_location_and_an_employee_role() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let create = |sim: &mut Sim, body: Json| {
            sim.handle(&req(Method::POST, "/api/v1/staff/employees", &[], body))
        };
        let ok = json!({"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com",
            "client_id": 3, "role_id": 7, "access_level": "Full Access",
            "send_login_invitation": true, "tags": ["spanish"], "work_preferences": ["nights"],
            "photo": base64::engine::general_purpose::STANDARD.encode(PNG)});
        let r = create(&mut sim, ok.clone());
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_u64().unwrap();
        assert_eq!(r.body["client_id"], 3);
        assert_eq!(r.body["is_vendor"], false);
        assert_eq!(r.body["tags"], json!(["spanish"]));
        assert_eq!(sim.photos[&id], PNG);
        assert_eq!(sim.invitations, [id]);
        let got = sim.handle(&req(Method::GET, &format!("/api/v1/staff/{id}"), &[], Json::Null));
        assert_eq!(got.body["email"], "ana@example.com");
        assert_eq!(sim.handle(&req(Method::GET, "/api/v1/staff/999", &[], Json::Null)).status, 404);

        let refused = |sim: &mut Sim, change: Json, field: &str, says: &str| {
            let mut body = ok.clone();
            body["email"] = json!(format!("n{}@example.com", sim.next_id));
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let r = create(sim, body);
            assert_eq!(r.status, 422, "{change}: {}", r.body);
            let msg = r.body["errors"][field][0].as_str().unwrap_or_default().to_string();
            assert!(msg.contains(says), "{change}: {}", r.body);
        };
        refused(&mut sim, json!({"client_id": 1}), "client_id", "is a client location");
        refused(&mut sim, json!({"client_id": 99}), "client_id", "no location with id 99");
        refused(&mut sim, json!({"client_id": "3"}), "client_id", "must be an integer");
        refused(&mut sim, json!({"client_id": null}), "client_id", "is required");
        refused(&mut sim, json!({"role_id": 6}), "role_id", "not available for employees");
        refused(&mut sim, json!({"role_id": 10}), "role_id", "not available for employees");
        refused(&mut sim, json!({"email": "ANA@example.com"}), "email", "already been taken");
        refused(&mut sim, json!({"email": "vic@vendor.example"}), "email", "already been taken");
        refused(&mut sim, json!({"email": null}), "send_login_invitation", "valid email");
        refused(&mut sim, json!({"access_level": "Disabled"}), "send_login_invitation", "cannot");
        refused(&mut sim, json!({"access_level": "Admin"}), "access_level", "must be one of");
        refused(&mut sim, json!({"photo": "aGVsbG8="}), "photo", "not a JPEG, GIF or PNG");
        refused(&mut sim, json!({"tags": "a,b"}), "tags", "array of strings");
        refused(&mut sim, json!({"first_name": " "}), "first_name", "is required");
        assert_eq!(sim.counters.creates, 1);

        let data_uri = format!(
            "data:image/gif;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"GIF89a\x01\x00")
        );
        let r = create(
            &mut sim,
            json!({"first_name": "Bo", "last_name": "Lee", "client_id": 4, "role_id": 8, "photo": data_uri}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["access_level"], "Disabled", "the default access level [U]");
        assert_eq!(r.body["email"], Json::Null);
    }

    #[test]
    fn staff_filters_and_paging() {
        let mut sim = Sim::new(&SandboxConfig::default());
        for i in 0..60 {
            sim.seed_staff(json!({"first_name": format!("P{i}"), "last_name": if i % 2 == 0 { "Even" } else { "Odd" },
                "email": format!("p{i}@example.com"), "role_id": if i < 10 { 8 } else { 7 },
                "created_at": format!("2026-03-{:02}T12:00:00Z", 1 + i % 28), "updated_at": "2026-04-01T00:00:00Z"}));
        }
        // 3 seeded (2 employees, 1 vendor) + 60.
        assert_eq!(list(&mut sim, &[]).len(), 25, "default page size [U]");
        assert_eq!(list(&mut sim, &[("per_page", "100")]).len(), 63);
        assert_eq!(list(&mut sim, &[("per_page", "500")]).len(), 63, "clamped to 100");
        let p3 = list(&mut sim, &[("per_page", "25"), ("page", "3")]);
        assert_eq!(p3.len(), 13);
        assert!(list(&mut sim, &[("page", "9")]).is_empty());
        assert_eq!(list(&mut sim, &[("is_vendor", "true")]).len(), 1);
        assert_eq!(list(&mut sim, &[("is_vendor", "false"), ("per_page", "100")]).len(), 62);
        assert_eq!(list(&mut sim, &[("email", "P7@EXAMPLE.COM")])[0]["first_name"], "P7");
        assert_eq!(list(&mut sim, &[("last_name", "even"), ("per_page", "100")]).len(), 30);
        assert_eq!(list(&mut sim, &[("first_name", "P3"), ("last_name", "Odd")]).len(), 1);
        assert_eq!(list(&mut sim, &[("role", "8"), ("per_page", "100")]).len(), 10);
        let id = list(&mut sim, &[("email", "p9@example.com")])[0]["id"].clone();
        assert_eq!(list(&mut sim, &[("id", &id.to_string())]).len(), 1);
        // Timestamps are UTC; both ends inclusive.
        let march_2 = list(
            &mut sim,
            &[("created_from", "2026-03-02T00:00:00Z"), ("created_to", "2026-03-02 23:59:59")],
        );
        assert_eq!(march_2.len(), 3, "days 2 recur for i = 1, 29, 57");
        let none = list(&mut sim, &[("updated_from", "2026-04-01T00:00:01+00:00")]);
        assert!(none.is_empty());
        let expanded = list(&mut sim, &[("expand_field_values", "true"), ("per_page", "1")]);
        assert_eq!(expanded[0]["field_values"], json!({}));
        for bad in [("role", "guard"), ("is_vendor", "maybe"), ("created_from", "yesterday")] {
            let r = sim.handle(&req(Method::GET, "/api/v1/staff", &[bad], Json::Null));
            assert_eq!(r.status, 400, "{bad:?}");
        }
    }

    #[test]
    fn a_create_can_be_applied_and_answered_500() {
        let mut sim = Sim::new(&SandboxConfig::default());
        sim.fail_after_create = 1;
        let body = json!({"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com", "client_id": 3, "role_id": 7});
        let r = sim.handle(&req(Method::POST, "/api/v1/staff/employees", &[], body));
        assert_eq!(r.status, 500);
        assert!(sim.by_email("ana@example.com").is_some(), "applied all the same");
    }

    #[test]
    fn an_update_changes_only_what_it_sends_checked_as_a_create() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let ana = sim.seed_staff(json!({"first_name": "Ana", "last_name": "Silva",
            "email": "ana@example.com", "phone": "555-0100", "title": "Investigator",
            "access_level": "Full Access", "client_id": 3, "role_id": 7, "tags": ["spanish"]}));
        let before = sim.staff[&ana].clone();
        let path = format!("/api/v1/staff/{ana}");
        let r = sim.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"title": "Lead Investigator", "client_id": 4, "access_level": "Disabled"}),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let after = sim.staff[&ana].clone();
        for (k, v) in before.as_object().unwrap() {
            match k.as_str() {
                "title" => assert_eq!(after[k], "Lead Investigator"),
                "client_id" => assert_eq!(after[k], 4),
                "access_level" => assert_eq!(after[k], "Disabled"),
                "updated_at" => {}
                _ => assert_eq!(&after[k], v, "{k} kept"),
            }
        }
        // PUT is the same call; the staff member's own e-mail is no duplicate.
        let r = sim.handle(&req(Method::PUT, &path, &[], json!({"email": "ANA@example.com"})));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(sim.counters.updates, 2);

        let refused = |sim: &mut Sim, body: Json, field: &str, says: &str| {
            let r = sim.handle(&req(Method::PATCH, &path, &[], body.clone()));
            assert_eq!(r.status, 422, "{body}: {}", r.body);
            let msg = r.body["errors"][field][0].as_str().unwrap_or_default().to_string();
            assert!(msg.contains(says), "{body}: {}", r.body);
        };
        refused(&mut sim, json!({"email": "LEE.limited@sandbox.example"}), "email", "taken");
        refused(&mut sim, json!({"email": "vic@vendor.example"}), "email", "taken");
        refused(&mut sim, json!({"email": "nope"}), "email", "not a valid");
        refused(&mut sim, json!({"client_id": 1}), "client_id", "is a client location");
        refused(&mut sim, json!({"client_id": null}), "client_id", "is required");
        refused(&mut sim, json!({"role_id": 6}), "role_id", "not available for employees");
        refused(&mut sim, json!({"access_level": "Admin"}), "access_level", "must be one of");
        refused(&mut sim, json!({"last_name": ""}), "last_name", "is required");
        refused(&mut sim, json!({"tags": "a"}), "tags", "array of strings");
        refused(&mut sim, json!({"mobile": "1"}), "mobile", "not a field an update can change");
        refused(&mut sim, json!({"photo": "x"}), "photo", "not a field an update can change");
        refused(
            &mut sim,
            json!({"send_login_invitation": true}),
            "send_login_invitation",
            "not a field",
        );
        assert_eq!(sim.counters.updates, 2, "nothing refused was applied");
        assert_eq!(sim.staff[&ana]["client_id"], 4);

        let missing = sim.handle(&req(Method::PATCH, "/api/v1/staff/999", &[], json!({})));
        assert_eq!(missing.status, 404);
        let vendor = sim.by_email("vic@vendor.example").unwrap()["id"].as_u64().unwrap();
        let r = sim.handle(&req(
            Method::PATCH,
            &format!("/api/v1/staff/{vendor}"),
            &[],
            json!({"title": "x"}),
        ));
        assert_eq!(r.status, 422, "{}", r.body);
    }
}
