//! Hot loops compiled twice: for baseline x86-64 and for AVX2, chosen when called.
//!
//! Our binaries target baseline x86-64 (SSE2: four `f32` per register) so that they run on any x86-64 CPU;
//! the FFT library picks its own AVX kernels at run time, and [`wide_fn`] lets the loops around it do the
//! same. Both copies perform the same operations in the same order (Rust never fuses a multiply and an add
//! on its own), so results do not depend on the CPU.

/// Defines a function whose body is compiled twice, for baseline x86-64 and for AVX2; each call runs the
/// AVX2 copy when the CPU supports it. The body is a nested `#[inline(always)]` function, so everything it
/// calls that is inlined is compiled for AVX2 too. Arguments are plain `name: Type` pairs (no generics).
macro_rules! wide_fn {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if $crate::simd::avx2_available() {
                // SAFETY: `avx2` is compiled for AVX2, which the CPU was just found to support.
                #[allow(unsafe_code)]
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

pub(crate) use wide_fn;

/// Tests set this to run the baseline copies on an AVX2 CPU too.
#[cfg(test)]
pub(crate) static BASELINE_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether [`wide_fn`] functions run their AVX2 copy.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_available() -> bool {
    #[cfg(test)]
    if BASELINE_ONLY.load(std::sync::atomic::Ordering::SeqCst) {
        return false;
    }
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(test)]
mod tests {
    use super::BASELINE_ONLY;
    use crate::{FeatureKind, FeatureSpec, FrontendPreset};
    use std::sync::atomic::Ordering;

    /// Both compiled copies give bit-identical features (on a CPU without AVX2 both runs take the baseline).
    #[test]
    fn features_do_not_depend_on_the_cpu() {
        let wave: Vec<f32> = (0..40_000u32)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
            .collect();
        let specs = [
            FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn),
            FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::OsScl),
            FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::Librosa),
            FeatureSpec::new(FeatureKind::Stft),
        ];
        for spec in specs {
            let frontend = spec.build().expect("preset builds");
            let wide = frontend.extract(&wave).expect("valid wave");
            BASELINE_ONLY.store(true, Ordering::SeqCst);
            let baseline = frontend.extract(&wave);
            BASELINE_ONLY.store(false, Ordering::SeqCst);
            assert_eq!(wide, baseline.expect("valid wave"), "{spec:?}");
        }
    }
}
