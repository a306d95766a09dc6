//! `--resume`, beside the journal it reads: the settings a resumed run takes
//! back as data, the fingerprints that prove it is the same run on the same
//! file, and the command that continues a run.
//!
//! Generic over the settings type (serde), so that a setting added to the
//! run needs no code here: it is stored, fingerprinted and read back like
//! the others. It neither parses flags nor sends anything.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a resumed run must share with the run it resumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub input_sha256: String,
    pub settings_sha256: String,
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fingerprints the input file's bytes, and the settings with the text of
/// the profile they name (a profile edited in between changes the run).
pub fn fingerprint(input: &Path, settings: &Value, profile_text: &str) -> Result<Fingerprint> {
    let mut hasher = Sha256::new();
    let read = |e: std::io::Error| Error::input(format!("{}: cannot read: {e}", input.display()));
    let mut f = std::fs::File::open(input).map_err(read)?;
    std::io::copy(&mut f, &mut hasher).map_err(read)?;
    let both = serde_json::json!({ "settings": settings, "profile": profile_text });
    Ok(Fingerprint {
        input_sha256: hex(&hasher.finalize()),
        settings_sha256: hex(&Sha256::digest(both.to_string().as_bytes())),
    })
}

/// The settings as the journal keeps them.
pub fn to_data<T: Serialize>(settings: &T) -> Value {
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

/// The fields of `given` that differ from `T::default()`: the settings a
/// person typed, which a resumed run may not change.
pub fn typed<T: Serialize + Default>(given: &T) -> Vec<String> {
    let (Value::Object(given), Value::Object(unset)) = (to_data(given), to_data(&T::default()))
    else {
        return Vec::new();
    };
    let mut keys: Vec<String> = given.keys().chain(unset.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| given.get(k) != unset.get(k));
    keys
}

/// The settings of the run being resumed, from its journal; `Err` lists the
/// fields typed now that would change them.
pub fn take_back<T: Serialize + DeserializeOwned + Default>(
    stored: &Value,
    given: &T,
) -> std::result::Result<T, Vec<String>> {
    let typed = typed(given);
    if !typed.is_empty() {
        return Err(typed);
    }
    serde_json::from_value(stored.clone()).map_err(|e| vec![e.to_string()])
}

/// The command that resumes the run in `out_dir`, to paste into a shell as
/// is: an absolute path (the person may be elsewhere by then), quoted when
/// it holds anything a shell would split or expand.
pub fn command(out_dir: &Path) -> String {
    let dir = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_path_buf());
    let dir = dir.display().to_string();
    let plain = dir.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    let dir = if plain { dir } else { format!("'{}'", dir.replace('\'', r"'\''")) };
    format!("hrport import --resume {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RunArgs;
    use crate::engine::journal::{Header, Journal, VERSION};

    #[test]
    fn the_resume_command_pastes_as_is() {
        assert_eq!(
            command(Path::new("/data/hires.hrport-1")),
            "hrport import --resume /data/hires.hrport-1"
        );
        assert_eq!(
            command(Path::new("/data/HR exports/it's.hrport-1")),
            r"hrport import --resume '/data/HR exports/it'\''s.hrport-1'"
        );
        let relative = command(Path::new("out"));
        let cwd = std::env::current_dir().unwrap();
        assert!(relative.ends_with(&format!("{}/out", cwd.display())), "{relative}");
    }

    /// The run's settings plus one more flag, as a developer would add it
    /// to `RunArgs`: nothing in this module or the journal knows of it.
    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize, clap::Args)]
    #[serde(default)]
    struct WithNewFlag {
        #[command(flatten)]
        #[serde(flatten)]
        run: RunArgs,
        #[arg(long)]
        new_flag: Option<String>,
    }

    #[test]
    fn a_flag_added_to_the_run_is_kept_by_a_resume_with_no_code_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        let first = WithNewFlag {
            run: RunArgs {
                file: Some(input.clone()),
                target: Some("tracktik".into()),
                date_formats: vec!["%d/%m/%Y".into()],
                switches: vec!["enable_login".into()],
                ..RunArgs::default()
            },
            new_flag: Some("kept".into()),
        };
        let settings = to_data(&first);
        let fp = fingerprint(&input, &settings, "").unwrap();
        let header = Header {
            journal: VERSION,
            run: settings,
            speed: Value::Null,
            input: input.display().to_string(),
            input_sha256: fp.input_sha256.clone(),
            settings_sha256: fp.settings_sha256.clone(),
            started: crate::engine::journal::now(),
        };
        drop(Journal::create(dir.path(), &header).unwrap());

        // `hrport import --resume DIR` types none of them.
        let header = Journal::header(dir.path()).unwrap();
        let back: WithNewFlag = take_back(&header.run, &WithNewFlag::default()).unwrap();
        assert_eq!(back, first);
        assert_eq!(fingerprint(&input, &to_data(&back), "").unwrap(), fp);

        // Typed again on the resume, any of them is refused by name.
        let given = WithNewFlag { new_flag: Some("other".into()), ..WithNewFlag::default() };
        assert_eq!(take_back(&header.run, &given).unwrap_err(), ["new_flag"]);
        let given = WithNewFlag {
            run: RunArgs { sheet: Some("People".into()), ..RunArgs::default() },
            ..WithNewFlag::default()
        };
        assert_eq!(take_back(&header.run, &given).unwrap_err(), ["sheet"]);
        // A changed profile changes the settings' fingerprint.
        assert_ne!(fingerprint(&input, &header.run, "[columns]").unwrap(), fp);
    }
}
