//! Progress and cancellation: the one interface through which [`crate::train`], [`crate::score`] and
//! [`crate::run`] report what they do and learn that they should stop (the library prints nothing).

use asd_data::Split;
use asd_train::TrainEvent;

/// Progress of [`crate::train`], [`crate::score`] and [`crate::run`].
#[derive(Clone, Debug)]
pub enum Event {
    /// Clips decoded and featurised (called from worker threads); nothing when the cache is reused.
    Features {
        /// Which clips.
        split: Split,
        /// Clips done.
        done: usize,
        /// Clips in all.
        total: usize,
    },
    /// The trainer's progress.
    Train(TrainEvent),
    /// Examples embedded by the trained network.
    Embed {
        /// Which clips.
        split: Split,
        /// Examples done.
        done: usize,
        /// Examples in all.
        total: usize,
    },
    /// The scorers are being fitted and evaluated.
    Scoring,
}

/// `", train accuracy 0.420"`, or nothing for a network without class predictions (an autoencoder: NaN).
pub fn accuracy_text(accuracy: f64) -> String {
    if accuracy.is_nan() {
        String::new()
    } else {
        format!(", train accuracy {accuracy:.3}")
    }
}

impl Event {
    /// One line summarising a finished training epoch, for progress output; `None` for other events.
    pub fn epoch_summary(&self) -> Option<String> {
        match self {
            Event::Train(TrainEvent::EpochEnd(log)) => Some(format!(
                "epoch {:>4}: loss {:.4}{}{}, lr {:.3e}, {:.1} s",
                log.epoch + 1,
                log.loss,
                accuracy_text(log.accuracy),
                log.val_loss
                    .map_or_else(String::new, |v| format!(", validation loss {v:.4}")),
                log.lr,
                log.seconds
            )),
            _ => None,
        }
    }
}

/// Watches a run: receives its [`Event`]s (from worker threads too) and may ask it to stop.
///
/// Any `Fn(Event) + Sync` closure is an observer that never cancels; `()` ignores everything. When
/// [`cancelled`](Self::cancelled) turns `true` during training, the trainer finishes its current step, writes a
/// checkpoint and the call returns [`asd_train::Error::Cancelled`] (inside [`crate::Error::Train`]); the same call
/// with `resume` continues exactly where it stopped.
pub trait Observer: Sync {
    /// One event of the run.
    fn event(&self, event: Event);

    /// Polled after every training step. Default `false`.
    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: Fn(Event) + Sync> Observer for F {
    fn event(&self, event: Event) {
        self(event);
    }
}

impl Observer for () {
    fn event(&self, _: Event) {}
}

/// The observer argument of [`crate::train`], [`crate::score`] and [`crate::run`].
pub type Progress<'a> = &'a dyn Observer;

/// The trainer's view of a facade observer.
pub(crate) struct TrainObserver<'a>(pub(crate) Progress<'a>);

impl asd_train::Observer for TrainObserver<'_> {
    fn event(&self, event: TrainEvent) {
        self.0.event(Event::Train(event));
    }

    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}
