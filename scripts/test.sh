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
# Then: cargo fmt --check, clippy -D warnings, every crate's tests and doctests,
# the loom models (LOOM_MAX_PREEMPTIONS=2, release, own target dir), the Slurm sweep
# tests, the fast valgrind checks if scripts/valgrind.sh exists, and Miri and
# ThreadSanitizer (scripts/sanitizers.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

step() { printf '\n=== %s ===\n' "$*"; }

install_packages() {
    local need=()
    command -v dot >/dev/null || need+=(graphviz)
    command -v taskset >/dev/null || need+=(util-linux)
    command -v valgrind >/dev/null || need+=(valgrind)
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
        scripts/test-slurm.sh
    fi
    if [ -x scripts/valgrind.sh ]; then
        step "valgrind (fast checks)"
        scripts/valgrind.sh --fast
    fi
    step "Miri and ThreadSanitizer (nightly)" && scripts/sanitizers.sh
fi

step "all tests passed"
