//! Parameter and multiply-accumulate (MAC) counting, the way the papers count (asdnet_specmfn.md §2.1,
//! decisions.md §9).
//!
//! MACs are those of convolutions and linear layers only: C_out · L_out · (C_in/groups) · k per convolution,
//! in · out per linear layer; bias, normalisation and activations are not counted. Parameter counts are read from
//! the modules' weight shapes, so they always describe the network actually built.

use burn::nn::conv::{Conv1d, Conv2d};
use burn::nn::{Linear, PaddingConfig1d, PaddingConfig2d};
use std::ops::{Add, AddAssign};

/// Parameters and MACs of one layer or a group of layers, for one input example.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Trainable parameters (weights + biases).
    pub params: usize,
    /// Multiply-accumulates per input example (conv + linear only).
    pub macs: u64,
}

impl Add for Count {
    type Output = Count;
    fn add(self, other: Count) -> Count {
        Count {
            params: self.params + other.params,
            macs: self.macs + other.macs,
        }
    }
}

impl AddAssign for Count {
    fn add_assign(&mut self, other: Count) {
        *self = *self + other;
    }
}

/// The counts reported for a whole model (`asd info`, decisions.md §9), summed from its layer table by
/// [`ModelCount::from_layers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelCount {
    /// Every parameter the model trains: front end, backbone, embedding head and classification head (ArcFace W or
    /// Linear); nothing the reference builds without using it.
    pub params: usize,
    /// The parameter count as the paper counted it: the network and the reference-only layers
    /// ([`LayerRole::ReferenceOnly`], e.g. an unused `fc_out`), plus the classification head where the paper
    /// counts it.
    pub params_paper: usize,
    /// MACs of one forward pass of one input example as the paper counts them (conv + linear): the network, plus
    /// the classification head where the paper counts it (ASDNet and SpecMFN: not counted, Table 3 of their
    /// paper; LogMel-MFN and STgram-MFN: counted, stgram_mfn.md §8.2).
    pub macs: u64,
}

/// What a row of a layer table is to the model; decides which totals of [`ModelCount`] include the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerRole {
    /// A layer on the path from the input to the embedding: counted in every total.
    Network,
    /// The classification head (ArcFace W or a Linear layer) on top of the embedding: trained, so counted in
    /// `params`; counted in `params_paper` and `macs` only where the paper counts it.
    Head,
    /// A layer the reference module builds but this model does not (the unused `fc_out` beside ArcFace): only in
    /// `params_paper`.
    ReferenceOnly,
}

/// One row of a model's layer table (`asd info`): a layer or block in forward order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRow {
    /// The layer's field path in the module (as in saved weights), e.g. `"classifier.mfn.blocks.3"`.
    pub name: String,
    /// Output shape of one input example, without the batch axis: `[channels, height, width]` for 2-D maps,
    /// `[channels, length]` for 1-D ones, `[width]` for vectors.
    pub output_shape: Vec<usize>,
    /// Parameters (weights, biases, normalisation γ/β, PReLU slopes; not BatchNorm running statistics) and MACs
    /// (conv + linear) of the layer for one input example.
    pub count: Count,
    /// What the layer is to the model.
    pub role: LayerRole,
}

impl LayerRow {
    /// A row.
    pub fn new(name: impl Into<String>, output_shape: Vec<usize>, count: Count, role: LayerRole) -> Self {
        Self {
            name: name.into(),
            output_shape,
            count,
            role,
        }
    }
}

/// Sum of the counts of `rows`, whatever their roles.
pub fn total<'a>(rows: impl IntoIterator<Item = &'a LayerRow>) -> Count {
    rows.into_iter().fold(Count::default(), |sum, row| sum + row.count)
}

impl ModelCount {
    /// The totals of a layer table. `paper_counts_head` says whether the model's paper counts the classification
    /// head in its parameter and MAC figures (see the fields).
    pub fn from_layers(rows: &[LayerRow], paper_counts_head: bool) -> Self {
        let sum = |keep: &dyn Fn(LayerRole) -> bool| total(rows.iter().filter(|row| keep(row.role)));
        let trained = sum(&|role| role != LayerRole::ReferenceOnly);
        let paper = sum(&|role| match role {
            LayerRole::Network | LayerRole::ReferenceOnly => true,
            LayerRole::Head => paper_counts_head,
        });
        let macs = sum(&|role| match role {
            LayerRole::Network => true,
            LayerRole::Head => paper_counts_head,
            LayerRole::ReferenceOnly => false,
        });
        Self {
            params: trained.params,
            params_paper: paper.params,
            macs: macs.macs,
        }
    }
}

/// Output length of a 1-D convolution: ⌊(L_in + padding − dilation·(k − 1) − 1)/stride⌋ + 1, or `None` when the
/// kernel does not fit. `padding` is the total of both sides.
pub fn conv_out_len(len_in: usize, kernel: usize, stride: usize, dilation: usize, padding: usize) -> Option<usize> {
    let span = dilation * (kernel.max(1) - 1) + 1;
    let padded = len_in + padding;
    (padded >= span && stride > 0).then(|| (padded - span) / stride + 1)
}

/// Total padding (both sides) of a Burn 1-D padding setting. `Same` is counted as dilation·(k − 1), the padding that
/// keeps the length at stride 1.
pub fn padding_1d(padding: &PaddingConfig1d, kernel: usize, dilation: usize) -> usize {
    match padding {
        PaddingConfig1d::Valid => 0,
        PaddingConfig1d::Explicit(left, right) => left + right,
        PaddingConfig1d::Same => dilation * (kernel.max(1) - 1),
    }
}

/// Count of a [`Conv1d`] applied to an input of length `len_in`; also returns the output length (0 when the kernel
/// does not fit, with 0 MACs).
pub fn conv1d(conv: &Conv1d, len_in: usize) -> (Count, usize) {
    let [c_out, c_in_per_group, kernel] = conv.weight.shape().dims();
    let pad = padding_1d(&conv.padding, kernel, conv.dilation);
    let len_out = conv_out_len(len_in, kernel, conv.stride, conv.dilation, pad).unwrap_or(0);
    let bias = conv.bias.as_ref().map_or(0, |b| b.shape().num_elements());
    let count = Count {
        params: c_out * c_in_per_group * kernel + bias,
        macs: (c_out * len_out * c_in_per_group * kernel) as u64,
    };
    (count, len_out)
}

/// Count of a [`Conv2d`] applied to an input of `[height, width]`; also returns the output size (0 on an axis
/// where the kernel does not fit). `Same` padding is counted as dilation·(k − 1) per axis.
pub fn conv2d(conv: &Conv2d, size: [usize; 2]) -> (Count, [usize; 2]) {
    let [c_out, c_in_per_group, kh, kw] = conv.weight.shape().dims();
    let kernel = [kh, kw];
    let pads = match &conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top + bottom, left + right],
        PaddingConfig2d::Same => [conv.dilation[0] * (kh.max(1) - 1), conv.dilation[1] * (kw.max(1) - 1)],
    };
    let out: [usize; 2] = std::array::from_fn(|axis| {
        conv_out_len(
            size[axis],
            kernel[axis],
            conv.stride[axis],
            conv.dilation[axis],
            pads[axis],
        )
        .unwrap_or(0)
    });
    let bias = conv.bias.as_ref().map_or(0, |b| b.shape().num_elements());
    let per_output = c_in_per_group * kh * kw;
    let count = Count {
        params: c_out * per_output + bias,
        macs: (c_out * out[0] * out[1] * per_output) as u64,
    };
    (count, out)
}

/// Count of a [`Linear`] layer applied to one vector.
pub fn linear(linear: &Linear) -> Count {
    let [d_input, d_output] = linear.weight.shape().dims();
    dense(d_input, d_output, linear.bias.is_some())
}

/// Count of a fully connected layer `d_input → d_output` (with or without bias) applied to one vector, for a layer
/// that is counted without being built (e.g. the reference's unused `fc_out`, which the SpecMFN paper counts).
pub fn dense(d_input: usize, d_output: usize, bias: bool) -> Count {
    let bias = if bias { d_output } else { 0 };
    Count {
        params: d_input * d_output + bias,
        macs: (d_input * d_output) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: the output-length rule of asdnet_specmfn.md §2.1 on the first ASDNet layers (16 001 → 2666 → 532)
    /// and on a kernel that does not fit.
    #[test]
    fn conv_out_len_follows_the_spec_rule() {
        assert_eq!(conv_out_len(16_001, 9, 6, 1, 0), Some(2666));
        assert_eq!(conv_out_len(2666, 7, 5, 1, 0), Some(532));
        assert_eq!(conv_out_len(2, 3, 2, 1, 0), None);
        assert_eq!(conv_out_len(2, 3, 2, 1, 2), Some(1));
    }
}
