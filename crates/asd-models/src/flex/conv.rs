//! Convolutions routed to the fastest computation of the device and mode; every route computes the same function
//! as the layer's own `forward` up to float32 rounding of the sums' order (tested against Burn's convolution,
//! values and gradients).
//!
//! - **Evaluation on Flex** (`crate::flex::eval`): dense 1-D and 2-D layers (of at least 4 input channels) as im2col
//!   and one matrix product per item, pointwise 2-D layers as one product per item, depthwise 2-D layers by a register-blocked kernel.
//! - **Training on Flex** (custom autodiff operations, `crate::flex::backward`): dense 1-D layers, depthwise and
//!   pointwise 2-D layers, dense 2-D hidden layers (a tracked input of at least 4 channels), with the same forward
//!   kernels. Burn's generic weight gradient of a convolution is
//!   itself a convolution over the batch axis with the output gradient as its kernel (e.g. 2 666 taps wide for
//!   ASDNet's first layer), which Flex computes through a very skinny im2col product; there it is one matrix
//!   product per item.
//! - **Other dense 2-D layers in training** whose input needs no gradient (a network's first layer, fed with
//!   data): the input windows of every kernel tap are gathered by strided slices into
//!   `[batch, taps · c_in, positions]` and multiplied by the weight in one broadcast matrix product, so the
//!   weight gradient is `Σ_batch grad · colsᵀ`.
//!
//! Everything else (`Same` padding, dense 2-D layers with a tracked input, other devices) runs the layer's own
//! `forward` (figures in `docs/performance.md`).

use burn::nn::conv::{Conv1d, Conv2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Slice, Tensor};

/// `[start, start + step · (count − 1)]` with stride `step`: the positions a kernel tap reads along one axis.
fn taps(start: usize, count: usize, step: usize) -> Slice {
    Slice::new(
        start as isize,
        Some((start + step * (count - 1) + 1) as isize),
        step as isize,
    )
}

/// Output length of a convolution axis: `⌊(len − dilation · (kernel − 1) − 1) / stride⌋ + 1`, with `len` padded.
fn out_len(len: usize, kernel: usize, stride: usize, dilation: usize) -> Option<usize> {
    len.checked_sub(dilation * (kernel - 1) + 1).map(|n| n / stride + 1)
}

/// Whether the matrix-product route serves a dense 2-D layer on this input: training, and the input needs no
/// gradient.
fn product_route(input: &Tensor<4>, groups: usize) -> bool {
    input.device().is_autodiff() && groups == 1 && !input.is_tracked()
}

/// Applies `conv` to `input` (`[batch, c_in, length]` → `[batch, c_out, length']`), as [`Conv1d::forward`].
///
/// # Panics
/// As [`Conv1d::forward`]: if the channel axis differs from the layer's or the input is shorter than the kernel.
pub fn conv1d(conv: &Conv1d, input: Tensor<3>) -> Tensor<3> {
    if crate::flex::eval::serves(&input) {
        return crate::flex::eval::conv1d(conv, input, false);
    }
    crate::flex::backward::conv1d(conv, &input).unwrap_or_else(|| conv.forward(input))
}

/// [`conv1d`] followed by a ReLU; on the evaluation route the ReLU runs inside the convolution, on each item's
/// output while it is in cache, instead of as a pass of its own.
///
/// # Panics
/// As [`conv1d`].
pub fn conv1d_relu(conv: &Conv1d, input: Tensor<3>) -> Tensor<3> {
    if crate::flex::eval::serves(&input) {
        return crate::flex::eval::conv1d(conv, input, true);
    }
    relu(conv1d(conv, input))
}

/// Applies `conv` to `input` (`[batch, c_in, height, width]` → `[batch, c_out, height', width']`), as
/// [`Conv2d::forward`].
///
/// # Panics
/// As [`Conv2d::forward`]: if the channel axis differs from the layer's or the input is smaller than the kernel.
pub fn conv2d(conv: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    route2d(conv, input, false)
}

/// [`conv2d`] with a dense layer of any channel count on the im2col route that hidden layers take (in training
/// when its input is tracked): for a network's first layer over few feature channels, which [`conv2d`] leaves on
/// its earlier route to keep the MobileFaceNet systems' rounding (SE-ResNet18's stem takes this one).
///
/// # Panics
/// As [`conv2d`].
pub fn conv2d_im2col(conv: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    route2d(conv, input, true)
}

/// [`conv2d`]'s routes; `any_channels` lets a dense layer of fewer than 4 input channels take the im2col one.
fn route2d(conv: &Conv2d, input: Tensor<4>, any_channels: bool) -> Tensor<4> {
    if crate::flex::eval::serves(&input) {
        return crate::flex::eval::conv2d(conv, input, any_channels);
    }
    if let Some(out) = crate::flex::backward::depthwise2d(conv, &input) {
        return out;
    }
    if let Some(out) = crate::flex::backward::pointwise2d(conv, &input) {
        return out;
    }
    let [top, left, bottom, right] = match conv.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Same => return conv.forward(input),
    };
    let [c_out, c_in, kh, kw] = conv.weight.dims();
    if !product_route(&input, conv.groups) {
        return crate::flex::backward::dense2d(conv, &input, any_channels).unwrap_or_else(|| conv.forward(input));
    }
    let x = if top + left + bottom + right > 0 {
        input.pad([(top, bottom), (left, right)], PadMode::Constant(0.0))
    } else {
        input
    };
    let [batch, x_in, height, width] = x.dims();
    assert_eq!(x_in, c_in, "conv2d: input has {x_in} channels, the layer {c_in}");
    let [sh, sw] = conv.stride;
    let [dh, dw] = conv.dilation;
    let (Some(oh), Some(ow)) = (out_len(height, kh, sh, dh), out_len(width, kw, sw, dw)) else {
        panic!("conv2d: {height} × {width}, smaller than the kernel"); // ok: dense MFN kernels fit any plane
    };
    let window = |t: usize| {
        let (i, j) = (t / kw, t % kw);
        x.clone()
            .slice([Slice::full(), Slice::full(), taps(i * dh, oh, sh), taps(j * dw, ow, sw)])
            .reshape([batch, c_in, oh * ow])
    };
    let cols = Tensor::cat((0..kh * kw).map(window).collect(), 1);
    // tap-major columns: the weight's rows are laid out [tap][c_in]
    let weight = conv
        .weight
        .val()
        .reshape([c_out, c_in, kh * kw])
        .swap_dims(1, 2)
        .reshape([1, c_out, kh * kw * c_in]);
    let out = weight.matmul(cols).reshape([batch, c_out, oh, ow]);
    match &conv.bias {
        Some(bias) => out + bias.val().reshape([1, c_out, 1, 1]),
        None => out,
    }
}

/// Applies `bn` to a map `[batch, channels, height, width]`, as PyTorch's `BatchNorm2d` does: on Flex in evaluation
/// one in-place pass (`crate::flex::eval::norm_act`), in training the custom operation with its own backward pass
/// (`crate::flex::norm::batch_norm`); Burn's layer elsewhere. In training the running variance moves with the
/// unbiased batch variance, as PyTorch's does ([`torch_running_variance`]).
pub fn batch_norm2d(bn: &BatchNorm, input: Tensor<4>) -> Tensor<4> {
    if crate::flex::eval::serves(&input) {
        return crate::flex::eval::norm_act(bn, None, input);
    }
    let [batch, _, height, width] = input.dims();
    let trains = input.device().is_autodiff();
    torch_running_variance(bn, batch * height * width, trains, || {
        crate::flex::norm::batch_norm(bn, &input).unwrap_or_else(|| bn.forward(input))
    })
}

/// Applies `bn` to `[batch, channels, length]`, as PyTorch's `BatchNorm1d` does: the statistics of each channel over
/// batch and length are those of a map of height 1, so it runs as [`batch_norm2d`] on `[batch, channels, 1, length]`.
pub fn batch_norm1d(bn: &BatchNorm, input: Tensor<3>) -> Tensor<3> {
    let [batch, channels, length] = input.dims();
    batch_norm2d(bn, input.reshape([batch, channels, 1, length])).reshape([batch, channels, length])
}

/// Applies `bn` to vectors `[batch, channels]`, as PyTorch's `BatchNorm1d` does (Burn's layer, with the running
/// variance moved as PyTorch moves it, [`torch_running_variance`]).
pub fn batch_norm_vectors(bn: &BatchNorm, input: Tensor<2>) -> Tensor<2> {
    let [batch, _] = input.dims();
    let trains = input.device().is_autodiff();
    torch_running_variance(bn, batch, trains, || bn.forward(input))
}

/// Runs `forward`, a training step of `bn` over `count` values per channel, and makes its running-variance update
/// PyTorch's: Burn moves the running variance towards the biased batch variance `v`, PyTorch towards the unbiased
/// `v · n/(n − 1)` (its `BatchNorm` documentation; `golden/dcase_ae` checks it), so with momentum `m` the update
/// `(1 − m)·r + m·v` becomes `(1 − m)·r + m·v·n/(n − 1)`. `trains` says whether the input is on an autodiff device:
/// the layer takes its training path, and updates its statistics, only there and with its training flag on (Burn's
/// rule). Otherwise (and for `n` < 2, where the unbiased variance is undefined) `forward` runs alone.
fn torch_running_variance<T>(bn: &BatchNorm, count: usize, trains: bool, forward: impl FnOnce() -> T) -> T {
    let variance = TorchVariance::before(bn, count, trains);
    let out = forward();
    variance.correct(bn);
    out
}

/// The running variance before a training step of a BatchNorm, to make the step's update PyTorch's afterwards
/// ([`torch_running_variance`]); empty when the step does not update it.
pub(crate) struct TorchVariance {
    /// The running variance before the step and the values per channel, when the step updates it.
    before: Option<(Tensor<1>, usize)>,
}

impl TorchVariance {
    /// Notes `bn`'s running variance before a step over `count` values per channel (`trains`: on an autodiff
    /// device).
    pub(crate) fn before(bn: &BatchNorm, count: usize, trains: bool) -> Self {
        let updates = trains && bn.training.is_enabled() && count >= 2;
        Self {
            before: updates.then(|| (bn.running_var.value_sync(), count)),
        }
    }

    /// Replaces the step's update `(1 − m)·r + m·v` of `bn`'s running variance by `(1 − m)·r + m·v·n/(n − 1)`.
    pub(crate) fn correct(self, bn: &BatchNorm) {
        let Some((before, count)) = self.before else { return };
        let after = bn.running_var.value_sync().to_device(&before.device());
        let kept = before.mul_scalar(1.0 - bn.momentum);
        let n = count as f64;
        let corrected = kept.clone() + (after - kept).mul_scalar(n / (n - 1.0));
        bn.running_var.update(corrected.detach());
    }
}

#[cfg(test)]
mod tests {
    //! The matrix-product route against Burn's own convolution (an independent implementation), on an
    //! autodiff device: outputs, and the gradients of a fixed projection of the output with respect to the
    //! weight, the bias and (when it is tracked) the input.
    use super::*;
    use burn::nn::PaddingConfig1d;
    use burn::nn::conv::{Conv1dConfig, Conv2dConfig};
    use burn::tensor::{Device, Distribution, Tensor};

    /// Float32 rounding of sums over at most a few hundred terms in different orders, with a margin.
    const TOL: f32 = 1e-5;

    /// Largest |a − b| relative to the largest |b|.
    fn rel_diff<const D: usize, const E: usize>(a: Tensor<D>, b: Tensor<E>) -> f32 {
        let b = b.reshape([-1]);
        let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-12);
        (a.reshape([-1]) - b).abs().max().into_scalar::<f32>() / scale
    }

    /// A layer as the tests see it: our function, Burn's forward, and its weight and bias.
    trait Layer<const D: usize> {
        fn ours(&self, x: Tensor<D>) -> Tensor<D>;
        fn burn(&self, x: Tensor<D>) -> Tensor<D>;
        fn params(&self) -> (Tensor<D>, Option<Tensor<1>>);
    }

    impl Layer<3> for Conv1d {
        fn ours(&self, x: Tensor<3>) -> Tensor<3> {
            conv1d(self, x)
        }
        fn burn(&self, x: Tensor<3>) -> Tensor<3> {
            self.forward(x)
        }
        fn params(&self) -> (Tensor<3>, Option<Tensor<1>>) {
            (self.weight.val(), self.bias.as_ref().map(|b| b.val()))
        }
    }

    impl Layer<4> for Conv2d {
        fn ours(&self, x: Tensor<4>) -> Tensor<4> {
            conv2d(self, x)
        }
        fn burn(&self, x: Tensor<4>) -> Tensor<4> {
            self.forward(x)
        }
        fn params(&self) -> (Tensor<4>, Option<Tensor<1>>) {
            (self.weight.val(), self.bias.as_ref().map(|b| b.val()))
        }
    }

    /// A dense 2-D layer on the im2col route whatever its channel count ([`conv2d_im2col`]).
    struct Im2col(Conv2d);

    impl Layer<4> for Im2col {
        fn ours(&self, x: Tensor<4>) -> Tensor<4> {
            conv2d_im2col(&self.0, x)
        }
        fn burn(&self, x: Tensor<4>) -> Tensor<4> {
            self.0.forward(x)
        }
        fn params(&self) -> (Tensor<4>, Option<Tensor<1>>) {
            self.0.params()
        }
    }

    /// Compares both routes on a random input of `shape`, with the input untracked (data, as a first layer
    /// sees it) and tracked (a hidden layer).
    fn check<const D: usize, L: Layer<D>>(layer: &L, shape: [usize; D], what: &str) {
        let device = Device::flex().autodiff();
        let x = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        for tracked in [false, true] {
            let run = |f: &dyn Fn(Tensor<D>) -> Tensor<D>| {
                let input = if tracked { x.clone().require_grad() } else { x.clone() };
                let out = f(input.clone());
                let probe = Tensor::<D>::ones(out.shape(), &device).cumsum(D - 1).sin();
                let grads = (out.clone() * probe).sum().backward();
                let (weight, bias) = layer.params();
                let mut g = vec![weight.grad(&grads).expect("weight gradient").reshape([-1])];
                g.extend(bias.map(|b| b.grad(&grads).expect("bias gradient")));
                g.extend(tracked.then(|| input.grad(&grads).expect("input gradient").reshape([-1])));
                (out.detach(), g)
            };
            let (out_a, grads_a) = run(&|x| layer.ours(x));
            let (out_b, grads_b) = run(&|x| layer.burn(x));
            let what = format!("{what} (input tracked: {tracked})");
            assert_eq!(out_a.dims(), out_b.dims(), "{what}: shape");
            let d = rel_diff(out_a, out_b);
            assert!(d < TOL, "{what}: output differs by {d}");
            assert_eq!(grads_a.len(), grads_b.len());
            for (i, (a, b)) in grads_a.into_iter().zip(grads_b).enumerate() {
                let d = rel_diff(a, b);
                assert!(d < TOL, "{what}: gradient {i} differs by {d}");
            }
        }
    }

    #[test]
    fn conv1d_matches_burn() {
        let device = Device::flex().autodiff();
        let strided = Conv1dConfig::new(3, 5, 4).with_stride(3).init(&device);
        check(&strided, [2, 3, 40], "strided");
        check(&strided, [1, 3, 40], "one item (the product on every thread)");
        check(&strided, [9, 3, 40], "more items than threads on most machines");
        let dilated = Conv1dConfig::new(2, 4, 3)
            .with_dilation(2)
            .with_padding(PaddingConfig1d::Explicit(2, 1))
            .init(&device);
        check(&dilated, [3, 2, 17], "dilated, padded on one side more (Burn's layer)");
        let symmetric = Conv1dConfig::new(3, 4, 3)
            .with_stride(2)
            .with_dilation(2)
            .with_padding(PaddingConfig1d::Explicit(2, 2))
            .init(&device);
        check(&symmetric, [2, 3, 19], "strided, dilated, padded on both sides");
        let first = Conv1dConfig::new(1, 6, 16)
            .with_stride(8)
            .with_bias(false)
            .init(&device);
        check(&first, [2, 1, 64], "one channel, no bias");
    }

    #[test]
    fn conv2d_matches_burn() {
        let device = Device::flex().autodiff();
        let dense = Conv2dConfig::new([2, 4], [3, 3])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        check(&dense, [2, 2, 9, 11], "dense 3 × 3, stride 2, padded");
        let pointwise = Conv2dConfig::new([3, 5], [1, 1]).with_bias(false).init(&device);
        check(&pointwise, [2, 3, 4, 6], "pointwise");
        check(&pointwise, [1, 3, 4, 6], "pointwise, one item");
        let rectangular = Conv2dConfig::new([1, 3], [2, 4]).with_stride([1, 3]).init(&device);
        check(&rectangular, [2, 1, 5, 13], "2 × 4 kernel, stride 1 × 3");
        // SE-ResNet18's layers: 3 × 3 blocks, the 1 × 1 stride-2 shortcut, and the 7 × 7 stem (one input channel:
        // Burn's route, or the broadcast product for data).
        let block = Conv2dConfig::new([4, 6], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(&device);
        check(&block, [3, 4, 8, 10], "dense 3 × 3, stride 1, padded");
        check(&block, [1, 4, 8, 10], "dense 3 × 3, one item");
        check(
            &block,
            [9, 4, 6, 7],
            "dense 3 × 3, more items than threads on most machines",
        );
        let shortcut = Conv2dConfig::new([4, 6], [1, 1])
            .with_stride([2, 2])
            .with_bias(false)
            .init(&device);
        check(&shortcut, [2, 4, 7, 9], "1 × 1, stride 2");
        let stem = Conv2dConfig::new([1, 5], [7, 7])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
            .init(&device);
        check(&stem, [2, 1, 16, 21], "7 × 7, stride 2, padded 3");
        check(
            &Im2col(stem),
            [2, 1, 16, 21],
            "7 × 7, stride 2, padded 3, on the im2col route",
        );
    }

    /// Depthwise layers take the hand-written backward pass of `crate::flex::backward` (MobileFaceNet's 3 × 3
    /// depthwise convolutions at strides 1 and 2, and its GDC layer, whose kernel covers the whole plane).
    #[test]
    fn depthwise_conv2d_matches_burn() {
        let device = Device::flex().autodiff();
        let depthwise = |c: usize, kernel: [usize; 2], stride: usize, pad: usize, bias: bool| {
            Conv2dConfig::new([c, c], kernel)
                .with_groups(c)
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_bias(bias)
                .init(&device)
        };
        check(
            &depthwise(4, [3, 3], 1, 1, false),
            [2, 4, 9, 21],
            "depthwise 3 × 3, stride 1",
        );
        check(
            &depthwise(3, [3, 3], 2, 1, false),
            [3, 3, 10, 17],
            "depthwise 3 × 3, stride 2",
        );
        check(
            &depthwise(5, [4, 7], 1, 0, true),
            [2, 5, 4, 7],
            "depthwise GDC 4 × 7, bias",
        );
        check(
            &depthwise(2, [3, 3], 2, 0, false),
            [2, 2, 8, 9],
            "depthwise 3 × 3, stride 2, unpadded",
        );
    }

    /// Criterion: [`batch_norm1d`] equals Burn's BatchNorm on `[batch, channels, length]` in evaluation (running
    /// statistics) and in training (batch statistics, the running mean, gradients of a fixed projection with respect
    /// to the input and γ, β), and moves its running variance as PyTorch does (with the unbiased batch variance).
    #[test]
    fn batch_norm_1d_matches_burn() {
        use burn::module::Module;
        use burn::nn::BatchNormConfig;
        let eval = Device::flex();
        eval.seed(4);
        let x = Tensor::<3>::random([3, 5, 40], Distribution::Normal(0.5, 2.0), &eval);
        let weights = Tensor::<3>::random([3, 5, 40], Distribution::Uniform(-1.0, 1.0), &eval);
        let bn = BatchNormConfig::new(5).init(&eval);
        // calibrated running statistics, so that evaluation is not the identity
        let train = eval.clone().autodiff();
        let trained = bn.clone().fork(&train);
        let on_train = |t: &Tensor<3>| Tensor::<3>::from_data(t.to_data(), &train);
        let _ = trained.forward(on_train(&x));
        let bn = trained.valid();
        assert!(
            rel_diff(batch_norm1d(&bn, x.clone()), bn.forward(x.clone())) < TOL,
            "evaluation"
        );

        let (ours, burn) = (bn.clone().train().fork(&train), bn.clone().train().fork(&train));
        let xs = [on_train(&x).require_grad(), on_train(&x).require_grad()];
        let w = on_train(&weights);
        let out = [batch_norm1d(&ours, xs[0].clone()), burn.forward(xs[1].clone())];
        assert!(rel_diff(out[0].clone(), out[1].clone()) < TOL, "training output");
        let grads: Vec<_> = out.iter().map(|y| (y.clone() * w.clone()).sum().backward()).collect();
        let grad = |i: usize| xs[i].grad(&grads[i]).expect("input gradient");
        assert!(rel_diff(grad(0), grad(1)) < TOL, "input gradient");
        let gamma = |bn: &BatchNorm, g| bn.gamma.grad(g).expect("γ gradient");
        assert!(
            rel_diff(gamma(&ours, &grads[0]), gamma(&burn, &grads[1])) < TOL,
            "γ gradient"
        );
        let (ours, burn) = (ours.valid(), burn.valid());
        let mean = |bn: &BatchNorm| bn.running_mean.value();
        assert!(rel_diff(mean(&ours), mean(&burn)) < TOL, "running mean");
        // PyTorch's running variance: Burn's update with the unbiased batch variance, n = batch · length = 120.
        let (var_ours, var_burn, before) = (
            ours.running_var.value(),
            burn.running_var.value(),
            bn.running_var.value().to_device(&train),
        );
        let kept = before.mul_scalar(1.0 - bn.momentum);
        let torch = kept.clone() + (var_burn - kept).mul_scalar(120.0 / 119.0);
        assert!(rel_diff(var_ours, torch) < TOL, "running variance");
    }
}
