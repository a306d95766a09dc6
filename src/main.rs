use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ExitCode::from(hrport::run(hrport::cli::Cli::parse()))
}
