//! One request-rate limit shared by every worker of a run, which slows down
//! when the server answers 429 and climbs back within seconds.
//!
//! `Pace` decides, from the moments it is given (so every rule is unit-tested
//! with an injected clock, without sleeping); `Limiter` only puts it behind a
//! lock and sleeps where it says. Neither sends or retries anything.
//!
//! Pacing: requests leave one interval apart (a GCRA with a burst of one),
//! so an idle spell saves nothing up and a server that counts per minute
//! sees at most the rate, apart from a run's head start: its first requests,
//! a quarter of a second's worth (at most 10), leave at once, so the sign-in
//! and start-up look-ups of a small run do not take longer than its rows (6
//! of them cost 0.2 s at the default rate).
//!
//! Recovery, additive increase and multiplicative decrease as in TCP, with a
//! memory of where the limit was met (as CUBIC keeps `W_max`):
//! - a 429 cuts the rate to `CUT` of itself, once per overload: a 429 for a
//!   request sent before the last cut tells of the overload already acted
//!   on, and 429s with nothing let through since the cut are one burst
//!   (many workers meeting it at once), not a sign to cut again; a 429
//!   soon after a cut (fewer than `SOON` requests through since) measures
//!   what the server takes, and the cut goes to just below that, so a
//!   hidden limit is found in two steps;
//! - a burst (two or more 429s in a row to requests sent after the cut,
//!   then `SOON` requests through without one) says nothing of where the
//!   limit is: the cut stands, but the ceiling goes back to where it was,
//!   so bursts do not ratchet the rate down one after another;
//! - the rate at the cut is remembered as the ceiling; the rate climbs back
//!   by `CLIMB` of `--rate` per second up to just below it, then probes
//!   above it by `PROBE` of `--rate` per second, so a hidden limit below
//!   `--rate` is met again only every few seconds (under 2 % of requests
//!   answered 429), and a brief burst at full speed costs a second or two of
//!   slightly slower sending (the simulations in the tests below check
//!   both; `benches/import.rs` measures them against the sandbox);
//! - past the ceiling by `FORGET` without a 429, the limit is no longer
//!   there: the ceiling is forgotten and the rate climbs fast to `--rate`;
//! - a `Retry-After` holds every worker until one shared instant: the
//!   latest any answer asked for, so the server never sees a request
//!   before an instant it named, and no worker sleeps a pause of its own.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A run's head start, in seconds' worth of requests that leave at once.
const HEAD_START: f64 = 0.25;
/// The most requests of a head start: enough for a sign-in and its
/// look-ups; at a high `--rate` more would be a burst every worker joins.
const HEAD_START_MAX: u32 = 10;
/// The lowest rate the limiter falls to, in requests per second.
const FLOOR: f64 = 0.2;
/// What a cut leaves of the rate.
const CUT: f64 = 0.85;
/// The fast climb, in shares of `--rate` per second.
const CLIMB: f64 = 0.5;
/// Where the fast climb ends, as a share of the ceiling.
const NEAR: f64 = 0.97;
/// The probe near and above the ceiling, in shares of `--rate` per second.
const PROBE: f64 = 0.015;
/// Fewer requests than this between two cuts tell how much the server takes.
const SOON: u32 = 10;
/// 429s in a row after a cut that, followed by `SOON` requests through, make
/// the cut's overload a burst.
const BURST: u32 = 2;
/// How far past the ceiling the rate goes before the ceiling is forgotten.
const FORGET: f64 = 1.02;

/// The limiter's decisions, from the moments it is told.
#[derive(Debug, Clone)]
pub struct Pace {
    /// `--rate`; `None` means no limit (but `Retry-After` still holds).
    configured: Option<f64>,
    rate: f64,
    /// When the last request was let through.
    last: Option<Instant>,
    /// When the rate last grew (growth is by elapsed time).
    grown: Instant,
    /// When the rate was last cut, and how many requests sent since then
    /// went through.
    cut: Option<Instant>,
    passed: u32,
    /// The rate at the last cut: where the limit was met.
    ceiling: Option<f64>,
    /// The ceiling before the last cut, and the 429s answered in a row to
    /// requests sent after it (before any went through). `BURST` or more,
    /// then `SOON` requests through without a 429, are a burst of 429s
    /// (many refused one after another, then none), which says nothing of
    /// where the limit is. A limit met by sending a little too fast refuses
    /// a request here and there; one met far too fast keeps refusing, and
    /// a 429 soon after the cut measures it.
    ceiling_before: Option<f64>,
    refused_after_cut: u32,
    /// No request leaves before this (a `Retry-After`).
    not_before: Option<Instant>,
    /// Requests left of the head start; none once a 429 came.
    head_start: u32,
}

impl Pace {
    /// `per_second` <= 0 or not finite means no limit.
    pub fn new(per_second: f64, now: Instant) -> Pace {
        let configured = (per_second.is_finite() && per_second > 0.0).then_some(per_second);
        Pace {
            configured,
            rate: configured.unwrap_or(f64::INFINITY),
            last: None,
            grown: now,
            cut: None,
            passed: 0,
            ceiling: None,
            ceiling_before: None,
            refused_after_cut: 0,
            not_before: None,
            head_start: configured.map_or(0, |r| ((r * HEAD_START) as u32).min(HEAD_START_MAX)),
        }
    }

    /// Lets one request through at `now`, or says when to ask again.
    pub fn take(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(nb) = self.not_before.filter(|nb| *nb > now) {
            return Err(nb);
        }
        self.grow(now);
        if self.head_start > 0 {
            self.head_start -= 1;
            self.last = Some(now);
            return Ok(());
        }
        if let Some(last) = self.last
            && self.configured.is_some()
        {
            let next = last + Duration::from_secs_f64(1.0 / self.rate);
            if next > now {
                return Err(next);
            }
        }
        self.last = Some(now);
        Ok(())
    }

    /// A request let through at `sent` was answered 429 at `now`.
    pub fn throttled(&mut self, sent: Instant, now: Instant, retry_after: Option<Duration>) {
        if let Some(ra) = retry_after {
            self.not_before = Some(self.not_before.map_or(now + ra, |nb| nb.max(now + ra)));
        }
        if self.configured.is_none() {
            return;
        }
        self.head_start = 0;
        // Once per overload (see the module's comment).
        if let Some(at) = self.cut
            && (sent < at || self.passed == 0)
        {
            if sent >= at {
                self.refused_after_cut += 1;
            }
            return;
        }
        self.grow(now);
        // A 429 soon after a cut, `passed` requests after it: the server
        // takes about that share of the new pace, which was still too fast.
        // Cut to just below that: a hidden limit is found in two steps, not
        // five. After a long quiet spell (the probe reaching the limit
        // again) that share says little, and `CUT` applies.
        let soon = self.cut.is_some() && self.passed < SOON;
        let taken = if soon {
            // (No deeper than a quarter: two bursts close together say
            // nothing of the pace.)
            self.rate * (self.passed as f64 / (self.passed as f64 + 1.0)).max(0.75)
        } else {
            self.rate
        };
        self.ceiling_before = self.ceiling;
        self.ceiling = Some(taken);
        self.refused_after_cut = 0;
        self.rate = (self.rate * CUT).min(taken * NEAR).max(FLOOR);
        self.cut = Some(now);
        self.passed = 0;
    }

    /// A request let through at `sent` went through (any answer but 429).
    pub fn succeeded(&mut self, sent: Instant, now: Instant) {
        if self.cut.is_none_or(|at| sent >= at) {
            self.passed = self.passed.saturating_add(1);
            if self.passed == SOON && self.refused_after_cut >= BURST && self.ceiling.is_some() {
                // The last cut was a burst: the pace after it is taken
                // cleanly. The ceiling goes back to where it was (none, if
                // none was known), or stays at the rate of the cut if that
                // was higher.
                self.ceiling = self.ceiling_before.map(|b| self.ceiling.map_or(b, |c| c.max(b)));
            }
        }
        self.grow(now);
    }

    /// The rate in force, in requests per second (infinite: no limit).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Additive increase for the time since the last growth, phase by
    /// phase: the fast climb to near the ceiling, the probe past it, the
    /// fast climb again once it is forgotten.
    fn grow(&mut self, now: Instant) {
        let mut dt = now.saturating_duration_since(self.grown).as_secs_f64();
        self.grown = self.grown.max(now);
        let Some(max) = self.configured else { return };
        while dt > 0.0 && self.rate < max {
            let (slope, until) = match self.ceiling {
                Some(c) if self.rate >= c * NEAR => (max * PROBE, c * FORGET),
                Some(c) => (max * CLIMB, c * NEAR),
                None => (max * CLIMB, max),
            };
            let until = until.min(max);
            let needed = (until - self.rate) / slope;
            if needed > dt {
                self.rate += slope * dt;
                return;
            }
            self.rate = until;
            dt -= needed;
            if self.ceiling.is_some_and(|c| self.rate >= c * FORGET) {
                self.ceiling = None;
            }
        }
    }
}

/// `Pace` shared by the workers of a run, on the real clock.
pub struct Limiter {
    pace: Mutex<Pace>,
}

impl Limiter {
    /// `per_second` <= 0 or not finite means no limit.
    pub fn new(per_second: f64) -> Limiter {
        Limiter { pace: Mutex::new(Pace::new(per_second, Instant::now())) }
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until this thread may send one request; returns the moment
    /// it was let through, which `throttled` needs.
    pub fn acquire(&self) -> Instant {
        loop {
            let now = Instant::now();
            let wait = self.pace().take(now);
            match wait {
                Ok(()) => return now,
                Err(until) => std::thread::sleep(until.saturating_duration_since(now)),
            }
        }
    }

    /// The server answered 429 to a request let through at `sent`.
    pub fn throttled(&self, sent: Instant, retry_after: Option<Duration>) {
        self.pace().throttled(sent, Instant::now(), retry_after);
    }

    /// A request let through at `sent` went through.
    pub fn succeeded(&self, sent: Instant) {
        self.pace().succeeded(sent, Instant::now());
    }

    /// The rate in force now, in requests per second.
    pub fn rate(&self) -> f64 {
        self.pace().rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Takes requests as fast as `pace` allows from `t` for `d`; returns
    /// how many went and the moment after.
    fn send_for(pace: &mut Pace, mut t: Instant, d: Duration) -> (u32, Instant) {
        let end = t + d;
        let mut n = 0;
        while t < end {
            match pace.take(t) {
                Ok(()) => n += 1,
                Err(next) => t = next,
            }
        }
        (n, t)
    }

    #[test]
    fn evenly_spaced_after_a_head_start_of_a_quarter_second() {
        let t0 = Instant::now();
        let mut p = Pace::new(20.0, t0);
        // The head start: 5 (20 x 0.25) at once, the 6th one interval later.
        for _ in 0..5 {
            assert_eq!(p.take(t0), Ok(()));
        }
        assert_eq!(p.take(t0), Err(t0 + ms(50)));
        assert_eq!(p.take(t0 + ms(50)), Ok(()));
        assert_eq!(p.take(t0 + ms(50)), Err(t0 + ms(100)));
        // After it, one interval apart.
        let mut p = Pace::new(50.0, t0);
        p.head_start = 0;
        assert_eq!(p.take(t0), Ok(()));
        assert_eq!(p.take(t0), Err(t0 + ms(20)));
        assert_eq!(p.take(t0 + ms(19)), Err(t0 + ms(20)));
        assert_eq!(p.take(t0 + ms(20)), Ok(()));
        // An idle spell saves nothing up: no burst after it.
        assert_eq!(p.take(t0 + ms(1000)), Ok(()));
        assert_eq!(p.take(t0 + ms(1001)), Err(t0 + ms(1020)));
        let (n, _) = send_for(&mut Pace::new(50.0, t0), t0, Duration::from_secs(10));
        // 10 at once (the most), then one every 20 ms from 20 ms on.
        assert_eq!(n, 10 + 499);
        // At most 10, whatever the rate.
        let mut p = Pace::new(500.0, t0);
        for _ in 0..10 {
            assert_eq!(p.take(t0), Ok(()));
        }
        assert_eq!(p.take(t0), Err(t0 + ms(2)));
        // A 429 ends the head start.
        let mut p = Pace::new(50.0, t0);
        assert_eq!(p.take(t0), Ok(()));
        p.throttled(t0, t0 + ms(1), None);
        assert!(p.take(t0 + ms(1)).is_err());
    }

    #[test]
    fn one_cut_per_overload_however_many_429s_report_it() {
        let t0 = Instant::now();
        let mut p = Pace::new(40.0, t0);
        let sent: Vec<Instant> = (0..6).map(|i| t0 + ms(25 * i)).collect();
        let now = t0 + ms(150);
        // Six requests in flight meet one overload; a success among them.
        for (i, at) in sent.iter().enumerate() {
            if i == 3 {
                p.succeeded(*at, now);
            }
            p.throttled(*at, now, None);
        }
        assert_eq!(p.rate(), 34.0);
        // Four go through, then a request sent at the new pace is refused:
        // still too fast, and the server takes about four in five of them.
        for i in 1..5 {
            p.succeeded(now + ms(i), now + ms(i));
        }
        p.throttled(now + ms(5), now + ms(5), None);
        // (34 plus the climb of 5 ms) x 4/5 x 0.97
        assert!((26.4..26.5).contains(&p.rate()), "{}", p.rate());
    }

    #[test]
    fn a_burst_of_429s_says_nothing_of_the_limit() {
        let t0 = Instant::now();
        // A cut, then `after` more 429s to requests sent after it, one
        // after another with nothing let through, then `passed` through.
        let run = |after: u64, passed: u64| {
            let mut p = Pace::new(40.0, t0);
            for i in 0..=after {
                p.throttled(t0 + ms(i), t0 + ms(i), None);
            }
            assert_eq!(p.rate(), 34.0, "one cut");
            for i in 10..10 + passed {
                p.succeeded(t0 + ms(i), t0 + ms(i));
            }
            p
        };
        // A lone 429, or one more after it, leaves a ceiling: the climb
        // stops near it, and the probe goes on slowly.
        for after in [0, 1] {
            let mut p = run(after, 10);
            p.succeeded(t0, t0 + ms(300));
            assert!((p.rate() - 38.84).abs() < 0.01, "{after}: {}", p.rate());
        }
        // Two or more after it, then ten through: a burst, and the climb is
        // fast all the way (there was no ceiling before it).
        let mut p = run(4, 10);
        p.succeeded(t0, t0 + ms(300));
        assert_eq!(p.rate(), 40.0);
        // Refused on soon after the burst: a limit met far too fast, and
        // the pace is measured: (34 plus the climb of 15 ms) x 4/5 x 0.97.
        let mut p = run(4, 4);
        p.throttled(t0 + ms(15), t0 + ms(15), None);
        assert!((26.6..26.7).contains(&p.rate()), "{}", p.rate());
    }

    #[test]
    fn after_a_burst_the_rate_is_back_within_seconds() {
        let t0 = Instant::now();
        let mut p = Pace::new(40.0, t0);
        p.throttled(t0, t0, None);
        assert_eq!(p.rate(), 34.0);
        // The fast climb, 20/s a second: back to 97 % of where it was in
        // a quarter of a second.
        p.succeeded(t0, t0 + ms(240));
        assert!((p.rate() - 38.8).abs() < 0.01, "{}", p.rate());
        // Then the probe, 0.6/s a second, up to --rate, never above it.
        p.succeeded(t0, t0 + ms(1240));
        assert!((p.rate() - 39.4).abs() < 0.01, "{}", p.rate());
        p.succeeded(t0, t0 + ms(2300));
        assert_eq!(p.rate(), 40.0);
        p.succeeded(t0, t0 + Duration::from_secs(60));
        assert_eq!(p.rate(), 40.0);
    }

    #[test]
    fn a_long_fall_climbs_back_in_seconds_not_minutes() {
        let t0 = Instant::now();
        let mut p = Pace::new(50.0, t0);
        let mut t = t0;
        for _ in 0..100 {
            t += ms(10);
            p.succeeded(t, t);
            p.throttled(t, t, None);
        }
        assert!(p.rate() < 1.0, "{}", p.rate());
        // The ceiling (the floor, now) is soon passed and forgotten; then
        // a quarter of --rate per second.
        p.succeeded(t, t + Duration::from_secs(5));
        assert_eq!(p.rate(), 50.0);
    }

    #[test]
    fn retry_after_holds_everyone_until_one_instant() {
        let t0 = Instant::now();
        let mut p = Pace::new(0.0, t0);
        assert_eq!(p.take(t0), Ok(()));
        assert_eq!(p.take(t0), Ok(()), "no limit");
        // Three requests in flight meet a burst that says wait 2 s; the
        // answers arrive over 200 ms: one pause, to the last instant named.
        for i in 0..3 {
            p.throttled(t0 + ms(i), t0 + ms(10 + 100 * i), Some(Duration::from_secs(2)));
        }
        assert_eq!(p.take(t0 + ms(500)), Err(t0 + ms(2210)));
        assert_eq!(p.take(t0 + ms(2209)), Err(t0 + ms(2210)));
        assert_eq!(p.take(t0 + ms(2210)), Ok(()));
        // An answer asking for less does not shorten it.
        p.throttled(t0 + ms(3), t0 + ms(300), Some(Duration::from_secs(1)));
        assert_eq!(p.take(t0 + ms(2000)), Err(t0 + ms(2210)));
        // A request sent after the pause and refused again pauses again.
        p.throttled(t0 + ms(2210), t0 + ms(2220), Some(Duration::from_secs(1)));
        assert_eq!(p.take(t0 + ms(2300)), Err(t0 + ms(3220)));
    }

    /// Sends for `secs` of simulated time as fast as the pace allows, to a
    /// server that answers at once, accepting a request sent at `t` when
    /// `accepts(t)`. Returns (sent, refused).
    fn simulate(rate: f64, secs: u64, mut accepts: impl FnMut(Instant) -> bool) -> (u32, u32) {
        let t0 = Instant::now();
        let mut p = Pace::new(rate, t0);
        let (mut sent, mut refused, mut t) = (0, 0, t0);
        while t < t0 + Duration::from_secs(secs) {
            match p.take(t) {
                Err(next) => t = next,
                Ok(()) if accepts(t) => {
                    sent += 1;
                    p.succeeded(t, t + ms(1));
                }
                Ok(()) => {
                    (sent, refused) = (sent + 1, refused + 1);
                    p.throttled(t, t + ms(1), None);
                }
            }
        }
        (sent, refused)
    }

    /// The sandbox's hidden limit: `limit` a second, at most one second's
    /// worth at once (a GCRA, as governor's).
    fn hidden_limit(limit: f64) -> impl FnMut(Instant) -> bool {
        let interval = Duration::from_secs_f64(1.0 / limit);
        let mut tat: Option<Instant> = None;
        move |t| {
            let at = tat.map_or(t, |tat| tat.max(t));
            let ok = at + interval <= t + Duration::from_secs(1);
            if ok {
                tat = Some(at + interval);
            }
            ok
        }
    }

    /// The sandbox's throttle fault: `share` of the requests start a burst
    /// of `burst` 429s (this one and the next ones).
    fn bursts(share: f64, burst: u32, seed: u64) -> impl FnMut(Instant) -> bool {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut left = 0;
        move |_| {
            if left > 0 {
                left -= 1;
                return false;
            }
            if rng.f64() < share {
                left = burst - 1;
                return false;
            }
            true
        }
    }

    #[test]
    fn a_hidden_limit_at_70_percent_of_the_rate_is_used_without_many_429s() {
        // Simulated time: two minutes against a limit of 35/s, --rate 50.
        let (sent, refused) = simulate(50.0, 120, hidden_limit(35.0));
        let accepted = (sent - refused) as f64 / 120.0;
        eprintln!("{accepted:.1}/s accepted, {refused} of {sent} refused");
        assert!(accepted >= 0.9 * 35.0, "{accepted:.1}/s accepted");
        assert!(refused as f64 <= 0.02 * sent as f64, "{refused} of {sent} refused");
    }

    #[test]
    fn bursts_of_429_at_one_percent_cost_little_throughput() {
        for seed in 1..=5 {
            let (sent, refused) = simulate(40.0, 120, bursts(0.01, 5, seed));
            let ratio = (sent - refused) as f64 / (40.0 * 120.0);
            eprintln!("seed {seed}: {ratio:.3} of the burst-free throughput");
            assert!(ratio >= 0.85, "seed {seed}: {ratio:.3} of the burst-free throughput");
        }
    }
}
