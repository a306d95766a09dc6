//! `hrport export`: every person a target holds, in the import's columns.
//!
//! Glue only: connect, let the target page through its records, write them
//! with `output::sheet`. The file imports back unchanged.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{api_abort, check_speed, connect, load_profile};
use crate::cli::{ExportArgs, Speed};
use crate::error::{Error, Result, exit};
use crate::output::sheet::ExportFile;
use crate::targets::{self, ExportError};

pub fn run(args: ExportArgs) -> Result<u8> {
    let speed = args.speed.over(Speed::default());
    check_speed(&speed)?;
    let target = targets::find(&args.target).ok_or_else(|| Error::config("unknown target"))?;
    let info = target.info();
    // Only the profile's [options] are used (a role-name table, say): the
    // export always writes the template's own columns.
    let profile = load_profile(args.profile.as_deref(), info)?;
    let options = targets::options(target, &profile.options, &[])?;
    // Refuse a bad output name before talking to anyone.
    let ext = args.output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if !matches!(ext.as_str(), "csv" | "xlsx") {
        return Err(Error::config(format!(
            "{}: the export file must end in .csv or .xlsx",
            args.output.display()
        )));
    }
    super::refuse_overwrite(&args.output, args.force)?;
    let stop = Arc::new(AtomicBool::new(false));
    let conn = connect(&args.endpoint, &speed, target, &options, stop)?
        .ok_or_else(|| Error::config("say where to export from: --base-url URL, or --sandbox"))?;
    let session = target.connect(&conn.api, &options).map_err(api_abort)?;
    let mut file = ExportFile::create(&args.output, info.template.fields)?;
    let mut n = 0u64;
    let result = session.export(&conn.api, args.include_terminated, &mut |row| {
        n += 1;
        file.write(&row.id, &row.cells)
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
