//! Which record a row means and what the row does to it: the plan a dry run
//! shows and a real run keeps to.
//!
//! Matching: a non-empty `ID` cell names exactly that record; otherwise the
//! target's own key matching (`Session::existing`) finds it, and this module
//! refuses a match that could be the wrong person: one found only through a
//! secondary key (login, e-mail) whose other keys disagree with the
//! record's. A row matched through its primary key (employee number,
//! external id) or its `ID` may change the record's secondary keys.
//!
//! Then the action: create, update (the fields that differ and the target
//! can change), deactivate or reactivate (the row's lifecycle column, or the
//! common `Status` column), or unchanged. No I/O: the tenant was read before.

use super::Context;
use super::diff::{self, Change};
use crate::cli::Mode;
use crate::input::Record;
use crate::mapping::{Problem, Value};
use crate::output::{Action, Mark};
use crate::targets::Existing;

/// A row that matches a record the target holds, and what it does to it.
#[derive(Debug, Clone)]
pub struct Match {
    /// The row's number in the spreadsheet, for the console.
    pub row: u32,
    pub existing: Existing,
    pub action: Action,
    /// The fields `Session::update` changes (they differ and are updatable).
    pub changed: Vec<usize>,
    /// Those fields as loaded at the start of the run and as the row wants
    /// them: the worker reads the record again before changing it, and a
    /// field someone else changed meanwhile is not overwritten blindly.
    pub loaded: Vec<Change>,
    /// `hrport_changes`: every difference, with a reason for those not made.
    pub changes: String,
    /// The input cells of `changed`, each with the record's value before
    /// (the output workbooks mark them).
    pub changed_cells: Vec<Mark>,
    /// The state the record is to be put in, when it differs from its own.
    pub activate: Option<bool>,
    /// The interrupted run being resumed sent this row to create the
    /// record: what is left (its missing steps, fields a later step would
    /// have set) finishes that create.
    pub finishing: bool,
}

impl Match {
    /// Whether the worker has anything to send for this row.
    pub fn sends(&self) -> bool {
        self.existing.incomplete || !matches!(self.action, Action::Unchanged | Action::None)
    }
}

/// The record `row` means, and the plan for it; `Ok(None)`: create it.
pub fn plan(
    ctx: &Context,
    rec: &Record,
    values: &[Value],
    existing: Option<Existing>,
) -> Result<Option<Match>, Problem> {
    let id_cell = ctx
        .mapping
        .id_column
        .and_then(|c| rec.fields.get(c))
        .map(|s| crate::text::unguard_cell(s.trim()).to_string())
        .filter(|s| !s.is_empty());
    let Some(tenant) = ctx.tenant else {
        // A dry run without a target checks the file alone.
        return Ok(existing.map(|e| unchanged(rec.row, e)));
    };
    let vendor = ctx.info.template.title.split(' ').next().unwrap_or(ctx.info.template.name);
    let Some(existing) = which(ctx, tenant, values, id_cell, existing, vendor)? else {
        return Ok(None);
    };
    let Some(snap) = tenant.get(&existing.id) else {
        // Found by the target's own look-up but not listed (a record the
        // export leaves out): nothing to compare with.
        return Ok(Some(unchanged(rec.row, existing)));
    };
    let is_key = |f: usize| ctx.info.template.unique.contains(&ctx.mapping.fields[f].column);
    if let Some(f) = (0..values.len()).find(|&f| is_key(f) && matches!(values[f], Value::Clear)) {
        let why = "cannot be cleared: it is a key that finds the record";
        return Err(Problem::new(ctx.mapping.label(f), why.to_string()));
    }
    let session = ctx.session;
    let cells = snap.cells();
    let all = diff::changes(
        ctx.mapping.fields,
        session.refs(),
        values,
        &|f| cells.get(f).copied().unwrap_or("").to_string(),
        &|k| session.person(k),
    );
    let wanted = session.wants_active(values).or_else(|| status_cell(ctx, rec));
    let activate = wanted.filter(|&w| w != snap.active);
    let lifecycle =
        ctx.info.lifecycle.and_then(|c| crate::mapping::find_field(ctx.mapping.fields, c));
    // The lifecycle column's difference is the (de)activation itself when
    // the state changes (between two active levels it is a change of its
    // own), and keys are matched ignoring case, so their case is no change.
    let all: Vec<Change> = all
        .into_iter()
        .filter(|c| Some(c.field) != lifecycle || activate.is_none())
        .filter(|c| !(is_key(c.field) && c.old.eq_ignore_ascii_case(&c.new)))
        .collect();
    let updatable = session.updatable();
    let why_not = if updatable.is_empty() {
        "hrport cannot change existing records of this target yet"
    } else {
        "the API cannot change it"
    };
    let create_mode = ctx.mode == Mode::Create;
    let described: Vec<(Change, Option<&str>)> = all
        .iter()
        .map(|c| {
            let not = (create_mode || !updatable.contains(&c.field)).then_some(why_not);
            (c.clone(), if create_mode { None } else { not })
        })
        .collect();
    let changed: Vec<usize> =
        all.iter().map(|c| c.field).filter(|f| !create_mode && updatable.contains(f)).collect();
    let action = match (create_mode, activate) {
        (true, _) => Action::None,
        (false, Some(false)) => Action::Deactivate,
        (false, Some(true)) => Action::Reactivate,
        (false, None) if !changed.is_empty() || existing.incomplete => Action::Update,
        (false, None) => Action::Unchanged,
    };
    let changes = diff::describe(&|f| ctx.mapping.label(f).to_string(), &described);
    let changed_cells = all
        .iter()
        .filter(|c| changed.contains(&c.field))
        .filter_map(|c| Some(Mark { col: ctx.mapping.column_of(c.field)?, note: c.old.clone() }))
        .collect();
    let loaded = all.into_iter().filter(|c| changed.contains(&c.field)).collect();
    Ok(Some(Match {
        row: rec.row,
        existing,
        action,
        changed,
        loaded,
        changes,
        changed_cells,
        activate: if create_mode { None } else { activate },
        finishing: false,
    }))
}

/// The record a row names: by its `ID`, else by the target's keys (checked
/// against the record's other keys); `None`: no record, create one.
fn which(
    ctx: &Context,
    tenant: &super::Tenant,
    values: &[Value],
    id_cell: Option<String>,
    existing: Option<Existing>,
    vendor: &str,
) -> Result<Option<Existing>, Problem> {
    let found = match (id_cell, existing) {
        (Some(id), found) => {
            if tenant.get(&id).is_none() {
                return Err(Problem::new(
                    crate::mapping::ID_COLUMN,
                    format!("no {vendor} record has ID {id:?}"),
                ));
            }
            if let Some(ex) = found.as_ref().filter(|ex| ex.id != id) {
                return Err(Problem::row(format!(
                    "ID {id} is {}, but the row's keys find {vendor} record {} ({}): fix the ID \
                     or the keys",
                    name(ctx, &id),
                    ex.id,
                    name(ctx, &ex.id)
                )));
            }
            let incomplete = found.is_some_and(|ex| ex.incomplete);
            Existing { id, incomplete }
        }
        (None, Some(ex)) => {
            check_keys(ctx, values, &ex.id, vendor)?;
            ex
        }
        (None, None) if ctx.mode == Mode::Update => {
            return Err(Problem::row(format!(
                "no {vendor} record with {} (--mode update changes existing records only)",
                keys_of(ctx, values)
            )));
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(found))
}

fn unchanged(row: u32, existing: Existing) -> Match {
    Match {
        row,
        existing,
        action: Action::Unchanged,
        changed: Vec::new(),
        loaded: Vec::new(),
        changes: String::new(),
        changed_cells: Vec::new(),
        activate: None,
        finishing: false,
    }
}

/// Refuses a match through a secondary key whose other keys disagree with
/// the record's: that record may be someone else (Kate, not Kathy).
fn check_keys(ctx: &Context, values: &[Value], id: &str, vendor: &str) -> Result<(), Problem> {
    let Some(snap) = ctx.tenant.and_then(|t| t.get(id)) else { return Ok(()) };
    let fields = ctx.mapping.fields;
    let mut agree_primary = false;
    let mut disagree = Vec::new();
    for key in ctx.info.template.unique {
        let Some(f) = crate::mapping::find_field(fields, key) else { continue };
        let Some(mine) = values[f].text().map(str::trim).filter(|s| !s.is_empty()) else {
            continue;
        };
        let theirs = snap.cell(f).trim();
        if theirs.is_empty() {
            continue;
        }
        if mine.eq_ignore_ascii_case(theirs) {
            agree_primary |= ctx.info.primary.contains(key);
        } else {
            disagree.push(format!(
                "{} {:?} (the record has {:?})",
                ctx.mapping.label(f),
                mine,
                theirs
            ));
        }
    }
    if disagree.is_empty() || agree_primary {
        return Ok(());
    }
    Err(Problem::row(format!(
        "matches {vendor} record {id} ({}) by another key, but {} disagree{}: if this is that \
         person, give its ID; if not, fix the row",
        name(ctx, id),
        crate::text::and_list(&disagree),
        if disagree.len() == 1 { "s" } else { "" }
    )))
}

/// A record's name for a message: its name columns as exported.
fn name(ctx: &Context, id: &str) -> String {
    let Some(snap) = ctx.tenant.and_then(|t| t.get(id)) else { return String::new() };
    let fields = ctx.mapping.fields;
    let parts: Vec<&str> = ["First Name", "Given Name", "Last Name", "Family Name", "Display Name"]
        .iter()
        .filter_map(|c| fields.iter().position(|f| f.column == *c))
        .map(|f| snap.cell(f).trim())
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() { format!("ID {id}") } else { parts.join(" ") }
}

/// `Employee ID "E104" or Email "a@x"`: the row's keys, for a message.
fn keys_of(ctx: &Context, values: &[Value]) -> String {
    let keys: Vec<String> = ctx
        .info
        .template
        .unique
        .iter()
        .filter_map(|k| {
            let f = crate::mapping::find_field(ctx.mapping.fields, k)?;
            Some(format!("{} {:?}", ctx.mapping.label(f), values[f].text()?))
        })
        .collect();
    if keys.is_empty() { "the row's keys".into() } else { keys.join(" or ") }
}

/// The common `Status` column: Active, or Inactive and the vendors' words
/// for it. Anything else was refused when the row was mapped.
fn status_cell(ctx: &Context, rec: &Record) -> Option<bool> {
    let cell = rec.fields.get(ctx.mapping.status_column?)?;
    status_word(cell)
}

/// What a `Status` cell says; `None` for an empty cell or an unknown word.
pub fn status_word(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "active" | "enabled" => Some(true),
        "inactive" | "terminated" | "retired" | "disabled" => Some(false),
        _ => None,
    }
}
