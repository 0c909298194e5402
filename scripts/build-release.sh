#!/usr/bin/env bash
# Builds Lattice as a packager would: CMAKE_BUILD_TYPE=Release, with each
# compiler named (default: gcc). Usage: scripts/build-release.sh [CC...]
#   build dirs: build-release-<CC>; warnings are errors when CI=true.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in -h|--help) sed -n '2,4p' "$0"; exit 0 ;; esac
bash scripts/install-deps.sh
for cc in "${@:-gcc}"; do
    dir=build-release-$cc
    echo "build-release: $cc -> $dir"
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" >/dev/null
    cmake --build "$dir"
done
