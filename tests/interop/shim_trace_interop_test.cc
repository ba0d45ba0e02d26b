// The shim's Task service called by the Go ttrpc library (containerd's), with
// a W3C traceparent in the request metadata: the shim's span continues the
// caller's trace.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/memory_tracing.h"
#include "support/temp_dir.h"
#include "task_service.h"
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;

std::string to_hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

TEST(ShimTraceInterop, GoClientTraceparentIsContinued) {
  wasmshim::testing::MemoryTracing tracing;
  auto* spans = &tracing.spans();

  TaskServiceOptions service_options;
  service_options.create_instance = [](const InstanceConfig&) -> std::unique_ptr<Instance> {
    return nullptr;
  };
  service_options.version = "interop";
  TaskService service(std::move(service_options));
  wasmshim::testing::TempDir dir;
  ttrpc::Server server;
  service.register_with(server);
  server.listen(dir.socket());

  const otel::SpanContext caller{
      otel::random_trace_id(), otel::random_span_id(), otel::kSampledFlag, {}, true};
  task::ConnectRequest request;
  request.set_id("from-go");
  auto result = wasmshim::testing::run(
      {GO_TTRPC_PEER, "rawcall", dir.socket(), "containerd.task.v2.Task", "Connect",
       to_hex(request.SerializeAsString()), "traceparent=" + otel::format_traceparent(caller)});
  ASSERT_EQ(result.status, 0) << result.out;
  auto answer = nlohmann::json::parse(result.out);
  EXPECT_EQ(answer["code"], 0) << result.out;
  server.shutdown(1s);

  const otel::SpanData* rpc = nullptr;
  auto finished = spans->spans();
  for (const auto& span : finished) {
    if (span.name == "containerd.task.v2.Task/Connect") {
      rpc = &span;
    }
  }
  ASSERT_NE(rpc, nullptr);
  EXPECT_EQ(rpc->context.trace_id, caller.trace_id);
  EXPECT_EQ(rpc->parent_span_id, caller.span_id);
  EXPECT_EQ(std::get<std::string>(*otel::find_attribute(rpc->attributes, "container.id")),
            "from-go");
}

}  // namespace
}  // namespace wasmshim::shim
