//! TrackTik imitation, faithful to `vendor-apis.md` §1 and §6.1.
//!
//! OAuth2 password and refresh-token grants (refresh tokens work once),
//! lock-out after 40 failed sign-ins in two minutes, `{meta, data}`
//! envelopes, `limit` (default 100, at most 1000) and `offset`, filters
//! `key=value`, `:contains`, `:in`, `:gt/gte/lt/lte/after/before`, `fields`
//! and `include`. Employees are unique by e-mail and customId among those not
//! terminated; each gets exactly one role, which can change but never go.
//! Updates (`PATCH /employees/{id}`, fields as the create nests them),
//! `move-to-region` and `terminate` (with a reason from
//! `/employment-termination-reasons`) validate as creates do. Where the
//! vendor's behaviour is unknown (the 400 body, the terminated status, the
//! update verb, how a role changes), the choice is noted.

use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};

mod batch;

pub const CLIENT_ID: &str = "sandbox";
pub const CLIENT_SECRET: &str = "sandbox";
pub const USERNAME: &str = "api";
pub const PASSWORD: &str = "sandbox";

/// Where the sandbox serves TrackTik and what it accepts: the sign-in checks
/// `Sim::credentials`, which starts as these same constants.
pub const ACCESS: VendorAccess = VendorAccess {
    vendor: "tracktik",
    prefix: "/tracktik",
    credentials: &[
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USERNAME),
        ("password", PASSWORD),
    ],
};

/// Status given by the terminate action (the real value is not published).
pub const TERMINATED: &str = "TERMINATED";

const REGIONS: &[&str] = &["Head Office", "NA-East", "NA-West", "EMEA", "APAC", "LATAM"];
const ROLES: &[&str] =
    &["Administrator", "Guard", "Supervisor", "Site Manager", "Dispatcher", "Mobile Patrol"];
const TERMINATION_REASONS: &[&str] =
    &["Resignation", "Dismissal", "End of Contract", "Retirement", "Other"];

/// Employee fields that must be strings when sent (vendor-apis.md §1.6).
const TEXT_FIELDS: &[&str] = &[
    "customId",
    "username",
    "email",
    "firstName",
    "middleName",
    "lastName",
    "primaryPhone",
    "secondaryPhone",
    "jobTitle",
    "gender",
    "language",
    "fax",
    "password",
];
const ADDRESS_FIELDS: &[&str] = &[
    "addressLine1",
    "addressLine2",
    "city",
    "country",
    "state",
    "postalCode",
    "latitude",
    "longitude",
];
const PROFILE_FIELDS: &[&str] = &[
    "employeeType",
    "employmentDate",
    "payRateType",
    "hourlyRateType",
    "hourlyRate",
    "overtimeExempt",
    "weeklyHoursTarget",
    "weeklyHoursMaximum",
    "weeklyHoursMinimum",
];
/// What an update of an employee may carry: the create's fields, except the
/// region (changed by the move-to-region action), the password and the
/// status (changed by actions). The vendor publishes no such list; refusing
/// the rest makes a client that sends a field it should not fail loudly.
const UPDATE_FIELDS: &[&str] = &[
    "customId",
    "username",
    "email",
    "firstName",
    "middleName",
    "lastName",
    "primaryPhone",
    "secondaryPhone",
    "jobTitle",
    "gender",
    "birthday",
    "language",
    "fax",
    "tags",
    "address",
    "employmentProfile",
];

/// Counters tests and demos look at.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub logins: u64,
    pub failed_logins: u64,
    pub refreshes: u64,
    /// Refresh grants answered 400 because `refuse_refresh` is set.
    pub refused_refreshes: u64,
    pub creates: u64,
    pub requests: u64,
    /// Employee updates (`PATCH` or `PUT /employees/{id}`) that changed one.
    pub updates: u64,
    pub region_moves: u64,
    /// Roles changed on an existing user-role.
    pub role_changes: u64,
    pub terminations: u64,
}

pub struct Sim {
    pub employees: BTreeMap<u64, Json>,
    addresses: BTreeMap<u64, Json>,
    profiles: BTreeMap<u64, Json>,
    regions: Vec<Json>,
    roles: Vec<Json>,
    /// `{id, user, role}` rows.
    pub user_roles: Vec<Json>,
    role_permissions: Vec<Json>,
    pub termination_reasons: Vec<Json>,
    /// `{id, employee, date, reason, comment}` of each terminate action.
    pub terminations: Vec<Json>,
    pub force_password_change: HashSet<u64>,
    /// Passwords received with creates, for tests to check; never shown by
    /// the API.
    pub passwords: HashMap<u64, String>,
    next_id: u64,
    access_tokens: HashMap<String, Instant>,
    /// Requests each access token still may make, when `token_uses` is set.
    uses_left: HashMap<String, u64>,
    refresh_tokens: HashSet<String>,
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
    token_ttl: Duration,
    /// TrackTik's "Allow TrackTik to Manage Employee IDs" setting.
    pub manage_ids: bool,
    pub lockout_threshold: usize,
    pub counters: Counters,
    /// `expires_in` to announce instead of the real lifetime, to make a
    /// client meet an expired token (tests of the 401 path).
    pub announced_ttl: Option<u64>,
    /// Client id, client secret, username and password the token endpoint
    /// accepts (the constants above unless a test changes them).
    pub credentials: [String; 4],
    /// Requests answered with a fixed status instead of being processed:
    /// (method, path below /rest/v1, status).
    pub refuse: Vec<(Method, String, u16)>,
    /// A `/batch/file` call with more operations than this runs only that
    /// many, then answers 504 without a body (the vendor's warning about
    /// large batches); `None`: every batch is answered.
    pub batch_timeout_above: Option<usize>,
    /// Answer every refresh grant 400 `invalid_grant`, as a tenant that
    /// revoked the client's refresh tokens does (the vendor documents 400 or
    /// 401 for a refresh token it will not take).
    pub refuse_refresh: bool,
    /// Access tokens stop working after this many requests (answered 401):
    /// renewal tests that do not depend on the clock.
    pub token_uses: Option<u64>,
}

impl Sim {
    pub fn new(cfg: &SandboxConfig) -> Sim {
        let mut s = Sim {
            employees: BTreeMap::new(),
            addresses: BTreeMap::new(),
            profiles: BTreeMap::new(),
            regions: Vec::new(),
            roles: Vec::new(),
            user_roles: Vec::new(),
            role_permissions: Vec::new(),
            termination_reasons: Vec::new(),
            terminations: Vec::new(),
            force_password_change: HashSet::new(),
            passwords: HashMap::new(),
            next_id: 1,
            access_tokens: HashMap::new(),
            uses_left: HashMap::new(),
            refresh_tokens: HashSet::new(),
            failures: VecDeque::new(),
            locked_until: None,
            token_ttl: cfg.token_ttl,
            manage_ids: true,
            lockout_threshold: 40,
            counters: Counters::default(),
            announced_ttl: None,
            credentials: [CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD].map(String::from),
            refuse: Vec::new(),
            batch_timeout_above: cfg.faults.batch_timeout_above,
            refuse_refresh: false,
            token_uses: None,
        };
        for (i, name) in REGIONS.iter().enumerate() {
            let id = s.id();
            s.regions.push(json!({
                "id": id, "customId": format!("R{:02}", i + 1), "name": name, "company": 1,
                "firstName": null, "lastName": null, "primaryPhone": null, "email": null,
                "address": null, "parentRegion": if i == 0 { Json::Null } else { json!(s.regions[0]["id"]) },
                "logo": null
            }));
        }
        for name in ROLES {
            let id = s.id();
            s.roles.push(json!({"id": id, "name": name}));
        }
        for name in TERMINATION_REASONS {
            let id = s.id();
            s.termination_reasons.push(json!({"id": id, "name": name}));
        }
        s.next_id = 1000;
        s
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The role id of an employee, if any.
    pub fn role_of(&self, employee: u64) -> Option<u64> {
        self.user_roles
            .iter()
            .find(|ur| ur["user"] == json!(employee))
            .and_then(|ur| ur["role"].as_u64())
    }

    pub fn role_name(&self, role: u64) -> Option<&str> {
        self.roles.iter().find(|r| r["id"] == json!(role)).and_then(|r| r["name"].as_str())
    }

    /// The id of the termination reason with this name.
    pub fn termination_reason(&self, name: &str) -> Option<u64> {
        self.termination_reasons.iter().find(|r| r["name"] == name).and_then(|r| r["id"].as_u64())
    }

    /// The id of the region with this name.
    pub fn region_id(&self, name: &str) -> Option<u64> {
        self.regions.iter().find(|r| r["name"] == name).and_then(|r| r["id"].as_u64())
    }

    /// The id of the role with this name.
    pub fn role_id(&self, name: &str) -> Option<u64> {
        self.roles.iter().find(|r| r["name"] == name).and_then(|r| r["id"].as_u64())
    }

    /// Every region's name, in the order the API lists them.
    pub fn region_names(&self) -> Vec<String> {
        self.regions.iter().filter_map(|r| r["name"].as_str().map(str::to_string)).collect()
    }

    /// Every role's name, in the order the API lists them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().filter_map(|r| r["name"].as_str().map(str::to_string)).collect()
    }

    /// Adds a region, as if created in the web UI; returns its id.
    pub fn add_region(&mut self, name: &str) -> u64 {
        let id = self.id();
        self.regions.push(json!({"id": id, "name": name}));
        id
    }

    pub fn region_name(&self, region: u64) -> Option<&str> {
        self.regions.iter().find(|r| r["id"] == json!(region)).and_then(|r| r["name"].as_str())
    }

    pub fn address_of(&self, employee: &Json) -> Option<&Json> {
        employee["address"].as_u64().and_then(|a| self.addresses.get(&a))
    }

    pub fn profile_of(&self, employee: &Json) -> Option<&Json> {
        employee["employmentProfile"].as_u64().and_then(|a| self.profiles.get(&a))
    }

    /// Adds an employee directly, as if created in the web UI.
    pub fn seed_employee(&mut self, mut e: Json) -> u64 {
        let id = self.id();
        e["id"] = json!(id);
        if e.get("status").is_none() {
            e["status"] = json!("ACTIVE");
        }
        self.employees.insert(id, e);
        id
    }

    fn token(&mut self, req: &SimRequest) -> SimResponse {
        if let Some(until) = self.locked_until {
            if req.now < until {
                return SimResponse::error(
                    403,
                    "too many failed sign-ins from this address; it is blocked for 2 hours",
                );
            }
            self.locked_until = None;
        }
        let form: HashMap<String, String> = match req.header("content-type") {
            Some(ct) if ct.starts_with("application/json") => match req.json() {
                Ok(Json::Object(m)) => {
                    m.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or("").to_string())).collect()
                }
                _ => return SimResponse::error(400, "invalid request body"),
            },
            _ => serde_urlencoded::from_bytes(&req.body).unwrap_or_default(),
        };
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        if form.contains_key("scope") {
            return SimResponse::json(
                400,
                json!({"error": "invalid_scope", "message": "scope is configured on the OAuth client; do not send it"}),
            );
        }
        let [id, secret, user, pass] = self.credentials.each_ref().map(String::as_str);
        let client_ok = get("client_id") == id && get("client_secret") == secret;
        let ok = match get("grant_type") {
            "password" => {
                let ok = client_ok && get("username") == user && get("password") == pass;
                if ok {
                    self.counters.logins += 1;
                }
                ok
            }
            "refresh_token" if self.refuse_refresh => {
                self.counters.refused_refreshes += 1;
                return SimResponse::json(
                    400,
                    json!({"error": "invalid_grant", "message": "The refresh token is invalid."}),
                );
            }
            "refresh_token" => {
                // Single use: a refresh token is gone once presented.
                let ok = client_ok && self.refresh_tokens.remove(get("refresh_token"));
                if ok {
                    self.counters.refreshes += 1;
                }
                ok
            }
            other => {
                return SimResponse::json(
                    400,
                    json!({"error": "unsupported_grant_type", "message": format!("grant_type {other:?} is not supported")}),
                );
            }
        };
        if !ok {
            self.counters.failed_logins += 1;
            self.failures.push_back(req.now);
            while self
                .failures
                .front()
                .is_some_and(|t| req.now.duration_since(*t) > Duration::from_secs(120))
            {
                self.failures.pop_front();
            }
            if self.failures.len() >= self.lockout_threshold {
                self.locked_until = Some(req.now + Duration::from_secs(2 * 3600));
            }
            return SimResponse::json(
                401,
                json!({"error": "invalid_grant", "message": "The user credentials were incorrect."}),
            );
        }
        let access = random_token();
        let refresh = random_token();
        self.access_tokens.insert(access.clone(), req.now + self.token_ttl);
        if let Some(n) = self.token_uses {
            self.uses_left.insert(access.clone(), n);
        }
        self.refresh_tokens.insert(refresh.clone());
        SimResponse::json(
            200,
            json!({
                "token_type": "Bearer", "expires_in": self.announced_ttl.unwrap_or(self.token_ttl.as_secs()),
                "access_token": access, "refresh_token": refresh
            }),
        )
    }

    fn authorized(&mut self, req: &SimRequest) -> bool {
        let Some(token) = req.header("authorization").and_then(|h| h.strip_prefix("Bearer "))
        else {
            return false;
        };
        if let Some(left) = self.uses_left.get_mut(token) {
            if *left == 0 {
                return false;
            }
            *left -= 1;
        }
        match self.access_tokens.get(token) {
            Some(exp) if *exp > req.now => true,
            Some(_) => {
                self.access_tokens.remove(token);
                false
            }
            None => false,
        }
    }

    fn api(&mut self, req: &SimRequest, seg: &[&str]) -> SimResponse {
        let m = &req.method;
        match seg {
            ["employees"] if m == Method::GET => {
                let list: Vec<Json> =
                    self.employees.values().map(|e| self.employee_view(e, req)).collect();
                listing(req, "employees", list)
            }
            ["employees"] if m == Method::POST => self.create_employee(req),
            ["employees", id] if m == Method::GET => match self.find(id) {
                Some(e) => single(self.employee_view(e, req)),
                None => SimResponse::error(404, "cannot find entity"),
            },
            // The verb of partial updates is not published (vendor-apis.md
            // §1.8): both are accepted, and both change only what is sent.
            ["employees", id] if m == Method::PATCH || m == Method::PUT => {
                self.update_employee(req, id)
            }
            ["employees", id, "actions", action] if m == Method::POST => {
                self.action(req, id, action)
            }
            ["regions"] if m == Method::GET => listing(req, "regions", self.regions.clone()),
            ["roles"] if m == Method::GET => listing(req, "roles", self.roles.clone()),
            ["roles"] if m == Method::POST => {
                let body = match req.json() {
                    Ok(b) => b,
                    Err(e) => return e,
                };
                let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
                    return validation("name", "The name field is required.");
                };
                let id = self.id();
                let role = json!({"id": id, "name": name});
                self.roles.push(role.clone());
                created(role)
            }
            ["user-roles"] if m == Method::GET => {
                listing(req, "user-roles", self.user_roles.clone())
            }
            ["user-roles"] if m == Method::POST => self.assign_role(req),
            // How a role changes is not published; the one rule is exactly
            // one role, so the sandbox changes the user-role in place and
            // never removes one.
            ["user-roles", id] if m == Method::PATCH || m == Method::PUT => {
                self.change_role(req, id)
            }
            ["user-roles", _] if m == Method::DELETE => validation(
                "role",
                "an employee keeps exactly one role: change it instead of removing it",
            ),
            ["role-permissions"] if m == Method::POST => {
                let body = match req.json() {
                    Ok(b) => b,
                    Err(e) => return e,
                };
                if !self.roles.iter().any(|r| r["id"] == body["role"]) {
                    return validation("role", "cannot find entity");
                }
                let id = self.id();
                let rp = json!({"id": id, "role": body["role"], "permission": body["permission"]});
                self.role_permissions.push(rp.clone());
                created(rp)
            }
            ["batch", "file"] if m == Method::POST => self.batch(req),
            ["employment-termination-reasons"] if m == Method::GET => {
                listing(req, "employment-termination-reasons", self.termination_reasons.clone())
            }
            _ => SimResponse::error(
                404,
                &format!("no route for {} /rest/v1/{}", req.method, seg.join("/")),
            ),
        }
    }

    fn find(&self, id: &str) -> Option<&Json> {
        id.parse().ok().and_then(|id: u64| self.employees.get(&id))
    }

    /// An employee as the API shows it: relations as ids unless `include`d.
    fn employee_view(&self, e: &Json, req: &SimRequest) -> Json {
        let mut v = e.clone();
        let id = e["id"].as_u64().unwrap_or(0);
        let includes: Vec<&str> =
            req.param("include").map(|i| i.split(',').map(str::trim).collect()).unwrap_or_default();
        if includes.contains(&"address") {
            v["address"] = self.address_of(e).cloned().unwrap_or(Json::Null);
        }
        if includes.contains(&"employmentProfile") {
            v["employmentProfile"] = self.profile_of(e).cloned().unwrap_or(Json::Null);
        }
        // Readable with include=forcePasswordChange, and filterable with
        // forcePasswordChange=true (vendor-apis.md §1.8).
        let filtered = req.query.iter().any(|(k, _)| k.starts_with("forcePasswordChange"));
        if includes.contains(&"forcePasswordChange") || filtered {
            v["forcePasswordChange"] = json!(self.force_password_change.contains(&id));
        }
        v
    }

    /// A non-terminated employee other than `except` whose `field` is `value`.
    fn active_with(&self, field: &str, value: &str, except: Option<u64>) -> Option<u64> {
        self.employees
            .values()
            .filter(|e| e["status"] != TERMINATED && e["id"].as_u64() != except)
            .find(|e| e[field].as_str().is_some_and(|v| v.eq_ignore_ascii_case(value)))
            .and_then(|e| e["id"].as_u64())
    }

    fn create_employee(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        let mut errors = Map::new();
        let mut err = |f: &str, m: &str| {
            errors.insert(f.to_string(), json!([m]));
        };
        for f in ["firstName", "lastName"] {
            if body.get(f).and_then(Json::as_str).is_none_or(|s| s.trim().is_empty()) {
                err(f, &format!("The {f} field is required."));
            }
        }
        match body.get("region") {
            None | Some(Json::Null) => err("region", "The region field is required."),
            Some(r) if !self.regions.iter().any(|x| &x["id"] == r) => {
                err("region", "region does not exist")
            }
            _ => {}
        }
        self.check_fields(&body, None, &mut err);
        let profile = body.get("employmentProfile").cloned();
        if !errors.is_empty() {
            // The real 400 body is not published; this shape is Laravel's.
            return SimResponse::json(
                400,
                json!({"code": 400, "message": "The given data was invalid.", "errors": errors}),
            );
        }

        let id = self.id();
        let mut e = Map::new();
        for f in [
            "customId",
            "firstName",
            "middleName",
            "lastName",
            "username",
            "email",
            "primaryPhone",
            "secondaryPhone",
            "jobTitle",
            "gender",
            "birthday",
            "language",
            "region",
            "tags",
        ] {
            e.insert(f.to_string(), body.get(f).cloned().unwrap_or(Json::Null));
        }
        if e["customId"].is_null() && self.manage_ids {
            e.insert("customId".into(), json!(self.next_custom_id().to_string()));
        }
        let name = format!(
            "{} {}",
            body.get("firstName").and_then(Json::as_str).unwrap_or(""),
            body.get("lastName").and_then(Json::as_str).unwrap_or("")
        );
        e.insert("id".into(), json!(id));
        e.insert("name".into(), json!(name.trim()));
        e.insert("status".into(), json!("ACTIVE"));
        e.insert("avatar".into(), Json::Null);
        if e["tags"].is_null() {
            e.insert("tags".into(), json!([]));
        }
        let address = body.get("address").cloned().filter(Json::is_object);
        e.insert(
            "address".into(),
            match address {
                Some(mut a) => {
                    let aid = self.id();
                    a["id"] = json!(aid);
                    self.addresses.insert(aid, a);
                    json!(aid)
                }
                None => Json::Null,
            },
        );
        e.insert(
            "employmentProfile".into(),
            match profile.filter(Json::is_object) {
                Some(mut p) => {
                    let pid = self.id();
                    p["id"] = json!(pid);
                    self.profiles.insert(pid, p);
                    json!(pid)
                }
                None => Json::Null,
            },
        );
        if let Some(p) = body.get("password").and_then(Json::as_str) {
            self.passwords.insert(id, p.to_string());
        }
        let e = Json::Object(e);
        self.employees.insert(id, e.clone());
        self.counters.creates += 1;
        created(e)
    }

    /// The checks a create and an update share: types, formats, and e-mail,
    /// customId and username unique among employees other than `except`.
    fn check_fields(
        &self,
        body: &Map<String, Json>,
        except: Option<u64>,
        err: &mut dyn FnMut(&str, &str),
    ) {
        // null empties an optional field (Laravel's `nullable`, as the
        // vendor's validation messages suggest; clearing is not documented).
        for f in TEXT_FIELDS {
            if body.get(*f).is_some_and(|v| !v.is_string() && !v.is_null()) {
                err(f, "must be a string");
            }
        }
        if let Some(email) = body.get("email").and_then(Json::as_str) {
            if !email.contains('@') || email.contains(' ') {
                err("email", "The email must be a valid email address.");
            } else if self.active_with("email", email, except).is_some() {
                err("email", "The email has already been taken.");
            }
        }
        if let Some(c) = body.get("customId").and_then(Json::as_str)
            && self.active_with("customId", c, except).is_some()
        {
            err("customId", "The employee ID has already been taken.");
        }
        if let Some(u) = body.get("username").and_then(Json::as_str)
            && self.employees.values().any(|e| {
                e["id"].as_u64() != except
                    && e["username"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(u))
            })
        {
            err("username", "The username has already been taken.");
        }
        if let Some(b) = body.get("birthday")
            && !b.as_str().is_some_and(is_date)
        {
            err("birthday", "The birthday is not a valid date (YYYY-MM-DD).");
        }
        if let Some(t) = body.get("tags")
            && !t.as_array().is_some_and(|a| a.iter().all(Json::is_string))
        {
            err("tags", "must be an array of strings");
        }
        if let Some(p) = body.get("employmentProfile") {
            if let Some(d) = p.get("employmentDate")
                && !d.as_str().is_some_and(is_date)
            {
                err("employmentProfile.employmentDate", "not a valid date (YYYY-MM-DD)");
            }
            for f in ["hourlyRate", "weeklyHoursTarget", "weeklyHoursMinimum", "weeklyHoursMaximum"]
            {
                if p.get(f).is_some_and(|v| !v.is_number()) {
                    err(&format!("employmentProfile.{f}"), "must be a number");
                }
            }
            if p.get("overtimeExempt").is_some_and(|v| !v.is_boolean()) {
                err("employmentProfile.overtimeExempt", "must be true or false");
            }
        }
    }

    /// `PATCH` (or `PUT`) `/employees/{id}`: changes exactly the fields sent;
    /// `address` and `employmentProfile` merge into the employee's records.
    fn update_employee(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let Some(eid) = self.find(id).and_then(|e| e["id"].as_u64()) else {
            return SimResponse::error(404, "cannot find entity");
        };
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        let mut errors = Map::new();
        let mut err = |f: &str, m: &str| {
            errors.insert(f.to_string(), json!([m]));
        };
        for (k, v) in &body {
            let nested = match k.as_str() {
                "address" => Some(ADDRESS_FIELDS),
                "employmentProfile" => Some(PROFILE_FIELDS),
                _ => None,
            };
            if k == "region" {
                err(k, "the region changes with POST /employees/{id}/actions/move-to-region");
            } else if !UPDATE_FIELDS.contains(&k.as_str()) {
                err(k, "is not a field an update can change");
            } else if let Some(known) = nested {
                match v.as_object() {
                    Some(o) => {
                        for key in o.keys().filter(|key| !known.contains(&key.as_str())) {
                            err(&format!("{k}.{key}"), "is not a field of this record");
                        }
                    }
                    None => err(k, "must be an object"),
                }
            }
        }
        for f in ["firstName", "lastName"] {
            if body.get(f).is_some_and(|v| v.as_str().is_none_or(|s| s.trim().is_empty())) {
                err(f, &format!("The {f} field is required."));
            }
        }
        self.check_fields(&body, Some(eid), &mut err);
        if !errors.is_empty() {
            return SimResponse::json(
                400,
                json!({"code": 400, "message": "The given data was invalid.", "errors": errors}),
            );
        }
        for (k, v) in body {
            match k.as_str() {
                "address" | "employmentProfile" => {
                    // An employee created without one gets one now.
                    let rid = match self.employees[&eid][&k].as_u64() {
                        Some(rid) => rid,
                        None => self.id(),
                    };
                    let record = self.linked(&k).entry(rid).or_insert_with(|| json!({"id": rid}));
                    for (f, x) in v.as_object().into_iter().flatten() {
                        record[f] = x.clone();
                    }
                    self.employees.get_mut(&eid).expect("found above")[&k] = json!(rid);
                }
                _ => {
                    self.employees.get_mut(&eid).expect("found above")[&k] = v;
                }
            }
        }
        let e = self.employees.get_mut(&eid).expect("found above");
        let name = format!(
            "{} {}",
            e["firstName"].as_str().unwrap_or(""),
            e["lastName"].as_str().unwrap_or("")
        );
        e["name"] = json!(name.trim());
        self.counters.updates += 1;
        let view = self.employee_view(&self.employees[&eid], req);
        single(view)
    }

    /// The table an employee's `address` or `employmentProfile` id points into.
    fn linked(&mut self, field: &str) -> &mut BTreeMap<u64, Json> {
        if field == "address" { &mut self.addresses } else { &mut self.profiles }
    }

    /// `PATCH` (or `PUT`) `/user-roles/{id} {"role": r}`: the user keeps one
    /// role, now `r`. The user of a user-role cannot change.
    fn change_role(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let Some(i) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.user_roles.iter().position(|ur| ur["id"] == json!(id)))
        else {
            return SimResponse::error(404, "cannot find entity");
        };
        let body = match req.json() {
            Ok(Json::Object(b)) => b,
            Ok(_) => return SimResponse::error(400, "the request body must be a JSON object"),
            Err(e) => return e,
        };
        if let Some(k) = body.keys().find(|k| !matches!(k.as_str(), "role" | "user")) {
            return validation(k, "is not a field of a user-role");
        }
        if body.get("user").is_some_and(|u| *u != self.user_roles[i]["user"]) {
            return validation("user", "the user of a user-role cannot change");
        }
        let Some(role) =
            body.get("role").filter(|r| self.roles.iter().any(|x| x["id"] == **r)).cloned()
        else {
            return validation("role", "cannot find entity");
        };
        self.user_roles[i]["role"] = role;
        self.counters.role_changes += 1;
        single(self.user_roles[i].clone())
    }

    /// TrackTik's rule: one more than the largest purely numeric customId of
    /// at most 15 digits without leading zeros.
    fn next_custom_id(&self) -> u64 {
        self.employees
            .values()
            .filter_map(|e| e["customId"].as_str())
            .filter(|c| {
                c.len() <= 15 && !c.starts_with('0') && c.bytes().all(|b| b.is_ascii_digit())
            })
            .filter_map(|c| c.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1
    }

    fn assign_role(&mut self, req: &SimRequest) -> SimResponse {
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(user) = body["user"].as_u64().filter(|u| self.employees.contains_key(u)) else {
            return validation("user", "cannot find entity");
        };
        let Some(role) =
            body["role"].as_u64().filter(|r| self.roles.iter().any(|x| x["id"] == json!(r)))
        else {
            return validation("role", "cannot find entity");
        };
        if let Some(current) = self.role_of(user) {
            return validation(
                "user",
                &format!(
                    "employee {user} already has role {current}; an employee has exactly one role"
                ),
            );
        }
        let id = self.id();
        let ur = json!({"id": id, "user": user, "role": role});
        self.user_roles.push(ur.clone());
        created(ur)
    }

    fn action(&mut self, req: &SimRequest, id: &str, action: &str) -> SimResponse {
        let Some(eid) = self.find(id).and_then(|e| e["id"].as_u64()) else {
            return SimResponse::error(404, "cannot find entity");
        };
        let body = if req.body.is_empty() {
            json!({})
        } else {
            match req.json() {
                Ok(b) => b,
                Err(e) => return e,
            }
        };
        match action {
            "force-password-change" => {
                self.force_password_change.insert(eid);
            }
            "move-to-region" => {
                if !self.regions.iter().any(|r| r["id"] == body["region"]) {
                    return validation("region", "region does not exist");
                }
                if let Some(e) = self.employees.get_mut(&eid) {
                    e["region"] = body["region"].clone();
                }
                self.counters.region_moves += 1;
            }
            "assign-extra-regions" => {
                let Some(list) = body["regions"].as_array() else {
                    return validation("regions", "must be an array of region ids");
                };
                let main = self.employees[&eid]["region"].clone();
                for r in list {
                    if !r.is_u64() {
                        return validation("regions", "must be an array of region ids");
                    }
                    if *r == main {
                        return validation(
                            "regions",
                            "cannot add user main region as extra regions",
                        );
                    }
                    if !self.regions.iter().any(|x| &x["id"] == r) {
                        return validation("regions", "cannot find entity");
                    }
                }
            }
            "terminate" => {
                if !body["date"].as_str().is_some_and(is_date) {
                    return validation("date", "The date field is required (YYYY-MM-DD).");
                }
                if !self.termination_reasons.iter().any(|r| r["id"] == body["reason"]) {
                    return validation("reason", "cannot find entity");
                }
                if self.employees[&eid]["status"] == TERMINATED {
                    return validation("status", "the employee is already terminated");
                }
                if let Some(e) = self.employees.get_mut(&eid) {
                    e["status"] = json!(TERMINATED);
                }
                let tid = self.id();
                self.terminations.push(json!({
                    "id": tid, "employee": eid, "date": body["date"], "reason": body["reason"],
                    "comment": body.get("comment").cloned().unwrap_or(Json::Null)
                }));
                self.counters.terminations += 1;
            }
            _ => return SimResponse::error(404, &format!("no action {action:?}")),
        }
        let view = self.employees[&eid].clone();
        single(view)
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.counters.requests += 1;
        let seg = req.segments();
        match seg.as_slice() {
            ["rest", "oauth2", "access_token"] if req.method == Method::POST => self.token(req),
            ["rest", "v1", rest @ ..] => {
                if !self.authorized(req) {
                    return SimResponse::json(
                        401,
                        json!({"code": 401, "message": "Unauthorized: missing, invalid or expired access token"}),
                    );
                }
                let path = format!("/{}", rest.join("/"));
                let refused = self.refuse.iter().find(|(m, p, _)| *m == req.method && *p == path);
                if let Some((_, _, status)) = refused {
                    return SimResponse::error(*status, "refused by the sandbox's test settings");
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

fn random_token() -> String {
    std::iter::repeat_with(fastrand::alphanumeric).take(40).collect()
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// An id sent as a number or as text.
fn id_of(v: &Json) -> Option<String> {
    match v {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn validation(field: &str, message: &str) -> SimResponse {
    SimResponse::json(400, json!({"code": 400, "message": message, "errors": {field: [message]}}))
}

fn meta(resource: &str, count: usize, item_count: usize, limit: usize, offset: usize) -> Json {
    json!({
        "count": count, "itemCount": item_count, "limit": limit, "offset": offset,
        "request": [resource], "resource": resource,
        "security": {"granted": true, "requested": format!("admin:{resource}:view"), "grantedBy": "admin:*", "scope": "admin:*"},
        "debug": null
    })
}

fn single(data: Json) -> SimResponse {
    let resource = "employees";
    SimResponse::json(200, json!({"meta": meta(resource, 1, 1, 1, 0), "data": data}))
}

fn created(data: Json) -> SimResponse {
    SimResponse::json(
        201,
        json!({"meta": {"request": [], "security": {"granted": true}}, "data": data}),
    )
}

const RESERVED: &[&str] = &["limit", "offset", "sort", "fields", "include"];

/// A list answer: filters, sort, paging, sparse fields, in that order.
fn listing(req: &SimRequest, resource: &str, mut items: Vec<Json>) -> SimResponse {
    let limit = match req.param("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(l)) => l.clamp(1, 1000),
        Some(Err(_)) => return validation("limit", "limit must be a whole number"),
    };
    let offset = match req.param("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => return validation("offset", "offset must be a whole number"),
    };
    for (k, v) in &req.query {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        let (field, op) = k.split_once(':').unwrap_or((k, "eq"));
        // Filters on fields the resource lacks are ignored (the vendor's
        // behaviour is not published; this is the suggested default).
        if !items.iter().any(|i| i.get(field).is_some()) {
            continue;
        }
        items.retain(|i| matches_filter(i.get(field).unwrap_or(&Json::Null), op, v));
    }
    let sort = req.param("sort").unwrap_or("id");
    let (desc, key) = match sort.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort),
    };
    items.sort_by(|a, b| {
        let o = cmp_json(&a[key], &b[key]);
        if desc { o.reverse() } else { o }
    });
    let count = items.len();
    let page: Vec<Json> =
        items.into_iter().skip(offset).take(limit).map(|i| shape(i, req.param("fields"))).collect();
    SimResponse::json(
        200,
        json!({"meta": meta(resource, count, page.len(), limit, offset), "data": page}),
    )
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn matches_filter(v: &Json, op: &str, want: &str) -> bool {
    let have = text(v);
    let num = |s: &str| s.parse::<f64>().ok();
    match op {
        "eq" => have.eq_ignore_ascii_case(want),
        "contains" => have.to_lowercase().contains(&want.to_lowercase()),
        "in" => want.split(',').any(|w| have.eq_ignore_ascii_case(w.trim())),
        "gt" | "gte" | "lt" | "lte" | "after" | "before" => {
            let ord = match (num(&have), num(want)) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(have.as_str().cmp(want)),
            };
            let Some(o) = ord else { return false };
            match op {
                "gt" | "after" => o.is_gt(),
                "gte" => o.is_ge(),
                "lt" | "before" => o.is_lt(),
                _ => o.is_le(),
            }
        }
        _ => false,
    }
}

fn cmp_json(a: &Json, b: &Json) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => text(a).cmp(&text(b)),
    }
}

/// `fields=id,name,address.city:city`: sparse fields, renamed and flattened.
fn shape(item: Json, fields: Option<&str>) -> Json {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return item;
    };
    let mut out = Map::new();
    for f in fields.split(',').map(str::trim) {
        let (src, alias) = f.split_once(':').unwrap_or((f, f));
        let v = item.pointer(&format!("/{}", src.replace('.', "/"))).cloned().unwrap_or(Json::Null);
        out.insert(alias.to_string(), v);
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Json,
        token: Option<&str>,
    ) -> SimRequest {
        SimRequest::test_bearer(method, path, query, body, token)
    }

    fn login(sim: &mut Sim) -> String {
        let r = sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], json!({
            "grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox", "username": "api", "password": "sandbox"
        }), None));
        assert_eq!(r.status, 200);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    #[test]
    fn duplicates_and_termination() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let region = sim.regions[3]["id"].clone();
        let body = json!({"firstName": "Ana", "lastName": "Silva", "email": "ana@example.com", "customId": "7", "region": region});
        let r = sim.handle(&req(Method::POST, "/rest/v1/employees", &[], body.clone(), Some(&t)));
        assert_eq!(r.status, 201);
        let id = r.body["data"]["id"].as_u64().unwrap();
        let again =
            sim.handle(&req(Method::POST, "/rest/v1/employees", &[], body.clone(), Some(&t)));
        assert_eq!(again.status, 400);
        assert!(
            again.body["errors"]["email"].is_array() && again.body["errors"]["customId"].is_array()
        );
        let reason = sim.termination_reasons[0]["id"].clone();
        let term = sim.handle(&req(
            Method::POST,
            &format!("/rest/v1/employees/{id}/actions/terminate"),
            &[],
            json!({"date": "2026-01-31", "reason": reason}),
            Some(&t),
        ));
        assert_eq!(term.status, 200);
        // Terminated: e-mail and customId may be used again.
        let third = sim.handle(&req(Method::POST, "/rest/v1/employees", &[], body, Some(&t)));
        assert_eq!(third.status, 201);
    }

    #[test]
    fn paging_filters_and_refresh_tokens() {
        let mut sim = Sim::new(&SandboxConfig::default());
        for i in 0..250 {
            sim.seed_employee(json!({"firstName": format!("P{i}"), "lastName": "X", "email": format!("p{i}@example.com"), "customId": i.to_string()}));
        }
        let t = login(&mut sim);
        let r = sim.handle(&req(
            Method::GET,
            "/rest/v1/employees",
            &[("offset", "200")],
            Json::Null,
            Some(&t),
        ));
        assert_eq!(r.body["meta"]["count"], 250);
        assert_eq!(r.body["meta"]["itemCount"], 50);
        assert_eq!(r.body["meta"]["limit"], 100);
        let r = sim.handle(&req(
            Method::GET,
            "/rest/v1/employees",
            &[("email", "P7@EXAMPLE.COM"), ("fields", "id,email:mail")],
            Json::Null,
            Some(&t),
        ));
        assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["data"][0]["mail"], "p7@example.com");
        let r = sim.handle(&req(
            Method::GET,
            "/rest/v1/employees",
            &[("customId:in", "1,2,3"), ("sort", "-id")],
            Json::Null,
            Some(&t),
        ));
        assert_eq!(r.body["data"].as_array().unwrap().len(), 3);
        assert_eq!(r.body["data"][0]["customId"], "3");
        assert_eq!(
            sim.handle(&req(Method::GET, "/rest/v1/employees", &[], Json::Null, Some("bogus")))
                .status,
            401
        );

        let first = sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], json!({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox", "username": "api", "password": "sandbox"}), None));
        let refresh = first.body["refresh_token"].as_str().unwrap();
        let body = json!({"grant_type": "refresh_token", "client_id": "sandbox", "client_secret": "sandbox", "refresh_token": refresh});
        assert_eq!(
            sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], body.clone(), None))
                .status,
            200
        );
        assert_eq!(
            sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], body, None)).status,
            401
        );
    }

    #[test]
    fn lockout_after_repeated_failures() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let bad = json!({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox", "username": "api", "password": "wrong"});
        for _ in 0..40 {
            assert_eq!(
                sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], bad.clone(), None))
                    .status,
                401
            );
        }
        let good = json!({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox", "username": "api", "password": "sandbox"});
        assert_eq!(
            sim.handle(&req(Method::POST, "/rest/oauth2/access_token", &[], good, None)).status,
            403
        );
    }

    #[test]
    fn one_role_per_employee() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let id = sim.seed_employee(json!({"firstName": "A", "lastName": "B"}));
        let guard = sim.roles[1]["id"].clone();
        let sup = sim.roles[2]["id"].clone();
        assert_eq!(
            sim.handle(&req(
                Method::POST,
                "/rest/v1/user-roles",
                &[],
                json!({"user": id, "role": guard}),
                Some(&t)
            ))
            .status,
            201
        );
        assert_eq!(
            sim.handle(&req(
                Method::POST,
                "/rest/v1/user-roles",
                &[],
                json!({"user": id, "role": sup}),
                Some(&t)
            ))
            .status,
            400
        );
        assert_eq!(sim.role_of(id), guard.as_u64());
    }
    /// Creates Ana Silva (EMEA, an address, an employment profile) and, for
    /// uniqueness checks, Bob Stone; their ids.
    fn two_employees(sim: &mut Sim, t: &str) -> (u64, u64) {
        let region = sim.region_id("EMEA").unwrap();
        let mut ids = Vec::new();
        for body in [
            json!({"firstName": "Ana", "lastName": "Silva", "email": "ana@example.com", "customId": "7",
                   "username": "asilva", "jobTitle": "Guard", "region": region,
                   "address": {"city": "Lisbon", "country": "PT"},
                   "employmentProfile": {"hourlyRate": 18.5, "weeklyHoursTarget": 40}}),
            json!({"firstName": "Bob", "lastName": "Stone", "email": "bob@example.com", "customId": "8",
                   "username": "bstone", "region": region}),
        ] {
            let r = sim.handle(&req(Method::POST, "/rest/v1/employees", &[], body, Some(t)));
            assert_eq!(r.status, 201, "{}", r.body);
            ids.push(r.body["data"]["id"].as_u64().unwrap());
        }
        (ids[0], ids[1])
    }

    #[test]
    fn an_update_changes_exactly_the_fields_sent() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, bob) = two_employees(&mut sim, &t);
        let path = format!("/rest/v1/employees/{ana}");
        let r = sim.handle(&req(
            Method::PATCH,
            &path,
            &[],
            json!({"jobTitle": "Supervisor", "lastName": "Costa", "tags": ["night"],
                   "employmentProfile": {"hourlyRate": 21}, "address": {"city": "Porto"}}),
            Some(&t),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let e = sim.employees[&ana].clone();
        assert_eq!(e["jobTitle"], "Supervisor");
        assert_eq!(e["lastName"], "Costa");
        assert_eq!(e["name"], "Ana Costa");
        assert_eq!(e["tags"], json!(["night"]));
        assert_eq!(e["email"], "ana@example.com", "not sent, not changed");
        assert_eq!(e["customId"], "7");
        let profile = sim.profile_of(&e).unwrap();
        assert_eq!(profile["hourlyRate"], json!(21));
        assert_eq!(profile["weeklyHoursTarget"], json!(40), "merged, not replaced");
        let address = sim.address_of(&e).unwrap();
        assert_eq!(
            (address["city"].as_str(), address["country"].as_str()),
            (Some("Porto"), Some("PT"))
        );
        assert_eq!(sim.counters.updates, 1);

        // Bob had no address: an update gives him one. PUT works as PATCH.
        let r = sim.handle(&req(
            Method::PUT,
            &format!("/rest/v1/employees/{bob}"),
            &[],
            json!({"address": {"city": "Faro"}}),
            Some(&t),
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let bob_e = sim.employees[&bob].clone();
        assert_eq!(sim.address_of(&bob_e).unwrap()["city"], "Faro");
        assert_eq!(bob_e["firstName"], "Bob");
        assert_eq!(sim.counters.updates, 2);
    }

    #[test]
    fn an_update_is_refused_as_the_api_would() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, bob) = two_employees(&mut sim, &t);
        let before = sim.employees[&ana].clone();
        let path = format!("/rest/v1/employees/{ana}");
        let patch =
            |sim: &mut Sim, body: Json| sim.handle(&req(Method::PATCH, &path, &[], body, Some(&t)));
        for (body, field) in [
            (json!({"nickname": "A"}), "nickname"),
            (json!({"status": "ACTIVE"}), "status"),
            (json!({"password": "x"}), "password"),
            (json!({"region": 2}), "region"),
            (json!({"address": {"planet": "Earth"}}), "address.planet"),
            (json!({"employmentProfile": 5}), "employmentProfile"),
            (json!({"email": "BOB@example.com"}), "email"),
            (json!({"customId": "8"}), "customId"),
            (json!({"username": "BSTONE"}), "username"),
            (json!({"email": "not-an-address"}), "email"),
            (json!({"firstName": " "}), "firstName"),
            (json!({"birthday": "1990-02-30"}), "birthday"),
            (json!({"employmentProfile": {"hourlyRate": "ten"}}), "employmentProfile.hourlyRate"),
            (json!({"tags": "night"}), "tags"),
        ] {
            let r = patch(&mut sim, body.clone());
            assert_eq!(r.status, 400, "{body}");
            assert!(r.body["errors"][field].is_array(), "{body}: {}", r.body);
        }
        // One bad field refuses the whole update.
        let r = patch(&mut sim, json!({"jobTitle": "Boss", "nickname": "A"}));
        assert_eq!(r.status, 400);
        assert_eq!(sim.employees[&ana], before);
        assert_eq!(sim.counters.updates, 0);
        // Its own e-mail and customId are no conflict, nor are a terminated
        // employee's.
        assert_eq!(
            patch(&mut sim, json!({"email": "ANA@example.com", "customId": "7"})).status,
            200
        );
        let reason = sim.termination_reason("Resignation").unwrap();
        let term = format!("/rest/v1/employees/{bob}/actions/terminate");
        let body = json!({"date": "2026-01-31", "reason": reason});
        assert_eq!(sim.handle(&req(Method::POST, &term, &[], body, Some(&t))).status, 200);
        assert_eq!(
            patch(&mut sim, json!({"email": "bob@example.com", "customId": "8"})).status,
            200
        );
        assert_eq!(
            sim.handle(&req(
                Method::PATCH,
                "/rest/v1/employees/999999",
                &[],
                json!({"jobTitle": "X"}),
                Some(&t)
            ))
            .status,
            404
        );
        assert_eq!(
            sim.handle(&req(Method::PATCH, &path, &[], json!({"jobTitle": "X"}), Some("bogus")))
                .status,
            401
        );
    }

    #[test]
    fn terminate_keeps_a_record_and_happens_once() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, _) = two_employees(&mut sim, &t);
        let r = sim.handle(&req(
            Method::GET,
            "/rest/v1/employment-termination-reasons",
            &[],
            Json::Null,
            Some(&t),
        ));
        let names: Vec<&str> =
            r.body["data"].as_array().unwrap().iter().filter_map(|x| x["name"].as_str()).collect();
        assert_eq!(names, ["Resignation", "Dismissal", "End of Contract", "Retirement", "Other"]);
        let reason = sim.termination_reason("Retirement").unwrap();
        let path = format!("/rest/v1/employees/{ana}/actions/terminate");
        let terminate =
            |sim: &mut Sim, body: Json| sim.handle(&req(Method::POST, &path, &[], body, Some(&t)));
        let r = terminate(&mut sim, json!({"date": "2026-03-01", "reason": 999999}));
        assert_eq!(r.status, 400);
        assert!(r.body["errors"]["reason"].is_array());
        assert_eq!(terminate(&mut sim, json!({"reason": reason})).status, 400);
        assert_eq!(sim.employees[&ana]["status"], "ACTIVE");
        let body = json!({"date": "2026-03-01", "reason": reason, "comment": "hrport"});
        assert_eq!(terminate(&mut sim, body.clone()).status, 200);
        assert_eq!(sim.employees[&ana]["status"], TERMINATED);
        assert_eq!(sim.terminations.len(), 1);
        let rec = &sim.terminations[0];
        assert_eq!(
            (rec["employee"].as_u64(), rec["date"].as_str()),
            (Some(ana), Some("2026-03-01"))
        );
        assert_eq!(
            (rec["reason"].as_u64(), rec["comment"].as_str()),
            (Some(reason), Some("hrport"))
        );
        let again = terminate(&mut sim, body);
        assert_eq!(again.status, 400);
        assert!(again.body["errors"]["status"].is_array());
        assert_eq!(sim.counters.terminations, 1);
        let r = sim.handle(&req(
            Method::POST,
            "/rest/v1/employees/999999/actions/terminate",
            &[],
            json!({"date": "2026-03-01", "reason": reason}),
            Some(&t),
        ));
        assert_eq!(r.status, 404);
    }

    #[test]
    fn move_to_region_needs_a_region_that_exists() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, _) = two_employees(&mut sim, &t);
        let path = format!("/rest/v1/employees/{ana}/actions/move-to-region");
        let r = sim.handle(&req(Method::POST, &path, &[], json!({"region": 999999}), Some(&t)));
        assert_eq!(r.status, 400);
        assert_eq!(r.body["message"], "region does not exist");
        assert_eq!(sim.employees[&ana]["region"], json!(sim.region_id("EMEA")));
        let apac = sim.region_id("APAC").unwrap();
        let r = sim.handle(&req(Method::POST, &path, &[], json!({"region": apac}), Some(&t)));
        assert_eq!(r.status, 200);
        assert_eq!(sim.employees[&ana]["region"], json!(apac));
        assert_eq!(sim.counters.region_moves, 1);
    }

    #[test]
    fn a_role_changes_in_place_and_is_never_removed() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, bob) = two_employees(&mut sim, &t);
        let guard = sim.role_id("Guard").unwrap();
        let sup = sim.role_id("Supervisor").unwrap();
        for user in [ana, bob] {
            let body = json!({"user": user, "role": guard});
            assert_eq!(
                sim.handle(&req(Method::POST, "/rest/v1/user-roles", &[], body, Some(&t))).status,
                201
            );
        }
        let r = sim.handle(&req(
            Method::GET,
            "/rest/v1/user-roles",
            &[("user", &ana.to_string())],
            Json::Null,
            Some(&t),
        ));
        let rows = r.body["data"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1);
        let path = format!("/rest/v1/user-roles/{}", rows[0]["id"]);
        let send =
            |sim: &mut Sim, m: Method, body: Json| sim.handle(&req(m, &path, &[], body, Some(&t)));
        assert_eq!(send(&mut sim, Method::PATCH, json!({"role": 999999})).status, 400);
        assert_eq!(send(&mut sim, Method::PATCH, json!({"user": bob, "role": sup})).status, 400);
        assert_eq!(send(&mut sim, Method::PATCH, json!({"role": sup, "extra": 1})).status, 400);
        assert_eq!(send(&mut sim, Method::DELETE, Json::Null).status, 400);
        assert_eq!(sim.role_of(ana), Some(guard));
        assert_eq!(sim.counters.role_changes, 0);
        assert_eq!(send(&mut sim, Method::PATCH, json!({"role": sup})).status, 200);
        assert_eq!(sim.role_of(ana), Some(sup));
        assert_eq!(sim.role_of(bob), Some(guard), "only this user-role changed");
        assert_eq!(sim.user_roles.iter().filter(|ur| ur["user"] == json!(ana)).count(), 1);
        assert_eq!(send(&mut sim, Method::PUT, json!({"role": guard})).status, 200);
        assert_eq!(sim.role_of(ana), Some(guard));
        assert_eq!(sim.counters.role_changes, 2);
        let r = sim.handle(&req(
            Method::PATCH,
            "/rest/v1/user-roles/999999",
            &[],
            json!({"role": sup}),
            Some(&t),
        ));
        assert_eq!(r.status, 404);
    }

    #[test]
    fn the_new_endpoints_answer_with_the_test_settings_refusals() {
        let mut sim = Sim::new(&SandboxConfig::default());
        let t = login(&mut sim);
        let (ana, _) = two_employees(&mut sim, &t);
        sim.refuse.push((Method::PATCH, format!("/employees/{ana}"), 503));
        let r = sim.handle(&req(
            Method::PATCH,
            &format!("/rest/v1/employees/{ana}"),
            &[],
            json!({"jobTitle": "X"}),
            Some(&t),
        ));
        assert_eq!(r.status, 503);
        assert_eq!(sim.employees[&ana]["jobTitle"], "Guard");
    }
}
