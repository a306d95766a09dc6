//! When to try a request again, how long to wait first, and when to look a
//! record up instead of sending it again.
//!
//! Modelled on cargo's `util/network/retry.rs`: this module only decides; the
//! caller sleeps, sends and looks up, so every schedule is unit-tested without
//! a socket or a clock. It must not send, sleep or count anything itself.
//! Policy: capped exponential backoff with jitter ("full jitter" halved, see
//! AWS' "Exponential Backoff And Jitter"), and a server's `Retry-After`
//! (seconds or HTTP-date, RFC 9110 §10.2.3) wins over the computed delay,
//! capped so a hostile or broken header cannot park the run for hours.
//!
//! The rules, for the two loops that use `Retry`:
//! - a 429 says nothing was done: retried (without `Retry-After`, up to
//!   `THROTTLED_PER_RETRY` times as often as anything else), and the rate
//!   limiter is told first (`Step::SlowDown`), so every worker slows down;
//!   its `Retry-After` becomes the limiter's one pause for every worker, so
//!   the retry itself waits no longer (each worker sleeping its own
//!   `Retry-After` on top would pause the run once per refused request);
//! - a request that never left (refused connection, DNS) is retried, except
//!   on the run's first contact, where it ends the run at once: a wrong
//!   `--base-url` or a server that is down does not mend in 20 s of retries;
//! - a 5xx or a lost answer is retried only for a repeatable request; for
//!   any other it ends the send loop as `Step::Uncertain`;
//! - creating a record (`Retry::create`), an uncertain attempt is followed by
//!   a look-up by the record's key before anything is sent again; a 4xx
//!   after an uncertain attempt, or retries running out after one, look once
//!   more, since an earlier attempt may have committed late.

use std::time::{Duration, SystemTime};

use super::errors::{ErrorReader, GenericErrors};
use super::{ApiError, Response};

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

/// The first wait before retrying a 429 that named no time; it doubles
/// with each 429 the request meets, up to `THROTTLE_CAP`. Short, because the
/// limiter has already slowed every worker down: this wait only spreads the
/// retries. A burst of 429s that refuses the next few requests, whoever sends
/// them, is gone after a few hundred milliseconds of retrying; a longer first
/// wait (500 ms doubling, it was) left the last rows of a run idle for
/// seconds each time they met one.
const THROTTLE_BASE: Duration = Duration::from_millis(50);
/// Longest a request waits before its own retry after a 429 that named no
/// time (a longer throttle is met with more retries, see below).
const THROTTLE_CAP: Duration = Duration::from_secs(2);
/// 429s without `Retry-After` a request may meet for each retry
/// `--max-retries` allows: a 429 says nothing was done, so it is safe to ask
/// again for as long as about half a minute (24 retries by default: 50 ms
/// doubling to 2 s, then 2 s) before the row fails, while a 5xx, a lost
/// answer or a 429 naming its pause keeps the plain count.
const THROTTLED_PER_RETRY: u32 = 4;

impl Policy {
    /// How long to wait before retry number `retry` after a 429 without
    /// `Retry-After`: `THROTTLE_BASE` doubling, jittered like `delay`,
    /// capped at `THROTTLE_CAP` (and at the policy's cap).
    pub fn throttle_delay(&self, retry: u32) -> Duration {
        let exp =
            THROTTLE_BASE.saturating_mul(1u32 << retry.min(16)).min(self.cap).min(THROTTLE_CAP);
        let half = exp / 2;
        half + Duration::from_micros(fastrand::u64(0..=half.as_micros() as u64))
    }

    /// How many 429s one request may be retried after.
    pub fn max_throttled(&self) -> u32 {
        self.max_retries.saturating_mul(THROTTLED_PER_RETRY)
    }
}

/// Whether the message of a request that ran out of retries says its last
/// answer was a 429 (the target is there but busy, not down): messages
/// begin with the answer's status (see `Retry::answered`).
pub fn throttled_out(message: &str) -> bool {
    message.contains("HTTP 429:")
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

/// What the caller saw, fed to [`Retry::next`].
#[derive(Debug)]
pub enum Event {
    /// The server answered (any status).
    Answer(Response),
    /// The request never left this machine (connection refused, DNS).
    NotSent(String),
    /// As `NotSent`, on the run's first contact with the server, for a
    /// reason retrying cannot mend (a name that does not resolve, a refused
    /// connection): the message names the host and the cause.
    Unreachable(String),
    /// It may have reached the server without an answer (timeout, reset, a
    /// cut-off answer); for a create, a send that ended `Uncertain`.
    Lost(String),
    /// For a create: the send loop gave up for good with this error.
    Failed(ApiError),
    /// The caller told the rate limiter, as `Step::SlowDown` asked.
    SlowedDown,
    /// What the look-up `Step::LookUp` asked for found: the record's id.
    LookedUp(Result<Option<String>, ApiError>),
}

/// What the caller does next.
#[derive(Debug)]
pub enum Step {
    /// Send the request now and report the outcome.
    Send,
    /// Sleep this long, then send again (one retry).
    Wait(Duration),
    /// Tell the rate limiter the server throttled us, for this long if it
    /// said (already capped); then report `Event::SlowedDown`.
    SlowDown(Option<Duration>),
    /// Look the record up by its key and report `Event::LookedUp`.
    LookUp,
    /// The final answer, whatever its status.
    Return(Response),
    /// The record exists after all: found by a look-up.
    Recovered(String),
    /// A request that is not repeatable may or may not have been applied.
    Uncertain(String),
    /// Stop with this error.
    GiveUp(ApiError),
}

/// Which loop a `Retry` decides for.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// One request's attempts (`Transport::send_with`).
    Send { repeatable: bool },
    /// A create's sends, each a whole send loop (`Api::create`).
    Create,
}

/// What a step the caller is carrying out was for, to decide when its
/// result comes back.
#[derive(Debug)]
enum Pending {
    Nothing,
    /// Throttled: retry with this message and `Retry-After` once the
    /// limiter knows.
    Throttled(String, Option<Duration>),
    /// The look-up before the first send of a create that an earlier
    /// request may already have made.
    FirstLookUp,
    /// The look-up after an attempt that may have gone through.
    AfterLost(String),
    /// The look-up after a refusal that follows an uncertain attempt.
    AfterRefusal(Response),
    /// The look-up after retries ran out following an uncertain attempt.
    AfterRunOut(ApiError),
}

/// The retry state of one request (or one create): the outcome of each
/// attempt goes in, what to do next comes out.
pub struct Retry<'a> {
    policy: &'a Policy,
    errors: &'a dyn ErrorReader,
    mode: Mode,
    /// An attempt may already have been applied.
    uncertain: bool,
    /// Retries so far after 429s without `Retry-After` (their own,
    /// larger allowance: `Policy::max_throttled`).
    throttled: u32,
    /// Retries so far after anything else.
    retries: u32,
    pending: Pending,
}

impl<'a> Retry<'a> {
    /// The attempts of one request; `errors` words the 429 and 5xx answers
    /// that end up in a message.
    pub fn send(policy: &'a Policy, repeatable: bool, errors: &'a dyn ErrorReader) -> Retry<'a> {
        Retry::new(policy, errors, Mode::Send { repeatable }, Pending::Nothing)
    }

    /// Creating a record exactly once: each send is a whole `send` loop of
    /// a request that is not repeatable.
    pub fn create(policy: &'a Policy) -> Retry<'a> {
        Retry::new(policy, &GenericErrors, Mode::Create, Pending::Nothing)
    }

    /// Creating a record that an earlier request may already have created:
    /// looks it up before the first send.
    pub fn create_after_uncertain(policy: &'a Policy) -> Retry<'a> {
        let mut r = Retry::new(policy, &GenericErrors, Mode::Create, Pending::FirstLookUp);
        r.uncertain = true;
        r
    }

    fn new(
        policy: &'a Policy,
        errors: &'a dyn ErrorReader,
        mode: Mode,
        pending: Pending,
    ) -> Retry<'a> {
        Retry { policy, errors, mode, uncertain: false, throttled: 0, retries: 0, pending }
    }

    /// The first step.
    pub fn first(&self) -> Step {
        match self.pending {
            Pending::FirstLookUp => Step::LookUp,
            _ => Step::Send,
        }
    }

    /// The step after `event`.
    pub fn next(&mut self, event: Event) -> Step {
        let pending = std::mem::replace(&mut self.pending, Pending::Nothing);
        match (event, self.mode) {
            (Event::SlowedDown, _) => match pending {
                // The limiter holds every worker until the instant asked.
                // A named pause can be long (up to `retry_after_cap`): the
                // plain allowance, so a row never waits 24 of them.
                Pending::Throttled(what, Some(_)) => self.again_in(what, Duration::ZERO),
                Pending::Throttled(what, None) => {
                    let delay = self.policy.throttle_delay(self.throttled);
                    self.again_throttled(what, delay)
                }
                other => panic!("SlowedDown without a SlowDown (pending {other:?})"),
            },
            (Event::LookedUp(found), _) => self.looked_up(found, pending),
            (Event::Answer(r), Mode::Send { repeatable }) => self.answered(r, repeatable),
            (Event::Answer(r), Mode::Create) => self.create_answered(r),
            (Event::NotSent(m), _) => self.again(m, None),
            (Event::Unreachable(message), _) => Step::GiveUp(ApiError::Abort {
                message,
                hint: Some(
                    "nothing was sent; check --base-url and that the server is up, then run \
                     the same command again"
                        .into(),
                ),
            }),
            (Event::Lost(m), Mode::Send { repeatable: true }) => self.again(m, None),
            (Event::Lost(m), Mode::Send { repeatable: false }) => Step::Uncertain(m),
            (Event::Lost(m), Mode::Create) => {
                self.uncertain = true;
                self.look_up(Pending::AfterLost(m))
            }
            // Retries ran out (429s, 5xx) after an attempt that may have
            // gone through: the record may exist, so look before saying the
            // row failed with nothing created.
            (Event::Failed(e @ ApiError::Unavailable(_)), Mode::Create) if self.uncertain => {
                self.look_up(Pending::AfterRunOut(e))
            }
            (Event::Failed(e), _) => Step::GiveUp(e),
        }
    }

    /// One answer in the send loop.
    fn answered(&mut self, r: Response, repeatable: bool) -> Step {
        let errors = self.errors;
        let what = || format!("HTTP {}: {}", r.status, errors.message(&r));
        if r.status == 429 {
            // Refused before processing: always safe to send again.
            let cap = self.policy.retry_after_cap;
            self.pending = Pending::Throttled(what(), r.retry_after);
            Step::SlowDown(r.retry_after.map(|ra| ra.min(cap)))
        } else if is_transient(r.status) && repeatable {
            self.again(what(), r.retry_after)
        } else if is_transient(r.status) {
            Step::Uncertain(what())
        } else {
            Step::Return(r)
        }
    }

    /// A create's final answer to one send.
    fn create_answered(&mut self, r: Response) -> Step {
        // Refused after an earlier attempt may have gone through: a slow
        // first attempt can commit after the look-up found nothing, and then
        // the retry clashes with it ("already taken"). Look once more before
        // calling the row failed.
        if self.uncertain && (400..500).contains(&r.status) {
            return self.look_up(Pending::AfterRefusal(r));
        }
        Step::Return(r)
    }

    fn look_up(&mut self, why: Pending) -> Step {
        self.pending = why;
        Step::LookUp
    }

    fn looked_up(&mut self, found: Result<Option<String>, ApiError>, why: Pending) -> Step {
        match (found, why) {
            (Ok(Some(id)), _) => Step::Recovered(id),
            // A look-up that fails too leaves the original error, which is
            // the truer one.
            (_, Pending::AfterRunOut(e)) => Step::GiveUp(e),
            (Err(e), _) => Step::GiveUp(e),
            (Ok(None), Pending::FirstLookUp) => Step::Send,
            (Ok(None), Pending::AfterLost(m)) => self.again(m, None),
            (Ok(None), Pending::AfterRefusal(r)) => Step::Return(r),
            (Ok(None), other) => panic!("LookedUp without a LookUp (pending {other:?})"),
        }
    }

    /// Another try after `what` went wrong, unless the retries ran out.
    fn again(&mut self, what: String, retry_after: Option<Duration>) -> Step {
        let delay = self.policy.delay(self.retries, retry_after);
        self.again_in(what, delay)
    }

    /// Another try after a 429 and `delay`, unless its retries ran out.
    fn again_throttled(&mut self, what: String, delay: Duration) -> Step {
        if self.throttled >= self.policy.max_throttled() {
            return self.give_up(what);
        }
        self.throttled += 1;
        Step::Wait(delay)
    }

    /// Another try after `delay`, unless the retries ran out.
    fn again_in(&mut self, what: String, delay: Duration) -> Step {
        if self.retries >= self.policy.max_retries {
            return self.give_up(what);
        }
        self.retries += 1;
        Step::Wait(delay)
    }

    fn give_up(&self, what: String) -> Step {
        let all = self.retries + self.throttled;
        Step::GiveUp(ApiError::Unavailable(format!("{what} (gave up after {all} retries)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_retry_waits_50_ms_doubling_to_at_most_two_seconds() {
        let p = Policy::default();
        for retry in 0..10 {
            let d = p.throttle_delay(retry);
            let want = (Duration::from_millis(50) * (1 << retry)).min(THROTTLE_CAP);
            assert!(d >= want / 2 && d <= want, "retry {retry}: {d:?}");
        }
    }

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

/// The retry rules as a table: the outcomes the caller reports, in order,
/// and the steps `Retry` answers with. No socket, no sleeping.
#[cfg(test)]
mod steps {
    use super::*;
    use serde_json::json;

    /// Backoff well under a second (shown as "wait 0s"), Retry-After capped
    /// at 5 s, two retries.
    fn policy() -> Policy {
        Policy {
            max_retries: 2,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(400),
            retry_after_cap: Duration::from_secs(5),
        }
    }

    fn answer(status: u16) -> Event {
        Event::Answer(Response {
            status,
            body: json!({"message": "m"}),
            retry_after: None,
            server: None,
        })
    }

    fn throttled(secs: u64) -> Event {
        let Event::Answer(mut r) = answer(429) else { unreachable!() };
        r.retry_after = Some(Duration::from_secs(secs));
        Event::Answer(r)
    }

    fn lost() -> Event {
        Event::Lost("timed out".into())
    }

    fn found(id: Option<&str>) -> Event {
        Event::LookedUp(Ok(id.map(str::to_string)))
    }

    fn show(step: &Step) -> String {
        match step {
            Step::Send => "send".into(),
            Step::Wait(d) => format!("wait {}s", d.as_secs()),
            Step::SlowDown(None) => "slow down".into(),
            Step::SlowDown(Some(d)) => format!("slow down {}s", d.as_secs()),
            Step::LookUp => "look up".into(),
            Step::Return(r) => format!("return {}", r.status),
            Step::Recovered(id) => format!("recovered {id}"),
            Step::Uncertain(m) => format!("uncertain: {m}"),
            Step::GiveUp(e) => format!("give up: {e}"),
        }
    }

    /// Plays the caller: reports each outcome when a step asks for one
    /// (a send or a look-up), acknowledges slow-downs, sends after waits.
    fn play(mut retry: Retry, outcomes: Vec<Event>) -> String {
        let mut outcomes = outcomes.into_iter();
        let mut shown = Vec::new();
        let mut step = retry.first();
        loop {
            shown.push(show(&step));
            step = match step {
                Step::Send | Step::LookUp => retry.next(outcomes.next().expect("an outcome")),
                Step::SlowDown(_) => retry.next(Event::SlowedDown),
                Step::Wait(_) => Step::Send,
                _ => break,
            };
        }
        assert!(outcomes.next().is_none(), "outcomes left over after {shown:?}");
        shown.join(", ")
    }

    #[test]
    fn send_loop() {
        let p = policy();
        let send = |repeatable| Retry::send(&p, repeatable, &GenericErrors);
        let cases: Vec<(&str, Retry, Vec<Event>, &str)> = vec![
            ("an answer is returned", send(false), vec![answer(201)], "send, return 201"),
            ("so is a refusal", send(false), vec![answer(400)], "send, return 400"),
            (
                "429 is retried after telling the limiter, whose pause honours Retry-After",
                send(false),
                vec![throttled(3), answer(201)],
                "send, slow down 3s, wait 0s, send, return 201",
            ),
            (
                "Retry-After is capped",
                send(true),
                vec![throttled(99), answer(200)],
                "send, slow down 5s, wait 0s, send, return 200",
            ),
            (
                "Retry-After on a 503 is the wait itself (the limiter is not told)",
                send(true),
                vec![
                    {
                        let Event::Answer(mut r) = answer(503) else { unreachable!() };
                        r.retry_after = Some(Duration::from_secs(3));
                        Event::Answer(r)
                    },
                    answer(200),
                ],
                "send, wait 3s, send, return 200",
            ),
            (
                "429s until their retries (4 per retry allowed) run out, each told to the limiter",
                send(true),
                (0..9).map(|_| answer(429)).collect(),
                "send, slow down, wait 0s, send, slow down, wait 0s, send, slow down, wait 0s, \
                 send, slow down, wait 0s, send, slow down, wait 0s, send, slow down, wait 0s, \
                 send, slow down, wait 0s, send, slow down, wait 0s, send, slow down, \
                 give up: target unavailable: HTTP 429: m (gave up after 8 retries)",
            ),
            (
                "429s and 5xx are counted apart",
                send(true),
                vec![answer(503), answer(429), answer(503), answer(429), answer(503)],
                "send, wait 0s, send, slow down, wait 0s, send, wait 0s, send, slow down, \
                 wait 0s, send, give up: target unavailable: HTTP 503: m (gave up after 4 retries)",
            ),
            (
                "429s naming a pause have the plain allowance: each may be long",
                send(true),
                vec![throttled(3), throttled(3), throttled(3)],
                "send, slow down 3s, wait 0s, send, slow down 3s, wait 0s, send, slow down 3s, \
                 give up: target unavailable: HTTP 429: m (gave up after 2 retries)",
            ),
            (
                "5xx on a repeatable request is retried",
                send(true),
                vec![answer(503), answer(200)],
                "send, wait 0s, send, return 200",
            ),
            (
                "5xx on a create is uncertain",
                send(false),
                vec![answer(502)],
                "send, uncertain: HTTP 502: m",
            ),
            (
                "a lost answer on a repeatable request is retried",
                send(true),
                vec![lost(), answer(200)],
                "send, wait 0s, send, return 200",
            ),
            (
                "a lost answer on a create is uncertain",
                send(false),
                vec![lost()],
                "send, uncertain: timed out",
            ),
            (
                "a request that never left is retried, even a create",
                send(false),
                vec![Event::NotSent("refused".into()), answer(201)],
                "send, wait 0s, send, return 201",
            ),
            (
                "an unreachable host on first contact ends at once, with no retry",
                send(false),
                vec![Event::Unreachable("cannot reach h:1: connection refused".into())],
                "send, give up: cannot reach h:1: connection refused",
            ),
            (
                "a 500 that is not transient-looking is an answer",
                send(true),
                vec![answer(501)],
                "send, return 501",
            ),
        ];
        check(cases);
    }

    #[test]
    fn create_loop() {
        let p = policy();
        let create = || Retry::create(&p);
        let ran_out =
            || Event::Failed(ApiError::Unavailable("HTTP 429: m (gave up after 2 retries)".into()));
        let cases: Vec<(&str, Retry, Vec<Event>, &str)> = vec![
            ("created", create(), vec![answer(201)], "send, return 201"),
            (
                "a refusal with nothing uncertain is final",
                create(),
                vec![answer(409)],
                "send, return 409",
            ),
            (
                "a lost answer is looked up before sending again",
                create(),
                vec![lost(), found(None), answer(201)],
                "send, look up, wait 0s, send, return 201",
            ),
            (
                "and the look-up may find it",
                create(),
                vec![lost(), found(Some("7"))],
                "send, look up, recovered 7",
            ),
            (
                "a 4xx after an uncertain attempt looks once more",
                create(),
                vec![lost(), found(None), answer(409), found(Some("7"))],
                "send, look up, wait 0s, send, look up, recovered 7",
            ),
            (
                "and is returned when that finds nothing",
                create(),
                vec![lost(), found(None), answer(409), found(None)],
                "send, look up, wait 0s, send, look up, return 409",
            ),
            (
                "retries running out after an uncertain attempt look once more",
                create(),
                vec![lost(), found(None), ran_out(), found(Some("7"))],
                "send, look up, wait 0s, send, look up, recovered 7",
            ),
            (
                "keeping the original error when that look-up fails",
                create(),
                vec![
                    lost(),
                    found(None),
                    ran_out(),
                    Event::LookedUp(Err(ApiError::Unavailable("down".into()))),
                ],
                "send, look up, wait 0s, send, look up, \
                 give up: target unavailable: HTTP 429: m (gave up after 2 retries)",
            ),
            (
                "retries running out with nothing uncertain: no look-up",
                create(),
                vec![ran_out()],
                "send, give up: target unavailable: HTTP 429: m (gave up after 2 retries)",
            ),
            (
                "a failing look-up after a lost answer ends the create",
                create(),
                vec![lost(), Event::LookedUp(Err(ApiError::Unavailable("down".into())))],
                "send, look up, give up: target unavailable: down",
            ),
            (
                "lost answers until the retries run out",
                create(),
                vec![lost(), found(None), lost(), found(None), lost(), found(None)],
                "send, look up, wait 0s, send, look up, wait 0s, send, look up, \
                 give up: target unavailable: timed out (gave up after 2 retries)",
            ),
            (
                "after an earlier uncertain request: look up first",
                Retry::create_after_uncertain(&p),
                vec![found(Some("7"))],
                "look up, recovered 7",
            ),
            (
                "then send, taking a refusal as possibly caused by that request",
                Retry::create_after_uncertain(&p),
                vec![found(None), answer(409), found(Some("7"))],
                "look up, send, look up, recovered 7",
            ),
        ];
        check(cases);
    }

    fn check(cases: Vec<(&str, Retry, Vec<Event>, &str)>) {
        for (name, retry, outcomes, expected) in cases {
            assert_eq!(play(retry, outcomes), expected, "{name}");
        }
    }
}
