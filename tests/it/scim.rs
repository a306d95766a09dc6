//! SCIM 2.0 end to end against the sandbox's service provider: bulk and
//! per-row paths, managers, groups, paging, PATCH updates. Nothing leaves
//! 127.0.0.1.

use hrport_sandbox::scim::Sim as Scim;

use crate::util::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A report listed before her manager, managers named by user name (three
/// levels: Ana, then Bo, Di and Ed, then Cy), and groups the tenant has
/// (Staff) and has not (Night Shift).
fn team(w: &Work) -> std::path::PathBuf {
    w.write(
        "team.csv",
        csv_text(&[
            "User Name,Given Name,Family Name,Email,Employee Number,Department,Manager,Groups",
            "bo.chen,Bo,Chen,bo@example.com,E2,Ops,ana.silva,Staff",
            "ana.silva,Ana,Silva,ana@example.com,E1,Ops,,Staff; Night Shift",
            "cy.diaz,Cy,Diaz,cy@example.com,E3,Days,bo.chen,Night Shift",
            "di.eze,Di,Eze,di@example.com,E4,Ops,ana.silva,",
            "ed.fox,Ed,Fox,ed@example.com,E5,Ops,ana.silva,Staff",
        ]),
    )
}

fn user(sb: &Sandbox, name: &str) -> Value {
    sb.with(|s: &mut Scim| s.user_by_name(name)).unwrap_or_else(|| panic!("no user {name}"))
}

fn members(sb: &Sandbox, group: &str) -> Vec<String> {
    let g = sb.with(|s: &mut Scim| s.group_by_name(group)).expect("group");
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn ids(sb: &Sandbox, names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> =
        names.iter().map(|n| user(sb, n)["id"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

fn assert_team(sb: &Sandbox) {
    let (ana, bo, cy) = (user(sb, "ana.silva"), user(sb, "bo.chen"), user(sb, "cy.diaz"));
    assert_eq!(ana["name"]["givenName"], "Ana");
    assert_eq!(ana["emails"][0]["value"], "ana@example.com");
    assert_eq!(ana[ENTERPRISE]["employeeNumber"], "E1");
    assert_eq!(bo[ENTERPRISE]["manager"]["value"], ana["id"], "manager created first");
    assert_eq!(cy[ENTERPRISE]["manager"]["value"], bo["id"]);
    assert_eq!(cy[ENTERPRISE]["department"], "Days");
    assert_eq!(user(sb, "ed.fox")[ENTERPRISE]["manager"]["value"], ana["id"]);
    assert_eq!(members(sb, "Staff"), ids(sb, &["ana.silva", "bo.chen", "ed.fox"]));
    assert_eq!(members(sb, "Night Shift"), ids(sb, &["ana.silva", "cy.diaz"]));
}

#[test]
fn a_team_goes_in_by_bulk_with_managers_and_groups_and_a_rerun_sends_nothing() {
    let w = Work::new();
    let sb = sandbox();
    let file = team(&w);
    let r = import_to(&sb, "scim", &file, &w.path("o1"), &[], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no group named \"Night Shift\""), "{}", r.stderr);
    assert_eq!(sb.with(|s: &mut Scim| s.users().len()), 0, "nothing sent while a row is invalid");

    let r = import_to(&sb, "scim", &file, &w.path("o2"), &["--create-groups"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("scim: 5 rows: 5 created"), "{}", r.stdout);
    assert_team(&sb);
    let requests = sb.with(|s: &mut Scim| std::mem::take(&mut s.requests));
    // Ana alone, then her three reports in one bulk request, then Cy.
    let bulk = requests.iter().filter(|r| *r == "POST /v2/Bulk").count();
    let single = requests.iter().filter(|r| *r == "POST /v2/Users").count();
    assert_eq!((bulk, single), (1, 2), "{requests:?}");
    let rows = rows_by_name(&w.path("o2/results.csv"));
    assert_eq!(rows[1]["hrport_id"], user(&sb, "ana.silva")["id"].as_str().unwrap());

    let r = import_to(&sb, "scim", &file, &w.path("o3"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let st: Vec<String> =
        statuses(&w.path("o3/results.csv")).into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(st, ["unchanged"; 5]);
    let requests = sb.with(|s: &mut Scim| s.requests.clone());
    assert!(requests.iter().all(|r| r.starts_with("GET ")), "a rerun only reads: {requests:?}");
}

#[test]
fn without_bulk_etags_or_patch_bodies_each_row_is_its_own_request_and_changes_are_patched() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Scim| {
        s.bulk_supported = false;
        s.etag_supported = false;
        s.patch_returns_resource = false;
        // Listing the tenant takes several pages.
        s.max_results = 2;
    });
    let file = team(&w);
    let r = import_to(&sb, "scim", &file, &w.path("o1"), &["--create-groups"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_team(&sb);
    let requests = sb.with(|s: &mut Scim| std::mem::take(&mut s.requests));
    assert_eq!(requests.iter().filter(|r| *r == "POST /v2/Users").count(), 5, "{requests:?}");
    assert!(!requests.iter().any(|r| r.contains("/Bulk")), "{requests:?}");

    // Cy moves to Nights; the others are unchanged.
    let edited = std::fs::read_to_string(&file).unwrap().replace("E3,Days", "E3,Nights");
    let file = w.write("team2.csv", edited);
    let r = import_to(&sb, "scim", &file, &w.path("o2"), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let st: Vec<String> =
        statuses(&w.path("o2/results.csv")).into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(st, ["unchanged", "unchanged", "updated", "unchanged", "unchanged"]);
    assert_eq!(user(&sb, "cy.diaz")[ENTERPRISE]["department"], "Nights");
    let requests = sb.with(|s: &mut Scim| s.requests.clone());
    let cy = user(&sb, "cy.diaz")["id"].as_str().unwrap().to_string();
    assert!(requests.contains(&format!("PATCH /v2/Users/{cy}")), "{requests:?}");
}

#[test]
fn a_bulk_request_whose_answer_is_lost_ends_with_every_row_created_once() {
    // The service applies the Bulk request, then a gateway answers 502.
    // Sending its rows again one by one would clash with the users it made
    // ("userName already taken"): each is looked up first instead.
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Scim| s.lose_bulk_answers = 1);
    let before = sb.with(|s: &mut Scim| s.users().len());
    let n = 30;
    let mut lines = vec!["User Name,Given Name,Family Name,Email".to_string()];
    lines.extend((0..n).map(|i| format!("u{i},U{i},Lost,u{i}@example.com")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = w.write("many.csv", csv_text(&refs));
    let out = w.path("out");
    let r = import_to(&sb, "scim", &file, &out, &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");

    let requests = sb.with(|s: &mut Scim| s.requests.clone());
    let bulk = requests.iter().filter(|r| r.as_str() == "POST /v2/Bulk").count();
    assert_eq!(bulk, 1, "one Bulk request: {requests:?}");
    let after: Vec<&String> =
        requests.iter().skip_while(|r| r.as_str() != "POST /v2/Bulk").collect();
    let lookups = after.iter().filter(|r| r.starts_with("GET /v2/Users")).count();
    assert!(lookups >= n, "each row was looked up after the lost answer: {requests:?}");
    assert!(!after.iter().any(|r| r.as_str() == "POST /v2/Users"), "none sent again: {requests:?}");
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), n);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            (row["hrport_status"].as_str(), row["hrport_error"].as_str()),
            ("created", ""),
            "u{i}"
        );
        assert_eq!(row["hrport_id"], user(&sb, &format!("u{i}"))["id"].as_str().unwrap(), "u{i}");
    }
    assert_eq!(sb.with(|s: &mut Scim| s.users().len()), before + n, "nothing else created");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["recovered_lost_answers"], json!(n), "{summary}");
}

#[test]
fn a_user_added_by_someone_else_after_the_start_is_updated_not_refused() {
    // Between hrport's listing at the start and the row's turn, another
    // system creates the user: the filter just before creating finds her.
    for bulk in [true, false] {
        let w = Work::new();
        let sb = sandbox();
        sb.with(|s: &mut Scim| s.bulk_supported = bulk);
        let file = w.write(
            "u.csv",
            csv_text(&[
                "User Name,Given Name,Family Name,Title",
                "early.bird,Early,Bird,Guard",
                "new.one,New,One,Guard",
            ]),
        );
        // --rate 4 leaves 250 ms between requests: time to add the user
        // after the start's listing and before the row's turn.
        let sb2 = &sb;
        let seeded = std::thread::scope(|scope| {
            let t = scope
                .spawn(|| import_to(sb2, "scim", &file, &w.path("out"), &["--rate", "4"], &[]));
            // Wait for the start's listing, then add the user behind its back.
            while !sb2.with(|s: &mut Scim| s.requests.iter().any(|r| r == "GET /v2/Groups")) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let id = sb2.with(|s: &mut Scim| {
                s.add_user(
                    json!({"schemas": [USER_SCHEMA], "userName": "early.bird", "title": "Trainee"}),
                )
            });
            (t.join().unwrap(), id)
        });
        let (r, id) = seeded;
        let id = id.expect("seeded");
        assert_eq!(r.code, 0, "bulk {bulk}: {r:?}");
        let st = statuses(&w.path("out/results.csv"));
        assert_eq!((st[0].1.as_str(), st[1].1.as_str()), ("updated", "created"), "bulk {bulk}");
        assert_eq!(rows_by_name(&w.path("out/results.csv"))[0]["hrport_id"], id);
        assert_eq!(user(&sb, "early.bird")["title"], "Guard", "bulk {bulk}");
        assert_eq!(sb.with(|s: &mut Scim| s.users().len()), 2, "bulk {bulk}");
    }
}

#[test]
fn without_resource_types_the_schemas_say_whether_enterprise_fields_can_go() {
    for published in [true, false] {
        let w = Work::new();
        let sb = sandbox();
        sb.with(|s: &mut Scim| {
            s.resource_types_endpoint = false;
            s.enterprise_schema = published;
        });
        let file = w.write(
            "u.csv",
            csv_text(&["User Name,Given Name,Family Name,Department", "kim,Kim,Lee,Ops"]),
        );
        let out = w.path("out");
        let r = import_to(&sb, "scim", &file, &out, &[], &[]);
        let requests = sb.with(|s: &mut Scim| s.requests.clone());
        assert!(requests.iter().any(|r| r == "GET /v2/Schemas"), "{requests:?}");
        let st = statuses(&out.join("results.csv"));
        if published {
            assert_eq!(r.code, 0, "{r:?}");
            assert_eq!(user(&sb, "kim")[ENTERPRISE]["department"], "Ops");
        } else {
            assert_eq!(r.code, 1, "{r:?}");
            assert_eq!(
                st[0].2,
                "Department: this SCIM service has no enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User) to hold it"
            );
            assert!(sb.with(|s: &mut Scim| s.user_by_name("kim")).is_none());
        }
    }
}

/// The team, created by a normal import, and a session connected to the
/// sandbox as an import connects it.
fn team_in(w: &Work, sb: &Sandbox) -> Connected {
    let r = import_to(sb, "scim", &team(w), &w.path("o"), &["--create-groups"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    connect(sb, "scim")
}

/// A user without `meta` (its version and time move with every change).
fn state(sb: &Sandbox, name: &str) -> Value {
    let mut u = user(sb, name);
    u.as_object_mut().unwrap().remove("meta");
    u
}

fn patches(sb: &Sandbox, id: &str) -> usize {
    let wanted = format!("PATCH /v2/Users/{id}");
    sb.with(|s: &mut Scim| s.requests.iter().filter(|r| **r == wanted).count())
}

const HEADER: &str = "User Name,Given Name,Family Name,Email,Phone,Title,Employee Number,Department,Manager,Active,Groups";

#[test]
fn update_patches_exactly_the_changed_attributes_with_if_match() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = team_in(&w, &sb);
    let bo = user(&sb, "bo.chen");
    let id = bo["id"].as_str().unwrap().to_string();
    let before = state(&sb, "bo.chen");
    // New e-mail, title, department and manager; the phone differs too and
    // the row names another group, but neither is among the changed fields.
    let sheet = Sheet::new(
        "scim",
        HEADER,
        &["bo.chen,Bo,Chen,bo.chen@example.com,+1 555 0101,Lead,E2,Nights,di.eze,,Night Shift"],
    );
    let values = sheet.values(0, c.session.as_ref());
    let manager = sheet.field("Manager");
    let people = vec![(manager, c.session.person("di.eze").expect("Di is known"))];
    let row = RowInput { row: 2, values: &values, existing: None, people: &people };
    let changed = [sheet.field("Email"), sheet.field("Title"), sheet.field("Department"), manager];
    assert!(changed.iter().all(|f| c.session.updatable().contains(f)));
    for not in ["Active", "Groups"] {
        assert!(!c.session.updatable().contains(&sheet.field(not)), "{not}");
    }
    assert_eq!(c.session.update(&c.api, &id, &row, &changed), Outcome::Updated { id: id.clone() });
    assert_eq!(patches(&sb, &id), 1, "one PATCH");
    let mut want = before.clone();
    want["emails"][0]["value"] = json!("bo.chen@example.com");
    want["title"] = json!("Lead");
    want[ENTERPRISE]["department"] = json!("Nights");
    let (old, di) = (&before[ENTERPRISE]["manager"], user(&sb, "di.eze")["id"].clone());
    let old_ref = old["$ref"].as_str().unwrap();
    let new_ref = old_ref.replace(old["value"].as_str().unwrap(), di.as_str().unwrap());
    want[ENTERPRISE]["manager"] = json!({"value": di, "$ref": new_ref});
    assert_eq!(state(&sb, "bo.chen"), want, "nothing else changed");
    assert_eq!(members(&sb, "Night Shift"), ids(&sb, &["ana.silva", "cy.diaz"]), "no group added");

    // Someone changes Bo after hrport read him: the PATCH carries the
    // version read at the start, the service answers 412, and hrport reads
    // him again and sends only what still differs, keeping their change.
    use hrport::transport::Request;
    let theirs = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Bo C."}]});
    c.api
        .send(
            &Request::patch(format!("/Users/{id}"), theirs)
                .header("Content-Type", "application/scim+json"),
        )
        .expect("their change");
    let sheet = Sheet::new("scim", HEADER, &["bo.chen,Bo,Chen,,,Lead Guard,E2,,,,"]);
    let values = sheet.values(0, c.session.as_ref());
    let row = RowInput { row: 2, values: &values, existing: None, people: &[] };
    assert_eq!(
        c.session.update(&c.api, &id, &row, &[sheet.field("Title")]),
        Outcome::Updated { id: id.clone() }
    );
    let bo = user(&sb, "bo.chen");
    assert_eq!(
        (bo["title"].as_str(), bo["displayName"].as_str()),
        (Some("Lead Guard"), Some("Bo C."))
    );
    assert_eq!(patches(&sb, &id), 4, "theirs, and hrport's twice: refused (412), then sent again");
    assert!(
        c.session
            .notes()
            .iter()
            .any(|n| n.contains("1 user was changed on the service during the run (HTTP 412)")),
        "{:?}",
        c.session.notes()
    );
}

#[test]
fn a_patch_the_service_refuses_fails_the_row_with_its_message() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = team_in(&w, &sb);
    let id = user(&sb, "cy.diaz")["id"].as_str().unwrap().to_string();
    let before = sb.with(|s: &mut Scim| s.users());
    // Cy renamed to Bo's user name.
    let sheet = Sheet::new("scim", HEADER, &["bo.chen,,,,,,E3,,,,"]);
    let values = sheet.values(0, c.session.as_ref());
    let row = RowInput { row: 2, values: &values, existing: None, people: &[] };
    let outcome = c.session.update(&c.api, &id, &row, &[sheet.field("User Name")]);
    let Outcome::Failed { id: Some(failed), message, unavailable: false } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(failed, &id);
    assert!(
        message.starts_with("update user: ") && message.ends_with("(uniqueness) (HTTP 409)"),
        "{message}"
    );
    let after = sb.with(|s: &mut Scim| s.users());
    assert_eq!(after, before, "nothing changed");
}

#[test]
fn set_active_deactivates_and_reactivates_with_one_patch_each() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = team_in(&w, &sb);
    let id = user(&sb, "ed.fox")["id"].as_str().unwrap().to_string();
    let before = state(&sb, "ed.fox");
    let sheet = Sheet::new("scim", "User Name,Active", &["ed.fox,no", "ed.fox,", "ed.fox,yes"]);
    let (leaver, blank, back) = (
        sheet.values(0, c.session.as_ref()),
        sheet.values(1, c.session.as_ref()),
        sheet.values(2, c.session.as_ref()),
    );
    assert_eq!(c.session.wants_active(&leaver), Some(false));
    assert_eq!(c.session.wants_active(&blank), None, "a blank cell leaves the state alone");
    assert_eq!(c.session.wants_active(&back), Some(true));
    let row = RowInput { row: 2, values: &leaver, existing: None, people: &[] };
    assert_eq!(c.session.set_active(&c.api, &id, false, &row), Outcome::Updated { id: id.clone() });
    assert_eq!(user(&sb, "ed.fox")["active"], json!(false));
    let mut want = before.clone();
    want["active"] = json!(false);
    assert_eq!(state(&sb, "ed.fox"), want, "only active changed");
    // The session read Ed as active at the start; the re-read after the
    // 412 sees him inactive and sends the way back.
    let row = RowInput { row: 4, values: &back, existing: None, people: &[] };
    assert_eq!(c.session.set_active(&c.api, &id, true, &row), Outcome::Updated { id: id.clone() });
    // Created without an `active` value, he now says true outright.
    want["active"] = json!(true);
    assert_eq!(state(&sb, "ed.fox"), want);
    assert_eq!(sb.with(|s: &mut Scim| s.users().len()), 5, "nothing created or deleted");
}

#[test]
fn without_patch_an_update_puts_the_user_back_whole_with_only_the_changes() {
    use hrport::targets::{Outcome, RowInput};
    let w = Work::new();
    let sb = sandbox();
    let c = {
        let r = import_to(&sb, "scim", &team(&w), &w.path("o"), &["--create-groups"], &[]);
        assert_eq!(r.code, 0, "{r:?}");
        sb.with(|s: &mut Scim| s.patch_supported = false);
        connect(&sb, "scim")
    };
    let id = user(&sb, "cy.diaz")["id"].as_str().unwrap().to_string();
    let before = state(&sb, "cy.diaz");
    let sheet = Sheet::new("scim", HEADER, &["cy.diaz,,,,,Night Lead,E3,,di.eze,,"]);
    let values = sheet.values(0, c.session.as_ref());
    let manager = sheet.field("Manager");
    let people = vec![(manager, c.session.person("di.eze").unwrap())];
    let row = RowInput { row: 2, values: &values, existing: None, people: &people };
    let changed = [sheet.field("Title"), manager];
    sb.with(|s: &mut Scim| s.requests.clear());
    assert_eq!(c.session.update(&c.api, &id, &row, &changed), Outcome::Updated { id: id.clone() });
    let requests = sb.with(|s: &mut Scim| s.requests.clone());
    assert_eq!(requests, [format!("PUT /v2/Users/{id}")]);
    let mut want = before.clone();
    want["title"] = json!("Night Lead");
    let (old, di) = (&before[ENTERPRISE]["manager"], user(&sb, "di.eze")["id"].clone());
    let new_ref =
        old["$ref"].as_str().unwrap().replace(old["value"].as_str().unwrap(), di.as_str().unwrap());
    want[ENTERPRISE]["manager"] = json!({"value": di, "$ref": new_ref});
    assert_eq!(state(&sb, "cy.diaz"), want, "nothing else changed");
    // A change of a core attribute alone keeps the enterprise extension.
    let sheet = Sheet::new("scim", HEADER, &["cy.diaz,,,,,Night Lead 2,E3,,,,"]);
    let values = sheet.values(0, c.session.as_ref());
    let row = RowInput { row: 2, values: &values, existing: None, people: &[] };
    let outcome = c.session.update(&c.api, &id, &row, &[sheet.field("Title")]);
    assert_eq!(outcome, Outcome::Updated { id: id.clone() });
    want["title"] = json!("Night Lead 2");
    assert_eq!(state(&sb, "cy.diaz"), want, "the extension kept");
}
