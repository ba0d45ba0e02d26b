#include "wasmshim/otel/config.h"

#include <gtest/gtest.h>

#include <map>

namespace wasmshim::otel {
namespace {

using Env = std::map<std::string, std::string>;

OtlpConfigResult from(Env env) {
  return otlp_config_from_env([&env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

TEST(OtlpConfigEnv, OffWithoutAnEndpoint) {
  auto result = from({{"OTEL_SERVICE_NAME", "x"}});
  EXPECT_FALSE(result.config.enabled);
  EXPECT_TRUE(result.errors.empty());
}

TEST(OtlpConfigEnv, EmptyEndpointCountsAsUnset) {
  EXPECT_FALSE(from({{"OTEL_EXPORTER_OTLP_ENDPOINT", ""}}).config.enabled);
  EXPECT_FALSE(from({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "  "}}).config.enabled);
}

TEST(OtlpConfigEnv, GenericEndpointGetsTheTracesPath) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}});
  EXPECT_TRUE(result.config.enabled);
  EXPECT_EQ(result.config.endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(result.config.protocol, OtlpProtocol::http_protobuf);
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}}).config.endpoint,
            "http://collector:4318/v1/traces");
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c/base/"}}).config.endpoint,
            "https://c/base/v1/traces");
}

TEST(OtlpConfigEnv, SignalEndpointIsUsedAsIsAndWins) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"},
                      {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://specific:9999/custom"}});
  EXPECT_TRUE(result.config.enabled);
  EXPECT_EQ(result.config.endpoint, "http://specific:9999/custom");
}

TEST(OtlpConfigEnv, SdkDisabledWins) {
  EXPECT_FALSE(
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_SDK_DISABLED", "true"}})
          .config.enabled);
  EXPECT_FALSE(
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_SDK_DISABLED", "TRUE"}})
          .config.enabled);
  EXPECT_TRUE(
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_SDK_DISABLED", "false"}})
          .config.enabled);
  auto junk =
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_SDK_DISABLED", "yes"}});
  EXPECT_FALSE(junk.config.enabled);
  ASSERT_EQ(junk.errors.size(), 1u);
  EXPECT_NE(junk.errors[0].find("OTEL_SDK_DISABLED"), std::string::npos);
}

TEST(OtlpConfigEnv, ProtocolPrecedenceAndGrpcEndpoints) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"},
                      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                      {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"}});
  EXPECT_EQ(result.config.protocol, OtlpProtocol::grpc);
  // gRPC takes the generic endpoint as it is: no path appended.
  EXPECT_EQ(result.config.endpoint, "http://c:4317");
  auto bare = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"},
                    {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                    {"OTEL_EXPORTER_OTLP_INSECURE", "true"}});
  EXPECT_TRUE(bare.config.enabled);
  EXPECT_EQ(bare.config.endpoint, "collector:4317");
  EXPECT_TRUE(bare.config.insecure);
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}).config.endpoint,
            "http://localhost:4317");
}

TEST(OtlpConfigEnv, InvalidProtocolNamesTheVariableAndTheValidValues) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                      {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"}});
  EXPECT_FALSE(result.config.enabled);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=\"thrift\""),
            std::string::npos);
  EXPECT_NE(result.errors[0].find("http/protobuf, http/json, grpc"), std::string::npos);
}

TEST(OtlpConfigEnv, HttpEndpointMustBeAUrl) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}});
  EXPECT_FALSE(result.config.enabled);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("OTEL_EXPORTER_OTLP_ENDPOINT"), std::string::npos);
}

TEST(OtlpConfigEnv, HeadersMergeKeyByKeyAndDecode) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=generic, tenant=a%20b,,"},
                      {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "API-KEY=specific"}});
  ASSERT_TRUE(result.errors.empty());
  ASSERT_EQ(result.config.headers.size(), 2u);
  EXPECT_EQ(result.config.headers[0].second, "specific");
  EXPECT_EQ(result.config.headers[1], (std::pair<std::string, std::string>{"tenant", "a b"}));
  auto bad = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                   {"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}});
  EXPECT_FALSE(bad.config.enabled);
  EXPECT_EQ(bad.errors.size(), 1u);
}

TEST(OtlpConfigEnv, TimeoutCompressionAndTheirErrors) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                      {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"},
                      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"}});
  EXPECT_EQ(result.config.timeout, std::chrono::milliseconds(700));
  EXPECT_EQ(result.config.compression, OtlpCompression::gzip);
  for (const char* junk : {"soon", "0", "-5", "1.5"}) {
    auto bad = from(
        {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_EXPORTER_OTLP_TIMEOUT", junk}});
    EXPECT_FALSE(bad.config.enabled) << junk;
    ASSERT_EQ(bad.errors.size(), 1u) << junk;
    EXPECT_NE(bad.errors[0].find("OTEL_EXPORTER_OTLP_TIMEOUT"), std::string::npos);
  }
  auto zstd = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                    {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"}});
  ASSERT_EQ(zstd.errors.size(), 1u);
  EXPECT_NE(zstd.errors[0].find("gzip or none"), std::string::npos);
}

TEST(OtlpConfigEnv, CertificateFilesMustBeReadable) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"},
                      {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"}});
  EXPECT_FALSE(result.config.enabled);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("OTEL_EXPORTER_OTLP_CERTIFICATE"), std::string::npos);
  auto ok = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"},
                  {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/hostname"},
                  {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/hostname"},
                  {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/etc/hostname"}});
  EXPECT_TRUE(ok.config.enabled);
  EXPECT_EQ(ok.config.certificate_file, "/etc/hostname");
  EXPECT_EQ(ok.config.client_key_file, "/etc/hostname");
  EXPECT_EQ(ok.config.client_certificate_file, "/etc/hostname");
}

TEST(OtlpConfigEnv, TracesExporterChoices) {
  auto console = from({{"OTEL_TRACES_EXPORTER", "console"}});
  EXPECT_TRUE(console.config.enabled);
  EXPECT_EQ(console.config.exporters, std::vector<TracesExporterKind>{TracesExporterKind::console});
  auto none =
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_TRACES_EXPORTER", "none"}});
  EXPECT_FALSE(none.config.enabled);
  auto both = from(
      {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_TRACES_EXPORTER", "otlp,console"}});
  EXPECT_EQ(both.config.exporters.size(), 2u);
  // Console asked for but no endpoint: console alone.
  auto console_otlp = from({{"OTEL_TRACES_EXPORTER", "otlp,console"}});
  EXPECT_TRUE(console_otlp.config.enabled);
  EXPECT_EQ(console_otlp.config.exporters,
            std::vector<TracesExporterKind>{TracesExporterKind::console});
  auto zipkin =
      from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_TRACES_EXPORTER", "zipkin"}});
  EXPECT_FALSE(zipkin.config.enabled);
  ASSERT_EQ(zipkin.errors.size(), 1u);
  EXPECT_NE(zipkin.errors[0].find("otlp, console or none"), std::string::npos);
}

TEST(OtlpConfigEnv, SamplerAndArgument) {
  auto result = from(
      {{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}});
  EXPECT_EQ(result.config.sampler, SamplerKind::parentbased_traceidratio);
  EXPECT_DOUBLE_EQ(result.config.sampler_ratio, 0.25);
  // The argument only matters to ratio samplers.
  EXPECT_TRUE(from({{"OTEL_TRACES_SAMPLER", "always_off"}, {"OTEL_TRACES_SAMPLER_ARG", "x"}})
                  .errors.empty());
  EXPECT_EQ(from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "1.5"}})
                .errors.size(),
            1u);
  EXPECT_EQ(from({{"OTEL_TRACES_SAMPLER", "jaeger_remote"}}).errors.size(), 1u);
}

TEST(OtlpConfigEnv, Propagators) {
  EXPECT_EQ(from({{"OTEL_PROPAGATORS", "baggage"}}).config.propagators,
            std::vector<PropagatorKind>{PropagatorKind::baggage});
  EXPECT_TRUE(from({{"OTEL_PROPAGATORS", "none"}}).config.propagators.empty());
  auto b3 = from({{"OTEL_PROPAGATORS", "tracecontext,b3"}});
  ASSERT_EQ(b3.errors.size(), 1u);
  EXPECT_NE(b3.errors[0].find("OTEL_PROPAGATORS"), std::string::npos);
}

TEST(OtlpConfigEnv, BatchSettingsAndLimits) {
  auto result = from({{"OTEL_BSP_SCHEDULE_DELAY", "100"},
                      {"OTEL_BSP_EXPORT_TIMEOUT", "2000"},
                      {"OTEL_BSP_MAX_QUEUE_SIZE", "64"},
                      {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"},
                      {"OTEL_ATTRIBUTE_COUNT_LIMIT", "10"},
                      {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5"},
                      {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "40"},
                      {"OTEL_SPAN_EVENT_COUNT_LIMIT", "3"},
                      {"OTEL_SPAN_LINK_COUNT_LIMIT", "2"},
                      {"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "4"},
                      {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "6"}});
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.config.batch, (BatchOptions{64, std::chrono::milliseconds(100),
                                               std::chrono::milliseconds(2000), 16}));
  EXPECT_EQ(result.config.limits, (SpanLimits{5, 40, 3, 2, 4, 6}));
  auto too_big =
      from({{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"}});
  ASSERT_EQ(too_big.errors.size(), 1u);
  EXPECT_NE(too_big.errors[0].find("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), std::string::npos);
  EXPECT_EQ(from({{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}}).errors.size(), 1u);
}

TEST(OtlpConfigEnv, ResourceAttributesAndServiceName) {
  auto result = from(
      {{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment=prod%2Feu"},
       {"OTEL_SERVICE_NAME", "from-name"}});
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.config.service_name, "from-name");
  ASSERT_EQ(result.config.resource_attributes.size(), 2u);
  EXPECT_EQ(std::get<std::string>(result.config.resource_attributes[1].value), "prod/eu");
  EXPECT_EQ(from({{"OTEL_RESOURCE_ATTRIBUTES", "a=%2"}}).errors.size(), 1u);
}

TEST(OtlpConfigEnv, SeveralBadVariablesGiveOneErrorEach) {
  auto result = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                      {"OTEL_EXPORTER_OTLP_PROTOCOL", "udp"},
                      {"OTEL_BSP_SCHEDULE_DELAY", "later"},
                      {"OTEL_TRACES_SAMPLER", "sometimes"}});
  EXPECT_FALSE(result.config.enabled);
  EXPECT_EQ(result.errors.size(), 3u);
}

TEST(OtlpConfig, ByHandIsEnabled) {
  auto config = OtlpConfig::for_endpoint("http://127.0.0.1:4317", OtlpProtocol::grpc);
  EXPECT_TRUE(config.enabled);
  EXPECT_EQ(config.endpoint, "http://127.0.0.1:4317");
  EXPECT_EQ(config.describe(), "tracing on: otlp grpc to http://127.0.0.1:4317");
}

TEST(KeyValueList, ParsesTrimsAndRejects) {
  auto pairs = parse_key_value_list(" a = 1 , b=%3D ");
  ASSERT_TRUE(pairs);
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ((*pairs)[1].second, "=");
  EXPECT_FALSE(parse_key_value_list("=value"));
  EXPECT_FALSE(parse_key_value_list("a=1,b"));
}

}  // namespace
}  // namespace wasmshim::otel
