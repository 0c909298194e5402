#!/usr/bin/env bash
# An audio-reactive export end to end: the example patch with a WAV this
# test makes (as examples/README.md shows), exported from another
# directory (the audio path is the patch's), with the audio artifact:
# audio/features.npz has a row per frame at the export's fps, the same
# bytes with other workers and threads, and listed and verified like any
# file; another sample in the WAV is another program; and through a
# coordinator, which compiles nothing with files: `lattice submit` sends
# the program, the job makes the same export.
# Usage: test_audio_export.sh LATTICE REPO_ROOT COORDINATOR WORKER PEER FAULTY_WORKER
source "$(dirname "$0")/cluster_lib.sh"

mkdir -p "$tmp/ex"
cp "$root/examples/audio/audio-pulse.patch.json" "$tmp/ex/"
wav() { # wav FILE [TWEAK]: 4 s of the example's signal; TWEAK 1 changes one sample
    python3 - "$1" "${2:-0}" <<'PY'
import math, struct, sys, wave
rate, w = 44100, wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
def s(i):
    t = i / rate; v = 0.2 * math.sin(2 * math.pi * 110 * t)
    ph = (t - 0.25) % 0.5
    if t >= 0.25 and ph < 0.06:
        v += 0.8 * math.exp(-ph * 60) * math.sin(2 * math.pi * 2000 * t)
    x = max(-32767, min(32767, int(v * 32767)))
    return struct.pack("<h", x + (1 if i == 1000 and sys.argv[2] == "1" else 0))
w.writeframes(b"".join(s(i) for i in range(4 * rate))); w.close()
PY
}
wav "$tmp/ex/audio-pulse.wav"
echo '{"resolution": [64, 64]}' >"$tmp/small.json"

cd "$tmp" || exit 1 # not the patch's directory: the audio is found next to the patch
expect "export with audio" 0 "$lattice" export "$tmp/ex/audio-pulse.patch.json" -o "$tmp/a" \
    --frames 0-47 --fps 12 --artifacts rgba,audio --config "$tmp/small.json" --threads 1
ok "features.npz: a row per frame at 12 fps" python3 - "$tmp/a" <<'PY'
import json, struct, sys, zipfile
out = sys.argv[1]
z = zipfile.ZipFile(out + "/audio/features.npz")
names = z.namelist()
assert names == ["frame.npy", "time_ms.npy", "rms.npy", "bands.npy", "onset.npy",
                 "beat_phase.npy", "bpm.npy"], names
def npy(name):
    b = z.read(name)
    hl = struct.unpack("<H", b[8:10])[0]
    return b[10:10 + hl].decode(), b[10 + hl:]
h, data = npy("time_ms.npy")
assert "'shape': (48,)" in h and "'<f8'" in h, h
t = struct.unpack("<48d", data)
assert all(abs(t[f] - f * 1000 / 12) < 1e-9 for f in range(48)), t[:4]
h, data = npy("rms.npy")
rms = struct.unpack("<48f", data)
assert max(rms) > 0.05 and min(rms) >= 0, rms
h, data = npy("bpm.npy")
bpm = struct.unpack("<d", data)[0]
assert abs(bpm - 120) <= 1, bpm
m = json.load(open(out + "/metadata.json"))
assert m["frameRate"] == 12 and "audio" in m["checksums"], m["checksums"].keys()
assert m["conventions"]["audio"]["file"] == "audio/features.npz"
assert abs(m["conventions"]["audio"]["bpm"] - 120) <= 1
PY
expect "verify" 0 "$lattice" verify "$tmp/a"
expect "two workers, two threads" 0 "$lattice" export "$tmp/ex/audio-pulse.patch.json" -o "$tmp/b" \
    --frames 0-47 --fps 12 --artifacts rgba,audio --config "$tmp/small.json" --workers 2 \
    --threads 2 --chunk 5
ok "... the same export" same_export "$tmp/a" "$tmp/b"

# One sample more is another program.
hash_of() { "$lattice" compile "$1" -o /dev/null | sed -n 's/^program hash: //p'; }
h1=$(hash_of "$tmp/ex/audio-pulse.patch.json")
wav "$tmp/ex/audio-pulse.wav" 1
h2=$(hash_of "$tmp/ex/audio-pulse.patch.json")
ok "the program hash covers the audio" test -n "$h1" -a -n "$h2" -a "$h1" != "$h2"
wav "$tmp/ex/audio-pulse.wav"

# Through a coordinator: the client compiles, the coordinator reads no file.
start_coordinator main
start_worker wa
ok "a worker is listed" wait_for 20 listed wa
expect "submit with audio" 0 "$lattice" submit "$tmp/ex/audio-pulse.patch.json" -c "$endpoint" \
    -o "$tmp/c" --frames 0-47 --fps 12 --artifacts rgba,audio --config "$tmp/small.json" --wait
ok "... the export one machine makes" same_export "$tmp/a" "$tmp/c"
checks_done
