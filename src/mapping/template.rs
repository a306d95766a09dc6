//! A target's template as the mapping sees it: its columns and the rules
//! between them, and compile-time lookups of a column's index.
//!
//! Targets declare their template here and keep the rest of what they are
//! (credentials, options, sandbox) to themselves, so `mapping` never needs
//! to know a target. Nothing here may name a vendor or read an option.

use super::field::FieldSpec;

/// The columns a target's rows have, and the rules that span columns.
#[derive(Debug)]
pub struct Template {
    /// The target's name, the `--target` value (messages name it).
    pub name: &'static str,
    /// One line saying what the target is, for listings and profiles.
    pub title: &'static str,
    pub fields: &'static [FieldSpec],
    /// Groups of columns of which each row needs at least one.
    pub one_of: &'static [&'static [&'static str]],
    /// Columns whose values must not repeat within a file (ignoring case).
    pub unique: &'static [&'static str],
}

impl Template {
    /// The target's own spelling for messages ("intelliHR", "TrackTik"):
    /// the first word of its title.
    pub fn brand(&self) -> &'static str {
        self.title.split_whitespace().next().unwrap_or(self.name)
    }
}

/// The index of `column` in `fields`, by its exact template name.
///
/// Used in a `const`, it runs at compile time, so a target's column
/// constants cannot drift from its field table: a wrong name fails the build.
///
/// ```
/// use hrport::mapping::field::{FieldSpec, Kind};
/// use hrport::mapping::template::field_index;
/// const FIELDS: &[FieldSpec] = &[
///     FieldSpec::new("Name", Kind::Text, "name"),
///     FieldSpec::new("Email", Kind::Email, "email"),
/// ];
/// const EMAIL: usize = field_index(FIELDS, "Email");
/// assert_eq!(EMAIL, 1);
/// ```
///
/// A name the table does not have is a compile error:
///
/// ```compile_fail,E0080
/// use hrport::mapping::field::{FieldSpec, Kind};
/// use hrport::mapping::template::field_index;
/// const FIELDS: &[FieldSpec] = &[
///     FieldSpec::new("Name", Kind::Text, "name"),
///     FieldSpec::new("Email", Kind::Email, "email"),
/// ];
/// const EMAIL: usize = field_index(FIELDS, "E-mail");
/// ```
pub const fn field_index(fields: &[FieldSpec], column: &str) -> usize {
    let mut i = 0;
    while i < fields.len() {
        if same_bytes(fields[i].column, column) {
            return i;
        }
        i += 1;
    }
    panic!("field_index: the template has no column of that name")
}

/// `a == b` for strings, which `const fn` cannot call yet.
const fn same_bytes(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::field::Kind;

    const FIELDS: &[FieldSpec] = &[
        FieldSpec::new("Name", Kind::Text, "name"),
        FieldSpec::new("Email", Kind::Email, "email"),
        FieldSpec::new("Emai", Kind::Text, "other"),
    ];

    #[test]
    fn finds_each_column_by_its_exact_name() {
        const EMAIL: usize = field_index(FIELDS, "Email");
        assert_eq!(EMAIL, 1);
        assert_eq!(field_index(FIELDS, "Name"), 0);
        // A prefix of another name is a different name.
        assert_eq!(field_index(FIELDS, "Emai"), 2);
    }

    #[test]
    #[should_panic(expected = "no column of that name")]
    fn an_unknown_name_panics_at_run_time_too() {
        field_index(FIELDS, "email");
    }
}
