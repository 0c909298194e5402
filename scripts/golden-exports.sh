#!/usr/bin/env bash
# Prints the pinned-export table (tests/golden/exports.tsv): refscene,
# frames 0-5, every artifact ("all": the control tier, particles, semantic,
# edges and svg too), each artifact's `combined` file hash from metadata.json
# and a SHA-256 over its per-frame `content` hashes (the raw buffers: these
# change only when rendering does; file hashes also change with the
# encoder libraries' versions).
# Usage: scripts/golden-exports.sh LATTICE SOURCE_DIR
set -euo pipefail
lattice=$1 root=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo '{"artifacts": ["all"]}' >"$dir/config.json"
"$lattice" export "$root/examples/refscene.patch.json" -o "$dir/out" --frames 0-5 \
    --config "$dir/config.json" --threads 2 >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
printf '# example\tartifact\tfiles (combined SHA-256)\tcontent (SHA-256 of the content hashes)\n'
python3 - "$dir/out/metadata.json" <<'PY'
import hashlib, json, sys
sums = json.load(open(sys.argv[1]))["checksums"]
for name in sorted(sums):
    a = sums[name]
    content = hashlib.sha256("\n".join(a.get("content", [])).encode()).hexdigest()
    print(f"refscene\t{name}\t{a['combined']}\t{content}")
PY
