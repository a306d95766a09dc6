//! Writes samples/tracktik-new-hires.{xlsx,csv}: 50 new hires, a few of them
//! invalid on purpose so errors.csv shows something. Deterministic; run with
//! `cargo run --example make_samples` after changing it.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const HEADERS: [&str; 16] = [
    "Employee ID",
    "First Name",
    "Last Name",
    "Email",
    "Primary Phone",
    "Job Title",
    "Region",
    "Role",
    "Hire Date",
    "Birthday",
    "City",
    "Country",
    "Employee Type",
    "Hourly Rate",
    "Weekly Hours Target",
    "Force Password Change",
];

const FIRST: [&str; 25] = [
    "Ana",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Eilidh",
    "Farah",
    "Gonzalo",
    "Hana",
    "Ibrahim",
    "Jürgen",
    "Kaito",
    "Léa",
    "Mateo",
    "Nkechi",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
    "Uma",
    "Valentina",
    "Wei",
    "Ximena",
    "Yusuf",
];
const LAST: [&str; 10] = [
    "Silva",
    "Okafor",
    "Müller",
    "Nguyen",
    "O'Brien",
    "García",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Tanaka",
];
const REGIONS: [&str; 6] = ["Head Office", "NA-East", "NA-West", "EMEA", "APAC", "LATAM"];
const ROLES: [&str; 4] = ["Guard", "Guard", "Supervisor", "Mobile Patrol"];
const CITIES: [(&str, &str); 6] = [
    ("Toronto", "CA"),
    ("Boston", "US"),
    ("Denver", "US"),
    ("Lisbon", "PT"),
    ("Singapore", "SG"),
    ("Bogotá", "CO"),
];

struct Row {
    cells: Vec<String>,
}

fn rows() -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for i in 0..50usize {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7) % LAST.len()];
        let region_i = i % REGIONS.len();
        let (city, country) = CITIES[region_i];
        let ascii = |s: &str| {
            s.chars()
                .map(|c| match c {
                    'é' => 'e',
                    'ü' => 'u',
                    'ø' => 'o',
                    'á' => 'a',
                    'í' => 'i',
                    'ó' => 'o',
                    'ñ' => 'n',
                    '\'' => 'x',
                    c => c,
                })
                .collect::<String>()
                .to_lowercase()
        };
        let mut cells = vec![
            format!("{:06}", 451 + i),
            first.to_string(),
            last.to_string(),
            format!("{}.{}{}@example.com", ascii(first), ascii(last).replace('x', ""), i),
            format!("+1 555 01{:02}", i),
            if ROLES[i % 4] == "Supervisor" {
                "Shift Supervisor".into()
            } else {
                "Security Officer".into()
            },
            REGIONS[region_i].to_string(),
            ROLES[i % 4].to_string(),
            format!("2026-12-{:02}", 1 + i % 28),
            format!("{}-{:02}-{:02}", 1970 + (i * 3) % 35, 1 + i % 12, 1 + (i * 5) % 28),
            city.to_string(),
            country.to_string(),
            if i % 5 == 4 { "PART_TIME".into() } else { "EMPLOYEE".into() },
            format!("{}.{}", 18 + i % 7, if i % 2 == 0 { "50" } else { "00" }),
            if i % 5 == 4 { "24".into() } else { "40".into() },
            if i % 3 == 0 { "yes".into() } else { "no".into() },
        ];
        // The invalid rows, one problem each.
        match i {
            7 => cells[6] = "Europe".into(),                  // no such region
            15 => cells[3] = "farah.okafor15@example".into(), // e-mail without a domain
            23 => cells[8] = "2026-02-30".into(),             // impossible date
            31 => cells[3] = out[2].cells[3].clone(),         // repeats row 4's e-mail
            42 => cells[2] = String::new(),                   // Last Name missing
            _ => {}
        }
        out.push(Row { cells });
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = rows();

    // CSV: UTF-8 with a BOM, as Excel's "CSV UTF-8" writes it.
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    w.write_record(HEADERS)?;
    for r in &rows {
        w.write_record(&r.cells)?;
    }
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(w.into_inner()?);
    std::fs::write("samples/tracktik-new-hires.csv", bytes)?;

    // XLSX: IDs as text (leading zeros), dates as date cells, numbers as numbers.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("New hires")?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.cells.iter().enumerate() {
            let c16 = c as u16;
            let as_date = (c == 8 || c == 9).then(|| chrono_like(v)).flatten();
            if let Some((y, m, d)) = as_date {
                sheet.write_datetime_with_format(
                    r,
                    c16,
                    &ExcelDateTime::from_ymd(y, m, d)?,
                    &date,
                )?;
            } else if (c == 13 || c == 14) && v.parse::<f64>().is_ok() {
                sheet.write_number(r, c16, v.parse::<f64>()?)?;
            } else if !v.is_empty() {
                sheet.write_string(r, c16, v)?;
            }
        }
    }
    sheet.autofit();
    book.save("samples/tracktik-new-hires.xlsx")?;
    println!("wrote samples/tracktik-new-hires.csv and .xlsx ({} rows)", rows.len());
    Ok(())
}

/// A real calendar date as (y, m, d); impossible dates stay text, as a
/// person would have typed them.
fn chrono_like(v: &str) -> Option<(u16, u8, u8)> {
    let mut p = v.split('-');
    let (y, m, d) = (p.next()?.parse().ok()?, p.next()?.parse().ok()?, p.next()?.parse().ok()?);
    let days = match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (d >= 1 && d <= days).then_some((y, m, d))
}
