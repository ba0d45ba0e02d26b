// OTLP over HTTP (protobuf or JSON) with libcurl (opened on first use: see
// curl_library.h).
//
// Each export runs a transfer on a curl multi handle that lives as long as
// the exporter, so shutdown() from another thread can wake the transfer or a
// backoff wait at once (curl_multi_wakeup) without any lock shared with the
// export thread.
#include <google/protobuf/unknown_field_set.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "curl_library.h"
#include "otlp_encoding.h"
#include "otlp_exporters.h"
#include "retry.h"

namespace wasmshim::otel::detail {
namespace {

constexpr std::size_t kMaxResponseBytes = std::size_t{64} * 1024;

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

std::optional<std::chrono::milliseconds> parse_retry_after(const CurlLibrary& curl,
                                                           const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 9) {
    return std::chrono::seconds(std::stol(value));
  }
  time_t when = curl.getdate(value.c_str(), nullptr);
  if (when < 0) {
    return std::nullopt;
  }
  auto delta = std::chrono::system_clock::from_time_t(when) - std::chrono::system_clock::now();
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(delta),
                  std::chrono::milliseconds(0));
}

struct Transfer {
  std::string response;
  std::string retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->response.size() < kMaxResponseBytes) {
    transfer->response.append(data, std::min(n, kMaxResponseBytes - transfer->response.size()));
  }
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    auto value = line.substr(kName.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    transfer->retry_after = std::string(value);
  }
  return n;
}

class OtlpHttpExporter final : public SpanExporter {
 public:
  OtlpHttpExporter(OtlpConfig config, DiagnosticLog log)
      : config_(std::move(config)), log_(std::move(log)) {
    std::string error;
    curl_ = CurlLibrary::get(error);
    if (curl_ == nullptr) {
      log_("OTLP/HTTP export is off: " + error);
      return;
    }
    multi_ = curl_->multi_init();
    const bool json = config_.protocol == OtlpProtocol::http_json;
    headers_.push_back(json ? "Content-Type: application/json"
                            : "Content-Type: application/x-protobuf");
    if (config_.compression == OtlpCompression::gzip) {
      headers_.emplace_back("Content-Encoding: gzip");
    }
    headers_.emplace_back("User-Agent: wasmshim-otel/" WASMSHIM_VERSION);
    for (const auto& [key, value] : config_.headers) {
      headers_.push_back(key + ": " + value);
    }
  }

  ~OtlpHttpExporter() override {
    if (multi_ != nullptr) {
      curl_->multi_cleanup(multi_);
    }
  }

  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point deadline) override {
    if (aborted_.load() || multi_ == nullptr) {
      return ExportResult::failure;
    }
    deadline = std::min(deadline, Clock::now() + config_.timeout);
    auto request = otlp::to_request(spans);
    const bool json = config_.protocol == OtlpProtocol::http_json;
    std::string body = json ? otlp::to_json(request) : request.SerializeAsString();
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
        report_partial_success(outcome.transfer.response, json, spans.size());
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
      auto delay = backoff_delay(config_.retry, attempt,
                                 parse_retry_after(*curl_, outcome.transfer.retry_after));
      if (Clock::now() + delay >= deadline) {
        failures_("export of " + std::to_string(spans.size()) + " span(s) to " + config_.endpoint +
                  " failed: " + outcome.reason +
                  " (no time left to retry before the export timeout)");
        return ExportResult::failure;
      }
      sleep_until(Clock::now() + delay);
    }
  }

  void shutdown() override {
    aborted_.store(true);
    if (multi_ != nullptr) {
      curl_->multi_wakeup(multi_);
    }
  }

  void after_fork_in_child() override {
    // The parent's handle may be mid-transfer on the parent's connection:
    // leave it alone and start over.
    if (curl_ != nullptr) {
      multi_ = curl_->multi_init();
    }
  }

 private:
  struct Outcome {
    bool success = false;
    bool retryable = false;
    std::string reason;
    Transfer transfer;
  };

  struct EasyHandle {
    explicit EasyHandle(const CurlLibrary& library) : curl(library), handle(curl.easy_init()) {}
    ~EasyHandle() {
      curl.slist_free_all(headers);
      curl.easy_cleanup(handle);
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;

    const CurlLibrary& curl;
    CURL* handle;
    curl_slist* headers = nullptr;
  };

  void configure(EasyHandle& easy, const std::string& body, Transfer& transfer,
                 Clock::time_point deadline) const {
    CURL* h = easy.handle;
    for (const auto& header : headers_) {
      easy.headers = curl_->slist_append(easy.headers, header.c_str());
    }
    curl_->easy_setopt(h, CURLOPT_URL, config_.endpoint.c_str());
    curl_->easy_setopt(h, CURLOPT_POST, 1L);
    curl_->easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_->easy_setopt(h, CURLOPT_HTTPHEADER, easy.headers);
    curl_->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_->easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_->easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    curl_->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    curl_->easy_setopt(h, CURLOPT_TIMEOUT_MS, std::max<long>(1, static_cast<long>(left.count())));
    if (!config_.certificate_file.empty()) {
      curl_->easy_setopt(h, CURLOPT_CAINFO, config_.certificate_file.c_str());
    }
    if (!config_.client_certificate_file.empty()) {
      curl_->easy_setopt(h, CURLOPT_SSLCERT, config_.client_certificate_file.c_str());
    }
    if (!config_.client_key_file.empty()) {
      curl_->easy_setopt(h, CURLOPT_SSLKEY, config_.client_key_file.c_str());
    }
  }

  Outcome post(const std::string& body, Clock::time_point deadline) {
    Outcome outcome;
    EasyHandle easy(*curl_);
    if (easy.handle == nullptr) {
      outcome.reason = "curl_easy_init failed";
      return outcome;
    }
    configure(easy, body, outcome.transfer, deadline);
    curl_->multi_add_handle(multi_, easy.handle);
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done && !aborted_.load()) {
      int running = 0;
      if (curl_->multi_perform(multi_, &running) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      int queued = 0;
      while (CURLMsg* message = curl_->multi_info_read(multi_, &queued)) {
        if (message->msg == CURLMSG_DONE) {
          result = message->data.result;
          done = true;
        }
      }
      if (!done) {
        curl_->multi_poll(multi_, nullptr, 0, 100, nullptr);
      }
    }
    long status = 0;
    curl_->easy_getinfo(easy.handle, CURLINFO_RESPONSE_CODE, &status);
    curl_->multi_remove_handle(multi_, easy.handle);
    if (!done) {
      outcome.reason = "aborted";
      return outcome;
    }
    if (result != CURLE_OK) {
      outcome.reason = curl_->easy_strerror(result);
      // A collector that is restarting refuses connections for a moment:
      // worth a retry, unlike a bad certificate.
      outcome.retryable = result == CURLE_COULDNT_CONNECT || result == CURLE_RECV_ERROR ||
                          result == CURLE_SEND_ERROR || result == CURLE_GOT_NOTHING ||
                          result == CURLE_PARTIAL_FILE;
      return outcome;
    }
    if (status >= 200 && status < 300) {
      outcome.success = true;
      return outcome;
    }
    outcome.retryable = status == 429 || status == 502 || status == 503 || status == 504;
    outcome.reason = "HTTP " + std::to_string(status);
    auto message =
        status_message(outcome.transfer.response, config_.protocol == OtlpProtocol::http_json);
    if (!message.empty()) {
      outcome.reason += ": " + message;
    }
    return outcome;
  }

  void sleep_until(Clock::time_point until) {
    while (!aborted_.load()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) {
        return;
      }
      curl_->multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<long>(left.count(), 1000)),
                        nullptr);
    }
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
  std::vector<std::string> headers_;
  const CurlLibrary* curl_ = nullptr;  // nullptr: libcurl could not be opened
  CURLM* multi_ = nullptr;
  std::atomic<bool> aborted_{false};
};

}  // namespace

std::unique_ptr<SpanExporter> make_otlp_http_exporter(const OtlpConfig& config, DiagnosticLog log) {
  return std::make_unique<OtlpHttpExporter>(config, std::move(log));
}

}  // namespace wasmshim::otel::detail
