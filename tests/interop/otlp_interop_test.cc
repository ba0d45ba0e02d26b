// wasmshim's OTLP exporters against the OpenTelemetry project's own
// decoders: tests/interop/otlp-node-receiver decodes every export with the
// protobufjs root of @opentelemetry/otlp-transformer (HTTP, protobuf and
// JSON) and a @grpc/grpc-js server (gRPC), and writes what it decoded.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/node_receiver.h"
#include "support/temp_dir.h"
#include "support/tls_files.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;
using wasmshim::testing::NodeReceiver;
using wasmshim::testing::TlsFiles;

struct SentTrace {
  std::string trace_id, parent_id, child_id;
};

// A parent with a child through the whole pipeline (batch processor and all).
SentTrace send_trace(OtlpConfig config) {
  config.retry = {3, 50ms, 200ms, 2.0};
  config.service_name = "interop-test";
  auto provider = make_tracer_provider(config, {"", "0.1"});
  EXPECT_TRUE(provider);
  auto tracer = provider->tracer("wasmshim.interop", "1");
  SentTrace sent;
  {
    auto parent = tracer.start_span("containerd.task.v2.Task/Create", {.kind = SpanKind::server});
    parent.set_attribute("rpc.system", "ttrpc").set_attribute("exit_code", std::int64_t{3});
    parent.set_attribute("ratio", 0.5).set_attribute("tags", std::vector<std::string>{"a", "b"});
    auto scope = parent.activate();
    auto child = tracer.start_span("compile");
    child.add_event("cache", {{"hit", false}});
    child.set_status(StatusCode::error, "no compiler");
    sent = {parent.context().trace_id.hex(), parent.context().span_id.hex(),
            child.context().span_id.hex()};
  }
  EXPECT_TRUE(provider->shutdown(10s));
  return sent;
}

const nlohmann::json& spans_of(const nlohmann::json& record) {
  return record["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"];
}

std::string attribute(const nlohmann::json& attributes, const std::string& key) {
  for (const auto& kv : attributes) {
    if (kv["key"] == key) {
      return kv["value"].dump();
    }
  }
  return "absent";
}

void expect_decoded(const nlohmann::json& record, const SentTrace& sent) {
  ASSERT_FALSE(record.contains("error")) << record.dump();
  const auto& resource = record["request"]["resourceSpans"][0]["resource"]["attributes"];
  EXPECT_EQ(attribute(resource, "service.name"), "{\"stringValue\":\"interop-test\"}");
  const auto& spans = spans_of(record);
  ASSERT_EQ(spans.size(), 2u) << record.dump();
  const auto& child = spans[0];
  const auto& parent = spans[1];
  EXPECT_EQ(child["name"], "compile");
  EXPECT_EQ(child["traceId"], sent.trace_id);
  EXPECT_EQ(child["spanId"], sent.child_id);
  EXPECT_EQ(child["parentSpanId"], sent.parent_id);
  EXPECT_EQ(child["status"]["code"], 2);
  EXPECT_EQ(child["status"]["message"], "no compiler");
  EXPECT_EQ(child["events"][0]["name"], "cache");
  EXPECT_EQ(parent["name"], "containerd.task.v2.Task/Create");
  EXPECT_EQ(parent["kind"], 2);
  EXPECT_EQ(parent["spanId"], sent.parent_id);
  EXPECT_EQ(attribute(parent["attributes"], "exit_code"), "{\"intValue\":\"3\"}");
  EXPECT_EQ(attribute(parent["attributes"], "ratio"), "{\"doubleValue\":0.5}");
  EXPECT_EQ(attribute(parent["attributes"], "tags"),
            "{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"stringValue\":\"b\"}]}}");
  EXPECT_NE(parent["startTimeUnixNano"].get<std::string>(), "0");
}

TEST(OtlpInterop, HttpProtobuf) {
  NodeReceiver receiver;
  auto sent = send_trace(OtlpConfig::for_endpoint(receiver.url("http")));
  auto records = receiver.records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["protocol"], "http/protobuf");
  EXPECT_FALSE(records[0]["gzip"]);
  expect_decoded(records[0], sent);
}

TEST(OtlpInterop, HttpJson) {
  NodeReceiver receiver;
  auto sent = send_trace(OtlpConfig::for_endpoint(receiver.url("http"), OtlpProtocol::http_json));
  auto records = receiver.records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["protocol"], "http/json");
  expect_decoded(records[0], sent);
}

TEST(OtlpInterop, HttpGzipAndHeadersBothEncodings) {
  NodeReceiver receiver;
  for (auto protocol : {OtlpProtocol::http_protobuf, OtlpProtocol::http_json}) {
    auto config = OtlpConfig::for_endpoint(receiver.url("http"), protocol);
    config.compression = OtlpCompression::gzip;
    config.headers = {{"x-api-key", "s3cret"}};
    auto sent = send_trace(config);
    auto records = receiver.records(protocol == OtlpProtocol::http_json ? 2 : 1);
    const auto& record = records.back();
    EXPECT_TRUE(record["gzip"]);
    EXPECT_EQ(record["headers"]["x-api-key"], "s3cret");
    expect_decoded(record, sent);
  }
}

TEST(OtlpInterop, Grpc) {
  NodeReceiver receiver;
  auto config = OtlpConfig::for_endpoint(receiver.grpc("http"), OtlpProtocol::grpc);
  config.headers = {{"x-api-key", "s3cret"}};
  auto sent = send_trace(config);
  auto records = receiver.records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["protocol"], "grpc");
  EXPECT_EQ(records[0]["headers"]["x-api-key"], "s3cret");
  expect_decoded(records[0], sent);
}

TEST(OtlpInterop, GrpcGzip) {
  NodeReceiver receiver;
  auto config = OtlpConfig::for_endpoint(receiver.grpc("http"), OtlpProtocol::grpc);
  config.compression = OtlpCompression::gzip;
  auto sent = send_trace(config);
  auto records = receiver.records(1);
  ASSERT_EQ(records.size(), 1u);
  expect_decoded(records[0], sent);
}

TEST(OtlpInterop, TlsOverHttpAndGrpc) {
  TlsFiles tls;
  NodeReceiver receiver(&tls);
  auto http = OtlpConfig::for_endpoint(receiver.url("https"));
  http.certificate_file = tls.server_cert;
  auto sent_http = send_trace(http);
  auto grpc = OtlpConfig::for_endpoint(receiver.grpc("https"), OtlpProtocol::grpc);
  grpc.certificate_file = tls.server_cert;
  auto sent_grpc = send_trace(grpc);
  auto records = receiver.records(2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["protocol"], "https/protobuf");
  expect_decoded(records[0], sent_http);
  EXPECT_EQ(records[1]["protocol"], "grpcs");
  expect_decoded(records[1], sent_grpc);
}

TEST(OtlpInterop, MutualTls) {
  TlsFiles tls;
  NodeReceiver receiver(&tls, /*client_ca=*/true);
  auto config = OtlpConfig::for_endpoint(receiver.url("https"));
  config.certificate_file = tls.server_cert;
  config.client_certificate_file = tls.client_cert;
  config.client_key_file = tls.client_key;
  auto sent = send_trace(config);
  auto records = receiver.records(1);
  ASSERT_EQ(records.size(), 1u);
  expect_decoded(records[0], sent);
}

TEST(OtlpInterop, RetriesAfter503AndDeliversOnce) {
  NodeReceiver receiver(nullptr, false, "503,503,200");
  auto sent = send_trace(OtlpConfig::for_endpoint(receiver.url("http")));
  auto records = receiver.records(3);
  ASSERT_EQ(records.size(), 3u);  // two refused attempts, then the delivery
  for (const auto& record : records) {
    expect_decoded(record, sent);
  }
}

}  // namespace
}  // namespace wasmshim::otel
