#!/usr/bin/env bash
# The demo: Wasm containers under a private containerd (Debian's), through
# containerd-shim-wasmshim-v1, and their trace printed as a tree. Builds what
# it needs, starts the OTLP receiver (`wasmshim otlp-receiver`) and
# containerd with its own root, state and socket under $WASMSHIM_DEMO_DIR
# (default /tmp/wasmshim-demo), with the OTLP variables set for the shim;
# imports the demo image `wasmshim image`
# makes, runs containers with ctr, prints the traces, and stops everything
# it started. Needs root. (Debian 12's containerd 1.6 is built without its
# OTLP tracing plugin, so containerd's own spans cannot join; with a
# containerd that has it, point its io.containerd.tracing.processor.v1.otlp
# plugin at the same receiver.)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
scripts/setup.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j2 --target wasmshim containerd-shim-wasmshim-v1 demo_wasm

dir="${WASMSHIM_DEMO_DIR:-/tmp/wasmshim-demo}"
image=docker.io/wasmshim/demo:latest
runtime=io.containerd.wasmshim.v1
http_port=24318
grpc_port=24317
mkdir -p "$dir"
cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
TOML

ctr=(ctr --address "$dir/containerd.sock")
containerd_pid=
receiver_pid=
cleanup() {
  if [[ -n "$containerd_pid" ]]; then
    kill "$containerd_pid" 2>/dev/null || true
    wait "$containerd_pid" 2>/dev/null || true
  fi
  if [[ -n "$receiver_pid" ]]; then
    kill -INT "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

echo "demo: OTLP receiver on 127.0.0.1:$http_port (http) and :$grpc_port (grpc)" >&2
build/bin/wasmshim otlp-receiver --http "127.0.0.1:$http_port" --grpc "127.0.0.1:$grpc_port" \
  --quiet-ms 1500 --jsonl "$dir/spans.jsonl" 2>/dev/null &
receiver_pid=$!

echo "demo: starting containerd in $dir" >&2
PATH="$repo/build/bin:$PATH" WASMSHIM_CACHE_DIR="$dir/cache" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$http_port" OTEL_SERVICE_NAME=wasmshim-demo \
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do
  "${ctr[@]}" version >/dev/null 2>&1 && break
  sleep 0.1
done

echo "demo: building and importing $image" >&2
build/bin/wasmshim image -o "$dir/demo.tar" --name "$image" build/wasm/demo.wasm
"${ctr[@]}" image import "$dir/demo.tar" >/dev/null

run() {
  echo "\$ ctr run --rm --runtime $runtime $image $*" >&2
  local status=0
  "${ctr[@]}" run --rm --runtime "$runtime" "$image" "$@" || status=$?
  echo "  (exit status $status)" >&2
}
run demo-echo /demo.wasm echo hello from a Wasm container
run demo-exit /demo.wasm exit 3
run demo-sleep /demo.wasm sleep 1
echo "demo: the traces:" >&2
sleep 3
echo "demo: done; containerd's log is $dir/containerd.log, every span is in $dir/spans.jsonl" >&2
