#!/usr/bin/env python3
"""Python anchors, "Front ends and scorers" table of shared/anchors.md.

Re-measures the reference stack (torchaudio, librosa, numpy, scikit-learn) on the workloads of our Rust
criterion benches (benches/features.rs, benches/scorers.rs, benches/metrics.rs), so that the two can be
compared as same-machine, same-thread-count ratios.

Usage:
    ANCHOR_THREADS=2 python3 benches/anchors/frontends_scorers.py [--json PATH] [--repeats 7] [--warmup 2]
                                                                   [--filter SUBSTRING]

Prints one line per workload, `name<TAB>median_ms<TAB>min_ms<TAB>max_ms`, and writes every sample plus the
environment to the JSON file given by --json. A library that cannot be imported (torch/torchaudio, librosa,
scikit-learn) skips its rows with a message on stderr; numpy is required.
"""

import sys
import warnings

# common before numpy / torch: importing it sets the thread-count variables (ANCHOR_THREADS → OMP_NUM_THREADS, …)
# that their BLAS and OpenMP runtimes read once, when they load.
import common
from common import HOP_LENGTH, MEL_POWER, N_FFT, N_MELS, SAMPLE_RATE, THREADS, WIN_LENGTH, Runner, arg_parser, inference, optional_import

import numpy as np  # after common, see above

# --- Workload constants ---------------------------------------------------------------------------------------
CLIP_SAMPLES = 160_000  # one 10-s clip (benches/features.rs CLIP_SAMPLES)
BATCH_CLIPS = 64  # clips in the batched front-end call (benches/features.rs BATCH)
SEGMENT_SAMPLES = 32_000  # one 2-s segment, ASDNet input (asdnet_specmfn.md §1; benches/features.rs)
N_SEGMENTS = 64  # segments in the |rfft| workload (benches/features.rs BATCH)

DIM = 128  # embedding dimension of the scorer data (benches/scorers.rs DIM)
N_TRAIN = 6000  # training embeddings (benches/scorers.rs N_TRAIN)
N_TEST = 2000  # test embeddings (benches/scorers.rs N_TEST)
N_BLOBS = 4  # Gaussian blobs, row i belongs to blob i % 4 (benches/scorers.rs N_BLOBS, blobs())
CENTRE_BOX = 10.0  # blob centres uniform in (-10, 10), unit std: make_blobs defaults (benches/scorers.rs)
FIT_SEED = 1  # fresh fixed seed for every fit, as the Rust bench's ChaCha8Rng::seed_from_u64(1)

KMEANS_K = 4  # KMeansParams::new(4) (benches/scorers.rs; asdnet_specmfn.md §7.3)
KMEANS_N_INIT = 1  # .with_n_init(1) (benches/scorers.rs)
KMEANS_MAX_ITER = 3  # .with_max_iter(3) (benches/scorers.rs; shared/anchors.md "3 iterations")
KMEANS_TOL = 1e-4  # relative tolerance, sklearn default = asd-scorers KMEANS_TOL (asdnet_specmfn.md §7.3)
COS_FLOOR = 1e-12  # |cos| guard of the cosine scores (asdnet_specmfn.md §7.2)
GMM_K = 2  # GmmParams::new(2) (benches/scorers.rs)
GMM_MAX_ITER = 2  # .with_max_iter(2) (benches/scorers.rs; shared/anchors.md "2 EM iterations")
GMM_REG_COVAR = 1e-6  # sklearn default = asd-scorers GMM_REG_COVAR (asdnet_specmfn.md §7.4)
GMM_TOL = 1e-3  # sklearn default = asd-scorers GMM_TOL (asdnet_specmfn.md §7.4)
LOF_NEIGHBORS = 20  # LofParams::new(20) (benches/scorers.rs; asdnet_specmfn.md §7.5)
KNN_NEIGHBORS = 1  # KnnParams::new(1) (benches/scorers.rs)

N_SCORES = 100_000  # ROC workload size (benches/metrics.rs N_SCORES)
SCORE_SHIFT = 0.5  # anomalous scores are N(0, 1) + 0.5 (benches/metrics.rs SHIFT)
MAX_FPR = 0.1  # pAUC range (asd-metrics DEFAULT_MAX_FPR; dcase_protocols.md)

DATA_SEED = 0  # seed of every generated input (the Rust benches use seed 0; values only need the same law)


# --- Front ends ---------------------------------------------------------------------------------------------
def frontends(runner):
    rng = np.random.default_rng(DATA_SEED)
    # Uniform noise in [-0.5, 0.5), as benches/features.rs `noise`.
    clips = rng.random((BATCH_CLIPS, CLIP_SAMPLES), dtype=np.float32) - np.float32(0.5)
    segments = rng.random((N_SEGMENTS, SEGMENT_SAMPLES), dtype=np.float32) - np.float32(0.5)

    torch, why = optional_import("torch")
    torchaudio, why_ta = optional_import("torchaudio") if torch is not None else (None, why)
    if torch is None or torchaudio is None:
        runner.skip("torchaudio", why or why_ta)
    else:
        torch.set_num_threads(THREADS)
        mel, to_db = common.stgram_logmel_transforms()
        one = torch.from_numpy(clips[0].copy())
        batch = torch.from_numpy(clips)
        assert tuple(mel(one).shape) == (N_MELS, 313), "10-s clip must give 128 × 313 (stgram_mfn.md §1.2)"

        runner.run("torchaudio_melspec_1clip", inference(lambda: mel(one)), "MelSpectrogram only, [160000]")
        runner.run("torchaudio_melspec_64clips", inference(lambda: mel(batch)), "MelSpectrogram only, [64, 160000]")
        runner.run(
            "torchaudio_logmel_1clip", inference(lambda: to_db(mel(one))), "+ AmplitudeToDB: Rust stgram_logmel_1_clip"
        )
        runner.run(
            "torchaudio_logmel_64clips",
            inference(lambda: to_db(mel(batch))),
            "+ AmplitudeToDB: Rust stgram_logmel_64_clips",
        )

    librosa, why = optional_import("librosa")
    if librosa is None:
        runner.skip("librosa", why)
    else:
        one_np = clips[0].copy()

        def librosa_mel():
            # The librosa call equivalent to the torchaudio one (stgram_mfn.md §1.2): HTK scale, no area norm,
            # reflect padding; librosa's own defaults differ.
            return librosa.feature.melspectrogram(
                y=one_np,
                sr=SAMPLE_RATE,
                n_fft=N_FFT,
                hop_length=HOP_LENGTH,
                win_length=WIN_LENGTH,
                window="hann",
                center=True,
                pad_mode="reflect",
                power=MEL_POWER,
                n_mels=N_MELS,
                fmin=0.0,
                fmax=SAMPLE_RATE / 2,
                htk=True,
                norm=None,
            )

        assert librosa_mel().shape == (N_MELS, 313)
        runner.run("librosa_melspec_1clip", librosa_mel, "melspectrogram only, [160000]")
        runner.run(
            "librosa_logmel_1clip",
            lambda: np.float32(10.0) * np.log10(np.maximum(librosa_mel(), np.float32(1e-10))),
            "+ 10·log10(max(S, 1e-10))",
        )

    def abs_rfft():
        # One-sided magnitude spectrum of each 2-s segment, no window, no scaling (asdnet_specmfn.md §1).
        return np.abs(np.fft.rfft(segments, axis=-1)).astype(np.float32, copy=False)

    out = abs_rfft()
    assert out.shape == (N_SEGMENTS, SEGMENT_SAMPLES // 2 + 1)
    runner.run("numpy_abs_rfft_64x2s", abs_rfft, f"(64, 32000) float32 -> (64, 16001), numpy computes in {out.dtype}")


# --- Scorers and metrics --------------------------------------------------------------------------------------
def blobs(n, centres, rng):
    """`n` rows, blob i % 4 each: centre + N(0, 1) per coordinate (benches/scorers.rs `blobs`)."""
    return centres[np.arange(n) % N_BLOBS] + rng.standard_normal((n, DIM))


def unit_rows(a):
    """Rows divided by max(‖row‖, 1e-12), as F.normalize / the Rust cosine scorer."""
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), COS_FLOOR)


def kmeans_cosine_score(test, centres):
    """Seed 000's K-Means score −ln max_j |cos(z, μ_j)| (asdnet_specmfn.md §7.3), higher = more anomalous."""
    cos = unit_rows(test) @ unit_rows(centres).T
    return -np.log(np.maximum(np.abs(cos).max(axis=1), COS_FLOOR))


def scorers(runner):
    sklearn, why = optional_import("sklearn")
    if sklearn is None:
        runner.skip("scikit-learn", why)
        return
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    # GaussianMixture(max_iter=2) always warns that it did not converge: the cap is the workload.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    rng = np.random.default_rng(DATA_SEED)
    centres = rng.uniform(-CENTRE_BOX, CENTRE_BOX, (N_BLOBS, DIM))
    train = blobs(N_TRAIN, centres, rng)  # float64, as the Rust scorers (f64 only)
    test = blobs(N_TEST, centres, rng)

    def kmeans():
        km = KMeans(
            n_clusters=KMEANS_K,
            init="k-means++",
            n_init=KMEANS_N_INIT,
            max_iter=KMEANS_MAX_ITER,
            tol=KMEANS_TOL,
            random_state=FIT_SEED,
        ).fit(train)
        return kmeans_cosine_score(test, km.cluster_centers_)

    def gmm():
        gm = GaussianMixture(
            n_components=GMM_K,
            covariance_type="full",
            reg_covar=GMM_REG_COVAR,
            tol=GMM_TOL,
            max_iter=GMM_MAX_ITER,
            n_init=1,
            init_params="kmeans",
            random_state=FIT_SEED,
        ).fit(train)
        return -gm.score_samples(test)  # −ln p(z) (asdnet_specmfn.md §7.4)

    def lof():
        model = LocalOutlierFactor(n_neighbors=LOF_NEIGHBORS, novelty=True, metric="euclidean").fit(train)
        return -model.score_samples(test)  # LOF(z) (asdnet_specmfn.md §7.5)

    def knn(metric):
        def inner():
            return NearestNeighbors(n_neighbors=KNN_NEIGHBORS, metric=metric).fit(train).kneighbors(test)

        return inner

    runner.run("sklearn_kmeans4_kmeanspp_3iter_fit_cosscore", kmeans, "Rust kmeans4_kmeanspp_3iter_fit_score")
    runner.run("sklearn_gmm2_full_2iter_fit_score", gmm, "Rust gmm2_full_2iter_fit_score")
    runner.run("sklearn_lof20_euclidean_fit_score", lof, "novelty=True; Rust lof20_euclidean_fit_score")
    runner.run("sklearn_knn1_euclidean_fit_query", knn("euclidean"), "Rust knn1_euclidean_fit_query")
    runner.run("sklearn_knn1_cosine_fit_query", knn("cosine"), "Rust knn1_cosine_fit_query")

    rng = np.random.default_rng(DATA_SEED)
    labels = rng.random(N_SCORES) < 0.5  # fair coin flips (benches/metrics.rs)
    scores = rng.standard_normal(N_SCORES) + SCORE_SHIFT * labels
    y = labels.astype(np.int64)
    runner.run("sklearn_roc_auc_100k", lambda: roc_auc_score(y, scores), "Rust auc_100k")
    runner.run(
        "sklearn_roc_auc_maxfpr0.1_100k", lambda: roc_auc_score(y, scores, max_fpr=MAX_FPR), "McClish pAUC alone"
    )
    runner.run(
        "sklearn_auc_and_pauc_100k",
        lambda: (roc_auc_score(y, scores), roc_auc_score(y, scores, max_fpr=MAX_FPR)),
        "both calls: Rust auc_and_mcclish_pauc_100k",
    )


# --- Environment record ---------------------------------------------------------------------------------------
def environment():
    """The JSON environment: threads, library versions, the machine, and the thread pools in use."""
    info = {
        "threads": THREADS,
        "versions": common.versions(("numpy", "torch", "torchaudio", "librosa", "sklearn", "scipy")),
        **common.host_record(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    threadpoolctl = sys.modules.get("threadpoolctl")  # loaded by scikit-learn: shows the pools really in use
    if threadpoolctl is not None:
        info["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
            for pool in threadpoolctl.threadpool_info()
        ]
    return info


def main():
    args = arg_parser(__doc__).parse_args()

    runner = Runner(args)
    frontends(runner)
    scorers(runner)

    if args.json:
        common.write_json(
            args.json,
            "frontends_scorers.py",
            "shared/anchors.md, Front ends and scorers",
            args,
            environment(),
            results=runner.results,
            skipped=runner.skipped,
        )
    return 0 if runner.results else 1


if __name__ == "__main__":
    sys.exit(main())
