#include "otlp_encoding.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "hex.h"
#include "otlp_wire.h"
#include "wasmshim/otel/ids.h"

namespace wasmshim::otel::otlp {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;

void set_value(const AttributeValue& value, common::AnyValue& out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out.set_bool_value(v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out.set_double_value(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out.set_string_value(v);
        } else {
          auto* array = out.mutable_array_value();
          for (const auto& item : v) {
            set_value(AttributeValue(static_cast<typename T::value_type>(item)),
                      *array->add_values());
          }
        }
      },
      value);
}

template <class Repeated>
void set_attributes(const Attributes& attributes, Repeated& out) {
  for (const auto& attribute : attributes) {
    auto* kv = out.Add();
    kv->set_key(attribute.key);
    set_value(attribute.value, *kv->mutable_value());
  }
}

void set_span(const SpanData& span, trace::Span& out) {
  out.set_trace_id(std::string(span.context.trace_id.raw()));
  out.set_span_id(std::string(span.context.span_id.raw()));
  if (!span.context.trace_state.empty()) {
    out.set_trace_state(span.context.trace_state.serialize());
  }
  std::uint32_t flags = span.context.flags | kFlagsHasIsRemote;
  if (span.parent_span_id.valid()) {
    out.set_parent_span_id(std::string(span.parent_span_id.raw()));
    if (span.parent_remote) {
      flags |= kFlagsIsRemote;
    }
  }
  out.set_flags(flags);
  out.set_name(span.name);
  out.set_kind(static_cast<trace::Span::SpanKind>(span.kind));
  out.set_start_time_unix_nano(static_cast<std::uint64_t>(span.start_unix_nano));
  out.set_end_time_unix_nano(static_cast<std::uint64_t>(span.end_unix_nano));
  set_attributes(span.attributes, *out.mutable_attributes());
  out.set_dropped_attributes_count(span.dropped_attributes);
  for (const auto& event : span.events) {
    auto* e = out.add_events();
    e->set_time_unix_nano(static_cast<std::uint64_t>(event.time_unix_nano));
    e->set_name(event.name);
    set_attributes(event.attributes, *e->mutable_attributes());
    e->set_dropped_attributes_count(event.dropped_attributes);
  }
  out.set_dropped_events_count(span.dropped_events);
  for (const auto& link : span.links) {
    auto* l = out.add_links();
    l->set_trace_id(std::string(link.context.trace_id.raw()));
    l->set_span_id(std::string(link.context.span_id.raw()));
    if (!link.context.trace_state.empty()) {
      l->set_trace_state(link.context.trace_state.serialize());
    }
    set_attributes(link.attributes, *l->mutable_attributes());
    l->set_dropped_attributes_count(link.dropped_attributes);
    l->set_flags(link.context.flags | kFlagsHasIsRemote |
                 (link.context.remote ? kFlagsIsRemote : 0));
  }
  out.set_dropped_links_count(span.dropped_links);
  if (span.status != StatusCode::unset) {
    out.mutable_status()->set_code(static_cast<trace::Status::StatusCode>(span.status));
    out.mutable_status()->set_message(span.status_message);
  }
}

bool is_id_key(const std::string& key) {
  return key == "traceId" || key == "spanId" || key == "parentSpanId";
}

std::string base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else {
      continue;
    }
    buffer = buffer << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::string base64_encode(std::string_view raw) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t at) { return std::uint32_t{static_cast<std::uint8_t>(raw[at])}; };
  for (; i + 2 < raw.size(); i += 3) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == raw.size()) {
    const std::uint32_t n = byte(i) << 16;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += "==";
  } else if (i + 2 == raw.size()) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string raw;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = detail::hex_digit(text[i]);
    int lo = detail::hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    raw += static_cast<char>(hi << 4 | lo);
  }
  return raw;
}

// Rewrites id fields in place between protobuf's JSON (base64) and OTLP's
// (hex). Returns false on an id that is not valid hex when reading.
bool convert_ids(nlohmann::json& node, bool to_hex_ids) {
  if (node.is_array()) {
    for (auto& item : node) {
      if (!convert_ids(item, to_hex_ids)) {
        return false;
      }
    }
    return true;
  }
  if (!node.is_object()) {
    return true;
  }
  for (auto& [key, value] : node.items()) {
    if (is_id_key(key) && value.is_string()) {
      const auto text = value.get<std::string>();
      if (to_hex_ids) {
        value = to_hex(base64_decode(text));
      } else {
        auto raw = from_hex(text);
        if (!raw) {
          return false;
        }
        value = base64_encode(*raw);
      }
    } else if (!convert_ids(value, to_hex_ids)) {
      return false;
    }
  }
  return true;
}

}  // namespace

namespace {

void fill_request(std::span<const SpanData> spans, ExportRequest& request) {
  const Resource* current_resource = nullptr;
  const InstrumentationScope* current_scope = nullptr;
  trace::ResourceSpans* resource_spans = nullptr;
  trace::ScopeSpans* scope_spans = nullptr;
  for (const auto& span : spans) {
    if (resource_spans == nullptr || span.resource.get() != current_resource) {
      // Spans of one provider share the resource object, so comparing
      // pointers groups them; a change starts a new group.
      current_resource = span.resource.get();
      resource_spans = request.add_resource_spans();
      if (current_resource != nullptr) {
        set_attributes(current_resource->attributes,
                       *resource_spans->mutable_resource()->mutable_attributes());
        resource_spans->set_schema_url(current_resource->schema_url);
      }
      scope_spans = nullptr;
    }
    if (scope_spans == nullptr || span.scope.get() != current_scope) {
      current_scope = span.scope.get();
      scope_spans = resource_spans->add_scope_spans();
      if (current_scope != nullptr) {
        scope_spans->mutable_scope()->set_name(current_scope->name);
        scope_spans->mutable_scope()->set_version(current_scope->version);
      }
    }
    set_span(span, *scope_spans->add_spans());
  }
}

}  // namespace

ExportRequest to_request(std::span<const SpanData> spans) {
  ExportRequest request;
  fill_request(spans, request);
  return request;
}

ExportRequest& to_request(std::span<const SpanData> spans, google::protobuf::Arena& arena) {
  auto* request = google::protobuf::Arena::CreateMessage<ExportRequest>(&arena);
  fill_request(spans, *request);
  return *request;
}

namespace {

AttributeValue from_any(const common::AnyValue& value) {
  using V = common::AnyValue;
  switch (value.value_case()) {
    case V::kBoolValue:
      return value.bool_value();
    case V::kIntValue:
      return value.int_value();
    case V::kDoubleValue:
      return value.double_value();
    case V::kArrayValue: {
      // Arrays of one type, as the API makes them; anything else as text.
      const auto& items = value.array_value().values();
      if (!items.empty() && items[0].has_int_value()) {
        std::vector<std::int64_t> out;
        for (const auto& item : items) {
          out.push_back(item.int_value());
        }
        return out;
      }
      if (!items.empty() && items[0].has_double_value()) {
        std::vector<double> out;
        for (const auto& item : items) {
          out.push_back(item.double_value());
        }
        return out;
      }
      if (!items.empty() && items[0].has_bool_value()) {
        std::vector<bool> out;
        for (const auto& item : items) {
          out.push_back(item.bool_value());
        }
        return out;
      }
      std::vector<std::string> out;
      for (const auto& item : items) {
        out.push_back(item.string_value());
      }
      return out;
    }
    default:
      return value.string_value();
  }
}

template <class Repeated>
Attributes from_key_values(const Repeated& key_values) {
  Attributes out;
  for (const auto& kv : key_values) {
    out.push_back({kv.key(), from_any(kv.value())});
  }
  return out;
}

SpanContext context_of(const std::string& trace_id, const std::string& span_id,
                       const std::string& trace_state, std::uint32_t flags) {
  SpanContext context;
  context.trace_id = TraceId::from_bytes(trace_id).value_or(TraceId{});
  context.span_id = SpanId::from_bytes(span_id).value_or(SpanId{});
  context.flags = static_cast<std::uint8_t>(flags & 0xff);
  context.trace_state = TraceState::parse(trace_state).value_or(TraceState{});
  context.remote = (flags & kFlagsIsRemote) != 0;
  return context;
}

}  // namespace

std::vector<SpanData> from_request(const ExportRequest& request) {
  std::vector<SpanData> out;
  for (const auto& resource_spans : request.resource_spans()) {
    auto resource = std::make_shared<const Resource>(Resource{
        from_key_values(resource_spans.resource().attributes()), resource_spans.schema_url()});
    for (const auto& scope_spans : resource_spans.scope_spans()) {
      auto scope = std::make_shared<const InstrumentationScope>(
          InstrumentationScope{scope_spans.scope().name(), scope_spans.scope().version()});
      for (const auto& span : scope_spans.spans()) {
        SpanData data;
        data.context =
            context_of(span.trace_id(), span.span_id(), span.trace_state(), span.flags() & 0xff);
        data.parent_span_id = SpanId::from_bytes(span.parent_span_id()).value_or(SpanId{});
        data.parent_remote = (span.flags() & kFlagsIsRemote) != 0;
        data.name = span.name();
        data.kind = span.kind() == trace::Span::SPAN_KIND_UNSPECIFIED
                        ? SpanKind::internal
                        : static_cast<SpanKind>(span.kind());
        data.start_unix_nano = static_cast<std::int64_t>(span.start_time_unix_nano());
        data.end_unix_nano = static_cast<std::int64_t>(span.end_time_unix_nano());
        data.attributes = from_key_values(span.attributes());
        data.dropped_attributes = span.dropped_attributes_count();
        for (const auto& event : span.events()) {
          data.events.push_back({event.name(), static_cast<std::int64_t>(event.time_unix_nano()),
                                 from_key_values(event.attributes()),
                                 event.dropped_attributes_count()});
        }
        data.dropped_events = span.dropped_events_count();
        for (const auto& link : span.links()) {
          data.links.push_back(
              {context_of(link.trace_id(), link.span_id(), link.trace_state(), link.flags()),
               from_key_values(link.attributes()), link.dropped_attributes_count()});
        }
        data.dropped_links = span.dropped_links_count();
        data.status = static_cast<StatusCode>(span.status().code());
        data.status_message = span.status().message();
        data.resource = resource;
        data.scope = scope;
        out.push_back(std::move(data));
      }
    }
  }
  return out;
}

std::string to_hex(std::string_view raw) {
  std::string out;
  out.reserve(2 * raw.size());
  for (char c : raw) {
    detail::append_hex_byte(out, static_cast<std::uint8_t>(c));
  }
  return out;
}

std::optional<std::string> partial_success_message(const ExportResponse& response,
                                                   std::size_t sent) {
  if (!response.has_partial_success()) {
    return std::nullopt;
  }
  const auto& partial = response.partial_success();
  if (partial.rejected_spans() == 0 && partial.error_message().empty()) {
    return std::nullopt;
  }
  return "collector accepted the export but rejected " + std::to_string(partial.rejected_spans()) +
         " of " + std::to_string(sent) + " span(s): " + partial.error_message();
}

std::string to_json(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    return text;
  }
  convert_ids(json, true);
  return json.dump();
}

bool from_json(std::string_view text, google::protobuf::Message& out, std::string& error) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    error = "not a JSON object";
    return false;
  }
  if (!convert_ids(json, false)) {
    error = "an id is not hex";
    return false;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(json.dump(), &out, options);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  // protobuf's JSON parser keeps some input it does not know (an empty key
  // becomes an unknown field): nothing of ours reads those, and keeping them
  // would make the same spans decode differently (found by the fuzzer).
  out.DiscardUnknownFields();
  return true;
}

}  // namespace wasmshim::otel::otlp
