// Finished spans in a file: a process that must not wait for a collector (a
// container's own process) appends its spans to a file, usually a memfd,
// that the process exporting for it (the shim) reads when it likes; it hands
// them to its processors. Writing wakes nobody: the reader looks at its own
// pace. Each message is a 4-byte little-endian length and an OTLP
// ExportTraceServiceRequest.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wasmshim/otel/exporter.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

// Appends each batch to `fd` (not closed by the exporter), one write each.
std::unique_ptr<SpanExporter> make_stream_exporter(int fd);

using SpanSink = std::function<void(std::vector<SpanData>&&)>;

// Reads a span stream file from its start, message by message, without
// moving the file's offset (which the writer shares when the fd was passed
// to it).
class SpanStreamReader {
 public:
  explicit SpanStreamReader(int fd) : fd_(fd) {}  // not owned

  // Hands `sink` the spans of every whole message written since the last
  // call; one still being written waits for the next. False once the stream
  // is malformed: nothing after that is read.
  bool take_new(const SpanSink& sink);
  // After the writer has gone: true when everything written was whole
  // messages (a message cut short, or a malformed one, says otherwise).
  bool complete() const { return !malformed_ && pending_.empty(); }

 private:
  int fd_;
  off_t offset_ = 0;     // read up to here
  std::string pending_;  // read, not yet a whole message
  bool malformed_ = false;
  SharedGroups groups_;
};

}  // namespace wasmshim::otel
