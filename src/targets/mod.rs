//! The shared interface every target implements, and the list of targets.
//!
//! A target module only translates: template rows into vendor requests, and
//! vendor answers into outcomes. It never sleeps, retries or owns an HTTP
//! client (that is `transport`), and never reads files (that is `input`).
//! Adding a vendor means one module here, one line in `TARGETS`, one module in
//! the sandbox crate (with its `ACCESS`: URL prefix and credentials), its
//! tests and its doc page. What the sandbox accepts is not written here.

pub mod guardian;
pub mod intellihr;
pub mod scim;
pub mod securitytrax;
pub mod trackops;
pub mod tracktik;

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::template::Template;
use crate::mapping::{Mapping, Problem, RefTables, Value};
use crate::secret::Secret;
use crate::transport::{Api, ApiError, Auth, Credentials, ErrorReader, GenericErrors};

/// Every target, in the order `hrport targets` lists them.
pub static TARGETS: &[&dyn Target] = &[
    &tracktik::TrackTik,
    &intellihr::IntelliHr,
    &guardian::Guardian,
    &trackops::Trackops,
    &securitytrax::SecurityTrax,
    &scim::Scim,
];

pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|t| t.info().template.name).collect()
}

pub fn find(name: &str) -> Option<&'static dyn Target> {
    TARGETS.iter().copied().find(|t| t.info().template.name == name)
}

/// What a target is, as data: drives CLI values, docs, env and templates.
pub struct TargetInfo {
    /// Key columns that identify a person for sure (the HR system's employee
    /// number, the vendor's external id): a row matched through one of them
    /// may change the record's other keys. The template's other `unique`
    /// columns are secondary keys.
    pub primary: &'static [&'static str],
    /// The column that says whether a record is active (Active, Retired,
    /// Login Enabled, Status), if the template has one.
    pub lifecycle: Option<&'static str>,
    /// Its name, columns and the rules between them: all `mapping` sees.
    pub template: Template,
    pub credentials: &'static [CredentialSpec],
    pub options: &'static [OptionSpec],
}

pub struct CredentialSpec {
    /// Field name; the variable is HRPORT_<TARGET>_<FIELD>.
    pub field: &'static str,
    pub help: &'static str,
}

pub struct OptionSpec {
    pub name: &'static str,
    /// Default, as a TOML value.
    pub default: &'static str,
    pub help: &'static str,
}

/// A boolean option of a target that is also a switch of `import`
/// (`enable_login` is `--enable-login`): the target that uses it declares
/// it, so the command line and the checks need no list of their own.
pub struct Switch {
    /// The option it turns on; it must be one of the target's `options`.
    pub option: &'static str,
    /// The flag, without its dashes: the option's name with dashes.
    pub flag: &'static str,
    /// The flag's help text.
    pub help: &'static str,
    /// Only the flag may turn it on, never a profile: a decision for each
    /// run, typed where it is run (granting elevated permissions, say).
    pub flag_only: bool,
}

/// Every target's switches, each once (two targets may share one).
pub fn switches() -> Vec<&'static Switch> {
    let mut all: Vec<&'static Switch> = Vec::new();
    for s in TARGETS.iter().flat_map(|t| t.switches()) {
        if !all.iter().any(|a| a.option == s.option) {
            all.push(s);
        }
    }
    all
}

/// A target's options: the profile's `[options]` over the defaults, then
/// the switches given on the command line (by option name). A switch the
/// target does not declare, or a flag-only one set in a profile, is refused.
pub fn options(target: &dyn Target, profile: &toml::Table, given: &[String]) -> Result<Options> {
    let info = target.info();
    if let Some(s) =
        target.switches().iter().find(|s| s.flag_only && profile.contains_key(s.option))
    {
        return Err(Error::config(format!(
            "[options] {} cannot be set in a profile: give --{} to the run that needs it",
            s.option, s.flag
        )));
    }
    let mut options = Options::resolve(info, profile)?;
    for name in given {
        if !target.switches().iter().any(|s| s.option == name) {
            let flag =
                switches().iter().find(|s| s.option == name).map_or(name.as_str(), |s| s.flag);
            return Err(Error::config(format!(
                "--{flag} does not apply to target {}",
                info.template.name
            )));
        }
        options.set_bool(name, true);
    }
    Ok(options)
}

impl TargetInfo {
    pub fn env_var(&self, field: &str) -> String {
        format!("HRPORT_{}_{}", self.template.name.to_uppercase(), field.to_uppercase())
    }

    pub fn env_vars(&self) -> Vec<String> {
        self.credentials.iter().map(|c| self.env_var(c.field)).collect()
    }

    /// Reads the credentials from the environment; names every missing one.
    pub fn credentials_from_env(&self) -> Result<Credentials> {
        let mut creds = Credentials::default();
        let mut missing = Vec::new();
        for c in self.credentials {
            let var = self.env_var(c.field);
            match std::env::var(&var) {
                Ok(v) if !v.is_empty() => {
                    creds.0.insert(c.field, Secret::new(v));
                }
                _ => missing.push(var),
            }
        }
        if !missing.is_empty() {
            return Err(Error::config(format!(
                "{} credentials missing: set {} in the environment (or use --sandbox to try hrport locally)",
                self.template.name,
                missing.join(", ")
            )));
        }
        Ok(creds)
    }
}

/// A target's options from a profile's `[options]`, defaults filled in.
#[derive(Debug, Clone, Default)]
pub struct Options(pub toml::Table);

impl Options {
    pub fn resolve(info: &TargetInfo, given: &toml::Table) -> Result<Options> {
        let mut table = toml::Table::new();
        for o in info.options {
            let default: toml::Table = toml::from_str(&format!("v = {}", o.default))
                .unwrap_or_else(|e| {
                    panic!("{}: bad default for option {}: {e}", info.template.name, o.name)
                });
            table.insert(o.name.to_string(), default["v"].clone());
        }
        for (k, v) in given {
            let Some(prev) = table.get(k) else {
                let known: Vec<&str> = info.options.iter().map(|o| o.name).collect();
                return Err(Error::config(format!(
                    "[options] {k:?} is not an option of {} (options: {})",
                    info.template.name,
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            };
            if std::mem::discriminant(prev) != std::mem::discriminant(v) {
                return Err(Error::config(format!(
                    "[options] {k} must be of type {}, like its default {prev}",
                    prev.type_str()
                )));
            }
            table.insert(k.clone(), v.clone());
        }
        Ok(Options(table))
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(toml::Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
            }
            Some(toml::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    pub fn string(&self, name: &str) -> String {
        self.0.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string()
    }

    pub fn int(&self, name: &str) -> i64 {
        self.0.get(name).and_then(|v| v.as_integer()).unwrap_or(0)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.0.get(name).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    pub fn set_bool(&mut self, name: &str, value: bool) {
        self.0.insert(name.to_string(), toml::Value::Boolean(value));
    }

    /// A name -> id table (`roles = { "HR Admin" = 12 }`) as reference entries.
    pub fn table(&self, name: &str) -> Vec<crate::mapping::RefEntry> {
        let Some(toml::Value::Table(t)) = self.0.get(name) else { return Vec::new() };
        t.iter()
            .map(|(k, v)| crate::mapping::RefEntry {
                name: k.clone(),
                id: match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect()
    }
}

/// A vendor, before it is connected.
pub trait Target: Sync {
    fn info(&self) -> &'static TargetInfo;
    /// A `--base-url` this target cannot use, said before anything is sent
    /// (exit 2). Plain http to another machine is refused for every target
    /// by the transport.
    fn check_base_url(&self, _base: &str) -> Result<(), String> {
        Ok(())
    }
    /// The target's options that are also switches of `import` (a test
    /// checks that each is a boolean option and its flag is its name).
    fn switches(&self) -> &'static [Switch] {
        &[]
    }
    /// How requests authenticate, from the credentials.
    fn auth(&self, creds: &Credentials, options: &Options) -> Box<dyn Auth>;
    /// How this vendor's error answers read; most need nothing special.
    fn errors(&self) -> Box<dyn ErrorReader> {
        Box::new(GenericErrors)
    }
    /// Loads the reference tables and the index of existing records.
    fn connect(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError>;
    /// A session with only the reference lists loaded, for `hrport
    /// template`'s dropdowns: it need not list the records (a big tenant's
    /// take minutes). Without its own, the whole `connect`.
    fn lists(&self, api: &Api, options: &Options) -> Result<Box<dyn Session>, ApiError> {
        self.connect(api, options)
    }
    /// A session with nothing behind it, for a dry run without a target:
    /// references are not resolved and nothing is known to exist.
    fn offline(&self, options: &Options) -> Box<dyn Session>;
}

/// A record as `export` writes it, and as an import compares a row with
/// it: the target's id, whether it is active, and its cells in template
/// column order (references as names, dates as `YYYY-MM-DD`, yes/no).
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub id: String,
    pub active: bool,
    pub cells: Vec<String>,
}

/// A record the target already holds that a row matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub id: String,
    /// Its provisioning was not finished (a follow-up step is missing), so
    /// the import completes it.
    pub incomplete: bool,
}

/// One row as a session provisions it.
pub struct RowInput<'a> {
    /// The row's number in the spreadsheet, for notes.
    pub row: u32,
    pub values: &'a [Value<'a>],
    pub existing: Option<&'a Existing>,
    /// (person field, the target's id of that person).
    pub people: &'a [(usize, String)],
}

impl RowInput<'_> {
    /// The target's id of the person a reference field names.
    pub fn person(&self, field: usize) -> Option<&str> {
        self.people.iter().find(|(f, _)| *f == field).map(|(_, id)| id.as_str())
    }
}

/// A matched row's plan, for `Session::change_batch`.
pub struct Change<'a> {
    pub row: RowInput<'a>,
    /// The record's id.
    pub id: &'a str,
    /// `Some(true)`: reactivate first; `Some(false)`: deactivate last.
    pub activate: Option<bool>,
    /// The fields to change (all of them in `updatable`).
    pub changed: &'a [usize],
    /// Its provisioning was not finished: its missing follow-up steps run
    /// last.
    pub incomplete: bool,
}

/// The end of one row's provisioning.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Created {
        id: String,
    },
    /// An existing record changed to match the row.
    Updated {
        id: String,
    },
    /// An existing record whose missing follow-up steps were done now.
    Completed {
        id: String,
    },
    Failed {
        /// What was created before the failure, if anything.
        id: Option<String>,
        message: String,
        /// The target was unreachable or failing, not refusing this row.
        unavailable: bool,
    },
    /// The run must stop.
    Aborted {
        id: Option<String>,
        message: String,
        hint: Option<String>,
    },
}

impl Outcome {
    /// The outcome of a step that the target refused or could not answer;
    /// `id` is what was created before that step, kept so the row can be
    /// completed later instead of created twice.
    pub fn failed(id: Option<String>, step: &str, e: ApiError) -> Outcome {
        match e {
            ApiError::Abort { message, hint } => Outcome::Aborted { id, message, hint },
            ApiError::Unavailable(m) => {
                Outcome::Failed { id, message: format!("{step}: {m}"), unavailable: true }
            }
            ApiError::Status { status, message } => Outcome::Failed {
                id,
                message: format!("{step}: {message} (HTTP {status})"),
                unavailable: false,
            },
        }
    }
}

/// A connected target: reference data loaded, ready for rows.
pub trait Session: Send + Sync {
    fn refs(&self) -> &RefTables;
    /// Rules that span several columns, beyond each column's kind.
    fn check(&self, _values: &[Value], _m: &Mapping, _problems: &mut Vec<Problem>) {}
    /// The existing record this row matches, if any.
    fn existing(&self, values: &[Value], m: &Mapping) -> Result<Option<Existing>, Problem>;
    /// The field that needs a password hrport must generate for this row
    /// (the row gives none but the target needs one), if any.
    fn needs_password(&self, _values: &[Value]) -> Option<usize> {
        None
    }
    /// The id of the record a person-reference cell means, when the target
    /// holds it (looked up by any of the target's key columns).
    fn person(&self, _key: &str) -> Option<String> {
        None
    }
    /// Creates the row's records and runs its follow-up steps. With
    /// `existing`, only the missing follow-up steps run. `people` gives, for
    /// each person-reference field of the row, the target's id of that person.
    fn provision(&self, api: &Api, row: &RowInput) -> Outcome;
    /// Most rows `provision_batch` takes at once (1: no batching).
    fn batch_limit(&self) -> usize {
        1
    }
    /// Provisions several rows together (one outcome per row, in order).
    fn provision_batch(&self, api: &Api, rows: &[RowInput]) -> Vec<Outcome> {
        rows.iter().map(|r| self.provision(api, r)).collect()
    }
    /// `provision_batch` for rows of which those marked `resumed` were sent
    /// by an interrupted run without an outcome (its requests may still be
    /// applied late): a target that can settles them as possibly applied.
    fn provision_resumed(&self, api: &Api, rows: &[RowInput], _resumed: &[bool]) -> Vec<Outcome> {
        match rows {
            [row] => vec![self.provision(api, row)],
            _ => self.provision_batch(api, rows),
        }
    }
    /// Carries out several matched rows' plans together, when the target
    /// sends such steps in bulk: for each row, as the engine would one by
    /// one, reactivate, update, deactivate, then the missing follow-ups,
    /// stopping at its first failed step; `Outcome::Updated` when all were
    /// done. One outcome per row, in order; `None`: the engine takes the
    /// rows one by one.
    fn change_batch(&self, _api: &Api, _rows: &[Change]) -> Option<Vec<Outcome>> {
        None
    }
    /// The fields of an existing record that `update` can change. A field
    /// that differs but is not listed is reported in `hrport_changes` as
    /// not changed, never sent.
    fn updatable(&self) -> &[usize] {
        &[]
    }
    /// Changes the `changed` fields (all of them in `updatable`) of record
    /// `id` to the row's values, and nothing else, with the vendor's own
    /// update calls. `Outcome::Updated` when done.
    fn update(&self, _api: &Api, id: &str, _row: &RowInput, _changed: &[usize]) -> Outcome {
        Outcome::Failed {
            id: Some(id.to_string()),
            message: "hrport cannot change existing records of this target yet".into(),
            unavailable: false,
        }
    }
    /// The record `id` as it is now, cell by cell as `export` writes it
    /// (`None` for a cell one read cannot give, such as a role kept in
    /// another list). The worker reads it just before an update, so that a
    /// field someone else changed since the run loaded the tenant is not
    /// overwritten blindly. `Ok(None)`: the target cannot read one record,
    /// and the update goes ahead on what was loaded.
    fn current(
        &self,
        _api: &Api,
        _id: &str,
    ) -> std::result::Result<Option<Vec<Option<String>>>, ApiError> {
        Ok(None)
    }
    /// What the row's own lifecycle column (Active, Retired, Login
    /// Enabled, ...) asks for: `Some(false)` deactivate, `Some(true)` active,
    /// `None` when it says nothing. The common `Status` column is read by
    /// the engine, not here.
    fn wants_active(&self, _values: &[Value]) -> Option<bool> {
        None
    }
    /// Deactivates (`active` false) or reactivates the record `id` with the
    /// vendor's documented switch. `Outcome::Updated` when done.
    fn set_active(&self, _api: &Api, id: &str, active: bool, _row: &RowInput) -> Outcome {
        Outcome::Failed {
            id: Some(id.to_string()),
            message: format!(
                "hrport cannot {} records of this target yet",
                if active { "reactivate" } else { "deactivate" }
            ),
            unavailable: false,
        }
    }
    /// The names a reference column offers when they do not come from
    /// `refs` (a table in the profile's [options], the groups a SCIM
    /// service holds), for the template's dropdowns; `None`: from `refs`.
    fn names(&self, _field: usize) -> Option<Vec<String>> {
        None
    }
    /// The groups the run created (`--create-groups`), for summary.json.
    fn groups_created(&self) -> Vec<String> {
        Vec::new()
    }
    /// Lines for the end of the run and summary.json (for example every
    /// elevated permission that was granted).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Every record, as template rows (cells in template column order).
    fn export(
        &self,
        api: &Api,
        include_terminated: bool,
        emit: &mut dyn FnMut(Exported) -> Result<()>,
    ) -> std::result::Result<(), ExportError>;
}

#[derive(Debug)]
pub enum ExportError {
    Api(ApiError),
    Output(Error),
}

impl From<ApiError> for ExportError {
    fn from(e: ApiError) -> ExportError {
        ExportError::Api(e)
    }
}

/// A typed value as the JSON a vendor expects: dates as `YYYY-MM-DD`,
/// whole numbers as integers, references as the target's ids. `None` for an
/// empty value or a reference that could not be resolved (offline).
pub fn value_json(f: &FieldSpec, v: &Value, refs: &RefTables) -> Option<Json> {
    Some(match v {
        Value::Empty => return None,
        // `#clear`: the vendors' JSON empties a field with null.
        Value::Clear => Json::Null,
        Value::Text(s) => Json::String(s.to_string()),
        // The one place a password leaves its wrapper: the request body.
        Value::Secret(s) => Json::String(s.expose().to_string()),
        Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::Number(n) => number(*n),
        Value::Bool(b) => Json::Bool(*b),
        Value::List(items) => {
            Json::Array(items.iter().map(|s| Json::String(s.to_string())).collect())
        }
        Value::Ref(i) => match f.kind {
            Kind::Reference(what) => id_json(&refs.get(what)?.entries[*i].id),
            _ => return None,
        },
        Value::Refs(ids) => match f.kind {
            Kind::References(what) => {
                let t = refs.get(what)?;
                Json::Array(ids.iter().map(|&i| id_json(&t.entries[i].id)).collect())
            }
            _ => return None,
        },
        // How a file travels (encoding, field) is each target's own choice.
        Value::File(_) => return None,
    })
}

/// Builds a create payload from the fields' dotted `payload` paths.
pub fn payload(fields: &[FieldSpec], values: &[Value], refs: &RefTables) -> Json {
    let mut root = Map::new();
    for (f, v) in fields.iter().zip(values) {
        if f.payload.is_empty() {
            continue;
        }
        let Some(json) = value_json(f, v, refs) else { continue };
        let mut node = &mut root;
        let mut parts = f.payload.split('.').peekable();
        while let Some(p) = parts.next() {
            if parts.peek().is_none() {
                node.insert(p.to_string(), json);
                break;
            }
            node = node
                .entry(p.to_string())
                .or_insert_with(|| Json::Object(Map::new()))
                .as_object_mut()
                .expect("payload paths do not overlap");
        }
    }
    Json::Object(root)
}

/// A whole number as a JSON integer, anything else as a float.
pub fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(Json::Number).unwrap_or(Json::Null)
    }
}

/// Ids are numbers where they look like numbers, as vendors send them.
pub fn id_json(id: &str) -> Json {
    id.parse::<i64>().map(Json::from).unwrap_or_else(|_| Json::String(id.to_string()))
}

/// A JSON id (number or string) as text.
/// A JSON value from a target as an export cell: yes/no for booleans, lists
/// joined with "; " (as imports split them), objects as JSON.
pub fn json_cell(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Array(a)) => a.iter().map(|x| json_cell(Some(x))).collect::<Vec<_>>().join("; "),
        Some(o @ Json::Object(_)) => o.to_string(),
    }
}

pub fn id_text(v: &Json) -> Option<String> {
    match v {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The values a template's dropdown offers for each column, in template
/// column order: the session's names for reference columns, yes/no, and
/// fixed value sets; `None` for a column with no fixed set of values (or a
/// reference whose list is empty: offline, nothing to offer).
pub fn choices(session: &dyn Session, fields: &[FieldSpec]) -> Vec<Option<Vec<String>>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let names = match f.kind {
                Kind::Bool => vec!["yes".to_string(), "no".to_string()],
                Kind::Choice(values) => values.iter().map(|v| v.to_string()).collect(),
                Kind::Reference(what) | Kind::References(what) => {
                    session.names(i).unwrap_or_else(|| {
                        session.refs().get(what).map_or_else(Vec::new, |t| {
                            t.entries.iter().map(|e| e.name.clone()).collect()
                        })
                    })
                }
                _ => session.names(i).unwrap_or_default(),
            };
            let mut seen = std::collections::HashSet::new();
            let names: Vec<String> = names
                .into_iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty() && seen.insert(n.to_lowercase()))
                .collect();
            (!names.is_empty()).then_some(names)
        })
        .collect()
}

/// Template documentation as a Markdown table (docs and `hrport targets`).
pub fn columns_table(info: &TargetInfo) -> String {
    let mut s = String::from(
        "| Column | Also matched | Payload field | Required | Accepts |\n|---|---|---|---|---|\n",
    );
    for f in info.template.fields {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.column,
            f.aliases.join(", "),
            if f.payload.is_empty() {
                "(follow-up step)".to_string()
            } else {
                format!("`{}`", f.payload)
            },
            if f.required { "yes" } else { "" },
            f.accepts()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_switch_is_a_boolean_option_of_its_target_named_like_its_flag() {
        for t in TARGETS {
            for s in t.switches() {
                let o = t.info().options.iter().find(|o| o.name == s.option);
                assert_eq!(
                    o.map(|o| o.default),
                    Some("false"),
                    "{}: {}",
                    t.info().template.name,
                    s.option
                );
                assert_eq!(s.flag, s.option.replace('_', "-"));
            }
        }
        let all: Vec<&str> = switches().iter().map(|s| s.flag).collect();
        assert_eq!(all, ["enable-login", "allow-elevated-permissions", "create-groups"]);
    }

    #[test]
    fn every_targets_unique_and_one_of_columns_are_its_own() {
        use crate::mapping::template::field_index;
        for t in TARGETS {
            let template = &t.info().template;
            let named = template.unique.iter().chain(template.one_of.iter().flat_map(|g| g.iter()));
            for column in named {
                // Panics on a name the template lacks.
                field_index(template.fields, column);
            }
        }
    }

    #[test]
    fn every_target_has_a_doc_page_with_its_current_columns() {
        for t in TARGETS {
            let info = t.info();
            let path =
                format!("{}/docs/targets/{}.md", env!("CARGO_MANIFEST_DIR"), info.template.name);
            let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                doc.contains(&columns_table(info)),
                "{path} is out of date: paste the table `hrport targets {}` prints",
                info.template.name
            );
        }
    }
}
