//! PyTorch's default parameter initialisation, expressed as Burn [`Initializer`]s (decisions.md §7).
//!
//! Burn's own defaults differ between layers and versions, so every layer of this crate names its initialiser
//! explicitly through these functions.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};
use std::sync::{Mutex, PoisonError};

/// Runs `build` (typically a model config's `init`) with the device's random-number generator freshly seeded
/// with `seed`, holding a process-wide lock from the seeding to the end of `build`.
///
/// Burn's CPU generator is one per process, so two threads that seed and initialise at the same time (parallel
/// tests, two runs in one program) would interleave their draws and get weights that depend on timing. Every
/// seeded initialisation in this workspace goes through here.
///
/// Burn 0.22 draws a parameter's initial values when the parameter is first used (lazy initialisation), not when
/// the module is built (measured 2026-12-07). A draw made after the lock is released could interleave with another
/// thread's (two models trained at once in one process were seen to change each other's results), so a module
/// built here should pass through [`draw_now`] inside `build`.
///
/// ```
/// use asd_models::burn::nn::LinearConfig;
/// use asd_models::burn::tensor::Device;
/// use asd_models::init::seeded;
/// let device = Device::flex();
/// let weights = |seed| seeded(&device, seed, |d| LinearConfig::new(4, 2).init(d)).weight.val().into_data();
/// assert_eq!(weights(7), weights(7));
/// assert_ne!(weights(7), weights(8));
/// ```
pub fn seeded<T>(device: &Device, seed: u64, build: impl FnOnce(&Device) -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    device.seed(seed);
    build(device)
}

/// The most parameters a network may have: 2²⁸ (268 million, 1 GiB of f32 weights and about 4 GiB with the
/// gradients and Adam's two moments). The networks of the papers have at most a few million; a larger count comes
/// from a mistyped setting (an embedding size of 10¹²), and drawing it would exhaust the machine.
pub const MAX_PARAMETERS: u64 = 1 << 28;

/// The number of parameters of `module`, read from the shapes without drawing any lazily initialised weight
/// (saturating at `u64::MAX`).
pub fn parameter_count<M: Module>(module: &M) -> u64 {
    struct Count(u64);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let n = param.lazy_shape().iter().fold(1u64, |n, &d| n.saturating_mul(d as u64));
            self.0 = self.0.saturating_add(n);
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

/// `module` if its [`parameter_count`] is at most [`MAX_PARAMETERS`], checked before any weight is drawn.
///
/// # Errors
/// [`Error::Config`](crate::Error::Config) naming `what` (the network) with the count.
pub fn check_size<M: Module>(module: M, what: &str) -> crate::Result<M> {
    let n = parameter_count(&module);
    if n > MAX_PARAMETERS {
        return Err(crate::Error::Config {
            field: what.to_string(),
            reason: format!("its settings give {n} parameters, more than the {MAX_PARAMETERS} allowed"),
        });
    }
    Ok(module)
}

/// Draws every lazily initialised parameter of `module` now, in visiting order, and returns the module.
///
/// Called inside [`seeded`]'s `build`, it fixes the initial weights while the lock is held. Visiting order (the
/// fields in declaration order) is also the order of a module's first use in training (`Module::valid`, then
/// the optimiser), so the values are those the same seed gave before.
///
/// ```
/// use asd_models::burn::nn::LinearConfig;
/// use asd_models::burn::tensor::Device;
/// use asd_models::init::{draw_now, seeded};
/// let device = Device::flex();
/// let now = seeded(&device, 7, |d| draw_now(LinearConfig::new(4, 2).init(d)));
/// let later = seeded(&device, 7, |d| LinearConfig::new(4, 2).init(d));
/// assert_eq!(now.weight.val().into_data(), later.weight.val().into_data());
/// assert_eq!(now.bias.map(|b| b.val().into_data()), later.bias.map(|b| b.val().into_data()));
/// ```
pub fn draw_now<M: Module>(module: M) -> M {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
    module
}

/// `Linear.reset_parameters` (torch/nn/modules/conv.py, linear.py: `a=math.sqrt(5)`).
pub const TORCH_KAIMING_A: f64 = 2.236_067_977_499_79; // √5

/// PyTorch's default for `Conv1d`, `Conv2d` and `Linear`: weights and bias ~ U(−1/√fan_in, 1/√fan_in).
///
/// PyTorch draws weights from kaiming-uniform with a = √5, whose bound is
/// gain·√(3/fan_in) with gain = √(2/(1 + a²)) = √(1/3), i.e. 1/√fan_in; the bias bound is 1/√fan_in as well.
/// Burn's `KaimingUniform { gain }` draws U(±√3·gain/√fan_in) for both weight and bias when given `fan_in`, so
/// gain = √(2/(1 + a²)) reproduces both bounds. `fan_in` = C_in/groups · kernel size (convolutions) or the input
/// width (Linear).
pub fn torch_default() -> Initializer {
    Initializer::KaimingUniform {
        gain: (2.0 / (1.0 + TORCH_KAIMING_A * TORCH_KAIMING_A)).sqrt(),
        fan_out_only: false,
    }
}

/// `torch.nn.init.xavier_uniform_` with gain 1: U(±√(6/(fan_in + fan_out))). Used for ArcFace class weights
/// (asdnet_specmfn.md §2.2, STgram-MFN `ArcMarginProduct`).
pub fn xavier_uniform() -> Initializer {
    Initializer::XavierUniform { gain: 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    /// Largest |value| and variance of a parameter tensor, as f64.
    fn max_abs_and_var(values: &[f32]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        let max = values.iter().map(|v| f64::from(v.abs())).fold(0.0, f64::max);
        (max, var)
    }

    /// Criterion: every value lies within the PyTorch bound b = 1/√fan_in, the largest one above 0.99·b, and the
    /// variance is b²/3 (that of U(−b, b)) within 5 % (32 768 draws: the standard error of the variance is ≈ 0.6 %).
    #[test]
    fn linear_weights_and_bias_follow_torch_bounds() {
        let device = Device::flex();
        let (fan_in, fan_out) = (256, 128);
        let linear = seeded(&device, 0, |d| {
            LinearConfig::new(fan_in, fan_out)
                .with_initializer(torch_default())
                .init(d)
        });
        let bound = 1.0 / (fan_in as f64).sqrt();
        let weight = linear
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 weights"); // ok: test
        let (max, var) = max_abs_and_var(&weight);
        assert!(
            max <= bound * (1.0 + 1e-6) && max > 0.99 * bound,
            "max {max} vs bound {bound}"
        );
        assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.05, "variance {var}");
        let bias = linear
            .bias
            .expect("bias on")
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32"); // ok: test
        let (max_b, _) = max_abs_and_var(&bias);
        assert!(max_b <= bound * (1.0 + 1e-6) && max_b > 0.9 * bound, "bias max {max_b}");
    }
}
