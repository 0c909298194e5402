#!/usr/bin/env bash
# The cluster with real processes and real tcp sockets on 127.0.0.1: one
# lattice-coordinator, lattice-worker processes, `lattice submit/status/
# watch/cancel/workers`. Every export must equal `lattice export --threads 1`
# byte for byte (files and the deterministic part of metadata.json).
# No fixed sleeps: every wait polls a condition against a deadline.
# Usage: test_cluster.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"

# Small frames keep the sanitizer build fast; the properties do not depend
# on the resolution.
echo '{"resolution": [208, 120]}' >"$tmp/small.json"
# Long enough that workers are caught mid-chunk.
echo '{"resolution": [416, 240]}' >"$tmp/medium.json"
stateful=$root/examples/feedback-trails.patch.json
refscene=$root/examples/refscene.patch.json

# ---- one-machine references ---------------------------------------------
"$lattice" export "$stateful" --frames 0-23 --config "$tmp/small.json" --threads 1 \
    -o "$tmp/ref-stateful" >/dev/null 2>&1
"$lattice" export "$refscene" --frames 0-23 --config "$tmp/small.json" --threads 1 \
    -o "$tmp/ref-refscene" >/dev/null 2>&1
"$lattice" export "$stateful" --frames 0-59 --config "$tmp/medium.json" --threads 1 \
    -o "$tmp/ref-long" >/dev/null 2>&1
ok "references exported" test -f "$tmp/ref-stateful/metadata.json" -a -f \
    "$tmp/ref-refscene/metadata.json" -a -f "$tmp/ref-long/metadata.json"
ok "references verify" "$lattice" verify "$tmp/ref-stateful" >/dev/null
"$lattice" export "$stateful" --frames 0-23 --config "$tmp/small.json" --threads 2 --workers 3 \
    --chunk 5 -o "$tmp/embedded-3" >/dev/null 2>&1
ok "embedded export with 3 workers equals 1 worker" same_export "$tmp/ref-stateful" "$tmp/embedded-3"

# ---- 1 coordinator + 3 workers: chunk sizes and output modes -------------
start_coordinator main
for w in w1 w2 w3; do start_worker "$w"; done
ok "workers listed" wait_for 20 bash -c "\"$lattice\" workers -c '$endpoint' | grep -c idle | grep -qx 3"
for patch in stateful refscene; do
    src=$stateful
    [[ $patch == refscene ]] && src=$refscene
    for chunk in 1 7 64; do
        for mode in shared stream; do
            out=$tmp/out-$patch-$chunk-$mode
            "$lattice" submit "$src" -c "$endpoint" -o "$out" --frames 0-23 \
                --config "$tmp/small.json" --chunk "$chunk" --output "$mode" --wait \
                >"$tmp/submit.out" 2>"$tmp/submit.err"
            status=$?
            [[ $status -ne 0 ]] && cat "$tmp/submit.out" "$tmp/submit.err" >&2
            ok "$patch chunk $chunk $mode: exit 0" test $status -eq 0
            ok "$patch chunk $chunk $mode: identical to one machine" \
                same_export "$tmp/ref-$patch" "$out"
        done
    done
done
ok "a cluster export verifies" "$lattice" verify "$tmp/out-stateful-7-stream" >/dev/null
# Chunks of 7 over 0-23: exactly 0-6, 7-13, 14-20, 21-23 were assigned.
job7=$(grep -m1 'event=job_submitted' <(grep "out-stateful-7-shared" "$tmp/main.log") |
    sed 's/.*job=\([^ ]*\).*/\1/')
ranges=$(grep "event=assign job=$job7 " "$tmp/main.log" | sed 's/.*frames=\([^ ]*\).*/\1/' |
    sort -n | tr '\n' ' ')
ok "chunk 7 ranges ($ranges)" test "$ranges" == "0-6 7-13 14-20 21-23 "
# Warm-up: the stateful patch's horizon is unbounded, so a chunk starts
# from the coordinator's snapshot nearest before it (every 16 frames:
# docs/runtime.md), else from frame 0; the worker restored the one it got.
warm=$(grep "event=assign job=$job7 " "$tmp/main.log" |
    sed 's/.*frames=\([0-9]*\)-.*warmup_from=\([0-9]*\).*/\1:\2/' | sort -n | tr '\n' ' ')
ok "warm-up from the nearest snapshot ($warm)" test "$warm" == "0:0 7:0 14:0 21:16 "
ok "a worker restored the snapshot at 16" grep -q "event=snapshot job=$job7 .*frame=16" \
    "$tmp"/w?.log
# The journal (real SQLite, read while the coordinator runs).
journal_q() {
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchone()[0])' \
        "$tmp/main-state/journal.sqlite" "$1"
}
ok "journal: WAL" test "$(journal_q 'pragma journal_mode')" == wal
ok "journal: job done" test "$(journal_q "select state from jobs where id = '$job7'")" == done
ok "journal: every frame done" \
    test "$(journal_q "select count(*) from frames where job = '$job7' and state = 'done'")" == 24
ok "journal: one current result per frame" \
    test "$(journal_q "select count(*) from results where job = '$job7' and current = 1")" == 24
ok "journal: 4 attempts, all done" \
    test "$(journal_q "select count(*) || state from attempts where job = '$job7' group by state")" == 4done
# Every worker took part.
for w in w1 w2 w3; do
    ok "$w rendered frames" grep -q "event=assign .* worker=$w" "$tmp/main.log"
done

# ---- client behaviour ------------------------------------------------------
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-stateful-7-shared" --frames 0-23 \
    --config "$tmp/small.json" --chunk 7 --storage shared >"$tmp/again.out" 2>&1
ok "submitting again is idempotent" grep -q "job $job7:" "$tmp/again.out"
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/other" --frames 0-3 --token mytoken \
    >/dev/null 2>&1
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/other2" --frames 0-3 --token mytoken \
    >"$tmp/reuse.out" 2>&1
ok "a reused token with another request is refused" grep -q "token_reused" "$tmp/reuse.out"
echo '{"blocks": 5}' >"$tmp/bad.json"
"$lattice" submit "$tmp/bad.json" -c "$endpoint" -o "$tmp/bad" >/dev/null 2>"$tmp/bad.err"
ok "a bad patch is refused before sending (exit 1)" test $? -eq 1
# Flags with config keys travel merged into the config: the coordinator
# plans what the client checked (the preset's 832x480, --fps 8).
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-wan" --frames 0-4 --preset wan --fps 8 \
    --artifacts rgba,camera --wait >"$tmp/wan.out" 2>&1
ok "submit --preset wan --fps 8: exit 0" test $? -eq 0
"$lattice" export "$stateful" -o "$tmp/ref-wan" --frames 0-4 --preset wan --fps 8 \
    --artifacts rgba,camera >/dev/null 2>&1
ok "... the export one machine makes" same_export "$tmp/ref-wan" "$tmp/out-wan"
ok "... at 832x480 and 8 fps" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["resolution"] == {"width": 832, "height": 480} and d["frameRate"] == 8, d' \
    "$tmp/out-wan/metadata.json"
# A sweep: every seed a job (submitted together, then followed), each the
# export one machine makes of that seed; index.json where this machine
# sees OUT.
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-sweep" --frames 0-3 --seeds 4-5 \
    --config "$tmp/small.json" --wait >"$tmp/sweep.out" 2>&1
ok "submit --seeds 4-5: exit 0" test $? -eq 0
ok "... two jobs" test "$(grep -c '^job ' "$tmp/sweep.out")" -eq 2
"$lattice" export "$stateful" -o "$tmp/ref-sweep" --frames 0-3 --seeds 4-5 \
    --config "$tmp/small.json" >/dev/null 2>&1
for s in 4 5; do
    ok "... seed $s as one machine makes it" same_export "$tmp/ref-sweep/seed-$s" "$tmp/out-sweep/seed-$s"
done
ok "... the index lists both, complete" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["complete"] and a == b, (a, b)' "$tmp/out-sweep/index.json" "$tmp/ref-sweep/index.json"
# --video travels as the config's "video": the coordinator encodes the
# videos the one-machine export does, byte for byte.
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-video" --frames 0-4 \
    --artifacts rgba,mask --video rgba --wait >"$tmp/video.out" 2>&1
ok "submit --video rgba: exit 0" test $? -eq 0
"$lattice" export "$stateful" -o "$tmp/ref-video" --frames 0-4 --artifacts rgba,mask \
    --video rgba >/dev/null 2>&1
ok "... the export one machine makes" same_export "$tmp/ref-video" "$tmp/out-video"
ok "... with video/rgba.mp4" cmp "$tmp/ref-video/video/rgba.mp4" "$tmp/out-video/video/rgba.mp4"
"$lattice" status -c "$endpoint" >"$tmp/status.out"
ok "status lists jobs" grep -q "$job7 *done" "$tmp/status.out"
"$lattice" status nosuchjob -c "$endpoint" >/dev/null 2>"$tmp/status.err"
ok "status of an unknown job exits 1" test $? -eq 1
"$lattice" status -c tcp://127.0.0.1:9 --timeout-ms 100 >/dev/null 2>"$tmp/dead.err"
ok "an absent coordinator exits 2" test $? -eq 2
ok "an absent coordinator is named" grep -q "no answer from the coordinator" "$tmp/dead.err"
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/x" --chunk 1.5 2>"$tmp/opt.err"
ok "a bad --chunk exits 2" test $? -eq 2
ok "and says the range" grep -qx "lattice submit: --chunk takes 1 to 100000" "$tmp/opt.err"
"$lattice" rerender "$tmp/x" "$stateful" --threads 0 2>"$tmp/opt.err"
ok "a bad --threads exits 2" test $? -eq 2
ok "and says the range" grep -qx "lattice rerender: --threads takes 1 to 256" "$tmp/opt.err"
for cmd in submit status watch cancel workers rerender; do
    "$lattice" "$cmd" --help >"$tmp/help.out"
    ok "$cmd --help" grep -q "^usage: lattice $cmd" "$tmp/help.out"
done
"$coordinator" --help | grep -q "^usage: lattice-coordinator" && "$worker" --help |
    grep -q "^usage: lattice-worker"
ok "coordinator and worker --help" test $? -eq 0
"$coordinator" --bind 'tcp://127.0.0.1:*' "${coord_keys[@]}" >/dev/null 2>&1
ok "coordinator without --state exits 2" test $? -eq 2

# ---- SIGTERM drains --------------------------------------------------------
start_worker w4
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-drain" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 10 --storage stream >"$tmp/drain.out" 2>&1
jobd=$(job_of "$tmp/drain.out")
wait_for 60 grep -q "event=assign job=$jobd .*worker=w4" "$tmp/main.log"
kill -TERM "${worker_pid[w4]}"
wait "${worker_pid[w4]}"
ok "drain: SIGTERM exits 0" test $? -eq 0
ok "drain: said goodbye" grep -q "event=goodbye" "$tmp/w4.log"
"$lattice" watch "$jobd" -c "$endpoint" >/dev/null 2>&1
ok "drain: the job completes" test $? -eq 0
ok "drain: identical to one machine" same_export "$tmp/ref-long" "$tmp/out-drain"

# ---- cancel ----------------------------------------------------------------
# `holder` stalls on every frame: when the job is cancelled it is really
# holding a chunk, and must be told.
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-cancel" --frames 0-599 \
    --config "$tmp/medium.json" --chunk 2 >"$tmp/cancel.out" 2>&1
jobc=$(job_of "$tmp/cancel.out")
start_faulty_worker holder stall:-1
ok "cancel: a worker holds a chunk" wait_for 60 holds_chunk holder "$jobc"
"$lattice" cancel "$jobc" -c "$endpoint" >"$tmp/cancel2.out"
ok "cancel: reported" grep -q "cancelled" "$tmp/cancel2.out"
"$lattice" watch "$jobc" -c "$endpoint" >/dev/null 2>&1
ok "cancel: watch exits 1" test $? -eq 1
ok "cancel: no manifest" test ! -f "$tmp/out-cancel/metadata.json"
ok "cancel: the worker holding a chunk was told" wait_for 20 grep -q "event=cancelled" "$tmp/holder.log"
stop_workers holder

# ---- kill -9 of a worker mid-chunk ----------------------------------------
# The victim stalls on every frame, so the chunk it takes is really in
# flight when it is killed; the others join once it holds one.
start_coordinator kill
start_faulty_worker victim stall:-1
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-kill" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 20 >"$tmp/kill.out" 2>&1
jobk=$(job_of "$tmp/kill.out")
ok "kill: job submitted" test -n "$jobk"
ok "kill: the victim holds a chunk" wait_for 60 holds_chunk victim "$jobk"
for w in k1 k2; do start_worker "$w"; done
{ kill -9 "${worker_pid[victim]}" && wait "${worker_pid[victim]}"; } 2>/dev/null
"$lattice" watch "$jobk" -c "$endpoint" >/dev/null 2>&1
ok "kill: the job completes" test $? -eq 0
ok "kill: the dead worker was noticed" grep -q "event=worker_dead worker=victim" "$tmp/kill.log"
ok "kill: its chunk went back to the queue" \
    grep -q "event=attempt_lost job=$jobk .*frames=0-19 reason=dead" "$tmp/kill.log"
ok "kill: identical to one machine" same_export "$tmp/ref-long" "$tmp/out-kill"

# ---- a late joiner, a worker that never says READY, garbage -----------------
# `early` is alone and stalls on frame 30, so whatever is left when `late`
# joins is really left: late must get work, and takes frame 30 too once
# early's attempt is found stuck.
start_coordinator second --max-message-mb 1
start_faulty_worker early stall:30
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-late" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 1 --storage stream --progress-timeout-ms 2000 \
    >"$tmp/late.out" 2>&1
jobl=$(job_of "$tmp/late.out")
wait_for 60 at_least_done "$jobl" 30
"$peer" "${peer_keys[@]}" idle "$endpoint" 4000 >"$tmp/idle.out" &
idle_pid=$!
pids+=($idle_pid)
start_worker late
"$peer" "${peer_keys[@]}" garbage "$endpoint" >"$tmp/garbage.out"
"$peer" "${peer_keys[@]}" oversized "$endpoint" $((2 << 20)) >"$tmp/oversized.out"
"$peer" "${peer_keys[@]}" bad-submit "$endpoint" "$tmp/out-bad-submit" >"$tmp/bad-submit.out"
port=${endpoint##*:}
(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && exec 3>&-) 2>/dev/null
"$lattice" watch "$jobl" -c "$endpoint" >/dev/null 2>&1
ok "late: the job completes" test $? -eq 0
ok "late: the late worker got work" grep -q "event=assign job=$jobl .*worker=late" "$tmp/second.log"
wait "$idle_pid"
ok "idle: a worker without READY gets nothing ($(cat "$tmp/idle.out"))" grep -qx "assigns=0" "$tmp/idle.out"
ok "garbage: every malformed message answered ($(cat "$tmp/garbage.out"))" \
    grep -qx "sent=8 answered=[78]" "$tmp/garbage.out"
ok "garbage: counted" grep -q "event=bad_message .*count=6 " "$tmp/second.log"
ok "oversized: dropped without an answer" grep -qx "replies=0" "$tmp/oversized.out"
ok "a SUBMIT with a patch and a program, or neither, is refused" \
    grep -qx "refused=2" "$tmp/bad-submit.out"
ok "and creates no directory" test ! -e "$tmp/out-bad-submit"
ok "late: identical to one machine" same_export "$tmp/ref-long" "$tmp/out-late"
stop_workers early # it would stall the next job at frame 30
kill -0 "$coord_pid"
ok "the coordinator survived" test $? -eq 0

# ---- the coordinator goes silent: workers reconnect with backoff ----------
"$lattice" submit "$stateful" -c "$endpoint" -o "$tmp/out-pause" --frames 0-59 \
    --config "$tmp/medium.json" --chunk 3 >"$tmp/pause.out" 2>&1
jobp=$(job_of "$tmp/pause.out")
wait_for 60 at_least_done "$jobp" 3
kill -STOP "$coord_pid"
wait_for 20 grep -q "event=coordinator_silent" "$tmp/late.log"
kill -CONT "$coord_pid"
"$lattice" watch "$jobp" -c "$endpoint" >/dev/null 2>&1
ok "pause: the job completes" test $? -eq 0
reconnected() { (($(grep -c 'event=connecting' "$tmp/late.log") >= 2)); }
ok "pause: the worker reconnected" wait_for 30 reconnected
ok "pause: identical to one machine" same_export "$tmp/ref-long" "$tmp/out-pause"

echo "test_cluster: $passed passed, $failed failed"
((failed == 0))
