//! The device of the tests that hold on any backend: `ASD_TEST_DEVICE` names it (`cpu` when unset; `cuda` or
//! `cuda:<index>` in a build with the `cuda` feature), so the same golden, gradient and resume tests run on a GPU.

use asd_models::burn::tensor::Device;

/// The device `ASD_TEST_DEVICE` names, Flex (`cpu`) by default.
///
/// # Panics
/// When the name cannot be opened (a test failure naming the variable).
pub fn test_device() -> Device {
    let name = std::env::var("ASD_TEST_DEVICE").unwrap_or_else(|_| "cpu".to_string());
    asd_models::parse_device(&name).unwrap_or_else(|e| panic!("ASD_TEST_DEVICE: {e}"))
}
