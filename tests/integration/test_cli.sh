#!/usr/bin/env bash
# The lattice CLI as a user meets it: exit codes, --help, check (text and
# JSON), compile -o, and docs/blocks.md matching the generator.
# Usage: test_cli.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"

expect "no arguments" 2 "$lattice"
expect "--help" 0 "$lattice" --help
ok "--help lists commands" grep -q "compile" "$tmp/out"
expect "unknown command" 2 "$lattice" frobnicate
for cmd in check compile blocks; do
    expect "$cmd --help" 0 "$lattice" "$cmd" --help
    ok "$cmd --help prints usage" grep -q "^usage: lattice $cmd" "$tmp/out"
done
expect "check without a patch" 2 "$lattice" check
expect "check unknown option" 2 "$lattice" check --frob x.json
expect "check missing file" 2 "$lattice" check "$tmp/nope.json"
ok "missing file is named" grep -q "cannot read '$tmp/nope.json'" "$tmp/err"

for ex in "$root"/examples/*.patch.json; do
    expect "check $(basename "$ex")" 0 "$lattice" check "$ex"
    ok "$(basename "$ex") is clean" grep -q ": 0 errors, 0 warnings" "$tmp/out"
done

# A patch with problems: exit 1, every problem listed, JSON that parses.
cat >"$tmp/bad.json" <<'JSON'
{"format":"lattice.patch/1","id":"../x","output":{"width":64,"height":64,"fps":24},
 "blocks":[{"id":"t","type":"InfiniteTimeRoot"},{"id":"o","type":"Oscilator"},
           {"id":"s","type":"Rect","colour":1}]}
JSON
expect "check bad patch" 1 "$lattice" check "$tmp/bad.json"
ok "bad id refused" grep -q "error\[PT-006\]: id '../x' is not a valid id" "$tmp/out"
ok "did you mean Oscillator" grep -q "help: did you mean 'Oscillator'?" "$tmp/out"
ok "unknown field reported too" grep -q "error\[PT-004\]: unknown field 'colour'" "$tmp/out"
ok "summary counts errors" grep -q "bad.json: 3 errors, 1 warning" "$tmp/out"
expect "check --json bad patch" 1 "$lattice" check "$tmp/bad.json" --json
ok "json lists the codes" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
codes = sorted(x["code"] for x in d)
assert codes == ["EX-501", "PT-004", "PT-006", "PT-008"], codes
assert all(x["locations"] for x in d)
assert [x["severity"] for x in d if x["code"] == "EX-501"] == ["warning"]
' "$tmp/out"
printf '{"format": "lattice.patch/1",\n  "id": }' >"$tmp/syntax.json"
expect "syntax error" 1 "$lattice" check "$tmp/syntax.json"
ok "syntax error has line and column" grep -q "invalid JSON at line 2, column 9" "$tmp/out"

# compile -o writes the program atomically and prints its hash.
ex=$root/examples/orbit-cards.patch.json
expect "compile -o" 0 "$lattice" compile "$ex" -o "$tmp/orbit.ir.json"
pinned=$(awk '$1 == "orbit-cards.patch.json" {print $4}' "$root/tests/golden/examples.tsv")
ok "compile prints the pinned hash" grep -q "program hash: $pinned" "$tmp/out"
ok "compile prints the horizon" grep -q "state horizon: 0 frames" "$tmp/out"
ok "IR JSON parses and matches" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["programHash"] == sys.argv[2] and d["timeModel"]["kind"] == "cyclic"
' "$tmp/orbit.ir.json" "$pinned"
ok "no temporary file left" bash -c "! ls '$tmp' | grep -q '\.tmp\.'"
expect "compile to stdout" 0 "$lattice" compile "$ex"
ok "stdout is the IR" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
expect "compile bad patch" 1 "$lattice" compile "$tmp/bad.json" -o "$tmp/bad.ir.json"
ok "no output for a bad patch" test ! -e "$tmp/bad.ir.json"
expect "compile -o without file" 2 "$lattice" compile "$ex" -o

# eval: frames as text, JSON or a hash that matches the golden pin.
expect "eval --help" 0 "$lattice" eval --help
expect "eval infinite without frames" 2 "$lattice" eval "$root/examples/feedback-trails.patch.json"
ok "eval asks for --frames" grep -q "give --frames a-b" "$tmp/err"
expect "eval bad range" 2 "$lattice" eval "$ex" --frames 5-3
expect "eval text" 0 "$lattice" eval "$ex" --frames 0-1
ok "eval prints two frames" test "$(grep -c '^frame ' "$tmp/out")" -eq 2
ok "eval prints 12 cards" grep -q "^frame 0 .* 12 items" "$tmp/out"
expect "eval json" 0 "$lattice" eval "$root/examples/feedback-trails.patch.json" --frames 10-12 --json
ok "eval json parses" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [f["frame"] for f in d] == [10, 11, 12] and d[0]["items"] and d[0]["camera"]["far"] > 0
' "$tmp/out"
expect "eval hash" 0 "$lattice" eval "$ex" --frames 0-239 --hash
pinned_eval=$(awk '$1 == "orbit-cards" {print $2}' "$root/tests/golden/eval.tsv")
ok "eval hash matches the golden pin" grep -q "frames 0-239 hash: $pinned_eval" "$tmp/out"
expect "eval bad patch" 1 "$lattice" eval "$tmp/bad.json" --frames 0-1

# export and verify, as a user runs them.
printf '{"resolution": {"width": 96, "height": 64}}' >"$tmp/small.json"
expect "export --help" 0 "$lattice" export --help
expect "export without -o" 2 "$lattice" export "$ex"
expect "export bad artifact" 2 "$lattice" export "$ex" -o "$tmp/x" --artifacts rgba,dpeth
ok "bad artifact named" grep -q "unknown artifact 'dpeth'" "$tmp/err"
expect "export" 0 "$lattice" export "$ex" -o "$tmp/exp" --frames 0-2 --config "$tmp/small.json" --threads 2
ok "export says where" grep -q "^wrote $tmp/exp: frames 0-2" "$tmp/out"
ok "plain progress when not a terminal" grep -q "exported 3/3 frames" "$tmp/err"
expect "export --timings" 0 "$lattice" export "$ex" -o "$tmp/timed" --frames 0-3 --config "$tmp/small.json" --workers 2 --threads 1 --timings
ok "--timings says where the time went" grep -q "^timings, ms per frame over 4 frames: eval [0-9.]*, raster [0-9.]*, encode" "$tmp/out"
ok "... and each artifact's encode" grep -q "^encode per artifact, ms per frame: rgba [0-9.]*, depth [0-9.]*, motion" "$tmp/out"
expect "export --json --timings" 0 "$lattice" export "$ex" -o "$tmp/timed2" --frames 0-3 --config "$tmp/small.json" --artifacts all --json --timings
ok "... timings of every frame and artifact, summed over the workers" python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["timings"]
a = t["artifacts"]
assert t["frames"] == 4 and t["raster"] > 0 and t["encode"] > 0 and t["write"] > 0, t
assert {"rgba", "depth", "motion", "normal", "id", "control/flow"} <= set(a) and min(a.values()) > 0, a
' "$tmp/out"
expect "export --json without --timings" 0 "$lattice" export "$ex" -o "$tmp/timed3" --frames 0-0 --config "$tmp/small.json" --json
ok "... has no timings" python3 -c 'import json,sys; sys.exit("timings" in json.load(open(sys.argv[1])))' "$tmp/out"
expect "verify" 0 "$lattice" verify "$tmp/exp"
ok "verify counts files" grep -q "all 21 files match" "$tmp/out"
printf 'x' >>"$tmp/exp/depth/frame_000001.exr"
expect "verify corrupted" 1 "$lattice" verify "$tmp/exp"
ok "verify names the file" grep -q "mismatched depth/frame_000001.exr" "$tmp/out"
expect "verify no manifest" 2 "$lattice" verify "$tmp"
mkdir -p "$tmp/busy" && touch "$tmp/busy/keep.txt"
expect "export refuses a foreign directory" 2 "$lattice" export "$ex" -o "$tmp/busy" --frames 0-0
ok "refusal mentions --force" grep -q -- "--force" "$tmp/err"
ok "nothing deleted" test -e "$tmp/busy/keep.txt"
expect "export infinite without frames" 1 "$lattice" export "$root/examples/feedback-trails.patch.json" -o "$tmp/inf"
ok "EX-506 reported" grep -q "error\[EX-506\]" "$tmp/err"
ok "nothing written" test ! -e "$tmp/inf"

# keygen: key pairs and the allow-list line (docs/security.md).
expect "keygen --help" 0 "$lattice" keygen --help
ok "keygen --help prints usage" grep -q "^usage: lattice keygen PATH" "$tmp/out"
expect "keygen without PATH" 2 "$lattice" keygen
expect "keygen bad role" 2 "$lattice" keygen "$tmp/k/x" --role wroker
ok "bad role named" grep -q "worker, client or admin, not 'wroker'" "$tmp/err"
ok "nothing written for a bad role" test ! -e "$tmp/k"
expect "keygen" 0 "$lattice" keygen "$tmp/k/coordinator"
ok "keygen prints nothing on stdout without --role" test ! -s "$tmp/out"
ok "keygen makes both files" test -f "$tmp/k/coordinator.secret" -a -f "$tmp/k/coordinator.public"
ok "the secret is 0600, the public 0644" test "$(stat -c %a "$tmp/k/coordinator.secret" \
    "$tmp/k/coordinator.public" | tr '\n' ' ')" == "600 644 "
expect "keygen --role" 0 "$lattice" keygen "$tmp/k/w" --role worker
key=$(sed -n 's/^public-key = //p' "$tmp/k/w.public")
ok "--role prints the allow-list line" test "$(cat "$tmp/out")" == "worker $key w"
ok "the key is 40 characters" test ${#key} -eq 40
expect "keygen --label" 0 "$lattice" keygen "$tmp/k/me" --role admin --label "ops team"
ok "--label labels the line" grep -q "^admin .* ops team$" "$tmp/out"
expect "keygen refuses to overwrite" 2 "$lattice" keygen "$tmp/k/w" --role worker
ok "and says so" grep -q "'$tmp/k/w.secret' exists" "$tmp/err"
ok "and prints no line" test ! -s "$tmp/out"
ok "the key is unchanged" grep -qF -- "$key" "$tmp/k/w.public"

# docs/blocks.md is generated and must not drift.
expect "blocks --markdown" 0 "$lattice" blocks --markdown
ok "docs/blocks.md is current" cmp -s "$tmp/out" "$root/docs/blocks.md"
expect "blocks" 0 "$lattice" blocks
ok "blocks lists Oscillator" grep -q "^Oscillator" "$tmp/out"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
