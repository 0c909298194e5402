#!/usr/bin/env bash
# README quick-start: build Lattice, then export an example patch and verify it.
# Usage: scripts/example.sh [path/to/patch.json]   (OUT, BUILD_DIR, CMAKE_ARGS as in test.sh)
set -euo pipefail

# Work from the repo root regardless of the caller's cwd.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

patch=${1:-examples/orbit-cards.patch.json}
BUILD_DIR=${BUILD_DIR:-build}

if [[ ! -f "$patch" ]]; then
    echo "example.sh: no such patch: $patch" >&2
    exit 2
fi

bash scripts/install-deps.sh

# shellcheck disable=SC2206
extra_args=(${CMAKE_ARGS:-})
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra_args[@]}"
cmake --build "$BUILD_DIR"

name=$(basename "$patch" .json)
name=${name%.patch}
out=${OUT:-out/$name}

"$BUILD_DIR/cli/lattice" check "$patch"
# Infinite patches need a frame range; everything else exports its whole timeline.
frames=()
if grep -q InfiniteTimeRoot "$patch"; then
    frames=(--frames 0-119)
fi
"$BUILD_DIR/cli/lattice" export "$patch" -o "$out" --threads "$(nproc)" "${frames[@]}"
"$BUILD_DIR/cli/lattice" verify "$out" | tail -n 1
echo "example.sh: the export is in $out (metadata.json lists every file and its hash)"
