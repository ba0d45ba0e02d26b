// Tracing benchmarks.
//
//  1. Cost of a span (start, three attributes, end) on the program's own
//     thread, sampled and unsampled, against the OpenTelemetry JS SDK doing
//     the same in the same run (node, sdk-trace-base) and against no tracing.
//  2. Export throughput per protocol (http/protobuf, http/json, grpc) to the
//     OTLP receiver on loopback, as spans per second and as ratios.
//
// Prints figures and ratios; never a pass/fail.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/child_process.h"
#include "wasmshim/otel/otlp.h"
#include "wasmshim/otel/receiver.h"

namespace {

using namespace wasmshim::otel;
using namespace std::chrono_literals;

class DiscardExporter final : public SpanExporter {
 public:
  ExportResult export_spans(std::span<const SpanData>, Clock::time_point) override {
    return ExportResult::success;
  }
  void shutdown() override {}
};

template <class Body>
double ns_per_iteration(int iterations, Body&& body) {
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    body(i);
  }
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()) /
         iterations;
}

double span_cost(const Tracer& tracer, int spans) {
  auto one = [&](int i) {
    auto span = tracer.start_span("op");
    span.set_attribute("container.id", "abc");
    span.set_attribute("exit_code", std::int64_t{i});
    span.set_attribute("cached", true);
  };
  ns_per_iteration(std::min(spans, 20000), one);  // warm up
  return ns_per_iteration(spans, one);
}

double our_span_cost(bool sampled, int spans) {
  TracerProviderOptions options;
  options.sampler = sampled ? make_always_on_sampler() : make_always_off_sampler();
  options.processors.push_back(std::make_shared<BatchSpanProcessor>(
      std::make_unique<DiscardExporter>(), BatchOptions{1 << 20, 5000ms, 30000ms, 512}));
  TracerProvider provider(std::move(options));
  return span_cost(provider.tracer("bench"), spans);
}

double js_span_cost(bool sampled, int spans) {
  auto result = wasmshim::testing::run({WASMSHIM_NODE, WASMSHIM_JS_BENCH, WASMSHIM_NODE_MODULES,
                                        std::to_string(spans), sampled ? "1" : "0"});
  if (result.status != 0) {
    return 0;
  }
  return std::strtod(result.out.c_str(), nullptr);
}

double export_throughput(OtlpProtocol protocol, int spans) {
  OtlpReceiver receiver({"127.0.0.1:0", "127.0.0.1:0", "", nullptr, 3600s});
  const std::string endpoint =
      protocol == OtlpProtocol::grpc
          ? "http://127.0.0.1:" + std::to_string(receiver.grpc_port())
          : "http://127.0.0.1:" + std::to_string(receiver.http_port()) + "/v1/traces";
  auto config = OtlpConfig::for_endpoint(endpoint, protocol);
  auto processor = std::make_shared<BatchSpanProcessor>(
      make_otlp_exporter(config),
      BatchOptions{static_cast<std::size_t>(spans), 10ms, 30000ms, 512});
  TracerProviderOptions options;
  options.processors.push_back(processor);
  TracerProvider provider(std::move(options));
  auto tracer = provider.tracer("bench");
  const auto start = Clock::now();
  for (int i = 0; i < spans; ++i) {
    auto span = tracer.start_span("op");
    span.set_attribute("container.id", "abc");
    span.set_attribute("exit_code", std::int64_t{i});
    span.set_attribute("cached", true);
  }
  provider.force_flush(120s);
  while (receiver.span_count() < static_cast<std::size_t>(spans) && Clock::now() - start < 120s) {
    std::this_thread::sleep_for(1ms);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (processor->stats().exported != static_cast<std::uint64_t>(spans)) {
    std::fprintf(stderr, "warning: %" PRIu64 " of %d spans exported\n", processor->stats().exported,
                 spans);
  }
  return static_cast<double>(receiver.span_count()) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int spans = argc > 1 ? std::atoi(argv[1]) : 1000000;
    const int export_spans = argc > 2 ? std::atoi(argv[2]) : 200000;
    const double noop = span_cost(Tracer(), spans);
    const double sampled = our_span_cost(true, spans);
    const double unsampled = our_span_cost(false, spans);
    const double js_sampled = js_span_cost(true, spans);
    const double js_unsampled = js_span_cost(false, spans);
    std::printf("span cost (start, 3 attributes, end), %d spans, ns per span:\n", spans);
    std::printf("  %-26s %10s %10s %12s\n", "", "wasmshim", "otel-js", "wasmshim/js");
    std::printf("  %-26s %10.0f %10.0f %12.2f\n", "sampled (batch processor)", sampled, js_sampled,
                js_sampled > 0 ? sampled / js_sampled : 0.0);
    std::printf("  %-26s %10.0f %10.0f %12.2f\n", "unsampled (always_off)", unsampled, js_unsampled,
                js_unsampled > 0 ? unsampled / js_unsampled : 0.0);
    std::printf("  %-26s %10.0f\n", "no tracer provider", noop);
    std::printf("  sampled / unsampled: %.1f\n\n", sampled / unsampled);

    std::printf("export throughput to the OTLP receiver on loopback, %d spans:\n", export_spans);
    const double protobuf = export_throughput(OtlpProtocol::http_protobuf, export_spans);
    const double json = export_throughput(OtlpProtocol::http_json, export_spans);
    const double grpc = export_throughput(OtlpProtocol::grpc, export_spans);
    std::printf("  %-14s %12.0f spans/s  1.00\n", "http/protobuf", protobuf);
    std::printf("  %-14s %12.0f spans/s  %.2f\n", "http/json", json, json / protobuf);
    std::printf("  %-14s %12.0f spans/s  %.2f\n", "grpc", grpc, grpc / protobuf);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otel_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
