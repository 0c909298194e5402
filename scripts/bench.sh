#!/usr/bin/env bash
# Benchmark: the reference scene (examples/refscene.patch.json) at 832x480
# and 1920x1080, one worker with 1 and 2 threads, FRAMES frames.
#
# Three tables, numbers only (it never passes or fails on speed):
#  1. `lattice export`, timed from the outside: what users run (the
#     in-process coordinator and one worker, files written and fsync'ed,
#     metadata.json), as frames/s, ms per frame, CPU seconds per frame
#     and the speedup of 2 threads over 1; the targets beside them.
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
printf '%-10s %-7s %8s %9s %12s %9s\n' resolution threads fps ms/frame cpu-s/frame speedup
for res in 832x480 1920x1080; do
    w=${res%x*} h=${res#*x}
    printf '{"resolution": {"width": %s, "height": %s}}\n' "$w" "$h" >"$out/$res.json"
    for threads in 1 2; do
        dir="$out/export-$res-$threads"
        start=$(date +%s%N)
        # Its progress lines would break the table; they are shown if it fails.
        # bash's `time` gives the child's user + system CPU seconds.
        TIMEFORMAT='%U %S'
        if ! { time "$BUILD_DIR/cli/lattice" export "$patch" -o "$dir" \
            --frames "0-$((frames - 1))" --config "$out/$res.json" --workers 1 \
            --threads "$threads" >"$out/log" 2>&1; } 2>"$out/cpu"; then
            cat "$out/log" >&2
            exit 1
        fi
        end=$(date +%s%N)
        rm -rf "$dir"
        ms=$(awk -v ns=$((end - start)) -v n="$frames" 'BEGIN {printf "%.2f", ns / 1e6 / n}')
        export_ms[$res-$threads]=$ms
        cpu=$(awk -v n="$frames" '{printf "%.3f", ($1 + $2) / n}' "$out/cpu")
        speedup=$(awk -v one="${export_ms[$res-1]}" -v ms="$ms" 'BEGIN {printf "%.2f", one / ms}')
        printf '%-10s %-7s %8s %9s %12s %9s\n' "$res" "$threads" \
            "$(awk -v ms="$ms" 'BEGIN {printf "%.2f", 1000 / ms}')" "$ms" "$cpu" "${speedup}x"
    done
done
echo "targets (issue 14): cpu-s/frame at 832x480 <= 0.070; 2 threads >= 1.85x 1 thread;"
echo "export/floor <= 1.25 (second table)"

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

# 3. Shards: the same export (832x480, 1 thread) as 4 shards run one after
#    another (each plans the whole export, starts its own coordinator and
#    worker) against one export, then `lattice assemble` trusting the
#    shards' stamps and re-hashing every file (--rehash).
echo
echo "shards: $patch, 832x480, frames 0-$((frames - 1)), 4 shards one after another, 1 thread"
ms_now() { echo $(($(date +%s%N) / 1000000)); }
dir="$out/shards"
start=$(ms_now)
for i in 0 1 2 3; do
    "$BUILD_DIR/cli/lattice" export "$patch" -o "$dir" --frames "0-$((frames - 1))" \
        --config "$out/832x480.json" --threads 1 --shard "$i/4" >"$out/log" 2>&1 ||
        { cat "$out/log" >&2; exit 1; }
done
shards_ms=$(($(ms_now) - start))
start=$(ms_now)
"$BUILD_DIR/cli/lattice" assemble "$dir" >"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
assemble_ms=$(($(ms_now) - start))
start=$(ms_now)
"$BUILD_DIR/cli/lattice" assemble "$dir" --rehash >"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
rehash_ms=$(($(ms_now) - start))
awk -v s="$shards_ms" -v n="$frames" -v one="${export_ms[832x480-1]}" -v a="$assemble_ms" \
    -v r="$rehash_ms" 'BEGIN {
        printf "%-28s %9s\n", "", "ms/frame"
        printf "%-28s %9.2f\n", "one export", one
        printf "%-28s %9.2f  (x%.2f)\n", "4 shards, summed", s / n, s / n / one
        printf "%-28s %9.3f\n", "assemble (stamps trusted)", a / n
        printf "%-28s %9.3f\n", "assemble --rehash", r / n
    }'
