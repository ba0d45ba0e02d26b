// OTLP over HTTP (protobuf or JSON): encoding, compression, retries and
// the answer's meaning here; the POST itself is an HttpTransport's
// (http_transport.h).
#include <google/protobuf/unknown_field_set.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "http_transport.h"
#include "otlp_encoding.h"
#include "otlp_exporters.h"
#include "otlp_wire.h"
#include "retry.h"

namespace wasmshim::otel::detail {
namespace {

std::optional<std::string> gzip(const std::string& data) {
  z_stream stream{};
  // 15 window bits + 16: a gzip wrapper, which Content-Encoding: gzip means.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return std::nullopt;
  }
  out.resize(stream.total_out);
  return out;
}

// The message of a google.rpc.Status body (field 2), if the body is one.
std::string status_message(const std::string& body, bool json) {
  if (json) {
    return body.substr(0, 300);
  }
  google::protobuf::UnknownFieldSet fields;
  if (fields.ParseFromString(body)) {
    for (int i = 0; i < fields.field_count(); ++i) {
      const auto& field = fields.field(i);
      if (field.number() == 2 &&
          field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        return field.length_delimited();
      }
    }
  }
  return {};
}

// Retry-After is seconds or an HTTP-date (RFC 9110's IMF-fixdate).
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 9) {
    return std::chrono::seconds(std::stol(value));
  }
  std::tm when{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  auto delta =
      std::chrono::system_clock::from_time_t(::timegm(&when)) - std::chrono::system_clock::now();
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(delta),
                  std::chrono::milliseconds(0));
}

class OtlpHttpExporter final : public SpanExporter {
 public:
  OtlpHttpExporter(OtlpConfig config, DiagnosticLog log)
      : config_(std::move(config)), log_(std::move(log)) {
    const bool json = config_.protocol == OtlpProtocol::http_json;
    std::vector<std::string> headers;
    headers.emplace_back(json ? "Content-Type: application/json"
                              : "Content-Type: application/x-protobuf");
    if (config_.compression == OtlpCompression::gzip) {
      headers.emplace_back("Content-Encoding: gzip");
    }
    headers.emplace_back("User-Agent: wasmshim-otel/" WASMSHIM_VERSION);
    for (const auto& [key, value] : config_.headers) {
      headers.push_back(key + ": " + value);
    }
    std::string error;
    transport_ = make_http_transport(config_, std::move(headers), error);
    if (transport_ == nullptr) {
      log_("OTLP/HTTP export is off: " + error);
    }
  }

  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point deadline) override {
    if (aborted_.load() || transport_ == nullptr) {
      return ExportResult::failure;
    }
    deadline = std::min(deadline, Clock::now() + config_.timeout);
    const bool json = config_.protocol == OtlpProtocol::http_json;
    std::string body;
    if (json) {
      google::protobuf::Arena arena;
      body = otlp::to_json(otlp::to_request(spans, arena));
    } else {
      otlp::append_export_request(spans, body);
    }
    if (config_.compression == OtlpCompression::gzip) {
      auto compressed = gzip(body);
      if (!compressed) {
        failures_("export failed: gzip compression failed");
        return ExportResult::failure;
      }
      body = std::move(*compressed);
    }
    for (int attempt = 1;; ++attempt) {
      auto outcome = post(body, deadline);
      if (outcome.success) {
        report_partial_success(outcome.reply.body, json, spans.size());
        return ExportResult::success;
      }
      if (aborted_.load()) {
        failures_("export of " + std::to_string(spans.size()) +
                  " span(s) abandoned: the exporter is shutting down");
        return ExportResult::failure;
      }
      if (!outcome.retryable || attempt >= config_.retry.max_attempts) {
        failures_(
            "export of " + std::to_string(spans.size()) + " span(s) to " + config_.endpoint +
            " failed: " + outcome.reason +
            (outcome.retryable ? " (gave up after " + std::to_string(attempt) + " attempts)" : ""));
        return ExportResult::failure;
      }
      auto delay =
          backoff_delay(config_.retry, attempt, parse_retry_after(outcome.reply.retry_after));
      if (Clock::now() + delay >= deadline) {
        failures_("export of " + std::to_string(spans.size()) + " span(s) to " + config_.endpoint +
                  " failed: " + outcome.reason +
                  " (no time left to retry before the export timeout)");
        return ExportResult::failure;
      }
      transport_->sleep_until(Clock::now() + delay);
    }
  }

  void shutdown() override {
    aborted_.store(true);
    if (transport_ != nullptr) {
      transport_->wake();
    }
  }

  void after_fork_in_child() override {
    if (transport_ != nullptr) {
      transport_->after_fork_in_child();
    }
  }

 private:
  struct Outcome {
    bool success = false;
    bool retryable = false;
    std::string reason;
    HttpReply reply;
  };

  Outcome post(const std::string& body, Clock::time_point deadline) {
    Outcome outcome;
    outcome.reply = transport_->post(body, deadline);
    const HttpReply& reply = outcome.reply;
    if (!reply.delivered) {
      outcome.reason = reply.reason;
      outcome.retryable = reply.retryable;
      return outcome;
    }
    const long status = reply.status;
    if (status >= 200 && status < 300) {
      outcome.success = true;
      return outcome;
    }
    outcome.retryable = status == 429 || status == 502 || status == 503 || status == 504;
    outcome.reason = "HTTP " + std::to_string(status);
    auto message = status_message(reply.body, config_.protocol == OtlpProtocol::http_json);
    if (!message.empty()) {
      outcome.reason += ": " + message;
    }
    return outcome;
  }

  void report_partial_success(const std::string& body, bool json, std::size_t sent) {
    if (body.empty()) {
      return;
    }
    otlp::ExportResponse response;
    std::string error;
    const bool parsed =
        json ? otlp::from_json(body, response, error) : response.ParseFromString(body);
    if (!parsed) {
      return;
    }
    if (auto message = otlp::partial_success_message(response, sent)) {
      log_(*message);
    }
  }

  OtlpConfig config_;
  DiagnosticLog log_;
  RateLimitedLog failures_{log_};
  std::unique_ptr<HttpTransport> transport_;  // nullptr: libcurl is missing
  std::atomic<bool> aborted_{false};
};

}  // namespace

std::unique_ptr<SpanExporter> make_otlp_http_exporter(const OtlpConfig& config, DiagnosticLog log) {
  return std::make_unique<OtlpHttpExporter>(config, std::move(log));
}

}  // namespace wasmshim::otel::detail
