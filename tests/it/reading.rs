//! Reading files: encodings, delimiters, quoting, workbooks and cell types.
//! Mostly `--dry-run`, which sends nothing; the rest goes to the in-process
//! sandbox.

use crate::util::*;

fn dry_run(file: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Run {
    Hrport::import(file).target("tracktik").flag("--dry-run").out(out).args(extra).run()
}

/// Column `name` of every row of a results file.
fn column(out: &std::path::Path, name: &str) -> Vec<String> {
    rows_by_name(&out.join("results.csv")).into_iter().map(|r| r[name].clone()).collect()
}

const PEOPLE: &str = "First Name\tLast Name\tEmail\tRegion\tRole\r\nChloé\tMüller\tchloe@example.com\tEMEA\tGuard\r\nSøren\tØdegård\tsoren@example.com\tAPAC\tGuard\r\n";

fn summary(out: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn utf8_with_and_without_bom() {
    let w = Work::new();
    let text = PEOPLE.replace('\t', ",");
    let with = w.write("with.csv", [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat());
    let without = w.write("without.csv", text.as_bytes());
    for (f, o) in [(with, "o1"), (without, "o2")] {
        let r = dry_run(&f, &w.path(o), &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(column(&w.path(o), "First Name"), ["Chloé", "Søren"]);
        assert_eq!(
            read_csv(&w.path(o).join("results.csv"))[0][0],
            "First Name",
            "the BOM is not part of the header"
        );
        assert!(!r.stderr.contains("UTF-8"), "{}", r.stderr);
    }
}

#[test]
fn utf16_with_bom_as_excel_unicode_text_is_imported() {
    let w = Work::new();
    let sb = sandbox();
    let le: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(PEOPLE.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(
            PEOPLE
                .replace("chloe@", "chloe2@")
                .replace("soren@", "soren2@")
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        )
        .collect();
    // One worker, so the employees are created (and numbered) in file order.
    let one = ["--concurrency", "1"];
    let r = import(&sb, &w.write("le.txt", le), &w.path("le"), &one);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(summary(&w.path("le"))["read_as"], "delimited text, UTF-16LE, delimiter TAB");
    let r = import(&sb, &w.write("be.txt", be), &w.path("be"), &one);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(summary(&w.path("be"))["read_as"], "delimited text, UTF-16BE, delimiter TAB");
    let names: Vec<String> = employees(&sb)
        .iter()
        .map(|e| {
            format!("{} {}", e["firstName"].as_str().unwrap(), e["lastName"].as_str().unwrap())
        })
        .collect();
    assert_eq!(names, ["Chloé Müller", "Søren Ødegård", "Chloé Müller", "Søren Ødegård"]);
}

#[test]
fn windows_1252_given_or_detected() {
    let w = Work::new();
    let text = PEOPLE.replace('\t', ";");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let f = w.write("ansi.csv", bytes.as_ref());
    let r = dry_run(&f, &w.path("given"), &["--encoding", "windows-1252"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("not valid UTF-8"), "{}", r.stderr);
    assert_eq!(column(&w.path("given"), "Last Name"), ["Müller", "Ødegård"]);

    let r = dry_run(&f, &w.path("auto"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "ansi.csv is not valid UTF-8 (first bad byte on line 2); reading it as Windows-1252"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(column(&w.path("auto"), "Last Name"), ["Müller", "Ødegård"]);
    assert_eq!(summary(&w.path("auto"))["read_as"], "delimited text, windows-1252, delimiter ';'");

    let r = dry_run(&f, &w.path("bad"), &["--encoding", "klingon"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--encoding \"klingon\" is not an encoding name"), "{}", r.stderr);
}

#[test]
fn a_bad_byte_far_into_a_file_restarts_the_read_as_windows_1252() {
    let w = Work::new();
    let mut text = String::from("First Name,Last Name,Email,Region,Role\n");
    for i in 0..2000 {
        text.push_str(&format!("P{i},Plain,p{i}@example.com,EMEA,Guard\n"));
    }
    assert!(text.len() > 64 * 1024, "past the part checked up front");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"Zo\xe9,Caf\xe9,zoe@example.com,EMEA,Guard\n");
    bytes.extend_from_slice(b"Nul,Byte\x00,nul@example.com,EMEA,Guard\n");
    let f = w.write("late.csv", bytes);
    let out = w.path("o");
    let r = dry_run(&f, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the file is not valid UTF-8 after all; reading it again as Windows-1252"),
        "{}",
        r.stderr
    );
    let rows = rows_by_name(&out.join("results.csv"));
    assert_eq!(rows.len(), 2002);
    assert_eq!(
        (rows[2000]["First Name"].as_str(), rows[2000]["Last Name"].as_str()),
        ("Zoé", "Café")
    );
    assert_eq!(rows[2001]["hrport_status"], "invalid");
    assert_eq!(rows[2001]["hrport_row"], "2003");
    assert_eq!(rows[2001]["hrport_error"], "a cell holds a NUL character (binary data?)");
}

#[test]
fn delimiters_are_detected_or_given() {
    let w = Work::new();
    for (name, d) in [("comma.csv", ","), ("semi.csv", ";"), ("pipe.csv", "|"), ("tab.tsv", "\t")] {
        let f = w.write(name, PEOPLE.replace('\t', d));
        let r = dry_run(&f, &w.path(name).with_extension("out"), &[]);
        assert_eq!(r.code, 0, "{name}: {r:?}");
        assert_eq!(
            column(&w.path(name).with_extension("out"), "Email"),
            ["chloe@example.com", "soren@example.com"],
            "{name}"
        );
    }
    // A semicolon file whose values contain commas, delimiter given.
    let f = w.write("given.csv", "First Name;Last Name;Email;Region;Role;Job Title\nAna;Silva;ana@example.com;EMEA;Guard;Guard, nights\n");
    let r = dry_run(&f, &w.path("given"), &["--delimiter", ";"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(column(&w.path("given"), "Job Title"), ["Guard, nights"]);
    let r = dry_run(&f, &w.path("x"), &["--delimiter", "ab"]);
    assert_eq!(r.code, 2);
}

#[test]
fn quoted_fields_blank_lines_and_row_numbers_match_excel() {
    let w = Work::new();
    let f = w.write(
        "q.csv",
        "First Name,Last Name,Email,Region,Role,Job Title\r\n\
         Ana,Silva,ana@example.com,EMEA,Guard,\"Guard, \"\"night\"\" shift\r\nsecond line\"\r\n\
         \r\n\
         ,,,,,\r\n\
         Bob,Stone,bob@example,EMEA,Guard,x\r\n\
         Cy,Ray,cy@example.com,EMEA\r\n",
    );
    let out = w.path("o");
    let r = dry_run(&f, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            ("2".into(), "skipped".into(), "".into()),
            ("5".into(), "invalid".into(), "Email: \"bob@example\" is not a valid e-mail address".into()),
            (
                "6".into(),
                "invalid".into(),
                "the row has 4 fields but the header has 6 columns; check for a missing delimiter or an unclosed quote; Role is required".into()
            ),
        ]
    );
    assert_eq!(column(&out, "Job Title")[0], "Guard, \"night\" shift\r\nsecond line");
    assert!(r.stdout.contains("3 rows"), "blank rows are not counted: {}", r.stdout);
}

#[test]
fn header_matching_ignores_case_spacing_and_punctuation_and_knows_aliases() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.write(
        "h.csv",
        csv_text(&[
            "first_name, LAST NAME ,E-mail Address,ZIP CODE,Start Date,region,ROLE,Shoe Size,Favourite Colour,hrport_status,hrport_error",
            "Ana,Silva,ana@example.com,1100-001,2026-12-01,EMEA,Guard,38,blue,failed,old message",
        ]),
    );
    let out = w.path("o");
    let r = import(&sb, &f, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        [
            "hrport: warning: these columns are not TrackTik columns, so they are not sent (they are kept in results.csv): \"Shoe Size\", \"Favourite Colour\""
        ]
    );
    let ana = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(ana["firstName"], "Ana");
    sb.with(|s: &mut Sim| {
        assert_eq!(s.address_of(&ana).unwrap()["postalCode"], "1100-001");
        assert_eq!(s.profile_of(&ana).unwrap()["employmentDate"], "2026-12-01");
    });
    let header = &read_csv(&out.join("results.csv"))[0];
    assert_eq!(
        header,
        &[
            "first_name",
            "LAST NAME",
            "E-mail Address",
            "ZIP CODE",
            "Start Date",
            "region",
            "ROLE",
            "Shoe Size",
            "Favourite Colour",
            "hrport_row",
            "hrport_status",
            "hrport_action",
            "hrport_id",
            "hrport_changes",
            "hrport_error"
        ]
        .map(String::from)
    );
    assert_eq!(column(&out, "Shoe Size"), ["38"]);

    let twice = w.write(
        "t.csv",
        csv_text(&[
            "First Name,Last Name,Email,Work Email,Region,Role",
            "A,B,a@example.com,b@example.com,EMEA,Guard",
        ]),
    );
    let r = import(&sb, &twice, &w.path("t"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("columns \"Email\", \"Work Email\" all mean Email"), "{}", r.stderr);
}

#[test]
fn a_guarded_cell_is_unguarded_once_on_import_and_guarded_again_on_output() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.write(
        "g.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role,Job Title,Primary Phone",
            "Ana,Silva,ana@example.com,EMEA,Guard,'=1+2,'+1 555 0100",
        ]),
    );
    let out = w.path("o");
    let r = import(&sb, &f, &out, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let ana = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(ana["jobTitle"], "=1+2");
    assert_eq!(ana["primaryPhone"], "+1 555 0100");
    assert_eq!(column(&out, "Job Title"), ["'=1+2"]);
    let raw = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(!raw.contains(",=1+2"), "no cell starts with = in an output");
}

/// An .xlsx made like Excel makes them: typed cells, a blank row, two sheets.
fn workbook(path: &std::path::Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("d mmm yyyy");
    let other = book.add_worksheet().set_name("Notes").unwrap();
    other.write_string(0, 0, "nothing to import here").unwrap();
    let s = book.add_worksheet().set_name("Hires").unwrap();
    for (c, h) in [
        "Employee ID",
        "First Name",
        "Last Name",
        "Email",
        "Region",
        "Role",
        "Hire Date",
        "Weekly Hours Target",
        "Hourly Rate",
        "Overtime Exempt",
    ]
    .iter()
    .enumerate()
    {
        s.write_string(0, c as u16, *h).unwrap();
    }
    s.write_string(1, 0, "000123").unwrap();
    s.write_string(1, 1, "Ana").unwrap();
    s.write_string(1, 2, "Silva").unwrap();
    s.write_string(1, 3, "ana@example.com").unwrap();
    s.write_string(1, 4, "EMEA").unwrap();
    s.write_string(1, 5, "Guard").unwrap();
    s.write_datetime_with_format(1, 6, ExcelDateTime::from_ymd(2026, 12, 1).unwrap(), &date)
        .unwrap();
    s.write_number(1, 7, 40.0).unwrap();
    s.write_number(1, 8, 18.5).unwrap();
    s.write_boolean(1, 9, true).unwrap();
    // Row 3 left blank on purpose.
    s.write_number(3, 0, 124.0).unwrap();
    s.write_string(3, 1, "Bob").unwrap();
    s.write_string(3, 2, "Stone").unwrap();
    s.write_string(3, 3, "bob@example.com").unwrap();
    s.write_string(3, 4, "NA-East").unwrap();
    s.write_string(3, 5, "Supervisor").unwrap();
    s.write_datetime_with_format(3, 6, ExcelDateTime::from_ymd(2024, 2, 29).unwrap(), &date)
        .unwrap();
    s.write_number(3, 7, 37.5).unwrap();
    s.write_string(4, 1, "Cy").unwrap();
    s.write_string(4, 2, "Ray").unwrap();
    s.write_string(4, 3, "cy@example").unwrap();
    s.write_string(4, 4, "EMEA").unwrap();
    s.write_string(4, 5, "Guard").unwrap();
    book.save(path).unwrap();
}

#[test]
fn xlsx_cells_become_the_text_a_person_sees() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.path("hires.xlsx");
    workbook(&f);
    let out = w.path("o");
    let r = import(&sb, &f, &out, &["--sheet", "hires"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            ("2".into(), "created".into(), "".into()),
            ("4".into(), "created".into(), "".into()),
            (
                "5".into(),
                "invalid".into(),
                "Email: \"cy@example\" is not a valid e-mail address".into()
            ),
        ]
    );
    assert_eq!(column(&out, "Employee ID"), ["000123", "124", ""]);
    assert_eq!(column(&out, "Hire Date"), ["2026-12-01", "2024-02-29", ""]);
    assert_eq!(column(&out, "Weekly Hours Target"), ["40", "37.5", ""]);
    assert_eq!(column(&out, "Overtime Exempt"), ["TRUE", "", ""]);
    let ana = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(ana["customId"], "000123");
    sb.with(|s: &mut Sim| {
        let p = s.profile_of(&ana).unwrap();
        assert_eq!(p["employmentDate"], "2026-12-01");
        assert_eq!(p["weeklyHoursTarget"], json!(40));
        assert_eq!(p["overtimeExempt"], json!(true));
    });
    assert_eq!(employee_by_email(&sb, "bob@example.com").unwrap()["customId"], "124");
    assert!(r.stderr.contains("hires.xlsx row 5: Email"), "{}", r.stderr);

    // Without --sheet, the first sheet lacks the columns and the only other
    // has them: that one is read, and the person is told. A missing sheet
    // is named with the choices.
    let r = dry_run(&f, &w.path("o2"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "hires.xlsx: sheet \"Notes\" lacks the required columns (First Name, Last Name, \
             Region, Role and one of Username or Email); reading sheet \"Hires\", which has them"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(column(&w.path("o2"), "Employee ID"), ["000123", "124", ""]);
    let r = dry_run(&f, &w.path("o3"), &["--sheet", "Staff"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("has no sheet named \"Staff\"; its sheets are: \"Notes\", \"Hires\""),
        "{}",
        r.stderr
    );
}

#[test]
fn xls_and_ods_workbooks_read_the_same_as_xlsx() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let w = Work::new();
    for ext in ["xls", "ods"] {
        let out = w.path(ext);
        let r = dry_run(&fixtures.join(format!("people.{ext}")), &out, &[]);
        assert_eq!(r.code, 0, "{ext}: {r:?}");
        assert_eq!(column(&out, "hrport_row"), ["2", "4"], "{ext}: the blank row 3 is skipped");
        assert_eq!(column(&out, "Employee ID"), ["000123", "124"], "{ext}");
        assert_eq!(column(&out, "Hire Date"), ["2024-03-01", "2023-12-31"], "{ext}");
        assert_eq!(column(&out, "Weekly Hours Target"), ["40", "37.5"], "{ext}");
        assert_eq!(column(&out, "Hourly Rate"), ["18.5", "20"], "{ext}");
    }
}

#[test]
fn unreadable_files_are_refused_with_exit_2() {
    let w = Work::new();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.csv", b"", "the file is empty"),
        (
            "junk.csv",
            b"\x7fELF\x02\x01\x01\x00\x00\x00binary",
            "this is not a text file (it contains a NUL byte on line 1)",
        ),
        ("fake.xlsx", b"First Name,Last Name\nA,B\n", "not a valid .xlsx workbook"),
        ("broken.xlsx", b"PK\x03\x04 truncated zip", "cannot read this .xlsx workbook"),
    ];
    for (name, bytes, msg) in cases {
        let f = w.write(name, bytes);
        let r = dry_run(&f, &w.path("o"), &[]);
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert!(r.stderr.contains(msg), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(name), "{name}: the file is named: {}", r.stderr);
    }
    let r = dry_run(&w.path("missing.csv"), &w.path("o"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.csv: cannot open"), "{}", r.stderr);
}

// ---------------------------------------------------------------------
// Files as HR systems write them. The files are in tests/corpus/; run
// `cargo test --test it make_reading_corpus -- --ignored` to write them again.

fn corpus(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

const STAFF_HEADER: [&str; 6] =
    ["Employee No.", "First Name", "Surname", "Email", "Region", "Role"];

fn staff_rows() -> Vec<[&'static str; 6]> {
    vec![
        ["E1", "Ana", "Silva", "ana@example.com", "EMEA", "Guard"],
        ["E2", "Bob", "Stone", "bob@example.com", "APAC", "Supervisor"],
    ]
}

fn write_table(
    s: &mut rust_xlsxwriter::Worksheet,
    first_row: u32,
    header: &[&str],
    rows: &[[&str; 6]],
) {
    for (c, h) in header.iter().enumerate() {
        s.write_string(first_row, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            s.write_string(first_row + 1 + r as u32, c as u16, *v).unwrap();
        }
    }
}

#[test]
#[ignore = "writes the reading corpus files; run by hand"]
fn make_reading_corpus() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    // Title rows above the header.
    let mut book = Workbook::new();
    let s = book.add_worksheet().set_name("Export").unwrap();
    s.write_string(0, 0, "Staff list — Acme Security").unwrap();
    s.write_string(1, 0, "Exported 2025-03-01 by HR").unwrap();
    write_table(s, 3, &STAFF_HEADER, &staff_rows());
    book.save(corpus("title-rows.xlsx")).unwrap();

    // A hidden first sheet with other people in it.
    let mut book = Workbook::new();
    let old = book.add_worksheet().set_name("Old").unwrap();
    write_table(
        old,
        0,
        &STAFF_HEADER,
        &[["E9", "Old", "Hidden", "old@example.com", "EMEA", "Guard"]],
    );
    old.set_hidden(true);
    let s = book.add_worksheet().set_name("Staff").unwrap();
    write_table(s, 0, &STAFF_HEADER, &staff_rows());
    s.set_active(true);
    book.save(corpus("hidden-first-sheet.xlsx")).unwrap();

    // An instructions sheet first.
    let mut book = Workbook::new();
    let i = book.add_worksheet().set_name("Instructions").unwrap();
    i.write_string(0, 0, "Fill in one row per employee on the Staff sheet.").unwrap();
    i.write_string(1, 0, "Dates as YYYY-MM-DD.").unwrap();
    let s = book.add_worksheet().set_name("Staff").unwrap();
    write_table(s, 0, &STAFF_HEADER, &staff_rows());
    book.save(corpus("instructions-first.xlsx")).unwrap();

    // Instructions and two sheets that both could be the data.
    let mut book = Workbook::new();
    let i = book.add_worksheet().set_name("Instructions").unwrap();
    i.write_string(0, 0, "Fill in one row per employee.").unwrap();
    let s = book.add_worksheet().set_name("North").unwrap();
    write_table(s, 0, &STAFF_HEADER, &staff_rows()[..1]);
    let s = book.add_worksheet().set_name("South").unwrap();
    write_table(s, 0, &STAFF_HEADER, &staff_rows()[1..]);
    book.save(corpus("two-data-sheets.xlsx")).unwrap();

    // Formulas without a saved value, as openpyxl or pandas write them.
    let mut book = Workbook::new();
    let s = book.add_worksheet().set_name("Staff").unwrap();
    s.set_formula_result_default("");
    write_table(s, 0, &STAFF_HEADER, &staff_rows());
    s.write_formula(1, 3, Formula::new("=LOWER(B2)&\"@example.com\"")).unwrap();
    // A formula with a saved value reads as that value.
    s.write_formula(
        2,
        3,
        Formula::new("=LOWER(B3)&\"@example.com\"").set_result("bob@example.com"),
    )
    .unwrap();
    book.save(corpus("uncached-formulas.xlsx")).unwrap();

    // Merged cells: one Region over three rows, one Role over two.
    let mut book = Workbook::new();
    let s = book.add_worksheet().set_name("Staff").unwrap();
    let rows = [
        ["E1", "Ana", "Silva", "ana@example.com", "EMEA", "Guard"],
        ["E2", "Bob", "Stone", "bob@example.com", "", ""],
        ["E3", "Cy", "Ray", "cy@example.com", "", "Supervisor"],
    ];
    write_table(s, 0, &STAFF_HEADER, &rows);
    let plain = Format::new();
    s.merge_range(1, 4, 3, 4, "EMEA", &plain).unwrap();
    s.merge_range(1, 5, 2, 5, "Guard", &plain).unwrap();
    book.save(corpus("merged-cells.xlsx")).unwrap();

    // Dates: an Excel date-time cell at midnight, and text with a midnight time.
    let mut book = Workbook::new();
    let s = book.add_worksheet().set_name("Staff").unwrap();
    let mut header = STAFF_HEADER.to_vec();
    header.push("Hire Date");
    for (c, h) in header.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in staff_rows().iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            s.write_string(1 + r as u32, c as u16, *v).unwrap();
        }
    }
    let dt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let midnight = ExcelDateTime::from_ymd(2025, 3, 3).unwrap().and_hms(0, 0, 0).unwrap();
    s.write_datetime_with_format(1, 6, midnight, &dt).unwrap();
    s.write_string(2, 6, "2025-03-04 00:00:00").unwrap();
    book.save(corpus("midnight-dates.xlsx")).unwrap();

    let csv = |name: &str, text: &str| std::fs::write(corpus(name), text).unwrap();
    csv(
        "title-rows.csv",
        "Staff list,,,,,\r\nExported 2025-03-01,,,,,\r\n,,,,,\r\nEmployee No.,First Name,Surname,Email,Region,Role\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard\r\nE2,Bob,Stone,bob@example.com,APAC,Supervisor\r\n",
    );
    // A byte-order mark at the start of the file and of a row (files joined
    // together), and a zero-width space inside a key.
    csv(
        "bom-rows.csv",
        "\u{feff}Employee ID,First Name,Last Name,Email,Region,Role\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard\r\n\
         \u{feff}E2,Bob,Stone,bob@example.com,APAC,Supervisor\r\n\
         E3\u{200b},Cy,Ray,cy@example.com,EMEA,Guard\r\n",
    );
    csv(
        "decimal-comma.csv",
        "Employee ID;First Name;Last Name;Email;Region;Role;Hourly Rate;Weekly Hours Target\r\n\
         E1;Ana;Silva;ana@example.com;EMEA;Guard;18,75;37,5\r\n\
         E2;Bob;Stone;bob@example.com;APAC;Supervisor;1.250,50;40\r\n\
         E3;Cy;Ray;cy@example.com;EMEA;Guard;1e2;40\r\n",
    );
    csv(
        "thousands.csv",
        "Employee ID,First Name,Last Name,Email,Region,Role,Hourly Rate\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard,\"1,250.50\"\r\n\
         E2,Bob,Stone,bob@example.com,APAC,Supervisor,\"18,75\"\r\n",
    );
    csv(
        "excel-us-dates.csv",
        "Employee ID,First Name,Last Name,Email,Region,Role,Employment Date\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard,3/4/2025\r\n\
         E2,Bob,Stone,bob@example.com,APAC,Supervisor,5/13/2025\r\n\
         E3,Cy,Ray,cy@example.com,EMEA,Guard,5/5/2025 0:00\r\n",
    );
    csv(
        "ambiguous-dates.csv",
        "Employee ID,First Name,Last Name,Email,Region,Role,Employment Date\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard,3/4/2025\r\n\
         E2,Bob,Stone,bob@example.com,APAC,Supervisor,5/5/2025\r\n",
    );
    csv(
        "contradicting-dates.csv",
        "Employee ID,First Name,Last Name,Email,Region,Role,Employment Date\r\n\
         E1,Ana,Silva,ana@example.com,EMEA,Guard,13/4/2025\r\n\
         E2,Bob,Stone,bob@example.com,APAC,Supervisor,4/13/2025\r\n",
    );
}

/// (Employee ID, first name, last name, e-mail) of every employee in the sandbox, sorted.
fn people(sb: &Sandbox) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = employees(sb)
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("customId"), s("firstName"), s("lastName"), s("email"))
        })
        .collect();
    v.sort();
    v
}

fn ana_and_bob() -> Vec<(String, String, String, String)> {
    let p = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    vec![p("E1", "Ana", "Silva", "ana@example.com"), p("E2", "Bob", "Stone", "bob@example.com")]
}

#[test]
fn title_rows_above_the_header_are_skipped_and_the_header_row_named() {
    for name in ["title-rows.xlsx", "title-rows.csv"] {
        let w = Work::new();
        let sb = sandbox();
        let r = import(&sb, &corpus(name), &w.path("o"), &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stderr.contains(&format!(
                "{name}: row 4 holds the column headers (the rows above it are read as titles \
                 and skipped); row numbers in messages are the file's own"
            )),
            "{}",
            r.stderr
        );
        assert_eq!(people(&sb), ana_and_bob(), "{name}");
        // Rows keep the file's own numbers.
        assert_eq!(column(&w.path("o"), "hrport_row"), ["5", "6"], "{name}");
    }
}

#[test]
fn a_hidden_first_sheet_is_skipped_unless_named() {
    let w = Work::new();
    let sb = sandbox();
    let f = corpus("hidden-first-sheet.xlsx");
    let r = import(&sb, &f, &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "hidden-first-sheet.xlsx: hidden sheet \"Old\" is skipped; reading \"Staff\" (give \
             --sheet to read a hidden one)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(people(&sb), ana_and_bob());
    // Named, the hidden sheet is read.
    let r = dry_run(&f, &w.path("o2"), &["--sheet", "Old"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(column(&w.path("o2"), "Employee No."), ["E9"]);
}

#[test]
fn the_sheet_with_the_data_is_found_or_every_sheet_is_listed() {
    let w = Work::new();
    let sb = sandbox();
    let r = import(&sb, &corpus("instructions-first.xlsx"), &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "instructions-first.xlsx: sheet \"Instructions\" lacks the required columns (First \
             Name, Last Name, Region, Role and one of Username or Email); reading sheet \
             \"Staff\", which has them"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(people(&sb), ana_and_bob());

    let r = dry_run(&corpus("two-data-sheets.xlsx"), &w.path("o2"), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "two-data-sheets.xlsx: several sheets have the required columns; give --sheet NAME. \
             Its sheets: \"Instructions\" lacks First Name, Last Name, Region, Role and one of \
             Username or Email; \"North\" has them; \"South\" has them"
        ),
        "{}",
        r.stderr
    );
    let r = dry_run(&corpus("two-data-sheets.xlsx"), &w.path("o3"), &["--sheet", "South"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(column(&w.path("o3"), "Employee No."), ["E2"]);
}

#[test]
fn a_formula_without_a_saved_value_makes_its_cell_invalid() {
    let w = Work::new();
    let sb = sandbox();
    let out = w.path("o");
    let r = import(&sb, &corpus("uncached-formulas.xlsx"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            (
                "2".into(),
                "invalid".into(),
                "Email: formula without a saved value: open and save the file in Excel, or paste \
                 values (cell D2); give at least one of Username or Email"
                    .into()
            ),
            ("3".into(), "created".into(), "".into()),
        ]
    );
    // The formula with a saved value was read as that value.
    let p = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    assert_eq!(people(&sb), [p("E2", "Bob", "Stone", "bob@example.com")]);
}

#[test]
fn merged_cells_fill_every_cell_they_cover() {
    let w = Work::new();
    let sb = sandbox();
    let r = import(&sb, &corpus("merged-cells.xlsx"), &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = w.path("o");
    assert_eq!(column(&out, "Region"), ["EMEA", "EMEA", "EMEA"]);
    assert_eq!(column(&out, "Role"), ["Guard", "Guard", "Supervisor"]);
    // Ana's cell is the merge's own: the others got the same region.
    let region_of = |email: &str| employee_by_email(&sb, email).unwrap()["region"].clone();
    assert!(!region_of("ana@example.com").is_null());
    for email in ["bob@example.com", "cy@example.com"] {
        assert_eq!(region_of(email), region_of("ana@example.com"), "{email}");
    }
    let bob = employee_by_email(&sb, "bob@example.com").unwrap();
    assert_eq!(role_name_of(&sb, bob["id"].as_u64().unwrap()).as_deref(), Some("Guard"));
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_row_is_removed_and_invisible_keys_refused() {
    let w = Work::new();
    let sb = sandbox();
    let out = w.path("o");
    let r = import(&sb, &corpus("bom-rows.csv"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(people(&sb), ana_and_bob(), "E2 without the mark");
    assert_eq!(
        statuses(&out.join("results.csv"))[2],
        (
            "4".into(),
            "invalid".into(),
            "Employee ID: \"E3\\u{200b}\" holds an invisible character (U+200B); as a key it \
             would not match the same value typed; retype the value"
                .into()
        )
    );
}

#[test]
fn decimal_commas_and_thousands_separators_where_unambiguous() {
    let w = Work::new();
    let sb = sandbox();
    let out = w.path("o");
    let r = import(&sb, &corpus("decimal-comma.csv"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let rate = |email: &str, k: &str| {
        let e = employee_by_email(&sb, email).unwrap();
        sb.with(|s: &mut Sim| s.profile_of(&e).unwrap()[k].clone())
    };
    assert_eq!(rate("ana@example.com", "hourlyRate"), json!(18.75));
    assert_eq!(rate("ana@example.com", "weeklyHoursTarget"), json!(37.5));
    assert_eq!(rate("bob@example.com", "hourlyRate"), json!(1250.5));
    assert_eq!(
        statuses(&out.join("results.csv"))[2],
        ("4".into(), "invalid".into(), "Hourly Rate: \"1e2\" is not a number".into())
    );

    // In a comma file, "1,250.50" is unambiguous; "18,75" is not.
    let sb = sandbox();
    let out = w.path("o2");
    let r = import(&sb, &corpus("thousands.csv"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let e = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(
        sb.with(|s: &mut Sim| s.profile_of(&e).unwrap()["hourlyRate"].clone()),
        json!(1250.5)
    );
    assert_eq!(
        statuses(&out.join("results.csv"))[1],
        (
            "3".into(),
            "invalid".into(),
            "Hourly Rate: \"18,75\" is ambiguous: the comma may separate thousands or decimals; \
             write it without the comma, or with a decimal point"
                .into()
        )
    );
}

#[test]
fn midnight_date_times_are_dates() {
    let w = Work::new();
    let sb = sandbox();
    let r = import(&sb, &corpus("midnight-dates.xlsx"), &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let date = |email: &str| {
        let e = employee_by_email(&sb, email).unwrap();
        sb.with(|s: &mut Sim| s.profile_of(&e).unwrap()["employmentDate"].clone())
    };
    assert_eq!(date("ana@example.com"), "2025-03-03");
    assert_eq!(date("bob@example.com"), "2025-03-04");
}

#[test]
fn a_date_column_excel_rewrote_is_read_in_its_one_possible_order() {
    let w = Work::new();
    let sb = sandbox();
    let r = import(&sb, &corpus("excel-us-dates.csv"), &w.path("o"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "Employment Date: reading its dates as %m/%d/%Y (\"5/13/2025\" can only be read that \
             way, and no value of the column contradicts it)"
        ),
        "{}",
        r.stderr
    );
    let date = |email: &str| {
        let e = employee_by_email(&sb, email).unwrap();
        sb.with(|s: &mut Sim| s.profile_of(&e).unwrap()["employmentDate"].clone())
    };
    assert_eq!(date("ana@example.com"), "2025-03-04");
    assert_eq!(date("bob@example.com"), "2025-05-13");
    assert_eq!(date("cy@example.com"), "2025-05-05");
}

#[test]
fn a_date_column_that_reads_either_way_asks_for_the_format() {
    let w = Work::new();
    let out = w.path("o");
    let r = dry_run(&corpus("ambiguous-dates.csv"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            (
                "2".into(),
                "invalid".into(),
                "Employment Date: \"3/4/2025\" could be %d/%m/%Y or %m/%d/%Y: add --date-format \
                 with the one your file uses"
                    .into()
            ),
            // Both orders read 5/5 alike.
            ("3".into(), "skipped".into(), "".into()),
        ]
    );
    let out = w.path("o2");
    let r = dry_run(&corpus("contradicting-dates.csv"), &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        statuses(&out.join("results.csv")),
        [
            (
                "2".into(),
                "invalid".into(),
                "Employment Date: \"13/4/2025\" is not a date hrport reads by itself; it looks \
                 like %d/%m/%Y: add --date-format %d/%m/%Y"
                    .into()
            ),
            (
                "3".into(),
                "invalid".into(),
                "Employment Date: \"4/13/2025\" is not a date hrport reads by itself; it looks \
                 like %m/%d/%Y: add --date-format %m/%d/%Y"
                    .into()
            ),
        ]
    );
    let r = dry_run(&corpus("ambiguous-dates.csv"), &w.path("o3"), &["--date-format", "%d/%m/%Y"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn profile_init_from_a_file_matches_its_columns_and_says_why() {
    let w = Work::new();
    let f = w.write(
        "staff.csv",
        "Staff No,Given Name,Surname,E-mail,Position,Favourite Colour,Region,Role\r\n\
         E1,Ana,Silva,ana@example.com,Guard lead,blue,EMEA,Guard\r\n",
    );
    let p = w.path("staff.toml");
    let r = Hrport::new(&["profile", "init"]).target("tracktik").arg("--from", &f).output(&p).run();
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&p).unwrap();
    for line in [
        "\"Employee ID\" = \"Staff No\"   # Staff No → Employee ID: common HR name for an employee number",
        "\"First Name\" = \"Given Name\"   # Given Name → First Name: common HR name for a first name",
        "\"Last Name\" = \"Surname\"   # Surname → Last Name: common HR name for a last name",
        "\"Job Title\" = \"Position\"   # Position → Job Title: common HR name for a job title",
        "\"Region\" = \"Region\"   # Region → Region: the template column's own name",
        "# Columns of",
        "# \"Favourite Colour\"",
        "# \"Middle Name\" = \"\"",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line}\n{text}");
    }
    // The profile it wrote imports the file.
    let sb = sandbox();
    let r = import(&sb, &f, &w.path("o"), &["--profile", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let ana = employee_by_email(&sb, "ana@example.com").unwrap();
    assert_eq!(ana["customId"], "E1");
    assert_eq!(ana["lastName"], "Silva");
    assert_eq!(ana["jobTitle"], "Guard lead");
}
