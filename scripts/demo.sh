#!/usr/bin/env bash
# The demo: Wasm containers under a private containerd (Debian's), through
# containerd-shim-wasmshim-v1, and their trace printed as a tree. Builds what
# it needs, starts the OTLP receiver (`wasmshim otlp-receiver`) and
# containerd with its own root, state and socket under $WASMSHIM_DEMO_DIR
# (default /tmp/wasmshim-demo), with the OTLP variables set for the shim;
# imports the demo image `wasmshim image` makes, runs containers with ctr,
# prints the traces, and stops everything it started. Needs root.
#
# It checks what it shows: each container's output and exit status, and that
# each container's trace holds the spans the shim promises. When any of it is
# missing it says what and exits 1 (0 when all is there).
#
# (Debian 12's containerd 1.6 is built without its OTLP tracing plugin, so
# containerd's own spans cannot join; with a containerd that has it, point its
# io.containerd.tracing.processor.v1.otlp plugin at the same receiver.)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
trap 'echo "demo: failed: \`$BASH_COMMAND\` exited with status $?" >&2' ERR
scripts/setup.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j2 --target wasmshim containerd-shim-wasmshim-v1 demo_wasm

dir="${WASMSHIM_DEMO_DIR:-/tmp/wasmshim-demo}"
image=docker.io/wasmshim/demo:latest
runtime=io.containerd.wasmshim.v1
http_port=24318
grpc_port=24317
spans="$dir/spans.jsonl"
mkdir -p "$dir"
rm -f "$spans"
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
stop_receiver() {
  # SIGINT makes the receiver print every trace it still holds, then exit.
  if [[ -n "$receiver_pid" ]]; then
    kill -INT "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
    receiver_pid=
  fi
}
cleanup() {
  if [[ -n "$containerd_pid" ]]; then
    kill "$containerd_pid" 2>/dev/null || true
    wait "$containerd_pid" 2>/dev/null || true
  fi
  stop_receiver
}
trap cleanup EXIT

problems=()
problem() {
  problems+=("$*")
}

echo "demo: OTLP receiver on 127.0.0.1:$http_port (http) and :$grpc_port (grpc)" >&2
build/bin/wasmshim otlp-receiver --http "127.0.0.1:$http_port" --grpc "127.0.0.1:$grpc_port" \
  --quiet-ms 1500 --jsonl "$spans" 2>"$dir/receiver.log" &
receiver_pid=$!

echo "demo: starting containerd in $dir" >&2
PATH="$repo/build/bin:$PATH" WASMSHIM_CACHE_DIR="$dir/cache" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$http_port" OTEL_SERVICE_NAME=wasmshim-demo \
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
containerd_pid=$!
containerd_up=false
for _ in $(seq 100); do
  if "${ctr[@]}" version >/dev/null 2>&1; then
    containerd_up=true
    break
  fi
  kill -0 "$containerd_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ "$containerd_up" != true ]]; then
  echo "demo: FAILED: containerd did not come up; its log, $dir/containerd.log, ends:" >&2
  tail -n 20 "$dir/containerd.log" >&2
  exit 1
fi
if ! kill -0 "$receiver_pid" 2>/dev/null; then
  echo "demo: FAILED: the OTLP receiver exited; its log, $dir/receiver.log:" >&2
  cat "$dir/receiver.log" >&2
  receiver_pid=
  exit 1
fi

echo "demo: building and importing $image" >&2
build/bin/wasmshim image -o "$dir/demo.tar" --name "$image" build/wasm/demo.wasm
"${ctr[@]}" image import "$dir/demo.tar" >/dev/null

# run ID EXPECTED_STATUS EXPECTED_OUTPUT ARGS...: runs the demo app in a
# container, shows its output and exit status, and notes what differs.
run() {
  local id="$1" want_status="$2" want_output="$3"
  shift 3
  echo "\$ ctr run --rm --runtime $runtime $image $id $*" >&2
  local status=0
  "${ctr[@]}" run --rm --runtime "$runtime" "$image" "$id" "$@" >"$dir/$id.out" || status=$?
  cat "$dir/$id.out"
  echo "  (exit status $status)" >&2
  if [[ "$status" != "$want_status" ]]; then
    problem "$id: exit status $status, expected $want_status"
  fi
  if [[ "$(cat "$dir/$id.out")" != "$want_output" ]]; then
    problem "$id: printed '$(tr '\n' ' ' <"$dir/$id.out")', expected '$want_output'"
  fi
}
run demo-echo 0 "hello from a Wasm container" /demo.wasm echo hello from a Wasm container
run demo-exit 3 "" /demo.wasm exit 3
run demo-sleep 0 "slept 1" /demo.wasm sleep 1

# The spans each container's trace must hold: the shim's start, its daemon,
# the Task calls containerd makes, the instance and the engine inside them,
# and the `delete` containerd runs after the shim has gone.
expected_spans=(start_shim shim_main
  containerd.task.v2.Task/Create containerd.task.v2.Task/Start
  containerd.task.v2.Task/Wait containerd.task.v2.Task/Delete
  instance.create instance.start instance.wait instance.delete
  container.run wasm.load wasm.run delete_shim)

# trace_problems ID STATUS: prints what the trace of container ID lacks
# (nothing when it is whole). The receiver writes each span as one JSON line
# with its keys sorted, so a span's own name is the one before
# "parent_span_id".
trace_problems() {
  local id="$1" want_status="$2" trace
  trace="$(grep -F "\"container.id\":\"$id\"" "$spans" 2>/dev/null | grep -F '"name":"start_shim","parent_span_id"' |
    sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/p' | head -n 1)" || true
  if [[ -z "$trace" ]]; then
    echo "$id: no trace (no start_shim span with container.id=$id)"
    return
  fi
  local in_trace
  in_trace="$(grep -F "\"trace_id\":\"$trace\"" "$spans")"
  local missing=() name
  for name in "${expected_spans[@]}"; do
    grep -qF "\"name\":\"$name\",\"parent_span_id\"" <<<"$in_trace" || missing+=("$name")
  done
  if ((${#missing[@]} > 0)); then
    echo "$id: trace $trace lacks the spans ${missing[*]}"
  fi
  local run_span failed
  run_span="$(grep -F '"name":"wasm.run","parent_span_id"' <<<"$in_trace" || true)"
  if [[ -n "$run_span" ]] && ! grep -qE "\"exit_code\":${want_status}[,}]" <<<"$run_span"; then
    echo "$id: trace $trace: wasm.run's exit_code is not $want_status"
  fi
  failed="$(grep -F '"status":{"code":2' <<<"$in_trace" |
    sed -n 's/.*"name":"\([^"]*\)","parent_span_id".*"status":{"code":2,"message":"\([^"]*\)".*/\1 (\2)/p' || true)"
  if [[ -n "$failed" ]]; then
    echo "$id: trace $trace has spans with status ERROR: $(paste -sd, <<<"$failed")"
  fi
}
all_trace_problems() {
  trace_problems demo-echo 0
  trace_problems demo-exit 3
  trace_problems demo-sleep 0
}

# Wait until every trace is whole (spans arrive as each shim exits, and
# delete_shim's after containerd has run `shim delete`), for at most 15 s.
for _ in $(seq 150); do
  [[ -z "$(all_trace_problems)" ]] && break
  sleep 0.1
done
echo "demo: the traces:" >&2
stop_receiver
while IFS= read -r line; do
  [[ -n "$line" ]] && problem "$line"
done <<<"$(all_trace_problems)"

if ((${#problems[@]} > 0)); then
  echo "demo: FAILED:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  echo "demo: containerd's log is $dir/containerd.log (the shim logs there too)," \
    "the receiver's $dir/receiver.log, every span is in $spans" >&2
  exit 1
fi
echo "demo: OK: every container printed what it should and exited as expected," \
  "and each trace holds ${#expected_spans[@]} expected spans" >&2
echo "demo: done; containerd's log is $dir/containerd.log, every span is in $spans" >&2
