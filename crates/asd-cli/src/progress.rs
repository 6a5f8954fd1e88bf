//! Progress bars on a terminal, one summary line otherwise (the only place that draws progress).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

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
    pub fn set_message(&self, message: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_message(message);
    }

    /// Prints a line above the bar (or alone when the bar is hidden).
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
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

/// Set by the first Ctrl-C ([`catch_interrupt`]): the pipeline's observer then asks training to stop.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler of `asd train` / `asd run`: the first Ctrl-C lets the current training step finish
/// and a checkpoint be written before the command exits; a second one exits at once (code 130).
pub fn catch_interrupt() {
    let handler = || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the current step and writing a checkpoint (Ctrl-C again to quit now)");
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        tracing::warn!("Ctrl-C will stop at once, without a checkpoint: {e}");
    }
}

/// The progress of the pipeline (`asd train`, `asd score`, `asd run`): one bar that follows the stages, and one
/// line per training epoch.
pub struct PipelineProgress {
    bar: Progress,
}

impl PipelineProgress {
    /// A bar labelled `what` in its summary line.
    pub fn new(what: &'static str) -> Self {
        Self {
            bar: Progress::new(what),
        }
    }

    /// Shows one event of the pipeline.
    pub fn update(&self, event: asd::Event) {
        use asd::Event;
        use asd::trainer::TrainEvent;
        if let Some(line) = event.epoch_summary() {
            self.bar.println(&line);
            return;
        }
        let split = |s: asd::data::Split| s.as_str();
        match event {
            Event::Features { split: s, done, total } => {
                self.bar.set_message(format!("{} features", split(s)));
                self.bar.update(done as u64, total as u64);
            }
            Event::Train(TrainEvent::Resumed { epochs_done }) => {
                self.bar.println(&format!("train: resuming after epoch {epochs_done}"));
            }
            Event::Train(TrainEvent::EpochStart {
                epoch, epochs, steps, ..
            }) => {
                self.bar.set_message(format!("epoch {}/{epochs}", epoch + 1));
                self.bar.update(0, steps as u64);
            }
            Event::Train(TrainEvent::Step { step, steps, .. }) => self.bar.update(step as u64, steps as u64),
            Event::Train(_) => {}
            Event::Embed { split: s, done, total } => {
                self.bar.set_message(format!("embed {}", split(s)));
                self.bar.update(done as u64, total as u64);
            }
            Event::Scoring => self.bar.set_message("scoring"),
        }
    }

    /// Clears the bar and prints one summary line.
    pub fn finish(self, summary: &str) {
        self.bar.finish(summary);
    }
}

impl asd::Observer for PipelineProgress {
    fn event(&self, event: asd::Event) {
        self.update(event);
    }

    fn cancelled(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}
