//! `asd`: unsupervised anomalous sound detection for machines — the facade of the workspace.
//! (Facade under construction: for now it re-exports the pipeline crates.)
#![forbid(unsafe_code)]

pub use asd_audio as audio;
pub use asd_data as data;
pub use asd_features as features;
pub use asd_metrics as metrics;
pub use asd_scorers as scorers;
