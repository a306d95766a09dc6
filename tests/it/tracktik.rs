//! TrackTik import end to end: created records, exact results and errors
//! cells, existing records, re-imports, exit codes; the in-process sandbox,
//! or a 127.0.0.1 port nothing listens on, only.

use crate::util::*;

const FULL_HEADER: &str = "Employee ID,First Name,Middle Name,Last Name,Username,Email,Phone,Job Title,Birthday,Region,Role,Tags,Address Line 1,City,Province,Zip,Country,Employee Type,Hire Date,Hourly Rate,Overtime Exempt,Weekly Hours Target,Temporary Password,Force Password Change";

#[test]
fn clean_file_creates_employees_with_roles_and_follow_up_steps() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "hires.csv",
        csv_text(&[
            FULL_HEADER,
            "000123,Ana,Maria,Silva,asilva,ana@example.com,+1 555 0100,Guard,1990-05-01,EMEA,guard,night; armed,1 Main St,Lisbon,Lisboa,1100-001,PT,EMPLOYEE,2026-12-01,18.50,yes,40,Tmp#Pass-7781,yes",
            "124,Bob,,Stone,,bob@example.com,,,,na-east,Supervisor,,,,,,,,,,,,,no",
            "125,Cleo,,Ray,cray,,,,,4,Guard,,,,,,,,,,,,,",
        ]),
    );
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("tracktik: 3 rows: 3 created, 0 invalid, 0 failed"), "{}", r.stdout);

    assert_eq!(employees(&sb).len(), 3);
    let ana = employee_by_email(&sb, "ana@example.com").expect("Ana created");
    let ana_id = ana["id"].as_u64().unwrap();
    for (field, want) in [
        ("customId", json!("000123")),
        ("firstName", json!("Ana")),
        ("middleName", json!("Maria")),
        ("lastName", json!("Silva")),
        ("username", json!("asilva")),
        ("primaryPhone", json!("+1 555 0100")),
        ("jobTitle", json!("Guard")),
        ("birthday", json!("1990-05-01")),
        ("region", json!(4)), // EMEA
        ("tags", json!(["night", "armed"])),
    ] {
        assert_eq!(ana[field], want, "{field}");
    }
    sb.with(|s: &mut Sim| {
        let addr = s.address_of(&ana).unwrap();
        assert_eq!(addr["addressLine1"], "1 Main St");
        assert_eq!(addr["city"], "Lisbon");
        assert_eq!(addr["state"], "Lisboa");
        assert_eq!(addr["postalCode"], "1100-001");
        assert_eq!(addr["country"], "PT");
        let p = s.profile_of(&ana).unwrap();
        assert_eq!(p["employeeType"], "EMPLOYEE");
        assert_eq!(p["employmentDate"], "2026-12-01");
        assert_eq!(p["hourlyRate"], json!(18.5));
        assert_eq!(p["overtimeExempt"], json!(true));
        assert_eq!(p["weeklyHoursTarget"], json!(40));
        assert_eq!(s.passwords.get(&ana_id).map(String::as_str), Some("Tmp#Pass-7781"));
        assert!(s.force_password_change.contains(&ana_id));
    });
    assert_eq!(role_name_of(&sb, ana_id).as_deref(), Some("Guard"));

    let bob = employee_by_email(&sb, "bob@example.com").unwrap();
    let bob_id = bob["id"].as_u64().unwrap();
    assert_eq!(bob["region"], json!(2)); // NA-East, given in lower case
    assert_eq!(role_name_of(&sb, bob_id).as_deref(), Some("Supervisor"));
    assert!(!sb.with(|s: &mut Sim| s.force_password_change.contains(&bob_id)));
    let cleo = employees(&sb).into_iter().find(|e| e["username"] == "cray").unwrap();
    assert_eq!(cleo["region"], json!(4)); // given by id
    assert_eq!(cleo["email"], Value::Null);

    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), 3);
    let header = &read_csv(&out.join("results.csv"))[0];
    assert_eq!(header.last().unwrap(), "hrport_error");
    assert_eq!(
        &header[header.len() - 6..],
        [
            "hrport_row",
            "hrport_status",
            "hrport_action",
            "hrport_id",
            "hrport_changes",
            "hrport_error"
        ]
    );
    assert_eq!(rows[0]["hrport_row"], "2");
    assert_eq!(rows[0]["hrport_status"], "created");
    assert_eq!(rows[0]["hrport_id"], ana_id.to_string());
    assert_eq!(rows[1]["hrport_id"], bob_id.to_string());
    assert_eq!(rows[2]["hrport_id"], cleo["id"].to_string());
    assert_eq!(rows[0]["Phone"], "'+1 555 0100", "formula guard on a leading +");
    assert_eq!(rows[0]["Employee ID"], "000123");
    assert_eq!(rows[0]["Temporary Password"], "", "passwords never reach an output");
    assert_eq!(read_csv(&out.join("errors.csv")).len(), 1, "errors.csv has only its header");

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"], 3);
    assert_eq!(summary["created"], 3);
    assert_eq!(summary["invalid"], 0);
    assert!(summary["requests"].as_u64().unwrap() > 3 + 3);

    for f in ["results.csv", "errors.csv", "summary.json"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains("Tmp#Pass-7781"), "password in {f}");
    }
    assert!(!r.stdout.contains("Tmp#Pass-7781") && !r.stderr.contains("Tmp#Pass-7781"));
}

#[test]
fn a_column_named_password_is_sent_as_the_temporary_password_and_never_written() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "p.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role,Password",
            "Ana,Silva,ana@example.com,EMEA,Guard,Zq!9-unique-pw",
        ]),
    );
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let id = employee_by_email(&sb, "ana@example.com").unwrap()["id"].as_u64().unwrap();
    assert_eq!(
        sb.with(|s: &mut Sim| s.passwords.get(&id).cloned()).as_deref(),
        Some("Zq!9-unique-pw")
    );
    assert_eq!(rows_by_name(&out.join("results.csv"))[0]["Password"], "");
    for f in ["results.csv", "errors.csv", "summary.json"] {
        assert!(!std::fs::read_to_string(out.join(f)).unwrap().contains("Zq!9-unique-pw"), "{f}");
    }
}

#[test]
fn every_invalid_row_is_reported_with_its_reason_and_valid_rows_still_go() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "bad.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Username,Email,Birthday,Region,Role,Hire Date,Hourly Rate,Overtime Exempt,Weekly Hours Minimum,Weekly Hours Maximum",
            "1,Ana,Silva,,ana@example.com,,EMEA,Guard,,,,,",
            "2,Bob,Stone,,bob@example,,EMEA,Guard,,,,,",
            "3,Cy,Ray,,cy@example.com,,NA East,Gaurd,,,,,",
            "4,Di,Ray,,di@example.com,2090-01-01,EMEA,Guard,2023-02-30,,,,",
            "5,Ed,Ray,,ed@example.com,,EMEA,Guard,,ten,maybe,,",
            "6,,Ray,,fi@example.com,,EMEA,Guard,,,,,",
            "1,Gus,Ray,,gus@example.com,,EMEA,Guard,,,,,",
            "8,Hal,Ray,,ANA@EXAMPLE.COM,,EMEA,Guard,,,,,",
            "9,Ivy,Ray,,,,EMEA,Guard,,,,,",
            "10,Jo,Ray,,jo@example.com,,EMEA,Guard,,,,50,40",
            "11,Kim,Ray,,kim@example.com,,EMEA,Guard,,,,",
            "12,Lee,Ray,,lee@example.com,,EMEA,Guard,,,,,",
        ]),
    );
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let s =
        |row: &str, status: &str, err: &str| (row.to_string(), status.to_string(), err.to_string());
    let expected = vec![
        s("2", "created", ""),
        s("3", "invalid", "Email: \"bob@example\" is not a valid e-mail address"),
        s(
            "4",
            "invalid",
            "Region: no region named \"NA East\" (did you mean \"NA-East\"?); Role: no role named \"Gaurd\" (did you mean \"Guard\"?)",
        ),
        s(
            "5",
            "invalid",
            "Birthday: 2090-01-01 is in the future; Hire Date: \"2023-02-30\" is not a real date",
        ),
        s(
            "6",
            "invalid",
            "Hourly Rate: \"ten\" is not a number; Overtime Exempt: \"maybe\" is not yes/no (use yes, no, true, false, y, n, 1 or 0)",
        ),
        s("7", "invalid", "First Name is required"),
        s("8", "invalid", "Employee ID: same as row 2 (must be unique in the file)"),
        s("9", "invalid", "Email: same as row 2 (must be unique in the file)"),
        s("10", "invalid", "give at least one of Username or Email"),
        s("11", "invalid", "Weekly Hours Minimum: 50 is more than Weekly Hours Maximum (40)"),
        s(
            "12",
            "invalid",
            "the row has 12 fields but the header has 13 columns; check for a missing delimiter or an unclosed quote",
        ),
        s("13", "created", ""),
    ];
    assert_eq!(statuses(&out.join("results.csv")), expected);
    let errors: Vec<_> = expected.iter().filter(|e| e.1 == "invalid").cloned().collect();
    assert_eq!(statuses(&out.join("errors.csv")), errors);
    let mut created: Vec<String> =
        employees(&sb).iter().map(|e| e["email"].as_str().unwrap().to_string()).collect();
    created.sort();
    assert_eq!(created, ["ana@example.com", "lee@example.com"]);
    assert!(
        r.stderr.contains("bad.csv row 3: Email: \"bob@example\" is not a valid e-mail address"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("2 created, 10 invalid"), "{}", r.stdout);
}

#[test]
fn a_missing_required_column_stops_before_anything_is_sent() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "x.csv",
        csv_text(&["First Name,Last Name,Email,Role", "Ana,Silva,ana@example.com,Guard"]),
    );
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("x.csv: missing required column Region."), "{}", r.stderr);
    assert!(
        r.stderr.contains("Expected headers (* = required): Employee ID, First Name*,"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Found: First Name, Last Name, Email, Role"), "{}", r.stderr);
    assert_eq!(
        sb.with(|s: &mut Sim| s.counters.requests),
        0,
        "nothing was sent, not even a sign-in"
    );
    assert!(!out.exists(), "no output folder for a run that never started");

    let no_key =
        w.write("y.csv", csv_text(&["First Name,Last Name,Region,Role", "Ana,Silva,EMEA,Guard"]));
    let r = import(&sb, &no_key, &out, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing required column one of Username or Email"), "{}", r.stderr);
}

#[test]
fn existing_employees_are_reported_not_created_and_unfinished_ones_are_completed() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, bob) = sb.with(|s: &mut Sim| {
        let ana = s.seed_employee(json!({"customId": "000123", "firstName": "Ana", "lastName": "Silva", "email": "ana@example.com", "region": 4}));
        s.user_roles.push(json!({"id": 999, "user": ana, "role": 8}));
        // Created by an earlier run that stopped before assigning a role.
        let bob = s.seed_employee(json!({"customId": "200", "firstName": "Bob", "lastName": "Stone", "email": "bob@example.com", "region": 4}));
        (ana, bob)
    });
    let file = w.write(
        "hires.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Region,Role,Force Password Change",
            "000123,Ana,Silva,someone.else@example.com,EMEA,Guard,",
            "200,Bob,Stone,BOB@example.com,EMEA,Supervisor,yes",
            "202,Cleo,Ray,cleo@example.com,EMEA,Guard,yes",
            "000123,Di,Ray,bob@example.com,EMEA,Guard,",
        ]),
    );
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(
        (rows[0]["hrport_status"].as_str(), rows[0]["hrport_id"].clone()),
        ("updated", ana.to_string())
    );
    // Found by Employee ID, the primary key: her new e-mail is an update.
    assert_eq!(
        rows[0]["hrport_changes"],
        "Email: \"ana@example.com\" → \"someone.else@example.com\""
    );
    // Bob lacked his role: finishing him is an update.
    assert_eq!(
        (rows[1]["hrport_status"].as_str(), rows[1]["hrport_id"].clone()),
        ("updated", bob.to_string())
    );
    assert_eq!(rows[2]["hrport_status"], "created");
    assert_eq!(rows[3]["hrport_status"], "invalid");
    assert!(
        rows[3]["hrport_error"].contains(&format!(
            "Employee ID matches employee {ana} but Email matches employee {bob}"
        )),
        "{}",
        rows[3]["hrport_error"]
    );
    assert_eq!(employees(&sb).len(), 3, "only Cleo was created");
    assert_eq!(
        role_name_of(&sb, bob).as_deref(),
        Some("Supervisor"),
        "Bob's missing role was assigned"
    );
    assert_eq!(role_name_of(&sb, ana).as_deref(), Some("Guard"), "Ana untouched");
    assert!(r.stdout.contains("1 created, 2 updated, 1 invalid"), "{}", r.stdout);
    // Both must change their password; only Cleo, created now, got one from
    // hrport. Bob keeps the one he has, so none is handed over for him.
    let creds = read_csv(&out.join("credentials.csv"));
    let cleo = employee_by_email(&sb, "cleo@example.com").unwrap()["id"].as_u64().unwrap();
    let given = sb.with(|s: &mut Sim| s.passwords[&cleo].clone());
    assert_eq!(creds[1..], [vec!["4".to_string(), "202".to_string(), given]], "{creds:?}");
    sb.with(|s: &mut Sim| {
        assert!(s.force_password_change.contains(&bob), "Bob's missing step was done");
        assert!(!s.passwords.contains_key(&bob), "Bob's password was not replaced");
    });
}

#[test]
fn a_terminated_employee_does_not_block_a_new_hire_with_the_same_keys() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| {
        s.seed_employee(json!({"customId": "77", "firstName": "Ana", "lastName": "Old", "email": "ana@example.com", "region": 4, "status": "TERMINATED"}));
    });
    let file = w.write(
        "h.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Region,Role",
            "77,Ana,Silva,ana@example.com,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &file, &w.path("out"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(statuses(&w.path("out/results.csv"))[0].1, "created");
    assert_eq!(employees(&sb).len(), 2);
}

#[test]
fn dry_run_checks_everything_against_the_target_and_creates_nothing() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role",
            "Ana,Silva,ana@example.com,EMEA,Guard",
            "Bob,Stone,bob@example.com,Atlantis,Guard",
        ]),
    );
    let r = import(&sb, &file, &w.path("out"), &["--dry-run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&w.path("out/results.csv")),
        [
            ("2".into(), "skipped".into(), "".into()),
            ("3".into(), "invalid".into(), "Region: no region named \"Atlantis\" (the regions are \"Head Office\", \"NA-East\", \"NA-West\", \"EMEA\", \"APAC\", \"LATAM\")".into())
        ]
    );
    assert_eq!(sb.with(|s: &mut Sim| s.counters.creates), 0);
    assert!(
        r.stdout.starts_with("dry run, tracktik: 2 rows: 1 skipped, 1 invalid"),
        "{}",
        r.stdout
    );

    // Without a target, a dry run still checks the file itself.
    let r = Hrport::import(&file).target("tracktik").flag("--dry-run").out(w.path("o2")).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("no target given"), "{}", r.stderr);
}

#[test]
fn a_fixed_errors_file_imports_as_it_is_and_creates_exactly_the_fixed_rows() {
    let w = Work::new();
    let sb = sandbox();
    let first = w.path("first");
    let r = import(&sb, &samples().join("tracktik-new-hires.csv"), &first, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(employees(&sb).len(), 45);
    let errors = first.join("errors.csv");
    let mut table = read_csv(&errors);
    let header = table[0].clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(table.len(), 6, "five invalid rows in the sample");
    // Fix each row the way a person would in Excel.
    for row in table.iter_mut().skip(1) {
        let err = row[col("hrport_error")].clone();
        if err.starts_with("Region") {
            row[col("Region")] = "EMEA".into();
        } else if err.contains("not a valid e-mail") {
            row[col("Email")].push_str(".com");
        } else if err.contains("not a real date") {
            row[col("Hire Date")] = "2026-02-28".into();
        } else if err.contains("same as row") {
            row[col("Email")] = "gonzalo.haddad31@example.com".into();
        } else if err.contains("Last Name is required") {
            row[col("Last Name")] = "O'Brien".into();
        } else {
            panic!("unexpected error {err}");
        }
    }
    let mut wtr = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in &table {
        wtr.write_record(row).unwrap();
    }
    std::fs::write(&errors, wtr.into_inner().unwrap()).unwrap();

    let second = w.path("second");
    let r = import(&sb, &errors, &second, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("5 rows: 5 created"), "{}", r.stdout);
    assert_eq!(employees(&sb).len(), 50);
    assert_eq!(sb.with(|s: &mut Sim| s.counters.creates), 50, "nothing was sent twice");
    // The old hrport_ columns were ignored, not carried twice.
    let header2 = &read_csv(&second.join("results.csv"))[0];
    assert_eq!(header2.iter().filter(|h| h.starts_with("hrport_")).count(), 6);
    assert!(!r.stderr.contains("hrport_status"), "{}", r.stderr);
}

#[test]
fn bad_credentials_abort_at_once_without_retrying() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role",
            "Ana,Silva,ana@example.com,EMEA,Guard",
        ]),
    );
    let url = tt_url(&sb);
    let mut env = TT_ENV.to_vec();
    env[3] = ("HRPORT_TRACKTIK_PASSWORD", "wrong-password-123");
    let r =
        Hrport::import(&file).target("tracktik").base_url(&url).out(w.path("o")).envs(&env).run();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("run aborted: sign-in refused (HTTP 401)"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: check HRPORT_TRACKTIK_CLIENT_ID"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-password-123"));
    assert_eq!(
        sb.with(|s: &mut Sim| s.counters.failed_logins),
        1,
        "a refused sign-in is never retried"
    );

    let r = Hrport::import(&file).target("tracktik").base_url(&url).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("set HRPORT_TRACKTIK_CLIENT_ID, HRPORT_TRACKTIK_CLIENT_SECRET, HRPORT_TRACKTIK_USERNAME, HRPORT_TRACKTIK_PASSWORD"), "{}", r.stderr);
}

#[test]
fn an_unreachable_target_aborts_with_exit_3() {
    let w = Work::new();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role",
            "Ana,Silva,ana@example.com,EMEA,Guard",
        ]),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/tracktik");
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(&url)
        .arg("--max-retries", "1")
        .out(w.path("o"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    // At once, without the retry (sending.rs has the details).
    let said = format!("cannot reach 127.0.0.1:{port}: connection refused");
    assert!(r.stderr.contains(&said), "{}", r.stderr);
}

#[test]
fn the_demo_command_imports_the_sample_workbook_into_the_built_in_sandbox() {
    let w = Work::new();
    let out = w.path("demo");
    let r = Hrport::import(samples().join("tracktik-new-hires.xlsx"))
        .target("tracktik")
        .flag("--sandbox")
        .out(&out)
        .arg("--rate", "200")
        .run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("tracktik: 50 rows: 45 created, 5 invalid, 0 failed"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("sandbox running at http://127.0.0.1:"), "{}", r.stderr);
    let st = statuses(&out.join("errors.csv"));
    let rows: Vec<&str> = st.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(rows, ["9", "17", "25", "33", "44"]);
    assert_eq!(
        st[0].2,
        "Region: no region named \"Europe\" (the regions are \"Head Office\", \"NA-East\", \"NA-West\", \"EMEA\", \"APAC\", \"LATAM\")"
    );
}

const BATCH_HEADER: &str = "Employee ID,First Name,Last Name,Username,Email,Region,Role,Force Password Change,Temporary Password";

/// `n` new guards (E1.., pN@example.com), each with a role and a forced
/// password change.
fn guards(w: &Work, n: usize) -> std::path::PathBuf {
    let mut rows = vec![BATCH_HEADER.to_string()];
    rows.extend(
        (1..=n).map(|i| {
            format!("E{i},P{i},Guard,user{i},p{i}@example.com,EMEA,Guard,yes,Tmp#{i}-pass")
        }),
    );
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    w.write("guards.csv", csv_text(&refs))
}

/// Every guard of `guards` is there once, with the role Guard and a forced
/// password change.
fn assert_guards(sb: &Sandbox, n: usize) {
    sb.with(|s: &mut Sim| {
        for i in 1..=n {
            let ids = ids_with_email(s, &format!("p{i}@example.com"));
            assert_eq!(ids.len(), 1, "p{i}: {ids:?}");
            let roles: Vec<&Value> =
                s.user_roles.iter().filter(|ur| ur["user"] == json!(ids[0])).collect();
            assert_eq!(roles.len(), 1, "p{i}: {roles:?}");
            assert_eq!(roles[0]["role"], json!(s.role_id("Guard").unwrap()));
            assert!(s.force_password_change.contains(&ids[0]), "p{i}");
            assert_eq!(s.passwords[&ids[0]], format!("Tmp#{i}-pass"));
        }
    });
}

#[test]
fn a_batch_creates_the_valid_rows_and_fails_the_refused_ones_with_their_message() {
    let w = Work::new();
    let sb = sandbox();
    // Usernames TrackTik already holds: hrport cannot know, TrackTik refuses.
    sb.with(|s: &mut Sim| {
        s.seed_employee(
            json!({"firstName": "Old", "lastName": "One", "username": "user2", "region": 4}),
        );
        s.seed_employee(
            json!({"firstName": "Old", "lastName": "Two", "username": "user5", "region": 4}),
        );
    });
    let file = guards(&w, 6);
    // A dry run makes the start-up requests (sign-in, look-ups) and no more.
    assert_eq!(import(&sb, &file, &w.path("plan"), &["--dry-run"]).code, 0);
    let start_up = sb.with(|s: &mut Sim| s.counters.requests);
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("tracktik: 6 rows: 4 created, 0 invalid, 2 failed"), "{}", r.stdout);
    let refused = "create employee: The given data was invalid.; username: The username has \
                   already been taken. (HTTP 400)";
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            ("2".into(), "created".into(), "".into()),
            ("3".into(), "failed".into(), refused.to_string()),
            ("4".into(), "created".into(), "".into()),
            ("5".into(), "created".into(), "".into()),
            ("6".into(), "failed".into(), refused.to_string()),
            ("7".into(), "created".into(), "".into()),
        ]
    );
    let created: Vec<String> = rows_by_name(&out.join("results.csv"))
        .into_iter()
        .filter(|r| r["hrport_status"] == "created")
        .map(|r| r["hrport_id"].clone())
        .collect();
    sb.with(|s: &mut Sim| {
        assert_eq!(s.employees.len(), 2 + 4);
        for (i, id) in [1, 3, 4, 6].iter().zip(&created) {
            assert_eq!(
                ids_with_email(s, &format!("p{i}@example.com")),
                [id.parse::<u64>().unwrap()]
            );
        }
        assert!(ids_with_email(s, "p2@example.com").is_empty());
        // The start-up requests, one batch of creates and one of the four
        // roles and four password changes: no request per row.
        assert_eq!(s.counters.requests - start_up, start_up + 2);
    });
    assert!(
        r.stdout.contains("note: 14 operations went in 2 /batch/file requests"),
        "{}",
        r.stdout
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["requests"], start_up + 2);
}

#[test]
fn a_batch_whose_answer_is_lost_is_looked_up_and_nothing_is_created_twice() {
    let w = Work::new();
    // Batches of more than 3 operations run 3, then time out without a body.
    let sb = sandbox_with(SandboxConfig {
        faults: Faults { batch_timeout_above: Some(3), ..Faults::default() },
        ..SandboxConfig::default()
    });
    let file = guards(&w, 8);
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("tracktik: 8 rows: 8 created, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(sb.with(|s: &mut Sim| s.employees.len()), 8);
    assert_guards(&sb, 8);
    let ids: Vec<String> = rows_by_name(&out.join("results.csv"))
        .into_iter()
        .map(|r| r["hrport_id"].clone())
        .collect();
    sb.with(|s: &mut Sim| {
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                ids_with_email(s, &format!("p{}@example.com", i + 1)),
                [id.parse::<u64>().unwrap()]
            );
        }
    });
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // Found, not sent again: the three the first batch of eight created
    // before it was cut off, then three of the five sent again in a batch;
    // the last two were looked up alone and created.
    assert_eq!(summary["recovered_lost_answers"], 6, "{}", r.stdout);
}

#[test]
fn a_tenant_without_batches_gets_one_request_per_step_and_is_told_once() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::POST, "/batch/file".into(), 404)));
    let file = guards(&w, 5);
    let profile = w.write("tt.toml", "target = \"tracktik\"\n[options]\nbatch_size = 2\n");
    let out = w.path("out");
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(tt_url(&sb))
        .profile(&profile)
        .out(&out)
        .arg("--rate", "500")
        .envs(
            &sandbox_env("tracktik")
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        )
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("tracktik: 5 rows: 5 created, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_guards(&sb, 5);
    let said = "note: TrackTik refused /rest/v1/batch/file: refused by the sandbox's test settings \
                (HTTP 404); hrport sent one request per step instead (set batch_size = 1 in the \
                profile's [options] to skip the attempt)";
    assert_eq!(r.stdout.matches(said).count(), 1, "{}", r.stdout);
    assert!(!r.stdout.contains("operations went in"), "{}", r.stdout);
}

#[test]
fn batched_changes_keep_each_rows_order_and_stop_a_row_at_its_first_refused_step() {
    let w = Work::new();
    let sb = sandbox();
    assert_eq!(import(&sb, &guards(&w, 3), &w.path("hired"), &[]).code, 0);
    sb.with(|s: &mut Sim| {
        s.seed_employee(
            json!({"firstName": "Old", "lastName": "One", "username": "taken", "region": 4}),
        )
    });
    let file = w.write(
        "changes.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Username,Email,Region,Role,Job Title,Status,Termination Reason",
            "E1,P1,Guard,user1,p1@example.com,EMEA,Guard,Night Lead,Terminated,Resignation",
            "E2,P2,Guard,taken,p2@example.com,APAC,Guard,,Active,",
            "E3,P3,Guard,user3,p3@example.com,EMEA,Guard,,Active,",
        ]),
    );
    let requests = || sb.with(|s: &mut Sim| s.counters.requests);
    let before = requests();
    assert_eq!(import(&sb, &file, &w.path("plan"), &["--dry-run"]).code, 0);
    let start_up = requests() - before;
    let before = requests();
    let out = w.path("out");
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    // Two waves: both updates in one batch, then the termination; before
    // them each of the two changed records is read again (sync's check for
    // someone else's change meanwhile).
    assert_eq!(requests() - before, start_up + 2 + 2);
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st[0].2, "", "{st:?}");
    assert_eq!(
        st[1],
        (
            "3".into(),
            "failed".into(),
            "update employee: The given data was invalid.; username: The username has already \
             been taken. (HTTP 400)"
                .into()
        )
    );
    assert_eq!((st[2].1.as_str(), st[2].2.as_str()), ("unchanged", ""));
    sb.with(|s: &mut Sim| {
        let e1 = &s.employees[&ids_with_email(s, "p1@example.com")[0]];
        // Its fields changed before access ended, as one request each would.
        assert_eq!(
            (e1["jobTitle"].as_str(), e1["status"].as_str()),
            (Some("Night Lead"), Some("TERMINATED"))
        );
        assert_eq!(s.terminations.len(), 1);
        assert_eq!(
            s.terminations[0]["reason"],
            json!(s.termination_reason("Resignation").unwrap())
        );
        // E2 stopped at its refused update: never moved to APAC.
        let e2 = &s.employees[&ids_with_email(s, "p2@example.com")[0]];
        assert_eq!(
            (e2["username"].as_str(), e2["region"].as_u64()),
            (Some("user2"), s.region_id("EMEA"))
        );
        assert_eq!(s.counters.region_moves, 0);
    });
}

/// Sync calls of the TrackTik session itself (update, terminate, rehire),
/// through the library against the in-process sandbox. Import runs through
/// the engine come with the engine.
mod sync {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use hrport::input::Record;
    use hrport::mapping::profile::Profile;
    use hrport::mapping::{Mapping, Value as Cell, find_field};
    use hrport::targets::{self, Options, Outcome, RowInput, Session};
    use hrport::transport::auth::Credentials;
    use hrport::transport::retry::Policy;
    use hrport::transport::{Api, Transport, TransportConfig};

    use crate::util::*;

    /// A signed-in TrackTik API and a connected session, with these
    /// `[options]` (TOML) over the defaults.
    fn connect(sb: &Sandbox, options: &str) -> (Api, Box<dyn Session>) {
        connect_with(sb, options, Duration::from_secs(10))
    }

    /// `connect`, giving up on an answer after `timeout` (and retrying).
    fn connect_with(sb: &Sandbox, options: &str, timeout: Duration) -> (Api, Box<dyn Session>) {
        let target = targets::find("tracktik").unwrap();
        let table: toml::Table = toml::from_str(options).unwrap();
        let options = Options::resolve(target.info(), &table).unwrap();
        let cfg = TransportConfig {
            base_url: tt_url(sb),
            rate: 500.0,
            timeout,
            policy: Policy { max_retries: 4, base: Duration::from_millis(10), ..Policy::default() },
        };
        let transport = Transport::new(&cfg, Arc::new(AtomicBool::new(false))).unwrap();
        let mut creds = Credentials::default();
        for (field, value) in access("tracktik").credentials {
            creds.0.insert(field, hrport::secret::Secret::new(*value));
        }
        let api = Api::new(transport, target.auth(&creds, &options), target.errors());
        api.authenticate().unwrap();
        let session = target.connect(&api, &options).unwrap();
        (api, session)
    }

    /// A row of `header` (a CSV line) mapped as an import maps it.
    struct Row {
        mapping: Mapping,
        record: Record,
    }

    impl Row {
        fn new(header: &str, cells: &str) -> Row {
            let template = &targets::find("tracktik").unwrap().info().template;
            let headers: Vec<String> = header.split(',').map(str::to_string).collect();
            let mapping =
                Mapping::resolve(template, "row.csv", &headers, &Profile::default(), Vec::new())
                    .unwrap();
            let fields = hrport::input::Fields::from(cells.split(',').collect::<Vec<_>>());
            Row { mapping, record: Record { row: 2, fields, shape_error: None, kinds: Vec::new() } }
        }

        /// A row of these (column, cell) pairs, plus the template's
        /// required columns it lacks (an import needs them to read a file;
        /// they are not among the fields an update is asked to change).
        fn of(pairs: &[(&str, &str)]) -> Row {
            let mut pairs = pairs.to_vec();
            for (c, v) in [
                ("First Name", "Ana"),
                ("Last Name", "Silva"),
                ("Region", "EMEA"),
                ("Role", "Guard"),
            ] {
                if !pairs.iter().any(|(k, _)| *k == c) {
                    pairs.push((c, v));
                }
            }
            let header: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
            let cells: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
            Row::new(&header.join(","), &cells.join(","))
        }

        fn values(&self, session: &dyn Session) -> Vec<Cell<'_>> {
            let (mut values, mut problems) = (Vec::new(), Vec::new());
            self.mapping.map_row(&self.record, session.refs(), &mut values, &mut problems);
            assert!(problems.is_empty(), "{problems:?}");
            values
        }
    }

    fn field(name: &str) -> usize {
        find_field(targets::find("tracktik").unwrap().info().template.fields, name).unwrap()
    }

    fn input<'a>(values: &'a [Cell<'a>]) -> RowInput<'a> {
        RowInput { row: 2, values, existing: None, people: &[] }
    }

    /// Imports Ana (and Bob) with the binary, as a user would; their ids.
    fn hire(sb: &Sandbox, w: &Work) -> (String, String) {
        let file = w.write(
            "hires.csv",
            csv_text(&[
                "Employee ID,First Name,Last Name,Email,Phone,Job Title,Region,Role,City,Country,Hourly Rate,Weekly Hours Target,Tags",
                "101,Ana,Silva,ana@example.com,+1 555 0100,Guard,EMEA,Guard,Lisbon,PT,18.50,40,night",
                "102,Bob,Stone,bob@example.com,,Guard,EMEA,Guard,,,,,",
            ]),
        );
        let r = import(sb, &file, &w.path("hired"), &[]);
        assert_eq!(r.code, 0, "{r:?}");
        let id = |m: &str| employee_by_email(sb, m).unwrap()["id"].to_string();
        (id("ana@example.com"), id("bob@example.com"))
    }

    #[test]
    fn an_update_changes_exactly_the_changed_fields_with_the_vendors_calls() {
        let w = Work::new();
        let sb = sandbox();
        let (ana, bob) = hire(&sb, &w);
        let (api, session) = connect(&sb, "");
        let updatable = session.updatable();
        for f in ["Job Title", "Email", "Hourly Rate", "City", "Region", "Role", "Tags", "Birthday"]
        {
            assert!(updatable.contains(&field(f)), "{f} is updatable");
        }
        for f in ["Temporary Password", "Force Password Change", "Status", "Termination Date"] {
            assert!(!updatable.contains(&field(f)), "{f} is not updatable");
        }

        // The row differs in more fields than `changed` lists (Last Name,
        // Phone): only the listed ones change.
        let row = Row::new(
            "ID,Employee ID,First Name,Last Name,Email,Phone,Job Title,Region,Role,City,Hourly Rate,Tags",
            &format!(
                "{ana},101,Ana,Costa,ana.silva@example.com,+1 555 0199,Supervisor,apac,supervisor,Porto,21,night;armed"
            ),
        );
        let values = row.values(session.as_ref());
        let changed: Vec<usize> =
            ["Email", "Job Title", "Region", "Role", "City", "Hourly Rate", "Tags"]
                .into_iter()
                .map(field)
                .collect();
        let before = sb.with(|s: &mut Sim| s.counters.clone());
        assert_eq!(
            session.update(&api, &ana, &input(&values), &changed),
            Outcome::Updated { id: ana.clone() }
        );

        let e = employee_by_email(&sb, "ana.silva@example.com").expect("e-mail changed");
        assert_eq!(e["id"].to_string(), ana);
        assert_eq!(e["jobTitle"], "Supervisor");
        assert_eq!(e["tags"], json!(["night", "armed"]));
        assert_eq!(e["lastName"], "Silva", "not in changed: not sent");
        assert_eq!(e["primaryPhone"], "+1 555 0100", "not in changed: not sent");
        assert_eq!(e["customId"], "101");
        let ana_id: u64 = ana.parse().unwrap();
        sb.with(|s: &mut Sim| {
            assert_eq!(e["region"], json!(s.region_id("APAC").unwrap()));
            let address = s.address_of(&e).unwrap();
            assert_eq!(address["city"], "Porto");
            assert_eq!(address["country"], "PT", "the rest of the address stays");
            let profile = s.profile_of(&e).unwrap();
            assert_eq!(profile["hourlyRate"], json!(21));
            assert_eq!(profile["weeklyHoursTarget"], json!(40));
            assert_eq!(s.role_of(ana_id).and_then(|r| s.role_name(r)), Some("Supervisor"));
            assert_eq!(s.user_roles.iter().filter(|ur| ur["user"] == json!(ana_id)).count(), 1);
            // One update, one move, one role change: nothing else written.
            assert_eq!(s.counters.updates - before.updates, 1);
            assert_eq!(s.counters.region_moves - before.region_moves, 1);
            assert_eq!(s.counters.role_changes - before.role_changes, 1);
            assert_eq!(s.counters.creates, before.creates);
        });
        assert_eq!(role_name_of(&sb, bob.parse().unwrap()).as_deref(), Some("Guard"));
        assert_eq!(employee_by_email(&sb, "bob@example.com").unwrap()["jobTitle"], "Guard");

        // Only the Role: no employee update, no move.
        let row = Row::of(&[("Email", "bob@example.com"), ("Role", "Dispatcher")]);
        let values = row.values(session.as_ref());
        let before = sb.with(|s: &mut Sim| s.counters.clone());
        assert_eq!(
            session.update(&api, &bob, &input(&values), &[field("Role")]),
            Outcome::Updated { id: bob.clone() }
        );
        assert_eq!(role_name_of(&sb, bob.parse().unwrap()).as_deref(), Some("Dispatcher"));
        sb.with(|s: &mut Sim| {
            assert_eq!(s.counters.updates, before.updates);
            assert_eq!(s.counters.region_moves, before.region_moves);
        });

        // A refused change says which step and why.
        let row = Row::of(&[("Email", "bob@example.com")]);
        let values = row.values(session.as_ref());
        match session.update(&api, &ana, &input(&values), &[field("Email")]) {
            Outcome::Failed { id, message, unavailable: false } => {
                assert_eq!(id.as_deref(), Some(ana.as_str()));
                assert_eq!(
                    message,
                    "update employee: The given data was invalid.; email: The email has already been taken. (HTTP 400)"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_employee_without_a_role_gets_one_and_never_a_second() {
        let sb = sandbox();
        let id = sb.with(|s: &mut Sim| {
            s.seed_employee(json!({"firstName": "Cy", "lastName": "Ray", "email": "cy@example.com", "region": 4}))
        });
        let (api, session) = connect(&sb, "");
        let row = Row::of(&[("Email", "cy@example.com"), ("Role", "Guard")]);
        let values = row.values(session.as_ref());
        let id_text = id.to_string();
        assert_eq!(
            session.update(&api, &id_text, &input(&values), &[field("Role")]),
            Outcome::Updated { id: id_text.clone() }
        );
        assert_eq!(role_name_of(&sb, id).as_deref(), Some("Guard"));
        // The same role again changes nothing.
        assert_eq!(
            session.update(&api, &id_text, &input(&values), &[field("Role")]),
            Outcome::Updated { id: id_text.clone() }
        );
        sb.with(|s: &mut Sim| {
            assert_eq!(s.user_roles.iter().filter(|ur| ur["user"] == json!(id)).count(), 1);
            assert_eq!(s.counters.role_changes, 0);
        });
    }

    #[test]
    fn the_update_verb_is_the_update_method_option() {
        let w = Work::new();
        let sb = sandbox();
        let (ana, _) = hire(&sb, &w);
        // A tenant that would refuse PATCH.
        let path = format!("/employees/{ana}");
        sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::PATCH, path.clone(), 405)));
        let row = Row::of(&[("Email", "ana@example.com"), ("Job Title", "Dispatcher")]);
        let changed = [field("Job Title")];

        let (api, session) = connect(&sb, "");
        let values = row.values(session.as_ref());
        match session.update(&api, &ana, &input(&values), &changed) {
            Outcome::Failed { message, .. } => assert_eq!(
                message,
                "update employee: refused by the sandbox's test settings (HTTP 405)"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(employee_by_email(&sb, "ana@example.com").unwrap()["jobTitle"], "Guard");

        let (api, session) = connect(&sb, "update_method = \"put\"");
        assert_eq!(
            session.update(&api, &ana, &input(&values), &changed),
            Outcome::Updated { id: ana.clone() }
        );
        assert_eq!(employee_by_email(&sb, "ana@example.com").unwrap()["jobTitle"], "Dispatcher");

        // A later step that fails says what was already done.
        let moves = format!("/employees/{ana}/actions/move-to-region");
        sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::POST, moves, 400)));
        let row =
            Row::of(&[("Email", "ana@example.com"), ("Job Title", "Patrol"), ("Region", "APAC")]);
        let values = row.values(session.as_ref());
        match session.update(&api, &ana, &input(&values), &[field("Job Title"), field("Region")]) {
            Outcome::Failed { id, message, unavailable: false } => {
                assert_eq!(id.as_deref(), Some(ana.as_str()));
                assert_eq!(
                    message,
                    "move to region: refused by the sandbox's test settings (HTTP 400); already done: update employee"
                );
            }
            other => panic!("{other:?}"),
        }
        let e = employee_by_email(&sb, "ana@example.com").unwrap();
        assert_eq!(e["jobTitle"], "Patrol");
        assert_eq!(e["region"], json!(sb.with(|s: &mut Sim| s.region_id("EMEA"))));

        let (api, session) = connect(&sb, "update_method = \"POST\"");
        match session.update(&api, &ana, &input(&values), &changed) {
            Outcome::Failed { message, .. } => assert_eq!(
                message,
                "[options] update_method is \"POST\"; it must be \"PATCH\" or \"PUT\""
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deactivating_terminates_with_the_rows_date_and_reason_or_the_options() {
        let w = Work::new();
        let sb = sandbox();
        let (ana, bob) = hire(&sb, &w);
        let (api, session) = connect(&sb, "");
        let row = Row::of(&[
            ("Email", "ana@example.com"),
            ("Status", "Terminated"),
            ("Termination Date", "2026-03-01"),
            ("Termination Reason", "end of contract"),
        ]);
        let values = row.values(session.as_ref());
        assert_eq!(session.wants_active(&values), Some(false));
        assert_eq!(
            session.set_active(&api, &ana, false, &input(&values)),
            Outcome::Updated { id: ana.clone() }
        );
        sb.with(|s: &mut Sim| {
            let t = &s.terminations[0];
            assert_eq!(t["employee"].to_string(), ana);
            assert_eq!(t["date"], "2026-03-01");
            assert_eq!(t["reason"], json!(s.termination_reason("End of Contract").unwrap()));
            assert_eq!(t["comment"], "hrport");
            assert_eq!(s.employees[&ana.parse().unwrap()]["status"], "TERMINATED");
        });

        // No reason in the row and none in the options: nothing is sent.
        let row = Row::of(&[
            ("Email", "bob@example.com"),
            ("Status", "Inactive"),
            ("Termination Reason", ""),
        ]);
        let values = row.values(session.as_ref());
        assert_eq!(session.wants_active(&values), Some(false), "Inactive means Terminated");
        match session.set_active(&api, &bob, false, &input(&values)) {
            Outcome::Failed { id, message, unavailable: false } => {
                assert_eq!(id.as_deref(), Some(bob.as_str()));
                assert!(
                    message.contains("give the row a Termination Reason")
                        && message.contains("termination_reason option"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sb.with(|s: &mut Sim| s.terminations.len()), 1);

        // An option that names no reason says so.
        let (api, session) = connect(&sb, "termination_reason = \"Retired\"");
        match session.set_active(&api, &bob, false, &input(&row.values(session.as_ref()))) {
            Outcome::Failed { message, .. } => assert_eq!(
                message,
                "[options] termination_reason: no termination reason named \"Retired\" (did you mean \"Retirement\"?)"
            ),
            other => panic!("{other:?}"),
        }

        // The option's reason, on the run's date.
        let (api, session) = connect(&sb, "termination_reason = \"retirement\"");
        let values = row.values(session.as_ref());
        assert_eq!(
            session.set_active(&api, &bob, false, &input(&values)),
            Outcome::Updated { id: bob.clone() }
        );
        let today = chrono::Local::now().date_naive().format("%Y-%m-%d").to_string();
        sb.with(|s: &mut Sim| {
            let t = &s.terminations[1];
            assert_eq!(t["employee"].to_string(), bob);
            assert_eq!(t["date"], json!(today));
            assert_eq!(t["reason"], json!(s.termination_reason("Retirement").unwrap()));
        });
    }

    #[test]
    fn reactivating_is_refused_with_what_to_do_in_tracktik() {
        let sb = sandbox();
        let id = sb.with(|s: &mut Sim| {
            s.seed_employee(json!({"firstName": "Di", "lastName": "Ray", "email": "di@example.com", "region": 4, "status": "TERMINATED"}))
        });
        let (api, session) = connect(&sb, "");
        let row = Row::of(&[("Email", "di@example.com"), ("Status", "active")]);
        let values = row.values(session.as_ref());
        assert_eq!(session.wants_active(&values), Some(true));
        let before = sb.with(|s: &mut Sim| s.counters.requests);
        match session.set_active(&api, &id.to_string(), true, &input(&values)) {
            Outcome::Failed { id: failed, message, unavailable: false } => {
                assert_eq!(failed, Some(id.to_string()));
                assert_eq!(
                    message,
                    "TrackTik's API has no way to rehire or reactivate a terminated employee: rehire them in TrackTik's web app, then import this row again"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sb.with(|s: &mut Sim| s.counters.requests), before, "nothing sent");
        let row = Row::of(&[("Email", "di@example.com"), ("Status", "")]);
        assert_eq!(session.wants_active(&row.values(session.as_ref())), None);
    }

    #[test]
    fn an_exports_status_column_reads_back_as_the_same_state() {
        let w = Work::new();
        let sb = sandbox();
        let (_, bob) = hire(&sb, &w);
        sb.with(|s: &mut Sim| {
            let bob = bob.parse().unwrap();
            s.employees.get_mut(&bob).unwrap()["status"] = json!("TERMINATED");
        });
        let file = w.path("people.csv");
        let r = export_from(&sb, "tracktik", &file, &["--include-terminated"]);
        assert_eq!(r.code, 0, "{r:?}");
        let table = read_csv(&file);
        let header = table[0].join(",");
        let (_, session) = connect(&sb, "");
        let status = table[0].iter().position(|h| h == "Status").expect("a Status column");
        let email = table[0].iter().position(|h| h == "Email").unwrap();
        let mut states = Vec::new();
        for cells in &table[1..] {
            let row = Row::new(&header, &cells.join(","));
            let values = row.values(session.as_ref());
            states.push((
                cells[email].clone(),
                cells[status].clone(),
                session.wants_active(&values),
            ));
            for f in ["Termination Date", "Termination Reason"] {
                let i = table[0].iter().position(|h| h == f).unwrap();
                assert_eq!(cells[i], "", "{f} is left empty");
            }
        }
        // The rows' order is the ids', and the import created them in parallel.
        states.sort();
        let state = |m: &str, s: &str, a| (m.to_string(), s.to_string(), a);
        assert_eq!(
            states,
            [
                state("ana@example.com", "Active", Some(true)),
                state("bob@example.com", "Terminated", Some(false))
            ]
        );
    }

    #[test]
    fn a_terminate_whose_answer_is_lost_is_not_sent_twice() {
        let sb = sandbox_with(SandboxConfig {
            faults: Faults {
                seed: 7,
                lost: 0.3,
                lost_delay: Duration::from_millis(800),
                ..Faults::default()
            },
            ..SandboxConfig::default()
        });
        let ids: Vec<u64> = sb.with(|s: &mut Sim| {
            (0..8)
                .map(|i| {
                    s.seed_employee(json!({"firstName": format!("P{i}"), "lastName": "X", "email": format!("p{i}@example.com"), "region": 4}))
                })
                .collect()
        });
        let (api, session) =
            connect_with(&sb, "termination_reason = \"Other\"", Duration::from_millis(300));
        let row = Row::of(&[("Email", "p0@example.com"), ("Status", "Terminated")]);
        let values = row.values(session.as_ref());
        for id in &ids {
            let id = id.to_string();
            assert_eq!(
                session.set_active(&api, &id, false, &input(&values)),
                Outcome::Updated { id: id.clone() }
            );
        }
        assert!(api.stats().recovered.load(std::sync::atomic::Ordering::Relaxed) > 0);
        sb.with(|s: &mut Sim| {
            assert_eq!(s.terminations.len(), ids.len(), "each employee terminated once");
            assert!(ids.iter().all(|id| s.employees[id]["status"] == "TERMINATED"));
        });
    }
}
