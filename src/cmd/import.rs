//! `hrport import`: validate a spreadsheet, then create its rows in a target.
//!
//! Glue only: flags to settings (or, on `--resume`, the settings the
//! interrupted run kept in its journal), then input -> mapping -> engine ->
//! output. The outcome of every row is in results.csv; this command prints
//! the first problems and the summary, and chooses the exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Connection, api_abort, check_speed, connect, load_profile, warn};
use crate::cli::{ImportArgs, Mode, OutputFormat, RunArgs, Speed};
use crate::engine::journal::{Header, Journal, Replay};
use crate::engine::tenant::Snapshot;
use crate::engine::{
    self, Bookkeeping, Context, Report, SendSettings, Tenant, Validation, resume, sync,
};
use crate::error::{Error, Result, exit};
use crate::input::{self, ReadOptions, Source};
use crate::mapping::profile::Profile;
use crate::mapping::{Mapping, values};
use crate::output::summary::{Seconds, Summary};
use crate::output::{
    CredentialsFile, ERRORS_CSV, ERRORS_XLSX, RESULTS_CSV, RESULTS_XLSX, ResultFiles, ResultsSpec,
};
use crate::targets::{self, Options, Session, Target};
use crate::transport::Api;

/// An import's settings once flags and journal are read.
struct Job {
    run: RunArgs,
    speed: Speed,
    /// The file as typed, for messages (the journal keeps it absolute).
    file: PathBuf,
    out_dir: PathBuf,
    dry_run: bool,
    quiet: bool,
    /// The interrupted run's folder and journal header, when resuming.
    resuming: Option<(PathBuf, Header)>,
}

/// What every pass works with, apart from the input.
struct Base<'a> {
    info: &'static targets::TargetInfo,
    session: &'a dyn Session,
    tenant: Option<&'a Tenant>,
    mode: Mode,
}

impl<'a> Base<'a> {
    fn context(&'a self, input: &'a Input) -> Context<'a> {
        Context {
            source: &input.source,
            mapping: &input.mapping,
            info: self.info,
            session: self.session,
            tenant: self.tenant,
            mode: self.mode,
        }
    }
}

/// The input, read and bound to the target's template.
struct Input {
    source: Source,
    mapping: Mapping,
    read: ReadOptions,
}

pub fn run(args: ImportArgs) -> Result<u8> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let (job, target, profile, options) = prepare(args)?;
    let info = target.info();
    let mut read = read_options(&job.run)?;
    read.judge =
        Some(input::Judge(Arc::new(crate::mapping::TemplateJudge::new(&info.template, &profile))));
    let mut input = open_input(&job, info, &profile, read)?;

    // `stop`: take no new rows (Ctrl-C, abort). `halt`: also stop requests
    // in flight from retrying (abort only).
    let stop = Arc::new(AtomicBool::new(false));
    let halt = Arc::new(AtomicBool::new(false));
    let conn = connect(&job.run.endpoint, &job.speed, target, &options, halt.clone())?;
    let session = open_session(target, conn.as_ref(), &options)?;
    // Every record as export writes it, to compare rows with.
    let tenant = conn.as_ref().map(|c| Tenant::load(session.as_ref(), &c.api)).transpose();
    let tenant = tenant.map_err(api_abort)?;
    let mode = job.run.mode.unwrap_or_default();

    // Only now: a refused URL or sign-in leaves no empty folder behind.
    std::fs::create_dir_all(&job.out_dir)
        .map_err(|e| Error::output_doing(&job.out_dir, "create the output folder", e))?;
    // The journal before the first row is checked: from the moment the
    // folder exists, `--resume` can continue the run (and, when nothing
    // was sent yet, simply runs it).
    let (journal, replay) = open_journal(&job)?;
    let validated_at = Instant::now();
    let base = Base { info, session: session.as_ref(), tenant: tenant.as_ref(), mode };
    let (validation, early) = validate(&job, &mut input, &base, &profile)?;
    let validate_secs = validated_at.elapsed().as_secs_f64();
    report_invalid(&job, &validation, &input.mapping);
    let login = conn.as_ref().and_then(|c| c.login.as_deref());
    let gone = leavers(&job, &base.context(&input), &validation, login)?;

    let sending_at = Instant::now();
    let api = conn.as_ref().map(|c| &c.api);
    let requests_before = api.map(|a| a.stats().requests.load(Ordering::Relaxed));
    let credentials = if job.dry_run { None } else { Some(CredentialsFile::new(&job.out_dir)?) };
    let books = bookkeeping(&job, journal.as_ref(), &replay, credentials.as_ref(), &halt);
    if !job.dry_run {
        handle_signals(&stop, &job.out_dir);
    }
    let ctx = base.context(&input);
    let report = send_all(&job, &ctx, &validation, early, api, &books, &stop)?;
    report_failed(&job, &report);
    let deactivations = match &gone {
        Some(gone) if report.aborted.is_none() => Some(deactivate(&job, &ctx, gone, api)?),
        _ => None,
    };
    let mut notes = session.notes();
    notes.extend(api.map(Api::notes).unwrap_or_default());
    let groups_created = session.groups_created();
    let send_secs = sending_at.elapsed().as_secs_f64();
    let [requests, retries, throttled, recovered] = counters(api);
    let summary = Summary {
        target: info.template.name,
        input: &input::display(&job.file),
        read_as: input.source.describe(),
        dry_run: job.dry_run,
        rows: validation.rows,
        counts: &report.counts,
        actions: &report.actions,
        completed: report.completed,
        requests,
        retries,
        throttled,
        recovered,
        send_rate: match requests_before {
            Some(before) if send_secs > 0.0 && !job.dry_run => {
                (requests - before) as f64 / send_secs
            }
            _ => 0.0,
        },
        rate: job.speed.rate,
        concurrency: job.speed.concurrency,
        seconds: Seconds {
            validate: validate_secs,
            send: send_secs,
            total: started.elapsed().as_secs_f64(),
        },
        aborted: report.aborted.as_ref().map(|(m, _)| m.as_str()),
        notes: &notes,
        credentials: credentials.as_ref().is_some_and(|c| c.written()),
        journal: journal.is_some(),
        deactivations,
        started: started_at,
        base_url: conn.as_ref().map(|c| c.base_url.as_str()),
        errors: &report.errors,
        groups_created: &groups_created,
        outputs: &results_spec(&job.run, &input.source),
    };
    summary.write_json(&job.out_dir.join("summary.json"))?;
    summary.print(&job.out_dir);
    finish(&job, &summary, report.aborted.clone())
}

/// The run's settings, its target, profile and options, all checked;
/// nothing read or contacted yet.
fn prepare(args: ImportArgs) -> Result<(Job, &'static dyn Target, Profile, Options)> {
    let job = settle(args)?;
    check_speed(&job.speed)?;
    let target = targets::find(job.run.target.as_deref().unwrap_or_default())
        .ok_or_else(|| Error::config("unknown target"))?;
    let profile = load_profile(job.run.profile.as_deref(), target.info())?;
    let options = targets::options(target, &profile.options, &job.run.switches)?;
    if !job.dry_run && !job.run.endpoint.sandbox && job.run.endpoint.base_url.is_none() {
        return Err(Error::config(
            "say where to import: --base-url URL (with credentials in the environment), or --sandbox to try it locally",
        ));
    }
    Ok((job, target, profile, options))
}

/// What the run keeps besides results: journal, passwords, the halt flag.
fn bookkeeping<'a>(
    job: &Job,
    journal: Option<&'a Journal>,
    replay: &'a Replay,
    credentials: Option<&'a CredentialsFile>,
    halt: &'a AtomicBool,
) -> Bookkeeping<'a> {
    Bookkeeping {
        journal,
        replay,
        credentials,
        password_length: job.run.password_length.unwrap_or(16),
        password_classes: job.run.password_classes.clone().unwrap_or_else(|| "ulds".into()),
        halt: Some(halt),
    }
}

/// `--mode sync`: the records the file leaves out, refused past the
/// safeguard before anything is sent.
fn leavers<'t>(
    job: &Job,
    ctx: &Context<'t>,
    validation: &Validation,
    login: Option<&str>,
) -> Result<Option<Vec<(&'t str, &'t Snapshot)>>> {
    let (Some(tenant), Mode::Sync) = (ctx.tenant, ctx.mode) else { return Ok(None) };
    let scope = sync::Scope::parse(ctx.info.template.fields, &job.run.scope)?;
    sync::plan(ctx, tenant, validation, &scope, job.run.max_deactivations, login).map(Some)
}

/// Deactivates them (a dry run lists them), once the rows are done.
fn deactivate(
    job: &Job,
    ctx: &Context,
    gone: &[(&str, &Snapshot)],
    api: Option<&Api>,
) -> Result<(u64, u64)> {
    let send = if job.dry_run { None } else { api };
    sync::deactivate(ctx, send, gone, &job.out_dir)
        .map_err(|e| if job.dry_run { e } else { e.while_sending(&continue_with(job)) })
}

/// Pass 2: the rows sent (or, for a dry run, their verdicts written) unless
/// pass 1 already wrote the whole result.
fn send_all(
    job: &Job,
    ctx: &Context,
    validation: &Validation,
    early: Option<Report>,
    api: Option<&Api>,
    books: &Bookkeeping,
    stop: &Arc<AtomicBool>,
) -> Result<Report> {
    // Once rows may have gone out, an error is an aborted run to resume.
    let sending = |e: Error| if job.dry_run { e } else { e.while_sending(&continue_with(job)) };
    let mut report = match early {
        Some(report) => report,
        None => {
            let spec = results_spec(&job.run, ctx.source);
            let out = ResultFiles::create(&job.out_dir, ctx.mapping, &spec)?;
            let settings = SendSettings {
                concurrency: job.speed.concurrency,
                max_errors: job.speed.max_errors.max(1),
                dry_run: job.dry_run,
                progress: !job.quiet,
            };
            engine::send(ctx, validation, api, out, &settings, books, stop).map_err(sending)?
        }
    };
    if let Some(j) = books.journal {
        j.sync().map_err(sending)?;
    }
    if report.aborted.is_none() && stop.load(Ordering::Relaxed) {
        report.aborted = Some(("stopped by Ctrl-C or SIGTERM".into(), None));
    }
    Ok(report)
}

/// Requests, retries, 429s and recovered answers, for the summary.
fn counters(api: Option<&Api>) -> [u64; 4] {
    let Some(s) = api.map(|a| a.stats()) else { return [0; 4] };
    [&s.requests, &s.retries, &s.throttled, &s.recovered].map(|c| c.load(Ordering::Relaxed))
}

/// The exit code, or the abort with what to do next.
fn finish(job: &Job, summary: &Summary, aborted: Option<(String, Option<String>)>) -> Result<u8> {
    if let Some((message, hint)) = aborted {
        let next = if job.run.endpoint.sandbox {
            "the rows not done are marked pending in errors.csv".to_string()
        } else {
            format!("the rows not done are marked pending; {}", continue_with(job))
        };
        let hint = match hint {
            Some(h) => format!("{h}; {next}"),
            None => next,
        };
        return Err(Error::aborted(message, Some(hint)));
    }
    Ok(if summary.attention() > 0 { exit::ROWS_FAILED } else { exit::OK })
}

fn continue_with(job: &Job) -> String {
    format!("continue with: {}", resume::command(&job.out_dir))
}

/// The run's settings: the flags typed, or on `--resume` those the
/// interrupted run kept in its journal with only the speed flags typed now
/// on top.
fn settle(args: ImportArgs) -> Result<Job> {
    let Some(dir) = args.resume.clone() else {
        let file =
            args.run.file.clone().ok_or_else(|| Error::config("say which file to import"))?;
        return Ok(Job {
            out_dir: args.out.clone().unwrap_or_else(|| input::default_out_dir(&file)),
            speed: args.speed.over(Speed::default()),
            file,
            run: args.run,
            dry_run: args.dry_run,
            quiet: args.quiet,
            resuming: None,
        });
    };
    // The run goes on where it was, as it was: a dry run would overwrite its
    // results with "skipped", another --out would split it in two folders.
    let added = if args.dry_run { Some("--dry-run") } else { args.out.as_ref().map(|_| "--out") };
    if let Some(flag) = added {
        return Err(Error::config(format!(
            "--resume continues the run in {} with its own settings and folder; {flag} cannot \
             be added (only speed flags may change)",
            dir.display()
        )));
    }
    if dir.is_dir() && !dir.join(engine::journal::FILE).exists() {
        return Err(Error::config(format!(
            "{} has no journal: the run stopped before its first row was checked, so nothing \
             was sent; run the same import command again, without --resume",
            dir.display()
        )));
    }
    let header = Journal::header(&dir)?;
    let run: RunArgs = resume::take_back(&header.run, &args.run).map_err(|typed| {
        Error::config(format!(
            "the settings differ from the run in {} ({} given); only speed flags may change on \
             --resume",
            dir.display(),
            flag_names(&typed, &args.run).join(", ")
        ))
    })?;
    if run.endpoint.sandbox {
        return Err(Error::config(
            "a run against --sandbox cannot be resumed: its sandbox ended with it; start the import again",
        ));
    }
    let stored: Speed = serde_json::from_value(header.speed.clone()).unwrap_or_default();
    let file = run.file.clone().ok_or_else(|| Error::config("the journal names no input file"))?;
    Ok(Job {
        run,
        speed: args.speed.over(stored),
        file,
        out_dir: dir.clone(),
        dry_run: false,
        quiet: args.quiet,
        resuming: Some((dir, header)),
    })
}

/// The flags behind `RunArgs` field names, as a person typed them.
fn flag_names(fields: &[String], given: &RunArgs) -> Vec<String> {
    let command = crate::cli::command();
    let import = command.find_subcommand("import");
    fields
        .iter()
        .flat_map(|f| {
            if f == "switches" {
                let all = targets::switches();
                return given
                    .switches
                    .iter()
                    .map(|o| match all.iter().find(|s| s.option == o) {
                        Some(s) => format!("--{}", s.flag),
                        None => format!("--{o}"),
                    })
                    .collect();
            }
            let arg = import.and_then(|c| c.get_arguments().find(|a| a.get_id() == f.as_str()));
            vec![match arg.and_then(|a| a.get_long()) {
                Some(long) => format!("--{long}"),
                None => f.to_uppercase(),
            }]
        })
        .collect()
}

fn read_options(run: &RunArgs) -> Result<ReadOptions> {
    let encoding = match &run.encoding {
        Some(label) => Some(encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(
            || {
                Error::config(format!(
                    "--encoding {label:?} is not an encoding name (try windows-1252, utf-8, utf-16le)"
                ))
            },
        )?),
        None => None,
    };
    Ok(ReadOptions {
        sheet: run.sheet.clone(),
        encoding,
        delimiter: run.delimiter.as_deref().map(input::parse_delimiter).transpose()?,
        judge: None,
    })
}

/// The results files: `--output-format`, else the workbooks beside the
/// CSVs for a workbook input, and the CSVs alone for delimited text; the
/// CSVs keep the input's delimiter.
fn results_spec(run: &RunArgs, source: &Source) -> ResultsSpec {
    let delimiter = source.delimiter();
    let (csv, xlsx) = match run.output_format {
        Some(OutputFormat::Csv) => (true, false),
        Some(OutputFormat::Xlsx) => (false, true),
        Some(OutputFormat::Both) => (true, true),
        None => (true, delimiter.is_none()),
    };
    ResultsSpec {
        csv,
        xlsx,
        delimiter: delimiter.unwrap_or(b','),
        sheet: source.sheet_name().unwrap_or("People").to_string(),
    }
}

/// Opens the file and binds its headers; warns about what will be ignored.
fn open_input(
    job: &Job,
    info: &'static targets::TargetInfo,
    profile: &Profile,
    read: ReadOptions,
) -> Result<Input> {
    let input = reopen(job, info, profile, read)?;
    for w in input.source.warnings() {
        warn(w);
    }
    let m = &input.mapping;
    for note in &m.notes {
        warn(note);
    }
    if !m.unknown.is_empty() {
        // Each name clipped and at most ten of them: a file may have 20,000.
        let names: Vec<String> = m
            .unknown
            .iter()
            .map(|&i| format!("{:?}", crate::text::clip(&m.headers[i], 60)))
            .collect();
        let what = if names.len() == 1 {
            format!(
                "this column is not {} column, so it is not sent (it is",
                crate::text::a(info.template.brand())
            )
        } else {
            format!(
                "these columns are not {} columns, so they are not sent (they are",
                info.template.brand()
            )
        };
        warn(&format!("{what} kept in results.csv): {}", crate::text::capped_list(&names, 10)));
    }
    Ok(input)
}

fn reopen(
    job: &Job,
    info: &'static targets::TargetInfo,
    profile: &Profile,
    read: ReadOptions,
) -> Result<Input> {
    let source = Source::open(&job.file, &read)?;
    let mapping = Mapping::resolve(
        &info.template,
        &input::display(&job.file),
        source.headers(),
        profile,
        job.run.date_formats.clone(),
    )?
    .files_beside(&job.file)
    .decimal_comma(source.decimal_comma());
    Ok(Input { source, mapping, read })
}

/// The target's session, or an offline one for a dry run with no target.
fn open_session(
    target: &dyn Target,
    conn: Option<&Connection>,
    options: &Options,
) -> Result<Box<dyn Session>> {
    match conn {
        Some(c) => target.connect(&c.api, options).map_err(api_abort),
        None => {
            warn(
                "no target given: a dry run checks the file only; existing records are not \
                 found, and names only the target knows are not looked up",
            );
            Ok(target.offline(options))
        }
    }
}

/// Pass 1, read again as Windows-1252 when a file guessed to be UTF-8 turns
/// out not to be.
fn validate(
    job: &Job,
    input: &mut Input,
    base: &Base,
    profile: &Profile,
) -> Result<(Validation, Option<Report>)> {
    let info = base.info;
    loop {
        let ctx = base.context(input);
        // A dry run writes its results while it validates (see engine::validate).
        let draft = if job.dry_run {
            let spec = results_spec(&job.run, &input.source);
            Some(ResultFiles::create(&job.out_dir, &input.mapping, &spec)?)
        } else {
            None
        };
        match engine::validate(&ctx, draft) {
            Err(Error::Encoding(at)) if input.read.encoding.is_none() => {
                warn(&format!(
                    "{at}: the file is not valid UTF-8 after all; reading it again as Windows-1252. \
                     If accents look wrong in results.csv, give --encoding"
                ));
                let mut read = input.read.clone();
                read.encoding = Some(encoding_rs::WINDOWS_1252);
                *input = reopen(job, info, profile, read)?;
            }
            Err(e) => {
                if job.dry_run {
                    discard_draft(&job.out_dir);
                }
                return Err(e);
            }
            Ok(v) => {
                // A date column Excel rewrote (`5/13/2025`) whose values all
                // read in one day/month order: checked again in that order.
                let found = input.mapping.date_orders_found();
                if found.is_empty() {
                    return Ok(v);
                }
                for (field, order, example) in found {
                    let sep = values::SlashDate::parse(&example).map_or('/', |d| d.sep);
                    warn(&format!(
                        "{}: reading its dates as {} ({example:?} can only be read that way, \
                         and no value of the column contradicts it)",
                        input.mapping.label(field),
                        order.format(sep)
                    ));
                    input.mapping.set_date_order(field, order);
                }
            }
        }
    }
}

/// The first rows the target refused or failed, on the console (all of
/// them are in errors.csv), as the invalid ones are before sending.
fn report_failed(job: &Job, report: &Report) {
    let file = input::display(&job.file);
    for (row, msg) in &report.failed {
        eprintln!(
            "hrport: {}",
            crate::text::printable(&format!("{file} row {row}: failed: {msg}"))
        );
    }
    let failed = report.count(crate::output::Status::Failed);
    if failed > report.failed.len() as u64 {
        eprintln!(
            "hrport: ... and {} more failed (all in errors.csv)",
            crate::text::count(failed - report.failed.len() as u64, "row")
        );
    }
}

/// The first invalid rows on the console (all of them are in errors.csv).
fn report_invalid(job: &Job, validation: &Validation, mapping: &Mapping) {
    let file = input::display(&job.file);
    if validation.rows == 0 {
        warn(&format!("{file} has a header row but no data rows"));
    }
    for (&f, (n, rows)) in &validation.overridden {
        let rows: Vec<String> = rows.iter().map(u32::to_string).collect();
        warn(&format!(
            "the profile's [constants] {} = {:?} overrides the file's own column {:?}, which says \
             otherwise in {} of {file} (row{} {}{}); remove the constant or the column if that is \
             not meant",
            mapping.fields[f].column,
            mapping.constant(f).unwrap_or_default(),
            mapping.label(f),
            crate::text::count(*n, "row"),
            if *n == 1 { "" } else { "s" },
            rows.join(", "),
            if *n > rows.len() as u64 { ", ..." } else { "" }
        ));
    }
    let examples = validation.examples(10);
    for (row, msg) in &examples {
        eprintln!("hrport: {}", crate::text::printable(&format!("{file} row {row}: {msg}")));
    }
    if validation.invalid as usize > examples.len() {
        eprintln!(
            "hrport: ... and {} more invalid (all in errors.csv)",
            crate::text::count(validation.invalid - examples.len() as u64, "row")
        );
    }
    // What the run changes in records the target holds (the plan's heart).
    if job.dry_run {
        for (row, action, changes) in validation.first_changes(10) {
            let what = if changes.is_empty() { String::new() } else { format!(": {changes}") };
            eprintln!(
                "hrport: {}",
                crate::text::printable(&format!("{file} row {row}: {action}{what}"))
            );
        }
    }
}

/// The journal (for `--resume`): a new one, or the interrupted run's after
/// checking that the file and settings are still the same. Real runs only.
fn open_journal(job: &Job) -> Result<(Option<Journal>, Replay)> {
    if job.dry_run {
        return Ok((None, Replay::default()));
    }
    let run = absolute(&job.run)?;
    let settings = resume::to_data(&run);
    let profile_text =
        run.profile.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let file = run.file.clone().unwrap_or_default();
    let fp = resume::fingerprint(&file, &settings, &profile_text)?;
    let Some((dir, header)) = &job.resuming else {
        let header = Header {
            journal: engine::journal::VERSION,
            run: settings,
            speed: serde_json::to_value(&job.speed).unwrap_or_default(),
            input: file.display().to_string(),
            input_sha256: fp.input_sha256,
            settings_sha256: fp.settings_sha256,
            started: engine::journal::now(),
        };
        return Ok((Some(Journal::create(&job.out_dir, &header)?), Replay::default()));
    };
    if header.input_sha256 != fp.input_sha256 {
        return Err(Error::config(format!(
            "{} changed since the run in {} started (its contents differ); a resumed run must \
             read the same file: restore it, or start a new import",
            input::display(&job.file),
            dir.display()
        )));
    }
    if header.settings_sha256 != fp.settings_sha256 {
        return Err(Error::config(format!(
            "the settings differ from the run in {} (the profile changed); only speed flags may \
             change on --resume",
            dir.display()
        )));
    }
    let (j, _, replay) = Journal::resume(dir)?;
    eprintln!(
        "hrport: resuming {}: {} finished, {} in flight (looked up first)",
        dir.display(),
        crate::text::count(replay.done.len() as u64, "row"),
        replay.in_flight.len()
    );
    Ok((Some(j), replay))
}

/// The settings with absolute paths, so a resume works from any folder.
fn absolute(run: &RunArgs) -> Result<RunArgs> {
    let abs = |p: &Path| {
        std::path::absolute(p).map_err(|e| Error::config(format!("{}: {e}", p.display())))
    };
    Ok(RunArgs {
        file: run.file.as_deref().map(abs).transpose()?,
        profile: run.profile.as_deref().map(abs).transpose()?,
        ..run.clone()
    })
}

/// Removes a dry run's results written while the file was read, when the
/// file turned out unreadable part-way: an errors.csv is meant to be
/// imported again, and one that holds only the rows before the damage must
/// not be mistaken for the whole. The folder goes too if nothing else is in it.
fn discard_draft(out_dir: &Path) {
    for name in [RESULTS_CSV, ERRORS_CSV, RESULTS_XLSX, ERRORS_XLSX] {
        let _ = std::fs::remove_file(out_dir.join(name));
    }
    let _ = std::fs::remove_dir(out_dir);
}

/// Ctrl-C or SIGTERM: take no new rows, let the rows in flight finish, write
/// the results so far; a second one stops at once (the journal still lets
/// the run be resumed).
fn handle_signals(stop: &Arc<AtomicBool>, out_dir: &Path) {
    let stop = stop.clone();
    let hint = resume::command(out_dir);
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
