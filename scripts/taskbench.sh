#!/usr/bin/env bash
# Task Bench's METG(50%) on this machine: delayed (one node), delayed::mpi
# on 1, 2 and 4 ranks, the hand-written MPI floor on 2 and 4 ranks, and Dask
# distributed (stencil_1d and no-op throughput), then the table and plot.
# See bench-suite/src/taskbench/ and results/taskbench/README.md.
#
#   scripts/taskbench.sh                 # everything, about 10-15 min on 2 cores
#   STEPS=200 RUNS=1 DASK_RUNS=1 scripts/taskbench.sh   # a quick look
#   SKIP_DASK=1 scripts/taskbench.sh      # no venv, no PyPI
#
# Environment: OUT (results/taskbench), STEPS (1000), RUNS (5), MAX_LOG2
# (17), MIN_LOG2 (4), DASK_STEPS (20), DASK_RUNS (3), DASK_BUDGET_S (90),
# VENV (target/taskbench-venv), SKIP_DASK. DELAYED_MPI_REUSE_PLANS=0
# plans every graph of delayed::mpi afresh (by default a sweep's graphs,
# which have one shape, compute on the plan its warm-up's compute kept).
#
# 4 ranks on a 2-CPU machine are oversubscribed (--oversubscribe, and
# OMPI_MCA_mpi_yield_when_idle=1 so that a waiting rank yields its CPU);
# the tables say so. Up to 2 ranks run with Open MPI's default, which
# yields only when oversubscribed (mpirun decides), as a job on its own
# cores would: a yield in every empty MPI call costs a rank that polls a
# system call each time (hand-written MPI and delayed::mpi alike). mpirun
# does not bind ranks (--bind-to none) and executors do not pin their
# workers; delayed::mpi gives each rank its share of the CPUs (one here),
# which the floor shares, since it runs in the same job (below).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-results/taskbench}
STEPS=${STEPS:-1000}
RUNS=${RUNS:-5}
DASK_RUNS=${DASK_RUNS:-3}
MAX_LOG2=${MAX_LOG2:-17}
MIN_LOG2=${MIN_LOG2:-4}
DASK_STEPS=${DASK_STEPS:-20}
DASK_BUDGET_S=${DASK_BUDGET_S:-90}
VENV=${VENV:-target/taskbench-venv}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Oversubscribed runs only (above); a value set by the caller stays.
YIELD_OVERSUB=(env "OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}")

cargo build --release -p delayed-bench --features mpi --bin taskbench
BIN=${CARGO_TARGET_DIR:-target}/release/taskbench

mkdir -p "$OUT"
RAW=$OUT/raw.csv
LOG=$OUT/run.log
rm -f "$RAW" "$OUT/raw-dask.csv" "$OUT/dask-noop.csv"
say() { echo "$*" | tee -a "$LOG"; }
: >"$LOG"
say "# taskbench run"
say "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "- commit: $(git describe --always --dirty --abbrev=10)"
say "- machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
say "- mpirun: $(mpirun --version 2>/dev/null | head -1)"
say "- steps $STEPS, runs $RUNS, kernels 2^$MAX_LOG2 down to 2^$MIN_LOG2 iterations"
say "- DELAYED_MPI_KEEP_HEAP: ${DELAYED_MPI_KEEP_HEAP:-unset (Cluster::init keeps freed heap memory)}"
say "- DELAYED_MPI_REUSE_PLANS: ${DELAYED_MPI_REUSE_PLANS:-unset (the graphs of a sweep, all of one shape, compute on the plan kept from its warm-up)}"
say "- OMPI_MCA_mpi_yield_when_idle: ${OMPI_MCA_mpi_yield_when_idle:-the Open MPI default} up to 2 ranks, ${YIELD_OVERSUB[1]#*=} on 4 (oversubscribed)"
NS=$("$BIN" calibrate)
say "- kernel: $NS ns per iteration (taskbench calibrate)"

COMMON=(--steps "$STEPS" --runs "$RUNS" --max-log2 "$MAX_LOG2" --min-log2 "$MIN_LOG2"
    --ns-per-iteration "$NS" --csv "$RAW")
section() {
    say "## $1 (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
    shift
    "$@" 2>&1 | tee -a "$LOG"
}
section "delayed, 1 rank x 2 workers" \
    "$BIN" run --system delayed --workers 2 "${COMMON[@]}"
section "delayed-mpi, 1 rank x 2 workers" \
    mpirun -np 1 --bind-to none "$BIN" run --system delayed-mpi --workers 2 "${COMMON[@]}"
# delayed-mpi and the hand-written floor run in one job, their runs
# alternating at each kernel size, so that their ratio is measured in the
# same minutes and on the same CPUs (each rank bound to its share, as
# delayed::mpi binds it). Two jobs a minute apart, as before, put the
# floor's METG of one binary anywhere from 0.31 to 1.2 µs (runs 5-8).
section "delayed-mpi and mpi, alternating, 2 ranks x 1 worker" \
    mpirun -np 2 --bind-to none "$BIN" run --system delayed-mpi-and-mpi --workers 1 "${COMMON[@]}"
section "delayed-mpi and mpi, alternating, 4 ranks x 1 worker, oversubscribed" \
    "${YIELD_OVERSUB[@]}" mpirun -np 4 --oversubscribe --bind-to none "$BIN" run --system delayed-mpi-and-mpi --workers 1 "${COMMON[@]}"

CSVS=$RAW
NOOP=()
if [ -z "${SKIP_DASK:-}" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -c "import distributed" 2>/dev/null ||
        "$VENV/bin/pip" install --quiet "dask[distributed]"
    for n in 2 4; do
        section "dask, $n worker processes x 1 thread" \
            "$VENV/bin/python" scripts/dask-taskbench.py --workers "$n" --steps "$DASK_STEPS" \
            --runs "$DASK_RUNS" --budget-s "$DASK_BUDGET_S" \
            --csv "$OUT/raw-dask.csv" --noop-csv "$OUT/dask-noop.csv"
    done
    CSVS=$RAW,$OUT/raw-dask.csv
    NOOP=(--dask-noop "$OUT/dask-noop.csv")
fi
say "## end (load average: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%SZ))"
"$BIN" report --csv "$CSVS" "${NOOP[@]}" --out "$OUT"
echo "wrote $OUT/metg.md, $OUT/metg.csv, $OUT/metg.svg"
