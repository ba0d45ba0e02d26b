// libFuzzer: the environment parsing never crashes, never enables tracing
// with an error reported, and names a variable in every error. Input lines
// are NAME=VALUE; names are mapped onto the variables OtlpConfig reads so the
// fuzzer spends its time on values.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "wasmshim/otel/config.h"

using namespace wasmshim::otel;

namespace {

const char* const kNames[] = {"OTEL_SDK_DISABLED",
                              "OTEL_SERVICE_NAME",
                              "OTEL_RESOURCE_ATTRIBUTES",
                              "OTEL_EXPORTER_OTLP_ENDPOINT",
                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                              "OTEL_EXPORTER_OTLP_PROTOCOL",
                              "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                              "OTEL_EXPORTER_OTLP_HEADERS",
                              "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                              "OTEL_EXPORTER_OTLP_TIMEOUT",
                              "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                              "OTEL_EXPORTER_OTLP_COMPRESSION",
                              "OTEL_EXPORTER_OTLP_INSECURE",
                              "OTEL_TRACES_EXPORTER",
                              "OTEL_TRACES_SAMPLER",
                              "OTEL_TRACES_SAMPLER_ARG",
                              "OTEL_PROPAGATORS",
                              "OTEL_BSP_SCHEDULE_DELAY",
                              "OTEL_BSP_EXPORT_TIMEOUT",
                              "OTEL_BSP_MAX_QUEUE_SIZE",
                              "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                              "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                              "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                              "OTEL_SPAN_EVENT_COUNT_LIMIT"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::map<std::string, std::string> env;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    if (!line.empty()) {
      auto index = static_cast<unsigned char>(line[0]) % (sizeof(kNames) / sizeof(kNames[0]));
      env[kNames[index]] = std::string(line.substr(1));
    }
    if (newline == std::string_view::npos) {
      break;
    }
    text.remove_prefix(newline + 1);
  }
  auto result = otlp_config_from_env([&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  if (!result.errors.empty() && result.config.enabled) {
    std::abort();
  }
  for (const auto& error : result.errors) {
    if (error.find("OTEL_") != 0) {
      std::abort();
    }
  }
  if (result.config.batch.max_export_batch_size > result.config.batch.max_queue_size &&
      result.errors.empty()) {
    std::abort();
  }
  return 0;
}
