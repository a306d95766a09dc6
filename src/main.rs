use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(hrport::run(hrport::cli::parse_from(std::env::args())))
}
