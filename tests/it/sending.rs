//! Sending under stress (429 storms, expiring tokens, lost answers): the
//! binary against the in-process sandbox, set up to misbehave.

use std::path::{Path, PathBuf};

use hrport_sandbox::tracktik::Sim;

use crate::util::*;

/// `n` valid rows; every third asks for a password change.
fn hires(w: &Work, name: &str, n: usize) -> std::path::PathBuf {
    let mut rows = vec![
        "Employee ID,First Name,Last Name,Email,Region,Role,Force Password Change".to_string(),
    ];
    for i in 0..n {
        rows.push(format!(
            "E{i:04},P{i},Test,p{i}@example.com,EMEA,Guard,{}",
            if i % 3 == 0 { "yes" } else { "no" }
        ));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    w.write(name, csv_text(&refs))
}

fn summary(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Every row created exactly once, with its role and password change.
fn assert_all_created_once(sb: &Sandbox, out: &Path, n: usize) {
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st.len(), n);
    assert!(st.iter().all(|s| s.1 == "created"), "{st:?}");
    sb.with(|s: &mut Sim| {
        assert_eq!(s.employees.len(), n, "one employee per row");
        for i in 0..n {
            let email = format!("p{i}@example.com");
            let found = ids_with_email(s, &email);
            assert_eq!(found.len(), 1, "{email} exists once");
            let roles = s.user_roles.iter().filter(|ur| ur["user"] == json!(found[0])).count();
            assert_eq!(roles, 1, "{email} has one role");
            assert_eq!(
                s.force_password_change.contains(&found[0]),
                i % 3 == 0,
                "{email} password change"
            );
        }
    });
    let ids: Vec<String> = rows_by_name(&out.join("results.csv"))
        .into_iter()
        .map(|r| r["hrport_id"].clone())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), n, "each row has its own id in results.csv");
}

#[test]
fn a_429_storm_is_absorbed_by_slowing_down() {
    for retry_after in [false, true] {
        let w = Work::new();
        // 600 per minute: 10 per second, at most 10 at once.
        let sb = sandbox_with(SandboxConfig {
            rate_limit_per_minute: 600,
            retry_after,
            ..SandboxConfig::default()
        });
        let file = hires(&w, "h.csv", 15);
        let out = w.path("out");
        let r = Hrport::import(&file)
            .target("tracktik")
            .profile(per_step(&w))
            .base_url(tt_url(&sb))
            .out(&out)
            .arg("--rate", "60")
            .arg("--concurrency", "8")
            .arg("--max-retries", "10")
            .envs(&TT_ENV)
            .run();
        assert_eq!(r.code, 0, "retry_after={retry_after}: {r:?}");
        assert_all_created_once(&sb, &out, 15);
        let s = summary(&out);
        assert!(s["throttled_429"].as_u64().unwrap() > 0, "the storm happened: {s}");
        assert_eq!(s["failed"], 0);
    }
}

#[test]
fn a_token_expiring_mid_run_is_renewed_with_the_refresh_token() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        token_ttl: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    });
    let file = hires(&w, "h.csv", 30);
    let out = w.path("out");
    let r = Hrport::import(&file)
        .target("tracktik")
        .profile(per_step(&w))
        .base_url(tt_url(&sb))
        .out(&out)
        .arg("--rate", "25")
        .arg("--concurrency", "4")
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 30);
    let c = sb.with(|s: &mut Sim| s.counters.clone());
    assert_eq!(c.logins, 1, "signed in once: {c:?}");
    assert!(c.refreshes >= 2, "renewed as the token expired: {c:?}");
    assert_eq!(c.failed_logins, 0, "single-use refresh tokens were never reused: {c:?}");
}

#[test]
fn a_token_refused_before_its_announced_expiry_is_renewed_on_401() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        token_ttl: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    });
    // The server says an hour but expires tokens after a second.
    sb.with(|s: &mut Sim| s.announced_ttl = Some(3600));
    let file = hires(&w, "h.csv", 30);
    let out = w.path("out");
    let r = Hrport::import(&file)
        .target("tracktik")
        .profile(per_step(&w))
        .base_url(tt_url(&sb))
        .out(&out)
        .arg("--rate", "25")
        .arg("--concurrency", "4")
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 30);
    let c = sb.with(|s: &mut Sim| s.counters.clone());
    assert_eq!(c.logins, 1, "{c:?}");
    assert!(c.refreshes >= 1, "{c:?}");
    assert_eq!(c.failed_logins, 0, "workers did not race to use one refresh token: {c:?}");
}

#[test]
fn lost_answers_are_settled_by_looking_up_never_by_sending_twice() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        faults: Faults {
            seed: 7,
            lost: 0.3,
            lost_delay: std::time::Duration::from_millis(1500),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    });
    let file = hires(&w, "h.csv", 20);
    let out = w.path("out");
    let r = Hrport::import(&file)
        .target("tracktik")
        .profile(per_step(&w))
        .base_url(tt_url(&sb))
        .out(&out)
        .arg("--rate", "200")
        .arg("--concurrency", "8")
        .arg("--timeout", "0.5")
        .arg("--max-retries", "8")
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 20);
    assert!(summary(&out)["recovered_lost_answers"].as_u64().unwrap() > 0, "{}", summary(&out));
}

#[test]
fn unprocessed_5xx_answers_are_retried_until_created_once() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        faults: Faults { seed: 11, unavailable: 0.3, ..Faults::default() },
        ..SandboxConfig::default()
    });
    let file = hires(&w, "h.csv", 20);
    let out = w.path("out");
    let r = Hrport::import(&file)
        .target("tracktik")
        .profile(per_step(&w))
        .base_url(tt_url(&sb))
        .out(&out)
        .arg("--rate", "200")
        .arg("--concurrency", "8")
        .arg("--max-retries", "10")
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 20);
    assert!(summary(&out)["retries"].as_u64().unwrap() > 0);
}

#[test]
fn a_failed_follow_up_step_keeps_the_id_and_a_reimport_finishes_the_row() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::POST, "/user-roles".into(), 400)));
    let file = hires(&w, "h.csv", 3);
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&out.join("errors.csv"));
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["hrport_status"], "failed");
        let id = &row["hrport_id"];
        assert!(!id.is_empty(), "the created id is kept");
        assert_eq!(
            row["hrport_error"],
            format!(
                "assign role: refused by the sandbox's test settings (HTTP 400); employee {id} was created: import this row again to finish it"
            )
        );
    }
    assert_eq!(employees(&sb).len(), 3);

    sb.with(|s: &mut Sim| s.refuse.clear());
    let again = w.path("again");
    let r = import(&sb, &out.join("errors.csv"), &again, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let st = statuses(&again.join("results.csv"));
    // Found, and their missing step done: an update of each.
    assert!(st.iter().all(|s| s.1 == "updated"), "{st:?}");
    assert!(r.stdout.contains("3 updated, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(employees(&sb).len(), 3, "nothing created twice");
    for e in employees(&sb) {
        assert_eq!(role_name_of(&sb, e["id"].as_u64().unwrap()).as_deref(), Some("Guard"));
    }
}

/// Imports 8 hires while the sandbox answers `status` to every POST to
/// `refused`, with a breaker that trips after 3 rows: exit 3 expected.
fn import_until_the_breaker_trips(
    sb: &Sandbox,
    w: &Work,
    refused: &str,
    status: u16,
) -> (Run, PathBuf) {
    sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::POST, refused.into(), status)));
    let file = hires(w, "h.csv", 8);
    let out = w.path("out");
    // Row by row: the breaker counts rows in a row.
    let profile = per_step(w);
    let profile = profile.to_str().unwrap();
    let flags =
        ["--concurrency", "1", "--max-retries", "1", "--max-errors", "3", "--profile", profile];
    let r = import(sb, &file, &out, &flags);
    assert_eq!(r.code, 3, "{r:?}");
    (r, out)
}

#[test]
fn a_target_that_keeps_failing_stops_the_run_with_exit_3_and_nothing_lost() {
    let w = Work::new();
    let sb = sandbox();
    let (r, out) = import_until_the_breaker_trips(&sb, &w, "/employees", 503);
    assert!(r.stderr.contains("run aborted: the target failed 3 rows in a row"), "{}", r.stderr);
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st.len(), 8, "every row is accounted for");
    assert_eq!(st.iter().filter(|s| s.1 == "failed").count(), 3, "{st:?}");
    assert!(
        st[3..]
            .iter()
            .all(|s| s.1 == "pending"
                && s.2.starts_with("not sent: the target failed 3 rows in a row")),
        "{st:?}"
    );
    assert_eq!(
        statuses(&out.join("errors.csv")).len(),
        8,
        "failed and pending rows are all in errors.csv"
    );

    sb.with(|s: &mut Sim| s.refuse.clear());
    let again = w.path("again");
    let r = import(&sb, &out.join("errors.csv"), &again, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &again, 8);
}

#[test]
fn a_target_that_keeps_answering_429_stops_the_run_saying_to_lower_the_rate() {
    let w = Work::new();
    let sb = sandbox();
    let (r, _) = import_until_the_breaker_trips(&sb, &w, "/employees", 429);
    assert!(r.stderr.contains("run aborted: the target failed 3 rows in a row"), "{}", r.stderr);
    assert!(r.stderr.contains("resume with a lower --rate"), "{}", r.stderr);
    assert!(!r.stderr.contains("check that the target is up"), "{}", r.stderr);
}

#[test]
fn a_run_stopped_by_the_circuit_breaker_is_finished_by_resume() {
    // Employees are created, then the role step keeps failing: the breaker
    // stops the run with those rows half done. Once the target is back,
    // --resume finishes them (a look-up finds each employee; only the role
    // is assigned) and sends the rows never sent.
    let w = Work::new();
    let sb = sandbox();
    let (r, out) = import_until_the_breaker_trips(&sb, &w, "/user-roles", 503);
    let resume = format!("continue with: hrport import --resume {}", out.display());
    assert!(r.stderr.contains(&resume), "{}", r.stderr);
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st.iter().filter(|s| s.1 == "failed").count(), 3, "{st:?}");
    assert_eq!(employees(&sb).len(), 3, "three created, none with a role");

    sb.with(|s: &mut Sim| s.refuse.clear());
    let env = sandbox_env("tracktik");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = Hrport::resume(&out).envs(&env).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 8);
    assert!(statuses(&out.join("errors.csv")).is_empty());

    // A finished run resumed again sends nothing, and a resume cannot turn
    // into a dry run over the real results.
    let r = Hrport::resume(&out).flag("--dry-run").envs(&env).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--dry-run cannot be added"), "{}", r.stderr);
    assert_all_created_once(&sb, &out, 8);
}

/// A port on this machine that nothing listens at: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_refused_connection_on_first_contact_stops_at_once_naming_host_and_cause() {
    let w = Work::new();
    let port = closed_port();
    let file = hires(&w, "h.csv", 3);
    // TrackTik signs in first; the default six retries would take 20 s.
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(format!("http://127.0.0.1:{port}/tracktik"))
        .out(w.path("out"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    let said = format!("cannot reach 127.0.0.1:{port}: connection refused");
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    assert!(!r.stderr.contains("gave up after"), "not retried: {}", r.stderr);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);

    // Guardian takes a fixed token: its first request reads data.
    let env = sandbox_env("guardian");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = Hrport::export()
        .target("guardian")
        .base_url(format!("http://127.0.0.1:{port}/guardian"))
        .output(w.path("users.csv"))
        .envs(&env)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    assert!(!r.stderr.contains("gave up after"), "not retried: {}", r.stderr);
}

#[test]
fn a_host_name_that_does_not_resolve_stops_at_once_naming_it() {
    // `.invalid` never resolves (RFC 6761 §6.4); a resolver answers so at
    // once, and one that cannot be reached fails the look-up as well, only
    // later: either way a DNS error, which is what is checked.
    let w = Work::new();
    let file = hires(&w, "h.csv", 3);
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url("https://acme.tracktik.invalid")
        .out(w.path("out"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    let said = "cannot reach acme.tracktik.invalid: the host name does not resolve";
    assert!(r.stderr.contains(said), "{}", r.stderr);
    assert!(!r.stderr.contains("gave up after"), "not retried: {}", r.stderr);
}

#[test]
fn a_refused_refresh_token_is_said_and_costs_one_more_sign_in() {
    let w = Work::new();
    let sb = sandbox();
    // Each token works for 50 requests; the run makes about 80.
    sb.with(|s: &mut Sim| {
        s.refuse_refresh = true;
        s.token_uses = Some(50);
    });
    let file = hires(&w, "h.csv", 30);
    let out = w.path("out");
    // One request per step: batches would need too few requests to renew.
    // One worker: tokens here end after a number of uses, so other workers
    // could use up a fresh token before its first request (which a token
    // with a lifetime never does) and hrport would rightly stop.
    let profile = per_step(&w);
    let flags = ["--profile", profile.to_str().unwrap(), "--concurrency", "1"];
    let r = import(&sb, &file, &out, &flags);
    assert_eq!(r.code, 0, "{r:?}");
    assert_all_created_once(&sb, &out, 30);
    let c = sb.with(|s: &mut Sim| s.counters.clone());
    assert_eq!((c.logins, c.refused_refreshes, c.failed_logins), (2, 1, 0), "{c:?}");
    let note = "the refresh token was refused (HTTP 400: The refresh token is invalid.); \
                signing in again";
    assert!(r.stdout.contains(note) || r.stderr.contains(note), "{r:?}");
    assert!(summary(&out)["notes"].to_string().contains(note), "{}", summary(&out));
}

#[test]
fn refresh_tokens_refused_again_and_again_stop_before_a_fourth_sign_in() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| {
        s.refuse_refresh = true;
        s.token_uses = Some(15);
    });
    let file = hires(&w, "h.csv", 30);
    let out = w.path("out");
    // One request per step: batches would need too few requests to renew.
    // One worker: tokens here end after a number of uses, so other workers
    // could use up a fresh token before its first request (which a token
    // with a lifetime never does) and hrport would rightly stop.
    let profile = per_step(&w);
    let flags = ["--profile", profile.to_str().unwrap(), "--concurrency", "1"];
    let r = import(&sb, &file, &out, &flags);
    assert_eq!(r.code, 3, "{r:?}");
    let c = sb.with(|s: &mut Sim| s.counters.clone());
    assert_eq!((c.logins, c.failed_logins), (3, 0), "{c:?} {r:?}");
    assert!(
        r.stderr.contains("the refresh token was refused (HTTP 400: The refresh token is invalid.), and hrport signed in 3 times in this run already"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("refresh tokens"), "{}", r.stderr);
    assert!(!r.stderr.contains("permission"), "no blame on the account: {}", r.stderr);
}
