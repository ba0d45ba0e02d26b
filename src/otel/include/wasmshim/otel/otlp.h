// OTLP exporters (http/protobuf, http/json, grpc) and the tracing pipeline an
// OtlpConfig describes.
#pragma once

#include <memory>
#include <string>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/exporter.h"
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {

// The OTLP exporter for config.protocol. Construction never blocks on the
// network: connections are made by the first export.
std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpConfig& config,
                                                 DiagnosticLog log = stderr_diagnostic_log());

// What the program says about itself; the environment may override it.
struct ResourceInfo {
  // Used when OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES give no
  // service.name; empty: "unknown_service:<executable>", as the spec says.
  std::string default_service_name;
  std::string service_version;
};

// service.name, service.version, process.pid, process.executable.name,
// host.name, telemetry.sdk.{name,language,version}, then the config's
// resource attributes (OTEL_RESOURCE_ATTRIBUTES), then OTEL_SERVICE_NAME.
Resource make_resource(const OtlpConfig& config, const ResourceInfo& info);

std::shared_ptr<Sampler> make_sampler(const OtlpConfig& config);

// A provider with a batch processor per exporter the config names; nullptr
// when the config is disabled.
std::shared_ptr<TracerProvider> make_tracer_provider(const OtlpConfig& config,
                                                     const ResourceInfo& info,
                                                     DiagnosticLog log = stderr_diagnostic_log());

}  // namespace wasmshim::otel
