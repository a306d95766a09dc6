//! `hrport completions SHELL`: a completion script for that shell, made by
//! clap_complete from the same clap definitions that parse the command line,
//! so it cannot fall behind a flag. It only prints; installing is the
//! user's (README, "Shell completions and man page").

use std::io::Write;

use crate::cli::CompletionsArgs;
use crate::error::{Result, exit};

pub fn run(args: CompletionsArgs) -> Result<u8> {
    // Into memory first: clap_complete panics when a write fails, and a
    // reader that closes the pipe early (`| head`) is not a failure of ours.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::cli::command(), "hrport", &mut script);
    let _ = std::io::stdout().lock().write_all(&script);
    Ok(exit::OK)
}
