//! Mapping profiles: a TOML file that maps a customer's own spreadsheet onto
//! a target's template.
//!
//! This module only reads and checks the file's shape. Binding its names to
//! the real headers and fields happens in `mapping::Mapping::resolve`, and the
//! `[options]` table is checked by the target, which alone knows its options.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The target this profile was written for (checked against --target).
    pub target: Option<String>,
    /// Template column = the header in the customer's file.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Template column = a value used for every row.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Template column = a value used where the cell is empty.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// Template column = { their value = our value } (case-insensitive keys).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub dates: Dates,
    /// Target options; `hrport profile init` lists them.
    #[serde(default)]
    pub options: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// strftime formats, tried in order after ISO dates.
    #[serde(default)]
    pub formats: Vec<String>,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("profile {shown}: cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| Error::config(format!("profile {shown}: {e}")))
    }
}
