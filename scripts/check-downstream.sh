#!/usr/bin/env bash
# What a crate that depends on `delayed` gets: tests/downstream is such a
# crate, outside the workspace, using `delayed` by path with default
# features. Fails if its dependency tree holds `clap` (the lesson's command
# line belongs to `delayed-bench`, never to the library), then builds and
# runs it.
#
#   scripts/check-downstream.sh     prints the crates the library pulls in
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

manifest=tests/downstream/Cargo.toml
deps=$(cargo tree --locked --manifest-path "$manifest" -e normal,build --prefix none |
    sed 's/ (.*)//; s/ (\*)$//' | sort -u)
echo "delayed with default features pulls in:"
echo "$deps" | sed 's/^/  /'
if echo "$deps" | grep -q '^clap '; then
    echo "FAIL: clap is a dependency of the library with default features" >&2
    exit 1
fi
out=$(cargo run --locked -q --manifest-path "$manifest" --target-dir target/downstream)
[[ $out == "total=44" ]] || { echo "FAIL: the downstream crate printed '$out'" >&2; exit 1; }
echo "the downstream crate builds and prints $out"
