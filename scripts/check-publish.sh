#!/usr/bin/env bash
# The two library crates as crates.io and docs.rs would take them:
#   - their docs build with no rustdoc warning (broken links, bad code blocks);
#   - `cargo publish --dry-run` packages delayed-executor and delayed (not the
#     publish = false bench-suite), then builds each from its packaged sources,
#     delayed against the packaged delayed-executor. Nothing is uploaded.
# --allow-dirty: a dry run checks what would be packaged, not the git state,
# so that it also runs on a work tree with uncommitted changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Cargo verifies `delayed` against the packaged delayed-executor through a
# local registry (target/package/tmp-registry), which it unpacks under
# $CARGO_HOME/registry/src/-<hash of that path>/. Cargo reuses an unpacked
# copy of the same name and version without comparing it with the new
# tarball, so a copy left by an older checkout at the same path (a CI machine
# whose cargo home outlives its clones) verified `delayed` against stale
# delayed-executor sources: "no function named new_unparking". Those
# directories (named "-<hash>", never "index.crates.io-...") only ever hold
# such local packages, so remove our crates from them first.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rm -rf "$cargo_home"/registry/src/-*/delayed-executor-[0-9]* \
    "$cargo_home"/registry/src/-*/delayed-[0-9]*

RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
cargo publish --workspace --dry-run --locked --allow-dirty
