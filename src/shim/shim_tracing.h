// Tracing of the shim's own entry points (start_shim, shim_main,
// delete_shim) and the context they hand on. Every class here compiles to
// nothing that traces when WASMSHIM_OPENTELEMETRY is off.
//
// `start` must never wait for a collector (containerd waits for it), so its
// span does not go to one: the daemon it forks, which has a copy of when
// `start` began, records start_shim, ends it when `start` exits and exports
// it with its own.
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

// The fd where the daemon has the read end of a pipe whose write end the
// `start` that spawned it holds: it closes when `start` exits.
inline constexpr int kStartExitFd = 4;

class StartTrace {
 public:
  // `spawning`: a daemon will be started (else a running shim is reused and
  // the span is exported here, with a short deadline).
  StartTrace(const ShimFlags& flags, const ShimInfo& info,
             const std::optional<otel::OtlpConfig>& otlp, bool spawning);
  ~StartTrace();
  StartTrace(const StartTrace&) = delete;
  StartTrace& operator=(const StartTrace&) = delete;

  // The pipe end the daemon watches (to put at kStartExitFd); -1: none.
  int start_exit_fd() const;
  // After the spawn: this process's copy of the daemon's end is closed.
  void spawned();
  // In the forked daemon, whose copy of this trace is never destroyed (the
  // DaemonTrace given it records start_shim): the pipe's ends go, so the daemon
  // sees `start` exit. Call after taking a copy of start_exit_fd() and
  // before moving fds into their places.
  void leave_to_daemon();
  void fail(const std::string& message);

  struct State;

 private:
  friend class DaemonTrace;

  std::unique_ptr<State> state_;
};

class DaemonTrace {
 public:
  // `start`: this process's copy of the `start` that forked it, whose
  // start_shim it records, ends and exports; null when it was not forked so.
  DaemonTrace(const ShimFlags& flags, const ShimInfo& info,
              const std::optional<otel::OtlpConfig>& otlp,
              const std::function<void(const std::string&)>& log, StartTrace* start);
  // Ends shim_main, exports what is left within the export timeout.
  ~DaemonTrace();
  DaemonTrace(const DaemonTrace&) = delete;
  DaemonTrace& operator=(const DaemonTrace&) = delete;

  // shim_main as a W3C traceparent: the parent of RPC spans whose request
  // carried none. Empty when tracing is off.
  std::string traceparent() const;
  // Ends start_shim and hands it to the exporter once `start` has exited,
  // waiting at most `wait` for that; if it has not, the destructor waits
  // again and then ends it anyway.
  void take_start_span(std::chrono::milliseconds wait);
  // Called from the daemon's main loop when one of export_due_fds() is
  // readable: starts the export thread once an export is due (see
  // otel::BatchOptions::thread_when_due).
  void start_due_exports();
  // Readable when an export is due, for the main loop's poll; none when
  // tracing is off.
  std::vector<int> export_due_fds() const;

  struct State;

 private:
  void end_start_span();

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
