#!/bin/sh
# Runs every fuzz target for SECONDS (default 600) one after the other, single process each, with libFuzzer's
# memory limits (2 GB resident, 2 GB per allocation) and a 10-s timeout per input; logs to $LOGS (default /tmp).
# The binaries are run directly, so editing the workspace meanwhile does not rebuild them mid-run.
# Build first: cargo +nightly fuzz build -s none -O. Seed first: python3 fuzz/seed.py <shared>.
set -u
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-600}
LOGS=${LOGS:-/tmp}
BIN=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
for target in decode npy torch_checkpoint score_csv config scorer_file; do
  mkdir -p "corpus/$target" "artifacts/$target"
  "$BIN/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 > "$LOGS/fuzz-$target.log" 2>&1
  echo "$target: exit $?" >> "$LOGS/fuzz-summary.log"
done
