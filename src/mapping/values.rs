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

/// Day/month order of a date column whose values are written `a/b/yyyy`
/// (or with `.` or `-`), decided for the whole column (see `SlashDate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    DayFirst,
    MonthFirst,
}

impl Order {
    /// The strftime format a person would give for this order.
    pub fn format(self, sep: char) -> String {
        match self {
            Order::DayFirst => format!("%d{sep}%m{sep}%Y"),
            Order::MonthFirst => format!("%m{sep}%d{sep}%Y"),
        }
    }
}

/// A date written `a/b/yyyy` (Excel's own rewriting of dates in a CSV),
/// with what its numbers allow: a day above 12 fixes the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlashDate {
    pub a: u32,
    pub b: u32,
    pub year: i32,
    pub sep: char,
}

impl SlashDate {
    pub fn parse(s: &str) -> Option<SlashDate> {
        let sep = s.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
        let mut parts = s.split(sep);
        let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
        let short = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
        if parts.next().is_some() || !short(a) || !short(b) || y.len() != 4 {
            return None;
        }
        if !y.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(SlashDate { a: a.parse().ok()?, b: b.parse().ok()?, year: y.parse().ok()?, sep })
    }

    /// The one order its numbers allow, if only one does.
    pub fn forced(&self) -> Option<Order> {
        match (self.a > 12, self.b > 12) {
            (true, false) => Some(Order::DayFirst),
            (false, true) => Some(Order::MonthFirst),
            _ => None,
        }
    }

    pub fn date(&self, order: Order) -> Option<NaiveDate> {
        let (d, m) = match order {
            Order::DayFirst => (self.a, self.b),
            Order::MonthFirst => (self.b, self.a),
        };
        NaiveDate::from_ymd_opt(self.year, m, d)
    }
}

/// Removes a midnight time part (`2025-03-03 00:00:00`, Excel's US
/// `5/5/2025 0:00`): a date-time at midnight is a date.
fn strip_midnight(s: &str) -> &str {
    // A byte search: most date cells are short and have no space, and the
    // general string search costs more than the whole ISO reading.
    let Some(space) = s.bytes().position(|b| b == b' ') else {
        return s;
    };
    let (date, time) = (&s[..space], &s[space + 1..]);
    let time = time.trim();
    let (time, am) = match time.strip_suffix("AM").or_else(|| time.strip_suffix("am")) {
        Some(t) => (t.trim_end(), true),
        None => (time, false),
    };
    let zeros = |p: &str| !p.is_empty() && p.bytes().all(|c| c == b'0');
    let parts: Vec<&str> = time.split(':').collect();
    let hour_ok = |h: &str| h.len() <= 2 && (zeros(h) || (am && h == "12"));
    let midnight = match parts.as_slice() {
        [h, m] => hour_ok(h) && m.len() == 2 && zeros(m),
        [h, m, sec] => {
            hour_ok(h) && m.len() == 2 && zeros(m) && sec.split('.').all(zeros) && sec.len() >= 2
        }
        _ => false,
    };
    if midnight { date } else { s }
}

/// A date cell: ISO (with or without a time part), a midnight date-time,
/// one of `formats`, `a/b/yyyy` in the column's decided `order`, or an
/// Excel serial number.
pub fn parse_date(
    s: &str,
    formats: &DateFormats,
    order: Option<Order>,
) -> Result<NaiveDate, String> {
    let not_real = || format!("{s:?} is not a real date");
    let s0 = s;
    let s = strip_midnight(s);
    // ISO first: YYYY-MM-DD, or the date part of an ISO date-time that a
    // workbook's date-time cell turns into.
    let iso =
        s.get(..10).filter(|d| looks_iso(d)).filter(|_| s.len() == 10 || s.as_bytes()[10] == b'T');
    if let Some(d) = iso {
        // Fixed digit positions (checked by `looks_iso`): no format parser
        // needed, and chrono still decides whether the day exists.
        let n = |r: std::ops::Range<usize>| {
            d.as_bytes()[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'))
        };
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
    if let Some(sd) = SlashDate::parse(s) {
        return slash_date(s0, sd, formats, order);
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
    Err(format!("{s0:?} is not a date ({hint})"))
}

/// `a/b/yyyy` that no given format read: the column's order if it has one,
/// the one date both orders agree on (`5/5/2025`), else a message naming
/// the format (or both candidates) to give.
fn slash_date(
    s: &str,
    sd: SlashDate,
    formats: &DateFormats,
    order: Option<Order>,
) -> Result<NaiveDate, String> {
    let not_real = || format!("{s:?} is not a real date");
    if let Some(o) = order {
        return sd.date(o).ok_or_else(not_real);
    }
    if sd.a == sd.b {
        return sd.date(Order::DayFirst).ok_or_else(not_real);
    }
    let given = if formats.0.is_empty() {
        String::new()
    } else {
        format!(" (it does not match {})", formats.0.join(" or "))
    };
    match sd.forced() {
        Some(o) if sd.date(o).is_some() => Err(format!(
            "{s:?} is not a date hrport reads by itself{given}; it looks like {f}: add --date-format {f}",
            f = o.format(sd.sep)
        )),
        Some(_) => Err(not_real()),
        None if sd.a > 12 => Err(not_real()),
        None => Err(format!(
            "{s:?} could be {} or {}{given}: add --date-format with the one your file uses",
            Order::DayFirst.format(sd.sep),
            Order::MonthFirst.format(sd.sep)
        )),
    }
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
    let is = |words: [&str; 4]| words.iter().any(|w| w.eq_ignore_ascii_case(s));
    if is(["yes", "y", "true", "1"]) {
        Ok(true)
    } else if is(["no", "n", "false", "0"]) {
        Ok(false)
    } else {
        Err(format!("{s:?} is not yes/no (use yes, no, true, false, y, n, 1 or 0)"))
    }
}

/// A number as a person types it: `18.75`; `18,75` where the file's
/// delimiter leaves the comma free for decimals (`decimal_comma`: a `;` or
/// tab file); thousands separators where they cannot be misread
/// (`1,250.50`, `1.250,50`, `1,250,000`). Never exponents (`1e2`), `inf`
/// or `NaN`: no one types an amount that way, and a key pasted as one
/// would be silently changed.
pub fn parse_number(s: &str, min: Option<f64>, decimal_comma: bool) -> Result<f64, String> {
    let v = plain_number(s, decimal_comma)?;
    match min {
        Some(m) if v < m => Err(format!("{s} is below the minimum of {m}")),
        _ => Ok(v),
    }
}

fn plain_number(s: &str, decimal_comma: bool) -> Result<f64, String> {
    let bad = || format!("{s:?} is not a number");
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    // The common case, digits with at most one decimal point and digits on
    // both sides of it, needs none of the separator rules below (which read
    // "1.250" as ambiguous only in a decimal-comma file).
    if let Some(v) = simple_number(body, decimal_comma) {
        return Ok(if s.starts_with('-') { -v } else { v });
    }
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b',') {
        return Err(bad());
    }
    let (commas, dots) = (body.matches(',').count(), body.matches('.').count());
    // Which separator is the decimal one, if any.
    let decimal = match (commas, dots) {
        (0, 0) => None,
        (0, 1) => Some('.'),
        (1, 0) if decimal_comma => Some(','),
        (1, 0) => {
            return Err(format!(
                "{s:?} is ambiguous: the comma may separate thousands or decimals; \
                 write it without the comma, or with a decimal point"
            ));
        }
        (_, 0) => None, // 1,250,000
        (0, _) => None, // 1.250.000
        _ => {
            // Both: the last one is the decimal separator, and there is one.
            let last = body.rfind([',', '.']).map(|i| body.as_bytes()[i] as char);
            let d = last.ok_or_else(bad)?;
            if body.matches(d).count() != 1 {
                return Err(bad());
            }
            Some(d)
        }
    };
    let (int, frac) = match decimal {
        Some(d) => body.split_once(d).ok_or_else(bad)?,
        None => (body, ""),
    };
    // One separator before exactly three digits (`1,250`, `1.250`) may
    // separate thousands in the other convention: in a file where either
    // reading is the file's own, it is refused rather than guessed.
    if decimal_comma
        && commas + dots == 1
        && frac.len() == 3
        && (1..=3).contains(&int.len())
        && !int.starts_with('0')
    {
        return Err(format!(
            "{s:?} is ambiguous: the {} may separate thousands or decimals; write it without \
             thousands separators",
            if commas == 1 { "comma" } else { "point" }
        ));
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let thousands = if decimal == Some('.') { ',' } else { '.' };
    let int = if int.is_empty() && decimal.is_some() {
        "0".to_string()
    } else {
        grouped(int, thousands, decimal.is_none()).ok_or_else(bad)?
    };
    let sign = if s.starts_with('-') { "-" } else { "" };
    format!("{sign}{int}.{}", if frac.is_empty() { "0" } else { frac })
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(bad)
}

/// 1e0 to 1e15, each exact in an f64 (written out: `powi` promises no precision).
const POWERS_OF_TEN: [f64; 16] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// `body` (no sign) as a number if it is digits, or digits, a point and
/// digits, and not a point before three digits in a decimal-comma file.
fn simple_number(body: &str, decimal_comma: bool) -> Option<f64> {
    // A byte search, not `split_once`: numbers are short.
    let (int, frac) = match body.bytes().position(|b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, ""),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    let ok = digits(int) && (frac.is_empty() && !body.ends_with('.') || digits(frac));
    if !ok || decimal_comma && frac.len() == 3 {
        return None;
    }
    // Up to 15 digits, the digits as an integer and the power of ten are
    // both exact in an f64, so one division rounds exactly as parsing does
    // (the fast path of every correct float parser), for a fraction of it.
    if int.len() + frac.len() <= 15 {
        let n = int.bytes().chain(frac.bytes()).fold(0u64, |n, c| n * 10 + u64::from(c - b'0'));
        return Some(n as f64 / POWERS_OF_TEN[frac.len()]);
    }
    body.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The digits of an integer part, its thousands separators removed when
/// they group by three; `either` when the separator may be `,` or `.`.
fn grouped(int: &str, sep: char, either: bool) -> Option<String> {
    let seps: &[char] = if either { &[',', '.'] } else { &[sep] };
    if !int.contains(seps) {
        return (!int.is_empty() && int.bytes().all(|c| c.is_ascii_digit()))
            .then(|| int.to_string());
    }
    let used = int.chars().find(|c| seps.contains(c))?;
    let groups: Vec<&str> = int.split(used).collect();
    let digits = |g: &str| g.bytes().all(|c| c.is_ascii_digit());
    let first_ok = (1..=3).contains(&groups[0].len()) && digits(groups[0]);
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3 && digits(g));
    (first_ok && rest_ok).then(|| groups.concat())
}

/// A practical e-mail form check: one `@`, a non-empty local part, a dotted
/// domain of letters, digits and hyphens, and no spaces.
pub fn check_email(s: &str) -> Result<(), String> {
    // Every row has one: ASCII addresses take a single pass over bytes.
    let ok = if s.is_ascii() { ascii_email_ok(s.as_bytes()) } else { email_ok(s) };
    if ok { Ok(()) } else { Err(format!("{s:?} is not a valid e-mail address")) }
}

fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
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
        return false;
    }
    let ok_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let top = domain.rsplit('.').next().unwrap_or("");
    domain.contains('.') && top.len() >= 2 && domain.split('.').all(ok_label)
}

/// What each byte may be in an ASCII address (see `ascii_email_ok`).
const REFUSED: u8 = 1;
const IN_LABEL: u8 = 2;
static ADDRESS_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_whitespace()
            || matches!(b, 0x0B | b',' | b';' | b'<' | b'>' | b'"' | b'(' | b')')
        {
            t[c] |= REFUSED;
        }
        if b.is_ascii_alphanumeric() || b == b'-' {
            t[c] |= IN_LABEL;
        }
        c += 1;
    }
    t
};

/// `email_ok` for an ASCII address.
fn ascii_email_ok(b: &[u8]) -> bool {
    let class = |c: u8| ADDRESS_BYTES[c as usize];
    if b.len() > 254 {
        return false;
    }
    // The local part, up to the first `@`: 1 to 64 characters, none
    // refused, no dot first, last or twice in a row.
    let at = b.iter().position(|&c| c == b'@').unwrap_or(b.len());
    let local = &b[..at];
    let mut prev = b'.';
    for &c in local {
        if class(c) & REFUSED != 0 || (c == b'.' && prev == b'.') {
            return false;
        }
        prev = c;
    }
    if at == b.len() || local.is_empty() || local.len() > 64 || prev == b'.' {
        return false;
    }
    // The domain, in one pass: two labels or more of letters, digits and
    // hyphens, none empty or starting or ending with a hyphen, the last
    // of two characters or more.
    let (mut labels, mut len, mut first, mut prev) = (0, 0, 0u8, 0u8);
    for &c in &b[at + 1..] {
        if c == b'.' {
            if len == 0 || first == b'-' || prev == b'-' {
                return false;
            }
            labels += 1;
            len = 0;
        } else if class(c) & IN_LABEL != 0 {
            if len == 0 {
                first = c;
            }
            len += 1;
        } else {
            return false;
        }
        prev = c;
    }
    labels >= 1 && len >= 2 && first != b'-' && prev != b'-'
}

/// Splits a list cell on `;` or `,`, trimming and dropping empty items.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', ',']).map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_date_(s: &str, formats: &DateFormats) -> Result<NaiveDate, String> {
        parse_date(s, formats, None)
    }

    fn parse_number_(s: &str, min: Option<f64>) -> Result<f64, String> {
        parse_number(s, min, false)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dates() {
        let none = DateFormats::default();
        assert_eq!(parse_date_("2024-02-29", &none), Ok(d("2024-02-29")));
        assert_eq!(parse_date_("2024-02-29T13:00:00", &none), Ok(d("2024-02-29")));
        assert_eq!(
            parse_date_("2023-02-30", &none),
            Err("\"2023-02-30\" is not a real date".into())
        );
        assert_eq!(parse_date_("45943", &none), Ok(d("2025-10-13")));
        assert_eq!(parse_date_("1", &none), Ok(d("1900-01-01")));
        assert_eq!(
            parse_date_("13/02/2023", &none),
            Err("\"13/02/2023\" is not a date hrport reads by itself; it looks like %d/%m/%Y: \
                 add --date-format %d/%m/%Y"
                .into())
        );
        assert!(parse_date_("next week", &none).unwrap_err().contains("give --date-format"));
        let uk = DateFormats(vec!["%d/%m/%Y".into()]);
        assert_eq!(parse_date_("13/02/2023", &uk), Ok(d("2023-02-13")));
        assert_eq!(parse_date_("30/02/2023", &uk), Err("\"30/02/2023\" is not a real date".into()));
        assert!(parse_date_("next week", &uk).unwrap_err().contains("%d/%m/%Y"));
    }

    #[test]
    fn midnight_date_times_are_dates() {
        let none = DateFormats::default();
        for s in ["2025-03-03 00:00:00", "2025-03-03 00:00", "2025-03-03 00:00:00.000"] {
            assert_eq!(parse_date_(s, &none), Ok(d("2025-03-03")), "{s}");
        }
        assert_eq!(parse_date_("3/3/2025 0:00", &none), Ok(d("2025-03-03")));
        assert_eq!(parse_date_("3/3/2025 12:00:00 AM", &none), Ok(d("2025-03-03")));
        assert!(parse_date_("2025-03-03 13:00:00", &none).is_err());
        assert!(parse_date_("2025-03-03 12:00:00", &none).is_err());
    }

    #[test]
    fn excel_rewritten_dates_by_the_column_order() {
        let none = DateFormats::default();
        // Both orders agree.
        assert_eq!(parse_date_("5/5/2025", &none), Ok(d("2025-05-05")));
        assert_eq!(
            parse_date_("5/13/2025", &none),
            Err("\"5/13/2025\" is not a date hrport reads by itself; it looks like %m/%d/%Y: \
                 add --date-format %m/%d/%Y"
                .into())
        );
        assert_eq!(
            parse_date_("3/4/2025", &none),
            Err("\"3/4/2025\" could be %d/%m/%Y or %m/%d/%Y: add --date-format with the one \
                 your file uses"
                .into())
        );
        assert_eq!(parse_date("3/4/2025", &none, Some(Order::MonthFirst)), Ok(d("2025-03-04")));
        assert_eq!(parse_date("3.4.2025", &none, Some(Order::DayFirst)), Ok(d("2025-04-03")));
        assert_eq!(
            parse_date("13/13/2025", &none, Some(Order::DayFirst)),
            Err("\"13/13/2025\" is not a real date".into())
        );
        let sd = SlashDate::parse("13.05.2025").unwrap();
        assert_eq!(sd.forced(), Some(Order::DayFirst));
        assert_eq!(SlashDate::parse("2025/05/05"), None);
        assert_eq!(SlashDate::parse("1/2/25"), None);
    }

    #[test]
    fn numbers_as_people_write_them() {
        let n = |s: &str, comma: bool| parse_number(s, None, comma);
        assert_eq!(n("18,75", true), Ok(18.75));
        assert_eq!(n("18.75", true), Ok(18.75));
        assert_eq!(n("1,250.50", false), Ok(1250.5));
        assert_eq!(n("1.250,50", false), Ok(1250.5));
        assert_eq!(n("1.250,50", true), Ok(1250.5));
        assert_eq!(n("1,250,000", false), Ok(1_250_000.0));
        assert_eq!(n("-1,250.5", false), Ok(-1250.5));
        assert_eq!(n(".5", false), Ok(0.5));
        assert_eq!(n("1.250", false), Ok(1.25));
        assert_eq!(n("0,125", true), Ok(0.125));
        for ambiguous in ["1,250", "1.250"] {
            assert!(n(ambiguous, true).unwrap_err().contains("is ambiguous"), "{ambiguous}");
        }
        assert_eq!(n("42", false), Ok(42.0));
        assert_eq!(
            n("18,75", false),
            Err("\"18,75\" is ambiguous: the comma may separate thousands or decimals; write \
                 it without the comma, or with a decimal point"
                .into())
        );
        for bad in
            ["1e2", "1E2", "inf", "NaN", "1,25.50", "1.250.50,1,2", "12,34,5", "1..2", "", "-"]
        {
            assert_eq!(n(bad, true), Err(format!("{bad:?} is not a number")), "{bad}");
        }
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
        assert_eq!(parse_number_("18.50", Some(0.0)), Ok(18.5));
        assert!(parse_number_("-1", Some(0.0)).unwrap_err().contains("minimum"));
        assert!(parse_number_("ten", None).is_err());
        assert!(parse_number_("NaN", None).is_err());
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
    fn short_numbers_are_read_exactly_as_the_float_parser_reads_them() {
        let mut texts: Vec<String> =
            (0..20_000).map(|i| format!("{}.{:02}", i / 7, i % 100)).collect();
        texts.extend(
            ["0.1", "0.3", "123456789012345", "12345678.1234567", "9007199254740993"]
                .map(String::from),
        );
        texts.extend((0..15).map(|k| format!("0.{}1", "0".repeat(k))));
        for t in &texts {
            assert_eq!(simple_number(t, false), t.parse::<f64>().ok(), "{t}");
        }
    }

    #[test]
    fn ascii_addresses_are_judged_as_any_other() {
        let parts =
            ["a", ".", "@", "-", "b.co", "x y", ",", "\u{b}", "\t", "co", "'", "+", "9", ""];
        let mut tried = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let s = format!("{a}{b}{c}{d}");
                        assert_eq!(ascii_email_ok(s.as_bytes()), email_ok(&s), "{s:?}");
                        tried += 1;
                    }
                }
            }
        }
        assert!(tried > 30_000);
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(!ascii_email_ok(long.as_bytes()) && !email_ok(&long));
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" a; b ,c;;").collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
