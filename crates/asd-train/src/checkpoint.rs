//! Checkpoints: model weights, optimiser state and training position in one self-checking file, written
//! atomically.
//!
//! A run directory holds `checkpoints/latest.ckpt` (rewritten after every epoch) and, once the last epoch is done,
//! `checkpoints/final.ckpt` (the same content). File layout, integers little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `ASDCKPT2` |
//! | then, five times | `u64` length + bytes of: the JSON [`CheckpointInfo`]; the online model's Burn record (burnpack, with parameter ids); the optimiser's Burn record (burnpack, keyed by parameter id); the EMA model's record (empty without EMA); the record of the model selected so far by validation loss (empty unless selected that way) |
//! | last 8 | `u64` FNV-1a hash of every byte before it |
//!
//! A file is written under a temporary name in the same folder and renamed over the old one, so a crash leaves
//! either the previous checkpoint or the new one, never a mix.

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::train::EpochLog;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The first 8 bytes of a checkpoint file.
const MAGIC: &[u8; 8] = b"ASDCKPT2";
/// Version of [`CheckpointInfo`]'s content; bumped when it changes.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// FNV-1a 64-bit offset basis and prime (Fowler, Noll, Vo; IETF draft-eastlake-fnv): a hash that is stable across
/// Rust releases, to detect truncated or damaged files.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// See [`FNV_OFFSET`].
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Folder of the checkpoints inside a run directory.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// The checkpoint rewritten after every epoch.
pub const LATEST_CHECKPOINT: &str = "latest.ckpt";
/// The checkpoint of the finished run (written after the last epoch).
pub const FINAL_CHECKPOINT: &str = "final.ckpt";

/// Where training stands, stored as JSON in every checkpoint.
///
/// The random state needs few bytes: each epoch's generator is `ChaCha8Rng` seeded with `config.seed` on stream
/// `epoch` (see [`train`](crate::train())), so `(config.seed, epochs_done)` is the whole state of the shuffling
/// and the step's draws at an epoch boundary; a checkpoint written mid-epoch (on cancellation) adds the
/// generator's word position ([`EpochPosition`]). The learning-rate schedule is a function of the epoch, so
/// `epochs_done` is also the scheduler's position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInfo {
    /// Version of this structure.
    pub format: u32,
    /// Epochs completed: the next epoch to run (0-based).
    pub epochs_done: usize,
    /// Seed of the per-epoch generators (also in `config`).
    pub rng_seed: u64,
    /// Stream of the next epoch's generator (= `epochs_done`).
    pub rng_stream: u64,
    /// Optimiser steps taken so far.
    pub steps_done: u64,
    /// Examples in the training source.
    pub examples: usize,
    /// The settings of the run.
    pub config: TrainConfig,
    /// The log of every completed epoch.
    pub history: Vec<EpochLog>,
    /// The training step's settings ([`TrainStep::settings`](crate::TrainStep::settings)); a resumed run must
    /// have the same.
    pub step_settings: serde_json::Value,
    /// The training step's state ([`TrainStep::state`](crate::TrainStep::state)).
    pub step_state: serde_json::Value,
    /// Where in epoch `epochs_done` training stopped, for a checkpoint written mid-epoch; `None` at an epoch
    /// boundary.
    pub position: Option<EpochPosition>,
    /// The epoch (0-based) of the model kept by validation-loss selection so far, if any.
    pub best_epoch: Option<usize>,
}

/// How far an interrupted epoch got: enough to continue it exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochPosition {
    /// Optimiser steps completed in the epoch.
    pub steps: usize,
    /// The epoch generator's word position after those steps (`ChaCha8Rng::get_word_pos`), as (high, low) 64-bit
    /// halves.
    pub rng_word_pos: [u64; 2],
    /// Sum of the steps' losses weighted by batch size.
    pub loss_sum: f64,
    /// Correctly classified examples so far.
    pub correct: usize,
    /// Examples seen so far.
    pub seen: usize,
    /// Seconds spent in the epoch so far.
    pub seconds: f64,
}

/// The Burn records of a checkpoint, as bytes.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) model: Vec<u8>,
    pub(crate) optimizer: Vec<u8>,
    /// Empty without EMA.
    pub(crate) ema: Vec<u8>,
    /// Empty unless a model was selected by validation loss.
    pub(crate) best: Vec<u8>,
}

/// A checkpoint read back: its info and the Burn records as bytes.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    pub(crate) info: CheckpointInfo,
    pub(crate) records: Records,
}

/// The parts after the info, in file order.
const RECORD_PARTS: [&str; 4] = ["model", "optimizer", "ema", "best"];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

impl Checkpoint {
    /// The file's bytes.
    fn encode(path: &Path, info: &CheckpointInfo, records: &Records) -> Result<Vec<u8>> {
        let info = serde_json::to_vec(info).map_err(|e| Error::io(path)(std::io::Error::other(e)))?;
        let parts = [
            info.as_slice(),
            &records.model,
            &records.optimizer,
            &records.ema,
            &records.best,
        ];
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
        out.extend_from_slice(MAGIC);
        for part in parts {
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(part);
        }
        let hash = fnv1a(&out);
        out.extend_from_slice(&hash.to_le_bytes());
        Ok(out)
    }

    /// Parses and verifies the bytes of `path`.
    fn decode(path: &Path, bytes: &[u8]) -> Result<Checkpoint> {
        let corrupt = |reason: String| Error::CorruptCheckpoint {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt(
                "no ASDCKPT2 header (a checkpoint of another asd version?)".into(),
            ));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| corrupt("no hash".into()))?);
        if fnv1a(body) != stored {
            return Err(corrupt("hash mismatch (truncated or damaged file)".into()));
        }
        let mut rest = &body[MAGIC.len()..];
        let mut parts = Vec::with_capacity(1 + RECORD_PARTS.len());
        for name in std::iter::once("info").chain(RECORD_PARTS) {
            let len_bytes: [u8; 8] = rest
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt(format!("no length of the {name} part")))?;
            let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| corrupt(format!("{name} length")))?;
            let part = rest
                .get(8..8usize.saturating_add(len))
                .ok_or_else(|| corrupt(format!("{name} part shorter than its length")))?;
            parts.push(part.to_vec());
            rest = &rest[8 + len..];
        }
        if !rest.is_empty() {
            return Err(corrupt(format!("{} stray bytes after the parts", rest.len())));
        }
        let mut parts = parts.into_iter();
        let mut next = || parts.next().unwrap_or_default();
        let info_bytes = next();
        let records = Records {
            model: next(),
            optimizer: next(),
            ema: next(),
            best: next(),
        };
        let info: CheckpointInfo = serde_json::from_slice(&info_bytes).map_err(|e| corrupt(format!("info: {e}")))?;
        if info.format != FORMAT_VERSION {
            return Err(corrupt(format!("format {} (expected {FORMAT_VERSION})", info.format)));
        }
        Ok(Checkpoint { info, records })
    }

    /// Reads and verifies the checkpoint at `path`.
    ///
    /// # Errors
    /// [`Error::NoCheckpoint`] when the file does not exist, [`Error::Io`] when it cannot be read,
    /// [`Error::CorruptCheckpoint`] when it is not a complete, intact checkpoint.
    pub(crate) fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoCheckpoint {
                    path: path.to_path_buf(),
                    reason: "no checkpoint file".into(),
                });
            }
            Err(e) => return Err(Error::io(path)(e)),
        };
        Checkpoint::decode(path, &bytes)
    }

    /// Writes a checkpoint to `path` atomically (temporary file in the same folder, synced, then renamed).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that cannot be written.
    pub(crate) fn write(path: &Path, info: &CheckpointInfo, records: &Records) -> Result<()> {
        write_atomic(path, &Checkpoint::encode(path, info, records)?)
    }
}

/// Writes `bytes` to `path` atomically ([`asd_io::write`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    asd_io::write(path, bytes).map_err(Error::io(path))
}

/// `run_dir/checkpoints/<name>`.
pub(crate) fn checkpoint_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(CHECKPOINT_DIR).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> CheckpointInfo {
        CheckpointInfo {
            format: FORMAT_VERSION,
            epochs_done: 2,
            rng_seed: 5,
            rng_stream: 2,
            steps_done: 10,
            examples: 40,
            config: TrainConfig::default(),
            history: vec![],
            step_settings: serde_json::json!({"kind": "test", "alpha": 0.5}),
            step_state: serde_json::json!([1.5]),
            position: Some(EpochPosition {
                steps: 3,
                rng_word_pos: [0, 96],
                loss_sum: 1.25,
                correct: 4,
                seen: 12,
                seconds: 0.5,
            }),
            best_epoch: Some(1),
        }
    }

    /// Criterion: a written checkpoint reads back equal; every truncation and a flipped byte anywhere are
    /// typed corruption errors naming the file; a missing file is `NoCheckpoint` naming it.
    #[test]
    fn round_trip_and_every_damage_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LATEST_CHECKPOINT);
        let records = Records {
            model: b"model bytes".to_vec(),
            optimizer: b"optimiser".to_vec(),
            ema: b"ema".to_vec(),
            best: Vec::new(),
        };
        Checkpoint::write(&path, &info(), &records).unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back.info, info());
        let parts = |r: &Records| [r.model.clone(), r.optimizer.clone(), r.ema.clone(), r.best.clone()];
        assert_eq!(parts(&back.records), parts(&records));
        let bytes = fs::read(&path).unwrap();
        for cut in 0..bytes.len() {
            let err = Checkpoint::decode(&path, &bytes[..cut]).unwrap_err();
            assert!(
                matches!(&err, Error::CorruptCheckpoint { path: p, .. } if p == &path),
                "cut {cut}: {err}"
            );
        }
        for i in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(
                matches!(
                    Checkpoint::decode(&path, &damaged),
                    Err(Error::CorruptCheckpoint { .. })
                ),
                "byte {i}"
            );
        }
        let missing = dir.path().join("nothing.ckpt");
        let err = Checkpoint::read(&missing).unwrap_err();
        assert!(matches!(&err, Error::NoCheckpoint { path, .. } if path == &missing));
        assert!(err.to_string().contains("nothing.ckpt"));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
