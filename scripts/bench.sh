#!/usr/bin/env bash
# Benchmark: the reference scene (examples/refscene.patch.json) at 832x480
# and 1920x1080, one worker with 1 and 2 threads, FRAMES frames.
#
# Two tables, numbers only (it never passes or fails on speed):
#  1. `lattice export`, timed from the outside: what users run (the
#     in-process coordinator and one worker, files written and fsync'ed,
#     metadata.json), as frames/s and ms per frame.
#  2. lattice-bench: the per-frame unit of work those workers run
#     (lx_frame_renderer, in memory, nothing written), split into stages,
#     with the encode+hash floor (the same encoders on one frame's already
#     rendered buffers) and the ratio of table 1's ms/frame to it.
# Usage: scripts/bench.sh [FRAMES=120]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
frames=${1:-120}
bash scripts/install-deps.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build-bench}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target lattice lattice-bench >/dev/null
patch=examples/refscene.patch.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

declare -A export_ms
echo "lattice export: $patch, frames 0-$((frames - 1)), 1 worker"
printf '%-10s %-7s %8s %9s\n' resolution threads fps ms/frame
for res in 832x480 1920x1080; do
    w=${res%x*} h=${res#*x}
    printf '{"resolution": {"width": %s, "height": %s}}\n' "$w" "$h" >"$out/$res.json"
    for threads in 1 2; do
        dir="$out/export-$res-$threads"
        start=$(date +%s%N)
        # Its progress lines would break the table; they are shown if it fails.
        if ! "$BUILD_DIR/cli/lattice" export "$patch" -o "$dir" --frames "0-$((frames - 1))" \
            --config "$out/$res.json" --workers 1 --threads "$threads" >"$out/log" 2>&1; then
            cat "$out/log" >&2
            exit 1
        fi
        end=$(date +%s%N)
        rm -rf "$dir"
        ms=$(awk -v ns=$((end - start)) -v n="$frames" 'BEGIN {printf "%.2f", ns / 1e6 / n}')
        export_ms[$res-$threads]=$ms
        printf '%-10s %-7s %8s %9s\n' "$res" "$threads" \
            "$(awk -v ms="$ms" 'BEGIN {printf "%.2f", 1000 / ms}')" "$ms"
    done
done

echo
echo "lattice-bench: per-frame stages of lx_frame_renderer (in memory, nothing written), ms per frame"
printf '%-10s %-7s %7s %7s %7s %8s %7s %7s %7s %13s\n' resolution threads render eval raster \
    convert encode hash floor export/floor
for res in 832x480 1920x1080; do
    w=${res%x*} h=${res#*x}
    for threads in 1 2; do
        r=$("$BUILD_DIR/bench/lattice-bench" "$patch" "$w" "$h" "$frames" "$threads")
        get() { awk -v k="$1" '$1 == k {print $2}' <<<"$r"; }
        floor=$(get floor_ms_per_frame)
        ratio=$(awk -v e="${export_ms[$res-$threads]}" -v f="$floor" \
            'BEGIN {if (f > 0) printf "%.2f", e / f; else print "-"}')
        printf '%-10s %-7s %7s %7s %7s %8s %7s %7s %7s %13s\n' "$res" "$threads" \
            "$(get render_ms_per_frame)" "$(get stage_eval_ms)" "$(get stage_raster_ms)" \
            "$(get stage_convert_ms)" "$(get stage_encode_wall_ms)" "$(get stage_hash_ms)" \
            "$floor" "$ratio"
        if [[ $threads == 1 ]]; then
            grep '^encode_ms' <<<"$r" | sed "s/^/  $res encode per artifact (ms): /"
        fi
    done
done
echo "render = eval + raster + encode; encode is the wall time of the parallel encode stage"
echo "(convert + encode + hash per artifact); convert and hash are summed over artifacts;"
echo "floor = encode + hash of one frame's already rendered buffers (fastest of 7);"
echo "export/floor = lattice export's ms/frame (first table) / floor"
