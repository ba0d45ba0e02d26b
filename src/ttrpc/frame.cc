#include "wasmshim/ttrpc/frame.h"

#include <stdexcept>

namespace wasmshim::ttrpc {
namespace {

void put_be32(std::uint8_t* out, std::uint32_t value) {
  out[0] = static_cast<std::uint8_t>(value >> 24);
  out[1] = static_cast<std::uint8_t>(value >> 16);
  out[2] = static_cast<std::uint8_t>(value >> 8);
  out[3] = static_cast<std::uint8_t>(value);
}

std::uint32_t get_be32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

}  // namespace

EncodedHeader encode_header(const FrameHeader& header) {
  EncodedHeader out{};
  put_be32(out.data(), header.length);
  put_be32(out.data() + 4, header.stream_id);
  out[8] = header.type;
  out[9] = header.flags;
  return out;
}

FrameHeader decode_header(std::span<const std::uint8_t, kFrameHeaderSize> bytes) {
  return FrameHeader{get_be32(bytes.data()), get_be32(bytes.data() + 4), bytes[8], bytes[9]};
}

std::string encode_frame(std::uint32_t stream_id, MessageType type, std::uint8_t flags,
                         std::string_view data) {
  if (data.size() > kMaxMessageSize) {
    throw std::length_error("ttrpc message of " + std::to_string(data.size()) +
                            " bytes exceeds the maximum of " + std::to_string(kMaxMessageSize));
  }
  FrameHeader header{static_cast<std::uint32_t>(data.size()), stream_id,
                     static_cast<std::uint8_t>(type), flags};
  EncodedHeader encoded = encode_header(header);
  std::string out;
  out.reserve(kFrameHeaderSize + data.size());
  out.append(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  out.append(data);
  return out;
}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void FrameDecoder::feed(std::string_view bytes) {
  // Data of an oversized frame is dropped on arrival, never buffered.
  if (discard_remaining_ > 0) {
    std::size_t skip = bytes.size() < discard_remaining_
                           ? bytes.size()
                           : static_cast<std::size_t>(discard_remaining_);
    discard_remaining_ -= skip;
    bytes.remove_prefix(skip);
  }
  compact();
  buffer_.append(bytes);
}

void FrameDecoder::compact() {
  // Drop consumed bytes once they dominate, so the buffer stays small without
  // moving data on every frame.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
}

std::optional<DecodedFrame> FrameDecoder::next() {
  if (discard_remaining_ > 0 || buffered() < kFrameHeaderSize) {
    return std::nullopt;
  }
  const auto* base = reinterpret_cast<const std::uint8_t*>(buffer_.data()) + consumed_;
  FrameHeader header =
      decode_header(std::span<const std::uint8_t, kFrameHeaderSize>(base, kFrameHeaderSize));
  if (header.length > max_data_) {
    consumed_ += kFrameHeaderSize;
    std::size_t available = buffered();
    std::size_t skip = available < header.length ? available : header.length;
    consumed_ += skip;
    discard_remaining_ = header.length - skip;
    compact();
    return DecodedFrame{DecodedFrame::Kind::kOversized, Frame{header, {}}};
  }
  if (buffered() < kFrameHeaderSize + header.length) {
    return std::nullopt;
  }
  DecodedFrame out{DecodedFrame::Kind::kFrame,
                   Frame{header, buffer_.substr(consumed_ + kFrameHeaderSize, header.length)}};
  consumed_ += kFrameHeaderSize + header.length;
  compact();
  return out;
}

}  // namespace wasmshim::ttrpc
