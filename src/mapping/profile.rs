//! Mapping profiles: a TOML file that maps a customer's own spreadsheet onto
//! a target's template.
//!
//! This module only reads and checks the file's shape. Binding its names to
//! the real headers and fields happens in `mapping::Mapping::resolve`, and the
//! `[options]` table is checked by the target, which alone knows its options.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::mapping::field::FieldSpec;
use crate::targets::TargetInfo;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The target this profile was written for (checked against --target).
    pub target: Option<String>,
    /// Template column = the header in the customer's file.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Template column = a value used for every row.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Template column = a value used where the cell is empty.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// Template column = { their value = our value } (case-insensitive keys).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub dates: Dates,
    /// Target options; `hrport profile init` lists them.
    #[serde(default)]
    pub options: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// strftime formats, tried in order after ISO dates.
    #[serde(default)]
    pub formats: Vec<String>,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("profile {shown}: cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| Error::config(format!("profile {shown}: {e}")))
    }
}

/// A commented starter profile for a target.
pub fn starter(info: &TargetInfo) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# hrport mapping profile for {} ({}).\n\
         # Use it with: hrport import FILE --target {} --profile THIS.toml\n\
         # Every name on the left is a template column (case, spaces and punctuation\n\
         # do not matter); every line is optional. Remove the leading '#' to use one.\n\n\
         target = \"{}\"\n\n",
        info.name, info.title, info.name, info.name
    ));
    s.push_str(
        "# Which column of YOUR file feeds each template column. Columns not listed\n\
         # here are still matched by name and by the aliases shown.\n[columns]\n",
    );
    for f in info.fields {
        s.push_str(&format!("# \"{}\" = \"\"{}\n", f.column, field_note(f)));
    }
    // Examples with this target's own columns: the first required one for a
    // constant, and the first optional one for a default and a value map.
    let required = info.fields.iter().find(|f| f.required).map_or("Column", |f| f.column);
    let optional = info.fields.iter().find(|f| !f.required).map_or("Column", |f| f.column);
    s.push_str(&format!(
        "\n# A value used for every row, whatever the file says.\n[constants]\n\
         # \"{required}\" = \"the same value for everyone\"\n\n\
         # A value used where the cell is empty.\n[defaults]\n\
         # \"{optional}\" = \"a value for empty cells\"\n\n\
         # Translate your values into the target's (keys ignore case).\n\
         # [values.\"{optional}\"]\n# \"their value\" = \"the target's value\"\n\n\
         # Date formats in your file (strftime), tried after YYYY-MM-DD.\n[dates]\n\
         # formats = [\"%d/%m/%Y\"]\n\n",
    ));
    s.push_str(&format!("# Options of the {} target.\n[options]\n", info.name));
    for o in info.options {
        s.push_str(&format!("# {}\n# {} = {}\n", o.help, o.name, o.default));
    }
    s
}

fn field_note(f: &FieldSpec) -> String {
    let mut parts = Vec::new();
    if f.required {
        parts.push("required".to_string());
    }
    parts.push(f.accepts());
    if !f.aliases.is_empty() {
        parts.push(format!("also matched: {}", f.aliases.join(", ")));
    }
    format!("   # {}", parts.join("; "))
}
