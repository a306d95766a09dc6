//! `hrport targets [NAME]`: the targets, or one target's template columns.

use crate::cli::TargetsArgs;
use crate::error::{Error, Result, exit};
use crate::targets::{self, TARGETS, columns_table};

pub fn run(args: TargetsArgs) -> Result<u8> {
    match args.name {
        None => {
            for t in TARGETS {
                println!("{:<14} {}", t.info().template.name, t.info().template.title);
            }
        }
        Some(name) => {
            let info = targets::find(&name).ok_or_else(|| Error::config("unknown target"))?.info();
            println!("{} — {}\n", info.template.name, info.template.title);
            print!("{}", columns_table(info));
            for g in info.template.one_of {
                println!("\nEach row needs at least one of: {}.", g.join(", "));
            }
            println!("Must not repeat within a file: {}.", info.template.unique.join(", "));
            println!("\nCredentials (environment):");
            for c in info.credentials {
                println!("  {:<34} {}", info.env_var(c.field), c.help);
            }
            if !info.options.is_empty() {
                println!("\nProfile [options]:");
                for o in info.options {
                    println!("  {} = {}\n      {}", o.name, o.default, o.help);
                }
            }
        }
    }
    Ok(exit::OK)
}
