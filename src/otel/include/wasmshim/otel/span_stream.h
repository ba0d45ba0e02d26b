// Finished spans over a pipe: a process that must not wait for a collector
// (a container's own process) streams its spans to one that exports them
// (the shim), which hands them to its processors. Each message is a 4-byte
// little-endian length and an OTLP ExportTraceServiceRequest.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "wasmshim/otel/exporter.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

// Writes each batch to `fd` (not closed by the exporter).
std::unique_ptr<SpanExporter> make_stream_exporter(int fd);

// Reads messages from `fd` until end of file or a malformed message; calls
// `sink` with the spans of each. Returns false when the stream was malformed.
bool read_span_stream(int fd, const std::function<void(std::vector<SpanData>&&)>& sink);

}  // namespace wasmshim::otel
