//! SecurityTrax (alarm-dealer CRM) REST API: template, JSON:API bodies, answers.
//!
//! Facts from `vendor-apis.md` §5: the base is `https://api.securitytrax.com/
//! {profile}`; every request carries `X-SecurityTrax-IntegratorKey`; a token
//! from `POST /user/v1/authenticate` lasts 10 minutes and goes in
//! `Authorization: Bearer`; bodies are JSON:API (`application/vnd.api+json`);
//! lists filter with `filter=field = 'value'`. The users resource is not
//! publicly documented: its path, type, attribute and relationship names are
//! options, and their defaults are assumptions listed in the docs. Users are
//! never deleted by hrport: leavers are made inactive (`set_active`), and an
//! existing user's attributes and relationships change with one JSON:API
//! `PATCH` of only what differs (`update`). This module translates only.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Target, TargetInfo, id_text, json_cell, value_json,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefTables, Value};
use crate::text::get_lowercase;
use crate::transport::auth::TokenLogin;
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Request};

pub struct SecurityTrax;

const T: Kind = Kind::Text;
const D: Kind = Kind::Date;
const B: Kind = Kind::Bool;
const ACCESS: &[&str] = &["None", "All", "Shared Locations", "Hierarchy"];

/// `payload` holds the default JSON:API attribute (or, for people,
/// relationship) name; `[options] attributes` / `relationships` rename.
static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("First Name", T, "fname").required(),
    FieldSpec::new("Last Name", T, "lname").required(),
    FieldSpec::new("Username", T, "username").required().help("Sign-in name; unique."),
    FieldSpec::new("Email", Kind::Email, "email").aliases(&["Email Address", "Work Email"]),
    FieldSpec::new("Payroll Identifier", T, "payroll_identifier")
        .aliases(&["Payroll ID", "Employee ID", "Employee Number"])
        .help("Unique; finds the user if they exist already."),
    FieldSpec::new("Phone", T, "phone").aliases(&["Mobile", "Cell Phone"]),
    FieldSpec::new("Title", T, "title").aliases(&["Job Title"]),
    FieldSpec::new("Title Designation", T, "title_designation"),
    FieldSpec::new("Hire Date", D, "hire_date"),
    FieldSpec::new("Start Date", D, "start_date"),
    FieldSpec::new("Last Day", D, "last_day"),
    FieldSpec::new("Transfer Date", D, "transfer_date"),
    FieldSpec::new("Reports To", Kind::Person, "reports_to")
        .aliases(&["Manager", "Supervisor"])
        .help("Username, e-mail or payroll identifier of someone in this file or in SecurityTrax."),
    FieldSpec::new("Recruited By", Kind::Person, "recruited_by")
        .aliases(&["Recruiter"])
        .help("Username, e-mail or payroll identifier of someone in this file or in SecurityTrax."),
    FieldSpec::new("Employee Directory Access", Kind::Choice(ACCESS), "employee_directory_access"),
    FieldSpec::new("Can SMS Users", B, "can_sms_users"),
    FieldSpec::new("Active", B, "active").help("no: the user is created inactive."),
    FieldSpec::new("Can Login", B, "can_login"),
    FieldSpec::new("Generate Random Password", B, "generate_random_password")
        .help("yes: needs a Notification Email, and forces a password change."),
    FieldSpec::new("Notification Email", Kind::Email, "notification_email"),
    FieldSpec::new("Force Password Change", B, "force_password_change"),
    FieldSpec::new("Password", Kind::Secret, "password")
        .aliases(&["Temporary Password", "Initial Password"])
        .help("Sent as the user's password; never written to any output."),
];

const USERNAME: usize = field_index(FIELDS, "Username");
const EMAIL: usize = field_index(FIELDS, "Email");
const PAYROLL: usize = field_index(FIELDS, "Payroll Identifier");
const START: usize = field_index(FIELDS, "Start Date");
const LAST_DAY: usize = field_index(FIELDS, "Last Day");
const ACTIVE: usize = field_index(FIELDS, "Active");
const GENERATE: usize = field_index(FIELDS, "Generate Random Password");
const NOTIFY: usize = field_index(FIELDS, "Notification Email");
const FORCE: usize = field_index(FIELDS, "Force Password Change");
const PASSWORD: usize = field_index(FIELDS, "Password");

/// What `update` can change: every attribute and relationship, except the
/// lifecycle column (Active, changed by `set_active`) and the password
/// columns, which are instructions for creating a user rather than state a
/// user has: a password is never read back (an export leaves it empty, so
/// it would "differ" on every import and reset the user's password each
/// time), and a generated password, its notification e-mail and the forced
/// change happen once, when the user is created.
static UPDATABLE: &[usize] = &[
    field_index(FIELDS, "First Name"),
    field_index(FIELDS, "Last Name"),
    USERNAME,
    EMAIL,
    PAYROLL,
    field_index(FIELDS, "Phone"),
    field_index(FIELDS, "Title"),
    field_index(FIELDS, "Title Designation"),
    field_index(FIELDS, "Hire Date"),
    START,
    LAST_DAY,
    field_index(FIELDS, "Transfer Date"),
    field_index(FIELDS, "Reports To"),
    field_index(FIELDS, "Recruited By"),
    field_index(FIELDS, "Employee Directory Access"),
    field_index(FIELDS, "Can SMS Users"),
    field_index(FIELDS, "Can Login"),
];

static INFO: TargetInfo = TargetInfo {
    primary: &["Payroll Identifier"],
    lifecycle: Some("Active"),
    template: Template {
        name: "securitytrax",
        title: "SecurityTrax (JSON:API)",
        fields: FIELDS,
        one_of: &[],
        unique: &["Username", "Email", "Payroll Identifier"],
    },
    credentials: &[
        CredentialSpec {
            field: "integrator_key",
            help: "your X-SecurityTrax-IntegratorKey (case-sensitive)",
        },
        CredentialSpec { field: "username", help: "the SecurityTrax user hrport signs in as" },
        CredentialSpec { field: "password", help: "that user's password" },
    ],
    options: &[
        OptionSpec {
            name: "users_path",
            default: "\"/user/v1/users\"",
            help: "Path of the users resource below the base URL (not publicly documented).",
        },
        OptionSpec { name: "users_type", default: "\"users\"", help: "JSON:API type of a user." },
        OptionSpec {
            name: "attributes",
            default: "{}",
            help: "Rename attributes: template column = attribute name (defaults in the docs).",
        },
        OptionSpec {
            name: "relationships",
            default: "{}",
            help: "Rename relationships: \"Reports To\" / \"Recruited By\" = relationship name.",
        },
        OptionSpec {
            name: "page_size",
            default: "100",
            help: "Users per page when listing (JSON:API page[size]).",
        },
        OptionSpec {
            name: "token_lifetime_seconds",
            default: "600",
            help: "How long a token lasts; hrport signs in again before then (documented: 10 minutes).",
        },
    ],
};

const JSONAPI: &str = "application/vnd.api+json";

impl Target for SecurityTrax {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn auth(&self, creds: &Credentials, options: &Options) -> Box<dyn Auth> {
        let lifetime =
            options.0.get("token_lifetime_seconds").and_then(|v| v.as_integer()).unwrap_or(600);
        Box::new(TokenLogin::new(
            "/user/v1/authenticate",
            vec![("username", creds.get("username")), ("password", creds.get("password"))],
            "/token",
            Duration::from_secs(lifetime.max(1) as u64),
            vec![("X-SecurityTrax-IntegratorKey".into(), creds.get("integrator_key"))],
            vec![("Content-Type", JSONAPI.into()), ("Accept", JSONAPI.into())],
            INFO.env_vars().join(", "),
        ))
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = St::new(options);
        for u in s.list_users(api, None)? {
            let Some(id) = u.get("id").and_then(id_text) else { continue };
            for field in [USERNAME, EMAIL, PAYROLL] {
                if let Some(k) =
                    u.pointer(&format!("/attributes/{}", s.attribute(field))).and_then(id_text)
                {
                    s.keys.insert(k.to_lowercase(), id.clone());
                }
            }
        }
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        Box::new(St::new(options))
    }
}

struct St {
    refs: RefTables,
    path: String,
    kind: String,
    page_size: usize,
    attributes: HashMap<String, String>,
    relationships: HashMap<String, String>,
    /// Lower-cased username, e-mail or payroll identifier -> user id.
    keys: HashMap<String, String>,
}

impl St {
    fn new(options: &Options) -> St {
        let table = |name: &str| -> HashMap<String, String> {
            options
                .table(name)
                .into_iter()
                .filter_map(|e| {
                    let f = crate::mapping::find_field(FIELDS, &e.name)?;
                    Some((FIELDS[f].column.to_string(), e.id.trim_matches('"').to_string()))
                })
                .collect()
        };
        St {
            refs: RefTables::default(),
            path: options.string("users_path"),
            kind: options.string("users_type"),
            page_size: options
                .0
                .get("page_size")
                .and_then(|v| v.as_integer())
                .unwrap_or(100)
                .clamp(1, 1000) as usize,
            attributes: table("attributes"),
            relationships: table("relationships"),
            keys: HashMap::new(),
        }
    }

    /// The attribute (or relationship) name a field is sent as.
    fn attribute(&self, field: usize) -> &str {
        let f = &FIELDS[field];
        let renamed = if f.kind == Kind::Person { &self.relationships } else { &self.attributes };
        renamed.get(f.column).map(String::as_str).unwrap_or(f.payload)
    }

    fn jsonapi(req: Request) -> Request {
        req.header("Content-Type", JSONAPI).header("Accept", JSONAPI)
    }

    /// Every user, page by page (JSON:API `page[number]`/`page[size]`),
    /// following `links.next` or stopping at a short page.
    fn list_users(&self, api: &Api, filter: Option<&str>) -> Result<Vec<Json>, ApiError> {
        let mut all = Vec::new();
        for page in 1.. {
            let mut req = St::jsonapi(Request::get(&self.path))
                .query("page[number]", page)
                .query("page[size]", self.page_size);
            if let Some(f) = filter {
                req = req.query("filter", f);
            }
            let body = api.send(&req)?.body;
            let data = body.get("data").and_then(Json::as_array).cloned().unwrap_or_default();
            let n = data.len();
            all.extend(data);
            // With links, `next` says whether there is more; without, a
            // short page does.
            let links = body.get("links").is_some_and(Json::is_object);
            let next = body.pointer("/links/next").is_some_and(|n| !n.is_null());
            if n == 0 || (links && !next) || (!links && n < self.page_size) {
                return Ok(all);
            }
        }
        Ok(all)
    }

    /// The user a row's keys find, asking the API (after a lost answer).
    fn lookup(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        for field in [USERNAME, EMAIL, PAYROLL] {
            let Some(key) = values[field].text() else { continue };
            let attr = self.attribute(field);
            let filter = format!("{attr} = '{}'", key.replace('\'', "''"));
            for u in self.list_users(api, Some(&filter))? {
                let same = u.pointer(&format!("/attributes/{attr}")).and_then(id_text);
                if same.is_some_and(|v| v.eq_ignore_ascii_case(key)) {
                    return Ok(u.get("id").and_then(id_text));
                }
            }
        }
        Ok(None)
    }

    /// The JSON:API document that creates a row's user.
    fn document(&self, row: &RowInput) -> Json {
        let (attributes, relationships) = self.members(row, &|_| true);
        let mut attributes = attributes;
        // A generated password must be changed at first sign-in.
        if row.values[GENERATE] == Value::Bool(true) {
            attributes.insert(self.attribute(FORCE).to_string(), Json::Bool(true));
        }
        let mut data = json!({"type": self.kind, "attributes": attributes});
        if !relationships.is_empty() {
            data["relationships"] = Json::Object(relationships);
        }
        json!({ "data": data })
    }

    /// The attributes and relationships of the row's non-empty cells, of
    /// the fields `take` accepts.
    fn members(
        &self,
        row: &RowInput,
        take: &dyn Fn(usize) -> bool,
    ) -> (Map<String, Json>, Map<String, Json>) {
        let mut attributes = Map::new();
        let mut relationships = Map::new();
        for (i, (f, v)) in FIELDS.iter().zip(row.values).enumerate() {
            if !take(i) {
                continue;
            }
            if f.kind == Kind::Person {
                if let Some(id) = row.person(i) {
                    relationships.insert(
                        self.attribute(i).to_string(),
                        json!({"data": {"type": self.kind, "id": id}}),
                    );
                }
                continue;
            }
            if let Some(j) = value_json(f, v, &self.refs) {
                attributes.insert(self.attribute(i).to_string(), j);
            }
        }
        (attributes, relationships)
    }

    /// Sends one JSON:API `PATCH {path}/{id}` with these members.
    fn patch(
        &self,
        api: &Api,
        id: &str,
        attributes: Map<String, Json>,
        relationships: Map<String, Json>,
    ) -> Result<(), ApiError> {
        let mut data = json!({"type": self.kind, "id": id});
        if !attributes.is_empty() {
            data["attributes"] = Json::Object(attributes);
        }
        if !relationships.is_empty() {
            data["relationships"] = Json::Object(relationships);
        }
        let path = format!("{}/{id}", self.path);
        // The same document gives the same user however often it arrives,
        // so a lost answer may be sent again.
        api.send(&St::jsonapi(Request::patch(&path, json!({ "data": data }))).repeatable())
            .map(|_| ())
    }
}

impl St {
    /// A user as `export` writes it; `name` gives the username of a user
    /// a person cell names by id (the id itself when `None`).
    fn exported(&self, u: &Json, name: &dyn Fn(&str) -> Option<String>) -> Exported {
        let attr = |f: usize| u.pointer(&format!("/attributes/{}", self.attribute(f)));
        let cells = FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| match f.kind {
                Kind::Person => u
                    .pointer(&format!("/relationships/{}/data/id", self.attribute(i)))
                    .and_then(id_text)
                    .map(|id| name(&id).unwrap_or(id))
                    .unwrap_or_default(),
                Kind::Secret => String::new(),
                _ => json_cell(attr(i)),
            })
            .collect();
        let id = u.get("id").and_then(id_text).unwrap_or_default();
        let active = attr(ACTIVE) != Some(&Json::Bool(false));
        Exported { id, active, cells }
    }
}

impl Session for St {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        if values[GENERATE] == Value::Bool(true) {
            if values[NOTIFY].is_empty() {
                problems.push(Problem::new(
                    m.label(NOTIFY),
                    format!(
                        "is required when {} is yes (the password is e-mailed there)",
                        m.label(GENERATE)
                    ),
                ));
            }
            if values[FORCE] == Value::Bool(false) {
                problems.push(Problem::new(
                    m.label(FORCE),
                    format!(
                        "cannot be no when {} is yes: a generated password must be changed",
                        m.label(GENERATE)
                    ),
                ));
            }
            if !values[PASSWORD].is_empty() {
                problems.push(Problem::new(
                    m.label(PASSWORD),
                    format!("give a password or {} = yes, not both", m.label(GENERATE)),
                ));
            }
        }
        if let (Value::Date(start), Value::Date(last)) = (&values[START], &values[LAST_DAY])
            && last < start
        {
            problems.push(Problem::new(
                m.label(LAST_DAY),
                format!("{last} is before {} ({start})", m.label(START)),
            ));
        }
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        let mut found: Vec<(usize, &String)> = [USERNAME, EMAIL, PAYROLL]
            .into_iter()
            .filter_map(|f| Some((f, get_lowercase(&self.keys, values[f].text()?)?)))
            .collect();
        found.dedup_by(|a, b| a.1 == b.1);
        match found.as_slice() {
            [] => Ok(None),
            // Nothing is ever left to complete: a user is one request. An
            // Active cell that differs is lifecycle, which the engine asks of
            // `wants_active`/`set_active`; other differences are `update`'s.
            [(_, id)] => Ok(Some(Existing { id: (*id).clone(), incomplete: false })),
            [(fa, a), (fb, b), ..] => Err(Problem::row(format!(
                "{} matches user {a} but {} matches user {b} in SecurityTrax",
                m.label(*fa),
                m.label(*fb)
            ))),
        }
    }

    fn person(&self, key: &str) -> Option<String> {
        get_lowercase(&self.keys, key).cloned()
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        if let Some(ex) = row.existing {
            // A user has no follow-up steps, so an existing one has nothing
            // missing; changes go through `update` and `set_active`.
            return Outcome::Completed { id: ex.id.clone() };
        }
        let req = St::jsonapi(Request::post(&self.path, self.document(row)));
        let lookup = |api: &Api| self.lookup(api, row.values);
        let fail = |e: ApiError| Outcome::failed(None, "create user", e);
        match api.create(&req, &lookup) {
            Ok(Created::Recovered(id)) => Outcome::Created { id },
            Ok(Created::Answer(r)) => match r.body.pointer("/data/id").and_then(id_text) {
                Some(id) => Outcome::Created { id },
                None => Outcome::Failed {
                    id: None,
                    message: "create user: the answer has no data.id".into(),
                    unavailable: false,
                },
            },
            Err(e) => fail(e),
        }
    }

    fn updatable(&self) -> &[usize] {
        UPDATABLE
    }

    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        let take = |i: usize| changed.contains(&i) && UPDATABLE.contains(&i);
        let (attributes, relationships) = self.members(row, &take);
        // A person the engine did not resolve would silently stay as it is.
        if let Some(&f) =
            changed.iter().find(|&&f| FIELDS[f].kind == Kind::Person && row.person(f).is_none())
        {
            return Outcome::Failed {
                id: Some(id.to_string()),
                message: format!(
                    "update user: {} names nobody SecurityTrax holds",
                    FIELDS[f].column
                ),
                unavailable: false,
            };
        }
        if attributes.is_empty() && relationships.is_empty() {
            return Outcome::Updated { id: id.to_string() };
        }
        match self.patch(api, id, attributes, relationships) {
            Ok(()) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(Some(id.to_string()), "update user", e),
        }
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        match values[ACTIVE] {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn set_active(&self, api: &Api, id: &str, active: bool, _row: &RowInput) -> Outcome {
        // SecurityTrax users are never deleted: people who leave are made
        // inactive, and back.
        let mut attributes = Map::new();
        attributes.insert(self.attribute(ACTIVE).to_string(), Json::Bool(active));
        match self.patch(api, id, attributes, Map::new()) {
            Ok(()) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(
                Some(id.to_string()),
                if active { "make the user active" } else { "make the user inactive" },
                e,
            ),
        }
    }

    // A person cell comes back as the user's id, which the worker
    // compares through `person`.
    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let body = api.send(&St::jsonapi(Request::get(format!("{}/{id}", self.path))))?.body;
        let u = body.get("data").cloned().unwrap_or(body);
        Ok(Some(self.exported(&u, &|_| None).cells.into_iter().map(Some).collect()))
    }

    fn export(
        &self,
        api: &Api,
        include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        let users = self.list_users(api, None)?;
        let username_attr = self.attribute(USERNAME).to_string();
        let names: HashMap<String, String> = users
            .iter()
            .filter_map(|u| {
                Some((
                    u.get("id").and_then(id_text)?,
                    u.pointer(&format!("/attributes/{username_attr}")).and_then(id_text)?,
                ))
            })
            .collect();
        for u in &users {
            // Users are never deleted, only made inactive: leave those out
            // unless asked, as other targets leave out terminated people.
            let row = self.exported(u, &|id| names.get(id).cloned());
            if !include_terminated && !row.active {
                continue;
            }
            emit(row).map_err(ExportError::Output)?;
        }
        Ok(())
    }
}
