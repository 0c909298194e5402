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
