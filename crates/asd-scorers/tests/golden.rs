//! Every scorer against the scikit-learn oracle in `shared/golden/scorers/` (README there: how it was made,
//! and the tolerance for each output, which each test states).

use asd_scorers::{
    CosParams, Fit, GmmParams, GmmStart, KMeansParams, KnnParams, LofParams, Metric, ProbParams, Score, ScorerConfig,
    score_grouped,
};
use asd_testkit::{assert_allclose, golden, npy, npy_f64, npy_i64};
use ndarray::{Array1, Array2, Array3, ArrayD, Axis, Ix1, Ix2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const N_CLASSES: usize = 3;

struct Data {
    train: Array2<f64>,
    train_y: Vec<i64>,
    test: Array2<f64>,
    test_y: Vec<i64>,
}

/// float64 of the stored float32 arrays, as the README prescribes.
fn f32_matrix(name: &str) -> Array2<f64> {
    npy(golden(&format!("scorers/{name}.npy")))
        .mapv(f64::from)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn labels(name: &str) -> Vec<i64> {
    npy_i64(golden(&format!("scorers/{name}.npy"))).into_iter().collect()
}

fn out(name: &str) -> ArrayD<f64> {
    npy_f64(golden(&format!("scorers/{name}.npy")))
}

fn data() -> Data {
    Data {
        train: f32_matrix("train_X"),
        train_y: labels("train_y"),
        test: f32_matrix("test_X"),
        test_y: labels("test_y"),
    }
}

fn rows_of(x: &Array2<f64>, y: &[i64], class: usize) -> Array2<f64> {
    let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class as i64).collect();
    x.select(Axis(0), &rows)
}

/// Scores of every test row by its class's model, fitted with `fit` on that class's training rows.
fn per_class<S: Score>(
    d: &Data,
    train: &Array2<f64>,
    train_y: &[i64],
    fit: impl Fn(usize, Array2<f64>) -> S,
) -> Array1<f64> {
    let models: Vec<S> = (0..N_CLASSES).map(|c| fit(c, rows_of(train, train_y, c))).collect();
    let mut s = Array1::zeros(d.test.nrows());
    for (i, row) in d.test.outer_iter().enumerate() {
        s[i] = models[d.test_y[i] as usize].score(row.insert_axis(Axis(0))).unwrap()[0];
    }
    s
}

fn max_rel(a: &Array1<f64>, e: &ArrayD<f64>) -> f64 {
    a.iter()
        .zip(e.iter())
        .map(|(a, e)| (a - e).abs() / e.abs())
        .fold(0.0, f64::max)
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
}

/// COS: README tolerance 1e-6 absolute.
#[test]
fn cos_matches_golden() {
    let d = data();
    let means = out("cos_class_means");
    for c in 0..N_CLASSES {
        let m = CosParams::new()
            .fit(rows_of(&d.train, &d.train_y, c).view(), &mut rng())
            .unwrap();
        let expected = means.index_axis(Axis(0), c).to_owned().into_dyn();
        assert_allclose(&m.mean().clone().into_dyn(), &expected, 1e-12, 0.0, "cos class mean");
    }
    let s = per_class(&d, &d.train, &d.train_y, |_, x| {
        CosParams::new().fit(x.view(), &mut rng()).unwrap()
    });
    assert_allclose(&s.into_dyn(), &out("cos_score"), 1e-6, 0.0, "cos score");
}

/// K-Means from the fixed initial centres: centres 1e-5 abs with identical iteration counts, score 1e-5 abs.
#[test]
fn kmeans_matches_golden() {
    let d = data();
    let init = out("kmeans_init_centres")
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    let centres = out("kmeans_centres");
    let (iters, inertia) = ([5, 4, 5], [8992.092751918073, 27956.19511316515, 75966.62715889358]);
    let params = KMeansParams::new(4).with_n_init(1).with_max_iter(300).with_tol(1e-4);
    let s = per_class(&d, &d.train, &d.train_y, |c, x| {
        let km = params.fit_from(x.view(), init.index_axis(Axis(0), c)).unwrap();
        let expected = centres.index_axis(Axis(0), c).to_owned();
        assert_allclose(&km.centres().clone().into_dyn(), &expected, 1e-5, 0.0, "kmeans centres");
        assert_eq!(km.n_iter(), iters[c], "class {c} iterations");
        assert!(
            (km.inertia() - inertia[c]).abs() <= 1e-9 * inertia[c],
            "class {c} inertia {}",
            km.inertia()
        );
        km
    });
    assert_allclose(&s.into_dyn(), &out("kmeans_score"), 1e-5, 0.0, "kmeans score");
}

fn gmm_start(prefix: &str, c: usize, dim: usize) -> GmmStart {
    let means = out(&format!("{prefix}_means_init"))
        .index_axis(Axis(0), c)
        .to_owned()
        .into_dimensionality::<Ix2>()
        .unwrap();
    let scale = out(&format!("{prefix}_precisions_init_scale"))
        .index_axis(Axis(0), c)
        .to_owned();
    let precisions = Array3::from_shape_fn((2, dim, dim), |(k, i, j)| if i == j { scale[[k]] } else { 0.0 });
    GmmStart {
        weights: Array1::from_elem(2, 0.5),
        means,
        precisions,
    }
}

/// GMM as briefed (ill-conditioned, 100 points per component in 128-d): score 1e-6 relative (f64 only),
/// weights and lower bounds per iteration as recorded, iterations 3, 3, 4.
#[test]
fn gmm_ill_conditioned_matches_golden() {
    let d = data();
    let json = asd_testkit::json(golden("scorers/index.json"));
    let weights = out("gmm_weights");
    let params = GmmParams::new(2).with_reg_covar(1e-6).with_max_iter(100).with_tol(1e-3);
    let s = per_class(&d, &d.train, &d.train_y, |c, x| {
        let g = params.fit_from(x.view(), &gmm_start("gmm", c, x.ncols())).unwrap();
        let bounds = json["notes"][format!("gmm_class{c}_lower_bounds_per_iter")]
            .as_array()
            .unwrap();
        assert_eq!(g.n_iter(), bounds.len(), "class {c} iterations");
        let last = bounds.last().unwrap().as_f64().unwrap();
        assert!(
            (g.lower_bound() - last).abs() <= 1e-6 * last.abs(),
            "class {c} bound {}",
            g.lower_bound()
        );
        let w = weights.index_axis(Axis(0), c).to_owned();
        assert_allclose(&g.weights().clone().into_dyn(), &w, 1e-9, 1e-6, "gmm weights");
        let m = out("gmm_means").index_axis(Axis(0), c).to_owned();
        assert_allclose(&g.means().clone().into_dyn(), &m, 1e-9, 1e-6, "gmm means");
        let cov = out("gmm_covariances").index_axis(Axis(0), c).to_owned();
        assert_allclose(&g.covariances().into_dyn(), &cov, 1e-9, 1e-6, "gmm covariances");
        g
    });
    let expected = out("gmm_score");
    eprintln!("gmm (ill-conditioned) score max rel err {:.2e}", max_rel(&s, &expected));
    assert_allclose(&s.into_dyn(), &expected, 0.0, 1e-6, "gmm score");
}

/// Well-conditioned GMM: score 1e-5 relative, iterations 3, 3, 4.
#[test]
fn gmm_well_conditioned_matches_golden() {
    let d = data();
    let (train, train_y) = (f32_matrix("gmmwc_train_X"), labels("gmmwc_train_y"));
    let params = GmmParams::new(2);
    let s = per_class(&d, &train, &train_y, |c, x| {
        let g = params.fit_from(x.view(), &gmm_start("gmmwc", c, x.ncols())).unwrap();
        assert_eq!(g.n_iter(), [3, 3, 4][c], "class {c} iterations");
        let w = out("gmmwc_weights").index_axis(Axis(0), c).to_owned();
        assert_allclose(&g.weights().clone().into_dyn(), &w, 1e-9, 1e-6, "gmmwc weights");
        let m = out("gmmwc_means").index_axis(Axis(0), c).to_owned();
        assert_allclose(&g.means().clone().into_dyn(), &m, 1e-9, 1e-6, "gmmwc means");
        g
    });
    let expected = out("gmmwc_score");
    eprintln!(
        "gmm (well-conditioned) score max rel err {:.2e}",
        max_rel(&s, &expected)
    );
    assert_allclose(&s.into_dyn(), &expected, 0.0, 1e-5, "gmmwc score");
}

const METRICS: [(Metric, &str); 6] = [
    (Metric::Euclidean, "euclidean"),
    (Metric::Manhattan, "manhattan"),
    (Metric::Chebyshev, "chebyshev"),
    (Metric::Cosine, "cosine"),
    (Metric::Canberra, "canberra"),
    (Metric::BrayCurtis, "braycurtis"),
];

/// LOF, all six metrics, through the grouped entry point (groups = classes): 1e-5 relative.
#[test]
fn lof_matches_golden_for_six_metrics() {
    let d = data();
    for (metric, name) in METRICS {
        let config = ScorerConfig::Lof(LofParams::new(20).with_metric(metric));
        let s = score_grouped(&config, d.train.view(), &d.train_y, d.test.view(), &d.test_y, 0).unwrap();
        let expected = out(&format!("lof_{name}_score"));
        eprintln!("lof {name} max rel err {:.2e}", max_rel(&s, &expected));
        assert_allclose(&s.into_dyn(), &expected, 0.0, 1e-5, &format!("lof {name}"));
    }
}

/// KNN mean distance, k ∈ {1, 5}, cosine and Euclidean: 1e-5 relative.
#[test]
fn knn_matches_golden() {
    let d = data();
    for k in [1, 5] {
        for (metric, name) in [(Metric::Cosine, "cosine"), (Metric::Euclidean, "euclidean")] {
            let config = ScorerConfig::Knn(KnnParams::new(k).with_metric(metric));
            let s = score_grouped(&config, d.train.view(), &d.train_y, d.test.view(), &d.test_y, 0).unwrap();
            let expected = out(&format!("knn_k{k}_{name}_score"));
            eprintln!("knn k{k} {name} max rel err {:.2e}", max_rel(&s, &expected));
            assert_allclose(&s.into_dyn(), &expected, 0.0, 1e-5, &format!("knn k{k} {name}"));
        }
    }
}

/// PROB from the fixed logits: 1e-6 absolute.
#[test]
fn prob_matches_golden() {
    let d = data();
    let logits = f32_matrix("test_logits");
    let s = ProbParams::new().score(logits.view(), &d.test_y).unwrap();
    let via_grouped = score_grouped(
        &ScorerConfig::Prob(ProbParams::new()),
        Array2::zeros((0, 3)).view(),
        &[],
        logits.view(),
        &d.test_y,
        0,
    )
    .unwrap();
    assert_eq!(s, via_grouped);
    assert_allclose(&s.into_dyn(), &out("prob_score"), 1e-6, 0.0, "prob score");
}

/// The grouped COS equals the per-class COS (routing check) — against the golden, 1e-6 absolute.
#[test]
fn grouped_cos_routes_rows_to_their_class() {
    let d = data();
    let s = score_grouped(
        &ScorerConfig::Cos(CosParams::new()),
        d.train.view(),
        &d.train_y,
        d.test.view(),
        &d.test_y,
        7,
    )
    .unwrap();
    let s: Array1<f64> = s.into_dimensionality::<Ix1>().unwrap();
    assert_allclose(&s.into_dyn(), &out("cos_score"), 1e-6, 0.0, "grouped cos score");
}
