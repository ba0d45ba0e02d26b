// Spans: one handle per operation, ended by end() or when the handle goes
// away (RAII). A span that is not recorded (sampled out, tracing off) still
// carries its context, so propagation works the same either way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "wasmshim/otel/attributes.h"
#include "wasmshim/otel/context.h"
#include "wasmshim/otel/ids.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

namespace detail {
struct SpanState;
}

// Nanoseconds since the Unix epoch, from the real-time clock.
std::int64_t now_unix_nano();

class Span {
 public:
  // A span that records nothing and has no context.
  Span();
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span();

  // True until end() for a sampled-in or record-only span.
  bool recording() const;
  const SpanContext& context() const { return context_; }

  // All of these are safe from several threads and do nothing once ended.
  Span& set_attribute(std::string_view key, AttributeValue value);
  Span& add_event(std::string name, Attributes attributes = {}, std::int64_t time_unix_nano = 0);
  Span& add_link(const SpanContext& context, Attributes attributes = {});
  Span& set_status(StatusCode code, std::string message = {});
  // Status ERROR with the message, and an "exception" event carrying it.
  Span& record_error(std::string_view message);
  Span& update_name(std::string name);
  void end(std::int64_t end_unix_nano = 0);

  // Makes this span the calling thread's current span until the scope ends.
  ContextScope activate() const;

 private:
  friend class Tracer;
  Span(SpanContext context, std::unique_ptr<detail::SpanState> state);

  SpanContext context_;
  std::unique_ptr<detail::SpanState> state_;
};

}  // namespace wasmshim::otel
