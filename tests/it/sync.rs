//! Sync: an edited export imports back as exactly its edits (the round trip
//! on each target), the plan a dry run shows is what the run does, the
//! matching rules, `--mode create|update|sync` and the sync safeguard.

use std::collections::BTreeMap;
use std::path::Path;

use hrport_sandbox::guardian::Sim as GuardianSim;

use crate::util::*;

/// One target's round trip: what to import first, which cells to edit in
/// its export (found by a key column), who leaves, and who joins.
struct Case {
    target: &'static str,
    first: &'static [&'static str],
    /// (key column, key, column, new value)
    edits: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// (key column, key, [(column, value)]): who leaves, and how the row says it.
    leaver: (&'static str, &'static str, &'static [(&'static str, &'static str)]),
    /// Column = value of a new row.
    joiner: &'static [(&'static str, &'static str)],
    /// Columns the target fills in itself (left out of the cell-for-cell check).
    derived: &'static [&'static str],
}

type Row = BTreeMap<String, String>;

fn write_rows(w: &Work, name: &str, header: &[String], rows: &[Row]) -> std::path::PathBuf {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(header).unwrap();
    for r in rows {
        out.write_record(header.iter().map(|h| r.get(h).map(String::as_str).unwrap_or("")))
            .unwrap();
    }
    w.write(name, out.into_inner().unwrap())
}

fn find<'a>(rows: &'a mut [Row], col: &str, key: &str) -> &'a mut Row {
    rows.iter_mut().find(|r| r[col].eq_ignore_ascii_case(key)).unwrap_or_else(|| panic!("no {key}"))
}

/// (status, action, changes) of every row of a results file.
fn outcomes(out: &Path) -> Vec<(String, String, String)> {
    rows_by_name(&out.join("results.csv"))
        .into_iter()
        .map(|r| {
            (r["hrport_status"].clone(), r["hrport_action"].clone(), r["hrport_changes"].clone())
        })
        .collect()
}

fn round_trip(c: &Case) {
    let w = Work::new();
    let sb = sandbox();
    let first = w.write("first.csv", csv_text(c.first));
    let r = import_to(&sb, c.target, &first, &w.path("o1"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let ex = w.path("export.csv");
    assert_eq!(export_from(&sb, c.target, &ex, &["--include-terminated"]).code, 0);
    let header = read_csv(&ex)[0].clone();
    let mut rows = rows_by_name(&ex);
    let before = rows.clone();

    for (kc, key, col, value) in c.edits {
        find(&mut rows, kc, key).insert(col.to_string(), value.to_string());
    }
    let (kc, key, cells) = c.leaver;
    for (col, value) in cells {
        find(&mut rows, kc, key).insert(col.to_string(), value.to_string());
    }
    let mut joiner: Row = header.iter().map(|h| (h.clone(), String::new())).collect();
    for (col, value) in c.joiner {
        joiner.insert(col.to_string(), value.to_string());
    }
    rows.push(joiner);
    let edited = write_rows(&w, "edited.csv", &header, &rows);

    // The plan.
    let r = import_to(&sb, c.target, &edited, &w.path("plan"), &["--dry-run"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let plan = outcomes(&w.path("plan"));
    // The run keeps to it, row by row.
    let r = import_to(&sb, c.target, &edited, &w.path("run"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let run = outcomes(&w.path("run"));
    assert_eq!(plan.len(), run.len());
    for (i, (p, d)) in plan.iter().zip(&run).enumerate() {
        assert_eq!((&p.1, &p.2), (&d.1, &d.2), "row {}: the run did what the plan said", i + 2);
        assert_eq!(p.0, "skipped");
    }
    let count = |s: &str| run.iter().filter(|r| r.0 == s).count();
    let edited_rows: std::collections::BTreeSet<&str> = c.edits.iter().map(|e| e.1).collect();
    assert_eq!(count("updated"), edited_rows.len(), "{run:?}");
    assert_eq!((count("deactivated"), count("created")), (1, 1), "{run:?}");
    assert_eq!(count("unchanged"), rows.len() - edited_rows.len() - 2, "{run:?}");
    // Each updated row lists exactly its edited columns.
    for (status, _, changes) in run.iter().filter(|r| r.0 == "updated") {
        let cols: Vec<&str> = changes.split("; ").map(|c| c.split(':').next().unwrap()).collect();
        assert!(cols.iter().all(|col| c.edits.iter().any(|e| e.2 == *col)), "{status}: {changes}");
    }
    for (kc, key, col, value) in c.edits {
        let i = before.iter().position(|r| r[*kc].eq_ignore_ascii_case(key)).unwrap();
        let old = &before[i][*col];
        assert!(
            run[i].2.contains(&format!("{col}: {old:?} → {value:?}")),
            "row {}: {:?}",
            i + 2,
            run[i]
        );
    }

    // The target now holds the edited file, cell for cell.
    let again = w.path("again.csv");
    assert_eq!(export_from(&sb, c.target, &again, &["--include-terminated"]).code, 0);
    let now = rows_by_name(&again);
    assert_eq!(now.len(), rows.len());
    for want in &rows {
        let got = now
            .iter()
            .find(|g| {
                c.edits.first().map(|e| e.0).is_some_and(|kc| g[kc].eq_ignore_ascii_case(&want[kc]))
            })
            .unwrap_or_else(|| panic!("{want:?} is not in the new export"));
        for h in header.iter().filter(|h| h.as_str() != "ID" && !c.derived.contains(&h.as_str())) {
            assert_eq!(got[h], want[h], "{h} of {want:?}");
        }
    }
    // And a third import changes nothing.
    let r = import_to(&sb, c.target, &again, &w.path("third"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(outcomes(&w.path("third")).iter().all(|o| o.0 == "unchanged"), "{}", r.stdout);
}

#[test]
fn securitytrax_round_trip() {
    round_trip(&Case {
        target: "securitytrax",
        first: &[
            "First Name,Last Name,Username,Email,Payroll Identifier,Title,Phone",
            "Ana,Silva,asilva,ana@example.com,P-10,Technician,555-0100",
            "Bo,Li,bli,bo@example.com,P-11,Technician,555-0101",
            "Cy,Do,cdo,cy@example.com,P-12,Sales Rep,555-0102",
            "Di,Ray,dray,di@example.com,P-13,Sales Rep,555-0103",
        ],
        edits: &[
            ("Username", "asilva", "Title", "Senior Technician"),
            ("Username", "asilva", "Phone", "555-0199"),
            ("Username", "bli", "Email", "bo.li@example.com"),
        ],
        leaver: ("Username", "cdo", &[("Active", "no")]),
        joiner: &[
            ("First Name", "Eve"),
            ("Last Name", "Moss"),
            ("Username", "emoss"),
            ("Email", "eve@example.com"),
            ("Payroll Identifier", "P-14"),
            ("Active", "yes"),
        ],
        derived: &[],
    });
}

#[test]
fn tracktik_round_trip() {
    round_trip(&Case {
        target: "tracktik",
        first: &[
            "Employee ID,First Name,Last Name,Email,Region,Role,Job Title",
            "E1,Ana,Silva,ana@example.com,EMEA,Guard,Guard",
            "E2,Bo,Li,bo@example.com,EMEA,Guard,Guard",
            "E3,Cy,Do,cy@example.com,APAC,Supervisor,Supervisor",
            "E4,Di,Ray,di@example.com,APAC,Guard,Guard",
        ],
        edits: &[
            ("Employee ID", "E1", "Job Title", "Senior Guard"),
            ("Employee ID", "E1", "Role", "Supervisor"),
            ("Employee ID", "E2", "Region", "NA-East"),
        ],
        leaver: (
            "Employee ID",
            "E3",
            &[("Status", "Terminated"), ("Termination Reason", "Resignation")],
        ),
        joiner: &[
            ("Employee ID", "E5"),
            ("First Name", "Eve"),
            ("Last Name", "Moss"),
            ("Email", "eve@example.com"),
            ("Region", "EMEA"),
            ("Role", "Guard"),
            ("Job Title", "Guard"),
            ("Status", "Active"),
        ],
        // Export leaves the termination columns empty; a new employee's
        // password-change flag is the target's.
        derived: &["Termination Date", "Termination Reason", "Force Password Change"],
    });
}

#[test]
fn guardian_round_trip() {
    round_trip(&Case {
        target: "guardian",
        first: &[
            "First Name,Last Name,Email,Employee ID,Role,Login,Title",
            "Ana,Silva,ana@example.com,E1,5,asilva,Clerk",
            "Bo,Li,bo@example.com,E2,5,bli,Clerk",
            "Cy,Do,cy@example.com,E3,4,cdo,Recruiter",
        ],
        edits: &[
            ("Login", "asilva", "Title", "Senior Clerk"),
            ("Login", "bli", "Email", "bo.li@example.com"),
        ],
        leaver: ("Login", "cdo", &[("Retired", "yes")]),
        joiner: &[
            ("First Name", "Eve"),
            ("Last Name", "Moss"),
            ("Email", "eve@example.com"),
            ("Employee ID", "E5"),
            ("Role", "5"),
            ("Login", "emoss"),
            ("Retired", "no"),
        ],
        derived: &[],
    });
}

#[test]
fn trackops_round_trip() {
    round_trip(&Case {
        target: "trackops",
        // Location and Role as ids: export reads no profile.
        first: &[
            "First Name,Last Name,Email,Phone,Title,Location,Role,Access Level,Tags",
            "Ana,Silva,ana@example.com,555-0100,Investigator,3,7,Full Access,spanish",
            "Bo,Li,bo@example.com,555-0101,Investigator,4,7,Limited Access,",
            "Cy,Do,cy@example.com,555-0102,Case Manager,5,8,Limited Access,nights",
        ],
        edits: &[
            ("Email", "ana@example.com", "Title", "Lead Investigator"),
            ("Email", "ana@example.com", "Location", "4"),
            ("Email", "bo@example.com", "Tags", "french"),
        ],
        leaver: ("Email", "cy@example.com", &[("Access Level", "Disabled")]),
        joiner: &[
            ("First Name", "Eve"),
            ("Last Name", "Moss"),
            ("Email", "eve@example.com"),
            ("Location", "3"),
            ("Role", "9"),
            ("Access Level", "Limited Access"),
        ],
        derived: &[],
    });
}

#[test]
fn intellihr_round_trip() {
    round_trip(&Case {
        target: "intellihr",
        first: &[
            "Employee Number,First Name,Last Name,Email,Username,Login Enabled",
            "E1,Ana,Silva,ana@example.com,asilva,yes",
            "E2,Bo,Li,bo@example.com,bli,yes",
            "E3,Cy,Do,cy@example.com,cdo,yes",
        ],
        edits: &[
            ("Employee Number", "E1", "Preferred Name", "Annie"),
            ("Employee Number", "E2", "Username", "bo.li"),
        ],
        leaver: ("Employee Number", "E3", &[("Login Enabled", "no")]),
        joiner: &[
            ("Employee Number", "E5"),
            ("First Name", "Eve"),
            ("Last Name", "Moss"),
            ("Email", "eve@example.com"),
            ("Username", "emoss"),
            ("Login Enabled", "yes"),
        ],
        // intelliHR's defaults for a new person.
        derived: &["Permission Groups", "Gender"],
    });
}

#[test]
fn scim_round_trip() {
    round_trip(&Case {
        target: "scim",
        first: &[
            "User Name,External ID,Given Name,Family Name,Email,Title,Department",
            "asilva,X1,Ana,Silva,ana@example.com,Guard,Days",
            "bli,X2,Bo,Li,bo@example.com,Guard,Days",
            "cdo,X3,Cy,Do,cy@example.com,Lead,Nights",
        ],
        edits: &[
            ("User Name", "asilva", "Title", "Senior Guard"),
            ("User Name", "bli", "Department", "Nights"),
        ],
        leaver: ("User Name", "cdo", &[("Active", "no")]),
        joiner: &[
            ("User Name", "emoss"),
            ("External ID", "X5"),
            ("Given Name", "Eve"),
            ("Family Name", "Moss"),
            ("Email", "eve@example.com"),
            ("Active", "yes"),
        ],
        derived: &["Display Name"],
    });
}

/// Kate Farrell holds login `kfarrell` in Guardian; a new hire Kathy
/// Farrell's row gives the same login with her own e-mail. Matched through
/// the login alone, with an e-mail that disagrees, the row is refused,
/// naming the record: never taken for Kate, never a silent "exists".
#[test]
fn a_match_through_a_secondary_key_whose_other_keys_disagree_is_refused() {
    let w = Work::new();
    let sb = sandbox();
    let kate = sb.with(|s: &mut GuardianSim| {
        s.seed_user(json!({"firstName": "Kate", "lastName": "Farrell", "role": 5,
            "login": "kfarrell", "emailAddress": "kate.farrell@example.com", "profileId": "E1"}))
    });
    let file = w.write(
        "hires.csv",
        csv_text(&[
            "Login,First Name,Last Name,Email,Employee ID,Role",
            "kfarrell,Kathy,Farrell,kathy.farrell@example.com,,5",
            // Matched by Employee ID, the primary key: a new e-mail is a change.
            ",Kate,Farrell,kate@example.com,E1,5",
        ]),
    );
    let r = import_to(&sb, "guardian", &file, &w.path("o"), &["--dry-run"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&w.path("o/results.csv"));
    assert_eq!(rows[0]["hrport_status"], "invalid");
    assert_eq!(
        rows[0]["hrport_error"],
        format!(
            "matches Guardian record {kate} (Kate Farrell) by another key, but Email \
             \"kathy.farrell@example.com\" (the record has \"kate.farrell@example.com\") \
             disagrees: if this is that person, give its ID; if not, fix the row"
        )
    );
    assert_eq!(rows[1]["hrport_id"], kate.to_string());
    assert!(
        rows[1]["hrport_changes"]
            .starts_with("Email: \"kate.farrell@example.com\" → \"kate@example.com\""),
        "{:?}",
        rows[1]
    );
}

#[test]
fn an_id_names_exactly_one_record_and_must_agree_with_the_keys() {
    let w = Work::new();
    let sb = sandbox();
    let (kate, lee) = sb.with(|s: &mut Sim| {
        let k = s
            .seed_employee(json!({"customId": "E1", "firstName": "Kate", "lastName": "Farrell",
            "email": "kate@example.com", "region": 4}));
        let l = s.seed_employee(json!({"customId": "E2", "firstName": "Lee", "lastName": "Moss",
            "email": "lee@example.com", "region": 4}));
        (k, l)
    });
    let file = w.write(
        "ids.csv",
        csv_text(&[
            "ID,Employee ID,First Name,Last Name,Email,Region,Role",
            "999999,E9,New,Person,new@example.com,EMEA,Guard",
            &format!("{kate},E2,Kate,Farrell,kf@example.com,EMEA,Guard"),
            &format!("{lee},,Lee,Moss,,EMEA,"),
        ]),
    );
    let r = import(&sb, &file, &w.path("o"), &["--dry-run"]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&w.path("o/results.csv"));
    assert_eq!(rows[0]["hrport_error"], "ID: no TrackTik record has ID \"999999\"");
    assert_eq!(
        rows[1]["hrport_error"],
        format!(
            "ID {kate} is Kate Farrell, but the row's keys find TrackTik record {lee} (Lee Moss): \
             fix the ID or the keys"
        )
    );
    // The ID alone is enough to name a record.
    assert_eq!(
        (rows[2]["hrport_status"].as_str(), rows[2]["hrport_id"].clone()),
        ("skipped", lee.to_string())
    );
    assert_eq!(rows[2]["hrport_action"], "unchanged");
}

#[test]
fn mode_update_refuses_new_rows_and_mode_create_changes_nothing_but_lists_the_differences() {
    let w = Work::new();
    let sb = sandbox();
    let kate = sb.with(|s: &mut Sim| {
        let k = s
            .seed_employee(json!({"customId": "E1", "firstName": "Kate", "lastName": "Farrell",
            "email": "kate@example.com", "jobTitle": "Guard", "region": 4}));
        s.user_roles.push(json!({"id": 990, "user": k, "role": 8}));
        k
    });
    let file = w.write(
        "f.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Job Title,Region,Role",
            "E1,Kate,Farrell,kate@example.com,Senior Guard,EMEA,Guard",
            "E9,New,Person,new@example.com,Guard,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &file, &w.path("c"), &["--mode", "create"]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows = rows_by_name(&w.path("c/results.csv"));
    assert_eq!(
        (rows[0]["hrport_status"].as_str(), rows[0]["hrport_action"].as_str()),
        ("exists", "none")
    );
    assert_eq!(rows[0]["hrport_changes"], "Job Title: \"Guard\" → \"Senior Guard\"");
    assert_eq!(rows[1]["hrport_status"], "created");
    let title = |sb: &Sandbox| {
        employees(sb).into_iter().find(|e| e["id"] == json!(kate)).unwrap()["jobTitle"].clone()
    };
    assert_eq!(title(&sb), "Guard", "--mode create changes no record");

    let file = w.write(
        "u.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Job Title,Region,Role",
            "E1,Kate,Farrell,kate@example.com,Senior Guard,EMEA,Guard",
            "E10,Newer,Person,newer@example.com,Guard,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &file, &w.path("u"), &["--mode", "update"]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&w.path("u/results.csv"));
    assert_eq!(rows[0]["hrport_status"], "updated");
    assert_eq!(
        rows[1]["hrport_error"],
        "no TrackTik record with Employee ID \"E10\" or Email \"newer@example.com\" (--mode \
         update changes existing records only)"
    );
    assert_eq!(employees(&sb).len(), 2, "nothing created");
    assert_eq!(title(&sb), "Senior Guard");
}

#[test]
fn a_status_cell_must_say_active_or_inactive_and_a_scope_must_name_a_column() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "s.csv",
        csv_text(&["First Name,Last Name,Username,Status", "Ana,Silva,asilva,Gone fishing"]),
    );
    let r = import_to(&sb, "securitytrax", &file, &w.path("o"), &["--dry-run"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&w.path("o/results.csv"))[0].2,
        "Status: \"Gone fishing\" is not Active or Inactive (nor Terminated, Retired, Disabled)"
    );
    let r = import_to(
        &sb,
        "securitytrax",
        &file,
        &w.path("o2"),
        &["--mode", "sync", "--scope", "Shoe Size=42"],
        &[],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--scope \"Shoe Size=42\": \"Shoe Size\" is not a column of this target"),
        "{}",
        r.stderr
    );
}

/// `--mode sync` deactivates whom the file leaves out, within `--scope`,
/// never past the safeguard (refused before anything is sent) and never
/// the account hrport signs in as.
#[test]
fn mode_sync_deactivates_whom_the_file_leaves_out_within_the_safeguard() {
    use hrport_sandbox::securitytrax::Sim as St;
    let w = Work::new();
    let sb = sandbox();
    let mut rows = vec!["First Name,Last Name,Username,Title".to_string()];
    for i in 0..10 {
        let title = if i < 6 { "Day" } else { "Night" };
        rows.push(format!("P{i},Team,u{i},{title}"));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let all = w.write("all.csv", csv_text(&refs));
    assert_eq!(import_to(&sb, "securitytrax", &all, &w.path("o1"), &[], &[]).code, 0);
    // The file now leaves out mgarcia and u7..u9 (and the API account).
    let fewer = w.write("fewer.csv", csv_text(&refs[..8]));
    let active = |sb: &Sandbox| {
        sb.with(|s: &mut St| {
            let mut a: Vec<String> = s
                .users
                .iter()
                .filter(|u| u["attributes"]["active"] != json!(false))
                .map(|u| u["attributes"]["username"].as_str().unwrap().to_string())
                .collect();
            a.sort();
            a
        })
    };
    let before = active(&sb);
    assert_eq!(before.len(), 12);

    // 4 of 12 active records is past the default limit (10 %: 2).
    let r = import_to(&sb, "securitytrax", &fewer, &w.path("o2"), &["--mode", "sync"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "--mode sync would deactivate 4 of the 12 active records in scope, more than the \
             limit of 2: check the file and --scope; if that is right, allow it with \
             --max-deactivations 4"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(active(&sb), before, "nothing sent");

    // Within --scope Title=Night only u7..u9 may go: 3, allowed by the flag.
    let r = import_to(
        &sb,
        "securitytrax",
        &fewer,
        &w.path("o3"),
        &["--mode", "sync", "--scope", "Title=Night", "--max-deactivations", "3"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let now = active(&sb);
    assert!(!now.iter().any(|u| ["u7", "u8", "u9"].contains(&u.as_str())), "{now:?}");
    assert!(now.contains(&"mgarcia".to_string()), "out of scope: kept");
    assert!(now.contains(&"api".to_string()), "hrport's own account is never deactivated");
    let gone = rows_by_name(&w.path("o3/deactivations.csv"));
    // In id order, and the ids were given in whatever order the parallel
    // creates came: compare them sorted.
    let mut names: Vec<(&str, &str)> =
        gone.iter().map(|g| (g["Username"].as_str(), g["hrport_status"].as_str())).collect();
    names.sort();
    assert_eq!(names, [("u7", "deactivated"), ("u8", "deactivated"), ("u9", "deactivated")]);
    assert!(r.stdout.contains("sync: records the file leaves out deactivated: 3"), "{}", r.stdout);
}

/// `kill -9` while updates are going out, then `--resume`: every change
/// applied exactly once (a row whose PATCH went out before the kill is
/// found changed when the record is read again, and not sent twice), and
/// every row `updated` in the results.
#[test]
fn kill_9_during_updates_then_resume_applies_each_change_once() {
    use hrport_sandbox::securitytrax::Sim as St;
    let w = Work::new();
    let sb = sandbox();
    let n = 120;
    let team = |title: &str| {
        let mut rows = vec!["First Name,Last Name,Username,Title".to_string()];
        rows.extend((0..n).map(|i| format!("P{i},Team,u{i},{title}")));
        rows
    };
    let first = team("Technician");
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    let file = w.write("team.csv", csv_text(&refs));
    assert_eq!(import_to(&sb, "securitytrax", &file, &w.path("o1"), &[], &[]).code, 0);
    let edited = team("Senior Technician");
    let refs: Vec<&str> = edited.iter().map(String::as_str).collect();
    let file = w.write("edited.csv", csv_text(&refs));

    let out = w.path("o2");
    let url = format!("{}{}", sb.url(), hrport_sandbox::access("securitytrax").unwrap().prefix);
    let vars = sandbox_env("securitytrax");
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut child = Hrport::import(&file)
        .target("securitytrax")
        .base_url(&url)
        .out(&out)
        .arg("--rate", "40")
        .flag("-q")
        .envs(&vars)
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let patched = |sb: &Sandbox| sb.with(|s: &mut St| s.patches.len());
    let t = std::time::Instant::now();
    while patched(&sb) < 30 {
        assert!(t.elapsed() < std::time::Duration::from_secs(30), "the updates never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(patched(&sb) < n, "killed part-way");

    let r = Hrport::resume(&out).arg("--rate", "500").envs(&vars).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("{n} rows: {n} updated")), "{}", r.stdout);
    sb.with(|s: &mut St| {
        assert_eq!(s.patches.len(), n, "one PATCH per person, none twice");
        let titles: Vec<&Value> = s
            .users
            .iter()
            .filter(|u| u["attributes"]["username"] != "api")
            .map(|u| &u["attributes"]["title"])
            .collect();
        assert!(titles.iter().filter(|t| **t == "Senior Technician").count() == n, "{titles:?}");
    });
}

/// A colleague edits a field in the target while the import runs: just
/// before hrport reads the record again to update it, the sandbox applies
/// their change through the vendor's own API.
struct Meanwhile {
    target: &'static str,
    first: &'static [&'static str],
    /// (key column, key, column, the file's new value, the colleague's value)
    edit: (&'static str, &'static str, &'static str, &'static str, &'static str),
    /// The record's own path below the vendor's prefix ("{id}": its ID).
    path: &'static str,
    content_type: &'static str,
    /// The colleague's body ("{id}" and "{v}" filled in).
    body: &'static str,
}

fn someone_else_changed_it(c: &Meanwhile) {
    let w = Work::new();
    let sb = sandbox();
    let r =
        import_to(&sb, c.target, &w.write("first.csv", csv_text(c.first)), &w.path("o1"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let ex = w.path("export.csv");
    assert_eq!(export_from(&sb, c.target, &ex, &[]).code, 0);
    let header = read_csv(&ex)[0].clone();
    let mut rows = rows_by_name(&ex);
    let (kc, key, col, mine, theirs) = c.edit;
    let id = find(&mut rows, kc, key)["ID"].clone();
    find(&mut rows, kc, key).insert(col.to_string(), mine.to_string());
    // A second edited row, which nobody else touches, still goes through.
    let other = rows.iter_mut().find(|r| !r[kc].eq_ignore_ascii_case(key)).unwrap();
    other.insert(col.to_string(), format!("{mine} Too"));
    let edited = write_rows(&w, "edited.csv", &header, &rows);

    let path = c.path.replace("{id}", &id);
    let body: serde_json::Value =
        serde_json::from_str(&c.body.replace("{id}", &id).replace("{v}", theirs)).unwrap();
    let (get, patch) = (hrport_sandbox::Method::GET, hrport_sandbox::Method::PATCH);
    sb.meanwhile(c.target, (get, &path), (patch, &path, c.content_type, body));
    let r = import_to(&sb, c.target, &edited, &w.path("run"), &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let results = rows_by_name(&w.path("run").join("results.csv"));
    let row = results.iter().find(|r| r[kc].eq_ignore_ascii_case(key)).unwrap();
    assert_eq!(row["hrport_status"], "failed", "{row:?}");
    assert!(
        row["hrport_error"].starts_with(&format!(
            "changed in the target since this run read it: {col} is now {theirs:?} (was "
        )) && row["hrport_error"].contains("not overwritten"),
        "{row:?}"
    );
    assert_eq!(results.iter().filter(|r| r["hrport_status"] == "updated").count(), 1);
    // The colleague's value stands; the other row has the file's.
    let again = w.path("again.csv");
    assert_eq!(export_from(&sb, c.target, &again, &[]).code, 0);
    let now = rows_by_name(&again);
    let cell = |k: &str| now.iter().find(|r| r[kc].eq_ignore_ascii_case(k)).unwrap()[col].clone();
    assert_eq!(cell(key), theirs);
    assert_eq!(cell(&other_key(&rows, kc, key)), format!("{mine} Too"));
}

fn other_key(rows: &[Row], kc: &str, key: &str) -> String {
    rows.iter().find(|r| !r[kc].eq_ignore_ascii_case(key)).unwrap()[kc].clone()
}

#[test]
fn a_field_someone_else_changed_meanwhile_is_not_overwritten() {
    let json = "application/json";
    for c in [
        Meanwhile {
            target: "guardian",
            first: &[
                "First Name,Last Name,Email,Employee ID,Role,Login,Title",
                "Ana,Silva,ana@example.com,E1,5,asilva,Clerk",
                "Bo,Li,bo@example.com,E2,5,bli,Clerk",
            ],
            edit: ("Login", "asilva", "Title", "Senior Clerk", "Head Clerk"),
            path: "/v1/users/{id}",
            content_type: json,
            body: r#"{"title": "{v}"}"#,
        },
        Meanwhile {
            target: "tracktik",
            first: &[
                "Employee ID,First Name,Last Name,Email,Region,Role,Job Title",
                "E1,Ana,Silva,ana@example.com,EMEA,Guard,Guard",
                "E2,Bo,Li,bo@example.com,EMEA,Guard,Guard",
            ],
            edit: ("Employee ID", "E1", "Job Title", "Senior Guard", "Head Guard"),
            path: "/rest/v1/employees/{id}",
            content_type: json,
            body: r#"{"jobTitle": "{v}"}"#,
        },
        Meanwhile {
            target: "trackops",
            first: &[
                "First Name,Last Name,Email,Title,Location,Role,Access Level",
                "Ana,Silva,ana@example.com,Investigator,3,7,Full Access",
                "Bo,Li,bo@example.com,Investigator,4,7,Limited Access",
            ],
            edit: ("Email", "ana@example.com", "Title", "Lead", "Chief"),
            path: "/api/v1/staff/{id}",
            content_type: json,
            body: r#"{"title": "{v}"}"#,
        },
        Meanwhile {
            target: "securitytrax",
            first: &[
                "First Name,Last Name,Username,Email,Title",
                "Ana,Silva,asilva,ana@example.com,Technician",
                "Bo,Li,bli,bo@example.com,Technician",
            ],
            edit: ("Username", "asilva", "Title", "Senior Technician", "Lead Technician"),
            path: "/sandbox/user/v1/users/{id}",
            content_type: "application/vnd.api+json",
            body: r#"{"data": {"type": "users", "id": "{id}", "attributes": {"title": "{v}"}}}"#,
        },
        Meanwhile {
            target: "intellihr",
            first: &[
                "Employee Number,First Name,Last Name,Email,Username,Preferred Name",
                "E1,Ana,Silva,ana@example.com,asilva,Ana",
                "E2,Bo,Li,bo@example.com,bli,Bo",
            ],
            edit: ("Employee Number", "E1", "Preferred Name", "Annie", "Nan"),
            path: "/v1/people/{id}",
            content_type: json,
            body: r#"{"preferredName": "{v}"}"#,
        },
        Meanwhile {
            target: "scim",
            first: &[
                "User Name,External ID,Given Name,Family Name,Email,Title",
                "asilva,X1,Ana,Silva,ana@example.com,Guard",
                "bli,X2,Bo,Li,bo@example.com,Guard",
            ],
            edit: ("User Name", "asilva", "Title", "Senior Guard", "Head Guard"),
            path: "/v2/Users/{id}",
            content_type: "application/scim+json",
            body: r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "path": "title", "value": "{v}"}]}"#,
        },
    ] {
        someone_else_changed_it(&c);
    }
}

/// `#clear` empties a field (an empty cell leaves it as it is); a column a
/// record cannot be without cannot be cleared.
#[test]
fn a_clear_cell_empties_the_field_and_only_where_a_record_can_be_without_it() {
    // (target, first file, (key column, key, column to clear))
    type Case<'a> = (&'a str, &'a [&'a str], (&'a str, &'a str, &'a str));
    let cases: [Case; 6] = [
        (
            "guardian",
            &[
                "First Name,Last Name,Email,Employee ID,Role,Login,Title",
                "Ana,Silva,ana@example.com,E1,5,asilva,Clerk",
            ],
            ("Login", "asilva", "Title"),
        ),
        (
            "tracktik",
            &[
                "Employee ID,First Name,Last Name,Email,Region,Role,Job Title,Primary Phone",
                "E1,Ana,Silva,ana@example.com,EMEA,Guard,Guard,+1 555 0100",
            ],
            ("Employee ID", "E1", "Primary Phone"),
        ),
        (
            "trackops",
            &[
                "First Name,Last Name,Email,Title,Location,Role,Access Level",
                "Ana,Silva,ana@example.com,Investigator,3,7,Full Access",
            ],
            ("Email", "ana@example.com", "Title"),
        ),
        (
            "securitytrax",
            &[
                "First Name,Last Name,Username,Email,Title,Phone",
                "Ana,Silva,asilva,ana@example.com,Technician,555-0100",
            ],
            ("Username", "asilva", "Phone"),
        ),
        (
            "intellihr",
            &[
                "Employee Number,First Name,Last Name,Email,Username,Preferred Name",
                "E1,Ana,Silva,ana@example.com,asilva,Annie",
            ],
            ("Employee Number", "E1", "Preferred Name"),
        ),
        (
            "scim",
            &[
                "User Name,External ID,Given Name,Family Name,Email,Title,Department",
                "asilva,X1,Ana,Silva,ana@example.com,Guard,Days",
            ],
            ("User Name", "asilva", "Department"),
        ),
    ];
    for (target, first, (kc, key, col)) in cases {
        let w = Work::new();
        let sb = sandbox();
        let r = import_to(&sb, target, &w.write("f.csv", csv_text(first)), &w.path("o1"), &[], &[]);
        assert_eq!(r.code, 0, "{target}: {r:?}");
        let ex = w.path("export.csv");
        assert_eq!(export_from(&sb, target, &ex, &[]).code, 0);
        let header = read_csv(&ex)[0].clone();
        let mut rows = rows_by_name(&ex);
        let was = find(&mut rows, kc, key)[col].clone();
        assert!(!was.is_empty(), "{target}: {col} starts with a value");
        find(&mut rows, kc, key).insert(col.to_string(), "#CLEAR".into());
        let edited = write_rows(&w, "edited.csv", &header, &rows);
        let r = import_to(&sb, target, &edited, &w.path("run"), &[], &[]);
        assert_eq!(r.code, 0, "{target}: {r:?}");
        let of = |out: &str| {
            let rows = rows_by_name(&w.path(out).join("results.csv"));
            let r = rows.into_iter().find(|r| r[kc].eq_ignore_ascii_case(key)).unwrap();
            (r["hrport_status"].clone(), r["hrport_action"].clone(), r["hrport_changes"].clone())
        };
        let got = &of("run");
        assert_eq!(got.0, "updated", "{target}: {got:?}");
        // (An exported phone starting with + is guarded against formulas.)
        let was = was.trim_start_matches('\'');
        assert_eq!(got.2, format!("{col}: {was:?} → \"\""), "{target}");
        let again = w.path("again.csv");
        assert_eq!(export_from(&sb, target, &again, &[]).code, 0);
        let now = rows_by_name(&again);
        let now = now.iter().find(|r| r[kc].eq_ignore_ascii_case(key)).unwrap();
        assert_eq!(now[col], "", "{target}: {col} is empty now");
        // Cleared again, it is unchanged.
        let r = import_to(&sb, target, &edited, &w.path("third"), &[], &[]);
        assert_eq!(of("third").0, "unchanged", "{target}: {r:?}");
    }
    // A required column and a key refuse it.
    let w = Work::new();
    let sb = sandbox();
    let first = csv_text(&[
        "Employee ID,First Name,Last Name,Email,Region,Role",
        "E1,Ana,Silva,ana@example.com,EMEA,Guard",
        "E2,Bo,Li,bo@example.com,EMEA,Guard",
    ]);
    let r = import_to(&sb, "tracktik", &w.write("f.csv", first), &w.path("o1"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let file = csv_text(&[
        "Employee ID,First Name,Last Name,Email,Region,Role",
        "E1,Ana,#clear,ana@example.com,EMEA,Guard",
        "E2,Bo,Li,#clear,EMEA,Guard",
    ]);
    let r = import_to(&sb, "tracktik", &w.write("bad.csv", file), &w.path("bad"), &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let errs = rows_by_name(&w.path("bad").join("errors.csv"));
    let msgs: Vec<&str> = errs.iter().map(|r| r["hrport_error"].as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Last Name: cannot be cleared: it is required",
            "Email: cannot be cleared: it is a key that finds the record"
        ]
    );
}
