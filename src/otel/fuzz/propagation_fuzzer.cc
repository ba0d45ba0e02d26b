// libFuzzer: W3C traceparent, tracestate and baggage parsing never crash,
// and whatever parses survives a format/parse round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wasmshim/otel/propagation.h"

using namespace wasmshim::otel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto context = parse_traceparent(text)) {
    if (!context->valid()) {
      std::abort();
    }
    auto again = parse_traceparent(format_traceparent(*context));
    if (!again || *again != *context) {
      std::abort();
    }
  }
  if (auto state = TraceState::parse(text)) {
    if (state->size() > TraceState::kMaxEntries) {
      std::abort();
    }
    auto again = TraceState::parse(state->serialize());
    if (!again || *again != *state) {
      std::abort();
    }
  }
  if (auto baggage = parse_baggage(text)) {
    auto again = parse_baggage(format_baggage(*baggage));
    if (!again || *again != *baggage) {
      std::abort();
    }
  }
  return 0;
}
