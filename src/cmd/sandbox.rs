//! `hrport sandbox`: run the vendor imitations until stopped.
//!
//! The first line on stdout carries the base URL, so scripts and tests can
//! start it with `--listen 127.0.0.1:0` and read the port.

use std::io::Write;
use std::time::Duration;

use crate::cli::SandboxArgs;
use crate::error::{Error, Result, exit};
use crate::targets::TARGETS;
use hrport_sandbox::{Faults, Sandbox, SandboxConfig};

pub fn run(args: SandboxArgs) -> Result<u8> {
    let faults = Faults {
        seed: args.fault_seed,
        unavailable: args.fault_unavailable,
        server_error: args.fault_server_error,
        reset: args.fault_reset,
        slow: args.fault_slow,
        slow_delay: Duration::from_millis(args.fault_slow_ms),
        lost: args.fault_lost,
        lost_delay: Duration::from_millis(args.fault_lost_delay_ms),
        throttle: args.fault_throttle,
        burst: args.fault_burst,
        burst_retry_after: args.fault_retry_after,
        batch_timeout_above: args.fault_batch_timeout_above,
    };
    // Shares past 1 would silently starve the kinds drawn last.
    if faults.total() > 1.0 + 1e-9 {
        return Err(Error::config(format!(
            "the --fault-* shares add up to {}; together they must be at most 1",
            faults.total()
        )));
    }
    let sb = Sandbox::start(SandboxConfig {
        listen: args.listen.clone(),
        rate_limit_per_minute: args.rate_limit,
        latency: Duration::from_millis(args.latency_ms),
        token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        retry_after: args.retry_after,
        faults: faults.clone(),
    })
    .map_err(|e| Error::config(format!("cannot listen on {}: {e}", args.listen)))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "hrport sandbox listening on {}", sb.url());
    for t in TARGETS {
        let info = t.info();
        let access = super::sandbox_access(info)?;
        let creds: Vec<String> =
            access.credentials.iter().map(|(k, v)| format!("{}={v}", info.env_var(k))).collect();
        let _ = writeln!(
            out,
            "  {:<12} --base-url {}{}   {}",
            info.template.name,
            sb.url(),
            access.prefix,
            creds.join(" ")
        );
    }
    if args.rate_limit > 0 {
        let _ = writeln!(out, "  rate limit: {} requests per minute per vendor", args.rate_limit);
    }
    // After the URL lines: scripts read the URL from the first line.
    if let Some(f) = faults.describe() {
        let _ = writeln!(out, "  {f}");
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    let _ = out.flush();
    drop(out);
    sb.wait();
    Ok(exit::OK)
}
