//! results.xlsx and errors.xlsx: cell kinds kept, bad cells filled red
//! with a note, changed cells filled green with the value before, the
//! Summary sheet, errors.xlsx imported again as it is; the output CSVs
//! keeping the input's delimiter; `--output-format`. Cells are read with
//! calamine; fills and notes (which calamine does not read) from the
//! workbook's XML.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx, open_workbook};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::util::*;

const RED: &str = "FFC7CE";
const GREEN: &str = "C6EFCE";

const HEADERS: [&str; 9] = [
    "Employee ID",
    "First Name",
    "Last Name",
    "Email",
    "Region",
    "Role",
    "Hire Date",
    "Weekly Hours Target",
    "Overtime Exempt",
];

/// A cell of an input workbook, as Excel would hold it.
enum In {
    S(&'static str),
    N(f64),
    D(u16, u8, u8),
    B(bool),
    Blank,
}

/// A workbook whose data sheet, "Hires", has `rows` under `HEADERS`.
fn input_workbook(path: &Path, rows: &[[In; 9]]) {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let s = book.add_worksheet().set_name("Hires").unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                In::S(t) => s.write_string(r, c, *t).map(|_| ()),
                In::N(n) => s.write_number(r, c, *n).map(|_| ()),
                In::D(y, m, d) => s
                    .write_datetime_with_format(
                        r,
                        c,
                        ExcelDateTime::from_ymd(*y, *m, *d).unwrap(),
                        &date,
                    )
                    .map(|_| ()),
                In::B(b) => s.write_boolean(r, c, *b).map(|_| ()),
                In::Blank => Ok(()),
            }
            .unwrap();
        }
    }
    book.save(path).unwrap();
}

/// Ana is valid; Cy has a bad e-mail and an unknown region; Dee has no last name.
fn hires(path: &Path) {
    use In::*;
    input_workbook(
        path,
        &[
            [
                S("000732"),
                S("Ana"),
                S("Silva"),
                S("ana@example.com"),
                S("EMEA"),
                S("Guard"),
                D(2025, 5, 5),
                N(40.0),
                B(true),
            ],
            [
                S("000733"),
                S("Cy"),
                S("Ray"),
                S("cy@example"),
                S("Atlantis"),
                S("Guard"),
                D(2025, 6, 1),
                N(37.5),
                B(false),
            ],
            [
                S("000734"),
                S("Dee"),
                Blank,
                S("dee@example.com"),
                S("EMEA"),
                S("Guard"),
                Blank,
                N(20.0),
                Blank,
            ],
        ],
    );
}

/// Every sheet of a workbook, by name, as calamine reads it.
fn sheets(path: &Path) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names = wb.sheet_names();
    names
        .into_iter()
        .map(|n| {
            let range = wb.worksheet_range(&n).unwrap();
            let rows = range.rows().map(|r| r.to_vec()).collect();
            (n, rows)
        })
        .collect()
}

fn data_sheet(path: &Path) -> Vec<Vec<Data>> {
    sheets(path).remove(0).1
}

fn s(t: &str) -> Data {
    Data::String(t.to_string())
}

fn date_of(d: &Data) -> String {
    match d {
        Data::DateTime(x) => x.as_datetime().unwrap().format("%Y-%m-%d").to_string(),
        other => panic!("not a date cell: {other:?}"),
    }
}

/// One part of the xlsx zip, as text.
fn part(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut f = z.by_name(name).unwrap_or_else(|_| panic!("{}: no {name}", path.display()));
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    text
}

/// The value of attribute `name` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()
}

/// The solid fill colour (RRGGBB) of a cell of the first sheet, if any.
fn fill(path: &Path, cell: &str) -> Option<String> {
    let sheet = part(path, "xl/worksheets/sheet1.xml");
    let at = sheet.find(&format!("<c r=\"{cell}\""))?;
    let tag = &sheet[at..at + sheet[at..].find('>')?];
    let xf: usize = attr(tag, "s").unwrap_or("0").parse().unwrap();
    let styles = part(path, "xl/styles.xml");
    let xfs = styles.split("<cellXfs").nth(1)?.split("</cellXfs>").next()?;
    let xf_tag = xfs.split("<xf ").nth(xf + 1)?;
    let fill_id: usize = attr(&format!(" {xf_tag}"), "fillId")?.parse().ok()?;
    let fills = styles.split("<fills").nth(1)?.split("</fills>").next()?;
    let f = fills.split("<fill>").nth(fill_id + 1)?;
    if !f.contains("patternType=\"solid\"") {
        return None;
    }
    let argb = attr(f.split("<fgColor").nth(1)?, "rgb")?;
    Some(argb[argb.len().saturating_sub(6)..].to_string())
}

fn unescape(t: &str) -> String {
    t.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The notes of the first sheet, by cell.
fn notes(path: &Path) -> BTreeMap<String, String> {
    let xml = part(path, "xl/comments1.xml");
    let mut out = BTreeMap::new();
    for c in xml.split("<comment ").skip(1) {
        let cell = attr(&format!(" {c}"), "ref").unwrap().to_string();
        let body = c.split("</comment>").next().unwrap();
        // The text runs: <t> or <t xml:space="preserve">, not <text>.
        let text: String = body
            .match_indices("<t")
            .filter(|(i, _)| matches!(body.as_bytes().get(i + 2), Some(b'>' | b' ')))
            .filter_map(|(i, _)| {
                Some(body[i..].split_once('>')?.1.split("</t>").next()?.to_string())
            })
            .collect();
        out.insert(cell, unescape(&text));
    }
    out
}

fn has_notes(path: &Path) -> bool {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    z.by_name("xl/comments1.xml").is_ok()
}

fn summary_counts(path: &Path) -> Vec<(String, f64)> {
    let (name, rows) = sheets(path).remove(1);
    assert_eq!(name, "Summary");
    rows.iter()
        .skip(1)
        .take_while(|r| !matches!(r[0], Data::Empty))
        .map(|r| match (&r[0], &r[1]) {
            (Data::String(k), Data::Float(n)) => (k.clone(), *n),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn header_with_own(input: &[&str]) -> Vec<Data> {
    input
        .iter()
        .chain(&[
            "hrport_row",
            "hrport_status",
            "hrport_action",
            "hrport_id",
            "hrport_changes",
            "hrport_error",
        ])
        .map(|h| s(h))
        .collect()
}

#[test]
fn a_workbook_input_gets_workbooks_with_kinds_kept_and_bad_cells_marked() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.path("hires.xlsx");
    hires(&f);
    let out = w.path("o");
    let r = import(&sb, &f, &out, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    for name in ["results.csv", "errors.csv", "results.xlsx", "errors.xlsx"] {
        assert!(out.join(name).exists(), "{name} written for a workbook input");
    }
    assert!(r.stdout.contains("errors.xlsx"), "{}", r.stdout);

    // results.xlsx: every row, each cell the kind the input had.
    let book = sheets(&out.join("results.xlsx"));
    assert_eq!(book.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(), ["Hires", "Summary"]);
    let rows = &book[0].1;
    assert_eq!(rows[0], header_with_own(&HEADERS));
    let ana = &rows[1];
    assert_eq!(ana[0], s("000732"), "an ID typed as text stays text");
    assert_eq!(date_of(&ana[6]), "2025-05-05");
    assert_eq!(ana[7], Data::Float(40.0));
    assert_eq!(ana[8], Data::Bool(true));
    assert_eq!(ana[9], Data::Float(2.0), "hrport_row");
    assert_eq!(ana[10], s("created"));
    assert_eq!(rows.len(), 4);
    let ana_id = employee_by_email(&sb, "ana@example.com").unwrap()["id"].to_string();
    assert_eq!(ana[12], s(&ana_id));

    // errors.xlsx: the two invalid rows, the cells their errors name in red
    // with the message as a note.
    let e = out.join("errors.xlsx");
    let rows = data_sheet(&e);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], s("000733"));
    assert_eq!(rows[1][3], s("cy@example"));
    assert_eq!(date_of(&rows[1][6]), "2025-06-01");
    assert_eq!(rows[1][7], Data::Float(37.5));
    assert_eq!(rows[1][8], Data::Bool(false));
    assert_eq!(rows[1][10], s("invalid"));
    assert_eq!(rows[2][2], Data::Empty);
    assert_eq!(rows[2][9], Data::Float(4.0));
    let n = notes(&e);
    assert_eq!(n["D2"], "Email: \"cy@example\" is not a valid e-mail address");
    assert!(n["E2"].starts_with("Region: no region named \"Atlantis\""), "{}", n["E2"]);
    assert_eq!(n["C3"], "Last Name is required");
    assert_eq!(n.len(), 3, "{n:?}");
    for cell in ["D2", "E2", "C3", "O2", "O3"] {
        assert_eq!(fill(&e, cell).as_deref(), Some(RED), "{cell}");
    }
    for cell in ["A2", "B2", "G2", "H2", "B3"] {
        assert_eq!(fill(&e, cell), None, "{cell} is not marked");
    }
    // The same marks in results.xlsx, where Cy is row 3.
    let n = notes(&out.join("results.xlsx"));
    assert_eq!(n["D3"], "Email: \"cy@example\" is not a valid e-mail address");
    assert_eq!(fill(&out.join("results.xlsx"), "D3").as_deref(), Some(RED));
    assert_eq!(fill(&out.join("results.xlsx"), "D2"), None);

    let counts = summary_counts(&e);
    assert_eq!(
        counts,
        [
            ("created".into(), 1.0),
            ("invalid".into(), 2.0),
            ("failed".into(), 0.0),
            ("total".into(), 3.0)
        ]
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["results"], "results.csv");
    assert_eq!(summary["errors_files"], json!(["errors.csv", "errors.xlsx"]));
}

/// Copies the first sheet of `src` to `dst` cell by cell, kinds kept, with
/// `fixes` ((row, col) -> text) typed over it, as a person fixing the red
/// cells in Excel would.
fn fix_workbook(src: &Path, dst: &Path, fixes: &[((usize, usize), &str)]) {
    let (name, rows) = sheets(src).remove(0);
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sh = book.add_worksheet().set_name(&name).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (rr, cc) = (r as u32, c as u16);
            if let Some((_, t)) = fixes.iter().find(|(at, _)| *at == (r, c)) {
                sh.write_string(rr, cc, *t).unwrap();
                continue;
            }
            match cell {
                Data::String(t) => sh.write_string(rr, cc, t).map(|_| ()),
                Data::Float(n) => sh.write_number(rr, cc, *n).map(|_| ()),
                Data::Bool(b) => sh.write_boolean(rr, cc, *b).map(|_| ()),
                Data::DateTime(d) => {
                    let t = d.as_datetime().unwrap().date();
                    let x =
                        ExcelDateTime::parse_from_str(&t.format("%Y-%m-%d").to_string()).unwrap();
                    sh.write_datetime_with_format(rr, cc, x, &date).map(|_| ())
                }
                Data::Empty => Ok(()),
                other => panic!("unexpected cell {other:?}"),
            }
            .unwrap();
        }
    }
    book.save(dst).unwrap();
}

#[test]
fn errors_xlsx_imports_again_as_it_is_and_once_fixed_creates_the_rows() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.path("hires.xlsx");
    hires(&f);
    let r = import(&sb, &f, &w.path("o1"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let errors = w.path("o1/errors.xlsx");

    // As it is: the same two rows are invalid for the same reasons, and the
    // hrport_ columns are neither read nor complained about.
    let r = import(&sb, &errors, &w.path("o2"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stderr.contains("hrport_"), "{}", r.stderr);
    let st = statuses(&w.path("o2/results.csv"));
    assert_eq!(st.iter().map(|s| s.1.as_str()).collect::<Vec<_>>(), ["invalid", "invalid"]);
    assert!(
        st[0].2.starts_with(
            "Email: \"cy@example\" is not a valid e-mail address; Region: no region named \"Atlantis\""
        ),
        "{st:?}"
    );
    assert_eq!(st[1].2, "Last Name is required");
    assert_eq!(employees(&sb).len(), 1);

    // Fixed in the red cells only, then imported with no flag.
    let fixed = w.path("fixed.xlsx");
    fix_workbook(&errors, &fixed, &[((1, 3), "cy@example.com"), ((1, 4), "EMEA"), ((2, 2), "Dee")]);
    let r = import(&sb, &fixed, &w.path("o3"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("2 rows: 2 created"), "{}", r.stdout);
    let cy = employee_by_email(&sb, "cy@example.com").expect("Cy created");
    assert_eq!(cy["customId"], "000733", "the ID kept its leading zeros");
    assert_eq!(employee_by_email(&sb, "dee@example.com").unwrap()["lastName"], "Dee");
    sb.with(|s: &mut Sim| {
        let p = s.profile_of(&cy).unwrap();
        assert_eq!(p["employmentDate"], "2025-06-01", "the date cell read as a date");
        assert_eq!(p["weeklyHoursTarget"], json!(37.5));
    });
    assert_eq!(employees(&sb).len(), 3);
    // The rows keep their numbers in the file imported.
    assert_eq!(column_of(&w.path("o3/results.csv"), "hrport_row"), ["2", "3"]);
}

fn column_of(path: &Path, name: &str) -> Vec<String> {
    rows_by_name(path).into_iter().map(|r| r[name].clone()).collect()
}

#[test]
fn output_csvs_keep_the_input_delimiter() {
    let w = Work::new();
    let sb = sandbox();
    for (name, d, key) in [("semi.csv", ';', "S"), ("tab.txt", '\t', "T")] {
        let lines: Vec<String> = [
            "Employee ID,First Name,Last Name,Email,Region,Role".to_string(),
            format!("{key}1,Ana,Silva,ana.{key}@example.com,EMEA,Guard"),
            format!("{key}2,=Bo,Stone,bo@example,EMEA,Guard"),
        ]
        .iter()
        .map(|l| l.replace(',', &d.to_string()))
        .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let f = w.write(name, csv_text(&refs));
        let out = w.path(&format!("o-{name}"));
        let r = import(&sb, &f, &out, &[]);
        assert_eq!(r.code, 1, "{r:?}");
        for file in ["results.csv", "errors.csv"] {
            let bytes = std::fs::read(out.join(file)).unwrap();
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{file}: UTF-8 with BOM");
            let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
            let header = text.lines().next().unwrap();
            assert!(
                header.starts_with(&format!("Employee ID{d}First Name{d}")),
                "{name} {file}: {header:?}"
            );
            assert!(!header.contains(','), "{name} {file}: {header:?}");
            let mut rd = csv::ReaderBuilder::new().delimiter(d as u8).from_reader(text.as_bytes());
            let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
            let bo = rows.iter().find(|r| r[0].ends_with('2')).unwrap();
            assert_eq!(&bo[1], "'=Bo", "{file}: still formula-safe");
            assert_eq!(&bo[7], "invalid");
        }
        assert!(!out.join("results.xlsx").exists(), "a CSV input gets CSVs only by default");
    }
}

#[test]
fn output_format_chooses_the_files_and_a_csv_input_gets_typed_cells() {
    let w = Work::new();
    let sb = sandbox();
    let f = w.write(
        "hires.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Phone,Region,Role,Hire Date,Hourly Rate,Zip",
            "000732,Ana,Silva,ana@example.com,0044 20 7946 0000,EMEA,Guard,2025-05-05,18.50,02134",
            "000733,Cy,Ray,cy@example,,EMEA,Guard,2025-02-30,x,",
        ]),
    );
    let out = w.path("both");
    let r = import(&sb, &f, &out, &["--output-format", "both"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(out.join("results.csv").exists() && out.join("errors.csv").exists());
    let rows = data_sheet(&out.join("results.xlsx"));
    assert_eq!(sheets(&out.join("results.xlsx"))[0].0, "People");
    let ana = &rows[1];
    assert_eq!(ana[0], s("000732"));
    assert_eq!(ana[4], s("0044 20 7946 0000"), "a phone number stays text");
    assert_eq!(date_of(&ana[7]), "2025-05-05", "a date column's ISO date is a date cell");
    assert_eq!(ana[8], Data::Float(18.5));
    assert_eq!(ana[9], s("02134"), "a postal code stays text");
    let cy = &data_sheet(&out.join("errors.xlsx"))[1];
    assert_eq!(cy[7], s("2025-02-30"), "what is not a date stays as typed");
    assert_eq!(cy[8], s("x"));
    let n = notes(&out.join("errors.xlsx"));
    assert!(n["D2"].starts_with("Email: "), "{n:?}");
    assert!(n["H2"].starts_with("Hire Date: "), "{n:?}");
    assert!(n["I2"].starts_with("Hourly Rate: "), "{n:?}");

    let out = w.path("xlsx");
    let r = Hrport::import(&f)
        .target("tracktik")
        .flag("--dry-run")
        .out(&out)
        .arg("--output-format", "xlsx")
        .run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(out.join("results.xlsx").exists() && out.join("errors.xlsx").exists());
    assert!(!out.join("results.csv").exists() && !out.join("errors.csv").exists());
    assert!(r.stdout.contains("results.xlsx") && !r.stdout.contains("results.csv"), "{}", r.stdout);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["results"], "results.xlsx");
    assert_eq!(
        summary_counts(&out.join("results.xlsx")),
        [
            ("skipped".into(), 1.0),
            ("invalid".into(), 1.0),
            ("failed".into(), 0.0),
            ("total".into(), 2.0)
        ]
    );

    // A workbook input with --output-format csv gets no workbook.
    let x = w.path("in.xlsx");
    hires(&x);
    let out = w.path("csv");
    let r = Hrport::import(&x)
        .target("tracktik")
        .flag("--dry-run")
        .out(&out)
        .arg("--output-format", "csv")
        .run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(out.join("results.csv").exists() && !out.join("results.xlsx").exists());
}

#[test]
fn cells_an_update_changes_are_green_with_the_value_before() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| {
        let k = s
            .seed_employee(json!({"customId": "E1", "firstName": "Kate", "lastName": "Farrell",
            "email": "kate@example.com", "jobTitle": "Guard", "region": 4}));
        s.user_roles.push(json!({"id": 990, "user": k, "role": 8}));
    });
    let f = w.write(
        "u.csv",
        csv_text(&[
            "Employee ID,First Name,Last Name,Email,Job Title,Region,Role,Phone",
            "E1,Kate,Farrell,kate@example.com,Senior Guard,EMEA,Guard,+1 555 0199",
        ]),
    );
    // The dry run marks what a real run would change.
    let out = w.path("plan");
    let r = Hrport::import(&f)
        .target("tracktik")
        .base_url(tt_url(&sb))
        .envs(&TT_ENV)
        .flag("--dry-run")
        .out(&out)
        .arg("--output-format", "xlsx")
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    let res = out.join("results.xlsx");
    assert_eq!(fill(&res, "E2").as_deref(), Some(GREEN));
    assert_eq!(notes(&res)["E2"], "A real run changes this; the record has \"Guard\" now");

    let out = w.path("run");
    let r = import(&sb, &f, &out, &["--output-format", "xlsx"]);
    assert_eq!(r.code, 0, "{r:?}");
    let res = out.join("results.xlsx");
    let rows = data_sheet(&res);
    assert_eq!(rows[1][9], s("updated"));
    let n = notes(&res);
    assert_eq!(n["E2"], "Changed by this run; it was \"Guard\"");
    assert_eq!(n["H2"], "Changed by this run; it was (empty)");
    assert_eq!(n.len(), 2, "{n:?}");
    for cell in ["E2", "H2"] {
        assert_eq!(fill(&res, cell).as_deref(), Some(GREEN), "{cell}");
    }
    for cell in ["A2", "B2", "F2"] {
        assert_eq!(fill(&res, cell), None, "{cell} did not change");
    }
    // errors.xlsx has no rows, and no notes.
    assert_eq!(data_sheet(&out.join("errors.xlsx")).len(), 1);
    assert!(!has_notes(&out.join("errors.xlsx")));
}

#[test]
fn a_run_killed_and_resumed_writes_complete_workbooks() {
    let w = Work::new();
    let sb = sandbox_with(SandboxConfig {
        latency: Duration::from_millis(30),
        ..SandboxConfig::default()
    });
    let mut lines = vec!["Employee ID,First Name,Last Name,Email,Region,Role".to_string()];
    for i in 0..60 {
        let region = if i % 10 == 9 { "" } else { "EMEA" };
        lines.push(format!("0{i:04},P{i},Test,r{i}@example.com,{region},Guard"));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let f = w.write("team.csv", csv_text(&refs));
    let out = w.path("out");
    let mut child = Hrport::import(&f)
        .target("tracktik")
        .base_url(tt_url(&sb))
        .out(&out)
        // One request per step, slowly: killed mid-run, not after a batch.
        .profile(per_step(&w))
        .arg("--rate", "40")
        .arg("--output-format", "xlsx")
        .flag("-q")
        .envs(&TT_ENV)
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let done = || {
        std::fs::read_to_string(out.join("journal.jsonl"))
            .map(|j| j.matches("\"event\":\"done\"").count())
            .unwrap_or(0)
    };
    while done() < 10 {
        assert!(t.elapsed() < Duration::from_secs(20), "the import never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no workbook is saved
    child.wait().unwrap();
    assert!(!out.join("results.xlsx").exists());

    let r = Hrport::resume(&out).arg("--rate", "500").envs(&TT_ENV).run();
    assert_eq!(r.code, 1, "{r:?}");
    let rows = data_sheet(&out.join("results.xlsx"));
    assert_eq!(rows.len(), 61, "every row once");
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], s(&format!("0{i:04}")), "in input order, as text");
        let want = if i % 10 == 9 { "invalid" } else { "created" };
        assert_eq!(row[7], s(want), "row {}", i + 2);
    }
    let e = out.join("errors.xlsx");
    assert_eq!(data_sheet(&e).len(), 7);
    let n = notes(&e);
    assert_eq!(n.len(), 6);
    assert_eq!(n["E2"], "Region is required");
    assert_eq!(fill(&e, "E7").as_deref(), Some(RED));
    assert_eq!(employees(&sb).len(), 54);
}

#[test]
fn a_cell_longer_than_excel_holds_is_cut_in_the_workbook_and_the_run_goes_on() {
    let w = Work::new();
    let long = "x".repeat(40_000);
    let f = w.write(
        "long.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role,Job Title",
            &format!("Ana,Silva,ana@example.com,EMEA,Guard,{long}"),
            "Bob,Stone,bob@example.com,EMEA,Guard,Guard",
        ]),
    );
    let out = w.path("o");
    let r = Hrport::import(&f)
        .target("tracktik")
        .flag("--dry-run")
        .out(&out)
        .arg("--output-format", "xlsx")
        .run();
    assert_eq!(r.code, 1, "{r:?}");
    let rows = data_sheet(&out.join("errors.xlsx"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][5], s(&"x".repeat(32_767)), "cut to a cell's 32,767 characters");
    assert_eq!(rows[1][7], s("invalid"));
    let rows = data_sheet(&out.join("results.xlsx"));
    assert_eq!((rows.len(), &rows[2][7]), (3, &s("skipped")));
}

#[test]
fn a_semicolon_file_gets_a_semicolon_deactivations_csv_in_sync_mode() {
    let w = Work::new();
    let sb = sandbox();
    sb.with(|s: &mut Sim| {
        for (n, id, name) in [(990, "E1", "Kate"), (991, "E2", "Lee")] {
            let k = s
                .seed_employee(json!({"customId": id, "firstName": name, "lastName": "Farrell",
                "email": format!("{}@example.com", name.to_lowercase()), "region": 4}));
            s.user_roles.push(json!({"id": n, "user": k, "role": 8}));
        }
    });
    let f = w.write(
        "staff.csv",
        csv_text(&[
            "Employee ID;First Name;Last Name;Email;Region;Role",
            "E1;Kate;Farrell;kate@example.com;EMEA;Guard",
        ]),
    );
    let out = w.path("o");
    let r = import(&sb, &f, &out, &["--mode", "sync", "--max-deactivations", "1"]);
    // Whether TrackTik lets the leaver go (it wants a termination reason)
    // is not the point: the file that lists them is.
    assert!(r.stdout.contains("records the file leaves out deactivated"), "{r:?}");
    let text = std::fs::read_to_string(out.join("deactivations.csv")).unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap().to_string();
    assert!(header.starts_with("ID;"), "{header}");
    assert!(header.ends_with(";hrport_status;hrport_id;hrport_error"), "{header}");
    let gone = rows_by_name(&out.join("deactivations.csv"));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["Employee ID"], "E2");
    assert!(["deactivated", "failed"].contains(&gone[0]["hrport_status"].as_str()), "{gone:?}");
}
