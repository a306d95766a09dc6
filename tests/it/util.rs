//! What the integration tests share: a work directory, the `Hrport` command
//! builder that runs the binary, sandbox helpers, reading output files. It
//! asserts nothing about hrport itself (except that an output CSV starts with
//! its BOM), so a test's checks stay in the test.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use hrport_sandbox::tracktik::Sim;
pub use hrport_sandbox::{Faults, Sandbox, SandboxConfig};
pub use serde_json::{Value, json};

pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        Work { dir: tempfile::tempdir().expect("temp dir") }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write test file");
        p
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One command line for the hrport binary, said flag by flag so a test
/// reads as what a user types: `Hrport::import(&file).target("tracktik")
/// .base_url(&url).out(w.path("o")).flag("--dry-run").envs(&TT_ENV).run()`.
/// Arguments keep the order they are given in; nothing is added, so a test
/// sends exactly the flags it names. The environment is cleared of every
/// `HRPORT_` variable the test process has, then given `env`.
#[must_use = "nothing runs until .run()"]
pub struct Hrport {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Hrport {
    /// The words that open the command line: `&["targets", "tracktik"]`.
    pub fn new(words: &[&str]) -> Hrport {
        Hrport { args: words.iter().map(OsString::from).collect(), env: Vec::new() }
    }
    /// `hrport import FILE`
    pub fn import(file: impl AsRef<OsStr>) -> Hrport {
        Hrport::new(&["import"]).word(file)
    }
    /// `hrport import --resume DIR`
    pub fn resume(dir: impl AsRef<OsStr>) -> Hrport {
        Hrport::new(&["import"]).arg("--resume", dir)
    }
    /// `hrport export`
    pub fn export() -> Hrport {
        Hrport::new(&["export"])
    }
    pub fn target(self, name: &str) -> Hrport {
        self.arg("--target", name)
    }
    pub fn base_url(self, url: impl AsRef<OsStr>) -> Hrport {
        self.arg("--base-url", url)
    }
    /// `--out DIR`, import's results directory.
    pub fn out(self, dir: impl AsRef<OsStr>) -> Hrport {
        self.arg("--out", dir)
    }
    /// `--output FILE`, export's and `profile init`'s file.
    pub fn output(self, file: impl AsRef<OsStr>) -> Hrport {
        self.arg("--output", file)
    }
    pub fn profile(self, file: impl AsRef<OsStr>) -> Hrport {
        self.arg("--profile", file)
    }
    /// A flag without a value: `.flag("--dry-run")`.
    pub fn flag(self, flag: &str) -> Hrport {
        self.word(flag)
    }
    /// A flag and its value: `.arg("--rate", "50")`.
    pub fn arg(self, flag: &str, value: impl AsRef<OsStr>) -> Hrport {
        self.word(flag).word(value)
    }
    /// Words as they come (a list a test builds, or a positional value).
    pub fn args(mut self, words: &[&str]) -> Hrport {
        self.args.extend(words.iter().map(OsString::from));
        self
    }
    fn word(mut self, word: impl AsRef<OsStr>) -> Hrport {
        self.args.push(word.as_ref().to_owned());
        self
    }
    /// One environment variable; a later one of the same name wins.
    pub fn env(mut self, name: &str, value: &str) -> Hrport {
        self.env.push((name.into(), value.into()));
        self
    }
    pub fn envs(self, vars: &[(&str, &str)]) -> Hrport {
        vars.iter().fold(self, |c, (k, v)| c.env(k, v))
    }
    /// The process to start, stdin closed, for a test that must watch or
    /// stop it while it runs (it sets stdout and stderr as it needs them).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hrport"));
        cmd.args(&self.args).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("HRPORT_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
    /// Runs it to the end, stdin closed.
    pub fn run(&self) -> Run {
        let out = self.command().output().expect("run hrport");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The sandbox's TrackTik credentials as hrport reads them (values from the
/// sandbox crate; `sandbox_env` does the same for any target).
pub const TT_ENV: [(&str, &str); 4] = {
    use hrport_sandbox::tracktik::{CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME};
    [
        ("HRPORT_TRACKTIK_CLIENT_ID", CLIENT_ID),
        ("HRPORT_TRACKTIK_CLIENT_SECRET", CLIENT_SECRET),
        ("HRPORT_TRACKTIK_USERNAME", USERNAME),
        ("HRPORT_TRACKTIK_PASSWORD", PASSWORD),
    ]
};

pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default())
}

pub fn sandbox_with(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).expect("start sandbox")
}

/// A profile in which TrackTik sends one request per step (`batch_size = 1`,
/// no `/batch/file`): for tests of how single requests are paced, retried
/// and settled, which batches would leave with too few requests.
pub fn per_step(w: &Work) -> PathBuf {
    w.write("per-step.toml", "target = \"tracktik\"\n[options]\nbatch_size = 1\n")
}

pub fn tt_url(sb: &Sandbox) -> String {
    format!("{}{}", sb.url(), hrport_sandbox::tracktik::ACCESS.prefix)
}

/// `--rate 500 --concurrency 4` unless `extra` sets them, then `extra`: the
/// fast settings of the import helpers.
fn fast(mut cmd: Hrport, extra: &[&str]) -> Hrport {
    for (flag, default) in [("--rate", "500"), ("--concurrency", "4")] {
        if !extra.contains(&flag) {
            cmd = cmd.arg(flag, default);
        }
    }
    cmd.args(extra)
}

/// `hrport import FILE --target tracktik` into the sandbox, fast settings.
pub fn import(sb: &Sandbox, file: &Path, out: &Path, extra: &[&str]) -> Run {
    let cmd = Hrport::import(file).target("tracktik").base_url(tt_url(sb)).out(out);
    fast(cmd, extra).envs(&TT_ENV).run()
}

/// A CSV hrport wrote: checks the BOM, returns header + rows. Its
/// delimiter is the input's, so it is taken from the header line (the one
/// of `, ; TAB |` it holds most of).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{} has no UTF-8 BOM", path.display());
    let header = bytes[3..].split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| (header.iter().filter(|b| *b == d).count(), *d == b','))
        .unwrap_or(b',');
    let mut r =
        csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).from_reader(&bytes[3..]);
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

/// The rows of a results file as maps from column name to cell.
pub fn rows_by_name(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let all = read_csv(path);
    let header = &all[0];
    all[1..].iter().map(|r| header.iter().cloned().zip(r.iter().cloned()).collect()).collect()
}

/// (hrport_row, hrport_status, hrport_error) of every row of a results file.
pub fn statuses(path: &Path) -> Vec<(String, String, String)> {
    rows_by_name(path)
        .into_iter()
        .map(|r| (r["hrport_row"].clone(), r["hrport_status"].clone(), r["hrport_error"].clone()))
        .collect()
}

pub fn employees(sb: &Sandbox) -> Vec<Value> {
    sb.with(|s: &mut Sim| s.employees.values().cloned().collect())
}

pub fn employee_by_email(sb: &Sandbox, email: &str) -> Option<Value> {
    employees(sb)
        .into_iter()
        .find(|e| e["email"].as_str().is_some_and(|m| m.eq_ignore_ascii_case(email)))
}

/// The ids of every employee with this e-mail (more than one is a duplicate).
pub fn ids_with_email(s: &Sim, email: &str) -> Vec<u64> {
    s.employees.values().filter(|e| e["email"] == email).filter_map(|e| e["id"].as_u64()).collect()
}

pub fn role_name_of(sb: &Sandbox, id: u64) -> Option<String> {
    sb.with(|s: &mut Sim| s.role_of(id).and_then(|r| s.role_name(r).map(str::to_string)))
}

/// The template header line plus rows, as CSV text.
pub fn csv_text(rows: &[&str]) -> String {
    rows.iter().map(|r| format!("{r}\r\n")).collect()
}

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Where the sandbox serves a target and the credentials it accepts.
pub fn access(target: &str) -> &'static hrport_sandbox::VendorAccess {
    hrport_sandbox::access(target).expect("the sandbox imitates every target")
}

/// The sandbox's credentials for a target, as the environment variables
/// hrport reads (names from the target's description, values from the
/// sandbox's).
pub fn sandbox_env(target: &str) -> Vec<(String, String)> {
    let info = hrport::targets::find(target).expect("known target").info();
    access(target).credentials.iter().map(|(k, v)| (info.env_var(k), v.to_string())).collect()
}

/// `hrport import FILE --target TARGET` into the sandbox, fast settings,
/// with the sandbox's credentials (`env` adds or overrides variables).
pub fn import_to(
    sb: &Sandbox,
    target: &str,
    file: &Path,
    out: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let url = format!("{}{}", sb.url(), access(target).prefix);
    let cmd = Hrport::import(file).target(target).base_url(url).out(out);
    let vars = sandbox_env(target);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // `env` after the sandbox's: a variable named in both takes `env`'s value.
    fast(cmd, extra).envs(&vars).envs(env).run()
}

/// `hrport export --target TARGET` from the sandbox into `file`.
pub fn export_from(sb: &Sandbox, target: &str, file: &Path, extra: &[&str]) -> Run {
    let url = format!("{}{}", sb.url(), access(target).prefix);
    let vars = sandbox_env(target);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Hrport::export()
        .target(target)
        .base_url(url)
        .output(file)
        .arg("--rate", "500")
        .args(extra)
        .envs(&vars)
        .run()
}

/// A target signed in to the sandbox through the library, as `import`
/// connects it: for tests that call a session's methods (`update`,
/// `set_active`) directly, before the engine calls them.
pub struct Connected {
    pub api: hrport::transport::Api,
    pub session: Box<dyn hrport::targets::Session>,
}

/// Connects `target` (default options) to the sandbox, fast settings.
pub fn connect(sb: &Sandbox, target: &str) -> Connected {
    use hrport::transport::{Api, Transport, TransportConfig};
    let t = hrport::targets::find(target).expect("known target");
    let options = hrport::targets::options(t, &toml::Table::new(), &[]).expect("default options");
    let cfg = TransportConfig {
        base_url: format!("{}{}", sb.url(), access(target).prefix),
        rate: 500.0,
        timeout: std::time::Duration::from_secs(10),
        policy: hrport::transport::retry::Policy::default(),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let transport = Transport::new(&cfg, stop).expect("transport");
    let mut creds = hrport::transport::Credentials::default();
    for (field, value) in access(target).credentials {
        creds.0.insert(field, hrport::secret::Secret::new(*value));
    }
    let api = Api::new(transport, t.auth(&creds, &options), t.errors());
    api.authenticate().expect("sign in to the sandbox");
    let session = t.connect(&api, &options).expect("connect");
    Connected { api, session }
}

/// One spreadsheet bound to a target's template, as `import` reads it:
/// `header` and `rows` are CSV lines.
pub struct Sheet {
    pub mapping: hrport::mapping::Mapping,
    pub records: Vec<hrport::input::Record>,
}

impl Sheet {
    pub fn new(target: &str, header: &str, rows: &[&str]) -> Sheet {
        let line = |l: &str| {
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(l.as_bytes());
            r.records().next().expect("a line").expect("CSV")
        };
        let headers: Vec<String> = line(header).iter().map(str::to_string).collect();
        let template = &hrport::targets::find(target).expect("known target").info().template;
        let mapping = hrport::mapping::Mapping::resolve(
            template,
            "sheet.csv",
            &headers,
            &hrport::mapping::profile::Profile::default(),
            Vec::new(),
        )
        .expect("the header binds");
        let records = rows
            .iter()
            .enumerate()
            .map(|(i, r)| hrport::input::Record {
                row: i as u32 + 2,
                fields: line(r).iter().collect(),
                shape_error: None,
                kinds: Vec::new(),
            })
            .collect();
        Sheet { mapping, records }
    }

    /// Row `i`'s values, mapped against the session's reference tables.
    pub fn values<'s>(
        &'s self,
        i: usize,
        session: &dyn hrport::targets::Session,
    ) -> Vec<hrport::mapping::Value<'s>> {
        let (mut values, mut problems) = (Vec::new(), Vec::new());
        self.mapping.map_row(&self.records[i], session.refs(), &mut values, &mut problems);
        assert!(problems.is_empty(), "row {i}: {problems:?}");
        values
    }

    /// The template field a column name means.
    pub fn field(&self, name: &str) -> usize {
        hrport::mapping::find_field(self.mapping.fields, name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

/// A session of `target` connected through the library to the sandbox, as
/// `hrport import` connects (`options`: a profile's `[options]` as TOML),
/// and the API it sends with: for tests of `Session` calls the engine makes.
pub fn session(
    sb: &Sandbox,
    target: &str,
    options: &str,
) -> (hrport::transport::Api, Box<dyn hrport::targets::Session>) {
    use hrport::secret::Secret;
    use hrport::transport::auth::Credentials;
    use hrport::transport::retry::Policy;
    use hrport::transport::{Api, Transport, TransportConfig};
    let t = hrport::targets::find(target).expect("known target");
    let profile: toml::Table = toml::from_str(options).expect("options as TOML");
    let opts = hrport::targets::options(t, &profile, &[]).expect("valid options");
    let mut creds = Credentials::default();
    for (field, value) in access(target).credentials {
        creds.0.insert(field, Secret::new(*value));
    }
    let cfg = TransportConfig {
        base_url: format!("{}{}", sb.url(), access(target).prefix),
        rate: 500.0,
        timeout: std::time::Duration::from_secs(10),
        policy: Policy { max_retries: 0, ..Policy::default() },
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let api = Api::new(Transport::new(&cfg, stop).unwrap(), t.auth(&creds, &opts), t.errors());
    api.authenticate().expect("sign in to the sandbox");
    let s = t.connect(&api, &opts).expect("connect");
    (api, s)
}

/// The index of a template column of `target`.
pub fn field(target: &str, column: &str) -> usize {
    let fields = hrport::targets::find(target).unwrap().info().template.fields;
    hrport::mapping::find_field(fields, column).unwrap_or_else(|| panic!("no column {column}"))
}

/// One row (`row`, CSV under the CSV `header`) mapped as an import maps it
/// against the session's references; `f` gets the mapping, the values and
/// the problems found, the session's own checks included.
pub fn with_row<R>(
    s: &dyn hrport::targets::Session,
    target: &str,
    header: &str,
    row: &str,
    f: impl FnOnce(&hrport::mapping::Mapping, &[hrport::mapping::Value], Vec<String>) -> R,
) -> R {
    let info = hrport::targets::find(target).unwrap().info();
    let split = |line: &str| {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
        r.records().next().unwrap().unwrap()
    };
    let headers: Vec<String> = split(header).iter().map(str::to_string).collect();
    let profile = hrport::mapping::profile::Profile::default();
    let m = hrport::mapping::Mapping::resolve(&info.template, "t.csv", &headers, &profile, vec![])
        .expect("the header maps");
    let rec = hrport::input::Record {
        row: 2,
        fields: split(row).iter().collect(),
        shape_error: None,
        kinds: Vec::new(),
    };
    let (mut values, mut problems) = (Vec::new(), Vec::new());
    m.map_row(&rec, s.refs(), &mut values, &mut problems);
    s.check(&values, &m, &mut problems);
    f(&m, &values, problems.iter().map(|p| p.to_string()).collect())
}

/// A row for `Session::update`/`set_active`: number 2, no existing record
/// passed (the engine knows it by id), no person references.
pub fn row_input<'a>(values: &'a [hrport::mapping::Value<'a>]) -> hrport::targets::RowInput<'a> {
    hrport::targets::RowInput { row: 2, values, existing: None, people: &[] }
}
