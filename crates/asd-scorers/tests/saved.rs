//! Fitted scorers saved to a file and loaded back score exactly as before; files of another version, other
//! content or inconsistent models are refused by name.

use asd_scorers::{
    Covariance, DomainKnnParams, Error, FittedScorer, GmmParams, KnnParams, LofParams, MahalanobisParams, Metric,
    SCORER_FILE_VERSION, ScorerConfig, ScorerKind,
};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use std::path::Path;

/// `[n, dim]` rows around a group-dependent centre, from a fixed generator.
fn rows(n: usize, dim: usize, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, dim), |(i, j)| (i % 3) as f64 + j as f64 * 0.1 + rng.random::<f64>())
}

/// Every kind (and a few non-default settings) on two groups.
fn configs() -> Vec<ScorerConfig> {
    let mut all: Vec<ScorerConfig> = ScorerKind::ALL
        .iter()
        .map(|&k| match ScorerConfig::new(k) {
            // rows of 6 values: two blocks of 3
            ScorerConfig::DomainMahalanobis(p) => ScorerConfig::DomainMahalanobis(MahalanobisParams { block: 3, ..p }),
            config => config,
        })
        .collect();
    all.push(ScorerConfig::Gmm(
        GmmParams::new(2).with_covariance(Covariance::Diagonal),
    ));
    all.push(ScorerConfig::Lof(LofParams::new(5).with_metric(Metric::Cosine)));
    all.push(ScorerConfig::Knn(KnnParams::new(3).with_metric(Metric::Euclidean)));
    all.push(ScorerConfig::DomainKnn(DomainKnnParams::new(KnnParams::new(2))));
    all
}

/// Criterion: for every scorer kind, the scores of a saved and reloaded model equal the fitted model's bit for
/// bit, on both groups (PROB on logits with class indices).
#[test]
fn every_scorer_scores_the_same_after_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let train = rows(60, 6, 1);
    let groups: Vec<i64> = (0..60).map(|i| i64::from(i >= 30)).collect();
    let target: Vec<bool> = (0..60).map(|i| i % 4 == 0).collect();
    let test = rows(10, 6, 2);
    let test_groups: Vec<i64> = (0..10).map(|i| i % 2).collect();
    for (i, config) in configs().iter().enumerate() {
        let fitted = config.fit(train.view(), &groups, Some(&target), 7).unwrap();
        assert_eq!(fitted.kind(), config.kind());
        let path = dir.path().join(format!("{i}.json"));
        fitted.save(&path).unwrap();
        let loaded = FittedScorer::load(&path).unwrap_or_else(|e| panic!("{config:?}: {e}"));
        let before = fitted.score(test.view(), &test_groups).unwrap();
        let after = loaded.score(test.view(), &test_groups).unwrap();
        assert_eq!(before, after, "{config:?}");
        assert!(before.iter().all(|v| v.is_finite()));
    }
}

/// Writes `value` as a scorer file's JSON.
fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// Criterion: a file of another version, a file that is not a scorer file, and a scorer whose arrays disagree are
/// [`Error::File`] naming the file and the problem; a folder is an I/O error naming it.
#[test]
fn other_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gmm.json");
    let fitted = ScorerConfig::new(ScorerKind::Gmm)
        .fit(rows(40, 3, 3).view(), &[0; 40], None, 0)
        .unwrap();
    fitted.save(&path).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

    let expect_file_error = |value: &serde_json::Value, words: &str| {
        write_json(&path, value);
        match FittedScorer::load(&path) {
            Err(e @ Error::File { .. }) => {
                let message = e.to_string();
                assert!(message.contains("gmm.json") && message.contains(words), "{message}");
            }
            other => panic!("expected a File error with {words:?}, got {other:?}"),
        }
    };
    let mut other_version = saved.clone();
    other_version["version"] = (SCORER_FILE_VERSION + 1).into();
    expect_file_error(&other_version, &format!("version {}", SCORER_FILE_VERSION + 1));
    expect_file_error(&serde_json::json!({"file": "a.wav", "score": 1.0}), "not a scorer file");
    let mut short_weights = saved.clone();
    short_weights["scorer"]["gmm"]["groups"]["0"]["weights"] = serde_json::json!({"v": 1, "dim": [1], "data": [1.0]});
    expect_file_error(&short_weights, "weights");
    let mut negative = saved.clone();
    let weights = &mut negative["scorer"]["gmm"]["groups"]["0"]["weights"]["data"];
    weights[0] = (-0.5).into();
    expect_file_error(&negative, "positive");
    assert!(matches!(FittedScorer::load(dir.path()), Err(Error::Io { .. })));
}
