//! SecurityTrax end to end: JSON:API, expiring tokens, managers and
//! recruiters, against the in-process sandbox only.

use hrport_sandbox::securitytrax::Sim as St;

use crate::util::*;

fn id_of(sb: &Sandbox, username: &str) -> String {
    sb.with(|s: &mut St| s.by_username(username).map(|u| u["id"].as_str().unwrap().to_string()))
        .unwrap_or_else(|| panic!("{username} missing"))
}

fn related(sb: &Sandbox, username: &str, rel: &str) -> Option<String> {
    sb.with(|s: &mut St| s.by_username(username).and_then(|u| s.related(u, rel)))
}

#[test]
fn managers_are_created_before_their_reports_wherever_they_are_in_the_file() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "team.csv",
        csv_text(&[
            "First Name,Last Name,Username,Email,Payroll Identifier,Reports To,Recruited By,Hire Date,Employee Directory Access,Can Login,Generate Random Password,Notification Email,Password",
            // Reports to a row further down, recruited by someone in SecurityTrax.
            "Ana,Silva,asilva,ana@example.com,P-10,bob@example.com,mgarcia,2026-12-01,Hierarchy,yes,,,Tmp-Pass-991",
            // Reports to a row further down again (two levels).
            "Bob,Stone,bstone,bob@example.com,P-11,P-12,,,All,yes,yes,bob.private@example.com,",
            "Cleo,Ray,cray,cleo@example.com,P-12,MARIA.GARCIA@example.com,,,,no,,,",
            // Reports to a row above.
            "Dan,Ray,dray,dan@example.com,P-13,asilva,,,none,,,,",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "securitytrax", &file, &out, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let maria = id_of(&sb, "mgarcia");
    assert_eq!(
        related(&sb, "cray", "reports_to"),
        Some(maria.clone()),
        "a tenant user, found by e-mail"
    );
    assert_eq!(related(&sb, "bstone", "reports_to"), Some(id_of(&sb, "cray")));
    assert_eq!(related(&sb, "asilva", "reports_to"), Some(id_of(&sb, "bstone")));
    assert_eq!(related(&sb, "asilva", "recruited_by"), Some(maria));
    assert_eq!(related(&sb, "dray", "reports_to"), Some(id_of(&sb, "asilva")));
    sb.with(|s: &mut St| {
        // Ids are given in creation order: managers first.
        let order: Vec<u64> = ["cray", "bstone", "asilva", "dray"]
            .iter()
            .map(|u| s.by_username(u).unwrap()["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "creation order {order:?}");
        let bob = s.by_username("bstone").unwrap();
        assert_eq!(
            bob["attributes"]["force_password_change"], true,
            "a generated password must be changed"
        );
        assert_eq!(bob["attributes"]["employee_directory_access"], "All");
        let ana = s.by_username("asilva").unwrap();
        assert_eq!(ana["attributes"]["hire_date"], "2026-12-01");
        assert_eq!(ana["attributes"]["can_login"], true);
        assert_eq!(
            s.passwords.get(ana["id"].as_str().unwrap()).map(String::as_str),
            Some("Tmp-Pass-991")
        );
        assert_eq!(
            s.by_username("dray").unwrap()["attributes"]["employee_directory_access"],
            "None"
        );
        assert!(s.received.iter().all(|d| d["data"]["type"] == "users"));
    });
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(
        rows.iter().map(|r| r["hrport_status"].as_str()).collect::<Vec<_>>(),
        ["created"; 4]
    );
    assert_eq!(rows[0]["hrport_id"], id_of(&sb, "asilva"));
    assert!(!std::fs::read_to_string(out.join("results.csv")).unwrap().contains("Tmp-Pass-991"));
}

#[test]
fn every_rule_is_checked_and_circles_name_every_row_in_them() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "bad.csv",
        csv_text(&[
            "First Name,Last Name,Username,Email,Reports To,Start Date,Last Day,Employee Directory Access,Generate Random Password,Notification Email,Force Password Change,Password",
            "Ok,Row,ok1,ok1@example.com,,,,,,,,",
            "A,Ray,aray,a@example.com,,,,Everyone,,,,",
            "B,Ray,bray,b@example.com,,,,,yes,,,",
            "C,Ray,cray,c@example.com,,,,,yes,c2@example.com,no,",
            "D,Ray,dray,d@example.com,,,,,yes,d2@example.com,,secret-1",
            "E,Ray,eray,e@example.com,,2026-12-10,2026-12-01,,,,,",
            "F,Ray,fray,f@example.com,nobody@example.com,,,,,,,",
            "G,Ray,gray,g@example.com,hray,,,,,,,",
            "H,Ray,hray,h@example.com,iray,,,,,,,",
            "I,Ray,iray,i@example.com,gray,,,,,,,",
            "J,Ray,jray,j@example.com,jray,,,,,,,",
            "K,Ray,kray,k@example.com,gray,,,,,,,",
            "L,Ray,lray,l@example.com,aray,,,,,,,",
            "M,Ray,ok1,m@example.com,,,,,,,,",
            "N,Ray,nray,n@example.com,,2026-02-30,,,,,,",
            "O,Ray,oray,o@example.com,,,,,maybe,,,",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "securitytrax", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let s =
        |row: &str, status: &str, err: &str| (row.to_string(), status.to_string(), err.to_string());
    assert_eq!(
        statuses(&out.join("results.csv")),
        vec![
            s("2", "created", ""),
            s(
                "3",
                "invalid",
                "Employee Directory Access: \"Everyone\" is not one of None, All, Shared Locations, Hierarchy"
            ),
            s(
                "4",
                "invalid",
                "Notification Email is required when Generate Random Password is yes (the password is e-mailed there)"
            ),
            s(
                "5",
                "invalid",
                "Force Password Change: cannot be no when Generate Random Password is yes: a generated password must be changed"
            ),
            s(
                "6",
                "invalid",
                "Password: give a password or Generate Random Password = yes, not both"
            ),
            s("7", "invalid", "Last Day: 2026-12-01 is before Start Date (2026-12-10)"),
            s(
                "8",
                "invalid",
                "Reports To: \"nobody@example.com\" is nobody in this file or in SecurityTrax (give the Username, Email or Payroll Identifier of someone in either)"
            ),
            s("9", "invalid", "Reports To: rows 9, 10 and 11 refer to each other in a circle"),
            s("10", "invalid", "Reports To: rows 9, 10 and 11 refer to each other in a circle"),
            s("11", "invalid", "Reports To: rows 9, 10 and 11 refer to each other in a circle"),
            s("12", "invalid", "Reports To: refers to this same row"),
            s("13", "invalid", "Reports To: row 9, whom this row refers to, cannot be imported"),
            s("14", "invalid", "Reports To: row 3, whom this row refers to, cannot be imported"),
            s("15", "invalid", "Username: same as row 2 (must be unique in the file)"),
            s("16", "invalid", "Start Date: \"2026-02-30\" is not a real date"),
            s(
                "17",
                "invalid",
                "Generate Random Password: \"maybe\" is not yes/no (use yes, no, true, false, y, n, 1 or 0)"
            ),
        ]
    );
    sb.with(|s: &mut St| assert_eq!(s.users.len(), 3, "two demo users and row 2"));
}

#[test]
fn existing_users_are_found_by_any_key() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Username,Email,Payroll Identifier",
            "Maria,Garcia,MGARCIA,,",
            "Ann,Other,newann,maria.garcia@example.com,",
            "X,Y,API,x@example.com,P-0001",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "securitytrax", &file, &out, &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let st = statuses(&out.join("results.csv"));
    assert_eq!(st[0].1, "unchanged");
    // Found by e-mail alone, with another person's name and username: not
    // taken for Maria (the one a new hire with a reused address would be).
    assert_eq!(
        st[1],
        (
            "3".into(),
            "invalid".into(),
            "matches SecurityTrax record 2 (Maria Garcia) by another key, but Username \"newann\" \
             (the record has \"mgarcia\") disagrees: if this is that person, give its ID; if not, \
             fix the row"
                .into()
        )
    );
    assert_eq!(
        st[2],
        (
            "4".into(),
            "invalid".into(),
            "Username matches user 1 but Payroll Identifier matches user 2 in SecurityTrax".into()
        )
    );
    assert_eq!(rows_by_name(&out.join("results.csv"))[0]["hrport_id"], "2");
    sb.with(|s: &mut St| assert_eq!(s.users.len(), 2));
}

#[test]
fn a_token_expiring_mid_run_is_renewed_without_a_pause() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        token_ttl: std::time::Duration::from_millis(700),
        ..SandboxConfig::default()
    });
    let mut rows = vec!["First Name,Last Name,Username,Reports To".to_string()];
    for i in 0..40 {
        // Everyone reports to the previous row: 40 levels, in order.
        let manager = if i == 0 { "mgarcia".to_string() } else { format!("u{}", i - 1) };
        rows.push(format!("P{i},Test,u{i},{manager}"));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = w.write("long.csv", csv_text(&refs));
    let out = w.path("o");
    let r = import_to(&sb, "securitytrax", &file, &out, &["--rate", "25"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = sb.with(|s: &mut St| s.counters.clone());
    assert!(c.expired >= 1 && c.logins >= 2, "tokens ran out and were renewed: {c:?}");
    assert_eq!(c.failed_logins, 0);
    assert_eq!(related(&sb, "u39", "reports_to"), Some(id_of(&sb, "u38")));
    assert_eq!(statuses(&out.join("results.csv")).iter().filter(|s| s.1 == "created").count(), 40);
}

/// Ana (reports to mgarcia) and Bob, created by a normal import; then a
/// session connected to the sandbox as an import connects it.
fn ana_and_bob(w: &Work, sb: &Sandbox) -> Connected {
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Username,Email,Payroll Identifier,Phone,Title,Reports To,Recruited By,Hire Date,Can Login",
            "Ana,Silva,asilva,ana@example.com,P-10,+1 555 0100,Technician,mgarcia,mgarcia,2026-12-01,yes",
            "Bob,Stone,bstone,bob@example.com,P-11,,Installer,,,,",
        ]),
    );
    let r = import_to(sb, "securitytrax", &file, &w.path("o"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    connect(sb, "securitytrax")
}

const HEADER: &str = "First Name,Last Name,Username,Email,Payroll Identifier,Phone,Title,Reports To,Recruited By,Hire Date,Can Login,Active,Password";

/// The row's people as the engine gives them: each person field's key,
/// looked up by the session.
fn people(sheet: &Sheet, c: &Connected, values: &[hrport::mapping::Value]) -> Vec<(usize, String)> {
    ["Reports To", "Recruited By"]
        .iter()
        .map(|n| sheet.field(n))
        .filter_map(|f| Some((f, c.session.person(values[f].text()?)?)))
        .collect()
}

#[test]
fn update_patches_exactly_the_changed_attributes_and_relationships_once() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = ana_and_bob(&w, &sb);
    let ana = id_of(&sb, "asilva");
    let before = sb.with(|s: &mut St| s.by_username("asilva").unwrap().clone());
    // New e-mail, title and manager; the phone differs too, and the
    // password is given, but neither is among the changed fields.
    let sheet = Sheet::new(
        "securitytrax",
        HEADER,
        &[
            "Ana,Silva,asilva,ana.silva@example.com,P-10,+1 555 0199,Senior Technician,bstone,mgarcia,2026-12-01,yes,,Secret-1",
        ],
    );
    let values = sheet.values(0, c.session.as_ref());
    let people = people(&sheet, &c, &values);
    let row = RowInput { row: 2, values: &values, existing: None, people: &people };
    let existing = c.session.existing(&values, &sheet.mapping).unwrap().expect("found");
    assert_eq!((existing.id.as_str(), existing.incomplete), (ana.as_str(), false));
    let changed = [sheet.field("Email"), sheet.field("Title"), sheet.field("Reports To")];
    assert!(changed.iter().all(|f| c.session.updatable().contains(f)));
    for never in [
        "Password",
        "Generate Random Password",
        "Force Password Change",
        "Notification Email",
        "Active",
    ] {
        assert!(!c.session.updatable().contains(&sheet.field(never)), "{never}");
    }
    assert_eq!(
        c.session.update(&c.api, &ana, &row, &changed),
        Outcome::Updated { id: ana.clone() }
    );
    sb.with(|s: &mut St| {
        assert_eq!(s.patches.len(), 1, "one PATCH");
        let (id, doc) = &s.patches[0];
        assert_eq!(id, &ana);
        assert_eq!(
            doc,
            &json!({"data": {"type": "users", "id": ana,
                "attributes": {"email": "ana.silva@example.com", "title": "Senior Technician"},
                "relationships": {"reports_to": {"data": {"type": "users", "id": id_of_in(s, "bstone")}}}}})
        );
        let after = s.by_username("asilva").unwrap();
        let mut want = before["attributes"].clone();
        want["email"] = json!("ana.silva@example.com");
        want["title"] = json!("Senior Technician");
        assert_eq!(after["attributes"], want, "nothing else changed");
        assert_eq!(s.related(after, "reports_to"), Some(id_of_in(s, "bstone")));
        assert_eq!(s.related(after, "recruited_by"), s.related(&before, "recruited_by"));
        assert!(!s.passwords.contains_key(&ana), "the password is never sent");
    });
    // The record now exports as the row reads for the changed columns:
    // a re-import finds no difference there.
    let mut exported = Vec::new();
    c.session
        .export(&c.api, true, &mut |e| {
            exported.push(e);
            Ok(())
        })
        .unwrap();
    let e = exported.iter().find(|e| e.id == ana).expect("exported");
    let cells = &sheet.records[0].fields;
    for f in changed {
        let column = sheet.mapping.column_of(f).unwrap();
        assert_eq!(e.cells[f], cells[column], "{}", sheet.mapping.label(f));
    }
    assert_eq!(e.cells[sheet.field("Phone")], "+1 555 0100", "not among the changed fields");
}

fn id_of_in(s: &St, username: &str) -> String {
    s.by_username(username).unwrap()["id"].as_str().unwrap().to_string()
}

#[test]
fn a_patch_the_vendor_refuses_fails_the_row_with_its_message() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = ana_and_bob(&w, &sb);
    let ana = id_of(&sb, "asilva");
    let before = sb.with(|s: &mut St| s.users.clone());
    // Ana (found by her payroll identifier) renamed to Bob's username.
    let sheet = Sheet::new("securitytrax", HEADER, &["Ana,Silva,BSTONE,,P-10,,,,,,,,"]);
    let values = sheet.values(0, c.session.as_ref());
    let row = RowInput { row: 2, values: &values, existing: None, people: &[] };
    assert_eq!(
        c.session.update(&c.api, &ana, &row, &[sheet.field("Username")]),
        Outcome::Failed {
            id: Some(ana.clone()),
            message: "update user: the username \"BSTONE\" is already taken (HTTP 422)".into(),
            unavailable: false,
        }
    );
    // A user that is gone: the vendor's 404, nothing else touched.
    assert_eq!(
        c.session.update(&c.api, "99", &row, &[sheet.field("Username")]),
        Outcome::Failed {
            id: Some("99".into()),
            message: "update user: no user 99 (HTTP 404)".into(),
            unavailable: false,
        }
    );
    sb.with(|s: &mut St| assert_eq!(s.users, before, "nothing changed"));
}

#[test]
fn a_leaver_is_made_inactive_not_deleted_and_can_come_back() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = ana_and_bob(&w, &sb);
    let active = |sb: &Sandbox| {
        sb.with(|s: &mut St| s.by_username("asilva").unwrap()["attributes"]["active"].clone())
    };
    let ana = id_of(&sb, "asilva");
    let before = sb.with(|s: &mut St| s.by_username("asilva").unwrap().clone());
    let sheet = Sheet::new(
        "securitytrax",
        "First Name,Last Name,Username,Active",
        &["Ana,Silva,asilva,no", "Ana,Silva,asilva,", "Ana,Silva,asilva,yes"],
    );
    let (leaver, blank, back) = (
        sheet.values(0, c.session.as_ref()),
        sheet.values(1, c.session.as_ref()),
        sheet.values(2, c.session.as_ref()),
    );
    // The Active column is the lifecycle, asked of `wants_active`; the
    // match itself has nothing left to complete.
    assert_eq!(c.session.wants_active(&leaver), Some(false));
    assert_eq!(c.session.wants_active(&blank), None, "a blank cell leaves the state alone");
    assert_eq!(c.session.wants_active(&back), Some(true));
    let ex = c.session.existing(&leaver, &sheet.mapping).unwrap().expect("found");
    assert_eq!((ex.id.as_str(), ex.incomplete), (ana.as_str(), false));

    let row = RowInput { row: 2, values: &leaver, existing: None, people: &[] };
    assert_eq!(
        c.session.set_active(&c.api, &ana, false, &row),
        Outcome::Updated { id: ana.clone() }
    );
    assert_eq!(active(&sb), json!(false));
    let row = RowInput { row: 4, values: &back, existing: None, people: &[] };
    assert_eq!(
        c.session.set_active(&c.api, &ana, true, &row),
        Outcome::Updated { id: ana.clone() }
    );
    assert_eq!(active(&sb), json!(true));
    sb.with(|s: &mut St| {
        let docs: Vec<&Value> = s.patches.iter().map(|(_, d)| d).collect();
        assert_eq!(
            docs,
            [
                &json!({"data": {"type": "users", "id": ana, "attributes": {"active": false}}}),
                &json!({"data": {"type": "users", "id": ana, "attributes": {"active": true}}}),
            ],
            "one PATCH each, the active attribute only"
        );
        assert_eq!(s.by_username("asilva").unwrap(), &before, "back as she was");
        assert_eq!(s.users.len(), 4, "nothing created or deleted");
    });
}

#[test]
fn an_export_reimports_as_nothing_to_do_and_leaves_inactive_users_out_unless_asked() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Username,Email,Reports To,Hire Date,Active",
            "Ana,Silva,asilva,ana@example.com,mgarcia,2026-12-01,",
            "Bob,Stone,bstone,bob@example.com,asilva,,no",
        ]),
    );
    assert_eq!(import_to(&sb, "securitytrax", &file, &w.path("o"), &[], &[]).code, 0);
    assert_eq!(
        sb.with(|s: &mut St| s.by_username("bstone").unwrap()["attributes"]["active"].clone()),
        json!(false)
    );
    let export = w.path("all.csv");
    let r = export_from(&sb, "securitytrax", &export, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows = rows_by_name(&export);
    assert_eq!(rows.len(), 3, "api, mgarcia and asilva; bstone is inactive");
    let ana = rows.iter().find(|r| r["Username"] == "asilva").unwrap();
    assert_eq!(ana["Reports To"], "mgarcia");
    assert_eq!(ana["Hire Date"], "2026-12-01");
    let r = export_from(&sb, "securitytrax", &w.path("with.csv"), &["--include-terminated"]);
    assert_eq!(r.code, 0);
    assert_eq!(rows_by_name(&w.path("with.csv")).len(), 4);
    let r = import_to(&sb, "securitytrax", &w.path("with.csv"), &w.path("again"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("4 rows: 4 unchanged"), "{}", r.stdout);
    sb.with(|s: &mut St| assert_eq!(s.users.len(), 4));
}

#[test]
fn refused_credentials_abort_with_exit_3() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("h.csv", csv_text(&["First Name,Last Name,Username", "A,B,ab"]));
    let r = import_to(
        &sb,
        "securitytrax",
        &file,
        &w.path("o"),
        &[],
        &[("HRPORT_SECURITYTRAX_PASSWORD", "nope-123")],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("sign-in refused (HTTP 401): invalid username or password"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("nope-123"));
    let r = import_to(
        &sb,
        "securitytrax",
        &file,
        &w.path("o"),
        &[],
        &[("HRPORT_SECURITYTRAX_INTEGRATOR_KEY", "SANDBOX-INTEGRATOR")],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("X-SecurityTrax-IntegratorKey"), "{}", r.stderr);
    sb.with(|s: &mut St| {
        assert_eq!(s.users.len(), 2);
        assert_eq!(s.counters.failed_logins, 1, "never retried");
    });
}
