//! When to try a request again, and how long to wait first.
//!
//! Modelled on cargo's `util/network/retry.rs`: this module only decides; the
//! caller sleeps, so the schedule is unit-tested without waiting. Policy:
//! capped exponential backoff with jitter ("full jitter" halved, see AWS'
//! "Exponential Backoff And Jitter"), and a server's `Retry-After` (seconds or
//! HTTP-date, RFC 9110 §10.2.3) wins over the computed delay, capped so a
//! hostile or broken header cannot park the run for hours.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Policy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubles each time.
    pub base: Duration,
    /// Longest computed delay.
    pub cap: Duration,
    /// Longest delay a `Retry-After` header may ask for.
    pub retry_after_cap: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_retries: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(120),
        }
    }
}

impl Policy {
    /// How long to wait before retry number `retry` (0 = the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            // A little jitter on top, so workers told the same instant do not
            // all come back in the same millisecond.
            return ra.min(self.retry_after_cap) + Duration::from_millis(fastrand::u64(0..250));
        }
        let exp = self.base.saturating_mul(1u32 << retry.min(16)).min(self.cap);
        // Between half and all of the exponential delay.
        let half = exp / 2;
        half + Duration::from_micros(fastrand::u64(0..=half.as_micros() as u64))
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e6)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// HTTP statuses worth another try: the request was refused or the server
/// failed, and the same request may succeed later.
pub fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = Policy::default();
        for retry in 0..10 {
            let full = (p.base * (1 << retry)).min(p.cap);
            for _ in 0..50 {
                let d = p.delay(retry, None);
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?} outside {full:?}");
            }
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = Policy::default();
        let d = p.delay(0, Some(Duration::from_secs(7)));
        assert!(d >= Duration::from_secs(7) && d < Duration::from_millis(7250));
        let d = p.delay(0, Some(Duration::from_secs(99_999)));
        assert!(d < p.retry_after_cap + Duration::from_secs(1));
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 1.5 ", now), Some(Duration::from_millis(1500)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(42)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
