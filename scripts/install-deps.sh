#!/usr/bin/env bash
# Idempotent installer for the Debian packages Lattice needs to build and test.
# Safe in CI: never prompts, never reads stdin, only touches apt when something is missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    clang libclang-rt-14-dev   # clang + compiler-rt runtimes for libFuzzer/ASan
    libzmq3-dev libmsgpack-dev libcjson-dev libopenexr-dev libpng-dev
    libssl-dev libxxhash-dev libsqlite3-dev zlib1g-dev
    libdeflate-dev             # EXR ZIP/ZIPS chunks (faster DEFLATE than zlib, as OpenEXR 3.2+ uses)
    libmicrohttpd-dev          # the coordinator's Prometheus endpoint (--metrics)
    libsndfile1-dev            # audio-reactive patches: WAV/FLAC decoding at compile time (common)
    libavcodec-dev libavformat-dev libavutil-dev  # the video target: MP4/H.264 (Debian's libavcodec carries libx264)
    python3                    # JSON and SQLite checks in the CLI and cluster tests
    python3-yaml               # Kubernetes manifest checks (test_deploy)
    iproute2                   # ip netns for the multi-host cluster test
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    # dpkg-query fails for unknown packages; treat that as missing too.
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

# Pick a way to become root; refuse clearly rather than half-install.
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and sudo not available; install them manually:" >&2
    echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# </dev/null so apt/dpkg never wait on a terminal in CI; sudo env keeps DEBIAN_FRONTEND.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null

echo "install-deps: installed: ${missing[*]}"
