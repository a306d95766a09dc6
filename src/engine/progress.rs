//! The progress bar on stderr: rows done, created/updated/failed so far,
//! rows per second and an ETA, both from the rate measured since the bar
//! first drew (indicatif's own estimate starts from the first rows' burst
//! and the wait before them, and said 22 minutes for a 2-minute run).
//!
//! Drawn only when stderr is a terminal (indicatif hides it otherwise) and
//! not `--quiet`; the final summary line is printed by the command either way.
//! It only shows what the sink tells it; it counts nothing itself.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

pub fn bar(rows: u64, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
    // (when, rows done) at the first draw: the rate is measured from there.
    let first: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();
    let first2 = first.clone();
    let style = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} rows  {msg}  {measured_rate}  ETA {measured_eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("measured_rate", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        let rate = measured(&first, s.pos(), Instant::now());
        let _ = w.write_str(&rate_text(rate));
    })
    .with_key("measured_eta", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        let rate = measured(&first2, s.pos(), Instant::now());
        let left = s.len().unwrap_or(0).saturating_sub(s.pos());
        let _ = w.write_str(&eta_text(left, rate));
    });
    bar.set_style(style);
    bar.set_message(counts_text(0, 0, 0));
    bar
}

/// The bar's message: the counts so far.
pub fn counts_text(created: u64, updated: u64, failed: u64) -> String {
    format!("{created} created, {updated} updated, {failed} failed")
}

/// Rows per second since the first sample (taken on the first call), once
/// at least a second has passed and a row was done since.
fn measured(first: &Mutex<Option<(Instant, u64)>>, pos: u64, now: Instant) -> Option<f64> {
    let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
    let (t0, p0) = *first.get_or_insert((now, pos));
    rate(pos.saturating_sub(p0), now.saturating_duration_since(t0))
}

/// `rows` done in `elapsed`, per second; `None` until there is something
/// to measure (under a second, or no row yet).
pub fn rate(rows: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (secs >= 1.0 && rows > 0).then(|| rows as f64 / secs)
}

pub fn rate_text(rate: Option<f64>) -> String {
    match rate {
        None => "… rows/s".to_string(),
        Some(r) if r < 10.0 => format!("{r:.1} rows/s"),
        Some(r) => format!("{r:.0} rows/s"),
    }
}

/// The time the `left` rows take at `rate`, as `1h 02m`, `3m 05s` or `42s`.
pub fn eta_text(left: u64, rate: Option<f64>) -> String {
    let Some(r) = rate.filter(|r| *r > 0.0) else { return "…".to_string() };
    let secs = (left as f64 / r).ceil() as u64;
    let mut s = String::new();
    let _ = match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s2) => write!(s, "{s2}s"),
        (0, m, s2) => write!(s, "{m}m {s2:02}s"),
        (h, m, _) => write!(s, "{h}h {m:02}m"),
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_waits_for_a_second_and_a_row_then_is_rows_over_time() {
        assert_eq!(rate(5, Duration::from_millis(900)), None);
        assert_eq!(rate(0, Duration::from_secs(3)), None);
        assert_eq!(rate(50, Duration::from_secs(2)), Some(25.0));
        assert_eq!(rate_text(None), "… rows/s");
        assert_eq!(rate_text(Some(25.0)), "25 rows/s");
        assert_eq!(rate_text(Some(2.25)), "2.2 rows/s");
    }

    #[test]
    fn the_eta_is_the_rows_left_at_the_measured_rate() {
        // 2,950 rows left at 25 rows/s: 118 s, not the 22 minutes of a
        // rate taken from the first burst.
        assert_eq!(eta_text(2950, Some(25.0)), "1m 58s");
        assert_eq!(eta_text(10, Some(25.0)), "1s");
        assert_eq!(eta_text(0, Some(25.0)), "0s");
        assert_eq!(eta_text(90_000, Some(20.0)), "1h 15m");
        assert_eq!(eta_text(10, None), "…");
    }

    #[test]
    fn the_first_sample_is_where_the_rate_is_measured_from() {
        let first = Mutex::new(None);
        let t0 = Instant::now();
        assert_eq!(measured(&first, 100, t0), None, "100 rows already done at the start");
        assert_eq!(measured(&first, 150, t0 + Duration::from_secs(2)), Some(25.0));
    }

    #[test]
    fn the_message_counts_created_updated_failed() {
        assert_eq!(counts_text(3, 1, 0), "3 created, 1 updated, 0 failed");
    }
}
