//! Learnable front ends: networks on the raw waveform whose output joins a fixed spectrogram as an extra image
//! channel.

pub mod tfgramnet;
pub mod tgramnet;
