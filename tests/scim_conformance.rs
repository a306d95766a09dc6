//! The sandbox's SCIM service against a third-party conformance suite:
//! `scim2 test` (scim2-cli 0.6.0, running scim2-tester) on an in-process
//! sandbox at 127.0.0.1 port 0. The tools live in `.venv`, installed by
//! `bash scripts/setup-python.sh` (scripts/test.sh runs it first); without
//! them this test fails and says so rather than skipping.

use std::path::Path;
use std::process::{Command, Stdio};

use hrport_sandbox::{Sandbox, SandboxConfig, scim};

/// What `scim2 test` reported on this sandbox when the test was written:
/// 135 checks, all SUCCESS (the same set scim2-server's own run gives).
const SUCCESS_FLOOR: usize = 135;

/// Drops ANSI colour codes, in case click decides the output is a terminal.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `scim2 test` on a fresh sandbox whose SCIM simulator `setup` has
/// adjusted, and asserts no check failed and at least `SUCCESS_FLOOR` passed.
fn run_suite(setup: impl FnOnce(&mut scim::Sim)) {
    let scim2 = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/scim2");
    assert!(
        scim2.exists(),
        "{} is missing: run `bash scripts/setup-python.sh` to install the pinned scim2-cli \
         (scripts/test.sh does it before cargo test)",
        scim2.display()
    );
    let sb = Sandbox::start(SandboxConfig::default()).expect("start the sandbox");
    sb.with::<scim::Sim, _>(setup);
    let url = format!("{}{}", sb.url(), scim::ACCESS.prefix);
    // The token goes in the environment, never on the command line, where
    // other users of the machine could read it.
    let out = Command::new(&scim2)
        .args(["--url", &url, "test"])
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {}", scim::TOKEN))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run scim2");
    let stdout = plain(&String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!("scim2 test on {url}:\n{stdout}\n{stderr}");

    let lines: Vec<&str> = stdout.lines().collect();
    let failures: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("ERROR") || l.starts_with("CRITICAL"))
        .map(|(i, l)| format!("{l}\n{}", lines.get(i + 1).unwrap_or(&"")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed checks:\n{}\n\n{report}",
        failures.len(),
        failures.join("\n")
    );
    assert!(out.status.success(), "scim2 test exited with {}\n{report}", out.status);
    let successes = lines.iter().filter(|l| l.starts_with("SUCCESS")).count();
    assert!(
        successes >= SUCCESS_FLOOR,
        "only {successes} SUCCESS checks (expected at least {SUCCESS_FLOOR})\n{report}"
    );

    // The suite really talked to this sandbox, and cleaned up after itself.
    let (requests, users) = sb.with::<scim::Sim, _>(|s| (s.requests.len(), s.users().len()));
    assert!(requests > 500, "only {requests} requests reached the SCIM sandbox");
    assert_eq!(users, 0, "scim2 test deletes what it creates");
}

#[test]
fn scim2_test_passes_against_the_sandbox() {
    run_suite(|_| {});
}

/// The other shape a provider may have: PATCH answering 204 without a
/// body, and no ETags (so no versions and no conditional requests).
#[test]
fn scim2_test_passes_with_204_patches_and_no_etags() {
    run_suite(|s| {
        s.patch_returns_resource = false;
        s.etag_supported = false;
    });
}
