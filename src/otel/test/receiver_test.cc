#include "wasmshim/otel/receiver.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/temp_dir.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

bool wait_for_spans(const OtlpReceiver& receiver, std::size_t count) {
  for (int i = 0; i < 500; ++i) {
    if (receiver.span_count() >= count) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void send_trace(const OtlpConfig& config) {
  auto provider = make_tracer_provider(config, {"receiver-test", "1"});
  ASSERT_TRUE(provider);
  auto tracer = provider->tracer("t");
  {
    auto root = tracer.start_span("root");
    root.set_attribute("container.id", "abc");
    auto scope = root.activate();
    tracer.start_span("child").record_error("trap: unreachable");
  }
  ASSERT_TRUE(provider->shutdown(10s));
}

TEST(OtlpReceiver, TakesEveryProtocolAndPrintsATree) {
  wasmshim::testing::TempDir dir;
  const std::string jsonl = (dir.path() / "spans.jsonl").string();
  const std::string printed_path = (dir.path() / "trees.txt").string();
  std::FILE* printed = std::fopen(printed_path.c_str(), "w+");
  ASSERT_NE(printed, nullptr);
  {
    OtlpReceiver receiver({"127.0.0.1:0", "127.0.0.1:0", jsonl, printed, 50ms});
    const std::string http =
        "http://127.0.0.1:" + std::to_string(receiver.http_port()) + "/v1/traces";
    send_trace(OtlpConfig::for_endpoint(http, OtlpProtocol::http_protobuf));
    send_trace(OtlpConfig::for_endpoint(http, OtlpProtocol::http_json));
    auto gzip = OtlpConfig::for_endpoint(http, OtlpProtocol::http_protobuf);
    gzip.compression = OtlpCompression::gzip;
    send_trace(gzip);
    send_trace(OtlpConfig::for_endpoint("http://127.0.0.1:" + std::to_string(receiver.grpc_port()),
                                        OtlpProtocol::grpc));
    ASSERT_TRUE(wait_for_spans(receiver, 8));
  }
  auto lines = read_lines(jsonl);
  ASSERT_EQ(lines.size(), 8u);
  std::map<std::string, int> by_protocol;
  for (const auto& line : lines) {
    by_protocol[line["protocol"]]++;
    EXPECT_EQ(line["service"], "receiver-test");
    EXPECT_EQ(line["trace_id"].get<std::string>().size(), 32u);
  }
  EXPECT_EQ(by_protocol["http/protobuf"], 4);
  EXPECT_EQ(by_protocol["http/json"], 2);
  EXPECT_EQ(by_protocol["grpc"], 2);
  EXPECT_EQ(lines[0]["name"], "child");
  EXPECT_EQ(lines[0]["parent_span_id"], lines[1]["span_id"]);
  EXPECT_EQ(lines[0]["status"]["code"], 2);
  EXPECT_EQ(lines[1]["attributes"]["container.id"], "abc");

  std::fseek(printed, 0, SEEK_SET);
  std::string text(8192, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), printed));
  std::fclose(printed);
  EXPECT_NE(text.find("└─ root"), std::string::npos) << text;
  EXPECT_NE(text.find("   └─ child"), std::string::npos) << text;
  EXPECT_NE(text.find("ERROR: trap: unreachable"), std::string::npos) << text;
  EXPECT_NE(text.find("container.id=abc"), std::string::npos) << text;
}

TEST(OtlpReceiver, PrintingNowhereStillCountsEverySpan) {
  OtlpReceiver receiver({"127.0.0.1:0", "127.0.0.1:0", "", nullptr, 50ms});
  const std::string http =
      "http://127.0.0.1:" + std::to_string(receiver.http_port()) + "/v1/traces";
  send_trace(OtlpConfig::for_endpoint(http, OtlpProtocol::http_protobuf));
  send_trace(OtlpConfig::for_endpoint(http, OtlpProtocol::http_json));
  send_trace(OtlpConfig::for_endpoint("http://127.0.0.1:" + std::to_string(receiver.grpc_port()),
                                      OtlpProtocol::grpc));
  EXPECT_TRUE(wait_for_spans(receiver, 6));
  // Nothing more arrives: a trace sent after them all brings the count to
  // exactly 8 once it has been taken.
  send_trace(OtlpConfig::for_endpoint(http, OtlpProtocol::http_protobuf));
  EXPECT_TRUE(wait_for_spans(receiver, 8));
  EXPECT_EQ(receiver.span_count(), 8u);
}

TEST(OtlpReceiver, RefusesWhatIsNotOtlp) {
  OtlpReceiver receiver({"127.0.0.1:0", "", "", nullptr, 50ms});
  auto config = OtlpConfig::for_endpoint(
      "http://127.0.0.1:" + std::to_string(receiver.http_port()) + "/elsewhere");
  config.retry.max_attempts = 1;
  std::string logged;
  auto exporter = make_otlp_exporter(config, [&](std::string_view line) { logged += line; });
  SpanData span;
  span.context = {random_trace_id(), random_span_id(), 1, {}, false};
  EXPECT_EQ(exporter->export_spans({&span, 1}, Clock::now() + 5s), ExportResult::failure);
  EXPECT_NE(logged.find("HTTP 404"), std::string::npos) << logged;
  EXPECT_EQ(receiver.span_count(), 0u);
}

TEST(OtlpReceiver, NamesAnAddressItCannotUse) {
  OtlpReceiver first({"127.0.0.1:0", "", "", nullptr, 50ms});
  try {
    OtlpReceiver second({"127.0.0.1:" + std::to_string(first.http_port()), "", "", nullptr, 50ms});
    FAIL() << "bound a port already in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.http_port())),
              std::string::npos);
  }
}

}  // namespace
}  // namespace wasmshim::otel
