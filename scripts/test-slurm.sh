#!/usr/bin/env bash
# Shards on a real Slurm cluster: installs slurm-wlm and munge from Debian
# (when missing), starts munged, slurmctld and slurmd on this machine (one
# node, its CPUs, 127.0.0.1 only) and runs the files users copy,
# deploy/slurm/export.sbatch and assemble.sbatch, unchanged:
#   1. a local `lattice export` as the reference;
#   2. an array of 4 shards (--shard auto) and an afterok assemble job; every
#      file must equal the reference byte for byte, metadata.json too but for
#      exportedAt and run, and `lattice verify` must pass;
#   3. again into a fresh OUT, with task 2 cancelled mid-shard: the afterok
#      assemble never runs, an afterany one exits 1 naming shard 2/4, its
#      frames and the redo command; re-running task 2 alone (SHARDS=4) and
#      assembling again gives the reference.
# Everything it makes is in one temporary directory (slurm.conf through
# SLURM_CONF, state, spool, logs, a munge key and socket), removed on exit;
# every daemon it starts is stopped by its PID. When it can, it runs in its
# own network namespace (only a loopback), so the daemons' ports meet
# nothing else.
# Needs root; otherwise it says so and exits 77 (ctest: skipped).
# Usage: test-slurm.sh LATTICE
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIPPED: test-slurm needs root (it installs slurm-wlm and munge and runs slurmctld, slurmd and munged)"
    exit 77
fi
if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: test-slurm.sh LATTICE (the lattice binary)" >&2
    exit 2
fi
lattice=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
script=$(realpath "$0")

# ---- packages -----------------------------------------------------------------
# Installing is the one global change, and it stays (like any build
# dependency). A policy-rc.d refusing service starts keeps apt from starting
# the packages' own daemons (munge.service, slurmd.service) on a host with
# an init system; it is removed again right after, and only if we made it.
missing=()
for pkg in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (apt-get)"
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
    fi
    rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"; } >/dev/null || rc=$?
    [[ -n $made_policy ]] && rm -f "$policy"
    if ((rc != 0)); then
        echo "FAIL: cannot install ${missing[*]} with apt-get (exit $rc)" >&2
        exit 1
    fi
fi

# ---- a network namespace of our own -------------------------------------------
# Every address Slurm is given is 127.0.0.1, and NoInAddrAny binds slurmd
# to it, but slurmctld 22.05 listens on the wildcard address: in a fresh
# namespace the only address is 127.0.0.1, so its port is reachable from
# nowhere else. Without unshare or ip: the host's namespace, free ports.
if [[ -z ${LX_SLURM_NETNS:-} ]] && command -v unshare >/dev/null && command -v ip >/dev/null &&
    unshare --net true 2>/dev/null; then
    LX_SLURM_NETNS=1 exec unshare --net -- bash "$script" "$@"
fi
if [[ -n ${LX_SLURM_NETNS:-} ]]; then
    ip link set lo up
fi
# slurmctld looks up its listening address with AI_ADDRCONFIG, which finds
# no IPv4 address in a namespace that has only a loopback; with IPv6 enabled
# it asks for any family and gets one.
comm_params=NoInAddrAny${LX_SLURM_NETNS:+,EnableIPv6}

tmp=$(mktemp -d /tmp/lattice-slurm.XXXXXX)
chmod 0755 "$tmp" # munged checks the directories above its key and socket
# shellcheck source=SCRIPTDIR/../tests/integration/check_lib.sh disable=SC1091
source "$root/tests/integration/check_lib.sh" # ok, passed, failed, checks_done

pids=()
t0=$(date +%s.%N)
phases=()
phase_start=$t0
phase() { # phase NAME: the seconds since the last phase, kept for the summary
    local now s
    now=$(date +%s.%N)
    s=$(awk -v a="$phase_start" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
    phases+=("$(printf '%-44s %6s s' "$1" "$s")")
    echo "-- $1: $s s"
    phase_start=$now
}

logs_tail() {
    local f
    for f in "$tmp"/slurm/*.log "$tmp"/munge/munged.log "$tmp"/logs/*; do
        [[ -f $f ]] || continue
        echo "---- tail of $f" >&2
        tail -n 15 "$f" >&2
    done
}
die() {
    echo "FAIL: $*" >&2
    squeue -a 2>/dev/null >&2 || true
    logs_tail
    exit 1
}

running() { # running PID: alive and not yet a zombie (kill -0 succeeds on zombies)
    [[ -r /proc/$1/stat && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}
cleanup() {
    local rc=$? pid i start=$SECONDS
    set +e
    if [[ -n ${SLURM_CONF:-} ]] && [[ -f $SLURM_CONF ]] && ((${#pids[@]} >= 2)); then
        # Jobs run under slurmstepd, which outlives slurmd: cancel them and
        # wait (bounded) until the controller has none before stopping it.
        scancel --quiet --user=root 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            [[ -z $(squeue -h -o %i 2>/dev/null | head -1) ]] && break
            sleep 0.1
        done
    fi
    # Reverse order: slurmd, slurmctld, munged.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill "$pid" 2>/dev/null || continue
        for _ in {1..50}; do running "$pid" || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    ((${#pids[@]})) && echo "stopped the cluster in $((SECONDS - start)) s"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS COMMAND...: poll the condition until it holds or time runs out
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- munge ----------------------------------------------------------------------
mkdir -p "$tmp/munge" "$tmp/slurm/state" "$tmp/slurm/spool" "$tmp/logs" "$tmp/exports"
chmod 0755 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
munge_socket=$tmp/munge/munge.socket
munged --foreground --socket="$munge_socket" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
    --seed-file="$tmp/munge/munged.seed" 2>>"$tmp/munge/munged.log" &
pids+=($!)
munge_ok() { munge --socket="$munge_socket" -n 2>/dev/null | unmunge --socket="$munge_socket" >/dev/null 2>&1; }
wait_for 20 munge_ok || die "munged did not answer on $munge_socket within 20 s"

# ---- slurm.conf -------------------------------------------------------------------
# Run from inside a Slurm job, its SLURM_*/SBATCH_* variables would steer
# our sbatch and scontrol: only SLURM_CONF (ours) counts.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SQUEUE|SINFO|SALLOC|SRUN|SCONTROL)_')
host=$(hostname -s)
cpus=$(nproc)
export SLURM_CONF=$tmp/slurm/slurm.conf
: >"$tmp/slurm/plugstack.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=lattice-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
CommunicationParameters=$comm_params
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$tmp/slurm/state
SlurmdSpoolDir=$tmp/slurm/spool
SlurmctldPidFile=$tmp/slurm/slurmctld.pid
SlurmdPidFile=$tmp/slurm/slurmd.pid
SlurmctldLogFile=$tmp/slurm/slurmctld.log
SlurmdLogFile=$tmp/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$tmp/slurm/plugstack.conf
# No cgroups, no accounting: processes tracked through /proc, tasks unbound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobContainerType=job_container/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=5
# Finished jobs stay visible to scontrol for the whole test.
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=lattice Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# ---- daemons ----------------------------------------------------------------------
slurmctld -D -i 2>>"$tmp/slurm/slurmctld.err" &
pids+=($!)
ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
wait_for 30 ctld_up || die "slurmctld did not answer within 30 s"
slurmd -D 2>>"$tmp/slurm/slurmd.err" &
pids+=($!)
node_idle() { [[ $(sinfo -h -N -o %t 2>/dev/null) == idle ]]; }
wait_for 60 node_idle || die "node $host did not become idle within 60 s: $(sinfo -N 2>&1)"
echo "slurm $(sinfo -V | cut -d' ' -f2): node $host, $cpus CPUs, state in $tmp${LX_SLURM_NETNS:+ (own network namespace)}"
phase "start munged, slurmctld, slurmd"

# ---- job states ---------------------------------------------------------------
# "TASK STATE EXITCODE" per record of a job or array (a pending array not yet
# split is one record, its task field the range).
job_records() {
    scontrol -o show job "$1" 2>/dev/null | awk '{
        t = "-"; s = ""; e = ""
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "ArrayTaskId") t = kv[2]
            else if (kv[1] == "JobState") s = kv[2]
            else if (kv[1] == "ExitCode") e = kv[2]
        }
        print t, s, e
    }' | sort -n
}
finished() { # finished JOB COUNT: the job has COUNT records, none pending or running
    local records
    records=$(job_records "$1")
    [[ -n $records && $(wc -l <<<"$records") -eq $2 ]] &&
        ! grep -qwE 'PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING' <<<"$records"
}
wait_job() { # wait_job JOB COUNT SECONDS
    [[ $1 =~ ^[0-9]+$ ]] || die "no job id (sbatch failed)"
    wait_for "$3" finished "$1" "$2" ||
        die "job $1 did not finish within $3 s: $(job_records "$1" | tr '\n' ';')"
}
states() { job_records "$1" | awk '{print $1 ":" $2}' | tr '\n' ' ' | sed 's/ $//'; }
submit() { # submit SBATCH-ARGS...: the job id
    local id
    id=$(sbatch --parsable --chdir="$tmp" "$@") || die "sbatch $* failed"
    echo "${id%%;*}"
}

# ---- the cluster runs an array -----------------------------------------------------
# shellcheck disable=SC2016 # expanded by the task
job=$(submit --array=0-3 --output="$tmp/logs/wrap-%A_%a.out" --wrap 'echo "task $SLURM_ARRAY_TASK_ID"')
wait_job "$job" 4 60
ok "an --array=0-3 of --wrap completes" test "$(states "$job")" == \
    "0:COMPLETED 1:COMPLETED 2:COMPLETED 3:COMPLETED"
phase "array of 4 trivial tasks"

# ---- 1. the reference -----------------------------------------------------------
patch=$root/examples/feedback-trails.patch.json # stateful: every shard warms up from frame 0
echo '{"resolution": [160, 96]}' >"$tmp/small.json"
extra="--frames 0-95 --config $tmp/small.json"
ref=$tmp/exports/ref
# shellcheck disable=SC2086 # $extra is options split on whitespace, as export.sbatch does
"$lattice" export "$patch" -o "$ref" $extra >"$tmp/logs/ref.log" 2>&1 ||
    die "reference export failed: $(cat "$tmp/logs/ref.log")"
phase "1. local reference export (96 frames)"

same_export() { # same_export OUT: every file equals the reference's; metadata.json but two fields
    local out=$1 f
    (cd "$ref" && find . -path ./.lattice -prune -o -type f ! -path ./metadata.json -print | sort) \
        >"$tmp/ref.files"
    (cd "$out" && find . -path ./.lattice -prune -o -type f ! -path ./metadata.json -print | sort) \
        >"$tmp/out.files"
    if ! cmp -s "$tmp/ref.files" "$tmp/out.files"; then
        echo "  file lists differ:" >&2
        diff "$tmp/ref.files" "$tmp/out.files" | head -10 >&2
        return 1
    fi
    while read -r f; do
        cmp -s "$ref/$f" "$out/$f" || { echo "  $out/$f differs from the reference" >&2; return 1; }
    done <"$tmp/ref.files"
    python3 - "$ref/metadata.json" "$out/metadata.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("exportedAt", None)
    d.pop("run", None)
if a != b:
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    print("  metadata.json differs from the reference in:", ", ".join(keys), file=sys.stderr)
    sys.exit(1)
EOF
}

export_sbatch=$root/deploy/slurm/export.sbatch
assemble_sbatch=$root/deploy/slurm/assemble.sbatch

# ---- 2. four shards and an afterok assemble ------------------------------------------
out=$tmp/exports/sharded
array=$(LATTICE=$lattice PATCH=$patch OUT=$out EXTRA=$extra \
    submit --array=0-3 --output="$tmp/logs/export-%A_%a.out" "$export_sbatch")
asm=$(LATTICE=$lattice OUT=$out submit --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$tmp/logs/assemble-%j.out" "$assemble_sbatch")
wait_job "$array" 4 120
wait_job "$asm" 1 60
ok "4 shard tasks COMPLETED" test "$(states "$array")" == \
    "0:COMPLETED 1:COMPLETED 2:COMPLETED 3:COMPLETED"
ok "afterok assemble COMPLETED" test "$(states "$asm")" == "-:COMPLETED"
ok "assemble printed what it joined" \
    grep -q "^assembled $out: frames 0-95 from 4 shards" "$tmp/logs/assemble-$asm.out"
for i in 0 1 2 3; do
    ok "task $i ran --shard auto as $i/4" \
        grep -q "^wrote shard $i/4 of $out" "$tmp/logs/export-${array}_$i.out"
done
ok "sharded export equals the reference" same_export "$out"
ok "lattice verify passes" "$lattice" verify "$out" >/dev/null
phase "2. 4 shards + assemble under Slurm, compared"

# ---- 3. a task killed mid-shard, named by assemble, re-run -----------------------------
# A wrapper (given as LATTICE, export.sbatch unchanged) stops lattice in
# task 2 once its journal holds a frame, so the task is certainly mid-shard
# when it is cancelled: then a partial journal exists.
out2=$tmp/exports/killed
# Shard 2/4 of frames 0-95 is frames 48-71 (SHARD_CONTRACT: floor(i*n/N)).
journal=$out2/.lattice/shards/48-71/progress.jsonl
cat >"$tmp/pause-lattice" <<EOF
#!/bin/bash
[[ \${SLURM_ARRAY_TASK_ID:-} == 2 ]] || exec "$lattice" "\$@"
"$lattice" "\$@" &
pid=\$!
for ((i = 0; i < 30000; i++)); do # bounded: about 60 s
    if grep -q '^{"frame"' "$journal" 2>/dev/null; then
        kill -STOP "\$pid" && touch "$tmp/paused"
        break
    fi
    kill -0 "\$pid" 2>/dev/null || break
    sleep 0.002
done
[[ -e "$tmp/paused" ]] || touch "$tmp/missed"
wait "\$pid"
EOF
chmod +x "$tmp/pause-lattice"
array2=$(LATTICE=$tmp/pause-lattice PATCH=$patch OUT=$out2 EXTRA=$extra \
    submit --array=0-3 --output="$tmp/logs/export-%A_%a.out" "$export_sbatch")
asm2=$(LATTICE=$lattice OUT=$out2 submit --dependency="afterok:$array2" --kill-on-invalid-dep=yes \
    --output="$tmp/logs/assemble-%j.out" "$assemble_sbatch")
paused_or_missed() { [[ -e $tmp/paused || -e $tmp/missed ]]; }
wait_for 60 paused_or_missed || die "task 2 of job $array2 did not start its shard within 60 s"
[[ -e $tmp/paused ]] || die "task 2 of job $array2 finished its shard before it could be stopped"
ok "task 2 was stopped before finishing its shard" test ! -e "${journal%/*}/manifest.jsonl"
ok "task 2 is RUNNING" grep -q '^2 RUNNING' <<<"$(job_records "$array2")"
# While it holds its shard's lock, assemble calls it running.
rc=0
"$lattice" assemble "$out2" >"$tmp/logs/assemble-running.out" 2>&1 || rc=$?
ok "assemble while task 2 is stopped exits 1" test "$rc" -eq 1
ok "assemble names shard 2/4 running" \
    grep -qE '^lattice assemble: shard 2/4 \(frames 48-71\): running' "$tmp/logs/assemble-running.out"
echo "   lattice assemble while task 2 is stopped mid-shard (exit $rc):"
sed 's/^/   | /' "$tmp/logs/assemble-running.out"
scancel "${array2}_2"
wait_job "$array2" 4 120
wait_job "$asm2" 1 60
ok "tasks 0, 1, 3 COMPLETED, task 2 CANCELLED" test "$(states "$array2")" == \
    "0:COMPLETED 1:COMPLETED 2:CANCELLED 3:COMPLETED"
ok "the afterok assemble never ran (CANCELLED)" test "$(states "$asm2")" == "-:CANCELLED"
ok "no metadata.json yet" test ! -e "$out2/metadata.json"

asm3=$(LATTICE=$lattice OUT=$out2 submit --dependency="afterany:$array2" \
    --output="$tmp/logs/assemble-%j.out" "$assemble_sbatch")
wait_job "$asm3" 1 60
asm3_log=$tmp/logs/assemble-$asm3.out
ok "an afterany assemble FAILED with exit 1" grep -q '^- FAILED 1:0$' <<<"$(job_records "$asm3")"
named() {
    grep -qE "^lattice assemble: shard 2/4 \(frames 48-71\): incomplete, ([1-9]|1[0-9]|2[0-3]) of 24 frames; redo: cd .* --shard 2/4$" \
        "$asm3_log"
}
ok "assemble names shard 2/4, frames 48-71, partial, and its redo command" named
ok "assemble names nothing else" test "$(grep -c 'redo:' "$asm3_log")" -eq 1
echo "   the afterany assemble job's output, task 2 cancelled:"
sed 's/^/   | /' "$asm3_log"
ok "still no metadata.json" test ! -e "$out2/metadata.json"

redo=$(LATTICE=$lattice PATCH=$patch OUT=$out2 EXTRA=$extra SHARDS=4 \
    submit --array=2 --output="$tmp/logs/export-%A_%a.out" "$export_sbatch")
asm4=$(LATTICE=$lattice OUT=$out2 submit --dependency="afterok:$redo" --kill-on-invalid-dep=yes \
    --output="$tmp/logs/assemble-%j.out" "$assemble_sbatch")
wait_job "$redo" 1 120
wait_job "$asm4" 1 60
ok "the re-run of task 2 COMPLETED" test "$(states "$redo")" == "2:COMPLETED"
ok "it resumed shard 2/4" grep -qE "^(wrote|complete:) shard 2/4 of $out2: frames 48-71" \
    "$tmp/logs/export-${redo}_2.out"
ok "assemble after the re-run COMPLETED" test "$(states "$asm4")" == "-:COMPLETED"
ok "repaired export equals the reference" same_export "$out2"
ok "lattice verify passes" "$lattice" verify "$out2" >/dev/null
phase "3. kill task 2, assemble names it, redo"

now=$(date +%s.%N)
echo "== timings"
printf '   %s\n' "${phases[@]}"
printf '   %-44s %6s s\n' total "$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')"
echo -n "test-slurm: "
if ! checks_done; then
    logs_tail
    exit 1
fi
