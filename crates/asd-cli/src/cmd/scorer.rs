//! `asd scorer`: fit a scorer per group on embeddings from `.npy` files and score test rows.

use super::serde_name;
use crate::error::{CliError, Result};
use crate::npy;
use asd::scorers::{Covariance, Metric, ScorerConfig, ScorerKind};
use std::path::PathBuf;

/// Fit a scorer per group on your own embeddings and score test rows.
///
/// Fits on `[n, d]` float train embeddings (groups: one integer per row) and writes one
/// anomaly score per test row (higher = more anomalous) as a float64 `.npy`.
///
/// For `prob`, `--train` / `--test` hold class logits and the groups are the class indices of the rows.
/// `domain-knn` (DCASE 2023–25) also needs `--train-domains`: per group, one KNN on the source rows and one on
/// the target rows, and a test row's score is the smaller of the two. `domain-mahalanobis` (the DCASE autoencoder
/// baseline's selective Mahalanobis) does the same with a Mahalanobis distance of the rows' mean 128-value block.
/// `mse` fits nothing: each test row's mean square (an autoencoder's error row: its mean squared error).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
asd scorer --kind lof --n-neighbors 20 --metric cosine --train X.npy --train-groups G.npy \\\n    \
--test Y.npy --test-groups H.npy --out scores.npy\n  \
asd scorer --kind gmm --k 2 --covariance diag --train X.npy --train-groups G.npy --test Y.npy --test-groups H.npy --out s.npy\n  \
asd scorer --kind domain-knn --train X.npy --train-groups G.npy --train-domains D.npy \\\n    \
--test Y.npy --test-groups H.npy --out s.npy")]
pub struct Args {
    /// Scorer: prob | cos | kmeans | gmm | lof | knn | domain-knn | domain-mahalanobis | mse.
    #[arg(long, value_parser = parse_kind)]
    kind: ScorerKind,
    /// Train embeddings `[n, d]` (float32 or float64 `.npy`).
    #[arg(long)]
    train: PathBuf,
    /// Group of each train row `[n]` (int64 or int32 `.npy`).
    #[arg(long)]
    train_groups: PathBuf,
    /// Domain of each train row `[n]` (integer `.npy`: 0 source, 1 target); required by `domain-knn` and
    /// `domain-mahalanobis`, which alone read it.
    #[arg(long)]
    train_domains: Option<PathBuf>,
    /// Test embeddings `[m, d]`.
    #[arg(long)]
    test: PathBuf,
    /// Group of each test row `[m]`.
    #[arg(long)]
    test_groups: PathBuf,
    /// Output `.npy` of `[m]` float64 scores.
    #[arg(long)]
    out: PathBuf,
    /// Clusters (kmeans), components (gmm) or neighbours (knn; both domains of domain-knn).
    #[arg(long)]
    k: Option<usize>,
    /// Neighbours of LOF.
    #[arg(long)]
    n_neighbors: Option<usize>,
    /// Distance of LOF / KNN / domain-knn: euclidean | manhattan | chebyshev | cosine | canberra | braycurtis.
    #[arg(long, value_parser = parse_metric)]
    metric: Option<Metric>,
    /// GMM covariance: full | diag.
    #[arg(long, value_parser = parse_covariance)]
    covariance: Option<Covariance>,
    /// Seed of the random initialisations (kmeans, gmm).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_kind(s: &str) -> std::result::Result<ScorerKind, String> {
    serde_name(s)
}

fn parse_metric(s: &str) -> std::result::Result<Metric, String> {
    serde_name(s)
}

fn parse_covariance(s: &str) -> std::result::Result<Covariance, String> {
    serde_name(if s == "diag" { "diagonal" } else { s })
}

/// The scorer configuration the flags describe; a flag the kind does not use is a usage error.
fn config(args: &Args) -> Result<ScorerConfig> {
    let mut config = ScorerConfig::new(args.kind);
    let unused = |flag: &str| CliError::Usage(format!("--{flag} does not apply to --kind {}", kind_name(args.kind)));
    match &mut config {
        ScorerConfig::Kmeans(p) => {
            if let Some(k) = args.k {
                p.n_clusters = k;
            }
        }
        ScorerConfig::Gmm(p) => {
            if let Some(k) = args.k {
                p.n_components = k;
            }
            if let Some(c) = args.covariance {
                p.covariance = c;
            }
        }
        ScorerConfig::Lof(p) => {
            if let Some(n) = args.n_neighbors {
                p.n_neighbors = n;
            }
            if let Some(m) = args.metric {
                p.metric = m;
            }
        }
        ScorerConfig::Knn(p) => {
            if let Some(k) = args.k {
                p.k = k;
            }
            if let Some(m) = args.metric {
                p.metric = m;
            }
        }
        ScorerConfig::DomainKnn(p) => {
            for domain in [&mut p.source, &mut p.target] {
                if let Some(k) = args.k {
                    domain.k = k;
                }
                if let Some(m) = args.metric {
                    domain.metric = m;
                }
            }
        }
        ScorerConfig::Prob(_) | ScorerConfig::Cos(_) | ScorerConfig::DomainMahalanobis(_) | ScorerConfig::Mse(_) => {}
    }
    let uses = |flag: &str| match flag {
        "k" => matches!(
            args.kind,
            ScorerKind::Kmeans | ScorerKind::Gmm | ScorerKind::Knn | ScorerKind::DomainKnn
        ),
        "n-neighbors" => args.kind == ScorerKind::Lof,
        "metric" => matches!(args.kind, ScorerKind::Lof | ScorerKind::Knn | ScorerKind::DomainKnn),
        "covariance" => args.kind == ScorerKind::Gmm,
        "train-domains" => args.kind.is_domain_wise(),
        _ => true,
    };
    let given = [
        ("k", args.k.is_some()),
        ("n-neighbors", args.n_neighbors.is_some()),
        ("metric", args.metric.is_some()),
        ("covariance", args.covariance.is_some()),
        ("train-domains", args.train_domains.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(flag, set)| *set && !uses(flag)) {
        return Err(unused(flag));
    }
    if args.kind.is_domain_wise() && args.train_domains.is_none() {
        return Err(CliError::Usage(format!(
            "--kind {} needs --train-domains",
            kind_name(args.kind)
        )));
    }
    config.check().map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(config)
}

/// Reads `--train-domains`: one integer per row, 0 (source) or 1 (target).
fn read_domains(path: &std::path::Path) -> Result<Vec<bool>> {
    npy::read_groups(path)?
        .into_iter()
        .enumerate()
        .map(|(row, d)| match d {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(CliError::Npy {
                path: path.into(),
                reason: format!("row {row}: domain {other}; expected 0 (source) or 1 (target)"),
            }),
        })
        .collect()
}

fn kind_name(kind: ScorerKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Runs `asd scorer`.
pub fn run(args: Args) -> Result<()> {
    let config = config(&args)?;
    let train = npy::read_matrix(&args.train)?;
    let train_groups = npy::read_groups(&args.train_groups)?;
    let test = npy::read_matrix(&args.test)?;
    let test_groups = npy::read_groups(&args.test_groups)?;
    let train_target = match &args.train_domains {
        Some(path) => read_domains(path)?,
        None => vec![false; train.nrows()],
    };
    let scores = asd::scorers::score_grouped_with_domains(
        &config,
        train.view(),
        &train_groups,
        &train_target,
        test.view(),
        &test_groups,
        args.seed,
    )
    .map_err(asd::Error::from)?;
    npy::write(&args.out, &scores)?;
    eprintln!("scorer: {} scores written to {}", scores.len(), args.out.display());
    Ok(())
}
