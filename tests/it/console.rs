//! What an import tells a person and a script: the rows the target
//! refused on the console, summary.json's version, times, URL, errors by
//! kind and created groups, `--create-groups`' typo guard, the wording of
//! counts and names, `--target` in any case, and a wrong base URL at
//! sign-in.

use hrport_sandbox::scim::Sim as Scim;

use crate::util::*;

const HEADER: &str = "Employee ID,First Name,Last Name,Email,Region,Role";

fn summary(out: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn refused_rows_are_listed_and_the_summary_tells_version_times_url_and_errors_by_kind() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| s.refuse.push((axum::http::Method::POST, "/user-roles".into(), 400)));
    let file = w.write(
        "h.csv",
        csv_text(&[
            HEADER,
            "E1,Ana,Silva,ana@example.com,EMEA,Guard",
            "E2,Bo,Chen,bo@example,EMEA,Guard",
            "E3,Cy,Diaz,cy@example.com,EMEA,Guard",
        ]),
    );
    let out = w.path("o");
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let r = import(&sb, &file, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let ids: Vec<String> = statuses(&out.join("results.csv"))
        .iter()
        .zip(rows_by_name(&out.join("results.csv")))
        .map(|(_, row)| row["hrport_id"].clone())
        .collect();
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains(" row ")).collect();
    let refused = |row: u32, id: &str| {
        format!(
            "hrport: {} row {row}: failed: assign role: refused by the sandbox's test settings \
             (HTTP 400); employee {id} was created: import this row again to finish it",
            file.display()
        )
    };
    assert_eq!(
        lines,
        [
            format!(
                "hrport: {} row 3: Email: \"bo@example\" is not a valid e-mail address",
                file.display()
            ),
            refused(2, &ids[0]),
            refused(4, &ids[2]),
        ]
    );
    assert!(r.stdout.contains("(3 rows: fix them in Excel"), "{}", r.stdout);

    let s = summary(&out);
    assert_eq!(s["hrport_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["base_url"], tt_url(&sb));
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
    assert!(before <= at("started_at") && at("started_at") <= at("ended_at"), "{s}");
    assert!(at("ended_at") <= chrono::Utc::now());
    assert_eq!(s["errors_by_kind"], json!({"invalid: Email": 1, "failed: refused": 2}));
    assert_eq!(s["groups_created"], json!([]));
}

#[test]
fn one_row_is_one_row_and_the_target_may_be_typed_in_any_case() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("h.csv", csv_text(&[HEADER, "E1,Ana,Silva,ana@example.com,EMEA,Guard"]));
    let r = Hrport::import(&file)
        .target("TrackTik")
        .base_url(tt_url(&sb))
        .out(w.path("o"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    let first = r.stdout.lines().next().unwrap();
    assert!(first.starts_with("tracktik: 1 row: 1 created, 0 invalid, 0 failed in "), "{first}");
    assert!(first.ends_with(" requests, 0 retries)"), "{first}");
    assert_eq!(summary(&w.path("o"))["target"], "tracktik");

    let r = Hrport::new(&["targets", "INTELLIHR"]).run();
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn a_column_intellihr_lacks_is_not_an_intellihr_column() {
    let w = Work::new();
    let file = w.write(
        "p.csv",
        csv_text(&["Employee Number,Last Name,Username,Shoe Size", "E1,Silva,ana,38"]),
    );
    let r = Hrport::import(&file).target("intellihr").out(w.path("o")).flag("--dry-run").run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "hrport: warning: this column is not an intelliHR column, so it is not sent (it is \
             kept in results.csv): \"Shoe Size\""
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn create_groups_lists_what_it_created_and_refuses_a_name_two_letters_from_an_existing_group() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "t.csv",
        csv_text(&[
            "User Name,Given Name,Family Name,Groups",
            "ana,Ana,Silva,Staf",
            "bo,Bo,Chen,Night Shift",
            "cy,Cy,Diaz,Staff",
        ]),
    );
    let out = w.path("o");
    let r = import_to(&sb, "scim", &file, &out, &["--create-groups"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let message = "Groups: no group named \"Staf\", and hrport does not create it: it is within \
                   two letters of the existing group \"Staff\" (fix the name, or create the group \
                   in the service first)";
    assert_eq!(
        statuses(&out.join("results.csv"))[0],
        ("2".into(), "invalid".into(), message.into())
    );
    assert!(r.stderr.contains(&format!("{} row 2: {message}", file.display())), "{}", r.stderr);
    assert!(sb.with(|s: &mut Scim| s.group_by_name("Staf")).is_none(), "no typo group");
    assert!(sb.with(|s: &mut Scim| s.group_by_name("Night Shift")).is_some());
    let s = summary(&out);
    assert_eq!(s["groups_created"], json!(["Night Shift"]));
    assert_eq!(s["errors_by_kind"], json!({"invalid: Groups": 1}));
}

#[test]
fn a_404_at_sign_in_says_the_base_url_is_likely_wrong_not_the_credentials() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("h.csv", csv_text(&[HEADER, "E1,Ana,Silva,ana@example.com,EMEA,Guard"]));
    let wrong = format!("{}/trackteek", sb.url());
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(&wrong)
        .out(w.path("o"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(
        r.stderr.lines().next().unwrap(),
        format!(
            "hrport: error: run aborted: sign-in failed: {wrong}/rest/oauth2/access_token was not found (HTTP \
             404), so --base-url is likely wrong (not the credentials)"
        )
    );
    assert!(!w.path("o").exists(), "nothing written");
}

#[test]
fn a_404_at_a_token_sign_in_says_the_same() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("u.csv", csv_text(&["First Name,Last Name,Username", "Ana,Silva,ana"]));
    let wrong = format!("{}/nothing-here", sb.url());
    let vars = sandbox_env("securitytrax");
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = Hrport::import(&file)
        .target("securitytrax")
        .base_url(&wrong)
        .out(w.path("o"))
        .envs(&vars)
        .run();
    assert_eq!(r.code, 3, "{r:?}");
    let first = r.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("hrport: error: run aborted: sign-in failed: {wrong}/")),
        "{first}"
    );
    assert!(
        first.ends_with(
            " was not found (HTTP 404), so --base-url is likely wrong (not the credentials)"
        ),
        "{first}"
    );
}
