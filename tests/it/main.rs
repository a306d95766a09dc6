//! The integration tests: the hrport binary against an in-process sandbox on
//! 127.0.0.1 port 0. Each module says what belongs in it.

/// Workdir, running the binary, sandbox helpers, reading output files.
mod util;

/// TrackTik import end to end: created records, exact results and errors
/// cells, existing records, re-imports, exit codes.
mod tracktik;

/// Guardian (LawLogix I-9) import and export end to end against its sandbox.
mod guardian;

/// intelliHR: people with user accounts, permission groups, vendor schemas.
mod intellihr;

/// SecurityTrax: JSON:API, expiring tokens, managers and recruiters.
mod securitytrax;

/// Trackops import and export end to end: photos, profile names, existing
/// staff, paging, and refused API users.
mod trackops;

/// Any SCIM 2.0 service, here the sandbox's: bulk and per-row paths,
/// managers, groups, paging, PATCH updates.
mod scim;

/// Interruptions: Ctrl-C, kill -9 and --resume; secrets in outputs.
mod resume;

/// Reading files: encodings, delimiters, quoting, workbooks and cell types.
mod reading;

/// Sending under stress: 429 storms, expiring tokens, lost answers.
mod sending;

/// The sandbox's seeded faults, one kind per test (5xx, cut connections,
/// slow and lost answers, 429 bursts, a hidden rate limit): nothing lost,
/// nothing duplicated.
mod faults;

/// Export and the export -> import round trip.
mod export;

/// Mapping profiles and `hrport profile init`.
mod profiles;

/// The `sandbox`, `targets`, `completions` and `man` subcommands as a user
/// runs them, and signing in to the sandbox as every target.
mod commands;

// Sync: round trips per target, plan = run, matching rules, modes, safeguard.
mod sync;

/// `hrport template`: sheets, headers, notes, formats and dropdowns equal
/// to the sandbox's lists; the template imported again.
mod template;

/// The console and summary.json: refused rows listed, version, times, URL,
/// errors by kind, created groups and the typo guard, wording.
mod console;

/// results.xlsx and errors.xlsx (cell kinds, fills, notes, Summary), the
/// errors.xlsx round trip, `--output-format`, and the CSVs' delimiter.
mod workbooks;
