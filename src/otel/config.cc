// The OpenTelemetry SDK environment variables, as the specification defines
// them; every invalid value is reported once with the valid values.
#include "wasmshim/otel/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>

#include "hex.h"
#include "wasmshim/base/strings.h"

namespace wasmshim::otel {
namespace {

using base::trim;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) {
      return std::nullopt;
    }
    int hi = detail::hex_digit(s[i + 1]);
    int lo = detail::hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

// Reads variables, treating empty as unset (the spec's rule), and collects
// one error per invalid variable.
class EnvReader {
 public:
  explicit EnvReader(const EnvLookup& lookup) : lookup_(lookup) {}

  std::optional<std::string> get(std::string_view name) const {
    auto value = lookup_(name);
    if (!value || trim(*value).empty()) {
      return std::nullopt;
    }
    return std::string(trim(*value));
  }
  // The first of the names that is set, and which one it was.
  std::optional<std::pair<std::string, std::string>> first(
      std::initializer_list<std::string_view> names) const {
    for (auto name : names) {
      if (auto value = get(name)) {
        return std::make_pair(std::string(name), *value);
      }
    }
    return std::nullopt;
  }

  void error(std::string_view name, std::string_view value, std::string_view expected) {
    errors_.push_back(std::string(name) + "=\"" + std::string(value) +
                      "\" is not valid: " + std::string(expected));
  }
  std::vector<std::string>& errors() { return errors_; }

 private:
  const EnvLookup& lookup_;
  std::vector<std::string> errors_;
};

std::optional<bool> parse_bool(std::string_view text) {
  auto value = lower(text);
  if (value == "true") {
    return true;
  }
  if (value == "false") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A non-negative whole number from the first of `names`; `minimum` applies.
template <class T>
void read_count(EnvReader& env, std::initializer_list<std::string_view> names, T& out,
                std::uint64_t minimum, std::string_view unit) {
  auto found = env.first(names);
  if (!found) {
    return;
  }
  auto value = parse_count(found->second);
  if (!value || *value < minimum) {
    env.error(found->first, found->second,
              "expected a whole number of " + std::string(unit) + " of at least " +
                  std::to_string(minimum));
    return;
  }
  out = static_cast<T>(*value);
}

void read_millis(EnvReader& env, std::initializer_list<std::string_view> names,
                 std::chrono::milliseconds& out, std::uint64_t minimum) {
  std::uint64_t value = static_cast<std::uint64_t>(out.count());
  read_count(env, names, value, minimum, "milliseconds");
  out = std::chrono::milliseconds(value);
}

bool looks_like_url(std::string_view text) {
  return text.starts_with("http://") || text.starts_with("https://");
}

// The generic endpoint is a base: "/v1/traces" goes after its path, with
// exactly one slash between them.
std::string append_traces_path(std::string base) {
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + "/v1/traces";
}

void read_protocol(EnvReader& env, OtlpConfig& config) {
  auto found = env.first({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"});
  if (!found) {
    return;
  }
  if (found->second == "http/protobuf") {
    config.protocol = OtlpProtocol::http_protobuf;
  } else if (found->second == "http/json") {
    config.protocol = OtlpProtocol::http_json;
  } else if (found->second == "grpc") {
    config.protocol = OtlpProtocol::grpc;
  } else {
    env.error(found->first, found->second, "expected one of http/protobuf, http/json, grpc");
  }
}

// Returns whether an endpoint variable was set (the seed's "on" rule).
bool read_endpoint(EnvReader& env, OtlpConfig& config) {
  auto specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  auto generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
  const bool grpc = config.protocol == OtlpProtocol::grpc;
  const char* name =
      specific ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  std::optional<std::string> value = specific ? specific : generic;
  if (!value) {
    config.endpoint = grpc ? "http://localhost:4317" : "http://localhost:4318/v1/traces";
    return false;
  }
  if (!grpc && !looks_like_url(*value)) {
    env.error(name, *value, "expected an http:// or https:// URL");
    return true;
  }
  if (grpc && value->find("://") != std::string::npos && !looks_like_url(*value)) {
    env.error(name, *value, "expected http://host:port, https://host:port or host:port for grpc");
    return true;
  }
  config.endpoint = (grpc || specific) ? *value : append_traces_path(*value);
  return true;
}

void read_headers(EnvReader& env, OtlpConfig& config) {
  // Generic first, then the trace-specific ones override key by key.
  for (const char* name : {"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"}) {
    auto value = env.get(name);
    if (!value) {
      continue;
    }
    auto pairs = parse_key_value_list(*value);
    if (!pairs) {
      env.error(name, *value, "expected key=value pairs separated by commas, percent-encoded");
      continue;
    }
    for (auto& pair : *pairs) {
      const std::string key = lower(pair.first);
      auto it = std::find_if(config.headers.begin(), config.headers.end(),
                             [&](const auto& h) { return lower(h.first) == key; });
      if (it != config.headers.end()) {
        it->second = pair.second;
      } else {
        config.headers.push_back(pair);
      }
    }
  }
}

void read_file_path(EnvReader& env, std::initializer_list<std::string_view> names,
                    std::string& out) {
  auto found = env.first(names);
  if (!found) {
    return;
  }
  if (::access(found->second.c_str(), R_OK) != 0) {
    env.error(found->first, found->second, "expected a readable PEM file");
    return;
  }
  out = found->second;
}

void read_transport(EnvReader& env, OtlpConfig& config) {
  read_headers(env, config);
  read_millis(env, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"},
              config.timeout, 1);
  if (auto found =
          env.first({"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"})) {
    if (found->second == "gzip") {
      config.compression = OtlpCompression::gzip;
    } else if (found->second == "none") {
      config.compression = OtlpCompression::none;
    } else {
      env.error(found->first, found->second, "expected gzip or none");
    }
  }
  read_file_path(env, {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"},
                 config.certificate_file);
  read_file_path(env, {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
                 config.client_key_file);
  read_file_path(
      env,
      {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
      config.client_certificate_file);
  if (auto found =
          env.first({"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"})) {
    if (auto value = parse_bool(found->second)) {
      config.insecure = *value;
    } else {
      env.error(found->first, found->second, "expected true or false");
    }
  }
}

// Returns whether console was asked for explicitly.
bool read_exporters(EnvReader& env, OtlpConfig& config) {
  auto value = env.get("OTEL_TRACES_EXPORTER");
  if (!value) {
    return false;
  }
  std::vector<TracesExporterKind> kinds;
  std::string_view rest = *value;
  bool none = false;
  while (true) {
    auto comma = rest.find(',');
    auto item = lower(trim(rest.substr(0, comma)));
    if (item == "otlp") {
      kinds.push_back(TracesExporterKind::otlp);
    } else if (item == "console") {
      kinds.push_back(TracesExporterKind::console);
    } else if (item == "none") {
      none = true;
    } else {
      env.error("OTEL_TRACES_EXPORTER", *value, "expected otlp, console or none (comma-separated)");
      return false;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  config.exporters = none ? std::vector<TracesExporterKind>{} : kinds;
  return std::find(config.exporters.begin(), config.exporters.end(), TracesExporterKind::console) !=
         config.exporters.end();
}

void read_sampler(EnvReader& env, OtlpConfig& config) {
  if (auto value = env.get("OTEL_TRACES_SAMPLER")) {
    static const std::pair<const char*, SamplerKind> kKinds[] = {
        {"always_on", SamplerKind::always_on},
        {"always_off", SamplerKind::always_off},
        {"traceidratio", SamplerKind::traceidratio},
        {"parentbased_always_on", SamplerKind::parentbased_always_on},
        {"parentbased_always_off", SamplerKind::parentbased_always_off},
        {"parentbased_traceidratio", SamplerKind::parentbased_traceidratio}};
    auto it = std::find_if(std::begin(kKinds), std::end(kKinds),
                           [&](const auto& k) { return lower(*value) == k.first; });
    if (it == std::end(kKinds)) {
      env.error("OTEL_TRACES_SAMPLER", *value,
                "expected always_on, always_off, traceidratio, parentbased_always_on, "
                "parentbased_always_off or parentbased_traceidratio");
      return;
    }
    config.sampler = it->second;
  }
  auto arg = env.get("OTEL_TRACES_SAMPLER_ARG");
  if (!arg || (config.sampler != SamplerKind::traceidratio &&
               config.sampler != SamplerKind::parentbased_traceidratio)) {
    return;
  }
  char* end = nullptr;
  double ratio = std::strtod(arg->c_str(), &end);
  if (end != arg->c_str() + arg->size() || !(ratio >= 0.0 && ratio <= 1.0)) {
    env.error("OTEL_TRACES_SAMPLER_ARG", *arg, "expected a probability from 0 to 1");
    return;
  }
  config.sampler_ratio = ratio;
}

void read_propagators(EnvReader& env, OtlpConfig& config) {
  auto value = env.get("OTEL_PROPAGATORS");
  if (!value) {
    return;
  }
  std::vector<PropagatorKind> kinds;
  std::string_view rest = *value;
  while (true) {
    auto comma = rest.find(',');
    auto item = lower(trim(rest.substr(0, comma)));
    if (item == "tracecontext") {
      kinds.push_back(PropagatorKind::tracecontext);
    } else if (item == "baggage") {
      kinds.push_back(PropagatorKind::baggage);
    } else if (item != "none") {
      env.error("OTEL_PROPAGATORS", *value,
                "expected tracecontext, baggage or none (comma-separated)");
      return;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  config.propagators = kinds;
}

void read_batch_and_limits(EnvReader& env, OtlpConfig& config) {
  read_millis(env, {"OTEL_BSP_SCHEDULE_DELAY"}, config.batch.schedule_delay, 0);
  read_millis(env, {"OTEL_BSP_EXPORT_TIMEOUT"}, config.batch.export_timeout, 1);
  read_count(env, {"OTEL_BSP_MAX_QUEUE_SIZE"}, config.batch.max_queue_size, 1, "spans");
  read_count(env, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE"}, config.batch.max_export_batch_size, 1,
             "spans");
  if (config.batch.max_export_batch_size > config.batch.max_queue_size) {
    env.error("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", std::to_string(config.batch.max_export_batch_size),
              "must not exceed OTEL_BSP_MAX_QUEUE_SIZE (" +
                  std::to_string(config.batch.max_queue_size) + ")");
  }
  auto& limits = config.limits;
  read_count(env, {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"},
             limits.attribute_count, 0, "attributes");
  read_count(env, {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"},
             limits.attribute_value_length, 0, "characters");
  read_count(env, {"OTEL_SPAN_EVENT_COUNT_LIMIT"}, limits.event_count, 0, "events");
  read_count(env, {"OTEL_SPAN_LINK_COUNT_LIMIT"}, limits.link_count, 0, "links");
  read_count(env, {"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"}, limits.attributes_per_event, 0,
             "attributes");
  read_count(env, {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"}, limits.attributes_per_link, 0, "attributes");
}

void read_resource(EnvReader& env, OtlpConfig& config) {
  if (auto value = env.get("OTEL_RESOURCE_ATTRIBUTES")) {
    auto pairs = parse_key_value_list(*value);
    if (!pairs) {
      env.error("OTEL_RESOURCE_ATTRIBUTES", *value,
                "expected key=value pairs separated by commas, percent-encoded");
    } else {
      for (auto& [key, v] : *pairs) {
        put_attribute(config.resource_attributes, key, v, SIZE_MAX, 0);
      }
    }
  }
  if (auto value = env.get("OTEL_SERVICE_NAME")) {
    config.service_name = *value;
  }
}

}  // namespace

const char* to_string(OtlpProtocol protocol) {
  switch (protocol) {
    case OtlpProtocol::http_protobuf:
      return "http/protobuf";
    case OtlpProtocol::http_json:
      return "http/json";
    case OtlpProtocol::grpc:
      return "grpc";
  }
  return "http/protobuf";
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (!item.empty()) {
      auto eq = item.find('=');
      if (eq == std::string_view::npos) {
        return std::nullopt;
      }
      auto key = percent_decode(trim(item.substr(0, eq)));
      auto value = percent_decode(trim(item.substr(eq + 1)));
      if (!key || !value || key->empty()) {
        return std::nullopt;
      }
      out.emplace_back(std::move(*key), std::move(*value));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

OtlpConfig OtlpConfig::for_endpoint(std::string endpoint, OtlpProtocol protocol) {
  OtlpConfig config;
  config.enabled = true;
  config.endpoint = std::move(endpoint);
  config.protocol = protocol;
  return config;
}

std::string OtlpConfig::describe() const {
  if (!enabled) {
    return "tracing off";
  }
  std::string out = "tracing on:";
  for (auto kind : exporters) {
    if (kind == TracesExporterKind::otlp) {
      out += std::string(" otlp ") + to_string(protocol) + " to " + endpoint;
      if (compression == OtlpCompression::gzip) {
        out += " (gzip)";
      }
    } else {
      out += " console";
    }
  }
  return out;
}

OtlpConfigResult otlp_config_from_env(const EnvLookup& lookup) {
  EnvReader env(lookup);
  OtlpConfigResult result;
  OtlpConfig& config = result.config;
  bool disabled = false;
  if (auto value = env.get("OTEL_SDK_DISABLED")) {
    auto flag = parse_bool(*value);
    if (!flag) {
      env.error("OTEL_SDK_DISABLED", *value, "expected true or false");
    }
    disabled = flag.value_or(true);
  }
  read_protocol(env, config);
  const bool endpoint_set = read_endpoint(env, config);
  read_transport(env, config);
  const bool console_asked = read_exporters(env, config);
  read_sampler(env, config);
  read_propagators(env, config);
  read_batch_and_limits(env, config);
  read_resource(env, config);

  const bool otlp_wanted = std::find(config.exporters.begin(), config.exporters.end(),
                                     TracesExporterKind::otlp) != config.exporters.end();
  config.enabled =
      !disabled && env.errors().empty() && ((endpoint_set && otlp_wanted) || console_asked);
  if (config.enabled && !endpoint_set) {
    // Console only: no OTLP exporter without an endpoint variable.
    std::erase(config.exporters, TracesExporterKind::otlp);
  }
  result.errors = std::move(env.errors());
  return result;
}

std::optional<std::string> process_environment(std::string_view name) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start, before threads change env.
  const char* value = std::getenv(std::string(name).c_str());
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

OtlpConfigResult otlp_config_from_env() {
  return otlp_config_from_env(process_environment);
}

}  // namespace wasmshim::otel
