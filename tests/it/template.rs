//! `hrport template`: the workbook read back with calamine (sheets,
//! headers) and opened as the zip it is (data validations, notes, number
//! formats), its dropdowns equal to the sandbox's live lists, and the
//! template imported again empty and filled in.

use std::io::{Read, Write};
use std::path::Path;

use calamine::{Reader, Xlsx, open_workbook};

use crate::util::*;

/// `hrport template --target TARGET --base-url <the sandbox's> --output FILE`.
fn template_from(sb: &Sandbox, target: &str, file: &Path, extra: &[&str]) -> Run {
    let url = format!("{}{}", sb.url(), access(target).prefix);
    let vars = sandbox_env(target);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Hrport::new(&["template"])
        .target(target)
        .base_url(url)
        .output(file)
        .args(extra)
        .envs(&vars)
        .run()
}

/// One part of the xlsx zip, as text.
fn part(xlsx: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(xlsx).unwrap()).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut s).unwrap();
    s
}

/// The value of `attr="..."` in an XML start tag (from just after the tag's name).
fn attr(tag: &str, attr: &str) -> Option<String> {
    let tag = format!(" {tag}");
    let at = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// Every list validation of a sheet: (sqref, formula1), XML entities undone.
fn validations(sheet_xml: &str) -> Vec<(String, String)> {
    sheet_xml
        .split("<dataValidation ")
        .skip(1)
        .map(|v| {
            let sqref = attr(v, "sqref").unwrap();
            let f = &v[v.find("<formula1>").unwrap() + 10..v.find("</formula1>").unwrap()];
            (sqref, f.replace("&quot;", "\"").replace("&amp;", "&"))
        })
        .collect()
}

/// The number format of each column's default style: column number (1-based) -> format code.
fn column_formats(xlsx: &Path) -> std::collections::BTreeMap<u32, String> {
    let styles = part(xlsx, "xl/styles.xml");
    let codes: std::collections::HashMap<String, String> = styles
        .split("<numFmt ")
        .skip(1)
        .map(|t| (attr(t, "numFmtId").unwrap(), attr(t, "formatCode").unwrap()))
        .collect();
    let xfs = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
    let fmt_of_style: Vec<String> = xfs
        .split("<xf ")
        .skip(1)
        .map(|x| {
            let id = attr(x, "numFmtId").unwrap();
            // 49 is Excel's built-in text format.
            codes.get(&id).cloned().unwrap_or(if id == "49" { "@".into() } else { id })
        })
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for c in part(xlsx, "xl/worksheets/sheet1.xml").split("<col ").skip(1) {
        let (min, max): (u32, u32) =
            (attr(c, "min").unwrap().parse().unwrap(), attr(c, "max").unwrap().parse().unwrap());
        let style: usize = attr(c, "style").map_or(0, |s| s.parse().unwrap());
        for n in min..=max {
            out.insert(n, fmt_of_style[style].clone());
        }
    }
    out
}

/// Excel's column letters of a 0-based index.
fn letters(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (i % 26) as u8) as char);
        if i < 26 {
            return s;
        }
        i = i / 26 - 1;
    }
}

fn headers(xlsx: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut book: Xlsx<_> = open_workbook(xlsx).unwrap();
    let names = book.sheet_names().to_vec();
    let range = book.worksheet_range(&names[0]).unwrap();
    let rows = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    (names, rows)
}

/// The template with `rows` typed into its data sheet, as Excel would keep
/// them (inline strings in sheet1.xml; every other part as it was).
fn fill(template: &Path, out: &Path, rows: &[Vec<(usize, &str)>]) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(template).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut body = String::new();
        if name != "xl/worksheets/sheet1.xml" {
            drop(body);
            w.raw_copy_file(f).unwrap();
            continue;
        }
        f.read_to_string(&mut body).unwrap();
        let mut xml = String::new();
        for (r, cells) in rows.iter().enumerate() {
            xml.push_str(&format!("<row r=\"{}\">", r + 2));
            for (c, v) in cells {
                xml.push_str(&format!(
                    "<c r=\"{}{}\" t=\"inlineStr\"><is><t>{v}</t></is></c>",
                    letters(*c),
                    r + 2
                ));
            }
            xml.push_str("</row>");
        }
        let body = body.replacen("</sheetData>", &format!("{xml}</sheetData>"), 1);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file(name, opts).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap();
}

fn column(name: &str) -> usize {
    let info = hrport::targets::find("tracktik").unwrap().info();
    info.template.fields.iter().position(|f| f.column == name).unwrap()
}

#[test]
fn a_tracktik_template_has_the_columns_notes_formats_and_the_tenants_lists() {
    let sb = sandbox();
    let w = Work::new();
    let file = w.path("tracktik-template.xlsx");
    let r = template_from(&sb, "tracktik", &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "tracktik: wrote the template ".to_string()
            + &file.display().to_string()
            + " (34 columns, 6 with a dropdown)\n"
    );
    let (sheets, rows) = headers(&file);
    assert_eq!(sheets, ["People", "About"], "the data sheet first, no Lists sheet needed");
    let info = hrport::targets::find("tracktik").unwrap().info();
    let columns: Vec<&str> = info.template.fields.iter().map(|f| f.column).collect();
    assert_eq!(rows, vec![columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()]);

    // Dropdowns: the sandbox's own lists, inline, below the header.
    let (regions, roles, reasons) = sb.with(|s: &mut Sim| {
        let reasons: Vec<String> =
            s.termination_reasons.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
        (s.region_names(), s.role_names(), reasons)
    });
    assert_eq!(regions.len(), 6);
    let quoted = |v: &[String]| format!("\"{}\"", v.join(","));
    let col = |name: &str| letters(column(name));
    let dv = |name: &str| format!("{0}2:{0}1048576", col(name));
    let mut expected = vec![
        (dv("Region"), quoted(&regions)),
        (dv("Role"), quoted(&roles)),
        (dv("Overtime Exempt"), "\"yes,no\"".to_string()),
        (dv("Force Password Change"), "\"yes,no\"".to_string()),
        (dv("Status"), "\"Active,Terminated,Inactive\"".to_string()),
        (dv("Termination Reason"), quoted(&reasons)),
    ];
    let sheet1 = part(&file, "xl/worksheets/sheet1.xml");
    let mut got = validations(&sheet1);
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(sheet1.contains("errorStyle=\"warning\""), "ids and other spellings may be typed");

    // Formats: IDs, phones and postal codes text; dates as dates; numbers general.
    let formats = column_formats(&file);
    let fmt = |name: &str| formats[&(column(name) as u32 + 1)].clone();
    for text in ["Employee ID", "Primary Phone", "Secondary Phone", "Postal Code", "Region"] {
        assert_eq!(fmt(text), "@", "{text}");
    }
    for date in ["Birthday", "Employment Date", "Termination Date"] {
        assert_eq!(fmt(date), "yyyy-mm-dd", "{date}");
    }
    assert_eq!(fmt("Hourly Rate"), "0", "General");

    // Required headers are styled apart (bold on yellow), the others alike.
    let style =
        |name: &str| attr(sheet1.split(&format!("<c r=\"{}1\"", col(name))).nth(1).unwrap(), "s");
    assert_eq!(style("First Name"), style("Role"));
    assert_eq!(style("Tags"), style("Employee ID"));
    assert_ne!(style("First Name"), style("Tags"));

    // Notes: one per header, saying required and what it accepts.
    let comments = part(&file, "xl/comments1.xml");
    assert_eq!(comments.matches("<comment ").count(), columns.len());
    assert!(comments.contains("Region (required)"), "{comments}");
    assert!(comments.contains("Tags (optional)"));
    assert!(comments.contains("Role (required)"));
    assert!(comments.contains("Accepts: role name or id."));
    assert!(comments.contains("Pick from the list (6 values)."));
    let role_help = info.template.fields[column("Role")].help;
    assert!(comments.contains(&role_help.replace('"', "&quot;")), "the help line is in the note");
}

#[test]
fn a_list_longer_than_excel_allows_inline_goes_through_the_hidden_lists_sheet() {
    let sb = sandbox();
    let names: Vec<String> = (0..40).map(|i| format!("Region number {i:02}")).collect();
    sb.with(|s: &mut Sim| {
        for n in &names {
            s.add_region(n);
        }
    });
    let w = Work::new();
    let file = w.path("t.xlsx");
    let r = template_from(&sb, "tracktik", &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let all = sb.with(|s: &mut Sim| s.region_names());
    assert_eq!(all.len(), 46);
    let region = format!("{0}2:{0}1048576", letters(column("Region")));
    let got = validations(&part(&file, "xl/worksheets/sheet1.xml"));
    let formula = &got.iter().find(|(sqref, _)| *sqref == region).unwrap().1;
    assert_eq!(formula, "Lists!$A$2:$A$47");

    let mut book: Xlsx<_> = open_workbook(&file).unwrap();
    assert_eq!(book.sheet_names(), ["People", "About", "Lists"]);
    let lists = book.worksheet_range("Lists").unwrap();
    let col_a: Vec<String> = lists.rows().map(|r| r[0].to_string()).collect();
    assert_eq!(col_a[0], "Region");
    assert_eq!(col_a[1..], all[..]);
    let visible =
        book.sheets_metadata().iter().map(|s| (s.name.clone(), s.visible)).collect::<Vec<_>>();
    assert_eq!(visible[2], ("Lists".to_string(), calamine::SheetVisible::Hidden));
}

#[test]
fn the_template_imports_again_empty_and_filled_in_without_a_warning() {
    let sb = sandbox();
    let w = Work::new();
    let file = w.path("new-hires.xlsx");
    assert_eq!(template_from(&sb, "tracktik", &file, &[]).code, 0);

    let r = import(&sb, &file, &w.path("o1"), &["--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    // The one line an empty file earns; no warning about the template itself.
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        [format!("hrport: warning: {} has a header row but no data rows", file.display())]
    );

    let filled = w.path("filled.xlsx");
    let row = |id: &'static str, first: &'static str, email: &'static str| {
        vec![
            (column("Employee ID"), id),
            (column("First Name"), first),
            (column("Last Name"), "Okafor"),
            (column("Email"), email),
            (column("Region"), "EMEA"),
            (column("Role"), "Guard"),
            (column("Overtime Exempt"), "no"),
        ]
    };
    fill(
        &file,
        &filled,
        &[row("000732", "Farah", "farah@example.com"), row("0042", "Ade", "ade@example.com")],
    );
    let r = import(&sb, &filled, &w.path("o2"), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(statuses(&w.path("o2/results.csv")).len(), 2);
    let farah = employee_by_email(&sb, "farah@example.com").unwrap();
    assert_eq!(farah["customId"], "000732", "leading zeros kept");
    assert_eq!(
        sb.with(|s: &mut Sim| s.region_name(farah["region"].as_u64().unwrap()).map(str::to_string)),
        Some("EMEA".into())
    );
}

#[test]
fn an_offline_template_offers_the_profiles_tables_and_fixed_sets() {
    let w = Work::new();
    let profile = w.write(
        "trackops.toml",
        "target = \"trackops\"\n[options]\nlocations = { \"Head Office\" = 3, \"Denver Field Office\" = 4 }\n\
         roles = { Investigator = 7 }\n",
    );
    let file = w.path("trackops.xlsx");
    let r = Hrport::new(&["template"]).target("Trackops").output(&file).profile(&profile).run();
    assert_eq!(r.code, 0, "{r:?}");
    let info = hrport::targets::find("trackops").unwrap().info();
    let at = |name: &str| {
        let i = info.template.fields.iter().position(|f| f.column == name).unwrap();
        format!("{0}2:{0}1048576", letters(i))
    };
    let mut got = validations(&part(&file, "xl/worksheets/sheet1.xml"));
    got.sort();
    let mut expected = vec![
        (at("Location"), "\"Denver Field Office,Head Office\"".to_string()),
        (at("Role"), "\"Investigator\"".to_string()),
        (at("Access Level"), "\"Disabled,Limited Access,Full Access\"".to_string()),
        (at("Send Login Invitation"), "\"yes,no\"".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let about = {
        let mut book: Xlsx<_> = open_workbook(&file).unwrap();
        let range = book.worksheet_range("About").unwrap();
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
                    .trim_end_matches('|')
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(about[0], "hrport template for Trackops (case management Developer API v1)");
    assert!(
        about.contains(&format!(
            "Lists from|no tenant: the tables of profile {}",
            profile.display()
        )),
        "{about:?}"
    );
    assert!(
        about.iter().any(|l| l.starts_with(
            "|hrport import trackops.xlsx --target trackops --base-url URL --profile"
        )),
        "{about:?}"
    );
}

#[test]
fn a_template_never_overwrites_a_file_without_force_and_must_be_xlsx() {
    let w = Work::new();
    let file = w.write("keep.xlsx", "mine");
    let r = Hrport::new(&["template"]).target("scim").output(&file).run();
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "hrport: error: {} exists already; not overwriting it (give --force to replace it)\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let r = Hrport::new(&["template"]).target("scim").output(&file).flag("--force").run();
    assert_eq!(r.code, 0, "{r:?}");
    let csv = w.path("t.csv");
    let r = Hrport::new(&["template"]).target("scim").output(&csv).run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the template is a workbook; give a file name ending in .xlsx"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_scim_template_offers_the_services_groups() {
    let sb = sandbox();
    sb.with(|s: &mut hrport_sandbox::scim::Sim| {
        s.add_group(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Night Shift"}))
            .unwrap();
    });
    let w = Work::new();
    let file = w.path("scim.xlsx");
    let r = template_from(&sb, "scim", &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let got = validations(&part(&file, "xl/worksheets/sheet1.xml"));
    let info = hrport::targets::find("scim").unwrap().info();
    let groups = info.template.fields.iter().position(|f| f.column == "Groups").unwrap();
    let sqref = format!("{0}2:{0}1048576", letters(groups));
    assert!(got.contains(&(sqref, "\"Night Shift,Staff\"".to_string())), "{got:?}");
}

#[test]
fn an_intellihr_template_lists_the_permission_groups_without_reading_the_people() {
    let sb = sandbox();
    let w = Work::new();
    let file = w.path("ihr.xlsx");
    let r = template_from(&sb, "intellihr", &file, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let (groups, requests) =
        sb.with(|s: &mut hrport_sandbox::intellihr::Sim| (s.group_names(), s.requests));
    assert_eq!(groups.len(), 4);
    assert_eq!(requests, 1, "one page of permission groups; no people, no users");
    let info = hrport::targets::find("intellihr").unwrap().info();
    let at = |name: &str| {
        let i = info.template.fields.iter().position(|f| f.column == name).unwrap();
        format!("{0}2:{0}1048576", letters(i))
    };
    let mut got = validations(&part(&file, "xl/worksheets/sheet1.xml"));
    got.sort();
    let mut expected = vec![
        (at("Permission Groups"), format!("\"{}\"", groups.join(","))),
        (at("Gender"), "\"Female,Male,Non-binary,Other,Undisclosed\"".to_string()),
        (at("Login Enabled"), "\"yes,no\"".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let formats = column_formats(&file);
    let col =
        |name: &str| info.template.fields.iter().position(|f| f.column == name).unwrap() as u32 + 1;
    assert_eq!(formats[&col("Employee Number")], "@");
    assert_eq!(formats[&col("Phone")], "@");
    assert_eq!(formats[&col("Date of Birth")], "yyyy-mm-dd");
}
