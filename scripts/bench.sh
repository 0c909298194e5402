#!/usr/bin/env bash
# Benchmark: the reference scene at 832x480 and 1920x1080, 1 and 2 threads.
# Prints frames/s, per-stage ms per frame, per-artifact encode ms, the
# encode+hash floor (same encoders on already rendered buffers) and the
# export/floor ratio (goal: <= 1.25). Numbers, not a test: it never fails
# on speed. Usage: scripts/bench.sh [FRAMES=120]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
frames=${1:-120}
bash scripts/install-deps.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build-bench}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target lattice-bench >/dev/null
patch=examples/refscene.patch.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-10s %-7s %8s %9s %7s %7s %8s %8s %7s %7s %9s %7s\n' resolution threads fps \
    ms/frame eval raster convert encode hash write floor ratio
for res in 832x480 1920x1080; do
    w=${res%x*} h=${res#*x}
    for threads in 1 2; do
        r=$("$BUILD_DIR/bench/lattice-bench" "$patch" "$w" "$h" "$frames" "$threads" "$out/$res-$threads")
        get() { awk -v k="$1" '$1 == k {print $2}' <<<"$r"; }
        printf '%-10s %-7s %8s %9s %7s %7s %8s %8s %7s %7s %9s %7s\n' "$res" "$threads" \
            "$(get fps)" "$(get ms_per_frame)" "$(get stage_eval_ms)" "$(get stage_raster_ms)" \
            "$(get stage_convert_ms)" "$(get stage_encode_wall_ms)" "$(get stage_hash_ms)" \
            "$(get stage_write_ms)" "$(get floor_ms_per_frame)" "$(get ratio_export_over_floor)"
        if [[ $threads == 1 ]]; then
            grep '^encode_ms' <<<"$r" | sed "s/^/  $res encode per artifact (ms): /"
        fi
    done
done
echo "ms columns are per frame; encode is the wall time of the parallel encode stage"
echo "(convert + encode + hash per artifact); convert and hash are summed over artifacts;"
echo "floor = encode + hash of one frame's already rendered buffers (fastest of 7); ratio = ms/frame / floor"
