//! `hrport export`: every person a target holds, in the import's columns.
//!
//! Glue only: connect, let the target page through its records, write them
//! with `output::sheet`. The file imports back unchanged.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{api_abort, check_target_args, connect};
use crate::cli::ExportArgs;
use crate::error::{Error, Result, exit};
use crate::mapping::profile::Profile;
use crate::output::sheet::ExportFile;
use crate::targets::{self, ExportError, Options};

pub fn run(args: ExportArgs) -> Result<u8> {
    check_target_args(&args.target)?;
    let target =
        targets::find(&args.target.target).ok_or_else(|| Error::config("unknown target"))?;
    let info = target.info();
    // Only the profile's [options] are used (a role-name table, say): the
    // export always writes the template's own columns.
    let profile = match &args.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::default(),
    };
    if let Some(t) = &profile.target
        && t != info.template.name
    {
        return Err(Error::config(format!(
            "the profile is for target {t:?}, not {:?}",
            info.template.name
        )));
    }
    let options = Options::resolve(info, &profile.options)?;
    // Refuse a bad output name before talking to anyone.
    let ext = args.output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if !matches!(ext.as_str(), "csv" | "xlsx") {
        return Err(Error::config(format!(
            "{}: the export file must end in .csv or .xlsx",
            args.output.display()
        )));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let conn = connect(&args.target, target, &options, stop)?
        .ok_or_else(|| Error::config("say where to export from: --base-url URL, or --sandbox"))?;
    let session = target.connect(&conn.api, &options).map_err(api_abort)?;
    let mut file = ExportFile::create(&args.output, info.template.fields)?;
    let mut n = 0u64;
    let result = session.export(&conn.api, args.include_terminated, &mut |row| {
        n += 1;
        file.write(&row)
    });
    match result {
        Ok(()) => {}
        Err(ExportError::Api(e)) => return Err(api_abort(e)),
        Err(ExportError::Output(e)) => return Err(e),
    }
    file.finish()?;
    println!("{}: exported {n} people to {}", info.template.name, args.output.display());
    Ok(exit::OK)
}
