//! Evaluation metrics of unsupervised anomalous sound detection (ASD), the last stage of the `asd` pipeline:
//! anomaly **score** → **metrics**. Computes, exactly as the DCASE Task 2 evaluators and scikit-learn do, the
//! ROC-AUC, the McClish-standardised partial AUC, the raw partial AUC of the papers, mAUC and DCASE harmonic
//! means; builds the per machine type × ID (DCASE 2020) or × section × domain (DCASE 2021–2025) tables with
//! the official score; reads and writes the DCASE score / decision CSVs and the official evaluator's
//! ground-truth folders; renders JSON, Markdown and the evaluator's CSV; draws ROC curves. No Burn; all
//! arithmetic in `f64` (cast `f32` scores first).
//!
//! ```
//! use asd_metrics::{ClipTruth, Domain, EvalOptions, GroupScores, ScoredClip, Year, evaluate, roc_auc};
//!
//! // One scoring: larger score = more anomalous, `true` = anomalous clip. Ties count one half.
//! let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true])?;
//! assert_eq!(auc, 0.75);
//!
//! // A DCASE 2021+ table: one machine type, one section, two domains.
//! let clip = |file: &str, score: f64, anomaly: bool, domain: Domain| ScoredClip {
//!     file: file.into(), score, truth: ClipTruth { anomaly, domain: Some(domain) }, decision: None,
//! };
//! let clips = vec![
//!     clip("a.wav", 0.1, false, Domain::Source), clip("b.wav", 0.9, true, Domain::Source),
//!     clip("c.wav", 0.5, false, Domain::Target), clip("d.wav", 0.4, true, Domain::Target),
//! ];
//! let group = GroupScores { machine_type: "fan".into(), group: "section_00".into(), clips };
//! let report = evaluate(&[group], &EvalOptions::default().with_jackknife(false))?;
//! assert_eq!(report.year, Year::Dcase2021Plus);
//! let section = &report.types["fan"].groups["section_00"];
//! assert_eq!(section.auc_source, Some(1.0)); // source normal below both anomalies
//! assert_eq!(section.auc_target, Some(0.5)); // target normal between them
//! println!("{}", report.to_table());
//! # Ok::<(), asd_metrics::Error>(())
//! ```
//!
//! # Definitions
//!
//! N⁻ / N⁺ normal / anomalous clips, x⁻ / x⁺ their scores, p = `max_fpr` (0.1 in DCASE).
//!
//! | name | definition | source |
//! |---|---|---|
//! | [`Roc::auc`] (`auc`) | (#{x⁺ > x⁻} + ½·#{x⁺ = x⁻}) / (N⁺N⁻) | scikit-learn `roc_auc_score`; `dcase_protocols.md` §3.1 |
//! | [`Roc::pauc`] (`pauc`) | ½·(1 + (A − p²/2)/(p − p²/2)), A = ROC area on [0, p] with linear interpolation at p | scikit-learn `roc_auc_score(max_fpr=p)` (McClish 1989); §3.2, decisions.md §1 |
//! | [`Roc::partial_area`] | A above, in [0, p] | §3.2 |
//! | [`Roc::pauc_raw`] (`pauc_raw`) | 1/(kN⁺)·Σ_{i≤k}Σ_j H(x⁺_j − x⁻_(i)), k = ⌊pN⁻⌋ top normals, H strict; undefined for k = 0 | seed 000 §3.3, DCASE task papers; §3.3 |
//! | [`Roc::auc_strict`] | #{x⁺ > x⁻} / (N⁺N⁻) | the papers' AUC formula; §3.3 |
//! | [`hmean`] | n / Σ 1/max(vᵢ, ε), ε = f64 epsilon | DCASE evaluators `scipy.stats.hmean(maximum(v, eps))`; §3.5 |
//! | [`mauc`] (`mauc`) | min over a type's IDs of the AUC | seeds 002, 004; §1.6 |
//! | AUC_source / AUC_target | AUC of one domain's normals vs all anomalies of the section | DCASE 2022–2025 evaluators; §4.3 |
//! | official score Ω | hmean of all AUC_source, AUC_target, pAUC | DCASE 2022–2025; §4.3 |
//! | DCASE 2021 score | hmean of domain-only AUC and pAUC per (type, section, domain) | DCASE 2021 evaluator; §4.2 |
//! | [`Detection`] | prec = tp/max(tp+fp, ε), rec = tp/max(tp+fn, ε), F1 = 2·prec·rec/max(prec+rec, ε) | DCASE 2023 evaluator; §3.6 |
//! | ci95 | mean over AUC, pAUC of \|t₀.₀₂₅,N−1\|·√(Σ(θ̂₋ᵢ − θ̄)²/(N(N−1))), all clips pooled | DCASE 2023 evaluator (jackknife); §3.7 |
//!
//! Section numbers refer to `shared/spec/dcase_protocols.md`. A metric of one class only is an error
//! ([`Error::SingleClass`]), never 0.5.
//!
//! # Modules
//! - [`roc`]: one scoring → [`Roc`] → AUC, pAUC, ROC points;
//! - [`aggregate`]: harmonic / arithmetic means, mAUC, precision / recall / F1;
//! - [`jackknife`](mod@jackknife): the evaluator's confidence line and the Student-t quantile;
//! - [`files`]: score / decision CSVs, evaluator ground-truth folders;
//! - [`evaluate`](mod@evaluate): per-group tables and [`evaluate_dir`], the entry point of `asd evaluate`;
//! - [`report`]: [`Report`] and its JSON, Markdown and evaluator-CSV renderings;
//! - `plot` (feature `plot`): ROC PNGs.
//!
//! # Feature flags
//! | feature | default | what |
//! |---|---|---|
//! | `plot` | yes | [`write_roc_pngs`] (plotters, bitmap backend) |
//!
//! # Errors
//! One enum, [`Error`]; every error that comes from a file names the file (and the line of a bad CSV row).
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod error;
pub mod evaluate;
pub mod files;
pub mod jackknife;
#[cfg(feature = "plot")]
pub mod plot;
pub mod report;
pub mod roc;

pub use aggregate::{DCASE_EPS, Detection, amean, hmean, mauc};
pub use error::{Error, Result};
pub use evaluate::{EvalOptions, GroupScores, ScoredClip, Truth, detect_year, evaluate, evaluate_dir, read_scores_dir};
pub use files::{
    ClipTruth, Domain, GroupFileName, decision_file_name, read_decisions, read_evaluator_truth, read_scores,
    score_file_name, write_decisions, write_scores,
};
pub use jackknife::{Jackknife, jackknife, student_t_quantile};
#[cfg(feature = "plot")]
pub use plot::write_roc_pngs;
pub use report::{Average, DomainReport, GroupReport, Official, Pool, Report, Subset, TypeReport, Year};
pub use roc::{BinaryMetrics, DEFAULT_MAX_FPR, Roc, RocPoint, binary_metrics, pauc, roc_auc};
