// An idle server sleeps: its accept loop blocks without a timeout, and a
// handler that waits on a condition of its own hears of its caller's going
// (ServerContext::on_cancel) instead of polling for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>

#include "support/blocked_calls.h"
#include "test_util.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::ttrpc {
namespace {

using namespace std::chrono_literals;

constexpr const char* kService = "idle.Test";

std::vector<pid_t> started_since(const std::vector<pid_t>& before) {
  std::vector<pid_t> started;
  for (pid_t tid : wasmshim::testing::other_threads()) {
    if (std::find(before.begin(), before.end(), tid) == before.end()) {
      started.push_back(tid);
    }
  }
  return started;
}

TEST(ServerIdle, AcceptLoopSleepsWithoutATimeout) {
  testing::TempDir dir;
  const auto before = wasmshim::testing::other_threads();
  Server server;
  server.listen("unix://" + dir.socket());
  const auto started = started_since(before);
  ASSERT_EQ(started.size(), 1U) << "the accept loop's thread alone";
  EXPECT_TRUE(wasmshim::testing::wait_until_asleep_without_timeout(started[0]))
      << wasmshim::testing::describe(wasmshim::testing::blocked_call(::getpid(), started[0]));

  // A connection that came and went leaves it asleep again, its reader
  // joined. The server must have taken the connection before it goes:
  // connect() returns once the kernel has queued it, maybe before accept.
  auto client = Client::connect("unix://" + dir.socket(), 5s);
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (server.connection_count() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(server.connection_count(), 1U) << "the server never took the connection";
  client->close();
  while ((started_since(before).size() > 1 || server.connection_count() > 0) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(started_since(before).size(), 1U) << "the ended connection's reader was not joined";
  EXPECT_TRUE(wasmshim::testing::wait_until_asleep_without_timeout(started[0]));
  EXPECT_EQ(server.connection_count(), 0U);
}

TEST(ServerIdle, HandlerHearsItsCallerGoWithoutPolling) {
  testing::TempDir dir;
  std::mutex mutex;
  std::condition_variable changed;
  bool caller_gone = false;
  std::promise<void> waiting;
  Server server;
  server.register_method(kService, "Wait", [&](ServerContext& context, std::string_view) -> Reply {
    const CancelWatch watch = context.on_cancel([&] {
      std::lock_guard lock(mutex);
      caller_gone = true;
      changed.notify_all();
    });
    std::unique_lock lock(mutex);
    waiting.set_value();
    // No timeout: only the watch ends this wait.
    changed.wait(lock, [&] { return caller_gone; });
    return std::string("gone");
  });
  server.listen("unix://" + dir.socket());
  auto client = Client::connect("unix://" + dir.socket(), 5s);
  auto call = std::async(std::launch::async, [&] { return client->call(kService, "Wait", ""); });
  ASSERT_EQ(waiting.get_future().wait_for(30s), std::future_status::ready);
  client->close();
  ASSERT_EQ(call.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(call.get().status.code(), StatusCode::kUnavailable);
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (server.in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(server.in_flight(), 0U) << "the handler never heard its caller go";
  std::lock_guard lock(mutex);
  EXPECT_TRUE(caller_gone);
}

TEST(ServerIdle, WatchOfAContextOutsideAServerNeverFires) {
  ServerContext context;
  bool fired = false;
  {
    const CancelWatch watch = context.on_cancel([&] { fired = true; });
  }
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace wasmshim::ttrpc
