// Trace and span identifiers, W3C trace state, and the span context that
// carries them across threads, processes and protocols.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wasmshim::otel {

template <std::size_t N>
struct Id {
  std::array<std::uint8_t, N> bytes{};

  // An all-zero id is invalid everywhere in OpenTelemetry and W3C.
  bool valid() const;
  // Lower-case hex, 2*N characters.
  std::string hex() const;
  // Exactly 2*N hex digits (either case); nothing for anything else.
  static std::optional<Id> from_hex(std::string_view text);
  // Exactly N bytes; nothing for anything else.
  static std::optional<Id> from_bytes(std::string_view raw);
  std::string_view raw() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

  auto operator<=>(const Id&) const = default;
};

using TraceId = Id<16>;
using SpanId = Id<8>;

// Fresh ids from a per-thread generator seeded by the kernel (getrandom) and
// reseeded after fork, so a parent and its child never hand out the same ids.
TraceId random_trace_id();
SpanId random_span_id();

inline constexpr std::uint8_t kSampledFlag = 0x01;

// W3C tracestate: an ordered list of vendor entries, at most 32.
class TraceState {
 public:
  static constexpr std::size_t kMaxEntries = 32;

  TraceState() = default;
  // Nothing when any member is invalid: W3C says to discard the whole header.
  // Empty members (",,") are allowed and skipped.
  static std::optional<TraceState> parse(std::string_view header);
  std::string serialize() const;

  std::optional<std::string> get(std::string_view key) const;
  // A new or updated entry moves to the front; false (and no change) when the
  // key or value is not valid W3C. The oldest entry drops when full.
  bool set(std::string_view key, std::string_view value);
  void erase(std::string_view key);

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

  static bool valid_key(std::string_view key);
  static bool valid_value(std::string_view value);

  bool operator==(const TraceState&) const = default;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// What identifies a span to its children and to other processes.
struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  std::uint8_t flags = 0;
  TraceState trace_state;
  // True when it came from another process (extracted by a propagator).
  bool remote = false;

  bool valid() const { return trace_id.valid() && span_id.valid(); }
  bool sampled() const { return (flags & kSampledFlag) != 0; }
  bool operator==(const SpanContext&) const = default;
};

}  // namespace wasmshim::otel
