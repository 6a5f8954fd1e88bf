//! Loading weights saved by PyTorch (`state_dict` as safetensors) into this crate's modules.

use crate::error::{Error, Result};
use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use std::path::Path;

/// Loads a PyTorch `state_dict` saved as safetensors into `module`.
///
/// Keys are renamed by `key_map` (regex → replacement, applied in order) before matching the module's field paths;
/// Burn's PyTorch adapter transposes Linear weights (`[out, in]` → `[in, out]`) and maps BatchNorm
/// `weight`/`bias` to `gamma`/`beta`. Every module tensor must be found with its shape, and every file tensor used
/// except those named (after renaming) in `unused` and BatchNorm's `num_batches_tracked` counters (unused with a
/// fixed momentum).
///
/// # Errors
/// [`Error::WeightFile`] if the file cannot be read or parsed; [`Error::WeightMismatch`] listing missing, unused
/// and mis-shaped tensors.
pub fn load_torch_safetensors<M: Module>(
    module: M,
    path: &Path,
    key_map: &[(&str, &str)],
    unused: &[&str],
) -> Result<M> {
    let mut store = key_map
        .iter()
        .fold(SafetensorsStore::from_file(path), |store, (from, to)| {
            store.with_key_remapping(*from, *to)
        })
        .with_from_adapter(PyTorchToBurnAdapter)
        .validate(false)
        .allow_partial(true);
    let mut module = module;
    let result = module.load_from(&mut store).map_err(|e| Error::WeightFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_applied(module, &result, path, unused)
}

/// Suffix of PyTorch BatchNorm's batch counter, a `state_dict` entry with no Burn counterpart: it only matters with
/// `momentum=None` (cumulative averaging), and every BatchNorm here has momentum 0.1.
const TORCH_BN_COUNTER: &str = ".num_batches_tracked";

/// `module` if every tensor was applied: no errors, nothing missing, nothing unused except the names in `unused`
/// and PyTorch's BatchNorm counters.
fn check_applied<M>(module: M, result: &ApplyResult, path: &Path, unused: &[&str]) -> Result<M> {
    let mut problems: Vec<String> = result.errors.iter().map(ToString::to_string).collect();
    problems.extend(result.missing.iter().map(|(name, _)| format!("missing `{name}`")));
    problems.extend(
        result
            .unused
            .iter()
            .filter(|name| !unused.contains(&name.as_str()))
            .filter(|name| !name.ends_with(TORCH_BN_COUNTER))
            .map(|name| format!("unused `{name}`")),
    );
    if problems.is_empty() {
        Ok(module)
    } else {
        Err(Error::WeightMismatch {
            path: path.to_path_buf(),
            detail: problems.join("; "),
        })
    }
}
