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

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hrport_sandbox::{Sandbox, SandboxConfig};

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
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let wall = t.elapsed();
    assert!(status.code().is_some_and(|c| c <= 1), "hrport failed: {status}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (wall, summary["peak_memory_mib"].as_f64().unwrap_or(f64::NAN))
}

fn best<T: Copy>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    (0..runs).map(|_| f()).min_by_key(|(d, _)| *d).unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let runs = 5;
    println!("hrport benchmarks (best of {runs} runs each; machine is shared, expect noise)\n");

    // 1. CSV
    let n = 200_000;
    let csv_path = dir.path().join("big.csv");
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
    let out = dir.path().join("out-csv");
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
    println!("  ratio:    {:>7.2} x baseline\n", wall.as_secs_f64() / base.as_secs_f64());

    // 2. XLSX
    let n = 100_000;
    let xlsx_path = dir.path().join("big.xlsx");
    write_xlsx(&xlsx_path, n);
    let (base, _) = best(runs, || {
        use calamine::Reader;
        let t = Instant::now();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx_path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        assert!(range.height() > n);
        (t.elapsed(), ())
    });
    let out = dir.path().join("out-xlsx");
    let (wall, rss) = best(runs, || {
        run(
            &[
                "import",
                xlsx_path.to_str().unwrap(),
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
    println!("  ratio:    {:>7.2} x baseline\n", wall.as_secs_f64() / base.as_secs_f64());

    // 3. Sending against a known limit.
    let per_minute = 6000u32;
    let limit = per_minute as f64 / 60.0;
    let sb = Sandbox::start(SandboxConfig {
        rate_limit_per_minute: per_minute,
        ..SandboxConfig::default()
    })
    .unwrap();
    let n = 400;
    let send_path = dir.path().join("send.csv");
    write_csv(&send_path, n);
    let out = dir.path().join("out-send");
    let access = hrport_sandbox::tracktik::ACCESS;
    let url = format!("{}{}", sb.url(), access.prefix);
    let rate = limit.to_string();
    let status = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args([
            "import",
            send_path.to_str().unwrap(),
            "--target",
            "tracktik",
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
}
