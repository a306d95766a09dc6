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

/// Runs the binary with a clean environment plus `env`.
pub fn hrport(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hrport"));
    cmd.args(args).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("HRPORT_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run hrport");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub const TT_ENV: [(&str, &str); 4] = [
    ("HRPORT_TRACKTIK_CLIENT_ID", "sandbox"),
    ("HRPORT_TRACKTIK_CLIENT_SECRET", "sandbox"),
    ("HRPORT_TRACKTIK_USERNAME", "api"),
    ("HRPORT_TRACKTIK_PASSWORD", "sandbox"),
];

pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default())
}

pub fn sandbox_with(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).expect("start sandbox")
}

pub fn tt_url(sb: &Sandbox) -> String {
    format!("{}/tracktik", sb.url())
}

/// `hrport import FILE --target tracktik` into the sandbox, fast settings.
pub fn import(sb: &Sandbox, file: &Path, out: &Path, extra: &[&str]) -> Run {
    let url = tt_url(sb);
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--target",
        "tracktik",
        "--base-url",
        &url,
        "--out",
        out.to_str().unwrap(),
    ];
    for (flag, default) in [("--rate", "500"), ("--concurrency", "4")] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    args.extend_from_slice(extra);
    hrport(&args, &TT_ENV)
}

/// A CSV hrport wrote: checks the BOM, returns header + rows.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{} has no UTF-8 BOM", path.display());
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[3..]);
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
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--target",
        target,
        "--base-url",
        &url,
        "--out",
        out.to_str().unwrap(),
    ];
    for (flag, default) in [("--rate", "500"), ("--concurrency", "4")] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    args.extend_from_slice(extra);
    let mut vars = sandbox_env(target);
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    hrport(&args, &vars)
}

/// `hrport export --target TARGET` from the sandbox into `file`.
pub fn export_from(sb: &Sandbox, target: &str, file: &Path, extra: &[&str]) -> Run {
    let url = format!("{}{}", sb.url(), access(target).prefix);
    let mut args = vec![
        "export",
        "--target",
        target,
        "--base-url",
        &url,
        "--output",
        file.to_str().unwrap(),
        "--rate",
        "500",
    ];
    args.extend_from_slice(extra);
    let vars = sandbox_env(target);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    hrport(&args, &vars)
}
