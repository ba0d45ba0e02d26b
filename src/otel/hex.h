// Hex digits, for the parsers and writers of ids, traceparent,
// percent-encoding, OTLP/JSON and the environment's JSON.
#pragma once

#include <cstdint>
#include <string>

namespace wasmshim::otel::detail {

// Appends `byte` as two lowercase hex digits.
inline void append_hex_byte(std::string& out, std::uint8_t byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xf];
}

// 0-15 for a hex digit of either case, -1 for anything else.
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace wasmshim::otel::detail
