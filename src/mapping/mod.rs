//! From spreadsheet rows to typed, checked values of a target's template.
//!
//! `Mapping::resolve` binds the file's headers (and a profile, if any) to the
//! template once; `Mapping::map_row` then turns one row into `Value`s plus the
//! problems found; its only I/O is reading the files cells name (`files`),
//! so that targets need none. Reference columns (a region, a role) are
//! resolved against `RefTables` the target loaded beforehand. Nothing here
//! knows a target or how a vendor's payload looks.

pub mod dictionary;
pub mod field;
pub mod files;
pub mod profile;
pub mod template;
pub mod values;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::input::Record;
use crate::text;
use field::{FieldSpec, Kind};
use profile::Profile;
use template::Template;
use values::DateFormats;

/// One thing wrong with a row, in words a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The column as the person's file names it ("" for the whole row).
    pub column: String,
    pub message: String,
}

impl Problem {
    pub fn row(message: impl Into<String>) -> Problem {
        Problem { column: String::new(), message: message.into() }
    }
    pub fn new(column: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { column: column.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            f.write_str(&self.message)
        } else if self.message.starts_with("is ") {
            // "Last Name is required" reads better than "Last Name: is required".
            write!(f, "{} {}", self.column, self.message)
        } else {
            write!(f, "{}: {}", self.column, self.message)
        }
    }
}

/// All problems of a row as one cell of the errors file.
pub fn join_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ")
}

/// A typed cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Empty,
    Text(Cow<'a, str>),
    Date(NaiveDate),
    Number(f64),
    Bool(bool),
    List(Vec<Cow<'a, str>>),
    /// Index of the entry in the field's reference table.
    Ref(usize),
    /// Indexes of several entries of the field's reference table.
    Refs(Vec<usize>),
    /// A password: never printed (see `secret`).
    Secret(crate::secret::Secret),
    /// A file a cell names, read (`Kind::File`).
    /// Boxed: a rare kind, kept out of the size of every value.
    File(Box<files::FileCell<'a>>),
    /// The cell says `#clear` (`CLEAR`): an update empties the field.
    Clear,
}

/// What a cell says to empty a field on update (any case). An empty cell
/// leaves the field as it is, so emptying needs a word of its own; not
/// Excel's `#N/A`, which a failed look-up formula leaves behind.
pub const CLEAR: &str = "#clear";

impl Value<'_> {
    pub fn is_empty(&self) -> bool {
        matches!(self, Value::Empty)
    }
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Empties a values vector and hands back its allocation for the next row
/// (the element type differs only in lifetime, so the buffer is reused in
/// place rather than allocated for every row).
pub fn recycle<'b>(mut v: Vec<Value<'_>>) -> Vec<Value<'b>> {
    // Most rows' values own nothing: then a leaked drain empties the vector
    // without calling the drop glue of every variant for each value (it
    // leaks nothing, as nothing is owned). `clear` drops whatever is left.
    let owns_nothing = |x: &Value| {
        matches!(
            x,
            Value::Empty
                | Value::Text(Cow::Borrowed(_))
                | Value::Date(_)
                | Value::Number(_)
                | Value::Bool(_)
                | Value::Ref(_)
                | Value::Clear
        )
    };
    if v.iter().all(owns_nothing) {
        std::mem::forget(v.drain(..));
    }
    v.clear();
    v.into_iter().map(|_| unreachable!("the vector is empty")).collect()
}

/// Records a target holds that rows refer to by name or id.
#[derive(Debug, Clone)]
pub struct RefTable {
    /// What an entry is, in messages ("region").
    pub what: String,
    pub entries: Vec<RefEntry>,
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefEntry {
    pub id: String,
    pub name: String,
}

impl RefTable {
    pub fn new(what: &str, entries: Vec<RefEntry>) -> RefTable {
        let mut by_id = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_id.insert(e.id.clone(), i);
            by_name.entry(e.name.trim().to_lowercase()).or_default().push(i);
        }
        RefTable { what: what.to_string(), entries, by_id, by_name }
    }

    /// A name (case-insensitive) or an id, to the entry's index.
    pub fn resolve(&self, s: &str) -> Result<usize, String> {
        if let Some(found) = self.by_name.get(&s.to_lowercase()) {
            return match found.as_slice() {
                [one] => Ok(*one),
                many => Err(format!(
                    "{} {what}s are named {s:?} (ids {}); give the id instead",
                    many.len(),
                    many.iter()
                        .map(|&i| self.entries[i].id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    what = self.what
                )),
            };
        }
        if let Some(&i) = self.by_id.get(s) {
            return Ok(i);
        }
        let names = self.entries.iter().map(|e| e.name.as_str());
        Err(match text::closest(s, names) {
            Some(best) => format!("no {} named {s:?} (did you mean {best:?}?)", self.what),
            // Nothing close: say what there is, so the person can pick.
            None if self.entries.is_empty() => format!("no {} named {s:?}", self.what),
            None => {
                let known: Vec<String> =
                    self.entries.iter().map(|e| format!("{:?}", e.name)).collect();
                format!(
                    "no {what} named {s:?} (the {what}s are {})",
                    text::capped_list(&known, 10),
                    what = self.what
                )
            }
        })
    }

    pub fn name_of_id(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(|&i| self.entries[i].name.as_str())
    }
}

/// The reference tables of a run, by the name used in `Kind::Reference`.
#[derive(Debug, Clone, Default)]
pub struct RefTables(pub HashMap<&'static str, RefTable>);

impl RefTables {
    pub fn get(&self, what: &str) -> Option<&RefTable> {
        self.0.get(what)
    }
}

/// Why a file's column was bound to a template column.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// The profile's [columns] says so.
    Profile,
    /// The header is the template column's name.
    Name,
    /// The header is one of the template column's own aliases.
    Alias,
    /// The shared dictionary: the header is a common HR name for this
    /// (`dictionary::Concept::what`).
    Common(&'static str),
}

/// Where a template column's value comes from.
#[derive(Debug, Default)]
struct Binding {
    column: Option<usize>,
    how: Option<How>,
    /// What messages call this column: the person's header, else the template's.
    label: String,
    constant: Option<String>,
    default: Option<String>,
    /// Lower-cased their-value -> our value.
    values: HashMap<String, String>,
}

impl Binding {
    /// The column whose cell is the field's raw text as it stands.
    fn direct(&self) -> Option<usize> {
        let as_is = self.constant.is_none() && self.default.is_none() && self.values.is_empty();
        self.column.filter(|_| as_is)
    }
}

/// A target's template bound to one file's headers.
pub struct Mapping {
    pub fields: &'static [FieldSpec],
    bindings: Vec<Binding>,
    one_of: Vec<Vec<usize>>,
    /// The file's headers as read.
    pub headers: Vec<String>,
    /// What header matching could not decide, for the person to settle
    /// (a header that may mean two template columns).
    pub notes: Vec<String>,
    /// Input columns carried into results and errors files (all but `hrport_*`).
    pub carried: Vec<usize>,
    /// Input columns whose cells are blanked in every output (secrets).
    pub secret_columns: Vec<usize>,
    /// Input columns the template does not know.
    pub unknown: Vec<usize>,
    /// The `ID` column, naming records by the target's own id.
    pub id_column: Option<usize>,
    /// The common `Status` column (Active / Inactive), when the template
    /// has no column of that name itself.
    pub status_column: Option<usize>,
    formats: DateFormats,
    /// Per field: the day/month order decided for its `a/b/yyyy` dates.
    date_orders: Vec<Option<values::Order>>,
    /// Per field: what its `a/b/yyyy` dates allowed, counted while rows are
    /// checked (three counters a column: the whole-column decision costs
    /// no second read unless it changes a verdict).
    date_seen: Vec<DateSeen>,
    /// `18,75` is a number: the file's delimiter leaves the comma free.
    decimal_comma: bool,
    /// Per field: whether it is a key (`Template::unique`), where a
    /// character no one can see would make a second record.
    is_key: Vec<bool>,
    /// The fields that get a value from anywhere (`is_bound`), the required
    /// ones, and those with a profile constant and a column of the file:
    /// every row is asked about these, so they are listed once.
    bound: Vec<usize>,
    required: Vec<usize>,
    constant_and_column: Vec<usize>,
    /// Per field: its column, when the cell alone is its raw text (no
    /// constant, default or value translation): `raw`'s short way.
    direct: Vec<Option<usize>>,
    today: NaiveDate,
    /// Where relative file names in cells are looked for: the input's folder.
    folder: Option<PathBuf>,
}

/// A file's header row as `Mapping::resolve` reads it.
struct Columns<'a> {
    headers: &'a [String],
    normalized: &'a [String],
    /// `hrport_` columns of an earlier run's output.
    ignored: &'a [bool],
    /// The file, for messages.
    file: &'a str,
}

/// The template field a profile section names, or an error naming the
/// template's columns.
fn field_for(
    template: &Template,
    key: &str,
    section: &str,
    errors: &mut Vec<String>,
) -> Option<usize> {
    let fields = template.fields;
    let f = find_field(fields, key);
    if f.is_none() {
        errors.push(format!(
            "[{section}] names {key:?}, which is not {} column (its columns: {})",
            crate::text::a(template.brand()),
            fields.iter().map(|f| f.column).collect::<Vec<_>>().join(", ")
        ));
    }
    f
}

/// Step 1 of `resolve`: the columns the profile's `[columns]` maps.
fn bind_profile_columns(
    template: &Template,
    profile: &Profile,
    c: &Columns,
    used: &mut [bool],
    bindings: &mut [Binding],
    errors: &mut Vec<String>,
) {
    let fields = template.fields;
    for (key, theirs) in &profile.columns {
        let Some(fi) = field_for(template, key, "columns", errors) else {
            continue;
        };
        let want = text::normalize(theirs);
        match (0..c.headers.len()).find(|&i| !c.ignored[i] && c.normalized[i] == want) {
            Some(col) => {
                if let Some(prev) = bindings[fi].column {
                    errors.push(format!(
                        "[columns] maps {} twice (to {:?} and {:?})",
                        fields[fi].column, c.headers[prev], c.headers[col]
                    ));
                }
                bindings[fi].column = Some(col);
                bindings[fi].how = Some(How::Profile);
                bindings[fi].label = c.headers[col].clone();
                used[col] = true;
            }
            // A profile written for another version of the file: the
            // file has the template's own column, which step 2 binds.
            None if has_own_column(&fields[fi], c.normalized, c.ignored) => {}
            None => errors.push(format!(
                "[columns] maps {} to {theirs:?}, but {} has no such column (its columns: {})",
                fields[fi].column,
                c.file,
                header_list(c.headers)
            )),
        }
    }
}

/// Step 3 of `resolve`: the profile's constants, defaults and value maps.
fn apply_profile_values(
    template: &Template,
    profile: &Profile,
    bindings: &mut [Binding],
    errors: &mut Vec<String>,
) {
    for (key, v) in &profile.constants {
        if let Some(fi) = field_for(template, key, "constants", errors) {
            bindings[fi].constant = Some(v.clone());
        }
    }
    for (key, v) in &profile.defaults {
        if let Some(fi) = field_for(template, key, "defaults", errors) {
            bindings[fi].default = Some(v.clone());
        }
    }
    for (key, map) in &profile.values {
        if let Some(fi) = field_for(template, key, "values", errors) {
            bindings[fi].values =
                map.iter().map(|(k, v)| (k.trim().to_lowercase(), v.clone())).collect();
        }
    }
}

/// Step 4 of `resolve`: the required columns and the groups of which a row
/// needs one (the groups' field indexes are returned). A file that only
/// changes or ends records (`changes_only`) asks them of each row instead.
fn check_required(
    template: &Template,
    c: &Columns,
    bindings: &[Binding],
    changes_only: bool,
    notes: &[String],
) -> Result<Vec<Vec<usize>>> {
    let fields = template.fields;
    let present = |b: &Binding| b.column.is_some() || b.constant.is_some() || b.default.is_some();
    let missing: Vec<&str> = fields
        .iter()
        .zip(bindings)
        .filter(|(f, b)| f.required && !present(b))
        .map(|(f, _)| f.column)
        .collect();
    let mut one_of = Vec::new();
    let mut missing_groups = Vec::new();
    for group in template.one_of {
        let idx: Vec<usize> = group.iter().filter_map(|c| find_field(fields, c)).collect();
        if !idx.iter().any(|&i| present(&bindings[i])) {
            missing_groups.push(group.join(" or "));
        }
        one_of.push(idx);
    }
    if (missing.is_empty() && missing_groups.is_empty()) || changes_only {
        return Ok(one_of);
    }
    let mut what: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
    what.extend(missing_groups.iter().map(|g| format!("one of {g}")));
    let expected = fields
        .iter()
        .map(|f| if f.required { format!("{}*", f.column) } else { f.column.to_string() })
        .collect::<Vec<_>>()
        .join(", ");
    let unsure = if notes.is_empty() { String::new() } else { format!(" {}", notes.join(" ")) };
    let file = c.file;
    Err(Error::input(format!(
        "{file}: missing required column{} {}. Expected headers (* = required): {expected}. \
         Found: {}.{unsure} Rename the columns, or map them with --profile (see `hrport profile init --target {} --from {file}`).",
        if what.len() == 1 { "" } else { "s" },
        text::and_list(&what),
        header_list(c.headers),
        template.name
    )))
}

/// Finds a template field by a name as a person may write it.
pub fn find_field(fields: &[FieldSpec], name: &str) -> Option<usize> {
    // Compared without allocating: the plan asks for a key or the
    // lifecycle column for every row.
    let same = |other: &str| text::same_name(other, name);
    fields
        .iter()
        .position(|f| same(f.column))
        .or_else(|| fields.iter().position(|f| f.aliases.iter().any(|a| same(a))))
}

/// Whether the file has a column named as the field or one of its aliases.
fn has_own_column(f: &FieldSpec, normalized: &[String], ignored: &[bool]) -> bool {
    std::iter::once(f.column)
        .chain(f.aliases.iter().copied())
        .map(text::normalize)
        .any(|n| normalized.iter().zip(ignored).any(|(h, &ig)| !ig && *h == n))
}

/// A file's headers for a message: each clipped, and no more than 30, so a
/// file with 20,000 columns or a 30,000-character header makes a readable one.
pub fn header_list(headers: &[String]) -> String {
    let names: Vec<String> = headers.iter().map(|h| text::clip(h, 60)).collect();
    text::capped_list(&names, 30)
}

/// The column that names a record by the target's own id: the first
/// column of every export. Not a template field: it is never sent.
pub const ID_COLUMN: &str = "ID";

/// The lifecycle column every target reads (Active / Inactive, and the
/// vendors' words: Terminated, Retired, Disabled), unless its template has
/// a column of that name.
pub const STATUS_COLUMN: &str = "Status";

/// Input columns hrport itself wrote (`hrport_row`, `hrport_status`, ...).
pub fn is_hrport_column(header: &str) -> bool {
    header.trim().to_ascii_lowercase().starts_with("hrport_")
}

impl Mapping {
    /// Binds the template to the headers of `file`. Every problem that makes
    /// the file unusable is reported here, before any row is read.
    pub fn resolve(
        template: &'static Template,
        file: &str,
        headers: &[String],
        profile: &Profile,
        mut date_formats: Vec<String>,
    ) -> Result<Mapping> {
        let fields = template.fields;
        let mut bindings: Vec<Binding> = fields
            .iter()
            .map(|f| Binding { label: f.column.to_string(), ..Binding::default() })
            .collect();
        let normalized: Vec<String> = headers.iter().map(|h| text::normalize(h)).collect();
        let ignored: Vec<bool> = headers.iter().map(|h| is_hrport_column(h)).collect();
        let mut used = vec![false; headers.len()];
        let mut errors = Vec::new();

        // 1. Columns the profile maps explicitly.
        let cols = Columns { headers, normalized: &normalized, ignored: &ignored, file };
        bind_profile_columns(template, profile, &cols, &mut used, &mut bindings, &mut errors);

        // 2. The rest by template name or alias.
        errors.extend(match_names(
            fields,
            headers,
            &normalized,
            &ignored,
            &mut used,
            &mut bindings,
            file,
        ));

        // 2b. The rest by the shared dictionary of common HR names.
        let notes =
            match_common_names(fields, headers, &normalized, &ignored, &mut used, &mut bindings);

        // 3. Constants, defaults and value maps.
        apply_profile_values(template, profile, &mut bindings, &mut errors);
        for f in &profile.dates.formats {
            check_date_format(f).map_err(|e| Error::config(format!("[dates] formats: {e}")))?;
        }
        date_formats.extend(profile.dates.formats.iter().cloned());
        for f in &date_formats {
            check_date_format(f).map_err(Error::config)?;
        }
        if !errors.is_empty() {
            return Err(Error::config(errors.join("\n")));
        }

        // 4. Required columns. A file with an `ID` or a `Status` column may
        // only change or end records (a leavers file: a key and Status), so
        // what a new record needs is asked of each row that creates one.
        let id_norm = text::normalize(ID_COLUMN);
        let id_column =
            (0..headers.len()).find(|&i| !ignored[i] && !used[i] && normalized[i] == id_norm);
        if let Some(i) = id_column {
            used[i] = true;
        }
        let status_norm = text::normalize(STATUS_COLUMN);
        let status_column =
            (0..headers.len()).find(|&i| !ignored[i] && !used[i] && normalized[i] == status_norm);
        if let Some(i) = status_column {
            used[i] = true;
        }
        let changes_only = id_column.is_some() || status_column.is_some();
        let one_of = check_required(template, &cols, &bindings, changes_only, &notes)?;

        let carried: Vec<usize> = (0..headers.len()).filter(|&i| !ignored[i]).collect();
        let unknown: Vec<usize> = carried.iter().copied().filter(|&i| !used[i]).collect();
        let secret_columns = fields
            .iter()
            .zip(&bindings)
            .filter(|(f, _)| f.kind == Kind::Secret)
            .filter_map(|(_, b)| b.column)
            .collect();
        let [bound, required, constant_and_column] = field_lists(fields, &bindings);
        Ok(Mapping {
            fields,
            bound,
            required,
            constant_and_column,
            direct: bindings.iter().map(Binding::direct).collect(),
            bindings,
            one_of,
            headers: headers.to_vec(),
            notes,
            carried,
            secret_columns,
            unknown,
            id_column,
            status_column,
            formats: DateFormats(date_formats),
            date_orders: vec![None; fields.len()],
            date_seen: fields.iter().map(|_| DateSeen::default()).collect(),
            decimal_comma: false,
            is_key: fields.iter().map(|f| is_unique(template, f)).collect(),
            today: chrono::Local::now().date_naive(),
            folder: None,
        })
    }

    /// Reads `18,75` as a number (a `;` or tab-delimited file).
    pub fn decimal_comma(mut self, yes: bool) -> Mapping {
        self.decimal_comma = yes;
        self
    }

    fn date_order(&self, field: usize) -> Option<values::Order> {
        self.date_orders.get(field).copied().flatten()
    }

    /// The date columns whose `a/b/yyyy` values failed but all read in one
    /// day/month order: (field, order, an example that fixes it). Giving
    /// them with `set_date_order` makes those values valid.
    pub fn date_orders_found(&self) -> Vec<(usize, values::Order, String)> {
        let mut found = Vec::new();
        for (fi, seen) in self.date_seen.iter().enumerate() {
            if self.date_orders[fi].is_some() || seen.failed.load(Relaxed) == 0 {
                continue;
            }
            let (day, month) = (seen.day_first.load(Relaxed), seen.month_first.load(Relaxed));
            let order = match (day > 0, month > 0) {
                (true, false) => values::Order::DayFirst,
                (false, true) => values::Order::MonthFirst,
                _ => continue,
            };
            let example = seen.example.lock().map(|e| e.clone()).unwrap_or_default();
            found.push((fi, order, example));
        }
        found
    }

    /// Reads a date column's `a/b/yyyy` values in `order` from now on.
    pub fn set_date_order(&mut self, field: usize, order: values::Order) {
        self.date_orders[field] = Some(order);
        self.date_seen[field] = DateSeen::default();
    }

    /// Looks for the files cells name beside `input` (the spreadsheet), not
    /// wherever hrport was started.
    pub fn files_beside(mut self, input: &Path) -> Mapping {
        self.folder =
            std::path::absolute(input).ok().and_then(|f| f.parent().map(Path::to_path_buf));
        self
    }

    /// Whether a template field gets a value from anywhere (column,
    /// constant or default).
    pub fn is_bound(&self, field: usize) -> bool {
        let b = &self.bindings[field];
        b.column.is_some() || b.constant.is_some() || b.default.is_some()
    }

    /// The input column feeding a template field, if any.
    pub fn column_of(&self, field: usize) -> Option<usize> {
        self.bindings[field].column
    }

    /// Why a template field is fed by its column, if it is.
    pub fn how(&self, field: usize) -> Option<&How> {
        self.bindings[field].how.as_ref()
    }

    /// What messages call a template field for this file.
    pub fn label(&self, field: usize) -> &str {
        &self.bindings[field].label
    }

    /// The profile's constant for a field, if it has one.
    pub fn constant(&self, field: usize) -> Option<&str> {
        self.bindings[field].constant.as_deref()
    }

    /// The fields whose profile constant this row's own cell contradicts:
    /// the file has the column too, and the row says something else there
    /// (the constant wins; the import warns).
    pub fn overridden(&self, rec: &Record) -> Vec<usize> {
        let mut found = Vec::new();
        // A plain loop: asked of every row, and almost always of bindings
        // without a constant.
        for &f in &self.constant_and_column {
            let b = &self.bindings[f];
            let (Some(constant), Some(col)) = (b.constant.as_deref(), b.column) else {
                continue;
            };
            let cell = text::cell_value(rec.fields.get(col).unwrap_or(""));
            let cell = text::get_lowercase(&b.values, cell).map_or(cell, |v| v.trim());
            if !cell.is_empty() && !cell.eq_ignore_ascii_case(constant.trim()) {
                found.push(f);
            }
        }
        found
    }

    /// The input column a problem's label names: the column bound to the
    /// template field of that label, else a carried header of that name
    /// (`ID`, `Status`). `None` for the whole row, or a column the file lacks.
    pub fn column_named(&self, label: &str) -> Option<usize> {
        if label.is_empty() {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| b.column.is_some() && b.label == label)
            .and_then(|b| b.column)
            .or_else(|| self.carried.iter().copied().find(|&i| self.headers[i] == label))
    }

    /// The raw text a field takes in a row (constant, cell or default), after
    /// the formula guard is removed and the value is trimmed and translated.
    pub fn raw<'r>(&'r self, rec: &'r Record, field: usize) -> &'r str {
        if let Some(c) = self.direct[field] {
            return rec.fields.get(c).map(text::cell_value).unwrap_or("");
        }
        let b = &self.bindings[field];
        if let Some(c) = &b.constant {
            return c.trim();
        }
        let cell = b.column.and_then(|c| rec.fields.get(c)).map(text::cell_value).unwrap_or("");
        let cell = if cell.is_empty() { b.default.as_deref().unwrap_or("").trim() } else { cell };
        if !b.values.is_empty()
            && !cell.is_empty()
            && let Some(v) = text::get_lowercase(&b.values, cell)
        {
            return v.trim();
        }
        cell
    }

    /// Maps one row. `out` gets one value per template field; `problems`
    /// gets everything wrong with the row that the template alone can tell.
    pub fn map_row<'r>(
        &'r self,
        rec: &'r Record,
        refs: &RefTables,
        out: &mut Vec<Value<'r>>,
        problems: &mut Vec<Problem>,
    ) {
        self.map_values(rec, refs, out, problems);
        problems.extend(self.missing(rec, out));
    }

    /// `map_row` without the required values: a row that only changes or
    /// ends a record needs its key and what changes, not everything a new
    /// record needs (see `missing`).
    pub fn map_values<'r>(
        &'r self,
        rec: &'r Record,
        refs: &RefTables,
        out: &mut Vec<Value<'r>>,
        problems: &mut Vec<Problem>,
    ) {
        out.clear();
        if let Some(e) = &rec.shape_error {
            problems.push(Problem::row(e.clone()));
        }
        // Every slot starts `Empty` and only a cell with a value writes
        // its own in place (see `parse`).
        out.resize_with(self.fields.len(), || Value::Empty);
        for &fi in &self.bound {
            self.cell(fi, rec, refs, problems, &mut out[fi]);
        }
    }

    /// Puts one bound cell's value in `slot` (`Empty`), or notes its
    /// problem.
    #[inline]
    fn cell<'r>(
        &'r self,
        fi: usize,
        rec: &'r Record,
        refs: &RefTables,
        problems: &mut Vec<Problem>,
        slot: &mut Value<'r>,
    ) {
        let s = self.raw(rec, fi);
        if s.is_empty() {
            return; // stays `Empty`
        }
        if s.eq_ignore_ascii_case(CLEAR) {
            set(slot, self.clear(fi, problems));
        } else if let Some(err) = excel_error(s) {
            // What a broken formula leaves behind, in a workbook or in a
            // CSV Excel saved: never a value to send.
            let m = format!(
                "is the Excel error {err}, left by a formula that failed; type the value instead"
            );
            self.note(fi, m, problems);
        } else if self.is_key[fi]
            && !s.is_ascii()
            && let Some(c) = s.chars().find(|&c| invisible(c))
        {
            let m = format!(
                "{:?} holds an invisible character (U+{:04X}); as a key it would not \
                 match the same value typed; retype the value",
                s, c as u32
            );
            self.note(fi, m, problems);
        } else {
            self.parse(fi, s, refs, problems, slot);
        }
    }

    /// A `#clear` cell: `Value::Clear`, unless the field is one a record
    /// cannot be without or holds no value to empty. (Keys are refused
    /// where they are known: `engine::plan`.)
    fn clear(&self, fi: usize, problems: &mut Vec<Problem>) -> Value<'static> {
        let f = &self.fields[fi];
        let why = if f.required {
            Some("is required")
        } else if matches!(f.kind, Kind::Secret | Kind::File(_)) {
            Some("holds no value to empty")
        } else {
            None
        };
        match why {
            Some(why) => {
                problems.push(Problem::new(self.label(fi), format!("cannot be cleared: it {why}")));
                Value::Empty
            }
            None => Value::Clear,
        }
    }

    /// What a row lacks to create a record: required values, and one of
    /// each group of columns of which the template needs one.
    /// `values` are the row's from `map_values`: only a field without a
    /// value there can lack one (a cell refused as invalid is not missing).
    pub fn missing(&self, rec: &Record, values: &[Value]) -> Vec<Problem> {
        let lacks = |fi: usize| values[fi].is_empty() && self.raw(rec, fi).is_empty();
        let mut problems = Vec::new();
        for &fi in &self.required {
            if lacks(fi) {
                problems.push(Problem::new(self.label(fi), "is required"));
            }
        }
        for group in &self.one_of {
            if group.iter().all(|&i| lacks(i)) {
                let names: Vec<String> = group.iter().map(|&i| self.label(i).to_string()).collect();
                problems.push(Problem::row(format!("give at least one of {}", names.join(" or "))));
            }
        }
        problems
    }

    /// Puts a cell's value by its field's kind in `slot` (which is
    /// `Empty`), or notes its problem and leaves the slot empty. Each arm
    /// writes its value in place: a value returned (or a `Result`
    /// unwrapped) is copied once more through the stack, and that copy
    /// stalled on every cell.
    fn parse<'r>(
        &self,
        fi: usize,
        s: &'r str,
        refs: &RefTables,
        problems: &mut Vec<Problem>,
        slot: &mut Value<'r>,
    ) {
        let f = &self.fields[fi];
        if f.max_len > 0 && s.len() > f.max_len {
            // A character is at least a byte: only a long cell is counted.
            let n = s.chars().count();
            if n > f.max_len {
                let m = format!("is {n} characters long; the limit is {}", f.max_len);
                self.note(fi, m, problems);
                return;
            }
        }
        match f.kind {
            Kind::Text | Kind::Person => set(slot, Value::Text(Cow::Borrowed(s))),
            Kind::Secret => set(slot, Value::Secret(crate::secret::Secret::new(s))),
            Kind::Email => match values::check_email(s) {
                Ok(()) => set(slot, Value::Text(Cow::Borrowed(s))),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::Date => match self.date(fi, s) {
                Ok(d) => set(slot, Value::Date(d)),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::PastDate => match self.date(fi, s) {
                Ok(d) if d > self.today => self.note(fi, format!("{d} is in the future"), problems),
                Ok(d) => set(slot, Value::Date(d)),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::Number { min } => match values::parse_number(s, min, self.decimal_comma) {
                Ok(n) => set(slot, Value::Number(n)),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::Bool => match values::parse_bool(s) {
                Ok(b) => set(slot, Value::Bool(b)),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::List => {
                set(slot, Value::List(values::split_list(s).map(Cow::Borrowed).collect()))
            }
            // Offline dry run (no table): nothing to resolve against.
            Kind::Reference(what) => match refs.get(what).map(|table| table.resolve(s)) {
                Some(Ok(i)) => set(slot, Value::Ref(i)),
                Some(Err(m)) => self.note(fi, m, problems),
                None => set(slot, Value::Text(Cow::Borrowed(s))),
            },
            Kind::References(what) => match refs.get(what).map(|table| resolve_all(table, s)) {
                Some(Ok(found)) => set(slot, Value::Refs(found)),
                Some(Err(m)) => self.note(fi, m, problems),
                None => set(slot, Value::List(values::split_list(s).map(Cow::Borrowed).collect())),
            },
            Kind::File(what) => match files::read(self.folder.as_deref(), s, what) {
                Ok(file) => set(slot, Value::File(Box::new(file))),
                Err(m) => self.note(fi, m, problems),
            },
            Kind::Choice(allowed) => match choose(allowed, s) {
                Some(a) => set(slot, Value::Text(Cow::Borrowed(a))),
                None => {
                    let hint = text::closest(s, allowed.iter().copied())
                        .map(|b| format!(" (did you mean {b:?}?)"))
                        .unwrap_or_default();
                    self.note(
                        fi,
                        format!("{s:?} is not one of {}{hint}", allowed.join(", ")),
                        problems,
                    );
                }
            },
        }
    }

    /// Notes a cell's problem; the cell counts as empty.
    fn note(&self, fi: usize, message: String, problems: &mut Vec<Problem>) {
        problems.push(Problem::new(self.label(fi), message));
    }
}

impl Mapping {
    /// A date cell; a failing `a/b/yyyy` value is counted for the
    /// whole-column decision (`date_orders_found`).
    fn date(&self, fi: usize, s: &str) -> Result<NaiveDate, String> {
        let result = values::parse_date(s, &self.formats, self.date_order(fi));
        if result.is_err()
            && let Some(sd) = values::SlashDate::parse(s.split(' ').next().unwrap_or(s))
        {
            let seen = &self.date_seen[fi];
            seen.failed.fetch_add(1, Relaxed);
            let counter = match sd.forced() {
                Some(values::Order::DayFirst) => &seen.day_first,
                Some(values::Order::MonthFirst) => &seen.month_first,
                None => return result,
            };
            if counter.fetch_add(1, Relaxed) == 0
                && let Ok(mut e) = seen.example.lock()
                && e.is_empty()
            {
                *e = s.to_string();
            }
        }
        result
    }
}

/// Characters that show as nothing (zero-width spaces and joiners,
/// direction marks, soft hyphens, byte-order marks).
fn invisible(c: char) -> bool {
    matches!(c, '\u{00ad}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// What one date column's `a/b/yyyy` values allowed (see `Mapping::date`).
#[derive(Debug, Default)]
struct DateSeen {
    failed: AtomicU64,
    day_first: AtomicU64,
    month_first: AtomicU64,
    example: std::sync::Mutex<String>,
}

/// Binds the template columns no profile mapped to the headers that are
/// their name or one of their aliases; returns what is wrong (two headers
/// meaning one column).
fn match_names(
    fields: &[FieldSpec],
    headers: &[String],
    normalized: &[String],
    ignored: &[bool],
    used: &mut [bool],
    bindings: &mut [Binding],
    file: &str,
) -> Vec<String> {
    let mut errors = Vec::new();
    for (fi, f) in fields.iter().enumerate() {
        if bindings[fi].column.is_some() {
            continue;
        }
        let mut names: Vec<String> = vec![text::normalize(f.column)];
        names.extend(f.aliases.iter().map(|a| text::normalize(a)));
        let matches: Vec<usize> = (0..headers.len())
            .filter(|&i| !ignored[i] && !used[i] && names.contains(&normalized[i]))
            .collect();
        match matches.as_slice() {
            [] => {}
            [col] => {
                bindings[fi].column = Some(*col);
                bindings[fi].how =
                    Some(if normalized[*col] == names[0] { How::Name } else { How::Alias });
                bindings[fi].label = headers[*col].clone();
                used[*col] = true;
            }
            many => errors.push(format!(
                "{file}: columns {} all mean {}; keep one, or choose one in a profile's [columns]",
                many.iter().map(|&i| format!("{:?}", headers[i])).collect::<Vec<_>>().join(", "),
                f.column
            )),
        }
    }
    errors
}

/// For `hrport profile init --from`: which header each template column
/// would be matched to, and why, without a profile; plus what matching
/// could not decide. Nothing is refused here.
pub fn suggest(template: &Template, headers: &[String]) -> (Vec<(usize, usize, How)>, Vec<String>) {
    let fields = template.fields;
    let mut bindings: Vec<Binding> = fields.iter().map(|_| Binding::default()).collect();
    let normalized: Vec<String> = headers.iter().map(|h| text::normalize(h)).collect();
    let ignored: Vec<bool> = headers.iter().map(|h| is_hrport_column(h)).collect();
    let mut used = vec![false; headers.len()];
    let mut notes =
        match_names(fields, headers, &normalized, &ignored, &mut used, &mut bindings, "the file");
    notes.extend(match_common_names(
        fields,
        headers,
        &normalized,
        &ignored,
        &mut used,
        &mut bindings,
    ));
    let found = bindings
        .into_iter()
        .enumerate()
        .filter_map(|(fi, b)| Some((fi, b.column?, b.how?)))
        .collect();
    (found, notes)
}

/// Binds the headers no name or alias matched through the shared
/// dictionary, when a header means exactly one unbound template column and
/// no other header means it too. Returns what it could not decide.
fn match_common_names(
    fields: &[FieldSpec],
    headers: &[String],
    normalized: &[String],
    ignored: &[bool],
    used: &mut [bool],
    bindings: &mut [Binding],
) -> Vec<String> {
    let per_field: Vec<Vec<usize>> = fields
        .iter()
        .zip(bindings.iter())
        .map(|(f, b)| if b.column.is_some() { Vec::new() } else { dictionary::concepts_of(f) })
        .collect();
    let mut notes = Vec::new();
    let mut claims: Vec<Vec<(usize, usize)>> = vec![Vec::new(); fields.len()];
    for i in 0..headers.len() {
        if ignored[i] || used[i] {
            continue;
        }
        let meant = dictionary::fields_meant(&per_field, &normalized[i]);
        match meant.as_slice() {
            [] => {}
            [(fi, c)] => claims[*fi].push((i, *c)),
            many => notes.push(format!(
                "{:?} could mean {}, so it is not matched; choose one in a profile's [columns].",
                headers[i],
                or_list(&many.iter().map(|(f, _)| fields[*f].column).collect::<Vec<_>>())
            )),
        }
    }
    for (fi, claim) in claims.iter().enumerate() {
        match claim.as_slice() {
            [] => {}
            [(i, c)] => {
                bindings[fi].column = Some(*i);
                bindings[fi].how = Some(How::Common(dictionary::CONCEPTS[*c].what));
                bindings[fi].label = headers[*i].clone();
                used[*i] = true;
            }
            many => notes.push(format!(
                "{} may each mean {}, so none is matched; keep one, or choose one in a profile's [columns].",
                text::and_list(&many.iter().map(|(i, _)| format!("{:?}", headers[*i])).collect::<Vec<_>>()),
                fields[fi].column
            )),
        }
    }
    notes
}

/// "A, B or C".
fn or_list(items: &[&str]) -> String {
    match items {
        [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => items.join(""),
    }
}

/// The error values Excel shows in a cell whose formula failed.
const EXCEL_ERRORS: [&str; 15] = [
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#DATA!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
];

/// The Excel error value a cell holds, if it holds one.
fn excel_error(s: &str) -> Option<&'static str> {
    if !s.starts_with('#') {
        return None;
    }
    EXCEL_ERRORS.iter().copied().find(|e| e.eq_ignore_ascii_case(s))
}

/// Puts a value in an `Empty` slot. Nothing is dropped: the generic drop
/// of an `Empty`, called for every cell, showed in profiles. Each path of
/// `cell` writes its slot once; the tests (debug builds) check that a slot
/// is never written twice, which would leak the first value.
#[inline]
fn set<'r>(slot: &mut Value<'r>, v: Value<'r>) {
    debug_assert!(slot.is_empty());
    std::mem::forget(std::mem::replace(slot, v));
}

/// The fields every row is asked about, listed once per file: those that
/// get a value from anywhere, the required ones, and those with a profile
/// constant and a column of the file.
fn field_lists(fields: &[FieldSpec], bindings: &[Binding]) -> [Vec<usize>; 3] {
    let which = |keep: &dyn Fn(&FieldSpec, &Binding) -> bool| -> Vec<usize> {
        (0..fields.len()).filter(|&f| keep(&fields[f], &bindings[f])).collect()
    };
    [
        which(&|_, b| b.column.is_some() || b.constant.is_some() || b.default.is_some()),
        which(&|f, _| f.required),
        which(&|_, b| b.constant.is_some() && b.column.is_some()),
    ]
}

/// Whether a field is one of the template's keys (`Template::unique`).
fn is_unique(template: &Template, f: &FieldSpec) -> bool {
    template.unique.iter().any(|u| text::normalize(u) == text::normalize(f.column))
}

/// Every entry a list cell names, once each, or every name not found.
fn resolve_all(table: &RefTable, s: &str) -> Result<Vec<usize>, String> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for item in values::split_list(s) {
        match table.resolve(item) {
            Ok(i) if !found.contains(&i) => found.push(i),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(found) } else { Err(errors.join("; ")) }
}

/// The allowed value a cell means: the same ignoring case, or else the only
/// one it is the start of ("F" for Female, as some vendors accept).
fn choose<'a>(allowed: &[&'a str], s: &str) -> Option<&'a str> {
    if let Some(a) = allowed.iter().find(|a| a.eq_ignore_ascii_case(s)) {
        return Some(a);
    }
    let lower = s.to_lowercase();
    let mut starts = allowed.iter().filter(|a| a.to_lowercase().starts_with(&lower));
    match (starts.next(), starts.next()) {
        (Some(a), None) => Some(a),
        _ => None,
    }
}

/// Refuses a strftime format that cannot describe a date.
fn check_date_format(f: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item> = StrftimeItems::new(f).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!("date format {f:?} is not a valid strftime format"));
    }
    let has = |specs: &[&str]| specs.iter().any(|s| f.contains(s));
    if !(has(&["%Y", "%y", "%C", "%G", "%F", "%D", "%x"])
        && (has(&["%F", "%D", "%x"])
            || (has(&["%m", "%b", "%B", "%h"]) && has(&["%d", "%e"]))
            || has(&["%j"])))
    {
        return Err(format!(
            "date format {f:?} needs a year, a month and a day (for example %d/%m/%Y)"
        ));
    }
    Ok(())
}

/// Tells a template's header row from a title row, and a sheet with its
/// required columns from one without (`input::HeaderJudge`): a cell names
/// a template column by its name, an alias or a common HR name.
pub struct TemplateJudge {
    template: &'static Template,
    /// Per field: every normalized name it is matched by.
    names: Vec<Vec<String>>,
    /// Per field: a profile constant or default gives it a value anyway.
    given: Vec<bool>,
}

impl TemplateJudge {
    pub fn new(template: &'static Template, profile: &Profile) -> TemplateJudge {
        let names = template
            .fields
            .iter()
            .map(|f| {
                let mut n: Vec<String> = std::iter::once(f.column)
                    .chain(f.aliases.iter().copied())
                    .map(text::normalize)
                    .collect();
                for c in dictionary::concepts_of(f) {
                    n.extend(dictionary::CONCEPTS[c].names.iter().map(|x| text::normalize(x)));
                }
                n.extend(
                    profile
                        .columns
                        .iter()
                        .filter(|(k, _)| text::normalize(k) == text::normalize(f.column))
                        .map(|(_, theirs)| text::normalize(theirs)),
                );
                n
            })
            .collect();
        let given = template
            .fields
            .iter()
            .map(|f| {
                let is = |k: &String| {
                    find_field(template.fields, k)
                        .is_some_and(|i| template.fields[i].column == f.column)
                };
                profile.constants.keys().any(is) || profile.defaults.keys().any(is)
            })
            .collect();
        TemplateJudge { template, names, given }
    }

    fn named(&self, cells: &[String]) -> Vec<bool> {
        let cells: Vec<String> = cells.iter().map(|c| text::normalize(c)).collect();
        self.names.iter().map(|n| cells.iter().any(|c| !c.is_empty() && n.contains(c))).collect()
    }

    /// For `lacks`: named in the cells or given by the profile.
    fn present(&self, cells: &[String]) -> Vec<bool> {
        self.named(cells).iter().zip(&self.given).map(|(a, b)| *a || *b).collect()
    }
}

impl crate::input::HeaderJudge for TemplateJudge {
    fn score(&self, cells: &[String]) -> usize {
        self.named(cells).iter().filter(|&&b| b).count()
    }

    fn lacks(&self, cells: &[String]) -> Vec<String> {
        // As in `Mapping::resolve`: a file with an ID or Status column may
        // only change or end records, and needs no more.
        let changes_only = cells.iter().any(|c| {
            let n = text::normalize(c);
            n == text::normalize(ID_COLUMN) || n == text::normalize(STATUS_COLUMN)
        });
        if changes_only {
            return Vec::new();
        }
        let named = self.present(cells);
        let fields = self.template.fields;
        let mut lacks: Vec<String> = fields
            .iter()
            .zip(&named)
            .filter(|(f, n)| f.required && !**n)
            .map(|(f, _)| f.column.to_string())
            .collect();
        for group in self.template.one_of {
            if !group.iter().any(|c| find_field(fields, c).is_some_and(|i| named[i])) {
                lacks.push(format!("one of {}", or_list(group)));
            }
        }
        lacks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> Record {
        Record { row: 2, fields: crate::input::Fields::from(cells.to_vec()), ..Record::default() }
    }

    /// TrackTik's template bound to a file with a column of every kind, and
    /// a region table of one entry.
    fn tracktik() -> (Mapping, RefTables) {
        let t = crate::targets::find("tracktik").unwrap().info();
        let headers: Vec<String> = [
            "Employee ID",
            "First Name",
            "Middle Name",
            "Last Name",
            "Role",
            "Email",
            "Birthday",
            "Region",
            "Tags",
            "Employment Date",
            "Hourly Rate",
            "Overtime Exempt",
            "Temporary Password",
            "Status",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let m =
            Mapping::resolve(&t.template, "f.csv", &headers, &Default::default(), vec![]).unwrap();
        let regions = RefEntry { id: "7".into(), name: "North".into() };
        let mut refs = RefTables::default();
        refs.0.insert("region", RefTable::new("region", vec![regions]));
        (m, refs)
    }

    fn field(m: &Mapping, name: &str) -> usize {
        m.fields.iter().position(|f| f.column == name).unwrap()
    }

    /// Each kind of cell TrackTik has, through `map_values`: the value each
    /// good cell becomes. (Lists of references, files and length limits are
    /// other targets' kinds: see their integration tests.)
    #[test]
    fn each_kind_of_tracktik_cell_becomes_its_value() {
        let (m, refs) = tracktik();
        let field = |name| field(&m, name);

        let good = record(&[
            "E1",
            " Ana ",
            "B.",
            "Silva",
            "Guard",
            "ana@example.com",
            "1990-05-01",
            "north",
            "a; b",
            "2026-12-01",
            "18.50",
            "yes",
            "s3cret",
            "active",
        ]);
        let (mut values, mut problems) = (Vec::new(), Vec::new());
        m.map_values(&good, &refs, &mut values, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(values.len(), m.fields.len());
        let date = |y, mo, d| Value::Date(NaiveDate::from_ymd_opt(y, mo, d).unwrap());
        assert_eq!(values[field("Employee ID")], Value::Text("E1".into()));
        assert_eq!(values[field("First Name")], Value::Text("Ana".into()));
        // No role table (as offline): the name is kept for later.
        assert_eq!(values[field("Role")], Value::Text("Guard".into()));
        assert_eq!(values[field("Email")], Value::Text("ana@example.com".into()));
        assert_eq!(values[field("Birthday")], date(1990, 5, 1));
        assert_eq!(values[field("Region")], Value::Ref(0));
        assert_eq!(values[field("Tags")], Value::List(vec!["a".into(), "b".into()]));
        assert_eq!(values[field("Employment Date")], date(2026, 12, 1));
        assert_eq!(values[field("Hourly Rate")], Value::Number(18.5));
        assert_eq!(values[field("Overtime Exempt")], Value::Bool(true));
        assert!(matches!(values[field("Temporary Password")], Value::Secret(_)));
        assert_eq!(values[field("Status")], Value::Text("Active".into()));
        // A template column the file lacks.
        assert!(values[field("Username")].is_empty());
    }

    /// A bad cell of each kind TrackTik has: an `Empty` value and a problem
    /// naming its column.
    #[test]
    fn each_kind_of_bad_tracktik_cell_is_a_problem_naming_its_column() {
        let (m, refs) = tracktik();
        let field = |name| field(&m, name);

        let bad = record(&[
            "E\u{200B}2",
            "#clear",
            "#CLEAR",
            "Silva",
            "Guard",
            "ana@",
            "2999-01-01",
            "South",
            "#N/A",
            "2026-02-30",
            "-1",
            "maybe",
            "",
            "Gone",
        ]);
        let (mut values, mut problems) = (Vec::new(), Vec::new());
        m.map_values(&bad, &refs, &mut values, &mut problems);
        let said: Vec<(String, String)> =
            problems.iter().map(|p| (p.column.clone(), p.message.clone())).collect();
        let expect = [
            ("Employee ID", "\"E\\u{200b}2\" holds an invisible character (U+200B)"),
            ("First Name", "cannot be cleared: it is required"),
            ("Email", "\"ana@\" is not a valid e-mail address"),
            ("Birthday", "2999-01-01 is in the future"),
            ("Region", "no region named \"South\""),
            ("Tags", "is the Excel error #N/A"),
            ("Employment Date", "\"2026-02-30\" is not a real date"),
            ("Hourly Rate", "-1 is below the minimum of 0"),
            ("Overtime Exempt", "\"maybe\" is not yes/no"),
            ("Status", "\"Gone\" is not one of Active, Terminated, Inactive"),
        ];
        assert_eq!(said.len(), expect.len(), "{said:?}");
        for ((column, message), (want_column, want)) in said.iter().zip(expect) {
            assert_eq!(column, want_column);
            assert!(message.starts_with(want), "{column}: {message}");
        }
        for (name, _) in expect {
            assert!(values[field(name)].is_empty(), "{name} kept a value");
        }
        // `#clear` empties a field that a record may be without; an empty
        // cell leaves it as it is.
        assert_eq!(values[field("Middle Name")], Value::Clear);
        assert!(values[field("Temporary Password")].is_empty());
    }
}
