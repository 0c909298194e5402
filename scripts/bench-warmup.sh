#!/usr/bin/env bash
# Benchmark: warm-up of a patch whose state reaches back to frame 0
# (bench/particles.patch.json: a 600-particle pool), exported in chunks of
# 10 by 2 workers of 1 thread, rgba at 64x36 (small, so that rendering does
# not drown the warm-up). Numbers only, the target beside them:
#   - the frames the workers evaluated only to warm up, and their cost;
#   - the coordinator's snapshot pass (docs/runtime.md, "Snapshots"): one
#     evaluation of every frame, costed like the workers' warm-up;
#   - warm-up / render, and what warming up every chunk from frame 0 would
#     cost (computed from the same per-frame cost): what a fresh worker per
#     chunk, a shard or a requeued chunk paid before snapshots. (A worker
#     whose previous chunk ended just before its next one keeps going, so
#     one local export in order paid less.)
# The evaluation cost per frame comes from a sequential export of the same
# patch (its "eval" stage: one frame's evaluation and draw list, an upper
# bound for the pass, which assembles one draw list in 16).
# Usage: scripts/bench-warmup.sh BUILD_DIR [FRAMES=100000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=$1
frames=${2:-100000}
patch=bench/particles.patch.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '{"resolution": [64, 36], "artifacts": ["rgba"]}\n' >"$out/cfg.json"
run() { # run NAME ARGS...: an export of the patch into $out/NAME, its JSON in $out/NAME.json
    local name=$1
    shift
    "$build/cli/lattice" export "$patch" -o "$out/$name" --config "$out/cfg.json" --json \
        --timings "$@" >"$out/$name.json" 2>"$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
}
seq_frames=$((frames < 5000 ? frames : 5000))
run seq --frames 0-$((seq_frames - 1)) --workers 1 --threads 1 --chunk "$seq_frames"
TIMEFORMAT='%U %S'
cpu=$({ time run chunked --frames 0-$((frames - 1)) --workers 2 --threads 1 --chunk 10; } 2>&1)
python3 - "$out/seq.json" "$out/chunked.json" "$frames" "$cpu" <<'PY'
import json, sys
seq, chunked = (json.load(open(p)) for p in sys.argv[1:3])
n, cpu = int(sys.argv[3]), sum(map(float, sys.argv[4].split()))
t = chunked["timings"]
e = seq["timings"]["eval"]  # ms to evaluate one frame, sequentially
render = t["eval"] + t["raster"] + t["encode"] + t["write"]  # the workers' ms per frame
chunks = (n + 9) // 10
workers_ms = t["warmupFrames"] * e
pass_ms = n * e
total = workers_ms + pass_ms
from_zero = e * sum(10 * k for k in range(chunks))
print(f"frames {n}, chunks of 10: {chunks}; wall {chunked['elapsedMs'] / 1e3:.1f} s, "
      f"CPU {cpu:.1f} s ({cpu / n * 1e3:.2f} ms per frame)")
print(f"evaluation: {e * 1e3:.1f} us per frame; render: {render:.2f} ms per frame, "
      f"{render * n / 1e3:.1f} s in all")
print(f"{'warm-up':<34} {'frames':>12} {'s':>9} {'% render':>9}")
for name, fr, ms in [("workers (snapshot to chunk start)", t["warmupFrames"], workers_ms),
                     ("coordinator's snapshot pass", n, pass_ms),
                     ("total", t["warmupFrames"] + n, total),
                     ("every chunk from frame 0 (computed)", sum(10 * k for k in range(chunks)), from_zero)]:
    print(f"{name:<34} {fr:>12} {ms / 1e3:>9.2f} {100 * ms / (render * n):>8.2f}%")
print("target (issue 14): warm-up <= 5 % of render time")
PY
