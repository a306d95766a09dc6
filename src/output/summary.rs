//! The end of an import, for people and scripts: summary.json and the
//! console lines (counts, notes, where the files are).
//!
//! It only formats what the run measured; it does not decide the exit code
//! or read anything but this process's peak memory.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::Status;
use crate::error::{Error, Result};
use crate::text;

/// What one import did, as the summary tells it.
pub struct Summary<'a> {
    pub target: &'a str,
    pub input: &'a str,
    pub read_as: String,
    pub dry_run: bool,
    pub rows: u64,
    pub counts: &'a BTreeMap<Status, u64>,
    /// Rows per action (the plan, in a dry run).
    pub actions: &'a BTreeMap<&'static str, u64>,
    /// Existing records whose missing follow-up steps were done.
    pub completed: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub recovered: u64,
    /// Requests per second while rows were being sent.
    pub send_rate: f64,
    pub rate: f64,
    pub concurrency: usize,
    pub seconds: Seconds,
    pub aborted: Option<&'a str>,
    pub notes: &'a [String],
    /// Whether credentials.csv holds passwords.
    pub credentials: bool,
    pub journal: bool,
    /// `--mode sync`: records the file left out, (deactivated, failed).
    pub deactivations: Option<(u64, u64)>,
    /// When the run started (it ends when the summary is written).
    pub started: chrono::DateTime<chrono::Utc>,
    /// The target's base URL; `None` for a dry run without a target.
    pub base_url: Option<&'a str>,
    /// Rows needing a person, by kind of error (`engine::sink::error_kind`).
    pub errors: &'a BTreeMap<String, u64>,
    /// Groups `--create-groups` created.
    pub groups_created: &'a [String],
    /// Which results files were written.
    pub outputs: &'a super::ResultsSpec,
}

pub struct Seconds {
    pub validate: f64,
    pub send: f64,
    pub total: f64,
}

/// The statuses in the order the console lists them.
pub(super) const ORDER: [Status; 10] = [
    Status::Created,
    Status::Updated,
    Status::Unchanged,
    Status::Deactivated,
    Status::Reactivated,
    Status::Exists,
    Status::Skipped,
    Status::Invalid,
    Status::Failed,
    Status::Pending,
];

impl Summary<'_> {
    pub fn count(&self, s: Status) -> u64 {
        self.counts.get(&s).copied().unwrap_or(0)
    }

    /// Rows a person must look at (errors.csv), and deactivations that
    /// failed (deactivations.csv).
    pub fn attention(&self) -> u64 {
        let failed = self.deactivations.map_or(0, |(_, f)| f);
        ORDER.iter().filter(|s| s.needs_attention()).map(|&s| self.count(s)).sum::<u64>() + failed
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let mut v = json!({
            "hrport_version": env!("CARGO_PKG_VERSION"),
            "started_at": self.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "ended_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "base_url": self.base_url,
            "target": self.target,
            "input": self.input,
            "read_as": self.read_as,
            "dry_run": self.dry_run,
            "rows": self.rows,
        });
        for s in ORDER {
            v[s.as_str()] = json!(self.count(s));
        }
        v["exists_completed"] = json!(self.completed);
        v["errors_by_kind"] = json!(self.errors);
        v["groups_created"] = json!(self.groups_created);
        v["actions"] = json!(self.actions);
        if let Some((done, failed)) = self.deactivations {
            v["sync"] = json!({"deactivated": done, "failed": failed, "file": "deactivations.csv"});
        }
        let rest = json!({
            "requests": self.requests,
            // Compare with rate_limit_per_second.
            "send_rate_per_second": round3(self.send_rate),
            "retries": self.retries,
            "throttled_429": self.throttled,
            "recovered_lost_answers": self.recovered,
            "rate_limit_per_second": self.rate,
            "concurrency": self.concurrency,
            "peak_memory_mib": peak_memory_mib(),
            "seconds": {
                "validate": round3(self.seconds.validate),
                "send": round3(self.seconds.send),
                "total": round3(self.seconds.total),
            },
            "aborted": self.aborted,
            "notes": self.notes,
            // The first of each kind (the CSV when there is one), and every one.
            "results": self.outputs.files(false).first(),
            "errors": self.outputs.files(true).first(),
            "results_files": self.outputs.files(false),
            "errors_files": self.outputs.files(true),
            "credentials": self.credentials.then_some(super::CREDENTIALS),
            "journal": self.journal.then_some("journal.jsonl"),
        });
        if let (Some(v), serde_json::Value::Object(rest)) = (v.as_object_mut(), rest) {
            v.extend(rest);
        }
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| Error::output(path, e))
    }

    /// The console's last lines: counts, notes and where the files are.
    pub fn print(&self, out_dir: &Path) {
        let parts: Vec<String> = ORDER
            .iter()
            .filter(|&&s| self.count(s) > 0 || matches!(s, Status::Invalid | Status::Failed))
            .map(|&s| format!("{} {}", self.count(s), s.as_str()))
            .collect();
        let completed = if self.completed > 0 {
            format!(" ({} existing finished)", self.completed)
        } else {
            String::new()
        };
        println!(
            "{}{}: {}: {}{completed} in {:.1}s ({}, {})",
            if self.dry_run { "dry run, " } else { "" },
            self.target,
            text::count(self.rows, "row"),
            parts.join(", "),
            self.seconds.total,
            text::count(self.requests, "request"),
            text::count(self.retries, "retry").replace("retrys", "retries"),
        );
        if self.dry_run {
            let plan: Vec<String> = ["create", "update", "deactivate", "reactivate", "unchanged"]
                .iter()
                .filter_map(|a| Some(format!("{} {a}", self.actions.get(a).filter(|&&n| n > 0)?)))
                .collect();
            if !plan.is_empty() {
                println!("plan: {} (a real run does exactly this)", plan.join(", "));
            }
        }
        for n in self.notes {
            println!("note: {n}");
        }
        if let Some((done, failed)) = self.deactivations {
            let what = if self.dry_run { "to deactivate" } else { "deactivated" };
            println!(
                "sync: records the file leaves out {what}: {} ({failed} failed): {}",
                if self.dry_run { done + failed } else { done },
                out_dir.join("deactivations.csv").display()
            );
        }
        let paths = |errors: bool| {
            let files = self.outputs.files(errors);
            files.iter().map(|f| out_dir.join(f).display().to_string()).collect::<Vec<_>>()
        };
        println!("results: {}", paths(false).join(" and "));
        if self.credentials {
            println!(
                "passwords hrport generated: {} (only there; keep it safe, then delete it)",
                out_dir.join(super::CREDENTIALS).display()
            );
        }
        if self.attention() > 0 {
            println!(
                "errors:  {} ({}: fix them in Excel and import that file as it is)",
                paths(true).join(" and "),
                text::count(self.attention(), "row")
            );
        }
    }
}

/// This process's peak resident memory (Linux's VmHWM), when known.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
