#!/usr/bin/env bash
# Build Lattice and run its test suite. Usage: scripts/test.sh [--sanitize]
#   BUILD_DIR   build directory (default: build, or build-asan with --sanitize)
#   CMAKE_ARGS  extra arguments passed to the cmake configure step
set -euo pipefail

# Work from the repo root regardless of the caller's cwd.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sanitize=0
for arg in "$@"; do
    case "$arg" in
        --sanitize) sanitize=1 ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

bash scripts/install-deps.sh

if [[ $sanitize -eq 1 ]]; then
    BUILD_DIR=${BUILD_DIR:-build-asan}
    # clang here, gcc in the plain build: the golden program hashes are
    # checked under two compilers on every run.
    build_args=(-DLX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DLX_WERROR=ON)
    # Leaks and UB must fail the test, with a stack trace to act on.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
    BUILD_DIR=${BUILD_DIR:-build}
    build_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
    # CI (CI=true) fails on warnings; a user's build only reports them.
    [[ ${CI:-} == true ]] && build_args+=(-DLX_WERROR=ON)
fi

# CMAKE_ARGS is word-split on purpose so callers can pass several -D flags.
# shellcheck disable=SC2206
extra_args=(${CMAKE_ARGS:-})

cmake -S . -B "$BUILD_DIR" -G Ninja "${build_args[@]}" "${extra_args[@]}"
cmake --build "$BUILD_DIR"

# Let ctest's own "N% tests passed" summary be the last word, and its status ours.
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 || status=$?
exit "$status"
