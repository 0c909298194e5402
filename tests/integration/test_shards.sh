#!/usr/bin/env bash
# Shards (docs/export-format.md, "Shards"): `lattice export --shard` renders
# a slice of the whole export into one OUT, side by side with the others;
# `lattice assemble OUT` merges them into the metadata.json one machine
# would write, or names every gap with the command that redoes it. Split
# any way, killed, damaged and re-run, the bytes are the same.
# Usage: test_shards.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"
patch=$root/examples/orbit-cards.patch.json
printf '{"resolution": [64, 48]}\n' >"$tmp/small.json"
# Every artifact, the control tier too: its shot is measured over the
# whole export, so a shard that planned only its slice would differ.
common=(--frames 0-29 --config "$tmp/small.json" --artifacts all --threads 1)

strip_manifest() {
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("exportedAt"); m.pop("run"); print(json.dumps(m, sort_keys=True))' "$1"
}
same_manifest() { [[ "$(strip_manifest "$1/metadata.json")" == "$(strip_manifest "$2/metadata.json")" ]]; }
artifact_files() { (cd "$1" && find . -path ./.lattice -prune -o -type f -print | sort); }
# Same files, byte for byte (metadata.json apart: exportedAt and run).
same_files() {
    [[ "$(artifact_files "$1")" == "$(artifact_files "$2")" ]] || return 1
    local f
    while IFS= read -r f; do
        [[ $f == ./metadata.json ]] && continue
        cmp -s "$1/$f" "$2/$f" || { echo "differs: $f" >&2; return 1; }
    done < <(artifact_files "$1")
}
shard() { "$lattice" export "$patch" -o "$1" "${common[@]}" --shard "$2" "${@:3}"; }
journaled() { local n; n=$(grep -c '^{"frame":' "$1" 2>/dev/null); echo "${n:-0}"; }
# A shard's process is stopped (SIGSTOP) as soon as its journal holds a
# frame: what the test then sees of it cannot change under its feet. A
# 15-frame slice takes far longer than one poll, and the caller checks
# that it was stopped before its last frame.
stop_at_first_frame() { # JOURNAL PID
    for _ in $(seq 3000); do
        [[ $(journaled "$1") -ge 1 ]] && break
        sleep 0.01
    done
    kill -STOP "$2"
}

expect "reference export" 0 "$lattice" export "$patch" -o "$tmp/ref" "${common[@]}"

# 1. Three shards at once into one directory, then assemble.
out=$tmp/a
for i in 0 1 2; do
    shard "$out" "$i/3" >"$tmp/shard$i.out" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do
    wait "${pids[$i]}"
    ok "shard $i/3 exits 0" test $? -eq 0
done
pids=()
ok "a shard writes no metadata.json" test ! -e "$out/metadata.json"
ok "shard 1/3 is frames 10-19, sealed" test -s "$out/.lattice/shards/10-19/manifest.jsonl"
ok "a shard records its command" grep -q '"1/3"' "$out/.lattice/shards/10-19/command.json"
ok "a shard stores the program" compgen -G "$out/.lattice/program-*.lxir" >/dev/null
ok "a shard says how to assemble" grep -q "lattice assemble" "$tmp/shard1.out"
expect "verify before assembling" 2 "$lattice" verify "$out"
ok "... points at assemble" grep -q "holds 3 shards of an export and no metadata.json yet: \`lattice assemble" "$tmp/err"
expect "assemble" 0 "$lattice" assemble "$out"
ok "assemble says what it merged" grep -q "frames 0-29 from 3 shards" "$tmp/out"
ok "the manifest equals one machine's" same_manifest "$out" "$tmp/ref"
ok "every file equals one machine's" same_files "$out" "$tmp/ref"
expect "the assembled export verifies" 0 "$lattice" verify "$out"
expect "a second assemble" 0 "$lattice" assemble "$out"
expect "the same plain export is complete" 0 "$lattice" export "$patch" -o "$out" "${common[@]}"
ok "... and renders nothing" grep -q "nothing to render" "$tmp/out"
expect "an assembled export extends to more frames" 0 "$lattice" export "$patch" -o "$out" \
    --frames 0-34 --config "$tmp/small.json" --artifacts all --threads 1
ok "... rendering only the new ones" grep -q "(5 rendered)" "$tmp/out"
expect "... and then is complete, its shards of fewer frames no other export" 0 \
    "$lattice" export "$patch" -o "$out" --frames 0-34 --config "$tmp/small.json" \
    --artifacts all --threads 1
ok "... rendering nothing" grep -q "nothing to render" "$tmp/out"

# 1b. Unassembled shards are the export for a plain lattice export too: it
#     keeps their frames and writes the manifest assemble would.
out=$tmp/a2
expect "shard 0/2" 0 shard "$out" 0/2
expect "shard 1/2" 0 shard "$out" 1/2
expect "a plain export of 0-9 into unassembled shards" 0 "$lattice" export "$patch" -o "$out" \
    --frames 0-9 --config "$tmp/small.json" --artifacts all --threads 1 --json
ok "... joins the shards' range and renders nothing" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["frames"]==[0,29] and r["rendered"]==0 and r["kept"]==30))' "$tmp/out"
ok "... the same manifest" same_manifest "$out" "$tmp/ref"
printf '{"resolution": [32, 24]}\n' >"$tmp/other.json"
expect "a shard of other settings elsewhere" 0 "$lattice" export "$patch" -o "$tmp/z" \
    --frames 0-29 --config "$tmp/other.json" --threads 1 --shard 1/3
cp -r "$tmp/z/.lattice/shards/10-19" "$out/.lattice/shards/"
expect "books of two exports: a plain export refuses" 2 "$lattice" export "$patch" -o "$out" \
    "${common[@]}"
ok "... saying so" grep -q "holds shards of more than one export" "$tmp/err"
expect "... and so does assemble" 2 "$lattice" assemble "$out"
expect "... and a shard" 2 shard "$out" 0/2

# 2. Another split (ranges, as an engine hands them out), in reverse order.
out=$tmp/b
expect "shard 7-29" 0 shard "$out" 7-29
expect "shard 0-6" 0 shard "$out" 0-6 --json
ok "--json names the shard and its frames" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["status"]=="done" and r["shard"]=="0-6" and r["frames"]==[0,6] and r["rendered"]==7))' "$tmp/out"
expect "assemble another split" 0 "$lattice" assemble "$out"
ok "... the same manifest" same_manifest "$out" "$tmp/ref"
ok "... the same files" same_files "$out" "$tmp/ref"

# 3. A shard that never ran: named, with the command that renders it.
out=$tmp/c
expect "shard 0/3 alone" 0 shard "$out" 0/3
expect "shard 2/3 alone" 0 shard "$out" 2/3
expect "assemble with a gap" 1 "$lattice" assemble "$out"
ok "the gap is named" grep -q "frames 10-19: no shard has written them" "$tmp/err"
ok "nothing is written" test ! -e "$out/metadata.json"
redo=$(sed -n 's/.*frames 10-19: no shard has written them; redo: //p' "$tmp/err")
ok "the redo command renders exactly the gap" grep -q -- "--shard 10-19" <<<"$redo"
expect "run the redo command" 0 bash -c "$redo"
expect "assemble after the redo" 0 "$lattice" assemble "$out"
ok "... the same files" same_files "$out" "$tmp/ref"
expect "assemble --json of a whole export" 0 "$lattice" assemble "$out" --json --rehash
ok "--rehash re-hashes every file" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["status"]=="assembled" and r["trusted"]==0 and r["rehashed"]>=300))' "$tmp/out"

# 4. A shard killed mid-way: assemble names it as incomplete; its re-run
#    resumes and completes the export.
out=$tmp/d
expect "shard 0/2" 0 shard "$out" 0/2
"$lattice" export "$patch" -o "$out" "${common[@]}" --shard 1/2 --chunk 1 >"$tmp/kill.out" 2>&1 &
pids=($!)
journal=$out/.lattice/shards/15-29/progress.jsonl
stop_at_first_frame "$journal" "${pids[0]}"
ok "the shard journals frames as it goes" test "$(journaled "$journal")" -ge 1
ok "... and is stopped before its last" test "$(journaled "$journal")" -lt 15
expect "assemble while a shard runs" 1 "$lattice" assemble "$out"
ok "a shard in progress is named" grep -E -q "shard 1/2 \(frames 15-29\): running" "$tmp/err"
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null
pids=()
expect "assemble after the kill" 1 "$lattice" assemble "$out"
ok "the killed shard is incomplete" grep -q "shard 1/2 (frames 15-29): incomplete" "$tmp/err"
ok "... with its command" grep -q "redo: cd .* --shard 1/2" "$tmp/err"
expect "assemble --json names it" 1 "$lattice" assemble "$out" --json
ok "... as a gap with a redo" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); g=r["gaps"]; sys.exit(not (r["status"]=="incomplete" and len(g)==1 and g[0]["shard"]=="1/2" and g[0]["frames"]==[15,29] and "--shard 1/2" in g[0]["redo"]))' "$tmp/out"
expect "re-run the killed shard" 0 shard "$out" 1/2
expect "assemble after the re-run" 0 "$lattice" assemble "$out"
ok "... the same manifest" same_manifest "$out" "$tmp/ref"
ok "... the same files" same_files "$out" "$tmp/ref"
ok "no temporary file is left" test -z "$(find "$out" -name '.*.tmp-*' -o -name '.*.a[0-9]*')"

# 4b. SIGTERM (scancel, a pod's deletion) drains like Ctrl-C: the frames in
#     hand are finished and journaled, the exit status is 143.
out=$tmp/d2
"$lattice" export "$patch" -o "$out" "${common[@]}" --shard 0/2 --chunk 1 >"$tmp/term.out" 2>&1 &
pids=($!)
journal=$out/.lattice/shards/0-14/progress.jsonl
stop_at_first_frame "$journal" "${pids[0]}"
ok "the shard is stopped before its last frame" test "$(journaled "$journal")" -lt 15
kill -TERM "${pids[0]}"
kill -CONT "${pids[0]}"
wait "${pids[0]}"
ok "SIGTERM exits 143" test $? -eq 143
pids=()
ok "... after finishing the frames in hand" grep -q "terminated: finishing the frames in hand" "$tmp/term.out"
done_n=$(sed -n 's/.*stopped with \([0-9]*\) of 15 frames.*/\1/p' "$tmp/term.out")
ok "... saying how many frames are in" test -n "$done_n"
ok "... each of them journaled" test "$(grep -c '^{"frame":' "$journal")" -eq "${done_n:--1}"
expect "re-run the terminated shard" 0 shard "$out" 0/2
ok "... renders only the rest" grep -q "($((15 - ${done_n:-0})) rendered)" "$tmp/out"

# 5. A complete shard re-run touches nothing; a damaged file is found by
#    assemble and rendered again by its shard.
out=$tmp/e
expect "shard 0/2" 0 shard "$out" 0/2
expect "shard 1/2" 0 shard "$out" 1/2
touch "$tmp/mark"
sleep 0.05
expect "re-run a complete shard" 0 shard "$out" 1/2
ok "... it renders nothing" grep -q "(0 rendered)" "$tmp/out"
ok "... and touches no frame nor its manifest" test -z "$(find "$out" -newer "$tmp/mark" -type f -not -name lock -not -name command.json -not -name progress.jsonl)"
victim=$(cd "$out" && ls rgba | sed -n 20p)
printf 'x' | dd of="$out/rgba/$victim" bs=1 seek=60 conv=notrunc 2>/dev/null
expect "assemble a damaged shard" 1 "$lattice" assemble "$out"
ok "the damaged shard is named" grep -q "shard 1/2 (frames 15-29): damaged, 14 of 15 frames" "$tmp/err"
expect "re-run the damaged shard" 0 shard "$out" 1/2
ok "... it renders one frame" grep -q "(1 rendered)" "$tmp/out"
expect "assemble after the repair" 0 "$lattice" assemble "$out"
ok "... the same files" same_files "$out" "$tmp/ref"

# 6. --shard auto: Kubernetes' and Slurm's environments.
out=$tmp/f
expect "auto from an Indexed Job" 0 env JOB_COMPLETION_INDEX=1 LATTICE_SHARD_COUNT=3 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... is shard 1/3" test -s "$out/.lattice/shards/10-19/manifest.jsonl"
ok "... recorded resolved" grep -q '"1/3"' "$out/.lattice/shards/10-19/command.json"
expect "auto from a Slurm array" 0 env SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=4 \
    SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_COUNT=3 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... task 6 of 4-6 is shard 2/3" test -s "$out/.lattice/shards/20-29/manifest.jsonl"
expect "auto from a Slurm task with a count" 0 env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 \
    SLURM_ARRAY_TASK_MAX=0 SLURM_ARRAY_TASK_COUNT=1 LATTICE_SHARD_COUNT=3 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... task 0 of a count of 3 is shard 0/3, not the whole export" \
    test -s "$out/.lattice/shards/0-9/manifest.jsonl" -a ! -e "$out/metadata.json"
expect "a Slurm task beyond the count" 2 env SLURM_ARRAY_TASK_ID=3 LATTICE_SHARD_COUNT=3 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
expect "auto without an engine" 2 env -u JOB_COMPLETION_INDEX -u SLURM_ARRAY_TASK_ID \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... says what it looked for" grep -q "JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID" "$tmp/err"
expect "auto from an Indexed Job without a count" 2 env JOB_COMPLETION_INDEX=1 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... names LATTICE_SHARD_COUNT" grep -q "LATTICE_SHARD_COUNT" "$tmp/err"
expect "auto from a Slurm array with holes" 2 env SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=4 \
    SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_COUNT=2 \
    "$lattice" export "$patch" -o "$out" "${common[@]}" --shard auto
ok "... says it must be contiguous" grep -q "contiguous" "$tmp/err"

# 7. What a shard refuses, and the edges.
expect "shard 3/3" 2 shard "$tmp/g" 3/3
expect "a range outside the export" 2 shard "$tmp/g" 20-40
ok "... names the export's frames" grep -q "frames are 0-29" "$tmp/err"
expect "not a shard" 2 shard "$tmp/g" half
expect "--replace with --shard" 2 "$lattice" export "$patch" -o "$tmp/g" "${common[@]}" \
    --shard 0/2 --replace
expect "more shards than frames: an empty one" 0 "$lattice" export "$patch" -o "$tmp/g" \
    --frames 0-2 --config "$tmp/small.json" --shard 0/5
ok "... renders nothing" test ! -e "$tmp/g/.lattice"
expect "a shard of another export's directory" 2 "$lattice" export "$patch" -o "$tmp/ref" \
    --frames 0-29 --config "$tmp/small.json" --shard 0/2
ok "... is refused as another export" grep -q "holds an export of 'orbit-cards'" "$tmp/err"
expect "a shard of the whole export is the export" 0 shard "$tmp/h" 0/1
ok "... and writes metadata.json" same_manifest "$tmp/h" "$tmp/ref"
expect "assemble a complete export" 0 "$lattice" assemble "$tmp/h"
ok "... says so" grep -q "complete export already" "$tmp/out"
mkdir -p "$tmp/empty"
expect "assemble an empty directory" 2 "$lattice" assemble "$tmp/empty"
ok "... says it holds no shards" grep -q "holds no shards" "$tmp/err"
expect "assemble without a directory" 2 "$lattice" assemble
expect "assemble --help" 0 "$lattice" assemble --help
expect "--replace removes the shards' books" 0 "$lattice" export "$patch" -o "$tmp/a" \
    --frames 0-4 --config "$tmp/small.json" --replace
ok "... and the stored program" test -z "$(find "$tmp/a/.lattice" -name 'program-*' -o -name shards)"

checks_done
