//! Golden safetensors fixtures read tensor by tensor, as Burn tensors or ndarray arrays.
//!
//! One source file for the golden tests of asd-models and asd-losses (the latter includes it by path): asd-testkit
//! stays free of Burn, so the Burn-free crates' tests do not link it.

use asd_models::burn::store::{ModuleStore, SafetensorsStore, bridge};
use asd_models::burn::tensor::{Device, Element, Int, Tensor, TensorData};
use ndarray::{ArrayD, IxDyn};
use std::path::PathBuf;

/// One safetensors fixture file, read tensor by tensor; every failure names the file and the key.
pub struct Fixture {
    path: PathBuf,
    store: SafetensorsStore,
}

impl Fixture {
    /// Opens `golden/<rel>`; a missing file fails the test with its path.
    pub fn open(rel: &str) -> Self {
        let path = asd_testkit::golden(rel);
        assert!(path.exists(), "golden fixture missing: {}", path.display());
        Self {
            store: SafetensorsStore::from_file(&path),
            path,
        }
    }

    /// Raw contents of tensor `key`, in the file's dtype.
    pub fn data(&mut self, key: &str) -> TensorData {
        let path = self.path.display().to_string();
        let snapshot = self
            .store
            .get_tensor(key)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .unwrap_or_else(|| panic!("{path}: no tensor `{key}`"));
        bridge::to_data(snapshot).unwrap_or_else(|e| panic!("{path}: `{key}`: {e:?}"))
    }

    /// Tensor `key` as an array of its shape with elements `T` (exact for f32 → f32 / f64 and f64 → f64).
    pub fn array<T: Element>(&mut self, key: &str) -> ArrayD<T> {
        to_array(self.data(key))
    }

    /// Float tensor `key` on `device` (in the device's float dtype).
    pub fn tensor<const D: usize>(&mut self, key: &str, device: &Device) -> Tensor<D> {
        Tensor::from_data(self.data(key), device)
    }

    /// Integer tensor `key` (i64 in the files) on `device`.
    pub fn int_tensor<const D: usize>(&mut self, key: &str, device: &Device) -> Tensor<D, Int> {
        Tensor::from_data(self.data(key), device)
    }
}

/// A tensor's values as an array of its shape with elements `T`.
pub fn to_array<T: Element>(data: TensorData) -> ArrayD<T> {
    let shape = data.shape().to_vec();
    let values = data.try_to_vec_as::<T>().expect("numeric data");
    ArrayD::from_shape_vec(IxDyn(&shape), values).expect("shape matches data")
}
