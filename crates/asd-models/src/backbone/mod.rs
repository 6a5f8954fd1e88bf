//! Backbones: networks from an input feature to an embedding, with their classification head.

pub mod asdnet;
pub mod mobilefacenet;
pub mod specmfn;
