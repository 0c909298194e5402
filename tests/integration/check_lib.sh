# Checks every shell test counts with (sourced): `expect` runs a command
# and compares its exit status, keeping its stdout in $tmp/out and stderr
# in $tmp/err; `ok` runs a condition. Both count into passed and failed;
# `checks_done` prints the tally and is the test's status. $tmp must exist.
passed=0 failed=0

expect() { # expect NAME WANTED_STATUS COMMAND...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [[ $got -eq $want ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $got, wanted $want" >&2
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -20 >&2
    fi
}

ok() { # ok NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name" >&2
    fi
}

checks_done() {
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

# Exports a and b are the same: every file but metadata.json byte for byte,
# and metadata.json but its two run-specific fields.
strip_manifest() {
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("exportedAt"); m.pop("run"); print(json.dumps(m, sort_keys=True))' "$1"
}
same_export() {
    [[ -f $1/metadata.json && -f $2/metadata.json ]] || return 1
    diff -r -q -x metadata.json -x .lattice "$1" "$2" >&2 || return 1
    [[ "$(strip_manifest "$1/metadata.json")" == "$(strip_manifest "$2/metadata.json")" ]]
}
