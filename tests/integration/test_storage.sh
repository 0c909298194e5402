#!/usr/bin/env bash
# A storage failure fails the export fast and clearly (exit 2, the path and
# the system's reason), never a retry loop, and the frames already written
# stay valid: a read-only export directory, a full disk. Needs root (bind
# and tmpfs mounts); otherwise it says so and exits 77 (ctest: skipped).
# Usage: test_storage.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
set -uo pipefail
lattice=$1
root=$2
if [[ $(id -u) -ne 0 ]] || ! command -v mount >/dev/null; then
    echo "SKIPPED: test_storage needs root to mount a read-only directory and a small tmpfs"
    exit 77
fi
tmp=$(mktemp -d)
mounts=()
cleanup() {
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "$0")/check_lib.sh"
patch=$root/examples/orbit-cards.patch.json

# A read-only export directory: exit 2 at once, naming it and the reason.
mkdir -p "$tmp/ro"
mount --bind "$tmp/ro" "$tmp/ro" && mounts+=("$tmp/ro") && mount -o remount,bind,ro "$tmp/ro"
timeout 120 "$lattice" export "$patch" -o "$tmp/ro" --frames 0-3 >"$tmp/ro.out" 2>"$tmp/ro.err"
status=$?
ok "read-only: exit 2 (got $status)" test "$status" -eq 2
ok "read-only: the reason" grep -q "Read-only file system" "$tmp/ro.err"
ok "read-only: the path" grep -q "$tmp/ro" "$tmp/ro.err"
ok "read-only: no worker blamed or blocked" bash -c "! grep -q 'event=worker_blocked' '$tmp/ro.err'"

# A disk that holds frames 0-4 and not 5: the export stops at the first
# file that does not fit, frames 0-4 stay byte for byte, nothing half
# written is left, and there is no manifest.
"$lattice" export "$patch" -o "$tmp/ref" --frames 0-9 >/dev/null 2>&1
kib=64
for f in 0 1 2 3 4; do
    for file in $(find "$tmp/ref" -name "frame_00000$f.*"); do
        kib=$((kib + ($(stat -c %s "$file") + 4095) / 4096 * 4))
    done
done
mkdir -p "$tmp/full"
mount -t tmpfs -o "size=${kib}k" tmpfs "$tmp/full" && mounts+=("$tmp/full")
timeout 120 "$lattice" export "$patch" -o "$tmp/full/out" --frames 0-9 >"$tmp/full.out" 2>"$tmp/full.err"
status=$?
ok "full disk: exit 2 (got $status)" test "$status" -eq 2
ok "full disk: the reason" grep -q "failed: storage: .*No space left on device" "$tmp/full.err"
ok "full disk: no manifest" test ! -e "$tmp/full/out/metadata.json"
ok "full disk: nothing half written" \
    test -z "$(find "$tmp/full/out" -path "$tmp/full/out/.lattice" -prune -o -name '.*' ! -name . -print | head -1)"
kept=0 same=0
for file in $(cd "$tmp/full/out" && find . -type f -name 'frame_*'); do
    kept=$((kept + 1))
    cmp -s "$tmp/full/out/$file" "$tmp/ref/$file" && same=$((same + 1))
done
ok "full disk: frames written before it stay valid ($same of $kept)" test "$kept" -gt 0 -a "$same" -eq "$kept"
ok "full disk: no worker blamed or blocked" bash -c "! grep -q 'event=worker_blocked' '$tmp/full.err'"

echo "test_storage: $passed passed, $failed failed"
((failed == 0))
