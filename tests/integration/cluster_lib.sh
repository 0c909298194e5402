# Shared by the cluster tests (sourced): arguments, cleanup, waiting,
# starting processes, comparing exports. Every wait polls a condition
# against a deadline; every process started is killed by its pid on exit.
set -uo pipefail
lattice=$1
root=$2
coordinator=$3
worker=$4
peer=$5
faulty_worker=$6 # lattice-worker with --fault (tests/tools/lx_faulty_worker.c)
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [[ -n ${KEEP_TMP:-} ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check_lib.sh"

# CURVE keys for this run (docs/security.md), made as a user makes them:
# the coordinator's pair; a pool of worker keys, one per worker name (a key
# is a worker's identity: budgets, blocks and audits count keys); an admin
# key for the CLI (lattice status, workers, ...) through LATTICE_SECRET_KEY
# and LATTICE_SERVER_KEY, and for lx_peer.
keys=$tmp/keys
{ "$lattice" keygen "$keys/coordinator" &&
    "$lattice" keygen "$keys/worker" --role worker >>"$keys/allow" &&
    for k in $(seq -w 1 24); do
        "$lattice" keygen "$keys/w$k" --role worker >>"$keys/allow" || exit 1
    done &&
    "$lattice" keygen "$keys/admin" --role admin >>"$keys/allow"; } 2>"$tmp/keygen.err" ||
    { cat "$tmp/keygen.err" >&2; exit 1; }
export LATTICE_SECRET_KEY=$keys/admin.secret LATTICE_SERVER_KEY=$keys/coordinator.public
coord_keys=(--secret-key "$keys/coordinator.secret" --allow "$keys/allow")
worker_keys=(--secret-key "$keys/worker.secret" --server-key "$keys/coordinator.public")
peer_keys=(--secret-key "$keys/admin.secret" --server-key "$keys/coordinator.public")

# keys_for NAME: the key options of worker NAME in wkeys: the next key of the
# pool the first time a name is seen, the same key ever after (a restarted
# worker is the same worker); worker_keys as they are when they are not a
# key pair (--insecure).
declare -A key_of
keys_used=0
keys_for() {
    if [[ ${worker_keys[0]} != --secret-key ]]; then
        wkeys=("${worker_keys[@]}")
        return
    fi
    if [[ -z ${key_of[$1]:-} ]]; then
        keys_used=$((keys_used + 1))
        ((keys_used <= 24)) || { echo "cluster_lib: more than 24 worker names" >&2; exit 1; }
        key_of[$1]=$(printf 'w%02d' "$keys_used")
    fi
    wkeys=(--secret-key "$keys/${key_of[$1]}.secret" --server-key "$keys/coordinator.public")
}

# key_text NAME: worker NAME's public key, its identity in the journal.
key_text() {
    keys_for "$1"
    sed -n 's/^public-key = //p' "$keys/${key_of[$1]}.public"
}

wait_for() { # wait_for SECONDS COMMAND...: polls COMMAND until it succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS >= deadline)) && return 1
        sleep 0.05
    done
}

# start_coordinator NAME [ARGS...]: sets $endpoint
start_coordinator() {
    local name=$1
    shift
    # Counted before the start: a fast coordinator may log before we look.
    local starts=$(grep -c 'event=started' "$tmp/$name.log" 2>/dev/null)
    "$coordinator" --bind "${bind:-tcp://127.0.0.1:*}" --state "$tmp/$name-state" \
        "${coord_keys[@]}" --heartbeat-ms 200 --log-level debug "$@" 2>>"$tmp/$name.log" &
    pids+=($!)
    coord_pid=$!
    wait_for 20 bash -c "(( \$(grep -c 'event=started' '$tmp/$name.log') > ${starts:-0} ))" ||
        { cat "$tmp/$name.log" >&2; exit 1; }
    endpoint=$(sed -n 's/.*event=started bind=\([^ ]*\).*/\1/p' "$tmp/$name.log" | tail -1)
}

# start_worker NAME: its pid in worker_pid[NAME]
declare -A worker_pid
start_worker() {
    keys_for "$1"
    "$worker" --connect "$endpoint" "${wkeys[@]}" --name "$1" --heartbeat-ms 200 \
        --log-level debug 2>"$tmp/$1.log" &
    pids+=($!)
    worker_pid[$1]=$!
}

# start_faulty_worker NAME SPEC: a worker whose renderer fails, stalls, lies or
# is late as SPEC says (fail:F, stall:F, corrupt:N, gate:F:PATH;
# docs/operations.md); its pid in
# worker_pid[NAME]
start_faulty_worker() {
    keys_for "$1"
    "$faulty_worker" --fault "$2" --connect "$endpoint" "${wkeys[@]}" --name "$1" \
        --heartbeat-ms 200 --log-level debug 2>"$tmp/$1.log" &
    pids+=($!)
    worker_pid[$1]=$!
}

job_of() { # job_of FILE: the job id a `lattice submit` printed into FILE
    sed -n 's/^job \([^:]*\):.*/\1/p' "$1"
}

listed() { # listed WORKER: lattice workers lists a session of WORKER
    "$lattice" workers --json -c "$endpoint" | python3 -c 'import json,sys
sys.exit(0 if any(w["name"] == sys.argv[1] for w in json.load(sys.stdin)) else 1)' "$1"
}
not_listed() { ! listed "$1"; }

# stop_workers NAME...: kill -9 them, then wait until the coordinator has
# declared them dead, so that the next case starts with no stale session
# that could still be handed work.
stop_workers() {
    local n
    for n in "$@"; do kill -9 "${worker_pid[$n]}" 2>/dev/null; done
    for n in "$@"; do wait_for 20 not_listed "$n" || echo "stop_workers: $n is still listed" >&2; done
}

holds_chunk() { # holds_chunk WORKER JOB: lattice workers says WORKER holds an attempt of JOB
    "$lattice" workers --json -c "$endpoint" | python3 -c 'import json,sys
sys.exit(0 if any(w["name"] == sys.argv[1] and w.get("job") == sys.argv[2] for w in json.load(sys.stdin)) else 1)' "$1" "$2"
}

job_done_count() { # job_done_count JOB: frames done so far
    "$lattice" status "$1" --json -c "$endpoint" 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["done"])' 2>/dev/null || echo 0
}
at_least_done() { (($(job_done_count "$1") >= $2)); }

