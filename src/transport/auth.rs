//! Credentials on the wire: static keys and the OAuth2 password grant.
//!
//! An `Auth` hands the transport the headers for each request and renews them
//! when the server answers 401. A refused sign-in aborts the run at once and
//! is never retried in a loop: TrackTik blocks an address for two hours after
//! 40 failed logins in two minutes, and hrport must never be the cause.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{ApiError, Body, Method, Request, Transport};
use crate::secret::Secret;

/// Hands out request headers and renews them on 401.
pub trait Auth: Send + Sync {
    /// Headers for the next request, and the generation of the credentials
    /// in them (so a 401 renews a given token only once).
    fn headers(&self, t: &Transport) -> Result<(u64, Vec<(String, Secret)>), ApiError>;
    /// A request sent with credentials of `generation` was answered 401.
    fn unauthorized(&self, t: &Transport, generation: u64) -> Result<(), ApiError>;
    /// What the run's summary should say about signing in (a refused
    /// refresh token, say).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Secrets and settings read from the environment, by field name.
#[derive(Debug, Default, Clone)]
pub struct Credentials(pub BTreeMap<&'static str, Secret>);

impl Credentials {
    pub fn get(&self, field: &str) -> Secret {
        self.0.get(field).cloned().unwrap_or_else(|| Secret::new(""))
    }
}

/// Fixed headers (an API key, a tenant name): nothing to renew.
pub struct StaticHeaders {
    pub headers: Vec<(String, Secret)>,
    /// Said when the server answers 401 anyway.
    pub hint: String,
}

impl Auth for StaticHeaders {
    fn headers(&self, _t: &Transport) -> Result<(u64, Vec<(String, Secret)>), ApiError> {
        Ok((0, self.headers.clone()))
    }
    fn unauthorized(&self, _t: &Transport, _g: u64) -> Result<(), ApiError> {
        Err(ApiError::Abort {
            message: "the target refused the credentials (HTTP 401)".into(),
            hint: Some(self.hint.clone()),
        })
    }
}

/// A sign-in that trades credentials (as a JSON body) for a token, used as
/// `Authorization: Bearer <token>` until it expires (SecurityTrax: after 10
/// minutes, and the answer does not say). The token is renewed a little
/// before its assumed lifetime ends, and whenever an answer is 401. A refused
/// sign-in stops the run; three in one run is the most ever tried.
pub struct TokenLogin {
    pub path: String,
    pub fields: Vec<(&'static str, Secret)>,
    /// Where the token is in the answer (a JSON pointer, e.g. `/token`).
    pub token_pointer: &'static str,
    pub lifetime: Duration,
    /// Headers every request carries, the sign-in too (an integrator key).
    pub fixed: Vec<(String, Secret)>,
    /// Extra headers for the sign-in request (its content type).
    pub login_headers: Vec<(&'static str, String)>,
    pub env_hint: String,
    state: Mutex<LoginState>,
}

#[derive(Default)]
struct LoginState {
    token: Option<Secret>,
    renew_at: Option<Instant>,
    generation: u64,
    failures: u32,
}

impl TokenLogin {
    pub fn new(
        path: &str,
        fields: Vec<(&'static str, Secret)>,
        token_pointer: &'static str,
        lifetime: Duration,
        fixed: Vec<(String, Secret)>,
        login_headers: Vec<(&'static str, String)>,
        env_hint: String,
    ) -> TokenLogin {
        TokenLogin {
            path: path.to_string(),
            fields,
            token_pointer,
            lifetime,
            fixed,
            login_headers,
            env_hint,
            state: Mutex::new(LoginState::default()),
        }
    }

    fn sign_in(&self, t: &Transport, st: &mut LoginState) -> Result<(), ApiError> {
        let req = Request {
            method: Method::Post,
            path: self.path.clone(),
            query: Vec::new(),
            body: Body::JsonSecrets(self.fields.clone()),
            headers: self.login_headers.clone(),
            repeatable: Some(true),
        };
        let r = t.send_with_headers(&req, &self.fixed).map_err(unreachable(t, &self.path))?;
        let token = r.body.pointer(self.token_pointer).and_then(Value::as_str).filter(|_| r.ok());
        let Some(token) = token else {
            st.failures += 1;
            if r.status == 404 {
                return Err(not_found(t, &self.path));
            }
            return Err(ApiError::Abort {
                message: format!(
                    "sign-in refused (HTTP {}): {}",
                    r.status,
                    super::errors::generic_message(&r.body)
                ),
                hint: Some(format!(
                    "check {}; hrport does not retry a refused sign-in",
                    self.env_hint
                )),
            });
        };
        st.token = Some(Secret::new(token));
        // Renew at nine tenths of the lifetime, so a token never runs out
        // between being read and being used.
        st.renew_at = Some(Instant::now() + self.lifetime.mul_f64(0.9));
        st.generation += 1;
        Ok(())
    }
}

impl Auth for TokenLogin {
    fn headers(&self, t: &Transport) -> Result<(u64, Vec<(String, Secret)>), ApiError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.token.is_none() || st.renew_at.is_none_or(|at| Instant::now() >= at) {
            self.sign_in(t, &mut st)?;
        }
        let token = st.token.as_ref().map(|a| a.expose()).unwrap_or_default();
        let mut h = self.fixed.clone();
        h.push(("Authorization".into(), Secret::new(format!("Bearer {token}"))));
        Ok((st.generation, h))
    }

    fn unauthorized(&self, t: &Transport, generation: u64) -> Result<(), ApiError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.generation == generation {
            if st.failures >= MAX_LOGINS {
                return Err(ApiError::Abort {
                    message: "the target keeps refusing fresh tokens".into(),
                    hint: Some(format!("check {}", self.env_hint)),
                });
            }
            self.sign_in(t, &mut st)?;
        }
        Ok(())
    }
}

/// An `Authorization: Basic` header (RFC 7617) for fixed credentials.
pub fn basic(user: &str, password: &Secret) -> Secret {
    use base64::Engine as _;
    let raw = format!("{user}:{}", password.expose());
    Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)))
}

/// OAuth2 "password" grant with single-use refresh tokens (RFC 6749 §4.3, §6).
pub struct OAuth2Password {
    pub token_path: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    pub username: Secret,
    pub password: Secret,
    /// Names the environment variables in hints.
    pub env_hint: String,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    access: Option<Secret>,
    refresh: Option<Secret>,
    renew_at: Option<Instant>,
    generation: u64,
    logins: u32,
    refreshes: u32,
    /// Why the last refresh token was refused, when it was.
    refused: Option<String>,
    notes: Vec<String>,
}

/// Sign-ins allowed in one run; the run aborts before a fourth.
const MAX_LOGINS: u32 = 3;

impl OAuth2Password {
    pub fn new(token_path: &str, creds: &Credentials, env_hint: String) -> OAuth2Password {
        OAuth2Password {
            token_path: token_path.to_string(),
            client_id: creds.get("client_id"),
            client_secret: creds.get("client_secret"),
            username: creds.get("username"),
            password: creds.get("password"),
            env_hint,
            state: Mutex::new(TokenState::default()),
        }
    }

    fn token_request(&self, fields: Vec<(&'static str, Secret)>) -> Request {
        Request {
            method: Method::Post,
            path: self.token_path.clone(),
            query: Vec::new(),
            body: Body::Form(fields),
            headers: Vec::new(),
            // A token request creates nothing the run depends on; sending it
            // again after a lost answer only costs a token.
            repeatable: Some(true),
        }
    }

    /// Gets a new token: with the refresh token if there is one, else by
    /// signing in. Called with the state locked, so workers wait for one
    /// renewal instead of racing to use a single-use refresh token.
    fn renew(&self, t: &Transport, st: &mut TokenState) -> Result<(), ApiError> {
        if let Some(refresh) = st.refresh.take()
            && self.refresh(t, st, refresh)
        {
            return Ok(());
        }
        // A refused refresh token is not a failed login: sign in again.
        if st.logins >= MAX_LOGINS {
            return Err(too_many_logins(st.refused.as_deref()));
        }
        st.logins += 1;
        let req = self.token_request(vec![
            ("grant_type", Secret::new("password")),
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.clone()),
            ("username", self.username.clone()),
            ("password", self.password.clone()),
        ]);
        let r = t.send_unauthenticated(&req).map_err(unreachable(t, &self.token_path))?;
        if r.ok() && self.store(st, &r.body) {
            return Ok(());
        }
        if r.status == 404 {
            return Err(not_found(t, &self.token_path));
        }
        let detail = super::errors::generic_message(&r.body);
        let hint = if matches!(r.status, 403 | 429) {
            "the target may be blocking sign-ins from this address after too many failures \
             (TrackTik: 40 in 2 minutes blocks for 2 hours); wait before trying again"
                .to_string()
        } else {
            format!("check {}; hrport does not retry a refused sign-in", self.env_hint)
        };
        Err(ApiError::Abort {
            message: format!("sign-in refused (HTTP {}): {detail}", r.status),
            hint: Some(hint),
        })
    }

    /// Trades a refresh token for new tokens; false when that did not work.
    /// A refusal (400 or 401, `invalid_grant`) is noted for the summary and
    /// kept, so a stop at the sign-in limit can say why it came.
    fn refresh(&self, t: &Transport, st: &mut TokenState, refresh: Secret) -> bool {
        let req = self.token_request(vec![
            ("grant_type", Secret::new("refresh_token")),
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.clone()),
            ("refresh_token", refresh),
        ]);
        match t.send_unauthenticated(&req) {
            Ok(r) if r.ok() && self.store(st, &r.body) => {
                st.refreshes += 1;
                st.refused = None;
                true
            }
            Ok(r) if matches!(r.status, 400 | 401) => {
                let why = format!(
                    "the refresh token was refused (HTTP {}: {})",
                    r.status,
                    super::errors::generic_message(&r.body)
                );
                st.notes.push(format!("{why}; signing in again"));
                st.refused = Some(why);
                false
            }
            // No usable answer: signing in is the way left.
            _ => false,
        }
    }

    fn store(&self, st: &mut TokenState, body: &Value) -> bool {
        let Some(access) = body.get("access_token").and_then(Value::as_str) else {
            return false;
        };
        st.access = Some(Secret::new(access));
        st.refresh = body.get("refresh_token").and_then(Value::as_str).map(Secret::new);
        let lifetime =
            Duration::from_secs(body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600));
        // Renew a little early: a tenth of the lifetime, at most a minute.
        let margin = (lifetime / 10).min(Duration::from_secs(60));
        st.renew_at = Some(Instant::now() + lifetime - margin);
        st.generation += 1;
        true
    }

    /// How many times the token was renewed with a refresh token.
    pub fn refreshes(&self) -> u32 {
        self.state.lock().map(|s| s.refreshes).unwrap_or(0)
    }
}

impl Auth for OAuth2Password {
    fn headers(&self, t: &Transport) -> Result<(u64, Vec<(String, Secret)>), ApiError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = st.renew_at.is_none_or(|at| Instant::now() >= at);
        if st.access.is_none() || due {
            self.renew(t, &mut st)?;
        }
        let token = st.access.as_ref().map(|a| a.expose()).unwrap_or_default();
        Ok((st.generation, vec![("Authorization".into(), Secret::new(format!("Bearer {token}")))]))
    }

    fn unauthorized(&self, t: &Transport, generation: u64) -> Result<(), ApiError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.generation == generation {
            self.renew(t, &mut st)?;
        }
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        self.state.lock().map(|s| s.notes.clone()).unwrap_or_default()
    }
}

/// The stop before a fourth sign-in, worded by what made the sign-ins
/// necessary: a target refusing its own refresh tokens is no sign of a
/// missing permission.
fn too_many_logins(refused: Option<&str>) -> ApiError {
    let stop = format!(
        "signed in {MAX_LOGINS} times in this run already; stopping rather than risk a lockout"
    );
    match refused {
        Some(why) => ApiError::Abort {
            message: format!("{why}, and hrport {stop}"),
            hint: Some(
                "the target does not take its own refresh tokens (revoked, or refresh turned \
                 off for this OAuth client), so each renewal costs a sign-in; ask the tenant's \
                 administrator to allow refresh tokens, then continue the run"
                    .into(),
            ),
        },
        None => ApiError::Abort {
            message: stop,
            hint: Some(
                "the target keeps rejecting tokens it has just issued; check the API account's \
                 permissions"
                    .into(),
            ),
        },
    }
}

/// A sign-in endpoint that is not there (404): the server answered, so
/// the URL, not the credentials, is what is wrong.
fn not_found(t: &Transport, path: &str) -> ApiError {
    ApiError::Abort {
        message: format!(
            "sign-in failed: {}{path} was not found (HTTP 404), so --base-url is likely wrong \
             (not the credentials)",
            t.base()
        ),
        hint: Some(
            "--base-url is what comes before the vendor's documented paths (the tenant's own \
             address, with nothing after it unless the target's page says so)"
                .into(),
        ),
    }
}

/// A sign-in request that got no usable answer: the run cannot start.
fn unreachable<'a>(t: &'a Transport, path: &'a str) -> impl Fn(ApiError) -> ApiError + 'a {
    move |e| match e {
        ApiError::Abort { .. } => e,
        other => ApiError::Abort {
            message: format!("cannot reach the sign-in endpoint {}{path}: {other}", t.base()),
            hint: Some("check --base-url and the network".into()),
        },
    }
}
