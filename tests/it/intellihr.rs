//! intelliHR end to end: people with user accounts, permission groups, vendor
//! schemas; the binary against the in-process sandbox only.

use hrport_sandbox::intellihr::Sim as Ih;

use crate::util::*;

/// The vendor's request schemas (tests/fixtures/intellihr/schemas.json),
/// tightened so that a property the schema does not declare fails too: the
/// point is to catch hrport sending a field intelliHR does not have.
fn schema(name: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/intellihr/schemas.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut s = all[name].clone();
    s["additionalProperties"] = json!(false);
    if let Some(variants) =
        s.pointer_mut("/properties/userAccount/oneOf").and_then(Value::as_array_mut)
    {
        for v in variants {
            if v["type"] == "object" {
                v["additionalProperties"] = json!(false);
            }
        }
    }
    jsonschema::validator_for(&s).unwrap()
}

fn assert_bodies_match_the_vendor_schemas(sb: &Sandbox) -> usize {
    let people = schema("people_create_request");
    let users = schema("users_create");
    let received = sb.with(|s: &mut Ih| s.received.clone());
    for (path, body) in &received {
        let v = if path == "/v1/people" { &people } else { &users };
        let errors: Vec<String> =
            v.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{path} body {body} breaks the vendor schema: {errors:?}");
    }
    received.len()
}

const HEADER: &str =
    "Employee Number,Title,First Name,Last Name,Date of Birth,Gender,Email,Phone,Username";

#[test]
fn a_clean_file_creates_people_with_disabled_accounts_in_the_allowed_group() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            HEADER,
            "E1,Ms,Ana,Silva,1990-05-01,f,ana@example.com,+61 400 000 001,asilva",
            "E2,,Bob,Stone,,Male,bob@example.com,,bstone",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "intellihr", &file, &out, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("intellihr: 2 rows: 2 created"), "{}", r.stdout);
    let (ana, user) = sb.with(|s: &mut Ih| {
        let p = s
            .people
            .iter()
            .find(|p| p["primaryEmailAddress"] == "ana@example.com")
            .cloned()
            .unwrap();
        let u = s.user_of(p["id"].as_str().unwrap()).cloned().unwrap();
        (p, u)
    });
    assert_eq!(ana["employeeNumber"], "E1");
    assert_eq!(ana["title"], "Ms");
    assert_eq!(ana["gender"], "Female", "the start of a value is enough");
    assert_eq!(ana["dateOfBirth"], "1990-05-01");
    assert_eq!(ana["primaryPhoneNumber"], "+61 400 000 001");
    assert_eq!(user["username"], "asilva");
    assert_eq!(
        user["isEnabled"], false,
        "disabled unless asked: an enabled account is e-mailed at once"
    );
    assert_eq!(user["userPermissionGroups"][0]["permissionGroup"]["name"], "Staff Member");
    assert_eq!(user["userPermissionGroups"].as_array().unwrap().len(), 1);
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows[0]["hrport_id"], ana["id"].as_str().unwrap());
    assert_eq!(assert_bodies_match_the_vendor_schemas(&sb), 2);
}

#[test]
fn people_who_exist_get_an_account_or_are_reported_as_existing() {
    let w = Work::new();
    let sb = sandbox();
    let (cleo, dan, eve) = sb.with(|s: &mut Ih| {
        let cleo = s.seed_person(json!({"lastName": "Ray", "firstName": "Cleo", "displayName": "Cleo Ray", "employeeNumber": "E3", "primaryEmailAddress": "cleo@example.com"}));
        let dan = s.seed_person(json!({"lastName": "Ray", "firstName": "Dan", "displayName": "Dan Ray", "employeeNumber": "E4", "primaryEmailAddress": "dan@example.com"}));
        s.seed_user(&dan, "dray");
        let eve = s.seed_person(json!({"lastName": "Ray", "firstName": "Eve", "displayName": "Eve Ray", "employeeNumber": "E5", "primaryEmailAddress": "eve@example.com"}));
        (cleo, dan, eve)
    });
    let file = w.write(
        "h.csv",
        csv_text(&[
            HEADER,
            "E3,,Cleo,Ray,,,,,cray", // person exists, no account: one is made
            "e4,,Dan,Ray,,,,,dray",  // person and account exist
            "E5,,Eve,Ray,,,dan@example.com,,eray", // keys point at two people
            "E6,,Fay,Ray,,,fay@example.com,,DRAY", // username is Dan's
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "intellihr", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st[0], ("2".into(), "created".into(), "".into()));
    assert_eq!(st[1], ("3".into(), "unchanged".into(), "".into()));
    assert_eq!(st[2].1, "invalid");
    assert_eq!(
        st[2].2,
        format!("Employee Number matches person {eve} but Email matches person {dan} in intelliHR")
    );
    assert_eq!(
        st[3].2,
        format!(
            "Username: \"DRAY\" is already another person's account in intelliHR (person {dan}); Username: same as row 3 (must be unique in the file)"
        )
    );
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows[0]["hrport_id"], cleo);
    assert_eq!(rows[1]["hrport_id"], dan);
    sb.with(|s: &mut Ih| {
        assert_eq!(s.user_of(&cleo).unwrap()["username"], "cray");
        assert_eq!(s.people.len(), 3, "nobody created twice");
        assert_eq!(s.users.len(), 2);
    });
    assert_eq!(assert_bodies_match_the_vendor_schemas(&sb), 1);
}

#[test]
fn every_rule_is_checked_before_anything_is_sent() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "bad.csv",
        csv_text(&[
            "Employee Number,First Name,Last Name,Date of Birth,Gender,Email,Username,Permission Groups,Login Enabled",
            "E1,Ana,Silva,,,ana@example.com,asilva,,",
            "E2,Bob,,,,bob@example.com,bstone,,",
            "E3,Cy,Ray,,,cy@example.com,,,",
            "E4,Di,Ray,,X,di@example.com,dray,,",
            "E5,Ed,Ray,2999-01-01,,ed@example.com,eray,,",
            "E6,Fi,Ray,,,fi@example,fray,,",
            "E7,Gus,Ray,,,gus@example.com,gray,Manager; Staff Member,",
            "E8,Hal,Ray,,,hal@example.com,hray,Admins,",
            "E9,Ivy,Ray,,,ivy@example.com,ASILVA,,",
            "E10,Jo,Ray,,,jo@example.com,jray,,perhaps",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "intellihr", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let s =
        |row: &str, status: &str, err: &str| (row.to_string(), status.to_string(), err.to_string());
    assert_eq!(
        statuses(&out.join("results.csv")),
        vec![
            s("2", "created", ""),
            s("3", "invalid", "Last Name is required"),
            s("4", "invalid", "Username is required"),
            s(
                "5",
                "invalid",
                "Gender: \"X\" is not one of Female, Male, Non-binary, Other, Undisclosed"
            ),
            s("6", "invalid", "Date of Birth: 2999-01-01 is in the future"),
            s("7", "invalid", "Email: \"fi@example\" is not a valid e-mail address"),
            s(
                "8",
                "invalid",
                "Permission Groups: \"Manager\" is not in the allow-list (Staff Member); intelliHR advises granting more by hand, or give --allow-elevated-permissions"
            ),
            s(
                "9",
                "invalid",
                "Permission Groups: no permission group named \"Admins\" (the permission groups are \"Staff Member\", \"Manager\", \"Payroll Officer\", \"System Administrator\")"
            ),
            s("10", "invalid", "Username: same as row 2 (must be unique in the file)"),
            s(
                "11",
                "invalid",
                "Login Enabled: \"perhaps\" is not yes/no (use yes, no, true, false, y, n, 1 or 0)"
            ),
        ]
    );
    sb.with(|s: &mut Ih| assert_eq!(s.people.len(), 1));
}

#[test]
fn a_profile_cannot_grant_elevated_groups_on_its_own() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Username,Permission Groups",
            "Ana,Silva,ana@example.com,asilva,Manager",
        ]),
    );
    let profile =
        w.write("p.toml", "target = \"intellihr\"\n[options]\nallow_elevated_permissions = true\n");
    let r = import_to(
        &sb,
        "intellihr",
        &file,
        &w.path("o"),
        &["--profile", profile.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("allow_elevated_permissions cannot be set in a profile: give --allow-elevated-permissions"),
        "{}",
        r.stderr
    );
    sb.with(|s: &mut Ih| assert!(s.people.is_empty(), "nothing sent"));
}

#[test]
fn elevated_groups_and_enabled_logins_only_when_asked_and_always_listed() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Username,Permission Groups,Login Enabled",
            "Ana,Silva,ana@example.com,asilva,Manager; staff member,",
            "Bob,Stone,bob@example.com,bstone,,no",
        ]),
    );
    let out = w.path("o");
    let r = import_to(
        &sb,
        "intellihr",
        &file,
        &out,
        &["--allow-elevated-permissions", "--enable-login"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("note: row 2: asilva was granted elevated permission groups Manager"),
        "{}",
        r.stdout
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["notes"],
        json!(["row 2: asilva was granted elevated permission groups Manager"])
    );
    sb.with(|s: &mut Ih| {
        let ana = s.users.iter().find(|u| u["username"] == "asilva").unwrap();
        assert_eq!(ana["isEnabled"], true, "--enable-login");
        let groups: Vec<&str> = ana["userPermissionGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["permissionGroup"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(groups, ["Manager", "Staff Member"]);
        let bob = s.users.iter().find(|u| u["username"] == "bstone").unwrap();
        assert_eq!(bob["isEnabled"], false, "the row's own answer wins");
    });
    let r = import_to(&sb, "tracktik", &file, &w.path("x"), &["--enable-login"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--enable-login does not apply to target tracktik"), "{}", r.stderr);
}

#[test]
fn an_export_reimports_as_nothing_to_do() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            HEADER,
            "E1,Ms,Ana,Silva,1990-05-01,F,ana@example.com,+61 400 000 001,asilva",
            "E2,,Bob,Stone,,,bob@example.com,,bstone",
        ]),
    );
    assert_eq!(import_to(&sb, "intellihr", &file, &w.path("o"), &[], &[]).code, 0);
    let export = w.path("people.xlsx");
    let r = export_from(&sb, "intellihr", &export, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("intellihr: exported 2 people"), "{}", r.stdout);
    let again = w.path("again");
    let r = import_to(&sb, "intellihr", &export, &again, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("2 rows: 2 unchanged"), "{}", r.stdout);
    let rows = rows_by_name(&again.join("results.csv"));
    let ana = rows.iter().find(|r| r["Email"] == "ana@example.com").unwrap();
    assert_eq!(ana["Employee Number"], "E1");
    assert_eq!(ana["Gender"], "Female");
    assert_eq!(ana["Date of Birth"], "1990-05-01");
    assert_eq!(ana["Permission Groups"], "Staff Member");
    assert_eq!(ana["Login Enabled"], "no");
    assert_eq!(ana["Username"], "asilva");
    sb.with(|s: &mut Ih| assert_eq!(s.people.len(), 2));
}

#[test]
fn a_refused_key_or_tenant_aborts_with_exit_3() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("h.csv", csv_text(&[HEADER, "E1,,Ana,Silva,,,ana@example.com,,asilva"]));
    for (var, value) in
        [("HRPORT_INTELLIHR_API_KEY", "wrong-key"), ("HRPORT_INTELLIHR_TENANT", "acme")]
    {
        let r = import_to(&sb, "intellihr", &file, &w.path("o"), &[], &[(var, value)]);
        assert_eq!(r.code, 3, "{var}: {r:?}");
        assert!(r.stderr.contains("the target refused the credentials (HTTP 401)"), "{}", r.stderr);
        assert!(
            r.stderr.contains("hint: check HRPORT_INTELLIHR_API_KEY and HRPORT_INTELLIHR_TENANT"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("wrong-key"));
    }
    sb.with(|s: &mut Ih| assert!(s.people.is_empty()));
}

/// The template's header, every column: rows for `Session` calls.
const ALL: &str = "Employee Number,Title,First Name,Middle Name,Last Name,Preferred Name,Date of Birth,Gender,Email,Phone,Username,Permission Groups,Login Enabled";

/// Ana (asilva, with a personal e-mail besides her work one) and Bob
/// (bstone) created by an import; their person ids.
fn ana_and_bob(w: &Work, sb: &Sandbox) -> (String, String) {
    let file = w.write(
        "h.csv",
        csv_text(&[
            HEADER,
            "E1,Ms,Ana,Silva,1990-05-01,F,ana@example.com,+61 400 000 001,asilva",
            "E2,,Bob,Stone,,Male,bob@example.com,,bstone",
        ]),
    );
    let r = import_to(sb, "intellihr", &file, &w.path("first"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    sb.with(|s: &mut Ih| {
        let id = |mail: &str| {
            s.people.iter().find(|p| p["primaryEmailAddress"] == mail).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (ana, bob) = (id("ana@example.com"), id("bob@example.com"));
        let p = s.people.iter_mut().find(|p| p["id"] == ana.as_str()).unwrap();
        p["emailAddresses"]
            .as_array_mut()
            .unwrap()
            .push(json!({"email": "ana@home.example", "isPrimary": false, "isPersonal": true}));
        (ana, bob)
    })
}

fn person(sb: &Sandbox, id: &str) -> Value {
    sb.with(|s: &mut Ih| s.people.iter().find(|p| p["id"] == id).cloned().unwrap())
}

fn account(sb: &Sandbox, person: &str) -> Value {
    sb.with(|s: &mut Ih| s.user_of(person).cloned().unwrap())
}

#[test]
fn an_update_sends_person_fields_to_the_person_and_the_username_to_the_user() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, bob) = ana_and_bob(&w, &sb);
    let (api, s) = session(&sb, "intellihr", "");
    let f = |c| field("intellihr", c);
    for c in ["Permission Groups", "Login Enabled"] {
        assert!(!s.updatable().contains(&f(c)), "{c} is not changed by update");
    }
    for c in [
        "Employee Number",
        "First Name",
        "Last Name",
        "Date of Birth",
        "Email",
        "Phone",
        "Username",
    ] {
        assert!(s.updatable().contains(&f(c)), "{c} is changed by update");
    }
    let (before, user_before) = (person(&sb, &ana), account(&sb, &ana));
    let user_id = user_before["id"].as_str().unwrap().to_string();
    let changed = [f("First Name"), f("Date of Birth"), f("Email"), f("Phone"), f("Username")];
    let outcome = with_row(
        &*s,
        "intellihr",
        ALL,
        "E1,Ms,Anna,,Silva,,1990-05-02,Female,anna.silva@example.com,+61 400 000 009,anna.silva,Staff Member,no",
        |_, values, problems| {
            assert!(problems.is_empty(), "{problems:?}");
            s.update(&api, &ana, &row_input(values), &changed)
        },
    );
    assert_eq!(outcome, hrport::targets::Outcome::Updated { id: ana.clone() });
    let patched = sb.with(|s: &mut Ih| s.patched.clone());
    assert_eq!(
        patched,
        [
            (
                format!("/v1/people/{ana}"),
                json!({
                    "firstName": "Anna",
                    "dateOfBirth": "1990-05-02",
                    // The whole lists (they replace all): the primary entry
                    // changes, the personal e-mail stays.
                    "emailAddresses": [
                        {"email": "anna.silva@example.com", "isPrimary": true, "isPersonal": false},
                        {"email": "ana@home.example", "isPrimary": false, "isPersonal": true}
                    ],
                    "phoneNumbers": [
                        {"number": "+61 400 000 009", "isPrimary": true, "isPersonal": false}
                    ]
                })
            ),
            (format!("/v1/users/{user_id}"), json!({"username": "anna.silva"})),
        ]
    );
    let mut want = before;
    want["firstName"] = json!("Anna");
    want["displayName"] = json!("Anna Silva");
    want["dateOfBirth"] = json!("1990-05-02");
    want["primaryEmailAddress"] = json!("anna.silva@example.com");
    want["primaryPhoneNumber"] = json!("+61 400 000 009");
    want["emailAddresses"] = patched[0].1["emailAddresses"].clone();
    want["phoneNumbers"] = patched[0].1["phoneNumbers"].clone();
    assert_eq!(person(&sb, &ana), want, "exactly the changed person fields");
    let mut want = user_before;
    want["username"] = json!("anna.silva");
    want["person"]["displayName"] = json!("Anna Silva");
    assert_eq!(account(&sb, &ana), want, "the account: only its username");

    // The export reads back what the row says.
    let mut cells = Vec::new();
    s.export(&api, true, &mut |e| {
        if e.id == ana {
            cells = e.cells;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        cells.join(","),
        "E1,Ms,Anna,,Silva,,1990-05-02,Female,anna.silva@example.com,+61 400 000 009,anna.silva,Staff Member,no"
    );

    // intelliHR's refusal is the row's failure, in its words; Bob unchanged.
    let bob_before = (person(&sb, &bob), account(&sb, &bob));
    let outcome = with_row(
        &*s,
        "intellihr",
        "Email,Last Name,Username",
        "bob@example.com,Stone,ANNA.SILVA",
        |_, v, _| s.update(&api, &bob, &row_input(v), &[f("Username")]),
    );
    assert_eq!(
        outcome,
        hrport::targets::Outcome::Failed {
            id: Some(bob.clone()),
            // intelliHR's message, then its error for the field.
            message: "change username: the username \"ANNA.SILVA\" is already taken; username: \
                      the username \"ANNA.SILVA\" is already taken (HTTP 400)"
                .into(),
            unavailable: false,
        }
    );
    assert_eq!((person(&sb, &bob), account(&sb, &bob)), bob_before);
}

#[test]
fn login_enabled_is_the_lifecycle_column_and_set_active_switches_is_enabled() {
    let w = Work::new();
    let sb = sandbox();
    let (ana, _) = ana_and_bob(&w, &sb);
    let lonely =
        sb.with(|s: &mut Ih| s.seed_person(json!({"lastName": "Solo", "displayName": "Han Solo"})));
    let (api, s) = session(&sb, "intellihr", "");
    for (cell, wants) in [("yes", Some(true)), ("no", Some(false)), ("", None)] {
        let got = with_row(
            &*s,
            "intellihr",
            "Last Name,Username,Login Enabled",
            &format!("Silva,asilva,{cell}"),
            |_, v, _| s.wants_active(v),
        );
        assert_eq!(got, wants, "Login Enabled {cell:?}");
    }
    let before = account(&sb, &ana);
    assert_eq!(before["isEnabled"], false);
    let switch = |id: &str, on: bool| {
        with_row(&*s, "intellihr", "Last Name,Username", "Silva,asilva", |_, v, _| {
            s.set_active(&api, id, on, &row_input(v))
        })
    };
    assert_eq!(switch(&ana, true), hrport::targets::Outcome::Updated { id: ana.clone() });
    let mut want = before.clone();
    want["isEnabled"] = json!(true);
    assert_eq!(account(&sb, &ana), want, "only isEnabled changed");
    assert_eq!(switch(&ana, false), hrport::targets::Outcome::Updated { id: ana.clone() });
    assert_eq!(account(&sb, &ana), before);
    let user = before["id"].as_str().unwrap();
    assert_eq!(
        sb.with(|s: &mut Ih| s.patched.clone()),
        [
            (format!("/v1/users/{user}"), json!({"isEnabled": true})),
            (format!("/v1/users/{user}"), json!({"isEnabled": false})),
        ]
    );
    assert_eq!(
        switch(&lonely, false),
        hrport::targets::Outcome::Failed {
            id: Some(lonely.clone()),
            message: format!("disable login: person {lonely} has no user account in intelliHR"),
            unavailable: false,
        }
    );
}

#[test]
fn the_allow_list_guards_what_a_row_grants_not_what_a_user_already_holds() {
    let w = Work::new();
    let sb = sandbox();
    // A manager granted Manager (as intelliHR advises, deliberately), and
    // a person without an account yet.
    let file = w.write(
        "m.csv",
        csv_text(&[
            "Employee Number,First Name,Last Name,Email,Username,Permission Groups",
            "E1,Mia,Boss,mia@example.com,mboss,Manager; Staff Member",
        ]),
    );
    let r =
        import_to(&sb, "intellihr", &file, &w.path("o"), &["--allow-elevated-permissions"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    sb.with(|s: &mut Ih| {
        s.seed_person(json!({"lastName": "Ray", "firstName": "Cleo", "displayName": "Cleo Ray", "employeeNumber": "E3"}));
    });

    // Her export imports back without the flag: the row grants nothing.
    let export = w.path("people.csv");
    assert_eq!(export_from(&sb, "intellihr", &export, &[]).code, 0);
    let again = w.path("again");
    let r = import_to(&sb, "intellihr", &export, &again, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let st = statuses(&again.join("results.csv"));
    assert_eq!(st, [("2".into(), "unchanged".into(), "".into())]);

    // Rows that would grant Manager are still refused: a new person, and a
    // person whose account the row would create.
    let file = w.write(
        "n.csv",
        csv_text(&[
            "Employee Number,First Name,Last Name,Email,Username,Permission Groups",
            "E1,Mia,Boss,mia@example.com,mboss,Manager",
            "E2,Ned,New,ned@example.com,nnew,Manager",
            "E3,Cleo,Ray,,cray,Manager",
        ]),
    );
    let out = w.path("n");
    let r = import_to(&sb, "intellihr", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let refused = "Permission Groups: \"Manager\" is not in the allow-list (Staff Member); intelliHR advises granting more by hand, or give --allow-elevated-permissions";
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            ("2".into(), "unchanged".into(), "".into()),
            ("3".into(), "invalid".into(), refused.into()),
            ("4".into(), "invalid".into(), refused.into()),
        ]
    );
    sb.with(|s: &mut Ih| assert_eq!(s.users.len(), 1, "nothing granted"));
}
