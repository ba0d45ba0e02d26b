// ExportTraceServiceRequest in protobuf's wire format, written straight from
// SpanData: the same bytes the generated classes give (fields in number
// order, proto3 defaults left out), without building the message first.
// Building it cost each short-lived process an arena, a message object per
// span, key and value, and the first touch of all that code: the container
// ends each span through here, and the daemon exports through here.
#pragma once

#include <span>
#include <string>

#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel::otlp {

// Appends the request for `spans`, grouped by resource and then by scope as
// to_request groups them (a change of either starts a new group).
void append_export_request(std::span<const SpanData> spans, std::string& out);

}  // namespace wasmshim::otel::otlp
