// End to end: containerd restarts while a Wasm task runs under
// containerd-shim-wasmshim-v1. The shim keeps serving, and a task that ends
// while containerd is down still gets its /tasks/exit once containerd is back.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>

#include <filesystem>
#include <regex>

#include "containerd_fixture.h"
#include "support/ctr_events.h"
#include "wasmshim/base/unique_fd.h"

namespace wasmshim::testing {
namespace {

using namespace std::chrono_literals;

// The pid `ctr task ls` shows for a running task; 0 when it is not running
// within 20 s.
pid_t running_pid(const Containerd& containerd, const std::string& id) {
  for (int i = 0; i < 400; ++i) {
    const auto tasks = containerd.ctr("task ls");
    std::smatch match;
    if (std::regex_search(tasks.output, match,
                          std::regex("(^|\\n)" + id + "\\s+(\\d+)\\s+RUNNING"))) {
      return static_cast<pid_t>(std::stoi(match[2].str()));
    }
    std::this_thread::sleep_for(50ms);
  }
  return 0;
}

// Kills `pid` from the host (as the OOM killer or an operator would) and
// waits until it has exited.
bool kill_and_wait(pid_t pid) {
  const base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid() || ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) {
    return false;
  }
  pollfd exited{pidfd.get(), POLLIN, 0};
  return ::poll(&exited, 1, 60000) == 1;
}

TEST(ContainerdRestart, ExitWhileContainerdIsDownArrivesAfterTheRestart) {
  ASSERT_EQ(::geteuid(), 0u) << "the end-to-end tests run containerd, which needs root";
  Containerd containerd;
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  auto started = containerd.run("-d", "outlived", "/demo.wasm sleep 600");
  ASSERT_EQ(started.status, 0) << started.output;
  const pid_t task = running_pid(containerd, "outlived");
  ASSERT_GT(task, 0) << containerd.ctr("task ls").output;

  containerd.stop();
  // The task ends while no containerd is there to hear of it.
  ASSERT_TRUE(kill_and_wait(task));

  // containerd comes back on the same root and state. Its sockets first
  // listen under other names, which only the test knows: the shim cannot
  // deliver its exit (over ttrpc or through `containerd publish`) before the
  // test's `ctr events` listens, and containerd keeps no events for
  // latecomers. Then the usual names lead to it.
  const std::string listen = containerd.root() + "/restarted.sock";
  ASSERT_TRUE(containerd.restart(listen)) << containerd.log();
  ChildProcess events = ctr_events(listen);
  std::string seen;
  ASSERT_TRUE(subscribed(events, listen, seen)) << seen;
  for (const std::string suffix : {"", ".ttrpc"}) {
    std::filesystem::remove(containerd.socket() + suffix);  // left by the stopped containerd
    std::filesystem::create_symlink(listen + suffix, containerd.socket() + suffix);
  }

  // The exit the shim held arrives, with the task's status.
  ASSERT_TRUE(read_until(events, {"/tasks/exit", "\"container_id\":\"outlived\""}, seen))
      << seen << containerd.log();
  EXPECT_NE(seen.find("\"exit_status\":137"), std::string::npos) << seen;
  events.signal(SIGTERM);
  events.wait();

  // The shim served across the restart: delete answers with the status
  // (which ctr reports as a warning, exiting 0).
  auto deleted = containerd.ctr("task delete outlived");
  EXPECT_EQ(deleted.status, 0) << deleted.output;
  EXPECT_NE(deleted.output.find("exit code 137"), std::string::npos) << deleted.output;
  EXPECT_EQ(containerd.ctr("container delete outlived").status, 0);
  EXPECT_EQ(containerd.ctr("task ls -q").output, "");
}

}  // namespace
}  // namespace wasmshim::testing
