//! A progress bar on stderr for scans that take more than a second, when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Progress;

/// Shown only after this long, so quick scans print nothing.
const DELAY: Duration = Duration::from_secs(1);

/// The bar, created lazily once the scan has run for [`DELAY`].
pub(crate) struct Bar {
    enabled: bool,
    total: u64,
    start: Instant,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A bar for a scan of `total` input bytes (0: unknown, a spinner).
    pub fn new(mode: Progress, total: u64) -> Bar {
        Bar {
            enabled: mode == Progress::Auto && std::io::stderr().is_terminal(),
            total,
            start: Instant::now(),
            bar: Mutex::new(None),
        }
    }

    /// Updates the bar with the bytes read so far.
    pub fn tick(&self, done: u64) {
        if !self.enabled || self.start.elapsed() < DELAY {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let bar = slot.get_or_insert_with(|| {
            let b = if self.total > 0 {
                ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr())
            } else {
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            };
            // Short enough never to wrap on an 80-column terminal (a wrapped bar is cleared
            // wrongly).
            let style = if self.total > 0 {
                "scan {bar:20} {bytes}/{total_bytes} eta {eta}"
            } else {
                "scan {spinner} {bytes}"
            };
            if let Ok(s) = ProgressStyle::with_template(style) {
                b.set_style(s);
            }
            // Rates and the ETA count from the scan's start, not the bar's.
            b.with_elapsed(self.start.elapsed())
        });
        bar.set_position(done.min(self.total.max(done)));
    }

    /// Removes the bar, if shown.
    pub fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(b) = slot.take() {
                b.finish_and_clear();
            }
        }
    }
}
