#include "wasmshim/otel/propagation.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hex.h"

namespace wasmshim::otel {
namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Header and variable names are ASCII: no locale to consult.
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

// A JSON string literal of `text`, its bytes otherwise as they are.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      detail::append_hex_byte(out, byte);
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 7230 token characters, which baggage keys use.
bool is_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "()<>@,;:\\\"/[]?={} \t";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c > 0x20 && c < 0x7f && kSpecials.find(c) == std::string_view::npos;
  });
}

constexpr std::size_t kMaxBaggageMembers = 180;
constexpr std::size_t kMaxBaggageBytes = 8192;

class TraceContextPropagator final : public Propagator {
 public:
  void inject(const Context& context, TextMapCarrier& carrier) const override {
    if (!context.span.valid()) {
      return;
    }
    carrier.set("traceparent", format_traceparent(context.span));
    if (!context.span.trace_state.empty()) {
      carrier.set("tracestate", context.span.trace_state.serialize());
    }
  }

  Context extract(const TextMapCarrier& carrier, Context base) const override {
    auto header = carrier.get("traceparent");
    if (!header) {
      return base;
    }
    auto span = parse_traceparent(*header);
    if (!span) {
      return base;
    }
    if (auto state_header = carrier.get("tracestate")) {
      // An invalid tracestate is dropped; the traceparent still counts.
      span->trace_state = TraceState::parse(*state_header).value_or(TraceState());
    }
    base.span = std::move(*span);
    return base;
  }
};

class BaggagePropagator final : public Propagator {
 public:
  void inject(const Context& context, TextMapCarrier& carrier) const override {
    if (!context.baggage.empty()) {
      carrier.set("baggage", format_baggage(context.baggage));
    }
  }
  Context extract(const TextMapCarrier& carrier, Context base) const override {
    if (auto header = carrier.get("baggage")) {
      if (auto baggage = parse_baggage(*header)) {
        base.baggage = std::move(*baggage);
      }
    }
    return base;
  }
};

class CompositePropagator final : public Propagator {
 public:
  explicit CompositePropagator(std::vector<std::shared_ptr<Propagator>> parts)
      : parts_(std::move(parts)) {}
  void inject(const Context& context, TextMapCarrier& carrier) const override {
    for (const auto& part : parts_) {
      part->inject(context, carrier);
    }
  }
  Context extract(const TextMapCarrier& carrier, Context base) const override {
    for (const auto& part : parts_) {
      base = part->extract(carrier, std::move(base));
    }
    return base;
  }

 private:
  std::vector<std::shared_ptr<Propagator>> parts_;
};

}  // namespace

std::optional<SpanContext> parse_traceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" trace-flags, lower-case hex.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return std::nullopt;
  }
  auto version = header.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") {
    return std::nullopt;
  }
  // Version 00 is exactly 55 characters; later versions may append fields
  // after another dash, which this version does not understand and ignores.
  if (version == "00" ? header.size() != 55 : (header.size() > 55 && header[55] != '-')) {
    return std::nullopt;
  }
  auto trace_hex = header.substr(3, 32);
  auto span_hex = header.substr(36, 16);
  auto flags_hex = header.substr(53, 2);
  if (!is_lower_hex(trace_hex) || !is_lower_hex(span_hex) || !is_lower_hex(flags_hex)) {
    return std::nullopt;
  }
  SpanContext context;
  context.trace_id = *TraceId::from_hex(trace_hex);
  context.span_id = *SpanId::from_hex(span_hex);
  if (!context.valid()) {
    return std::nullopt;
  }
  context.flags = static_cast<std::uint8_t>(detail::hex_digit(flags_hex[0]) << 4 |
                                            detail::hex_digit(flags_hex[1]));
  context.remote = true;
  return context;
}

std::string format_traceparent(const SpanContext& context) {
  std::string out = "00-" + context.trace_id.hex() + "-" + context.span_id.hex() + "-";
  detail::append_hex_byte(out, context.flags);
  return out;
}

std::optional<Baggage> parse_baggage(std::string_view header) {
  if (header.size() > kMaxBaggageBytes) {
    return std::nullopt;
  }
  Baggage baggage;
  while (true) {
    auto comma = header.find(',');
    auto member = trim_ows(header.substr(0, comma));
    if (!member.empty()) {
      // key = value *( ";" property ); properties are accepted and dropped.
      member = trim_ows(member.substr(0, member.find(';')));
      auto eq = member.find('=');
      if (eq == std::string_view::npos) {
        return std::nullopt;
      }
      auto key = trim_ows(member.substr(0, eq));
      auto raw = trim_ows(member.substr(eq + 1));
      if (!is_token(key)) {
        return std::nullopt;
      }
      std::string value;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
          if (i + 2 >= raw.size()) {
            return std::nullopt;
          }
          int hi = detail::hex_digit(raw[i + 1]);
          int lo = detail::hex_digit(raw[i + 2]);
          if (hi < 0 || lo < 0) {
            return std::nullopt;
          }
          value += static_cast<char>(hi << 4 | lo);
          i += 2;
        } else if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\') {
          return std::nullopt;
        } else {
          value += c;
        }
      }
      if (baggage.size() == kMaxBaggageMembers) {
        return std::nullopt;
      }
      baggage.emplace_back(std::string(key), std::move(value));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    header.remove_prefix(comma + 1);
  }
  return baggage;
}

std::string format_baggage(const Baggage& baggage) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [key, value] : baggage) {
    if (!is_token(key)) {
      continue;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += key;
    out += '=';
    for (char ch : value) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%') {
        out += '%';
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
      } else {
        out += ch;
      }
    }
  }
  return out;
}

std::optional<std::string> MapCarrier::get(std::string_view key) const {
  auto wanted = lower(key);
  for (const auto& [k, v] : *map_) {
    if (lower(k) == wanted) {
      return v;
    }
  }
  return std::nullopt;
}

void MapCarrier::set(std::string_view key, std::string value) {
  (*map_)[lower(key)] = std::move(value);
}

EnvironmentCarrier::EnvironmentCarrier() : EnvironmentCarrier(process_environment) {}

EnvironmentCarrier::EnvironmentCarrier(EnvLookup lookup) : lookup_(std::move(lookup)) {
  auto json_text = lookup_("TRACECONTEXT");
  if (!json_text) {
    return;
  }
  // Anything but a JSON object of strings is ignored, like an invalid header.
  auto parsed = nlohmann::json::parse(*json_text, nullptr, false);
  if (!parsed.is_object()) {
    return;
  }
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) {
      from_json_[lower(key)] = value.get<std::string>();
    }
  }
}

std::optional<std::string> EnvironmentCarrier::get(std::string_view key) const {
  auto wanted = lower(key);
  if (!from_json_.empty()) {
    auto it = from_json_.find(wanted);
    return it == from_json_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  auto value = lookup_(upper(wanted));
  if (!value || value->empty()) {
    return std::nullopt;
  }
  return value;
}

void EnvironmentCarrier::set(std::string_view key, std::string value) {
  written_[lower(key)] = std::move(value);
}

std::vector<std::string> EnvironmentCarrier::environment() const {
  std::vector<std::string> out;
  if (written_.empty()) {
    return out;
  }
  // Built by hand: this runs for every process the shim starts.
  std::string object = "TRACECONTEXT={";
  for (const auto& [key, value] : written_) {
    if (object.back() != '{') {
      object += ',';
    }
    append_json_string(object, key);
    object += ':';
    append_json_string(object, value);
    out.push_back(upper(key) + "=" + value);
  }
  object += '}';
  out.insert(out.begin(), std::move(object));
  return out;
}

std::shared_ptr<Propagator> make_trace_context_propagator() {
  return std::make_shared<TraceContextPropagator>();
}

std::shared_ptr<Propagator> make_baggage_propagator() {
  return std::make_shared<BaggagePropagator>();
}

std::shared_ptr<Propagator> make_composite_propagator(
    std::vector<std::shared_ptr<Propagator>> propagators) {
  return std::make_shared<CompositePropagator>(std::move(propagators));
}

std::shared_ptr<Propagator> make_propagator(const std::vector<PropagatorKind>& kinds) {
  std::vector<std::shared_ptr<Propagator>> parts;
  for (auto kind : kinds) {
    parts.push_back(kind == PropagatorKind::tracecontext ? make_trace_context_propagator()
                                                         : make_baggage_propagator());
  }
  return make_composite_propagator(std::move(parts));
}

}  // namespace wasmshim::otel
