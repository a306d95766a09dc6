//! SCIM 2.0 service provider imitation (RFC 7643/7644) at `/scim`, base URL
//! `http://127.0.0.1:PORT/scim/v2`; demo data: one group, "Staff". Users and
//! Groups are stored as JSON, and checks, filters, PATCH and projection walk
//! the schemas in `schemas.json`; only rules the RFC gives by name (members,
//! a user's derived `groups`, the manager) know attributes. A state machine
//! from request to response: it must never reach the network.

mod bulk;
mod filter;
mod patch;
pub mod schema;

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::http::Method;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value as Json, json};

use super::{SandboxConfig, SimRequest, SimResponse, VendorAccess, VendorSim};
use filter::{Bound, bind, eval, parse_filter, sort_cmp};
use schema::{Attr, ENTERPRISE, ResourceType, Type, Uniqueness, get_ci, project};

/// The bearer token the sandbox accepts.
pub const TOKEN: &str = "sandbox-scim";
/// Where `vendors()` mounts this simulator.
const PREFIX: &str = "/scim";

/// Where the sandbox serves SCIM (its base URL, `{PREFIX}/v2`) and the token
/// it accepts.
pub const ACCESS: VendorAccess =
    VendorAccess { vendor: "scim", prefix: "/scim/v2", credentials: &[("token", TOKEN)] };
const SCIM_JSON: &str = "application/scim+json";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A SCIM error (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: u16,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> ScimError {
        ScimError { status, scim_type, detail: detail.into() }
    }
    pub fn invalid_value(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("invalidValue"), d)
    }
    pub fn invalid_syntax(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("invalidSyntax"), d)
    }
    pub fn invalid_filter(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("invalidFilter"), d)
    }
    pub fn invalid_path(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("invalidPath"), d)
    }
    pub fn no_target(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("noTarget"), d)
    }
    pub fn mutability(d: impl Into<String>) -> ScimError {
        ScimError::new(400, Some("mutability"), d)
    }
    pub fn uniqueness(d: impl Into<String>) -> ScimError {
        ScimError::new(409, Some("uniqueness"), d)
    }
    pub fn not_found(d: impl Into<String>) -> ScimError {
        ScimError::new(404, None, d)
    }
    pub fn not_implemented(d: impl Into<String>) -> ScimError {
        ScimError::new(501, None, d)
    }
    fn prefixed(mut self, p: &str) -> ScimError {
        self.detail = format!("{p}: {}", self.detail);
        self
    }
    /// The error as a SCIM Error message; `status` is a string, as in every
    /// example of RFC 7644.
    pub fn body(&self) -> Json {
        let mut b = json!({"schemas": [ERROR], "status": self.status.to_string()});
        if let Some(t) = self.scim_type {
            b["scimType"] = json!(t);
        }
        b["detail"] = json!(self.detail);
        b
    }
    fn response(&self) -> SimResponse {
        scim(self.status, self.body())
    }
}

fn scim(status: u16, body: Json) -> SimResponse {
    let mut r = SimResponse::json(status, body);
    r.headers.push(("content-type", SCIM_JSON.into()));
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::User, Kind::Group];
    fn idx(self) -> usize {
        self as usize
    }
    fn from_endpoint(s: &str) -> Option<Kind> {
        match s {
            "Users" => Some(Kind::User),
            "Groups" => Some(Kind::Group),
            _ => None,
        }
    }
}

struct Res {
    id: String,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    /// The attributes as clients see them (schema spelling), without `id`,
    /// `meta`, `schemas` and derived attributes; `password` is kept here.
    data: Map<String, Json>,
}

#[derive(Default)]
struct Store {
    items: Vec<Res>,
    by_id: HashMap<String, usize>,
    /// (attribute, value folded per caseExact) -> id, for every top-level
    /// attribute with `uniqueness` other than none: userName.
    unique: HashMap<(String, String), String>,
}

/// Which groups list each member id directly, for users' `groups`.
struct Memberships(HashMap<String, Vec<usize>>);

/// `attributes` / `excludedAttributes` as the client wrote them.
#[derive(Default, Clone)]
struct Proj {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

struct ListParams {
    filter: Option<String>,
    sort_by: Option<String>,
    descending: bool,
    start: usize,
    count: Option<usize>,
    proj: Proj,
}

/// The SCIM service provider. Its public fields are the knobs tests turn;
/// `users()`, `groups()`, `user_by_name()`, `password_of()` let them look.
pub struct Sim {
    /// The bearer token accepted (`sandbox-scim`).
    pub token: String,
    /// What `/ServiceProviderConfig` announces, and what is honoured: an
    /// unsupported PATCH or bulk answers 501, an unsupported filter answers
    /// 501 when a `filter` is given, an unsupported sort ignores `sortBy`,
    /// unsupported ETags mean no `ETag`, no `meta.version` and
    /// `If-Match`/`If-None-Match` ignored.
    pub patch_supported: bool,
    pub bulk_supported: bool,
    pub filter_supported: bool,
    pub sort_supported: bool,
    pub etag_supported: bool,
    /// PATCH answers 200 with the resource (true) or 204 without a body.
    pub patch_returns_resource: bool,
    /// Bulk requests still to apply and then answer 502, as a gateway that
    /// lost the answer would (tests of settling lost answers).
    pub lose_bulk_answers: u32,
    /// `/ResourceTypes` exists (false: 404, as on services that skip it).
    pub resource_types_endpoint: bool,
    /// `/Schemas` lists the enterprise User extension.
    pub enterprise_schema: bool,
    /// `filter.maxResults`: the most resources one list answer holds.
    pub max_results: usize,
    /// `bulk.maxOperations` and `bulk.maxPayloadSize` (bytes); beyond them
    /// `/Bulk` answers 413.
    pub bulk_max_operations: usize,
    pub bulk_max_payload: usize,
    /// Every request received, as "METHOD /path" below the prefix.
    pub requests: Vec<String>,
    types: Arc<[ResourceType; 2]>,
    schemas: Arc<Vec<schema::Schema>>,
    stores: [Store; 2],
    /// The base URL clients use, from the latest request's Host header.
    base: String,
    rng: fastrand::Rng,
}

impl Sim {
    pub fn new(_cfg: &SandboxConfig) -> Sim {
        let schemas = schema::load();
        let find = |id: &str| schemas.iter().find(|s| s.id == id).expect("schema in schemas.json");
        let user = ResourceType::new(
            "User",
            "Users",
            "User Account",
            find(schema::USER),
            &[(find(ENTERPRISE), false)],
        );
        let group = ResourceType::new("Group", "Groups", "Group", find(schema::GROUP), &[]);
        let mut sim = Sim {
            token: TOKEN.into(),
            patch_supported: true,
            bulk_supported: true,
            filter_supported: true,
            sort_supported: true,
            etag_supported: true,
            patch_returns_resource: true,
            resource_types_endpoint: true,
            lose_bulk_answers: 0,
            enterprise_schema: true,
            max_results: 200,
            bulk_max_operations: 1000,
            bulk_max_payload: 1_048_576,
            requests: Vec::new(),
            types: Arc::new([user, group]),
            schemas: Arc::new(schemas),
            stores: [Store::default(), Store::default()],
            base: format!("http://localhost{PREFIX}/v2"),
            // Seeded, so ids repeat from one run to the next.
            rng: fastrand::Rng::with_seed(0x5c1a_2000),
        };
        sim.add_group(json!({"schemas": [schema::GROUP], "displayName": "Staff"}))
            .expect("the demo group is valid");
        sim
    }

    /// Every user, as `GET /Users/{id}` shows it (never with a password).
    pub fn users(&self) -> Vec<Json> {
        self.all(Kind::User)
    }

    /// Every group, as `GET /Groups/{id}` shows it.
    pub fn groups(&self) -> Vec<Json> {
        self.all(Kind::Group)
    }

    /// The user whose userName is `name` (case-insensitive, like the server).
    pub fn user_by_name(&self, name: &str) -> Option<Json> {
        let i = self.unique_lookup(Kind::User, "userName", name)?;
        Some(self.render_one(Kind::User, i, &Proj::default()))
    }

    /// The first group whose displayName is `name` (case-insensitive).
    pub fn group_by_name(&self, name: &str) -> Option<Json> {
        let i = self.stores[1].items.iter().position(|g| {
            g.data
                .get("displayName")
                .and_then(Json::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })?;
        Some(self.render_one(Kind::Group, i, &Proj::default()))
    }

    /// The password a user was given, which no answer ever shows.
    pub fn password_of(&self, user_name: &str) -> Option<String> {
        let i = self.unique_lookup(Kind::User, "userName", user_name)?;
        self.stores[0].items[i].data.get("password").and_then(Json::as_str).map(str::to_string)
    }

    /// Creates a user as `POST /Users` would; returns its id.
    pub fn add_user(&mut self, body: Json) -> Result<String, ScimError> {
        let i = self.create(Kind::User, &body)?;
        Ok(self.stores[0].items[i].id.clone())
    }

    /// Creates a group as `POST /Groups` would; returns its id.
    pub fn add_group(&mut self, body: Json) -> Result<String, ScimError> {
        let i = self.create(Kind::Group, &body)?;
        Ok(self.stores[1].items[i].id.clone())
    }

    fn all(&self, kind: Kind) -> Vec<Json> {
        (0..self.stores[kind.idx()].items.len())
            .map(|i| self.render_one(kind, i, &Proj::default()))
            .collect()
    }

    fn unique_lookup(&self, kind: Kind, attr: &str, value: &str) -> Option<usize> {
        let store = &self.stores[kind.idx()];
        let key = (attr.to_string(), value.to_lowercase());
        store.unique.get(&key).and_then(|id| store.by_id.get(id)).copied()
    }

    // ---- routing -------------------------------------------------------

    fn route(&mut self, req: &SimRequest) -> Result<SimResponse, ScimError> {
        if let Some(host) = req.header("host") {
            self.base = format!("http://{host}{PREFIX}/v2");
        }
        let segs: Vec<String> = req.segments().iter().map(|s| pct_decode(s)).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let Some((&"v2", segs)) = segs.split_first() else {
            return Err(ScimError::not_found(format!(
                "no such endpoint; the SCIM base URL is {PREFIX}/v2"
            )));
        };
        if let Some(denied) = self.authorize(req) {
            return Ok(denied);
        }
        if !req.body.is_empty()
            && let Some(ct) = req.header("content-type")
        {
            let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if media != SCIM_JSON && media != "application/json" {
                return Err(ScimError::new(
                    415,
                    None,
                    format!("send {SCIM_JSON} (or application/json), not {media}"),
                ));
            }
        }
        match segs {
            ["ServiceProviderConfig" | "Schemas" | "ResourceTypes", ..] => {
                self.discovery(segs, req)
            }
            _ => self.resources(segs, req),
        }
    }

    /// RFC 7644 §4: what the service supports, its schemas and resource types.
    fn discovery(&self, segs: &[&str], req: &SimRequest) -> Result<SimResponse, ScimError> {
        let get = req.method == Method::GET;
        match segs {
            ["ServiceProviderConfig"] if get => {
                // RFC 7644 §4: this endpoint takes no filter.
                if req.param("filter").is_some() {
                    return Err(ScimError::new(
                        403,
                        None,
                        "/ServiceProviderConfig takes no filter",
                    ));
                }
                Ok(scim(200, self.service_provider_config()))
            }
            ["Schemas"] if get => Ok(scim(200, self.list_of(self.schema_jsons()))),
            ["Schemas", id] if get => {
                let s = self
                    .schema_jsons()
                    .into_iter()
                    .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)));
                s.map(|s| scim(200, s))
                    .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))
            }
            ["ResourceTypes"] | ["ResourceTypes", _] if !self.resource_types_endpoint => {
                Err(ScimError::not_found("this service publishes no resource types"))
            }
            ["ResourceTypes"] if get => {
                let all = self.types.iter().map(|t| t.json(&self.base)).collect();
                Ok(scim(200, self.list_of(all)))
            }
            ["ResourceTypes", id] if get => self
                .types
                .iter()
                .find(|t| t.name == *id)
                .map(|t| scim(200, t.json(&self.base)))
                .ok_or_else(|| ScimError::not_found(format!("no resource type {id}"))),
            ["ServiceProviderConfig" | "Schemas" | "ResourceTypes"]
            | ["Schemas" | "ResourceTypes", _] => Ok(not_allowed("GET")),
            _ => Err(ScimError::not_found(format!("no such endpoint: {}", req.path))),
        }
    }

    /// The resources themselves: list, search, create, read, replace,
    /// patch, delete, and /Bulk.
    fn resources(&mut self, segs: &[&str], req: &SimRequest) -> Result<SimResponse, ScimError> {
        let m = &req.method;
        let post = *m == Method::POST;
        match segs {
            [".search"] if post => self.search(&Kind::ALL, req),
            [".search"] => Ok(not_allowed("POST")),
            ["Bulk"] if post && self.lose_bulk_answers > 0 => {
                // Applied, then the answer is lost at a gateway: the client
                // cannot know which operations went through.
                self.lose_bulk_answers -= 1;
                let _ = self.bulk(req);
                Err(ScimError::new(502, None, "Bad Gateway"))
            }
            ["Bulk"] if post => self.bulk(req),
            ["Bulk"] => Ok(not_allowed("POST")),
            ["Me", ..] => Err(ScimError::not_implemented("/Me is not supported")),
            [ep] if Kind::from_endpoint(ep).is_some() => {
                let kind = Kind::from_endpoint(ep).unwrap_or(Kind::User);
                match m.as_str() {
                    "GET" => {
                        let p = ListParams::from_query(req)?;
                        Ok(scim(200, self.list(&[kind], &p)?))
                    }
                    "POST" => self.http_create(kind, req),
                    _ => Ok(not_allowed("GET, POST")),
                }
            }
            [ep, ".search"] if Kind::from_endpoint(ep).is_some() => match post {
                true => self.search(&[Kind::from_endpoint(ep).unwrap_or(Kind::User)], req),
                false => Ok(not_allowed("POST")),
            },
            [ep, id] if Kind::from_endpoint(ep).is_some() => {
                let kind = Kind::from_endpoint(ep).unwrap_or(Kind::User);
                match m.as_str() {
                    "GET" => self.http_get(kind, id, req),
                    "PUT" => self.http_write(kind, id, req, false),
                    "PATCH" => self.http_write(kind, id, req, true),
                    "DELETE" => {
                        self.delete(kind, id, self.if_match(req))?;
                        Ok(no_content(204))
                    }
                    _ => Ok(not_allowed("GET, PUT, PATCH, DELETE")),
                }
            }
            _ => Err(ScimError::not_found(format!("no such endpoint: {}", req.path))),
        }
    }

    /// `None` when the request carries the right bearer token, else the 401.
    fn authorize(&self, req: &SimRequest) -> Option<SimResponse> {
        let given = req.header("authorization").and_then(|h| {
            let (scheme, token) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        if given == Some(self.token.as_str()) {
            return None;
        }
        let mut r = ScimError::new(401, None, "a valid bearer token is required").response();
        let challenge = match given {
            Some(_) => "Bearer realm=\"hrport-sandbox\", error=\"invalid_token\"",
            None => "Bearer realm=\"hrport-sandbox\"",
        };
        r.headers.push(("www-authenticate", challenge.into()));
        Some(r)
    }

    fn if_match<'r>(&self, req: &'r SimRequest) -> Option<&'r str> {
        req.header("if-match").filter(|_| self.etag_supported)
    }

    fn body(req: &SimRequest) -> Result<Json, ScimError> {
        serde_json::from_slice(&req.body)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
    }

    // ---- discovery -----------------------------------------------------

    fn service_provider_config(&self) -> Json {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": self.patch_supported},
            "bulk": {
                "supported": self.bulk_supported,
                "maxOperations": self.bulk_max_operations,
                "maxPayloadSize": self.bulk_max_payload,
            },
            "filter": {"supported": self.filter_supported, "maxResults": self.max_results},
            "changePassword": {"supported": true},
            "sort": {"supported": self.sort_supported},
            "etag": {"supported": self.etag_supported},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token in the Authorization header (RFC 6750); the sandbox accepts one static token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", self.base),
            },
        })
    }

    fn schema_jsons(&self) -> Vec<Json> {
        self.schemas
            .iter()
            .filter(|s| self.enterprise_schema || s.id != ENTERPRISE)
            .map(|s| {
                let mut j = s.json.clone();
                j["meta"] = json!({
                    "resourceType": "Schema",
                    "location": format!("{}/Schemas/{}", self.base, s.id),
                });
                j
            })
            .collect()
    }

    fn list_of(&self, items: Vec<Json>) -> Json {
        json!({
            "schemas": [LIST],
            "totalResults": items.len(),
            "itemsPerPage": items.len(),
            "startIndex": 1,
            "Resources": items,
        })
    }

    // ---- HTTP wrappers ---------------------------------------------------

    fn http_create(&mut self, kind: Kind, req: &SimRequest) -> Result<SimResponse, ScimError> {
        let body = Self::body(req)?;
        let i = self.create(kind, &body)?;
        let mut r = self.resource_response(201, kind, i, &Proj::from_query(req)?);
        r.headers.push(("location", self.location(kind, &self.stores[kind.idx()].items[i].id)));
        Ok(r)
    }

    fn http_get(
        &mut self,
        kind: Kind,
        id: &str,
        req: &SimRequest,
    ) -> Result<SimResponse, ScimError> {
        let i = self.find(kind, id)?;
        if self.etag_supported
            && let Some(inm) = req.header("if-none-match")
        {
            let current = self.version(kind, i, &self.memberships(&[kind]));
            if etag_matches(inm, &current) {
                let mut r = no_content(304);
                r.headers.push(("etag", current));
                return Ok(r);
            }
        }
        Ok(self.resource_response(200, kind, i, &Proj::from_query(req)?))
    }

    fn http_write(
        &mut self,
        kind: Kind,
        id: &str,
        req: &SimRequest,
        patch: bool,
    ) -> Result<SimResponse, ScimError> {
        let body = Self::body(req)?;
        let proj = Proj::from_query(req)?;
        let i = if patch {
            self.patch(kind, id, &body, self.if_match(req))?
        } else {
            self.replace(kind, id, &body, self.if_match(req))?
        };
        if patch && !self.patch_returns_resource {
            let mut r = no_content(204);
            if self.etag_supported {
                r.headers.push(("etag", self.version(kind, i, &self.memberships(&[kind]))));
            }
            return Ok(r);
        }
        Ok(self.resource_response(200, kind, i, &proj))
    }

    fn resource_response(&self, status: u16, kind: Kind, i: usize, proj: &Proj) -> SimResponse {
        let (head, tail) = self.derived(kind, i, &self.memberships(&[kind]));
        let version = tail["meta"].get("version").and_then(Json::as_str).map(str::to_string);
        let data = &self.stores[kind.idx()].items[i].data;
        let mut r = scim(status, self.render(kind, head.iter().chain(data).chain(&tail), proj));
        if let Some(v) = version {
            r.headers.push(("etag", v));
        }
        r
    }

    // ---- operations (shared by the endpoints and /Bulk) ------------------

    fn find(&self, kind: Kind, id: &str) -> Result<usize, ScimError> {
        self.stores[kind.idx()].by_id.get(id).copied().ok_or_else(|| {
            ScimError::not_found(format!("no {} with id {id}", self.types[kind.idx()].name))
        })
    }

    /// `If-Match` (RFC 7644 §3.14): the write goes ahead only if the
    /// resource is still at one of the versions given, or `*`.
    fn precondition(&self, kind: Kind, i: usize, if_match: Option<&str>) -> Result<(), ScimError> {
        let Some(h) = if_match.filter(|_| self.etag_supported) else { return Ok(()) };
        let current = self.version(kind, i, &self.memberships(&[kind]));
        if etag_matches(h, &current) {
            Ok(())
        } else {
            Err(ScimError::new(
                412,
                None,
                format!("the resource changed: it is at version {current}, not {h}"),
            ))
        }
    }

    fn create(&mut self, kind: Kind, body: &Json) -> Result<usize, ScimError> {
        let types = self.types.clone();
        let rt = &types[kind.idx()];
        let mut data = check_resource(rt, body)?;
        self.finish_data(kind, &mut data, None)?;
        let mut id = uuid(&mut self.rng);
        while self.stores.iter().any(|s| s.by_id.contains_key(&id)) {
            id = uuid(&mut self.rng);
        }
        let now = Utc::now();
        let store = &mut self.stores[kind.idx()];
        for key in unique_keys(rt, &data) {
            store.unique.insert(key, id.clone());
        }
        store.by_id.insert(id.clone(), store.items.len());
        store.items.push(Res { id, created: now, modified: now, data });
        Ok(store.items.len() - 1)
    }

    /// PUT (RFC 7644 §3.5.1). Omitted readWrite attributes are cleared;
    /// omitted immutable ones keep their value and given ones must match it
    /// (else 400 mutability); an omitted password (writeOnly) is kept, since
    /// no client can read it back to send it again.
    fn replace(
        &mut self,
        kind: Kind,
        id: &str,
        body: &Json,
        if_match: Option<&str>,
    ) -> Result<usize, ScimError> {
        let i = self.find(kind, id)?;
        self.precondition(kind, i, if_match)?;
        let types = self.types.clone();
        let rt = &types[kind.idx()];
        let mut data = check_resource(rt, body)?;
        let old = &self.stores[kind.idx()].items[i].data;
        keep_immutable(&rt.root, old, &mut data, "")?;
        for a in rt.root.sub.iter().filter(|a| a.mutability == schema::Mutability::WriteOnly) {
            if !data.contains_key(&a.name)
                && let Some(v) = old.get(&a.name)
            {
                data.insert(a.name.clone(), v.clone());
            }
        }
        self.finish_data(kind, &mut data, Some(id))?;
        self.commit(kind, i, data);
        Ok(i)
    }

    fn patch(
        &mut self,
        kind: Kind,
        id: &str,
        body: &Json,
        if_match: Option<&str>,
    ) -> Result<usize, ScimError> {
        if !self.patch_supported {
            return Err(ScimError::not_implemented("PATCH is not supported"));
        }
        let i = self.find(kind, id)?;
        self.precondition(kind, i, if_match)?;
        let types = self.types.clone();
        let mut data = self.stores[kind.idx()].items[i].data.clone();
        patch::apply(&types[kind.idx()], &mut data, body)?;
        self.finish_data(kind, &mut data, Some(id))?;
        self.commit(kind, i, data);
        Ok(i)
    }

    /// DELETE (RFC 7644 §3.6). The resource also leaves every group it was
    /// a member of, and users it managed lose their `manager`: a reference
    /// to nothing would make every later PUT of them fail.
    fn delete(&mut self, kind: Kind, id: &str, if_match: Option<&str>) -> Result<(), ScimError> {
        let i = self.find(kind, id)?;
        self.precondition(kind, i, if_match)?;
        let types = self.types.clone();
        let store = &mut self.stores[kind.idx()];
        let gone = store.items.remove(i);
        for key in unique_keys(&types[kind.idx()], &gone.data) {
            store.unique.remove(&key);
        }
        store.by_id = store.items.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        let now = Utc::now();
        for g in &mut self.stores[Kind::Group.idx()].items {
            let Some(Json::Array(members)) = g.data.get_mut("members") else { continue };
            let before = members.len();
            members.retain(|m| m["value"] != gone.id.as_str());
            if members.len() != before {
                if members.is_empty() {
                    g.data.shift_remove("members");
                }
                g.modified = now;
            }
        }
        for u in &mut self.stores[Kind::User.idx()].items {
            let Some(Json::Object(ext)) = u.data.get_mut(ENTERPRISE) else { continue };
            if ext.get("manager").is_some_and(|m| m["value"] == gone.id.as_str()) {
                ext.shift_remove("manager");
                if ext.is_empty() {
                    u.data.shift_remove(ENTERPRISE);
                }
                u.modified = now;
            }
        }
        Ok(())
    }

    /// Stores new data for an existing resource; `lastModified` moves only
    /// when something changed.
    fn commit(&mut self, kind: Kind, i: usize, data: Map<String, Json>) {
        let types = self.types.clone();
        let rt = &types[kind.idx()];
        let store = &mut self.stores[kind.idx()];
        if store.items[i].data == data {
            return;
        }
        for key in unique_keys(rt, &store.items[i].data) {
            store.unique.remove(&key);
        }
        let id = store.items[i].id.clone();
        for key in unique_keys(rt, &data) {
            store.unique.insert(key, id.clone());
        }
        store.items[i].data = data;
        store.items[i].modified = Utc::now();
    }

    /// The checks that need the whole resource or the other resources:
    /// required attributes, one primary value, references, uniqueness.
    fn finish_data(
        &self,
        kind: Kind,
        data: &mut Map<String, Json>,
        self_id: Option<&str>,
    ) -> Result<(), ScimError> {
        let rt = &self.types[kind.idx()];
        check_primaries(&rt.root, data, "")?;
        match kind {
            Kind::Group => self.check_members(data, self_id)?,
            Kind::User => self.check_manager(data)?,
        }
        schema::check_required(&rt.root, data, "")?;
        for key in unique_keys(rt, data) {
            let taken = self.stores[kind.idx()].unique.get(&key);
            if taken.is_some_and(|owner| Some(owner.as_str()) != self_id) {
                let shown = data.get(&key.0).map(Json::to_string).unwrap_or_default();
                return Err(ScimError::uniqueness(format!("{} {shown} is already taken", key.0)));
            }
        }
        Ok(())
    }

    /// Group members name existing Users or Groups by id (`value`). A
    /// member given only by `$ref` gets its `value` from it; missing `type`
    /// and `$ref` are filled in; a given `type` must be right; the same
    /// member twice is kept once; a group cannot contain itself.
    fn check_members(
        &self,
        data: &mut Map<String, Json>,
        self_id: Option<&str>,
    ) -> Result<(), ScimError> {
        let Some(Json::Array(members)) = data.get_mut("members") else { return Ok(()) };
        let groups = &self.stores[Kind::Group.idx()];
        let stored: HashMap<&str, &Json> = self_id
            .and_then(|id| groups.by_id.get(id))
            .and_then(|&i| groups.items[i].data.get("members"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|m| Some((m["value"].as_str()?, m))).collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        let mut keep = Vec::with_capacity(members.len());
        for (n, m) in members.iter_mut().enumerate() {
            // Members already stored were checked when they were added (and
            // leave when their resource is deleted): a large group's PATCH
            // need not check them all again.
            if let Some(v) = m["value"].as_str()
                && stored.get(v) == Some(&&*m)
            {
                keep.push(seen.insert(v.to_string()));
                continue;
            }
            let Some(m) = m.as_object_mut() else {
                keep.push(false);
                continue;
            };
            let at = format!("members[{n}]");
            if m.get("value").is_none()
                && let Some(r) = m.get("$ref").and_then(Json::as_str)
            {
                let id = r.rsplit('/').next().unwrap_or_default().to_string();
                m.insert("value".into(), json!(id));
            }
            let Some(value) = m.get("value").and_then(Json::as_str).map(str::to_string) else {
                return Err(ScimError::invalid_value(format!("{at}: a member needs a \"value\"")));
            };
            if Some(value.as_str()) == self_id {
                return Err(ScimError::invalid_value(format!(
                    "{at}: a group cannot be its own member"
                )));
            }
            let Some(kind) =
                Kind::ALL.into_iter().find(|k| self.stores[k.idx()].by_id.contains_key(&value))
            else {
                return Err(ScimError::invalid_value(format!(
                    "{at}: no User or Group has the id {value:?}"
                )));
            };
            let type_name = self.types[kind.idx()].name;
            match m.get("type").and_then(Json::as_str) {
                None => {
                    m.insert("type".into(), json!(type_name));
                }
                Some(t) if t.eq_ignore_ascii_case(type_name) => {}
                Some(t) => {
                    return Err(ScimError::invalid_value(format!(
                        "{at}: {value} is a {type_name}, not a {t}"
                    )));
                }
            }
            self.check_ref(m, kind, &value, &at)?;
            m.entry("$ref").or_insert_with(|| json!(self.location(kind, &value)));
            keep.push(seen.insert(value));
        }
        let mut keep = keep.into_iter();
        members.retain(|_| keep.next().unwrap_or(false));
        Ok(())
    }

    /// The enterprise `manager` names an existing User (`value`, or the id
    /// at the end of `$ref`); a missing `$ref` is filled in. Its read-only
    /// `displayName` is not: the manager may be renamed at any time.
    fn check_manager(&self, data: &mut Map<String, Json>) -> Result<(), ScimError> {
        let Some(Json::Object(m)) = data.get_mut(ENTERPRISE).and_then(|e| e.get_mut("manager"))
        else {
            return Ok(());
        };
        if m.get("value").is_none()
            && let Some(r) = m.get("$ref").and_then(Json::as_str)
        {
            let id = r.rsplit('/').next().unwrap_or_default().to_string();
            m.insert("value".into(), json!(id));
        }
        let Some(value) = m.get("value").and_then(Json::as_str).map(str::to_string) else {
            return Ok(());
        };
        if !self.stores[Kind::User.idx()].by_id.contains_key(&value) {
            return Err(ScimError::invalid_value(format!("manager: no User has the id {value:?}")));
        }
        self.check_ref(m, Kind::User, &value, "manager")?;
        m.entry("$ref").or_insert_with(|| json!(self.location(Kind::User, &value)));
        Ok(())
    }

    /// A `$ref` given with a `value` must point at that resource (any host:
    /// a client may know the server by another name).
    fn check_ref(
        &self,
        m: &Map<String, Json>,
        kind: Kind,
        value: &str,
        at: &str,
    ) -> Result<(), ScimError> {
        let Some(r) = m.get("$ref").and_then(Json::as_str) else { return Ok(()) };
        let tail = format!("/{}/{value}", self.types[kind.idx()].endpoint);
        if r.ends_with(&tail) {
            Ok(())
        } else {
            Err(ScimError::invalid_value(format!("{at}: $ref {r} does not point at {tail}")))
        }
    }

    // ---- reading -------------------------------------------------------

    fn location(&self, kind: Kind, id: &str) -> String {
        format!("{}/{}/{id}", self.base, self.types[kind.idx()].endpoint)
    }

    /// Only users derive anything from memberships; for groups it stays
    /// empty, so writing to a large group does not scan it once more.
    fn memberships(&self, kinds: &[Kind]) -> Memberships {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        if !kinds.contains(&Kind::User) {
            return Memberships(m);
        }
        for (g, group) in self.stores[Kind::Group.idx()].items.iter().enumerate() {
            let Some(Json::Array(members)) = group.data.get("members") else { continue };
            for member in members {
                if let Some(v) = member["value"].as_str() {
                    m.entry(v.to_string()).or_default().push(g);
                }
            }
        }
        Memberships(m)
    }

    /// A user's `groups` (RFC 7643 §4.1.2): read-only, derived from the
    /// groups' members; groups reached through nested groups are "indirect".
    fn groups_of(&self, user_id: &str, m: &Memberships) -> Vec<Json> {
        let groups = &self.stores[Kind::Group.idx()].items;
        let mut seen: HashSet<usize> = HashSet::new();
        let mut queue: VecDeque<(usize, &str)> = VecDeque::new();
        for &g in m.0.get(user_id).into_iter().flatten() {
            if seen.insert(g) {
                queue.push_back((g, "direct"));
            }
        }
        let mut out = Vec::new();
        while let Some((g, how)) = queue.pop_front() {
            let group = &groups[g];
            let mut entry =
                json!({"value": group.id, "$ref": self.location(Kind::Group, &group.id)});
            if let Some(d) = group.data.get("displayName") {
                entry["display"] = d.clone();
            }
            entry["type"] = json!(how);
            out.push(entry);
            for &parent in m.0.get(&group.id).into_iter().flatten() {
                if seen.insert(parent) {
                    queue.push_back((parent, "indirect"));
                }
            }
        }
        out
    }

    /// The full representation (before projection): data, `id`, derived
    /// attributes and `meta`. Still holds never-returned attributes.
    fn view(&self, kind: Kind, i: usize, m: &Memberships) -> Map<String, Json> {
        let (mut v, tail) = self.derived(kind, i, m);
        v.extend(self.stores[kind.idx()].items[i].data.clone());
        v.extend(tail);
        v
    }

    /// What a representation holds besides the stored data: `id` (before
    /// it), derived `groups` and `meta` (after it). Built apart from the data
    /// so answers and versions need not copy a large group's members.
    fn derived(
        &self,
        kind: Kind,
        i: usize,
        m: &Memberships,
    ) -> (Map<String, Json>, Map<String, Json>) {
        let r = &self.stores[kind.idx()].items[i];
        let mut head = Map::new();
        head.insert("id".into(), json!(r.id));
        let mut tail = Map::new();
        if kind == Kind::User {
            let groups = self.groups_of(&r.id, m);
            if !groups.is_empty() {
                tail.insert("groups".into(), Json::Array(groups));
            }
        }
        let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut meta = json!({
            "resourceType": self.types[kind.idx()].name,
            "created": stamp(&r.created),
            "lastModified": stamp(&r.modified),
            "location": self.location(kind, &r.id),
        });
        if self.etag_supported {
            meta["version"] = json!(etag_of(head.iter().chain(&r.data).chain(&tail)));
        }
        tail.insert("meta".into(), meta);
        (head, tail)
    }

    fn version(&self, kind: Kind, i: usize, m: &Memberships) -> String {
        let (head, tail) = self.derived(kind, i, m);
        let data = &self.stores[kind.idx()].items[i].data;
        etag_of(head.iter().chain(data).chain(&tail))
    }

    /// Applies the projection and puts `schemas` first: the core schema and
    /// the extensions the representation holds.
    fn render<'a>(
        &self,
        kind: Kind,
        view: impl IntoIterator<Item = (&'a String, &'a Json)>,
        proj: &Proj,
    ) -> Json {
        let rt = &self.types[kind.idx()];
        let resolve = |names: &[String]| -> Vec<Vec<String>> {
            names.iter().filter_map(|n| rt.resolve(n)).map(|c| schema::names(&c)).collect()
        };
        let include = (!proj.attributes.is_empty()).then(|| resolve(&proj.attributes));
        let exclude = resolve(&proj.excluded);
        let body = project(&rt.root, view, include.as_deref(), &exclude);
        let mut schemas = vec![json!(rt.core)];
        schemas.extend(
            rt.extensions.iter().filter(|(u, _)| body.contains_key(u)).map(|(u, _)| json!(u)),
        );
        let mut out = Map::new();
        out.insert("schemas".into(), Json::Array(schemas));
        out.extend(body);
        Json::Object(out)
    }

    fn render_one(&self, kind: Kind, i: usize, proj: &Proj) -> Json {
        let (head, tail) = self.derived(kind, i, &self.memberships(&[kind]));
        let data = &self.stores[kind.idx()].items[i].data;
        self.render(kind, head.iter().chain(data).chain(&tail), proj)
    }

    // ---- queries -------------------------------------------------------

    fn search(&self, kinds: &[Kind], req: &SimRequest) -> Result<SimResponse, ScimError> {
        let body = Self::body(req)?;
        let p = ListParams::from_search(&body)?;
        Ok(scim(200, self.list(kinds, &p)?))
    }

    /// GET on a collection and POST `.search` (RFC 7644 §3.4.2, §3.4.3).
    fn list(&self, kinds: &[Kind], p: &ListParams) -> Result<Json, ScimError> {
        let bounds = self.bounds(kinds, p)?;
        let sort = self.sort_chains(kinds, p)?;
        let memberships = self.memberships(kinds);
        // Without a filter or a sort, only the page needs rendering: a client
        // paging through every user must not cost every user per page.
        let lazy = bounds.iter().all(Option::is_none) && sort.is_none();
        let mut hits: Vec<Hit> = Vec::new();
        for (n, k) in kinds.iter().enumerate() {
            let candidates: Vec<usize> = match bounds[n].as_ref().and_then(|b| self.indexed(*k, b))
            {
                Some(c) => c,
                None => (0..self.stores[k.idx()].items.len()).collect(),
            };
            for i in candidates {
                if lazy {
                    hits.push((n, i, None));
                    continue;
                }
                let v = Json::Object(self.view(*k, i, &memberships));
                if bounds[n].as_ref().is_none_or(|b| eval(b, &v)) {
                    hits.push((n, i, Some(v)));
                }
            }
        }
        if let Some(chains) = &sort {
            hits = sorted(hits, chains, p.descending);
        }
        let total = hits.len();
        let count = p.count.unwrap_or(self.max_results).min(self.max_results);
        let page: Vec<Json> = hits
            .into_iter()
            .skip(p.start - 1)
            .take(count)
            .map(|(n, i, v)| match v {
                Some(Json::Object(view)) => self.render(kinds[n], &view, &p.proj),
                _ => {
                    let (head, tail) = self.derived(kinds[n], i, &memberships);
                    let data = &self.stores[kinds[n].idx()].items[i].data;
                    self.render(kinds[n], head.iter().chain(data).chain(&tail), &p.proj)
                }
            })
            .collect();
        Ok(json!({
            "schemas": [LIST],
            "totalResults": total,
            "itemsPerPage": page.len(),
            "startIndex": p.start,
            "Resources": page,
        }))
    }

    /// The list's filter bound to each resource type's schema; an attribute
    /// no type has is an invalid filter.
    fn bounds(&self, kinds: &[Kind], p: &ListParams) -> Result<Vec<Option<Bound<'_>>>, ScimError> {
        let filter = match &p.filter {
            Some(_) if !self.filter_supported => {
                return Err(ScimError::not_implemented("filtering is not supported"));
            }
            Some(f) => Some(
                parse_filter(f)
                    .map_err(|e| ScimError::invalid_filter(format!("filter {f:?}: {e}")))?,
            ),
            None => None,
        };
        let mut bounds: Vec<Option<Bound>> = Vec::new();
        let mut unknown_in_all: Option<HashSet<String>> = None;
        for k in kinds {
            let rt = &self.types[k.idx()];
            let mut unknown = Vec::new();
            let b = match &filter {
                Some(f) => Some(
                    bind(f, &|p| rt.resolve(p), &mut unknown)
                        .map_err(|e| ScimError::invalid_filter(format!("filter: {e}")))?,
                ),
                None => None,
            };
            let here: HashSet<String> = unknown.into_iter().collect();
            unknown_in_all = Some(match unknown_in_all {
                None => here,
                Some(all) => all.intersection(&here).cloned().collect(),
            });
            bounds.push(b);
        }
        if let Some(u) = unknown_in_all.and_then(|u| u.into_iter().next()) {
            return Err(ScimError::invalid_filter(format!("filter: no attribute {u}")));
        }
        Ok(bounds)
    }

    /// `sortBy` resolved in each resource type (`None`: no sort asked, or
    /// sorting unsupported).
    fn sort_chains(&self, kinds: &[Kind], p: &ListParams) -> Result<Option<Chains<'_>>, ScimError> {
        let Some(s) = p.sort_by.as_deref().filter(|_| self.sort_supported) else {
            return Ok(None);
        };
        let chains: Chains = kinds.iter().map(|k| self.types[k.idx()].resolve(s)).collect();
        if chains.iter().all(Option::is_none) {
            return Err(ScimError::invalid_path(format!("sortBy: no attribute {s}")));
        }
        Ok(Some(chains))
    }

    /// `userName eq "x"` (any attribute with a uniqueness index) is looked
    /// up instead of scanned: clients check every key before creating.
    fn indexed(&self, kind: Kind, b: &Bound) -> Option<Vec<usize>> {
        let Bound::Compare(chain, filter::Op::Eq, Json::String(s)) = b else { return None };
        let [a] = chain.as_slice() else { return None };
        if a.uniqueness == Uniqueness::None || a.name == "id" {
            return None;
        }
        let store = &self.stores[kind.idx()];
        let key = (a.name.clone(), fold(a, s));
        Some(
            store
                .unique
                .get(&key)
                .and_then(|id| store.by_id.get(id))
                .copied()
                .into_iter()
                .collect(),
        )
    }
}

impl VendorSim for Sim {
    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        self.requests.push(format!("{} {}", req.method, req.path));
        self.route(req).unwrap_or_else(|e| e.response())
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// 204 and 304 carry no body. The shared server writes every body as JSON
/// (`null` here); hyper drops it for these statuses (though it still sends
/// `content-length: 4`, which the shared `respond()` would have to fix).
fn no_content(status: u16) -> SimResponse {
    SimResponse::json(status, Json::Null)
}

fn not_allowed(allow: &str) -> SimResponse {
    let mut r = ScimError::new(405, None, format!("this endpoint answers {allow} only")).response();
    r.headers.push(("allow", allow.into()));
    r
}

impl Proj {
    fn from_query(req: &SimRequest) -> Result<Proj, ScimError> {
        let split = |name: &str| -> Vec<String> {
            req.param(name)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        Proj::new(split("attributes"), split("excludedAttributes"))
    }
    fn new(attributes: Vec<String>, excluded: Vec<String>) -> Result<Proj, ScimError> {
        if !attributes.is_empty() && !excluded.is_empty() {
            return Err(ScimError::invalid_value(
                "attributes and excludedAttributes are mutually exclusive",
            ));
        }
        Ok(Proj { attributes, excluded })
    }
}

impl ListParams {
    fn from_query(req: &SimRequest) -> Result<ListParams, ScimError> {
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            req.param(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::invalid_value(format!("{name} must be an integer, not {v:?}"))
                    })
                })
                .transpose()
        };
        ListParams::new(
            req.param("filter").map(String::from),
            req.param("sortBy").map(String::from),
            req.param("sortOrder"),
            int("startIndex")?,
            int("count")?,
            Proj::from_query(req)?,
        )
    }

    fn from_search(body: &Json) -> Result<ListParams, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax("a search body is a SearchRequest object"));
        };
        let listed = get_ci(obj, "schemas").and_then(Json::as_array).is_some_and(|s| {
            s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(SEARCH)))
        });
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "a search body's \"schemas\" must be [\"{SEARCH}\"]"
            )));
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
            }
        };
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
            }
        };
        let list = |name: &str| -> Result<Vec<String>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Json::Null) => Ok(Vec::new()),
                Some(Json::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must list strings"))),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be an array"))),
            }
        };
        let order = text("sortOrder")?;
        ListParams::new(
            text("filter")?,
            text("sortBy")?,
            order.as_deref(),
            int("startIndex")?,
            int("count")?,
            Proj::new(list("attributes")?, list("excludedAttributes")?)?,
        )
    }

    /// RFC 7644 §3.4.2.4: a startIndex below 1 means 1, a negative count 0.
    fn new(
        filter: Option<String>,
        sort_by: Option<String>,
        sort_order: Option<&str>,
        start: Option<i64>,
        count: Option<i64>,
        proj: Proj,
    ) -> Result<ListParams, ScimError> {
        let descending = match sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder is \"ascending\" or \"descending\", not {o:?}"
                )));
            }
        };
        Ok(ListParams {
            filter,
            sort_by,
            descending,
            start: start.unwrap_or(1).max(1) as usize,
            count: count.map(|c| c.max(0) as usize),
            proj,
        })
    }
}

/// Checks a POST or PUT body against the resource type: `schemas` names the
/// core schema, every attribute exists and has the right type; read-only
/// attributes (`id`, `meta`, `groups`) are ignored, as RFC 7644 §3.3 says.
fn check_resource(rt: &ResourceType, body: &Json) -> Result<Map<String, Json>, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax("a resource is a JSON object"));
    };
    let Some(schemas) = get_ci(obj, "schemas").and_then(Json::as_array) else {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" is required: [\"{}\", ...]",
            rt.core
        )));
    };
    let mut has_core = false;
    for s in schemas {
        let Some(s) = s.as_str() else {
            return Err(ScimError::invalid_syntax("\"schemas\" lists URIs (strings)"));
        };
        if s.eq_ignore_ascii_case(&rt.core) {
            has_core = true;
        } else if !rt.is_extension(s) {
            return Err(ScimError::invalid_value(format!("a {} has no schema {s}", rt.name)));
        }
    }
    if !has_core {
        return Err(ScimError::invalid_syntax(format!("\"schemas\" must include {}", rt.core)));
    }
    let mut data = Map::new();
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(a) = rt.top(k) else {
            return Err(ScimError::invalid_syntax(format!("a {} has no attribute {k}", rt.name)));
        };
        if a.mutability == schema::Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = schema::check_value(a, v, &a.name)? {
            data.insert(a.name.clone(), v);
        }
    }
    Ok(data)
}

/// PUT and immutable attributes of single-valued places (top level, inside
/// single-valued complex attributes and extensions). The values of a
/// multi-valued attribute with immutable sub-attributes (group members) can
/// still be replaced as a whole; only their values cannot be edited.
fn keep_immutable(
    parent: &Attr,
    old: &Map<String, Json>,
    new: &mut Map<String, Json>,
    at: &str,
) -> Result<(), ScimError> {
    for a in parent.sub.iter().filter(|a| !a.multi) {
        let name = if at.is_empty() { a.name.clone() } else { format!("{at}.{}", a.name) };
        match (old.get(&a.name), new.get_mut(&a.name)) {
            (Some(o), Some(n)) if a.mutability == schema::Mutability::Immutable && o != n => {
                return Err(ScimError::mutability(format!("{name} is immutable")));
            }
            (Some(o), None) if a.mutability == schema::Mutability::Immutable => {
                new.insert(a.name.clone(), o.clone());
            }
            (Some(Json::Object(o)), Some(Json::Object(n))) if a.ty == Type::Complex => {
                keep_immutable(a, o, n, &name)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// At most one `primary: true` in every multi-valued complex attribute,
/// also after PATCH edits.
fn check_primaries(parent: &Attr, obj: &Map<String, Json>, at: &str) -> Result<(), ScimError> {
    for a in parent.sub.iter().filter(|a| a.ty == Type::Complex) {
        let name = if at.is_empty() { a.name.clone() } else { format!("{at}.{}", a.name) };
        match obj.get(&a.name) {
            Some(Json::Array(items)) => schema::check_primary(a, items, &name)?,
            Some(Json::Object(o)) => check_primaries(a, o, &name)?,
            _ => {}
        }
    }
    Ok(())
}

fn fold(a: &Attr, s: &str) -> String {
    if a.case_exact { s.to_string() } else { s.to_lowercase() }
}

/// The uniqueness keys of a resource: (attribute, folded value) for every
/// top-level simple attribute whose uniqueness is server or global.
fn unique_keys(rt: &ResourceType, data: &Map<String, Json>) -> Vec<(String, String)> {
    rt.root
        .sub
        .iter()
        .filter(|a| a.uniqueness != Uniqueness::None && a.ty != Type::Complex && !a.multi)
        .filter_map(|a| {
            let v = data.get(&a.name)?;
            let s = v.as_str().map(|s| fold(a, s)).unwrap_or_else(|| v.to_string());
            Some((a.name.clone(), s))
        })
        .collect()
}

/// A list hit: (index of its kind in the request, index in its store, its
/// rendered view when a filter or sort needed it).
type Hit = (usize, usize, Option<Json>);
/// Per kind, the attribute chain `sortBy` names (`None`: the kind lacks it).
type Chains<'a> = Vec<Option<Vec<&'a Attr>>>;

/// Hits in `sortBy` order. Values missing sort last when ascending, first
/// when descending (RFC 7644 §3.4.2.3): sort ascending, then reverse.
fn sorted(hits: Vec<Hit>, chains: &Chains, descending: bool) -> Vec<Hit> {
    let key = |(n, _, v): &Hit| sort_key(v.as_ref()?, chains[*n].as_ref()?);
    let mut keyed: Vec<_> = hits.into_iter().map(|h| (key(&h), h)).collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some((attr, x)), Some((_, y))) => sort_cmp(attr, x, y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    if descending {
        keyed.reverse();
    }
    keyed.into_iter().map(|(_, h)| h).collect()
}

/// The value `sortBy` sorts on: for a multi-valued attribute, the primary
/// value or else the first (RFC 7644 §3.4.2.3); a complex one by `value`.
fn sort_key<'a>(view: &Json, chain: &[&'a Attr]) -> Option<(&'a Attr, Json)> {
    let mut node = view;
    for a in chain {
        node = node.get(&a.name)?;
        if let Json::Array(items) = node {
            node = items
                .iter()
                .find(|i| i["primary"] == Json::Bool(true))
                .or_else(|| items.first())?;
        }
    }
    let last = chain[chain.len() - 1];
    if last.ty == Type::Complex {
        let value = last.sub_attr("value")?;
        return Some((value, node.get("value")?.clone()));
    }
    Some((last, node.clone()))
}

/// A weak ETag over the representation minus `meta` (so derived `groups`
/// count): any change to what a client can read changes it. FNV-1a over the
/// compact JSON, streamed: no copy of a large resource.
fn etag_of<'a>(view: impl Iterator<Item = (&'a String, &'a Json)>) -> String {
    struct Fnv(u64);
    impl std::io::Write for Fnv {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for (k, v) in view.filter(|(k, _)| *k != "meta") {
        let _ = std::io::Write::write_all(&mut h, k.as_bytes());
        let _ = serde_json::to_writer(&mut h, v);
    }
    format!("W/\"{:016x}\"", h.0)
}

/// `If-Match` / `If-None-Match`: a list of entity tags or `*`, compared
/// weakly (the sandbox only makes weak tags).
fn etag_matches(header: &str, current: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header.split(',').any(|t| t.trim() == "*" || bare(t) == bare(current))
}

/// A random (version 4) UUID.
fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
