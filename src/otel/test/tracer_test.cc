#include "wasmshim/otel/tracer.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

// A provider exporting synchronously into memory.
struct Recorder {
  InMemorySpanExporter* exporter = nullptr;
  std::shared_ptr<TracerProvider> provider;

  explicit Recorder(std::shared_ptr<Sampler> sampler = nullptr, SpanLimits limits = {}) {
    auto memory = std::make_unique<InMemorySpanExporter>();
    exporter = memory.get();
    TracerProviderOptions options;
    options.sampler = std::move(sampler);
    options.limits = limits;
    options.resource.attributes.push_back({"service.name", std::string("test")});
    options.processors.push_back(std::make_shared<SimpleSpanProcessor>(std::move(memory)));
    provider = std::make_shared<TracerProvider>(std::move(options));
  }
  Tracer tracer() { return provider->tracer("test-scope", "1.2.3"); }
  std::vector<SpanData> spans() const { return exporter->spans(); }
};

TEST(Tracer, RecordsASpanWithEverything) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  SpanContext linked{random_trace_id(), random_span_id(), 1, {}, true};
  {
    auto span = tracer.start_span(
        "work", {.kind = SpanKind::server, .attributes = {{"initial", std::int64_t{1}}}});
    EXPECT_TRUE(span.recording());
    span.set_attribute("bool", true)
        .set_attribute("int", std::int64_t{-7})
        .set_attribute("double", 2.5)
        .set_attribute("string", "text")
        .set_attribute("bools", std::vector<bool>{true, false})
        .set_attribute("ints", std::vector<std::int64_t>{1, 2})
        .set_attribute("doubles", std::vector<double>{0.5})
        .set_attribute("strings", std::vector<std::string>{"a", "b"});
    span.add_event("checkpoint", {{"step", std::int64_t{3}}});
    span.add_link(linked, {{"why", "batch"}});
    span.set_status(StatusCode::error, "it broke");
  }
  auto spans = recorder.spans();
  ASSERT_EQ(spans.size(), 1u);
  const auto& span = spans[0];
  EXPECT_EQ(span.name, "work");
  EXPECT_EQ(span.kind, SpanKind::server);
  EXPECT_EQ(span.attributes.size(), 9u);
  EXPECT_EQ(to_string(*find_attribute(span.attributes, "strings")), "[a, b]");
  EXPECT_EQ(std::get<std::string>(*find_attribute(span.attributes, "string")), "text");
  ASSERT_EQ(span.events.size(), 1u);
  EXPECT_EQ(span.events[0].name, "checkpoint");
  ASSERT_EQ(span.links.size(), 1u);
  EXPECT_EQ(span.links[0].context, linked);
  EXPECT_EQ(span.status, StatusCode::error);
  EXPECT_EQ(span.status_message, "it broke");
  EXPECT_GE(span.end_unix_nano, span.start_unix_nano);
  EXPECT_EQ(span.scope->name, "test-scope");
  EXPECT_EQ(span.scope->version, "1.2.3");
  EXPECT_FALSE(span.parent_span_id.valid());
}

TEST(Tracer, StatusRulesFollowTheSpec) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  {
    auto span = tracer.start_span("ok-is-final");
    span.set_status(StatusCode::ok, "ignored message");
    span.set_status(StatusCode::error, "too late");
  }
  {
    auto span = tracer.start_span("unset-does-not-override");
    span.set_status(StatusCode::error, "bad");
    span.set_status(StatusCode::unset);
  }
  {
    auto span = tracer.start_span("record-error");
    span.record_error("boom");
  }
  auto spans = recorder.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].status, StatusCode::ok);
  EXPECT_EQ(spans[0].status_message, "");
  EXPECT_EQ(spans[1].status, StatusCode::error);
  EXPECT_EQ(spans[2].status, StatusCode::error);
  ASSERT_EQ(spans[2].events.size(), 1u);
  EXPECT_EQ(spans[2].events[0].name, "exception");
}

TEST(Tracer, ChildrenFollowTheCurrentSpanAndScopesRestore) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  SpanContext parent_context;
  {
    auto parent = tracer.start_span("parent");
    parent_context = parent.context();
    auto scope = parent.activate();
    EXPECT_EQ(Context::current().span, parent_context);
    auto child = tracer.start_span("child");
    EXPECT_EQ(child.context().trace_id, parent_context.trace_id);
    {
      auto inner = child.activate();
      tracer.start_span("grandchild").end();
    }
    EXPECT_EQ(Context::current().span, parent_context);
  }
  EXPECT_FALSE(Context::current().span.valid());
  auto spans = recorder.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].name, "grandchild");
  EXPECT_EQ(spans[0].parent_span_id, spans[1].context.span_id);
  EXPECT_EQ(spans[1].parent_span_id, parent_context.span_id);
  EXPECT_EQ(spans[2].name, "parent");
}

TEST(Tracer, ContextCarriesAcrossThreads) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  auto parent = tracer.start_span("parent");
  Context captured;
  {
    auto scope = parent.activate();
    captured = Context::current();
  }
  std::thread worker([&] {
    EXPECT_FALSE(Context::current().span.valid());
    ContextScope scope(captured);
    tracer.start_span("on-worker").end();
  });
  worker.join();
  parent.end();
  auto spans = recorder.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].parent_span_id, parent.context().span_id);
}

TEST(Tracer, ExplicitParentAndExplicitRoot) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  Context remote;
  remote.span = {random_trace_id(), random_span_id(), kSampledFlag, {}, true};
  auto current = tracer.start_span("current");
  auto scope = current.activate();
  tracer.start_span("remote-child", {.parent = remote}).end();
  tracer.start_span("root", {.parent = Context{}}).end();
  auto spans = recorder.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].context.trace_id, remote.span.trace_id);
  EXPECT_TRUE(spans[0].parent_remote);
  EXPECT_NE(spans[1].context.trace_id, current.context().trace_id);
  EXPECT_FALSE(spans[1].parent_span_id.valid());
}

TEST(Tracer, LimitsDropAndCount) {
  SpanLimits limits{2, 4, 1, 1, 1, 1};
  Recorder recorder(nullptr, limits);
  auto tracer = recorder.tracer();
  {
    auto span = tracer.start_span("limited");
    span.set_attribute("a", "abcdefgh").set_attribute("b", 1.0).set_attribute("c", 2.0);
    span.set_attribute("a", "xy");  // replacing an existing key is always allowed
    span.add_event("e1", {{"k1", true}, {"k2", false}}).add_event("e2");
    SpanContext other{random_trace_id(), random_span_id(), 1, {}, false};
    span.add_link(other).add_link(other);
  }
  auto span = recorder.spans().at(0);
  EXPECT_EQ(span.attributes.size(), 2u);
  EXPECT_EQ(span.dropped_attributes, 1u);
  EXPECT_EQ(std::get<std::string>(span.attributes[0].value), "xy");
  EXPECT_EQ(span.events.size(), 1u);
  EXPECT_EQ(span.dropped_events, 1u);
  EXPECT_EQ(span.events[0].dropped_attributes, 1u);
  EXPECT_EQ(span.links.size(), 1u);
  EXPECT_EQ(span.dropped_links, 1u);
}

TEST(Tracer, ValueLengthLimitKeepsUtf8Whole) {
  Recorder recorder(nullptr, SpanLimits{128, 3, 128, 128, 128, 128});
  recorder.tracer().start_span("s").set_attribute("k", "a\xc3\xa9z");  // "aéz"
  auto span = recorder.spans().at(0);
  EXPECT_EQ(std::get<std::string>(span.attributes[0].value), "a\xc3\xa9");
}

TEST(Tracer, SpansAfterShutdownAreNotRecorded) {
  Recorder recorder;
  auto tracer = recorder.tracer();
  recorder.provider->shutdown(std::chrono::seconds(1));
  auto span = tracer.start_span("late");
  EXPECT_FALSE(span.recording());
  span.end();
  EXPECT_TRUE(recorder.spans().empty());
}

TEST(Tracer, NoopTracerPropagatesTheParent) {
  Tracer noop;
  Context parent;
  parent.span = {random_trace_id(), random_span_id(), 1, {}, true};
  auto span = noop.start_span("x", {.parent = parent});
  EXPECT_FALSE(span.recording());
  EXPECT_EQ(span.context(), parent.span);
}

TEST(Sampler, AlwaysOffDropsButKeepsAContext) {
  Recorder recorder(make_always_off_sampler());
  auto span = recorder.tracer().start_span("dropped");
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE(span.context().valid());
  EXPECT_FALSE(span.context().sampled());
  span.end();
  EXPECT_TRUE(recorder.spans().empty());
}

TEST(Sampler, ParentBasedFollowsTheParent) {
  Recorder recorder(make_parent_based_sampler(make_always_off_sampler()));
  auto tracer = recorder.tracer();
  Context sampled_parent;
  sampled_parent.span = {random_trace_id(), random_span_id(), kSampledFlag, {}, true};
  Context unsampled_parent;
  unsampled_parent.span = {random_trace_id(), random_span_id(), 0, {}, true};
  EXPECT_TRUE(tracer.start_span("a", {.parent = sampled_parent}).recording());
  EXPECT_FALSE(tracer.start_span("b", {.parent = unsampled_parent}).recording());
  EXPECT_FALSE(tracer.start_span("root").recording());
}

TEST(Sampler, TraceIdRatioSamplesAboutTheRatioAndAgreesWithItself) {
  auto sampler = make_trace_id_ratio_sampler(0.25);
  int sampled = 0;
  constexpr int kTraces = 20000;
  for (int i = 0; i < kTraces; ++i) {
    auto id = random_trace_id();
    auto first = sampler->should_sample({}, id, "x", SpanKind::internal, {}).decision;
    auto again = sampler->should_sample({}, id, "y", SpanKind::client, {}).decision;
    EXPECT_EQ(first, again);
    sampled += first == SamplingDecision::record_and_sample ? 1 : 0;
  }
  EXPECT_GT(sampled, kTraces * 0.22);
  EXPECT_LT(sampled, kTraces * 0.28);
  EXPECT_EQ(make_trace_id_ratio_sampler(0)
                ->should_sample({}, random_trace_id(), "", SpanKind::internal, {})
                .decision,
            SamplingDecision::drop);
  EXPECT_EQ(make_trace_id_ratio_sampler(1)
                ->should_sample({}, random_trace_id(), "", SpanKind::internal, {})
                .decision,
            SamplingDecision::record_and_sample);
}

TEST(Ids, RandomIdsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = random_trace_id();
    EXPECT_TRUE(id.valid());
    EXPECT_TRUE(seen.insert(id.hex()).second);
  }
  EXPECT_EQ(TraceId::from_hex(random_trace_id().hex())->hex().size(), 32u);
  EXPECT_FALSE(SpanId::from_hex("123"));
}

TEST(Resource, EnvironmentOverridesTheProgram) {
  OtlpConfig config;
  config.resource_attributes = {{"service.name", std::string("attrs")}, {"team", std::string("x")}};
  ResourceInfo info{"wasmshim", "9.9"};
  auto resource = make_resource(config, info);
  EXPECT_EQ(std::get<std::string>(*find_attribute(resource.attributes, "service.name")), "attrs");
  EXPECT_EQ(std::get<std::string>(*find_attribute(resource.attributes, "service.version")), "9.9");
  EXPECT_EQ(std::get<std::string>(*find_attribute(resource.attributes, "telemetry.sdk.language")),
            "cpp");
  EXPECT_NE(find_attribute(resource.attributes, "process.pid"), nullptr);
  EXPECT_NE(find_attribute(resource.attributes, "host.name"), nullptr);
  config.service_name = "env-name";
  EXPECT_EQ(std::get<std::string>(
                *find_attribute(make_resource(config, info).attributes, "service.name")),
            "env-name");
  OtlpConfig plain;
  auto unknown = make_resource(plain, {});
  EXPECT_EQ(std::get<std::string>(*find_attribute(unknown.attributes, "service.name")),
            "unknown_service:otel_test");
}

}  // namespace
}  // namespace wasmshim::otel

namespace wasmshim::otel {
namespace {

TEST(ConsoleExporter, PrintsOneLinePerSpanAndEvent) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  TracerProviderOptions options;
  options.processors.push_back(std::make_shared<SimpleSpanProcessor>(make_console_exporter(out)));
  TracerProvider provider(std::move(options));
  std::string trace_id;
  {
    auto span = provider.tracer("console").start_span("load", {.kind = SpanKind::client});
    span.set_attribute("tier", "jit").add_event("cache-miss");
    span.set_status(StatusCode::error, "bad magic");
    trace_id = span.context().trace_id.hex();
  }
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_NE(text.find("span load trace=" + trace_id), std::string::npos) << text;
  EXPECT_NE(text.find("kind=CLIENT"), std::string::npos) << text;
  EXPECT_NE(text.find("status=ERROR message=\"bad magic\" tier=jit"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  event cache-miss\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace wasmshim::otel
