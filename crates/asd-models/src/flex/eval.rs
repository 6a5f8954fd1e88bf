//! Evaluation routes on the Flex backend (no autodiff): layers computed on the backend's buffers where Burn's
//! generic versions take extra passes.
//!
//! - **Dense Conv1d**: Flex decomposes a strided 1-D convolution into one product per kernel tap (re-reading
//!   the output each time) or, for a single input channel, a scalar loop over strided reads; here it is the
//!   input windows of each batch item and one matrix product (`crate::flex::kernels::conv1d`), bias included.
//! - **Depthwise and pointwise Conv2d** (MobileFaceNet): a register-blocked depthwise kernel on phase-split
//!   padded planes, and one matrix product per item for 1 × 1 layers, into buffers not zeroed first.
//! - **BatchNorm + PReLU** of a MobileFaceNet block: Burn's inference BatchNorm is four broadcast passes
//!   (subtract, divide, multiply, add) and its PReLU a masked select; here both are one pass,
//!   `y = x · scale + shift` per channel then the slope where `y < 0`, written in place when the
//!   convolution's output is not shared.
//!
//! Callers take these routes for inputs the module [`serves`]; a layer shape a route does not cover runs Burn's
//! layer. Values equal Burn's up to float32 rounding (tested below).

use crate::flex::kernels::{self, Depthwise, Geometry1d, Geometry2d, Planes, Pointwise, slice, tensor};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv2d};
use burn::nn::{BatchNorm, PRelu};
use burn::tensor::{DType, Device, Tensor, TensorData, activation};
use rayon::prelude::*;

/// Whether `t` is a float32 tensor on the plain Flex device, which the routes of this module serve.
pub(crate) fn serves<const D: usize>(t: &Tensor<D>) -> bool {
    let device = t.device();
    // equality of devices ignores autodiff
    t.dtype() == DType::F32 && device == Device::flex() && !device.is_autodiff()
}

/// The Flex primitive of `t` (on the plain Flex device), or `t` back if it cannot be had. Only the primitive
/// holds the buffer afterwards, so it stays unique if `t` was.
fn primitive<const D: usize>(t: Tensor<D>) -> Result<FlexTensor, Box<Tensor<D>>> {
    match t.clone().try_into_primitive::<Flex>() {
        Ok(p) => Ok(p),
        Err(_) => Err(Box::new(t)),
    }
}

/// A contiguous copy of a parameter's values on the plain Flex device, or `None`.
fn values<const D: usize>(t: Tensor<D>) -> Option<FlexTensor> {
    primitive(t).ok().map(|p| p.to_contiguous())
}

/// A layer's weight and bias (if any) as contiguous Flex primitives, or `None`.
fn weights<const D: usize>(
    weight: Tensor<D>,
    bias: Option<&Param<Tensor<1>>>,
) -> Option<(FlexTensor, Option<FlexTensor>)> {
    let weight = values(weight)?;
    match bias {
        Some(b) => Some((weight, Some(values(b.val())?))),
        None => Some((weight, None)),
    }
}

/// Applies a dense `conv` to `input` (`[batch, c_in, length]` → `[batch, c_out, n]`), as [`Conv1d::forward`],
/// followed by a ReLU when `relu`, for an input this module [`serves`]; layers [`Geometry1d::of`] rejects run
/// Burn's forward.
pub(crate) fn conv1d(conv: &Conv1d, input: Tensor<3>, relu: bool) -> Tensor<3> {
    let burn = |x: Tensor<3>| {
        let y = conv.forward(x);
        if relu { activation::relu(y) } else { y }
    };
    let (Some(g), Some((w, bias))) = (
        Geometry1d::of(conv, input.dims()),
        weights(conv.weight.val(), conv.bias.as_ref()),
    ) else {
        return burn(input);
    };
    let x = match primitive(input) {
        Ok(x) => x.to_contiguous(),
        Err(input) => return burn(*input),
    };
    let out = kernels::conv1d(slice(&x), slice(&w), bias.as_ref().map(slice), &g, relu);
    Tensor::from_primitive::<Flex>(tensor(out, [g.batch, g.c_out, g.n]))
}

/// Applies `conv` to `input` (`[batch, c_in, height, width]`), as [`Conv2d::forward`], for an input this
/// module [`serves`]: depthwise layers ([`Depthwise::of`]), pointwise ones ([`Pointwise::of`]) and dense ones
/// ([`Geometry2d::of`], at any channel count when `any_channels`) by the kernels of [`crate::flex::kernels`],
/// others by Burn's forward.
pub(crate) fn conv2d(conv: &Conv2d, input: Tensor<4>, any_channels: bool) -> Tensor<4> {
    /// The kernel a layer takes.
    enum Route {
        Depthwise(Depthwise),
        Pointwise(Pointwise),
        Dense(Geometry2d),
    }
    let dims = input.dims();
    let route = match (Depthwise::of(conv, dims), Pointwise::of(conv, dims)) {
        (Some(g), _) => Route::Depthwise(g),
        (None, Some(g)) => Route::Pointwise(g),
        (None, None) => match Geometry2d::of(conv, dims, any_channels) {
            Some(g) => Route::Dense(g),
            None => return conv.forward(input),
        },
    };
    let Some((w, bias)) = weights(conv.weight.val(), conv.bias.as_ref()) else {
        return conv.forward(input);
    };
    let x = match primitive(input) {
        Ok(x) => x.to_contiguous(),
        Err(input) => return conv.forward(*input),
    };
    let (x, w, bias) = (slice(&x), slice(&w), bias.as_ref().map(slice));
    let out = match route {
        Route::Depthwise(g) => tensor(kernels::depthwise(x, w, bias, &g), g.output_shape()),
        Route::Pointwise(g) => tensor(kernels::pointwise(x, w, bias, &g), g.output_shape()),
        Route::Dense(g) => tensor(kernels::conv2d(x, w, bias, &g), g.output_shape()),
    };
    Tensor::from_primitive::<Flex>(out)
}

/// Applies inference-mode `bn` and then `prelu`, if any, to `input` (`[batch, channels, height, width]`), as
/// [`BatchNorm::forward`] followed by [`PRelu::forward`], for an input this module [`serves`].
pub(crate) fn norm_act(bn: &BatchNorm, prelu: Option<&PRelu>, input: Tensor<4>) -> Tensor<4> {
    let burn = |x: Tensor<4>| {
        let y = bn.forward(x);
        prelu.map_or(y.clone(), |p| p.forward(y))
    };
    let g = Planes::of(input.dims());
    let params = [
        bn.gamma.val(),
        bn.beta.val(),
        bn.running_mean.value(),
        bn.running_var.value(),
    ]
    .map(values);
    let [Some(gamma), Some(beta), Some(mean), Some(var)] = params else {
        return burn(input);
    };
    let slopes = match prelu.map(|p| values(p.alpha.val())) {
        Some(Some(a)) if [1, g.channels].contains(&a.layout().shape()[0]) => Some(a),
        Some(_) => return burn(input),
        None => None,
    };
    let (gamma, beta, mean, var) = (slice(&gamma), slice(&beta), slice(&mean), slice(&var));
    let (scale, shift): (Vec<f32>, Vec<f32>) = (0..g.channels)
        .map(|c| {
            let scale = gamma[c] / (f64::from(var[c]) + bn.epsilon).sqrt() as f32;
            (scale, beta[c] - mean[c] * scale)
        })
        .unzip();
    let slopes = slopes.as_ref().map(slice);
    // plane p in place: x · scale + shift, then PReLU (slope 1, the identity, without a PReLU layer)
    let apply = |p: usize, plane: &mut [f32]| {
        let c = p % g.channels;
        let (a, b) = (scale[c], shift[c]);
        let k = slopes.map_or(1.0, |s| s[if s.len() == 1 { 0 } else { c }]);
        plane.iter_mut().for_each(|v| *v = kernels::prelu(*v * a + b, k));
    };
    let mut x = match primitive(input) {
        Ok(x) => x,
        Err(input) => return burn(*input),
    };
    let shape = x.layout().shape().clone();
    if x.layout().contiguous_offsets() == Some((0, g.values())) {
        if let Some(values) = x.try_storage_mut::<f32>() {
            values
                .par_chunks_mut(g.plane.max(1))
                .enumerate()
                .for_each(|(p, plane)| apply(p, plane));
            return Tensor::from_primitive::<Flex>(x);
        }
    }
    // shared with another tensor: a contiguous copy of its own, then in place
    let mut y = slice(&x.to_contiguous()).to_vec();
    y.par_chunks_mut(g.plane.max(1))
        .enumerate()
        .for_each(|(p, plane)| apply(p, plane));
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(y, shape)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::{Conv1dConfig, Conv2dConfig};
    use burn::nn::{BatchNormConfig, PReluConfig, PaddingConfig1d, PaddingConfig2d};
    use burn::tensor::Distribution;

    fn max_abs(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Criterion: the Conv1d route equals Burn's layer (and Burn's layer then ReLU) within float32 rounding for
    /// ASDNet's layer shapes, one input channel, padding, dilation, no bias, and batches smaller and larger than
    /// the thread count.
    #[test]
    fn conv1d_matches_burn() {
        let device = Device::flex();
        let cases = [
            // (c_in, c_out, kernel, stride, dilation, padding, bias, batch, length)
            (1, 16, 9, 6, 1, 0, true, 3, 401),
            (8, 12, 7, 5, 1, 0, true, 1, 300),
            (8, 12, 3, 2, 1, 1, false, 5, 64),
            (4, 6, 3, 1, 2, 2, true, 2, 40),
        ];
        for (c_in, c_out, kernel, stride, dilation, padding, bias, batch, length) in cases {
            let conv = Conv1dConfig::new(c_in, c_out, kernel)
                .with_stride(stride)
                .with_dilation(dilation)
                .with_padding(PaddingConfig1d::Explicit(padding, padding))
                .with_bias(bias)
                .init(&device);
            let x = Tensor::<3>::random([batch, c_in, length], Distribution::Normal(0.0, 1.0), &device);
            assert!(serves(&x));
            for relu in [false, true] {
                let ours = conv1d(&conv, x.clone(), relu);
                let burn = conv.forward(x.clone());
                let burn = if relu { activation::relu(burn) } else { burn };
                assert_eq!(ours.dims(), burn.dims());
                let d = max_abs(ours, burn);
                assert!(d < 1e-5, "c_in {c_in} kernel {kernel} stride {stride} relu {relu}: {d}");
            }
        }
    }

    /// Criterion: the depthwise and pointwise routes equal Burn's layer within float32 rounding: 3 × 3 and 5 × 3
    /// kernels, strides 1 and 2 (also 2 × 1), padding 0 to 2, bias or none, rows narrower than, equal to and
    /// wider than the register block (32), one plane per channel and batches of 1 and 3.
    #[test]
    fn conv2d_matches_burn() {
        let device = Device::flex();
        // (channels, kernel, stride, padding, bias, [batch, height, width])
        let depthwise = [
            (4, [3, 3], [1, 1], 1, false, [3, 9, 70]),
            (4, [3, 3], [2, 2], 1, true, [1, 11, 157]),
            (3, [5, 3], [2, 1], 2, false, [2, 8, 32]),
            (2, [3, 3], [1, 2], 0, true, [2, 7, 20]),
        ];
        for (channels, kernel, stride, pad, bias, [batch, height, width]) in depthwise {
            let conv = Conv2dConfig::new([channels, channels], kernel)
                .with_groups(channels)
                .with_stride(stride)
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_bias(bias)
                .init(&device);
            let x = Tensor::<4>::random(
                [batch, channels, height, width],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let d = (conv2d(&conv, x.clone(), false) - conv.forward(x))
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(
                d < 1e-5,
                "depthwise {kernel:?} stride {stride:?} pad {pad} {width} wide: {d}"
            );
        }
        for (batch, bias) in [(3, true), (1, false)] {
            let conv = Conv2dConfig::new([6, 5], [1, 1]).with_bias(bias).init(&device);
            let x = Tensor::<4>::random([batch, 6, 4, 9], Distribution::Normal(0.0, 1.0), &device);
            let d = (conv2d(&conv, x.clone(), false) - conv.forward(x))
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(d < 1e-5, "pointwise, batch {batch}: {d}");
        }
        // Dense layers: SE-ResNet18's 3 × 3 blocks (stride 1 and 2), its 1 × 1 stride-2 shortcut, a rectangular
        // kernel without padding; one item (the product on every thread) and several; a first layer of one channel
        // (SE-ResNet18's 7 × 7 stem), on Burn's route and, asked for, on the im2col one.
        // (c_in, c_out, kernel, stride, padding, bias, [batch, height, width])
        let dense = [
            (4, 6, [3, 3], [1, 1], [1, 1], false, [3, 8, 10]),
            (4, 6, [3, 3], [2, 2], [1, 1], true, [1, 9, 11]),
            (4, 6, [1, 1], [2, 2], [0, 0], false, [2, 7, 9]),
            (1, 5, [7, 7], [2, 2], [3, 3], false, [2, 16, 21]),
            (3, 2, [2, 4], [1, 3], [0, 0], true, [5, 5, 13]),
        ];
        for (c_in, c_out, kernel, stride, [ph, pw], bias, [batch, height, width]) in dense {
            let conv = Conv2dConfig::new([c_in, c_out], kernel)
                .with_stride(stride)
                .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                .with_bias(bias)
                .init(&device);
            let x = Tensor::<4>::random([batch, c_in, height, width], Distribution::Normal(0.0, 1.0), &device);
            for any_channels in [false, true] {
                let d = (conv2d(&conv, x.clone(), any_channels) - conv.forward(x.clone()))
                    .abs()
                    .max()
                    .into_scalar::<f32>();
                assert!(d < 1e-4, "dense {kernel:?} stride {stride:?}, batch {batch}: {d}");
            }
        }
    }

    /// Criterion: BatchNorm (inference) + PReLU equals Burn's two layers within float32 rounding, with
    /// per-channel and shared slopes and without PReLU, on a fresh tensor (in place) and a shared one (copied,
    /// leaving the shared tensor unchanged).
    #[test]
    fn norm_act_matches_burn() {
        let device = Device::flex();
        let mut bn = BatchNormConfig::new(4).init(&device);
        let random = |lo: f64, hi: f64| Tensor::<1>::random([4], Distribution::Uniform(lo, hi), &device);
        bn.gamma = Param::from_tensor(random(0.5, 1.5));
        bn.beta = Param::from_tensor(random(-1.0, 1.0));
        bn.running_mean = burn::module::RunningState::new(random(-0.5, 0.5));
        bn.running_var = burn::module::RunningState::new(random(0.5, 2.0));
        let x = Tensor::<4>::random([3, 4, 5, 6], Distribution::Normal(0.0, 2.0), &device);
        for slopes in [Some(4), Some(1), None] {
            let prelu = slopes.map(|n| PReluConfig::new().with_num_parameters(n).with_alpha(0.2).init(&device));
            let burn = {
                let y = bn.forward(x.clone());
                prelu.as_ref().map_or(y.clone(), |p| p.forward(y))
            };
            let fresh = norm_act(&bn, prelu.as_ref(), x.clone() * 1.0);
            let kept = x.clone();
            let shared = norm_act(&bn, prelu.as_ref(), x.clone());
            for (name, ours) in [("fresh", fresh), ("shared", shared)] {
                let d = (ours - burn.clone()).abs().max().into_scalar::<f32>();
                assert!(d < 1e-5, "{slopes:?} slopes, {name}: {d}");
            }
            assert_eq!(
                kept.into_data(),
                x.clone().into_data(),
                "the shared input is not written"
            );
        }
    }

    /// Criterion: autodiff devices and other dtypes are not served (training keeps its own routes).
    #[test]
    fn serves_the_plain_flex_device_only() {
        assert!(serves(&Tensor::<3>::zeros([1, 2, 8], &Device::flex())));
        assert!(!serves(&Tensor::<3>::zeros([1, 2, 8], &Device::flex().autodiff())));
        let half = Tensor::<3>::zeros([1, 2, 8], &Device::flex()).cast(DType::F16);
        assert!(!serves(&half));
    }
}
