//! Float32 kernels on contiguous buffers, shared by the custom autodiff operations of [`crate::flex::backward`] and
//! the evaluation routes of [`crate::flex::eval`]: the Flex primitive ↔ slice conversions, the layouts they work
//! on, the per-item matrix products of dense 1-D and 2-D (im2col) and pointwise 2-D convolutions and their
//! gradients, the depthwise 2-D convolution, and sums in vector lanes. Hot loops that the compiler would
//! otherwise build for baseline x86-64 run through `pulp`'s run-time dispatch.

use burn::backend::flex::FlexTensor;
use burn::nn::conv::{Conv1d, Conv2d};
use burn::nn::{PaddingConfig1d, PaddingConfig2d};
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// The f32 values of a contiguous Flex tensor.
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().unwrap_or(&[]) // ok: callers pass contiguous f32 tensors (dtype checked on entry)
}

/// A Flex tensor of `shape` holding `values`.
pub(crate) fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Lanes of the partial sums in [`sum_pairs`]: one AVX register of f32.
const LANES: usize = 8;
/// Values per block of [`sum_pairs`]: summed in f32 lanes, then added to an f64 total.
const BLOCK: usize = 1024;

/// `Σ f(a[i], b[i])` over two slices of equal length: per block of [`BLOCK`] values in [`LANES`] interleaved
/// f32 partial sums (so that the loop vectorises), the blocks' sums in f64.
pub(crate) fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    pulp::Arch::new().dispatch(BlockSums { a, b, f })
}

/// The body of [`sum_pairs`], for callers already compiled per instruction set.
#[inline(always)]
pub(crate) fn block_sums(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut total = 0.0_f64;
    for (a, b) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let mut acc = [0.0_f32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| f(x, y)).sum();
        for (x, y) in ca.zip(cb) {
            for i in 0..LANES {
                acc[i] += f(x[i], y[i]);
            }
        }
        total += f64::from(acc.iter().sum::<f32>() + tail);
    }
    total
}

/// `Σ f(a[i])`, as [`sum_pairs`].
pub(crate) fn sum_map(a: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    sum_pairs(a, a, |x, _| f(x))
}

/// PReLU of one value with slope `k`: `v` where `v > 0`, else `k · v`.
pub(crate) fn prelu(v: f32, k: f32) -> f32 {
    if v > 0.0 { v } else { k * v }
}

/// Layout of a `[batch, channels, …]` tensor as `batch · channels` planes of `plane` values (PReLU, BatchNorm).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes {
    pub(crate) batch: usize,
    pub(crate) channels: usize,
    pub(crate) plane: usize,
}

impl Planes {
    /// The planes of a `[batch, channels, height, width]` tensor.
    pub(crate) fn of([batch, channels, height, width]: [usize; 4]) -> Self {
        Self {
            batch,
            channels,
            plane: height * width,
        }
    }

    /// Number of values in the tensor.
    pub(crate) fn values(&self) -> usize {
        self.batch * self.channels * self.plane
    }
}

/// Geometry of one depthwise 2-D layer: input `[batch, channels, height, width]`, one `[kh, kw]` filter per
/// channel, stride, symmetric zero padding; the output is `[batch, channels, oh, ow]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Depthwise {
    pub(crate) batch: usize,
    pub(crate) channels: usize,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    pub(crate) padding: [usize; 2],
    pub(crate) out: [usize; 2],
}

impl Depthwise {
    /// The geometry of `conv` on an input of shape `dims`; `None` unless the layer is depthwise (one filter
    /// per channel, `groups = channels`) without dilation, with symmetric padding, and the padded input covers
    /// the kernel.
    pub(crate) fn of(conv: &Conv2d, [batch, channels, height, width]: [usize; 4]) -> Option<Self> {
        let [c_out, per_group, kh, kw] = conv.weight.dims();
        let padding = match conv.padding {
            PaddingConfig2d::Valid => [0, 0],
            PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
            _ => return None,
        };
        let depthwise = per_group == 1 && conv.groups == c_out && c_out == channels && conv.dilation == [1, 1];
        if !depthwise || height + 2 * padding[0] < kh || width + 2 * padding[1] < kw {
            return None;
        }
        let stride = conv.stride;
        let out = [
            (height + 2 * padding[0] - kh) / stride[0] + 1,
            (width + 2 * padding[1] - kw) / stride[1] + 1,
        ];
        Some(Self {
            batch,
            channels,
            height,
            width,
            kernel: [kh, kw],
            stride,
            padding,
            out,
        })
    }

    /// `[batch, channels, oh, ow]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out[0], self.out[1]]
    }

    /// Values per row of the phase-split padded plane of [`depthwise`]: `stride[1]` phases of
    /// `⌈(width + 2 · padding) / stride⌉` values.
    fn phase_len(&self) -> usize {
        (self.width + 2 * self.padding[1]).div_ceil(self.stride[1])
    }
}

/// Output columns accumulated in registers at once by [`depthwise`] (four AVX registers of f32).
const COLUMNS: usize = 32;

/// The depthwise convolution of `x` (`[batch, channels, height, width]`) with `w` (`[channels, kh · kw]`) plus
/// an optional `bias` (`[channels]`): `[batch, channels, oh, ow]`. Each plane is first copied, zero-padded,
/// into a scratch buffer whose rows are split by column phase (`column mod stride`), so that every kernel tap
/// reads a contiguous run for consecutive outputs, strided or not; [`COLUMNS`] outputs of a row are then
/// summed over the taps in registers.
pub(crate) fn depthwise(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Depthwise) -> Vec<f32> {
    let [kh, kw] = g.kernel;
    let (sx, phase_len, plane) = (g.stride[1], g.phase_len(), g.height * g.width);
    let row_len = sx * phase_len;
    // tap t = ky · kw + kx reads row (oy · stride + ky), from `offset` on within it
    let taps: Vec<(usize, usize)> = (0..kh * kw)
        .map(|t| {
            let (ky, kx) = (t / kw, t % kw);
            (ky, (kx % sx) * phase_len + kx / sx)
        })
        .collect();
    let scratch = (g.height + 2 * g.padding[0]) * row_len;
    build(
        g.batch * g.channels,
        g.out,
        |_| 0.0,
        scratch,
        |p, out, padded, _| {
            let c = p % g.channels;
            let plane = Plane {
                x: &x[p * plane..][..plane],
                w: &w[c * kh * kw..][..kh * kw],
                bias: bias.map_or(0.0, |b| b[c]),
                taps: &taps,
            };
            pulp::Arch::new().dispatch(DepthwisePlane {
                plane: &plane,
                g,
                padded,
                out,
            });
        },
    )
}

/// One plane of [`depthwise`]: its input (`[height, width]`), filter (`[kh · kw]`), bias, and the taps'
/// `(row, offset)` in the phase-split padded plane.
struct Plane<'a> {
    x: &'a [f32],
    w: &'a [f32],
    bias: f32,
    taps: &'a [(usize, usize)],
}

/// Fills `padded` (the phase-split, zero-padded copy of the plane: `padded[r][q][j]` is the padded input at row
/// `r`, column `j · stride + q`), then `out` (`[oh, ow]`) in register blocks of [`COLUMNS`] outputs.
#[inline(always)]
fn depthwise_plane(plane: &Plane, g: &Depthwise, padded: &mut [f32], out: &mut [f32]) {
    let [sy, sx] = g.stride;
    let [py, px] = g.padding;
    let ow = g.out[1];
    let phase_len = g.phase_len();
    let row_len = sx * phase_len;
    for (r, row) in padded.chunks_exact_mut(row_len).enumerate() {
        let Some(xr) = r
            .checked_sub(py)
            .filter(|&iy| iy < g.height)
            .map(|iy| &plane.x[iy * g.width..][..g.width])
        else {
            row.fill(0.0);
            continue;
        };
        for (q, phase) in row.chunks_exact_mut(phase_len).enumerate() {
            let inside = valid(q, px, sx, g.width, phase_len);
            phase[..inside.start].fill(0.0);
            phase[inside.end..].fill(0.0);
            if let Some(first) = (inside.start * sx + q).checked_sub(px) {
                match sx {
                    1 => {
                        let run = &mut phase[inside];
                        run.copy_from_slice(&xr[first..][..run.len()]);
                    }
                    // a constant step, so that the copy vectorises (MobileFaceNet's strided layers)
                    2 => strided_copy::<2>(&mut phase[inside], &xr[first..]),
                    _ => {
                        for (v, &value) in phase[inside].iter_mut().zip(xr[first..].iter().step_by(sx)) {
                            *v = value;
                        }
                    }
                }
            }
        }
    }
    let padded = &*padded;
    // the input run of `tap` for output row oy, from output column 0 on
    let run = |oy: usize, &(ky, offset): &(usize, usize)| &padded[(oy * sy + ky) * row_len + offset..];
    for (oy, dst) in out.chunks_exact_mut(ow).enumerate() {
        // full blocks of COLUMNS outputs; the last one overlaps the one before when ow is not a multiple
        let starts = (0..ow.saturating_sub(COLUMNS - 1))
            .step_by(COLUMNS)
            .chain(ow.checked_sub(COLUMNS).filter(|_| ow % COLUMNS != 0));
        for start in starts {
            let mut acc = [plane.bias; COLUMNS];
            for (tap, &weight) in plane.taps.iter().zip(plane.w) {
                let src = &run(oy, tap)[start..][..COLUMNS];
                for i in 0..COLUMNS {
                    acc[i] += weight * src[i];
                }
            }
            dst[start..][..COLUMNS].copy_from_slice(&acc);
        }
        if ow < COLUMNS {
            dst.fill(plane.bias);
            for (tap, &weight) in plane.taps.iter().zip(plane.w) {
                axpy(dst, &run(oy, tap)[..ow], weight);
            }
        }
    }
}

/// `dst[j] = src[j · STEP]` for every `j` of `dst`.
#[inline(always)]
fn strided_copy<const STEP: usize>(dst: &mut [f32], src: &[f32]) {
    for (v, group) in dst.iter_mut().zip(src.chunks(STEP)) {
        *v = group[0];
    }
}

/// One call of [`depthwise_plane`], compiled for the widest SIMD instruction set the CPU has (AVX2 and FMA,
/// or AVX-512, on x86-64) through `pulp`'s run-time dispatch, the one Flex's matrix kernels use: the call is
/// inlined into each instruction set's copy. Multiplications and additions stay separate operations in every
/// copy, so results do not depend on the CPU.
struct DepthwisePlane<'a> {
    plane: &'a Plane<'a>,
    g: &'a Depthwise,
    padded: &'a mut [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for DepthwisePlane<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        depthwise_plane(self.plane, self.g, self.padded, self.out);
    }
}

/// The sums of [`sum_pairs`], compiled per instruction set as [`DepthwisePlane`].
struct BlockSums<'a, F> {
    a: &'a [f32],
    b: &'a [f32],
    f: F,
}

impl<F: Fn(f32, f32) -> f32> pulp::WithSimd for BlockSums<'_, F> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> f64 {
        block_sums(self.a, self.b, self.f)
    }
}

/// `dst[i] += src[i] · k`.
pub(crate) fn axpy(dst: &mut [f32], src: &[f32], k: f32) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s * k;
    }
}

/// Geometry of a pointwise 2-D layer: input `[batch, c_in, height, width]`, weight `[c_out, c_in, 1, 1]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pointwise {
    pub(crate) batch: usize,
    pub(crate) c_in: usize,
    pub(crate) c_out: usize,
    pub(crate) height: usize,
    pub(crate) width: usize,
}

impl Pointwise {
    /// The geometry of `conv` on an input of shape `dims`; `None` unless the layer is pointwise (1 × 1
    /// kernel, stride 1, no padding, one group) with the input's channels.
    pub(crate) fn of(conv: &Conv2d, [batch, c_in, height, width]: [usize; 4]) -> Option<Self> {
        let [c_out, w_in, kh, kw] = conv.weight.dims();
        let unpadded = matches!(
            conv.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
        let pointwise = [kh, kw] == [1, 1] && conv.stride == [1, 1] && conv.groups == 1 && unpadded;
        (pointwise && w_in == c_in).then_some(Self {
            batch,
            c_in,
            c_out,
            height,
            width,
        })
    }

    /// Positions per channel plane.
    pub(crate) fn plane(&self) -> usize {
        self.height * self.width
    }

    /// `[batch, c_out, height, width]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.c_out, self.height, self.width]
    }
}

/// The pointwise convolution of `x` (`[batch, c_in, height, width]`) with `w` (`[c_out, c_in]`) plus an
/// optional `bias` (`[c_out]`): `[batch, c_out, height, width]`, one matrix product per item.
pub(crate) fn pointwise(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Pointwise) -> Vec<f32> {
    matmul_items(dense(w, g.c_out, g.c_in), x, g.batch, g.plane(), bias)
}

/// Geometry of a dense 1-D layer: input `[batch, c_in, length]`, weight `[c_out, c_in, kernel]`, stride,
/// dilation, symmetric zero padding; the output is `[batch, c_out, n]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry1d {
    pub(crate) batch: usize,
    pub(crate) c_in: usize,
    pub(crate) length: usize,
    pub(crate) c_out: usize,
    pub(crate) kernel: usize,
    pub(crate) stride: usize,
    pub(crate) dilation: usize,
    pub(crate) padding: usize,
    pub(crate) n: usize,
}

impl Geometry1d {
    /// The geometry of `conv` on an input of shape `dims`; `None` unless the layer is dense (`groups = 1`) with
    /// symmetric padding and the input matches its channels and covers its (padded) span.
    pub(crate) fn of(conv: &Conv1d, [batch, c_in, length]: [usize; 3]) -> Option<Self> {
        let padding = match conv.padding {
            PaddingConfig1d::Valid => 0,
            PaddingConfig1d::Explicit(left, right) if left == right => left,
            _ => return None,
        };
        let [c_out, w_in, kernel] = conv.weight.dims();
        let span = conv.dilation * (kernel - 1) + 1;
        if conv.groups != 1 || w_in != c_in || length + 2 * padding < span {
            return None;
        }
        Some(Self {
            batch,
            c_in,
            length,
            c_out,
            kernel,
            stride: conv.stride,
            dilation: conv.dilation,
            padding,
            n: (length + 2 * padding - span) / conv.stride + 1,
        })
    }

    /// Burn's options of the layer (Flex's transposed convolution takes them).
    pub(crate) fn options(&self) -> ConvOptions<1> {
        ConvOptions::new([self.stride], [self.padding], [self.dilation], 1)
    }

    /// Rows of the window matrix, `c_in · kernel`.
    fn taps(&self) -> usize {
        self.c_in * self.kernel
    }

    /// Length of one item's window matrix, `n · c_in · kernel`.
    fn window_len(&self) -> usize {
        self.n * self.taps()
    }
}

/// Output positions `o` along one axis whose tap at offset `k` reads an input index inside `0..len`:
/// `0 ≤ o · stride + k − pad < len`, clipped to `0..n_out`.
pub(crate) fn valid(k: usize, pad: usize, stride: usize, len: usize, n_out: usize) -> std::ops::Range<usize> {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = (len + pad).saturating_sub(k).div_ceil(stride).min(n_out);
    lo..hi.max(lo)
}

/// The input windows of one batch item `x` (`[c_in, length]`) into `cols` (`[c_in · kernel, n]`):
/// `cols[c · kernel + k, i] = x[c, i · stride + k · dilation − padding]`, 0 in the padding. Every value of
/// `cols` is written; each row is one strided read of `x`.
fn im2col_item(x: &[f32], g: &Geometry1d, cols: &mut [f32]) {
    for (row, out) in cols.chunks_exact_mut(g.n).enumerate() {
        let (c, k) = (row / g.kernel, row % g.kernel);
        let xc = &x[c * g.length..][..g.length];
        let offset = k * g.dilation;
        let inside = valid(offset, g.padding, g.stride, g.length, g.n);
        out[..inside.start].fill(0.0);
        out[inside.end..].fill(0.0);
        if inside.is_empty() {
            continue;
        }
        let first = inside.start * g.stride + offset - g.padding;
        let out = &mut out[inside.clone()];
        if g.stride == 1 {
            out.copy_from_slice(&xc[first..][..out.len()]);
        } else {
            for (v, &x) in out.iter_mut().zip(xc[first..].iter().step_by(g.stride)) {
                *v = x;
            }
        }
    }
}

/// Whether a batch of `items` runs one item per thread (`true`) or item after item with every thread on each
/// product (`false`, fewer items than threads).
fn items_in_parallel(items: usize) -> bool {
    items >= rayon::current_num_threads()
}

/// A `[items, rows, row]` output built item by item, without zeroing the allocation first: each row `r` of
/// item `b` is set to `init(r)`, then `work(b, item_b, scratch, parallel)` runs with `item_b` the item's values
/// and `scratch` a buffer of `scratch` values. Items run on one thread each when
/// [`items_in_parallel`], otherwise one after the other with `parallel = true` (a product inside then uses
/// every thread).
fn build(
    items: usize,
    [rows, row]: [usize; 2],
    init: impl Fn(usize) -> f32 + Sync,
    scratch: usize,
    work: impl Fn(usize, &mut [f32], &mut [f32], bool) + Sync,
) -> Vec<f32> {
    let chunk = rows * row;
    let len = items * chunk;
    if len == 0 {
        return Vec::new();
    }
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let run = |b: usize, item: &mut [MaybeUninit<f32>], scratch: &mut [f32], parallel: bool| {
        for (r, values) in item.chunks_mut(row).enumerate() {
            let v = init(r);
            values.iter_mut().for_each(|x| {
                x.write(v);
            });
        }
        // SAFETY: every value of `item` was written just above, and `MaybeUninit<f32>` has the layout of `f32`.
        let item = unsafe { &mut *(item as *mut [MaybeUninit<f32>] as *mut [f32]) };
        work(b, item, scratch, parallel);
    };
    let spare = &mut out.spare_capacity_mut()[..len];
    if items_in_parallel(items) {
        spare
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(|| vec![0.0_f32; scratch], |s, (b, item)| run(b, item, s, false));
    } else {
        let mut s = vec![0.0_f32; scratch];
        for (b, item) in spare.chunks_mut(chunk).enumerate() {
            run(b, item, &mut s, true);
        }
    }
    // SAFETY: the first `len` values were all written: both branches pass every chunk of `spare` to `run`.
    unsafe { out.set_len(len) };
    out
}

/// Shares of a batch that [`batch_sum`] accumulates separately: a constant, not the thread count, so the order of
/// the additions, and with it every bit of a weight gradient, is the same on any machine and any
/// `RAYON_NUM_THREADS` (at most this many threads work on one sum).
const BATCH_SUM_SHARES: usize = 16;

/// `Σ_b` of one `len`-value term per item of `items`: `work(b, dst, scratch, parallel)` adds item `b`'s term
/// into `dst`. Each of [`BATCH_SUM_SHARES`] contiguous shares of the items is accumulated into its own `dst`
/// (zeros at first), the shares in parallel; the shares are summed in order at the end.
fn batch_sum(
    items: usize,
    len: usize,
    scratch: usize,
    work: impl Fn(usize, &mut [f32], &mut [f32], bool) + Sync,
) -> Vec<f32> {
    if len == 0 {
        return Vec::new();
    }
    let shares = BATCH_SUM_SHARES.min(items).max(1);
    let per_share = items.div_ceil(shares);
    let mut partial = build(
        shares,
        [1, len],
        |_| 0.0,
        scratch,
        |s, dst, scratch, parallel| {
            for b in s * per_share..((s + 1) * per_share).min(items) {
                work(b, dst, scratch, parallel);
            }
        },
    );
    let (sum, rest) = partial.split_at_mut(len);
    for part in rest.chunks_exact(len) {
        for (s, &v) in sum.iter_mut().zip(part) {
            *s += v;
        }
    }
    partial.truncate(len);
    partial
}

/// A matrix inside a slice: element `(r, c)` is `data[r · row_stride + c · col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl Strided<'_> {
    /// The transposed matrix (no copy).
    pub(crate) fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst += lhs × rhs`, with `dst` row-major `[lhs.rows, rhs.cols]` (every caller sets it first: zeros, a bias,
/// or a running sum), through the `gemm` crate (Flex's own matrix kernels), on all threads when `parallel`.
///
/// # Panics
/// If the inner dimensions differ or a matrix does not fit its slice.
fn matmul(dst: &mut [f32], lhs: Strided, rhs: Strided, parallel: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert!(
        rhs.rows == k && lhs.fits() && rhs.fits() && dst.len() == m * n,
        "matmul: shapes"
    );
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three matrices lie inside their slices (asserted above); `dst` is borrowed mutably, so it
    // cannot alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Item `b` of a `[batch, c_in, length]` input.
fn item<'a>(x: &'a [f32], g: &Geometry1d, b: usize) -> &'a [f32] {
    &x[b * g.c_in * g.length..][..g.c_in * g.length]
}

/// One item's windows (`[c_in · kernel, n]`, row-major) as a matrix, or transposed (`[n, c_in · kernel]`).
fn windows<'a>(cols: &'a [f32], g: &Geometry1d, transposed: bool) -> Strided<'a> {
    let windows = dense(cols, g.taps(), g.n);
    if transposed { windows.transposed() } else { windows }
}

/// A row-major `[rows, cols]` matrix.
pub(crate) fn dense(data: &[f32], rows: usize, cols: usize) -> Strided<'_> {
    Strided {
        data,
        rows,
        cols,
        row_stride: cols,
        col_stride: 1,
    }
}

/// The dense 1-D convolution of `x` (`[batch, c_in, length]`) with `w` (`[c_out, c_in, kernel]`) plus an
/// optional `bias` (`[c_out]`), then a ReLU when `relu`: `[batch, c_out, n]`. Per batch item, the input windows
/// ([`im2col_item`]) and one matrix product `w [c_out, c_in · kernel] × windows [c_in · kernel, n]` added
/// straight onto the item's output, set to the bias first; the ReLU runs on the item while it is in cache.
pub(crate) fn conv1d(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Geometry1d, relu: bool) -> Vec<f32> {
    let weight = dense(w, g.c_out, g.taps());
    let init = |r: usize| bias.map_or(0.0, |b| b[r]);
    build(
        g.batch,
        [g.c_out, g.n],
        init,
        g.window_len(),
        |b, dst, cols, parallel| {
            im2col_item(item(x, g, b), g, cols);
            matmul(dst, weight, windows(cols, g, false), parallel);
            if relu {
                dst.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        },
    )
}

/// The weight gradient of [`conv1d`] (`[c_out, c_in, kernel]`) for the output gradient `grad`
/// (`[batch, c_out, n]`): `Σ_b grad_b [c_out, n] × windows_bᵀ [n, c_in · kernel]` ([`batch_sum`]).
pub(crate) fn conv1d_weight_grad(x: &[f32], grad: &[f32], g: &Geometry1d) -> Vec<f32> {
    batch_sum(g.batch, g.c_out * g.taps(), g.window_len(), |b, dst, cols, parallel| {
        im2col_item(item(x, g, b), g, cols);
        let grad_b = dense(&grad[b * g.c_out * g.n..][..g.c_out * g.n], g.c_out, g.n);
        matmul(dst, grad_b, windows(cols, g, true), parallel);
    })
}

/// `lhs × x_b` (plus `bias[r]` on row `r`, if any) for every item `x_b` (`[k, cols]`, row-major) of `x`
/// (`[items, k, cols]`): `[items, m, cols]` with `lhs` an `[m, k]` matrix (a pointwise convolution's weight,
/// or its transpose for the input gradient).
pub(crate) fn matmul_items(lhs: Strided, x: &[f32], items: usize, cols: usize, bias: Option<&[f32]>) -> Vec<f32> {
    let (m, k) = (lhs.rows, lhs.cols);
    let init = |r: usize| bias.map_or(0.0, |b| b[r]);
    build(items, [m, cols], init, 0, |b, dst, _, parallel| {
        matmul(dst, lhs, dense(&x[b * k * cols..][..k * cols], k, cols), parallel);
    })
}

/// `Σ_b a_b × c_bᵀ` over the items of `a` (`[items, m, cols]`) and `c` (`[items, k, cols]`): `[m, k]` (the
/// weight gradient of a pointwise convolution, `a` the output gradient and `c` the input).
pub(crate) fn sum_outer_items(a: &[f32], c: &[f32], items: usize, [m, k, cols]: [usize; 3]) -> Vec<f32> {
    batch_sum(items, m * k, 0, |b, dst, _, parallel| {
        let a_b = dense(&a[b * m * cols..][..m * cols], m, cols);
        let c_b = dense(&c[b * k * cols..][..k * cols], k, cols).transposed();
        matmul(dst, a_b, c_b, parallel);
    })
}

/// The fewest input channels of a dense 2-D layer that takes [`conv2d`]'s route by default: hidden layers. A
/// network's first layer over one to three feature channels (the MobileFaceNets' log-Mel, STgram, TFSTgram) keeps its
/// own route, and with it the float32 rounding of those systems' measured figures; a network asks for the route for
/// any layer through `flex::conv::conv2d_im2col` (SE-ResNet18's stem).
pub(crate) const DENSE_MIN_CHANNELS: usize = 4;

/// Geometry of a dense 2-D layer: input `[batch, c_in, height, width]`, weight `[c_out, c_in, kh, kw]`, stride,
/// symmetric zero padding, no dilation; the output is `[batch, c_out, oh, ow]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry2d {
    pub(crate) batch: usize,
    pub(crate) c_in: usize,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) c_out: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    pub(crate) padding: [usize; 2],
    pub(crate) out: [usize; 2],
}

impl Geometry2d {
    /// The geometry of `conv` on an input of shape `dims`; `None` unless the layer is dense (`groups = 1`), not
    /// dilated, padded alike on opposite sides, and the input matches its channels and covers its kernel; with
    /// `any_channels` false also unless it reads at least [`DENSE_MIN_CHANNELS`] channels.
    pub(crate) fn of(conv: &Conv2d, [batch, c_in, height, width]: [usize; 4], any_channels: bool) -> Option<Self> {
        if !any_channels && c_in < DENSE_MIN_CHANNELS {
            return None;
        }
        let padding = match conv.padding {
            PaddingConfig2d::Valid => [0, 0],
            PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
            _ => return None,
        };
        let [c_out, w_in, kh, kw] = conv.weight.dims();
        if conv.groups != 1 || conv.dilation != [1, 1] || w_in != c_in {
            return None;
        }
        let out =
            |len: usize, k: usize, pad: usize, stride: usize| (len + 2 * pad).checked_sub(k).map(|n| n / stride + 1);
        let [sh, sw] = conv.stride;
        Some(Self {
            batch,
            c_in,
            height,
            width,
            c_out,
            kernel: [kh, kw],
            stride: conv.stride,
            padding,
            out: [out(height, kh, padding[0], sh)?, out(width, kw, padding[1], sw)?],
        })
    }

    /// Rows of the window matrix, `c_in · kh · kw`.
    fn taps(&self) -> usize {
        self.c_in * self.kernel[0] * self.kernel[1]
    }

    /// Output positions per channel, `oh · ow`.
    fn positions(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// Length of one item's window matrix.
    fn window_len(&self) -> usize {
        self.taps() * self.positions()
    }

    /// Values of one input item.
    fn item_len(&self) -> usize {
        self.c_in * self.height * self.width
    }

    /// `[batch, c_out, oh, ow]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.c_out, self.out[0], self.out[1]]
    }

    /// `[batch, c_in, height, width]`.
    pub(crate) fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.c_in, self.height, self.width]
    }

    /// For window row `row` (channel c, tap (ky, kx)): the channel, and per axis the tap offset and the output
    /// positions whose tap reads inside the input ([`valid`]).
    fn row(&self, row: usize) -> (usize, [usize; 2], [std::ops::Range<usize>; 2]) {
        let [kh, kw] = self.kernel;
        let (c, ky, kx) = (row / (kh * kw), (row / kw) % kh, row % kw);
        let rows = valid(ky, self.padding[0], self.stride[0], self.height, self.out[0]);
        let cols = valid(kx, self.padding[1], self.stride[1], self.width, self.out[1]);
        (c, [ky, kx], [rows, cols])
    }
}

/// The input windows of one batch item `x` (`[c_in, height, width]`) into `cols` (`[c_in · kh · kw, oh · ow]`):
/// `cols[(c · kh + ky) · kw + kx, oy · ow + ox] = x[c, oy · sh + ky − ph, ox · sw + kx − pw]`, 0 in the padding.
/// Every value of `cols` is written.
fn im2col2d_item(x: &[f32], g: &Geometry2d, cols: &mut [f32]) {
    let [oh, ow] = g.out;
    let [sh, sw] = g.stride;
    for (row, out) in cols.chunks_exact_mut(oh * ow).enumerate() {
        let (c, [ky, kx], [rows, inside]) = g.row(row);
        let plane = &x[c * g.height * g.width..][..g.height * g.width];
        for (oy, line) in out.chunks_exact_mut(ow).enumerate() {
            if !rows.contains(&oy) || inside.is_empty() {
                line.fill(0.0);
                continue;
            }
            line[..inside.start].fill(0.0);
            line[inside.end..].fill(0.0);
            let iy = oy * sh + ky - g.padding[0];
            let first = iy * g.width + inside.start * sw + kx - g.padding[1];
            let line = &mut line[inside.clone()];
            if sw == 1 {
                line.copy_from_slice(&plane[first..][..line.len()]);
            } else {
                for (v, &x) in line.iter_mut().zip(plane[first..].iter().step_by(sw)) {
                    *v = x;
                }
            }
        }
    }
}

/// The adjoint of [`im2col2d_item`]: adds every window value of `cols` back onto the input position it was read
/// from, in `dx` (`[c_in, height, width]`).
fn col2im2d_item(cols: &[f32], g: &Geometry2d, dx: &mut [f32]) {
    let [oh, ow] = g.out;
    let [sh, sw] = g.stride;
    for (row, values) in cols.chunks_exact(oh * ow).enumerate() {
        let (c, [ky, kx], [rows, inside]) = g.row(row);
        if inside.is_empty() {
            continue;
        }
        let plane = &mut dx[c * g.height * g.width..][..g.height * g.width];
        for oy in rows {
            let iy = oy * sh + ky - g.padding[0];
            let first = iy * g.width + inside.start * sw + kx - g.padding[1];
            let line = &values[oy * ow..][inside.clone()];
            if sw == 1 {
                for (d, v) in plane[first..][..line.len()].iter_mut().zip(line) {
                    *d += v;
                }
            } else {
                for (d, v) in plane[first..].iter_mut().step_by(sw).zip(line) {
                    *d += v;
                }
            }
        }
    }
}

/// The dense 2-D convolution of `x` (`[batch, c_in, height, width]`) with `w` (`[c_out, c_in, kh, kw]`) plus an
/// optional `bias` (`[c_out]`): `[batch, c_out, oh, ow]`. Per batch item, the input windows ([`im2col2d_item`])
/// and one matrix product `w [c_out, c_in · kh · kw] × windows [c_in · kh · kw, oh · ow]` added straight onto the
/// item's output, set to the bias first.
pub(crate) fn conv2d(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Geometry2d) -> Vec<f32> {
    let weight = dense(w, g.c_out, g.taps());
    build(
        g.batch,
        [g.c_out, g.positions()],
        |r| bias.map_or(0.0, |b| b[r]),
        g.window_len(),
        |b, dst, cols, parallel| {
            im2col2d_item(&x[b * g.item_len()..][..g.item_len()], g, cols);
            matmul(dst, weight, dense(cols, g.taps(), g.positions()), parallel);
        },
    )
}

/// The weight gradient of [`conv2d`] (`[c_out, c_in, kh, kw]`) for the output gradient `grad`
/// (`[batch, c_out, oh, ow]`): `Σ_b grad_b [c_out, oh · ow] × windows_bᵀ` ([`batch_sum`]).
pub(crate) fn conv2d_weight_grad(x: &[f32], grad: &[f32], g: &Geometry2d) -> Vec<f32> {
    let out_len = g.c_out * g.positions();
    batch_sum(g.batch, g.c_out * g.taps(), g.window_len(), |b, dst, cols, parallel| {
        im2col2d_item(&x[b * g.item_len()..][..g.item_len()], g, cols);
        let grad_b = dense(&grad[b * out_len..][..out_len], g.c_out, g.positions());
        matmul(dst, grad_b, dense(cols, g.taps(), g.positions()).transposed(), parallel);
    })
}

/// The input gradient of [`conv2d`] (`[batch, c_in, height, width]`) for the output gradient `grad`: per item
/// the window gradients `wᵀ [c_in · kh · kw, c_out] × grad_b [c_out, oh · ow]`, added back onto the input
/// positions ([`col2im2d_item`]).
pub(crate) fn conv2d_input_grad(w: &[f32], grad: &[f32], g: &Geometry2d) -> Vec<f32> {
    let out_len = g.c_out * g.positions();
    let weight = dense(w, g.c_out, g.taps()).transposed();
    build(
        g.batch,
        [g.c_in, g.height * g.width],
        |_| 0.0,
        g.window_len(),
        |b, dx, cols, parallel| {
            cols.fill(0.0);
            let grad_b = dense(&grad[b * out_len..][..out_len], g.c_out, g.positions());
            matmul(cols, weight, grad_b, parallel);
            col2im2d_item(cols, g, dx);
        },
    )
}
