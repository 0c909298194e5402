#!/usr/bin/env bash
# Failure recovery with real processes on 127.0.0.1 (docs/operations.md):
# a coordinator killed with -9 and started again on the same --state.
# Each case asserts exact outcomes (frames rendered, attempts, final bytes).
# Usage: test_recovery.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER
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
start_coordinator restart --grace-ms 3000
bind=$endpoint
for w in r1 r2 r3; do start_worker "$w"; done
for mode in stream shared; do
    "$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-$mode" --frames 0-59 \
        --config "$tmp/medium.json" --chunk 5 --output $mode >"$tmp/submit.out" 2>&1
    job=$(sed -n 's/^job \([^:]*\):.*/\1/p' "$tmp/submit.out")
    ok "$mode: submitted" test -n "$job"
    wait_for 120 at_least_done "$job" 15
    { kill -9 "$coord_pid" && wait "$coord_pid"; } 2>/dev/null
    # What the journal holds at the crash: these frames must never render again.
    before=$(journal "$tmp/restart-state" \
        "select group_concat(frame) from frames where job = '$job' and state = 'done'")
    n_before=$(journal "$tmp/restart-state" \
        "select count(*) from frames where job = '$job' and state = 'done'")
    ok "$mode: frames were done before the crash ($n_before)" test "$n_before" -ge 15
    all_before=$(journal "$tmp/restart-state" "select count(*) from frames where state = 'done'")
    start_coordinator restart --grace-ms 3000
    ok "$mode: restarted on the same endpoint" test "$endpoint" == "$bind"
    ok "$mode: recovered from the journal" grep -q "event=recovered jobs=[0-9]* frames_done=$all_before " \
        "$tmp/restart.log"
    "$lattice" watch "$job" -c "$endpoint" >/dev/null 2>&1
    ok "$mode: the job completes" test $? -eq 0
    again=$(journal "$tmp/restart-state" \
        "select count(*) from results where job = '$job' and frame in ($before) and current = 0")
    ok "$mode: no completed frame rendered again" test "$again" == 0
    rendered=$(journal "$tmp/restart-state" "select count(*) from results where job = '$job'")
    ok "$mode: each frame accepted once ($rendered results)" test "$(journal "$tmp/restart-state" \
        "select count(*) from results where job = '$job' and current = 1")" == 60
    ok "$mode: identical to one machine" same_export "$tmp/ref" "$tmp/out-$mode"
done

# ---- one coordinator per state directory ------------------------------------
"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/restart-state" >/dev/null 2>"$tmp/second.err"
ok "a second coordinator on the same state exits 2" test $? -eq 2
ok "and says why" grep -q "in use by another coordinator" "$tmp/second.err"

echo "test_recovery: $passed passed, $failed failed"
((failed == 0))
