#!/usr/bin/env bash
# Builds (release) and runs the benchmarks; each prints ratios against a peer
# measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target ttrpc_bench go_ttrpc_peer
build-bench/bin/ttrpc_bench "$@"
