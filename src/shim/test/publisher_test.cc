#include "publisher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "support/temp_dir.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;
namespace events_v1 = ::containerd::services::events::ttrpc::v1;

// Plays containerd's events service.
struct FakeEventsService {
  std::mutex mutex;
  std::vector<events_v1::Envelope> received;
  bool refuse = false;
  ttrpc::Server server;

  explicit FakeEventsService(const std::string& address) {
    server.register_method(
        "containerd.services.events.ttrpc.v1.Events", "Forward",
        ttrpc::typed_handler<events_v1::ForwardRequest, google::protobuf::Empty>(
            [this](ttrpc::ServerContext&, const events_v1::ForwardRequest& request,
                   google::protobuf::Empty&) -> ttrpc::Status {
              std::lock_guard lock(mutex);
              if (refuse) {
                return {ttrpc::StatusCode::kUnavailable, "not now"};
              }
              received.push_back(request.envelope());
              return {};
            }));
    server.listen(address);
  }
};

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
  EXPECT_NE(logged[0].find("/tasks/start could not be delivered"), std::string::npos);
}

}  // namespace
}  // namespace wasmshim::shim
