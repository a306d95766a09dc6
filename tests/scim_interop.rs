//! hrport's SCIM target against an independent SCIM server: `scim2-server`
//! from PyPI (installed into .venv by scripts/setup-python.sh, which
//! scripts/test.sh runs first). Each test starts its own server on a free
//! loopback port with a bearer token, and stops it by its PID when done.
//! The tests check what the server holds afterwards, through its own API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "interop-token-5b1e";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A running scim2-server; killed when dropped.
struct Server {
    child: Child,
    base: String,
    client: reqwest::blocking::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_tool(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/setup-python.sh` (scripts/test.sh does)",
        p.display()
    );
    p
}

impl Server {
    /// Starts scim2-server; `bulk: false` announces no /Bulk support, so
    /// hrport takes its one-request-per-row path.
    fn start(bulk: bool, dir: &Path) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = Command::new(venv_tool("scim2-server"));
        cmd.args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", TOKEN]);
        if !bulk {
            let spc = dir.join("spc.json");
            std::fs::write(
                &spc,
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": true},
                    "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
                    "filter": {"supported": true, "maxResults": 1000},
                    "changePassword": {"supported": false},
                    "sort": {"supported": true},
                    "etag": {"supported": true},
                    "authenticationSchemes": [{"type": "oauthbearertoken", "name": "bearer", "description": "Bearer token"}]
                })
                .to_string(),
            )
            .unwrap();
            cmd.arg("--service-provider-config").arg(&spc);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scim2-server");
        let s = Server {
            child,
            base: format!("http://127.0.0.1:{port}/v2"),
            client: reqwest::blocking::Client::new(),
        };
        let t = Instant::now();
        while s.try_get("/ServiceProviderConfig").is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "scim2-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn try_get(&self, path: &str) -> Option<Value> {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().ok()?;
        r.status().is_success().then(|| r.json().ok()).flatten()
    }

    fn get(&self, path: &str) -> Value {
        self.try_get(path).unwrap_or_else(|| panic!("GET {path} failed"))
    }

    fn users(&self) -> Vec<Value> {
        self.get("/Users?count=1000")["Resources"].as_array().cloned().unwrap_or_default()
    }

    fn user(&self, name: &str) -> Value {
        self.users()
            .into_iter()
            .find(|u| u["userName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .unwrap_or_else(|| panic!("no user {name}"))
    }

    fn group(&self, name: &str) -> Value {
        let groups =
            self.get("/Groups?count=1000")["Resources"].as_array().cloned().unwrap_or_default();
        groups
            .into_iter()
            .find(|g| g["displayName"] == name)
            .unwrap_or_else(|| panic!("no group {name}"))
    }

    fn patch(&self, id: &str, ops: Value) {
        let r = self
            .client
            .patch(format!("{}/Users/{id}", self.base))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}).to_string())
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text());
    }

    fn create(&self, user: Value) {
        let r = self
            .client
            .post(format!("{}/Users", self.base))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/scim+json")
            .body(user.to_string())
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text());
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn import(s: &Server, file: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hrport"));
    cmd.args([
        "import",
        file.to_str().unwrap(),
        "--target",
        "scim",
        "--base-url",
        &s.base,
        "--out",
        out.to_str().unwrap(),
    ]);
    cmd.args(extra).env("HRPORT_SCIM_TOKEN", TOKEN).stdin(Stdio::null());
    let o = cmd.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

fn results(out: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let bytes = std::fs::read(out.join("results.csv")).unwrap();
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .map(str::to_string)
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

const TEAM: &str = "User Name,External ID,Given Name,Family Name,Email,Phone,Title,Employee Number,Cost Center,Organization,Division,Department,Manager,Active,Groups\r\n\
    ana.silva,HR-1,Ana,Silva,ana@example.com,+1 555 0100,Guard,E100,CC-7,Acme,Security,Night,E102,yes,Staff; Night Shift\r\n\
    bob.stone,HR-2,Bob,Stone,bob@example.com,,Guard,E101,CC-7,Acme,Security,Night,ana.silva,no,Staff\r\n\
    cleo.ray,HR-3,Cleo,Ray,cleo@example.com,,Supervisor,E102,CC-1,Acme,Security,Management,,yes,Staff\r\n\
    dan.ray,HR-4,Dan,Ray,,,Dispatcher,E103,,,,,HR-3,,\r\n";

/// What the server must hold after TEAM was imported, whichever path.
fn assert_team(s: &Server) {
    let ana = s.user("ana.silva");
    let cleo = s.user("cleo.ray");
    assert_eq!(ana["externalId"], "HR-1");
    assert_eq!(ana["name"]["givenName"], "Ana");
    assert_eq!(ana["name"]["familyName"], "Silva");
    assert_eq!(ana["emails"][0]["value"], "ana@example.com");
    assert_eq!(ana["emails"][0]["type"], "work");
    assert_eq!(ana["emails"][0]["primary"], true);
    assert_eq!(ana["phoneNumbers"][0]["value"], "+1 555 0100");
    assert_eq!(ana["title"], "Guard");
    assert_eq!(ana["active"], true);
    let ext = &ana[ENTERPRISE];
    assert_eq!(ext["employeeNumber"], "E100");
    assert_eq!(ext["costCenter"], "CC-7");
    assert_eq!(ext["organization"], "Acme");
    assert_eq!(ext["division"], "Security");
    assert_eq!(ext["department"], "Night");
    assert_eq!(
        ext["manager"]["value"], cleo["id"],
        "a manager later in the file, by employee number"
    );
    let bob = s.user("bob.stone");
    assert_eq!(bob["active"], false);
    assert_eq!(bob[ENTERPRISE]["manager"]["value"], ana["id"], "by user name");
    assert_eq!(s.user("dan.ray")[ENTERPRISE]["manager"]["value"], cleo["id"], "by external id");
    let members = |g: &str| -> Vec<String> {
        let mut m: Vec<String> = s.group(g)["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        m.sort();
        m
    };
    let mut staff = vec![
        ana["id"].as_str().unwrap().to_string(),
        bob["id"].as_str().unwrap().to_string(),
        cleo["id"].as_str().unwrap().to_string(),
    ];
    staff.sort();
    assert_eq!(members("Staff"), staff);
    assert_eq!(members("Night Shift"), vec![ana["id"].as_str().unwrap().to_string()]);
}

fn import_team_twice(bulk: bool) -> (Run, Run) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(bulk, dir.path());
    let file = dir.path().join("team.csv");
    std::fs::write(&file, TEAM).unwrap();
    let first = import(&s, &file, &dir.path().join("first"), &["--create-groups"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("scim: 4 rows: 4 created"), "{}", first.stdout);
    assert_team(&s);
    let rows = results(&dir.path().join("first"));
    assert_eq!(rows[0]["hrport_id"], s.user("ana.silva")["id"].as_str().unwrap());

    let before: Vec<Value> = s.users();
    let second = import(&s, &file, &dir.path().join("second"), &["--create-groups"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("scim: 4 rows: 4 unchanged"),
        "a re-run creates nothing: {}",
        second.stdout
    );
    let after = s.users();
    assert_eq!(after.len(), 4);
    let versions = |us: &[Value]| {
        us.iter().map(|u| (u["id"].clone(), u["meta"]["version"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(versions(&before), versions(&after), "and changes nothing");
    (first, second)
}

#[test]
fn bulk_path_creates_users_managers_and_groups_and_a_rerun_creates_nothing() {
    let (first, _) = import_team_twice(true);
    // Managers first: Cleo alone, then Ana and Dan together, then Bob; a
    // batch of one goes as a plain create.
    assert!(
        first.stdout.contains("note: 2 new users went in 1 /Bulk request\n"),
        "{}",
        first.stdout
    );
}

#[test]
fn per_row_path_gives_the_same_result() {
    let (first, _) = import_team_twice(false);
    assert!(!first.stdout.contains("/Bulk"), "{}", first.stdout);
}

#[test]
fn updates_and_deactivation_use_patch_with_if_match_and_survive_a_412() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(false, dir.path());
    let file = dir.path().join("team.csv");
    std::fs::write(&file, TEAM).unwrap();
    assert_eq!(import(&s, &file, &dir.path().join("o1"), &["--create-groups"]).code, 0);
    // Ana moves department; Cleo leaves (deactivated); Dan joins a group.
    let changed = TEAM
        .replace("Acme,Security,Night,E102,yes,", "Acme,Security,Days,E102,yes,")
        .replace(
            "CC-1,Acme,Security,Management,,yes,Staff",
            "CC-1,Acme,Security,Management,,no,Staff",
        )
        .replace("HR-3,,\r\n", "HR-3,,Staff\r\n");
    std::fs::write(&file, &changed).unwrap();
    // One request a second, one at a time, so the test can change Cleo on
    // the server after hrport read her and before it updates her.
    let cleo = s.user("cleo.ray")["id"].as_str().unwrap().to_string();
    let watcher = {
        let base = s.base.clone();
        let cleo = cleo.clone();
        std::thread::spawn(move || {
            let c = reqwest::blocking::Client::new();
            let t = Instant::now();
            // As soon as Ana's update has landed, change Cleo behind hrport's back.
            while t.elapsed() < Duration::from_secs(30) {
                let ana: Value = c
                    .get(format!("{base}/Users?filter=userName%20eq%20%22ana.silva%22"))
                    .bearer_auth(TOKEN)
                    .send()
                    .unwrap()
                    .json()
                    .unwrap();
                if ana["Resources"][0][ENTERPRISE]["department"] == "Days" {
                    let r = c
                        .patch(format!("{base}/Users/{cleo}"))
                        .bearer_auth(TOKEN)
                        .header("Content-Type", "application/scim+json")
                        .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "Cleo R."}]}).to_string())
                        .send()
                        .unwrap();
                    return r.status().is_success();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        })
    };
    let r = import(
        &s,
        &file,
        &dir.path().join("o2"),
        &["--create-groups", "--concurrency", "1", "--rate", "1"],
    );
    assert!(watcher.join().unwrap(), "the test changed Cleo on the server mid-run");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let st: Vec<String> =
        results(&dir.path().join("o2")).iter().map(|r| r["hrport_status"].clone()).collect();
    // The leaver (Active = no) is a deactivation now, not an update.
    assert_eq!(st, ["updated", "unchanged", "deactivated", "updated"]);
    assert_eq!(s.user("ana.silva")[ENTERPRISE]["department"], "Days");
    let c = s.user("cleo.ray");
    assert_eq!(c["active"], false, "deactivated with PATCH replace active");
    assert_eq!(c["displayName"], "Cleo R.", "the change made in between survived");
    assert!(
        r.stdout.contains(
            "note: 1 user was changed on the service during the run (HTTP 412); re-read and updated"
        ),
        "{}",
        r.stdout
    );
    let dan = s.user("dan.ray")["id"].clone();
    assert!(s.group("Staff")["members"].as_array().unwrap().iter().any(|m| m["value"] == dan));
}

#[test]
fn scim_errors_are_clear_row_messages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(false, dir.path());
    let file = dir.path().join("h.csv");
    std::fs::write(
        &file,
        "User Name,Given Name,Groups\r\nfirst,A,\r\nsecond,B,\r\nthird,C,Nowhere\r\n",
    )
    .unwrap();
    // "second" appears on the server after hrport looked it up, just before
    // it creates it. At --rate 0.5 requests go 2 s apart: "first" exists
    // after its POST, the look-up for "second" comes 2 s later and its POST
    // 4 s later, so a user made 3 s after "first" lands between the two.
    let base = s.base.clone();
    let maker = std::thread::spawn(move || {
        let c = reqwest::blocking::Client::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            let first: Value = c
                .get(format!("{base}/Users?filter=userName%20eq%20%22first%22"))
                .bearer_auth(TOKEN)
                .send()
                .unwrap()
                .json()
                .unwrap();
            if first["totalResults"] == 1 {
                std::thread::sleep(Duration::from_secs(3));
                let r = c
                    .post(format!("{base}/Users"))
                    .bearer_auth(TOKEN)
                    .header("Content-Type", "application/scim+json")
                    .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "SECOND"}).to_string())
                    .send()
                    .unwrap();
                return r.status().is_success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let r = import(&s, &file, &dir.path().join("o"), &["--concurrency", "1", "--rate", "0.5"]);
    assert!(maker.join().unwrap());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let rows = results(&dir.path().join("o"));
    assert_eq!(rows[0]["hrport_status"], "created");
    assert_eq!(rows[1]["hrport_status"], "failed");
    assert_eq!(
        rows[1]["hrport_error"],
        "create user: One or more of the attribute values are already in use or are reserved (uniqueness) (HTTP 409)"
    );
    assert_eq!(rows[2]["hrport_status"], "invalid");
    assert_eq!(
        rows[2]["hrport_error"],
        "Groups: no group named \"Nowhere\"; give --create-groups to create it"
    );
    let _ = &r.stderr;
    s.create(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "unrelated"}),
    );
    s.patch(
        s.user("unrelated")["id"].as_str().unwrap(),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
}

#[test]
fn export_writes_what_it_imports_and_reimports_as_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(true, dir.path());
    let file = dir.path().join("team.csv");
    std::fs::write(&file, TEAM).unwrap();
    assert_eq!(import(&s, &file, &dir.path().join("o1"), &["--create-groups"]).code, 0);
    let export = dir.path().join("export.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args([
            "export",
            "--target",
            "scim",
            "--base-url",
            &s.base,
            "--output",
            export.to_str().unwrap(),
            "--include-terminated",
        ])
        .env("HRPORT_SCIM_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&export).unwrap();
    let text = String::from_utf8_lossy(&bytes[3..]);
    assert!(text.contains("ana.silva,HR-1,Ana,Silva,,ana@example.com,'+1 555 0100,Guard,E100,CC-7,Acme,Security,Night,cleo.ray,yes,Night Shift; Staff"), "{text}");
    assert!(text.contains("bob.stone,HR-2,Bob,Stone,,bob@example.com,,Guard,E101,CC-7,Acme,Security,Night,ana.silva,no,Staff"), "{text}");
    let r = import(&s, &export, &dir.path().join("o2"), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("4 rows: 4 unchanged"), "{}", r.stdout);
}

#[test]
fn a_wrong_token_aborts_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(true, dir.path());
    let file = dir.path().join("h.csv");
    std::fs::write(&file, "User Name\r\nx\r\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hrport"))
        .args([
            "import",
            file.to_str().unwrap(),
            "--target",
            "scim",
            "--base-url",
            &s.base,
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ])
        .env("HRPORT_SCIM_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("hint: check HRPORT_SCIM_TOKEN"));
    assert!(s.users().is_empty());
}
