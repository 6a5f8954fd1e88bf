//! Training-mode BatchNorm and PReLU as custom operations of Burn's autodiff graph on the Flex backend, alone and
//! fused into the convolution that follows them.
//!
//! **Alone.** Burn's PReLU is a masked select whose backward pass runs two more over the whole tensor, and Burn's
//! generic training BatchNorm transposes the input, its square and the gradient to reduce over them; here each is
//! one operation with one or two passes per direction. Each keeps its input for the backward pass.
//!
//! **Fused** ([`norm_act_chain`]): BatchNorm → PReLU → a depthwise or pointwise convolution, MobileFaceNet's
//! sequence from one block's convolution to the next, as one operation that keeps only the BatchNorm's input (and
//! per-channel vectors). Separately, the three layers keep three tensors of the input's size: the BatchNorm's input,
//! the PReLU's input and the convolution's input; the fused operation recomputes the other two in its backward pass,
//! with the same arithmetic as its forward pass, so the values and gradients are bit-identical to the three
//! operations' (`chains_equal_the_layers_one_after_another_bit_for_bit`). Two such stages can be one operation too,
//! which then also recomputes the inner convolution's output instead of keeping it (MobileFaceNet's widest tensor,
//! [`crate::blocks::conv_block::ConvBlock::flow_recomputed`]). At batch 128 this is most of the memory that
//! MobileFaceNet's training keeps (`docs/performance.md`, "Memory").

use crate::flex::backward::{Ad, add_bias, depthwise_gradients, pointwise_gradients, serves};
use crate::flex::conv::TorchVariance;
use crate::flex::kernels::{self, Depthwise, Planes, Pointwise, slice, sum_map, sum_pairs, tensor};
use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, PRelu};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

/// The values of a gradient primitive as an owned buffer to overwrite in place (no copy when it is not shared).
fn owned(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default() // ok: gradients of float32 operations are float32
}

/// Layout of a PReLU input and its slopes: one per channel, or one for all when `shared`.
#[derive(Clone, Copy, Debug)]
struct PreluGeometry {
    planes: Planes,
    shared: bool,
}

impl PreluGeometry {
    /// The layout of `prelu` on an input of shape `dims`; `None` unless it has one slope, or one per channel.
    fn of(prelu: &PRelu, dims: [usize; 4]) -> Option<Self> {
        let slopes = prelu.alpha.dims()[0];
        (slopes == dims[1] || slopes == 1).then_some(Self {
            planes: Planes::of(dims),
            shared: slopes == 1,
        })
    }

    /// Index of plane `p`'s slope.
    fn slope(&self, p: usize) -> usize {
        if self.shared { 0 } else { p % self.planes.channels }
    }
}

/// Applies a per-channel (or single-slope) `prelu` to `input` (`[batch, channels, height, width]`), as
/// [`PRelu::forward`], on an autodiff device of the Flex backend; `None` otherwise.
pub(crate) fn prelu(prelu: &PRelu, input: &Tensor<4>) -> Option<Tensor<4>> {
    let g = PreluGeometry::of(prelu, input.dims())?;
    if !serves(input) {
        return None;
    }
    crate::flex::backward::record(PreluBackward, input, prelu.alpha.val(), g, |x, a, g| {
        let plane = g.planes.plane;
        let mut y = vec![0.0_f32; g.planes.values()];
        let (xs, alpha) = (slice(x), slice(a));
        y.par_chunks_mut(plane).enumerate().for_each(|(p, out)| {
            let slope = alpha[g.slope(p)];
            for (o, &v) in out.iter_mut().zip(&xs[p * plane..][..plane]) {
                *o = kernels::prelu(v, slope);
            }
        });
        tensor(y, x.layout().shape().dims::<4>())
    })
}

/// Where the PReLU's backward pass reads its input: the kept tensor, or recomputed from a BatchNorm's input `y`
/// as `y · scale + shift` per channel (exactly the BatchNorm's forward arithmetic).
enum PreluInput<'a> {
    /// The input as kept.
    Kept(&'a [f32]),
    /// The BatchNorm's input and its per-channel scale and shift.
    Normalised(&'a [f32], &'a Affine),
}

impl PreluInput<'_> {
    /// Plane `p` of the input (`g.plane` values), computed into `scratch` when it is not kept.
    fn plane<'s>(&'s self, p: usize, g: &Planes, scratch: &'s mut Vec<f32>) -> &'s [f32] {
        match self {
            PreluInput::Kept(x) => &x[p * g.plane..][..g.plane],
            PreluInput::Normalised(y, affine) => {
                scratch.resize(g.plane, 0.0);
                affine.apply(&y[p * g.plane..][..g.plane], scratch, p % g.channels);
                scratch
            }
        }
    }
}

/// PReLU's backward pass in place: `d` holds the output gradient on entry and the input gradient on return
/// (`∂x = d` where `x > 0`, else `slope · d`); returns the slopes' gradient `Σ d · x` over `x ≤ 0` when asked for.
fn prelu_backward(
    d: &mut [f32],
    input: &PreluInput,
    alpha: &[f32],
    g: &PreluGeometry,
    want_slopes: bool,
) -> Option<Vec<f32>> {
    let planes: Vec<f64> = d
        .par_chunks_mut(g.planes.plane)
        .enumerate()
        .map_init(Vec::new, |scratch, (p, d)| {
            let x = input.plane(p, &g.planes, scratch);
            let sum = if want_slopes {
                sum_pairs(x, d, |x, d| if x > 0.0 { 0.0 } else { x * d })
            } else {
                0.0
            };
            let slope = alpha[g.slope(p)];
            for (d, &x) in d.iter_mut().zip(x) {
                if x <= 0.0 || x.is_nan() {
                    *d *= slope;
                }
            }
            sum
        })
        .collect();
    want_slopes.then(|| {
        let per_channel = channel_sums(planes, g.planes.channels);
        if g.shared {
            vec![per_channel.iter().sum::<f64>() as f32]
        } else {
            per_channel.into_iter().map(|v| v as f32).collect()
        }
    })
}

/// The backward step of PReLU ([`prelu_backward`] on the kept input).
#[derive(Debug)]
struct PreluBackward;

impl Backward<Flex, 2> for PreluBackward {
    /// Input and slopes (contiguous), and the layout.
    type State = (FlexTensor, FlexTensor, PreluGeometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_a] = ops.parents;
        let mut d = owned(grads.consume::<Flex>(&ops.node));
        let (x, a, g) = ops.state;
        let ga = prelu_backward(&mut d, &PreluInput::Kept(slice(&x)), slice(&a), &g, node_a.is_some());
        if let (Some(node), Some(ga)) = (node_a, ga) {
            grads.register::<Flex>(node.id, tensor(ga, [slice(&a).len()]));
        }
        if let Some(node) = node_x {
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(d, x.layout().shape().clone())),
            );
        }
    }
}

/// A training BatchNorm's per-channel batch statistics and the affine map they make with γ and β.
#[derive(Clone, Debug)]
struct Affine {
    /// Batch mean per channel.
    mean: Vec<f32>,
    /// Biased batch variance per channel (for the running statistics).
    variance: Vec<f32>,
    /// `1 / √(variance + ε)` per channel.
    inv_std: Vec<f32>,
    /// `γ · inv_std` per channel.
    scale: Vec<f32>,
    /// `β − mean · scale` per channel.
    shift: Vec<f32>,
}

impl Affine {
    /// The statistics of `x` (two passes, sums in f64) and the map with `gamma`, `beta` and `epsilon`.
    fn of(x: &[f32], g: &Planes, gamma: &[f32], beta: &[f32], epsilon: f64) -> Self {
        let n = (g.batch * g.plane) as f64;
        let plane = |p: usize| &x[p * g.plane..][..g.plane];
        let mean: Vec<f64> = per_channel(g, |p| sum_map(plane(p), |v| v))
            .into_iter()
            .map(|s| s / n)
            .collect();
        let variance = per_channel(g, |p| {
            let m = mean[p % g.channels] as f32;
            sum_map(plane(p), |v| (v - m) * (v - m))
        });
        let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let variance: Vec<f32> = variance.iter().map(|&v| (v / n) as f32).collect();
        let inv_std: Vec<f32> = variance
            .iter()
            .map(|v| (1.0 / (f64::from(*v) + epsilon).sqrt()) as f32)
            .collect();
        let scale: Vec<f32> = gamma.iter().zip(&inv_std).map(|(g, s)| g * s).collect();
        let shift = beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Self {
            mean,
            variance,
            inv_std,
            scale,
            shift,
        }
    }

    /// `out = x · scale + shift` for one plane of channel `c`.
    fn apply(&self, x: &[f32], out: &mut [f32], c: usize) {
        let (scale, shift) = (self.scale[c], self.shift[c]);
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v * scale + shift;
        }
    }

    /// Moves `bn`'s running statistics towards these batch statistics (Burn's momentum rule, biased variance).
    fn update_running(&self, bn: &BatchNorm, device: &Device) {
        let channels = self.mean.len();
        let statistic = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [channels]), device);
        let momentum = bn.momentum;
        let running_mean = bn.running_mean.value_sync().to_device(device);
        let running_var = bn.running_var.value_sync().to_device(device);
        bn.running_mean
            .update((running_mean * (1.0 - momentum) + statistic(&self.mean) * momentum).detach());
        bn.running_var
            .update((running_var * (1.0 - momentum) + statistic(&self.variance) * momentum).detach());
    }

    /// BatchNorm's backward pass in place: `d` holds the output gradient on entry and, when `want_x`, the input
    /// gradient on return (`∂x = scale · (d − ∂β / N − x̂ · ∂γ / N)` with `x̂ = (x − mean) · inv_std` and `N`
    /// values per channel); returns `(∂γ, ∂β)` per channel.
    fn backward(&self, x: &[f32], d: &mut [f32], g: &Planes, want_x: bool) -> (Vec<f32>, Vec<f32>) {
        let plane = |p: usize| &x[p * g.plane..][..g.plane];
        let (sum_g, sum_gx) = {
            let ds: &[f32] = d;
            let dplane = |p: usize| &ds[p * g.plane..][..g.plane];
            let sum_g = per_channel(g, |p| sum_map(dplane(p), |d| d));
            let sum_gx = per_channel(g, |p| {
                let c = p % g.channels;
                let (m, s) = (self.mean[c], self.inv_std[c]);
                sum_pairs(plane(p), dplane(p), |x, d| d * (x - m) * s)
            });
            (sum_g, sum_gx)
        };
        if want_x {
            let n = (g.batch * g.plane) as f64;
            d.par_chunks_mut(g.plane).enumerate().for_each(|(p, out)| {
                let c = p % g.channels;
                let (m, s, scale) = (self.mean[c], self.inv_std[c], self.scale[c]);
                let (mean_g, mean_gx) = ((sum_g[c] / n) as f32, (sum_gx[c] / n) as f32);
                for (o, &x) in out.iter_mut().zip(plane(p)) {
                    *o = scale * (*o - mean_g - (x - m) * s * mean_gx);
                }
            });
        }
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<f32>>();
        (to_f32(sum_gx), to_f32(sum_g))
    }
}

/// Applies `bn` to `input` (`[batch, channels, height, width]`), as [`BatchNorm::forward`]. In training (an
/// autodiff device of the Flex backend and the layer's training flag on) the layer is one operation whose
/// forward pass takes two passes over the input for the batch statistics and one for the output, and whose
/// backward pass takes one for the per-channel sums and one for the input gradient. The running statistics are
/// updated as Burn does (momentum, biased batch variance). `None` elsewhere (the caller then runs the layer's
/// own `forward`).
pub(crate) fn batch_norm(bn: &BatchNorm, input: &Tensor<4>) -> Option<Tensor<4>> {
    if !trains(bn, input) {
        return None;
    }
    let (x, x_node) = input.clone().try_into_primitive::<Ad>().ok()?.into_parts();
    let (gamma, gamma_node) = bn.gamma.val().try_into_primitive::<Ad>().ok()?.into_parts();
    let (beta, beta_node) = bn.beta.val().try_into_primitive::<Ad>().ok()?.into_parts();
    let x = x.to_contiguous();
    let g = Planes::of(input.dims());
    let affine = Affine::of(
        slice(&x),
        &g,
        slice(&gamma.to_contiguous()),
        slice(&beta.to_contiguous()),
        bn.epsilon,
    );
    let mut y = vec![0.0_f32; g.values()];
    let xs = slice(&x);
    y.par_chunks_mut(g.plane)
        .enumerate()
        .for_each(|(p, out)| affine.apply(&xs[p * g.plane..][..g.plane], out, p % g.channels));
    let y = tensor(y, input.dims());
    affine.update_running(bn, &input.device());
    let out = match BatchNormBackward
        .prepare::<NoCheckpointing>([x_node, gamma_node, beta_node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x, affine, g), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// Whether `bn` normalises `input` with batch statistics through this module: float32 on an autodiff device
/// of the Flex backend, the layer's training flag on.
pub(crate) fn trains(bn: &BatchNorm, input: &Tensor<4>) -> bool {
    serves(input) && bn.training.is_enabled()
}

/// Per-channel sums of one f64 per plane (`per_plane(p)`, plane `p` of channel `p mod channels`), reduced over
/// the batch.
fn per_channel(g: &Planes, per_plane: impl Fn(usize) -> f64 + Sync + Send) -> Vec<f64> {
    let planes: Vec<f64> = (0..g.batch * g.channels).into_par_iter().map(per_plane).collect();
    channel_sums(planes, g.channels)
}

/// Sums one value per plane (planes in order, plane `p` of channel `p mod channels`) into one per channel, in
/// plane order.
fn channel_sums(planes: Vec<f64>, channels: usize) -> Vec<f64> {
    let mut sums = vec![0.0_f64; channels];
    for (p, v) in planes.into_iter().enumerate() {
        sums[p % channels] += v;
    }
    sums
}

/// The backward step of training-mode BatchNorm ([`Affine::backward`] on the kept input).
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    /// Input (contiguous), statistics and map, the layout.
    type State = (FlexTensor, Affine, Planes);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let mut d = owned(grads.consume::<Flex>(&ops.node));
        let (x, affine, g) = ops.state;
        let (g_gamma, g_beta) = affine.backward(slice(&x), &mut d, &g, node_x.is_some());
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, tensor(g_beta, [g.channels]));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, tensor(g_gamma, [g.channels]));
        }
        if let Some(node) = node_x {
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(d, x.layout().shape().clone())),
            );
        }
    }
}

/// The convolution a fused normalisation feeds.
#[derive(Clone, Copy, Debug)]
enum Fed {
    /// One filter per channel.
    Depthwise(Depthwise),
    /// A 1 × 1 layer.
    Pointwise(Pointwise),
}

impl Fed {
    /// `conv` on an input of shape `dims`, if it is a kind this module fuses.
    fn of(conv: &Conv2d, dims: [usize; 4]) -> Option<Self> {
        Depthwise::of(conv, dims)
            .map(Fed::Depthwise)
            .or_else(|| Pointwise::of(conv, dims).map(Fed::Pointwise))
    }

    /// `[batch, channels, oh, ow]` of the convolution's output.
    fn output_shape(&self) -> [usize; 4] {
        match self {
            Fed::Depthwise(g) => g.output_shape(),
            Fed::Pointwise(g) => g.output_shape(),
        }
    }

    /// The convolution of `x` with `w` (no bias).
    fn forward(&self, x: &[f32], w: &[f32]) -> FlexTensor {
        match self {
            Fed::Depthwise(g) => tensor(kernels::depthwise(x, w, None, g), g.output_shape()),
            Fed::Pointwise(g) => tensor(kernels::pointwise(x, w, None, g), g.output_shape()),
        }
    }

    /// The input and weight gradients, each when asked for.
    fn gradients(
        &self,
        x: &[f32],
        w: &[f32],
        grad: &[f32],
        want_x: bool,
        want_w: bool,
    ) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
        match self {
            Fed::Depthwise(g) => depthwise_gradients(x, w, grad, g, want_x, want_w),
            Fed::Pointwise(g) => pointwise_gradients(x, w, grad, g, want_x, want_w),
        }
    }
}

/// A training BatchNorm followed by a PReLU, as a stage of a chain applies them before its convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Norm<'a> {
    /// The normalisation.
    pub(crate) bn: &'a BatchNorm,
    /// The activation.
    pub(crate) prelu: &'a PRelu,
}

/// One stage of a fused chain: a [`Norm`] (only the first stage may go without), then a depthwise or pointwise
/// convolution (no bias unless it is the chain's last).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stage<'a> {
    /// The normalisation and activation before the convolution.
    pub(crate) norm: Option<Norm<'a>>,
    /// The convolution.
    pub(crate) conv: &'a Conv2d,
}

/// What the backward pass keeps of a stage's normalisation: the slopes (contiguous), the batch statistics and map,
/// the layout.
#[derive(Clone, Debug)]
struct KeptNorm {
    alpha: FlexTensor,
    affine: Affine,
    prelu: PreluGeometry,
}

impl KeptNorm {
    /// `prelu(y · scale + shift)` of every value of `y`.
    fn activate(&self, y: &[f32]) -> Vec<f32> {
        let (n, alpha) = (self.prelu.planes.plane, slice(&self.alpha));
        let mut x = vec![0.0_f32; y.len()];
        x.par_chunks_mut(n).enumerate().for_each(|(p, out)| {
            self.affine.apply(&y[p * n..][..n], out, p % self.prelu.planes.channels);
            let slope = alpha[self.prelu.slope(p)];
            for v in out.iter_mut() {
                *v = kernels::prelu(*v, slope);
            }
        });
        x
    }
}

/// What the backward pass keeps of one stage: its normalisation, the weight (contiguous), the convolution.
#[derive(Clone, Debug)]
struct Kept {
    norm: Option<KeptNorm>,
    w: FlexTensor,
    fed: Fed,
}

impl Kept {
    /// The convolution's input: the stage's input `y`, normalised and activated when the stage has a [`Norm`].
    fn conv_input<'y>(&self, y: &'y [f32]) -> std::borrow::Cow<'y, [f32]> {
        match &self.norm {
            Some(norm) => std::borrow::Cow::Owned(norm.activate(y)),
            None => std::borrow::Cow::Borrowed(y),
        }
    }

    /// The stage's output for its input `y`.
    fn forward(&self, y: &[f32]) -> FlexTensor {
        self.fed.forward(&self.conv_input(y), slice(&self.w))
    }
}

/// Applies the `stages` one after another to `input` (`[batch, channels, height, width]`), each its training
/// BatchNorm and PReLU (when it has them) and its convolution, as one autodiff operation that keeps only `input`:
/// the values and gradients of `crate::flex::conv::batch_norm2d`, [`prelu`] and `crate::flex::conv::conv2d` one
/// after another, bit for bit (module docs). With two stages, the inner convolution's output is not kept either
/// but computed again in the backward pass. `None` when this module does not serve a layer or the device, or for
/// more than two stages.
pub(crate) fn norm_act_chain(input: &Tensor<4>, stages: &[Stage]) -> Option<Tensor<4>> {
    let mut dims = input.dims();
    let mut geometry = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let prelu = match stage.norm {
            Some(norm) if norm.bn.training.is_enabled() => Some(PreluGeometry::of(norm.prelu, dims)?),
            None if i == 0 => None,
            _ => return None,
        };
        let fed = Fed::of(stage.conv, dims)?;
        if i + 1 < stages.len() && stage.conv.bias.is_some() {
            return None;
        }
        dims = fed.output_shape();
        geometry.push((prelu, fed));
    }
    if !serves(input) || stages.is_empty() {
        return None;
    }
    let (y0, y0_node) = input.clone().try_into_primitive::<Ad>().ok()?.into_parts();
    let y0 = y0.to_contiguous();
    let mut nodes = vec![y0_node];
    let mut kept: Vec<Kept> = Vec::with_capacity(stages.len());
    let mut out: Option<FlexTensor> = None;
    for (stage, (prelu, fed)) in stages.iter().zip(geometry) {
        let part = |t: Tensor<1>| t.try_into_primitive::<Ad>().ok().map(|t| t.into_parts());
        let y = out.as_ref().map_or(slice(&y0), slice);
        let norm = match (stage.norm, prelu) {
            (Some(Norm { bn, prelu: act }), Some(prelu)) => {
                let (gamma, gamma_node) = part(bn.gamma.val())?;
                let (beta, beta_node) = part(bn.beta.val())?;
                let (alpha, alpha_node) = part(act.alpha.val())?;
                nodes.extend([gamma_node, beta_node, alpha_node]);
                let planes = prelu.planes;
                let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
                let affine = Affine::of(y, &planes, slice(&gamma), slice(&beta), bn.epsilon);
                // the running statistics as `crate::flex::conv::batch_norm2d` moves them
                let variance = TorchVariance::before(bn, planes.batch * planes.plane, true);
                affine.update_running(bn, &input.device());
                variance.correct(bn);
                Some(KeptNorm {
                    alpha: alpha.to_contiguous(),
                    affine,
                    prelu,
                })
            }
            _ => None,
        };
        let (w, w_node) = stage.conv.weight.val().try_into_primitive::<Ad>().ok()?.into_parts();
        nodes.push(w_node);
        let stage = Kept {
            norm,
            w: w.to_contiguous(),
            fed,
        };
        out = Some(stage.forward(y));
        kept.push(stage);
    }
    let (out, state) = (out?, (y0, kept));
    let out = match nodes.len() {
        5 => record_chain::<5>(nodes, state, out),
        6 => record_chain::<6>(nodes, state, out),
        9 => record_chain::<9>(nodes, state, out),
        _ => None,
    }?;
    Some(add_bias(out, stages.last()?.conv.bias.as_ref()))
}

/// Records a chain with `N` parents: the input, then per stage γ, β and the slopes (when it has a [`Norm`]) and
/// the weight.
fn record_chain<const N: usize>(
    nodes: Vec<NodeGuard>,
    state: (FlexTensor, Vec<Kept>),
    out: FlexTensor,
) -> Option<Tensor<4>> {
    let nodes: [_; N] = nodes.try_into().ok()?;
    let out = match ChainBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// The backward step of [`norm_act_chain`]: the inner stages' inputs computed again from the kept input, then per
/// stage from the last, the convolution's input computed again, the convolution's gradients, and PReLU's and
/// BatchNorm's in place on the input gradient, the PReLU input computed again plane by plane.
#[derive(Debug)]
struct ChainBackward;

impl<const N: usize> Backward<Flex, N> for ChainBackward {
    /// The chain's input (contiguous) and what each stage keeps.
    type State = (FlexTensor, Vec<Kept>);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let parents = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (y0, kept) = ops.state;
        // each stage's parents: γ, β, slopes (when it normalises) and weight, after the input's
        let mut next = 1;
        let slots: Vec<(Option<[usize; 3]>, usize)> = kept
            .iter()
            .map(|stage| {
                let norm = stage.norm.as_ref().map(|_| [next, next + 1, next + 2]);
                next += if norm.is_some() { 4 } else { 1 };
                (norm, next - 1)
            })
            .collect();
        let node = |i: usize| parents.get(i).cloned().flatten();
        // the inputs of the inner stages
        let mut inputs: Vec<FlexTensor> = vec![y0];
        for stage in &kept[..kept.len().saturating_sub(1)] {
            let y = inputs.last().map_or(&[][..], slice);
            let next = stage.forward(y);
            inputs.push(next);
        }
        let mut grad = owned(grad);
        for (i, (stage, (norm_slots, w_slot))) in kept.iter().zip(slots).enumerate().rev() {
            let [node_gamma, node_beta, node_alpha] = norm_slots.map_or([None, None, None], |k| k.map(node));
            let node_w = node(w_slot);
            let upstream = i > 0 || parents[0].is_some();
            let Some(y) = inputs.pop() else { return };
            let ys = slice(&y);
            let x = stage.conv_input(ys);
            let want_x = upstream || node_gamma.is_some() || node_beta.is_some() || node_alpha.is_some();
            let (gx, gw) = stage
                .fed
                .gradients(&x, slice(&stage.w), &grad, want_x, node_w.is_some());
            drop((x, std::mem::take(&mut grad)));
            if let (Some(node), Some(gw)) = (node_w, gw) {
                let shape = stage.w.layout().shape().clone();
                grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(gw, shape)));
            }
            let Some(mut d) = gx else { return };
            if let Some(norm) = &stage.norm {
                let alphas = slice(&norm.alpha);
                let input = PreluInput::Normalised(ys, &norm.affine);
                let ga = prelu_backward(&mut d, &input, alphas, &norm.prelu, node_alpha.is_some());
                if let (Some(node), Some(ga)) = (node_alpha, ga) {
                    grads.register::<Flex>(node.id, tensor(ga, [alphas.len()]));
                }
                let planes = norm.prelu.planes;
                let (g_gamma, g_beta) = norm.affine.backward(ys, &mut d, &planes, upstream);
                if let Some(node) = node_beta {
                    grads.register::<Flex>(node.id, tensor(g_beta, [planes.channels]));
                }
                if let Some(node) = node_gamma {
                    grads.register::<Flex>(node.id, tensor(g_gamma, [planes.channels]));
                }
            }
            grad = d;
            if i == 0
                && let Some(node) = &parents[0]
            {
                let shape = y.layout().shape().clone();
                grads.register::<Flex>(
                    node.id,
                    FlexTensor::from_data(TensorData::new(std::mem::take(&mut grad), shape)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::Device;
    /// Criterion: PReLU values and the gradients of a fixed projection of its output with respect to the input
    /// and the slopes equal Burn's `PRelu` (masked select) within float32 rounding, per-channel and shared.
    #[test]
    fn prelu_matches_burn() {
        use burn::nn::PReluConfig;
        use burn::tensor::Distribution;
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([3, 4, 5, 6], Distribution::Normal(0.0, 1.0), &device);
        for slopes in [4, 1] {
            let layer = PReluConfig::new()
                .with_num_parameters(slopes)
                .with_alpha(0.25)
                .init(&device);
            let run = |ours: bool| {
                let input = x.clone().require_grad();
                let out = if ours {
                    prelu(&layer, &input).expect("served")
                } else {
                    layer.forward(input.clone())
                };
                let probe = Tensor::<4>::ones(out.shape(), &device).cumsum(3).sin();
                let grads = (out.clone() * probe).sum().backward();
                let gx = input.grad(&grads).expect("input gradient");
                let ga = layer.alpha.val().grad(&grads).expect("slope gradient");
                (out.detach(), gx, ga)
            };
            let ((o1, x1, a1), (o2, x2, a2)) = (run(true), run(false));
            let close = |a: Tensor<4>, b: Tensor<4>| (a - b).abs().max().into_scalar::<f32>() < 1e-6;
            assert!(close(o1, o2), "{slopes} slopes: output");
            assert!(close(x1, x2), "{slopes} slopes: input gradient");
            let d = (a1 - a2.clone()).abs().max().into_scalar::<f32>();
            assert!(
                d < 1e-5 * a2.abs().max().into_scalar::<f32>().max(1.0),
                "{slopes} slopes: slope gradient {d}"
            );
        }
        assert!(
            prelu(
                &PReluConfig::new().init(&Device::flex()),
                &Tensor::zeros([1, 1, 2, 2], &Device::flex())
            )
            .is_none()
        );
    }

    /// Criterion: training-mode BatchNorm values, the gradients of a fixed projection of its output with respect
    /// to the input, γ and β, and the running statistics afterwards equal Burn's `BatchNorm` within float32
    /// rounding; in evaluation the layer's own forward runs.
    #[test]
    fn batch_norm_matches_burn() {
        use burn::nn::BatchNormConfig;
        use burn::tensor::Distribution;
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([3, 4, 5, 6], Distribution::Normal(0.5, 2.0), &device);
        let gamma = Tensor::<1>::random([4], Distribution::Uniform(0.5, 1.5), &device);
        let beta = Tensor::<1>::random([4], Distribution::Uniform(-1.0, 1.0), &device);
        let layer = || {
            let mut bn = BatchNormConfig::new(4).with_momentum(0.3).init(&device);
            bn.gamma = Param::from_tensor(gamma.clone());
            bn.beta = Param::from_tensor(beta.clone());
            bn
        };
        let run = |ours: bool| {
            let bn = layer();
            let input = x.clone().require_grad();
            let out = if ours {
                batch_norm(&bn, &input).expect("served")
            } else {
                bn.forward(input.clone())
            };
            let probe = Tensor::<4>::ones(out.shape(), &device).cumsum(3).sin();
            let grads = (out.clone() * probe).sum().backward();
            let g = [
                input.grad(&grads).expect("input gradient").reshape([-1]),
                bn.gamma.val().grad(&grads).expect("γ gradient"),
                bn.beta.val().grad(&grads).expect("β gradient"),
                bn.running_mean.value(),
                bn.running_var.value(),
            ];
            (out.detach(), g)
        };
        let ((o1, g1), (o2, g2)) = (run(true), run(false));
        let rel = |a: Tensor<1>, b: Tensor<1>| {
            let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-6);
            (a - b).abs().max().into_scalar::<f32>() / scale
        };
        assert!(rel(o1.reshape([-1]), o2.reshape([-1])) < 1e-5, "output");
        for (i, (a, b)) in g1.into_iter().zip(g2).enumerate() {
            let d = rel(a.inner(), b.inner());
            assert!(d < 1e-4, "gradient or statistic {i} differs by {d}");
        }
        let eval = BatchNormConfig::new(4).init(&Device::flex());
        assert!(batch_norm(&eval, &Tensor::zeros([1, 4, 2, 2], &Device::flex())).is_none());
    }

    /// Criterion: chains of BatchNorm → PReLU → convolution stages as one operation give the same output, the
    /// same gradients of a fixed projection of it (input, and γ, β, slopes and filter of every stage) and the same
    /// running statistics as the layers one after another (`conv::batch_norm2d`, [`prelu`], `conv::conv2d`), bit
    /// for bit: one depthwise 3 × 3 stride-2 stage, one pointwise stage, slopes per channel and shared, the input
    /// tracked or not, and two stages (pointwise then depthwise, the inner output computed again), the first with
    /// or without a normalisation.
    #[test]
    fn chains_equal_the_layers_one_after_another_bit_for_bit() {
        use crate::flex::conv::{batch_norm2d, conv2d};
        use burn::nn::conv::{Conv2dConfig, Conv2dConfig as C};
        use burn::nn::{BatchNormConfig, PReluConfig, PaddingConfig2d};
        use burn::tensor::Distribution;
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([3, 4, 7, 9], Distribution::Normal(0.5, 2.0), &device);
        let depthwise = |c: usize| -> C {
            Conv2dConfig::new([c, c], [3, 3])
                .with_groups(c)
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
        };
        let pointwise = |c_in: usize, c_out: usize| Conv2dConfig::new([c_in, c_out], [1, 1]).with_bias(false);
        // (stage convolutions, slopes per channel, input tracked, first stage without normalisation)
        let cases: [(Vec<C>, bool, bool, bool); 5] = [
            (vec![depthwise(4)], true, true, false),
            (vec![pointwise(4, 6)], true, true, false),
            (vec![depthwise(4)], false, false, false),
            (vec![pointwise(4, 6), depthwise(6)], true, true, false),
            (vec![pointwise(4, 6), depthwise(6)], true, true, true),
        ];
        for (case, (configs, per_channel, tracked, plain)) in cases.into_iter().enumerate() {
            let normalised = |i: usize| !(plain && i == 0);
            let convs: Vec<Conv2d> = configs.iter().map(|c| c.init(&device)).collect();
            let channels: Vec<usize> = convs.iter().map(|c| c.weight.dims()[1] * c.groups).collect();
            let run = |fused: bool| {
                let layers: Vec<(BatchNorm, PRelu)> = channels
                    .iter()
                    .map(|&c| {
                        let mut bn = BatchNormConfig::new(c).with_momentum(0.3).init(&device);
                        bn.gamma = Param::from_tensor(Tensor::random([c], Distribution::Uniform(0.5, 1.5), &device));
                        bn.beta = Param::from_tensor(Tensor::random([c], Distribution::Uniform(-1.0, 1.0), &device));
                        let slopes = if per_channel { c } else { 1 };
                        (
                            bn,
                            PReluConfig::new()
                                .with_num_parameters(slopes)
                                .with_alpha(0.25)
                                .init(&device),
                        )
                    })
                    .collect();
                (layers, fused)
            };
            let evaluate = |(layers, fused): (Vec<(BatchNorm, PRelu)>, bool)| {
                let input = if tracked { x.clone().require_grad() } else { x.clone() };
                let out = if fused {
                    let stages: Vec<Stage> = layers
                        .iter()
                        .zip(&convs)
                        .enumerate()
                        .map(|(i, ((bn, prelu), conv))| Stage {
                            norm: normalised(i).then_some(Norm { bn, prelu }),
                            conv,
                        })
                        .collect();
                    norm_act_chain(&input, &stages).expect("served")
                } else {
                    layers
                        .iter()
                        .zip(&convs)
                        .enumerate()
                        .fold(input.clone(), |x, (i, ((bn, act), conv))| match normalised(i) {
                            true => conv2d(conv, prelu(act, &batch_norm2d(bn, x)).expect("prelu")),
                            false => conv2d(conv, x),
                        })
                };
                let probe = Tensor::<4>::ones(out.shape(), &device).cumsum(3).sin();
                let grads = (out.clone() * probe).sum().backward();
                let mut values = vec![out.detach().into_data()];
                for (i, ((bn, act), conv)) in layers.iter().zip(&convs).enumerate() {
                    values.push(conv.weight.val().grad(&grads).expect("filter").into_data());
                    if normalised(i) {
                        values.extend([
                            bn.gamma.val().grad(&grads).expect("γ").into_data(),
                            bn.beta.val().grad(&grads).expect("β").into_data(),
                            act.alpha.val().grad(&grads).expect("slopes").into_data(),
                            bn.running_mean.value_sync().into_data(),
                            bn.running_var.value_sync().into_data(),
                        ]);
                    }
                }
                if tracked {
                    values.push(input.grad(&grads).expect("input").into_data());
                }
                values
            };
            // the same random γ and β for both runs
            let (fused, separate) = {
                let a = run(true);
                let mut b = run(false);
                for ((bn_b, _), (bn_a, _)) in b.0.iter_mut().zip(&a.0) {
                    bn_b.gamma = Param::from_tensor(bn_a.gamma.val());
                    bn_b.beta = Param::from_tensor(bn_a.beta.val());
                }
                (evaluate(a), evaluate(b))
            };
            assert_eq!(fused.len(), separate.len());
            for (i, (a, b)) in fused.iter().zip(&separate).enumerate() {
                assert_eq!(
                    a.as_slice::<f32>().expect("f32"),
                    b.as_slice::<f32>().expect("f32"),
                    "case {case}, value {i}"
                );
            }
        }
        let eval = Device::flex();
        let conv = Conv2dConfig::new([4, 6], [1, 1]).init(&eval);
        let bn = BatchNormConfig::new(4).init(&eval);
        let act = PReluConfig::new().init(&eval);
        let stage = |conv| {
            [Stage {
                norm: Some(Norm { bn: &bn, prelu: &act }),
                conv,
            }]
        };
        assert!(norm_act_chain(&Tensor::zeros([1, 4, 2, 2], &eval), &stage(&conv)).is_none());
        let dense = Conv2dConfig::new([4, 6], [3, 3]).init(&device);
        let bn = BatchNormConfig::new(4).init(&device);
        assert!(
            norm_act_chain(
                &Tensor::zeros([1, 4, 5, 5], &device),
                &[Stage {
                    norm: Some(Norm { bn: &bn, prelu: &act }),
                    conv: &dense
                }]
            )
            .is_none(),
            "a dense 3 × 3 layer is not fused"
        );
    }
}
