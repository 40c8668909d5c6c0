#!/usr/bin/env bash
# Placement learnt from a profile, on a loop whose task times grow tenfold:
# runs graph/examples/placement_mpi.rs under mpirun on 2 and 4 ranks (one
# worker each; 4 oversubscribed on a 2-CPU machine) and writes what it
# printed, unchanged, to results/placement.md with machine, commit, date and
# commands. Needs Open MPI. Takes about a minute.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-results/placement.md}
command -v mpirun >/dev/null || { echo "mpirun not found: install openmpi-bin" >&2; exit 1; }
cargo build --release -q -p delayed --features mpi --example placement_mpi
BIN=${CARGO_TARGET_DIR:-target}/release/examples/placement_mpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
export DELAYED_NUM_WORKERS=1
{
    printf '# Placement learnt from a profile\n\n'
    printf 'Written by `scripts/placement.sh`: what `graph/examples/placement_mpi.rs`\n'
    printf 'printed, unchanged. The workload: a loop of tasks whose durations grow\n'
    printf 'tenfold from the first to the last, summed; the default placement cuts\n'
    printf 'the loop into equal blocks. The bound is max(work / P, span) of the\n'
    printf 'default run; the predicted time is the list schedule'"'"'s.\n\n'
    printf -- '- machine: `nproc` %s, %s, kernel %s\n' "$(nproc)" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$(uname -r)"
    printf -- '- commit: %s\n- date: %s\n' "$(git rev-parse --short HEAD)" "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf -- '- environment: `DELAYED_NUM_WORKERS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1`\n'
    for ranks in 2 4; do
        extra=()
        [ "$ranks" -gt "$(nproc)" ] && extra=(--oversubscribe)
        printf '\n## %s ranks%s\n\n```sh\nmpirun -x DELAYED_NUM_WORKERS %s -np %s %s\n```\n\n```\n' "$ranks" \
            "$([ ${#extra[@]} -gt 0 ] && echo ' (oversubscribed)')" "${extra[*]}" "$ranks" "$BIN"
        mpirun -x DELAYED_NUM_WORKERS "${extra[@]}" -np "$ranks" "$BIN"
        printf '```\n'
    done
} > "$OUT"
echo "wrote $OUT"
