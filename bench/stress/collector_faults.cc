// What a broken collector costs a task: `ctr run --rm` of the demo's echo
// through a real containerd (Debian's, private instances started here), one
// per collector: tracing off, a healthy collector, one that refuses, one that
// accepts and stays silent, one that answers 503, one that answers late
// (after 4 s). Tasks run one at a time, the collectors interleaved round by
// round, so each is measured beside the others in the same run. Prints the
// median and mean per task and each median's ratio to tracing off, then how
// many shim processes each collector left running and how many exports the
// node's export slots turned away.
//
//   collector_faults [--tasks N]   N tasks per collector (default 30)
//
// The export timeout is the default (10 s), as a node would have it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "e2e/containerd_fixture.h"
#include "support/faulty_collector.h"

namespace {

using wasmshim::testing::Containerd;
using wasmshim::testing::Fault;
using wasmshim::testing::FaultyCollector;
using wasmshim::testing::TempDir;

struct Setup {
  std::string name;
  std::unique_ptr<TempDir> slots;
  std::unique_ptr<FaultyCollector> collector;  // none: tracing off
  std::unique_ptr<Containerd> containerd;
  std::vector<double> millis;
  int wrong = 0;  // tasks whose output or status was not the echo's
};

std::vector<std::string> environment_of(const Setup& setup) {
  if (!setup.collector) {
    return {};
  }
  return {"OTEL_EXPORTER_OTLP_ENDPOINT=" + setup.collector->endpoint(),
          "WASMSHIM_EXPORT_SLOTS_DIR=" + (setup.slots->path() / "slots").string()};
}

std::unique_ptr<Setup> make_setup(std::optional<Fault> fault) {
  auto setup = std::make_unique<Setup>();
  setup->name = fault ? wasmshim::testing::fault_name(*fault) : "off";
  setup->slots = std::make_unique<TempDir>();
  if (fault) {
    setup->collector = std::make_unique<FaultyCollector>(*fault, /*record_clients=*/false);
  }
  setup->containerd = std::make_unique<Containerd>(environment_of(*setup));
  if (!setup->containerd->ready()) {
    throw std::runtime_error("containerd for " + setup->name + ": " + setup->containerd->error());
  }
  return setup;
}

void run_task(Setup& setup, const std::string& id, bool timed) {
  const auto begin = std::chrono::steady_clock::now();
  const auto result = setup.containerd->run("--rm", id, "/demo.wasm echo hi");
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - begin;
  if (result.status != 0 || result.output != "hi\n") {
    ++setup.wrong;
  }
  if (timed) {
    setup.millis.push_back(took.count());
  }
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double mean(const std::vector<double>& values) {
  return values.empty() ? 0
                        : std::accumulate(values.begin(), values.end(), 0.0) /
                              static_cast<double>(values.size());
}

std::size_t shim_processes(const Containerd& containerd) {
  const std::string marker = " -address " + containerd.socket() + " ";
  std::size_t count = 0;
  for (const auto& pid : wasmshim::testing::process_ids()) {
    const std::string line = wasmshim::testing::command_line_of(pid);
    count += line.find("containerd-shim-wasmshim-v1") != std::string::npos &&
             line.find(marker) != std::string::npos;
  }
  return count;
}

}  // namespace

int run(int argc, char** argv) {
  int tasks = 30;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--tasks" && i + 1 < argc) {
      tasks = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: collector_faults [--tasks N]\n");
      return 2;
    }
  }
  std::vector<std::unique_ptr<Setup>> setups;
  setups.push_back(make_setup(std::nullopt));
  for (Fault fault :
       {Fault::none, Fault::refused, Fault::silent, Fault::unavailable, Fault::slow}) {
    setups.push_back(make_setup(fault));
  }
  // Warm: the engine's cache, the image's snapshot, containerd's first task.
  for (auto& setup : setups) {
    for (int i = 0; i < 2; ++i) {
      run_task(*setup, "warm-" + std::to_string(i), false);
    }
  }
  for (int round = 0; round < tasks; ++round) {
    // Each round starts with another collector, so none is always first.
    for (std::size_t k = 0; k < setups.size(); ++k) {
      Setup& setup = *setups[(k + static_cast<std::size_t>(round)) % setups.size()];
      run_task(setup, "task-" + std::to_string(round), true);
    }
  }
  const double untraced = median(setups[0]->millis);
  std::printf("ctr run --rm of `echo hi`, %d tasks per collector, one at a time, interleaved\n",
              tasks);
  std::printf("%-9s %10s %10s %10s %10s %8s %8s\n", "collector", "median_ms", "mean_ms",
              "ratio_off", "lingering", "dropped", "wrong");
  for (auto& setup : setups) {
    const std::string dropped =
        setup->collector
            ? wasmshim::testing::read_text((setup->slots->path() / "slots" / "dropped").string())
            : std::string();
    std::printf("%-9s %10.1f %10.1f %9.2fx %10zu %8lld %8d\n", setup->name.c_str(),
                median(setup->millis), mean(setup->millis), median(setup->millis) / untraced,
                shim_processes(*setup->containerd), std::atoll(dropped.c_str()), setup->wrong);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "collector_faults: %s\n", e.what());
    return 1;
  }
}
