#!/usr/bin/env bash
# Sets up the machine, then builds and runs every test: formatting; the
# libFuzzer targets and the unit tests under AddressSanitizer and
# UndefinedBehaviorSanitizer; the unit tests under ThreadSanitizer; the
# end-to-end tests with tracing compiled out; clang-tidy; and the rest of the
# suite (interop, end-to-end, conformance, packaging) with warnings as errors.
# Each stage builds only what its tests run, and the unit tests run once per
# sanitizer, not a third time. The total time is printed at the end.
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
node_modules="$root/build/npm/node_modules"
# Builds that only tests use carry line tables, not full debug info: enough
# for a sanitizer's report to name file and line, and much cheaper to build.
line_tables=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

stage "format check"
scripts/check-format.sh

# The suite beyond the unit tests, built first so that clang-tidy (which
# reads its compile_commands.json and generated headers) can run beside
# every later stage. It runs at the lowest priority: it takes only the CPU
# the stages leave idle (their tests mostly wait on processes and
# containerd), and the stages keep their speed.
stage "build of the suite with -Werror (unit tests left out: the sanitizer stages run them)"
cmake -S . -B build-ci -G Ninja -DWASMSHIM_WERROR=ON -DWASMSHIM_UNIT_TESTS=OFF \
  -DWASMSHIM_NODE_MODULES="$node_modules" >/dev/null
cmake --build build-ci -j"$jobs"
tidy_log="$root/build-ci/tidy.log"
# In a session of its own, so that a failing stage stops all of it. The
# kernel shares CPU fairly between sessions (autogroups) before it looks at
# nice values, so the session's own share is lowered too.
setsid -w bash -c 'echo 19 2>/dev/null >/proc/self/autogroup; exec nice -n 19 scripts/check-tidy.sh build-ci' \
  >"$tidy_log" 2>&1 &
tidy_pid=$!
trap 'kill -- "-$tidy_pid" 2>/dev/null || true' EXIT

# One clang build for both: libFuzzer's coverage instrumentation costs the
# unit tests little, and the sanitizers are the same. The engine's traps
# are its own SIGSEGV/SIGBUS handlers; ASan must let them run.
stage "fuzz targets and unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja "${line_tables[@]}" \
  -DWASMSHIM_FUZZ=ON -DWASMSHIM_BUILD_BENCH=OFF \
  -DWASMSHIM_FUZZ_SECONDS="${WASMSHIM_FUZZ_SECONDS:-30}" \
  -DWASMSHIM_NODE_MODULES="$node_modules" >/dev/null
cmake --build build-asan -j"$jobs" --target fuzz_targets unit_tests
(cd build-asan && ctest --output-on-failure -j"$jobs" -L fuzz)
(cd build-asan && ASAN_OPTIONS="allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" ctest --output-on-failure -j"$jobs" -L unit)

# gcc with -Werror, so the unit tests' sources also build warning-free with
# the compiler users build with. Tests labelled grpc are left out: Debian's
# gRPC and abseil are not instrumented, so TSan reports races inside them
# that are not there (they run in the last stage).
stage "unit tests under ThreadSanitizer (gcc, -Werror)"
cmake -S . -B build-tsan -G Ninja "${line_tables[@]}" -DWASMSHIM_SANITIZE=thread \
  -DWASMSHIM_WERROR=ON -DWASMSHIM_BUILD_BENCH=OFF -DWASMSHIM_NODE_MODULES="$node_modules" >/dev/null
cmake --build build-tsan -j"$jobs" --target unit_tests
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppressions=$root/scripts/tsan.supp" ctest --output-on-failure -j"$jobs" -L unit)

# The shim and engine with tracing compiled out, under containerd, and the
# package installed from such a build.
stage "end-to-end tests with tracing compiled out (WASMSHIM_OPENTELEMETRY=OFF)"
cmake -S . -B build-notrace -G Ninja "${line_tables[@]}" -DWASMSHIM_OPENTELEMETRY=OFF \
  -DWASMSHIM_WERROR=ON -DWASMSHIM_BUILD_BENCH=OFF -DWASMSHIM_NODE_MODULES="$node_modules" >/dev/null
cmake --build build-notrace -j"$jobs" --target e2e_tests
(cd build-notrace && ctest --output-on-failure -j"$jobs" -L e2e)

stage "the rest of the suite: interop, end-to-end, conformance, packaging"
status=0
(cd build-ci && ctest --output-on-failure -j"$jobs") || status=$?

stage "clang-tidy (waiting for it)"
tidy_status=0
wait "$tidy_pid" || tidy_status=$?
trap - EXIT
cat "$tidy_log"
if [ "$tidy_status" -ne 0 ]; then
  echo "clang-tidy found problems (above)"
  status=1
fi
echo "== scripts/test.sh took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
exit "$status"
