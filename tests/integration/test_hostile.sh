#!/usr/bin/env bash
# What a client or worker with a valid key cannot do to the coordinator:
# write outside --allow-output, through "..", or through a symbolic link
# (and nothing is created for a refused job); crash it with frame numbers
# near 2^63; stall it or eat its memory with a 10,000,000-frame job; make a
# worker write outside its own roots.
# Usage: test_hostile.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"
patch=$root/examples/orbit-cards.patch.json
mkdir -p "$tmp/exports" "$tmp/elsewhere"
ln -s "$tmp/elsewhere" "$tmp/exports/link"
start_coordinator hostile --allow-output "$tmp/exports"
refused() { # refused NAME OUT [ARGS...]: the SUBMIT is refused (exit 1) saying why
    local name=$1 out=$2
    shift 2
    "$lattice" submit "$patch" -c "$endpoint" -o "$out" --frames 0-3 "$@" >"$tmp/$name.out" 2>&1
    local status=$?
    ok "$name: refused (exit $status)" test $status -eq 1
    ok "$name: says why" grep -q "the coordinator refused the job (bad_request)" "$tmp/$name.out"
}
refused outside "$tmp/elsewhere/job"
ok "outside: names the roots" grep -q "outside the allowed roots" "$tmp/outside.out"
refused dotdot "$tmp/exports/../elsewhere/job2"
ok "dotdot: names the rule" grep -q "'\.\.'" "$tmp/dotdot.out"
refused linked "$tmp/exports/link/job3"
ok "linked: names the link" grep -q "symbolic link" "$tmp/linked.out"
ok "nothing was created for the refused jobs" test -z "$(ls -A "$tmp/elsewhere")"
refused huge-frames "$tmp/exports/huge" --frames 9223372036854775806-9223372036854775807
ok "huge-frames: nothing created" test ! -e "$tmp/exports/huge"

# A 10,000,000-frame job is accepted at once and costs next to nothing at
# rest; the coordinator keeps answering (assert on its reply and its memory,
# never on time).
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$coord_pid/status"; }
before=$(rss_kb)
"$lattice" submit "$patch" -c "$endpoint" -o "$tmp/exports/big" --frames 0-9999999 \
    >"$tmp/big.out" 2>&1
ok "10M frames: accepted" grep -q "10000000 frames" "$tmp/big.out"
jobbig=$(job_of "$tmp/big.out")
"$lattice" status "$jobbig" --json -c "$endpoint" >"$tmp/big.json"
ok "10M frames: status answers" python3 -c 'import json,sys
j=json.load(open(sys.argv[1])); j=j[0] if isinstance(j, list) else j
sys.exit(0 if j["total"] == 10000000 else 1)' "$tmp/big.json"
after=$(rss_kb)
ok "10M frames: under 64 MB more memory at rest ($((after - before)) kB)" \
    test $((after - before)) -lt 65536
"$lattice" cancel "$jobbig" -c "$endpoint" >/dev/null 2>&1
ok "the coordinator is alive" "$lattice" status -c "$endpoint" >/dev/null

# A worker writes only below its own roots, whatever the coordinator asks.
mkdir -p "$tmp/worker-root"
keys_for picky
"$worker" --connect "$endpoint" "${wkeys[@]}" --name picky --heartbeat-ms 200 \
    --allow-output "$tmp/worker-root" --log-level debug 2>"$tmp/picky.log" &
pids+=($!)
"$lattice" submit "$patch" -c "$endpoint" -o "$tmp/exports/picky" --frames 0-3 \
    >"$tmp/picky.out" 2>&1
jobp=$(job_of "$tmp/picky.out")
ok "worker roots: the ASSIGN is refused as a bad assignment" wait_for 60 \
    grep -q "event=chunk_failed job=$jobp .*reason=bad_assignment.*outside the allowed roots" \
    "$tmp/hostile.log"
ok "worker roots: it wrote nothing" \
    test -z "$(find "$tmp/exports/picky" -path "*/.lattice" -prune -o -type f -print 2>/dev/null)"

# A worker that cannot hold a frame of the job refuses it before allocating
# (the estimate in the reason) and is blocked for the job, never crashed.
keys_for small
LATTICE_MEMORY_LIMIT=1000000 "$worker" --connect "$endpoint" "${wkeys[@]}" --name small \
    --heartbeat-ms 200 --log-level debug 2>"$tmp/small.log" &
small_pid=$!
pids+=($small_pid)
"$lattice" submit "$patch" -c "$endpoint" -o "$tmp/exports/small" --frames 0-3 \
    >"$tmp/small.out" 2>&1
jobs=$(job_of "$tmp/small.out")
ok "memory: the worker refuses with the estimate" wait_for 60 \
    grep -q "event=chunk_failed job=$jobs .*worker=small.*reason=bad_assignment.*needs about .* are available" \
    "$tmp/hostile.log"
ok "memory: the worker lives on" kill -0 "$small_pid"

echo "test_hostile: $passed passed, $failed failed"
((failed == 0))
