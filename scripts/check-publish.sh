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

RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
cargo publish --workspace --dry-run --locked --allow-dirty
