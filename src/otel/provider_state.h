// State shared by a tracer provider, its tracers and their live spans.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "wasmshim/otel/processor.h"
#include "wasmshim/otel/sampler.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel::detail {

struct ProviderState {
  std::shared_ptr<Sampler> sampler;
  std::shared_ptr<const Resource> resource;
  SpanLimits limits;
  std::vector<std::shared_ptr<SpanProcessor>> processors;
  std::atomic<bool> shut_down{false};

  // Hands a finished span to every processor (copies for all but the last).
  void finish(SpanData&& span) const;
};

struct SpanState {
  std::mutex mutex;
  SpanData data;
  bool ended = false;
  std::shared_ptr<const ProviderState> provider;
};

}  // namespace wasmshim::otel::detail
