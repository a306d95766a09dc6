//! `hrport profile init`: write a commented starter mapping profile.

use crate::cli::{ProfileArgs, ProfileCommand};
use crate::error::{Error, Result, exit};
use crate::mapping::profile::starter;
use crate::targets;

pub fn run(args: ProfileArgs) -> Result<u8> {
    match args.command {
        ProfileCommand::Init { target, output } => {
            let t = targets::find(&target).ok_or_else(|| Error::config("unknown target"))?;
            let text = starter(t.info());
            match output {
                None => print!("{text}"),
                Some(path) => {
                    if path.exists() {
                        return Err(Error::config(format!(
                            "{} exists already; not overwriting it",
                            path.display()
                        )));
                    }
                    std::fs::write(&path, text).map_err(|e| {
                        Error::config(format!("{}: cannot write: {e}", path.display()))
                    })?;
                    eprintln!("hrport: wrote {}", path.display());
                }
            }
            Ok(exit::OK)
        }
    }
}
