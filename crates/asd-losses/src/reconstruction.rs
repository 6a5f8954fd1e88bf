//! The reconstruction loss of autoencoders: the mean squared error between the input and its reconstruction.

use asd_models::burn::tensor::{Tensor, assert_shape};

/// Mean over every value of the batch of `(reconstruction − input)²`: the DCASE autoencoder baseline's training loss
/// (per-vector mean over the values, summed and divided by the batch size: the same number; docs/dcase_ae.md §2).
///
/// # Shapes
/// - `input`, `reconstruction`: `[batch, width]`; output `[1]`
///
/// # Panics
/// If the shapes differ.
pub fn reconstruction_loss(input: Tensor<2>, reconstruction: Tensor<2>) -> Tensor<1> {
    let [batch, width] = input.dims();
    assert_shape!(reconstruction, [batch, width]);
    (reconstruction - input).square().mean()
}

/// Per-row mean of `(reconstruction − input)²`: each vector's reconstruction error.
///
/// # Shapes
/// - `input`, `reconstruction`: `[batch, width]`; output `[batch]`
///
/// # Panics
/// If the shapes differ.
pub fn reconstruction_error_per_row(input: Tensor<2>, reconstruction: Tensor<2>) -> Tensor<1> {
    let [batch, width] = input.dims();
    assert_shape!(reconstruction, [batch, width]);
    (reconstruction - input).square().mean_dim(1).reshape([batch])
}

#[cfg(test)]
mod tests {
    use super::*;
    use asd_models::burn::tensor::{Device, TensorData};

    /// Criterion: hand-computed squares. Errors (1, −2 | 0, 3): row means 2.5 and 4.5, batch mean 3.5.
    #[test]
    fn hand_computed_means() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0, 1.0, -1.0], [2, 2]), &device);
        let r = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 2.0], [2, 2]), &device);
        let loss: Vec<f32> = reconstruction_loss(x.clone(), r.clone())
            .into_data()
            .try_to_vec()
            .unwrap_or_default();
        let rows: Vec<f32> = reconstruction_error_per_row(x, r)
            .into_data()
            .try_to_vec()
            .unwrap_or_default();
        assert_eq!(loss, [3.5]);
        assert_eq!(rows, [2.5, 4.5]);
    }
}
