#!/usr/bin/env bash
# Shards through a cluster (SUBMIT.shard, docs/protocol.md): `lattice submit
# --shard` makes the coordinator plan the whole export and render a slice,
# with its books in OUT/.lattice/shards/a-b; a coordinator restarted in the
# middle of a shard resumes the slice, not the whole export; the slices of
# a cluster and of `lattice export --shard` assemble into one export equal
# to a one-machine export. Refusals: a shard outside the export, replace.
# Usage: test_cluster_shards.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"
patch=$root/examples/orbit-cards.patch.json
echo '{"resolution": [64, 48]}' >"$tmp/tiny.json"
common=(--frames 0-23 --config "$tmp/tiny.json")

expect "reference export" 0 "$lattice" export "$patch" -o "$tmp/ref" "${common[@]}" --threads 1

mkdir -p "$tmp/exports"
out=$tmp/exports/x
start_coordinator c1 --allow-output "$tmp/exports"
bind=$endpoint # a restart binds the same address: the worker reconnects to it
start_worker w1

# Shard 0/3 through the cluster; a coordinator restart in the middle of it.
"$lattice" submit "$patch" -c "$endpoint" -o "$out" "${common[@]}" --shard 0/3 --chunk 1 \
    >"$tmp/s0.out" 2>&1
ok "submit --shard 0/3" test $? -eq 0
ok "... a job of the slice's 8 frames" grep -q ": 8 frames" "$tmp/s0.out"
job=$(job_of "$tmp/s0.out")
journal=$out/.lattice/shards/0-7/progress.jsonl
frames_in() { (($(grep -c '^{"frame":' "$journal" 2>/dev/null) >= $1)); }
ok "the shard journals into its own books" wait_for 60 frames_in 2
kill -9 "$coord_pid"
wait "$coord_pid" 2>/dev/null
start_coordinator c1 --allow-output "$tmp/exports"
ok "the restarted coordinator still has the slice (8 frames, 0-7)" bash -c \
    "'$lattice' status '$job' --json -c '$endpoint' | python3 -c 'import json,sys; j=json.load(sys.stdin)[0]; sys.exit(not (j[\"total\"]==8 and j[\"frames\"]==[0,7]))'"
expect "the shard finishes" 0 timeout 120 "$lattice" watch "$job" -c "$endpoint"
ok "... sealed" test -s "$out/.lattice/shards/0-7/manifest.jsonl"
ok "... with no metadata.json" test ! -e "$out/metadata.json"
ok "... and the program stored" compgen -G "$out/.lattice/program-*.lxir" >/dev/null

# Shard 1/3 through the cluster, 2/3 by lattice export: one export.
expect "submit --shard 8-15 --wait" 0 "$lattice" submit "$patch" -c "$endpoint" -o "$out" \
    "${common[@]}" --shard 8-15 --wait
expect "lattice export --shard 2/3 beside them" 0 "$lattice" export "$patch" -o "$out" \
    "${common[@]}" --shard 2/3 --threads 1
expect "assemble" 0 "$lattice" assemble "$out"
ok "one export, equal to one machine's" same_export "$out" "$tmp/ref"
expect "it verifies" 0 "$lattice" verify "$out"

# Refusals.
expect "a shard outside the export" 2 "$lattice" submit "$patch" -c "$endpoint" \
    -o "$tmp/exports/y" "${common[@]}" --shard 20-30
expect "--shard auto is for lattice export" 2 "$lattice" submit "$patch" -c "$endpoint" \
    -o "$tmp/exports/y" "${common[@]}" --shard auto
expect "a shard may not replace" 1 "$lattice" submit "$patch" -c "$endpoint" \
    -o "$tmp/exports/y" "${common[@]}" --shard 0/2 --replace
ok "... the coordinator says why" grep -q "a shard cannot replace an export" "$tmp/err"
expect "a shard of an export with other frames" 1 "$lattice" submit "$patch" -c "$endpoint" \
    -o "$out" --frames 0-29 --config "$tmp/tiny.json" --shard 0/2
ok "... is refused as another export" grep -q "output_not_empty" "$tmp/err"

checks_done
