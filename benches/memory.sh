#!/usr/bin/env bash
# Memory benchmark: peak resident memory and wall time of one training epoch of every preset at its paper batch
# size, on one fixed synthetic set (DCASE 2020 layout, 6 types x 2 IDs x 60 ten-second training clips = 720
# clips, seed 0), with the allocator settings of the `asd` binary (mimalloc, freed memory kept: src/main.rs of
# asd-cli). Each preset runs `asd train --epochs 1` in a fresh run folder: its features are extracted, one epoch
# trained, the scorers fitted. Prints a Markdown table: the epoch's seconds (from the run's train_log.csv), the
# whole command's wall time and its peak resident set size (GNU time's maximum RSS in KB; GB = KB / 1e6).
#
# Usage: benches/memory.sh [WORK_DIR] [SYSTEM ...]   (default: every trained system)
# Needs GNU time (/usr/bin/time) and about 11 GB free: the attention net and TFSTgram presets peak near 11 GB,
# the MobileFaceNet ones near 7 GB. Run nothing else heavy beside it; docs/performance.md ("Memory") has the
# figures and the reference code's beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/asd-target}"
cargo build --release --locked -p asd-cli
bin="$CARGO_TARGET_DIR/release/asd"
work="${1:-$(mktemp -d)}"
shift || true
systems=("$@")
if [ ${#systems[@]} -eq 0 ]; then
  systems=(asdnet specmfn logmel-mfn stgram-mfn neri-attention os-scl-logmel os-scl-tfstgram dcase-ae firstshot2025)
fi
mkdir -p "$work"
if [ ! -f "$work/data/synth.toml" ]; then
  "$bin" synth --out "$work/data" --layout dcase2020 --types 6 --ids 2 --train 60 --test 2 --seconds 10 --seed 0
fi
rows=()
for system in "${systems[@]}"; do
  run="$work/runs/$system"
  rm -rf "$run"
  /usr/bin/time -f "%e %M" -o "$work/$system.time" "$bin" train --system "$system" --data "$work/data" \
    --out "$run" --epochs 1 > "$work/$system.log" 2>&1
  read -r wall rss < "$work/$system.time"
  batch=$(sed -n 's/^batch_size *= *\([0-9]*\).*/\1/p' "$run/config.toml" | head -1)
  epoch=$(awk -F, 'NR == 2 { print $5 }' "$run/train_log.csv")
  rows+=("| $system | $batch | $epoch | $wall | $(awk -v k="$rss" 'BEGIN { printf "%.2f", k / 1e6 }') |")
  echo "$system: batch $batch, epoch ${epoch} s, wall ${wall} s, peak ${rss} KB" >&2
done
echo "| preset | batch | epoch (s) | asd train (s) | peak RSS (GB) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
