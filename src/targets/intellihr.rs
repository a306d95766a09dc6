//! intelliHR (Humanforce) Public API v1: template, payloads and answers.
//!
//! Facts from `vendor-apis.md` §2: a static API key as a bearer token plus a
//! `Tenant` header; lists paged with `page`/`limit` (at most 100) and
//! `meta.pagination`; errors `{name, message, code, errors}`. A row is a
//! person with a user account: `POST /people` with `userAccount` creates
//! both, and a person who exists without an account gets one with
//! `POST /users`, found by a search object that matches exactly that person.
//! Accounts are created disabled unless asked, because an enabled account
//! gets its welcome e-mail at once. An existing row changes through
//! `PATCH /people/{id}` (person fields) and `PATCH /users/{id}` (username,
//! and `isEnabled`, the lifecycle); an existing account's permission groups
//! cannot change. This module translates only.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Switch, Target, TargetInfo, id_text, payload, value_json,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefEntry, RefTable, RefTables, Value};
use crate::secret::Secret;
use crate::text::get_lowercase;
use crate::transport::auth::StaticHeaders;
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Request};

pub struct IntelliHr;

const T: Kind = Kind::Text;
const GENDERS: &[&str] = &["Female", "Male", "Non-binary", "Other", "Undisclosed"];

static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("Employee Number", T, "employeeNumber")
        .aliases(&["Employee ID", "Employee No"])
        .help("Unique; finds the person if they exist already."),
    FieldSpec::new("Title", T, "title").help("Mr, Ms, Dr, ..."),
    FieldSpec::new("First Name", T, "firstName"),
    FieldSpec::new("Middle Name", T, "middleName"),
    FieldSpec::new("Last Name", T, "lastName").required(),
    FieldSpec::new("Preferred Name", T, "preferredName"),
    FieldSpec::new("Date of Birth", Kind::PastDate, "dateOfBirth").aliases(&["Birthday", "DOB"]),
    FieldSpec::new("Gender", Kind::Choice(GENDERS), "gender")
        .help("The start of a value is enough (F, M), as intelliHR itself accepts."),
    FieldSpec::new("Email", Kind::Email, "primaryEmailAddress")
        .aliases(&["Email Address", "Work Email", "Primary Email"])
        .help("Unique; finds the person if they exist already."),
    FieldSpec::new("Phone", T, "primaryPhoneNumber").aliases(&[
        "Mobile",
        "Primary Phone",
        "Phone Number",
    ]),
    FieldSpec::new("Username", T, "userAccount.username")
        .required()
        .help("The user account's sign-in name; unique in intelliHR."),
    FieldSpec::new(
        "Permission Groups",
        Kind::References("permission group"),
        "userAccount.permissionGroups",
    )
    .aliases(&["Permission Group"])
    .help("Empty: the allow-listed groups. Others need --allow-elevated-permissions."),
    FieldSpec::new("Login Enabled", Kind::Bool, "userAccount.isEnabled")
        .aliases(&["Enabled", "Can Login"])
        .help("Empty: no, unless --enable-login (an enabled account is e-mailed at once)."),
];

const EMPLOYEE_NUMBER: usize = field_index(FIELDS, "Employee Number");
const TITLE: usize = field_index(FIELDS, "Title");
const FIRST_NAME: usize = field_index(FIELDS, "First Name");
const MIDDLE_NAME: usize = field_index(FIELDS, "Middle Name");
const LAST_NAME: usize = field_index(FIELDS, "Last Name");
const PREFERRED_NAME: usize = field_index(FIELDS, "Preferred Name");
const DATE_OF_BIRTH: usize = field_index(FIELDS, "Date of Birth");
const GENDER: usize = field_index(FIELDS, "Gender");
const EMAIL: usize = field_index(FIELDS, "Email");
const PHONE: usize = field_index(FIELDS, "Phone");
const USERNAME: usize = field_index(FIELDS, "Username");
const GROUPS: usize = field_index(FIELDS, "Permission Groups");
const ENABLED: usize = field_index(FIELDS, "Login Enabled");

/// What an existing row can change: the person's fields through
/// `PATCH /people/{id}` and the username through `PATCH /users/{id}`. Not
/// Permission Groups (no endpoint changes an existing user's groups) and not
/// Login Enabled (the lifecycle column: `set_active`).
static UPDATABLE: &[usize] = &[
    EMPLOYEE_NUMBER,
    TITLE,
    FIRST_NAME,
    MIDDLE_NAME,
    LAST_NAME,
    PREFERRED_NAME,
    DATE_OF_BIRTH,
    GENDER,
    EMAIL,
    PHONE,
    USERNAME,
];

static INFO: TargetInfo = TargetInfo {
    primary: &["Employee Number"],
    lifecycle: Some("Login Enabled"),
    template: Template {
        name: "intellihr",
        title: "intelliHR (Humanforce) Public API v1",
        fields: FIELDS,
        one_of: &[],
        unique: &["Employee Number", "Email", "Username"],
    },
    credentials: &[
        CredentialSpec {
            field: "api_key",
            help: "a Public API access key (Settings → Public API Access Keys)",
        },
        CredentialSpec { field: "tenant", help: "the tenant name: your intelliHR sub-domain" },
    ],
    options: &[
        OptionSpec {
            name: "allowed_permission_groups",
            default: "[\"Staff Member\"]",
            help: "The permission groups a row may name without --allow-elevated-permissions \
                   (intelliHR advises granting more by hand); a row with no groups gets all of them.",
        },
        OptionSpec {
            name: "allow_elevated_permissions",
            default: "false",
            help: "Let rows ask for groups outside the allow-list; set only by the flag \
                   --allow-elevated-permissions, never by a profile. Every such grant is listed in \
                   the summary.",
        },
        OptionSpec {
            name: "enable_login",
            default: "false",
            help: "Create accounts enabled when the row does not say (the flag --enable-login sets \
                   it). intelliHR e-mails an enabled account at once.",
        },
    ],
};

const API: &str = "/v1";
const PAGE: usize = 100;

impl Target for IntelliHr {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn switches(&self) -> &'static [Switch] {
        &[
            Switch {
                option: "enable_login",
                flag: "enable-login",
                help: "Create user accounts able to sign in (targets that send a welcome \
                       e-mail as soon as an enabled account exists; see docs/targets).",
                flag_only: false,
            },
            Switch {
                option: "allow_elevated_permissions",
                flag: "allow-elevated-permissions",
                help: "Allow rows to ask for permission groups outside the target's \
                       allow-list; every such grant is listed in the summary.",
                flag_only: true,
            },
        ]
    }

    fn auth(&self, creds: &Credentials, _options: &Options) -> Box<dyn Auth> {
        Box::new(StaticHeaders {
            headers: vec![
                (
                    "Authorization".into(),
                    Secret::new(format!("Bearer {}", creds.get("api_key").expose())),
                ),
                ("Tenant".into(), creds.get("tenant")),
            ],
            hint: format!(
                "check {} (the key and the tenant's sub-domain)",
                INFO.env_vars().join(" and ")
            ),
        })
    }

    fn lists(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = Ih::empty(options);
        s.refs.0.insert("permission group", ref_table(&list_all(api, "/permission-groups")?));
        Ok(Box::new(s))
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = Ih::empty(options);
        let groups = ref_table(&list_all(api, "/permission-groups")?);
        let mut missing = Vec::new();
        for name in options.strings("allowed_permission_groups") {
            match groups.resolve(&name) {
                Ok(i) => s.allowed.push(i),
                Err(_) => missing.push(name),
            }
        }
        if !missing.is_empty() {
            return Err(ApiError::Abort {
                message: format!(
                    "the allow-listed permission group{} {} not exist in intelliHR",
                    if missing.len() == 1 { " does" } else { "s do" },
                    missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
                ),
                hint: Some(
                    "set [options] allowed_permission_groups in a profile to groups the tenant has"
                        .into(),
                ),
            });
        }
        s.refs.0.insert("permission group", groups);
        for p in list_all(api, "/people")? {
            let Some(id) = p.get("id").and_then(id_text) else { continue };
            if let Some(n) = p.get("employeeNumber").and_then(id_text) {
                s.by_number.insert(n.to_lowercase(), id.clone());
            }
            if let Some(m) = email_of(&p) {
                s.by_email.insert(m.to_lowercase(), id.clone());
            }
        }
        for u in list_all(api, "/users")? {
            let person = u.pointer("/person/id").and_then(id_text);
            if let (Some(p), Some(user)) = (&person, u.get("id").and_then(id_text)) {
                s.accounts.insert(p.clone(), Account { user });
            }
            if let (Some(name), Some(p)) = (u.get("username").and_then(Json::as_str), person) {
                s.usernames.insert(name.to_lowercase(), p);
            }
        }
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        Box::new(Ih::empty(options))
    }
}

/// Every record of a list endpoint, page by page, until the last page that
/// `meta.pagination` announces (or an empty page).
fn list_all(api: &Api, path: &str) -> Result<Vec<Json>, ApiError> {
    list_filtered(api, path, &[])
}

fn list_filtered(
    api: &Api,
    path: &str,
    filters: &[(String, String)],
) -> Result<Vec<Json>, ApiError> {
    let mut all = Vec::new();
    for page in 1.. {
        let mut q: Vec<(&str, String)> =
            vec![("page", page.to_string()), ("limit", PAGE.to_string())];
        q.extend(filters.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let body = api.get(&format!("{API}{path}"), &q)?;
        let data = body.get("data").and_then(Json::as_array).cloned().unwrap_or_default();
        let empty = data.is_empty();
        all.extend(data);
        let pages =
            body.pointer("/meta/pagination/total_pages").and_then(Json::as_u64).unwrap_or(0);
        if empty || page as u64 >= pages {
            break;
        }
    }
    Ok(all)
}

/// `filters[field][eq]=value`, intelliHR's only filter operation.
fn eq(field: &str, value: &str) -> (String, String) {
    (format!("filters[{field}][eq]"), value.to_string())
}

fn ref_table(records: &[Json]) -> RefTable {
    let entries = records
        .iter()
        .filter_map(|r| {
            Some(RefEntry {
                id: r.get("id").and_then(id_text)?,
                name: r.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
            })
        })
        .collect();
    RefTable::new("permission group", entries)
}

/// A person's primary e-mail, whether the API gives it as text or as an
/// object with an `email` field.
fn email_of(p: &Json) -> Option<String> {
    match p.get("primaryEmailAddress")? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Object(o) => o.get("email").and_then(Json::as_str).map(str::to_string),
        _ => None,
    }
}

/// A person's user account as loaded at connect: updates and the login
/// switch need its id, as a row's record (and export's ID) is the person.
struct Account {
    user: String,
}

struct Ih {
    refs: RefTables,
    /// Indexes, in the permission-group table, of the allow-listed groups.
    allowed: Vec<usize>,
    allow_elevated: bool,
    enable_login: bool,
    by_number: HashMap<String, String>,
    by_email: HashMap<String, String>,
    /// People who have a user account: person id -> the account.
    accounts: HashMap<String, Account>,
    /// Lower-cased username -> the person whose account it is.
    usernames: HashMap<String, String>,
    notes: Mutex<Vec<String>>,
}

impl Ih {
    fn empty(options: &Options) -> Ih {
        Ih {
            refs: RefTables::default(),
            allowed: Vec::new(),
            allow_elevated: options.bool("allow_elevated_permissions"),
            enable_login: options.bool("enable_login"),
            by_number: HashMap::new(),
            by_email: HashMap::new(),
            accounts: HashMap::new(),
            usernames: HashMap::new(),
            notes: Mutex::new(Vec::new()),
        }
    }

    /// The person a row's keys find, or a problem when they find two.
    fn person(&self, values: &[Value], m: &Mapping) -> Result<Option<String>, Problem> {
        let by_number =
            values[EMPLOYEE_NUMBER].text().and_then(|n| get_lowercase(&self.by_number, n));
        let by_email = values[EMAIL].text().and_then(|e| get_lowercase(&self.by_email, e));
        match (by_number, by_email) {
            (Some(a), Some(b)) if a != b => Err(Problem::row(format!(
                "{} matches person {a} but {} matches person {b} in intelliHR",
                m.label(EMPLOYEE_NUMBER),
                m.label(EMAIL)
            ))),
            (Some(a), _) | (None, Some(a)) => Ok(Some(a.clone())),
            (None, None) => Ok(None),
        }
    }

    fn group_names(&self, ids: &[usize]) -> Vec<String> {
        let t = self.refs.get("permission group");
        ids.iter().filter_map(|&i| t.map(|t| t.entries[i].name.clone())).collect()
    }

    fn group_ids(&self, ids: &[usize]) -> Json {
        let t = self.refs.get("permission group");
        Json::Array(
            ids.iter().filter_map(|&i| t.map(|t| Json::String(t.entries[i].id.clone()))).collect(),
        )
    }

    /// The groups a row gets: those it names, or the allow-list.
    fn groups_of<'v>(&'v self, values: &'v [Value]) -> &'v [usize] {
        match &values[GROUPS] {
            Value::Refs(ids) if !ids.is_empty() => ids,
            _ => &self.allowed,
        }
    }

    fn enabled(&self, values: &[Value]) -> bool {
        match values[ENABLED] {
            Value::Bool(b) => b,
            _ => self.enable_login,
        }
    }

    /// The account's id if the user exists, asking the API (after a lost answer).
    fn find_user(&self, api: &Api, username: &str) -> Result<Option<String>, ApiError> {
        let found = list_filtered(api, "/users", &[eq("username", username)])?;
        Ok(found
            .iter()
            .find(|u| {
                u.get("username")
                    .and_then(Json::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(username))
            })
            .and_then(|u| u.pointer("/person/id").and_then(id_text)))
    }

    /// The person a row's keys find, asking the API (after a lost answer).
    fn find_person(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        for (field, key) in [
            ("employeeNumber", values[EMPLOYEE_NUMBER].text()),
            ("primaryEmailAddress", values[EMAIL].text()),
        ] {
            let Some(key) = key else { continue };
            for p in list_filtered(api, "/people", &[eq(field, key)])? {
                // Check the match ourselves: an ignored filter must not make
                // us adopt someone else's record.
                let same = match field {
                    "employeeNumber" => p.get(field).and_then(id_text),
                    _ => email_of(&p),
                };
                if same.is_some_and(|v| v.eq_ignore_ascii_case(key)) {
                    return Ok(p.get("id").and_then(id_text));
                }
            }
        }
        Ok(None)
    }

    /// `POST /users` for a person who exists without an account.
    fn create_user(&self, api: &Api, values: &[Value], person: &str) -> Result<(), ApiError> {
        let username = values[USERNAME].text().unwrap_or_default();
        let body = json!({
            "username": username,
            "isEnabled": self.enabled(values),
            "person": {"id": person},
            "permissionGroups": self.group_ids(self.groups_of(values)),
        });
        let req = Request::post(format!("{API}/users"), body);
        let lookup = |api: &Api| self.find_user(api, username);
        api.create(&req, &lookup).map(|_| ())
    }

    /// The user account of `person`: from the list loaded at connect, else
    /// (an account made since) from the user list.
    fn user_of(&self, api: &Api, person: &str) -> Result<Option<String>, ApiError> {
        if let Some(a) = self.accounts.get(person) {
            return Ok(Some(a.user.clone()));
        }
        Ok(list_all(api, "/users")?
            .iter()
            .find(|u| u.pointer("/person/id").and_then(id_text).as_deref() == Some(person))
            .and_then(|u| u.get("id").and_then(id_text)))
    }

    /// `PATCH /users/{id}` of `person`'s account: only `isEnabled` and
    /// `username` exist there. Setting a value twice is harmless. The
    /// failed outcome when it cannot be done.
    fn patch_user(&self, api: &Api, person: &str, body: Json, step: &str) -> Result<(), Outcome> {
        let failed = |e| Outcome::failed(Some(person.to_string()), step, e);
        let Some(user) = self.user_of(api, person).map_err(failed)? else {
            return Err(Outcome::Failed {
                id: Some(person.to_string()),
                message: format!("{step}: person {person} has no user account in intelliHR"),
                unavailable: false,
            });
        };
        let req = Request::patch(format!("{API}/users/{user}"), body).repeatable();
        api.send(&req).map(|_| ()).map_err(failed)
    }

    /// The `PATCH /people/{id}` body for the changed person fields. The
    /// update schema has no primaryEmailAddress or primaryPhoneNumber: the
    /// e-mail and phone go as the whole `emailAddresses` / `phoneNumbers`
    /// lists ("will replace all"), so the person's current lists are read
    /// first and only their primary entry changes.
    fn person_patch(
        &self,
        api: &Api,
        person: &str,
        values: &[Value],
        fields: &[usize],
    ) -> Result<Json, ApiError> {
        let mut body = Map::new();
        let mut current: Option<Json> = None;
        for &f in fields {
            let Some(v) = value_json(&FIELDS[f], &values[f], &self.refs) else { continue };
            let list = match f {
                EMAIL => Some(("emailAddresses", "email")),
                PHONE => Some(("phoneNumbers", "number")),
                _ => None,
            };
            let Some((list, key)) = list else {
                body.insert(FIELDS[f].payload.to_string(), v);
                continue;
            };
            if current.is_none() {
                let p = api.get(&format!("{API}/people/{person}"), &[])?;
                current = Some(p.get("data").cloned().unwrap_or(p));
            }
            let have = current.as_ref().and_then(|p| p.get(list));
            body.insert(list.to_string(), with_primary(have, key, v.as_str().unwrap_or_default()));
        }
        Ok(Json::Object(body))
    }

    fn note_elevated(&self, row: u32, values: &[Value]) {
        let elevated: Vec<usize> =
            self.groups_of(values).iter().copied().filter(|i| !self.allowed.contains(i)).collect();
        if !elevated.is_empty() {
            let who = values[USERNAME].text().unwrap_or("?");
            let note = format!(
                "row {row}: {who} was granted elevated permission groups {}",
                self.group_names(&elevated).join(", ")
            );
            self.notes.lock().unwrap_or_else(|e| e.into_inner()).push(note);
        }
    }
}

impl Session for Ih {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        // The allow-list guards what a row grants. A person who already has
        // an account is granted nothing: intelliHR cannot change an existing
        // user's groups, so the groups they hold (granted by hand, as
        // intelliHR advises) never make their row invalid.
        let has_account = || {
            self.person(values, m).ok().flatten().is_some_and(|p| self.accounts.contains_key(&p))
        };
        if let Value::Refs(ids) = &values[GROUPS]
            && !has_account()
        {
            let elevated: Vec<usize> =
                ids.iter().copied().filter(|i| !self.allowed.contains(i)).collect();
            if !elevated.is_empty() && !self.allow_elevated {
                problems.push(Problem::new(
                    m.label(GROUPS),
                    format!(
                        "{} {} not in the allow-list ({}); intelliHR advises granting more by hand, \
                         or give --allow-elevated-permissions",
                        self.group_names(&elevated).iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
                        if elevated.len() == 1 { "is" } else { "are" },
                        self.group_names(&self.allowed).join(", ")
                    ),
                ));
            }
        }
        if let Some(u) = values[USERNAME].text()
            && let Some(owner) = get_lowercase(&self.usernames, u)
            && self.person(values, m).ok().flatten().as_ref() != Some(owner)
        {
            problems.push(Problem::new(
                m.label(USERNAME),
                format!("{u:?} is already another person's account in intelliHR (person {owner})"),
            ));
        }
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        Ok(self
            .person(values, m)?
            .map(|id| Existing { incomplete: !self.accounts.contains_key(&id), id }))
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        let values = row.values;
        if let Some(ex) = row.existing {
            // The person exists without an account: give them one.
            return match self.create_user(api, values, &ex.id) {
                Ok(()) => {
                    self.note_elevated(row.row, values);
                    Outcome::Created { id: ex.id.clone() }
                }
                Err(e) => Outcome::failed(None, "create user account", e),
            };
        }
        let mut body = payload(FIELDS, values, &self.refs);
        let account = body
            .as_object_mut()
            .and_then(|b| b.get_mut("userAccount"))
            .and_then(Json::as_object_mut);
        if let Some(account) = account {
            account.insert("isEnabled".into(), json!(self.enabled(values)));
            account.insert("permissionGroups".into(), self.group_ids(self.groups_of(values)));
        }
        let req = Request::post(format!("{API}/people"), body);
        let lookup = |api: &Api| self.find_person(api, values);
        let person = match api.create(&req, &lookup) {
            Ok(Created::Answer(r)) => match r.body.pointer("/data/id").and_then(id_text) {
                Some(id) => id,
                None => {
                    return Outcome::Failed {
                        id: None,
                        message: "create person: the answer has no data.id".into(),
                        unavailable: false,
                    };
                }
            },
            Ok(Created::Recovered(id)) => {
                // The person was created by the lost request; so, normally,
                // was the account (same request). Make sure.
                let username = values[USERNAME].text().unwrap_or_default();
                match self.find_user(api, username) {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        if let Err(e) = self.create_user(api, values, &id) {
                            return Outcome::failed(Some(id), "create user account", e);
                        }
                    }
                    Err(e) => return Outcome::failed(Some(id), "check user account", e),
                }
                id
            }
            Err(e) => return Outcome::failed(None, "create person", e),
        };
        self.note_elevated(row.row, values);
        Outcome::Created { id: person }
    }

    fn updatable(&self) -> &[usize] {
        UPDATABLE
    }

    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        let values = row.values;
        let changed: Vec<usize> =
            changed.iter().copied().filter(|f| UPDATABLE.contains(f)).collect();
        let person_fields: Vec<usize> =
            changed.iter().copied().filter(|&f| f != USERNAME).collect();
        if !person_fields.is_empty() {
            let body = match self.person_patch(api, id, values, &person_fields) {
                Ok(b) => b,
                Err(e) => return Outcome::failed(Some(id.to_string()), "read person", e),
            };
            // Nothing to send when every changed cell was empty after all.
            let req = Request::patch(format!("{API}/people/{id}"), body.clone()).repeatable();
            if body.as_object().is_some_and(|b| !b.is_empty())
                && let Err(e) = api.send(&req)
            {
                return Outcome::failed(Some(id.to_string()), "update person", e);
            }
        }
        if changed.contains(&USERNAME)
            && let Some(username) = values[USERNAME].text()
        {
            let body = json!({"username": username});
            if let Err(failed) = self.patch_user(api, id, body, "change username") {
                return failed;
            }
        }
        Outcome::Updated { id: id.to_string() }
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        match values[ENABLED] {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn set_active(&self, api: &Api, id: &str, active: bool, _row: &RowInput) -> Outcome {
        let step = if active { "enable login" } else { "disable login" };
        match self.patch_user(api, id, json!({"isEnabled": active}), step) {
            Ok(()) => Outcome::Updated { id: id.to_string() },
            Err(failed) => failed,
        }
    }

    fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    // The person only: the account's cells (username, groups, login) are
    // not read again.
    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let body = api.get(&format!("{API}/people/{id}"), &[])?;
        let p = body.get("data").cloned().unwrap_or(body);
        let cells = FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| match i {
                USERNAME | GROUPS | ENABLED => None,
                EMAIL => Some(email_of(&p).unwrap_or_default()),
                _ => Some(cell(p.get(f.payload))),
            })
            .collect();
        Ok(Some(cells))
    }

    // Disabled accounts are exported whatever `--include-terminated` says
    // (Login Enabled = no): intelliHR has no "terminated" status on people
    // or users.
    fn export(
        &self,
        api: &Api,
        _include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        let mut accounts: HashMap<String, Json> = HashMap::new();
        for u in list_all(api, "/users")? {
            if let Some(p) = u.pointer("/person/id").and_then(id_text) {
                accounts.insert(p, u);
            }
        }
        for p in list_all(api, "/people")? {
            let id = p.get("id").and_then(id_text).unwrap_or_default();
            // A row is a person with an account; people without one are not
            // something this import creates, so they are not exported.
            let Some(user) = accounts.get(&id) else { continue };
            let enabled = user.get("isEnabled").and_then(Json::as_bool).unwrap_or(false);
            let row = FIELDS
                .iter()
                .enumerate()
                .map(|(i, f)| match i {
                    USERNAME => {
                        user.get("username").and_then(Json::as_str).unwrap_or("").to_string()
                    }
                    GROUPS => user
                        .get("userPermissionGroups")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|g| g.pointer("/permissionGroup/name").and_then(Json::as_str))
                        .collect::<Vec<_>>()
                        .join("; "),
                    ENABLED => if enabled { "yes" } else { "no" }.to_string(),
                    EMAIL => email_of(&p).unwrap_or_default(),
                    _ => cell(p.get(f.payload)),
                })
                .collect();
            emit(Exported { id, active: enabled, cells: row }).map_err(ExportError::Output)?;
        }
        Ok(())
    }
}

/// A person's e-mail (`key` "email") or phone (`key` "number") list with
/// `new` as its primary entry: the primary entry takes the new value, an
/// entry already holding it is dropped (it becomes the primary one), and
/// the rest stay as they were. Each entry keeps its value and flags only:
/// the answer's custom-field shape is not the request's.
fn with_primary(have: Option<&Json>, key: &str, new: &str) -> Json {
    let mut list: Vec<Json> = have
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get(key).and_then(Json::as_str).is_some_and(|v| !v.eq_ignore_ascii_case(new)))
        .map(|e| {
            json!({
                key: e[key],
                "isPrimary": e.get("isPrimary").and_then(Json::as_bool).unwrap_or(false),
                "isPersonal": e.get("isPersonal").and_then(Json::as_bool).unwrap_or(false),
            })
        })
        .collect();
    match list.iter_mut().find(|e| e["isPrimary"] == true) {
        Some(primary) => primary[key] = json!(new),
        None => list.insert(0, json!({key: new, "isPrimary": true, "isPersonal": false})),
    }
    Json::Array(list)
}

/// A JSON value as a spreadsheet cell; objects give their name, e-mail or
/// number (the API may return a gender or phone number as an object).
fn cell(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => {
            s.get(..10).filter(|d| is_rfc3339_date(s, d)).unwrap_or(s).to_string()
        }
        Some(Json::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Object(o)) => ["name", "email", "number", "value"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Json::as_str))
            .unwrap_or("")
            .to_string(),
        Some(Json::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join("; "),
    }
}

/// intelliHR answers dates as RFC 3339 date-times; the template wants the day.
fn is_rfc3339_date(full: &str, day: &str) -> bool {
    full.len() > 10
        && full.as_bytes()[10] == b'T'
        && chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_primary_keeps_the_other_entries() {
        let have = json!([
            {"email": "old@example.com", "isPrimary": true, "isPersonal": false, "customFields": {}},
            {"email": "me@home.example", "isPrimary": false, "isPersonal": true},
            {"email": "new@example.com", "isPrimary": false, "isPersonal": false},
        ]);
        assert_eq!(
            with_primary(Some(&have), "email", "NEW@example.com"),
            json!([
                {"email": "NEW@example.com", "isPrimary": true, "isPersonal": false},
                {"email": "me@home.example", "isPrimary": false, "isPersonal": true},
            ]),
            "the old primary replaced, the same address not listed twice"
        );
        assert_eq!(
            with_primary(None, "number", "+61 400"),
            json!([{"number": "+61 400", "isPrimary": true, "isPersonal": false}])
        );
        let personal = json!([{"number": "1", "isPrimary": false, "isPersonal": true}]);
        assert_eq!(
            with_primary(Some(&personal), "number", "2"),
            json!([
                {"number": "2", "isPrimary": true, "isPersonal": false},
                {"number": "1", "isPrimary": false, "isPersonal": true},
            ])
        );
    }

    #[test]
    fn cells_from_answers() {
        assert_eq!(cell(Some(&json!("1990-05-01T00:00:00+00:00"))), "1990-05-01");
        assert_eq!(cell(Some(&json!({"id": 1, "name": "Female"}))), "Female");
        assert_eq!(cell(Some(&json!("plain"))), "plain");
    }
}
