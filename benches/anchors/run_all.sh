#!/usr/bin/env bash
# Re-measures the Python anchors of shared/anchors.md ("tuned" column): both scripts pinned to CPUs 0,1 with
# taskset (where it exists), 2 threads, and glibc malloc tuned so that large freed blocks are not handed back to
# the kernel on every call. Usage: benches/anchors/run_all.sh OUTDIR
# Writes OUTDIR/anchors_frontends.{json,tsv} and OUTDIR/anchors_models.{json,tsv} (stderr in *.log); a failing
# script is reported and the other still runs; the exit status is non-zero if either failed.
# Environment: PYTHON (default python3); ANCHOR_THREADS (default 2, the anchors' thread count);
# ANCHOR_ALSO_DEFAULT=1 also runs models.py with glibc's default malloc (the "default" column) into
# OUTDIR/anchors_models_default.{json,tsv}.
set -uo pipefail

outdir="${1:?usage: $0 OUTDIR}"
mkdir -p "$outdir"
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
export ANCHOR_THREADS="${ANCHOR_THREADS:-2}"
# The "tuned" column of shared/anchors.md: no mmap'd chunks, no trimming of the heap top.
tuned='glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184'

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0,1 true 2>/dev/null; then
    pin=(taskset -c 0,1)
else
    echo "# taskset unavailable or CPUs 0,1 not allowed: running unpinned" >&2
fi

status=0
# run NAME SCRIPT TUNABLES: runs SCRIPT, TSV to OUTDIR/NAME.tsv (and the terminal), JSON to OUTDIR/NAME.json.
run() {
    local name="$1" script="$2" tunables="$3"
    local tunable_env=(env -u GLIBC_TUNABLES)
    [[ -n "$tunables" ]] && tunable_env=(env "GLIBC_TUNABLES=$tunables")
    echo "== $name: $script (threads $ANCHOR_THREADS, GLIBC_TUNABLES=${tunables:-unset}, ${pin[*]:-unpinned})" >&2
    if "${tunable_env[@]}" ${pin[@]+"${pin[@]}"} "$python" "$here/$script" --json "$outdir/$name.json" \
        2> >(tee "$outdir/$name.log" >&2) | tee "$outdir/$name.tsv"; then
        :
    else
        echo "!! $name failed (see $outdir/$name.log); continuing" >&2
        status=1
    fi
}

run anchors_frontends frontends_scorers.py "$tuned"
run anchors_models models.py "$tuned"
if [[ "${ANCHOR_ALSO_DEFAULT:-0}" == 1 ]]; then
    run anchors_models_default models.py ""
fi
wait  # let the stderr tee processes finish writing their logs
exit "$status"
