//! PATCH (RFC 7644 §3.5.2) applied to a resource's stored JSON, driven only
//! by the schema: add, remove and replace, with or without `path`, value
//! filters (`emails[type eq "work"].value`), sub-attributes and extension
//! URNs. It edits the copy it is given; the caller commits that copy only
//! when every operation succeeded, which makes a PATCH atomic. It must not
//! check cross-resource rules (uniqueness, references): the caller does.

use serde_json::{Map, Value as Json};

use super::ScimError;
use super::filter::{Bound, Filter, bind, eval, parse_path};
use super::schema::{Attr, Mutability, ResourceType, Type, check_single, check_value, get_ci};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Applies a PatchOp body to `data`, in order.
pub fn apply(
    rt: &ResourceType,
    data: &mut Map<String, Json>,
    body: &Json,
) -> Result<(), ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax("a PATCH body is a PatchOp JSON object"));
    };
    let schemas = get_ci(obj, "schemas").and_then(Json::as_array);
    if !schemas.is_some_and(|s| {
        s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
    }) {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body's \"schemas\" must be [\"{PATCH_OP}\"]"
        )));
    }
    let ops = match get_ci(obj, "Operations").and_then(Json::as_array) {
        Some(ops) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_value(
                "a PATCH body needs \"Operations\": an array of one or more operations",
            ));
        }
    };
    for (i, op) in ops.iter().enumerate() {
        one(rt, data, op).map_err(|e| e.prefixed(&format!("Operations[{i}]")))?;
    }
    Ok(())
}

fn one(rt: &ResourceType, data: &mut Map<String, Json>, op: &Json) -> Result<(), ScimError> {
    let Some(o) = op.as_object() else {
        return Err(ScimError::invalid_syntax("an operation is a JSON object"));
    };
    let kind = op_kind(o)?;
    let path = match get_ci(o, "path") {
        None | Some(Json::Null) => None,
        Some(Json::String(p)) => Some(p.as_str()),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(o, "value");
    match (kind, path) {
        (Op::Remove, None) => Err(ScimError::no_target("remove needs a \"path\"")),
        (Op::Remove, Some(p)) if value.is_some_and(|v| !v.is_null()) => {
            // RFC 7644 §3.5.2.2 gives remove no value. Some clients send one
            // to mean "remove these members"; a server that ignored it would
            // remove them all, so the sandbox refuses it instead.
            Err(ScimError::invalid_value(format!(
                "remove takes no \"value\"; select values with a filter, e.g. \"{p}[value eq \\\"...\\\"]\""
            )))
        }
        (_, None) => without_path(rt, data, kind, value),
        (_, Some(p)) => with_path(rt, data, kind, p, value),
    }
}

/// Operation names are case-insensitive: several well-known clients send
/// "Add" and "Replace".
fn op_kind(o: &Map<String, Json>) -> Result<Op, ScimError> {
    match get_ci(o, "op").and_then(Json::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => Ok(Op::Add),
        Some("remove") => Ok(Op::Remove),
        Some("replace") => Ok(Op::Replace),
        _ => Err(ScimError::invalid_value("\"op\" must be \"add\", \"remove\" or \"replace\"")),
    }
}

/// An add or replace without a path: `value` is an object of attributes.
fn without_path(
    rt: &ResourceType,
    data: &mut Map<String, Json>,
    kind: Op,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    let Some(Json::Object(attrs)) = value else {
        return Err(ScimError::invalid_value(
            "without a \"path\", \"value\" must be an object of attributes",
        ));
    };
    for (name, v) in attrs {
        if name.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(chain) = rt.resolve(name) else {
            return Err(ScimError::invalid_value(format!("{name}: no such attribute")));
        };
        target(kind, data, &chain, None, None, Some(v), name)?;
    }
    Ok(())
}

/// An operation on `p`: an attribute, optionally a value filter on a
/// multi-valued complex attribute, and a sub-attribute.
fn with_path(
    rt: &ResourceType,
    data: &mut Map<String, Json>,
    kind: Op,
    p: &str,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    let pp = parse_path(p).map_err(|e| ScimError::invalid_path(format!("path {p:?}: {e}")))?;
    let Some(chain) = rt.resolve(&pp.attr) else {
        return Err(ScimError::invalid_path(format!("path {p:?}: no attribute {}", pp.attr)));
    };
    let last = chain[chain.len() - 1];
    let filter = match &pp.filter {
        None => None,
        Some(f) => Some(value_filter(last, f, p)?),
    };
    let sub = match &pp.sub {
        None => None,
        Some(s) => Some(last.sub_attr(s).ok_or_else(|| {
            ScimError::invalid_path(format!("path {p:?}: {} has no sub-attribute {s}", last.name))
        })?),
    };
    if kind != Op::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!("{kind:?} needs a \"value\"")));
    }
    target(kind, data, &chain, filter.as_ref(), sub, value, p)
}

/// A path's value filter (`emails[type eq "work"]`), bound to the
/// sub-attributes of `last`, which must be multi-valued and complex.
fn value_filter<'a>(last: &'a Attr, f: &Filter, p: &str) -> Result<Bound<'a>, ScimError> {
    if !(last.multi && last.ty == Type::Complex) {
        return Err(ScimError::invalid_path(format!(
            "path {p:?}: {} is not a multi-valued complex attribute",
            last.name
        )));
    }
    let within = |s: &str| -> Option<Vec<&Attr>> {
        (!s.contains([':', '.'])).then(|| last.sub_attr(s)).flatten().map(|a| vec![a])
    };
    let mut unknown = Vec::new();
    let b = bind(f, &within, &mut unknown)
        .map_err(|e| ScimError::invalid_filter(format!("path {p:?}: {e}")))?;
    if let Some(u) = unknown.first() {
        return Err(ScimError::invalid_path(format!(
            "path {p:?}: {} has no sub-attribute {u}",
            last.name
        )));
    }
    Ok(b)
}

/// One operation on the attribute `chain` names (with an optional value
/// filter on its last attribute and a sub-attribute of the filtered values).
fn target(
    kind: Op,
    data: &mut Map<String, Json>,
    chain: &[&Attr],
    filter: Option<&Bound>,
    sub: Option<&Attr>,
    value: Option<&Json>,
    at: &str,
) -> Result<(), ScimError> {
    for a in chain.iter().copied().chain(sub) {
        if a.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!("{at}: {} is read-only", a.name)));
        }
    }
    walk(kind, data, chain, filter, sub, value, at)
}

fn walk(
    kind: Op,
    node: &mut Map<String, Json>,
    chain: &[&Attr],
    filter: Option<&Bound>,
    sub: Option<&Attr>,
    value: Option<&Json>,
    at: &str,
) -> Result<(), ScimError> {
    let a = chain[0];
    let rest = &chain[1..];
    if !rest.is_empty() {
        return walk_into(kind, node, a, rest, (filter, sub, value), at);
    }
    if let Some(f) = filter {
        return filtered(kind, node, a, f, sub, value, at);
    }
    set(kind, node, a, value, at)
}

/// `walk` through `a`, an attribute with sub-attributes (`rest`): into each
/// of its values when it is multi-valued, else into its object, made when
/// an add or replace needs it.
fn walk_into(
    kind: Op,
    node: &mut Map<String, Json>,
    a: &Attr,
    rest: &[&Attr],
    (filter, sub, value): (Option<&Bound>, Option<&Attr>, Option<&Json>),
    at: &str,
) -> Result<(), ScimError> {
    let no_target = || ScimError::no_target(format!("{at}: {} has no value to change", a.name));
    if a.multi {
        // `emails.display` without a filter: every value of emails.
        let Some(Json::Array(items)) = node.get_mut(&a.name) else {
            return if kind == Op::Remove { Ok(()) } else { Err(no_target()) };
        };
        for item in items.iter_mut() {
            if let Some(o) = item.as_object_mut() {
                walk(kind, o, rest, filter, sub, value, at)?;
            }
        }
        items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
        if items.is_empty() {
            node.shift_remove(&a.name);
        }
        return Ok(());
    }
    if node.get(&a.name).is_none_or(Json::is_null) {
        if kind == Op::Remove {
            return Ok(());
        }
        node.insert(a.name.clone(), Json::Object(Map::new()));
    }
    let Some(child) = node.get_mut(&a.name).and_then(Json::as_object_mut) else {
        return Err(ScimError::invalid_value(format!("{at}: {} holds no object", a.name)));
    };
    walk(kind, child, rest, filter, sub, value, at)?;
    if child.is_empty() {
        node.shift_remove(&a.name);
    }
    Ok(())
}

/// The operation on attribute `a` itself, at the end of the path.
fn set(
    kind: Op,
    node: &mut Map<String, Json>,
    a: &Attr,
    value: Option<&Json>,
    at: &str,
) -> Result<(), ScimError> {
    let existing = node.get(&a.name).filter(|v| !v.is_null());
    if a.mutability == Mutability::Immutable && existing.is_some() {
        return Err(ScimError::mutability(format!(
            "{at}: {} is immutable and already set",
            a.name
        )));
    }
    // A required attribute cannot be unassigned (RFC 7644 §3.5.2.2 and, as
    // scim2-server reads it, with scimType mutability).
    let required = || ScimError::mutability(format!("{at}: {} is required", a.name));
    let Some(value) = value.filter(|_| kind != Op::Remove) else {
        if a.required {
            return Err(required());
        }
        node.shift_remove(&a.name);
        return Ok(());
    };
    // A single value added to a multi-valued attribute is one more value.
    let wrapped;
    let value = if a.multi && !value.is_array() && !value.is_null() {
        wrapped = Json::Array(vec![value.clone()]);
        &wrapped
    } else {
        value
    };
    let Some(new) = check_value(a, value, at)? else {
        // Null or empty: "add" adds nothing, "replace" leaves nothing.
        if kind == Op::Replace && a.required {
            return Err(required());
        }
        if kind == Op::Replace {
            node.shift_remove(&a.name);
        }
        return Ok(());
    };
    match new {
        Json::Array(new) if kind == Op::Add => {
            // Taken, not cloned: a large group's members are not copied.
            let mut items = match node.get_mut(&a.name) {
                Some(Json::Array(items)) => std::mem::take(items),
                _ => Vec::new(),
            };
            if new.iter().any(|v| v["primary"] == Json::Bool(true)) {
                demote_primaries(&mut items);
            }
            for v in new {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            node.insert(a.name.clone(), Json::Array(items));
        }
        Json::Object(new) => {
            // Single-valued complex: "sub-attributes that are not specified
            // in the value are left unchanged" (RFC 7644 §3.5.2.3), and the
            // same for add (§3.5.2.1).
            let mut merged = match existing {
                Some(Json::Object(o)) => o.clone(),
                _ => Map::new(),
            };
            merged.extend(new);
            node.insert(a.name.clone(), Json::Object(merged));
        }
        new => {
            node.insert(a.name.clone(), new);
        }
    }
    Ok(())
}

/// "A PATCH operation that sets a value's 'primary' sub-attribute to 'true'
/// SHALL cause the server to automatically set 'primary' to 'false' for any
/// other values in the array" (RFC 7644 §3.5.2).
fn demote_primaries(items: &mut [Json]) {
    for item in items {
        if item["primary"] == Json::Bool(true) {
            item["primary"] = Json::Bool(false);
        }
    }
}

/// An operation on the values of `a` that match `f`.
fn filtered(
    kind: Op,
    node: &mut Map<String, Json>,
    a: &Attr,
    f: &Bound,
    sub: Option<&Attr>,
    value: Option<&Json>,
    at: &str,
) -> Result<(), ScimError> {
    let no_match =
        || ScimError::no_target(format!("{at}: no value of {} matches the filter", a.name));
    let Some(Json::Array(items)) = node.get_mut(&a.name) else {
        // Removing what is not there leaves the resource as asked.
        return if kind == Op::Remove { Ok(()) } else { Err(no_match()) };
    };
    let hits: Vec<usize> = (0..items.len()).filter(|&i| eval(f, &items[i])).collect();
    if hits.is_empty() {
        return if kind == Op::Remove { Ok(()) } else { Err(no_match()) };
    }
    match (kind, sub) {
        (Op::Remove, None) => {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !hits.contains(&(i - 1))
            });
        }
        (_, Some(s)) => {
            let new = match (kind, value) {
                (Op::Remove, _) | (_, None) => None,
                (_, Some(v)) => check_value(s, v, at)?,
            };
            if s.name == "primary" && new == Some(Json::Bool(true)) {
                demote_primaries(items);
            }
            for &i in &hits {
                let Some(o) = items[i].as_object_mut() else { continue };
                if s.mutability == Mutability::Immutable
                    && o.get(&s.name).is_some_and(|v| !v.is_null())
                {
                    return Err(ScimError::mutability(format!("{at}: {} is immutable", s.name)));
                }
                match &new {
                    Some(v) => o.insert(s.name.clone(), v.clone()),
                    None => o.shift_remove(&s.name),
                };
            }
            items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
        }
        (_, None) => {
            let Some(v) = value else { return Err(no_match()) };
            let new = check_single(a, v, at)?;
            if new.as_ref().is_some_and(|n| n["primary"] == Json::Bool(true)) {
                demote_primaries(items);
            }
            for &i in &hits {
                match (&new, kind) {
                    // "all matching record values SHALL be replaced"
                    (Some(n), Op::Replace) => items[i] = n.clone(),
                    (Some(Json::Object(n)), _) => {
                        if let Some(o) = items[i].as_object_mut() {
                            o.extend(n.clone());
                        }
                    }
                    _ => {}
                }
            }
            if new.is_none() && kind == Op::Replace {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !hits.contains(&(i - 1))
                });
            }
        }
    }
    if items.is_empty() {
        node.shift_remove(&a.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ENTERPRISE, ResourceType, load};
    use super::*;
    use serde_json::json;

    fn types() -> (ResourceType, ResourceType) {
        let s = load();
        (
            ResourceType::new("User", "Users", "User Account", &s[0], &[(&s[2], false)]),
            ResourceType::new("Group", "Groups", "Group", &s[1], &[]),
        )
    }

    fn patch(rt: &ResourceType, data: Json, ops: Json) -> Result<Json, ScimError> {
        let mut d = data.as_object().unwrap().clone();
        apply(rt, &mut d, &json!({"schemas": [PATCH_OP], "Operations": ops}))?;
        Ok(Json::Object(d))
    }

    fn user() -> Json {
        json!({"userName": "bjensen",
            "emails": [{"value": "b@work", "type": "work", "primary": true}, {"value": "b@home", "type": "home"}],
            "name": {"givenName": "Barbara", "familyName": "Jensen"}})
    }

    #[test]
    fn add_replace_and_remove_with_paths() {
        let (u, _) = types();
        let d =
            patch(&u, user(), json!([{"op": "Add", "path": "nickName", "value": "Babs"}])).unwrap();
        assert_eq!(d["nickName"], "Babs");
        let d =
            patch(&u, user(), json!([{"op": "add", "path": "name", "value": {"middleName": "J"}}]))
                .unwrap();
        assert_eq!(
            d["name"],
            json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"})
        );
        let d = patch(
            &u,
            user(),
            json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]),
        )
        .unwrap();
        assert_eq!(d["name"]["givenName"], "Babs");
        let d = patch(&u, user(), json!([{"op": "REMOVE", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}])).unwrap();
        assert!(d.get("name").is_none(), "an emptied complex attribute is unassigned");
        let added = json!({"value": "b@other", "type": "other", "primary": true});
        let d =
            patch(&u, user(), json!([{"op": "add", "path": "emails", "value": [added]}])).unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 3);
        assert_eq!(d["emails"][0]["primary"], false, "adding a primary value demotes the others");
        let d = patch(
            &u,
            user(),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "x@y"}]}]),
        )
        .unwrap();
        assert_eq!(d["emails"], json!([{"value": "x@y"}]));
        let d = patch(&u, user(), json!([{"op": "replace", "path": "nickName", "value": null}]))
            .unwrap();
        assert!(d.get("nickName").is_none());
    }

    #[test]
    fn value_filters_select_the_values_to_change() {
        let (u, _) = types();
        let d = patch(&u, user(), json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"}])).unwrap();
        assert_eq!(d["emails"][0]["value"], "new@work");
        assert_eq!(d["emails"][1]["value"], "b@home");
        let d = patch(&u, user(), json!([{"op": "remove", "path": "emails[type eq \"WORK\"]"}]))
            .unwrap();
        assert_eq!(d["emails"], json!([{"value": "b@home", "type": "home"}]));
        let d = patch(&u, user(), json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@h", "type": "home"}}])).unwrap();
        assert_eq!(d["emails"][1], json!({"value": "h@h", "type": "home"}));
        let d = patch(
            &u,
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
        )
        .unwrap();
        assert!(d["emails"][0].get("primary").is_none());
        let e = patch(
            &u,
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("noTarget"));
        let d = patch(&u, user(), json!([{"op": "remove", "path": "emails[type eq \"fax\"]"}]))
            .unwrap();
        assert_eq!(d, user(), "removing values that are not there changes nothing");
    }

    #[test]
    fn no_path_and_extension_urns() {
        let (u, _) = types();
        let ops = json!([{"op": "replace", "value": {"nickName": "B", "NAME": {"givenName": "Bee"},
            format!("{ENTERPRISE}:employeeNumber"): "42",
            ENTERPRISE: {"schemas": [ENTERPRISE], "department": "Ops"}}}]);
        let d = patch(&u, user(), ops).unwrap();
        assert_eq!(d["nickName"], "B");
        assert_eq!(d["name"], json!({"givenName": "Bee", "familyName": "Jensen"}));
        assert_eq!(d[ENTERPRISE], json!({"employeeNumber": "42", "department": "Ops"}));
        let path = format!("{ENTERPRISE}:manager.value");
        let d = patch(&u, user(), json!([{"op": "add", "path": path, "value": "m1"}])).unwrap();
        assert_eq!(d[ENTERPRISE]["manager"], json!({"value": "m1"}));
        let d = patch(&u, d, json!([{"op": "remove", "path": ENTERPRISE}])).unwrap();
        assert!(d.get(ENTERPRISE).is_none());
    }

    #[test]
    fn group_members_add_and_remove_by_filter() {
        let (_, g) = types();
        let group = json!({"displayName": "Staff", "members": [{"value": "u1"}, {"value": "u2"}]});
        let d = patch(
            &g,
            group.clone(),
            json!([{"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]}]),
        )
        .unwrap();
        assert_eq!(d["members"], json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]));
        let d =
            patch(&g, group.clone(), json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]))
                .unwrap();
        assert_eq!(d["members"], json!([{"value": "u2"}]));
        let d = patch(
            &g,
            group.clone(),
            json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\"]"}]),
        )
        .unwrap();
        assert!(d.get("members").is_none());
        let e = patch(
            &g,
            group.clone(),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("mutability"), "member sub-attributes are immutable");
        let e = patch(
            &g,
            group,
            json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"));
    }

    #[test]
    fn errors_name_the_rfc_scim_types() {
        let (u, _) = types();
        let kind = |ops: Json| patch(&u, user(), ops).unwrap_err().scim_type;
        assert_eq!(kind(json!([{"op": "remove"}])), Some("noTarget"));
        assert_eq!(kind(json!([{"op": "add", "path": "nope", "value": 1}])), Some("invalidPath"));
        assert_eq!(
            kind(json!([{"op": "add", "path": "emails[type eq]", "value": 1}])),
            Some("invalidPath")
        );
        assert_eq!(
            kind(json!([{"op": "add", "path": "emails[type gt true]", "value": 1}])),
            Some("invalidFilter")
        );
        assert_eq!(
            kind(json!([{"op": "add", "path": "emails[nope eq 1]", "value": 1}])),
            Some("invalidPath")
        );
        assert_eq!(
            kind(json!([{"op": "replace", "path": "id", "value": "x"}])),
            Some("mutability")
        );
        assert_eq!(
            kind(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            Some("mutability")
        );
        assert_eq!(
            kind(json!([{"op": "replace", "path": "active", "value": "yes"}])),
            Some("invalidValue")
        );
        assert_eq!(
            kind(json!([{"op": "move", "path": "active", "value": true}])),
            Some("invalidValue")
        );
        assert_eq!(kind(json!([{"op": "add", "path": "title"}])), Some("invalidValue"));
        assert_eq!(kind(json!([])), Some("invalidValue"));
        assert_eq!(kind(json!([{"op": "remove", "path": "userName"}])), Some("mutability"));
        assert_eq!(
            kind(json!([{"op": "replace", "path": "userName", "value": null}])),
            Some("mutability")
        );
        let mut d = user().as_object().unwrap().clone();
        let e = apply(&u, &mut d, &json!({"Operations": [{"op": "remove", "path": "title"}]}))
            .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"), "the PatchOp schema is required");
    }

    #[test]
    fn a_failed_operation_is_reported_with_its_index() {
        let (u, _) = types();
        let e = patch(&u, user(), json!([{"op": "add", "path": "title", "value": "x"}, {"op": "add", "path": "bad", "value": 1}])).unwrap_err();
        assert!(e.detail.starts_with("Operations[1]"), "{}", e.detail);
    }
}
