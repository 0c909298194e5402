#!/usr/bin/env bash
# The files users copy from deploy/: systemd units (systemd-analyze verify),
# Kubernetes manifests and the Open Job Description template (structure and
# cross-references, with PyYAML), the Containerfile (packages exist in Debian
# 12, non-root, the three programs), and every option they and deploy/'s
# READMEs use against the programs' --help. The command lines of the units and
# of the manifests are then run for real on 127.0.0.1, paths mapped into a
# temporary directory: a coordinator, a worker and a small export each; then
# the shard Job's command once per index and the assemble Job's, and the
# template's tasks, each assembled export equal to a plain `lattice export`.
# No image is built and no cluster or scheduler is used. Checks that need a
# missing tool are skipped with a message.
# Usage: test_deploy.sh LATTICE REPO_ROOT COORDINATOR WORKER LX_PEER FAULTY_WORKER
set -uo pipefail
lattice=$1
root=$2
coordinator=$3
worker=$4
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "$0")/check_lib.sh"
check_py=$root/tests/integration/deploy_check.py
# completes NAME PID LOG: the background command PID exits 0 (its log's tail
# is shown when it does not).
completes() {
    wait "$2"
    local rc=$?
    ok "$1 (exit $rc)" test $rc -eq 0
    if ((rc)); then sed "s/^/  | /" "$3" | tail -5 >&2; fi
}
skipped=()
skip() { skipped+=("$1"); echo "SKIP $1" >&2; }

# ---- each program's --help: the options the files may use -------------------
help=$tmp/help
mkdir -p "$help"
"$coordinator" --help >"$help/coordinator"
"$worker" --help >"$help/worker"
for sub in check compile export verify submit status watch cancel workers rerender keygen eval \
    blocks assemble; do
    "$lattice" "$sub" --help >"$help/lattice-$sub"
    ok "lattice $sub --help: exit 0" test $? -eq 0
done
ok "the help texts list options" grep -q -- "--allow-output" "$help/coordinator"
ok "lattice export --help lists --shard" grep -q -- "--shard" "$help/lattice-export"

# py_checks NAME ARGS...: runs deploy_check.py and counts each PASS/FAIL line.
py_checks() {
    local what=$1 line
    shift
    /usr/bin/python3 "$check_py" "$@" >"$tmp/py.out" 2>"$tmp/py.err"
    local rc=$?
    local n=$(grep -c -E '^(PASS|FAIL) ' "$tmp/py.out")
    ok "$what: the checker ran (exit $rc, $n checks)" test "$n" -gt 0 -a -s "$tmp/py.out" \
        -a ! -s "$tmp/py.err"
    [[ -s $tmp/py.err ]] && sed 's/^/  | /' "$tmp/py.err" >&2
    while IFS= read -r line; do
        case $line in
        "PASS "*) ok "${line#PASS }" true ;;
        "FAIL "*) ok "${line#FAIL }" false ;;
        esac
    done <"$tmp/py.out"
}

have_python=false
have_yaml=false
if command -v /usr/bin/python3 >/dev/null; then
    have_python=true
    /usr/bin/python3 -c 'import yaml' 2>/dev/null && have_yaml=true
fi
$have_python || skip "/usr/bin/python3 is missing: no unit, manifest, Containerfile or docs checks"
$have_python && ! $have_yaml && skip "python3-yaml is missing (scripts/install-deps.sh): no manifest checks"

# ---- systemd ---------------------------------------------------------------------
units=$root/deploy/systemd
$have_python && py_checks "systemd" units "$root" "$help"
if command -v systemd-analyze >/dev/null; then
    # verify needs the programs of ExecStart= to exist: the built ones; the
    # template as an instance. A warning on stderr (an unknown key, say) fails.
    mkdir -p "$tmp/units"
    sed "s#/usr/local/bin/lattice-coordinator#$coordinator#" "$units/lattice-coordinator.service" \
        >"$tmp/units/lattice-coordinator.service"
    sed "s#/usr/local/bin/lattice-worker#$worker#" "$units/lattice-worker@.service" \
        >"$tmp/units/lattice-worker@w1.service"
    for u in lattice-coordinator.service lattice-worker@w1.service; do
        [[ $u == lattice-worker* ]] && built=$worker || built=$coordinator
        ok "systemd: the copy of $u runs the built program" grep -qF "ExecStart=$built " \
            "$tmp/units/$u"
        (cd "$tmp/units" && systemd-analyze verify "./$u") >"$tmp/verify.out" 2>&1
        rc=$?
        ok "systemd-analyze verify $u: exit 0 and no warning" test $rc -eq 0 -a ! -s "$tmp/verify.out"
        sed 's/^/  | /' "$tmp/verify.out" >&2
    done
    # The check is real: a unit whose program is missing fails it.
    sed 's#^ExecStart=[^ ]*#ExecStart=/nonexistent/lattice-coordinator#' \
        "$tmp/units/lattice-coordinator.service" >"$tmp/units/broken.service"
    (cd "$tmp/units" && systemd-analyze verify ./broken.service) >/dev/null 2>&1
    ok "systemd-analyze verify fails a unit whose program is missing" test $? -ne 0
else
    skip "systemd-analyze is missing: unit files not verified"
fi

# ---- Kubernetes and Open Job Description ------------------------------------------
$have_yaml && py_checks "kubernetes" k8s "$root" "$help"
$have_yaml && py_checks "Open Job Description" ojd "$root" "$help"

# ---- documentation ----------------------------------------------------------------
$have_python && py_checks "docs" docs "$root" "$help"
for f in kubernetes/shards.yaml kubernetes/assemble.yaml openjd/lattice-export.template.yaml \
    slurm/export.sbatch slurm/assemble.sbatch; do
    ok "deploy/README.md names $f" grep -qF "$f" "$root/deploy/README.md"
done
ok "deploy/README.md no longer says shards are coming" bash -c \
    "! grep -qi 'coming with shards' '$root/deploy/README.md' '$root/deploy/kubernetes/README.md'"

# ---- Containerfile ----------------------------------------------------------------
if $have_python; then
    py_checks "Containerfile" containerfile "$root"
    read -r -a pkgs <<<"$(sed -n 's/^PKGS //p' "$tmp/py.out")"
    if command -v apt-cache >/dev/null && [[ $(. /etc/os-release && echo "$ID $VERSION_ID") == "debian 12" ]]; then
        for p in "${pkgs[@]}"; do
            ok "Debian 12 has $p (apt-cache policy: a Candidate)" bash -c \
                "apt-cache policy '$p' | grep -q 'Candidate: [0-9]'"
        done
        # The libraries the built programs link are in those packages (libc6
        # and libgcc-s1, which a sanitizer build links, are required
        # packages of every Debian image); their own dependencies come with
        # them.
        if command -v dpkg >/dev/null && command -v readelf >/dev/null && command -v ldd >/dev/null; then
            for bin in "$lattice" "$coordinator" "$worker"; do
                for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
                    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
                    pkg=$({ dpkg -S "$path" || dpkg -S "$(readlink -f "$path")"; } 2>/dev/null |
                        head -1 | cut -d: -f1)
                    ok "$(basename "$bin") links $lib: package ${pkg:-?} is in the image" \
                        bash -c "[[ ' ${pkgs[*]} libc6 libgcc-s1 ' == *' $pkg '* ]]"
                done
            done
        else
            skip "dpkg, readelf or ldd missing: linked libraries not matched to packages"
        fi
    else
        skip "apt-cache on Debian 12 is not available: runtime packages not checked"
    fi
fi

# ---- the command lines, run -------------------------------------------------------
# run_pair KIND NAME SUBS...: the coordinator's and the worker's command line
# from the units (KIND unit) or the manifests (k8s), with SUBS mapping paths
# into $d, then a worker named NAME must join and a small export complete.
argv_of() { # argv_of KIND PROG SUBS...: into the array `args` (program name dropped)
    args=()
    local w first=1
    while IFS= read -r -d '' w; do
        ((first)) && { first=0; continue; }
        args+=("$w")
    done < <(/usr/bin/python3 "$check_py" argv "$@")
}
wait_for() { # wait_for SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS >= deadline)) && return 1
        sleep 0.1
    done
}
started() { grep -q 'event=started' "$1"; }
listed() { # listed NAME: lattice workers lists it
    "$lattice" workers --json -c "$endpoint" "${admin[@]}" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if any(w["name"] == sys.argv[1] for w in json.load(sys.stdin)) else 1)' "$1"
}
run_pair() {
    local kind=$1 name=$2 d=$tmp/run-$1
    shift 2
    argv_of "$kind" coordinator "$root" "$@" tcp://0.0.0.0:7700='tcp://127.0.0.1:*'
    "$coordinator" "${args[@]}" 2>"$d/coordinator.log" &
    local cpid=$!
    pids+=($cpid)
    ok "$kind: the coordinator starts with its command line" wait_for 20 started "$d/coordinator.log"
    endpoint=$(sed -n 's/.*event=started bind=\([^ ]*\).*/\1/p' "$d/coordinator.log" | head -1)
    if [[ -z $endpoint ]]; then
        sed 's/^/  | /' "$d/coordinator.log" >&2
        kill "$cpid" 2>/dev/null
        return
    fi
    argv_of "$kind" worker "$root" "$@" tcp://lattice-coordinator:7700="$endpoint"
    "$worker" "${args[@]}" 2>"$d/worker.log" &
    local wpid=$!
    pids+=($wpid)
    if ! wait_for 20 listed "$name"; then
        ok "$kind: worker $name joins" false
        sed 's/^/  | /' "$d/worker.log" | tail -5 >&2
        kill "$wpid" "$cpid" 2>/dev/null
        return
    fi
    ok "$kind: worker $name joins" true
    # Bounded: a worker that stops rendering must not hang the test.
    expect "$kind: an export below the output root completes" 0 \
        timeout 120 "$lattice" submit "$root/examples/orbit-cards.patch.json" -c "$endpoint" "${admin[@]}" \
        -o "$d/out/orbit" --frames 0-1 --config "$tmp/tiny.json" --wait
    expect "$kind: and verifies" 0 "$lattice" verify "$d/out/orbit"
    expect "$kind: an export outside it is refused" 1 \
        "$lattice" submit "$root/examples/orbit-cards.patch.json" -c "$endpoint" "${admin[@]}" \
        -o "$d/elsewhere" --frames 0-1 --config "$tmp/tiny.json"
    kill -TERM "$wpid"
    wait "$wpid"
    ok "$kind: SIGTERM drains the worker (exit 0)" test $? -eq 0
    kill -TERM "$cpid"
    wait "$cpid"
    ok "$kind: SIGTERM stops the coordinator (exit 0)" test $? -eq 0
    ok "$kind: its journal is in the state directory" test -f "$d/state/journal.sqlite"
}
keys_for_run() { # keys_for_run DIR: the keys a user makes (deploy/README.md)
    "$lattice" keygen "$1/coordinator" &&
        "$lattice" keygen "$1/worker" --role worker >>"$1/allow" &&
        "$lattice" keygen "$1/admin" --role admin >>"$1/allow"
}
echo '{"resolution": [64, 48]}' >"$tmp/tiny.json"

if $have_python; then
    d=$tmp/run-unit
    mkdir -p "$d/out" "$d/state"
    keys_for_run "$d/keys" 2>"$tmp/keygen.err" || cat "$tmp/keygen.err" >&2
    admin=(--secret-key "$d/keys/admin.secret" --server-key "$d/keys/coordinator.public")
    run_pair unit w1 /var/lib/lattice="$d/state" /etc/lattice/keys="$d/keys" \
        /srv/lattice/out="$d/out" %i=w1
fi

if $have_yaml; then
    # As the kubelet lays it out: the Secrets' files, group-readable (fsGroup),
    # and the init containers' copies of the secret keys. The two pods mount
    # different Secrets at one path; their file names differ, so one directory
    # stands for both.
    d=$tmp/run-k8s
    mkdir -p "$d/out" "$d/state" "$d/made" "$d/secret" "$d/keys"
    keys_for_run "$d/made" 2>"$tmp/keygen.err" || cat "$tmp/keygen.err" >&2
    cp "$d/made/coordinator.secret" "$d/made/allow" "$d/made/worker.secret" \
        "$d/made/coordinator.public" "$d/secret/"
    chmod 0440 "$d"/secret/*
    "$coordinator" --bind 'tcp://127.0.0.1:*' --state "$d/refused" \
        --secret-key "$d/secret/coordinator.secret" --allow "$d/secret/allow" 2>/dev/null
    ok "k8s: a group-readable Secret file is refused as a key (why the init container copies it)" \
        test $? -eq 2
    subs=(/run/lattice/secret="$d/secret" /etc/lattice/keys="$d/keys")
    for prog in coordinator worker; do
        argv_of k8s-init "$prog" "$root" "${subs[@]}"
        expect "k8s: the $prog's init container copies the secret key" 0 install "${args[@]}"
    done
    ok "k8s: the copies are mode 0600" test "$(stat -c %a "$d/keys/coordinator.secret")" == 600 \
        -a "$(stat -c %a "$d/keys/worker.secret")" == 600
    admin=(--secret-key "$d/made/admin.secret" --server-key "$d/made/coordinator.public")
    run_pair k8s pod-1 "${subs[@]}" /var/lib/lattice="$d/state" /srv/lattice/out="$d/out" \
        '$(POD_NAME)'=pod-1
fi

# ---- shards: the Jobs' and the template's command lines, run ------------------------
# A small export (appended to each command line) in three ways: plain, as the
# Indexed Job's pods and the assemble Job run it, and as a scheduler runs the
# template's tasks. The assembled exports must equal the plain one: metadata.json
# field for field but "exportedAt" and "run", every file byte for byte.
small=(--frames 0-9 --config "$tmp/tiny.json")
same_export() { # same_export A B
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, os, sys
a, b = sys.argv[1:3]
ma, mb = (json.load(open(os.path.join(d, "metadata.json"))) for d in (a, b))
for m in (ma, mb):
    m.pop("exportedAt", None)
    m.pop("run", None)
bad = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
if bad:
    sys.exit(f"metadata.json differs in {bad}")
def files(d):
    return sorted(os.path.relpath(os.path.join(dp, f), d) for dp, dns, fs in os.walk(d)
                  for f in fs if not os.path.relpath(os.path.join(dp, f), d).startswith(".lattice"))
fa, fb = files(a), files(b)
if fa != fb:
    sys.exit(f"other files: {sorted(set(fa) ^ set(fb))[:5]}")
for f in fa:
    if f != "metadata.json" and open(os.path.join(a, f), "rb").read() != open(os.path.join(b, f), "rb").read():
        sys.exit(f"{f} differs")
PY
}
out_of() { # out_of ARGS...: the value of -o
    while (($#)); do [[ $1 == -o ]] && { echo "$2"; return; }; shift; done
}
if $have_yaml; then
    plain=$tmp/plain
    expect "shards: a plain export to compare with" 0 \
        "$lattice" export "$root/examples/orbit-cards.patch.json" -o "$plain" "${small[@]}"

    # Kubernetes: the patch from the ConfigMap, OUT on lattice-out.
    d=$tmp/run-shards
    # A ConfigMap's files as the kubelet lays them out: links into ..data.
    mkdir -p "$d/out" "$d/patch/..2026_01_01_00_00_00.000000001"
    cp "$root/examples/orbit-cards.patch.json" "$d/patch/..2026_01_01_00_00_00.000000001/patch.json"
    ln -s ..2026_01_01_00_00_00.000000001 "$d/patch/..data"
    ln -s ..data/patch.json "$d/patch/patch.json"
    read -r completions count < <(/usr/bin/python3 "$check_py" shard-count "$root")
    ok "k8s shards: $completions completions, LATTICE_SHARD_COUNT $count" test "$completions" -gt 1
    argv_of k8s-job shards "$root" /etc/lattice/patch="$d/patch" /srv/lattice/out="$d/out"
    shard=("${args[@]}" "${small[@]}")
    out=$(out_of "${shard[@]}")
    argv_of k8s-job assemble "$root" /srv/lattice/out="$d/out"
    assemble=("${args[@]}")
    ok "k8s assemble: assembles the shards' OUT ($out)" test -n "$out" -a "${assemble[-1]}" == "$out"
    run_index() { # run_index I: one pod of the Indexed Job
        env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX="$1" LATTICE_SHARD_COUNT="$count" \
            "$lattice" "${shard[@]}" >"$d/shard-$1.log" 2>&1
    }
    expect "k8s shards: --shard auto without JOB_COMPLETION_INDEX exits 2" 2 \
        env -u JOB_COMPLETION_INDEX -u SLURM_ARRAY_TASK_ID "$lattice" "${shard[@]}"
    # Every index but the last at once, into one OUT, as parallelism does.
    spids=()
    for ((i = 0; i < completions - 1; i++)); do
        run_index "$i" &
        spids+=($!)
    done
    for i in "${!spids[@]}"; do
        completes "k8s shards: index $i of $completions completes" "${spids[$i]}" "$d/shard-$i.log"
    done
    ok "k8s shards: no shard writes metadata.json" test ! -e "$out/metadata.json"
    expect "k8s assemble: before the last index, exit 1" 1 "$lattice" "${assemble[@]}"
    ok "k8s assemble: and names what is missing with the command that redoes it" \
        grep -q "redo: " "$tmp/err"
    last=$((completions - 1))
    run_index "$last"
    ok "k8s shards: the last index completes" test $? -eq 0
    run_index 0
    ok "k8s shards: a complete index run again exits 0" test $? -eq 0
    expect "k8s assemble: exit 0" 0 "$lattice" "${assemble[@]}"
    ok "k8s assemble: says what it assembled" grep -q "^assembled " "$tmp/out"
    expect "k8s assemble: the export verifies" 0 "$lattice" verify "$out"
    ok "k8s: the assembled export equals a plain lattice export" same_export "$plain" "$out"

    # Open Job Description: each task of Export (chunks of 3 of frames 0-9), then Assemble.
    d=$tmp/run-ojd
    mkdir -p "$d"
    vals=(PatchFile="$root/examples/orbit-cards.patch.json" OutputDir="$d/out" Frames=0-9 ChunkSize=3)
    task=() spids=() names=()
    while IFS= read -r -d '' w; do
        if [[ -n $w ]]; then
            task+=("$w")
            continue
        fi
        "$lattice" "${task[@]:1}" --config "$tmp/tiny.json" >"$d/task-${#spids[@]}.log" 2>&1 &
        spids+=($!)
        names+=("${task[*]: -1}")
        task=()
    done < <(/usr/bin/python3 "$check_py" ojd-tasks "$root" Export "${vals[@]}")
    ok "ojd: Export makes 4 tasks of frames 0-9" test "${#spids[@]}" -eq 4
    for i in "${!spids[@]}"; do
        completes "ojd: task --shard ${names[$i]} completes" "${spids[$i]}" "$d/task-$i.log"
    done
    task=()
    while IFS= read -r -d '' w; do [[ -n $w ]] && task+=("$w"); done \
        < <(/usr/bin/python3 "$check_py" ojd-tasks "$root" Assemble "${vals[@]}")
    expect "ojd: Assemble exits 0" 0 "$lattice" "${task[@]:1}"
    expect "ojd: the export verifies" 0 "$lattice" verify "$d/out"
    ok "ojd: the assembled export equals a plain lattice export" same_export "$plain" "$d/out"
fi

if ((${#skipped[@]})); then
    echo "skipped: ${skipped[*]}"
    # Without python3 and systemd-analyze nothing of deploy/ was checked: a
    # skip, not a pass.
    if ! $have_python && ! command -v systemd-analyze >/dev/null; then
        ((failed == 0)) && exit 77
    fi
fi
checks_done
