// Hex digits, for the parsers of ids, traceparent, percent-encoding and
// OTLP/JSON.
#pragma once

namespace wasmshim::otel::detail {

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
