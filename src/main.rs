use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().collect();
    // `hrport import --resume DIR` rebuilds the interrupted run's command.
    let argv = match hrport::cmd::import::resume_argv(&raw) {
        Ok(Some(argv)) => argv,
        Ok(None) => raw,
        Err(e) => {
            eprintln!("hrport: error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    ExitCode::from(hrport::run(hrport::cli::Cli::parse_from(argv)))
}
