// OtlpConfig: everything that decides whether and how spans are exported,
// built from the OpenTelemetry environment variables or by hand in code.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasmshim/otel/attributes.h"
#include "wasmshim/otel/processor.h"

namespace wasmshim::otel {

enum class OtlpProtocol { http_protobuf, http_json, grpc };
enum class OtlpCompression { none, gzip };
enum class TracesExporterKind { otlp, console };
enum class SamplerKind {
  always_on,
  always_off,
  traceidratio,
  parentbased_always_on,
  parentbased_always_off,
  parentbased_traceidratio
};
enum class PropagatorKind { tracecontext, baggage };

const char* to_string(OtlpProtocol protocol);

// How an OTLP exporter retries a retryable failure (HTTP 429/502/503/504,
// a refused or broken connection; gRPC UNAVAILABLE and the other transient
// codes): exponential backoff with jitter, a server's Retry-After
// honoured, never past the export's deadline. Not an environment setting.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 1.5;
  bool operator==(const RetryPolicy&) const = default;
};

struct OtlpConfig {
  // The seed's rule: an endpoint variable set and non-empty, and
  // OTEL_SDK_DISABLED not "true". Also on when OTEL_TRACES_EXPORTER names
  // console explicitly. Never on when any variable was invalid.
  bool enabled = false;
  // As the exporter uses it: for http the full URL (".../v1/traces"), for
  // grpc "scheme://host:port" or "host:port".
  std::string endpoint = "http://localhost:4318/v1/traces";
  OtlpProtocol protocol = OtlpProtocol::http_protobuf;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  OtlpCompression compression = OtlpCompression::none;
  std::string certificate_file;
  std::string client_key_file;
  std::string client_certificate_file;
  // grpc without a scheme: plaintext when true, TLS otherwise.
  bool insecure = false;
  RetryPolicy retry;

  std::vector<TracesExporterKind> exporters{TracesExporterKind::otlp};
  SamplerKind sampler = SamplerKind::parentbased_always_on;
  double sampler_ratio = 1.0;
  std::vector<PropagatorKind> propagators{PropagatorKind::tracecontext, PropagatorKind::baggage};
  BatchOptions batch;
  SpanLimits limits;
  // Empty: OTEL_SERVICE_NAME was not set (the resource then uses the
  // program's default, else "unknown_service:<executable>").
  std::string service_name;
  Attributes resource_attributes;

  // By hand: an enabled config sending to `endpoint` (used as given, like a
  // signal-specific endpoint) over `protocol`, everything else default.
  static OtlpConfig for_endpoint(std::string endpoint,
                                 OtlpProtocol protocol = OtlpProtocol::http_protobuf);

  // One line for logs: on or off, and why; where spans go.
  std::string describe() const;
};

struct OtlpConfigResult {
  OtlpConfig config;
  // One message per invalid variable, naming it and the valid values. Any
  // error leaves the config disabled: the program runs untraced.
  std::vector<std::string> errors;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The EnvLookup of the process's own environment. Not for use once threads
// may change the environment.
std::optional<std::string> process_environment(std::string_view name);

// Reads the process environment.
OtlpConfigResult otlp_config_from_env();
// Reads variables through `lookup` (for tests and embedding).
OtlpConfigResult otlp_config_from_env(const EnvLookup& lookup);

// "k=v,k2=v2" with percent-decoded keys and values, as OTEL_RESOURCE_ATTRIBUTES
// and the OTLP headers variables use; nothing when an entry is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(
    std::string_view text);

}  // namespace wasmshim::otel
