//! Criterion (issue 17): the same seed gives bit-identical results on 1, 2 or 16 threads: features, every
//! training loss, the trained network's embeddings and the scores. Each run happens inside a rayon pool of that
//! size (rayon, Burn's Flex backend and gemm all split their work over the current pool), so any reduction whose
//! grouping follows the thread count shows up as a difference.

use asd::audio::synth::{SynthConfig, generate};
use asd::{RunConfig, RunOptions, System};
use std::path::Path;

/// What a run leaves that must not depend on the thread count. The trained weights are compared through the
/// embeddings they give every training and test example (the weight file's bytes also hold Burn's parameter ids,
/// which are random on every run).
#[derive(Debug, PartialEq)]
struct Outcome {
    losses: Vec<u64>,
    train: Vec<u8>,
    test: Vec<u8>,
    scores: Vec<(String, String)>,
}

fn run_on(threads: usize, config: &RunConfig, data: &Path, out: &Path) -> Outcome {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let result = pool
        .install(|| asd::run(config, data, out, &RunOptions::default(), &()))
        .unwrap_or_else(|e| panic!("{} on {threads} threads: {e}", config.system));
    let read = |f: &str| std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let mut scores: Vec<(String, String)> = std::fs::read_dir(out.join("scores"))
        .expect("scores")
        .flat_map(|scorer| std::fs::read_dir(scorer.expect("entry").path()).expect("scorer folder"))
        .map(|f| {
            let path = f.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("score CSV");
            (path.strip_prefix(out).expect("inside").display().to_string(), text)
        })
        .collect();
    scores.sort();
    Outcome {
        losses: result.history.iter().map(|log| log.loss.to_bits()).collect(),
        train: read("embeddings/train.npy"),
        test: read("embeddings/test.npy"),
        scores,
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let synth = SynthConfig {
        types: 2,
        ids: 2,
        train: 10,
        test: 3,
        seconds: 4.0,
        ..SynthConfig::default()
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");
    // A segment model (dense layers on spectra) and a MobileFaceNet with a learnable front end (depthwise and
    // dense convolutions, BatchNorm, PReLU, the Flex kernels' batch sums); batches of 12 leave a short last batch.
    for system in [System::ASDNET, System::STGRAM_MFN] {
        let mut config = RunConfig::preset(system).quick().expect("quick recipe").with_epochs(2);
        config.train.batch_size = 12;
        let outcomes: Vec<Outcome> = [1, 2, 16]
            .into_iter()
            .map(|threads| run_on(threads, &config, &data, &tmp.path().join(format!("{system}-{threads}"))))
            .collect();
        assert_eq!(outcomes[0].losses.len(), 2);
        assert!(!outcomes[0].scores.is_empty());
        for (threads, outcome) in [2, 16].into_iter().zip(&outcomes[1..]) {
            assert_eq!(
                outcome.losses, outcomes[0].losses,
                "{system}: losses on {threads} threads"
            );
            assert!(
                outcome.train == outcomes[0].train,
                "{system}: training embeddings on {threads} threads"
            );
            assert!(
                outcome.test == outcomes[0].test,
                "{system}: test embeddings on {threads} threads"
            );
            assert_eq!(
                outcome.scores, outcomes[0].scores,
                "{system}: scores on {threads} threads"
            );
        }
    }
}
