#!/usr/bin/env bash
# The multi-node layer's numbers: runs bench-suite's `distributed` program
# under mpirun on 1, 2 and 4 ranks (4 oversubscribed on a 2-CPU machine) and
# writes what it printed, unchanged, to results/distributed.md, with the
# machine, commit, date, load and commands.
#
#   scripts/distributed.sh [--out FILE] [-- extra arguments for distributed]
#
# Needs Open MPI (scripts/test.sh installs it). Takes a few minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=results/distributed.md
EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT=$2; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--out FILE] [-- distributed's arguments]" >&2; exit 2 ;;
    esac
done
command -v mpirun >/dev/null || { echo "mpirun not found: install openmpi-bin (scripts/test.sh does)" >&2; exit 1; }

cargo build --release -q -p delayed-bench --features mpi --bin distributed
BIN=${CARGO_TARGET_DIR:-target}/release/distributed
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# A waiting rank yields its CPU inside MPI on the oversubscribed job (4 ranks
# on 2 CPUs), as scripts/taskbench.sh does; up to 2 ranks, Open MPI's default
# (no yield) unless the caller sets it: each empty MPI call then makes a
# sched_yield, about a microsecond here (a small compute on 2 ranks: 17 us
# without, 47 with).
YIELD_OVERSUB=${OMPI_MCA_mpi_yield_when_idle:-1}
YIELD_SAID="unset (Open MPI's default)"
[ -n "${OMPI_MCA_mpi_yield_when_idle:-}" ] && YIELD_SAID=$OMPI_MCA_mpi_yield_when_idle

run() { # title, mpirun arguments..., --, distributed arguments...
    local title=$1; shift
    local launch=() args=()
    while [ "$1" != -- ]; do launch+=("$1"); shift; done
    shift
    args=("$@" "${EXTRA[@]}")
    printf '\n## %s\n\n```sh\nmpirun %s %s %s\n```\n\n```\n' "$title" "${launch[*]}" "$BIN" "${args[*]}"
    uptime
    mpirun "${launch[@]}" "$BIN" "${args[@]}" 2>&1
    uptime
    printf '```\n'
}

{
    printf '# delayed::mpi: cross-rank latency, throughput, the lesson'"'"'s loop\n\n'
    printf 'Written by `scripts/distributed.sh`: every table below is what\n'
    printf '`bench-suite/src/bin/distributed/` printed, unchanged (the program says\n'
    printf 'how it measures in its `--help` and in each table'"'"'s heading).\n\n'
    printf -- '- machine: `nproc` %s, %s, kernel %s, %s\n' "$(nproc)" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$(uname -r)" \
        "$(mpirun --version 2>/dev/null | head -1)"
    printf -- '- commit: %s%s\n' "$(git rev-parse --short HEAD)" \
        "$(git diff --quiet HEAD -- graph bench-suite || echo ' (with uncommitted changes)')"
    printf -- '- date: %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf -- '- environment: `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`; `OMPI_MCA_mpi_yield_when_idle` %s up to 2 ranks, %s on 4 (oversubscribed)\n' \
        "$YIELD_SAID" "$YIELD_OVERSUB"
    printf -- '- load: `uptime` before and after each job; this is a VM shared with other work\n'
    run "1 rank" -np 1 -- --chain 20000
    run "2 ranks (mpirun binds each to one core)" -np 2 -- --chain 20000
    run "2 ranks, not bound (ranks share the node's CPUs: Cluster::init splits them)" --bind-to none -np 2 -- --chain 20000
    run "4 ranks on 2 CPUs (oversubscribed)" --oversubscribe -x "OMPI_MCA_mpi_yield_when_idle=$YIELD_OVERSUB" -np 4 -- --chain 20000 --tasks 200000
} > "$OUT"
echo "wrote $OUT"
