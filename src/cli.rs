//! The command-line interface: every flag, its default and its help text.
//!
//! Only parsing lives here (clap derive); nothing in this file opens files,
//! reads the environment or talks to a target. Secrets are deliberately not
//! flags: they come from the environment (see `targets::Credentials`), so they
//! never show up in a shell history or the process list.

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use crate::targets;

/// The whole command line, with the switches the targets declare added to
/// `import` (clap's derive cannot list them: they come from `TARGETS`).
/// Completions and the man page are made from this too.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("import", |mut import| {
        for s in targets::switches() {
            import = import
                .arg(clap::Arg::new(s.option).long(s.flag).action(ArgAction::SetTrue).help(s.help));
        }
        import
    })
}

/// Parses a command line as `main` does: clap's own errors and `--help`
/// exit here, with clap's exit code 2 for errors.
pub fn parse_from(argv: impl IntoIterator<Item = String>) -> Cli {
    let matches = command().get_matches_from(argv);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Import(a), Some(m)) = (&mut cli.command, matches.subcommand_matches("import"))
    {
        a.run.switches = targets::switches()
            .iter()
            .filter(|s| m.get_flag(s.option))
            .map(|s| s.option.to_string())
            .collect();
    }
    cli
}

#[derive(Debug, Parser)]
#[command(
    name = "hrport",
    version,
    about = "Move people between HR spreadsheets and workforce systems.",
    after_help = "Exit codes: 0 every row succeeded; 1 some rows are invalid or failed; \
                  2 usage, configuration or input-file error (nothing sent); 3 run aborted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a spreadsheet and create its people in a target.
    // A flag given twice keeps the last: `--resume` puts the interrupted
    // run's flags first, so the ones typed now win.
    #[command(args_override_self = true)]
    Import(Box<ImportArgs>),
    /// Write every person a target holds into a spreadsheet the import reads.
    Export(ExportArgs),
    /// Write an empty .xlsx template for a target: its columns, a note on
    /// each, dropdowns from the tenant's lists.
    Template(TemplateArgs),
    /// Run the local imitation of the vendors' APIs until stopped.
    Sandbox(SandboxArgs),
    /// Mapping profiles for spreadsheets that do not use the template headers.
    Profile(ProfileArgs),
    /// List the targets, or the template columns of one target.
    Targets(TargetsArgs),
    /// Print a shell completion script to standard output.
    Completions(CompletionsArgs),
    /// Print a manual page (roff) to standard output: hrport(1), or a
    /// subcommand's, e.g. `hrport man import` for hrport-import(1).
    Man(ManArgs),
}

/// Where to send: a real tenant (`--base-url`) or the built-in sandbox.
#[derive(Debug, Args, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Start the built-in sandbox on 127.0.0.1 and use it, with its demo data
    /// and credentials.
    #[arg(long, conflicts_with = "base_url")]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,

    /// What comes before the vendor's documented paths, e.g.
    /// https://acme.staffr.us for TrackTik.
    #[arg(long, value_name = "URL")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// How fast to send: the only flags a resumed run may change. Each is
/// optional so that a resume knows which ones were typed (see `Speed`).
#[derive(Debug, Args, Clone, Default)]
pub struct SpeedArgs {
    /// Requests per second across all workers, evenly spaced after the
    /// run's first few [default: 25].
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,

    /// Requests in flight at once [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Seconds to wait for one response before treating it as lost [default: 30].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,

    /// How many times one request is retried after a 5xx or a network error
    /// (after a 429 without Retry-After, four times as many) [default: 6].
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// Stop the run when this many rows in a row fail because the target is
    /// unavailable (5xx, timeouts), instead of failing every row [default: 10].
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u32>,
}

/// The speed a run uses: the flags typed over a base (the defaults, or the
/// interrupted run's speed on `--resume`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    pub rate: f64,
    pub concurrency: usize,
    pub timeout: f64,
    pub max_retries: u32,
    pub max_errors: u32,
}

impl Default for Speed {
    fn default() -> Speed {
        Speed { rate: 25.0, concurrency: 8, timeout: 30.0, max_retries: 6, max_errors: 10 }
    }
}

impl SpeedArgs {
    pub fn over(&self, base: Speed) -> Speed {
        Speed {
            rate: self.rate.unwrap_or(base.rate),
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            timeout: self.timeout.unwrap_or(base.timeout),
            max_retries: self.max_retries.unwrap_or(base.max_retries),
            max_errors: self.max_errors.unwrap_or(base.max_errors),
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub speed: SpeedArgs,

    /// Folder for results.csv, errors.csv and summary.json
    /// [default: a new timestamped folder beside the input].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Validate and map every row, look up what exists, but create nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not draw a progress bar.
    #[arg(long, short)]
    pub quiet: bool,

    /// Continue an interrupted import from its output folder: `hrport import
    /// --resume DIR` (speed flags such as --rate may be given again).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

/// What an import does with the records the target already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Create rows that match no record; update the fields that differ in
    /// records rows match; deactivate or reactivate as their lifecycle
    /// column says.
    #[default]
    Upsert,
    /// Only create: a matched record is `exists` and is not changed (its
    /// differences are listed).
    Create,
    /// Only change matched records: a row that matches none is invalid.
    Update,
    /// As upsert, then deactivate every active record within --scope that
    /// no row matched (within the --max-deactivations safeguard).
    Sync,
}

/// Which results files an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// results.xlsx and errors.xlsx only.
    Xlsx,
    /// results.csv and errors.csv only.
    Csv,
    /// Both.
    Both,
}

/// What defines an import: kept in its journal as data and fingerprinted,
/// and read back by `--resume`. A flag added here is kept by a resumed run
/// with no further code; one that must not be, is a speed flag or belongs
/// in `ImportArgs`. Every field is empty when not given, which is how a
/// resume tells that one was typed.
#[derive(Debug, Args, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunArgs {
    /// The spreadsheet: .csv/.txt/.tsv (any encoding Excel writes), .xlsx, .xls or .ods.
    #[arg(required_unless_present = "resume")]
    pub file: Option<PathBuf>,

    /// The system to import into.
    #[arg(
        long,
        required_unless_present = "resume",
        value_parser = target_parser(), ignore_case = true
    )]
    pub target: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub endpoint: Endpoint,

    /// Worksheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// Text encoding of a CSV file, e.g. windows-1252, utf-16le
    /// (default: from the byte-order mark, else UTF-8, else Windows-1252).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,

    /// CSV delimiter: one character, or "tab" (default: detected among , ; TAB |).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// Extra date format for date columns, in strftime form (e.g. %d/%m/%Y).
    /// May be repeated. ISO YYYY-MM-DD and Excel dates are always accepted.
    #[arg(long = "date-format", value_name = "FORMAT")]
    pub date_formats: Vec<String>,

    /// Mapping profile (TOML) for files that do not use the template headers.
    #[arg(long, value_name = "FILE.toml")]
    pub profile: Option<PathBuf>,

    /// Results files to write: xlsx (results.xlsx, errors.xlsx with the bad
    /// cells marked), csv, or both [default: both for a workbook input, csv
    /// for a CSV input].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<OutputFormat>,

    /// What rows do to the records the target holds [default: upsert].
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<Mode>,

    /// With --mode sync: only records whose exported COLUMN is VALUE are
    /// deactivated when the file leaves them out (e.g. Region=EMEA);
    /// repeatable, all must hold.
    #[arg(long, value_name = "COLUMN=VALUE")]
    pub scope: Vec<String>,

    /// With --mode sync: the most records a run may deactivate [default:
    /// 10% of the active records in scope, at most 100].
    #[arg(long, value_name = "N")]
    pub max_deactivations: Option<u64>,

    /// Length of the passwords hrport generates when a row needs one [default: 16].
    #[arg(long, value_name = "N")]
    pub password_length: Option<usize>,

    /// Character classes of generated passwords: u upper case, l lower case,
    /// d digits, s symbols [default: ulds].
    #[arg(long, value_name = "CLASSES")]
    pub password_classes: Option<String>,

    /// The targets' own switches given (`--enable-login`, ...), by option
    /// name: declared by each target (`Target::switches`), added to the
    /// command by `command()`, filled in by `parse_from`.
    #[arg(skip)]
    pub switches: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The system to export from.
    #[arg(long, value_parser = target_parser(), ignore_case = true)]
    pub target: String,

    #[command(flatten)]
    pub endpoint: Endpoint,

    #[command(flatten)]
    pub speed: SpeedArgs,

    /// File to write: .csv (UTF-8 with BOM) or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,

    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,

    /// Also export people the target marks as terminated.
    #[arg(long)]
    pub include_terminated: bool,

    /// Mapping profile whose [options] apply (a role-name table, the
    /// terminated statuses); its column mappings are not used.
    #[arg(long, value_name = "FILE.toml")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The system the template is for.
    #[arg(long, value_parser = target_parser(), ignore_case = true)]
    pub target: String,

    #[command(flatten)]
    pub endpoint: Endpoint,

    /// The .xlsx file to write.
    #[arg(long, value_name = "FILE.xlsx")]
    pub output: PathBuf,

    /// Mapping profile whose [options] name tables (roles, locations) give
    /// dropdowns too; without --sandbox or --base-url, the only lists.
    #[arg(long, value_name = "FILE.toml")]
    pub profile: Option<PathBuf>,

    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    pub listen: String,

    /// Requests per minute each vendor accepts before answering 429 (0: no limit).
    #[arg(long, default_value_t = 0, value_name = "N_PER_MINUTE")]
    pub rate_limit: u32,

    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub latency_ms: u64,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub token_ttl: u64,

    /// Send a Retry-After header with the rate limit's 429 answers.
    #[arg(long)]
    pub retry_after: bool,

    // Faults: each SHARE (0-1) is drawn per request from a generator seeded
    // with --fault-seed; sign-in requests are never touched.
    /// Answer this share (0-1) of requests with 503, unprocessed.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_unavailable: f64,

    /// Answer this share (0-1) of requests with 500, 502 or 503 (the seed
    /// picks which), unprocessed.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_server_error: f64,

    /// Cut the connection of this share (0-1) of requests before a complete
    /// answer, unprocessed: the client sees a network error.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_reset: f64,

    /// Hold this share (0-1) of requests for --fault-slow-ms, then process
    /// and answer them: a client that gave up meanwhile finds the change made
    /// after it looked.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_slow: f64,

    /// How long a slow request waits before it is processed, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub fault_slow_ms: u64,

    /// Process this share (0-1) of requests but hold the answer back for
    /// --fault-lost-delay-ms, as if it were lost.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_lost: f64,

    /// How long a lost answer is held back, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub fault_lost_delay_ms: u64,

    /// Start a burst of 429 answers at this share (0-1) of requests: the
    /// next --fault-burst requests to that vendor are refused.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE", value_parser = share)]
    pub fault_throttle: f64,

    /// How many consecutive requests one 429 burst refuses.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub fault_burst: u32,

    /// Send `Retry-After: SECS` with the 429s of a burst (default: no header).
    #[arg(long, value_name = "SECS")]
    pub fault_retry_after: Option<u64>,

    /// TrackTik: a /batch/file call with more than N operations runs only N,
    /// then answers 504 without a body (the vendor names 50 as the risk).
    #[arg(long, value_name = "N")]
    pub fault_batch_timeout_above: Option<usize>,

    /// Seed for the fault injector: the same seed and the same requests give
    /// the same faults.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub fault_seed: u64,
}

/// A target's name in any case (`--target TrackTik`), given on as the
/// lower-case name every other part of hrport uses.
fn target_parser() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(targets::names()).map(|s| s.to_ascii_lowercase())
}

/// A share of requests: a number from 0 to 1.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a share of requests from 0 to 1 (0.05 is 5%)")),
    }
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Write a commented starter profile for a target.
    Init {
        #[arg(long, value_parser = target_parser(), ignore_case = true)]
        target: String,
        /// Where to write it (default: standard output).
        #[arg(long, value_name = "FILE.toml")]
        output: Option<PathBuf>,
        /// A spreadsheet whose columns the profile matches to the template
        /// (by name, alias and common HR names), each match commented.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// The sheet of a --from workbook to read (default: as import chooses).
        #[arg(long, requires = "from")]
        sheet: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete hrport's subcommands and flags in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`import`, `profile init`);
    /// without it, hrport(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    /// A target name; without it, list the targets.
    #[arg(value_parser = target_parser(), ignore_case = true)]
    pub name: Option<String>,
}
