//! What a row would change in the record it matches, compared in template
//! space: the row as the import maps it against the record as `export`
//! writes it, with the same normalisation on both sides (trimmed; names of
//! references, choices, e-mails and yes/no ignoring case; dates as dates;
//! numbers as numbers; people by whom they name).
//!
//! Pure: no I/O, no target calls beyond the session's look-up tables. A
//! field changes only where the row's cell is not empty and differs: an
//! empty cell leaves the field as it is.

use chrono::NaiveDate;

use crate::mapping::field::{FieldSpec, Kind};
use crate::mapping::{RefTables, Value};

/// One field a row would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: usize,
    /// The record's cell, as export writes it.
    pub old: String,
    /// The row's value, written the same way.
    pub new: String,
}

/// The fields whose row value differs from the record's cell. `person`
/// turns a key of another person into the target's id, so a manager given
/// by e-mail and exported by username is the same manager.
pub fn changes(
    fields: &[FieldSpec],
    refs: &RefTables,
    values: &[Value],
    cell: &dyn Fn(usize) -> String,
    person: &dyn Fn(&str) -> Option<String>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (i, (f, v)) in fields.iter().zip(values).enumerate() {
        let Some(new) = render(f, v, refs) else { continue };
        let old = cell(i);
        let same = match f.kind {
            Kind::Person => {
                let (a, b) = (person(&old), person(&new));
                a.is_some() && a == b || old.eq_ignore_ascii_case(&new)
            }
            _ => same(f.kind, &old, &new),
        };
        if !same {
            out.push(Change { field: i, old, new });
        }
    }
    out
}

/// A row's value as export would write it; `None` for what is never
/// compared: an empty cell, a password, a file's bytes.
pub fn render(f: &FieldSpec, v: &Value, refs: &RefTables) -> Option<String> {
    Some(match v {
        Value::Empty | Value::Secret(_) | Value::File(_) => return None,
        Value::Text(s) => s.trim().to_string(),
        Value::Clear => String::new(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Number(n) => crate::targets::number(*n).to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::List(items) => items.iter().map(|s| s.trim()).collect::<Vec<_>>().join("; "),
        Value::Ref(i) => match f.kind {
            Kind::Reference(what) => refs.get(what)?.entries.get(*i)?.name.clone(),
            _ => return None,
        },
        Value::Refs(ids) => match f.kind {
            Kind::References(what) => {
                let t = refs.get(what)?;
                ids.iter()
                    .filter_map(|&i| Some(t.entries.get(i)?.name.clone()))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            _ => return None,
        },
    })
}

/// Whether an exported cell and a rendered row value mean the same.
pub fn same(kind: Kind, old: &str, new: &str) -> bool {
    let (old, new) = (old.trim(), new.trim());
    if old == new {
        return true;
    }
    match kind {
        Kind::Date | Kind::PastDate => date(old).is_some() && date(old) == date(new),
        Kind::Number { .. } => {
            matches!((old.parse::<f64>(), new.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
        }
        Kind::Bool => yes(old).is_some() && yes(old) == yes(new),
        Kind::List | Kind::References(_) => set(old) == set(new),
        Kind::Text => false,
        _ => old.eq_ignore_ascii_case(new),
    }
}

/// A date cell, with or without a time of day (an API's timestamp).
fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

fn yes(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A list cell as a set: order and case do not make a change.
fn set(s: &str) -> std::collections::BTreeSet<String> {
    s.split([';', ',']).map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect()
}

/// `Job Title: "Guard" → "Senior Guard"; Phone: "" → "+1 555 0100"`, with
/// a reason after the changes that are not made.
pub fn describe(label: &dyn Fn(usize) -> String, changes: &[(Change, Option<&str>)]) -> String {
    changes
        .iter()
        .map(|(c, not)| {
            let base = format!("{}: {:?} → {:?}", label(c.field), c.old, c.new);
            match not {
                Some(why) => format!("{base} (not changed: {why})"),
                None => base,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{RefEntry, RefTable};
    use std::borrow::Cow;

    static FIELDS: &[FieldSpec] = &[
        FieldSpec::new("Job Title", Kind::Text, "jobTitle"),
        FieldSpec::new("Hire Date", Kind::Date, "hired"),
        FieldSpec::new("Hourly Rate", Kind::Number { min: None }, "rate"),
        FieldSpec::new("Overtime Exempt", Kind::Bool, "ot"),
        FieldSpec::new("Region", Kind::Reference("region"), "region"),
        FieldSpec::new("Tags", Kind::List, "tags"),
        FieldSpec::new("Email", Kind::Email, "email"),
        FieldSpec::new("Manager", Kind::Person, "manager"),
    ];

    fn refs() -> RefTables {
        let mut r = RefTables::default();
        let entries = vec![
            RefEntry { id: "1".into(), name: "EMEA".into() },
            RefEntry { id: "2".into(), name: "APAC".into() },
        ];
        r.0.insert("region", RefTable::new("region", entries));
        r
    }

    fn diff(cells: &[&str], values: &[Value]) -> Vec<(usize, String, String)> {
        let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        let person = |k: &str| match k.to_lowercase().as_str() {
            "kim" | "kim@example.com" => Some("7".to_string()),
            _ => None,
        };
        changes(FIELDS, &refs(), values, &|i| cells[i].clone(), &person)
            .into_iter()
            .map(|c| (c.field, c.old, c.new))
            .collect()
    }

    #[test]
    fn the_same_values_written_another_way_are_no_change() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
        let cells =
            ["Guard", "2025-03-03T00:00:00Z", "18.5", "no", "emea", "b; a", "A@Example.com", "kim"];
        let values = [
            Value::Text(Cow::Borrowed("Guard")),
            Value::Date(d),
            Value::Number(18.50),
            Value::Bool(false),
            Value::Ref(0),
            Value::List(vec![Cow::Borrowed("a"), Cow::Borrowed("B")]),
            Value::Text(Cow::Borrowed("a@example.com")),
            Value::Text(Cow::Borrowed("kim@example.com")),
        ];
        assert_eq!(diff(&cells, &values), []);
    }

    #[test]
    fn what_differs_is_listed_and_empty_cells_change_nothing() {
        let cells = ["Guard", "2025-03-03", "18", "no", "EMEA", "", "a@example.com", "kim"];
        let values = [
            Value::Text(Cow::Borrowed("Senior Guard")),
            Value::Empty,
            Value::Number(19.0),
            Value::Bool(true),
            Value::Ref(1),
            Value::List(vec![Cow::Borrowed("night")]),
            Value::Empty,
            Value::Text(Cow::Borrowed("lee")),
        ];
        assert_eq!(
            diff(&cells, &values),
            [
                (0, "Guard".into(), "Senior Guard".into()),
                (2, "18".into(), "19".into()),
                (3, "no".into(), "yes".into()),
                (4, "EMEA".into(), "APAC".into()),
                (5, "".into(), "night".into()),
                (7, "kim".into(), "lee".into()),
            ]
        );
        // Text keeps its case: "guard" is a change a person meant.
        assert!(!same(Kind::Text, "Guard", "guard"));
        let label = |f: usize| FIELDS[f].column.to_string();
        let c = |f, o: &str, n: &str| Change { field: f, old: o.into(), new: n.into() };
        assert_eq!(
            describe(
                &label,
                &[
                    (c(0, "Guard", "Senior Guard"), None),
                    (c(5, "", "night"), Some("the API cannot change it"))
                ]
            ),
            "Job Title: \"Guard\" → \"Senior Guard\"; Tags: \"\" → \"night\" (not changed: the API cannot change it)"
        );
    }
}
