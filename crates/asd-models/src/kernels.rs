//! Float32 kernels on contiguous buffers, shared by the custom autodiff operations of [`crate::backward`] and
//! the evaluation routes of [`crate::eval`]: the Flex primitive ↔ slice conversions, the layouts they work
//! on, im2col and the dense 1-D convolution as one matrix product per batch item.

use burn::backend::flex::FlexTensor;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::Conv1d;
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;
use rayon::prelude::*;

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

    /// Length of one item's window matrix, `n · c_in · kernel`.
    fn window_len(&self) -> usize {
        self.n * self.c_in * self.kernel
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

/// Runs `work(b, out_b, cols, parallel)` for every item `b` of `g.batch`, with `out_b` the `b`-th chunk of
/// `chunk` values of `out` and `cols` a scratch buffer of one item's windows: items in parallel
/// (`parallel = false`) when there are at least as many as threads, otherwise one after the other with
/// `parallel = true` (the matrix product then uses every thread).
fn per_item(
    g: &Geometry1d,
    out: &mut [f32],
    chunk: usize,
    work: impl Fn(usize, &mut [f32], &mut [f32], bool) + Sync + Send,
) {
    let chunk = chunk.max(1);
    if g.batch >= rayon::current_num_threads() {
        out.par_chunks_mut(chunk).enumerate().for_each_init(
            || vec![0.0_f32; g.window_len()],
            |cols, (b, out)| work(b, out, cols, false),
        );
    } else {
        let mut cols = vec![0.0_f32; g.window_len()];
        for (b, out) in out.chunks_mut(chunk).enumerate() {
            work(b, out, &mut cols, true);
        }
    }
}

/// A matrix inside a slice: element `(r, c)` is `data[r · row_stride + c · col_stride]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl Strided<'_> {
    /// Whether every element lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = lhs × rhs`, or `dst += lhs × rhs` when `accumulate`, with `dst` row-major `[lhs.rows, rhs.cols]`,
/// through the `gemm` crate (Flex's own matrix kernels), on all threads when `parallel`.
///
/// # Panics
/// If the inner dimensions differ or a matrix does not fit its slice.
fn matmul(dst: &mut [f32], lhs: Strided, rhs: Strided, accumulate: bool, parallel: bool) {
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
            accumulate,
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
    let (taps, n) = (g.c_in * g.kernel, g.n);
    let (rows, cols_, row_stride, col_stride) = if transposed { (n, taps, 1, n) } else { (taps, n, n, 1) };
    Strided {
        data: cols,
        rows,
        cols: cols_,
        row_stride,
        col_stride,
    }
}

/// A row-major `[rows, cols]` matrix.
fn dense(data: &[f32], rows: usize, cols: usize) -> Strided<'_> {
    Strided {
        data,
        rows,
        cols,
        row_stride: cols,
        col_stride: 1,
    }
}

/// The dense 1-D convolution of `x` (`[batch, c_in, length]`) with `w` (`[c_out, c_in, kernel]`) plus an
/// optional `bias` (`[c_out]`): `[batch, c_out, n]`. Per batch item, the input windows ([`im2col_item`]) and
/// one matrix product `w [c_out, c_in · kernel] × windows [c_in · kernel, n]` written straight into the
/// output.
pub(crate) fn conv1d(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Geometry1d) -> Vec<f32> {
    let taps = g.c_in * g.kernel;
    let mut out = vec![0.0_f32; g.batch * g.c_out * g.n];
    let weight = dense(w, g.c_out, taps);
    per_item(g, &mut out, g.c_out * g.n, |b, dst, cols, parallel| {
        im2col_item(item(x, g, b), g, cols);
        if let Some(bias) = bias {
            for (row, &v) in dst.chunks_exact_mut(g.n).zip(bias) {
                row.fill(v);
            }
        }
        matmul(dst, weight, windows(cols, g, false), bias.is_some(), parallel);
    });
    out
}

/// The weight gradient of [`conv1d`] (`[c_out, c_in, kernel]`) for the output gradient `grad`
/// (`[batch, c_out, n]`): `Σ_b grad_b [c_out, n] × windows_bᵀ [n, c_in · kernel]`, accumulated per thread
/// over a contiguous share of the batch, then summed.
pub(crate) fn conv1d_weight_grad(x: &[f32], grad: &[f32], g: &Geometry1d) -> Vec<f32> {
    let taps = g.c_in * g.kernel;
    let shares = rayon::current_num_threads().min(g.batch).max(1);
    let per_share = g.batch.div_ceil(shares);
    let share = Geometry1d { batch: shares, ..*g };
    let mut partial = vec![0.0_f32; shares * g.c_out * taps];
    let len = g.c_out * taps;
    per_item(&share, &mut partial, len, |s, dst, cols, parallel| {
        for (i, b) in (s * per_share..((s + 1) * per_share).min(g.batch)).enumerate() {
            im2col_item(item(x, g, b), g, cols);
            let grad_b = dense(&grad[b * g.c_out * g.n..][..g.c_out * g.n], g.c_out, g.n);
            matmul(dst, grad_b, windows(cols, g, true), i > 0, parallel);
        }
    });
    let (sum, rest) = partial.split_at_mut(len);
    for part in rest.chunks_exact(len.max(1)) {
        for (s, &v) in sum.iter_mut().zip(part) {
            *s += v;
        }
    }
    partial.truncate(len);
    partial
}
