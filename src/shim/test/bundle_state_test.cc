// What the daemon records in a task's bundle for `delete` after a crash:
// the task's pid and its own exit, never an exec's.
#include "bundle_state.h"

#include <gtest/gtest.h>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "support/temp_dir.h"

namespace wasmshim::shim {
namespace {

namespace events = ::containerd::events;

class NullSink final : public EventSink {
 public:
  void publish(const std::string&, const google::protobuf::MessageLite&) override { ++count; }
  int count = 0;
};

events::TaskExit exit_event(const std::string& id, std::uint32_t pid, std::uint32_t status) {
  events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_id(id);
  exit.set_pid(pid);
  exit.set_exit_status(status);
  exit.mutable_exited_at()->set_seconds(1700000000);
  return exit;
}

TEST(RecordingEventSink, RecordsTheTasksExitNotItsExecs) {
  testing::TempDir bundle;
  NullSink next;
  RecordingEventSink sink(next);
  events::TaskCreate create;
  create.set_container_id("c1");
  create.set_bundle(bundle.path().string());
  sink.publish("/tasks/create", create);
  events::TaskStart start;
  start.set_container_id("c1");
  start.set_pid(100);
  sink.publish("/tasks/start", start);

  sink.publish("/tasks/exit", exit_event("probe", 200, 0));
  BundleState state = read_bundle_state(bundle.path().string());
  EXPECT_EQ(state.pid, 100u);
  EXPECT_FALSE(state.exit_status);

  sink.publish("/tasks/exit", exit_event("c1", 100, 137));
  state = read_bundle_state(bundle.path().string());
  EXPECT_EQ(state.pid, 100u);
  EXPECT_EQ(state.exit_status, 137u);
  EXPECT_EQ(next.count, 4);
}

}  // namespace
}  // namespace wasmshim::shim
