#!/usr/bin/env bash
# Regenerates the message tables of docs/protocol.md from proto/include/lattice/msg.h
# (test_msg fails while they differ). Usage: scripts/update-protocol-doc.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cmake --build "$build" --target test_msg >/dev/null
tables=$("$build/tests/test_msg" --doc-tables)
python3 - "$root/docs/protocol.md" "$tables" <<'PY'
import sys
path, tables = sys.argv[1], sys.argv[2]
doc = open(path).read()
start = doc.index('<!-- Generated from')
end = doc.index('<!-- End of generated tables. -->') + len('<!-- End of generated tables. -->')
open(path, 'w').write(doc[:start] + tables.rstrip('\n') + doc[end:])
PY
echo "updated docs/protocol.md"
