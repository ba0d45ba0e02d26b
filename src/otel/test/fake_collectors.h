// In-process OTLP collectors for the exporter tests: a real HTTP server
// (cpp-httplib) and a real gRPC server (grpc++), each following a script of
// answers (succeed, fail with a status, hang until released) and keeping
// what they received. Payloads are decoded here with our generated OTLP
// classes; the interop tests decode them with the OpenTelemetry project's.
#pragma once

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <zlib.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp_encoding.h"

namespace wasmshim::otel::testing {

using namespace std::chrono_literals;

inline std::string gunzip(const std::string& data) {
  z_stream stream{};
  inflateInit2(&stream, 15 + 16);
  std::string out;
  char buffer[16384];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  inflateEnd(&stream);
  return out;
}

struct Answer {
  enum class Kind { ok, status, hang } kind = Kind::ok;
  int code = 200;  // HTTP status, or gRPC status code for the gRPC collector
  std::string body{};
  std::map<std::string, std::string> headers{};
};

struct Received {
  std::map<std::string, std::string> headers;  // lower-case keys
  std::string content_type;
  std::string raw_body;
  otlp::ExportRequest request;
  bool decoded = false;
};

// State both collectors share: the script, what arrived, hang release.
class CollectorState {
 public:
  void script(std::vector<Answer> answers) {
    std::lock_guard lock(mutex_);
    script_.assign(answers.begin(), answers.end());
  }
  // The next scripted answer; the last one repeats.
  Answer next() {
    std::lock_guard lock(mutex_);
    if (script_.empty()) {
      return {};
    }
    Answer answer = script_.front();
    if (script_.size() > 1) {
      script_.pop_front();
    }
    return answer;
  }
  void record(Received received) {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(received));
    changed_.notify_all();
  }
  void hang() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return released_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  }
  std::size_t span_count() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : received_) {
      for (const auto& rs : r.request.resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
          n += static_cast<std::size_t>(ss.spans_size());
        }
      }
    }
    return n;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Answer> script_;
  std::vector<Received> received_;
  bool released_ = false;
};

class FakeHttpCollector : public CollectorState {
 public:
  // Plain HTTP, or HTTPS with `cert`/`key`; `client_ca` demands client certs.
  explicit FakeHttpCollector(const std::string& cert = {}, const std::string& key = {},
                             const std::string& client_ca = {}) {
    if (cert.empty()) {
      server_ = std::make_unique<httplib::Server>();
    } else {
      server_ = std::make_unique<httplib::SSLServer>(
          cert.c_str(), key.c_str(), client_ca.empty() ? nullptr : client_ca.c_str());
    }
    server_->Post("/v1/traces", [this](const httplib::Request& request,
                                       httplib::Response& response) { handle(request, response); });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ~FakeHttpCollector() {
    release();
    server_->stop();
    thread_.join();
  }
  std::string url(bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           "/v1/traces";
  }

 private:
  void handle(const httplib::Request& request, httplib::Response& response) {
    Received received;
    for (const auto& [key, value] : request.headers) {
      std::string lower = key;
      for (auto& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      received.headers[lower] = value;
    }
    received.content_type = request.get_header_value("Content-Type");
    // cpp-httplib already inflates a gzip body when built with zlib; the
    // Content-Encoding header still says what was sent.
    received.raw_body = request.body;
    if (received.content_type == "application/json") {
      std::string error;
      received.decoded = otlp::from_json(received.raw_body, received.request, error);
    } else {
      received.decoded = received.request.ParseFromString(received.raw_body);
    }
    record(std::move(received));
    Answer answer = next();
    if (answer.kind == Answer::Kind::hang) {
      hang();
    }
    response.status = answer.kind == Answer::Kind::ok ? 200 : answer.code;
    for (const auto& [k, v] : answer.headers) {
      response.set_header(k, v);
    }
    response.set_content(answer.body, "application/x-protobuf");
  }

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

class FakeGrpcCollector : public CollectorState,
                          public opentelemetry::proto::collector::trace::v1::TraceService::Service {
 public:
  explicit FakeGrpcCollector(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials(),
      bool accept_gzip = true) {
    grpc::ServerBuilder builder;
    // A server that refuses gzip proves a client really compresses.
    builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, accept_gzip);
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeGrpcCollector() override {
    release();
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status Export(grpc::ServerContext* context, const otlp::ExportRequest* request,
                      otlp::ExportResponse* response) override {
    Received received;
    for (const auto& [key, value] : context->client_metadata()) {
      received.headers[std::string(key.data(), key.size())] =
          std::string(value.data(), value.size());
    }
    received.request = *request;
    received.decoded = true;
    record(std::move(received));
    Answer answer = next();
    if (answer.kind == Answer::Kind::hang) {
      hang();
    }
    if (answer.kind == Answer::Kind::status) {
      return grpc::Status(static_cast<grpc::StatusCode>(answer.code), answer.body);
    }
    if (!answer.body.empty()) {
      response->mutable_partial_success()->set_rejected_spans(1);
      response->mutable_partial_success()->set_error_message(answer.body);
    }
    return grpc::Status::OK;
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace wasmshim::otel::testing
