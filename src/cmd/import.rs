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
use crate::engine::{self, Context, SendSettings};
use crate::error::{Error, Result, exit};
use crate::input::{self, ReadOptions, Source};
use crate::mapping::Mapping;
use crate::mapping::profile::Profile;
use crate::output::{ResultFiles, Status};
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
        && t != info.name
    {
        return Err(Error::config(format!("the profile is for target {t:?}, not {:?}", info.name)));
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
                    info.name
                )));
            }
            options.set_bool(option, true);
        }
    }
    if let Some(dir) = std::path::absolute(&args.file)
        .ok()
        .and_then(|f| f.parent().and_then(|d| d.to_str()).map(str::to_string))
    {
        options.0.insert(targets::INPUT_DIR.to_string(), toml::Value::String(dir));
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
        let mapping =
            Mapping::resolve(info, &file, source.headers(), &profile, args.date_formats.clone())?;
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
            format!("this column is not a {} column, so it is not sent (it is", info.name)
        } else {
            format!("these columns are not {} columns, so they are not sent (they are", info.name)
        };
        warn(&format!("{what} kept in results.csv): {}", crate::text::capped_list(&names, 10)));
    }

    let out_dir = args.out.clone().unwrap_or_else(|| input::default_out_dir(&args.file));
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        Error::config(format!("cannot create the output folder {}: {e}", out_dir.display()))
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    let conn = connect(&args.target, target, &options, stop.clone())?;
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
    let report = match early {
        Some(report) => report,
        None => {
            let out = ResultFiles::create(&out_dir, &mapping)?;
            engine::send(&ctx, &validation, api, out, &settings, &stop)?
        }
    };
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
        "target": info.name,
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
        info.name,
        validation.rows,
        parts.join(", "),
        elapsed
    );
    for n in &notes {
        println!("note: {n}");
    }
    let attention = count(Status::Invalid) + count(Status::Failed) + count(Status::Pending);
    println!("results: {}", out_dir.join("results.csv").display());
    if attention > 0 {
        println!(
            "errors:  {} ({attention} rows: fix them in Excel and import that file as it is)",
            out_dir.join("errors.csv").display()
        );
    }
    let _ = throttled;
    if let Some((message, hint)) = report.aborted {
        return Err(Error::aborted(
            message,
            Some(format!(
                "{}the rows not done are marked pending in errors.csv; import that file again to finish",
                hint.map(|h| format!("{h}; ")).unwrap_or_default()
            )),
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
