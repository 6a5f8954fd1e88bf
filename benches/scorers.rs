//! Scorer fit + score on the anchors' workload (shared/anchors.md): 4 Gaussian blobs in 128-d, 6000 training
//! and 2000 test embeddings, with the initialisation and iteration counts of the scikit-learn figures:
//! K-Means(4) k-means++ 3 iterations + cosine score ≈ 12 ms; GaussianMixture(2, full) 2 EM iterations ≈ 334–358 ms;
//! LocalOutlierFactor(20) ≈ 173–177 ms; NearestNeighbors(1) fit + query ≈ 37–40 ms Euclidean, 93–102 ms cosine.

use asd_scorers::{Fit, GmmParams, KMeansParams, KnnParams, LofParams, Metric, Score};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::hint::black_box;

/// The allocator of the `asd` binary (see its `main.rs`), so that the figures are what the command line gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DIM: usize = 128;
const N_TRAIN: usize = 6000;
const N_TEST: usize = 2000;
const N_BLOBS: usize = 4;
/// scikit-learn `make_blobs` defaults: centres uniform in (−10, 10), unit standard deviation.
const CENTRE_BOX: f64 = 10.0;

/// `n` rows, blob `i % 4` each, around `centres`.
fn blobs(n: usize, centres: &Array2<f64>, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_fn((n, DIM), |(i, j)| {
        centres[[i % N_BLOBS, j]] + rng.sample::<f64, _>(StandardNormal)
    })
}

fn scorers(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let centres = Array2::from_shape_fn((N_BLOBS, DIM), |_| rng.random_range(-CENTRE_BOX..CENTRE_BOX));
    let train = blobs(N_TRAIN, &centres, &mut rng);
    let test = blobs(N_TEST, &centres, &mut rng);
    let (train, test) = (train.view(), test.view());

    let kmeans = KMeansParams::new(4).with_n_init(1).with_max_iter(3);
    c.bench_function("kmeans4_kmeanspp_3iter_fit_score", |b| {
        b.iter(|| {
            kmeans
                .fit(train, &mut ChaCha8Rng::seed_from_u64(1))
                .unwrap()
                .score(black_box(test))
                .unwrap()
        })
    });
    let gmm = GmmParams::new(2).with_max_iter(2);
    c.bench_function("gmm2_full_2iter_fit_score", |b| {
        b.iter(|| {
            gmm.fit(train, &mut ChaCha8Rng::seed_from_u64(1))
                .unwrap()
                .score(black_box(test))
                .unwrap()
        })
    });
    let lof = LofParams::new(20);
    c.bench_function("lof20_euclidean_fit_score", |b| {
        b.iter(|| {
            lof.fit(train, &mut ChaCha8Rng::seed_from_u64(1))
                .unwrap()
                .score(black_box(test))
                .unwrap()
        })
    });
    for (metric, name) in [(Metric::Euclidean, "euclidean"), (Metric::Cosine, "cosine")] {
        let knn = KnnParams::new(1).with_metric(metric);
        c.bench_function(&format!("knn1_{name}_fit_query"), |b| {
            b.iter(|| {
                knn.fit(train, &mut ChaCha8Rng::seed_from_u64(1))
                    .unwrap()
                    .score(black_box(test))
                    .unwrap()
            })
        });
    }
}

criterion_group!(benches, scorers);
criterion_main!(benches);
