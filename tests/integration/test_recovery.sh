#!/usr/bin/env bash
# Failure recovery with real processes on 127.0.0.1 (docs/operations.md):
# a coordinator killed with -9 and started again on the same --state.
# Each case asserts exact outcomes (frames rendered, attempts, final bytes).
# Usage: test_recovery.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"

echo '{"resolution": [416, 240]}' >"$tmp/medium.json"
stateful=$root/examples/feedback-trails.patch.json
"$lattice" export "$stateful" --frames 0-59 --config "$tmp/medium.json" --threads 1 \
    -o "$tmp/ref" >/dev/null 2>&1
ok "reference exported" test -f "$tmp/ref/metadata.json"

journal() { # journal STATE_DIR SQL: the first column of the first row
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
        "$1/journal.sqlite" "$2"
}

# ---- kill -9 the coordinator mid-job, start it again on the same state ----
# Whichever worker renders frame 45 waits there for a gate opened after the
# restart, so the crash comes mid-job whatever the timing.
start_coordinator restart --grace-ms 3000
bind=$endpoint
for mode in stream shared; do
    for w in r1 r2 r3; do start_faulty_worker "$w" "gate:45:$tmp/gate-$mode"; done
    "$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-$mode" --frames 0-59 \
        --config "$tmp/medium.json" --chunk 5 --output $mode >"$tmp/submit.out" 2>&1
    job=$(job_of "$tmp/submit.out")
    ok "$mode: submitted" test -n "$job"
    wait_for 120 at_least_done "$job" 15
    { kill -9 "$coord_pid" && wait "$coord_pid"; } 2>/dev/null
    # What the journal holds at the crash: these frames must never render again.
    before=$(journal "$tmp/restart-state" \
        "select group_concat(frame) from frames where job = '$job' and state = 'done'")
    n_before=$(journal "$tmp/restart-state" \
        "select count(*) from frames where job = '$job' and state = 'done'")
    ok "$mode: frames were done before the crash ($n_before)" test "$n_before" -ge 15
    ok "$mode: ... and frame 45 was not" test "$(journal "$tmp/restart-state" \
        "select count(*) from frames where job = '$job' and frame = 45 and state = 'done'")" == 0
    all_before=$(journal "$tmp/restart-state" "select count(*) from frames where state = 'done'")
    # Attempts handed out after the crash have greater ids. (A late result
    # of an attempt cancelled before the crash, from a worker presumed dead
    # under load, is evidence the protocol keeps; it is not a re-render.)
    last_before=$(journal "$tmp/restart-state" "select max(id) from attempts")
    start_coordinator restart --grace-ms 3000
    ok "$mode: restarted on the same endpoint" test "$endpoint" == "$bind"
    ok "$mode: recovered from the journal" grep -q "event=recovered jobs=[0-9]* frames_done=$all_before " \
        "$tmp/restart.log"
    touch "$tmp/gate-$mode"
    "$lattice" watch "$job" -c "$endpoint" >/dev/null 2>&1
    ok "$mode: the job completes" test $? -eq 0
    again=$(journal "$tmp/restart-state" \
        "select count(*) from results where job = '$job' and frame in ($before) and attempt > $last_before")
    ok "$mode: no completed frame rendered again" test "$again" == 0
    rendered=$(journal "$tmp/restart-state" "select count(*) from results where job = '$job'")
    ok "$mode: each frame accepted once ($rendered results)" test "$(journal "$tmp/restart-state" \
        "select count(*) from results where job = '$job' and current = 1")" == 60
    ok "$mode: identical to one machine" same_export "$tmp/ref" "$tmp/out-$mode"
    stop_workers r1 r2 r3
done

# ---- a restart with 70 mask layers: nothing done is rendered again ----------
# Every frame has 76 files. lw waits at frame 20 for a gate, so the crash
# comes with frames 0-19 done and 20-24 in flight, whatever the timing.
python3 - "$tmp/layers.json" <<'PY'
import json, sys
n = 70
blocks = [{"id": "t", "type": "InfiniteTimeRoot"}, {"id": "s", "type": "Rect"}]
blocks += [{"id": "d%d" % i, "type": "RenderInstances"} for i in range(n)]
edges = [{"from": "s.shape", "to": "d%d.shape" % i} for i in range(n)]
json.dump({"format": "lattice.patch/1", "id": "layers", "blocks": blocks, "edges": edges,
           "output": {"width": 32, "height": 32, "fps": 24}}, open(sys.argv[1], "w"))
PY
"$lattice" export "$tmp/layers.json" --frames 0-29 -o "$tmp/ref-layers" >/dev/null 2>&1
ok "layers: reference exported" test -f "$tmp/ref-layers/metadata.json"
unset bind
start_coordinator layers --grace-ms 3000
bind=$endpoint
start_faulty_worker lw "gate:20:$tmp/layers-gate"
"$lattice" submit "$tmp/layers.json" -c "$endpoint" -o "$tmp/out-layers" --frames 0-29 \
    --chunk 5 >"$tmp/layers.out" 2>&1
jobm=$(job_of "$tmp/layers.out")
ok "layers: frames 0-19 done, 20 held at the gate" wait_for 120 at_least_done "$jobm" 20
{ kill -9 "$coord_pid" && wait "$coord_pid"; } 2>/dev/null
last_before=$(journal "$tmp/layers-state" "select max(id) from attempts")
start_coordinator layers --grace-ms 3000
ok "layers: every done frame recovered" \
    grep -q "event=recovered jobs=1 frames_done=20 attempts_in_flight=1 " "$tmp/layers.log"
touch "$tmp/layers-gate"
"$lattice" watch "$jobm" -c "$endpoint" >/dev/null 2>&1
ok "layers: the job completes" test $? -eq 0
ok "layers: no frame done before the crash was handed out again" test "$(journal \
    "$tmp/layers-state" "select count(*) from attempts where id > $last_before and first < 20")" == 0
ok "layers: each frame accepted once" test "$(journal "$tmp/layers-state" \
    "select count(*) || '/' || sum(current) from results where job = '$jobm'")" == 30/30
ok "layers: identical to one machine" same_export "$tmp/ref-layers" "$tmp/out-layers"
stop_workers lw
unset bind

# ---- one coordinator per state directory ------------------------------------
"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/restart-state" "${coord_keys[@]}" \
    >/dev/null 2>"$tmp/second.err"
ok "a second coordinator on the same state exits 2" test $? -eq 2
ok "and says why" grep -q "in use by another coordinator" "$tmp/second.err"

# ---- failure budgets ---------------------------------------------------------
# Fault injection: start_faulty_worker, a test build of the worker
# (docs/operations.md). The shipped worker cannot be made to fail on
# purpose: it knows no fault option and reads no fault variable.
lacks() { # lacks STRING FILE...: every FILE exists and does not contain STRING
    local string=$1 f
    shift
    for f in "$@"; do [[ -f $f ]] && ! grep -q "$string" "$f" || return 1; done
}
ok "lattice-worker reads no LATTICE_WORKER_FAULT" lacks LATTICE_WORKER_FAULT "$worker" "$lattice"
timeout 20 "$worker" --fault fail:1 --connect tcp://127.0.0.1:1 >/dev/null 2>&1
ok "lattice-worker refuses --fault (exit 2)" test $? -eq 2
journal_b() { journal "$tmp/budget-state" "$1"; }
unset bind
start_coordinator budget --forgive-ms 60000
# bad5 alone first, so that it meets frame 5; healthy workers join after.
start_faulty_worker bad5 fail:5
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-budget" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 4 >"$tmp/budget.out" 2>&1
jobb=$(job_of "$tmp/budget.out")
wait_for 60 grep -q "event=chunk_failed job=$jobb .*worker=bad5" "$tmp/budget.log"
start_worker good1
start_worker good2
"$lattice" watch "$jobb" -c "$endpoint" >/dev/null 2>&1
ok "one bad worker: the job completes" test $? -eq 0
ok "one bad worker: identical to one machine" same_export "$tmp/ref" "$tmp/out-budget"
failures5=$(journal_b "select failures from frames where job = '$jobb' and frame = 5")
ok "one bad worker: frame 5 failed once ($failures5)" test "$failures5" == 1
ok "one bad worker: bad5 never got frame 5 again" test "$(journal_b "select count(*) from attempts \
    where job = '$jobb' and worker = '$(key_text bad5)' and 5 between first and last")" == 1
stop_workers bad5 good1 good2

# Three workers that all fail frame 5: it fails once on each, then the job fails.
for w in f1 f2 f3; do start_faulty_worker "$w" fail:5; done
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-fail" --frames 0-11 \
    --config "$tmp/medium.json" --chunk 3 --wait >"$tmp/fail.out" 2>&1
ok "frame failing everywhere: the job fails (exit 1)" test $? -eq 1
jobf=$(job_of "$tmp/fail.out")
ok "frame failing everywhere: failed on 3 distinct workers" \
    test "$(journal_b "select failures || state from frames where job = '$jobf' and frame = 5")" == 3failed
ok "frame failing everywhere: status says why" bash -c "\"$lattice\" status $jobf -c '$endpoint' |
    grep -q 'failed.*3 different workers'"
ok "frame failing everywhere: no manifest" test ! -f "$tmp/out-fail/metadata.json"
stop_workers f1 f2 f3

# A worker that fails everything is blocked after 3 chunks; alone, the job
# says it is waiting instead of hanging in silence.
start_faulty_worker broken fail:-1
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-blocked" --frames 0-29 \
    --config "$tmp/medium.json" --chunk 2 >"$tmp/blocked.out" 2>&1
jobx=$(job_of "$tmp/blocked.out")
status_waiting() { "$lattice" status "$jobx" --json -c "$endpoint" | grep -q '"waiting".*blocked'; }
ok "blocked: the job says it is waiting" wait_for 60 status_waiting
ok "blocked: after exactly 3 failed chunks" test "$(journal_b "select count(*) from attempts \
    where job = '$jobx' and worker = '$(key_text broken)' and state = 'failed'")" == 3
ok "blocked: logged" grep -q "event=worker_blocked job=$jobx worker=broken" "$tmp/budget.log"
"$lattice" workers --json -c "$endpoint" >"$tmp/workers.json"
ok "blocked: shown in lattice workers" python3 -c 'import json,sys
w=[x for x in json.load(open(sys.argv[1])) if x["name"] == "broken"][0]
sys.exit(0 if w["state"] == "blocked" and w["blocked"] == sys.argv[2] else 1)' "$tmp/workers.json" "$jobx"
# A healthy worker joins: the job finishes, identical (frames 0-29 of the reference).
start_worker healer
"$lattice" watch "$jobx" -c "$endpoint" >/dev/null 2>&1
ok "blocked: a healthy worker finishes the job" test $? -eq 0
"$lattice" export "$stateful" --frames 0-29 --config "$tmp/medium.json" -o "$tmp/ref30" \
    >/dev/null 2>&1
ok "blocked: identical to one machine" same_export "$tmp/ref30" "$tmp/out-blocked"
stop_workers broken healer

# ---- stuck work ----------------------------------------------------------------
start_faulty_worker stally stall:7
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-stuck" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 10 --progress-timeout-ms 1500 >"$tmp/stuck.out" 2>&1
jobs_=$(job_of "$tmp/stuck.out")
ok "stuck: detected" wait_for 60 grep -q "event=stuck job=$jobs_ .*worker=stally" "$tmp/budget.log"
start_worker steady
"$lattice" watch "$jobs_" -c "$endpoint" >/dev/null 2>&1
ok "stuck: the job completes" test $? -eq 0
ok "stuck: frame 7 counted one failure, on stally" test "$(journal_b "select failures from frames \
    where job = '$jobs_' and frame = 7")" == 1
ok "stuck: the worker was told" grep -q "event=cancelled" "$tmp/stally.log"
ok "stuck: identical to one machine" same_export "$tmp/ref" "$tmp/out-stuck"
stop_workers stally steady

# ---- fencing: a superseded attempt's results are evidence, not state --------
# p1 is alone and waits at frame 5 for a gate (a file): frozen there, it is
# declared dead and its chunk goes to p2; thawed and let through, it delivers
# frame 5 of its superseded attempt, a late result.
start_faulty_worker p1 "gate:5:$tmp/fence-gate"
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-fence" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 15 >"$tmp/fence.out" 2>&1
jobn=$(job_of "$tmp/fence.out")
ok "fencing: p1 alone takes frames 0-14" \
    wait_for 20 grep -q "event=assign job=$jobn .*frames=0-14 .*worker=p1" "$tmp/budget.log"
ok "fencing: p1 waits at frame 5" wait_for 60 at_least_done "$jobn" 5
kill -STOP "${worker_pid[p1]}"
ok "fencing: frozen p1 is dead" wait_for 20 grep -q "event=worker_dead worker=p1" "$tmp/budget.log"
start_worker p2
touch "$tmp/fence-gate"
kill -CONT "${worker_pid[p1]}"
ok "fencing: p1's frame 5 arrived late" \
    wait_for 30 grep -q "event=late_result job=$jobn .*frame=5 worker=p1" "$tmp/budget.log"
"$lattice" watch "$jobn" -c "$endpoint" >/dev/null 2>&1
ok "fencing: the job completes" test $? -eq 0
late=$(journal_b "select count(*) from results where job = '$jobn' and current = 0")
reported=$("$lattice" status "$jobn" --json -c "$endpoint" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["lateResults"])')
# Frame 5 at least: thawed, p1 may finish more frames of its old attempt
# before its CANCEL arrives, and each is evidence too.
ok "fencing: late results kept as evidence ($late) and counted ($reported)" \
    test "$late" -ge 1 -a "$late" == "$reported"
ok "fencing: one current result per frame" \
    test "$(journal_b "select count(*) from results where job = '$jobn' and current = 1")" == 60
ok "fencing: identical to one machine" same_export "$tmp/ref" "$tmp/out-fence"

# ---- repair ----------------------------------------------------------------------
# Here: damage a copy of the reference, repair it from the patch alone.
cp -r "$tmp/ref" "$tmp/repair"
rm "$tmp/repair/rgba/frame_000003.png"
printf 'x' >>"$tmp/repair/depth/frame_000040.exr"
"$lattice" verify "$tmp/repair" >/dev/null
ok "repair here: damage seen by verify" test $? -eq 1
"$lattice" rerender "$tmp/repair" "$stateful" >"$tmp/rerender.out" 2>&1
ok "repair here: exit 0" test $? -eq 0
ok "repair here: exactly 2 frames rendered" grep -q "rendered 2 frames" "$tmp/rerender.out"
ok "repair here: verify passes" "$lattice" verify "$tmp/repair" >/dev/null
ok "repair here: identical to one machine" same_export "$tmp/ref" "$tmp/repair"
"$lattice" rerender "$tmp/repair" "$root/examples/orbit-cards.patch.json" >/dev/null 2>"$tmp/wrong.err"
ok "repair here: another patch is refused (exit 1)" test $? -eq 1
ok "repair here: and named" grep -q "was exported from" "$tmp/wrong.err"

# On the cluster: a finished job's damaged frames, and a failed job's failed frames.
start_worker fixer1
start_worker fixer2
rm "$tmp/out-budget/normal/frame_000010.exr" "$tmp/out-budget/id/frame_000050.png"
before=$(journal_b "select max(id) from attempts")
"$lattice" rerender "$jobb" -c "$endpoint" >"$tmp/rr.out" 2>&1
ok "repair cluster: exit 0" test $? -eq 0
ok "repair cluster: exactly 2 frames rendered" test "$(journal_b "select sum(last - first + 1) \
    from attempts where job = '$jobb' and id > $before")" == 2
ok "repair cluster: identical to one machine" same_export "$tmp/ref" "$tmp/out-budget"
"$lattice" rerender "$jobf" -c "$endpoint" --only failed >/dev/null 2>&1
ok "repair cluster: the failed job completes" test $? -eq 0
"$lattice" export "$stateful" --frames 0-11 --config "$tmp/medium.json" -o "$tmp/ref12" \
    >/dev/null 2>&1
ok "repair cluster: the failed job is now identical to one machine" \
    same_export "$tmp/ref12" "$tmp/out-fail"

# ---- audit: a worker that corrupts 1 frame in 50 is caught ----------------------
# The liar renders everything alone (audits need a different worker), then
# two honest workers audit every chunk boundary: frames 49 and 99 (corrupted)
# disagree, a third opinion settles it, the liar is quarantined and every
# frame it rendered that no audit confirmed is rendered again.
unset bind
start_coordinator audit
echo '{"resolution": [208, 120]}' >"$tmp/small.json"
"$lattice" export "$stateful" --frames 0-99 --config "$tmp/small.json" -o "$tmp/ref100" \
    >/dev/null 2>&1
start_faulty_worker liar corrupt:50
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-audit" --frames 0-99 \
    --config "$tmp/small.json" --chunk 10 --audit 0 >"$tmp/audit.out" 2>&1
joba=$(job_of "$tmp/audit.out")
ok "audit: the liar rendered every frame" wait_for 120 at_least_done "$joba" 100
ok "audit: the job waits for its audits" test ! -f "$tmp/out-audit/metadata.json"
start_worker honest1
start_worker honest2
"$lattice" watch "$joba" -c "$endpoint" >/dev/null 2>&1
ok "audit: the job completes" test $? -eq 0
ok "audit: a disagreement was found" grep -q "event=audit_disagreement job=$joba" "$tmp/audit.log"
ok "audit: the liar is quarantined" grep -q "event=worker_quarantined worker=liar" "$tmp/audit.log"
"$lattice" workers --json -c "$endpoint" >"$tmp/aw.json"
ok "audit: lattice workers says so" python3 -c 'import json,sys
sys.exit(0 if [w["state"] for w in json.load(open(sys.argv[1])) if w["name"] == "liar"] == ["quarantined"] else 1)' "$tmp/aw.json"
ok "audit: the manifest records it" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))["run"]["audit"]
sys.exit(0 if a["quarantined"] == ["liar"] and a["disputed"] >= 1 and a["rerendered"] >= 2 and a["confirmed"] >= 1 else 1)' \
    "$tmp/out-audit/metadata.json"
ok "audit: the export is right" same_export "$tmp/ref100" "$tmp/out-audit"
ok "audit: and verifies" "$lattice" verify "$tmp/out-audit" >/dev/null

# The caught key comes back under another name: still quarantined, it gets
# no work (identity is the key, not the name).
stop_workers liar
key_of[liar2]=${key_of[liar]}
start_worker liar2
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-audit2" --frames 0-9 \
    --config "$tmp/small.json" --chunk 5 >"$tmp/audit2.out" 2>&1
joba2=$(job_of "$tmp/audit2.out")
listed_quarantined() {
    "$lattice" workers --json -c "$endpoint" | python3 -c 'import json,sys
sys.exit(0 if [w["state"] for w in json.load(sys.stdin) if w["name"] == "liar2"] == ["quarantined"] else 1)'
}
ok "audit: a new name of the caught key is still quarantined" wait_for 20 listed_quarantined
"$lattice" watch "$joba2" -c "$endpoint" >/dev/null 2>&1
ok "audit: the next job completes without it" test $? -eq 0
ok "audit: it was given nothing" bash -c "! grep -q 'event=assign job=$joba2 .*worker=liar2' '$tmp/audit.log'"

echo "test_recovery: $passed passed, $failed failed"
((failed == 0))
