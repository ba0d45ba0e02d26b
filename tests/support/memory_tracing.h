#pragma once

// The process's tracer provider, for as long as this object lives: one
// whose spans are exported to memory as each ends, for tests of what
// instrumented code records.

#include <memory>

#include "wasmshim/otel/exporter.h"
#include "wasmshim/otel/processor.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::testing {

class MemoryTracing {
 public:
  MemoryTracing() {
    auto memory = std::make_unique<otel::InMemorySpanExporter>();
    spans_ = memory.get();
    otel::TracerProviderOptions options;
    options.processors.push_back(std::make_shared<otel::SimpleSpanProcessor>(std::move(memory)));
    provider_ = std::make_shared<otel::TracerProvider>(std::move(options));
    otel::set_global_tracer_provider(provider_);
  }
  ~MemoryTracing() { otel::set_global_tracer_provider(nullptr); }
  MemoryTracing(const MemoryTracing&) = delete;
  MemoryTracing& operator=(const MemoryTracing&) = delete;

  // The spans ended so far. The exporter lives as long as this object.
  otel::InMemorySpanExporter& spans() const { return *spans_; }

 private:
  otel::InMemorySpanExporter* spans_ = nullptr;
  std::shared_ptr<otel::TracerProvider> provider_;
};

}  // namespace wasmshim::testing
