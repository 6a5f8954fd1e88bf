//! One input of each fuzz target, shared by the fuzz binaries and the workspace test that replays the found
//! cases (`crates/asd-cli/tests/fuzz_regressions.rs`). The readers take paths, as the tools do, so the input is
//! written to a file in `dir` first. Each returns whether the reader accepted the input; a panic that escapes is a
//! finding.

use std::path::Path;

fn file(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// The audio decoders through the whole `load_16k` path (header checks, symphonia, mono mix, resampling); the
/// first byte picks the extension (WAV, FLAC, Ogg, MP3).
pub fn decode(dir: &Path, data: &[u8]) -> bool {
    let Some((&pick, bytes)) = data.split_first() else {
        return false;
    };
    let ext = ["wav", "flac", "ogg", "mp3"][usize::from(pick % 4)];
    asd::audio::load_16k(&file(dir, &format!("clip.{ext}"), bytes)).is_ok()
}

/// The `.npy` reader of `asd scorer`: a matrix, then a group vector.
pub fn npy(dir: &Path, data: &[u8]) -> bool {
    let path = file(dir, "x.npy", data);
    let matrix = asd_cli::npy::read_matrix(&path).is_ok();
    asd_cli::npy::read_groups(&path).is_ok() || matrix
}

/// The PyTorch checkpoint reader (`torch.save` zip archives through a pickle reader that runs no code, and
/// `.safetensors`), loading into a small ArcFace head.
pub fn torch_checkpoint(dir: &Path, data: &[u8]) -> bool {
    let device = asd::models::burn::tensor::Device::flex();
    let head = asd::models::head::HeadConfig::ArcFace {
        scale: 30.0,
        margin: 0.5,
    }
    .init(8, 4, &device);
    asd::models::weights::load_torch(head, &file(dir, "weights.pt", data), &[], &[]).is_ok()
}

/// The DCASE score and decision CSV readers of `asd evaluate`.
pub fn score_csv(dir: &Path, data: &[u8]) -> bool {
    let path = file(dir, "anomaly_score_fan_id_00.csv", data);
    let scores = asd::metrics::read_scores(&path).is_ok();
    asd::metrics::read_decisions(&path).is_ok() || scores
}

/// The configuration parser and its checks (`--config F.toml`, a run folder's `config.toml`), then the network
/// it describes built (weights drawn) when the checks pass.
pub fn config(_dir: &Path, data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(config) = asd::RunConfig::from_toml(text) else {
        return false;
    };
    config.check().is_ok()
        && config
            .system
            .def()
            .build(&config, &asd::models::burn::tensor::Device::flex())
            .is_ok()
}

/// A run folder's fitted scorer file (`scorers/<name>.json`, read by `asd infer` and `asd monitor`), then, when it
/// loads, scoring a 4-wide row in group 0 (a model of another width or without that group is an error, not a
/// panic).
pub fn scorer_file(dir: &Path, data: &[u8]) -> bool {
    let Ok(scorer) = asd::scorers::FittedScorer::load(&file(dir, "scorer.json", data)) else {
        return false;
    };
    let row = ndarray::Array2::from_shape_vec((1, 4), vec![0.5, -0.25, 1.0, 0.125]).expect("1 × 4");
    let _ = scorer.score(row.view(), &[0]);
    true
}

/// One input of a target: the scratch folder and the bytes; whether the reader accepted them.
pub type Target = fn(&Path, &[u8]) -> bool;

/// Every target by name, for the replay test.
pub const TARGETS: [(&str, Target); 6] = [
    ("decode", decode),
    ("npy", npy),
    ("torch_checkpoint", torch_checkpoint),
    ("score_csv", score_csv),
    ("config", config),
    ("scorer_file", scorer_file),
];
