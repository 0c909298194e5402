#!/usr/bin/env bash
# lattice export resumes and merges (docs/export-format.md, "Resume and
# ranges"): Ctrl-C drains and says how to resume, the same command renders
# only what is missing or damaged, a finished export is a no-op that
# touches nothing, ranges of one export join into one manifest, anything
# else in OUT is refused or (--replace) removed, and verify and rerender
# read an export that never finished.
# Usage: test_resume.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
export_pid=
trap '[[ -n $export_pid ]] && kill "$export_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"
patch=$root/examples/orbit-cards.patch.json

strip_manifest() {
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("exportedAt"); m.pop("run"); print(json.dumps(m, sort_keys=True))' "$1"
}
same_manifest() { [[ "$(strip_manifest "$1/metadata.json")" == "$(strip_manifest "$2/metadata.json")" ]]; }
journal_frames() { grep -c '^{"frame":' "$1/.lattice/progress.jsonl" 2>/dev/null || true; }
# Every file under the artifact directories, relative, sorted.
artifact_files() { (cd "$1" && find . -path ./.lattice -prune -o -type f -print | sort); }

# The reference: one uninterrupted export (60 frames; the ranges below use
# a small resolution and all 120).
expect "reference export" 0 "$lattice" export "$patch" -o "$tmp/ref" --frames 0-59 --threads 1
printf '{"resolution": [208, 120]}\n' >"$tmp/small.json"
expect "small reference export" 0 "$lattice" export "$patch" -o "$tmp/sref" --config "$tmp/small.json" --threads 1
ok "the reference has a progress journal" test -s "$tmp/ref/.lattice/progress.jsonl"
expect "the reference verifies" 0 "$lattice" verify "$tmp/ref"

# 1. Ctrl-C: the frames in hand are finished, nothing half-written, how to resume.
out=$tmp/long
"$lattice" export "$patch" -o "$out" --frames 0-59 --threads 1 --chunk 5 >"$tmp/int.out" 2>"$tmp/int.err" &
export_pid=$!
for _ in $(seq 600); do
    n=$(journal_frames "$out")
    [[ ${n:-0} -ge 10 ]] && break
    kill -0 "$export_pid" 2>/dev/null || break
    sleep 0.1
done
# Stopped (SIGSTOP) from here on, so that what the checks see cannot change
# under their feet: the export cannot finish before Ctrl-C reaches it.
kill -STOP "$export_pid"
ok "the export is stopped before its last frame" test "$(journal_frames "$out")" -lt 60
# Meanwhile a second export into the same directory is refused at once.
expect "a second export into a busy directory" 2 "$lattice" export "$patch" -o "$out" --frames 0-59 --threads 1
ok "it says another export is writing there" grep -q "another lattice export is writing into" "$tmp/err"
kill -INT "$export_pid"
kill -CONT "$export_pid"
wait "$export_pid"
status=$?
export_pid=
ok "Ctrl-C exits 130" test "$status" -eq 130
ok "Ctrl-C says how to resume" grep -q "run the same command again to resume" "$tmp/int.err"
ok "an interrupted export has no metadata.json" test ! -e "$out/metadata.json"
done_frames=$(journal_frames "$out")
ok "the journal holds every frame on disk" \
    test "$(find "$out/rgba" -name 'frame_*.png' | wc -l)" -eq "$done_frames"
ok "no temporary or attempt file is left" test -z "$(find "$out" -name '.frame_*')"
expect "verify reads an unfinished export" 1 "$lattice" verify "$out"
ok "verify says how many frames are done" grep -q "incomplete $done_frames of 60 frames" "$tmp/out"
ok "verify finds the done frames intact" grep -q " 0 missing, 0 mismatched" "$tmp/out"

# The same command resumes: only the missing frames are rendered.
expect "resume" 0 "$lattice" export "$patch" -o "$out" --frames 0-59 --threads 1 --json
ok "resume says what it keeps" grep -q "holds $done_frames of 60 frames" "$tmp/err"
ok "resume renders only the missing frames" \
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(not (s["status"] == "done" and s["kept"] == int(sys.argv[2]) and s["rendered"] == 60 - int(sys.argv[2])))' \
    "$tmp/out" "$done_frames"
ok "a resumed export equals one run" same_manifest "$out" "$tmp/ref"
ok "a resumed export has the same files" diff -r -q -x metadata.json -x .lattice "$out" "$tmp/ref"
expect "the resumed export verifies" 0 "$lattice" verify "$out"

# A finished export: the same command is a no-op that writes nothing.
touch "$tmp/marker"
sleep 0.01
expect "a finished export is a no-op" 0 "$lattice" export "$patch" -o "$out" --frames 0-59 --threads 1
ok "the no-op says so" grep -q "is complete" "$tmp/out"
ok "the no-op touches no file" test -z "$(find "$out" -path "$out/.lattice" -prune -o -newer "$tmp/marker" -type f -print)"

# Damage: a deleted file and a changed one (same size, new time) are rendered again.
rm "$out/rgba/frame_000005.png"
size=$(stat -c %s "$out/depth/frame_000007.exr")
head -c "$size" /dev/zero >"$out/depth/frame_000007.exr"
expect "repair by running again" 0 "$lattice" export "$patch" -o "$out" --frames 0-59 --threads 1 --json
ok "exactly the two damaged frames are rendered" grep -q '"rendered":[[:space:]]*2' "$tmp/out"
expect "the repaired export verifies" 0 "$lattice" verify "$out"
ok "the repaired export equals one run" same_manifest "$out" "$tmp/ref"

# rerender completes an unfinished export too.
rm -rf "$tmp/part"
expect "a partial export" 0 "$lattice" export "$patch" -o "$tmp/part" --frames 0-59 --threads 1
rm "$tmp/part/metadata.json" "$tmp/part/rgba/frame_000050.png"
expect "rerender reads an unfinished export" 0 "$lattice" rerender "$tmp/part" "$patch"
ok "rerender renders the missing frame" grep -q "rendered 1 frames" "$tmp/out"
ok "rerender's export equals one run" same_manifest "$tmp/part" "$tmp/ref"

# 2. Ranges: an export of 96 frames, then a narrower range: one manifest, no stale file.
r=$tmp/ranges
small=(--config "$tmp/small.json" --threads 1)
expect "frames 0-95" 0 "$lattice" export "$patch" -o "$r" --frames 0-95 "${small[@]}"
expect "frames 10-20 into it" 0 "$lattice" export "$patch" -o "$r" --frames 10-20 "${small[@]}"
ok "the manifest still lists frames 0-95" \
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(not (m["frameRange"] == [0, 95] and len(m["checksums"]["rgba"]["files"]) == 96))' \
    "$r/metadata.json"
expect "verify finds no extra file" 0 "$lattice" verify "$r"
expect "extending to 0-119" 0 "$lattice" export "$patch" -o "$r" --frames 90-119 "${small[@]}" --json
ok "extending renders only the new frames" grep -q '"rendered":[[:space:]]*24' "$tmp/out"
ok "the extended export equals one run" same_manifest "$r" "$tmp/sref"
expect "frames 0-9" 0 "$lattice" export "$patch" -o "$tmp/ranges2" --frames 0-9 "${small[@]}"
expect "a gap is refused" 2 "$lattice" export "$patch" -o "$tmp/ranges2" --frames 20-29 "${small[@]}"
ok "the refusal names the range to ask for" grep -q "ask for frames 0-29" "$tmp/err"

# Other settings or another patch: refused, or removed with --replace.
expect "other settings are refused" 2 "$lattice" export "$patch" -o "$r" --artifacts rgba "${small[@]}"
ok "the refusal names --replace" grep -q -- "--replace" "$tmp/err"
ok "nothing was touched" same_manifest "$r" "$tmp/sref"
other=$root/examples/logo-sting.patch.json
expect "another patch is refused" 2 "$lattice" export "$other" -o "$r" --frames 0-3 "${small[@]}"
echo keep >"$r/notes.txt"
expect "--replace removes the old export" 0 "$lattice" export "$patch" -o "$r" --frames 0-2 --artifacts rgba "${small[@]}" --replace
ok "only the new export's files remain" \
    test "$(artifact_files "$r" | tr '\n' ' ')" = "./metadata.json ./notes.txt ./rgba/frame_000000.png ./rgba/frame_000001.png ./rgba/frame_000002.png "
ok "the note names what stays" grep -q "'notes.txt'" "$tmp/err"
expect "the replaced export verifies" 0 "$lattice" verify "$r"

# --replace never follows a link out of the export: a camera/ planted as a
# link to another directory keeps that directory's files.
expect "an export to replace" 0 "$lattice" export "$patch" -o "$tmp/linked" --frames 0-1 "${small[@]}"
mkdir -p "$tmp/victim" && echo precious >"$tmp/victim/trajectory.json"
rm -rf "$tmp/linked/camera" && ln -s "$tmp/victim" "$tmp/linked/camera"
"$lattice" export "$patch" -o "$tmp/linked" --frames 0-1 --artifacts rgba "${small[@]}" --replace \
    >/dev/null 2>&1
ok "a linked directory's files survive --replace" grep -q precious "$tmp/victim/trajectory.json"

# A directory with someone else's files: refused without --force, never deleted.
mkdir -p "$tmp/foreign" && echo mine >"$tmp/foreign/notes.txt"
expect "a foreign directory is refused" 2 "$lattice" export "$patch" -o "$tmp/foreign" --frames 0-1 "${small[@]}"
expect "--force writes beside foreign files" 0 "$lattice" export "$patch" -o "$tmp/foreign" --frames 0-1 "${small[@]}" --force
ok "foreign files stay" grep -q mine "$tmp/foreign/notes.txt"
ok "and are not left unsaid" grep -q "also holds 1 entry that is not part of the export ('notes.txt')" "$tmp/err"

# Frame numbers: 6 digits, wider for the whole export only when one needs it.
expect "frames past 999999" 0 "$lattice" export "$patch" -o "$tmp/wide" --frames 999998-1000001 "${small[@]}"
ok "every name of the export has 7 digits, in frame order" \
    test "$(ls "$tmp/wide/rgba" | tr '\n' ' ')" = "frame_0999998.png frame_0999999.png frame_1000000.png frame_1000001.png "
expect "the wide export verifies" 0 "$lattice" verify "$tmp/wide"
expect "frames below 1000000" 0 "$lattice" export "$patch" -o "$tmp/narrow" --frames 999997-999999 "${small[@]}"
ok "6 digits while they suffice" test -e "$tmp/narrow/rgba/frame_999999.png"
expect "widening an export's names is refused" 2 "$lattice" export "$patch" -o "$tmp/narrow" --frames 999997-1000000 "${small[@]}"
ok "the refusal says why" grep -q "needs 7" "$tmp/err"

# Bounds: a resolution the memory cannot hold is refused before anything
# is made; frames past a finite timeline are an error unless allowed.
LATTICE_MEMORY_LIMIT=1000000 expect "too little memory" 1 "$lattice" export "$patch" -o "$tmp/mem" --frames 0-0
ok "the refusal has the estimate" grep -q "resolution 832x480 needs about .* are available" "$tmp/err"
ok "nothing was made" test ! -e "$tmp/mem"
sting=$root/examples/logo-sting.patch.json
expect "frames past the end" 1 "$lattice" export "$sting" -o "$tmp/past" --frames 70-73 "${small[@]}"
ok "EX-509 names the last frame" grep -q "EX-509.*go past frame 71" "$tmp/err"
expect "--allow-past-end" 0 "$lattice" export "$sting" -o "$tmp/past" --frames 70-73 "${small[@]}" --allow-past-end
expect "the allowed export resumes as a no-op" 0 "$lattice" export "$sting" -o "$tmp/past" --frames 70-73 "${small[@]}" --allow-past-end
ok "no-op" grep -q "is complete" "$tmp/out"

# --threads defaults to the cores this process may use (metadata's run.threads).
expect "an export with the default threads" 0 "$lattice" export "$patch" -o "$tmp/cores" --frames 0-0 --config "$tmp/small.json"
ok "threads default to the cores" python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(m["run"]["threads"] != int(sys.argv[2]))' \
    "$tmp/cores/metadata.json" "$(nproc)"

# An output path that is a file is an I/O problem.
touch "$tmp/a-file"
expect "-o a file exits 2" 2 "$lattice" export "$patch" -o "$tmp/a-file" --frames 0-0

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
