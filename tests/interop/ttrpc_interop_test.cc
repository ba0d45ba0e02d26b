// wasmshim's ttrpc against the Go ttrpc library (the one containerd uses),
// both directions: the Go client calling our server, our client calling the
// Go server. The Go side is tests/interop/go-ttrpc-peer.
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/thread_waits.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/frame.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::ttrpc {
namespace {

using google::protobuf::StringValue;
using wasmshim::testing::ChildProcess;
using wasmshim::testing::run;
using wasmshim::testing::TempDir;
using namespace std::chrono_literals;

constexpr const char* kPeer = GO_TTRPC_PEER;
constexpr const char* kService = "wasmshim.interop.v1.Peer";

StringValue string_value(std::string value) {
  StringValue v;
  v.set_value(std::move(value));
  return v;
}

using StringHandler = std::function<Status(ServerContext&, const StringValue&, StringValue&)>;

// Our server with the same Peer service the Go peer serves.
class OurServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add("Echo", [](ServerContext&, const StringValue& in, StringValue& out) {
      out.set_value(in.value());
      return Status::ok();
    });
    add("Metadata", [](ServerContext& context, const StringValue&, StringValue& out) {
      std::map<std::string, std::vector<std::string>> sorted;
      for (const auto& [key, value] : context.metadata()) {
        sorted[key].push_back(value);
      }
      std::string text;
      for (const auto& [key, values] : sorted) {
        text += key + "=";
        for (std::size_t i = 0; i < values.size(); ++i) {
          text += (i ? "," : "") + values[i];
        }
        text += ";";
      }
      out.set_value(text);
      return Status::ok();
    });
    add("Fail", [](ServerContext&, const StringValue& in, StringValue&) {
      auto colon = in.value().find(':');
      return Status(static_cast<StatusCode>(std::stoi(in.value().substr(0, colon))),
                    in.value().substr(colon + 1));
    });
    add("Deadline", [](ServerContext& context, const StringValue&, StringValue& out) {
      out.set_value(context.deadline() ? "deadline" : "none");
      return Status::ok();
    });
    server_.listen(dir_.socket("peer.sock"));
  }

  void add(const std::string& method, StringHandler fn) {
    server_.register_method(kService, method,
                            typed_handler<StringValue, StringValue>(std::move(fn)));
  }

  nlohmann::json go_call(std::vector<std::string> args) {
    std::vector<std::string> argv = {kPeer, "call", dir_.socket("peer.sock")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run(argv);
    EXPECT_EQ(result.status, 0) << result.out;
    return nlohmann::json::parse(result.out);
  }

  TempDir dir_;
  Server server_;
};

TEST_F(OurServerTest, GoClientEcho) {
  auto answer = go_call({"Echo", "hello from go"});
  EXPECT_EQ(answer["code"], 0);
  EXPECT_EQ(answer["payload"], "hello from go");
}

TEST_F(OurServerTest, GoClientMetadataArrives) {
  auto answer = go_call({"Metadata", "", "TraceParent=00-abc-def-01", "k=1", "k=2"});
  EXPECT_EQ(answer["code"], 0);
  // The Go library lower-cases keys; repeated values keep their order.
  EXPECT_EQ(answer["payload"], "k=1,2;traceparent=00-abc-def-01;");
}

TEST_F(OurServerTest, GoClientSeesOurErrorStatuses) {
  for (int code : {3, 5, 9, 13, 14}) {
    auto answer = go_call({"Fail", std::to_string(code) + ":reason " + std::to_string(code)});
    EXPECT_EQ(answer["code"], code);
    EXPECT_EQ(answer["message"], "reason " + std::to_string(code));
  }
}

TEST_F(OurServerTest, GoClientUnknownMethodIsUnimplemented) {
  auto answer = go_call({"NoSuchMethod", ""});
  EXPECT_EQ(answer["code"], static_cast<int>(StatusCode::kUnimplemented));
}

TEST_F(OurServerTest, GoClientTimeoutReachesOurHandlerAsADeadline) {
  EXPECT_EQ(go_call({"Deadline", "", "-timeout", "30s"})["payload"], "deadline");
  EXPECT_EQ(go_call({"Deadline", ""})["payload"], "none");
}

TEST_F(OurServerTest, GoClientThousandConcurrentCallsMatch) {
  auto result = run({kPeer, "concurrent", dir_.socket("peer.sock"), "1000"});
  ASSERT_EQ(result.status, 0);
  auto counts = nlohmann::json::parse(result.out);
  EXPECT_EQ(counts["matched"], 1000);
  EXPECT_EQ(counts["mismatched"], 0);
}

// The Go server, our client.
class GoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kPeer, "serve", dir_.socket("peer.sock")});
    auto line = peer_->read_line();
    ASSERT_EQ(line, "ready");
    client_ = Client::connect(dir_.socket("peer.sock"), 10s);
  }

  void TearDown() override {
    client_.reset();
    peer_->signal(SIGTERM);
    peer_->wait();
  }

  Status call(const std::string& method, const std::string& value, StringValue& out,
              const CallOptions& options = {}) {
    return typed_call(*client_, kService, method, string_value(value), out, options);
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> peer_;
  std::unique_ptr<Client> client_;
};

TEST_F(GoServerTest, Echo) {
  StringValue out;
  Status status = call("Echo", "hello from c++", out);
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(out.value(), "hello from c++");
}

TEST_F(GoServerTest, MetadataArrives) {
  CallOptions options;
  options.metadata.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  options.metadata.add("containerd-namespace", "default");
  options.metadata.add("multi", "x");
  options.metadata.add("multi", "y");
  StringValue out;
  ASSERT_TRUE(call("Metadata", "", out, options).is_ok());
  EXPECT_EQ(out.value(),
            "containerd-namespace=default;multi=x,y;"
            "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01;");
}

TEST_F(GoServerTest, ErrorStatusesArrive) {
  StringValue out;
  Status status = call("Fail", "5:no such container", out);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such container");
  status = call("Fail", "9:task must be stopped", out);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
}

TEST_F(GoServerTest, UnknownMethodAndServiceAreUnimplemented) {
  StringValue out;
  EXPECT_EQ(call("Nope", "", out).code(), StatusCode::kUnimplemented);
  Response raw = client_->call("no.such.Service", "Echo", "");
  EXPECT_EQ(raw.status.code(), StatusCode::kUnimplemented);
}

TEST_F(GoServerTest, OurTimeoutReachesTheGoHandler) {
  CallOptions options;
  options.timeout = 30s;
  StringValue out;
  ASSERT_TRUE(call("Deadline", "", out, options).is_ok());
  EXPECT_EQ(out.value(), "deadline");
  ASSERT_TRUE(call("Deadline", "", out).is_ok());
  EXPECT_EQ(out.value(), "none");
}

TEST_F(GoServerTest, DeadlineExceeded) {
  CallOptions options;
  options.timeout = 50ms;
  StringValue out;
  EXPECT_EQ(call("Sleep", "10000", out, options).code(), StatusCode::kDeadlineExceeded);
  // The connection is still usable.
  EXPECT_TRUE(call("Echo", "after", out).is_ok());
}

TEST_F(GoServerTest, ThousandConcurrentCallsOverEightConnections) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(Client::connect(dir_.socket("peer.sock"), 10s));
  }
  std::atomic<int> matched{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 32; ++t) {
    callers.emplace_back([&, t] {
      Client& client = *clients[static_cast<std::size_t>(t % 8)];
      for (int i = 0; i < 1000 / 32 + 1; ++i) {
        std::string want = std::to_string(t) + "/" + std::to_string(i);
        StringValue out;
        if (typed_call(client, kService, "Echo", string_value(want), out).is_ok() &&
            out.value() == want) {
          matched.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_EQ(matched.load(), 32 * (1000 / 32 + 1));
}

TEST_F(GoServerTest, GoAnswerToAnOversizedFrameDecodes) {
  // Our frame codec against the Go library's handling of a frame over 4 MiB:
  // it discards the data and answers RESOURCE_EXHAUSTED on the same stream.
  UniqueFd raw = connect_unix(dir_.socket("peer.sock"), 10s);
  std::string frame(kFrameHeaderSize, '\0');
  EncodedHeader header = encode_header(FrameHeader{kMaxMessageSize + 1, 3, 1, 0});
  std::copy(header.begin(), header.end(), frame.begin());
  frame += std::string(kMaxMessageSize + 1, 'z');
  frame += encode_frame(
      5, MessageType::kRequest, 0,
      encode_request(Request{kService, "Echo", string_value("after").SerializeAsString(), 0, {}}));
  std::thread writer([&] {
    std::string_view rest = frame;
    while (!rest.empty()) {
      ssize_t n = ::send(raw.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  });
  FrameDecoder decoder;
  std::vector<Frame> frames;
  char buffer[4096];
  while (frames.size() < 2) {
    ssize_t n = ::recv(raw.get(), buffer, sizeof buffer, 0);
    if (n <= 0) {
      break;
    }
    decoder.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    while (auto decoded = decoder.next()) {
      frames.push_back(decoded->frame);
    }
  }
  writer.join();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header.stream_id, 3u);
  EXPECT_EQ(frames[0].header.type, static_cast<std::uint8_t>(MessageType::kResponse));
  auto refused = decode_response(frames[0].data);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(frames[1].header.stream_id, 5u);
  auto answered = decode_response(frames[1].data);
  ASSERT_TRUE(answered);
  StringValue out;
  ASSERT_TRUE(out.ParseFromString(answered->payload));
  EXPECT_EQ(out.value(), "after");
}

TEST_F(GoServerTest, PeerDeathFailsWaitingCalls) {
  std::vector<std::thread> callers;
  std::vector<std::promise<pid_t>> caller_ids(4);
  std::atomic<int> unavailable{0};
  for (auto& caller_id : caller_ids) {
    callers.emplace_back([&] {
      caller_id.set_value(wasmshim::testing::current_thread_id());
      StringValue out;
      CallOptions options;
      options.timeout = 120s;  // a deadline: the wait shows as a condition wait
      if (call("Sleep", "60000", out, options).code() == StatusCode::kUnavailable) {
        unavailable.fetch_add(1);
      }
    });
  }
  // Each call has sent its request and sleeps for the answer...
  bool all_waiting = true;
  for (auto& caller_id : caller_ids) {
    all_waiting = wasmshim::testing::wait_until_in_condition_wait(caller_id.get_future().get()) &&
                  all_waiting;
  }
  // ...and the peer has read them all: it answers a call sent after them on
  // the same connection.
  StringValue echoed;
  const Status echo = call("Echo", "after the sleepers", echoed);
  peer_->signal(SIGKILL);
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_TRUE(all_waiting) << "not every call was waiting for its answer";
  EXPECT_TRUE(echo.is_ok()) << echo.to_string();
  EXPECT_EQ(unavailable.load(), 4);
  EXPECT_FALSE(client_->is_open());
}

}  // namespace
}  // namespace wasmshim::ttrpc
