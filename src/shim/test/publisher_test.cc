#include "publisher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "support/log_lines.h"
#include "support/temp_dir.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;
namespace events_v1 = ::containerd::services::events::ttrpc::v1;

// Plays containerd's events service.
struct FakeEventsService {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<events_v1::Envelope> received;
  bool refuse = false;
  // Answers UNAVAILABLE this many times first (containerd starting up).
  int unavailable_answers = 0;
  // Events of this container are refused for good (INVALID_ARGUMENT).
  std::string refused_container;
  ttrpc::Server server;

  explicit FakeEventsService(const std::string& address) {
    server.register_method(
        "containerd.services.events.ttrpc.v1.Events", "Forward",
        ttrpc::typed_handler<events_v1::ForwardRequest, google::protobuf::Empty>(
            [this](ttrpc::ServerContext&, const events_v1::ForwardRequest& request,
                   google::protobuf::Empty&) -> ttrpc::Status { return take(request); }));
    server.listen(address);
  }

  ttrpc::Status take(const events_v1::ForwardRequest& request) {
    std::lock_guard lock(mutex);
    if (refuse) {
      return {ttrpc::StatusCode::kUnavailable, "not now"};
    }
    if (unavailable_answers > 0) {
      --unavailable_answers;
      return {ttrpc::StatusCode::kUnavailable, "starting"};
    }
    ::containerd::events::TaskExit event;
    if (!refused_container.empty() && event.ParseFromString(request.envelope().event().value()) &&
        event.container_id() == refused_container) {
      return {ttrpc::StatusCode::kInvalidArgument, "no such thing"};
    }
    received.push_back(request.envelope());
    arrived.notify_all();
    return {};
  }

  // Waits (up to a limit far beyond any retry delay the tests set) until
  // `count` events arrived.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, 60s, [&] { return received.size() >= count; });
  }

  std::vector<std::string> container_ids() {
    std::lock_guard lock(mutex);
    std::vector<std::string> ids;
    for (const auto& envelope : received) {
      ::containerd::events::TaskExit event;
      event.ParseFromString(envelope.event().value());
      ids.push_back(event.container_id());
    }
    return ids;
  }
};

// The publisher's log, which tests wait on for what it says it did.
using LogLines = wasmshim::testing::LogLines;

// Options for a publisher that retries fast, so a test waits little.
PublisherOptions quick_retries(const std::string& socket, LogLines& log) {
  PublisherOptions options;
  options.ttrpc_address = socket;
  options.namespace_name = "ns1";
  options.log = log.sink();
  options.retry_initial_delay = 1ms;
  options.retry_max_delay = 20ms;
  return options;
}

constexpr const char* kHolding = "holding them, in order, and retrying";

::containerd::events::TaskExit exit_event(const std::string& id, std::uint32_t status) {
  ::containerd::events::TaskExit event;
  event.set_container_id(id);
  event.set_exit_status(status);
  return event;
}

TEST(EventPublisher, TypeNamesByTopicAreTheEventsOwn) {
  namespace events = ::containerd::events;
  const std::pair<std::string, std::unique_ptr<google::protobuf::MessageLite>> cases[] = {
      {"/tasks/create", std::make_unique<events::TaskCreate>()},
      {"/tasks/start", std::make_unique<events::TaskStart>()},
      {"/tasks/oom", std::make_unique<events::TaskOOM>()},
      {"/tasks/exit", std::make_unique<events::TaskExit>()},
      {"/tasks/delete", std::make_unique<events::TaskDelete>()},
      {"/tasks/paused", std::make_unique<events::TaskPaused>()}};
  for (const auto& [topic, event] : cases) {
    EXPECT_EQ(event_type_name(topic, *event), event->GetTypeName()) << topic;
  }
}

TEST(EventPublisher, ForwardsInOrderOverTtrpc) {
  wasmshim::testing::TempDir dir;
  FakeEventsService containerd(dir.socket());
  {
    EventPublisher publisher({dir.socket(), "", "", "ns1", {}});
    for (std::uint32_t i = 0; i < 100; ++i) {
      publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), i));
    }
    publisher.flush(10s);
  }
  std::lock_guard lock(containerd.mutex);
  ASSERT_EQ(containerd.received.size(), 100u);
  for (std::uint32_t i = 0; i < 100; ++i) {
    const auto& envelope = containerd.received[i];
    EXPECT_EQ(envelope.namespace_(), "ns1");
    EXPECT_EQ(envelope.topic(), "/tasks/exit");
    EXPECT_EQ(envelope.event().type_url(), "containerd.events.TaskExit");
    ::containerd::events::TaskExit decoded;
    ASSERT_TRUE(decoded.ParseFromString(envelope.event().value()));
    EXPECT_EQ(decoded.exit_status(), i);
    EXPECT_GT(envelope.timestamp().seconds(), 0);
  }
}

// A stand-in for `containerd publish`: records its arguments and stdin.
std::string fake_publish_binary(const wasmshim::testing::TempDir& dir) {
  std::string path = (dir.path() / "publish.sh").string();
  std::ofstream(path) << "#!/bin/sh\necho \"$@\" >> " << dir.path().string() << "/args\ncat > "
                      << dir.path().string() << "/stdin\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(EventPublisher, FallsBackToThePublishBinary) {
  wasmshim::testing::TempDir dir;
  const std::string binary = fake_publish_binary(dir);
  FakeEventsService containerd(dir.socket());
  containerd.refuse = true;
  std::vector<std::string> logged;
  {
    EventPublisher publisher({dir.socket(), "/run/c.sock", binary, "ns1",
                              [&](const std::string& line) { logged.push_back(line); }});
    publisher.publish("/tasks/exit", exit_event("c1", 3));
    publisher.flush(10s);
  }
  std::ifstream args(dir.path() / "args");
  std::string line;
  std::getline(args, line);
  EXPECT_EQ(line, "--address /run/c.sock publish --topic /tasks/exit --namespace ns1");
  std::ifstream stdin_file(dir.path() / "stdin", std::ios::binary);
  std::string input((std::istreambuf_iterator<char>(stdin_file)), std::istreambuf_iterator<char>());
  google::protobuf::Any any;
  ASSERT_TRUE(any.ParseFromString(input));
  EXPECT_EQ(any.type_url(), "containerd.events.TaskExit");
  EXPECT_FALSE(logged.empty());  // the refused forward was logged
}

TEST(EventPublisher, SaysWhenNothingCouldDeliver) {
  std::vector<std::string> logged;
  {
    EventPublisher publisher(
        {"", "", "", "ns1", [&](const std::string& l) { logged.push_back(l); }});
    publisher.publish("/tasks/start", exit_event("c1", 0));
    publisher.flush(10s);
  }
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("/tasks/start of c1 could not be delivered"), std::string::npos)
      << logged[0];
}

::containerd::events::TaskStart start_event(const std::string& id) {
  ::containerd::events::TaskStart event;
  event.set_container_id(id);
  return event;
}

std::vector<std::string> names(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    out.push_back(prefix + std::to_string(i));
  }
  return out;
}

TEST(EventPublisher, HoldsEventsInOrderUntilContainerdComesBack) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  EventPublisher publisher(quick_retries(dir.socket(), log));
  for (std::uint32_t i = 0; i < 20; ++i) {
    publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), i));
  }
  // Nothing listens yet: the publisher says it holds the events.
  ASSERT_TRUE(log.wait_for(kHolding)) << log.all();
  for (std::uint32_t i = 20; i < 40; ++i) {
    publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), i));
  }
  FakeEventsService containerd(dir.socket());
  for (std::uint32_t i = 40; i < 50; ++i) {
    publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), i));
  }
  ASSERT_TRUE(containerd.wait_for(50)) << log.all();
  EXPECT_TRUE(publisher.flush(60s));
  EXPECT_EQ(containerd.container_ids(), names("c", 0, 50));
  EXPECT_EQ(log.count("takes events again"), 1u) << log.all();
  EXPECT_EQ(log.count("dropped"), 0u) << log.all();
}

TEST(EventPublisher, ReconnectsWhenContainerdRestarts) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  EventPublisher publisher(quick_retries(dir.socket(), log));
  auto before = std::make_unique<FakeEventsService>(dir.socket());
  for (int i = 0; i < 5; ++i) {
    publisher.publish("/tasks/exit", exit_event("a" + std::to_string(i), 0));
  }
  ASSERT_TRUE(before->wait_for(5));
  EXPECT_EQ(before->container_ids(), names("a", 0, 5));
  before.reset();  // containerd stops; the publisher's connection is stale
  for (int i = 0; i < 5; ++i) {
    publisher.publish("/tasks/exit", exit_event("b" + std::to_string(i), 0));
  }
  ASSERT_TRUE(log.wait_for(kHolding)) << log.all();
  FakeEventsService after(dir.socket());
  ASSERT_TRUE(after.wait_for(5)) << log.all();
  EXPECT_TRUE(publisher.flush(60s));
  // The last event containerd took as it stopped may have lost its answer
  // with the connection: it is sent again (at least once, as containerd's
  // own shims do), ahead of the rest.
  std::vector<std::string> ids = after.container_ids();
  if (!ids.empty() && ids.front() == "a4") {
    ids.erase(ids.begin());
  }
  EXPECT_EQ(ids, names("b", 0, 5));
}

TEST(EventPublisher, RetriesWhileContainerdAnswersUnavailable) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  FakeEventsService containerd(dir.socket());
  containerd.unavailable_answers = 7;
  EventPublisher publisher(quick_retries(dir.socket(), log));
  for (int i = 0; i < 10; ++i) {
    publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), 0));
  }
  ASSERT_TRUE(containerd.wait_for(10)) << log.all();
  EXPECT_EQ(containerd.container_ids(), names("c", 0, 10));
  EXPECT_NE(log.all().find("UNAVAILABLE: starting"), std::string::npos) << log.all();
}

TEST(EventPublisher, AnEventRefusedForGoodDoesNotHoldTheOthers) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  FakeEventsService containerd(dir.socket());
  containerd.refused_container = "bad";
  EventPublisher publisher(quick_retries(dir.socket(), log));
  publisher.publish("/tasks/exit", exit_event("ok1", 0));
  publisher.publish("/tasks/exit", exit_event("bad", 0));
  publisher.publish("/tasks/exit", exit_event("ok2", 0));
  ASSERT_TRUE(containerd.wait_for(2)) << log.all();
  EXPECT_TRUE(publisher.flush(60s));
  EXPECT_EQ(containerd.container_ids(), (std::vector<std::string>{"ok1", "ok2"}));
  EXPECT_EQ(log.count("event /tasks/exit of bad could not be delivered to containerd, dropped: "
                      "containerd's events service answered INVALID_ARGUMENT"),
            1u)
      << log.all();
}

TEST(EventPublisher, HoldsAtMostItsBoundKeepingExits) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  PublisherOptions options = quick_retries(dir.socket(), log);
  options.max_queued = 4;
  EventPublisher publisher(options);
  publisher.publish("/tasks/exit", exit_event("c0", 0));
  for (int i = 1; i <= 6; ++i) {
    publisher.publish("/tasks/start", start_event("s" + std::to_string(i)));
  }
  publisher.publish("/tasks/exit", exit_event("c7", 0));
  // The four oldest starts made room; each drop is named, with its reason.
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(log.count("event /tasks/start of s" + std::to_string(i) +
                        " could not be delivered to containerd, dropped: containerd has not "
                        "taken the 4 events held before it"),
              1u)
        << log.all();
  }
  EXPECT_EQ(log.count("dropped"), 4u) << log.all();
  FakeEventsService containerd(dir.socket());
  ASSERT_TRUE(containerd.wait_for(4)) << log.all();
  EXPECT_TRUE(publisher.flush(60s));
  EXPECT_EQ(containerd.container_ids(), (std::vector<std::string>{"c0", "s5", "s6", "c7"}));
}

TEST(EventPublisher, GivesUpOnEventsPastItsTimeBound) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  PublisherOptions options = quick_retries(dir.socket(), log);
  options.give_up_after = 1ms;
  EventPublisher publisher(options);
  for (int i = 0; i < 3; ++i) {
    publisher.publish("/tasks/exit", exit_event("c" + std::to_string(i), 0));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(log.wait_for("event /tasks/exit of c" + std::to_string(i) +
                             " could not be delivered to containerd, dropped: not taken within"))
        << log.all();
  }
  // Nothing is held any more.
  EXPECT_TRUE(publisher.flush(60s));
}

// Runs `finish` on a thread of its own; true if it returned within a
// minute, far beyond the grace the test gives and far short of the delays
// it would otherwise wait out.
bool returns(std::function<void()> finish) {
  auto done = std::async(std::launch::async, std::move(finish));
  return done.wait_for(60s) == std::future_status::ready;
}

TEST(EventPublisher, StopsInBoundedTimeWithContainerdGoneForGood) {
  wasmshim::testing::TempDir dir;
  LogLines log;
  PublisherOptions options = quick_retries(dir.socket(), log);
  options.retry_initial_delay = std::chrono::hours(1);
  options.retry_max_delay = std::chrono::hours(1);
  options.exit_grace = 10ms;
  auto publisher = std::make_unique<EventPublisher>(options);
  for (int i = 0; i < 3; ++i) {
    publisher->publish("/tasks/exit", exit_event("c" + std::to_string(i), 0));
  }
  ASSERT_TRUE(log.wait_for(kHolding)) << log.all();
  ASSERT_TRUE(returns([&] { publisher.reset(); })) << log.all();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(log.count("event /tasks/exit of c" + std::to_string(i) +
                        " could not be delivered to containerd, dropped: the shim is exiting"),
              1u)
        << log.all();
  }
}

TEST(EventPublisher, StopsInBoundedTimeWithContainerdSilent) {
  wasmshim::testing::TempDir dir;
  // Accepts connections (the kernel queues them) and never answers.
  base::UniqueFd silent = ttrpc::listen_unix(dir.socket());
  LogLines log;
  PublisherOptions options = quick_retries(dir.socket(), log);
  options.call_timeout = std::chrono::hours(1);
  options.exit_grace = 10ms;
  auto publisher = std::make_unique<EventPublisher>(options);
  publisher->publish("/tasks/exit", exit_event("c0", 0));
  pollfd pending{silent.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pending, 1, 60000), 1);  // the publisher's call is in flight
  ASSERT_TRUE(returns([&] { publisher.reset(); })) << log.all();
  EXPECT_EQ(log.count("event /tasks/exit of c0 could not be delivered to containerd, dropped: "
                      "the shim is exiting"),
            1u)
      << log.all();
}

TEST(EventPublisher, StopKillsAPublishBinaryThatHangs) {
  wasmshim::testing::TempDir dir;
  const std::string binary = (dir.path() / "publish.sh").string();
  const std::string started = (dir.path() / "started").string();
  std::ofstream(binary) << "#!/bin/sh\ntouch " << started << "\nexec sleep 1000\n";
  ::chmod(binary.c_str(), 0755);
  LogLines log;
  PublisherOptions options;
  options.publish_binary = binary;
  options.containerd_address = "/run/c.sock";
  options.namespace_name = "ns1";
  options.log = log.sink();
  options.exit_grace = 10ms;
  auto publisher = std::make_unique<EventPublisher>(options);
  publisher->publish("/tasks/exit", exit_event("c0", 0));
  // The binary's own marker that it runs (polled: it has no other way to say).
  for (int i = 0; i < 6000 && !std::filesystem::exists(started); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(std::filesystem::exists(started));
  ASSERT_TRUE(returns([&] { publisher.reset(); })) << log.all();
  EXPECT_EQ(log.count("event /tasks/exit of c0 could not be delivered to containerd, dropped: "
                      "the shim is exiting"),
            1u)
      << log.all();
}

}  // namespace
}  // namespace wasmshim::shim
