//! Progress bars on a terminal, one summary line otherwise (the only place that draws progress).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar for `what`; hidden when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    what: &'static str,
    started: std::time::Instant,
}

impl Progress {
    /// A bar with no known length yet.
    pub fn new(what: &'static str) -> Self {
        let bar = ProgressBar::with_draw_target(
            None,
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        let style = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()) // ok: the template is a literal
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what);
        Self {
            bar,
            what,
            started: std::time::Instant::now(),
        }
    }

    /// The callback the library calls with (done, total).
    pub fn update(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Changes the label in front of the bar (e.g. the stage of a multi-stage job).
    pub fn set_message(&self, message: &'static str) {
        self.bar.set_message(message);
    }

    /// Clears the bar and prints one summary line to stderr.
    pub fn finish(self, summary: &str) {
        self.bar.finish_and_clear();
        eprintln!(
            "{}: {summary} in {:.1} s",
            self.what,
            self.started.elapsed().as_secs_f64()
        );
    }
}
