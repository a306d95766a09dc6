//! TrackTik (Guarding Suite) REST API v1: template, payloads and answers.
//!
//! Facts from `vendor-apis.md` §1: OAuth2 password grant at
//! `/rest/oauth2/access_token`; `{meta, data}` envelopes; `limit` ≤ 1000 with
//! `offset`; `POST /rest/v1/employees` answers 201 with `data.id`; every
//! employee has exactly one role, assigned with `POST /user-roles`; e-mail and
//! customId are unique among employees who are not terminated. An existing
//! employee changes with one update of its fields, `move-to-region` and its
//! user-role, and ends with the `terminate` action (§1.8). Unknowns (the
//! status that means terminated, the update verb, how a role changes, enums
//! of gender and employee type) are options or free text, never guesses.
//! This module translates only.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Value as Json, json};

use super::{
    CredentialSpec, Existing, ExportError, Exported, OptionSpec, Options, Outcome, RowInput,
    Session, Target, TargetInfo, id_json, id_text, json_cell, payload,
};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::{Template, field_index};
use crate::mapping::{Mapping, Problem, RefEntry, RefTable, RefTables, Value};
use crate::text::get_lowercase;
use crate::transport::auth::OAuth2Password;
use crate::transport::errors::{ErrorReader, generic_message};
use crate::transport::{Api, ApiError, Auth, Created, Credentials, Method, Request, Response};

mod batch;
mod bulk;

pub struct TrackTik;

const T: Kind = Kind::Text;
const NUM: Kind = Kind::Number { min: Some(0.0) };
/// The web app's two states (vendor-apis.md §1.8); Inactive is what other
/// systems call a leaver, so it means Terminated too.
const STATUSES: &[&str] = &["Active", "Terminated", "Inactive"];
/// The reference table of termination reasons, as messages name it.
const REASONS: &str = "termination reason";

static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("Employee ID", T, "customId")
        .aliases(&["Employee Number", "Custom ID"])
        .help("The Employee ID people see in TrackTik (customId); unique."),
    FieldSpec::new("First Name", T, "firstName").required(),
    FieldSpec::new("Middle Name", T, "middleName"),
    FieldSpec::new("Last Name", T, "lastName").required(),
    FieldSpec::new("Username", T, "username").help("Sign-in name; unique."),
    FieldSpec::new("Email", Kind::Email, "email")
        .aliases(&["Email Address", "Work Email"])
        .help("Unique across the portal."),
    FieldSpec::new("Primary Phone", T, "primaryPhone").aliases(&["Phone", "Mobile", "Cell Phone"]),
    FieldSpec::new("Secondary Phone", T, "secondaryPhone"),
    FieldSpec::new("Job Title", T, "jobTitle"),
    FieldSpec::new("Gender", T, "gender")
        .help("Sent as given: TrackTik's values are not published."),
    FieldSpec::new("Birthday", Kind::PastDate, "birthday").aliases(&["Date of Birth"]),
    FieldSpec::new("Language", T, "language").help("For example EN_US."),
    FieldSpec::new("Region", Kind::Reference("region"), "region")
        .required()
        .help("Region name (any case) or id, from GET /regions."),
    FieldSpec::new("Role", Kind::Reference("role"), "").required().help(
        "Role name (any case) or id, from GET /roles; assigned after the employee is created.",
    ),
    FieldSpec::new("Tags", Kind::List, "tags"),
    FieldSpec::new("Address Line 1", T, "address.addressLine1"),
    FieldSpec::new("Address Line 2", T, "address.addressLine2"),
    FieldSpec::new("City", T, "address.city"),
    FieldSpec::new("State", T, "address.state").aliases(&["Province"]),
    FieldSpec::new("Postal Code", T, "address.postalCode")
        .aliases(&["Zip", "Zip Code", "Postcode"]),
    FieldSpec::new("Country", T, "address.country"),
    FieldSpec::new("Employee Type", T, "employmentProfile.employeeType"),
    FieldSpec::new("Employment Date", Kind::Date, "employmentProfile.employmentDate")
        .aliases(&["Hire Date", "Start Date"]),
    FieldSpec::new("Pay Rate Type", T, "employmentProfile.payRateType"),
    FieldSpec::new("Hourly Rate", NUM, "employmentProfile.hourlyRate"),
    FieldSpec::new("Overtime Exempt", Kind::Bool, "employmentProfile.overtimeExempt"),
    FieldSpec::new("Weekly Hours Target", NUM, "employmentProfile.weeklyHoursTarget"),
    FieldSpec::new("Weekly Hours Minimum", NUM, "employmentProfile.weeklyHoursMinimum"),
    FieldSpec::new("Weekly Hours Maximum", NUM, "employmentProfile.weeklyHoursMaximum"),
    FieldSpec::new("Temporary Password", Kind::Secret, "password")
        .aliases(&["Password", "Initial Password", "Temp Password"])
        .help("Sent as the employee's first password; never written to any output."),
    FieldSpec::new("Force Password Change", Kind::Bool, "")
        .help("yes: the employee must choose a new password at first sign-in."),
    // Lifecycle: never part of a create (a new employee is always active).
    FieldSpec::new("Status", Kind::Choice(STATUSES), "").help(
        "Active or Terminated (Inactive means Terminated): Terminated terminates an existing \
         employee. A create is always active.",
    ),
    FieldSpec::new("Termination Date", Kind::Date, "")
        .help("When a termination takes effect; the run's date when empty."),
    FieldSpec::new("Termination Reason", Kind::Reference(REASONS), "").help(
        "Name (any case) or id, from GET /employment-termination-reasons; the \
         termination_reason option when empty.",
    ),
];

// Indexes into FIELDS, found at compile time: a wrong name fails the build.
const EMPLOYEE_ID: usize = field_index(FIELDS, "Employee ID");
const EMAIL: usize = field_index(FIELDS, "Email");
const REGION: usize = field_index(FIELDS, "Region");
const ROLE: usize = field_index(FIELDS, "Role");
const TAGS: usize = field_index(FIELDS, "Tags");
const HOURS_TARGET: usize = field_index(FIELDS, "Weekly Hours Target");
const HOURS_MIN: usize = field_index(FIELDS, "Weekly Hours Minimum");
const HOURS_MAX: usize = field_index(FIELDS, "Weekly Hours Maximum");
const PASSWORD: usize = field_index(FIELDS, "Temporary Password");
const FORCE_PASSWORD_CHANGE: usize = field_index(FIELDS, "Force Password Change");
const STATUS: usize = field_index(FIELDS, "Status");
const TERMINATION_DATE: usize = field_index(FIELDS, "Termination Date");
const TERMINATION_REASON: usize = field_index(FIELDS, "Termination Reason");

/// What `update` changes: every field the create sends except the password
/// (a first password only), plus the role. The region is sent by a create
/// but changes through its own action.
static UPDATABLE: LazyLock<Vec<usize>> = LazyLock::new(|| {
    (0..FIELDS.len())
        .filter(|&i| i == ROLE || (i != PASSWORD && !FIELDS[i].payload.is_empty()))
        .collect()
});

static INFO: TargetInfo = TargetInfo {
    primary: &["Employee ID"],
    lifecycle: Some("Status"),
    template: Template {
        name: "tracktik",
        title: "TrackTik (Guarding Suite REST v1)",
        fields: FIELDS,
        one_of: &[&["Username", "Email"]],
        unique: &["Employee ID", "Email", "Username"],
    },
    credentials: &[
        CredentialSpec { field: "client_id", help: "OAuth client id of the API Service Account" },
        CredentialSpec { field: "client_secret", help: "OAuth client secret" },
        CredentialSpec { field: "username", help: "the API employee's username or e-mail" },
        CredentialSpec { field: "password", help: "the API employee's password" },
    ],
    options: &[
        OptionSpec {
            name: "terminated_statuses",
            default: "[\"TERMINATED\"]",
            help: "Employee statuses that mean terminated: such employees do not block a new \
                   employee with the same Employee ID or e-mail, and are left out of exports \
                   (TrackTik does not publish its status values).",
        },
        OptionSpec {
            name: "termination_reason",
            default: "\"\"",
            help: "The termination reason (a name from GET /employment-termination-reasons) \
                   of a termination whose row gives no Termination Reason.",
        },
        OptionSpec {
            name: "update_method",
            default: "\"PATCH\"",
            help: "The verb that changes an employee's fields, \"PATCH\" or \"PUT\" (only the \
                   changed fields are sent either way). Unknown: TrackTik does not publish it.",
        },
        OptionSpec {
            name: "role_update_method",
            default: "\"PATCH\"",
            help: "The verb that changes the role of an employee's user-role \
                   (/user-roles/{id} with {\"role\": id}), \"PATCH\" or \"PUT\"; the employee \
                   keeps exactly one role throughout. Unknown: TrackTik does not publish it.",
        },
        OptionSpec {
            name: "batch_size",
            default: "50",
            help: "Operations per /batch/file request (onFailure CONTINUE): creates, their \
                   roles and password changes, updates and actions. TrackTik recommends at \
                   most 50; 1 sends one request per step.",
        },
        OptionSpec {
            name: "batch_path",
            default: "\"/batch/file\"",
            help: "The batch endpoint below /rest/v1. Unknown: the vendor's article names \
                   /batch/file without its prefix.",
        },
        OptionSpec {
            name: "batch_operations_key",
            default: "\"operations\"",
            help: "The key of the operations array in a batch request. Unknown: not published.",
        },
        OptionSpec {
            name: "batch_results_key",
            default: "\"data\"",
            help: "The key of the array of results in a batch answer: one per operation, in \
                   order (or by an `index`), each with the operation's HTTP `status` and its \
                   record in `data` or its error in `message`/`errors`. Unknown: not published.",
        },
        OptionSpec {
            name: "batch_roles",
            default: "true",
            help: "Assign roles in batches, as CREATE operations on resource user-roles; \
                   false: one POST /user-roles per employee (if the tenant's batches take \
                   employees only).",
        },
    ],
};

/// TrackTik sits behind AWS ELB, whose firewall answers some calls itself
/// with 403 and `Server: awselb/2.0` (vendor-apis.md §1.5). Saying so spares
/// the user a hunt for an API permission that is not missing.
struct TrackTikErrors;

impl ErrorReader for TrackTikErrors {
    fn message(&self, r: &Response) -> String {
        let message = generic_message(&r.body);
        if r.status == 403 && r.server.as_deref().is_some_and(|s| s.starts_with("awselb")) {
            return format!("refused by the vendor's firewall, not the API: {message}");
        }
        message
    }
}

const API: &str = "/rest/v1";
const PAGE: usize = 1000;

impl Target for TrackTik {
    fn info(&self) -> &'static TargetInfo {
        &INFO
    }

    fn auth(&self, creds: &Credentials, _options: &Options) -> Box<dyn Auth> {
        Box::new(OAuth2Password::new(
            "/rest/oauth2/access_token",
            creds,
            INFO.env_vars().join(", "),
        ))
    }

    fn errors(&self) -> Box<dyn ErrorReader> {
        Box::new(TrackTikErrors)
    }

    fn lists(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        Ok(Box::new(Tt::with_lists(api, options)?))
    }

    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        let mut s = Tt::with_lists(api, options)?;
        for e in list_all(api, "/employees", &[("fields", "id,customId,email,status".into())])? {
            let Some(id) = e.get("id").and_then(id_text) else {
                continue;
            };
            let status = e.get("status").and_then(Json::as_str).unwrap_or("");
            if s.terminated.contains(&status.to_ascii_uppercase()) {
                continue;
            }
            if let Some(c) = e.get("customId").and_then(id_text) {
                s.by_custom_id.insert(c.to_lowercase(), id.clone());
            }
            if let Some(m) = e.get("email").and_then(Json::as_str).filter(|m| !m.is_empty()) {
                s.by_email.insert(m.to_lowercase(), id.clone());
            }
        }
        for ur in list_all(api, "/user-roles", &[])? {
            if let Some(u) = ur.get("user").and_then(id_text) {
                s.has_role.insert(u.clone());
                if let (Some(ur_id), Some(role)) =
                    (ur.get("id").and_then(id_text), ur.get("role").and_then(id_text))
                {
                    s.user_role.insert(u, (ur_id, role));
                }
            }
        }
        // Who must already change their password: a run that stopped
        // between the steps left someone without it.
        let forced = [("forcePasswordChange", "true".to_string()), ("fields", "id".to_string())];
        for e in list_all(api, "/employees", &forced)? {
            if let Some(id) = e.get("id").and_then(id_text) {
                s.forced.insert(id);
            }
        }
        Ok(Box::new(s))
    }

    fn offline(&self, options: &Options) -> Box<dyn Session> {
        Box::new(Tt::empty(options))
    }
}

/// Every record of a list endpoint, page by page (`limit`/`offset`), until a
/// short page or `meta.count` says there is no more.
fn list_all(api: &Api, path: &str, extra: &[(&str, String)]) -> Result<Vec<Json>, ApiError> {
    let mut all = Vec::new();
    each(api, path, extra, &mut |r| {
        all.push(r);
        Ok::<(), ApiError>(())
    })?;
    Ok(all)
}

/// `list_all` handing each record to `f` as its page arrives, so a tenant's
/// employees are never all held as JSON at once (export, the sync's tenant).
fn each<E: From<ApiError>>(
    api: &Api,
    path: &str,
    extra: &[(&str, String)],
    f: &mut dyn FnMut(Json) -> Result<(), E>,
) -> Result<(), E> {
    let mut offset = 0usize;
    loop {
        let mut q: Vec<(&str, String)> =
            vec![("limit", PAGE.to_string()), ("offset", offset.to_string())];
        q.extend(extra.iter().cloned());
        let mut body = api.get(&format!("{API}{path}"), &q)?;
        let page = match body.get_mut("data").map(Json::take) {
            Some(Json::Array(page)) => page,
            _ => Vec::new(),
        };
        let n = page.len();
        offset += n;
        let total = body.pointer("/meta/count").and_then(Json::as_u64).map(|c| c as usize);
        for r in page {
            f(r)?;
        }
        if n < PAGE || n == 0 || total.is_some_and(|t| offset >= t) {
            return Ok(());
        }
    }
}

fn ref_table(what: &str, records: &[Json]) -> RefTable {
    let entries = records
        .iter()
        .filter_map(|r| {
            Some(RefEntry {
                id: r.get("id").and_then(id_text)?,
                name: r.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
            })
        })
        .collect();
    RefTable::new(what, entries)
}

struct Tt {
    refs: RefTables,
    by_custom_id: HashMap<String, String>,
    by_email: HashMap<String, String>,
    has_role: HashSet<String>,
    /// Each employee's user-role at the start: (its id, the role's id).
    user_role: HashMap<String, (String, String)>,
    /// Employees already made to change their password.
    forced: HashSet<String>,
    terminated: Vec<String>,
    /// The `termination_reason` option: a name, or "".
    default_reason: String,
    /// The verbs of the `update_method` and `role_update_method` options,
    /// or what is wrong with them (said by the first update, so that a run
    /// that changes nothing is not stopped by them).
    update_method: Result<Method, String>,
    role_method: Result<Method, String>,
    batch: batch::Batcher,
}

/// A verb option: PATCH or PUT, in any case.
fn verb(options: &Options, name: &str) -> Result<Method, String> {
    match options.string(name).trim().to_ascii_uppercase().as_str() {
        "PATCH" => Ok(Method::Patch),
        "PUT" => Ok(Method::Put),
        other => Err(format!("[options] {name} is {other:?}; it must be \"PATCH\" or \"PUT\"")),
    }
}

impl Tt {
    fn empty(options: &Options) -> Tt {
        Tt {
            refs: RefTables::default(),
            by_custom_id: HashMap::new(),
            by_email: HashMap::new(),
            has_role: HashSet::new(),
            user_role: HashMap::new(),
            forced: HashSet::new(),
            terminated: options
                .strings("terminated_statuses")
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect(),
            default_reason: options.string("termination_reason"),
            update_method: verb(options, "update_method"),
            role_method: verb(options, "role_update_method"),
            batch: batch::Batcher::new(options),
        }
    }

    /// An empty session with the reference tables loaded: regions, roles,
    /// termination reasons.
    fn with_lists(api: &Api, options: &Options) -> Result<Tt, ApiError> {
        let mut s = Tt::empty(options);
        s.refs.0.insert("region", ref_table("region", &list_all(api, "/regions", &[])?));
        s.refs.0.insert("role", ref_table("role", &list_all(api, "/roles", &[])?));
        let reasons = list_all(api, "/employment-termination-reasons", &[])?;
        s.refs.0.insert(REASONS, ref_table(REASONS, &reasons));
        Ok(s)
    }

    fn ref_id(&self, what: &str, v: &Value) -> Option<String> {
        match v {
            Value::Ref(i) => self.refs.get(what).map(|t| t.entries[*i].id.clone()),
            _ => None,
        }
    }

    /// The employee a row's key finds in the tenant, asking the API (used
    /// after a create's answer was lost).
    fn lookup(&self, api: &Api, values: &[Value]) -> Result<Option<String>, ApiError> {
        let mut keys = Vec::new();
        if let Some(c) = values[EMPLOYEE_ID].text() {
            keys.push(("customId", c.to_string()));
        }
        if let Some(m) = values[EMAIL].text() {
            keys.push(("email", m.to_string()));
        }
        for (field, key) in keys {
            let body = api.get(
                &format!("{API}/employees"),
                &[(field, key.clone()), ("limit", "10".into())],
            )?;
            for e in body.get("data").and_then(Json::as_array).into_iter().flatten() {
                // Check the match ourselves: a server that ignored the filter
                // must not make us adopt someone else's record.
                let same =
                    e.get(field).and_then(id_text).is_some_and(|v| v.eq_ignore_ascii_case(&key));
                let status =
                    e.get("status").and_then(Json::as_str).unwrap_or("").to_ascii_uppercase();
                if same && !self.terminated.contains(&status) {
                    return Ok(e.get("id").and_then(id_text));
                }
            }
        }
        Ok(None)
    }

    /// Creates the row's employee with one request; `maybe_sent`: a batch
    /// holding it may have been applied without an answer, so it is looked
    /// up first.
    fn create_one(&self, api: &Api, values: &[Value], maybe_sent: bool) -> Result<String, Outcome> {
        let body = payload(FIELDS, values, &self.refs);
        let req = Request::post(format!("{API}/employees"), body);
        let lookup = |api: &Api| self.lookup(api, values);
        let created = if maybe_sent {
            api.create_after_uncertain(&req, &lookup)
        } else {
            api.create(&req, &lookup)
        };
        match created {
            Ok(Created::Recovered(id)) => Ok(id),
            Ok(Created::Answer(r)) => {
                r.body.pointer("/data/id").and_then(id_text).ok_or(Outcome::Failed {
                    id: None,
                    message: "create employee: the answer has no data.id".into(),
                    unavailable: false,
                })
            }
            Err(e) => Err(Outcome::failed(None, "create employee", e)),
        }
    }

    /// The body of the `terminate` action for this row: its date (the
    /// run's when empty) and reason (the option's when empty).
    fn termination(&self, values: &[Value]) -> Result<Json, String> {
        let date = match values[TERMINATION_DATE] {
            Value::Date(d) => d,
            _ => chrono::Local::now().date_naive(),
        };
        let reason = self.termination_reason(values)?;
        Ok(json!({
            "date": date.format("%Y-%m-%d").to_string(),
            "reason": id_json(&reason),
            "comment": "hrport",
        }))
    }

    /// Terminates employee `id`; `maybe_sent`: a batch holding it may have
    /// been applied without an answer, so the status is read first.
    fn send_terminate(
        &self,
        api: &Api,
        id: &str,
        body: Json,
        maybe_sent: bool,
    ) -> Result<(), ApiError> {
        let req = Request::post(format!("{API}/employees/{id}/actions/terminate"), body);
        // Terminating twice is refused, so a lost answer is settled by
        // reading the employee's status before anything is sent again.
        let terminated = |api: &Api| -> Result<Option<String>, ApiError> {
            let body = api.get(&format!("{API}/employees/{id}"), &[])?;
            let status =
                body.pointer("/data/status").and_then(Json::as_str).unwrap_or("").to_uppercase();
            Ok(self.terminated.contains(&status).then(|| id.to_string()))
        };
        let done = if maybe_sent {
            api.create_after_uncertain(&req, &terminated)
        } else {
            api.create(&req, &terminated)
        };
        done.map(|_| ())
    }

    fn assign_role(&self, api: &Api, id: &str, role: &str) -> Result<(), ApiError> {
        let req = Request::post(
            format!("{API}/user-roles"),
            json!({"user": super::id_json(id), "role": super::id_json(role)}),
        );
        // The role of a user who already has one cannot change here, so a
        // lost answer is settled by reading the user's role back.
        let check = |api: &Api| -> Result<Option<String>, ApiError> {
            let body = api.get(&format!("{API}/user-roles"), &[("user", id.to_string())])?;
            let roles: Vec<String> = body
                .get("data")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter(|ur| ur.get("user").and_then(id_text).as_deref() == Some(id))
                .filter_map(|ur| ur.get("role").and_then(id_text))
                .collect();
            match roles.as_slice() {
                [] => Ok(None),
                [r] if r == role => Ok(Some(r.clone())),
                [r, ..] => Err(ApiError::Status {
                    status: 400,
                    message: format!(
                        "employee {id} already has role {r}; TrackTik allows exactly one"
                    ),
                }),
            }
        };
        match api.create(&req, &check) {
            Ok(_) => Ok(()),
            // Already holding this very role (an earlier run got this far).
            Err(ApiError::Status { status: 400, .. }) if check(api)?.is_some() => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn follow_up(
        &self,
        api: &Api,
        values: &[Value],
        id: &str,
    ) -> Result<(), (&'static str, ApiError)> {
        // Steps an earlier run finished are not repeated.
        if let Some(role) = self.ref_id("role", &values[ROLE])
            && !self.has_role.contains(id)
        {
            self.assign_role(api, id, &role).map_err(|e| ("assign role", e))?;
        }
        if values[FORCE_PASSWORD_CHANGE] == Value::Bool(true) {
            let req = Request::post(
                format!("{API}/employees/{id}/actions/force-password-change"),
                json!({}),
            )
            .repeatable();
            api.send(&req).map_err(|e| ("force password change", e))?;
        }
        Ok(())
    }

    /// Changes the role of an employee to `role`, keeping exactly one: the
    /// user-role changes in place (the verb is the `role_update_method`
    /// option); an employee without one yet gets one.
    fn change_role(&self, api: &Api, id: &str, role: &str) -> Result<(), ApiError> {
        let body = api.get(&format!("{API}/user-roles"), &[("user", id.to_string())])?;
        let mine: Vec<&Json> = body
            .get("data")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter(|ur| ur.get("user").and_then(id_text).as_deref() == Some(id))
            .collect();
        let refused = |message: String| ApiError::Status { status: 400, message };
        match mine.as_slice() {
            [] => self.assign_role(api, id, role),
            [ur] if ur.get("role").and_then(id_text).as_deref() == Some(role) => Ok(()),
            [ur] => {
                let Some(ur_id) = ur.get("id").and_then(id_text) else {
                    return Err(refused(format!("the user-role of employee {id} has no id")));
                };
                let method = self.role_method.clone().map_err(refused)?;
                let req = Request {
                    method,
                    ..Request::patch(
                        format!("{API}/user-roles/{ur_id}"),
                        json!({"role": id_json(role)}),
                    )
                }
                .repeatable();
                api.send(&req).map(|_| ())
            }
            many => Err(refused(format!(
                "employee {id} has {} roles; TrackTik allows exactly one: fix it in TrackTik first",
                many.len()
            ))),
        }
    }

    /// The id of the reason a termination of this row gives: the row's
    /// Termination Reason, else the `termination_reason` option.
    fn termination_reason(&self, values: &[Value]) -> Result<String, String> {
        if let Some(id) = self.ref_id(REASONS, &values[TERMINATION_REASON]) {
            return Ok(id);
        }
        let name = self.default_reason.trim();
        if name.is_empty() {
            return Err("terminating needs a reason: give the row a Termination Reason, or set \
                        the termination_reason option in the profile's [options]"
                .into());
        }
        let table = self.refs.get(REASONS).ok_or("the termination reasons are not loaded")?;
        table
            .resolve(name)
            .map(|i| table.entries[i].id.clone())
            .map_err(|e| format!("[options] termination_reason: {e}"))
    }
}

impl Tt {
    /// An employee as `export` writes it; `role` is the name of the role
    /// the user-roles list gives it.
    fn exported(&self, e: &Json, regions: &RefTable, role: Option<String>) -> Exported {
        let status = e.get("status").and_then(Json::as_str).unwrap_or("").to_ascii_uppercase();
        let active = !self.terminated.contains(&status);
        let cells = FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| match i {
                REGION => {
                    let rid = e.get("region").and_then(id_text).unwrap_or_default();
                    regions.name_of_id(&rid).map(str::to_string).unwrap_or(rid)
                }
                ROLE => role.clone().unwrap_or_default(),
                FORCE_PASSWORD_CHANGE => match e.get("forcePasswordChange") {
                    Some(Json::Bool(true)) => "yes".into(),
                    Some(Json::Bool(false)) => "no".into(),
                    _ => String::new(),
                },
                STATUS => if active { "Active" } else { "Terminated" }.into(),
                // Read back empty, these change nothing on a re-import.
                TERMINATION_DATE | TERMINATION_REASON => String::new(),
                _ if f.kind == Kind::Secret => String::new(),
                _ => json_cell(e.pointer(&format!("/{}", f.payload.replace('.', "/")))),
            })
            .collect();
        let id = e.get("id").and_then(id_text).unwrap_or_default();
        Exported { id, active, cells }
    }
}

impl Session for Tt {
    fn refs(&self) -> &RefTables {
        &self.refs
    }

    fn check(&self, values: &[Value], m: &Mapping, problems: &mut Vec<Problem>) {
        let num = |i: usize| match values[i] {
            Value::Number(n) => Some(n),
            _ => None,
        };
        if let (Some(lo), Some(hi)) = (num(HOURS_MIN), num(HOURS_MAX))
            && lo > hi
        {
            problems.push(Problem::new(
                m.label(HOURS_MIN),
                format!("{lo} is more than {} ({hi})", m.label(HOURS_MAX)),
            ));
        }
        if let (Some(t), Some(hi)) = (num(HOURS_TARGET), num(HOURS_MAX))
            && t > hi
        {
            problems.push(Problem::new(
                m.label(HOURS_TARGET),
                format!("{t} is more than {} ({hi})", m.label(HOURS_MAX)),
            ));
        }
        if let Value::List(tags) = &values[TAGS]
            && tags.is_empty()
        {
            problems.push(Problem::new(m.label(TAGS), "has no tags after splitting on ; and ,"));
        }
    }

    /// Forcing a password change needs a first password to sign in with.
    fn needs_password(&self, values: &[Value]) -> Option<usize> {
        (values[FORCE_PASSWORD_CHANGE] == Value::Bool(true) && values[PASSWORD].is_empty())
            .then_some(PASSWORD)
    }

    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem> {
        let by_id = values[EMPLOYEE_ID].text().and_then(|c| get_lowercase(&self.by_custom_id, c));
        let by_email = values[EMAIL].text().and_then(|e| get_lowercase(&self.by_email, e));
        let id = match (by_id, by_email) {
            (Some(a), Some(b)) if a != b => {
                return Err(Problem::row(format!(
                    "{} matches employee {a} but {} matches employee {b} in TrackTik",
                    m.label(EMPLOYEE_ID),
                    m.label(EMAIL)
                )));
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return Ok(None),
        };
        let unforced =
            values[FORCE_PASSWORD_CHANGE] == Value::Bool(true) && !self.forced.contains(id);
        Ok(Some(Existing { id: id.clone(), incomplete: !self.has_role.contains(id) || unforced }))
    }

    fn provision(&self, api: &Api, row: &RowInput) -> Outcome {
        let values = row.values;
        if let Some(ex) = row.existing {
            return match self.follow_up(api, values, &ex.id) {
                Ok(()) => Outcome::Completed { id: ex.id.clone() },
                Err((step, e)) => Outcome::failed(Some(ex.id.clone()), step, e),
            };
        }
        let id = match self.create_one(api, values, false) {
            Ok(id) => id,
            Err(o) => return o,
        };
        match self.follow_up(api, values, &id) {
            Ok(()) => Outcome::Created { id },
            Err((step, e)) => bulk::unfinished(id, step, e),
        }
    }

    fn batch_limit(&self) -> usize {
        if self.batch.on() { self.batch.size() } else { 1 }
    }

    fn provision_batch(&self, api: &Api, rows: &[RowInput]) -> Vec<Outcome> {
        if !self.batch.on() {
            return rows.iter().map(|r| self.provision(api, r)).collect();
        }
        self.provision_bulk(api, rows, &vec![false; rows.len()])
    }

    fn provision_resumed(&self, api: &Api, rows: &[RowInput], resumed: &[bool]) -> Vec<Outcome> {
        if !self.batch.on() {
            return rows.iter().map(|r| self.provision(api, r)).collect();
        }
        self.provision_bulk(api, rows, resumed)
    }

    fn change_batch(&self, api: &Api, rows: &[super::Change]) -> Option<Vec<Outcome>> {
        self.batch.on().then(|| self.change_bulk(api, rows))
    }

    fn notes(&self) -> Vec<String> {
        self.batch.notes()
    }

    fn updatable(&self) -> &[usize] {
        &UPDATABLE
    }

    /// One update of the changed employee fields (nested as the create nests
    /// them), then `move-to-region` for a Region and the user-role for a
    /// Role: each only when that field changed.
    fn update(&self, api: &Api, id: &str, row: &RowInput, changed: &[usize]) -> Outcome {
        let fail = |message: String| Outcome::Failed {
            id: Some(id.to_string()),
            message,
            unavailable: false,
        };
        if let Some(&f) = changed.iter().find(|f| !UPDATABLE.contains(f)) {
            return fail(format!("{} cannot be changed through TrackTik's API", FIELDS[f].column));
        }
        // A step that fails after others succeeded says which ones did: the
        // record is partly changed, and importing the row again finishes it.
        let mut done: Vec<&str> = Vec::new();
        let failed = |step: &str, e: ApiError, done: &[&str]| match Outcome::failed(
            Some(id.to_string()),
            step,
            e,
        ) {
            Outcome::Failed { id, message, unavailable } if !done.is_empty() => Outcome::Failed {
                id,
                message: format!("{message}; already done: {}", done.join(", ")),
                unavailable,
            },
            other => other,
        };
        let mut fields = vec![Value::Empty; FIELDS.len()];
        for &f in changed.iter().filter(|&&f| f != REGION && f != ROLE) {
            fields[f] = row.values[f].clone();
        }
        let body = payload(FIELDS, &fields, &self.refs);
        if body.as_object().is_some_and(|o| !o.is_empty()) {
            let method = match &self.update_method {
                Ok(m) => *m,
                Err(e) => return fail(e.clone()),
            };
            let path = format!("{API}/employees/{id}");
            // Absolute values: sending them twice is harmless.
            let req = Request { method, ..Request::patch(path, body) }.repeatable();
            if let Err(e) = api.send(&req) {
                return failed("update employee", e, &done);
            }
            done.push("update employee");
        }
        if changed.contains(&REGION) {
            let Some(region) = self.ref_id("region", &row.values[REGION]) else {
                return fail("Region: not a region of this TrackTik".into());
            };
            let req = Request::post(
                format!("{API}/employees/{id}/actions/move-to-region"),
                json!({"region": id_json(&region)}),
            )
            .repeatable();
            if let Err(e) = api.send(&req) {
                return failed("move to region", e, &done);
            }
            done.push("move to region");
        }
        if changed.contains(&ROLE) {
            let Some(role) = self.ref_id("role", &row.values[ROLE]) else {
                return fail("Role: not a role of this TrackTik".into());
            };
            if let Err(e) = self.change_role(api, id, &role) {
                return failed("change role", e, &done);
            }
        }
        Outcome::Updated { id: id.to_string() }
    }

    fn wants_active(&self, values: &[Value]) -> Option<bool> {
        // The Choice column holds one of STATUSES as written there.
        values[STATUS].text().map(|s| s == "Active")
    }

    /// Terminating is the `terminate` action; TrackTik documents no rehire
    /// through its API, so reactivating is left to its web app.
    fn set_active(&self, api: &Api, id: &str, active: bool, row: &RowInput) -> Outcome {
        let fail = |message: String| Outcome::Failed {
            id: Some(id.to_string()),
            message,
            unavailable: false,
        };
        if active {
            return fail(
                "TrackTik's API has no way to rehire or reactivate a terminated employee: \
                 rehire them in TrackTik's web app, then import this row again"
                    .into(),
            );
        }
        let body = match self.termination(row.values) {
            Ok(b) => b,
            Err(m) => return fail(m),
        };
        match self.send_terminate(api, id, body, false) {
            Ok(()) => Outcome::Updated { id: id.to_string() },
            Err(e) => Outcome::failed(Some(id.to_string()), "terminate employee", e),
        }
    }

    // The role is kept in another list (user-roles): not read again.
    fn current(&self, api: &Api, id: &str) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let include = ("include", "address,employmentProfile,forcePasswordChange".to_string());
        let body = api.get(&format!("{API}/employees/{id}"), &[include])?;
        let e = body.get("data").cloned().unwrap_or(body);
        let Some(regions) = self.refs.get("region") else { return Ok(None) };
        let row = self.exported(&e, regions, None);
        Ok(Some(row.cells.into_iter().enumerate().map(|(i, c)| (i != ROLE).then_some(c)).collect()))
    }

    fn export(
        &self,
        api: &Api,
        include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> crate::error::Result<()>,
    ) -> Result<(), ExportError> {
        let regions = ref_table("region", &list_all(api, "/regions", &[])?);
        let roles = ref_table("role", &list_all(api, "/roles", &[])?);
        let mut role_of: HashMap<String, String> = HashMap::new();
        for ur in list_all(api, "/user-roles", &[])? {
            if let (Some(u), Some(r)) =
                (ur.get("user").and_then(id_text), ur.get("role").and_then(id_text))
            {
                role_of.insert(u, r);
            }
        }
        let include = ("include", "address,employmentProfile,forcePasswordChange".to_string());
        each(api, "/employees", &[include], &mut |e| {
            let status = e.get("status").and_then(Json::as_str).unwrap_or("").to_ascii_uppercase();
            if !include_terminated && self.terminated.contains(&status) {
                return Ok(());
            }
            let id = e.get("id").and_then(id_text).unwrap_or_default();
            let role = role_of
                .get(&id)
                .map(|r| roles.name_of_id(r).map(str::to_string).unwrap_or_else(|| r.clone()));
            emit(self.exported(&e, &regions, role)).map_err(ExportError::Output)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_from_the_aws_firewall_says_so() {
        let answer = |status, server: Option<&str>| Response {
            status,
            body: json!({"message": "Forbidden"}),
            retry_after: None,
            server: server.map(str::to_string),
        };
        assert_eq!(
            TrackTikErrors.message(&answer(403, Some("awselb/2.0"))),
            "refused by the vendor's firewall, not the API: Forbidden"
        );
        assert_eq!(TrackTikErrors.message(&answer(403, Some("nginx"))), "Forbidden");
        assert_eq!(TrackTikErrors.message(&answer(403, None)), "Forbidden");
        assert_eq!(TrackTikErrors.message(&answer(400, Some("awselb/2.0"))), "Forbidden");
    }

    #[test]
    fn payload_nests_address_and_employment() {
        use std::borrow::Cow::Borrowed as B;
        let mut values = vec![Value::Empty; FIELDS.len()];
        values[0] = Value::Text(B("000123"));
        values[1] = Value::Text(B("Ana"));
        values[3] = Value::Text(B("Silva"));
        values[TAGS] = Value::List(vec![B("night"), B("armed")]);
        values[17] = Value::Text(B("Lisbon"));
        values[24] = Value::Number(18.5);
        values[25] = Value::Bool(true);
        values[26] = Value::Number(40.0);
        values[REGION] = Value::Ref(0);
        let mut refs = RefTables::default();
        refs.0.insert(
            "region",
            RefTable::new("region", vec![RefEntry { id: "7".into(), name: "EMEA".into() }]),
        );
        let p = payload(FIELDS, &values, &refs);
        assert_eq!(
            p,
            json!({
                "customId": "000123", "firstName": "Ana", "lastName": "Silva", "region": 7,
                "tags": ["night", "armed"], "address": {"city": "Lisbon"},
                "employmentProfile": {"hourlyRate": 18.5, "overtimeExempt": true, "weeklyHoursTarget": 40}
            })
        );
    }
}
