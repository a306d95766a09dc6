//! `--mode sync`: every active record within `--scope` that no row of the
//! file matched is deactivated, after the rows themselves are done.
//!
//! A safeguard refuses, before anything is sent, to deactivate more than
//! `--max-deactivations` people (default: 10 % of the active records in
//! scope, at most 100), as Okta's import safeguard and Entra Connect's
//! accidental-deletion threshold do. The account hrport signs in as is
//! never deactivated. Each deactivation is a line of `deactivations.csv`
//! (the export's columns, then `hrport_status`, `hrport_id`,
//! `hrport_error`). The list comes from the tenant read before the run, so
//! a resumed run finds the ones already done inactive and leaves them.

use std::path::Path;

use super::tenant::{Snapshot, Tenant};
use super::{Context, Validation, Verdict};
use crate::error::{Error, Result};
use crate::mapping::Value;
use crate::output::{ExcelCsv, Status};
use crate::targets::{Outcome, RowInput};
use crate::transport::Api;

pub const FILE: &str = "deactivations.csv";

/// Which records are in scope: `COLUMN=VALUE` pairs, all of which must hold.
#[derive(Debug, Clone, Default)]
pub struct Scope(pub Vec<(usize, String)>);

impl Scope {
    /// Parses `--scope Region=EMEA` against the template's columns.
    pub fn parse(fields: &[crate::mapping::field::FieldSpec], given: &[String]) -> Result<Scope> {
        let mut out = Vec::new();
        for s in given {
            let Some((col, value)) = s.split_once('=') else {
                return Err(Error::config(format!("--scope {s:?}: write it as COLUMN=VALUE")));
            };
            let f = crate::mapping::find_field(fields, col.trim()).ok_or_else(|| {
                Error::config(format!(
                    "--scope {s:?}: {:?} is not a column of this target",
                    col.trim()
                ))
            })?;
            out.push((f, value.trim().to_string()));
        }
        Ok(Scope(out))
    }

    fn contains(&self, s: &Snapshot) -> bool {
        self.0.iter().all(|(f, v)| s.cell(*f).trim().eq_ignore_ascii_case(v))
    }
}

/// The records to deactivate: active, in scope, matched by no row, and not
/// the account hrport signs in as. Refused (exit 2) past the safeguard.
pub fn plan<'t>(
    ctx: &Context,
    tenant: &'t Tenant,
    validation: &Validation,
    scope: &Scope,
    max: Option<u64>,
    own_login: Option<&str>,
) -> Result<Vec<(&'t str, &'t Snapshot)>> {
    let matched: std::collections::HashSet<&str> = validation
        .verdicts
        .values()
        .filter_map(|v| match v {
            Verdict::Matched(m) => Some(m.existing.id.as_str()),
            _ => None,
        })
        .collect();
    let logins: Vec<usize> = ["Username", "Login", "User Name"]
        .iter()
        .filter_map(|c| ctx.mapping.fields.iter().position(|f| f.column == *c))
        .collect();
    let is_own = |s: &Snapshot| {
        own_login.is_some_and(|me| logins.iter().any(|&f| s.cell(f).eq_ignore_ascii_case(me)))
    };
    let in_scope: Vec<(&str, &Snapshot)> =
        tenant.iter().filter(|(_, s)| s.active && scope.contains(s)).collect();
    let mut gone: Vec<(&str, &Snapshot)> =
        in_scope.iter().copied().filter(|(id, s)| !matched.contains(id) && !is_own(s)).collect();
    // In id order, numbers as numbers (9 before 10).
    gone.sort_by_key(|(id, _)| (id.len(), *id));
    let limit = max.unwrap_or_else(|| default_limit(in_scope.len() as u64));
    if gone.len() as u64 > limit {
        return Err(Error::config(format!(
            "--mode sync would deactivate {} of the {} active records in scope, more than the \
             limit of {limit}: check the file and --scope; if that is right, allow it with \
             --max-deactivations {}",
            gone.len(),
            in_scope.len(),
            gone.len()
        )));
    }
    Ok(gone)
}

/// 10 % of the active records in scope, rounded up, at most 100.
pub fn default_limit(active_in_scope: u64) -> u64 {
    active_in_scope.div_ceil(10).min(100)
}

/// Deactivates each record (none in a dry run) and writes
/// deactivations.csv. Returns (deactivated, failed).
pub fn deactivate(
    ctx: &Context,
    api: Option<&Api>,
    gone: &[(&str, &Snapshot)],
    out_dir: &Path,
) -> Result<(u64, u64)> {
    let delimiter = ctx.source.delimiter().unwrap_or(b',');
    let mut file = ExcelCsv::with_delimiter(&out_dir.join(FILE), delimiter)?;
    let header = std::iter::once(crate::mapping::ID_COLUMN)
        .chain(ctx.mapping.fields.iter().map(|f| f.column))
        .chain(["hrport_status", "hrport_id", "hrport_error"]);
    file.write(header)?;
    let empty: Vec<Value> = ctx.mapping.fields.iter().map(|_| Value::Empty).collect();
    let (mut done, mut failed) = (0, 0);
    for (id, snap) in gone {
        let row = RowInput { row: 0, values: &empty, existing: None, people: &[] };
        let (status, error) = match api {
            None => (Status::Skipped, String::new()),
            Some(api) => match ctx.session.set_active(api, id, false, &row) {
                Outcome::Updated { .. } => (Status::Deactivated, String::new()),
                Outcome::Failed { message, .. } | Outcome::Aborted { message, .. } => {
                    (Status::Failed, message)
                }
                other => (Status::Failed, format!("unexpected answer: {other:?}")),
            },
        };
        done += matches!(status, Status::Deactivated | Status::Skipped) as u64;
        failed += (status == Status::Failed) as u64;
        file.field(id);
        for f in 0..ctx.mapping.fields.len() {
            file.field(snap.cell(f));
        }
        for cell in [status.as_str(), id, error.as_str()] {
            file.field(cell);
        }
        file.end_row()?;
    }
    file.finish()?;
    Ok((done, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safeguard_is_a_tenth_of_the_active_records_in_scope_at_most_100() {
        assert_eq!(default_limit(0), 0);
        assert_eq!(default_limit(9), 1);
        assert_eq!(default_limit(40), 4);
        assert_eq!(default_limit(41), 5);
        assert_eq!(default_limit(5000), 100);
    }
}
