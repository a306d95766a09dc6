//! The journal: an append-only record of an import, for `--resume`.
//!
//! One JSON object per line in `journal.jsonl` in the output folder: a
//! header (the command line, the input's and settings' fingerprints), then
//! `sending` before a row's first request and `done` with its outcome and
//! id. Every line is written at once (a killed process loses nothing the
//! operating system has), and synced to disk at least once a second and at
//! the end. It holds no secrets: no password, token or cell value, only row
//! numbers, statuses, ids and messages. A torn last line is ignored.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::{Action, Status};

pub const FILE: &str = "journal.jsonl";
/// The longest a written line waits to be synced to disk.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// 2: the run's settings as data (1 kept a command line).
pub const VERSION: u32 = 2;

/// The first line: what was run, on what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub journal: u32,
    /// What defines the run (`cli::RunArgs`, never secrets: those are not
    /// flags), as `--resume` reads it back.
    pub run: serde_json::Value,
    /// The speed it ran at; a resume applies the speed flags typed over it.
    pub speed: serde_json::Value,
    pub input: String,
    pub input_sha256: String,
    /// Of `run` and the profile's text (see `resume::fingerprint`).
    pub settings_sha256: String,
    pub started: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event {
    Sending {
        seq: u32,
        row: u32,
        /// What the row was sent to do, so a resume that finds nothing left
        /// to do knows what was done.
        #[serde(default)]
        action: Action,
    },
    Done {
        seq: u32,
        row: u32,
        status: Status,
        id: String,
        error: String,
        /// Failed because the target did not answer (not because it refused
        /// the row): `--resume` tries it again, after a look-up.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        retry: bool,
    },
    Resumed {
        at: String,
    },
}

/// What an earlier, interrupted run of the same import got done.
#[derive(Debug, Default)]
pub struct Replay {
    /// Rows that finished, with their outcome.
    pub done: HashMap<u32, (Status, String, String)>,
    /// Rows whose first request went out, with no outcome recorded: they
    /// may or may not have reached the target.
    pub in_flight: HashSet<u32>,
    /// What each row that went out was sent to do.
    pub sent_as: HashMap<u32, Action>,
}

pub struct Journal {
    path: PathBuf,
    inner: Arc<Mutex<Synced>>,
}

/// The journal file, when it was last synced, and whether lines were
/// written since.
struct Synced {
    file: File,
    at: Instant,
    dirty: bool,
}

impl Journal {
    fn open(path: PathBuf, file: File) -> Journal {
        let inner = Arc::new(Mutex::new(Synced { file, at: Instant::now(), dirty: false }));
        // Lines written just before a quiet spell (a slow request, a wait
        // for the rate limit) reach the disk within a second too, not only
        // when the next line comes. The thread ends with the journal.
        let weak = Arc::downgrade(&inner);
        let _ = std::thread::Builder::new().name("hrport-journal".into()).spawn(move || {
            loop {
                std::thread::sleep(SYNC_EVERY);
                let Some(inner) = weak.upgrade() else { break };
                let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
                if g.dirty && g.at.elapsed() >= SYNC_EVERY {
                    // A failure here shows at the next write or the final sync.
                    if g.file.sync_data().is_ok() {
                        g.at = Instant::now();
                        g.dirty = false;
                    }
                }
            }
        });
        Journal { path, inner }
    }

    /// Starts a new journal in `dir`.
    /// The header is written to a file of its own and linked into place,
    /// so a journal, from the moment it exists, always has its header (a
    /// kill in between leaves no journal, which `--resume` explains).
    pub fn create(dir: &Path, header: &Header) -> Result<Journal> {
        let path = dir.join(FILE);
        let draft = dir.join(format!("{FILE}.new"));
        let err = |e| Error::output_doing(&path, "create the journal", e);
        let _ = std::fs::remove_file(&draft); // left by a kill, header unfinished
        let mut f = OpenOptions::new().create_new(true).write(true).open(&draft).map_err(err)?;
        let line = serde_json::to_string(header).unwrap_or_default() + "\n";
        f.write_all(line.as_bytes()).and_then(|()| f.sync_data()).map_err(err)?;
        // Unlike a rename, a link refuses to replace another run's journal.
        let linked = std::fs::hard_link(&draft, &path);
        let _ = std::fs::remove_file(&draft);
        linked.map_err(err)?;
        let file = OpenOptions::new().append(true).open(&path).map_err(err)?;
        Ok(Journal::open(path, file))
    }

    /// The header of the journal in `dir`, alone.
    pub fn header(dir: &Path) -> Result<Header> {
        let (header, _) = Journal::read(dir)?;
        Ok(header)
    }

    fn read(dir: &Path) -> Result<(Header, std::io::Lines<BufReader<File>>)> {
        let path = dir.join(FILE);
        let shown = path.display();
        let file = File::open(&path).map_err(|e| {
            Error::config(format!("{shown}: cannot read the journal of the run to resume: {e}"))
        })?;
        let mut lines = BufReader::new(file).lines();
        let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        let version = serde_json::from_str::<serde_json::Value>(&first)
            .ok()
            .and_then(|v| v.get("journal").and_then(|j| j.as_u64()));
        match version {
            Some(v) if v == VERSION as u64 => {}
            Some(_) => {
                return Err(Error::config(format!(
                    "{shown} was written by another version of hrport, which must resume it"
                )));
            }
            None => return Err(Error::config(format!("{shown} is not an hrport journal"))),
        }
        let header = serde_json::from_str(&first)
            .map_err(|_| Error::config(format!("{shown} is not an hrport journal")))?;
        Ok((header, lines))
    }

    /// Reads the journal of an interrupted run and keeps appending to it.
    pub fn resume(dir: &Path) -> Result<(Journal, Header, Replay)> {
        let path = dir.join(FILE);
        let (header, lines) = Journal::read(dir)?;
        let mut replay = Replay::default();
        for line in lines {
            let Ok(line) = line else { break };
            // A line cut short by a kill is not an event.
            let Ok(event) = serde_json::from_str::<Event>(&line) else { continue };
            match event {
                Event::Sending { seq, action, .. } => {
                    replay.in_flight.insert(seq);
                    // The first is what the row set out to do: a row whose
                    // create went out and was finished later was created.
                    replay.sent_as.entry(seq).or_insert(action);
                }
                // Left for a resume to finish, like a row in flight: it
                // may be half done (created, follow-up steps not).
                Event::Done { seq, retry: true, .. } => {
                    replay.done.remove(&seq);
                    replay.in_flight.insert(seq);
                }
                Event::Done { seq, status, id, error, .. } => {
                    replay.in_flight.remove(&seq);
                    replay.done.insert(seq, (status, id, error));
                }
                Event::Resumed { .. } => {}
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::output_doing(&path, "write the journal", e))?;
        let j = Journal::open(path, file);
        // A torn last line would glue onto the next event: start a new line.
        j.write_raw(b"\n")?;
        j.event(&Event::Resumed { at: now() })?;
        Ok((j, header, replay))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A row's first request is about to go out.
    pub fn sending(&self, seq: u32, row: u32, action: Action) -> Result<()> {
        self.event(&Event::Sending { seq, row, action })
    }

    /// A row is finished; `retry`: it failed only because the target did
    /// not answer, and a resume sends it again.
    pub fn done(
        &self,
        seq: u32,
        row: u32,
        status: Status,
        id: &str,
        error: &str,
        retry: bool,
    ) -> Result<()> {
        self.event(&Event::Done { seq, row, status, id: id.into(), error: error.into(), retry })
    }

    fn event(&self, e: &Event) -> Result<()> {
        self.line(&serde_json::to_string(e).unwrap_or_default())
    }

    fn line(&self, text: &str) -> Result<()> {
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        self.write_raw(&buf)
    }

    fn write_raw(&self, bytes: &[u8]) -> Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line: a kill leaves whole lines or one torn last line.
        g.file.write_all(bytes).map_err(|e| self.error(e))?;
        g.dirty = true;
        if g.at.elapsed() >= SYNC_EVERY {
            g.file.sync_data().map_err(|e| self.error(e))?;
            g.at = Instant::now();
            g.dirty = false;
        }
        Ok(())
    }

    /// Forces everything written so far onto the disk.
    pub fn sync(&self) -> Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.file.sync_data().map_err(|e| self.error(e))?;
        g.at = Instant::now();
        g.dirty = false;
        Ok(())
    }

    fn error(&self, e: std::io::Error) -> Error {
        Error::output_doing(&self.path, "write the journal", e)
    }
}

pub fn now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            journal: VERSION,
            run: serde_json::json!({"file": "x.csv"}),
            speed: serde_json::json!({}),
            input: "x.csv".into(),
            input_sha256: "aa".into(),
            settings_sha256: "bb".into(),
            started: now(),
        }
    }

    #[test]
    fn replay_keeps_outcomes_and_rows_left_in_flight_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), &header()).unwrap();
        j.sending(0, 2, Action::Create).unwrap();
        j.done(0, 2, Status::Created, "1001", "", false).unwrap();
        j.sending(1, 3, Action::Create).unwrap();
        j.sending(2, 4, Action::Create).unwrap();
        j.done(2, 4, Status::Failed, "", "HTTP 400", false).unwrap();
        // Created, then the target stopped answering: to be finished.
        j.sending(3, 5, Action::Create).unwrap();
        j.done(3, 5, Status::Failed, "1003", "assign role: timed out", true).unwrap();
        drop(j);
        // A kill in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(dir.path().join(FILE)).unwrap();
        f.write_all(b"{\"event\":\"done\",\"seq\":1,\"ro").unwrap();
        drop(f);
        let (j, h, r) = Journal::resume(dir.path()).unwrap();
        assert_eq!(h.input_sha256, "aa");
        assert_eq!(r.done[&0], (Status::Created, "1001".to_string(), String::new()));
        assert_eq!(r.done[&2].0, Status::Failed);
        assert_eq!(r.in_flight, HashSet::from([1, 3]), "row 5 is tried again");
        j.done(1, 3, Status::Created, "1002", "", false).unwrap();
        j.done(3, 5, Status::Created, "1003", "", false).unwrap();
        drop(j);
        let (_, _, r) = Journal::resume(dir.path()).unwrap();
        assert!(
            r.in_flight.is_empty() && r.done.len() == 4,
            "the resumed run appends after the torn line"
        );
    }
}
