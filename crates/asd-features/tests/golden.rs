//! Every front end against the independent oracles in `shared/golden/` and `shared/real/ref/`, each within the
//! tolerance its README states (quoted at each test).

mod common;

use asd_features::{
    Band, DbScale, EnvelopeSpectrum, FeatureKind, FeatureSpec, Frontend, FrontendPreset, LogMel, MelBank, MelConfig,
    MelNorm, MelScale, PadMode, SAMPLE_RATE_HZ, Sos, butterworth,
};
use asd_testkit::{assert_allclose, golden, npy, npy_f64, real};
use common::{assert_logmel_close, feature_wave, max_abs, pcm16, safetensor};
use ndarray::{Array2, ArrayD, Axis, s};

fn build(spec: FeatureSpec) -> Box<dyn Frontend> {
    spec.build().unwrap()
}

fn logmel(preset: FrontendPreset) -> FeatureSpec {
    FeatureSpec::new(FeatureKind::LogMel).with_preset(preset)
}

fn bank(scale: MelScale, norm: MelNorm, n_fft: usize) -> Array2<f32> {
    let config = MelConfig {
        n_mels: 128,
        f_min: 0.0,
        f_max: 8000.0,
        scale,
        norm,
    };
    MelBank::new(&config, SAMPLE_RATE_HZ, n_fft).unwrap().to_dense()
}

#[test]
fn htk_filterbank_matches_torchaudio() {
    // stgram_mfn README §1: |Δ mel_fb| ≤ 1e-4 (layout: bins × mels).
    let ours = bank(MelScale::Htk, MelNorm::None, 1024).reversed_axes().into_dyn();
    for file in [
        "features/torchaudio_mel_filterbank_htk_513x128.npy",
        "stgram_mfn/logmel/mel_fb.npy",
    ] {
        let reference = npy(golden(file));
        assert_allclose(&ours, &reference, 1e-4, 0.0, file);
        eprintln!("{file}: max |Δ| {:.2e}", max_abs(&ours, &reference));
    }
}

#[test]
fn slaney_filterbanks_match_librosa_and_torchaudio() {
    // os_scl README: mel_fbank ≤ 1e-6 (torchaudio Slaney, 2048-point); the same bound for librosa's bank and the
    // attention net's HTK + Slaney-norm bank (neri README: an independent implementation reproduces it to 1.6e-7).
    let cases = [
        (
            bank(MelScale::Slaney, MelNorm::Slaney, 1024).into_dyn(),
            npy(golden("features/librosa_mel_filterbank_slaney_128x513.npy")),
            "librosa slaney 128x513",
        ),
        (
            bank(MelScale::Slaney, MelNorm::Slaney, 2048).reversed_axes().into_dyn(),
            safetensor(&golden("os_scl/inputs.safetensors"), "mel_fbank"),
            "os_scl mel_fbank 1025x128",
        ),
        (
            bank(MelScale::Htk, MelNorm::Slaney, 1024).reversed_axes().into_dyn(),
            safetensor(&golden("neri/model.safetensors"), "transform_tf.mel_scale.fb"),
            "neri fb 513x128",
        ),
    ];
    for (ours, reference, what) in cases {
        assert_allclose(&ours, &reference, 1e-6, 0.0, what);
        eprintln!("{what}: max |Δ| {:.2e}", max_abs(&ours, &reference));
    }
}

#[test]
fn segment_spectrum_matches_numpy_rfft() {
    // golden/features §3: ≤ 1e-5 × max magnitude.
    let ours = build(FeatureSpec::new(FeatureKind::Spectrum))
        .extract(&feature_wave("wave0"))
        .unwrap();
    let reference = npy_f64(golden("features/wave0_rfft_mag_2s_segments_f64.npy"));
    let max = reference.iter().copied().fold(0.0, f64::max);
    let ours = ours.mapv(f64::from).into_dyn();
    assert_allclose(&ours, &reference, 1e-5 * max, 0.0, "|rfft| 2-s segments");
    let worst = ours
        .iter()
        .zip(&reference)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f64::max);
    eprintln!("|rfft| segments: max |Δ| {:.2e} × max", worst / max);
}

#[test]
fn librosa_preset_matches_librosa_with_both_paddings() {
    // golden/features §1: Mel power ≤ 1e-4 relative; log-Mel ≤ 1e-3 dB within 80 dB of the max, ≤ 1e-2 dB elsewhere.
    let zero = build(logmel(FrontendPreset::Librosa));
    let reflect = build(FeatureSpec {
        pad: Some(PadMode::Reflect),
        ..logmel(FrontendPreset::Librosa)
    });
    let power = LogMel::new(FrontendPreset::Librosa.log_mel_config()).unwrap();
    for i in 0..3 {
        let wave = feature_wave(&format!("wave{i}"));
        let dir = |suffix: &str| npy(golden(&format!("features/wave{i}_{suffix}.npy")));
        assert_logmel_close(
            &zero.extract(&wave).unwrap(),
            &dir("librosa_logmel_db"),
            &format!("wave{i} librosa"),
        );
        assert_logmel_close(
            &reflect.extract(&wave).unwrap(),
            &dir("librosa_reflectpad_logmel_db"),
            &format!("wave{i} librosa reflect"),
        );
        let mel = power.mel_power(&wave).unwrap().into_dyn();
        assert_allclose(
            &mel,
            &dir("librosa_mel_power"),
            0.0,
            1e-4,
            &format!("wave{i} librosa mel power"),
        );
    }
}

#[test]
fn torchaudio_mel_matches_with_epsilon_and_clamp_conversions() {
    // golden/features §2: torchaudio log-Mel (10·log10(mel + ε)) ≤ 1e-3 dB within 80 dB, ≤ 1e-2 dB elsewhere.
    // The README states no bound for torchaudio's Mel power (its own float32 filterbank is off by up to 1.3e-5);
    // we hold it to the dB bound's equivalent, 10^(1e-3/10) − 1 = 2.3e-4 relative.
    let mut config = FrontendPreset::StgramMfn.log_mel_config();
    config.db = DbScale::Offset {
        epsilon: f64::EPSILON as f32,
    };
    let with_epsilon = LogMel::new(config).unwrap();
    for i in 0..3 {
        let wave = feature_wave(&format!("wave{i}"));
        let dir = |suffix: &str| npy(golden(&format!("features/wave{i}_{suffix}.npy")));
        assert_logmel_close(
            &with_epsilon.extract(&wave).unwrap(),
            &dir("torchaudio_logmel_db"),
            &format!("wave{i} torchaudio"),
        );
        let mel = with_epsilon.mel_power(&wave).unwrap().into_dyn();
        let reference = dir("torchaudio_mel_power");
        assert_allclose(&mel, &reference, 0.0, 2.3e-4, &format!("wave{i} torchaudio mel power"));
        let rel = mel
            .iter()
            .zip(&reference)
            .map(|(a, e)| f64::from((a - e).abs() / e.abs()))
            .fold(0.0, f64::max);
        eprintln!("wave{i} torchaudio mel power: max relative |Δ| {rel:.2e}");
    }
}

#[test]
fn stgram_mfn_preset_matches_its_golden() {
    // stgram_mfn README §1: |Δ logmel| ≤ 1e-2 dB everywhere (logmel_1 is 97 % at the −100 dB clamp floor).
    let frontend = build(logmel(FrontendPreset::StgramMfn));
    for i in 0..3 {
        let wave: Vec<f32> = npy(golden(&format!("stgram_mfn/logmel/wave_{i}.npy")))
            .into_iter()
            .collect();
        let ours = frontend.extract(&wave).unwrap().into_dyn();
        let reference = npy(golden(&format!("stgram_mfn/logmel/logmel_{i}.npy")));
        assert_allclose(&ours, &reference, 1e-2, 0.0, &format!("stgram logmel_{i}"));
        eprintln!("stgram logmel_{i}: max |Δ| {:.2e} dB", max_abs(&ours, &reference));
    }
}

#[test]
fn os_scl_preset_matches_wave2mel() {
    // os_scl README: log-Mel recomputed from `wav`: max abs ≤ 1e-2 dB.
    let path = golden("os_scl/inputs.safetensors");
    let (wav, reference) = (safetensor(&path, "wav"), safetensor(&path, "logmel"));
    let frontend = build(logmel(FrontendPreset::OsScl));
    for b in 0..2 {
        let wave: Vec<f32> = wav.slice(s![b, 0, ..]).iter().copied().collect();
        let ours = frontend.extract(&wave).unwrap().into_dyn();
        let expected = reference.slice(s![b, 0, .., ..]).to_owned().into_dyn();
        assert_allclose(&ours, &expected, 1e-2, 0.0, &format!("os_scl logmel {b}"));
        eprintln!("os_scl logmel {b}: max |Δ| {:.2e} dB", max_abs(&ours, &expected));
    }
}

#[test]
fn neri_preset_matches_the_attention_net() {
    // neri README: spec_power, mel_power ≤ 1e-5·max|ref| + 1e-4·|ref| elementwise; logmel ≤ 1e-3 dB abs.
    let waves = npy(golden("neri/input_waveforms.npy"));
    let outputs = golden("neri/outputs.safetensors");
    let frontend = build(logmel(FrontendPreset::NeriAttention));
    let stft = build(FeatureSpec::new(FeatureKind::Stft).with_preset(FrontendPreset::NeriAttention));
    let mel = LogMel::new(FrontendPreset::NeriAttention.log_mel_config()).unwrap();
    for b in 0..2 {
        let wave: Vec<f32> = waves.index_axis(Axis(0), b).iter().copied().collect();
        for (key, ours) in [
            ("spec_power", stft.extract(&wave).unwrap()),
            ("mel_power", mel.mel_power(&wave).unwrap()),
        ] {
            let expected = safetensor(&outputs, key).index_axis(Axis(0), b).to_owned();
            let max = expected.iter().copied().fold(0.0f32, f32::max);
            assert_allclose(
                &ours.into_dyn(),
                &expected,
                1e-5 * f64::from(max),
                1e-4,
                &format!("neri {key} {b}"),
            );
        }
        let ours = frontend.extract(&wave).unwrap().into_dyn();
        let expected: ArrayD<f32> = safetensor(&outputs, "logmel").index_axis(Axis(0), b).to_owned();
        assert_allclose(&ours, &expected, 1e-3, 0.0, &format!("neri logmel {b}"));
        eprintln!("neri logmel {b}: max |Δ| {:.2e} dB", max_abs(&ours, &expected));
    }
}

#[test]
fn butterworth_sections_match_scipy() {
    // firstshot2025.md Appendix A: a Rust designer should reproduce scipy's sections to ≤ 1e-12.
    let cases: [(Band, Vec<[f64; 6]>, &str); 4] = [
        (
            Band::HighPass { cutoff_hz: 200.0 },
            rows(&npy_f64(golden("features/sos_butter4_highpass_200.npy"))),
            "hp 200",
        ),
        (
            Band::BandPass {
                low_hz: 200.0,
                high_hz: 7900.0,
            },
            rows(&npy_f64(golden("features/sos_butter4_bandpass_200_7900.npy"))),
            "bp 200-7900",
        ),
        // Appendix A table, octave band around 1000 Hz
        (
            Band::BandPass {
                low_hz: 1000.0 / 2f64.sqrt(),
                high_hz: 1000.0 * 2f64.sqrt(),
            },
            vec![
                [
                    0.00026491697871055034,
                    0.0005298339574211007,
                    0.00026491697871055034,
                    1.0,
                    -1.5679799275737243,
                    0.7451188265716564,
                ],
                [1.0, 2.0, 1.0, 1.0, -1.6959277217085074, 0.7996569957415158],
                [1.0, -2.0, 1.0, 1.0, -1.6028548635450535, 0.8723357477677856],
                [1.0, -2.0, 1.0, 1.0, -1.8513314086054047, 0.9286713520011344],
            ],
            "bp octave 1000",
        ),
        // Appendix A table, octave band around 4000 Hz
        (
            Band::BandPass {
                low_hz: 4000.0 / 2f64.sqrt(),
                high_hz: 4000.0 * 2f64.sqrt(),
            },
            vec![
                [
                    0.03148415152219547,
                    -0.06296830304439094,
                    0.03148415152219547,
                    1.0,
                    -0.2188890567451692,
                    0.2932491502268208,
                ],
                [1.0, 2.0, 1.0, 1.0, 0.49722479676164777, 0.3212405063542724],
                [1.0, -2.0, 1.0, 1.0, -0.7073322598609479, 0.6851480758047195],
                [1.0, 2.0, 1.0, 1.0, 1.0053116691505293, 0.714186468491677],
            ],
            "bp octave 4000",
        ),
    ];
    for (band, expected, what) in cases {
        let sos = butterworth(4, band, 16_000.0).unwrap();
        assert_eq!(sos.sections().len(), expected.len(), "{what}: sections");
        let worst = sos
            .sections()
            .iter()
            .flatten()
            .zip(expected.iter().flatten())
            .map(|(a, e)| (a - e).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-12,
            "{what}: max |Δ| {worst:e} > 1e-12: {:?}",
            sos.sections()
        );
        eprintln!("{what}: max |Δ| {worst:.1e}");
    }
}

fn rows(a: &ArrayD<f64>) -> Vec<[f64; 6]> {
    a.outer_iter().map(|r| std::array::from_fn(|j| r[j])).collect()
}

fn reference_sos(file: &str) -> Sos {
    Sos::from_sections(&rows(&npy_f64(golden(file)))).unwrap()
}

#[test]
fn causal_high_pass_matches_sosfilt() {
    // golden/features tolerances: high-pass signal ≤ 1e-5 abs.
    let x: Vec<f64> = feature_wave("wave0").iter().map(|&v| f64::from(v)).collect();
    let sos = butterworth(4, Band::HighPass { cutoff_hz: 200.0 }, 16_000.0).unwrap();
    let ours = ndarray::Array1::from(sos.filter(&x)).mapv(|v| v as f32).into_dyn();
    let reference = npy(golden("features/wave0_hp200_sosfilt.npy"));
    assert_allclose(&ours, &reference, 1e-5, 0.0, "hp200 sosfilt");
    eprintln!("hp200 sosfilt: max |Δ| {:.2e}", max_abs(&ours, &reference));
}

#[test]
fn high_pass_log_mels_match_librosa() {
    // golden/features §5 with the §1 criterion (1e-3 dB within 80 dB of max, 1e-2 dB elsewhere, all frames).
    let wave = feature_wave("wave0");
    let hpf = |preset| FeatureSpec::new(FeatureKind::HpfLogMel).with_preset(preset);
    let plain = build(hpf(FrontendPreset::Librosa)).extract(&wave).unwrap();
    assert_logmel_close(
        &plain,
        &npy(golden("features/wave0_hp200_librosa_logmel_db.npy")),
        "hp200 librosa",
    );
    // firstshot2025 = Mel bank 200–8000 Hz; the golden used librosa's zero padding
    let fmin200 = npy(golden("features/wave0_hp200_librosa_fmin200_logmel_db.npy"));
    let zero = build(FeatureSpec {
        pad: Some(PadMode::Zero),
        ..hpf(FrontendPreset::Firstshot2025)
    })
    .extract(&wave)
    .unwrap();
    assert_logmel_close(&zero, &fmin200, "hp200 firstshot2025, zero padding");
    // the preset itself pads by reflection (firstshot2025.md §3): identical in every frame the padding misses
    let reflect = build(hpf(FrontendPreset::Firstshot2025)).extract(&wave).unwrap();
    let interior = s![.., 1..312];
    assert_logmel_close(
        &reflect.slice(interior).to_owned(),
        &fmin200.slice(interior).to_owned().into_dyn(),
        "hp200 firstshot2025 preset, frames 1..311",
    );
}

/// Bins of the `count` largest local maxima above `from_bin`.
fn peak_bins(spectrum: &[f32], from_bin: usize, count: usize) -> Vec<usize> {
    let mut peaks: Vec<usize> = (from_bin.max(1)..spectrum.len() - 1)
        .filter(|&k| spectrum[k] > spectrum[k - 1] && spectrum[k] >= spectrum[k + 1])
        .collect();
    peaks.sort_by(|&a, &b| spectrum[b].total_cmp(&spectrum[a]));
    peaks.truncate(count);
    peaks
}

#[test]
fn envelope_spectrum_matches_scipy() {
    // golden/features §4: envelope / envelope spectrum ≤ 1e-4 × max, same peak bins; the zero-phase filtered
    // signal is held to the high-pass signal's 1e-5 abs.
    let wave = feature_wave("wave0");
    let envelope = EnvelopeSpectrum::new(4, Band::HighPass { cutoff_hz: 200.0 }, SAMPLE_RATE_HZ).unwrap();
    assert_eq!(
        envelope.sos().sections().len(),
        reference_sos("features/sos_butter4_highpass_200.npy").sections().len()
    );
    let (filtered, env) = envelope.filtered_and_envelope(&wave).unwrap();
    let to_dyn = |v: &[f64]| ndarray::Array1::from_iter(v.iter().map(|&x| x as f32)).into_dyn();
    let reference = npy(golden("features/wave0_env_hp200_filtered.npy"));
    assert_allclose(&to_dyn(&filtered), &reference, 1e-5, 0.0, "sosfiltfilt hp200");
    eprintln!("sosfiltfilt: max |Δ| {:.2e}", max_abs(&to_dyn(&filtered), &reference));
    let reference = npy(golden("features/wave0_env_hp200_envelope.npy"));
    let max = reference.iter().copied().fold(0.0f32, f32::max);
    assert_allclose(
        &to_dyn(&env),
        &reference,
        1e-4 * f64::from(max),
        0.0,
        "hilbert envelope",
    );
    eprintln!(
        "envelope: max |Δ| {:.2e} × max",
        max_abs(&to_dyn(&env), &reference) / f64::from(max)
    );

    let spec = |f_max: Option<f64>| FeatureSpec {
        f_max,
        ..FeatureSpec::new(FeatureKind::Envelope)
    };
    for (frontend, file) in [
        (build(spec(None)), "features/wave0_env_hp200_envspec.npy"),
        (build(spec(Some(7900.0))), "features/wave0_env_bp200_7900_envspec.npy"),
    ] {
        let ours = frontend.extract(&wave).unwrap();
        assert_eq!(ours.dim(), (1, 80_001));
        let ours = ours.index_axis(Axis(0), 0).to_owned();
        let reference = npy(golden(file));
        let max = reference.iter().copied().fold(0.0f32, f32::max);
        assert_allclose(&ours.clone().into_dyn(), &reference, 1e-4 * f64::from(max), 0.0, file);
        eprintln!(
            "{file}: max |Δ| {:.2e} × max",
            max_abs(&ours.clone().into_dyn(), &reference) / f64::from(max)
        );
        // peaks above 5 Hz (bin 50 at 0.1 Hz per bin)
        let reference: Vec<f32> = reference.iter().copied().collect();
        let ours: Vec<f32> = ours.to_vec();
        assert_eq!(
            peak_bins(&ours, 50, 5),
            peak_bins(&reference, 50, 5),
            "{file}: peak bins"
        );
    }
}

#[test]
fn librosa_preset_matches_real_recordings() {
    // shared/real README: same criterion as golden/features (1e-3 dB within 80 dB of max, 1e-2 dB elsewhere).
    let frontend = build(logmel(FrontendPreset::Librosa));
    let dir = real("");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wav") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let reference = npy(real(&format!("ref/{stem}.librosa_logmel_db.npy")));
        let ours = frontend.extract(&pcm16(&path)).unwrap();
        assert_logmel_close(&ours, &reference, &stem);
        n += 1;
    }
    assert_eq!(n, 12, "expected the twelve recordings of shared/real");
}
