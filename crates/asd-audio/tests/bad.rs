//! The bad and edge-case files of `golden/audio/bad/`, one test each, with the behaviour classes of
//! `golden/audio/README.md` §4: a clear typed error naming the file, or the defined handling (with a
//! `tracing` warning where the README says so). Never a panic.

use asd_audio::{AudioError, decode, load, load_16k};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn bad(file: &str) -> PathBuf {
    asd_testkit::golden(&format!("audio/bad/{file}"))
}

/// The samples of `ref/<stem>.native.npy`.
fn reference(stem: &str) -> Vec<f32> {
    asd_testkit::npy(asd_testkit::golden(&format!("audio/ref/{stem}.native.npy")))
        .iter()
        .copied()
        .collect()
}

/// Runs `f` with a subscriber that records every event at WARN or above; returns `f`'s result and
/// the recorded text.
fn with_warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("sink lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&sink.0.lock().expect("sink lock")).into_owned();
    (out, text)
}

/// Asserts that the error's message names the file.
fn names_file(e: &AudioError, path: &Path) {
    let message = e.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "error does not name the file: {message}"
    );
    println!("{message}");
}

#[test]
fn empty_file_is_a_clear_error() {
    let path = bad("empty.wav");
    let e = load(&path).expect_err("0-byte file");
    assert!(matches!(e, AudioError::Empty { .. }), "{e:?}");
    names_file(&e, &path);
}

#[test]
fn header_only_is_no_audio_samples() {
    let path = bad("header_only_no_data.wav");
    let e = load_16k(&path).expect_err("0 samples");
    assert!(matches!(e, AudioError::Empty { .. }), "{e:?}");
    assert!(e.to_string().contains("no audio samples"));
    names_file(&e, &path);
}

#[test]
fn truncated_header_is_a_decode_error() {
    let path = bad("truncated_mid_header.wav");
    let e = load(&path).expect_err("cut inside the fmt chunk");
    assert!(matches!(e, AudioError::Decode { .. }), "{e:?}");
    names_file(&e, &path);
}

#[test]
fn truncated_mid_sample_keeps_the_complete_samples_and_warns() {
    // README: the 8000 complete samples = the first 8000 of pcm16_mono_16k; the dangling byte dropped.
    let path = bad("truncated_mid_sample.wav");
    let (wave, warnings) = with_warnings(|| load(&path));
    let wave = wave.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.samples, reference("pcm16_mono_16k")[..8_000]);
    assert!(
        warnings.contains("WARN") && warnings.contains("truncated_mid_sample.wav"),
        "warnings: {warnings:?}"
    );
    println!("{warnings}");
}

#[test]
fn header_claiming_more_data_reads_to_the_end_and_warns() {
    let path = bad("header_claims_more_data.wav");
    let (wave, warnings) = with_warnings(|| load(&path));
    let wave = wave.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.samples, reference("pcm16_mono_16k"));
    assert!(
        warnings.contains("32000") && warnings.contains("24000"),
        "warnings: {warnings:?}"
    );
    println!("{warnings}");
}

#[test]
fn streaming_size_0xffffffff_reads_to_the_end() {
    let path = bad("datasize_0xffffffff.wav");
    let (wave, warnings) = with_warnings(|| load(&path));
    let wave = wave.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.samples, reference("pcm16_mono_16k"));
    // The size is declared unknown, not wrong: nothing to warn about.
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
}

#[test]
fn random_bytes_are_a_decode_error() {
    let path = bad("random_bytes.wav");
    let e = load(&path).expect_err("random bytes");
    assert!(matches!(e, AudioError::Decode { .. }), "{e:?}");
    names_file(&e, &path);
}

#[test]
fn text_renamed_flac_is_a_decode_error_not_an_empty_clip() {
    let path = bad("text_renamed.flac");
    let e = load_16k(&path).expect_err("text, not FLAC");
    assert!(matches!(e, AudioError::Decode { .. }), "{e:?}");
    names_file(&e, &path);
}

#[test]
fn nan_and_inf_are_non_finite_at_the_first_index() {
    // NaN at index 100, +Inf at 200, −Inf at 300 (the file also carries a PEAK chunk).
    let path = bad("nan_inf_float32_16k.wav");
    let e = decode(&path).expect_err("non-finite samples");
    assert!(matches!(e, AudioError::NonFinite { index: 100, .. }), "{e:?}");
    names_file(&e, &path);
}

#[test]
fn silent_clip_is_valid() {
    let wave = load_16k(&bad("silent_pcm16_16k.wav")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.len(), 24_000);
    assert!(wave.samples.iter().all(|&s| s == 0.0));
}

#[test]
fn short_clip_loads_its_1600_samples() {
    // README: samples 8000..9600 of pcm16_mono_16k; the length policy is tested in waveform.rs.
    let wave = load_16k(&bad("short_0p1s_pcm16_16k.wav")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.samples, reference("pcm16_mono_16k")[8_000..9_600]);
}

#[test]
fn ima_adpcm_decodes_bit_exactly() {
    // README: decode it and match ref/ima_adpcm_16k.native.npy (IMA ADPCM decoding is
    // integer-exact, so bit-exact): 24 240 samples, every block decoded whole.
    let path = bad("ima_adpcm_16k.wav");
    let decoded = decode(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((decoded.sample_rate, decoded.channels.len()), (16_000, 1));
    assert_eq!(decoded.channels[0], reference("ima_adpcm_16k"));
}

#[test]
fn truncated_and_corrupted_copies_of_every_good_file_never_panic() {
    // Each good file cut at 13 lengths, and with every 97th byte (after a seeded offset) inverted:
    // decoding returns audio or a typed error naming the file, never a panic.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let good = std::fs::read_dir(asd_testkit::golden("audio")).unwrap_or_else(|e| panic!("{e}"));
    let mut tried = 0;
    for entry in good {
        let source = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !(name.ends_with(".wav") || name.ends_with(".flac") || name.ends_with(".ogg") || name.ends_with(".mp3")) {
            continue;
        }
        let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("{e}"));
        let mut variants: Vec<Vec<u8>> = (1..=13).map(|k| bytes[..bytes.len() * k / 14].to_vec()).collect();
        for offset in [3, 41, 89] {
            let mut corrupted = bytes.clone();
            corrupted.iter_mut().skip(offset).step_by(97).for_each(|b| *b = !*b);
            variants.push(corrupted);
        }
        for (i, variant) in variants.iter().enumerate() {
            let path = dir.path().join(format!("{i}_{name}"));
            std::fs::write(&path, variant).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = decode(&path) {
                names_file(&e, &path);
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 12 * 16);
}

/// Criterion (issue 17): a FIFO or a folder named like audio is refused without being opened for reading (a FIFO
/// would block `load` forever), as `Unsupported` naming the path.
#[cfg(unix)]
#[test]
fn fifos_and_folders_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.path().join("x.wav");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(made.success());
    let folder = dir.path().join("y.flac");
    std::fs::create_dir(&folder).unwrap_or_else(|e| panic!("{e}"));
    for path in [fifo, folder] {
        match load(&path) {
            Err(AudioError::Unsupported { path: named, what }) => {
                assert_eq!(named, path);
                assert!(what.contains("regular file"), "{what}");
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}

/// Criterion (issue 17): a file larger than `MAX_FILE_BYTES` is refused from its size, without being read (a sparse
/// file here, so the test costs no disk).
#[test]
fn files_beyond_the_size_limit_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("huge.wav");
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    file.set_len(asd_audio::MAX_FILE_BYTES + 1)
        .unwrap_or_else(|e| panic!("{e}"));
    match decode(&path) {
        Err(AudioError::Unsupported { path: named, what }) => {
            assert_eq!(named, path);
            assert!(what.contains("bytes"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

/// A 16-bit PCM WAV file whose `fmt ` chunk says `sample_rate` and `channels`, with 400 bytes of samples.
fn pcm16_wav(sample_rate: u32, channels: u16) -> Vec<u8> {
    let data = vec![0u8; 400];
    let block = channels.max(1) * 2;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&sample_rate.wrapping_mul(u32::from(block)).to_le_bytes());
    bytes.extend_from_slice(&block.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&data);
    bytes
}

/// Criterion (issue 17): a WAV header's sample rate and channel count are checked against the documented limits
/// (1 kHz to 768 kHz, 1 to 64 channels) before the decoder or the resampler sees them: a rate of 0 (which made
/// symphonia panic), 1 Hz or 2.1 GHz (which made the resampler ask for 32 GB and 8.6 GB) and 0 or 65 channels are
/// `Unsupported` errors naming the file; the rate limits themselves decode.
#[test]
fn lying_wav_headers_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("header.wav");
    for (rate, channels) in [
        (0, 1),
        (1, 1),
        (999, 1),
        (768_001, 1),
        (2_100_000_000, 1),
        (16_000, 0),
        (16_000, 65),
    ] {
        std::fs::write(&path, pcm16_wav(rate, channels)).unwrap_or_else(|e| panic!("{e}"));
        match load_16k(&path) {
            Err(AudioError::Unsupported { path: named, what }) => {
                assert_eq!(named, path);
                assert!(what.contains("sample rate") || what.contains("channels"), "{what}");
            }
            other => panic!("rate {rate}, {channels} channels: {other:?}"),
        }
    }
    for (rate, channels) in [
        (asd_audio::MIN_SAMPLE_RATE, 1),
        (16_000, 2),
        (asd_audio::MAX_SAMPLE_RATE, 8),
    ] {
        std::fs::write(&path, pcm16_wav(rate, channels)).unwrap_or_else(|e| panic!("{e}"));
        let decoded = decode(&path).unwrap_or_else(|e| panic!("rate {rate}, {channels} channels: {e}"));
        assert_eq!(
            (decoded.sample_rate, decoded.channels.len()),
            (rate, usize::from(channels))
        );
    }
}
