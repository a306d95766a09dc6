//! The sandbox: a local imitation of every vendor's API, for tests and demos.
//!
//! One HTTP server (axum on a small tokio runtime, in its own thread) serves
//! each vendor under its own prefix (`/tracktik/...`). What is common to all
//! vendors lives here: per-vendor rate limits answered with 429, added
//! latency, and dispatch. Each vendor module is a plain state machine from a
//! request to a response, with no I/O, so it is unit-testable and a new
//! vendor is one module plus one line in `vendors()`.

pub mod intellihr;
pub mod scim;
pub mod securitytrax;
pub mod tracktik;

use std::any::Any;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Value as Json, json};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: String,
    /// Requests per minute each vendor accepts (0: unlimited).
    pub rate_limit_per_minute: u32,
    pub latency: Duration,
    pub token_ttl: Duration,
    /// Send `Retry-After` with 429 answers.
    pub retry_after: bool,
    pub faults: Faults,
}

/// Injected faults, drawn from a seeded generator so a run can be repeated.
/// Each applies to any vendor request except sign-in.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Share (0..1) of requests answered 503 without being processed.
    pub unavailable: f64,
    /// Share (0..1) of requests processed, whose answer is then held back
    /// for `lost_delay`: a client with a shorter timeout never sees it.
    pub lost: f64,
    pub lost_delay: Duration,
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

struct Vendor {
    prefix: &'static str,
    sim: Mutex<Box<dyn VendorSim>>,
    limiter: Option<DefaultDirectRateLimiter>,
}

struct Shared {
    vendors: Vec<Vendor>,
    cfg: SandboxConfig,
    rng: Mutex<fastrand::Rng>,
}

/// What the fault injector decided for one request.
#[derive(PartialEq)]
enum Fault {
    None,
    Unavailable,
    Lost,
}

/// Every vendor the sandbox serves.
fn vendors(cfg: &SandboxConfig) -> Vec<(&'static str, Box<dyn VendorSim>)> {
    vec![
        ("tracktik", Box::new(tracktik::Sim::new(cfg))),
        ("intellihr", Box::new(intellihr::Sim::new(cfg))),
        ("securitytrax", Box::new(securitytrax::Sim::new(cfg))),
        ("scim", Box::new(scim::Sim::new(cfg))),
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
                    limiter: limiter(cfg.rate_limit_per_minute),
                })
                .collect(),
            rng: Mutex::new(fastrand::Rng::with_seed(cfg.faults.seed)),
            cfg,
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
    let path = uri.path();
    let Some(v) = shared.vendors.iter().find(|v| {
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
    let fault = {
        let f = &shared.cfg.faults;
        let sign_in = path.contains("/oauth2/") || path.ends_with("/authenticate");
        let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
        let x = rng.f64();
        if sign_in {
            Fault::None
        } else if x < f.unavailable {
            Fault::Unavailable
        } else if x < f.unavailable + f.lost {
            Fault::Lost
        } else {
            Fault::None
        }
    };
    if fault == Fault::Unavailable {
        return respond(SimResponse::error(503, "Service Unavailable (injected fault)"));
    }
    let req = SimRequest {
        method,
        path: path[1 + v.prefix.len()..].to_string(),
        query: uri
            .query()
            .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
            .unwrap_or_default(),
        headers,
        body,
        now: Instant::now(),
    };
    let resp = v.sim.lock().unwrap_or_else(|e| e.into_inner()).handle(&req);
    if fault == Fault::Lost {
        // Processed and committed; the client gives up before this arrives.
        tokio::time::sleep(shared.cfg.faults.lost_delay).await;
    }
    respond(resp)
}

fn respond(r: SimResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(r.body)).into_response();
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}
