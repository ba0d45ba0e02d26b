// A collector that refuses, stays silent, answers 503 or answers late costs
// dropped spans, never container time: through a real containerd, each task
// gives its output and status, no process on containerd's path (`start`,
// `delete`) connects to the collector, every process of ours is gone within
// the export timeout (and a generous margin), and however many tasks end,
// only the node's export slots' worth of processes linger.
#include <gtest/gtest.h>

#include "containerd_fixture.h"
#include "support/faulty_collector.h"

namespace wasmshim::testing {
namespace {

using namespace std::chrono_literals;

// The shim's processes under this containerd: daemons, zygotes, `start`,
// `delete` and their exporters all carry its socket in their command line.
std::vector<std::string> shim_processes(const Containerd& containerd) {
  const std::string marker = " -address " + containerd.socket() + " ";
  std::vector<std::string> found;
  for (const auto& pid : process_ids()) {
    const std::string line = command_line_of(pid);
    if (line.find("containerd-shim-wasmshim-v1") != std::string::npos &&
        line.find(marker) != std::string::npos) {
      found.push_back(std::to_string(pid) + ": " + line);
    }
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

// Waits (a generous limit) until at most `bound` shim processes are left.
bool wait_for_at_most(const Containerd& containerd, std::size_t bound,
                      std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (shim_processes(containerd).size() > bound) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// containerd waits for these: they must never be the ones connecting.
bool on_containerds_path(const std::string& command_line) {
  return command_line.ends_with(" delete ") || command_line.ends_with(" start ");
}

constexpr auto kExportTimeout = 2s;
// Far more than the export timeout, for a loaded machine; only a process
// that lingers for the old 10-30 s fails it.
constexpr auto kGenerousLimit = kExportTimeout + 8s;

class CollectorFaults : public ::testing::TestWithParam<Fault> {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "containerd needs root"; }
  TempDir slots_;
};

TEST_P(CollectorFaults, TasksRunAsUntracedAndNothingOfOursLingers) {
  FaultyCollector collector(GetParam());
  Containerd containerd({"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.endpoint(),
                         "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=" +
                             std::to_string(std::chrono::milliseconds(kExportTimeout).count()),
                         "WASMSHIM_EXPORT_SLOTS=2",
                         "WASMSHIM_EXPORT_SLOTS_DIR=" + (slots_.path() / "slots").string()});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  for (int i = 0; i < 3; ++i) {
    auto result = containerd.run("--rm", "fault-" + std::to_string(i), "/demo.wasm echo fine");
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_EQ(result.output, "fine\n");
  }
  auto failed = containerd.run("--rm", "fault-exit", "/demo.wasm exit 3");
  EXPECT_EQ(failed.status, 3) << failed.output;

  EXPECT_TRUE(wait_for_at_most(containerd, 0, kGenerousLimit))
      << "still running:\n"
      << joined(shim_processes(containerd));
  const auto clients = collector.clients();
  for (const auto& client : clients) {
    EXPECT_FALSE(on_containerds_path(client)) << "containerd waited on: " << client;
  }
  if (GetParam() != Fault::refused) {
    EXPECT_FALSE(clients.empty()) << "no exporter tried the collector";
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, CollectorFaults,
                         ::testing::Values(Fault::refused, Fault::silent, Fault::unavailable,
                                           Fault::slow),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case Fault::refused:
                               return std::string("refused");
                             case Fault::silent:
                               return std::string("silent");
                             case Fault::unavailable:
                               return std::string("unavailable_503");
                             default:
                               return std::string("slow");
                           }
                         });

// With the default 10 s timeout every task's processes would linger for
// it; with two slots only two exports (a daemon and its zygote, or a forked
// exporter, each) outlive the short grace, and the rest are counted.
TEST(CollectorFaultsBound, LingeringProcessesStayWithinTheSlots) {
  ASSERT_EQ(::geteuid(), 0u) << "containerd needs root";
  TempDir slots;
  const std::string directory = (slots.path() / "slots").string();
  FaultyCollector collector(Fault::silent);
  // Exports that hang until a long timeout: the processes holding the two
  // slots stay for it, the others must leave at once. Without the cap all
  // of them would stay past the window below, however loaded the machine.
  constexpr auto kLongExportTimeout = 40s;
  constexpr auto kLeaveWindow = 20s;
  static_assert(kLeaveWindow < kLongExportTimeout);
  Containerd containerd({"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.endpoint(),
                         "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=" +
                             std::to_string(std::chrono::milliseconds(kLongExportTimeout).count()),
                         "WASMSHIM_EXPORT_SLOTS=2", "WASMSHIM_EXPORT_SLOTS_DIR=" + directory});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  constexpr int kTasks = 8;
  for (int i = 0; i < kTasks; ++i) {
    auto result = containerd.run("--rm", "many-" + std::to_string(i), "/demo.wasm echo quick");
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_EQ(result.output, "quick\n");
  }
  constexpr std::size_t kBound = 4;  // 2 slots x (daemon + zygote)
  EXPECT_TRUE(wait_for_at_most(containerd, kBound, kLeaveWindow))
      << "still running:\n"
      << joined(shim_processes(containerd));
  // The cap was what stopped the others: they counted their dropped exports.
  EXPECT_GE(std::atoll(read_text(directory + "/dropped").c_str()), 1) << "no export was dropped";
  EXPECT_TRUE(wait_for_at_most(containerd, 0, kLongExportTimeout + 10s))
      << "still running:\n"
      << joined(shim_processes(containerd));
}

}  // namespace
}  // namespace wasmshim::testing
