#!/usr/bin/env bash
# End-to-end benchmark: `asd run --system asdnet` on a fixed small synthetic set (the quick benchmark of
# `asd run`: 6 types x 2 IDs, 40 train + 20 + 20 test clips per ID, 4-s clips, seed 0) with the quick recipe
# (12 epochs, Adam 1e-3, cosine to 1e-5). Prints wall time and peak resident memory of the run (synthesis and the
# build excluded), and the results table. Usage: benches/e2e.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/asd-target}"
cargo build --release --locked -p asd-cli
bin="$CARGO_TARGET_DIR/release/asd"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
"$bin" synth --out "$work/data" --types 6 --ids 2 --train 40 --test 20 --seconds 4 --seed 0
cat > "$work/quick.toml" <<'TOML'
system = "asdnet"
clip_seconds = 4.0

[train]
epochs = 12

[train.optimizer]
kind = "adam"
lr = 0.001

[train.schedule]
kind = "cosine"
t_max = 12
TOML
rm -rf "$work/run"
/usr/bin/time -v "$bin" run --config "$work/quick.toml" --data "$work/data" --out "$work/run" \
  2> >(tee "$work/time.txt" >&2)
echo "== end to end (asd run, ASDNet quick recipe)"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$work/time.txt"
