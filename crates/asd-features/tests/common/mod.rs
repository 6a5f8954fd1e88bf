//! Fixture readers and the log-Mel criterion shared by the golden tests.

use asd_testkit::{golden, npy};
use ndarray::{Array2, ArrayD, IxDyn};
use std::path::Path;

/// A float32 tensor of a `.safetensors` file (8-byte little-endian header length, JSON header, raw data).
pub fn safetensor(path: &Path, key: &str) -> ArrayD<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len])
        .unwrap_or_else(|e| panic!("{}: bad header: {e}", path.display()));
    let entry = &header[key];
    assert_eq!(entry["dtype"], "F32", "{}: {key} is not F32", path.display());
    let shape: Vec<usize> = entry["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let offsets = entry["data_offsets"].as_array().unwrap();
    let (start, end) = (
        offsets[0].as_u64().unwrap() as usize,
        offsets[1].as_u64().unwrap() as usize,
    );
    let data = &bytes[8 + header_len + start..8 + header_len + end];
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap()
}

/// Samples of a canonical 44-byte-header mono PCM16 WAV as float32 `sample / 32768` (soundfile's float32 read).
pub fn pcm16(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(&bytes[..4], b"RIFF", "{}", path.display());
    assert_eq!(
        &bytes[36..40],
        b"data",
        "{}: not a canonical 44-byte header",
        path.display()
    );
    assert_eq!(
        u16::from_le_bytes([bytes[34], bytes[35]]),
        16,
        "{}: not 16-bit",
        path.display()
    );
    let len = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
    bytes[44..44 + len]
        .chunks_exact(2)
        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
        .collect()
}

/// A float32 waveform of golden/features.
pub fn feature_wave(name: &str) -> Vec<f32> {
    npy(golden(&format!("features/{name}.npy"))).into_iter().collect()
}

/// The golden/features log-Mel criterion: |Δ| ≤ 1e-3 dB on bins within 80 dB of the clip's maximum, ≤ 1e-2 dB
/// elsewhere (every frame, the padded frames 0 and last included). Returns the worst differences
/// (within 80 dB, elsewhere) for the report.
pub fn assert_logmel_close(actual: &Array2<f32>, expected: &ArrayD<f32>, what: &str) -> (f64, f64) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    let max = expected.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut top, mut rest) = (0.0f64, 0.0f64);
    for (i, (&a, &e)) in actual.iter().zip(expected.iter()).enumerate() {
        let d = f64::from((a - e).abs());
        let near = e >= max - 80.0;
        let limit = if near { 1e-3 } else { 1e-2 };
        assert!(
            d <= limit,
            "{what}: element {i} is {a} dB, expected {e} dB (|Δ| {d:.2e} > {limit:e})"
        );
        if near { top = top.max(d) } else { rest = rest.max(d) }
    }
    eprintln!("{what}: max |Δ| {top:.2e} dB within 80 dB of max, {rest:.2e} dB elsewhere");
    (top, rest)
}

/// Largest |a − e| over all elements.
pub fn max_abs(actual: &ArrayD<f32>, expected: &ArrayD<f32>) -> f64 {
    assert_eq!(actual.shape(), expected.shape());
    actual
        .iter()
        .zip(expected.iter())
        .map(|(&a, &e)| f64::from((a - e).abs()))
        .fold(0.0, f64::max)
}
