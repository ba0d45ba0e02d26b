// ExportTraceServiceRequest in protobuf's wire format, written straight from
// SpanData and read straight into it: the same bytes the generated classes
// give (fields in number order, proto3 defaults left out), without a message
// built in between. Building one cost each short-lived process an arena, an
// object per span, key and value, and the first touch of all that code: the
// container ends each span through here, and the daemon reads the
// container's spans and exports its own through here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel::otlp {

// Span.flags and Span.Link.flags: W3C flags in bits 0-7; bit 8: whether the
// parent's (the link's) remoteness is known; bit 9: it was remote.
inline constexpr std::uint32_t kFlagsHasIsRemote = 0x100;
inline constexpr std::uint32_t kFlagsIsRemote = 0x200;

// Protobuf's wire types that OTLP uses.
enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

// Appends the request for `spans`, grouped by resource and then by scope as
// to_request groups them (a change of either starts a new group).
void append_export_request(std::span<const SpanData> spans, std::string& out);

// Appends the spans of an encoded request to `out`, as from_request gives
// them; false (with `out` as it was) when `bytes` is not such a request.
// Fields it does not know are skipped, as protobuf skips them.
bool decode_export_request(std::string_view bytes, SharedGroups& groups,
                           std::vector<SpanData>& out);

}  // namespace wasmshim::otel::otlp
