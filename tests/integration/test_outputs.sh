#!/usr/bin/env bash
# Output paths a user names are written, never replaced, unless they are
# files: `lattice compile PATCH -o PATH` with PATH a regular file (replaced
# atomically), a FIFO or a device (written in place, still a FIFO or a
# device: -o /dev/null once turned the null device into a regular file),
# "-" (standard output), a directory (refused), a symbolic link (kept).
# The device node is made in this test's own directory, so only as root;
# everything else runs for everyone.
# Usage: test_outputs.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"

is_ir() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["patchId"]=="orbit-cards"' "$1" 2>/dev/null; }
no_temps() { ! ls -A "$1" | grep -q '\.tmp-'; }

ex=$root/examples/orbit-cards.patch.json
mkdir "$tmp/w"

# A new file, then the same file replaced whole (a new inode).
expect "compile -o new file" 0 "$lattice" compile "$ex" -o "$tmp/w/p.json"
ok "the file is the IR" is_ir "$tmp/w/p.json"
ino=$(stat -c %i "$tmp/w/p.json")
expect "compile -o existing file" 0 "$lattice" compile "$ex" -o "$tmp/w/p.json"
ok "replaced, not rewritten" test "$(stat -c %i "$tmp/w/p.json")" != "$ino"
ok "regular file, 0644" test "$(stat -c %F:%a "$tmp/w/p.json")" = "regular file:644"

# A FIFO with a reader gets the bytes and stays a FIFO. This shell holds
# the FIFO open read-write (which never blocks) from before the reader
# starts until lattice is done, so the reader's open returns at once and
# its EOF comes when fd 4 closes, whatever lattice did: nothing can hang.
mkfifo "$tmp/w/fifo"
exec 4<>"$tmp/w/fifo"
cat "$tmp/w/fifo" >"$tmp/fifo.out" 4>&- &
reader=$!
expect "compile -o FIFO" 0 "$lattice" compile "$ex" -o "$tmp/w/fifo" 4>&-
exec 4>&-
wait "$reader"
ok "the reader got the IR" is_ir "$tmp/fifo.out"
ok "still a FIFO" test -p "$tmp/w/fifo"
ok "compile -o FIFO says so" grep -q "wrote $tmp/w/fifo" "$tmp/out"

# "-" is standard output: the IR alone there, the summary on stderr.
expect "compile -o -" 0 "$lattice" compile "$ex" -o -
ok "stdout is the IR" is_ir "$tmp/out"
ok "the hash went to stderr" grep -q "^program hash: " "$tmp/err"
ok "no file named -" test ! -e ./- -a ! -e "$tmp/w/-"

# A symbolic link to a file: the file gets the program, the link stays.
printf 'old' >"$tmp/w/real.json"
ln -s real.json "$tmp/w/link.json"
expect "compile -o link" 0 "$lattice" compile "$ex" -o "$tmp/w/link.json"
ok "link kept" test -L "$tmp/w/link.json"
ok "its file replaced" is_ir "$tmp/w/real.json"

# A directory, a link to one, a dangling link: refused (2), untouched.
mkdir "$tmp/w/dir"
expect "compile -o directory" 2 "$lattice" compile "$ex" -o "$tmp/w/dir"
ok "directory named" grep -q "is a directory" "$tmp/err"
ok "still a directory" test -d "$tmp/w/dir" -a ! -L "$tmp/w/dir"
ln -s dir "$tmp/w/to-dir"
expect "compile -o link to a directory" 2 "$lattice" compile "$ex" -o "$tmp/w/to-dir"
ok "link to a directory kept" test -L "$tmp/w/to-dir"
ln -s nowhere "$tmp/w/dangling"
expect "compile -o dangling link" 2 "$lattice" compile "$ex" -o "$tmp/w/dangling"
ok "dangling link kept" test -L "$tmp/w/dangling"

# A character device, in place: the null device made here (root only).
if [[ $(id -u) -eq 0 ]] && mknod "$tmp/w/null" c 1 3 2>/dev/null; then
    expect "compile -o device" 0 "$lattice" compile "$ex" -o "$tmp/w/null"
    ok "still a character device" test -c "$tmp/w/null"
    ok "still the null device" test "$(stat -c %t:%T "$tmp/w/null")" = "1:3"
    ok "reads empty" test ! -s "$tmp/w/null"
else
    echo "test_outputs: not root (or no mknod): the device case is skipped" >&2
fi

ok "no temporary file left" no_temps "$tmp/w"

echo "test_outputs: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
