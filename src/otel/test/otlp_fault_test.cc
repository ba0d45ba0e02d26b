// The whole pipeline (spans -> batch processor -> OTLP exporter) against a
// collector that misbehaves: absent, hanging, 503 then 200, 400. In each,
// ending spans never waits for the network, shutdown keeps its deadline, and
// the counts of delivered, retried and dropped spans are what they must be.
#include <gtest/gtest.h>

#include "fake_collectors.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::FakeHttpCollector;

struct Pipeline {
  std::shared_ptr<BatchSpanProcessor> processor;
  std::shared_ptr<TracerProvider> provider;
  Tracer tracer;

  Pipeline(OtlpConfig config, BatchOptions batch) {
    config.retry = {4, 20ms, 100ms, 2.0};
    processor = std::make_shared<BatchSpanProcessor>(
        make_otlp_exporter(config, [](std::string_view) {}), batch, [](std::string_view) {});
    TracerProviderOptions options;
    options.processors.push_back(processor);
    provider = std::make_shared<TracerProvider>(std::move(options));
    tracer = provider->tracer("fault-test");
  }

  // Ends `count` spans; returns how long the program's own thread took.
  Clock::duration end_spans(int count) {
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
      auto span = tracer.start_span("work");
      span.set_attribute("i", std::int64_t{i});
    }
    return Clock::now() - start;
  }

  // Shuts down; returns how long it took.
  Clock::duration shutdown(std::chrono::milliseconds deadline) {
    const auto start = Clock::now();
    provider->shutdown(deadline);
    return Clock::now() - start;
  }
};

OtlpConfig config_for(const std::string& url, std::chrono::milliseconds timeout) {
  auto config = OtlpConfig::for_endpoint(url);
  config.timeout = timeout;
  return config;
}

// The bounds below are hang guards far above any honest duration: the
// assertions that matter are the counts.
constexpr auto kHangGuard = 5s;

TEST(OtlpFaults, AbsentCollector) {
  std::string url;
  {
    FakeHttpCollector gone;
    url = gone.url();
  }
  Pipeline pipeline(config_for(url, 500ms), {2048, 10ms, 2s, 64});
  EXPECT_LT(pipeline.end_spans(200), kHangGuard);
  EXPECT_LT(pipeline.shutdown(1s), kHangGuard);
  auto stats = pipeline.processor->stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.queued, 200u);
  EXPECT_EQ(stats.dropped_export_failed + stats.dropped_at_shutdown, 200u);
}

TEST(OtlpFaults, HangingCollector) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::hang}});
  Pipeline pipeline(config_for(collector.url(), 300ms), {100, 10ms, 2s, 50});
  // The queue holds 100; the export thread is stuck on the first batch, so
  // ending 1000 spans fills the queue and the rest are dropped, not waited on.
  EXPECT_LT(pipeline.end_spans(1000), kHangGuard);
  EXPECT_LT(pipeline.shutdown(800ms), kHangGuard);
  auto stats = pipeline.processor->stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_GT(stats.dropped_queue_full, 0u);
  EXPECT_EQ(stats.queued + stats.dropped_queue_full, 1000u);
  EXPECT_EQ(stats.dropped_export_failed + stats.dropped_at_shutdown, stats.queued);
  EXPECT_GE(collector.received().size(), 1u);
}

TEST(OtlpFaults, ServiceUnavailableThenOk) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::status, 503}, {Answer::Kind::status, 503}, {}});
  Pipeline pipeline(config_for(collector.url(), 5s), {2048, 60s, 5s, 512});
  EXPECT_LT(pipeline.end_spans(100), kHangGuard);
  EXPECT_LT(pipeline.shutdown(5s), kHangGuard);
  auto stats = pipeline.processor->stats();
  EXPECT_EQ(stats.exported, 100u);
  EXPECT_EQ(stats.dropped_export_failed, 0u);
  // One batch, tried three times; the collector holds it three times over.
  EXPECT_EQ(collector.received().size(), 3u);
  EXPECT_EQ(collector.span_count(), 300u);
}

TEST(OtlpFaults, BadRequestIsNotRetried) {
  FakeHttpCollector collector;
  collector.script({{Answer::Kind::status, 400}});
  Pipeline pipeline(config_for(collector.url(), 5s), {2048, 60s, 5s, 512});
  EXPECT_LT(pipeline.end_spans(100), kHangGuard);
  EXPECT_LT(pipeline.shutdown(5s), kHangGuard);
  auto stats = pipeline.processor->stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.dropped_export_failed, 100u);
  EXPECT_EQ(collector.received().size(), 1u);
}

}  // namespace
}  // namespace wasmshim::otel
