// Span processors: what happens to a span when it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "wasmshim/otel/exporter.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  // Called on the thread that ended the span; must not block on export.
  virtual void on_end(SpanData&& span) = 0;
  // True when everything ended before the call was exported in time.
  virtual bool force_flush(std::chrono::milliseconds timeout) = 0;
  // Exports what is queued and stops, returning within `timeout`.
  virtual bool shutdown(std::chrono::milliseconds timeout) = 0;
  // See BatchOptions::thread_when_due.
  virtual void start_due_exports() {}
  // See BatchOptions::thread_when_due; -1: none.
  virtual int due_fd() const { return -1; }
};

// The OTEL_BSP_* settings; defaults are the spec's.
struct BatchOptions {
  std::size_t max_queue_size = 2048;
  std::chrono::milliseconds schedule_delay{5000};
  std::chrono::milliseconds export_timeout{30000};
  std::size_t max_export_batch_size = 512;
  // Not a variable: set by a program with a loop of its own that polls
  // due_fd() (readable once the oldest span waiting is schedule_delay old;
  // armed only while spans wait) and then calls
  // TracerProvider::start_due_exports(). The export thread then starts only
  // once a batch is due (full, or its oldest span schedule_delay old), and
  // a shutdown before that exports from the calling thread: a short-lived
  // process whose spans fit one batch never starts a thread for them. That
  // export relies on the exporter keeping the deadline it is given (the
  // OTLP exporters do): nothing is left to abandon it.
  bool thread_when_due = false;
  bool operator==(const BatchOptions&) const = default;
};

struct BatchStats {
  std::uint64_t queued = 0;
  std::uint64_t exported = 0;
  // Ended while the queue was full.
  std::uint64_t dropped_queue_full = 0;
  // In a batch the exporter failed to deliver.
  std::uint64_t dropped_export_failed = 0;
  // Still queued when shutdown's deadline passed.
  std::uint64_t dropped_at_shutdown = 0;
};

class BatchSpanProcessor final : public SpanProcessor {
 public:
  BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options,
                     DiagnosticLog log = stderr_diagnostic_log());
  ~BatchSpanProcessor() override;
  BatchSpanProcessor(const BatchSpanProcessor&) = delete;
  BatchSpanProcessor& operator=(const BatchSpanProcessor&) = delete;

  void on_end(SpanData&& span) override;
  bool force_flush(std::chrono::milliseconds timeout) override;
  bool shutdown(std::chrono::milliseconds timeout) override;
  void start_due_exports() override;
  int due_fd() const override;
  BatchStats stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Exports each span as it ends, on the ending thread. For tests and tools
// only: a slow exporter slows the program.
class SimpleSpanProcessor final : public SpanProcessor {
 public:
  explicit SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                               std::chrono::milliseconds export_timeout = std::chrono::seconds(10));
  void on_end(SpanData&& span) override;
  bool force_flush(std::chrono::milliseconds timeout) override;
  bool shutdown(std::chrono::milliseconds timeout) override;

 private:
  std::mutex mutex_;
  std::unique_ptr<SpanExporter> exporter_;
  std::chrono::milliseconds export_timeout_;
  bool shut_down_ = false;
};

}  // namespace wasmshim::otel
