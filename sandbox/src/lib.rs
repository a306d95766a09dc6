//! The sandbox (crate `hrport-sandbox`): a local imitation of every vendor's
//! API, for hrport's tests, benchmarks and demos (`hrport sandbox`,
//! `--sandbox`).
//!
//! One axum server in its own thread serves each vendor under its prefix
//! (`/tracktik/...`), with what all share: rate limits answered 429, latency,
//! seeded fault injection. Each vendor module is an I/O-free state machine
//! from request to response, and publishes its `ACCESS` (URL prefix and
//! credentials); a new vendor is one module and one line each in `VENDORS`
//! and `vendors()`. It must not depend on hrport: an imitation built from the
//! client's own idea of an API would agree with every bug in it.

pub mod guardian;
pub mod intellihr;
pub mod scim;
pub mod securitytrax;
pub mod trackops;
pub mod tracktik;

use std::any::Any;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
pub use axum::http::Method;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_body::Frame;
use serde_json::{Value as Json, json};

/// How a client reaches one vendor in a running sandbox: where its API is
/// below the sandbox's root URL, and the credentials it accepts. Written once
/// per vendor module (`tracktik::ACCESS`, ...) from the constants its own
/// checks use; hrport's `--sandbox`, `hrport sandbox` and the tests read them
/// here, so what a client is told and what the imitation accepts cannot part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorAccess {
    /// The vendor's name: hrport's `--target` value, and the first segment
    /// of every path the sandbox serves it under.
    pub vendor: &'static str,
    /// The API's base path below the root URL (`/tracktik`, `/scim/v2`):
    /// what follows `http://127.0.0.1:PORT` in a `--base-url`.
    pub prefix: &'static str,
    /// What the sandbox accepts, by hrport's credential field names (the
    /// `FIELD` of `HRPORT_<TARGET>_<FIELD>`).
    pub credentials: &'static [(&'static str, &'static str)],
}

/// Every vendor the sandbox serves, in the order `vendors()` mounts them.
pub const VENDORS: &[VendorAccess] = &[
    tracktik::ACCESS,
    guardian::ACCESS,
    intellihr::ACCESS,
    securitytrax::ACCESS,
    trackops::ACCESS,
    scim::ACCESS,
];

/// How to reach `vendor` (a `--target` value); `None` when the sandbox does
/// not imitate it.
pub fn access(vendor: &str) -> Option<&'static VendorAccess> {
    VENDORS.iter().find(|a| a.vendor == vendor)
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: String,
    /// Requests per minute each vendor accepts (0: unlimited).
    pub rate_limit_per_minute: u32,
    pub latency: Duration,
    pub token_ttl: Duration,
    /// Send `Retry-After` with the rate limit's 429 answers (the 429s of an
    /// injected burst follow `Faults::burst_retry_after`).
    pub retry_after: bool,
    pub faults: Faults,
}

/// Injected faults, drawn per request from a seeded generator so a run can
/// be repeated: the same seed and the same sequence of requests to a vendor
/// give the same faults. Sign-in requests are never touched. Each share is
/// 0..1; they are drawn in the order below and together cover at most 1.
#[derive(Debug, Clone)]
pub struct Faults {
    pub seed: u64,
    /// Share answered 503 without being processed.
    pub unavailable: f64,
    /// Share answered 500, 502 or 503 (the generator picks) without being
    /// processed.
    pub server_error: f64,
    /// Share whose connection is cut before a complete answer, unprocessed:
    /// the client sees a network error and cannot know what happened.
    pub reset: f64,
    /// Share held for `slow_delay` and only then processed and answered: a
    /// client with a shorter timeout gives up before the change is made.
    pub slow: f64,
    pub slow_delay: Duration,
    /// Share processed at once, whose answer is then held back for
    /// `lost_delay`: a client with a shorter timeout never sees it.
    pub lost: f64,
    pub lost_delay: Duration,
    /// Share that starts a burst of 429 answers to `burst` consecutive
    /// requests to the vendor, this one included.
    pub throttle: f64,
    pub burst: u32,
    /// `Retry-After` seconds sent with the burst's 429s (`None`: no header).
    pub burst_retry_after: Option<u64>,
    /// TrackTik: a `/batch/file` call with more operations than this runs
    /// only that many, then answers 504 without a body, as the vendor warns
    /// large batches may (it names 50, 20 with ROLLBACK). Not a share: every
    /// such batch.
    pub batch_timeout_above: Option<usize>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            seed: 1,
            unavailable: 0.0,
            server_error: 0.0,
            reset: 0.0,
            slow: 0.0,
            slow_delay: Duration::from_secs(5),
            lost: 0.0,
            lost_delay: Duration::from_secs(5),
            throttle: 0.0,
            burst: 5,
            burst_retry_after: None,
            batch_timeout_above: None,
        }
    }
}

impl Faults {
    /// The shares in drawing order.
    fn shares(&self) -> [f64; 6] {
        [self.unavailable, self.server_error, self.reset, self.slow, self.lost, self.throttle]
    }

    /// What is injected, in one line; `None` when nothing is.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        let mut add = |share: f64, what: String| {
            if share > 0.0 {
                parts.push(format!("{}% {what}", (share * 1000.0).round() / 10.0));
            }
        };
        add(self.unavailable, "answered 503".into());
        add(self.server_error, "answered 500/502/503".into());
        add(self.reset, "cut off".into());
        add(self.slow, format!("processed and answered after {} ms", self.slow_delay.as_millis()));
        add(self.lost, format!("processed, answer held {} ms", self.lost_delay.as_millis()));
        add(
            self.throttle,
            format!(
                "start a burst of {} 429s {}",
                self.burst.max(1),
                match self.burst_retry_after {
                    Some(s) => format!("with Retry-After: {s}"),
                    None => "without Retry-After".into(),
                }
            ),
        );
        if let Some(n) = self.batch_timeout_above {
            parts.push(format!("TrackTik batches of more than {n} operations time out after {n}"));
        }
        (!parts.is_empty()).then(|| format!("faults (seed {}): {}", self.seed, parts.join(", ")))
    }

    /// The sum of the shares, which must not exceed 1.
    pub fn total(&self) -> f64 {
        self.shares().iter().sum()
    }
}

/// How many faults a sandbox injected, for tests to prove they happened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    pub server_errors: u64,
    pub resets: u64,
    pub slow: u64,
    pub lost: u64,
    /// Bursts started, and 429s answered in them.
    pub bursts: u64,
    pub throttled: u64,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            listen: "127.0.0.1:0".into(),
            rate_limit_per_minute: 0,
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
            retry_after: false,
            faults: Faults::default(),
        }
    }
}

/// A request as a vendor simulator sees it.
pub struct SimRequest {
    pub method: Method,
    /// Path below the vendor prefix, e.g. `/rest/v1/employees`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub now: Instant,
}

impl SimRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as JSON, or the 400 a server gives for a malformed body.
    pub fn json(&self) -> Result<Json, SimResponse> {
        serde_json::from_slice(&self.body).map_err(|e| {
            SimResponse::error(400, &format!("the request body is not valid JSON: {e}"))
        })
    }
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
}

#[cfg(test)]
impl SimRequest {
    /// A JSON request with an optional bearer token, for the vendors' unit
    /// tests.
    pub fn test_bearer(
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Json,
        token: Option<&str>,
    ) -> SimRequest {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        headers.extend(bearer.as_deref().map(|b| ("authorization", b)));
        SimRequest::test(method, path, query, &headers, body)
    }

    /// A request as the server hands it to a vendor, for the vendors' unit
    /// tests: these headers, and `body` as JSON text unless it is null.
    pub fn test(
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Json,
    ) -> SimRequest {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        SimRequest {
            method,
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: map,
            body: if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) },
            now: Instant::now(),
        }
    }
}

pub struct SimResponse {
    pub status: u16,
    pub body: Json,
    pub headers: Vec<(&'static str, String)>,
}

impl SimResponse {
    pub fn json(status: u16, body: Json) -> SimResponse {
        SimResponse { status, body, headers: Vec::new() }
    }
    pub fn error(status: u16, message: &str) -> SimResponse {
        SimResponse::json(status, json!({"code": status, "message": message}))
    }
}

/// One vendor's imitation.
pub trait VendorSim: Any + Send {
    fn handle(&mut self, req: &SimRequest) -> SimResponse;
    fn as_any(&mut self) -> &mut dyn Any;
}

/// Someone else's change to a vendor's records: `change` is sent, with
/// the same credentials, just before the first request that matches
/// `method` and a path starting with `path` is handled.
struct Meddle {
    method: Method,
    path: String,
    change: (Method, String, &'static str, Json),
}

struct Vendor {
    prefix: &'static str,
    sim: Mutex<Box<dyn VendorSim>>,
    meddles: Mutex<Vec<Meddle>>,
    limiter: Option<DefaultDirectRateLimiter>,
    injector: Mutex<Injector>,
}

struct Shared {
    vendors: Vec<Vendor>,
    cfg: SandboxConfig,
    /// Every request's arrival and answer, once a test asks for them
    /// (`Sandbox::record`); off by default, as `hrport sandbox` runs for
    /// as long as a user likes.
    recording: AtomicBool,
    arrivals: Mutex<Vec<Arrival>>,
}

/// One request as the server saw it, for tests of a client's pacing.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub arrived: Instant,
    pub answered: Instant,
    pub status: u16,
    /// The `Retry-After` the answer carried, in seconds.
    pub retry_after: Option<f64>,
}

/// What the fault injector decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Answer this status, unprocessed.
    ServerError(u16),
    Reset,
    Slow,
    Lost,
    Throttled,
}

/// One vendor's fault generator: one draw per request (none while a burst
/// runs), so the faults depend only on the seed and the request sequence.
struct Injector {
    faults: Faults,
    rng: fastrand::Rng,
    burst_left: u32,
    count: Injected,
}

impl Injector {
    fn new(faults: &Faults) -> Injector {
        Injector {
            faults: faults.clone(),
            rng: fastrand::Rng::with_seed(faults.seed),
            burst_left: 0,
            count: Injected::default(),
        }
    }

    fn draw(&mut self) -> Fault {
        let fault = self.pick();
        let c = &mut self.count;
        match fault {
            Fault::None => {}
            Fault::ServerError(_) => c.server_errors += 1,
            Fault::Reset => c.resets += 1,
            Fault::Slow => c.slow += 1,
            Fault::Lost => c.lost += 1,
            Fault::Throttled => c.throttled += 1,
        }
        fault
    }

    fn pick(&mut self) -> Fault {
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return Fault::Throttled;
        }
        let x = self.rng.f64();
        let mut edge = 0.0;
        let mut kind = None;
        for (i, share) in self.faults.shares().into_iter().enumerate() {
            edge += share.clamp(0.0, 1.0);
            if x < edge {
                kind = Some(i);
                break;
            }
        }
        match kind {
            Some(0) => Fault::ServerError(503),
            Some(1) => Fault::ServerError([500, 502, 503][self.rng.usize(..3)]),
            Some(2) => Fault::Reset,
            Some(3) => Fault::Slow,
            Some(4) => Fault::Lost,
            Some(_) => {
                self.count.bursts += 1;
                self.burst_left = self.faults.burst.max(1) - 1;
                Fault::Throttled
            }
            None => Fault::None,
        }
    }
}

/// Every vendor the sandbox serves.
fn vendors(cfg: &SandboxConfig) -> Vec<(&'static str, Box<dyn VendorSim>)> {
    vec![
        (tracktik::ACCESS.vendor, Box::new(tracktik::Sim::new(cfg))),
        (guardian::ACCESS.vendor, Box::new(guardian::Sim::new(cfg))),
        (intellihr::ACCESS.vendor, Box::new(intellihr::Sim::new(cfg))),
        (securitytrax::ACCESS.vendor, Box::new(securitytrax::Sim::new(cfg))),
        (trackops::ACCESS.vendor, Box::new(trackops::Sim::new(cfg))),
        (scim::ACCESS.vendor, Box::new(scim::Sim::new(cfg))),
    ]
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {
    url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    pub fn start(cfg: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = std::net::TcpListener::bind(&cfg.listen)?;
        listener.set_nonblocking(true)?;
        let addr: SocketAddr = listener.local_addr()?;
        let limiter = |n: u32| {
            NonZeroU32::new(n).map(|per_min| {
                // A per-minute budget that refills continuously, holding at
                // most one second's worth: a client pacing itself at the
                // limit is never refused, a client that bursts is.
                let burst = NonZeroU32::new(n / 60).unwrap_or(NonZeroU32::MIN);
                RateLimiter::direct(Quota::per_minute(per_min).allow_burst(burst))
            })
        };
        let shared = Arc::new(Shared {
            vendors: vendors(&cfg)
                .into_iter()
                .map(|(prefix, sim)| Vendor {
                    prefix,
                    sim: Mutex::new(sim),
                    meddles: Mutex::new(Vec::new()),
                    limiter: limiter(cfg.rate_limit_per_minute),
                    injector: Mutex::new(Injector::new(&cfg.faults)),
                })
                .collect(),
            cfg,
            recording: AtomicBool::new(false),
            arrivals: Mutex::new(Vec::new()),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hrport-sandbox")
            .enable_all()
            .build()?;
        let app_shared = shared.clone();
        let thread =
            std::thread::Builder::new().name("hrport-sandbox".into()).spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = axum::Router::new().fallback(move |method, uri, headers, body| {
                        let s = app_shared.clone();
                        async move { serve(s, method, uri, headers, body).await }
                    });
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        Ok(Sandbox {
            url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on a vendor's state (tests look at what was created).
    pub fn with<S: VendorSim, R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        for v in &self.shared.vendors {
            let mut sim = v.sim.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = sim.as_any().downcast_mut::<S>() {
                return f(s);
            }
        }
        panic!("no such vendor in the sandbox")
    }

    /// A colleague's edit at an exact moment of a run: just before vendor
    /// `vendor` handles the first `when` request (method, and the start of
    /// its path after the vendor's prefix), it handles `change` (method,
    /// path, content type, JSON body) sent with that request's credentials.
    pub fn meanwhile(
        &self,
        vendor: &str,
        when: (Method, &str),
        change: (Method, &str, &'static str, Json),
    ) {
        let v = self.shared.vendors.iter().find(|v| v.prefix == vendor).expect("no such vendor");
        let m = Meddle {
            method: when.0,
            path: when.1.to_string(),
            change: (change.0, change.1.to_string(), change.2, change.3),
        };
        v.meddles.lock().unwrap_or_else(|e| e.into_inner()).push(m);
    }

    /// Records every request from now on, for `arrivals`.
    pub fn record(&self) {
        self.shared.recording.store(true, Ordering::SeqCst);
    }

    /// The requests recorded since `record`, in the order they were answered.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The faults injected so far, over all vendors.
    pub fn injected(&self) -> Injected {
        let mut t = Injected::default();
        for v in &self.shared.vendors {
            let c = v.injector.lock().unwrap_or_else(|e| e.into_inner()).count;
            t.server_errors += c.server_errors;
            t.resets += c.resets;
            t.slow += c.slow;
            t.lost += c.lost;
            t.bursts += c.bursts;
            t.throttled += c.throttled;
        }
        t
    }

    /// Blocks until the process is stopped.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let resp = answer(shared.clone(), method, uri, headers, body).await;
    if shared.recording.load(Ordering::Relaxed) {
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
        let a = Arrival {
            arrived,
            answered: Instant::now(),
            status: resp.status().as_u16(),
            retry_after,
        };
        shared.arrivals.lock().unwrap_or_else(|e| e.into_inner()).push(a);
    }
    resp
}

/// The answer to one request: the rate limit, the faults, the vendor.
async fn answer(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(vi) = shared.vendors.iter().position(|v| {
        path.strip_prefix('/')
            .and_then(|p| p.strip_prefix(v.prefix))
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    }) else {
        let prefixes: Vec<String> =
            shared.vendors.iter().map(|v| format!("/{}", v.prefix)).collect();
        return respond(SimResponse::error(
            404,
            &format!("no vendor here; the sandbox serves {}", prefixes.join(", ")),
        ));
    };
    let v = &shared.vendors[vi];
    if !shared.cfg.latency.is_zero() {
        tokio::time::sleep(shared.cfg.latency).await;
    }
    if let Some(lim) = &v.limiter
        && let Err(not_until) = lim.check()
    {
        let mut r = SimResponse::error(429, "Too many requests in the past minute");
        if shared.cfg.retry_after {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(lim.clock()));
            r.headers.push(("retry-after", wait.as_secs_f64().ceil().max(1.0).to_string()));
        }
        return respond(r);
    }
    let sign_in = path.contains("/oauth2/") || path.ends_with("/authenticate");
    let fault = if sign_in {
        Fault::None
    } else {
        v.injector.lock().unwrap_or_else(|e| e.into_inner()).draw()
    };
    let faults = &shared.cfg.faults;
    match fault {
        Fault::ServerError(status) => {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Server Error");
            return respond(SimResponse::error(status, &format!("{reason} (injected fault)")));
        }
        Fault::Reset => return cut_off(),
        Fault::Throttled => {
            let mut r = SimResponse::error(429, "Too many requests (injected burst)");
            if let Some(secs) = faults.burst_retry_after {
                r.headers.push(("retry-after", secs.to_string()));
            }
            return respond(r);
        }
        Fault::Slow => {
            // Processed after the delay whether or not the client still
            // waits: in a task of its own, as hyper may drop this handler
            // when the client hangs up.
            let delay = faults.slow_delay;
            let s = shared.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                process(&s.vendors[vi], method, &uri, headers, body)
            });
            return match task.await {
                Ok(r) => respond(r),
                Err(_) => respond(SimResponse::error(500, "the sandbox failed")),
            };
        }
        Fault::None | Fault::Lost => {}
    }
    let resp = process(v, method, &uri, headers, body);
    if fault == Fault::Lost {
        // Processed and committed; the client gives up before this arrives.
        tokio::time::sleep(faults.lost_delay).await;
    }
    respond(resp)
}

/// Hands a request to the vendor's simulator.
fn process(v: &Vendor, method: Method, uri: &Uri, headers: HeaderMap, body: Bytes) -> SimResponse {
    let req = SimRequest {
        method,
        path: uri.path()[1 + v.prefix.len()..].to_string(),
        query: uri
            .query()
            .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
            .unwrap_or_default(),
        headers,
        body,
        now: Instant::now(),
    };
    let mut sim = v.sim.lock().unwrap_or_else(|e| e.into_inner());
    let mut meddles = v.meddles.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) =
        meddles.iter().position(|m| m.method == req.method && req.path.starts_with(&m.path))
    {
        let (method, path, content_type, body) = meddles.remove(i).change;
        let mut headers = req.headers.clone();
        headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        let body = Bytes::from(body.to_string());
        let other = SimRequest { method, path, query: Vec::new(), headers, body, now: req.now };
        sim.handle(&other);
    }
    drop(meddles);
    sim.handle(&req)
}

/// An answer whose body fails before its first byte: hyper then closes the
/// connection without sending a byte, so the client gets a network error
/// ("connection closed before message completed"), never a status.
fn cut_off() -> Response {
    struct Broken;
    impl HttpBody for Broken {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection cut (injected fault)",
            ))))
        }
    }
    Response::new(Body::new(Broken))
}

fn respond(r: SimResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5), so neither a
    // JSON content type nor a length.
    // A null body is no body at all (a gateway's 504).
    let mut resp = if matches!(r.status, 204 | 304) || r.body.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(r.body)).into_response()
    };
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(f: &Faults, n: usize) -> Vec<Fault> {
        let mut inj = Injector::new(f);
        (0..n).map(|_| inj.draw()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let f = Faults {
            seed: 42,
            server_error: 0.1,
            reset: 0.1,
            slow: 0.1,
            lost: 0.1,
            throttle: 0.02,
            burst: 3,
            ..Faults::default()
        };
        let a = sequence(&f, 3000);
        assert_eq!(a, sequence(&f, 3000));
        assert_ne!(a, sequence(&Faults { seed: 43, ..f.clone() }, 3000));
        for kind in [
            Fault::None,
            Fault::ServerError(500),
            Fault::ServerError(502),
            Fault::ServerError(503),
            Fault::Reset,
            Fault::Slow,
            Fault::Lost,
            Fault::Throttled,
        ] {
            assert!(a.contains(&kind), "{kind:?} never drawn");
        }
        // About the shares asked for (each burst takes one draw).
        let mut inj = Injector::new(&f);
        a.iter().for_each(|_| {
            inj.draw();
        });
        let c = inj.count;
        let draws = 3000 - (c.throttled - c.bursts);
        for (n, share) in [(c.resets, 0.1), (c.slow, 0.1), (c.lost, 0.1), (c.bursts, 0.02)] {
            let got = n as f64 / draws as f64;
            assert!((got - share).abs() < share / 3.0, "{got} for {share}: {c:?}");
        }
        // A burst is `burst` consecutive 429s (two bursts may follow).
        for run in a.split(|f| *f != Fault::Throttled).filter(|r| !r.is_empty()) {
            assert_eq!(run.len() % 3, 0, "a burst of {}", run.len());
        }
    }

    #[test]
    fn every_mounted_vendor_has_one_access_entry_below_its_mount() {
        let mounted: Vec<&str> =
            vendors(&SandboxConfig::default()).into_iter().map(|(m, _)| m).collect();
        let listed: Vec<&str> = VENDORS.iter().map(|a| a.vendor).collect();
        assert_eq!(mounted, listed);
        for a in VENDORS {
            let below = a.prefix.strip_prefix(&format!("/{}", a.vendor));
            assert!(below.is_some_and(|r| r.is_empty() || r.starts_with('/')), "{a:?}");
            assert!(!a.credentials.is_empty(), "{a:?}");
            assert_eq!(access(a.vendor), Some(a));
        }
        assert_eq!(access("nobody"), None);
        // The parts of a prefix that a vendor module checks itself.
        assert_eq!(securitytrax::ACCESS.prefix, format!("/securitytrax/{}", securitytrax::PROFILE));
    }

    #[test]
    fn no_faults_unless_asked() {
        assert!(sequence(&Faults::default(), 1000).iter().all(|f| *f == Fault::None));
        assert_eq!(Faults::default().describe(), None);
        let all = Faults { unavailable: 1.0, ..Faults::default() };
        assert!(sequence(&all, 100).iter().all(|f| *f == Fault::ServerError(503)));
    }
}
