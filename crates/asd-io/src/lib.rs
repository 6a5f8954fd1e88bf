//! Files that appear complete or not at all.
//!
//! Every file the `asd` crates write (score CSVs, reports, ROC curves, embeddings, feature caches, checkpoints,
//! weights, synthetic clips and their manifest) goes through [`write_with`]: the content is written under a
//! temporary name beside the target ([`temporary`]: `.asd-tmp-<pid>-<name>`, same folder, same extension),
//! synced, then renamed over the target, so a crash, a kill or a full disk never leaves a partial file under the
//! real name; on an error the temporary file is removed. A process killed mid-write leaves its temporary file
//! behind: [`remove_stale`] clears those of other processes from a folder a run is about to write.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("scores.csv");
//! asd_io::write(&path, b"a.wav,0.5\n")?;
//! assert_eq!(std::fs::read(&path)?, b"a.wav,0.5\n");
//! // A write that fails leaves neither the target nor a temporary file.
//! let failed = asd_io::write_with(&dir.path().join("x.csv"), |_tmp| Err("no".to_string()), |e| e.to_string());
//! assert_eq!(failed, Err("no".to_string()));
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The start of every temporary file name.
pub const TEMP_PREFIX: &str = ".asd-tmp-";

/// How deep [`remove_stale`] looks below the folder it is given (a run folder's files sit at most at
/// `roc/<scorer>/<file>`; a synthetic tree's at `<type>/<split>/<file>`).
const STALE_DEPTH: usize = 3;

/// The temporary name `path` is written under: `.asd-tmp-<pid>-<name>` in the same folder (the extension stays
/// last, for writers that choose the format from it).
pub fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{TEMP_PREFIX}{}-{name}", std::process::id()))
}

/// Runs `write` on [`temporary`]`(path)`, syncs the file and renames it to `path`. When `write` fails, or the
/// sync or rename does (an operating-system error, passed through `io_error`), the temporary file is removed and
/// `path` is left as it was.
///
/// # Errors
/// The error of `write`, or `io_error` of the failed sync or rename.
pub fn write_with<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io_error: impl FnOnce(io::Error) -> E,
) -> Result<(), E> {
    let tmp = temporary(path);
    let result = write(&tmp).and_then(|()| {
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| fs::rename(&tmp, path))
            .map_err(io_error)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp); // best effort: the write's own error is the one to report
    }
    result
}

/// Writes `bytes` to `path` through [`write_with`].
///
/// # Errors
/// The operating-system error of writing, syncing or renaming.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |tmp| fs::write(tmp, bytes), |e| e)
}

/// Reads the whole of `path`, a regular file of at most `max_bytes` bytes. A folder, FIFO or device is refused
/// before it is read (a FIFO would block forever), and so is a longer file (its size is checked before reading
/// and the read stops after `max_bytes` in case it grows).
///
/// # Errors
/// The operating-system error, or [`io::ErrorKind::InvalidInput`] for what is not a regular file or is too long.
pub fn read_limited(path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = fs::metadata(path)?;
    let too_long = || io::Error::new(io::ErrorKind::InvalidInput, format!("longer than {max_bytes} bytes"));
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > max_bytes {
        return Err(too_long());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)?.take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_long());
    }
    Ok(bytes)
}

/// Removes the temporary files ([`TEMP_PREFIX`]) that other processes left in `dir` and its sub-folders (up to
/// three levels down; links are not followed), and returns how many. Call it on a folder before a run writes into
/// it; one folder is written by one process at a time, so those files belong to interrupted runs. A folder that
/// does not exist has none.
///
/// # Errors
/// An operating-system error of listing a folder or removing a file.
pub fn remove_stale(dir: &Path) -> io::Result<usize> {
    let own = format!("{TEMP_PREFIX}{}-", std::process::id());
    remove_below(dir, &own, STALE_DEPTH)
}

fn remove_below(dir: &Path, own: &str, depth: usize) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() && depth > 0 {
            removed += remove_below(&entry.path(), own, depth - 1)?;
        } else if kind.is_file() && name.starts_with(TEMP_PREFIX) && !name.starts_with(own) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_appears_whole_and_a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roc.png");
        assert!(
            temporary(&path)
                .to_string_lossy()
                .ends_with(&format!("{TEMP_PREFIX}{}-roc.png", std::process::id()))
        );
        write(&path, b"old").expect("write");
        let failed = write_with(
            &path,
            |tmp| {
                fs::write(tmp, b"half")?;
                Err(io::Error::other("disk full"))
            },
            |e| e,
        );
        assert_eq!(failed.map_err(|e| e.to_string()), Err("disk full".to_string()));
        assert_eq!(fs::read(&path).expect("read"), b"old", "the old content stays");
        assert_eq!(
            fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn stale_files_of_other_processes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deep = dir.path().join("scores/knn");
        fs::create_dir_all(&deep).expect("folders");
        let stale = [
            dir.path().join(format!("{TEMP_PREFIX}1-model.bpk")),
            deep.join(format!("{TEMP_PREFIX}99999999-anomaly_score_fan_id_00.csv")),
        ];
        let mine = temporary(&dir.path().join("being-written.csv"));
        let kept = deep.join("anomaly_score_fan_id_02.csv");
        for f in stale.iter().chain([&mine, &kept]) {
            fs::write(f, b"x").expect("write");
        }
        assert_eq!(remove_stale(dir.path()).expect("clean"), 2);
        assert!(stale.iter().all(|f| !f.exists()));
        assert!(mine.exists() && kept.exists());
        assert_eq!(remove_stale(&dir.path().join("absent")).expect("absent"), 0);
    }
}
