//! Guardian end to end: the binary against an in-process sandbox on port 0.
//!
//! Tests assert exact results/errors cells, exit codes and what the sandbox
//! holds afterwards; they never reach a real Guardian server or a fixed port.

use hrport_sandbox::guardian::{Password, Sim as Gs, Sso};

use crate::util::*;

const TEMPLATE: [&str; 17] = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Title",
    "Email",
    "Employee ID",
    "Role",
    "Work Number",
    "Work Extension",
    "Home Number",
    "Cell Number",
    "Login",
    "Password",
    "OAuth ID",
    "SAML ID",
    "Send Login Email",
    "Retired",
];

fn users(sb: &Sandbox) -> Vec<Value> {
    sb.with(|s: &mut Gs| s.users.values().cloned().collect())
}

fn user(sb: &Sandbox, login: &str) -> Value {
    sb.with(|s: &mut Gs| s.user_by_login(login).cloned())
        .unwrap_or_else(|| panic!("no user {login}"))
}

fn id_of(u: &Value) -> u64 {
    u["id"].as_u64().unwrap()
}

/// One CSV line of the full template: First Name, Last Name and Role filled
/// in, `set` overriding any column.
fn row(set: &[(&str, &str)]) -> String {
    let cells: Vec<String> = TEMPLATE
        .iter()
        .map(|c| match set.iter().find(|(k, _)| k == c) {
            Some((_, v)) => v.to_string(),
            None => match *c {
                "First Name" => "Pat".into(),
                "Last Name" => "Doe".into(),
                "Role" => "1".into(),
                _ => String::new(),
            },
        })
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&cells).unwrap();
    String::from_utf8(w.into_inner().unwrap()).unwrap().trim_end().to_string()
}

fn summary(out: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn clean_file_creates_users_with_their_fields_role_and_passwords() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "users.csv",
        csv_text(&[
            "First Name,Middle Name,Last Name,Title,Email,Employee ID,Role,Work Phone,Work Extension,Home Phone,Mobile,Username,Temporary Password,Send Login Email",
            "Ana,Maria,Silva,HR Director,ana@example.com,000123,2,+1 555 0100,12,555 0101,555 0102,asilva,Tmp#Pass-7781,yes",
            "Bob,,Stone,,bob@example.com,,4,,,,,bstone,,no",
            "Cleo,,Ray,,,E-3,1,,,,,,,",
        ]),
    );
    let out = w.path("out");
    let r = import_to(&sb, "guardian", &file, &out, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("guardian: 3 rows: 3 created, 0 invalid, 0 failed"), "{}", r.stdout);

    assert_eq!(users(&sb).len(), 3);
    let ana = user(&sb, "asilva");
    for (field, want) in [
        ("firstName", json!("Ana")),
        ("middleName", json!("Maria")),
        ("lastName", json!("Silva")),
        ("fullName", json!("Silva, Ana")),
        ("title", json!("HR Director")),
        ("emailAddress", json!("ana@example.com")),
        ("profileId", json!("000123")),
        ("role", json!(2)),
        ("workNumber", json!("+1 555 0100")),
        ("workExtension", json!("12")),
        ("homeNumber", json!("555 0101")),
        ("cellNumber", json!("555 0102")),
        ("oauthId", Value::Null),
        ("retired", json!(false)),
    ] {
        assert_eq!(ana[field], want, "{field}");
    }
    let bob = user(&sb, "bstone");
    assert_eq!(bob["role"], json!(4));
    assert_eq!(bob["profileId"], Value::Null);
    let cleo = users(&sb).into_iter().find(|u| u["profileId"] == "E-3").expect("Cleo created");
    assert_eq!(cleo["login"], Value::Null);
    sb.with(|s: &mut Gs| {
        assert_eq!(s.passwords[&id_of(&ana)], Password::Received("Tmp#Pass-7781".into()));
        // No password was sent for an empty cell: Guardian made one up.
        assert_eq!(s.passwords[&id_of(&bob)], Password::Generated);
        assert_eq!(s.passwords[&id_of(&cleo)], Password::Generated);
        assert_eq!(s.login_emails, [id_of(&ana)], "only Ana asked for the login e-mail");
    });

    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        [0, 1, 2].map(|i| (rows[i]["hrport_status"].as_str(), rows[i]["hrport_id"].clone())),
        [
            ("created", id_of(&ana).to_string()),
            ("created", id_of(&bob).to_string()),
            ("created", id_of(&cleo).to_string())
        ]
    );
    assert_eq!(rows[0]["hrport_row"], "2");
    assert_eq!(rows[0]["Employee ID"], "000123");
    assert_eq!(rows[0]["Work Phone"], "'+1 555 0100", "formula guard on a leading +");
    assert_eq!(rows[0]["Temporary Password"], "", "passwords never reach an output");
    assert_eq!(read_csv(&out.join("errors.csv")).len(), 1, "errors.csv has only its header");
    for f in ["results.csv", "errors.csv", "summary.json"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains("Tmp#Pass-7781"), "password in {f}");
    }
    assert!(!r.stdout.contains("Tmp#Pass-7781") && !r.stderr.contains("Tmp#Pass-7781"));
}

#[test]
fn every_rule_is_checked_before_sending_and_valid_rows_still_go() {
    let w = Work::new();
    let sb = sandbox();
    let x = |n: usize| "x".repeat(n);
    let (l25, l30, l40, l80) = (x(26), x(31), x(41), x(81));
    let long_email = format!("{}@{}.com", "a".repeat(60), "b".repeat(16));
    assert_eq!(long_email.len(), 81);
    let lines = [
        TEMPLATE.join(","),
        row(&[
            ("First Name", "Ana"),
            ("Last Name", "Silva"),
            ("Role", "2"),
            ("Login", "ana"),
            ("Email", "ana@example.com"),
            ("Employee ID", "E1"),
        ]),
        row(&[("First Name", "")]),
        row(&[("Last Name", &l40)]),
        row(&[("Role", "")]),
        row(&[("Role", "HR Admin")]),
        row(&[("Middle Name", &l25)]),
        row(&[("Title", &l80)]),
        row(&[("Email", &long_email)]),
        row(&[("Email", "bob@example")]),
        row(&[("Employee ID", &l30)]),
        row(&[("Work Number", &x(21)), ("Work Extension", &x(11))]),
        row(&[("Home Number", &x(21)), ("Cell Number", &x(21))]),
        row(&[("Login", &l30)]),
        row(&[("Password", &format!("Pw-{}", x(78)))]),
        row(&[("OAuth ID", "pat@gmail.example")]),
        row(&[("SAML ID", "saml-pat")]),
        row(&[("OAuth ID", &l80)]),
        row(&[("Send Login Email", "maybe")]),
        row(&[("Login", "ANA")]),
        row(&[("Email", "ANA@example.com")]),
        row(&[("Employee ID", "e1")]),
        row(&[("Role", "99"), ("Login", "ghost")]),
        row(&[("First Name", "Bo"), ("Last Name", "Ray"), ("Role", "5"), ("Login", "bo")]),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = w.write("bad.csv", csv_text(&lines));
    let out = w.path("out");
    let r = import_to(&sb, "guardian", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let s =
        |row: &str, status: &str, err: &str| (row.to_string(), status.to_string(), err.to_string());
    let unique = |col: &str| format!("{col}: same as row 2 (must be unique in the file)");
    let expected = vec![
        s("2", "created", ""),
        s("3", "invalid", "First Name is required"),
        s("4", "invalid", "Last Name is 41 characters long; the limit is 40"),
        s("5", "invalid", "Role is required"),
        s(
            "6",
            "invalid",
            "Role: \"HR Admin\" is not a role id; Guardian has no API that lists roles, so give the role's id (a whole number) or name it in a profile: [options] roles = { \"HR Admin\" = ID }",
        ),
        s("7", "invalid", "Middle Name is 26 characters long; the limit is 25"),
        s("8", "invalid", "Title is 81 characters long; the limit is 80"),
        s("9", "invalid", "Email is 81 characters long; the limit is 80"),
        s("10", "invalid", "Email: \"bob@example\" is not a valid e-mail address"),
        s("11", "invalid", "Employee ID is 31 characters long; the limit is 30"),
        s(
            "12",
            "invalid",
            "Work Number is 21 characters long; the limit is 20; Work Extension is 11 characters long; the limit is 10",
        ),
        s(
            "13",
            "invalid",
            "Home Number is 21 characters long; the limit is 20; Cell Number is 21 characters long; the limit is 20",
        ),
        s("14", "invalid", "Login is 31 characters long; the limit is 30"),
        s("15", "invalid", "Password is 81 characters long; the limit is 80"),
        s(
            "16",
            "invalid",
            "OAuth ID: Guardian refuses an OAuth ID unless the organisation signs in with OAuth 2.0 (Google); if it does, set sso = \"oauth\" (or \"oauth,saml\" for both) in the [options] of a profile (--profile)",
        ),
        s(
            "17",
            "invalid",
            "SAML ID: Guardian refuses a SAML ID unless the organisation signs in with SAML; if it does, set sso = \"saml\" (or \"oauth,saml\" for both) in the [options] of a profile (--profile)",
        ),
        s("18", "invalid", "OAuth ID is 81 characters long; the limit is 80"),
        s(
            "19",
            "invalid",
            "Send Login Email: \"maybe\" is not yes/no (use yes, no, true, false, y, n, 1 or 0)",
        ),
        s("20", "invalid", &unique("Login")),
        s("21", "invalid", &unique("Email")),
        s("22", "invalid", &unique("Employee ID")),
        // Valid to hrport (an id), unknown to Guardian: its own refusal.
        s(
            "23",
            "failed",
            "create user: The user was not saved; role 99 is not a role of this organisation (HTTP 400)",
        ),
        s("24", "created", ""),
    ];
    assert_eq!(statuses(&out.join("results.csv")), expected);
    let errors: Vec<_> = expected.iter().filter(|e| e.1 != "created").cloned().collect();
    assert_eq!(statuses(&out.join("errors.csv")), errors);
    let mut logins: Vec<String> =
        users(&sb).iter().map(|u| u["login"].as_str().unwrap().to_string()).collect();
    logins.sort();
    assert_eq!(logins, ["ana", "bo"]);
    assert_eq!(sb.with(|s: &mut Gs| s.counters.creates), 2);
    assert!(r.stdout.contains("2 created, 20 invalid, 1 failed"), "{}", r.stdout);
    for f in ["results.csv", "errors.csv"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains(&format!("Pw-{}", x(78))), "password in {f}");
    }
}

#[test]
fn existing_users_are_found_by_login_email_or_employee_id_on_any_page() {
    let w = Work::new();
    let sb = sandbox();
    let (seeds, alice, bruno, chen) = sb.with(|s: &mut Gs| {
        let seeds: Vec<u64> = (0..120)
            .map(|i| {
                s.seed_user(json!({"firstName": format!("P{i:03}"), "lastName": "Seed", "role": 5,
                    "login": format!("seed{i}"), "emailAddress": format!("seed{i}@example.com"),
                    "profileId": format!("S{i}")}))
            })
            .collect();
        // Sorted by "Last, First", these three are on the third page.
        let alice = s.seed_user(json!({"firstName": "Alice", "lastName": "Zimmer", "role": 2,
            "login": "alice", "emailAddress": "alice@example.com", "profileId": "E-100"}));
        let bruno = s.seed_user(
            json!({"firstName": "Bruno", "lastName": "Zorn", "role": 3, "emailAddress": "bruno@example.com"}),
        );
        let chen = s.seed_user(json!({"firstName": "Chen", "lastName": "Zu", "role": 4,
            "profileId": "E-300", "retired": true}));
        (seeds, alice, bruno, chen)
    });
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,Email,Employee ID,Role,Login",
            "Alice,Zimmer,,e-100,2,",
            "Bruno,Zorn,Bruno@Example.com,,3,",
            "Chen,Zu,,E-300,4,",
            "Mixed,Up,,S7,1,ALICE",
            "Dana,Ng,dana@example.com,E-400,1,dana",
            "Pat,Seed,,,5,SEED119",
        ]),
    );
    let out = w.path("out");
    let r = import_to(&sb, "guardian", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&out.join("results.csv"));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r["hrport_status"].as_str(), r["hrport_id"].as_str(), r["hrport_error"].as_str()))
        .collect();
    let dana = id_of(&user(&sb, "dana"));
    let conflict =
        format!("Login matches user {alice} but Employee ID matches user {} in Guardian", seeds[7]);
    assert_eq!(
        got,
        [
            ("unchanged", alice.to_string().as_str(), ""),
            ("unchanged", bruno.to_string().as_str(), ""),
            ("unchanged", chen.to_string().as_str(), ""),
            ("invalid", "", conflict.as_str()),
            ("created", dana.to_string().as_str(), ""),
            // Found by login, named Pat now: an update.
            ("updated", seeds[119].to_string().as_str(), ""),
        ]
    );
    assert_eq!(users(&sb).len(), 124, "only Dana was created");
    assert_eq!(sb.with(|s: &mut Gs| s.counters.creates), 1);
    assert!(
        r.stdout.contains(&format!(
            "note: 1 row matches a user who is retired in Guardian (id {chen}); hrport did not reactivate it (a Retired cell of no does)"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(sb.with(|s: &mut Gs| s.users[&chen]["retired"].clone()), json!(true));
}

#[test]
fn a_user_found_only_by_login_is_found_when_the_list_hides_logins() {
    // The vendor's documented list shows no `login`: a row whose only key is
    // Login is then looked up with the login filter before it is created.
    let w = Work::new();
    let sb = sandbox();
    let (kim, _) = sb.with(|s: &mut Gs| {
        s.documented_list_fields = true;
        let kim =
            s.seed_user(json!({"firstName": "Kim", "lastName": "Lee", "role": 2, "login": "klee"}));
        let other = s.seed_user(
            json!({"firstName": "Ola", "lastName": "Berg", "role": 2, "login": "oberg"}),
        );
        (kim, other)
    });
    let file = w.write(
        "u.csv",
        csv_text(&["First Name,Last Name,Role,Login", "Kim,Lee,2,KLEE", "Rui,Sa,2,rsa"]),
    );
    let out = w.path("out");
    let r = import_to(&sb, "guardian", &file, &out, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let st = statuses(&out.join("results.csv"));
    assert_eq!((st[0].1.as_str(), st[1].1.as_str()), ("exists", "created"), "{st:?}");
    assert_eq!(rows_by_name(&out.join("results.csv"))[0]["hrport_id"], kim.to_string());
    assert_eq!(users(&sb).len(), 3, "only Rui was created");
    assert!(user(&sb, "rsa")["id"].is_u64());
}

#[test]
fn an_export_imports_back_as_nothing_to_do_with_role_ids_or_profile_names() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,Title,Email,Employee ID,Role,Cell Number,Login,Password,Send Login Email",
            "Ana,Silva,HR Director,ana@example.com,000123,2,+1 555 0100,asilva,Tmp#Pass-1,yes",
            "Bob,Stone,,bob@example.com,,4,,bstone,,",
            "Cleo,Ray,,,E-3,2,,,,",
        ]),
    );
    let r = import_to(&sb, "guardian", &file, &w.path("first"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    sb.with(|s: &mut Gs| {
        s.seed_user(json!({"firstName": "Old", "lastName": "Timer", "role": 1, "login": "old", "retired": true}));
    });

    let plain = w.path("users.csv");
    let r = export_from(&sb, "guardian", &plain, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.trim(), format!("guardian: exported 3 people to {}", plain.display()));
    let table = read_csv(&plain);
    assert_eq!(table[0][0], "ID", "exports start with the record's id");
    assert_eq!(table[0][1..], TEMPLATE, "then the import's own columns");
    let rows = rows_by_name(&plain);
    // Ordered as Guardian lists users: by "Last, First".
    let names: Vec<&str> = rows.iter().map(|r| r["Last Name"].as_str()).collect();
    assert_eq!(names, ["Ray", "Silva", "Stone"]);
    let ana = &rows[1];
    assert_eq!(ana["Employee ID"], "000123");
    assert_eq!(ana["Role"], "2", "without a roles table, the id");
    assert_eq!(ana["Cell Number"], "'+1 555 0100");
    assert_eq!(ana["Title"], "HR Director");
    assert_eq!(ana["Login"], "asilva");
    assert_eq!(ana["Password"], "");
    assert_eq!(ana["Send Login Email"], "");
    assert_eq!(ana["Retired"], "no");

    let r = export_from(&sb, "guardian", &w.path("all.csv"), &["--include-terminated"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows_by_name(&w.path("all.csv")).len(), 4, "the retired user too");

    let profile =
        w.write("p.toml", "target = \"guardian\"\n[options]\nroles = { \"HR Manager\" = 2 }\n");
    let named = w.path("named.csv");
    let r = export_from(&sb, "guardian", &named, &["--profile", profile.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let roles: Vec<String> = rows_by_name(&named).iter().map(|r| r["Role"].clone()).collect();
    assert_eq!(roles, ["HR Manager", "HR Manager", "4"], "names from the table, else ids");

    let creates = sb.with(|s: &mut Gs| s.counters.creates);
    let r = import_to(&sb, "guardian", &plain, &w.path("again"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("3 rows: 3 unchanged, 0 invalid, 0 failed"), "{}", r.stdout);
    assert!(!r.stderr.contains("warning"), "every export column is an import column: {}", r.stderr);
    let profile_arg = ["--profile", profile.to_str().unwrap()];
    let r = import_to(&sb, "guardian", &named, &w.path("again2"), &profile_arg, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("3 rows: 3 unchanged, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(sb.with(|s: &mut Gs| s.counters.creates), creates, "nothing created");
}

#[test]
fn a_refused_token_aborts_with_exit_3_and_nothing_is_created() {
    let w = Work::new();
    let sb = sandbox();
    let file =
        w.write("u.csv", csv_text(&["First Name,Last Name,Role,Login", "Ana,Silva,2,asilva"]));
    let bad = [("HRPORT_GUARDIAN_TOKEN", "wrong-token-123")];
    let r = import_to(&sb, "guardian", &file, &w.path("o"), &[], &bad);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("run aborted: the target refused the credentials (HTTP 401)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: check HRPORT_GUARDIAN_TOKEN"), "{}", r.stderr);
    assert!(r.stderr.contains("obtains from LawLogix"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-token-123") && !r.stdout.contains("wrong-token-123"));
    assert!(users(&sb).is_empty());
    assert_eq!(sb.with(|s: &mut Gs| s.counters.unauthorized), 1, "a 401 is not retried");

    let url = format!("{}{}", sb.url(), access("guardian").prefix);
    let r = Hrport::import(&file).target("guardian").base_url(&url).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("credentials missing: set HRPORT_GUARDIAN_TOKEN"), "{}", r.stderr);
    assert!(users(&sb).is_empty());
}

#[test]
fn a_profile_names_roles_and_allows_oauth_ids() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Gs| s.sso = Sso::OAuth);
    let profile = w.write(
        "acme.toml",
        "target = \"guardian\"\n\
         [columns]\n\"Login\" = \"User\"\n\
         [options]\nroles = { \"HR Admin\" = 2, \"Recruiter\" = 4 }\nsso = \"oauth\"\n",
    );
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,User,Role,OAuth ID,SAML ID",
            "Ana,Silva,ana,hr admin,ana@gmail.example,",
            "Bo,Ray,bo,Recruiter,,",
            "Cy,Ray,cy,3,,",
            "Di,Ray,di,HR Admn,,",
            "Ed,Ray,ed,Recruiter,,saml-ed",
        ]),
    );
    let out = w.path("out");
    let p = ["--profile", profile.to_str().unwrap()];
    let r = import_to(&sb, "guardian", &file, &out, &p, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let s =
        |row: &str, status: &str, err: &str| (row.to_string(), status.to_string(), err.to_string());
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            s("2", "created", ""),
            s("3", "created", ""),
            s("4", "created", ""),
            s("5", "invalid", "Role: no role named \"HR Admn\" (did you mean \"HR Admin\"?)"),
            s(
                "6",
                "invalid",
                "SAML ID: Guardian refuses a SAML ID unless the organisation signs in with SAML; if it does, set sso = \"saml\" (or \"oauth,saml\" for both) in the [options] of a profile (--profile)",
            ),
        ]
    );
    let ana = user(&sb, "ana");
    assert_eq!(
        (ana["role"].clone(), ana["oauthId"].clone()),
        (json!(2), json!("ana@gmail.example"))
    );
    assert_eq!(user(&sb, "bo")["role"], json!(4));
    assert_eq!(user(&sb, "cy")["role"], json!(3), "an id the table does not list");

    // A profile that says OAuth for a tenant where it is off: Guardian refuses.
    sb.with(|s: &mut Gs| s.sso = Sso::None);
    let file = w.write(
        "v.csv",
        csv_text(&["First Name,Last Name,User,Role,OAuth ID", "Fay,Ray,fay,2,fay@g.example"]),
    );
    let r = import_to(&sb, "guardian", &file, &w.path("out2"), &p, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&w.path("out2/results.csv")),
        [s(
            "2",
            "failed",
            "create user: The user was not saved; oauthId: OAuth 2.0 single sign-on is not enabled for this organisation (HTTP 400)"
        )]
    );

    // An organisation with both switches on takes both kinds of ID.
    sb.with(|s: &mut Gs| s.sso = Sso::Both);
    let both = w.write("both.toml", "target = \"guardian\"\n[options]\nsso = \"oauth,saml\"\n");
    let file = w.write(
        "w.csv",
        csv_text(&[
            "First Name,Last Name,Login,Role,OAuth ID,SAML ID",
            "Gil,Ray,gil,2,gil@g.example,saml-gil",
        ]),
    );
    let p = ["--profile", both.to_str().unwrap()];
    let r = import_to(&sb, "guardian", &file, &w.path("out3"), &p, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let gil = user(&sb, "gil");
    assert_eq!(
        (gil["oauthId"].clone(), gil["samlId"].clone()),
        (json!("gil@g.example"), json!("saml-gil"))
    );
}

#[test]
fn a_lost_create_answer_is_settled_by_looking_the_user_up_never_by_sending_again() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Gs| s.lose_create_answers = 4);
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,Role,Login,Email,Employee ID",
            "Ana,Silva,2,asilva,,",
            "Bob,Stone,2,,bob@example.com,",
            "Cleo,Ray,2,,,E-3",
            "Dee,Nokey,2,,,",
        ]),
    );
    let out = w.path("out");
    let r = import_to(&sb, "guardian", &file, &out, &["--concurrency", "1"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let all = users(&sb);
    assert_eq!(all.len(), 4, "each row reached Guardian once");
    let id = |last: &str| id_of(all.iter().find(|u| u["lastName"] == last).unwrap()).to_string();
    let rows = rows_by_name(&out.join("results.csv"));
    let got: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["hrport_status"].as_str(), r["hrport_id"].as_str())).collect();
    assert_eq!(
        got,
        [
            ("created", id("Silva").as_str()),
            ("created", id("Stone").as_str()),
            ("created", id("Ray").as_str()),
            ("failed", ""),
        ]
    );
    assert_eq!(
        rows[3]["hrport_error"],
        "create user: no answer came back, and the row has no Login, Email or Employee ID to look the user up by, so it was not sent again; check Guardian for this person before importing the row again"
    );
    assert_eq!(sb.with(|s: &mut Gs| s.counters.creates), 4);
    assert_eq!(summary(&out)["recovered_lost_answers"], 3);
}

/// The template's header line, for `row`.
fn header() -> String {
    TEMPLATE.join(",")
}

/// Ana (asilva) and Bob (bstone) created by an import; their ids.
fn ana_and_bob(w: &Work, sb: &Sandbox) -> (u64, u64) {
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,Title,Email,Employee ID,Role,Cell Number,Login",
            "Ana,Silva,Clerk,ana@example.com,E-1,2,+1 555 0100,asilva",
            "Bob,Stone,,bob@example.com,E-2,4,,bstone",
        ]),
    );
    let r = import_to(sb, "guardian", &file, &w.path("first"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    (id_of(&user(sb, "asilva")), id_of(&user(sb, "bstone")))
}

#[test]
fn an_update_patches_exactly_the_changed_fields() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, bob) = ana_and_bob(&w, &sb);
    let (api, s) = session(&sb, "guardian", "");
    let f = |c| field("guardian", c);
    for c in ["Password", "Send Login Email", "Retired"] {
        assert!(!s.updatable().contains(&f(c)), "{c} is not changed by update");
    }
    for c in ["First Name", "Email", "Employee ID", "Role", "Login", "Title", "Cell Number"] {
        assert!(s.updatable().contains(&f(c)), "{c} is changed by update");
    }
    let before = sb.with(|g: &mut Gs| g.users[&ana].clone());
    let outcome = with_row(
        &*s,
        "guardian",
        &header(),
        &row(&[
            ("Login", "asilva"),
            ("First Name", "Ana"),
            ("Last Name", "Silva"),
            ("Title", "HR Director"),
            ("Role", "3"),
            ("Cell Number", "+1 555 0199"),
            ("Email", "ana@example.com"),
            ("Employee ID", "E-1"),
        ]),
        |_, values, problems| {
            assert!(problems.is_empty(), "{problems:?}");
            let changed = [f("Title"), f("Role"), f("Cell Number")];
            s.update(&api, &ana.to_string(), &row_input(values), &changed)
        },
    );
    assert_eq!(outcome, hrport::targets::Outcome::Updated { id: ana.to_string() });
    let mut want = before;
    want["title"] = json!("HR Director");
    want["role"] = json!(3);
    want["cellNumber"] = json!("+1 555 0199");
    assert_eq!(sb.with(|g: &mut Gs| g.users[&ana].clone()), want, "only the changed fields");
    assert_eq!(sb.with(|g: &mut Gs| g.counters.updates), 1, "one PATCH");

    // A row matched through its id may change the keys: a new login.
    let outcome = with_row(
        &*s,
        "guardian",
        &header(),
        &row(&[("Login", "ana.silva"), ("Email", "ana.silva@example.com")]),
        |_, v, _| s.update(&api, &ana.to_string(), &row_input(v), &[f("Login"), f("Email")]),
    );
    assert_eq!(outcome, hrport::targets::Outcome::Updated { id: ana.to_string() });
    let now = sb.with(|g: &mut Gs| g.users[&ana].clone());
    assert_eq!(
        (now["login"].as_str(), now["emailAddress"].as_str()),
        (Some("ana.silva"), Some("ana.silva@example.com"))
    );

    // Guardian's refusals come back as the row's failure, with its words.
    let bob_before = sb.with(|g: &mut Gs| g.users[&bob].clone());
    let outcome = with_row(
        &*s,
        "guardian",
        &header(),
        &row(&[("Login", "ANA.SILVA"), ("Title", "Boss")]),
        |_, v, _| s.update(&api, &bob.to_string(), &row_input(v), &[f("Login"), f("Title")]),
    );
    assert_eq!(
        outcome,
        hrport::targets::Outcome::Failed {
            id: Some(bob.to_string()),
            message: "update user: The user was not saved; login \"ANA.SILVA\" is already taken (HTTP 400)".into(),
            unavailable: false,
        }
    );
    let outcome = with_row(&*s, "guardian", &header(), &row(&[("Role", "99")]), |_, v, _| {
        s.update(&api, &bob.to_string(), &row_input(v), &[f("Role")])
    });
    assert_eq!(
        outcome,
        hrport::targets::Outcome::Failed {
            id: Some(bob.to_string()),
            message: "update user: The user was not saved; role 99 is not a role of this organisation (HTTP 400)".into(),
            unavailable: false,
        }
    );
    assert_eq!(sb.with(|g: &mut Gs| g.users[&bob].clone()), bob_before, "nothing changed");
    let outcome = with_row(&*s, "guardian", &header(), &row(&[("Title", "Boss")]), |_, v, _| {
        s.update(&api, "999", &row_input(v), &[f("Title")])
    });
    assert!(
        matches!(&outcome, hrport::targets::Outcome::Failed { message, .. } if message == "update user: no user with id 999 (HTTP 404)"),
        "{outcome:?}"
    );
}

#[test]
fn retired_is_the_lifecycle_column_and_set_active_patches_it() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, _) = ana_and_bob(&w, &sb);
    let (api, s) = session(&sb, "guardian", "");
    for (cell, wants) in [("yes", Some(false)), ("no", Some(true)), ("", None)] {
        let got = with_row(
            &*s,
            "guardian",
            &header(),
            &row(&[("Login", "asilva"), ("Retired", cell)]),
            |_, v, _| s.wants_active(v),
        );
        assert_eq!(got, wants, "Retired {cell:?}");
    }
    let before = sb.with(|g: &mut Gs| g.users[&ana].clone());
    let done = with_row(
        &*s,
        "guardian",
        &header(),
        &row(&[("Login", "asilva"), ("Retired", "yes")]),
        |_, v, _| s.set_active(&api, &ana.to_string(), false, &row_input(v)),
    );
    assert_eq!(done, hrport::targets::Outcome::Updated { id: ana.to_string() });
    let mut want = before.clone();
    want["retired"] = json!(true);
    assert_eq!(sb.with(|g: &mut Gs| g.users[&ana].clone()), want, "only retired changed");

    // The export shows it as the import reads it back.
    let mut exported = Vec::new();
    s.export(&api, true, &mut |e| {
        exported.push(e);
        Ok(())
    })
    .unwrap();
    let e = exported.iter().find(|e| e.id == ana.to_string()).unwrap();
    assert!(!e.active);
    assert_eq!(e.cells[field("guardian", "Retired")], "yes");

    let done = with_row(
        &*s,
        "guardian",
        &header(),
        &row(&[("Login", "asilva"), ("Retired", "no")]),
        |_, v, _| s.set_active(&api, &ana.to_string(), true, &row_input(v)),
    );
    assert_eq!(done, hrport::targets::Outcome::Updated { id: ana.to_string() });
    assert_eq!(sb.with(|g: &mut Gs| g.users[&ana].clone()), before, "reactivated, nothing else");
}

#[test]
fn a_server_that_wants_the_required_fields_in_every_patch_gets_them_with_the_option() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, _) = ana_and_bob(&w, &sb);
    sb.with(|g: &mut Gs| g.patch_requires_required = true);
    let before = sb.with(|g: &mut Gs| g.users[&ana].clone());
    let title = field("guardian", "Title");
    let (api, plain) = session(&sb, "guardian", "");
    let outcome = with_row(
        &*plain,
        "guardian",
        &header(),
        &row(&[("Login", "asilva"), ("Title", "Director")]),
        |_, v, _| plain.update(&api, &ana.to_string(), &row_input(v), &[title]),
    );
    assert!(
        matches!(&outcome, hrport::targets::Outcome::Failed { message, .. }
            if message == "update user: The user was not saved; firstName is required; lastName is required; role is required (HTTP 400)"),
        "{outcome:?}"
    );
    let (api, strict) = session(&sb, "guardian", "patch_sends_required = true");
    let outcome = with_row(
        &*strict,
        "guardian",
        &header(),
        &row(&[("Login", "asilva"), ("Title", "Director")]),
        |_, v, _| strict.update(&api, &ana.to_string(), &row_input(v), &[title]),
    );
    assert_eq!(outcome, hrport::targets::Outcome::Updated { id: ana.to_string() });
    let done =
        with_row(&*strict, "guardian", &header(), &row(&[("Login", "asilva")]), |_, v, _| {
            strict.set_active(&api, &ana.to_string(), false, &row_input(v))
        });
    assert_eq!(done, hrport::targets::Outcome::Updated { id: ana.to_string() });
    let mut want = before;
    want["title"] = json!("Director");
    want["retired"] = json!(true);
    assert_eq!(sb.with(|g: &mut Gs| g.users[&ana].clone()), want, "the repeated fields unchanged");
}

#[test]
fn a_new_row_with_retired_yes_is_created_retired() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "u.csv",
        csv_text(&[
            "First Name,Last Name,Role,Login,Retired",
            "Old,Timer,1,old,yes",
            "New,Hire,1,new,no",
        ]),
    );
    let r = import_to(&sb, "guardian", &file, &w.path("o"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(user(&sb, "old")["retired"], true);
    assert_eq!(user(&sb, "new")["retired"], false);
}
