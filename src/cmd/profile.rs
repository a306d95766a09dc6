//! `hrport profile init`: write a commented starter mapping profile.
//!
//! The starter lists a target's template columns and its options, so it
//! lives here with the command rather than in `mapping` (which must not know
//! targets or their options). It writes only the one file it is asked for.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{ProfileArgs, ProfileCommand};
use crate::error::{Error, Result, exit};
use crate::input::{Judge, ReadOptions, Source};
use crate::mapping::field::FieldSpec;
use crate::mapping::profile::Profile;
use crate::mapping::{How, TemplateJudge, suggest};
use crate::targets::{self, TargetInfo};

pub fn run(args: ProfileArgs) -> Result<u8> {
    match args.command {
        ProfileCommand::Init { target, output, from, sheet } => {
            let t = targets::find(&target).ok_or_else(|| Error::config("unknown target"))?;
            let matched = match &from {
                Some(file) => Some(match_file(t.info(), file, sheet)?),
                None => None,
            };
            let text = starter(t.info(), matched.as_ref());
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

/// A file's headers matched to a template (`mapping::suggest`).
pub struct FromFile {
    pub name: String,
    pub headers: Vec<String>,
    pub found: Vec<(usize, usize, How)>,
    pub notes: Vec<String>,
}

/// Reads `file`'s header row as `import` would and matches it.
fn match_file(info: &'static TargetInfo, file: &Path, sheet: Option<String>) -> Result<FromFile> {
    let profile = Profile::default();
    let read = ReadOptions {
        sheet,
        judge: Some(Judge(Arc::new(TemplateJudge::new(&info.template, &profile)))),
        ..ReadOptions::default()
    };
    let source = Source::open(file, &read)?;
    for w in source.warnings() {
        super::warn(w);
    }
    let headers = source.headers().to_vec();
    let (found, notes) = suggest(&info.template, &headers);
    Ok(FromFile { name: crate::input::display(file), headers, found, notes })
}

/// A TOML string holding `s` exactly (quotes and control characters escaped).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Why a header was matched, for the comment beside the match.
fn why(how: &How, info: &TargetInfo) -> String {
    match how {
        How::Name => "the template column's own name".to_string(),
        How::Alias => format!("an alias the {} template gives it", info.template.name),
        How::Common(what) => format!("common HR name for {what}"),
        How::Profile => "this profile".to_string(),
    }
}

/// The [columns] lines of a profile made from a file: each match, why, and
/// the template columns and file columns left unmatched.
fn matched_columns(info: &TargetInfo, from: &FromFile) -> String {
    let t = &info.template;
    let mut s = format!(
        "# Which column of YOUR file feeds each template column. Matched from the\n\
         # headers of {}; check each line.\n[columns]\n",
        from.name
    );
    for (fi, col, how) in &from.found {
        let (f, h) = (&t.fields[*fi], &from.headers[*col]);
        s.push_str(&format!(
            "{} = {}   # {} → {}: {}\n",
            toml_string(f.column),
            toml_string(h),
            crate::text::printable(&h.replace(['\n', '\r'], " ")),
            f.column,
            why(how, info)
        ));
    }
    let bound: Vec<usize> = from.found.iter().map(|(fi, _, _)| *fi).collect();
    let open: Vec<&FieldSpec> =
        t.fields.iter().enumerate().filter(|(i, _)| !bound.contains(i)).map(|(_, f)| f).collect();
    if !open.is_empty() {
        s.push_str("# Template columns no header matched:\n");
        for f in open {
            s.push_str(&format!("# \"{}\" = \"\"{}\n", f.column, field_note(f)));
        }
    }
    let used: Vec<usize> = from.found.iter().map(|(_, c, _)| *c).collect();
    let unmatched: Vec<String> = (0..from.headers.len())
        .filter(|c| !used.contains(c) && !crate::mapping::is_hrport_column(&from.headers[*c]))
        .map(|c| format!("{:?}", from.headers[c]))
        .collect();
    if !unmatched.is_empty() {
        s.push_str(&format!(
            "# Columns of {} that match no template column (kept in results, not sent):\n# {}\n",
            from.name,
            unmatched.join(", ")
        ));
    }
    for n in &from.notes {
        s.push_str(&format!("# Not decided: {n}\n"));
    }
    s
}

/// A commented starter profile for a target, its [columns] matched to
/// `from`'s headers when given.
pub fn starter(info: &TargetInfo, from: Option<&FromFile>) -> String {
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
    match from {
        Some(from) => s.push_str(&matched_columns(info, from)),
        None => {
            s.push_str(
                "# Which column of YOUR file feeds each template column. Columns not listed\n\
                 # here are still matched by name and by the aliases shown.\n[columns]\n",
            );
            for f in t.fields {
                s.push_str(&format!("# \"{}\" = \"\"{}\n", f.column, field_note(f)));
            }
        }
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
