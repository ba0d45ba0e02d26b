#!/usr/bin/env bash
# Installs the Debian 12 packages that wasmshim's build, tests and demo use,
# and nothing else. Idempotent: packages already present are left alone.
# Each group names who needs it; layers that land later add their own group.
set -euo pipefail

# Build: compiler, CMake + Ninja, protobuf for the ttrpc envelopes and
# containerd's API, nlohmann-json for JSON in tests and tools.
build_packages=(
  cmake ninja-build g++ pkg-config
  libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev
)
# The engine: libwabt (wasm2c's reader, validator and C writer), libtcc (the
# in-memory compiler tier), clang 22 (the aot tier's C compiler), OpenSSL
# (module digests), xxHash (the checksum every cache entry carries).
engine_packages=(wabt libtcc-dev clang-22 libssl-dev libxxhash-dev)
# Wasm programs (the demo and the engine's test programs): clang for
# wasm32-wasi with wasi-libc, lld and the wasm32 compiler runtime.
wasm_packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
# The conformance suite's Rust and C++ programs: Debian's rustc with its
# standard library for wasm32-wasi, and libc++ for wasm32-wasi.
conformance_packages=(rustc libstd-rust-dev-wasm32 libc++-dev-wasm32)
# Tracing: gRPC and its code generator (OTLP/gRPC), libcurl and zlib
# (OTLP/HTTP and gzip), cpp-httplib (the receiver's and tests' HTTP server),
# openssl (certificates for the TLS tests), Node.js and npm (the interop
# receiver built on the OpenTelemetry project's own decoders; Node's V8 is
# also the reference the engine's SIMD test compares every operation with).
otel_packages=(libgrpc++-dev protobuf-compiler-grpc libcurl4-openssl-dev zlib1g-dev
  libcpp-httplib-dev openssl)
# A machine may already have Node.js with its own npm (packaged with it, which
# conflicts with Debian's npm package): then use that.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  otel_packages+=(nodejs npm)
fi
# The shim: containerd's task API .proto files (built into the shim), and
# containerd with ctr for the end-to-end tests.
shim_packages=(golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev containerd)
# container: seccomp filters from the spec (libseccomp); e2e compares runc.
container_packages=(libseccomp-dev pkg-config)
# Packaging: cpack's DEB generator finds the binaries' library dependencies
# with dpkg-shlibdeps (dpkg-dev), which looks at them with file.
packaging_packages=(dpkg-dev file)
# Unit tests.
test_packages=(libgtest-dev libgmock-dev)
# Interop: the Go ttrpc library (what containerd speaks), built offline in
# GOPATH mode from Debian's Go source packages.
interop_packages=(golang-go golang-github-containerd-ttrpc-dev)
# Fuzzing and style: libFuzzer's runtime for clang, clang-format, clang-tidy.
fuzz_packages=(libclang-rt-14-dev clang-format clang-tidy)

# Benchmarks only (`scripts/setup.sh bench`, as bench/run.sh calls it): the
# plot of bench/stress.
bench_packages=(gnuplot-nox)

packages=("${build_packages[@]}" "${engine_packages[@]}" "${wasm_packages[@]}" "${conformance_packages[@]}" "${otel_packages[@]}" "${shim_packages[@]}" "${container_packages[@]}" "${packaging_packages[@]}" "${test_packages[@]}" "${interop_packages[@]}" "${fuzz_packages[@]}")

if [[ "${1:-}" == bench ]]; then
  packages+=("${bench_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
