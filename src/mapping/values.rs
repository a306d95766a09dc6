//! Parsers for cell values: dates, numbers, booleans, e-mail addresses.
//!
//! Pure functions from trimmed text to a typed value or a message a person
//! understands. The messages name the value but not the column; the caller
//! adds the column.

use chrono::NaiveDate;

/// Date formats tried after ISO and before Excel serial numbers.
#[derive(Debug, Clone, Default)]
pub struct DateFormats(pub Vec<String>);

/// Excel's first and last valid serial dates (1900-01-01 .. 9999-12-31).
const EXCEL_SERIAL_RANGE: std::ops::RangeInclusive<f64> = 1.0..=2_958_465.0;

pub fn parse_date(s: &str, formats: &DateFormats) -> Result<NaiveDate, String> {
    let not_real = || format!("{s:?} is not a real date");
    // ISO first: YYYY-MM-DD, or the date part of an ISO date-time that a
    // workbook's date-time cell turns into.
    let iso =
        s.get(..10).filter(|d| looks_iso(d)).filter(|_| s.len() == 10 || s.as_bytes()[10] == b'T');
    if let Some(d) = iso {
        // Fixed digit positions (checked by `looks_iso`): no format parser
        // needed, and chrono still decides whether the day exists.
        let n = |r: std::ops::Range<usize>| d[r].parse::<u32>().unwrap_or(0);
        return NaiveDate::from_ymd_opt(n(0..4) as i32, n(5..7), n(8..10)).ok_or_else(not_real);
    }
    let mut impossible = false;
    for f in &formats.0 {
        match NaiveDate::parse_from_str(s, f) {
            Ok(d) => return Ok(d),
            Err(e) if e.kind() == chrono::format::ParseErrorKind::OutOfRange => impossible = true,
            Err(_) => {}
        }
    }
    if impossible {
        return Err(not_real());
    }
    if let Ok(serial) = s.parse::<f64>()
        && EXCEL_SERIAL_RANGE.contains(&serial)
    {
        return Ok(excel_serial_date(serial));
    }
    let hint = if formats.0.is_empty() {
        "use YYYY-MM-DD, or give --date-format".to_string()
    } else {
        format!("use YYYY-MM-DD or {}", formats.0.join(" or "))
    };
    Err(format!("{s:?} is not a date ({hint})"))
}

fn looks_iso(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// An Excel serial number (1900 date system) as a date. Serial 60 is
/// Excel's fictitious 1900-02-29; serials below it are shifted by one day.
pub fn excel_serial_date(serial: f64) -> NaiveDate {
    let days = serial.floor() as i64;
    let days = if days < 60 { days + 1 } else { days };
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default() + chrono::Duration::days(days)
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("{s:?} is not yes/no (use yes, no, true, false, y, n, 1 or 0)")),
    }
}

pub fn parse_number(s: &str, min: Option<f64>) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{s:?} is not a number"))?;
    match min {
        Some(m) if v < m => Err(format!("{s} is below the minimum of {m}")),
        _ => Ok(v),
    }
}

/// A practical e-mail form check: one `@`, a non-empty local part, a dotted
/// domain of letters, digits and hyphens, and no spaces.
pub fn check_email(s: &str) -> Result<(), String> {
    let bad = || format!("{s:?} is not a valid e-mail address");
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || s.len() > 254
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"' | '(' | ')'))
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let ok_label = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2
        || !labels.iter().all(ok_label)
        || labels.last().is_some_and(|t| t.len() < 2)
    {
        return Err(bad());
    }
    Ok(())
}

/// Splits a list cell on `;` or `,`, trimming and dropping empty items.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', ',']).map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dates() {
        let none = DateFormats::default();
        assert_eq!(parse_date("2024-02-29", &none), Ok(d("2024-02-29")));
        assert_eq!(parse_date("2024-02-29T13:00:00", &none), Ok(d("2024-02-29")));
        assert_eq!(
            parse_date("2023-02-30", &none),
            Err("\"2023-02-30\" is not a real date".into())
        );
        assert_eq!(parse_date("45943", &none), Ok(d("2025-10-13")));
        assert_eq!(parse_date("1", &none), Ok(d("1900-01-01")));
        assert!(parse_date("13/02/2023", &none).unwrap_err().contains("give --date-format"));
        let uk = DateFormats(vec!["%d/%m/%Y".into()]);
        assert_eq!(parse_date("13/02/2023", &uk), Ok(d("2023-02-13")));
        assert_eq!(parse_date("30/02/2023", &uk), Err("\"30/02/2023\" is not a real date".into()));
        assert!(parse_date("next week", &uk).unwrap_err().contains("%d/%m/%Y"));
    }

    #[test]
    fn booleans_and_numbers() {
        for t in ["yes", "Y", "TRUE", "1"] {
            assert_eq!(parse_bool(t), Ok(true));
        }
        for f in ["no", "N", "false", "0"] {
            assert_eq!(parse_bool(f), Ok(false));
        }
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_number("18.50", Some(0.0)), Ok(18.5));
        assert!(parse_number("-1", Some(0.0)).unwrap_err().contains("minimum"));
        assert!(parse_number("ten", None).is_err());
        assert!(parse_number("NaN", None).is_err());
    }

    #[test]
    fn emails() {
        for ok in
            ["a@b.co", "first.last+tag@example.co.uk", "o'neil@example.com", "jürgen@bücher.de"]
        {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@@b.com",
            "a@b.c",
            "a@-b.com",
            ".a@b.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" a; b ,c;;").collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
