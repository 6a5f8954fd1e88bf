//! The library half of the `asd` command-line tool: its error type (one sentence naming the file, and the exit
//! code) and its checked `.npy` reader. The binary is a thin clap layer over these and the `asd` facade; the fuzz
//! targets (`fuzz/`) call the reader directly.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("x.npy");
//! asd_cli::npy::write(&path, &ndarray::array![[1.0f32, 2.0], [3.0, 4.0]])?;
//! assert_eq!(asd_cli::npy::read_matrix(&path)?, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod npy;
