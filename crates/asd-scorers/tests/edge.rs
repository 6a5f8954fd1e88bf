//! Edge cases through the public API: one body run over every scorer kind, parameter rules, groups,
//! determinism, auto traits.

use asd_scorers::{
    Cos, CosParams, Covariance, DomainKnn, DomainKnnParams, Error, Fit, Gmm, GmmParams, Grouped, KMeans, KMeansInit,
    KMeansParams, Knn, KnnAggregate, KnnParams, Lof, LofParams, MahalanobisParams, Metric, ProbParams, Score,
    ScorerConfig, ScorerKind, score_grouped, score_grouped_with_domains,
};
use ndarray::{Array1, Array2, ArrayView2, array, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Deterministic, well-spread `[n, dim]` data with two groups offset from each other.
fn blobs(n: usize, dim: usize, shift: f64) -> Array2<f64> {
    Array2::from_shape_fn((n, dim), |(i, j)| {
        ((i * 7919 + j * 104_729) as f64 * 0.001).sin() + shift + j as f64 * 0.1
    })
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(3)
}

/// [`score_grouped_with_domains`] with every training row in the source domain: the entry point that serves
/// every kind (the domain-wise KNN then equals the plain KNN, checked in `domain_wise_knn_per_group`).
fn score_all(
    config: &ScorerConfig,
    train: ArrayView2<'_, f64>,
    groups: &[i64],
    test: ArrayView2<'_, f64>,
    test_groups: &[i64],
    seed: u64,
) -> asd_scorers::Result<Array1<f64>> {
    let source = vec![false; train.nrows()];
    score_grouped_with_domains(config, train, groups, &source, test, test_groups, seed)
}

/// Small configs that every kind can fit on 30 points in 4-d.
fn small(kind: ScorerKind) -> ScorerConfig {
    match ScorerConfig::new(kind) {
        ScorerConfig::Gmm(p) => ScorerConfig::Gmm(p.with_covariance(Covariance::Diagonal)),
        ScorerConfig::Lof(p) => ScorerConfig::Lof(LofParams::new(5).with_metric(p.metric)),
        // blocks of 2 values: a 4-d row is two blocks
        ScorerConfig::DomainMahalanobis(p) => ScorerConfig::DomainMahalanobis(MahalanobisParams { block: 2, ..p }),
        c => c,
    }
}

#[test]
fn autotraits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CosParams>();
    send_sync::<KMeansParams>();
    send_sync::<GmmParams>();
    send_sync::<LofParams>();
    send_sync::<KnnParams>();
    send_sync::<DomainKnnParams>();
    send_sync::<ProbParams>();
    send_sync::<ScorerConfig>();
    send_sync::<Cos>();
    send_sync::<KMeans>();
    send_sync::<Gmm>();
    send_sync::<Lof>();
    send_sync::<Knn>();
    send_sync::<DomainKnn>();
    send_sync::<Grouped<Lof>>();
}

#[test]
fn every_kind_rejects_nan_and_scores_finite_values() {
    let (train, mut test) = (blobs(30, 4, 0.0), blobs(6, 4, 0.5));
    let groups = vec![1; 30];
    for kind in ScorerKind::ALL {
        let config = small(kind);
        let test_groups = vec![if kind == ScorerKind::Prob { 3 } else { 1 }; 6];
        let s = score_all(&config, train.view(), &groups, test.view(), &test_groups, 1).unwrap();
        assert!(s.iter().all(|v| v.is_finite()), "{kind:?}");
        test[[2, 1]] = f64::NAN;
        let err = score_all(&config, train.view(), &groups, test.view(), &test_groups, 1).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("non-finite") && text.contains("row 2, column 1"),
            "{kind:?}: {text}"
        );
        test[[2, 1]] = 0.3;
    }
}

#[test]
fn every_fitted_kind_rejects_nan_training_data_and_wrong_width() {
    let mut train = blobs(30, 4, 0.0);
    train[[4, 0]] = f64::INFINITY;
    let groups = vec![0; 30];
    for kind in ScorerKind::ALL.into_iter().filter(|k| k.fits()) {
        let err = score_all(&small(kind), train.view(), &groups, blobs(2, 4, 0.0).view(), &[0, 0], 0).unwrap_err();
        assert!(
            matches!(&err, Error::Group { group: 0, source } if matches!(**source, Error::NonFinite { row: 4, col: 0, .. })),
            "{kind:?}: {err}"
        );
    }
    let train = blobs(30, 4, 0.0);
    for kind in ScorerKind::ALL.into_iter().filter(|k| k.fits()) {
        let err = score_all(&small(kind), train.view(), &groups, blobs(2, 3, 0.0).view(), &[0, 0], 0).unwrap_err();
        assert!(
            matches!(&err, Error::Group { source, .. } if matches!(**source, Error::DimensionMismatch { expected: 4, found: 3, .. })),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn missing_test_group_is_named() {
    let train = blobs(30, 4, 0.0);
    let err = score_grouped(
        &small(ScorerKind::Knn),
        train.view(),
        &[0; 30],
        train.view(),
        &[9; 30],
        0,
    )
    .unwrap_err();
    assert!(matches!(err, Error::MissingGroup { group: 9 }));
    assert_eq!(err.to_string(), "test group 9 has no training data");
}

#[test]
fn group_lengths_are_checked() {
    let train = blobs(10, 2, 0.0);
    let err = score_grouped(
        &small(ScorerKind::Cos),
        train.view(),
        &[0; 9],
        train.view(),
        &[0; 10],
        0,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            what: "train_groups",
            expected: 10,
            found: 9
        }
    ));
}

#[test]
fn groups_are_scored_by_their_own_model() {
    // Group 0 near the origin, group 1 far away: a test row from group 1's region is normal under
    // group 1's model and anomalous under group 0's.
    let (a, b) = (blobs(40, 3, 0.0), blobs(40, 3, 50.0));
    let train = ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).unwrap();
    let groups: Vec<i64> = (0..80).map(|i| i64::from(i >= 40)).collect();
    let test = blobs(1, 3, 50.0);
    let config = ScorerConfig::Knn(KnnParams::new(1).with_metric(Metric::Euclidean));
    let own = score_grouped(&config, train.view(), &groups, test.view(), &[1], 0).unwrap();
    let other = score_grouped(&config, train.view(), &groups, test.view(), &[0], 0).unwrap();
    assert!(own[0] * 100.0 < other[0], "{own} vs {other}");
}

#[test]
fn too_small_groups() {
    let train = blobs(3, 4, 0.0);
    let err = KnnParams::new(5).fit(train.view(), &mut rng()).unwrap_err();
    assert!(matches!(
        err,
        Error::TooFewPoints {
            param: "k",
            needed: 5,
            found: 3
        }
    ));
    let err = KMeansParams::new(4).fit(train.view(), &mut rng()).unwrap_err();
    assert!(matches!(
        err,
        Error::TooFewPoints {
            param: "n_clusters",
            needed: 4,
            found: 3
        }
    ));
    let err = GmmParams::new(4).fit(train.view(), &mut rng()).unwrap_err();
    assert!(matches!(
        err,
        Error::TooFewPoints {
            param: "n_components",
            needed: 4,
            found: 3
        }
    ));
    // LOF falls back to k = n − 1, as scikit-learn does, and needs two points.
    let lof = LofParams::new(20).fit(train.view(), &mut rng()).unwrap();
    assert_eq!(lof.n_neighbors(), 2);
    let err = LofParams::new(20)
        .fit(train.slice(ndarray::s![..1, ..]), &mut rng())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::TooFewPoints {
            needed: 2,
            found: 1,
            ..
        }
    ));
}

/// `check_group` (the check before training) agrees with the fits: for each kind, the row count where the
/// grouped fit starts to succeed is where `check_group` starts to accept; PROB fits nothing.
#[test]
fn check_group_agrees_with_the_fits() {
    let configs = [
        ScorerConfig::Cos(CosParams::default()),
        ScorerConfig::Kmeans(KMeansParams::new(4)),
        ScorerConfig::Gmm(GmmParams::new(3).with_covariance(Covariance::Diagonal)),
        ScorerConfig::Lof(LofParams::new(20)),
        ScorerConfig::Knn(KnnParams::new(5)),
        ScorerConfig::DomainKnn(DomainKnnParams::new(KnnParams::new(3))),
    ];
    for config in &configs {
        for n in 1..8 {
            let train = blobs(n, 4, 0.0);
            let fitted = score_all(config, train.view(), &vec![0; n], train.view(), &vec![0; n], 0).is_ok();
            let checked = config.check_group(n, 0).is_ok();
            assert_eq!(fitted, checked, "{:?} on {n} rows", config.kind());
        }
    }
    // The domain-wise KNN fits each domain on its own rows.
    let domain = &configs[5];
    assert!(domain.check_group(5, 2).is_err() && domain.check_group(5, 3).is_ok() && domain.check_group(0, 3).is_ok());
    assert!(ScorerConfig::new(ScorerKind::Prob).check_group(0, 0).is_ok());
}

#[test]
fn zero_vectors_are_rejected_by_cosine_scorers() {
    let mut train = blobs(20, 3, 1.0);
    train.row_mut(7).fill(0.0);
    let err = KnnParams::new(1).fit(train.view(), &mut rng()).unwrap_err();
    assert!(matches!(err, Error::ZeroVector { what: "train", row: 7 }));
    let err = LofParams::new(5)
        .with_metric(Metric::Cosine)
        .fit(train.view(), &mut rng())
        .unwrap_err();
    assert!(matches!(err, Error::ZeroVector { row: 7, .. }));
    // Euclidean LOF is fine with a zero row.
    assert!(LofParams::new(5).fit(train.view(), &mut rng()).is_ok());
    let cos = CosParams::new().fit(blobs(20, 3, 1.0).view(), &mut rng()).unwrap();
    assert!(matches!(
        cos.score(array![[0.0, 0.0, 0.0]].view()),
        Err(Error::ZeroVector { what: "test", row: 0 })
    ));
    let zero_mean = array![[1.0, -1.0], [-1.0, 1.0]];
    assert!(matches!(
        CosParams::new().fit(zero_mean.view(), &mut rng()),
        Err(Error::ZeroVector { .. })
    ));
}

#[test]
fn duplicates_give_finite_scores() {
    // 30 copies of one point plus a few others: LOF's 1e-10 guard gives a large finite density.
    let mut train = Array2::from_elem((36, 3), 1.0);
    for i in 30..36 {
        train
            .row_mut(i)
            .assign(&array![1.0 + i as f64, 2.0, 3.0 - i as f64 * 0.1]);
    }
    let lof = LofParams::new(5).fit(train.view(), &mut rng()).unwrap();
    assert!(lof.train_lrd().iter().all(|v| v.is_finite() && *v > 0.0));
    assert!((lof.train_lrd()[0] - 1e10).abs() < 1.0); // k-distance 0 → 1 / 1e-10
    let s = lof.score(array![[1.0, 1.0, 1.0], [40.0, 2.0, 0.0]].view()).unwrap();
    assert!(s.iter().all(|v| v.is_finite()));
    // K-Means with fewer distinct points than clusters: empty clusters keep their centre.
    let km = KMeansParams::new(4)
        .fit(Array2::from_elem((10, 2), 2.0).view(), &mut rng())
        .unwrap();
    assert!(km.centres().iter().all(|v| *v == 2.0));
    assert_eq!(km.inertia(), 0.0);
    let knn = KnnParams::new(3)
        .with_metric(Metric::Euclidean)
        .fit(train.view(), &mut rng())
        .unwrap();
    assert_eq!(knn.score(array![[1.0, 1.0, 1.0]].view()).unwrap()[0], 0.0);
}

#[test]
fn gmm_singular_covariance_is_a_clear_error() {
    // All points equal and no regularisation: the covariance is exactly zero.
    let train = Array2::from_elem((10, 3), 1.0);
    let err = GmmParams::new(1)
        .with_reg_covar(0.0)
        .fit(train.view(), &mut rng())
        .unwrap_err();
    assert!(matches!(err, Error::IllConditioned { component: 0 }));
    assert!(err.to_string().contains("larger `reg_covar`"));
    let grouped = score_grouped(
        &ScorerConfig::Gmm(GmmParams::new(1).with_reg_covar(0.0)),
        train.view(),
        &[4; 10],
        train.view(),
        &[4; 10],
        0,
    )
    .unwrap_err();
    assert!(grouped.to_string().starts_with("group 4: GMM component 0"), "{grouped}");
    // The default reg_covar makes it well defined.
    assert!(GmmParams::new(1).fit(train.view(), &mut rng()).is_ok());
}

#[test]
fn parameter_rules() {
    assert!(matches!(
        KMeansParams::new(0).check(),
        Err(Error::Zero { param: "n_clusters" })
    ));
    assert!(matches!(
        KMeansParams::new(2).with_n_init(0).check(),
        Err(Error::Zero { param: "n_init" })
    ));
    assert!(matches!(
        KMeansParams::new(2).with_max_iter(0).check(),
        Err(Error::Zero { param: "max_iter" })
    ));
    assert!(matches!(
        KMeansParams::new(2).with_tol(f64::NAN).check(),
        Err(Error::OutOfRange { param: "tol", .. })
    ));
    assert!(matches!(
        GmmParams::new(0).check(),
        Err(Error::Zero { param: "n_components" })
    ));
    assert!(matches!(
        GmmParams::new(1).with_max_iter(0).check(),
        Err(Error::Zero { param: "max_iter" })
    ));
    assert!(matches!(
        GmmParams::new(1).with_reg_covar(-1.0).check(),
        Err(Error::OutOfRange { param: "reg_covar", .. })
    ));
    assert!(matches!(
        GmmParams::new(1).with_tol(f64::INFINITY).check(),
        Err(Error::OutOfRange { param: "tol", .. })
    ));
    assert!(matches!(
        LofParams::new(0).check(),
        Err(Error::Zero { param: "n_neighbors" })
    ));
    assert!(matches!(KnnParams::new(0).check(), Err(Error::Zero { param: "k" })));
    assert!(matches!(
        DomainKnnParams::new(KnnParams::new(0)).check(),
        Err(Error::Zero { param: "k" })
    ));
    // score_grouped checks the config before anything else.
    let x = blobs(5, 2, 0.0);
    let err = score_grouped(
        &ScorerConfig::Knn(KnnParams::new(0)),
        x.view(),
        &[0; 5],
        x.view(),
        &[0; 5],
        0,
    );
    assert!(matches!(err, Err(Error::Zero { param: "k" })));
}

#[test]
fn fits_are_deterministic_for_a_seed() {
    let (train, test) = (blobs(200, 5, 0.0), blobs(20, 5, 0.3));
    for kind in [ScorerKind::Kmeans, ScorerKind::Gmm] {
        let config = ScorerConfig::new(kind);
        let groups: Vec<i64> = (0..200).map(|i| i % 2).collect();
        let tg: Vec<i64> = (0..20).map(|i| i % 2).collect();
        let a = score_grouped(&config, train.view(), &groups, test.view(), &tg, 11).unwrap();
        let b = score_grouped(&config, train.view(), &groups, test.view(), &tg, 11).unwrap();
        assert_eq!(a, b, "{kind:?}");
    }
    for init in [KMeansInit::KMeansPlusPlus, KMeansInit::Random] {
        let p = KMeansParams::new(3).with_init(init);
        let a = p.fit(train.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let b = p.fit(train.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn knn_kth_and_domain_wise() {
    let train = array![[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]];
    let test = array![[0.0, 0.0]];
    let mean = KnnParams::new(3)
        .with_metric(Metric::Euclidean)
        .fit(train.view(), &mut rng())
        .unwrap();
    assert!((mean.score(test.view()).unwrap()[0] - 4.0 / 3.0).abs() < 1e-15);
    let kth = KnnParams::new(3)
        .with_metric(Metric::Euclidean)
        .with_aggregate(KnnAggregate::Kth)
        .fit(train.view(), &mut rng())
        .unwrap();
    assert_eq!(kth.score(test.view()).unwrap()[0], 3.0);
    // Domain-wise: the minimum of the source and target scores.
    let (source, target) = (array![[10.0, 0.0], [11.0, 0.0]], array![[0.0, 2.0]]);
    let dk = DomainKnnParams::new(KnnParams::new(1).with_metric(Metric::Euclidean))
        .fit(source.view(), target.view())
        .unwrap();
    let s = dk.score(array![[10.0, 0.5], [0.0, 1.0]].view()).unwrap();
    assert_eq!(s.to_vec(), vec![0.5, 1.0]);
    let err = DomainKnnParams::default()
        .fit(source.view(), array![[1.0, 2.0, 3.0]].view())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::DimensionMismatch {
            what: "target",
            expected: 2,
            found: 3
        }
    ));
}

#[test]
fn config_serde_names_and_defaults() {
    let names: Vec<String> = ScorerKind::ALL
        .iter()
        .map(|k| toml::Value::try_from(k).unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "\"prob\"",
            "\"cos\"",
            "\"kmeans\"",
            "\"gmm\"",
            "\"lof\"",
            "\"knn\"",
            "\"domain-knn\"",
            "\"domain-mahalanobis\"",
            "\"mse\""
        ]
    );
    for kind in ScorerKind::ALL {
        let config = ScorerConfig::new(kind);
        config.check().unwrap();
        let text = toml::to_string(&config).unwrap();
        let back: ScorerConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, config, "{text}");
        assert_eq!(back.kind(), kind);
    }
    let lof: ScorerConfig = toml::from_str("kind = \"lof\"\nmetric = \"braycurtis\"").unwrap();
    assert_eq!(
        lof,
        ScorerConfig::Lof(LofParams::new(20).with_metric(Metric::BrayCurtis))
    );
    let gmm: ScorerConfig = toml::from_str("kind = \"gmm\"").unwrap();
    assert_eq!(gmm, ScorerConfig::Gmm(GmmParams::new(4)));
    assert!(toml::from_str::<ScorerConfig>("kind = \"lof\"\nn_neighbours = 3").is_err()); // unknown field
    assert!(toml::from_str::<ScorerConfig>("kind = \"svm\"").is_err());
    let dk: ScorerConfig =
        toml::from_str("kind = \"domain-knn\"\n[source]\nk = 2\n[target]\nmetric = \"euclidean\"").unwrap();
    assert_eq!(
        dk,
        ScorerConfig::DomainKnn(DomainKnnParams {
            source: KnnParams::new(2),
            target: KnnParams::default().with_metric(Metric::Euclidean),
        })
    );
}

#[test]
fn domain_wise_knn_per_group() {
    // group 0: rows in both domains; group 1: source rows only
    let train = array![[10.0, 0.0], [11.0, 0.0], [0.0, 2.0], [5.0, 5.0], [6.0, 5.0]];
    let groups = [0, 0, 0, 1, 1];
    let target = [false, false, true, false, false];
    let test = array![[10.0, 0.5], [0.0, 1.0], [5.0, 7.0]];
    let test_groups = [0, 0, 1];
    let params = DomainKnnParams::new(KnnParams::new(1).with_metric(Metric::Euclidean));
    let config = ScorerConfig::DomainKnn(params.clone());
    let s = score_grouped_with_domains(&config, train.view(), &groups, &target, test.view(), &test_groups, 0).unwrap();
    // group 0 against the ungrouped model fitted on its two domains; group 1 against a plain KNN
    let own = params
        .fit(train.slice(s![0..2, ..]), train.slice(s![2..3, ..]))
        .unwrap()
        .score(test.slice(s![0..2, ..]))
        .unwrap();
    assert_eq!(own.to_vec(), vec![0.5, 1.0]);
    let plain = KnnParams::new(1)
        .with_metric(Metric::Euclidean)
        .fit(train.slice(s![3.., ..]), &mut rng())
        .unwrap()
        .score(test.slice(s![2.., ..]))
        .unwrap();
    assert_eq!(s.to_vec(), vec![own[0], own[1], plain[0]]);
    assert_eq!(plain[0], 2.0);
    // without domains it is an error, as is a domain list of the wrong length
    let err = score_grouped(&config, train.view(), &groups, test.view(), &test_groups, 0).unwrap_err();
    assert!(matches!(err, Error::NeedsDomains), "{err}");
    let err = score_grouped_with_domains(
        &config,
        train.view(),
        &groups,
        &target[..4],
        test.view(),
        &test_groups,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                what: "train_target",
                expected: 5,
                found: 4
            }
        ),
        "{err}"
    );
    // a test group without training rows in either domain
    let err =
        score_grouped_with_domains(&config, train.view(), &groups, &target, test.view(), &[0, 0, 7], 0).unwrap_err();
    assert!(matches!(err, Error::MissingGroup { group: 7 }), "{err}");
}
