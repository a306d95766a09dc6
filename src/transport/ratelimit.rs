//! One request-rate limit shared by every worker of a run.
//!
//! A governor GCRA limiter with a burst of one: requests leave evenly spaced
//! at `--rate` per second from the very first one, so there is no start-up
//! burst (governor issue #39) and a server that counts per minute never sees
//! more than the limit. When the server answers 429 with `Retry-After`, every
//! worker pauses until then instead of each finding out on its own.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

pub struct Limiter {
    inner: Option<DefaultDirectRateLimiter>,
    clock: DefaultClock,
    pause_until: Mutex<Option<Instant>>,
}

impl Limiter {
    /// `per_second` <= 0 or not finite means no limit.
    pub fn new(per_second: f64) -> Limiter {
        let inner = (per_second.is_finite() && per_second > 0.0)
            .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / per_second)))
            .flatten()
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        Limiter {
            inner,
            clock: DefaultClock::default(),
            pause_until: Mutex::new(None),
        }
    }

    /// Blocks until this thread may send one request.
    pub fn acquire(&self) {
        loop {
            let paused = *self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = paused {
                let now = Instant::now();
                if until > now {
                    std::thread::sleep(until - now);
                    continue;
                }
            }
            let Some(lim) = &self.inner else { return };
            match lim.check() {
                Ok(()) => return,
                Err(not_until) => std::thread::sleep(not_until.wait_time_from(self.clock.now())),
            }
        }
    }

    /// Holds every worker back for `d` (the server asked us to wait).
    pub fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut p = self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_burst_at_start() {
        // 50/s: ten acquisitions need at least nine intervals (180 ms). A
        // lower bound only, so a busy machine cannot make it fail.
        let l = Limiter::new(50.0);
        let t = Instant::now();
        for _ in 0..10 {
            l.acquire();
        }
        assert!(
            t.elapsed() >= Duration::from_millis(175),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn unlimited_and_pause() {
        let l = Limiter::new(0.0);
        l.pause(Duration::from_millis(60));
        let t = Instant::now();
        l.acquire();
        assert!(t.elapsed() >= Duration::from_millis(55));
    }
}
