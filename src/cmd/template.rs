//! `hrport template`: an empty .xlsx for a target, with a note on each
//! header and dropdowns from the tenant's lists.
//!
//! Glue only: connect as an import does (or read the profile's tables
//! offline), ask the target's session for each column's values
//! (`targets::choices`), and let `output::template` lay the workbook out.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{api_abort, connect, load_profile, refuse_overwrite};
use crate::cli::{Speed, TemplateArgs};
use crate::error::{Error, Result, exit};
use crate::output::template::{self, TemplateBook};
use crate::targets;

pub fn run(args: TemplateArgs) -> Result<u8> {
    let target = targets::find(&args.target).ok_or_else(|| Error::config("unknown target"))?;
    let info = target.info();
    let profile = load_profile(args.profile.as_deref(), info)?;
    let options = targets::options(target, &profile.options, &[])?;
    let ext = args.output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext != "xlsx" {
        return Err(Error::config(format!(
            "{}: the template is a workbook; give a file name ending in .xlsx",
            args.output.display()
        )));
    }
    refuse_overwrite(&args.output, args.force)?;
    let stop = Arc::new(AtomicBool::new(false));
    let conn = connect(&args.endpoint, &Speed::default(), target, &options, stop)?;
    let session = match &conn {
        Some(c) => target.lists(&c.api, &options).map_err(api_abort)?,
        None => target.offline(&options),
    };
    let choices = targets::choices(session.as_ref(), info.template.fields);
    let (source, flags) = match (&args.endpoint.base_url, args.endpoint.sandbox) {
        (Some(url), _) => (url.clone(), format!("--base-url {url}")),
        (None, true) => ("the built-in sandbox (demo data)".to_string(), "--sandbox".to_string()),
        (None, false) => (
            match &args.profile {
                Some(p) => format!("no tenant: the tables of profile {}", p.display()),
                None => "no tenant (give --base-url for the tenant's lists)".to_string(),
            },
            "--base-url URL".to_string(),
        ),
    };
    let profile_flag =
        args.profile.as_ref().map(|p| format!(" --profile {}", p.display())).unwrap_or_default();
    let file = args.output.file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
    let import = format!("hrport import {file} --target {} {flags}{profile_flag}", args.target);
    let made = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let book = TemplateBook {
        target: info.template.name,
        title: info.template.title,
        fields: info.template.fields,
        choices: &choices,
        source: &source,
        import: &import,
        made: &made,
    };
    template::write(&args.output, &book)?;
    let lists = choices.iter().filter(|c| c.is_some()).count();
    println!(
        "{}: wrote the template {} ({} columns, {lists} with a dropdown)",
        info.template.name,
        args.output.display(),
        info.template.fields.len()
    );
    Ok(exit::OK)
}
