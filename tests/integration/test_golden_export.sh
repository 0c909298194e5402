#!/usr/bin/env bash
# Pinned export bytes: refscene's artifacts (frames 0-5, control tier
# included) hash to tests/golden/exports.tsv, file bytes and raw content.
# A change must be deliberate: scripts/update-golden.sh re-pins, and the
# reason goes in docs/performance.md or the commit (for instance the
# switch of EXR ZIP chunks from zlib to libdeflate, which changed the
# depth, motion and normal files and no content).
set -u
lattice=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$root/tests/integration/check_lib.sh"

expect "the pinned export runs" 0 bash "$root/scripts/golden-exports.sh" "$lattice" "$root"
cp "$tmp/out" "$tmp/got.tsv"
while IFS=$'\t' read -r example artifact files content; do
    [[ $example == \#* ]] && continue
    got=$(awk -F'\t' -v a="$artifact" '$2 == a' "$tmp/got.tsv")
    ok "$artifact: file bytes as pinned" test "$(cut -f3 <<<"$got")" = "$files"
    ok "$artifact: content as pinned" test "$(cut -f4 <<<"$got")" = "$content"
done <"$root/tests/golden/exports.tsv"
ok "every exported artifact is pinned" test "$(grep -vc '^#' "$tmp/got.tsv")" = \
    "$(grep -vc '^#' "$root/tests/golden/exports.tsv")"
checks_done
