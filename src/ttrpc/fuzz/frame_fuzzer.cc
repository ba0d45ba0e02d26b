// libFuzzer target: arbitrary bytes as a ttrpc byte stream. The decoder must
// never crash, hang or allocate beyond the frame limit, and whatever decodes
// as a request or response must survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wasmshim/ttrpc/frame.h"
#include "wasmshim/ttrpc/message.h"

using namespace wasmshim::ttrpc;

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

void check_request_round_trip(const Request& request) {
  auto again = decode_request(encode_request(request));
  check(again.has_value());
  check(again->service == request.service && again->method == request.method &&
        again->payload == request.payload && again->timeout_nano == request.timeout_nano &&
        again->metadata == request.metadata);
}

void check_response_round_trip(const Response& response) {
  auto again = decode_response(encode_response(response));
  check(again.has_value());
  check(again->status == response.status && again->payload == response.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks how the stream is cut into reads, so partial headers
  // and partial data are explored too.
  std::size_t chunk = 1 + data[0] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  // A small limit so oversized frames are reachable with small inputs.
  FrameDecoder decoder(256);
  std::size_t seen = 0;
  while (!stream.empty()) {
    std::size_t n = stream.size() < chunk ? stream.size() : chunk;
    decoder.feed(stream.substr(0, n));
    stream.remove_prefix(n);
    while (auto decoded = decoder.next()) {
      check(decoded->frame.data.size() <= 256);
      seen += decoded->frame.data.size();
      if (decoded->kind != DecodedFrame::Kind::kFrame) {
        continue;
      }
      if (auto request = decode_request(decoded->frame.data)) {
        check_request_round_trip(*request);
      }
      if (auto response = decode_response(decoded->frame.data)) {
        check_response_round_trip(*response);
      }
    }
    check(decoder.buffered() <= size);
  }
  check(seen <= size);
  return 0;
}
