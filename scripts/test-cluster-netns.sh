#!/usr/bin/env bash
# The cluster across hosts: a coordinator and three workers, each in its own
# network namespace, joined by veth links (10.77.N.0/24) as separate
# machines. Mid-export one worker's link is cut for longer than the
# liveness timeout and restored, and the coordinator is killed with -9 and
# started again on its state. The export must equal the one-machine export.
# Frame 200 waits for a gate (the workers are lx_faulty_worker, honest but
# late on that frame) until the coordinator has been restarted, so the
# crash always comes mid-job.
# Needs root and `ip netns`; otherwise it says so and exits 77 (ctest: skipped).
# Every namespace it made is deleted on exit, also on failure.
# Usage: test-cluster-netns.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER FAULTY_WORKER
set -uo pipefail
probe="lxprobe$$"
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns add "$probe" 2>/dev/null ||
    ! ip link add "v$probe" type veth peer name "p$probe" 2>/dev/null; then
    ip netns del "$probe" 2>/dev/null
    echo "SKIPPED: test-cluster-netns needs root, 'ip netns' and veth links (iproute2, CAP_NET_ADMIN)"
    exit 77
fi
ip link del "v$probe" 2>/dev/null
ip netns del "$probe"
source "$(dirname "$0")/../tests/integration/cluster_lib.sh"

prefix="lx$$"
namespaces=()
netns_cleanup() {
    cleanup
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap netns_cleanup EXIT

in_ns() { # in_ns NS COMMAND...
    local ns=$1
    shift
    ip netns exec "$prefix-$ns" "$@"
}

# ---- hosts ------------------------------------------------------------------
ip netns add "$prefix-coord" || { echo "cannot create namespaces" >&2; exit 1; }
namespaces+=("$prefix-coord")
in_ns coord ip link set lo up
for n in 1 2 3; do
    ip netns add "$prefix-w$n" && namespaces+=("$prefix-w$n")
    ip link add "c$prefix$n" type veth peer name "w$prefix$n"
    ip link set "c$prefix$n" netns "$prefix-coord"
    ip link set "w$prefix$n" netns "$prefix-w$n"
    in_ns coord ip addr add "10.77.$n.1/24" dev "c$prefix$n"
    in_ns coord ip link set "c$prefix$n" up
    in_ns "w$n" ip addr add "10.77.$n.2/24" dev "w$prefix$n"
    in_ns "w$n" ip link set "w$prefix$n" up
    in_ns "w$n" ip link set lo up
done
# Refused (no listener) proves the route; only a timeout would mean no link.
reachable() { in_ns w1 timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.1.1/9' 2>/dev/null; (($? != 124)); }
ok "hosts reach each other" reachable

echo '{"resolution": [416, 240]}' >"$tmp/medium.json"
stateful=$root/examples/feedback-trails.patch.json
"$lattice" export "$stateful" --frames 0-239 --config "$tmp/medium.json" -o "$tmp/ref" \
    >/dev/null 2>&1
ok "one-machine reference" test -f "$tmp/ref/metadata.json"

start_coord() {
    # ip netns exec runs the program in its own pid: $! is the coordinator.
    ip netns exec "$prefix-coord" "$coordinator" --bind tcp://0.0.0.0:7700 --state "$tmp/state" \
        "${coord_keys[@]}" --heartbeat-ms 200 --grace-ms 2000 --log-level debug \
        2>>"$tmp/coord.log" &
    pids+=($!)
    coord_pid=$!
    local starts=$1
    wait_for 20 bash -c "(( \$(grep -c 'event=started' '$tmp/coord.log') >= $starts ))"
}
start_coord 1
ok "coordinator up" test $? -eq 0
for n in 1 2 3; do
    keys_for "w$n"
    ip netns exec "$prefix-w$n" "$faulty_worker" --fault "gate:200:$tmp/gate" \
        --connect "tcp://10.77.$n.1:7700" "${wkeys[@]}" --name "w$n" \
        --heartbeat-ms 200 --log-level debug 2>"$tmp/w$n.log" &
    pids+=($!)
done
endpoint=tcp://127.0.0.1:7700
client() { in_ns coord "$lattice" "$@" -c "$endpoint"; }
joined() { (($(grep -c 'event=worker_joined' "$tmp/coord.log") >= 3)); }
ok "three workers joined over their links" wait_for 20 joined

client submit "$stateful" -o "$tmp/out" --frames 0-239 --config "$tmp/medium.json" --chunk 3 \
    --storage stream >"$tmp/submit.out" 2>&1
job=$(job_of "$tmp/submit.out")
ok "submitted" test -n "$job"
done_count() {
    client status "$job" --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["done"])' 2>/dev/null || echo 0
}
done_at_least() { (($(done_count) >= $1)); }

# ---- cut w1's link for longer than the liveness timeout, then restore it ----
wait_for 60 done_at_least 10
in_ns coord ip link set "c${prefix}1" down
ok "cut link: w1 declared dead" wait_for 20 grep -q "event=worker_dead worker=w1" "$tmp/coord.log"
ok "cut link: w1 noticed the silence" wait_for 20 grep -q "event=coordinator_silent" "$tmp/w1.log"
in_ns coord ip link set "c${prefix}1" up
rejoined() { (($(grep -c 'event=worker_joined worker=w1' "$tmp/coord.log") >= 2)); }
ok "restored link: w1 is back" wait_for 60 rejoined

# ---- kill -9 the coordinator and start it again on its state ------------------
wait_for 120 done_at_least 120
{ kill -9 "$coord_pid" && wait "$coord_pid"; } 2>/dev/null
ok "killed mid-job" test ! -f "$tmp/out/metadata.json"
start_coord 2
ok "coordinator restarted" test $? -eq 0
mid_job() { grep "event=recovered" "$tmp/coord.log" | grep -q "frames_done=\(1[2-9][0-9]\|2[0-3][0-9]\) "; }
ok "recovered from the journal, mid-job" mid_job
touch "$tmp/gate"
client watch "$job" >/dev/null 2>&1
ok "the job completes" test $? -eq 0
ok "identical to the one-machine export" same_export "$tmp/ref" "$tmp/out"
ok "verifies" "$lattice" verify "$tmp/out" >/dev/null

echo "test-cluster-netns: $passed passed, $failed failed"
((failed == 0))
