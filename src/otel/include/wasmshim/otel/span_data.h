// A finished span as processors and exporters see it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wasmshim/otel/attributes.h"
#include "wasmshim/otel/ids.h"

namespace wasmshim::otel {

enum class SpanKind { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };
enum class StatusCode { unset = 0, ok = 1, error = 2 };

const char* to_string(SpanKind kind);
const char* to_string(StatusCode code);

struct InstrumentationScope {
  std::string name;
  std::string version;
};

// Who produced the spans: service name, host, process, SDK, and the rest.
struct Resource {
  Attributes attributes;
  std::string schema_url;
};

// What a reader of encoded spans keeps between requests from one source, so
// that its spans share one resource object and one object per scope (and
// leave in one group each, not one per request).
struct SharedGroups {
  std::shared_ptr<const Resource> resource;
  std::vector<std::shared_ptr<const InstrumentationScope>> scopes;
};

struct SpanEvent {
  std::string name;
  std::int64_t time_unix_nano = 0;
  Attributes attributes;
  std::uint32_t dropped_attributes = 0;
};

struct SpanLink {
  SpanContext context;
  Attributes attributes;
  std::uint32_t dropped_attributes = 0;
};

struct SpanData {
  SpanContext context;
  // Invalid (all zero) for a root span.
  SpanId parent_span_id;
  bool parent_remote = false;
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::int64_t start_unix_nano = 0;
  std::int64_t end_unix_nano = 0;
  Attributes attributes;
  std::uint32_t dropped_attributes = 0;
  std::vector<SpanEvent> events;
  std::uint32_t dropped_events = 0;
  std::vector<SpanLink> links;
  std::uint32_t dropped_links = 0;
  StatusCode status = StatusCode::unset;
  std::string status_message;
  std::shared_ptr<const InstrumentationScope> scope;
  std::shared_ptr<const Resource> resource;
};

}  // namespace wasmshim::otel
