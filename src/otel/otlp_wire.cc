#include "otlp_wire.h"

#include <bit>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace wasmshim::otel::otlp {
namespace {

std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  for (; value >= 0x80; value >>= 7) {
    ++size;
  }
  return size;
}

// The encoders below are written once, for two sinks: ByteCount measures a
// message (a nested one's length goes before it), ByteWriter writes it.
class ByteCount {
 public:
  void varint(std::uint64_t value) { size_ += varint_size(value); }
  void fixed32(std::uint32_t /*value*/) { size_ += 4; }
  void fixed64(std::uint64_t /*value*/) { size_ += 8; }
  void bytes(std::string_view data) { size_ += data.size(); }
  template <class Body>
  void nested(const Body& body) {
    ByteCount inner;
    body(inner);
    varint(inner.size_);
    size_ += inner.size_;
  }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void varint(std::uint64_t value) {
    for (; value >= 0x80; value >>= 7) {
      out_ += static_cast<char>((value & 0x7f) | 0x80);
    }
    out_ += static_cast<char>(value);
  }
  void fixed32(std::uint32_t value) { little_endian(value, 4); }
  void fixed64(std::uint64_t value) { little_endian(value, 8); }
  void bytes(std::string_view data) { out_.append(data); }
  template <class Body>
  void nested(const Body& body) {
    ByteCount count;
    body(count);
    varint(count.size());
    body(*this);
  }

 private:
  void little_endian(std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) {
      out_ += static_cast<char>((value >> (8 * i)) & 0xff);
    }
  }
  std::string& out_;
};

template <class Sink>
void tag(Sink& sink, std::uint32_t field, WireType type) {
  sink.varint(field << 3 | type);
}

// Scalar fields, left out at their default as proto3 does; the *_always
// forms are for a oneof's member, which is written whatever its value.
template <class Sink>
void bytes_always(Sink& sink, std::uint32_t field, std::string_view data) {
  tag(sink, field, kLength);
  sink.varint(data.size());
  sink.bytes(data);
}
template <class Sink>
void bytes_field(Sink& sink, std::uint32_t field, std::string_view data) {
  if (!data.empty()) {
    bytes_always(sink, field, data);
  }
}
template <class Sink>
void varint_field(Sink& sink, std::uint32_t field, std::uint64_t value) {
  if (value != 0) {
    tag(sink, field, kVarint);
    sink.varint(value);
  }
}
template <class Sink>
void fixed32_field(Sink& sink, std::uint32_t field, std::uint32_t value) {
  if (value != 0) {
    tag(sink, field, kFixed32);
    sink.fixed32(value);
  }
}
template <class Sink>
void fixed64_field(Sink& sink, std::uint32_t field, std::uint64_t value) {
  if (value != 0) {
    tag(sink, field, kFixed64);
    sink.fixed64(value);
  }
}
template <class Sink, class Body>
void message_field(Sink& sink, std::uint32_t field, const Body& body) {
  tag(sink, field, kLength);
  sink.nested(body);
}

// AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4,
// array_value 5 (ArrayValue: values 1).
template <class Sink, class T>
void scalar_value(Sink& sink, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    tag(sink, 2, kVarint);
    sink.varint(value ? 1 : 0);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    tag(sink, 3, kVarint);
    sink.varint(static_cast<std::uint64_t>(value));
  } else if constexpr (std::is_same_v<T, double>) {
    tag(sink, 4, kFixed64);
    sink.fixed64(std::bit_cast<std::uint64_t>(value));
  } else {
    bytes_always(sink, 1, value);
  }
}

template <class Sink>
void any_value(Sink& sink, const AttributeValue& value) {
  std::visit(
      [&sink](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          scalar_value(sink, v);
        } else {
          message_field(sink, 5, [&v](auto& array) {
            for (const auto& item : v) {
              const typename T::value_type element = item;  // vector<bool>'s proxy too
              message_field(array, 1, [&element](auto& any) { scalar_value(any, element); });
            }
          });
        }
      },
      value);
}

// KeyValue: key 1, value 2.
template <class Sink>
void attributes(Sink& sink, std::uint32_t field, const Attributes& list) {
  for (const auto& attribute : list) {
    message_field(sink, field, [&attribute](auto& kv) {
      bytes_field(kv, 1, attribute.key);
      message_field(kv, 2, [&attribute](auto& any) { any_value(any, attribute.value); });
    });
  }
}

// Span.Event: time_unix_nano 1, name 2, attributes 3, dropped 4.
template <class Sink>
void event(Sink& sink, const SpanEvent& e) {
  fixed64_field(sink, 1, static_cast<std::uint64_t>(e.time_unix_nano));
  bytes_field(sink, 2, e.name);
  attributes(sink, 3, e.attributes);
  varint_field(sink, 4, e.dropped_attributes);
}

// Span and Span.Link number their context alike: trace_id 1, span_id 2,
// trace_state 3.
template <class Sink>
void context_fields(Sink& sink, const SpanContext& context) {
  bytes_field(sink, 1, context.trace_id.raw());
  bytes_field(sink, 2, context.span_id.raw());
  if (!context.trace_state.empty()) {
    bytes_field(sink, 3, context.trace_state.serialize());
  }
}

// Span.Link: context 1-3, attributes 4, dropped 5, flags 6.
template <class Sink>
void link(Sink& sink, const SpanLink& l) {
  context_fields(sink, l.context);
  attributes(sink, 4, l.attributes);
  varint_field(sink, 5, l.dropped_attributes);
  fixed32_field(sink, 6,
                l.context.flags | kFlagsHasIsRemote | (l.context.remote ? kFlagsIsRemote : 0));
}

// Span: context 1-3, parent_span_id 4, name 5, kind 6, start 7, end 8,
// attributes 9, dropped 10, events 11, dropped 12, links 13, dropped 14,
// status 15 (message 2, code 3), flags 16.
template <class Sink>
void span(Sink& sink, const SpanData& s) {
  context_fields(sink, s.context);
  std::uint32_t flags = s.context.flags | kFlagsHasIsRemote;
  if (s.parent_span_id.valid()) {
    bytes_field(sink, 4, s.parent_span_id.raw());
    if (s.parent_remote) {
      flags |= kFlagsIsRemote;
    }
  }
  bytes_field(sink, 5, s.name);
  varint_field(sink, 6, static_cast<std::uint64_t>(s.kind));
  fixed64_field(sink, 7, static_cast<std::uint64_t>(s.start_unix_nano));
  fixed64_field(sink, 8, static_cast<std::uint64_t>(s.end_unix_nano));
  attributes(sink, 9, s.attributes);
  varint_field(sink, 10, s.dropped_attributes);
  for (const auto& e : s.events) {
    message_field(sink, 11, [&e](auto& out) { event(out, e); });
  }
  varint_field(sink, 12, s.dropped_events);
  for (const auto& l : s.links) {
    message_field(sink, 13, [&l](auto& out) { link(out, l); });
  }
  varint_field(sink, 14, s.dropped_links);
  if (s.status != StatusCode::unset) {
    message_field(sink, 15, [&s](auto& status) {
      bytes_field(status, 2, s.status_message);
      varint_field(status, 3, static_cast<std::uint64_t>(s.status));
    });
  }
  fixed32_field(sink, 16, flags);
}

// Where one group of spans sharing a resource, or a scope, ends.
template <class SameGroup>
std::size_t group_end(std::span<const SpanData> spans, std::size_t from, SameGroup same) {
  std::size_t end = from + 1;
  while (end < spans.size() && same(spans[from], spans[end])) {
    ++end;
  }
  return end;
}

// ScopeSpans: scope 1 (InstrumentationScope: name 1, version 2), spans 2.
template <class Sink>
void scope_spans(Sink& sink, std::span<const SpanData> group) {
  if (const InstrumentationScope* scope = group.front().scope.get()) {
    message_field(sink, 1, [scope](auto& out) {
      bytes_field(out, 1, scope->name);
      bytes_field(out, 2, scope->version);
    });
  }
  for (const auto& s : group) {
    message_field(sink, 2, [&s](auto& out) { span(out, s); });
  }
}

// ResourceSpans: resource 1 (Resource: attributes 1), scope_spans 2,
// schema_url 3.
template <class Sink>
void resource_spans(Sink& sink, std::span<const SpanData> group) {
  if (const Resource* resource = group.front().resource.get()) {
    message_field(sink, 1, [resource](auto& out) { attributes(out, 1, resource->attributes); });
  }
  const auto same_scope = [](const SpanData& a, const SpanData& b) { return a.scope == b.scope; };
  for (std::size_t from = 0; from < group.size();) {
    const std::size_t end = group_end(group, from, same_scope);
    message_field(sink, 2, [&group, from, end](auto& out) {
      scope_spans(out, group.subspan(from, end - from));
    });
    from = end;
  }
  if (const Resource* resource = group.front().resource.get()) {
    bytes_field(sink, 3, resource->schema_url);
  }
}

// ExportTraceServiceRequest: resource_spans 1.
template <class Sink>
void export_request(Sink& sink, std::span<const SpanData> spans) {
  const auto same_resource = [](const SpanData& a, const SpanData& b) {
    return a.resource == b.resource;
  };
  for (std::size_t from = 0; from < spans.size();) {
    const std::size_t end = group_end(spans, from, same_resource);
    message_field(sink, 1, [&spans, from, end](auto& out) {
      resource_spans(out, spans.subspan(from, end - from));
    });
    from = end;
  }
}

}  // namespace

void append_export_request(std::span<const SpanData> spans, std::string& out) {
  ByteCount count;
  export_request(count, spans);
  out.reserve(out.size() + count.size());
  ByteWriter writer(out);
  export_request(writer, spans);
}

}  // namespace wasmshim::otel::otlp
