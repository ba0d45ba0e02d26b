#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_util.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::ttrpc {
namespace {

using testing::eventually;
using testing::RawConnection;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr const char* kService = "test.v1.Echo";

// A latch a test opens to let blocked handlers go on.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class ServerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(options_);
    server_->register_method(
        kService, "Echo",
        [](ServerContext&, std::string_view payload) -> Reply { return std::string(payload); });
    server_->register_method(kService, "Metadata",
                             [](ServerContext& context, std::string_view) -> Reply {
                               std::string out;
                               for (const auto& [key, value] : context.metadata()) {
                                 out += key + "=" + value + ";";
                               }
                               return out;
                             });
    server_->register_method(
        kService, "Fail", [](ServerContext&, std::string_view payload) -> Reply {
          return Status(StatusCode::kNotFound, "no such thing: " + std::string(payload));
        });
    server_->register_method(kService, "Throw", [](ServerContext&, std::string_view) -> Reply {
      throw std::runtime_error("handler exploded");
    });
    server_->register_method(kService, "ThrowStatus",
                             [](ServerContext&, std::string_view) -> Reply {
                               throw StatusError(StatusCode::kFailedPrecondition, "not now");
                             });
    server_->register_method(kService, "Block",
                             [this](ServerContext& context, std::string_view payload) -> Reply {
                               entered_.fetch_add(1);
                               gate_.wait();
                               if (context.cancelled()) {
                                 saw_cancelled_.fetch_add(1);
                               }
                               return std::string(payload);
                             });
    server_->register_method(kService, "Deadline",
                             [this](ServerContext& context, std::string_view) -> Reply {
                               entered_.fetch_add(1);
                               had_deadline_ = context.deadline().has_value();
                               // Wait until the caller's deadline passes, as a slow handler would.
                               while (!context.cancelled()) {
                                 std::this_thread::sleep_for(1ms);
                               }
                               return std::string("too late");
                             });
    server_->register_method(
        kService, "Jitter", [](ServerContext&, std::string_view payload) -> Reply {
          thread_local std::minstd_rand random(std::random_device{}());
          std::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
          return std::string(payload);
        });
    server_->listen(address());
  }

  void TearDown() override {
    gate_.open();
    server_.reset();
  }

  std::string address() const { return "unix://" + dir_.socket(); }
  std::unique_ptr<Client> connect() { return Client::connect(address(), 5s); }

  TempDir dir_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  Gate gate_;
  std::atomic<int> entered_{0};
  std::atomic<int> saw_cancelled_{0};
  std::atomic<bool> had_deadline_{false};
};

TEST_F(ServerClientTest, EchoRoundTrip) {
  auto client = connect();
  Response r = client->call(kService, "Echo", std::string("bytes\0with nul", 14));
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.payload, std::string("bytes\0with nul", 14));
}

TEST_F(ServerClientTest, EmptyPayloads) {
  auto client = connect();
  Response r = client->call(kService, "Echo", "");
  EXPECT_TRUE(r.status.is_ok());
  EXPECT_EQ(r.payload, "");
}

TEST_F(ServerClientTest, MetadataReachesTheHandler) {
  auto client = connect();
  CallOptions options;
  options.metadata.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  options.metadata.add("Multi", "a");
  options.metadata.add("multi", "b");
  Response r = client->call(kService, "Metadata", "", options);
  ASSERT_TRUE(r.status.is_ok());
  EXPECT_EQ(r.payload,
            "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01;multi=a;multi=b;");
}

TEST_F(ServerClientTest, UnknownServiceAndMethodAreUnimplemented) {
  auto client = connect();
  Response r = client->call("no.Such", "Echo", "");
  EXPECT_EQ(r.status.code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status.message().find("no.Such"), std::string::npos);
  r = client->call(kService, "Nope", "");
  EXPECT_EQ(r.status.code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status.message().find("Nope"), std::string::npos);
}

TEST_F(ServerClientTest, HandlerErrorsBecomeStatuses) {
  auto client = connect();
  Response r = client->call(kService, "Fail", "cat");
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status.message(), "no such thing: cat");
  r = client->call(kService, "Throw", "");
  EXPECT_EQ(r.status.code(), StatusCode::kInternal);
  EXPECT_EQ(r.status.message(), "handler exploded");
  r = client->call(kService, "ThrowStatus", "");
  EXPECT_EQ(r.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status.message(), "not now");
  // The connection is still good afterwards.
  EXPECT_TRUE(client->call(kService, "Echo", "x").status.is_ok());
}

TEST_F(ServerClientTest, ThousandConcurrentCallsOverEightConnections) {
  constexpr int kConnections = 8;
  constexpr int kCallsPerConnection = 125;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(connect());
  }
  std::atomic<int> matched{0};
  std::atomic<int> mismatched{0};
  std::vector<std::thread> callers;
  // Many threads share each connection, so calls interleave on the wire and
  // the Jitter handler answers them out of order.
  for (int t = 0; t < 40; ++t) {
    callers.emplace_back([&, t] {
      Client& client = *clients[static_cast<std::size_t>(t % kConnections)];
      for (int i = 0; i < kCallsPerConnection * kConnections / 40; ++i) {
        std::string payload = "caller " + std::to_string(t) + " call " + std::to_string(i);
        Response r = client.call(kService, "Jitter", payload);
        if (r.status.is_ok() && r.payload == payload) {
          matched.fetch_add(1);
        } else {
          mismatched.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_EQ(matched.load(), kConnections * kCallsPerConnection);
  EXPECT_EQ(mismatched.load(), 0);
}

TEST_F(ServerClientTest, ClientDeadlineReturnsDeadlineExceededAndCancelsTheHandler) {
  auto client = connect();
  CallOptions options;
  options.timeout = 50ms;
  Response r = client->call(kService, "Deadline", "", options);
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(eventually([&] { return server_->in_flight() == 0; }));
  EXPECT_TRUE(had_deadline_.load());
  // The late answer is dropped and the connection keeps working.
  EXPECT_EQ(client->call(kService, "Echo", "after").payload, "after");
}

TEST_F(ServerClientTest, ServerAnswersDeadlineExceededWithoutRunningAnExpiredRequest) {
  // One worker, held by a blocked call: the next request waits in the queue
  // past its deadline and must not run.
  server_.reset();
  options_.max_workers = 1;
  SetUp();
  auto client = connect();
  auto blocked =
      std::async(std::launch::async, [&] { return client->call(kService, "Block", "b"); });
  ASSERT_TRUE(eventually([&] { return entered_.load() == 1; }));
  RawConnection raw(address());
  raw.send_request(1,
                   Request{kService, "Block", "late", std::chrono::nanoseconds(20ms).count(), {}});
  ASSERT_TRUE(eventually([&] { return server_->in_flight() == 2; }));  // queued behind "b"
  std::this_thread::sleep_for(60ms);  // let its deadline pass while it waits
  gate_.open();
  auto answer = raw.read_response(1);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(blocked.get().payload, "b");
  EXPECT_EQ(entered_.load(), 1);  // the expired request never reached the handler
}

TEST_F(ServerClientTest, GracefulShutdownFinishesCallsInFlight) {
  auto client = connect();
  std::vector<std::future<Response>> calls;
  for (int i = 0; i < 5; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return client->call(kService, "Block", "in flight " + std::to_string(i));
    }));
  }
  ASSERT_TRUE(eventually([&] { return entered_.load() == 5; }));
  auto stopped = std::async(std::launch::async, [&] { return server_->shutdown(30s); });
  // While draining: no new connections, and new requests are refused.
  ASSERT_TRUE(eventually([&] {
    try {
      connect_unix(address());
      return false;
    } catch (const std::system_error&) {
      return true;
    }
  }));
  Response refused = client->call(kService, "Echo", "new");
  EXPECT_EQ(refused.status.code(), StatusCode::kUnavailable);
  gate_.open();
  for (int i = 0; i < 5; ++i) {
    Response r = calls[static_cast<std::size_t>(i)].get();
    EXPECT_TRUE(r.status.is_ok()) << r.status.to_string();
    EXPECT_EQ(r.payload, "in flight " + std::to_string(i));
  }
  EXPECT_TRUE(stopped.get());
  EXPECT_EQ(saw_cancelled_.load(), 0);
  // After shutdown the connection is closed.
  EXPECT_TRUE(eventually([&] { return !client->is_open(); }));
  EXPECT_EQ(client->call(kService, "Echo", "x").status.code(), StatusCode::kUnavailable);
}

TEST_F(ServerClientTest, ShutdownPastGraceCancelsHandlersAndFailsCallers) {
  auto client = connect();
  auto call = std::async(std::launch::async, [&] { return client->call(kService, "Block", "x"); });
  ASSERT_TRUE(eventually([&] { return entered_.load() == 1; }));
  EXPECT_FALSE(server_->shutdown(20ms));
  EXPECT_EQ(call.get().status.code(), StatusCode::kUnavailable);
  gate_.open();
  EXPECT_TRUE(eventually([&] { return saw_cancelled_.load() == 1; }));
}

TEST_F(ServerClientTest, BrokenConnectionFailsEveryWaitingCall) {
  auto client = connect();
  std::vector<std::future<Response>> calls;
  for (int i = 0; i < 10; ++i) {
    calls.push_back(
        std::async(std::launch::async, [&] { return client->call(kService, "Block", ""); }));
  }
  ASSERT_TRUE(eventually([&] { return entered_.load() == 10; }));
  server_->shutdown(0ms);  // drops the connection under the waiting calls
  for (auto& call : calls) {
    Response r = call.get();
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
    EXPECT_FALSE(r.status.message().empty());
  }
}

TEST_F(ServerClientTest, ClientCloseFailsWaitingCalls) {
  auto client = connect();
  auto call = std::async(std::launch::async, [&] { return client->call(kService, "Block", ""); });
  ASSERT_TRUE(eventually([&] { return entered_.load() == 1; }));
  client->close();
  Response r = call.get();
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(client->call(kService, "Echo", "").status.code(), StatusCode::kUnavailable);
}

TEST_F(ServerClientTest, OversizedRequestIsRefusedByTheClient) {
  auto client = connect();
  Response r = client->call(kService, "Echo", std::string(kMaxMessageSize, 'x'));
  EXPECT_EQ(r.status.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(client->call(kService, "Echo", "fine").status.is_ok());
}

TEST_F(ServerClientTest, NearlyMaximalPayloadRoundTrips) {
  auto client = connect();
  std::string payload(kMaxMessageSize - 1024, 'y');
  Response r = client->call(kService, "Echo", payload);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.payload.size(), payload.size());
}

TEST_F(ServerClientTest, OversizedFrameGetsResourceExhaustedAndTheConnectionLives) {
  RawConnection raw(address());
  FrameHeader header{kMaxMessageSize + 1, 5, 1, 0};
  EncodedHeader encoded = encode_header(header);
  raw.write(std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  raw.write(std::string(kMaxMessageSize + 1, 'q'));
  auto answer = raw.read_response(5);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status.code(), StatusCode::kResourceExhausted);
  raw.send_request(7, Request{kService, "Echo", "still here", 0, {}});
  auto next = raw.read_response(7);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->payload, "still here");
}

TEST_F(ServerClientTest, MalformedRequestAndEvenStreamIdAreInvalidArgument) {
  RawConnection raw(address());
  raw.write(encode_frame(1, MessageType::kRequest, 0, "\xff\xff\xff"));
  auto garbage = raw.read_response(1);
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status.code(), StatusCode::kInvalidArgument);
  raw.send_request(2, Request{kService, "Echo", "x", 0, {}});
  auto even = raw.read_response(2);
  ASSERT_TRUE(even);
  EXPECT_EQ(even->status.code(), StatusCode::kInvalidArgument);
}

TEST_F(ServerClientTest, UnknownFrameTypesAndDataFramesAreIgnored) {
  RawConnection raw(address());
  std::string unknown = encode_frame(1, MessageType::kRequest, 0, "??");
  unknown[8] = 0x09;
  raw.write(unknown);
  raw.write(encode_frame(1, MessageType::kData, kFlagRemoteClosed, "data"));
  raw.send_request(3, Request{kService, "Echo", "answered", 0, {}});
  auto answer = raw.read_response(3);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->payload, "answered");
}

TEST_F(ServerClientTest, RequestWrittenOneByteAtATime) {
  RawConnection raw(address());
  std::string frame = encode_frame(1, MessageType::kRequest, 0,
                                   encode_request(Request{kService, "Echo", "slow", 0, {}}));
  for (char c : frame) {
    raw.write(std::string_view(&c, 1));
  }
  auto answer = raw.read_response(1);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->payload, "slow");
}

TEST_F(ServerClientTest, PeerHangingUpMidFrameLeavesTheServerServing) {
  {
    RawConnection raw(address());
    std::string frame = encode_frame(1, MessageType::kRequest, 0, "partial request");
    raw.write(std::string_view(frame).substr(0, 12));
  }
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }));
  auto client = connect();
  EXPECT_TRUE(client->call(kService, "Echo", "ok").status.is_ok());
}

TEST_F(ServerClientTest, TypedHelpers) {
  server_.reset();
  server_ = std::make_unique<Server>();
  server_->register_method(
      kService, "Upper",
      typed_handler<google::protobuf::StringValue, google::protobuf::StringValue>(
          [](ServerContext&, const google::protobuf::StringValue& in,
             google::protobuf::StringValue& out) {
            std::string value = in.value();
            for (char& c : value) {
              c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            out.set_value(value);
            return Status::ok();
          }));
  server_->listen(address());
  auto client = connect();
  google::protobuf::StringValue request;
  request.set_value("shim");
  google::protobuf::StringValue response;
  Status status = typed_call(*client, kService, "Upper", request, response);
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(response.value(), "SHIM");
  // A payload that is not a StringValue is refused before the handler runs.
  Response raw = client->call(kService, "Upper", "\xff\xff");
  EXPECT_EQ(raw.status.code(), StatusCode::kInvalidArgument);
}

TEST(ServerRegistration, DuplicateAndLateRegistrationAreErrors) {
  TempDir dir;
  Server server;
  auto handler = [](ServerContext&, std::string_view) -> Reply { return std::string(); };
  server.register_method("s", "m", handler);
  EXPECT_THROW(server.register_method("s", "m", handler), std::logic_error);
  server.listen(dir.socket());
  EXPECT_THROW(server.register_method("s", "other", handler), std::logic_error);
}

TEST(ServerListen, SocketFileIsRemovedOnShutdown) {
  TempDir dir;
  {
    Server server;
    server.listen(dir.socket());
    EXPECT_TRUE(std::filesystem::exists(dir.socket()));
    EXPECT_TRUE(server.shutdown(1s));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.socket()));
}

TEST(ServerPeer, RequireSameUserAcceptsOurOwnUser) {
  TempDir dir;
  ServerOptions options;
  options.require_same_user = true;
  Server server(options);
  std::atomic<int> seen_uid{-2};
  server.register_method("s", "whoami", [&](ServerContext& context, std::string_view) -> Reply {
    seen_uid = context.peer_uid();
    return std::to_string(context.peer_pid());
  });
  server.listen(dir.socket());
  auto client = Client::connect(dir.socket(), 5s);
  Response r = client->call("s", "whoami", "");
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.payload, std::to_string(::getpid()));
  EXPECT_EQ(seen_uid.load(), static_cast<int>(::geteuid()));
}

}  // namespace
}  // namespace wasmshim::ttrpc
