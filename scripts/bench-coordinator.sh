#!/usr/bin/env bash
# Coordinator throughput (issue 14, point 3): lattice-loadgen starts a real
# lattice-coordinator on 127.0.0.1 (tcp, CURVE), connects simulated workers
# and SUBMITs an export, and prints what it measured; this script runs it
# for a few fleet and job sizes and prints a table with the targets beside.
# Not a test: it reports numbers, it does not pass or fail on them.
#
#   scripts/bench-coordinator.sh [BUILD_DIR]      (default: build)
#
# Environment: COORDINATOR=PATH measures another lattice-coordinator (an
# older build, for a before/after); QUICK=1 runs the small case only.
# Rows: W workers, F frames in the job, N results ingested (a prefix of F
# when N < F: ingesting 10,000,000 at 20,000/s would take 8 minutes; SUBMIT
# time and RSS are the 10,000,000-frame job's all the same).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
loadgen=$build/bench/lattice-loadgen
coordinator=${COORDINATOR:-$build/coordinator/lattice-coordinator}
patch=$root/examples/orbit-cards.patch.json
for f in "$loadgen" "$coordinator"; do
    [[ -x $f ]] || { echo "bench-coordinator: $f is missing; build first" >&2; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# W F N
cases=("50 200000 100000" "1000 1000000 100000" "1000 10000000 50000")
[[ -n ${QUICK:-} ]] && cases=("50 20000 20000")

value() { sed -n "s/^$1 //p" "$2"; }
printf '%-8s %-9s %-8s %-10s %-8s %-8s %-8s %-9s %-9s %-8s\n' workers frames ingested \
    results/s p50_ms p99_ms RSS_MiB SUBMIT_ms blocked_ms loop_us
for c in "${cases[@]}"; do
    read -r w f n <<<"$c"
    log=$out/$w-$f.txt
    if ! "$loadgen" --coordinator "$coordinator" --patch "$patch" --workers "$w" --frames "$f" \
        --ingest "$n" >"$log" 2>"$out/err.txt"; then
        echo "bench-coordinator: W=$w F=$f failed:" >&2
        cat "$out/err.txt" >&2
        continue
    fi
    printf '%-8s %-9s %-8s %-10s %-8s %-8s %-8s %-9s %-9s %-8s\n' "$w" "$f" \
        "$(value acked "$log")" "$(value results_per_s "$log")" "$(value ack_p50_ms "$log")" \
        "$(value ack_p99_ms "$log")" "$(value coord_vmhwm_mib "$log")" \
        "$(value submit_ms "$log")" "$(value loop_blocked_ms "$log")" \
        "$(value coord_loop_us_per_result "$log")"
done
cat <<'EOF'
targets: results/s >= 20000 (journal on, group commits); RSS <= 1024 MiB at 10,000,000
frames; SUBMIT blocks the loop <= 100 ms (blocked_ms: the longest round trip of a probe
pinging every 2 ms during the SUBMIT). RSS is the coordinator's VmHWM after N results;
loop_us: the coordinator's main thread CPU per result (1e6 / loop_us is what one core
could ingest when the loop alone is the bound). Workers send 4 results ahead of their
ACKs, so p50/p99 include queueing: W x 4 results in flight.
EOF
