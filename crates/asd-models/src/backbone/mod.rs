//! Backbones: whole networks from an input feature to an embedding, with their classification head, and the
//! MobileFaceNet trunk they share.

pub mod asdnet;
pub mod dcase_ae;
pub mod firstshot;
pub mod logmel_mfn;
pub mod mfn_classifier;
pub mod mobilefacenet;
pub mod neri_attention;
pub mod os_scl;
pub mod se_resnet;
pub mod specmfn;
pub mod stgram_mfn;
