//! SCIM schemas (RFC 7643 §7) as the sandbox's SCIM service uses them: the
//! embedded `schemas.json` (the §8.7.1 representations) parsed into attribute
//! trees, resource types that join a core schema and its extensions, and the
//! schema-driven pieces every operation shares: path resolution, value
//! checking and attribute projection. Pure functions of JSON; no HTTP and no
//! stored state here, and nothing in it knows a particular attribute by name.

use serde_json::{Map, Value as Json, json};

use super::ScimError;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition. A whole schema extension is also represented
/// as an attribute (a single-valued complex one named by the extension's
/// URN), so that `urn:...:enterprise:2.0:User:manager.value` is just a chain
/// of three attributes and every walk over a resource is the same walk.
#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub sub: Vec<Attr>,
    pub extension: bool,
}

impl Attr {
    /// Attribute names are case-insensitive (RFC 7643 §2.1).
    pub fn sub_attr(&self, name: &str) -> Option<&Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn from_json(j: &Json) -> Result<Attr, String> {
        let name = j["name"].as_str().ok_or("an attribute without a name")?.to_string();
        let word = |k: &str, default: &str| j[k].as_str().unwrap_or(default).to_string();
        let ty = match word("type", "").as_str() {
            "string" => Type::String,
            "boolean" => Type::Boolean,
            "decimal" => Type::Decimal,
            "integer" => Type::Integer,
            "dateTime" => Type::DateTime,
            "binary" => Type::Binary,
            "reference" => Type::Reference,
            "complex" => Type::Complex,
            t => return Err(format!("{name}: unknown type {t:?}")),
        };
        let mutability = match word("mutability", "readWrite").as_str() {
            "readOnly" => Mutability::ReadOnly,
            "readWrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeOnly" => Mutability::WriteOnly,
            m => return Err(format!("{name}: unknown mutability {m:?}")),
        };
        let returned = match word("returned", "default").as_str() {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            r => return Err(format!("{name}: unknown returned {r:?}")),
        };
        let uniqueness = match word("uniqueness", "none").as_str() {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            u => return Err(format!("{name}: unknown uniqueness {u:?}")),
        };
        let sub = match j["subAttributes"].as_array() {
            Some(subs) => subs.iter().map(Attr::from_json).collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        if (ty == Type::Complex) == sub.is_empty() {
            return Err(format!("{name}: only complex attributes have sub-attributes"));
        }
        Ok(Attr {
            name,
            ty,
            multi: j["multiValued"].as_bool().unwrap_or(false),
            required: j["required"].as_bool().unwrap_or(false),
            case_exact: j["caseExact"].as_bool().unwrap_or(false),
            mutability,
            returned,
            uniqueness,
            sub,
            extension: false,
        })
    }

    fn simple(name: &str, ty: Type, mutability: Mutability, returned: Returned) -> Attr {
        Attr {
            name: name.into(),
            ty,
            multi: false,
            required: false,
            case_exact: true,
            mutability,
            returned,
            uniqueness: Uniqueness::None,
            sub: Vec::new(),
            extension: false,
        }
    }
}

pub struct Schema {
    pub id: String,
    pub attrs: Vec<Attr>,
    /// The representation `/Schemas` serves (without `meta`).
    pub json: Json,
}

/// The schemas in `schemas.json`, in file order.
pub fn load() -> Vec<Schema> {
    let all: Json = serde_json::from_str(include_str!("schemas.json"))
        .expect("sandbox/src/scim/schemas.json is valid JSON");
    all.as_array()
        .expect("schemas.json holds a list of schemas")
        .iter()
        .map(|s| {
            let attrs = s["attributes"]
                .as_array()
                .expect("a schema has attributes")
                .iter()
                .map(Attr::from_json)
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|e| panic!("schemas.json: {e}"));
            Schema {
                id: s["id"].as_str().expect("a schema has an id").into(),
                attrs,
                json: s.clone(),
            }
        })
        .collect()
}

/// The attributes every resource has (RFC 7643 §3.1): `id`, `externalId`
/// and `meta`. They belong to no schema, so `schemas.json` has none of them.
fn common_attrs() -> Vec<Attr> {
    use Mutability::ReadOnly;
    let mut id = Attr::simple("id", Type::String, ReadOnly, Returned::Always);
    id.uniqueness = Uniqueness::Server;
    let external =
        Attr::simple("externalId", Type::String, Mutability::ReadWrite, Returned::Default);
    let mut meta = Attr::simple("meta", Type::Complex, ReadOnly, Returned::Default);
    meta.sub = vec![
        Attr::simple("resourceType", Type::String, ReadOnly, Returned::Default),
        Attr::simple("created", Type::DateTime, ReadOnly, Returned::Default),
        Attr::simple("lastModified", Type::DateTime, ReadOnly, Returned::Default),
        Attr::simple("location", Type::Reference, ReadOnly, Returned::Default),
        Attr::simple("version", Type::String, ReadOnly, Returned::Default),
    ];
    vec![id, external, meta]
}

pub struct ResourceType {
    pub name: &'static str,
    /// Collection name under the base URL, e.g. `Users`.
    pub endpoint: &'static str,
    pub description: &'static str,
    pub core: String,
    pub extensions: Vec<(String, bool)>,
    /// A synthetic complex attribute whose sub-attributes are the common
    /// attributes, the core schema's attributes and one attribute per
    /// extension: the shape of a whole resource.
    pub root: Attr,
}

impl ResourceType {
    pub fn new(
        name: &'static str,
        endpoint: &'static str,
        description: &'static str,
        core: &Schema,
        extensions: &[(&Schema, bool)],
    ) -> ResourceType {
        let mut sub = common_attrs();
        sub.extend(core.attrs.iter().cloned());
        for (ext, required) in extensions {
            let mut a =
                Attr::simple(&ext.id, Type::Complex, Mutability::ReadWrite, Returned::Default);
            a.required = *required;
            a.sub = ext.attrs.clone();
            a.extension = true;
            sub.push(a);
        }
        let mut root = Attr::simple(name, Type::Complex, Mutability::ReadWrite, Returned::Default);
        root.sub = sub;
        ResourceType {
            name,
            endpoint,
            description,
            core: core.id.clone(),
            extensions: extensions.iter().map(|(s, r)| (s.id.clone(), *r)).collect(),
            root,
        }
    }

    /// The `/ResourceTypes` representation.
    pub fn json(&self, base: &str) -> Json {
        let mut j = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": format!("/{}", self.endpoint),
            "description": self.description,
            "schema": self.core,
        });
        if !self.extensions.is_empty() {
            j["schemaExtensions"] = self
                .extensions
                .iter()
                .map(|(urn, required)| json!({"schema": urn, "required": required}))
                .collect();
        }
        j["meta"] = json!({
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", self.name),
        });
        j
    }

    /// Resolves an attribute path (`userName`, `name.givenName`,
    /// `urn:...:core:2.0:User:userName`, `urn:...:enterprise:2.0:User`,
    /// `urn:...:enterprise:2.0:User:manager.value`) to the chain of
    /// attributes it names, case-insensitively. `None` if it names nothing.
    pub fn resolve(&self, path: &str) -> Option<Vec<&Attr>> {
        if let Some(rest) = strip_prefix_ci(path, &self.core) {
            return rest.strip_prefix(':').and_then(|r| resolve_in(&self.root, r));
        }
        for ext in self.root.sub.iter().filter(|a| a.extension) {
            if path.eq_ignore_ascii_case(&ext.name) {
                return Some(vec![ext]);
            }
            if let Some(rest) = strip_prefix_ci(path, &ext.name).and_then(|r| r.strip_prefix(':')) {
                let mut chain = resolve_in(ext, rest)?;
                chain.insert(0, ext);
                return Some(chain);
            }
        }
        resolve_in(&self.root, path)
    }

    /// The top-level attribute or extension named `name`.
    pub fn top(&self, name: &str) -> Option<&Attr> {
        self.root.sub_attr(name)
    }

    pub fn is_extension(&self, urn: &str) -> bool {
        self.extensions.iter().any(|(u, _)| u.eq_ignore_ascii_case(urn))
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

/// `attr` or `attr.sub` among the (non-extension) sub-attributes of `parent`.
fn resolve_in<'a>(parent: &'a Attr, path: &str) -> Option<Vec<&'a Attr>> {
    let (first, second) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    let a = parent.sub.iter().find(|a| !a.extension && a.name.eq_ignore_ascii_case(first))?;
    match second {
        None => Some(vec![a]),
        Some(s) => Some(vec![a, a.sub_attr(s)?]),
    }
}

/// Gets a member of a JSON object by case-insensitive name.
pub fn get_ci<'a>(obj: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// Checks a value received for `attr` against its definition and returns it
/// with sub-attribute names in the schema's spelling. Null, `[]` and `{}`
/// mean "unassigned" (RFC 7643 §2.5) and give `None`. Read-only
/// sub-attributes are dropped: a client may echo them, and RFC 7644 §3.3
/// says they are ignored. `at` names the value in error messages.
pub fn check_value(attr: &Attr, value: &Json, at: &str) -> Result<Option<Json>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi {
        return check_single(attr, value, at);
    }
    let Some(items) = value.as_array() else {
        return Err(ScimError::invalid_value(format!("{at} is multi-valued: expected an array")));
    };
    let mut out: Vec<Json> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(v) = check_single(attr, item, &format!("{at}[{i}]"))?
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    check_primary(attr, &out, at)?;
    Ok((!out.is_empty()).then_some(Json::Array(out)))
}

/// "The primary attribute value 'true' MUST appear no more than once"
/// (RFC 7643 §2.4).
pub fn check_primary(attr: &Attr, items: &[Json], at: &str) -> Result<(), ScimError> {
    if attr.sub_attr("primary").is_none() {
        return Ok(());
    }
    let primaries = items.iter().filter(|v| v["primary"] == Json::Bool(true)).count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "{at}: {primaries} values have \"primary\": true; at most one may"
        )));
    }
    Ok(())
}

pub fn check_single(attr: &Attr, value: &Json, at: &str) -> Result<Option<Json>, ScimError> {
    let bad = |what: &str| {
        Err(ScimError::invalid_value(format!("{at} must be {what}, not {}", short(value))))
    };
    match attr.ty {
        Type::Complex => {
            let Some(obj) = value.as_object() else { return bad("an object") };
            let mut out = Map::new();
            for (k, v) in obj {
                // A client serialising an extension as an object of its own
                // may put that object's `schemas` inside it; it says nothing.
                if attr.extension && k.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let Some(s) = attr.sub_attr(k) else {
                    return Err(ScimError::invalid_syntax(format!(
                        "{at}.{k}: no such attribute in {}",
                        attr.name
                    )));
                };
                if s.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = check_value(s, v, &format!("{at}.{}", s.name))? {
                    out.insert(s.name.clone(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Json::Object(out)))
        }
        Type::String => match value.as_str() {
            Some(_) => Ok(Some(value.clone())),
            None => bad("a string"),
        },
        Type::Reference => match value.as_str() {
            Some(s) if !s.is_empty() && !s.chars().any(char::is_whitespace) => {
                Ok(Some(value.clone()))
            }
            _ => bad("a URI reference"),
        },
        Type::Binary => {
            use base64::Engine;
            match value.as_str() {
                Some(s) if base64::engine::general_purpose::STANDARD.decode(s).is_ok() => {
                    Ok(Some(value.clone()))
                }
                _ => bad("base64-encoded binary data"),
            }
        }
        Type::DateTime => match value.as_str().map(chrono::DateTime::parse_from_rfc3339) {
            Some(Ok(_)) => Ok(Some(value.clone())),
            _ => bad("an xsd:dateTime such as \"2008-01-23T04:56:22Z\""),
        },
        Type::Boolean => match value {
            Json::Bool(_) => Ok(Some(value.clone())),
            _ => bad("true or false"),
        },
        Type::Integer => match value {
            Json::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            _ => bad("an integer"),
        },
        Type::Decimal => match value {
            Json::Number(_) => Ok(Some(value.clone())),
            _ => bad("a number"),
        },
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Required attributes (and required sub-attributes of the complex values
/// present) must have a value; an empty string is no value for a required
/// attribute ("a non-empty userName", RFC 7643 §4.1.1).
pub fn check_required(parent: &Attr, obj: &Map<String, Json>, at: &str) -> Result<(), ScimError> {
    for a in &parent.sub {
        if a.mutability == Mutability::ReadOnly {
            continue;
        }
        let name = if at.is_empty() { a.name.clone() } else { format!("{at}.{}", a.name) };
        let v = obj.get(&a.name);
        let missing = match v {
            None | Some(Json::Null) => true,
            Some(Json::String(s)) => s.is_empty(),
            _ => false,
        };
        if a.required && missing {
            return Err(ScimError::invalid_value(format!("{name} is required")));
        }
        if a.ty != Type::Complex {
            continue;
        }
        match v {
            Some(Json::Object(o)) => check_required(a, o, &name)?,
            Some(Json::Array(items)) => {
                for item in items {
                    if let Some(o) = item.as_object() {
                        check_required(a, o, &name)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The names of a resolved chain, in the schema's spelling.
pub fn names(chain: &[&Attr]) -> Vec<String> {
    chain.iter().map(|a| a.name.clone()).collect()
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) and the
/// `returned` characteristic to a full representation. `include` is `None`
/// when the client asked for the default set. Attributes returned "always"
/// stay whatever was asked; "never" ones never appear; "request" ones only
/// when named.
pub fn project<'a>(
    parent: &Attr,
    obj: impl IntoIterator<Item = (&'a String, &'a Json)>,
    include: Option<&[Vec<String>]>,
    exclude: &[Vec<String>],
) -> Map<String, Json> {
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(a) = parent.sub.iter().find(|a| &a.name == k) else {
            continue;
        };
        if a.returned == Returned::Never {
            continue;
        }
        let tails = |paths: &[Vec<String>]| -> (bool, Vec<Vec<String>>) {
            let mut whole = false;
            let mut deeper = Vec::new();
            for p in paths.iter().filter(|p| p.first() == Some(k)) {
                if p.len() == 1 {
                    whole = true;
                } else {
                    deeper.push(p[1..].to_vec());
                }
            }
            (whole, deeper)
        };
        let (ex_whole, ex_deeper) = tails(exclude);
        let projected = if a.returned == Returned::Always {
            Some(v.clone())
        } else if let Some(inc) = include {
            let (whole, deeper) = tails(inc);
            if whole {
                project_value(a, v, None, &ex_deeper)
            } else if !deeper.is_empty() {
                project_value(a, v, Some(&deeper), &ex_deeper)
            } else {
                None
            }
        } else if a.returned == Returned::Request || ex_whole {
            None
        } else {
            project_value(a, v, None, &ex_deeper)
        };
        if let Some(p) = projected {
            out.insert(k.clone(), p);
        }
    }
    out
}

fn project_value(
    a: &Attr,
    v: &Json,
    include: Option<&[Vec<String>]>,
    exclude: &[Vec<String>],
) -> Option<Json> {
    if a.ty != Type::Complex {
        return Some(v.clone());
    }
    let one = |item: &Json| item.as_object().map(|o| project(a, o, include, exclude));
    match v {
        Json::Array(items) => {
            let kept: Vec<Json> =
                items.iter().filter_map(one).filter(|o| !o.is_empty()).map(Json::Object).collect();
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        _ => one(v).filter(|o| !o.is_empty()).map(Json::Object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_type() -> ResourceType {
        let s = load();
        ResourceType::new("User", "Users", "User Account", &s[0], &[(&s[2], false)])
    }

    #[test]
    fn the_embedded_schemas_are_the_three_of_rfc_7643() {
        let s = load();
        let ids: Vec<&str> = s.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [USER, GROUP, ENTERPRISE]);
        let user = &s[0];
        let user_name = user.attrs.iter().find(|a| a.name == "userName").unwrap();
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let password = user.attrs.iter().find(|a| a.name == "password").unwrap();
        assert_eq!(
            (password.mutability, password.returned),
            (Mutability::WriteOnly, Returned::Never)
        );
        let groups = user.attrs.iter().find(|a| a.name == "groups").unwrap();
        assert!(groups.multi && groups.mutability == Mutability::ReadOnly);
        assert_eq!(user.attrs.len(), 21);
        let members = s[1].attrs.iter().find(|a| a.name == "members").unwrap();
        let subs: Vec<&str> = members.sub.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(subs, ["value", "$ref", "type", "display"]);
        assert!(members.sub.iter().all(|a| a.mutability == Mutability::Immutable));
    }

    #[test]
    fn paths_resolve_case_insensitively_with_or_without_urns() {
        let rt = user_type();
        let n = |p: &str| rt.resolve(p).map(|c| names(&c));
        assert_eq!(n("USERNAME"), Some(vec!["userName".into()]));
        assert_eq!(n("name.givenname"), Some(vec!["name".into(), "givenName".into()]));
        assert_eq!(n(&format!("{USER}:emails.value")), Some(vec!["emails".into(), "value".into()]));
        assert_eq!(n(&ENTERPRISE.to_uppercase()), Some(vec![ENTERPRISE.into()]));
        assert_eq!(
            n(&format!("{ENTERPRISE}:manager.value")),
            Some(vec![ENTERPRISE.into(), "manager".into(), "value".into()])
        );
        assert_eq!(n("meta.lastModified"), Some(vec!["meta".into(), "lastModified".into()]));
        assert_eq!(n("employeeNumber"), None, "extension attributes need their URN");
        assert_eq!(n("name.nope"), None);
        assert_eq!(n(&format!("{USER}:")), None);
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let rt = user_type();
        let top = |n: &str| rt.top(n).unwrap();
        assert!(check_value(top("active"), &json!("true"), "active").is_err());
        assert!(check_value(top("emails"), &json!({"value": "a@b"}), "emails").is_err());
        let e = check_value(top("emails"), &json!([{"VALUE": "a@b", "Type": "work"}]), "emails");
        assert_eq!(e.unwrap(), Some(json!([{"value": "a@b", "type": "work"}])));
        let two = json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]);
        let err = check_value(top("emails"), &two, "emails").unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
        let err = check_value(top("name"), &json!({"nick": "x"}), "name").unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
        let certs = top("x509Certificates");
        assert!(check_value(certs, &json!([{"value": "not base64!"}]), "c").is_err());
        assert!(check_value(certs, &json!([{"value": "AAEC"}]), "c").is_ok());
        assert_eq!(check_value(top("emails"), &json!([]), "emails").unwrap(), None);
        let ext = top(ENTERPRISE);
        let v = json!({"schemas": [ENTERPRISE], "manager": {"value": "1", "displayName": "x"}});
        assert_eq!(check_value(ext, &v, "e").unwrap(), Some(json!({"manager": {"value": "1"}})));
        let meta = top("meta");
        let stamp = json!({"created": "2024-02-30T00:00:00Z"});
        assert!(check_value(meta, &stamp, "meta").is_ok(), "read-only sub-attributes are dropped");
    }

    #[test]
    fn projection_honours_returned_and_the_requested_attributes() {
        let rt = user_type();
        let full = json!({"id": "1", "userName": "a", "password": "p",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}],
            ENTERPRISE: {"employeeNumber": "7", "department": "D"}});
        let full = full.as_object().unwrap();
        let p = |inc: Option<&[&str]>, exc: &[&str]| {
            let to = |l: &[&str]| -> Vec<Vec<String>> {
                l.iter().map(|p| names(&rt.resolve(p).unwrap())).collect()
            };
            let inc = inc.map(to);
            Json::Object(project(&rt.root, full, inc.as_deref(), &to(exc)))
        };
        let all = p(None, &[]);
        assert!(all.get("password").is_none() && all["emails"][0]["type"] == "work");
        assert_eq!(
            p(Some(&["name.givenName"]), &[]),
            json!({"id": "1", "name": {"givenName": "A"}})
        );
        let ext_attr = format!("{ENTERPRISE}:department");
        assert_eq!(p(Some(&[&ext_attr]), &[]), json!({"id": "1", ENTERPRISE: {"department": "D"}}));
        let without = p(None, &["emails", "name.familyName", "id"]);
        assert!(without.get("emails").is_none() && without["id"] == "1");
        assert_eq!(without["name"], json!({"givenName": "A"}));
    }
}
