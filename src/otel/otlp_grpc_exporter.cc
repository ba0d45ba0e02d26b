// OTLP over gRPC with grpc++.
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp_encoding.h"
#include "otlp_exporters.h"
#include "retry.h"
#include "wasmshim/base/fd_io.h"

namespace wasmshim::otel::detail {
namespace {

using opentelemetry::proto::collector::trace::v1::TraceService;

// A TLS file's PEM text; empty when it cannot be read (gRPC then refuses
// the channel's credentials and says so).
std::string read_file(const std::string& path) {
  return base::read_file(path).value_or(std::string());
}

const google::protobuf::UnknownField* find_field(const google::protobuf::UnknownFieldSet& set,
                                                 int number) {
  for (int i = 0; i < set.field_count(); ++i) {
    if (set.field(i).number() == number) {
      return &set.field(i);
    }
  }
  return nullptr;
}

// RESOURCE_EXHAUSTED is retryable only when the server says when, through a
// google.rpc.RetryInfo in the status details (field 3 of google.rpc.Status,
// each an Any of type_url 1 and value 2; RetryInfo.retry_delay is field 1, a
// Duration of seconds 1 and nanos 2).
std::optional<std::chrono::milliseconds> retry_info_delay(const std::string& details) {
  google::protobuf::UnknownFieldSet status;
  if (details.empty() || !status.ParseFromString(details)) {
    return std::nullopt;
  }
  for (int i = 0; i < status.field_count(); ++i) {
    const auto& field = status.field(i);
    if (field.number() != 3 ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    google::protobuf::UnknownFieldSet any;
    if (!any.ParseFromString(field.length_delimited())) {
      continue;
    }
    const auto* type_url = find_field(any, 1);
    const auto* value = find_field(any, 2);
    if (type_url == nullptr || value == nullptr ||
        type_url->type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
        !type_url->length_delimited().ends_with("google.rpc.RetryInfo")) {
      continue;
    }
    google::protobuf::UnknownFieldSet retry_info;
    if (!retry_info.ParseFromString(value->length_delimited())) {
      return std::chrono::milliseconds(0);
    }
    const auto* delay = find_field(retry_info, 1);
    google::protobuf::UnknownFieldSet duration;
    if (delay == nullptr || !duration.ParseFromString(delay->length_delimited())) {
      return std::chrono::milliseconds(0);
    }
    const auto* seconds = find_field(duration, 1);
    const auto* nanos = find_field(duration, 2);
    std::int64_t ms = 0;
    if (seconds != nullptr && seconds->type() == google::protobuf::UnknownField::TYPE_VARINT) {
      ms += static_cast<std::int64_t>(seconds->varint()) * 1000;
    }
    if (nanos != nullptr && nanos->type() == google::protobuf::UnknownField::TYPE_VARINT) {
      ms += static_cast<std::int64_t>(nanos->varint()) / 1000000;
    }
    return std::chrono::milliseconds(ms);
  }
  return std::nullopt;
}

bool transient(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

class OtlpGrpcExporter final : public SpanExporter {
 public:
  OtlpGrpcExporter(OtlpConfig config, DiagnosticLog log)
      : config_(std::move(config)), log_(std::move(log)) {
    std::string_view endpoint = config_.endpoint;
    bool tls = !config_.insecure;
    if (endpoint.starts_with("http://")) {
      tls = false;
      endpoint.remove_prefix(7);
    } else if (endpoint.starts_with("https://")) {
      tls = true;
      endpoint.remove_prefix(8);
    }
    // A path after host:port means nothing to gRPC.
    target_ = std::string(endpoint.substr(0, endpoint.find('/')));
    tls_ = tls;
  }

  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point deadline) override {
    if (aborted_.load() || forked_.load()) {
      return ExportResult::failure;
    }
    deadline = std::min(deadline, Clock::now() + config_.timeout);
    google::protobuf::Arena arena;
    const auto& request = otlp::to_request(spans, arena);
    ensure_stub();
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + (deadline - Clock::now()));
      for (const auto& [key, value] : config_.headers) {
        std::string lower_key = key;
        for (auto& c : lower_key) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        context.AddMetadata(lower_key, value);
      }
      if (config_.compression == OtlpCompression::gzip) {
        context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
      }
      otlp::ExportResponse response;
      {
        std::lock_guard lock(mutex_);
        if (aborted_.load()) {
          return ExportResult::failure;
        }
        in_flight_ = &context;
      }
      grpc::Status status = stub_->Export(&context, request, &response);
      {
        std::lock_guard lock(mutex_);
        in_flight_ = nullptr;
      }
      if (status.ok()) {
        report_partial_success(response, spans.size());
        return ExportResult::success;
      }
      if (aborted_.load()) {
        failures_("export of " + std::to_string(spans.size()) +
                  " span(s) abandoned: the exporter is shutting down");
        return ExportResult::failure;
      }
      std::optional<std::chrono::milliseconds> hint = retry_info_delay(status.error_details());
      const bool retryable =
          transient(status.error_code()) ||
          (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && hint.has_value());
      std::string reason =
          "gRPC status " + std::to_string(status.error_code()) + ": " + status.error_message();
      if (!retryable || attempt >= config_.retry.max_attempts) {
        failures_("export of " + std::to_string(spans.size()) + " span(s) to " + target_ +
                  " failed: " + reason);
        return ExportResult::failure;
      }
      auto delay = backoff_delay(config_.retry, attempt, hint);
      if (Clock::now() + delay >= deadline) {
        failures_("export of " + std::to_string(spans.size()) + " span(s) to " + target_ +
                  " failed: " + reason + " (no time left to retry before the export timeout)");
        return ExportResult::failure;
      }
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, Clock::now() + delay, [&] { return aborted_.load(); });
    }
  }

  void shutdown() override {
    if (forked_.load()) {
      return;
    }
    std::lock_guard lock(mutex_);
    aborted_.store(true);
    if (in_flight_ != nullptr) {
      in_flight_->TryCancel();
    }
    wake_.notify_all();
  }

  // gRPC's threads and connections belong to the parent; a child that keeps
  // tracing exports nothing over gRPC (its spans count as failed exports).
  void after_fork_in_child() override { forked_.store(true); }

 private:
  void ensure_stub() {
    if (stub_) {
      return;
    }
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (tls_) {
      grpc::SslCredentialsOptions options;
      if (!config_.certificate_file.empty()) {
        options.pem_root_certs = read_file(config_.certificate_file);
      }
      if (!config_.client_key_file.empty()) {
        options.pem_private_key = read_file(config_.client_key_file);
      }
      if (!config_.client_certificate_file.empty()) {
        options.pem_cert_chain = read_file(config_.client_certificate_file);
      }
      credentials = grpc::SslCredentials(options);
    } else {
      credentials = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments arguments;
    arguments.SetUserAgentPrefix("wasmshim-otel/" WASMSHIM_VERSION);
    channel_ = grpc::CreateCustomChannel(target_, credentials, arguments);
    stub_ = TraceService::NewStub(channel_);
  }

  void report_partial_success(const otlp::ExportResponse& response, std::size_t sent) {
    if (auto message = otlp::partial_success_message(response, sent)) {
      log_(*message);
    }
  }

  OtlpConfig config_;
  DiagnosticLog log_;
  RateLimitedLog failures_{log_};
  std::string target_;
  bool tls_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<TraceService::Stub> stub_;
  std::mutex mutex_;
  std::condition_variable wake_;
  grpc::ClientContext* in_flight_ = nullptr;
  std::atomic<bool> aborted_{false};
  std::atomic<bool> forked_{false};
};

}  // namespace

std::unique_ptr<SpanExporter> make_otlp_grpc_exporter(const OtlpConfig& config, DiagnosticLog log) {
  return std::make_unique<OtlpGrpcExporter>(config, std::move(log));
}

}  // namespace wasmshim::otel::detail
