//! The crate's one error type.

/// Everything that can go wrong when checking parameters, fitting a scorer or scoring.
///
/// Sorted by what the caller does: fix a parameter (`Zero`, `OutOfRange`, `InitShape`), fix the data
/// (`Empty`, `NonFinite`, `ZeroVector`, `DimensionMismatch`, `LengthMismatch`, `TooFewPoints`,
/// `ClassOutOfRange`, `MissingGroup`), or change the model (`IllConditioned`). `Group` wraps any of them with
/// the group it happened in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A count parameter is zero.
    #[error("parameter `{param}` must be at least 1")]
    Zero {
        /// Parameter name.
        param: &'static str,
    },
    /// A real parameter is outside its range (NaN included).
    #[error("parameter `{param}` is {value}, expected {expected}")]
    OutOfRange {
        /// Parameter name.
        param: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A given initialisation has the wrong shape.
    #[error("initial `{what}` has shape {found:?}, expected {expected:?}")]
    InitShape {
        /// Which initial array.
        what: &'static str,
        /// Shape expected from the parameters and the data.
        expected: Vec<usize>,
        /// Shape given.
        found: Vec<usize>,
    },
    /// An array has no rows or no columns.
    #[error("{what} is empty (shape {rows} × {cols})")]
    Empty {
        /// Which array (`train`, `test`, `logits`).
        what: &'static str,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// An array holds NaN or ±∞.
    #[error("{what} holds a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A cosine-based scorer or metric met an all-zero row, whose direction is undefined.
    #[error("{what} row {row} is the zero vector; the cosine is undefined for it")]
    ZeroVector {
        /// Which array.
        what: &'static str,
        /// Row index.
        row: usize,
    },
    /// Test and train embeddings (or an initialisation) differ in width.
    #[error("{what} has {found} columns, expected {expected}")]
    DimensionMismatch {
        /// Which array.
        what: &'static str,
        /// Width expected (the training width).
        expected: usize,
        /// Width found.
        found: usize,
    },
    /// Two arrays that must have one entry per row differ in length.
    #[error("{what} has {found} entries, expected {expected} (one per row)")]
    LengthMismatch {
        /// Which array.
        what: &'static str,
        /// Length expected.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A group has fewer training points than the scorer needs.
    #[error("{found} training points, but `{param}` needs at least {needed}")]
    TooFewPoints {
        /// The parameter that sets the need (`k`, `n_neighbors`, `n_components`).
        param: &'static str,
        /// Points needed.
        needed: usize,
        /// Points available.
        found: usize,
    },
    /// PROB: a class index is not a column of the logits.
    #[error("row {row} has class {class}, but the logits have {n_classes} columns")]
    ClassOutOfRange {
        /// Row index.
        row: usize,
        /// The class given.
        class: i64,
        /// Number of logit columns.
        n_classes: usize,
    },
    /// A GMM covariance is not positive definite even after `reg_covar` was added.
    #[error(
        "GMM component {component} has an ill-defined covariance (not positive definite); use fewer \
         components, a larger `reg_covar`, diagonal covariance, or more training data per group"
    )]
    IllConditioned {
        /// Component index.
        component: usize,
    },
    /// A test group has no training data to fit its model on.
    #[error("test group {group} has no training data")]
    MissingGroup {
        /// The group id.
        group: i64,
    },
    /// A domain-wise scorer was asked for without the domain of each training row.
    #[error("the domain-wise scorers need the domain (source or target) of every training row")]
    NeedsDomains,
    /// An embedding width that is not a whole number of blocks (Mahalanobis).
    #[error("the embedding width {width} is not a multiple of the block {block}")]
    BlockWidth {
        /// The embedding width.
        width: usize,
        /// The block size.
        block: usize,
    },
    /// The Mahalanobis scorer's covariance is not positive definite.
    #[error(
        "the blocks' covariance is not positive definite (fewer independent training blocks than values per block, \
         or constant values); train on more clips"
    )]
    SingularCovariance,
    /// A saved model's array has a shape that does not fit the rest of the model.
    #[error("saved `{what}` has shape {found:?}, expected {expected:?}")]
    SavedShape {
        /// Which array.
        what: &'static str,
        /// Shape the rest of the model implies.
        expected: Vec<usize>,
        /// Shape found.
        found: Vec<usize>,
    },
    /// A scorer file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A scorer file whose content is not a saved scorer of this version.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// An error while fitting or scoring one group.
    #[error("group {group}: {source}")]
    Group {
        /// The group id.
        group: i64,
        /// What went wrong.
        source: Box<Error>,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
