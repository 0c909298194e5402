#!/usr/bin/env bash
# The coordinator's Prometheus endpoint (--metrics), scraped with curl as a
# Prometheus server would: a queued job's frames, workers by state, results
# ingested, frames done, rejected messages and refused handshakes by
# reason, the journal-commit histogram; 404 and 405 for anything else; a
# malformed address refused at start. A worker's own endpoint: frames,
# chunks, state. Every wait polls a scrape.
# Usage: test_metrics.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"
patch=$root/examples/orbit-cards.patch.json
echo '{"resolution": [64, 48]}' >"$tmp/tiny.json"

"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/bad-state" "${coord_keys[@]}" \
    --metrics 9464 2>"$tmp/bad.err"
ok "a malformed address is refused at start (exit 2)" test $? -eq 2
ok "and the message names the form" grep -q "HOST:PORT" "$tmp/bad.err"

mkdir -p "$tmp/exports"
start_coordinator metrics --metrics 127.0.0.1:0 --allow-output "$tmp/exports"
port=$(sed -n 's/.*event=metrics addr=127.0.0.1:\([0-9]*\) .*/\1/p' "$tmp/metrics.log")
url=http://127.0.0.1:$port/metrics
scrape() { curl -sf --max-time 10 "$url" >"$tmp/scrape" 2>/dev/null; }
# value METRIC-WITH-LABELS: its value in the last scrape ("" when absent).
value() { awk -v m="$1" '$1 == m {print $2}' "$tmp/scrape"; }
has() { # has METRIC-WITH-LABELS VALUE: a fresh scrape shows it
    scrape && [[ "$(value "$1")" == "$2" ]]
}
at_least() { # at_least METRIC-WITH-LABELS N
    scrape && [[ -n "$(value "$1")" ]] && (($(value "$1") >= $2))
}

ok "it listens on the port it logged" test -n "$port"
ok "a scrape answers 200" scrape
ok "in the Prometheus text format" bash -c "curl -sfI --max-time 10 '$url' | grep -qi 'content-type: text/plain; version=0.0.4'"
ok "every family has HELP and TYPE" bash -c "grep -q '^# TYPE lattice_results_total counter' '$tmp/scrape' && grep -q '^# TYPE lattice_journal_commit_seconds histogram' '$tmp/scrape'"
ok "no worker yet" has 'lattice_workers{state="idle"}' 0

# A job with no worker: its frames wait in the queue.
"$lattice" submit "$patch" -c "$endpoint" -o "$tmp/exports/a" --frames 0-5 \
    --config "$tmp/tiny.json" >"$tmp/a.out" 2>&1
job=$(job_of "$tmp/a.out")
ok "the queue depth of the job" wait_for 20 has "lattice_job_frames{job=\"$job\",state=\"pending\"}" 6
ok "the job is queued" has 'lattice_jobs{state="queued"}' 1

# The worker serves its own metrics too.
keys_for w1
"$worker" --connect "$endpoint" "${wkeys[@]}" --name w1 --heartbeat-ms 200 --log-level debug \
    --metrics 127.0.0.1:0 2>"$tmp/w1.log" &
pids+=($!)
ok "the worker's endpoint is logged" wait_for 20 grep -q "event=metrics addr=127.0.0.1:" "$tmp/w1.log"
wport=$(sed -n 's/.*event=metrics addr=127.0.0.1:\([0-9]*\) .*/\1/p' "$tmp/w1.log")
"$lattice" watch "$job" -c "$endpoint" >/dev/null 2>&1
ok "the job completes" test $? -eq 0
ok "frames done" wait_for 20 has 'lattice_frames{state="done"}' 6
ok "results ingested" has 'lattice_results_total{outcome="accepted"}' 6
ok "the job is done" has 'lattice_jobs{state="done"}' 1
ok "a finished job has no per-job gauges" bash -c "! grep -q 'lattice_job_frames{job=\"$job\"' '$tmp/scrape'"
ok "the worker is idle" has 'lattice_workers{state="idle"}' 1
ok "journal commits are timed" at_least 'lattice_journal_commit_seconds_count' 6
ok "the +Inf bucket holds every commit" \
    test "$(value 'lattice_journal_commit_seconds_bucket{le="+Inf"}')" == \
    "$(value 'lattice_journal_commit_seconds_count')"

curl -sf --max-time 10 "http://127.0.0.1:$wport/metrics" >"$tmp/wscrape"
ok "the worker counts the frames it delivered" grep -qx "lattice_worker_frames_total 6" "$tmp/wscrape"
ok "and its chunks" grep -q '^lattice_worker_chunks_total{outcome="done"} [1-9]' "$tmp/wscrape"
ok "and its state" grep -q '^lattice_worker_state{state="[a-z_]*"} 1$' "$tmp/wscrape"

# Rejected messages and refused handshakes, by reason.
"$peer" "${peer_keys[@]}" garbage "$endpoint" >/dev/null 2>&1
ok "a message that does not decode" wait_for 20 at_least \
    'lattice_messages_rejected_total{reason="bad_message"}' 1
"$lattice" keygen "$keys/stranger" >/dev/null 2>&1
"$peer" --secret-key "$keys/stranger.secret" --server-key "$keys/coordinator.public" \
    ask "$endpoint" HELLO 2000 >/dev/null 2>&1
ok "a key the allow-list does not hold" wait_for 20 at_least \
    'lattice_messages_rejected_total{reason="auth_refused"}' 1

ok "another path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" == 404
ok "another method is 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")" == 405
expect "the coordinator still answers" 0 "$lattice" status -c "$endpoint"

echo "test_metrics: $passed passed, $failed failed"
((failed == 0))
