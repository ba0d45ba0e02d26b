// libFuzzer: OTLP/JSON from outside (the receiver's input) never crashes,
// and what decodes encodes back to JSON that decodes to the same message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "otlp_encoding.h"

using namespace wasmshim::otel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  otlp::ExportRequest request;
  std::string error;
  if (!otlp::from_json(text, request, error)) {
    return 0;
  }
  otlp::ExportRequest again;
  if (!otlp::from_json(otlp::to_json(request), again, error) ||
      again.SerializeAsString() != request.SerializeAsString()) {
    std::abort();
  }
  return 0;
}
