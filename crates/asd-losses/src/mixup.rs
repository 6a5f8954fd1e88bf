//! Input-level mixup (losses_arcmix.md §3): one λ ~ Beta(α, α) and one permutation per batch, the same for every
//! input tensor of the batch.

use asd_models::burn::tensor::{Int, Tensor, TensorData};
use rand_distr::{Beta, Distribution};

/// α above which λ is set to 1/2 instead of drawn: Beta(α, α) has standard deviation 1/(2√(2α + 1)) < 4·10⁻⁷
/// there, and `rand_distr`'s Beta sampler overflows for α near 10¹⁵⁴ \[D\].
pub const ALPHA_POINT_MASS: f64 = 1e12;

/// One batch's mixup draw: inputs become x̃ = λ·x + (1 − λ)·x\[perm\] and partner labels y\[perm\]
/// (losses_arcmix.md §3).
///
/// Built by [`Mix::draw`], or directly from fixed values (as the golden tests do). Every tensor of a batch is
/// mixed with the same draw ([`Mixable`] for pairs).
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// Weight λ of the original example, in [0, 1]; 1 leaves the batch unchanged.
    pub lambda: f64,
    /// Partner of each example: example i is mixed with example `perm[i]`. A permutation of `0..batch`.
    pub perm: Vec<usize>,
}

impl Mix {
    /// Draws λ ~ Beta(α, α) and then a uniform permutation of `0..batch` (Fisher–Yates), in that order, as the
    /// reference draws `np.random.beta` and then `torch.randperm` (losses_arcmix.md §3). Same generator state, same
    /// draw.
    ///
    /// Without mixup (α ≤ 0 or NaN) λ = 1 and `perm` is the identity, and nothing is drawn from `rng`. α above
    /// [`ALPHA_POINT_MASS`] (including +∞) gives λ = 1/2, the limit of Beta(α, α), and still draws the
    /// permutation.
    pub fn draw<R: rand::Rng + ?Sized>(alpha: f64, batch: usize, rng: &mut R) -> Mix {
        // `alpha > 0.0` is false for NaN too.
        let mixes = alpha > 0.0;
        if !mixes {
            return Mix::identity(batch);
        }
        let lambda = if alpha > ALPHA_POINT_MASS {
            0.5
        } else {
            match Beta::new(alpha, alpha) {
                Ok(beta) => beta.sample(rng).clamp(0.0, 1.0),
                // Unreachable: 0 < α ≤ ALPHA_POINT_MASS is a valid Beta parameter.
                Err(_) => 0.5,
            }
        };
        let mut perm: Vec<usize> = (0..batch).collect();
        for i in (1..batch).rev() {
            let j = uniform_below(rng, i + 1);
            perm.swap(i, j);
        }
        Mix { lambda, perm }
    }

    /// The draw that changes nothing: λ = 1, identity permutation of `0..batch`.
    pub fn identity(batch: usize) -> Mix {
        Mix {
            lambda: 1.0,
            perm: (0..batch).collect(),
        }
    }

    /// Batch size this draw mixes (the length of `perm`).
    pub fn batch_size(&self) -> usize {
        self.perm.len()
    }

    /// Whether mixing with this draw returns its input unchanged (λ = 1).
    pub fn is_identity(&self) -> bool {
        self.lambda == 1.0
    }

    /// `perm` as an index tensor `[batch]` on `device`.
    pub fn perm_tensor(&self, device: &asd_models::burn::tensor::Device) -> Tensor<1, Int> {
        let indices: Vec<i64> = self.perm.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(indices, [self.perm.len()]), device)
    }

    /// The partner labels y_b = y\[perm\] (losses_arcmix.md §3).
    ///
    /// # Shapes
    /// - `labels`: `[batch]` class indices; output `[batch]`
    ///
    /// # Panics
    /// If `labels` does not have `perm.len()` entries.
    pub fn partner_labels(&self, labels: Tensor<1, Int>) -> Tensor<1, Int> {
        asd_models::burn::tensor::assert_shape!(labels, [self.perm.len()]);
        let perm = self.perm_tensor(&labels.device());
        labels.select(0, perm)
    }
}

/// Uniform integer in `0..n` (n ≥ 1) by rejection of a 64-bit draw: unbiased, and independent of how a `rand`
/// version implements its ranges, so a seed gives the same permutation across `rand` upgrades.
fn uniform_below<R: rand::Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    let n = n as u64;
    // Largest multiple of n that fits in u64's range: draws at or above it are rejected.
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// Inputs that mixup can blend with one [`Mix`]: float tensors whose first axis is the batch, and pairs of them
/// (e.g. STgram-MFN's waveform and log-Mel, mixed with the same λ and permutation, losses_arcmix.md §3).
pub trait Mixable: Sized {
    /// Number of examples (the first axis).
    fn batch_size(&self) -> usize;

    /// λ·x + (1 − λ)·x\[perm\] along the first axis; the input itself when λ = 1.
    ///
    /// # Panics
    /// If the batch size differs from `mix.perm.len()`. An entry of `perm` ≥ the batch size is a programming
    /// error: the CPU backend panics on it, other backends may not check it.
    fn mix(self, mix: &Mix) -> Self;
}

impl<const D: usize> Mixable for Tensor<D> {
    fn batch_size(&self) -> usize {
        self.dims()[0]
    }

    /// # Shapes
    /// - `self`: `[batch, ...]`; output the same shape
    fn mix(self, mix: &Mix) -> Self {
        asd_models::burn::tensor::assert_shape!(self, [mix.perm.len(), ..]);
        if mix.is_identity() {
            return self;
        }
        let partner = self.clone().select(0, mix.perm_tensor(&self.device()));
        self.mul_scalar(mix.lambda).add(partner.mul_scalar(1.0 - mix.lambda))
    }
}

impl<A: Mixable, B: Mixable> Mixable for (A, B) {
    /// The first element's batch size (both must agree when mixed).
    fn batch_size(&self) -> usize {
        self.0.batch_size()
    }

    fn mix(self, mix: &Mix) -> Self {
        (self.0.mix(mix), self.1.mix(mix))
    }
}
