// A Wait sleeps until something happens: the exit, wake_waiters() (which
// the ttrpc binding calls when the caller's connection closes) or the
// caller's deadline; nothing polls for the caller.
#include <future>

#include "support/temp_dir.h"
#include "support/thread_waits.h"
#include "task_service_fixture.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTask = "containerd.task.v2.Task";

TEST(TaskWaitWake, WaitSeesItsCallerGoneWhenWoken) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  std::atomic<bool> gone{false};
  std::promise<pid_t> waiter;
  auto waiting = std::async(std::launch::async, [&] {
    waiter.set_value(wasmshim::testing::current_thread_id());
    return code_of([&] {
      f.service->wait(Fixture::with_id<task::WaitRequest>("c1"), [&] { return gone.load(); });
    });
  });
  const bool asleep = wasmshim::testing::wait_until_in_condition_wait(
      waiter.get_future().get(), [&] { return waiting.wait_for(0s) == std::future_status::ready; });
  gone = true;
  f.service->wake_waiters();
  const bool gave_up = waiting.wait_for(30s) == std::future_status::ready;
  f.control->finish(0);  // ends a Wait that did not give up, so a failure ends the test
  EXPECT_TRUE(asleep) << "the Wait returned before it slept";
  EXPECT_TRUE(gave_up) << "wake_waiters() did not make the Wait look at its caller";
  EXPECT_EQ(waiting.get(), StatusCode::kCancelled);
}

// Over ttrpc: the caller's connection closes while its Wait sleeps, and the
// handler ends (the server has nothing in flight).
TEST(TaskWaitWake, WaitOverTtrpcEndsWhenTheCallerGoes) {
  Fixture f;
  wasmshim::testing::TempDir dir;
  ttrpc::Server server;
  f.service->register_with(server);
  server.listen(dir.socket());
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  auto client = ttrpc::Client::connect(dir.socket(), 5s);
  auto call = std::async(std::launch::async, [&] {
    task::WaitResponse response;
    return ttrpc::typed_call(*client, kTask, "Wait", Fixture::with_id<task::WaitRequest>("c1"),
                             response);
  });
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (server.in_flight() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(server.in_flight(), 1U) << "the Wait never arrived";
  client->close();
  EXPECT_EQ(call.get().code(), StatusCode::kUnavailable);
  while (server.in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  const std::size_t left = server.in_flight();
  f.control->finish(0);  // ends a Wait that did not hear of it
  EXPECT_EQ(left, 0U) << "the Wait did not hear its caller go";
}

}  // namespace
}  // namespace wasmshim::shim
