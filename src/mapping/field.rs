//! The description of one template column: its name, aliases, value kind and
//! where it goes in the vendor's payload.
//!
//! Each target declares its template as a `&'static [FieldSpec]`; that one
//! table drives header matching, validation, payload building, export
//! columns, `hrport targets` and `hrport profile init`, so they cannot
//! disagree.

/// What a cell must hold, and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text, trimmed.
    Text,
    /// An e-mail address, checked for form.
    Email,
    /// A calendar date: ISO, Excel date cell or serial, or `--date-format`.
    Date,
    /// A date that cannot be in the future (a birthday).
    PastDate,
    /// A decimal number, not below `min` when given.
    Number { min: Option<f64> },
    /// yes/no/true/false/y/n/1/0.
    Bool,
    /// Values split on `;` or `,`.
    List,
    /// A secret (a temporary password): sent, never written to any output.
    Secret,
    /// A name or id of a record the target holds (a region, a role), looked
    /// up once per run in the reference table with this name.
    Reference(&'static str),
    /// Several names or ids from one reference table, separated by ; or ,.
    References(&'static str),
    /// One of a fixed set of values (case-insensitive; the start of exactly
    /// one of them is enough).
    Choice(&'static [&'static str]),
    /// Another person (a manager): a key of a row of the same file or of a
    /// record the target holds. Rows are sent after the rows they refer to.
    Person,
    /// A file the cell names (a photo), beside the spreadsheet unless the
    /// path is absolute; the mapping reads it (see `files`). The text says
    /// what it should be, with its article: "an image file".
    File(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The template header, as `hrport targets` prints it.
    pub column: &'static str,
    /// Other headers that mean the same column.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub required: bool,
    /// Longest accepted value in characters (0: no limit). Values are never
    /// silently truncated.
    pub max_len: usize,
    /// Dotted path in the create payload ("address.city"), or "" when the
    /// value drives a follow-up step instead.
    pub payload: &'static str,
    /// One line for the docs and `hrport targets`.
    pub help: &'static str,
}

impl FieldSpec {
    pub const fn new(column: &'static str, kind: Kind, payload: &'static str) -> FieldSpec {
        FieldSpec { column, aliases: &[], kind, required: false, max_len: 0, payload, help: "" }
    }
    pub const fn required(mut self) -> FieldSpec {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> FieldSpec {
        self.aliases = aliases;
        self
    }
    pub const fn max_len(mut self, n: usize) -> FieldSpec {
        self.max_len = n;
        self
    }
    pub const fn help(mut self, help: &'static str) -> FieldSpec {
        self.help = help;
        self
    }

    /// What the column accepts, in words, for docs and `hrport targets`.
    pub fn accepts(&self) -> String {
        let base = match self.kind {
            Kind::Text => "text".to_string(),
            Kind::Email => "e-mail address".to_string(),
            Kind::Date => "date".to_string(),
            Kind::PastDate => "date, not in the future".to_string(),
            Kind::Number { min: Some(m) } => format!("number ≥ {m}"),
            Kind::Number { min: None } => "number".to_string(),
            Kind::Bool => "yes/no".to_string(),
            Kind::List => "list separated by ; or ,".to_string(),
            Kind::Secret => "text (never written to outputs)".to_string(),
            Kind::Reference(what) => format!("{what} name or id"),
            Kind::References(what) => format!("{what} names or ids, separated by ; or ,"),
            Kind::Choice(values) => format!("one of {}", values.join(", ")),
            Kind::Person => "a person: their key, in this file or the target".to_string(),
            Kind::File(what) => format!("path of {what}, relative to the spreadsheet's folder"),
        };
        if self.max_len > 0 { format!("{base}, ≤ {} characters", self.max_len) } else { base }
    }
}
