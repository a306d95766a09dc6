//! hrport: move people between HR spreadsheets and workforce systems.
//!
//! Modules, outermost first:
//! - `cli`: flags and help (clap); `cmd`: one file per subcommand, glue only.
//! - `input`: CSV/XLSX/XLS/ODS to numbered rows of text.
//! - `mapping`: headers and profiles bound to a target's template; typed,
//!   checked values. Pure but for reading the files cells name (photos).
//! - `engine`: validate everything, then send in parallel, results in order.
//! - `targets`: one module per vendor, translating rows and answers only.
//! - `transport`: the only code that sends HTTP (rate limit, retry, auth).
//! - `output`: results/errors/export files for people.
//!
//! The local imitation of every vendor's API is the `hrport-sandbox` crate
//! (`sandbox/`); `cmd` starts it for `hrport sandbox` and `--sandbox`.

pub mod cli;
pub mod cmd;
pub mod engine;
pub mod error;
pub mod input;
pub mod mapping;
pub mod output;
pub mod secret;
pub mod targets;
pub mod text;
pub mod transport;

use cli::{Cli, Command};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Import(a) => cmd::import::run(*a),
        Command::Export(a) => cmd::export::run(a),
        Command::Template(a) => cmd::template::run(a),
        Command::Sandbox(a) => cmd::sandbox::run(a),
        Command::Profile(a) => cmd::profile::run(a),
        Command::Targets(a) => cmd::targets::run(a),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Man(a) => cmd::man::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Messages quote the input file's text; see `text::printable`.
            eprintln!("hrport: error: {}", text::printable(&e.to_string()));
            if let Some(h) = e.hint() {
                eprintln!("hint: {}", text::printable(h));
            }
            e.exit_code()
        }
    }
}
