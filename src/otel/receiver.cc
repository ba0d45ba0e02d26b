#include "wasmshim/otel/receiver.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp_encoding.h"

namespace wasmshim::otel {
namespace {

namespace proto = opentelemetry::proto;
using proto::collector::trace::v1::TraceService;

using otlp::to_hex;

nlohmann::json any_value_json(const proto::common::v1::AnyValue& value) {
  using V = proto::common::v1::AnyValue;
  switch (value.value_case()) {
    case V::kStringValue:
      return value.string_value();
    case V::kBoolValue:
      return value.bool_value();
    case V::kIntValue:
      return value.int_value();
    case V::kDoubleValue:
      return value.double_value();
    case V::kArrayValue: {
      auto array = nlohmann::json::array();
      for (const auto& item : value.array_value().values()) {
        array.push_back(any_value_json(item));
      }
      return array;
    }
    case V::kKvlistValue: {
      auto object = nlohmann::json::object();
      for (const auto& kv : value.kvlist_value().values()) {
        object[kv.key()] = any_value_json(kv.value());
      }
      return object;
    }
    case V::kBytesValue:
      return to_hex(value.bytes_value());
    case V::VALUE_NOT_SET:
      break;
  }
  return nullptr;
}

template <class Repeated>
nlohmann::json attributes_json(const Repeated& attributes) {
  auto object = nlohmann::json::object();
  for (const auto& kv : attributes) {
    object[kv.key()] = any_value_json(kv.value());
  }
  return object;
}

// One received span with what the tree and the JSON lines need.
struct ReceivedSpan {  // NOLINT(bugprone-exception-escape): nlohmann::json's moves do not throw

  std::string trace_id, span_id, parent_span_id, name, service, protocol;
  std::uint64_t start = 0, end = 0;
  int kind = 0;
  int status = 0;
  std::string status_message;
  nlohmann::json attributes;
  nlohmann::json json;
};

std::string duration_text(std::uint64_t start, std::uint64_t end) {
  const double ns = end > start ? static_cast<double>(end - start) : 0.0;
  char text[32];
  if (ns >= 1e9) {
    std::snprintf(text, sizeof(text), "%.2f s", ns / 1e9);
  } else if (ns >= 1e6) {
    std::snprintf(text, sizeof(text), "%.1f ms", ns / 1e6);
  } else {
    std::snprintf(text, sizeof(text), "%.0f us", ns / 1e3);
  }
  return text;
}

}  // namespace

struct OtlpReceiver::Impl : public TraceService::Service {
  ReceiverOptions options;
  std::unique_ptr<httplib::Server> http;
  std::thread http_thread;
  int http_port = 0;
  std::unique_ptr<grpc::Server> grpc_server;
  int grpc_port = 0;
  std::ofstream jsonl;

  mutable std::mutex mutex;
  std::condition_variable stop_printer;  // wakes the printer to stop
  bool stopping = false;
  std::size_t span_count = 0;
  bool keeps_spans = true;  // false when nothing is printed or written
  struct PendingTrace {
    std::vector<ReceivedSpan> spans;
    std::chrono::steady_clock::time_point last_arrival;
  };
  std::map<std::string, PendingTrace> pending;
  std::thread printer;

  void accept(const otlp::ExportRequest& request, const std::string& protocol) {
    if (!keeps_spans) {
      // Printed nowhere and written nowhere: counting is all there is to do
      // (a benchmark's receiver should cost its machine as little as it can).
      std::size_t received = 0;
      for (const auto& resource_spans : request.resource_spans()) {
        for (const auto& scope_spans : resource_spans.scope_spans()) {
          received += static_cast<std::size_t>(scope_spans.spans_size());
        }
      }
      std::lock_guard lock(mutex);
      span_count += received;
      return;
    }
    std::vector<ReceivedSpan> spans;
    for (const auto& resource_spans : request.resource_spans()) {
      auto resource = attributes_json(resource_spans.resource().attributes());
      std::string service = resource.value("service.name", std::string("?"));
      for (const auto& scope_spans : resource_spans.scope_spans()) {
        for (const auto& span : scope_spans.spans()) {
          spans.push_back(convert(span, service, protocol, resource, scope_spans.scope()));
        }
      }
    }
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    for (auto& span : spans) {
      if (jsonl.is_open()) {
        jsonl << span.json.dump() << '\n';
      }
      auto& trace = pending[span.trace_id];
      trace.last_arrival = now;
      trace.spans.push_back(std::move(span));
      ++span_count;
    }
    if (jsonl.is_open()) {
      jsonl.flush();
    }
    // The printer is not woken: a trace prints once it has been quiet for
    // the quiet period, which its own timer finds. A wake per request would
    // be a context switch per export for nothing.
  }

  static ReceivedSpan convert(const proto::trace::v1::Span& span, const std::string& service,
                              const std::string& protocol, const nlohmann::json& resource,
                              const proto::common::v1::InstrumentationScope& scope) {
    ReceivedSpan out;
    out.trace_id = to_hex(span.trace_id());
    out.span_id = to_hex(span.span_id());
    out.parent_span_id = to_hex(span.parent_span_id());
    out.name = span.name();
    out.service = service;
    out.protocol = protocol;
    out.start = span.start_time_unix_nano();
    out.end = span.end_time_unix_nano();
    out.kind = span.kind();
    out.status = span.status().code();
    out.status_message = span.status().message();
    out.attributes = attributes_json(span.attributes());
    auto events = nlohmann::json::array();
    for (const auto& event : span.events()) {
      events.push_back({{"name", event.name()},
                        {"time_unix_nano", std::to_string(event.time_unix_nano())},
                        {"attributes", attributes_json(event.attributes())}});
    }
    auto links = nlohmann::json::array();
    for (const auto& link : span.links()) {
      links.push_back({{"trace_id", to_hex(link.trace_id())}, {"span_id", to_hex(link.span_id())}});
    }
    out.json = {{"trace_id", out.trace_id},
                {"span_id", out.span_id},
                {"parent_span_id", out.parent_span_id},
                {"name", out.name},
                {"kind", out.kind},
                {"start_unix_nano", std::to_string(out.start)},
                {"end_unix_nano", std::to_string(out.end)},
                {"duration_ms", static_cast<double>(out.end - std::min(out.start, out.end)) / 1e6},
                {"status", {{"code", out.status}, {"message", out.status_message}}},
                {"attributes", out.attributes},
                {"events", events},
                {"links", links},
                {"service", service},
                {"resource", resource},
                {"scope", {{"name", scope.name()}, {"version", scope.version()}}},
                {"protocol", protocol}};
    return out;
  }

  // Prints traces that have been quiet long enough (all when `everything`).
  void print_ready(bool everything) {
    std::vector<PendingTrace> ready;
    {
      std::lock_guard lock(mutex);
      const auto now = std::chrono::steady_clock::now();
      for (auto it = pending.begin(); it != pending.end();) {
        if (everything || now - it->second.last_arrival >= options.quiet_period) {
          ready.push_back(std::move(it->second));
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (options.print_to == nullptr) {
      return;
    }
    for (auto& trace : ready) {
      std::string text = render(trace.spans);
      std::fwrite(text.data(), 1, text.size(), options.print_to);
    }
    std::fflush(options.print_to);
  }

  static std::string render(std::vector<ReceivedSpan>& spans) {
    std::sort(spans.begin(), spans.end(),
              [](const ReceivedSpan& a, const ReceivedSpan& b) { return a.start < b.start; });
    std::map<std::string, std::vector<const ReceivedSpan*>> children;
    std::vector<const ReceivedSpan*> roots;
    std::map<std::string, const ReceivedSpan*> by_id;
    for (const auto& span : spans) {
      by_id[span.span_id] = &span;
    }
    for (const auto& span : spans) {
      if (span.parent_span_id.empty() || by_id.count(span.parent_span_id) == 0) {
        roots.push_back(&span);
      } else {
        children[span.parent_span_id].push_back(&span);
      }
    }
    std::string out =
        "trace " + spans.front().trace_id + " (" + std::to_string(spans.size()) + " spans)\n";
    for (std::size_t i = 0; i < roots.size(); ++i) {
      render_span(*roots[i], "", i + 1 == roots.size(), children, out);
    }
    return out;
  }

  static void render_span(const ReceivedSpan& span, const std::string& prefix, bool last,
                          std::map<std::string, std::vector<const ReceivedSpan*>>& children,
                          std::string& out) {
    out += prefix + (last ? "└─ " : "├─ ") + span.name + "  " + duration_text(span.start, span.end);
    out += "  [" + span.service + "]";
    if (!span.parent_span_id.empty() && prefix.empty()) {
      out += " (parent " + span.parent_span_id + " not received)";
    }
    if (span.status == 2) {
      out += "  ERROR: " + span.status_message;
    }
    for (const auto& [key, value] : span.attributes.items()) {
      if (key == "container.id" || key == "exit_code" || key.starts_with("wasm.")) {
        out += "  " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    out += '\n';
    auto& kids = children[span.span_id];
    for (std::size_t i = 0; i < kids.size(); ++i) {
      render_span(*kids[i], prefix + (last ? "   " : "│  "), i + 1 == kids.size(), children, out);
    }
  }

  grpc::Status Export(grpc::ServerContext* /*context*/, const otlp::ExportRequest* request,
                      otlp::ExportResponse* /*response*/) override {
    accept(*request, "grpc");
    return grpc::Status::OK;
  }

  void handle_http(const httplib::Request& request, httplib::Response& response) {
    const std::string type = request.get_header_value("Content-Type");
    google::protobuf::Arena arena;
    auto& decoded = *google::protobuf::Arena::CreateMessage<otlp::ExportRequest>(&arena);
    const bool json = type.starts_with("application/json");
    std::string error;
    bool ok = false;
    if (json) {
      ok = otlp::from_json(request.body, decoded, error);
    } else if (type.starts_with("application/x-protobuf")) {
      ok = decoded.ParseFromString(request.body);
      error = "not an ExportTraceServiceRequest";
    } else {
      error = "unsupported Content-Type '" + type + "'";
    }
    if (!ok) {
      response.status = 400;
      response.set_content(error, "text/plain");
      return;
    }
    accept(decoded, json ? "http/json" : "http/protobuf");
    otlp::ExportResponse answer;
    response.set_content(json ? std::string("{}") : answer.SerializeAsString(),
                         json ? "application/json" : "application/x-protobuf");
  }
};

namespace {

std::pair<std::string, int> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("'" + address + "' is not host:port");
  }
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

}  // namespace

OtlpReceiver::OtlpReceiver(ReceiverOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  Impl& impl = *impl_;
  if (!impl.options.jsonl_path.empty()) {
    impl.jsonl.open(impl.options.jsonl_path, std::ios::app);
    if (!impl.jsonl) {
      throw std::runtime_error("cannot open " + impl.options.jsonl_path + " for writing");
    }
  }
  impl.keeps_spans = impl.options.print_to != nullptr || impl.jsonl.is_open();
  if (!impl.options.http_address.empty()) {
    auto [host, port] = split_address(impl.options.http_address);
    impl.http = std::make_unique<httplib::Server>();
    // cpp-httplib's default also sets SO_REUSEPORT, which would let a second
    // receiver share the port and take half the traces.
    impl.http->set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    impl.http->Post("/v1/traces",
                    [&impl](const httplib::Request& request, httplib::Response& response) {
                      impl.handle_http(request, response);
                    });
    if (port == 0) {
      impl.http_port = impl.http->bind_to_any_port(host);
    } else {
      impl.http_port = impl.http->bind_to_port(host, port) ? port : -1;
    }
    if (impl.http_port <= 0) {
      throw std::runtime_error("cannot listen for OTLP/HTTP on " + impl.options.http_address);
    }
    impl.http_thread = std::thread([&impl] { impl.http->listen_after_bind(); });
    // cpp-httplib's stop() does nothing until the listening loop has begun,
    // so a receiver stopped right after construction would never join.
    for (int i = 0; i < 5000 && !impl.http->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (!impl.options.grpc_address.empty()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(impl.options.grpc_address, grpc::InsecureServerCredentials(),
                             &impl.grpc_port);
    builder.RegisterService(&impl);
    impl.grpc_server = builder.BuildAndStart();
    if (!impl.grpc_server || impl.grpc_port == 0) {
      if (impl.http) {
        impl.http->stop();
        impl.http_thread.join();
      }
      throw std::runtime_error("cannot listen for OTLP/gRPC on " + impl.options.grpc_address);
    }
  }
  if (!impl.keeps_spans) {
    return;  // nothing is ever pending: no printer to run
  }
  impl.printer = std::thread([&impl] {
    std::unique_lock lock(impl.mutex);
    while (!impl.stopping) {
      impl.stop_printer.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      impl.print_ready(false);
      lock.lock();
    }
  });
}

OtlpReceiver::~OtlpReceiver() {
  try {
    if (impl_->http) {
      impl_->http->stop();
      impl_->http_thread.join();
    }
    if (impl_->grpc_server) {
      impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
    {
      std::lock_guard lock(impl_->mutex);
      impl_->stopping = true;
      impl_->stop_printer.notify_all();
    }
    if (impl_->printer.joinable()) {
      impl_->printer.join();
    }
    impl_->print_ready(true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim otel: receiver shutdown: %s\n", e.what());
  }
}

int OtlpReceiver::http_port() const {
  return impl_->http_port;
}
int OtlpReceiver::grpc_port() const {
  return impl_->grpc_port;
}

std::size_t OtlpReceiver::span_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->span_count;
}

void OtlpReceiver::flush() {
  impl_->print_ready(true);
}

}  // namespace wasmshim::otel
