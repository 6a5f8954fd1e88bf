//! The quality criterion of the synthetic benchmark (`shared/spec/synthetic.md`): with the default config, a
//! simple baseline — per machine ID, the Mahalanobis distance of a clip's mean log-Mel frame from the normal
//! training clips — reaches an AUC between 0.6 and 0.9 for every machine type (neither trivial nor hopeless).
//!
//! It writes the full default dataset (6 types × 4 IDs × (100 train + 50 + 50 test) × 10 s, 1.5 GB) and reads
//! it back through the real-data path, so it is ignored by default. Run it with
//! `cargo test --release -p asd --test synthetic_baseline -- --ignored --nocapture`.

use asd::audio::synth::{Split, SynthConfig, generate};
use asd::features::{FeatureKind, FeatureSpec, FrontendPreset};
use std::collections::BTreeMap;
use std::path::Path;

/// Shrinkage of the covariance toward its mean variance: 128 Mel bands, 100 training clips per ID.
const SHRINKAGE: f64 = 0.1;

/// Mean over frames of the `stgram-mfn` log-Mel (`[128, frames]` → `[128]`) of one file.
fn mean_log_mel(path: &Path, frontend: &dyn asd::features::Frontend) -> Vec<f64> {
    let wave = asd::audio::load_16k(path).expect("load");
    let logmel = frontend.extract(&wave.samples).expect("log-Mel");
    logmel
        .rows()
        .into_iter()
        .map(|row| row.iter().map(|&v| f64::from(v)).sum::<f64>() / row.len() as f64)
        .collect()
}

/// Solves `a x = b` for a symmetric positive-definite `a` by Cholesky factorisation.
fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            l[i][j] = if i == j { s.sqrt() } else { s / l[j][j] };
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

/// Mahalanobis scorer fitted on `train` (rows = clips) with a shrunk covariance.
fn mahalanobis(train: &[Vec<f64>]) -> impl Fn(&[f64]) -> f64 {
    let (n, d) = (train.len() as f64, train[0].len());
    let mean: Vec<f64> = (0..d).map(|k| train.iter().map(|x| x[k]).sum::<f64>() / n).collect();
    let mut cov = vec![vec![0.0; d]; d];
    for x in train {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += (x[i] - mean[i]) * (x[j] - mean[j]) / (n - 1.0);
            }
        }
    }
    let mean_var = (0..d).map(|i| cov[i][i]).sum::<f64>() / d as f64;
    for (i, row) in cov.iter_mut().enumerate() {
        row.iter_mut().for_each(|c| *c *= 1.0 - SHRINKAGE);
        row[i] += SHRINKAGE * mean_var;
    }
    move |x: &[f64]| {
        let diff: Vec<f64> = x.iter().zip(&mean).map(|(a, b)| a - b).collect();
        diff.iter().zip(cholesky_solve(&cov, &diff)).map(|(a, b)| a * b).sum()
    }
}

#[test]
#[ignore = "writes and scores the full default benchmark (4 800 ten-second clips); run with --release --ignored"]
fn default_benchmark_baseline_auc_is_between_0_6_and_0_9_per_type() {
    let config = SynthConfig::default();
    let dir = tempfile::tempdir().expect("tempdir");
    generate(&config, dir.path(), &mut |_, _| {}).expect("generate");
    let spec = FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn);
    let frontend = spec.build().expect("front end");
    let mut per_type: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for &machine in config.machine_types() {
        for group in 0..config.ids {
            let clips: Vec<_> = config
                .clips()
                .into_iter()
                .filter(|c| c.machine == machine && c.group == group)
                .collect();
            let features = |train: bool| -> Vec<(Vec<f64>, bool)> {
                clips
                    .iter()
                    .filter(|c| (c.split == Split::Train) == train)
                    .map(|c| {
                        (
                            mean_log_mel(&dir.path().join(c.relative_path()), frontend.as_ref()),
                            c.anomaly.is_some(),
                        )
                    })
                    .collect()
            };
            let train: Vec<Vec<f64>> = features(true).into_iter().map(|(f, _)| f).collect();
            let score = mahalanobis(&train);
            let test = features(false);
            let scores: Vec<f64> = test.iter().map(|(f, _)| score(f)).collect();
            let labels: Vec<bool> = test.iter().map(|(_, l)| *l).collect();
            let auc = asd::metrics::roc_auc(&scores, &labels).expect("AUC");
            per_type.entry(machine.name()).or_default().push(auc);
        }
    }
    let mut out_of_range = Vec::new();
    for (machine, aucs) in &per_type {
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        eprintln!("{machine:12} AUC {mean:.3} (per ID {aucs:.2?})");
        if !(0.6..=0.9).contains(&mean) {
            out_of_range.push(format!("{machine}: {mean:.3}"));
        }
    }
    assert!(
        out_of_range.is_empty(),
        "baseline AUC outside 0.6–0.9: {out_of_range:?}"
    );
}
