//! Export and the export -> import round trip, against the in-process
//! sandbox only.

use crate::util::*;

fn export(sb: &Sandbox, file: &std::path::Path, extra: &[&str]) -> Run {
    Hrport::export()
        .target("tracktik")
        .base_url(tt_url(sb))
        .output(file)
        .arg("--rate", "500")
        .args(extra)
        .envs(&TT_ENV)
        .run()
}

fn import_sample(sb: &Sandbox, w: &Work) {
    let r = import(sb, &samples().join("tracktik-new-hires.csv"), &w.path("first"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(employees(sb).len(), 45);
}

#[test]
fn an_export_holds_every_employee_in_the_import_columns_and_reimports_as_nothing_to_do() {
    let w = Work::new();
    let sb = sandbox();
    import_sample(&sb, &w);
    let file = w.path("people.csv");
    let r = export(&sb, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.trim(), format!("tracktik: exported 45 people to {}", file.display()));
    let table = read_csv(&file);
    let header: Vec<&str> = table[0].iter().map(String::as_str).collect();
    assert_eq!(
        header[..7],
        ["ID", "Employee ID", "First Name", "Middle Name", "Last Name", "Username", "Email"]
    );
    assert!(
        header.contains(&"Region")
            && header.contains(&"Role")
            && header.contains(&"Temporary Password")
            && header.ends_with(&["Status", "Termination Date", "Termination Reason"])
    );
    assert_eq!(table.len(), 46);
    let rows = rows_by_name(&file);
    let ana = rows.iter().find(|r| r["Email"] == "ana.silva0@example.com").expect("Ana exported");
    assert_eq!(ana["Employee ID"], "000451");
    assert_eq!(ana["Region"], "Head Office");
    assert_eq!(ana["Role"], "Guard");
    assert_eq!(ana["Primary Phone"], "'+1 555 0100");
    assert_eq!(ana["Employment Date"], "2026-12-01");
    assert_eq!(ana["Hourly Rate"], "18.5");
    assert_eq!(ana["City"], "Toronto");
    assert_eq!(ana["Force Password Change"], "yes");
    assert_eq!(ana["Temporary Password"], "");
    let ana_id = employee_by_email(&sb, "ana.silva0@example.com").unwrap()["id"].to_string();
    assert_eq!(ana["ID"], ana_id);
    assert_eq!(ana["Status"], "Active");
    assert_eq!((ana["Termination Date"].as_str(), ana["Termination Reason"].as_str()), ("", ""));

    let creates_before = sb.with(|s: &mut Sim| s.counters.creates);
    let r = import(&sb, &file, &w.path("again"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("45 rows: 45 unchanged, 0 invalid, 0 failed"), "{}", r.stdout);
    assert_eq!(sb.with(|s: &mut Sim| s.counters.creates), creates_before, "nothing created");
    assert!(
        !r.stderr.contains("warning"),
        "the export's columns are all import columns: {}",
        r.stderr
    );
}

#[test]
fn an_xlsx_export_keeps_ids_as_text_and_reimports_as_nothing_to_do() {
    let w = Work::new();
    let sb = sandbox();
    import_sample(&sb, &w);
    let file = w.path("people.xlsx");
    let r = export(&sb, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    // Read it back as the import does and look at the cells.
    let r = Hrport::import(&file).target("tracktik").flag("--dry-run").out(w.path("dry")).run();
    assert_eq!(r.code, 0, "{r:?}");
    let rows = rows_by_name(&w.path("dry").join("results.csv"));
    assert_eq!(rows.len(), 45);
    let ana = rows.iter().find(|r| r["Email"] == "ana.silva0@example.com").unwrap();
    assert_eq!(ana["Employee ID"], "000451");
    assert_eq!(ana["Employment Date"], "2026-12-01");
    assert_eq!(ana["Birthday"], "1970-01-01");
    assert_eq!(ana["Weekly Hours Target"], "40");

    let r = import(&sb, &file, &w.path("again"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("45 unchanged"), "{}", r.stdout);
    assert_eq!(employees(&sb).len(), 45);
}

#[test]
fn export_pages_through_thousands_and_leaves_out_terminated_unless_asked() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| {
        for i in 0..2345 {
            let status = if i % 100 == 0 { "TERMINATED" } else { "ACTIVE" };
            s.seed_employee(json!({"customId": i.to_string(), "firstName": format!("P{i}"), "lastName": "X", "email": format!("p{i}@example.com"), "region": 4, "status": status}));
        }
    });
    let file = w.path("all.csv");
    let r = export(&sb, &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(read_csv(&file).len() - 1, 2345 - 24);
    let r = export(&sb, &w.path("with.csv"), &["--include-terminated"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(read_csv(&w.path("with.csv")).len() - 1, 2345);

    // The existing-record index is loaded across pages too.
    let f = w.write(
        "h.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Region,Role",
            "2301,P,X,new@example.com,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &f, &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    // Found by its Employee ID; its name and e-mail are the row's now.
    let rows = rows_by_name(&w.path("o/results.csv"));
    assert_eq!(rows[0]["hrport_status"], "updated");
    assert!(rows[0]["hrport_changes"].starts_with("First Name: "), "{:?}", rows[0]);
}

#[test]
fn export_refuses_an_unknown_file_type_before_connecting() {
    let w = Work::new();
    let sb = sandbox();
    let r = export(&sb, &w.path("people.json"), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("must end in .csv or .xlsx"), "{}", r.stderr);
    assert_eq!(sb.with(|s: &mut Sim| s.counters.requests), 0);
}

#[test]
fn export_never_overwrites_a_file_unless_forced() {
    let w = Work::new();
    let sb = sandbox();
    import_sample(&sb, &w);
    let file = w.write("people.csv", "last week's export\n");
    let requests = sb.with(|s: &mut Sim| s.counters.requests);
    let r = export(&sb, &file, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr,
        format!(
            "hrport: error: {} exists already; not overwriting it (give --force to replace it)\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "last week's export\n");
    assert_eq!(sb.with(|s: &mut Sim| s.counters.requests), requests, "refused before connecting");

    let r = export(&sb, &file, &["--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows = read_csv(&file);
    assert_eq!(rows[0][0], "ID");
    assert_eq!(rows.len(), 1 + employees(&sb).len());
}
