// The ttrpc frame: a 10-byte header (data length and stream id as big-endian
// uint32, message type, flags) followed by the data. FrameDecoder cuts a byte
// stream into frames without ever allocating more than the size limit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace wasmshim::ttrpc {

inline constexpr std::size_t kFrameHeaderSize = 10;
// The protocol's maximum data length; larger frames are rejected.
inline constexpr std::uint32_t kMaxMessageSize = 4u << 20;

enum class MessageType : std::uint8_t {
  kRequest = 0x1,
  kResponse = 0x2,
  kData = 0x3,
};

// Flag bits; their meaning depends on the message type.
inline constexpr std::uint8_t kFlagRemoteClosed = 0x1;
inline constexpr std::uint8_t kFlagRemoteOpen = 0x2;
inline constexpr std::uint8_t kFlagNoData = 0x4;

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint32_t stream_id = 0;
  // Raw byte: types this library does not know are passed on, not rejected,
  // so that peers speaking a newer protocol version can be ignored politely.
  std::uint8_t type = 0;
  std::uint8_t flags = 0;

  bool operator==(const FrameHeader&) const = default;
};

using EncodedHeader = std::array<std::uint8_t, kFrameHeaderSize>;

EncodedHeader encode_header(const FrameHeader& header);
FrameHeader decode_header(std::span<const std::uint8_t, kFrameHeaderSize> bytes);

// Header and data in one buffer, ready to write. Throws std::length_error when
// the data exceeds kMaxMessageSize.
std::string encode_frame(std::uint32_t stream_id, MessageType type, std::uint8_t flags,
                         std::string_view data);

struct Frame {
  FrameHeader header;
  std::string data;
};

// What FrameDecoder::next() found.
struct DecodedFrame {
  enum class Kind {
    kFrame,      // header and complete data
    kOversized,  // header only; the data is being discarded as it arrives
  };
  Kind kind = Kind::kFrame;
  Frame frame;
};

// Incremental decoder: feed() whatever a read() returned, then call next()
// until it returns nothing. Partial headers and partial data are kept between
// calls. An oversized frame is reported once, as soon as its header is
// complete, and its data is skipped without being buffered.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_data = kMaxMessageSize) : max_data_(max_data) {}

  void feed(std::span<const std::uint8_t> bytes);
  void feed(std::string_view bytes);
  std::optional<DecodedFrame> next();

  // Bytes received but not yet returned as part of a frame (excluding skipped data).
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // True when no partial frame is pending: a clean place for the stream to end.
  bool at_frame_boundary() const { return buffered() == 0 && discard_remaining_ == 0; }

 private:
  void compact();

  std::uint32_t max_data_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::uint64_t discard_remaining_ = 0;
};

}  // namespace wasmshim::ttrpc
