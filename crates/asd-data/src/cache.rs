//! The on-disk feature cache: one file per (clip list, front end, length policy), memory-mapped.
//!
//! File layout (all integers and floats little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `ASDFEAT1` |
//! | 8..16 | `u64` length `h` of the header |
//! | 16..16+h | header, JSON: format version, front-end key, length policy, `rows`, `cols`, and per clip its path, size and modification time |
//! | … | zero padding to a multiple of 64 bytes |
//! | data | `f32` features `[n_clips, rows, cols]`, row-major |
//!
//! This is the one module of the workspace with `unsafe` code: mapping the file and viewing its bytes as `f32`.
#![allow(unsafe_code)]

use crate::clip::Clip;
use crate::error::{Error, Result};
use crate::loader::{LengthPolicy, Progress, for_each_features};
use asd_features::Frontend;
use memmap2::Mmap;
use ndarray::{Array3, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The first 8 bytes of a cache file.
const MAGIC: &[u8; 8] = b"ASDFEAT1";
/// Bumped whenever the layout or the header changes.
const FORMAT_VERSION: u32 = 1;
/// The data starts at a multiple of this many bytes (≥ the alignment of `f32`).
const DATA_ALIGN: usize = 64;
/// Bytes before the header: magic and header length.
const PREFIX_LEN: usize = 16;
/// FNV-1a 64-bit offset basis and prime (Fowler, Noll, Vo; IETF draft-eastlake-fnv), a hash stable across
/// Rust releases, unlike `std`'s `DefaultHasher`.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// See [`FNV_OFFSET`].
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// What a clip looked like when its features were cached: a change of size or time means a rebuild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ClipStamp {
    path: String,
    size: u64,
    modified_s: u64,
    modified_ns: u32,
}

/// The JSON header of a cache file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    version: u32,
    frontend: String,
    policy: LengthPolicy,
    rows: usize,
    cols: usize,
    clips: Vec<ClipStamp>,
}

/// Features of a list of clips, `[n_clips, rows, cols]` f32, memory-mapped from a cache file.
///
/// ```
/// # use asd_data::{Clip, FeatureCache, LengthPolicy};
/// # fn demo(clips: &[Clip], frontend: &dyn asd_features::Frontend) -> asd_data::Result<()> {
/// let dir = std::env::temp_dir().join("asd-cache");
/// let cache = FeatureCache::open_or_build(&dir, clips, frontend, &LengthPolicy::new(160_000), &|_, _| {})?;
/// for (batch, indices) in cache.batches(64, 0)? {
///     assert_eq!(batch.dim().0, indices.len()); // [batch, rows, cols]
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FeatureCache {
    path: PathBuf,
    storage: Storage,
    header: Header,
}

/// Where a cache's features are.
#[derive(Debug)]
enum Storage {
    /// A cache file, mapped; the features start at `data_offset`.
    Mapped { mmap: Mmap, data_offset: usize },
    /// Features computed in memory (inference on clips outside any dataset).
    Owned(Vec<f32>),
}

impl FeatureCache {
    /// Opens the cache of `clips` under `frontend` and `policy` in `dir`, or builds it.
    ///
    /// The file is `dir/features-<hash>.f32`, the hash taken over the front end's `cache_key()`, the policy
    /// and the clip paths. An existing file is used when its header matches the clips' current size and
    /// modification time; otherwise (a clip changed, or the file is corrupt or short) the features are
    /// computed again ([`crate::for_each_features`], reporting to `progress`) into a temporary file in `dir`
    /// that is then renamed over it. A valid cache is opened without decoding and without calling `progress`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty clip list or a bad policy, [`Error::Io`] naming the clip, folder or
    /// file that cannot be read or written, and the loader's errors naming the failing clip.
    pub fn open_or_build(
        dir: &Path,
        clips: &[Clip],
        frontend: &dyn Frontend,
        policy: &LengthPolicy,
        progress: Progress<'_>,
    ) -> Result<FeatureCache> {
        policy.check()?;
        if clips.is_empty() {
            return Err(Error::Invalid("a feature cache needs at least one clip".into()));
        }
        let (rows, cols) = policy.feature_shape(frontend);
        let stamps = clips.iter().map(|c| stamp(&c.path)).collect::<Result<Vec<_>>>()?;
        let header = Header {
            version: FORMAT_VERSION,
            frontend: frontend.cache_key(),
            policy: *policy,
            rows,
            cols,
            clips: stamps,
        };
        let path = dir.join(cache_file_name(&header));
        if let Ok(cache) = FeatureCache::open(&path) {
            if cache.header == header {
                return Ok(cache);
            }
        }
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        asd_io::write_with(
            &path,
            |tmp| write_cache(tmp, &header, clips, frontend, policy, progress),
            Error::io(&path),
        )?;
        FeatureCache::open(&path)
    }

    /// A cache held in memory: `features` `[n_clips, rows, cols]` of clips that are not in any dataset (a
    /// detector scoring new audio). [`FeatureCache::path`] is `name`, and its clips are named `name[i]`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for no clip.
    pub fn in_memory(name: &str, features: ndarray::Array3<f32>) -> Result<FeatureCache> {
        let (n, rows, cols) = features.dim();
        if n == 0 {
            return Err(Error::Invalid("a feature cache needs at least one clip".into()));
        }
        let clips = (0..n)
            .map(|i| ClipStamp {
                path: format!("{name}[{i}]"),
                size: 0,
                modified_s: 0,
                modified_ns: 0,
            })
            .collect();
        Ok(FeatureCache {
            path: PathBuf::from(name),
            storage: Storage::Owned(features.as_standard_layout().iter().copied().collect()),
            header: Header {
                version: FORMAT_VERSION,
                frontend: String::new(),
                policy: LengthPolicy::new(0),
                rows,
                cols,
                clips,
            },
        })
    }

    /// Opens an existing cache file, checking its magic, header and size (not the clips it was made from).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or mapped; [`Error::CorruptCache`] when its content is
    /// not a complete cache; [`Error::Invalid`] on a big-endian host (the data is little-endian).
    pub fn open(path: &Path) -> Result<FeatureCache> {
        if cfg!(target_endian = "big") {
            return Err(Error::Invalid(
                "the feature cache is little-endian; this host is big-endian".into(),
            ));
        }
        let corrupt = |reason: String| Error::CorruptCache {
            path: path.to_path_buf(),
            reason,
        };
        let file = fs::File::open(path).map_err(Error::io(path))?;
        // SAFETY: the mapping is read-only and the file is private to the cache: it is written completely
        // under a temporary name and renamed into place, and never written again (a rebuild renames a new
        // file over the name, leaving this mapping on the old, unchanged inode). Truncating or editing a
        // cache file by hand while it is open is unsupported, as for any memory-mapped file.
        let mmap = unsafe { Mmap::map(&file) }.map_err(Error::io(path))?;
        if mmap.len() < PREFIX_LEN || &mmap[..8] != MAGIC {
            return Err(corrupt("no ASDFEAT1 header".into()));
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&mmap[8..PREFIX_LEN]);
        let header_len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| corrupt("header length".into()))?;
        let header_end = PREFIX_LEN.checked_add(header_len).filter(|&end| end <= mmap.len());
        let header_end = header_end.ok_or_else(|| corrupt("file shorter than its header".into()))?;
        let header: Header =
            serde_json::from_slice(&mmap[PREFIX_LEN..header_end]).map_err(|e| corrupt(format!("header: {e}")))?;
        if header.version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} (expected {FORMAT_VERSION})",
                header.version
            )));
        }
        let data_offset = header_end.next_multiple_of(DATA_ALIGN);
        let data_len = header
            .clips
            .len()
            .checked_mul(header.rows)
            .and_then(|n| n.checked_mul(header.cols))
            .and_then(|n| n.checked_mul(size_of::<f32>()));
        let expected = data_len.and_then(|n| n.checked_add(data_offset));
        if expected != Some(mmap.len()) {
            let expected = expected.map_or_else(|| "more than the address space".to_string(), |n| n.to_string());
            return Err(corrupt(format!(
                "{} bytes where the header implies {expected}",
                mmap.len()
            )));
        }
        if mmap[data_offset..].as_ptr().align_offset(align_of::<f32>()) != 0 {
            return Err(corrupt("feature data not aligned for f32".into()));
        }
        Ok(FeatureCache {
            path: path.to_path_buf(),
            storage: Storage::Mapped { mmap, data_offset },
            header,
        })
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.header.clips.len()
    }

    /// Whether the cache holds no clip (never true for a built cache).
    pub fn is_empty(&self) -> bool {
        self.header.clips.is_empty()
    }

    /// `(rows, cols)` of one clip's features.
    pub fn feature_shape(&self) -> (usize, usize) {
        (self.header.rows, self.header.cols)
    }

    /// The features of clip `i` (in the order of the clip list the cache was built from), `[rows, cols]`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn get(&self, i: usize) -> ArrayView2<'_, f32> {
        let (rows, cols) = self.feature_shape();
        assert!(i < self.len(), "clip {i} of a cache of {} clips", self.len());
        let data = &self.data()[i * rows * cols..(i + 1) * rows * cols];
        ArrayView2::from_shape((rows, cols), data).expect("rows × cols floats") // ok: the slice has rows·cols elements
    }

    /// The features of the clips `indices`, `[indices.len(), rows, cols]`.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn gather(&self, indices: &[usize]) -> Array3<f32> {
        let (rows, cols) = self.feature_shape();
        let mut out = Array3::zeros((indices.len(), rows, cols));
        for (mut dst, &i) in out.axis_iter_mut(Axis(0)).zip(indices) {
            dst.assign(&self.get(i));
        }
        out
    }

    /// The clips in an order shuffled by `ChaCha8Rng::seed_from_u64(seed)`, in batches of `batch_size`
    /// (the last one shorter when `len()` is not a multiple): `([batch, rows, cols] features, clip indices)`.
    /// The same seed gives the same batches.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `batch_size` is 0.
    pub fn batches(&self, batch_size: usize, seed: u64) -> Result<Batches<'_>> {
        if batch_size == 0 {
            return Err(Error::Invalid("a batch size of 0".into()));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        Ok(Batches {
            cache: self,
            order,
            batch_size,
            next: 0,
        })
    }

    /// All features as one flat slice, `n_clips · rows · cols` floats.
    fn data(&self) -> &[f32] {
        let (mmap, data_offset) = match &self.storage {
            Storage::Owned(data) => return data,
            Storage::Mapped { mmap, data_offset } => (mmap, *data_offset),
        };
        let bytes = &mmap[data_offset..];
        // SAFETY: `open` checked that the byte slice starts at an address aligned for f32 and holds exactly
        // `n_clips · rows · cols · 4` bytes; every bit pattern is a valid f32; the host is little-endian
        // (checked in `open`) as the data is; the slice borrows the map, which lives as long as `self`.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / size_of::<f32>()) }
    }
}

/// Shuffled batches of a [`FeatureCache`]: items are `([batch, rows, cols] features, clip indices)`.
#[derive(Debug)]
pub struct Batches<'a> {
    cache: &'a FeatureCache,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl Iterator for Batches<'_> {
    type Item = (Array3<f32>, Vec<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let indices = self.order[self.next..end].to_vec();
        self.next = end;
        Some((self.cache.gather(&indices), indices))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.order.len() - self.next).div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// Path, size and modification time of a clip.
fn stamp(path: &Path) -> Result<ClipStamp> {
    let meta = fs::metadata(path).map_err(Error::io(path))?;
    let modified = meta.modified().map_err(Error::io(path))?;
    let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default(); // a time before 1970 counts as 0
    Ok(ClipStamp {
        path: path.to_string_lossy().into_owned(),
        size: meta.len(),
        modified_s: since.as_secs(),
        modified_ns: since.subsec_nanos(),
    })
}

/// `features-<16 hex digits>.f32`: FNV-1a over the front-end key, the policy and the clip paths.
fn cache_file_name(header: &Header) -> String {
    let mut hash = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes.iter().chain([0u8].iter()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    };
    feed(header.frontend.as_bytes());
    feed(&(header.policy.samples as u64).to_le_bytes());
    feed(format!("{:?}", header.policy.pad).as_bytes());
    for clip in &header.clips {
        feed(clip.path.as_bytes());
    }
    format!("features-{hash:016x}.f32")
}

/// Writes a complete cache file at `path`: header, padding, then each clip's features in clip order.
fn write_cache(
    path: &Path,
    header: &Header,
    clips: &[Clip],
    frontend: &dyn Frontend,
    policy: &LengthPolicy,
    progress: Progress<'_>,
) -> Result<()> {
    let io = Error::io(path);
    let json = serde_json::to_vec(header).map_err(|e| Error::Invalid(format!("cache header: {e}")))?;
    let file = fs::File::create(path).map_err(Error::io(path))?;
    let mut out = BufWriter::new(file);
    let header_end = PREFIX_LEN + json.len();
    let padding = vec![0u8; header_end.next_multiple_of(DATA_ALIGN) - header_end];
    let prefix = [MAGIC.as_slice(), &(json.len() as u64).to_le_bytes(), &json, &padding].concat();
    out.write_all(&prefix).map_err(Error::io(path))?;
    let mut bytes = Vec::with_capacity(header.rows * header.cols * size_of::<f32>());
    for_each_features(clips, frontend, policy, progress, |_, features| {
        bytes.clear();
        bytes.extend(features.iter().flat_map(|v| v.to_le_bytes()));
        out.write_all(&bytes).map_err(Error::io(path))
    })?;
    out.flush().map_err(io)
}
