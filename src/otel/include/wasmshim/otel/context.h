// The current context of a thread: the active span's context and baggage.
// A Context is a plain value, so it can be captured on one thread and made
// current on another (ContextScope) to carry a trace across a thread hop.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "wasmshim/otel/ids.h"

namespace wasmshim::otel {

// W3C baggage: application key/value pairs that travel with the trace.
using Baggage = std::vector<std::pair<std::string, std::string>>;

struct Context {
  SpanContext span;
  Baggage baggage;

  // What the calling thread has current now (empty when nothing is).
  static Context current();
  bool operator==(const Context&) const = default;
};

// Makes a context current for the scope's lifetime, then restores the one
// before. Scopes must end in reverse order of creation on their thread.
class [[nodiscard]] ContextScope {
 public:
  explicit ContextScope(Context context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  Context previous_;
};

}  // namespace wasmshim::otel
