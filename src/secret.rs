//! A string that never prints itself.
//!
//! Passwords, client secrets and tokens are held in `Secret` from the moment
//! they are read from the environment. `Debug` and `Display` print
//! `(redacted)`, so a secret cannot leak through a log line, an error message
//! or a panic; code that must send it calls `expose()` at the last moment.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "(redacted) (redacted) Some((redacted))");
        assert_eq!(s.expose(), "hunter2");
    }
}

/// What makes Excel read a cell as a formula (see `text::guard_cell`).
const FORMULA_START: &str = "=+-@";

/// Character classes for generated passwords.
const CLASSES: [(char, &str); 4] = [
    ('u', "ABCDEFGHJKLMNPQRSTUVWXYZ"),
    ('l', "abcdefghijkmnopqrstuvwxyz"),
    ('d', "23456789"),
    ('s', "!#$%*+-=?@^_"),
];

/// A random password from the operating system's generator: `len`
/// characters with at least one of each class in `classes` (u = upper
/// case, l = lower case, d = digits, s = symbols). Look-alike characters
/// (0/O, 1/l/I) are left out, since people type these in.
pub fn generate_password(len: usize, classes: &str) -> Result<Secret, String> {
    let sets: Vec<&str> =
        CLASSES.iter().filter(|(c, _)| classes.contains(*c)).map(|(_, s)| *s).collect();
    if sets.is_empty() || classes.chars().any(|c| !CLASSES.iter().any(|(k, _)| *k == c)) {
        return Err(format!("password classes {classes:?}: use letters from u, l, d, s"));
    }
    if len < sets.len().max(8) || len > 128 {
        return Err(format!("password length {len}: use 8 to 128"));
    }
    let all: Vec<char> = sets.iter().flat_map(|s| s.chars()).collect();
    let mut out: Vec<char> = Vec::with_capacity(len);
    for s in &sets {
        let set: Vec<char> = s.chars().collect();
        out.push(set[below(set.len())?]);
    }
    while out.len() < len {
        out.push(all[below(all.len())?]);
    }
    // Fisher-Yates, so the guaranteed characters are not always first.
    for i in (1..out.len()).rev() {
        out.swap(i, below(i + 1)?);
    }
    // Never a first character a spreadsheet reads as a formula: credentials.csv
    // would have to guard it with a `'`, and the person handed the password
    // would then type one character too many.
    if let Some(j) = out.iter().position(|c| !FORMULA_START.contains(*c)) {
        out.swap(0, j);
    }
    Ok(Secret(out.into_iter().collect()))
}

/// A uniform random number in `0..n` from the operating system's generator
/// (rejection sampling: no bias towards small numbers).
fn below(n: usize) -> Result<usize, String> {
    let n = n as u32;
    let limit = u32::MAX - u32::MAX % n;
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).map_err(|e| format!("no random numbers: {e}"))?;
        let x = u32::from_le_bytes(b);
        if x < limit {
            return Ok((x % n) as usize);
        }
    }
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn generated_passwords_have_every_class_and_differ() {
        let a = generate_password(16, "ulds").unwrap();
        let b = generate_password(16, "ulds").unwrap();
        assert_ne!(a, b);
        let p = a.expose();
        assert_eq!(p.chars().count(), 16);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| "!#$%*+-=?@^_".contains(c)));
        assert!(
            generate_password(12, "ld")
                .unwrap()
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        for _ in 0..500 {
            let p = generate_password(8, "ds").unwrap();
            let first = p.expose().chars().next().unwrap();
            assert!(!"=+-@".contains(first), "{first} would be guarded in credentials.csv");
            assert_eq!(crate::text::guard_cell(p.expose()), p.expose());
        }
        assert!(generate_password(4, "ulds").is_err());
        assert!(generate_password(16, "x").is_err());
    }
}
