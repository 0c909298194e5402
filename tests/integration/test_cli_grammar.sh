#!/usr/bin/env bash
# One CLI grammar: exit codes as --help says, --json on compile, verify and
# status, "did you mean" for block types, artifacts and commands, JSON syntax
# errors that say what was expected, `lattice blocks NAME`, h:mm:ss progress,
# and -o/--output naming the output directory of both export and submit.
# Usage: test_cli_grammar.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"

json() { # json FILE PYTHON-ASSERTIONS: d is the parsed FILE
    python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
$2" "$1"
}

ex=$root/examples/orbit-cards.patch.json
printf '{"resolution": {"width": 96, "height": 64}}' >"$tmp/small.json"

# ---- did you mean ---------------------------------------------------------
cat >"$tmp/types.json" <<'JSON'
{"format":"lattice.patch/1","id":"x","output":{"width":64,"height":64,"fps":24},
 "blocks":[{"id":"t","type":"InfiniteTimeRoot"},{"id":"s","type":"Rectangle"},
           {"id":"o","type":"oscillator"}]}
JSON
expect "check unknown types" 1 "$lattice" check "$tmp/types.json"
ok "Rectangle: did you mean Rect" grep -A2 "unknown block type 'Rectangle'" "$tmp/out" -q
ok "Rectangle hint" grep -q "help: did you mean 'Rect'?" "$tmp/out"
ok "oscillator hint" grep -q "help: did you mean 'Oscillator'?" "$tmp/out"
expect "export --artifacts rgb" 2 "$lattice" export "$ex" -o "$tmp/x" --artifacts rgb
ok "artifact hint" grep -qx "lattice export: unknown artifact 'rgb' (did you mean 'rgba'?)" "$tmp/err"
ok "nothing written for a bad artifact" test ! -e "$tmp/x"
expect "submit --artifacts dpeth" 2 "$lattice" submit "$ex" -o "$tmp/x" --artifacts rgba,dpeth \
    -c "ipc://$tmp/none.sock" --timeout-ms 50
ok "submit artifact hint" grep -qx "lattice submit: unknown artifact 'dpeth' (did you mean 'depth'?)" "$tmp/err"
printf '{"artifacts": ["rgba", "dept"]}' >"$tmp/arts.json"
expect "config artifacts dept" 1 "$lattice" export "$ex" -o "$tmp/x" --config "$tmp/arts.json"
ok "config artifact hint" grep -q "help: 'dept' is not an artifact: did you mean 'depth'?" "$tmp/err"
expect "unknown command" 2 "$lattice" exprot "$ex"
ok "command hint" grep -qx "lattice: unknown command 'exprot' (did you mean 'export'?)" "$tmp/err"

# ---- JSON syntax errors say what was expected -----------------------------
syntax() { # syntax NAME TEXT EXPECTED-MESSAGE
    printf '%s' "$2" >"$tmp/syntax.json"
    expect "syntax $1" 1 "$lattice" check "$tmp/syntax.json"
    ok "syntax $1: says '$3'" grep -qF -- "error[PT-001]: $3" "$tmp/out"
}
syntax value '{"format": "lattice.patch/1",
  "id": }' "invalid JSON at line 2, column 9: expected a value after ':', found '}'"
syntax comma '{"format": "lattice.patch/1" "id": "x"}' \
    "invalid JSON at line 1, column 30: expected ',' or '}' after an object member, found '\"'"
syntax trailing '{"id": "x", "blocks": [1, 2,]}' \
    "invalid JSON at line 1, column 29: expected a value after ',', found ']' (JSON has no trailing commas)"
syntax string '{"id": "x' "invalid JSON at line 1, column 8: unterminated string (no closing '\"')"
syntax colon '{"id" "x"}' "invalid JSON at line 1, column 7: expected ':' after the member name, found '\"'"
syntax key "{'id': 1}" "invalid JSON at line 1, column 2: expected a member name in double quotes or '}', found a single quote"

# An export config's syntax errors too.
printf '{"resolution": [208, 120],}' >"$tmp/config.json"
expect "config syntax" 1 "$lattice" export "$ex" -o "$tmp/never" --config "$tmp/config.json"
ok "config syntax: says what was expected" grep -qF \
    "error[EX-504]: invalid JSON at line 1, column 27: expected a member name in double quotes after ','" "$tmp/err"

# ---- TY-116 names the combine modes of the port's type --------------------
cat >"$tmp/writers.json" <<'JSON'
{"format":"lattice.patch/1","id":"x","output":{"width":64,"height":64,"fps":24},
 "blocks":[{"id":"t","type":"InfiniteTimeRoot"},
           {"id":"a","type":"Phasor","inputs":{"frequencyHz":1}},
           {"id":"b","type":"Phasor","inputs":{"frequencyHz":2}},
           {"id":"o","type":"Oscillator"}],
 "edges":[{"from":"a.out","to":"o.phase"},{"from":"b.out","to":"o.phase"}]}
JSON
expect "two writers into a phase" 1 "$lattice" check "$tmp/writers.json"
ok "TY-116 hint lists last and first" \
    grep -q 'help: add "combine": {"phase": "last"} (or first) to the block' "$tmp/out"

# ---- lattice blocks NAME ----------------------------------------------------
expect "blocks --help" 0 "$lattice" blocks --help
ok "blocks --help names NAME" grep -q "^usage: lattice blocks \[NAME\]" "$tmp/out"
expect "blocks Oscillator" 0 "$lattice" blocks Oscillator
ok "blocks Oscillator: title" grep -q "^Oscillator (math)" "$tmp/out"
ok "blocks Oscillator: param shape" grep -q "^  shape .*enum sine|triangle|saw|square *= sine" "$tmp/out"
ok "blocks Oscillator: input phase" grep -q "^  phase .*phase *= required" "$tmp/out"
ok "blocks Oscillator: input amplitude" grep -q "^  amplitude .*= 1 " "$tmp/out"
ok "blocks Oscillator: output out" grep -A1 "^outputs:" "$tmp/out" -q
ok "blocks Oscillator: only that block" test "$(grep -c "^[A-Z]" "$tmp/out")" -eq 1
expect "blocks Rectangle" 2 "$lattice" blocks Rectangle
ok "blocks Rectangle hint" grep -qx "lattice blocks: unknown block type 'Rectangle' (did you mean 'Rect'?)" "$tmp/err"
expect "blocks two names" 2 "$lattice" blocks Rect Ellipse

# ---- compile --json ---------------------------------------------------------
pinned=$(awk '$1 == "orbit-cards.patch.json" {print $4}' "$root/tests/golden/examples.tsv")
expect "compile --json -o" 0 "$lattice" compile "$ex" --json -o "$tmp/orbit.ir.json"
ok "compile --json report" json "$tmp/out" "
assert d['ok'] is True and d['programHash'] == '$pinned', d
assert d['timeModel'] == {'kind': 'cyclic', 'periodMs': 5000, 'mode': 'loop'}, d['timeModel']
assert d['stateHorizon'] == 0 and d['output'] == '$tmp/orbit.ir.json' and d['diagnostics'] == []
assert 'program' not in d"
ok "compile --json -o wrote the program" json "$tmp/orbit.ir.json" "assert d['programHash'] == '$pinned'"
expect "compile --json to stdout" 0 "$lattice" compile "$root/examples/feedback-trails.patch.json" --json
ok "compile --json carries the program" json "$tmp/out" "
assert d['output'] is None and d['program']['programHash'] == d['programHash']
assert d['stateHorizon'] == 'unbounded' and d['timeModel']['kind'] == 'infinite', d['timeModel']"
expect "compile --json bad patch" 1 "$lattice" compile "$tmp/types.json" --json
ok "compile --json lists the errors" json "$tmp/out" "
assert d['ok'] is False and 'programHash' not in d
assert sorted(x['code'] for x in d['diagnostics']) == ['EX-501', 'PT-008', 'PT-008']"
expect "compile --json missing file" 2 "$lattice" compile "$tmp/nope.json" --json
ok "compile --json missing file: nothing on stdout" test ! -s "$tmp/out"

# ---- export progress and verify --json --------------------------------------
expect "export" 0 "$lattice" export "$ex" -o "$tmp/exp" --frames 0-2 --config "$tmp/small.json"
ok "progress shows elapsed and ETA as h:mm:ss" \
    grep -Eq "^exported 3/3 frames \([0-9.]+ fps, elapsed [0-9]+:[0-5][0-9]:[0-5][0-9], ETA 0:00:00\)$" "$tmp/err"
script -qec "'$lattice' export '$ex' -o '$tmp/exp-tty' --frames 0-2 --config '$tmp/small.json'" \
    /dev/null >"$tmp/tty.out" 2>&1
ok "terminal bar shows elapsed and ETA as h:mm:ss" \
    grep -Eq "3/3 frames +[0-9.]+ fps +elapsed [0-9]+:[0-5][0-9]:[0-5][0-9] +ETA 0:00:00" "$tmp/tty.out"
expect "verify --json" 0 "$lattice" verify "$tmp/exp" --json
ok "verify --json counts" json "$tmp/out" "
assert d == {'dir': '$tmp/exp', 'ok': True, 'checked': 21, 'missing': 0, 'mismatched': 0,
             'extra': 0, 'problems': []}, d"
printf 'x' >>"$tmp/exp/depth/frame_000001.exr"
rm "$tmp/exp/rgba/frame_000002.png"
expect "verify --json damaged" 1 "$lattice" verify "$tmp/exp" --json
ok "verify --json problems" json "$tmp/out" "
assert d['ok'] is False and (d['missing'], d['mismatched'], d['extra']) == (1, 1, 0), d
ps = sorted((p['kind'], p['path']) for p in d['problems'])
assert ps == [('mismatched', 'depth/frame_000001.exr'), ('missing', 'rgba/frame_000002.png')], ps"
expect "verify text unchanged" 1 "$lattice" verify "$tmp/exp"
ok "verify text summary" grep -qx "$tmp/exp: 21 checked, 1 missing, 1 mismatched, 0 extra" "$tmp/out"
expect "verify --json no manifest" 2 "$lattice" verify "$tmp" --json
ok "verify --json says why" json "$tmp/out" "assert d['ok'] is False and 'metadata.json' in d['error']"
expect "verify --help" 0 "$lattice" verify --help
ok "verify --help documents --json" grep -q -- "--json" "$tmp/out"

# ---- exit codes as --help says ------------------------------------------------
cp -r "$tmp/exp-tty" "$tmp/bad-manifest"
echo '{"x":' >"$tmp/bad-manifest/metadata.json"
expect "verify unreadable manifest" 2 "$lattice" verify "$tmp/bad-manifest"
expect "rerender unreadable manifest (as verify: 2)" 2 "$lattice" rerender "$tmp/bad-manifest" "$ex"
ok "rerender --help: 2 when OUT has no readable manifest" \
    bash -c "'$lattice' rerender --help | grep -q 'OUT has no readable manifest'"
for cmd in status watch cancel workers submit; do
    "$lattice" "$cmd" --help >"$tmp/help.out"
    ok "$cmd --help ends with its exit status" \
        bash -c "grep -q '^Exit status: 0' '$tmp/help.out' && tail -5 '$tmp/help.out' | grep -q 'answer\.'"
done

# ---- submit -o/--output like export; status --json ---------------------------
mkdir -p "$tmp/exports"
start_coordinator grammar --allow-output "$tmp/exports"
expect "submit --output DIR" 0 "$lattice" submit "$ex" -c "$endpoint" --output "$tmp/exports/a" \
    --frames 0-1
job_a=$(job_of "$tmp/out")
ok "submit --output names the directory" grep -q "^job $job_a: 2 frames -> $tmp/exports/a " "$tmp/out"
expect "submit --output-dir DIR (deprecated spelling)" 0 "$lattice" submit "$ex" -c "$endpoint" \
    --output-dir "$tmp/exports/b" --frames 0-1
ok "--output-dir still names the directory" grep -q " -> $tmp/exports/b " "$tmp/out"
expect "submit --storage stream" 0 "$lattice" submit "$ex" -c "$endpoint" -o "$tmp/exports/c" \
    --frames 0-1 --storage stream
job_c=$(job_of "$tmp/out")
expect "submit --output stream (old spelling of --storage)" 0 "$lattice" submit "$ex" \
    -c "$endpoint" -o "$tmp/exports/d" --frames 0-1 --output stream
expect "submit --output stream without -o" 2 "$lattice" submit "$ex" -c "$endpoint" --output stream
ok "says --output stream is the storage" grep -q "old spelling of --storage" "$tmp/err"
expect "submit --storage bad" 2 "$lattice" submit "$ex" -c "$endpoint" -o "$tmp/exports/e" --storage fast
ok "names the bad storage" grep -qx "lattice submit: --storage is 'shared' or 'stream', not 'fast'" "$tmp/err"
expect "status --json" 0 "$lattice" status -c "$endpoint" --json
ok "status --json lists the jobs" json "$tmp/out" "
jobs = {j['job']: j for j in d}
assert '$job_a' in jobs and '$job_c' in jobs, d
assert jobs['$job_a']['out'] == '$tmp/exports/a' and jobs['$job_a']['total'] == 2
assert jobs['$job_c']['output'] == 'stream'"
expect "status JOB --json" 0 "$lattice" status "$job_a" -c "$endpoint" --json
ok "status JOB --json is that job" json "$tmp/out" "assert [j['job'] for j in d] == ['$job_a'], d"
expect "status unknown job" 1 "$lattice" status nosuchjob -c "$endpoint"
expect "status no answer" 2 "$lattice" status -c "ipc://$tmp/none.sock" --timeout-ms 50

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
