//! `.npy` input and output with errors that name the file.

use crate::error::{CliError, Result};
use ndarray::{ArrayD, Ix1, Ix2};
use ndarray_npy::{ReadableElement, WritableElement};
use std::path::Path;

fn read<T: ReadableElement>(path: &Path) -> Result<ArrayD<T>> {
    ndarray_npy::read_npy(path).map_err(|e| CliError::Npy {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// Reads a 2-D float array (`[rows, cols]`), accepting float32 or float64 files, as f64.
pub fn read_matrix(path: &Path) -> Result<ndarray::Array2<f64>> {
    let any = read::<f64>(path).or_else(|_| read::<f32>(path).map(|a| a.mapv(f64::from)))?;
    any.into_dimensionality::<Ix2>().map_err(|_| CliError::Npy {
        path: path.into(),
        reason: "expected a 2-D array [rows, dims]".into(),
    })
}

/// Reads a 1-D integer array (int64 or int32), one group index per row.
pub fn read_groups(path: &Path) -> Result<Vec<i64>> {
    let any = read::<i64>(path).or_else(|_| read::<i32>(path).map(|a| a.mapv(i64::from)))?;
    let v = any.into_dimensionality::<Ix1>().map_err(|_| CliError::Npy {
        path: path.into(),
        reason: "expected a 1-D integer array (one group per row)".into(),
    })?;
    Ok(v.to_vec())
}

/// Writes any array as `.npy`.
pub fn write<T: WritableElement, D: ndarray::Dimension>(path: &Path, array: &ndarray::Array<T, D>) -> Result<()> {
    ndarray_npy::write_npy(path, array).map_err(|e| CliError::Npy {
        path: path.into(),
        reason: e.to_string(),
    })
}
