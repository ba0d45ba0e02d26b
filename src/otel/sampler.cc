#include "wasmshim/otel/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wasmshim::otel {
namespace {

class AlwaysOn final : public Sampler {
 public:
  SamplingResult should_sample(const SpanContext&, const TraceId&, std::string_view, SpanKind,
                               const Attributes&) const override {
    return {SamplingDecision::record_and_sample, {}};
  }
  std::string description() const override { return "AlwaysOnSampler"; }
};

class AlwaysOff final : public Sampler {
 public:
  SamplingResult should_sample(const SpanContext&, const TraceId&, std::string_view, SpanKind,
                               const Attributes&) const override {
    return {SamplingDecision::drop, {}};
  }
  std::string description() const override { return "AlwaysOffSampler"; }
};

// Compares the trace id's last 8 bytes (the random part W3C level 2 asks
// for) with the ratio scaled to 63 bits, as other SDKs do, so a trace is
// sampled alike in every process that uses the same ratio.
class TraceIdRatio final : public Sampler {
 public:
  explicit TraceIdRatio(double ratio)
      : ratio_(std::clamp(std::isnan(ratio) ? 0.0 : ratio, 0.0, 1.0)) {
    constexpr double kScale = 9223372036854775808.0;  // 2^63
    bound_ = ratio_ >= 1.0 ? UINT64_MAX : static_cast<std::uint64_t>(ratio_ * kScale);
  }
  SamplingResult should_sample(const SpanContext&, const TraceId& trace_id, std::string_view,
                               SpanKind, const Attributes&) const override {
    std::uint64_t value = 0;
    for (std::size_t i = 8; i < 16; ++i) {
      value = value << 8 | trace_id.bytes[i];
    }
    value >>= 1;
    bool sampled = ratio_ >= 1.0 || value < bound_;
    return {sampled ? SamplingDecision::record_and_sample : SamplingDecision::drop, {}};
  }
  std::string description() const override {
    char text[64];
    std::snprintf(text, sizeof(text), "TraceIdRatioBased{%.6f}", ratio_);
    return text;
  }

 private:
  double ratio_;
  std::uint64_t bound_ = 0;
};

class ParentBased final : public Sampler {
 public:
  explicit ParentBased(std::shared_ptr<Sampler> root) : root_(std::move(root)) {}
  SamplingResult should_sample(const SpanContext& parent, const TraceId& trace_id,
                               std::string_view name, SpanKind kind,
                               const Attributes& attributes) const override {
    if (!parent.valid()) {
      return root_->should_sample(parent, trace_id, name, kind, attributes);
    }
    return {parent.sampled() ? SamplingDecision::record_and_sample : SamplingDecision::drop, {}};
  }
  std::string description() const override {
    return "ParentBased{root:" + root_->description() + "}";
  }

 private:
  std::shared_ptr<Sampler> root_;
};

}  // namespace

std::shared_ptr<Sampler> make_always_on_sampler() {
  return std::make_shared<AlwaysOn>();
}
std::shared_ptr<Sampler> make_always_off_sampler() {
  return std::make_shared<AlwaysOff>();
}
std::shared_ptr<Sampler> make_trace_id_ratio_sampler(double ratio) {
  return std::make_shared<TraceIdRatio>(ratio);
}
std::shared_ptr<Sampler> make_parent_based_sampler(std::shared_ptr<Sampler> root) {
  return std::make_shared<ParentBased>(root ? std::move(root) : make_always_on_sampler());
}

}  // namespace wasmshim::otel
