//! `.npy` input and output with errors that name the file.

use crate::error::{CliError, Result};
use ndarray::{ArrayD, Ix1, Ix2};
use ndarray_npy::{ReadableElement, WritableElement};
use std::path::Path;

/// Bytes of a `.npy` file read to find its header: the magic, version, length and a header of up to 64 KiB.
const HEADER_READ_LIMIT: u64 = 12 + 65_536;

/// The number of values and the byte size of one value that a `.npy` header (format versions 1–3) claims, and
/// where the data starts; `None` when the header is not one NumPy writes (a dictionary with one `'descr'`, one
/// `'shape'` tuple, single quotes only), which is then refused: ndarray-npy's more lenient parser must never see a
/// header whose size was not checked here.
fn claimed_size(head: &[u8]) -> Option<(u128, u128, usize)> {
    if head.get(..6)? != b"\x93NUMPY" {
        return None;
    }
    let (len, start): (usize, usize) = match head.get(6)? {
        1 => (usize::from(u16::from_le_bytes(head.get(8..10)?.try_into().ok()?)), 10),
        _ => (u32::from_le_bytes(head.get(8..12)?.try_into().ok()?) as usize, 12),
    };
    let header = std::str::from_utf8(head.get(start..start.checked_add(len)?)?).ok()?;
    if header.contains('"') || header.matches("'descr'").count() != 1 || header.matches("'shape'").count() != 1 {
        return None;
    }
    let descr = header.split("'descr':").nth(1)?.split('\'').nth(1)?;
    let item: u128 = descr.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().ok()?;
    let shape = header.split("'shape':").nth(1)?.split('(').nth(1)?.split(')').next()?;
    let mut values: u128 = 1;
    for dim in shape.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        values = values.checked_mul(dim.parse().ok()?)?;
    }
    Some((values, item, start + len))
}

/// Refuses a `.npy` file that is not a regular file, or whose header claims more values than the file holds, before
/// ndarray-npy sizes a buffer from the header (a lying header made `asd scorer` abort).
fn check_size(path: &Path) -> Result<()> {
    use std::io::Read;
    let bad = |reason: String| CliError::Npy {
        path: path.into(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(CliError::io(path))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER_READ_LIMIT).read_to_end(&mut head))
        .map_err(CliError::io(path))?;
    let (values, item, data_start) = claimed_size(&head).ok_or_else(|| {
        bad("not a .npy file as NumPy writes them (magic, version, one 'descr' and one 'shape')".into())
    })?;
    let available = u128::from(meta.len()).saturating_sub(data_start as u128);
    let needed = values.saturating_mul(item);
    if needed > available {
        return Err(bad(format!(
            "the header claims {values} values ({needed} bytes) but the file holds {available} bytes of data"
        )));
    }
    Ok(())
}

fn read<T: ReadableElement>(path: &Path) -> Result<ArrayD<T>> {
    check_size(path)?;
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

/// Writes any array as `.npy`, atomically (a failed write leaves no partial file).
pub fn write<T: WritableElement, D: ndarray::Dimension>(path: &Path, array: &ndarray::Array<T, D>) -> Result<()> {
    let failed = |reason: String| CliError::Npy {
        path: path.into(),
        reason,
    };
    asd_io::write_with(
        path,
        |tmp| ndarray_npy::write_npy(tmp, array).map_err(|e| failed(e.to_string())),
        |e| failed(e.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file (format 1.0) with this header dictionary and `data` after it.
    fn npy_file(dir: &Path, dict: &str, data: &[u8]) -> std::path::PathBuf {
        let mut header = dict.to_string();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        let path = dir.join("x.npy");
        std::fs::write(&path, bytes).expect("write");
        path
    }

    /// Criterion (issue 17): a header claiming a huge shape is refused with the file named before any buffer is
    /// sized from it; an honest file reads back.
    #[test]
    fn a_lying_shape_is_refused_before_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        for shape in [
            "(1000000000000, 8)",
            "(18446744073709551615, 18446744073709551615)",
            "(3, 2)",
        ] {
            let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
            let path = npy_file(dir.path(), &dict, &[0u8; 40]);
            let err = read_matrix(&path).expect_err(shape).to_string();
            assert!(err.contains("x.npy") && err.contains("claims"), "{shape}: {err}");
        }
        // Headers a lenient parser would read differently: a second shape, double quotes.
        for dict in [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'shape': (1000000000000,), }",
            "{\"descr\": '<f8', 'fortran_order': False, \"shape\": (1000000000000,), }",
        ] {
            let path = npy_file(dir.path(), dict, &[0u8; 8]);
            let err = read_matrix(&path).expect_err(dict).to_string();
            assert!(err.contains("x.npy") && err.contains("NumPy"), "{dict}: {err}");
        }
        let path = dir.path().join("ok.npy");
        write(&path, &ndarray::Array2::<f64>::zeros((3, 2))).expect("write");
        assert_eq!(read_matrix(&path).expect("honest file").dim(), (3, 2));
    }
}
