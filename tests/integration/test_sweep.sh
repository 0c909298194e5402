#!/usr/bin/env bash
# Dataset sweeps: `lattice export --seeds a-b --variants FILE` makes one
# export per variant and seed, each the export `lattice export` makes of
# that variant with --seed, listed in OUT/index.json; the seeds of a
# variant share one program (its hash), the variants do not; a second
# run renders nothing; a bad variant stops the sweep before anything is
# written. The seed setting itself: in the config hash and metadata only
# when it is not the patch's.
# Usage: test_sweep.sh LATTICE_BINARY REPO_ROOT
set -uo pipefail
lattice=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/check_lib.sh"

orbit=$root/examples/orbit-cards.patch.json
echo '{"resolution": [64, 36], "artifacts": ["rgba", "id", "camera"]}' >"$tmp/small.json"
cat >"$tmp/variants.json" <<'EOF'
[{"name": "near", "inputs": {"ring.radius": 1.5}},
 {"inputs": {"ring.radius": 3.5}, "params": {"cards.count": 5}}]
EOF

# The example's variants, as examples/README.md runs them.
expect "the example sweep" 0 "$lattice" export "$orbit" -o "$tmp/example" --frames 0-1 \
    --config "$tmp/small.json" --variants "$root/examples/orbit-cards.variants.json"
ok "... tight and wide" test -f "$tmp/example/tight/metadata.json" -a -f "$tmp/example/wide/metadata.json"

expect "sweep export" 0 "$lattice" export "$orbit" -o "$tmp/sweep" --frames 0-3 \
    --config "$tmp/small.json" --seeds 7-9 --variants "$tmp/variants.json"
ok "says where the list is" grep -q "6 exports of 24 frames in all (24 rendered).*sweep/index.json" "$tmp/out"
ok "index lists every export" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
dirs = [e["dir"] for e in d["exports"]]
assert d["complete"] is True and dirs == ["near-seed-7", "near-seed-8", "near-seed-9",
    "v01-seed-7", "v01-seed-8", "v01-seed-9"], d
for e in d["exports"]:
    m = json.load(open(sys.argv[2] + "/" + e["metadata"]))
    assert m["seed"] == e["seed"] and m["programHash"] == e["programHash"], (e, m["seed"])
    assert m["configHash"] == e["configHash"] and m["frameRange"] == e["frameRange"]
progs = {e["variantName"]: set() for e in d["exports"]}
for e in d["exports"]:
    progs[e["variantName"]].add(e["programHash"])
assert all(len(p) == 1 for p in progs.values()), progs      # one program per variant
assert progs["near"] != progs["v01"], progs
assert len({e["configHash"] for e in d["exports"]}) == 3     # the seed is a setting
assert d["exports"][3]["inputs"] == {"ring.radius": 3.5} and d["exports"][3]["params"] == {"cards.count": 5}
' "$tmp/sweep/index.json" "$tmp/sweep"
for d in "$tmp"/sweep/*/; do
    expect "verify $(basename "$d")" 0 "$lattice" verify "$d"
done

# Each export is the one a plain export of that variant with --seed makes.
python3 - "$orbit" "$tmp/v01.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for b in p["blocks"]:
    if b["id"] == "ring":
        b.setdefault("inputs", {})["radius"] = 3.5
    if b["id"] == "cards":
        b.setdefault("params", {})["count"] = 5
json.dump(p, open(sys.argv[2], "w"))
PY
expect "v01 with --seed 8" 0 "$lattice" export "$tmp/v01.json" -o "$tmp/v01-8" --frames 0-3 \
    --config "$tmp/small.json" --seed 8
ok "... equals the sweep's v01-seed-8" same_export "$tmp/v01-8" "$tmp/sweep/v01-seed-8"
# A patch with randomness: another seed, another picture.
particles=$root/bench/particles.patch.json
expect "particles, seeds 1-2" 0 "$lattice" export "$particles" -o "$tmp/fountain" --frames 20-20 \
    --artifacts rgba --seeds 1-2
ok "seeds change the picture" bash -c "! cmp -s '$tmp/fountain/seed-1/rgba/frame_000020.png' \
    '$tmp/fountain/seed-2/rgba/frame_000020.png'"

# Again: every export is complete, nothing renders.
expect "sweep again" 0 "$lattice" export "$orbit" -o "$tmp/sweep" --frames 0-3 \
    --config "$tmp/small.json" --seeds 7-9 --variants "$tmp/variants.json"
ok "nothing rendered" grep -q "(0 rendered)" "$tmp/out"

# Bad sweeps stop before anything is written.
echo '[{"inputs": {"nosuch.radius": 1}}]' >"$tmp/bad1.json"
expect "a block the patch lacks" 2 "$lattice" export "$orbit" -o "$tmp/bad" --variants "$tmp/bad1.json"
ok "names it" grep -q "bad1.json: /0/inputs/nosuch.radius: the patch has no block 'nosuch'" "$tmp/err"
echo '[{"inputs": {"ring.radiuss": 1}}]' >"$tmp/bad2.json"
expect "a port the block lacks" 1 "$lattice" export "$orbit" -o "$tmp/bad" --variants "$tmp/bad2.json"
ok "the compiler's diagnostic, with the variant" grep -q "(variant v00).*error\[PT-010\].*radiuss" "$tmp/err"
expect "--seeds backwards" 2 "$lattice" export "$orbit" -o "$tmp/bad" --seeds 9-7
expect "--seed with --seeds" 2 "$lattice" export "$orbit" -o "$tmp/bad" --seeds 1-2 --seed 3
expect "--shard with --seeds" 2 "$lattice" export "$orbit" -o "$tmp/bad" --seeds 1-2 --shard 0/2
echo '[{"name": "v01"}, {}]' >"$tmp/bad3.json"
expect "two variants, one directory" 2 "$lattice" export "$orbit" -o "$tmp/bad" --variants "$tmp/bad3.json"
ok "names the clash" grep -q "two variants are named 'v01'" "$tmp/err"
ok "nothing written" test ! -e "$tmp/bad"

# --variants with --seed: every variant with that seed, and the index says so.
expect "variants with --seed 5" 0 "$lattice" export "$orbit" -o "$tmp/five" --frames 0-1 \
    --config "$tmp/small.json" --variants "$root/examples/orbit-cards.variants.json" --seed 5
ok "... seed 5 everywhere" python3 -c '
import json, sys
d = json.load(open(sys.argv[1] + "/index.json"))
for e in d["exports"]:
    m = json.load(open(sys.argv[1] + "/" + e["metadata"]))
    assert e["seed"] == 5 and m["seed"] == 5, (e, m["seed"])' "$tmp/five"

# The index says what each metadata.json says: a second range joins the first.
expect "seeds 3-3, frames 0-1" 0 "$lattice" export "$orbit" -o "$tmp/join" --frames 0-1 \
    --config "$tmp/small.json" --seeds 3-3
expect "seeds 3-3, frames 2-3" 0 "$lattice" export "$orbit" -o "$tmp/join" --frames 2-3 \
    --config "$tmp/small.json" --seeds 3-3
ok "... the index has the joined range and hash" python3 -c '
import json, sys
e = json.load(open(sys.argv[1] + "/index.json"))["exports"][0]
m = json.load(open(sys.argv[1] + "/seed-3/metadata.json"))
assert e["frameRange"] == m["frameRange"] == [0, 3] and e["configHash"] == m["configHash"], (e, m["frameRange"])' "$tmp/join"
expect "export --json of a sweep" 0 "$lattice" export "$orbit" -o "$tmp/join" --frames 2-3 \
    --config "$tmp/small.json" --seeds 3-3 --json
ok "... says the exports and the index" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "done" and d["exports"] == 1 and d["index"].endswith("join/index.json"), d' "$tmp/out"

# The patch's own seed is no setting: the same export, the same hash.
seed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("seed", 0))' "$orbit")
expect "export --seed (the patch's)" 0 "$lattice" export "$orbit" -o "$tmp/own" --frames 0-1 \
    --config "$tmp/small.json" --seed "$seed"
expect "export (no seed)" 0 "$lattice" export "$orbit" -o "$tmp/none" --frames 0-1 \
    --config "$tmp/small.json"
ok "same export" same_export "$tmp/own" "$tmp/none"
checks_done
