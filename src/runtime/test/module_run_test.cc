// How a module run ends, with a fake engine in place of the real one: the
// exit status, what is said on stderr, and the run's span.
#include "wasmshim/runtime/module_run.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#if WASMSHIM_OPENTELEMETRY
#include "support/memory_tracing.h"
#endif

namespace wasmshim::runtime {
namespace {

// A run of `steps` under a span of its own: the status, stderr and, when
// tracing is built in, the span as exported.
class RunModule : public ::testing::Test {
 protected:
  struct Ended {
    int status = 0;
    std::string said;
  };

  Ended run(ModuleRun module_run, const std::function<ModuleOutcome(ModuleRun&)>& steps) {
    ::testing::internal::CaptureStderr();
    int status = 0;
    {
      trace::ScopedSpan span("wasmshim.test", "run");
      status = run_module(module_run, span, steps);
    }
    return {status, ::testing::internal::GetCapturedStderr()};
  }

#if WASMSHIM_OPENTELEMETRY
  // The one span the run ended.
  otel::SpanData span() const {
    const auto ended = tracing_.spans().spans();
    EXPECT_EQ(ended.size(), 1U);
    return ended.empty() ? otel::SpanData{} : ended.front();
  }

  wasmshim::testing::MemoryTracing tracing_;
#endif
};

TEST_F(RunModule, PassesTheGuestsExitStatusOnAndSaysNothing) {
  const Ended ended = run({"/app.wasm", {}}, [](ModuleRun&) { return ModuleOutcome{3, {}}; });
  EXPECT_EQ(ended.status, 3);
  EXPECT_EQ(ended.said, "");
#if WASMSHIM_OPENTELEMETRY
  EXPECT_EQ(span().status, otel::StatusCode::unset);
#endif
}

TEST_F(RunModule, SaysATrapByTheModulesNameAndFailsTheSpan) {
  const Ended ended = run({"/app.wasm", {}}, [](ModuleRun&) {
    return ModuleOutcome{134, "integer divide by zero"};
  });
  EXPECT_EQ(ended.status, 134);
  EXPECT_EQ(ended.said, "wasmshim: /app.wasm: wasm trap: integer divide by zero\n");
#if WASMSHIM_OPENTELEMETRY
  EXPECT_EQ(span().status, otel::StatusCode::error);
  EXPECT_EQ(span().status_message, "wasm trap: integer divide by zero");
#endif
}

TEST_F(RunModule, WhatKeptTheModuleFromRunningEndsWith125AndNamesFilesAsTheContainerSeesThem) {
  const Ended ended = run({"/app.wasm", {}}, [](ModuleRun& run) -> ModuleOutcome {
    run.host_root = "/run/bundle/rootfs";
    throw std::runtime_error("/run/bundle/rootfs/app.wasm: offset 8: malformed module");
  });
  EXPECT_EQ(ended.status, kCannotRun);
  EXPECT_EQ(ended.said, "wasmshim: /app.wasm: offset 8: malformed module\n");
#if WASMSHIM_OPENTELEMETRY
  EXPECT_EQ(span().status, otel::StatusCode::error);
  EXPECT_EQ(span().status_message, "/app.wasm: offset 8: malformed module");
#endif
}

TEST(AsContainerSeesIt, CutsTheHostRootFromEveryPathAndNothingElse) {
  EXPECT_EQ(as_container_sees_it("/r/a.wasm and /r/b/c", "/r"), "/a.wasm and /b/c");
  EXPECT_EQ(as_container_sees_it("/r/a.wasm", "/r/"), "/a.wasm");
  EXPECT_EQ(as_container_sees_it("/rx/a.wasm", "/r"), "/rx/a.wasm");
  EXPECT_EQ(as_container_sees_it("/r/a.wasm", ""), "/r/a.wasm");
  EXPECT_EQ(as_container_sees_it("/a.wasm", "/"), "/a.wasm");
}

}  // namespace
}  // namespace wasmshim::runtime
