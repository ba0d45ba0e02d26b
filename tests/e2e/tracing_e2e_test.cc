// Each container's life as one trace: containerd (Debian's) started with
// the OTLP variables, the shim's spans decoded by the OpenTelemetry
// project's own decoders (the Node receiver).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <map>

#include "containerd_fixture.h"
#include "support/node_receiver.h"
#include "support/processes.h"

namespace wasmshim::testing {
namespace {

using nlohmann::json;

std::map<std::string, json> by_name(const std::vector<json>& spans) {
  std::map<std::string, json> out;
  for (const auto& span : spans) {
    out[span["name"].get<std::string>()] = span;
  }
  return out;
}

std::vector<json> wait_for_span(const NodeReceiver& receiver, const std::string& name) {
  std::vector<json> spans;
  for (int i = 0; i < 300; ++i) {
    spans = all_spans(receiver.records(0));
    if (by_name(spans).count(name) != 0) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  return spans;
}

class TracingE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "containerd needs root"; }
};

TEST_P(TracingE2E, OneContainerIsOneTrace) {
  NodeReceiver receiver;
  const bool grpc = GetParam() == "grpc";
  const std::string endpoint =
      grpc ? receiver.grpc("http")
           : "http://127.0.0.1:" + std::to_string(receiver.ports.at("http"));
  Containerd containerd({"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
                         "OTEL_EXPORTER_OTLP_PROTOCOL=" + GetParam(),
                         "OTEL_SERVICE_NAME=wasmshim-e2e", "OTEL_BSP_SCHEDULE_DELAY=200"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  auto result = containerd.run("--rm", "traced", "/demo.wasm sleep 3");
  ASSERT_EQ(result.status, 0) << result.output;
  // The shim exports its last spans as it exits, after Shutdown.
  const auto spans = by_name(wait_for_span(receiver, "containerd.task.v2.Task/Shutdown"));
  auto expect_child = [&](const std::string& child, const std::string& parent) {
    ASSERT_TRUE(spans.count(child)) << child << " missing";
    ASSERT_TRUE(spans.count(parent)) << parent << " missing";
    EXPECT_EQ(spans.at(child)["parentSpanId"], spans.at(parent)["spanId"])
        << child << " is not a child of " << parent;
    EXPECT_EQ(spans.at(child)["traceId"], spans.at("start_shim")["traceId"]) << child;
  };
  ASSERT_TRUE(spans.count("start_shim"));
  expect_child("shim_main", "start_shim");
  // The daemon ends start_shim when `start` exits: long before Shutdown.
  const auto nanos = [&](const std::string& name, const char* field) {
    return std::stoull(spans.at(name)[field].get<std::string>());
  };
  EXPECT_GE(nanos("start_shim", "endTimeUnixNano"), nanos("start_shim", "startTimeUnixNano"));
  EXPECT_LT(nanos("start_shim", "endTimeUnixNano"),
            nanos("containerd.task.v2.Task/Shutdown", "startTimeUnixNano"));
  for (const char* rpc : {"Create", "Start", "Wait", "State", "Delete", "Shutdown"}) {
    expect_child(std::string("containerd.task.v2.Task/") + rpc, "shim_main");
  }
  expect_child("instance.create", "containerd.task.v2.Task/Create");
  expect_child("instance.start", "containerd.task.v2.Task/Start");
  expect_child("container.cgroup", "instance.create");
  expect_child("container.spawn", "instance.start");
  expect_child("container.run", "container.spawn");
  expect_child("container.isolate", "container.run");
  expect_child("wasm.load", "container.run");
  expect_child("wasm.run", "container.run");
  expect_child("wasm.instantiate", "wasm.run");
  expect_child("instance.wait", "instance.start");
  expect_child("instance.delete", "containerd.task.v2.Task/Delete");
  const auto& create = spans.at("containerd.task.v2.Task/Create");
  EXPECT_EQ(create["kind"], 2);  // SERVER
  bool has_id = false;
  for (const auto& attribute : create["attributes"]) {
    has_id = has_id ||
             (attribute["key"] == "container.id" && attribute["value"]["stringValue"] == "traced");
  }
  EXPECT_TRUE(has_id);
  // The Wait lasted the whole sleep.
  const auto& wait = spans.at("containerd.task.v2.Task/Wait");
  EXPECT_GE(std::stoull(wait["endTimeUnixNano"].get<std::string>()) -
                std::stoull(wait["startTimeUnixNano"].get<std::string>()),
            2'500'000'000ULL);
  // `delete`, which containerd runs once the shim has gone, continues the
  // trace (over HTTP it exports from its own process, over gRPC from a
  // child).
  const auto with_delete = by_name(wait_for_span(receiver, "delete_shim"));
  ASSERT_TRUE(with_delete.count("delete_shim")) << "delete_shim missing";
  EXPECT_EQ(with_delete.at("delete_shim")["parentSpanId"], spans.at("shim_main")["spanId"]);
  EXPECT_EQ(with_delete.at("delete_shim")["traceId"], spans.at("start_shim")["traceId"]);
}

INSTANTIATE_TEST_SUITE_P(Protocols, TracingE2E, ::testing::Values("http/protobuf", "grpc"),
                         [](const auto& param_info) {
                           return param_info.param == "grpc" ? std::string("grpc")
                                                             : std::string("http_protobuf");
                         });

class TracingFaults : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "containerd needs root"; }
};

// A collector that accepts connections and never answers.
struct HangingCollector {
  int fd = -1;
  int port = 0;
  HangingCollector() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd, 64) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~HangingCollector() { ::close(fd); }
};

// Nothing listens at the endpoint at all.
TEST_F(TracingFaults, AbsentCollectorCostsNothing) {
  int port = 0;
  {
    HangingCollector closed;  // bound, then closed: the port refuses
    port = closed.port;
  }
  Containerd containerd({"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(port),
                         "OTEL_EXPORTER_OTLP_TIMEOUT=1000"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  for (int i = 0; i < 3; ++i) {
    auto result = containerd.run("--rm", "absent-" + std::to_string(i), "/demo.wasm echo fine");
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_EQ(result.output, "fine\n");
  }
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = shell("pgrep -f '[c]ontainerd-shim-wasmshim-v1.*serve'").status != 0;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(TracingFaults, HangingCollectorNeitherSlowsNorKeepsTheShim) {
  HangingCollector hanging;
  Containerd containerd(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(hanging.port),
       "OTEL_EXPORTER_OTLP_TIMEOUT=1000"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  for (int i = 0; i < 3; ++i) {
    auto result = containerd.run("--rm", "hang-" + std::to_string(i), "/demo.wasm echo still fine");
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_EQ(result.output, "still fine\n");
  }
  // Each shim gives its export the 1 s timeout, then exits.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = shell("pgrep -f '[c]ontainerd-shim-wasmshim-v1.*serve'").status != 0;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone);
}

// The spans the shims of `containerd` sent to `receiver`. Waits for the
// positive signs that all of them have arrived: every shim process gone
// (a shim exports as it exits, and the receiver records a request before
// it answers), then a trace sent after them by `wasmshim run` recorded. An
// empty answer is then a real absence, not a look taken too early.
std::vector<json> spans_from_shims(const NodeReceiver& receiver, const Containerd& containerd) {
  const std::string marker = " -address " + containerd.socket() + " ";
  const auto shims_left = [&] {
    const auto pids = processes_named("containerd-shim-wasmshim-v1");
    return std::any_of(pids.begin(), pids.end(), [&](pid_t pid) {
      return command_line_of(pid).find(marker) != std::string::npos;
    });
  };
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (shims_left() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(shims_left()) << "a shim is still running";
  const auto sent = shell("env OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" +
                          std::to_string(receiver.ports.at("http")) + " " + WASMSHIM_BIN_DIR +
                          "/wasmshim run " + WASMSHIM_DEMO_WASM + " echo marker");
  EXPECT_EQ(sent.output, "marker\n");
  std::vector<json> from_shims;
  for (auto now = std::chrono::steady_clock::now(); now < give_up + 60s;
       now = std::chrono::steady_clock::now()) {
    from_shims.clear();
    bool marked = false;
    for (const auto& record : receiver.records(0)) {
      const auto spans = all_spans({record});
      if (by_name(spans).count("wasmshim run") != 0) {
        marked = true;
      } else {
        from_shims.insert(from_shims.end(), spans.begin(), spans.end());
      }
    }
    if (marked) {
      return from_shims;
    }
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "the marker trace never arrived";
  return from_shims;
}

// Polls the containerd's log (where the shim's log goes) for `text`.
bool log_shows(const Containerd& containerd, const std::string& text) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (containerd.log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST_F(TracingFaults, InvalidProtocolIsOneLogLineAndTheContainerRuns) {
  NodeReceiver receiver;
  Containerd containerd(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(receiver.ports.at("http")),
       "OTEL_EXPORTER_OTLP_PROTOCOL=thrift"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  auto result = containerd.run("--rm", "badproto", "/demo.wasm echo untraced");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "untraced\n");
  EXPECT_TRUE(log_shows(containerd, "OTEL_EXPORTER_OTLP_PROTOCOL=\\\"thrift\\\" is not valid"))
      << containerd.log();
  EXPECT_TRUE(spans_from_shims(receiver, containerd).empty());
}

TEST_F(TracingFaults, SdkDisabledExportsNothing) {
  NodeReceiver receiver;
  Containerd containerd(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(receiver.ports.at("http")),
       "OTEL_SDK_DISABLED=true"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  auto result = containerd.run("--rm", "disabled", "/demo.wasm echo quiet");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_TRUE(spans_from_shims(receiver, containerd).empty());
}

// `wasmshim run` without containerd, over each protocol.
TEST(WasmshimRunTracing, ExportsOverEachProtocolAndTheTracesEndpointWins) {
  NodeReceiver receiver;
  const std::string http = "http://127.0.0.1:" + std::to_string(receiver.ports.at("http"));
  const std::string run = std::string(WASMSHIM_BIN_DIR) + "/wasmshim run " + WASMSHIM_DEMO_WASM;
  EXPECT_EQ(shell("env OTEL_EXPORTER_OTLP_ENDPOINT=" + http + " " + run + " echo a").output, "a\n");
  EXPECT_EQ(shell("env OTEL_EXPORTER_OTLP_ENDPOINT=" + http +
                  " OTEL_EXPORTER_OTLP_PROTOCOL=http/json " + run + " echo b")
                .output,
            "b\n");
  EXPECT_EQ(shell("env OTEL_EXPORTER_OTLP_ENDPOINT=" + receiver.grpc("http") +
                  " OTEL_EXPORTER_OTLP_PROTOCOL=grpc " + run + " echo c")
                .output,
            "c\n");
  // Both endpoints set: the generic one points nowhere, the traces one wins.
  EXPECT_EQ(shell("env OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 "
                  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" +
                  http + "/v1/traces " + run + " echo d")
                .output,
            "d\n");
  auto records = receiver.records(4);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["protocol"], "http/protobuf");
  EXPECT_EQ(records[1]["protocol"], "http/json");
  EXPECT_EQ(records[2]["protocol"], "grpc");
  EXPECT_EQ(records[3]["protocol"], "http/protobuf");
  for (const auto& record : records) {
    auto spans = by_name(all_spans({record}));
    EXPECT_TRUE(spans.count("wasmshim run"));
    EXPECT_TRUE(spans.count("wasm.load"));
    EXPECT_TRUE(spans.count("wasm.run"));
  }
}

}  // namespace
}  // namespace wasmshim::testing
