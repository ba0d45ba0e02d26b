// SpanData <-> OTLP messages, and OTLP/JSON as the OTLP specification gives
// it (hex ids, lowerCamelCase keys, enums as integers, 64-bit integers as
// strings). Shared by the exporters and the receiver.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel::otlp {

using ExportRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportResponse = opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

// Groups spans by resource, then by instrumentation scope.
ExportRequest to_request(std::span<const SpanData> spans);
// The same on `arena`, which owns the message: one block freed at once
// instead of an allocation for every key, value and span.
ExportRequest& to_request(std::span<const SpanData> spans, google::protobuf::Arena& arena);

// The other way: spans with shared resource and scope objects per group.
std::vector<SpanData> from_request(const ExportRequest& request);

// Lower-case hex of raw bytes (OTLP/JSON ids, receiver output).
std::string to_hex(std::string_view raw);

// What to log about a response's partial success: nothing when the
// collector took every span.
std::optional<std::string> partial_success_message(const ExportResponse& response,
                                                   std::size_t sent);

std::string to_json(const google::protobuf::Message& message);
// False (with the reason in `error`) when `text` is not OTLP/JSON for `out`.
bool from_json(std::string_view text, google::protobuf::Message& out, std::string& error);

}  // namespace wasmshim::otel::otlp
