//! Mapping profiles and `hrport profile init`; no test here reaches further
//! than the in-process sandbox.

use crate::util::*;

const THEIRS: &str = "Emp No;Given;Surname;Mail;Contract;Start;Rate;Team\r\n\
                      7;Ana;Silva;ana@example.com;FT;13/02/2026;18,5;north\r\n\
                      8;Bob;Stone;bob@example.com;pt;;;\r\n";

const PROFILE: &str = r#"
target = "tracktik"

[columns]
"Employee ID" = "Emp No"
"first name" = "Given"
"Last Name" = "Surname"
"Email" = "Mail"
"Employee Type" = "Contract"
"Hire Date" = "Start"
"Job Title" = "Team"

[constants]
Region = "EMEA"

[defaults]
Role = "Guard"
"Job Title" = "Guard"

[values."Employee Type"]
FT = "EMPLOYEE"
PT = "PART_TIME"

[dates]
formats = ["%d/%m/%Y"]
"#;

#[test]
fn a_profile_maps_a_customers_own_spreadsheet_onto_the_template() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("theirs.csv", THEIRS);
    let profile = w.write("p.toml", PROFILE);
    let out = w.path("o");
    let r = import(&sb, &file, &out, &["--profile", profile.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    // Rate is not mapped, so it is an unknown column: warned about, kept.
    assert!(r.stderr.contains("this column is not a TrackTik column, so it is not sent (it is kept in results.csv): \"Rate\""), "{}", r.stderr);
    let ana = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(ana["customId"], "7");
    assert_eq!(ana["firstName"], "Ana");
    assert_eq!(ana["region"], json!(4));
    assert_eq!(ana["jobTitle"], "north");
    let bob = employee_by_email(&sb, "bob@example.com").unwrap();
    assert_eq!(bob["jobTitle"], "Guard", "default for an empty cell");
    sb.with(|s: &mut Sim| {
        assert_eq!(s.profile_of(&ana).unwrap()["employeeType"], "EMPLOYEE");
        assert_eq!(s.profile_of(&ana).unwrap()["employmentDate"], "2026-02-13");
        assert_eq!(
            s.profile_of(&bob).unwrap()["employeeType"],
            "PART_TIME",
            "value maps ignore case"
        );
    });
    assert_eq!(role_name_of(&sb, ana["id"].as_u64().unwrap()).as_deref(), Some("Guard"));
}

#[test]
fn profile_mistakes_are_reported_before_anything_is_read_or_sent() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write("theirs.csv", THEIRS);
    let cases = [
        (
            PROFILE.replace("\"Emp No\"", "\"Staff Number\""),
            "[columns] maps Employee ID to \"Staff Number\", but",
        ),
        (
            PROFILE.replace("\"Job Title\" = \"Team\"", "\"Shoe Size\" = \"Team\""),
            "[columns] names \"Shoe Size\", which is not a TrackTik column",
        ),
        (
            PROFILE.replace("target = \"tracktik\"", "target = \"intellihr\""),
            "the profile is for target \"intellihr\", not \"tracktik\"",
        ),
        (
            format!("{PROFILE}\n[options]\nturbo = true\n"),
            "[options] \"turbo\" is not an option of tracktik (options: terminated_statuses, termination_reason, update_method, role_update_method, batch_size, batch_path, batch_operations_key, batch_results_key, batch_roles)",
        ),
        (
            format!("{PROFILE}\n[options]\nterminated_statuses = 3\n"),
            "[options] terminated_statuses must be of type array",
        ),
        (PROFILE.replace("[dates]", "[datez]"), "unknown field `datez`"),
        (PROFILE.replace("%d/%m/%Y", "%d/%m"), "needs a year, a month and a day"),
        ("target = ".to_string(), "profile"),
    ];
    for (text, msg) in cases {
        let p = w.write("bad.toml", &text);
        let r = import(&sb, &file, &w.path("o"), &["--profile", p.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{msg}: {r:?}");
        assert!(r.stderr.contains(msg), "expected {msg:?} in: {}", r.stderr);
    }
    assert_eq!(sb.with(|s: &mut Sim| s.counters.requests), 0, "nothing sent");
}

#[test]
fn profile_init_writes_a_starter_that_imports_as_it_is() {
    let w = Work::new();
    let p = w.path("starter.toml");
    let r = Hrport::new(&["profile", "init"]).target("tracktik").output(&p).run();
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("target = \"tracktik\""));
    assert!(
        text.contains(
            "# \"Employee ID\" = \"\"   # text; also matched: Employee Number, Custom ID"
        ),
        "{text}"
    );
    assert!(text.contains("# \"Region\" = \"\"   # required; region name or id"), "{text}");
    assert!(text.contains("# terminated_statuses = [\"TERMINATED\"]"), "{text}");
    // As written (everything commented out) it is a valid, empty profile.
    let sb = sandbox();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role",
            "Ana,Silva,ana@example.com,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &file, &w.path("o"), &["--profile", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    // It never overwrites a file.
    let r = Hrport::new(&["profile", "init"]).target("tracktik").output(&p).run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("exists already"), "{}", r.stderr);
    let r = Hrport::new(&["profile", "init"]).target("tracktik").run();
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, text, "without --output it goes to stdout");
}

#[test]
fn a_profile_column_the_file_lacks_is_fine_when_the_file_has_the_template_column() {
    let w = Work::new();
    let sb = sandbox();
    // The profile was written for "Emp No"; this file already says "Employee ID".
    let file = w.write(
        "ours.csv",
        "Employee ID;Given;Surname;Mail;Contract;Start;Team\r\n\
         000732;Ana;Silva;ana@example.com;FT;13/02/2026;north\r\n",
    );
    let profile = w.write("p.toml", PROFILE);
    let r = import(&sb, &file, &w.path("o"), &["--profile", profile.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(employee_by_email(&sb, "ana@example.com").unwrap()["customId"], "000732");

    // Neither their column nor ours: still an error.
    let file = w.write("neither.csv", "Staff;Given;Surname;Mail\r\n1;Ana;Silva;a@example.com\r\n");
    let r = import(&sb, &file, &w.path("o2"), &["--profile", profile.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("[columns] maps Employee ID to \"Emp No\", but"), "{}", r.stderr);
}

#[test]
fn a_constant_that_a_rows_own_cell_contradicts_is_a_warning_and_the_constant_wins() {
    let w = Work::new();
    let sb = sandbox();
    let file = w.write(
        "theirs.csv",
        "Emp No;Given;Surname;Mail;Contract;Start;Team;Region\r\n\
         7;Ana;Silva;ana@example.com;FT;;north;EMEA\r\n\
         8;Bob;Stone;bob@example.com;FT;;north;APAC\r\n\
         9;Cy;Diaz;cy@example.com;FT;;north;\r\n\
         10;Di;Eze;di@example.com;FT;;north;emea\r\n",
    );
    let profile = w.write("p.toml", PROFILE);
    let r = import(&sb, &file, &w.path("o"), &["--profile", profile.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        [format!(
            "hrport: warning: the profile's [constants] Region = \"EMEA\" overrides the file's own \
             column \"Region\", which says otherwise in 1 row of {} (row 3); remove the constant \
             or the column if that is not meant",
            file.display()
        )]
    );
    let bob = employee_by_email(&sb, "bob@example.com").unwrap();
    assert_eq!(
        sb.with(|s: &mut Sim| s.region_name(bob["region"].as_u64().unwrap()).map(str::to_string))
            .as_deref(),
        Some("EMEA")
    );
}
