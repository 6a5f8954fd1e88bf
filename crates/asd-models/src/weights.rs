//! Weight files: PyTorch `state_dict`s saved as safetensors (import), and Burn's own format, burnpack, for saving
//! and reloading any module of this crate (checkpoints, trained models).
//!
//! PyTorch pickles (`.pt`, `.pth`) are not read: burn-store's `PytorchStore` needs its `pytorch` feature (crate
//! `pytorch-reader`), which this build does not compile. Convert them with
//! `safetensors.torch.save_file(model.state_dict(), "model.safetensors")` and use [`load_torch_safetensors`] (or
//! a model's `load_torch_safetensors`, which knows its key names).

use crate::error::{Error, Result};
use burn::module::Module;
use burn::store::{ApplyResult, BurnpackStore, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore};
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
    apply(module, &mut store, path, unused, true)
}

/// Suffix of PyTorch BatchNorm's batch counter, a `state_dict` entry with no Burn counterpart: it only matters with
/// `momentum=None` (cumulative averaging), and every BatchNorm here has momentum 0.1.
const TORCH_BN_COUNTER: &str = ".num_batches_tracked";

/// `module` if every tensor was applied: no errors, nothing missing, nothing unused except the names in `unused`
/// and, if `skip_bn_counters`, PyTorch's BatchNorm counters.
fn check_applied<M>(
    module: M,
    result: &ApplyResult,
    path: &Path,
    unused: &[&str],
    skip_bn_counters: bool,
) -> Result<M> {
    let mut problems: Vec<String> = result.errors.iter().map(ToString::to_string).collect();
    problems.extend(result.missing.iter().map(|(name, _)| format!("missing `{name}`")));
    problems.extend(
        result
            .unused
            .iter()
            .filter(|name| !unused.contains(&name.as_str()))
            .filter(|name| !(skip_bn_counters && name.ends_with(TORCH_BN_COUNTER)))
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

/// Saves every tensor of `module` (parameters and BatchNorm running statistics) in Burn's burnpack format at
/// exactly `path` (no extension is added), replacing an existing file atomically. Settings that are not tensors
/// (sizes, ArcFace scale and margin, slopes) are not stored: they come from the configuration the module is rebuilt
/// with before [`load_burnpack`].
///
/// # Errors
/// [`Error::WeightWrite`] naming `path` if the file cannot be written.
pub fn save_burnpack<M: Module>(module: &M, path: &Path) -> Result<()> {
    let mut store = BurnpackStore::from_file(path).auto_extension(false).overwrite(true);
    module.save_into(&mut store).map_err(|e| Error::WeightWrite {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Loads a file written by [`save_burnpack`] into `module`, which must have been built from the same
/// configuration: every tensor must be found with its shape and none may be left over.
///
/// # Errors
/// [`Error::WeightFile`] if the file cannot be read or parsed; [`Error::WeightMismatch`] listing missing, unused
/// and mis-shaped tensors (e.g. a file saved from another model or variant).
pub fn load_burnpack<M: Module>(module: M, path: &Path) -> Result<M> {
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .validate(false)
        .allow_partial(true);
    apply(module, &mut store, path, &[], false)
}

/// Loads `store` into `module` and checks that it applied completely ([`check_applied`]); `from_torch` says
/// whether PyTorch BatchNorm batch counters may be left over.
fn apply<M: Module, S: ModuleStore>(
    mut module: M,
    store: &mut S,
    path: &Path,
    unused: &[&str],
    from_torch: bool,
) -> Result<M> {
    let result = module.load_from(store).map_err(|e| Error::WeightFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_applied(module, &result, path, unused, from_torch)
}
