// The node-wide bound on exporters that outlive their task, and `delete`,
// which leaves its export to a detached child instead of waiting itself.
#include "export_slots.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <vector>

#include "support/temp_dir.h"

#if WASMSHIM_OPENTELEMETRY
#include "shim_tracing.h"
#endif

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;

// The tests change the environment while no other thread reads it.
void set_env(const char* name, const std::string& value) {
  ::setenv(name, value.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
}
void unset_env(const char* name) {
  ::unsetenv(name);  // NOLINT(concurrency-mt-unsafe)
}

ExportSlots slots_in(const wasmshim::testing::TempDir& dir, std::size_t count) {
  ExportSlots slots;
  slots.directory = (dir.path() / "slots").string();
  slots.count = count;
  return slots;
}

TEST(ExportSlots, EachSlotIsTakenOnceAndFreedWithItsHolder) {
  wasmshim::testing::TempDir dir;
  const ExportSlots slots = slots_in(dir, 3);
  std::vector<ExportSlot> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(take_export_slot(slots));
    EXPECT_TRUE(held.back().held()) << i;
  }
  EXPECT_FALSE(take_export_slot(slots).held());
  held.erase(held.begin() + 1);
  EXPECT_TRUE(take_export_slot(slots).held());
}

TEST(ExportSlots, NoSlotsMeansNoneIsEverHeld) {
  wasmshim::testing::TempDir dir;
  EXPECT_FALSE(take_export_slot(slots_in(dir, 0)).held());
}

TEST(ExportSlots, AnUnusableDirectoryHoldsNothing) {
  wasmshim::testing::TempDir dir;
  ExportSlots slots = slots_in(dir, 2);
  slots.directory = "/proc/self/no-such-dir";
  EXPECT_FALSE(take_export_slot(slots).held());
}

// A forked exporter keeps the slot its parent took: the lock belongs to the
// open file, which the child shares, until the last holder exits.
TEST(ExportSlots, AForkedHolderKeepsTheSlotUntilItExits) {
  wasmshim::testing::TempDir dir;
  const ExportSlots slots = slots_in(dir, 1);
  int release[2];
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = -1;
  {
    ExportSlot slot = take_export_slot(slots);
    ASSERT_TRUE(slot.held());
    child = ::fork();
    if (child == 0) {
      ::close(release[1]);
      char byte = 0;
      (void)::read(release[0], &byte, 1);  // until the test closes its end
      ::_exit(0);
    }
    ::close(release[0]);
  }
  EXPECT_FALSE(take_export_slot(slots).held());
  ::close(release[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(take_export_slot(slots).held());
}

TEST(ExportSlots, WithoutASlotTheWaitIsTheGrace) {
  wasmshim::testing::TempDir dir;
  ExportSlots slots = slots_in(dir, 1);
  slots.grace = 250ms;
  const ExportSlot slot = take_export_slot(slots);
  const ExportSlot none = take_export_slot(slots);
  EXPECT_EQ(export_wait(slots, slot, 10000ms), 10000ms);
  EXPECT_EQ(export_wait(slots, none, 10000ms), 250ms);
  EXPECT_EQ(export_wait(slots, none, 100ms), 100ms);  // a timeout shorter than the grace
}

TEST(ExportSlots, DroppedExportsAreCountedAcrossProcesses) {
  wasmshim::testing::TempDir dir;
  const ExportSlots slots = slots_in(dir, 1);
  EXPECT_EQ(dropped_export_count(slots), 0u);
  count_dropped_export(slots);
  const pid_t child = ::fork();
  if (child == 0) {
    count_dropped_export(slots);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(dropped_export_count(slots), 2u);
}

TEST(ExportSlots, TheEnvironmentSetsCountAndDirectoryAndABadCountKeepsTheDefault) {
  set_env("WASMSHIM_EXPORT_SLOTS", "3");
  set_env("WASMSHIM_EXPORT_SLOTS_DIR", "/tmp/x-slots");
  const ExportSlots set = export_slots_from_env();
  EXPECT_EQ(set.count, 3u);
  EXPECT_EQ(set.directory, "/tmp/x-slots");
  set_env("WASMSHIM_EXPORT_SLOTS", "three");
  std::string problem;
  EXPECT_EQ(export_slots_from_env(&problem).count, ExportSlots{}.count);
  EXPECT_EQ(problem, "WASMSHIM_EXPORT_SLOTS=\"three\" is not a count of slots: 8 are used");
  unset_env("WASMSHIM_EXPORT_SLOTS");
  unset_env("WASMSHIM_EXPORT_SLOTS_DIR");
  EXPECT_EQ(export_slots_from_env().directory, ExportSlots{}.directory);
}

// Whatever an exporter waits on, it is ended at its limit.
TEST(ExportSlots, AnOverrunningProcessIsEndedAtItsLimit) {
  const pid_t child = ::fork();
  if (child == 0) {
    end_process_after(50ms);
    while (true) {
      ::pause();
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGALRM);
}

#if WASMSHIM_OPENTELEMETRY

// Listens on loopback and never accepts: the kernel completes each
// connection, and nothing ever answers.
struct SilentCollector {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int port = 0;
  SilentCollector() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd, 16) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~SilentCollector() { ::close(fd); }
  int pending_connections() const {
    int count = 0;
    while (true) {
      const int connection = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (connection < 0) {
        return count;
      }
      ::close(connection);
      ++count;
    }
  }
};

// containerd waits for `delete`: it must not try the collector itself (a
// silent one would hold it), only the child it forks, which holds a slot.
TEST(DeleteTracing, DeleteLeavesEveryConnectionToItsExporter) {
  wasmshim::testing::TempDir dir;
  set_env("WASMSHIM_EXPORT_SLOTS_DIR", (dir.path() / "slots").string());
  // Children of earlier tests first: the exporter must be the only one left.
  while (::waitpid(-1, nullptr, 0) > 0) {
  }
  SilentCollector collector;
  ::fcntl(collector.fd, F_SETFL, O_NONBLOCK);
  auto config =
      otel::OtlpConfig::for_endpoint("http://127.0.0.1:" + std::to_string(collector.port));
  config.timeout = 500ms;
  ShimFlags flags;
  flags.id = "deleted";
  flags.bundle = dir.path().string();
  {
    DeleteTrace trace(flags, ShimInfo{"wasmshim", "1", "r", "v1"}, config);
    trace.set_exit(0);
  }
  int status = 0;
  const pid_t exporter = ::waitpid(-1, &status, 0);
  ASSERT_GT(exporter, 0) << "no exporter was forked";
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "more than one child";
  EXPECT_EQ(collector.pending_connections(), 1);
  unset_env("WASMSHIM_EXPORT_SLOTS_DIR");
}

#endif

}  // namespace
}  // namespace wasmshim::shim
