//! Test helpers shared by every crate of the `asd` workspace (dev-only, not published).
//!
//! - [`golden`] and [`real`] locate the oracle fixtures in the `shared/` folder beside the repository (override
//!   with `ASD_SHARED`);
//! - [`npy`], [`npy_f64`] and [`json`] load fixtures, naming the file in any failure;
//! - [`assert_allclose`] compares arrays within an absolute + relative tolerance and reports the worst element.
//!
//! Tests may panic freely; this crate is never reachable from user input.
#![forbid(unsafe_code)]
use ndarray::ArrayD;
use std::path::PathBuf;

/// The `shared/` folder beside the repository (or `$ASD_SHARED` when set).
pub fn shared() -> PathBuf {
    if let Some(dir) = std::env::var_os("ASD_SHARED") {
        return PathBuf::from(dir);
    }
    // The nearest `shared/` with a `golden/` beside the crate or one of its parents (the repository's sibling).
    // `cargo test` gives the tested crate's folder at run time; the compile-time folder is the fallback, and is
    // wrong when the build was made in another checkout of the same tree (cargo reuses artifacts across them).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared"))
        .find(|shared| shared.join("golden").is_dir())
        .unwrap_or_else(|| manifest.join("../../../shared"))
}

/// A path inside `shared/golden/`.
pub fn golden(rel: &str) -> PathBuf {
    shared().join("golden").join(rel)
}

/// A path inside `shared/real/`.
pub fn real(rel: &str) -> PathBuf {
    shared().join("real").join(rel)
}

/// Reads a float32 `.npy` file of any shape.
///
/// # Panics
/// When the file is missing or not a float32 `.npy` (a test failure naming the file).
pub fn npy(path: impl Into<PathBuf>) -> ArrayD<f32> {
    let path = path.into();
    ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())) // ok: test-only helper, a panic is a test failure
}

/// Reads a float64 `.npy` file of any shape.
///
/// # Panics
/// When the file is missing or not a float64 `.npy`.
pub fn npy_f64(path: impl Into<PathBuf>) -> ArrayD<f64> {
    let path = path.into();
    ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())) // ok: test-only helper, a panic is a test failure
}

/// Reads an int64 `.npy` file of any shape.
///
/// # Panics
/// When the file is missing or not an int64 `.npy`.
pub fn npy_i64(path: impl Into<PathBuf>) -> ArrayD<i64> {
    let path = path.into();
    ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())) // ok: test-only helper, a panic is a test failure
}

/// Reads and parses a JSON file.
///
/// # Panics
/// When the file is missing or not valid JSON.
pub fn json(path: impl Into<PathBuf>) -> serde_json::Value {
    let path = path.into();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())); // ok: test-only helper, a panic is a test failure
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())) // ok: test-only helper, a panic is a test failure
}

/// The numbers of a fixture's JSON array `{"shape": [...], "data": [flat row-major]}`, as f64.
///
/// # Panics
/// When `value` has no `data` array.
pub fn json_floats(value: &serde_json::Value) -> Vec<f64> {
    let data = value["data"].as_array().expect("a `data` array"); // ok: test-only helper, a panic is a test failure
    data.iter().filter_map(serde_json::Value::as_f64).collect()
}

/// The non-negative integers of a fixture's JSON array (`{"data": [...]}`, or a bare array), as indices.
///
/// # Panics
/// When `value` is neither.
pub fn json_indices(value: &serde_json::Value) -> Vec<usize> {
    let data = if value.is_array() { value } else { &value["data"] };
    let data = data.as_array().expect("an array"); // ok: test-only helper, a panic is a test failure
    data.iter()
        .filter_map(serde_json::Value::as_u64)
        .map(|v| v as usize)
        .collect()
}

/// Reads the float32 tensor `key` of a safetensors file.
///
/// # Panics
/// When the file is missing, not safetensors, or has no float32 tensor `key`.
pub fn safetensor(path: impl Into<PathBuf>, key: &str) -> ArrayD<f32> {
    let path = path.into();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())); // ok: test-only helper
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap_or_else(|e| panic!("{} is not safetensors: {e}", path.display())); // ok: test-only helper
    let view = file
        .tensor(key)
        .unwrap_or_else(|e| panic!("{}: no tensor {key}: {e}", path.display())); // ok: test-only helper
    assert_eq!(
        view.dtype(),
        safetensors::Dtype::F32,
        "{}: {key} is not float32",
        path.display()
    );
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    ArrayD::from_shape_vec(view.shape().to_vec(), values).unwrap_or_else(|e| panic!("{key}: {e}")) // ok: test-only helper
}

/// Largest magnitude of an array's elements (a tensor's scale, for tolerances relative to it); 0 when empty.
pub fn max_abs<T: Copy + Into<f64>>(values: &ArrayD<T>) -> f64 {
    values.iter().fold(0.0_f64, |m, &v| m.max(v.into().abs()))
}

/// Asserts `|actual − expected| ≤ atol + rtol·|expected|` element-wise (NaN never passes),
/// naming `what`, the worst element and both values on failure.
///
/// Prints the largest |Δ|, the largest |Δ| / |expected| and the largest |Δ| / tolerance first, so that the
/// margin a passing check keeps shows in `--nocapture` runs.
///
/// # Panics
/// On a shape mismatch or any element outside the tolerance.
pub fn assert_allclose<A, E>(actual: &ArrayD<A>, expected: &ArrayD<E>, atol: f64, rtol: f64, what: &str)
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape mismatch");
    let (mut max_abs, mut max_rel, mut max_ratio) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected.iter()).enumerate() {
        let (a, e): (f64, f64) = (a.into(), e.into());
        let (diff, tolerance) = ((a - e).abs(), atol + rtol * e.abs());
        max_abs = max_abs.max(diff);
        if e != 0.0 {
            max_rel = max_rel.max(diff / e.abs());
        }
        max_ratio = max_ratio.max(diff / tolerance);
        let excess = diff - tolerance;
        if (excess.is_nan() || excess > 0.0) && worst.is_none_or(|w| excess > w.3 || excess.is_nan()) {
            worst = Some((i, a, e, excess));
        }
    }
    println!("{what}: max |Δ| = {max_abs:.3e}, max |Δ|/|ref| = {max_rel:.3e}, max |Δ|/tol = {max_ratio:.3}");
    if let Some((i, a, e, _)) = worst {
        let shape = actual.shape();
        let diff = (a - e).abs();
        let message = format!(
            "{what}: element {i} (shape {shape:?}) is {a}, expected {e} (|diff| {diff:.3e}, atol {atol:e}, rtol {rtol:e})"
        );
        panic!("{message}"); // ok: test-only helper, a panic is a test failure
    }
}

/// Writes float32 tensors as a safetensors file (e.g. a state dict assembled from a fixture's tensors).
///
/// # Panics
/// When the file cannot be written or a name repeats.
pub fn write_safetensors(path: impl Into<PathBuf>, tensors: &[(String, ArrayD<f32>)]) {
    let path = path.into();
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, t)| {
            let data = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), data, t.shape().to_vec())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(name, data, shape)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .unwrap_or_else(|e| panic!("{name}: {e}")); // ok: test-only helper
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display())); // ok: test-only helper
}
