#include "wasmshim/otel/exporter.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "wasmshim/otel/processor.h"

namespace wasmshim::otel {

const char* to_string(SpanKind kind) {
  switch (kind) {
    case SpanKind::internal:
      return "INTERNAL";
    case SpanKind::server:
      return "SERVER";
    case SpanKind::client:
      return "CLIENT";
    case SpanKind::producer:
      return "PRODUCER";
    case SpanKind::consumer:
      return "CONSUMER";
  }
  return "UNSPECIFIED";
}

const char* to_string(StatusCode code) {
  switch (code) {
    case StatusCode::unset:
      return "UNSET";
    case StatusCode::ok:
      return "OK";
    case StatusCode::error:
      return "ERROR";
  }
  return "UNSET";
}

DiagnosticLog stderr_diagnostic_log() {
  return [](std::string_view message) {
    // One write per line so lines from several threads do not interleave.
    std::string line = "wasmshim otel: ";
    line.append(message);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

ExportResult InMemorySpanExporter::export_spans(std::span<const SpanData> spans,
                                                Clock::time_point /*deadline*/) {
  std::lock_guard lock(mutex_);
  if (shut_down_) {
    return ExportResult::failure;
  }
  ++export_calls_;
  spans_.insert(spans_.end(), spans.begin(), spans.end());
  return ExportResult::success;
}

void InMemorySpanExporter::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
}

std::vector<SpanData> InMemorySpanExporter::spans() const {
  std::lock_guard lock(mutex_);
  return spans_;
}

std::size_t InMemorySpanExporter::export_calls() const {
  std::lock_guard lock(mutex_);
  return export_calls_;
}

namespace {

std::string format_attributes(const Attributes& attributes) {
  std::string out;
  for (const auto& attribute : attributes) {
    out += ' ';
    out += attribute.key;
    out += '=';
    out += to_string(attribute.value);
  }
  return out;
}

class ConsoleExporter final : public SpanExporter {
 public:
  explicit ConsoleExporter(std::FILE* out) : out_(out) {}

  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    for (const auto& span : spans) {
      std::string line = "span " + span.name + " trace=" + span.context.trace_id.hex() +
                         " span=" + span.context.span_id.hex();
      if (span.parent_span_id.valid()) {
        line += " parent=" + span.parent_span_id.hex();
      }
      char timing[96];
      std::snprintf(timing, sizeof(timing), " kind=%s duration=%.3fms status=%s",
                    to_string(span.kind),
                    static_cast<double>(span.end_unix_nano - span.start_unix_nano) / 1e6,
                    to_string(span.status));
      line += timing;
      if (!span.status_message.empty()) {
        line += " message=\"" + span.status_message + "\"";
      }
      line += format_attributes(span.attributes);
      line += '\n';
      for (const auto& event : span.events) {
        line += "  event " + event.name + format_attributes(event.attributes) + '\n';
      }
      std::fwrite(line.data(), 1, line.size(), out_);
    }
    std::fflush(out_);
    return ExportResult::success;
  }
  void shutdown() override {}

 private:
  std::FILE* out_;
};

}  // namespace

std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out) {
  return std::make_unique<ConsoleExporter>(out);
}

SimpleSpanProcessor::SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                         std::chrono::milliseconds export_timeout)
    : exporter_(std::move(exporter)), export_timeout_(export_timeout) {}

void SimpleSpanProcessor::on_end(SpanData&& span) {
  if (!span.context.sampled()) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (!shut_down_) {
    exporter_->export_spans({&span, 1}, Clock::now() + export_timeout_);
  }
}

bool SimpleSpanProcessor::force_flush(std::chrono::milliseconds) {
  return true;
}

bool SimpleSpanProcessor::shutdown(std::chrono::milliseconds) {
  exporter_->shutdown();
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  return true;
}

}  // namespace wasmshim::otel
