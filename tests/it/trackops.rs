//! Trackops end to end: the binary against the in-process sandbox's
//! `/trackops`, with photos written by the tests.

use crate::util::*;
use hrport_sandbox::trackops::Sim as Tops;

/// A real 1x1 PNG (RGBA), 70 bytes.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x64, 0x60, 0xF8, 0x5F,
    0x0F, 0x00, 0x02, 0x87, 0x01, 0x80, 0xEB, 0x47, 0xBA, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A real 1x1 JPEG (baseline-free, arithmetic coded: the smallest well-known
/// one), 125 bytes.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x02, 0x02, 0x02, 0x03, 0x02, 0x02,
    0x02, 0x03, 0x03, 0x03, 0x03, 0x04, 0x06, 0x04, 0x04, 0x04, 0x04, 0x04, 0x08, 0x06, 0x06, 0x05,
    0x06, 0x09, 0x08, 0x0A, 0x0A, 0x09, 0x08, 0x09, 0x09, 0x0A, 0x0C, 0x0F, 0x0C, 0x0A, 0x0B, 0x0E,
    0x0B, 0x09, 0x09, 0x0D, 0x11, 0x0D, 0x0E, 0x0F, 0x10, 0x10, 0x11, 0x10, 0x0A, 0x0C, 0x12, 0x13,
    0x12, 0x10, 0x13, 0x0F, 0x10, 0x10, 0x10, 0xFF, 0xC9, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01,
    0x01, 0x01, 0x11, 0x00, 0xFF, 0xCC, 0x00, 0x06, 0x00, 0x10, 0x10, 0x05, 0xFF, 0xDA, 0x00, 0x08,
    0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0xD2, 0xCF, 0x20, 0xFF, 0xD9,
];

/// The sandbox's demo locations and roles by name, as a customer's profile
/// would list them (Trackops cannot list them itself). "Acme Claims" is a
/// client location and "Client Manager" a client-contact role: hrport cannot
/// tell, the sandbox refuses them.
const PROFILE: &str = r#"target = "trackops"
[options]
locations = { "Head Office" = 3, "Denver Field Office" = 4, "Tampa Field Office" = 5, "Acme Claims" = 1 }
roles = { "Investigator" = 7, "Case Manager" = 8, "Administrator" = 9, "Client Manager" = 6 }
"#;

fn import(sb: &Sandbox, w: &Work, file: &std::path::Path, extra: &[&str]) -> Run {
    import_env(sb, w, file, extra, &[])
}

fn import_env(
    sb: &Sandbox,
    w: &Work,
    file: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let profile = w.write("trackops.toml", PROFILE);
    let mut args = vec!["--profile", profile.to_str().unwrap()];
    args.extend_from_slice(extra);
    import_to(sb, "trackops", file, &w.path("out"), &args, env)
}

fn staff(sb: &Sandbox) -> Vec<Value> {
    sb.with(|s: &mut Tops| s.staff.values().cloned().collect())
}

fn by_email(sb: &Sandbox, email: &str) -> Value {
    sb.with(|s: &mut Tops| s.by_email(email).cloned()).unwrap_or_else(|| panic!("no {email}"))
}

fn creates(sb: &Sandbox) -> u64 {
    sb.with(|s: &mut Tops| s.counters.creates)
}

fn row(r: &str, status: &str, err: &str) -> (String, String, String) {
    (r.to_string(), status.to_string(), err.to_string())
}

#[test]
fn a_clean_file_creates_employees_with_photos_locations_and_roles() {
    let w = Work::new();
    let sb = sandbox();
    std::fs::create_dir(w.path("photos")).unwrap();
    w.write("photos/ana.png", PNG);
    let bob_photo = w.write("bob.jpg", JPEG);
    let file = w.write(
        "hires.csv",
        csv_text(&[
            "First Name,Last Name,Email,Mobile,Job Title,Location,Role,Access Level,Send Login Invitation,Photo,Tags,Work Preferences",
            "Ana,Silva,ana@example.com,+1 555 0100,Senior Investigator,head office,Investigator,Full,yes,photos/ana.png,spanish; surveillance,nights; weekends",
            &format!("Bob,Stone,bob@example.com,,,4,8,Limited Access,no,{},,", bob_photo.display()),
            "Cleo,Ray,,,,Tampa Field Office,9,Disabled,,,,",
        ]),
    );
    let before = staff(&sb).len();
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("trackops: 3 rows: 3 created, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(staff(&sb).len(), before + 3);

    let ana = by_email(&sb, "ana@example.com");
    for (field, want) in [
        ("first_name", json!("Ana")),
        ("last_name", json!("Silva")),
        ("phone", json!("+1 555 0100")),
        ("title", json!("Senior Investigator")),
        ("client_id", json!(3)),
        ("role_id", json!(7)),
        ("access_level", json!("Full Access")),
        ("is_vendor", json!(false)),
        ("tags", json!(["spanish", "surveillance"])),
        ("work_preferences", json!(["nights", "weekends"])),
    ] {
        assert_eq!(ana[field], want, "{field}");
    }
    let bob = by_email(&sb, "bob@example.com");
    assert_eq!((bob["client_id"].clone(), bob["role_id"].clone()), (json!(4), json!(8)));
    assert_eq!(bob["access_level"], "Limited Access");
    let cleo = staff(&sb).into_iter().find(|s| s["first_name"] == "Cleo").unwrap();
    assert_eq!((cleo["client_id"].clone(), cleo["role_id"].clone()), (json!(5), json!(9)));
    assert_eq!(cleo["email"], Value::Null);
    let (ana_id, bob_id, cleo_id) =
        (ana["id"].as_u64().unwrap(), bob["id"].as_u64().unwrap(), cleo["id"].as_u64().unwrap());
    sb.with(|s: &mut Tops| {
        assert_eq!(s.photos.get(&ana_id).map(Vec::as_slice), Some(PNG), "relative to the file");
        assert_eq!(s.photos.get(&bob_id).map(Vec::as_slice), Some(JPEG), "absolute path");
        assert!(!s.photos.contains_key(&cleo_id));
        assert_eq!(s.invitations, [ana_id], "only Ana asked for an invitation");
    });

    let rows = rows_by_name(&w.path("out/results.csv"));
    let cells: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["hrport_status"].as_str(), r["hrport_id"].as_str())).collect();
    let ids = [ana_id.to_string(), bob_id.to_string(), cleo_id.to_string()];
    assert_eq!(cells, [("created", &*ids[0]), ("created", &*ids[1]), ("created", &*ids[2])]);
    assert_eq!(rows[0]["Mobile"], "'+1 555 0100", "formula guard on a leading +");
    assert_eq!(rows[0]["Photo"], "photos/ana.png");
    assert_eq!(rows[0]["hrport_row"], "2");
    assert_eq!(read_csv(&w.path("out/errors.csv")).len(), 1, "errors.csv has only its header");
}

#[test]
fn every_invalid_row_is_reported_with_its_reason_and_valid_rows_still_go() {
    let w = Work::new();
    let sb = sandbox();
    w.write("good.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    w.write("notes.txt", "not a picture");
    w.write("fake.png", "not a picture either");
    w.write("jpeg.png", JPEG);
    let file = w.write(
        "bad.csv",
        csv_text(&[
            "First Name,Last Name,Email,Location,Role,Access Level,Send Login Invitation,Photo,Tags",
            "Ana,Silva,ana@example.com,Head Office,Investigator,,,,",
            "Bob,Stone,bob@example.com,Head Office,Investigator,Supervisor,,,",
            "Cy,Ray,,Head Office,Investigator,Full Access,yes,,",
            "Di,Ray,di@example,Head Office,Investigator,,yes,,",
            "Ed,Ray,ed@example.com,Head Office,Investigator,Disabled,yes,,",
            "Fi,Ray,fi@example.com,Head Office,Investigator,,,missing.png,",
            "Gus,Ray,gus@example.com,Head Office,Investigator,,,notes.txt,",
            "Hal,Ray,hal@example.com,Head Office,Investigator,,,fake.png,",
            "Ivy,Ray,ivy@example.com,Head Office,Investigator,,,jpeg.png,",
            "Jo,Ray,jo@example.com,Hed Office,Investigatr,,,,",
            "Kim,Ray,ANA@EXAMPLE.COM,Head Office,Investigator,,,,",
            "Lee,Ray,lee@example.com,Head Office,Investigator,,,,;;",
            "Max,Ray,max@example.com,Tokyo,Investigator,,,,",
            ",Ray,ned@example.com,Head Office,Investigator,,,,",
            "Oli,Ray,oli@example.com,Acme Claims,Investigator,,,,",
            "Pat,Ray,pat@example.com,Head Office,Client Manager,,,,",
            "Quinn,Ray,quinn@example.com,3,7,F,yes,good.gif,day shift",
        ]),
    );
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let missing = w.path("missing.png");
    let expected = vec![
        row("2", "created", ""),
        row(
            "3",
            "invalid",
            "Access Level: \"Supervisor\" is not one of Disabled, Limited Access, Full Access",
        ),
        row(
            "4",
            "invalid",
            "Send Login Invitation is yes, but an invitation needs a valid e-mail in Email",
        ),
        row(
            "5",
            "invalid",
            "Email: \"di@example\" is not a valid e-mail address; Send Login Invitation is yes, but an invitation needs a valid e-mail in Email",
        ),
        row(
            "6",
            "invalid",
            "Send Login Invitation is yes, but Access Level is Disabled: a disabled employee cannot log in",
        ),
        row(
            "7",
            "invalid",
            &format!("Photo: \"missing.png\" does not exist (looked for {})", missing.display()),
        ),
        row("8", "invalid", "Photo: \"notes.txt\" is not a .jpg, .gif or .png file"),
        row(
            "9",
            "invalid",
            "Photo: \"fake.png\" is not an image: its content is not JPEG, GIF or PNG",
        ),
        row(
            "10",
            "invalid",
            "Photo: \"jpeg.png\": the extension says .png but the content is JPEG",
        ),
        row(
            "11",
            "invalid",
            "Location: no location named \"Hed Office\" (did you mean \"Head Office\"?); Role: no role named \"Investigatr\" (did you mean \"Investigator\"?)",
        ),
        row("12", "invalid", "Email: same as row 2 (must be unique in the file)"),
        row("13", "invalid", "Tags is empty after splitting on ; and ,"),
        row(
            "14",
            "invalid",
            "Location: no location named \"Tokyo\" (the locations are \"Acme Claims\", \"Denver Field Office\", \"Head Office\", \"Tampa Field Office\") in [options] locations; give the id or add the name there",
        ),
        row("15", "invalid", "First Name is required"),
        row(
            "16",
            "failed",
            "create employee: Validation failed; client_id: location 1 (Acme Insurance - Claims) is a client location; employees belong to a company location (HTTP 422)",
        ),
        row(
            "17",
            "failed",
            "create employee: Validation failed; role_id: role 6 (Client Manager) is not available for employees (HTTP 422)",
        ),
        row("18", "created", ""),
    ];
    assert_eq!(statuses(&w.path("out/results.csv")), expected);
    let attention: Vec<_> = expected.iter().filter(|e| e.1 != "created").cloned().collect();
    assert_eq!(statuses(&w.path("out/errors.csv")), attention);
    assert_eq!(creates(&sb), 2, "only valid rows reached the sandbox, and it kept two");
    let quinn = by_email(&sb, "quinn@example.com");
    assert_eq!(quinn["access_level"], "Full Access", "F is the start of exactly one level");
    assert_eq!(quinn["tags"], json!(["day shift"]));
    assert!(
        sb.with(|s: &mut Tops| s.photos[&quinn["id"].as_u64().unwrap()].starts_with(b"GIF89a"))
    );
    assert!(r.stdout.contains("2 created, 13 invalid, 2 failed"), "{}", r.stdout);
}

#[test]
fn existing_staff_are_found_by_email_on_every_page_and_never_created_again() {
    let w = Work::new();
    let sb = sandbox();
    let seeded: Vec<u64> = sb.with(|s: &mut Tops| {
        (0..150)
            .map(|i| {
                s.seed_staff(json!({"first_name": format!("P{i}"), "last_name": "Seed",
                    "email": format!("p{i}@example.com"), "client_id": 3, "role_id": 7}))
            })
            .collect()
    });
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Location,Role",
            // Matched rows agree with their records (the e-mail's case is
            // no change), so finding them changes nothing.
            "P140,Seed,P140@Example.com,Head Office,Investigator",
            "Vic,Vendor,vic@vendor.example,Head Office,Investigator",
            "New,Hire,new@example.com,Head Office,Investigator",
            "API,User,api@sandbox.example,Head Office,Administrator",
            "No,Email,,Head Office,Investigator",
        ]),
    );
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rows = rows_by_name(&w.path("out/results.csv"));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r["hrport_status"].as_str(), r["hrport_id"].as_str(), r["hrport_error"].as_str()))
        .collect();
    let (p140, new) = (seeded[140].to_string(), by_email(&sb, "new@example.com")["id"].to_string());
    let noemail =
        staff(&sb).into_iter().find(|s| s["first_name"] == "No").unwrap()["id"].to_string();
    assert_eq!(
        got,
        [
            ("unchanged", p140.as_str(), ""),
            (
                "invalid",
                "",
                "Email: belongs to vendor 102 in Trackops; hrport creates employees only"
            ),
            ("created", new.as_str(), ""),
            ("unchanged", "100", ""),
            ("created", noemail.as_str(), ""),
        ]
    );
    assert_eq!(creates(&sb), 2);

    // The same file again: the new hire is found now; a row without an
    // e-mail cannot be matched and is created again (documented).
    let r = import_to(
        &sb,
        "trackops",
        &file,
        &w.path("again"),
        &["--profile", w.path("trackops.toml").to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let st: Vec<String> = statuses(&w.path("again/results.csv")).into_iter().map(|s| s.1).collect();
    assert_eq!(st, ["unchanged", "invalid", "unchanged", "unchanged", "created"]);
}

#[test]
fn an_export_reimports_as_nothing_to_do() {
    let w = Work::new();
    let sb = sandbox();
    w.write("ana.png", PNG);
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Phone,Title,Location,Role,Access Level,Send Login Invitation,Photo,Tags,Work Preferences",
            "Ana,Silva,ana@example.com,+1 555 0100,Investigator,Head Office,Investigator,Full Access,yes,ana.png,spanish; surveillance,nights",
            "Bob,Stone,bob@example.com,,,Denver Field Office,Case Manager,,,,,",
        ]),
    );
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = w.path("people.csv");
    let r = export_from(&sb, "trackops", &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.trim(), format!("trackops: exported 4 people to {}", out.display()));
    let table = read_csv(&out);
    assert_eq!(
        table[0],
        [
            "ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone",
            "Title",
            "Location",
            "Role",
            "Access Level",
            "Send Login Invitation",
            "Photo",
            "Tags",
            "Work Preferences"
        ]
    );
    let rows = rows_by_name(&out);
    let mut emails: Vec<&str> = rows.iter().map(|r| r["Email"].as_str()).collect();
    // Rows come in id order; the two new hires were created concurrently.
    emails[2..].sort();
    assert_eq!(
        emails,
        [
            "api@sandbox.example",
            "lee.limited@sandbox.example",
            "ana@example.com",
            "bob@example.com"
        ],
        "employees only: the vendor is left out"
    );
    let find = |email: &str| rows.iter().find(|r| r["Email"] == email).unwrap();
    let ana = find("ana@example.com");
    for (col, want) in [
        ("Phone", "'+1 555 0100"),
        ("Title", "Investigator"),
        ("Location", "3"), // export reads no profile: ids
        ("Role", "7"),
        ("Access Level", "Full Access"),
        ("Send Login Invitation", ""),
        ("Photo", ""),
        ("Tags", "spanish; surveillance"),
        ("Work Preferences", "nights"),
    ] {
        assert_eq!(ana[col], want, "{col}");
    }
    assert_eq!(find("bob@example.com")["Access Level"], "Disabled", "the sandbox's default [U]");

    let before = creates(&sb);
    let r = import_to(&sb, "trackops", &out, &w.path("again"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("4 rows: 4 unchanged, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(creates(&sb), before, "nothing created");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

#[test]
fn a_wrong_token_aborts_with_exit_3_at_the_first_request() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&["First Name,Last Name,Email,Location,Role", "Ana,Silva,ana@example.com,3,7"]),
    );
    let r = import_env(&sb, &w, &file, &[], &[("HRPORT_TRACKOPS_API_TOKEN", "wrong-token-42")]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("run aborted: the target refused the credentials (HTTP 401)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("must be an active Full Access employee"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-token-42") && !r.stdout.contains("wrong-token-42"));
    let c = sb.with(|s: &mut Tops| s.counters.clone());
    assert_eq!((c.requests, c.refused, c.creates), (1, 1, 0), "refused once, never retried");

    let r = Hrport::import(&file).target("trackops").base_url(sb.url()).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("set HRPORT_TRACKOPS_USERNAME, HRPORT_TRACKOPS_API_TOKEN"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_limited_access_user_or_a_client_contact_aborts_with_exit_3_and_says_why() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&["First Name,Last Name,Email,Location,Role", "Ana,Silva,ana@example.com,3,7"]),
    );
    let r = import_env(&sb, &w, &file, &[], &[("HRPORT_TRACKOPS_USERNAME", "limited")]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains(
            "run aborted: Trackops refused the API user (HTTP 403): Only active Full Access \
             employees may use the API (limited has Limited Access)"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: HRPORT_TRACKOPS_USERNAME must be an active Full Access employee (not Limited Access, not a client contact)"), "{}", r.stderr);

    // Written as in Trackops' curl example, with the suffix: still one /token.
    let r = import_env(&sb, &w, &file, &[], &[("HRPORT_TRACKOPS_USERNAME", "contact/token")]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("(HTTP 403): Client contacts may not use the API"), "{}", r.stderr);
    let c = sb.with(|s: &mut Tops| s.counters.clone());
    assert_eq!((c.requests, c.refused, c.creates), (2, 2, 0));
}

#[test]
fn a_lost_create_answer_is_settled_by_email_never_by_sending_again() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Tops| s.fail_after_create = 2);
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Location,Role",
            "Ana,Silva,ana@example.com,3,7",
            "Cleo,Ray,,3,7",
        ]),
    );
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let ana = by_email(&sb, "ana@example.com")["id"].to_string();
    assert_eq!(
        statuses(&w.path("out/results.csv")),
        [
            row("2", "created", ""),
            row(
                "3",
                "failed",
                "create employee: no clear answer to the create (it may have been applied), and a row without an e-mail cannot be looked up: check in Trackops whether Cleo Ray exists before importing this row again",
            ),
        ]
    );
    assert_eq!(rows_by_name(&w.path("out/results.csv"))[0]["hrport_id"], ana);
    assert_eq!(creates(&sb), 2, "each row was sent once");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["recovered_lost_answers"], 1);
}

#[test]
fn paging_follows_the_profile_and_a_server_ignoring_it_stops_the_run() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Tops| {
        s.page_param = "p".into();
        s.per_page_param = "limit".into();
        for i in 0..30 {
            // As the row gives them: found, then nothing to change.
            s.seed_staff(json!({"first_name": "P", "last_name": "Seed", "email": format!("p{i}@example.com"), "client_id": 3, "role_id": 7}));
        }
    });
    let file = w.write(
        "h.csv",
        csv_text(&["First Name,Last Name,Email,Location,Role", "P,Seed,p29@example.com,3,7"]),
    );
    let profile = |paging: &str| {
        w.write("paging.toml", format!("target = \"trackops\"\n[options]\n{paging}\n"))
    };
    let p = profile("page_param = \"p\"\nper_page_param = \"limit\"\npage_size = 10");
    let r =
        import_to(&sb, "trackops", &file, &w.path("o1"), &["--profile", p.to_str().unwrap()], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(statuses(&w.path("o1/results.csv"))[0].1, "unchanged", "found on page 4 of 4");

    let p = profile("per_page_param = \"limit\"\npage_size = 10");
    let r =
        import_to(&sb, "trackops", &file, &w.path("o2"), &["--profile", p.to_str().unwrap()], &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("page 2 of GET /api/v1/staff repeated earlier records: Trackops seems not to know the paging parameter \"page\""),
        "{}",
        r.stderr
    );
    assert_eq!(creates(&sb), 0);
}

#[test]
fn a_dry_run_without_a_target_checks_photos_and_profile_names() {
    let w = Work::new();
    w.write("ana.png", PNG);
    w.write("bob.gif", JPEG);
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Location,Role,Photo",
            "Ana,Silva,ana@example.com,Head Office,Investigator,ana.png",
            "Bob,Stone,bob@example.com,Head Office,Investigator,bob.gif",
            "Cy,Ray,cy@example.com,Head Ofice,7,",
        ]),
    );
    let profile = w.write("trackops.toml", PROFILE);
    let r = Hrport::import(&file)
        .target("trackops")
        .flag("--dry-run")
        .profile(&profile)
        .out(w.path("out"))
        .run();
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&w.path("out/results.csv")),
        [
            row("2", "skipped", ""),
            row(
                "3",
                "invalid",
                "Photo: \"bob.gif\": the extension says .gif but the content is JPEG"
            ),
            row(
                "4",
                "invalid",
                "Location: no location named \"Head Ofice\" (did you mean \"Head Office\"?)"
            ),
        ]
    );
}

#[test]
fn a_base_url_with_api_v1_is_a_usage_error_before_anything_is_read() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("h.csv", csv_text(&["First Name,Last Name,Location,Role", "Ana,Silva,3,7"]));
    let url = format!("{}/trackops/api/v1", sb.url());
    let out = w.path("out");
    let env = sandbox_env("trackops");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = Hrport::import(&file).target("trackops").base_url(&url).out(&out).envs(&env).run();
    assert_eq!(r.code, 2, "{r:?}");
    let want =
        format!("ends in /api/v1, which hrport adds itself: use --base-url {}/trackops", sb.url());
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(!out.exists(), "nothing written");
    assert!(sb.with(|s: &mut Tops| s.counters.requests) == 0, "nothing sent");
}

/// The columns of the session-level tests, and a row of them: Location and
/// Role as ids (the session reads no profile).
const COLUMNS: &str =
    "First Name,Last Name,Email,Phone,Title,Location,Role,Access Level,Tags,Work Preferences";

/// Ana (Full Access) and Bob (Limited Access), seeded as the web app would
/// hold them; their ids.
fn ana_and_bob(sb: &Sandbox) -> (u64, u64) {
    sb.with(|s: &mut Tops| {
        let ana = s.seed_staff(serde_json::json!({"first_name": "Ana", "last_name": "Silva",
            "email": "ana@example.com", "phone": "555-0100", "title": "Investigator",
            "access_level": "Full Access", "client_id": 3, "role_id": 7,
            "tags": ["spanish"], "work_preferences": ["nights"]}));
        let bob = s.seed_staff(serde_json::json!({"first_name": "Bob", "last_name": "Stone",
            "email": "bob@example.com", "access_level": "Limited Access", "client_id": 4,
            "role_id": 8}));
        (ana, bob)
    })
}

fn one(sb: &Sandbox, id: u64) -> Value {
    sb.with(|s: &mut Tops| s.staff[&id].clone())
}

#[test]
fn an_update_sends_exactly_the_changed_fields_under_the_create_names() {
    use hrport::targets::Outcome;
    let sb = sandbox();
    let (ana, bob) = ana_and_bob(&sb);
    let (api, s) = session(&sb, "trackops", "");
    let f = |c| field("trackops", c);
    for c in ["Photo", "Send Login Invitation"] {
        assert!(!s.updatable().contains(&f(c)), "{c} is not changed by update");
    }
    for c in [
        "First Name",
        "Last Name",
        "Email",
        "Phone",
        "Title",
        "Location",
        "Role",
        "Access Level",
        "Tags",
    ] {
        assert!(s.updatable().contains(&f(c)), "{c} is changed by update");
    }
    let before = one(&sb, ana);
    let row = "Ana,Silva,ana@example.com,555-0199,Lead Investigator,5,8,Full Access,spanish; french,nights";
    let outcome = with_row(&*s, "trackops", COLUMNS, row, |_, v, problems| {
        assert!(problems.is_empty(), "{problems:?}");
        let changed = [f("Phone"), f("Title"), f("Location"), f("Role"), f("Tags")];
        s.update(&api, &ana.to_string(), &row_input(v), &changed)
    });
    assert_eq!(outcome, Outcome::Updated { id: ana.to_string() });
    let mut want = before;
    want["phone"] = json!("555-0199");
    want["title"] = json!("Lead Investigator");
    want["client_id"] = json!(5);
    want["role_id"] = json!(8);
    want["tags"] = json!(["spanish", "french"]);
    let mut now = one(&sb, ana);
    now["updated_at"] = want["updated_at"].clone();
    assert_eq!(now, want, "only the changed fields, ids as numbers");
    assert_eq!(sb.with(|s: &mut Tops| s.counters.updates), 1, "one request");

    // Trackops' refusal is the row's failure, in its words; nothing changes.
    let bob_before = one(&sb, bob);
    let row = "Bob,Stone,ANA@example.com,,Boss,,,,,";
    let outcome = with_row(&*s, "trackops", COLUMNS, row, |_, v, _| {
        s.update(&api, &bob.to_string(), &row_input(v), &[f("Email"), f("Title")])
    });
    let Outcome::Failed { id, message, unavailable: false } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(id.as_deref(), Some(bob.to_string().as_str()));
    assert_eq!(
        message,
        "update employee: Validation failed; email: has already been taken (HTTP 422)"
    );
    let row = "Bob,Stone,bob@example.com,,,1,,,,";
    let outcome = with_row(&*s, "trackops", COLUMNS, row, |_, v, _| {
        s.update(&api, &bob.to_string(), &row_input(v), &[f("Location")])
    });
    assert!(
        matches!(&outcome, Outcome::Failed { message, .. } if message.contains("is a client location")),
        "{outcome:?}"
    );
    assert_eq!(one(&sb, bob), bob_before, "nothing changed");
    let outcome = with_row(&*s, "trackops", COLUMNS, row, |_, v, _| {
        s.update(&api, "999", &row_input(v), &[f("Title")])
    });
    let outcome2 = with_row(&*s, "trackops", COLUMNS, "A,B,,,Boss,,,,,", |_, v, _| {
        s.update(&api, "999", &row_input(v), &[f("Title")])
    });
    assert_eq!(outcome, Outcome::Updated { id: "999".into() }, "an empty Title sends nothing");
    assert_eq!(
        outcome2,
        Outcome::Failed {
            id: Some("999".into()),
            message: "update employee: Staff member not found (HTTP 404)".into(),
            unavailable: false
        }
    );
    assert_eq!(sb.with(|s: &mut Tops| s.counters.updates), 1);
}

#[test]
fn the_access_level_is_the_lifecycle_and_set_active_changes_only_it() {
    use hrport::targets::Outcome;
    let sb = sandbox();
    let (ana, bob) = ana_and_bob(&sb);
    let (api, s) = session(&sb, "trackops", "");
    for (level, wants) in [
        ("Disabled", Some(false)),
        ("d", Some(false)),
        ("Limited Access", Some(true)),
        ("full access", Some(true)),
        ("", None),
    ] {
        let row = format!("A,B,,,,,,{level},,");
        let got = with_row(&*s, "trackops", COLUMNS, &row, |_, v, _| s.wants_active(v));
        assert_eq!(got, wants, "{level:?}");
    }
    let level = |id| one(&sb, id)["access_level"].clone();
    let before = one(&sb, ana);
    // A leaver: Disabled, whatever else the row says.
    let done = with_row(&*s, "trackops", COLUMNS, "Ana,Silva,,,Boss,,,Disabled,,", |_, v, _| {
        s.set_active(&api, &ana.to_string(), false, &row_input(v))
    });
    assert_eq!(done, Outcome::Updated { id: ana.to_string() });
    assert_eq!(level(ana), "Disabled");
    let mut now = one(&sb, ana);
    now["access_level"] = before["access_level"].clone();
    now["updated_at"] = before["updated_at"].clone();
    assert_eq!(now, before, "only the access level changed");
    // A returner gets the row's level ...
    let done = with_row(&*s, "trackops", COLUMNS, "Ana,Silva,,,,,,Full Access,,", |_, v, _| {
        s.set_active(&api, &ana.to_string(), true, &row_input(v))
    });
    assert_eq!(done, Outcome::Updated { id: ana.to_string() });
    assert_eq!(level(ana), "Full Access");
    // ... or, when it names none (a Status column said Active), the lowest.
    sb.with(|s: &mut Tops| s.staff.get_mut(&bob).unwrap()["access_level"] = json!("Disabled"));
    let done = with_row(&*s, "trackops", COLUMNS, "Bob,Stone,,,,,,,,", |_, v, _| {
        s.set_active(&api, &bob.to_string(), true, &row_input(v))
    });
    assert_eq!(done, Outcome::Updated { id: bob.to_string() });
    assert_eq!(level(bob), "Limited Access");
    assert_eq!(sb.with(|s: &mut Tops| s.counters.updates), 3);

    // Export reads it back: Disabled is inactive, any other level active.
    sb.with(|s: &mut Tops| s.staff.get_mut(&bob).unwrap()["access_level"] = json!("Disabled"));
    let mut seen = Vec::new();
    s.export(&api, false, &mut |e| {
        seen.push((e.id, e.active, e.cells[field("trackops", "Access Level")].clone()));
        Ok(())
    })
    .unwrap();
    assert!(seen.contains(&(ana.to_string(), true, "Full Access".into())), "{seen:?}");
    assert!(seen.contains(&(bob.to_string(), false, "Disabled".into())), "{seen:?}");
}

#[test]
fn update_path_and_method_are_options() {
    let sb = sandbox();
    let (ana, _) = ana_and_bob(&sb);
    let (api, s) = session(&sb, "trackops", "update_method = \"PUT\"");
    let f = |c| field("trackops", c);
    let done = with_row(&*s, "trackops", COLUMNS, "Ana,Silva,,,Chief,,,,,", |_, v, _| {
        s.update(&api, &ana.to_string(), &row_input(v), &[f("Title")])
    });
    assert_eq!(done, hrport::targets::Outcome::Updated { id: ana.to_string() });
    assert_eq!(one(&sb, ana)["title"], "Chief");
    let (api, s) = session(&sb, "trackops", "update_path = \"/api/v1/people/{id}\"");
    let done = with_row(&*s, "trackops", COLUMNS, "Ana,Silva,,,Boss,,,,,", |_, v, _| {
        s.update(&api, &ana.to_string(), &row_input(v), &[f("Title")])
    });
    assert!(
        matches!(&done, hrport::targets::Outcome::Failed { message, .. } if message.contains("no route for PATCH /api/v1/people/")),
        "{done:?}"
    );
    assert_eq!(one(&sb, ana)["title"], "Chief");
}

/// A leavers-and-movers file of two columns: Lee, an active Limited Access
/// employee, moves to Full Access (an update of his rights, not a
/// (de)activation), found by his e-mail alone.
#[test]
fn a_move_between_two_active_access_levels_is_an_update() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "movers.csv",
        csv_text(&["Email,Access Level,Status", "lee.limited@sandbox.example,Full Access,Active"]),
    );
    let r = import(&sb, &w, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows = rows_by_name(&w.path("out/results.csv"));
    assert_eq!(
        (rows[0]["hrport_status"].as_str(), rows[0]["hrport_changes"].as_str()),
        ("updated", "Access Level: \"Limited Access\" → \"Full Access\"")
    );
    assert_eq!(by_email(&sb, "lee.limited@sandbox.example")["access_level"], "Full Access");
}
