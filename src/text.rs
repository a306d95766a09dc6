//! Small text rules shared by readers, mapping and writers.
//!
//! Pure functions only: header-name normalisation, "did you mean" suggestions,
//! and the spreadsheet-formula guard applied to every CSV cell hrport writes
//! (and undone, exactly once, on every cell it reads).

/// A header name reduced to what matters for matching: lower-case letters and
/// digits only, so "Employee_ID", "employee id" and "EMPLOYEE-ID" are equal.
pub fn normalize(name: &str) -> String {
    normalized(name).collect()
}

/// Whether two names are the same once normalized (see `normalize`).
pub fn same_name(a: &str, b: &str) -> bool {
    normalized(a).eq(normalized(b))
}

fn normalized(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase())
}

/// `n` and the noun, singular for one: "1 row", "3 rows".
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The word with its indefinite article, by its first letter: "an
/// intelliHR", "a TrackTik", "a SCIM".
pub fn a(word: &str) -> String {
    let vowel = word.chars().next().is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// At most `max` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// The candidate closest to `wanted`, when it is close enough to be a
/// plausible typo (case-insensitive Jaro-Winkler similarity).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&w, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Characters that make Excel treat a cell as a formula (OWASP CSV injection).
fn is_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// `map[key]` for a map whose keys are lower case: at once when the map is
/// empty, and without allocating for a short ASCII key, as every row asks.
pub fn get_lowercase<'m, V>(
    map: &'m std::collections::HashMap<String, V>,
    key: &str,
) -> Option<&'m V> {
    if map.is_empty() {
        return None;
    }
    let mut buf = [0u8; 64];
    if key.len() <= buf.len() && key.is_ascii() {
        let lower = &mut buf[..key.len()];
        lower.copy_from_slice(key.as_bytes());
        lower.make_ascii_lowercase();
        return map.get(std::str::from_utf8(lower).ok()?);
    }
    map.get(&key.to_lowercase())
}

/// Whether Excel would run the cell as a formula: `guard_cell` prefixes it.
pub fn needs_guard(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|&b| guards(b))
}

/// Whether a cell starting with this byte needs the guard: every trigger
/// is ASCII, so the first byte decides.
pub fn guards(first: u8) -> bool {
    is_trigger(first as char)
}

/// Prefixes a cell that Excel would run as a formula with `'`.
pub fn guard_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(s) { format!("'{s}").into() } else { s.into() }
}

/// Undoes `guard_cell`: removes exactly one `'` that precedes a trigger
/// character, so a results or errors file re-imports as it was written.
pub fn unguard_cell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.chars().next().is_some_and(is_trigger) => rest,
        _ => s,
    }
}

/// A cell's text as a value: unguarded (`unguard_cell`) and trimmed.
pub fn cell_value(s: &str) -> &str {
    let s = unguard_cell(s);
    // Most cells start and end with a visible ASCII character: nothing to
    // trim, and no need to decode the ends to look for Unicode spaces.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if a > b' ' && a < 0x80 && z > b' ' && z < 0x80 => s,
        _ => s.trim(),
    }
}

/// A count with thousands separators: 20000 -> "20,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// At most `max` items joined by ", ", then "and N more" for the rest, so
/// a file with 20,000 columns does not make a 20,000-name message.
pub fn capped_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), thousands(items.len() - max))
}

/// A message for the terminal: control characters from a file's text (a
/// NUL, an escape sequence that would clear the screen or retitle the
/// window) are shown escaped, never sent to the terminal. Line breaks and
/// tabs stay: messages use them.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return s.into();
    }
    s.chars()
        .map(|c| if bad(c) { c.escape_default().to_string() } else { c.to_string() })
        .collect::<String>()
        .into()
}

/// "a, b and c" for messages.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_the_same_whatever_their_case_spaces_and_punctuation() {
        for (a, b, same) in [
            ("Employee_ID", "employee id", true),
            ("EMPLOYEE-ID", "EmployeeID", true),
            ("Email", "E-mail 2", false),
            ("Email", "Emai", false),
            ("", " - ", true),
        ] {
            assert_eq!(super::same_name(a, b), same, "{a:?} {b:?}");
            assert_eq!(super::normalize(a) == super::normalize(b), same, "{a:?} {b:?}");
        }
    }

    #[test]
    fn counts_are_singular_for_one_and_articles_follow_the_sound_of_the_letter() {
        assert_eq!(super::count(1u32, "row"), "1 row");
        assert_eq!(super::count(0u32, "row"), "0 rows");
        assert_eq!(super::count(2u64, "row"), "2 rows");
        assert_eq!(super::a("intelliHR"), "an intelliHR");
        assert_eq!(super::a("TrackTik"), "a TrackTik");
    }

    use super::*;

    #[test]
    fn header_normalisation() {
        assert_eq!(normalize(" Employee_ID "), "employeeid");
        assert_eq!(normalize("E-mail Address"), "emailaddress");
        assert_eq!(normalize("Zip/Postcode"), "zippostcode");
    }

    #[test]
    fn formula_guard_round_trips() {
        for s in ["=SUM(A1)", "+1 555 0100", "-5", "@cmd", "\tx", "plain", "'quoted", ""] {
            assert_eq!(unguard_cell(&guard_cell(s)), s, "{s:?}");
        }
        assert_eq!(guard_cell("=1+1"), "'=1+1");
        assert_eq!(guard_cell("'=x"), "'=x");
        assert_eq!(unguard_cell("'hello"), "'hello");
    }

    #[test]
    fn a_cells_value_is_unguarded_and_trimmed_of_any_space() {
        for (cell, value) in [
            ("plain", "plain"),
            ("  padded\t", "padded"),
            ("\u{a0}no-break\u{3000}", "no-break"),
            ("\u{85}next line", "next line"),
            ("'+1 555 0100 ", "+1 555 0100"),
            ("'quoted", "'quoted"),
            ("é", "é"),
            ("\u{7f}", "\u{7f}"),
            ("", ""),
            ("   ", ""),
        ] {
            assert_eq!(cell_value(cell), value, "{cell:?}");
        }
    }

    #[test]
    fn counts_and_capped_lists() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(19_990), "19,990");
        assert_eq!(thousands(10_485_760), "10,485,760");
        let names: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
        assert_eq!(capped_list(&names, 5), "c0, c1, c2, c3, c4");
        assert_eq!(capped_list(&names, 2), "c0, c1 and 3 more");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(printable("plain\nlines\tand tabs"), "plain\nlines\tand tabs");
        assert_eq!(printable("a\u{1b}[2Jb\0c\u{9b}d"), "a\\u{1b}[2Jb\\u{0}c\\u{9b}d");
    }

    #[test]
    fn suggestions() {
        let names = ["Head Office", "NA-East", "NA-West", "EMEA"];
        assert_eq!(closest("NA East", names), Some("NA-East"));
        assert_eq!(closest("emea", names), Some("EMEA"));
        assert_eq!(closest("Zanzibar", names), None);
    }
}
