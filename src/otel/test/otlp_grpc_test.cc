#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>

#include "fake_collectors.h"
#include "support/tls_files.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::FakeGrpcCollector;

std::vector<SpanData> two_spans() {
  auto memory = std::make_unique<InMemorySpanExporter>();
  auto* spans = memory.get();
  TracerProviderOptions options;
  options.processors.push_back(std::make_shared<SimpleSpanProcessor>(std::move(memory)));
  TracerProvider provider(std::move(options));
  auto tracer = provider.tracer("grpc-test");
  auto parent = tracer.start_span("parent");
  auto scope = parent.activate();
  tracer.start_span("child").end();
  parent.end();
  return spans->spans();
}

OtlpConfig grpc_config(const std::string& endpoint) {
  auto config = OtlpConfig::for_endpoint(endpoint, OtlpProtocol::grpc);
  config.retry = {5, 20ms, 100ms, 2.0};
  config.timeout = 5s;
  return config;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(OtlpGrpcExporter, ExportsWithMetadataAndGzip) {
  FakeGrpcCollector collector;
  auto config = grpc_config("http://" + collector.address());
  config.headers = {{"X-Tenant", "blue"}};
  config.compression = OtlpCompression::gzip;
  auto exporter = make_otlp_exporter(config);
  auto spans = two_spans();
  ASSERT_EQ(exporter->export_spans(spans, Clock::now() + 10s), ExportResult::success);
  auto received = collector.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].headers["x-tenant"], "blue");
  const auto& out = received[0].request.resource_spans(0).scope_spans(0);
  ASSERT_EQ(out.spans_size(), 2);
  EXPECT_EQ(out.spans(0).name(), "child");
  EXPECT_EQ(out.spans(0).parent_span_id(), out.spans(1).span_id());
}

TEST(OtlpGrpcExporter, GzipReallyCompresses) {
  FakeGrpcCollector collector(grpc::InsecureServerCredentials(), /*accept_gzip=*/false);
  auto config = grpc_config("http://" + collector.address());
  config.retry.max_attempts = 1;
  std::string logged;
  auto plain = make_otlp_exporter(config, [&](std::string_view line) { logged += line; });
  EXPECT_EQ(plain->export_spans(two_spans(), Clock::now() + 10s), ExportResult::success);
  config.compression = OtlpCompression::gzip;
  auto gzip = make_otlp_exporter(config, [&](std::string_view line) { logged += line; });
  EXPECT_EQ(gzip->export_spans(two_spans(), Clock::now() + 10s), ExportResult::failure);
  EXPECT_NE(logged.find("gzip"), std::string::npos) << logged;
}

TEST(OtlpGrpcExporter, BareHostPortWithInsecure) {
  FakeGrpcCollector collector;
  auto config = grpc_config(collector.address());
  config.insecure = true;
  EXPECT_EQ(make_otlp_exporter(config)->export_spans(two_spans(), Clock::now() + 10s),
            ExportResult::success);
}

TEST(OtlpGrpcExporter, RetriesUnavailableThenSucceeds) {
  FakeGrpcCollector collector;
  collector.script({{Answer::Kind::status, static_cast<int>(grpc::StatusCode::UNAVAILABLE)}, {}});
  auto exporter = make_otlp_exporter(grpc_config("http://" + collector.address()));
  EXPECT_EQ(exporter->export_spans(two_spans(), Clock::now() + 10s), ExportResult::success);
  EXPECT_EQ(collector.received().size(), 2u);
}

TEST(OtlpGrpcExporter, DoesNotRetryInvalidArgumentOrBareResourceExhausted) {
  for (auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    FakeGrpcCollector collector;
    collector.script({{Answer::Kind::status, static_cast<int>(code), "no"}});
    std::string logged;
    auto exporter = make_otlp_exporter(grpc_config("http://" + collector.address()),
                                       [&](std::string_view line) { logged += line; });
    EXPECT_EQ(exporter->export_spans(two_spans(), Clock::now() + 10s), ExportResult::failure);
    EXPECT_EQ(collector.received().size(), 1u);
    EXPECT_NE(logged.find("gRPC status " + std::to_string(static_cast<int>(code))),
              std::string::npos);
  }
}

TEST(OtlpGrpcExporter, HangingCollectorCostsOnlyTheTimeout) {
  FakeGrpcCollector collector;
  collector.script({{Answer::Kind::hang}});
  auto config = grpc_config("http://" + collector.address());
  config.timeout = 300ms;
  config.retry.max_attempts = 1;
  const auto start = Clock::now();
  EXPECT_EQ(make_otlp_exporter(config, [](std::string_view) {})
                ->export_spans(two_spans(), Clock::now() + 10s),
            ExportResult::failure);
  EXPECT_LT(Clock::now() - start, 5s);  // guards against a hang
}

TEST(OtlpGrpcExporter, ShutdownCancelsAnExportInFlight) {
  FakeGrpcCollector collector;
  collector.script({{Answer::Kind::hang}});
  auto config = grpc_config("http://" + collector.address());
  config.timeout = 60s;
  auto exporter = make_otlp_exporter(config, [](std::string_view) {});
  auto spans = two_spans();
  auto result = std::async(std::launch::async,
                           [&] { return exporter->export_spans(spans, Clock::now() + 60s); });
  ASSERT_TRUE(collector.wait_for(1, 10s));
  exporter->shutdown();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), ExportResult::failure);
}

TEST(OtlpGrpcExporter, AbsentCollectorFailsWithinTheTimeout) {
  std::string address;
  {
    FakeGrpcCollector gone;
    address = gone.address();
  }
  auto config = grpc_config("http://" + address);
  config.timeout = 1s;
  EXPECT_EQ(make_otlp_exporter(config, [](std::string_view) {})
                ->export_spans(two_spans(), Clock::now() + 10s),
            ExportResult::failure);
}

TEST(OtlpGrpcExporter, Tls) {
  wasmshim::testing::TlsFiles tls;
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({read_file(tls.server_key), read_file(tls.server_cert)});
  FakeGrpcCollector collector(grpc::SslServerCredentials(options));
  auto config = grpc_config("https://localhost:" +
                            collector.address().substr(collector.address().find(':') + 1));
  config.certificate_file = tls.server_cert;
  EXPECT_EQ(make_otlp_exporter(config)->export_spans(two_spans(), Clock::now() + 10s),
            ExportResult::success);
}

TEST(OtlpGrpcExporter, PartialSuccessIsLogged) {
  FakeGrpcCollector collector;
  collector.script({{Answer::Kind::ok, 0, "one too many"}});
  std::string logged;
  auto exporter = make_otlp_exporter(grpc_config("http://" + collector.address()),
                                     [&](std::string_view line) { logged += line; });
  EXPECT_EQ(exporter->export_spans(two_spans(), Clock::now() + 10s), ExportResult::success);
  EXPECT_NE(logged.find("rejected 1 of 2 span(s): one too many"), std::string::npos) << logged;
}

}  // namespace
}  // namespace wasmshim::otel
