//! Channel policies, multi-channel writing and header probing, checked against the decoder (an independent reading
//! of the same files) on the golden audio set and on files written here.

use asd_audio::{AudioError, ChannelPolicy, decode, load_16k, load_16k_channels, probe, write_channels_pcm16};

/// Every golden file `decode` reads: `probe` gives its channels, rate and frame count.
#[test]
fn probe_agrees_with_the_decoder_on_every_golden_file() {
    let files = [
        "flac_mono_16k.flac",
        "float32_mono_16k.wav",
        "mp3_mono_44k1.mp3",
        "pcm16_mono_16k.wav",
        "pcm16_mono_48k.wav",
        "pcm16_mono_8k.wav",
        "pcm16_stereo_44k1.wav",
        "pcm24_mono_16k.wav",
        "u8_mono_16k.wav",
        "vorbis_mono_22k05.ogg",
        "bad/ima_adpcm_16k.wav",
        "bad/datasize_0xffffffff.wav",
        "bad/header_claims_more_data.wav",
        "bad/short_0p1s_pcm16_16k.wav",
        "bad/truncated_mid_sample.wav",
    ];
    for file in files {
        let path = asd_testkit::golden(&format!("audio/{file}"));
        let decoded = decode(&path).unwrap_or_else(|e| panic!("{e}"));
        let info = probe(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (info.channels, info.sample_rate, info.frames),
            (decoded.channels.len(), decoded.sample_rate, decoded.frames() as u64),
            "{file}"
        );
    }
}

/// Files `decode` refuses are refused by `probe` too, each error naming the file.
#[test]
fn probe_refuses_what_the_decoder_refuses() {
    for file in [
        "bad/empty.wav",
        "bad/random_bytes.wav",
        "bad/header_only_no_data.wav",
        "bad/text_renamed.flac",
    ] {
        let path = asd_testkit::golden(&format!("audio/{file}"));
        assert!(decode(&path).is_err(), "{file}");
        let err = probe(&path).expect_err(file);
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let err = probe(dir.path()).unwrap_err();
    assert!(
        matches!(err, AudioError::Unsupported { .. } | AudioError::Io { .. }),
        "{err}"
    );
}

/// A stereo file written here: each policy reads what it says, at 16 kHz; the mean equals `load_16k`'s mix.
#[test]
fn each_channel_policy_reads_its_channels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let left: Vec<f32> = (0..1600).map(|n| ((n % 100) as f32 - 50.0) / 128.0).collect();
    let right: Vec<f32> = (0..1600).map(|n| ((n % 37) as f32 - 18.0) / 64.0).collect();
    write_channels_pcm16(&path, &[&left, &right], 16_000).unwrap();
    let info = probe(&path).unwrap();
    assert_eq!((info.channels, info.sample_rate, info.frames), (2, 16_000, 1600));
    // Written as 16-bit PCM: the values above are exact multiples of 1/32768.
    let read = |policy| load_16k_channels(&path, policy).unwrap();
    assert_eq!(read(ChannelPolicy::Left)[0].samples, left);
    assert_eq!(read(ChannelPolicy::Right)[0].samples, right);
    let both = read(ChannelPolicy::Both);
    assert_eq!((both.len(), &both[0].samples, &both[1].samples), (2, &left, &right));
    let mean: Vec<f32> = left.iter().zip(&right).map(|(l, r)| (l + r) / 2.0).collect();
    assert_eq!(read(ChannelPolicy::Mean)[0].samples, mean);
    assert_eq!(load_16k(&path).unwrap().samples, mean);
}

/// A mono file has no right channel and not two: refused, naming the file and the policy.
#[test]
fn a_mono_file_refuses_right_and_both() {
    let path = asd_testkit::golden("audio/pcm16_mono_16k.wav");
    for policy in [ChannelPolicy::Right, ChannelPolicy::Both] {
        let err = load_16k_channels(&path, policy).unwrap_err();
        assert!(matches!(err, AudioError::Channels { channels: 1, .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("pcm16_mono_16k.wav") && text.contains(policy.as_str()),
            "{text}"
        );
    }
    assert_eq!(
        load_16k_channels(&path, ChannelPolicy::Left).unwrap()[0],
        load_16k(&path).unwrap()
    );
    assert_eq!("right".parse::<ChannelPolicy>(), Ok(ChannelPolicy::Right));
    assert!("centre".parse::<ChannelPolicy>().is_err());
}

/// Channels of unequal length, or none, are refused before anything is written.
#[test]
fn unequal_channels_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.wav");
    let err = write_channels_pcm16(&path, &[&[0.0; 4], &[0.0; 3]], 16_000).unwrap_err();
    assert!(matches!(err, AudioError::Invalid(_)), "{err}");
    assert!(write_channels_pcm16(&path, &[], 16_000).is_err());
    assert!(!path.exists());
}
