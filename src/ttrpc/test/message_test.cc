#include "wasmshim/ttrpc/message.h"

#include <gtest/gtest.h>

#include "proto/wire.pb.h"
#include "test_util.h"

namespace wasmshim::ttrpc {
namespace {

using testing::bytes_of;

TEST(Message, RequestRoundTrip) {
  Request request{"containerd.task.v2.Task", "Create", std::string("\0\1\2", 3), 1500000000,
                  Metadata{{"traceparent", "00-abc"}, {"x", "1"}, {"x", "2"}}};
  auto decoded = decode_request(encode_request(request));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->service, request.service);
  EXPECT_EQ(decoded->method, request.method);
  EXPECT_EQ(decoded->payload, request.payload);
  EXPECT_EQ(decoded->timeout_nano, 1500000000);
  EXPECT_EQ(decoded->metadata, request.metadata);
  EXPECT_EQ(decoded->metadata.get_all("x"), (std::vector<std::string>{"1", "2"}));
}

TEST(Message, RequestFieldNumbersMatchTheProtocol) {
  // Hand-assembled: service=1 "s", method=2 "m", payload=3 "p", timeout_nano=4 5,
  // metadata=5 {key=1 "k", value=2 "v"}.
  std::string wire = bytes_of(
      {0x0a, 1, 's', 0x12, 1, 'm', 0x1a, 1, 'p', 0x20, 5, 0x2a, 6, 0x0a, 1, 'k', 0x12, 1, 'v'});
  auto decoded = decode_request(wire);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->service, "s");
  EXPECT_EQ(decoded->method, "m");
  EXPECT_EQ(decoded->payload, "p");
  EXPECT_EQ(decoded->timeout_nano, 5);
  EXPECT_EQ(decoded->metadata.get("k"), "v");
  EXPECT_EQ(encode_request(*decoded), wire);
}

TEST(Message, ResponseFieldNumbersMatchTheProtocol) {
  // status=1 {code=1 5, message=2 "no"}, payload=2 "x".
  std::string wire = bytes_of({0x0a, 6, 0x08, 5, 0x12, 2, 'n', 'o', 0x12, 1, 'x'});
  auto decoded = decode_response(wire);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->status.code(), StatusCode::kNotFound);
  EXPECT_EQ(decoded->status.message(), "no");
  EXPECT_EQ(decoded->payload, "x");
}

TEST(Message, ResponseWithDetailsRoundTrip) {
  Status status(StatusCode::kFailedPrecondition, "task is running");
  status.add_detail({"type.googleapis.com/foo.Bar", "\x08\x01"});
  auto decoded = decode_response(encode_response(Response{status, ""}));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->status, status);
}

TEST(Message, OkResponseCarriesAStatus) {
  wire::Response parsed;
  ASSERT_TRUE(parsed.ParseFromString(encode_response(Response{Status::ok(), "p"})));
  EXPECT_TRUE(parsed.has_status());
  EXPECT_EQ(parsed.status().code(), 0);
  EXPECT_EQ(parsed.payload(), "p");
}

TEST(Message, GarbageIsRejected) {
  EXPECT_FALSE(decode_request(bytes_of({0xff, 0xff, 0xff})));
  EXPECT_FALSE(decode_request(bytes_of({0x0a, 10, 'a'})));  // length past the end
  EXPECT_FALSE(decode_response(bytes_of({0x0a, 0x80})));    // truncated varint
}

TEST(Message, EmptyBytesAreAnEmptyMessage) {
  auto request = decode_request("");
  ASSERT_TRUE(request);
  EXPECT_TRUE(request->service.empty());
  auto response = decode_response("");
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->status.is_ok());
}

TEST(Metadata, KeysAreCaseInsensitive) {
  Metadata md;
  md.add("TraceParent", "a");
  EXPECT_EQ(md.get("traceparent"), "a");
  md.set("TRACEPARENT", "b");
  EXPECT_EQ(md.get_all("traceparent"), std::vector<std::string>{"b"});
  md.erase("traceParent");
  EXPECT_TRUE(md.empty());
  EXPECT_FALSE(md.get("traceparent"));
}

TEST(Status, NamesAndText) {
  EXPECT_EQ(status_code_name(StatusCode::kUnimplemented), "UNIMPLEMENTED");
  EXPECT_EQ(status_code_name(static_cast<StatusCode>(99)), "CODE(99)");
  EXPECT_EQ(Status(StatusCode::kNotFound, "no task").to_string(), "NOT_FOUND: no task");
  EXPECT_EQ(Status::ok().to_string(), "OK");
  StatusError error(StatusCode::kAborted, "why");
  EXPECT_STREQ(error.what(), "ABORTED: why");
  EXPECT_EQ(error.status().code(), StatusCode::kAborted);
}

}  // namespace
}  // namespace wasmshim::ttrpc
