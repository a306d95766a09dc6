//! Speed and memory figures for the README's goals; run `scripts/bench.sh`
//! (or `cargo bench --bench import`). Not a test: it prints, it never fails
//! on a number, because shared machines are noisy. Every figure comes with a
//! baseline measured in the same run on the same input, and the ratio.
//!
//! 1. `import --dry-run` of a generated 200,000-row CSV; baseline: parsing
//!    the same file with the csv crate alone.
//! 2. `import --dry-run` of a generated 100,000-row XLSX; baseline: calamine
//!    loading the same sheet alone.
//! 3. Sending: requests per second achieved against a sandbox whose limit is
//!    known, with `--rate` set to that limit; baseline: the limit.
//! 4. A tenant of 100,000 existing records: the bytes the comparison data
//!    keeps per record (`Tenant::bytes_per_record`, and the live heap it
//!    holds, hash table included); and `import --dry-run` of a 100,000-row
//!    edited export against it; baseline: the same dry run against an empty
//!    tenant. The listing of the tenant is left out of the comparison (see
//!    `tenant_figures`).
//! 5. Requests per created employee, importing a clean file of new people:
//!    TrackTik with `/batch/file`, SCIM with `/Bulk` (sign-in and the
//!    start-up look-ups included); baseline: the same file into the same
//!    empty sandbox with batches turned off (`batch_size = 1`,
//!    `bulk = false`), one request per step.
//! 6. Sending under 429s (`burst_figures`): 300 rows into a sandbox limited
//!    to 2,400/min with `--rate 50`, with 1 % of requests starting a burst
//!    of five 429s; baseline: the same run without the bursts. And a hidden
//!    limit at 70 % of `--rate`: the share of it used and of requests
//!    answered 429; baseline: the limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hrport_sandbox::tracktik::Sim;
use hrport_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

/// The system allocator, counting the bytes live in this process, so the
/// bench can see what the tenant snapshot really holds (its hash table and
/// keys included). One relaxed atomic add per allocation: no measurable
/// cost next to the figures above, which time the hrport binary anyway.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const REGIONS: [&str; 6] = ["Head Office", "NA-East", "NA-West", "EMEA", "APAC", "LATAM"];
const HEADER: [&str; 16] = [
    "Employee ID",
    "First Name",
    "Last Name",
    "Username",
    "Email",
    "Primary Phone",
    "Job Title",
    "Birthday",
    "Region",
    "Role",
    "City",
    "Country",
    "Employment Date",
    "Hourly Rate",
    "Weekly Hours Target",
    "Force Password Change",
];

fn row(i: usize) -> [String; 16] {
    [
        format!("{i:07}"),
        format!("First{i}"),
        format!("Last{i}"),
        format!("user{i}"),
        format!("user{i}@example.com"),
        format!("+1 555 {:04}", i % 10_000),
        "Security Officer".into(),
        format!("19{}-{:02}-{:02}", 70 + i % 30, 1 + i % 12, 1 + i % 28),
        REGIONS[i % 6].into(),
        "Guard".into(),
        "Toronto".into(),
        "CA".into(),
        format!("2026-12-{:02}", 1 + i % 28),
        format!("{}.50", 18 + i % 7),
        "40".into(),
        if i.is_multiple_of(3) { "yes".into() } else { "no".into() },
    ]
}

fn write_csv(path: &Path, n: usize) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(HEADER).unwrap();
    for i in 0..n {
        w.write_record(row(i)).unwrap();
    }
    w.flush().unwrap();
}

fn write_xlsx(path: &Path, n: usize) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let s = book.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..n {
        let r = row(i);
        let y = (i + 1) as u32;
        for (c, v) in r.iter().enumerate() {
            let c = c as u16;
            match c {
                7 | 12 => {
                    let p: Vec<u16> = v.split('-').map(|x| x.parse().unwrap()).collect();
                    let d = rust_xlsxwriter::ExcelDateTime::from_ymd(p[0], p[1] as u8, p[2] as u8)
                        .unwrap();
                    s.write_datetime_with_format(y, c, &d, &date).unwrap();
                }
                13 | 14 => {
                    s.write_number(y, c, v.parse::<f64>().unwrap()).unwrap();
                }
                _ => {
                    s.write_string(y, c, v).unwrap();
                }
            }
        }
    }
    book.save(path).unwrap();
}

/// Runs hrport; returns wall time and the peak memory it reported in
/// summary.json (the kernel's VmHWM for its own address space: a parent's
/// rusage would also count memory the child inherited before `exec`).
fn run(args: &[&str], out: &Path) -> (Duration, f64) {
    // Every run starts from no output folder, as with the default --out (a
    // new folder each run): replacing the last run's 35 MB results.csv
    // costs the kernel 10-20 ms of freeing its pages, which is no part of
    // reading and would fall on every run but the first.
    let _ = std::fs::remove_dir_all(out);
    let (wall, status) = launch(args, &[]);
    assert!(status.code().is_some_and(|c| c <= 1), "hrport failed: {status}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (wall, summary["peak_memory_mib"].as_f64().unwrap_or(f64::NAN))
}

/// Runs hrport with `env` added, quietly; its wall time and exit status.
fn launch<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(String, String)],
) -> (Duration, std::process::ExitStatus) {
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    (t.elapsed(), status)
}

/// Runs hrport with `env` added; returns wall time and its summary.json.
fn run_with(args: &[&str], env: &[(String, String)], out: &Path) -> (Duration, serde_json::Value) {
    let _ = std::fs::remove_dir_all(out);
    let (wall, status) = launch(args, env);
    assert!(status.code().is_some_and(|c| c <= 1), "hrport failed: {status}");
    let summary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (wall, summary)
}

/// Runs hrport with `env` added, expecting it to succeed; returns wall time.
fn run_plain(args: &[String], env: &[(String, String)]) -> Duration {
    let (wall, status) = launch(args, env);
    assert!(status.success(), "hrport failed: {status}");
    wall
}

/// The sandbox's TrackTik credentials as hrport reads them.
fn tt_env() -> Vec<(String, String)> {
    hrport_sandbox::tracktik::ACCESS
        .credentials
        .iter()
        .map(|(k, v)| (format!("HRPORT_TRACKTIK_{}", k.to_uppercase()), v.to_string()))
        .collect()
}

fn tt_url(sb: &Sandbox) -> String {
    format!("{}{}", sb.url(), hrport_sandbox::tracktik::ACCESS.prefix)
}

/// `n` employees as if made in TrackTik's web UI, each with a role (so a
/// re-import finds them complete), straight into the simulator.
fn seed_tenant(sb: &Sandbox, n: usize) {
    sb.with(|s: &mut Sim| {
        let roles: Vec<u64> = ["Guard", "Supervisor", "Dispatcher", "Mobile Patrol"]
            .iter()
            .map(|r| s.role_id(r).unwrap())
            .collect();
        let regions: Vec<u64> = REGIONS.iter().map(|r| s.region_id(r).unwrap()).collect();
        for i in 0..n {
            let r = row(i);
            let id = s.seed_employee(json!({
                "customId": r[0], "firstName": r[1], "lastName": r[2], "username": r[3],
                "email": r[4], "primaryPhone": r[5], "jobTitle": r[6], "birthday": r[7],
                "region": regions[i % regions.len()],
            }));
            s.user_roles
                .push(json!({"id": 10_000_000 + i, "user": id, "role": roles[i % roles.len()]}));
        }
    });
}

/// A session signed in to the sandbox through the library, as `import`
/// connects it (see tests/it/util.rs `connect`).
fn session(sb: &Sandbox) -> (hrport::transport::Api, Box<dyn hrport::targets::Session>) {
    use hrport::transport::{Api, Credentials, Transport, TransportConfig};
    let t = hrport::targets::find("tracktik").unwrap();
    let options = hrport::targets::options(t, &toml::Table::new(), &[]).unwrap();
    let cfg = TransportConfig {
        base_url: tt_url(sb),
        rate: 100_000.0,
        timeout: Duration::from_secs(600),
        policy: hrport::transport::retry::Policy::default(),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let transport = Transport::new(&cfg, stop).unwrap();
    let mut creds = Credentials::default();
    for (field, value) in hrport_sandbox::tracktik::ACCESS.credentials {
        creds.0.insert(field, hrport::secret::Secret::new(*value));
    }
    let api = Api::new(transport, t.auth(&creds, &options), t.errors());
    api.authenticate().unwrap();
    let session = t.connect(&api, &options).unwrap();
    (api, session)
}

/// Copies an export (CSV with BOM), changing the Job Title of every tenth
/// row; returns the number of rows and of rows changed.
fn edit_export(from: &Path, to: &Path) -> (usize, usize) {
    let bytes = std::fs::read(from).unwrap();
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    let mut w = csv::Writer::from_path(to).unwrap();
    let mut records = r.records();
    let header = records.next().unwrap().unwrap();
    let col = header.iter().position(|h| h == "Job Title").unwrap();
    w.write_record(&header).unwrap();
    let (mut rows, mut changed) = (0, 0);
    for rec in records {
        let rec = rec.unwrap();
        let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if rows % 10 == 0 {
            cells[col] = "Senior Security Officer".into();
            changed += 1;
        }
        w.write_record(&cells).unwrap();
        rows += 1;
    }
    w.flush().unwrap();
    (rows, changed)
}

/// What a user would pick instead of hrport to read `file`, timed by
/// scripts/bench-baseline.py in .venv-bench (scripts/setup-bench-python.sh),
/// and how many times faster hrport's whole dry run (`wall`) is.
fn python_baseline(kind: &str, file: &Path, what: &str, wall: Duration, aim: f64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-bench/bin/python");
    if !python.exists() {
        println!(
            "  {what}: not installed (run scripts/setup-bench-python.sh, or scripts/bench.sh)\n"
        );
        return;
    }
    let out = Command::new(python)
        .arg(root.join("scripts/bench-baseline.py"))
        .args([kind, file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(secs) = text.split_whitespace().next().and_then(|s| s.parse::<f64>().ok()) else {
        println!("  {what}: failed: {}\n", String::from_utf8_lossy(&out.stderr).trim());
        return;
    };
    println!("  baseline: {secs:>7.3} s  {what} on the same file (best of 5, the read alone)");
    println!("  hrport is {:.2} x faster than {what} (aim ≥ {aim})\n", secs / wall.as_secs_f64());
}

/// Figure 4A: the tenant snapshot's bytes per record, read through the
/// library so the allocator can count what it holds.
fn snapshot_figures(sb: &Sandbox, n: usize, seeded: Duration) {
    let (api, session) = session(sb);
    let live_before = LIVE.load(Ordering::Relaxed);
    let t = Instant::now();
    let tenant = hrport::engine::Tenant::load(session.as_ref(), &api).unwrap();
    let load = t.elapsed();
    let live = LIVE.load(Ordering::Relaxed).saturating_sub(live_before);
    let records = tenant.len();
    println!("tenant of {n} employees with roles (seeded in {:.1} s)", seeded.as_secs_f64());
    println!(
        "  tenant snapshot: {records} records, {} bytes per record (aim ≤ 512)",
        tenant.bytes_per_record()
    );
    println!(
        "  live heap the snapshot holds, hash table and keys included: {} bytes per record",
        live / records.max(1)
    );
    println!("  Tenant::load through the library, listing included: {:.2} s", load.as_secs_f64());
    drop(tenant);
    drop(session);
    drop(api);
}

/// Figures 4: the tenant snapshot's size, and the dry run against a full
/// tenant compared with the dry run against an empty one.
///
/// What is left out as "the listing": hrport's summary.json measures
/// `seconds.validate` from after the tenant is read (sign-in and every
/// listing request done, the snapshot built) to the end of the row checks,
/// and `seconds.send` the pass that writes each row's verdict; their sum is
/// all the work on rows, matching and diffing included, and none of the
/// listing. That sum is compared. The whole wall time, less the wall time
/// of `hrport export` of the same tenant (the same sign-in and listing,
/// plus writing the CSV), is printed too, as a check.
fn tenant_figures(dir: &Path, runs: usize) {
    let n =
        std::env::var("HRPORT_BENCH_TENANT").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let t = Instant::now();
    seed_tenant(&sb, n);
    let seeded = t.elapsed();
    let env = tt_env();
    let rate = "100000";

    // A: the snapshot, through the library.
    snapshot_figures(&sb, n, seeded);

    // The edited export.
    let exported = dir.join("tenant.csv");
    let export_args = export_args_for(&sb, rate, &exported);
    let listing = (0..runs).map(|_| run_plain(&export_args, &env)).min().unwrap();
    let edited = dir.join("edited.csv");
    let (rows, changed) = edit_export(&exported, &edited);

    let dry_run = |sb: &Sandbox, out: &Path| {
        let url = tt_url(sb);
        best(runs, || {
            let (wall, s) = run_with(
                &[
                    "import",
                    edited.to_str().unwrap(),
                    "--target",
                    "tracktik",
                    "--base-url",
                    &url,
                    "--rate",
                    rate,
                    "--dry-run",
                    "-q",
                    "--out",
                    out.to_str().unwrap(),
                ],
                &env,
                out,
            );
            let secs = |k: &str| s["seconds"][k].as_f64().unwrap_or(f64::NAN);
            let rows = secs("validate") + secs("send");
            // Best by the rows' time, the figure compared.
            (
                Duration::from_secs_f64(rows),
                (wall, s["peak_memory_mib"].as_f64().unwrap_or(f64::NAN), counts(&s)),
            )
        })
    };
    let (full_rows, (full_wall, full_rss, full_counts)) = dry_run(&sb, &dir.join("out-tenant"));
    drop(sb);
    let empty = Sandbox::start(SandboxConfig::default()).unwrap();
    let empty_listing = (0..runs)
        .map(|_| run_plain(&export_args_for(&empty, rate, &dir.join("empty.csv")), &env))
        .min()
        .unwrap();
    let (empty_rows, (empty_wall, empty_rss, empty_counts)) =
        dry_run(&empty, &dir.join("out-empty"));

    let (x, y) = (full_rows.as_secs_f64(), empty_rows.as_secs_f64());
    println!(
        "import --dry-run of the tenant's export, {rows} rows, {changed} with one cell edited"
    );
    println!(
        "  dry run of {rows} rows: {x:.3} s vs empty tenant {y:.3} s: ratio {:.2} (aim ≤ 2)   \
         [summary.json seconds.validate + seconds.send: every row matched and diffed, the \
         sign-in and listing before them left out]",
        x / y
    );
    println!("    against the tenant: {full_counts}; peak {full_rss:.1} MiB");
    println!(
        "    against an empty tenant: {empty_counts} (each row names a record ID the empty tenant \
         lacks); peak {empty_rss:.1} MiB"
    );
    println!(
        "  whole runs, for reference: {:.1} s vs {:.3} s; the listing alone, as `hrport export` \
         of the same tenant: {:.1} s vs {:.3} s (the sandbox's paging is slow at this size, and \
         noisy, so it is left out rather than subtracted)\n",
        full_wall.as_secs_f64(),
        empty_wall.as_secs_f64(),
        listing.as_secs_f64(),
        empty_listing.as_secs_f64()
    );
}

/// `hrport export` of the sandbox's TrackTik tenant into `file`, replaced
/// on each run (`--force`).
fn export_args_for(sb: &Sandbox, rate: &str, file: &Path) -> Vec<String> {
    let url = tt_url(sb);
    ["export", "--target", "tracktik", "--base-url", &url, "--rate", rate, "--force", "--output"]
        .iter()
        .map(|s| s.to_string())
        .chain([file.to_str().unwrap().to_string()])
        .collect()
}

/// A dry run's verdicts, from summary.json: the actions planned, and the
/// rows refused.
fn counts(s: &serde_json::Value) -> String {
    let mut parts: Vec<String> = s["actions"]
        .as_object()
        .map(|a| a.iter().map(|(k, v)| format!("{k} {v}")).collect())
        .unwrap_or_default();
    parts.push(format!("invalid {}", s["invalid"]));
    parts.join(", ")
}

fn best<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    (0..runs).map(|_| f()).min_by_key(|(d, _)| *d).unwrap()
}

/// Figures 1 and 2: `import --dry-run` of a big CSV and a big XLSX, each
/// beside the crate that parses it alone and the Python tool a user
/// would pick instead.
fn reading_figures(dir: &Path, runs: usize) {
    // 1. CSV
    let n = 200_000;
    let csv_path = dir.join("big.csv");
    write_csv(&csv_path, n);
    let size = std::fs::metadata(&csv_path).unwrap().len();
    let (base, _) = best(runs, || {
        let t = Instant::now();
        let mut r = csv::Reader::from_path(&csv_path).unwrap();
        let mut rec = csv::ByteRecord::new();
        let mut k = 0u64;
        while r.read_byte_record(&mut rec).unwrap() {
            k += rec.len() as u64;
        }
        assert!(k > 0);
        (t.elapsed(), ())
    });
    let out = dir.join("out-csv");
    let (wall, rss) = best(runs, || {
        run(
            &[
                "import",
                csv_path.to_str().unwrap(),
                "--target",
                "tracktik",
                "--dry-run",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
            &out,
        )
    });
    println!("import --dry-run, CSV, {n} rows ({:.1} MB)", size as f64 / 1e6);
    println!(
        "  hrport:   {:>7.3} s  {:>9.0} rows/s  peak {:.1} MiB   (aim: < 0.25 s, < 32 MiB)",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        rss
    );
    println!(
        "  baseline: {:>7.3} s  csv crate parsing the same file, nothing else",
        base.as_secs_f64()
    );
    println!("  ratio:    {:>7.2} x baseline", wall.as_secs_f64() / base.as_secs_f64());
    python_baseline("pandas", &csv_path, "pandas.read_csv", wall, 3.5);

    // 2. XLSX
    let n = 100_000;
    let xlsx_path = dir.join("big.xlsx");
    write_xlsx(&xlsx_path, n);
    let (base, _) = best(runs, || {
        use calamine::Reader;
        let t = Instant::now();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx_path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        assert!(range.height() > n);
        (t.elapsed(), ())
    });
    let out = dir.join("out-xlsx");
    let (wall, rss) = best(runs, || {
        run(
            &[
                "import",
                xlsx_path.to_str().unwrap(),
                "--target",
                "tracktik",
                "--dry-run",
                // The reading, not the results workbooks (written by default
                // for a workbook input; about ten times the CSVs' time).
                "--output-format",
                "csv",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
            &out,
        )
    });
    println!("import --dry-run, XLSX, {n} rows");
    println!(
        "  hrport:   {:>7.3} s  {:>9.0} rows/s  peak {:.1} MiB   (aim: < 1 s)",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        rss
    );
    println!(
        "  baseline: {:>7.3} s  calamine loading the same sheet, nothing else",
        base.as_secs_f64()
    );
    println!("  ratio:    {:>7.2} x baseline", wall.as_secs_f64() / base.as_secs_f64());
    python_baseline("calamine", &xlsx_path, "python-calamine, first sheet", wall, 1.2);
}

/// Figure 3: requests per second against a sandbox whose limit is known,
/// with `--rate` set to it.
fn pacing_figures(dir: &Path) {
    let per_minute = 6000u32;
    let limit = per_minute as f64 / 60.0;
    let sb = Sandbox::start(SandboxConfig {
        rate_limit_per_minute: per_minute,
        ..SandboxConfig::default()
    })
    .unwrap();
    let n = 400;
    let send_path = dir.join("send.csv");
    write_csv(&send_path, n);
    let out = dir.join("out-send");
    let access = hrport_sandbox::tracktik::ACCESS;
    let url = format!("{}{}", sb.url(), access.prefix);
    let rate = limit.to_string();
    // One request per step: this figure is about pacing, not batching.
    let per_step = dir.join("per-step.toml");
    std::fs::write(&per_step, "target = \"tracktik\"\n[options]\nbatch_size = 1\n").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args([
            "import",
            send_path.to_str().unwrap(),
            "--target",
            "tracktik",
            "--profile",
            per_step.to_str().unwrap(),
            "--base-url",
            &url,
            "--rate",
            &rate,
            "--concurrency",
            "8",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ])
        .envs(
            access
                .credentials
                .iter()
                .map(|(k, v)| (format!("HRPORT_TRACKTIK_{}", k.to_uppercase()), v)),
        )
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let achieved = summary["send_rate_per_second"].as_f64().unwrap_or(0.0);
    println!(
        "import into a sandbox limited to {per_minute}/min ({limit:.0}/s), --rate {limit:.0}, {n} rows"
    );
    println!(
        "  exit {}, created {}, requests {}, 429 answers {}",
        status.code().unwrap_or(-1),
        summary["created"],
        summary["requests"],
        summary["throttled_429"]
    );
    println!("  achieved: {achieved:>7.2} requests/s while sending");
    println!("  baseline: {limit:>7.2} requests/s, the sandbox's limit");
    println!(
        "  ratio:    {:>7.1} % of the limit   (aim: >= 97 %, no 429)",
        100.0 * achieved / limit
    );
    drop(sb);
    println!();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let runs = 5;
    // `cargo bench --bench import -- bursts`: only figures 6.
    if std::env::args().any(|a| a == "bursts") {
        println!("hrport benchmarks: sending under 429s only\n");
        burst_figures(dir.path());
        return;
    }
    // `cargo bench --bench import -- tenant`: only figures 4.
    if std::env::args().any(|a| a == "tenant") {
        println!("hrport benchmarks: the 100,000-record tenant only (best of 3 runs)\n");
        tenant_figures(dir.path(), 3);
        return;
    }
    // `cargo bench --bench import -- pacing`: only figure 3.
    if std::env::args().any(|a| a == "pacing") {
        println!("hrport benchmarks: sending against a known limit only\n");
        pacing_figures(dir.path());
        return;
    }
    // `cargo bench --bench import -- requests`: only figures 5.
    if std::env::args().any(|a| a == "requests") {
        println!("hrport benchmarks: requests per created employee only\n");
        requests_figures(dir.path());
        return;
    }
    println!("hrport benchmarks (best of {runs} runs each; machine is shared, expect noise)\n");

    // 1 and 2: reading.
    reading_figures(dir.path(), runs);
    // `cargo bench --bench import -- reading`: only figures 1 and 2.
    if std::env::args().any(|a| a == "reading") {
        return;
    }

    // 3. Sending against a known limit.
    pacing_figures(dir.path());

    // 4. A tenant of 100,000 existing records (best of 3: each dry run
    // against it lists the whole tenant first).
    tenant_figures(dir.path(), 3);
    println!();

    // 5. Requests per created employee.
    requests_figures(dir.path());

    // 6. Sending under 429 bursts and a hidden limit.
    burst_figures(dir.path());
}

/// Figures 5: requests per created employee, batched and one request per
/// step, for TrackTik (`/batch/file`) and SCIM (`/Bulk`).
fn requests_figures(dir: &Path) {
    let n = 1000;
    let tt = dir.join("hires-tracktik.csv");
    write_csv(&tt, n);
    let scim = dir.join("hires-scim.csv");
    let mut w = csv::Writer::from_path(&scim).unwrap();
    w.write_record(["User Name", "Given Name", "Family Name", "Email", "Employee Number"]).unwrap();
    for i in 0..n {
        let r = row(i);
        w.write_record([&r[3], &r[1], &r[2], &r[4], &r[0]]).unwrap();
    }
    w.flush().unwrap();
    for (target, file, what, off) in [
        ("tracktik", &tt, "/batch/file", "batch_size = 1"),
        ("scim", &scim, "/Bulk", "bulk = false"),
    ] {
        let (batched, created) = per_created(dir, target, file, None);
        let (single, _) = per_created(dir, target, file, Some(off));
        println!("requests per created employee, {target}, clean file of {n} new people");
        println!(
            "  hrport:   {batched:>7.3} requests per employee with {what} ({created} created)   (aim: <= 0.1)"
        );
        println!("  baseline: {single:>7.3} requests per employee, one request per step ({off})");
        println!("  ratio:    {:>7.3} x baseline\n", batched / single);
    }
}

/// Imports `file` into a new, empty sandbox (with `option` in a profile's
/// `[options]`); the requests hrport sent per record created, and how many
/// were created.
fn per_created(dir: &Path, target: &str, file: &Path, option: Option<&str>) -> (f64, u64) {
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let access = hrport_sandbox::access(target).unwrap();
    let url = format!("{}{}", sb.url(), access.prefix);
    let env: Vec<(String, String)> = access
        .credentials
        .iter()
        .map(|(k, v)| {
            (format!("HRPORT_{}_{}", target.to_uppercase(), k.to_uppercase()), v.to_string())
        })
        .collect();
    let out = dir.join(format!("out-requests-{target}"));
    let profile = dir.join(format!("requests-{target}.toml"));
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--target",
        target,
        "--base-url",
        &url,
        "--rate",
        "1000",
        "--concurrency",
        "8",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(o) = option {
        std::fs::write(&profile, format!("target = \"{target}\"\n[options]\n{o}\n")).unwrap();
        args.extend(["--profile", profile.to_str().unwrap()]);
    }
    let (_, summary) = run_with(&args, &env, &out);
    let created = summary["created"].as_u64().unwrap_or(0);
    let requests = summary["requests"].as_u64().unwrap_or(0);
    (requests as f64 / created.max(1) as f64, created)
}

/// Imports `file` into a fresh sandbox set up as `cfg`, with `--rate
/// rate`; returns the summary.
fn send_through(cfg: SandboxConfig, file: &Path, rate: &str, out: &Path) -> serde_json::Value {
    let sb = Sandbox::start(cfg).unwrap();
    let url = tt_url(&sb);
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    // One request per step: this measures pacing, which batches would leave
    // with too few requests to see.
    let profile = out.with_extension("toml");
    std::fs::write(&profile, "target = \"tracktik\"\n[options]\nbatch_size = 1\n").unwrap();
    let p = profile.to_str().unwrap();
    let args = ["import", f, "--target", "tracktik", "--base-url", &url, "--rate", rate];
    let rest = ["--profile", p, "--concurrency", "8", "-q", "--out", o];
    let (_, summary) = run_with(&[&args[..], &rest[..]].concat(), &tt_env(), out);
    summary
}

/// Rows created per second of sending, requests sent per second, and the
/// share answered 429, from a summary.
fn sending(s: &serde_json::Value) -> (f64, f64, f64) {
    let secs = s["seconds"]["send"].as_f64().unwrap_or(f64::NAN);
    let requests = s["requests"].as_f64().unwrap_or(f64::NAN);
    let throttled = s["throttled_429"].as_f64().unwrap_or(f64::NAN);
    (s["created"].as_f64().unwrap_or(0.0) / secs, requests / secs, throttled / requests)
}

/// Figures 6: the limiter against 429s it did not cause (bursts) and a
/// limit it was not told (hidden), each with its baseline from this run.
fn burst_figures(dir: &Path) {
    let n = 300;
    let file = dir.join("bursts.csv");
    write_csv(&file, n);
    let limited = SandboxConfig { rate_limit_per_minute: 2400, ..SandboxConfig::default() };
    let bursts =
        hrport_sandbox::Faults { seed: 12, throttle: 0.01, burst: 5, ..Default::default() };
    let clean = send_through(limited.clone(), &file, "50", &dir.join("out-clean"));
    let bursty = send_through(
        SandboxConfig { faults: bursts, ..limited },
        &file,
        "50",
        &dir.join("out-bursts"),
    );
    let ((base, base_rps, _), (got, got_rps, share)) = (sending(&clean), sending(&bursty));
    println!(
        "import of {n} rows into a sandbox limited to 2,400/min (40/s), --rate 50, concurrency 8"
    );
    println!(
        "  with 1 % of requests starting a burst of five 429s: {got:>6.1} rows/s ({got_rps:.1} requests/s, {:.1} % answered 429)",
        100.0 * share
    );
    println!(
        "  baseline, the same run without bursts:              {base:>6.1} rows/s ({base_rps:.1} requests/s)"
    );
    println!("  ratio:    {:>7.1} % of the baseline   (aim: >= 85 %)\n", 100.0 * got / base);

    let hidden = SandboxConfig { rate_limit_per_minute: 2100, ..SandboxConfig::default() };
    let s = send_through(hidden, &file, "50", &dir.join("out-hidden"));
    let (_, rps, share) = sending(&s);
    let accepted = rps * (1.0 - share);
    println!("import of {n} rows into a sandbox limited to 2,100/min (35/s, not told), --rate 50");
    println!(
        "  accepted: {accepted:>7.2} requests/s, {:.1} % of {} requests answered 429   (aim: <= 2 %)",
        100.0 * share,
        s["requests"]
    );
    println!("  baseline: {:>7.2} requests/s, the hidden limit", 35.0);
    println!("  ratio:    {:>7.1} % of the limit   (aim: >= 90 %)", 100.0 * accepted / 35.0);
}
