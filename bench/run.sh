#!/usr/bin/env bash
# Builds (release) and runs a benchmark; each prints ratios against a peer
# measured in the same run.
#   bench/run.sh ttrpc [--seconds S] [--payload BYTES] [--concurrency N]
#   bench/run.sh engine [--runs N] [--only NAME]
#   bench/run.sh otel [SPANS [EXPORT_SPANS]]
#   bench/run.sh stress [--tasks N] [--concurrency M] [--runtimes wasmshim,wasmshim-traced,wasmshim-bare,runc] [--via direct|containerd] [--rounds R]
#   bench/run.sh pods [--pods N] [--concurrency C] [--rounds R] [--memory-pods K]   pods through CRI, wasmshim against runc
#   bench/run.sh collector-faults [--tasks N]   ctr run --rm per task: tracing off, healthy, refused, silent, 503 and slow collectors
#   bench/run.sh stress-plot [TASKS]   throughput against concurrency, wasmshim and runc (medians of 3 rounds), to build-bench/stress.png
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-}"
shift || true
scripts/setup.sh bench
build="build-bench"
case "$which" in
  ttrpc)
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target ttrpc_bench go_ttrpc_peer
    "$build/bin/ttrpc_bench" "$@"
    ;;
  engine)
    # SQLite's amalgamation, as the npm package better-sqlite3 ships it.
    npm_dir="$build/npm"
    sqlite_dir="$PWD/$npm_dir/package/deps/sqlite3"
    if [[ ! -f "$sqlite_dir/sqlite3.c" ]]; then
      mkdir -p "$npm_dir"
      (cd "$npm_dir" && npm pack better-sqlite3@12 --silent >/dev/null && tar xzf better-sqlite3-*.tgz package/deps/sqlite3)
    fi
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWASMSHIM_SQLITE_DIR="$sqlite_dir" >/dev/null
    cmake --build "$build" -j2
    "$build/bin/engine_bench" "$@"
    ;;
  otel)
    scripts/npm-deps.sh "$build"
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target otel_bench
    "$build/bin/otel_bench" "$@"
    ;;
  stress)
    # As root: shims, runc and cgroups. runc comes with Debian's containerd.
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target stress
    "$build/bin/stress" "$@"
    ;;
  pods)
    # As root: containerd with its CRI plugin, shims, runc and cgroups.
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target pods_bench
    "$build/bin/pods_bench" "$@"
    ;;
  collector-faults)
    # As root: private containerd instances and shims.
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target collector_faults
    "$build/bin/collector_faults" "$@"
    ;;
  stress-plot)
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target stress
    tasks="${1:-100}"
    data="$build/stress-plot.dat"
    echo "# concurrency wasmshim_tasks_per_s runc_tasks_per_s" > "$data"
    for c in 1 2 4 8 16; do
      "$build/bin/stress" --tasks "$tasks" --concurrency "$c" --runtimes wasmshim,runc --rounds 3 \
        --json "$build/stress-$c.json" > "$build/stress-$c.txt"
      python3 - "$build/stress-$c.json" "$c" >> "$data" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runtimes"]
print(sys.argv[2], r["wasmshim"]["tasks_per_second"], r["runc"]["tasks_per_second"])
PY
      tail -n 1 "$data"
    done
    gnuplot -e "datafile='$data'; outfile='$build/stress.png'" bench/stress/plot.gp
    echo "wrote $build/stress.png (data in $data)"
    ;;
  *)
    echo "usage: bench/run.sh ttrpc|engine|otel|stress|pods|collector-faults|stress-plot [options]" >&2
    exit 2
    ;;
esac
