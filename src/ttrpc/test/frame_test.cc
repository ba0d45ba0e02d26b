#include "wasmshim/ttrpc/frame.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "test_util.h"

namespace wasmshim::ttrpc {
namespace {

using testing::bytes_of;

TEST(FrameHeader, EncodesBigEndianFieldsInOrder) {
  EncodedHeader encoded = encode_header(FrameHeader{0x01020304, 0x0a0b0c0d, 0x02, 0x05});
  std::string got(encoded.begin(), encoded.end());
  EXPECT_EQ(got, bytes_of({1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 5}));
}

TEST(FrameHeader, DecodeInvertsEncode) {
  FrameHeader header{4u << 20, 0xfffffffd, 0x7f, 0xff};
  EncodedHeader encoded = encode_header(header);
  EXPECT_EQ(decode_header(encoded), header);
}

TEST(FrameEncode, PrefixesHeaderToData) {
  std::string frame = encode_frame(7, MessageType::kResponse, kFlagRemoteClosed, "abc");
  EXPECT_EQ(frame, bytes_of({0, 0, 0, 3, 0, 0, 0, 7, 2, 1}) + "abc");
}

TEST(FrameEncode, RejectsDataOverTheLimit) {
  std::string big(kMaxMessageSize + 1, 'x');
  EXPECT_THROW(encode_frame(1, MessageType::kRequest, 0, big), std::length_error);
  std::string max(kMaxMessageSize, 'x');
  EXPECT_EQ(encode_frame(1, MessageType::kRequest, 0, max).size(),
            kMaxMessageSize + kFrameHeaderSize);
}

TEST(FrameDecoder, NeedsWholeHeaderAndData) {
  FrameDecoder decoder;
  EXPECT_FALSE(decoder.next());
  std::string frame = encode_frame(3, MessageType::kRequest, 0, "hello");
  decoder.feed(std::string_view(frame).substr(0, 9));
  EXPECT_FALSE(decoder.next());
  decoder.feed(std::string_view(frame).substr(9, 3));
  EXPECT_FALSE(decoder.next());
  EXPECT_FALSE(decoder.at_frame_boundary());
  decoder.feed(std::string_view(frame).substr(12));
  auto got = decoder.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, DecodedFrame::Kind::kFrame);
  EXPECT_EQ(got->frame.header.stream_id, 3u);
  EXPECT_EQ(got->frame.data, "hello");
  EXPECT_TRUE(decoder.at_frame_boundary());
}

TEST(FrameDecoder, ByteByByteStreamOfManyFrames) {
  std::string stream;
  for (std::uint32_t id = 1; id < 200; id += 2) {
    stream += encode_frame(id, MessageType::kResponse, 0, std::string(id % 17, 'a'));
  }
  FrameDecoder decoder;
  std::uint32_t expected = 1;
  for (char c : stream) {
    decoder.feed(std::string_view(&c, 1));
    while (auto got = decoder.next()) {
      EXPECT_EQ(got->frame.header.stream_id, expected);
      EXPECT_EQ(got->frame.data, std::string(expected % 17, 'a'));
      expected += 2;
    }
  }
  EXPECT_EQ(expected, 201u);
  EXPECT_TRUE(decoder.at_frame_boundary());
}

TEST(FrameDecoder, ManyFramesInOneFeed) {
  std::string stream = encode_frame(1, MessageType::kRequest, 0, "a") +
                       encode_frame(3, MessageType::kRequest, 0, "") +
                       encode_frame(5, MessageType::kData, kFlagRemoteClosed, "ccc");
  FrameDecoder decoder;
  decoder.feed(stream);
  auto a = decoder.next();
  auto b = decoder.next();
  auto c = decoder.next();
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(decoder.next());
  EXPECT_EQ(a->frame.data, "a");
  EXPECT_EQ(b->frame.data, "");
  EXPECT_EQ(c->frame.header.type, 3);
  EXPECT_EQ(c->frame.header.flags, kFlagRemoteClosed);
}

TEST(FrameDecoder, UnknownTypePassesThroughUntouched) {
  std::string frame = encode_frame(9, MessageType::kRequest, 0, "x");
  frame[8] = static_cast<char>(0x42);
  FrameDecoder decoder;
  decoder.feed(frame);
  auto got = decoder.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, DecodedFrame::Kind::kFrame);
  EXPECT_EQ(got->frame.header.type, 0x42);
}

TEST(FrameDecoder, OversizedFrameIsReportedAndSkippedWithoutBuffering) {
  const std::uint32_t length = kMaxMessageSize + 100;
  FrameHeader header{length, 11, 1, 0};
  EncodedHeader encoded = encode_header(header);
  FrameDecoder decoder;
  decoder.feed(std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  auto got = decoder.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, DecodedFrame::Kind::kOversized);
  EXPECT_EQ(got->frame.header.stream_id, 11u);
  EXPECT_TRUE(got->frame.data.empty());
  // The data arrives in pieces and is dropped, never held.
  std::string piece(std::size_t{64} * 1024, 'z');
  std::uint32_t sent = 0;
  while (sent + piece.size() <= length) {
    decoder.feed(piece);
    sent += static_cast<std::uint32_t>(piece.size());
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_FALSE(decoder.next());
  }
  // The tail of the oversized data and the next frame in one read.
  std::string tail(length - sent, 'z');
  decoder.feed(tail + encode_frame(13, MessageType::kRequest, 0, "next"));
  auto following = decoder.next();
  ASSERT_TRUE(following);
  EXPECT_EQ(following->kind, DecodedFrame::Kind::kFrame);
  EXPECT_EQ(following->frame.header.stream_id, 13u);
  EXPECT_EQ(following->frame.data, "next");
}

TEST(FrameDecoder, HugeLengthInReservedByteIsOversized) {
  // 0xff in the reserved first byte: a 4 GiB claim must not allocate.
  std::string frame = bytes_of({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1, 0});
  FrameDecoder decoder;
  decoder.feed(frame);
  auto got = decoder.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, DecodedFrame::Kind::kOversized);
  EXPECT_EQ(got->frame.header.length, 0xffffffffu);
  EXPECT_FALSE(decoder.at_frame_boundary());
}

TEST(FrameDecoder, TruncatedFrameLeavesPartialState) {
  std::string frame = encode_frame(1, MessageType::kRequest, 0, "0123456789");
  FrameDecoder decoder;
  decoder.feed(std::string_view(frame).substr(0, frame.size() - 1));
  EXPECT_FALSE(decoder.next());
  EXPECT_FALSE(decoder.at_frame_boundary());
  EXPECT_EQ(decoder.buffered(), frame.size() - 1);
}

TEST(FrameDecoder, CustomLimit) {
  FrameDecoder decoder(4);
  decoder.feed(encode_frame(1, MessageType::kRequest, 0, "12345") +
               encode_frame(3, MessageType::kRequest, 0, "1234"));
  auto first = decoder.next();
  auto second = decoder.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->kind, DecodedFrame::Kind::kOversized);
  EXPECT_EQ(second->kind, DecodedFrame::Kind::kFrame);
  EXPECT_EQ(second->frame.data, "1234");
}

}  // namespace
}  // namespace wasmshim::ttrpc
