//! Guardian (LawLogix I-9) REST v1 users: template, payloads and answers.
//!
//! Facts from `vendor-apis.md` §3: bearer token (issuing not public), `POST` and
//! paged `GET /v1/users`, `PATCH /v1/users/{id}` for updates and `retired`
//! (the lifecycle), the documented lengths (login 30), roles as ids with no
//! API to list them, SSO ids only in that mode. Unknowns are options or
//! documented choices, never guesses. It only translates: it never sleeps,
//! retries or holds an HTTP client.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Target, TargetInfo, id_text, json_cell, payload, value_json,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefTable, RefTables, Value};
use crate::secret::Secret;
use crate::text;
use crate::text::get_lowercase;
use crate::transport::auth::StaticHeaders;
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Request};

pub struct Guardian;

const T: Kind = Kind::Text;

static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("First Name", T, "firstName").required().max_len(40),
    FieldSpec::new("Middle Name", T, "middleName").max_len(25),
    FieldSpec::new("Last Name", T, "lastName").required().max_len(40),
    FieldSpec::new("Title", T, "title").aliases(&["Job Title"]).max_len(80).help(
        "Shown on the I-9 as \"Title of Employer or Authorized Representative\" (Section 2).",
    ),
    FieldSpec::new("Email", Kind::Email, "emailAddress")
        .aliases(&["Email Address", "Work Email"])
        .max_len(80)
        .help("Where Guardian sends the login e-mail and notifications."),
    FieldSpec::new("Employee ID", T, "profileId")
        .aliases(&["Profile ID", "Employee Number"])
        .max_len(30)
        .help("The company's Employee ID (profileId)."),
    // A reference column with no reference table behind it: Guardian has no
    // API that lists roles, so the cell stays text and `Gd::role_id` reads
    // it as an id or a name from the profile's `roles` table.
    FieldSpec::new("Role", Kind::Reference("role"), "role").required().help(
        "Guardian role id (a whole number), or a name listed in the profile's [options] roles.",
    ),
    FieldSpec::new("Work Number", T, "workNumber").aliases(&["Work Phone"]).max_len(20),
    FieldSpec::new("Work Extension", T, "workExtension").aliases(&["Extension"]).max_len(10),
    FieldSpec::new("Home Number", T, "homeNumber").aliases(&["Home Phone"]).max_len(20),
    FieldSpec::new("Cell Number", T, "cellNumber")
        .aliases(&["Mobile", "Cell Phone", "Mobile Phone"])
        .max_len(20),
    FieldSpec::new("Login", T, "login")
        .aliases(&["Username", "User Name"])
        .max_len(30)
        .help("Sign-in name; unique. Guardian's pages say 30 and 80 characters: 30 is enforced."),
    FieldSpec::new("Password", Kind::Secret, "password")
        .aliases(&["Temporary Password", "Initial Password"])
        .max_len(80)
        .help("Sent as the first password, never written; when empty Guardian generates one."),
    FieldSpec::new("OAuth ID", T, "oauthId").max_len(80).help(
        "Only for organisations that sign in with OAuth 2.0 (Google): [options] sso = \"oauth\".",
    ),
    FieldSpec::new("SAML ID", T, "samlId")
        .max_len(80)
        .help("Only for organisations that sign in with SAML: [options] sso = \"saml\"."),
    FieldSpec::new("Send Login Email", Kind::Bool, "sendLoginEmail")
        .help("yes: Guardian e-mails the new user their login details."),
    FieldSpec::new("Retired", Kind::Bool, "retired").aliases(&["Is Retired"]).help(
        "The lifecycle column: yes retires the user (no sign-in), no reactivates a retired one.",
    ),
];

// Indexes into FIELDS, found at compile time: a wrong name fails the build.
const FIRST_NAME: usize = field_index(FIELDS, "First Name");
const MIDDLE_NAME: usize = field_index(FIELDS, "Middle Name");
const LAST_NAME: usize = field_index(FIELDS, "Last Name");
const TITLE: usize = field_index(FIELDS, "Title");
const EMAIL: usize = field_index(FIELDS, "Email");
const EMPLOYEE_ID: usize = field_index(FIELDS, "Employee ID");
const ROLE: usize = field_index(FIELDS, "Role");
const WORK_NUMBER: usize = field_index(FIELDS, "Work Number");
const WORK_EXTENSION: usize = field_index(FIELDS, "Work Extension");
const HOME_NUMBER: usize = field_index(FIELDS, "Home Number");
const CELL_NUMBER: usize = field_index(FIELDS, "Cell Number");
const LOGIN: usize = field_index(FIELDS, "Login");
const OAUTH_ID: usize = field_index(FIELDS, "OAuth ID");
const SAML_ID: usize = field_index(FIELDS, "SAML ID");
const SEND_LOGIN_EMAIL: usize = field_index(FIELDS, "Send Login Email");
const RETIRED: usize = field_index(FIELDS, "Retired");

/// The fields `PATCH /v1/users/{id}` changes on an existing user: every
/// field of the PATCH page that a user holds and an export shows. Not
/// Password (never exported, so no difference can be seen, and setting one
/// would be a reset rather than a sync), Send Login Email (an instruction at creation) and
/// Retired (the lifecycle column: `set_active`).
static UPDATABLE: &[usize] = &[
    FIRST_NAME,
    MIDDLE_NAME,
    LAST_NAME,
    TITLE,
    EMAIL,
    EMPLOYEE_ID,
    ROLE,
    WORK_NUMBER,
    WORK_EXTENSION,
    HOME_NUMBER,
    CELL_NUMBER,
    LOGIN,
    OAUTH_ID,
    SAML_ID,
];

static INFO: TargetInfo = TargetInfo {
    primary: &["Employee ID"],
    lifecycle: None,
    template: Template {
        name: "guardian",
        title: "Guardian (LawLogix I-9) REST v1",
        fields: FIELDS,
        one_of: &[],
        unique: &["Login", "Email", "Employee ID"],
    },
    credentials: &[CredentialSpec {
        field: "token",
        help: "API access token (a bearer token), obtained from LawLogix",
    }],
    options: &[
        OptionSpec {
            name: "roles",
            default: "{}",
            help: "Role names and their Guardian ids, e.g. { \"HR Admin\" = 12 }, so the Role \
                   column may hold names. Guardian has no API that lists roles: without this \
                   table, Role must be the id.",
        },
        OptionSpec {
            name: "patch_sends_required",
            default: "false",
            help: "Send First Name, Last Name and Role with every PATCH of an existing user \
                   (read from the user just before), for a server that holds PATCH to the \
                   required flags its page shows. Off: a PATCH carries only the changed fields.",
        },
        OptionSpec {
            name: "sso",
            default: "\"none\"",
            help: "The organisation's single sign-on: \"none\", \"oauth\" (OAuth 2.0 / Google; \
                   allows OAuth ID), \"saml\" (allows SAML ID) or \"oauth,saml\" (both are on). \
                   Guardian refuses those IDs while that sign-on is off.",
        },
    ],
};

const USERS: &str = "/v1/users";

impl Target for Guardian {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn auth(&self, creds: &Credentials, _options: &Options) -> Box<dyn Auth> {
        // A fixed token: how tokens are issued is not public, so a 401 can
        // only be fixed by the person holding the token.
        let token = creds.get("token");
        Box::new(StaticHeaders {
            headers: vec![(
                "Authorization".into(),
                Secret::new(format!("Bearer {}", token.expose())),
            )],
            hint: format!(
                "check {}: an API token for this Guardian server, which the customer obtains \
                 from LawLogix (hrport cannot issue one)",
                INFO.env_var("token")
            ),
        })
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = Gd::new(options);
        for u in list_all(api, &[])? {
            let Some(id) = u.get("id").and_then(id_text) else {
                continue;
            };
            s.users += 1;
            s.lists_login |= u.get("login").is_some();
            for (field, index) in [
                ("login", &mut s.by_login),
                ("emailAddress", &mut s.by_email),
                ("profileId", &mut s.by_profile_id),
            ] {
                if let Some(key) = u.get(field).and_then(id_text) {
                    let ids = index.entry(key.to_lowercase()).or_default();
                    if !ids.contains(&id) {
                        ids.push(id.clone());
                    }
                }
            }
            if u.get("retired") == Some(&Json::Bool(true)) {
                s.retired.insert(id);
            }
        }
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        Box::new(Gd::new(options))
    }
}

/// Every user `GET /v1/users` lists for `query`, page by page, following the
/// `rel=next` link until there is none (its href is relative to the server).
fn list_all(api: &Api, query: &[(&str, String)]) -> Result<Vec<Json>, ApiError> {
    let mut all = Vec::new();
    let mut path = USERS.to_string();
    let mut q: Vec<(String, String)> =
        query.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let mut seen = HashSet::new();
    loop {
        let pairs: Vec<(&str, String)> = q.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let body = api.get(&path, &pairs)?;
        let Some(page) = body.get("searchResult").and_then(Json::as_array) else {
            // Taking an odd answer for "no users" could create duplicates.
            return Err(ApiError::Abort {
                message: format!("Guardian's answer to GET {path} has no searchResult list"),
                hint: Some(
                    "check that --base-url is the Guardian server (https://<server>)".into(),
                ),
            });
        };
        all.extend(page.iter().cloned());
        let next = body
            .get("links")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .find(|l| l.get("rel").and_then(Json::as_str) == Some("next"))
            .and_then(|l| l.get("href").and_then(Json::as_str));
        let Some(href) = next else {
            return Ok(all);
        };
        if !seen.insert(href.to_string()) {
            return Err(ApiError::Abort {
                message: format!("Guardian's user list links back to {href}, a page already read"),
                hint: None,
            });
        }
        (path, q) = parse_link(href).ok_or_else(|| ApiError::Abort {
            message: format!("Guardian's user list gave a next link hrport cannot follow: {href}"),
            hint: None,
        })?;
    }
}

/// A `links` href (`/v1/users?page=2`, or a full URL) as a path below the
/// base URL and its query.
fn parse_link(href: &str) -> Option<(String, Vec<(String, String)>)> {
    let from = href.find("/v1/")?;
    let (path, query) = href[from..].split_once('?').unwrap_or((&href[from..], ""));
    let query = serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?;
    Some((path.to_string(), query))
}

/// The tenant's single sign-on, from `[options] sso`: Guardian has one
/// switch per kind, so an organisation may have both on.
#[derive(Debug, Clone, PartialEq)]
struct Sso {
    oauth: bool,
    saml: bool,
    /// A word that is none of "none", "oauth", "saml", "both": rows that
    /// need the setting say so.
    unknown: Option<String>,
}

impl Sso {
    /// `"none"`, `"oauth"`, `"saml"`, or both as `"oauth,saml"` or `"both"`.
    fn parse(text: &str) -> Sso {
        let mut sso = Sso { oauth: false, saml: false, unknown: None };
        for word in text.split([',', ' ', '+']).map(str::trim).filter(|w| !w.is_empty()) {
            match word.to_lowercase().as_str() {
                "none" => {}
                "oauth" => sso.oauth = true,
                "saml" => sso.saml = true,
                "both" => (sso.oauth, sso.saml) = (true, true),
                _ => sso.unknown = Some(text.to_string()),
            }
        }
        sso
    }
}

struct Gd {
    /// Always empty: see the Role field.
    refs: RefTables,
    /// `[options] roles`, name -> id; empty when the profile has none.
    roles: RefTable,
    sso: Sso,
    /// `[options] patch_sends_required`: every PATCH also carries firstName,
    /// lastName and role.
    patch_sends_required: bool,
    /// Lower-cased key -> ids of the users holding it.
    by_login: HashMap<String, Vec<String>>,
    by_email: HashMap<String, Vec<String>>,
    by_profile_id: HashMap<String, Vec<String>>,
    retired: HashSet<String>,
    /// Whether the user list shows `login` (the vendor's documented example
    /// does not), and how many users it holds.
    lists_login: bool,
    users: usize,
    /// Retired users that rows matched, for the end-of-run note.
    retired_matched: Mutex<BTreeSet<String>>,
}

impl Gd {
    fn new(options: &Options) -> Gd {
        let sso = Sso::parse(&options.string("sso"));
        Gd {
            refs: RefTables::default(),
            roles: RefTable::new("role", options.table("roles")),
            sso,
            patch_sends_required: options.bool("patch_sends_required"),
            by_login: HashMap::new(),
            by_email: HashMap::new(),
            by_profile_id: HashMap::new(),
            retired: HashSet::new(),
            retired_matched: Mutex::new(BTreeSet::new()),
            lists_login: false,
            users: 0,
        }
    }

    /// The role id a Role cell means: a name of the profile's table (any
    /// case), else a whole number taken as the id itself.
    fn role_id(&self, cell: &str) -> Result<u64, String> {
        let whole = |s: &str| s.parse::<u64>().ok().filter(|&n| n > 0);
        if self.roles.entries.is_empty() {
            return whole(cell).ok_or_else(|| {
                format!(
                    "{cell:?} is not a role id; Guardian has no API that lists roles, so give \
                     the role's id (a whole number) or name it in a profile: [options] roles = \
                     {{ {cell:?} = ID }}"
                )
            });
        }
        match self.roles.resolve(cell) {
            Ok(i) => {
                let e = &self.roles.entries[i];
                whole(&e.id).ok_or_else(|| {
                    format!(
                        "the profile's [options] roles gives {:?} for {:?}, which is not a role \
                         id (a whole number)",
                        e.id, e.name
                    )
                })
            }
            Err(message) => whole(cell).ok_or(message),
        }
    }

    /// The Role cell for an export: the profile's name for the id when it
    /// reads back as that id, else the id.
    /// A user as `export` writes it.
    fn exported(&self, u: &Json) -> Exported {
        let cells = FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| match i {
                // Listed as {id, name}; Guardian's own names are not
                // used, as an import could not read them back.
                ROLE => {
                    let role = u.get("role");
                    role.and_then(|r| r.get("id").or(Some(r)))
                        .and_then(id_text)
                        .map(|id| self.role_cell(&id))
                        .unwrap_or_default()
                }
                // An instruction at creation, not something a user has.
                SEND_LOGIN_EMAIL => String::new(),
                _ if f.kind == Kind::Secret => String::new(),
                _ => json_cell(u.get(f.payload)),
            })
            .collect();
        let id = u.get("id").and_then(id_text).unwrap_or_default();
        let active = u.get("retired") != Some(&Json::Bool(true));
        Exported { id, active, cells }
    }

    fn role_cell(&self, id: &str) -> String {
        match self.roles.name_of_id(id) {
            Some(name) if self.role_id(name).ok().map(|n| n.to_string()).as_deref() == Some(id) => {
                name.to_string()
            }
            _ => id.to_string(),
        }
    }

    /// The create payload: the template's fields, the role as a number.
    fn body(&self, values: &[Value]) -> Json {
        let mut body = payload(FIELDS, values, &self.refs);
        if let Some(role) = values[ROLE].text().and_then(|c| self.role_id(c).ok()) {
            body["role"] = json!(role);
        }
        // A new user is active anyway: `retired` goes only when it asks for
        // something, as whether POST takes it is not published.
        if let Some(b) = body.as_object_mut()
            && b.get("retired") == Some(&json!(false))
        {
            b.remove("retired");
        }
        body
    }

    /// The user a row's keys find in Guardian, asking the API (after a
    /// create's answer was lost, or came without an id).
    /// The user holding `login`, asked of Guardian with its `login=` filter.
    /// When the list does not show logins, the filter's answer is trusted if
    /// it is exactly one user out of several: a server that ignored the
    /// filter would have listed them all.
    fn find_by_login(&self, api: &Api, login: &str) -> Result<Option<String>, ApiError> {
        let found = list_all(api, &[("login", login.to_string())])?;
        let shown = |u: &Json| u.get("login").and_then(id_text);
        if let Some(u) =
            found.iter().find(|u| shown(u).is_some_and(|v| v.eq_ignore_ascii_case(login)))
        {
            return Ok(u.get("id").and_then(id_text));
        }
        Ok(match found.as_slice() {
            [one] if shown(one).is_none() && self.users > 1 => one.get("id").and_then(id_text),
            _ => None,
        })
    }

    fn lookup(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        if let Some(login) = values[LOGIN].text()
            && let Some(id) = self.find_by_login(api, login)?
        {
            return Ok(Some(id));
        }
        let mut searches = Vec::new();
        if let Some(key) = values[EMAIL].text() {
            searches.push(Search {
                query: vec![("emailAddress", key.to_string())],
                field: "emailAddress",
                key,
            });
        }
        // profileId is not a documented filter: search by name and match the
        // Employee ID here.
        if let (Some(key), Some(first), Some(last)) =
            (values[EMPLOYEE_ID].text(), values[FIRST_NAME].text(), values[LAST_NAME].text())
        {
            let query = vec![("firstName", first.to_string()), ("lastName", last.to_string())];
            searches.push(Search { query, field: "profileId", key });
        }
        for s in searches {
            for u in list_all(api, &s.query)? {
                // Check the match ourselves: a server that ignored a filter
                // must not make us adopt someone else's record.
                if u.get(s.field).and_then(id_text).is_some_and(|v| v.eq_ignore_ascii_case(s.key)) {
                    return Ok(u.get("id").and_then(id_text));
                }
            }
        }
        Ok(None)
    }
}

impl Gd {
    /// The PATCH body for the `changed` fields of a row: each field's
    /// payload name and value, the role as its id.
    fn patch_body(&self, values: &[Value], changed: &[usize]) -> Map<String, Json> {
        let mut body = Map::new();
        for &f in changed.iter().filter(|f| UPDATABLE.contains(f)) {
            let v = match f {
                ROLE => values[ROLE].text().and_then(|c| self.role_id(c).ok()).map(|n| json!(n)),
                _ => value_json(&FIELDS[f], &values[f], &self.refs),
            };
            if let Some(v) = v {
                body.insert(FIELDS[f].payload.to_string(), v);
            }
        }
        body
    }

    /// `PATCH /v1/users/{id}` with `body`. With `patch_sends_required`, the
    /// required fields the body lacks are read from the user first, so the
    /// PATCH repeats them unchanged.
    fn patch(&self, api: &Api, id: &str, mut body: Map<String, Json>, step: &str) -> Outcome {
        let path = format!("{USERS}/{id}");
        const REQUIRED: [&str; 3] = ["firstName", "lastName", "role"];
        if self.patch_sends_required && REQUIRED.iter().any(|k| !body.contains_key(*k)) {
            let user = match api.get(&path, &[]) {
                Ok(u) => u,
                Err(e) => return Outcome::failed(Some(id.to_string()), "read user", e),
            };
            for k in REQUIRED {
                // The role is shown as {id, name} and sent as the id.
                let v = user.get(k).map(|v| v.get("id").unwrap_or(v)).filter(|v| !v.is_null());
                if let (false, Some(v)) = (body.contains_key(k), v) {
                    body.insert(k.to_string(), v.clone());
                }
            }
        }
        // Setting fields to values twice changes nothing: safe to resend.
        match api.send(&Request::patch(path, Json::Object(body)).repeatable()) {
            Ok(_) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(Some(id.to_string()), step, e),
        }
    }
}

/// One way to find a row's user: a listing query, and the field of the
/// answer that must equal the row's key.
struct Search<'a> {
    query: Vec<(&'static str, String)>,
    field: &'static str,
    key: &'a str,
}

/// Whether a row has a key that finds its user again.
fn has_key(values: &[Value]) -> bool {
    [LOGIN, EMAIL, EMPLOYEE_ID].iter().any(|&f| !values[f].is_empty())
}

/// "Login and Email match user 12 but Employee ID matches user 15".
fn conflict(groups: &[(Vec<String>, Vec<String>)]) -> String {
    let part = |(labels, ids): &(Vec<String>, Vec<String>)| {
        format!(
            "{} {} {} {}",
            text::and_list(labels),
            if labels.len() == 1 { "matches" } else { "match" },
            if ids.len() == 1 { "user" } else { "users" },
            text::and_list(ids)
        )
    };
    let parts: Vec<String> = groups.iter().map(part).collect();
    match parts.split_first() {
        Some((first, [])) => format!("{first} in Guardian"),
        Some((first, rest)) => format!("{first} but {} in Guardian", text::and_list(rest)),
        None => String::new(),
    }
}

impl Session for Gd {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    /// Guardian cannot list its roles: the template offers the profile's.
    fn names(&self, field: usize) -> Option<Vec<String>> {
        (field == ROLE).then(|| self.roles.entries.iter().map(|e| e.name.clone()).collect())
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        if let Some(cell) = values[ROLE].text()
            && let Err(message) = self.role_id(cell)
        {
            problems.push(Problem::new(m.label(ROLE), message));
        }
        for (field, on, value, what) in [
            (OAUTH_ID, self.sso.oauth, "oauth", "OAuth 2.0 (Google)"),
            (SAML_ID, self.sso.saml, "saml", "SAML"),
        ] {
            if values[field].is_empty() || (on && self.sso.unknown.is_none()) {
                continue;
            }
            let message = match &self.sso.unknown {
                Some(given) => format!(
                    "the profile's [options] sso = {given:?} is not \"none\", \"oauth\", \
                     \"saml\" or \"oauth,saml\""
                ),
                None => format!(
                    "Guardian refuses {} unless the organisation signs in with {what}; if it \
                     does, set sso = \"{value}\" (or \"oauth,saml\" for both) in the [options] \
                     of a profile (--profile)",
                    if field == OAUTH_ID { "an OAuth ID" } else { "a SAML ID" }
                ),
            };
            problems.push(Problem::new(m.label(field), message));
        }
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        // Groups of (key columns, users they match), one per distinct set of
        // users, in column order.
        let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for (field, index) in
            [(LOGIN, &self.by_login), (EMAIL, &self.by_email), (EMPLOYEE_ID, &self.by_profile_id)]
        {
            let Some(ids) = values[field].text().and_then(|k| get_lowercase(index, k)) else {
                continue;
            };
            match groups.iter_mut().find(|(_, g)| g == ids) {
                Some((labels, _)) => labels.push(m.label(field).to_string()),
                None => groups.push((vec![m.label(field).to_string()], ids.clone())),
            }
        }
        let id = match groups.as_slice() {
            [] => return Ok(None),
            [(_, ids)] if ids.len() == 1 => ids[0].clone(),
            _ => return Err(Problem::row(conflict(&groups))),
        };
        if self.retired.contains(&id) && self.wants_active(values) != Some(false) {
            self.retired_matched.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone());
        }
        // Guardian has no follow-up steps, so an existing user is complete.
        Ok(Some(Existing { id, incomplete: false }))
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        let values = row.values;
        if let Some(ex) = row.existing {
            // Not reached: existing users are never incomplete.
            return Outcome::Completed { id: ex.id.clone() };
        }
        // The list did not show logins, so a user matching only by Login was
        // not recognised from it: ask Guardian before creating a second one.
        if !self.lists_login
            && self.users > 0
            && let Some(login) = values[LOGIN].text()
        {
            match self.find_by_login(api, login) {
                Ok(Some(id)) => return Outcome::Completed { id },
                Ok(None) => {}
                Err(e) => return Outcome::failed(None, "look up the login", e),
            }
        }
        let req = Request::post(USERS, self.body(values));
        let lookup = |api: &Api| {
            if !has_key(values) {
                // Sending it again could create the user twice.
                return Err(ApiError::Unavailable(
                    "no answer came back, and the row has no Login, Email or Employee ID to look \
                     the user up by, so it was not sent again; check Guardian for this person \
                     before importing the row again"
                        .into(),
                ));
            }
            self.lookup(api, values)
        };
        match api.create(&req, &lookup) {
            Ok(Created::Recovered(id)) => Outcome::Created { id },
            Ok(Created::Answer(r)) => {
                // What a create answers is not published: the sandbox sends
                // the user; failing that, the row's keys find it.
                let id = ["/id", "/data/id", "/user/id"]
                    .iter()
                    .find_map(|p| r.body.pointer(p).and_then(id_text));
                match id.map(|id| Ok(Some(id))).unwrap_or_else(|| self.lookup(api, values)) {
                    Ok(Some(id)) => Outcome::Created { id },
                    Ok(None) => Outcome::Failed {
                        id: None,
                        message: format!(
                            "create user: Guardian answered HTTP {} without the user's id, and \
                             no user with this row's Login, Email or Employee ID was found; \
                             check Guardian before importing the row again",
                            r.status
                        ),
                        unavailable: false,
                    },
                    Err(e) => Outcome::failed(None, "create user", e),
                }
            }
            Err(e) => Outcome::failed(None, "create user", e),
        }
    }

    fn updatable(&self) -> &[usize] {
        UPDATABLE
    }

    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        let body = self.patch_body(row.values, changed);
        if body.is_empty() {
            return Outcome::Updated { id: id.to_string() };
        }
        self.patch(api, id, body, "update user")
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        match values[RETIRED] {
            Value::Bool(retired) => Some(!retired),
            _ => None,
        }
    }

    fn set_active(&self, api: &Api, id: &str, active: bool, _row: &RowInput) -> Outcome {
        let mut body = Map::new();
        body.insert("retired".into(), json!(!active));
        let step = if active { "reactivate user" } else { "retire user" };
        let outcome = self.patch(api, id, body, step);
        if active && matches!(outcome, Outcome::Updated { .. }) {
            // No longer a retired user to report at the end.
            self.retired_matched.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        }
        outcome
    }

    fn notes(&self) -> Vec<String> {
        let ids = self.retired_matched.lock().unwrap_or_else(|e| e.into_inner());
        if ids.is_empty() {
            return Vec::new();
        }
        let ids: Vec<String> = ids.iter().cloned().collect();
        vec![format!(
            "{} {} retired in Guardian ({} {}); hrport did not reactivate {} (a Retired \
             cell of no does)",
            ids.len(),
            if ids.len() == 1 { "row matches a user who is" } else { "rows match users who are" },
            if ids.len() == 1 { "id" } else { "ids" },
            ids.join(", "),
            if ids.len() == 1 { "it" } else { "them" },
        )]
    }

    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let u = api.get(&format!("{USERS}/{id}"), &[])?;
        Ok(Some(self.exported(&u).cells.into_iter().map(Some).collect()))
    }

    fn export(
        &self,
        api: &Api,
        include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        for u in list_all(api, &[])? {
            if !include_terminated && u.get("retired") == Some(&Json::Bool(true)) {
                continue;
            }
            emit(self.exported(&u)).map_err(ExportError::Output)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow::Borrowed as B;

    fn options(toml: &str) -> Options {
        Options::resolve(&INFO, &toml::from_str(toml).unwrap()).unwrap()
    }

    #[test]
    fn the_token_is_read_from_its_variable() {
        assert_eq!(INFO.env_var("token"), "HRPORT_GUARDIAN_TOKEN");
    }

    #[test]
    fn the_documented_lengths_are_enforced() {
        let limits: Vec<(&str, usize)> =
            FIELDS.iter().filter(|f| f.max_len > 0).map(|f| (f.payload, f.max_len)).collect();
        assert_eq!(
            limits,
            [
                ("firstName", 40),
                ("middleName", 25),
                ("lastName", 40),
                ("title", 80),
                ("emailAddress", 80),
                ("profileId", 30),
                ("workNumber", 20),
                ("workExtension", 10),
                ("homeNumber", 20),
                ("cellNumber", 20),
                ("login", 30),
                ("password", 80),
                ("oauthId", 80),
                ("samlId", 80),
            ]
        );
    }

    #[test]
    fn roles_are_ids_or_names_from_the_profile() {
        let none = Gd::new(&options(""));
        assert_eq!(none.role_id("12"), Ok(12));
        assert!(
            none.role_id("HR Admin")
                .unwrap_err()
                .contains("[options] roles = { \"HR Admin\" = ID }")
        );
        assert!(none.role_id("0").is_err());
        assert!(none.role_id("-3").is_err());

        let gd = Gd::new(&options(
            "roles = { \"HR Admin\" = 12, \"Recruiter\" = \"4\", \"Odd\" = \"x\" }",
        ));
        assert_eq!(gd.role_id("hr admin"), Ok(12));
        assert_eq!(gd.role_id("Recruiter"), Ok(4));
        assert_eq!(gd.role_id("7"), Ok(7), "ids not in the table still work");
        assert_eq!(
            gd.role_id("HR Admn"),
            Err("no role named \"HR Admn\" (did you mean \"HR Admin\"?)".into())
        );
        assert!(gd.role_id("Odd").unwrap_err().contains("which is not a role id"));
        assert_eq!(gd.role_cell("12"), "HR Admin");
        assert_eq!(gd.role_cell("4"), "Recruiter");
        assert_eq!(gd.role_cell("7"), "7");
    }

    #[test]
    fn payload_sends_the_role_as_a_number_and_nothing_empty() {
        let gd = Gd::new(&options("roles = { \"HR Admin\" = 12 }"));
        let mut values = vec![Value::Empty; FIELDS.len()];
        values[FIRST_NAME] = Value::Text(B("Ana"));
        values[LAST_NAME] = Value::Text(B("Silva"));
        values[ROLE] = Value::Text(B("HR admin"));
        values[LOGIN] = Value::Text(B("asilva"));
        values[SEND_LOGIN_EMAIL] = Value::Bool(true);
        values[RETIRED] = Value::Bool(false);
        assert_eq!(
            gd.body(&values),
            json!({"firstName": "Ana", "lastName": "Silva", "role": 12, "login": "asilva", "sendLoginEmail": true})
        );
    }

    #[test]
    fn a_patch_carries_only_changed_updatable_fields_and_retired_is_the_lifecycle() {
        let gd = Gd::new(&options("roles = { \"HR Admin\" = 12 }"));
        let mut values = vec![Value::Empty; FIELDS.len()];
        values[FIRST_NAME] = Value::Text(B("Ana"));
        values[TITLE] = Value::Text(B("Director"));
        values[ROLE] = Value::Text(B("hr admin"));
        values[SEND_LOGIN_EMAIL] = Value::Bool(true);
        values[RETIRED] = Value::Bool(true);
        let changed = [TITLE, ROLE, SEND_LOGIN_EMAIL, RETIRED, CELL_NUMBER];
        assert_eq!(
            Json::Object(gd.patch_body(&values, &changed)),
            json!({"title": "Director", "role": 12}),
            "not First Name (unchanged), nor what update does not change, nor empty cells"
        );
        assert_eq!(gd.wants_active(&values), Some(false));
        values[RETIRED] = Value::Bool(false);
        assert_eq!(gd.wants_active(&values), Some(true));
        values[RETIRED] = Value::Empty;
        assert_eq!(gd.wants_active(&values), None);
        for f in [field_index(FIELDS, "Password"), SEND_LOGIN_EMAIL, RETIRED] {
            assert!(!gd.updatable().contains(&f), "{}", FIELDS[f].column);
        }
    }

    #[test]
    fn links_are_followed_relative_or_absolute() {
        assert_eq!(
            parse_link("/v1/users?lastName=O%27Neil&page=2"),
            Some((
                "/v1/users".into(),
                vec![("lastName".into(), "O'Neil".into()), ("page".into(), "2".into())]
            ))
        );
        assert_eq!(
            parse_link("https://acme.example/v1/users?page=3"),
            Some(("/v1/users".into(), vec![("page".into(), "3".into())]))
        );
        assert_eq!(parse_link("/users?page=2"), None);
    }

    #[test]
    fn conflicts_name_every_user() {
        let g = |labels: &[&str], ids: &[&str]| {
            (
                labels.iter().map(|s| s.to_string()).collect(),
                ids.iter().map(|s| s.to_string()).collect(),
            )
        };
        assert_eq!(
            conflict(&[g(&["Login", "Email"], &["12"]), g(&["Employee ID"], &["15"])]),
            "Login and Email match user 12 but Employee ID matches user 15 in Guardian"
        );
        assert_eq!(
            conflict(&[g(&["Email"], &["3", "9"])]),
            "Email matches users 3 and 9 in Guardian"
        );
    }
}
