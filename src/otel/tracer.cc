#include "wasmshim/otel/tracer.h"

#include <pthread.h>

#include <mutex>

#include "provider_state.h"

namespace wasmshim::otel {
namespace detail {

void ProviderState::finish(SpanData&& span) const {
  if (processors.empty()) {
    return;
  }
  for (std::size_t i = 0; i + 1 < processors.size(); ++i) {
    SpanData copy = span;
    processors[i]->on_end(std::move(copy));
  }
  processors.back()->on_end(std::move(span));
}

}  // namespace detail

Tracer::Tracer(std::shared_ptr<detail::ProviderState> provider,
               std::shared_ptr<const InstrumentationScope> scope)
    : provider_(std::move(provider)), scope_(std::move(scope)) {}

Span Tracer::start_span(std::string name, SpanOptions options) const {
  const Context parent = options.parent ? std::move(*options.parent) : Context::current();
  if (!provider_ || provider_->shut_down.load(std::memory_order_acquire)) {
    // Non-recording, but children and propagation still see the parent.
    return Span(parent.span, nullptr);
  }
  SpanContext context;
  context.trace_id = parent.span.valid() ? parent.span.trace_id : random_trace_id();
  context.span_id = random_span_id();
  context.trace_state = parent.span.trace_state;

  SamplingResult sampling = provider_->sampler->should_sample(parent.span, context.trace_id, name,
                                                              options.kind, options.attributes);
  if (sampling.decision == SamplingDecision::record_and_sample) {
    context.flags = static_cast<std::uint8_t>(parent.span.flags | kSampledFlag);
  } else {
    context.flags = static_cast<std::uint8_t>(parent.span.flags & ~kSampledFlag);
  }
  if (sampling.decision == SamplingDecision::drop) {
    return Span(std::move(context), nullptr);
  }

  auto state = std::make_unique<detail::SpanState>();
  state->provider = provider_;
  SpanData& data = state->data;
  data.context = context;
  if (parent.span.valid()) {
    data.parent_span_id = parent.span.span_id;
    data.parent_remote = parent.span.remote;
  }
  data.name = std::move(name);
  data.kind = options.kind;
  data.start_unix_nano = options.start_unix_nano != 0 ? options.start_unix_nano : now_unix_nano();
  data.scope = scope_;
  data.resource = provider_->resource;
  const SpanLimits& limits = provider_->limits;
  auto add_all = [&](Attributes& attributes) {
    for (auto& attribute : attributes) {
      if (!put_attribute(data.attributes, attribute.key, std::move(attribute.value),
                         limits.attribute_count, limits.attribute_value_length)) {
        ++data.dropped_attributes;
      }
    }
  };
  add_all(options.attributes);
  add_all(sampling.attributes);
  Span span(std::move(context), std::move(state));
  for (auto& link : options.links) {
    span.add_link(link.context, std::move(link.attributes));
  }
  return span;
}

TracerProvider::TracerProvider(TracerProviderOptions options)
    : state_(std::make_shared<detail::ProviderState>()) {
  state_->sampler = options.sampler ? std::move(options.sampler)
                                    : make_parent_based_sampler(make_always_on_sampler());
  state_->resource = std::make_shared<const Resource>(std::move(options.resource));
  state_->limits = options.limits;
  state_->processors = std::move(options.processors);
}

TracerProvider::~TracerProvider() {
  shutdown(std::chrono::seconds(5));
}

Tracer TracerProvider::tracer(std::string name, std::string version) {
  return Tracer(state_, std::make_shared<const InstrumentationScope>(
                            InstrumentationScope{std::move(name), std::move(version)}));
}

bool TracerProvider::force_flush(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  bool all = true;
  for (const auto& processor : state_->processors) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    all = processor->force_flush(std::max(left, std::chrono::milliseconds(0))) && all;
  }
  return all;
}

bool TracerProvider::shutdown(std::chrono::milliseconds timeout) {
  if (state_->shut_down.exchange(true)) {
    return true;
  }
  auto deadline = Clock::now() + timeout;
  bool all = true;
  for (const auto& processor : state_->processors) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    all = processor->shutdown(std::max(left, std::chrono::milliseconds(0))) && all;
  }
  return all;
}

void TracerProvider::start_due_exports() {
  for (const auto& processor : state_->processors) {
    processor->start_due_exports();
  }
}

std::vector<int> TracerProvider::due_fds() const {
  std::vector<int> fds;
  for (const auto& processor : state_->processors) {
    if (processor->due_fd() >= 0) {
      fds.push_back(processor->due_fd());
    }
  }
  return fds;
}

const Resource& TracerProvider::resource() const {
  return *state_->resource;
}

void TracerProvider::submit(SpanData&& span) {
  if (state_->shut_down.load(std::memory_order_acquire)) {
    return;
  }
  if (!span.resource) {
    span.resource = state_->resource;
  }
  state_->finish(std::move(span));
}

namespace {

// The process's one tracer provider (see tracer.h).
std::mutex global_mutex;
std::shared_ptr<TracerProvider> global_provider;

// A child forked while another thread held the lock would never get it.
const bool global_fork_handlers = [] {
  pthread_atfork([] { global_mutex.lock(); }, [] { global_mutex.unlock(); },
                 [] { global_mutex.unlock(); });
  return true;
}();

}  // namespace

void set_global_tracer_provider(std::shared_ptr<TracerProvider> provider) {
  (void)global_fork_handlers;
  std::lock_guard lock(global_mutex);
  global_provider = std::move(provider);
}

std::shared_ptr<TracerProvider> global_tracer_provider() {
  std::lock_guard lock(global_mutex);
  return global_provider;
}

Tracer global_tracer(std::string name, std::string version) {
  auto provider = global_tracer_provider();
  return provider ? provider->tracer(std::move(name), std::move(version)) : Tracer();
}

}  // namespace wasmshim::otel
