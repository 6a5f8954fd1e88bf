//! Layers with backward passes written for the CPU: custom operations of Burn's autodiff graph on the Flex
//! backend, for the four kinds of convolution whose generic backward pass is slowest there.
//!
//! **Depthwise 2-D** (one filter per channel, `groups = channels`). Burn's generic backward pass of a grouped
//! convolution, which Flex inherits, loops over the groups: one small convolution per channel for the weight
//! gradient and a grouped transposed convolution for the input gradient. On MobileFaceNet's first depthwise
//! layer (`[16, 64, 64, 157]`, 3 × 3) forward and backward took 419 ms against 61 ms for the forward alone
//! (`docs/performance.md`). Here the backward pass reads each plane of the input and of the output gradient
//! once per kernel tap: the input gradient scatters `gradient · weight` back along the taps, the weight
//! gradient sums `gradient · input` over batch and positions. The forward values are Flex's convolution.
//!
//! **Dense 1-D** (ASDNet's and TgramNet's layers). Burn's weight gradient is a convolution over the batch axis
//! with the output gradient as its kernel, which Flex computes through a very skinny product. Here the forward
//! pass and the weight gradient are one matrix product per batch item with the item's input windows (im2col,
//! [`crate::flex::kernels`]); the input gradient is Flex's transposed convolution.
//!
//! **Dense 2-D** hidden layers with a tracked input (SE-ResNet18's blocks and shortcuts). Burn's
//! generic backward pass gives the weight gradient through the same skinny product and the input gradient through
//! a transposed convolution, and its forward converts every input to channels-last on one thread. Here forward,
//! weight gradient and input gradient are one matrix product per batch item with the item's input windows
//! (im2col, gathered again in the backward pass instead of kept) and, for the input gradient, their adjoint
//! (col2im).
//!
//! **Pointwise 2-D** (MobileFaceNet's 1 × 1 layers): the forward pass, the input gradient and the weight
//! gradient are one matrix product per item each, written into fresh buffers without zeroing them first;
//! Burn's matrix product would transpose copies of the operands for the backward pass.
//!
//! The normalisation and activation layers that MobileFaceNet puts between these convolutions have operations of
//! their own in [`crate::flex::norm`].
//!
//! Other devices, other layer shapes and evaluation take the routes of [`crate::flex::conv`] and [`crate::flex::eval`].

use crate::flex::kernels::{
    self, Depthwise, Geometry1d, Geometry2d, Pointwise, axpy, block_sums, dense, slice, tensor, valid,
};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv2d};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

/// The autodiff backend whose tensors take the hand-written backward pass.
pub(super) type Ad = Autodiff<Flex, NoCheckpointing>;

/// Whether this module's operations may serve `t`: float32 on an autodiff device (the training twin of
/// `eval::serves`). Whether the backend is Flex is settled when the primitive is taken as [`Ad`].
pub(super) fn serves<const D: usize>(t: &Tensor<D>) -> bool {
    t.device().is_autodiff() && t.dtype() == DType::F32
}

/// Applies a depthwise `conv` to `input` (`[batch, channels, height, width]` → `[batch, channels, oh, ow]`),
/// as [`Conv2d::forward`], on an autodiff device of the Flex backend; `None` when this module does not serve
/// the layer or the device (the caller then takes another route).
pub(crate) fn depthwise2d(conv: &Conv2d, input: &Tensor<4>) -> Option<Tensor<4>> {
    if !serves(input) {
        return None;
    }
    let geometry = Depthwise::of(conv, input.dims())?;
    let output = record(DepthwiseBackward, input, conv.weight.val(), geometry, |x, w, g| {
        tensor(kernels::depthwise(slice(x), slice(w), None, g), g.output_shape())
    })?;
    Some(add_bias(output, conv.bias.as_ref()))
}

/// The backward step of the depthwise operation.
#[derive(Debug)]
struct DepthwiseBackward;

impl Backward<Flex, 2> for DepthwiseBackward {
    /// Input and weight primitives, and the geometry.
    type State = (FlexTensor, FlexTensor, Depthwise);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w, g) = ops.state;
        let grad = grad.to_contiguous();
        let (gx, gw) = depthwise_gradients(
            slice(&x),
            slice(&w),
            slice(&grad),
            &g,
            node_x.is_some(),
            node_w.is_some(),
        );
        if let (Some(node), Some(gx)) = (node_x, gx) {
            grads.register::<Flex>(node.id, tensor(gx, [g.batch, g.channels, g.height, g.width]));
        }
        if let (Some(node), Some(gw)) = (node_w, gw) {
            grads.register::<Flex>(node.id, tensor(gw, [g.channels, 1, g.kernel[0], g.kernel[1]]));
        }
    }
}

/// Records a two-input operation in the autodiff graph: the input `x` and a parameter `w` become contiguous
/// Flex primitives, `forward` computes the output from them, and `step`'s backward pass later receives them
/// with `geometry` as its state. `None` when a tensor is not on `Autodiff<Flex>`.
pub(super) fn record<const D: usize, const E: usize, S, G>(
    step: S,
    x: &Tensor<D>,
    w: Tensor<E>,
    geometry: G,
    forward: impl FnOnce(&FlexTensor, &FlexTensor, &G) -> FlexTensor,
) -> Option<Tensor<D>>
where
    S: Backward<Flex, 2, State = (FlexTensor, FlexTensor, G)>,
    G: Clone + Send + std::fmt::Debug + 'static,
{
    let (x, x_node) = x.clone().try_into_primitive::<Ad>().ok()?.into_parts();
    let (w, w_node) = w.try_into_primitive::<Ad>().ok()?.into_parts();
    let (x, w) = (x.to_contiguous(), w.to_contiguous());
    let out = forward(&x, &w, &geometry);
    let out = match step
        .prepare::<NoCheckpointing>([x_node, w_node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x, w, geometry), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// `output` (`[batch, channels, …]`) plus a per-channel `bias` (`[channels]`), if any.
pub(super) fn add_bias<const D: usize>(output: Tensor<D>, bias: Option<&Param<Tensor<1>>>) -> Tensor<D> {
    match bias {
        Some(bias) => {
            let mut shape = [1; D];
            shape[1] = bias.dims()[0];
            output + bias.val().reshape(shape)
        }
        None => output,
    }
}

/// Input and weight gradients of the depthwise convolution (`x`: `[batch, channels, height, width]`, `w`:
/// `[channels, taps]`, `grad`: `[batch, channels, oh, ow]`, all contiguous), each only when asked for.
pub(super) fn depthwise_gradients(
    x: &[f32],
    w: &[f32],
    grad: &[f32],
    g: &Depthwise,
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let [kh, kw] = g.kernel;
    let taps = kh * kw;
    let [oh, ow] = g.out;
    let (plane_in, plane_out) = (g.height * g.width, oh * ow);
    let planes = g.batch * g.channels;
    // One plane (batch item b, channel c = p mod channels), compiled per instruction set.
    let plane = |p: usize, gx: Option<&mut [f32]>, gw: &mut [f32]| {
        pulp::Arch::new().dispatch(PlaneGradients {
            x: &x[p * plane_in..][..plane_in],
            grad: &grad[p * plane_out..][..plane_out],
            w: &w[(p % g.channels) * taps..][..taps],
            g,
            gx,
            gw,
        });
    };
    let mut parts = vec![0.0_f32; if want_w { planes * taps } else { 0 }];
    let gx = if want_x {
        let mut gx = vec![0.0_f32; planes * plane_in];
        if want_w {
            gx.par_chunks_mut(plane_in)
                .zip(parts.par_chunks_mut(taps))
                .enumerate()
                .for_each(|(p, (gx, gw))| plane(p, Some(gx), gw));
        } else {
            gx.par_chunks_mut(plane_in)
                .enumerate()
                .for_each_init(|| vec![0.0_f32; taps], |gw, (p, gx)| plane(p, Some(gx), gw));
        }
        Some(gx)
    } else {
        if want_w {
            parts
                .par_chunks_mut(taps)
                .enumerate()
                .for_each(|(p, gw)| plane(p, None, gw));
        }
        None
    };
    let gw = want_w.then(|| {
        // Σ over the batch of each (channel, tap) term
        let mut gw = vec![0.0_f32; g.channels * taps];
        for (i, v) in gw.iter_mut().enumerate() {
            *v = (0..g.batch)
                .map(|b| f64::from(parts[b * g.channels * taps + i]))
                .sum::<f64>() as f32;
        }
        gw
    });
    (gx, gw)
}

/// One plane of the depthwise gradients: its input `x` (`[height, width]`), output gradient `grad`
/// (`[oh, ow]`) and filter `w` (`[kh · kw]`); every tap's weight-gradient term goes into `gw` (`[kh · kw]`)
/// and, if asked, the input gradient into `gx` (`[height, width]`). Compiled for the widest SIMD instruction
/// set of the CPU through `pulp` (as `crate::flex::kernels` does).
struct PlaneGradients<'a> {
    x: &'a [f32],
    grad: &'a [f32],
    w: &'a [f32],
    g: &'a Depthwise,
    gx: Option<&'a mut [f32]>,
    gw: &'a mut [f32],
}

impl pulp::WithSimd for PlaneGradients<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            x: xs,
            grad: gs,
            w: ws,
            g,
            mut gx,
            gw,
        } = self;
        let [kh, kw] = g.kernel;
        let [oh, ow] = g.out;
        for ky in 0..kh {
            let rows = valid(ky, g.padding[0], g.stride[0], g.height, oh);
            for kx in 0..kw {
                let cols = valid(kx, g.padding[1], g.stride[1], g.width, ow);
                if cols.is_empty() {
                    continue;
                }
                let t = ky * kw + kx;
                // first input column read by this tap, and the step between reads
                let (ix0, step) = (cols.start * g.stride[1] + kx - g.padding[1], g.stride[1]);
                let mut sum = 0.0_f64;
                for oy in rows.clone() {
                    let iy = oy * g.stride[0] + ky - g.padding[0];
                    let gr = &gs[oy * ow..][cols.clone()];
                    let row = iy * g.width + ix0;
                    let span = (cols.len() - 1) * step + 1;
                    let xr = &xs[row..row + span];
                    let gx = gx.as_deref_mut().map(|gx| &mut gx[row..row + span]);
                    sum += if step == 1 {
                        if let Some(gx) = gx {
                            axpy(gx, gr, ws[t]);
                        }
                        block_sums(gr, xr, |a, b| a * b)
                    } else {
                        if let Some(gx) = gx {
                            for (d, a) in gx.iter_mut().step_by(step).zip(gr) {
                                *d += a * ws[t];
                            }
                        }
                        f64::from(gr.iter().zip(xr.iter().step_by(step)).map(|(a, b)| a * b).sum::<f32>())
                    };
                }
                gw[t] = sum as f32;
            }
        }
    }
}

/// Applies a dense `conv` (`groups = 1`, symmetric padding) to `input` (`[batch, c_in, length]` →
/// `[batch, c_out, n]`), as [`Conv1d::forward`], on an autodiff device of the Flex backend; `None` otherwise
/// (the caller then takes another route).
pub(crate) fn conv1d(conv: &Conv1d, input: &Tensor<3>) -> Option<Tensor<3>> {
    if !serves(input) {
        return None;
    }
    let geometry = Geometry1d::of(conv, input.dims())?;
    let output = record(Dense1dBackward, input, conv.weight.val(), geometry, |x, w, g| {
        tensor(
            kernels::conv1d(slice(x), slice(w), None, g, false),
            [g.batch, g.c_out, g.n],
        )
    })?;
    Some(add_bias(output, conv.bias.as_ref()))
}

/// The backward step of the dense 1-D convolution: the input gradient from Flex's transposed convolution,
/// the weight gradient from [`kernels::conv1d_weight_grad`] (per item, the output gradient times the input
/// windows, gathered here).
#[derive(Debug)]
struct Dense1dBackward;

impl Backward<Flex, 2> for Dense1dBackward {
    /// Input and weight primitives, and the geometry.
    type State = (FlexTensor, FlexTensor, Geometry1d);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w, g) = ops.state;
        if let Some(node) = node_w {
            let gw = kernels::conv1d_weight_grad(slice(&x), slice(&grad.to_contiguous()), &g);
            grads.register::<Flex>(node.id, tensor(gw, [g.c_out, g.c_in, g.kernel]));
        }
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, Flex::conv1d_x_backward(x, w, grad, g.options()));
        }
    }
}

/// Applies a dense `conv` (`groups = 1`, no dilation, padding alike on opposite sides) to `input`
/// (`[batch, c_in, height, width]` → `[batch, c_out, oh, ow]`), as [`Conv2d::forward`], on an autodiff device of
/// the Flex backend; `None` otherwise (and for fewer than `kernels::DENSE_MIN_CHANNELS` input channels unless
/// `any_channels`). Forward, weight gradient and input gradient are each one matrix product per
/// batch item with the item's input windows ([`kernels::conv2d`], [`kernels::conv2d_weight_grad`],
/// [`kernels::conv2d_input_grad`]); the windows are gathered again in the backward pass rather than kept.
pub(crate) fn dense2d(conv: &Conv2d, input: &Tensor<4>, any_channels: bool) -> Option<Tensor<4>> {
    if !serves(input) {
        return None;
    }
    let g = Geometry2d::of(conv, input.dims(), any_channels)?;
    let output = record(Dense2dBackward, input, conv.weight.val(), g, |x, w, g| {
        tensor(kernels::conv2d(slice(x), slice(w), None, g), g.output_shape())
    })?;
    Some(add_bias(output, conv.bias.as_ref()))
}

/// The backward step of the dense 2-D convolution (module docs).
#[derive(Debug)]
struct Dense2dBackward;

impl Backward<Flex, 2> for Dense2dBackward {
    /// Input and weight primitives, and the geometry.
    type State = (FlexTensor, FlexTensor, Geometry2d);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, w, g) = ops.state;
        if let Some(node) = node_w {
            let gw = kernels::conv2d_weight_grad(slice(&x), slice(&grad), &g);
            let [kh, kw] = g.kernel;
            grads.register::<Flex>(node.id, tensor(gw, [g.c_out, g.c_in, kh, kw]));
        }
        if let Some(node) = node_x {
            let gx = kernels::conv2d_input_grad(slice(&w), slice(&grad), &g);
            grads.register::<Flex>(node.id, tensor(gx, g.input_shape()));
        }
    }
}

/// Applies a pointwise `conv` (1 × 1 kernel, stride 1, no padding, one group) to `input`
/// (`[batch, c_in, height, width]` → `[batch, c_out, height, width]`), as [`Conv2d::forward`], on an
/// autodiff device of the Flex backend; `None` otherwise. Forward, input gradient and weight gradient are each
/// one matrix product per batch item ([`kernels::matmul_items`], [`kernels::sum_outer_items`]), with no
/// transposed copies and no zeroed allocations.
pub(crate) fn pointwise2d(conv: &Conv2d, input: &Tensor<4>) -> Option<Tensor<4>> {
    if !serves(input) {
        return None;
    }
    let g = Pointwise::of(conv, input.dims())?;
    let output = record(PointwiseBackward, input, conv.weight.val(), g, |x, w, g| {
        tensor(kernels::pointwise(slice(x), slice(w), None, g), g.output_shape())
    })?;
    Some(add_bias(output, conv.bias.as_ref()))
}

/// The backward step of the pointwise convolution: `∂x_b = wᵀ × g_b`, `∂w = Σ_b g_b × x_bᵀ`.
#[derive(Debug)]
struct PointwiseBackward;

impl Backward<Flex, 2> for PointwiseBackward {
    /// Input and weight primitives, and the geometry.
    type State = (FlexTensor, FlexTensor, Pointwise);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, w, g) = ops.state;
        let (gx, gw) = pointwise_gradients(
            slice(&x),
            slice(&w),
            slice(&grad),
            &g,
            node_x.is_some(),
            node_w.is_some(),
        );
        if let (Some(node), Some(gw)) = (node_w, gw) {
            grads.register::<Flex>(node.id, tensor(gw, [g.c_out, g.c_in, 1, 1]));
        }
        if let (Some(node), Some(gx)) = (node_x, gx) {
            grads.register::<Flex>(node.id, tensor(gx, [g.batch, g.c_in, g.height, g.width]));
        }
    }
}

/// Input and weight gradients of the pointwise convolution (`x`: `[batch, c_in, height, width]`, `w`:
/// `[c_out, c_in]`, `grad`: `[batch, c_out, height, width]`, all contiguous), each only when asked for.
pub(super) fn pointwise_gradients(
    x: &[f32],
    w: &[f32],
    grad: &[f32],
    g: &Pointwise,
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let gw = want_w.then(|| kernels::sum_outer_items(grad, x, g.batch, [g.c_out, g.c_in, g.plane()]));
    let gx =
        want_x.then(|| kernels::matmul_items(dense(w, g.c_out, g.c_in).transposed(), grad, g.batch, g.plane(), None));
    (gx, gw)
}

#[cfg(test)]
mod tests {
    //! Values and gradients against Burn's own convolution are tested in `crate::flex::conv` (whose `conv2d` routes
    //! depthwise layers here); these tests check which layers and devices take this route.
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Device;

    #[test]
    fn serves_depthwise_layers_on_autodiff_flex_only() {
        let train = Device::flex().autodiff();
        let depthwise = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&train);
        let x = |device: &Device| Tensor::<4>::zeros([2, 4, 6, 7], device);
        assert!(depthwise2d(&depthwise, &x(&train)).is_some());
        assert!(depthwise2d(&depthwise, &x(&train).require_grad()).is_some());
        let eval = Device::flex();
        let depthwise_eval = Conv2dConfig::new([4, 4], [3, 3]).with_groups(4).init(&eval);
        assert!(
            depthwise2d(&depthwise_eval, &x(&eval)).is_none(),
            "evaluation takes the route of crate::flex::eval"
        );
        let dense = Conv2dConfig::new([4, 4], [3, 3]).init(&train);
        assert!(depthwise2d(&dense, &x(&train)).is_none());
        let multiplier = Conv2dConfig::new([4, 8], [3, 3]).with_groups(4).init(&train);
        assert!(
            depthwise2d(&multiplier, &x(&train)).is_none(),
            "two filters per channel"
        );
        let uneven = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .with_padding(PaddingConfig2d::Explicit(1, 0, 0, 1))
            .init(&train);
        assert!(depthwise2d(&uneven, &x(&train)).is_none(), "asymmetric padding");
    }
}
