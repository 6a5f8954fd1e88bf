//! Building blocks shared by several backbones.

pub mod bottleneck;
pub mod conv1d_stack;
pub mod conv_block;
