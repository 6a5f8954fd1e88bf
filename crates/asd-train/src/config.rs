//! Training settings: optimiser, learning-rate schedule, epochs, batches, seed, EMA and validation split (TOML /
//! serde). The loss is not among them: it belongs to the system's [`TrainStep`](crate::TrainStep).

use crate::error::{Error, Result};
use asd_models::burn::optim::decay::WeightDecayConfig;
use asd_models::burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Initial learning rate of ASDNet / SpecMFN and STgram-MFN: Adam 1e-4 (asdnet_specmfn.md §5, stgram_mfn.md §6,
/// decisions.md §10).
pub const LEARNING_RATE: f64 = 1e-4;
/// Adam / AdamW (β₁, β₂): PyTorch's defaults (decisions.md §8b).
pub const ADAM_BETAS: [f64; 2] = [0.9, 0.999];
/// Adam / AdamW ε: PyTorch's default 1e-8 (decisions.md §8b; burn-optim's own default is 1e-5).
pub const ADAM_EPSILON: f64 = 1e-8;
/// Adam's weight decay: PyTorch's default 0 (decisions.md §8b).
pub const ADAM_WEIGHT_DECAY: f64 = 0.0;
/// AdamW's decoupled weight decay: PyTorch's default 0.01 (decisions.md §8b).
pub const ADAMW_WEIGHT_DECAY: f64 = 0.01;
/// Epochs of ASDNet / SpecMFN (asdnet_specmfn.md §5, decisions.md §10).
pub const EPOCHS: usize = 300;
/// Batch size of ASDNet / SpecMFN: 64 segments (asdnet_specmfn.md §5, decisions.md §10).
pub const BATCH_SIZE: usize = 64;
/// Cosine annealing period of ASDNet / SpecMFN in epochs: T_max = 300 (asdnet_specmfn.md §5).
pub const COSINE_T_MAX: usize = 300;
/// Cosine annealing floor η_min = 1e-5 = 0.1 × lr (asdnet_specmfn.md §5; Noisy-ArcMix and STgram-MFN HEAD code).
pub const COSINE_ETA_MIN: f64 = 1e-5;

/// The optimiser and its settings. TOML: `[optimizer]` with `kind = "adam"` or `kind = "adamw"`; a setting left
/// out takes PyTorch's default for that kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba) with L2 weight decay added to the gradient, as PyTorch's `torch.optim.Adam`.
    Adam {
        /// Initial learning rate (before the schedule). Default [`LEARNING_RATE`].
        #[serde(default = "default_lr")]
        lr: f64,
        /// (β₁, β₂). Default [`ADAM_BETAS`].
        #[serde(default = "default_betas")]
        betas: [f64; 2],
        /// ε added to √v̂. Default [`ADAM_EPSILON`].
        #[serde(default = "default_eps")]
        eps: f64,
        /// L2 penalty added to the gradient. Default [`ADAM_WEIGHT_DECAY`].
        #[serde(default = "default_adam_weight_decay")]
        weight_decay: f64,
    },
    /// AdamW (Loshchilov & Hutter): decoupled weight decay θ ← θ(1 − lr·wd), as PyTorch's `torch.optim.AdamW`.
    #[serde(rename = "adamw")]
    AdamW {
        /// Initial learning rate (before the schedule). Default [`LEARNING_RATE`].
        #[serde(default = "default_lr")]
        lr: f64,
        /// (β₁, β₂). Default [`ADAM_BETAS`].
        #[serde(default = "default_betas")]
        betas: [f64; 2],
        /// ε added to √v̂. Default [`ADAM_EPSILON`].
        #[serde(default = "default_eps")]
        eps: f64,
        /// Decoupled weight decay. Default [`ADAMW_WEIGHT_DECAY`].
        #[serde(default = "default_adamw_weight_decay")]
        weight_decay: f64,
    },
}

fn default_lr() -> f64 {
    LEARNING_RATE
}
fn default_betas() -> [f64; 2] {
    ADAM_BETAS
}
fn default_eps() -> f64 {
    ADAM_EPSILON
}
fn default_adam_weight_decay() -> f64 {
    ADAM_WEIGHT_DECAY
}
fn default_adamw_weight_decay() -> f64 {
    ADAMW_WEIGHT_DECAY
}

impl OptimizerConfig {
    /// Adam with PyTorch's defaults and learning rate `lr`.
    pub fn adam(lr: f64) -> Self {
        Self::Adam {
            lr,
            betas: ADAM_BETAS,
            eps: ADAM_EPSILON,
            weight_decay: ADAM_WEIGHT_DECAY,
        }
    }

    /// AdamW with PyTorch's defaults and learning rate `lr`.
    pub fn adamw(lr: f64) -> Self {
        Self::AdamW {
            lr,
            betas: ADAM_BETAS,
            eps: ADAM_EPSILON,
            weight_decay: ADAMW_WEIGHT_DECAY,
        }
    }

    /// The initial learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Self::Adam { lr, .. } | Self::AdamW { lr, .. } => *lr,
        }
    }

    fn check(&self) -> Result<()> {
        let (Self::Adam {
            lr,
            betas,
            eps,
            weight_decay,
        }
        | Self::AdamW {
            lr,
            betas,
            eps,
            weight_decay,
        }) = self;
        if !(lr.is_finite() && *lr > 0.0) {
            return Err(Error::config(
                "optimizer.lr",
                format!("must be finite and > 0, got {lr}"),
            ));
        }
        if !betas.iter().all(|b| (0.0..1.0).contains(b)) {
            return Err(Error::config(
                "optimizer.betas",
                format!("each β must be in [0, 1), got {betas:?}"),
            ));
        }
        if !(eps.is_finite() && *eps > 0.0) {
            return Err(Error::config(
                "optimizer.eps",
                format!("must be finite and > 0, got {eps}"),
            ));
        }
        if !(weight_decay.is_finite() && *weight_decay >= 0.0) {
            return Err(Error::config(
                "optimizer.weight_decay",
                format!("must be finite and ≥ 0, got {weight_decay}"),
            ));
        }
        Ok(())
    }

    /// The Burn optimiser over a whole module, every value set explicitly (burn-optim's defaults differ from
    /// PyTorch's, decisions.md §8b). Burn computes in f32, so the settings are rounded to f32.
    pub fn build(&self) -> ModuleOptimizer {
        match *self {
            Self::Adam {
                betas,
                eps,
                weight_decay,
                ..
            } => AdamConfig::new()
                .with_beta_1(betas[0] as f32)
                .with_beta_2(betas[1] as f32)
                .with_epsilon(eps as f32)
                .with_amsgrad(false)
                .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32)))
                .with_grad_clipping(None)
                .init(),
            Self::AdamW {
                betas,
                eps,
                weight_decay,
                ..
            } => AdamWConfig::new()
                .with_beta_1(betas[0] as f32)
                .with_beta_2(betas[1] as f32)
                .with_epsilon(eps as f32)
                .with_weight_decay(weight_decay as f32)
                .with_cautious_weight_decay(false)
                .with_amsgrad(false)
                .with_grad_clipping(None)
                .init(),
        }
    }
}

/// How the learning rate changes from epoch to epoch; it is constant within an epoch. TOML: `[schedule]` with
/// `kind = "constant"` or `kind = "cosine"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    /// The optimiser's `lr` in every epoch. (A struct variant without fields, so that serde refuses an unknown key
    /// beside `kind = "constant"`, which it does not check for a unit variant of a tagged enum.)
    Constant {},
    /// PyTorch's `CosineAnnealingLR` stepped once per epoch, from epoch `start_epoch` on
    /// (see [`Schedule::lr`] for the formula).
    Cosine {
        /// Period T_max in scheduler steps (= epochs). Default [`COSINE_T_MAX`].
        #[serde(default = "default_t_max")]
        t_max: usize,
        /// Floor η_min. Default [`COSINE_ETA_MIN`].
        #[serde(default = "default_eta_min")]
        eta_min: f64,
        /// First epoch whose end steps the scheduler: the rate is the optimiser's `lr` up to and including this
        /// epoch. 0 for ASDNet / SpecMFN, 20 for STgram-MFN (stgram_mfn.md §6 `start_scheduler_epoch`).
        /// Default 0.
        #[serde(default)]
        start_epoch: usize,
    },
}

fn default_t_max() -> usize {
    COSINE_T_MAX
}
fn default_eta_min() -> f64 {
    COSINE_ETA_MIN
}

impl Schedule {
    /// The learning rate of 0-based epoch `epoch`, from the initial rate `lr0`.
    ///
    /// Cosine: with k = max(0, epoch − start_epoch) scheduler steps taken before the epoch,
    /// lr = η_min + (lr0 − η_min)·(1 + cos(π·k / T_max)) / 2, PyTorch's closed form of `CosineAnnealingLR`
    /// (which, like PyTorch, rises again after k = T_max); exactly lr0 while k = 0.
    pub fn lr(&self, lr0: f64, epoch: usize) -> f64 {
        match *self {
            Self::Constant {} => lr0,
            Self::Cosine {
                t_max,
                eta_min,
                start_epoch,
            } => {
                let k = epoch.saturating_sub(start_epoch);
                if k == 0 {
                    // Before the first scheduler step PyTorch uses the initial rate itself (no rounding).
                    return lr0;
                }
                eta_min + (lr0 - eta_min) * (1.0 + (PI * k as f64 / t_max.max(1) as f64).cos()) / 2.0
            }
        }
    }

    fn check(&self, lr0: f64) -> Result<()> {
        if let Self::Cosine { t_max, eta_min, .. } = *self {
            if t_max == 0 {
                return Err(Error::config("schedule.t_max", "must be ≥ 1 epoch"));
            }
            if !(eta_min.is_finite() && (0.0..=lr0).contains(&eta_min)) {
                return Err(Error::config(
                    "schedule.eta_min",
                    format!("must be in [0, optimizer.lr = {lr0}], got {eta_min}"),
                ));
            }
        }
        Ok(())
    }
}

/// An exponential moving average (EMA) of the model: after every optimiser step each float state entry (weights
/// and BatchNorm statistics) becomes `decay · ema + (1 − decay) · online`. The EMA model is what evaluation, the
/// validation loss and the saved model use; checkpoints hold both, so a resumed run continues both exactly.
/// TOML: `[ema]`, `decay = 0.9999`, optionally `online_decay = 2e-6`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmaConfig {
    /// Weight of the old average per step, in [0, 1).
    pub decay: f64,
    /// After each step's average, every float state entry of the online model (weights and BatchNorm statistics)
    /// is also multiplied by `1 − online_decay`, in [0, 1): OS-SCL's WeightEMA does so with 2e-6 (os_scl.md §5).
    /// Default 0 (none).
    #[serde(default)]
    pub online_decay: f64,
}

/// Which epoch's model a run returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSelection {
    /// The last epoch's model (decisions.md §3).
    #[default]
    Last,
    /// The model of the epoch with the lowest validation loss (ties: the earlier epoch); uses no test data.
    BestLoss,
}

/// A validation split: a fraction of the training examples, drawn per class (stratified) with the run's seed,
/// held out of training; its loss (the step's [`validation_loss`](crate::TrainStep::validation_loss), in
/// evaluation mode) is logged each epoch. TOML: `[validation]`, `fraction = 0.05`, `select = "best-loss"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Fraction of each class's examples held out, in (0, 1); each class with at least two examples keeps at
    /// least one for training and gives at least one.
    pub fraction: f64,
    /// Which epoch's model is returned. Default the last.
    #[serde(default)]
    pub select: ModelSelection,
}

/// Settings of a training run. TOML top level: `epochs`, `batch_size`, `drop_last`, `seed`, `[optimizer]`,
/// `[schedule]`, `[ema]`, `[validation]`; every setting left out takes its [`Default`] value.
///
/// `Default` is the ASDNet / SpecMFN recipe (asdnet_specmfn.md §5, decisions.md §10): Adam lr 1e-4, β (0.9, 0.999),
/// ε 1e-8, no weight decay; cosine annealing to 1e-5 over 300 epochs from epoch 0; 300 epochs of batches of 64,
/// the last partial batch kept; seed 0; no EMA, no validation split.
///
/// ```
/// let config: asd_train::TrainConfig = toml::from_str(r#"
///     epochs = 200
///     batch_size = 128
///     [optimizer]
///     kind = "adam"
///     [schedule]
///     kind = "cosine"
///     start_epoch = 20
///     [validation]
///     fraction = 0.05
///     select = "best-loss"
/// "#)?;
/// config.check()?;
/// assert_eq!(config.learning_rate(20), 1e-4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Number of epochs (passes over the examples). Default [`EPOCHS`].
    pub epochs: usize,
    /// Examples per batch. Default [`BATCH_SIZE`].
    pub batch_size: usize,
    /// Whether a last batch smaller than `batch_size` is skipped. Default `false` (kept).
    pub drop_last: bool,
    /// A last batch of fewer examples than this is skipped even without `drop_last` (OS-SCL: 2, as BatchNorm over
    /// a single example has no variance; os_scl.md §5). Default 1 (every last batch kept).
    #[serde(default = "one")]
    pub min_last_batch: usize,
    /// Seed of the shuffling, the validation split and the step's random draws (the model's initial weights come from
    /// the caller). Default 0.
    pub seed: u64,
    /// Optimiser and its settings. Default Adam with [`LEARNING_RATE`].
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule. Default cosine ([`COSINE_T_MAX`], [`COSINE_ETA_MIN`], from epoch 0).
    pub schedule: Schedule,
    /// An exponential moving average of the weights, evaluated and saved as the model. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema: Option<EmaConfig>,
    /// A validation split held out of training, and how the final model is chosen. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationConfig>,
    /// Every this many epochs, the model as it would be returned then (the EMA when there is one) is also saved
    /// as `run_dir/snapshots/epoch_NNNN.bpk` ([`snapshot_path`]), for choosing among them afterwards (the attention
    /// net's reference code keeps one every 20 epochs). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<usize>,
    /// Whether every batch holds examples of one class only: each class's shuffled examples are cut into batches
    /// (each class's last batch kept or skipped by the `drop_last` / `min_last_batch` rule), and the batches are
    /// shuffled. The DCASE autoencoder baseline trains one model per machine type, each on batches of its own type
    /// (docs/dcase_ae.md §2). Default `false`: batches are cut from all the shuffled examples.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch_by_class: bool,
}

/// serde's default of [`TrainConfig::min_last_batch`].
fn one() -> usize {
    1
}

/// The folder of a run directory holding [`TrainConfig::snapshot_every`]'s snapshots.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// Where the snapshot taken after `epochs_done` epochs lies in `run_dir`: `snapshots/epoch_0020.bpk`.
pub fn snapshot_path(run_dir: &std::path::Path, epochs_done: usize) -> std::path::PathBuf {
    run_dir.join(SNAPSHOT_DIR).join(format!("epoch_{epochs_done:04}.bpk"))
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: EPOCHS,
            batch_size: BATCH_SIZE,
            drop_last: false,
            min_last_batch: 1,
            seed: 0,
            optimizer: OptimizerConfig::adam(LEARNING_RATE),
            schedule: Schedule::Cosine {
                t_max: COSINE_T_MAX,
                eta_min: COSINE_ETA_MIN,
                start_epoch: 0,
            },
            ema: None,
            validation: None,
            snapshot_every: None,
            batch_by_class: false,
        }
    }
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad setting by its TOML path: `epochs` or `batch_size` of 0;
    /// `optimizer.lr` or `optimizer.eps` not finite and positive; `optimizer.betas` outside [0, 1);
    /// `optimizer.weight_decay` negative or not finite; `schedule.t_max` of 0; `schedule.eta_min` outside
    /// [0, lr]; `ema.decay` outside [0, 1); `validation.fraction` outside (0, 1); `snapshot_every` of 0.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be ≥ 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be ≥ 1"));
        }
        self.optimizer.check()?;
        self.schedule.check(self.optimizer.lr())?;
        if let Some(ema) = &self.ema
            && !(ema.decay.is_finite() && (0.0..1.0).contains(&ema.decay))
        {
            return Err(Error::config(
                "ema.decay",
                format!("must be in [0, 1), got {}", ema.decay),
            ));
        }
        if let Some(ema) = &self.ema
            && !(ema.online_decay.is_finite() && (0.0..1.0).contains(&ema.online_decay))
        {
            return Err(Error::config(
                "ema.online_decay",
                format!("must be in [0, 1), got {}", ema.online_decay),
            ));
        }
        if self.snapshot_every == Some(0) {
            return Err(Error::config(
                "snapshot_every",
                "must be ≥ 1 (leave it out for no snapshots)",
            ));
        }
        if let Some(validation) = &self.validation
            && !(validation.fraction > 0.0 && validation.fraction < 1.0)
        {
            return Err(Error::config(
                "validation.fraction",
                format!("must be in (0, 1), got {}", validation.fraction),
            ));
        }
        Ok(())
    }

    /// The learning rate of 0-based epoch `epoch` ([`Schedule::lr`] from the optimiser's `lr`).
    pub fn learning_rate(&self, epoch: usize) -> f64 {
        self.schedule.lr(self.optimizer.lr(), epoch)
    }

    /// Batches per epoch for `n` examples: ⌊n / batch⌋, plus the last partial batch unless `drop_last` is set or it
    /// has fewer than `min_last_batch` examples.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        let batch = self.batch_size.max(1);
        let rest = n % batch;
        n / batch + usize::from(!self.drop_last && rest > 0 && rest >= self.min_last_batch)
    }

    /// An epoch's batches of the examples `order` (already shuffled; `labels[i]` the class of example `i`): cut in
    /// that order, or with [`batch_by_class`](Self::batch_by_class) cut per class (in the order the classes' examples
    /// appear) and the batches then shuffled with `rng`. Each run of examples keeps its last partial batch by the
    /// [`steps_per_epoch`](Self::steps_per_epoch) rule, so the count does not depend on the shuffle.
    pub fn epoch_batches<R: rand::Rng + ?Sized>(
        &self,
        order: &[usize],
        labels: &[usize],
        rng: &mut R,
    ) -> Vec<Vec<usize>> {
        let batch = self.batch_size.max(1);
        let cut = |run: &[usize]| -> Vec<Vec<usize>> {
            run.chunks(batch)
                .take(self.steps_per_epoch(run.len()))
                .map(<[usize]>::to_vec)
                .collect()
        };
        if !self.batch_by_class {
            return cut(order);
        }
        let mut runs: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
        for &i in order {
            runs.entry(labels[i]).or_default().push(i);
        }
        let mut batches: Vec<Vec<usize>> = runs.values().flat_map(|run| cut(run)).collect();
        rand::seq::SliceRandom::shuffle(batches.as_mut_slice(), rng);
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: 65 examples in batches of 64 give 2 steps, 1 with `min_last_batch = 2` (a last batch of one
    /// skipped) or `drop_last`; 66 give 2 with `min_last_batch = 2`.
    #[test]
    fn a_last_batch_below_the_minimum_is_skipped() {
        let config = TrainConfig {
            batch_size: 64,
            ..TrainConfig::default()
        };
        let at_least_two = TrainConfig {
            min_last_batch: 2,
            ..config.clone()
        };
        let dropped = TrainConfig {
            drop_last: true,
            ..config.clone()
        };
        assert_eq!(
            (
                config.steps_per_epoch(65),
                at_least_two.steps_per_epoch(65),
                dropped.steps_per_epoch(65)
            ),
            (2, 1, 1)
        );
        assert_eq!(
            (at_least_two.steps_per_epoch(66), at_least_two.steps_per_epoch(64)),
            (2, 1)
        );
    }

    /// Criterion: with `batch_by_class`, 7 examples of class 0 and 3 of class 1 in batches of 2 with
    /// `min_last_batch = 2` give 3 + 1 batches (each class's last batch of one skipped), each of one class, every
    /// example at most once; without it, the 10 shuffled examples give 5 batches in their order.
    #[test]
    fn batches_by_class_hold_one_class_each() {
        use rand::SeedableRng;
        let labels = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0];
        let order = [3, 9, 1, 0, 7, 2, 4, 8, 6, 5];
        let config = TrainConfig {
            batch_size: 2,
            min_last_batch: 2,
            batch_by_class: true,
            ..TrainConfig::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let batches = config.epoch_batches(&order, &labels, &mut rng);
        assert_eq!(batches.len(), 4);
        assert!(batches.iter().all(|b| b.len() == 2 && labels[b[0]] == labels[b[1]]));
        let mut seen: Vec<usize> = batches.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 8);
        // Class 1's examples in their shuffled order: 1, 7, then 4 (skipped, alone).
        assert!(batches.contains(&vec![1, 7]));
        let mixed = TrainConfig {
            batch_by_class: false,
            ..config
        };
        let batches = mixed.epoch_batches(&order, &labels, &mut rng);
        assert_eq!(batches, order.chunks(2).map(<[usize]>::to_vec).collect::<Vec<_>>());
    }

    fn field_of(config: &TrainConfig) -> String {
        match config.check() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    /// Criterion: the ASDNet closed form lr_e = 1e-5 + (1e-4 − 1e-5)(1 + cos(πe/300))/2 (asdnet_specmfn.md §5),
    /// at the start, the middle and the last epoch.
    #[test]
    fn default_schedule_is_the_asdnet_closed_form() {
        let config = TrainConfig::default();
        for e in [0, 1, 150, 299] {
            let expected = 1e-5 + (1e-4 - 1e-5) * (1.0 + (PI * e as f64 / 300.0).cos()) / 2.0;
            assert!((config.learning_rate(e) - expected).abs() < 1e-18, "epoch {e}");
        }
        assert_eq!(config.learning_rate(0), 1e-4);
        assert!((config.learning_rate(150) - 5.5e-5).abs() < 1e-15);
    }

    /// Criterion: STgram-MFN HEAD (stgram_mfn.md §6): k = max(0, e − 20); lr is 1e-4 for e ≤ 20 and ≈ 1.09e-5 at
    /// e = 300; and the 2021/2022 variant 0.5·1e-4·(1 + cos(πk/T_max)) with η_min = 0.
    #[test]
    fn delayed_cosine_matches_the_stgram_mfn_closed_forms() {
        let head = Schedule::Cosine {
            t_max: 300,
            eta_min: 1e-5,
            start_epoch: 20,
        };
        for e in 0..=20 {
            assert_eq!(head.lr(1e-4, e), 1e-4, "epoch {e}");
        }
        for e in [21, 100, 250, 300] {
            let k = (e - 20) as f64;
            let expected = 1e-5 + 0.5 * (1e-4 - 1e-5) * (1.0 + (PI * k / 300.0).cos());
            assert!((head.lr(1e-4, e) - expected).abs() < 1e-18, "epoch {e}");
        }
        assert!((head.lr(1e-4, 300) - 1.0983e-5).abs() < 1e-9, "{}", head.lr(1e-4, 300));
        let code_2022 = Schedule::Cosine {
            t_max: 312,
            eta_min: 0.0,
            start_epoch: 20,
        };
        let k = 150.0;
        let expected = 0.5 * 1e-4 * (1.0 + (PI * k / 312.0).cos());
        assert!((code_2022.lr(1e-4, 170) - expected).abs() < 1e-18);
        assert_eq!(Schedule::Constant {}.lr(3e-4, 99), 3e-4);
    }

    /// Criterion: every rule of `check` names its TOML field.
    #[test]
    fn check_names_the_bad_field() {
        let base = TrainConfig::default();
        assert!(base.check().is_ok());
        let cases: Vec<(TrainConfig, &str)> = vec![
            (
                TrainConfig {
                    epochs: 0,
                    ..base.clone()
                },
                "epochs",
            ),
            (
                TrainConfig {
                    batch_size: 0,
                    ..base.clone()
                },
                "batch_size",
            ),
            (
                TrainConfig {
                    optimizer: OptimizerConfig::adam(f64::NAN),
                    ..base.clone()
                },
                "optimizer.lr",
            ),
            (
                TrainConfig {
                    optimizer: OptimizerConfig::Adam {
                        lr: 1e-3,
                        betas: [0.9, 1.0],
                        eps: 1e-8,
                        weight_decay: 0.0,
                    },
                    ..base.clone()
                },
                "optimizer.betas",
            ),
            (
                TrainConfig {
                    optimizer: OptimizerConfig::AdamW {
                        lr: 1e-3,
                        betas: ADAM_BETAS,
                        eps: 0.0,
                        weight_decay: 0.01,
                    },
                    ..base.clone()
                },
                "optimizer.eps",
            ),
            (
                TrainConfig {
                    optimizer: OptimizerConfig::AdamW {
                        lr: 1e-3,
                        betas: ADAM_BETAS,
                        eps: 1e-8,
                        weight_decay: -1.0,
                    },
                    ..base.clone()
                },
                "optimizer.weight_decay",
            ),
            (
                TrainConfig {
                    schedule: Schedule::Cosine {
                        t_max: 0,
                        eta_min: 0.0,
                        start_epoch: 0,
                    },
                    ..base.clone()
                },
                "schedule.t_max",
            ),
            (
                TrainConfig {
                    schedule: Schedule::Cosine {
                        t_max: 10,
                        eta_min: 1.0,
                        start_epoch: 0,
                    },
                    ..base.clone()
                },
                "schedule.eta_min",
            ),
            (
                TrainConfig {
                    ema: Some(EmaConfig {
                        decay: 1.0,
                        online_decay: 0.0,
                    }),
                    ..base.clone()
                },
                "ema.decay",
            ),
            (
                TrainConfig {
                    validation: Some(ValidationConfig {
                        fraction: 0.0,
                        select: ModelSelection::Last,
                    }),
                    ..base.clone()
                },
                "validation.fraction",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(field_of(&config), field);
        }
    }

    /// Criterion: TOML round trip; per-kind defaults (AdamW weight decay 0.01, Adam 0, ε 1e-8); unknown fields
    /// are rejected at every level.
    #[test]
    fn toml_defaults_per_kind_and_unknown_fields() {
        let config: TrainConfig = toml::from_str("[optimizer]\nkind = \"adamw\"\nlr = 2e-4\n").unwrap();
        assert_eq!(config.optimizer, OptimizerConfig::adamw(2e-4));
        assert_eq!(toml::from_str::<TrainConfig>("").unwrap(), TrainConfig::default());
        let text = toml::to_string(&TrainConfig::default()).unwrap();
        assert_eq!(toml::from_str::<TrainConfig>(&text).unwrap(), TrainConfig::default());
        for bad in [
            "epoch = 3",
            "[optimizer]\nkind = \"adam\"\nmomentum = 0.9",
            "[schedule]\nkind = \"cosine\"\ntmax = 3",
            "[schedule]\nkind = \"step\"",
            "[loss]\nmixup_alpha = 0.2",
            "[ema]\ndecay = 0.9\nrate = 1",
        ] {
            assert!(toml::from_str::<TrainConfig>(bad).is_err(), "{bad}");
        }
        let steps = |n, drop_last| {
            TrainConfig {
                batch_size: 4,
                drop_last,
                ..TrainConfig::default()
            }
            .steps_per_epoch(n)
        };
        assert_eq!((steps(10, false), steps(10, true), steps(3, true)), (3, 2, 0));
    }
}
