//! Unit tests of the SCIM simulator, request in, response out: discovery,
//! auth, resources, filters and paging, projection, PUT/PATCH/DELETE,
//! ETags and 412, uniqueness, group membership and bulk references.

use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

const USER: &str = schema::USER;
const GROUP: &str = schema::GROUP;

fn sim() -> Sim {
    Sim::new(&SandboxConfig::default())
}

fn request(
    method: &str,
    target: &str,
    body: Option<&Json>,
    headers: &[(&str, &str)],
) -> SimRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut h = HeaderMap::new();
    let mut put = |k: &str, v: &str| {
        h.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    };
    put("host", "sb.test");
    put("authorization", "Bearer sandbox-scim");
    if body.is_some() {
        put("content-type", "application/scim+json");
    }
    for (k, v) in headers {
        put(k, v);
    }
    SimRequest {
        method: method.parse().unwrap(),
        path: path.into(),
        query: serde_urlencoded::from_str(query).unwrap(),
        headers: h,
        body: body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
        now: Instant::now(),
    }
}

fn call(s: &mut Sim, method: &str, target: &str, body: Option<Json>) -> SimResponse {
    s.handle(&request(method, target, body.as_ref(), &[]))
}

fn header<'r>(r: &'r SimResponse, name: &str) -> Option<&'r str> {
    r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

fn user(name: &str) -> Json {
    json!({"schemas": [USER], "userName": name})
}

/// Creates a user and returns its id.
fn add(s: &mut Sim, body: Json) -> String {
    let r = call(s, "POST", "/v2/Users", Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn add_group(s: &mut Sim, body: Json) -> String {
    let r = call(s, "POST", "/v2/Groups", Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn error_type(r: &SimResponse) -> (u16, Option<&str>) {
    assert_eq!(r.body["schemas"], json!([ERROR]), "{}", r.body);
    assert_eq!(r.body["status"], r.status.to_string());
    (r.status, r.body["scimType"].as_str())
}

fn names(list: &Json) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().or(r["displayName"].as_str()).unwrap_or("?").to_string())
        .collect()
}

fn get(s: &mut Sim, target: &str) -> Json {
    let r = call(s, "GET", target, None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[test]
fn the_published_base_url_is_where_this_module_answers() {
    assert_eq!(ACCESS.prefix, format!("{PREFIX}/v2"));
    assert_eq!(PREFIX, format!("/{}", ACCESS.vendor));
}

#[test]
fn auth_is_a_bearer_token_and_failures_are_scim_errors() {
    let mut s = sim();
    let none = s.handle(&request("GET", "/v2/Users", None, &[("authorization", "")]));
    assert_eq!(error_type(&none), (401, None));
    assert_eq!(header(&none, "www-authenticate"), Some("Bearer realm=\"hrport-sandbox\""));
    assert_eq!(header(&none, "content-type"), Some(SCIM_JSON));
    let wrong = s.handle(&request("GET", "/v2/Users", None, &[("authorization", "Bearer nope")]));
    assert_eq!(wrong.status, 401);
    assert!(header(&wrong, "www-authenticate").unwrap().contains("invalid_token"));
    let basic =
        s.handle(&request("GET", "/v2/Users", None, &[("authorization", "Basic sandbox-scim")]));
    assert_eq!(basic.status, 401);
    let lower =
        s.handle(&request("GET", "/v2/Users", None, &[("authorization", "bearer sandbox-scim")]));
    assert_eq!(lower.status, 200);
    assert_eq!(header(&lower, "content-type"), Some(SCIM_JSON));
}

#[test]
fn discovery_endpoints_describe_what_is_served() {
    let mut s = sim();
    let spc = get(&mut s, "/v2/ServiceProviderConfig");
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
    );
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 200}));
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(spc["meta"]["location"], "http://sb.test/scim/v2/ServiceProviderConfig");
    for knob in ["bulk", "etag", "sort", "patch", "filter"] {
        let mut t = sim();
        match knob {
            "bulk" => t.bulk_supported = false,
            "etag" => t.etag_supported = false,
            "sort" => t.sort_supported = false,
            "patch" => t.patch_supported = false,
            _ => t.filter_supported = false,
        }
        assert_eq!(get(&mut t, "/v2/ServiceProviderConfig")[knob]["supported"], false);
    }
    let filtered = call(&mut s, "GET", "/v2/ServiceProviderConfig?filter=x%20pr", None);
    assert_eq!(filtered.status, 403);

    let schemas = get(&mut s, "/v2/Schemas");
    assert_eq!(schemas["totalResults"], 3);
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, GROUP, ENTERPRISE]);
    let one = get(&mut s, &format!("/v2/Schemas/{}", ENTERPRISE.replace(':', "%3A")));
    assert_eq!(
        one["meta"],
        json!({"resourceType": "Schema", "location": format!("http://sb.test/scim/v2/Schemas/{ENTERPRISE}")})
    );
    assert_eq!(one["attributes"].as_array().unwrap().len(), 6);
    assert_eq!(error_type(&call(&mut s, "GET", "/v2/Schemas/urn:nope", None)), (404, None));

    let types = get(&mut s, "/v2/ResourceTypes");
    assert_eq!(types["totalResults"], 2);
    let user_type = get(&mut s, "/v2/ResourceTypes/User");
    assert_eq!(user_type["endpoint"], "/Users");
    assert_eq!(user_type["schemaExtensions"], json!([{"schema": ENTERPRISE, "required": false}]));
    assert!(get(&mut s, "/v2/ResourceTypes/Group").get("schemaExtensions").is_none());
    assert_eq!(call(&mut s, "GET", "/v2/ResourceTypes/Nope", None).status, 404);

    for path in ["/v2/ServiceProviderConfig", "/v2/Schemas", "/v2/ResourceTypes"] {
        let r = call(&mut s, "POST", path, Some(json!({})));
        assert_eq!((r.status, header(&r, "allow")), (405, Some("GET")));
    }
    assert_eq!(error_type(&call(&mut s, "GET", "/v2/Nowhere", None)), (404, None));
    assert_eq!(error_type(&call(&mut s, "GET", "/v1/Users", None)), (404, None));
    assert_eq!(call(&mut s, "GET", "/v2/Me", None).status, 501);
}

#[test]
fn create_returns_201_with_location_etag_and_never_the_password() {
    let mut s = sim();
    let body = json!({"schemas": [USER, ENTERPRISE], "userName": "bjensen", "password": "t1meMachine",
        "id": "mine", "groups": [{"value": "x"}], "externalId": "701984",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        ENTERPRISE: {"employeeNumber": "42"}});
    let r = call(&mut s, "POST", "/v2/Users", Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    let u = &r.body;
    let id = u["id"].as_str().unwrap();
    assert_ne!(id, "mine", "id is read-only: the server assigns it");
    assert_eq!(id.len(), 36);
    assert!(u.get("password").is_none() && u.get("groups").is_none());
    assert_eq!(u["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(u["externalId"], "701984");
    let location = format!("http://sb.test/scim/v2/Users/{id}");
    assert_eq!(header(&r, "location"), Some(location.as_str()));
    assert_eq!(u["meta"]["location"], location);
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(u["meta"]["created"], u["meta"]["lastModified"]);
    assert_eq!(header(&r, "etag"), u["meta"]["version"].as_str());
    assert!(header(&r, "etag").unwrap().starts_with("W/\""));
    assert_eq!(s.password_of("BJENSEN").as_deref(), Some("t1meMachine"));
    assert_eq!(s.user_by_name("bjensen").unwrap()["id"], id);
    assert_eq!(s.users().len(), 1);
    assert_eq!(get(&mut s, &format!("/v2/Users/{id}")), *u);
}

#[test]
fn create_checks_the_body_against_the_schema() {
    let mut s = sim();
    let mut refused =
        |body: Json| error_type(&call(&mut s, "POST", "/v2/Users", Some(body))).1.map(String::from);
    assert_eq!(refused(json!({"userName": "a"})).as_deref(), Some("invalidSyntax"));
    assert_eq!(
        refused(json!({"schemas": [GROUP], "userName": "a"})).as_deref(),
        Some("invalidValue")
    );
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": "a", "shoeSize": 9})).as_deref(),
        Some("invalidSyntax")
    );
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": "a", "active": "yes"})).as_deref(),
        Some("invalidValue")
    );
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": "a", "emails": {"value": "a@b"}})).as_deref(),
        Some("invalidValue")
    );
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": "a", "name": {"first": "A"}})).as_deref(),
        Some("invalidSyntax")
    );
    assert_eq!(refused(json!({"schemas": [USER]})).as_deref(), Some("invalidValue"));
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": ""})).as_deref(),
        Some("invalidValue")
    );
    assert_eq!(refused(json!({"schemas": [USER], "userName": "a", ENTERPRISE: {"manager": {"value": "nobody"}}})).as_deref(), Some("invalidValue"));
    let two_primaries =
        json!([{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]);
    assert_eq!(
        refused(json!({"schemas": [USER], "userName": "a", "emails": two_primaries})).as_deref(),
        Some("invalidValue")
    );
    let nameless =
        call(&mut s, "POST", "/v2/Groups", Some(json!({"schemas": [GROUP], "members": []})));
    assert_eq!(error_type(&nameless), (400, Some("invalidValue")), "a group needs a displayName");
    let mut bad = request("POST", "/v2/Users", None, &[("content-type", "application/scim+json")]);
    bad.body = Bytes::from_static(b"{not json");
    assert_eq!(error_type(&s.handle(&bad)), (400, Some("invalidSyntax")));
    let mut xml =
        request("POST", "/v2/Users", Some(&user("x")), &[("content-type", "application/xml")]);
    xml.body = Bytes::from_static(b"<user/>");
    assert_eq!(s.handle(&xml).status, 415);
    let plain = s.handle(&request(
        "POST",
        "/v2/Users",
        Some(&user("json")),
        &[("content-type", "application/json; charset=utf-8")],
    ));
    assert_eq!(plain.status, 201);
    assert!(s.users().len() == 1, "nothing refused was stored");
}

#[test]
fn user_name_is_unique_ignoring_case_but_group_names_need_not_be() {
    let mut s = sim();
    let a = add(&mut s, user("bjensen"));
    let b = add(&mut s, user("other"));
    let dup = call(&mut s, "POST", "/v2/Users", Some(user("BJensen")));
    assert_eq!(error_type(&dup), (409, Some("uniqueness")));
    let put = call(&mut s, "PUT", &format!("/v2/Users/{b}"), Some(user("BJENSEN")));
    assert_eq!(error_type(&put), (409, Some("uniqueness")));
    let ops = json!({"schemas": [patch::PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "bjensen"}]});
    assert_eq!(error_type(&call(&mut s, "PATCH", &format!("/v2/Users/{b}"), Some(ops))).0, 409);
    // Renaming frees the old name and a user may keep its own name.
    let ok = call(&mut s, "PUT", &format!("/v2/Users/{a}"), Some(user("BJensen")));
    assert_eq!(ok.status, 200);
    let renamed = call(&mut s, "PUT", &format!("/v2/Users/{a}"), Some(user("babs")));
    assert_eq!(renamed.status, 200);
    add(&mut s, user("bjensen"));
    add_group(&mut s, json!({"schemas": [GROUP], "displayName": "Staff"}));
    assert_eq!(s.groups().len(), 2, "the demo group Staff and a second Staff");
}

fn people(s: &mut Sim) {
    let users = [
        json!({"schemas": [USER, ENTERPRISE], "userName": "bjensen", "title": "Tour Guide", "active": true,
            "name": {"familyName": "Jensen", "givenName": "Barbara"}, "nickName": "Babs",
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tours"}}),
        json!({"schemas": [USER], "userName": "jsmith", "active": false, "name": {"familyName": "Smith", "givenName": "John"},
            "emails": [{"value": "john@example.org", "type": "work"}]}),
        json!({"schemas": [USER, ENTERPRISE], "userName": "mpepper", "active": true, "nickName": "Pep",
            "name": {"familyName": "Pepperidge", "givenName": "Mark"},
            "emails": [{"value": "mark@example.com", "type": "home"}], ENTERPRISE: {"employeeNumber": "12"}}),
        json!({"schemas": [USER], "userName": "Alice", "name": {"familyName": "Zed", "givenName": "Alice"}}),
        json!({"schemas": [USER], "userName": "carol", "nickName": "Caz"}),
    ];
    for u in users {
        add(s, u);
    }
}

fn query(s: &mut Sim, q: &str) -> Json {
    let sep = if q.is_empty() { "" } else { "?" };
    get(s, &format!("/v2/Users{sep}{q}"))
}

fn filter(s: &mut Sim, f: &str) -> Vec<String> {
    let q = serde_urlencoded::to_string([("filter", f)]).unwrap();
    names(&query(s, &q))
}

#[test]
fn filters_select_users() {
    let mut s = sim();
    people(&mut s);
    assert_eq!(filter(&mut s, r#"userName eq "BJENSEN""#), ["bjensen"]);
    assert_eq!(filter(&mut s, r#"userName Eq "alice""#), ["Alice"]);
    assert_eq!(
        filter(&mut s, r#"emails[type eq "work" and value co "@example.com"]"#),
        ["bjensen"]
    );
    assert_eq!(filter(&mut s, r#"emails co "example.com""#), ["bjensen", "mpepper"]);
    assert_eq!(filter(&mut s, r#"emails.type eq "home""#), ["bjensen", "mpepper"]);
    assert_eq!(
        filter(&mut s, r#"name.familyName sw "p" or name.givenName ew "N""#),
        ["jsmith", "mpepper"]
    );
    assert_eq!(
        filter(
            &mut s,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:nickName pr and not (active eq false)"#
        ),
        ["bjensen", "mpepper", "carol"]
    );
    assert_eq!(filter(&mut s, &format!(r#"{ENTERPRISE}:employeeNumber eq "12""#)), ["mpepper"]);
    assert_eq!(filter(&mut s, &format!(r#"{ENTERPRISE}:department pr"#)), ["bjensen"]);
    assert_eq!(
        filter(&mut s, r#"active eq true and (userName lt "c" or userName gt "l")"#),
        ["bjensen", "mpepper"]
    );
    assert_eq!(filter(&mut s, r#"meta.created gt "2000-01-01T00:00:00Z""#).len(), 5);
    assert_eq!(filter(&mut s, r#"meta.resourceType eq "User""#).len(), 5);
    assert!(filter(&mut s, r#"userName eq "nobody""#).is_empty());
    let id = s.user_by_name("jsmith").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(filter(&mut s, &format!(r#"id eq "{id}""#)), ["jsmith"]);
    for bad in [
        r#"userName eq"#,
        r#"userName eq bjensen"#,
        r#"shoeSize gt 3"#,
        r#"active gt true"#,
        r#"emails[shoe eq "x"]"#,
    ] {
        let q = serde_urlencoded::to_string([("filter", bad)]).unwrap();
        let r = call(&mut s, "GET", &format!("/v2/Users?{q}"), None);
        assert_eq!(error_type(&r), (400, Some("invalidFilter")), "{bad}");
    }
    s.filter_supported = false;
    assert_eq!(call(&mut s, "GET", "/v2/Users?filter=userName%20pr", None).status, 501);
    assert_eq!(query(&mut s, "")["totalResults"], 5, "without a filter, listing still works");
}

#[test]
fn paging_counts_from_one_and_caps_at_max_results() {
    let mut s = sim();
    people(&mut s);
    let page = query(&mut s, "startIndex=2&count=2");
    assert_eq!(
        (page["totalResults"].clone(), page["itemsPerPage"].clone(), page["startIndex"].clone()),
        (json!(5), json!(2), json!(2))
    );
    assert_eq!(names(&page), ["jsmith", "mpepper"]);
    let last = query(&mut s, "startIndex=5&count=10");
    assert_eq!(names(&last), ["carol"]);
    let past = query(&mut s, "startIndex=9");
    assert_eq!((past["totalResults"].clone(), past["itemsPerPage"].clone()), (json!(5), json!(0)));
    assert_eq!(past["Resources"], json!([]));
    let zero = query(&mut s, "count=0");
    assert_eq!((zero["totalResults"].clone(), zero["Resources"].clone()), (json!(5), json!([])));
    assert_eq!(query(&mut s, "startIndex=-3&count=1")["startIndex"], 1);
    assert_eq!(query(&mut s, "count=-1")["itemsPerPage"], 0);
    s.max_results = 3;
    assert_eq!(query(&mut s, "count=10")["itemsPerPage"], 3);
    assert_eq!(query(&mut s, "")["itemsPerPage"], 3);
    assert_eq!(
        error_type(&call(&mut s, "GET", "/v2/Users?count=ten", None)),
        (400, Some("invalidValue"))
    );
}

#[test]
fn sorting_by_any_attribute_missing_values_last() {
    let mut s = sim();
    people(&mut s);
    assert_eq!(
        names(&query(&mut s, "sortBy=userName")),
        ["Alice", "bjensen", "carol", "jsmith", "mpepper"]
    );
    assert_eq!(
        names(&query(&mut s, "sortBy=USERNAME&sortOrder=descending")),
        ["mpepper", "jsmith", "carol", "bjensen", "Alice"]
    );
    assert_eq!(
        names(&query(&mut s, "sortBy=nickName")),
        ["bjensen", "carol", "mpepper", "jsmith", "Alice"]
    );
    assert_eq!(
        names(&query(&mut s, "sortBy=nickName&sortOrder=descending")),
        ["Alice", "jsmith", "mpepper", "carol", "bjensen"]
    );
    assert_eq!(
        names(&query(&mut s, "sortBy=emails&count=2")),
        ["bjensen", "jsmith"],
        "by the primary (else first) value"
    );
    assert_eq!(names(&query(&mut s, "sortBy=name.familyName&count=2")), ["bjensen", "mpepper"]);
    assert_eq!(
        error_type(&call(&mut s, "GET", "/v2/Users?sortBy=shoeSize", None)),
        (400, Some("invalidPath"))
    );
    assert_eq!(
        error_type(&call(&mut s, "GET", "/v2/Users?sortBy=userName&sortOrder=up", None)),
        (400, Some("invalidValue"))
    );
    s.sort_supported = false;
    assert_eq!(
        names(&query(&mut s, "sortBy=userName&count=2")),
        ["bjensen", "jsmith"],
        "sortBy ignored"
    );
}

#[test]
fn attributes_and_excluded_attributes_shape_every_answer() {
    let mut s = sim();
    people(&mut s);
    let id = s.user_by_name("bjensen").unwrap()["id"].as_str().unwrap().to_string();
    let u = get(&mut s, &format!("/v2/Users/{id}?attributes=userName,name.givenName"));
    assert_eq!(
        u,
        json!({"schemas": [USER], "id": id, "userName": "bjensen", "name": {"givenName": "Barbara"}})
    );
    let ext =
        get(&mut s, &format!("/v2/Users/{id}?attributes={ENTERPRISE}:department,emails.value"));
    assert_eq!(
        ext,
        json!({"schemas": [USER, ENTERPRISE], "id": id,
        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}], ENTERPRISE: {"department": "Tours"}})
    );
    let without =
        get(&mut s, &format!("/v2/Users/{id}?excludedAttributes=emails,meta,{ENTERPRISE},id"));
    assert!(without.get("emails").is_none() && without.get("meta").is_none());
    assert_eq!(without["schemas"], json!([USER]));
    assert_eq!(without["id"], id, "id is always returned");
    let list = query(&mut s, "attributes=userName&count=1");
    assert_eq!(
        list["Resources"][0],
        json!({"schemas": [USER], "id": list["Resources"][0]["id"], "userName": "bjensen"})
    );
    let both = call(&mut s, "GET", "/v2/Users?attributes=userName&excludedAttributes=name", None);
    assert_eq!(error_type(&both), (400, Some("invalidValue")));
    let created = call(&mut s, "POST", "/v2/Users?attributes=userName", Some(user("new")));
    assert_eq!(created.status, 201);
    assert_eq!(created.body.as_object().unwrap().len(), 3, "{}", created.body);
}

#[test]
fn search_by_post_across_one_or_all_resource_types() {
    let mut s = sim();
    people(&mut s);
    let search = |f: &str| json!({"schemas": [SEARCH], "filter": f, "attributes": ["userName", "displayName"]});
    let r = call(
        &mut s,
        "POST",
        "/v2/.search",
        Some(search(r#"displayName eq "Staff" or userName eq "carol""#)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r.body), ["carol", "Staff"]);
    assert_eq!(r.body["Resources"][1]["schemas"], json!([GROUP]));
    let r = call(&mut s, "POST", "/v2/.search", Some(search(r#"shoeSize eq 1"#)));
    assert_eq!(error_type(&r), (400, Some("invalidFilter")));
    let body = json!({"schemas": [SEARCH], "startIndex": 2, "count": 1, "sortBy": "userName", "excludedAttributes": ["emails"]});
    let r = call(&mut s, "POST", "/v2/Users/.search", Some(body));
    assert_eq!(
        (names(&r.body), r.body["totalResults"].clone()),
        (vec!["bjensen".to_string()], json!(5))
    );
    assert!(r.body["Resources"][0].get("emails").is_none());
    let r = call(&mut s, "POST", "/v2/Users/.search", Some(json!({"filter": "userName pr"})));
    assert_eq!(error_type(&r), (400, Some("invalidSyntax")));
    assert_eq!(call(&mut s, "GET", "/v2/.search", None).status, 405);
}

#[test]
fn put_replaces_everything_but_the_password() {
    let mut s = sim();
    let id = add(
        &mut s,
        json!({"schemas": [USER], "userName": "bjensen", "nickName": "Babs", "password": "p1"}),
    );
    let path = format!("/v2/Users/{id}");
    let before = get(&mut s, &path);
    let r = call(
        &mut s,
        "PUT",
        &path,
        Some(json!({"schemas": [USER], "userName": "bjensen", "title": "Boss", "id": "other"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert!(r.body.get("nickName").is_none(), "an omitted attribute is cleared");
    assert_eq!(r.body["title"], "Boss");
    assert_eq!(s.password_of("bjensen").as_deref(), Some("p1"), "an omitted password is kept");
    assert_eq!(r.body["meta"]["created"], before["meta"]["created"]);
    assert_ne!(r.body["meta"]["version"], before["meta"]["version"]);
    assert_eq!(header(&r, "etag"), r.body["meta"]["version"].as_str());
    assert_eq!(call(&mut s, "PUT", "/v2/Users/nobody", Some(user("x"))).status, 404);
    let e = call(&mut s, "PUT", &path, Some(json!({"schemas": [USER]})));
    assert_eq!(error_type(&e), (400, Some("invalidValue")));
}

#[test]
fn if_match_guards_writes_and_if_none_match_saves_reads() {
    let mut s = sim();
    let id = add(&mut s, user("bjensen"));
    let path = format!("/v2/Users/{id}");
    let v1 = get(&mut s, &path)["meta"]["version"].as_str().unwrap().to_string();
    let r = s.handle(&request("GET", &path, None, &[("if-none-match", &v1)]));
    assert_eq!((r.status, header(&r, "etag")), (304, Some(v1.as_str())));
    let stale = s.handle(&request("PUT", &path, Some(&user("x")), &[("if-match", "W/\"0000\"")]));
    assert_eq!(error_type(&stale), (412, None));
    let fresh = s.handle(&request(
        "PUT",
        &path,
        Some(&json!({"schemas": [USER], "userName": "bjensen", "title": "T"})),
        &[("if-match", &v1)],
    ));
    assert_eq!(fresh.status, 200);
    let v2 = fresh.body["meta"]["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);
    assert_eq!(s.handle(&request("GET", &path, None, &[("if-none-match", &v1)])).status, 200);
    let patch = json!({"schemas": [patch::PATCH_OP], "Operations": [{"op": "add", "path": "nickName", "value": "B"}]});
    let r = s.handle(&request("PATCH", &path, Some(&patch), &[("if-match", &v1)]));
    assert_eq!(r.status, 412);
    let r =
        s.handle(&request("PATCH", &path, Some(&patch), &[("if-match", &format!("\"x\", {v2}"))]));
    assert_eq!(r.status, 200);
    assert_eq!(s.handle(&request("DELETE", &path, None, &[("if-match", &v2)])).status, 412);
    assert_eq!(s.handle(&request("DELETE", &path, None, &[("if-match", "*")])).status, 204);

    let mut t = sim();
    t.etag_supported = false;
    let id = add(&mut t, user("bjensen"));
    let path = format!("/v2/Users/{id}");
    let r = call(&mut t, "GET", &path, None);
    assert!(header(&r, "etag").is_none() && r.body["meta"].get("version").is_none());
    let r = t.handle(&request("PUT", &path, Some(&user("bjensen")), &[("if-match", "W/\"0\"")]));
    assert_eq!(r.status, 200, "If-Match is ignored when ETags are not supported");
}

#[test]
fn patch_answers_the_resource_or_204_and_moves_the_version_only_on_change() {
    let mut s = sim();
    let id = add(&mut s, user("bjensen"));
    let path = format!("/v2/Users/{id}");
    let before = get(&mut s, &path);
    let ops = |op: &str, p: &str, v: Json| json!({"schemas": [patch::PATCH_OP], "Operations": [{"op": op, "path": p, "value": v}]});
    let r = call(&mut s, "PATCH", &path, Some(ops("Replace", "displayName", json!("Babs"))));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Babs");
    assert_ne!(r.body["meta"]["version"], before["meta"]["version"]);
    let same = call(&mut s, "PATCH", &path, Some(ops("replace", "displayName", json!("Babs"))));
    assert_eq!(same.body["meta"], r.body["meta"], "nothing changed: same version and lastModified");
    let r = call(
        &mut s,
        "PATCH",
        &format!("{path}?attributes=displayName"),
        Some(ops("add", "title", json!("T"))),
    );
    assert!(r.body.get("title").is_none() && r.body["displayName"] == "Babs");
    s.patch_returns_resource = false;
    let r = call(&mut s, "PATCH", &path, Some(ops("add", "title", json!("T2"))));
    assert_eq!((r.status, r.body.clone()), (204, Json::Null));
    assert_eq!(header(&r, "etag"), get(&mut s, &path)["meta"]["version"].as_str());
    let r = call(&mut s, "PATCH", &path, Some(ops("add", "groups", json!([{"value": "x"}]))));
    assert_eq!(error_type(&r), (400, Some("mutability")));
    assert_eq!(get(&mut s, &path)["title"], "T2", "a refused PATCH changes nothing");
    let two = json!({"schemas": [patch::PATCH_OP], "Operations": [
        {"op": "add", "path": "nickName", "value": "N"}, {"op": "add", "path": "nope", "value": 1}]});
    assert_eq!(error_type(&call(&mut s, "PATCH", &path, Some(two))), (400, Some("invalidPath")));
    assert!(get(&mut s, &path).get("nickName").is_none(), "PATCH is all or nothing");
    let remove_required =
        json!({"schemas": [patch::PATCH_OP], "Operations": [{"op": "remove", "path": "userName"}]});
    assert_eq!(
        error_type(&call(&mut s, "PATCH", &path, Some(remove_required))),
        (400, Some("mutability"))
    );
    s.patch_supported = false;
    assert_eq!(call(&mut s, "PATCH", &path, Some(ops("add", "title", json!("x")))).status, 501);
}

#[test]
fn group_members_and_the_groups_users_derive_from_them() {
    let mut s = sim();
    let u1 = add(&mut s, json!({"schemas": [USER], "userName": "u1"}));
    let u2 = add(&mut s, json!({"schemas": [USER], "userName": "u2"}));
    let staff = s.group_by_name("staff").unwrap()["id"].as_str().unwrap().to_string();
    let a = add_group(
        &mut s,
        json!({"schemas": [GROUP], "displayName": "A", "members": [{"value": u1}, {"value": u1}]}),
    );
    let ga = get(&mut s, &format!("/v2/Groups/{a}"));
    assert_eq!(
        ga["members"],
        json!([{"value": u1, "type": "User", "$ref": format!("http://sb.test/scim/v2/Users/{u1}")}])
    );
    let u1_before = get(&mut s, &format!("/v2/Users/{u1}"));
    let ops = json!({"schemas": [patch::PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": a, "type": "Group", "display": "A"}]}]});
    let r = call(&mut s, "PATCH", &format!("/v2/Groups/{staff}"), Some(ops));
    assert_eq!(r.status, 200, "{}", r.body);
    let u1_now = get(&mut s, &format!("/v2/Users/{u1}"));
    assert_eq!(
        u1_now["groups"],
        json!([
        {"value": a, "$ref": format!("http://sb.test/scim/v2/Groups/{a}"), "display": "A", "type": "direct"},
        {"value": staff, "$ref": format!("http://sb.test/scim/v2/Groups/{staff}"), "display": "Staff", "type": "indirect"}])
    );
    assert_ne!(
        u1_now["meta"]["version"], u1_before["meta"]["version"],
        "derived groups are part of the version"
    );
    let by_group = filter(&mut s, &format!(r#"groups.value eq "{staff}""#));
    assert_eq!(by_group, ["u1"]);

    let ops = json!({"schemas": [patch::PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": u2}]},
        {"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]});
    let r = call(&mut s, "PATCH", &format!("/v2/Groups/{a}"), Some(ops));
    assert_eq!(r.body["members"][0]["value"], u2.as_str());
    assert!(get(&mut s, &format!("/v2/Users/{u1}")).get("groups").is_none());

    let mut refused = |members: Json| {
        let body = json!({"schemas": [GROUP], "displayName": "X", "members": members});
        error_type(&call(&mut s, "POST", "/v2/Groups", Some(body))).1.map(String::from)
    };
    assert_eq!(refused(json!([{"value": "nobody"}])).as_deref(), Some("invalidValue"));
    assert_eq!(refused(json!([{"value": u1, "type": "Group"}])).as_deref(), Some("invalidValue"));
    assert_eq!(
        refused(json!([{"value": u1, "$ref": format!("http://x/v2/Users/{u2}")}])).as_deref(),
        Some("invalidValue")
    );
    assert_eq!(refused(json!([{"display": "no value"}])).as_deref(), Some("invalidValue"));
    let own = json!({"schemas": [patch::PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": a}]}]});
    assert_eq!(
        error_type(&call(&mut s, "PATCH", &format!("/v2/Groups/{a}"), Some(own))),
        (400, Some("invalidValue"))
    );
    let by_ref = add_group(
        &mut s,
        json!({"schemas": [GROUP], "displayName": "R", "members": [{"$ref": format!("https://elsewhere/v2/Users/{u1}")}]}),
    );
    assert_eq!(get(&mut s, &format!("/v2/Groups/{by_ref}"))["members"][0]["value"], u1.as_str());

    assert_eq!(call(&mut s, "DELETE", &format!("/v2/Users/{u2}"), None).status, 204);
    assert!(
        get(&mut s, &format!("/v2/Groups/{a}")).get("members").is_none(),
        "a deleted user leaves its groups"
    );
    assert_eq!(call(&mut s, "DELETE", &format!("/v2/Groups/{a}"), None).status, 204);
    assert_eq!(get(&mut s, &format!("/v2/Groups/{staff}")).get("members"), None);
    assert_eq!(error_type(&call(&mut s, "GET", &format!("/v2/Groups/{a}"), None)), (404, None));
}

#[test]
fn the_manager_is_a_reference_to_a_user() {
    let mut s = sim();
    let boss = add(&mut s, user("boss"));
    let id = add(
        &mut s,
        json!({"schemas": [USER, ENTERPRISE], "userName": "worker", ENTERPRISE: {"manager": {"value": boss}}}),
    );
    let w = get(&mut s, &format!("/v2/Users/{id}"));
    assert_eq!(
        w[ENTERPRISE]["manager"],
        json!({"value": boss, "$ref": format!("http://sb.test/scim/v2/Users/{boss}")})
    );
    assert_eq!(filter(&mut s, &format!(r#"{ENTERPRISE}:manager.value eq "{boss}""#)), ["worker"]);
    let ops = json!({"schemas": [patch::PATCH_OP], "Operations": [
        {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "nobody"}}]});
    let r = call(&mut s, "PATCH", &format!("/v2/Users/{id}"), Some(ops));
    assert_eq!(error_type(&r), (400, Some("invalidValue")));
    assert_eq!(call(&mut s, "DELETE", &format!("/v2/Users/{boss}"), None).status, 204);
    let w = get(&mut s, &format!("/v2/Users/{id}"));
    assert!(w.get(ENTERPRISE).is_none(), "a deleted manager is no one's manager: {w}");
    assert_eq!(w["schemas"], json!([USER]));
}

fn bulk(s: &mut Sim, ops: Json, extra: Json) -> SimResponse {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    call(s, "POST", "/v2/Bulk", Some(body))
}

#[test]
fn bulk_resolves_bulk_ids_including_forward_references() {
    let mut s = sim();
    let ops = json!([
        {"method": "POST", "path": "/Groups", "bulkId": "team",
         "data": {"schemas": [GROUP], "displayName": "Team", "members": [{"type": "User", "value": "bulkId:boss"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "boss", "data": user("boss")},
        {"method": "POST", "path": "/Users", "bulkId": "worker",
         "data": {"schemas": [USER, ENTERPRISE], "userName": "worker", ENTERPRISE: {"manager": {"value": "bulkId:boss"}}}},
        {"method": "PATCH", "path": "/Groups/bulkId:team",
         "data": {"schemas": [patch::PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:worker"}]}]}},
    ]);
    let r = bulk(&mut s, ops, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    let out = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = out.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "201", "200"], "{}", r.body);
    assert_eq!(out[0]["bulkId"], "team");
    assert_eq!(out[0]["method"], "POST");
    assert!(out[3]["version"].as_str().unwrap().starts_with("W/"));
    let boss = s.user_by_name("boss").unwrap();
    let worker = s.user_by_name("worker").unwrap();
    assert_eq!(out[1]["location"], boss["meta"]["location"]);
    assert_eq!(worker[ENTERPRISE]["manager"]["value"], boss["id"]);
    let team = s.group_by_name("Team").unwrap();
    let members: Vec<&Json> =
        team["members"].as_array().unwrap().iter().map(|m| &m["value"]).collect();
    assert_eq!(members, [&boss["id"], &worker["id"]]);
    assert_eq!(worker["groups"][0]["display"], "Team");
}

#[test]
fn bulk_failures_are_per_operation_and_fail_on_errors_stops() {
    let mut s = sim();
    add(&mut s, user("taken"));
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("taken")},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("fresh")},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "data": user("no-bulk-id")},
        {"method": "DELETE", "path": "/Users/nobody"},
        {"method": "POST", "path": "/Groups", "bulkId": "c1", "data": {"schemas": [GROUP], "displayName": "C1", "members": [{"value": "bulkId:c2"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "c2", "data": {"schemas": [GROUP], "displayName": "C2", "members": [{"value": "bulkId:c1"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "x", "data": {"schemas": [GROUP], "displayName": "X", "members": [{"value": "bulkId:missing"}]}},
        {"method": "GET", "path": "/Users"},
    ]);
    let r = bulk(&mut s, ops.clone(), json!({}));
    let out = r.body["Operations"].as_array().unwrap();
    let got: Vec<(&str, Option<&str>)> = out
        .iter()
        .map(|o| (o["status"].as_str().unwrap(), o["response"]["scimType"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("409", Some("uniqueness")),
            ("201", None),
            ("409", None),
            ("400", Some("invalidValue")),
            ("404", None),
            ("409", None),
            ("409", None),
            ("409", None),
            ("400", Some("invalidValue"))
        ],
        "{}",
        r.body
    );
    assert_eq!(out[0]["response"]["schemas"], json!([ERROR]));
    assert!(s.user_by_name("fresh").is_some());

    let mut t = sim();
    add(&mut t, user("taken"));
    let r = bulk(&mut t, ops, json!({"failOnErrors": 1}));
    assert_eq!(r.body["Operations"].as_array().unwrap().len(), 1, "{}", r.body);
    assert!(t.user_by_name("fresh").is_none(), "nothing after the first failure ran");

    let mut small = sim();
    small.bulk_max_operations = 1;
    let two =
        json!([{"method": "DELETE", "path": "/Users/a"}, {"method": "DELETE", "path": "/Users/b"}]);
    assert_eq!(error_type(&bulk(&mut small, two.clone(), json!({}))), (413, None));
    small.bulk_max_operations = 10;
    small.bulk_max_payload = 50;
    assert_eq!(error_type(&bulk(&mut small, two.clone(), json!({}))), (413, None));
    small.bulk_supported = false;
    assert_eq!(bulk(&mut small, two, json!({})).status, 501);
    let r = call(&mut s, "POST", "/v2/Bulk", Some(json!({"Operations": []})));
    assert_eq!(error_type(&r), (400, Some("invalidSyntax")));
}

#[test]
fn bulk_version_acts_as_if_match() {
    let mut s = sim();
    let id = add(&mut s, user("u"));
    let put = |version: &str| {
        json!([{"method": "PUT", "path": format!("/Users/{id}"), "version": version,
        "data": {"schemas": [USER], "userName": "u", "title": "T"}}])
    };
    let r = bulk(&mut s, put("W/\"stale\""), json!({}));
    assert_eq!(r.body["Operations"][0]["status"], "412");
    let location = format!("http://sb.test/scim/v2/Users/{id}");
    assert_eq!(r.body["Operations"][0]["location"], location.as_str());
    let current = s.users()[0]["meta"]["version"].as_str().unwrap().to_string();
    let r = bulk(&mut s, put(&current), json!({}));
    assert_eq!(r.body["Operations"][0]["status"], "200", "{}", r.body);
}
