#include "wasmshim/otel/session.h"

#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/span_stream.h"

namespace wasmshim::otel {

TracingSession::TracingSession(SessionOptions options) {
  std::vector<std::string> errors = std::move(options.config_errors);
  if (options.config) {
    config_ = *options.config;
  } else {
    auto from_env = otlp_config_from_env();
    config_ = std::move(from_env.config);
    errors = std::move(from_env.errors);
  }
  for (const auto& error : errors) {
    options.log(error + "; tracing is off");
  }
  deadline_ = std::min(config_.timeout, options.max_shutdown);
  config_.batch.thread_when_due = options.thread_when_due;
  if (options.stream_fd >= 0) {
    TracerProviderOptions provider;
    provider.sampler = make_sampler(config_);
    provider.resource = make_resource(config_, options.resource);
    provider.limits = config_.limits;
    provider.processors.push_back(
        std::make_shared<SimpleSpanProcessor>(make_stream_exporter(options.stream_fd)));
    provider_ = std::make_shared<TracerProvider>(std::move(provider));
  } else {
    provider_ = make_tracer_provider(config_, options.resource, options.log);
  }
  if (provider_) {
    set_global_tracer_provider(provider_);
  }
}

TracingSession::~TracingSession() {
  shutdown();
}

bool TracingSession::shutdown() {
  return shutdown(deadline_);
}

bool TracingSession::shutdown(std::chrono::milliseconds limit) {
  if (!provider_) {
    return true;
  }
  set_global_tracer_provider(nullptr);
  const bool done = provider_->shutdown(limit);
  provider_.reset();
  return done;
}

Context context_from_environment() {
  EnvironmentCarrier carrier;
  return make_trace_context_propagator()->extract(carrier, {});
}

Context context_from_traceparent_environment() {
  EnvironmentCarrier carrier([](std::string_view name) -> std::optional<std::string> {
    return name == "TRACECONTEXT" ? std::nullopt : process_environment(name);
  });
  return make_trace_context_propagator()->extract(carrier, {});
}

std::vector<std::string> environment_for(const Context& context) {
  EnvironmentCarrier carrier([](std::string_view) { return std::nullopt; });
  make_trace_context_propagator()->inject(context, carrier);
  return carrier.environment();
}

}  // namespace wasmshim::otel
