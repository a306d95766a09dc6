//! One file per subcommand; this file holds what several of them share:
//! connecting to a target (or starting the sandbox) and printing warnings.

pub mod completions;
pub mod export;
pub mod import;
pub mod man;
pub mod profile;
pub mod sandbox;
pub mod targets;
pub mod template;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::cli::{Endpoint, Speed};
use crate::error::{Error, Result};
use crate::mapping::profile::Profile;
use crate::secret::Secret;
use crate::targets::{Options, Target, TargetInfo};
use crate::transport::auth::Credentials;
use crate::transport::retry::Policy;
use crate::transport::{Api, ApiError, Transport, TransportConfig};
use hrport_sandbox::{Sandbox, SandboxConfig, VendorAccess};

pub fn warn(msg: &str) {
    eprintln!("hrport: warning: {}", crate::text::printable(msg));
}

/// An authenticated connection, and the sandbox behind it if we started one
/// (it lives as long as the connection).
pub struct Connection {
    pub api: Api,
    /// The user name hrport signs in as, when the target has one: `--mode
    /// sync` never deactivates that account.
    pub login: Option<String>,
    /// What comes before the vendor's paths (the sandbox's, for --sandbox).
    pub base_url: String,
    pub _sandbox: Option<Sandbox>,
}

/// The profile a command was given (an empty one without `--profile`),
/// refused when it names another target.
pub fn load_profile(path: Option<&std::path::Path>, info: &TargetInfo) -> Result<Profile> {
    let profile = match path {
        Some(p) => Profile::load(p)?,
        None => Profile::default(),
    };
    if let Some(t) = &profile.target
        && t != info.template.name
    {
        return Err(Error::config(format!(
            "the profile is for target {t:?}, not {:?}",
            info.template.name
        )));
    }
    Ok(profile)
}

/// An existing file is kept unless `--force` says otherwise.
pub fn refuse_overwrite(path: &std::path::Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(Error::config(format!(
            "{} exists already; not overwriting it (give --force to replace it)",
            path.display()
        )));
    }
    Ok(())
}

/// Checks the sending flags before anything else happens.
pub fn check_speed(a: &Speed) -> Result<()> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Error::config("--rate must be a number of requests per second above 0"));
    }
    if a.concurrency == 0 || a.concurrency > 256 {
        return Err(Error::config("--concurrency must be between 1 and 256"));
    }
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        return Err(Error::config("--timeout must be a number of seconds above 0"));
    }
    Ok(())
}

/// Connects to the target named by the flags; `None` when neither
/// `--sandbox` nor `--base-url` is given.
pub fn connect(
    endpoint: &Endpoint,
    a: &Speed,
    target: &dyn Target,
    options: &Options,
    stop: Arc<AtomicBool>,
) -> Result<Option<Connection>> {
    let info = target.info();
    let (base, creds, sandbox) = if endpoint.sandbox {
        let access = sandbox_access(info)?;
        let sb = Sandbox::start(SandboxConfig::default())
            .map_err(|e| Error::config(format!("cannot start the sandbox: {e}")))?;
        let base = format!("{}{}", sb.url(), access.prefix);
        eprintln!("hrport: sandbox running at {base} (demo data; it stops when hrport ends)");
        let mut creds = Credentials::default();
        for (field, value) in access.credentials {
            creds.0.insert(field, Secret::new(*value));
        }
        (base, creds, Some(sb))
    } else if let Some(url) = &endpoint.base_url {
        target.check_base_url(url).map_err(Error::config)?;
        (url.clone(), info.credentials_from_env()?, None)
    } else {
        return Ok(None);
    };
    let cfg = TransportConfig {
        base_url: base.clone(),
        rate: a.rate,
        timeout: Duration::from_secs_f64(a.timeout),
        policy: Policy { max_retries: a.max_retries, ..Policy::default() },
    };
    let transport = Transport::new(&cfg, stop).map_err(Error::config)?;
    let api = Api::new(transport, target.auth(&creds, options), target.errors());
    api.authenticate().map_err(api_abort)?;
    // A user name is no secret; it names the API account in the tenant.
    let login = creds.0.get("username").map(|u| u.expose().to_string());
    Ok(Some(Connection { api, login, base_url: base, _sandbox: sandbox }))
}

/// Where the sandbox serves a target and what it accepts. The sandbox crate
/// holds these, next to the checks that use them; every target has an entry
/// (tests/it/commands.rs signs in to each), so only a new target without a
/// sandbox module would get this error.
pub fn sandbox_access(info: &TargetInfo) -> Result<&'static VendorAccess> {
    hrport_sandbox::access(info.template.name).ok_or_else(|| {
        Error::config(format!(
            "the sandbox does not imitate {}; use --base-url",
            info.template.name
        ))
    })
}

/// An API failure that ends the command: exit 3.
pub fn api_abort(e: ApiError) -> Error {
    match e {
        ApiError::Abort { message, hint } => Error::aborted(message, hint),
        // Retries ran out: on 429s, the target is there but busy.
        ApiError::Unavailable(m) if crate::transport::retry::throttled_out(&m) => Error::aborted(
            format!("the target kept answering that too many requests were sent: {m}"),
            Some("wait a few minutes or lower --rate, then run the same command again".into()),
        ),
        ApiError::Unavailable(m) => Error::aborted(
            format!("the target is unreachable: {m}"),
            Some("check --base-url and the network, then run the same command again".into()),
        ),
        ApiError::Status { status, message } => Error::aborted(
            format!("the target refused a request needed to start: {message} (HTTP {status})"),
            (status == 403).then(|| "the API account may lack a permission".to_string()),
        ),
    }
}
