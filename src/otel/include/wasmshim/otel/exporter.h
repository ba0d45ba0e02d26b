// Where finished spans go: the exporter interface, an in-memory exporter for
// tests, and the console exporter.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

using Clock = std::chrono::steady_clock;

// Where the SDK reports its own trouble (export failures, drops, bad
// configuration). It must never create spans: diagnostics bypass tracing.
using DiagnosticLog = std::function<void(std::string_view message)>;
// Writes "wasmshim otel: <message>" lines to stderr.
DiagnosticLog stderr_diagnostic_log();

enum class ExportResult { success, failure };

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Sends one batch; returns by `deadline` (retries included), whatever the
  // other side does. Called from one thread at a time.
  virtual ExportResult export_spans(std::span<const SpanData> spans,
                                    Clock::time_point deadline) = 0;
  // Ends the exporter: an export in flight on another thread returns promptly
  // with failure, later ones fail at once. Safe to call from any thread.
  virtual void shutdown() = 0;
  // Fork hooks, run by the batch processor's fork handlers on the forking
  // thread: before_fork takes whatever lock the exporter keeps, so no other
  // thread holds it at the moment of fork; after_fork_in_parent releases it;
  // after_fork_in_child releases it too and drops connections and handles
  // shared with the parent. The defaults have nothing to do.
  virtual void before_fork() {}
  virtual void after_fork_in_parent() {}
  virtual void after_fork_in_child() {}
};

// Keeps every exported span in memory; for tests and for embedding.
class InMemorySpanExporter final : public SpanExporter {
 public:
  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point deadline) override;
  void shutdown() override;
  void before_fork() override { mutex_.lock(); }
  void after_fork_in_parent() override { mutex_.unlock(); }
  void after_fork_in_child() override { mutex_.unlock(); }
  std::vector<SpanData> spans() const;
  std::size_t export_calls() const;

 private:
  mutable std::mutex mutex_;
  std::vector<SpanData> spans_;
  std::size_t export_calls_ = 0;
  bool shut_down_ = false;
};

// One readable line per span (and per event) to `out`.
std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out = stdout);

}  // namespace wasmshim::otel
