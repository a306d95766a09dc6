//! `hrport profile init`: write a commented starter mapping profile.
//!
//! The starter lists a target's template columns and its options, so it
//! lives here with the command rather than in `mapping` (which must not know
//! targets or their options). It writes only the one file it is asked for.

use crate::cli::{ProfileArgs, ProfileCommand};
use crate::error::{Error, Result, exit};
use crate::mapping::field::FieldSpec;
use crate::targets::{self, TargetInfo};

pub fn run(args: ProfileArgs) -> Result<u8> {
    match args.command {
        ProfileCommand::Init { target, output } => {
            let t = targets::find(&target).ok_or_else(|| Error::config("unknown target"))?;
            let text = starter(t.info());
            match output {
                None => print!("{text}"),
                Some(path) => {
                    if path.exists() {
                        return Err(Error::config(format!(
                            "{} exists already; not overwriting it",
                            path.display()
                        )));
                    }
                    std::fs::write(&path, text).map_err(|e| {
                        Error::config(format!("{}: cannot write: {e}", path.display()))
                    })?;
                    eprintln!("hrport: wrote {}", path.display());
                }
            }
            Ok(exit::OK)
        }
    }
}

/// A commented starter profile for a target.
pub fn starter(info: &TargetInfo) -> String {
    let t = &info.template;
    let mut s = String::new();
    s.push_str(&format!(
        "# hrport mapping profile for {} ({}).\n\
         # Use it with: hrport import FILE --target {} --profile THIS.toml\n\
         # Every name on the left is a template column (case, spaces and punctuation\n\
         # do not matter); every line is optional. Remove the leading '#' to use one.\n\n\
         target = \"{}\"\n\n",
        t.name, t.title, t.name, t.name
    ));
    s.push_str(
        "# Which column of YOUR file feeds each template column. Columns not listed\n\
         # here are still matched by name and by the aliases shown.\n[columns]\n",
    );
    for f in t.fields {
        s.push_str(&format!("# \"{}\" = \"\"{}\n", f.column, field_note(f)));
    }
    // Examples with this target's own columns: the first required one for a
    // constant, and the first optional one for a default and a value map.
    let required = t.fields.iter().find(|f| f.required).map_or("Column", |f| f.column);
    let optional = t.fields.iter().find(|f| !f.required).map_or("Column", |f| f.column);
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
    s.push_str(&format!("# Options of the {} target.\n[options]\n", t.name));
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
