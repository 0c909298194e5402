#!/usr/bin/env bash
# Warm-up snapshots (docs/runtime.md, "Snapshots"): a patch whose state
# reaches back to frame 0 exports the same bytes however its frames are
# chunked, sharded or resumed, while the workers' warm-up stays within a
# snapshot stride per chunk instead of growing with the frame a chunk starts
# at; a cluster job keeps every 4,096th snapshot in OUT, and a rerender's
# pass starts from it.
# Usage: test_snapshots.sh LATTICE COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"
patch=$root/examples/feedback-trails.patch.json
stride=16 # CO_SNAP_STRIDE
echo '{"resolution": [64, 36]}' >"$tmp/small.json"

warmup_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings"]["warmupFrames"])' "$1"; }
# within_stride FILE CHUNKS: the export's warm-up is at most a stride and
# the motion frame per chunk.
within_stride() { (($(warmup_of "$1") <= $2 * (stride + 1))); }
export_json() { # export_json NAME ARGS...: a timed export of frames 0-299 into $tmp/NAME
    local name=$1
    shift
    "$lattice" export "$patch" -o "$tmp/$name" --frames 0-299 --config "$tmp/small.json" \
        --json --timings "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
}

expect "sequential reference" 0 export_json ref --workers 1 --chunk 300
ok "a sequential export warms up nothing" test "$(warmup_of "$tmp/ref.json")" -eq 0
for spec in "2 7" "3 1" "2 13" "1 5"; do
    set -- $spec
    name=w$1-c$2
    expect "$1 workers, chunks of $2" 0 export_json "$name" --workers "$1" --chunk "$2"
    ok "$1 workers, chunks of $2: identical to the sequential export" same_export "$tmp/ref" "$tmp/$name"
    ok "$1 workers, chunks of $2: warm-up $(warmup_of "$tmp/$name.json") within a stride per chunk" \
        within_stride "$tmp/$name.json" $(((300 + $2 - 1) / $2))
done

# A shard that starts late: its worker warms up a stride, not 250 frames
# (the coordinator's pass walks there once, evaluating only).
expect "shard 250-299" 0 export_json shard --shard 250-299 --chunk 10
ok "the shard warms up within a stride per chunk ($(warmup_of "$tmp/shard.json"))" \
    within_stride "$tmp/shard.json" 5
# late_frames DIR: the names and bytes of frames 250-299's files, digested.
late_frames() {
    (cd "$1" && find . -path ./.lattice -prune -o -type f -name '*_0002[5-9][0-9].*' -print |
        sort | tee /dev/stderr | xargs sha256sum | sha256sum) 2>&1
}
ok "the shard's files are the sequential export's" \
    test "$(late_frames "$tmp/ref")" == "$(late_frames "$tmp/shard")"
ok "the shard wrote every artifact of its 50 frames" \
    test "$(late_frames "$tmp/shard" | grep -c frame_)" -ge 250

# A resumed export renders only the frames that are gone, each from a
# snapshot.
cp -a "$tmp/ref" "$tmp/resumed"
find "$tmp/resumed" -path "$tmp/resumed/.lattice" -prune -o -type f \
    \( -name '*_000100.*' -o -name '*_000200.*' -o -name '*_000280.*' \) -print >"$tmp/deleted"
ok "frames deleted" xargs rm <"$tmp/deleted"
expect "resume" 0 export_json resumed --workers 1
ok "the resume rendered 3 frames" python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["rendered"] != 3)' "$tmp/resumed.json"
ok "the resume warmed up within a stride per frame ($(warmup_of "$tmp/resumed.json"))" \
    within_stride "$tmp/resumed.json" 3
ok "the resumed export is the sequential one" same_export "$tmp/ref" "$tmp/resumed"

# ---- a cluster job: snapshots kept in OUT, a rerender starts from them ----
printf '{"resolution": [64, 36], "artifacts": ["rgba"]}\n' >"$tmp/rgba.json"
expect "long reference" 0 "$lattice" export "$patch" -o "$tmp/long-ref" --frames 0-4199 \
    --config "$tmp/rgba.json" --workers 1 --chunk 4200
start_coordinator main
start_worker w1
start_worker w2
expect "cluster job of 4200 frames" 0 "$lattice" submit "$patch" -c "$endpoint" -o "$tmp/long" \
    --frames 0-4199 --config "$tmp/rgba.json" --chunk 50 --wait
job=$(job_of "$tmp/out")
ok "the cluster export is the one-machine export" same_export "$tmp/long-ref" "$tmp/long"
snap=$(ls "$tmp"/long/.lattice/snapshots/*/4096-*.snap 2>/dev/null)
ok "frame 4096's snapshot is in OUT" test -n "$snap"
ok "its name is its SHA-256" test "$(basename "$snap" .snap)" == "4096-$(sha256sum <"$snap" | cut -c1-64)"
ok "the pass started from frame 0" grep -q "event=snapshots_stop job=$job from=0 " "$tmp/main.log"
ok "chunks far from frame 0 came with a snapshot" \
    grep -q "event=assign job=$job attempt=[0-9]* frames=4100-4149 warmup_from=4096 " \
    "$tmp/main.log"
rm "$tmp"/long/rgba/*00415[0-9].png
expect "rerender 10 deleted frames" 0 "$lattice" rerender "$job" -c "$endpoint"
ok "the rerender's pass started from the snapshot in OUT" \
    wait_for 20 grep -q "event=snapshots_stop job=$job from=4096 " "$tmp/main.log"
ok "the repaired export is the one-machine export" same_export "$tmp/long-ref" "$tmp/long"
checks_done
