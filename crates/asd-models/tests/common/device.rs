//! The device of the tests that hold on any backend: `ASD_TEST_DEVICE` names it (`cpu` when unset; `cuda` or
//! `cuda:<index>` in a build with the `cuda` feature), so the same golden, gradient and resume tests run on a GPU.
//!
//! The fixtures' tolerances are for float32 arithmetic. A CUDA device computes float32 matrix products and
//! convolutions on its tensor cores in TF32 (cubek-matmul picks TF32 staging for f32 operands wherever the device
//! supports it, as PyTorch's cuDNN convolutions do by default), so there [`device_atol`] widens each absolute
//! tolerance by a multiple of TF32's unit roundoff of the compared tensor's largest reference value.

use asd_models::burn::tensor::Device;

/// Unit roundoff of TF32 (float32's 8-bit exponent, 10 explicit mantissa bits): 2⁻¹¹.
pub const TF32_UNIT_ROUNDOFF: f64 = 1.0 / 2048.0;

/// How many TF32 unit roundoffs of a tensor's largest |reference| a result may be off on a TF32 device. Each
/// product of two TF32-rounded factors is off by up to 2u relative to |w·x|, and the float32 sums of a layer keep
/// that relative to Σ|w·x|, which the tensor's largest value stands in for; 4 leaves room for a few layers of
/// propagation. The first H100 run measured 0.92 u of the element's own value (ASDNet `act_0`: 5.78e-1 at 1284)
/// and 1.05 u for the mixed-input embedding (2.98e-5 at 0.058).
pub const TF32_SLACK: f64 = 4.0;

/// The device name `ASD_TEST_DEVICE` holds, `cpu` when unset.
fn device_name() -> String {
    std::env::var("ASD_TEST_DEVICE").unwrap_or_else(|_| "cpu".to_string())
}

/// The device `ASD_TEST_DEVICE` names, Flex (`cpu`) by default.
///
/// # Panics
/// When the name cannot be opened (a test failure naming the variable).
pub fn test_device() -> Device {
    asd_models::parse_device(&device_name()).unwrap_or_else(|e| panic!("ASD_TEST_DEVICE: {e}"))
}

/// The absolute tolerance `atol` of a float32 fixture, on the test device, for a tensor whose reference values reach
/// `max_abs` in magnitude: `atol` itself on the CPU, `atol + TF32_SLACK · 2⁻¹¹ · max_abs` on a CUDA device.
pub fn device_atol(atol: f64, max_abs: f64) -> f64 {
    if device_name().starts_with("cuda") {
        atol + TF32_SLACK * TF32_UNIT_ROUNDOFF * max_abs
    } else {
        atol
    }
}
