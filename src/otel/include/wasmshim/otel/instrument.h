// What instrumented code uses: a span that is current on its thread for its
// lifetime, from the process's tracer provider. Built with
// WASMSHIM_OPENTELEMETRY=0 every call here compiles to nothing, and no
// other otel header needs to be included by instrumented code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#ifndef WASMSHIM_OPENTELEMETRY
#define WASMSHIM_OPENTELEMETRY 1
#endif

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/tracer.h"
#endif

namespace wasmshim::trace {

enum class Kind { internal, server, client };

#if WASMSHIM_OPENTELEMETRY

// A parent to hand to a span on another thread: the context it was taken in.
struct Parent {
  otel::Context context;
};

inline Parent current() {
  return {otel::Context::current()};
}

// The parent a W3C traceparent names; the current context when it is not
// valid.
inline Parent from_traceparent(const std::string& traceparent, const std::string& tracestate = {}) {
  Parent parent{otel::Context::current()};
  if (auto span = otel::parse_traceparent(traceparent)) {
    span->trace_state = otel::TraceState::parse(tracestate).value_or(otel::TraceState{});
    parent.context.span = *span;
  }
  return parent;
}

// The current span as a W3C traceparent; empty when there is none.
inline std::string current_traceparent() {
  const auto& span = otel::Context::current().span;
  return span.valid() ? otel::format_traceparent(span) : std::string();
}

class ScopedSpan {
 public:
  ScopedSpan(std::string_view scope, std::string name, Kind kind, const Parent& parent)
      : ScopedSpan(scope, std::move(name), kind, parent.context) {}
  // A child of the thread's current span (a root when there is none).
  ScopedSpan(std::string_view scope, std::string name, Kind kind = Kind::internal)
      : ScopedSpan(scope, std::move(name), kind, otel::Context::current()) {}
  // A child of `parent`.
  ScopedSpan(std::string_view scope, std::string name, Kind kind, otel::Context parent)
      : span_(
            otel::global_tracer(std::string(scope))
                .start_span(std::move(name), {.kind = to_otel(kind), .parent = std::move(parent)})),
        current_(span_.activate()) {}

  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  ScopedSpan& set(std::string_view key, std::string value) {
    span_.set_attribute(key, std::move(value));
    return *this;
  }
  ScopedSpan& set(std::string_view key, const char* value) { return set(key, std::string(value)); }
  ScopedSpan& set(std::string_view key, std::int64_t value) {
    span_.set_attribute(key, value);
    return *this;
  }
  ScopedSpan& set(std::string_view key, bool value) {
    span_.set_attribute(key, value);
    return *this;
  }
  ScopedSpan& set(std::string_view key, double value) {
    span_.set_attribute(key, value);
    return *this;
  }
  ScopedSpan& event(std::string name) {
    span_.add_event(std::move(name));
    return *this;
  }
  // Status ERROR with the message.
  void fail(std::string_view message) { span_.record_error(message); }
  otel::Span& span() { return span_; }

 private:
  static otel::SpanKind to_otel(Kind kind) {
    switch (kind) {
      case Kind::server:
        return otel::SpanKind::server;
      case Kind::client:
        return otel::SpanKind::client;
      case Kind::internal:
        break;
    }
    return otel::SpanKind::internal;
  }

  otel::Span span_;
  otel::ContextScope current_;
};

// A finished child of the current span, from times measured where a span
// object could not live (code that may jump out, like guest code).
inline void record_span(std::string_view scope, std::string name, std::int64_t start_unix_nano,
                        std::int64_t end_unix_nano) {
  otel::global_tracer(std::string(scope))
      .start_span(std::move(name), {.start_unix_nano = start_unix_nano})
      .end(end_unix_nano);
}

inline std::int64_t now_unix_nano() {
  return otel::now_unix_nano();
}

#else

struct Parent {};
inline Parent current() {
  return {};
}
inline Parent from_traceparent(const std::string& /*traceparent*/,
                               const std::string& /*tracestate*/ = {}) {
  return {};
}
inline std::string current_traceparent() {
  return {};
}

inline void record_span(std::string_view, std::string, std::int64_t, std::int64_t) {}
inline std::int64_t now_unix_nano() {
  return 0;
}

class ScopedSpan {
 public:
  template <class... Args>
  explicit ScopedSpan(Args&&... /*args*/) {}
  template <class T>
  ScopedSpan& set(std::string_view /*key*/, T&& /*value*/) {
    return *this;
  }
  ScopedSpan& event(std::string /*name*/) { return *this; }
  void fail(std::string_view /*message*/) {}
};

#endif

}  // namespace wasmshim::trace
