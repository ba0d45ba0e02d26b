#!/usr/bin/env bash
# Sets up the machine, then builds and runs every test: formatting; the
# libFuzzer targets and the unit tests under AddressSanitizer and
# UndefinedBehaviorSanitizer; the unit tests under ThreadSanitizer; the
# end-to-end tests with tracing compiled out; clang-tidy; and the full suite
# with warnings as errors. Each sanitizer stage builds only what its tests
# run. The last summary printed is the full suite's, then the total time.
#   WASMSHIM_FUZZ_SECONDS  seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
jobs=2
started=$SECONDS

stage() {
  echo "== $* ($(( (SECONDS - started) / 60 )) min in)"
}

scripts/setup.sh
scripts/npm-deps.sh build

stage "format check"
scripts/check-format.sh

# One clang build for both: libFuzzer's coverage instrumentation costs the
# unit tests little, and the sanitizers are the same. The engine's traps
# are its own SIGSEGV/SIGBUS handlers; ASan must let them run.
stage "fuzz targets and unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWASMSHIM_FUZZ=ON -DWASMSHIM_BUILD_BENCH=OFF \
  -DWASMSHIM_FUZZ_SECONDS="${WASMSHIM_FUZZ_SECONDS:-30}" \
  -DWASMSHIM_NODE_MODULES="$root/build/npm/node_modules" >/dev/null
cmake --build build-asan -j"$jobs" --target fuzz_targets unit_tests
(cd build-asan && ctest --output-on-failure -j"$jobs" -L fuzz)
(cd build-asan && ASAN_OPTIONS="allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" ctest --output-on-failure -j"$jobs" -L unit)

# Tests labelled grpc are left out: Debian's gRPC and abseil are not
# instrumented, so TSan reports races inside them that are not there.
stage "unit tests under ThreadSanitizer"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASMSHIM_SANITIZE=thread \
  -DWASMSHIM_BUILD_BENCH=OFF -DWASMSHIM_NODE_MODULES="$root/build/npm/node_modules" >/dev/null
cmake --build build-tsan -j"$jobs" --target unit_tests
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppressions=$root/scripts/tsan.supp" ctest --output-on-failure -j"$jobs" -L unit)

# The shim and engine with tracing compiled out, under containerd, and the
# package installed from such a build. The unit tests ran in the stages
# above.
stage "end-to-end tests with tracing compiled out (WASMSHIM_OPENTELEMETRY=OFF)"
cmake -S . -B build-notrace -G Ninja -DWASMSHIM_OPENTELEMETRY=OFF -DWASMSHIM_WERROR=ON \
  -DWASMSHIM_BUILD_BENCH=OFF -DWASMSHIM_NODE_MODULES="$root/build/npm/node_modules" >/dev/null
cmake --build build-notrace -j"$jobs" --target e2e_tests
(cd build-notrace && ctest --output-on-failure -j"$jobs" -L e2e)

stage "full suite"
cmake -S . -B build -G Ninja -DWASMSHIM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
stage "clang-tidy"
scripts/check-tidy.sh
stage "full suite: tests"
status=0
(cd build && ctest --output-on-failure -j"$jobs") || status=$?
echo "== scripts/test.sh took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
exit "$status"
