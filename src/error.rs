//! The fatal errors of a run and the exit code each one maps to.
//!
//! A problem with one row is never an `Error`: it is data that ends up in the
//! results and errors files (see `engine`). An `Error` ends the command, and
//! `main` turns it into a message and an exit code by matching on the variant,
//! never by reading message text. The exit code also depends on the phase:
//! an output file that cannot be written before anything was sent means
//! "nothing was sent" (2), but once rows are going out it means the run was
//! cut short and can be resumed (3); `Error::while_sending` makes that turn.

use std::path::{Path, PathBuf};

/// Exit codes, part of the command-line contract (README "Exit codes").
pub mod exit {
    /// Every row succeeded (or, for `--dry-run`, every row is valid).
    pub const OK: u8 = 0;
    /// The run finished, but some rows are invalid or failed.
    pub const ROWS_FAILED: u8 = 1;
    /// Usage, configuration or input-file error: nothing was sent.
    pub const USAGE: u8 = 2;
    /// The run was aborted (authentication failed, target unreachable, ...).
    pub const ABORTED: u8 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, profile or environment; nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// The input file cannot be read or does not have the needed shape; the
    /// message names the file (and the row, where there is one).
    #[error("{0}")]
    Input(String),
    /// A file read as UTF-8 (a guess from its start) is not UTF-8 further
    /// on: the import reads it again as Windows-1252. Names file and line.
    #[error("{0}: the text is not valid UTF-8")]
    Encoding(String),
    /// A file hrport writes (results, errors, journal, summary, credentials,
    /// export) cannot be written.
    #[error("{}: cannot {what}: {source}", path.display())]
    Output {
        path: PathBuf,
        /// "write", "create the journal", ...
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The run started talking to the target and had to stop.
    #[error("run aborted: {message}")]
    Aborted {
        message: String,
        hint: Option<String>,
        /// The error that stopped it, when it was not the target's doing
        /// (an output file that could not be written mid-run, say).
        #[source]
        cause: Option<Box<Error>>,
    },
}

impl Error {
    pub fn config(msg: impl Into<String>) -> Error {
        Error::Usage(msg.into())
    }
    pub fn input(msg: impl Into<String>) -> Error {
        Error::Input(msg.into())
    }
    pub fn output(path: &Path, e: impl Into<std::io::Error>) -> Error {
        Error::Output { path: path.to_path_buf(), what: "write", source: e.into() }
    }
    pub fn output_doing(path: &Path, what: &'static str, e: impl Into<std::io::Error>) -> Error {
        Error::Output { path: path.to_path_buf(), what, source: e.into() }
    }
    pub fn aborted(msg: impl Into<String>, hint: Option<String>) -> Error {
        Error::Aborted { message: msg.into(), hint, cause: None }
    }

    /// The same error met after the first row went out: the target may hold
    /// some rows already, so it is no longer "nothing was sent" (exit 2) but
    /// an aborted run that `resume` continues (exit 3). Errors that are
    /// already aborts keep their own hint.
    pub fn while_sending(self, resume: &str) -> Error {
        match self {
            e @ Error::Aborted { .. } => e,
            e => Error::Aborted {
                message: e.to_string(),
                hint: Some(format!("fix that, then {resume}")),
                cause: Some(Box::new(e)),
            },
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Input(_) | Error::Encoding(_) | Error::Output { .. } => {
                exit::USAGE
            }
            Error::Aborted { .. } => exit::ABORTED,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Aborted { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_error_is_exit_2_before_sending_and_exit_3_with_the_resume_hint_after() {
        let full = std::io::Error::from_raw_os_error(28); // ENOSPC
        let e = Error::output(Path::new("/out/results.csv"), full);
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.to_string().starts_with("/out/results.csv: cannot write: "), "{e}");
        let e = e.while_sending("continue with: hrport import --resume /out");
        assert_eq!(e.exit_code(), exit::ABORTED);
        assert!(e.to_string().starts_with("run aborted: /out/results.csv: cannot write"), "{e}");
        assert_eq!(e.hint(), Some("fix that, then continue with: hrport import --resume /out"));
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
        let abort = Error::aborted("sign-in refused", Some("check the key".into()));
        assert_eq!(abort.while_sending("x").hint(), Some("check the key"));
    }
}
