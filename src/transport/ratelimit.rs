//! One request-rate limit shared by every worker of a run.
//!
//! A governor GCRA limiter with a burst of one: requests leave evenly spaced
//! from the very first one, so there is no start-up burst (governor issue
//! #39) and a server that counts per minute never sees more than the limit.
//! When the server still answers 429, the rate is halved for everyone
//! (and every worker pauses for `Retry-After` when the server gives one);
//! after a quiet spell it grows back by a quarter at a time, never above
//! `--rate`. So a `--rate` set too high costs a few 429s, not thousands.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The lowest rate the limiter falls to, in requests per second.
const FLOOR: f64 = 0.2;
/// How long without a 429 before the rate grows again.
const QUIET: Duration = Duration::from_secs(5);

pub struct Limiter {
    configured: f64,
    pace: Mutex<Pace>,
    clock: DefaultClock,
    pause_until: Mutex<Option<Instant>>,
}

struct Pace {
    rate: f64,
    changed: Instant,
    gcra: Option<Arc<DefaultDirectRateLimiter>>,
}

fn gcra(per_second: f64) -> Option<Arc<DefaultDirectRateLimiter>> {
    (per_second.is_finite() && per_second > 0.0)
        .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / per_second)))
        .flatten()
        .map(|q| Arc::new(RateLimiter::direct(q.allow_burst(NonZeroU32::MIN))))
}

impl Limiter {
    /// `per_second` <= 0 or not finite means no limit.
    pub fn new(per_second: f64) -> Limiter {
        Limiter {
            configured: per_second,
            pace: Mutex::new(Pace {
                rate: per_second,
                changed: Instant::now(),
                gcra: gcra(per_second),
            }),
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
            let lim = self.pace.lock().unwrap_or_else(|e| e.into_inner()).gcra.clone();
            let Some(lim) = lim else { return };
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

    /// The server answered 429: slow everyone down.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        if let Some(ra) = retry_after {
            self.pause(ra);
        }
        if !(self.configured.is_finite() && self.configured > 0.0) {
            return;
        }
        let mut p = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        // Several workers learn of the same overload at once: halve once
        // per round trip, not once per worker.
        if p.changed.elapsed() < Duration::from_millis(250) && p.rate < self.configured {
            return;
        }
        p.rate = (p.rate / 2.0).max(FLOOR);
        p.changed = Instant::now();
        p.gcra = gcra(p.rate);
    }

    /// A request went through: after a quiet spell, speed up again.
    pub fn succeeded(&self) {
        let mut p = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        if p.rate < self.configured && p.changed.elapsed() >= QUIET {
            p.rate = (p.rate * 1.25).min(self.configured);
            p.changed = Instant::now();
            p.gcra = gcra(p.rate);
        }
    }

    /// The rate in force now, in requests per second.
    pub fn rate(&self) -> f64 {
        self.pace.lock().map(|p| p.rate).unwrap_or(self.configured)
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
        assert!(t.elapsed() >= Duration::from_millis(175), "{:?}", t.elapsed());
    }

    #[test]
    fn unlimited_and_pause() {
        let l = Limiter::new(0.0);
        l.pause(Duration::from_millis(60));
        let t = Instant::now();
        l.acquire();
        assert!(t.elapsed() >= Duration::from_millis(55));
    }

    #[test]
    fn halves_on_429_once_per_burst_and_never_exceeds_the_setting() {
        let l = Limiter::new(40.0);
        l.throttled(None);
        assert_eq!(l.rate(), 20.0);
        l.throttled(None); // the same overload, seen by another worker
        assert_eq!(l.rate(), 20.0);
        {
            let mut p = l.pace.lock().unwrap();
            p.changed -= Duration::from_secs(1);
        }
        l.throttled(None);
        assert_eq!(l.rate(), 10.0);
        l.succeeded(); // too soon to grow
        assert_eq!(l.rate(), 10.0);
        for _ in 0..10 {
            l.pace.lock().unwrap().changed -= QUIET;
            l.succeeded();
        }
        assert_eq!(l.rate(), 40.0);
    }
}
