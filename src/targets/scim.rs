//! SCIM 2.0 (RFC 7643 schema, RFC 7644 protocol): any SCIM service provider.
//!
//! The service provider says what it can do (`/ServiceProviderConfig`,
//! `/ResourceTypes`), and this module adapts: filters for look-ups, PATCH
//! (else PUT) for updates, `If-Match` when it has ETags (a 412 re-reads the
//! user once), `/Bulk` for creates within its limits (else one request per
//! row), `startIndex`/`count` paging. A row is a User of the core schema
//! plus the enterprise extension; existing users are updated to match the
//! row, and group membership is added. For sync, `update` PATCHes only the
//! fields the engine found changed and `set_active` replaces `active`, with
//! the same If-Match handling. This module translates only.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Switch, Target, TargetInfo, id_text,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefTables, Value};
use crate::secret::Secret;
use crate::text;
use crate::text::get_lowercase;
use crate::transport::auth::StaticHeaders;
use crate::transport::errors::{ErrorReader, Reading};
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Method, Request, Response};

pub struct Scim;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SCIM_JSON: &str = "application/scim+json";
/// Rows whose keys go into one `or` filter before they are created: short
/// enough for any server's URL limit.
const FIND_AT_ONCE: usize = 20;

const T: Kind = Kind::Text;

static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("User Name", T, "userName")
        .required()
        .aliases(&["userName", "Username", "Login"])
        .help("Unique; finds the user if they exist already."),
    FieldSpec::new("External ID", T, "externalId")
        .aliases(&["externalId"])
        .help("The id in your HR system; finds the user if they exist already."),
    FieldSpec::new("Given Name", T, "name.givenName").aliases(&["First Name"]),
    FieldSpec::new("Family Name", T, "name.familyName").aliases(&["Last Name", "Surname"]),
    FieldSpec::new("Display Name", T, "displayName"),
    FieldSpec::new("Email", Kind::Email, "emails[type eq \"work\"].value")
        .aliases(&["Work Email", "Email Address"])
        .help("Sent as the primary work e-mail."),
    FieldSpec::new("Phone", T, "phoneNumbers[type eq \"work\"].value")
        .aliases(&["Work Phone", "Phone Number"]),
    FieldSpec::new("Title", T, "title").aliases(&["Job Title"]),
    FieldSpec::new("Employee Number", T, "enterprise:employeeNumber")
        .aliases(&["Employee ID"])
        .help("Enterprise extension; finds the user if they exist already."),
    FieldSpec::new("Cost Center", T, "enterprise:costCenter"),
    FieldSpec::new("Organization", T, "enterprise:organization"),
    FieldSpec::new("Division", T, "enterprise:division"),
    FieldSpec::new("Department", T, "enterprise:department"),
    FieldSpec::new("Manager", Kind::Person, "enterprise:manager")
        .aliases(&["Reports To"])
        .help("User Name, External ID or Employee Number of someone in this file or the service."),
    FieldSpec::new("Active", Kind::Bool, "active")
        .help("no: the user is created, or made, inactive."),
    FieldSpec::new("Groups", Kind::List, "Groups members")
        .help("Group names separated by ; (created with --create-groups)."),
];

const USER_NAME: usize = field_index(FIELDS, "User Name");
const EXTERNAL_ID: usize = field_index(FIELDS, "External ID");
const GIVEN: usize = field_index(FIELDS, "Given Name");
const FAMILY: usize = field_index(FIELDS, "Family Name");
const DISPLAY: usize = field_index(FIELDS, "Display Name");
const EMAIL: usize = field_index(FIELDS, "Email");
const PHONE: usize = field_index(FIELDS, "Phone");
const TITLE: usize = field_index(FIELDS, "Title");
const EMPLOYEE_NUMBER: usize = field_index(FIELDS, "Employee Number");
const COST_CENTER: usize = field_index(FIELDS, "Cost Center");
const ORGANIZATION: usize = field_index(FIELDS, "Organization");
const DIVISION: usize = field_index(FIELDS, "Division");
const DEPARTMENT: usize = field_index(FIELDS, "Department");
const MANAGER: usize = field_index(FIELDS, "Manager");
const ACTIVE: usize = field_index(FIELDS, "Active");
const GROUPS: usize = field_index(FIELDS, "Groups");
/// What `update` can change: every attribute the PATCH (or PUT) path sets.
/// Not Active (the lifecycle column: `set_active`), nor Groups: membership
/// is an attribute of the group, not of the user (RFC 7643 §4.1.2 makes the
/// user's `groups` read-only), added by `provision` as a follow-up step and
/// never removed.
static UPDATABLE: &[usize] = &[
    USER_NAME,
    EXTERNAL_ID,
    GIVEN,
    FAMILY,
    DISPLAY,
    EMAIL,
    PHONE,
    TITLE,
    EMPLOYEE_NUMBER,
    COST_CENTER,
    ORGANIZATION,
    DIVISION,
    DEPARTMENT,
    MANAGER,
];
/// Enterprise attributes with their template fields.
const ENTERPRISE_FIELDS: [(usize, &str); 5] = [
    (EMPLOYEE_NUMBER, "employeeNumber"),
    (COST_CENTER, "costCenter"),
    (ORGANIZATION, "organization"),
    (DIVISION, "division"),
    (DEPARTMENT, "department"),
];

static INFO: TargetInfo = TargetInfo {
    primary: &["External ID", "Employee Number"],
    lifecycle: Some("Active"),
    template: Template {
        name: "scim",
        title: "SCIM 2.0 service provider (RFC 7643/7644)",
        fields: FIELDS,
        one_of: &[],
        unique: &["User Name", "External ID", "Employee Number"],
    },
    credentials: &[CredentialSpec {
        field: "token",
        help: "the bearer token the service provider issued",
    }],
    options: &[
        OptionSpec {
            name: "create_groups",
            default: "false",
            help: "Create groups that rows name and the service does not have (the flag --create-groups sets it).",
        },
        OptionSpec {
            name: "bulk",
            default: "true",
            help: "Send creates in /Bulk requests when the service offers them; false: one request per row.",
        },
        OptionSpec {
            name: "page_size",
            default: "100",
            help: "Users per page when listing (count), capped by the service's filter.maxResults.",
        },
    ],
};

impl Target for Scim {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn switches(&self) -> &'static [Switch] {
        &[Switch {
            option: "create_groups",
            flag: "create-groups",
            help: "Create groups that rows name but the target does not have yet (SCIM).",
            flag_only: false,
        }]
    }

    fn auth(&self, creds: &Credentials, _options: &Options) -> Box<dyn Auth> {
        Box::new(StaticHeaders {
            headers: vec![("Authorization".into(), Secret::new(format!("Bearer {}", creds.get("token").expose())))],
            hint: "check HRPORT_SCIM_TOKEN and that --base-url is the SCIM base (ending in /v2 or similar)".into(),
        })
    }

    fn errors(&self) -> Box<dyn ErrorReader> {
        Box::new(ScimErrors)
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let config = api.send(&scim(Request::get("/ServiceProviderConfig")))?.body;
        let supported = |k: &str| {
            config.pointer(&format!("/{k}/supported")).and_then(Json::as_bool).unwrap_or(false)
        };
        let max_results =
            config.pointer("/filter/maxResults").and_then(Json::as_u64).unwrap_or(0) as usize;
        let wanted =
            options.0.get("page_size").and_then(|v| v.as_integer()).unwrap_or(100).max(1) as usize;
        let f = Features {
            patch: supported("patch"),
            filter: supported("filter"),
            etag: supported("etag"),
            bulk: (supported("bulk") && options.bool("bulk")).then(|| {
                let ops = config.pointer("/bulk/maxOperations").and_then(Json::as_u64).unwrap_or(0)
                    as usize;
                let bytes =
                    config.pointer("/bulk/maxPayloadSize").and_then(Json::as_u64).unwrap_or(0)
                        as usize;
                (ops.clamp(1, 100), if bytes == 0 { 1 << 20 } else { bytes })
            }),
            page: if max_results > 0 { wanted.min(max_results) } else { wanted },
        };
        // The enterprise extension, if the service says: in the User
        // resource type, else (no /ResourceTypes) in /Schemas; assumed when
        // it publishes neither.
        let enterprise = match api.send(&scim(Request::get("/ResourceTypes"))) {
            Ok(r) => resources(&r.body)
                .iter()
                .filter(|t| t.get("name").and_then(Json::as_str) == Some("User"))
                .any(|t| {
                    t.get("schemaExtensions").and_then(Json::as_array).is_some_and(|x| {
                        x.iter().any(|e| e.get("schema").and_then(Json::as_str) == Some(ENTERPRISE))
                    })
                }),
            Err(ApiError::Status { status: 404 | 501, .. }) => {
                match api.send(&scim(Request::get("/Schemas"))) {
                    Ok(r) => resources(&r.body)
                        .iter()
                        .any(|s| s.get("id").and_then(Json::as_str) == Some(ENTERPRISE)),
                    Err(ApiError::Status { status: 404 | 501, .. }) => true,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let mut s = Sc::new(options, f, enterprise);
        for u in s.list(api, "/Users", None)? {
            if let Some(id) = u.get("id").and_then(id_text) {
                for k in keys_of(&u) {
                    s.keys.insert(k.to_lowercase(), id.clone());
                }
                s.users.insert(id, u);
            }
        }
        let mut groups = Groups::default();
        for g in s.list(api, "/Groups", None)? {
            groups.add(&g);
        }
        s.groups = Mutex::new(groups);
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        let f = Features { patch: true, filter: true, etag: false, bulk: None, page: 100 };
        Box::new(Sc::new(options, f, true))
    }
}

/// The existing group whose name is within two letters (edits, ignoring
/// case) of `name`, the closest first: a typo `--create-groups` must not
/// turn into a new group.
fn near_group<'a>(name: &str, existing: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    existing
        .map(|e| (strsim::levenshtein(&wanted, &e.to_lowercase()), e))
        .filter(|(d, _)| (1..=2).contains(d))
        .min()
        .map(|(_, e)| e)
}

/// A SCIM request: SCIM media type both ways.
fn scim(req: Request) -> Request {
    req.header("Accept", SCIM_JSON).header("Content-Type", SCIM_JSON)
}

fn resources(list: &Json) -> Vec<Json> {
    list.get("Resources").and_then(Json::as_array).cloned().unwrap_or_default()
}

/// A user's keys: userName, externalId, enterprise employeeNumber.
fn keys_of(u: &Json) -> Vec<String> {
    [u.get("userName"), u.get("externalId"), u.pointer(&format!("/{ENTERPRISE}/employeeNumber"))]
        .into_iter()
        .flatten()
        .filter_map(id_text)
        .collect()
}

/// The value of a multi-valued attribute (emails, phoneNumbers) of type
/// work, else the primary one, else the first.
fn work_value(u: &Json, attr: &str) -> Option<String> {
    let items = u.get(attr)?.as_array()?;
    let pick = items
        .iter()
        .find(|e| e.get("type").and_then(Json::as_str) == Some("work"))
        .or_else(|| items.iter().find(|e| e.get("primary") == Some(&Json::Bool(true))))
        .or_else(|| items.first())?;
    pick.get("value").and_then(id_text)
}

/// A filter string value: SCIM strings are JSON strings.
fn quoted(s: &str) -> String {
    Json::String(s.to_string()).to_string()
}

#[derive(Clone, Copy)]
struct Features {
    patch: bool,
    filter: bool,
    etag: bool,
    /// Most operations and bytes in one /Bulk request, when used.
    bulk: Option<(usize, usize)>,
    page: usize,
}

#[derive(Default)]
struct Groups {
    by_name: HashMap<String, String>,
    members: HashMap<String, HashSet<String>>,
    names: HashMap<String, String>,
}

impl Groups {
    fn add(&mut self, g: &Json) {
        let (Some(id), Some(name)) =
            (g.get("id").and_then(id_text), g.get("displayName").and_then(Json::as_str))
        else {
            return;
        };
        self.by_name.insert(name.to_lowercase(), id.clone());
        self.names.insert(id.clone(), name.to_string());
        let members = g
            .get("members")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("value").and_then(id_text))
            .collect();
        self.members.insert(id, members);
    }
}

struct Sc {
    refs: RefTables,
    f: Features,
    enterprise: bool,
    create_groups: bool,
    /// Users the service held at the start, by id.
    users: HashMap<String, Json>,
    /// Lower-cased userName, externalId or employeeNumber -> user id.
    keys: HashMap<String, String>,
    /// Groups, kept up to date as hrport creates groups and adds members;
    /// locked while a group is created so two workers never create it twice.
    groups: Mutex<Groups>,
    /// Groups hrport created, in order, for summary.json.
    created_groups: Mutex<Vec<String>>,
    /// (/Bulk requests, users in them), for the summary.
    bulk_sent: Mutex<(usize, usize)>,
    /// Users found changed on the service (412) and re-read.
    conflicts: std::sync::atomic::AtomicUsize,
}

/// A PATCH operation (RFC 7644 §3.5.2).
/// Chunks of `ops` (indexes) within maxOperations and, with a margin for
/// the envelope, maxPayloadSize.
fn bulk_chunks(ops: &[Json], max_ops: usize, max_bytes: usize) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut size = 0usize;
    for (i, o) in ops.iter().enumerate() {
        let n = o.to_string().len() + 1;
        match chunks.last_mut() {
            Some(c) if c.len() < max_ops && size + n <= max_bytes * 9 / 10 => {
                c.push(i);
                size += n;
            }
            _ => {
                chunks.push(vec![i]);
                size = n + 200;
            }
        }
    }
    chunks
}

/// One operation's answer in a /Bulk response: the row (by its `bulkId`
/// `rowN`) and the new user's id or the refusal.
fn bulk_result(res: &Json) -> Option<(usize, Result<String, ApiError>)> {
    let i = res
        .get("bulkId")
        .and_then(Json::as_str)
        .and_then(|b| b.strip_prefix("row"))
        .and_then(|n| n.parse::<usize>().ok())?;
    let status =
        res.get("status").and_then(id_text).and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    let outcome = if (200..300).contains(&status) {
        let id = res.pointer("/response/id").and_then(id_text).or_else(|| {
            res.get("location")
                .and_then(Json::as_str)
                .and_then(|l| l.rsplit('/').next())
                .map(str::to_string)
        });
        id.ok_or_else(|| ApiError::Status { status, message: "the bulk answer gives no id".into() })
    } else {
        let body = res.get("response").cloned().unwrap_or(Json::Null);
        Err(ApiError::Status { status, message: scim_message(&body) })
    };
    Some((i, outcome))
}

/// Whether a cleared attribute is a list of which only the work entry goes.
fn attr_is_work(pointer: &str) -> bool {
    pointer == "/emails" || pointer == "/phoneNumbers"
}

/// Removes what `pointer` names from a full user for a PUT: the attribute,
/// or only its work entries.
fn remove_pointer(user: &mut Json, pointer: &str, work_only: bool) {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let Some(obj) = user.pointer_mut(parent).and_then(Json::as_object_mut) else { return };
    if work_only {
        if let Some(list) = obj.get_mut(key).and_then(Json::as_array_mut) {
            list.retain(|e| e.get("type").and_then(Json::as_str) != Some("work"));
        }
    } else {
        obj.remove(key);
    }
}

/// The attributes `#clear` cells empty: (PATCH path, JSON pointer in a user).
fn cleared(values: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |f: usize, path: String, pointer: String| {
        if matches!(values[f], Value::Clear) {
            out.push((path, pointer));
        }
    };
    for (f, path) in [(DISPLAY, "displayName"), (TITLE, "title"), (EXTERNAL_ID, "externalId")] {
        add(f, path.into(), format!("/{path}"));
    }
    for (f, sub) in [(GIVEN, "givenName"), (FAMILY, "familyName")] {
        add(f, format!("name.{sub}"), format!("/name/{sub}"));
    }
    // The work entry: the one hrport writes and export reads.
    for (f, attr) in [(EMAIL, "emails"), (PHONE, "phoneNumbers")] {
        add(f, format!("{attr}[type eq \"work\"]"), format!("/{attr}"));
    }
    for (f, attr) in ENTERPRISE_FIELDS.into_iter().chain([(MANAGER, "manager")]) {
        add(f, format!("{ENTERPRISE}:{attr}"), format!("/{ENTERPRISE}/{attr}"));
    }
    out
}

fn op(op: &str, path: &str, value: Json) -> Json {
    json!({"op": op, "path": path, "value": value})
}

impl Sc {
    fn new(options: &Options, f: Features, enterprise: bool) -> Sc {
        Sc {
            refs: RefTables::default(),
            f,
            enterprise,
            create_groups: options.bool("create_groups"),
            users: HashMap::new(),
            keys: HashMap::new(),
            groups: Mutex::new(Groups::default()),
            created_groups: Mutex::new(Vec::new()),
            bulk_sent: Mutex::new((0, 0)),
            conflicts: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every resource of an endpoint: `startIndex`/`count` paging until
    /// `totalResults` (or a short page) says there is no more.
    fn list(&self, api: &Api, path: &str, filter: Option<&str>) -> Result<Vec<Json>, ApiError> {
        let mut all = Vec::new();
        let mut start = 1usize;
        loop {
            let mut req =
                scim(Request::get(path)).query("startIndex", start).query("count", self.f.page);
            if let Some(f) = filter {
                req = req.query("filter", f);
            }
            let body = api.send(&req)?.body;
            let page = resources(&body);
            let n = page.len();
            all.extend(page);
            let total = body.get("totalResults").and_then(Json::as_u64).unwrap_or(0) as usize;
            start += n;
            if n == 0 || start > total {
                return Ok(all);
            }
        }
    }

    /// Users the service holds now for these new rows, by the rows' index:
    /// asked with `userName eq ... or externalId eq ...` filters, a few rows
    /// a request, just before they are created. The listing at start found
    /// everyone who existed then; this finds who was added since (by an
    /// identity provider's own sync, say), so they are updated, not
    /// refused as taken. Nothing is asked of a service without filtering.
    fn find_new(&self, api: &Api, rows: &[&RowInput]) -> Result<HashMap<usize, Json>, ApiError> {
        let mut found = HashMap::new();
        if !self.f.filter {
            return Ok(found);
        }
        for (chunk_no, chunk) in rows.chunks(FIND_AT_ONCE).enumerate() {
            let mut terms = Vec::new();
            for r in chunk {
                if let Some(n) = r.values[USER_NAME].text() {
                    terms.push(format!("userName eq {}", quoted(n)));
                }
                if let Some(x) = r.values[EXTERNAL_ID].text() {
                    terms.push(format!("externalId eq {}", quoted(x)));
                }
            }
            if terms.is_empty() {
                continue;
            }
            let users = self.list(api, "/Users", Some(&terms.join(" or ")))?;
            // Matched here, not trusted from the filter: a service that
            // ignored it must not make a row adopt someone else.
            for (i, r) in chunk.iter().enumerate() {
                let name = r.values[USER_NAME].text();
                let external = r.values[EXTERNAL_ID].text();
                let hit = users.iter().find(|u| {
                    let un = u.get("userName").and_then(Json::as_str);
                    let ex = u.get("externalId").and_then(Json::as_str);
                    (name.is_some() && un.zip(name).is_some_and(|(a, b)| a.eq_ignore_ascii_case(b)))
                        || (external.is_some() && ex == external)
                });
                if let Some(u) = hit {
                    found.insert(chunk_no * FIND_AT_ONCE + i, u.clone());
                }
            }
        }
        Ok(found)
    }

    /// The user a row names, asking the service (after a lost answer).
    fn lookup(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        let Some(name) = values[USER_NAME].text() else { return Ok(None) };
        let found = if self.f.filter {
            self.list(api, "/Users", Some(&format!("userName eq {}", quoted(name))))?
        } else {
            self.list(api, "/Users", None)?
        };
        // Check the match ourselves: a service that ignored the filter must
        // not make us adopt someone else's user.
        Ok(id_named(&found, "userName", name))
    }

    /// The user a row describes, as a new SCIM resource; `manager` is the id
    /// the Manager cell names.
    fn resource(&self, v: &[Value], manager: Option<&str>) -> Json {
        let mut u = Map::new();
        let mut schemas = vec![json!(USER)];
        let text = |i: usize| v[i].text().map(|s| json!(s));
        if let Some(x) = text(USER_NAME) {
            u.insert("userName".into(), x);
        }
        if let Some(x) = text(EXTERNAL_ID) {
            u.insert("externalId".into(), x);
        }
        let mut name = Map::new();
        if let Some(x) = text(GIVEN) {
            name.insert("givenName".into(), x);
        }
        if let Some(x) = text(FAMILY) {
            name.insert("familyName".into(), x);
        }
        if !name.is_empty() {
            u.insert("name".into(), Json::Object(name));
        }
        if let Some(x) = text(DISPLAY) {
            u.insert("displayName".into(), x);
        }
        if let Some(x) = text(EMAIL) {
            u.insert("emails".into(), json!([{"value": x, "type": "work", "primary": true}]));
        }
        if let Some(x) = text(PHONE) {
            u.insert("phoneNumbers".into(), json!([{"value": x, "type": "work"}]));
        }
        if let Some(x) = text(TITLE) {
            u.insert("title".into(), x);
        }
        if let Value::Bool(b) = v[ACTIVE] {
            u.insert("active".into(), json!(b));
        }
        let mut ext = Map::new();
        for (f, attr) in ENTERPRISE_FIELDS {
            if let Some(x) = text(f) {
                ext.insert(attr.into(), x);
            }
        }
        if let Some(id) = manager {
            ext.insert("manager".into(), json!({"value": id}));
        }
        if !ext.is_empty() {
            schemas.push(json!(ENTERPRISE));
            u.insert(ENTERPRISE.into(), Json::Object(ext));
        }
        u.insert("schemas".into(), Json::Array(schemas));
        Json::Object(u)
    }

    /// PATCH operations that make `current` match the row's non-empty cells
    /// (an empty cell leaves the attribute as it is). `manager` is the id the
    /// row's Manager cell names, when known.
    fn changes(&self, values: &[Value], current: &Json, manager: Option<&str>) -> Vec<Json> {
        let mut ops = Vec::new();
        let differs =
            |have: Option<&Json>, want: &str| have.and_then(id_text).is_none_or(|h| h != want);
        for (f, path) in [
            (USER_NAME, "userName"),
            (EXTERNAL_ID, "externalId"),
            (DISPLAY, "displayName"),
            (TITLE, "title"),
        ] {
            if let Some(want) = values[f].text()
                && differs(current.get(path), want)
            {
                ops.push(op("replace", path, json!(want)));
            }
        }
        for (f, sub) in [(GIVEN, "givenName"), (FAMILY, "familyName")] {
            if let Some(want) = values[f].text()
                && differs(current.pointer(&format!("/name/{sub}")), want)
            {
                ops.push(op("replace", &format!("name.{sub}"), json!(want)));
            }
        }
        for (f, attr) in [(EMAIL, "emails"), (PHONE, "phoneNumbers")] {
            let Some(want) = values[f].text() else { continue };
            let has_work = current.get(attr).and_then(Json::as_array).is_some_and(|a| {
                a.iter().any(|e| e.get("type").and_then(Json::as_str) == Some("work"))
            });
            if work_value(current, attr).as_deref() != Some(want) {
                if has_work {
                    ops.push(op(
                        "replace",
                        &format!("{attr}[type eq \"work\"].value"),
                        json!(want),
                    ));
                } else {
                    let primary = attr == "emails";
                    ops.push(op(
                        "add",
                        attr,
                        json!([{"value": want, "type": "work", "primary": primary}]),
                    ));
                }
            }
        }
        if let Value::Bool(want) = values[ACTIVE]
            && current.get("active").and_then(Json::as_bool) != Some(want)
        {
            ops.push(op("replace", "active", json!(want)));
        }
        for (f, attr) in ENTERPRISE_FIELDS {
            if let Some(want) = values[f].text()
                && differs(current.pointer(&format!("/{ENTERPRISE}/{attr}")), want)
            {
                ops.push(op("replace", &format!("{ENTERPRISE}:{attr}"), json!(want)));
            }
        }
        if let Some(id) = manager
            && differs(current.pointer(&format!("/{ENTERPRISE}/manager/value")), id)
        {
            let path = format!("{ENTERPRISE}:manager");
            // `replace` of a complex attribute keeps the sub-attributes it
            // does not name (RFC 7644 §3.5.2.3), so the old manager's `$ref`
            // and `displayName` would stay beside the new value: remove the
            // old manager first, in the same request.
            if current.pointer(&format!("/{ENTERPRISE}/manager")).is_some_and(|m| !m.is_null()) {
                ops.push(json!({"op": "remove", "path": path}));
                ops.push(op("add", &path, json!({"value": id})));
            } else {
                ops.push(op("replace", &path, json!({"value": id})));
            }
        }
        for (path, pointer) in cleared(values) {
            if current.pointer(&pointer).is_some_and(|v| !v.is_null()) {
                ops.push(json!({"op": "remove", "path": path}));
            }
        }
        ops
    }

    /// Group names a row asks for, and whether each exists.
    fn row_groups<'v>(&self, values: &'v [Value]) -> Vec<&'v str> {
        match &values[GROUPS] {
            Value::List(items) => items.iter().map(|s| s.as_ref()).collect(),
            _ => Vec::new(),
        }
    }

    /// `--create-groups` creates no group whose name is within two letters
    /// of one the service has (`Staf` beside `Staff`): such a row is
    /// invalid, naming the group it probably meant.
    fn check_new_groups(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        let g = self.groups();
        for name in self.row_groups(values) {
            if g.by_name.contains_key(&name.to_lowercase()) {
                continue;
            }
            if let Some(near) = near_group(name, g.names.values().map(String::as_str)) {
                problems.push(Problem::new(
                    m.label(GROUPS),
                    format!(
                        "no group named {name:?}, and hrport does not create it: it is within two \
                         letters of the existing group {near:?} (fix the name, or create the group \
                         in the service first)"
                    ),
                ));
            }
        }
    }

    /// Groups a user is missing, of those the row asks for.
    fn missing_groups(&self, values: &[Value], user: &str) -> Vec<String> {
        let g = self.groups();
        self.row_groups(values)
            .into_iter()
            .filter(|name| match g.by_name.get(&name.to_lowercase()) {
                Some(id) => !g.members.get(id).is_some_and(|m| m.contains(user)),
                None => true,
            })
            .map(str::to_string)
            .collect()
    }

    /// A group's id, creating the group when allowed. Holding the lock
    /// while creating means two workers never create the same group.
    fn group_id(&self, api: &Api, name: &str) -> Result<String, ApiError> {
        let mut g = self.groups();
        if let Some(id) = g.by_name.get(&name.to_lowercase()) {
            return Ok(id.clone());
        }
        let body = json!({"schemas": [GROUP], "displayName": name});
        let req = scim(Request::post("/Groups", body));
        let lookup = |api: &Api| -> Result<Option<String>, ApiError> {
            let found = self.list(
                api,
                "/Groups",
                self.f.filter.then(|| format!("displayName eq {}", quoted(name))).as_deref(),
            )?;
            Ok(id_named(&found, "displayName", name))
        };
        let id = match api.create(&req, &lookup)? {
            Created::Recovered(id) => id,
            Created::Answer(r) => {
                r.body.get("id").and_then(id_text).ok_or_else(|| ApiError::Status {
                    status: r.status,
                    message: "the new group's answer has no id".into(),
                })?
            }
        };
        g.add(&json!({"id": id, "displayName": name, "members": []}));
        self.created_groups.lock().unwrap_or_else(|e| e.into_inner()).push(name.to_string());
        Ok(id)
    }

    /// Adds users to the groups each asks for: one PATCH per group.
    fn add_members(&self, api: &Api, wanted: &[(String, Vec<String>)]) -> Result<(), ApiError> {
        let mut per_group: Vec<(String, Vec<String>)> = Vec::new();
        for (user, names) in wanted {
            for name in names {
                let gid = self.group_id(api, name)?;
                match per_group.iter_mut().find(|(g, _)| *g == gid) {
                    Some((_, users)) => users.push(user.clone()),
                    None => per_group.push((gid, vec![user.clone()])),
                }
            }
        }
        for (gid, users) in per_group {
            let members: Vec<Json> = users.iter().map(|u| json!({"value": u})).collect();
            if self.f.patch {
                let body = json!({"schemas": [PATCH_OP], "Operations": [op("add", "members", Json::Array(members))]});
                // Adding members is the same whenever it happens, so no
                // If-Match: a concurrent change to the group is no conflict.
                api.send(&scim(Request::patch(format!("/Groups/{gid}"), body)).repeatable())?;
            } else {
                // Without PATCH: read the group, and PUT it back with them.
                let mut group = api.send(&scim(Request::get(format!("/Groups/{gid}"))))?.body;
                let list =
                    group.as_object_mut().map(|g| g.entry("members").or_insert_with(|| json!([])));
                if let Some(Json::Array(list)) = list {
                    list.extend(members);
                }
                if let Some(g) = group.as_object_mut() {
                    g.remove("meta");
                }
                api.send(&scim(Request {
                    method: Method::Put,
                    ..Request::post(format!("/Groups/{gid}"), group)
                }))?;
            }
            let mut g = self.groups();
            g.members.entry(gid).or_default().extend(users);
        }
        Ok(())
    }

    /// Brings an existing user in line with `values` (empty cells left as
    /// they are) and `manager` (the id the Manager cell names): PATCH, else
    /// PUT, with If-Match when the service has ETags; a 412 re-reads the
    /// user once and sends what still differs. `current` is the user as last
    /// read (the start's listing when `None`). Whether anything was sent.
    fn bring_in_line(
        &self,
        api: &Api,
        id: &str,
        values: &[Value],
        manager: Option<&str>,
        current: Option<Json>,
    ) -> Result<bool, ApiError> {
        let mut current =
            current.unwrap_or_else(|| self.users.get(id).cloned().unwrap_or(Json::Null));
        for attempt in 0..2 {
            let ops = self.changes(values, &current, manager);
            if ops.is_empty() {
                return Ok(false);
            }
            let mut req = if self.f.patch {
                scim(Request::patch(
                    format!("/Users/{id}"),
                    json!({"schemas": [PATCH_OP], "Operations": ops}),
                ))
            } else {
                let mut full = current.clone();
                let wanted = self.resource(values, manager);
                merge(&mut full, &wanted);
                // The user keeps every schema it had (the merge would leave
                // only those of the changes, dropping the extension of a
                // user whose row changes no enterprise attribute).
                let mut schemas =
                    current.get("schemas").and_then(Json::as_array).cloned().unwrap_or_default();
                for s in wanted.get("schemas").and_then(Json::as_array).into_iter().flatten() {
                    if !schemas.contains(s) {
                        schemas.push(s.clone());
                    }
                }
                full["schemas"] = Json::Array(schemas);
                // A new manager replaces the old one whole, `$ref` and all.
                if let Some(m) = manager
                    && let Some(ext) = full.get_mut(ENTERPRISE).and_then(Json::as_object_mut)
                {
                    ext.insert("manager".into(), json!({"value": m}));
                }
                for (_, pointer) in cleared(values) {
                    remove_pointer(&mut full, &pointer, attr_is_work(&pointer));
                }
                if let Some(u) = full.as_object_mut() {
                    u.remove("meta");
                    u.remove("groups");
                }
                scim(Request { method: Method::Put, ..Request::post(format!("/Users/{id}"), full) })
            };
            let version = current.pointer("/meta/version").and_then(Json::as_str);
            if self.f.etag
                && let Some(v) = version
            {
                req = req.header("If-Match", v);
            }
            match api.send(&req.repeatable()) {
                // 200 with the user, or 204 without a body: both are fine.
                Ok(_) => return Ok(true),
                Err(ApiError::Status { status: 412, .. }) if attempt == 0 => {
                    self.conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    current = api.send(&scim(Request::get(format!("/Users/{id}"))))?.body;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Status {
            status: 412,
            message: "the user kept changing while hrport updated it".into(),
        })
    }

    /// Creates one user (one request), settling a lost answer by userName.
    /// Creates one user. `maybe_sent`: a bulk request holding it may have
    /// been applied without an answer, so it is looked up first.
    fn create(&self, api: &Api, row: &RowInput, maybe_sent: bool) -> Result<String, ApiError> {
        let req = scim(Request::post("/Users", self.resource(row.values, row.person(MANAGER))));
        let lookup = |api: &Api| self.lookup(api, row.values);
        let created = if maybe_sent {
            api.create_after_uncertain(&req, &lookup)?
        } else {
            api.create(&req, &lookup)?
        };
        match created {
            Created::Recovered(id) => Ok(id),
            Created::Answer(r) => {
                r.body.get("id").and_then(id_text).ok_or_else(|| ApiError::Status {
                    status: r.status,
                    message: "the new user's answer has no id".into(),
                })
            }
        }
    }

    /// Provisions one row: updates the user it matched at the start
    /// (`row.existing`) or just now (`found`), else creates one; then adds
    /// the group memberships it lacks.
    fn provision_found(&self, api: &Api, row: &RowInput, found: Option<Json>) -> Outcome {
        let known = row
            .existing
            .map(|ex| ex.id.clone())
            .or_else(|| found.as_ref().and_then(|u| u.get("id").and_then(id_text)));
        let existed = known.is_some();
        let (id, updated) = match known {
            // A record the run matched at the start: `update` changed its
            // attributes; only its groups are left.
            Some(id) if row.existing.is_some() => (id, false),
            Some(id) => {
                match self.bring_in_line(api, &id, row.values, row.person(MANAGER), found) {
                    Ok(changed) => (id, changed),
                    Err(e) => return Outcome::failed(Some(id), "update user", e),
                }
            }
            None => match self.create(api, row, false) {
                Ok(id) => (id, false),
                Err(e) => return Outcome::failed(None, "create user", e),
            },
        };
        let groups = self.missing_groups(row.values, &id);
        let added = !groups.is_empty();
        if added && let Err(e) = self.add_members(api, &[(id.clone(), groups)]) {
            return Outcome::failed(Some(id), "add to groups", e);
        }
        if !existed {
            Outcome::Created { id }
        } else if updated || added {
            Outcome::Updated { id }
        } else {
            Outcome::Completed { id }
        }
    }

    /// Creates users with /Bulk, within the service's limits. Each
    /// operation's result goes back to its row by bulkId; a request refused
    /// whole falls back to one request per row; one whose answer is lost, or
    /// an operation the answer leaves out, too, after a look-up by userName.
    fn create_bulk(
        &self,
        api: &Api,
        rows: &[&RowInput],
        limits: (usize, usize),
    ) -> Vec<Result<String, ApiError>> {
        let (max_ops, max_bytes) = limits;
        let mut out: Vec<Option<Result<String, ApiError>>> =
            (0..rows.len()).map(|_| None).collect();
        let ops: Vec<Json> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"method": "POST", "path": "/Users", "bulkId": format!("row{i}"), "data": self.resource(r.values, r.person(MANAGER))}))
            .collect();
        for chunk in bulk_chunks(&ops, max_ops, max_bytes) {
            let mut maybe_sent = false;
            let body = json!({
                "schemas": [BULK_REQUEST],
                "Operations": chunk.iter().map(|&i| ops[i].clone()).collect::<Vec<_>>(),
            });
            let answer = api.send(&scim(Request::post("/Bulk", body)));
            if answer.is_ok() {
                let mut b = self.bulk_sent.lock().unwrap_or_else(|e| e.into_inner());
                b.0 += 1;
                b.1 += chunk.len();
            }
            let results = match answer {
                Ok(r) => {
                    // Only rows the answer leaves out fall back below, and
                    // the server may have applied their operations.
                    maybe_sent = true;
                    r.body.get("Operations").and_then(Json::as_array).cloned().unwrap_or_default()
                }
                Err(ApiError::Abort { message, hint }) => {
                    for &i in &chunk {
                        out[i] = Some(Err(ApiError::Abort {
                            message: message.clone(),
                            hint: hint.clone(),
                        }));
                    }
                    continue;
                }
                // Refused as a whole (too large, malformed): nothing of it
                // was applied, so row by row as usual.
                Err(ApiError::Status { .. }) => Vec::new(),
                // No answer: any of its operations may have been applied, so
                // row by row, each looked up by userName before it is sent.
                Err(ApiError::Unavailable(_)) => {
                    maybe_sent = true;
                    Vec::new()
                }
            };
            for res in results {
                if let Some((i, r)) = bulk_result(&res).filter(|(i, _)| chunk.contains(i)) {
                    out[i] = Some(r);
                }
            }
            for &i in &chunk {
                // An operation the answer leaves out may have been applied.
                if out[i].is_none() {
                    out[i] = Some(self.create(api, rows[i], maybe_sent));
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(ApiError::Unavailable("no answer".into()))))
            .collect()
    }
}

/// SCIM's error answers: the common shapes, plus the one-word kind of error
/// (`scimType`, RFC 7644 §3.12) after the detail.
struct ScimErrors;

impl ErrorReader for ScimErrors {
    fn message(&self, r: &Response) -> String {
        scim_message(&r.body)
    }
}

fn scim_message(body: &Json) -> String {
    let mut reading = Reading::of(body);
    let kind = body.get("scimType").and_then(Json::as_str);
    if let (Some(headline), Some(kind)) = (reading.headline.as_mut(), kind) {
        *headline = format!("{headline} ({kind})");
    }
    reading.text(body)
}

/// Copies `from`'s attributes over `into` (objects merged, others replaced).
fn merge(into: &mut Json, from: &Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

impl Session for Sc {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    /// The groups the service holds, by name, for the template's dropdown.
    fn names(&self, field: usize) -> Option<Vec<String>> {
        (field == GROUPS).then(|| {
            let mut names: Vec<String> = self.groups().names.values().cloned().collect();
            names.sort();
            names
        })
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        if !self.enterprise {
            for (f, _) in ENTERPRISE_FIELDS.iter().chain(&[(MANAGER, "manager")]) {
                if !values[*f].is_empty() {
                    problems.push(Problem::new(
                        m.label(*f),
                        "this SCIM service has no enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User) to hold it",
                    ));
                }
            }
        }
        if self.create_groups {
            self.check_new_groups(values, m, problems);
        } else {
            let g = self.groups();
            let known: Vec<&str> = g.names.values().map(String::as_str).collect();
            for name in self.row_groups(values) {
                if !g.by_name.contains_key(&name.to_lowercase()) {
                    let hint = text::closest(name, known.iter().copied())
                        .map(|b| format!(" (did you mean {b:?}?)"))
                        .unwrap_or_default();
                    problems.push(Problem::new(
                        m.label(GROUPS),
                        format!("no group named {name:?}{hint}; give --create-groups to create it"),
                    ));
                }
            }
        }
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        let mut found: Vec<(usize, &String)> = [USER_NAME, EXTERNAL_ID, EMPLOYEE_NUMBER]
            .into_iter()
            .filter_map(|f| Some((f, get_lowercase(&self.keys, values[f].text()?)?)))
            .collect();
        found.dedup_by(|a, b| a.1 == b.1);
        let id = match found.as_slice() {
            [] => return Ok(None),
            [(_, id)] => (*id).clone(),
            [(fa, a), (fb, b), ..] => {
                return Err(Problem::row(format!(
                    "{} matches user {a} but {} matches user {b} in the SCIM service",
                    m.label(*fa),
                    m.label(*fb)
                )));
            }
        };
        // Differing attributes are the engine's to change (`update`); what
        // is left to `provision` is the follow-up step: group memberships.
        let incomplete = !self.missing_groups(values, &id).is_empty();
        Ok(Some(Existing { id, incomplete }))
    }

    fn person(&self, key: &str) -> Option<String> {
        get_lowercase(&self.keys, key).cloned()
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        let found = match row.existing {
            Some(_) => None,
            None => match self.find_new(api, &[row]) {
                Ok(mut f) => f.remove(&0),
                Err(e) => return Outcome::failed(None, "look the user up", e),
            },
        };
        self.provision_found(api, row, found)
    }

    fn batch_limit(&self) -> usize {
        self.f.bulk.map_or(1, |(ops, _)| ops)
    }

    fn provision_batch(&self, api: &Api, rows: &[RowInput]) -> Vec<Outcome> {
        let Some(limits) = self.f.bulk else {
            return rows.iter().map(|r| self.provision(api, r)).collect();
        };
        let mut out: Vec<Option<Outcome>> = (0..rows.len()).map(|_| None).collect();
        let mut new: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].existing.is_none()).collect();
        for i in (0..rows.len()).filter(|i| !new.contains(i)) {
            out[i] = Some(self.provision_found(api, &rows[i], None));
        }
        let refs: Vec<&RowInput> = new.iter().map(|&i| &rows[i]).collect();
        match self.find_new(api, &refs) {
            Ok(mut found) => {
                // Added since the start: updated like the others, not created.
                for (k, &i) in new.iter().enumerate() {
                    if let Some(user) = found.remove(&k) {
                        out[i] = Some(self.provision_found(api, &rows[i], Some(user)));
                    }
                }
            }
            Err(e) => {
                for &i in &new {
                    out[i] = Some(Outcome::failed(None, "look the user up", e.clone()));
                }
            }
        }
        new.retain(|&i| out[i].is_none());
        let refs: Vec<&RowInput> = new.iter().map(|&i| &rows[i]).collect();
        let created = self.create_bulk(api, &refs, limits);
        let mut members = Vec::new();
        for (&i, res) in new.iter().zip(created) {
            match res {
                Ok(id) => {
                    let groups = self.missing_groups(rows[i].values, &id);
                    if !groups.is_empty() {
                        members.push((i, id.clone(), groups));
                    }
                    out[i] = Some(Outcome::Created { id });
                }
                Err(e) => out[i] = Some(Outcome::failed(None, "create user", e)),
            }
        }
        if !members.is_empty() {
            let wanted: Vec<(String, Vec<String>)> =
                members.iter().map(|(_, id, g)| (id.clone(), g.clone())).collect();
            if let Err(e) = self.add_members(api, &wanted) {
                for (i, id, _) in members {
                    out[i] = Some(Outcome::failed(Some(id), "add to groups", e.clone()));
                }
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or(Outcome::Failed {
                    id: None,
                    message: "not processed".into(),
                    unavailable: false,
                })
            })
            .collect()
    }

    fn updatable(&self) -> &[usize] {
        UPDATABLE
    }

    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        // Only the changed fields' cells: `changes` turns each non-empty
        // one that differs into its operation, so nothing else is sent.
        let take = |i: usize| changed.contains(&i) && UPDATABLE.contains(&i);
        let values = only(row.values, &take);
        let manager = if take(MANAGER) {
            // A person the engine did not resolve would silently stay as it is.
            match row.person(MANAGER) {
                Some(m) => Some(m),
                None => {
                    return Outcome::Failed {
                        id: Some(id.to_string()),
                        message: format!(
                            "update user: {} names nobody the SCIM service holds",
                            FIELDS[MANAGER].column
                        ),
                        unavailable: false,
                    };
                }
            }
        } else {
            None
        };
        match self.bring_in_line(api, id, &values, manager, None) {
            Ok(_) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(Some(id.to_string()), "update user", e),
        }
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        match values[ACTIVE] {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn set_active(&self, api: &Api, id: &str, active: bool, row: &RowInput) -> Outcome {
        // RFC 7643 §4.1.1: `active` is the user's administrative state;
        // hrport never deletes a user.
        let mut values = only(row.values, &|_| false);
        values[ACTIVE] = Value::Bool(active);
        match self.bring_in_line(api, id, &values, None, None) {
            Ok(_) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(
                Some(id.to_string()),
                if active { "reactivate user" } else { "deactivate user" },
                e,
            ),
        }
    }

    fn groups_created(&self) -> Vec<String> {
        self.created_groups.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let (requests, users) = *self.bulk_sent.lock().unwrap_or_else(|e| e.into_inner());
        if requests > 0 {
            notes.push(format!(
                "{users} new users went in {requests} /Bulk request{}",
                if requests == 1 { "" } else { "s" }
            ));
        }
        let c = self.conflicts.load(std::sync::atomic::Ordering::Relaxed);
        if c > 0 {
            notes.push(format!(
                "{c} user{} changed on the service during the run (HTTP 412); re-read and updated",
                if c == 1 { " was" } else { "s were" }
            ));
        }
        notes
    }

    // Group memberships are kept on the groups: not read again. A manager
    // comes back as the user's id, which the worker compares through `person`.
    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let u = api.send(&scim(Request::get(format!("/Users/{id}"))))?.body;
        let cells = user_cells(&u, &|_| None, String::new());
        Ok(Some(cells.into_iter().enumerate().map(|(i, c)| (i != GROUPS).then_some(c)).collect()))
    }

    fn export(
        &self,
        api: &Api,
        include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        let users = self.list(api, "/Users", None)?;
        let mut groups = Groups::default();
        for g in self.list(api, "/Groups", None)? {
            groups.add(&g);
        }
        let names: HashMap<String, String> = users
            .iter()
            .filter_map(|u| {
                Some((u.get("id").and_then(id_text)?, u.get("userName").and_then(id_text)?))
            })
            .collect();
        for u in &users {
            if !include_terminated && u.get("active") == Some(&Json::Bool(false)) {
                continue;
            }
            let id = u.get("id").and_then(id_text).unwrap_or_default();
            let mut member_of: Vec<&str> = groups
                .members
                .iter()
                .filter(|(_, m)| m.contains(&id))
                .filter_map(|(g, _)| groups.names.get(g).map(String::as_str))
                .collect();
            member_of.sort_unstable();
            let row = user_cells(u, &|m| names.get(m).cloned(), member_of.join("; "));
            let active = u.get("active") != Some(&Json::Bool(false));
            emit(Exported { id, active, cells: row }).map_err(ExportError::Output)?;
        }
        Ok(())
    }
}

/// A user as `export` writes it: `name` gives the userName of the manager
/// a user names by id (the id itself when `None`); `groups` its groups' cell.
fn user_cells(u: &Json, name: &dyn Fn(&str) -> Option<String>, groups: String) -> Vec<String> {
    let text = |p: &str| u.pointer(p).and_then(id_text).unwrap_or_default();
    let manager = u
        .pointer(&format!("/{ENTERPRISE}/manager/value"))
        .and_then(id_text)
        .map(|m| name(&m).unwrap_or(m))
        .unwrap_or_default();
    vec![
        text("/userName"),
        text("/externalId"),
        text("/name/givenName"),
        text("/name/familyName"),
        text("/displayName"),
        work_value(u, "emails").unwrap_or_default(),
        work_value(u, "phoneNumbers").unwrap_or_default(),
        text("/title"),
        text(&format!("/{ENTERPRISE}/employeeNumber")),
        text(&format!("/{ENTERPRISE}/costCenter")),
        text(&format!("/{ENTERPRISE}/organization")),
        text(&format!("/{ENTERPRISE}/division")),
        text(&format!("/{ENTERPRISE}/department")),
        manager,
        match u.get("active") {
            Some(Json::Bool(true)) => "yes".into(),
            Some(Json::Bool(false)) => "no".into(),
            _ => String::new(),
        },
        groups,
    ]
}

/// A row's values with every field `take` refuses emptied.
fn only<'a>(values: &[Value<'a>], take: &dyn Fn(usize) -> bool) -> Vec<Value<'a>> {
    values.iter().enumerate().map(|(i, v)| if take(i) { v.clone() } else { Value::Empty }).collect()
}

/// The id of the resource whose `attribute` is `name` (ignoring case):
/// checked here, since a service that ignored a filter must not make us
/// adopt someone else's record.
fn id_named(found: &[Json], attribute: &str, name: &str) -> Option<String> {
    found
        .iter()
        .find(|x| {
            x.get(attribute).and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|x| x.get("id").and_then(id_text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_new_group_within_two_letters_of_an_existing_one_is_taken_for_a_typo() {
        let have = ["Staff", "Night Shift", "HR"];
        assert_eq!(super::near_group("Staf", have.into_iter()), Some("Staff"));
        assert_eq!(super::near_group("night shfit", have.into_iter()), Some("Night Shift"));
        assert_eq!(super::near_group("Contractors", have.into_iter()), None);
        assert_eq!(super::near_group("Staff", have.into_iter()), None, "the same group is no typo");
    }

    use super::*;

    #[test]
    fn error_messages_add_the_scim_type() {
        let answer = |body: Json| Response { status: 409, body, retry_after: None, server: None };
        let r = answer(json!({"detail": "userName is taken", "scimType": "uniqueness"}));
        assert_eq!(ScimErrors.message(&r), "userName is taken (uniqueness)");
        let r = answer(json!({"detail": "no such user"}));
        assert_eq!(ScimErrors.message(&r), "no such user");
        // A kind with no message to qualify: the body speaks for itself.
        assert_eq!(
            scim_message(&json!({"scimType": "invalidFilter"})),
            r#"{"scimType":"invalidFilter"}"#
        );
    }

    #[test]
    fn filter_values_are_json_strings() {
        assert_eq!(quoted("o\"brien\\x"), "\"o\\\"brien\\\\x\"");
    }

    #[test]
    fn changes_only_for_cells_that_differ() {
        use std::borrow::Cow::Borrowed as B;
        let sc = Sc::new(
            &Options::default(),
            Features { patch: true, filter: true, etag: true, bulk: None, page: 100 },
            true,
        );
        let current = json!({
            "userName": "bjensen", "name": {"givenName": "Barbara"}, "active": true,
            "emails": [{"value": "old@example.com", "type": "work"}],
            ENTERPRISE: {"department": "Tour", "manager": {"value": "m1"}}
        });
        let mut v = vec![Value::Empty; FIELDS.len()];
        v[USER_NAME] = Value::Text(B("bjensen"));
        v[GIVEN] = Value::Text(B("Barbara"));
        v[EMAIL] = Value::Text(B("new@example.com"));
        v[DEPARTMENT] = Value::Text(B("Tour"));
        v[ACTIVE] = Value::Bool(false);
        let ops = sc.changes(&v, &current, Some("m1"));
        assert_eq!(
            ops,
            vec![
                op("replace", "emails[type eq \"work\"].value", json!("new@example.com")),
                op("replace", "active", json!(false)),
            ]
        );
        assert_eq!(
            sc.changes(&v, &current, Some("m2"))[2..],
            [
                json!({"op": "remove", "path": format!("{ENTERPRISE}:manager")}),
                op("add", &format!("{ENTERPRISE}:manager"), json!({"value": "m2"})),
            ],
            "a new manager replaces the old one whole"
        );
    }
}
