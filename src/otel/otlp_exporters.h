// The OTLP exporters by transport; make_otlp_exporter picks one.
#pragma once

#include <memory>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/exporter.h"

namespace wasmshim::otel::detail {

std::unique_ptr<SpanExporter> make_otlp_http_exporter(const OtlpConfig& config, DiagnosticLog log);
std::unique_ptr<SpanExporter> make_otlp_grpc_exporter(const OtlpConfig& config, DiagnosticLog log);

}  // namespace wasmshim::otel::detail
