# lattice-loadgen against a real lattice-coordinator, small (tcp, CURVE):
# every result the simulated workers send is acknowledged and the job
# reports done; then a coordinator killed -9 in the middle of a run has
# journaled every result it acknowledged (group commit: an ACK leaves only
# after its batch is committed), and starts again on that journal.
# Nothing is timed: the checks are on what the programs report.
# Usage: test_loadgen.sh LOADGEN COORDINATOR SOURCE_DIR
set -uo pipefail
loadgen=$1
coordinator=$2
root=$3
patch=$root/examples/orbit-cards.patch.json
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
source "$root/tests/integration/check_lib.sh"
value() { sed -n "s/^$1 //p" "$2"; }

# ---- every result acknowledged, the job done --------------------------------
"$loadgen" --coordinator "$coordinator" --patch "$patch" --workers 50 --frames 5000 \
    >"$tmp/run.out" 2>"$tmp/run.err"
status=$?
cat "$tmp/run.out"
ok "loadgen exits 0" test "$status" -eq 0
ok "5000 results sent" test "$(value sent "$tmp/run.out")" == 5000
ok "every result acknowledged" test "$(value acked "$tmp/run.out")" == 5000
ok "no ERROR from the coordinator" test "$(value errors "$tmp/run.out")" == 0
ok "the job reports done" test "$(value job_state "$tmp/run.out")" == done
ok "the job counts 5000 frames done" test "$(value job_done "$tmp/run.out")" == 5000
ok "the temporary directory is gone" \
    bash -c "! grep -q 'kept' '$tmp/run.err'"

# ---- kill -9 between batches: no acknowledged result is lost ----------------
"$loadgen" --coordinator "$coordinator" --patch "$patch" --workers 20 --frames 20000 \
    --window 16 --kill-after 3000 --state "$tmp/state" --acked "$tmp/acked" \
    >"$tmp/kill.out" 2>"$tmp/kill.err"
status=$?
ok "loadgen killed the coordinator after 3000 acknowledgements" \
    test "$status" -eq 0 -a "$(value killed_after "$tmp/kill.out")" -ge 3000
ok "the acknowledged frames were written" test "$(wc -l <"$tmp/acked")" -ge 3000
journal() { # journal SQL [ARG]: the first column of the first row
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2], sys.argv[3:]).fetchone(); print(r[0] if r else "")' \
        "$tmp/state/journal.sqlite" "$@"
}
# Every acknowledged frame is done in the journal, with its current result.
python3 - "$tmp/state/journal.sqlite" "$tmp/acked" >"$tmp/lost" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
done = {f for (f,) in db.execute("SELECT frame FROM frames WHERE state = 'done'")}
current = {f for (f,) in db.execute("SELECT frame FROM results WHERE current = 1")}
acked = [int(l) for l in open(sys.argv[2]) if l.strip()]
lost = [f for f in acked if f not in done or f not in current]
print(len(acked), len(lost), len(done))
PY
read -r n_acked n_lost n_done <"$tmp/lost"
echo "# acknowledged $n_acked, lost $n_lost, done in the journal $n_done"
ok "no acknowledged result is lost" test "$n_lost" -eq 0 -a "$n_acked" -ge 3000
ok "the journal holds at least the acknowledged results" test "$n_done" -ge "$n_acked"
ok "one job in the journal" test "$(journal 'select count(*) from jobs')" == 1
# The killed coordinator's journal opens again and its state comes back.
"$coordinator" --bind "ipc://$tmp/coord.sock" --state "$tmp/state" --log-level info \
    2>"$tmp/restart.log" &
pids+=($!)
restart_pid=$!
deadline=$((SECONDS + 30))
until grep -q 'event=started' "$tmp/restart.log" || ((SECONDS > deadline)); do sleep 0.05; done
recovered=$(sed -n 's/.*event=recovered jobs=\([0-9]*\) frames_done=\([0-9]*\).*/\1 \2/p' "$tmp/restart.log")
ok "the coordinator starts again on the killed one's journal" grep -q 'event=started' "$tmp/restart.log"
ok "it recovers the job and its done frames ($recovered)" test "$recovered" == "1 $n_done"
ok "no job or result is refused on recovery" bash -c "! grep -q 'event=recover_failed\|recover_result_skipped' '$tmp/restart.log'"
kill "$restart_pid"
wait "$restart_pid" 2>/dev/null
checks_done
