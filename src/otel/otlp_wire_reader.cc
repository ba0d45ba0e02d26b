// The reading half of otlp_wire.h. Every length is checked against what is
// left, so a malformed request is refused, never read past.
#include <bit>
#include <cstdint>
#include <optional>

#include "otlp_wire.h"

namespace wasmshim::otel::otlp {
namespace {

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return at_ == bytes_.size(); }

  // The next field's number and wire type.
  bool next(std::uint32_t& field, std::uint32_t& type) {
    std::uint64_t key = 0;
    if (!varint(key) || key >> 3 == 0 || key >> 3 > UINT32_MAX) {
      return false;
    }
    field = static_cast<std::uint32_t>(key >> 3);
    type = static_cast<std::uint32_t>(key & 7);
    return true;
  }
  bool varint(std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ == bytes_.size()) {
        return false;
      }
      const auto byte = static_cast<std::uint8_t>(bytes_[at_++]);
      value |= std::uint64_t{byte & 0x7fU} << shift;
      if ((byte & 0x80) == 0) {
        return true;
      }
    }
    return false;
  }
  bool fixed(std::uint64_t& value, std::size_t width) {
    if (bytes_.size() - at_ < width) {
      return false;
    }
    value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value |= std::uint64_t{static_cast<std::uint8_t>(bytes_[at_ + i])} << (8 * i);
    }
    at_ += width;
    return true;
  }
  bool length_delimited(std::string_view& value) {
    std::uint64_t size = 0;
    if (!varint(size) || size > bytes_.size() - at_) {
      return false;
    }
    value = bytes_.substr(at_, static_cast<std::size_t>(size));
    at_ += static_cast<std::size_t>(size);
    return true;
  }
  bool skip(std::uint32_t type) {
    std::uint64_t ignored = 0;
    std::string_view also_ignored;
    switch (type) {
      case kVarint:
        return varint(ignored);
      case kFixed64:
        return fixed(ignored, 8);
      case kLength:
        return length_delimited(also_ignored);
      case kFixed32:
        return fixed(ignored, 4);
      default:
        return false;  // groups (3, 4) are not in OTLP
    }
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// Calls on_field(reader, field, type) for each field of `message`. The
// callback reads the field's value and says whether it could (false: the
// message is malformed), or returns nullopt for a field it does not know
// (or whose wire type is not the field's), which is then skipped.
template <class OnField>
bool for_each_field(std::string_view message, const OnField& on_field) {
  WireReader reader(message);
  while (!reader.done()) {
    std::uint32_t field = 0;
    std::uint32_t type = 0;
    if (!reader.next(field, type)) {
      return false;
    }
    const std::optional<bool> read = on_field(reader, field, type);
    if (!read.has_value()) {
      if (!reader.skip(type)) {
        return false;
      }
    } else if (!*read) {
      return false;
    }
  }
  return true;
}

// Field readers for on_field: nullopt when the wire type is not the one the
// field has (protobuf then skips it too), else whether the value was read.
std::optional<bool> read_bytes(WireReader& reader, std::uint32_t type, std::string& out) {
  std::string_view value;
  if (type != kLength) {
    return std::nullopt;
  }
  if (!reader.length_delimited(value)) {
    return false;
  }
  out.assign(value);
  return true;
}
std::optional<bool> read_view(WireReader& reader, std::uint32_t type, std::string_view& out) {
  if (type != kLength) {
    return std::nullopt;
  }
  return reader.length_delimited(out);
}
std::optional<bool> read_varint(WireReader& reader, std::uint32_t type, std::uint64_t& out) {
  if (type != kVarint) {
    return std::nullopt;
  }
  return reader.varint(out);
}
// `width`: kFixed64 or kFixed32, the field's own.
std::optional<bool> read_fixed(WireReader& reader, std::uint32_t type, WireType width,
                               std::uint64_t& out) {
  if (type != width) {
    return std::nullopt;
  }
  return reader.fixed(out, width == kFixed64 ? 8 : 4);
}

// Readers that convert what they read: store(value) runs once it is read.
template <class Store>
std::optional<bool> read_varint_as(WireReader& reader, std::uint32_t type, const Store& store) {
  std::uint64_t number = 0;
  const auto read = read_varint(reader, type, number);
  if (read.value_or(false)) {
    store(number);
  }
  return read;
}
template <class Store>
std::optional<bool> read_fixed_as(WireReader& reader, std::uint32_t type, WireType width,
                                  const Store& store) {
  std::uint64_t number = 0;
  const auto read = read_fixed(reader, type, width, number);
  if (read.value_or(false)) {
    store(number);
  }
  return read;
}
// A length-delimited field: its bytes, or the message they hold.
template <class Store>
std::optional<bool> read_view_as(WireReader& reader, std::uint32_t type, const Store& store) {
  std::string_view bytes;
  const auto read = read_view(reader, type, bytes);
  if (read.value_or(false)) {
    store(bytes);
  }
  return read;
}
template <class Decode>
std::optional<bool> read_message(WireReader& reader, std::uint32_t type, const Decode& decode) {
  std::string_view bytes;
  if (auto read = read_view(reader, type, bytes); !read || !*read) {
    return read;
  }
  return decode(bytes);
}

// One AnyValue, as from_request reads it: a scalar, or an array of the
// first element's type (anything else in an array, or a kvlist, as text).
struct AnyValue {
  enum Kind { text, boolean, integer, real, array } kind = text;
  std::string string;
  std::uint64_t number = 0;
  std::vector<AnyValue> items;
};

// The members of AnyValue's oneof; the last one read wins, as in protobuf.
// A field whose wire type is not its own is skipped and changes nothing.
std::optional<bool> read_array(WireReader& reader, std::uint32_t type, AnyValue& out,
                               bool in_array);

bool decode_any(std::string_view bytes, AnyValue& out, bool in_array) {
  return for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        std::optional<bool> read;
        AnyValue::Kind kind = AnyValue::text;
        switch (field) {
          case 1:
            read = read_bytes(r, type, out.string);
            break;
          case 2:
          case 3:
            read = read_varint(r, type, out.number);
            kind = field == 2 ? AnyValue::boolean : AnyValue::integer;
            break;
          case 4:
            read = read_fixed(r, type, kFixed64, out.number);
            kind = AnyValue::real;
            break;
          case 5:
            return read_array(r, type, out, in_array);
          default:
            return std::nullopt;
        }
        if (read.value_or(false)) {
          out.kind = kind;
        }
        return read;
      });
}

// ArrayValue: values 1. One within an array reads as empty text, as
// from_request reads it.
std::optional<bool> read_array(WireReader& reader, std::uint32_t type, AnyValue& out,
                               bool in_array) {
  if (in_array) {
    std::string_view ignored;
    const auto read = read_view(reader, type, ignored);
    if (read.value_or(false)) {
      out = AnyValue{};
    }
    return read;
  }
  std::vector<AnyValue> items;
  const auto read = read_message(reader, type, [&items](std::string_view array) {
    return for_each_field(
        array,
        [&items](WireReader& r, std::uint32_t field, std::uint32_t t) -> std::optional<bool> {
          if (field != 1) {
            return std::nullopt;
          }
          return read_message(r, t, [&items](std::string_view item) {
            return decode_any(item, items.emplace_back(), /*in_array=*/true);
          });
        });
  });
  if (read.value_or(false)) {
    out.kind = AnyValue::array;
    out.items = std::move(items);
  }
  return read;
}

AttributeValue scalar_of(const AnyValue& value) {
  switch (value.kind) {
    case AnyValue::boolean:
      return value.number != 0;
    case AnyValue::integer:
      return static_cast<std::int64_t>(value.number);
    case AnyValue::real:
      return std::bit_cast<double>(value.number);
    default:
      return value.string;
  }
}

template <class T>
std::vector<T> array_of(const std::vector<AnyValue>& items) {
  std::vector<T> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    out.push_back(std::get<T>(scalar_of(item)));
  }
  return out;
}

// Arrays take their type from the first element, as from_request does;
// elements of another type read as that type's zero.
AttributeValue attribute_value(AnyValue value) {
  if (value.kind != AnyValue::array) {
    return scalar_of(value);
  }
  const AnyValue::Kind kind = value.items.empty() ? AnyValue::text : value.items[0].kind;
  for (auto& item : value.items) {
    if (item.kind != kind) {
      item = AnyValue{kind, {}, 0, {}};
    }
  }
  switch (kind) {
    case AnyValue::boolean:
      return array_of<bool>(value.items);
    case AnyValue::integer:
      return array_of<std::int64_t>(value.items);
    case AnyValue::real:
      return array_of<double>(value.items);
    default:
      return array_of<std::string>(value.items);
  }
}

// A KeyValue, appended to `out`.
bool decode_attribute(std::string_view bytes, Attributes& out) {
  Attribute attribute;
  AnyValue value;
  const bool ok = for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t t) -> std::optional<bool> {
        if (field == 1) {
          return read_bytes(r, t, attribute.key);
        }
        if (field == 2) {
          return read_message(r, t, [&](std::string_view any) {
            return decode_any(any, value, /*in_array=*/false);
          });
        }
        return std::nullopt;
      });
  if (!ok) {
    return false;
  }
  attribute.value = attribute_value(std::move(value));
  out.push_back(std::move(attribute));
  return true;
}

std::optional<bool> read_attribute(WireReader& reader, std::uint32_t type, Attributes& out) {
  return read_message(reader, type,
                      [&out](std::string_view bytes) { return decode_attribute(bytes, out); });
}

template <std::size_t N>
Id<N> id_of(std::string_view bytes) {
  return Id<N>::from_bytes(bytes).value_or(Id<N>{});
}

TraceState trace_state_of(std::string_view text) {
  return TraceState::parse(text).value_or(TraceState{});
}

std::uint32_t count_of(std::uint64_t number) {
  return static_cast<std::uint32_t>(number);
}

// Span and Span.Link number their context alike: trace_id 1, span_id 2,
// trace_state 3. For one of those fields only.
std::optional<bool> read_context_field(WireReader& reader, std::uint32_t field, std::uint32_t type,
                                       SpanContext& context) {
  return read_view_as(reader, type, [&](std::string_view bytes) {
    if (field == 1) {
      context.trace_id = id_of<16>(bytes);
    } else if (field == 2) {
      context.span_id = id_of<8>(bytes);
    } else {
      context.trace_state = trace_state_of(bytes);
    }
  });
}

// Span.Event: time_unix_nano 1, name 2, attributes 3, dropped 4.
bool decode_event(std::string_view bytes, SpanEvent& out) {
  return for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        switch (field) {
          case 1:
            return read_fixed_as(r, type, kFixed64, [&](std::uint64_t time) {
              out.time_unix_nano = static_cast<std::int64_t>(time);
            });
          case 2:
            return read_bytes(r, type, out.name);
          case 3:
            return read_attribute(r, type, out.attributes);
          case 4:
            return read_varint_as(
                r, type, [&](std::uint64_t count) { out.dropped_attributes = count_of(count); });
          default:
            return std::nullopt;
        }
      });
}

// Span.Link: context 1-3, attributes 4, dropped 5, flags 6.
bool decode_link(std::string_view bytes, SpanLink& out) {
  return for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        switch (field) {
          case 1:
          case 2:
          case 3:
            return read_context_field(r, field, type, out.context);
          case 4:
            return read_attribute(r, type, out.attributes);
          case 5:
            return read_varint_as(
                r, type, [&](std::uint64_t count) { out.dropped_attributes = count_of(count); });
          case 6:
            return read_fixed_as(r, type, kFixed32, [&](std::uint64_t flags) {
              out.context.flags = static_cast<std::uint8_t>(flags & 0xff);
              out.context.remote = (flags & kFlagsIsRemote) != 0;
            });
          default:
            return std::nullopt;
        }
      });
}

// Span.Status: message 2, code 3 (a code it does not know: unset).
bool decode_status(std::string_view bytes, SpanData& out) {
  return for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        if (field == 2) {
          return read_bytes(r, type, out.status_message);
        }
        if (field == 3) {
          return read_varint_as(r, type, [&](std::uint64_t code) {
            out.status = code <= 2 ? static_cast<StatusCode>(code) : StatusCode::unset;
          });
        }
        return std::nullopt;
      });
}

// Span's fields after its context; a kind it does not know reads as
// internal, as an unspecified one does.
std::optional<bool> read_span_field(WireReader& r, std::uint32_t field, std::uint32_t type,
                                    SpanData& out) {
  switch (field) {
    case 4:
      return read_view_as(r, type,
                          [&](std::string_view bytes) { out.parent_span_id = id_of<8>(bytes); });
    case 5:
      return read_bytes(r, type, out.name);
    case 6:
      return read_varint_as(r, type, [&](std::uint64_t kind) {
        out.kind = kind >= 1 && kind <= 5 ? static_cast<SpanKind>(kind) : SpanKind::internal;
      });
    case 7:
    case 8:
      return read_fixed_as(r, type, kFixed64, [&](std::uint64_t time) {
        (field == 7 ? out.start_unix_nano : out.end_unix_nano) = static_cast<std::int64_t>(time);
      });
    case 9:
      return read_attribute(r, type, out.attributes);
    case 10:
    case 12:
    case 14:
      return read_varint_as(r, type, [&](std::uint64_t count) {
        (field == 10 ? out.dropped_attributes
                     : (field == 12 ? out.dropped_events : out.dropped_links)) = count_of(count);
      });
    case 11:
      return read_message(r, type, [&](std::string_view bytes) {
        return decode_event(bytes, out.events.emplace_back());
      });
    case 13:
      return read_message(r, type, [&](std::string_view bytes) {
        return decode_link(bytes, out.links.emplace_back());
      });
    case 15:
      return read_message(r, type,
                          [&](std::string_view bytes) { return decode_status(bytes, out); });
    case 16:
      return read_fixed_as(r, type, kFixed32, [&](std::uint64_t flags) {
        out.context.flags = static_cast<std::uint8_t>(flags & 0xff);
        out.parent_remote = (flags & kFlagsIsRemote) != 0;
      });
    default:
      return std::nullopt;
  }
}

// Span: the numbers otlp_wire.cc lists.
bool decode_span(std::string_view bytes, SpanData& out) {
  return for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        return field >= 1 && field <= 3 ? read_context_field(r, field, type, out.context)
                                        : read_span_field(r, field, type, out);
      });
}

// The groups' shared objects: an equal one seen before, else this one,
// kept for the next request.
std::shared_ptr<const Resource> shared_resource(Resource resource, SharedGroups& groups) {
  if (!groups.resource || groups.resource->attributes != resource.attributes ||
      groups.resource->schema_url != resource.schema_url) {
    groups.resource = std::make_shared<const Resource>(std::move(resource));
  }
  return groups.resource;
}

std::shared_ptr<const InstrumentationScope> shared_scope(InstrumentationScope scope,
                                                         SharedGroups& groups) {
  for (const auto& known : groups.scopes) {
    if (known->name == scope.name && known->version == scope.version) {
      return known;
    }
  }
  return groups.scopes.emplace_back(std::make_shared<const InstrumentationScope>(std::move(scope)));
}

// ScopeSpans: scope 1 (name 1, version 2), spans 2. The spans are read
// first and given the scope after, wherever it stood; their caller gives
// them the resource.
bool decode_scope_spans(std::string_view message, SharedGroups& groups,
                        std::vector<SpanData>& out) {
  const std::size_t first = out.size();
  InstrumentationScope scope;
  const bool ok = for_each_field(
      message, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        if (field == 1) {
          return read_message(r, type, [&](std::string_view bytes) {
            return for_each_field(
                bytes, [&](WireReader& s, std::uint32_t f, std::uint32_t t) -> std::optional<bool> {
                  if (f == 1 || f == 2) {
                    return read_bytes(s, t, f == 1 ? scope.name : scope.version);
                  }
                  return std::nullopt;
                });
          });
        }
        if (field == 2) {
          return read_message(r, type, [&](std::string_view bytes) {
            return decode_span(bytes, out.emplace_back());
          });
        }
        return std::nullopt;
      });
  if (!ok) {
    return false;
  }
  if (out.size() > first) {
    const auto shared = shared_scope(std::move(scope), groups);
    for (std::size_t i = first; i < out.size(); ++i) {
      out[i].scope = shared;
    }
  }
  return true;
}

// ResourceSpans: resource 1 (attributes 1), scope_spans 2, schema_url 3.
// The resource may come after its spans: they are read once it is known.
bool decode_resource_spans(std::string_view message, SharedGroups& groups,
                           std::vector<SpanData>& out) {
  Resource resource;
  std::vector<std::string_view> scope_spans;
  const bool ok = for_each_field(
      message, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        switch (field) {
          case 1:
            return read_message(r, type, [&](std::string_view bytes) {
              return for_each_field(
                  bytes,
                  [&](WireReader& a, std::uint32_t f, std::uint32_t t) -> std::optional<bool> {
                    return f == 1 ? read_attribute(a, t, resource.attributes) : std::nullopt;
                  });
            });
          case 2:
            return read_view_as(r, type,
                                [&](std::string_view bytes) { scope_spans.push_back(bytes); });
          case 3:
            return read_bytes(r, type, resource.schema_url);
          default:
            return std::nullopt;
        }
      });
  if (!ok) {
    return false;
  }
  const std::size_t first = out.size();
  for (std::string_view group : scope_spans) {
    if (!decode_scope_spans(group, groups, out)) {
      return false;
    }
  }
  // A group with no spans leaves no trace, not even as the last resource.
  if (out.size() > first) {
    const auto shared = shared_resource(std::move(resource), groups);
    for (std::size_t i = first; i < out.size(); ++i) {
      out[i].resource = shared;
    }
  }
  return true;
}

}  // namespace

bool decode_export_request(std::string_view bytes, SharedGroups& groups,
                           std::vector<SpanData>& out) {
  const std::size_t before = out.size();
  const bool ok = for_each_field(
      bytes, [&](WireReader& r, std::uint32_t field, std::uint32_t type) -> std::optional<bool> {
        if (field != 1) {
          return std::nullopt;
        }
        return read_message(r, type, [&](std::string_view resource_spans) {
          return decode_resource_spans(resource_spans, groups, out);
        });
      });
  if (!ok) {
    out.resize(before);
  }
  return ok;
}

}  // namespace wasmshim::otel::otlp
