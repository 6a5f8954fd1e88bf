//! Device names, as the command line and the test and bench environments give them.

use crate::{Error, Result};
use burn::tensor::Device;

/// Parses a device name: `cpu` (Burn's Flex backend), or `cuda` / `cuda:<index>` (Burn's CUDA backend, device 0 or
/// `index`) in a build with the `cuda` feature.
///
/// # Errors
/// [`Error::Device`] for an unknown name, a bad index, or a CUDA device in a build without the `cuda` feature.
pub fn parse_device(name: &str) -> Result<Device> {
    let bad = |reason: &str| Error::Device {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    match name {
        "cpu" => Ok(Device::flex()),
        "cuda" => cuda(0).ok_or_else(|| bad(NO_CUDA)),
        other => match other.strip_prefix("cuda:") {
            Some(index) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| bad("the CUDA device index is not a number"))?;
                cuda(index).ok_or_else(|| bad(NO_CUDA))
            }
            None => Err(bad("unknown device (cpu, cuda, cuda:<index>)")),
        },
    }
}

const NO_CUDA: &str = "this build has no CUDA support (rebuild with `--features cuda`)";

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Option<Device> {
    Some(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Option<Device> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert!(parse_device("cpu").is_ok());
        for bad in ["gpu", "cuda:x", "cuda:", ""] {
            assert!(matches!(parse_device(bad), Err(Error::Device { .. })), "{bad}");
        }
        assert_eq!(parse_device("cuda:1").is_ok(), cfg!(feature = "cuda"));
    }
}
