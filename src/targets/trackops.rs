//! Trackops (case management) Developer API v1: template, payloads, answers.
//!
//! Facts from `vendor-apis.md` §4: HTTP Basic as `{username}/token` with the
//! company API token; `GET /api/v1/staff` with filters (email, is_vendor, ...);
//! `POST /api/v1/staff/employees` needing `client_id` (a company location) and
//! `role_id` (an employee role). Everything else (the other payload names,
//! paging, envelope, photo format) is unpublished: each guess is an option,
//! listed in docs/targets/trackops.md. So are updating and deactivating
//! staff: hrport sends the changed fields to `update_path` with
//! `update_method` (the sandbox's choice by default), and reads the access
//! level as the lifecycle, since a Disabled employee cannot log in. This
//! module translates only: a row's Photo arrives as the bytes the mapping
//! read, checked and sent from here.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Target, TargetInfo, id_json, id_text, json_cell, payload, value_json,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::files::FileCell;
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefTable, RefTables, Value};
use crate::transport::auth::{StaticHeaders, basic};
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Method, Request};

pub struct Trackops;

const T: Kind = Kind::Text;

/// The access levels of Trackops' "Creating a New Employee" page.
pub const ACCESS_LEVELS: &[&str] = &["Disabled", "Limited Access", "Full Access"];

static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("First Name", T, "first_name").required(),
    FieldSpec::new("Last Name", T, "last_name").required(),
    FieldSpec::new("Email", Kind::Email, "email")
        .aliases(&["Email Address", "Work Email"])
        .help("The key: a staff member with this e-mail is found instead of created."),
    FieldSpec::new("Phone", T, "phone").aliases(&["Mobile", "Cell Phone", "Phone Number"]),
    FieldSpec::new("Title", T, "title").aliases(&["Job Title"]),
    FieldSpec::new("Location", Kind::Reference("location"), "client_id")
        .required()
        .aliases(&["Company Location", "Office"])
        .help("A company location: its id, or a name from the profile's [options] locations."),
    FieldSpec::new("Role", Kind::Reference("role"), "role_id")
        .required()
        .help("A role available for employees: its id, or a name from [options] roles."),
    FieldSpec::new("Access Level", Kind::Choice(ACCESS_LEVELS), "access_level")
        .aliases(&["Access"]),
    FieldSpec::new("Send Login Invitation", Kind::Bool, "send_login_invitation")
        .aliases(&["Login Invitation", "Invite"])
        .help("yes: Trackops e-mails a login invitation; needs a valid Email."),
    FieldSpec::new("Photo", Kind::File("an image file"), "photo")
        .aliases(&["Photo File", "Picture"])
        .help("Path of a .jpg, .gif or .png file, relative to the spreadsheet's folder."),
    FieldSpec::new("Tags", Kind::List, "tags"),
    FieldSpec::new("Work Preferences", Kind::List, "work_preferences").aliases(&["Preferences"]),
];

// Indexes into FIELDS, found at compile time: a wrong name fails the build.
const FIRST_NAME: usize = field_index(FIELDS, "First Name");
const LAST_NAME: usize = field_index(FIELDS, "Last Name");
const EMAIL: usize = field_index(FIELDS, "Email");
const PHONE: usize = field_index(FIELDS, "Phone");
const TITLE: usize = field_index(FIELDS, "Title");
const LOCATION: usize = field_index(FIELDS, "Location");
const ROLE: usize = field_index(FIELDS, "Role");
const ACCESS_LEVEL: usize = field_index(FIELDS, "Access Level");
const INVITATION: usize = field_index(FIELDS, "Send Login Invitation");
const PHOTO: usize = field_index(FIELDS, "Photo");
const TAGS: usize = field_index(FIELDS, "Tags");
const WORK_PREFERENCES: usize = field_index(FIELDS, "Work Preferences");

/// The fields an update changes on an existing employee: every field of the
/// create that a staff member holds and an export shows. Not Photo (a file
/// upload: export cannot read it back, so no difference is ever seen, and
/// how an update would carry one is unknown), not Send Login Invitation (an
/// instruction at creation, not a state), and not Access Level: it is the
/// lifecycle column, changed by `set_active`.
/// Access Level too: between Limited and Full Access it is a change of
/// rights (between Disabled and a level, the engine calls `set_active`).
static UPDATABLE: &[usize] = &[
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    PHONE,
    TITLE,
    LOCATION,
    ROLE,
    ACCESS_LEVEL,
    TAGS,
    WORK_PREFERENCES,
];

/// The level a re-enabled employee gets when the row names none: the
/// lowest that can log in, so hrport never grants Full Access unasked.
const REENABLE_LEVEL: &str = "Limited Access";

/// Payload fields Trackops does not publish, which `payload_names` may
/// rename (client_id and role_id are published; the photo has its option).
const RENAMABLE: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "access_level",
    "send_login_invitation",
    "tags",
    "work_preferences",
];

static INFO: TargetInfo = TargetInfo {
    primary: &[],
    // Trackops has no active flag: a Disabled employee cannot log in.
    lifecycle: Some("Access Level"),
    template: Template {
        name: "trackops",
        title: "Trackops (case management Developer API v1)",
        fields: FIELDS,
        one_of: &[],
        unique: &["Email"],
    },
    credentials: &[
        CredentialSpec {
            field: "username",
            help: "an active Full Access employee's username (hrport adds /token)",
        },
        CredentialSpec { field: "api_token", help: "the company's API token" },
    ],
    options: &[
        OptionSpec {
            name: "locations",
            default: "{}",
            help: "Company location names -> ids (client_id), e.g. { \"Head Office\" = 3 }. \
                   Trackops has no API listing locations: a name works only when listed \
                   here; an id always works.",
        },
        OptionSpec {
            name: "roles",
            default: "{}",
            help: "Names -> ids of roles available for employees (role_id), e.g. \
                   { \"Investigator\" = 7 }; an id always works.",
        },
        OptionSpec {
            name: "access_levels",
            default: "{ \"Disabled\" = \"Disabled\", \"Limited Access\" = \"Limited Access\", \
                      \"Full Access\" = \"Full Access\" }",
            help: "The access_level value sent for each Access Level (not published; by \
                   default the names the web app shows).",
        },
        OptionSpec {
            name: "payload_names",
            default: "{}",
            help: "Fields to send under another name, hrport's = Trackops', e.g. \
                   { phone = \"mobile_phone\" } (only client_id and role_id are published).",
        },
        OptionSpec {
            name: "photo_field",
            default: "\"photo\"",
            help: "The payload field carrying the photo (not published).",
        },
        OptionSpec {
            name: "photo_encoding",
            default: "\"base64\"",
            help: "How the photo travels in the JSON body: \"base64\" (the file's bytes) or \
                   \"data_uri\" (data:image/png;base64,...); not published.",
        },
        OptionSpec {
            name: "photo_max_kb",
            default: "10240",
            help: "Largest photo hrport sends, in KiB (hrport's own guard; Trackops \
                   publishes no limit).",
        },
        OptionSpec {
            name: "page_param",
            default: "\"page\"",
            help: "Query parameter of the page number on GET /api/v1/staff (not published).",
        },
        OptionSpec {
            name: "per_page_param",
            default: "\"per_page\"",
            help: "Query parameter of the page size (not published).",
        },
        OptionSpec {
            name: "page_size",
            default: "100",
            help: "Records asked for per page; a shorter page is the last one.",
        },
        OptionSpec { name: "first_page", default: "1", help: "Number of the first page." },
        OptionSpec {
            name: "update_path",
            default: "\"/api/v1/staff/{id}\"",
            help: "Where an existing employee is changed, {id} the staff id (not published).",
        },
        OptionSpec {
            name: "update_method",
            default: "\"PATCH\"",
            help: "\"PATCH\" or \"PUT\" for updates (not published). Either way the body \
                   carries only the changed fields.",
        },
    ],
};

const API: &str = "/api/v1";

const ACCESS_HINT: &str = "HRPORT_TRACKOPS_USERNAME must be an active Full Access employee \
     (not Limited Access, not a client contact), HRPORT_TRACKOPS_API_TOKEN the company's API \
     token, and API access must be activated for the company (Trackops support article \
     212338823)";

impl Target for Trackops {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn check_base_url(&self, base: &str) -> Result<(), String> {
        check_base(base)
    }

    fn auth(&self, creds: &Credentials, _options: &Options) -> Box<dyn Auth> {
        let user = creds.get("username");
        let user = user.expose().trim();
        // Someone copying the curl example may have written the suffix already.
        let user = user.strip_suffix("/token").unwrap_or(user);
        Box::new(StaticHeaders {
            headers: vec![(
                "Authorization".into(),
                basic(&format!("{user}/token"), &creds.get("api_token")),
            )],
            hint: ACCESS_HINT.into(),
        })
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = Tops::new(options);
        if !s.config_problems.is_empty() {
            return Err(ApiError::Abort {
                message: format!(
                    "the profile's [options] cannot be used: {}",
                    s.config_problems.join("; ")
                ),
                hint: Some("`hrport targets trackops` lists the options and their types".into()),
            });
        }
        // The first request: a refusal here is about the account, not a row.
        let employees = s.cfg.list_staff(api, false).map_err(|e| match e {
            ApiError::Status { status: 403, message } => ApiError::Abort {
                message: format!("Trackops refused the API user (HTTP 403): {message}"),
                hint: Some(ACCESS_HINT.into()),
            },
            ApiError::Status { status: 404, message } => ApiError::Abort {
                message: format!("GET {API}/staff was not found (HTTP 404): {message}"),
                hint: Some(
                    "--base-url is https://{subdomain}.viewcases.com, without /api/v1".into(),
                ),
            },
            other => other,
        })?;
        for e in employees {
            if let (Some(id), Some(m)) = (e.get("id").and_then(id_text), s.cfg.email_of(&e)) {
                s.by_email.insert(m.to_lowercase(), id);
            }
        }
        for v in s.cfg.list_staff(api, true)? {
            if let (Some(id), Some(m)) = (v.get("id").and_then(id_text), s.cfg.email_of(&v)) {
                s.vendors.insert(m.to_lowercase(), id);
            }
        }
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        Box::new(Tops::new(options))
    }
}

/// Refuses a base URL that already holds `/api/v1`, which every path adds.
/// (Plain http to another machine is refused for every target.)
fn check_base(base: &str) -> Result<(), String> {
    let trimmed = base.trim_end_matches('/');
    if let Some(site) = trimmed.strip_suffix("/api/v1") {
        return Err(format!(
            "--base-url {base} ends in /api/v1, which hrport adds itself: use --base-url {site}"
        ));
    }
    Ok(())
}

/// The options, read and checked once.
struct Config {
    locations: RefTable,
    roles: RefTable,
    /// (Access Level, the value sent), in ACCESS_LEVELS order.
    access: Vec<(&'static str, String)>,
    /// hrport's payload name -> the name sent.
    names: HashMap<&'static str, String>,
    photo_field: String,
    photo_data_uri: bool,
    photo_max_bytes: u64,
    page_param: String,
    per_page_param: String,
    page_size: usize,
    first_page: i64,
    /// Path of an update, `{id}` the staff id.
    update_path: String,
    update_method: Method,
}

impl Config {
    fn new(options: &Options, problems: &mut Vec<String>) -> Config {
        let int = |name: &str| options.0.get(name).and_then(|v| v.as_integer()).unwrap_or(0);
        let mut table = |name: &str, what: &str| {
            let entries = options.table(name);
            for e in &entries {
                if parse_id(&e.id).is_none() {
                    problems.push(format!(
                        "{name}: {:?} = {} is not a Trackops id (a whole number above 0)",
                        e.name, e.id
                    ));
                }
            }
            RefTable::new(what, entries)
        };
        let locations = table("locations", "location");
        let roles = table("roles", "role");

        let given = options.table("access_levels");
        for e in &given {
            if !ACCESS_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(&e.name)) {
                problems.push(format!(
                    "access_levels: {:?} is not an Access Level ({})",
                    e.name,
                    ACCESS_LEVELS.join(", ")
                ));
            }
        }
        // A level the profile leaves out is sent as its name.
        let access = ACCESS_LEVELS
            .iter()
            .map(|&l| {
                let sent = given.iter().find(|e| e.name.eq_ignore_ascii_case(l));
                (l, sent.map_or_else(|| l.to_string(), |e| e.id.clone()))
            })
            .collect();

        let mut names = HashMap::new();
        for e in options.table("payload_names") {
            match RENAMABLE.iter().find(|r| **r == e.name) {
                Some(r) if !e.id.trim().is_empty() => {
                    names.insert(*r, e.id.trim().to_string());
                }
                Some(_) => problems.push(format!("payload_names: {} has an empty name", e.name)),
                None => problems.push(format!(
                    "payload_names: {:?} cannot be renamed (it can: {}; the photo has photo_field)",
                    e.name,
                    RENAMABLE.join(", ")
                )),
            }
        }
        let encoding = options.string("photo_encoding");
        if !matches!(encoding.as_str(), "base64" | "data_uri") {
            problems
                .push(format!("photo_encoding is {encoding:?}; use \"base64\" or \"data_uri\""));
        }
        for name in ["photo_field", "page_param", "per_page_param"] {
            if options.string(name).trim().is_empty() {
                problems.push(format!("{name} is empty"));
            }
        }
        for name in ["page_size", "photo_max_kb"] {
            if int(name) < 1 {
                problems.push(format!("{name} must be at least 1"));
            }
        }
        let update_path = options.string("update_path").trim().to_string();
        if !update_path.starts_with('/') || !update_path.contains("{id}") {
            problems.push(format!(
                "update_path is {update_path:?}; it must start with / and hold {{id}}"
            ));
        }
        let method = options.string("update_method");
        let update_method = match method.trim().to_ascii_uppercase().as_str() {
            "PATCH" => Method::Patch,
            "PUT" => Method::Put,
            _ => {
                problems.push(format!("update_method is {method:?}; use \"PATCH\" or \"PUT\""));
                Method::Patch
            }
        };
        Config {
            locations,
            roles,
            access,
            names,
            photo_field: options.string("photo_field").trim().to_string(),
            photo_data_uri: encoding == "data_uri",
            photo_max_bytes: int("photo_max_kb").max(1) as u64 * 1024,
            page_param: options.string("page_param").trim().to_string(),
            per_page_param: options.string("per_page_param").trim().to_string(),
            page_size: int("page_size").max(1) as usize,
            first_page: int("first_page"),
            update_path,
            update_method,
        }
    }

    /// The name a payload field is sent (and read back) under.
    fn name<'a>(&'a self, field: &'a str) -> &'a str {
        self.names.get(field).map_or(field, String::as_str)
    }

    fn email_of<'a>(&self, staff: &'a Json) -> Option<&'a str> {
        staff.get(self.name("email")).and_then(Json::as_str).filter(|m| !m.is_empty())
    }

    /// Every employee (`is_vendor=false`) or vendor, page by page, until a
    /// short page. Trackops publishes no paging: the parameter names, size
    /// and envelope are options or tolerated (see `page_items`).
    fn list_staff(&self, api: &Api, vendors: bool) -> Result<Vec<Json>, ApiError> {
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut page = self.first_page;
        let mut oversized = false;
        loop {
            let q = [
                ("is_vendor", vendors.to_string()),
                (self.page_param.as_str(), page.to_string()),
                (self.per_page_param.as_str(), self.page_size.to_string()),
            ];
            let body = api.get(&format!("{API}/staff"), &q)?;
            let items = page_items(&body).ok_or_else(|| ApiError::Abort {
                message: format!(
                    "GET {API}/staff answered neither a list nor a {{\"data\": [...]}} envelope: {}",
                    crate::text::clip(&body.to_string(), 200)
                ),
                hint: Some("tell the hrport maintainers what Trackops answered".into()),
            })?;
            let n = items.len();
            let mut new = 0;
            for item in items {
                let id = item.get("id").and_then(id_text).unwrap_or_default();
                if seen.insert(id) {
                    new += 1;
                    all.push(item.clone());
                }
            }
            if n < self.page_size {
                return Ok(all);
            }
            if new == 0 {
                // A server that ignores both parameters sends everything on
                // every page: then nothing is missing. One that ignores only
                // the page number would loop for ever.
                if oversized {
                    return Ok(all);
                }
                return Err(ApiError::Abort {
                    message: format!(
                        "page {page} of GET {API}/staff repeated earlier records: Trackops \
                         seems not to know the paging parameter {:?}",
                        self.page_param
                    ),
                    hint: Some(
                        "set [options] page_param, per_page_param and first_page in a profile"
                            .into(),
                    ),
                });
            }
            oversized |= n > self.page_size;
            page += 1;
        }
    }
}

/// The records of a list answer: a bare array, or the array under a usual
/// envelope key (Trackops publishes no envelope).
fn page_items(body: &Json) -> Option<&Vec<Json>> {
    match body {
        Json::Array(a) => Some(a),
        Json::Object(o) => {
            ["data", "staff", "results", "items"].iter().find_map(|k| o.get(*k)?.as_array())
        }
        _ => None,
    }
}

/// The staff object of an answer: bare, or under `data` or `staff`.
fn record(body: &Json) -> &Json {
    ["data", "staff"].iter().find_map(|k| body.get(*k).filter(|v| v.is_object())).unwrap_or(body)
}

/// The id of a relation in a staff object: `client_id` as sent, else a
/// nested `client`/`location` object or bare id (the shape is not published).
fn relation_id(staff: &Json, key: &str, nested: &[&str]) -> Option<String> {
    staff.get(key).and_then(id_text).or_else(|| {
        nested.iter().find_map(|k| match staff.get(*k)? {
            Json::Object(o) => o.get("id").and_then(id_text),
            other => id_text(other),
        })
    })
}

/// A Trackops id: a whole number above 0, without leading zeros.
fn parse_id(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n > 0).map(|n| n.to_string())
}

/// A Location or Role cell to an id: a name from the profile's table (any
/// case), else a bare id, which is taken as is since Trackops cannot list
/// either and hrport cannot check it.
fn resolve(table: &RefTable, option: &str, cell: &str) -> Result<String, String> {
    match table.resolve(cell) {
        Ok(i) => Ok(table.entries[i].id.clone()),
        Err(_) if parse_id(cell).is_some() => Ok(parse_id(cell).unwrap_or_default()),
        Err(_) if table.entries.is_empty() => Err(format!(
            "{cell:?} is not an id, and no {what} names are set: Trackops cannot list {what}s, \
             so give the id or name it in the profile's [options] {option}",
            what = table.what
        )),
        Err(e) if e.contains("did you mean") || e.contains("give the id") => Err(e),
        Err(e) => Err(format!("{e} in [options] {option}; give the id or add the name there")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Image {
    Jpeg,
    Gif,
    Png,
}

impl Image {
    fn name(self) -> &'static str {
        match self {
            Image::Jpeg => "JPEG",
            Image::Gif => "GIF",
            Image::Png => "PNG",
        }
    }
    fn mime(self) -> &'static str {
        match self {
            Image::Jpeg => "image/jpeg",
            Image::Gif => "image/gif",
            Image::Png => "image/png",
        }
    }
    /// What a file's first bytes say it is.
    fn sniff(head: &[u8]) -> Option<Image> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Image::Jpeg)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(Image::Gif)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Image::Png)
        } else {
            None
        }
    }
    fn from_extension(ext: &str) -> Option<Image> {
        match ext.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(Image::Jpeg),
            "gif" => Some(Image::Gif),
            "png" => Some(Image::Png),
            _ => None,
        }
    }
}

/// Checks a Photo the mapping read: a .jpg/.jpeg, .gif or .png file whose
/// content is that kind of image, within the size limit.
fn photo(cfg: &Config, file: &FileCell) -> Result<Image, String> {
    let cell = file.name.as_ref();
    let ext = Path::new(cell).extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(by_name) = Image::from_extension(ext) else {
        return Err(format!("{cell:?} is not a .jpg, .gif or .png file"));
    };
    let size = file.bytes.len() as u64;
    if size == 0 {
        return Err(format!("{cell:?} is empty"));
    }
    if size > cfg.photo_max_bytes {
        return Err(format!(
            "{cell:?} is {} KiB; the limit is {} KiB ([options] photo_max_kb)",
            size.div_ceil(1024),
            cfg.photo_max_bytes / 1024
        ));
    }
    match Image::sniff(&file.bytes) {
        None => Err(format!("{cell:?} is not an image: its content is not JPEG, GIF or PNG")),
        Some(found) if found != by_name => Err(format!(
            "{cell:?}: the extension says .{} but the content is {}",
            ext.to_ascii_lowercase(),
            found.name()
        )),
        Some(found) => Ok(found),
    }
}

/// A connected Trackops: options checked, existing staff indexed by e-mail.
struct Tops {
    cfg: Config,
    /// Always empty: Location and Role are resolved here (an id need not be
    /// in any table), so mapping hands them over as text.
    refs: RefTables,
    /// Lower-cased e-mail -> staff id, of employees.
    by_email: HashMap<String, String>,
    /// The same for vendors, who are not employees hrport may adopt.
    vendors: HashMap<String, String>,
    /// Unusable options: `connect` refuses them; an offline dry run reports
    /// them on every row.
    config_problems: Vec<String>,
}

impl Tops {
    fn new(options: &Options) -> Tops {
        let mut config_problems = Vec::new();
        let cfg = Config::new(options, &mut config_problems);
        Tops {
            cfg,
            refs: RefTables::default(),
            by_email: HashMap::new(),
            vendors: HashMap::new(),
            config_problems,
        }
    }

    /// The create body: the fields' payload, ids as numbers, the access level
    /// as configured, the photo's bytes, then the configured renames.
    fn body(&self, values: &[Value]) -> Result<Json, String> {
        let mut body = payload(FIELDS, values, &self.refs);
        let obj = body.as_object_mut().expect("a payload is an object");
        for (field, table, option) in
            [(LOCATION, &self.cfg.locations, "locations"), (ROLE, &self.cfg.roles, "roles")]
        {
            if let Some(cell) = values[field].text() {
                let id = resolve(table, option, cell)
                    .map_err(|e| format!("{}: {e}", FIELDS[field].column))?;
                obj.insert(FIELDS[field].payload.into(), id_json(&id));
            }
        }
        if let Some(level) = values[ACCESS_LEVEL].text()
            && let Some((_, sent)) = self.cfg.access.iter().find(|(l, _)| *l == level)
        {
            obj.insert(FIELDS[ACCESS_LEVEL].payload.into(), json!(sent));
        }
        for (from, to) in &self.cfg.names {
            if let Some(v) = obj.remove(*from) {
                obj.insert(to.clone(), v);
            }
        }
        if let Value::File(file) = &values[PHOTO] {
            let kind =
                photo(&self.cfg, file).map_err(|e| format!("{}: {e}", FIELDS[PHOTO].column))?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&file.bytes);
            let sent = if self.cfg.photo_data_uri {
                format!("data:{};base64,{b64}", kind.mime())
            } else {
                b64
            };
            obj.insert(self.cfg.photo_field.clone(), json!(sent));
        }
        Ok(body)
    }

    /// An update body: the `changed` fields that `UPDATABLE` holds, under
    /// the names the create uses, Location and Role as ids.
    fn update_body(
        &self,
        values: &[Value],
        changed: &[usize],
    ) -> Result<Map<String, Json>, String> {
        let mut body = Map::new();
        for &f in changed.iter().filter(|f| UPDATABLE.contains(f)) {
            let v = match f {
                LOCATION | ROLE => {
                    let (table, option) = if f == LOCATION {
                        (&self.cfg.locations, "locations")
                    } else {
                        (&self.cfg.roles, "roles")
                    };
                    match values[f].text() {
                        Some(cell) => Some(id_json(
                            &resolve(table, option, cell)
                                .map_err(|e| format!("{}: {e}", FIELDS[f].column))?,
                        )),
                        None => None,
                    }
                }
                ACCESS_LEVEL => values[f].text().map(|level| {
                    let sent = self.cfg.access.iter().find(|(l, _)| l.eq_ignore_ascii_case(level));
                    json!(sent.map_or_else(|| level.to_string(), |(_, s)| s.clone()))
                }),
                _ => value_json(&FIELDS[f], &values[f], &self.refs),
            };
            // An empty cell is never a change (see engine::diff).
            if let Some(v) = v {
                body.insert(self.cfg.name(FIELDS[f].payload).to_string(), v);
            }
        }
        Ok(body)
    }

    /// Sends an update of staff member `id` (path and method are options:
    /// Trackops publishes neither). Setting fields to values is harmless to
    /// send twice.
    fn send_update(&self, api: &Api, id: &str, body: Map<String, Json>, step: &str) -> Outcome {
        let path = self.cfg.update_path.replace("{id}", id);
        let req =
            Request { method: self.cfg.update_method, ..Request::post(path, Json::Object(body)) }
                .repeatable();
        match api.send(&req) {
            Ok(_) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(Some(id.to_string()), step, e),
        }
    }

    /// The employee a row's e-mail finds, asking the API (after a create's
    /// answer was lost). A row without an e-mail cannot be looked up, and is
    /// then failed rather than sent again.
    fn lookup(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        let Some(email) = values[EMAIL].text() else {
            return Err(ApiError::Unavailable(format!(
                "no clear answer to the create (it may have been applied), and a row without \
                 an e-mail cannot be looked up: check in Trackops whether {} {} exists before \
                 importing this row again",
                values[FIRST_NAME].text().unwrap_or(""),
                values[LAST_NAME].text().unwrap_or("")
            )));
        };
        let body = api.get(
            &format!("{API}/staff"),
            &[("email", email.to_string()), ("is_vendor", "false".into())],
        )?;
        // Check the match ourselves: a server that ignored the filter must
        // not make us adopt someone else's record.
        Ok(page_items(&body)
            .into_iter()
            .flatten()
            .find(|s| self.cfg.email_of(s).is_some_and(|m| m.eq_ignore_ascii_case(email)))
            .and_then(|s| s.get("id").and_then(id_text)))
    }
}

impl Tops {
    /// A staff member as `export` writes it.
    fn exported(&self, e: &Json) -> Exported {
        let name_or_id = |table: &RefTable, id: Option<String>| {
            let id = id.unwrap_or_default();
            table.name_of_id(&id).map(str::to_string).unwrap_or(id)
        };
        let cells: Vec<String> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| match i {
                LOCATION => name_or_id(
                    &self.cfg.locations,
                    relation_id(e, "client_id", &["location_id", "client", "location"]),
                ),
                ROLE => name_or_id(&self.cfg.roles, relation_id(e, "role_id", &["role"])),
                ACCESS_LEVEL => {
                    let sent = json_cell(e.get(self.cfg.name(f.payload)));
                    let label = self.cfg.access.iter().find(|(_, s)| *s == sent);
                    label.map_or(sent, |(l, _)| l.to_string())
                }
                // An action, not a state; and the photo is not read back.
                INVITATION | PHOTO => String::new(),
                _ => json_cell(e.get(self.cfg.name(f.payload))),
            })
            .collect();
        let id = e.get("id").and_then(id_text).unwrap_or_default();
        // Read back as `wants_active` reads the row: only Disabled is out.
        let active = !cells[ACCESS_LEVEL].eq_ignore_ascii_case("Disabled");
        Exported { id, active, cells }
    }
}

impl Session for Tops {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    /// Trackops cannot list locations or roles: the template offers the
    /// profile's tables.
    fn names(&self, field: usize) -> Option<Vec<String>> {
        let table = match field {
            LOCATION => &self.cfg.locations,
            ROLE => &self.cfg.roles,
            _ => return None,
        };
        Some(table.entries.iter().map(|e| e.name.clone()).collect())
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        for p in &self.config_problems {
            problems.push(Problem::row(format!("[options] {p}")));
        }
        for (field, table, option) in
            [(LOCATION, &self.cfg.locations, "locations"), (ROLE, &self.cfg.roles, "roles")]
        {
            if let Some(cell) = values[field].text()
                && let Err(e) = resolve(table, option, cell)
            {
                problems.push(Problem::new(m.label(field), e));
            }
        }
        if values[INVITATION] == Value::Bool(true) {
            if values[EMAIL].is_empty() {
                problems.push(Problem::new(
                    m.label(INVITATION),
                    format!("is yes, but an invitation needs a valid e-mail in {}", m.label(EMAIL)),
                ));
            }
            if values[ACCESS_LEVEL].text() == Some("Disabled") {
                problems.push(Problem::new(
                    m.label(INVITATION),
                    format!(
                        "is yes, but {} is Disabled: a disabled employee cannot log in",
                        m.label(ACCESS_LEVEL)
                    ),
                ));
            }
        }
        if let Value::File(file) = &values[PHOTO]
            && let Err(e) = photo(&self.cfg, file)
        {
            problems.push(Problem::new(m.label(PHOTO), e));
        }
        for field in [TAGS, WORK_PREFERENCES] {
            if let Value::List(items) = &values[field]
                && items.is_empty()
            {
                problems.push(Problem::new(m.label(field), "is empty after splitting on ; and ,"));
            }
        }
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        let Some(email) = values[EMAIL].text() else {
            return Ok(None);
        };
        let key = email.to_lowercase();
        if let Some(id) = self.by_email.get(&key) {
            // Nothing follows a create, so an existing employee is complete.
            return Ok(Some(Existing { id: id.clone(), incomplete: false }));
        }
        if let Some(id) = self.vendors.get(&key) {
            return Err(Problem::new(
                m.label(EMAIL),
                format!("belongs to vendor {id} in Trackops; hrport creates employees only"),
            ));
        }
        Ok(None)
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        if let Some(ex) = row.existing {
            // Not reached (existing employees are never incomplete), and
            // there would be nothing to finish.
            return Outcome::Completed { id: ex.id.clone() };
        }
        let body = match self.body(row.values) {
            Ok(b) => b,
            // The photo changed since the rows were checked.
            Err(message) => return Outcome::Failed { id: None, message, unavailable: false },
        };
        let req = Request::post(format!("{API}/staff/employees"), body);
        let lookup = |api: &Api| self.lookup(api, row.values);
        match api.create(&req, &lookup) {
            Ok(Created::Recovered(id)) => Outcome::Created { id },
            Ok(Created::Answer(r)) => match record(&r.body).get("id").and_then(id_text) {
                Some(id) => Outcome::Created { id },
                None => Outcome::Failed {
                    id: None,
                    message: "create employee: the answer holds no staff id".into(),
                    unavailable: false,
                },
            },
            Err(e) => Outcome::failed(None, "create employee", e),
        }
    }

    fn updatable(&self) -> &[usize] {
        UPDATABLE
    }

    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        let body = match self.update_body(row.values, changed) {
            Ok(b) => b,
            Err(message) => {
                return Outcome::Failed { id: Some(id.to_string()), message, unavailable: false };
            }
        };
        if body.is_empty() {
            return Outcome::Updated { id: id.to_string() };
        }
        self.send_update(api, id, body, "update employee")
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        values[ACCESS_LEVEL].text().map(|l| !l.eq_ignore_ascii_case("Disabled"))
    }

    fn set_active(&self, api: &Api, id: &str, active: bool, row: &RowInput) -> Outcome {
        // Disabled is the only level without a login; a returner gets the
        // level the row gives, else the lowest that can log in.
        let level = match row.values[ACCESS_LEVEL].text() {
            _ if !active => "Disabled",
            Some(l) if !l.eq_ignore_ascii_case("Disabled") => l,
            _ => REENABLE_LEVEL,
        };
        let sent = self.cfg.access.iter().find(|(l, _)| l.eq_ignore_ascii_case(level));
        let sent = sent.map_or_else(|| level.to_string(), |(_, s)| s.clone());
        let mut body = Map::new();
        body.insert(self.cfg.name(FIELDS[ACCESS_LEVEL].payload).to_string(), json!(sent));
        let step = if active { "enable employee" } else { "disable employee" };
        self.send_update(api, id, body, step)
    }

    // `GET /api/v1/staff/{staff_id}` is documented (vendor-apis.md §4.2).
    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let body = api.get(&format!("{API}/staff/{id}"), &[])?;
        let e = match body.get("data") {
            Some(d) if d.is_object() => d.clone(),
            _ => body,
        };
        Ok(Some(self.exported(&e).cells.into_iter().map(Some).collect()))
    }

    fn export(
        &self,
        api: &Api,
        // Disabled employees are always listed: a new employee given no
        // access level is Disabled, which is not a leaver.
        _include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        for e in self.cfg.list_staff(api, false)? {
            emit(self.exported(&e)).map_err(ExportError::Output)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow::Borrowed as B;

    /// The options a profile's `[options]` section gives.
    fn options(profile: &str) -> Options {
        let mut t: toml::Table = toml::from_str(profile).unwrap();
        let given = match t.remove("options") {
            Some(toml::Value::Table(o)) => o,
            _ => toml::Table::new(),
        };
        Options::resolve(&INFO, &given).unwrap()
    }

    #[test]
    fn names_resolve_through_the_profile_and_ids_as_they_are() {
        let s = Tops::new(&options(
            "[options]\nlocations = { \"Head Office\" = 3, \"Denver Field Office\" = \"4\" }",
        ));
        let t = &s.cfg.locations;
        assert_eq!(resolve(t, "locations", "head office").as_deref(), Ok("3"));
        assert_eq!(resolve(t, "locations", "Denver Field Office").as_deref(), Ok("4"));
        assert_eq!(resolve(t, "locations", "0012").as_deref(), Ok("12"));
        assert_eq!(
            resolve(t, "locations", "Head Ofice").unwrap_err(),
            "no location named \"Head Ofice\" (did you mean \"Head Office\"?)"
        );
        assert_eq!(
            resolve(t, "locations", "Tokyo").unwrap_err(),
            "no location named \"Tokyo\" (the locations are \"Denver Field Office\", \"Head Office\") in [options] locations; give the id or add the name there"
        );
        assert!(resolve(t, "locations", "0").is_err());
        let empty = Tops::new(&options(""));
        assert_eq!(
            resolve(&empty.cfg.roles, "roles", "Investigator").unwrap_err(),
            "\"Investigator\" is not an id, and no role names are set: Trackops cannot list \
             roles, so give the id or name it in the profile's [options] roles"
        );
    }

    #[test]
    fn unusable_options_are_named() {
        let s = Tops::new(&options(
            "[options]\nroles = { Boss = \"x\" }\naccess_levels = { Admin = \"a\" }\n\
             payload_names = { client_id = \"location\", phone = \"mobile\" }\n\
             photo_encoding = \"multipart\"\npage_size = 0",
        ));
        assert_eq!(
            s.config_problems,
            [
                "roles: \"Boss\" = x is not a Trackops id (a whole number above 0)",
                "access_levels: \"Admin\" is not an Access Level (Disabled, Limited Access, Full Access)",
                "payload_names: \"client_id\" cannot be renamed (it can: first_name, last_name, email, phone, title, access_level, send_login_invitation, tags, work_preferences; the photo has photo_field)",
                "photo_encoding is \"multipart\"; use \"base64\" or \"data_uri\"",
                "page_size must be at least 1",
            ]
        );
        assert_eq!(s.cfg.name("phone"), "mobile");
    }

    #[test]
    fn the_body_has_ids_as_numbers_levels_as_configured_and_renames() {
        let s = Tops::new(&options(
            "[options]\nroles = { Investigator = 7 }\n\
             access_levels = { \"Full Access\" = \"full\" }\npayload_names = { phone = \"mobile\" }",
        ));
        let mut values = vec![Value::Empty; FIELDS.len()];
        values[FIRST_NAME] = Value::Text(B("Ana"));
        values[LAST_NAME] = Value::Text(B("Silva"));
        values[3] = Value::Text(B("+1 555 0100"));
        values[LOCATION] = Value::Text(B("3"));
        values[ROLE] = Value::Text(B("investigator"));
        values[ACCESS_LEVEL] = Value::Text(B("Full Access"));
        values[INVITATION] = Value::Bool(false);
        values[TAGS] = Value::List(vec![B("spanish"), B("nights")]);
        assert_eq!(
            s.body(&values).unwrap(),
            json!({"first_name": "Ana", "last_name": "Silva", "mobile": "+1 555 0100",
                   "client_id": 3, "role_id": 7, "access_level": "full",
                   "send_login_invitation": false, "tags": ["spanish", "nights"]})
        );
    }

    #[test]
    fn an_update_body_holds_only_changed_updatable_fields_renamed_like_the_create() {
        let s = Tops::new(&options(
            "[options]\nlocations = { \"Head Office\" = 3 }\npayload_names = { phone = \"mobile\" }",
        ));
        let mut values = vec![Value::Empty; FIELDS.len()];
        values[FIRST_NAME] = Value::Text(B("Ana"));
        values[PHONE] = Value::Text(B("+1 555 0100"));
        values[LOCATION] = Value::Text(B("head office"));
        values[ROLE] = Value::Text(B("8"));
        values[ACCESS_LEVEL] = Value::Text(B("Full Access"));
        values[INVITATION] = Value::Bool(true);
        values[TAGS] = Value::List(vec![B("nights")]);
        // Not updatable (the invitation) or empty (Title): left out; the
        // access level goes as Trackops names it.
        let changed = [PHONE, LOCATION, ROLE, ACCESS_LEVEL, INVITATION, TAGS, TITLE];
        assert_eq!(
            Json::Object(s.update_body(&values, &changed).unwrap()),
            json!({"mobile": "+1 555 0100", "client_id": 3, "role_id": 8,
                   "access_level": "Full Access", "tags": ["nights"]})
        );
        values[LOCATION] = Value::Text(B("Tokyo"));
        assert!(s.update_body(&values, &[LOCATION]).unwrap_err().starts_with("Location: "));
        for f in [PHOTO, INVITATION] {
            assert!(!UPDATABLE.contains(&f), "{}", FIELDS[f].column);
        }
        assert_eq!(s.cfg.update_method, Method::Patch);
        assert_eq!(s.cfg.update_path, "/api/v1/staff/{id}");
        let bad = Tops::new(&options(
            "[options]\nupdate_path = \"/api/v1/staff\"\nupdate_method = \"POST\"",
        ));
        assert_eq!(
            bad.config_problems,
            [
                "update_path is \"/api/v1/staff\"; it must start with / and hold {id}",
                "update_method is \"POST\"; use \"PATCH\" or \"PUT\"",
            ]
        );
        let put = Tops::new(&options("[options]\nupdate_method = \"put\""));
        assert_eq!(put.cfg.update_method, Method::Put);
    }

    #[test]
    fn photos_are_checked_by_name_size_and_content() {
        let file =
            |name: &'static str, bytes: &[u8]| FileCell { name: B(name), bytes: bytes.to_vec() };
        let s = Tops::new(&options("[options]\nphoto_encoding = \"data_uri\"\nphoto_max_kb = 1"));
        let check = |name: &'static str, bytes: &[u8]| photo(&s.cfg, &file(name, bytes));
        assert_eq!(check("a.png", b"\x89PNG\r\n\x1a\n...."), Ok(Image::Png));
        assert_eq!(check("b.JPEG", b"\xFF\xD8\xFF\xE0...."), Ok(Image::Jpeg));
        assert_eq!(check("/photos/c.gif", b"GIF87a.."), Ok(Image::Gif));
        assert_eq!(
            check("jpeg-inside.png", b"\xFF\xD8\xFF\xE0....").unwrap_err(),
            "\"jpeg-inside.png\": the extension says .png but the content is JPEG"
        );
        assert_eq!(
            check("text.jpg", b"hello there").unwrap_err(),
            "\"text.jpg\" is not an image: its content is not JPEG, GIF or PNG"
        );
        assert_eq!(check("empty.gif", b"").unwrap_err(), "\"empty.gif\" is empty");
        assert_eq!(
            check("notes.txt", b"GIF87a..").unwrap_err(),
            "\"notes.txt\" is not a .jpg, .gif or .png file"
        );
        let big = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 1100]].concat();
        assert_eq!(
            check("big.png", &big).unwrap_err(),
            "\"big.png\" is 2 KiB; the limit is 1 KiB ([options] photo_max_kb)"
        );

        let mut values = vec![Value::Empty; FIELDS.len()];
        values[PHOTO] = Value::File(Box::new(file("c.gif", b"GIF87a..")));
        let body = s.body(&values).unwrap();
        assert_eq!(body, json!({"photo": "data:image/gif;base64,R0lGODdhLi4="}));
    }

    #[test]
    fn answers_in_any_usual_envelope() {
        let list = json!([{"id": 1}]);
        assert_eq!(page_items(&list).unwrap().len(), 1);
        assert_eq!(page_items(&json!({"data": [{"id": 1}, {"id": 2}]})).unwrap().len(), 2);
        assert_eq!(page_items(&json!({"staff": []})).unwrap().len(), 0);
        assert!(page_items(&json!({"message": "hi"})).is_none());
        assert_eq!(record(&json!({"data": {"id": 5}}))["id"], 5);
        assert_eq!(record(&json!({"id": 6}))["id"], 6);
        assert_eq!(
            relation_id(&json!({"client_id": 3}), "client_id", &["client"]),
            Some("3".into())
        );
        assert_eq!(
            relation_id(&json!({"client": {"id": 4, "name": "x"}}), "client_id", &["client"]),
            Some("4".into())
        );
        assert_eq!(relation_id(&json!({"role": 7}), "role_id", &["role"]), Some("7".into()));
    }

    #[test]
    fn a_base_url_ending_in_api_v1_is_refused_with_the_right_one() {
        assert!(check_base("https://acme.viewcases.com").is_ok());
        assert!(check_base("http://127.0.0.1:4000/trackops").is_ok());
        assert_eq!(
            check_base("https://acme.viewcases.com/api/v1/").unwrap_err(),
            "--base-url https://acme.viewcases.com/api/v1/ ends in /api/v1, which hrport adds \
             itself: use --base-url https://acme.viewcases.com"
        );
    }
}
