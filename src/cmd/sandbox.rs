//! `hrport sandbox`: run the vendor imitations until stopped.
//!
//! The first line on stdout carries the base URL, so scripts and tests can
//! start it with `--listen 127.0.0.1:0` and read the port.

use std::io::Write;
use std::time::Duration;

use crate::cli::SandboxArgs;
use crate::error::{Error, Result, exit};
use crate::sandbox::{Faults, Sandbox, SandboxConfig};
use crate::targets::TARGETS;

pub fn run(args: SandboxArgs) -> Result<u8> {
    let sb = Sandbox::start(SandboxConfig {
        listen: args.listen.clone(),
        rate_limit_per_minute: args.rate_limit,
        latency: Duration::from_millis(args.latency_ms),
        token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        retry_after: args.retry_after,
        faults: Faults {
            seed: args.fault_seed,
            unavailable: args.fault_unavailable.clamp(0.0, 1.0),
            lost: args.fault_lost.clamp(0.0, 1.0),
            lost_delay: Duration::from_millis(args.fault_lost_delay_ms),
        },
    })
    .map_err(|e| Error::config(format!("cannot listen on {}: {e}", args.listen)))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "hrport sandbox listening on {}", sb.url());
    for t in TARGETS {
        let info = t.info();
        let creds: Vec<String> = info
            .sandbox_credentials
            .iter()
            .map(|(k, v)| format!("{}={v}", info.env_var(k)))
            .collect();
        let _ = writeln!(
            out,
            "  {:<12} --base-url {}{}   {}",
            info.name,
            sb.url(),
            info.sandbox_prefix,
            creds.join(" ")
        );
    }
    if args.rate_limit > 0 {
        let _ = writeln!(out, "  rate limit: {} requests per minute per vendor", args.rate_limit);
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    let _ = out.flush();
    drop(out);
    sb.wait();
    Ok(exit::OK)
}
