// The tracing pipeline an OtlpConfig describes.
#include <unistd.h>

#include <climits>
#include <string>

#include "otlp_exporters.h"
#include "wasmshim/otel/otlp.h"

namespace wasmshim::otel {
namespace {

// Read once per exec: forks run the same executable, and a readlink of
// /proc/self/exe costs each of them 10-20 us.
const std::string& executable_name() {
  static const std::string name = [] {
    char path[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0) {
      return std::string("unknown");
    }
    std::string full(path, static_cast<std::size_t>(n));
    return full.substr(full.rfind('/') + 1);
  }();
  return name;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) {
    return {};
  }
  return name;
}

}  // namespace

std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpConfig& config, DiagnosticLog log) {
  if (!log) {
    log = stderr_diagnostic_log();
  }
  if (config.protocol == OtlpProtocol::grpc) {
    return detail::make_otlp_grpc_exporter(config, std::move(log));
  }
  return detail::make_otlp_http_exporter(config, std::move(log));
}

Resource make_resource(const OtlpConfig& config, const ResourceInfo& info) {
  Resource resource;
  auto& attributes = resource.attributes;
  auto put = [&](std::string_view key, AttributeValue value) {
    put_attribute(attributes, key, std::move(value), SIZE_MAX, 0);
  };
  const std::string& executable = executable_name();
  put("service.name", info.default_service_name.empty() ? "unknown_service:" + executable
                                                        : info.default_service_name);
  if (!info.service_version.empty()) {
    put("service.version", info.service_version);
  }
  put("process.pid", static_cast<std::int64_t>(::getpid()));
  put("process.executable.name", executable);
  if (auto host = host_name(); !host.empty()) {
    put("host.name", host);
  }
  put("telemetry.sdk.name", std::string("wasmshim"));
  put("telemetry.sdk.language", std::string("cpp"));
  put("telemetry.sdk.version", std::string(WASMSHIM_VERSION));
  // The environment wins over what the program says, and OTEL_SERVICE_NAME
  // wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
  for (const auto& attribute : config.resource_attributes) {
    put(attribute.key, attribute.value);
  }
  if (!config.service_name.empty()) {
    put("service.name", config.service_name);
  }
  return resource;
}

std::shared_ptr<Sampler> make_sampler(const OtlpConfig& config) {
  switch (config.sampler) {
    case SamplerKind::always_on:
      return make_always_on_sampler();
    case SamplerKind::always_off:
      return make_always_off_sampler();
    case SamplerKind::traceidratio:
      return make_trace_id_ratio_sampler(config.sampler_ratio);
    case SamplerKind::parentbased_always_on:
      return make_parent_based_sampler(make_always_on_sampler());
    case SamplerKind::parentbased_always_off:
      return make_parent_based_sampler(make_always_off_sampler());
    case SamplerKind::parentbased_traceidratio:
      return make_parent_based_sampler(make_trace_id_ratio_sampler(config.sampler_ratio));
  }
  return make_parent_based_sampler(make_always_on_sampler());
}

std::shared_ptr<TracerProvider> make_tracer_provider(const OtlpConfig& config,
                                                     const ResourceInfo& info, DiagnosticLog log) {
  if (!config.enabled) {
    return nullptr;
  }
  if (!log) {
    log = stderr_diagnostic_log();
  }
  TracerProviderOptions options;
  options.sampler = make_sampler(config);
  options.resource = make_resource(config, info);
  options.limits = config.limits;
  for (auto kind : config.exporters) {
    auto exporter = kind == TracesExporterKind::otlp ? make_otlp_exporter(config, log)
                                                     : make_console_exporter(stdout);
    options.processors.push_back(
        std::make_shared<BatchSpanProcessor>(std::move(exporter), config.batch, log));
  }
  return std::make_shared<TracerProvider>(std::move(options));
}

}  // namespace wasmshim::otel
