// Tracer provider and tracers: where spans start.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/otel/attributes.h"
#include "wasmshim/otel/context.h"
#include "wasmshim/otel/processor.h"
#include "wasmshim/otel/sampler.h"
#include "wasmshim/otel/span.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

namespace detail {
struct ProviderState;
}

struct SpanOptions {
  SpanKind kind = SpanKind::internal;
  // Unset: the calling thread's current context is the parent. Set to a
  // context without a valid span: the new span is a root.
  std::optional<Context> parent{};
  Attributes attributes{};
  std::vector<SpanLink> links{};
  // 0: now.
  std::int64_t start_unix_nano = 0;
};

class Tracer {
 public:
  // A tracer that records nothing; its spans still carry their parent's context.
  Tracer() = default;
  Span start_span(std::string name, SpanOptions options = {}) const;
  bool enabled() const { return provider_ != nullptr; }

 private:
  friend class TracerProvider;
  Tracer(std::shared_ptr<detail::ProviderState> provider,
         std::shared_ptr<const InstrumentationScope> scope);

  std::shared_ptr<detail::ProviderState> provider_;
  std::shared_ptr<const InstrumentationScope> scope_;
};

struct TracerProviderOptions {
  // Default: parentbased_always_on, as the spec says.
  std::shared_ptr<Sampler> sampler;
  Resource resource;
  SpanLimits limits;
  std::vector<std::shared_ptr<SpanProcessor>> processors;
};

class TracerProvider {
 public:
  explicit TracerProvider(TracerProviderOptions options);
  // Shuts down (5 s deadline) unless that was done already.
  ~TracerProvider();
  TracerProvider(const TracerProvider&) = delete;
  TracerProvider& operator=(const TracerProvider&) = delete;

  Tracer tracer(std::string name, std::string version = {});
  bool force_flush(std::chrono::milliseconds timeout);
  // Processors flush and stop within `timeout` all together; spans started
  // afterwards are not recorded.
  bool shutdown(std::chrono::milliseconds timeout);
  // For processors that leave it to the program to notice an export is due
  // (BatchOptions::thread_when_due): call when one of due_fds() is readable.
  void start_due_exports();
  // Descriptors that turn readable when such an export is due, for poll.
  std::vector<int> due_fds() const;
  const Resource& resource() const;
  // Hands a span finished in another process (see span_stream.h) to the
  // processors, as if it had ended here. Ignored after shutdown.
  void submit(SpanData&& span);

 private:
  std::shared_ptr<detail::ProviderState> state_;
};

// The process's tracer provider: the one piece of global state, as a process
// has one telemetry pipeline. Empty until set.
void set_global_tracer_provider(std::shared_ptr<TracerProvider> provider);
std::shared_ptr<TracerProvider> global_tracer_provider();
// A tracer from the global provider, or a non-recording one when none is set.
Tracer global_tracer(std::string name, std::string version = {});

}  // namespace wasmshim::otel
