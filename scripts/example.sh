#!/usr/bin/env bash
# README quick-start: build Lattice, then check and compile an example patch.
# Usage: scripts/example.sh [path/to/patch.json]   (BUILD_DIR, CMAKE_ARGS as in test.sh)
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

# Name the IR after the patch so other examples don't overwrite each other.
name=$(basename "$patch" .json)
name=${name%.patch}
ir="$BUILD_DIR/$name.ir.json"

"$BUILD_DIR/cli/lattice" check "$patch"
"$BUILD_DIR/cli/lattice" compile "$patch" -o "$ir"
echo "example.sh: IR written to $ir"
