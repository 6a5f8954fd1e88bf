//! Weight files: PyTorch `state_dict`s (import) and Burn's own format, burnpack, for saving and reloading any
//! module of this crate (checkpoints, trained models).
//!
//! [`load_torch`] reads both forms a published PyTorch checkpoint comes in: `torch.save` files (`.pt`, `.pth`;
//! the zip format of PyTorch ≥ 1.6, a bare state dict or a training checkpoint holding one) and safetensors. A
//! file from PyTorch before 1.6 is refused with a message saying how to re-save it.

mod torch_pt;

use crate::error::{Error, Result};
use burn::module::Module;
use burn::store::{ApplyResult, BurnpackStore, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore};
use std::io::Read;
use std::path::Path;
use torch_pt::{LEGACY_MAGIC, ZIP_MAGIC};

/// Loads a PyTorch `state_dict` into `module`, from a `torch.save` file (`.pt`, `.pth`) or a safetensors file; the
/// format is told by the file's first bytes, not its name.
///
/// Keys are renamed by `key_map` (regex → replacement, applied in order) before matching the module's field paths;
/// Burn's PyTorch adapter transposes Linear weights (`[out, in]` → `[in, out]`) and maps BatchNorm
/// `weight`/`bias` to `gamma`/`beta`. Every module tensor must be found with its shape, and every file tensor used
/// except those named (after renaming) in `unused` and BatchNorm's `num_batches_tracked` counters (unused with a
/// fixed momentum). A training checkpoint (`{"model": state_dict, "optimizer": …, "epoch": …}`) gives the one dict
/// of tensors it holds, or the one under `state_dict`, `model_state_dict` or `model` if it holds several.
///
/// # Errors
/// [`Error::WeightFile`] if the file cannot be read or parsed (naming the problem: a pre-1.6 PyTorch file, a
/// pickle this reader does not follow, no state dict); [`Error::WeightMismatch`] listing missing, unused and
/// mis-shaped tensors.
pub fn load_torch<M: Module>(module: M, path: &Path, key_map: &[(&str, &str)], unused: &[&str]) -> Result<M> {
    let bytes = state_dict_bytes(path)?;
    let names = safetensors::SafeTensors::read_metadata(&bytes)
        .map(|(_, meta)| meta.tensors().into_keys().collect::<Vec<_>>())
        .map_err(|e| file_error(path, e.to_string()))?;
    let lightning = lightning_prefixed(names.iter().map(String::as_str));
    let store = SafetensorsStore::from_bytes(Some(bytes));
    let store = if lightning {
        store.with_key_remapping(LIGHTNING_PREFIX_PATTERN, "")
    } else {
        store
    };
    let mut store = key_map
        .iter()
        .fold(store, |store, (from, to)| store.with_key_remapping(*from, *to))
        .with_from_adapter(PyTorchToBurnAdapter)
        .validate(false)
        .allow_partial(true);
    apply(module, &mut store, path, unused, true)
}

/// The prefix PyTorch Lightning gives every key of a checkpoint's `state_dict` when the network is the
/// LightningModule's `model` attribute.
const LIGHTNING_PREFIX: &str = "model.";
/// [`LIGHTNING_PREFIX`] as a key-remapping pattern.
const LIGHTNING_PREFIX_PATTERN: &str = r"^model\.";

/// Whether every key carries [`LIGHTNING_PREFIX`] (a Lightning `.ckpt`; such keys are loaded without it).
fn lightning_prefixed<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    let mut any = false;
    let all = names.all(|n| {
        any = true;
        n.starts_with(LIGHTNING_PREFIX)
    });
    any && all
}

/// A weight-file error naming `path`.
fn file_error(path: &Path, message: String) -> Error {
    Error::WeightFile {
        path: path.to_path_buf(),
        message,
    }
}

/// The largest weight file read (published ASD checkpoints are a few MB to a few hundred MB).
const MAX_WEIGHT_FILE_BYTES: u64 = 4 << 30;

/// The state dict of a `torch.save` file or a safetensors file as the bytes of a safetensors file.
fn state_dict_bytes(path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(ZIP_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(ZIP_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|e| file_error(path, e.to_string()))?;
    if head.starts_with(&ZIP_MAGIC) {
        let tensors = torch_pt::read_state_dict(path).map_err(|e| file_error(path, e))?;
        to_safetensors(&tensors).map_err(|e| file_error(path, e))
    } else if head.starts_with(&LEGACY_MAGIC) {
        Err(file_error(
            path,
            "a PyTorch file from before version 1.6 (not a zip archive); re-save it with a current PyTorch, \
             `torch.save(torch.load(path), path)`"
                .to_string(),
        ))
    } else {
        asd_io::read_limited(path, MAX_WEIGHT_FILE_BYTES).map_err(|e| file_error(path, e.to_string()))
    }
}

/// The name and shape of every tensor of a PyTorch state dict (`torch.save` file or safetensors), in name order;
/// a Lightning checkpoint's `model.` prefix is removed. Systems read their settings from these (the class count
/// from the head's rows, the MobileFaceNet variant from its block count) before building the network.
///
/// # Errors
/// [`Error::WeightFile`] as [`load_torch`].
pub fn tensor_shapes(path: &Path) -> Result<Vec<(String, Vec<usize>)>> {
    let bytes = state_dict_bytes(path)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| file_error(path, e.to_string()))?;
    let mut shapes: Vec<(String, Vec<usize>)> = meta
        .tensors()
        .into_iter()
        .map(|(name, info)| (name, info.shape.clone()))
        .collect();
    if lightning_prefixed(shapes.iter().map(|(n, _)| n.as_str())) {
        for (name, _) in &mut shapes {
            name.drain(..LIGHTNING_PREFIX.len());
        }
    }
    shapes.sort();
    Ok(shapes)
}

/// The checkpoint's tensors as the bytes of a safetensors file, the form burn-store imports from.
fn to_safetensors(tensors: &[(String, torch_pt::TorchTensor)]) -> std::result::Result<Vec<u8>, String> {
    let views = tensors
        .iter()
        .map(|(name, t)| {
            safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), &t.data)
                .map(|view| (name.as_str(), view))
                .map_err(|e| format!("tensor `{name}`: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, None).map_err(|e| e.to_string())
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
    let failed = |message: String| Error::WeightWrite {
        path: path.to_path_buf(),
        message,
    };
    asd_io::write_with(
        path,
        |tmp| {
            let mut store = BurnpackStore::from_file(tmp).auto_extension(false).overwrite(true);
            module.save_into(&mut store).map_err(|e| failed(e.to_string()))
        },
        |e| failed(e.to_string()),
    )
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
