//! ROC-AUC and McClish pAUC on the anchors' workload (shared/anchors.md): 100 000 scores N(0, 1) + 0.5·label,
//! labels fair coin flips; scikit-learn `roc_auc_score` takes 24–25 ms for it (with and without max_fpr = 0.1).

use asd_metrics::{DEFAULT_MAX_FPR, Roc, roc_auc};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::hint::black_box;

const N_SCORES: usize = 100_000;
/// Mean shift of the anomalous scores (anchors.md workload).
const SHIFT: f64 = 0.5;

fn metrics(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let labels: Vec<bool> = (0..N_SCORES).map(|_| rng.random_bool(0.5)).collect();
    let scores: Vec<f64> = labels
        .iter()
        .map(|&l| rng.sample::<f64, _>(StandardNormal) + if l { SHIFT } else { 0.0 })
        .collect();
    c.bench_function("auc_100k", |b| {
        b.iter(|| roc_auc(black_box(&scores), black_box(&labels)).unwrap())
    });
    c.bench_function("auc_and_mcclish_pauc_100k", |b| {
        b.iter(|| {
            let roc = Roc::new(black_box(&scores), black_box(&labels)).unwrap();
            (roc.auc(), roc.pauc(DEFAULT_MAX_FPR).unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = metrics
}
criterion_main!(benches);
