//! Interruptions: Ctrl-C, kill -9 and --resume; secrets in outputs. Only the
//! in-process sandbox is ever contacted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hrport_sandbox::tracktik::Sim;

use crate::util::*;

/// `n` TrackTik rows, every `bad`-th one invalid (no Region); every fourth
/// asks for a password change without giving a password (so hrport
/// generates one).
fn team(w: &Work, n: usize, bad: usize) -> std::path::PathBuf {
    let mut rows = vec![
        "Employee ID,First Name,Last Name,Email,Region,Role,Force Password Change".to_string(),
    ];
    for i in 0..n {
        let region = if bad > 0 && i % bad == bad - 1 { "" } else { "EMEA" };
        rows.push(format!(
            "R{i:05},P{i},Test,r{i}@example.com,{region},Guard,{}",
            if i % 4 == 0 { "yes" } else { "no" }
        ));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    w.write("team.csv", csv_text(&refs))
}

/// Starts `cmd` with the sandbox's TrackTik credentials, output captured.
fn spawn(cmd: Hrport) -> std::process::Child {
    cmd.envs(&TT_ENV).command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Lines of the journal that record a finished row.
fn finished(out: &Path) -> usize {
    std::fs::read_to_string(out.join("journal.jsonl"))
        .map(|j| j.matches("\"event\":\"done\"").count())
        .unwrap_or(0)
}

/// The sandbox holds each valid row exactly once, complete; nothing for
/// invalid rows; results.csv lists every row once with the right status.
fn assert_final_state(sb: &Sandbox, out: &Path, n: usize, bad: usize) -> (usize, usize) {
    let valid: Vec<usize> = (0..n).filter(|i| !(bad > 0 && i % bad == bad - 1)).collect();
    let (dups, lost) = sb.with(|s: &mut Sim| {
        let mut dups = 0;
        let mut lost = 0;
        for i in 0..n {
            let email = format!("r{i}@example.com");
            let found = ids_with_email(s, &email);
            let want = usize::from(valid.contains(&i));
            if found.len() > want {
                dups += 1;
            }
            if found.len() < want {
                lost += 1;
            }
            if let [id] = found.as_slice() {
                assert_eq!(
                    s.user_roles.iter().filter(|ur| ur["user"] == json!(id)).count(),
                    1,
                    "{email}: one role"
                );
                assert_eq!(
                    s.force_password_change.contains(id),
                    i % 4 == 0,
                    "{email}: password change"
                );
                if i % 4 == 0 {
                    assert!(s.passwords.contains_key(id), "{email}: a generated password was sent");
                }
            }
        }
        (dups, lost)
    });
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), n, "each input row once in results.csv");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["Employee ID"], format!("R{i:05}"), "in input order");
        let want = if valid.contains(&i) { "created" } else { "invalid" };
        assert_eq!(r["hrport_status"], want, "row {} {:?}", i + 2, r["hrport_error"]);
    }
    // Generated passwords: one per row that needed one, all different.
    let creds = read_csv(&out.join("credentials.csv"));
    let rows_with: std::collections::HashSet<&String> = creds[1..].iter().map(|c| &c[0]).collect();
    assert_eq!(rows_with.len(), valid.iter().filter(|i| *i % 4 == 0).count());
    (dups, lost)
}

#[test]
fn ctrl_c_finishes_the_rows_in_flight_and_resume_does_the_rest() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        latency: Duration::from_millis(30),
        ..SandboxConfig::default()
    });
    let file = team(&w, 80, 0);
    let out = w.path("out");
    let url = tt_url(&sb);
    let child = spawn(
        Hrport::import(&file)
            .target("tracktik")
            .profile(per_step(&w))
            .base_url(&url)
            .out(&out)
            .arg("--rate", "40")
            .flag("-q"),
    );
    let t = Instant::now();
    while finished(&out) < 10 {
        assert!(t.elapsed() < Duration::from_secs(20), "the import never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc_kill(child.id() as i32, 2) }; // SIGINT, as Ctrl-C
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("stopping: finishing the rows in flight"), "{stderr}");
    assert!(
        stderr.contains(&format!("continue with: hrport import --resume {}", out.display())),
        "{stderr}"
    );
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st.len(), 80);
    let pending = st.iter().filter(|s| s.1 == "pending").count();
    assert!(pending > 0 && st.iter().all(|s| s.1 == "created" || s.1 == "pending"), "{st:?}");
    // No row was left half done: every created employee has its role.
    let created = st.iter().filter(|s| s.1 == "created").count();
    sb.with(|s: &mut Sim| assert_eq!((s.employees.len(), s.user_roles.len()), (created, created)));

    let r = Hrport::resume(&out).arg("--rate", "200").envs(&TT_ENV).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!("resuming {}: {created} rows finished", out.display())),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("80 rows: 80 created"), "{}", r.stdout);
    assert_eq!(assert_final_state(&sb, &out, 80, 0), (0, 0));
}

/// A results file that cannot be written part-way through sending (a full
/// disk; here a file-size limit of 400 KB, which results.csv outgrows at
/// its second 256 KB flush) ends the run as aborted, exit 3, with the
/// command that continues it: rows went out, so "nothing was sent" (exit 2)
/// would be a lie. The resume, with room again, finishes every row once.
#[test]
fn an_output_file_that_fills_up_while_sending_is_exit_3_and_the_run_resumes() {
    let w = Work::new();
    let sb = sandbox();
    let n = 400;
    let notes = "n".repeat(2000);
    // As `team` writes them, plus a wide column results.csv keeps.
    let mut rows = vec![
        "Employee ID,First Name,Last Name,Email,Region,Role,Force Password Change,Notes"
            .to_string(),
    ];
    for i in 0..n {
        let change = if i % 4 == 0 { "yes" } else { "no" };
        rows.push(format!("R{i:05},P{i},Test,r{i}@example.com,EMEA,Guard,{change},{notes}"));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = w.write("team.csv", csv_text(&refs));
    let out = w.path("out");
    let url = tt_url(&sb);
    let mut cmd = Command::new("bash");
    // Ignored, SIGXFSZ turns into EFBIG from write(2), as ENOSPC would.
    cmd.args(["-c", "trap '' XFSZ; ulimit -f 400; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_hrport"))
        .args(["import", file.to_str().unwrap(), "--target", "tracktik", "--base-url", &url])
        .args(["--out", out.to_str().unwrap(), "--rate", "1000", "-q"])
        // One request per step, so the run is still sending when the file
        // fills up (50-row batches would all be in flight by then).
        .arg("--profile")
        .arg(per_step(&w))
        .stdin(Stdio::null())
        .envs(TT_ENV);
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let results = out.join("results.csv");
    assert!(stderr.contains(&format!("{}: cannot write: ", results.display())), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hint: fix that, then continue with: hrport import --resume {}",
            out.display()
        )),
        "{stderr}"
    );
    let sent = sb.with(|s: &mut Sim| s.employees.len());
    assert!(sent > 0 && sent < n, "stopped part-way: {sent} of {n} created");

    let r = Hrport::resume(&out).arg("--rate", "1000").envs(&TT_ENV).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("{n} rows: {n} created")), "{}", r.stdout);
    assert_eq!(assert_final_state(&sb, &out, n, 0), (0, 0));
}

#[test]
fn a_resume_refuses_a_changed_file_or_changed_settings_and_a_sandbox_run() {
    let w = Work::new();
    let sb = sandbox();
    let file = team(&w, 5, 0);
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("R99999,New,Row,new@example.com,EMEA,Guard,no\r\n");
    std::fs::write(&file, &text).unwrap();
    let r = Hrport::resume(&out).envs(&TT_ENV).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("changed since the run in"), "{}", r.stderr);
    // Same file again, different settings: refused; speed flags are fine.
    std::fs::write(
        &file,
        text.lines().take(6).map(|l| format!("{l}\n")).collect::<String>().replace('\n', "\r\n"),
    )
    .unwrap();
    let r = Hrport::resume(&out).arg("--date-format", "%d/%m/%Y").envs(&TT_ENV).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("the settings differ from the run in"), "{}", r.stderr);
    assert!(r.stderr.contains("(--date-format given)"), "names the flag: {}", r.stderr);
    let r = Hrport::resume(&out).arg("--rate", "3").arg("--concurrency", "1").envs(&TT_ENV).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("5 rows: 5 created"),
        "a finished run resumes as finished: {}",
        r.stdout
    );
    assert_eq!(sb.with(|s: &mut Sim| s.counters.creates), 5, "nothing sent twice");

    let r = Hrport::import(&file).target("tracktik").flag("--sandbox").out(w.path("sb")).run();
    assert_eq!(r.code, 0, "{r:?}");
    let r = Hrport::resume(w.path("sb")).run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("a run against --sandbox cannot be resumed"), "{}", r.stderr);
    let r = Hrport::resume(w.path("nowhere")).run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read the journal of the run to resume"), "{}", r.stderr);
}

/// A kill while the rows are still being checked, before anything is
/// sent, is no dead end: the journal is written before the first row is
/// checked, so `--resume` runs the import from the start. A folder with no
/// journal at all (a kill in the instant between the two) says to run the
/// command again.
#[test]
fn a_kill_while_rows_are_checked_resumes_as_a_fresh_run() {
    let w = Work::new();
    let sb = sandbox();
    // Many rows to check (all but every thousandth invalid), few to send.
    let n = 20_000;
    let file = team(&w, n, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    let text: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 || i % 1000 == 1 {
                format!("{l}\r\n")
            } else {
                format!("{}\r\n", l.replace("EMEA", ""))
            }
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    let out = w.path("out");
    let url = tt_url(&sb);
    let mut child =
        spawn(Hrport::import(&file).target("tracktik").base_url(&url).out(&out).flag("-q"));
    let t = Instant::now();
    while !out.join("journal.jsonl").exists() {
        assert!(t.elapsed() < Duration::from_secs(20), "no journal appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let r = Hrport::resume(&out).arg("--rate", "500").envs(&TT_ENV).run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains(&format!("{n} rows: 20 created")), "{}", r.stdout);
    let created: Vec<_> =
        statuses(&out.join("results.csv")).into_iter().filter(|s| s.1 == "created").collect();
    assert_eq!(created.len(), 20);
    assert_eq!(sb.with(|s: &mut Sim| s.employees.len()), 20, "each created once");

    // The folder without a journal: what to do instead.
    let bare = w.path("bare");
    std::fs::create_dir(&bare).unwrap();
    let r = Hrport::resume(&bare).envs(&TT_ENV).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("has no journal: the run stopped before its first row was checked, so nothing was sent; run the same import command again"),
        "{}",
        r.stderr
    );
}

/// Figures of one chaos round.
#[derive(Debug, Default)]
pub struct Chaos {
    runs: usize,
    kills: usize,
    duplicates: usize,
    lost: usize,
}

/// Imports `n` rows into a sandbox with faults on, killing the importer
/// with SIGKILL at `kills` random moments, resuming after each, and then
/// letting the last run finish.
fn chaos(seed: u64, n: usize, kills: usize) -> Chaos {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        faults: Faults {
            seed,
            unavailable: 0.04,
            server_error: 0.03,
            reset: 0.02,
            lost: 0.03,
            lost_delay: Duration::from_millis(600),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    });
    let bad = 37;
    let file = team(&w, n, bad);
    let out = w.path("out");
    let url = tt_url(&sb);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c = Chaos::default();
    let speed = [
        "--rate",
        "1000",
        "--concurrency",
        "32",
        "--timeout",
        "0.4",
        "--max-retries",
        "8",
        "--max-errors",
        "50",
        "-q",
    ];
    loop {
        c.runs += 1;
        let cmd = if out.join("journal.jsonl").exists() {
            Hrport::resume(&out)
        } else {
            Hrport::import(&file).target("tracktik").base_url(&url).out(&out)
        };
        let mut child = spawn(cmd.args(&speed));
        // Anywhere from start-up to well into the sending.
        let deadline =
            (c.kills < kills).then(|| Instant::now() + Duration::from_millis(rng.u64(50..2500)));
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        match status {
            Some(st) => {
                let o = child.wait_with_output().unwrap();
                assert!(
                    matches!(st.code(), Some(0 | 1)),
                    "run {} ended {st}: {}",
                    c.runs,
                    String::from_utf8_lossy(&o.stderr)
                );
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                c.kills += 1;
            }
        }
    }
    let (duplicates, lost) = assert_final_state(&sb, &out, n, bad);
    c.duplicates = duplicates;
    c.lost = lost;
    c
}

#[test]
fn kill_9_at_random_moments_then_resume_gives_every_row_exactly_once() {
    let c = chaos(20261122, 2000, 6);
    eprintln!("chaos: {c:?}");
    assert_eq!((c.duplicates, c.lost), (0, 0));
}

/// `scripts/chaos.sh`: many rounds, figures printed. Not part of the suite.
#[test]
#[ignore]
fn chaos_rounds() {
    let rounds: u64 = std::env::var("CHAOS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let rows: usize = std::env::var("CHAOS_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(2000);
    let kills: usize = std::env::var("CHAOS_KILLS").ok().and_then(|r| r.parse().ok()).unwrap_or(8);
    let mut total = Chaos::default();
    for seed in 1..=rounds {
        let c = chaos(seed, rows, kills);
        println!(
            "round {seed:>3}: {:>2} runs, {:>2} kills, {} duplicates, {} lost rows",
            c.runs, c.kills, c.duplicates, c.lost
        );
        total.runs += c.runs;
        total.kills += c.kills;
        total.duplicates += c.duplicates;
        total.lost += c.lost;
    }
    println!(
        "total: {rounds} rounds of {rows} rows, {} runs, {} kills, {} duplicates, {} lost rows",
        total.runs, total.kills, total.duplicates, total.lost
    );
}

#[test]
fn secrets_never_reach_an_output_a_log_or_the_journal() {
    let w = Work::new();
    let sb = sandbox();
    let markers = ["Mk-Client-7f3a", "Mk-Secret-91c2", "Mk-User-55d0", "Mk-Pass-e4b8"];
    sb.with(|s: &mut Sim| s.credentials = markers.map(String::from));
    let env: Vec<(&str, &str)> = TT_ENV.iter().map(|(k, _)| *k).zip(markers).collect();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Region,Role,Temporary Password,Force Password Change",
            "1,Ana,Silva,ana@example.com,EMEA,Guard,Mk-Row-Pass-0a1b,yes",
            "2,Bob,Stone,bob@example.com,EMEA,Guard,,yes",
            "3,Cy,Ray,cy@example,EMEA,Guard,Mk-Row-Pass-2c3d,no",
        ]),
    );
    let out = w.path("out");
    let url = tt_url(&sb);
    let r = Hrport::import(&file).target("tracktik").base_url(&url).out(&out).envs(&env).run();
    assert_eq!(r.code, 1, "{r:?}");
    let generated = sb.with(|s: &mut Sim| {
        let bob = s.employees.values().find(|e| e["email"] == "bob@example.com").unwrap()["id"]
            .as_u64()
            .unwrap();
        s.passwords[&bob].clone()
    });
    assert_eq!(generated.chars().count(), 16);
    let creds = std::fs::read_to_string(out.join("credentials.csv")).unwrap();
    assert!(creds.contains(&generated), "the generated password is in credentials.csv");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("credentials.csv")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "credentials.csv is private");
    }
    assert!(r.stdout.contains("passwords hrport generated:"), "{}", r.stdout);
    let mut secrets: Vec<String> = markers.iter().map(|m| m.to_string()).collect();
    secrets.extend(["Mk-Row-Pass-0a1b".to_string(), "Mk-Row-Pass-2c3d".to_string(), generated]);
    let mut places: Vec<(String, String)> =
        vec![("stdout".into(), r.stdout.clone()), ("stderr".into(), r.stderr.clone())];
    for entry in std::fs::read_dir(&out).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() != "credentials.csv" {
            places.push((
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
    assert!(places.iter().any(|(p, _)| p.ends_with("journal.jsonl")));
    for (place, text) in &places {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{s} leaked into {place}");
        }
    }
    // A refused sign-in does not echo them either.
    let mut wrong = env.clone();
    wrong[3] = ("HRPORT_TRACKTIK_PASSWORD", "Mk-Wrong-7777");
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(&url)
        .out(w.path("o2"))
        .envs(&wrong)
        .run();
    assert_eq!(r.code, 3);
    for s in markers.iter().chain(&["Mk-Wrong-7777"]) {
        assert!(!r.stderr.contains(s) && !r.stdout.contains(s), "{s}");
    }
}

unsafe fn libc_kill(pid: i32, sig: i32) {
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    unsafe { kill(pid, sig) };
}
