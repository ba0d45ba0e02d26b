// Pods through CRI, as a kubelet runs them: a private containerd with its
// CRI plugin (the tests' fixture), and for each runtime handler in the same
// run the same pod, a native pause sandbox and one container that prints a
// line and exits: the demo as Wasm under wasmshim, the same C program built
// natively and statically under containerd-shim-runc-v2 + runc.
//
//   pods [--pods N] [--concurrency C] [--rounds R] [--handlers wasmshim,runc]
//        [--memory-pods K]
//
// Throughput: N pods, C at a time, each RunPodSandbox -> CreateContainer ->
// StartContainer -> ContainerStatus until EXITED (polled every 5 ms)
// -> StopPodSandbox -> RemovePodSandbox; pods per second over the whole
// run, and the latency from RunPodSandbox to the container's exit seen
// (p50, p99). Handlers alternate round by round; ratios are medians of the
// per-round ratios.
//
// Memory: K pods whose container sleeps, all alive at once; per pod, the
// proportional set size (PSS, shared pages divided among their sharers) and
// the RSS of the pod's shim and everything under it (wasmshim: the daemon,
// its zygote, pause and the container's process; runc: the shim, pause and
// the container's process; runc itself has exited by then).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/cri_fixture.h"
#include "support/proc_stat.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using wasmshim::testing::CriContainerd;
namespace cri = wasmshim::testing::cri;

constexpr const char* kNativeDemoImage = "docker.io/wasmshim/demo-native:latest";

struct Settings {
  int pods = 40;
  int concurrency = 4;
  int rounds = 3;
  int memory_pods = 8;
  std::vector<std::string> handlers{"wasmshim", "runc"};
};

struct Workload {
  std::string image;
  std::vector<std::string> command;
};

// The same program for both: the demo, Wasm for ours, native for runc.
Workload workload(const std::string& handler, const std::vector<std::string>& args) {
  Workload w;
  w.image = handler == "runc" ? kNativeDemoImage : CriContainerd::kWasmImage;
  w.command = {"/demo.wasm"};
  if (handler == "runc") {
    w.command = {"/demo"};
  }
  w.command.insert(w.command.end(), args.begin(), args.end());
  return w;
}

// The phases of one pod, in milliseconds.
enum Phase { kSandbox, kCreate, kStart, kExit, kTeardown, kPhases };
constexpr const char* kPhaseNames[kPhases] = {"RunPodSandbox", "CreateContainer", "StartContainer",
                                              "to exit", "stop+remove"};

struct PodRun {
  bool ok = false;
  std::string error;
  double latency_ms = 0;  // RunPodSandbox to the container's exit seen
  double phase_ms[kPhases] = {};
};

// The fixture's pod counter is not for concurrent callers.
cri::PodSandboxConfig new_pod(CriContainerd& node, const std::string& name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return node.host_network_pod(name);
}

// One pod's whole life; the container must exit 0.
PodRun run_pod(CriContainerd& node, const std::string& handler, const std::string& name) {
  PodRun run;
  auto& cri = node.cri();
  const auto begin = Clock::now();
  auto mark = begin;
  auto phase_done = [&](Phase phase) {
    const auto now = Clock::now();
    run.phase_ms[phase] = std::chrono::duration<double, std::milli>(now - mark).count();
    mark = now;
  };
  const cri::PodSandboxConfig pod = new_pod(node, name);
  auto sandbox = cri.run_pod_sandbox(pod, handler);
  phase_done(kSandbox);
  if (!sandbox.ok()) {
    run.error = "RunPodSandbox: " + sandbox.error();
    return run;
  }
  const std::string pod_id = sandbox.response.pod_sandbox_id();
  const Workload w = workload(handler, {"echo", "hello"});
  auto created =
      cri.create_container(pod_id, CriContainerd::container(pod, "app", w.image, w.command), pod);
  phase_done(kCreate);
  if (!created.ok()) {
    run.error = "CreateContainer: " + created.error();
  } else if (auto started = cri.start_container(created.response.container_id());
             phase_done(kStart), !started.ok()) {
    run.error = "StartContainer: " + started.error();
  } else {
    while (true) {
      auto status = cri.container_status(created.response.container_id());
      if (!status.ok()) {
        run.error = "ContainerStatus: " + status.error();
        break;
      }
      if (status.response.status().state() == cri::CONTAINER_EXITED) {
        run.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
        phase_done(kExit);
        run.ok = status.response.status().exit_code() == 0;
        if (!run.ok) {
          run.error = "exit code " + std::to_string(status.response.status().exit_code());
        }
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  cri.stop_pod_sandbox(pod_id);
  cri.remove_pod_sandbox(pod_id);
  phase_done(kTeardown);
  return run;
}

// Busy CPU time in milliseconds, the machine's (all processes, /proc/stat).
double machine_busy_ms() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq) * 1000.0 /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Throughput {
  double cpu_ms_per_pod = 0;         // the whole machine's
  double containerd_ms_per_pod = 0;  // containerd's own, CRI included
  double phase_p50_ms[kPhases] = {};
  double pods_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int failed = 0;
  std::string first_error;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

Throughput measure_throughput(CriContainerd& node, const std::string& handler,
                              const Settings& settings, int round) {
  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<double> latencies;
  std::vector<double> phases[kPhases];
  Throughput result;
  const double machine_before = machine_busy_ms();
  const double containerd_before = wasmshim::testing::cpu_ms(node.pid());
  const auto begin = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < settings.concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < settings.pods; i = next++) {
        PodRun run =
            run_pod(node, handler,
                    "bench-" + handler + "-" + std::to_string(round) + "-" + std::to_string(i));
        std::lock_guard lock(mutex);
        if (run.ok) {
          latencies.push_back(run.latency_ms);
          for (int phase = 0; phase < kPhases; ++phase) {
            phases[phase].push_back(run.phase_ms[phase]);
          }
        } else if (result.failed++ == 0) {
          result.first_error = run.error;
        }
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  result.cpu_ms_per_pod = (machine_busy_ms() - machine_before) / settings.pods;
  result.containerd_ms_per_pod =
      (wasmshim::testing::cpu_ms(node.pid()) - containerd_before) / settings.pods;
  result.pods_per_second = static_cast<double>(latencies.size()) / seconds;
  result.p50_ms = percentile(latencies, 0.50);
  result.p99_ms = percentile(latencies, 0.99);
  for (int phase = 0; phase < kPhases; ++phase) {
    result.phase_p50_ms[phase] = percentile(phases[phase], 0.5);
  }
  return result;
}

// ---- memory ----

struct Usage {
  double pss_kib = 0;
  double rss_kib = 0;
};

Usage usage_of(int pid) {
  Usage usage;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    double kib = 0;
    if (fields >> key >> kib) {
      if (key == "Pss:") {
        usage.pss_kib = kib;
      } else if (key == "Rss:") {
        usage.rss_kib = kib;
      }
    }
  }
  return usage;
}

// Every process's parent, read once.
std::map<int, int> process_parents() {
  std::map<int, int> parents;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      parents[std::stoi(name)] = wasmshim::testing::parent_of(std::stoi(name));
    }
  }
  return parents;
}

// The pids of containerd's tasks in the k8s.io namespace (ctr task ls).
std::vector<int> task_pids(const CriContainerd& node) {
  std::vector<int> pids;
  std::istringstream lines(node.ctr("task ls").output);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id;
    int pid = 0;
    if (fields >> id >> pid && pid > 0) {
      pids.push_back(pid);
    }
  }
  return pids;
}

struct Memory {
  double pss_kib_per_pod = 0;
  double rss_kib_per_pod = 0;
  int processes_per_pod = 0;
  std::string error;
};

// K pods alive at once, each a sleeping container; the shims are the
// parents of the tasks' processes (wasmshim's zygote makes them with
// CLONE_PARENT), and a pod's memory is its shim's and all it runs.
Memory measure_memory(CriContainerd& node, const std::string& handler, int pods) {
  Memory memory;
  auto& cri = node.cri();
  std::vector<std::string> pod_ids;
  for (int i = 0; i < pods && memory.error.empty(); ++i) {
    const cri::PodSandboxConfig pod = new_pod(node, "mem-" + handler + std::to_string(i));
    auto sandbox = cri.run_pod_sandbox(pod, handler);
    if (!sandbox.ok()) {
      memory.error = "RunPodSandbox: " + sandbox.error();
      break;
    }
    pod_ids.push_back(sandbox.response.pod_sandbox_id());
    const Workload w = workload(handler, {"sleep", "1000"});
    auto created = cri.create_container(
        pod_ids.back(), CriContainerd::container(pod, "sleeper", w.image, w.command), pod);
    if (!created.ok() || !cri.start_container(created.response.container_id()).ok()) {
      memory.error = "starting the sleeping container: " + created.error();
    }
  }
  if (memory.error.empty()) {
    const std::map<int, int> parents = process_parents();
    std::vector<int> shims;
    for (int pid : task_pids(node)) {
      const int shim = parents.count(pid) != 0 ? parents.at(pid) : 0;
      if (shim > 1 && std::find(shims.begin(), shims.end(), shim) == shims.end()) {
        shims.push_back(shim);
      }
    }
    // A process belongs to the pod whose shim it descends from.
    int processes = 0;
    Usage total;
    for (const auto& [pid, parent] : parents) {
      for (int at = pid; at > 1; at = parents.count(at) != 0 ? parents.at(at) : 0) {
        if (std::find(shims.begin(), shims.end(), at) != shims.end()) {
          const Usage usage = usage_of(pid);
          total.pss_kib += usage.pss_kib;
          total.rss_kib += usage.rss_kib;
          ++processes;
          break;
        }
      }
    }
    if (static_cast<int>(shims.size()) != pods) {
      memory.error =
          "found " + std::to_string(shims.size()) + " shims for " + std::to_string(pods) + " pods";
    } else {
      memory.pss_kib_per_pod = total.pss_kib / pods;
      memory.rss_kib_per_pod = total.rss_kib / pods;
      memory.processes_per_pod = processes / pods;
    }
  }
  for (const auto& id : pod_ids) {
    cri.stop_pod_sandbox(id);
    cri.remove_pod_sandbox(id);
  }
  return memory;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  if (n == 0) {
    return 0;
  }
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--pods") {
      settings.pods = std::stoi(value);
    } else if (flag == "--concurrency") {
      settings.concurrency = std::stoi(value);
    } else if (flag == "--rounds") {
      settings.rounds = std::stoi(value);
    } else if (flag == "--memory-pods") {
      settings.memory_pods = std::stoi(value);
    } else if (flag == "--handlers") {
      settings.handlers.clear();
      std::istringstream names(value);
      for (std::string name; std::getline(names, name, ',');) {
        settings.handlers.push_back(name);
      }
    } else {
      throw std::invalid_argument("unknown flag " + flag);
    }
  }
  return settings;
}

bool import_native_demo(CriContainerd& node) {
  const std::string tar = node.root() + "/demo-native.tar";
  auto built =
      wasmshim::testing::shell(std::string(WASMSHIM_BIN_DIR) + "/wasmshim image -o " + tar +
                               " --name " + kNativeDemoImage + " --path /demo " + DEMO_NATIVE);
  auto imported = node.ctr("image import " + tar);
  if (built.status != 0 || imported.status != 0) {
    std::fprintf(stderr, "pods: building the native demo image: %s%s\n", built.output.c_str(),
                 imported.output.c_str());
    return false;
  }
  for (int i = 0; i < 600 && !node.cri().image_status(kNativeDemoImage).response.has_image(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  return node.cri().image_status(kNativeDemoImage).response.has_image();
}

// The module's aot object in the node's cache, as `wasmshim compile` puts
// it there ahead of time: the runs measure cached starts, not a background
// compiler sharing the cores.
bool compile_ahead(const CriContainerd& node) {
  auto compiled =
      wasmshim::testing::shell("env WASMSHIM_CACHE_DIR=" + node.root() + "/cache " +
                                   WASMSHIM_BIN_DIR + "/wasmshim compile " + WASMSHIM_DEMO_WASM,
                               300);
  if (compiled.status != 0) {
    std::fprintf(stderr, "pods: wasmshim compile: %s\n", compiled.output.c_str());
  }
  return compiled.status == 0;
}

int run(int argc, char** argv) {
  Settings settings;
  try {
    settings = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pods: %s\n", e.what());
    return 2;
  }
  CriContainerd node(/*state_on_tmpfs=*/true);
  if (!node.ready() || !import_native_demo(node) || !compile_ahead(node)) {
    std::fprintf(stderr, "pods: containerd with CRI did not come up: %s\n", node.error().c_str());
    return 1;
  }
  std::printf("pods: %d per round, %d at a time, %d rounds; handlers", settings.pods,
              settings.concurrency, settings.rounds);
  for (const auto& handler : settings.handlers) {
    std::printf(" %s", handler.c_str());
  }
  std::printf("\n");
  // One pod each first: the engine's cache and containerd's snapshots warm.
  for (const auto& handler : settings.handlers) {
    PodRun warm = run_pod(node, handler, "warm-" + handler);
    if (!warm.ok) {
      std::fprintf(stderr, "pods: %s: %s\n", handler.c_str(), warm.error.c_str());
      return 1;
    }
  }
  std::map<std::string, std::vector<Throughput>> runs;
  for (int round = 0; round < settings.rounds; ++round) {
    for (const auto& handler : settings.handlers) {
      Throughput t = measure_throughput(node, handler, settings, round);
      std::printf("round %d %-9s %7.2f pods/s  p50 %7.1f ms  p99 %7.1f ms  failed %d%s%s\n",
                  round + 1, handler.c_str(), t.pods_per_second, t.p50_ms, t.p99_ms, t.failed,
                  t.failed != 0 ? "  first error: " : "", t.first_error.c_str());
      std::printf("        CPU per pod %.1f ms (containerd %.1f ms, the rest %.1f ms)\n",
                  t.cpu_ms_per_pod, t.containerd_ms_per_pod,
                  t.cpu_ms_per_pod - t.containerd_ms_per_pod);
      std::printf("        p50 by phase:");
      for (int phase = 0; phase < kPhases; ++phase) {
        std::printf("  %s %.1f", kPhaseNames[phase], t.phase_p50_ms[phase]);
      }
      std::printf(" ms\n");
      std::fflush(stdout);
      runs[handler].push_back(t);
    }
  }
  std::map<std::string, Memory> memory;
  for (const auto& handler : settings.handlers) {
    memory[handler] = measure_memory(node, handler, settings.memory_pods);
    const Memory& m = memory[handler];
    if (!m.error.empty()) {
      std::printf("memory %-9s %s\n", handler.c_str(), m.error.c_str());
    } else {
      std::printf("memory %-9s %8.0f KiB PSS per pod  %8.0f KiB RSS per pod  (%d processes)\n",
                  handler.c_str(), m.pss_kib_per_pod, m.rss_kib_per_pod, m.processes_per_pod);
    }
  }
  if (settings.handlers.size() >= 2) {
    const std::string& ours = settings.handlers[0];
    const std::string& peer = settings.handlers[1];
    std::vector<double> speed;
    std::vector<double> p50;
    for (std::size_t round = 0; round < runs[ours].size(); ++round) {
      speed.push_back(runs[ours][round].pods_per_second / runs[peer][round].pods_per_second);
      p50.push_back(runs[peer][round].p50_ms / runs[ours][round].p50_ms);
    }
    std::printf("%s/%s: %.2fx the pods per second, %.2fx faster p50 (medians of %d rounds)\n",
                ours.c_str(), peer.c_str(), median(speed), median(p50), settings.rounds);
    if (memory[ours].error.empty() && memory[peer].error.empty()) {
      std::printf("%s/%s: %.2fx the memory per pod (PSS), %.2fx (RSS)\n", ours.c_str(),
                  peer.c_str(), memory[ours].pss_kib_per_pod / memory[peer].pss_kib_per_pod,
                  memory[ours].rss_kib_per_pod / memory[peer].rss_kib_per_pod);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pods: %s\n", e.what());
    return 1;
  }
}
