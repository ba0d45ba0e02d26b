// End to end: a shim whose one container sleeps sleeps too. Its daemon's
// threads are counted as the kernel counts them (context switches in
// /proc/PID/task/*/status) while a Wait is pending, as CRI keeps one; then
// the daemon must still answer containerd, see its task exit and stop on
// SIGTERM. Untraced, and traced with spans going to a collector.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <regex>

#include "containerd_fixture.h"
#include "support/faulty_collector.h"
#include "support/proc_stat.h"

namespace wasmshim::testing {
namespace {

using namespace std::chrono_literals;

// A few wake-ups are allowed (a worker thread ending its linger, a late
// request); a periodic one, even once a second, is not.
constexpr long kMostSwitchesWhileIdle = 10;
constexpr auto kWindow = 3s;
// Windows tried: a request still on its way when the first starts (the
// pending Wait has no marker of its arrival) spoils one window, not all.
constexpr int kWindows = 3;

// The pid `ctr task ls` shows for a running task; 0 when it is not running
// within 20 s. (While it starts, a task shows as running with pid 0.)
pid_t running_pid(const Containerd& containerd, const std::string& id) {
  for (int i = 0; i < 400; ++i) {
    const auto tasks = containerd.ctr("task ls");
    std::smatch match;
    if (std::regex_search(tasks.output, match,
                          std::regex("(^|\\n)" + id + "\\s+([1-9]\\d*)\\s+RUNNING"))) {
      return static_cast<pid_t>(std::stoi(match[2].str()));
    }
    std::this_thread::sleep_for(50ms);
  }
  return 0;
}

// Voluntary plus involuntary context switches of each thread of `pid`.
std::map<pid_t, long> switches_by_thread(pid_t pid) {
  std::map<pid_t, long> switches;
  std::error_code error;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream status(entry.path() / "status");
    long total = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:") ||
          line.starts_with("nonvoluntary_ctxt_switches:")) {
        total += std::stol(line.substr(line.find(':') + 1));
      }
    }
    switches[static_cast<pid_t>(std::stol(entry.path().filename().string()))] = total;
  }
  return switches;
}

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string thread_name(pid_t pid, pid_t tid) {
  std::string name =
      text_of("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  return name.empty() ? "?" : name.substr(0, name.find('\n'));
}

// /proc/PID/cmdline with its separators as spaces.
std::string command_of(pid_t pid) {
  std::string text = text_of("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

struct Window {
  long switches = 0;
  std::string detail;  // each thread's share
};

// The daemon's context switches over kWindow: a thread that started
// meanwhile counts whole, one that ended is named.
Window count_switches(pid_t daemon) {
  const auto before = switches_by_thread(daemon);
  std::this_thread::sleep_for(kWindow);
  const auto after = switches_by_thread(daemon);
  Window window;
  for (const auto& [tid, count] : after) {
    const auto earlier = before.find(tid);
    const long delta = count - (earlier == before.end() ? 0 : earlier->second);
    window.switches += delta;
    window.detail += " " + thread_name(daemon, tid) + "[" + std::to_string(tid) +
                     "]=" + std::to_string(delta) + (earlier == before.end() ? "(new)" : "");
  }
  for (const auto& [tid, count] : before) {
    if (!after.contains(tid)) {
      ++window.switches;
      window.detail += " [" + std::to_string(tid) + "](ended)";
    }
  }
  return window;
}

// The fewest switches seen in up to kWindows windows, stopping at a quiet one.
Window quietest_window(pid_t daemon) {
  Window quietest{.switches = std::numeric_limits<long>::max(), .detail = {}};
  std::string all;
  for (int i = 0; i < kWindows && quietest.switches > kMostSwitchesWhileIdle; ++i) {
    Window window = count_switches(daemon);
    all += "\n  window " + std::to_string(i) + ": " + std::to_string(window.switches) + ":" +
           window.detail;
    if (window.switches < quietest.switches) {
      quietest = std::move(window);
    }
  }
  quietest.detail = all;
  return quietest;
}

// Waits until `pid` (not our child) has exited; false after 30 s.
bool exits(pid_t pid) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    return errno == ESRCH;
  }
  pollfd exited{pidfd, POLLIN, 0};
  const bool gone = ::poll(&exited, 1, 30000) == 1;
  ::close(pidfd);
  return gone;
}

// The shim daemon serving `task`: its parent (the zygote, which shares the
// daemon's command line, hands its children to the daemon).
pid_t daemon_of(pid_t task) {
  const pid_t daemon = parent_of(task);
  const std::string command = command_of(daemon);
  return command.find("containerd-shim-wasmshim-v1") != std::string::npos &&
                 command.find(" zygote") == std::string::npos
             ? daemon
             : 0;
}

// Runs a sleeping container, counts its idle daemon's wake-ups, then checks
// the daemon still reacts: a call answers, a kill ends the task and the
// pending Wait, SIGTERM ends a daemon. `settled`: returns once the
// daemon's own activity after the start (e.g. an export) is over.
void idle_then_react(
    Containerd& containerd, const std::function<void()>& settled = [] {}) {
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  // `ctr run` waits for the task's exit all along, as CRI does: a Wait is
  // pending in the shim while it idles.
  ChildProcess waiter({"/bin/sh", "-c",
                       "exec " + containerd.ctr_prefix() +
                           " run --runtime io.containerd.wasmshim.v1 " + Containerd::kImage +
                           " idle /demo.wasm sleep 600"});
  const pid_t task = running_pid(containerd, "idle");
  ASSERT_GT(task, 0) << containerd.ctr("task ls").output << containerd.log();
  const pid_t daemon = daemon_of(task);
  ASSERT_GT(daemon, 0) << command_of(parent_of(task));
  settled();

  const Window idle = quietest_window(daemon);
  std::cout << "context switches of the idle daemon:" << idle.detail << "\n";
  EXPECT_LE(idle.switches, kMostSwitchesWhileIdle)
      << "the idle daemon's threads woke up (context switches per thread):" << idle.detail;

  // A call answers (Pids, through containerd).
  const auto listed = containerd.ctr("task ps idle", 30);
  EXPECT_EQ(listed.status, 0) << listed.output;
  EXPECT_NE(listed.output.find(std::to_string(task)), std::string::npos) << listed.output;
  // The task's exit is seen (the process reaped) and ends the pending Wait.
  const auto killed = containerd.ctr("task kill -s SIGKILL idle", 30);
  ASSERT_EQ(killed.status, 0) << killed.output;
  waiter.read_all();  // until the Wait returns and `ctr run` exits
  EXPECT_EQ(waiter.wait(), 137);

  // SIGTERM ends a daemon, here one whose task runs.
  auto started = containerd.run("-d", "idle2", "/demo.wasm sleep 600");
  ASSERT_EQ(started.status, 0) << started.output;
  const pid_t daemon2 = daemon_of(running_pid(containerd, "idle2"));
  ASSERT_GT(daemon2, 0) << containerd.ctr("task ls").output;
  ASSERT_EQ(::kill(daemon2, SIGTERM), 0);
  EXPECT_TRUE(exits(daemon2)) << "the shim daemon is still there after SIGTERM";
  EXPECT_FALSE(alive(daemon2));
}

TEST(IdleShim, SleepsWithItsContainerAndStillReacts) {
  ASSERT_EQ(::geteuid(), 0u) << "the end-to-end tests run containerd, which needs root";
  Containerd containerd;
  idle_then_react(containerd);
}

#if WASMSHIM_OPENTELEMETRY
// Traced: the spans of the calls so far reach the collector, then the
// export thread and the container's span pickup sleep too.
TEST(IdleShim, TracedSleepsOnceItsSpansAreExported) {
  ASSERT_EQ(::geteuid(), 0u) << "the end-to-end tests run containerd, which needs root";
  FaultyCollector collector(Fault::none);
  Containerd containerd(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.endpoint(), "OTEL_BSP_SCHEDULE_DELAY=100"});
  const auto shim_exports = [&collector] {
    const auto clients = collector.clients();
    return std::count_if(clients.begin(), clients.end(), [](const std::string& client) {
      return client.find("containerd-shim-wasmshim-v1") != std::string::npos;
    });
  };
  idle_then_react(containerd, [&] {
    // A call's span leaves in an export after the call: the marker that
    // what the start and the calls before it queued has gone.
    const auto before = shim_exports();
    const auto called = containerd.ctr("task ps idle", 30);
    ASSERT_EQ(called.status, 0) << called.output;
    for (int i = 0; i < 600 && shim_exports() == before; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(shim_exports(), before) << "no export from the shim after its last call";
  });
}
#endif

}  // namespace
}  // namespace wasmshim::testing
