// The Task service's spans: one SERVER span per RPC, continuing the
// caller's trace when the request's metadata carries a traceparent, else
// under the daemon's shim_main.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "shim_tracing.h"
#include "support/memory_tracing.h"
#include "support/temp_dir.h"
#include "task_service.h"
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/receiver.h"
#include "wasmshim/otel/tracer.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;

class NoopInstance final : public Instance {
 public:
  std::uint32_t start() override { return 77; }
  void kill(std::uint32_t) override {}
  ExitStatus wait() override { return {0, std::chrono::system_clock::now()}; }
  void remove() override {}
};

struct TracedService {
  wasmshim::testing::MemoryTracing tracing;
  otel::InMemorySpanExporter* spans = &tracing.spans();
  otel::SpanContext shim_main;
  std::unique_ptr<TaskService> service;
  wasmshim::testing::TempDir dir;
  ttrpc::Server server;
  std::unique_ptr<ttrpc::Client> client;

  TracedService() {
    shim_main = {otel::random_trace_id(), otel::random_span_id(), otel::kSampledFlag, {}, false};
    TaskServiceOptions service_options;
    service_options.create_instance = [](const InstanceConfig&) {
      return std::make_unique<NoopInstance>();
    };
    service_options.parent_traceparent = otel::format_traceparent(shim_main);
    service = std::make_unique<TaskService>(std::move(service_options));
    service->register_with(server);
    server.listen(dir.socket());
    client = ttrpc::Client::connect(dir.socket(), 5s);
  }
  ~TracedService() { server.shutdown(1s); }
  // A copy: the exporter's list may grow while the test looks.
  std::optional<otel::SpanData> find(const std::string& name) const {
    for (auto& span : spans->spans()) {
      if (span.name == name) {
        return span;
      }
    }
    return std::nullopt;
  }
};

TEST(TaskTracing, RpcSpansHangUnderShimMainWithoutACallerTrace) {
  TracedService traced;
  task::CreateTaskRequest create;
  create.set_id("c1");
  create.set_bundle("/b");
  task::CreateTaskResponse created;
  ASSERT_TRUE(
      ttrpc::typed_call(*traced.client, "containerd.task.v2.Task", "Create", create, created)
          .is_ok());
  const auto span = traced.find("containerd.task.v2.Task/Create");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->kind, otel::SpanKind::server);
  EXPECT_EQ(span->context.trace_id, traced.shim_main.trace_id);
  EXPECT_EQ(span->parent_span_id, traced.shim_main.span_id);
  EXPECT_EQ(std::get<std::string>(*otel::find_attribute(span->attributes, "rpc.system")), "ttrpc");
  EXPECT_EQ(std::get<std::string>(*otel::find_attribute(span->attributes, "rpc.service")),
            "containerd.task.v2.Task");
  EXPECT_EQ(std::get<std::string>(*otel::find_attribute(span->attributes, "rpc.method")), "Create");
  EXPECT_EQ(std::get<std::string>(*otel::find_attribute(span->attributes, "container.id")), "c1");
  const auto instance = traced.find("instance.create");
  ASSERT_TRUE(instance);
  EXPECT_EQ(instance->parent_span_id, span->context.span_id);
}

TEST(TaskTracing, ContinuesTheCallersTraceparent) {
  TracedService traced;
  const otel::SpanContext caller{
      otel::random_trace_id(), otel::random_span_id(), otel::kSampledFlag, {}, true};
  task::ConnectRequest connect;
  connect.set_id("c1");
  ttrpc::CallOptions options;
  options.metadata.set("traceparent", otel::format_traceparent(caller));
  auto response = traced.client->call("containerd.task.v3.Task", "Connect",
                                      connect.SerializeAsString(), options);
  ASSERT_TRUE(response.status.is_ok());
  const auto span = traced.find("containerd.task.v3.Task/Connect");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->context.trace_id, caller.trace_id);
  EXPECT_EQ(span->parent_span_id, caller.span_id);
  EXPECT_TRUE(span->parent_remote);
}

TEST(TaskTracing, FailedRpcsSayWhy) {
  TracedService traced;
  task::StartRequest start;
  start.set_id("missing");
  auto response =
      traced.client->call("containerd.task.v2.Task", "Start", start.SerializeAsString());
  EXPECT_EQ(response.status.code(), ttrpc::StatusCode::kNotFound);
  const auto span = traced.find("containerd.task.v2.Task/Start");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->status, otel::StatusCode::error);
  EXPECT_EQ(span->status_message, "task missing not found");
}

std::size_t still_running_spans(otel::InMemorySpanExporter& exported) {
  std::size_t ticks = 0;
  for (const auto& span : exported.spans()) {
    ticks += span.name == "wait.still_running" ? 1U : 0U;
  }
  return ticks;
}

TEST(TaskTracing, LongWaitsShowWhileTheyLast) {
  wasmshim::testing::MemoryTracing tracing;
  auto* spans = &tracing.spans();
  // Runs until the Wait has shown it twice (or a generous bound passes):
  // however busy the machine, the task lasts as long as the check needs.
  struct SlowInstance final : public Instance {
    explicit SlowInstance(otel::InMemorySpanExporter* exported) : spans(exported) {}
    std::uint32_t start() override { return 1; }
    void kill(std::uint32_t) override {}
    ExitStatus wait() override {
      const auto give_up = std::chrono::steady_clock::now() + 30s;
      while (still_running_spans(*spans) < 2 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(10ms);
      }
      return {0, std::chrono::system_clock::now()};
    }
    void remove() override {}
    otel::InMemorySpanExporter* spans;
  };
  TaskServiceOptions service_options;
  service_options.create_instance = [spans](const InstanceConfig&) {
    return std::make_unique<SlowInstance>(spans);
  };
  service_options.wait_span_interval = 100ms;
  TaskService service(std::move(service_options));
  task::CreateTaskRequest create;
  create.set_id("slow");
  create.set_bundle("/b");
  service.create(create);
  task::StartRequest start;
  start.set_id("slow");
  service.start(start);
  task::WaitRequest wait;
  wait.set_id("slow");
  service.wait(wait);
  EXPECT_GE(still_running_spans(*spans), 2u);
}

// `start` with tracing off hands the daemon nothing: no provider, no pipe,
// no trace context.
TEST(StartTracing, OffLeavesNothingForTheDaemon) {
  otel::OtlpConfig off;
  off.enabled = false;
  ShimFlags flags;
  flags.id = "t";
  StartTrace trace(flags, ShimInfo{"wasmshim", "1", "r", "v1"}, off, /*spawning=*/true);
  EXPECT_EQ(otel::global_tracer_provider(), nullptr);
  EXPECT_EQ(trace.start_exit_fd(), -1);
}

// With tracing on and a daemon to spawn, `start` builds no provider (the
// daemon it forks records start_shim from its copy of this object) and
// hands on the pipe.
TEST(StartTracing, OnHandsTheDaemonThePipe) {
  otel::OtlpConfig on;
  on.enabled = true;
  ShimFlags flags;
  flags.id = "t";
  StartTrace trace(flags, ShimInfo{"wasmshim", "1", "r", "v1"}, on, /*spawning=*/true);
  EXPECT_EQ(otel::global_tracer_provider(), nullptr);
  EXPECT_GE(trace.start_exit_fd(), 0);
  trace.spawned();
  EXPECT_EQ(trace.start_exit_fd(), -1);  // this process's copy of the daemon's end is closed
}

// The spans an OTLP receiver got, once it has them all (it writes them out
// as it stops).
std::vector<nlohmann::json> received(const std::function<void(const std::string&)>& send,
                                     std::size_t count) {
  wasmshim::testing::TempDir dir;
  const std::string jsonl = (dir.path() / "spans.jsonl").string();
  {
    otel::OtlpReceiver receiver({"127.0.0.1:0", "", jsonl, nullptr, 50ms});
    send("http://127.0.0.1:" + std::to_string(receiver.http_port()) + "/v1/traces");
    for (int i = 0; i < 1000 && receiver.span_count() < count; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }
  std::vector<nlohmann::json> lines;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// The receiver writes times as OTLP/JSON does: decimal strings.
std::int64_t nanos(const nlohmann::json& span, const char* key) {
  return std::stoll(span[key].get<std::string>());
}

// A running shim takes the task: no daemon is forked, and start_shim leaves
// from `start` itself (through a detached child), from when `start` began.
TEST(StartTracing, WithoutADaemonStartExportsItsOwnSpan) {
  ShimFlags flags;
  flags.id = "reused";
  flags.namespace_name = "ns";
  std::int64_t before = 0;
  auto spans = received(
      [&](const std::string& endpoint) {
        before = otel::now_unix_nano();
        StartTrace trace(flags, ShimInfo{"wasmshim", "1", "r", "v1"},
                         otel::OtlpConfig::for_endpoint(endpoint), /*spawning=*/false);
        EXPECT_EQ(trace.start_exit_fd(), -1);
      },
      1);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0]["name"], "start_shim");
  EXPECT_EQ(spans[0]["attributes"]["container.id"], "reused");
  EXPECT_EQ(spans[0]["attributes"]["containerd.namespace"], "ns");
  EXPECT_GE(nanos(spans[0], "start_unix_nano"), before);
  EXPECT_GE(nanos(spans[0], "end_unix_nano"), nanos(spans[0], "start_unix_nano"));
}

// The daemon could not be forked: nobody else will record start_shim, so
// `start` does, from when it began, with what went wrong.
TEST(StartTracing, AFailedSpawnExportsTheSpanWithItsError) {
  ShimFlags flags;
  flags.id = "unborn";
  std::int64_t before = 0;
  std::int64_t failed_at = 0;
  auto spans = received(
      [&](const std::string& endpoint) {
        before = otel::now_unix_nano();
        StartTrace trace(flags, ShimInfo{"wasmshim", "1", "r", "v1"},
                         otel::OtlpConfig::for_endpoint(endpoint), /*spawning=*/true);
        EXPECT_GE(trace.start_exit_fd(), 0);
        std::this_thread::sleep_for(20ms);
        failed_at = otel::now_unix_nano();
        trace.fail("forking the shim daemon: Resource temporarily unavailable");
      },
      1);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0]["name"], "start_shim");
  EXPECT_EQ(spans[0]["attributes"]["container.id"], "unborn");
  EXPECT_EQ(spans[0]["status"]["code"], 2);
  EXPECT_EQ(spans[0]["status"]["message"],
            "forking the shim daemon: Resource temporarily unavailable");
  // Begun when `start` did, not when the failure was seen.
  EXPECT_GE(nanos(spans[0], "start_unix_nano"), before);
  EXPECT_LT(nanos(spans[0], "start_unix_nano"), failed_at);
}

}  // namespace
}  // namespace wasmshim::shim