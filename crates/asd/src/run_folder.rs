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
//! | `results.md` | all scorers side by side, then the headline scorer's table per type and ID / section; the groups scored without labels |

use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_data::{ClassMap, Clip};
use std::path::{Path, PathBuf};

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

/// The temporary name `path` is written under before the rename.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file renamed over it, naming the file on failure (the temporary
/// file is removed).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |tmp| std::fs::write(tmp, bytes))
}

/// Runs `write` on a temporary name beside `path`, then renames it to `path`; on failure the temporary file is
/// removed and the error names `path`.
pub(crate) fn write_with(path: &Path, write: impl FnOnce(&Path) -> std::io::Result<()>) -> Result<()> {
    let tmp = temporary(path);
    let done = write(&tmp).and_then(|()| std::fs::rename(&tmp, path));
    done.map_err(|source| {
        let _ = std::fs::remove_file(&tmp); // best effort: the write's error is the one to report
        Error::Io {
            path: path.into(),
            source,
        }
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
    let path = run.join(CLASSES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::File {
        path,
        reason: format!("not a class map: {e}"),
    })
}

/// `OUT/embeddings/<split>.npy` (`[examples, dim]` f32) and `<split>_files.txt` (the clip file of each row).
pub(crate) fn write_embeddings(out: &Path, split: &str, outputs: &ExampleOutputs, clips: &[Clip]) -> Result<()> {
    let dir = out.join("embeddings");
    create_dir(&dir)?;
    let path = dir.join(format!("{split}.npy"));
    let embeddings = outputs.embeddings.mapv(|v| v as f32);
    write_with(&path, |tmp| {
        ndarray_npy::write_npy(tmp, &embeddings).map_err(std::io::Error::other)
    })?;
    let files: String = outputs
        .clip
        .iter()
        .map(|&c| format!("{}\n", clips[c].path.display()))
        .collect();
    write_file(&dir.join(format!("{split}_files.txt")), files.as_bytes())
}
