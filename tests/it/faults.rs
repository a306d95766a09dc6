//! Faults injected by the sandbox, one kind per test: whatever the target
//! does, every row ends `created` exactly once with its own id, each person
//! exists once with one role and the right password-change flag, and the
//! summary shows the fault really happened. Seeds are fixed, so the faults
//! come in the same order on every run (which request meets them depends on
//! timing, which is why the checks are about the end state).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hrport_sandbox::{Arrival, Injected};

use crate::util::*;

const ROLES: [&str; 3] = ["Guard", "Supervisor", "Dispatcher"];

/// `n` valid rows with roles in turn; every third asks for a password change.
fn hires(w: &Work, n: usize) -> PathBuf {
    let mut rows = vec![
        "Employee ID,First Name,Last Name,Email,Region,Role,Force Password Change".to_string(),
    ];
    for i in 0..n {
        rows.push(format!(
            "F{i:04},P{i},Fault,p{i}@example.com,EMEA,{},{}",
            ROLES[i % 3],
            if i % 3 == 0 { "yes" } else { "no" }
        ));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    w.write("hires.csv", csv_text(&refs))
}

/// What one faulty import left behind.
struct Ran {
    summary: Value,
    injected: Injected,
    elapsed: Duration,
    /// Every request the sandbox saw.
    arrivals: Vec<Arrival>,
}

impl Ran {
    fn count(&self, key: &str) -> u64 {
        self.summary[key].as_u64().unwrap_or_else(|| panic!("{key} in {}", self.summary))
    }
}

/// Imports `n` hires into a sandbox with `cfg`, expects exit 0, and checks
/// that nothing was lost or duplicated, in results.csv and in the sandbox.
fn import_hires(cfg: SandboxConfig, n: usize, flags: &[&str]) -> Ran {
    let w = Work::new();
    let settle = if cfg.faults.slow > 0.0 { cfg.faults.slow_delay } else { Duration::ZERO };
    let sb = sandbox_with(cfg);
    sb.record();
    let file = hires(&w, n);
    let out = w.path("out");
    // Each step its own request: these tests count on many of them.
    let profile = per_step(&w);
    let flags = [flags, &["--profile", profile.to_str().unwrap()]].concat();
    let started = Instant::now();
    let r = import(&sb, &file, &out, &flags);
    let elapsed = started.elapsed();
    assert_eq!(r.code, 0, "{r:?}");
    // Slow requests the client gave up on are still on their way in: let
    // them land, so a duplicate they would make is seen.
    std::thread::sleep(settle + Duration::from_millis(200));
    assert_created_once(&sb, &out, n);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["created"].as_u64(), summary["failed"].as_u64()),
        (Some(n as u64), Some(0))
    );
    let injected = sb.injected();
    eprintln!("{n} rows in {elapsed:.1?}: {injected:?}; summary {summary}");
    Ran { summary, injected, elapsed, arrivals: sb.arrivals() }
}

/// Every row `created` once with its own id, and the sandbox holding exactly
/// those employees, each with one role (the row's) and the row's password
/// change; the vendor saw exactly `n` successful creates.
fn assert_created_once(sb: &Sandbox, out: &Path, n: usize) {
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), n, "one result per row");
    assert!(statuses(&out.join("errors.csv")).is_empty(), "errors.csv has no rows");
    sb.with(|s: &mut Sim| {
        assert_eq!(s.employees.len(), n, "one employee per row");
        assert_eq!(s.counters.creates, n as u64, "the vendor created each person once");
        for (i, row) in rows.iter().enumerate() {
            let email = format!("p{i}@example.com");
            assert_eq!(row["Email"], email, "results keep the input order");
            assert_eq!(row["hrport_row"], (i + 2).to_string());
            assert_eq!(
                (row["hrport_status"].as_str(), row["hrport_error"].as_str()),
                ("created", "")
            );
            let found = ids_with_email(s, &email);
            assert_eq!(found.len(), 1, "{email} exists once");
            let id = found[0];
            assert_eq!(row["hrport_id"], id.to_string(), "row {} has its own id", i + 2);
            let roles: Vec<u64> = s
                .user_roles
                .iter()
                .filter(|ur| ur["user"] == json!(id))
                .filter_map(|ur| ur["role"].as_u64())
                .collect();
            assert_eq!(roles.len(), 1, "{email} has one role");
            assert_eq!(s.role_name(roles[0]), Some(ROLES[i % 3]), "{email}'s role");
            assert_eq!(
                s.force_password_change.contains(&id),
                i % 3 == 0,
                "{email} password change"
            );
        }
    });
}

/// A sandbox with these faults. Each seed below draws its kinds within its
/// first 35 draws and every import here makes over 60 requests, so checks
/// that a fault was injected cannot fail by chance.
fn faults(f: Faults) -> SandboxConfig {
    SandboxConfig { faults: f, ..SandboxConfig::default() }
}

#[test]
fn server_errors_are_retried_and_nothing_is_created_twice() {
    let ran = import_hires(
        faults(Faults { seed: 101, server_error: 0.2, ..Faults::default() }),
        30,
        &["--concurrency", "6", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.server_errors > 0, "{inj:?}");
    // Each 500/502/503 cost one retry (a create's after a look-up), and as
    // none was processed, no look-up found anything.
    assert!(ran.count("retries") >= inj.server_errors, "{}", ran.summary);
    assert_eq!(ran.count("recovered_lost_answers"), 0, "{}", ran.summary);
}

#[test]
fn cut_connections_are_network_errors_retried_after_a_look_up() {
    let ran = import_hires(
        faults(Faults { seed: 202, reset: 0.2, ..Faults::default() }),
        30,
        &["--concurrency", "6", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.resets > 0, "{inj:?}");
    assert!(ran.count("retries") >= inj.resets, "{}", ran.summary);
    assert_eq!(ran.count("recovered_lost_answers"), 0, "{}", ran.summary);
}

#[test]
fn answers_slower_than_the_timeout_end_with_one_record_per_row() {
    // Processed 0.7 s after arrival, the client waits 0.4 s: it looks the
    // key up (usually nothing yet), sends again, and either its new
    // attempt wins and the late one is refused by the vendor's uniqueness
    // rule, or the late one wins and the refusal is settled by a look-up.
    let ran = import_hires(
        faults(Faults {
            seed: 303,
            slow: 0.2,
            slow_delay: Duration::from_millis(700),
            ..Faults::default()
        }),
        30,
        &["--concurrency", "6", "--timeout", "0.4", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.slow > 0, "{inj:?}");
    // Each slow answer cost a retry, or was settled by a look-up that found
    // the record.
    let (retries, recovered) = (ran.count("retries"), ran.count("recovered_lost_answers"));
    assert!(retries + recovered >= inj.slow, "{}", ran.summary);
    assert!(recovered > 0, "{}", ran.summary);
}

#[test]
fn lost_answers_are_recovered_by_looking_up() {
    let ran = import_hires(
        faults(Faults {
            seed: 404,
            lost: 0.2,
            lost_delay: Duration::from_millis(1000),
            ..Faults::default()
        }),
        30,
        &["--concurrency", "6", "--timeout", "0.4", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.lost > 0, "{inj:?}");
    assert!(ran.count("recovered_lost_answers") > 0, "{}", ran.summary);
}

#[test]
fn bursts_of_429_with_retry_after_pause_every_worker() {
    let ran = import_hires(
        faults(Faults {
            seed: 508,
            throttle: 0.03,
            burst: 2,
            burst_retry_after: Some(1),
            ..Faults::default()
        }),
        30,
        &["--concurrency", "6", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.bursts > 0, "{inj:?}");
    assert_eq!(ran.count("throttled_429"), inj.throttled, "the client saw every 429");
    // Every burst held all workers back for its second at least.
    assert!(
        ran.elapsed >= Duration::from_secs(inj.bursts),
        "{:?} for {} bursts",
        ran.elapsed,
        inj.bursts
    );
}

#[test]
fn a_retry_after_holds_every_worker_until_its_instant() {
    // Each injected 429 says "Retry-After: 2". Every worker waits for that
    // instant, not only the one refused: after it, the sandbox sees only
    // requests that were already on their way (they arrive within
    // milliseconds; a second is allowed for a busy machine), then nothing
    // until the instant. Were only the refused worker to wait, the others
    // would go on at 25 a second.
    let ran = import_hires(
        faults(Faults {
            seed: 508,
            throttle: 0.04,
            burst: 1,
            burst_retry_after: Some(2),
            ..Faults::default()
        }),
        20,
        &["--rate", "25", "--concurrency", "4", "--max-retries", "10"],
    );
    let told: Vec<&Arrival> =
        ran.arrivals.iter().filter(|a| a.status == 429 && a.retry_after.is_some()).collect();
    assert_eq!(told.len() as u64, ran.injected.throttled, "{:?}", ran.injected);
    assert!(!told.is_empty(), "{:?}", ran.injected);
    for t in told {
        let from = t.answered + Duration::from_secs(1);
        let until = t.answered + Duration::from_secs_f64(t.retry_after.unwrap());
        let early: Vec<Duration> = ran
            .arrivals
            .iter()
            .filter(|a| a.arrived > from && a.arrived < until)
            .map(|a| a.arrived - t.answered)
            .collect();
        assert!(early.is_empty(), "requests {early:?} after a Retry-After: 2");
    }
}

#[test]
fn a_hidden_limit_at_70_percent_of_the_rate_is_met_by_at_most_2_percent_429s() {
    // The vendor takes 35 a second (at most one second's worth at once);
    // the user asked for 50. The first overshoot costs a few 429s while
    // the limiter finds the limit; after that, about one every few seconds.
    let ran = import_hires(
        SandboxConfig { rate_limit_per_minute: 2100, ..SandboxConfig::default() },
        120,
        &["--rate", "50", "--concurrency", "8", "--max-retries", "10"],
    );
    let (throttled, requests) = (ran.count("throttled_429"), ran.count("requests"));
    eprintln!("{throttled} 429s of {requests} requests");
    assert!(throttled > 0, "the limit was met: {}", ran.summary);
    assert!(throttled * 50 <= requests + 4 * 50, "at most 2 % and 4 more: {}", ran.summary);
}

#[test]
fn bursts_of_429_without_retry_after_are_backed_off() {
    let ran = import_hires(
        faults(Faults { seed: 606, throttle: 0.05, burst: 5, ..Faults::default() }),
        30,
        &["--concurrency", "6", "--max-retries", "10"],
    );
    let inj = ran.injected;
    assert!(inj.bursts > 0, "{inj:?}");
    assert_eq!(ran.count("throttled_429"), inj.throttled, "the client saw every 429");
    assert!(ran.count("retries") >= inj.throttled, "{}", ran.summary);
}

#[test]
fn a_burst_of_429s_longer_than_max_retries_is_waited_out() {
    // One worker meets each burst of five 429s alone, retry after retry:
    // `--max-retries 3` allows three retries after a 5xx but twelve after
    // 429s, which say nothing was done. Every row is created (`import_hires`).
    let ran = import_hires(
        faults(Faults { seed: 606, throttle: 0.03, burst: 5, ..Faults::default() }),
        20,
        &["--concurrency", "1", "--max-retries", "3"],
    );
    assert!(ran.injected.bursts > 0, "{:?}", ran.injected);
    assert!(ran.count("throttled_429") >= 5, "{}", ran.summary);
}

#[test]
fn a_target_that_answers_only_429_at_the_start_says_it_is_busy() {
    let w = Work::new();
    let sb = sandbox_with(faults(Faults { throttle: 1.0, burst: 1, ..Faults::default() }));
    let file = hires(&w, 3);
    let r = import(&sb, &file, &w.path("out"), &["--max-retries", "1"]);
    assert_eq!(r.code, 3, "{r:?}");
    let said = "run aborted: the target kept answering that too many requests were sent: \
                HTTP 429: Too many requests (injected burst) (gave up after 4 retries)";
    assert!(r.stderr.contains(said), "{}", r.stderr);
    assert!(r.stderr.contains("lower --rate"), "{}", r.stderr);
}

#[test]
fn a_hidden_rate_limit_below_the_configured_rate_costs_a_few_429s() {
    // The vendor takes 20 a second; the user asked for 80.
    let ran = import_hires(
        SandboxConfig { rate_limit_per_minute: 1200, ..SandboxConfig::default() },
        30,
        &["--rate", "80", "--concurrency", "8", "--max-retries", "10"],
    );
    let throttled = ran.count("throttled_429");
    assert!(throttled > 0, "the limit was met: {}", ran.summary);
    assert!(throttled * 4 <= ran.count("requests"), "the client slowed down: {}", ran.summary);
}

#[test]
fn every_fault_at_once_under_a_hidden_rate_limit() {
    // The kinds compose: a 429 may come from the limit or a burst, a look-up
    // after a lost answer may itself be cut off or slow, and so on.
    let ran = import_hires(
        SandboxConfig {
            // 10 a second, at most 10 at once; the client is told 40.
            rate_limit_per_minute: 600,
            faults: Faults {
                seed: 813,
                server_error: 0.06,
                reset: 0.06,
                slow: 0.06,
                slow_delay: Duration::from_millis(700),
                lost: 0.06,
                lost_delay: Duration::from_millis(700),
                throttle: 0.03,
                burst: 2,
                burst_retry_after: None,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        },
        20,
        &["--rate", "40", "--concurrency", "6", "--timeout", "0.4", "--max-retries", "12"],
    );
    let inj = ran.injected;
    for (kind, n) in [
        ("server errors", inj.server_errors),
        ("resets", inj.resets),
        ("slow", inj.slow),
        ("lost", inj.lost),
        ("bursts", inj.bursts),
    ] {
        assert!(n > 0, "no {kind}: {inj:?}");
    }
    assert!(
        ran.count("throttled_429") > inj.throttled,
        "the hidden limit bit too: {}",
        ran.summary
    );
}

/// One target's rows for the cross-target test: a header, the `i`-th row
/// (user name `pu{i}`, e-mail `p{i}@example.com`), how many records in its
/// sandbox carry that person's key, and how many records it holds.
struct Case {
    target: &'static str,
    header: &'static str,
    row: fn(usize) -> String,
    count: fn(&Sandbox, usize) -> usize,
    total: fn(&Sandbox) -> usize,
}

const CASES: [Case; 5] = [
    Case {
        target: "intellihr",
        header: "Employee Number,First Name,Last Name,Email,Username",
        row: |i| format!("E{i},P{i},Fault,p{i}@example.com,pu{i}"),
        // A person counts only with the user account made in the same call.
        count: |sb, i| {
            sb.with(|s: &mut hrport_sandbox::intellihr::Sim| {
                s.people
                    .iter()
                    .filter(|p| p["primaryEmailAddress"] == format!("p{i}@example.com").as_str())
                    .filter(|p| p["id"].as_str().and_then(|id| s.user_of(id)).is_some())
                    .count()
            })
        },
        total: |sb| sb.with(|s: &mut hrport_sandbox::intellihr::Sim| s.people.len()),
    },
    Case {
        target: "guardian",
        header: "First Name,Last Name,Email,Role,Username",
        row: |i| format!("P{i},Fault,p{i}@example.com,2,pu{i}"),
        count: |sb, i| {
            sb.with(|s: &mut hrport_sandbox::guardian::Sim| {
                s.users.values().filter(|u| u["login"] == format!("pu{i}").as_str()).count()
            })
        },
        total: |sb| sb.with(|s: &mut hrport_sandbox::guardian::Sim| s.users.len()),
    },
    Case {
        target: "trackops",
        header: "First Name,Last Name,Email,Location,Role",
        row: |i| format!("P{i},Fault,p{i}@example.com,3,7"),
        count: |sb, i| {
            sb.with(|s: &mut hrport_sandbox::trackops::Sim| {
                s.staff
                    .values()
                    .filter(|u| u["email"] == format!("p{i}@example.com").as_str())
                    .count()
            })
        },
        total: |sb| sb.with(|s: &mut hrport_sandbox::trackops::Sim| s.staff.len()),
    },
    Case {
        target: "securitytrax",
        header: "First Name,Last Name,Username,Email",
        row: |i| format!("P{i},Fault,pu{i},p{i}@example.com"),
        count: |sb, i| {
            sb.with(|s: &mut hrport_sandbox::securitytrax::Sim| {
                s.users
                    .iter()
                    .filter(|u| u["attributes"]["username"] == format!("pu{i}").as_str())
                    .count()
            })
        },
        total: |sb| sb.with(|s: &mut hrport_sandbox::securitytrax::Sim| s.users.len()),
    },
    Case {
        target: "scim",
        header: "User Name,Given Name,Family Name,Email",
        row: |i| format!("pu{i},P{i},Fault,p{i}@example.com"),
        // The SCIM sandbox refuses a second userName, as RFC 7643 asks; the
        // total below is what shows nothing else was created.
        count: |sb, i| {
            sb.with(|s: &mut hrport_sandbox::scim::Sim| {
                s.users().iter().filter(|u| u["userName"] == format!("pu{i}").as_str()).count()
            })
        },
        total: |sb| sb.with(|s: &mut hrport_sandbox::scim::Sim| s.users().len()),
    },
];

#[test]
fn every_target_ends_with_each_row_created_once_despite_lost_answers_and_errors() {
    // The injector sits in front of every vendor; what differs is how each
    // target looks a key up after an answer it never saw.
    let n = 16;
    let mut recovered = 0;
    for case in &CASES {
        let w = Work::new();
        let sb = sandbox_with(faults(Faults {
            seed: 404,
            server_error: 0.1,
            reset: 0.1,
            lost: 0.2,
            lost_delay: Duration::from_millis(700),
            ..Faults::default()
        }));
        let before = (case.total)(&sb);
        let mut lines = vec![case.header.to_string()];
        lines.extend((0..n).map(case.row));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let file = w.write("people.csv", csv_text(&refs));
        let out = w.path("out");
        let flags = ["--concurrency", "4", "--timeout", "0.4", "--max-retries", "12"];
        let r = import_to(&sb, case.target, &file, &out, &flags, &[]);
        let target = case.target;
        assert_eq!(r.code, 0, "{target}: {r:?}");
        // Answers held back are still on their way: let them land first.
        std::thread::sleep(Duration::from_millis(900));

        let rows = rows_by_name(&out.join("results.csv"));
        assert_eq!(rows.len(), n, "{target}: one result per row");
        let mut ids = std::collections::HashSet::new();
        for (i, row) in rows.iter().enumerate() {
            let line = (i + 2).to_string();
            assert_eq!(
                (
                    row["hrport_row"].as_str(),
                    row["hrport_status"].as_str(),
                    row["hrport_error"].as_str()
                ),
                (line.as_str(), "created", ""),
                "{target}: row {line}"
            );
            assert!(ids.insert(row["hrport_id"].clone()), "{target}: row {line} has its own id");
            assert_eq!((case.count)(&sb, i), 1, "{target}: pu{i} exists once");
        }
        assert!(statuses(&out.join("errors.csv")).is_empty(), "{target}: errors.csv is empty");
        let inj = sb.injected();
        assert!(inj.lost > 0 && inj.server_errors + inj.resets > 0, "{target}: {inj:?}");
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        recovered += summary["recovered_lost_answers"].as_u64().unwrap();
        let created = (case.total)(&sb) - before;
        assert_eq!(created, n, "{target}: nothing else was created; {inj:?} {summary}");
    }
    assert!(recovered > 0, "some lost answer was settled by a look-up");
}

/// What a plain HTTP client gets for one request: a status (with its
/// Retry-After), a timeout, or a network error.
fn outcome(client: &reqwest::blocking::Client, url: &str) -> String {
    match client.get(url).send().and_then(|r| {
        let status = r.status().as_u16();
        let ra = r.headers().get("retry-after").map(|v| v.to_str().unwrap_or("?").to_string());
        r.bytes().map(|_| format!("{status} retry-after={ra:?}"))
    }) {
        Ok(s) => s,
        Err(e) if e.is_timeout() => "timed out".into(),
        Err(e) => {
            assert!(!e.is_status(), "{e}");
            "network error".into()
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_faults_over_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client =
        reqwest::blocking::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let f = Faults {
        seed: 909,
        server_error: 0.15,
        reset: 0.15,
        slow: 0.05,
        slow_delay: Duration::from_millis(400),
        lost: 0.05,
        lost_delay: Duration::from_millis(400),
        throttle: 0.05,
        burst: 2,
        burst_retry_after: Some(3),
        ..Faults::default()
    };
    let run = |f: &Faults| -> Vec<String> {
        let sb = sandbox_with(faults(f.clone()));
        // Unauthenticated, so every request that gets through is a 401.
        let url = format!("{}/rest/v1/regions", tt_url(&sb));
        (0..40).map(|_| outcome(&client, &url)).collect()
    };
    let first = run(&f);
    assert_eq!(first, run(&f), "same seed, same faults");
    assert_ne!(first, run(&Faults { seed: 910, ..f.clone() }), "another seed, other faults");
    for seen in [
        "401 retry-after=None",
        "500 retry-after=None",
        "502 retry-after=None",
        "503 retry-after=None",
        "429 retry-after=Some(\"3\")",
        "network error",
        "timed out",
    ] {
        assert!(first.iter().any(|o| o == seen), "{seen} not in {first:?}");
    }
}

#[test]
fn the_sandbox_command_lists_its_faults_after_the_url() {
    let mut child = Hrport::new(&["sandbox", "--listen", "127.0.0.1:0", "--fault-seed", "9"])
        .args(&["--fault-server-error", "0.05", "--fault-reset", "0.02", "--fault-slow", "0.01"])
        .args(&["--fault-slow-ms", "3000", "--fault-throttle", "0.01", "--fault-burst", "4"])
        .args(&["--fault-retry-after", "2"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Press Ctrl-C"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines[0].starts_with("hrport sandbox listening on http://127.0.0.1:"), "{lines:?}");
    assert_eq!(
        lines.last().unwrap(),
        "  faults (seed 9): 5% answered 500/502/503, 2% cut off, \
         1% processed and answered after 3000 ms, 1% start a burst of 4 429s with Retry-After: 2"
    );

    let r =
        Hrport::new(&["sandbox"]).arg("--listen", "127.0.0.1:0").arg("--fault-reset", "5").run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("\"5\" is not a share of requests from 0 to 1"), "{}", r.stderr);
    let r = Hrport::new(&["sandbox"])
        .arg("--listen", "127.0.0.1:0")
        .arg("--fault-lost", "0.6")
        .arg("--fault-slow", "0.6")
        .run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("the --fault-* shares add up to 1.2"), "{}", r.stderr);
}
