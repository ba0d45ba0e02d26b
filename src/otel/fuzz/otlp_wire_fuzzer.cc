// libFuzzer: a span stream's messages (what a container writes for its shim
// to read) never crash the reader, and whatever it reads it writes back as
// a request that reads the same again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "otlp_wire.h"

using namespace wasmshim::otel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  SharedGroups groups;
  std::vector<SpanData> spans;
  if (!otlp::decode_export_request(bytes, groups, spans)) {
    return 0;
  }
  std::string written;
  otlp::append_export_request(spans, written);
  SharedGroups groups_again;
  std::vector<SpanData> again;
  std::string written_again;
  if (!otlp::decode_export_request(written, groups_again, again)) {
    std::abort();
  }
  otlp::append_export_request(again, written_again);
  if (written_again != written) {
    std::abort();
  }
  return 0;
}
