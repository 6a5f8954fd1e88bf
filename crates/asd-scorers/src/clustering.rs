//! Clustering for pseudo labels (the DCASE 2025 first-shot system, firstshot2025.md §4): the silhouette score, the
//! adjusted Rand index, and the k-search that labels one machine type's clips by clusters of a per-clip feature
//! (K-Means for k = 2 … 8 on features standardised by the source clips, the k of the best silhouette, one cluster
//! when no k reaches the threshold; target clips take the nearest centre).

use crate::kmeans::KMeansParams;
use crate::linalg::{check_matrix, sq_euclid_rows};
use crate::{Error, Fit, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use std::collections::HashMap;

/// The smallest k tried (firstshot2025.md §4.2 step 3).
pub const PSEUDO_K_MIN: usize = 2;
/// The largest k tried (§4.2 step 3).
pub const PSEUDO_K_MAX: usize = 8;
/// Below this best silhouette the clips form one cluster (§4.2 step 4).
pub const PSEUDO_MIN_SILHOUETTE: f64 = 0.10;
/// The smallest standard deviation a feature is divided by (§4.2 step 2).
pub const STD_FLOOR: f64 = 1e-8;

/// The silhouette of each row of `x` (`[n, dim]`) under `labels`, Euclidean: s(i) = (b − a) / max(a, b), a the mean
/// distance to the other members of its cluster, b the smallest mean distance to another cluster's members; 0 for a
/// row alone in its cluster and where a = b = 0 (scikit-learn's `silhouette_samples`).
///
/// # Errors
/// Bad rows; [`Error::LengthMismatch`] without one label per row; [`Error::TooFewPoints`] for fewer than 2
/// clusters.
pub fn silhouette_samples(x: ArrayView2<'_, f64>, labels: &[usize]) -> Result<Array1<f64>> {
    check_matrix(x, "silhouette")?;
    silhouettes_from(&distances(x), labels)
}

/// The Euclidean distance between every two rows of `x`, `[n, n]` (computed once for every k of a search).
fn distances(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = x.nrows();
    let mut d = Array2::zeros((n, n));
    for i in 0..n {
        for j in i + 1..n {
            let v = sq_euclid_rows(x.row(i), x.row(j)).sqrt();
            d[[i, j]] = v;
            d[[j, i]] = v;
        }
    }
    d
}

/// [`silhouette_samples`] from the rows' pairwise distances `d` `[n, n]`.
fn silhouettes_from(d: &Array2<f64>, labels: &[usize]) -> Result<Array1<f64>> {
    let n = d.nrows();
    if labels.len() != n {
        return Err(Error::LengthMismatch {
            what: "labels",
            expected: n,
            found: labels.len(),
        });
    }
    let clusters = labels.iter().max().map_or(0, |&m| m + 1);
    let mut sizes = vec![0usize; clusters];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let present = sizes.iter().filter(|&&s| s > 0).count();
    if present < 2 {
        return Err(Error::TooFewPoints {
            param: "clusters for a silhouette",
            needed: 2,
            found: present,
        });
    }
    Ok(d.outer_iter()
        .zip(labels)
        .map(|(row, &own)| {
            if sizes[own] < 2 {
                return 0.0;
            }
            let mut sums = vec![0.0; clusters];
            row.iter().zip(labels).for_each(|(&v, &l)| sums[l] += v);
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..clusters)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 { (b - a) / m } else { 0.0 }
        })
        .collect())
}

/// The mean of [`silhouette_samples`].
///
/// # Errors
/// As [`silhouette_samples`].
pub fn silhouette_score(x: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64> {
    Ok(silhouette_samples(x, labels)?.mean().unwrap_or(0.0))
}

/// The adjusted Rand index of two labellings of the same items (Hubert & Arabie 1985, scikit-learn's
/// `adjusted_rand_score`): 1 for the same partition under any renaming, about 0 for independent ones; 1 when both
/// put every item in one cluster or every item alone (the partitions then agree on every pair).
///
/// # Errors
/// [`Error::LengthMismatch`] when the lengths differ.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::LengthMismatch {
            what: "labels",
            expected: a.len(),
            found: b.len(),
        });
    }
    let pairs = |count: usize| (count * count.saturating_sub(1) / 2) as f64;
    let mut table: HashMap<(usize, usize), usize> = HashMap::new();
    let (mut rows, mut cols): (HashMap<usize, usize>, HashMap<usize, usize>) = (HashMap::new(), HashMap::new());
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let (sum_a, sum_b): (f64, f64) = (
        rows.values().map(|&c| pairs(c)).sum(),
        cols.values().map(|&c| pairs(c)).sum(),
    );
    let expected = sum_a * sum_b / pairs(a.len()).max(1.0);
    let max = 0.5 * (sum_a + sum_b);
    if max == expected {
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

/// The rows of `x` standardised by each column's mean and population standard deviation over the rows of `source`
/// (floored at [`STD_FLOOR`]; firstshot2025.md §4.2 step 2): the space [`PseudoLabels::fit`] clusters in.
///
/// # Panics
/// If the widths differ.
pub fn standardise(source: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Array2<f64> {
    let mean = source
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(source.ncols()));
    let std = source.std_axis(Axis(0), 0.0).mapv(|s| s.max(STD_FLOOR));
    (&x - &mean) / &std
}

/// How the clusters of a [`PseudoLabels`] are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterOrder {
    /// By descending size, ties by the smaller centre norm (§4.2 step 6).
    Size,
    /// By ascending first coordinate of the centre, for a 1-D feature such as a characteristic frequency (§4.3 step 6).
    Centre,
}

/// The k-search of firstshot2025.md §4.2: per-dimension standardisation by the source rows, K-Means for each k in
/// [`PSEUDO_K_MIN`]..=[`PSEUDO_K_MAX`] (at most the number of source rows − 1), the silhouette of each partition, the
/// best k (ties: the smaller), or one cluster when the best silhouette is below [`PSEUDO_MIN_SILHOUETTE`].
#[derive(Clone, Debug)]
pub struct PseudoLabels {
    /// The silhouette of each k tried, `(k, score)`.
    pub silhouettes: Vec<(usize, f64)>,
    /// The chosen number of clusters (1 when no k reached the threshold).
    pub k: usize,
    /// The cluster of each source row.
    pub source: Vec<usize>,
    /// The cluster of each target row (the nearest centre in the standardised space).
    pub target: Vec<usize>,
    /// The centres, `[k, dim]`, in the standardised space, in label order.
    pub centres: Array2<f64>,
}

impl PseudoLabels {
    /// Labels the rows of `source` (`[n, dim]`) and `target` (`[m, dim]`) as above; `kmeans` gives the K-Means
    /// settings but its `n_clusters` (scikit-learn's defaults in §4.2: k-means++, 10 restarts, 300 iterations,
    /// tolerance 1e-4), `rng` its draws.
    ///
    /// # Errors
    /// Bad rows; a target of another width; fewer than 3 source rows (no k ≥ 2 below the row count).
    pub fn fit(
        source: ArrayView2<'_, f64>,
        target: ArrayView2<'_, f64>,
        kmeans: &KMeansParams,
        order: ClusterOrder,
        rng: &mut impl rand::Rng,
    ) -> Result<PseudoLabels> {
        check_matrix(source, "pseudo-label source")?;
        if target.nrows() > 0 {
            check_matrix(target, "pseudo-label target")?;
            if target.ncols() != source.ncols() {
                return Err(Error::DimensionMismatch {
                    what: "pseudo-label target",
                    expected: source.ncols(),
                    found: target.ncols(),
                });
            }
        }
        let n = source.nrows();
        if n < PSEUDO_K_MIN + 1 {
            return Err(Error::TooFewPoints {
                param: "source rows for pseudo labels",
                needed: PSEUDO_K_MIN + 1,
                found: n,
            });
        }
        let (xs, xt) = (standardise(source, source), standardise(source, target));
        let d = distances(xs.view());
        let mut best: Option<(usize, f64, crate::KMeans)> = None;
        let mut silhouettes = Vec::new();
        for k in PSEUDO_K_MIN..=PSEUDO_K_MAX.min(n - 1) {
            let model = KMeansParams {
                n_clusters: k,
                ..kmeans.clone()
            }
            .fit(xs.view(), rng)?;
            let labels = model.labels(xs.view()).to_vec();
            let score = silhouettes_from(&d, &labels).map_or(f64::NEG_INFINITY, |s| s.mean().unwrap_or(0.0));
            silhouettes.push((k, score));
            if best.as_ref().is_none_or(|(_, s, _)| score > *s) {
                best = Some((k, score, model));
            }
        }
        let centres = match best {
            Some((_, score, model)) if score >= PSEUDO_MIN_SILHOUETTE => model.centres().clone(),
            _ => xs
                .mean_axis(Axis(0))
                .unwrap_or_else(|| Array1::zeros(xs.ncols()))
                .insert_axis(Axis(0)),
        };
        let nearest = |x: &Array2<f64>, centres: &Array2<f64>| -> Vec<usize> {
            x.outer_iter()
                .map(|row| {
                    let distance = |c: usize| sq_euclid_rows(row, centres.row(c));
                    (0..centres.nrows())
                        .fold((0, f64::INFINITY), |(b, db), c| {
                            let dc = distance(c);
                            if dc < db { (c, dc) } else { (b, db) }
                        })
                        .0
                })
                .collect()
        };
        let raw = nearest(&xs, &centres);
        let k = centres.nrows();
        let sizes: Vec<usize> = (0..k).map(|c| raw.iter().filter(|&&l| l == c).count()).collect();
        let norm = |c: usize| centres.row(c).dot(&centres.row(c));
        let mut rank: Vec<usize> = (0..k).collect();
        match order {
            ClusterOrder::Size => {
                rank.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(norm(a).total_cmp(&norm(b))));
            }
            ClusterOrder::Centre => rank.sort_by(|&a, &b| centres[[a, 0]].total_cmp(&centres[[b, 0]])),
        }
        let mut new_label = vec![0; k];
        for (new, &old) in rank.iter().enumerate() {
            new_label[old] = new;
        }
        let centres = centres.select(Axis(0), &rank);
        Ok(PseudoLabels {
            silhouettes,
            k,
            source: raw.iter().map(|&l| new_label[l]).collect(),
            target: nearest(&xt, &centres),
            centres,
        })
    }
}
