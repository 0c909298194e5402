#!/usr/bin/env bash
# `lattice check` reports what `lattice export` would: the patch's
# diagnostics and those of planning its export (EX-503 inexact frames per
# cycle, EX-508 a loop that cannot close, EX-509 frames past the end),
# with --config, --frames and --allow-past-end; `lattice submit` refuses
# frames past the end before it contacts anyone. A resolution the machine
# cannot hold is a warning (LATTICE_MEMORY_LIMIT stands in for a small
# machine).
# Usage: test_check.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"

orbit=$root/examples/orbit-cards.patch.json
logo=$root/examples/logo-sting.patch.json   # finite: 3000 ms at 24 fps, frames 0-71
trails=$root/examples/feedback-trails.patch.json # infinite

# A cycle of 5010 ms at 24 fps is 120.24 frames: EX-503, a warning.
sed 's/"periodMs": 5000/"periodMs": 5010/' "$orbit" >"$tmp/inexact.json"
expect "check inexact cycle" 0 "$lattice" check "$tmp/inexact.json"
ok "EX-503 reported" grep -q "warning\[EX-503\]: a cycle of 5010 ms at 24 fps is 120.24 frames" "$tmp/out"
ok "one summary counts it" grep -q "inexact.json: 0 errors, 1 warning$" "$tmp/out"
expect "check --json inexact cycle" 0 "$lattice" check "$tmp/inexact.json" --json
ok "JSON has EX-503" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [(x["code"], x["severity"]) for x in d] == [("EX-503", "warning")], d
' "$tmp/out"
# The config's framesPerCycle settles it.
echo '{"framesPerCycle": 120}' >"$tmp/fpc.json"
expect "check --config" 0 "$lattice" check "$tmp/inexact.json" --config "$tmp/fpc.json"
ok "EX-503 under the config's name" grep -q "fpc.json: /framesPerCycle: warning\[EX-503\]" "$tmp/out"

# A cyclic patch drawing with the absolute time cannot close: EX-508.
python3 - "$orbit" "$tmp/timed.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["blocks"].append({"id": "spin", "type": "Mul", "inputs": {"b": 0.001}})
p["edges"].append({"from": "time.time", "to": "spin.a"})
p["edges"] = [e for e in p["edges"] if e["to"] != "ring.radius"]
p["edges"].append({"from": "spin.out", "to": "ring.radius"})
for b in p["blocks"]:
    if b["id"] == "ring":
        b.get("inputs", {}).pop("radius", None)
json.dump(p, open(sys.argv[2], "w"))
PY
expect "check time-driven cycle" 0 "$lattice" check "$tmp/timed.json"
ok "EX-508 reported" grep -q "warning\[EX-508\]: frame 120 will not repeat frame 0: block 'spin' reads the absolute time" "$tmp/out"

# Frames past a finite timeline's last frame: EX-509, an error naming it,
# a warning with --allow-past-end (or the config key).
expect "check logo default" 0 "$lattice" check "$logo"
ok "logo clean" grep -q "logo-sting.patch.json: 0 errors, 0 warnings" "$tmp/out"
expect "check logo 0-71" 0 "$lattice" check "$logo" --frames 0-71
expect "check logo 0-72" 1 "$lattice" check "$logo" --frames 0-72
ok "EX-509 names the last frame" grep -q "error\[EX-509\]: frames 0-72 go past frame 71, the last frame of the 3000 ms timeline at 24 fps" "$tmp/out"
ok "EX-509 says how to allow it" grep -q "help: .*--allow-past-end" "$tmp/out"
expect "check logo 0-72 allowed" 0 "$lattice" check "$logo" --frames 0-72 --allow-past-end
ok "EX-509 as a warning" grep -q "warning\[EX-509\]" "$tmp/out"
echo '{"frames": "60-90", "allowPastEnd": true}' >"$tmp/past.json"
expect "check allowPastEnd in a config" 0 "$lattice" check "$logo" --config "$tmp/past.json"
ok "config: EX-509 as a warning" grep -q "past.json: /frames: warning\[EX-509\]" "$tmp/out"

# Infinite patches have no range to check; their settings still are.
expect "check infinite" 0 "$lattice" check "$trails"
ok "infinite clean" grep -q "feedback-trails.patch.json: 0 errors, 0 warnings" "$tmp/out"
echo '{"pngLevel": 12}' >"$tmp/badcfg.json"
expect "check bad config" 1 "$lattice" check "$trails" --config "$tmp/badcfg.json"
ok "bad config reported" grep -q "badcfg.json: /pngLevel: error\[EX-504\]" "$tmp/out"
expect "check bad --frames" 2 "$lattice" check "$logo" --frames 9-3

# Submit plans before it connects: EX-509 refuses the job (exit 1) and no
# coordinator is needed to see it.
expect "submit past the end" 1 "$lattice" submit "$logo" -o /tmp/never --frames 0-500 \
    -c tcp://127.0.0.1:9 --timeout-ms 10
ok "submit says EX-509" grep -q "error\[EX-509\]" "$tmp/err"
expect "submit --allow-past-end gets past planning" 2 "$lattice" submit "$logo" -o /tmp/never \
    --frames 0-500 --allow-past-end -c tcp://127.0.0.1:9 --timeout-ms 10
ok "submit: EX-509 only a warning" bash -c "grep -q 'warning\[EX-509\]' '$tmp/err' && ! grep -q 'error\[EX-509\]' '$tmp/err'"

# The wan preset: 3000 ms at 16 fps is 48 frames, not 4n+1 (EX-510, a
# warning that names the ranges that fit); --fps wins over the preset's.
expect "check --preset wan" 0 "$lattice" check "$logo" --preset wan
ok "EX-510 on 48 frames" grep -q "warning\[EX-510\]: 48 frames is not 4n+1: Wan reads clips of 4n+1 frames and drops the last 3" "$tmp/out"
ok "EX-510 says what fits" grep -q "help: export 45 or 49 frames (frames 0-44 or 0-48)" "$tmp/out"
expect "check --preset wan --fps 24" 0 "$lattice" check "$logo" --preset wan --fps 24 --frames 0-64
ok "65 frames: no EX-510" bash -c "! grep -q 'EX-510' '$tmp/out'"
expect "check --preset unknown" 2 "$lattice" check "$logo" --preset sora
ok "unknown preset named" grep -q "unknown preset 'sora' (wan)" "$tmp/err"
expect "check --fps 0" 2 "$lattice" check "$logo" --fps 0
expect "tracks too large" 1 "$lattice" check "$trails" --frames 0-99999 --artifacts tracks
ok "EX-511" grep -q "error\[EX-511\]" "$tmp/out"

# The video target: a key that is not an 8-bit PNG of the export (EX-504),
# more than 10,000 video frames (EX-512), a malformed list (usage).
expect "check --video depth" 1 "$lattice" check "$orbit" --artifacts rgba,depth --video depth
ok "EX-504 names the key" grep -q "error\[EX-504\]: video key 'depth' holds EXR files" "$tmp/out"
expect "check --video, too many frames" 1 "$lattice" check "$orbit" --frames 0-5000 \
    --artifacts rgba,mask --video rgba,mask/cards
ok "EX-512" grep -q "error\[EX-512\]: 2 videos of 5001 frames are 10002 video frames" "$tmp/out"
expect "check --video rgba,mask/cards" 0 "$lattice" check "$orbit" --artifacts rgba,mask \
    --video mask/cards,rgba
expect "check --video with an empty key" 2 "$lattice" check "$orbit" --video rgba,,edges
ok "the empty key named" grep -q "video key '' is not an artifact file key" "$tmp/err"

# Memory: a 1 MB machine cannot hold 832x480 (a warning from check; the
# estimate is in the message).
echo '{"resolution": [16384, 16384]}' >"$tmp/huge.json"
LATTICE_MEMORY_LIMIT=1000000 expect "check on a small machine" 0 "$lattice" check "$orbit"
ok "memory warning" grep -q "^lattice check: warning: resolution 832x480 needs about [0-9.]* MB per worker (1 thread) and 1.0 MB are available; lower the resolution or the threads" "$tmp/err"
LATTICE_MEMORY_LIMIT=9800000000 expect "check 16384x16384" 0 "$lattice" check "$orbit" --config "$tmp/huge.json"
ok "about 22 GB" grep -q "resolution 16384x16384 needs about 2[2-3].[0-9] GB per worker (1 thread) and 9.8 GB are available" "$tmp/err"
expect "check fits" 0 "$lattice" check "$orbit"
ok "no warning when it fits" test ! -s "$tmp/err"

echo "test_check: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
