#!/usr/bin/env bash
# Benchmark: the reference scene (examples/refscene.patch.json) at 832x480
# and 1920x1080, one worker with 1 and 2 threads, FRAMES frames.
#
# Numbers only (it never passes or fails on speed), the targets beside them:
#  1. `lattice export --timings`, what users run (the in-process
#     coordinator and one worker, files written and fsync'ed, metadata.json):
#     frames/s, ms per frame, CPU seconds per frame, the speedup of 2
#     threads over 1, where the worker's time went (ms per frame: raster,
#     the parallel encode stage, writing the files; each artifact's encode),
#     the encode+hash floor (lattice-bench: the same encoders and hashes on
#     one frame's already rendered buffers, in memory) and export/floor.
#  2. Shards: 4 shards one after another against one export, and assemble.
#  3. The coordinator under load (scripts/bench-coordinator.sh).
#  4. Warm-up of a stateful patch in chunks of 10 (scripts/bench-warmup.sh;
#     WARMUP_FRAMES frames, default 100000).
# Usage: scripts/bench.sh [FRAMES=120]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
frames=${1:-120}
bash scripts/install-deps.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build-bench}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target lattice lattice-bench lattice-coordinator lattice-loadgen >/dev/null
patch=examples/refscene.patch.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

declare -A export_ms
# timing STAGE|artifacts: the last export's --timings, ms per frame.
timing() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["timings"]; print(" ".join(f"{k} {v:.2f}" for k, v in t["artifacts"].items()) if sys.argv[2] == "artifacts" else "%.2f" % t[sys.argv[2]])' "$out/json" "$1"; }
echo "lattice export --timings: $patch, frames 0-$((frames - 1)), 1 worker; ms per frame"
printf '%-10s %-7s %6s %8s %8s %7s | %6s %7s %6s | %6s %6s\n' resolution threads fps ms/frame \
    cpu-s/fr speedup raster encode write floor ratio
for res in 832x480 1920x1080; do
    w=${res%x*} h=${res#*x}
    printf '{"resolution": {"width": %s, "height": %s}}\n' "$w" "$h" >"$out/$res.json"
    for threads in 1 2; do
        dir="$out/export-$res-$threads"
        start=$(date +%s%N)
        # bash's `time` gives the child's user + system CPU seconds.
        TIMEFORMAT='%U %S'
        if ! { time "$BUILD_DIR/cli/lattice" export "$patch" -o "$dir" \
            --frames "0-$((frames - 1))" --config "$out/$res.json" --workers 1 \
            --threads "$threads" --json --timings >"$out/json" 2>"$out/log"; } 2>"$out/cpu"; then
            cat "$out/log" "$out/json" >&2
            exit 1
        fi
        end=$(date +%s%N)
        rm -rf "$dir"
        ms=$(awk -v ns=$((end - start)) -v n="$frames" 'BEGIN {printf "%.2f", ns / 1e6 / n}')
        export_ms[$res-$threads]=$ms
        cpu=$(awk -v n="$frames" '{printf "%.3f", ($1 + $2) / n}' "$out/cpu")
        speedup=$(awk -v one="${export_ms[$res-1]}" -v ms="$ms" 'BEGIN {printf "%.2f", one / ms}')
        floor=$("$BUILD_DIR/bench/lattice-bench" "$patch" "$w" "$h" 10 "$threads" |
            awk '$1 == "floor_ms_per_frame" {print $2}')
        ratio=$(awk -v e="$ms" -v f="$floor" 'BEGIN {if (f > 0) printf "%.2f", e / f; else print "-"}')
        printf '%-10s %-7s %6s %8s %8s %6sx | %6s %7s %6s | %6s %6s\n' "$res" "$threads" \
            "$(awk -v ms="$ms" 'BEGIN {printf "%.2f", 1000 / ms}')" "$ms" "$cpu" "$speedup" \
            "$(timing raster)" "$(timing encode)" "$(timing write)" "$floor" "$ratio"
        echo "  encode per artifact (ms, summed over threads): $(timing artifacts)"
    done
done
echo "raster, encode (convert + encode + hash of every artifact, in parallel) and write are"
echo "the worker's own stage times; floor = encode + hash of one frame's rendered buffers"
echo "with the same threads (lattice-bench, fastest of 7); ratio = ms/frame / floor."
echo "targets (issue 14): cpu-s/frame at 832x480 <= 0.070; speedup >= 1.85x; ratio <= 1.25"

# 2. Shards: the same export (832x480, 1 thread) as 4 shards run one after
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

# 3. The coordinator under load: simulated workers over tcp + CURVE.
echo
echo "coordinator: lattice-loadgen, results over tcp + CURVE, journal on"
bash scripts/bench-coordinator.sh "$BUILD_DIR"

# 4. Warm-up: 100,000 frames of a 600-particle patch in chunks of 10.
echo
echo "warm-up: bench/particles.patch.json, chunks of 10, 2 workers of 1 thread, rgba 64x36"
bash scripts/bench-warmup.sh "$BUILD_DIR" "${WARMUP_FRAMES:-100000}"
