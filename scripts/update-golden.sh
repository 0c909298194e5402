#!/usr/bin/env bash
# Re-pins every example's program hash, time model, horizon and IR JSON,
# and refscene's exported bytes (tests/golden/). Run it only for a
# deliberate compiler, example, renderer or encoder change, and review the
# diff.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target lattice >/dev/null
lattice="$BUILD_DIR/cli/lattice"
out=tests/golden/examples.tsv
printf '# example\ttime model\tstate horizon\tprogram hash\n' > "$out"
for patch in examples/*.patch.json; do
    name=$(basename "$patch" .patch.json)
    summary=$("$lattice" compile "$patch" -o "tests/golden/$name.ir.json")
    hash=$(sed -n 's/^program hash: //p' <<<"$summary")
    horizon=$(sed -n 's/^state horizon: \([0-9a-z]*\).*/\1/p' <<<"$summary")
    kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timeModel"]["kind"])' \
        "tests/golden/$name.ir.json")
    printf '%s\t%s\t%s\t%s\n' "$(basename "$patch")" "$kind" "$horizon" "$hash" >> "$out"
done
cat "$out"
# 240 frames of RenderFrames per example (tests/unit/test_runtime.c).
eval_out=tests/golden/eval.tsv
printf '# example\tSHA-256 of frames 0-239 (lattice eval --hash)\n' > "$eval_out"
for patch in examples/*.patch.json; do
    hash=$("$lattice" eval "$patch" --frames 0-239 --hash | sed -n 's/^frames 0-239 hash: //p')
    printf '%s\t%s\n' "$(basename "$patch" .patch.json)" "$hash" >> "$eval_out"
done
cat "$eval_out"
# Every artifact's bytes and content (tests/integration/test_golden_export.sh).
bash scripts/golden-exports.sh "$lattice" . > tests/golden/exports.tsv
cat tests/golden/exports.tsv
