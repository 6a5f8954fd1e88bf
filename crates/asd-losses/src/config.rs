//! The loss settings of a training run ([`LossConfig`], tagged by `kind`): for the margin-classification
//! systems, mixup strength and how a mixed batch is scored; for autoencoders, the reconstruction error.

use crate::error::{Error, Result};
use crate::mixup::Mix;
use serde::{Deserialize, Serialize};

/// Mixup α of the Noisy-ArcMix code (losses_arcmix.md §3, [NA-cfg] `alpha: 0.5`) and of ASDNet / SpecMFN
/// (asdnet_specmfn.md §4.2, decisions.md §10).
pub const MIXUP_ALPHA_NOISY_ARCMIX: f64 = 0.5;
/// Mixup α of Neri & Carli (losses_arcmix.md §3, [N-model] `mixup_data` default).
pub const MIXUP_ALPHA_NERI: f64 = 0.2;

/// How the loss of a mixed batch is formed from the logits of the mixed inputs (losses_arcmix.md §5–6,
/// asdnet_specmfn.md §4.2). Without mixup all three reduce to the plain ArcFace loss.
///
/// TOML / JSON names: `arc-mix`, `noisy-arc-mix`, `soft-target` (the specs' spellings `arcmix`, `noisy_arcmix`,
/// `noisy-arcmix` and `soft_target` are accepted too).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MixupLoss {
    /// ArcMix (losses_arcmix.md §5): the margin goes on y in the first term and on y\[perm\] in the second, two
    /// logit sets: λ·CE(z(y), y) + (1 − λ)·CE(z(y\[perm\]), y\[perm\]). The default (asdnet_specmfn.md §4.2).
    #[default]
    #[serde(alias = "arcmix")]
    ArcMix,
    /// Noisy-ArcMix (losses_arcmix.md §6): one logit set with the margin on y only:
    /// λ·CE(z(y), y) + (1 − λ)·CE(z(y), y\[perm\]). Also what Neri & Carli's code computes.
    #[serde(alias = "noisy_arcmix", alias = "noisy-arcmix")]
    NoisyArcMix,
    /// Cross-entropy of the logits with the margin on y against the soft target λ·e_y + (1 − λ)·e_y\[perm\]
    /// (asdnet_specmfn.md §4.2). Equal in value and gradient to [`NoisyArcMix`](Self::NoisyArcMix) (losses_arcmix.md
    /// §6), computed through the soft-target form.
    #[serde(alias = "soft_target")]
    SoftTarget,
}

/// The loss of a training run: the `[loss]` table of a run configuration, tagged by `kind`. Each kind is the
/// objective of a family of systems, built into that system's training step.
///
/// ```
/// use asd_losses::{LossConfig, MixupLoss};
/// let config: LossConfig = toml::from_str("kind = \"margin\"\nmixup_alpha = 0.5\nmixup_loss = \"noisy-arc-mix\"")?;
/// assert_eq!(config, LossConfig::mixup(0.5, MixupLoss::NoisyArcMix));
/// config.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LossConfig {
    /// Cross-entropy of the head's margin logits (ArcFace's cos(θ + m), or none for a plain linear head), with
    /// optional input mixup ([`MarginStep`](crate::MarginStep)).
    Margin(MarginLossConfig),
    /// The mean squared error between an autoencoder's input and its reconstruction, over every value of the batch
    /// ([`reconstruction_loss`](crate::reconstruction_loss); the DCASE autoencoder baseline's loss,
    /// docs/dcase_ae.md §2). Nothing to set: `kind = "reconstruction"`.
    Reconstruction(ReconstructionLossConfig),
    /// The AdaCos loss of the DCASE 2025 first-shot system (firstshot2025.md §8): a main head on the mixup labels
    /// and a self-supervised head on the StatEx / FeatEx-expanded labels, each with its own scale, plus an L2 term on
    /// the network's convolution and Linear weights.
    #[serde(rename = "adacos")]
    AdaCos(AdaCosLossConfig),
}

/// L2 weight on the network's convolution and Linear weights ([W24] `kernel_regularizer=l2(1e-5)`,
/// firstshot2025.md §8.3).
pub const ADACOS_L2: f64 = 1e-5;

/// Settings of [`LossConfig::AdaCos`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdaCosLossConfig {
    /// The scale of each head adapts to every training batch (Zhang et al.; the default, firstshot2025.md §8.1) or
    /// stays at its initial value √2·ln(centres − 1).
    pub dynamic_scale: bool,
    /// The weight λ of the term λ·Σ‖W‖² over the network's convolution and Linear weights (not BatchNorm, not the
    /// heads' centres).
    pub l2: f64,
}

impl Default for AdaCosLossConfig {
    fn default() -> Self {
        Self {
            dynamic_scale: true,
            l2: ADACOS_L2,
        }
    }
}

/// Settings of [`LossConfig::Reconstruction`]: none (a key is refused).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReconstructionLossConfig {}

impl Default for LossConfig {
    /// [`LossConfig::Margin`] without mixup.
    fn default() -> Self {
        Self::Margin(MarginLossConfig::default())
    }
}

impl LossConfig {
    /// The margin loss with mixup of strength `alpha` scored by `loss`.
    pub fn mixup(alpha: f64, loss: MixupLoss) -> Self {
        Self::Margin(MarginLossConfig::mixup(alpha, loss))
    }

    /// The reconstruction loss ([`LossConfig::Reconstruction`]).
    pub fn reconstruction() -> Self {
        Self::Reconstruction(ReconstructionLossConfig::default())
    }

    /// The `kind` name (`margin`, `reconstruction`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Margin(_) => "margin",
            Self::Reconstruction(_) => "reconstruction",
            Self::AdaCos(_) => "adacos",
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad setting.
    pub fn check(&self) -> Result<()> {
        match self {
            Self::Margin(config) => config.check(),
            Self::Reconstruction(_) => Ok(()),
            Self::AdaCos(config) if !(config.l2.is_finite() && config.l2 >= 0.0) => Err(Error::Config {
                field: "l2",
                reason: format!("must be finite and ≥ 0, got {}", config.l2),
            }),
            Self::AdaCos(_) => Ok(()),
        }
    }
}

/// Settings of the margin loss ([`LossConfig::Margin`]).
///
/// `Default` is no mixup (`mixup_alpha = 0`) and [`MixupLoss::ArcMix`]: a plain ArcFace (or cross-entropy) loss.
/// The papers' values are [`MIXUP_ALPHA_NOISY_ARCMIX`] (ASDNet, SpecMFN, Noisy-ArcMix) and [`MIXUP_ALPHA_NERI`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MarginLossConfig {
    /// Mixup strength α: each batch draws λ ~ Beta(α, α) (losses_arcmix.md §3). `0` switches mixup off.
    pub mixup_alpha: f64,
    /// How a mixed batch is scored; ignored without mixup.
    pub mixup_loss: MixupLoss,
    /// OS-SCL's noisy supervised contrastive loss on the embeddings, added to the margin loss of each training batch
    /// (os_scl.md §4.3, weights 1 : 1), with the labels of the batch before mixing (y_a); validation leaves it out.
    /// Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supcon: Option<crate::SupConConfig>,
}

impl Default for MarginLossConfig {
    fn default() -> Self {
        Self {
            mixup_alpha: 0.0,
            mixup_loss: MixupLoss::default(),
            supcon: None,
        }
    }
}

impl MarginLossConfig {
    /// Mixup with strength `alpha` scored by `loss`.
    pub fn mixup(alpha: f64, loss: MixupLoss) -> Self {
        Self {
            mixup_alpha: alpha,
            mixup_loss: loss,
            supcon: None,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] naming `mixup_alpha` when α is negative, NaN or infinite (0 switches mixup off), or a SupCon
    /// temperature that is not finite and positive.
    pub fn check(&self) -> Result<()> {
        if !(self.mixup_alpha.is_finite() && self.mixup_alpha >= 0.0) {
            return Err(Error::Config {
                field: "mixup_alpha",
                reason: format!(
                    "must be finite and ≥ 0 (0 switches mixup off), got {}",
                    self.mixup_alpha
                ),
            });
        }
        self.supcon.as_ref().map_or(Ok(()), crate::SupConConfig::check)
    }

    /// Whether batches are mixed (α > 0).
    pub fn uses_mixup(&self) -> bool {
        self.mixup_alpha > 0.0
    }

    /// One batch's mixup draw, or `None` without mixup (α ≤ 0 or NaN), in which case nothing is drawn from `rng`.
    /// See [`Mix::draw`].
    pub fn draw_mix<R: rand::Rng + ?Sized>(&self, batch: usize, rng: &mut R) -> Option<Mix> {
        self.uses_mixup().then(|| Mix::draw(self.mixup_alpha, batch, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: the default checks out and means no mixup (brief: "Default: no mixup").
    #[test]
    fn default_is_valid_and_without_mixup() {
        assert!(LossConfig::default().check().is_ok());
        let config = MarginLossConfig::default();
        assert!(config.check().is_ok());
        assert!(!config.uses_mixup());
        assert_eq!(config.mixup_loss, MixupLoss::ArcMix);
    }

    /// Criterion: negative, NaN and infinite α are each rejected with the field named; 0 and the papers' values
    /// pass.
    #[test]
    fn alpha_out_of_range_names_the_field() {
        for alpha in [-0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let error = LossConfig::mixup(alpha, MixupLoss::ArcMix)
                .check()
                .expect_err("invalid alpha accepted"); // ok: test
            let Error::Config { field, .. } = &error;
            assert_eq!(*field, "mixup_alpha");
            assert!(error.to_string().contains("mixup_alpha"), "{error}");
        }
        for alpha in [0.0, MIXUP_ALPHA_NERI, MIXUP_ALPHA_NOISY_ARCMIX] {
            assert!(LossConfig::mixup(alpha, MixupLoss::NoisyArcMix).check().is_ok());
        }
    }
}
