//! `hrport man [SUBCOMMAND...]`: a manual page in roff, made by clap_mangen
//! from the same clap definitions that parse the command line. hrport(1)
//! lists the subcommands as hrport-import(1) and so on, and `hrport man
//! import` prints that page. It only prints; installing is the user's.

use std::io::Write;

use crate::cli::ManArgs;
use crate::error::{Error, Result, exit};

pub fn run(args: ManArgs) -> Result<u8> {
    // `help` is clap's, not a page of ours; building names each subcommand
    // `hrport-import`, which is the page's title.
    let mut page = crate::cli::command().disable_help_subcommand(true);
    page.build();
    for name in &args.subcommand {
        let Some(sub) = page.find_subcommand(name).cloned() else {
            let known: Vec<&str> = page.get_subcommands().map(|s| s.get_name()).collect();
            return Err(Error::config(format!(
                "{} has no subcommand {name:?}; it has: {}",
                page.get_display_name().unwrap_or("hrport"),
                known.join(", ")
            )));
        };
        page = sub;
    }
    let mut roff = Vec::new();
    // A subcommand has no version of its own; every page is of this hrport.
    clap_mangen::Man::new(page)
        .source(format!("hrport {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)
        .map_err(|e| Error::config(e.to_string()))?;
    // As for completions: a reader closing the pipe early is not an error.
    let _ = std::io::stdout().lock().write_all(&roff);
    Ok(exit::OK)
}
