// Tracing of the shim's own entry points (start_shim, shim_main,
// delete_shim) and the context they hand on. Every class here compiles to
// nothing that traces when WASMSHIM_OPENTELEMETRY is off.
//
// `start` must never wait for a collector (containerd waits for it), so its
// span does not go to one: it is streamed through a pipe to the daemon it
// spawns, which exports it with its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "wasmshim/otel/config.h"
#include "wasmshim/shim/shim_main.h"

namespace wasmshim::shim {

// The fd where the daemon finds the span stream of the `start` that
// spawned it.
inline constexpr int kStartSpansFd = 4;

class StartTrace {
 public:
  // `spawning`: a daemon will be started (else a running shim is reused and
  // the span is exported here, with a short deadline).
  StartTrace(const ShimFlags& flags, const ShimInfo& info,
             const std::optional<otel::OtlpConfig>& otlp, bool spawning);
  ~StartTrace();
  StartTrace(const StartTrace&) = delete;
  StartTrace& operator=(const StartTrace&) = delete;

  // Entries the daemon's environment needs: the trace context of
  // start_shim, and where the span stream is.
  std::vector<std::string> daemon_environment() const;
  // The pipe end the daemon reads (to put at kStartSpansFd); -1: none.
  int daemon_span_fd() const;
  // After the spawn: this process's copy of the daemon's end is closed.
  void spawned();
  // In the forked daemon, whose copy of this trace is never ended or
  // destroyed: its end of the span pipe goes, so the daemon sees the
  // stream end when `start` exits. Call after taking a copy of
  // daemon_span_fd() and before moving fds into their places.
  void leave_to_daemon();
  void fail(const std::string& message);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

class DaemonTrace {
 public:
  DaemonTrace(const ShimFlags& flags, const ShimInfo& info,
              const std::optional<otel::OtlpConfig>& otlp,
              const std::function<void(const std::string&)>& log);
  // Ends shim_main, exports what is left within the export timeout.
  ~DaemonTrace();
  DaemonTrace(const DaemonTrace&) = delete;
  DaemonTrace& operator=(const DaemonTrace&) = delete;

  // shim_main as a W3C traceparent: the parent of RPC spans whose request
  // carried none. Empty when tracing is off.
  std::string traceparent() const;
  // Hands start_shim, streamed by the `start` that forked this daemon, to
  // the exporter once `start` has exited, waiting at most `wait` for that;
  // if it has not, the destructor tries again.
  void take_start_spans(std::chrono::milliseconds wait);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

class DeleteTrace {
 public:
  DeleteTrace(const ShimFlags& flags, const ShimInfo& info,
              const std::optional<otel::OtlpConfig>& otlp);
  ~DeleteTrace();
  DeleteTrace(const DeleteTrace&) = delete;
  DeleteTrace& operator=(const DeleteTrace&) = delete;
  void set_exit(std::uint32_t status);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace wasmshim::shim
