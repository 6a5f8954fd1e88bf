//! The files of a run folder, their names, and how they are written (each under a temporary name, then renamed,
//! so a crash never leaves a partial file under the real name).
//!
//! | path | content |
//! |---|---|
//! | `config.toml` | the resolved [`RunConfig`](crate::RunConfig) (written first; the class count set from the data) |
//! | `classes.json` | the class map the network was trained with (scheme and names in class order) |
//! | `cache/` | memory-mapped feature caches, reused by the next run on the same clips and front end |
//! | `checkpoints/`, `train_log.csv` | per-epoch checkpoints and log of [`asd_train::train`] (`--resume` continues) |
//! | `model.bpk` | the final network's weights (Burn burnpack) |
//! | `embeddings/{train,test}.npy` | `[examples, dim]` f32 embeddings; `{train,test}_files.txt`: the clip of each row |
//! | `scores/<scorer>/anomaly_score_<type>_<group>.csv` | DCASE-format score CSVs (`file,score`) of every test clip, labelled or not (evaluation names), one folder per scorer |
//! | `metrics/<scorer>.json`, `roc/<scorer>/` | the report of each scorer on the labelled test clips (as `asd evaluate --json`) and its ROC curves; absent when no test clip has a label |
//! | `metrics.json` | the report of the first scorer (the headline); absent when no test clip has a label |
//! | `scores/<scorer>/decision_result_<type>_<group>.csv` | DCASE-format decisions (`file,0|1`: score above the group's threshold) of every test clip, for every scorer but the ensemble |
//! | `results.md` | all scorers side by side, then the headline scorer's table per type and ID / section; the groups scored without labels |
//! | `scorers/<scorer>.json`, `detector.json` | the detector ([`crate::detector`]): each scorer fitted on every group's normal training examples, and each group's threshold with how it was calibrated; written by `train`, `score` and `run` |
//!
//! `config.toml`, `classes.json`, `model.bpk`, `detector.json` and `scorers/` are a complete detector: copied alone
//! to another machine they score new clips ([`crate::detector::Detector`], `asd infer`, `asd monitor`).

use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_data::{ClassMap, Clip};
use std::path::Path;

/// File name of the final weights in a run folder.
pub const MODEL_FILE: &str = "model.bpk";
/// File name of the class map in a run folder.
pub const CLASSES_FILE: &str = "classes.json";
/// File name of the configuration in a run folder.
pub const CONFIG_FILE: &str = "config.toml";

/// Creates a folder (and its parents), naming it on failure.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })
}

/// Writes `bytes` to `path` atomically ([`asd_io::write`]), naming the file on failure.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    asd_io::write(path, bytes).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// Creates the run folder `out` (and its parents) and removes the temporary files that interrupted runs left in
/// it ([`asd_io::remove_stale`]).
pub(crate) fn open_run_folder(out: &Path) -> Result<()> {
    create_dir(out)?;
    asd_io::remove_stale(out).map(drop).map_err(|source| Error::Io {
        path: out.into(),
        source,
    })
}

/// Writes the class map as `RUN/classes.json`.
pub(crate) fn write_classes(run: &Path, classes: &ClassMap) -> Result<()> {
    let path = run.join(CLASSES_FILE);
    let text = serde_json::to_string_pretty(classes).map_err(|e| Error::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_file(&path, text.as_bytes())
}

/// Reads `RUN/classes.json`.
///
/// # Errors
/// [`Error::Io`] / [`Error::File`] naming the file.
pub fn read_classes(run: &Path) -> Result<ClassMap> {
    read_class_file(&run.join(CLASSES_FILE))
}

/// The largest class map read (tens of thousands of classes are far below it).
const MAX_CLASS_FILE_BYTES: u64 = 64 << 20;

/// Reads a class map in the format of `classes.json` (`{"scheme": "type-group", "names": ["fan/id_00", …]}`).
///
/// # Errors
/// [`Error::Io`] / [`Error::File`] naming the file.
pub fn read_class_file(path: &Path) -> Result<ClassMap> {
    let bytes = asd_io::read_limited(path, MAX_CLASS_FILE_BYTES).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::File {
        path: path.into(),
        reason: format!("not a class map: {e}"),
    })
}

/// `OUT/embeddings/<split>.npy` (`[examples, dim]` f32) and `<split>_files.txt` (the clip file of each row).
pub(crate) fn write_embeddings(out: &Path, split: &str, outputs: &ExampleOutputs, clips: &[Clip]) -> Result<()> {
    let dir = out.join("embeddings");
    create_dir(&dir)?;
    let path = dir.join(format!("{split}.npy"));
    let embeddings = outputs.embeddings.mapv(|v| v as f32);
    let io_error = |source| Error::Io {
        path: path.clone(),
        source,
    };
    asd_io::write_with(
        &path,
        |tmp| ndarray_npy::write_npy(tmp, &embeddings).map_err(|e| io_error(std::io::Error::other(e))),
        io_error,
    )?;
    let files: String = outputs
        .clip
        .iter()
        .map(|&c| format!("{}\n", clips[c].path.display()))
        .collect();
    write_file(&dir.join(format!("{split}_files.txt")), files.as_bytes())
}
