#!/usr/bin/env bash
# The project's one test command (README "Test"); .ci/run calls it on a fresh clone.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip the Slurm, valgrind and sanitizer parts
#
# As root on a fresh Debian machine it first installs what the tests need, with
# apt-get, only if missing:
#   graphviz  (dot, for visualize to .png/.svg)
#   slurmd slurmctld slurm-client munge  (a private single-node Slurm for scripts/test-slurm.sh)
#   util-linux (taskset), valgrind
#   openmpi-bin libopenmpi-dev libclang-dev  (Open MPI, and libclang for the mpi crate's bindgen)
# Then: cargo fmt --check, clippy -D warnings, every crate's tests and doctests,
# the dependencies of a library user's crate (scripts/check-downstream.sh),
# docs and a publish dry run of the two library crates (scripts/check-publish.sh),
# the loom models (LOOM_MAX_PREEMPTIONS=2, release, own target dir), the Slurm sweep
# tests, the fast valgrind checks if scripts/valgrind.sh exists, and Miri and
# ThreadSanitizer (scripts/sanitizers.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

step() { printf '\n=== %s (%s, %ss in) ===\n' "$*" "$(date -u +%T)" "$SECONDS"; }

install_packages() {
    local need=()
    command -v dot >/dev/null || need+=(graphviz)
    command -v taskset >/dev/null || need+=(util-linux)
    command -v valgrind >/dev/null || need+=(valgrind)
    command -v mpirun >/dev/null || need+=(openmpi-bin)
    [ -e /usr/include/x86_64-linux-gnu/mpi/mpi.h ] || [ -e /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h ] \
        || need+=(libopenmpi-dev)
    ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
    if [ "$QUICK" = 0 ]; then
        command -v slurmd >/dev/null || need+=(slurmd)
        command -v slurmctld >/dev/null || need+=(slurmctld)
        command -v srun >/dev/null || need+=(slurm-client)
        command -v munged >/dev/null || need+=(munge)
    fi
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: ${need[*]}; run as root (or install them) to run every test" >&2
        return 0
    fi
    step "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

install_packages

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (all crates, unit, integration and doc tests)"
cargo test --workspace --locked

# The multi-node layer (feature `mpi`): its clippy, its unit tests, and real
# Open MPI jobs of 1 to 4 ranks (graph/tests/mpi). Kept out of the default
# build, so `cargo test` needs no MPI.
step "delayed::mpi: clippy, unit tests and Open MPI jobs (mpirun)"
cargo clippy -p delayed -p delayed-bench --features mpi --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p delayed --features mpi --no-deps --locked
cargo test -p delayed --features mpi --locked --lib mpi
cargo test -p delayed --features mpi --locked --doc mpi
cargo test -p delayed --features mpi --locked --test mpi
# The MPI examples, in the test profile beside the others `cargo test` built,
# for the Slurm checks below (dask_loop_mpi under srun --mpi=pmix).
cargo build -p delayed --features mpi --locked --profile test --examples -q

step "a library user's crate: no clap in its dependencies (tests/downstream)"
scripts/check-downstream.sh

step "cargo doc -D warnings and cargo publish --dry-run (delayed-executor, delayed)"
scripts/check-publish.sh

step "loom models (LOOM_MAX_PREEMPTIONS=2)"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
    cargo test --locked --release --target-dir target/loom -p delayed-executor --lib loom
# The graph crate's run models (`graph/src/run/loom_tests.rs`). This was
# guarded by a grep for the text `cfg(loom)`, which `cfg(all(test, loom))`
# does not contain, so the models had stopped running here.
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
    cargo test --locked --release --target-dir target/loom -p delayed --lib loom

if [ "$QUICK" = 0 ]; then
    if [ -x scripts/test-slurm.sh ]; then
        step "Slurm sweep against a private single-node Slurm, and --local"
        # The examples `cargo test` built (their tasks sleep, so the test
        # profile times them as well as a release build): a release build of
        # the bench suite took 4 of CI's minutes.
        examples=${CARGO_TARGET_DIR:-target}/debug/examples
        [[ $examples == /* ]] || examples=$PWD/$examples
        DELAYED_EXAMPLES_DIR=$examples scripts/test-slurm.sh
    fi
    if [ -x scripts/valgrind.sh ]; then
        step "valgrind (fast checks)"
        scripts/valgrind.sh --fast
    fi
    # Three of Miri's schedules for the multi-threaded runs, not the four a
    # plain scripts/sanitizers.sh tries: each is a minute here, and CI's
    # 30 minutes were spent (scripts/sanitizers.sh alone for more seeds).
    step "Miri and ThreadSanitizer (nightly)" && MIRI_SEEDS=${MIRI_SEEDS:-0..3} scripts/sanitizers.sh
fi

step "all tests passed"
