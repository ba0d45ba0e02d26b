// Attribute values: every type OTLP carries for span, event, link and
// resource attributes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wasmshim::otel {

using AttributeValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

struct Attribute {
  std::string key;
  AttributeValue value;
  bool operator==(const Attribute&) const = default;
};

// Ordered; a key appears at most once (setting it again replaces the value).
using Attributes = std::vector<Attribute>;

// The value as text, for printing: strings as they are, arrays as [a, b].
std::string to_string(const AttributeValue& value);

// Finds a key; nullptr when absent.
const AttributeValue* find_attribute(const Attributes& attributes, std::string_view key);

// Limits from the OpenTelemetry spec; 0 for the length limit means none.
struct SpanLimits {
  std::size_t attribute_count = 128;
  std::size_t attribute_value_length = 0;
  std::size_t event_count = 128;
  std::size_t link_count = 128;
  std::size_t attributes_per_event = 128;
  std::size_t attributes_per_link = 128;
  bool operator==(const SpanLimits&) const = default;
};

// Sets or replaces `key` in `attributes` within `count_limit`, truncating
// strings to `length_limit` (0: no limit). Returns false when the attribute
// was dropped because the count limit was reached.
bool put_attribute(Attributes& attributes, std::string_view key, AttributeValue value,
                   std::size_t count_limit, std::size_t length_limit);

}  // namespace wasmshim::otel
