#include <gtest/gtest.h>

#include <future>

#include "fake_collectors.h"
#include "http_transport.h"
#include "support/log_lines.h"
#include "support/tls_files.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::FakeHttpCollector;

using Logged = wasmshim::testing::LogLines;

// Three spans as a traced program makes them: a server span with a child
// that has an event, and a root with a link.
std::vector<SpanData> sample_spans() {
  auto memory = std::make_unique<InMemorySpanExporter>();
  auto* spans = memory.get();
  TracerProviderOptions options;
  options.resource.attributes.push_back({"service.name", std::string("exporter-test")});
  options.processors.push_back(std::make_shared<SimpleSpanProcessor>(std::move(memory)));
  TracerProvider provider(std::move(options));
  auto tracer = provider.tracer("wasmshim.test", "0.1");
  {
    auto parent = tracer.start_span("parent", {.kind = SpanKind::server});
    parent.set_attribute("container.id", "c1").set_attribute("count", std::int64_t{42});
    auto scope = parent.activate();
    auto child = tracer.start_span("child");
    child.add_event("compiled", {{"tier", "jit"}});
    child.set_status(StatusCode::error, "trap");
  }
  auto root = tracer.start_span("other-root");
  root.add_link({random_trace_id(), random_span_id(), 1, {}, true});
  root.end();
  return spans->spans();
}

OtlpConfig config_for(const std::string& url, OtlpProtocol protocol = OtlpProtocol::http_protobuf) {
  auto config = OtlpConfig::for_endpoint(url, protocol);
  config.retry = {5, 20ms, 100ms, 2.0};
  config.timeout = 5s;
  return config;
}

ExportResult export_now(SpanExporter& exporter, const std::vector<SpanData>& spans,
                        std::chrono::milliseconds budget = 10s) {
  return exporter.export_spans(spans, Clock::now() + budget);
}

TEST(OtlpHttpExporter, SendsProtobufThatDecodesToTheSpans) {
  FakeHttpCollector collector;
  auto exporter = make_otlp_exporter(config_for(collector.url()));
  auto spans = sample_spans();
  ASSERT_EQ(export_now(*exporter, spans), ExportResult::success);
  auto received = collector.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].content_type, "application/x-protobuf");
  EXPECT_NE(received[0].headers["user-agent"].find("wasmshim-otel/"), std::string::npos);
  ASSERT_TRUE(received[0].decoded);
  const auto& request = received[0].request;
  ASSERT_EQ(request.resource_spans_size(), 1);
  const auto& resource = request.resource_spans(0).resource();
  EXPECT_EQ(resource.attributes(0).key(), "service.name");
  EXPECT_EQ(resource.attributes(0).value().string_value(), "exporter-test");
  ASSERT_EQ(request.resource_spans(0).scope_spans_size(), 1);
  const auto& scope_spans = request.resource_spans(0).scope_spans(0);
  EXPECT_EQ(scope_spans.scope().name(), "wasmshim.test");
  ASSERT_EQ(scope_spans.spans_size(), 3);
  const auto& child = scope_spans.spans(0);
  const auto& parent = scope_spans.spans(1);
  EXPECT_EQ(child.name(), "child");
  EXPECT_EQ(child.parent_span_id(), parent.span_id());
  EXPECT_EQ(child.trace_id(), std::string(spans[0].context.trace_id.raw()));
  EXPECT_EQ(child.status().code(), opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(child.status().message(), "trap");
  EXPECT_EQ(child.events(0).name(), "compiled");
  EXPECT_EQ(parent.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(parent.attributes(1).value().int_value(), 42);
  EXPECT_EQ(parent.flags() & 0xff, 1u);
  EXPECT_EQ(scope_spans.spans(2).links_size(), 1);
}

TEST(OtlpHttpExporter, SendsOtlpJson) {
  FakeHttpCollector collector;
  auto exporter = make_otlp_exporter(config_for(collector.url(), OtlpProtocol::http_json));
  auto spans = sample_spans();
  ASSERT_EQ(export_now(*exporter, spans), ExportResult::success);
  auto received = collector.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].content_type, "application/json");
  const std::string& body = received[0].raw_body;
  // The OTLP/JSON rules: hex ids, camelCase keys, integer enums.
  EXPECT_NE(body.find("\"traceId\":\"" + spans[0].context.trace_id.hex() + "\""), std::string::npos)
      << body;
  EXPECT_NE(body.find("\"resourceSpans\""), std::string::npos);
  EXPECT_NE(body.find("\"kind\":2"), std::string::npos);
  EXPECT_NE(body.find("\"startTimeUnixNano\":\""), std::string::npos);
  ASSERT_TRUE(received[0].decoded);
  EXPECT_EQ(received[0].request.resource_spans(0).scope_spans(0).spans(0).span_id(),
            std::string(spans[0].context.span_id.raw()));
}

TEST(OtlpHttpExporter, GzipAndHeaders) {
  FakeHttpCollector collector;
  auto config = config_for(collector.url());
  config.compression = OtlpCompression::gzip;
  config.headers = {{"Authorization", "Bearer t0ken"}, {"x-tenant", "blue"}};
  auto exporter = make_otlp_exporter(config);
  ASSERT_EQ(export_now(*exporter, sample_spans()), ExportResult::success);
  auto received = collector.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].headers["content-encoding"], "gzip");
  EXPECT_EQ(received[0].headers["authorization"], "Bearer t0ken");
  EXPECT_EQ(received[0].headers["x-tenant"], "blue");
  EXPECT_TRUE(received[0].decoded);
}

TEST(OtlpHttpExporter, Retries503ThenSucceeds) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::status, 503}, {Answer::Kind::status, 503}, {}});
  auto exporter = make_otlp_exporter(config_for(collector.url()));
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::success);
  EXPECT_EQ(collector.received().size(), 3u);
}

TEST(OtlpHttpExporter, HonoursRetryAfter) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::status, 429, "", {{"Retry-After", "1"}}}, {}});
  auto exporter = make_otlp_exporter(config_for(collector.url()));
  const auto start = Clock::now();
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::success);
  // A lower bound: the exporter waited as told instead of its 20 ms backoff.
  EXPECT_GE(Clock::now() - start, 900ms);
  EXPECT_EQ(collector.received().size(), 2u);
}

TEST(OtlpHttpExporter, DoesNotRetryABadRequest) {
  FakeHttpCollector collector;
  // google.rpc.Status{code: 3, message: "bad span"} as protobuf bytes.
  std::string status_body = std::string("\x08\x03\x12\x08", 4) + "bad span";
  collector.script({{Answer::Kind::status, 400, status_body}});
  Logged logged;
  auto exporter = make_otlp_exporter(config_for(collector.url()), logged.sink());
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 1u);
  EXPECT_NE(logged.all().find("HTTP 400: bad span"), std::string::npos) << logged.all();
}

TEST(OtlpHttpExporter, GivesUpOnAnAbsentCollectorAfterRetrying) {
  std::string url;
  {
    FakeHttpCollector gone;
    url = gone.url();
  }
  Logged logged;
  auto exporter = make_otlp_exporter(config_for(url), logged.sink());
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::failure);
  EXPECT_NE(logged.all().find("gave up after 5 attempts"), std::string::npos) << logged.all();
}

TEST(OtlpHttpExporter, HangingCollectorCostsOnlyTheTimeout) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::hang}});
  auto config = config_for(collector.url());
  config.timeout = 300ms;
  auto exporter = make_otlp_exporter(config);
  const auto start = Clock::now();
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, 5s);  // guards against a hang, not a speed check
}

TEST(OtlpHttpExporter, ShutdownAbortsAnExportInFlight) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::hang}});
  auto config = config_for(collector.url());
  config.timeout = 60s;
  auto exporter = make_otlp_exporter(config);
  auto spans = sample_spans();
  auto result = std::async(std::launch::async, [&] { return export_now(*exporter, spans, 60s); });
  ASSERT_TRUE(collector.wait_for(1, 10s));
  exporter->shutdown();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), ExportResult::failure);
  EXPECT_EQ(export_now(*exporter, spans), ExportResult::failure);  // stays shut
}

TEST(OtlpHttpExporter, LogsPartialSuccess) {
  FakeHttpCollector collector;
  otlp::ExportResponse response;
  response.mutable_partial_success()->set_rejected_spans(2);
  response.mutable_partial_success()->set_error_message("spans too old");
  collector.script({{Answer::Kind::ok, 200, response.SerializeAsString()}});
  Logged logged;
  auto exporter = make_otlp_exporter(config_for(collector.url()), logged.sink());
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::success);
  EXPECT_NE(logged.all().find("rejected 2 of 3 span(s): spans too old"), std::string::npos)
      << logged.all();
}

TEST(OtlpHttpExporter, TlsWithTheCollectorsCertificate) {
  wasmshim::testing::TlsFiles tls;
  FakeHttpCollector collector(tls.server_cert, tls.server_key);
  auto config = config_for(collector.url(true));
  config.certificate_file = tls.server_cert;
  EXPECT_EQ(export_now(*make_otlp_exporter(config), sample_spans()), ExportResult::success);
  // Without the certificate the server cannot be verified: no retry, failure.
  Logged logged;
  auto untrusted = config_for(collector.url(true));
  EXPECT_EQ(export_now(*make_otlp_exporter(untrusted, logged.sink()), sample_spans()),
            ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 1u);
}

TEST(OtlpHttpExporter, MutualTls) {
  wasmshim::testing::TlsFiles tls;
  FakeHttpCollector collector(tls.server_cert, tls.server_key, tls.client_cert);
  auto config = config_for(collector.url(true));
  config.certificate_file = tls.server_cert;
  config.client_certificate_file = tls.client_cert;
  config.client_key_file = tls.client_key;
  EXPECT_EQ(export_now(*make_otlp_exporter(config), sample_spans()), ExportResult::success);
  auto anonymous = config_for(collector.url(true));
  anonymous.certificate_file = tls.server_cert;
  anonymous.retry.max_attempts = 1;
  EXPECT_EQ(export_now(*make_otlp_exporter(anonymous, [](std::string_view) {}), sample_spans()),
            ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 1u);
}

TEST(OtlpHttpExporter, HonoursARetryAfterDate) {
  FakeHttpCollector collector;
  // A date already past: retry at once (an unparsed one would still retry,
  // after the backoff; a misparsed one far in the future would not).
  collector.script(
      {{Answer::Kind::status, 503, "", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}}, {}});
  auto config = config_for(collector.url());
  config.retry = {2, 3s, 3s, 1.0};  // a backoff far longer than the test allows
  auto exporter = make_otlp_exporter(config);
  const auto start = Clock::now();
  EXPECT_EQ(export_now(*exporter, sample_spans()), ExportResult::success);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(collector.received().size(), 2u);
}

// Which transport posts: the plain one for http:// to an address literal
// or localhost without TLS settings, libcurl for the rest.
TEST(HttpTransport, PlainOnlyWhereItCanDoTheJob) {
  auto plain = [](const std::string& url) {
    return detail::make_plain_transport(OtlpConfig::for_endpoint(url, OtlpProtocol::http_protobuf),
                                        {}) != nullptr;
  };
  EXPECT_TRUE(plain("http://127.0.0.1:4318/v1/traces"));
  EXPECT_TRUE(plain("http://localhost:4318/v1/traces"));
  EXPECT_TRUE(plain("HTTP://[::1]:4318/v1/traces"));
  EXPECT_TRUE(plain("http://10.0.0.7/v1/traces"));
  EXPECT_FALSE(plain("https://127.0.0.1:4318/v1/traces"));
  EXPECT_FALSE(plain("http://collector:4318/v1/traces"));
  EXPECT_FALSE(plain("http://user:secret@127.0.0.1:4318/v1/traces"));
  EXPECT_FALSE(plain("http://127.0.0.1:99999/v1/traces"));
  EXPECT_FALSE(plain("http://[::1/v1/traces"));
  auto with_ca =
      OtlpConfig::for_endpoint("http://127.0.0.1:4318/v1/traces", OtlpProtocol::http_protobuf);
  with_ca.certificate_file = "/etc/ssl/certs/ca-certificates.crt";
  EXPECT_EQ(detail::make_plain_transport(with_ca, {}), nullptr);
}

// Both transports against the same collector: a POST with our headers, the
// status, body and Retry-After handed back.
TEST(HttpTransport, BothTransportsPostTheSameRequest) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::status, 429, "slow down", {{"Retry-After", "7"}}},
                    {Answer::Kind::status, 429, "slow down", {{"Retry-After", "7"}}}});
  const auto config = config_for(collector.url());
  std::string error;
  std::vector<std::unique_ptr<detail::HttpTransport>> transports;
  transports.push_back(detail::make_plain_transport(config, {"X-Test: yes"}));
  transports.push_back(detail::make_curl_transport(config, {"X-Test: yes"}, error));
  for (auto& transport : transports) {
    ASSERT_NE(transport, nullptr) << error;
    const auto reply = transport->post("the body", Clock::now() + 5s);
    EXPECT_TRUE(reply.delivered) << reply.reason;
    EXPECT_EQ(reply.status, 429);
    EXPECT_EQ(reply.body, "slow down");
    EXPECT_EQ(reply.retry_after, "7");
  }
  ASSERT_EQ(collector.received().size(), 2u);
  for (const auto& received : collector.received()) {
    EXPECT_EQ(received.raw_body, "the body");
    EXPECT_EQ(received.headers.at("x-test"), "yes");
  }
}

// A body far larger than the socket's buffers goes out over many partial
// sends; every byte must arrive once, in order, behind the head.
TEST(HttpTransport, PlainTransportSendsABodyLargerThanTheSocketBuffers) {
  FakeHttpCollector collector;
  const auto config = config_for(collector.url());
  auto transport = detail::make_plain_transport(config, {"X-Test: yes"});
  ASSERT_NE(transport, nullptr);
  std::string body(8 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  }
  const auto reply = transport->post(body, Clock::now() + 20s);
  EXPECT_TRUE(reply.delivered) << reply.reason;
  EXPECT_EQ(reply.status, 200);
  ASSERT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(collector.received()[0].headers.at("x-test"), "yes");
  EXPECT_TRUE(collector.received()[0].raw_body == body)
      << "received " << collector.received()[0].raw_body.size() << " of " << body.size()
      << " bytes, or different ones";
}

TEST(HttpTransport, BothTransportsReportAnAbsentCollectorAsRetryable) {
  std::string url;
  {
    FakeHttpCollector gone;
    url = gone.url();
  }
  const auto config = config_for(url);
  std::string error;
  std::vector<std::unique_ptr<detail::HttpTransport>> transports;
  transports.push_back(detail::make_plain_transport(config, {}));
  transports.push_back(detail::make_curl_transport(config, {}, error));
  for (auto& transport : transports) {
    ASSERT_NE(transport, nullptr) << error;
    const auto reply = transport->post("x", Clock::now() + 5s);
    EXPECT_FALSE(reply.delivered);
    EXPECT_TRUE(reply.retryable) << reply.reason;
    EXPECT_NE(reply.reason.find("onnect"), std::string::npos) << reply.reason;
  }
}

TEST(TracingPipeline, SpansReachTheCollectorThroughTheBatchProcessor) {
  FakeHttpCollector collector;
  auto config = config_for(collector.url());
  config.service_name = "pipeline-test";
  auto provider = make_tracer_provider(config, {"fallback", "1.0"});
  ASSERT_TRUE(provider);
  auto tracer = provider->tracer("pipeline");
  for (int i = 0; i < 5; ++i) {
    tracer.start_span("op-" + std::to_string(i)).end();
  }
  EXPECT_TRUE(provider->force_flush(10s));
  EXPECT_EQ(collector.span_count(), 5u);
  const auto received = collector.received();
  const auto& resource = received.at(0).request.resource_spans(0).resource();
  bool named = false;
  for (const auto& kv : resource.attributes()) {
    named = named || (kv.key() == "service.name" && kv.value().string_value() == "pipeline-test");
  }
  EXPECT_TRUE(named);
  EXPECT_TRUE(provider->shutdown(5s));
}

TEST(TracingPipeline, DisabledConfigMakesNoProvider) {
  OtlpConfig config;
  EXPECT_FALSE(config.enabled);
  EXPECT_EQ(make_tracer_provider(config, {}), nullptr);
}

}  // namespace
}  // namespace wasmshim::otel
