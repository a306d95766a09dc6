//! The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): a
//! recursive-descent parser, binding of paths to schema attributes, and
//! evaluation on a resource's JSON. Hand-written: the grammar is small, and
//! evaluation must follow the schema (caseExact, types, URNs), which the
//! published filter crates, matching plain serde values, do not. Precedence
//! is `not` > `and` > `or`; keywords and names are case-insensitive.

use std::cmp::Ordering;

use serde_json::Value as Json;

use super::schema::{Attr, Returned, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed filter. Attribute paths are kept as written; `bind` resolves
/// them against a resource type.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(String),
    Compare(String, Op, Json),
    /// `emails[type eq "work"]`: some value of the multi-valued complex
    /// attribute satisfies the inner filter (whose paths are sub-attributes).
    Value(String, Box<Filter>),
}

/// A PATCH `path`: `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: String,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                // A JSON string: find the closing quote, then let serde_json
                // decode the escapes.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or("a string is not closed")?;
                let v: String = serde_json::from_str(&s[i..=end])
                    .map_err(|e| format!("bad string {}: {e}", &s[i..=end]))?;
                out.push(Tok::Str(v));
            }
            _ => {
                let mut end = s.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Tok::Word(s[i..end].to_string()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            Some(x) => Err(format!("expected {what}, found {}", show(&x))),
            None => Err(format!("expected {what} at the end")),
        }
    }

    /// `inner`: inside `[...]`, where a further `[` is not allowed.
    fn or(&mut self, inner: bool) -> Result<Filter, String> {
        let mut f = self.and(inner)?;
        while self.keyword("or") {
            self.pos += 1;
            f = Filter::Or(Box::new(f), Box::new(self.and(inner)?));
        }
        Ok(f)
    }

    fn and(&mut self, inner: bool) -> Result<Filter, String> {
        let mut f = self.unary(inner)?;
        while self.keyword("and") {
            self.pos += 1;
            f = Filter::And(Box::new(f), Box::new(self.unary(inner)?));
        }
        Ok(f)
    }

    fn unary(&mut self, inner: bool) -> Result<Filter, String> {
        if self.keyword("not") && self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
            self.pos += 2;
            let f = self.or(inner)?;
            self.expect(Tok::RParen, "\")\"")?;
            return Ok(Filter::Not(Box::new(f)));
        }
        match self.next() {
            Some(Tok::LParen) => {
                let f = self.or(inner)?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(f)
            }
            Some(Tok::Word(path)) => {
                check_attr_path(&path)?;
                if self.peek() == Some(&Tok::LBracket) {
                    if inner {
                        return Err(format!("{path}[: value filters do not nest"));
                    }
                    self.pos += 1;
                    let f = self.or(true)?;
                    self.expect(Tok::RBracket, "\"]\"")?;
                    return Ok(Filter::Value(path, Box::new(f)));
                }
                let op = match self.next() {
                    Some(Tok::Word(w)) => w,
                    Some(t) => {
                        return Err(format!(
                            "expected an operator after {path}, found {}",
                            show(&t)
                        ));
                    }
                    None => return Err(format!("expected an operator after {path}")),
                };
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(path));
                }
                let op = parse_op(&op)?;
                let value = match self.next() {
                    Some(Tok::Str(s)) => Json::String(s),
                    Some(Tok::Word(w)) => literal(&w)?,
                    Some(t) => return Err(format!("expected a value, found {}", show(&t))),
                    None => return Err(format!("expected a value after {path}")),
                };
                Ok(Filter::Compare(path, op, value))
            }
            Some(t) => Err(format!("expected an attribute, found {}", show(&t))),
            None => Err("expected an attribute at the end".into()),
        }
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBracket => "\"[\"".into(),
        Tok::RBracket => "\"]\"".into(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Word(w) => format!("\"{w}\""),
    }
}

fn parse_op(w: &str) -> Result<Op, String> {
    Ok(match w.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "co" => Op::Co,
        "sw" => Op::Sw,
        "ew" => Op::Ew,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        _ => return Err(format!("unknown operator \"{w}\"")),
    })
}

/// `compValue = false / null / true / number / string`.
fn literal(w: &str) -> Result<Json, String> {
    match w.to_ascii_lowercase().as_str() {
        "true" => return Ok(Json::Bool(true)),
        "false" => return Ok(Json::Bool(false)),
        "null" => return Ok(Json::Null),
        _ => {}
    }
    match serde_json::from_str::<Json>(w) {
        Ok(n @ Json::Number(_)) => Ok(n),
        _ => Err(format!("\"{w}\" is not a value: strings need double quotes")),
    }
}

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`, loosely: the schema decides
/// whether the name exists.
fn check_attr_path(p: &str) -> Result<(), String> {
    let ok_start = p.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$');
    let ok_chars = p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:$".contains(c));
    if ok_start && ok_chars && !p.ends_with('.') && !p.ends_with(':') {
        Ok(())
    } else {
        Err(format!("\"{p}\" is not an attribute path"))
    }
}

pub fn parse_filter(s: &str) -> Result<Filter, String> {
    let mut p = Parser { toks: lex(s)?, pos: 0 };
    if p.toks.is_empty() {
        return Err("the filter is empty".into());
    }
    let f = p.or(false)?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(format!("unexpected {}", show(t))),
    }
}

pub fn parse_path(s: &str) -> Result<PatchPath, String> {
    let mut p = Parser { toks: lex(s)?, pos: 0 };
    let Some(Tok::Word(attr)) = p.next() else {
        return Err(format!("\"{s}\" is not an attribute path"));
    };
    check_attr_path(&attr)?;
    let mut path = PatchPath { attr, filter: None, sub: None };
    if p.peek() == Some(&Tok::LBracket) {
        p.pos += 1;
        path.filter = Some(p.or(true)?);
        p.expect(Tok::RBracket, "\"]\"")?;
        if let Some(Tok::Word(w)) = p.peek() {
            let sub = w.strip_prefix('.').ok_or_else(|| format!("unexpected \"{w}\""))?;
            check_attr_path(sub)?;
            if sub.contains(['.', ':']) {
                return Err(format!("\"{sub}\" is not a sub-attribute name"));
            }
            path.sub = Some(sub.to_string());
            p.pos += 1;
        }
    }
    match p.peek() {
        None => Ok(path),
        Some(t) => Err(format!("unexpected {} in the path", show(t))),
    }
}

/// A filter whose paths are resolved to attribute chains.
#[derive(Debug)]
pub enum Bound<'a> {
    And(Box<Bound<'a>>, Box<Bound<'a>>),
    Or(Box<Bound<'a>>, Box<Bound<'a>>),
    Not(Box<Bound<'a>>),
    Present(Vec<&'a Attr>),
    Compare(Vec<&'a Attr>, Op, Json),
    Value(Vec<&'a Attr>, Box<Bound<'a>>),
    /// Matches nothing: an attribute this resource type lacks (in a search
    /// across types), or one that is never returned (`password`), which a
    /// filter must not reveal.
    Never,
}

/// Resolves every path of `f`. Unknown paths bind to `Never` and are listed
/// in `unknown`, so a search over several resource types can decide whether
/// a name was unknown everywhere. An impossible comparison (`gt` on a
/// boolean, a string compared with a number) is an error: invalidFilter.
pub fn bind<'a>(
    f: &Filter,
    resolve: &dyn Fn(&str) -> Option<Vec<&'a Attr>>,
    unknown: &mut Vec<String>,
) -> Result<Bound<'a>, String> {
    let chain = |p: &str, unknown: &mut Vec<String>| -> Option<Vec<&'a Attr>> {
        let c = resolve(p);
        if c.is_none() {
            unknown.push(p.to_string());
        }
        c
    };
    Ok(match f {
        Filter::And(a, b) => {
            Bound::And(Box::new(bind(a, resolve, unknown)?), Box::new(bind(b, resolve, unknown)?))
        }
        Filter::Or(a, b) => {
            Bound::Or(Box::new(bind(a, resolve, unknown)?), Box::new(bind(b, resolve, unknown)?))
        }
        Filter::Not(a) => Bound::Not(Box::new(bind(a, resolve, unknown)?)),
        Filter::Present(p) => match chain(p, unknown) {
            Some(c) if !never(&c) => Bound::Present(c),
            _ => Bound::Never,
        },
        Filter::Compare(p, op, v) => match chain(p, unknown) {
            Some(mut c) if !never(&c) => {
                let last = c[c.len() - 1];
                if last.ty == Type::Complex {
                    // `emails co "@x"`: a complex attribute compares by its
                    // `value` sub-attribute, as RFC 7644 §3.4.2.2's examples do.
                    match last.sub_attr("value") {
                        Some(value) => c.push(value),
                        None => return Err(format!("{p} is complex: name a sub-attribute")),
                    }
                }
                check_comparison(c[c.len() - 1], p, *op, v)?;
                Bound::Compare(c, *op, v.clone())
            }
            _ => Bound::Never,
        },
        Filter::Value(p, inner) => match chain(p, unknown) {
            Some(c) if !never(&c) => {
                let last = c[c.len() - 1];
                if last.ty != Type::Complex {
                    return Err(format!("{p}[...]: {p} has no sub-attributes"));
                }
                let within = |s: &str| -> Option<Vec<&'a Attr>> {
                    (!s.contains([':', '.'])).then(|| last.sub_attr(s)).flatten().map(|a| vec![a])
                };
                let mut inner_unknown = Vec::new();
                let b = bind(inner, &within, &mut inner_unknown)?;
                if let Some(u) = inner_unknown.first() {
                    return Err(format!("{p}[...]: {p} has no sub-attribute \"{u}\""));
                }
                Bound::Value(c, Box::new(b))
            }
            _ => Bound::Never,
        },
    })
}

fn never(chain: &[&Attr]) -> bool {
    chain.iter().any(|a| a.returned == Returned::Never)
}

fn check_comparison(a: &Attr, path: &str, op: Op, v: &Json) -> Result<(), String> {
    if v.is_null() {
        return match op {
            Op::Eq | Op::Ne => Ok(()),
            _ => Err(format!("{path}: null only compares with eq and ne")),
        };
    }
    let ordering = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
    let substring = matches!(op, Op::Co | Op::Sw | Op::Ew);
    let fits = match a.ty {
        Type::String | Type::Reference => v.is_string(),
        // RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary attributes
        // SHALL fail with invalidFilter.
        Type::Binary => v.is_string() && !ordering,
        Type::Boolean => v.is_boolean() && !ordering && !substring,
        Type::DateTime => {
            let s = v.as_str();
            s.is_some() && (substring || s.is_some_and(|s| parse_time(s).is_some()))
        }
        Type::Integer | Type::Decimal => v.is_number() && !substring,
        Type::Complex => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{path} ({:?}) cannot be compared with {v} using {op:?}", a.ty))
    }
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

/// The values a chain reaches from `node`, multi-valued attributes
/// flattened: `emails.value` gives every e-mail address.
pub fn values_at<'j>(node: &'j Json, chain: &[&Attr]) -> Vec<&'j Json> {
    let mut current = vec![node];
    for a in chain {
        let mut next = Vec::new();
        for n in current {
            match n.get(&a.name) {
                Some(Json::Array(items)) => next.extend(items.iter()),
                Some(Json::Null) | None => {}
                Some(v) => next.push(v),
            }
        }
        current = next;
    }
    current
}

fn present(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => a.iter().any(present),
        Json::Object(o) => o.values().any(present),
        _ => true,
    }
}

pub fn eval(b: &Bound, node: &Json) -> bool {
    match b {
        Bound::And(x, y) => eval(x, node) && eval(y, node),
        Bound::Or(x, y) => eval(x, node) || eval(y, node),
        Bound::Not(x) => !eval(x, node),
        Bound::Never => false,
        Bound::Present(c) => values_at(node, c).into_iter().any(present),
        Bound::Value(c, inner) => values_at(node, c).into_iter().any(|v| eval(inner, v)),
        Bound::Compare(c, op, want) => {
            let a = c[c.len() - 1];
            let values = values_at(node, c);
            if want.is_null() {
                let any = values.into_iter().any(present);
                return if *op == Op::Eq { !any } else { any };
            }
            match op {
                // "ne" holds when no value equals: an unassigned attribute
                // is "not equal" to anything.
                Op::Ne => !values.into_iter().any(|v| compare(a, Op::Eq, v, want)),
                _ => values.into_iter().any(|v| compare(a, *op, v, want)),
            }
        }
    }
}

fn fold(a: &Attr, s: &str) -> String {
    if a.case_exact { s.to_string() } else { s.to_lowercase() }
}

/// One attribute value against the filter's value.
fn compare(a: &Attr, op: Op, have: &Json, want: &Json) -> bool {
    let order = |o: Option<Ordering>| match (o, op) {
        (Some(o), Op::Eq) => o == Ordering::Equal,
        (Some(o), Op::Gt) => o == Ordering::Greater,
        (Some(o), Op::Ge) => o != Ordering::Less,
        (Some(o), Op::Lt) => o == Ordering::Less,
        (Some(o), Op::Le) => o != Ordering::Greater,
        _ => false,
    };
    match (have, want) {
        (Json::String(h), Json::String(w)) => {
            if a.ty == Type::DateTime && !matches!(op, Op::Co | Op::Sw | Op::Ew) {
                return order(parse_time(h).zip(parse_time(w)).map(|(h, w)| h.cmp(&w)));
            }
            let (h, w) = (fold(a, h), fold(a, w));
            match op {
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                _ => order(Some(h.cmp(&w))),
            }
        }
        (Json::Bool(h), Json::Bool(w)) => op == Op::Eq && h == w,
        (Json::Number(h), Json::Number(w)) => match (h.as_i64(), w.as_i64()) {
            (Some(h), Some(w)) => order(Some(h.cmp(&w))),
            _ => order(h.as_f64().zip(w.as_f64()).and_then(|(h, w)| h.partial_cmp(&w))),
        },
        _ => false,
    }
}

/// Orders two values of attribute `a` for `sortBy`.
pub fn sort_cmp(a: &Attr, x: &Json, y: &Json) -> Ordering {
    match (x, y) {
        (Json::String(x), Json::String(y)) if a.ty == Type::DateTime => {
            match (parse_time(x), parse_time(y)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => x.cmp(y),
            }
        }
        (Json::String(x), Json::String(y)) => fold(a, x).cmp(&fold(a, y)),
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
            .unwrap_or(Ordering::Equal),
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ENTERPRISE, ResourceType, USER, load};
    use super::*;
    use serde_json::json;

    fn user_type() -> ResourceType {
        let s = load();
        ResourceType::new("User", "Users", "User Account", &s[0], &[(&s[2], false)])
    }

    fn matches(filter: &str, resource: &Json) -> Result<bool, String> {
        let rt = user_type();
        let f = parse_filter(filter)?;
        let mut unknown = Vec::new();
        let b = bind(&f, &|p| rt.resolve(p), &mut unknown)?;
        if let Some(u) = unknown.first() {
            return Err(format!("unknown {u}"));
        }
        Ok(eval(&b, resource))
    }

    fn bjensen() -> Json {
        json!({
            "id": "2819c223", "userName": "bjensen", "active": true, "title": "Tour Guide",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "meta": {"lastModified": "2011-05-13T04:42:34Z", "created": "2010-01-23T04:56:22Z"},
            ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        })
    }

    #[test]
    fn the_grammar_parses_with_precedence_and_any_case() {
        let f = parse_filter("a eq 1 OR b Pr and NOT (c sw \"x\")").unwrap();
        let expected = Filter::Or(
            Box::new(Filter::Compare("a".into(), Op::Eq, json!(1))),
            Box::new(Filter::And(
                Box::new(Filter::Present("b".into())),
                Box::new(Filter::Not(Box::new(Filter::Compare("c".into(), Op::Sw, json!("x"))))),
            )),
        );
        assert_eq!(f, expected);
        let f = parse_filter(r#"emails[type eq "work" and value co "@x"] or x eq TRUE"#).unwrap();
        assert!(matches!(f, Filter::Or(ref v, _) if matches!(**v, Filter::Value(..))));
        assert_eq!(
            parse_filter(r#"a eq "q\"uote\u00e9""#).unwrap(),
            Filter::Compare("a".into(), Op::Eq, json!("q\"uote\u{e9}"))
        );
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName equals \"x\"",
            "userName eq x",
            "(userName pr",
            "userName pr)",
            "a[b[c pr]]",
            "a eq \"open",
            "not userName pr",
            "userName eq \"a\" and",
            "1abc pr",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn every_operator_on_strings_numbers_booleans_and_dates() {
        let u = bjensen();
        let yes = |f: &str| assert!(matches(f, &u).unwrap(), "{f} should match");
        let no = |f: &str| assert!(!matches(f, &u).unwrap(), "{f} should not match");
        yes(r#"userName eq "BJensen""#); // caseExact false
        no(r#"id eq "2819C223""#); // id is caseExact
        yes(r#"userName ne "other""#);
        yes(r#"title co "our""#);
        yes(r#"title sw "tour""#);
        yes(r#"title ew "GUIDE""#);
        yes(r#"userName gt "a""#);
        no(r#"userName lt "b""#);
        yes(r#"userName ge "bjensen" and userName le "bjensen""#);
        yes("active eq true");
        no("active ne true");
        yes(r#"meta.lastModified gt "2011-05-13T04:42:34.000+01:00""#);
        no(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#);
        yes(r#"meta.created ge "2010-01-23T04:56:22Z""#);
        yes("title pr");
        no("nickName pr");
        yes("nickName eq null");
        no("title eq null");
        yes(r#"nickName ne "x""#);
        yes(r#"not (userName eq "x")"#);
        yes(r#"(userName eq "x" or userName eq "bjensen") and active eq true"#);
    }

    #[test]
    fn multi_valued_complex_and_extension_attributes() {
        let u = bjensen();
        let yes = |f: &str| assert!(matches(f, &u).unwrap(), "{f} should match");
        let no = |f: &str| assert!(!matches(f, &u).unwrap(), "{f} should not match");
        yes(r#"emails.value ew "jensen.org""#);
        yes(r#"emails co "jensen.org""#); // complex: compares `value`
        yes(r#"emails[type eq "work" and value co "@example.com"]"#);
        no(r#"emails[type eq "home" and value co "@example.com"]"#);
        yes(r#"emails[not (type eq "work")]"#);
        yes("emails[primary eq true]");
        yes(&format!(r#"{USER}:name.familyName eq "jensen""#));
        yes(&format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#));
        yes(&format!(r#"{}:manager.value eq "26118915""#, ENTERPRISE.to_uppercase()));
        no(&format!(r#"{ENTERPRISE}:manager.value eq "26118915x""#));
    }

    #[test]
    fn impossible_filters_are_errors_and_unknown_names_reported() {
        let u = bjensen();
        for bad in [
            "active gt true",
            "active eq \"true\"",
            "userName eq 1",
            "userName co 1",
            "meta.created gt \"yesterday\"",
            "name eq \"x\"",
            "x509Certificates.value gt \"a\"",
            "emails[nope eq \"x\"]",
            "userName[type eq \"x\"]",
        ] {
            assert!(matches(bad, &u).is_err(), "{bad} should be refused");
        }
        assert_eq!(matches("nickname pr and bogus eq 1", &u), Err("unknown bogus".into()));
        // password is never returned, so no filter may reveal it.
        let with_password = json!({"userName": "x", "password": "s3cret"});
        assert!(!matches(r#"password eq "s3cret""#, &with_password).unwrap());
    }

    #[test]
    fn patch_paths() {
        let p = parse_path(r#"members[value eq "2819c223"]"#).unwrap();
        assert_eq!(p.attr, "members");
        assert!(p.filter.is_some() && p.sub.is_none());
        let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!((p.attr.as_str(), p.sub.as_deref()), ("emails", Some("value")));
        let p = parse_path(&format!("{ENTERPRISE}:manager.value")).unwrap();
        assert_eq!(p.attr, format!("{ENTERPRISE}:manager.value"));
        for bad in [
            "",
            "emails[",
            "emails[type eq \"w\"]value",
            "emails[type eq \"w\"].a.b",
            "a b",
            "emails[type eq \"w\"] x",
            ".value",
        ] {
            assert!(parse_path(bad).is_err(), "{bad} should not parse");
        }
    }
}
