#!/usr/bin/env bash
# CUDA checks. The lints, here and in CI (.ci/run), without a GPU:
#
#   benches/cuda.sh check            clippy -D warnings over the workspace, all targets, with `--features cuda`;
#
# and two halves for a GPU machine that has no Rust toolchain and no network (as ours):
#
#   benches/cuda.sh build [BUNDLE]   here: builds `asd`, the device-independent tests and the models bench with
#                                    `--features cuda` (release), strips them and packs them with the golden
#                                    fixtures they read into BUNDLE (default .cuda-bundle, ignored by git);
#   benches/cuda.sh run [BUNDLE] [LOGS]   on the GPU machine: the tests on `cuda`, `asd run --device cuda` on
#                                    the quick benchmark of benches/e2e.sh, and the models bench on `cuda`, each
#                                    part whose archive is in BUNDLE, each within ASD_CUDA_TIMEOUT seconds (300);
#                                    cubecl's tuning and compilation caches are kept in ASD_CUDA_CACHE (a carried
#                                    folder from an earlier run saves the minutes of the first) and copied to LOGS.
#
# Offline builds (no access to github.com, where cubecl-llvm's build downloads its LLVM bundle) set
# ASD_CUDA_OFFLINE=1: `check` and `build` then patch in tools/cubecl-llvm-offline and restore Cargo.lock afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
bundle="${2:-.cuda-bundle}"

# The fixtures that asd-train's device_suite (the tests that hold on any device, in one binary) reads.
fixtures=(asdnet/asdnet asdnet/specmfn asdnet/inputs.safetensors neri/losses.safetensors neri/losses.json
  stgram_mfn/heads stgram_mfn/logmel_mfn stgram_mfn/model_head stgram_mfn/model_paper
  stgram_mfn/model_inputs.safetensors)

executables() { # the executables named in cargo's JSON messages on stdin
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["executable"])'
}

cfg=()
compile_setup() { # the environment of the modes that compile: a target directory, cudarc, the offline stand-in
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/asd-target}"
  # cudarc reads the CUDA version from the toolkit, which a build machine without CUDA lacks.
  export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
  if [ "${ASD_CUDA_OFFLINE:-0}" = 1 ]; then
    cfg=(--config 'patch.crates-io.cubecl-llvm.path="tools/cubecl-llvm-offline"')
    lock="$(mktemp)"
    cp Cargo.lock "$lock"
    trap 'mv "$lock" Cargo.lock' EXIT
  fi
}

case "$mode" in
check)
  compile_setup
  cargo clippy --workspace --all-targets "${cfg[@]}" --features asd-cli/cuda,asd-benches/cuda -- -D warnings
  ;;
build)
  compile_setup
  rm -rf "$bundle" && mkdir -p "$bundle/bin" "$bundle/shared/golden"
  {
    cargo build --release "${cfg[@]}" -p asd-cli --features asd-cli/cuda --message-format=json
    # one invocation for the tests and the bench (built as a test target in the release profile, which the
    # bench profile inherits), so that Burn and cubecl are compiled once with one feature set
    cargo test --release --no-run "${cfg[@]}" -p asd-models -p asd-losses -p asd-train -p asd-benches \
      --features asd-models/cuda,asd-train/cuda,asd-benches/cuda --test device_suite --bench models \
      --message-format=json
  } | executables | while read -r name path; do
    strip -o "$bundle/bin/$name" "$path"
  done
  for f in "${fixtures[@]}"; do
    mkdir -p "$bundle/shared/golden/$(dirname "$f")"
    cp -r "${ASD_SHARED:-../shared}/golden/$f" "$bundle/shared/golden/$f"
  done
  # three archives, so that a call can carry a part where all three exceed what may travel at once
  tar -C "$bundle" -cf - bin/device_suite shared | xz -T0 -6 >"$bundle/suite.tar.xz"
  tar -C "$bundle" -cf - bin/asd | xz -T0 -6 >"$bundle/asd.tar.xz"
  tar -C "$bundle" -cf - bin/models | xz -T0 -6 >"$bundle/bench.tar.xz"
  rm -rf "$bundle/bin" "$bundle/shared"
  ls -l "$bundle"
  ;;
run)
  logs="${3:-${OUT:-.}}"
  mkdir -p "$logs" && logs="$(cd "$logs" && pwd)"
  work="$(mktemp -d)"
  for archive in "$bundle"/*.tar.xz; do
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$work"
  done
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/gpu.txt"
  export ASD_SHARED="$work/shared" ASD_TEST_DEVICE=cuda ASD_BENCH_DEVICE=cuda
  # cubecl reads cubecl.toml from the working directory up: keep its autotune results and its compiled kernels
  # (a cache it leaves off by default) in ASD_CUDA_CACHE, a folder a later run can start from; a copy lands in LOGS/cubecl.
  cache="${ASD_CUDA_CACHE:-$work/cubecl}"
  mkdir -p "$cache" && cache="$(cd "$cache" && pwd)"
  printf '[compilation]\ncache = true\n\n[environment.path]\ndirectory = "%s"\n' "$cache" >"$work/cubecl.toml"
  cd "$work"
  status=0
  if [ -x "$work/bin/device_suite" ]; then
    echo "== tests on cuda"
    start=$(date +%s)
    timeout "${ASD_CUDA_TIMEOUT:-300}" "$work/bin/device_suite" --test-threads 1 --nocapture >"$logs/tests.txt" 2>&1 || status=1
    echo "($(($(date +%s) - start)) s)"
    grep -E "^test |^test result|panicked" "$logs/tests.txt" || true
  fi
  if [ -x "$work/bin/asd" ]; then
    echo "== asd run --device cuda (benches/e2e.sh's quick benchmark)"
    "$work/bin/asd" synth --out "$work/data" --types 6 --ids 2 --train 40 --test 20 --seconds 4 --seed 0 >/dev/null
    printf 'system = "asdnet"\nclip_seconds = 4.0\n[train]\nepochs = 12\n[train.optimizer]\nkind = "adam"\nlr = 0.001\n[train.schedule]\nkind = "cosine"\nt_max = 12\n' >"$work/quick.toml"
    start=$(date +%s)
    timeout "${ASD_CUDA_TIMEOUT:-300}" "$work/bin/asd" run --config "$work/quick.toml" --data "$work/data" --out "$work/run" --device cuda \
      >"$logs/e2e.txt" 2>&1 || status=1
    echo "asd run --device cuda: $(($(date +%s) - start)) s wall" | tee -a "$logs/e2e.txt"
    tail -25 "$logs/e2e.txt"
  fi
  if [ -x "$work/bin/models" ]; then
    echo "== models bench on cuda"
    timeout "${ASD_CUDA_TIMEOUT:-300}" "$work/bin/models" --bench --warm-up-time 2 --measurement-time 5 --sample-size 10 >"$logs/bench.txt" 2>&1 ||
      status=1
    grep -E "^models|time:" "$logs/bench.txt" || tail -20 "$logs/bench.txt"
  fi
  mkdir -p "$logs/cubecl" && cp -r "$cache"/. "$logs/cubecl/"
  exit "$status"
  ;;
*)
  sed -n '2,18p' "$0" >&2
  exit 2
  ;;
esac
