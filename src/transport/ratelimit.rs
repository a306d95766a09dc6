//! One request-rate limit shared by every worker of a run.
//!
//! A governor GCRA limiter with a burst of one: requests leave evenly spaced
//! from the very first one, so there is no start-up burst (governor issue
//! #39) and a server that counts per minute never sees more than the limit.
//! When the server still answers 429, the rate is halved for everyone, once
//! per overload (every worker also pauses for `Retry-After` when given);
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
    /// When the rate last went down.
    lowered: Option<Instant>,
    /// Whether a request went through since then.
    passed: bool,
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
                lowered: None,
                passed: false,
                gcra: gcra(per_second),
            }),
            clock: DefaultClock::default(),
            pause_until: Mutex::new(None),
        }
    }

    /// Blocks until this thread may send one request; returns the moment
    /// it was let through, which `throttled` needs.
    pub fn acquire(&self) -> Instant {
        loop {
            let paused = *self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = paused {
                let now = Instant::now();
                if until > now {
                    std::thread::sleep(until - now);
                    continue;
                }
            }
            let now = Instant::now();
            let lim = self.pace.lock().unwrap_or_else(|e| e.into_inner()).gcra.clone();
            let Some(lim) = lim else { return now };
            match lim.check() {
                Ok(()) => return now,
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

    /// The server answered 429 to a request let through at `sent`: slow
    /// everyone down.
    pub fn throttled(&self, sent: Instant, retry_after: Option<Duration>) {
        if let Some(ra) = retry_after {
            self.pause(ra);
        }
        if !(self.configured.is_finite() && self.configured > 0.0) {
            return;
        }
        let mut p = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        // Halve once per overload, not once per answer reporting it. A
        // request sent before the last slow-down left at the old pace: its
        // 429 tells of the overload already acted on, however late it comes.
        // And 429s with nothing let through since the slow-down mean the
        // server refuses whatever the pace (a burst, a window not yet over):
        // waiting it out (backoff, Retry-After) is the answer; halving for
        // each would sink the rate to the floor, to crawl there for minutes.
        if p.lowered.is_some_and(|at| sent < at || !p.passed) {
            return;
        }
        p.rate = (p.rate / 2.0).max(FLOOR);
        p.changed = Instant::now();
        p.lowered = Some(p.changed);
        p.passed = false;
        p.gcra = gcra(p.rate);
    }

    /// A request went through: after a quiet spell, speed up again.
    pub fn succeeded(&self) {
        let mut p = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        p.passed = true;
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
        let sent = l.acquire();
        l.throttled(sent, None);
        assert_eq!(l.rate(), 20.0);
        l.throttled(sent, None); // the same overload, seen by another worker
        assert_eq!(l.rate(), 20.0);
        let later = l.acquire(); // sent at the new pace
        l.throttled(later, None); // refused, but so far nothing went through
        assert_eq!(l.rate(), 20.0);
        l.succeeded(); // some go through, others are refused: still too fast
        let later = l.acquire();
        l.throttled(later, None);
        assert_eq!(l.rate(), 10.0);
        l.succeeded(); // too soon to grow
        assert_eq!(l.rate(), 10.0);
        for _ in 0..10 {
            l.pace.lock().unwrap().changed -= QUIET;
            l.succeeded();
        }
        assert_eq!(l.rate(), 40.0);
    }

    #[test]
    fn late_429s_for_requests_sent_before_a_slow_down_do_not_slow_it_again() {
        // Six requests in flight meet one overload; their 429s come in over
        // more than a second (a slow server), with successes between them.
        let l = Limiter::new(40.0);
        let sent: Vec<Instant> = (0..6).map(|_| l.acquire()).collect();
        for (i, at) in sent.into_iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(300));
                l.succeeded();
            }
            l.throttled(at, None);
        }
        assert_eq!(l.rate(), 20.0);
    }

    #[test]
    fn a_run_of_429s_with_nothing_let_through_halves_once() {
        // A burst of 429s, each for a request sent after the slow-down (as
        // after every Retry-After pause): the pace is not what the server
        // refuses, so it is not cut again.
        let l = Limiter::new(40.0);
        for _ in 0..6 {
            let sent = l.acquire();
            l.throttled(sent, Some(Duration::from_millis(30)));
        }
        assert_eq!(l.rate(), 20.0);
    }
}
