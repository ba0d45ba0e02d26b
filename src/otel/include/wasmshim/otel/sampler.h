// Samplers decide at span start whether a span is recorded and exported.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "wasmshim/otel/attributes.h"
#include "wasmshim/otel/ids.h"
#include "wasmshim/otel/span_data.h"

namespace wasmshim::otel {

enum class SamplingDecision { drop, record_only, record_and_sample };

struct SamplingResult {
  SamplingDecision decision = SamplingDecision::drop;
  Attributes attributes;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // `parent` is the parent span's context (invalid for a root span).
  virtual SamplingResult should_sample(const SpanContext& parent, const TraceId& trace_id,
                                       std::string_view name, SpanKind kind,
                                       const Attributes& attributes) const = 0;
  virtual std::string description() const = 0;
};

std::shared_ptr<Sampler> make_always_on_sampler();
std::shared_ptr<Sampler> make_always_off_sampler();
// Samples a fixed share of traces, decided from the trace id alone so every
// process in a trace agrees. `ratio` outside [0, 1] is clamped.
std::shared_ptr<Sampler> make_trace_id_ratio_sampler(double ratio);
// Follows the parent's decision; `root` decides for root spans.
std::shared_ptr<Sampler> make_parent_based_sampler(std::shared_ptr<Sampler> root);

}  // namespace wasmshim::otel
