//! The CPU fast paths: layers computed by our own kernels on Burn's Flex backend, in evaluation and in training
//! (custom autodiff operations with backward passes of our own), where Burn's generic versions are slow there.
//!
//! A layer is fast only when its module calls the routes of [`conv`] (or the BatchNorm / PReLU routes below)
//! instead of the Burn layer's own `forward`. Each route checks the device and mode itself and falls back to
//! Burn's layer on any other device (CUDA) or shape, so calling it is always correct.
//!
//! | layer | evaluation (`eval`) | training (`backward`) | reached through |
//! |---|---|---|---|
//! | dense Conv1d (ASDNet, TgramNet) | im2col + one matrix product per item; fused ReLU | forward and weight gradient as one product per item; input gradient by Flex | [`conv::conv1d`], [`conv::conv1d_relu`] |
//! | depthwise Conv2d (MobileFaceNet) | register-blocked kernel on phase-split padded planes | input and weight gradients plane by plane | [`conv::conv2d`] |
//! | pointwise (1 × 1) Conv2d | one product per item | forward and both gradients one product per item | [`conv::conv2d`] |
//! | other dense Conv2d, input without gradient | Flex | taps gathered into one broadcast product | [`conv::conv2d`] |
//! | BatchNorm2d + PReLU (MobileFaceNet blocks) | one in-place pass | with the next depthwise or pointwise convolution one operation that keeps only the BatchNorm's input; two blocks in one that recomputes the inner convolution's output; per-channel sums in f32 lanes | `ConvBlock::flow` ([`crate::blocks::conv_block`]) |
//! | BatchNorm on `[B, C, H, W]` or `[B, C, L]` (the attention net, TFgramNet) | the same pass | the BatchNorm operation of `norm` alone (keeps its input) | [`conv::batch_norm2d`], [`conv::batch_norm1d`] (a length is a map of height 1) |
//!
//! Modules: [`conv`] (the public routes), `eval` (evaluation routes and `serves`, which says whether a tensor is
//! on Flex without autodiff), `backward` (the custom autodiff operations of the convolutions; `serves` there:
//! float32 on Flex with autodiff), `norm` (those of BatchNorm and PReLU, alone and fused into the convolution
//! that follows), `kernels` (the float32 kernels all share, with `pulp` run-time SIMD dispatch).
//!
//! **Giving a new layer a fast path.** Call the existing route if the layer is one of the kinds above (a new
//! network's Conv1d, depthwise or pointwise Conv2d, BatchNorm + PReLU: e.g. separable convolutions are a
//! depthwise then a pointwise [`conv::conv2d`]). For a new kind, add (1) a kernel on slices to `kernels`, (2) an
//! evaluation route in `eval` guarded by its `serves`, (3) when its generic backward pass is slow, a custom
//! operation in `backward` (forward values from the kernel, gradients written out) returning `None` when it does
//! not serve, (4) a public route in [`conv`] that tries (2), then (3), then the Burn layer, and (5) tests of
//! values and gradients against the Burn layer (see the tests at the end of each file); then measure it in
//! `benches/` and write the figures in `docs/performance.md`.

pub(crate) mod backward;
pub mod conv;
pub(crate) mod eval;
pub(crate) mod kernels;
pub(crate) mod norm;
