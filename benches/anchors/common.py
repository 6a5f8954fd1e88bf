"""Shared machinery of the Python anchor scripts (frontends_scorers.py, models.py).

Both scripts are run as `python3 benches/anchors/<script>.py`, so this folder is on sys.path and they import this
module as `common`. They must import it before numpy or torch: importing it sets the thread-count variables that
those libraries' BLAS and OpenMP runtimes read once, when they load. This module itself imports only the standard
library; torch is imported lazily, by the one helper that needs it.

Contents:
    THREADS            the thread count of the comparison (ANCHOR_THREADS, default 2)
    measure()          warm-up calls, then timed calls; samples in ms
    Runner             runs the selected workloads, prints `name<TAB>median_ms<TAB>min_ms<TAB>max_ms`, keeps samples
    inference()        wraps a call in torch.inference_mode
    optional_import()  imports a module or says why it cannot
    arg_parser()       the options both scripts take (--json, --repeats, --warmup, --filter)
    versions(), host_record(), cpu_model(), thread_env()   pieces of the JSON environment record
    write_json()       the JSON file: script, reference, timing, environment, then the script's own sections
"""

import os
import sys

# Thread limits must be in the environment before numpy / torch load their BLAS and OpenMP runtimes.
# ANCHOR_THREADS: the thread count of the comparison (shared/anchors.md: 2 threads on a 2-core machine).
THREADS = int(os.environ.get("ANCHOR_THREADS", "2"))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

# Variables recorded in the JSON environment: the thread settings and the malloc tuning of run_all.sh.
RECORDED_ENV = ("ANCHOR_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GLIBC_TUNABLES")


# --- Timing -----------------------------------------------------------------------------------------------------
def measure(fn, warmup, repeats):
    """Calls fn `warmup` times untimed, then `repeats` times timed; returns the samples in ms."""
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


class Runner:
    """Runs the selected workloads, prints a TSV line each and keeps the samples for the JSON file.

    `results` maps a workload name to its record (median_ms, min_ms, max_ms, samples_ms, any extra fields, note);
    `skipped` maps a group of workloads that could not run to the reason.
    """

    def __init__(self, args):
        """`args`: the parsed options of arg_parser() (warmup, repeats, filter are read)."""
        self.args = args
        self.results = {}
        self.skipped = {}

    def wanted(self, name):
        """True when no --filter was given or `name` contains it."""
        return self.args.filter is None or self.args.filter in name

    def run(self, name, fn, note="", **fields):
        """Times fn (when wanted), prints `name<TAB>median<TAB>min<TAB>max` in ms to stdout and records the samples.

        `fields` (e.g. params=…) go into the record after samples_ms and before note, in the order given.
        """
        if not self.wanted(name):
            return
        samples = measure(fn, self.args.warmup, self.args.repeats)
        med, lo, hi = statistics.median(samples), min(samples), max(samples)
        self.results[name] = {"median_ms": med, "min_ms": lo, "max_ms": hi, "samples_ms": samples, **fields,
                              "note": note}
        print(f"{name}\t{med:.3f}\t{lo:.3f}\t{hi:.3f}", flush=True)

    def skip(self, group, why):
        """Records that the workloads of `group` were not run, and says why on stderr."""
        self.skipped[group] = why
        print(f"# skipped {group}: {why}", file=sys.stderr, flush=True)


# --- The STgram-MFN front end, shared by both scripts ------------------------------------------------------------
SAMPLE_RATE = 16_000  # DCASE audio, 16 kHz mono (stgram_mfn.md §1.1)
N_FFT = 1024  # STFT size (stgram_mfn.md §1.1)
WIN_LENGTH = 1024  # window length = n_fft (stgram_mfn.md §1.1)
HOP_LENGTH = 512  # hop (stgram_mfn.md §1.1)
N_MELS = 128  # mel bands (stgram_mfn.md §1.1)
MEL_POWER = 2.0  # power spectrogram (stgram_mfn.md §1.1)


def stgram_logmel_transforms(norm=None, n_fft=N_FFT, win_length=WIN_LENGTH, pad_mode="reflect", mel_scale="htk"):
    """torchaudio's (MelSpectrogram, AmplitudeToDB) of STgram-MFN, every argument spelled out (stgram_mfn.md §1.1:
    f_max None = sr/2 = 8000 Hz, HTK scale, no filter norm, centred reflect padding; dB = 10·log10(max(P, 1e-10))).
    `norm="slaney"` gives the attention net's filters instead (neri_attention.md §3.1); OS-SCL's front end also
    changes `n_fft`, `win_length`, `pad_mode` and `mel_scale` (os_scl.md §2.2). Imports torch and torchaudio
    when called."""
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=HOP_LENGTH,
        f_min=0.0,
        f_max=None,
        pad=0,
        n_mels=N_MELS,
        window_fn=torch.hann_window,
        power=MEL_POWER,
        normalized=False,
        center=True,
        pad_mode=pad_mode,
        norm=norm,
        mel_scale=mel_scale,
    )
    return mel, torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)


def inference(fn):
    """fn under torch.inference_mode (no autograd bookkeeping), as an eval forward; imports torch when called."""
    import torch

    def inner():
        with torch.inference_mode():
            return fn()

    return inner


def optional_import(module):
    """Imports `module`, or returns (None, reason) when it is not installed or fails to load."""
    try:
        return __import__(module, fromlist=["_"]), None
    except Exception as err:  # ImportError, or a broken binary extension
        return None, f"{type(err).__name__}: {err}"


# --- Command line -----------------------------------------------------------------------------------------------
def arg_parser(doc):
    """The parser of both scripts, described by the script's docstring `doc`: --json, --repeats, --warmup, --filter.

    A script adds its own options to the returned parser before calling parse_args().
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write samples and environment to this file")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per workload (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (default 2)")
    parser.add_argument("--filter", help="run only workloads whose name contains this")
    return parser


# --- Environment record ---------------------------------------------------------------------------------------
def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def versions(modules):
    """{"python": version, module: __version__ ("?" if it has none)} for each of `modules` already imported."""
    found = {"python": platform.python_version()}
    for module in modules:
        mod = sys.modules.get(module)
        if mod is not None:
            found[module] = getattr(mod, "__version__", "?")
    return found


def thread_env():
    """The values (None where unset) of the environment variables in RECORDED_ENV."""
    return {k: os.environ.get(k) for k in RECORDED_ENV}


def host_record():
    """The machine part of the environment record: env, cpu, cpu_count, affinity, platform, hostname, utc."""
    return {
        "env": thread_env(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_json(path, script, reference, args, environment, **sections):
    """Writes the JSON file of a run: script, reference, timing (from args), environment, then `sections`
    (e.g. results=…, skipped=…) in the order given, indented by 2."""
    doc = {
        "script": script,
        "reference": reference,
        "timing": {"warmup": args.warmup, "repeats": args.repeats, "unit": "ms", "clock": "time.perf_counter"},
        "environment": environment,
        **sections,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
