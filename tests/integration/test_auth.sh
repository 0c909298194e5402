#!/usr/bin/env bash
# Authentication and transport limits with real processes on 127.0.0.1
# (docs/security.md): CURVE on tcp, the allow-list and its roles, key files,
# --insecure, key rotation while the coordinator runs, and a flood of idle
# connections. Every wait polls a log line or a reply against a deadline.
# Usage: test_auth.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"

count() { grep -c -F -- "$1" "$2" 2>/dev/null; } # count TEXT FILE: lines holding TEXT
more_than() { (($(count "$1" "$2") > $3)); }       # more_than TEXT FILE N
key_of() { sed -n 's/^public-key = //p' "$1.public"; }
short() { printf '%.8s...' "$1"; } # how the coordinator logs a key
server_key=(--server-key "$keys/coordinator.public")
patch=$root/examples/orbit-cards.patch.json
echo '{"resolution": [64, 48]}' >"$tmp/tiny.json"

# ---- key files -----------------------------------------------------------------
ok "keygen: the secret key is 0600" test "$(stat -c %a "$keys/worker.secret")" == 600
ok "keygen: the public key is 0644" test "$(stat -c %a "$keys/worker.public")" == 644
before=$(sha256sum "$keys/worker.secret")
"$lattice" keygen "$keys/worker" --role worker >"$tmp/again.out" 2>"$tmp/again.err"
ok "keygen: an existing key is not overwritten (exit 2)" test $? -eq 2
ok "keygen: and says so" grep -q "exists" "$tmp/again.err"
ok "keygen: nothing printed for the allow-list" test ! -s "$tmp/again.out"
ok "keygen: the key is unchanged" test "$(sha256sum "$keys/worker.secret")" == "$before"
"$lattice" keygen "$tmp/loose/coordinator" 2>/dev/null
chmod 644 "$tmp/loose/coordinator.secret"
"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/loose-state" \
    --secret-key "$tmp/loose/coordinator.secret" --allow "$keys/allow" 2>"$tmp/loose.err"
ok "a secret key others may read is refused (exit 2)" test $? -eq 2
ok "and the message says chmod 600" grep -q "chmod 600 '$tmp/loose/coordinator.secret'" \
    "$tmp/loose.err"
ok "and names the flag" grep -q -- "--secret-key" "$tmp/loose.err"
printf 'worker %s\nwroker %s\n' "$(key_of "$keys/worker")" "$(key_of "$keys/admin")" >"$tmp/bad-allow"
"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/bad-state" \
    --secret-key "$keys/coordinator.secret" --allow "$tmp/bad-allow" 2>"$tmp/bad-allow.err"
ok "a bad allow-list is refused at start (exit 2)" test $? -eq 2
ok "naming file and line" grep -q "$tmp/bad-allow:2: unknown role 'wroker'" "$tmp/bad-allow.err"

# ---- tcp needs keys or --insecure ------------------------------------------------
"$coordinator" --bind 'tcp://127.0.0.1:*' --state "$tmp/plain-state" 2>"$tmp/plain.err"
ok "coordinator: tcp without keys exits 2" test $? -eq 2
ok "coordinator: names both ways" bash -c "grep -q -- '--secret-key FILE and --allow FILE' \
    '$tmp/plain.err' && grep -q -- '--insecure' '$tmp/plain.err'"
ok "coordinator: nothing was opened" test ! -e "$tmp/plain-state"
timeout 20 "$worker" --connect tcp://127.0.0.1:9 2>"$tmp/plain-worker.err"
ok "worker: tcp without keys exits 2" test $? -eq 2
ok "worker: names both ways" bash -c "grep -q -- '--secret-key FILE and --server-key' \
    '$tmp/plain-worker.err' && grep -q -- '--insecure' '$tmp/plain-worker.err'"
timeout 20 "$worker" --connect tcp://127.0.0.1:9 --secret-key "$keys/worker.secret" \
    2>"$tmp/half.err"
ok "worker: half a pair of keys exits 2" test $? -eq 2
ok "worker: and says what is missing" grep -q -- "--secret-key needs --server-key" "$tmp/half.err"
env -u LATTICE_SECRET_KEY -u LATTICE_SERVER_KEY "$lattice" status -c tcp://127.0.0.1:9 \
    2>"$tmp/plain-client.err"
ok "client: tcp without keys exits 2" test $? -eq 2
ok "client: names both ways and the variables" bash -c "grep -q -- '--secret-key FILE' \
    '$tmp/plain-client.err' && grep -q -- '--insecure' '$tmp/plain-client.err' &&
    grep -q LATTICE_SECRET_KEY '$tmp/plain-client.err'"

# ---- --insecure: works, and says so at every start ---------------------------------
saved_coord=("${coord_keys[@]}") saved_worker=("${worker_keys[@]}")
coord_keys=(--insecure) worker_keys=(--insecure)
start_coordinator insecure
start_worker open1
ok "insecure: the coordinator warns" grep -q "event=insecure .*anyone who can reach this port" \
    "$tmp/insecure.log"
ok "insecure: the worker joins" wait_for 30 grep -q "event=worker_joined worker=open1" \
    "$tmp/insecure.log"
ok "insecure: the worker warns" grep -q "event=insecure" "$tmp/open1.log"
"$lattice" workers -c "$endpoint" --insecure >"$tmp/open.out" 2>"$tmp/open.err"
ok "insecure: a client is answered" grep -q "^open1 " "$tmp/open.out"
ok "insecure: the client warns in one line" test "$(grep -c "warning: --insecure" "$tmp/open.err")" == 1
"$lattice" status -c "$endpoint" --timeout-ms 5000 >/dev/null 2>"$tmp/curve-vs-plain.err"
ok "insecure: a client with keys is told to pass --insecure" \
    grep -q "does not use CURVE (it runs --insecure" "$tmp/curve-vs-plain.err"
kill -9 "${worker_pid[open1]}"
kill "$coord_pid"
wait "$coord_pid" 2>/dev/null
start_coordinator insecure
ok "insecure: warned again at the next start" test "$(count "event=insecure" "$tmp/insecure.log")" == 2
kill "$coord_pid"
wait "$coord_pid" 2>/dev/null
# ipc:// is this machine's processes: no keys needed.
coord_keys=()
bind=ipc://$tmp/coord.sock start_coordinator ipc
coord_keys=("${saved_coord[@]}") worker_keys=("${saved_worker[@]}")
env -u LATTICE_SECRET_KEY -u LATTICE_SERVER_KEY "$lattice" status -c "$endpoint" >/dev/null 2>&1
ok "ipc: no keys needed" test $? -eq 0
ok "ipc: no warning" test "$(count "event=insecure" "$tmp/ipc.log")" == 0
kill "$coord_pid"
wait "$coord_pid" 2>/dev/null

# ---- who may do what ---------------------------------------------------------------
"$lattice" keygen "$keys/alice" --role client >>"$keys/allow" 2>/dev/null
"$lattice" keygen "$keys/w2" --role worker >>"$keys/allow" 2>/dev/null
"$lattice" keygen "$keys/stranger" 2>/dev/null
start_coordinator main
ok "main: started with CURVE" grep -q "event=started .*auth=curve handshake_ms=5000" "$tmp/main.log"
ok "main: the open-file limit is logged" grep -q "event=nofile soft=[0-9]* hard=" "$tmp/main.log"
start_worker w1
ok "a worker key joins" wait_for 30 grep -q "event=worker_joined worker=w1" "$tmp/main.log"
as() { # as KEY COMMAND [ARGS...]: lattice COMMAND as the holder of keys/KEY
    local key=$1 cmd=$2
    shift 2
    "$lattice" "$cmd" -c "$endpoint" --secret-key "$keys/$key.secret" "${server_key[@]}" "$@"
}

# An unknown key is refused in the handshake: not one of its messages is read.
stranger=$(key_of "$keys/stranger")
as stranger status --timeout-ms 1000 >"$tmp/stranger.out" 2>"$tmp/stranger.err"
ok "unknown key: lattice status exits 2" test $? -eq 2
ok "unknown key: told it was refused" grep -q "refused this key" "$tmp/stranger.err"
ok "unknown key: no reply" test ! -s "$tmp/stranger.out"
ok "unknown key: logged" grep -q -F "event=auth_refused key=$(short "$stranger") address=127.0.0.1" \
    "$tmp/main.log"
"$peer" --secret-key "$keys/stranger.secret" "${server_key[@]}" garbage "$endpoint" \
    >"$tmp/stranger-garbage.out"
ok "unknown key: its malformed messages get no answer" grep -qx "sent=8 answered=0" \
    "$tmp/stranger-garbage.out"
ok "unknown key: the coordinator never read them" test "$(count "event=bad_message" "$tmp/main.log")" == 0
"$peer" --secret-key "$keys/stranger.secret" "${server_key[@]}" ask "$endpoint" HELLO 2000 \
    >"$tmp/stranger-hello.out"
ok "unknown key: a HELLO gets nothing" grep -qx "reply=none" "$tmp/stranger-hello.out"
ok "unknown key: and joins nothing" test "$(count "worker=asker" "$tmp/main.log")" == 0
# Pretending to be the coordinator does not work either: a wrong server key.
as admin status --timeout-ms 300 --server-key "$(key_of "$keys/stranger")" >/dev/null 2>"$tmp/wrong.err"
ok "a wrong --server-key gets no answer (exit 2)" test $? -eq 2

# Roles by message type.
as worker submit "$patch" -o "$tmp/out-w" --frames 0-1 --config "$tmp/tiny.json" \
    >/dev/null 2>"$tmp/w-submit.err"
ok "worker key: SUBMIT exits 1" test $? -eq 1
ok "worker key: SUBMIT is forbidden" grep -q "(forbidden)" "$tmp/w-submit.err"
ok "worker key: nothing was created" test ! -e "$tmp/out-w"
as worker workers >/dev/null 2>"$tmp/w-workers.err"
ok "worker key: WORKERS exits 1" test $? -eq 1
ok "worker key: WORKERS is forbidden, naming the role" grep -q "forbidden: WORKERS needs an admin key" \
    "$tmp/w-workers.err"
"$peer" --secret-key "$keys/alice.secret" "${server_key[@]}" ask "$endpoint" HELLO 5000 \
    >"$tmp/c-hello.out"
ok "client key: HELLO is forbidden" grep -q "^reply=ERROR code=forbidden" "$tmp/c-hello.out"
ok "client key: no session" test "$(count "worker=asker" "$tmp/main.log")" == 0
as alice workers >/dev/null 2>"$tmp/c-workers.err"
ok "client key: WORKERS is forbidden (admin only)" grep -q "forbidden" "$tmp/c-workers.err"
ok "forbidden requests are counted and logged" test "$(count "event=forbidden" "$tmp/main.log")" == 4
ok "by type" bash -c "grep -q 'event=forbidden type=SUBMIT .*role=worker' '$tmp/main.log' &&
    grep -q 'event=forbidden type=HELLO .*role=client' '$tmp/main.log'"
as alice submit "$patch" -o "$tmp/out-alice" --frames 0-3 --config "$tmp/tiny.json" --wait \
    >"$tmp/alice.out" 2>&1
ok "client key: submits and the job completes" test $? -eq 0
job=$(job_of "$tmp/alice.out")
ok "client key: the export verifies" "$lattice" verify "$tmp/out-alice" >/dev/null
ok "client key: STATUS is answered" bash -c "\"$lattice\" status -c '$endpoint' --secret-key \
    '$keys/alice.secret' --server-key '$keys/coordinator.public' | grep -q '$job *done'"
ok "admin key (environment): WORKERS is answered" listed w1

# ---- rotation: the allow-list is re-read while the coordinator runs ----------------
reloads() { count "event=allow_reloaded" "$tmp/main.log"; }
n=$(reloads)
"$lattice" keygen "$keys/bob" --role client >>"$keys/allow" 2>/dev/null
ok "rotation: the new list is read" wait_for 30 more_than "event=allow_reloaded" "$tmp/main.log" "$n"
as bob status >/dev/null 2>"$tmp/bob.err"
ok "rotation: a key added while running is admitted" test $? -eq 0
n=$(reloads)
grep -v -F -e "$(key_of "$keys/alice")" "$keys/allow" >"$keys/allow.new" && mv "$keys/allow.new" "$keys/allow"
ok "rotation: the shorter list is read" wait_for 30 more_than "event=allow_reloaded" "$tmp/main.log" "$n"
as alice status --timeout-ms 1000 >/dev/null 2>"$tmp/alice-gone.err"
ok "rotation: a removed key is refused" test $? -eq 2
ok "rotation: and told so" grep -q "refused this key" "$tmp/alice-gone.err"
ok "rotation: and logged" grep -q -F "event=auth_refused key=$(short "$(key_of "$keys/alice")")" \
    "$tmp/main.log"
# A list that does not parse is refused; the previous one stays.
cp "$keys/allow" "$keys/allow.good"
{ cat "$keys/allow.good"; echo "client not-a-key"; } >"$keys/allow.new" && mv "$keys/allow.new" "$keys/allow"
line=$(wc -l <"$keys/allow")
ok "rotation: a bad list is refused, naming the line" \
    wait_for 30 grep -q "event=allow_refused file=\"$keys/allow\" error=\"$keys/allow:$line: 'not-a-key'" \
    "$tmp/main.log"
as bob status >/dev/null 2>&1
ok "rotation: the previous list still holds" test $? -eq 0
n=$(reloads)
cp "$keys/allow.good" "$keys/allow.new" && mv "$keys/allow.new" "$keys/allow"
ok "rotation: a good list again" wait_for 30 more_than "event=allow_reloaded" "$tmp/main.log" "$n"

# A key removed while connected: its messages are dropped from then on.
"$peer" --secret-key "$keys/w2.secret" "${server_key[@]}" idle "$endpoint" 120000 \
    >"$tmp/w2.out" &
w2_pid=$!
pids+=($w2_pid)
ok "revoked: w2 joined" wait_for 30 grep -q "event=worker_joined worker=never-ready" "$tmp/main.log"
n=$(reloads)
grep -v -F -e "$(key_of "$keys/w2")" "$keys/allow" >"$keys/allow.new" && mv "$keys/allow.new" "$keys/allow"
ok "revoked: the list is read" wait_for 30 more_than "event=allow_reloaded" "$tmp/main.log" "$n"
ok "revoked: its messages are dropped" \
    wait_for 30 grep -q -F "event=key_revoked key=$(short "$(key_of "$keys/w2")")" "$tmp/main.log"
ok "revoked: its session dies" wait_for 30 grep -q "event=worker_dead worker=never-ready" \
    "$tmp/main.log"
kill "$w2_pid" 2>/dev/null

# ---- a flood of idle connections -----------------------------------------------------
# 1,100 TCP connections that never say a word, more than the usual 1024
# open files: the coordinator still answers, and drops each of them once
# the handshake interval (5 s) is over.
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt 1300 ]]; then
    echo "test_auth: the idle flood needs 1300 open files (hard limit $hard): not run" >&2
else
    "$peer" idle-tcp "$endpoint" 1100 120000 >"$tmp/flood.out" 2>"$tmp/flood.err" &
    flood_pid=$!
    pids+=($flood_pid)
    ok "flood: 1100 connections open" wait_for 120 grep -qx "open=1100" "$tmp/flood.out"
    "$lattice" status -c "$endpoint" --timeout-ms 20000 >"$tmp/flood-status.out" 2>&1
    ok "flood: lattice status is answered" test $? -eq 0
    ok "flood: with the jobs" grep -q "$job *done" "$tmp/flood-status.out"
    wait "$flood_pid"
    ok "flood: every idle connection was dropped ($(cat "$tmp/flood.out" "$tmp/flood.err" | tr '\n' ' '))" \
        grep -qx "dropped=1100" "$tmp/flood.out"
    ok "flood: and the coordinator still answers" bash -c "\"$lattice\" status -c '$endpoint' |
        grep -q '$job *done'"
fi
kill -0 "$coord_pid"
ok "the coordinator survived" test $? -eq 0

echo "test_auth: $passed passed, $failed failed"
((failed == 0))
