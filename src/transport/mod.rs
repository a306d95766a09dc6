//! The only code that sends HTTP: rate limit, retries, authentication.
//!
//! Targets describe requests (`Request`) and read answers (`Response`); they
//! never sleep, retry or hold a client. `Api::send` applies the shared rate
//! limit to every attempt, retries what is safe to retry, renews credentials
//! through the target's `Auth`, and returns the final answer. A create that
//! may have reached the server without an answer is never re-sent blindly:
//! `Api::create` asks the target to look the record up first. What to do
//! after each attempt is decided by `retry::Retry`; the loops here only carry
//! it out (send, sleep, look up, count). Nothing here knows a vendor: how a
//! vendor words its errors comes with the target's `ErrorReader`.

pub mod auth;
pub mod errors;
pub mod ratelimit;
pub mod retry;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::Client;
use serde_json::Value;

use crate::secret::Secret;
pub use auth::{Auth, Credentials};
pub use errors::{ErrorReader, GenericErrors};
use ratelimit::Limiter;
use retry::{Event, Policy, Retry, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

/// A request body. Its `Debug` shows only its size: a body may carry a
/// password, and nothing that prints a request may print that.
#[derive(Clone)]
pub enum Body {
    None,
    Json(Value),
    /// Form fields; values are secrets because token requests carry them.
    Form(Vec<(&'static str, Secret)>),
    /// A flat JSON object of secrets (a sign-in body), built only when sent.
    JsonSecrets(Vec<(&'static str, Secret)>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::None => f.write_str("None"),
            Body::Json(v) => write!(f, "Json({} bytes)", v.to_string().len()),
            Body::Form(fields) | Body::JsonSecrets(fields) => {
                let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
                write!(f, "Secrets({})", names.join(", "))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path after the base URL, starting with '/'.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    /// Extra headers (content type for JSON:API, ...).
    pub headers: Vec<(&'static str, String)>,
    /// Whether sending it twice is harmless; by default only GET, PUT and
    /// DELETE are.
    pub repeatable: Option<bool>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            query: Vec::new(),
            body: Body::None,
            headers: Vec::new(),
            repeatable: None,
        }
    }
    pub fn post(path: impl Into<String>, body: Value) -> Request {
        Request {
            method: Method::Post,
            path: path.into(),
            query: Vec::new(),
            body: Body::Json(body),
            headers: Vec::new(),
            repeatable: None,
        }
    }
    pub fn patch(path: impl Into<String>, body: Value) -> Request {
        Request { method: Method::Patch, ..Request::post(path, body) }
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Request {
        self.headers.push((k, v.into()));
        self
    }
    pub fn query(mut self, k: &str, v: impl ToString) -> Request {
        self.query.push((k.to_string(), v.to_string()));
        self
    }
    /// Marks a POST or PATCH as safe to send twice (an action that sets a
    /// state, not one that creates something).
    pub fn repeatable(mut self) -> Request {
        self.repeatable = Some(true);
        self
    }
    fn is_repeatable(&self) -> bool {
        self.repeatable.unwrap_or(matches!(self.method, Method::Get | Method::Put | Method::Delete))
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The body as JSON; `Null` when empty, a string when not JSON.
    pub body: Value,
    pub retry_after: Option<Duration>,
    /// The `Server` header, to tell a firewall's answer from the API's.
    pub server: Option<String>,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Debug, Clone)]
pub enum ApiError {
    /// The target answered with an error that retrying will not fix.
    Status { status: u16, message: String },
    /// No usable answer after every retry (network errors, 5xx, 429).
    Unavailable(String),
    /// The run must stop (credentials refused, or stopped by the user).
    Abort { message: String, hint: Option<String> },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status { status, message } => write!(f, "{message} (HTTP {status})"),
            ApiError::Unavailable(m) => write!(f, "target unavailable: {m}"),
            ApiError::Abort { message, .. } => f.write_str(message),
        }
    }
}

/// Counters for the summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub recovered: AtomicU64,
}

/// Everything needed to put bytes on the wire, without authentication.
pub struct Transport {
    client: Client,
    base: String,
    limiter: Limiter,
    policy: Policy,
    pub stats: Stats,
    stop: Arc<AtomicBool>,
    /// Whether any request has reached the server yet: before one has, a
    /// host that does not resolve or refuses connections is a wrong
    /// `--base-url` or a server that is down, and retrying cannot help.
    reached: AtomicBool,
}

#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub base_url: String,
    pub rate: f64,
    pub timeout: Duration,
    pub policy: Policy,
}

impl Transport {
    pub fn new(cfg: &TransportConfig, stop: Arc<AtomicBool>) -> Result<Transport, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10).min(cfg.timeout))
            // Below the keep-alive of most servers, so a pooled connection
            // is not reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(20))
            .user_agent(concat!("hrport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base = cfg.base_url.trim_end_matches('/').to_string();
        check_base_url(&base)?;
        Ok(Transport {
            client,
            base,
            limiter: Limiter::new(cfg.rate),
            policy: cfg.policy.clone(),
            stats: Stats::default(),
            stop,
            reached: AtomicBool::new(false),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One attempt: waits for the rate limit, sends, reads the answer.
    /// Also returns when the request left, which the limiter needs to read
    /// a 429.
    fn attempt(&self, req: &Request, auth_headers: &[(String, Secret)]) -> (Instant, Event) {
        let sent = self.limiter.acquire();
        (sent, self.send_once(req, auth_headers))
    }

    /// Sends and reads the answer, once, rate limit already granted.
    fn send_once(&self, req: &Request, auth_headers: &[(String, Secret)]) -> Event {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.base, req.path);
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut rb = self.client.request(method, &url);
        if !req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("accept")) {
            rb = rb.header("Accept", "application/json");
        }
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        for (k, v) in auth_headers {
            rb = rb.header(k.as_str(), v.expose());
        }
        for (k, v) in &req.headers {
            rb = rb.header(*k, v.as_str());
        }
        rb = match &req.body {
            Body::None => rb,
            Body::Json(v) => rb.json(v),
            Body::Form(fields) => {
                let pairs: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.expose())).collect();
                rb.form(&pairs)
            }
            Body::JsonSecrets(fields) => {
                let obj: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.expose().into())))
                    .collect();
                rb.json(&obj)
            }
        };
        let resp = match rb.send() {
            Ok(r) => r,
            Err(e) if e.is_connect() => return self.not_sent(&e),
            Err(e) => {
                self.reached.store(true, Ordering::Relaxed);
                return Event::Lost(describe(&e));
            }
        };
        self.reached.store(true, Ordering::Relaxed);
        let status = resp.status().as_u16();
        let header =
            |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after =
            header("retry-after").and_then(|v| retry::parse_retry_after(&v, SystemTime::now()));
        let server = header("server");
        match resp.bytes() {
            Ok(bytes) => {
                Event::Answer(Response { status, body: parse_body(&bytes), retry_after, server })
            }
            Err(e) => Event::Lost(format!("the answer was cut off: {}", describe(&e))),
        }
    }

    /// A request that never left: on the run's first contact, a name that
    /// does not resolve or a refused connection ends the run at once (see
    /// `reached`); otherwise it is retried.
    fn not_sent(&self, e: &reqwest::Error) -> Event {
        match unreachable_cause(e) {
            Some(cause) if !self.reached.load(Ordering::Relaxed) => {
                let url = reqwest::Url::parse(&self.base).ok();
                let host = url.as_ref().and_then(|u| u.host_str()).unwrap_or(&self.base);
                let host = match url.as_ref().and_then(|u| u.port()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_string(),
                };
                Event::Unreachable(format!("cannot reach {host}: {cause}"))
            }
            _ => Event::NotSent(describe(e)),
        }
    }

    /// Sends with retries, without authentication (token endpoints).
    pub fn send_unauthenticated(&self, req: &Request) -> Result<Response, ApiError> {
        self.send_with_headers(req, &[])
    }

    /// Sends with retries and the given headers, outside any `Auth` (the
    /// sign-in request of an `Auth` itself).
    pub fn send_with_headers(
        &self,
        req: &Request,
        headers: &[(String, Secret)],
    ) -> Result<Response, ApiError> {
        match self.send_with(req, headers, &GenericErrors) {
            Ok(r) => Ok(r),
            Err(Fail::Final(e)) => Err(e),
            Err(Fail::Uncertain(m)) => Err(ApiError::Unavailable(m)),
        }
    }

    /// Sends `req`, retrying what is safe to retry, and returns the final
    /// answer, whatever its status. For a request that is not repeatable, an
    /// attempt that may have been applied ends the loop with `Uncertain`.
    fn send_with(
        &self,
        req: &Request,
        auth_headers: &[(String, Secret)],
        errors: &dyn ErrorReader,
    ) -> Result<Response, Fail> {
        let mut retry = Retry::send(&self.policy, req.is_repeatable(), errors);
        let mut step = retry.first();
        // When the last attempt left, which the limiter needs to read a 429.
        let mut sent = Instant::now();
        loop {
            step = match step {
                Step::Send => {
                    self.check_stopped().map_err(Fail::Final)?;
                    let (at, outcome) = self.attempt(req, auth_headers);
                    sent = at;
                    // Any answer but a 429 went through the server's limit,
                    // a 5xx that will be retried included: the limiter tells
                    // a burst of 429s from a limit by what goes through.
                    if let Event::Answer(r) = &outcome
                        && r.status != 429
                    {
                        self.limiter.succeeded(at);
                    }
                    retry.next(outcome)
                }
                Step::SlowDown(retry_after) => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    self.limiter.throttled(sent, retry_after);
                    retry.next(Event::SlowedDown)
                }
                Step::Wait(delay) => self.pause(delay),
                Step::Return(r) => return Ok(r),
                Step::Uncertain(m) => return Err(Fail::Uncertain(m)),
                Step::GiveUp(e) => return Err(Fail::Final(e)),
                Step::LookUp | Step::Recovered(_) => unreachable!("a send loop never looks up"),
            }
        }
    }

    fn check_stopped(&self) -> Result<(), ApiError> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(ApiError::Abort { message: "the run was stopped".into(), hint: None });
        }
        Ok(())
    }

    /// Waits before a retry, and counts it; then the request goes again.
    fn pause(&self, delay: Duration) -> Step {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(delay);
        Step::Send
    }
}

/// Why `send_with` gave no answer.
enum Fail {
    Final(ApiError),
    /// A request that is not repeatable may or may not have been applied.
    Uncertain(String),
}

/// What `Api::create` ended with.
#[derive(Debug)]
pub enum Created {
    /// The server's answer to the create.
    Answer(Response),
    /// The answer was lost, but the record was found by its key afterwards.
    Recovered(String),
}

/// A transport plus the target's authentication: what targets talk to.
pub struct Api {
    pub transport: Transport,
    auth: Box<dyn Auth>,
    errors: Box<dyn ErrorReader>,
}

impl Api {
    /// `errors` words the target's error answers (see `errors`).
    pub fn new(transport: Transport, auth: Box<dyn Auth>, errors: Box<dyn ErrorReader>) -> Api {
        Api { transport, auth, errors }
    }

    pub fn stats(&self) -> &Stats {
        &self.transport.stats
    }

    /// What the summary should say about signing in.
    pub fn notes(&self) -> Vec<String> {
        self.auth.notes()
    }

    /// Signs in now, so bad credentials stop the run before any row is read.
    pub fn authenticate(&self) -> Result<(), ApiError> {
        self.auth.headers(&self.transport).map(|_| ())
    }

    fn send_authed(&self, req: &Request) -> Result<Response, Fail> {
        let mut renewed = false;
        loop {
            let (generation, headers) = self.auth.headers(&self.transport).map_err(Fail::Final)?;
            let r = self.transport.send_with(req, &headers, self.errors.as_ref())?;
            if r.status != 401 {
                return Ok(r);
            }
            if renewed {
                return Err(Fail::Final(ApiError::Abort {
                    message: format!(
                        "the target refused fresh credentials for {} {} (HTTP 401)",
                        method_name(req.method),
                        req.path
                    ),
                    hint: Some("check that the API account may use this endpoint".into()),
                }));
            }
            // An expired or revoked token: renew once, then try again.
            self.auth.unauthorized(&self.transport, generation).map_err(Fail::Final)?;
            renewed = true;
        }
    }

    /// Sends a request and returns its answer if it is a success. An error
    /// status becomes `ApiError::Status` with the server's message.
    pub fn send(&self, req: &Request) -> Result<Response, ApiError> {
        match self.send_authed(req) {
            Ok(r) if r.ok() => Ok(r),
            Ok(r) => Err(self.status_error(&r)),
            Err(Fail::Final(e)) => Err(e),
            Err(Fail::Uncertain(m)) => Err(ApiError::Unavailable(format!(
                "no answer ({m}); the change may or may not have been applied"
            ))),
        }
    }

    /// GET a path with query parameters; the answer's JSON body.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        let mut req = Request::get(path);
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.send(&req).map(|r| r.body)
    }

    /// Creates a record exactly once. When an attempt may have reached the
    /// server without an answer (timeout, reset, 5xx), `lookup` searches the
    /// record by its key before anything is sent again.
    pub fn create(
        &self,
        req: &Request,
        lookup: &dyn Fn(&Api) -> Result<Option<String>, ApiError>,
    ) -> Result<Created, ApiError> {
        self.create_with(Retry::create(&self.transport.policy), req, lookup)
    }

    /// Creates a record that an earlier request may already have created
    /// without saying so (a batch whose answer was lost): looks it up first,
    /// and only when nothing is found sends `req`, as `create` does, taking a
    /// refusal as possibly caused by that earlier request.
    pub fn create_after_uncertain(
        &self,
        req: &Request,
        lookup: &dyn Fn(&Api) -> Result<Option<String>, ApiError>,
    ) -> Result<Created, ApiError> {
        self.create_with(Retry::create_after_uncertain(&self.transport.policy), req, lookup)
    }

    /// The create loop: sends, looks up and waits as `retry` says.
    fn create_with(
        &self,
        mut retry: Retry,
        req: &Request,
        lookup: &dyn Fn(&Api) -> Result<Option<String>, ApiError>,
    ) -> Result<Created, ApiError> {
        let mut step = retry.first();
        loop {
            step = match step {
                Step::Send => retry.next(match self.send_authed(req) {
                    Ok(r) => Event::Answer(r),
                    Err(Fail::Final(e)) => Event::Failed(e),
                    Err(Fail::Uncertain(m)) => Event::Lost(m),
                }),
                Step::LookUp => retry.next(Event::LookedUp(lookup(self))),
                Step::Wait(delay) => self.transport.pause(delay),
                Step::Recovered(id) => {
                    self.transport.stats.recovered.fetch_add(1, Ordering::Relaxed);
                    return Ok(Created::Recovered(id));
                }
                Step::Return(r) if r.ok() => return Ok(Created::Answer(r)),
                Step::Return(r) => return Err(self.status_error(&r)),
                Step::GiveUp(e) => return Err(e),
                Step::SlowDown(_) | Step::Uncertain(_) => {
                    unreachable!("a create gets only whole sends' results")
                }
            }
        }
    }

    /// An error answer as an error, worded by the target's reader.
    fn status_error(&self, r: &Response) -> ApiError {
        ApiError::Status { status: r.status, message: self.errors.message(r) }
    }
}

/// Only https, except for a server on this machine (the sandbox, a test
/// peer): personal data and tokens must not cross a network in clear text.
fn check_base_url(base: &str) -> Result<(), String> {
    let url =
        reqwest::Url::parse(base).map_err(|e| format!("--base-url {base:?} is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        "http" => Err(format!(
            "--base-url {base:?} is plain http to another machine: use https:// (http:// is only for a server on this machine)"
        )),
        _ => Err(format!("--base-url must start with https://, not {base:?}")),
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Patch => "PATCH",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "network error"
    };
    let mut cause = String::new();
    let mut src = e.source();
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    if cause.is_empty() { kind.to_string() } else { format!("{kind}: {cause}") }
}

/// Why a connection could not be made, when retrying cannot help: the host
/// name does not resolve, or nothing listens at the address.
fn unreachable_cause(e: &reqwest::Error) -> Option<String> {
    use std::error::Error as _;
    let mut src = e.source();
    let mut dns = false;
    let mut innermost = String::new();
    while let Some(s) = src {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return Some("connection refused (nothing listens at that address and port)".into());
        }
        // hyper-util's name for a failed look-up of the host name.
        dns |= s.to_string() == "dns error";
        innermost = s.to_string();
        src = s.source();
    }
    dns.then(|| format!("the host name does not resolve (DNS: {innermost})"))
}

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(crate::text::clip(&String::from_utf8_lossy(bytes), 300)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A server that answers the first request only after the client has
    /// given up, and every later one with 429 (which, unlike a 5xx, says
    /// nothing was done, so it is retried in place).
    fn slow_then_throttled() -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf);
                    if n == 0 {
                        std::thread::sleep(Duration::from_millis(800));
                    }
                    let _ = conn.write_all(
                        b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                });
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    #[test]
    fn a_create_that_runs_out_of_retries_after_an_uncertain_attempt_looks_once_more() {
        let cfg = TransportConfig {
            base_url: slow_then_throttled(),
            rate: 100.0,
            timeout: Duration::from_millis(300),
            policy: Policy {
                max_retries: 2,
                base: Duration::from_millis(10),
                cap: Duration::from_millis(20),
                retry_after_cap: Duration::from_millis(20),
            },
        };
        let api = Api::new(
            Transport::new(&cfg, Arc::new(AtomicBool::new(false))).unwrap(),
            Box::new(auth::StaticHeaders { headers: Vec::new(), hint: String::new() }),
            Box::new(GenericErrors),
        );
        // The first look-up (after the timeout) finds nothing; by the time
        // the retries have run out the slow first attempt has committed.
        let looked = std::sync::atomic::AtomicUsize::new(0);
        let lookup = |_: &Api| -> Result<Option<String>, ApiError> {
            Ok((looked.fetch_add(1, Ordering::SeqCst) > 0).then(|| "7".to_string()))
        };
        let req = Request::post("/things", json!({"name": "x"}));
        match api.create(&req, &lookup) {
            Ok(Created::Recovered(id)) => assert_eq!(id, "7"),
            Ok(_) => panic!("answered"),
            Err(e) => panic!("{e:?}"),
        }
        assert_eq!(looked.load(Ordering::SeqCst), 2);
        assert_eq!(api.stats().recovered.load(Ordering::Relaxed), 1);

        // Without an uncertain attempt, running out of retries on 429s is
        // just a failure: nothing can have been created, so no look-up.
        let looked = std::sync::atomic::AtomicUsize::new(0);
        let lookup = |_: &Api| -> Result<Option<String>, ApiError> {
            looked.fetch_add(1, Ordering::SeqCst);
            Ok(Some("7".into()))
        };
        let api2 = Api::new(
            Transport::new(
                &TransportConfig { base_url: slow_then_throttled(), ..cfg },
                Arc::new(AtomicBool::new(false)),
            )
            .unwrap(),
            Box::new(auth::StaticHeaders { headers: Vec::new(), hint: String::new() }),
            Box::new(GenericErrors),
        );
        // Burn the slow first connection on a GET, which is simply retried.
        let _ = api2.get("/warm", &[]);
        assert!(matches!(api2.create(&req, &lookup), Err(ApiError::Unavailable(_))));
        assert_eq!(looked.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_refused_connection_fails_at_once_only_before_the_server_was_reached() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cfg = TransportConfig {
            base_url: format!("http://127.0.0.1:{port}"),
            rate: 0.0,
            timeout: Duration::from_secs(5),
            policy: Policy {
                max_retries: 2,
                base: Duration::from_millis(1),
                cap: Duration::from_millis(2),
                retry_after_cap: Duration::from_millis(2),
            },
        };
        let t = Transport::new(&cfg, Arc::new(AtomicBool::new(false))).unwrap();
        let req = Request::get("/x");
        match t.send_unauthenticated(&req) {
            Err(ApiError::Abort { message, .. }) => {
                assert!(
                    message.contains(&format!("127.0.0.1:{port}: connection refused")),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.stats.requests.load(Ordering::Relaxed), 1, "no retry");
        assert_eq!(t.stats.retries.load(Ordering::Relaxed), 0);
        // Once the server has answered, a refusal is retried as before (a
        // restart, a load balancer between two backends).
        t.reached.store(true, Ordering::Relaxed);
        match t.send_unauthenticated(&req) {
            Err(ApiError::Unavailable(m)) => assert!(m.contains("gave up after 2 retries"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.stats.requests.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "https://acme.staffr.us",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert_eq!(check_base_url(ok), Ok(()), "{ok}");
        }
        let e = check_base_url("http://acme.staffr.us").unwrap_err();
        assert!(e.contains("plain http to another machine"), "{e}");
        assert!(check_base_url("ftp://x").unwrap_err().contains("https://"));
        assert!(check_base_url("acme.staffr.us").unwrap_err().contains("not a URL"));
    }
}
