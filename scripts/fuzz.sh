#!/usr/bin/env bash
# Fuzzes one target with libFuzzer (clang, ASan+UBSan) for a while, starting
# from its committed corpus. New crashers land in build-fuzz/artifacts/;
# add them to tests/corpus/<name>/ once fixed so ctest replays them forever.
# Usage: scripts/fuzz.sh [TARGET=patch] [SECONDS=300]
# TARGET coord is the coordinator's stateful protocol fuzzer
# (tests/unit/test_coord_fuzz.c): seeded episodes against the scheduler core
# instead of libFuzzer; its failures are written to tests/corpus/coord_fuzz/.
# SEED (default: the time) picks the episodes, WITH adds classes (e.g. all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${1:-patch}
seconds=${2:-300}
bash scripts/install-deps.sh
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DLX_FUZZ=ON -DLX_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [[ $target == coord ]]; then
    cmake --build build-fuzz --target test_coord_fuzz
    exec build-fuzz/tests/test_coord_fuzz --no-corpus --seconds "$seconds" \
        --seed "${SEED:-$(date +%s)}" ${WITH:+--with "$WITH"}
fi
cmake --build build-fuzz --target "fuzz_$target"
work=build-fuzz/corpus-$target
mkdir -p "$work" build-fuzz/artifacts
cp -n tests/corpus/"$target"/* "$work"/ 2>/dev/null || true
dict=()
[[ -f tests/fuzz/$target.dict ]] && dict=(-dict="tests/fuzz/$target.dict")
exec build-fuzz/tests/"fuzz_$target" "$work" "${dict[@]}" -max_total_time="$seconds" \
    -max_len=16384 -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1
