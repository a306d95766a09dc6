//! `hrport import`: validate a spreadsheet, then create its rows in a target.
//!
//! Glue only: flags to settings, then input -> mapping -> engine -> output.
//! The outcome of every row is in results.csv; this command prints counts,
//! paths and the first problems, and chooses the exit code.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;

use super::{api_abort, check_target_args, connect, warn};
use crate::cli::ImportArgs;
use crate::engine::journal::{Header, Journal, Replay};
use crate::engine::{self, Bookkeeping, Context, SendSettings};
use crate::error::{Error, Result, exit};
use crate::input::{self, ReadOptions, Source};
use crate::mapping::Mapping;
use crate::mapping::profile::Profile;
use crate::output::{CredentialsFile, ResultFiles, Status};
use crate::targets::{self, Options};

pub fn run(args: ImportArgs) -> Result<u8> {
    let started = Instant::now();
    check_target_args(&args.target)?;
    let target =
        targets::find(&args.target.target).ok_or_else(|| Error::config("unknown target"))?;
    let info = target.info();
    let profile = match &args.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::default(),
    };
    if let Some(t) = &profile.target
        && t != info.template.name
    {
        return Err(Error::config(format!(
            "the profile is for target {t:?}, not {:?}",
            info.template.name
        )));
    }
    // Granting more than the allow-list is a decision for each run, typed
    // where it is run, not one a profile file could make silently.
    if profile.options.contains_key("allow_elevated_permissions") {
        return Err(Error::config(
            "[options] allow_elevated_permissions cannot be set in a profile: give \
             --allow-elevated-permissions to the run that should grant such groups",
        ));
    }
    let mut options = Options::resolve(info, &profile.options)?;
    // Flags that switch on a target option; refused where it has none.
    for (on, flag, option) in [
        (args.enable_login, "--enable-login", "enable_login"),
        (
            args.allow_elevated_permissions,
            "--allow-elevated-permissions",
            "allow_elevated_permissions",
        ),
        (args.create_groups, "--create-groups", "create_groups"),
    ] {
        if on {
            if !options.0.contains_key(option) {
                return Err(Error::config(format!(
                    "{flag} does not apply to target {}",
                    info.template.name
                )));
            }
            options.set_bool(option, true);
        }
    }
    let mut read = ReadOptions {
        sheet: args.sheet.clone(),
        encoding: match &args.encoding {
            Some(label) => Some(encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                Error::config(format!("--encoding {label:?} is not an encoding name (try windows-1252, utf-8, utf-16le)"))
            })?),
            None => None,
        },
        delimiter: args.delimiter.as_deref().map(input::parse_delimiter).transpose()?,
    };
    if !args.dry_run && !args.target.sandbox && args.target.base_url.is_none() {
        return Err(Error::config(
            "say where to import: --base-url URL (with credentials in the environment), or --sandbox to try it locally",
        ));
    }

    let file = input::display(&args.file);
    let open = |read: &ReadOptions| -> Result<(Source, Mapping)> {
        let source = Source::open(&args.file, read)?;
        let mapping = Mapping::resolve(
            &info.template,
            &file,
            source.headers(),
            &profile,
            args.date_formats.clone(),
        )?
        .files_beside(&args.file);
        Ok((source, mapping))
    };
    let (mut source, mut mapping) = open(&read)?;
    for w in source.warnings() {
        warn(w);
    }
    if !mapping.unknown.is_empty() {
        // Each name clipped and at most ten of them: a file may have 20,000.
        let names: Vec<String> = mapping
            .unknown
            .iter()
            .map(|&i| format!("{:?}", crate::text::clip(&mapping.headers[i], 60)))
            .collect();
        let what = if names.len() == 1 {
            format!("this column is not a {} column, so it is not sent (it is", info.template.name)
        } else {
            format!(
                "these columns are not {} columns, so they are not sent (they are",
                info.template.name
            )
        };
        warn(&format!("{what} kept in results.csv): {}", crate::text::capped_list(&names, 10)));
    }

    // `stop`: take no new rows (Ctrl-C, abort). `halt`: also stop requests
    // in flight from retrying (abort only).
    let stop = Arc::new(AtomicBool::new(false));
    let halt = Arc::new(AtomicBool::new(false));
    let resuming = args.resume.is_some();
    if resuming && args.target.sandbox {
        return Err(Error::config(
            "a run against --sandbox cannot be resumed: its sandbox ended with it; start the import again",
        ));
    }
    let conn = connect(&args.target, target, &options, halt.clone())?;
    let session = match &conn {
        Some(c) => target.connect(&c.api, &options).map_err(api_abort)?,
        None => {
            warn(
                "no target given: a dry run checks the file only; existing records are not \
                 found, and names only the target knows are not looked up",
            );
            target.offline(&options)
        }
    };

    // Only now: a refused URL or sign-in leaves no empty folder behind.
    let out_dir = args.out.clone().unwrap_or_else(|| input::default_out_dir(&args.file));
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        Error::config(format!("cannot create the output folder {}: {e}", out_dir.display()))
    })?;

    let validated_at = Instant::now();
    let (validation, early) = loop {
        let ctx = Context { source: &source, mapping: &mapping, info, session: session.as_ref() };
        // A dry run writes its results while it validates (see engine::validate).
        let draft =
            if args.dry_run { Some(ResultFiles::create(&out_dir, &mapping)?) } else { None };
        match engine::validate(&ctx, draft) {
            Err(Error::Encoding(at)) if read.encoding.is_none() => {
                warn(&format!(
                    "{at}: the file is not valid UTF-8 after all; reading it again as Windows-1252. \
                     If accents look wrong in results.csv, give --encoding"
                ));
                read.encoding = Some(encoding_rs::WINDOWS_1252);
                (source, mapping) = open(&read)?;
            }
            Err(e) => {
                if args.dry_run {
                    discard_draft(&out_dir);
                }
                return Err(e);
            }
            Ok(v) => break v,
        }
    };
    let validate_secs = validated_at.elapsed().as_secs_f64();
    let ctx = Context { source: &source, mapping: &mapping, info, session: session.as_ref() };
    if validation.rows == 0 {
        warn(&format!("{file} has a header row but no data rows"));
    }
    let examples = validation.examples(10);
    for (row, msg) in &examples {
        eprintln!("hrport: {}", crate::text::printable(&format!("{file} row {row}: {msg}")));
    }
    if validation.invalid as usize > examples.len() {
        eprintln!(
            "hrport: ... and {} more invalid rows (all in errors.csv)",
            validation.invalid as usize - examples.len()
        );
    }

    let sending_at = Instant::now();
    let requests_before = conn.as_ref().map(|c| c.api.stats().requests.load(Ordering::Relaxed));
    let settings = SendSettings {
        concurrency: args.target.concurrency,
        max_errors: args.target.max_errors.max(1),
        dry_run: args.dry_run,
        progress: !args.quiet,
    };
    let api = conn.as_ref().map(|c| &c.api);
    // The journal (for --resume) and generated passwords: real runs only.
    let (journal, replay) = if args.dry_run {
        (None, Replay::default())
    } else {
        let fingerprint = fingerprint(&args, &options)?;
        match &args.resume {
            Some(dir) => {
                let (j, header, replay) = Journal::resume(dir)?;
                if header.input_sha256 != fingerprint.input_sha256 {
                    return Err(Error::config(format!(
                        "{file} changed since the run in {} started (its contents differ); \
                         a resumed run must read the same file: restore it, or start a new import",
                        dir.display()
                    )));
                }
                if header.settings_sha256 != fingerprint.settings_sha256 {
                    return Err(Error::config(format!(
                        "the settings differ from the run in {} (target, URL, profile, sheet, encoding, \
                         delimiter, date formats or flags); only speed flags may change on --resume",
                        dir.display()
                    )));
                }
                eprintln!(
                    "hrport: resuming {}: {} rows finished, {} were in flight and are looked up first",
                    dir.display(),
                    replay.done.len(),
                    replay.in_flight.len()
                );
                (Some(j), replay)
            }
            None => (Some(Journal::create(&out_dir, &fingerprint)?), Replay::default()),
        }
    };
    let credentials = if args.dry_run { None } else { Some(CredentialsFile::new(&out_dir)?) };
    let books = Bookkeeping {
        journal: journal.as_ref(),
        replay: &replay,
        credentials: credentials.as_ref(),
        password_length: args.password_length,
        password_classes: args.password_classes.clone(),
        halt: Some(&halt),
    };
    if !args.dry_run {
        handle_signals(&stop, &out_dir);
    }
    let report = match early {
        Some(report) => report,
        None => {
            let out = ResultFiles::create(&out_dir, &mapping)?;
            engine::send(&ctx, &validation, api, out, &settings, &books, &stop)?
        }
    };
    if let Some(j) = &journal {
        j.sync()?;
    }
    let mut report = report;
    if report.aborted.is_none() && stop.load(Ordering::Relaxed) {
        report.aborted = Some(("stopped by Ctrl-C or SIGTERM".into(), None));
    }
    let send_secs = sending_at.elapsed().as_secs_f64();

    let count = |s: Status| report.counts.get(&s).copied().unwrap_or(0);
    let stats = api.map(|a| a.stats());
    let load = |f: fn(&crate::transport::Stats) -> &std::sync::atomic::AtomicU64| {
        stats.map(|s| f(s).load(Ordering::Relaxed)).unwrap_or(0)
    };
    let (requests, retries, throttled, recovered) = (
        load(|s| &s.requests),
        load(|s| &s.retries),
        load(|s| &s.throttled),
        load(|s| &s.recovered),
    );
    let elapsed = started.elapsed().as_secs_f64();
    let notes = session.notes();
    let summary = json!({
        "target": info.template.name,
        "input": file,
        "read_as": source.describe(),
        "dry_run": args.dry_run,
        "rows": validation.rows,
        "created": count(Status::Created),
        "updated": count(Status::Updated),
        "exists": count(Status::Exists),
        "exists_completed": report.completed,
        "invalid": count(Status::Invalid),
        "failed": count(Status::Failed),
        "skipped": count(Status::Skipped),
        "pending": count(Status::Pending),
        "requests": requests,
        // Requests per second while rows were being sent (not counting the
        // sign-in and look-ups before): compare with rate_limit_per_second.
        "send_rate_per_second": match requests_before {
            Some(before) if send_secs > 0.0 && !args.dry_run => round3((requests - before) as f64 / send_secs),
            _ => 0.0,
        },
        "retries": retries,
        "throttled_429": throttled,
        "recovered_lost_answers": recovered,
        "rate_limit_per_second": args.target.rate,
        "concurrency": args.target.concurrency,
        "peak_memory_mib": peak_memory_mib(),
        "seconds": {"validate": round3(validate_secs), "send": round3(send_secs), "total": round3(elapsed)},
        "aborted": report.aborted.as_ref().map(|(m, _)| m.clone()),
        "notes": notes,
        "results": "results.csv",
        "errors": "errors.csv",
        "credentials": credentials.as_ref().filter(|c| c.written()).map(|_| "credentials.csv"),
        "journal": journal.as_ref().map(|_| engine::journal::FILE),
    });
    write_summary(&out_dir.join("summary.json"), &summary)?;

    let mut parts = Vec::new();
    for s in [
        Status::Created,
        Status::Updated,
        Status::Exists,
        Status::Skipped,
        Status::Invalid,
        Status::Failed,
        Status::Pending,
    ] {
        let n = count(s);
        if n > 0 || matches!(s, Status::Invalid | Status::Failed) {
            parts.push(format!("{n} {}", s.as_str()));
        }
    }
    let completed = if report.completed > 0 {
        format!(" ({} existing finished)", report.completed)
    } else {
        String::new()
    };
    println!(
        "{}{}: {} rows: {}{completed} in {:.1}s ({requests} requests, {retries} retries)",
        if args.dry_run { "dry run, " } else { "" },
        info.template.name,
        validation.rows,
        parts.join(", "),
        elapsed
    );
    for n in &notes {
        println!("note: {n}");
    }
    let attention = count(Status::Invalid) + count(Status::Failed) + count(Status::Pending);
    println!("results: {}", out_dir.join("results.csv").display());
    if let Some(c) = credentials.as_ref().filter(|c| c.written()) {
        println!(
            "passwords hrport generated: {} (only there; keep it safe, then delete it)",
            c.path().display()
        );
    }
    if attention > 0 {
        println!(
            "errors:  {} ({attention} rows: fix them in Excel and import that file as it is)",
            out_dir.join("errors.csv").display()
        );
    }
    let _ = throttled;
    if let Some((message, hint)) = report.aborted {
        let resume = if args.target.sandbox {
            "the rows not done are marked pending in errors.csv".to_string()
        } else {
            format!(
                "the rows not done are marked pending; continue with: {}",
                resume_command(&out_dir)
            )
        };
        return Err(Error::aborted(
            message,
            Some(format!("{}{resume}", hint.map(|h| format!("{h}; ")).unwrap_or_default())),
        ));
    }
    Ok(if attention > 0 { exit::ROWS_FAILED } else { exit::OK })
}

/// Removes a dry run's results written while the file was read, when the
/// file turned out unreadable part-way: an errors.csv is meant to be
/// imported again, and one that holds only the rows before the damage must
/// not be mistaken for the whole. The folder goes too if nothing else is in it.
fn discard_draft(out_dir: &Path) {
    for name in ["results.csv", "errors.csv"] {
        let _ = std::fs::remove_file(out_dir.join(name));
    }
    let _ = std::fs::remove_dir(out_dir);
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

fn write_summary(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    std::fs::write(path, text + "\n")
        .map_err(|e| Error::config(format!("{}: cannot write: {e}", path.display())))
}

/// Ctrl-C or SIGTERM: take no new rows, let the rows in flight finish, write
/// the results so far; a second one stops at once (the journal still lets
/// the run be resumed).
fn handle_signals(stop: &Arc<AtomicBool>, out_dir: &Path) {
    let stop = stop.clone();
    let hint = resume_command(out_dir);
    let signals = std::sync::atomic::AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            stop.store(true, Ordering::SeqCst);
            eprintln!(
                "\nhrport: stopping: finishing the rows in flight (press Ctrl-C again to stop at once)"
            );
        } else {
            eprintln!("\nhrport: stopped at once; resume with: {hint}");
            std::process::exit(exit::ABORTED as i32);
        }
    });
}

/// What a resumed run must share with the run it resumes: the input file's
/// contents and every setting except speed, plus the command to rerun.
fn fingerprint(args: &ImportArgs, options: &Options) -> Result<Header> {
    use sha2::{Digest, Sha256};
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let file = std::path::absolute(&args.file)
        .map_err(|e| Error::config(format!("{}: {e}", args.file.display())))?;
    let mut hasher = Sha256::new();
    let mut f = std::fs::File::open(&file)
        .map_err(|e| Error::input(format!("{}: cannot read: {e}", file.display())))?;
    std::io::copy(&mut f, &mut hasher)
        .map_err(|e| Error::input(format!("{}: cannot read: {e}", file.display())))?;
    let input_sha256 = hex(&hasher.finalize());

    let profile =
        args.profile.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    let profile_text =
        profile.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let t = &args.target;
    let opts = options.0.clone();
    let settings = json!({
        "target": t.target,
        "to": if t.sandbox { "sandbox".to_string() } else { t.base_url.clone().unwrap_or_default() },
        "profile": profile_text,
        "options": opts.to_string(),
        "sheet": args.sheet, "encoding": args.encoding, "delimiter": args.delimiter,
        "date_formats": args.date_formats,
    });
    let settings_sha256 = hex(&Sha256::digest(settings.to_string().as_bytes()));

    // The command as flags hrport itself reads back on --resume.
    let s = |x: &str| x.to_string();
    let mut argv = vec![file.display().to_string(), s("--target"), t.target.clone()];
    match &t.base_url {
        Some(u) => argv.extend([s("--base-url"), u.clone()]),
        None if t.sandbox => argv.push(s("--sandbox")),
        None => {}
    }
    for (flag, v) in [
        ("--profile", profile.map(|p| p.display().to_string())),
        ("--sheet", args.sheet.clone()),
        ("--encoding", args.encoding.clone()),
        ("--delimiter", args.delimiter.clone()),
    ] {
        if let Some(v) = v {
            argv.extend([s(flag), v]);
        }
    }
    for f in &args.date_formats {
        argv.extend([s("--date-format"), f.clone()]);
    }
    for (on, flag) in [
        (args.enable_login, "--enable-login"),
        (args.allow_elevated_permissions, "--allow-elevated-permissions"),
        (args.create_groups, "--create-groups"),
    ] {
        if on {
            argv.push(s(flag));
        }
    }
    argv.extend([
        s("--rate"),
        t.rate.to_string(),
        s("--concurrency"),
        t.concurrency.to_string(),
        s("--timeout"),
        t.timeout.to_string(),
        s("--max-retries"),
        t.max_retries.to_string(),
        s("--max-errors"),
        t.max_errors.to_string(),
        s("--password-length"),
        args.password_length.to_string(),
        s("--password-classes"),
        args.password_classes.clone(),
    ]);
    Ok(Header {
        journal: 1,
        argv,
        input: file.display().to_string(),
        input_sha256,
        settings_sha256,
        started: engine::journal::now(),
    })
}

/// The command that resumes the run in `out_dir`, to paste into a shell as
/// is: an absolute path (the person may be elsewhere by then), quoted when
/// it holds anything a shell would split or expand.
fn resume_command(out_dir: &Path) -> String {
    let dir = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_path_buf());
    let dir = dir.display().to_string();
    let plain = dir.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    let dir = if plain { dir } else { format!("'{}'", dir.replace('\'', r"'\''")) };
    format!("hrport import --resume {dir}")
}

/// `hrport import --resume DIR [speed flags]` as the full command: the
/// interrupted run's own flags (from its journal), then the ones typed now.
pub fn resume_argv(raw: &[String]) -> Result<Option<Vec<String>>> {
    if raw.get(1).map(String::as_str) != Some("import") {
        return Ok(None);
    }
    let mut rest: Vec<String> = Vec::new();
    let mut dir = None;
    let mut it = raw[2..].iter();
    while let Some(a) = it.next() {
        if a == "--resume" {
            dir = it.next().cloned();
        } else if let Some(d) = a.strip_prefix("--resume=") {
            dir = Some(d.to_string());
        } else {
            rest.push(a.clone());
        }
    }
    let Some(dir) = dir else { return Ok(None) };
    // The run goes on where it was, as it was: a dry run would overwrite its
    // results with "skipped", another --out would split it in two folders.
    if let Some(a) =
        rest.iter().find(|a| *a == "--dry-run" || *a == "--out" || a.starts_with("--out="))
    {
        let flag = a.split('=').next().unwrap_or(a);
        return Err(Error::config(format!(
            "--resume continues the run in {dir} with its own settings and folder; {flag} cannot \
             be added (only speed flags may change)"
        )));
    }
    let path = Path::new(&dir).join(engine::journal::FILE);
    let first = std::fs::read_to_string(&path).map_err(|e| {
        Error::config(format!(
            "{}: cannot read the journal of the run to resume: {e}",
            path.display()
        ))
    })?;
    let header: Header = first
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| Error::config(format!("{} is not an hrport journal", path.display())))?;
    let mut argv = vec![raw[0].clone(), "import".to_string()];
    argv.extend(header.argv);
    argv.extend(["--out".to_string(), dir.clone(), "--resume".to_string(), dir]);
    argv.extend(rest);
    Ok(Some(argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_pastes_as_is() {
        assert_eq!(
            resume_command(Path::new("/data/hires.hrport-1")),
            "hrport import --resume /data/hires.hrport-1"
        );
        assert_eq!(
            resume_command(Path::new("/data/HR exports/it's.hrport-1")),
            r"hrport import --resume '/data/HR exports/it'\''s.hrport-1'"
        );
        let relative = resume_command(Path::new("out"));
        let cwd = std::env::current_dir().unwrap();
        assert!(relative.ends_with(&format!("{}/out", cwd.display())), "{relative}");
    }

    #[test]
    fn a_resume_keeps_its_folder_and_stays_a_real_run() {
        for extra in ["--dry-run", "--out", "--out=elsewhere"] {
            let argv: Vec<String> =
                ["hrport", "import", "--resume", "runs/a", extra].map(String::from).to_vec();
            let e = resume_argv(&argv).unwrap_err().to_string();
            let flag = extra.split('=').next().unwrap();
            assert!(e.contains(&format!("{flag} cannot be added")), "{e}");
        }
    }
}
