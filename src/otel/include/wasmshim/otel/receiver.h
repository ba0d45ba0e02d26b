// An OTLP trace receiver: OTLP/HTTP (protobuf and JSON, gzip or not) and
// OTLP/gRPC. It prints each trace as a tree with durations once the trace
// has been quiet for a moment, and can write every span as a JSON line.
// What `wasmshim otlp-receiver` runs; a trace sink for people without Jaeger.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace wasmshim::otel {

struct ReceiverOptions {
  // "host:port" to listen on; empty: that protocol is off. Port 0 picks one.
  std::string http_address;
  std::string grpc_address;
  // Every span as one JSON object per line; empty: none.
  std::string jsonl_path;
  // Where trace trees go; nullptr: nowhere.
  std::FILE* print_to = stdout;
  // A trace prints once no span of it arrived for this long.
  std::chrono::milliseconds quiet_period{1000};
};

class OtlpReceiver {
 public:
  // Listens at once; throws std::runtime_error naming the address that
  // could not be bound or the file that could not be opened.
  explicit OtlpReceiver(ReceiverOptions options);
  // Prints what is still pending, then stops.
  ~OtlpReceiver();
  OtlpReceiver(const OtlpReceiver&) = delete;
  OtlpReceiver& operator=(const OtlpReceiver&) = delete;

  int http_port() const;
  int grpc_port() const;
  std::size_t span_count() const;
  // Prints every pending trace now.
  void flush();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasmshim::otel
