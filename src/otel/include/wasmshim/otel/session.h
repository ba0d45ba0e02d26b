// A process's tracing from start to exit: the provider an OtlpConfig (given,
// or read from the environment) describes, installed as the global one, and
// shut down within the export timeout when the session ends. Configuration
// errors are logged, one line each, and the process runs untraced.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/context.h"
#include "wasmshim/otel/otlp.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {

struct SessionOptions {
  ResourceInfo resource;
  // By hand; nothing: the environment decides (the seed's rule).
  std::optional<OtlpConfig> config;
  DiagnosticLog log = stderr_diagnostic_log();
  // Spans go as a span stream to this fd instead of to a collector (a
  // process whose parent exports for it); -1: not.
  int stream_fd = -1;
  // Upper bound for the final flush; the config's timeout when shorter.
  std::chrono::milliseconds max_shutdown{10000};
  // The program's own loop polls due_fds() and calls start_due_exports(),
  // and the export thread starts only when needed
  // (BatchOptions::thread_when_due).
  bool thread_when_due = false;
  // With `config`: what was wrong with the variables it was read from (by a
  // process this one was forked from), logged as the session logs its own.
  std::vector<std::string> config_errors{};
};

class TracingSession {
 public:
  explicit TracingSession(SessionOptions options);
  // Flushes and shuts down (see shutdown).
  ~TracingSession();
  TracingSession(const TracingSession&) = delete;
  TracingSession& operator=(const TracingSession&) = delete;

  bool enabled() const { return provider_ != nullptr; }
  const std::shared_ptr<TracerProvider>& provider() const { return provider_; }
  const OtlpConfig& config() const { return config_; }
  // With SessionOptions::thread_when_due: starts an export that is due.
  void start_due_exports() {
    if (provider_) {
      provider_->start_due_exports();
    }
  }
  // Readable when an export is due; none without thread_when_due.
  std::vector<int> due_fds() const { return provider_ ? provider_->due_fds() : std::vector<int>{}; }
  // Exports what is left, within min(export timeout, max_shutdown), and
  // uninstalls the provider. Safe to call twice.
  bool shutdown();
  // The same within `limit` instead, for a program that learns only at its
  // end how long it may wait (the shim daemon: see export_slots.h).
  bool shutdown(std::chrono::milliseconds limit);

 private:
  OtlpConfig config_;
  std::shared_ptr<TracerProvider> provider_;
  std::chrono::milliseconds deadline_{0};
};

// The context the environment carries (TRACECONTEXT, else TRACEPARENT and
// TRACESTATE); empty when none is valid.
Context context_from_environment();
// The context in TRACEPARENT and TRACESTATE alone, for a process whose
// parent put it there itself (with the same in TRACECONTEXT): no JSON to
// parse, which in a freshly forked process costs more than all the rest.
Context context_from_traceparent_environment();
// "NAME=value" entries that carry `context` into a child's environment.
std::vector<std::string> environment_for(const Context& context);

}  // namespace wasmshim::otel
