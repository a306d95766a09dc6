//! The fatal errors of a run and the exit code each one maps to.
//!
//! A problem with one row is never an `Error`: it is data that ends up in the
//! results and errors files (see `engine`). An `Error` ends the command, and
//! `main` turns it into a message and an exit code by matching on the variant,
//! never by reading message text.

use std::fmt;

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

#[derive(Debug)]
pub enum Error {
    /// Bad flags, profile or environment; nothing was sent.
    Config(String),
    /// The input file cannot be read or does not have the needed shape.
    Input(String),
    /// A file read as UTF-8 (a guess from its start) is not UTF-8 further
    /// on: the import reads it again as Windows-1252. Names file and line.
    Encoding(String),
    /// The run started talking to the target and had to stop.
    Aborted { message: String, hint: Option<String> },
}

impl Error {
    pub fn config(msg: impl Into<String>) -> Error {
        Error::Config(msg.into())
    }
    pub fn input(msg: impl Into<String>) -> Error {
        Error::Input(msg.into())
    }
    pub fn aborted(msg: impl Into<String>, hint: Option<String>) -> Error {
        Error::Aborted { message: msg.into(), hint }
    }
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Input(_) | Error::Encoding(_) => exit::USAGE,
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) | Error::Input(m) => f.write_str(m),
            Error::Encoding(at) => write!(f, "{at}: the text is not valid UTF-8"),
            Error::Aborted { message, .. } => write!(f, "run aborted: {message}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
