//! Native decoding of every good file of `golden/audio` against librosa/soundfile's decode
//! (`ref/<stem>.native.npy`), within the tolerances of `golden/audio/README.md` §2:
//! bit-exact for PCM/float WAV and FLAC; Vorbis same length and max abs ≤ 1e-5;
//! MP3 same length (66 150, gapless) and max abs ≤ 1e-4.

use asd_audio::{Decoded, decode, load};
use ndarray::{ArrayD, IxDyn};

/// Bit-exact: the README's tolerance for PCM, float and FLAC.
const EXACT: f64 = 0.0;
/// README §2: native decode of Ogg Vorbis, max abs diff.
const VORBIS_ATOL: f64 = 1e-5;
/// README §2: native decode of MP3, max abs diff.
const MP3_ATOL: f64 = 1e-4;

/// `(file, native rate, channels, frames, max abs tolerance)` from the README's table of good files.
const GOOD: [(&str, u32, usize, usize, f64); 12] = [
    ("pcm16_mono_16k.wav", 16_000, 1, 24_000, EXACT),
    ("pcm24_mono_16k.wav", 16_000, 1, 24_000, EXACT),
    ("float32_mono_16k.wav", 16_000, 1, 24_000, EXACT),
    ("u8_mono_16k.wav", 16_000, 1, 24_000, EXACT),
    ("pcm16_stereo_44k1.wav", 44_100, 2, 66_150, EXACT),
    ("pcm16_mono_48k.wav", 48_000, 1, 72_000, EXACT),
    ("pcm16_mono_8k.wav", 8_000, 1, 12_000, EXACT),
    ("flac_mono_16k.flac", 16_000, 1, 24_000, EXACT),
    ("vorbis_mono_22k05.ogg", 22_050, 1, 33_075, VORBIS_ATOL),
    ("mp3_mono_44k1.mp3", 44_100, 1, 66_150, MP3_ATOL),
    ("quiet_pcm16_mono_16k.wav", 16_000, 1, 24_000, EXACT),
    ("quiet_float32_mono_16k.wav", 16_000, 1, 24_000, EXACT),
];

fn stem(file: &str) -> &str {
    file.split('.').next().unwrap_or(file)
}

/// The decode in the reference's layout: `(N,)` for mono, channel-first `(C, N)` otherwise.
fn as_array(d: &Decoded) -> ArrayD<f32> {
    let shape = if d.channels.len() == 1 {
        vec![d.frames()]
    } else {
        vec![d.channels.len(), d.frames()]
    };
    ArrayD::from_shape_vec(IxDyn(&shape), d.channels.concat()).expect("equal channel lengths")
}

#[test]
fn every_good_file_matches_the_reference_decode() {
    for (file, rate, channels, frames, atol) in GOOD {
        let path = asd_testkit::golden(&format!("audio/{file}"));
        let decoded = decode(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded.sample_rate, rate, "{file}: sample rate");
        assert_eq!(decoded.channels.len(), channels, "{file}: channels");
        assert_eq!(decoded.frames(), frames, "{file}: frames");
        let reference = asd_testkit::npy(asd_testkit::golden(&format!("audio/ref/{}.native.npy", stem(file))));
        let actual = as_array(&decoded);
        let worst = actual
            .iter()
            .zip(&reference)
            .map(|(a, r)| (a - r).abs())
            .fold(0.0f32, f32::max);
        println!("{file}: {channels} × {frames} at {rate} Hz, max abs diff {worst:e} (tolerance {atol:e})");
        asd_testkit::assert_allclose(&actual, &reference, atol, 0.0, file);
    }
}

#[test]
fn stereo_decodes_channel_first_and_loads_as_the_float32_mean() {
    let path = asd_testkit::golden("audio/pcm16_stereo_44k1.wav");
    let decoded = decode(&path).unwrap_or_else(|e| panic!("{e}"));
    // README: the reference is channel-first (2, N); row 0 is the left channel.
    let reference = asd_testkit::npy(asd_testkit::golden("audio/ref/pcm16_stereo_44k1.native.npy"));
    assert_eq!(reference.shape(), &[2, 66_150]);
    assert_eq!(as_array(&decoded), reference);
    // librosa's to_mono: float32 mean over channels, at the native rate.
    let mono = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mono.sample_rate, 44_100);
    let left = reference.index_axis(ndarray::Axis(0), 0);
    let right = reference.index_axis(ndarray::Axis(0), 1);
    let expected: Vec<f32> = left.iter().zip(right.iter()).map(|(l, r)| (l + r) / 2.0).collect();
    assert_eq!(mono.samples, expected);
}

#[test]
fn mono_files_load_unchanged() {
    let path = asd_testkit::golden("audio/pcm24_mono_16k.wav");
    let reference = asd_testkit::npy(asd_testkit::golden("audio/ref/pcm24_mono_16k.native.npy"));
    let wave = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.samples, reference.iter().copied().collect::<Vec<_>>());
}

#[test]
fn quiet_signal_is_neither_normalised_nor_gated() {
    // README §3: RMS 7.1e-4, peak 1.4e-3; the PCM16 and float versions differ by at most 1/65536.
    let pcm = load(&asd_testkit::golden("audio/quiet_pcm16_mono_16k.wav")).unwrap_or_else(|e| panic!("{e}"));
    let float = load(&asd_testkit::golden("audio/quiet_float32_mono_16k.wav")).unwrap_or_else(|e| panic!("{e}"));
    let rms = (float.samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / float.len() as f64).sqrt();
    let peak = float.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    println!("quiet: RMS {rms:.3e}, peak {peak:.3e}");
    assert!((rms - 7.1e-4).abs() < 0.05e-3, "RMS {rms}");
    assert!((f64::from(peak) - 1.4e-3).abs() < 0.05e-3, "peak {peak}");
    let worst = pcm
        .samples
        .iter()
        .zip(&float.samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1.0 / 65_536.0, "PCM16 vs float: {worst}");
}
