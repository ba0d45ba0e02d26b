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
  // Exports what is left, within min(export timeout, max_shutdown), and
  // uninstalls the provider. Safe to call twice.
  bool shutdown();

 private:
  OtlpConfig config_;
  std::shared_ptr<TracerProvider> provider_;
  std::chrono::milliseconds deadline_{0};
};

// The context the environment carries (TRACECONTEXT, else TRACEPARENT and
// TRACESTATE); empty when none is valid.
Context context_from_environment();
// "NAME=value" entries that carry `context` into a child's environment.
std::vector<std::string> environment_for(const Context& context);

}  // namespace wasmshim::otel
