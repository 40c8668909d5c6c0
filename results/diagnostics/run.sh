#!/usr/bin/env bash
# Produces everything in results/diagnostics/ (see README.md there):
#   loop-4-workers.txt   the lesson's loop on 4 workers: its lines, efficiency report, what-if table
#   loop-4-workers.svg   the same run's timeline (a lane per worker, a bar per task)
#   loop-4-workers.json  a second run's Chrome trace (open in https://ui.perfetto.dev)
#   lesson/lesson.md     the `lesson` table with, per program, a profiled run's report
#                        and the what-if prediction beside each measured row
#   lesson/timeline-*.svg  those profiled runs' timelines
#   profile-cost.txt     ns per task of profiling: a 1M-task chain with and without
#
# Usage: results/diagnostics/run.sh            (tasks of 1 s, as the lesson; ~3 min, mostly sleeping)
#        UNIT_MS=200 results/diagnostics/run.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
out=results/diagnostics
unit_ms=${UNIT_MS:-1000}
mkdir -p "$out/lesson"
cargo build --release -p delayed --example profile_cost
cargo build --release -p delayed-bench --examples
cargo build --release -p delayed-bench --bin lesson

header() {
    echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), nproc $(nproc), $(uname -sr)"
    echo "# commit: $(git describe --always --dirty --abbrev=10)"
    echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# command: $*"
    echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

run_logged() { # FILE COMMAND...: the header, then the command's output, into FILE
    local file=$1
    shift
    { header "$@"; "$@"; } >"$file"
    echo "wrote $file" >&2
}

run_logged "$out/loop-4-workers.txt" \
    target/release/examples/dask_loop --workers 4 --unit-ms "$unit_ms" --report \
    --trace "$out/loop-4-workers.svg"
target/release/examples/dask_loop --workers 4 --unit-ms "$unit_ms" --no-progress \
    --trace "$out/loop-4-workers.json" >/dev/null
echo "wrote $out/loop-4-workers.json" >&2
target/release/lesson --unit-ms "$unit_ms" --report \
    --trace "$out/lesson/timeline.svg" --out "$out/lesson"
run_logged "$out/profile-cost.txt" target/release/examples/profile_cost 1000000 11
