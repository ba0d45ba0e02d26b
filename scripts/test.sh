#!/usr/bin/env bash
# Sets up the machine, then builds and runs every test: formatting, the
# libFuzzer targets for a bounded time, the unit tests under ThreadSanitizer,
# and the full suite (unit + interop) with warnings as errors. The last
# summary printed is the full suite's.
#   WASMSHIM_FUZZ_SECONDS  seconds per fuzz target (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
jobs=2

scripts/setup.sh
scripts/npm-deps.sh build

echo "== format check"
scripts/check-format.sh

echo "== fuzz (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWASMSHIM_FUZZ=ON -DWASMSHIM_BUILD_TESTS=OFF -DWASMSHIM_BUILD_BENCH=OFF \
  -DWASMSHIM_FUZZ_SECONDS="${WASMSHIM_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest --output-on-failure -j"$jobs")

# Tests labelled grpc are left out: Debian's gRPC and abseil are not
# instrumented, so TSan reports races inside them that are not there.
echo "== unit tests under ThreadSanitizer"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASMSHIM_SANITIZE=thread \
  -DWASMSHIM_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs"
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppressions=$root/scripts/tsan.supp" ctest --output-on-failure -j"$jobs" -L unit)

echo "== tracing compiled out (WASMSHIM_OPENTELEMETRY=OFF): unit and end-to-end tests"
cmake -S . -B build-notrace -G Ninja -DWASMSHIM_OPENTELEMETRY=OFF -DWASMSHIM_WERROR=ON \
  -DWASMSHIM_BUILD_BENCH=OFF -DWASMSHIM_NODE_MODULES="$root/build/npm/node_modules" >/dev/null
cmake --build build-notrace -j"$jobs"
(cd build-notrace && ctest --output-on-failure -j"$jobs" -L "unit|e2e")

echo "== full suite"
cmake -S . -B build -G Ninja -DWASMSHIM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== clang-tidy"
scripts/check-tidy.sh
cd build
ctest --output-on-failure -j"$jobs"
