//! The progress bar on stderr: rows done, rate and ETA.
//!
//! Drawn only when stderr is a terminal (indicatif hides it otherwise) and
//! not `--quiet`; the final summary line is printed by the command either way.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn bar(rows: u64, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} rows  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
