// Context propagation: W3C Trace Context (traceparent, tracestate) and W3C
// Baggage, over carriers for string maps and the environment. Carriers for
// other transports (ttrpc metadata: src/shim/ttrpc_carrier.h) live with them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/context.h"
#include "wasmshim/otel/ids.h"

namespace wasmshim::otel {

// Where propagated fields are read from and written to. Keys are the
// lower-case field names ("traceparent").
class TextMapCarrier {
 public:
  virtual ~TextMapCarrier() = default;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  virtual void set(std::string_view key, std::string value) = 0;
};

// A string map, e.g. HTTP headers; keys are matched case-insensitively.
class MapCarrier final : public TextMapCarrier {
 public:
  explicit MapCarrier(std::map<std::string, std::string>& map) : map_(&map) {}
  std::optional<std::string> get(std::string_view key) const override;
  void set(std::string_view key, std::string value) override;

 private:
  std::map<std::string, std::string>* map_;
};

// The environment of a process: reads TRACECONTEXT (a JSON object of the
// propagator's fields, as runwasi writes it) and falls back to TRACEPARENT,
// TRACESTATE and BAGGAGE; writes all of them for a child's environment.
class EnvironmentCarrier final : public TextMapCarrier {
 public:
  // Reads the process environment.
  EnvironmentCarrier();
  explicit EnvironmentCarrier(EnvLookup lookup);
  std::optional<std::string> get(std::string_view key) const override;
  void set(std::string_view key, std::string value) override;
  // "NAME=value" entries for what was set: TRACECONTEXT plus one variable
  // per field.
  std::vector<std::string> environment() const;

 private:
  EnvLookup lookup_;
  std::map<std::string, std::string> from_json_;
  std::map<std::string, std::string> written_;
};

class Propagator {
 public:
  virtual ~Propagator() = default;
  virtual void inject(const Context& context, TextMapCarrier& carrier) const = 0;
  // Returns `base` with what the carrier holds; `base` unchanged when the
  // carrier holds nothing valid.
  virtual Context extract(const TextMapCarrier& carrier, Context base) const = 0;
};

std::shared_ptr<Propagator> make_trace_context_propagator();
std::shared_ptr<Propagator> make_baggage_propagator();
std::shared_ptr<Propagator> make_composite_propagator(
    std::vector<std::shared_ptr<Propagator>> propagators);
// The ones OTEL_PROPAGATORS named (tracecontext,baggage by default).
std::shared_ptr<Propagator> make_propagator(const std::vector<PropagatorKind>& kinds);

// W3C traceparent, strictly: nothing for any invalid header. The result is
// marked remote.
std::optional<SpanContext> parse_traceparent(std::string_view header);
std::string format_traceparent(const SpanContext& context);
// W3C baggage header; nothing when malformed. Properties are dropped.
std::optional<Baggage> parse_baggage(std::string_view header);
std::string format_baggage(const Baggage& baggage);

}  // namespace wasmshim::otel
