#!/usr/bin/env bash
# Miri and ThreadSanitizer over the unsafe code (issue 17); scripts/test.sh
# runs it unless --quick.
#
#   scripts/sanitizers.sh           Miri, then ThreadSanitizer
#   scripts/sanitizers.sh --miri    Miri only
#   scripts/sanitizers.sh --tsan    ThreadSanitizer only
#
# Needs the nightly toolchain with the miri and rust-src components; it adds
# them (rustup component add miri rust-src --toolchain nightly) when they
# are missing. When it cannot, it says so loudly, runs nothing, and its
# closing line says the checks did NOT run; it then exits 0, so a machine
# without nightly still passes scripts/test.sh, unless
# SANITIZERS_REQUIRED=1, which makes that an error (exit 2).
#
# What each part covers:
#
# Miri, Stacked Borrows (Miri's default model): the graph crate's unit
#   tests of its own unsafe data structures, which need no executor thread:
#   the storage layer (store::): the append-only store, with its
#   concurrent reader and writer tests, type-erased values and slots
#   (store::value), type-erased closures (store::task_fn); and the run
#   state through the sync runner (run::state);
#   and the executor's unit tests (latch::, worker_count::). Stacked
#   Borrows stops inside crossbeam-epoch (a retag in its intrusive list,
#   `Local::element_of`), which every deque steal runs, so nothing that
#   starts executor workers runs under it. Miri's leak check is on here:
#   it is what sees a segment of the store that is never freed.
# Miri, Tree Borrows with the data-race detector: every unit test of the
#   graph crate (runs on the default executor included; not run::stream::,
#   whose graphs of 20,000 nodes take minutes in Miri, nor visualize::,
#   which starts Graphviz: neither has unsafe code; nor store::, which the
#   Stacked Borrows run above covers, data-race detector included, and
#   which took a third of this run's five minutes), and
#   graph/tests/miri_runs.rs (multi-threaded runs on two
#   workers: boxed values freed by their last consumer, duplicate inputs, a
#   sink of more than 64 inputs, a failure leaving values in slots, a later
#   error whose drop panics, a nested compute, a compute while another
#   thread adds tasks) under several -Zmiri-seed values, which change
#   Miri's thread schedule and its weak-memory choices. With
#   -Zmiri-ignore-leaks: crossbeam-epoch's global garbage list (reached
#   through tagged pointers Miri cannot follow) is reported as leaked when
#   worker threads exit; what our own code frees these tests assert.
# ThreadSanitizer (-Zsanitizer=thread -Zbuild-std): the executor's unit and
#   integration tests, and the graph crate's multi-worker tests (api,
#   errors, nested, drops, miri_runs), compiled natively: real threads and
#   real timing, at full size. The protocols themselves are model-checked
#   by loom (scripts/test.sh), which explores interleavings neither of
#   these does. scripts/tsan.supp suppresses one known false positive:
#   crossbeam-deque's speculative read of a slot a steal then fails to
#   claim (the same two lines crossbeam's own CI suppresses).
#
# Own target dirs (target/miri, target/tsan), so nothing else's cache is
# invalidated.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_MIRI=1
RUN_TSAN=1
case "${1:-}" in
    "") ;;
    --miri) RUN_TSAN=0 ;;
    --tsan) RUN_MIRI=0 ;;
    *)
        echo "usage: $0 [--miri|--tsan]" >&2
        exit 2
        ;;
esac

# Seeds of Miri's scheduler for the multi-threaded runs.
SEEDS=${MIRI_SEEDS:-0..4}

FAILED=()
SUMMARY=()

step() { printf '\n=== %s (%s, %ss in) ===\n' "$*" "$(date -u +%T)" "$SECONDS"; }

# not_run REASON: no check can run; say so where nobody can miss it.
not_run() {
    {
        echo
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        echo "!!! sanitizers NOT RUN: $1"
        echo "!!! Miri and ThreadSanitizer did not check this tree."
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    } >&2
    echo "sanitizers: NOT RUN ($1)"
    if [ "${SANITIZERS_REQUIRED:-0}" = 1 ]; then
        exit 2
    fi
    exit 0
}

# The nightly toolchain with miri and rust-src, installed if missing.
ensure_nightly() {
    if ! cargo +nightly --version >/dev/null 2>&1; then
        not_run "no nightly toolchain (rustup toolchain install nightly)"
    fi
    local installed
    installed=$(rustup component list --toolchain nightly --installed 2>/dev/null)
    if ! grep -q '^miri' <<<"$installed" || ! grep -q '^rust-src' <<<"$installed"; then
        step "rustup component add miri rust-src --toolchain nightly"
        if ! rustup component add miri rust-src --toolchain nightly; then
            not_run "could not install the nightly components miri and rust-src"
        fi
    fi
}

# check LABEL COMMAND...: runs one check, timed, and records the outcome.
check() {
    local label=$1
    shift
    step "$label"
    local start=$SECONDS rc=0
    "$@" || rc=$?
    local line
    line=$(printf '%-44s %4ds  %s' "$label" "$((SECONDS - start))" \
        "$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")")
    SUMMARY+=("$line")
    [ "$rc" = 0 ] || FAILED+=("$label")
}

# miri FLAGS CARGO-ARGS... -- TEST-ARGS...: cargo miri test with MIRIFLAGS.
# The runs on the default executor read its worker count from the
# environment (Miri's isolation forbids reading the CPU mask and cgroup
# files); the floats of the diagnostics tests need Miri's deterministic
# floats.
miri() {
    local flags=$1
    shift
    DELAYED_NUM_WORKERS=2 \
        MIRIFLAGS="-Zmiri-permissive-provenance -Zmiri-deterministic-floats -Zmiri-env-forward=DELAYED_NUM_WORKERS $flags" \
        cargo +nightly miri test --locked --target-dir target/miri "$@"
}

# tsan CARGO-ARGS...: cargo test under ThreadSanitizer, std rebuilt with it.
tsan() {
    RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" \
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
        cargo +nightly test --locked -Zbuild-std --target "$TARGET_TRIPLE" \
        --target-dir target/tsan "$@"
}

ensure_nightly
TARGET_TRIPLE=$(rustc +nightly -vV | sed -n 's/^host: //p')

if [ "$RUN_MIRI" = 1 ]; then
    check "miri, stacked borrows: graph data structures" \
        miri "" -p delayed --lib -- store:: run::state
    check "miri, stacked borrows: executor unit tests" \
        miri "" -p delayed-executor --lib
    check "miri, tree borrows: graph unit tests" \
        miri "-Zmiri-tree-borrows -Zmiri-ignore-leaks" -p delayed --lib -- \
        --skip run::stream:: --skip visualize:: --skip store::
    check "miri, tree borrows: miri_runs, seeds $SEEDS" \
        miri "-Zmiri-tree-borrows -Zmiri-ignore-leaks -Zmiri-many-seeds=$SEEDS" \
        -p delayed --test miri_runs
fi

if [ "$RUN_TSAN" = 1 ]; then
    check "tsan: executor unit and integration tests" \
        tsan -p delayed-executor --lib --tests
    check "tsan: graph multi-worker tests" \
        tsan -p delayed --test api --test errors --test nested --test drops --test miri_runs
fi

echo
echo "sanitizers summary:"
printf '  %s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -ne 0 ]; then
    echo "sanitizers: FAILED: ${FAILED[*]}"
    exit 1
fi
echo "sanitizers: all checks ran and passed"
